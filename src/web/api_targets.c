/* This file implements the scrape endpoints of Prometheus's HTTP API:
 * /api/v1/targets (active and dropped targets, in Prometheus 2.42's JSON
 * shape) and /api/v1/targets/metadata. Strings are escaped as Go's
 * encoding/json escapes them, HTML characters included, as Prometheus's
 * responses are. */
#include "web_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "scrape/scrape.h"

/* Go's time.Time in RFC 3339 with nanoseconds, trailing zeros trimmed;
 * the zero time for "never". */
static void json_go_time(vg_buf_t *b, int64_t ms) {
    if (ms == 0) {
        vg_buf_puts(b, "\"0001-01-01T00:00:00Z\"");
        return;
    }
    time_t secs = (time_t)(ms / 1000);
    int milli = (int)(ms % 1000);
    if (milli < 0) {
        milli += 1000;
        secs--;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    char out[64];
    size_t n = strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &tm);
    if (milli) {
        n += (size_t)snprintf(out + n, sizeof out - n, ".%03d", milli);
        while (out[n - 1] == '0')
            n--;
        out[n] = 0;
    }
    vg_buf_printf(b, "\"%sZ\"", out);
}

/* Prometheus's globalUrl: a target on a localhost address is shown with
 * this machine's host name, which is what the default external URL holds. */
static void global_url(vg_buf_t *b, const char *url) {
    static const char *const local[] = {"127.0.0.1", "localhost", "[::1]"};
    const char *host = strstr(url, "://");
    if (!host) {
        web_json_cstr(b, url);
        return;
    }
    host += 3;
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
        size_t n = strlen(local[i]);
        if (strncmp(host, local[i], n) == 0 && host[n] == ':') {
            char hn[256];
            if (gethostname(hn, sizeof hn) != 0) break;
            hn[sizeof hn - 1] = 0;
            vg_buf_t u = VG_BUF_INIT;
            vg_buf_append(&u, url, (size_t)(host - url));
            vg_buf_puts(&u, hn);
            vg_buf_puts(&u, host + n);
            web_json_string(b, u.data, u.len);
            vg_buf_free(&u);
            return;
        }
    }
    web_json_cstr(b, url);
}

static void handle_targets(web_request_t *req, web_response_t *res) {
    const char *state = web_param(req, "state");
    const char *pool = web_param(req, "scrapePool");
    bool any = !state || !*state || strcasecmp(state, "any") == 0;
    bool active = any || strcasecmp(state, "active") == 0;
    bool dropped = any || strcasecmp(state, "dropped") == 0;
    scrape_t *s = atomic_load(&req->app->scrape);
    scrape_targets_t t = {0};
    if (s) scrape_targets_snapshot(s, active, dropped, pool, &t);
    res->status = 200;
    res->content_type = "application/json";
    vg_buf_t *b = &res->body;
    vg_buf_puts(b, "{\"status\":\"success\",\"data\":{\"activeTargets\":[");
    for (size_t i = 0; i < t.n_active; i++) {
        const scrape_target_info_t *ti = &t.active[i];
        if (i) vg_buf_putc(b, ',');
        vg_buf_puts(b, "{\"discoveredLabels\":");
        web_json_labels(b, ti->discovered);
        vg_buf_puts(b, ",\"labels\":");
        web_json_labels(b, ti->labels);
        vg_buf_puts(b, ",\"scrapePool\":");
        web_json_cstr(b, ti->pool);
        vg_buf_puts(b, ",\"scrapeUrl\":");
        web_json_cstr(b, ti->url);
        vg_buf_puts(b, ",\"globalUrl\":");
        global_url(b, ti->url);
        vg_buf_puts(b, ",\"lastError\":");
        web_json_cstr(b, ti->last_error);
        vg_buf_puts(b, ",\"lastScrape\":");
        json_go_time(b, ti->last_scrape_ms);
        vg_buf_puts(b, ",\"lastScrapeDuration\":");
        web_json_float(b, ti->last_duration_s);
        vg_buf_puts(b, ",\"health\":");
        web_json_cstr(b, scrape_health_name(ti->health));
        vg_buf_puts(b, ",\"scrapeInterval\":");
        web_json_cstr(b, ti->interval);
        vg_buf_puts(b, ",\"scrapeTimeout\":");
        web_json_cstr(b, ti->timeout);
        vg_buf_putc(b, '}');
    }
    vg_buf_puts(b, "],\"droppedTargets\":[");
    for (size_t i = 0; i < t.n_dropped; i++) {
        if (i) vg_buf_putc(b, ',');
        vg_buf_puts(b, "{\"discoveredLabels\":");
        web_json_labels(b, t.dropped[i].discovered);
        vg_buf_putc(b, '}');
    }
    vg_buf_puts(b, "]}}");
    scrape_targets_free(&t);
}

/* Type names as Prometheus's metadata API gives them (the text format's
 * "untyped" is "unknown"). */
static const char *meta_type(const scrape_metadata_t *m) {
    if (!m->typed) return "unknown";
    switch (m->type) {
    case EXPFMT_COUNTER: return "counter";
    case EXPFMT_GAUGE: return "gauge";
    case EXPFMT_HISTOGRAM: return "histogram";
    case EXPFMT_SUMMARY: return "summary";
    case EXPFMT_GAUGEHISTOGRAM: return "gaugehistogram";
    case EXPFMT_INFO: return "info";
    case EXPFMT_STATESET: return "stateset";
    default: return "unknown";
    }
}

static void handle_targets_metadata(web_request_t *req, web_response_t *res) {
    const char *limit_s = web_param(req, "limit");
    size_t limit = 0;
    if (limit_s && *limit_s) {
        char *end;
        long long v = strtoll(limit_s, &end, 10);
        if (*end) {
            web_reply_json_error(res, 400, "bad_data", "limit must be a number");
            return;
        }
        limit = v > 0 ? (size_t)v : 0;
        if (v == 0) {
            res->status = 200;
            res->content_type = "application/json";
            vg_buf_puts(&res->body, "{\"status\":\"success\",\"data\":[]}");
            return;
        }
    }
    const char *metric = web_param(req, "metric");
    if (metric && !*metric) metric = NULL;
    const char *target = web_param(req, "match_target");
    labels_matcher_t **ms = NULL;
    size_t n_ms = 0;
    if (target && *target) {
        vg_err_t err = {0};
        if (web_parse_selector(target, &ms, &n_ms, &err) != VG_OK) {
            web_reply_json_error(res, 400, "bad_data", err.msg);
            return;
        }
    }
    scrape_t *s = atomic_load(&req->app->scrape);
    scrape_metadata_t *md = NULL;
    size_t n = 0;
    if (s) scrape_metadata_snapshot(s, ms, n_ms, metric, limit, &md, &n);
    for (size_t i = 0; i < n_ms; i++)
        labels_matcher_free(ms[i]);
    free(ms);
    if (n == 0) {
        /* Prometheus answers an empty result this way. */
        web_reply_json_error(res, 404, "not_found", "specified metadata not found");
        free(md);
        return;
    }
    res->status = 200;
    res->content_type = "application/json";
    vg_buf_t *b = &res->body;
    vg_buf_puts(b, "{\"status\":\"success\",\"data\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) vg_buf_putc(b, ',');
        vg_buf_puts(b, "{\"target\":");
        web_json_labels(b, md[i].target);
        if (!metric) {
            vg_buf_puts(b, ",\"metric\":");
            web_json_cstr(b, md[i].metric);
        }
        vg_buf_puts(b, ",\"type\":");
        web_json_cstr(b, meta_type(&md[i]));
        vg_buf_puts(b, ",\"help\":");
        web_json_cstr(b, md[i].help);
        vg_buf_puts(b, ",\"unit\":");
        web_json_cstr(b, md[i].unit);
        vg_buf_putc(b, '}');
    }
    vg_buf_puts(b, "]}");
    scrape_metadata_free(md, n);
}

/* Registered in server.c's route tables. */
const web_route_t web_targets_routes[] = {
    {"/api/v1/targets", false, WEB_GET, "/api/v1/targets", handle_targets, NULL},
    {"/api/v1/targets/metadata", false, WEB_GET, "/api/v1/targets/metadata",
     handle_targets_metadata, NULL},
    {NULL, false, 0, NULL, NULL, NULL},
};
