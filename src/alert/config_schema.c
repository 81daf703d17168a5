/* This file implements the alertmanager.yml schema: the decoder tables of
 * every section and integration (Alertmanager v0.34's keys, Go type names
 * as its error messages print them, defaults), the checks each type's
 * UnmarshalYAML makes, and the Config-level pass that fills integrations
 * from `global`, checks the route tree's receivers and time intervals, and
 * stops at the first failure with Alertmanager's message. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alert/alert_int.h"

/* ------------------------------------------------------------- tables */

#define END                                                                                        \
    { NULL, 0, 0, NULL, NULL, NULL, NULL }
#define F(n, k, T, m)                                                                              \
    { n, k, offsetof(T, m), NULL, NULL, NULL, NULL }
#define FG(n, k, T, m, go)                                                                         \
    { n, k, offsetof(T, m), NULL, NULL, NULL, go }
#define FT(n, k, T, m, t)                                                                          \
    { n, k, offsetof(T, m), t, NULL, NULL, NULL }
#define FL(n, T, m, t, go, nullmsg)                                                                \
    { n, ALERT_F_LIST, offsetof(T, m), t, NULL, nullmsg, go }
#define FC(n, T, m, fn)                                                                            \
    { n, ALERT_F_CUSTOM, offsetof(T, m), NULL, fn, NULL, NULL }
#define FANY(n)                                                                                    \
    { n, ALERT_F_ANY, 0, NULL, NULL, NULL, NULL }
#define BASEP(T, p)                                                                                \
    F("send_resolved", ALERT_F_BOOL, T, p base.send_resolved),                                     \
        FT("http_config", ALERT_F_PSTRUCT, T, p base.http_config, &http_type)
#define BASE(T) BASEP(T, )

/* A quoted string as Go's %q prints it, in the decoder's arena. */
static const char *goq(alert_dec_t *d, const char *s) {
    vg_buf_t b = VG_BUF_INIT;
    labels_quote(&b, s, strlen(s));
    char *out = alert_dec_strdup(d, b.data ? b.data : "\"\"", b.len ? b.len : 2);
    vg_buf_free(&b);
    return out;
}

static int at_most_one(alert_dec_t *d, bool a, bool b, const char *what) {
    if (a && b) return alert_dec_fatal(d, "at most one of %s must be configured", what);
    return ALERT_DEC_OK;
}

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_) return rc_;                                                                       \
    } while (0)

/* ------------------------------------------------------- HTTP client */

static const alert_field_t tls_fields[] = {
    F("ca", ALERT_F_STR, config_tls_t, ca),
    F("ca_file", ALERT_F_PATH, config_tls_t, ca_file),
    F("cert", ALERT_F_STR, config_tls_t, cert),
    F("cert_file", ALERT_F_PATH, config_tls_t, cert_file),
    F("key", ALERT_F_STR, config_tls_t, key),
    F("key_file", ALERT_F_PATH, config_tls_t, key_file),
    F("server_name", ALERT_F_STR, config_tls_t, server_name),
    F("insecure_skip_verify", ALERT_F_BOOL, config_tls_t, insecure_skip_verify),
    F("min_version", ALERT_F_STR, config_tls_t, min_version),
    F("max_version", ALERT_F_STR, config_tls_t, max_version),
    END};

static bool set(const char *s) { return s && *s; }

static int tls_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    config_tls_t *t = obj;
    CHECK(at_most_one(d, set(t->ca), set(t->ca_file), "ca and ca_file"));
    CHECK(at_most_one(d, set(t->cert), set(t->cert_file), "cert and cert_file"));
    CHECK(at_most_one(d, set(t->key), set(t->key_file), "key and key_file"));
    static const char *const versions[] = {"", "TLS10", "TLS11", "TLS12", "TLS13"};
    const char *v[2] = {t->min_version, t->max_version};
    for (int i = 0; i < 2; i++) {
        bool ok = false;
        for (size_t k = 0; k < 5; k++)
            ok |= !strcmp(v[i], versions[k]);
        if (!ok) return alert_dec_fatal(d, "unknown TLS version: %s", v[i]);
    }
    if ((set(t->cert) || set(t->cert_file)) != (set(t->key) || set(t->key_file))) {
        if (set(t->cert) || set(t->cert_file))
            return alert_dec_fatal(
                d, "exactly one of key or key_file must be configured when a client certificate "
                   "is configured");
        return alert_dec_fatal(
            d, "exactly one of cert or cert_file must be configured when a client key is "
               "configured");
    }
    return ALERT_DEC_OK;
}

static const alert_type_t tls_type = {"config.plain", sizeof(config_tls_t), tls_fields, NULL,
                                      tls_validate};

static const alert_field_t basic_auth_fields[] = {
    F("username", ALERT_F_STR, config_basic_auth_t, username),
    F("username_file", ALERT_F_PATH, config_basic_auth_t, username_file),
    F("password", ALERT_F_STR, config_basic_auth_t, password),
    F("password_file", ALERT_F_PATH, config_basic_auth_t, password_file), END};
static const alert_type_t basic_auth_type = {"config.BasicAuth", sizeof(config_basic_auth_t),
                                             basic_auth_fields, NULL, NULL};

static const alert_field_t authorization_fields[] = {
    F("type", ALERT_F_STR, config_authorization_t, type),
    F("credentials", ALERT_F_STR, config_authorization_t, credentials),
    F("credentials_file", ALERT_F_PATH, config_authorization_t, credentials_file), END};
static const alert_type_t authorization_type = {
    "config.Authorization", sizeof(config_authorization_t), authorization_fields, NULL, NULL};

static const alert_field_t oauth2_fields[] = {
    F("client_id", ALERT_F_STR, config_oauth2_t, client_id),
    F("client_secret", ALERT_F_STR, config_oauth2_t, client_secret),
    F("client_secret_file", ALERT_F_PATH, config_oauth2_t, client_secret_file),
    F("scopes", ALERT_F_STRLIST, config_oauth2_t, scopes),
    F("token_url", ALERT_F_STR, config_oauth2_t, token_url),
    F("endpoint_params", ALERT_F_PAIRS, config_oauth2_t, endpoint_params),
    FT("tls_config", ALERT_F_STRUCT, config_oauth2_t, tls_config, &tls_type),
    F("proxy_url", ALERT_F_PURL, config_oauth2_t, proxy_url),
    FANY("no_proxy"),
    FANY("proxy_from_environment"),
    FANY("proxy_connect_header"),
    END};
static const alert_type_t oauth2_type = {"config.plain", sizeof(config_oauth2_t), oauth2_fields,
                                         NULL, NULL};

/* What the decoder fills besides config_http_client_t's own fields. */
typedef struct http_raw {
    config_http_client_t c; /* first: the public part */
    bool has_connect_header;
} http_raw_t;

static int decode_connect_header(alert_dec_t *d, const ytree_node_t *n, void *dst) {
    if (ytree_is_null(n)) return ALERT_DEC_OK;
    if (n->kind != YTREE_NODE_MAP) return alert_dec_type_error(d, n, "config.ProxyHeader");
    *(bool *)dst = n->n > 0;
    return ALERT_DEC_OK;
}

static const alert_field_t http_fields[] = {
    FT("basic_auth", ALERT_F_PSTRUCT, http_raw_t, c.basic_auth, &basic_auth_type),
    FT("authorization", ALERT_F_PSTRUCT, http_raw_t, c.authorization, &authorization_type),
    FT("oauth2", ALERT_F_PSTRUCT, http_raw_t, c.oauth2, &oauth2_type),
    F("bearer_token", ALERT_F_STR, http_raw_t, c.bearer_token),
    F("bearer_token_file", ALERT_F_PATH, http_raw_t, c.bearer_token_file),
    FT("tls_config", ALERT_F_STRUCT, http_raw_t, c.tls_config, &tls_type),
    F("follow_redirects", ALERT_F_BOOL, http_raw_t, c.follow_redirects),
    F("enable_http2", ALERT_F_BOOL, http_raw_t, c.enable_http2),
    F("proxy_url", ALERT_F_PURL, http_raw_t, c.proxy_url),
    F("no_proxy", ALERT_F_STR, http_raw_t, c.no_proxy),
    F("proxy_from_environment", ALERT_F_BOOL, http_raw_t, c.proxy_from_environment),
    FC("proxy_connect_header", http_raw_t, has_connect_header, decode_connect_header),
    FANY("http_headers"),
    END};

static void http_init(void *obj) {
    http_raw_t *h = obj;
    h->c.follow_redirects = true;
    h->c.enable_http2 = true;
}

/* commoncfg.HTTPClientConfig.Validate, with bearer_token folded into
 * authorization as it does. */
static int http_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    http_raw_t *h = obj;
    config_http_client_t *c = &h->c;
    bool bearer = set(c->bearer_token) || set(c->bearer_token_file);
    CHECK(at_most_one(d, set(c->bearer_token), set(c->bearer_token_file),
                      "bearer_token & bearer_token_file"));
    if ((c->basic_auth || c->oauth2) && bearer)
        return alert_dec_fatal(d, "at most one of basic_auth, oauth2, bearer_token & "
                                  "bearer_token_file must be configured");
    if (c->basic_auth) {
        CHECK(at_most_one(d, set(c->basic_auth->username), set(c->basic_auth->username_file),
                          "basic_auth username, username_file & username_ref"));
        CHECK(at_most_one(d, set(c->basic_auth->password), set(c->basic_auth->password_file),
                          "basic_auth password, password_file & password_ref"));
    }
    if (c->authorization) {
        config_authorization_t *a = (config_authorization_t *)c->authorization;
        if (bearer)
            return alert_dec_fatal(
                d, "authorization is not compatible with bearer_token & bearer_token_file");
        CHECK(at_most_one(d, set(a->credentials), set(a->credentials_file),
                          "authorization credentials & credentials_file"));
        while (*a->type == ' ' || *a->type == '\t')
            a->type++;
        if (!*a->type) a->type = "Bearer";
        if (!strcasecmp(a->type, "basic"))
            return alert_dec_fatal(
                d, "authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
        if (c->basic_auth || c->oauth2)
            return alert_dec_fatal(
                d, "at most one of basic_auth, oauth2 & authorization must be configured");
    } else if (bearer) {
        config_authorization_t *a = alert_dec_zalloc(d, sizeof *a);
        a->type = "Bearer";
        a->credentials = c->bearer_token;
        a->credentials_file = c->bearer_token_file;
        c->authorization = a;
        c->bearer_token = c->bearer_token_file = "";
    }
    if (c->oauth2) {
        if (c->basic_auth)
            return alert_dec_fatal(
                d, "at most one of basic_auth, oauth2 & authorization must be configured");
        if (!set(c->oauth2->client_id))
            return alert_dec_fatal(d, "oauth2 client_id must be configured");
        if (!set(c->oauth2->token_url))
            return alert_dec_fatal(d, "oauth2 token_url must be configured");
        CHECK(at_most_one(d, set(c->oauth2->client_secret), set(c->oauth2->client_secret_file),
                          "oauth2 client_secret, client_secret_file & client_secret_ref"));
    }
    if (set(c->no_proxy) && !set(c->proxy_url))
        return alert_dec_fatal(d, "if no_proxy is configured, proxy_url must also be configured");
    if (c->proxy_from_environment && set(c->proxy_url))
        return alert_dec_fatal(
            d, "if proxy_from_environment is configured, proxy_url must not be configured");
    if (c->proxy_from_environment && set(c->no_proxy))
        return alert_dec_fatal(
            d, "if proxy_from_environment is configured, no_proxy must not be configured");
    if (h->has_connect_header && !set(c->proxy_url) && !c->proxy_from_environment)
        return alert_dec_fatal(d, "if proxy_connect_header is configured, proxy_url or "
                                  "proxy_from_environment must also be configured");
    return ALERT_DEC_OK;
}

static const alert_type_t http_type = {"config.plain", sizeof(http_raw_t), http_fields, http_init,
                                       http_validate};

static const config_http_client_t *default_http(alert_dec_t *d) {
    http_raw_t *h = alert_dec_zalloc(d, sizeof *h);
    alert_dec_init(&http_type, h);
    return &h->c;
}

/* ------------------------------------------------------------- global */

/* GlobalConfig decodes into this; Config then copies the public part. */
typedef struct global_raw {
    alert_global_t g;
    bool slack_api_url_set, mattermost_url_set;
} global_raw_t;

static const alert_field_t global_fields[] = {
    F("resolve_timeout", ALERT_F_MDUR, global_raw_t, g.resolve_timeout_ms),
    FT("http_config", ALERT_F_PSTRUCT, global_raw_t, g.http_config, &http_type),
    F("jira_api_url", ALERT_F_URL, global_raw_t, g.jira_api_url),
    F("smtp_from", ALERT_F_STR, global_raw_t, g.smtp_from),
    F("smtp_hello", ALERT_F_STR, global_raw_t, g.smtp_hello),
    F("smtp_smarthost", ALERT_F_HOSTPORT, global_raw_t, g.smtp_smarthost),
    F("smtp_auth_username", ALERT_F_STR, global_raw_t, g.smtp_auth_username),
    F("smtp_auth_password", ALERT_F_STR, global_raw_t, g.smtp_auth_password),
    F("smtp_auth_password_file", ALERT_F_STR, global_raw_t, g.smtp_auth_password_file),
    F("smtp_auth_secret", ALERT_F_STR, global_raw_t, g.smtp_auth_secret),
    F("smtp_auth_secret_file", ALERT_F_STR, global_raw_t, g.smtp_auth_secret_file),
    F("smtp_auth_identity", ALERT_F_STR, global_raw_t, g.smtp_auth_identity),
    F("smtp_require_tls", ALERT_F_BOOL, global_raw_t, g.smtp_require_tls),
    FT("smtp_tls_config", ALERT_F_PSTRUCT, global_raw_t, g.smtp_tls_config, &tls_type),
    F("smtp_force_implicit_tls", ALERT_F_TRI, global_raw_t, g.smtp_force_implicit_tls),
    F("slack_api_url", ALERT_F_SURL, global_raw_t, g.slack_api_url),
    F("slack_api_url_file", ALERT_F_STR, global_raw_t, g.slack_api_url_file),
    F("slack_app_token", ALERT_F_STR, global_raw_t, g.slack_app_token),
    F("slack_app_token_file", ALERT_F_STR, global_raw_t, g.slack_app_token_file),
    F("slack_app_url", ALERT_F_URL, global_raw_t, g.slack_app_url),
    F("pagerduty_url", ALERT_F_URL, global_raw_t, g.pagerduty_url),
    F("opsgenie_api_url", ALERT_F_URL, global_raw_t, g.opsgenie_api_url),
    F("opsgenie_api_key", ALERT_F_STR, global_raw_t, g.opsgenie_api_key),
    F("opsgenie_api_key_file", ALERT_F_STR, global_raw_t, g.opsgenie_api_key_file),
    F("wechat_api_url", ALERT_F_URL, global_raw_t, g.wechat_api_url),
    F("wechat_api_secret", ALERT_F_STR, global_raw_t, g.wechat_api_secret),
    F("wechat_api_secret_file", ALERT_F_STR, global_raw_t, g.wechat_api_secret_file),
    F("wechat_api_corp_id", ALERT_F_STR, global_raw_t, g.wechat_api_corp_id),
    F("victorops_api_url", ALERT_F_URL, global_raw_t, g.victorops_api_url),
    F("victorops_api_key", ALERT_F_STR, global_raw_t, g.victorops_api_key),
    F("victorops_api_key_file", ALERT_F_STR, global_raw_t, g.victorops_api_key_file),
    F("telegram_api_url", ALERT_F_URL, global_raw_t, g.telegram_api_url),
    F("telegram_bot_token", ALERT_F_STR, global_raw_t, g.telegram_bot_token),
    F("telegram_bot_token_file", ALERT_F_STR, global_raw_t, g.telegram_bot_token_file),
    F("webex_api_url", ALERT_F_URL, global_raw_t, g.webex_api_url),
    F("rocketchat_api_url", ALERT_F_URL, global_raw_t, g.rocketchat_api_url),
    F("rocketchat_token", ALERT_F_PSTR, global_raw_t, g.rocketchat_token),
    F("rocketchat_token_file", ALERT_F_STR, global_raw_t, g.rocketchat_token_file),
    F("rocketchat_token_id", ALERT_F_PSTR, global_raw_t, g.rocketchat_token_id),
    F("rocketchat_token_id_file", ALERT_F_STR, global_raw_t, g.rocketchat_token_id_file),
    F("mattermost_webhook_url", ALERT_F_SURL, global_raw_t, g.mattermost_webhook_url),
    F("mattermost_webhook_url_file", ALERT_F_STR, global_raw_t, g.mattermost_webhook_url_file),
    END};

static void global_init(void *obj) {
    global_raw_t *r = obj;
    alert_global_t *g = &r->g;
    g->resolve_timeout_ms = 5 * 60 * 1000;
    g->smtp_hello = "localhost";
    g->smtp_require_tls = true;
    g->pagerduty_url = "https://events.pagerduty.com/v2/enqueue";
    g->opsgenie_api_url = "https://api.opsgenie.com/";
    g->wechat_api_url = "https://qyapi.weixin.qq.com/cgi-bin/";
    g->victorops_api_url = "https://alert.victorops.com/integrations/generic/20131114/alert/";
    g->telegram_api_url = "https://api.telegram.org";
    g->webex_api_url = "https://webexapis.com/v1/messages";
    g->rocketchat_api_url = "https://open.rocket.chat/";
    g->slack_app_url = "https://slack.com/api/chat.postMessage";
}

static const alert_type_t global_type = {"config.plain", sizeof(global_raw_t), global_fields,
                                         global_init, NULL};

/* --------------------------------------------------------- integrations */

#define TMPL(x) "{{ template \"" x "\" . }}"

/* email */
typedef struct email_raw {
    alert_email_config_t e;
    config_pair_t *headers;
    size_t n_headers;
    bool threading_enabled;
    const char *thread_by_date;
    alert_tribool_t require_tls;
} email_raw_t;

static const alert_field_t threading_fields[] = {
    F("enabled", ALERT_F_BOOL, email_raw_t, threading_enabled),
    F("thread_by_date", ALERT_F_STR, email_raw_t, thread_by_date), END};
static const alert_type_t threading_type = {"config.ThreadingConfig", sizeof(email_raw_t),
                                            threading_fields, NULL, NULL};

static int decode_threading(alert_dec_t *d, const ytree_node_t *n, void *dst) {
    /* The threading keys live in email_raw_t itself: decode the node into
     * the enclosing struct (dst points at its start). */
    email_raw_t *r = dst;
    if (ytree_is_null(n)) return r->threading_enabled = false, r->thread_by_date = "", 0;
    return alert_dec_struct(d, &threading_type, n, r);
}

static const alert_field_t email_fields[] = {
    F("send_resolved", ALERT_F_BOOL, email_raw_t, e.base.send_resolved),
    F("to", ALERT_F_STR, email_raw_t, e.to),
    F("from", ALERT_F_STR, email_raw_t, e.from),
    F("hello", ALERT_F_STR, email_raw_t, e.hello),
    F("smarthost", ALERT_F_HOSTPORT, email_raw_t, e.smarthost),
    F("auth_username", ALERT_F_STR, email_raw_t, e.auth_username),
    F("auth_password", ALERT_F_STR, email_raw_t, e.auth_password),
    F("auth_password_file", ALERT_F_STR, email_raw_t, e.auth_password_file),
    F("auth_secret", ALERT_F_STR, email_raw_t, e.auth_secret),
    F("auth_secret_file", ALERT_F_STR, email_raw_t, e.auth_secret_file),
    F("auth_identity", ALERT_F_STR, email_raw_t, e.auth_identity),
    F("headers", ALERT_F_PAIRS, email_raw_t, headers),
    F("html", ALERT_F_STR, email_raw_t, e.html),
    F("text", ALERT_F_STR, email_raw_t, e.text),
    F("require_tls", ALERT_F_TRI, email_raw_t, require_tls),
    FT("tls_config", ALERT_F_PSTRUCT, email_raw_t, e.tls_config, &tls_type),
    F("force_implicit_tls", ALERT_F_TRI, email_raw_t, e.force_implicit_tls),
    {"threading", ALERT_F_CUSTOM, 0, NULL, decode_threading, NULL, NULL},
    END};

static void email_init(void *obj) {
    email_raw_t *r = obj;
    r->e.html = TMPL("email.default.html");
    r->thread_by_date = "";
}

/* textproto.CanonicalMIMEHeaderKey for ASCII names. */
static char *canonical_header(alert_dec_t *d, const char *h) {
    size_t n = strlen(h);
    char *out = alert_dec_strdup(d, h, n);
    for (size_t i = 0; i < n; i++) {
        char c = out[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
                  c == '\'' || c == '*' || c == '+' || c == '.' || c == '^' || c == '_' ||
                  c == '`' || c == '|' || c == '~';
        if (!ok) return out; /* Go leaves such keys alone */
    }
    bool upper = true;
    for (size_t i = 0; i < n; i++) {
        char c = out[i];
        if (upper && c >= 'a' && c <= 'z') c = (char)(c - 32);
        if (!upper && c >= 'A' && c <= 'Z') c = (char)(c + 32);
        out[i] = c;
        upper = c == '-';
    }
    return out;
}

static int email_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    email_raw_t *r = obj;
    if (!set(r->e.to)) return alert_dec_fatal(d, "missing to address in email config");
    config_pair_t *hs = alert_dec_zalloc(d, r->n_headers * sizeof *hs);
    for (size_t i = 0; i < r->n_headers; i++) {
        hs[i].name = canonical_header(d, r->headers[i].name);
        hs[i].value = r->headers[i].value;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(hs[j].name, hs[i].name))
                return alert_dec_fatal(d, "duplicate header %s in email config",
                                       goq(d, hs[i].name));
    }
    r->e.headers = hs;
    r->e.n_headers = r->n_headers;
    r->e.threading_enabled = r->threading_enabled;
    r->e.threading_thread_by_date = r->thread_by_date;
    if (r->threading_enabled) {
        for (size_t i = 0; i < r->n_headers; i++) {
            if (!strcmp(hs[i].name, "References"))
                return alert_dec_fatal(d, "conflicting configuration: threading.enabled conflicts "
                                          "with custom References header");
            if (!strcmp(hs[i].name, "In-Reply-To"))
                return alert_dec_fatal(d, "conflicting configuration: threading.enabled conflicts "
                                          "with custom In-Reply-To header");
        }
        if (strcmp(r->thread_by_date, "none") && strcmp(r->thread_by_date, "daily"))
            return alert_dec_fatal(d, "threading.thread_by_date must be either 'none' or 'daily'");
    }
    return ALERT_DEC_OK;
}

static const alert_type_t email_type = {"config.plain", sizeof(email_raw_t), email_fields,
                                        email_init, email_validate};

/* slack */
static const alert_field_t slack_field_fields[] = {
    F("title", ALERT_F_STR, alert_slack_field_t, title),
    F("value", ALERT_F_STR, alert_slack_field_t, value),
    F("short", ALERT_F_TRI, alert_slack_field_t, short_), END};

static int slack_field_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_slack_field_t *f = obj;
    if (!set(f->title)) return alert_dec_fatal(d, "missing title in Slack field configuration");
    if (!set(f->value)) return alert_dec_fatal(d, "missing value in Slack field configuration");
    return ALERT_DEC_OK;
}
static const alert_type_t slack_field_type = {"config.plain", sizeof(alert_slack_field_t),
                                              slack_field_fields, NULL, slack_field_validate};

typedef struct slack_confirm {
    const char *text, *title, *ok_text, *dismiss_text;
} slack_confirm_t;

typedef struct slack_action_raw {
    alert_slack_action_t a;
    const slack_confirm_t *confirm;
} slack_action_raw_t;

static const alert_field_t slack_confirm_fields[] = {
    F("text", ALERT_F_STR, slack_confirm_t, text), F("title", ALERT_F_STR, slack_confirm_t, title),
    F("ok_text", ALERT_F_STR, slack_confirm_t, ok_text),
    F("dismiss_text", ALERT_F_STR, slack_confirm_t, dismiss_text), END};

static int slack_confirm_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    if (!set(((slack_confirm_t *)obj)->text))
        return alert_dec_fatal(d, "missing text in Slack confirmation configuration");
    return ALERT_DEC_OK;
}
static const alert_type_t slack_confirm_type = {"config.plain", sizeof(slack_confirm_t),
                                                slack_confirm_fields, NULL, slack_confirm_validate};

static const alert_field_t slack_action_fields[] = {
    F("type", ALERT_F_STR, slack_action_raw_t, a.type),
    F("text", ALERT_F_STR, slack_action_raw_t, a.text),
    F("url", ALERT_F_STR, slack_action_raw_t, a.url),
    F("style", ALERT_F_STR, slack_action_raw_t, a.style),
    F("name", ALERT_F_STR, slack_action_raw_t, a.name),
    F("value", ALERT_F_STR, slack_action_raw_t, a.value),
    FT("confirm", ALERT_F_PSTRUCT, slack_action_raw_t, confirm, &slack_confirm_type),
    END};

static int slack_action_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    slack_action_raw_t *r = obj;
    alert_slack_action_t *a = &r->a;
    if (!set(a->type)) return alert_dec_fatal(d, "missing type in Slack action configuration");
    if (!set(a->text)) return alert_dec_fatal(d, "missing text in Slack action configuration");
    if (set(a->url)) {
        a->name = a->value = "";
        r->confirm = NULL;
    } else if (!set(a->name)) {
        return alert_dec_fatal(d, "missing name or url in Slack action configuration");
    }
    if (r->confirm) {
        a->has_confirm = true;
        a->confirm_text = r->confirm->text;
        a->confirm_title = r->confirm->title;
        a->confirm_ok_text = r->confirm->ok_text;
        a->confirm_dismiss_text = r->confirm->dismiss_text;
    }
    return ALERT_DEC_OK;
}
static const alert_type_t slack_action_type = {"config.plain", sizeof(slack_action_raw_t),
                                               slack_action_fields, NULL, slack_action_validate};

typedef struct slack_raw {
    alert_slack_config_t s;
    slack_action_raw_t *actions;
    size_t n_actions;
} slack_raw_t;

static const alert_field_t slack_fields[] = {
    BASEP(slack_raw_t, s.),
    F("api_url", ALERT_F_SURL, slack_raw_t, s.api_url),
    F("api_url_file", ALERT_F_STR, slack_raw_t, s.api_url_file),
    F("app_token", ALERT_F_STR, slack_raw_t, s.app_token),
    F("app_token_file", ALERT_F_STR, slack_raw_t, s.app_token_file),
    F("app_url", ALERT_F_URL, slack_raw_t, s.app_url),
    F("channel", ALERT_F_STR, slack_raw_t, s.channel),
    F("username", ALERT_F_STR, slack_raw_t, s.username),
    F("color", ALERT_F_STR, slack_raw_t, s.color),
    F("title", ALERT_F_STR, slack_raw_t, s.title),
    F("title_link", ALERT_F_STR, slack_raw_t, s.title_link),
    F("pretext", ALERT_F_STR, slack_raw_t, s.pretext),
    F("text", ALERT_F_STR, slack_raw_t, s.text),
    F("message_text", ALERT_F_STR, slack_raw_t, s.message_text),
    FL("fields", slack_raw_t, s.fields, &slack_field_type, "[]*config.SlackField", NULL),
    F("short_fields", ALERT_F_BOOL, slack_raw_t, s.short_fields),
    F("footer", ALERT_F_STR, slack_raw_t, s.footer),
    F("fallback", ALERT_F_STR, slack_raw_t, s.fallback),
    F("callback_id", ALERT_F_STR, slack_raw_t, s.callback_id),
    F("icon_emoji", ALERT_F_STR, slack_raw_t, s.icon_emoji),
    F("icon_url", ALERT_F_STR, slack_raw_t, s.icon_url),
    F("image_url", ALERT_F_STR, slack_raw_t, s.image_url),
    F("thumb_url", ALERT_F_STR, slack_raw_t, s.thumb_url),
    F("link_names", ALERT_F_BOOL, slack_raw_t, s.link_names),
    F("mrkdwn_in", ALERT_F_STRLIST, slack_raw_t, s.mrkdwn_in),
    FL("actions", slack_raw_t, actions, &slack_action_type, "[]*config.SlackAction", NULL),
    F("update_message", ALERT_F_BOOL, slack_raw_t, s.update_message),
    F("timeout", ALERT_F_GODUR, slack_raw_t, s.timeout_ms),
    END};

static void slack_init(void *obj) {
    alert_slack_config_t *s = &((slack_raw_t *)obj)->s;
    s->color = TMPL("slack.default.color");
    s->username = TMPL("slack.default.username");
    s->title = TMPL("slack.default.title");
    s->title_link = TMPL("slack.default.titlelink");
    s->icon_emoji = TMPL("slack.default.iconemoji");
    s->icon_url = TMPL("slack.default.iconurl");
    s->pretext = TMPL("slack.default.pretext");
    s->text = TMPL("slack.default.text");
    s->fallback = TMPL("slack.default.fallback");
    s->callback_id = TMPL("slack.default.callbackid");
    s->footer = TMPL("slack.default.footer");
}

static int slack_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    slack_raw_t *r = obj;
    alert_slack_config_t *s = &r->s;
    bool url = s->api_url || set(s->api_url_file),
         token = set(s->app_token) || set(s->app_token_file);
    CHECK(at_most_one(d, s->api_url != NULL, set(s->api_url_file), "api_url & api_url_file"));
    CHECK(at_most_one(d, set(s->app_token), set(s->app_token_file), "app_token & app_token_file"));
    CHECK(at_most_one(d, url, token, "api_url/api_url_file & app_token/app_token_file"));
    /* Go calls String() on a nil *SecretURL here; only a set URL is compared. */
    if (s->update_message && s->api_url &&
        strcmp(s->api_url, "https://slack.com/api/chat.postMessage"))
        return alert_dec_fatal(d, "update_message can only be used with bot tokens. api_url must "
                                  "be set to https://slack.com/api/chat.postMessage");
    alert_slack_action_t *acts = alert_dec_zalloc(d, r->n_actions * sizeof *acts);
    for (size_t i = 0; i < r->n_actions; i++)
        acts[i] = r->actions[i].a;
    s->actions = acts;
    s->n_actions = r->n_actions;
    return ALERT_DEC_OK;
}

static const alert_type_t slack_type = {"config.plain", sizeof(slack_raw_t), slack_fields,
                                        slack_init, slack_validate};

/* pagerduty */
static const alert_field_t pd_image_fields[] = {
    F("src", ALERT_F_STR, alert_pagerduty_image_t, src),
    F("alt", ALERT_F_STR, alert_pagerduty_image_t, alt),
    F("href", ALERT_F_STR, alert_pagerduty_image_t, href), END};
static const alert_type_t pd_image_type = {
    "pagerduty.PagerdutyImage", sizeof(alert_pagerduty_image_t), pd_image_fields, NULL, NULL};
static const alert_field_t pd_link_fields[] = {F("href", ALERT_F_STR, alert_pagerduty_link_t, href),
                                               F("text", ALERT_F_STR, alert_pagerduty_link_t, text),
                                               END};
static const alert_type_t pd_link_type = {"pagerduty.PagerdutyLink", sizeof(alert_pagerduty_link_t),
                                          pd_link_fields, NULL, NULL};

/* details: map[string]any; scalars are kept as strings, structured values
 * as their YAML position only (notify renders scalars). */
static int decode_any_map(alert_dec_t *d, const ytree_node_t *n, void *dst) {
    config_pair_t **items = dst;
    size_t *count = (size_t *)((char *)dst + sizeof(config_pair_t *));
    if (ytree_is_null(n)) return ALERT_DEC_OK;
    if (n->kind != YTREE_NODE_MAP) return alert_dec_type_error(d, n, "map[string]interface {}");
    config_pair_t *out = alert_dec_zalloc(d, n->n * sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n->n; i++) {
        const ytree_node_t *key = n->kids[2 * i], *v = n->kids[2 * i + 1];
        if (key->kind != YTREE_NODE_SCALAR) continue;
        out[k].name = key->str;
        out[k].value = v->kind == YTREE_NODE_SCALAR && v->tag != YTREE_TAG_NULL ? v->str : "";
        k++;
    }
    *items = out;
    *count = k;
    return ALERT_DEC_OK;
}

static const alert_field_t pagerduty_fields[] = {
    BASE(alert_pagerduty_config_t),
    F("service_key", ALERT_F_STR, alert_pagerduty_config_t, service_key),
    F("service_key_file", ALERT_F_STR, alert_pagerduty_config_t, service_key_file),
    F("routing_key", ALERT_F_STR, alert_pagerduty_config_t, routing_key),
    F("routing_key_file", ALERT_F_STR, alert_pagerduty_config_t, routing_key_file),
    F("url", ALERT_F_URL, alert_pagerduty_config_t, url),
    F("client", ALERT_F_STR, alert_pagerduty_config_t, client),
    F("client_url", ALERT_F_STR, alert_pagerduty_config_t, client_url),
    F("description", ALERT_F_STR, alert_pagerduty_config_t, description),
    FC("details", alert_pagerduty_config_t, details, decode_any_map),
    FL("images", alert_pagerduty_config_t, images, &pd_image_type, "[]pagerduty.PagerdutyImage",
       NULL),
    FL("links", alert_pagerduty_config_t, links, &pd_link_type, "[]pagerduty.PagerdutyLink", NULL),
    F("source", ALERT_F_STR, alert_pagerduty_config_t, source),
    F("severity", ALERT_F_STR, alert_pagerduty_config_t, severity),
    F("class", ALERT_F_STR, alert_pagerduty_config_t, class_),
    F("component", ALERT_F_STR, alert_pagerduty_config_t, component),
    F("group", ALERT_F_STR, alert_pagerduty_config_t, group),
    F("timeout", ALERT_F_GODUR, alert_pagerduty_config_t, timeout_ms),
    END};

static void pagerduty_init(void *obj) {
    alert_pagerduty_config_t *p = obj;
    p->base.send_resolved = true;
    p->description = "{{ template \"pagerduty.default.description\" .}}";
    p->client = TMPL("pagerduty.default.client");
    p->client_url = TMPL("pagerduty.default.clientURL");
}

static int pagerduty_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_pagerduty_config_t *p = obj;
    if (!set(p->routing_key) && !set(p->service_key) && !set(p->routing_key_file) &&
        !set(p->service_key_file))
        return alert_dec_fatal(d, "missing service or routing key in PagerDuty config");
    CHECK(at_most_one(d, set(p->routing_key), set(p->routing_key_file),
                      "routing_key & routing_key_file"));
    CHECK(at_most_one(d, set(p->service_key), set(p->service_key_file),
                      "service_key & service_key_file"));
    if (!set(p->source)) p->source = p->client;
    static const char *const defaults[][2] = {{"firing", "{{ .Alerts.Firing | toJson }}"},
                                              {"resolved", "{{ .Alerts.Resolved | toJson }}"},
                                              {"num_firing", "{{ .Alerts.Firing | len }}"},
                                              {"num_resolved", "{{ .Alerts.Resolved | len }}"}};
    config_pair_t *all = alert_dec_zalloc(d, (p->n_details + 4) * sizeof *all);
    if (p->n_details) memcpy(all, p->details, p->n_details * sizeof *all);
    size_t n_all = p->n_details;
    for (size_t k = 0; k < 4; k++) {
        bool have = false;
        for (size_t i = 0; i < p->n_details; i++)
            have |= !strcmp(p->details[i].name, defaults[k][0]);
        if (!have) all[n_all].name = defaults[k][0], all[n_all++].value = defaults[k][1];
    }
    p->details = all;
    p->n_details = n_all;
    return ALERT_DEC_OK;
}

static const alert_type_t pagerduty_type = {"pagerduty.plain", sizeof(alert_pagerduty_config_t),
                                            pagerduty_fields, pagerduty_init, pagerduty_validate};

/* webhook */
static const alert_field_t webhook_fields[] = {
    BASE(alert_webhook_config_t),
    F("url", ALERT_F_TURL, alert_webhook_config_t, url),
    F("url_file", ALERT_F_STR, alert_webhook_config_t, url_file),
    F("max_alerts", ALERT_F_UINT, alert_webhook_config_t, max_alerts),
    F("timeout", ALERT_F_GODUR, alert_webhook_config_t, timeout_ms),
    FANY("payload"),
    END};

static void send_resolved_init(void *obj) { ((alert_notifier_base_t *)obj)->send_resolved = true; }

static int webhook_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_webhook_config_t *w = obj;
    if (!set(w->url) && !set(w->url_file))
        return alert_dec_fatal(d, "one of url or url_file must be configured");
    return at_most_one(d, set(w->url), set(w->url_file), "url & url_file");
}

static const alert_type_t webhook_type = {"webhook.plain", sizeof(alert_webhook_config_t),
                                          webhook_fields, send_resolved_init, webhook_validate};

/* opsgenie */
static const alert_field_t og_responder_fields[] = {
    F("id", ALERT_F_STR, alert_opsgenie_responder_t, id),
    F("name", ALERT_F_STR, alert_opsgenie_responder_t, name),
    F("username", ALERT_F_STR, alert_opsgenie_responder_t, username),
    F("type", ALERT_F_STR, alert_opsgenie_responder_t, type), END};
static const alert_type_t og_responder_type = {"opsgenie.OpsGenieConfigResponder",
                                               sizeof(alert_opsgenie_responder_t),
                                               og_responder_fields, NULL, NULL};

static const alert_field_t opsgenie_fields[] = {
    BASE(alert_opsgenie_config_t),
    F("api_key", ALERT_F_STR, alert_opsgenie_config_t, api_key),
    F("api_key_file", ALERT_F_STR, alert_opsgenie_config_t, api_key_file),
    F("api_url", ALERT_F_URL, alert_opsgenie_config_t, api_url),
    F("message", ALERT_F_STR, alert_opsgenie_config_t, message),
    F("description", ALERT_F_STR, alert_opsgenie_config_t, description),
    F("source", ALERT_F_STR, alert_opsgenie_config_t, source),
    F("details", ALERT_F_PAIRS, alert_opsgenie_config_t, details),
    F("entity", ALERT_F_STR, alert_opsgenie_config_t, entity),
    FL("responders", alert_opsgenie_config_t, responders, &og_responder_type,
       "[]opsgenie.OpsGenieConfigResponder", NULL),
    F("actions", ALERT_F_STR, alert_opsgenie_config_t, actions),
    F("tags", ALERT_F_STR, alert_opsgenie_config_t, tags),
    F("note", ALERT_F_STR, alert_opsgenie_config_t, note),
    F("priority", ALERT_F_STR, alert_opsgenie_config_t, priority),
    F("update_alerts", ALERT_F_BOOL, alert_opsgenie_config_t, update_alerts),
    END};

static void opsgenie_init(void *obj) {
    alert_opsgenie_config_t *o = obj;
    o->base.send_resolved = true;
    o->message = TMPL("opsgenie.default.message");
    o->description = TMPL("opsgenie.default.description");
    o->source = TMPL("opsgenie.default.source");
}

static void responder_text(alert_dec_t *d, const alert_opsgenie_responder_t *r, char *out,
                           size_t cap) {
    (void)d;
    snprintf(out, cap, "{%s %s %s %s}", r->id, r->name, r->username, r->type);
}

static int opsgenie_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_opsgenie_config_t *o = obj;
    CHECK(at_most_one(d, set(o->api_key), set(o->api_key_file), "api_key & api_key_file"));
    for (size_t i = 0; i < o->n_responders; i++) {
        alert_opsgenie_responder_t *r = &o->responders[i];
        char txt[256];
        responder_text(d, r, txt, sizeof txt);
        if (!set(r->id) && !set(r->username) && !set(r->name))
            return alert_dec_fatal(d,
                                   "opsGenieConfig responder %s has to have at least one of id, "
                                   "username or name specified",
                                   txt);
        if (strstr(r->type, "{{")) continue;
        char *lower = alert_dec_strdup(d, r->type, strlen(r->type));
        for (char *p = lower; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
        r->type = lower;
        static const char *const types[] = {"team", "teams", "user", "escalation", "schedule"};
        bool ok = false;
        for (size_t k = 0; k < 5; k++)
            ok |= !strcmp(lower, types[k]);
        if (!ok) {
            responder_text(d, r, txt, sizeof txt);
            return alert_dec_fatal(d,
                                   "opsGenieConfig responder %s type does not match valid options "
                                   "^(team|teams|user|escalation|schedule)$",
                                   txt);
        }
    }
    return ALERT_DEC_OK;
}

static const alert_type_t opsgenie_type = {"opsgenie.plain", sizeof(alert_opsgenie_config_t),
                                           opsgenie_fields, opsgenie_init, opsgenie_validate};

/* wechat */
static const alert_field_t wechat_fields[] = {
    BASE(alert_wechat_config_t),
    F("api_secret", ALERT_F_STR, alert_wechat_config_t, api_secret),
    F("api_secret_file", ALERT_F_STR, alert_wechat_config_t, api_secret_file),
    F("corp_id", ALERT_F_STR, alert_wechat_config_t, corp_id),
    F("message", ALERT_F_STR, alert_wechat_config_t, message),
    F("api_url", ALERT_F_URL, alert_wechat_config_t, api_url),
    F("to_user", ALERT_F_STR, alert_wechat_config_t, to_user),
    F("to_party", ALERT_F_STR, alert_wechat_config_t, to_party),
    F("to_tag", ALERT_F_STR, alert_wechat_config_t, to_tag),
    F("agent_id", ALERT_F_STR, alert_wechat_config_t, agent_id),
    F("message_type", ALERT_F_STR, alert_wechat_config_t, message_type),
    END};

static void wechat_init(void *obj) {
    alert_wechat_config_t *w = obj;
    w->message = TMPL("wechat.default.message");
    w->to_user = TMPL("wechat.default.to_user");
    w->to_party = TMPL("wechat.default.to_party");
    w->to_tag = TMPL("wechat.default.to_tag");
    w->agent_id = TMPL("wechat.default.agent_id");
}

static int wechat_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_wechat_config_t *w = obj;
    if (!set(w->message_type)) w->message_type = "text";
    if (strcmp(w->message_type, "text") && strcmp(w->message_type, "markdown"))
        return alert_dec_fatal(d,
                               "weChat message type %s does not match valid options "
                               "^(text|markdown)$",
                               goq(d, w->message_type));
    return at_most_one(d, set(w->api_secret), set(w->api_secret_file),
                       "api_secret & api_secret_file");
}

static const alert_type_t wechat_type = {"config.plain", sizeof(alert_wechat_config_t),
                                         wechat_fields, wechat_init, wechat_validate};

/* pushover */
static const alert_field_t pushover_fields[] = {
    BASE(alert_pushover_config_t),
    F("user_key", ALERT_F_STR, alert_pushover_config_t, user_key),
    F("user_key_file", ALERT_F_STR, alert_pushover_config_t, user_key_file),
    F("token", ALERT_F_STR, alert_pushover_config_t, token),
    F("token_file", ALERT_F_STR, alert_pushover_config_t, token_file),
    F("title", ALERT_F_STR, alert_pushover_config_t, title),
    F("message", ALERT_F_STR, alert_pushover_config_t, message),
    F("url", ALERT_F_STR, alert_pushover_config_t, url),
    F("url_title", ALERT_F_STR, alert_pushover_config_t, url_title),
    F("device", ALERT_F_STR, alert_pushover_config_t, device),
    F("sound", ALERT_F_STR, alert_pushover_config_t, sound),
    F("priority", ALERT_F_STR, alert_pushover_config_t, priority),
    F("retry", ALERT_F_TEXTDUR, alert_pushover_config_t, retry_ms),
    F("expire", ALERT_F_TEXTDUR, alert_pushover_config_t, expire_ms),
    F("ttl", ALERT_F_TEXTDUR, alert_pushover_config_t, ttl_ms),
    F("html", ALERT_F_BOOL, alert_pushover_config_t, html),
    F("monospace", ALERT_F_BOOL, alert_pushover_config_t, monospace),
    END};

static void pushover_init(void *obj) {
    alert_pushover_config_t *p = obj;
    p->base.send_resolved = true;
    p->title = TMPL("pushover.default.title");
    p->message = TMPL("pushover.default.message");
    p->url = TMPL("pushover.default.url");
    p->priority = "{{ if eq .Status \"firing\" }}2{{ else }}0{{ end }}";
    p->retry_ms = 60000;
    p->expire_ms = 3600000;
}

static int pushover_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_pushover_config_t *p = obj;
    if (!set(p->user_key) && !set(p->user_key_file))
        return alert_dec_fatal(d, "one of user_key or user_key_file must be configured");
    CHECK(at_most_one(d, set(p->user_key), set(p->user_key_file), "user_key & user_key_file"));
    if (!set(p->token) && !set(p->token_file))
        return alert_dec_fatal(d, "one of token or token_file must be configured");
    CHECK(at_most_one(d, set(p->token), set(p->token_file), "token & token_file"));
    return at_most_one(d, p->html, p->monospace, "monospace & html");
}

static const alert_type_t pushover_type = {"config.plain", sizeof(alert_pushover_config_t),
                                           pushover_fields, pushover_init, pushover_validate};

/* victorops */
static const alert_field_t victorops_fields[] = {
    BASE(alert_victorops_config_t),
    F("api_key", ALERT_F_STR, alert_victorops_config_t, api_key),
    F("api_key_file", ALERT_F_STR, alert_victorops_config_t, api_key_file),
    F("api_url", ALERT_F_URL, alert_victorops_config_t, api_url),
    F("routing_key", ALERT_F_STR, alert_victorops_config_t, routing_key),
    F("message_type", ALERT_F_STR, alert_victorops_config_t, message_type),
    F("state_message", ALERT_F_STR, alert_victorops_config_t, state_message),
    F("entity_display_name", ALERT_F_STR, alert_victorops_config_t, entity_display_name),
    F("monitoring_tool", ALERT_F_STR, alert_victorops_config_t, monitoring_tool),
    F("custom_fields", ALERT_F_PAIRS, alert_victorops_config_t, custom_fields),
    END};

static void victorops_init(void *obj) {
    alert_victorops_config_t *v = obj;
    v->base.send_resolved = true;
    v->message_type = "CRITICAL";
    v->state_message = TMPL("victorops.default.state_message");
    v->entity_display_name = TMPL("victorops.default.entity_display_name");
    v->monitoring_tool = TMPL("victorops.default.monitoring_tool");
}

static int victorops_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_victorops_config_t *v = obj;
    if (!set(v->routing_key)) return alert_dec_fatal(d, "missing Routing key in VictorOps config");
    CHECK(at_most_one(d, set(v->api_key), set(v->api_key_file), "api_key & api_key_file"));
    static const char *const reserved[] = {
        "routing_key",     "message_type", "state_message", "entity_display_name",
        "monitoring_tool", "entity_id",    "entity_state"};
    for (size_t k = 0; k < sizeof reserved / sizeof *reserved; k++)
        for (size_t i = 0; i < v->n_custom_fields; i++)
            if (!strcmp(v->custom_fields[i].name, reserved[k]))
                return alert_dec_fatal(d,
                                       "victorOps config contains custom field %s which cannot "
                                       "be used as it conflicts with the fixed/static fields",
                                       reserved[k]);
    return ALERT_DEC_OK;
}

static const alert_type_t victorops_type = {"config.plain", sizeof(alert_victorops_config_t),
                                            victorops_fields, victorops_init, victorops_validate};

/* sns */
static const alert_field_t sigv4_fields[] = {
    F("region", ALERT_F_STR, alert_sigv4_t, region),
    F("access_key", ALERT_F_STR, alert_sigv4_t, access_key),
    F("secret_key", ALERT_F_STR, alert_sigv4_t, secret_key),
    F("profile", ALERT_F_STR, alert_sigv4_t, profile),
    F("role_arn", ALERT_F_STR, alert_sigv4_t, role_arn),
    F("external_id", ALERT_F_STR, alert_sigv4_t, external_id),
    F("use_fips_sts_endpoint", ALERT_F_BOOL, alert_sigv4_t, use_fips_sts_endpoint),
    END};

static int sigv4_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_sigv4_t *s = obj;
    if (set(s->access_key) != set(s->secret_key))
        return alert_dec_fatal(d, "must provide a AWS SigV4 Access key and Secret Key if "
                                  "credentials are specified in the SigV4 config");
    return ALERT_DEC_OK;
}

static const alert_type_t sigv4_type = {"sigv4.plain", sizeof(alert_sigv4_t), sigv4_fields, NULL,
                                        sigv4_validate};

static const alert_field_t sns_fields[] = {
    BASE(alert_sns_config_t),
    F("api_url", ALERT_F_STR, alert_sns_config_t, api_url),
    FT("sigv4", ALERT_F_STRUCT, alert_sns_config_t, sigv4, &sigv4_type),
    F("topic_arn", ALERT_F_STR, alert_sns_config_t, topic_arn),
    F("phone_number", ALERT_F_STR, alert_sns_config_t, phone_number),
    F("target_arn", ALERT_F_STR, alert_sns_config_t, target_arn),
    F("subject", ALERT_F_STR, alert_sns_config_t, subject),
    F("message", ALERT_F_STR, alert_sns_config_t, message),
    F("attributes", ALERT_F_PAIRS, alert_sns_config_t, attributes),
    F("use_aws_http_client", ALERT_F_BOOL, alert_sns_config_t, use_aws_http_client),
    END};

static void sns_init(void *obj) {
    alert_sns_config_t *s = obj;
    s->base.send_resolved = true;
    s->subject = TMPL("sns.default.subject");
    s->message = TMPL("sns.default.message");
}

static int sns_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_sns_config_t *s = obj;
    /* Go's (a == "") != (b == "") != (c == ""), exactly. */
    bool a = !set(s->target_arn), b = !set(s->topic_arn), c = !set(s->phone_number);
    if ((a != b) != c)
        return alert_dec_fatal(
            d, "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config");
    return ALERT_DEC_OK;
}

static const alert_type_t sns_type = {"config.plain", sizeof(alert_sns_config_t), sns_fields,
                                      sns_init, sns_validate};

/* telegram */
static const alert_field_t telegram_fields[] = {
    BASE(alert_telegram_config_t),
    F("api_url", ALERT_F_URL, alert_telegram_config_t, api_url),
    F("bot_token", ALERT_F_STR, alert_telegram_config_t, bot_token),
    F("bot_token_file", ALERT_F_STR, alert_telegram_config_t, bot_token_file),
    F("chat_id", ALERT_F_INT, alert_telegram_config_t, chat_id),
    F("chat_id_file", ALERT_F_STR, alert_telegram_config_t, chat_id_file),
    FG("message_thread_id", ALERT_F_INT, alert_telegram_config_t, message_thread_id, "int"),
    F("message", ALERT_F_STR, alert_telegram_config_t, message),
    F("disable_notifications", ALERT_F_BOOL, alert_telegram_config_t, disable_notifications),
    F("parse_mode", ALERT_F_STR, alert_telegram_config_t, parse_mode),
    END};

static void telegram_init(void *obj) {
    alert_telegram_config_t *t = obj;
    t->base.send_resolved = true;
    t->message = TMPL("telegram.default.message");
    t->parse_mode = "HTML";
}

static int telegram_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_telegram_config_t *t = obj;
    CHECK(at_most_one(d, set(t->bot_token), set(t->bot_token_file), "bot_token & bot_token_file"));
    if (t->chat_id == 0 && !set(t->chat_id_file))
        return alert_dec_fatal(d, "missing chat_id or chat_id_file on telegram_config");
    CHECK(at_most_one(d, t->chat_id != 0, set(t->chat_id_file), "chat_id & chat_id_file"));
    if (set(t->parse_mode) && strcmp(t->parse_mode, "Markdown") &&
        strcmp(t->parse_mode, "MarkdownV2") && strcmp(t->parse_mode, "HTML"))
        return alert_dec_fatal(d, "unknown parse_mode on telegram_config, must be Markdown, "
                                  "MarkdownV2, HTML or empty string");
    return ALERT_DEC_OK;
}

static const alert_type_t telegram_type = {"telegram.plain", sizeof(alert_telegram_config_t),
                                           telegram_fields, telegram_init, telegram_validate};

/* webex */
static const alert_field_t webex_fields[] = {
    BASE(alert_webex_config_t), F("api_url", ALERT_F_URL, alert_webex_config_t, api_url),
    F("message", ALERT_F_STR, alert_webex_config_t, message),
    F("room_id", ALERT_F_STR, alert_webex_config_t, room_id), END};

static void webex_init(void *obj) {
    alert_webex_config_t *w = obj;
    w->base.send_resolved = true;
    w->message = TMPL("webex.default.message");
}

static int webex_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_webex_config_t *w = obj;
    if (!set(w->room_id)) return alert_dec_fatal(d, "missing room_id on webex_config");
    if (!w->base.http_config || !w->base.http_config->authorization)
        return alert_dec_fatal(d, "missing webex_configs.http_config.authorization");
    return ALERT_DEC_OK;
}

static const alert_type_t webex_type = {"config.plain", sizeof(alert_webex_config_t), webex_fields,
                                        webex_init, webex_validate};

/* discord */
static const alert_field_t discord_fields[] = {
    BASE(alert_discord_config_t),
    F("webhook_url", ALERT_F_SURL, alert_discord_config_t, webhook_url),
    F("webhook_url_file", ALERT_F_STR, alert_discord_config_t, webhook_url_file),
    F("content", ALERT_F_STR, alert_discord_config_t, content),
    F("title", ALERT_F_STR, alert_discord_config_t, title),
    F("message", ALERT_F_STR, alert_discord_config_t, message),
    F("username", ALERT_F_STR, alert_discord_config_t, username),
    F("avatar_url", ALERT_F_STR, alert_discord_config_t, avatar_url),
    END};

static void discord_init(void *obj) {
    alert_discord_config_t *c = obj;
    c->base.send_resolved = true;
    c->title = TMPL("discord.default.title");
    c->message = TMPL("discord.default.message");
}

static int webhook_url_pair(alert_dec_t *d, const char *url, const char *file) {
    if (!url && !set(file))
        return alert_dec_fatal(d, "one of webhook_url or webhook_url_file must be configured");
    return at_most_one(d, url != NULL, set(file), "webhook_url & webhook_url_file");
}

static int discord_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_discord_config_t *c = obj;
    return webhook_url_pair(d, c->webhook_url, c->webhook_url_file);
}

static const alert_type_t discord_type = {"discord.plain", sizeof(alert_discord_config_t),
                                          discord_fields, discord_init, discord_validate};

/* msteams, msteamsv2 */
static const alert_field_t msteams_fields[] = {
    BASE(alert_msteams_config_t),
    F("webhook_url", ALERT_F_SURL, alert_msteams_config_t, webhook_url),
    F("webhook_url_file", ALERT_F_STR, alert_msteams_config_t, webhook_url_file),
    F("title", ALERT_F_STR, alert_msteams_config_t, title),
    F("summary", ALERT_F_STR, alert_msteams_config_t, summary),
    F("text", ALERT_F_STR, alert_msteams_config_t, text),
    END};
static const alert_field_t msteamsv2_fields[] = {
    BASE(alert_msteams_config_t),
    F("webhook_url", ALERT_F_SURL, alert_msteams_config_t, webhook_url),
    F("webhook_url_file", ALERT_F_STR, alert_msteams_config_t, webhook_url_file),
    F("title", ALERT_F_STR, alert_msteams_config_t, title),
    F("text", ALERT_F_STR, alert_msteams_config_t, text),
    END};

static void msteams_init(void *obj) {
    alert_msteams_config_t *c = obj;
    c->base.send_resolved = true;
    c->title = TMPL("msteams.default.title");
    c->summary = TMPL("msteams.default.summary");
    c->text = TMPL("msteams.default.text");
}
static void msteamsv2_init(void *obj) {
    alert_msteams_config_t *c = obj;
    c->base.send_resolved = true;
    c->title = TMPL("msteamsv2.default.title");
    c->text = TMPL("msteamsv2.default.text");
}

static int msteams_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_msteams_config_t *c = obj;
    return webhook_url_pair(d, c->webhook_url, c->webhook_url_file);
}

static const alert_type_t msteams_type = {"msteams.plain", sizeof(alert_msteams_config_t),
                                          msteams_fields, msteams_init, msteams_validate};
static const alert_type_t msteamsv2_type = {"msteamsv2.plain", sizeof(alert_msteams_config_t),
                                            msteamsv2_fields, msteamsv2_init, msteams_validate};

/* jira */
static const alert_field_t jira_field_fields[] = {
    F("template", ALERT_F_STR, alert_jira_field_t, template_),
    F("enable_update", ALERT_F_TRI, alert_jira_field_t, enable_update), END};
static const alert_type_t jira_field_type = {"jira.plain", sizeof(alert_jira_field_t),
                                             jira_field_fields, NULL, NULL};

/* JiraFieldConfig: a bare string is the template; otherwise the struct. */
static int decode_jira_field(alert_dec_t *d, const ytree_node_t *n, void *dst) {
    alert_jira_field_t *f = dst;
    if (ytree_is_null(n)) return ALERT_DEC_OK;
    if (n->kind == YTREE_NODE_SCALAR) return f->template_ = n->str, ALERT_DEC_OK;
    return alert_dec_struct(d, &jira_field_type, n, f);
}

static int decode_jira_fields_any(alert_dec_t *d, const ytree_node_t *n, void *dst) {
    if (ytree_is_null(n)) return ALERT_DEC_OK;
    if (n->kind != YTREE_NODE_MAP) return alert_dec_type_error(d, n, "map[string]interface {}");
    *(unsigned *)dst = n->line;
    return ALERT_DEC_OK;
}

static const alert_field_t jira_fields[] = {
    BASE(alert_jira_config_t),
    F("api_url", ALERT_F_URL, alert_jira_config_t, api_url),
    F("api_type", ALERT_F_STR, alert_jira_config_t, api_type),
    F("project", ALERT_F_STR, alert_jira_config_t, project),
    FC("summary", alert_jira_config_t, summary, decode_jira_field),
    FC("description", alert_jira_config_t, description, decode_jira_field),
    F("labels", ALERT_F_STRLIST, alert_jira_config_t, labels),
    F("priority", ALERT_F_STR, alert_jira_config_t, priority),
    F("issue_type", ALERT_F_STR, alert_jira_config_t, issue_type),
    F("reopen_transition", ALERT_F_STR, alert_jira_config_t, reopen_transition),
    F("resolve_transition", ALERT_F_STR, alert_jira_config_t, resolve_transition),
    F("wont_fix_resolution", ALERT_F_STR, alert_jira_config_t, wont_fix_resolution),
    F("reopen_duration", ALERT_F_MDUR, alert_jira_config_t, reopen_duration_ms),
    FC("fields", alert_jira_config_t, fields_line, decode_jira_fields_any),
    END};

static void jira_init(void *obj) {
    alert_jira_config_t *j = obj;
    j->base.send_resolved = true;
    j->api_type = "auto";
    j->summary.template_ = TMPL("jira.default.summary");
    j->summary.enable_update = ALERT_UNSET;
    j->description.template_ = TMPL("jira.default.description");
    j->description.enable_update = ALERT_UNSET;
    j->priority = TMPL("jira.default.priority");
}

static int jira_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_jira_config_t *j = obj;
    if (!set(j->project)) return alert_dec_fatal(d, "missing project in jira_config");
    if (!set(j->issue_type)) return alert_dec_fatal(d, "missing issue_type in jira_config");
    if (strcmp(j->api_type, "auto") && strcmp(j->api_type, "cloud") &&
        strcmp(j->api_type, "datacenter"))
        return alert_dec_fatal(
            d, "unknown api_type on jira_config, must be auto, cloud or datacenter");
    return ALERT_DEC_OK;
}

static const alert_type_t jira_type = {"jira.plain", sizeof(alert_jira_config_t), jira_fields,
                                       jira_init, jira_validate};

/* rocketchat (its fields and actions have no YAML names of their own: Go
 * decodes them by lower-cased field name) */
static const alert_field_t chat_field_fields[] = {
    F("short", ALERT_F_TRI, alert_chat_field_t, short_),
    F("title", ALERT_F_STR, alert_chat_field_t, title),
    F("value", ALERT_F_STR, alert_chat_field_t, value), END};
static const alert_type_t rc_field_type = {
    "config.RocketchatAttachmentField", sizeof(alert_chat_field_t), chat_field_fields, NULL, NULL};

static const alert_field_t rc_action_fields[] = {
    F("type", ALERT_F_STR, alert_rocketchat_action_t, type),
    F("text", ALERT_F_STR, alert_rocketchat_action_t, text),
    F("url", ALERT_F_STR, alert_rocketchat_action_t, url),
    F("imageurl", ALERT_F_STR, alert_rocketchat_action_t, image_url),
    F("iswebview", ALERT_F_BOOL, alert_rocketchat_action_t, is_webview),
    F("webviewheightratio", ALERT_F_STR, alert_rocketchat_action_t, webview_height_ratio),
    F("msg", ALERT_F_STR, alert_rocketchat_action_t, msg),
    F("msginchatwindow", ALERT_F_BOOL, alert_rocketchat_action_t, msg_in_chat_window),
    F("msgprocessingtype", ALERT_F_STR, alert_rocketchat_action_t, msg_processing_type),
    END};
static const alert_type_t rc_action_type = {"config.RocketchatAttachmentAction",
                                            sizeof(alert_rocketchat_action_t), rc_action_fields,
                                            NULL, NULL};

static const alert_field_t rocketchat_fields[] = {
    BASE(alert_rocketchat_config_t),
    F("api_url", ALERT_F_URL, alert_rocketchat_config_t, api_url),
    F("token_id", ALERT_F_PSTR, alert_rocketchat_config_t, token_id),
    F("token_id_file", ALERT_F_STR, alert_rocketchat_config_t, token_id_file),
    F("token", ALERT_F_PSTR, alert_rocketchat_config_t, token),
    F("token_file", ALERT_F_STR, alert_rocketchat_config_t, token_file),
    F("channel", ALERT_F_STR, alert_rocketchat_config_t, channel),
    F("color", ALERT_F_STR, alert_rocketchat_config_t, color),
    F("title", ALERT_F_STR, alert_rocketchat_config_t, title),
    F("title_link", ALERT_F_STR, alert_rocketchat_config_t, title_link),
    F("text", ALERT_F_STR, alert_rocketchat_config_t, text),
    FL("fields", alert_rocketchat_config_t, fields, &rc_field_type,
       "[]*config.RocketchatAttachmentField", NULL),
    F("short_fields", ALERT_F_BOOL, alert_rocketchat_config_t, short_fields),
    F("emoji", ALERT_F_STR, alert_rocketchat_config_t, emoji),
    F("icon_url", ALERT_F_STR, alert_rocketchat_config_t, icon_url),
    F("image_url", ALERT_F_STR, alert_rocketchat_config_t, image_url),
    F("thumb_url", ALERT_F_STR, alert_rocketchat_config_t, thumb_url),
    F("link_names", ALERT_F_BOOL, alert_rocketchat_config_t, link_names),
    FL("actions", alert_rocketchat_config_t, actions, &rc_action_type,
       "[]*config.RocketchatAttachmentAction", NULL),
    END};

static void rocketchat_init(void *obj) {
    alert_rocketchat_config_t *r = obj;
    r->color = "{{ if eq .Status \"firing\" }}red{{ else }}green{{ end }}";
    r->emoji = TMPL("rocketchat.default.emoji");
    r->icon_url = TMPL("rocketchat.default.iconurl");
    r->text = TMPL("rocketchat.default.text");
    r->title = TMPL("rocketchat.default.title");
    r->title_link = TMPL("rocketchat.default.titlelink");
}

static int rocketchat_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_rocketchat_config_t *r = obj;
    CHECK(at_most_one(d, r->token != NULL, set(r->token_file), "token & token_file"));
    return at_most_one(d, r->token_id != NULL, set(r->token_id_file), "token_id & token_id_file");
}

static const alert_type_t rocketchat_type = {"config.plain", sizeof(alert_rocketchat_config_t),
                                             rocketchat_fields, rocketchat_init,
                                             rocketchat_validate};

/* incidentio */
static const alert_field_t incidentio_fields[] = {
    BASE(alert_incidentio_config_t),
    F("url", ALERT_F_URL, alert_incidentio_config_t, url),
    F("url_file", ALERT_F_STR, alert_incidentio_config_t, url_file),
    F("alert_source_token", ALERT_F_STR, alert_incidentio_config_t, alert_source_token),
    F("alert_source_token_file", ALERT_F_STR, alert_incidentio_config_t, alert_source_token_file),
    F("max_alerts", ALERT_F_UINT, alert_incidentio_config_t, max_alerts),
    F("timeout", ALERT_F_GODUR, alert_incidentio_config_t, timeout_ms),
    END};

static int incidentio_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_incidentio_config_t *c = obj;
    if (!c->url && !set(c->url_file))
        return alert_dec_fatal(d, "one of url or url_file must be configured");
    CHECK(at_most_one(d, c->url != NULL, set(c->url_file), "url & url_file"));
    bool token = set(c->alert_source_token), token_file = set(c->alert_source_token_file);
    CHECK(at_most_one(d, token, token_file, "alert_source_token & alert_source_token_file"));
    const config_http_client_t *h = c->base.http_config;
    if (h && h->authorization && (token || token_file))
        return alert_dec_fatal(d, "cannot specify alert_source_token or alert_source_token_file "
                                  "when using http_config.authorization");
    if (h && !h->authorization && !token && !token_file)
        return alert_dec_fatal(d, "at least one of alert_source_token, alert_source_token_file "
                                  "or http_config.authorization must be configured");
    return ALERT_DEC_OK;
}

static const alert_type_t incidentio_type = {"incidentio.plain", sizeof(alert_incidentio_config_t),
                                             incidentio_fields, send_resolved_init,
                                             incidentio_validate};

/* mattermost */
static int chat_field_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    alert_chat_field_t *f = obj;
    if (!set(f->title))
        return alert_dec_fatal(d, "missing title in Mattermost field configuration");
    if (!set(f->value))
        return alert_dec_fatal(d, "missing value in Mattermost field configuration");
    return ALERT_DEC_OK;
}
static const alert_type_t mm_field_type = {"mattermost.plain", sizeof(alert_chat_field_t),
                                           chat_field_fields, NULL, chat_field_validate};

static const alert_field_t mm_attachment_fields[] = {
    F("fallback", ALERT_F_STR, alert_mattermost_attachment_t, fallback),
    F("color", ALERT_F_STR, alert_mattermost_attachment_t, color),
    F("pretext", ALERT_F_STR, alert_mattermost_attachment_t, pretext),
    F("text", ALERT_F_STR, alert_mattermost_attachment_t, text),
    F("author_name", ALERT_F_STR, alert_mattermost_attachment_t, author_name),
    F("author_link", ALERT_F_STR, alert_mattermost_attachment_t, author_link),
    F("author_icon", ALERT_F_STR, alert_mattermost_attachment_t, author_icon),
    F("title", ALERT_F_STR, alert_mattermost_attachment_t, title),
    F("title_link", ALERT_F_STR, alert_mattermost_attachment_t, title_link),
    FL("fields", alert_mattermost_attachment_t, fields, &mm_field_type,
       "[]*mattermost.MattermostField", NULL),
    F("thumb_url", ALERT_F_STR, alert_mattermost_attachment_t, thumb_url),
    F("footer", ALERT_F_STR, alert_mattermost_attachment_t, footer),
    F("footer_icon", ALERT_F_STR, alert_mattermost_attachment_t, footer_icon),
    F("image_url", ALERT_F_STR, alert_mattermost_attachment_t, image_url),
    END};
static const alert_type_t mm_attachment_type = {"mattermost.MattermostAttachment",
                                                sizeof(alert_mattermost_attachment_t),
                                                mm_attachment_fields, NULL, NULL};

typedef struct mm_props {
    const char *card;
} mm_props_t;
static const alert_field_t mm_props_fields[] = {F("card", ALERT_F_STR, mm_props_t, card), END};
static const alert_type_t mm_props_type = {"mattermost.MattermostProps", sizeof(mm_props_t),
                                           mm_props_fields, NULL, NULL};

typedef struct mm_priority {
    const char *priority;
    bool requested_ack, persistent_notifications;
} mm_priority_t;
static const alert_field_t mm_priority_fields[] = {
    F("priority", ALERT_F_STR, mm_priority_t, priority),
    F("requested_ack", ALERT_F_BOOL, mm_priority_t, requested_ack),
    F("persistent_notifications", ALERT_F_BOOL, mm_priority_t, persistent_notifications), END};
static const alert_type_t mm_priority_type = {
    "mattermost.MattermostPriority", sizeof(mm_priority_t), mm_priority_fields, NULL, NULL};

typedef struct mattermost_raw {
    alert_mattermost_config_t m;
    const mm_props_t *props;
    const mm_priority_t *priority;
} mattermost_raw_t;

static const alert_field_t mattermost_fields[] = {
    BASEP(mattermost_raw_t, m.),
    F("webhook_url", ALERT_F_SURL, mattermost_raw_t, m.webhook_url),
    F("webhook_url_file", ALERT_F_STR, mattermost_raw_t, m.webhook_url_file),
    F("channel", ALERT_F_STR, mattermost_raw_t, m.channel),
    F("username", ALERT_F_STR, mattermost_raw_t, m.username),
    F("text", ALERT_F_STR, mattermost_raw_t, m.text),
    F("fallback", ALERT_F_STR, mattermost_raw_t, m.fallback),
    F("color", ALERT_F_STR, mattermost_raw_t, m.color),
    F("pretext", ALERT_F_STR, mattermost_raw_t, m.pretext),
    F("author_name", ALERT_F_STR, mattermost_raw_t, m.author_name),
    F("author_link", ALERT_F_STR, mattermost_raw_t, m.author_link),
    F("author_icon", ALERT_F_STR, mattermost_raw_t, m.author_icon),
    F("title", ALERT_F_STR, mattermost_raw_t, m.title),
    F("title_link", ALERT_F_STR, mattermost_raw_t, m.title_link),
    FL("fields", mattermost_raw_t, m.fields, &mm_field_type, "[]*mattermost.MattermostField", NULL),
    F("thumb_url", ALERT_F_STR, mattermost_raw_t, m.thumb_url),
    F("footer", ALERT_F_STR, mattermost_raw_t, m.footer),
    F("footer_icon", ALERT_F_STR, mattermost_raw_t, m.footer_icon),
    F("image_url", ALERT_F_STR, mattermost_raw_t, m.image_url),
    F("icon_url", ALERT_F_STR, mattermost_raw_t, m.icon_url),
    F("icon_emoji", ALERT_F_STR, mattermost_raw_t, m.icon_emoji),
    FL("attachments", mattermost_raw_t, m.attachments, &mm_attachment_type,
       "[]*mattermost.MattermostAttachment", NULL),
    F("type", ALERT_F_STR, mattermost_raw_t, m.type),
    FT("props", ALERT_F_PSTRUCT, mattermost_raw_t, props, &mm_props_type),
    FT("priority", ALERT_F_PSTRUCT, mattermost_raw_t, priority, &mm_priority_type),
    END};

static void mattermost_init(void *obj) {
    alert_mattermost_config_t *m = &((mattermost_raw_t *)obj)->m;
    m->base.send_resolved = true;
    m->username = TMPL("mattermost.default.username");
    m->color = TMPL("mattermost.default.color");
    m->text = TMPL("mattermost.default.text");
    m->title = TMPL("mattermost.default.title");
    m->title_link = TMPL("mattermost.default.titlelink");
    m->fallback = TMPL("mattermost.default.fallback");
}

static int mattermost_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    mattermost_raw_t *r = obj;
    if (r->props) r->m.props_card = r->props->card;
    if (r->priority) {
        r->m.has_priority = true;
        r->m.priority = r->priority->priority;
        r->m.priority_requested_ack = r->priority->requested_ack;
        r->m.priority_persistent_notifications = r->priority->persistent_notifications;
    }
    return at_most_one(d, r->m.webhook_url != NULL, set(r->m.webhook_url_file),
                       "webhook_url & webhook_url_file");
}

static const alert_type_t mattermost_type = {"mattermost.plain", sizeof(mattermost_raw_t),
                                             mattermost_fields, mattermost_init,
                                             mattermost_validate};

/* ----------------------------------------------------------- receiver */

/* Raw receiver: each list holds the *_raw structs; the public arrays are
 * made once the Config pass has filled them in. */
typedef struct receiver_raw {
    const char *name;
    config_pair_t *labels;
    size_t n_labels;
    alert_discord_config_t *discord;
    size_t n_discord;
    email_raw_t *email;
    size_t n_email;
    alert_incidentio_config_t *incidentio;
    size_t n_incidentio;
    alert_pagerduty_config_t *pagerduty;
    size_t n_pagerduty;
    slack_raw_t *slack;
    size_t n_slack;
    alert_webhook_config_t *webhook;
    size_t n_webhook;
    alert_opsgenie_config_t *opsgenie;
    size_t n_opsgenie;
    alert_wechat_config_t *wechat;
    size_t n_wechat;
    alert_pushover_config_t *pushover;
    size_t n_pushover;
    alert_victorops_config_t *victorops;
    size_t n_victorops;
    alert_sns_config_t *sns;
    size_t n_sns;
    alert_telegram_config_t *telegram;
    size_t n_telegram;
    alert_webex_config_t *webex;
    size_t n_webex;
    alert_msteams_config_t *msteams;
    size_t n_msteams;
    alert_msteams_config_t *msteamsv2;
    size_t n_msteamsv2;
    alert_jira_config_t *jira;
    size_t n_jira;
    alert_rocketchat_config_t *rocketchat;
    size_t n_rocketchat;
    mattermost_raw_t *mattermost;
    size_t n_mattermost;
    unsigned line;
} receiver_raw_t;

#define RL(key, member, type, go, nullmsg) FL(key, receiver_raw_t, member, type, go, nullmsg)

static const alert_field_t receiver_fields[] = {
    F("name", ALERT_F_STR, receiver_raw_t, name),
    F("labels", ALERT_F_PAIRS, receiver_raw_t, labels),
    RL("discord_configs", discord, &discord_type, "[]*discord.DiscordConfig",
       "missing discord config"),
    RL("email_configs", email, &email_type, "[]*config.EmailConfig", "missing email config"),
    RL("incidentio_configs", incidentio, &incidentio_type, "[]*incidentio.IncidentioConfig",
       "missing incidentio config"),
    RL("pagerduty_configs", pagerduty, &pagerduty_type, "[]*pagerduty.PagerdutyConfig",
       "missing pagerduty config"),
    RL("slack_configs", slack, &slack_type, "[]*config.SlackConfig", NULL),
    RL("webhook_configs", webhook, &webhook_type, "[]*webhook.WebhookConfig",
       "missing webhook config"),
    RL("opsgenie_configs", opsgenie, &opsgenie_type, "[]*opsgenie.OpsGenieConfig", NULL),
    RL("wechat_configs", wechat, &wechat_type, "[]*config.WechatConfig", NULL),
    RL("pushover_configs", pushover, &pushover_type, "[]*config.PushoverConfig",
       "missing pushover config"),
    RL("victorops_configs", victorops, &victorops_type, "[]*config.VictorOpsConfig",
       "missing victorops config"),
    RL("sns_configs", sns, &sns_type, "[]*config.SNSConfig", "missing sns config"),
    RL("telegram_configs", telegram, &telegram_type, "[]*telegram.TelegramConfig",
       "missing telegram config"),
    RL("webex_configs", webex, &webex_type, "[]*config.WebexConfig", "missing webex config"),
    RL("msteams_configs", msteams, &msteams_type, "[]*msteams.MSTeamsConfig",
       "missing msteams config"),
    RL("msteamsv2_configs", msteamsv2, &msteamsv2_type, "[]*msteamsv2.MSTeamsV2Config",
       "missing msteamsv2 config"),
    RL("jira_configs", jira, &jira_type, "[]*jira.JiraConfig", "missing jira config"),
    RL("rocketchat_configs", rocketchat, &rocketchat_type, "[]*config.RocketchatConfig", NULL),
    RL("mattermost_configs", mattermost, &mattermost_type, "[]*mattermost.MattermostConfig",
       "missing mattermost config"),
    END};

static int receiver_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    receiver_raw_t *r = obj;
    r->line = n->line;
    if (!set(r->name)) return alert_dec_fatal(d, "missing name in receiver");
    bool have = false;
    for (size_t i = 0; i < r->n_labels; i++) {
        if (strcmp(r->labels[i].name, "name")) continue;
        if (strcmp(r->labels[i].value, r->name))
            return alert_dec_fatal(d, "receiver label \"name\" must match receiver name %s, got %s",
                                   goq(d, r->name), goq(d, r->labels[i].value));
        have = true;
    }
    if (!have) {
        config_pair_t *ls = alert_dec_zalloc(d, (r->n_labels + 1) * sizeof *ls);
        if (r->n_labels) memcpy(ls, r->labels, r->n_labels * sizeof *ls);
        ls[r->n_labels].name = "name";
        ls[r->n_labels].value = r->name;
        r->labels = ls;
        r->n_labels++;
    }
    return ALERT_DEC_OK;
}

static const alert_type_t receiver_type = {"config.plain", sizeof(receiver_raw_t), receiver_fields,
                                           NULL, receiver_validate};

/* --------------------------------------------------------------- routes */

/* The raw structs are in alert_int.h: marshal.c prints them back. */
typedef alert_re_pair_t re_pair_t;
typedef alert_route_raw_t route_raw_t;

/* MatchRegexps: map[string]Regexp. Each value compiles as it is decoded;
 * the names and null values are checked once the whole map is read. */
static int decode_match_re(alert_dec_t *d, const ytree_node_t *n, void *dst) {
    re_pair_t **items = dst;
    size_t *count = (size_t *)((char *)dst + sizeof(re_pair_t *));
    if (ytree_is_null(n)) return *items = NULL, *count = 0, ALERT_DEC_OK;
    if (n->kind != YTREE_NODE_MAP) return alert_dec_type_error(d, n, "config.plain");
    re_pair_t *out = alert_dec_zalloc(d, n->n * sizeof *out);
    int rc = ALERT_DEC_OK;
    for (size_t i = 0; i < n->n; i++) {
        const ytree_node_t *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
        if (alert_dec_string(d, k, &out[i].name)) {
            rc = ALERT_DEC_TERR;
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (out[j].name && !strcmp(out[j].name, out[i].name))
                rc = alert_dec_terr(d, k, "key \"%s\" already set in map", k->str);
        if (ytree_is_null(v)) continue;
        if (alert_dec_string(d, v, &out[i].value)) {
            rc = ALERT_DEC_TERR;
            continue;
        }
        vg_err_t e = {0};
        if (alert_regex_compile(out[i].value, &out[i].re, &e) != VG_OK)
            return alert_dec_fatal(d, "%s", e.msg);
        alert_dec_keep_regex(d, out[i].re);
    }
    *items = out;
    *count = n->n;
    if (rc) return rc;
    for (size_t i = 0; i < n->n; i++) {
        if (!alert_label_name_legacy(out[i].name))
            return alert_dec_fatal(d, "invalid label name %s", goq(d, out[i].name));
        if (!out[i].re)
            return alert_dec_fatal(d, "invalid regexp value for %s", goq(d, out[i].name));
    }
    return ALERT_DEC_OK;
}

static void keep_regex_cb(void *ctx, labels_regex_t *re) { alert_dec_keep_regex(ctx, re); }

/* Matchers: a list of matcher lines, each parsed, all sorted. */
static int decode_matchers(alert_dec_t *d, const ytree_node_t *n, void *dst) {
    alert_matcher_t **items = dst;
    size_t *count = (size_t *)((char *)dst + sizeof(alert_matcher_t *));
    if (ytree_is_null(n)) return *items = NULL, *count = 0, ALERT_DEC_OK;
    if (n->kind != YTREE_NODE_SEQ) return alert_dec_type_error(d, n, "[]string");
    int rc = ALERT_DEC_OK;
    for (size_t i = 0; i < n->n; i++)
        if (n->kids[i]->kind != YTREE_NODE_SCALAR)
            rc = alert_dec_type_error(d, n->kids[i], "string");
    if (rc) return rc;
    alert_matcher_t *all = NULL;
    size_t n_all = 0;
    for (size_t i = 0; i < n->n; i++) {
        const ytree_node_t *line = n->kids[i];
        const char *s = line->tag == YTREE_TAG_NULL ? "" : line->str;
        alert_matcher_t *ms = NULL;
        size_t n_ms = 0;
        vg_err_t e = {0};
        if (alert_matchers_parse_into(s, strlen(s), d->arena, keep_regex_cb, d, &ms, &n_ms, &e))
            return alert_dec_fatal(d, "%s", e.msg);
        alert_matcher_t *grown = alert_dec_zalloc(d, (n_all + n_ms) * sizeof *grown);
        if (n_all) memcpy(grown, all, n_all * sizeof *grown);
        if (n_ms) memcpy(grown + n_all, ms, n_ms * sizeof *grown);
        all = grown;
        n_all += n_ms;
    }
    alert_matchers_sort(all, n_all);
    *items = all;
    *count = n_all;
    return ALERT_DEC_OK;
}

static const alert_type_t route_type;

static const alert_field_t route_fields[] = {
    F("receiver", ALERT_F_STR, route_raw_t, receiver),
    F("group_by", ALERT_F_STRLIST, route_raw_t, group_by),
    F("match", ALERT_F_PAIRS, route_raw_t, match),
    FC("match_re", route_raw_t, match_re, decode_match_re),
    FC("matchers", route_raw_t, matchers, decode_matchers),
    F("mute_time_intervals", ALERT_F_STRLIST, route_raw_t, mute_time_intervals),
    F("active_time_intervals", ALERT_F_STRLIST, route_raw_t, active_time_intervals),
    F("continue", ALERT_F_BOOL, route_raw_t, cont),
    FL("routes", route_raw_t, routes, &route_type, "[]*config.Route", "missing route"),
    F("group_wait", ALERT_F_PMDUR, route_raw_t, group_wait),
    F("group_interval", ALERT_F_PMDUR, route_raw_t, group_interval),
    F("repeat_interval", ALERT_F_PMDUR, route_raw_t, repeat_interval),
    F("labels", ALERT_F_PAIRS, route_raw_t, labels),
    END};

static int route_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    route_raw_t *r = obj;
    r->line = n->line;
    for (size_t i = 0; i < r->n_match; i++)
        if (!alert_label_name_legacy(r->match[i].name))
            return alert_dec_fatal(d, "invalid label name %s", goq(d, r->match[i].name));
    for (size_t i = 0; i < r->n_labels; i++)
        if (!alert_label_name_utf8(r->labels[i].name))
            return alert_dec_fatal(d, "invalid label name %s in route labels",
                                   goq(d, r->labels[i].name));
    size_t n_names = 0;
    for (size_t i = 0; i < r->n_group_by; i++) {
        if (!strcmp(r->group_by[i], "...")) {
            r->group_by_all = true;
            continue;
        }
        if (!alert_label_name_utf8(r->group_by[i]))
            return alert_dec_fatal(d, "invalid label name %s in group_by list",
                                   goq(d, r->group_by[i]));
        n_names++;
    }
    if (n_names && r->group_by_all)
        return alert_dec_fatal(
            d, "cannot have wildcard group_by (`...`) and other labels at the same time");
    for (size_t i = 0; i < r->n_group_by; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(r->group_by[i], r->group_by[j]) && strcmp(r->group_by[i], "..."))
                return alert_dec_fatal(d, "duplicated label %s in group_by",
                                       goq(d, r->group_by[i]));
    if (r->group_interval == 0) return alert_dec_fatal(d, "group_interval cannot be zero");
    if (r->repeat_interval == 0) return alert_dec_fatal(d, "repeat_interval cannot be zero");
    return ALERT_DEC_OK;
}

static void route_init(void *obj) {
    route_raw_t *r = obj;
    r->group_wait = r->group_interval = r->repeat_interval = -1;
}

static const alert_type_t route_type = {"config.plain", sizeof(route_raw_t), route_fields,
                                        route_init, route_validate};

/* -------------------------------------------------------- inhibit rules */

typedef alert_inhibit_raw_t inhibit_raw_t;

static const alert_field_t inhibit_fields[] = {
    F("name", ALERT_F_STR, inhibit_raw_t, name),
    F("source_match", ALERT_F_PAIRS, inhibit_raw_t, source_match),
    FC("source_match_re", inhibit_raw_t, source_match_re, decode_match_re),
    FC("source_matchers", inhibit_raw_t, source_matchers, decode_matchers),
    F("target_match", ALERT_F_PAIRS, inhibit_raw_t, target_match),
    FC("target_match_re", inhibit_raw_t, target_match_re, decode_match_re),
    FC("target_matchers", inhibit_raw_t, target_matchers, decode_matchers),
    F("equal", ALERT_F_STRLIST, inhibit_raw_t, equal),
    END};

static int inhibit_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    inhibit_raw_t *r = obj;
    for (size_t i = 0; i < r->n_source_match; i++)
        if (!alert_label_name_legacy(r->source_match[i].name))
            return alert_dec_fatal(d, "invalid label name %s", goq(d, r->source_match[i].name));
    for (size_t i = 0; i < r->n_target_match; i++)
        if (!alert_label_name_legacy(r->target_match[i].name))
            return alert_dec_fatal(d, "invalid label name %s", goq(d, r->target_match[i].name));
    for (size_t i = 0; i < r->n_equal; i++)
        if (!alert_label_name_utf8(r->equal[i]))
            return alert_dec_fatal(d, "invalid label name %s in equal list", goq(d, r->equal[i]));
    return ALERT_DEC_OK;
}

static const alert_type_t inhibit_type = {"common.plain", sizeof(inhibit_raw_t), inhibit_fields,
                                          NULL, inhibit_validate};

/* ------------------------------------------------------- time intervals */

typedef struct interval_raw {
    const char *name;
    alert_time_spec_t *specs;
    size_t n_specs;
} interval_raw_t;

static int decode_specs(alert_dec_t *d, const ytree_node_t *n, void *dst) {
    interval_raw_t *r = dst;
    if (ytree_is_null(n)) return r->specs = NULL, r->n_specs = 0, ALERT_DEC_OK;
    if (n->kind != YTREE_NODE_SEQ) return alert_dec_type_error(d, n, "[]timeinterval.TimeInterval");
    r->specs = alert_dec_zalloc(d, n->n * sizeof *r->specs);
    r->n_specs = n->n;
    int rc = ALERT_DEC_OK;
    for (size_t i = 0; i < n->n; i++) {
        r->specs[i].location = "";
        if (ytree_is_null(n->kids[i])) continue;
        int x = alert_timeinterval_decode_spec(d, n->kids[i], &r->specs[i]);
        if (x == ALERT_DEC_FATAL) return x;
        if (x) rc = x;
    }
    return rc;
}

static const alert_field_t interval_fields[] = {
    F("name", ALERT_F_STR, interval_raw_t, name),
    {"time_intervals", ALERT_F_CUSTOM, 0, NULL, decode_specs, NULL, NULL},
    END};

static int mute_interval_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    if (!set(((interval_raw_t *)obj)->name))
        return alert_dec_fatal(d, "missing name in mute time interval");
    return ALERT_DEC_OK;
}
static int interval_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    if (!set(((interval_raw_t *)obj)->name))
        return alert_dec_fatal(d, "missing name in time interval");
    return ALERT_DEC_OK;
}

static const alert_type_t mute_interval_type = {"config.plain", sizeof(interval_raw_t),
                                                interval_fields, NULL, mute_interval_validate};
static const alert_type_t interval_type = {"config.plain", sizeof(interval_raw_t), interval_fields,
                                           NULL, interval_validate};

/* ------------------------------------------------------------- config */

typedef struct config_raw {
    const global_raw_t *global;
    route_raw_t *route;
    inhibit_raw_t *inhibit_rules;
    size_t n_inhibit_rules;
    receiver_raw_t *receivers;
    size_t n_receivers;
    const char **templates;
    size_t n_templates;
    interval_raw_t *mute_time_intervals;
    size_t n_mute_time_intervals;
    interval_raw_t *time_intervals;
    size_t n_time_intervals;
} config_raw_t;

static int decode_templates(alert_dec_t *d, const ytree_node_t *n, void *dst) {
    const char ***items = dst;
    size_t *count = (size_t *)((char *)dst + sizeof(const char **));
    if (ytree_is_null(n)) return ALERT_DEC_OK;
    if (n->kind != YTREE_NODE_SEQ) return alert_dec_type_error(d, n, "[]string");
    const char **out = alert_dec_zalloc(d, n->n * sizeof *out);
    int rc = ALERT_DEC_OK;
    for (size_t i = 0; i < n->n; i++) {
        if (alert_dec_string(d, n->kids[i], &out[i])) {
            rc = ALERT_DEC_TERR;
            out[i] = "";
            continue;
        }
        out[i] = alert_dec_path(d, out[i]);
    }
    *items = out;
    *count = n->n;
    return rc;
}

static const alert_field_t config_fields[] = {
    FT("global", ALERT_F_PSTRUCT, config_raw_t, global, &global_type),
    FT("route", ALERT_F_PSTRUCT, config_raw_t, route, &route_type),
    FL("inhibit_rules", config_raw_t, inhibit_rules, &inhibit_type, "[]common.InhibitRule", NULL),
    FL("receivers", config_raw_t, receivers, &receiver_type, "[]config.Receiver", NULL),
    FC("templates", config_raw_t, templates, decode_templates),
    FL("mute_time_intervals", config_raw_t, mute_time_intervals, &mute_interval_type,
       "[]config.MuteTimeInterval", NULL),
    FL("time_intervals", config_raw_t, time_intervals, &interval_type, "[]config.TimeInterval",
       NULL),
    FANY("tracing"),
    FANY("event_recorder"),
    END};

/* The Config-level pass (Config.UnmarshalYAML after decoding). */
typedef struct cfg_pass {
    alert_dec_t *d;
    const alert_global_t *g;
    config_raw_t *raw;
} cfg_pass_t;

static const config_http_client_t *or_http(const config_http_client_t *own,
                                           const alert_global_t *g) {
    return own ? own : g->http_config;
}

static const char *or_str(const char *own, const char *global) { return set(own) ? own : global; }

/* Appends '/' to a URL's path when missing (Go's URL.Path += "/"). */
static const char *with_slash(alert_dec_t *d, const char *url) {
    if (!url) return url;
    size_t n = strlen(url), q = strcspn(url, "?#");
    const char *scheme_end = strstr(url, "://");
    size_t host_end = scheme_end ? (size_t)(scheme_end - url) + 3 : 0;
    host_end += strcspn(url + host_end, "/?#");
    if (host_end < q && url[q - 1] == '/') return url;
    if (host_end == q || url[q - 1] != '/') {
        char *out = vg_arena_alloc(d->arena, n + 2);
        memcpy(out, url, q);
        out[q] = '/';
        memcpy(out + q + 1, url + q, n - q + 1);
        return out;
    }
    return url;
}

static int check_receivers_used(alert_dec_t *d, const route_raw_t *r, const config_raw_t *raw) {
    for (size_t i = 0; i < r->n_routes; i++)
        CHECK(check_receivers_used(d, &r->routes[i], raw));
    if (!set(r->receiver)) return ALERT_DEC_OK;
    for (size_t i = 0; i < raw->n_receivers; i++)
        if (!strcmp(raw->receivers[i].name, r->receiver)) return ALERT_DEC_OK;
    return alert_dec_fatal(d, "undefined receiver %s used in route", goq(d, r->receiver));
}

static bool interval_known(const config_raw_t *raw, const char *name) {
    for (size_t i = 0; i < raw->n_mute_time_intervals; i++)
        if (!strcmp(raw->mute_time_intervals[i].name, name)) return true;
    for (size_t i = 0; i < raw->n_time_intervals; i++)
        if (!strcmp(raw->time_intervals[i].name, name)) return true;
    return false;
}

static int check_intervals_used(alert_dec_t *d, const route_raw_t *r, const config_raw_t *raw) {
    for (size_t i = 0; i < r->n_routes; i++)
        CHECK(check_intervals_used(d, &r->routes[i], raw));
    for (size_t i = 0; i < r->n_active_time_intervals; i++)
        if (!interval_known(raw, r->active_time_intervals[i]))
            return alert_dec_fatal(d, "undefined time interval %s used in route",
                                   goq(d, r->active_time_intervals[i]));
    for (size_t i = 0; i < r->n_mute_time_intervals; i++)
        if (!interval_known(raw, r->mute_time_intervals[i]))
            return alert_dec_fatal(d, "undefined time interval %s used in route",
                                   goq(d, r->mute_time_intervals[i]));
    return ALERT_DEC_OK;
}

/* Fills one receiver's integrations from global, in Alertmanager's order. */
static int pass_receiver(cfg_pass_t *p, receiver_raw_t *rcv) {
    alert_dec_t *d = p->d;
    const alert_global_t *g = p->g;
    for (size_t i = 0; i < rcv->n_webhook; i++)
        rcv->webhook[i].base.http_config = or_http(rcv->webhook[i].base.http_config, g);
    for (size_t i = 0; i < rcv->n_email; i++) {
        alert_email_config_t *ec = &rcv->email[i].e;
        if (!ec->tls_config) ec->tls_config = g->smtp_tls_config;
        ec->smarthost = or_str(ec->smarthost, g->smtp_smarthost);
        if (!set(ec->smarthost)) return alert_dec_fatal(d, "no global SMTP smarthost set");
        ec->from = or_str(ec->from, g->smtp_from);
        if (!set(ec->from)) return alert_dec_fatal(d, "no global SMTP from set");
        ec->hello = or_str(ec->hello, g->smtp_hello);
        ec->auth_username = or_str(ec->auth_username, g->smtp_auth_username);
        if (!set(ec->auth_password) && !set(ec->auth_password_file)) {
            ec->auth_password = g->smtp_auth_password;
            ec->auth_password_file = g->smtp_auth_password_file;
        }
        ec->auth_secret = or_str(ec->auth_secret, g->smtp_auth_secret);
        ec->auth_secret_file = or_str(ec->auth_secret_file, g->smtp_auth_secret_file);
        ec->auth_identity = or_str(ec->auth_identity, g->smtp_auth_identity);
        alert_tribool_t req = rcv->email[i].require_tls;
        ec->require_tls = req == ALERT_UNSET ? g->smtp_require_tls : req == ALERT_TRUE;
        if (ec->force_implicit_tls == ALERT_UNSET)
            ec->force_implicit_tls = g->smtp_force_implicit_tls;
    }
    for (size_t i = 0; i < rcv->n_slack; i++) {
        alert_slack_config_t *sc = &rcv->slack[i].s;
        if (!sc->app_url) sc->app_url = g->slack_app_url;
        if (!sc->app_url) return alert_dec_fatal(d, "no global Slack App URL set");
        const config_http_client_t *h = sc->base.http_config;
        if (!set(sc->app_token) && !set(sc->app_token_file) && (!h || !h->authorization) &&
            !sc->api_url) {
            sc->app_token = g->slack_app_token;
            sc->app_token_file = g->slack_app_token_file;
        }
        if (!sc->api_url && !set(sc->api_url_file)) {
            sc->api_url = g->slack_api_url;
            sc->api_url_file = g->slack_api_url_file;
        }
        if (!sc->api_url && !set(sc->api_url_file) && !set(sc->app_token) &&
            !set(sc->app_token_file))
            return alert_dec_fatal(d,
                                   "no Slack API URL nor App token set either inline or in a file");
        if (set(sc->app_token) || set(sc->app_token_file)) {
            if (h && h->authorization)
                return alert_dec_fatal(
                    d, "http authorization can't be set when using Slack App tokens");
            config_http_client_t *copy = alert_dec_zalloc(d, sizeof *copy);
            *copy = h ? *h : *g->http_config;
            config_authorization_t *a = alert_dec_zalloc(d, sizeof *a);
            a->type = "Bearer";
            a->credentials = sc->app_token ? sc->app_token : "";
            a->credentials_file = sc->app_token_file ? sc->app_token_file : "";
            copy->authorization = a;
            sc->base.http_config = copy;
            sc->api_url = sc->app_url;
        } else {
            sc->base.http_config = or_http(h, g);
        }
    }
    for (size_t i = 0; i < rcv->n_pushover; i++)
        rcv->pushover[i].base.http_config = or_http(rcv->pushover[i].base.http_config, g);
    for (size_t i = 0; i < rcv->n_pagerduty; i++) {
        alert_pagerduty_config_t *pd = &rcv->pagerduty[i];
        pd->base.http_config = or_http(pd->base.http_config, g);
        if (!pd->url) pd->url = g->pagerduty_url;
        if (!pd->url) return alert_dec_fatal(d, "no global PagerDuty URL set");
    }
    for (size_t i = 0; i < rcv->n_incidentio; i++)
        rcv->incidentio[i].base.http_config = or_http(rcv->incidentio[i].base.http_config, g);
    for (size_t i = 0; i < rcv->n_opsgenie; i++) {
        alert_opsgenie_config_t *og = &rcv->opsgenie[i];
        og->base.http_config = or_http(og->base.http_config, g);
        if (!og->api_url) og->api_url = g->opsgenie_api_url;
        if (!og->api_url) return alert_dec_fatal(d, "no global OpsGenie URL set");
        og->api_url = with_slash(d, og->api_url);
        og->api_key = or_str(og->api_key, g->opsgenie_api_key);
        og->api_key_file = or_str(og->api_key_file, g->opsgenie_api_key_file);
        if (!set(og->api_key) && !set(og->api_key_file))
            return alert_dec_fatal(d, "no global OpsGenie API Key set either inline or in a file");
    }
    for (size_t i = 0; i < rcv->n_wechat; i++) {
        alert_wechat_config_t *wc = &rcv->wechat[i];
        wc->base.http_config = or_http(wc->base.http_config, g);
        if (!wc->api_url) wc->api_url = g->wechat_api_url;
        if (!wc->api_url) return alert_dec_fatal(d, "no global Wechat URL set");
        if (!set(wc->api_secret) && !set(wc->api_secret_file)) {
            if (!set(g->wechat_api_secret) && !set(g->wechat_api_secret_file))
                return alert_dec_fatal(
                    d, "no global Wechat Api Secret set either inline or in a file");
            wc->api_secret = g->wechat_api_secret;
            wc->api_secret_file = g->wechat_api_secret_file;
        }
        wc->corp_id = or_str(wc->corp_id, g->wechat_api_corp_id);
        if (!set(wc->corp_id)) return alert_dec_fatal(d, "no global Wechat CorpID set");
        wc->api_url = with_slash(d, wc->api_url);
    }
    for (size_t i = 0; i < rcv->n_victorops; i++) {
        alert_victorops_config_t *vo = &rcv->victorops[i];
        vo->base.http_config = or_http(vo->base.http_config, g);
        if (!vo->api_url) vo->api_url = g->victorops_api_url;
        if (!vo->api_url) return alert_dec_fatal(d, "no global VictorOps URL set");
        vo->api_url = with_slash(d, vo->api_url);
        vo->api_key = or_str(vo->api_key, g->victorops_api_key);
        vo->api_key_file = or_str(vo->api_key_file, g->victorops_api_key_file);
        if (!set(vo->api_key) && !set(vo->api_key_file))
            return alert_dec_fatal(d, "no global VictorOps API Key set");
    }
    for (size_t i = 0; i < rcv->n_sns; i++)
        rcv->sns[i].base.http_config = or_http(rcv->sns[i].base.http_config, g);
    for (size_t i = 0; i < rcv->n_telegram; i++) {
        alert_telegram_config_t *t = &rcv->telegram[i];
        t->base.http_config = or_http(t->base.http_config, g);
        if (!t->api_url) t->api_url = g->telegram_api_url;
        if (!set(t->bot_token) && !set(t->bot_token_file)) {
            if (!set(g->telegram_bot_token) && !set(g->telegram_bot_token_file))
                return alert_dec_fatal(d, "missing bot_token or bot_token_file on telegram_config");
            t->bot_token = g->telegram_bot_token;
            t->bot_token_file = g->telegram_bot_token_file;
        }
    }
    for (size_t i = 0; i < rcv->n_discord; i++)
        rcv->discord[i].base.http_config = or_http(rcv->discord[i].base.http_config, g);
    for (size_t i = 0; i < rcv->n_webex; i++) {
        alert_webex_config_t *w = &rcv->webex[i];
        w->base.http_config = or_http(w->base.http_config, g);
        if (!w->api_url) w->api_url = g->webex_api_url;
        if (!w->api_url) return alert_dec_fatal(d, "no global Webex URL set");
    }
    for (size_t i = 0; i < rcv->n_msteams; i++)
        rcv->msteams[i].base.http_config = or_http(rcv->msteams[i].base.http_config, g);
    for (size_t i = 0; i < rcv->n_msteamsv2; i++) {
        alert_msteams_config_t *m = &rcv->msteamsv2[i];
        if (!m->base.http_config) {
            m->base.http_config = g->http_config;
        } else if (!set(m->base.http_config->proxy_url)) {
            config_http_client_t *copy = alert_dec_zalloc(d, sizeof *copy);
            *copy = *m->base.http_config;
            copy->proxy_url = g->http_config->proxy_url;
            m->base.http_config = copy;
        }
    }
    for (size_t i = 0; i < rcv->n_jira; i++) {
        alert_jira_config_t *j = &rcv->jira[i];
        j->base.http_config = or_http(j->base.http_config, g);
        if (!j->api_url) j->api_url = g->jira_api_url;
        if (!j->api_url) return alert_dec_fatal(d, "no global Jira Cloud URL set");
    }
    for (size_t i = 0; i < rcv->n_rocketchat; i++) {
        alert_rocketchat_config_t *r = &rcv->rocketchat[i];
        r->base.http_config = or_http(r->base.http_config, g);
        if (!r->api_url) r->api_url = g->rocketchat_api_url;
        if (!r->token_id) r->token_id = g->rocketchat_token_id;
        r->token_id_file = or_str(r->token_id_file, g->rocketchat_token_id_file);
        if (!r->token_id && !set(r->token_id_file))
            return alert_dec_fatal(d,
                                   "no global Rocketchat TokenID set either inline or in a file");
        if (!r->token) r->token = g->rocketchat_token;
        r->token_file = or_str(r->token_file, g->rocketchat_token_file);
        if (!r->token && !set(r->token_file))
            return alert_dec_fatal(d, "no global Rocketchat Token set either inline or in a file");
    }
    for (size_t i = 0; i < rcv->n_mattermost; i++) {
        alert_mattermost_config_t *m = &rcv->mattermost[i].m;
        m->base.http_config = or_http(m->base.http_config, g);
        if (!m->webhook_url && !set(m->webhook_url_file)) {
            if (!g->mattermost_webhook_url && !set(g->mattermost_webhook_url_file))
                return alert_dec_fatal(
                    d, "missing webhook_url or webhook_url_file on mattermost_config");
            m->webhook_url = g->mattermost_webhook_url;
            m->webhook_url_file = g->mattermost_webhook_url_file;
        }
    }
    return ALERT_DEC_OK;
}

static int config_validate(alert_dec_t *d, const ytree_node_t *n, void *obj) {
    (void)n;
    config_raw_t *c = obj;
    if (!c->global) {
        global_raw_t *g = alert_dec_zalloc(d, sizeof *g);
        alert_dec_init(&global_type, g);
        c->global = g;
    }
    alert_global_t *g = (alert_global_t *)&c->global->g;
    if (!g->http_config) g->http_config = default_http(d);
    if (!g->smtp_tls_config) g->smtp_tls_config = alert_dec_zalloc(d, sizeof(config_tls_t));
    CHECK(at_most_one(d, set(g->slack_app_token), set(g->slack_app_token_file),
                      "slack_app_token & slack_app_token_file"));
    CHECK(at_most_one(d, g->slack_api_url != NULL, set(g->slack_api_url_file),
                      "slack_api_url & slack_api_url_file"));
    if ((set(g->slack_app_token) || set(g->slack_app_token_file)) &&
        (g->slack_api_url || set(g->slack_api_url_file))) {
        const char *a = g->slack_api_url ? g->slack_api_url : "";
        const char *b = g->slack_app_url ? g->slack_app_url : "";
        if (strcmp(a, b))
            return alert_dec_fatal(d, "at most one of slack_app_token/slack_app_token_file & "
                                      "slack_api_url/slack_api_url_file must be configured");
    }
    CHECK(at_most_one(d, set(g->opsgenie_api_key), set(g->opsgenie_api_key_file),
                      "opsgenie_api_key & opsgenie_api_key_file"));
    CHECK(at_most_one(d, set(g->victorops_api_key), set(g->victorops_api_key_file),
                      "victorops_api_key & victorops_api_key_file"));
    CHECK(at_most_one(d, set(g->telegram_bot_token), set(g->telegram_bot_token_file),
                      "telegram_bot_token & telegram_bot_token_file"));
    CHECK(at_most_one(d, set(g->smtp_auth_password), set(g->smtp_auth_password_file),
                      "smtp_auth_password & smtp_auth_password_file"));
    CHECK(at_most_one(d, g->rocketchat_token != NULL, set(g->rocketchat_token_file),
                      "rocketchat_token & rocketchat_token_file"));
    CHECK(at_most_one(d, g->rocketchat_token_id != NULL, set(g->rocketchat_token_id_file),
                      "rocketchat_token_id & rocketchat_token_id_file"));
    CHECK(at_most_one(d, set(g->smtp_auth_secret), set(g->smtp_auth_secret_file),
                      "smtp_auth_secret & smtp_auth_secret_file"));
    CHECK(at_most_one(d, set(g->wechat_api_secret), set(g->wechat_api_secret_file),
                      "wechat_api_secret & wechat_api_secret_file"));
    CHECK(at_most_one(d, g->mattermost_webhook_url != NULL, set(g->mattermost_webhook_url_file),
                      "mattermost_webhook_url & mattermost_webhook_url_file"));

    cfg_pass_t p = {.d = d, .g = g, .raw = c};
    for (size_t i = 0; i < c->n_receivers; i++) {
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->receivers[j].name, c->receivers[i].name))
                return alert_dec_fatal(d, "notification config name %s is not unique",
                                       goq(d, c->receivers[i].name));
        CHECK(pass_receiver(&p, &c->receivers[i]));
    }
    if (!c->route) return alert_dec_fatal(d, "no routes provided");
    if (!set(c->route->receiver))
        return alert_dec_fatal(d, "root route must specify a default receiver");
    if (c->route->n_match || c->route->n_match_re || c->route->n_matchers)
        return alert_dec_fatal(d, "root route must not have any matchers");
    if (c->route->n_mute_time_intervals)
        return alert_dec_fatal(d, "root route must not have any mute time intervals");
    if (c->route->n_active_time_intervals)
        return alert_dec_fatal(d, "root route must not have any active time intervals");
    CHECK(check_receivers_used(d, c->route, c));
    for (size_t i = 0; i < c->n_mute_time_intervals; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c->mute_time_intervals[j].name, c->mute_time_intervals[i].name))
                return alert_dec_fatal(d, "mute time interval %s is not unique",
                                       goq(d, c->mute_time_intervals[i].name));
    for (size_t i = 0; i < c->n_time_intervals; i++) {
        bool dup = false;
        for (size_t j = 0; j < c->n_mute_time_intervals; j++)
            dup |= !strcmp(c->mute_time_intervals[j].name, c->time_intervals[i].name);
        for (size_t j = 0; j < i; j++)
            dup |= !strcmp(c->time_intervals[j].name, c->time_intervals[i].name);
        if (dup)
            return alert_dec_fatal(d, "time interval %s is not unique",
                                   goq(d, c->time_intervals[i].name));
    }
    return check_intervals_used(d, c->route, c);
}

static const alert_type_t config_type = {"config.plain", sizeof(config_raw_t), config_fields, NULL,
                                         config_validate};

/* ------------------------------------------------- building the result */

static alert_matcher_t *route_matchers(alert_dec_t *d, const config_pair_t *eq, size_t n_eq,
                                       const re_pair_t *re, size_t n_re, const alert_matcher_t *ms,
                                       size_t n_ms, size_t *out_n) {
    size_t n = n_eq + n_re + n_ms;
    alert_matcher_t *out = alert_dec_zalloc(d, n * sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n_eq; i++)
        out[k++] = (alert_matcher_t){ALERT_MATCH_EQUAL, eq[i].name, eq[i].value, NULL};
    /* Alertmanager turns match_re values into matchers with the anchored
     * text of its config.Regexp, and that text is what route keys (and so
     * the groupKey receivers see) print: service=~"^(?:web|api)$". */
    for (size_t i = 0; i < n_re; i++) {
        size_t len = strlen(re[i].value) + 7;
        char *v = alert_dec_zalloc(d, len);
        snprintf(v, len, "^(?:%s)$", re[i].value);
        out[k++] = (alert_matcher_t){ALERT_MATCH_REGEXP, re[i].name, v, re[i].re};
    }
    for (size_t i = 0; i < n_ms; i++)
        out[k++] = ms[i];
    *out_n = n;
    return out;
}

static int str_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* dispatch.NewRoute: options inherited from the parent, then overridden by
 * what this node sets. */
static void build_route(alert_dec_t *d, const route_raw_t *raw, alert_route_t *out,
                        const alert_route_t *parent, size_t *counter) {
    memset(out, 0, sizeof *out);
    out->parent = parent;
    if (parent) {
        out->receiver = parent->receiver;
        out->group_by = parent->group_by;
        out->n_group_by = parent->n_group_by;
        out->group_by_all = parent->group_by_all;
        out->group_wait_ms = parent->group_wait_ms;
        out->group_interval_ms = parent->group_interval_ms;
        out->repeat_interval_ms = parent->repeat_interval_ms;
        out->labels = parent->labels;
        out->n_labels = parent->n_labels;
    } else {
        out->receiver = "";
        out->group_wait_ms = 30 * 1000;
        out->group_interval_ms = 5 * 60 * 1000;
        out->repeat_interval_ms = 4 * 3600 * 1000;
    }
    if (raw->n_labels) {
        config_label_t *ls = alert_dec_zalloc(d, (out->n_labels + raw->n_labels) * sizeof *ls);
        size_t n = out->n_labels;
        if (n) memcpy(ls, out->labels, n * sizeof *ls);
        for (size_t i = 0; i < raw->n_labels; i++) {
            size_t j;
            for (j = 0; j < n; j++)
                if (!strcmp(ls[j].name, raw->labels[i].name)) break;
            ls[j].name = raw->labels[i].name;
            ls[j].value = raw->labels[i].value;
            if (j == n) n++;
        }
        out->labels = ls;
        out->n_labels = n;
    }
    if (set(raw->receiver)) out->receiver = raw->receiver;
    size_t n_names = 0;
    for (size_t i = 0; i < raw->n_group_by; i++)
        n_names += strcmp(raw->group_by[i], "...") != 0;
    if (raw->group_by && !raw->group_by_all) {
        /* GroupBy non-nil: a fresh set (possibly empty), no wildcard. */
        const char **gb = alert_dec_zalloc(d, n_names * sizeof *gb);
        size_t k = 0;
        for (size_t i = 0; i < raw->n_group_by; i++)
            if (strcmp(raw->group_by[i], "...")) gb[k++] = raw->group_by[i];
        qsort(gb, k, sizeof *gb, str_cmp);
        out->group_by = gb;
        out->n_group_by = k;
        out->group_by_all = false;
    } else if (raw->group_by_all) {
        out->group_by_all = true;
    }
    if (raw->group_wait >= 0) out->group_wait_ms = raw->group_wait;
    if (raw->group_interval >= 0) out->group_interval_ms = raw->group_interval;
    if (raw->repeat_interval >= 0) out->repeat_interval_ms = raw->repeat_interval;
    out->matchers = route_matchers(d, raw->match, raw->n_match, raw->match_re, raw->n_match_re,
                                   raw->matchers, raw->n_matchers, &out->n_matchers);
    alert_matchers_sort(out->matchers, out->n_matchers);
    out->mute_time_intervals = raw->mute_time_intervals;
    out->n_mute_time_intervals = raw->n_mute_time_intervals;
    out->active_time_intervals = raw->active_time_intervals;
    out->n_active_time_intervals = raw->n_active_time_intervals;
    out->cont = raw->cont;
    out->line = raw->line;
    out->src = raw;
    out->routes = alert_dec_zalloc(d, raw->n_routes * sizeof *out->routes);
    out->n_routes = raw->n_routes;
    for (size_t i = 0; i < raw->n_routes; i++)
        build_route(d, &raw->routes[i], &out->routes[i], out, counter);
    out->idx = (*counter)++;
}

#define COPY_LIST(dst_items, dst_n, src_items, src_n, T, member)                                   \
    do {                                                                                           \
        T *arr_ = alert_dec_zalloc(d, (src_n) * sizeof *arr_);                                     \
        for (size_t k_ = 0; k_ < (src_n); k_++)                                                    \
            arr_[k_] = (src_items)[k_].member;                                                     \
        (dst_items) = arr_;                                                                        \
        (dst_n) = (src_n);                                                                         \
    } while (0)

static void build_receiver(alert_dec_t *d, receiver_raw_t *r, alert_receiver_t *out) {
    memset(out, 0, sizeof *out);
    out->name = r->name;
    out->labels = r->labels;
    out->n_labels = r->n_labels;
    out->line = r->line;
#define SAME(x, y) out->x##_configs = r->y, out->n_##x##_configs = r->n_##y
    SAME(discord, discord);
    SAME(incidentio, incidentio);
    SAME(pagerduty, pagerduty);
    SAME(webhook, webhook);
    SAME(opsgenie, opsgenie);
    SAME(wechat, wechat);
    SAME(pushover, pushover);
    SAME(victorops, victorops);
    SAME(sns, sns);
    SAME(telegram, telegram);
    SAME(webex, webex);
    SAME(msteams, msteams);
    SAME(msteamsv2, msteamsv2);
    SAME(jira, jira);
    SAME(rocketchat, rocketchat);
#undef SAME
    COPY_LIST(out->email_configs, out->n_email_configs, r->email, r->n_email, alert_email_config_t,
              e);
    COPY_LIST(out->slack_configs, out->n_slack_configs, r->slack, r->n_slack, alert_slack_config_t,
              s);
    COPY_LIST(out->mattermost_configs, out->n_mattermost_configs, r->mattermost, r->n_mattermost,
              alert_mattermost_config_t, m);
}

static size_t count_routes(const alert_route_t *r) {
    size_t n = 1;
    for (size_t i = 0; i < r->n_routes; i++)
        n += count_routes(&r->routes[i]);
    return n;
}

int alert_config_decode(alert_dec_t *d, const ytree_node_t *root, alert_config_t *c) {
    config_raw_t raw;
    alert_dec_init(&config_type, &raw);
    if (root) {
        int rc = alert_dec_struct(d, &config_type, root, &raw);
        if (rc == ALERT_DEC_FATAL) return VG_ERR_INPUT;
        if (rc == ALERT_DEC_TERR || d->n_terrs) {
            if (d->err) {
                snprintf(d->err->msg, sizeof d->err->msg, "yaml: unmarshal errors:%s",
                         d->terrs.data ? d->terrs.data : "");
                d->err->code = VG_ERR_INPUT;
            }
            return VG_ERR_INPUT;
        }
    }
    if (!raw.route) return vg_err_set(d->err, VG_ERR_INPUT, "no route provided in config");
    if (raw.route->cont)
        return vg_err_set(d->err, VG_ERR_INPUT, "cannot have continue in root route");

    c->has_global = false;
    for (size_t i = 0; root && root->kind == YTREE_NODE_MAP && i < root->n; i++)
        c->has_global |= !strcmp(root->kids[2 * i]->str, "global");
    c->global = raw.global->g;
    c->templates = raw.templates;
    c->n_templates = raw.n_templates;
    size_t counter = 0;
    c->route = alert_dec_zalloc(d, sizeof *c->route);
    build_route(d, raw.route, c->route, NULL, &counter);
    c->n_routes = count_routes(c->route);

    c->inhibit_rules = alert_dec_zalloc(d, raw.n_inhibit_rules * sizeof *c->inhibit_rules);
    c->n_inhibit_rules = raw.n_inhibit_rules;
    for (size_t i = 0; i < raw.n_inhibit_rules; i++) {
        inhibit_raw_t *r = &raw.inhibit_rules[i];
        alert_inhibit_rule_t *o = &c->inhibit_rules[i];
        o->name = r->name ? r->name : "";
        o->src = r;
        o->source_matchers = route_matchers(
            d, r->source_match, r->n_source_match, r->source_match_re, r->n_source_match_re,
            r->source_matchers, r->n_source_matchers, &o->n_source_matchers);
        o->target_matchers = route_matchers(
            d, r->target_match, r->n_target_match, r->target_match_re, r->n_target_match_re,
            r->target_matchers, r->n_target_matchers, &o->n_target_matchers);
        const char **eq = alert_dec_zalloc(d, r->n_equal * sizeof *eq);
        size_t k = 0;
        for (size_t j = 0; j < r->n_equal; j++) {
            bool dup = false;
            for (size_t m = 0; m < k; m++)
                dup |= !strcmp(eq[m], r->equal[j]);
            if (!dup) eq[k++] = r->equal[j];
        }
        o->equal = eq;
        o->n_equal = k;
    }

    c->receivers = alert_dec_zalloc(d, raw.n_receivers * sizeof *c->receivers);
    c->n_receivers = raw.n_receivers;
    for (size_t i = 0; i < raw.n_receivers; i++)
        build_receiver(d, &raw.receivers[i], &c->receivers[i]);

    size_t n_ti = raw.n_time_intervals + raw.n_mute_time_intervals;
    c->time_intervals = alert_dec_zalloc(d, n_ti * sizeof *c->time_intervals);
    c->n_time_intervals = n_ti;
    for (size_t i = 0; i < raw.n_time_intervals; i++)
        c->time_intervals[i] =
            (alert_time_interval_t){raw.time_intervals[i].name, raw.time_intervals[i].specs,
                                    raw.time_intervals[i].n_specs, false};
    for (size_t i = 0; i < raw.n_mute_time_intervals; i++)
        c->time_intervals[raw.n_time_intervals + i] = (alert_time_interval_t){
            raw.mute_time_intervals[i].name, raw.mute_time_intervals[i].specs,
            raw.mute_time_intervals[i].n_specs, true};
    return VG_OK;
}
