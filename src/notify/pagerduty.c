/* This file implements the PagerDuty integration: an Events API v2 event
 * (routing_key) or, with service_key, a v1 event, as Alertmanager builds
 * them: event action from the alerts' status (resolve when all are
 * resolved), the dedup/incident key the SHA-256 of the group key, the
 * summary or description cut to 1024 runes, details templated one by one,
 * custom details dropped when the event is over PagerDuty's 512 kB. */
#include "notify/notify_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "labels/labels.h"

#define PD_MAX_EVENT_BYTES 512000
#define PD_MAX_SUMMARY_RUNES 1024
#define PD_TOO_BIG                                                                                 \
    "Custom details have been removed because the original event exceeds the maximum size of "     \
    "512KB"

const char *notify_pagerduty_v1_url =
    "https://events.pagerduty.com/generic/2010-04-15/create_event.json";

typedef struct pd_detail {
    const char *key, *value;
} pd_detail_t;

/* The configuration carries newer Alertmanagers' default details, which
 * send the alerts as JSON; vigil sends what 0.25 sends by default: the
 * alerts as text lists. */
static const char *detail_template(const char *value) {
    if (strcmp(value, "{{ .Alerts.Firing | toJson }}") == 0)
        return "{{ template \"pagerduty.default.instances\" .Alerts.Firing }}";
    if (strcmp(value, "{{ .Alerts.Resolved | toJson }}") == 0)
        return "{{ template \"pagerduty.default.instances\" .Alerts.Resolved }}";
    return value;
}

static int cmp_detail(const void *a, const void *b) {
    return strcmp(((const pd_detail_t *)a)->key, ((const pd_detail_t *)b)->key);
}

static void opt_str(vg_buf_t *b, bool *first, const char *key, const char *value) {
    if (!value || !*value) return;
    notify_json_key(b, first, key);
    notify_json_str(b, value);
}

/* A map[string]string (sorted keys, later duplicates dropped as a Go map
 * keeps one); NULL details print the size error instead. */
static void put_details(vg_buf_t *b, const pd_detail_t *d, size_t n, bool too_big) {
    vg_buf_putc(b, '{');
    if (too_big) {
        vg_buf_puts(b, "\"error\":");
        notify_json_str(b, PD_TOO_BIG);
    } else {
        for (size_t i = 0; i < n; i++) {
            if (i) vg_buf_putc(b, ',');
            notify_json_str(b, d[i].key);
            vg_buf_putc(b, ':');
            notify_json_str(b, d[i].value);
        }
    }
    vg_buf_putc(b, '}');
}

/* The event for v2 (v1 false) or v1; too_big replaces the details. */
static void encode(notify_ctx_t *ctx, bool v1, const char *key, const char *event, const char *hash,
                   const char *summary, const pd_detail_t *det, size_t n_det, bool too_big,
                   vg_buf_t *b) {
    const alert_pagerduty_config_t *c = ctx->in->conf;
    bool f = true;
    vg_buf_putc(b, '{');
    if (v1) {
        opt_str(b, &f, "service_key", key);
        opt_str(b, &f, "incident_key", hash);
        opt_str(b, &f, "event_type", event);
        opt_str(b, &f, "description", summary);
        notify_json_key(b, &f, "event_action");
        vg_buf_puts(b, "\"\"");
        notify_json_key(b, &f, "payload");
        vg_buf_puts(b, "null");
        if (strcmp(event, "trigger") == 0) {
            opt_str(b, &f, "client", notify_tmpl(ctx, c->client));
            opt_str(b, &f, "client_url", notify_tmpl(ctx, c->client_url));
        }
        if (n_det > 0 || too_big) {
            notify_json_key(b, &f, "details");
            put_details(b, det, n_det, too_big);
        }
        vg_buf_puts(b, "}\n");
        return;
    }
    opt_str(b, &f, "routing_key", key);
    opt_str(b, &f, "dedup_key", hash);
    notify_json_key(b, &f, "event_action");
    notify_json_str(b, event);
    notify_json_key(b, &f, "payload");
    bool pf = true;
    vg_buf_putc(b, '{');
    notify_json_key(b, &pf, "summary");
    notify_json_str(b, summary);
    notify_json_key(b, &pf, "source");
    notify_json_str(b, notify_tmpl(ctx, c->source));
    notify_json_key(b, &pf, "severity");
    notify_json_str(b, notify_tmpl(ctx, c->severity && *c->severity ? c->severity : "error"));
    opt_str(b, &pf, "class", notify_tmpl(ctx, c->class_));
    opt_str(b, &pf, "component", notify_tmpl(ctx, c->component));
    opt_str(b, &pf, "group", notify_tmpl(ctx, c->group));
    if (n_det > 0 || too_big) {
        notify_json_key(b, &pf, "custom_details");
        put_details(b, det, n_det, too_big);
    }
    vg_buf_putc(b, '}');
    opt_str(b, &f, "client", notify_tmpl(ctx, c->client));
    opt_str(b, &f, "client_url", notify_tmpl(ctx, c->client_url));
    bool any = false;
    for (size_t i = 0; i < c->n_images; i++) {
        const char *src = notify_tmpl(ctx, c->images[i].src);
        const char *alt = notify_tmpl(ctx, c->images[i].alt);
        const char *href = notify_tmpl(ctx, c->images[i].href);
        if (!*src) continue; /* images without a source are left out */
        if (!any) notify_json_key(b, &f, "images");
        vg_buf_puts(b, any ? ",{\"src\":" : "[{\"src\":");
        any = true;
        notify_json_str(b, src);
        vg_buf_puts(b, ",\"alt\":");
        notify_json_str(b, alt);
        vg_buf_puts(b, ",\"href\":");
        notify_json_str(b, href);
        vg_buf_putc(b, '}');
    }
    if (any) vg_buf_putc(b, ']');
    any = false;
    for (size_t i = 0; i < c->n_links; i++) {
        const char *href = notify_tmpl(ctx, c->links[i].href);
        const char *text = notify_tmpl(ctx, c->links[i].text);
        if (!*href) continue;
        if (!any) notify_json_key(b, &f, "links");
        vg_buf_puts(b, any ? ",{\"href\":" : "[{\"href\":");
        any = true;
        notify_json_str(b, href);
        vg_buf_puts(b, ",\"text\":");
        notify_json_str(b, text);
        vg_buf_putc(b, '}');
    }
    if (any) vg_buf_putc(b, ']');
    vg_buf_puts(b, "}\n");
}

/* Alertmanager's errDetails: only a 400 with PagerDuty's JSON error body
 * says more. */
static void err_details(long status, const vg_buf_t *body, vg_buf_t *out) {
    if (status != 400 || !body->data) return;
    json_t *j = json_loadb(body->data, body->len, JSON_DISABLE_EOF_CHECK, NULL);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return;
    }
    const char *msg = json_string_value(json_object_get(j, "message"));
    vg_buf_printf(out, "%s: ", msg ? msg : "");
    json_t *errs = json_object_get(j, "errors");
    for (size_t i = 0; json_is_array(errs) && i < json_array_size(errs); i++) {
        const char *e = json_string_value(json_array_get(errs, i));
        vg_buf_printf(out, "%s%s", i ? "," : "", e ? e : "");
    }
    json_decref(j);
}

int notify_pagerduty_send(notify_ctx_t *ctx) {
    const alert_pagerduty_config_t *c = ctx->in->conf;
    const template_am_data_t *d = ctx->data;
    bool v1 = (c->service_key && *c->service_key) || (c->service_key_file && *c->service_key_file);
    const char *event = strcmp(d->status ? d->status : "", "resolved") == 0 ? "resolve" : "trigger";

    /* details first, each its own template, failing on the first error */
    pd_detail_t *det = vg_calloc(c->n_details + 1, sizeof *det);
    size_t n_det = 0;
    int rc = 0;
    for (size_t i = 0; i < c->n_details; i++) {
        vg_buf_t v = VG_BUF_INIT;
        vg_err_t e = {0};
        if (notify_template_execute(ctx->tmpl, detail_template(c->details[i].value), false, d, &v,
                                    &e) != 0) {
            vg_buf_t qk = VG_BUF_INIT, qv = VG_BUF_INIT;
            labels_quote(&qk, c->details[i].name, strlen(c->details[i].name));
            labels_quote(&qv, c->details[i].value, strlen(c->details[i].value));
            rc = notify_fail(ctx, false, "%s: failed to template %s: %s", qk.data, qv.data, e.msg);
            vg_buf_free(&qk);
            vg_buf_free(&qv);
            vg_buf_free(&v);
            free(det);
            return rc;
        }
        det[n_det].key = c->details[i].name;
        det[n_det].value = vg_arena_strndup(ctx->arena, v.data ? v.data : "", v.len);
        n_det++;
        vg_buf_free(&v);
    }
    qsort(det, n_det, sizeof *det, cmp_detail);
    size_t w = 0; /* one value per key, the last one written */
    for (size_t i = 0; i < n_det; i++) {
        if (w > 0 && strcmp(det[w - 1].key, det[i].key) == 0)
            det[w - 1] = det[i];
        else
            det[w++] = det[i];
    }
    n_det = w;

    char hash[65];
    notify_hash_key(ctx->group_key, hash);
    vg_buf_t summary = VG_BUF_INIT;
    if (notify_truncate_runes(notify_tmpl(ctx, c->description), PD_MAX_SUMMARY_RUNES, &summary))
        vg_log_warn(v1 ? "Truncated description" : "Truncated summary", "integration", "pagerduty",
                    "key", ctx->group_key, NULL);
    if (!summary.data) vg_buf_puts(&summary, "");

    char *file_key = NULL;
    const char *raw_key = v1 ? c->service_key : c->routing_key;
    const char *key_file = v1 ? c->service_key_file : c->routing_key_file;
    vg_buf_t body = VG_BUF_INIT;
    if (!raw_key || !*raw_key) {
        vg_err_t e = {0};
        if (notify_read_file(key_file ? key_file : "", true, &file_key, &e) != 0) {
            rc = notify_fail(ctx, false, "failed to read %s key from file: %s",
                             v1 ? "service" : "routing", e.msg);
            goto out;
        }
        raw_key = file_key;
    }
    const char *key = notify_tmpl(ctx, raw_key);
    encode(ctx, v1, key, event, hash, summary.data, det, n_det, false, &body);
    if (ctx->tmpl_failed) {
        rc = notify_fail(ctx, false, "failed to template PagerDuty %s message: %s",
                         v1 ? "v1" : "v2", ctx->tmpl_err.msg);
        goto out;
    }
    if (!*key) {
        rc = notify_fail(ctx, false, "%s key cannot be empty", v1 ? "service" : "routing");
        goto out;
    }
    if (body.len > PD_MAX_EVENT_BYTES) {
        vg_log_warn("Truncated Details because message exceeds the PagerDuty event limit",
                    "integration", "pagerduty", NULL);
        vg_buf_reset(&body);
        encode(ctx, v1, key, event, hash, summary.data, det, n_det, true, &body);
    }

    const char *url = v1 ? notify_pagerduty_v1_url : c->url;
    if (!url || !*url)
        url = ctx->cfg && ctx->cfg->global.pagerduty_url
                  ? ctx->cfg->global.pagerduty_url
                  : "https://events.pagerduty.com/v2/enqueue";
    notify_http_t h = {.url = url,
                       .body = body.data,
                       .body_len = body.len,
                       .http = c->base.http_config,
                       .timeout_ms = ctx->timeout_ms};
    vg_err_t e = {0};
    if (notify_http_do(&h, &e) != 0) {
        rc = notify_fail(ctx, true, "failed to post message to PagerDuty%s: %s", v1 ? " v1" : "",
                         e.msg);
    } else {
        /* retried: 5xx, and rate limiting (v1: 403, v2: 429) */
        static const int v1_codes[] = {403}, v2_codes[] = {429};
        vg_buf_t det_msg = VG_BUF_INIT;
        err_details(h.status, &h.resp_body, &det_msg);
        rc = notify_http_check(h.status, det_msg.data, v1 ? v1_codes : v2_codes, 1, ctx->retry,
                               ctx->err);
        vg_buf_free(&det_msg);
    }
    vg_buf_free(&h.resp_body);
out:
    vg_buf_free(&body);
    vg_buf_free(&summary);
    free(file_key);
    free(det);
    return rc;
}
