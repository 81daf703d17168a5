/* Shared inside the remote module: the queue, its series map, and the
 * pure pieces (back-off, shard calculation, batch encoding, positions)
 * that the unit tests reach directly.
 *
 * The WriteRequest encoder is ingest's (ingest/rw_decode.h, an internal
 * header of that module): remote_write out builds exactly the message the
 * receiver decodes, and one protobuf writer for both directions keeps them
 * from drifting apart. */
#ifndef VG_REMOTE_INT_H
#define VG_REMOTE_INT_H

#include <curl/curl.h>
#include <pthread.h>

#include "ingest/rw_decode.h"
#include "remote/remote.h"

/* ------------------------------------------------------------- metrics */

typedef struct remote_metrics {
    selfmon_family_t *samples_total, *samples_failed, *samples_retried, *samples_dropped,
        *samples_pending, *enqueue_retries, *shards, *shards_desired, *shards_max, *shards_min,
        *shard_capacity, *max_samples_per_send, *highest_timestamp, *queue_highest_timestamp,
        *queue_highest_sent, *sent_batch_duration, *bytes_total;
} remote_metrics_t;

/* --------------------------------------------------------------- series */

/* ref -> labels to send (NULL: dropped by relabeling). Open addressing;
 * used by the watcher thread only. Labels are never replaced or freed
 * before the map, because queued samples point at them. */
typedef struct remote_series_entry {
    uint64_t ref; /* 0: empty slot (refs start at 1) */
    labels_t *ls;
} remote_series_entry_t;

typedef struct remote_series_map {
    remote_series_entry_t *slots;
    size_t n_slots, n;
} remote_series_map_t;

void remote_series_map_free(remote_series_map_t *m);
/* The entry of ref, or NULL when the map has never seen it. */
const remote_series_entry_t *remote_series_map_get(const remote_series_map_t *m, uint64_t ref);
/* Adds ref (takes ls, which may be NULL for a dropped series). A ref
 * already present keeps its labels and ls is freed. */
void remote_series_map_put(remote_series_map_t *m, uint64_t ref, labels_t *ls);

/* The labels a series is sent with: in (borrowed, any order) plus the
 * external labels it does not have (ext sorted by name, as config gives
 * them), then the write_relabel program (NULL: none). Returns a new set,
 * or NULL when relabeling drops the series or nothing is left. b is
 * scratch. */
labels_t *remote_series_process(const labels_label_t *in, size_t n_in, const config_label_t *ext,
                                size_t n_ext, const labels_relabel_t *prog, labels_builder_t *b);

/* ----------------------------------------------------- pure calculations */

/* How long to wait before the next attempt, and the back-off after it, as
 * Prometheus does: the Retry-After value when the receiver gave one
 * (retry_after_ms > 0), else the current back-off; the next back-off is
 * twice the wait, at most max_ms. */
int64_t remote_backoff_sleep(int64_t backoff_ms, int64_t retry_after_ms);
int64_t remote_backoff_next(int64_t slept_ms, int64_t max_ms);

/* Retry-After as seconds or an HTTP date, in ms from now_ms; 0 when absent
 * or unreadable (the default back-off applies), negative when in the past. */
int64_t remote_retry_after_ms(const char *value, int64_t now_ms);

/* Exponentially weighted rate, ticked every `interval_s` (Prometheus's
 * ewmaRate, weight 0.2, interval 10 s). */
typedef struct remote_ewma {
    double weight, interval_s;
    double acc;
    double rate;
    bool init;
} remote_ewma_t;

void remote_ewma_tick(remote_ewma_t *e);

typedef struct remote_shard_calc {
    double data_in_rate, data_out_rate, data_dropped_rate;
    double data_out_duration_rate; /* seconds spent sending per second */
    double highest_recv_s, highest_sent_s;
    int n_shards, min_shards, max_shards;
} remote_shard_calc_t;

/* Prometheus's calculateDesiredShards: returns the number of shards to run
 * (the current number when the change is within 30 %, when nothing was
 * sent, or when it would shrink while more than 10 s behind); *out_raw
 * gets the unrounded estimate for the shards_desired gauge. */
int remote_desired_shards(const remote_shard_calc_t *c, double *out_raw);

/* ------------------------------------------------------------- batching */

typedef struct remote_sample {
    const labels_t *ls;
    int64_t t;
    double v;
    uint64_t seq; /* the WAL record it came from */
} remote_sample_t;

/* Appends the samples to w as TimeSeries, one per distinct label set in
 * the order each first appears, its samples in their original order (so a
 * series' order is kept). Returns the highest timestamp. */
int64_t remote_batch_encode(const remote_sample_t *s, size_t n, ingest_rw_writer_t *w);

/* ------------------------------------------------------------ positions */

/* Reads a position file; VG_ERR_NOTFOUND when absent or unreadable. */
int remote_position_load(const char *path, tsdb_wal_pos_t *out);
/* Writes it atomically (temporary file, fsync, rename). */
int remote_position_save(const char *path, const tsdb_wal_pos_t *pos, vg_err_t *err);

/* ---------------------------------------------------------------- queue */

typedef struct remote_queue remote_queue_t;

typedef struct remote_queue_options {
    config_t *config; /* the snapshot cfg lives in; the queue takes a reference */
    const config_remote_write_t *cfg;
    const char *name; /* remote_name: the entry's name or a hash */
    const char *key;  /* file-name-safe id: position file and WAL hold */
    tsdb_t *db;
    const remote_metrics_t *m; /* may hold NULL families */
    const char *dir;           /* where the position file goes */
    const char *user_agent;
    int64_t flush_deadline_ms;
} remote_queue_options_t;

remote_queue_t *remote_queue_start(const remote_queue_options_t *o, vg_err_t *err);
/* flush: send what is queued (up to the flush deadline, giving up at the
 * first failure). Saves the acknowledged position; frees q. */
void remote_queue_stop(remote_queue_t *q, bool flush);
void remote_queue_stats(remote_queue_t *q, remote_queue_stats_t *out);

#endif
