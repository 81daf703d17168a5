/*
 * tsdb — vigil's time-series store.
 *
 * What it does: keeps samples (int64 milliseconds, float64 value) of series
 * named by label sets. Appends are batched (one remote-write request, one
 * scrape): a batch is written to the write-ahead log before it is applied
 * to the in-memory head, so an acknowledged sample survives kill -9. The
 * head holds each series' samples in Gorilla-compressed chunks, with label
 * strings interned, and an inverted index (postings) for selection by
 * label matchers. Every two hours of data move from the head into an
 * immutable block on disk; blocks are compacted into larger ones and
 * deleted by retention. A clean shutdown checkpoints the head's compressed
 * chunks so the next start loads them instead of replaying the log.
 * Formats: docs/format/wal.md, chunks.md, block.md.
 *
 * What it owns: everything under <dir>/wal and all in-memory series. Label
 * sets passed in are borrowed; label sets handed out belong to the set or
 * iterator that returned them.
 *
 * Threads: any number of threads may append and query at once. Series are
 * sharded into stripes, each with its own lock; the WAL serialises writes
 * of whole batches; a background thread fsyncs the WAL. An appender or a
 * series set belongs to one thread at a time.
 */
#ifndef VG_TSDB_H
#define VG_TSDB_H

#include "labels/labels.h"
#include "selfmon/selfmon.h"

typedef struct tsdb tsdb_t;

typedef struct tsdb_options {
    const char *dir;               /* data directory (created if missing) */
    int64_t retention_ms;          /* blocks older than this (from the newest data) go; 0: 30 d */
    uint64_t retention_bytes;      /* blocks go, oldest first, beyond this size; 0: no limit */
    int64_t wal_fsync_interval_ms; /* 0: 1000 */
    size_t max_series;             /* 0: unlimited */
    labels_limits_t limits;        /* per series; zero fields mean no limit */
    selfmon_t *selfmon;            /* where the store's metrics go; may be NULL */
} tsdb_options_t;

/* Opens the store: loads the checkpoint, replays the WAL (vg_log reports
 * progress) and starts the fsync thread. NULL with err set when the
 * directory cannot be used; a damaged WAL never stops it. */
tsdb_t *tsdb_open(const tsdb_options_t *opts, vg_err_t *err);

/* Stops the background thread, checkpoints the head so the next open
 * needs no WAL replay, and frees everything. */
void tsdb_close(tsdb_t *db);

/* ------------------------------------------------------------ appending */

typedef struct tsdb_appender tsdb_appender_t;

tsdb_appender_t *tsdb_appender_new(tsdb_t *db);
void tsdb_appender_free(tsdb_appender_t *a); /* rolls back what was not committed */

/* Per-sample outcomes of tsdb_appender_add (besides VG_OK). */
#define TSDB_ERR_OUT_OF_ORDER (-100) /* older than the series' newest sample */
#define TSDB_ERR_DUPLICATE (-101)    /* same timestamp, different value */
#define TSDB_ERR_TOO_OLD (-102)      /* before the retention window */
#define TSDB_ERR_SERIES_LIMIT (-103) /* a new series over max_series */
#define TSDB_ERR_LABELS (-104)       /* invalid or over-limit labels */

/* Queues one sample of the series named ls (borrowed; sorted, validated by
 * the caller or here). *ref caches the series between calls: pass 0 the
 * first time, then the value it returned to skip the label lookup (scrape
 * loops do this). An exact repeat of a series' newest sample is accepted
 * and stored once. Errors concern this sample only; the batch goes on. */
int tsdb_appender_add(tsdb_appender_t *a, const labels_t *ls, uint64_t *ref, int64_t t, double v,
                      vg_err_t *err);
/* Same, for a series known by a ref from an earlier add (0 if unknown). */
int tsdb_appender_add_ref(tsdb_appender_t *a, uint64_t ref, int64_t t, double v, vg_err_t *err);

/* Writes the batch to the WAL, then applies it. VG_ERR_IO when the WAL
 * write failed: nothing of the batch is stored and the caller answers 5xx.
 * The appender is empty and reusable afterwards. */
int tsdb_appender_commit(tsdb_appender_t *a, vg_err_t *err);
void tsdb_appender_rollback(tsdb_appender_t *a);
size_t tsdb_appender_pending(const tsdb_appender_t *a);

/* -------------------------------------------------------------- reading */

typedef struct tsdb_series_set tsdb_series_set_t;

/* Selects the series that match every matcher (borrowed) and have samples
 * in [mint, maxt], sorted by label set. limit 0: no limit. The set is a
 * consistent snapshot: later appends do not show in it. */
int tsdb_select(tsdb_t *db, int64_t mint, int64_t maxt, labels_matcher_t *const *matchers,
                size_t n_matchers, size_t limit, tsdb_series_set_t **out, vg_err_t *err);
size_t tsdb_series_set_len(const tsdb_series_set_t *s);
const labels_t *tsdb_series_set_labels(const tsdb_series_set_t *s, size_t i);
void tsdb_series_set_free(tsdb_series_set_t *s);

/* Walks the samples of series i in [mint, maxt] of the select, in time
 * order. */
typedef struct tsdb_iter {
    const tsdb_series_set_t *set;
    size_t series, chunk;
    int64_t mint, maxt;
    int64_t t;
    double v;
    void *state; /* private */
} tsdb_iter_t;

void tsdb_iter_init(tsdb_iter_t *it, const tsdb_series_set_t *s, size_t i);
/* 1 with it->t, it->v set; 0 at the end; negative on corrupt data. */
int tsdb_iter_next(tsdb_iter_t *it);
void tsdb_iter_done(tsdb_iter_t *it);

/* Label names (sorted, unique) of the series that match (all series when
 * n_matchers is 0) in [mint, maxt]. The strings belong to *out_buf, an
 * array of C-string pointers the caller frees with free() after use. */
int tsdb_label_names(tsdb_t *db, int64_t mint, int64_t maxt, labels_matcher_t *const *matchers,
                     size_t n_matchers, char ***out, size_t *out_n, vg_err_t *err);
/* Values (sorted, unique) of one label among the matching series. */
int tsdb_label_values(tsdb_t *db, const char *name, int64_t mint, int64_t maxt,
                      labels_matcher_t *const *matchers, size_t n_matchers, char ***out,
                      size_t *out_n, vg_err_t *err);
void tsdb_strings_free(char **v, size_t n);

/* ---------------------------------------------------------------- admin */

/* Deletes the samples in [mint, maxt] of every matching series: in the
 * head (logged in the WAL first, so a restart does not bring them back)
 * and in blocks (rewritten without them). */
int tsdb_delete(tsdb_t *db, int64_t mint, int64_t maxt, labels_matcher_t *const *matchers,
                size_t n_matchers, vg_err_t *err);

/* Makes <dir>/snapshots/<name>: hard links to every block and, unless
 * skip_head, the head written as one more block — what Prometheus's
 * snapshot API does. out_name gets the name. */
int tsdb_snapshot(tsdb_t *db, bool skip_head, char *out_name, size_t name_len, vg_err_t *err);

/* Runs one round of the background maintenance now: cut the head into
 * blocks, compact, apply retention. (The background thread does this every
 * minute; tests and the admin API call it directly.) */
void tsdb_compact(tsdb_t *db);

typedef struct tsdb_head_stats {
    uint64_t n_series;
    uint64_t n_chunks;
    uint64_t n_samples;
    int64_t min_time, max_time; /* INT64_MAX / INT64_MIN when empty */
    uint64_t memory_bytes;      /* series, chunks, postings and symbols */
    uint64_t symbol_bytes;
} tsdb_head_stats_t;

void tsdb_head_stats(tsdb_t *db, tsdb_head_stats_t *out);

/* One row of a cardinality statistic. */
typedef struct tsdb_stat_row {
    char *name;
    uint64_t value;
} tsdb_stat_row_t;

/* The tables of Prometheus's /api/v1/status/tsdb, top `limit` rows each,
 * sorted by value descending. Free with tsdb_cardinality_free. */
typedef struct tsdb_cardinality {
    tsdb_stat_row_t *series_by_metric, *values_by_label, *memory_by_label, *series_by_pair;
    size_t n_series_by_metric, n_values_by_label, n_memory_by_label, n_series_by_pair;
} tsdb_cardinality_t;

void tsdb_cardinality(tsdb_t *db, size_t limit, tsdb_cardinality_t *out);
void tsdb_cardinality_free(tsdb_cardinality_t *c);

/* ------------------------------------------------------- WAL followers */

/* A follower reads the WAL as it is written, as Prometheus's WAL watcher
 * does for remote_write: series records (ref -> labels) and samples in
 * the order they were logged. Implemented in wal_reader.c. A reader
 * belongs to one thread; any number may run at once. It never reads past
 * what the WAL has acknowledged, so it sees only committed batches. */

/* Where a reader stands: a segment number and the byte offset of the next
 * record in it. Comparable: (segment, offset) grows as the WAL grows. */
typedef struct tsdb_wal_pos {
    int64_t segment;
    int64_t offset;
} tsdb_wal_pos_t;

/* What a reader hands out; pointers are valid during the call only. A
 * callback returning non-zero stops the read, which returns that code;
 * the record it was in is read again by the next call. Any may be NULL. */
typedef struct tsdb_wal_visitor {
    int (*series)(void *ud, uint64_t ref, const labels_label_t *labels, size_t n_labels);
    int (*sample)(void *ud, uint64_t ref, int64_t t, double v);
    /* after each whole record, with the position just past it */
    int (*record_end)(void *ud, const tsdb_wal_pos_t *next);
} tsdb_wal_visitor_t;

typedef struct tsdb_wal_reader tsdb_wal_reader_t;

/* Opens a reader at *from (NULL: the current end of the WAL). First calls
 * v->series for every series the WAL knows up to that position (the
 * newest checkpoint, then the series records of the segments before it),
 * so samples read later find their labels. When the segment of *from is
 * gone (deleted past a hold's limits, or the WAL was emptied) the reader
 * starts at the oldest segment left and *out_lost is set. Returns 0 or
 * VG_ERR_IO. The reader is the caller's (tsdb_wal_reader_free). */
int tsdb_wal_reader_open(tsdb_t *db, const tsdb_wal_pos_t *from, const tsdb_wal_visitor_t *v,
                         void *ud, tsdb_wal_reader_t **out, bool *out_lost, vg_err_t *err);

/* Reads the records written since the last call, through v. When there
 * are none, waits up to timeout_ms for some. Returns the number of records
 * read (0 on timeout), a callback's code, or VG_ERR_IO. Segments that
 * disappear under the reader are skipped (counted by
 * tsdb_wal_reader_lost). */
int tsdb_wal_reader_read(tsdb_wal_reader_t *r, const tsdb_wal_visitor_t *v, void *ud,
                         int timeout_ms, vg_err_t *err);
/* The position of the next record to read. */
void tsdb_wal_reader_pos(const tsdb_wal_reader_t *r, tsdb_wal_pos_t *out);
/* Times the reader had to jump over missing segments (data lost to it). */
uint64_t tsdb_wal_reader_lost(const tsdb_wal_reader_t *r);
void tsdb_wal_reader_free(tsdb_wal_reader_t *r);

/* Keeps WAL segments >= segment from being deleted for the follower
 * `name` (a new call moves the hold), within the limits below, so that a
 * follower that is behind (a remote store that is down) loses nothing.
 * Holds last until released or the store closes; the checkpoint made at
 * close honours them, so the follower resumes after a restart. */
void tsdb_wal_hold(tsdb_t *db, const char *name, int64_t segment);
void tsdb_wal_release(tsdb_t *db, const char *name);
/* Bounds what holds keep: segments beyond max_bytes in total or written
 * longer than max_age_ms ago are deleted anyway. 0: no bound. */
void tsdb_wal_hold_limits(tsdb_t *db, uint64_t max_bytes, int64_t max_age_ms);

/* The labels of the head series with this ref (a new set owned by the
 * caller), or NULL. For followers that meet a sample before its series
 * record, which racing batches can cause. */
labels_t *tsdb_series_labels_by_ref(tsdb_t *db, uint64_t ref);

/* The newest sample timestamp in the head (INT64_MIN when empty): how far
 * ingestion has got, which a follower compares with how far it has sent
 * to know how far behind it is. Lock-free. */
int64_t tsdb_head_max_time(tsdb_t *db);
/* Bytes written to the WAL since the store opened: with a follower's own
 * samples-per-byte, an estimate of how fast samples come in even while the
 * follower is held back. */
uint64_t tsdb_wal_bytes_written(tsdb_t *db);

#endif
