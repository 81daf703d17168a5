/*
 * remote — remote_write out: vigil sending what it stores to other
 * Prometheus-compatible stores, as Prometheus's remote_write does.
 *
 * What it does: for each `remote_write` entry of the configuration, a
 * queue follows the tsdb's write-ahead log (tsdb_wal_reader_*), keeps the
 * series it declares (labels with global.external_labels added where
 * absent, then write_relabel_configs applied; dropped series are
 * remembered), and spreads the samples over shards by series, so each
 * series' samples leave in order. A shard sends a snappy-compressed
 * protobuf WriteRequest when it holds max_samples_per_send samples or
 * batch_send_deadline has passed; a recoverable failure (network error,
 * 5xx, 429 with retry_on_http_429) is retried after an exponential
 * back-off (min_backoff doubling up to max_backoff, or Retry-After),
 * other answers drop the batch. The number of shards follows the backlog
 * with Prometheus's calculation. Metrics carry Prometheus's names
 * (prometheus_remote_storage_*, labels remote_name and url).
 *
 * Unlike Prometheus, a queue remembers how far the receiver has
 * acknowledged (a small file per queue under options.dir) and holds the
 * WAL segments from there on, so a restart of vigil or a receiver that is
 * down for a while loses nothing — within the WAL hold limits.
 *
 * What it owns: its queues, their threads (a WAL watcher and a curl-multi
 * sender per queue), the position files under options.dir. The tsdb,
 * selfmon registry and configuration snapshots are borrowed (snapshots
 * are referenced while in use).
 *
 * Threads: remote_new, remote_apply and remote_free are called by one
 * thread (serve's main thread); the queues run on their own threads.
 */
#ifndef VG_REMOTE_H
#define VG_REMOTE_H

#include "config/config.h"
#include "selfmon/selfmon.h"
#include "tsdb/tsdb.h"

typedef struct remote remote_t;

typedef struct remote_options {
    tsdb_t *tsdb;                  /* borrowed; must outlive remote_free */
    selfmon_t *selfmon;            /* where the metrics go; may be NULL */
    const char *dir;               /* position files (created); e.g. <storage>/remote */
    const char *user_agent;        /* NULL: "vigil" */
    uint64_t wal_retain_max_bytes; /* 0: 2 GiB of WAL kept for lagging queues */
    int64_t wal_retain_max_age_ms; /* 0: 6 h */
    int64_t flush_deadline_ms;     /* how long remote_free tries to send what is queued; 0: 1 m */
} remote_options_t;

/* Makes the (empty) set of queues. NULL with err when dir cannot be made. */
remote_t *remote_new(const remote_options_t *o, vg_err_t *err);

/* Starts, keeps or restarts queues to match cfg->remote_write (cfg is
 * borrowed; queues keep a reference). A queue whose settings did not
 * change keeps running; a changed one restarts from its acknowledged
 * position; a removed one stops, lets its WAL hold go and forgets its
 * position. Returns 0, or an error when a write_relabel_configs entry
 * does not compile (the other queues are applied). */
int remote_apply(remote_t *r, const config_t *cfg, vg_err_t *err);

/* Stops every queue: what is queued is sent for up to flush_deadline_ms
 * (not waiting for a receiver that fails), positions are saved and the WAL
 * holds stay, so the next start resumes. Call before tsdb_close. */
void remote_free(remote_t *r);

/* What one queue has done, for tests and status pages. */
typedef struct remote_queue_stats {
    const char *name; /* remote_name */
    uint64_t samples_in, samples_sent, samples_failed, samples_retried, samples_dropped;
    uint64_t samples_pending;
    size_t shards;
    tsdb_wal_pos_t acked; /* position acknowledged by the receiver */
} remote_queue_stats_t;

/* Fills up to max entries; returns the number of queues. Names are
 * borrowed from the queues: valid until the next remote_apply or
 * remote_free, on the thread that calls those. */
size_t remote_stats(remote_t *r, remote_queue_stats_t *out, size_t max);

#endif
