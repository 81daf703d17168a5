/* This file implements the HTTP server on libmicrohttpd: binding, request
 * bodies with a size limit, the per-request arena, routing through the
 * route table, and the HTTP metrics of every route. */
#include "web_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Request state lives from the first call of the access handler until
 * libmicrohttpd reports the request completed. */
typedef struct request_state {
    web_request_t req;
    vg_buf_t body;
    bool too_large;
    double started; /* monotonic */
    const web_route_t *route;
    const char *code; /* status as text, for the metrics */
} request_state_t;

struct web_server {
    struct MHD_Daemon *daemon;
    web_app_t *app;
    size_t max_body_bytes;
    unsigned port;
    selfmon_family_t *requests_total, *request_duration, *in_flight;
};

/* The first thread to serve a request registers itself as a worker. */
static _Thread_local selfmon_worker_t *this_worker;

static const double duration_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

/* ------------------------------------------------------------- helpers */

void web_reply_text(web_response_t *res, int status, const char *text) {
    res->status = status;
    res->content_type = "text/plain; charset=utf-8";
    vg_buf_reset(&res->body);
    vg_buf_puts(&res->body, text);
}

void web_reply_json_error(web_response_t *res, int status, const char *error_type,
                          const char *message) {
    res->status = status;
    res->content_type = "application/json";
    vg_buf_reset(&res->body);
    vg_buf_puts(&res->body, "{\"status\":\"error\",\"errorType\":\"");
    vg_buf_put_json_escaped(&res->body, error_type, strlen(error_type));
    vg_buf_puts(&res->body, "\",\"error\":\"");
    vg_buf_put_json_escaped(&res->body, message, strlen(message));
    vg_buf_puts(&res->body, "\"}");
}

void web_add_header(web_response_t *res, const char *name, const char *value) {
    if (res->n_headers == WEB_MAX_HEADERS) return;
    res->header_names[res->n_headers] = name;
    res->header_values[res->n_headers] = value;
    res->n_headers++;
}

const char *web_header(web_request_t *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

static unsigned method_bit(const char *m) {
    if (strcmp(m, "GET") == 0) return WEB_GET;
    if (strcmp(m, "HEAD") == 0) return WEB_HEAD;
    if (strcmp(m, "POST") == 0) return WEB_POST;
    if (strcmp(m, "PUT") == 0) return WEB_PUT;
    if (strcmp(m, "DELETE") == 0) return WEB_DELETE;
    return 0;
}

static const web_route_t *route_find(const char *path) {
    static const web_route_t *const tables[] = {
        web_routes,       web_tsdb_routes,  web_targets_routes, web_push_routes,
        web_query_routes, web_rules_routes, web_silence_routes, web_am_routes};
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const web_route_t *r = tables[t]; r->path; r++) {
            if (r->prefix ? strncmp(path, r->path, strlen(r->path)) == 0
                          : strcmp(path, r->path) == 0)
                return r;
        }
    return NULL;
}

/* Methods are counted under their own name only when they are ones we
 * know, so a client cannot create label values at will. */
static const char *method_label(const char *m) {
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(m, known[i]) == 0) return known[i];
    return "other";
}

/* ------------------------------------------------------------ dispatch */

static enum MHD_Result send_response(struct MHD_Connection *conn, request_state_t *st,
                                     web_response_t *res) {
    size_t len = res->body.len;
    char *data = vg_buf_detach(&res->body);
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, data, free);
    if (!r) {
        free(data);
        return MHD_NO;
    }
    if (res->content_type) MHD_add_response_header(r, "Content-Type", res->content_type);
    for (size_t i = 0; i < res->n_headers; i++)
        MHD_add_response_header(r, res->header_names[i], res->header_values[i]);
    static const char *const codes[] = {"200", "202", "204", "307", "400", "403", "404",
                                        "405", "413", "415", "422", "429", "500", "503"};
    char code[8];
    snprintf(code, sizeof code, "%d", res->status);
    st->code = "other";
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(codes[i], code) == 0) st->code = codes[i];
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)res->status, r);
    MHD_destroy_response(r);
    return ret;
}

static void dispatch(web_server_t *srv, request_state_t *st, web_response_t *res) {
    web_request_t *req = &st->req;
    if (st->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body is over the limit of %zu bytes\n",
                 srv->max_body_bytes);
        web_reply_text(res, MHD_HTTP_CONTENT_TOO_LARGE, msg);
        return;
    }
    const web_route_t *route = st->route;
    if (!route) {
        /* Go's net/http answer, which Prometheus gives for unknown paths. */
        web_reply_text(res, MHD_HTTP_NOT_FOUND, "404 page not found\n");
        return;
    }
    unsigned bit = method_bit(req->method);
    /* HEAD is served wherever GET is, with the body dropped by the server. */
    if (bit == WEB_HEAD && (route->methods & WEB_GET)) bit = WEB_GET;
    if (!(route->methods & bit)) {
        web_reply_text(res, MHD_HTTP_METHOD_NOT_ALLOWED,
                       route->method_not_allowed ? route->method_not_allowed
                                                 : "Method Not Allowed\n");
        return;
    }
    req->body = st->body.data ? st->body.data : "";
    req->body_len = st->body.len;
    route->fn(req, res);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
    (void)version;
    web_server_t *srv = cls;
    request_state_t *st = *con_cls;
    if (!st) {
        if (!this_worker) this_worker = selfmon_worker_register(srv->app->selfmon, "http");
        selfmon_worker_busy(this_worker);
        st = vg_calloc(1, sizeof *st);
        st->started = vg_time_mono();
        st->req.arena = vg_arena_new(0);
        st->req.conn = conn;
        st->req.app = srv->app;
        st->req.method = method;
        st->req.path = url;
        st->route = route_find(url);
        st->code = "other";
        *con_cls = st;
        selfmon_add(srv->in_flight, NULL, 1);
        /* Refuse an oversized body before reading or allocating any of it. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            errno = 0;
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || *end || n > srv->max_body_bytes)
                st->too_large = true;
            else if (n > 0)
                vg_buf_reserve(&st->body, (size_t)n);
        }
        selfmon_worker_idle(this_worker);
        return MHD_YES;
    }
    selfmon_worker_busy(this_worker);
    if (*upload_data_size) {
        if (!st->too_large) {
            if (st->body.len + *upload_data_size > srv->max_body_bytes) {
                st->too_large = true;
                vg_buf_free(&st->body);
            } else {
                vg_buf_append(&st->body, upload_data, *upload_data_size);
            }
        }
        *upload_data_size = 0;
        selfmon_worker_idle(this_worker);
        return MHD_YES;
    }
    web_response_t res = {.status = 200, .content_type = "text/plain; charset=utf-8"};
    dispatch(srv, st, &res);
    enum MHD_Result ret = send_response(conn, st, &res);
    vg_buf_free(&res.body);
    selfmon_worker_idle(this_worker);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)conn;
    (void)toe;
    web_server_t *srv = cls;
    request_state_t *st = *con_cls;
    if (!st) return;
    const char *handler = st->route ? st->route->handler : "other";
    const char *method = method_label(st->req.method);
    const char *labels[3] = {st->code, handler, method};
    selfmon_add(srv->requests_total, labels, 1);
    const char *dlabels[2] = {handler, method};
    selfmon_observe(srv->request_duration, dlabels, vg_time_mono() - st->started);
    selfmon_add(srv->in_flight, NULL, -1);
    vg_buf_free(&st->body);
    vg_arena_free(st->req.arena);
    free(st);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    vg_log_debug("HTTP server", "detail", msg, NULL);
}

/* ------------------------------------------------------------- binding */

int web_parse_listen_address(const char *addr, char *out_host, size_t host_len, unsigned *out_port,
                             vg_err_t *err) {
    const char *colon;
    const char *host = addr;
    size_t hlen;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return vg_err_set(err, VG_ERR_INPUT, "listen address %s: missing port", addr);
        host = addr + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return vg_err_set(err, VG_ERR_INPUT, "listen address %s: missing port in address",
                              addr);
        hlen = (size_t)(colon - addr);
    }
    if (hlen >= host_len)
        return vg_err_set(err, VG_ERR_INPUT, "listen address %s: host too long", addr);
    memcpy(out_host, host, hlen);
    out_host[hlen] = '\0';
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end || errno || port > 65535)
        return vg_err_set(err, VG_ERR_INPUT, "listen address %s: invalid port", addr);
    *out_port = (unsigned)port;
    return VG_OK;
}

web_server_t *web_server_start(const web_options_t *opts, web_app_t *app, vg_err_t *err) {
    char host[256];
    unsigned port;
    if (web_parse_listen_address(opts->listen_address, host, sizeof host, &port, err) != VG_OK)
        return NULL;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    bool any = host[0] == '\0';
    if (any) {
        /* ":9090" listens on every address, IPv4 and IPv6, as Go does. */
        flags |= MHD_USE_DUAL_STACK;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_any;
        s6->sin6_port = htons((uint16_t)port);
    } else {
        struct addrinfo hints = {.ai_flags = AI_NUMERICSERV, .ai_socktype = SOCK_STREAM}, *ai;
        char portstr[8];
        snprintf(portstr, sizeof portstr, "%u", port);
        int rc = getaddrinfo(host, portstr, &hints, &ai);
        if (rc != 0) {
            vg_err_set(err, VG_ERR_INPUT, "listen address %s: %s", opts->listen_address,
                       gai_strerror(rc));
            return NULL;
        }
        memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
        if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
        freeaddrinfo(ai);
    }
    web_server_t *srv = vg_calloc(1, sizeof *srv);
    srv->app = app;
    srv->max_body_bytes = opts->max_body_bytes ? opts->max_body_bytes : WEB_DEFAULT_MAX_BODY_BYTES;
    static const char *const req_labels[] = {"code", "handler", "method"};
    srv->requests_total = selfmon_counter(app->selfmon, "http_requests_total",
                                          "Total number of HTTP requests by handler, status code "
                                          "and method.",
                                          3, req_labels);
    srv->request_duration = selfmon_histogram(
        app->selfmon, "http_request_duration_seconds", "Latency of HTTP requests in seconds.", 2,
        req_labels + 1, duration_buckets, sizeof duration_buckets / sizeof duration_buckets[0]);
    srv->in_flight = selfmon_gauge(app->selfmon, "http_requests_in_flight",
                                   "Number of HTTP requests being served now.", 0, NULL);
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_access, srv, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(opts->n_threads ? opts->n_threads : 4),
        MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(opts->connection_timeout_s ? opts->connection_timeout_s : 120),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
        NULL, MHD_OPTION_END);
    if (!srv->daemon) {
        vg_err_set(err, VG_ERR_IO, "listen tcp %s: cannot bind (address in use or not allowed)",
                   opts->listen_address);
        free(srv);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : port;
    return srv;
}

unsigned web_server_port(const web_server_t *s) { return s->port; }

void web_server_stop(web_server_t *s) {
    if (!s) return;
    /* Stop accepting, then give requests in progress a few seconds. */
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    double deadline = vg_time_mono() + 5;
    while (selfmon_value(s->in_flight, NULL) > 0 && vg_time_mono() < deadline)
        usleep(10000);
    MHD_stop_daemon(s->daemon);
    free(s);
}
