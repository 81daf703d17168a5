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
    int rc =
        promql_query_range(eng, db, q, strlen(q), s * 1000, e * 1000, step * 1000, 0, &v, &err);
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
    CHECK_INSTANT("metric_total{a=\"1\"}", 899,
                  "{__name__=\"metric_total\", a=\"1\"} => 899:100\n");
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

static void test_operators(void **state) {
    (void)state;
    CHECK_INSTANT("metric_total{a=\"2\"} - metric_total{a=\"1\"}", 600, "");
    CHECK_INSTANT("metric_total{a=\"2\"} - ignoring(a) metric_total{a=\"1\"}", 600,
                  "{} => 600:100\n");
    CHECK_INSTANT("metric_total > 150", 600, "{__name__=\"metric_total\", a=\"2\"} => 600:200\n");
    CHECK_INSTANT("metric_total > bool 150", 600, "{a=\"1\"} => 600:0\n{a=\"2\"} => 600:1\n");
    CHECK_INSTANT("2 * metric_total{a=\"1\"}", 600, "{a=\"1\"} => 600:200\n");
    CHECK_INSTANT(
        "metric_total{a=\"1\"} or gauge", 60,
        "{__name__=\"metric_total\", a=\"1\"} => 60:10\n{__name__=\"gauge\", a=\"x\"} => 60:2\n");
    CHECK_INSTANT("metric_total and on() gauge", 60,
                  "{__name__=\"metric_total\", a=\"1\"} => 60:10\n"
                  "{__name__=\"metric_total\", a=\"2\"} => 60:20\n");
    CHECK_INSTANT("metric_total unless on() gauge", 60, "");
    CHECK_INSTANT("metric_total + on() metric_total", 600,
                  "error found duplicate series for the match group {} on the right hand-side of "
                  "the operation: [{__name__=\"metric_total\", a=\"2\"}, "
                  "{__name__=\"metric_total\", a=\"1\"}];many-to-many matching not allowed: "
                  "matching labels must be unique on one side");
    CHECK_INSTANT("metric_total * on() group_left gauge", 60,
                  "{a=\"1\"} => 60:20\n{a=\"2\"} => 60:40\n");
    CHECK_INSTANT("1 + 2 * 3", 0, "scalar 7");
}

static void test_aggregations(void **state) {
    (void)state;
    CHECK_INSTANT("sum(metric_total)", 600, "{} => 600:300\n");
    CHECK_INSTANT("avg by (a) (metric_total)", 600, "{a=\"1\"} => 600:100\n{a=\"2\"} => 600:200\n");
    CHECK_INSTANT("count without (a) (metric_total)", 600, "{} => 600:2\n");
    CHECK_INSTANT("topk(1, metric_total)", 600,
                  "{__name__=\"metric_total\", a=\"2\"} => 600:200\n");
    CHECK_INSTANT("bottomk(1, metric_total)", 600,
                  "{__name__=\"metric_total\", a=\"1\"} => 600:100\n");
    CHECK_INSTANT("quantile(0.5, metric_total)", 600, "{} => 600:150\n");
    CHECK_INSTANT("stddev(metric_total)", 600, "{} => 600:50\n");
    CHECK_INSTANT("count_values(\"v\", metric_total)", 600,
                  "{v=\"100\"} => 600:1\n{v=\"200\"} => 600:1\n");
    CHECK_RANGE("sum(metric_total)", 0, 120, 60, "{} => 0:0 60:30 120:60\n");
    CHECK_RANGE("max(gauge) by (a)", 0, 180, 60, "{a=\"x\"} => 0:1 60:2\n");
}

static void test_functions(void **state) {
    (void)state;
    CHECK_INSTANT("rate(metric_total{a=\"1\"}[5m])", 600, "{a=\"1\"} => 600:0.16666666666666666\n");
    CHECK_INSTANT("increase(metric_total{a=\"1\"}[5m])", 600, "{a=\"1\"} => 600:50\n");
    CHECK_INSTANT("irate(metric_total{a=\"1\"}[5m])", 600,
                  "{a=\"1\"} => 600:0.16666666666666666\n");
    CHECK_INSTANT("delta(gauge[3m])", 119, "{a=\"x\"} => 119:3\n");
    CHECK_INSTANT("changes(gauge[3m])", 119, "{a=\"x\"} => 119:1\n");
    CHECK_INSTANT("deriv(metric_total{a=\"2\"}[5m])", 600, "{a=\"2\"} => 600:0.3333333333333333\n");
    CHECK_INSTANT("max_over_time(metric_total{a=\"1\"}[3m:1m])", 600, "{a=\"1\"} => 600:100\n");
    CHECK_INSTANT("last_over_time(gauge[5m])", 200, "{__name__=\"gauge\", a=\"x\"} => 200:2\n");
    CHECK_INSTANT("count_over_time(metric_total{a=\"1\"}[2m])", 600, "{a=\"1\"} => 600:2\n");
    CHECK_INSTANT("quantile_over_time(0.5, metric_total{a=\"1\"}[3m])", 600,
                  "{a=\"1\"} => 600:90\n");
    CHECK_INSTANT("label_replace(gauge, \"b\", \"$1\", \"a\", \"(.*)\")", 60,
                  "{__name__=\"gauge\", a=\"x\", b=\"x\"} => 60:2\n");
    CHECK_INSTANT("label_join(gauge, \"b\", \"-\", \"a\", \"a\")", 60,
                  "{__name__=\"gauge\", a=\"x\", b=\"x-x\"} => 60:2\n");
    CHECK_INSTANT("absent(nonexistent{job=\"x\"})", 60, "{job=\"x\"} => 60:1\n");
    CHECK_INSTANT("absent(gauge)", 60, "");
    CHECK_INSTANT("timestamp(gauge)", 100, "{a=\"x\"} => 100:60\n");
    CHECK_INSTANT("scalar(gauge)", 60, "scalar 2");
    CHECK_INSTANT("clamp_max(metric_total, 150)", 600,
                  "{a=\"1\"} => 600:100\n{a=\"2\"} => 600:150\n");
    CHECK_INSTANT("sort_desc(metric_total)", 600,
                  "{__name__=\"metric_total\", a=\"2\"} => 600:200\n"
                  "{__name__=\"metric_total\", a=\"1\"} => 600:100\n");
    CHECK_INSTANT("year(vector(0))", 0, "{} => 0:1970\n");
    CHECK_INSTANT("days_in_month(vector(950572800))", 0, "{} => 0:29\n");
    CHECK_RANGE("time()", 0, 120, 60, "{} => 0:0 60:60 120:120\n");
    CHECK_RANGE("rate(metric_total{a=\"1\"}[2m])", 120, 240, 60,
                "{a=\"1\"} => 120:0.16666666666666666 180:0.16666666666666666 "
                "240:0.16666666666666666\n");
}

static void test_errors_and_limits(void **state) {
    (void)state;
    CHECK_INSTANT("sum(", 0, "error 1:5: parse error: unclosed left parenthesis");
    CHECK_RANGE("metric_total[5m]", 0, 60, 60,
                "error invalid expression type \"range vector\" for range query, must be Scalar "
                "or instant Vector");
    promql_engine_opts_t eo = {.max_samples = 5};
    promql_engine_t *small = promql_engine_new(&eo);
    promql_value_t *v = NULL;
    vg_err_t err = {0};
    const char *q = "metric_total[10m]";
    assert_int_equal(promql_query_instant(small, db, q, strlen(q), 600000, 0, &v, &err),
                     PROMQL_ERR_TOO_MANY);
    assert_string_equal(err.msg, "query processing would load too many samples into memory in "
                                 "query execution");
    q = "metric_total";
    assert_int_equal(promql_query_instant(small, db, q, strlen(q), 600000, 0, &v, &err), 0);
    assert_int_equal(v->n_series, 2);
    promql_value_free(v);
    promql_engine_free(small);
    /* Annotations carry the position of the expression. */
    q = "rate(gauge[5m])";
    assert_int_equal(promql_query_instant(eng, db, q, strlen(q), 100000, 0, &v, &err), 0);
    assert_int_equal(v->n_infos, 1);
    assert_string_equal(v->infos[0], "PromQL info: metric might not be a counter, name does not "
                                     "end in _total/_sum/_count/_bucket: \"gauge\" (1:6)");
    promql_value_free(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selectors),         cmocka_unit_test(test_operators),
        cmocka_unit_test(test_aggregations),      cmocka_unit_test(test_functions),
        cmocka_unit_test(test_errors_and_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
