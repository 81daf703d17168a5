/* This file implements the storage endpoints of Prometheus's HTTP API:
 * remote_write, series, labels, label values, TSDB status and the admin
 * calls, plus VictoriaMetrics's raw export. */
#include "web_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

/* The range when start/end are absent: everything. */
#define API_MIN_TIME INT64_MIN
#define API_MAX_TIME INT64_MAX

/* ------------------------------------------------------------ helpers */

static tsdb_t *tsdb_or_reply(web_request_t *req, web_response_t *res) {
    tsdb_t *db = atomic_load(&req->app->tsdb);
    if (!db) web_reply_text(res, 503, "Service Unavailable");
    return db;
}

static void reply_json(web_response_t *res) {
    res->status = 200;
    res->content_type = "application/json";
}

/* The matcher sets of every match[] parameter; writes the 400 and returns
 * -1 on a bad selector. */
typedef struct match_sets {
    labels_matcher_t ***sets;
    size_t *lens;
    size_t n;
} match_sets_t;

static void match_sets_free(match_sets_t *m) {
    for (size_t i = 0; i < m->n; i++) {
        for (size_t k = 0; k < m->lens[i]; k++)
            labels_matcher_free(m->sets[i][k]);
        free(m->sets[i]);
    }
    free(m->sets);
    free(m->lens);
}

static int match_sets_or_reply(web_request_t *req, web_response_t *res, bool required,
                               match_sets_t *out) {
    memset(out, 0, sizeof *out);
    const char **values;
    size_t n = web_param_all(req, "match[]", &values);
    if (n == 0 && required) {
        web_reply_json_error(res, 400, "bad_data", "no match[] parameter provided");
        return -1;
    }
    out->sets = vg_calloc(n ? n : 1, sizeof *out->sets);
    out->lens = vg_calloc(n ? n : 1, sizeof *out->lens);
    for (size_t i = 0; i < n; i++) {
        vg_err_t err = {0};
        if (web_parse_selector(values[i], &out->sets[i], &out->lens[i], &err) != VG_OK) {
            match_sets_free(out);
            char msg[VG_ERR_MSG_MAX + 64];
            snprintf(msg, sizeof msg, "invalid parameter \"match[]\": %s", err.msg);
            web_reply_json_error(res, 400, "bad_data", msg);
            return -1;
        }
        out->n++;
    }
    return 0;
}

static int range_or_reply(web_request_t *req, web_response_t *res, int64_t *start, int64_t *end) {
    if (web_param_time_or_reply(req, res, "start", API_MIN_TIME, start) < 0 ||
        web_param_time_or_reply(req, res, "end", API_MAX_TIME, end) < 0)
        return -1;
    if (*end < *start) {
        web_reply_json_error(res, 400, "bad_data",
                             "invalid parameter \"end\": end timestamp must not be before start "
                             "time");
        return -1;
    }
    return 0;
}

static int limit_or_reply(web_request_t *req, web_response_t *res, size_t *out) {
    const char *v = web_param(req, "limit");
    *out = 0;
    if (!v || !*v) return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || n < 0) {
        web_reply_json_error(res, 400, "bad_data", "limit must be a non-negative integer");
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

/* -------------------------------------------------------- remote write */

static void handle_write(web_request_t *req, web_response_t *res) {
    tsdb_t *db = tsdb_or_reply(req, res);
    if (!db) return;
    vg_err_t err = {0};
    ingest_result_t r;
    int rc = ingest_remote_write(db, web_header(req, "Content-Type"),
                                 web_header(req, "Content-Encoding"), req->body, req->body_len, &r,
                                 &err);
    if (rc == VG_OK) {
        res->status = 204;
        res->content_type = NULL;
        return;
    }
    int status = rc == INGEST_ERR_MEDIA ? 415
                 : rc == VG_ERR_LIMIT   ? 413
                 : rc == VG_ERR_IO      ? 500
                                        : 400;
    if (status >= 500)
        vg_log_error("Error while remote writing the v1 request", "err", err.msg, NULL);
    /* Go's http.Error: the message and a newline, as text. */
    vg_buf_t msg = VG_BUF_INIT;
    vg_buf_printf(&msg, "%s\n", err.msg);
    web_reply_text(res, status, msg.data);
    vg_buf_free(&msg);
}

/* -------------------------------------------------------------- series */

static void handle_series(web_request_t *req, web_response_t *res) {
    tsdb_t *db = tsdb_or_reply(req, res);
    match_sets_t ms;
    int64_t start, end;
    size_t limit;
    if (!db || range_or_reply(req, res, &start, &end) < 0 || limit_or_reply(req, res, &limit) < 0 ||
        match_sets_or_reply(req, res, true, &ms) < 0)
        return;
    /* Several match[] are a union; a series matched twice is listed once. */
    tsdb_series_set_t **sets = vg_calloc(ms.n, sizeof *sets);
    for (size_t i = 0; i < ms.n; i++)
        tsdb_select(db, start, end, ms.sets[i], ms.lens[i], 0, &sets[i], NULL);
    size_t *pos = vg_calloc(ms.n, sizeof *pos);
    reply_json(res);
    vg_buf_t *b = &res->body;
    vg_buf_puts(b, "{\"status\":\"success\",\"data\":[");
    size_t written = 0;
    const labels_t *prev = NULL;
    for (;;) {
        const labels_t *best = NULL;
        size_t best_i = 0;
        for (size_t i = 0; i < ms.n; i++) {
            if (pos[i] >= tsdb_series_set_len(sets[i])) continue;
            const labels_t *l = tsdb_series_set_labels(sets[i], pos[i]);
            if (!best || labels_compare(l, best) < 0) best = l, best_i = i;
        }
        if (!best) break;
        pos[best_i]++;
        if (prev && labels_equal(prev, best)) continue;
        prev = best;
        if (limit && written == limit) break;
        if (written++) vg_buf_putc(b, ',');
        web_json_labels(b, best);
    }
    vg_buf_puts(b, "]");
    if (limit && written == limit) {
        bool more = false;
        for (size_t i = 0; i < ms.n && !more; i++)
            more = pos[i] < tsdb_series_set_len(sets[i]);
        if (more) vg_buf_puts(b, ",\"warnings\":[\"results truncated due to limit\"]");
    }
    vg_buf_puts(b, "}");
    for (size_t i = 0; i < ms.n; i++)
        tsdb_series_set_free(sets[i]);
    free(sets);
    free(pos);
    match_sets_free(&ms);
}

/* ------------------------------------------------------- labels, values */

static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void reply_strings(web_response_t *res, char **v, size_t n, size_t limit) {
    if (n > 1) qsort(v, n, sizeof *v, cmp_cstr);
    reply_json(res);
    vg_buf_t *b = &res->body;
    vg_buf_puts(b, "{\"status\":\"success\",\"data\":[");
    size_t written = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && strcmp(v[i], v[i - 1]) == 0) continue;
        if (limit && written == limit) break;
        if (written++) vg_buf_putc(b, ',');
        web_json_string(b, v[i], strlen(v[i]));
    }
    vg_buf_puts(b, "]");
    if (limit && written == limit && n > limit)
        vg_buf_puts(b, ",\"warnings\":[\"results truncated due to limit\"]");
    vg_buf_puts(b, "}");
}

/* Runs fetch for each match[] (or once without matchers) and merges. */
static void label_query(web_request_t *req, web_response_t *res, const char *name) {
    tsdb_t *db = tsdb_or_reply(req, res);
    match_sets_t ms;
    int64_t start, end;
    size_t limit;
    if (!db || range_or_reply(req, res, &start, &end) < 0 || limit_or_reply(req, res, &limit) < 0 ||
        match_sets_or_reply(req, res, false, &ms) < 0)
        return;
    char **all = NULL;
    size_t n_all = 0;
    size_t rounds = ms.n ? ms.n : 1;
    for (size_t i = 0; i < rounds; i++) {
        char **v;
        size_t n;
        labels_matcher_t *const *m = ms.n ? ms.sets[i] : NULL;
        size_t mn = ms.n ? ms.lens[i] : 0;
        if (name)
            tsdb_label_values(db, name, start, end, m, mn, &v, &n, NULL);
        else
            tsdb_label_names(db, start, end, m, mn, &v, &n, NULL);
        all = vg_realloc(all, (n_all + n + 1) * sizeof *all);
        memcpy(all + n_all, v, n * sizeof *v);
        n_all += n;
        free(v);
    }
    reply_strings(res, all, n_all, limit);
    tsdb_strings_free(all, n_all);
    match_sets_free(&ms);
}

static void handle_labels(web_request_t *req, web_response_t *res) { label_query(req, res, NULL); }

static void handle_label_values(web_request_t *req, web_response_t *res) {
    /* /api/v1/label/<name>/values */
    const char *p = req->path + strlen("/api/v1/label/");
    const char *slash = strchr(p, '/');
    if (!slash || strcmp(slash, "/values") != 0) {
        web_reply_text(res, 404, "404 page not found\n");
        return;
    }
    size_t n = (size_t)(slash - p);
    char *name = vg_arena_strndup(req->arena, p, n);
    /* Prometheus 3.x: a name may be given as U__<escaped> for UTF-8 names;
     * plain names must be valid label names. */
    if (!labels_name_valid(name, n, true)) {
        char msg[512];
        snprintf(msg, sizeof msg, "invalid label name: \"%.400s\"", name);
        web_reply_json_error(res, 400, "bad_data", msg);
        return;
    }
    label_query(req, res, name);
}

/* --------------------------------------------------------- status/tsdb */

static void stat_rows(vg_buf_t *b, const char *key, const tsdb_stat_row_t *rows, size_t n) {
    vg_buf_printf(b, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i) vg_buf_putc(b, ',');
        vg_buf_puts(b, "{\"name\":");
        web_json_string(b, rows[i].name, strlen(rows[i].name));
        vg_buf_printf(b, ",\"value\":%llu}", (unsigned long long)rows[i].value);
    }
    vg_buf_putc(b, ']');
}

static void handle_status_tsdb(web_request_t *req, web_response_t *res) {
    tsdb_t *db = tsdb_or_reply(req, res);
    if (!db) return;
    size_t limit = 10;
    const char *l = web_param(req, "limit");
    if (l && *l) {
        char *end;
        long long v = strtoll(l, &end, 10);
        if (*end || v < 1) {
            web_reply_json_error(res, 400, "bad_data", "limit must be a positive number");
            return;
        }
        limit = (size_t)v;
    }
    tsdb_head_stats_t hs;
    tsdb_head_stats(db, &hs);
    tsdb_cardinality_t c;
    tsdb_cardinality(db, limit, &c);
    reply_json(res);
    vg_buf_t *b = &res->body;
    uint64_t pairs = 0;
    for (size_t i = 0; i < c.n_values_by_label; i++)
        pairs += c.values_by_label[i].value;
    /* Prometheus reports an empty head's times as these sentinels. */
    long long mint = hs.n_series ? (long long)hs.min_time : 9223372036854775807LL;
    long long maxt = hs.n_series ? (long long)hs.max_time : -9223372036854775807LL - 1;
    vg_buf_printf(b,
                  "{\"status\":\"success\",\"data\":{\"headStats\":{\"numSeries\":%llu,"
                  "\"numLabelPairs\":%llu,\"chunkCount\":%llu,\"minTime\":%lld,\"maxTime\":%lld}",
                  (unsigned long long)hs.n_series, (unsigned long long)pairs,
                  (unsigned long long)hs.n_chunks, mint, maxt);
    stat_rows(b, "seriesCountByMetricName", c.series_by_metric, c.n_series_by_metric);
    stat_rows(b, "labelValueCountByLabelName", c.values_by_label, c.n_values_by_label);
    stat_rows(b, "memoryInBytesByLabelName", c.memory_by_label, c.n_memory_by_label);
    stat_rows(b, "seriesCountByLabelValuePair", c.series_by_pair, c.n_series_by_pair);
    vg_buf_puts(b, "}}");
    tsdb_cardinality_free(&c);
}

/* ------------------------------------------------------------- export */

static void export_value(vg_buf_t *b, double v) {
    /* JSON has no NaN or infinities; they are written as strings. */
    if (isnan(v))
        vg_buf_puts(b, "\"NaN\"");
    else if (isinf(v))
        vg_buf_puts(b, v > 0 ? "\"+Inf\"" : "\"-Inf\"");
    else
        vg_buf_put_float(b, v);
}

static void handle_export(web_request_t *req, web_response_t *res) {
    tsdb_t *db = tsdb_or_reply(req, res);
    match_sets_t ms;
    int64_t start, end;
    if (!db || range_or_reply(req, res, &start, &end) < 0 ||
        match_sets_or_reply(req, res, true, &ms) < 0)
        return;
    res->status = 200;
    res->content_type = "application/stream+json";
    vg_buf_t *b = &res->body;
    for (size_t m = 0; m < ms.n; m++) {
        tsdb_series_set_t *set;
        tsdb_select(db, start, end, ms.sets[m], ms.lens[m], 0, &set, NULL);
        vg_buf_t ts = VG_BUF_INIT;
        for (size_t i = 0; i < tsdb_series_set_len(set); i++) {
            vg_buf_puts(b, "{\"metric\":");
            web_json_labels(b, tsdb_series_set_labels(set, i));
            vg_buf_puts(b, ",\"values\":[");
            vg_buf_reset(&ts);
            tsdb_iter_t it;
            tsdb_iter_init(&it, set, i);
            bool first = true;
            while (tsdb_iter_next(&it) == 1) {
                if (!first) {
                    vg_buf_putc(b, ',');
                    vg_buf_putc(&ts, ',');
                }
                first = false;
                export_value(b, it.v);
                vg_buf_printf(&ts, "%lld", (long long)it.t);
            }
            tsdb_iter_done(&it);
            vg_buf_puts(b, "],\"timestamps\":[");
            if (ts.len) vg_buf_append(b, ts.data, ts.len);
            vg_buf_puts(b, "]}\n");
        }
        vg_buf_free(&ts);
        tsdb_series_set_free(set);
    }
    match_sets_free(&ms);
}

/* -------------------------------------------------------------- admin */

static bool admin_or_reply(web_request_t *req, web_response_t *res) {
    if (req->app->enable_admin_api) return true;
    web_reply_json_error(res, 503, "unavailable", "admin APIs disabled");
    return false;
}

static void handle_delete_series(web_request_t *req, web_response_t *res) {
    tsdb_t *db = tsdb_or_reply(req, res);
    match_sets_t ms;
    int64_t start, end;
    if (!db || !admin_or_reply(req, res) || range_or_reply(req, res, &start, &end) < 0 ||
        match_sets_or_reply(req, res, true, &ms) < 0)
        return;
    for (size_t i = 0; i < ms.n; i++) {
        vg_err_t err = {0};
        if (tsdb_delete(db, start, end, ms.sets[i], ms.lens[i], &err) != VG_OK) {
            web_reply_json_error(res, 500, "internal", err.msg);
            match_sets_free(&ms);
            return;
        }
    }
    match_sets_free(&ms);
    res->status = 204;
    res->content_type = NULL;
}

static void handle_clean_tombstones(web_request_t *req, web_response_t *res) {
    /* Deletions rewrite the head's chunks at once, so there is nothing
     * left to clean; the call succeeds as Prometheus's does. */
    if (!tsdb_or_reply(req, res) || !admin_or_reply(req, res)) return;
    res->status = 204;
    res->content_type = NULL;
}

static void handle_snapshot(web_request_t *req, web_response_t *res) {
    tsdb_t *db = tsdb_or_reply(req, res);
    if (!db || !admin_or_reply(req, res)) return;
    const char *skip = web_param(req, "skip_head");
    bool skip_head = skip && (strcmp(skip, "true") == 0 || strcmp(skip, "1") == 0);
    if (skip && *skip && !skip_head && strcmp(skip, "false") != 0 && strcmp(skip, "0") != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "unable to parse boolean 'skip_head' argument: %.100s", skip);
        web_reply_json_error(res, 400, "bad_data", msg);
        return;
    }
    char name[64];
    vg_err_t err = {0};
    if (tsdb_snapshot(db, skip_head, name, sizeof name, &err) != VG_OK) {
        char msg[VG_ERR_MSG_MAX + 32];
        snprintf(msg, sizeof msg, "create snapshot: %s", err.msg);
        web_reply_json_error(res, 500, "internal", msg);
        return;
    }
    reply_json(res);
    vg_buf_printf(&res->body, "{\"status\":\"success\",\"data\":{\"name\":\"%s\"}}", name);
}

/* Registered in handlers.c's route table. */
const web_route_t web_tsdb_routes[] = {
    {"/api/v1/write", false, WEB_POST, "/api/v1/write", handle_write, NULL},
    {"/api/v1/series", false, WEB_GET | WEB_POST, "/api/v1/series", handle_series, NULL},
    {"/api/v1/labels", false, WEB_GET | WEB_POST, "/api/v1/labels", handle_labels, NULL},
    {"/api/v1/label/", true, WEB_GET, "/api/v1/label/:name/values", handle_label_values, NULL},
    {"/api/v1/status/tsdb", false, WEB_GET, "/api/v1/status/tsdb", handle_status_tsdb, NULL},
    {"/api/v1/export", false, WEB_GET | WEB_POST, "/api/v1/export", handle_export, NULL},
    {"/api/v1/admin/tsdb/delete_series", false, WEB_POST | WEB_PUT,
     "/api/v1/admin/tsdb/delete_series", handle_delete_series, NULL},
    {"/api/v1/admin/tsdb/clean_tombstones", false, WEB_POST | WEB_PUT,
     "/api/v1/admin/tsdb/clean_tombstones", handle_clean_tombstones, NULL},
    {"/api/v1/admin/tsdb/snapshot", false, WEB_POST | WEB_PUT, "/api/v1/admin/tsdb/snapshot",
     handle_snapshot, NULL},
    {NULL, false, 0, NULL, NULL, NULL},
};
