/* This file implements the prometheus.yml schema: one table per Prometheus
 * config type (the YAML keys it accepts, their defaults) and the validation
 * rules Prometheus applies after unmarshalling each of them, with its
 * messages. Go type names in messages are the real ones (Prometheus itself
 * often prints "config.plain"). */
#include "config/decode.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define OFF(type, field) offsetof(type, field)
#define END                                                                                        \
    { NULL, 0, 0, NULL, NULL, NULL }

/* Every list is a pointer followed by its count: check the layouts the
 * decoder relies on. */
#define LIST_OK(type, items, count)                                                                \
    _Static_assert(offsetof(type, count) == offsetof(type, items) + sizeof(void *),                \
                   #type "." #count " must follow " #items)
LIST_OK(config_t, scrape_configs, n_scrape_configs);
LIST_OK(config_t, rule_files, n_rule_files);
LIST_OK(config_t, scrape_config_files, n_scrape_config_files);
LIST_OK(config_t, remote_write, n_remote_write);
LIST_OK(config_t, remote_read, n_remote_read);
LIST_OK(config_global_t, external_labels, n_external_labels);
LIST_OK(config_global_t, scrape_protocols, n_scrape_protocols);
LIST_OK(config_scrape_t, params, n_params);
LIST_OK(config_scrape_t, static_configs, n_static_configs);
LIST_OK(config_scrape_t, file_sd_configs, n_file_sd_configs);
LIST_OK(config_scrape_t, http_sd_configs, n_http_sd_configs);
LIST_OK(config_scrape_t, relabel_configs, n_relabel_configs);
LIST_OK(config_scrape_t, metric_relabel_configs, n_metric_relabel_configs);
LIST_OK(config_scrape_t, scrape_protocols, n_scrape_protocols);
LIST_OK(config_static_t, targets, n_targets);
LIST_OK(config_static_t, labels, n_labels);
LIST_OK(config_file_sd_t, files, n_files);
LIST_OK(config_relabel_t, source_labels, n_source_labels);
LIST_OK(config_alerting_t, alert_relabel_configs, n_alert_relabel_configs);
LIST_OK(config_alerting_t, alertmanagers, n_alertmanagers);
LIST_OK(config_alertmanager_t, static_configs, n_static_configs);
LIST_OK(config_alertmanager_t, file_sd_configs, n_file_sd_configs);
LIST_OK(config_alertmanager_t, http_sd_configs, n_http_sd_configs);
LIST_OK(config_alertmanager_t, relabel_configs, n_relabel_configs);
LIST_OK(config_alertmanager_t, alert_relabel_configs, n_alert_relabel_configs);
LIST_OK(config_remote_write_t, headers, n_headers);
LIST_OK(config_remote_write_t, write_relabel_configs, n_write_relabel_configs);
LIST_OK(config_remote_read_t, headers, n_headers);
LIST_OK(config_remote_read_t, required_matchers, n_required_matchers);
LIST_OK(config_tracing_t, headers, n_headers);
LIST_OK(config_oauth2_t, scopes, n_scopes);
LIST_OK(config_oauth2_t, endpoint_params, n_endpoint_params);
LIST_OK(config_vigil_host_t, collectors, n_collectors);

/* Discovery mechanisms Prometheus knows that need a cloud API, a cluster or
 * a service registry vigil does not talk to: accepted, warned about. */
static const char *const unreachable_sd[] = {
    "azure_sd_configs",     "consul_sd_configs",      "digitalocean_sd_configs",
    "docker_sd_configs",    "dockerswarm_sd_configs", "dns_sd_configs",
    "ec2_sd_configs",       "eureka_sd_configs",      "gce_sd_configs",
    "hetzner_sd_configs",   "ionos_sd_configs",       "kubernetes_sd_configs",
    "kuma_sd_configs",      "lightsail_sd_configs",   "linode_sd_configs",
    "marathon_sd_configs",  "nerve_sd_configs",       "nomad_sd_configs",
    "openstack_sd_configs", "ovhcloud_sd_configs",    "puppetdb_sd_configs",
    "scaleway_sd_configs",  "serverset_sd_configs",   "stackit_sd_configs",
    "triton_sd_configs",    "uyuni_sd_configs",       "vultr_sd_configs",
};
#define N_UNREACHABLE_SD (sizeof unreachable_sd / sizeof *unreachable_sd)

/* ------------------------------------------------------------ helpers */

static bool str_in(const char *s, const char *const *set, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, set[i])) return true;
    return false;
}

static const ytree_node_t *key_node(const ytree_node_t *map, const char *key) {
    if (!map || map->kind != YTREE_NODE_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++) {
        const ytree_node_t *k = map->kids[2 * i];
        if (k->kind == YTREE_NODE_SCALAR && !strcmp(k->str, key)) return k;
    }
    return NULL;
}

/* Position for a struct-level error: the offending key if given and
 * present, else the struct itself. */
static const ytree_node_t *at_key(const ytree_node_t *map, const char *key) {
    const ytree_node_t *k = key ? key_node(map, key) : NULL;
    return k ? k : map;
}

/* ------------------------------------------------------------ TLS, auth */

static int tls_validate(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj) {
    config_tls_t *t = obj;
    static const char *const versions[] = {"TLS10", "TLS11", "TLS12", "TLS13"};
    if (t->min_version[0] && !str_in(t->min_version, versions, 4))
        return cfg_fail(ctx, at_key(map, "min_version"), "unknown TLS version: %s", t->min_version);
    if (t->max_version[0] && !str_in(t->max_version, versions, 4))
        return cfg_fail(ctx, at_key(map, "max_version"), "unknown TLS version: %s", t->max_version);
    if (t->min_version[0] && t->max_version[0] && strcmp(t->min_version, t->max_version) > 0)
        return cfg_fail(ctx, map,
                        "tls_config.max_version must be greater than or equal to "
                        "tls_config.min_version if both are specified");
    if (t->ca[0] && t->ca_file[0])
        return cfg_fail(ctx, map, "at most one of ca and ca_file must be configured");
    if (t->cert[0] && t->cert_file[0])
        return cfg_fail(ctx, map, "at most one of cert and cert_file must be configured");
    if (t->key[0] && t->key_file[0])
        return cfg_fail(ctx, map, "at most one of key and key_file must be configured");
    bool has_cert = t->cert[0] || t->cert_file[0], has_key = t->key[0] || t->key_file[0];
    if (has_cert && !has_key)
        return cfg_fail(ctx, map,
                        "exactly one of key or key_file must be configured when a "
                        "client certificate is configured");
    if (has_key && !has_cert)
        return cfg_fail(ctx, map,
                        "exactly one of cert or cert_file must be configured when a "
                        "client key is configured");
    return VG_OK;
}

static void tls_init(void *obj) {
    config_tls_t *t = obj;
    t->ca_file = t->cert_file = t->key_file = t->ca = t->cert = t->key = "";
    t->server_name = t->min_version = t->max_version = "";
}

static const cfg_field_t tls_fields[] = {
    {"ca_file", CFG_F_PATH, OFF(config_tls_t, ca_file), NULL, NULL, NULL},
    {"cert_file", CFG_F_PATH, OFF(config_tls_t, cert_file), NULL, NULL, NULL},
    {"key_file", CFG_F_PATH, OFF(config_tls_t, key_file), NULL, NULL, NULL},
    {"ca", CFG_F_STR, OFF(config_tls_t, ca), NULL, NULL, NULL},
    {"cert", CFG_F_STR, OFF(config_tls_t, cert), NULL, NULL, NULL},
    {"key", CFG_F_STR, OFF(config_tls_t, key), NULL, NULL, NULL},
    {"server_name", CFG_F_STR, OFF(config_tls_t, server_name), NULL, NULL, NULL},
    {"insecure_skip_verify", CFG_F_BOOL, OFF(config_tls_t, insecure_skip_verify), NULL, NULL, NULL},
    {"min_version", CFG_F_STR, OFF(config_tls_t, min_version), NULL, NULL, NULL},
    {"max_version", CFG_F_STR, OFF(config_tls_t, max_version), NULL, NULL, NULL},
    END};
static const cfg_type_t tls_type = {"config.TLSConfig", sizeof(config_tls_t), tls_fields, tls_init,
                                    tls_validate};

static void basic_auth_init(void *obj) {
    config_basic_auth_t *b = obj;
    b->username = b->username_file = b->password = b->password_file = "";
}
static int basic_auth_validate(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj) {
    config_basic_auth_t *b = obj;
    if (b->username[0] && b->username_file[0])
        return cfg_fail(ctx, map,
                        "at most one of basic_auth username & username_file must be configured");
    if (b->password[0] && b->password_file[0])
        return cfg_fail(ctx, map,
                        "at most one of basic_auth password & password_file must be configured");
    return VG_OK;
}
static const cfg_field_t basic_auth_fields[] = {
    {"username", CFG_F_STR, OFF(config_basic_auth_t, username), NULL, NULL, NULL},
    {"username_file", CFG_F_PATH, OFF(config_basic_auth_t, username_file), NULL, NULL, NULL},
    {"password", CFG_F_STR, OFF(config_basic_auth_t, password), NULL, NULL, NULL},
    {"password_file", CFG_F_PATH, OFF(config_basic_auth_t, password_file), NULL, NULL, NULL},
    END};
static const cfg_type_t basic_auth_type = {"config.BasicAuth", sizeof(config_basic_auth_t),
                                           basic_auth_fields, basic_auth_init, basic_auth_validate};

static void authorization_init(void *obj) {
    config_authorization_t *a = obj;
    a->type = a->credentials = a->credentials_file = "";
}
static const cfg_field_t authorization_fields[] = {
    {"type", CFG_F_STR, OFF(config_authorization_t, type), NULL, NULL, NULL},
    {"credentials", CFG_F_STR, OFF(config_authorization_t, credentials), NULL, NULL, NULL},
    {"credentials_file", CFG_F_PATH, OFF(config_authorization_t, credentials_file), NULL, NULL,
     NULL},
    END};
static const cfg_type_t authorization_type = {"config.Authorization",
                                              sizeof(config_authorization_t), authorization_fields,
                                              authorization_init, NULL};

static void oauth2_init(void *obj) {
    config_oauth2_t *o = obj;
    o->client_id = o->client_secret = o->client_secret_file = o->token_url = "";
    o->proxy_url = "";
}
static const cfg_field_t oauth2_fields[] = {
    {"client_id", CFG_F_STR, OFF(config_oauth2_t, client_id), NULL, NULL, NULL},
    {"client_secret", CFG_F_STR, OFF(config_oauth2_t, client_secret), NULL, NULL, NULL},
    {"client_secret_file", CFG_F_PATH, OFF(config_oauth2_t, client_secret_file), NULL, NULL, NULL},
    {"client_certificate_key_id", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"client_certificate_key", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"client_certificate_key_file", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"grant_type", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"signature_algorithm", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"iss", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"audience", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"claims", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"scopes", CFG_F_STRLIST, OFF(config_oauth2_t, scopes), NULL, NULL, NULL},
    {"token_url", CFG_F_STR, OFF(config_oauth2_t, token_url), NULL, NULL, NULL},
    {"endpoint_params", CFG_F_PAIRS, OFF(config_oauth2_t, endpoint_params), NULL, NULL, NULL},
    {"tls_config", CFG_F_STRUCT, OFF(config_oauth2_t, tls_config), &tls_type, NULL, NULL},
    {"proxy_url", CFG_F_STR, OFF(config_oauth2_t, proxy_url), NULL, NULL, NULL},
    {"no_proxy", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"proxy_from_environment", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"proxy_connect_header", CFG_F_ANY, 0, NULL, NULL, NULL},
    END};
static const cfg_type_t oauth2_type = {"config.OAuth2", sizeof(config_oauth2_t), oauth2_fields,
                                       oauth2_init, NULL};

static void http_init(void *obj) {
    config_http_client_t *h = obj;
    h->bearer_token = h->bearer_token_file = "";
    h->proxy_url = h->no_proxy = "";
    h->follow_redirects = true;
    h->enable_http2 = true;
}

/* prometheus/common HTTPClientConfig.Validate: called by the types that
 * inline the HTTP client, once their whole map is decoded. */
static int http_validate(cfg_ctx_t *ctx, const ytree_node_t *map, config_http_client_t *h) {
    bool bearer = h->bearer_token[0] || h->bearer_token_file[0];
    if (h->bearer_token[0] && h->bearer_token_file[0])
        return cfg_fail(ctx, map,
                        "at most one of bearer_token & bearer_token_file must be configured");
    if ((h->basic_auth || h->oauth2) && bearer)
        return cfg_fail(ctx, map,
                        "at most one of basic_auth, oauth2, bearer_token & "
                        "bearer_token_file must be configured");
    if (h->authorization) {
        config_authorization_t *a = (config_authorization_t *)h->authorization;
        const ytree_node_t *am = at_key(map, "authorization");
        if (bearer)
            return cfg_fail(ctx, am,
                            "authorization is not compatible with bearer_token & "
                            "bearer_token_file");
        if (a->credentials[0] && a->credentials_file[0])
            return cfg_fail(ctx, am,
                            "at most one of authorization credentials & "
                            "credentials_file must be configured");
        /* Prometheus trims the type and defaults it to Bearer. */
        const char *t = a->type;
        while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
            t++;
        size_t tl = strlen(t);
        while (tl &&
               (t[tl - 1] == ' ' || t[tl - 1] == '\t' || t[tl - 1] == '\n' || t[tl - 1] == '\r'))
            tl--;
        a->type = tl ? vg_arena_strndup(ctx->arena, t, tl) : "Bearer";
        if (!strcasecmp(a->type, "basic"))
            return cfg_fail(ctx, am,
                            "authorization type cannot be set to \"basic\", use "
                            "\"basic_auth\" instead");
        if (h->basic_auth || h->oauth2)
            return cfg_fail(ctx, am,
                            "at most one of basic_auth, oauth2 & authorization must be "
                            "configured");
    } else if (bearer) {
        config_authorization_t *a = cfg_zalloc(ctx, sizeof *a);
        a->type = "Bearer";
        a->credentials = h->bearer_token;
        a->credentials_file = h->bearer_token_file;
        h->authorization = a;
        h->bearer_token = h->bearer_token_file = "";
    }
    if (h->oauth2) {
        const config_oauth2_t *o = h->oauth2;
        const ytree_node_t *om = at_key(map, "oauth2");
        if (h->basic_auth)
            return cfg_fail(ctx, om,
                            "at most one of basic_auth, oauth2 & authorization must be "
                            "configured");
        if (!o->client_id[0]) return cfg_fail(ctx, om, "oauth2 client_id must be configured");
        if (!o->client_secret[0] && !o->client_secret_file[0])
            return cfg_fail(ctx, om,
                            "either oauth2 client_secret or client_secret_file must "
                            "be configured");
        if (!o->token_url[0]) return cfg_fail(ctx, om, "oauth2 token_url must be configured");
        if (o->client_secret[0] && o->client_secret_file[0])
            return cfg_fail(ctx, om,
                            "at most one of oauth2 client_secret & client_secret_file "
                            "must be configured");
    }
    return VG_OK;
}

static const cfg_field_t http_fields[] = {
    {"basic_auth", CFG_F_PSTRUCT, OFF(config_http_client_t, basic_auth), &basic_auth_type, NULL,
     NULL},
    {"authorization", CFG_F_PSTRUCT, OFF(config_http_client_t, authorization), &authorization_type,
     NULL, NULL},
    {"oauth2", CFG_F_PSTRUCT, OFF(config_http_client_t, oauth2), &oauth2_type, NULL, NULL},
    {"bearer_token", CFG_F_STR, OFF(config_http_client_t, bearer_token), NULL, NULL, NULL},
    {"bearer_token_file", CFG_F_PATH, OFF(config_http_client_t, bearer_token_file), NULL, NULL,
     NULL},
    {"tls_config", CFG_F_STRUCT, OFF(config_http_client_t, tls_config), &tls_type, NULL, NULL},
    {"proxy_url", CFG_F_STR, OFF(config_http_client_t, proxy_url), NULL, NULL, NULL},
    {"no_proxy", CFG_F_STR, OFF(config_http_client_t, no_proxy), NULL, NULL, NULL},
    {"proxy_from_environment", CFG_F_BOOL, OFF(config_http_client_t, proxy_from_environment), NULL,
     NULL, NULL},
    {"proxy_connect_header", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"follow_redirects", CFG_F_BOOL, OFF(config_http_client_t, follow_redirects), NULL, NULL, NULL},
    {"enable_http2", CFG_F_BOOL, OFF(config_http_client_t, enable_http2), NULL, NULL, NULL},
    {"http_headers", CFG_F_ANY, 0, NULL, NULL, NULL},
    END};
static const cfg_type_t http_type = {"config.HTTPClientConfig", sizeof(config_http_client_t),
                                     http_fields, http_init, NULL};

/* ------------------------------------------------------------ relabel */

static const char *const action_names[] = {
    [CONFIG_RELABEL_REPLACE] = "replace",     [CONFIG_RELABEL_KEEP] = "keep",
    [CONFIG_RELABEL_DROP] = "drop",           [CONFIG_RELABEL_KEEPEQUAL] = "keepequal",
    [CONFIG_RELABEL_DROPEQUAL] = "dropequal", [CONFIG_RELABEL_HASHMOD] = "hashmod",
    [CONFIG_RELABEL_LABELMAP] = "labelmap",   [CONFIG_RELABEL_LABELDROP] = "labeldrop",
    [CONFIG_RELABEL_LABELKEEP] = "labelkeep", [CONFIG_RELABEL_LOWERCASE] = "lowercase",
    [CONFIG_RELABEL_UPPERCASE] = "uppercase",
};
#define N_ACTIONS (sizeof action_names / sizeof *action_names)

const char *config_relabel_action_name(config_relabel_action_t a) {
    return (unsigned)a < N_ACTIONS ? action_names[a] : "unknown";
}

/* relabel.Action: case-insensitive, "" is its own error. */
static int decode_action(cfg_ctx_t *ctx, const ytree_node_t *n, void *dst) {
    const char *s = "";
    int rc = cfg_scalar_string(ctx, n, &s);
    if (rc) return rc;
    if (!*s) return cfg_fail(ctx, n, "relabel action cannot be empty");
    for (size_t i = 0; i < N_ACTIONS; i++) {
        if (!strcasecmp(s, action_names[i])) {
            *(config_relabel_action_t *)dst = (config_relabel_action_t)i;
            return VG_OK;
        }
    }
    return cfg_fail(ctx, n, "unknown relabel action \"%s\"", s);
}

/* Regexes are stored as written; Prometheus anchors them as ^(?:re)$, so
 * the compile check does the same. */
static int decode_regex(cfg_ctx_t *ctx, const ytree_node_t *n, void *dst) {
    const char *s = "";
    int rc = cfg_scalar_string(ctx, n, &s);
    if (rc) return rc;
    {
        size_t len = strlen(s);
        char *anchored = vg_malloc(len + 7);
        memcpy(anchored, "^(?:", 4);
        memcpy(anchored + 4, s, len);
        memcpy(anchored + 4 + len, ")$", 3);
        int errcode = 0;
        PCRE2_SIZE erroff = 0;
        pcre2_code *code =
            pcre2_compile((PCRE2_SPTR)anchored, len + 6, PCRE2_UTF, &errcode, &erroff, NULL);
        if (!code) {
            PCRE2_UCHAR why[256];
            if (pcre2_get_error_message(errcode, why, sizeof why) < 0)
                strcpy((char *)why, "invalid pattern");
            rc = cfg_fail(ctx, n, "error parsing regexp: %s: `%s`", (const char *)why, anchored);
        } else {
            pcre2_code_free(code);
        }
        free(anchored);
        if (rc) return rc;
    }
    *(const char **)dst = s;
    return VG_OK;
}

static void relabel_init(void *obj) {
    config_relabel_t *r = obj;
    r->separator = ";";
    r->regex = "(.*)";
    r->target_label = "";
    r->replacement = "$1";
    r->action = CONFIG_RELABEL_REPLACE;
}

/* ^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$ — what a templated target_label
 * (and labelmap's replacement) must look like. */
static bool relabel_target_ok(const char *s) {
    if (!*s) return false;
    while (*s) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
            (*s >= '0' && *s <= '9')) {
            /* a digit may only follow an earlier element, never lead */
            s++;
            continue;
        }
        if (*s != '$') return false;
        s++;
        if (*s == '{') {
            s++;
            const char *w = s;
            while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
                   (*s >= '0' && *s <= '9'))
                s++;
            if (s == w || *s != '}') return false;
            s++;
        } else {
            const char *w = s;
            while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
                   (*s >= '0' && *s <= '9'))
                s++;
            if (s == w) return false;
        }
    }
    return true;
}

static bool relabel_target_valid(const char *s) {
    return (s[0] < '0' || s[0] > '9') && relabel_target_ok(s);
}

static int relabel_validate(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj) {
    config_relabel_t *c = obj;
    c->line = map->line;
    config_relabel_action_t a = c->action;
    const char *an = action_names[a];
    bool utf8 = ctx->utf8_names;
    if (a == CONFIG_RELABEL_HASHMOD && c->modulus == 0)
        return cfg_fail(ctx, map, "relabel configuration for hashmod requires non-zero modulus");
    bool needs_target = a == CONFIG_RELABEL_REPLACE || a == CONFIG_RELABEL_HASHMOD ||
                        a == CONFIG_RELABEL_LOWERCASE || a == CONFIG_RELABEL_UPPERCASE ||
                        a == CONFIG_RELABEL_KEEPEQUAL || a == CONFIG_RELABEL_DROPEQUAL;
    if (needs_target && !c->target_label[0])
        return cfg_fail(ctx, map,
                        "relabel configuration for %s action requires 'target_label' "
                        "value",
                        an);
    const ytree_node_t *tl = at_key(map, "target_label");
    if (a == CONFIG_RELABEL_REPLACE) {
        bool templ = strchr(c->target_label, '$') != NULL;
        if ((!templ && !cfg_label_name_valid(c->target_label, utf8)) ||
            (templ && !utf8 && !relabel_target_valid(c->target_label)))
            return cfg_fail(ctx, tl, "\"%s\" is invalid 'target_label' for %s action",
                            c->target_label, an);
    }
    bool eqcase = a == CONFIG_RELABEL_LOWERCASE || a == CONFIG_RELABEL_UPPERCASE ||
                  a == CONFIG_RELABEL_KEEPEQUAL || a == CONFIG_RELABEL_DROPEQUAL;
    if (eqcase && !cfg_label_name_valid(c->target_label, utf8))
        return cfg_fail(ctx, tl, "\"%s\" is invalid 'target_label' for %s action", c->target_label,
                        an);
    if (eqcase && strcmp(c->replacement, "$1"))
        return cfg_fail(ctx, at_key(map, "replacement"),
                        "'replacement' can not be set for %s action", an);
    if (a == CONFIG_RELABEL_LABELMAP && !utf8 && !relabel_target_valid(c->replacement))
        return cfg_fail(ctx, at_key(map, "replacement"),
                        "\"%s\" is invalid 'replacement' for %s action", c->replacement, an);
    if (a == CONFIG_RELABEL_HASHMOD && !cfg_label_name_valid(c->target_label, utf8))
        return cfg_fail(ctx, tl, "\"%s\" is invalid 'target_label' for %s action", c->target_label,
                        an);
    if ((a == CONFIG_RELABEL_KEEPEQUAL || a == CONFIG_RELABEL_DROPEQUAL) &&
        (strcmp(c->regex, "(.*)") || c->modulus || strcmp(c->separator, ";") ||
         strcmp(c->replacement, "$1")))
        return cfg_fail(ctx, map,
                        "%s action requires only 'source_labels' and `target_label`, and no "
                        "other fields",
                        an);
    if ((a == CONFIG_RELABEL_LABELDROP || a == CONFIG_RELABEL_LABELKEEP) &&
        (ytree_map_get(map, "source_labels") || c->target_label[0] || c->modulus ||
         strcmp(c->separator, ";") || strcmp(c->replacement, "$1")))
        return cfg_fail(ctx, map, "%s action requires only 'regex', and no other fields", an);
    for (size_t i = 0; i < c->n_source_labels; i++) {
        if (!cfg_label_name_valid(c->source_labels[i], utf8)) {
            const ytree_node_t *sl = ytree_map_get(map, "source_labels");
            return cfg_fail(ctx, sl && sl->kind == YTREE_NODE_SEQ ? sl->kids[i] : map,
                            "\"%s\" is not a valid label name", c->source_labels[i]);
        }
    }
    return VG_OK;
}

static const cfg_field_t relabel_fields[] = {
    {"source_labels", CFG_F_STRLIST, OFF(config_relabel_t, source_labels), NULL, NULL, NULL},
    {"separator", CFG_F_STR, OFF(config_relabel_t, separator), NULL, NULL, NULL},
    {"regex", CFG_F_CUSTOM, OFF(config_relabel_t, regex), NULL, decode_regex, NULL},
    {"modulus", CFG_F_UINT, OFF(config_relabel_t, modulus), NULL, NULL, NULL},
    {"target_label", CFG_F_STR, OFF(config_relabel_t, target_label), NULL, NULL, NULL},
    {"replacement", CFG_F_STR, OFF(config_relabel_t, replacement), NULL, NULL, NULL},
    {"action", CFG_F_CUSTOM, OFF(config_relabel_t, action), NULL, decode_action, NULL},
    END};
static const cfg_type_t relabel_type = {"relabel.Config", sizeof(config_relabel_t), relabel_fields,
                                        relabel_init, relabel_validate};

/* ------------------------------------------------------------ discovery */

static int static_validate(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj) {
    (void)ctx;
    (void)map;
    (void)obj;
    return VG_OK;
}
static const cfg_field_t static_fields[] = {
    {"targets", CFG_F_STRLIST, OFF(config_static_t, targets), NULL, NULL, NULL},
    {"labels", CFG_F_LABELS, OFF(config_static_t, labels), NULL, NULL, NULL},
    END};
static const cfg_type_t static_type = {"targetgroup.Group", sizeof(config_static_t), static_fields,
                                       NULL, static_validate};

/* file_sd: ^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$ */
static bool file_sd_name_ok(const char *s) {
    const char *star = strchr(s, '*');
    if (star && (strchr(star + 1, '*') || strchr(star, '/'))) return false;
    const char *dot = strrchr(s, '.');
    if (!dot) return false;
    static const char *const exts[] = {"json", "yml", "yaml", "JSON", "YML", "YAML"};
    return str_in(dot + 1, exts, 6);
}

static void file_sd_init(void *obj) { ((config_file_sd_t *)obj)->refresh_interval_ms = 300000; }
static int file_sd_validate(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj) {
    config_file_sd_t *f = obj;
    if (f->n_files == 0)
        return cfg_fail(ctx, map,
                        "file service discovery config must contain at least one path name");
    const ytree_node_t *files = ytree_map_get(map, "files");
    for (size_t i = 0; i < f->n_files; i++) {
        const ytree_node_t *at = files && files->kind == YTREE_NODE_SEQ ? files->kids[i] : map;
        if (!file_sd_name_ok(at->kind == YTREE_NODE_SCALAR ? at->str : f->files[i]))
            return cfg_fail(ctx, at, "path name \"%s\" is not valid for file discovery",
                            at->kind == YTREE_NODE_SCALAR ? at->str : f->files[i]);
    }
    return VG_OK;
}
static const cfg_field_t file_sd_fields[] = {
    {"files", CFG_F_PATHLIST, OFF(config_file_sd_t, files), NULL, NULL, NULL},
    {"refresh_interval", CFG_F_DUR, OFF(config_file_sd_t, refresh_interval_ms), NULL, NULL, NULL},
    END};
static const cfg_type_t file_sd_type = {"file.SDConfig", sizeof(config_file_sd_t), file_sd_fields,
                                        file_sd_init, file_sd_validate};

static void http_sd_init(void *obj) {
    config_http_sd_t *h = obj;
    h->url = "";
    h->refresh_interval_ms = 60000;
}
static int http_sd_validate(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj) {
    config_http_sd_t *h = obj;
    const ytree_node_t *at = at_key(map, "url");
    if (at != map) at = ytree_map_get(map, "url");
    if (!h->url[0]) return cfg_fail(ctx, at, "URL is missing");
    const char *colon = strstr(h->url, "://");
    if (!colon || !((colon - h->url == 4 && !strncasecmp(h->url, "http", 4)) ||
                    (colon - h->url == 5 && !strncasecmp(h->url, "https", 5))))
        return cfg_fail(ctx, at, "URL scheme must be 'http' or 'https'");
    const char *host = colon + 3;
    if (!*host || *host == '/' || *host == '?' || *host == '#')
        return cfg_fail(ctx, at, "host is missing in URL");
    return http_validate(ctx, map, &h->http);
}
static const cfg_field_t http_sd_fields[] = {
    {"url", CFG_F_STR, OFF(config_http_sd_t, url), NULL, NULL, NULL},
    {"refresh_interval", CFG_F_DUR, OFF(config_http_sd_t, refresh_interval_ms), NULL, NULL, NULL},
    {"", CFG_F_INLINE, OFF(config_http_sd_t, http), &http_type, NULL, NULL},
    END};
static const cfg_type_t http_sd_type = {"http.SDConfig", sizeof(config_http_sd_t), http_sd_fields,
                                        http_sd_init, http_sd_validate};

/* Rejects static targets that look like URLs (Prometheus's check, made
 * only when the job has no relabel_configs that could fix them). */
static int check_static_targets(cfg_ctx_t *ctx, const ytree_node_t *map, const config_static_t *sc,
                                size_t n_sc) {
    const ytree_node_t *seq = ytree_map_get(map, "static_configs");
    for (size_t i = 0; i < n_sc; i++) {
        for (size_t j = 0; j < sc[i].n_targets; j++) {
            if (!strchr(sc[i].targets[j], '/')) continue;
            const ytree_node_t *at = map;
            if (seq && seq->kind == YTREE_NODE_SEQ && i < seq->n) {
                const ytree_node_t *t = ytree_map_get(seq->kids[i], "targets");
                at = t && t->kind == YTREE_NODE_SEQ && j < t->n ? t->kids[j] : seq->kids[i];
            }
            return cfg_fail(ctx, at, "\"%s\" is not a valid hostname", sc[i].targets[j]);
        }
    }
    return VG_OK;
}

/* Warns once per unreachable mechanism used in this map. */
static void warn_unreachable(cfg_ctx_t *ctx, const ytree_node_t *map, const char *who) {
    for (size_t i = 0; i < map->n; i++) {
        const ytree_node_t *k = map->kids[2 * i], *v = map->kids[2 * i + 1];
        if (k->kind != YTREE_NODE_SCALAR || !str_in(k->str, unreachable_sd, N_UNREACHABLE_SD))
            continue;
        if (v->kind == YTREE_NODE_SEQ && v->n > 0)
            cfg_warn(ctx, "%s: %s cannot be reached here; the job gets no targets from it", who,
                     k->str);
    }
}

#define SD_FIELDS(type)                                                                            \
    {"static_configs", CFG_F_LIST, OFF(type, static_configs),                                      \
     &static_type,     NULL,       "empty or null section in static_configs"},                     \
        {"file_sd_configs", CFG_F_LIST, OFF(type, file_sd_configs),                                \
         &file_sd_type,     NULL,       "empty or null section in file_sd_configs"},               \
        {"http_sd_configs", CFG_F_LIST, OFF(type, http_sd_configs),                                \
         &http_sd_type,     NULL,       "empty or null section in http_sd_configs"},               \
        {"azure_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},             \
        {"consul_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},            \
        {"digitalocean_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},      \
        {"docker_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},            \
        {"dockerswarm_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},       \
        {"dns_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},               \
        {"ec2_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},               \
        {"eureka_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},            \
        {"gce_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},               \
        {"hetzner_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},           \
        {"ionos_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},             \
        {"kubernetes_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},        \
        {"kuma_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},              \
        {"lightsail_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},         \
        {"linode_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},            \
        {"marathon_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},          \
        {"nerve_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},             \
        {"nomad_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},             \
        {"openstack_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},         \
        {"ovhcloud_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},          \
        {"puppetdb_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},          \
        {"scaleway_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},          \
        {"serverset_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},         \
        {"stackit_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},           \
        {"triton_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL},            \
        {"uyuni_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL}, {           \
        "vultr_sd_configs", CFG_F_SD, OFF(type, n_unreachable_sd), NULL, NULL, NULL                \
    }

/* ------------------------------------------------------------ scrape */

static void scrape_init(void *obj) {
    config_scrape_t *s = obj;
    s->job_name = "";
    s->metrics_path = "/metrics";
    s->scheme = "http";
    s->honor_timestamps = true;
    s->enable_compression = true;
    s->fallback_scrape_protocol = "";
    s->scrape_failure_log_file = "";
}

static const char *const scrape_protocol_names[] = {"PrometheusProto", "PrometheusText0.0.4",
                                                    "PrometheusText1.0.0", "OpenMetricsText0.0.1",
                                                    "OpenMetricsText1.0.0"};

static int check_protocols(cfg_ctx_t *ctx, const ytree_node_t *at, const char **p, size_t n,
                           const char *suffix) {
    if (at && n == 0) return cfg_fail(ctx, at, "scrape_protocols cannot be empty%s", suffix);
    for (size_t i = 0; i < n; i++) {
        if (!str_in(p[i], scrape_protocol_names, 5))
            return cfg_fail(ctx, at,
                            "scrape_protocols: unknown scrape protocol %s, supported: "
                            "[OpenMetricsText0.0.1 OpenMetricsText1.0.0 PrometheusProto "
                            "PrometheusText0.0.4 PrometheusText1.0.0]%s",
                            p[i], suffix);
        for (size_t j = 0; j < i; j++)
            if (!strcasecmp(p[i], p[j]))
                return cfg_fail(ctx, at, "duplicated protocol in scrape_protocols%s", suffix);
    }
    return VG_OK;
}

static int scrape_validate(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj) {
    config_scrape_t *s = obj;
    s->line = map->line;
    if (!s->job_name[0]) return cfg_fail(ctx, map, "job_name is empty");
    if (strcmp(s->scheme, "http") && strcmp(s->scheme, "https"))
        return cfg_fail(ctx, ytree_map_get(map, "scheme"),
                        "scheme \"%s\" is not supported, use http or https", s->scheme);
    int rc = http_validate(ctx, map, &s->http);
    if (rc) return rc;
    if (s->n_relabel_configs == 0 &&
        (rc = check_static_targets(ctx, map, s->static_configs, s->n_static_configs)))
        return rc;
    if (ytree_map_get(map, "scrape_protocols")) {
        char suffix[VG_ERR_MSG_MAX / 2];
        snprintf(suffix, sizeof suffix, " for scrape config with job name \"%s\"", s->job_name);
        rc = check_protocols(ctx, ytree_map_get(map, "scrape_protocols"), s->scrape_protocols,
                             s->n_scrape_protocols, suffix);
        if (rc) return rc;
    }
    if (s->fallback_scrape_protocol[0] &&
        !str_in(s->fallback_scrape_protocol, scrape_protocol_names, 5))
        return cfg_fail(ctx, ytree_map_get(map, "fallback_scrape_protocol"),
                        "invalid fallback_scrape_protocol for scrape config with job name "
                        "\"%s\": unknown scrape protocol %s",
                        s->job_name, s->fallback_scrape_protocol);
    char who[VG_ERR_MSG_MAX / 2];
    snprintf(who, sizeof who, "job \"%s\"", s->job_name);
    warn_unreachable(ctx, map, who);
    return VG_OK;
}

static const cfg_field_t scrape_fields[] = {
    {"job_name", CFG_F_STR, OFF(config_scrape_t, job_name), NULL, NULL, NULL},
    {"honor_labels", CFG_F_BOOL, OFF(config_scrape_t, honor_labels), NULL, NULL, NULL},
    {"honor_timestamps", CFG_F_BOOL, OFF(config_scrape_t, honor_timestamps), NULL, NULL, NULL},
    {"track_timestamps_staleness", CFG_F_BOOL, OFF(config_scrape_t, track_timestamps_staleness),
     NULL, NULL, NULL},
    {"params", CFG_F_PARAMS, OFF(config_scrape_t, params), NULL, NULL, NULL},
    {"scrape_interval", CFG_F_DUR, OFF(config_scrape_t, scrape_interval_ms), NULL, NULL, NULL},
    {"scrape_timeout", CFG_F_DUR, OFF(config_scrape_t, scrape_timeout_ms), NULL, NULL, NULL},
    {"scrape_protocols", CFG_F_STRLIST, OFF(config_scrape_t, scrape_protocols), NULL, NULL, NULL},
    {"fallback_scrape_protocol", CFG_F_STR, OFF(config_scrape_t, fallback_scrape_protocol), NULL,
     NULL, NULL},
    {"scrape_failure_log_file", CFG_F_PATH, OFF(config_scrape_t, scrape_failure_log_file), NULL,
     NULL, NULL},
    {"metrics_path", CFG_F_STR, OFF(config_scrape_t, metrics_path), NULL, NULL, NULL},
    {"scheme", CFG_F_STR, OFF(config_scrape_t, scheme), NULL, NULL, NULL},
    {"enable_compression", CFG_F_BOOL, OFF(config_scrape_t, enable_compression), NULL, NULL, NULL},
    {"body_size_limit", CFG_F_SIZE, OFF(config_scrape_t, body_size_limit), NULL, NULL, NULL},
    {"sample_limit", CFG_F_UINT, OFF(config_scrape_t, sample_limit), NULL, NULL, NULL},
    {"target_limit", CFG_F_UINT, OFF(config_scrape_t, target_limit), NULL, NULL, NULL},
    {"label_limit", CFG_F_UINT, OFF(config_scrape_t, label_limit), NULL, NULL, NULL},
    {"label_name_length_limit", CFG_F_UINT, OFF(config_scrape_t, label_name_length_limit), NULL,
     NULL, NULL},
    {"label_value_length_limit", CFG_F_UINT, OFF(config_scrape_t, label_value_length_limit), NULL,
     NULL, NULL},
    {"keep_dropped_targets", CFG_F_UINT, OFF(config_scrape_t, keep_dropped_targets), NULL, NULL,
     NULL},
    {"native_histogram_bucket_limit", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"native_histogram_min_bucket_factor", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"scrape_classic_histograms", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"scrape_native_histograms", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"always_scrape_classic_histograms", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"convert_classic_histograms_to_nhcb", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"metric_name_validation_scheme", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"metric_name_escaping_scheme", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"extra_scrape_metrics", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"relabel_configs", CFG_F_LIST, OFF(config_scrape_t, relabel_configs), &relabel_type, NULL,
     "empty or null target relabeling rule in scrape config"},
    {"metric_relabel_configs", CFG_F_LIST, OFF(config_scrape_t, metric_relabel_configs),
     &relabel_type, NULL, "empty or null metric relabeling rule in scrape config"},
    {"", CFG_F_INLINE, OFF(config_scrape_t, http), &http_type, NULL, NULL},
    SD_FIELDS(config_scrape_t),
    END};
static const cfg_type_t scrape_type = {"config.ScrapeConfig", sizeof(config_scrape_t),
                                       scrape_fields, scrape_init, scrape_validate};

/* ------------------------------------------------------------ global */

static void global_init(void *obj) {
    config_global_t *g = obj;
    g->query_log_file = g->scrape_failure_log_file = "";
    g->metric_name_validation_scheme = "";
}

static int global_validate(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj) {
    config_global_t *g = obj;
    /* Defaults are applied here, as Prometheus's GlobalConfig.UnmarshalYAML
     * does, so "scrape_interval: 0s" means the default. */
    if (g->scrape_interval_ms == 0) g->scrape_interval_ms = 60000;
    if (g->scrape_timeout_ms > g->scrape_interval_ms)
        return cfg_fail(ctx, at_key(map, "scrape_timeout"),
                        "global scrape timeout greater than scrape interval");
    if (g->scrape_timeout_ms == 0)
        g->scrape_timeout_ms = g->scrape_interval_ms < 10000 ? g->scrape_interval_ms : 10000;
    if (g->evaluation_interval_ms == 0) g->evaluation_interval_ms = 60000;
    if (ytree_map_get(map, "scrape_protocols"))
        return check_protocols(ctx, ytree_map_get(map, "scrape_protocols"), g->scrape_protocols,
                               g->n_scrape_protocols, " for global config");
    return VG_OK;
}

static int decode_validation_scheme(cfg_ctx_t *ctx, const ytree_node_t *n, void *dst) {
    const char *s = "";
    int rc = cfg_scalar_string(ctx, n, &s);
    if (rc) return rc;
    if (*s && strcmp(s, "legacy") && strcmp(s, "utf8"))
        return cfg_fail(ctx, n, "unknown metric name validation scheme \"%s\"", s);
    *(const char **)dst = s;
    return VG_OK;
}

static const cfg_field_t global_fields[] = {
    {"scrape_interval", CFG_F_DUR, OFF(config_global_t, scrape_interval_ms), NULL, NULL, NULL},
    {"scrape_timeout", CFG_F_DUR, OFF(config_global_t, scrape_timeout_ms), NULL, NULL, NULL},
    {"scrape_protocols", CFG_F_STRLIST, OFF(config_global_t, scrape_protocols), NULL, NULL, NULL},
    {"evaluation_interval", CFG_F_DUR, OFF(config_global_t, evaluation_interval_ms), NULL, NULL,
     NULL},
    {"rule_query_offset", CFG_F_DUR, OFF(config_global_t, rule_query_offset_ms), NULL, NULL, NULL},
    {"query_log_file", CFG_F_PATH, OFF(config_global_t, query_log_file), NULL, NULL, NULL},
    {"scrape_failure_log_file", CFG_F_PATH, OFF(config_global_t, scrape_failure_log_file), NULL,
     NULL, NULL},
    {"external_labels", CFG_F_LABELS, OFF(config_global_t, external_labels), NULL, NULL, NULL},
    {"body_size_limit", CFG_F_SIZE, OFF(config_global_t, body_size_limit), NULL, NULL, NULL},
    {"sample_limit", CFG_F_UINT, OFF(config_global_t, sample_limit), NULL, NULL, NULL},
    {"target_limit", CFG_F_UINT, OFF(config_global_t, target_limit), NULL, NULL, NULL},
    {"label_limit", CFG_F_UINT, OFF(config_global_t, label_limit), NULL, NULL, NULL},
    {"label_name_length_limit", CFG_F_UINT, OFF(config_global_t, label_name_length_limit), NULL,
     NULL, NULL},
    {"label_value_length_limit", CFG_F_UINT, OFF(config_global_t, label_value_length_limit), NULL,
     NULL, NULL},
    {"keep_dropped_targets", CFG_F_UINT, OFF(config_global_t, keep_dropped_targets), NULL, NULL,
     NULL},
    {"metric_name_validation_scheme", CFG_F_CUSTOM,
     OFF(config_global_t, metric_name_validation_scheme), NULL, decode_validation_scheme, NULL},
    {"metric_name_escaping_scheme", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"scrape_native_histograms", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"convert_classic_histograms_to_nhcb", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"always_scrape_classic_histograms", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"extra_scrape_metrics", CFG_F_ANY, 0, NULL, NULL, NULL},
    END};
static const cfg_type_t global_type = {"config.GlobalConfig", sizeof(config_global_t),
                                       global_fields, global_init, global_validate};

/* ------------------------------------------------------------ alerting */

static void am_init(void *obj) {
    config_alertmanager_t *a = obj;
    a->scheme = "http";
    a->path_prefix = "";
    a->timeout_ms = 10000;
    a->api_version = "v2";
}

static int am_validate(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj) {
    config_alertmanager_t *a = obj;
    /* Prometheus 2.42 takes v1 and v2; vigil (like 3.x) speaks v2 only. */
    if (strcmp(a->api_version, "v2"))
        return cfg_fail(ctx, ytree_map_get(map, "api_version"),
                        "expected Alertmanager api version to be one of [v2] but got %s",
                        a->api_version);
    if (strcmp(a->scheme, "http") && strcmp(a->scheme, "https"))
        return cfg_fail(ctx, ytree_map_get(map, "scheme"),
                        "scheme \"%s\" is not supported, use http or https", a->scheme);
    int rc = http_validate(ctx, map, &a->http);
    if (rc) return rc;
    if (ytree_map_get(map, "sigv4") &&
        (a->http.basic_auth || a->http.authorization || a->http.oauth2))
        return cfg_fail(ctx, map,
                        "at most one of basic_auth, authorization, oauth2, & sigv4 "
                        "must be configured");
    if (a->n_relabel_configs == 0 &&
        (rc = check_static_targets(ctx, map, a->static_configs, a->n_static_configs)))
        return rc;
    char who[64];
    snprintf(who, sizeof who, "alertmanager at line %u", map->line);
    warn_unreachable(ctx, map, who);
    return VG_OK;
}

static const cfg_field_t am_fields[] = {
    {"scheme", CFG_F_STR, OFF(config_alertmanager_t, scheme), NULL, NULL, NULL},
    {"path_prefix", CFG_F_STR, OFF(config_alertmanager_t, path_prefix), NULL, NULL, NULL},
    {"timeout", CFG_F_DUR, OFF(config_alertmanager_t, timeout_ms), NULL, NULL, NULL},
    {"api_version", CFG_F_STR, OFF(config_alertmanager_t, api_version), NULL, NULL, NULL},
    {"sigv4", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"relabel_configs", CFG_F_LIST, OFF(config_alertmanager_t, relabel_configs), &relabel_type,
     NULL, "empty or null Alertmanager target relabeling rule"},
    {"alert_relabel_configs", CFG_F_LIST, OFF(config_alertmanager_t, alert_relabel_configs),
     &relabel_type, NULL, "empty or null Alertmanager alert relabeling rule"},
    {"", CFG_F_INLINE, OFF(config_alertmanager_t, http), &http_type, NULL, NULL},
    SD_FIELDS(config_alertmanager_t),
    END};
static const cfg_type_t am_type = {"config.AlertmanagerConfig", sizeof(config_alertmanager_t),
                                   am_fields, am_init, am_validate};

static const cfg_field_t alerting_fields[] = {
    {"alert_relabel_configs", CFG_F_LIST, OFF(config_alerting_t, alert_relabel_configs),
     &relabel_type, NULL, "empty or null alert relabeling rule"},
    {"alertmanagers", CFG_F_LIST, OFF(config_alerting_t, alertmanagers), &am_type, NULL,
     "empty or null alertmanager config"},
    END};
static const cfg_type_t alerting_type = {"config.AlertingConfig", sizeof(config_alerting_t),
                                         alerting_fields, NULL, NULL};

/* ------------------------------------------------------------ remote */

static const char *const reserved_headers[] = {"host",
                                               "content-encoding",
                                               "content-length",
                                               "content-type",
                                               "user-agent",
                                               "connection",
                                               "keep-alive",
                                               "proxy-authenticate",
                                               "proxy-authorization",
                                               "www-authenticate",
                                               "accept-encoding",
                                               "x-prometheus-remote-write-version",
                                               "x-prometheus-remote-read-version",
                                               "x-amz-date",
                                               "x-amz-security-token",
                                               "x-amz-content-sha256"};

static int check_headers(cfg_ctx_t *ctx, const ytree_node_t *map, const config_pair_t *h,
                         size_t n) {
    const ytree_node_t *at = at_key(map, "headers");
    for (size_t i = 0; i < n; i++) {
        if (!strcasecmp(h[i].name, "authorization"))
            return cfg_fail(ctx, at,
                            "authorization header must be changed via the basic_auth, "
                            "authorization, oauth2, or sigv4 parameter");
        for (size_t k = 0; k < sizeof reserved_headers / sizeof *reserved_headers; k++)
            if (!strcasecmp(h[i].name, reserved_headers[k]))
                return cfg_fail(ctx, at, "%s is a reserved header. It must not be changed",
                                h[i].name);
    }
    return VG_OK;
}

static void queue_init(void *obj) {
    config_queue_t *q = obj;
    q->capacity = 10000;
    q->max_shards = 50;
    q->min_shards = 1;
    q->max_samples_per_send = 2000;
    q->batch_send_deadline_ms = 5000;
    q->min_backoff_ms = 30;
    q->max_backoff_ms = 5000;
}
static const cfg_field_t queue_fields[] = {
    {"capacity", CFG_F_INT, OFF(config_queue_t, capacity), NULL, NULL, NULL},
    {"max_shards", CFG_F_INT, OFF(config_queue_t, max_shards), NULL, NULL, NULL},
    {"min_shards", CFG_F_INT, OFF(config_queue_t, min_shards), NULL, NULL, NULL},
    {"max_samples_per_send", CFG_F_INT, OFF(config_queue_t, max_samples_per_send), NULL, NULL,
     NULL},
    {"batch_send_deadline", CFG_F_DUR, OFF(config_queue_t, batch_send_deadline_ms), NULL, NULL,
     NULL},
    {"min_backoff", CFG_F_DUR, OFF(config_queue_t, min_backoff_ms), NULL, NULL, NULL},
    {"max_backoff", CFG_F_DUR, OFF(config_queue_t, max_backoff_ms), NULL, NULL, NULL},
    {"retry_on_http_429", CFG_F_BOOL, OFF(config_queue_t, retry_on_http_429), NULL, NULL, NULL},
    {"sample_age_limit", CFG_F_DUR, OFF(config_queue_t, sample_age_limit_ms), NULL, NULL, NULL},
    END};
static const cfg_type_t queue_type = {"config.QueueConfig", sizeof(config_queue_t), queue_fields,
                                      queue_init, NULL};

static void metadata_init(void *obj) {
    config_metadata_t *m = obj;
    m->send = true;
    m->send_interval_ms = 60000;
    m->max_samples_per_send = 2000;
}
static const cfg_field_t metadata_fields[] = {
    {"send", CFG_F_BOOL, OFF(config_metadata_t, send), NULL, NULL, NULL},
    {"send_interval", CFG_F_DUR, OFF(config_metadata_t, send_interval_ms), NULL, NULL, NULL},
    {"max_samples_per_send", CFG_F_INT, OFF(config_metadata_t, max_samples_per_send), NULL, NULL,
     NULL},
    END};
static const cfg_type_t metadata_type = {"config.MetadataConfig", sizeof(config_metadata_t),
                                         metadata_fields, metadata_init, NULL};

static void rw_init(void *obj) {
    config_remote_write_t *r = obj;
    r->url = r->name = "";
    r->remote_timeout_ms = 30000;
    r->protobuf_message = "prometheus.WriteRequest";
    r->http.enable_http2 = false; /* DefaultRemoteWriteHTTPClientConfig */
}

static int rw_validate(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj) {
    config_remote_write_t *r = obj;
    if (!r->url[0]) return cfg_fail(ctx, map, "url for remote_write is empty");
    int rc = check_headers(ctx, map, r->headers, r->n_headers);
    if (rc) return rc;
    if (strcmp(r->protobuf_message, "prometheus.WriteRequest") &&
        strcmp(r->protobuf_message, "io.prometheus.write.v2.Request"))
        return cfg_fail(ctx, ytree_map_get(map, "protobuf_message"),
                        "invalid protobuf_message value: unknown remote write protobuf message "
                        "%s",
                        r->protobuf_message);
    if ((rc = http_validate(ctx, map, &r->http))) return rc;
    int n_auth = !!r->http.basic_auth + !!r->http.authorization + !!r->http.oauth2 +
                 !!ytree_map_get(map, "sigv4") + !!ytree_map_get(map, "azuread") +
                 !!ytree_map_get(map, "google_iam");
    if (n_auth > 1)
        return cfg_fail(ctx, map,
                        "at most one of basic_auth, authorization, oauth2, sigv4, "
                        "azuread or google_iam must be configured");
    return VG_OK;
}

static const cfg_field_t rw_fields[] = {
    {"url", CFG_F_STR, OFF(config_remote_write_t, url), NULL, NULL, NULL},
    {"remote_timeout", CFG_F_DUR, OFF(config_remote_write_t, remote_timeout_ms), NULL, NULL, NULL},
    {"headers", CFG_F_PAIRS, OFF(config_remote_write_t, headers), NULL, NULL, NULL},
    {"write_relabel_configs", CFG_F_LIST, OFF(config_remote_write_t, write_relabel_configs),
     &relabel_type, NULL, "empty or null relabeling rule in remote write config"},
    {"name", CFG_F_STR, OFF(config_remote_write_t, name), NULL, NULL, NULL},
    {"send_exemplars", CFG_F_BOOL, OFF(config_remote_write_t, send_exemplars), NULL, NULL, NULL},
    {"send_native_histograms", CFG_F_BOOL, OFF(config_remote_write_t, send_native_histograms), NULL,
     NULL, NULL},
    {"round_robin_dns", CFG_F_BOOL, OFF(config_remote_write_t, round_robin_dns), NULL, NULL, NULL},
    {"protobuf_message", CFG_F_STR, OFF(config_remote_write_t, protobuf_message), NULL, NULL, NULL},
    {"queue_config", CFG_F_STRUCT, OFF(config_remote_write_t, queue_config), &queue_type, NULL,
     NULL},
    {"metadata_config", CFG_F_STRUCT, OFF(config_remote_write_t, metadata_config), &metadata_type,
     NULL, NULL},
    {"sigv4", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"azuread", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"google_iam", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"", CFG_F_INLINE, OFF(config_remote_write_t, http), &http_type, NULL, NULL},
    END};
static const cfg_type_t rw_type = {"config.RemoteWriteConfig", sizeof(config_remote_write_t),
                                   rw_fields, rw_init, rw_validate};

static void rr_init(void *obj) {
    config_remote_read_t *r = obj;
    r->url = r->name = "";
    r->remote_timeout_ms = 60000;
    r->chunked_read_limit = 50000000;
    r->filter_external_labels = true;
}
static int rr_validate(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj) {
    config_remote_read_t *r = obj;
    if (!r->url[0]) return cfg_fail(ctx, map, "url for remote_read is empty");
    int rc = check_headers(ctx, map, r->headers, r->n_headers);
    if (rc) return rc;
    return http_validate(ctx, map, &r->http);
}
static const cfg_field_t rr_fields[] = {
    {"url", CFG_F_STR, OFF(config_remote_read_t, url), NULL, NULL, NULL},
    {"remote_timeout", CFG_F_DUR, OFF(config_remote_read_t, remote_timeout_ms), NULL, NULL, NULL},
    {"chunked_read_limit", CFG_F_UINT, OFF(config_remote_read_t, chunked_read_limit), NULL, NULL,
     NULL},
    {"headers", CFG_F_PAIRS, OFF(config_remote_read_t, headers), NULL, NULL, NULL},
    {"read_recent", CFG_F_BOOL, OFF(config_remote_read_t, read_recent), NULL, NULL, NULL},
    {"name", CFG_F_STR, OFF(config_remote_read_t, name), NULL, NULL, NULL},
    {"required_matchers", CFG_F_LABELS, OFF(config_remote_read_t, required_matchers), NULL, NULL,
     NULL},
    {"filter_external_labels", CFG_F_BOOL, OFF(config_remote_read_t, filter_external_labels), NULL,
     NULL, NULL},
    {"", CFG_F_INLINE, OFF(config_remote_read_t, http), &http_type, NULL, NULL},
    END};
static const cfg_type_t rr_type = {"config.RemoteReadConfig", sizeof(config_remote_read_t),
                                   rr_fields, rr_init, rr_validate};

/* ------------------------------------------------------------ storage, tracing */

static const cfg_field_t retention_fields[] = {
    {"time", CFG_F_DUR, OFF(config_storage_t, retention_time_ms), NULL, NULL, NULL},
    {"size", CFG_F_SIZE, OFF(config_storage_t, retention_size), NULL, NULL, NULL},
    END};
/* The nested storage structs decode straight into config_storage_t: their
 * offsets are relative to it, and the parent fields use offset 0. */
static const cfg_type_t retention_type = {"config.TSDBRetentionConfig", 0, retention_fields, NULL,
                                          NULL};
static const cfg_field_t tsdb_fields[] = {
    {"out_of_order_time_window", CFG_F_DUR, OFF(config_storage_t, out_of_order_time_window_ms),
     NULL, NULL, NULL},
    {"retention", CFG_F_STRUCT, 0, &retention_type, NULL, NULL},
    END};
static const cfg_type_t tsdb_type = {"config.TSDBConfig", 0, tsdb_fields, NULL, NULL};
static const cfg_field_t exemplars_fields[] = {
    {"max_exemplars", CFG_F_INT, OFF(config_storage_t, max_exemplars), NULL, NULL, NULL}, END};
static const cfg_type_t exemplars_type = {"config.ExemplarsConfig", 0, exemplars_fields, NULL,
                                          NULL};
static void storage_init(void *obj) { ((config_storage_t *)obj)->max_exemplars = 100000; }
static const cfg_field_t storage_fields[] = {
    {"tsdb", CFG_F_STRUCT, 0, &tsdb_type, NULL, NULL},
    {"exemplars", CFG_F_STRUCT, 0, &exemplars_type, NULL, NULL},
    END};
static const cfg_type_t storage_type = {"config.StorageConfig", sizeof(config_storage_t),
                                        storage_fields, storage_init, NULL};

static void tracing_init(void *obj) {
    config_tracing_t *t = obj;
    t->client_type = "grpc";
    t->endpoint = t->compression = "";
}
static int tracing_validate(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj) {
    config_tracing_t *t = obj;
    t->present = true;
    if (strcmp(t->client_type, "http") && strcmp(t->client_type, "grpc"))
        return cfg_fail(ctx, ytree_map_get(map, "client_type"),
                        "expected tracing client type to be to be http or grpc, but got %s",
                        t->client_type);
    for (size_t i = 0; i < t->n_headers; i++) {
        if (!strcasecmp(t->headers[i].name, "authorization"))
            return cfg_fail(ctx, at_key(map, "headers"),
                            "custom authorization header configuration is not yet supported");
    }
    if (!t->endpoint[0]) return cfg_fail(ctx, map, "tracing endpoint must be set");
    if (t->compression[0] && strcmp(t->compression, "gzip"))
        return cfg_fail(ctx, ytree_map_get(map, "compression"),
                        "invalid compression type %s provided, valid options: gzip",
                        t->compression);
    return VG_OK;
}
static const cfg_field_t tracing_fields[] = {
    {"client_type", CFG_F_STR, OFF(config_tracing_t, client_type), NULL, NULL, NULL},
    {"endpoint", CFG_F_STR, OFF(config_tracing_t, endpoint), NULL, NULL, NULL},
    {"sampling_fraction", CFG_F_FLOAT, OFF(config_tracing_t, sampling_fraction), NULL, NULL, NULL},
    {"insecure", CFG_F_BOOL, OFF(config_tracing_t, insecure), NULL, NULL, NULL},
    {"tls_config", CFG_F_STRUCT, OFF(config_tracing_t, tls_config), &tls_type, NULL, NULL},
    {"headers", CFG_F_PAIRS, OFF(config_tracing_t, headers), NULL, NULL, NULL},
    {"compression", CFG_F_STR, OFF(config_tracing_t, compression), NULL, NULL, NULL},
    {"timeout", CFG_F_DUR, OFF(config_tracing_t, timeout_ms), NULL, NULL, NULL},
    END};
static const cfg_type_t tracing_type = {"config.TracingConfig", sizeof(config_tracing_t),
                                        tracing_fields, tracing_init, tracing_validate};

/* ------------------------------------------------------------ vigil */

static void host_init(void *obj) { ((config_vigil_host_t *)obj)->enabled = true; }
static const cfg_field_t host_fields[] = {
    {"enabled", CFG_F_BOOL, OFF(config_vigil_host_t, enabled), NULL, NULL, NULL},
    {"collectors", CFG_F_SWITCHES, OFF(config_vigil_host_t, collectors), NULL, NULL, NULL},
    END};
static const cfg_type_t host_type = {"vigil.HostConfig", sizeof(config_vigil_host_t), host_fields,
                                     host_init, NULL};
static int vigil_validate(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj) {
    (void)ctx;
    (void)map;
    ((config_vigil_t *)obj)->present = true;
    return VG_OK;
}
static const cfg_field_t vigil_fields[] = {
    {"host", CFG_F_STRUCT, OFF(config_vigil_t, host), &host_type, NULL, NULL}, END};
static const cfg_type_t vigil_type = {"vigil.Config", sizeof(config_vigil_t), vigil_fields, NULL,
                                      vigil_validate};

/* ------------------------------------------------------------ top level */

/* ^[^*]*(\*[^/]*)?$ */
static bool rule_path_ok(const char *s) {
    const char *star = strchr(s, '*');
    return !star || (!strchr(star + 1, '*') && !strchr(star, '/'));
}

/* Orders jobs by name, ties by position in the file. */
static int job_ptr_cmp(const void *a, const void *b) {
    const config_scrape_t *x = *(const config_scrape_t *const *)a;
    const config_scrape_t *y = *(const config_scrape_t *const *)b;
    int c = strcmp(x->job_name, y->job_name);
    if (c) return c;
    return x < y ? -1 : x > y;
}

static void global_defaults(config_global_t *g) {
    if (g->scrape_interval_ms == 0) g->scrape_interval_ms = 60000;
    if (g->scrape_timeout_ms == 0)
        g->scrape_timeout_ms = g->scrape_interval_ms < 10000 ? g->scrape_interval_ms : 10000;
    if (g->evaluation_interval_ms == 0) g->evaluation_interval_ms = 60000;
}

/* Second pass, after the whole file is read (global may come last): job
 * defaults from global, timeouts, unique names, rule file globs. */
static int config_validate(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj) {
    config_t *c = obj;
    /* No global: section at all: its validation never ran. */
    global_defaults(&c->global);
    const config_global_t *g = &c->global;
    const ytree_node_t *jobs = ytree_map_get(map, "scrape_configs");
    for (size_t i = 0; i < c->n_scrape_configs; i++) {
        config_scrape_t *s = &c->scrape_configs[i];
        const ytree_node_t *jm = jobs && jobs->kind == YTREE_NODE_SEQ ? jobs->kids[i] : map;
        if (s->scrape_interval_ms == 0) s->scrape_interval_ms = g->scrape_interval_ms;
        if (s->scrape_timeout_ms > s->scrape_interval_ms)
            return cfg_fail(ctx, at_key(jm, "scrape_timeout"),
                            "scrape timeout greater than scrape interval for scrape config with "
                            "job name \"%s\"",
                            s->job_name);
        if (s->scrape_timeout_ms == 0)
            s->scrape_timeout_ms = g->scrape_timeout_ms < s->scrape_interval_ms
                                       ? g->scrape_timeout_ms
                                       : s->scrape_interval_ms;
        if (!s->body_size_limit) s->body_size_limit = g->body_size_limit;
        if (!s->sample_limit) s->sample_limit = g->sample_limit;
        if (!s->target_limit) s->target_limit = g->target_limit;
        if (!s->label_limit) s->label_limit = g->label_limit;
        if (!s->label_name_length_limit) s->label_name_length_limit = g->label_name_length_limit;
        if (!s->label_value_length_limit) s->label_value_length_limit = g->label_value_length_limit;
        if (!s->keep_dropped_targets) s->keep_dropped_targets = g->keep_dropped_targets;
        if (!s->scrape_failure_log_file[0]) s->scrape_failure_log_file = g->scrape_failure_log_file;
        if (!s->n_scrape_protocols && !ytree_map_get(jm, "scrape_protocols")) {
            s->scrape_protocols = g->scrape_protocols;
            s->n_scrape_protocols = g->n_scrape_protocols;
        }
    }
    /* Duplicate job names: sort indexes by name, compare neighbours. */
    if (c->n_scrape_configs > 1) {
        size_t n = c->n_scrape_configs;
        const config_scrape_t **byname = vg_malloc(n * sizeof *byname);
        for (size_t i = 0; i < n; i++)
            byname[i] = &c->scrape_configs[i];
        qsort(byname, n, sizeof *byname, job_ptr_cmp);
        const config_scrape_t *dup = NULL;
        for (size_t i = 1; i < n; i++) {
            if (!strcmp(byname[i - 1]->job_name, byname[i]->job_name)) {
                const config_scrape_t *later =
                    byname[i - 1] > byname[i] ? byname[i - 1] : byname[i];
                if (!dup || later < dup) dup = later;
            }
        }
        free(byname);
        if (dup) {
            size_t i = (size_t)(dup - c->scrape_configs);
            const ytree_node_t *jm = jobs && jobs->kind == YTREE_NODE_SEQ ? jobs->kids[i] : map;
            return cfg_fail(ctx, at_key(jm, "job_name"),
                            "found multiple scrape configs with job name \"%s\"", dup->job_name);
        }
    }
    const ytree_node_t *rf = ytree_map_get(map, "rule_files");
    for (size_t i = 0; i < c->n_rule_files; i++) {
        const ytree_node_t *at = rf && rf->kind == YTREE_NODE_SEQ ? rf->kids[i] : map;
        if (!rule_path_ok(at->str))
            return cfg_fail(ctx, at, "invalid rule file path \"%s\"", at->str);
    }
    const ytree_node_t *sf = ytree_map_get(map, "scrape_config_files");
    for (size_t i = 0; i < c->n_scrape_config_files; i++) {
        const ytree_node_t *at = sf && sf->kind == YTREE_NODE_SEQ ? sf->kids[i] : map;
        if (!rule_path_ok(at->str))
            return cfg_fail(ctx, at, "invalid scrape config file path \"%s\"", at->str);
    }
    if (c->n_scrape_config_files)
        cfg_warn(ctx, "scrape_config_files are not read by vigil yet; their jobs are not "
                      "scraped");
    const ytree_node_t *rws = ytree_map_get(map, "remote_write");
    for (size_t i = 0; i < c->n_remote_write; i++) {
        for (size_t j = 0; j < i; j++) {
            if (c->remote_write[i].name[0] &&
                !strcmp(c->remote_write[i].name, c->remote_write[j].name))
                return cfg_fail(ctx, rws->kids[i],
                                "found multiple remote write configs with job name \"%s\"",
                                c->remote_write[i].name);
        }
    }
    const ytree_node_t *rrs = ytree_map_get(map, "remote_read");
    for (size_t i = 0; i < c->n_remote_read; i++) {
        for (size_t j = 0; j < i; j++) {
            if (c->remote_read[i].name[0] &&
                !strcmp(c->remote_read[i].name, c->remote_read[j].name))
                return cfg_fail(ctx, rrs->kids[i],
                                "found multiple remote read configs with job name \"%s\"",
                                c->remote_read[i].name);
        }
    }
    return VG_OK;
}

static const cfg_field_t config_fields[] = {
    {"global", CFG_F_STRUCT, OFF(config_t, global), &global_type, NULL, NULL},
    {"runtime", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"alerting", CFG_F_STRUCT, OFF(config_t, alerting), &alerting_type, NULL, NULL},
    {"rule_files", CFG_F_PATHLIST, OFF(config_t, rule_files), NULL, NULL, NULL},
    {"scrape_config_files", CFG_F_PATHLIST, OFF(config_t, scrape_config_files), NULL, NULL, NULL},
    {"scrape_configs", CFG_F_LIST, OFF(config_t, scrape_configs), &scrape_type, NULL,
     "empty or null scrape config section"},
    {"storage", CFG_F_STRUCT, OFF(config_t, storage), &storage_type, NULL, NULL},
    {"tracing", CFG_F_STRUCT, OFF(config_t, tracing), &tracing_type, NULL, NULL},
    {"remote_write", CFG_F_LIST, OFF(config_t, remote_write), &rw_type, NULL,
     "empty or null remote write config section"},
    {"remote_read", CFG_F_LIST, OFF(config_t, remote_read), &rr_type, NULL,
     "empty or null remote read config section"},
    {"otlp", CFG_F_ANY, 0, NULL, NULL, NULL},
    {"vigil", CFG_F_STRUCT, OFF(config_t, vigil), &vigil_type, NULL, NULL},
    END};
static const cfg_type_t config_type = {"config.Config", sizeof(config_t), config_fields, NULL,
                                       config_validate};

/* Prometheus expands $VAR and ${VAR} in external label values from the
 * environment ("$$" is a literal "$"); an unset variable becomes "". */
static const char *expand_env(cfg_ctx_t *ctx, const char *label, const char *v) {
    if (!strchr(v, '$')) return v;
    vg_buf_t b = VG_BUF_INIT;
    for (const char *p = v; *p;) {
        if (*p != '$') {
            vg_buf_putc(&b, *p++);
            continue;
        }
        p++;
        char name[256];
        size_t n = 0;
        if (*p == '$') {
            vg_buf_putc(&b, '$');
            p++;
            continue;
        } else if (*p == '{') {
            const char *end = strchr(p, '}');
            if (!end) { /* os.Expand drops a bad "${" */
                p++;
                continue;
            }
            n = (size_t)(end - p - 1);
            if (n >= sizeof name) n = sizeof name - 1;
            memcpy(name, p + 1, n);
            p = end + 1;
        } else {
            while ((*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9')) &&
                   n + 1 < sizeof name)
                name[n++] = *p++;
            if (n == 0) { /* a lone "$" is dropped, as os.Expand does */
                if (*p) p++;
                continue;
            }
        }
        name[n] = '\0';
        const char *env = getenv(name);
        if (env && *env)
            vg_buf_puts(&b, env);
        else
            cfg_warn(ctx, "external label %s: empty environment variable %s", label, name);
    }
    char *out = cfg_strdup(ctx, b.data ? b.data : "");
    vg_buf_free(&b);
    return out;
}

/* metric_name_validation_scheme changes which label names are valid all
 * over the file, and global may come after the jobs: look it up first. */
static bool wants_utf8(const ytree_node_t *root) {
    const ytree_node_t *g = ytree_map_get(root, "global");
    const ytree_node_t *s = ytree_map_get(g, "metric_name_validation_scheme");
    return s && s->kind == YTREE_NODE_SCALAR && !strcmp(s->str, "utf8");
}

int cfg_decode(config_t *c, const ytree_node_t *root, vg_arena_t *arena, const char *name,
               const char *dir, char ***out_warnings, size_t *out_n_warnings, vg_err_t *err) {
    cfg_ctx_t ctx = {
        .arena = arena, .name = name, .dir = dir, .err = err, .visits_left = VG_CONFIG_MAX_VISITS};
    cfg_init_struct(&config_type, c);
    int rc;
    if (ytree_is_null(root)) {
        rc = config_validate(&ctx, NULL, c);
    } else {
        ctx.utf8_names = wants_utf8(root);
        rc = cfg_decode_struct(&ctx, &config_type, root, c);
    }
    if (rc == VG_OK) {
        for (size_t i = 0; i < c->global.n_external_labels; i++) {
            config_label_t *l = &c->global.external_labels[i];
            l->value = expand_env(&ctx, l->name, l->value);
        }
    }
    *out_warnings = ctx.warnings;
    *out_n_warnings = ctx.n_warnings;
    return rc;
}
