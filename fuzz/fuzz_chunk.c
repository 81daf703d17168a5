/* libFuzzer target for the XOR sample chunk. The first byte picks the mode:
 *   0: the rest is chunk bytes: decode them (next and seek), re-open them
 *      and append; any bytes must decode or fail with a message, never read
 *      out of bounds, and a chunk that decodes must re-encode to the same
 *      samples;
 *   1: the rest is a recipe for samples (below): encode them, decode them,
 *      and demand the same samples bit for bit; re-open after a prefix and
 *      demand the same bytes;
 *   2: the rest is a zstd frame: decompress it under a 1 MiB limit.
 * The unit test tests/unit/tsdb/test_chunk.c replays the committed corpus
 * through this same function. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/chunk.h"

/* Room for a whole chunk plus one appended sample. */
#define FUZZ_MAX_SAMPLES (TSDB_CHUNK_MAX_SAMPLES + 1)

typedef struct fuzz_sample {
    int64_t t;
    uint64_t v_bits;
} fuzz_sample_t;

/* Scratch arrays (libFuzzer runs one input at a time). */
static fuzz_sample_t fuzz_samples[FUZZ_MAX_SAMPLES], fuzz_got[FUZZ_MAX_SAMPLES];

static double fuzz_dbl(uint64_t b) {
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static uint64_t fuzz_bits(double v) {
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* Takes up to n bytes big-endian from the recipe; missing bytes are zero. */
static uint64_t take(const uint8_t **p, const uint8_t *end, unsigned n) {
    uint64_t x = 0;
    for (unsigned i = 0; i < n; i++)
        x = x << 8 | (*p < end ? *(*p)++ : 0);
    return x;
}

/* Decodes data; returns the number of samples or a negative code. Samples go
 * to out when it is not NULL (it has FUZZ_MAX_SAMPLES room). */
static long fuzz_decode(const uint8_t *data, size_t len, fuzz_sample_t *out) {
    tsdb_chunk_iter_t it;
    vg_err_t err = {0};
    if (tsdb_chunk_iter_init(&it, data, len, &err) < 0) {
        if (!err.msg[0]) __builtin_trap();
        return VG_ERR_INPUT;
    }
    long n = 0;
    int rc;
    int64_t prev = INT64_MIN;
    while ((rc = tsdb_chunk_iter_next(&it, &err)) > 0) {
        int64_t t = tsdb_chunk_iter_t_at(&it);
        if (n > 0 && t <= prev) __builtin_trap(); /* the reader promises order */
        prev = t;
        if (out && n < FUZZ_MAX_SAMPLES) out[n] = (fuzz_sample_t){t, it.v_bits};
        n++;
    }
    if (rc < 0) {
        if (!err.msg[0]) __builtin_trap();
        if (tsdb_chunk_iter_next(&it, NULL) != rc) __builtin_trap(); /* sticky */
        return rc;
    }
    if ((size_t)n != tsdb_chunk_n_samples(data, len)) __builtin_trap();
    return n;
}

static void fuzz_encode(vg_buf_t *buf, const fuzz_sample_t *s, size_t n) {
    tsdb_chunk_app_t a;
    tsdb_chunk_app_init(&a, buf);
    for (size_t i = 0; i < n; i++)
        if (tsdb_chunk_app_append(&a, s[i].t, fuzz_dbl(s[i].v_bits), NULL) != 0) __builtin_trap();
}

static void fuzz_check_same(const vg_buf_t *buf, const fuzz_sample_t *s, size_t n) {
    fuzz_sample_t *got = fuzz_got;
    if (fuzz_decode((const uint8_t *)buf->data, buf->len, got) != (long)n) __builtin_trap();
    for (size_t i = 0; i < n; i++)
        if (got[i].t != s[i].t || got[i].v_bits != s[i].v_bits) __builtin_trap();
}

/* Mode 0: hostile chunk bytes. */
static void fuzz_bytes(const uint8_t *data, size_t len) {
    fuzz_sample_t *s = fuzz_samples;
    long n = fuzz_decode(data, len, s);
    if (n >= 0) {
        /* Seek to the middle sample's time lands on it. */
        tsdb_chunk_iter_t it;
        if (n > 0) {
            if (tsdb_chunk_iter_init(&it, data, len, NULL) != 0) __builtin_trap();
            if (tsdb_chunk_iter_seek(&it, s[n / 2].t, NULL) != 1) __builtin_trap();
            if (tsdb_chunk_iter_t_at(&it) != s[n / 2].t) __builtin_trap();
        }
        /* Re-encoding gives the samples back; re-opening the original bytes
         * and appending one more sample decodes to n + 1 samples. */
        vg_buf_t buf = VG_BUF_INIT;
        fuzz_encode(&buf, s, (size_t)n);
        fuzz_check_same(&buf, s, (size_t)n);
        vg_buf_reset(&buf);
        vg_buf_append(&buf, data, len);
        tsdb_chunk_app_t a;
        if (tsdb_chunk_app_reopen(&a, &buf, NULL) != 0) __builtin_trap();
        if (n < TSDB_CHUNK_MAX_SAMPLES && (n == 0 || s[n - 1].t < INT64_MAX)) {
            int64_t t = n ? s[n - 1].t + 1 : 0;
            if (tsdb_chunk_app_append(&a, t, 1.0, NULL) != 0) __builtin_trap();
            s[n] = (fuzz_sample_t){t, fuzz_bits(1.0)};
            fuzz_check_same(&buf, s, (size_t)n + 1);
        }
        vg_buf_free(&buf);
    } else {
        /* A chunk that does not decode cannot be re-opened, and is left alone. */
        vg_buf_t buf = VG_BUF_INIT;
        vg_buf_append(&buf, data, len);
        tsdb_chunk_app_t a;
        if (tsdb_chunk_app_reopen(&a, &buf, NULL) >= 0) __builtin_trap();
        if (buf.len != len || (len && memcmp(buf.data, data, len) != 0)) __builtin_trap();
        vg_buf_free(&buf);
    }
}

/* Mode 1: a recipe of samples. Each sample takes one control byte: bits 0-2
 * choose the timestamp step (same delta, +-small jitter, 2-byte, 4-byte,
 * 8-byte step, a jump past 2^31 ms, ...), bits 3-5 the value (same, small
 * step, raw 8 bytes, stale marker, NaN, -0, +-Inf, subnormal), and the
 * first two bytes of the recipe the starting time's sign and bits. */
static void fuzz_recipe(const uint8_t *p, size_t len) {
    const uint8_t *end = p + len;
    fuzz_sample_t *s = fuzz_samples;
    size_t n = 0;
    int64_t t = (int64_t)(take(&p, end, 4) << 24) - (INT64_C(1) << 50);
    int64_t delta = 15000;
    uint64_t v = fuzz_bits(0);
    while (p < end && n < TSDB_CHUNK_MAX_SAMPLES) {
        uint8_t c = *p++;
        uint64_t step;
        switch (c & 7) {
        case 0: step = (uint64_t)delta; break;
        case 1: step = (uint64_t)delta + (take(&p, end, 1) % 21) - 10; break;
        case 2: step = take(&p, end, 2) + 1; break;
        case 3: step = take(&p, end, 4) + 1; break;
        case 4: step = take(&p, end, 8) | 1; break;
        case 5: step = (UINT64_C(1) << 31) + take(&p, end, 1); break;
        case 6: step = 1; break;
        default: step = (uint64_t)delta * 2 + 1; break;
        }
        if (step == 0 || step > (uint64_t)INT64_MAX) step = 1;
        if (n > 0) {
            if (t > INT64_MAX - (int64_t)step) break; /* t must stay an int64 */
            t += (int64_t)step;
            delta = (int64_t)(step > INT64_MAX / 4 ? 15000 : step);
        }
        switch ((c >> 3) & 7) {
        case 0: break;
        case 1: v = fuzz_bits(fuzz_dbl(v) + (double)take(&p, end, 1)); break;
        case 2: v = take(&p, end, 8); break;
        case 3: v = TSDB_CHUNK_STALE_NAN_BITS; break;
        case 4: v = UINT64_C(0x7ff8000000000001); break;
        case 5: v = UINT64_C(0x8000000000000000); break;
        case 6: v = (c & 0x40) ? UINT64_C(0x7ff0000000000000) : UINT64_C(0xfff0000000000000); break;
        default: v = take(&p, end, 1); break; /* subnormal */
        }
        s[n++] = (fuzz_sample_t){t, v};
    }
    vg_buf_t whole = VG_BUF_INIT;
    fuzz_encode(&whole, s, n);
    fuzz_check_same(&whole, s, n);
    /* Re-open after a prefix picked by the recipe's length: same bytes. */
    size_t k = n ? len % (n + 1) : 0;
    vg_buf_t part = VG_BUF_INIT;
    fuzz_encode(&part, s, k);
    tsdb_chunk_app_t a;
    if (tsdb_chunk_app_reopen(&a, &part, NULL) != 0) __builtin_trap();
    for (size_t i = k; i < n; i++)
        if (tsdb_chunk_app_append(&a, s[i].t, fuzz_dbl(s[i].v_bits), NULL) != 0) __builtin_trap();
    if (part.len != whole.len || memcmp(part.data, whole.data, whole.len) != 0) __builtin_trap();
    vg_buf_free(&part);
    vg_buf_free(&whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    /* An exact-size copy, so that a read past the end is caught. */
    size_t len = size - 1;
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, data + 1, len);
    switch (data[0] % 3) {
    case 0: fuzz_bytes(copy, len); break;
    case 1: fuzz_recipe(copy, len); break;
    default: {
        vg_buf_t out = VG_BUF_INIT;
        vg_err_t err = {0};
        long n = tsdb_chunk_zstd_decompress(NULL, copy, len, 1 << 20, &out, &err);
        if (n < 0 && !err.msg[0]) __builtin_trap();
        if (n >= 0 && (size_t)n != out.len) __builtin_trap();
        vg_buf_free(&out);
        break;
    }
    }
    free(copy);
    return 0;
}
