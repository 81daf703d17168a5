/* This file implements a micro-benchmark of the shortest round-trip float
 * formatting that the query API spends most of its time in when a result
 * is large (see docs/performance.md, "PromQL"): vg_format_float (the same
 * search as the query API's JSON writer: "%.*e" at rising precision until
 * strtod reads the value back) on three kinds of sample values, against
 * the same search by bisection of the precision, to show what a faster
 * shortest-digits routine is worth. Figures only; it checks that both give
 * the same digits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define N 200000

/* The shortest precision p in [0, 16] such that "%.*e" of v at p reads
 * back to v, by bisection (a longer correctly rounded string reads back
 * whenever a shorter one does). */
static int shortest_prec_bisect(double v) {
    char tmp[40];
    int lo = 0, hi = 16;
    snprintf(tmp, sizeof tmp, "%.16e", v);
    if (strtod(tmp, NULL) != v) return 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(tmp, sizeof tmp, "%.*e", mid, v);
        if (strtod(tmp, NULL) == v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int shortest_prec_linear(double v) {
    char tmp[40];
    int p;
    for (p = 0; p < 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p, v);
        if (strtod(tmp, NULL) == v) break;
    }
    return p;
}

static double run_format(const double *v, size_t n) {
    char out[64];
    size_t sink = 0;
    double t = vg_time_mono();
    for (size_t i = 0; i < n; i++)
        sink += vg_format_float(v[i], out);
    t = vg_time_mono() - t;
    if (sink == 0) puts("");
    return t / (double)n * 1e9;
}

static double run_prec(const double *v, size_t n, int (*f)(double)) {
    int sink = 0;
    double t = vg_time_mono();
    for (size_t i = 0; i < n; i++)
        sink += f(v[i]);
    t = vg_time_mono() - t;
    if (sink == -1) puts("");
    return t / (double)n * 1e9;
}

int main(void) {
    double *rates = vg_malloc(N * sizeof *rates), *ints = vg_malloc(N * sizeof *ints),
           *ts = vg_malloc(N * sizeof *ts);
    uint64_t x = 42;
    for (size_t i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        /* a rate: an increase over a window divided by its seconds */
        rates[i] = (double)(x >> 40) / 299.987;
        ints[i] = (double)((x >> 33) % 100000);
        ts[i] = (double)(1795312793000LL + (int64_t)i * 15000) / 1000.0;
    }
    size_t mism = 0;
    for (size_t i = 0; i < N; i++)
        mism += shortest_prec_linear(rates[i]) != shortest_prec_bisect(rates[i]);
    printf("shortest float formatting, ns per value (%d values each)\n", N);
    printf("%-28s %14s %16s %16s\n", "values", "vg_format_float", "search linear", "search bisect");
    const struct {
        const char *name;
        const double *v;
    } sets[] = {
        {"rates (17 digits)", rates}, {"integers < 1e5", ints}, {"timestamps in s (ms part)", ts}};
    for (size_t s = 0; s < 3; s++)
        printf("%-28s %14.0f %16.0f %16.0f\n", sets[s].name, run_format(sets[s].v, N),
               run_prec(sets[s].v, N, shortest_prec_linear),
               run_prec(sets[s].v, N, shortest_prec_bisect));
    printf("bisection and linear search disagree on %zu of %d rates\n", mism, N);
    free(rates);
    free(ints);
    free(ts);
    return 0;
}
