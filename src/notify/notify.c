/* This file implements the module's entry points: the list of a receiver's
 * integrations in Alertmanager's order, the notification data of a subset
 * of alerts, notify_send's dispatch to the integrations, and the helpers
 * they share (templating with Alertmanager's first-error rule, group key
 * hashing, rune truncation, secret files, JSON pieces as Go writes them). */
#include "notify/notify_int.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the kinds */

static const char *const kind_names[NOTIFY_KIND_COUNT] = {
    [NOTIFY_WEBHOOK] = "webhook",
    [NOTIFY_SLACK] = "slack",
    [NOTIFY_PAGERDUTY] = "pagerduty",
    [NOTIFY_EMAIL] = "email",
    [NOTIFY_OPSGENIE] = "opsgenie",
    [NOTIFY_WECHAT] = "wechat",
    [NOTIFY_VICTOROPS] = "victorops",
    [NOTIFY_PUSHOVER] = "pushover",
    [NOTIFY_SNS] = "sns",
    [NOTIFY_TELEGRAM] = "telegram",
    [NOTIFY_DISCORD] = "discord",
    [NOTIFY_WEBEX] = "webex",
    [NOTIFY_MSTEAMS] = "msteams",
    [NOTIFY_MSTEAMSV2] = "msteamsv2",
    [NOTIFY_JIRA] = "jira",
    [NOTIFY_INCIDENTIO] = "incidentio",
    [NOTIFY_ROCKETCHAT] = "rocketchat",
    [NOTIFY_MATTERMOST] = "mattermost",
};

const char *notify_kind_name(notify_kind_t kind) {
    return kind >= 0 && kind < NOTIFY_KIND_COUNT ? kind_names[kind] : "unknown";
}

bool notify_kind_supported(notify_kind_t kind) {
    return kind == NOTIFY_WEBHOOK || kind == NOTIFY_SLACK || kind == NOTIFY_PAGERDUTY ||
           kind == NOTIFY_EMAIL || kind == NOTIFY_OPSGENIE;
}

/* One row per receiver list, in BuildReceiverIntegrations' order. */
typedef struct kind_list {
    notify_kind_t kind;
    size_t list_off, count_off, elem_size;
} kind_list_t;

#define KL(k, field, T)                                                                            \
    { k, offsetof(alert_receiver_t, field), offsetof(alert_receiver_t, n_##field), sizeof(T) }

static const kind_list_t kind_lists[] = {
    KL(NOTIFY_WEBHOOK, webhook_configs, alert_webhook_config_t),
    KL(NOTIFY_EMAIL, email_configs, alert_email_config_t),
    KL(NOTIFY_PAGERDUTY, pagerduty_configs, alert_pagerduty_config_t),
    KL(NOTIFY_OPSGENIE, opsgenie_configs, alert_opsgenie_config_t),
    KL(NOTIFY_WECHAT, wechat_configs, alert_wechat_config_t),
    KL(NOTIFY_SLACK, slack_configs, alert_slack_config_t),
    KL(NOTIFY_VICTOROPS, victorops_configs, alert_victorops_config_t),
    KL(NOTIFY_PUSHOVER, pushover_configs, alert_pushover_config_t),
    KL(NOTIFY_SNS, sns_configs, alert_sns_config_t),
    KL(NOTIFY_TELEGRAM, telegram_configs, alert_telegram_config_t),
    KL(NOTIFY_DISCORD, discord_configs, alert_discord_config_t),
    KL(NOTIFY_WEBEX, webex_configs, alert_webex_config_t),
    KL(NOTIFY_MSTEAMS, msteams_configs, alert_msteams_config_t),
    KL(NOTIFY_MSTEAMSV2, msteamsv2_configs, alert_msteams_config_t),
    KL(NOTIFY_JIRA, jira_configs, alert_jira_config_t),
    KL(NOTIFY_INCIDENTIO, incidentio_configs, alert_incidentio_config_t),
    KL(NOTIFY_ROCKETCHAT, rocketchat_configs, alert_rocketchat_config_t),
    KL(NOTIFY_MATTERMOST, mattermost_configs, alert_mattermost_config_t),
};

size_t notify_integrations(const alert_receiver_t *r, notify_integration_t *out, size_t cap) {
    size_t n = 0;
    if (!r) return 0;
    for (size_t k = 0; k < sizeof kind_lists / sizeof kind_lists[0]; k++) {
        const kind_list_t *kl = &kind_lists[k];
        const char *list = *(const char *const *)((const char *)r + kl->list_off);
        size_t count = *(const size_t *)((const char *)r + kl->count_off);
        for (size_t i = 0; i < count; i++, n++) {
            if (n >= cap) continue;
            /* every config struct starts with its alert_notifier_base_t */
            const void *conf = list + i * kl->elem_size;
            out[n] = (notify_integration_t){
                .kind = kl->kind,
                .name = kind_names[kl->kind],
                .idx = (unsigned)i,
                .send_resolved = ((const alert_notifier_base_t *)conf)->send_resolved,
                .conf = conf,
            };
        }
    }
    return n;
}

void notify_integration_format(const notify_integration_t *in, vg_buf_t *out) {
    vg_buf_printf(out, "%s[%u]", in->name, in->idx);
}

/* ----------------------------------------------------------------- data */

void notify_quote_receiver(const char *name, vg_buf_t *out) {
    /* Go's regexp.QuoteMeta: a backslash before each of \.+*?()|[]{}^$ */
    for (const char *p = name; *p; p++) {
        if (strchr("\\.+*?()|[]{}^$", *p)) vg_buf_putc(out, '\\');
        vg_buf_putc(out, *p);
    }
    if (!out->data) vg_buf_puts(out, "");
}

static bool str_eq(const template_value_t *a, const template_value_t *b) {
    return a->kind == TEMPLATE_STRING && b->kind == TEMPLATE_STRING &&
           a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
}

/* Keeps the entries of first (copied into dst) that every alert's map
 * (picked by annotations) holds with the same value. */
static void common_map(const template_am_alert_t *alerts, size_t n, bool annotations,
                       template_map_t *dst, template_map_entry_t *entries) {
    dst->n = 0;
    dst->entries = entries;
    dst->elem_kind = TEMPLATE_STRING;
    if (n == 0) return;
    const template_map_t *first = annotations ? alerts[0].annotations : alerts[0].labels;
    for (size_t i = 0; first && i < first->n; i++) {
        const template_map_entry_t *e = &first->entries[i];
        bool all = true;
        for (size_t j = 1; j < n && all; j++) {
            const template_map_t *m = annotations ? alerts[j].annotations : alerts[j].labels;
            const template_value_t *v = m ? template_map_get(m, e->key, e->key_len) : NULL;
            all = v && str_eq(v, &e->value);
        }
        if (all) entries[dst->n++] = *e;
    }
}

uint64_t notify_data_subset(const template_am_data_t *src, uint64_t max_alerts, bool firing_only,
                            template_am_data_t *out, void **owned) {
    *out = *src;
    size_t n_lab = 0, n_ann = 0;
    if (src->n_alerts > 0) {
        n_lab = src->alerts[0].labels ? src->alerts[0].labels->n : 0;
        n_ann = src->alerts[0].annotations ? src->alerts[0].annotations->n : 0;
    }
    size_t sz = src->n_alerts * sizeof(template_am_alert_t) + 2 * sizeof(template_map_t) +
                (n_lab + n_ann) * sizeof(template_map_entry_t) + 1;
    char *block = vg_malloc(sz);
    *owned = block;
    template_map_t *maps = (template_map_t *)block;
    template_am_alert_t *alerts = (template_am_alert_t *)(maps + 2);
    template_map_entry_t *lab = (template_map_entry_t *)(alerts + src->n_alerts);
    template_map_entry_t *ann = lab + n_lab;

    size_t n = 0;
    for (size_t i = 0; i < src->n_alerts; i++) {
        const template_am_alert_t *a = &src->alerts[i];
        if (firing_only && a->status && strcmp(a->status, "resolved") == 0) continue;
        alerts[n++] = *a;
    }
    uint64_t truncated = 0;
    if (max_alerts != 0 && n > max_alerts) {
        truncated = n - max_alerts;
        n = (size_t)max_alerts;
    }
    bool all_resolved = true;
    for (size_t i = 0; i < n; i++)
        if (!alerts[i].status || strcmp(alerts[i].status, "resolved") != 0) all_resolved = false;
    out->alerts = alerts;
    out->n_alerts = n;
    out->status = all_resolved ? "resolved" : "firing";
    common_map(alerts, n, false, &maps[0], lab);
    common_map(alerts, n, true, &maps[1], ann);
    out->common_labels = &maps[0];
    out->common_annotations = &maps[1];
    return truncated;
}

/* -------------------------------------------------------------- helpers */

int notify_fail(notify_ctx_t *ctx, bool retry, const char *fmt, ...) {
    *ctx->retry = retry;
    if (ctx->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->err->msg, sizeof ctx->err->msg, fmt, ap);
        va_end(ap);
        ctx->err->code = VG_ERR;
    }
    return VG_ERR;
}

const char *notify_tmpl_data(notify_ctx_t *ctx, const char *text, const template_am_data_t *data) {
    if (ctx->tmpl_failed || !text || !*text) return "";
    vg_buf_t b = VG_BUF_INIT;
    vg_err_t e = {0};
    if (notify_template_execute(ctx->tmpl, text, false, data, &b, &e) != 0) {
        ctx->tmpl_failed = true;
        ctx->tmpl_err = e;
        vg_buf_free(&b);
        return "";
    }
    char *s = vg_arena_strndup(ctx->arena, b.data ? b.data : "", b.len);
    vg_buf_free(&b);
    return s ? s : "";
}

const char *notify_tmpl(notify_ctx_t *ctx, const char *text) {
    return notify_tmpl_data(ctx, text, ctx->data);
}

void notify_ctx_done(notify_ctx_t *ctx) {
    vg_arena_free(ctx->arena);
    ctx->arena = NULL;
}

void notify_hash_key(const char *s, char *out) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Length of the UTF-8 sequence at p as Go's range over a string steps
 * (an invalid byte is one rune). */
static size_t rune_len(const unsigned char *p, size_t left) {
    unsigned c = p[0];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (n > left) return 1;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 1;
    return n;
}

bool notify_truncate_runes(const char *s, size_t n, vg_buf_t *out) {
    size_t len = strlen(s), runes = 0;
    for (size_t i = 0; i < len; i += rune_len((const unsigned char *)s + i, len - i))
        runes++;
    if (runes <= n) {
        vg_buf_puts(out, s);
        return false;
    }
    /* Keep n runes (n <= 3) or n-1 runes and the marker. */
    size_t keep = n <= 3 ? n : n - 1, i = 0;
    for (size_t r = 0; r < keep; r++)
        i += rune_len((const unsigned char *)s + i, len - i);
    vg_buf_append(out, s, i);
    if (n > 3) vg_buf_puts(out, "\xE2\x80\xA6");
    return true;
}

int notify_read_file(const char *path, bool trim, char **out, vg_err_t *err) {
    size_t len = 0;
    if (vg_file_read_all(path, 1 << 20, out, &len, err) != 0) return VG_ERR_IO;
    if (trim) {
        char *s = *out;
        size_t a = 0;
        while (a < len && strchr(" \t\r\n\v\f", s[a]))
            a++;
        while (len > a && strchr(" \t\r\n\v\f", s[len - 1]))
            len--;
        memmove(s, s + a, len - a);
        s[len - a] = '\0';
    }
    return 0;
}

/* ------------------------------------------------------------------ JSON */

void notify_json_str(vg_buf_t *b, const char *s) {
    vg_buf_putc(b, '"');
    vg_buf_put_json_escaped(b, s, strlen(s));
    vg_buf_putc(b, '"');
}

void notify_json_key(vg_buf_t *b, bool *first, const char *key) {
    if (!*first) vg_buf_putc(b, ',');
    *first = false;
    notify_json_str(b, key);
    vg_buf_putc(b, ':');
}

void notify_json_map(vg_buf_t *b, const template_map_t *m) {
    vg_buf_putc(b, '{');
    for (size_t i = 0; m && i < m->n; i++) {
        const template_map_entry_t *e = &m->entries[i];
        if (i) vg_buf_putc(b, ',');
        vg_buf_putc(b, '"');
        vg_buf_put_json_escaped(b, e->key, e->key_len);
        vg_buf_puts(b, "\":\"");
        if (e->value.kind == TEMPLATE_STRING)
            vg_buf_put_json_escaped(b, e->value.u.str.s, e->value.u.str.len);
        vg_buf_putc(b, '"');
    }
    vg_buf_putc(b, '}');
}

/* Civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm). */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d) {
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void notify_json_time(vg_buf_t *b, const template_value_t *t) {
    if (!t || t->kind != TEMPLATE_TIME) {
        vg_buf_puts(b, "\"0001-01-01T00:00:00Z\"");
        return;
    }
    int64_t local = t->u.time.sec + t->tz_offset;
    int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t sod = local - days * 86400;
    int64_t y;
    unsigned mo, d;
    civil(days, &y, &mo, &d);
    vg_buf_printf(b, "\"%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, mo, d, (int)(sod / 3600),
                  (int)(sod / 60 % 60), (int)(sod % 60));
    if (t->u.time.nsec > 0) {
        char frac[16];
        snprintf(frac, sizeof frac, "%09d", (int)t->u.time.nsec);
        size_t n = 9;
        while (n > 0 && frac[n - 1] == '0')
            n--;
        frac[n] = '\0';
        vg_buf_printf(b, ".%s", frac);
    }
    if (t->tz_offset == 0) {
        vg_buf_puts(b, "Z\"");
    } else {
        int off = t->tz_offset < 0 ? -t->tz_offset : t->tz_offset;
        vg_buf_printf(b, "%c%02d:%02d\"", t->tz_offset < 0 ? '-' : '+', off / 3600, off / 60 % 60);
    }
}

/* ------------------------------------------------------------------ send */

static int64_t own_timeout(const notify_integration_t *in) {
    switch (in->kind) {
    case NOTIFY_WEBHOOK: return ((const alert_webhook_config_t *)in->conf)->timeout_ms;
    case NOTIFY_SLACK: return ((const alert_slack_config_t *)in->conf)->timeout_ms;
    case NOTIFY_PAGERDUTY: return ((const alert_pagerduty_config_t *)in->conf)->timeout_ms;
    default: return 0;
    }
}

int notify_send(const notify_integration_t *in, const alert_config_t *cfg,
                const notify_templates_t *tmpl, const template_am_data_t *data,
                const char *group_key, int64_t timeout_ms, bool *retry, vg_err_t *err) {
    bool dummy;
    if (!retry) retry = &dummy;
    *retry = false;
    if (!in || !tmpl || !data || !in->conf)
        return vg_err_set(err, VG_ERR_INPUT, "notify: missing integration, templates or data");
    if (!notify_kind_supported(in->kind))
        return vg_err_set(err, VG_ERR, "integration %s is not supported by vigil", in->name);
    int64_t to = timeout_ms > 0 ? timeout_ms : 10000, own = own_timeout(in);
    if (own > 0 && own < to) to = own;
    notify_ctx_t ctx = {.in = in,
                        .cfg = cfg,
                        .tmpl = tmpl,
                        .data = data,
                        .group_key = group_key ? group_key : "",
                        .timeout_ms = to,
                        .retry = retry,
                        .err = err,
                        .arena = vg_arena_new(0)};
    int rc;
    switch (in->kind) {
    case NOTIFY_WEBHOOK: rc = notify_webhook_send(&ctx); break;
    case NOTIFY_SLACK: rc = notify_slack_send(&ctx); break;
    case NOTIFY_PAGERDUTY: rc = notify_pagerduty_send(&ctx); break;
    case NOTIFY_OPSGENIE: rc = notify_opsgenie_send(&ctx); break;
    case NOTIFY_EMAIL: rc = notify_email_send(&ctx); break;
    default: rc = vg_err_set(err, VG_ERR, "integration %s is not supported by vigil", in->name);
    }
    notify_ctx_done(&ctx);
    if (rc == 0) *retry = false;
    return rc;
}
