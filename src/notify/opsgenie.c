/* This file implements the OpsGenie integration (Alert API v2) as
 * Alertmanager builds its requests: a firing group creates an alert (and
 * with update_alerts also updates its message and description), a
 * resolved one closes it; the alias is the SHA-256 of the group key, the
 * message is cut to 130 runes, details are the common labels overlaid
 * with the configured details, tags and actions are comma lists, and a
 * "teams" responder becomes one team per name. Requests go one after the
 * other with "Authorization: GenieKey <key>" and stop at the first
 * failure. */
#include "notify/notify_int.h"

#include <stdlib.h>
#include <string.h>

#define OG_MAX_MESSAGE_RUNES 130

static void opt_str(vg_buf_t *b, bool *first, const char *key, const char *value) {
    if (!value || !*value) return;
    notify_json_key(b, first, key);
    notify_json_str(b, value);
}

/* s without leading and trailing white space (Go's strings.TrimSpace). */
static const char *trim_span(const char *s, size_t *len) {
    while (*s && strchr(" \t\n\r\v\f", *s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && strchr(" \t\n\r\v\f", s[n - 1]))
        n--;
    *len = n;
    return s;
}

/* Go's safeSplit: the parts of s (trimmed) between commas, empty ones
 * dropped, as a JSON array under key; nothing when there are none. */
static void put_list(vg_buf_t *b, bool *first, const char *key, const char *s) {
    size_t len = 0;
    s = trim_span(s, &len);
    bool any = false;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && s[j] != ',')
            j++;
        if (j > i) {
            if (!any) {
                notify_json_key(b, first, key);
                vg_buf_putc(b, '[');
            } else {
                vg_buf_putc(b, ',');
            }
            any = true;
            vg_buf_putc(b, '"');
            vg_buf_put_json_escaped(b, s + i, j - i);
            vg_buf_putc(b, '"');
        }
        i = j + 1;
    }
    if (any) vg_buf_putc(b, ']');
}

typedef struct og_req {
    const char *method;
    char *url;
    vg_buf_t body;
} og_req_t;

/* api_url with path appended (before any query) and, when alias_query,
 * identifierType=alias added to the query. */
static char *endpoint(const char *api_url, const char *path, bool alias_query) {
    vg_buf_t u = VG_BUF_INIT;
    const char *q = strchr(api_url, '?');
    size_t base = q ? (size_t)(q - api_url) : strlen(api_url);
    vg_buf_append(&u, api_url, base);
    vg_buf_puts(&u, path);
    if (q && q[1]) {
        vg_buf_puts(&u, q);
        if (alias_query) vg_buf_puts(&u, "&identifierType=alias");
    } else if (alias_query) {
        vg_buf_puts(&u, "?identifierType=alias");
    }
    return vg_buf_detach(&u);
}

static void put_details(notify_ctx_t *ctx, const alert_opsgenie_config_t *c, vg_buf_t *b) {
    /* common labels, then the configured details over them (the last of
     * equal keys wins, as in a Go map), keys sorted */
    const template_map_t *cl = ctx->data->common_labels;
    size_t n = (cl ? cl->n : 0) + c->n_details;
    template_map_t m = {0, vg_calloc(n + 1, sizeof(template_map_entry_t)), TEMPLATE_STRING};
    for (size_t i = 0; cl && i < cl->n; i++) {
        bool overridden = false;
        for (size_t k = 0; k < c->n_details && !overridden; k++)
            overridden = strcmp(c->details[k].name, cl->entries[i].key) == 0;
        if (!overridden) m.entries[m.n++] = cl->entries[i];
    }
    for (size_t i = 0; i < c->n_details; i++) {
        const char *v = notify_tmpl(ctx, c->details[i].value);
        bool later = false;
        for (size_t k = i + 1; k < c->n_details && !later; k++)
            later = strcmp(c->details[k].name, c->details[i].name) == 0;
        if (later) continue;
        m.entries[m.n].key = c->details[i].name;
        m.entries[m.n].key_len = strlen(c->details[i].name);
        m.entries[m.n].value = template_cstr(v);
        m.n++;
    }
    template_map_sort(&m);
    notify_json_map(b, &m);
    free(m.entries);
}

int notify_opsgenie_send(notify_ctx_t *ctx) {
    const alert_opsgenie_config_t *c = ctx->in->conf;
    const alert_global_t *g = ctx->cfg ? &ctx->cfg->global : NULL;
    const char *api_url = c->api_url && *c->api_url  ? c->api_url
                          : g && g->opsgenie_api_url ? g->opsgenie_api_url
                                                     : "https://api.opsgenie.com/";
    char alias[65];
    notify_hash_key(ctx->group_key, alias);
    og_req_t reqs[3];
    size_t n_reqs = 0;
    memset(reqs, 0, sizeof reqs);
    int rc = 0;
    vg_buf_t path = VG_BUF_INIT;
    vg_buf_t details = VG_BUF_INIT;
    put_details(ctx, c, &details);

    if (strcmp(ctx->data->status ? ctx->data->status : "", "resolved") == 0) {
        vg_buf_printf(&path, "v2/alerts/%s/close", alias);
        og_req_t *r = &reqs[n_reqs++];
        r->method = "POST";
        r->url = endpoint(api_url, path.data, true);
        bool f = true;
        vg_buf_putc(&r->body, '{');
        notify_json_key(&r->body, &f, "source");
        notify_json_str(&r->body, notify_tmpl(ctx, c->source));
        vg_buf_puts(&r->body, "}\n");
    } else {
        vg_buf_t msg = VG_BUF_INIT;
        if (notify_truncate_runes(notify_tmpl(ctx, c->message), OG_MAX_MESSAGE_RUNES, &msg))
            vg_log_warn("Truncated message", "integration", "opsgenie", "alert", ctx->group_key,
                        NULL);
        if (!msg.data) vg_buf_puts(&msg, "");
        const char *desc = notify_tmpl(ctx, c->description);
        og_req_t *r = &reqs[n_reqs++];
        r->method = "POST";
        r->url = endpoint(api_url, "v2/alerts", false);
        vg_buf_t *b = &r->body;
        bool f = true;
        vg_buf_putc(b, '{');
        notify_json_key(b, &f, "alias");
        notify_json_str(b, alias);
        notify_json_key(b, &f, "message");
        notify_json_str(b, msg.data);
        opt_str(b, &f, "description", desc);
        notify_json_key(b, &f, "details");
        vg_buf_append(b, details.data, details.len);
        notify_json_key(b, &f, "source");
        notify_json_str(b, notify_tmpl(ctx, c->source));
        bool any = false;
        for (size_t i = 0; i < c->n_responders; i++) {
            const alert_opsgenie_responder_t *rs = &c->responders[i];
            const char *id = notify_tmpl(ctx, rs->id), *name = notify_tmpl(ctx, rs->name);
            const char *user = notify_tmpl(ctx, rs->username), *type = notify_tmpl(ctx, rs->type);
            if (!*id && !*name && !*user && !*type) continue; /* filled from labels, empty */
            if (strcmp(type, "teams") == 0) {
                /* one team per comma-separated name (Go's safeSplit) */
                size_t len = 0;
                const char *p = trim_span(name, &len);
                for (size_t i = 0; i < len;) {
                    size_t j = i;
                    while (j < len && p[j] != ',')
                        j++;
                    if (j > i) {
                        char *team = vg_strndup(p + i, j - i);
                        if (!any) {
                            notify_json_key(b, &f, "responders");
                            vg_buf_putc(b, '[');
                        } else {
                            vg_buf_putc(b, ',');
                        }
                        any = true;
                        vg_buf_puts(b, "{\"name\":");
                        notify_json_str(b, notify_tmpl(ctx, team));
                        vg_buf_puts(b, ",\"type\":\"team\"}");
                        free(team);
                    }
                    i = j + 1;
                }
                continue;
            }
            if (!any) {
                notify_json_key(b, &f, "responders");
                vg_buf_putc(b, '[');
            } else {
                vg_buf_putc(b, ',');
            }
            any = true;
            bool rf = true;
            vg_buf_putc(b, '{');
            opt_str(b, &rf, "id", id);
            opt_str(b, &rf, "name", name);
            opt_str(b, &rf, "username", user);
            notify_json_key(b, &rf, "type");
            notify_json_str(b, type);
            vg_buf_putc(b, '}');
        }
        if (any) vg_buf_putc(b, ']');
        put_list(b, &f, "tags", notify_tmpl(ctx, c->tags));
        opt_str(b, &f, "note", notify_tmpl(ctx, c->note));
        opt_str(b, &f, "priority", notify_tmpl(ctx, c->priority));
        opt_str(b, &f, "entity", notify_tmpl(ctx, c->entity));
        put_list(b, &f, "actions", notify_tmpl(ctx, c->actions));
        vg_buf_puts(b, "}\n");

        if (c->update_alerts) {
            bool uf = true;
            r = &reqs[n_reqs++];
            r->method = "PUT";
            vg_buf_printf(&path, "v2/alerts/%s/message", alias);
            r->url = endpoint(api_url, path.data, true);
            vg_buf_putc(&r->body, '{');
            opt_str(&r->body, &uf, "message", msg.data);
            vg_buf_puts(&r->body, "}\n");
            uf = true;
            r = &reqs[n_reqs++];
            r->method = "PUT";
            vg_buf_reset(&path);
            vg_buf_printf(&path, "v2/alerts/%s/description", alias);
            r->url = endpoint(api_url, path.data, true);
            vg_buf_putc(&r->body, '{');
            opt_str(&r->body, &uf, "description", desc);
            vg_buf_puts(&r->body, "}\n");
        }
        vg_buf_free(&msg);
    }

    /* the key: own, own file, global (read after the bodies, as Alertmanager) */
    const char *raw_key = c->api_key, *key_file = c->api_key_file;
    if ((!raw_key || !*raw_key) && (!key_file || !*key_file) && g) {
        raw_key = g->opsgenie_api_key;
        key_file = g->opsgenie_api_key_file;
    }
    char *file_key = NULL;
    if (!raw_key || !*raw_key) {
        vg_err_t e = {0};
        if (notify_read_file(key_file ? key_file : "", false, &file_key, &e) != 0) {
            rc = notify_fail(ctx, false, "read key_file error: %s", e.msg);
            goto out;
        }
        raw_key = file_key;
    }
    const char *key = notify_tmpl(ctx, raw_key);
    if (ctx->tmpl_failed) {
        rc = notify_fail(ctx, false, "templating error: %s", ctx->tmpl_err.msg);
        goto out;
    }
    vg_buf_t auth = VG_BUF_INIT;
    vg_buf_printf(&auth, "Authorization: GenieKey %s", key);
    const char *hdrs[] = {auth.data};
    static const int retry_codes[] = {429};
    for (size_t i = 0; i < n_reqs && rc == 0; i++) {
        notify_http_t h = {.method = reqs[i].method,
                           .url = reqs[i].url,
                           .body = reqs[i].body.data,
                           .body_len = reqs[i].body.len,
                           .headers = hdrs,
                           .n_headers = 1,
                           .http = c->base.http_config,
                           .timeout_ms = ctx->timeout_ms};
        vg_err_t e = {0};
        if (notify_http_do(&h, &e) != 0)
            rc = notify_fail(ctx, true, "%s", e.msg);
        else
            rc =
                notify_http_check(h.status, h.resp_body.data, retry_codes, 1, ctx->retry, ctx->err);
        vg_buf_free(&h.resp_body);
    }
    vg_buf_free(&auth);
out:
    for (size_t i = 0; i < n_reqs; i++) {
        free(reqs[i].url);
        vg_buf_free(&reqs[i].body);
    }
    free(file_key);
    vg_buf_free(&path);
    vg_buf_free(&details);
    return rc;
}
