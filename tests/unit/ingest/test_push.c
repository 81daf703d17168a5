/* The Pushgateway API's store: grouping keys from URL paths (with @base64
 * values), PUT/POST/DELETE semantics, the push_* gauges, consistency
 * checks worded as Pushgateway words them, protobuf and gzip bodies,
 * rendering, the state file, and what reaches the tsdb. Expected texts were
 * taken from prometheus-pushgateway 1.5.1 answering the same requests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ingest/ingest.h"

#define T0 INT64_C(1700000000000000000) /* a push time in ns */

static int push(ingest_push_t *p, tsdb_t *db, ingest_push_method_t m, const char *path,
                const char *body, int64_t now, vg_err_t *err) {
    return ingest_push_handle(p, db, m, path, NULL, NULL, body, body ? strlen(body) : 0, now, err);
}

static char *render(ingest_push_t *p) {
    vg_buf_t b = VG_BUF_INIT;
    ingest_push_render(p, &b);
    return vg_buf_detach(&b);
}

/* ------------------------------------------------------------ grouping key */

static void key_ok(const char *path, const char *expect) {
    ingest_push_key_t k;
    vg_err_t err = {0};
    int rc = ingest_push_key_parse(path, &k, &err);
    if (rc != VG_OK) fail_msg("%s: %s", path, err.msg);
    vg_buf_t b = VG_BUF_INIT;
    for (size_t i = 0; i < k.n; i++)
        vg_buf_printf(&b, "%s%s=%s", i ? "," : "", k.names[i], k.values[i]);
    assert_string_equal(b.data ? b.data : "", expect);
    vg_buf_free(&b);
    ingest_push_key_free(&k);
}

static void key_err(const char *path, int code, const char *msg) {
    ingest_push_key_t k;
    vg_err_t err = {0};
    assert_int_equal(ingest_push_key_parse(path, &k, &err), code);
    if (msg) assert_string_equal(err.msg, msg);
}

static void test_grouping_keys(void **state) {
    (void)state;
    key_ok("/metrics/job/j1", "job=j1");
    key_ok("/metrics/job/j1/", "job=j1");
    key_ok("/metrics/job/j1/instance/h1/zone/b", "instance=h1,job=j1,zone=b");
    /* base64url, with or without padding; '=' alone is the empty value. */
    key_ok("/metrics/job@base64/Zm9v/bar@base64/YmF6PQ==/e@base64/=/f/", "bar=baz=,e=,f=,job=foo");
    key_ok("/metrics/job@base64/Zm9v/path@base64/L3Zhci90bXA", "job=foo,path=/var/tmp");
    key_ok("/metrics/job/j/path@base64/L3Zhci90bXA=", "job=j,path=/var/tmp");
    key_ok("/metrics/job/j/u@base64/w7w", "job=j,u=\xc3\xbc");
    /* A job label in the path is overridden by the job segment. */
    key_ok("/metrics/job/a/job/b", "job=a");
    key_err("/metrics/job/j4/a", VG_ERR_INPUT, "odd number of components in label string \"/a\"");
    key_err("/metrics/job/j4/__a/b", VG_ERR_INPUT, "improper label name \"__a\"");
    key_err("/metrics/job/j4/a-b/b", VG_ERR_INPUT, "improper label name \"a-b\"");
    key_err("/metrics/job/j4//b", VG_ERR_INPUT, "improper label name \"\"");
    key_err("/metrics/job@base64/!!", VG_ERR_INPUT,
            "invalid base64 encoding in job name \"\": illegal base64 data at input byte 0");
    key_err("/metrics/job@base64/Zm9vY", VG_ERR_INPUT,
            "invalid base64 encoding in job name \"foo\": illegal base64 data at input byte 4");
    key_err("/metrics/job/j4/b@base64/a=b", VG_ERR_INPUT,
            "invalid base64 encoding for label b=\"a=b\": illegal base64 data at input byte 1");
    key_err("/metrics/job@base64/=", VG_ERR_INPUT, "job name is required");
    key_err("/metrics/jobs/x", VG_ERR_NOTFOUND, NULL);
    key_err("/metrics", VG_ERR_NOTFOUND, NULL);
}

/* ------------------------------------------------------------- semantics */

static void test_put_post_delete(void **state) {
    (void)state;
    ingest_push_t *p = ingest_push_open(NULL, NULL);
    vg_err_t err = {0};
    assert_int_equal(push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/j",
                          "# HELP a first\n# TYPE a gauge\na 1\nb{x=\"1\"} 2\n", T0, &err),
                     VG_OK);
    char *r = render(p);
    assert_string_equal(r, "# HELP a first\n"
                           "# TYPE a gauge\n"
                           "a{instance=\"\",job=\"j\"} 1\n"
                           "# TYPE b untyped\n"
                           "b{instance=\"\",job=\"j\",x=\"1\"} 2\n"
                           "# HELP push_failure_time_seconds Last Unix time when changing this "
                           "group in the Pushgateway failed.\n"
                           "# TYPE push_failure_time_seconds gauge\n"
                           "push_failure_time_seconds{instance=\"\",job=\"j\"} 0\n"
                           "# HELP push_time_seconds Last Unix time when changing this group in "
                           "the Pushgateway succeeded.\n"
                           "# TYPE push_time_seconds gauge\n"
                           "push_time_seconds{instance=\"\",job=\"j\"} 1.7e+09\n");
    free(r);
    /* POST replaces only the families it names. */
    assert_int_equal(push(p, NULL, INGEST_PUSH_POST, "/metrics/job/j", "a 5\nc 6\n", T0 + 1, &err),
                     VG_OK);
    r = render(p);
    assert_non_null(strstr(r, "# TYPE a untyped\na{instance=\"\",job=\"j\"} 5\n"));
    assert_non_null(strstr(r, "b{instance=\"\",job=\"j\",x=\"1\"} 2\n"));
    assert_non_null(strstr(r, "c{instance=\"\",job=\"j\"} 6\n"));
    assert_null(strstr(r, "# HELP a first"));
    free(r);
    /* PUT replaces everything. */
    assert_int_equal(push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/j", "d 7\n", T0 + 2, &err),
                     VG_OK);
    r = render(p);
    assert_null(strstr(r, "\na{"));
    assert_null(strstr(r, "\nb{"));
    assert_non_null(strstr(r, "d{instance=\"\",job=\"j\"} 7\n"));
    free(r);
    /* An empty PUT leaves the group with its push_* gauges only. */
    assert_int_equal(push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/j", "", T0 + 3, &err), VG_OK);
    r = render(p);
    assert_null(strstr(r, "\nd{"));
    assert_non_null(strstr(r, "push_time_seconds{instance=\"\",job=\"j\"}"));
    free(r);
    assert_int_equal(ingest_push_n_groups(p), 1);
    /* DELETE removes the group; deleting a missing group is fine. */
    assert_int_equal(push(p, NULL, INGEST_PUSH_DELETE, "/metrics/job/j", NULL, T0 + 4, &err),
                     VG_OK);
    assert_int_equal(push(p, NULL, INGEST_PUSH_DELETE, "/metrics/job/nope", NULL, T0 + 4, &err),
                     VG_OK);
    assert_int_equal(ingest_push_n_groups(p), 0);
    r = render(p);
    assert_string_equal(r, "");
    free(r);
    ingest_push_free(p);
}

static void test_grouping_labels_win(void **state) {
    (void)state;
    ingest_push_t *p = ingest_push_open(NULL, NULL);
    vg_err_t err = {0};
    /* The URL's labels override the body's; a body instance stays when the
     * key has none. */
    assert_int_equal(push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/j/zone/a",
                          "m{job=\"other\",zone=\"b\",instance=\"i1\"} 1\n", T0, &err),
                     VG_OK);
    char *r = render(p);
    assert_non_null(strstr(r, "m{instance=\"i1\",job=\"j\",zone=\"a\"} 1\n"));
    assert_non_null(strstr(r, "push_time_seconds{instance=\"\",job=\"j\",zone=\"a\"}"));
    free(r);
    ingest_push_free(p);
}

static void test_rejections(void **state) {
    (void)state;
    ingest_push_t *p = ingest_push_open(NULL, NULL);
    vg_err_t err = {0};
    assert_int_equal(push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/j2", "foo 1 1000\n", T0, &err),
                     VG_ERR_INPUT);
    assert_string_equal(err.msg, "pushed metrics are invalid or inconsistent with existing "
                                 "metrics: pushed metrics must not have timestamps");
    /* The failure is recorded: a group with a zero push time. */
    char *r = render(p);
    assert_non_null(strstr(r, "push_failure_time_seconds{instance=\"\",job=\"j2\"} 1.7e+09\n"));
    assert_non_null(strstr(r, "push_time_seconds{instance=\"\",job=\"j2\"} 0\n"));
    free(r);
    assert_int_equal(push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/j1", "foo 1\n", T0, &err), VG_OK);
    /* Another type for a family another group has. */
    assert_int_equal(
        push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/j5", "# TYPE foo counter\nfoo 1\n", T0, &err),
        VG_ERR_INPUT);
    assert_string_equal(err.msg,
                        "pushed metrics are invalid or inconsistent with existing metrics: "
                        "collected metric \"foo\" { label:<name:\"instance\" value:\"\" > "
                        "label:<name:\"job\" value:\"j5\" > counter:<value:1 > } is not a UNTYPED");
    /* The same series twice. */
    assert_int_equal(
        push(p, NULL, INGEST_PUSH_POST, "/metrics/job/j8/a/c", "foo 4\nfoo 5\n", T0, &err),
        VG_ERR_INPUT);
    assert_string_equal(err.msg, "pushed metrics are invalid or inconsistent with existing "
                                 "metrics: collected metric \"foo\" { label:<name:\"a\" "
                                 "value:\"c\" > label:<name:\"instance\" value:\"\" > "
                                 "label:<name:\"job\" value:\"j8\" > untyped:<value:5 > } was "
                                 "collected before with the same name and label values");
    /* A series another group already shows. */
    assert_int_equal(
        push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/j1/instance/x", "bar 1\n", T0, &err), VG_OK);
    assert_int_equal(push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/j1",
                          "foo 1\nbar{instance=\"x\"} 2\n", T0, &err),
                     VG_ERR_INPUT);
    assert_non_null(strstr(err.msg, "was collected before"));
    /* Parse errors, worded as the client libraries' parser. */
    assert_int_equal(push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/j3", "foo{ 1\n", T0, &err),
                     VG_ERR_INPUT);
    assert_string_equal(
        err.msg, "text format parsing error in line 1: invalid label name for metric \"foo\"");
    assert_int_equal(push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/j3", "a 1\nb 2", T0, &err),
                     VG_ERR_INPUT);
    assert_string_equal(err.msg,
                        "text format parsing error in line 2: unexpected end of input stream");
    assert_int_equal(
        push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/j3", "a 1\n# TYPE a gauge\n", T0, &err),
        VG_ERR_INPUT);
    assert_string_equal(err.msg, "text format parsing error in line 2: second TYPE line for metric "
                                 "name \"a\", or TYPE reported after samples");
    /* Parse errors record nothing. */
    r = render(p);
    assert_null(strstr(r, "j3"));
    free(r);
    ingest_push_free(p);
}

static void test_histogram_summary(void **state) {
    (void)state;
    ingest_push_t *p = ingest_push_open(NULL, NULL);
    vg_err_t err = {0};
    const char *body = "# HELP h help me\n# TYPE h histogram\n"
                       "h_bucket{le=\"0.5\",a=\"1\"} 1\nh_bucket{le=\"1\",a=\"1\"} 2\n"
                       "h_sum{a=\"1\"} 3\nh_count{a=\"1\"} 2\n"
                       "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n"
                       "s{quantile=\"0.9\"} 1.5\n# TYPE c counter\nc_total 5\n";
    assert_int_equal(push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/j7", body, T0, &err), VG_OK);
    char *r = render(p);
    /* A counter TYPE names c, so c_total is its own untyped family, as the
     * 0.0.4 parser of the client libraries has it. */
    const char *want = "# TYPE c_total untyped\n"
                       "c_total{instance=\"\",job=\"j7\"} 5\n"
                       "# HELP h help me\n"
                       "# TYPE h histogram\n"
                       "h_bucket{a=\"1\",instance=\"\",job=\"j7\",le=\"0.5\"} 1\n"
                       "h_bucket{a=\"1\",instance=\"\",job=\"j7\",le=\"1\"} 2\n"
                       "h_bucket{a=\"1\",instance=\"\",job=\"j7\",le=\"+Inf\"} 2\n"
                       "h_sum{a=\"1\",instance=\"\",job=\"j7\"} 3\n"
                       "h_count{a=\"1\",instance=\"\",job=\"j7\"} 2\n";
    assert_memory_equal(r, want, strlen(want));
    assert_non_null(strstr(r, "# TYPE s summary\n"
                              "s{instance=\"\",job=\"j7\",quantile=\"0.5\"} 1\n"
                              "s{instance=\"\",job=\"j7\",quantile=\"0.9\"} 1.5\n"
                              "s_sum{instance=\"\",job=\"j7\"} 2\n"
                              "s_count{instance=\"\",job=\"j7\"} 3\n"));
    free(r);
    vg_buf_t j = VG_BUF_INIT;
    ingest_push_render_json(p, &j);
    assert_non_null(strstr(j.data, "\"h\":{\"time_stamp\":\"2023-11-14T22:13:20Z\",\"type\":"
                                   "\"HISTOGRAM\",\"help\":\"help me\",\"metrics\":[{\"buckets\":"
                                   "{\"0.5\":\"1\",\"1\":\"2\"},\"count\":\"2\",\"labels\":{\"a\":"
                                   "\"1\",\"instance\":\"\",\"job\":\"j7\"},\"sum\":\"3\"}]}"));
    assert_non_null(strstr(j.data, "\"labels\":{\"job\":\"j7\"},\"last_push_successful\":true"));
    vg_buf_free(&j);
    ingest_push_free(p);
}

/* --------------------------------------------------- protobuf and gzip */

static void pb_varint(vg_buf_t *b, uint64_t v) {
    while (v >= 0x80) {
        vg_buf_putc(b, (char)(v | 0x80));
        v >>= 7;
    }
    vg_buf_putc(b, (char)v);
}

static void pb_bytes(vg_buf_t *b, unsigned field, const void *p, size_t n) {
    pb_varint(b, field << 3 | 2);
    pb_varint(b, n);
    vg_buf_append(b, p, n);
}

static void pb_double(vg_buf_t *b, unsigned field, double v) {
    pb_varint(b, field << 3 | 1);
    vg_buf_append(b, &v, 8);
}

static void test_protobuf(void **state) {
    (void)state;
    /* What client_golang's push sends: delimited MetricFamily messages. */
    vg_buf_t lp = VG_BUF_INIT, gauge = VG_BUF_INIT, metric = VG_BUF_INIT, fam = VG_BUF_INIT,
             body = VG_BUF_INIT;
    pb_bytes(&lp, 1, "code", 4);
    pb_bytes(&lp, 2, "200", 3);
    pb_double(&gauge, 1, 42.5);
    pb_bytes(&metric, 1, lp.data, lp.len);
    pb_bytes(&metric, 3, gauge.data, gauge.len); /* counter */
    pb_bytes(&fam, 1, "requests_total", 14);
    pb_bytes(&fam, 2, "Requests.", 9);
    pb_varint(&fam, 3 << 3 | 0);
    pb_varint(&fam, 0); /* COUNTER */
    pb_bytes(&fam, 4, metric.data, metric.len);
    pb_varint(&body, fam.len);
    vg_buf_append(&body, fam.data, fam.len);
    ingest_push_t *p = ingest_push_open(NULL, NULL);
    vg_err_t err = {0};
    const char *ct = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
                     "encoding=delimited";
    assert_int_equal(ingest_push_handle(p, NULL, INGEST_PUSH_PUT, "/metrics/job/go", ct, NULL,
                                        body.data, body.len, T0, &err),
                     VG_OK);
    char *r = render(p);
    assert_non_null(strstr(r, "# HELP requests_total Requests.\n# TYPE requests_total counter\n"
                              "requests_total{code=\"200\",instance=\"\",job=\"go\"} 42.5\n"));
    free(r);
    /* A truncated message is refused. */
    assert_int_equal(ingest_push_handle(p, NULL, INGEST_PUSH_PUT, "/metrics/job/go", ct, NULL,
                                        body.data, body.len - 3, T0, &err),
                     VG_ERR_INPUT);
    vg_buf_free(&lp);
    vg_buf_free(&gauge);
    vg_buf_free(&metric);
    vg_buf_free(&fam);
    vg_buf_free(&body);

    /* gzip. */
    const char *text = "zipped 1\n";
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
    assert_int_equal(ingest_push_handle(p, NULL, INGEST_PUSH_PUT, "/metrics/job/gz", NULL, "gzip",
                                        gz, gz_len, T0, &err),
                     VG_OK);
    r = render(p);
    assert_non_null(strstr(r, "zipped{instance=\"\",job=\"gz\"} 1\n"));
    free(r);
    assert_int_equal(ingest_push_handle(p, NULL, INGEST_PUSH_PUT, "/metrics/job/gz", NULL, "gzip",
                                        "zz 1", 4, T0, &err),
                     VG_ERR_INPUT);
    assert_string_equal(err.msg, "unexpected EOF");
    ingest_push_free(p);
}

/* -------------------------------------------------- state file and tsdb */

static void test_state_file(void **state) {
    (void)state;
    char dir[] = "/tmp/vigil-push-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/pushgateway.json", dir);
    vg_err_t err = {0};
    ingest_push_t *p = ingest_push_open(path, &err);
    assert_non_null(p);
    assert_int_equal(push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/a/v@base64/=",
                          "# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns_sum +Inf\ns_count 3\n"
                          "# HELP g with \\\\ and \\n\ng -1e-05\n",
                          T0, &err),
                     VG_OK);
    assert_int_equal(push(p, NULL, INGEST_PUSH_PUT, "/metrics/job/b", "x 1 5\n", T0, &err),
                     VG_ERR_INPUT);
    char *before = render(p);
    vg_buf_t jb = VG_BUF_INIT;
    ingest_push_render_json(p, &jb);
    ingest_push_free(p);
    p = ingest_push_open(path, &err);
    assert_non_null(p);
    char *after = render(p);
    assert_string_equal(before, after);
    vg_buf_t ja = VG_BUF_INIT;
    ingest_push_render_json(p, &ja);
    assert_string_equal(jb.data, ja.data);
    ingest_push_free(p);
    free(before);
    free(after);
    vg_buf_free(&ja);
    vg_buf_free(&jb);
    /* A damaged file is an error, not a crash. */
    FILE *f = fopen(path, "w");
    fputs("{\"version\":1,\"groups\":[{\"labels\":[[1]]}]", f);
    fclose(f);
    assert_null(ingest_push_open(path, &err));
    vg_remove_all(dir, NULL);
}

/* The samples of series `name` in the tsdb, as "t=v" pairs. */
static char *series_samples(tsdb_t *db, const char *name, const char *job) {
    labels_matcher_t *m[2];
    labels_matcher_new(LABELS_MATCH_EQUAL, "__name__", 8, name, strlen(name), &m[0], NULL);
    labels_matcher_new(LABELS_MATCH_EQUAL, "job", 3, job, strlen(job), &m[1], NULL);
    tsdb_series_set_t *set;
    assert_int_equal(tsdb_select(db, INT64_MIN, INT64_MAX, m, 2, 0, &set, NULL), VG_OK);
    vg_buf_t b = VG_BUF_INIT;
    for (size_t i = 0; i < tsdb_series_set_len(set); i++) {
        tsdb_iter_t it;
        tsdb_iter_init(&it, set, i);
        while (tsdb_iter_next(&it) == 1) {
            uint64_t bits;
            memcpy(&bits, &it.v, 8);
            if (bits == UINT64_C(0x7ff0000000000002))
                vg_buf_printf(&b, "%lld=stale ", (long long)it.t);
            else
                vg_buf_printf(&b, "%lld=%g ", (long long)it.t, it.v);
        }
        tsdb_iter_done(&it);
    }
    tsdb_series_set_free(set);
    labels_matcher_free(m[0]);
    labels_matcher_free(m[1]);
    return vg_buf_detach(&b);
}

static void test_tsdb(void **state) {
    (void)state;
    char dir[] = "/tmp/vigil-push-db-XXXXXX";
    assert_non_null(mkdtemp(dir));
    vg_err_t err = {0};
    tsdb_options_t o = {.dir = dir, .retention_ms = INT64_C(100) * 365 * 86400000};
    tsdb_t *db = tsdb_open(&o, &err);
    assert_non_null(db);
    ingest_push_t *p = ingest_push_open(NULL, NULL);
    const int64_t t = T0 / 1000000; /* ms */
    assert_int_equal(push(p, db, INGEST_PUSH_PUT, "/metrics/job/j", "a 1\nb 2\n", T0, &err), VG_OK);
    assert_int_equal(push(p, db, INGEST_PUSH_POST, "/metrics/job/j", "a 3\n", T0 + 1000000, &err),
                     VG_OK);
    /* Two pushes in one millisecond still get distinct times. */
    assert_int_equal(push(p, db, INGEST_PUSH_PUT, "/metrics/job/j", "a 4\n", T0 + 1000001, &err),
                     VG_OK);
    assert_int_equal(push(p, db, INGEST_PUSH_DELETE, "/metrics/job/j", NULL, T0 + 5000000, &err),
                     VG_OK);
    char *s = series_samples(db, "a", "j");
    char want[256];
    snprintf(want, sizeof want, "%lld=1 %lld=3 %lld=4 %lld=stale ", (long long)t, (long long)t + 1,
             (long long)t + 2, (long long)t + 5);
    assert_string_equal(s, want);
    free(s);
    /* b is gone after the PUT without it: a stale marker then. */
    s = series_samples(db, "b", "j");
    snprintf(want, sizeof want, "%lld=2 %lld=2 %lld=stale ", (long long)t, (long long)t + 1,
             (long long)t + 2);
    assert_string_equal(s, want);
    free(s);
    s = series_samples(db, "push_time_seconds", "j");
    assert_non_null(strstr(s, "=1.7e+09 "));
    assert_non_null(strstr(s, "=stale "));
    free(s);
    ingest_push_free(p);
    tsdb_close(db);
    vg_remove_all(dir, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grouping_keys),       cmocka_unit_test(test_put_post_delete),
        cmocka_unit_test(test_grouping_labels_win), cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_histogram_summary),   cmocka_unit_test(test_protobuf),
        cmocka_unit_test(test_state_file),          cmocka_unit_test(test_tsdb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
