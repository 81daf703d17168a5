/* This file implements the Slack integration: an incoming-webhook message
 * with one attachment, every field templated as Alertmanager does (title
 * cut to 1024 runes, fields with their short flag, actions with their
 * confirmation), POSTed to api_url, api_url_file or the global
 * slack_api_url(_file). Slack answers 200 with "ok" (or JSON {"ok":...}
 * for Web API URLs); anything else is an error, as newer Alertmanagers'
 * checkResponseError says. The URL, a secret, never appears in errors. */
#include "notify/notify_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "labels/labels.h"

#define SLACK_MAX_TITLE_RUNES 1024

/* Appends ,"key":"value" when value is not empty (Go's omitempty). */
static void opt_str(vg_buf_t *b, bool *first, const char *key, const char *value) {
    if (!value || !*value) return;
    notify_json_key(b, first, key);
    notify_json_str(b, value);
}

static void req_str(vg_buf_t *b, bool *first, const char *key, const char *value) {
    notify_json_key(b, first, key);
    notify_json_str(b, value ? value : "");
}

static void put_attachment(notify_ctx_t *ctx, const alert_slack_config_t *c, vg_buf_t *b) {
    vg_buf_t title = VG_BUF_INIT;
    if (notify_truncate_runes(notify_tmpl(ctx, c->title), SLACK_MAX_TITLE_RUNES, &title))
        vg_log_warn("Truncated title", "integration", "slack", "key", ctx->group_key, NULL);
    bool f = true;
    vg_buf_putc(b, '{');
    opt_str(b, &f, "title", title.data);
    vg_buf_free(&title);
    opt_str(b, &f, "title_link", notify_tmpl(ctx, c->title_link));
    opt_str(b, &f, "pretext", notify_tmpl(ctx, c->pretext));
    req_str(b, &f, "text", notify_tmpl(ctx, c->text));
    req_str(b, &f, "fallback", notify_tmpl(ctx, c->fallback));
    req_str(b, &f, "callback_id", notify_tmpl(ctx, c->callback_id));
    if (c->n_fields > 0) {
        notify_json_key(b, &f, "fields");
        vg_buf_putc(b, '[');
        for (size_t i = 0; i < c->n_fields; i++) {
            const alert_slack_field_t *fl = &c->fields[i];
            bool ff = true,
                 short_ = fl->short_ == ALERT_UNSET ? c->short_fields : fl->short_ == ALERT_TRUE;
            if (i) vg_buf_putc(b, ',');
            vg_buf_putc(b, '{');
            opt_str(b, &ff, "title", notify_tmpl(ctx, fl->title));
            opt_str(b, &ff, "value", notify_tmpl(ctx, fl->value));
            notify_json_key(b, &ff, "short");
            vg_buf_puts(b, short_ ? "true" : "false");
            vg_buf_putc(b, '}');
        }
        vg_buf_putc(b, ']');
    }
    if (c->n_actions > 0) {
        notify_json_key(b, &f, "actions");
        vg_buf_putc(b, '[');
        for (size_t i = 0; i < c->n_actions; i++) {
            const alert_slack_action_t *a = &c->actions[i];
            bool af = true;
            if (i) vg_buf_putc(b, ',');
            vg_buf_putc(b, '{');
            opt_str(b, &af, "type", notify_tmpl(ctx, a->type));
            opt_str(b, &af, "text", notify_tmpl(ctx, a->text));
            opt_str(b, &af, "url", notify_tmpl(ctx, a->url));
            opt_str(b, &af, "style", notify_tmpl(ctx, a->style));
            opt_str(b, &af, "name", notify_tmpl(ctx, a->name));
            opt_str(b, &af, "value", notify_tmpl(ctx, a->value));
            if (a->has_confirm) {
                bool cf = true;
                notify_json_key(b, &af, "confirm");
                vg_buf_putc(b, '{');
                opt_str(b, &cf, "text", notify_tmpl(ctx, a->confirm_text));
                opt_str(b, &cf, "title", notify_tmpl(ctx, a->confirm_title));
                opt_str(b, &cf, "ok_text", notify_tmpl(ctx, a->confirm_ok_text));
                opt_str(b, &cf, "dismiss_text", notify_tmpl(ctx, a->confirm_dismiss_text));
                vg_buf_putc(b, '}');
            }
            vg_buf_putc(b, '}');
        }
        vg_buf_putc(b, ']');
    }
    opt_str(b, &f, "image_url", notify_tmpl(ctx, c->image_url));
    opt_str(b, &f, "thumb_url", notify_tmpl(ctx, c->thumb_url));
    req_str(b, &f, "footer", notify_tmpl(ctx, c->footer));
    opt_str(b, &f, "color", notify_tmpl(ctx, c->color));
    notify_json_key(b, &f, "mrkdwn_in");
    vg_buf_putc(b, '[');
    if (c->n_mrkdwn_in == 0) {
        vg_buf_puts(b, "\"fallback\",\"pretext\",\"text\"");
    } else {
        for (size_t i = 0; i < c->n_mrkdwn_in; i++) {
            if (i) vg_buf_putc(b, ',');
            notify_json_str(b, c->mrkdwn_in[i]);
        }
    }
    vg_buf_puts(b, "]}");
}

/* newer Alertmanagers' slackResponseHandler for a 2xx answer */
static int check_body(const notify_http_t *h, bool *retry, vg_err_t *err) {
    const char *body = h->resp_body.data ? h->resp_body.data : "";
    *retry = false;
    if (strncmp(h->resp_content_type, "application/json", 16) != 0) {
        if (strcmp(body, "ok") == 0) return 0;
        return vg_err_set(err, VG_ERR, "received an error response from Slack: %s", body);
    }
    json_error_t je;
    json_t *j = json_loadb(body, h->resp_body.len, 0, &je);
    if (!j || !json_is_object(j)) {
        *retry = true;
        vg_buf_t q = VG_BUF_INIT;
        labels_quote(&q, body, strlen(body));
        vg_err_set(err, VG_ERR, "could not unmarshal JSON response %s: %s", q.data, je.text);
        vg_buf_free(&q);
        json_decref(j);
        return VG_ERR;
    }
    int rc = 0;
    if (!json_is_true(json_object_get(j, "ok"))) {
        const char *e = json_string_value(json_object_get(j, "error"));
        rc = vg_err_set(err, VG_ERR, "error response from Slack: %s", e ? e : "");
    }
    json_decref(j);
    return rc;
}

int notify_slack_send(notify_ctx_t *ctx) {
    const alert_slack_config_t *c = ctx->in->conf;
    vg_buf_t body = VG_BUF_INIT, att = VG_BUF_INIT;
    put_attachment(ctx, c, &att);
    const char *channel = notify_tmpl(ctx, c->channel);
    bool f = true;
    vg_buf_putc(&body, '{');
    opt_str(&body, &f, "channel", channel);
    opt_str(&body, &f, "username", notify_tmpl(ctx, c->username));
    opt_str(&body, &f, "icon_emoji", notify_tmpl(ctx, c->icon_emoji));
    opt_str(&body, &f, "icon_url", notify_tmpl(ctx, c->icon_url));
    if (c->link_names) {
        notify_json_key(&body, &f, "link_names");
        vg_buf_puts(&body, "true");
    }
    notify_json_key(&body, &f, "attachments");
    vg_buf_putc(&body, '[');
    vg_buf_append(&body, att.data, att.len);
    vg_buf_puts(&body, "]}\n");
    vg_buf_free(&att);
    if (ctx->tmpl_failed) {
        vg_buf_free(&body);
        return notify_fail(ctx, false, "%s", ctx->tmpl_err.msg);
    }

    /* the URL: own, own file, then the global ones */
    const char *url = c->api_url, *file = c->api_url_file;
    const alert_global_t *g = ctx->cfg ? &ctx->cfg->global : NULL;
    if ((!url || !*url) && (!file || !*file) && g) {
        url = g->slack_api_url;
        file = g->slack_api_url_file;
    }
    char *file_url = NULL;
    if (!url || !*url) {
        vg_err_t e = {0};
        if (!file || !*file) {
            vg_buf_free(&body);
            return notify_fail(ctx, false, "slack: no api_url configured");
        }
        if (notify_read_file(file, true, &file_url, &e) != 0) {
            vg_buf_free(&body);
            return notify_fail(ctx, false, "%s", e.msg);
        }
        url = file_url;
    }

    notify_http_t h = {.url = url,
                       .body = body.data,
                       .body_len = body.len,
                       .http = c->base.http_config,
                       .timeout_ms = ctx->timeout_ms};
    vg_err_t e = {0};
    int rc = 0;
    if (notify_http_do(&h, &e) != 0) {
        /* notify.RedactURL: the webhook URL is a secret */
        char *p = strstr(e.msg, url);
        if (p && *url) {
            vg_buf_t m = VG_BUF_INIT;
            vg_buf_append(&m, e.msg, (size_t)(p - e.msg));
            vg_buf_puts(&m, "<redacted>");
            vg_buf_puts(&m, p + strlen(url));
            snprintf(e.msg, sizeof e.msg, "%s", m.data);
            vg_buf_free(&m);
        }
        rc = notify_fail(ctx, true, "%s", e.msg);
    } else {
        bool retry = false;
        const char *body_s = h.resp_body.data ? h.resp_body.data : "";
        rc = notify_http_check(h.status, body_s, NULL, 0, &retry, &e);
        if (rc == 0) rc = check_body(&h, &retry, &e);
        if (rc != 0) {
            vg_buf_t q = VG_BUF_INIT;
            labels_quote(&q, channel, strlen(channel));
            rc = notify_fail(ctx, retry, "channel %s: %s", q.data, e.msg);
            vg_buf_free(&q);
        }
    }
    vg_buf_free(&h.resp_body);
    vg_buf_free(&body);
    free(file_url);
    return rc;
}
