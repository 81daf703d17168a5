/* This file implements the query side of Prometheus's HTTP API: instant
 * and range queries (/api/v1/query, /api/v1/query_range) with Prometheus
 * 3.x's parameters, validations, error classes and JSON (values as strings
 * in jsonutil.MarshalFloat's form, timestamps as seconds with up to three
 * decimals), /api/v1/format_query, /api/v1/query_exemplars (vigil keeps no
 * exemplars: an empty list), /api/v1/metadata from the scrape loops'
 * metadata, the status endpoints (buildinfo, runtimeinfo, flags, config),
 * /federate and remote_read (/api/v1/read, protobuf + snappy, SAMPLES
 * responses). Strings are escaped as Go's encoding/json escapes them, HTML
 * characters and invalid UTF-8 included, so bodies match Prometheus's byte
 * for byte where the order is defined. */
#include "web_int.h"

#include <errno.h>
#include <math.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "promql/promql.h"
#include "scrape/scrape.h"

/* Prometheus's cap on the points of one series in a range query. */
#define MAX_POINTS_PER_SERIES 11000
/* Annotations listed per kind before "N more ... omitted" (AsStrings). */
#define MAX_ANNOTATIONS 10
/* Remote read: largest decompressed request, and most samples answered. */
#define READ_MAX_REQUEST_BYTES (32u << 20)
#define READ_MAX_SAMPLES 50000000u
#define READ_MAX_QUERIES 1000u
#define READ_MAX_MATCHERS 1000u

/* ------------------------------------------------------------- JSON */

/* float64(t)/1000 as encoding/json writes a float64 ("1700000000.5"). */
static void jtime_float(vg_buf_t *b, int64_t t) { web_json_float(b, (double)t / 1000.0); }

/* ----------------------------------------------------------- replies */

static void reply_json(web_response_t *res) {
    res->status = 200;
    res->content_type = "application/json";
    vg_buf_reset(&res->body);
}

/* Prometheus's error body and status for an API error type. */
static void reply_error(web_response_t *res, const char *type, const char *msg) {
    int status = strcmp(type, "bad_data") == 0      ? 400
                 : strcmp(type, "execution") == 0   ? 422
                 : strcmp(type, "canceled") == 0    ? 499
                 : strcmp(type, "timeout") == 0     ? 503
                 : strcmp(type, "not_found") == 0   ? 404
                 : strcmp(type, "unavailable") == 0 ? 503
                                                    : 500;
    res->status = status;
    res->content_type = "application/json";
    vg_buf_t *b = &res->body;
    vg_buf_reset(b);
    vg_buf_puts(b, "{\"status\":\"error\",\"errorType\":");
    web_json_cstr(b, type);
    vg_buf_puts(b, ",\"error\":");
    web_json_cstr(b, msg);
    vg_buf_putc(b, '}');
}

static void reply_errorf(web_response_t *res, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply_errorf(web_response_t *res, const char *type, const char *fmt, ...) {
    vg_buf_t m = VG_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    vg_buf_vprintf(&m, fmt, ap);
    va_end(ap);
    reply_error(res, type, m.data ? m.data : "");
    vg_buf_free(&m);
}

static tsdb_t *tsdb_or_reply(web_request_t *req, web_response_t *res) {
    tsdb_t *db = atomic_load(&req->app->tsdb);
    if (!db) web_reply_text(res, 503, "Service Unavailable");
    return db;
}

static promql_engine_t *engine_or_reply(web_request_t *req, web_response_t *res) {
    promql_engine_t *e = atomic_load(&req->app->engine);
    if (!e) web_reply_text(res, 503, "Service Unavailable");
    return e;
}

/* ------------------------------------------------------- parameters */

/* parseTime: float seconds (the fraction rounded to milliseconds) or RFC
 * 3339. The parsing itself is params.c's; only the wording differs between
 * the endpoints, so a failure is answered here. */
static int time_param(web_request_t *req, web_response_t *res, const char *name, int64_t def,
                      bool wrapped, int64_t *out) {
    if (web_param_time_or_reply(req, res, name, def, out) == 0) return 0;
    const char *v = web_param(req, name);
    if (wrapped)
        reply_errorf(res, "bad_data",
                     "invalid parameter \"%s\": invalid time value for '%s': cannot parse \"%s\" "
                     "to a valid timestamp",
                     name, name, v ? v : "");
    else
        reply_errorf(res, "bad_data",
                     "invalid parameter \"%s\": cannot parse \"%s\" to a valid timestamp", name,
                     v ? v : "");
    return -1;
}

/* parseDuration: float seconds or a Prometheus duration, in nanoseconds.
 * 0 or -1 with the answer written. */
static int duration_param(web_response_t *res, const char *name, const char *v, int64_t *out_ns) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (*v && *end == '\0' && end != v && strncasecmp(v, "0x", 2) != 0) {
        double ns = d * 1e9;
        if (ns > 9.223372036854775807e18 || ns < -9.223372036854775808e18) {
            reply_errorf(res, "bad_data",
                         "invalid parameter \"%s\": cannot parse \"%s\" to a valid duration. It "
                         "overflows int64",
                         name, v);
            return -1;
        }
        *out_ns = (int64_t)ns;
        return 0;
    }
    int64_t ms;
    if (vg_duration_parse(v, strlen(v), &ms) == VG_OK) {
        *out_ns = ms * 1000000;
        return 0;
    }
    reply_errorf(res, "bad_data",
                 "invalid parameter \"%s\": cannot parse \"%s\" to a valid duration", name, v);
    return -1;
}

static int timeout_param(web_request_t *req, web_response_t *res, int64_t *out_ms) {
    const char *v = web_param(req, "timeout");
    *out_ms = 0;
    if (!v || !*v) return 0;
    int64_t ns;
    if (duration_param(res, "timeout", v, &ns) < 0) return -1;
    /* A zero or negative timeout ends the query at once, as a deadline in
     * the past does in Prometheus. */
    *out_ms = ns <= 0 ? -1 : (ns + 999999) / 1000000;
    return 0;
}

/* parseLimitParam: Atoi, non-negative. */
static int limit_param(web_request_t *req, web_response_t *res, size_t *out) {
    const char *v = web_param(req, "limit");
    *out = 0;
    if (!v || !*v) return 0;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (*end || end == v || errno == ERANGE) {
        reply_errorf(res, "bad_data",
                     "invalid parameter \"limit\": strconv.Atoi: parsing \"%s\": %s", v,
                     errno == ERANGE ? "value out of range" : "invalid syntax");
        return -1;
    }
    if (n < 0) {
        reply_error(res, "bad_data", "invalid parameter \"limit\": limit must be non-negative");
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

/* ------------------------------------------------------------ results */

static void write_annotations(vg_buf_t *b, const char *key, char **v, size_t n, const char *extra,
                              const char *kind) {
    if (!n && !extra) return;
    vg_buf_printf(b, ",\"%s\":[", key);
    size_t shown = n > MAX_ANNOTATIONS ? MAX_ANNOTATIONS : n;
    bool first = true;
    for (size_t i = 0; i < shown; i++) {
        if (!first) vg_buf_putc(b, ',');
        first = false;
        web_json_cstr(b, v[i]);
    }
    /* Prometheus adds its own warnings (truncation) after the engine's. */
    if (extra && shown < MAX_ANNOTATIONS) {
        if (!first) vg_buf_putc(b, ',');
        first = false;
        web_json_cstr(b, extra);
        extra = NULL;
    }
    size_t skipped = n - shown + (extra ? 1 : 0);
    if (skipped) {
        if (!first) vg_buf_putc(b, ',');
        vg_buf_printf(b, "\"%zu more %s annotations omitted\"", skipped, kind);
    }
    vg_buf_putc(b, ']');
}

/* Writes {"status":"success","data":{"resultType":...,"result":...}} plus
 * warnings and infos. limit 0: everything. */
static void write_value(web_response_t *res, const promql_value_t *v, size_t limit) {
    reply_json(res);
    vg_buf_t *b = &res->body;
    vg_buf_puts(b, "{\"status\":\"success\",\"data\":{\"resultType\":");
    bool truncated = false;
    size_t n = v->n_series;
    if (limit && n > limit && (v->type == PROMQL_TYPE_VECTOR || v->type == PROMQL_TYPE_MATRIX)) {
        n = limit;
        truncated = true;
    }
    switch (v->type) {
    case PROMQL_TYPE_SCALAR: {
        /* Scalars and strings go through their own MarshalJSON in
         * Prometheus: the time as a JSON float64 (t/1000), the value
         * always in 'f' form ("0.0000001", never "1e-07"). */
        char f[400];
        vg_buf_puts(b, "\"scalar\",\"result\":[");
        jtime_float(b, v->t);
        vg_format_float_as(v->scalar, 'f', f, sizeof f);
        vg_buf_printf(b, ",\"%s\"]", f);
        break;
    }
    case PROMQL_TYPE_STRING:
        vg_buf_puts(b, "\"string\",\"result\":[");
        jtime_float(b, v->t);
        vg_buf_putc(b, ',');
        web_json_cstr(b, v->string ? v->string : "");
        vg_buf_putc(b, ']');
        break;
    case PROMQL_TYPE_VECTOR:
        vg_buf_puts(b, "\"vector\",\"result\":[");
        for (size_t i = 0; i < n; i++) {
            const promql_series_t *s = &v->series[i];
            if (i) vg_buf_putc(b, ',');
            vg_buf_puts(b, "{\"metric\":");
            web_json_labels(b, s->labels);
            vg_buf_puts(b, ",\"value\":[");
            web_json_timestamp(b, s->n_points ? s->points[0].t : v->t);
            vg_buf_putc(b, ',');
            web_json_sample_value(b, s->n_points ? s->points[0].v : NAN);
            vg_buf_puts(b, "]}");
        }
        vg_buf_putc(b, ']');
        break;
    case PROMQL_TYPE_MATRIX:
    default:
        vg_buf_puts(b, "\"matrix\",\"result\":[");
        for (size_t i = 0; i < n; i++) {
            const promql_series_t *s = &v->series[i];
            if (i) vg_buf_putc(b, ',');
            vg_buf_puts(b, "{\"metric\":");
            web_json_labels(b, s->labels);
            /* A series with no float points has no "values" key. */
            for (size_t k = 0; k < s->n_points; k++) {
                vg_buf_puts(b, k ? ",[" : ",\"values\":[[");
                web_json_timestamp(b, s->points[k].t);
                vg_buf_putc(b, ',');
                web_json_sample_value(b, s->points[k].v);
                vg_buf_putc(b, ']');
            }
            if (s->n_points) vg_buf_putc(b, ']');
            vg_buf_putc(b, '}');
        }
        vg_buf_putc(b, ']');
        break;
    }
    vg_buf_putc(b, '}');
    write_annotations(b, "warnings", v->warnings, v->n_warnings,
                      truncated ? "results truncated due to limit" : NULL, "warning");
    write_annotations(b, "infos", v->infos, v->n_infos, NULL, "info");
    vg_buf_putc(b, '}');
}

/* The engine's failure as Prometheus answers it. */
static void reply_query_error(web_response_t *res, int rc, const char *msg) {
    switch (rc) {
    case VG_ERR_INPUT:
    case VG_ERR_LIMIT:
        reply_errorf(res, "bad_data", "invalid parameter \"query\": %s", msg);
        return;
    case PROMQL_ERR_TIMEOUT: reply_error(res, "timeout", msg); return;
    case PROMQL_ERR_CANCELED: reply_error(res, "canceled", msg); return;
    case VG_ERR_IO: reply_error(res, "internal", msg); return;
    default: reply_error(res, "execution", msg); return;
    }
}

static void handle_query(web_request_t *req, web_response_t *res) {
    size_t limit;
    int64_t t, timeout;
    if (limit_param(req, res, &limit) < 0 ||
        time_param(req, res, "time", vg_time_now_ms(), true, &t) < 0 ||
        timeout_param(req, res, &timeout) < 0)
        return;
    tsdb_t *db = tsdb_or_reply(req, res);
    promql_engine_t *e = db ? engine_or_reply(req, res) : NULL;
    if (!e) return;
    const char *q = web_param(req, "query");
    if (!q) q = "";
    promql_value_t *v = NULL;
    vg_err_t err = {0};
    int rc = promql_query_instant(e, db, q, strlen(q), t, timeout, &v, &err);
    if (rc != VG_OK) {
        reply_query_error(res, rc, err.msg);
        return;
    }
    write_value(res, v, limit);
    promql_value_free(v);
}

static void handle_query_range(web_request_t *req, web_response_t *res) {
    size_t limit;
    int64_t start, end, timeout, step_ns;
    if (limit_param(req, res, &limit) < 0) return;
    /* start and end are required: an empty value does not parse. */
    const char *sv = web_param(req, "start"), *ev = web_param(req, "end");
    if (!sv || !*sv) {
        reply_error(res, "bad_data",
                    "invalid parameter \"start\": cannot parse \"\" to a valid timestamp");
        return;
    }
    if (time_param(req, res, "start", 0, false, &start) < 0) return;
    if (!ev || !*ev) {
        reply_error(res, "bad_data",
                    "invalid parameter \"end\": cannot parse \"\" to a valid timestamp");
        return;
    }
    if (time_param(req, res, "end", 0, false, &end) < 0) return;
    if (end < start) {
        reply_error(res, "bad_data",
                    "invalid parameter \"end\": end timestamp must not be before start time");
        return;
    }
    const char *stv = web_param(req, "step");
    if (duration_param(res, "step", stv ? stv : "", &step_ns) < 0) return;
    if (step_ns <= 0) {
        reply_error(res, "bad_data",
                    "invalid parameter \"step\": zero or negative query resolution step widths "
                    "are not accepted. Try a positive integer");
        return;
    }
    /* end.Sub(start)/step, in nanoseconds as Go divides Durations. */
    double span_ns = ((double)end - (double)start) * 1e6;
    if (span_ns / (double)step_ns >= MAX_POINTS_PER_SERIES + 1.0 ||
        (int64_t)(span_ns / (double)step_ns) > MAX_POINTS_PER_SERIES) {
        reply_error(res, "bad_data",
                    "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing "
                    "the query resolution (?step=XX)");
        return;
    }
    if (timeout_param(req, res, &timeout) < 0) return;
    tsdb_t *db = tsdb_or_reply(req, res);
    promql_engine_t *e = db ? engine_or_reply(req, res) : NULL;
    if (!e) return;
    int64_t step_ms = step_ns / 1000000;
    if (step_ms < 1) step_ms = 1; /* below a millisecond: the engine's resolution */
    const char *q = web_param(req, "query");
    if (!q) q = "";
    promql_value_t *v = NULL;
    vg_err_t err = {0};
    int rc = promql_query_range(e, db, q, strlen(q), start, end, step_ms, timeout, &v, &err);
    if (rc != VG_OK) {
        reply_query_error(res, rc, err.msg);
        return;
    }
    write_value(res, v, limit);
    promql_value_free(v);
}

/* ------------------------------------------------- format, exemplars */

static const promql_parse_opts_t *parse_opts(void) {
    /* The API parses what the engine would (flags set at start-up are the
     * engine's business); the listing endpoints accept every syntax. */
    static const promql_parse_opts_t all = {.experimental_functions = true,
                                            .duration_expr = true,
                                            .extended_range = true,
                                            .fill_modifiers = true};
    return &all;
}

static void handle_format_query(web_request_t *req, web_response_t *res) {
    const char *q = web_param(req, "query");
    if (!q) q = "";
    promql_ast_t *ast;
    vg_err_t err = {0};
    if (promql_parse(q, strlen(q), parse_opts(), &ast, NULL, &err) != VG_OK) {
        reply_errorf(res, "bad_data", "invalid parameter \"query\": %s", err.msg);
        return;
    }
    /* Prometheus answers expr.Pretty(0); for queries that fit on one line
     * (up to 100 characters) that is the String() form printed here. */
    char *s = promql_format(ast->root);
    reply_json(res);
    vg_buf_puts(&res->body, "{\"status\":\"success\",\"data\":");
    web_json_cstr(&res->body, s);
    vg_buf_putc(&res->body, '}');
    free(s);
    promql_ast_free(ast);
}

static int count_selectors(const promql_expr_t *e, const promql_expr_t *parent, void *ud) {
    (void)parent;
    if (e->kind == PROMQL_VECTOR) (*(size_t *)ud)++;
    return 0;
}

static void handle_query_exemplars(web_request_t *req, web_response_t *res) {
    int64_t start, end;
    if (time_param(req, res, "start", INT64_MIN / 2, true, &start) < 0 ||
        time_param(req, res, "end", INT64_MAX / 2, true, &end) < 0)
        return;
    if (end < start) {
        reply_error(res, "bad_data", "end timestamp must not be before start timestamp");
        return;
    }
    const char *q = web_param(req, "query");
    if (!q) q = "";
    promql_ast_t *ast;
    vg_err_t err = {0};
    if (promql_parse(q, strlen(q), parse_opts(), &ast, NULL, &err) != VG_OK) {
        reply_error(res, "bad_data", err.msg);
        return;
    }
    size_t n = 0;
    promql_walk(ast->root, count_selectors, &n);
    promql_ast_free(ast);
    if (n == 0) {
        res->status = 204;
        res->content_type = NULL;
        vg_buf_reset(&res->body);
        return;
    }
    /* vigil stores no exemplars yet: what Prometheus answers when its
     * exemplar storage holds none. */
    reply_json(res);
    vg_buf_puts(&res->body, "{\"status\":\"success\",\"data\":[]}");
}

/* ----------------------------------------------------------- metadata */

static const char *metadata_type(expfmt_type_t t, bool typed) {
    if (!typed) return "unknown";
    switch (t) {
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

static int cmp_metadata(const void *a, const void *b) {
    const scrape_metadata_t *x = a, *y = b;
    return strcmp(x->metric, y->metric);
}

static bool same_metadata(const scrape_metadata_t *a, const scrape_metadata_t *b) {
    return strcmp(metadata_type(a->type, a->typed), metadata_type(b->type, b->typed)) == 0 &&
           strcmp(a->help ? a->help : "", b->help ? b->help : "") == 0 &&
           strcmp(a->unit ? a->unit : "", b->unit ? b->unit : "") == 0;
}

static int int_param(web_request_t *req, web_response_t *res, const char *name, long long *out) {
    const char *v = web_param(req, name);
    *out = -1;
    if (!v || !*v) return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end) {
        reply_errorf(res, "bad_data", "%s must be a number", name);
        return -1;
    }
    *out = n;
    return 0;
}

static void handle_metadata(web_request_t *req, web_response_t *res) {
    long long limit, per_metric;
    if (int_param(req, res, "limit", &limit) < 0 ||
        int_param(req, res, "limit_per_metric", &per_metric) < 0)
        return;
    const char *metric = web_param(req, "metric");
    if (metric && !*metric) metric = NULL;
    scrape_t *scr = atomic_load(&req->app->scrape);
    scrape_metadata_t *md = NULL;
    size_t n = 0;
    if (scr) scrape_metadata_snapshot(scr, NULL, 0, metric, 0, &md, &n);
    if (n > 1) qsort(md, n, sizeof *md, cmp_metadata);
    reply_json(res);
    vg_buf_t *b = &res->body;
    vg_buf_puts(b, "{\"status\":\"success\",\"data\":{");
    long long n_metrics = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(md[j].metric, md[i].metric) == 0)
            j++;
        if (limit >= 0 && n_metrics >= limit) break;
        if (n_metrics++) vg_buf_putc(b, ',');
        web_json_cstr(b, md[i].metric);
        vg_buf_puts(b, ":[");
        long long listed = 0;
        for (size_t k = i; k < j; k++) {
            bool dup = false;
            for (size_t p = i; p < k && !dup; p++)
                dup = same_metadata(&md[p], &md[k]);
            if (dup) continue;
            if (per_metric > 0 && listed >= per_metric) break;
            if (listed++) vg_buf_putc(b, ',');
            vg_buf_puts(b, "{\"type\":");
            web_json_cstr(b, metadata_type(md[k].type, md[k].typed));
            vg_buf_puts(b, ",\"help\":");
            web_json_cstr(b, md[k].help ? md[k].help : "");
            vg_buf_puts(b, ",\"unit\":");
            web_json_cstr(b, md[k].unit ? md[k].unit : "");
            vg_buf_putc(b, '}');
        }
        vg_buf_putc(b, ']');
        i = j;
    }
    vg_buf_puts(b, "}}");
    scrape_metadata_free(md, n);
}

/* ------------------------------------------------------------ status */

static const web_status_t *status_of(web_request_t *req) { return req->app->status; }

/* Go's time.Time in JSON: RFC 3339 with the nanoseconds that are not zero. */
static void jgotime(vg_buf_t *b, double unix_s) {
    time_t s = (time_t)floor(unix_s);
    long ns = (long)llround((unix_s - (double)s) * 1e9);
    if (ns >= 1000000000L) s++, ns -= 1000000000L;
    struct tm tm;
    gmtime_r(&s, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    vg_buf_printf(b, "\"%s", buf);
    if (ns) {
        char frac[32];
        snprintf(frac, sizeof frac, "%09ld", ns % 1000000000L);
        size_t k = strlen(frac);
        while (k && frac[k - 1] == '0')
            frac[--k] = '\0';
        vg_buf_printf(b, ".%s", frac);
    }
    vg_buf_puts(b, "Z\"");
}

static void handle_buildinfo(web_request_t *req, web_response_t *res) {
    const web_status_t *st = status_of(req);
    reply_json(res);
    vg_buf_t *b = &res->body;
    vg_buf_puts(b, "{\"status\":\"success\",\"data\":{\"version\":");
    web_json_cstr(b, st && st->version ? st->version : "");
    vg_buf_puts(b, ",\"revision\":");
    web_json_cstr(b, st && st->revision ? st->revision : "");
    vg_buf_puts(b, ",\"branch\":\"\",\"buildUser\":\"\",\"buildDate\":\"\",\"goVersion\":\"\"}}");
}

static void handle_runtimeinfo(web_request_t *req, web_response_t *res) {
    const web_status_t *st = status_of(req);
    reply_json(res);
    vg_buf_t *b = &res->body;
    char cwd[4096], host[256];
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = '\0';
    if (gethostname(host, sizeof host) != 0) host[0] = '\0';
    host[sizeof host - 1] = '\0';
    double now = vg_time_now();
    vg_buf_puts(b, "{\"status\":\"success\",\"data\":{\"startTime\":");
    jgotime(b, st ? st->start_time : now);
    vg_buf_puts(b, ",\"CWD\":");
    web_json_cstr(b, cwd);
    vg_buf_puts(b, ",\"hostname\":");
    web_json_cstr(b, host);
    vg_buf_puts(b, ",\"serverTime\":");
    jgotime(b, now);
    double last = st ? st->start_time : now;
    bool ok = st && st->reload_state ? st->reload_state(req->app->ud, &last) : true;
    vg_buf_printf(b, ",\"reloadConfigSuccess\":%s,\"lastConfigTime\":", ok ? "true" : "false");
    jgotime(b, last);
    /* Go runtime fields: threads stand in for goroutines, CPUs for
     * GOMAXPROCS; the Go-only settings are empty. */
    vg_buf_printf(b,
                  ",\"corruptionCount\":0,\"goroutineCount\":%d,\"GOMAXPROCS\":%d,"
                  "\"GOMEMLIMIT\":9223372036854775807,\"GOGC\":\"\",\"GODEBUG\":\"\","
                  "\"storageRetention\":",
                  st ? (int)st->n_threads : 0, get_nprocs());
    web_json_cstr(b, st && st->storage_retention ? st->storage_retention : "");
    vg_buf_puts(b, "}}");
}

static int cmp_flag_idx(const void *a, const void *b, void *ud) {
    const web_status_t *st = ud;
    return strcmp(st->flag_names[*(const size_t *)a], st->flag_names[*(const size_t *)b]);
}

static void handle_flags(web_request_t *req, web_response_t *res) {
    const web_status_t *st = status_of(req);
    size_t n = st ? st->n_flags : 0;
    size_t *idx = vg_calloc(n ? n : 1, sizeof *idx);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    if (n > 1) qsort_r(idx, n, sizeof *idx, cmp_flag_idx, (void *)st);
    reply_json(res);
    vg_buf_t *b = &res->body;
    vg_buf_puts(b, "{\"status\":\"success\",\"data\":{");
    for (size_t i = 0; i < n; i++) {
        if (i) vg_buf_putc(b, ',');
        web_json_cstr(b, st->flag_names[idx[i]]);
        vg_buf_putc(b, ':');
        web_json_cstr(b, st->flag_values[idx[i]] ? st->flag_values[idx[i]] : "");
    }
    vg_buf_puts(b, "}}");
    free(idx);
}

static config_t *config_of(web_request_t *req) {
    const web_status_t *st = status_of(req);
    return st && st->config ? st->config(req->app->ud) : NULL;
}

static void handle_config(web_request_t *req, web_response_t *res) {
    /* Prometheus re-marshals its parsed configuration with the defaults
     * filled in; vigil shows the file it loaded, as it was read. */
    config_t *cfg = config_of(req);
    char *text = NULL;
    size_t len = 0;
    if (cfg && cfg->path) vg_file_read_all(cfg->path, 16u << 20, &text, &len, NULL);
    config_unref(cfg);
    reply_json(res);
    vg_buf_puts(&res->body, "{\"status\":\"success\",\"data\":{\"yaml\":");
    web_json_string(&res->body, text ? text : "", text ? len : 0);
    vg_buf_puts(&res->body, "}}");
    free(text);
}

/* ----------------------------------------------------------- federate */

typedef struct fed_sample {
    labels_t *ls;
    int64_t t;
    double v;
} fed_sample_t;

static bool is_stale_nan(double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits == 0x7ff0000000000002ull;
}

static int cmp_fed(const void *a, const void *b) {
    const fed_sample_t *x = a, *y = b;
    size_t xl = 0, yl = 0;
    const char *xn = labels_metric_name(x->ls, &xl), *yn = labels_metric_name(y->ls, &yl);
    if (!xn) xn = "", xl = 0;
    if (!yn) yn = "", yl = 0;
    size_t m = xl < yl ? xl : yl;
    int c = memcmp(xn, yn, m);
    if (c) return c;
    if (xl != yl) return xl < yl ? -1 : 1;
    return labels_compare(x->ls, y->ls); /* a stable order within a family */
}

static void handle_federate(web_request_t *req, web_response_t *res) {
    tsdb_t *db = tsdb_or_reply(req, res);
    if (!db) return;
    const char **values;
    size_t n_sets = web_param_all(req, "match[]", &values);
    labels_matcher_t ***sets = vg_calloc(n_sets ? n_sets : 1, sizeof *sets);
    size_t *lens = vg_calloc(n_sets ? n_sets : 1, sizeof *lens);
    size_t parsed = 0;
    for (; parsed < n_sets; parsed++) {
        vg_err_t err = {0};
        if (web_parse_selector(values[parsed], &sets[parsed], &lens[parsed], &err) != VG_OK) {
            vg_buf_t m = VG_BUF_INIT;
            vg_buf_printf(&m, "%s\n", err.msg);
            web_reply_text(res, 400, m.data);
            vg_buf_free(&m);
            goto out;
        }
    }
    const web_status_t *st = status_of(req);
    int64_t lookback = st && st->lookback_ms > 0 ? st->lookback_ms : 5 * 60 * 1000;
    int64_t maxt = vg_time_now_ms(), mint = maxt - lookback;
    fed_sample_t *vec = NULL;
    size_t n_vec = 0, cap = 0;
    /* The union of the match[] sets, each series once. */
    for (size_t s = 0; s < n_sets; s++) {
        tsdb_series_set_t *set;
        if (tsdb_select(db, mint, maxt, sets[s], lens[s], 0, &set, NULL) != VG_OK) continue;
        for (size_t i = 0; i < tsdb_series_set_len(set); i++) {
            const labels_t *ls = tsdb_series_set_labels(set, i);
            bool seen = false;
            for (size_t k = 0; k < n_vec && !seen && s > 0; k++)
                seen = labels_equal(vec[k].ls, ls);
            if (seen) continue;
            tsdb_iter_t it;
            tsdb_iter_init(&it, set, i);
            bool have = false;
            int64_t t = 0;
            double v = 0;
            while (tsdb_iter_next(&it) == 1) {
                if (it.t > maxt) break;
                have = true;
                t = it.t;
                v = it.v;
            }
            tsdb_iter_done(&it);
            /* The exposition formats have no stale markers: such a series
             * is left out. */
            if (!have || t < mint || is_stale_nan(v)) continue;
            if (n_vec == cap) {
                cap = cap ? cap * 2 : 64;
                vec = vg_realloc(vec, cap * sizeof *vec);
            }
            vec[n_vec].ls = labels_dup(ls);
            vec[n_vec].t = t;
            vec[n_vec].v = v;
            n_vec++;
        }
        tsdb_series_set_free(set);
    }
    if (n_vec > 1) qsort(vec, n_vec, sizeof *vec, cmp_fed);

    /* External labels, plus instance="" unless they set one, are added to
     * every series that does not carry them itself. */
    config_t *cfg = config_of(req);
    size_t n_ext = cfg ? cfg->global.n_external_labels : 0;
    bool ext_instance = false;
    for (size_t i = 0; i < n_ext; i++)
        if (strcmp(cfg->global.external_labels[i].name, "instance") == 0) ext_instance = true;
    res->status = 200;
    res->content_type = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores";
    vg_buf_t *b = &res->body;
    vg_buf_reset(b);
    const char *last = NULL;
    size_t last_len = 0;
    for (size_t i = 0; i < n_vec; i++) {
        size_t nl;
        const char *name = labels_metric_name(vec[i].ls, &nl);
        if (!name || !nl) continue; /* nameless series are not federated */
        if (!last || nl != last_len || memcmp(name, last, nl) != 0) {
            vg_buf_puts(b, "# TYPE ");
            vg_buf_append(b, name, nl);
            vg_buf_puts(b, " untyped\n");
            last = name, last_len = nl;
        }
        vg_buf_append(b, name, nl);
        /* Labels in order, then the external labels not already present,
         * sorted by name (instance among them). */
        bool first = true;
        for (size_t k = 0; k < labels_len(vec[i].ls); k++) {
            labels_label_t l = labels_at(vec[i].ls, k);
            if (l.name_len == 8 && memcmp(l.name, "__name__", 8) == 0) continue;
            vg_buf_putc(b, first ? '{' : ',');
            first = false;
            vg_buf_append(b, l.name, l.name_len);
            vg_buf_puts(b, "=\"");
            char *v = vg_strndup(l.value, l.value_len);
            expfmt_escape_label_value(b, v);
            free(v);
            vg_buf_putc(b, '"');
        }
        /* merge external names (sorted) with "instance" */
        size_t e = 0;
        bool inst_done = ext_instance;
        for (;;) {
            const char *en = NULL, *ev = NULL;
            if (e < n_ext &&
                (inst_done || strcmp(cfg->global.external_labels[e].name, "instance") < 0)) {
                en = cfg->global.external_labels[e].name;
                ev = cfg->global.external_labels[e].value;
                e++;
            } else if (!inst_done) {
                en = "instance", ev = "";
                inst_done = true;
            } else {
                break;
            }
            if (labels_has(vec[i].ls, en, strlen(en))) continue;
            vg_buf_putc(b, first ? '{' : ',');
            first = false;
            vg_buf_puts(b, en);
            vg_buf_puts(b, "=\"");
            expfmt_escape_label_value(b, ev);
            vg_buf_putc(b, '"');
        }
        if (!first) vg_buf_putc(b, '}');
        vg_buf_putc(b, ' ');
        vg_buf_put_float(b, vec[i].v);
        vg_buf_printf(b, " %lld\n", (long long)vec[i].t);
    }
    config_unref(cfg);
    for (size_t i = 0; i < n_vec; i++)
        labels_free(vec[i].ls);
    free(vec);
out:
    for (size_t i = 0; i < parsed; i++) {
        for (size_t k = 0; k < lens[i]; k++)
            labels_matcher_free(sets[i][k]);
        free(sets[i]);
    }
    free(sets);
    free(lens);
}

/* -------------------------------------------------------- remote read */

/* The few protobuf messages of prometheus.ReadRequest/ReadResponse
 * (prompb/remote.proto, types.proto), read and written by hand:
 *   ReadRequest  { repeated Query queries = 1; repeated ResponseType accepted_response_types = 2; }
 *   Query        { int64 start_timestamp_ms = 1; int64 end_timestamp_ms = 2;
 *                  repeated LabelMatcher matchers = 3; ReadHints hints = 4; }
 *   LabelMatcher { Type type = 1 (EQ, NEQ, RE, NRE); string name = 2; string value = 3; }
 *   ReadResponse { repeated QueryResult results = 1; }
 *   QueryResult  { repeated TimeSeries timeseries = 1; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
 *   Label        { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp = 2; } */

typedef struct pb_reader {
    const uint8_t *p, *end;
} pb_reader_t;

static int pb_varint(pb_reader_t *r, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return -1;
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Reads one field: its number, wire type, and for length-delimited ones
 * the bytes; varints in *v. Skips fixed fields. */
static int pb_field(pb_reader_t *r, uint32_t *field, uint32_t *wt, uint64_t *v, pb_reader_t *sub) {
    uint64_t key;
    if (pb_varint(r, &key) < 0) return -1;
    *field = (uint32_t)(key >> 3);
    *wt = (uint32_t)(key & 7);
    switch (*wt) {
    case 0: return pb_varint(r, v);
    case 1:
        if (r->end - r->p < 8) return -1;
        r->p += 8;
        return 0;
    case 5:
        if (r->end - r->p < 4) return -1;
        r->p += 4;
        return 0;
    case 2: {
        uint64_t len;
        if (pb_varint(r, &len) < 0 || len > (uint64_t)(r->end - r->p)) return -1;
        sub->p = r->p;
        sub->end = r->p + len;
        r->p += len;
        return 0;
    }
    default: return -1;
    }
}

static void pb_put_varint(vg_buf_t *b, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) tmp[n] |= 0x80;
        n++;
    } while (v);
    vg_buf_append(b, tmp, n);
}

static void pb_put_bytes(vg_buf_t *b, uint32_t field, const void *p, size_t n) {
    pb_put_varint(b, ((uint64_t)field << 3) | 2);
    pb_put_varint(b, n);
    vg_buf_append(b, p, n);
}

typedef struct read_query {
    int64_t start, end;
    labels_matcher_t **matchers;
    size_t n_matchers;
} read_query_t;

static int parse_matcher(pb_reader_t *m, labels_matcher_t **out, vg_err_t *err) {
    uint64_t type = 0;
    const char *name = "", *value = "";
    size_t name_len = 0, value_len = 0;
    while (m->p < m->end) {
        uint32_t f, wt;
        uint64_t v = 0;
        pb_reader_t sub = {0};
        if (pb_field(m, &f, &wt, &v, &sub) < 0)
            return vg_err_set(err, VG_ERR_INPUT, "proto: bad LabelMatcher");
        if (f == 1 && wt == 0)
            type = v;
        else if (f == 2 && wt == 2)
            name = (const char *)sub.p, name_len = (size_t)(sub.end - sub.p);
        else if (f == 3 && wt == 2)
            value = (const char *)sub.p, value_len = (size_t)(sub.end - sub.p);
    }
    static const labels_match_type_t types[] = {LABELS_MATCH_EQUAL, LABELS_MATCH_NOT_EQUAL,
                                                LABELS_MATCH_REGEXP, LABELS_MATCH_NOT_REGEXP};
    if (type > 3) return vg_err_set(err, VG_ERR_INPUT, "invalid matcher type");
    return labels_matcher_new(types[type], name, name_len, value, value_len, out, err);
}

static void read_queries_free(read_query_t *q, size_t n) {
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < q[i].n_matchers; k++)
            labels_matcher_free(q[i].matchers[k]);
        free(q[i].matchers);
    }
    free(q);
}

static int parse_read_request(const uint8_t *p, size_t len, read_query_t **out, size_t *out_n,
                              vg_err_t *err) {
    pb_reader_t r = {p, p + len};
    read_query_t *qs = NULL;
    size_t n = 0;
    while (r.p < r.end) {
        uint32_t f, wt;
        uint64_t v;
        pb_reader_t sub = {0};
        if (pb_field(&r, &f, &wt, &v, &sub) < 0) {
            read_queries_free(qs, n);
            return vg_err_set(err, VG_ERR_INPUT, "proto: bad ReadRequest");
        }
        if (f != 1 || wt != 2) continue;
        if (n == READ_MAX_QUERIES) {
            read_queries_free(qs, n);
            return vg_err_set(err, VG_ERR_LIMIT, "too many queries in one read request");
        }
        qs = vg_realloc(qs, (n + 1) * sizeof *qs);
        read_query_t *q = &qs[n++];
        memset(q, 0, sizeof *q);
        while (sub.p < sub.end) {
            uint32_t qf, qwt;
            uint64_t qv = 0;
            pb_reader_t m = {0};
            if (pb_field(&sub, &qf, &qwt, &qv, &m) < 0) {
                read_queries_free(qs, n);
                return vg_err_set(err, VG_ERR_INPUT, "proto: bad Query");
            }
            if (qf == 1 && qwt == 0)
                q->start = (int64_t)qv;
            else if (qf == 2 && qwt == 0)
                q->end = (int64_t)qv;
            else if (qf == 3 && qwt == 2) {
                if (q->n_matchers == READ_MAX_MATCHERS) {
                    read_queries_free(qs, n);
                    return vg_err_set(err, VG_ERR_LIMIT, "too many matchers in one query");
                }
                labels_matcher_t *lm;
                if (parse_matcher(&m, &lm, err) != VG_OK) {
                    read_queries_free(qs, n);
                    return VG_ERR_INPUT;
                }
                q->matchers = vg_realloc(q->matchers, (q->n_matchers + 1) * sizeof *q->matchers);
                q->matchers[q->n_matchers++] = lm;
            }
        }
    }
    *out = qs;
    *out_n = n;
    return VG_OK;
}

static void handle_read(web_request_t *req, web_response_t *res) {
    tsdb_t *db = tsdb_or_reply(req, res);
    if (!db) return;
    size_t ulen;
    if (snappy_uncompressed_length(req->body, req->body_len, &ulen) != SNAPPY_OK) {
        web_reply_text(res, 400, "snappy: corrupt input\n");
        return;
    }
    if (ulen > READ_MAX_REQUEST_BYTES) {
        web_reply_text(res, 400, "request too large\n");
        return;
    }
    char *pb = vg_malloc(ulen ? ulen : 1);
    if (snappy_uncompress(req->body, req->body_len, pb, &ulen) != SNAPPY_OK) {
        free(pb);
        web_reply_text(res, 400, "snappy: corrupt input\n");
        return;
    }
    read_query_t *qs = NULL;
    size_t n_q = 0;
    vg_err_t err = {0};
    if (parse_read_request((const uint8_t *)pb, ulen, &qs, &n_q, &err) != VG_OK) {
        free(pb);
        vg_buf_t m = VG_BUF_INIT;
        vg_buf_printf(&m, "%s\n", err.msg);
        web_reply_text(res, 400, m.data);
        vg_buf_free(&m);
        return;
    }
    free(pb);
    config_t *cfg = config_of(req);
    labels_builder_t *lb = labels_builder_new();
    /* Matchers that only restate an external label are dropped before the
     * select: the stored series do not carry those labels. */
    for (size_t qi = 0; cfg && qi < n_q; qi++) {
        size_t k = 0;
        for (size_t m = 0; m < qs[qi].n_matchers; m++) {
            labels_matcher_t *lm = qs[qi].matchers[m];
            size_t nl, vl;
            const char *mn = labels_matcher_name(lm, &nl), *mv = labels_matcher_value(lm, &vl);
            bool drop = false;
            for (size_t e = 0; e < cfg->global.n_external_labels && !drop; e++) {
                const config_label_t *x = &cfg->global.external_labels[e];
                drop = labels_matcher_type(lm) == LABELS_MATCH_EQUAL && strlen(x->name) == nl &&
                       memcmp(x->name, mn, nl) == 0 && strlen(x->value) == vl &&
                       memcmp(x->value, mv, vl) == 0;
            }
            if (drop)
                labels_matcher_free(lm);
            else
                qs[qi].matchers[k++] = lm;
        }
        qs[qi].n_matchers = k;
    }
    vg_buf_t out = VG_BUF_INIT, result = VG_BUF_INIT, ts = VG_BUF_INIT, tmp = VG_BUF_INIT;
    size_t samples = 0;
    bool over = false;
    for (size_t qi = 0; qi < n_q && !over; qi++) {
        vg_buf_reset(&result);
        tsdb_series_set_t *set;
        if (tsdb_select(db, qs[qi].start, qs[qi].end, qs[qi].matchers, qs[qi].n_matchers, 0, &set,
                        NULL) == VG_OK) {
            for (size_t i = 0; i < tsdb_series_set_len(set) && !over; i++) {
                const labels_t *ls = tsdb_series_set_labels(set, i);
                vg_buf_reset(&ts);
                /* The external labels the series lacks are added, as
                 * Prometheus's read handler does. */
                labels_t *full = NULL;
                if (cfg && cfg->global.n_external_labels) {
                    labels_builder_reset(lb, ls);
                    for (size_t e = 0; e < cfg->global.n_external_labels; e++) {
                        const config_label_t *x = &cfg->global.external_labels[e];
                        if (!labels_has(ls, x->name, strlen(x->name)))
                            labels_builder_set_s(lb, x->name, x->value);
                    }
                    full = labels_builder_labels(lb);
                }
                const labels_t *out_ls = full ? full : ls;
                for (size_t k = 0; k < labels_len(out_ls); k++) {
                    labels_label_t l = labels_at(out_ls, k);
                    vg_buf_reset(&tmp);
                    pb_put_bytes(&tmp, 1, l.name, l.name_len);
                    pb_put_bytes(&tmp, 2, l.value, l.value_len);
                    pb_put_bytes(&ts, 1, tmp.data, tmp.len);
                }
                labels_free(full);
                tsdb_iter_t it;
                tsdb_iter_init(&it, set, i);
                while (tsdb_iter_next(&it) == 1) {
                    if (++samples > READ_MAX_SAMPLES) {
                        over = true;
                        break;
                    }
                    vg_buf_reset(&tmp);
                    uint64_t bits;
                    memcpy(&bits, &it.v, sizeof bits);
                    /* Prometheus's encoder leaves out a value equal to 0,
                     * -0 included, so a reader gets +0 for it. */
                    if (it.v != 0) {
                        pb_put_varint(&tmp, (1 << 3) | 1);
                        uint8_t le[8];
                        for (int k = 0; k < 8; k++)
                            le[k] = (uint8_t)(bits >> (8 * k));
                        vg_buf_append(&tmp, le, 8);
                    }
                    if (it.t) {
                        pb_put_varint(&tmp, (2 << 3) | 0);
                        pb_put_varint(&tmp, (uint64_t)it.t);
                    }
                    pb_put_bytes(&ts, 2, tmp.data ? tmp.data : "", tmp.len);
                }
                tsdb_iter_done(&it);
                pb_put_bytes(&result, 1, ts.data ? ts.data : "", ts.len);
            }
            tsdb_series_set_free(set);
        }
        pb_put_bytes(&out, 1, result.data ? result.data : "", result.len);
    }
    config_unref(cfg);
    labels_builder_free(lb);
    read_queries_free(qs, n_q);
    vg_buf_free(&result);
    vg_buf_free(&ts);
    vg_buf_free(&tmp);
    if (over) {
        vg_buf_free(&out);
        vg_buf_t m = VG_BUF_INIT;
        vg_buf_printf(&m, "exceeded sample limit (%u)\n", READ_MAX_SAMPLES);
        web_reply_text(res, 400, m.data);
        vg_buf_free(&m);
        return;
    }
    size_t clen = snappy_max_compressed_length(out.len);
    vg_buf_reset(&res->body);
    vg_buf_reserve(&res->body, clen + 1);
    if (snappy_compress(out.data ? out.data : "", out.len, res->body.data, &clen) != SNAPPY_OK) {
        vg_buf_free(&out);
        web_reply_text(res, 500, "snappy: compression failed\n");
        return;
    }
    res->body.len = clen;
    vg_buf_free(&out);
    res->status = 200;
    res->content_type = "application/x-protobuf";
    web_add_header(res, "Content-Encoding", "snappy");
}

/* Registered in server.c's route table. */
const web_route_t web_query_routes[] = {
    {"/api/v1/query", false, WEB_GET | WEB_POST, "/api/v1/query", handle_query, NULL},
    {"/api/v1/query_range", false, WEB_GET | WEB_POST, "/api/v1/query_range", handle_query_range,
     NULL},
    {"/api/v1/format_query", false, WEB_GET | WEB_POST, "/api/v1/format_query", handle_format_query,
     NULL},
    {"/api/v1/query_exemplars", false, WEB_GET | WEB_POST, "/api/v1/query_exemplars",
     handle_query_exemplars, NULL},
    {"/api/v1/metadata", false, WEB_GET, "/api/v1/metadata", handle_metadata, NULL},
    {"/api/v1/status/buildinfo", false, WEB_GET, "/api/v1/status/buildinfo", handle_buildinfo,
     NULL},
    {"/api/v1/status/runtimeinfo", false, WEB_GET, "/api/v1/status/runtimeinfo", handle_runtimeinfo,
     NULL},
    {"/api/v1/status/flags", false, WEB_GET, "/api/v1/status/flags", handle_flags, NULL},
    {"/api/v1/status/config", false, WEB_GET, "/api/v1/status/config", handle_config, NULL},
    {"/federate", false, WEB_GET, "/federate", handle_federate, NULL},
    {"/api/v1/read", false, WEB_POST, "/api/v1/read", handle_read, NULL},
    {NULL, false, 0, NULL, NULL, NULL},
};
