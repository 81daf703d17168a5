/*
 * This file implements sample chunks in Prometheus's XOR format: the
 * appender (bit writer, delta-of-delta timestamps, XOR values), the
 * bounds-checked iterator, re-opening a chunk from its bytes, and the zstd
 * wrapping of sealed chunks. docs/format/chunks.md is the specification; the
 * comments here only say why the code does what it does.
 */
#include "tsdb/chunk.h"

#include <assert.h>
#include <limits.h>
#include <string.h>
#include <zstd.h>

/* The most bytes one append writes: a sample n >= 2 is at most 68 + 77 bits,
 * sample 0 at most 10 + 8 bytes, sample 1 at most 10 bytes + 77 bits. The
 * writer also stores whole 8-byte words, up to 7 bytes past the last bit. */
#define APPEND_MAX_BYTES 24
#define APPEND_RESERVE (APPEND_MAX_BYTES + 8)

static inline uint64_t load_be64(const uint8_t *p) {
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return __builtin_bswap64(x);
}

static inline void store_be64(uint8_t *p, uint64_t x) {
    x = __builtin_bswap64(x);
    memcpy(p, &x, sizeof x);
}

/* ------------------------------------------------------------ bit writer */

/* The write position, kept in locals during one append: bit counts from the
 * start of the chunk (header included). */
typedef struct bit_writer {
    uint8_t *data;
    uint64_t bit;
} bit_writer_t;

/* Writes the low n bits of u (1 <= n <= 56), most significant first, with
 * one 8-byte store. The byte holding the write position has only zeros
 * after it (padding, or the buffer's NUL), and everything after that byte is
 * free room (reserved by the caller), so the store may overwrite it. */
static inline void put_bits_56(bit_writer_t *w, uint64_t u, unsigned n) {
    size_t byte = (size_t)(w->bit >> 3);
    unsigned off = (unsigned)(w->bit & 7);
    uint64_t v = (u << (64 - n)) >> off;
    store_be64(w->data + byte, v | (uint64_t)w->data[byte] << 56);
    w->bit += n;
}

/* Writes the low n bits of u (1 <= n <= 64). */
static inline void put_bits(bit_writer_t *w, uint64_t u, unsigned n) {
    if (n > 56) {
        put_bits_56(w, u >> 32, n - 32);
        n = 32;
    }
    put_bits_56(w, u, n);
}

/* LEB128, as Go's binary.PutUvarint; Prometheus writes each byte through the
 * bit stream, so the bytes go through put_bits too. */
static void put_uvarint(bit_writer_t *w, uint64_t x) {
    while (x >= 0x80) {
        put_bits(w, (x & 0x7f) | 0x80, 8);
        x >>= 7;
    }
    put_bits(w, x, 8);
}

/* Whether x fits the n-bit bucket of the delta-of-delta encoding. The range
 * is lopsided (-(2^(n-1) - 1) .. 2^(n-1)) because the reader maps the bit
 * pattern of -2^(n-1) to +2^(n-1). */
static inline bool dod_fits(int64_t x, unsigned n) {
    int64_t half = INT64_C(1) << (n - 1);
    return x >= -(half - 1) && x <= half;
}

static void put_xor(tsdb_chunk_app_t *a, bit_writer_t *w, uint64_t v_bits) {
    uint64_t x = v_bits ^ a->v_bits;
    if (x == 0) {
        put_bits(w, 0, 1);
        return;
    }
    unsigned lead = (unsigned)__builtin_clzll(x);
    unsigned trail = (unsigned)__builtin_ctzll(x);
    if (lead > 31) lead = 31; /* the window's leading count has 5 bits */
    if (a->leading != 0xff && lead >= a->leading && trail >= a->trailing) {
        put_bits(w, 2, 2); /* "10": the previous window holds x */
        put_bits(w, x >> a->trailing, 64u - a->leading - a->trailing);
        return;
    }
    a->leading = (uint8_t)lead;
    a->trailing = (uint8_t)trail;
    unsigned m = 64 - lead - trail;
    /* "11", 5 bits of leading zeros, 6 bits of length (64 written as 0). */
    put_bits(w, (UINT64_C(3) << 11) | ((uint64_t)lead << 6) | (m & 63), 13);
    put_bits(w, x >> trail, m);
}

/* -------------------------------------------------------------- appender */

void tsdb_chunk_app_init(tsdb_chunk_app_t *a, vg_buf_t *buf) {
    vg_buf_reset(buf);
    vg_buf_append(buf, "\0\0", TSDB_CHUNK_HEADER_LEN);
    memset(a, 0, sizeof *a);
    a->buf = buf;
    a->leading = 0xff;
}

int tsdb_chunk_app_append(tsdb_chunk_app_t *a, int64_t t, double v, vg_err_t *err) {
    if (a->n == TSDB_CHUNK_MAX_SAMPLES)
        return vg_err_set(err, VG_ERR_LIMIT, "chunk already holds %d samples, its maximum",
                          TSDB_CHUNK_MAX_SAMPLES);
    assert(a->n == 0 || t > a->t);
    if (a->buf->cap - a->buf->len <= APPEND_RESERVE) vg_buf_reserve(a->buf, APPEND_RESERVE);
    bit_writer_t w = {(uint8_t *)a->buf->data, (uint64_t)a->buf->len * 8 - a->free_bits};
    uint64_t v_bits;
    memcpy(&v_bits, &v, sizeof v_bits);
    /* Deltas wrap in 64 bits: increasing timestamps more than 2^63 apart
     * still encode, and decode by the same wrapping sum. */
    uint64_t t_delta = 0;
    if (a->n == 0) {
        uint64_t zz = ((uint64_t)t << 1) ^ (uint64_t)(t >> 63); /* zig-zag, as Go's PutVarint */
        put_uvarint(&w, zz);
        put_bits(&w, v_bits, 64);
    } else if (a->n == 1) {
        t_delta = (uint64_t)t - (uint64_t)a->t;
        put_uvarint(&w, t_delta);
        put_xor(a, &w, v_bits);
    } else {
        t_delta = (uint64_t)t - (uint64_t)a->t;
        int64_t dod = (int64_t)(t_delta - a->t_delta);
        uint64_t u = (uint64_t)dod;
        if (dod == 0) {
            put_bits(&w, 0, 1);
        } else if (dod_fits(dod, 14)) {
            put_bits(&w, (UINT64_C(0x2) << 14) | (u & 0x3fff), 16);
        } else if (dod_fits(dod, 17)) {
            put_bits(&w, (UINT64_C(0x6) << 17) | (u & 0x1ffff), 20);
        } else if (dod_fits(dod, 20)) {
            put_bits(&w, (UINT64_C(0xe) << 20) | (u & 0xfffff), 24);
        } else {
            put_bits(&w, 0xf, 4);
            put_bits(&w, u, 64);
        }
        put_xor(a, &w, v_bits);
    }
    a->n++;
    w.data[0] = (uint8_t)(a->n >> 8);
    w.data[1] = (uint8_t)a->n;
    size_t len = (size_t)((w.bit + 7) / 8);
    w.data[len] = 0; /* vg_buf_t stays NUL-terminated */
    a->buf->len = len;
    a->free_bits = (uint8_t)(len * 8 - w.bit);
    a->t = t;
    a->t_delta = t_delta;
    a->v_bits = v_bits;
    return 0;
}

int tsdb_chunk_app_reopen(tsdb_chunk_app_t *a, vg_buf_t *buf, vg_err_t *err) {
    tsdb_chunk_iter_t it;
    int rc = tsdb_chunk_iter_init(&it, buf->data, buf->len, err);
    if (rc < 0) return rc;
    while ((rc = tsdb_chunk_iter_next(&it, err)) > 0) {
    }
    if (rc < 0) return rc;

    /* Cut the stream right after the last sample: Prometheus 2.x may have
     * left a whole zero byte there, and a hostile chunk anything at all. */
    size_t len = TSDB_CHUNK_HEADER_LEN + (it.bit + 7) / 8;
    unsigned free_bits = (unsigned)((8 - it.bit % 8) % 8);
    vg_buf_reserve(buf, APPEND_RESERVE);
    uint8_t *d = (uint8_t *)buf->data;
    if (free_bits) d[len - 1] &= (uint8_t)(0xff << free_bits);
    buf->len = len;
    d[len] = 0;

    memset(a, 0, sizeof *a);
    a->buf = buf;
    a->n = it.n_total;
    a->free_bits = (uint8_t)free_bits;
    a->t = it.t;
    a->t_delta = it.t_delta;
    a->v_bits = it.v_bits;
    /* An unset window stays unset, so that the bytes appended from here are
     * those of a chunk written in one go (Prometheus would take 0, 0). */
    a->leading = it.window_set ? it.leading : 0xff;
    a->trailing = it.window_set ? it.trailing : 0;
    return 0;
}

/* -------------------------------------------------------------- iterator */

/* The next 64 bits of the stream without consuming them; bits past the end
 * read as zeros. The caller checks how many bits are left before using
 * them: that check keeps hostile chunks in bounds. */
static inline uint64_t peek64(const tsdb_chunk_iter_t *it) {
    size_t byte = it->bit >> 3;
    unsigned off = (unsigned)(it->bit & 7);
    const uint8_t *d = it->data;
    if (byte + 9 <= it->len) return load_be64(d + byte) << off | (uint64_t)d[byte + 8] >> (8 - off);
    uint64_t v = 0;
    for (size_t i = 0; i < 9; i++) {
        uint64_t b = byte + i < it->len ? d[byte + i] : 0;
        v = i < 8 ? v << 8 | b : (off ? v << off | b >> (8 - off) : v);
    }
    return v;
}

static inline size_t bits_left(const tsdb_chunk_iter_t *it) { return it->len * 8 - it->bit; }

/* Reads n bits (1 <= n <= 64); false, reading nothing, when fewer are left. */
static inline bool get_bits(tsdb_chunk_iter_t *it, unsigned n, uint64_t *out) {
    if (n > bits_left(it)) return false;
    *out = peek64(it) >> (64 - n);
    it->bit += n;
    return true;
}

static int iter_fail(tsdb_chunk_iter_t *it, const char *why, vg_err_t *err) {
    it->err = VG_ERR_INPUT;
    return vg_err_set(err, VG_ERR_INPUT, "chunk: %s at sample %u of %u", why,
                      (unsigned)it->n_read + 1, (unsigned)it->n_total);
}

/* Go's binary.ReadUvarint: at most 10 bytes, the 10th at most 1. */
static bool get_uvarint(tsdb_chunk_iter_t *it, uint64_t *out, const char **why) {
    uint64_t x = 0;
    for (unsigned i = 0, shift = 0; i < 10; i++, shift += 7) {
        uint64_t b;
        if (!get_bits(it, 8, &b)) {
            *why = "truncated";
            return false;
        }
        if (b < 0x80) {
            if (i == 9 && b > 1) break;
            *out = x | b << shift;
            return true;
        }
        x |= (b & 0x7f) << shift;
    }
    *why = "varint overflows 64 bits";
    return false;
}

int tsdb_chunk_iter_init(tsdb_chunk_iter_t *it, const void *data, size_t len, vg_err_t *err) {
    memset(it, 0, sizeof *it);
    if (len < TSDB_CHUNK_HEADER_LEN || len > SIZE_MAX / 8) {
        it->err = VG_ERR_INPUT;
        return vg_err_set(err, VG_ERR_INPUT, "chunk: %zu bytes, shorter than its header", len);
    }
    const uint8_t *p = data;
    it->n_total = (uint16_t)(p[0] << 8 | p[1]);
    it->data = p + TSDB_CHUNK_HEADER_LEN;
    it->len = len - TSDB_CHUNK_HEADER_LEN;
    return 0;
}

size_t tsdb_chunk_n_samples(const void *data, size_t len) {
    const uint8_t *p = data;
    return len < TSDB_CHUNK_HEADER_LEN ? 0 : (size_t)(p[0] << 8 | p[1]);
}

double tsdb_chunk_iter_v_at(const tsdb_chunk_iter_t *it) {
    double v;
    memcpy(&v, &it->v_bits, sizeof v);
    return v;
}

/* Reads one XOR value into it->v_bits; returns NULL or the reason it failed. */
static inline const char *get_xor(tsdb_chunk_iter_t *it) {
    uint64_t w = peek64(it);
    size_t left = bits_left(it);
    if (left < 1) return "truncated";
    if (!(w >> 63)) { /* "0": same value */
        it->bit += 1;
        return NULL;
    }
    unsigned ctl = 2;
    if (w >> 62 & 1) { /* "11": a new window */
        ctl = 13;
        if (left < ctl) return "truncated";
        unsigned lead = (unsigned)(w >> 57) & 31, m = (unsigned)(w >> 51) & 63;
        if (m == 0) m = 64;
        if (lead + m > 64) return "XOR window wider than 64 bits";
        it->leading = (uint8_t)lead;
        it->trailing = (uint8_t)(64 - lead - m);
        it->window_set = true;
    }
    /* Before any "11" the window is (0, 0), so a bare "10" reads 64 bits,
     * as Prometheus's reader does. */
    unsigned m = 64u - it->leading - it->trailing;
    if (left < ctl + m) return "truncated";
    uint64_t b;
    if (ctl + m <= 64) {
        b = (w << ctl) >> (64 - m);
        it->bit += ctl + m;
    } else {
        it->bit += ctl;
        b = peek64(it) >> (64 - m);
        it->bit += m;
    }
    it->v_bits ^= b << it->trailing;
    return NULL;
}

int tsdb_chunk_iter_next(tsdb_chunk_iter_t *it, vg_err_t *err) {
    if (it->err) return vg_err_set(err, it->err, "chunk: corrupt (reported before)");
    if (it->n_read == it->n_total) return 0;
    const char *why = NULL;
    uint64_t u;
    if (it->n_read == 0) {
        if (!get_uvarint(it, &u, &why)) return iter_fail(it, why, err);
        it->t = (int64_t)(u >> 1) ^ -(int64_t)(u & 1); /* zig-zag back */
        if (!get_bits(it, 64, &it->v_bits)) return iter_fail(it, "truncated", err);
        it->n_read++;
        return 1;
    }
    if (it->n_read == 1) {
        if (!get_uvarint(it, &u, &why)) return iter_fail(it, why, err);
        it->t_delta = u;
    } else {
        /* The prefix is 0, 10, 110, 1110 or 1111: count the leading ones. */
        uint64_t w = peek64(it);
        unsigned ones = (unsigned)__builtin_clzll(~w | 1);
        if (ones > 4) ones = 4;
        static const unsigned sizes[5] = {0, 14, 17, 20, 64};
        unsigned sz = sizes[ones], prefix = ones < 4 ? ones + 1 : 4;
        uint64_t dod = 0;
        if (sz < 64) {
            if (bits_left(it) < prefix + sz) return iter_fail(it, "truncated", err);
            it->bit += prefix + sz;
            if (sz) {
                dod = (w << prefix) >> (64 - sz);
                /* A k-bit pattern above 2^(k-1) is negative (see chunks.md). */
                if (dod > (UINT64_C(1) << (sz - 1))) dod -= UINT64_C(1) << sz;
            }
        } else {
            if (bits_left(it) < 4 + 64) return iter_fail(it, "truncated", err);
            it->bit += 4;
            get_bits(it, 64, &dod);
        }
        it->t_delta += dod; /* wraps, as the writer's subtraction did */
    }
    int64_t t = (int64_t)((uint64_t)it->t + it->t_delta);
    if (t <= it->t) return iter_fail(it, "timestamp not after the previous one", err);
    it->t = t;
    if ((why = get_xor(it)) != NULL) return iter_fail(it, why, err);
    it->n_read++;
    return 1;
}

int tsdb_chunk_iter_seek(tsdb_chunk_iter_t *it, int64_t t_min, vg_err_t *err) {
    if (it->err) return vg_err_set(err, it->err, "chunk: corrupt (reported before)");
    while (it->n_read == 0 || it->t < t_min) {
        int rc = tsdb_chunk_iter_next(it, err);
        if (rc <= 0) return rc;
    }
    return 1;
}

/* ------------------------------------------------------------------ zstd */

void tsdb_chunk_zstd_free(tsdb_chunk_zstd_t *z) {
    ZSTD_freeCCtx(z->cctx);
    ZSTD_freeDCtx(z->dctx);
    z->cctx = z->dctx = NULL;
}

long tsdb_chunk_zstd_compress(tsdb_chunk_zstd_t *z, const void *src, size_t src_len, int level,
                              vg_buf_t *out, vg_err_t *err) {
    size_t bound = ZSTD_compressBound(src_len);
    if (ZSTD_isError(bound) || bound > (size_t)LONG_MAX)
        return vg_err_set(err, VG_ERR, "zstd: %zu bytes are too many to compress", src_len);
    vg_buf_reserve(out, bound);
    size_t n;
    if (z) {
        if (!z->cctx && !(z->cctx = ZSTD_createCCtx()))
            return vg_err_set(err, VG_ERR, "zstd: cannot create a compression context");
        /* ZSTD_compressCCtx records the content size in the frame header,
         * which the reader checks before allocating. */
        n = ZSTD_compressCCtx(z->cctx, out->data + out->len, bound, src, src_len, level);
    } else {
        n = ZSTD_compress(out->data + out->len, bound, src, src_len, level);
    }
    if (ZSTD_isError(n)) return vg_err_set(err, VG_ERR, "zstd: %s", ZSTD_getErrorName(n));
    out->len += n;
    out->data[out->len] = 0;
    return (long)n;
}

long tsdb_chunk_zstd_decompress(tsdb_chunk_zstd_t *z, const void *src, size_t src_len,
                                size_t max_len, vg_buf_t *out, vg_err_t *err) {
    unsigned long long size = ZSTD_getFrameContentSize(src, src_len);
    if (size == ZSTD_CONTENTSIZE_ERROR)
        return vg_err_set(err, VG_ERR_INPUT, "zstd: not a zstd frame");
    if (size == ZSTD_CONTENTSIZE_UNKNOWN)
        return vg_err_set(err, VG_ERR_INPUT, "zstd: frame does not record its size");
    if (size > max_len || size > (unsigned long long)LONG_MAX)
        return vg_err_set(err, VG_ERR_LIMIT, "zstd: frame holds %llu bytes, over the limit of %zu",
                          size, max_len);
    size_t frame_len = ZSTD_findFrameCompressedSize(src, src_len);
    if (ZSTD_isError(frame_len) || frame_len != src_len)
        return vg_err_set(err, VG_ERR_INPUT, "zstd: not exactly one frame");
    vg_buf_reserve(out, (size_t)size);
    size_t n;
    if (z) {
        if (!z->dctx && !(z->dctx = ZSTD_createDCtx()))
            return vg_err_set(err, VG_ERR, "zstd: cannot create a decompression context");
        n = ZSTD_decompressDCtx(z->dctx, out->data + out->len, (size_t)size, src, src_len);
    } else {
        n = ZSTD_decompress(out->data + out->len, (size_t)size, src, src_len);
    }
    if (ZSTD_isError(n)) {
        out->data[out->len] = 0;
        return vg_err_set(err, VG_ERR_INPUT, "zstd: %s", ZSTD_getErrorName(n));
    }
    if (n != size) {
        out->data[out->len] = 0;
        return vg_err_set(err, VG_ERR_INPUT, "zstd: frame decodes to %zu bytes, not %llu", n, size);
    }
    out->len += n;
    out->data[out->len] = 0;
    return (long)n;
}
