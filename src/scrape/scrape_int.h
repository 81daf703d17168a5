/* Shared inside the scrape module: targets and their label building, the
 * per-target scrape cache with its staleness sets, the code that turns one
 * scrape body into one batch for the store, and service discovery parsing.
 * The manager (manager.c) ties these together on the scrape thread. */
#ifndef VG_SCRAPE_INT_H
#define VG_SCRAPE_INT_H

#include <pthread.h>

#include "scrape.h"

/* Prometheus's stale marker (value.StaleNaN). */
#define SCRAPE_STALE_NAN_BITS UINT64_C(0x7ff0000000000002)
double scrape_stale_nan(void);

/* Largest file_sd file and http_sd answer read. */
#define SCRAPE_SD_MAX_BYTES (16u * 1024 * 1024)

/* ------------------------------------------------------------ targets */

/* A list of label sets, each owned by the list. */
typedef struct scrape_lsets {
    labels_t **items;
    size_t n, cap;
} scrape_lsets_t;

void scrape_lsets_push(scrape_lsets_t *l, labels_t *ls); /* takes ls */
void scrape_lsets_clear(scrape_lsets_t *l);
/* Moves src's items to the end of dst (src ends empty). */
void scrape_lsets_move(scrape_lsets_t *dst, scrape_lsets_t *src);

/* Builds a target from its discovered labels (borrowed) as Prometheus's
 * PopulateLabels does: adds job, __scrape_interval__, __scrape_timeout__,
 * __metrics_path__ and __scheme__ when absent, sets __param_<name> from
 * params, runs relabel (may be NULL), adds the default port, checks the
 * address, interval and timeout, deletes __meta_ labels and defaults
 * instance to the address. b is scratch. *out_pre receives the labels
 * before relabeling (always, owned by the caller; what the API calls
 * discoveredLabels). Returns 1 and *out_full (owned; still with the "__"
 * labels the URL needs) for a kept target, 0 for a dropped one, or
 * VG_ERR_INPUT with err set when the target is invalid. */
int scrape_target_build(const config_scrape_t *cfg, const labels_relabel_t *relabel,
                        labels_builder_t *b, const labels_t *discovered, labels_t **out_pre,
                        labels_t **out_full, vg_err_t *err);

/* The labels without the ones starting with "__" (Target.Labels()); new. */
labels_t *scrape_target_public_labels(const labels_t *full);

/* The scrape URL (scheme://address/path?params) of a target, as Go's
 * url.URL.String() writes it; params from cfg overridden by __param_
 * labels. Returns a heap string. */
char *scrape_target_url(const config_scrape_t *cfg, const labels_t *full);

/* The identity of a target: its full labels and URL. */
uint64_t scrape_target_hash(const labels_t *full, const char *url);

/* The first time at or after now_ms that is `hash mod interval` into an
 * interval-aligned period: each target keeps the same phase. */
int64_t scrape_target_first_time(uint64_t hash, int64_t interval_ms, int64_t now_ms);

/* ------------------------------------------------------------- cache */

/* One exposed series: its raw text (name and labels as written) to the
 * store's reference and final label set. lset NULL: dropped by
 * metric_relabel_configs. */
typedef struct scrape_entry {
    uint64_t key_hash;
    uint64_t ref;
    labels_t *lset;
    uint64_t lset_hash;
    uint64_t last_iter;
    size_t key_len;
    char key[];
} scrape_entry_t;

/* Label-set hashes to entries: the series of one scrape that had no
 * explicit timestamp, for staleness. */
typedef struct scrape_hset {
    uint64_t *keys; /* 0: empty slot */
    scrape_entry_t **vals;
    size_t n, cap;
} scrape_hset_t;

/* Metadata of one metric family. */
typedef struct scrape_meta {
    uint64_t hash;
    expfmt_type_t type;
    bool typed;
    uint64_t last_iter;
    char *help, *unit;
    size_t name_len;
    char name[];
} scrape_meta_t;

typedef struct scrape_cache {
    scrape_entry_t **slots;
    size_t n, cap;
    scrape_meta_t **meta;
    size_t n_meta, cap_meta;
    scrape_hset_t cur, prev;
    uint64_t iter;
    size_t successful_count;
    /* Taken around metadata changes, which API threads read; NULL: none. */
    pthread_mutex_t *meta_lock;
} scrape_cache_t;

void scrape_cache_init(scrape_cache_t *c, pthread_mutex_t *meta_lock);
void scrape_cache_free(scrape_cache_t *c);
/* Forgets every series and metadata (the staleness sets too). */
void scrape_cache_clear(scrape_cache_t *c);
uint64_t scrape_cache_key_hash(const char *key, size_t len);
/* The entry for a raw series text, or NULL. Borrowed from the cache. */
scrape_entry_t *scrape_cache_get(scrape_cache_t *c, const char *key, size_t len, uint64_t hash);
/* Adds an entry (key copied, lset taken; NULL for dropped) seen in the
 * current iteration. */
scrape_entry_t *scrape_cache_add(scrape_cache_t *c, const char *key, size_t len, uint64_t hash,
                                 uint64_t ref, labels_t *lset);
/* Marks e as exposed without a timestamp in this scrape. */
void scrape_cache_track(scrape_cache_t *c, scrape_entry_t *e);
/* Forgets this scrape's staleness set (a failed scrape exposes nothing). */
void scrape_cache_untrack_all(scrape_cache_t *c);
/* Calls fn for every series of the previous scrape missing from this one. */
void scrape_cache_each_stale(scrape_cache_t *c, void (*fn)(scrape_entry_t *e, void *ud), void *ud);
/* Calls fn for every series tracked in the previous scrape. */
void scrape_cache_each_prev(scrape_cache_t *c, void (*fn)(scrape_entry_t *e, void *ud), void *ud);
/* Ends an iteration as Prometheus's iterDone: on a successful non-empty
 * scrape (flush) entries not seen in it are forgotten; this scrape's set
 * becomes the previous one. */
void scrape_cache_iter_done(scrape_cache_t *c, bool flush);
/* Records a HELP, TYPE or UNIT line for a family. */
void scrape_cache_set_help(scrape_cache_t *c, const char *name, size_t len, const char *help,
                           size_t help_len);
void scrape_cache_set_type(scrape_cache_t *c, const char *name, size_t len, expfmt_type_t t);
void scrape_cache_set_unit(scrape_cache_t *c, const char *name, size_t len, const char *unit,
                           size_t unit_len);

/* ------------------------------------------------------------ appending */

/* How a job treats the samples of its targets. */
typedef struct scrape_sample_cfg {
    bool honor_labels;
    bool honor_timestamps;
    const labels_relabel_t *metric_relabel; /* NULL: none */
    uint64_t sample_limit;                  /* 0: none */
    labels_limits_t limits;
} scrape_sample_cfg_t;

/* A target's scrape state: its cache and synthetic series. */
typedef struct scrape_loop {
    scrape_cache_t cache;
    const labels_t *target_labels; /* borrowed: the target's public labels */
    labels_t *report_lsets[5];     /* up, scrape_duration_seconds, ... */
    uint64_t report_refs[5];
} scrape_loop_t;

/* Per-thread scratch reused across scrapes. */
typedef struct scrape_worker {
    tsdb_appender_t *app;
    labels_builder_t *b;
    expfmt_parser_t parser;
    bool parser_ready;
    labels_label_t *pairs;
    size_t pairs_cap;
} scrape_worker_t;

/* What one scrape came to. */
typedef struct scrape_result {
    size_t total, added, series_added;
    size_t n_out_of_order, n_duplicate, n_out_of_bounds;
    bool sample_limit_hit, label_limit_hit;
} scrape_result_t;

void scrape_worker_init(scrape_worker_t *w, tsdb_t *db);
void scrape_worker_free(scrape_worker_t *w);

/* Sets up a loop for a target with these public labels (borrowed, must
 * outlive the loop). meta_lock as scrape_cache_init. */
void scrape_loop_init(scrape_loop_t *l, const labels_t *target_labels, pthread_mutex_t *meta_lock);
void scrape_loop_free(scrape_loop_t *l);

/* Appends one exposition body (len > 0) to w's appender, as Prometheus's
 * scrapeLoop.append: cache lookups, label mutation, limits, staleness of
 * series that disappeared. Nothing is committed. On failure (a parse
 * error, a limit) returns a negative code with err set and res holding the
 * counts so far; the caller rolls back and calls scrape_loop_append_failed. */
int scrape_loop_append(scrape_worker_t *w, scrape_loop_t *l, const scrape_sample_cfg_t *cfg,
                       const char *body, size_t len, expfmt_format_t format, int64_t t,
                       scrape_result_t *res, vg_err_t *err);
/* A failed (or empty) scrape: stale markers for every series of the
 * previous one. */
void scrape_loop_append_failed(scrape_worker_t *w, scrape_loop_t *l, int64_t t);
/* Appends the synthetic series of a scrape. */
void scrape_loop_report(scrape_worker_t *w, scrape_loop_t *l, int64_t t, double duration_s,
                        const scrape_result_t *res, bool ok);
/* The end of a target: stale markers for its series and its synthetic
 * series. */
void scrape_loop_stale_all(scrape_worker_t *w, scrape_loop_t *l, int64_t t);

/* ---------------------------------------------------------- discovery */

/* Parses a file_sd / http_sd document: a list of {targets: [..], labels:
 * {..}}. Each target becomes a label set with __address__, the group's
 * labels and meta_name=meta_value (e.g. __meta_filepath) appended to out.
 * On error nothing is appended. */
int scrape_sd_parse_json(const char *data, size_t len, const char *meta_name,
                         const char *meta_value, scrape_lsets_t *out, vg_err_t *err);
int scrape_sd_parse_yaml(const char *data, size_t len, const char *meta_name,
                         const char *meta_value, scrape_lsets_t *out, vg_err_t *err);

#endif
