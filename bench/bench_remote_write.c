/* Benchmark for remote_write 1.0 decoding: builds one request of 10k
 * series x 10 samples with node_exporter-like labels (the writer in
 * rw_encode.c is the load generator), then times snappy alone, the
 * protobuf decoder alone, and both together the way the HTTP handler runs
 * them, with a callback that reads every label and sample. Prints samples/s
 * and MB/s of decompressed protobuf; it never asserts anything about time.
 *
 * Usage: bench_remote_write [series [samples_per_series]]  (default 10000 10) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/rw_decode.h"

static const char *const modes[] = {"idle",    "iowait", "irq",    "nice",
                                    "softirq", "steal",  "system", "user"};
static const char *const devices[] = {"sda", "sdb", "nvme0n1", "nvme1n1", "dm-0", "loop0"};
static const char *const metrics[] = {
    "node_cpu_seconds_total",           "node_disk_read_bytes_total",
    "node_disk_written_bytes_total",    "node_disk_io_time_seconds_total",
    "node_network_receive_bytes_total", "node_network_transmit_bytes_total",
    "node_filesystem_avail_bytes",      "node_memory_MemAvailable_bytes"};

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* One request as Prometheus would send it for a fleet of hosts: labels
 * sorted by name, an external label, a scrape timestamp per sample. */
static void generate(ingest_rw_writer_t *w, size_t n_series, size_t n_samples) {
    char instance[64], cpu[16], extra[32];
    ingest_rw_sample_t *samples = vg_malloc(n_samples * sizeof *samples);
    for (size_t i = 0; i < n_series; i++) {
        size_t host = i / 400, m = i % 8;
        snprintf(instance, sizeof instance, "node-%04zu.prod.example.net:9100", host);
        ingest_rw_label_t l[8];
        size_t n = 0;
        l[n++] = ingest_rw_label("__name__", metrics[m]);
        if (m == 0) {
            snprintf(cpu, sizeof cpu, "%zu", (i / 8) % 64);
            l[n++] = ingest_rw_label("cpu", cpu);
        } else if (m <= 3) {
            l[n++] = ingest_rw_label("device", devices[(i / 8) % 6]);
        } else if (m <= 5) {
            snprintf(extra, sizeof extra, "eth%zu", (i / 8) % 4);
            l[n++] = ingest_rw_label("device", extra);
        } else if (m == 6) {
            l[n++] = ingest_rw_label("device", "/dev/mapper/vg0-root");
            l[n++] = ingest_rw_label("fstype", "ext4");
        }
        l[n++] = ingest_rw_label("instance", instance);
        l[n++] = ingest_rw_label("job", "node");
        if (m == 0) l[n++] = ingest_rw_label("mode", modes[(i / 512) % 8]);
        if (m == 6) l[n++] = ingest_rw_label("mountpoint", "/");
        l[n++] = ingest_rw_label("region", "eu-west-1");
        int64_t ts = 1700000000000 + (int64_t)(next_rand() % 15000);
        double v = (double)(next_rand() >> 30);
        for (size_t k = 0; k < n_samples; k++) {
            samples[k].timestamp_ms = ts + (int64_t)k * 15000;
            v += (double)(next_rand() % 100000) / 100.0;
            samples[k].value = v;
        }
        ingest_rw_writer_add_series(w, l, n, samples, n_samples, NULL, 0);
    }
    free(samples);
}

typedef struct sink {
    uint64_t bytes;
    double sum;
    size_t samples;
} sink_t;

static int on_series(void *ctx, const ingest_rw_series_t *s, vg_err_t *err) {
    (void)err;
    sink_t *k = ctx;
    for (size_t i = 0; i < s->n_labels; i++)
        k->bytes += s->labels[i].name_len + s->labels[i].value_len;
    ingest_rw_sample_iter_t it;
    ingest_rw_sample_t smp;
    ingest_rw_series_samples(s, &it);
    while (ingest_rw_sample_iter_next(&it, &smp)) {
        k->sum += smp.value;
        k->samples++;
    }
    return 0;
}

/* Runs body repeatedly for about a second (three times at least) and sets
 * out to the seconds per run. */
#define TIME_IT(out, body)                                                                         \
    do {                                                                                           \
        int runs_ = 0;                                                                             \
        double t0_ = vg_time_mono(), el_;                                                          \
        do {                                                                                       \
            body;                                                                                  \
            runs_++;                                                                               \
        } while ((el_ = vg_time_mono() - t0_) < 1.0 || runs_ < 3);                                 \
        (out) = el_ / runs_;                                                                       \
    } while (0)

int main(int argc, char **argv) {
    size_t n_series = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    size_t n_samples = argc > 2 ? strtoul(argv[2], NULL, 10) : 10;
    size_t total = n_series * n_samples;

    ingest_rw_writer_t w;
    ingest_rw_writer_init(&w);
    vg_buf_t body = VG_BUF_INIT;
    double t_build;
    TIME_IT(t_build, {
        ingest_rw_writer_reset(&w);
        rng = 0x9e3779b97f4a7c15ull;
        generate(&w, n_series, n_samples);
    });
    double t_compress;
    TIME_IT(t_compress, {
        vg_buf_reset(&body);
        ingest_rw_writer_finish(&w, &body);
    });
    double pb_mb = (double)w.pb.len / 1e6;
    printf("request: %zu series x %zu samples = %zu samples; protobuf %.2f MB, snappy %.2f MB "
           "(%.1f%%)\n",
           n_series, n_samples, total, pb_mb, (double)body.len / 1e6,
           100.0 * (double)body.len / (double)w.pb.len);
    printf("encode (writer):     %8.2f ms  %7.1f MB/s  %6.2f M samples/s\n", t_build * 1e3,
           pb_mb / t_build, (double)total / t_build / 1e6);
    printf("snappy compress:     %8.2f ms  %7.1f MB/s\n", t_compress * 1e3, pb_mb / t_compress);

    vg_buf_t plain = VG_BUF_INIT;
    vg_err_t err = {0};
    double t_snappy;
    TIME_IT(t_snappy, {
        if (ingest_rw_snappy_uncompress(body.data, body.len, 1u << 30, &plain, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    });
    printf("snappy uncompress:   %8.2f ms  %7.1f MB/s\n", t_snappy * 1e3, pb_mb / t_snappy);

    ingest_rw_limits_t lim = {.max_decoded_bytes = 1u << 30};
    ingest_rw_decoder_t d;
    ingest_rw_decoder_init(&d, &lim, 0);
    sink_t sink = {0};
    ingest_rw_handler_t h = {on_series, NULL, &sink};
    ingest_rw_stats_t st;
    double t_validate;
    TIME_IT(t_validate, {
        if (ingest_rw_decoder_decode(&d, plain.data, plain.len, NULL, &st, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    });
    printf("proto validate only: %8.2f ms  %7.1f MB/s  %6.2f M samples/s\n", t_validate * 1e3,
           pb_mb / t_validate, (double)total / t_validate / 1e6);
    double t_decode;
    TIME_IT(t_decode, {
        sink.samples = 0;
        if (ingest_rw_decoder_decode(&d, plain.data, plain.len, &h, &st, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    });
    printf("proto decode+iterate:%8.2f ms  %7.1f MB/s  %6.2f M samples/s\n", t_decode * 1e3,
           pb_mb / t_decode, (double)total / t_decode / 1e6);
    double t_body;
    TIME_IT(t_body, {
        sink.samples = 0;
        if (ingest_rw_decoder_decode_body(&d, body.data, body.len, &h, &st, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    });
    printf("snappy + decode:     %8.2f ms  %7.1f MB/s  %6.2f M samples/s\n", t_body * 1e3,
           pb_mb / t_body, (double)total / t_body / 1e6);
    if (st.n_samples != total || sink.samples != total) {
        fprintf(stderr, "decoded %zu samples, want %zu\n", st.n_samples, total);
        return 1;
    }

    ingest_rw_decoder_free(&d);
    ingest_rw_writer_free(&w);
    vg_buf_free(&body);
    vg_buf_free(&plain);
    return 0;
}
