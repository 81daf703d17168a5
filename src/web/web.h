/*
 * web — vigil's HTTP server and the handlers of every endpoint.
 *
 * What it does: serves one listening address on libmicrohttpd's thread
 * pool, reads request bodies up to a size limit (checked against
 * Content-Length before anything is allocated), dispatches through one
 * route table, gives every request an arena freed when it ends, counts each
 * route in http_requests_total / http_request_duration_seconds /
 * http_requests_in_flight, and answers unknown paths and wrong methods the
 * way Prometheus does.
 *
 * What it owns: the daemon and its threads, and each request's memory. It
 * borrows the web_app_t, which must outlive the server.
 *
 * Threads: web_server_start and web_server_stop are called by the main
 * thread; handlers run on the server's pool threads and reach the rest of
 * vigil only through web_app_t, whose callbacks must be thread-safe.
 */
#ifndef VG_WEB_H
#define VG_WEB_H

#include <stdatomic.h>

#include "selfmon/selfmon.h"
#include "tsdb/tsdb.h"

/* What the status, federation and remote-read endpoints say about the
 * running program (api_query.c); filled once before the server starts. */
typedef struct web_status {
    const char *version, *revision;
    double start_time;             /* Unix seconds */
    const char *const *flag_names; /* flag names without "--", and their values */
    const char *const *flag_values;
    size_t n_flags;
    const char *storage_retention; /* "30d" */
    int64_t lookback_ms;           /* /federate's window; 0: 5m */
    unsigned n_threads;
    /* A new reference to the configuration in force (config_unref), or
     * NULL. Thread-safe. */
    struct config *(*config)(void *ud);
    /* Whether the last reload succeeded; *out_time gets the Unix time the
     * configuration in force was loaded. Thread-safe. */
    bool (*reload_state)(void *ud, double *out_time);
} web_status_t;

/* What the handlers need from the rest of the program. */
typedef struct web_app {
    selfmon_t *selfmon;
    /* Writes host metrics into w (may be NULL: none). Thread-safe. */
    void (*write_host_metrics)(void *ud, expfmt_writer_t *w);
    /* Reloads the configuration; 0 or an error with its message. */
    int (*reload)(void *ud, vg_err_t *err);
    /* Asks the program to shut down gracefully. */
    void (*quit)(void *ud);
    void *ud;
    bool enable_lifecycle; /* POST /-/reload and /-/quit allowed */
    bool enable_admin_api; /* the /api/v1/admin/tsdb endpoints allowed */
    /* The store, NULL until it has been opened (handlers answer 503). */
    _Atomic(tsdb_t *) tsdb;
    /* The scrape manager, NULL until started (the targets API shows none). */
    _Atomic(struct scrape *) scrape;
    /* The Pushgateway groups, NULL until the store is open. */
    _Atomic(struct ingest_push *) push;
    atomic_bool ready; /* /-/ready answers 200 only when true */
    /* The query engine, NULL until the store is open (query endpoints
     * answer 503), and what the status endpoints show (may be NULL). */
    _Atomic(struct promql_engine *) engine;
    /* The rule manager, NULL until started (the rules API shows none). */
    _Atomic(struct rules_manager *) rules;
    /* The built-in Alertmanager and its silences, NULL when it is not
     * running (its API v2 endpoints answer 404 then, as on a Prometheus). */
    _Atomic(struct alert_manager *) alertmanager;
    _Atomic(struct alert_silences *) silences;
    const web_status_t *status;
} web_app_t;

typedef struct web_options {
    const char *listen_address; /* "host:port", ":port", "[v6]:port" */
    size_t max_body_bytes;      /* a larger request body gets 413 */
    unsigned n_threads;         /* pool size */
    unsigned connection_timeout_s;
} web_options_t;

#define WEB_DEFAULT_MAX_BODY_BYTES (32u << 20)

typedef struct web_server web_server_t;

/* Binds and starts serving. Returns NULL with err set when the address is
 * malformed or cannot be bound. */
web_server_t *web_server_start(const web_options_t *opts, web_app_t *app, vg_err_t *err);

/* The port actually bound (useful with port 0). */
unsigned web_server_port(const web_server_t *s);

/* Stops accepting, lets requests in progress finish, frees the server. */
void web_server_stop(web_server_t *s);

/* Splits "host:port" into a socket address; 0 or VG_ERR_INPUT. Exposed for
 * the flag check at start-up and for tests. */
int web_parse_listen_address(const char *addr, char *out_host, size_t host_len, unsigned *out_port,
                             vg_err_t *err);

#endif
