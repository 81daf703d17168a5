/*
 * tsdb/chunk.h — compressed sample chunks. INTERNAL to the tsdb module: only
 * tsdb code and its tests include this header; other modules go through
 * tsdb.h.
 *
 * What it does: encodes samples (int64 t in ms, double v) into Prometheus's
 * XOR chunk format (Gorilla-style delta-of-delta timestamps and XOR-ed
 * values), byte for byte as Prometheus 3.x writes it; decodes chunk bytes,
 * including hostile ones, without reading out of bounds; continues appending
 * to a chunk from its bytes; and wraps sealed chunks in zstd for the block
 * files. The format is written down in docs/format/chunks.md.
 *
 * What it owns: nothing global. An appender borrows the caller's vg_buf_t; an
 * iterator borrows the chunk bytes; a zstd context owns its libzstd state.
 *
 * Threads: none of these objects lock. An appender, an iterator or a zstd
 * context belongs to one thread at a time. An iterator must not run over
 * bytes that an appender is changing (the buffer may move when it grows):
 * the caller holds the series lock, or iterates a copy or a sealed chunk.
 */
#ifndef VG_TSDB_CHUNK_H
#define VG_TSDB_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* Bytes of the sample-count header at the start of every chunk. */
#define TSDB_CHUNK_HEADER_LEN 2
/* The header counts samples in 16 bits. */
#define TSDB_CHUNK_MAX_SAMPLES 65535
/* Prometheus's encoding byte for this format in block and remote-read files. */
#define TSDB_CHUNK_ENC_XOR 1
/* Prometheus's stale marker: a NaN that PromQL treats as "series ended". */
#define TSDB_CHUNK_STALE_NAN_BITS UINT64_C(0x7ff0000000000002)

/* ------------------------------------------------------------- appender */

/* Appends samples to one chunk. The fields are the state Prometheus's
 * appender keeps plus the write position; read them only through the
 * functions below. About 40 bytes, so the head can keep one per series. */
typedef struct tsdb_chunk_app {
    vg_buf_t *buf;    /* borrowed: the chunk is buf->data[0 .. buf->len) */
    int64_t t;        /* last timestamp */
    uint64_t t_delta; /* last timestamp delta */
    uint64_t v_bits;  /* last value's bits */
    uint16_t n;       /* samples so far (mirrors the header) */
    uint8_t leading;  /* XOR window; 0xff while no window is set */
    uint8_t trailing;
    uint8_t free_bits; /* unused low bits of the last byte, 0..7 */
} tsdb_chunk_app_t;

/* Starts an empty chunk in buf: buf is reset to the two header bytes. The
 * appender borrows buf until the caller stops using the appender; the caller
 * keeps owning it (and may have reserved capacity in it beforehand). */
void tsdb_chunk_app_init(tsdb_chunk_app_t *a, vg_buf_t *buf);

/* Continues the chunk whose bytes are in buf: reads every sample once to
 * recover the appender's state, then cuts buf right after the last sample's
 * bits (clearing the padding bits) so that appends continue there. The bytes
 * after that are identical to those of a chunk appended in one go. Borrows
 * buf like tsdb_chunk_app_init. Returns 0, or VG_ERR_INPUT with a message if
 * the bytes are not a valid chunk (buf is then left unchanged). */
int tsdb_chunk_app_reopen(tsdb_chunk_app_t *a, vg_buf_t *buf, vg_err_t *err);

/* Appends one sample; O(1) amortised (the buffer grows geometrically). t must
 * be greater than the last appended timestamp: the caller guarantees it, and
 * debug builds assert it. Returns 0, or VG_ERR_LIMIT when the chunk already
 * holds TSDB_CHUNK_MAX_SAMPLES samples (nothing is written then). */
int tsdb_chunk_app_append(tsdb_chunk_app_t *a, int64_t t, double v, vg_err_t *err);

/* Samples in the chunk. */
static inline size_t tsdb_chunk_app_n_samples(const tsdb_chunk_app_t *a) { return a->n; }
/* Bytes of the chunk, header included (= buf->len). */
static inline size_t tsdb_chunk_app_len(const tsdb_chunk_app_t *a) { return a->buf->len; }
/* Last appended timestamp; meaningless while the chunk is empty. */
static inline int64_t tsdb_chunk_app_last_t(const tsdb_chunk_app_t *a) { return a->t; }

/* ------------------------------------------------------------- iterator */

/* Reads the samples of one chunk in order. Zero-initialised fields are not
 * meaningful; call tsdb_chunk_iter_init. */
typedef struct tsdb_chunk_iter {
    const uint8_t *data; /* borrowed: the bit stream after the header */
    size_t len;          /* its length in bytes */
    size_t bit;          /* next bit to read */
    uint16_t n_total;    /* samples the header announces */
    uint16_t n_read;     /* samples read so far */
    uint8_t leading;     /* XOR window (starts at 0, 0 as in Prometheus) */
    uint8_t trailing;
    bool window_set; /* a "11" value has been read */
    int err;         /* sticky: once < 0, next and seek return it */
    int64_t t;       /* current sample, valid after next/seek returned 1 */
    uint64_t v_bits;
    uint64_t t_delta;
} tsdb_chunk_iter_t;

/* Prepares to read the chunk data[0 .. len). Borrows data, which must stay
 * unchanged while the iterator is used. Returns 0, or VG_ERR_INPUT when len
 * is shorter than the header. */
int tsdb_chunk_iter_init(tsdb_chunk_iter_t *it, const void *data, size_t len, vg_err_t *err);

/* Moves to the next sample. Returns 1 with the sample in it (see
 * tsdb_chunk_iter_at), 0 after the last sample, or VG_ERR_INPUT with a message
 * when the chunk is truncated or corrupt; the error is sticky. Never reads
 * outside data[0 .. len). */
int tsdb_chunk_iter_next(tsdb_chunk_iter_t *it, vg_err_t *err);

/* Moves to the first sample with t >= t_min, starting from the current one
 * (it never goes back, and stays put if the current sample already
 * qualifies). Returns 1, 0 if there is none, or VG_ERR_INPUT as next. */
int tsdb_chunk_iter_seek(tsdb_chunk_iter_t *it, int64_t t_min, vg_err_t *err);

/* The current sample: timestamp and value (the exact bits that were
 * appended, NaN payloads included). */
static inline int64_t tsdb_chunk_iter_t_at(const tsdb_chunk_iter_t *it) { return it->t; }
double tsdb_chunk_iter_v_at(const tsdb_chunk_iter_t *it);

/* Samples announced by the chunk's header (0 if len < 2). */
size_t tsdb_chunk_n_samples(const void *data, size_t len);

/* ---------------------------------------------------------------- zstd */

/* Reusable libzstd state for tsdb_chunk_zstd_*; contexts cost a few hundred
 * KiB, so a block writer or reader keeps one per thread. Zero-initialised
 * (TSDB_CHUNK_ZSTD_INIT) is ready; the contexts are made on first use. */
typedef struct tsdb_chunk_zstd {
    void *cctx; /* ZSTD_CCtx * */
    void *dctx; /* ZSTD_DCtx * */
} tsdb_chunk_zstd_t;

#define TSDB_CHUNK_ZSTD_INIT                                                                       \
    { NULL, NULL }
/* zstd level used by the block writer; see docs/format/chunks.md. */
#define TSDB_CHUNK_ZSTD_LEVEL 3

/* Frees the contexts; z may be reused afterwards. */
void tsdb_chunk_zstd_free(tsdb_chunk_zstd_t *z);

/* Compresses src[0 .. src_len) (one sealed chunk or several concatenated)
 * into one zstd frame that records src_len, appended to out. z may be NULL
 * (a temporary context is used). Returns the frame's length (> 0), or
 * VG_ERR with a message. */
long tsdb_chunk_zstd_compress(tsdb_chunk_zstd_t *z, const void *src, size_t src_len, int level,
                              vg_buf_t *out, vg_err_t *err);

/* Decompresses one frame written by tsdb_chunk_zstd_compress, appending the
 * bytes to out. The size recorded in the frame is checked against max_len
 * before anything is allocated. z may be NULL. Returns the decompressed
 * length (>= 0), VG_ERR_LIMIT when over max_len, or VG_ERR_INPUT when src is
 * not exactly one valid frame with its size recorded (out is then unchanged). */
long tsdb_chunk_zstd_decompress(tsdb_chunk_zstd_t *z, const void *src, size_t src_len,
                                size_t max_len, vg_buf_t *out, vg_err_t *err);

/* Whether storing a zstd frame of zstd_len instead of raw_len raw bytes is
 * worth the CPU of decompressing it on every read: it must save at least an
 * eighth of the bytes. The figures behind the threshold are in
 * docs/format/chunks.md. */
static inline bool tsdb_chunk_zstd_pays(size_t raw_len, size_t zstd_len) {
    return zstd_len + raw_len / 8 <= raw_len;
}

#endif
