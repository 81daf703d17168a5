/*
 * wal.h — the write-ahead log of the tsdb module (internal: only tsdb code
 * and its tests include it). The format is docs/format/wal.md.
 *
 * Owns the segment files under <dir>. Threads: wal_write, wal_cut and
 * wal_sync may be called from any thread and serialise on the WAL's lock;
 * wal_replay runs once, before any write.
 */
#ifndef VG_TSDB_WAL_H
#define VG_TSDB_WAL_H

#include <stdint.h>

#include "core/core.h"

#define WAL_MAGIC 0x56574c31u
#define WAL_VERSION 1
#define WAL_SEGMENT_HEADER 8
#define WAL_RECORD_HEADER 9
#define WAL_MAX_RECORD (16u << 20)
#define WAL_SEGMENT_MAX (128u << 20)

enum { WAL_REC_SERIES = 1, WAL_REC_SAMPLES = 2, WAL_REC_TOMBSTONES = 3, WAL_REC_CHUNKS = 4 };

typedef struct wal_label {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} wal_label_t;

/* What replay hands back, record by record. Pointers are valid only during
 * the call. Returning non-zero from a callback stops the replay with that
 * code. */
typedef struct wal_replay_cb {
    int (*series)(void *ud, uint64_t ref, const wal_label_t *labels, size_t n_labels);
    int (*sample)(void *ud, uint64_t ref, int64_t t, double v);
    int (*tombstone)(void *ud, uint64_t ref, int64_t mint, int64_t maxt);
    int (*chunk)(void *ud, uint64_t ref, int64_t mint, int64_t maxt, uint32_t n_samples,
                 const uint8_t *bytes, size_t len);
} wal_replay_cb_t;

typedef struct wal_stats {
    uint64_t records_replayed;
    uint64_t corruptions; /* records skipped for a bad CRC or a bad payload */
    uint64_t torn_bytes;  /* bytes truncated from the tail of the last segment */
    uint64_t bytes_written;
    uint64_t fsyncs;
    uint64_t write_failures;
    int first_segment, last_segment;
} wal_stats_t;

typedef struct wal wal_t;

/* Opens (creating if needed) the WAL directory. Nothing is read yet. */
wal_t *wal_open(const char *dir, vg_err_t *err);
void wal_close(wal_t *w); /* fsyncs and closes */

/* Reads the newest checkpoint, then every later segment, calling cb. A
 * corrupt record is skipped, a torn tail truncated. Then starts a fresh
 * segment for writing. */
int wal_replay(wal_t *w, const wal_replay_cb_t *cb, void *ud, vg_err_t *err);

/* Writes already-encoded records (see wal_rec_*) with one write(2). On
 * failure the segment is truncated back, so nothing of the batch stays. */
int wal_write(wal_t *w, const void *records, size_t len, vg_err_t *err);

/* fsyncs the current segment if anything was written since the last call. */
int wal_sync(wal_t *w, vg_err_t *err);

/* Closes the current segment (fsynced) and starts the next one; returns the
 * number of the segment just closed. */
int wal_cut(wal_t *w, int *out_closed, vg_err_t *err);

/* Makes `records` (series and chunk records) checkpoint.<upto>, then
 * deletes segments <= upto and older checkpoints. */
int wal_checkpoint(wal_t *w, int upto, const void *records, size_t len, vg_err_t *err);

/* Deletes every segment and checkpoint (after the head was persisted). */
int wal_reset(wal_t *w, vg_err_t *err);

void wal_get_stats(wal_t *w, wal_stats_t *out);

/* ---------------------------------------------------------- followers */

/* Readers that follow the log as it is written (remote_write) read the
 * segment files themselves; these give them what they need. */

const char *wal_dir(const wal_t *w);

/* The segment being written and how many of its bytes hold whole,
 * successfully written batches (a reader never reads past it, so it never
 * sees a batch that is being written or is about to be undone). -1 for
 * the segment before replay. */
void wal_position(wal_t *w, int *out_segment, int64_t *out_size);

/* Waits until the position differs from (segment, size) or timeout_ms
 * passes; returns true when it moved. */
bool wal_wait(wal_t *w, int segment, int64_t size, int timeout_ms);

/* Segment numbers on disk (sorted; the caller frees *out) and the newest
 * checkpoint (-1: none). */
int wal_list(wal_t *w, int **out, size_t *out_n, int *out_checkpoint, vg_err_t *err);

/* Splits the next record off buf[*off..len): 1 with *type, *payload and
 * *n set and *off moved past it; 0 when the record is not complete yet;
 * -1 when it cannot be a record (length over the limit) — the rest of the
 * buffer is unusable; -2 for a bad CRC (*off moved past it). */
int wal_record_next(const uint8_t *buf, size_t len, size_t *off, uint8_t *type,
                    const uint8_t **payload, uint32_t *n);

/* Decodes one record's payload through cb: 0, WAL_MALFORMED, or a
 * callback's non-zero code. */
#define WAL_MALFORMED 1
int wal_record_decode(uint8_t type, const uint8_t *p, const uint8_t *end, const wal_replay_cb_t *cb,
                      void *ud);

/* Holds: a named reader that still needs segments >= `segment` keeps them
 * from being deleted by a checkpoint, within limits (see
 * wal_hold_limits), so a dead reader cannot fill the disk. Setting a
 * name again moves its hold. Holds live in memory; they survive until
 * released or the WAL is closed (the checkpoint made while closing
 * honours them, so a reader resumes after a restart). */
void wal_hold_set(wal_t *w, const char *name, int segment);
void wal_hold_release(wal_t *w, const char *name);
/* A hold keeps segments only while the held segments total at most
 * max_bytes and the oldest held one was written within max_age_ms;
 * beyond that the oldest go anyway (logged). 0: no limit. */
void wal_hold_limits(wal_t *w, uint64_t max_bytes, int64_t max_age_ms);

/* ------------------------------------------------------ record encoding */

/* Starts a record of `type` in b; returns its offset for wal_rec_end. */
size_t wal_rec_begin(vg_buf_t *b, uint8_t type);
/* Fills in the length and CRC of the record that starts at off. */
void wal_rec_end(vg_buf_t *b, size_t off);
void wal_put_uvarint(vg_buf_t *b, uint64_t v);
void wal_put_varint(vg_buf_t *b, int64_t v);
void wal_put_f64(vg_buf_t *b, double v);
void wal_put_bytes(vg_buf_t *b, const void *p, size_t n); /* uvarint length + bytes */

/* Decoding: each returns 0, or -1 when the input ends or is malformed. */
int wal_get_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out);
int wal_get_varint(const uint8_t **p, const uint8_t *end, int64_t *out);
int wal_get_f64(const uint8_t **p, const uint8_t *end, double *out);

#endif
