/* Benchmark for XOR sample chunks: bytes per sample and encode / decode
 * nanoseconds per sample on
 *   (a) node_exporter-like series: a mix of CPU-seconds counters, byte and
 *       operation counters, memory and load gauges, and constant or rarely
 *       changing gauges, scraped every 15 s with a few ms of jitter;
 *   (a') the same values at exact 15 s steps;
 *   (b) random doubles in [0, 1) at jittered timestamps;
 * and what zstd gains on top, for one chunk, for runs of one series'
 * chunks, and for runs of chunks of many series (as a block file lays them
 * out). Prints figures; it never asserts anything about them.
 *
 * Usage: bench_chunk [series]  (default 1000; 1200 samples each, cut into
 * chunks of 120 as Prometheus does) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "tsdb/chunk.h"

#define SAMPLES_PER_SERIES 1200
#define SAMPLES_PER_CHUNK 120
#define CHUNKS_PER_SERIES (SAMPLES_PER_SERIES / SAMPLES_PER_CHUNK)

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static double uniform(void) { return (double)(next_rand() >> 11) / 9007199254740992.0; }

typedef struct series {
    int64_t t[SAMPLES_PER_SERIES];
    double v[SAMPLES_PER_SERIES];
} series_t;

/* Scrape times: every 15 s, each off by -5..+5 ms. */
static void fill_times(series_t *s, int64_t start) {
    for (int i = 0; i < SAMPLES_PER_SERIES; i++)
        s->t[i] = start + 15000 * (int64_t)i + (int64_t)(next_rand() % 11) - 5;
}

/* One node_exporter-like series; the kind cycles so that the mix is roughly
 * that of a real /metrics page, where most series are constant or change
 * rarely and a minority are busy counters. */
static void fill_node(series_t *s, int kind) {
    double v = 0;
    switch (kind % 10) {
    case 0: /* node_cpu_seconds_total{mode="idle"}: 1/100 s resolution */
    case 1: /* user, system */
        v = floor(uniform() * 1e7) / 100;
        for (int i = 0; i < SAMPLES_PER_SERIES; i++) {
            s->v[i] = v;
            v = round((v + (kind % 10 == 0 ? 14.2 : 0.8) + uniform() * 0.5) * 100) / 100;
        }
        break;
    case 2: /* node_cpu_seconds_total{mode="steal"} and similar: rarely moves */
        v = floor(uniform() * 1e4) / 100;
        for (int i = 0; i < SAMPLES_PER_SERIES; i++) {
            s->v[i] = v;
            if (next_rand() % 20 == 0) v = round((v + 0.01) * 100) / 100;
        }
        break;
    case 3: /* node_network_receive_bytes_total: integer counter */
        v = (double)(next_rand() % 1000000000000ull);
        for (int i = 0; i < SAMPLES_PER_SERIES; i++) {
            s->v[i] = v;
            v += (double)(next_rand() % 2000000);
        }
        break;
    case 4: /* node_disk_reads_completed_total, node_context_switches_total */
        v = (double)(next_rand() % 100000000);
        for (int i = 0; i < SAMPLES_PER_SERIES; i++) {
            s->v[i] = v;
            v += (double)(next_rand() % 300);
        }
        break;
    case 5: /* node_memory_MemAvailable_bytes: pages */
        v = (double)(4096 * (next_rand() % 4000000));
        for (int i = 0; i < SAMPLES_PER_SERIES; i++) {
            s->v[i] = v;
            v += 4096.0 * (double)((int64_t)(next_rand() % 2001) - 1000);
        }
        break;
    case 6: /* node_load1: two decimals */
        for (int i = 0; i < SAMPLES_PER_SERIES; i++)
            s->v[i] = round((1.5 + sin(i / 40.0) + uniform() * 0.3) * 100) / 100;
        break;
    case 7: /* node_filesystem_avail_bytes: moves now and then */
        v = (double)(4096 * (next_rand() % 100000000));
        for (int i = 0; i < SAMPLES_PER_SERIES; i++) {
            s->v[i] = v;
            if (next_rand() % 8 == 0) v -= 4096.0 * (double)(next_rand() % 256);
        }
        break;
    default: /* MemTotal, filesystem size, *_info = 1, go_threads: constant */
        v = kind % 3 ? (double)(4096 * (next_rand() % 4000000)) : 1;
        for (int i = 0; i < SAMPLES_PER_SERIES; i++)
            s->v[i] = v;
        break;
    }
}

static void fill_random(series_t *s) {
    for (int i = 0; i < SAMPLES_PER_SERIES; i++)
        s->v[i] = uniform();
}

typedef struct encoded {
    vg_buf_t chunk[CHUNKS_PER_SERIES];
} encoded_t;

/* Encodes every series into chunks; returns ns per sample. */
static double encode_all(const series_t *s, encoded_t *e, int n_series) {
    double t0 = vg_time_mono();
    for (int k = 0; k < n_series; k++)
        for (int c = 0; c < CHUNKS_PER_SERIES; c++) {
            tsdb_chunk_app_t a;
            tsdb_chunk_app_init(&a, &e[k].chunk[c]);
            for (int i = c * SAMPLES_PER_CHUNK; i < (c + 1) * SAMPLES_PER_CHUNK; i++)
                tsdb_chunk_app_append(&a, s[k].t[i], s[k].v[i], NULL);
        }
    return (vg_time_mono() - t0) * 1e9 / ((double)n_series * SAMPLES_PER_SERIES);
}

static volatile double sink;

/* Decodes every chunk; returns ns per sample. */
static double decode_all(const encoded_t *e, int n_series) {
    double t0 = vg_time_mono(), acc = 0;
    for (int k = 0; k < n_series; k++)
        for (int c = 0; c < CHUNKS_PER_SERIES; c++) {
            tsdb_chunk_iter_t it;
            tsdb_chunk_iter_init(&it, e[k].chunk[c].data, e[k].chunk[c].len, NULL);
            while (tsdb_chunk_iter_next(&it, NULL) > 0)
                acc += (double)it.t + tsdb_chunk_iter_v_at(&it);
        }
    sink = acc;
    return (vg_time_mono() - t0) * 1e9 / ((double)n_series * SAMPLES_PER_SERIES);
}

/* zstd over groups of chunks: `per_series` consecutive chunks of one series,
 * and `n_group_series` series per group. Prints the size ratio and the
 * decompression cost per sample. */
static void zstd_case(const char *label, const encoded_t *e, int n_series, int per_series,
                      int n_group_series, int level) {
    tsdb_chunk_zstd_t z = TSDB_CHUNK_ZSTD_INIT;
    vg_buf_t raw = VG_BUF_INIT, comp = VG_BUF_INIT, back = VG_BUF_INIT;
    size_t raw_total = 0, comp_total = 0, groups = 0, paid = 0, paid_raw = 0, paid_comp = 0;
    double dec_s = 0, comp_s = 0;
    long samples = 0;
    for (int k0 = 0; k0 < n_series; k0 += n_group_series)
        for (int c0 = 0; c0 < CHUNKS_PER_SERIES; c0 += per_series) {
            vg_buf_reset(&raw);
            for (int k = k0; k < k0 + n_group_series && k < n_series; k++)
                for (int c = c0; c < c0 + per_series && c < CHUNKS_PER_SERIES; c++) {
                    vg_buf_append(&raw, e[k].chunk[c].data, e[k].chunk[c].len);
                    samples += SAMPLES_PER_CHUNK;
                }
            vg_buf_reset(&comp);
            double t0 = vg_time_mono();
            tsdb_chunk_zstd_compress(&z, raw.data, raw.len, level, &comp, NULL);
            comp_s += vg_time_mono() - t0;
            vg_buf_reset(&back);
            t0 = vg_time_mono();
            tsdb_chunk_zstd_decompress(&z, comp.data, comp.len, raw.len, &back, NULL);
            dec_s += vg_time_mono() - t0;
            raw_total += raw.len;
            comp_total += comp.len;
            groups++;
            if (tsdb_chunk_zstd_pays(raw.len, comp.len)) {
                paid++;
                paid_raw += raw.len;
                paid_comp += comp.len;
            }
        }
    size_t stored = raw_total - paid_raw + paid_comp;
    printf("  %-34s level %d: %6.3f of raw (%5.2f B/sample), %5.1f ns/sample to compress, %4.1f "
           "ns/sample to decompress; pays in %zu of %zu groups -> %5.2f B/sample stored\n",
           label, level, (double)comp_total / (double)raw_total,
           (double)comp_total / (double)samples, comp_s * 1e9 / (double)samples,
           dec_s * 1e9 / (double)samples, paid, groups, (double)stored / (double)samples);
    vg_buf_free(&raw);
    vg_buf_free(&comp);
    vg_buf_free(&back);
    tsdb_chunk_zstd_free(&z);
}

static void run(const char *name, series_t *s, int n_series) {
    encoded_t *e = calloc((size_t)n_series, sizeof *e);
    double enc = encode_all(s, e, n_series); /* warm-up: buffers grow */
    double best_enc = 1e9, best_dec = 1e9;
    for (int r = 0; r < 5; r++) {
        enc = encode_all(s, e, n_series);
        if (enc < best_enc) best_enc = enc;
        double dec = decode_all(e, n_series);
        if (dec < best_dec) best_dec = dec;
    }
    size_t bytes = 0;
    for (int k = 0; k < n_series; k++)
        for (int c = 0; c < CHUNKS_PER_SERIES; c++)
            bytes += e[k].chunk[c].len;
    double samples = (double)n_series * SAMPLES_PER_SERIES;
    printf("%s: %d series x %d samples, chunks of %d\n", name, n_series, SAMPLES_PER_SERIES,
           SAMPLES_PER_CHUNK);
    printf("  XOR chunks: %.2f bytes/sample (2-byte headers included), encode %.1f ns/sample, "
           "decode %.1f ns/sample\n",
           (double)bytes / samples, best_enc, best_dec);
    zstd_case("one chunk", e, n_series, 1, 1, 3);
    zstd_case("10 chunks of one series", e, n_series, CHUNKS_PER_SERIES, 1, 3);
    zstd_case("1 chunk of each of 64 series", e, n_series, 1, 64, 3);
    zstd_case("1 chunk of each of 64 series", e, n_series, 1, 64, 1);
    zstd_case("1 chunk of each of 64 series", e, n_series, 1, 64, 9);
    zstd_case("10 chunks of each of 16 series", e, n_series, CHUNKS_PER_SERIES, 16, 3);
    for (int k = 0; k < n_series; k++)
        for (int c = 0; c < CHUNKS_PER_SERIES; c++)
            vg_buf_free(&e[k].chunk[c]);
    free(e);
}

int main(int argc, char **argv) {
    int n_series = argc > 1 ? atoi(argv[1]) : 1000;
    if (n_series < 1) n_series = 1000;
    series_t *s = calloc((size_t)n_series, sizeof *s);
    int64_t start = 1700000000000;
    for (int k = 0; k < n_series; k++) {
        fill_times(&s[k], start + (int64_t)(next_rand() % 15000));
        fill_node(&s[k], k);
    }
    run("(a) node_exporter-like, 15 s +- 5 ms", s, n_series);
    /* The same values at exact 15 s steps, which is what Prometheus stores
     * when it aligns scrape timestamps within its tolerance. */
    for (int k = 0; k < n_series; k++)
        for (int i = 1; i < SAMPLES_PER_SERIES; i++)
            s[k].t[i] = s[k].t[0] + 15000 * (int64_t)i;
    run("(a') node_exporter-like, exactly 15 s", s, n_series);
    for (int k = 0; k < n_series; k++) {
        fill_times(&s[k], start + (int64_t)(next_rand() % 15000));
        fill_random(&s[k]);
    }
    run("(b) random doubles in [0, 1), 15 s +- 5 ms", s, n_series);
    free(s);
    return 0;
}
