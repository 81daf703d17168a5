/* This file implements `vigil serve`: the flags, the server root, reload of
 * the configuration, and the main thread's signal loop. */
#include "cli.h"
#include "cli_int.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alert/alert.h"
#include "config/config.h"
#include "host/host.h"
#include "ingest/ingest.h"
#include "promql/promql.h"
#include "remote/remote.h"
#include "rules/rules.h"
#include "scrape/scrape.h"
#include "web/web.h"

#define MAX_COLLECTOR_FLAGS 64

/* --collector.<name>, --no-collector.<name>, or --collector.<option>=<value>. */
typedef struct collector_flag {
    char name[64];
    bool on;
    const char *value; /* borrowed from argv; NULL for a switch */
} collector_flag_t;

typedef struct serve_options {
    const char *config_file;
    const char *listen_address;
    const char *storage_path;
    const char *log_level;
    const char *log_format;
    bool enable_lifecycle;
    size_t max_body_bytes;
    unsigned threads;
    bool enable_admin_api;
    int64_t retention_ms;
    size_t retention_bytes;
    int64_t wal_fsync_ms;
    size_t max_series;
    int64_t query_timeout_ms, query_lookback_ms;
    size_t query_max_samples;
    unsigned query_max_concurrency;
    const char *enable_feature;
    const char *external_url;
    int64_t resend_delay_ms, outage_tolerance_ms, grace_period_ms;
    const char *am_config_file;  /* "" : no built-in Alertmanager */
    const char *am_storage_path; /* "" : <storage.path>/alertmanager */
    int64_t am_retention_ms;
    collector_flag_t collectors[MAX_COLLECTOR_FLAGS];
    size_t n_collectors;
} serve_options_t;

/* The server root: everything `vigil serve` runs, passed explicitly. */
typedef struct server_root {
    serve_options_t opts;
    pthread_rwlock_t lock; /* guards config and host against a reload */
    config_t *config;
    host_t *host;
    selfmon_t *selfmon;
    selfmon_family_t *reloads_total, *reload_success, *reload_time;
    web_app_t app;
    tsdb_t *tsdb;
    pthread_mutex_t remote_lock; /* serialises remote_apply between reloads */
    remote_t *remote;
    promql_engine_t *engine;
    rules_manager_t *rules;
    alert_manager_t *am; /* NULL unless --alertmanager.config.file */
    web_status_t status; /* what the status endpoints show */
    bool reload_ok;      /* guarded by lock, as config */
    double config_time;  /* when config was loaded (Unix seconds) */
} server_root_t;

/* node_exporter's --collector.<name>, --no-collector.<name> and
 * --collector.<name>.<option>=<value>. */
static bool collector_flag(void *ud, const char *name, const char *value, bool negated) {
    serve_options_t *o = ud;
    if (strncmp(name, "collector.", 10) != 0 || (value && negated)) return false;
    if (o->n_collectors == MAX_COLLECTOR_FLAGS) return false;
    collector_flag_t *c = &o->collectors[o->n_collectors++];
    snprintf(c->name, sizeof c->name, "%s", name + 10);
    c->on = !negated;
    c->value = value;
    return true;
}

/* Host metrics are on unless the vigil section turns them off. */
static bool host_enabled(const config_t *cfg) {
    return !cfg->vigil.present || cfg->vigil.host.enabled;
}

/* Builds the host collectors from the configuration, then the flags, which
 * win. NULL with err set on an unknown collector name. */
static host_t *host_build(const serve_options_t *o, const config_t *cfg, vg_err_t *err) {
    if (!host_enabled(cfg)) return NULL;
    host_t *h = host_new("/proc", "/sys", "/", err);
    if (!h) return NULL;
    const config_vigil_host_t *hc = &cfg->vigil.host;
    for (size_t i = 0; i < hc->n_collectors; i++) {
        const char *name = hc->collectors[i].name;
        if (host_collector_set_enabled(h, name, hc->collectors[i].on, err) != VG_OK) {
            vg_err_prefix(err, "vigil.host.collectors: ");
            host_free(h);
            return NULL;
        }
    }
    for (size_t i = 0; i < o->n_collectors; i++) {
        const collector_flag_t *f = &o->collectors[i];
        int rc = f->value ? host_option_set(h, f->name, f->value, err)
                          : host_collector_set_enabled(h, f->name, f->on, err);
        if (rc != VG_OK) {
            vg_err_prefix(err, "--collector.%s: ", o->collectors[i].name);
            host_free(h);
            return NULL;
        }
    }
    return h;
}

static void log_warnings(const config_t *cfg) {
    for (size_t i = 0; i < config_n_warnings(cfg); i++)
        vg_log_warn("Configuration warning", "file", cfg->path, "warning", config_warning(cfg, i),
                    NULL);
}

static int root_reload(void *ud, vg_err_t *err) {
    server_root_t *r = ud;
    selfmon_add(r->reloads_total, NULL, 1);
    config_t *cfg = config_load_file(r->opts.config_file, err);
    host_t *h = NULL;
    if (cfg) {
        h = host_build(&r->opts, cfg, err);
        if (!h && host_enabled(cfg)) {
            config_unref(cfg);
            cfg = NULL;
        }
    }
    if (!cfg) {
        pthread_rwlock_wrlock(&r->lock);
        r->reload_ok = false;
        pthread_rwlock_unlock(&r->lock);
        selfmon_set(r->reload_success, NULL, 0);
        vg_log_error("Error reloading config", "file", r->opts.config_file, "err", err->msg, NULL);
        return VG_ERR;
    }
    log_warnings(cfg);
    pthread_rwlock_wrlock(&r->lock);
    config_t *old_cfg = r->config;
    host_t *old_host = r->host;
    r->config = cfg;
    r->host = h;
    r->reload_ok = true;
    r->config_time = vg_time_now();
    config_t *scrape_cfg = config_ref(cfg);
    pthread_rwlock_unlock(&r->lock);
    config_unref(old_cfg);
    host_free(old_host);
    scrape_t *scr = atomic_load(&r->app.scrape);
    vg_err_t serr = {0};
    if (scr && scrape_apply_config(scr, scrape_cfg, &serr) != VG_OK)
        vg_log_error("Applying the scrape configuration", "err", serr.msg, NULL);
    pthread_mutex_lock(&r->remote_lock);
    vg_err_t rerr = {0};
    if (r->remote && remote_apply(r->remote, scrape_cfg, &rerr) != VG_OK)
        vg_log_error("Applying the remote_write configuration", "err", rerr.msg, NULL);
    pthread_mutex_unlock(&r->remote_lock);
    if (r->am) {
        /* The Alertmanager's file reloads with the rest; a bad one keeps the
         * old in force and fails the reload, as Alertmanager's own. */
        vg_err_t aerr = {0};
        alert_config_t *ac = alert_config_load_file(r->opts.am_config_file, &aerr);
        if (!ac || alert_manager_apply(r->am, ac, &aerr) != VG_OK) {
            vg_log_error("Loading configuration file failed", "file", r->opts.am_config_file, "err",
                         aerr.msg, NULL);
            if (ac) alert_config_unref(ac);
            config_unref(scrape_cfg);
            pthread_rwlock_wrlock(&r->lock);
            r->reload_ok = false;
            pthread_rwlock_unlock(&r->lock);
            selfmon_set(r->reload_success, NULL, 0);
            vg_err_set(err, VG_ERR_INPUT, "%s", aerr.msg);
            return VG_ERR;
        }
        alert_config_unref(ac);
    }
    rules_manager_t *rm = atomic_load(&r->app.rules);
    int rules_rc = rm ? rules_manager_update(rm, scrape_cfg, err) : VG_OK;
    config_unref(scrape_cfg);
    if (rules_rc != VG_OK) {
        /* As Prometheus: the rest is applied, the reload still fails. */
        pthread_rwlock_wrlock(&r->lock);
        r->reload_ok = false;
        pthread_rwlock_unlock(&r->lock);
        selfmon_set(r->reload_success, NULL, 0);
        return VG_ERR;
    }
    selfmon_set(r->reload_success, NULL, 1);
    selfmon_set(r->reload_time, NULL, vg_time_now());
    vg_log_info("Completed loading of configuration file", "filename", r->opts.config_file, NULL);
    return VG_OK;
}

static void root_write_host(void *ud, expfmt_writer_t *w) {
    server_root_t *r = ud;
    pthread_rwlock_rdlock(&r->lock);
    if (r->host) host_collect(r->host, w);
    pthread_rwlock_unlock(&r->lock);
    alert_manager_t *am = atomic_load(&r->app.alertmanager);
    if (am) alert_manager_write_metrics(am, w);
}

/* Alerts of vigil's own rules into the built-in Alertmanager, as a
 * Prometheus would POST them. */
static void root_local_alerts(void *ud, const rules_outgoing_alert_t *alerts, size_t n) {
    server_root_t *r = ud;
    alert_manager_t *am = atomic_load(&r->app.alertmanager);
    if (!am) return;
    alert_input_t *in = vg_calloc(n ? n : 1, sizeof *in);
    for (size_t i = 0; i < n; i++)
        in[i] = (alert_input_t){.labels = alerts[i].labels,
                                .annotations = alerts[i].annotations,
                                .starts_at_ns = alerts[i].starts_at_ns,
                                .ends_at_ns = alerts[i].ends_at_ns,
                                .generator_url = alerts[i].generator_url};
    vg_err_t err = {0};
    if (alert_manager_put(am, in, n, vg_time_now_ns(), &err) != VG_OK)
        vg_log_warn("Alerts from rules rejected", "err", err.msg, NULL);
    free(in);
}

static config_t *root_config(void *ud) {
    server_root_t *r = ud;
    pthread_rwlock_rdlock(&r->lock);
    config_t *c = config_ref(r->config);
    pthread_rwlock_unlock(&r->lock);
    return c;
}

static bool root_reload_state(void *ud, double *out_time) {
    server_root_t *r = ud;
    pthread_rwlock_rdlock(&r->lock);
    bool ok = r->reload_ok;
    if (out_time) *out_time = r->config_time;
    pthread_rwlock_unlock(&r->lock);
    return ok;
}

/* --enable-feature: a comma-separated list, as Prometheus takes it. The
 * PromQL ones switch parser syntax on; others are accepted and ignored. */
static void engine_features(const char *list, promql_parse_opts_t *p) {
    const struct {
        const char *name;
        bool *on;
    } known[] = {
        {"promql-experimental-functions", &p->experimental_functions},
        {"promql-duration-expr", &p->duration_expr},
        {"promql-extended-range-selectors", &p->extended_range},
        {"promql-binop-fill-modifiers", &p->fill_modifiers},
    };
    for (const char *s = list; s && *s;) {
        size_t n = strcspn(s, ",");
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strlen(known[i].name) == n && strncmp(s, known[i].name, n) == 0)
                *known[i].on = true;
        s += n + (s[n] == ',');
    }
}

static void status_flags_free(server_root_t *r, const char **names, const char **values) {
    for (size_t i = 0; i < r->status.n_flags; i++)
        free((char *)values[i]);
    free(names);
    free(values);
}

/* The flag values as /api/v1/status/flags lists them. */
static void status_flags(server_root_t *r, const cli_flag_t *flags, const char ***names,
                         const char ***values) {
    size_t n = 0;
    while (flags[n].name)
        n++;
    *names = vg_calloc(n + 1, sizeof **names);
    *values = vg_calloc(n + 1, sizeof **values);
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        const char *v = buf;
        switch (flags[i].kind) {
        case FLAG_STRING: v = *(const char **)flags[i].target; break;
        case FLAG_BOOL: v = *(bool *)flags[i].target ? "true" : "false"; break;
        case FLAG_BYTES: snprintf(buf, sizeof buf, "%zu", *(size_t *)flags[i].target); break;
        case FLAG_UINT: snprintf(buf, sizeof buf, "%u", *(unsigned *)flags[i].target); break;
        case FLAG_DURATION: vg_duration_format(*(int64_t *)flags[i].target, buf); break;
        }
        (*names)[i] = flags[i].name;
        (*values)[i] = vg_strdup(v ? v : "");
    }
    r->status.n_flags = n;
}

static void root_quit(void *ud) {
    (void)ud;
    kill(getpid(), SIGTERM);
}

int cli_serve(int argc, char **argv) {
    server_root_t root;
    memset(&root, 0, sizeof root);
    serve_options_t *o = &root.opts;
    o->config_file = "vigil.yml";
    o->listen_address = ":9090";
    o->storage_path = "data";
    o->log_level = "info";
    o->log_format = "logfmt";
    o->enable_lifecycle = true;
    o->max_body_bytes = WEB_DEFAULT_MAX_BODY_BYTES;
    o->threads = 4;
    o->query_timeout_ms = 2 * 60 * 1000;
    o->query_lookback_ms = 5 * 60 * 1000;
    o->query_max_samples = 50000000;
    o->query_max_concurrency = 20;
    o->enable_feature = "";
    o->external_url = "";
    o->resend_delay_ms = 60 * 1000;
    o->outage_tolerance_ms = 3600 * 1000;
    o->grace_period_ms = 600 * 1000;
    o->am_config_file = "";
    o->am_storage_path = "";
    o->am_retention_ms = INT64_C(120) * 3600 * 1000;
    const cli_flag_t flags[] = {
        {"config.file", FLAG_STRING, &o->config_file, "configuration file (default vigil.yml)"},
        {"web.listen-address", FLAG_STRING, &o->listen_address,
         "address to listen on (default :9090)"},
        {"storage.path", FLAG_STRING, &o->storage_path, "data directory (default ./data)"},
        {"storage.tsdb.path", FLAG_STRING, &o->storage_path, "the same, Prometheus's name"},
        {"log.level", FLAG_STRING, &o->log_level, "debug, info, warn or error (default info)"},
        {"log.format", FLAG_STRING, &o->log_format, "logfmt or json (default logfmt)"},
        {"web.enable-lifecycle", FLAG_BOOL, &o->enable_lifecycle,
         "allow POST /-/reload and /-/quit (default on; --no-web.enable-lifecycle)"},
        {"web.max-request-body-size", FLAG_BYTES, &o->max_body_bytes,
         "largest request body accepted (default 32MiB)"},
        {"web.threads", FLAG_UINT, &o->threads, "HTTP worker threads (default 4)"},
        {"web.enable-admin-api", FLAG_BOOL, &o->enable_admin_api,
         "allow the /api/v1/admin/tsdb endpoints (default off)"},
        {"storage.tsdb.retention.time", FLAG_DURATION, &o->retention_ms,
         "how long to keep samples (default 30d)"},
        {"storage.retention.time", FLAG_DURATION, &o->retention_ms, "the same"},
        {"storage.tsdb.retention.size", FLAG_BYTES, &o->retention_bytes,
         "most bytes of blocks and WAL to keep; oldest blocks go first (default 0: no limit)"},
        {"storage.retention.size", FLAG_BYTES, &o->retention_bytes, "the same"},
        {"storage.wal.fsync-interval", FLAG_DURATION, &o->wal_fsync_ms,
         "how often the WAL is fsynced (default 1s)"},
        {"storage.max-series", FLAG_BYTES, &o->max_series,
         "most series the store holds; 0 for no limit (default 0)"},
        {"query.timeout", FLAG_DURATION, &o->query_timeout_ms,
         "longest a query may run before it is aborted (default 2m)"},
        {"query.max-samples", FLAG_BYTES, &o->query_max_samples,
         "most samples a query may load into memory (default 50000000)"},
        {"query.lookback-delta", FLAG_DURATION, &o->query_lookback_ms,
         "how far back an instant selector looks for a sample (default 5m)"},
        {"query.max-concurrency", FLAG_UINT, &o->query_max_concurrency,
         "most queries evaluated at once (default 20)"},
        {"enable-feature", FLAG_STRING, &o->enable_feature,
         "comma-separated features: promql-experimental-functions, promql-duration-expr, "
         "promql-extended-range-selectors, promql-binop-fill-modifiers"},
        {"web.external-url", FLAG_STRING, &o->external_url,
         "the URL under which vigil is reached from outside (default http://<host>:<port>)"},
        {"rules.alert.resend-delay", FLAG_DURATION, &o->resend_delay_ms,
         "minimum wait before resending an alert to Alertmanager (default 1m)"},
        {"rules.alert.for-outage-tolerance", FLAG_DURATION, &o->outage_tolerance_ms,
         "max time to tolerate an outage for restoring 'for' state of alerts (default 1h)"},
        {"rules.alert.for-grace-period", FLAG_DURATION, &o->grace_period_ms,
         "minimum duration between alert and restored 'for' state (default 10m)"},
        {"alertmanager.config.file", FLAG_STRING, &o->am_config_file,
         "run the built-in Alertmanager with this alertmanager.yml (default: none)"},
        {"alertmanager.storage.path", FLAG_STRING, &o->am_storage_path,
         "where the Alertmanager keeps silences and its notification log (default "
         "<storage.path>/alertmanager)"},
        {"alertmanager.data.retention", FLAG_DURATION, &o->am_retention_ms,
         "how long to keep expired silences and notification log entries (default 120h)"},
        {NULL, FLAG_STRING, NULL, NULL},
    };
    size_t n_args;
    char *args[1];
    int rc = cli_flags_parse(flags, argc, argv,
                             "vigil serve [<flags>]\n\n  --collector.<name> / "
                             "--no-collector.<name> switch a host collector on or off",
                             collector_flag, o, args, 0, &n_args);
    if (rc) return rc == 1 ? 0 : 2;
    vg_log_level_t level;
    vg_log_format_t format;
    if (vg_log_level_parse(o->log_level, &level) != VG_OK) {
        fprintf(stderr, "vigil: error: unrecognized log level %s\n", o->log_level);
        return 2;
    }
    if (vg_log_format_parse(o->log_format, &format) != VG_OK) {
        fprintf(stderr, "vigil: error: unrecognized log format %s\n", o->log_format);
        return 2;
    }
    vg_log_setup(level, format, stderr);
    vg_log_info("Starting vigil", "version", VIGIL_VERSION, NULL);

    vg_err_t err = {0};
    char host[256];
    unsigned port;
    if (web_parse_listen_address(o->listen_address, host, sizeof host, &port, &err) != VG_OK ||
        vg_mkdir_all(o->storage_path, &err) != VG_OK) {
        vg_log_error("Cannot start", "err", err.msg, NULL);
        return 1;
    }
    root.config = config_load_file(o->config_file, &err);
    if (!root.config) {
        vg_log_error("Error loading config", "file", o->config_file, "err", err.msg, NULL);
        return 1;
    }
    log_warnings(root.config);
    root.host = host_build(o, root.config, &err);
    if (!root.host && host_enabled(root.config)) {
        vg_log_error("Error loading config", "err", err.msg, NULL);
        config_unref(root.config);
        return 1;
    }
    pthread_rwlock_init(&root.lock, NULL);
    pthread_mutex_init(&root.remote_lock, NULL);
    root.selfmon = selfmon_new("/proc");
    root.reloads_total = selfmon_counter(root.selfmon, "vigil_config_reloads_total",
                                         "Number of configuration reloads attempted.", 0, NULL);
    root.reload_success =
        selfmon_gauge(root.selfmon, "vigil_config_last_reload_successful",
                      "Whether the last configuration reload attempt was successful.", 0, NULL);
    root.reload_time =
        selfmon_gauge(root.selfmon, "vigil_config_last_reload_success_timestamp_seconds",
                      "Timestamp of the last successful configuration reload.", 0, NULL);
    selfmon_set(root.reload_success, NULL, 1);
    selfmon_set(root.reload_time, NULL, vg_time_now());
    selfmon_family_t *build_info = selfmon_gauge(
        root.selfmon, "vigil_build_info", "A metric with a constant '1' value labeled by version.",
        1, (const char *const[]){"version"});
    selfmon_set(build_info, (const char *const[]){VIGIL_VERSION}, 1);

    root.app.selfmon = root.selfmon;
    root.app.write_host_metrics = root_write_host;
    root.app.reload = root_reload;
    root.app.quit = root_quit;
    root.app.ud = &root;
    root.app.enable_lifecycle = o->enable_lifecycle;
    root.app.enable_admin_api = o->enable_admin_api;
    root.reload_ok = true;
    root.config_time = vg_time_now();
    const char **flag_names, **flag_values;
    status_flags(&root, flags, &flag_names, &flag_values);
    char retention[32];
    vg_duration_format(o->retention_ms ? o->retention_ms : INT64_C(30) * 24 * 3600 * 1000,
                       retention);
    root.status = (web_status_t){.version = VIGIL_VERSION,
                                 .start_time = vg_time_now(),
                                 .flag_names = flag_names,
                                 .flag_values = flag_values,
                                 .n_flags = root.status.n_flags,
                                 .storage_retention = retention,
                                 .lookback_ms = o->query_lookback_ms,
                                 .n_threads = o->threads,
                                 .config = root_config,
                                 .reload_state = root_reload_state};
    root.app.status = &root.status;
    if (vg_fault_from_env() != VG_OK) {
        fprintf(stderr, "vigil: error: VIGIL_FAULT must be write|fsync:<countdown>:<errno>\n");
        return 2;
    }

    /* Signals are taken by this thread alone: block them before any other
     * thread starts so every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    web_options_t wopts = {.listen_address = o->listen_address,
                           .max_body_bytes = o->max_body_bytes,
                           .n_threads = o->threads};
    web_server_t *srv = web_server_start(&wopts, &root.app, &err);
    if (!srv) {
        vg_log_error("Cannot start the web server", "err", err.msg, NULL);
        config_unref(root.config);
        host_free(root.host);
        selfmon_free(root.selfmon);
        status_flags_free(&root, flag_names, flag_values);
        return 1;
    }
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%u", web_server_port(srv));
    vg_log_info("Listening", "address", o->listen_address, "port", port_text, NULL);
    /* The store opens while the server already answers (503 until then),
     * as Prometheus serves /-/ready during WAL replay. */
    vg_buf_t tsdb_dir = VG_BUF_INIT;
    vg_buf_printf(&tsdb_dir, "%s/tsdb", o->storage_path);
    tsdb_options_t topts = {.dir = tsdb_dir.data,
                            .retention_ms = o->retention_ms,
                            .retention_bytes = o->retention_bytes,
                            .wal_fsync_interval_ms = o->wal_fsync_ms,
                            .max_series = o->max_series,
                            .selfmon = root.selfmon};
    root.tsdb = tsdb_open(&topts, &err);
    vg_buf_free(&tsdb_dir);
    if (!root.tsdb) {
        vg_log_error("Cannot open the storage", "err", err.msg, NULL);
        web_server_stop(srv);
        config_unref(root.config);
        host_free(root.host);
        selfmon_free(root.selfmon);
        status_flags_free(&root, flag_names, flag_values);
        return 1;
    }
    atomic_store(&root.app.tsdb, root.tsdb);
    promql_engine_opts_t eopts = {.lookback_ms = o->query_lookback_ms,
                                  .timeout_ms = o->query_timeout_ms,
                                  .max_samples = o->query_max_samples,
                                  .max_concurrency = o->query_max_concurrency};
    engine_features(o->enable_feature, &eopts.parse);
    root.engine = promql_engine_new(&eopts);
    atomic_store(&root.app.engine, root.engine);
    /* The Pushgateway's groups, kept in <storage.path>/pushgateway.json. */
    vg_buf_t push_path = VG_BUF_INIT;
    vg_buf_printf(&push_path, "%s/pushgateway.json", o->storage_path);
    ingest_push_t *push = ingest_push_open(push_path.data, &err);
    if (!push) {
        /* A damaged file must not stop pushes: start empty, keep the file. */
        vg_log_error("Cannot load the pushed groups; starting with none", "err", err.msg, NULL);
        push = ingest_push_open(NULL, NULL);
    }
    vg_buf_free(&push_path);
    atomic_store(&root.app.push, push);
    scrape_options_t sopts = {
        .tsdb = root.tsdb, .selfmon = root.selfmon, .user_agent = "vigil/" VIGIL_VERSION};
    scrape_t *scr = scrape_new(&sopts, &err);
    if (!scr) {
        vg_log_error("Cannot start scraping", "err", err.msg, NULL);
    } else {
        /* Published first, then applied under the read lock: a reload
         * racing with start-up applies its newer configuration after. */
        atomic_store(&root.app.scrape, scr);
        pthread_rwlock_rdlock(&root.lock);
        vg_err_t serr = {0};
        if (scrape_apply_config(scr, root.config, &serr) != VG_OK)
            vg_log_error("Applying the scrape configuration", "err", serr.msg, NULL);
        pthread_rwlock_unlock(&root.lock);
    }
    /* remote_write queues follow the WAL from here (or from where they
     * stopped last time). */
    vg_buf_t remote_dir = VG_BUF_INIT;
    vg_buf_printf(&remote_dir, "%s/remote", o->storage_path);
    remote_options_t ropts = {.tsdb = root.tsdb,
                              .selfmon = root.selfmon,
                              .dir = remote_dir.data,
                              .user_agent = "vigil/" VIGIL_VERSION};
    pthread_mutex_lock(&root.remote_lock);
    root.remote = remote_new(&ropts, &err);
    vg_buf_free(&remote_dir);
    if (!root.remote) {
        vg_log_error("Cannot start remote_write", "err", err.msg, NULL);
    } else {
        pthread_rwlock_rdlock(&root.lock);
        vg_err_t rerr = {0};
        if (remote_apply(root.remote, root.config, &rerr) != VG_OK)
            vg_log_error("Applying the remote_write configuration", "err", rerr.msg, NULL);
        pthread_rwlock_unlock(&root.lock);
    }
    pthread_mutex_unlock(&root.remote_lock);
    /* Rules evaluate over the store with the engine; the external URL
     * defaults to this host and port, as Prometheus's does. */
    vg_buf_t ext_url = VG_BUF_INIT;
    if (*o->external_url) {
        vg_buf_puts(&ext_url, o->external_url);
    } else {
        char hn[256] = "localhost";
        if (gethostname(hn, sizeof hn) != 0) snprintf(hn, sizeof hn, "localhost");
        hn[sizeof hn - 1] = 0;
        vg_buf_printf(&ext_url, "http://%s:%s", hn, port_text);
    }
    while (ext_url.len && ext_url.data[ext_url.len - 1] == '/')
        ext_url.data[--ext_url.len] = '\0';
    if (*o->am_config_file) {
        vg_buf_t am_dir = VG_BUF_INIT;
        if (*o->am_storage_path)
            vg_buf_puts(&am_dir, o->am_storage_path);
        else
            vg_buf_printf(&am_dir, "%s/alertmanager", o->storage_path);
        alert_config_t *ac = alert_config_load_file(o->am_config_file, &err);
        alert_manager_opts_t aopts = {.storage_dir = am_dir.data,
                                      .external_url = ext_url.data ? ext_url.data : "",
                                      .retention_ms = o->am_retention_ms};
        if (!ac) {
            vg_log_error("Loading configuration file failed", "file", o->am_config_file, "err",
                         err.msg, NULL);
        } else if (!(root.am = alert_manager_new(&aopts, &err))) {
            vg_log_error("Cannot start the Alertmanager", "err", err.msg, NULL);
        } else if (alert_manager_apply(root.am, ac, &err) != VG_OK) {
            vg_log_error("Loading configuration file failed", "file", o->am_config_file, "err",
                         err.msg, NULL);
            alert_manager_free(root.am);
            root.am = NULL;
        }
        if (ac) alert_config_unref(ac);
        vg_buf_free(&am_dir);
        if (!root.am) {
            /* Alertmanager refuses to start on a bad file; so does vigil. */
            web_server_stop(srv);
            vg_buf_free(&ext_url);
            atomic_store(&root.app.push, NULL);
            ingest_push_free(push);
            atomic_store(&root.app.scrape, NULL);
            scrape_free(scr);
            remote_free(root.remote);
            promql_engine_free(root.engine);
            tsdb_close(root.tsdb);
            config_unref(root.config);
            host_free(root.host);
            selfmon_free(root.selfmon);
            status_flags_free(&root, flag_names, flag_values);
            return 1;
        }
        atomic_store(&root.app.alertmanager, root.am);
        atomic_store(&root.app.silences, alert_manager_silences(root.am));
        vg_log_info("Alertmanager started", "config", o->am_config_file, NULL);
    }
    rules_manager_opts_t mopts = {.db = root.tsdb,
                                  .engine = root.engine,
                                  .selfmon = root.selfmon,
                                  .external_url = ext_url.data ? ext_url.data : "",
                                  .resend_delay_ms = o->resend_delay_ms,
                                  .outage_tolerance_ms = o->outage_tolerance_ms,
                                  .for_grace_period_ms = o->grace_period_ms,
                                  .user_agent = "vigil/" VIGIL_VERSION,
                                  .local_alerts = root.am ? root_local_alerts : NULL,
                                  .local_ud = &root};
    root.rules = rules_manager_new(&mopts, &err);
    vg_buf_free(&ext_url);
    if (!root.rules) {
        vg_log_error("Cannot start the rule manager", "err", err.msg, NULL);
    } else {
        atomic_store(&root.app.rules, root.rules);
        pthread_rwlock_rdlock(&root.lock);
        config_t *rcfg = config_ref(root.config);
        pthread_rwlock_unlock(&root.lock);
        vg_err_t rerr = {0};
        if (rules_manager_update(root.rules, rcfg, &rerr) != VG_OK)
            vg_log_error("Loading the rule files", "err", rerr.msg, NULL);
        config_unref(rcfg);
    }
    atomic_store(&root.app.ready, true);
    vg_log_info("Server is ready to receive web requests.", NULL);

    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGHUP) {
            vg_err_t rerr = {0};
            root_reload(&root, &rerr);
            continue;
        }
        vg_log_info("Received signal, exiting gracefully...", "signal",
                    sig == SIGINT ? "interrupt" : "terminated", NULL);
        break;
    }
    atomic_store(&root.app.ready, false);
    web_server_stop(srv);
    atomic_store(&root.app.rules, NULL);
    rules_manager_free(root.rules); /* before the engine and the store go */
    atomic_store(&root.app.alertmanager, NULL);
    atomic_store(&root.app.silences, NULL);
    alert_manager_free(root.am);
    atomic_store(&root.app.engine, NULL);
    promql_engine_free(root.engine);
    atomic_store(&root.app.push, NULL);
    ingest_push_free(push); /* writes the state file a last time */
    atomic_store(&root.app.scrape, NULL);
    scrape_free(scr);
    pthread_mutex_lock(&root.remote_lock);
    remote_free(root.remote); /* before the store closes: it reads the WAL */
    root.remote = NULL;
    pthread_mutex_unlock(&root.remote_lock);
    pthread_mutex_destroy(&root.remote_lock);
    tsdb_close(root.tsdb);
    config_unref(root.config);
    host_free(root.host);
    selfmon_free(root.selfmon);
    pthread_rwlock_destroy(&root.lock);
    status_flags_free(&root, flag_names, flag_values);
    vg_log_info("See you next time!", NULL);
    return 0;
}
