/* Import: text 0.0.4 and OpenMetrics with timestamps into the tsdb, extra
 * labels, the default timestamp, parse errors that store nothing, samples
 * the store refuses counted and skipped, batches, gzip bodies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ingest/ingest.h"

typedef struct fixture {
    char dir[64];
    tsdb_t *db;
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/vigil-import-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    /* A long retention: the fixtures are from 2020. */
    tsdb_options_t o = {.dir = f->dir, .retention_ms = INT64_C(100) * 365 * 86400000};
    f->db = tsdb_open(&o, NULL);
    *state = f;
    return f->db ? 0 : -1;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    tsdb_close(f->db);
    vg_remove_all(f->dir, NULL);
    free(f);
    return 0;
}

/* Every series and sample, one line per series: {labels} t=v t=v. */
static char *dump(tsdb_t *db) {
    labels_matcher_t *m;
    labels_matcher_new(LABELS_MATCH_REGEXP, "__name__", 8, ".+", 2, &m, NULL);
    tsdb_series_set_t *set;
    tsdb_select(db, INT64_MIN, INT64_MAX, &m, 1, 0, &set, NULL);
    vg_buf_t b = VG_BUF_INIT;
    for (size_t i = 0; i < tsdb_series_set_len(set); i++) {
        labels_format(tsdb_series_set_labels(set, i), &b);
        tsdb_iter_t it;
        tsdb_iter_init(&it, set, i);
        while (tsdb_iter_next(&it) == 1)
            vg_buf_printf(&b, " %lld=%g", (long long)it.t, it.v);
        tsdb_iter_done(&it);
        vg_buf_putc(&b, '\n');
    }
    tsdb_series_set_free(set);
    labels_matcher_free(m);
    return vg_buf_detach(&b);
}

static int run(fixture_t *f, expfmt_format_t fmt, const char *text, size_t batch,
               ingest_import_result_t *r, vg_err_t *err) {
    labels_label_t extra[] = {{"src", "imp", 3, 3}};
    ingest_import_options_t o = {.format = fmt,
                                 .extra = extra,
                                 .n_extra = 1,
                                 .default_ts_ms = 1600000999000,
                                 .batch = batch};
    return ingest_import(f->db, text, strlen(text), &o, r, err);
}

static void test_text(void **state) {
    fixture_t *f = *state;
    ingest_import_result_t r;
    vg_err_t err = {0};
    const char *text = "# TYPE up gauge\n"
                       "up{job=\"a\",src=\"body\"} 1 1600000000000\n"
                       "up{job=\"a\",src=\"body\"} 0 1600000060000\n"
                       "other 5\n";
    assert_int_equal(run(f, EXPFMT_TEXT_004, text, 0, &r, &err), VG_OK);
    assert_int_equal(r.samples, 3);
    char *d = dump(f->db);
    /* extra_label replaces the body's label of the same name. */
    assert_string_equal(d, "{__name__=\"other\", src=\"imp\"} 1600000999000=5\n"
                           "{__name__=\"up\", job=\"a\", src=\"imp\"} 1600000000000=1 "
                           "1600000060000=0\n");
    free(d);
    /* Again: exact repeats are accepted and stored once; an older and a
     * conflicting sample are counted and skipped. */
    text = "up{job=\"a\"} 0 1600000060000\n"
           "up{job=\"a\"} 7 1600000000000\n"
           "up{job=\"a\"} 9 1600000060000\n"
           "up{job=\"a\"} 2 1600000120000\n";
    assert_int_equal(run(f, EXPFMT_TEXT_004, text, 0, &r, &err), VG_OK);
    assert_int_equal(r.samples, 2);
    assert_int_equal(r.out_of_order, 1);
    assert_int_equal(r.duplicates, 1);
    d = dump(f->db);
    assert_non_null(strstr(d, "1600000000000=1 1600000060000=0 1600000120000=2\n"));
    free(d);
}

static void test_parse_error_stores_nothing(void **state) {
    fixture_t *f = *state;
    ingest_import_result_t r;
    vg_err_t err = {0};
    const char *text = "good 1 1600000000000\n"
                       "good 2 1600000060000\n"
                       "bad{x=1} 3\n";
    assert_int_equal(run(f, EXPFMT_TEXT_004, text, 1, &r, &err), VG_ERR_INPUT);
    assert_non_null(strstr(err.msg, "line 3, column 7"));
    assert_int_equal(r.samples, 0);
    char *d = dump(f->db);
    assert_string_equal(d, "");
    free(d);
}

static void test_openmetrics_batches(void **state) {
    fixture_t *f = *state;
    ingest_import_result_t r;
    vg_err_t err = {0};
    /* promtool's backfill input: timestamps in seconds, "# EOF" last. */
    const char *text = "# HELP http_requests Requests.\n"
                       "# TYPE http_requests counter\n"
                       "http_requests_total{code=\"200\"} 1021 1565133713.989\n"
                       "http_requests_total{code=\"200\"} 1027 1565133773.989\n"
                       "http_requests_total{code=\"400\"} 1 1565133713.989\n"
                       "http_requests_total{code=\"400\"} 2 1565133773.989\n"
                       "# EOF\n";
    assert_int_equal(run(f, EXPFMT_OPENMETRICS, text, 1, &r, &err), VG_OK);
    assert_int_equal(r.samples, 4);
    char *d = dump(f->db);
    assert_string_equal(d, "{__name__=\"http_requests_total\", code=\"200\", src=\"imp\"} "
                           "1565133713989=1021 1565133773989=1027\n"
                           "{__name__=\"http_requests_total\", code=\"400\", src=\"imp\"} "
                           "1565133713989=1 1565133773989=2\n");
    free(d);
    /* Without "# EOF" it is not OpenMetrics. */
    assert_int_equal(run(f, EXPFMT_OPENMETRICS, "a 1 1\n", 0, &r, &err), VG_ERR_INPUT);
    assert_non_null(strstr(err.msg, "EOF"));
}

static void test_body(void **state) {
    fixture_t *f = *state;
    const char *text = "z{a=\"1\"} 1 1600000000\n# EOF\n";
    unsigned char gz[256];
    z_stream zs = {0};
    deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (unsigned char *)text;
    zs.avail_in = (unsigned)strlen(text);
    zs.next_out = gz;
    zs.avail_out = sizeof gz;
    deflate(&zs, Z_FINISH);
    size_t gz_len = sizeof gz - zs.avail_out;
    deflateEnd(&zs);
    ingest_import_options_t o = {.default_ts_ms = 1};
    ingest_import_result_t r;
    vg_err_t err = {0};
    assert_int_equal(ingest_import_body(f->db, "application/openmetrics-text; version=1.0.0",
                                        "gzip", gz, gz_len, 1 << 20, &o, &r, &err),
                     VG_OK);
    assert_int_equal(r.samples, 1);
    char *d = dump(f->db);
    assert_string_equal(d, "{__name__=\"z\", a=\"1\"} 1600000000000=1\n");
    free(d);
    assert_int_equal(ingest_import_body(f->db, NULL, "br", gz, gz_len, 1 << 20, &o, &r, &err),
                     INGEST_ERR_MEDIA);
    assert_int_equal(ingest_import_body(f->db, NULL, "gzip", gz, gz_len, 4, &o, &r, &err),
                     VG_ERR_LIMIT);
    assert_int_equal(ingest_import_body(f->db, NULL, "gzip", "nope", 4, 1 << 20, &o, &r, &err),
                     VG_ERR_INPUT);
    /* A label value that is not UTF-8 does not parse: nothing stored. */
    const char bad[] = "ok 1 1600000000000\nv{l=\"\xff\"} 1 1600000000000\n";
    assert_int_equal(
        ingest_import_body(f->db, "text/plain", NULL, bad, strlen(bad), 1 << 20, &o, &r, &err),
        VG_ERR_INPUT);
    assert_non_null(strstr(err.msg, "line 2"));
    assert_int_equal(r.samples, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_error_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openmetrics_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
