/* This file implements the webhook integration: Alertmanager's message
 * version 4 (template.Data plus version, groupKey and truncatedAlerts, in
 * the order Go's encoding/json writes the structs, with a final newline
 * as json.Encoder adds), POSTed as application/json to url or the URL in
 * url_file, alerts cut to max_alerts. */
#include "notify/notify_int.h"

#include <stdlib.h>
#include <string.h>

static void put_data(vg_buf_t *b, const template_am_data_t *d) {
    bool first = true;
    vg_buf_putc(b, '{');
    notify_json_key(b, &first, "receiver");
    notify_json_str(b, d->receiver ? d->receiver : "");
    notify_json_key(b, &first, "status");
    notify_json_str(b, d->status ? d->status : "");
    notify_json_key(b, &first, "alerts");
    vg_buf_putc(b, '[');
    for (size_t i = 0; i < d->n_alerts; i++) {
        const template_am_alert_t *a = &d->alerts[i];
        bool f = true;
        if (i) vg_buf_putc(b, ',');
        vg_buf_putc(b, '{');
        notify_json_key(b, &f, "status");
        notify_json_str(b, a->status ? a->status : "");
        notify_json_key(b, &f, "labels");
        notify_json_map(b, a->labels);
        notify_json_key(b, &f, "annotations");
        notify_json_map(b, a->annotations);
        notify_json_key(b, &f, "startsAt");
        notify_json_time(b, &a->starts_at);
        notify_json_key(b, &f, "endsAt");
        notify_json_time(b, &a->ends_at);
        notify_json_key(b, &f, "generatorURL");
        notify_json_str(b, a->generator_url ? a->generator_url : "");
        notify_json_key(b, &f, "fingerprint");
        notify_json_str(b, a->fingerprint ? a->fingerprint : "");
        vg_buf_putc(b, '}');
    }
    vg_buf_putc(b, ']');
    notify_json_key(b, &first, "groupLabels");
    notify_json_map(b, d->group_labels);
    notify_json_key(b, &first, "commonLabels");
    notify_json_map(b, d->common_labels);
    notify_json_key(b, &first, "commonAnnotations");
    notify_json_map(b, d->common_annotations);
    notify_json_key(b, &first, "externalURL");
    notify_json_str(b, d->external_url ? d->external_url : "");
}

int notify_webhook_send(notify_ctx_t *ctx) {
    const alert_webhook_config_t *c = ctx->in->conf;
    char *file_url = NULL;
    const char *url = c->url;
    if (!url || !*url) {
        vg_err_t e = {0};
        if (!c->url_file || !*c->url_file)
            return notify_fail(ctx, false, "webhook: no url configured");
        if (notify_read_file(c->url_file, true, &file_url, &e) != 0)
            return notify_fail(ctx, false, "%s", e.msg);
        url = file_url;
    }

    template_am_data_t sub;
    void *owned = NULL;
    uint64_t truncated = 0;
    const template_am_data_t *d = ctx->data;
    if (c->max_alerts != 0 && d->n_alerts > c->max_alerts) {
        truncated = notify_data_subset(d, c->max_alerts, false, &sub, &owned);
        d = &sub;
    }
    vg_buf_t body = VG_BUF_INIT;
    put_data(&body, d);
    bool first = false;
    notify_json_key(&body, &first, "version");
    notify_json_str(&body, "4");
    notify_json_key(&body, &first, "groupKey");
    notify_json_str(&body, ctx->group_key);
    notify_json_key(&body, &first, "truncatedAlerts");
    vg_buf_printf(&body, "%llu}\n", (unsigned long long)truncated);
    free(owned);

    notify_http_t h = {.url = url,
                       .body = body.data,
                       .body_len = body.len,
                       .http = c->base.http_config,
                       .timeout_ms = ctx->timeout_ms};
    vg_err_t e = {0};
    int rc;
    if (notify_http_do(&h, &e) != 0) {
        rc = notify_fail(ctx, true, "%s", e.msg);
    } else {
        /* Alertmanager's errDetails: the URL and the response body */
        vg_buf_t det = VG_BUF_INIT;
        vg_buf_printf(&det, "%s: %s", url, h.resp_body.data ? h.resp_body.data : "");
        rc = notify_http_check(h.status, det.data, NULL, 0, ctx->retry, ctx->err);
        vg_buf_free(&det);
    }
    vg_buf_free(&h.resp_body);
    vg_buf_free(&body);
    free(file_url);
    return rc;
}
