/* Benchmark of the PromQL evaluator: loads counters (1000 series, one
 * sample every 15 s for 6 hours) into a tsdb in a temporary directory and
 * prints the time of typical dashboard queries, instant and range (step
 * 60 s). With an argument, also writes the same data as OpenMetrics text
 * there, so that `promtool tsdb create-blocks-from openmetrics` can load
 * it into a Prometheus for a side-by-side run (bench/promql_compare.sh).
 * Figures only; nothing is asserted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql.h"

#define N_INSTANCES 50
#define N_PATHS 20
#define INTERVAL_MS 15000
#define HOURS 6

static const char *const queries[] = {
    "http_requests_total",
    "rate(http_requests_total[5m])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "sum by (instance) (rate(http_requests_total[5m]))",
    "topk(5, rate(http_requests_total[5m]))",
    "http_requests_total / ignoring(path) group_left sum by (job, instance) "
    "(http_requests_total)",
    "max_over_time(http_requests_total[10m])",
    "quantile(0.9, rate(http_requests_total[5m]))",
    "avg_over_time(rate(http_requests_total[5m])[30m:1m])",
    "http_requests_total > 1000 and http_requests_total < 5000",
};

int main(int argc, char **argv) {
    char dir[] = "/tmp/vigil-bench-promql-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    tsdb_options_t o = {.dir = dir, .retention_ms = 100LL * 365 * 24 * 3600 * 1000};
    vg_err_t err = {0};
    vg_log_setup(VG_LOG_WARN, VG_LOG_LOGFMT, stderr);
    tsdb_t *db = tsdb_open(&o, &err);
    if (!db) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 1;
    }
    FILE *om = argc > 1 ? fopen(argv[1], "w") : NULL;
    if (om) fprintf(om, "# TYPE http_requests_total counter\n");
    const int64_t t0 = 1700000000000LL;
    const int64_t n_samples = (int64_t)HOURS * 3600 * 1000 / INTERVAL_MS;
    labels_t *ls[N_INSTANCES * N_PATHS];
    uint64_t refs[N_INSTANCES * N_PATHS] = {0};
    for (int i = 0; i < N_INSTANCES; i++)
        for (int p = 0; p < N_PATHS; p++) {
            char inst[32], path[32];
            snprintf(inst, sizeof inst, "i%d", i);
            snprintf(path, sizeof path, "/p%d", p);
            ls[i * N_PATHS + p] = labels_from_strings("__name__", "http_requests_total", "job",
                                                      i % 2 ? "api" : "web", "instance", inst,
                                                      "path", path, NULL);
        }
    double lt = vg_time_mono();
    tsdb_appender_t *a = tsdb_appender_new(db);
    /* Samples in series order for the OpenMetrics file (it wants each
     * family's series grouped), time order for the store. */
    for (int64_t k = 0; k < n_samples; k++) {
        for (int s = 0; s < N_INSTANCES * N_PATHS; s++) {
            double v = (double)(k * (s % 7 + 1)) + (double)(s % 13);
            if (tsdb_appender_add(a, ls[s], &refs[s], t0 + k * INTERVAL_MS, v, &err) != 0) {
                fprintf(stderr, "append: %s\n", err.msg);
                return 1;
            }
        }
        if (tsdb_appender_commit(a, &err) != 0) return 1;
    }
    tsdb_appender_free(a);
    if (om) {
        for (int s = 0; s < N_INSTANCES * N_PATHS; s++) {
            /* OpenMetrics wants no space after the commas. */
            vg_buf_t b = VG_BUF_INIT;
            vg_buf_puts(&b, "http_requests_total{");
            for (size_t l = 0, n = labels_len(ls[s]), first = 1; l < n; l++) {
                labels_label_t x = labels_at(ls[s], l);
                if (x.name_len == 8 && memcmp(x.name, "__name__", 8) == 0) continue;
                vg_buf_printf(&b, "%s%.*s=\"%.*s\"", first ? "" : ",", (int)x.name_len, x.name,
                              (int)x.value_len, x.value);
                first = 0;
            }
            vg_buf_putc(&b, '}');
            for (int64_t k = 0; k < n_samples; k++) {
                double v = (double)(k * (s % 7 + 1)) + (double)(s % 13);
                fprintf(om, "%s %.17g %lld.%03lld\n", b.data, v,
                        (long long)((t0 + k * INTERVAL_MS) / 1000),
                        (long long)((t0 + k * INTERVAL_MS) % 1000));
            }
            vg_buf_free(&b);
        }
        fprintf(om, "# EOF\n");
        fclose(om);
    }
    printf("loaded %d series x %lld samples in %.1f s\n", N_INSTANCES * N_PATHS,
           (long long)n_samples, vg_time_mono() - lt);

    promql_engine_t *eng = promql_engine_new(NULL);
    int64_t end = t0 + (n_samples - 1) * INTERVAL_MS, start = t0 + 3600 * 1000;
    printf("%-90s %10s %10s\n", "query", "instant ms", "range ms");
    for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
        double best_i = 1e9, best_r = 1e9;
        size_t n_i = 0, n_r = 0;
        for (int rep = 0; rep < 3; rep++) {
            promql_value_t *v = NULL;
            double t = vg_time_mono();
            if (promql_query_instant(eng, db, queries[q], strlen(queries[q]), end, 0, &v, &err)) {
                fprintf(stderr, "%s: %s\n", queries[q], err.msg);
                return 1;
            }
            t = vg_time_mono() - t;
            if (t < best_i) best_i = t;
            n_i = v->n_series;
            promql_value_free(v);
            t = vg_time_mono();
            if (promql_query_range(eng, db, queries[q], strlen(queries[q]), start, end, 60000, 0,
                                   &v, &err)) {
                fprintf(stderr, "%s: %s\n", queries[q], err.msg);
                return 1;
            }
            t = vg_time_mono() - t;
            if (t < best_r) best_r = t;
            n_r = v->n_series;
            promql_value_free(v);
        }
        printf("%-90s %10.2f %10.2f   (%zu/%zu series)\n", queries[q], best_i * 1e3, best_r * 1e3,
               n_i, n_r);
    }
    promql_engine_free(eng);
    for (int s = 0; s < N_INSTANCES * N_PATHS; s++) labels_free(ls[s]);
    tsdb_close(db);
    vg_remove_all(dir, NULL);
    return 0;
}
