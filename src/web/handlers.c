/* This file implements the route table and the handlers of the health,
 * lifecycle and /metrics endpoints. Later API handlers join the table. */
#include "web_int.h"

#include <string.h>
#include <zlib.h>

/* ------------------------------------------------------------- metrics */

/* Compresses in into out with gzip; false when zlib fails. */
static bool gzip_buf(const vg_buf_t *in, vg_buf_t *out) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    size_t bound = deflateBound(&z, in->len);
    vg_buf_reserve(out, bound);
    z.next_in = (Bytef *)in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = (Bytef *)out->data;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    out->len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END;
}

static bool accepts_gzip(web_request_t *req) {
    const char *ae = web_header(req, "Accept-Encoding");
    return ae && strstr(ae, "gzip");
}

static void handle_metrics(web_request_t *req, web_response_t *res) {
    expfmt_format_t format = expfmt_negotiate(web_header(req, "Accept"));
    vg_buf_t text = VG_BUF_INIT;
    expfmt_writer_t w;
    expfmt_writer_init(&w, &text, format);
    if (req->app->write_host_metrics) req->app->write_host_metrics(req->app->ud, &w);
    selfmon_write(req->app->selfmon, &w);
    expfmt_writer_finish(&w);
    res->status = 200;
    res->content_type =
        format == EXPFMT_OPENMETRICS ? EXPFMT_CONTENT_TYPE_OPENMETRICS : EXPFMT_CONTENT_TYPE_TEXT;
    if (text.len > 1024 && accepts_gzip(req) && gzip_buf(&text, &res->body)) {
        web_add_header(res, "Content-Encoding", "gzip");
        vg_buf_free(&text);
        return;
    }
    vg_buf_free(&res->body);
    res->body = text;
}

/* -------------------------------------------------------------- health */

static void handle_healthy(web_request_t *req, web_response_t *res) {
    (void)req;
    web_reply_text(res, 200, "vigil is Healthy.\n");
}

static void handle_ready(web_request_t *req, web_response_t *res) {
    if (atomic_load(&req->app->ready))
        web_reply_text(res, 200, "vigil is Ready.\n");
    else
        web_reply_text(res, 503, "Service Unavailable");
}

static void reply_health_json(web_response_t *res, int status, const char *state) {
    res->status = status;
    res->content_type = "application/json";
    vg_buf_reset(&res->body);
    vg_buf_printf(&res->body, "{\"status\":\"%s\",\"service\":\"vigil\"}", state);
}

static void handle_health(web_request_t *req, web_response_t *res) {
    bool ready = atomic_load(&req->app->ready);
    reply_health_json(res, ready ? 200 : 503, ready ? "healthy" : "starting");
}

static void handle_health_live(web_request_t *req, web_response_t *res) {
    (void)req;
    reply_health_json(res, 200, "alive");
}

static void handle_health_ready(web_request_t *req, web_response_t *res) {
    bool ready = atomic_load(&req->app->ready);
    reply_health_json(res, ready ? 200 : 503, ready ? "ready" : "not ready");
}

/* ----------------------------------------------------------- lifecycle */

static bool lifecycle_enabled_or_reply(web_request_t *req, web_response_t *res) {
    if (req->app->enable_lifecycle) return true;
    web_reply_text(res, 403, "Lifecycle API is not enabled.");
    return false;
}

static void handle_reload(web_request_t *req, web_response_t *res) {
    if (!lifecycle_enabled_or_reply(req, res)) return;
    vg_err_t err = {0};
    if (req->app->reload(req->app->ud, &err) != VG_OK) {
        char msg[VG_ERR_MSG_MAX + 64];
        snprintf(msg, sizeof msg, "failed to reload config: %s\n", err.msg);
        web_reply_text(res, 500, msg);
        return;
    }
    web_reply_text(res, 200, "");
}

static void handle_quit(web_request_t *req, web_response_t *res) {
    if (!lifecycle_enabled_or_reply(req, res)) return;
    web_reply_text(res, 200, "Requesting termination... Goodbye!");
    req->app->quit(req->app->ud);
}

/* --------------------------------------------------------------- table */

/* Prometheus's wording for a lifecycle endpoint called with the wrong method. */
#define LIFECYCLE_405 "Only POST or PUT requests allowed"

const web_route_t web_routes[] = {
    {"/metrics", false, WEB_GET, "/metrics", handle_metrics, NULL},
    {"/-/healthy", false, WEB_GET, "/-/healthy", handle_healthy, NULL},
    {"/-/ready", false, WEB_GET, "/-/ready", handle_ready, NULL},
    {"/-/reload", false, WEB_POST | WEB_PUT, "/-/reload", handle_reload, LIFECYCLE_405},
    {"/-/quit", false, WEB_POST | WEB_PUT, "/-/quit", handle_quit, LIFECYCLE_405},
    {"/health", false, WEB_GET, "/health", handle_health, NULL},
    {"/health/live", false, WEB_GET, "/health/live", handle_health_live, NULL},
    {"/health/ready", false, WEB_GET, "/health/ready", handle_health_ready, NULL},
    {NULL, false, 0, NULL, NULL, NULL},
};
