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
