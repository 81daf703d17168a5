/*
 * config — loads prometheus.yml (the Prometheus 2.42 / 3.x schema plus
 * vigil's own `vigil:` section) into an immutable, reference-counted snapshot.
 *
 * What it does: parses the YAML with libyaml into a bounded node tree (file
 * size, nesting depth and node count are limited), decodes it strictly the way
 * Prometheus does (unknown keys, wrong types, duplicate keys are errors),
 * applies Prometheus's defaults and validation rules (scrape timeout not above
 * the interval, unique job names, relabel rules per action, label names...),
 * and collects warnings for what vigil accepts but cannot act on (service
 * discovery mechanisms that need a cloud or a cluster). Every error message
 * starts with "FILE:LINE:COL: ".
 *
 * What it owns: each config_t owns all the memory its fields point to (one
 * arena). Every field is const after config_load_*() returns; the snapshot is
 * freed when the last reference is dropped. Reload = load a new snapshot and
 * swap the pointer; readers keep the old one alive with config_ref().
 *
 * Threads: loading runs on whichever thread calls it (no global state).
 * config_ref/config_unref are atomic and may be called from any thread; a
 * loaded snapshot may be read from any number of threads at once.
 */
#ifndef VG_CONFIG_H
#define VG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/core.h"

/* Input bounds: a bigger or deeper file is rejected with VG_ERR_LIMIT. */
#define VG_CONFIG_MAX_FILE_BYTES (16u * 1024 * 1024)
#define VG_CONFIG_MAX_DEPTH 64
#define VG_CONFIG_MAX_NODES 1000000u
/* Node visits while decoding; bounds what YAML aliases can expand to. */
#define VG_CONFIG_MAX_VISITS 4000000u

/* Every list below is a pointer `x` with its count `n_x` right after it. */

typedef struct config_label {
    const char *name;
    const char *value;
} config_label_t;

/* A query parameter (params:) with all of its values, in file order. */
typedef struct config_param {
    const char *name;
    const char **values;
    size_t n_values;
} config_param_t;

/* A string-to-string map entry (headers:), in file order. */
typedef struct config_pair {
    const char *name;
    const char *value;
} config_pair_t;

/* A name/switch pair of the vigil: host: collectors: map. */
typedef struct config_switch {
    const char *name;
    bool on;
} config_switch_t;

typedef enum config_relabel_action {
    CONFIG_RELABEL_REPLACE = 0,
    CONFIG_RELABEL_KEEP,
    CONFIG_RELABEL_DROP,
    CONFIG_RELABEL_KEEPEQUAL,
    CONFIG_RELABEL_DROPEQUAL,
    CONFIG_RELABEL_HASHMOD,
    CONFIG_RELABEL_LABELMAP,
    CONFIG_RELABEL_LABELDROP,
    CONFIG_RELABEL_LABELKEEP,
    CONFIG_RELABEL_LOWERCASE,
    CONFIG_RELABEL_UPPERCASE,
} config_relabel_action_t;

/* Name of an action as Prometheus spells it ("replace", "labelmap"...). */
const char *config_relabel_action_name(config_relabel_action_t a);

typedef struct config_relabel {
    const char **source_labels;
    size_t n_source_labels;
    const char *separator;          /* default ";" */
    const char *regex;              /* as written, NOT anchored; default "(.*)" */
    uint64_t modulus;               /* hashmod only */
    const char *target_label;       /* "" when not set */
    const char *replacement;        /* default "$1" */
    config_relabel_action_t action; /* default replace */
    unsigned line;                  /* where the rule starts in the file */
} config_relabel_t;

typedef struct config_tls {
    const char *ca_file, *cert_file, *key_file; /* made absolute against the file's dir */
    const char *ca, *cert, *key;                /* inline PEM */
    const char *server_name;
    bool insecure_skip_verify;
    const char *min_version, *max_version; /* "" or TLS10..TLS13 */
} config_tls_t;

typedef struct config_basic_auth {
    const char *username, *username_file, *password, *password_file;
} config_basic_auth_t;

typedef struct config_authorization {
    const char *type; /* default "Bearer" */
    const char *credentials, *credentials_file;
} config_authorization_t;

typedef struct config_oauth2 {
    const char *client_id, *client_secret, *client_secret_file, *token_url;
    const char **scopes;
    size_t n_scopes;
    config_pair_t *endpoint_params;
    size_t n_endpoint_params;
    config_tls_t tls_config;
    const char *proxy_url;
} config_oauth2_t;

/* Prometheus's common HTTP client settings, inlined in scrape jobs, SD
 * configs, alertmanagers, remote_write and remote_read. bearer_token(_file)
 * are folded into `authorization` as Prometheus does. */
typedef struct config_http_client {
    const config_basic_auth_t *basic_auth;        /* NULL when absent */
    const config_authorization_t *authorization;  /* NULL when absent */
    const config_oauth2_t *oauth2;                /* NULL when absent */
    const char *bearer_token, *bearer_token_file; /* "" after folding */
    config_tls_t tls_config;
    const char *proxy_url;
    const char *no_proxy;
    bool proxy_from_environment;
    bool follow_redirects; /* default true */
    bool enable_http2;     /* default true (false for remote_write) */
} config_http_client_t;

typedef struct config_static {
    const char **targets;
    size_t n_targets;
    config_label_t *labels; /* sorted by name */
    size_t n_labels;
} config_static_t;

typedef struct config_file_sd {
    const char **files; /* absolute; globs allowed in the last path element */
    size_t n_files;
    int64_t refresh_interval_ms; /* default 5m */
} config_file_sd_t;

typedef struct config_http_sd {
    const char *url;
    int64_t refresh_interval_ms; /* default 1m */
    config_http_client_t http;
} config_http_sd_t;

typedef struct config_scrape {
    const char *job_name;
    int64_t scrape_interval_ms; /* default: global */
    int64_t scrape_timeout_ms;  /* default: min(global timeout, interval) */
    const char *metrics_path;   /* default "/metrics" */
    const char *scheme;         /* "http" (default) or "https" */
    config_param_t *params;
    size_t n_params;
    bool honor_labels;     /* default false */
    bool honor_timestamps; /* default true */
    bool track_timestamps_staleness;
    bool enable_compression;  /* default true */
    uint64_t body_size_limit; /* bytes, 0 = none; default: global */
    uint64_t sample_limit, label_limit, label_name_length_limit, label_value_length_limit,
        target_limit, keep_dropped_targets; /* 0 = none; default: global */
    const char **scrape_protocols;          /* empty = the default negotiation */
    size_t n_scrape_protocols;
    const char *fallback_scrape_protocol;
    const char *scrape_failure_log_file;
    config_http_client_t http;
    config_static_t *static_configs;
    size_t n_static_configs;
    config_file_sd_t *file_sd_configs;
    size_t n_file_sd_configs;
    config_http_sd_t *http_sd_configs;
    size_t n_http_sd_configs;
    config_relabel_t *relabel_configs;
    size_t n_relabel_configs;
    config_relabel_t *metric_relabel_configs;
    size_t n_metric_relabel_configs;
    size_t n_unreachable_sd; /* SD blocks vigil cannot use (each gave a warning) */
    unsigned line;
} config_scrape_t;

typedef struct config_global {
    int64_t scrape_interval_ms;      /* default 1m */
    int64_t scrape_timeout_ms;       /* default 10s (never above the interval) */
    int64_t evaluation_interval_ms;  /* default 1m */
    int64_t rule_query_offset_ms;    /* default 0 */
    config_label_t *external_labels; /* sorted by name, $VARS expanded */
    size_t n_external_labels;
    const char *query_log_file;
    const char *scrape_failure_log_file;
    uint64_t body_size_limit;
    uint64_t sample_limit, target_limit, label_limit, label_name_length_limit,
        label_value_length_limit, keep_dropped_targets;
    const char **scrape_protocols;
    size_t n_scrape_protocols;
    const char *metric_name_validation_scheme; /* "" (legacy names), "legacy" or "utf8" */
} config_global_t;

typedef struct config_alertmanager {
    const char *scheme;      /* default "http" */
    const char *path_prefix; /* default "" */
    int64_t timeout_ms;      /* default 10s */
    const char *api_version; /* default "v2" */
    config_http_client_t http;
    config_static_t *static_configs;
    size_t n_static_configs;
    config_file_sd_t *file_sd_configs;
    size_t n_file_sd_configs;
    config_http_sd_t *http_sd_configs;
    size_t n_http_sd_configs;
    config_relabel_t *relabel_configs;
    size_t n_relabel_configs;
    config_relabel_t *alert_relabel_configs;
    size_t n_alert_relabel_configs;
    size_t n_unreachable_sd;
} config_alertmanager_t;

typedef struct config_alerting {
    config_relabel_t *alert_relabel_configs;
    size_t n_alert_relabel_configs;
    config_alertmanager_t *alertmanagers;
    size_t n_alertmanagers;
} config_alerting_t;

typedef struct config_queue {
    int64_t capacity;               /* default 10000 */
    int64_t max_shards;             /* default 50 (Prometheus 2.42: 200; 3.x: 50) */
    int64_t min_shards;             /* default 1 */
    int64_t max_samples_per_send;   /* default 2000 */
    int64_t batch_send_deadline_ms; /* default 5s */
    int64_t min_backoff_ms;         /* default 30ms */
    int64_t max_backoff_ms;         /* default 5s */
    bool retry_on_http_429;
    int64_t sample_age_limit_ms;
} config_queue_t;

typedef struct config_metadata {
    bool send;                    /* default true */
    int64_t send_interval_ms;     /* default 1m */
    int64_t max_samples_per_send; /* default 2000 */
} config_metadata_t;

typedef struct config_remote_write {
    const char *url;
    const char *name;
    int64_t remote_timeout_ms; /* default 30s */
    config_pair_t *headers;
    size_t n_headers;
    config_relabel_t *write_relabel_configs;
    size_t n_write_relabel_configs;
    bool send_exemplars, send_native_histograms, round_robin_dns;
    const char *protobuf_message; /* default "prometheus.WriteRequest" */
    config_queue_t queue_config;
    config_metadata_t metadata_config;
    config_http_client_t http;
} config_remote_write_t;

typedef struct config_remote_read {
    const char *url;
    const char *name;
    int64_t remote_timeout_ms;   /* default 1m */
    uint64_t chunked_read_limit; /* default 50000000 */
    config_pair_t *headers;
    size_t n_headers;
    bool read_recent;
    config_label_t *required_matchers;
    size_t n_required_matchers;
    bool filter_external_labels; /* default true */
    config_http_client_t http;
} config_remote_read_t;

typedef struct config_storage {
    int64_t out_of_order_time_window_ms;
    int64_t retention_time_ms; /* 0 = flag default */
    uint64_t retention_size;   /* 0 = flag default */
    int64_t max_exemplars;     /* default 100000 */
} config_storage_t;

typedef struct config_tracing {
    bool present;
    const char *client_type; /* "grpc" (default) or "http" */
    const char *endpoint;
    double sampling_fraction;
    bool insecure;
    config_tls_t tls_config;
    config_pair_t *headers;
    size_t n_headers;
    const char *compression;
    int64_t timeout_ms;
} config_tracing_t;

/* vigil's own section (absent from prometheus.yml, which is fine). */
typedef struct config_vigil_host {
    bool enabled;                /* default true */
    config_switch_t *collectors; /* as written; the host module validates names */
    size_t n_collectors;
} config_vigil_host_t;

typedef struct config_vigil {
    bool present; /* the file has a vigil: section */
    config_vigil_host_t host;
} config_vigil_t;

typedef struct config {
    const char *path; /* as given to the loader (or the name for strings) */
    const char *dir;  /* directory relative paths were resolved against */
    config_global_t global;
    const char **rule_files; /* absolute globs, file order */
    size_t n_rule_files;
    const char **scrape_config_files;
    size_t n_scrape_config_files;
    config_scrape_t *scrape_configs;
    size_t n_scrape_configs;
    config_alerting_t alerting;
    config_remote_write_t *remote_write;
    size_t n_remote_write;
    config_remote_read_t *remote_read;
    size_t n_remote_read;
    config_storage_t storage;
    config_tracing_t tracing;
    config_vigil_t vigil;
    /* private below: use the functions */
    struct config_priv *priv;
} config_t;

/* Loads and validates a file. Returns a snapshot with one reference (the
 * caller's), or NULL with err set ("file.yml:12:5: field x not found in type
 * config.ScrapeConfig"). Relative paths in the file are resolved against the
 * file's directory, as Prometheus does. */
config_t *config_load_file(const char *path, vg_err_t *err);

/* Same from memory; `name` is used in messages and `dir` for relative paths
 * is the current directory. yaml need not be NUL-terminated. */
config_t *config_load_string(const char *yaml, size_t len, const char *name, vg_err_t *err);

/* Warnings gathered while loading (unreachable discovery, ...), borrowed. */
size_t config_n_warnings(const config_t *c);
const char *config_warning(const config_t *c, size_t i);

/* Finds a job by name; NULL if none. Borrowed from c. */
const config_scrape_t *config_job_find(const config_t *c, const char *job_name);

/* Takes one more reference and returns c. */
config_t *config_ref(config_t *c);
/* Drops one reference; the last one frees the snapshot. NULL is fine. */
void config_unref(config_t *c);

/* What `vigil check config FILE` does, like `promtool check config`:
 * writes "Checking FILE" then " SUCCESS: FILE is valid prometheus config file
 * syntax" (and the rule files found) on out, or "  FAILED: <message>" on
 * err_out (NULL = out). Also checks that rule_files globs and file_sd files
 * can be read, as promtool does. Warnings are printed as "  WARNING: ...".
 * Returns the process exit code: 0 valid, 1 invalid. */
int config_check_file(const char *path, FILE *out, FILE *err_out);

#endif
