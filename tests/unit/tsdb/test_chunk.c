/* Tests for the XOR sample chunk: round trips of edge cases, byte equality
 * with chunks Prometheus wrote, re-opening, hostile bytes, zstd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>

#include "tsdb/chunk.h"

/* The fuzz target's checks, so that the committed corpus is replayed here. */
#include "../../../fuzz/fuzz_chunk.c"

typedef struct sample {
    int64_t t;
    uint64_t v_bits;
} sample_t;

static double dbl(uint64_t bits) {
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static uint64_t bits_of(double v) {
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* Encodes samples into buf (reset first). */
static void encode(vg_buf_t *buf, const sample_t *s, size_t n) {
    tsdb_chunk_app_t a;
    tsdb_chunk_app_init(&a, buf);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tsdb_chunk_app_append(&a, s[i].t, dbl(s[i].v_bits), NULL), 0);
    assert_int_equal(tsdb_chunk_app_n_samples(&a), n);
    assert_int_equal(tsdb_chunk_app_len(&a), buf->len);
}

/* Decodes data into a fresh array; returns the count or the error code. */
static long decode(const void *data, size_t len, sample_t **out) {
    tsdb_chunk_iter_t it;
    vg_err_t err = {0};
    size_t cap = tsdb_chunk_n_samples(data, len) + 1;
    *out = calloc(cap, sizeof **out);
    int rc = tsdb_chunk_iter_init(&it, data, len, &err);
    if (rc < 0) return rc;
    long n = 0;
    while ((rc = tsdb_chunk_iter_next(&it, &err)) > 0) {
        assert_true((size_t)n < cap);
        (*out)[n].t = tsdb_chunk_iter_t_at(&it);
        (*out)[n].v_bits = bits_of(tsdb_chunk_iter_v_at(&it));
        n++;
    }
    if (rc < 0) {
        assert_true(err.msg[0] != '\0');
        return rc;
    }
    return n;
}

/* Encodes, decodes and compares bit for bit; checks that re-opening after
 * every prefix gives the same bytes. Returns the encoded length. */
static size_t round_trip(const sample_t *s, size_t n) {
    vg_buf_t buf = VG_BUF_INIT;
    encode(&buf, s, n);
    sample_t *got;
    long m = decode(buf.data, buf.len, &got);
    assert_int_equal(m, (long)n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i].t, s[i].t);
        assert_int_equal(got[i].v_bits, s[i].v_bits);
    }
    free(got);
    size_t len = buf.len;

    size_t step = n > 200 ? n / 37 : 1;
    for (size_t k = 0; k <= n; k += step) {
        vg_buf_t part = VG_BUF_INIT;
        encode(&part, s, k);
        /* Trailing junk after the last sample must be cut away. */
        vg_buf_append(&part, "\x00\xff", 2);
        tsdb_chunk_app_t a;
        vg_err_t err = {0};
        assert_int_equal(tsdb_chunk_app_reopen(&a, &part, &err), 0);
        assert_int_equal(tsdb_chunk_app_n_samples(&a), k);
        for (size_t i = k; i < n; i++)
            assert_int_equal(tsdb_chunk_app_append(&a, s[i].t, dbl(s[i].v_bits), NULL), 0);
        assert_int_equal(part.len, buf.len);
        assert_memory_equal(part.data, buf.data, buf.len);
        vg_buf_free(&part);
    }
    vg_buf_free(&buf);
    return len;
}

static int unhex(const char *h, uint8_t *out) {
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned x;
        sscanf(h + 2 * i, "%2x", &x);
        out[i] = (uint8_t)x;
    }
    return (int)n;
}

/* ------------------------------------------------------ Prometheus bytes */

/* Chunks written by Prometheus 2.42: `promtool tsdb create-blocks-from
 * openmetrics` on a generated file, the chunk data taken from the block's
 * chunks/000001. 2.42 predates the writeByte fix of Prometheus 3.0, so a
 * chunk may end with one extra zero byte (see docs/format/chunks.md). */
static const struct {
    unsigned n;
    const char *hex;
} prom_chunks[] = {
    /* a_total (first 143 of 150 samples, counter at 15 s with +-5 ms jitter) */
    {143, "008f80a0abfef962408f4000000000009875d46f8a6fff76194e300111a5dffbe943cc6e001e0f87bffd86b4"
          "effef59f924e002209637ff10160800684a85ffdc70a508d38005808f4001c082effea7c33000f0af7bff68b"
          "a2c004c1aa2ffdf521f3df00070050c002c13c57ff50f68c002402b300050198c000ef33cceffff719d3f000"
          "534b5ffbec3bca9800886e4bffadc6e85efffa467b69dc8cdfffc533c001cc0fc003eb47def37ff9032c6fff"
          "e0c49c002436dabffe814977ffb01026fffa0da8c000c0ed380068099f7fff1e05efff60a5ec0014077b8002"
          "8026b7ff10214200161eb3dfffc0676800281e837ff304692002a00a2dfff4feddbffd81ee28331d000503ae"
          "500c66ffea1997c001c187d80068063d7fed1df4a001206f34002c1b26bffe819277fff0c9460012034bdffb"
          "4110c8007ceb7ff1637ff70013bd7fff0030d57fff00191f00090004e37fff0075c700070023d700030003ad"
          "7ff70012a3000900f2b57ffd001c4d7ffd0026f70009006cdd0005000b697ffd00378f000901ec4b7ff90021"
          "7d7ffb000df57ffd00066f000300197d0011000b9f7fed0070850013001e2d7ff7000f057ff9003ca9000d00"
          "12e77fff00f7830009000a377ff3002a69000d0061e90003001d0d00030029ed7fed000fa5001503e6797ffd"
          "003c8f7ffd0017dc8003f88001803e26bfff800102bffd8002fd40048e5fffc000e14001c00b525ffdc00133"
          "a01fcce000a002276fffe005d4a001200f94effee000d82000e0059de000e000e82001200106effee03deb90"
          "011ed7ff90004d1000d0037788008cdbffd8003e1bffe8006ee8003803468bfff8007e8bffe8017c2bffe800"
          "3788008807a49bffa800d1e80068016e0bff8803c238008800d4c8002801230bff7d69ff7b980038042ac000"
          "c05de2fff607561000300885"},
    /* a_total (last 7 samples) */
    {7, "0007a68bb180fa624110d8b0000000009b75e45eaf8002e65c71bfffde7f4fdbffa898ea7a330007142a"},
    /* b (one sample) */
    {1, "00018ea0abfef962404500000000000000"},
    /* c (two samples) */
    {2, "0002d0afabfef9623ff8000000000000d10fc07fffd0"},
    /* d (special values, every dod bucket) */
    {14, "000e80a0abfef962000000000000000001c00d800fff8000000000001a000800200000000000060006800000"
         "0000000000c3c39bffc00000000000078853167feffffffffffffef0000000000083d608ff9b7812aeef4b9f"
         "fffffffffffd54685e00000000001e847d20d627f24b5e6f20ffffffffffff85ee1dff25144695f10d8bc30d"
         "3960c73ed288ccf603774e45400e00000000000008006aaaaaaaaaaab8"},
    /* e (random floats) */
    {60, "003c80a0abfef96240802d1c1b74c826904ed1b7b0a0e1b016516d3bcac3eb05c5528f41c543c11c3d9ed4a9"
         "9567ac3dc1740511e19c8cc37da38f596e6dee669a141080641f3ac8fabd85ee9c4a599097b5dc7fd7100b4a"
         "03a8669ae6a5c9406709977160dbabec48b7737e41410ea273e7dcd9b7207d5da5aa0f10e4099b13ce7d4592"
         "80475a9ce31bf517505bab675d1a2a0fa2f082bb7ca140cc21918c75734bded3a34b4e35ed7cc82017a5321c"
         "a0c9af56b9323d65bb99e9b6cc25a4b4655f7462b5e5104654c7d5db7392041c5bdd9bf71541e06e7ce305fe"
         "ebea4666d95551950dd81bfacadb72aeef9a4b67c64d85f8c2a65f0d50e2bf73b43605d56e503adea45f9fcb"
         "aaf6e0285977811040356b43c41cd48bd201408c097f05059801f71118392e3e67e514aa82b47504d2cf302e"
         "0c8f49a98561d6f05775101cf0532a920572d518b6812a5d6e32fc193214ebae461a68b6577503bb33f3dcc2"
         "cba0a2857e4d32cf15e2d940bbbd490cbd30f0bb94e68c970bd1e3908ef9524c2319d4e34f3a54456faedd10"
         "f6c82869eab0226c65021ce02299dd56a0d585a65ce3f385ec6019d47cb2f8bc0840bdf3f5df501766638499"
         "30b2e3b067276611b440a37d82b39ce240"},
    /* f (constant, then steps) */
    {40, "002880a0abfef962000000000000000098750000000003115ff80000c257de000000"},
};

static void test_prometheus_bytes(void **state) {
    (void)state;
    for (size_t c = 0; c < sizeof prom_chunks / sizeof prom_chunks[0]; c++) {
        uint8_t ref[1024];
        int ref_len = unhex(prom_chunks[c].hex, ref);
        sample_t *s;
        long n = decode(ref, (size_t)ref_len, &s);
        assert_int_equal(n, prom_chunks[c].n);
        vg_buf_t buf = VG_BUF_INIT;
        encode(&buf, s, (size_t)n);
        /* 2.x's extra byte is a whole zero byte after the last sample. */
        size_t want = (size_t)ref_len;
        if (buf.len + 1 == want && ref[want - 1] == 0) want--;
        assert_int_equal(buf.len, want);
        assert_memory_equal(buf.data, ref, want);
        /* Re-opening the 2.x bytes drops the extra byte. */
        vg_buf_t re = VG_BUF_INIT;
        vg_buf_append(&re, ref, (size_t)ref_len);
        tsdb_chunk_app_t a;
        assert_int_equal(tsdb_chunk_app_reopen(&a, &re, NULL), 0);
        assert_int_equal(re.len, want);
        round_trip(s, (size_t)n);
        vg_buf_free(&re);
        vg_buf_free(&buf);
        free(s);
    }
}

/* What the OpenMetrics input said, read back from Prometheus's chunks. */
static void test_prometheus_values(void **state) {
    (void)state;
    uint8_t ref[1024];
    sample_t *s;
    int len = unhex(prom_chunks[2].hex, ref); /* b */
    assert_int_equal(decode(ref, (size_t)len, &s), 1);
    assert_int_equal(s[0].t, INT64_C(1700000000007));
    assert_true(dbl(s[0].v_bits) == 42);
    free(s);
    len = unhex(prom_chunks[3].hex, ref); /* c */
    assert_int_equal(decode(ref, (size_t)len, &s), 2);
    assert_int_equal(s[0].t, INT64_C(1700000001000));
    assert_int_equal(s[1].t, INT64_C(1700000003001));
    assert_true(dbl(s[0].v_bits) == 1.5 && dbl(s[1].v_bits) == -2.25);
    free(s);
    len = unhex(prom_chunks[4].hex, ref); /* d */
    assert_int_equal(decode(ref, (size_t)len, &s), 14);
    static const uint64_t want[] = {0,
                                    UINT64_C(0x8000000000000000),
                                    UINT64_C(0x7ff8000000000001), /* Go's math.NaN() */
                                    UINT64_C(0x7ff0000000000000),
                                    UINT64_C(0xfff0000000000000),
                                    1,
                                    UINT64_C(0x7fefffffffffffff)};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(s[i].v_bits, want[i]);
    assert_int_equal(s[3].t - s[0].t, 8195);
    assert_int_equal(s[6].t - s[0].t, 200000);
    assert_int_equal(s[13].t - s[0].t, 2018000);
    free(s);
}

/* Bytes worked out by hand from docs/format/chunks.md. */
static void test_hand_bytes(void **state) {
    (void)state;
    vg_buf_t buf = VG_BUF_INIT;
    /* Empty chunk. */
    encode(&buf, NULL, 0);
    assert_int_equal(buf.len, 2);
    assert_memory_equal(buf.data, "\x00\x00", 2);
    /* t=1 (zig-zag 2), v=1.0; then t=3 (delta 2), v=1.0 ("0"); then t=5
     * (dod 0: "0"), v=1.0 ("0"). */
    sample_t s[] = {{1, UINT64_C(0x3ff0000000000000)},
                    {3, UINT64_C(0x3ff0000000000000)},
                    {5, UINT64_C(0x3ff0000000000000)}};
    encode(&buf, s, 3);
    static const uint8_t want[] = {0x00, 0x03, 0x02, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x02, 0x00};
    assert_int_equal(buf.len, sizeof want);
    assert_memory_equal(buf.data, want, sizeof want);
    /* t=-1 (zig-zag 1), v=0; t=0 (delta 1), v=2.0: x = 0x4000000000000000,
     * L=1, T=62, M=1: "11" 00001 000001 "1". */
    sample_t s2[] = {{-1, 0}, {0, UINT64_C(0x4000000000000000)}};
    encode(&buf, s2, 2);
    static const uint8_t want2[] = {0x00, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xc2, 0x0c};
    assert_int_equal(buf.len, sizeof want2);
    assert_memory_equal(buf.data, want2, sizeof want2);
    vg_buf_free(&buf);
}

/* ------------------------------------------------------------ edge cases */

static void test_small(void **state) {
    (void)state;
    sample_t one[] = {{1700000000000, bits_of(3.5)}};
    assert_int_equal(round_trip(one, 1), 2 + 6 + 8);
    sample_t two[] = {{0, bits_of(1)}, {1, bits_of(2)}};
    round_trip(two, 2);
    sample_t neg[] = {{-1700000000000, bits_of(-1)},
                      {-1699999985000, bits_of(-2)},
                      {-15000, bits_of(-3)},
                      {-1, bits_of(-4)},
                      {0, 0},
                      {1, 1}};
    round_trip(neg, 6);
    sample_t ext[] = {
        {INT64_MIN, 0}, {INT64_MIN + 1, 1}, {0, 2}, {INT64_MAX - 1, 3}, {INT64_MAX, 4}};
    round_trip(ext, 5);
    sample_t ext2[] = {{INT64_MIN, 0}, {INT64_MAX, 1}};
    round_trip(ext2, 2);
}

static void test_special_values(void **state) {
    (void)state;
    const uint64_t vals[] = {
        TSDB_CHUNK_STALE_NAN_BITS,    UINT64_C(0x7ff8000000000001), /* Go's NaN */
        TSDB_CHUNK_STALE_NAN_BITS,    UINT64_C(0x7ff8000000000000),
        UINT64_C(0xfff8000000000000), UINT64_C(0x7fffffffffffffff),
        UINT64_C(0x8000000000000000), 0,
        UINT64_C(0x8000000000000000), UINT64_C(0x7ff0000000000000),
        UINT64_C(0xfff0000000000000), 1, /* smallest subnormal */
        UINT64_C(0x000fffffffffffff), UINT64_C(0x8000000000000001),
        UINT64_C(0x7fefffffffffffff), UINT64_C(0x0010000000000000),
        UINT64_C(0xffffffffffffffff), 0,
        TSDB_CHUNK_STALE_NAN_BITS,    TSDB_CHUNK_STALE_NAN_BITS,
    };
    size_t n = sizeof vals / sizeof vals[0];
    sample_t s[32];
    for (size_t i = 0; i < n; i++)
        s[i] = (sample_t){1000 + 15000 * (int64_t)i, vals[i]};
    round_trip(s, n);
    /* The stale marker and a plain NaN stay apart after decoding. */
    vg_buf_t buf = VG_BUF_INIT;
    encode(&buf, s, n);
    tsdb_chunk_iter_t it;
    assert_int_equal(tsdb_chunk_iter_init(&it, buf.data, buf.len, NULL), 0);
    assert_int_equal(tsdb_chunk_iter_next(&it, NULL), 1);
    assert_int_equal(bits_of(tsdb_chunk_iter_v_at(&it)), TSDB_CHUNK_STALE_NAN_BITS);
    assert_int_equal(tsdb_chunk_iter_next(&it, NULL), 1);
    assert_int_equal(bits_of(tsdb_chunk_iter_v_at(&it)), UINT64_C(0x7ff8000000000001));
    vg_buf_free(&buf);
}

/* Deltas of delta on both sides of every bucket edge, and jumps of more than
 * 2^31 ms. */
static void test_timestamp_buckets(void **state) {
    (void)state;
    const int64_t dods[] = {0,
                            1,
                            -1,
                            8191,
                            8192,
                            8193,
                            -8191,
                            -8192,
                            -8193,
                            65535,
                            65536,
                            65537,
                            -65535,
                            -65536,
                            -65537,
                            524287,
                            524288,
                            524289,
                            -524287,
                            -524288,
                            -524289,
                            INT64_C(1) << 31,
                            INT64_C(1) << 32,
                            -(INT64_C(1) << 32) + 5,
                            INT64_C(3) << 40,
                            7};
    size_t n_d = sizeof dods / sizeof dods[0];
    sample_t s[64];
    int64_t t = 1000, delta =
                          INT64_C(5)
                          << 40; /* start with a large delta so that all dods keep t increasing */
    s[0] = (sample_t){t, 0};
    t += delta;
    s[1] = (sample_t){t, 1};
    for (size_t i = 0; i < n_d; i++) {
        delta += dods[i];
        t += delta;
        s[2 + i] = (sample_t){t, (uint64_t)i};
    }
    round_trip(s, 2 + n_d);
    /* Each size is the first that fits: 16 bits for 8192, 20 for 8193. */
    vg_buf_t buf = VG_BUF_INIT;
    sample_t a[] = {{0, 0}, {100, 0}, {200 + 8192, 0}};
    encode(&buf, a, 3);
    /* After the aligned part (2 + 1 + 8 + 1 bytes): "0" (v1), "10" and the
     * 14 bits of 8192, "0" (v2). */
    assert_int_equal(buf.len, 12 + 3);
    assert_memory_equal(buf.data + 12, "\x50\x00\x00", 3);
    /* 8193 needs "110" and 17 bits: 0 110 0001 00000000 0000 1 0. */
    sample_t b[] = {{0, 0}, {100, 0}, {200 + 8193, 0}};
    encode(&buf, b, 3);
    assert_int_equal(buf.len, 12 + 3);
    assert_memory_equal(buf.data + 12, "\x61\x00\x08", 3);
    vg_buf_free(&buf);
    /* Jumps of 2^31 ms and more between samples. */
    sample_t j[] = {{0, 0},
                    {(INT64_C(1) << 31) + 1, 1},
                    {(INT64_C(1) << 33), 2},
                    {(INT64_C(1) << 33) + 1, 3},
                    {INT64_C(1) << 62, 4}};
    round_trip(j, 5);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_series(void **state) {
    (void)state;
    sample_t *s = calloc(1000, sizeof *s);
    /* Constant values at a constant interval: 1 bit + 1 bit per sample. */
    for (size_t i = 0; i < 1000; i++)
        s[i] = (sample_t){1700000000000 + 15000 * (int64_t)i, bits_of(1)};
    size_t len = round_trip(s, 120);
    assert_int_equal(len, 2 + 6 + 8 + 2 + (1 + 118 * 2 + 7) / 8);
    round_trip(s, 1000);
    /* Counter with jitter. */
    int64_t t = 1700000000000;
    double v = 0;
    for (size_t i = 0; i < 1000; i++) {
        t += 15000 + (int64_t)(next_rand() % 11) - 5;
        v += (double)(next_rand() % 5000);
        s[i] = (sample_t){t, bits_of(v)};
    }
    round_trip(s, 120);
    round_trip(s, 1000);
    /* Random bit patterns (NaNs of every payload among them). */
    for (size_t i = 0; i < 1000; i++)
        s[i] = (sample_t){(int64_t)i * 7 - 3000, next_rand()};
    round_trip(s, 120);
    round_trip(s, 1000);
    /* Random doubles in [0, 1). */
    for (size_t i = 0; i < 1000; i++)
        s[i] = (sample_t){(int64_t)i * 15000,
                          bits_of((double)(next_rand() >> 11) / 9007199254740992.0)};
    round_trip(s, 1000);
    free(s);
}

static void test_full_chunk(void **state) {
    (void)state;
    vg_buf_t buf = VG_BUF_INIT;
    tsdb_chunk_app_t a;
    tsdb_chunk_app_init(&a, &buf);
    for (int64_t i = 0; i < TSDB_CHUNK_MAX_SAMPLES; i++)
        assert_int_equal(tsdb_chunk_app_append(&a, i * 1000, (double)(i % 7), NULL), 0);
    size_t len = buf.len;
    vg_err_t err = {0};
    assert_int_equal(tsdb_chunk_app_append(&a, INT64_MAX, 1, &err), VG_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "65535"));
    assert_int_equal(buf.len, len);
    assert_int_equal(tsdb_chunk_n_samples(buf.data, buf.len), 65535);
    sample_t *s;
    assert_int_equal(decode(buf.data, buf.len, &s), 65535);
    assert_int_equal(s[65534].t, INT64_C(65534000));
    free(s);
    assert_int_equal(tsdb_chunk_app_reopen(&a, &buf, NULL), 0);
    assert_int_equal(tsdb_chunk_app_append(&a, INT64_MAX, 1, NULL), VG_ERR_LIMIT);
    vg_buf_free(&buf);
}

static void test_seek(void **state) {
    (void)state;
    sample_t s[50];
    for (int i = 0; i < 50; i++)
        s[i] = (sample_t){100 + 10 * i, bits_of(i)};
    vg_buf_t buf = VG_BUF_INIT;
    encode(&buf, s, 50);
    tsdb_chunk_iter_t it;
    assert_int_equal(tsdb_chunk_iter_init(&it, buf.data, buf.len, NULL), 0);
    assert_int_equal(tsdb_chunk_iter_seek(&it, INT64_MIN, NULL), 1);
    assert_int_equal(tsdb_chunk_iter_t_at(&it), 100);
    assert_int_equal(tsdb_chunk_iter_seek(&it, 255, NULL), 1);
    assert_int_equal(tsdb_chunk_iter_t_at(&it), 260);
    assert_true(tsdb_chunk_iter_v_at(&it) == 16);
    /* Never goes back; stays on a sample that qualifies. */
    assert_int_equal(tsdb_chunk_iter_seek(&it, 0, NULL), 1);
    assert_int_equal(tsdb_chunk_iter_t_at(&it), 260);
    assert_int_equal(tsdb_chunk_iter_seek(&it, 260, NULL), 1);
    assert_int_equal(tsdb_chunk_iter_t_at(&it), 260);
    assert_int_equal(tsdb_chunk_iter_next(&it, NULL), 1);
    assert_int_equal(tsdb_chunk_iter_t_at(&it), 270);
    assert_int_equal(tsdb_chunk_iter_seek(&it, 590, NULL), 1);
    assert_int_equal(tsdb_chunk_iter_seek(&it, 591, NULL), 0);
    assert_int_equal(tsdb_chunk_iter_next(&it, NULL), 0);
    /* Empty chunk. */
    encode(&buf, s, 0);
    assert_int_equal(tsdb_chunk_iter_init(&it, buf.data, buf.len, NULL), 0);
    assert_int_equal(tsdb_chunk_iter_seek(&it, 0, NULL), 0);
    vg_buf_free(&buf);
}

/* ---------------------------------------------------------- hostile bytes */

static void expect_corrupt(const uint8_t *data, size_t len, const char *what) {
    sample_t *s;
    vg_err_t err = {0};
    tsdb_chunk_iter_t it;
    if (tsdb_chunk_iter_init(&it, data, len, &err) == 0) {
        int rc;
        while ((rc = tsdb_chunk_iter_next(&it, &err)) > 0) {
        }
        assert_int_equal(rc, VG_ERR_INPUT);
        /* Sticky. */
        assert_int_equal(tsdb_chunk_iter_next(&it, NULL), VG_ERR_INPUT);
    }
    if (what) assert_non_null(strstr(err.msg, what));
    assert_true(decode(data, len, &s) < 0);
    free(s);
    vg_buf_t buf = VG_BUF_INIT;
    vg_buf_append(&buf, data, len);
    tsdb_chunk_app_t a;
    assert_int_equal(tsdb_chunk_app_reopen(&a, &buf, NULL), VG_ERR_INPUT);
    assert_int_equal(buf.len, len); /* left alone */
    vg_buf_free(&buf);
}

static void test_hostile(void **state) {
    (void)state;
    expect_corrupt((const uint8_t *)"", 0, "shorter than its header");
    expect_corrupt((const uint8_t *)"\x00", 1, "shorter than its header");
    expect_corrupt((const uint8_t *)"\x00\x01", 2, "truncated at sample 1 of 1");
    /* Varint of 11 bytes. */
    expect_corrupt((const uint8_t *)"\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 13,
                   "overflows");
    /* Varint whose 10th byte is above 1. */
    expect_corrupt((const uint8_t *)"\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 12,
                   "overflows");
    /* Second sample with delta 0. */
    static const uint8_t dup[] = {0x00, 0x02, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00};
    expect_corrupt(dup, sizeof dup, "not after");
    /* Window L=31, M=63. */
    static const uint8_t wide[] = {0x00, 0x02, 0x02, 0,    0,    0,    0,    0,
                                   0,    0,    0,    0x02, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    expect_corrupt(wide, sizeof wide, "wider than 64");
    /* A header announcing more samples than there are. */
    sample_t s[120];
    for (int i = 0; i < 120; i++)
        s[i] = (sample_t){i * 15000 + (i * 7919) % 13, next_rand()};
    vg_buf_t buf = VG_BUF_INIT;
    encode(&buf, s, 120);
    uint8_t *copy = malloc(buf.len);
    memcpy(copy, buf.data, buf.len);
    /* (Not 121: the padding bits can hold one more "0" "0" sample.) */
    copy[0] = 0, copy[1] = 200;
    expect_corrupt(copy, buf.len, "of 200");
    copy[1] = 120;
    /* Every strict prefix is truncated (random values leave no slack). */
    for (size_t len = 0; len < buf.len; len++) {
        uint8_t *p = malloc(len + 1); /* exact size for ASan */
        memcpy(p, copy, len);
        expect_corrupt(p, len, NULL);
        free(p);
    }
    /* Random bit flips decode or fail, never crash. */
    for (int round = 0; round < 2000; round++) {
        uint8_t *p = malloc(buf.len);
        memcpy(p, copy, buf.len);
        for (int k = 0; k < 3; k++) {
            uint64_t r = next_rand();
            p[r % buf.len] ^= (uint8_t)(1u << ((r >> 32) % 8));
        }
        sample_t *got;
        long n = decode(p, buf.len, &got);
        assert_true(n >= VG_ERR_INPUT);
        free(got);
        free(p);
    }
    free(copy);
    vg_buf_free(&buf);
}

/* Prometheus's Appender() re-opened a chunk before any window was set, so
 * "10" came before "11": 64 bits follow. */
static void test_reuse_before_window(void **state) {
    (void)state;
    /* t=0 v=0; t=1 (delta 1) with v=1.0 written as "10" and the 64 bits
     * 0x3ff0000000000000: 10 001111 | 11 110000 | 0... */
    static const uint8_t b[] = {0x00, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0,   0,
                                0x01, 0x8f, 0xfc, 0, 0, 0, 0, 0, 0, 0x00};
    sample_t *s;
    assert_int_equal(decode(b, sizeof b, &s), 2);
    assert_int_equal(s[1].t, 1);
    assert_int_equal(s[1].v_bits, UINT64_C(0x3ff0000000000000));
    free(s);
    /* Appending to it starts a window of its own. */
    vg_buf_t buf = VG_BUF_INIT;
    vg_buf_append(&buf, b, sizeof b);
    tsdb_chunk_app_t a;
    assert_int_equal(tsdb_chunk_app_reopen(&a, &buf, NULL), 0);
    assert_int_equal(tsdb_chunk_app_append(&a, 2, 3.0, NULL), 0);
    assert_int_equal(decode(buf.data, buf.len, &s), 3);
    assert_true(dbl(s[2].v_bits) == 3.0 && s[2].t == 2);
    free(s);
    vg_buf_free(&buf);
}

/* -------------------------------------------------------------------- zstd */

static void test_zstd(void **state) {
    (void)state;
    sample_t s[120];
    for (int i = 0; i < 120; i++)
        s[i] = (sample_t){i * 15000, bits_of(i % 3)};
    vg_buf_t chunk = VG_BUF_INIT, z = VG_BUF_INIT, back = VG_BUF_INIT;
    encode(&chunk, s, 120);
    tsdb_chunk_zstd_t ctx = TSDB_CHUNK_ZSTD_INIT;
    for (int with_ctx = 0; with_ctx < 2; with_ctx++) {
        tsdb_chunk_zstd_t *zc = with_ctx ? &ctx : NULL;
        vg_buf_reset(&z);
        vg_buf_reset(&back);
        long n =
            tsdb_chunk_zstd_compress(zc, chunk.data, chunk.len, TSDB_CHUNK_ZSTD_LEVEL, &z, NULL);
        assert_true(n > 0 && (size_t)n == z.len);
        vg_buf_append(&back, "x", 1); /* appends after what is there */
        assert_int_equal(tsdb_chunk_zstd_decompress(zc, z.data, z.len, chunk.len, &back, NULL),
                         (long)chunk.len);
        assert_int_equal(back.len, chunk.len + 1);
        assert_memory_equal(back.data + 1, chunk.data, chunk.len);
        /* Over the limit: refused before allocating. */
        vg_err_t err = {0};
        vg_buf_t none = VG_BUF_INIT;
        assert_int_equal(tsdb_chunk_zstd_decompress(zc, z.data, z.len, chunk.len - 1, &none, &err),
                         VG_ERR_LIMIT);
        assert_null(none.data);
        /* Truncated, garbage, trailing bytes. */
        assert_int_equal(tsdb_chunk_zstd_decompress(zc, z.data, z.len - 1, 1 << 20, &back, NULL),
                         VG_ERR_INPUT);
        assert_int_equal(tsdb_chunk_zstd_decompress(zc, "hello world", 11, 1 << 20, &back, NULL),
                         VG_ERR_INPUT);
        vg_buf_t two = VG_BUF_INIT;
        vg_buf_append(&two, z.data, z.len);
        vg_buf_append(&two, z.data, z.len);
        assert_int_equal(tsdb_chunk_zstd_decompress(zc, two.data, two.len, 1 << 20, &back, NULL),
                         VG_ERR_INPUT);
        vg_buf_free(&two);
        /* A corrupted body fails the frame check or the size check. */
        for (size_t i = 6; i < z.len; i++) {
            vg_buf_t bad = VG_BUF_INIT;
            vg_buf_append(&bad, z.data, z.len);
            bad.data[i] ^= 0x5a;
            vg_buf_reset(&back);
            long r = tsdb_chunk_zstd_decompress(zc, bad.data, bad.len, 1 << 20, &back, NULL);
            assert_true(r < 0 || (size_t)r == chunk.len);
            vg_buf_free(&bad);
        }
    }
    /* Empty input round-trips. */
    vg_buf_reset(&z);
    vg_buf_reset(&back);
    assert_true(tsdb_chunk_zstd_compress(&ctx, "", 0, 3, &z, NULL) > 0);
    assert_int_equal(tsdb_chunk_zstd_decompress(&ctx, z.data, z.len, 0, &back, NULL), 0);
    assert_true(tsdb_chunk_zstd_pays(1000, 800));
    assert_false(tsdb_chunk_zstd_pays(1000, 900));
    tsdb_chunk_zstd_free(&ctx);
    vg_buf_free(&chunk);
    vg_buf_free(&z);
    vg_buf_free(&back);
}

/* The committed fuzz corpus passes the fuzz target's checks. */
static void test_fuzz_corpus(void **state) {
    (void)state;
    DIR *d = opendir(VG_SOURCE_DIR "/fuzz/corpus/chunk");
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/fuzz/corpus/chunk/%s", VG_SOURCE_DIR, e->d_name);
        char *data;
        size_t len;
        assert_int_equal(vg_file_read_all(path, 1 << 20, &data, &len, NULL), 0);
        LLVMFuzzerTestOneInput((const uint8_t *)data, len);
        free(data);
        n++;
    }
    closedir(d);
    assert_true(n >= 10);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus_bytes),
        cmocka_unit_test(test_prometheus_values),
        cmocka_unit_test(test_hand_bytes),
        cmocka_unit_test(test_small),
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_timestamp_buckets),
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_full_chunk),
        cmocka_unit_test(test_seek),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_reuse_before_window),
        cmocka_unit_test(test_zstd),
        cmocka_unit_test(test_fuzz_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
