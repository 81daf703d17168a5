/* Benchmark for the exposition parser: generates a node_exporter-like
 * payload in memory (about 10 MB: counters, gauges, histograms and
 * summaries over cpus, devices, mount points and handlers), writes it with
 * the expfmt writer in both formats, and parses it repeatedly in each mode.
 * Prints MB/s and samples/s; it never asserts anything about timing.
 *
 * Usage: bench_expfmt [megabytes]  (default 10) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "expfmt/expfmt.h"

static const char *const modes[] = {"idle", "iowait", "irq", "nice", "softirq", "steal", "system",
                                    "user"};
static const char *const fstypes[] = {"ext4", "xfs", "tmpfs", "overlay", "vfat"};
static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A value that looks like what exporters print: integers, fractions,
 * large counters in exponent form. */
static double some_value(void) {
    uint64_t r = next_rand();
    switch (r % 4) {
    case 0: return (double)(r >> 40);
    case 1: return (double)(r >> 20) / 1000.0;
    case 2: return (double)(r >> 11) * 1e3;
    default: return (double)(r % 1000) / 7.0;
    }
}

static void generate(vg_buf_t *out, expfmt_format_t format, size_t target) {
    expfmt_writer_t w;
    expfmt_writer_init(&w, out, format);
    rng = 0x9e3779b97f4a7c15ull;
    char name[128], a[64], b[128];
    for (int f = 0; out->len < target; f++) {
        switch (f % 6) {
        case 0: /* per-cpu counters */
            snprintf(name, sizeof name, "node_cpu_f%d_seconds_total", f);
            expfmt_write_family(&w, name, EXPFMT_COUNTER, "Seconds the CPUs spent in each mode.",
                                NULL);
            for (int cpu = 0; cpu < 16; cpu++)
                for (size_t m = 0; m < 8; m++) {
                    snprintf(a, sizeof a, "%d", cpu);
                    expfmt_write_samplev(&w, name, some_value(), "cpu", a, "mode", modes[m], NULL);
                }
            break;
        case 1: /* filesystem gauges */
            snprintf(name, sizeof name, "node_filesystem_f%d_avail_bytes", f);
            expfmt_write_family(&w, name, EXPFMT_GAUGE,
                                "Filesystem space available to non-root users in bytes.", NULL);
            for (int d = 0; d < 24; d++) {
                snprintf(a, sizeof a, "/dev/nvme0n1p%d", d);
                snprintf(b, sizeof b, "/var/lib/containers/storage/overlay/%016llx/merged",
                         (unsigned long long)next_rand());
                expfmt_write_samplev(&w, name, some_value(), "device", a, "fstype",
                                     fstypes[d % 5], "mountpoint", b, NULL);
            }
            break;
        case 2: /* network counters */
            snprintf(name, sizeof name, "node_network_f%d_receive_bytes_total", f);
            expfmt_write_family(&w, name, EXPFMT_COUNTER,
                                "Network device statistic receive_bytes.", NULL);
            for (int d = 0; d < 32; d++) {
                snprintf(a, sizeof a, "veth%04x", (unsigned)(d * 2654435761u) & 0xffff);
                expfmt_write_samplev(&w, name, some_value(), "device", a, NULL);
            }
            break;
        case 3: /* histograms */
            snprintf(name, sizeof name, "http_f%d_request_duration_seconds", f);
            expfmt_write_family(&w, name, EXPFMT_HISTOGRAM, "Request latency \"by\" handler.",
                                NULL);
            for (int h = 0; h < 8; h++) {
                static const char *const les[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                                  "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
                snprintf(a, sizeof a, "/api/v1/handler_%d", h);
                char bucket[160], sum[160], count[160];
                snprintf(bucket, sizeof bucket, "%s_bucket", name);
                snprintf(sum, sizeof sum, "%s_sum", name);
                snprintf(count, sizeof count, "%s_count", name);
                double c = 0;
                for (int i = 0; i < 12; i++) {
                    c += (double)(next_rand() % 100);
                    expfmt_write_samplev(&w, bucket, c, "handler", a, "method", methods[h % 4],
                                         "le", les[i], NULL);
                }
                expfmt_write_samplev(&w, sum, c * 0.137, "handler", a, "method", methods[h % 4],
                                     NULL);
                expfmt_write_samplev(&w, count, c, "handler", a, "method", methods[h % 4], NULL);
            }
            break;
        case 4: /* summaries */
            snprintf(name, sizeof name, "go_f%d_gc_duration_seconds", f);
            expfmt_write_family(&w, name, EXPFMT_SUMMARY,
                                "A summary of the wall-time pause duration in GC cycles.", NULL);
            {
                static const char *const qs[] = {"0", "0.25", "0.5", "0.75", "1"};
                char sum[160], count[160];
                snprintf(sum, sizeof sum, "%s_sum", name);
                snprintf(count, sizeof count, "%s_count", name);
                for (int i = 0; i < 5; i++)
                    expfmt_write_samplev(&w, name, some_value() / 1e6, "quantile", qs[i], NULL);
                expfmt_write_samplev(&w, sum, some_value(), NULL);
                expfmt_write_samplev(&w, count, (double)(next_rand() >> 44), NULL);
            }
            break;
        default: /* plain gauges without labels, with escapes in a label */
            snprintf(name, sizeof name, "process_f%d_open_fds", f);
            expfmt_write_family(&w, name, EXPFMT_GAUGE, "Number of open file descriptors.", NULL);
            expfmt_write_samplev(&w, name, some_value(), NULL);
            expfmt_write_samplev(&w, name, some_value(), "path", "C:\\tmp\\\"quoted\"", NULL);
            break;
        }
    }
    expfmt_writer_finish(&w);
}

static double run_mode(const char *label, const vg_buf_t *payload, expfmt_format_t format,
                       unsigned flags) {
    expfmt_parser_t p;
    expfmt_parser_init(&p, payload->data, payload->len, format, flags);
    size_t samples = 0, rounds = 0;
    double checksum = 0, best = 1e9, total = 0;
    while (total < 2.0 || rounds < 3) {
        expfmt_parser_reset(&p, payload->data, payload->len, format, flags);
        vg_err_t err;
        int rc;
        size_t n = 0;
        double t0 = vg_time_mono();
        while ((rc = expfmt_parser_next(&p, &err)) > 0) {
            if (rc == EXPFMT_ENTRY_SAMPLE) {
                n++;
                checksum += p.n_labels;
            }
        }
        double dt = vg_time_mono() - t0;
        if (rc < 0) {
            fprintf(stderr, "%s: parse error: %s\n", label, err.msg);
            exit(1);
        }
        samples = n;
        total += dt;
        if (dt < best) best = dt;
        rounds++;
    }
    expfmt_parser_free(&p);
    double mb = (double)payload->len / 1e6;
    printf("%-28s %8.1f MB/s  %6.2f M samples/s  %5.1f ns/sample  (best of %zu, %.1f ms/parse, "
           "checksum %.0f)\n",
           label, mb / best, (double)samples / best / 1e6, best * 1e9 / (double)samples, rounds,
           best * 1e3, checksum / (double)rounds);
    return best;
}

int main(int argc, char **argv) {
    size_t mb = argc > 1 ? (size_t)atoi(argv[1]) : 10;
    if (mb == 0) mb = 10;
    vg_buf_t text = VG_BUF_INIT, om = VG_BUF_INIT;
    generate(&text, EXPFMT_TEXT_004, mb << 20);
    generate(&om, EXPFMT_OPENMETRICS, mb << 20);
    size_t samples = 0;
    vg_err_t err;
    if (expfmt_parse_check(text.data, text.len, EXPFMT_TEXT_004, 0, &samples, &err) != 0) {
        fprintf(stderr, "generated text does not parse: %s\n", err.msg);
        return 1;
    }
    printf("payload: text 0.0.4 %.1f MB, OpenMetrics %.1f MB, %zu samples each\n",
           (double)text.len / 1e6, (double)om.len / 1e6, samples);
    run_mode("text 0.0.4", &text, EXPFMT_TEXT_004, 0);
    run_mode("OpenMetrics", &om, EXPFMT_OPENMETRICS, 0);
    run_mode("OpenMetrics + validation", &om, EXPFMT_OPENMETRICS, EXPFMT_PARSE_VALIDATE);

    /* gzip: what a scrape with Content-Encoding: gzip costs on top. */
    uLongf zlen = compressBound((uLong)text.len) + 32;
    z_stream zs = {0};
    deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    unsigned char *gz = malloc(zlen);
    zs.next_in = (Bytef *)text.data;
    zs.avail_in = (uInt)text.len;
    zs.next_out = gz;
    zs.avail_out = (uInt)zlen;
    deflate(&zs, Z_FINISH);
    size_t gz_len = zs.total_out;
    deflateEnd(&zs);
    vg_buf_t out = VG_BUF_INIT;
    double best = 1e9, total = 0;
    int rounds = 0;
    while (total < 1.0 || rounds < 3) {
        vg_buf_reset(&out);
        double t0 = vg_time_mono();
        if (expfmt_gzip_inflate(gz, gz_len, text.len, &out, &err) != 0) {
            fprintf(stderr, "inflate: %s\n", err.msg);
            return 1;
        }
        double dt = vg_time_mono() - t0;
        total += dt;
        if (dt < best) best = dt;
        rounds++;
    }
    printf("%-28s %8.1f MB/s of output (%.1f MB gzip -> %.1f MB)\n", "gzip inflate",
           (double)text.len / 1e6 / best, (double)gz_len / 1e6, (double)text.len / 1e6);
    free(gz);
    vg_buf_free(&out);
    vg_buf_free(&text);
    vg_buf_free(&om);
    return 0;
}
