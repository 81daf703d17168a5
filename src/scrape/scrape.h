/*
 * scrape — Prometheus's scrape manager: service discovery, target labels,
 * one scrape loop per target, staleness, and the targets API's view.
 *
 * What it does: for every scrape_configs job of the loaded configuration it
 * discovers targets (static_configs; file_sd_configs, JSON or YAML files
 * with globs, watched for changes; http_sd_configs, fetched every
 * refresh_interval), builds each target's labels as Prometheus does
 * (__address__, __scheme__, __metrics_path__, __scrape_interval__,
 * __scrape_timeout__, __param_<name>, job; relabel_configs; instance
 * defaulting to the address; "__" labels removed), and scrapes every target
 * at its interval, at a stable offset inside the interval taken from the
 * target's hash. A scrape negotiates OpenMetrics or the text format, takes
 * gzip, applies the job's limits, honor_labels / honor_timestamps and
 * metric_relabel_configs, and commits the samples plus the synthetic
 * series (up, scrape_duration_seconds, scrape_samples_scraped,
 * scrape_samples_post_metric_relabeling, scrape_series_added) to the store
 * as one batch. Series that disappear between two scrapes, and every series
 * of a target that fails or goes away, get Prometheus's stale marker. A
 * per-target cache maps the raw series text of the exposition to the
 * store's series reference, so a steady-state scrape builds no label sets.
 * Reload keeps the state of targets whose labels did not change.
 *
 * What it owns: one thread (named "scrape") that drives every transfer
 * through one libcurl multi handle, the targets and their caches, and one
 * reference to the configuration snapshot in use. It borrows the store and
 * the self-monitoring registry, which must outlive it.
 *
 * Threads: scrape_new and scrape_free are called by the thread that runs
 * the server; scrape_apply_config from any thread (a reload may come from
 * a signal or an HTTP request; concurrent calls apply in turn). The
 * scrape_targets_* and scrape_metadata_* functions may be called from any
 * thread (HTTP handlers) and copy what they return under the manager's
 * lock. Everything else happens on the scrape thread.
 */
#ifndef VG_SCRAPE_H
#define VG_SCRAPE_H

#include "config/config.h"
#include "expfmt/expfmt.h"
#include "labels/labels.h"
#include "selfmon/selfmon.h"
#include "tsdb/tsdb.h"

typedef struct scrape scrape_t;

typedef struct scrape_options {
    tsdb_t *tsdb;           /* borrowed; required */
    selfmon_t *selfmon;     /* borrowed; NULL for no metrics */
    const char *user_agent; /* NULL: "vigil" */
} scrape_options_t;

/* Starts the scrape thread with no targets. NULL with err set when libcurl
 * or the thread cannot be set up. */
scrape_t *scrape_new(const scrape_options_t *opts, vg_err_t *err);

/* Applies a configuration: takes a new reference on cfg (the caller keeps
 * its own), and returns once the scrape thread has synced every job to it.
 * Targets whose labels are unchanged keep their state; targets that went
 * away get stale markers. A job whose rules do not compile is logged and
 * keeps no targets; the rest still apply (0), and err says what failed
 * (VG_ERR_INPUT). */
int scrape_apply_config(scrape_t *s, config_t *cfg, vg_err_t *err);

/* Stops the thread and frees everything. Writes no stale markers, as
 * Prometheus writes none at shutdown: the series simply end. NULL is fine. */
void scrape_free(scrape_t *s);

/* ----------------------------------------------------------- API views */

typedef enum scrape_health {
    SCRAPE_HEALTH_UNKNOWN = 0,
    SCRAPE_HEALTH_UP,
    SCRAPE_HEALTH_DOWN,
} scrape_health_t;

/* "unknown", "up", "down" as Prometheus spells them. */
const char *scrape_health_name(scrape_health_t h);

/* One target as /api/v1/targets shows it; everything is owned by the
 * snapshot. Dropped targets have only pool and discovered. */
typedef struct scrape_target_info {
    char *pool;
    labels_t *discovered;   /* labels before relabeling */
    labels_t *labels;       /* after relabeling, without "__" labels */
    char *url;              /* the scrape URL */
    char *last_error;       /* "" when none */
    int64_t last_scrape_ms; /* 0: never scraped */
    double last_duration_s;
    scrape_health_t health;
    char interval[32], timeout[32]; /* "15s", "10s" */
} scrape_target_info_t;

typedef struct scrape_targets {
    scrape_target_info_t *active;
    size_t n_active;
    scrape_target_info_t *dropped;
    size_t n_dropped;
} scrape_targets_t;

/* Copies the active and/or dropped targets, ordered by pool name and then
 * by labels. pool NULL or "" for every pool. */
void scrape_targets_snapshot(scrape_t *s, bool active, bool dropped, const char *pool,
                             scrape_targets_t *out);
void scrape_targets_free(scrape_targets_t *t);

/* One metric family's metadata as a target last exposed it
 * (/api/v1/targets/metadata). Owned by the list. */
typedef struct scrape_metadata {
    labels_t *target; /* the target's labels */
    char *metric;
    expfmt_type_t type;
    bool typed; /* a TYPE line was seen */
    char *help, *unit;
} scrape_metadata_t;

/* Copies the metadata of the targets whose labels match every matcher
 * (n_matchers 0: all), for metric (NULL: every metric), at most limit
 * entries (0: no limit). */
void scrape_metadata_snapshot(scrape_t *s, labels_matcher_t *const *matchers, size_t n_matchers,
                              const char *metric, size_t limit, scrape_metadata_t **out,
                              size_t *out_n);
void scrape_metadata_free(scrape_metadata_t *m, size_t n);

#endif
