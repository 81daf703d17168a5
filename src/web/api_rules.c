/* This file implements the rule endpoints of Prometheus's HTTP API:
 * /api/v1/rules (with the type, rule_name[], rule_group[], file[], match[],
 * exclude_alerts, group_limit and group_next_token parameters),
 * /api/v1/alerts and /api/v1/alertmanagers, in Prometheus 3.x's JSON shape:
 * the same field order, times as Go's time.Time, alert values as strings in
 * Go's 'e' format. */
#include "web_int.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "labels/labels.h"
#include "rules/rules.h"

static void jstr(vg_buf_t *b, const char *s, size_t n) {
    vg_buf_putc(b, '"');
    vg_buf_put_json_escaped(b, s, n);
    vg_buf_putc(b, '"');
}

static void jstr_s(vg_buf_t *b, const char *s) { jstr(b, s, strlen(s)); }

/* A float64 as Go's encoding/json writes it: shortest digits, 'f' form
 * unless the magnitude is below 1e-6 or at least 1e21. */
static void jfloat(vg_buf_t *b, double v) {
    if (!isfinite(v)) {
        vg_buf_puts(b, "0");
        return;
    }
    double a = fabs(v);
    char tmp[64];
    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        size_t n = vg_format_float(v, tmp);
        char *e = strstr(tmp, "e-0");
        if (e) memmove(e + 2, e + 3, (size_t)(tmp + n - (e + 3)) + 1);
        vg_buf_puts(b, tmp);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        if (strtod(tmp, NULL) != v) continue;
        int exp = atoi(strchr(tmp, 'e') + 1);
        int dec = p - 1 - exp;
        snprintf(tmp, sizeof tmp, "%.*f", dec > 0 ? dec : 0, v);
        vg_buf_puts(b, tmp);
        return;
    }
    vg_buf_printf(b, "%.17g", v);
}

static void jtime(vg_buf_t *b, int64_t ns) {
    char t[48];
    rules_format_time(ns, t);
    vg_buf_printf(b, "\"%s\"", t);
}

static void jalert(vg_buf_t *b, const rules_alert_info_t *a) {
    vg_buf_puts(b, "{\"labels\":");
    labels_format_json(a->labels, b);
    vg_buf_puts(b, ",\"annotations\":");
    labels_format_json(a->annotations, b);
    vg_buf_puts(b, ",\"state\":");
    jstr_s(b, rules_alert_state_name(a->state));
    vg_buf_puts(b, ",\"activeAt\":");
    jtime(b, a->active_at);
    if (a->keep_firing_since) {
        vg_buf_puts(b, ",\"keepFiringSince\":");
        jtime(b, a->keep_firing_since);
    }
    char v[VG_FLOAT_MAX_LEN];
    rules_format_value(a->value, v);
    vg_buf_printf(b, ",\"value\":\"%s\"}", v);
}

static void reply_bad_param(web_response_t *res, const char *param, const char *why) {
    vg_buf_t m = VG_BUF_INIT;
    vg_buf_printf(&m, "invalid parameter \"%s\": %s", param, why);
    web_reply_json_error(res, 400, "bad_data", m.data);
    vg_buf_free(&m);
}

static bool in_set(const char **set, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(set[i], s) == 0) return true;
    return false;
}

/* sha256(file;group) in hex: Prometheus's group_next_token. */
static void group_token(const char *file, const char *name, char out[65]) {
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_printf(&b, "%s;%s", file, name);
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(b.data, b.len, md, &len, EVP_sha256(), NULL);
    vg_buf_free(&b);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

typedef struct matcher_set {
    labels_matcher_t **m;
    size_t n;
} matcher_set_t;

static bool rule_matches(const matcher_set_t *sets, size_t n_sets, const labels_t *ls) {
    if (n_sets == 0) return true;
    for (size_t s = 0; s < n_sets; s++) {
        bool all = true;
        for (size_t i = 0; i < sets[s].n && all; i++)
            all = labels_matcher_matches_labels(sets[s].m[i], ls);
        if (all) return true;
    }
    return false;
}

static void free_sets(matcher_set_t *sets, size_t n) {
    for (size_t s = 0; s < n; s++) {
        for (size_t i = 0; i < sets[s].n; i++)
            labels_matcher_free(sets[s].m[i]);
        free(sets[s].m);
    }
    free(sets);
}

static void handle_rules(web_request_t *req, web_response_t *res) {
    const char **rn, **rg, **files, **matches;
    size_t n_rn = web_param_all(req, "rule_name[]", &rn);
    size_t n_rg = web_param_all(req, "rule_group[]", &rg);
    size_t n_files = web_param_all(req, "file[]", &files);
    size_t n_match = web_param_all(req, "match[]", &matches);
    matcher_set_t *sets = vg_calloc(n_match ? n_match : 1, sizeof *sets);
    for (size_t i = 0; i < n_match; i++) {
        vg_err_t err = {0};
        if (web_parse_selector(matches[i], &sets[i].m, &sets[i].n, &err) != VG_OK) {
            free_sets(sets, i);
            web_reply_json_error(res, 400, "bad_data", err.msg);
            return;
        }
    }
    const char *type = web_param(req, "type");
    bool want_alert = true, want_record = true;
    if (type && *type) {
        if (strcasecmp(type, "alert") == 0)
            want_record = false;
        else if (strcasecmp(type, "record") == 0)
            want_alert = false;
        else {
            vg_buf_t m = VG_BUF_INIT;
            vg_buf_printf(&m, "not supported value \"%s\"", type);
            reply_bad_param(res, "type", m.data);
            vg_buf_free(&m);
            free_sets(sets, n_match);
            return;
        }
    }
    bool exclude_alerts = false;
    const char *ex = web_param(req, "exclude_alerts");
    if (ex && *ex) {
        if (strcasecmp(ex, "true") == 0 || strcmp(ex, "1") == 0 || strcasecmp(ex, "t") == 0)
            exclude_alerts = true;
        else if (!(strcasecmp(ex, "false") == 0 || strcmp(ex, "0") == 0 ||
                   strcasecmp(ex, "f") == 0)) {
            vg_buf_t m = VG_BUF_INIT;
            vg_buf_printf(&m,
                          "error converting exclude_alerts: strconv.ParseBool: parsing \"%s\": "
                          "invalid syntax",
                          ex);
            reply_bad_param(res, "exclude_alerts", m.data);
            vg_buf_free(&m);
            free_sets(sets, n_match);
            return;
        }
    }
    const char *limit_s = web_param(req, "group_limit");
    const char *token = web_param(req, "group_next_token");
    long max_groups = -1;
    if (token && *token && !(limit_s && *limit_s)) {
        reply_bad_param(res, "group_next_token",
                        "group_limit needs to be present in order to paginate over the groups");
        free_sets(sets, n_match);
        return;
    }
    if (limit_s && *limit_s) {
        char *end;
        max_groups = strtol(limit_s, &end, 10);
        if (*end) {
            vg_buf_t m = VG_BUF_INIT;
            vg_buf_printf(&m,
                          "group_limit needs to be a valid number: strconv.ParseInt: parsing "
                          "\"%s\": invalid syntax",
                          limit_s);
            reply_bad_param(res, "group_limit", m.data);
            vg_buf_free(&m);
            free_sets(sets, n_match);
            return;
        }
        if (max_groups <= 0) {
            reply_bad_param(res, "group_limit", "group_limit needs to be greater than 0");
            free_sets(sets, n_match);
            return;
        }
    }
    if (max_groups <= 0) token = NULL;
    rules_manager_t *m = atomic_load(&req->app->rules);
    rules_snapshot_t *snap = m ? rules_manager_snapshot(m) : NULL;
    vg_buf_t *b = &res->body;
    vg_buf_t body = VG_BUF_INIT;
    vg_buf_puts(&body, "{\"status\":\"success\",\"data\":{\"groups\":[");
    size_t n_out = 0;
    bool found_token = false;
    char next[65] = "";
    for (size_t gi = 0; snap && gi < snap->n_groups; gi++) {
        const rules_group_info_t *g = &snap->groups[gi];
        char tok[65];
        group_token(g->file, g->name, tok);
        if (token && *token && !found_token) {
            if (strcmp(token, tok) != 0) continue;
            found_token = true;
        }
        if (n_rg && !in_set(rg, n_rg, g->name)) continue;
        if (n_files && !in_set(files, n_files, g->file)) continue;
        vg_buf_t gb = VG_BUF_INIT;
        size_t n_rules = 0;
        for (size_t ri = 0; ri < g->n_rules; ri++) {
            const rules_rule_info_t *r = &g->rules[ri];
            if (!rule_matches(sets, n_match, r->labels)) continue;
            if (n_rn && !in_set(rn, n_rn, r->name)) continue;
            if (r->is_alert ? !want_alert : !want_record) continue;
            if (n_rules++) vg_buf_putc(&gb, ',');
            vg_buf_putc(&gb, '{');
            if (r->is_alert) {
                vg_buf_puts(&gb, "\"state\":");
                jstr_s(&gb, rules_alert_state_name(r->state));
                vg_buf_putc(&gb, ',');
            }
            vg_buf_puts(&gb, "\"name\":");
            jstr_s(&gb, r->name);
            vg_buf_puts(&gb, ",\"query\":");
            jstr_s(&gb, r->query);
            if (r->is_alert) {
                vg_buf_puts(&gb, ",\"duration\":");
                jfloat(&gb, r->duration_s);
                vg_buf_puts(&gb, ",\"keepFiringFor\":");
                jfloat(&gb, r->keep_firing_for_s);
            }
            vg_buf_puts(&gb, ",\"labels\":");
            labels_format_json(r->labels, &gb);
            if (r->is_alert) {
                vg_buf_puts(&gb, ",\"annotations\":");
                labels_format_json(r->annotations, &gb);
                if (exclude_alerts) {
                    vg_buf_puts(&gb, ",\"alerts\":null");
                } else {
                    vg_buf_puts(&gb, ",\"alerts\":[");
                    for (size_t a = 0; a < r->n_alerts; a++) {
                        if (a) vg_buf_putc(&gb, ',');
                        jalert(&gb, &r->alerts[a]);
                    }
                    vg_buf_putc(&gb, ']');
                }
            }
            vg_buf_puts(&gb, ",\"health\":");
            jstr_s(&gb, rules_health_name(r->health));
            if (r->last_error && *r->last_error) {
                vg_buf_puts(&gb, ",\"lastError\":");
                jstr_s(&gb, r->last_error);
            }
            vg_buf_puts(&gb, ",\"evaluationTime\":");
            jfloat(&gb, r->eval_time_s);
            vg_buf_puts(&gb, ",\"lastEvaluation\":");
            jtime(&gb, r->last_eval);
            vg_buf_printf(&gb, ",\"type\":\"%s\"}", r->is_alert ? "alerting" : "recording");
        }
        if (n_rules == 0) {
            vg_buf_free(&gb);
            continue;
        }
        if (max_groups > 0 && n_out == (size_t)max_groups) {
            memcpy(next, tok, sizeof next);
            vg_buf_free(&gb);
            break;
        }
        if (n_out++) vg_buf_putc(&body, ',');
        vg_buf_puts(&body, "{\"name\":");
        jstr_s(&body, g->name);
        vg_buf_puts(&body, ",\"file\":");
        jstr_s(&body, g->file);
        vg_buf_puts(&body, ",\"rules\":[");
        vg_buf_append(&body, gb.data, gb.len);
        vg_buf_puts(&body, "],\"interval\":");
        jfloat(&body, g->interval_s);
        vg_buf_printf(&body, ",\"limit\":%lld,\"evaluationTime\":", (long long)g->limit);
        jfloat(&body, g->eval_time_s);
        vg_buf_puts(&body, ",\"lastEvaluation\":");
        jtime(&body, g->last_eval);
        vg_buf_putc(&body, '}');
        vg_buf_free(&gb);
    }
    rules_snapshot_free(snap);
    free_sets(sets, n_match);
    if (token && *token && !found_token) {
        vg_buf_free(&body);
        vg_buf_t msg = VG_BUF_INIT;
        vg_buf_printf(&msg, "invalid group_next_token '%s'. were rule groups changed?", token);
        reply_bad_param(res, "group_next_token", msg.data);
        vg_buf_free(&msg);
        return;
    }
    vg_buf_putc(&body, ']');
    if (next[0]) vg_buf_printf(&body, ",\"groupNextToken\":\"%s\"", next);
    vg_buf_puts(&body, "}}");
    res->status = 200;
    res->content_type = "application/json";
    vg_buf_free(b);
    *b = body;
}

static void handle_alerts(web_request_t *req, web_response_t *res) {
    rules_manager_t *m = atomic_load(&req->app->rules);
    rules_snapshot_t *snap = m ? rules_manager_snapshot(m) : NULL;
    vg_buf_t *b = &res->body;
    vg_buf_puts(b, "{\"status\":\"success\",\"data\":{\"alerts\":[");
    size_t n = 0;
    for (size_t gi = 0; snap && gi < snap->n_groups; gi++)
        for (size_t ri = 0; ri < snap->groups[gi].n_rules; ri++) {
            const rules_rule_info_t *r = &snap->groups[gi].rules[ri];
            for (size_t a = 0; r->is_alert && a < r->n_alerts; a++) {
                if (n++) vg_buf_putc(b, ',');
                jalert(b, &r->alerts[a]);
            }
        }
    vg_buf_puts(b, "]}}");
    rules_snapshot_free(snap);
    res->status = 200;
    res->content_type = "application/json";
}

static void handle_alertmanagers(web_request_t *req, web_response_t *res) {
    rules_manager_t *m = atomic_load(&req->app->rules);
    char **urls = NULL;
    size_t n = m ? rules_manager_alertmanagers(m, &urls) : 0;
    vg_buf_t *b = &res->body;
    vg_buf_puts(b, "{\"status\":\"success\",\"data\":{\"activeAlertmanagers\":[");
    for (size_t i = 0; i < n; i++) {
        vg_buf_puts(b, i ? ",{\"url\":" : "{\"url\":");
        jstr_s(b, urls[i]);
        vg_buf_putc(b, '}');
        free(urls[i]);
    }
    free(urls);
    vg_buf_puts(b, "],\"droppedAlertmanagers\":[]}}");
    res->status = 200;
    res->content_type = "application/json";
}

const web_route_t web_rules_routes[] = {
    {"/api/v1/rules", false, WEB_GET, "/api/v1/rules", handle_rules, NULL},
    {"/api/v1/alerts", false, WEB_GET, "/api/v1/alerts", handle_alerts, NULL},
    {"/api/v1/alertmanagers", false, WEB_GET, "/api/v1/alertmanagers", handle_alertmanagers, NULL},
    {NULL, false, 0, NULL, NULL, NULL},
};
