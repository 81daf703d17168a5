/* Shared inside the web module: the request and response handed to every
 * handler, the route table, and the helpers that reply and return. */
#ifndef VG_WEB_INT_H
#define VG_WEB_INT_H

#include "web.h"

struct MHD_Connection;

typedef struct web_param {
    const char *name;
    const char *value;
} web_param_t;

typedef struct web_request {
    vg_arena_t *arena; /* freed when the request ends */
    struct MHD_Connection *conn;
    web_app_t *app;
    const char *method;
    const char *path;
    const char *body; /* NUL-terminated; body_len bytes */
    size_t body_len;
    /* Query-string and form-body parameters, in order, repeats kept; filled
     * by web_params_load (arena memory). */
    web_param_t *params;
    size_t n_params;
    bool params_loaded;
} web_request_t;

#define WEB_MAX_HEADERS 4

typedef struct web_response {
    int status;
    const char *content_type; /* static string */
    vg_buf_t body;
    const char *header_names[WEB_MAX_HEADERS];
    const char *header_values[WEB_MAX_HEADERS];
    size_t n_headers;
} web_response_t;

typedef void (*web_handler_fn)(web_request_t *req, web_response_t *res);

enum {
    WEB_GET = 1 << 0,
    WEB_HEAD = 1 << 1,
    WEB_POST = 1 << 2,
    WEB_PUT = 1 << 3,
    WEB_DELETE = 1 << 4,
};

typedef struct web_route {
    const char *path; /* exact path, or a prefix when it ends with '/' and prefix is set */
    bool prefix;
    unsigned methods;    /* WEB_* mask */
    const char *handler; /* the value of the "handler" label in the HTTP metrics */
    web_handler_fn fn;
    /* Body of the 405 answer, as the peer words it (NULL: "Method Not Allowed"). */
    const char *method_not_allowed;
} web_route_t;

/* Route tables, each ending with a NULL path: the server's own endpoints
 * (handlers.c) and the storage API (api_tsdb.c). */
extern const web_route_t web_routes[];
extern const web_route_t web_tsdb_routes[];
extern const web_route_t web_push_routes[];    /* api_push.c */
extern const web_route_t web_targets_routes[]; /* api_targets.c */
extern const web_route_t web_query_routes[];   /* api_query.c */
extern const web_route_t web_rules_routes[];   /* api_rules.c */
extern const web_route_t web_silence_routes[]; /* api_silences.c: Alertmanager API v2 silences */
extern const web_route_t
    web_am_routes[]; /* api_alerts.c: Alertmanager API v2 alerts, groups, status */

/* Helpers that fill the response; handlers return right after them. */
void web_reply_text(web_response_t *res, int status, const char *text);
void web_reply_json_error(web_response_t *res, int status, const char *error_type,
                          const char *message);
void web_add_header(web_response_t *res, const char *name, const char *value);

/* Alertmanager API v2 answers, as its go-swagger server writes them
 * (swagger.c): a JSON string payload followed by a newline ("silence not
 * found"); a go-openapi error body {"code":602,"message":"..."}; and the
 * consumer's media-type check, which answers 415 and returns false unless
 * the request body is application/json. */
void web_reply_json_string(web_response_t *res, int status, const char *msg);
void web_reply_swagger_error(web_response_t *res, int status, int code, const char *msg);
bool web_swagger_json_or_reply(web_request_t *req, web_response_t *res);

/* The value of a request header, or NULL. */
const char *web_header(web_request_t *req, const char *name);

/* Parameters as Prometheus's API takes them: the URL's query string plus,
 * for a POST with Content-Type application/x-www-form-urlencoded, the
 * body. The first value of name, or NULL. */
const char *web_param(web_request_t *req, const char *name);
/* Every value of a repeated parameter (match[]); returns the count and
 * points *out at an arena array. */
size_t web_param_all(web_request_t *req, const char *name, const char ***out);

/* Times as Prometheus's API parses them: Unix seconds with a fraction, or
 * RFC 3339. An absent parameter gives def. On a bad value the helper writes
 * the 400 answer ("invalid parameter \"start\": cannot parse ...") and
 * returns -1; the handler just returns. */
int web_param_time_or_reply(web_request_t *req, web_response_t *res, const char *name, int64_t def,
                            int64_t *out_ms);

/* JSON as the peers' Go code writes it (json.c). */
struct labels;
void web_json_string(vg_buf_t *b, const char *s, size_t n); /* encoding/json escaping */
void web_json_cstr(vg_buf_t *b, const char *s);             /* NULL: "" */
void web_json_labels(vg_buf_t *b, const struct labels *ls); /* {"name":"value",...} */
/* A float64 as encoding/json writes it ("1000000", "1e-7"); non-finite: 0. */
void web_json_float(vg_buf_t *b, double v);
/* A sample value as Prometheus's jsonutil.MarshalFloat: quoted, fixed
 * notation unless |v| < 1e-6 or >= 1e21 ("1000000", "1e-07", "NaN", "+Inf"). */
void web_json_sample_value(vg_buf_t *b, double v);
/* A timestamp as jsonutil.MarshalTimestamp: seconds, ".mmm" when not whole. */
void web_json_timestamp(vg_buf_t *b, int64_t t_ms);

/* Parses a series selector (metric{label="v", l2=~"re"}) into matchers
 * allocated with labels_matcher_new; the caller frees them and the array.
 * Errors read like Prometheus's: "1:7: parse error: unexpected ...". */
struct labels_matcher;
int web_parse_selector(const char *s, struct labels_matcher ***out, size_t *out_n, vg_err_t *err);

#endif
