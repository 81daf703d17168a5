/* This file implements the Pushgateway endpoints (PUT/POST/DELETE
 * /metrics/job/..., the pushed groups for scraping at /pushgateway/metrics
 * and Pushgateway's JSON at /api/v1/metrics, PUT /api/v1/admin/wipe) and
 * VictoriaMetrics's POST /api/v1/import/prometheus. Answers follow the
 * peers: Go's http.Error text bodies, 200/202 for pushes and deletes, 204
 * for an import that stored everything. */
#include "web_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

#define IMPORT_MAX_INFLATED (256u << 20)

/* ------------------------------------------------------- the push store */

/* The store (owned by the server root), or NULL after answering 503
 * while the tsdb is not open yet. */
static ingest_push_t *store_or_reply(web_request_t *req, web_response_t *res, tsdb_t **db) {
    *db = atomic_load(&req->app->tsdb);
    ingest_push_t *p = atomic_load(&req->app->push);
    if (!*db || !p) {
        web_reply_text(res, 503, "Service Unavailable");
        return NULL;
    }
    return p;
}

/* Go's http.Error: the message and a newline. */
static void reply_go_error(web_response_t *res, int status, const char *msg) {
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_printf(&b, "%s\n", msg);
    web_reply_text(res, status, b.data);
    web_add_header(res, "X-Content-Type-Options", "nosniff");
    vg_buf_free(&b);
}

/* ------------------------------------------------------------- pushing */

static void handle_push(web_request_t *req, web_response_t *res) {
    /* "/metrics/job/" with no job: Go's router redirects to the path
     * without the slash, which then is not found. */
    if (strcmp(req->path, "/metrics/job/") == 0 || strcmp(req->path, "/metrics/job@base64/") == 0) {
        res->status = 307;
        res->content_type = NULL;
        web_add_header(res, "Location",
                       req->path[12] == '@' ? "/metrics/job@base64" : "/metrics/job");
        return;
    }
    tsdb_t *db;
    ingest_push_t *p = store_or_reply(req, res, &db);
    if (!p) return;
    ingest_push_method_t m = strcmp(req->method, "PUT") == 0    ? INGEST_PUSH_PUT
                             : strcmp(req->method, "POST") == 0 ? INGEST_PUSH_POST
                                                                : INGEST_PUSH_DELETE;
    vg_err_t err = {0};
    int rc =
        ingest_push_handle(p, db, m, req->path, web_header(req, "Content-Type"),
                           web_header(req, "Content-Encoding"), req->body, req->body_len, 0, &err);
    if (rc == VG_OK) {
        res->status = m == INGEST_PUSH_DELETE ? 202 : 200;
        res->content_type = NULL;
        return;
    }
    if (rc == VG_ERR_NOTFOUND) {
        reply_go_error(res, 404, "404 page not found");
        return;
    }
    if (rc == VG_ERR_IO) {
        vg_log_error("Cannot store a push", "err", err.msg, NULL);
        reply_go_error(res, 500, err.msg);
        return;
    }
    reply_go_error(res, 400, err.msg);
}

static void handle_pushed_metrics(web_request_t *req, web_response_t *res) {
    tsdb_t *db;
    ingest_push_t *p = store_or_reply(req, res, &db);
    if (!p) return;
    res->status = 200;
    res->content_type = EXPFMT_CONTENT_TYPE_TEXT;
    ingest_push_render(p, &res->body);
}

static void handle_api_metrics(web_request_t *req, web_response_t *res) {
    tsdb_t *db;
    ingest_push_t *p = store_or_reply(req, res, &db);
    if (!p) return;
    res->status = 200;
    res->content_type = "application/json";
    ingest_push_render_json(p, &res->body);
}

static void handle_wipe(web_request_t *req, web_response_t *res) {
    /* Pushgateway registers the route only with its admin API enabled. */
    if (!req->app->enable_admin_api) {
        reply_go_error(res, 404, "404 page not found");
        return;
    }
    tsdb_t *db;
    ingest_push_t *p = store_or_reply(req, res, &db);
    if (!p) return;
    vg_err_t err = {0};
    if (ingest_push_wipe(p, db, &err) != VG_OK) {
        reply_go_error(res, 500, err.msg);
        return;
    }
    res->status = 202;
    res->content_type = NULL;
}

/* -------------------------------------------------------------- import */

static void handle_import(web_request_t *req, web_response_t *res) {
    tsdb_t *db = atomic_load(&req->app->tsdb);
    if (!db) {
        web_reply_text(res, 503, "Service Unavailable");
        return;
    }
    ingest_import_options_t o = {.default_ts_ms = vg_time_now_ms()};
    const char *ts = web_param(req, "timestamp");
    if (ts && *ts) {
        char *end;
        long long v = strtoll(ts, &end, 10);
        if (*end) {
            reply_go_error(res, 400, "cannot parse the timestamp query arg: want milliseconds");
            return;
        }
        o.default_ts_ms = v;
    }
    const char **extra;
    size_t n_extra = web_param_all(req, "extra_label", &extra);
    labels_label_t *pairs = n_extra ? vg_arena_alloc(req->arena, n_extra * sizeof *pairs) : NULL;
    if (n_extra && !pairs) {
        reply_go_error(res, 413, "too many extra_label parameters");
        return;
    }
    for (size_t i = 0; i < n_extra; i++) {
        const char *eq = strchr(extra[i], '=');
        if (!eq || eq == extra[i] || !labels_name_valid_legacy(extra[i], (size_t)(eq - extra[i]))) {
            char msg[VG_ERR_MSG_MAX];
            snprintf(msg, sizeof msg,
                     "invalid extra_label %.200s: want name=value with a valid label name",
                     extra[i]);
            reply_go_error(res, 400, msg);
            return;
        }
        pairs[i] = (labels_label_t){extra[i], eq + 1, (size_t)(eq - extra[i]), strlen(eq + 1)};
    }
    o.extra = pairs;
    o.n_extra = n_extra;
    ingest_import_result_t r;
    vg_err_t err = {0};
    int rc =
        ingest_import_body(db, web_header(req, "Content-Type"), web_header(req, "Content-Encoding"),
                           req->body, req->body_len, IMPORT_MAX_INFLATED, &o, &r, &err);
    if (rc != VG_OK) {
        int status = rc == INGEST_ERR_MEDIA ? 415
                     : rc == VG_ERR_LIMIT   ? 413
                     : rc == VG_ERR_INPUT   ? 400
                                            : 500;
        char msg[VG_ERR_MSG_MAX + 64];
        snprintf(msg, sizeof msg, "%s%s", status == 400 ? "cannot parse the request body: " : "",
                 err.msg);
        if (status == 500) vg_log_error("Cannot import samples", "err", err.msg, NULL);
        reply_go_error(res, status, msg);
        return;
    }
    uint64_t skipped = r.out_of_order + r.duplicates + r.too_old + r.invalid;
    if (skipped == 0) {
        res->status = 204;
        res->content_type = NULL;
        return;
    }
    /* Some samples were refused by the store: say which, still a success. */
    res->status = 200;
    res->content_type = "application/json";
    vg_buf_printf(&res->body,
                  "{\"status\":\"success\",\"data\":{\"samplesImported\":%llu,"
                  "\"samplesSkipped\":%llu,\"outOfOrder\":%llu,\"duplicates\":%llu,"
                  "\"tooOld\":%llu,\"invalid\":%llu}}",
                  (unsigned long long)r.samples, (unsigned long long)skipped,
                  (unsigned long long)r.out_of_order, (unsigned long long)r.duplicates,
                  (unsigned long long)r.too_old, (unsigned long long)r.invalid);
}

/* Registered in server.c's route table. */
const web_route_t web_push_routes[] = {
    {"/metrics/job/", true, WEB_PUT | WEB_POST | WEB_DELETE, "/metrics/job", handle_push, NULL},
    {"/metrics/job@base64/", true, WEB_PUT | WEB_POST | WEB_DELETE, "/metrics/job@base64",
     handle_push, NULL},
    {"/pushgateway/metrics", false, WEB_GET, "/pushgateway/metrics", handle_pushed_metrics, NULL},
    {"/api/v1/metrics", false, WEB_GET, "/api/v1/metrics", handle_api_metrics, NULL},
    {"/api/v1/admin/wipe", false, WEB_PUT, "/api/v1/admin/wipe", handle_wipe, NULL},
    {"/api/v1/import/prometheus", false, WEB_POST, "/api/v1/import/prometheus", handle_import,
     NULL},
    {NULL, false, 0, NULL, NULL, NULL},
};
