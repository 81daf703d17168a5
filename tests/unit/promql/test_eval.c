/* The evaluator end to end over a small store: selectors, lookback,
 * staleness, offset and @, subqueries, operators, aggregations and
 * functions, errors and limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql.h"

static char dir[64];
static tsdb_t *db;
static promql_engine_t *eng;

static void add(tsdb_appender_t *a, const char *series_labels[], int64_t t, double v) {
    labels_builder_t *b = labels_builder_new();
    for (size_t i = 0; series_labels[i]; i += 2)
        labels_builder_set_s(b, series_labels[i], series_labels[i + 1]);
    labels_t *ls = labels_builder_labels(b);
    vg_err_t err = {0};
    assert_int_equal(tsdb_appender_add(a, ls, NULL, t, v, &err), VG_OK);
    labels_free(ls);
    labels_builder_free(b);
}

static double stale_nan(void) {
    uint64_t b = 0x7ff0000000000002ULL;
    double v;
    memcpy(&v, &b, 8);
    return v;
}

/* Loads: metric{a="1"} = 0,10,...,100 every 60s from 0; metric{a="2"} =
 * 0,20,... every 60s; gauge{a="x"} 1 at 0s, 2 at 60s, stale at 120s. */
static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/vigil-eval-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    tsdb_options_t o = {.dir = dir, .retention_ms = 100LL * 365 * 24 * 3600 * 1000};
    vg_err_t err = {0};
    db = tsdb_open(&o, &err);
    assert_non_null(db);
    tsdb_appender_t *a = tsdb_appender_new(db);
    const char *m1[] = {"__name__", "metric_total", "a", "1", NULL};
    const char *m2[] = {"__name__", "metric_total", "a", "2", NULL};
    const char *g[] = {"__name__", "gauge", "a", "x", NULL};
    for (int i = 0; i <= 10; i++) {
        add(a, m1, i * 60000, i * 10);
        add(a, m2, i * 60000, i * 20);
    }
    add(a, g, 0, 1);
    add(a, g, 60000, 2);
    add(a, g, 120000, stale_nan());
    assert_int_equal(tsdb_appender_commit(a, &err), VG_OK);
    tsdb_appender_free(a);
    promql_engine_opts_t eo = {.parse = {.experimental_functions = true}};
    eng = promql_engine_new(&eo);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    promql_engine_free(eng);
    tsdb_close(db);
    vg_remove_all(dir, NULL);
    return 0;
}

/* Renders a result as text: "labels => t:v t:v\n" per series, sorted as
 * returned; scalars "scalar v". */
static char *render(const promql_value_t *v) {
    vg_buf_t b = VG_BUF_INIT;
    if (v->type == PROMQL_TYPE_SCALAR) {
        vg_buf_puts(&b, "scalar ");
        vg_buf_put_float(&b, v->scalar);
        return vg_buf_detach(&b);
    }
    if (v->type == PROMQL_TYPE_STRING) {
        vg_buf_printf(&b, "string %s", v->string);
        return vg_buf_detach(&b);
    }
    for (size_t i = 0; i < v->n_series; i++) {
        labels_format(v->series[i].labels, &b);
        vg_buf_puts(&b, " =>");
        for (size_t j = 0; j < v->series[i].n_points; j++) {
            vg_buf_printf(&b, " %lld:", (long long)v->series[i].points[j].t / 1000);
            vg_buf_put_float(&b, v->series[i].points[j].v);
        }
        vg_buf_putc(&b, '\n');
    }
    return vg_buf_detach(&b);
}

static char *instant(const char *q, int64_t t_s) {
    promql_value_t *v = NULL;
    vg_err_t err = {0};
    int rc = promql_query_instant(eng, db, q, strlen(q), t_s * 1000, 0, &v, &err);
    if (rc != 0) {
        char *s = malloc(strlen(err.msg) + 8);
        sprintf(s, "error %s", err.msg);
        return s;
    }
    char *s = render(v);
    promql_value_free(v);
    return s;
}

static char *range(const char *q, int64_t s, int64_t e, int64_t step) {
    promql_value_t *v = NULL;
    vg_err_t err = {0};
    int rc = promql_query_range(eng, db, q, strlen(q), s * 1000, e * 1000, step * 1000, 0, &v, &err);
    if (rc != 0) {
        char *r = malloc(strlen(err.msg) + 8);
        sprintf(r, "error %s", err.msg);
        return r;
    }
    char *r = render(v);
    promql_value_free(v);
    return r;
}

#define CHECK_INSTANT(q, t, want)                                                                  \
    do {                                                                                           \
        char *got_ = instant(q, t);                                                                \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

#define CHECK_RANGE(q, s, e, st, want)                                                             \
    do {                                                                                           \
        char *got_ = range(q, s, e, st);                                                           \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

static void test_selectors(void **state) {
    (void)state;
    CHECK_INSTANT("metric_total", 90,
                  "{__name__=\"metric_total\", a=\"1\"} => 90:10\n"
                  "{__name__=\"metric_total\", a=\"2\"} => 90:20\n");
    /* Lookback: 5 minutes, left-open. */
    CHECK_INSTANT("metric_total{a=\"1\"}", 899, "{__name__=\"metric_total\", a=\"1\"} => 899:100\n");
    CHECK_INSTANT("metric_total{a=\"1\"}", 900, "");
    /* Staleness ends the series. */
    CHECK_INSTANT("gauge", 119, "{__name__=\"gauge\", a=\"x\"} => 119:2\n");
    CHECK_INSTANT("gauge", 120, "");
    CHECK_INSTANT("metric_total{a=\"1\"} offset 2m", 300,
                  "{__name__=\"metric_total\", a=\"1\"} => 300:30\n");
    CHECK_INSTANT("metric_total{a=\"1\"} @ 120", 3000,
                  "{__name__=\"metric_total\", a=\"1\"} => 3000:20\n");
    CHECK_INSTANT("metric_total{a=\"1\"}[2m]", 240,
                  "{__name__=\"metric_total\", a=\"1\"} => 180:30 240:40\n");
    CHECK_INSTANT("1.5", 10, "scalar 1.5");
    CHECK_INSTANT("\"x\"", 10, "string x");
    CHECK_RANGE("gauge", 0, 180, 60, "{__name__=\"gauge\", a=\"x\"} => 0:1 60:2\n");
    CHECK_RANGE("metric_total{a=\"2\"} @ end()", 0, 120, 60,
                "{__name__=\"metric_total\", a=\"2\"} => 0:40 60:40 120:40\n");
    CHECK_RANGE("-gauge", 0, 60, 60, "{a=\"x\"} => 0:-1 60:-2\n");
    CHECK_RANGE("2", 0, 60, 60, "{} => 0:2 60:2\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selectors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
