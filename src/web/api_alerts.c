/* This file implements the Alertmanager API v2 endpoints for alerts, alert
 * groups, receivers and status, in the JSON shapes Alertmanager 0.25's
 * go-swagger server writes: keys in its order, times as strfmt.DateTime
 * (RFC 3339 with milliseconds), error payloads as JSON strings. */
#include "web_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/alert.h"
#include "labels/labels.h"

#define NS_PER_MS INT64_C(1000000)

/* The Alertmanager, or NULL after answering 404 as a server without one. */
static alert_manager_t *am_or_reply(web_request_t *req, web_response_t *res) {
    alert_manager_t *m = atomic_load(&req->app->alertmanager);
    if (!m) web_reply_text(res, 404, "404 page not found\n");
    return m;
}

/* strfmt.DateTime: milliseconds always, UTC. */
static void jdatetime(vg_buf_t *b, int64_t ns) {
    char t[40];
    if (ns == VG_TIME_GO_ZERO) {
        vg_buf_puts(b, "\"0001-01-01T00:00:00.000Z\"");
        return;
    }
    int64_t ms = ns / NS_PER_MS - (ns % NS_PER_MS < 0);
    vg_time_format_rfc3339(ms, t);
    vg_buf_printf(b, "\"%s\"", t);
}

static void reply_json(web_response_t *res, vg_buf_t *body) {
    res->status = 200;
    res->content_type = "application/json";
    vg_buf_append(&res->body, body->data ? body->data : "", body->len);
    vg_buf_putc(&res->body, '\n');
}

static void put_alert(vg_buf_t *b, const alert_view_t *v) {
    const alert_alert_t *a = v->alert;
    vg_buf_puts(b, "{\"annotations\":");
    web_json_labels(b, a->annotations);
    vg_buf_puts(b, ",\"endsAt\":");
    jdatetime(b, a->ends_at_ns);
    vg_buf_printf(b, ",\"fingerprint\":\"%016" PRIx64 "\",\"receivers\":[", a->fp);
    for (size_t i = 0; i < v->n_receivers; i++) {
        vg_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        web_json_cstr(b, v->receivers[i]);
        vg_buf_putc(b, '}');
    }
    vg_buf_puts(b, "],\"startsAt\":");
    jdatetime(b, a->starts_at_ns);
    vg_buf_puts(b, ",\"status\":{\"inhibitedBy\":[");
    for (size_t i = 0; i < v->n_inhibited_by; i++)
        vg_buf_printf(b, "%s\"%016" PRIx64 "\"", i ? "," : "", v->inhibited_by[i]);
    vg_buf_puts(b, "],\"silencedBy\":[");
    for (size_t i = 0; i < v->n_silenced_by; i++)
        vg_buf_printf(b, "%s\"%s\"", i ? "," : "", v->silenced_by[i]);
    vg_buf_printf(b, "],\"state\":\"%s\"},\"updatedAt\":", v->suppressed ? "suppressed" : "active");
    jdatetime(b, a->updated_at_ns);
    if (a->generator_url[0]) {
        vg_buf_puts(b, ",\"generatorURL\":");
        web_json_cstr(b, a->generator_url);
    }
    vg_buf_puts(b, ",\"labels\":");
    web_json_labels(b, a->labels);
    vg_buf_putc(b, '}');
}

/* The filters of GET /api/v2/alerts and /api/v2/alerts/groups. */
typedef struct alert_filter {
    bool active, silenced, inhibited, unprocessed;
    alert_matcher_set_t **sets;
    size_t n_sets;
    labels_regex_t *receiver;
} alert_filter_t;

static bool bool_param(web_request_t *req, const char *name, bool def, bool *out,
                       web_response_t *res) {
    const char *v = web_param(req, name);
    if (!v) {
        *out = def;
        return true;
    }
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "t") == 0 ||
        strcmp(v, "T") == 0 || strcmp(v, "TRUE") == 0 || strcmp(v, "True") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "f") == 0 ||
        strcmp(v, "F") == 0 || strcmp(v, "FALSE") == 0 || strcmp(v, "False") == 0) {
        *out = false;
        return true;
    }
    vg_buf_t m = VG_BUF_INIT;
    vg_buf_printf(&m, "%s in query must be of type boolean: \"%s\"", name, v);
    web_reply_swagger_error(res, 400, 400, m.data);
    vg_buf_free(&m);
    return false;
}

static void filter_free(alert_filter_t *f) {
    for (size_t i = 0; i < f->n_sets; i++)
        alert_matcher_set_free(f->sets[i]);
    free(f->sets);
    if (f->receiver) labels_regex_free(f->receiver);
}

static bool filter_load(web_request_t *req, web_response_t *res, alert_filter_t *f) {
    memset(f, 0, sizeof *f);
    if (!bool_param(req, "active", true, &f->active, res) ||
        !bool_param(req, "silenced", true, &f->silenced, res) ||
        !bool_param(req, "inhibited", true, &f->inhibited, res) ||
        !bool_param(req, "unprocessed", true, &f->unprocessed, res))
        return false;
    const char **vals;
    size_t n = web_param_all(req, "filter", &vals);
    f->sets = vg_calloc(n ? n : 1, sizeof *f->sets);
    for (size_t i = 0; i < n; i++) {
        vg_err_t err = {0};
        alert_matcher_set_t *s = alert_matcher_set_parse(vals[i], strlen(vals[i]), &err);
        if (!s) {
            web_reply_json_string(res, 400, err.msg);
            filter_free(f);
            return false;
        }
        f->sets[f->n_sets++] = s;
    }
    const char *recv = web_param(req, "receiver");
    if (recv && *recv) {
        vg_err_t err = {0};
        if (labels_regex_new(recv, strlen(recv), &f->receiver, &err) != VG_OK) {
            web_reply_json_string(res, 400, err.msg);
            filter_free(f);
            return false;
        }
    }
    return true;
}

/* Alertmanager's matchFilterLabels: = and =~ need the label present. */
static bool matches_filter(const alert_filter_t *f, const alert_view_t *v) {
    for (size_t s = 0; s < f->n_sets; s++) {
        const alert_matcher_set_t *set = f->sets[s];
        for (size_t i = 0; i < set->n_matchers; i++) {
            const alert_matcher_t *m = &set->matchers[i];
            size_t vl = 0;
            const char *val = labels_get(v->alert->labels, m->name, strlen(m->name), &vl);
            bool neg = m->type == ALERT_MATCH_NOT_EQUAL || m->type == ALERT_MATCH_NOT_REGEXP;
            if (!neg && !val) return false;
            if (!alert_matcher_match_value(m, val ? val : "", vl)) return false;
        }
    }
    if (f->receiver) {
        bool any = false;
        for (size_t i = 0; !any && i < v->n_receivers; i++)
            any = labels_regex_match(f->receiver, v->receivers[i], strlen(v->receivers[i]));
        if (!any) return false;
    }
    bool silenced = v->n_silenced_by > 0, inhibited = v->n_inhibited_by > 0;
    if (!f->active && !v->suppressed) return false;
    if (!f->silenced && silenced) return false;
    if (!f->inhibited && inhibited) return false;
    return true;
}

static void handle_get_alerts(web_request_t *req, web_response_t *res) {
    alert_manager_t *m = am_or_reply(req, res);
    if (!m) return;
    alert_filter_t f;
    if (!filter_load(req, res, &f)) return;
    alert_views_t v;
    alert_manager_list_alerts(m, vg_time_now_ns(), &v);
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_putc(&b, '[');
    bool first = true;
    for (size_t i = 0; i < v.n_alerts; i++) {
        if (!matches_filter(&f, &v.alerts[i])) continue;
        if (!first) vg_buf_putc(&b, ',');
        first = false;
        put_alert(&b, &v.alerts[i]);
    }
    vg_buf_putc(&b, ']');
    reply_json(res, &b);
    vg_buf_free(&b);
    alert_views_free(&v);
    filter_free(&f);
}

static void handle_get_groups(web_request_t *req, web_response_t *res) {
    alert_manager_t *m = am_or_reply(req, res);
    if (!m) return;
    alert_filter_t f;
    if (!filter_load(req, res, &f)) return;
    alert_views_t v;
    alert_manager_list_groups(m, vg_time_now_ns(), &v);
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_putc(&b, '[');
    bool first_group = true;
    for (size_t g = 0; g < v.n_groups; g++) {
        const alert_group_view_t *gv = &v.groups[g];
        if (f.receiver && !labels_regex_match(f.receiver, gv->receiver, strlen(gv->receiver)))
            continue;
        size_t mark = b.len;
        if (!first_group) vg_buf_putc(&b, ',');
        vg_buf_puts(&b, "{\"alerts\":[");
        size_t n = 0;
        for (size_t i = 0; i < gv->n_alerts; i++) {
            if (!matches_filter(&f, &gv->alerts[i])) continue;
            if (n++) vg_buf_putc(&b, ',');
            put_alert(&b, &gv->alerts[i]);
        }
        if (!n) {
            /* Groups left without alerts are not listed. */
            b.len = mark;
            b.data[b.len] = '\0';
            continue;
        }
        first_group = false;
        vg_buf_puts(&b, "],\"labels\":");
        web_json_labels(&b, gv->labels);
        vg_buf_puts(&b, ",\"receiver\":{\"name\":");
        web_json_cstr(&b, gv->receiver);
        vg_buf_puts(&b, "}}");
    }
    vg_buf_putc(&b, ']');
    reply_json(res, &b);
    vg_buf_free(&b);
    alert_views_free(&v);
    filter_free(&f);
}

/* Reads a label-set object of the body into a label set. */
static int json_labels(json_t *o, const char *what, labels_t **out, vg_buf_t *msg) {
    *out = NULL;
    if (!o || json_is_null(o)) return 0;
    if (!json_is_object(o)) {
        vg_buf_printf(msg, "%s must be an object", what);
        return -1;
    }
    size_t n = json_object_size(o);
    labels_label_t *pairs = vg_calloc(n ? n : 1, sizeof *pairs);
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        if (!json_is_string(val)) {
            vg_buf_printf(msg, "%s.%s in body must be of type string", what, key);
            free(pairs);
            return -1;
        }
        pairs[k++] = (labels_label_t){.name = key,
                                      .name_len = strlen(key),
                                      .value = json_string_value(val),
                                      .value_len = json_string_length(val)};
    }
    vg_err_t err = {0};
    int rc = labels_from_pairs(pairs, k, out, &err);
    free(pairs);
    if (rc != VG_OK) {
        vg_buf_puts(msg, err.msg);
        return -1;
    }
    return 0;
}

static int json_time(json_t *o, const char *what, int64_t *out, vg_buf_t *msg) {
    *out = 0;
    if (!o || json_is_null(o)) return 0;
    if (!json_is_string(o) ||
        vg_time_parse_rfc3339(json_string_value(o), json_string_length(o), out) != 0) {
        vg_buf_printf(msg, "%s in body must be of type date-time: ", what);
        if (json_is_string(o)) vg_buf_printf(msg, "\"%s\"", json_string_value(o));
        return -1;
    }
    return 0;
}

static void handle_post_alerts(web_request_t *req, web_response_t *res) {
    alert_manager_t *m = am_or_reply(req, res);
    if (!m) return;
    if (!web_swagger_json_or_reply(req, res)) return;
    json_error_t jerr;
    json_t *root = json_loadb(req->body ? req->body : "", req->body_len, 0, &jerr);
    if (!root || !json_is_array(root)) {
        vg_buf_t msg = VG_BUF_INIT;
        vg_buf_printf(&msg, "parsing alerts body from \"\" failed, because %s",
                      root ? "json: cannot unmarshal into a list of alerts" : jerr.text);
        web_reply_swagger_error(res, 400, 400, msg.data);
        vg_buf_free(&msg);
        json_decref(root);
        return;
    }
    size_t n = json_array_size(root);
    alert_input_t *in = vg_calloc(n ? n : 1, sizeof *in);
    labels_t **owned = vg_calloc(2 * (n ? n : 1), sizeof *owned);
    vg_buf_t msg = VG_BUF_INIT;
    size_t k = 0;
    for (size_t i = 0; i < n && !msg.len; i++) {
        json_t *a = json_array_get(root, i);
        char what[64];
        if (!json_is_object(a)) {
            vg_buf_printf(&msg, "%zu in body must be of type object", i);
            break;
        }
        labels_t *ls = NULL, *ann = NULL;
        json_t *jl = json_object_get(a, "labels");
        snprintf(what, sizeof what, "%zu.labels", i);
        if (!jl) {
            vg_buf_printf(&msg, "%s in body is required", what);
            break;
        }
        if (json_labels(jl, what, &ls, &msg) != 0) break;
        owned[2 * k] = ls;
        snprintf(what, sizeof what, "%zu.annotations", i);
        if (json_labels(json_object_get(a, "annotations"), what, &ann, &msg) != 0) break;
        owned[2 * k + 1] = ann;
        in[k].labels = ls;
        in[k].annotations = ann;
        snprintf(what, sizeof what, "%zu.startsAt", i);
        if (json_time(json_object_get(a, "startsAt"), what, &in[k].starts_at_ns, &msg) != 0) break;
        snprintf(what, sizeof what, "%zu.endsAt", i);
        if (json_time(json_object_get(a, "endsAt"), what, &in[k].ends_at_ns, &msg) != 0) break;
        json_t *gu = json_object_get(a, "generatorURL");
        in[k].generator_url = json_is_string(gu) ? json_string_value(gu) : "";
        k++;
    }
    if (msg.len) {
        /* A malformed body stores nothing, as go-swagger's validation. */
        web_reply_swagger_error(res, 422, 422, msg.data);
    } else {
        vg_err_t err = {0};
        if (alert_manager_put(m, in, k, vg_time_now_ns(), &err) != VG_OK)
            web_reply_json_string(res, 400, err.msg);
        else
            res->status = 200;
    }
    for (size_t i = 0; i < 2 * (n ? n : 1); i++)
        if (owned[i]) labels_free(owned[i]);
    free(owned);
    free(in);
    vg_buf_free(&msg);
    json_decref(root);
}

static void handle_receivers(web_request_t *req, web_response_t *res) {
    alert_manager_t *m = am_or_reply(req, res);
    if (!m) return;
    alert_config_t *c = alert_manager_config(m);
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_putc(&b, '[');
    for (size_t i = 0; c && i < c->n_receivers; i++) {
        vg_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
        web_json_cstr(&b, c->receivers[i].name);
        vg_buf_putc(&b, '}');
    }
    vg_buf_putc(&b, ']');
    reply_json(res, &b);
    vg_buf_free(&b);
    if (c) alert_config_unref(c);
}

static void handle_status(web_request_t *req, web_response_t *res) {
    alert_manager_t *m = am_or_reply(req, res);
    if (!m) return;
    alert_config_t *c = alert_manager_config(m);
    const web_status_t *st = req->app->status;
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_puts(&b,
                "{\"cluster\":{\"peers\":[],\"status\":\"disabled\"},\"config\":{\"original\":");
    vg_buf_t yml = VG_BUF_INIT; /* Alertmanager serves its parsed config marshalled back */
    if (c) alert_config_marshal(c, &yml);
    web_json_string(&b, yml.data ? yml.data : "", yml.len);
    vg_buf_puts(&b, "},\"uptime\":");
    jdatetime(&b, alert_manager_start_time_ns(m));
    vg_buf_puts(&b, ",\"versionInfo\":{\"branch\":\"\",\"buildDate\":\"\",\"buildUser\":\"\","
                    "\"goVersion\":\"\",\"revision\":");
    web_json_cstr(&b, st && st->revision ? st->revision : "");
    vg_buf_puts(&b, ",\"version\":");
    web_json_cstr(&b, st && st->version ? st->version : "");
    vg_buf_puts(&b, "}}");
    reply_json(res, &b);
    vg_buf_free(&b);
    vg_buf_free(&yml);
    if (c) alert_config_unref(c);
}

static void handle_alerts(web_request_t *req, web_response_t *res) {
    if (strcmp(req->method, "POST") == 0)
        handle_post_alerts(req, res);
    else
        handle_get_alerts(req, res);
}

const web_route_t web_am_routes[] = {
    {"/api/v2/alerts", false, WEB_GET | WEB_POST, "/api/v2/alerts", handle_alerts, NULL},
    {"/api/v2/alerts/groups", false, WEB_GET, "/api/v2/alerts/groups", handle_get_groups, NULL},
    {"/api/v2/receivers", false, WEB_GET, "/api/v2/receivers", handle_receivers, NULL},
    {"/api/v2/status", false, WEB_GET, "/api/v2/status", handle_status, NULL},
    {NULL, false, 0, NULL, NULL, NULL},
};
