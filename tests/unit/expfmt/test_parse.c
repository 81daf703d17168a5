/* Unit tests for the exposition parser (parse.c), the OpenMetrics validator
 * (parse_validate.c) and the gzip inflater (parse_gzip.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "expfmt/expfmt.h"
#include "expfmt/parse_int.h"

#define OM EXPFMT_OPENMETRICS
#define TEXT EXPFMT_TEXT_004
#define VALIDATE EXPFMT_PARSE_VALIDATE

static bool str_is(expfmt_str_t s, const char *lit) {
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

#define assert_str(s, lit)                                                                         \
    do {                                                                                           \
        if (!str_is((s), (lit))) {                                                                 \
            print_error("got \"%.*s\", want \"%s\"\n", (int)(s).len, (s).ptr, (lit));              \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* Parses the whole input; returns 0 or the error, with the message in err. */
static int check(const char *in, expfmt_format_t f, unsigned flags, vg_err_t *err) {
    vg_err_t local;
    return expfmt_parse_check(in, strlen(in), f, flags, NULL, err ? err : &local);
}

static void assert_rejects(const char *in, expfmt_format_t f, unsigned flags, const char *want) {
    vg_err_t err = {0};
    int rc = check(in, f, flags, &err);
    if (rc != VG_ERR_INPUT || (want && !strstr(err.msg, want))) {
        print_error("input %s: rc=%d msg=\"%s\", want error containing \"%s\"\n", in, rc, err.msg,
                    want ? want : "");
        fail();
    }
}

static void assert_accepts(const char *in, expfmt_format_t f, unsigned flags) {
    vg_err_t err = {0};
    int rc = check(in, f, flags, &err);
    if (rc != 0) {
        print_error("input %s: %s\n", in, err.msg);
        fail();
    }
}

/* ------------------------------------------------------------ text 0.0.4 */

static void test_text_entries(void **state) {
    (void)state;
    const char *in = "# HELP http_requests_total The total \\\\ number\\n of \"requests\".\n"
                     "# TYPE http_requests_total counter\n"
                     "\n"
                     "  # a free comment\n"
                     "#no space either\n"
                     "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
                     "http_requests_total { method = \"get\" , code=\"4\\\"0\\\\0\\n\", } 3\t-5\n"
                     "metric_without_labels 12.47\n"
                     "\tnan_value NaN\n"
                     "inf_value{} +Inf\n"
                     "neg -Inf \n"
                     "exp 1.5e-3";
    expfmt_parser_t p;
    vg_err_t err = {0};
    expfmt_parser_init(&p, in, strlen(in), TEXT, 0);

    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_HELP);
    assert_str(p.name, "http_requests_total");
    assert_str(p.text, "The total \\ number\n of \"requests\".");
    assert_int_equal(p.line, 1);

    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_TYPE);
    assert_str(p.name, "http_requests_total");
    assert_int_equal(p.type, EXPFMT_COUNTER);

    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_COMMENT);
    assert_str(p.text, "a free comment");
    assert_int_equal(p.line, 4);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_COMMENT);
    assert_str(p.text, "no space either");

    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_str(p.name, "http_requests_total");
    assert_str(p.series, "http_requests_total{method=\"post\",code=\"200\"}");
    assert_int_equal(p.n_labels, 2);
    assert_str(p.labels[0].name, "method");
    assert_str(p.labels[0].value, "post");
    assert_str(p.labels[1].name, "code");
    assert_str(p.labels[1].value, "200");
    /* Unescaped strings point into the input. */
    assert_true(p.labels[1].value.ptr > in && p.labels[1].value.ptr < in + strlen(in));
    assert_true(p.value == 1027);
    assert_true(p.has_timestamp);
    assert_int_equal(p.timestamp_ms, 1395066363000);
    assert_false(p.has_exemplar);

    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_int_equal(p.n_labels, 2);
    assert_str(p.labels[0].value, "get");
    assert_str(p.labels[1].value, "4\"0\\0\n");
    assert_true(p.value == 3);
    assert_int_equal(p.timestamp_ms, -5);

    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_str(p.name, "metric_without_labels");
    assert_str(p.series, "metric_without_labels");
    assert_int_equal(p.n_labels, 0);
    assert_true(p.value == 12.47);
    assert_false(p.has_timestamp);

    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_true(isnan(p.value));
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_true(isinf(p.value) && p.value > 0);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_true(isinf(p.value) && p.value < 0);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_true(p.value == 1.5e-3);
    assert_int_equal(p.line, 12);

    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_EOF);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_EOF);
    expfmt_parser_free(&p);
}

static void test_text_types_and_names(void **state) {
    (void)state;
    assert_accepts("# TYPE a untyped\n# TYPE b summary\n# TYPE c histogram\n# TYPE d gauge \n",
                   TEXT, 0);
    assert_rejects("# TYPE a unknown\n", TEXT, 0, "invalid metric type");
    assert_rejects("# TYPE a info\n", TEXT, 0, "invalid metric type");
    assert_rejects("# TYPE a\n", TEXT, 0, "invalid metric type");
    assert_rejects("# HELP \n", TEXT, 0, "expected metric name");
    assert_accepts("# HELP a\n# HELPX is a comment\n# HELP\n", TEXT, 0);
    /* Quoted UTF-8 names, as Prometheus 3 writes them. */
    const char *in = "# HELP \"my.metric\" help\n{\"my.metric\",\"a.b\"=\"c\"} 1\n";
    expfmt_parser_t p;
    vg_err_t err;
    expfmt_parser_init(&p, in, strlen(in), TEXT, 0);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_HELP);
    assert_str(p.name, "my.metric");
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_str(p.name, "my.metric");
    assert_int_equal(p.n_labels, 1);
    assert_str(p.labels[0].name, "a.b");
    expfmt_parser_free(&p);
    assert_rejects("{\"a\",\"b\"} 1\n", TEXT, 0, "metric name set twice");
    assert_rejects("{a=\"b\"} 1\n", TEXT, 0, "metric name not set");
}

static void test_text_errors(void **state) {
    (void)state;
    assert_rejects("a{b=\"c\" 1\n", TEXT, 0, "line 1, column 9: expected ',' or '}'");
    assert_rejects("ok 1\nbad{=\"x\"} 1\n", TEXT, 0, "line 2, column 5: expected label name");
    assert_rejects("a{b=c} 1\n", TEXT, 0, "expected quoted label value");
    assert_rejects("a{b=\"c} 1\n", TEXT, 0, "unterminated label value");
    assert_rejects("a\n", TEXT, 0, "expected value");
    assert_rejects("a{b=\"c\"}\n", TEXT, 0, "expected value");
    assert_rejects("a 1 2 3\n", TEXT, 0, "expected end of line after timestamp");
    assert_rejects("a 1 1.5\n", TEXT, 0, "invalid timestamp");
    assert_rejects("a 1 99999999999999999999\n", TEXT, 0, "timestamp out of range");
    assert_rejects("a 0x10\n", TEXT, 0, "invalid value");
    assert_rejects("a 1_000\n", TEXT, 0, "invalid value");
    assert_rejects("a 1e400\n", TEXT, 0, "invalid value");
    assert_rejects("a 1\r\n", TEXT, 0, "invalid value");
    assert_rejects("a 1 # {x=\"y\"} 1\n", TEXT, 0, "invalid timestamp");
    assert_rejects("a{b=\"1\",b=\"2\"} 1\n", TEXT, 0, "duplicate label name \"b\"");
    assert_rejects("a{b=\"\xff\"} 1\n", TEXT, 0, "invalid UTF-8 in label value");
    assert_rejects("a{b=\"\xed\xa0\x80\"} 1\n", TEXT, 0, "invalid UTF-8"); /* surrogate */
    assert_rejects("a{b=\"\xc0\xaf\"} 1\n", TEXT, 0, "invalid UTF-8");     /* overlong */
    assert_rejects("# HELP a \xe2\x82\n", TEXT, 0, "invalid UTF-8 in help text");
    assert_rejects("a{b=\"1\",,c=\"2\"} 1\n", TEXT, 0, "expected label name");
    assert_rejects("a{b=\"1\" c=\"2\"} 1\n", TEXT, 0, "expected ',' or '}'");
    assert_rejects("-a 1\n", TEXT, 0, "line 1, column 1: expected metric name");
    assert_accepts("a{b=\"\xe2\x82\xac \xf0\x9f\x98\x80\"} 1\n", TEXT, 0);
    assert_accepts("a{b=\"x\\ty\"} 1\n", TEXT, 0); /* unknown escapes stay */

    /* Errors are sticky. */
    expfmt_parser_t p;
    vg_err_t err;
    const char *in = "a{\n b 1\n";
    expfmt_parser_init(&p, in, strlen(in), TEXT, 0);
    assert_int_equal(expfmt_parser_next(&p, &err), VG_ERR_INPUT);
    assert_int_equal(expfmt_parser_next(&p, &err), VG_ERR_INPUT);
    expfmt_parser_free(&p);
}

/* Many labels, several escaped: the label array and the scratch space grow
 * in the middle of a line without moving what was already parsed. */
static void test_many_labels(void **state) {
    (void)state;
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_puts(&b, "m{");
    for (int i = 0; i < 300; i++)
        vg_buf_printf(&b, "%sl%d=\"v\\\\%d\"", i ? "," : "", i, i);
    vg_buf_puts(&b, "} 7\n");
    for (int round = 0; round < 2; round++) {
        expfmt_parser_t p;
        vg_err_t err;
        expfmt_parser_init(&p, b.data, b.len, round ? OM : TEXT, 0);
        assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
        assert_int_equal(p.n_labels, 300);
        for (int i = 0; i < 300; i++) {
            char want[32];
            snprintf(want, sizeof want, "v\\%d", i);
            assert_str(p.labels[i].value, want);
        }
        expfmt_parser_free(&p);
    }
    /* A duplicate among many labels (the sorting path). */
    vg_buf_reset(&b);
    vg_buf_puts(&b, "m{");
    for (int i = 0; i < 100; i++)
        vg_buf_printf(&b, "l%d=\"x\",", i);
    vg_buf_puts(&b, "l57=\"y\"} 1\n");
    vg_err_t err;
    assert_int_equal(expfmt_parse_check(b.data, b.len, TEXT, 0, NULL, &err), VG_ERR_INPUT);
    assert_non_null(strstr(err.msg, "duplicate label name \"l57\""));
    /* The label limit. */
    vg_buf_reset(&b);
    vg_buf_puts(&b, "m{");
    for (int i = 0; i < EXPFMT_PARSE_MAX_LABELS * 2 + 1; i++)
        vg_buf_printf(&b, "l%d=\"\",", i);
    vg_buf_puts(&b, "} 1\n");
    assert_int_equal(expfmt_parse_check(b.data, b.len, TEXT, 0, NULL, &err), VG_ERR_INPUT);
    assert_non_null(strstr(err.msg, "more than"));
    vg_buf_free(&b);
}

static void test_reset_reuses(void **state) {
    (void)state;
    expfmt_parser_t p;
    vg_err_t err;
    const char *a = "x{a=\"1\\n\"} 1\n", *b = "y 2\n# EOF\n";
    expfmt_parser_init(&p, a, strlen(a), TEXT, 0);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_EOF);
    expfmt_parser_reset(&p, b, strlen(b), OM, VALIDATE);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_str(p.name, "y");
    assert_int_equal(p.line, 1);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_EOF);
    expfmt_parser_reset(&p, b, strlen(b), OM, VALIDATE); /* same family again: fine */
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_EOF);
    expfmt_parser_free(&p);
    /* Empty input: a valid, empty 0.0.4 exposition. */
    expfmt_parser_init(&p, NULL, 0, TEXT, 0);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_EOF);
    expfmt_parser_free(&p);
}

/* ----------------------------------------------------------- OpenMetrics */

static void test_om_entries(void **state) {
    (void)state;
    const char *in =
        "# TYPE foo_seconds histogram\n"
        "# UNIT foo_seconds seconds\n"
        "# HELP foo_seconds A \\\"histogram\\\" \\z\n"
        "foo_seconds_bucket{le=\"0.1\"} 8 # {trace_id=\"KOO5S4vxi0o\"} 0.067 1520879607.789\n"
        "foo_seconds_bucket{le=\"+Inf\"} 17 1520879607.7891 # {} 9\n"
        "foo_seconds_count 17 -1.5\n"
        "foo_seconds_sum 324789.3 12345678901234567890.5\n"
        "# EOF\n";
    expfmt_parser_t p;
    vg_err_t err = {0};
    expfmt_parser_init(&p, in, strlen(in), OM, 0);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_TYPE);
    assert_int_equal(p.type, EXPFMT_HISTOGRAM);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_UNIT);
    assert_str(p.name, "foo_seconds");
    assert_str(p.text, "seconds");
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_HELP);
    assert_str(p.text, "A \"histogram\" \\z");

    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_str(p.name, "foo_seconds_bucket");
    assert_int_equal(p.n_labels, 1);
    assert_str(p.labels[0].value, "0.1");
    assert_true(p.value == 8);
    assert_false(p.has_timestamp);
    assert_true(p.has_exemplar);
    assert_int_equal(p.exemplar.n_labels, 1);
    assert_str(p.exemplar.labels[0].name, "trace_id");
    assert_str(p.exemplar.labels[0].value, "KOO5S4vxi0o");
    assert_true(p.exemplar.value == 0.067);
    assert_true(p.exemplar.has_timestamp);
    assert_int_equal(p.exemplar.timestamp_ms, 1520879607789);

    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_true(p.has_timestamp);
    assert_int_equal(p.timestamp_ms, 1520879607789); /* truncated, as Prometheus */
    assert_true(p.has_exemplar);
    assert_int_equal(p.exemplar.n_labels, 0);
    assert_false(p.exemplar.has_timestamp);

    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_int_equal(p.timestamp_ms, -1500);
    assert_false(p.has_exemplar);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_SAMPLE);
    assert_int_equal(p.timestamp_ms, INT64_MAX); /* saturated */
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_EOF);
    assert_int_equal(expfmt_parser_next(&p, &err), EXPFMT_ENTRY_EOF);
    expfmt_parser_free(&p);
    /* Valid grammar, but one label group mixes samples with and without
     * timestamps. */
    assert_rejects(in, OM, VALIDATE, "line 5: timestamps present on some samples");
}

static void test_om_grammar(void **state) {
    (void)state;
    assert_rejects("a 1\n", OM, 0, "line 2, column 1: data does not end with \"# EOF\"");
    assert_rejects("a 1", OM, 0, "does not end with");
    assert_rejects("# EOF\n\n", OM, 0, "data after \"# EOF\"");
    assert_rejects("a 1\n\n# EOF\n", OM, 0, "line 2, column 1: blank line");
    assert_rejects("# a comment\n# EOF\n", OM, 0, "expected \"# HELP\"");
    assert_rejects("a  1\n# EOF\n", OM, 0, "expected value");
    assert_rejects("a{b=\"c\"}1\n# EOF\n", OM, 0, "expected ' ' before the value");
    assert_rejects("a { } 1\n# EOF\n", OM, 0, NULL);
    assert_rejects("a{ b=\"c\"} 1\n# EOF\n", OM, 0, "expected label name");
    assert_rejects("a 1 1 #  {} 1\n# EOF\n", OM, 0, NULL);
    assert_rejects("# TYPE a untyped\n# EOF\n", OM, 0, "invalid metric type");
    assert_accepts("# EOF", OM, 0);
    assert_accepts("a{b=\"c\",} 1\n# EOF\n", OM, 0); /* Prometheus allows it */
    assert_rejects("a{b=\"c\",} 1\n# EOF\n", OM, VALIDATE, "trailing comma");
    assert_accepts("{\"a.b\"} 1\n# EOF\n", OM, 0);
    assert_rejects("{\"a.b\"} 1\n# EOF\n", OM, VALIDATE, "expected metric name");
    /* NUL bytes are fine inside strings. */
    const char nul[] = "# HELP a x\0y\na{b=\"\0\"} 1\n# EOF\n";
    vg_err_t err;
    assert_int_equal(expfmt_parse_check(nul, sizeof nul - 1, OM, VALIDATE, NULL, &err), 0);
}

static void test_om_validation(void **state) {
    (void)state;
    const char *good[] = {
        "# TYPE c counter\nc_total{a=\"1\"} 1 # {t=\"x\"} 1\nc_created{a=\"1\"} 5\n"
        "c_total{a=\"2\"} 2\n# EOF\n",
        "# TYPE s stateset\ns{s=\"a\"} 1\ns{s=\"b\"} 0\n# EOF\n",
        "# TYPE i info\ni_info{v=\"1.2\"} 1\n# EOF\n",
        "# TYPE q summary\nq{quantile=\"0\"} 1\nq{quantile=\"1.0\"} 2\nq_sum 3\nq_count 2\n"
        "q_created 1\n# EOF\n",
        "# TYPE h histogram\nh_bucket{x=\"1\",le=\"1\"} 0 1\nh_bucket{x=\"1\",le=\"+Inf\"} 1 1\n"
        "h_bucket{x=\"1\",le=\"1\"} 1 2\nh_bucket{x=\"1\",le=\"+Inf\"} 2 2\n"
        "h_bucket{x=\"2\",le=\"+Inf\"} 0\nh_count{x=\"2\"} 0\nh_sum{x=\"2\"} 0\n# EOF\n",
        "# TYPE g gauge\ng 1 1\ng 2 1\ng 3 2.5\n# TYPE g2 gauge\ng2 -1\n# EOF\n",
        "a 1\nb 1\nc 1\n# EOF\n",
        "# HELP u_bytes x\n# UNIT u_bytes bytes\nu_bytes 1\n# EOF\n",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_accepts(good[i], OM, VALIDATE);

    struct {
        const char *in, *want;
    } bad[] = {
        {"# TYPE g gauge\ng 1\n# TYPE h gauge\nh 1\n# TYPE g gauge\n# EOF\n", "clashes"},
        {"a 1\nb 1\na 2\n# EOF\n", "line 3: metric family \"a\" clashes"},
        {"# TYPE c counter\nc 1\n# EOF\n", "clashes"},
        {"# TYPE c counter\nc_total 1\n# TYPE c_total gauge\n# EOF\n", "clashes"},
        {"# TYPE g gauge\ng{a=\"1\"} 1\ng{a=\"2\"} 1\ng{a=\"1\"} 1\n# EOF\n", "not together"},
        {"# TYPE g gauge\ng 1 5\ng 1 4.999\n# EOF\n", "backwards"},
        {"# TYPE c counter\nc_total +Inf\nc_total{a=\"1\"} -Inf\n# EOF\n", "negative"},
        {"# TYPE h histogram\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"1\"} 0\n"
         "h_bucket{le=\"+Inf\"} 0\n# EOF\n",
         "increasing"},
        {"# TYPE h histogram\nh_bucket{le=\"1\"} 0.5\nh_bucket{le=\"+Inf\"} 1\n# EOF\n", "integer"},
        {"# TYPE h histogram\nh_bucket{le=\"NaN\"} 0\nh_bucket{le=\"+Inf\"} 1\n# EOF\n",
         "invalid \"le\""},
        {"# TYPE h histogram\nh_bucket{le=\"Inf\"} 0\n# EOF\n", "invalid \"le\""},
        {"# TYPE h histogram\nh_bucket{le=\"1\"} 0 1\nh_bucket{le=\"+Inf\"} 1 2\n# EOF\n",
         "no +Inf bucket"},
        {"# TYPE g gauge\ng 1 # {a=\"b\"} 1\n# EOF\n", "exemplars are allowed only"},
        {"# TYPE i_u info\n# UNIT i_u u\n# EOF\n", "must not have a unit"},
        {"# TYPE g_seconds gauge\ng_seconds 1\n# UNIT g_seconds seconds\n# EOF\n",
         "after its samples"},
        {"# TYPE q summary\nq{quantile=\"+Inf\"} 1\n# EOF\n", "quantile"},
        {"# TYPE s stateset\ns{s=\"a\"} 0.5\n# EOF\n", "0 or 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_rejects(bad[i].in, OM, VALIDATE, bad[i].want);
        assert_accepts(bad[i].in, OM, 0); /* grammar alone lets them through */
    }
}

/* What the writer produces, the parser reads back, in both formats, and
 * validation accepts. */
static void test_writer_round_trip(void **state) {
    (void)state;
    for (int f = 0; f < 2; f++) {
        vg_buf_t out = VG_BUF_INIT;
        expfmt_writer_t w;
        expfmt_writer_init(&w, &out, f ? OM : TEXT);
        expfmt_write_family(&w, "node_cpu_seconds_total", EXPFMT_COUNTER,
                            "Seconds the CPUs spent in each mode.", "seconds");
        expfmt_write_samplev(&w, "node_cpu_seconds_total", 1234.5, "cpu", "0", "mode", "idle",
                             NULL);
        expfmt_write_samplev(&w, "node_cpu_seconds_total", 1e21, "cpu", "0", "mode", "a\"b\\c\nd",
                             NULL);
        expfmt_write_family(&w, "node_load1", EXPFMT_GAUGE, "1m load \\ average\n.", NULL);
        expfmt_write_samplev(&w, "node_load1", NAN, NULL);
        expfmt_writer_finish(&w);
        expfmt_parser_t p;
        vg_err_t err = {0};
        expfmt_parser_init(&p, out.data, out.len, f ? OM : TEXT, f ? VALIDATE : 0);
        int rc, samples = 0;
        while ((rc = expfmt_parser_next(&p, &err)) > 0) {
            if (rc == EXPFMT_ENTRY_HELP && str_is(p.name, "node_load1"))
                assert_str(p.text, "1m load \\ average\n.");
            if (rc != EXPFMT_ENTRY_SAMPLE) continue;
            samples++;
            if (samples == 2) {
                assert_str(p.labels[1].value, "a\"b\\c\nd");
                assert_true(p.value == 1e21);
            }
            if (samples == 3) assert_true(isnan(p.value));
        }
        if (rc < 0) print_error("%s\n%s", err.msg, out.data);
        assert_int_equal(rc, 0);
        assert_int_equal(samples, 3);
        expfmt_parser_free(&p);
        vg_buf_free(&out);
    }
}

/* ----------------------------------------------------------------- floats */

static void test_floats(void **state) {
    (void)state;
    const char *ok[] = {"0",
                        "-0",
                        "1",
                        "+1",
                        "1.",
                        ".5",
                        "-.5e-3",
                        "1e5",
                        "1E+05",
                        "0.1",
                        "3.14159",
                        "1e-400",
                        "1e308",
                        "Inf",
                        "+inf",
                        "-INF",
                        "infinity",
                        "-Infinity",
                        "NaN",
                        "nan",
                        "nAn",
                        "123456789012345678901234567890",
                        "0.30000000000000004",
                        "9007199254740993",
                        "4.9406564584124654e-324",
                        "2.2250738585072011e-308",
                        "0000000000000000000000000000000000000000001.2e-1",
                        "1e22",
                        "1e23",
                        "1.7976931348623157e308"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double v;
        if (expfmt_parse_float(ok[i], strlen(ok[i]), &v) != 0) {
            print_error("rejected %s\n", ok[i]);
            fail();
        }
        double want = strtod(ok[i], NULL);
        if (!(isnan(want) ? isnan(v) : memcmp(&v, &want, sizeof v) == 0)) {
            print_error("%s: got %.17g want %.17g\n", ok[i], v, want);
            fail();
        }
    }
    const char *bad[] = {"",      "+",    "-",     ".",      "e5",   "1e",   "1e+",     "1.2.3",
                         "0x1p3", "0x10", "1_0",   "+nan",   "-NaN", "infi", "infinit", "inf ",
                         " 1",    "1 ",   "1e309", "-1e309", "nana", "0b1",  "1f",      "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v;
        if (expfmt_parse_float(bad[i], strlen(bad[i]), &v) == 0) {
            print_error("accepted \"%s\"\n", bad[i]);
            fail();
        }
    }
    /* The fast path agrees with strtod on many random decimals. */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        char s[64];
        int digits = (int)(x % 18) + 1, point = (int)((x >> 8) % (unsigned)(digits + 1));
        int exp = (int)((x >> 16) % 61) - 30;
        uint64_t m = x >> 20;
        char ds[32];
        snprintf(ds, sizeof ds, "%0*llu", digits, (unsigned long long)(m % 1000000000000000000ull));
        ds[digits] = '\0';
        snprintf(s, sizeof s, "%.*s.%se%d", point, ds, ds + point, exp);
        double v, want = strtod(s, NULL);
        assert_int_equal(expfmt_parse_float(s, strlen(s), &v), 0);
        if (memcmp(&v, &want, sizeof v) != 0) {
            print_error("%s: got %.17g want %.17g\n", s, v, want);
            fail();
        }
    }
}

/* ------------------------------------------------------------------- gzip */

static void gzip_into(vg_buf_t *out, const char *data, size_t len) {
    z_stream zs = {0};
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    vg_buf_reserve(out, deflateBound(&zs, len));
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->data + out->len;
    zs.avail_out = (uInt)(out->cap - out->len - 1);
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out->len += zs.total_out;
    deflateEnd(&zs);
}

static void test_gzip(void **state) {
    (void)state;
    vg_buf_t plain = VG_BUF_INIT, gz = VG_BUF_INIT, out = VG_BUF_INIT;
    for (int i = 0; i < 20000; i++)
        vg_buf_printf(&plain, "metric_%d{a=\"b\"} %d\n", i % 97, i);
    gzip_into(&gz, plain.data, plain.len);
    vg_err_t err;
    assert_int_equal(expfmt_gzip_inflate(gz.data, gz.len, plain.len, &out, &err), 0);
    assert_int_equal(out.len, plain.len);
    assert_memory_equal(out.data, plain.data, plain.len);

    /* One byte short of the limit. */
    vg_buf_reset(&out);
    assert_int_equal(expfmt_gzip_inflate(gz.data, gz.len, plain.len - 1, &out, &err), VG_ERR_LIMIT);
    assert_int_equal(out.len, 0);

    /* Truncated and corrupt streams. */
    assert_int_equal(expfmt_gzip_inflate(gz.data, gz.len / 2, 1 << 30, &out, &err), VG_ERR_INPUT);
    assert_int_equal(expfmt_gzip_inflate("not gzip at all", 15, 1 << 30, &out, &err), VG_ERR_INPUT);
    assert_int_equal(expfmt_gzip_inflate("", 0, 1 << 30, &out, &err), VG_ERR_INPUT);

    /* Two members make one body. */
    size_t one = gz.len;
    gzip_into(&gz, "tail 1\n", 7);
    vg_buf_reset(&out);
    assert_int_equal(expfmt_gzip_inflate(gz.data, gz.len, SIZE_MAX, &out, &err), 0);
    assert_int_equal(out.len, plain.len + 7);
    assert_memory_equal(out.data + plain.len, "tail 1\n", 7);
    assert_true(one < gz.len);

    /* A bomb: 64 MB of zeros compress to ~64 KB; a 1 MB limit stops it. */
    size_t big = 64u << 20;
    char *zeros = calloc(1, big);
    vg_buf_reset(&gz);
    gzip_into(&gz, zeros, big);
    free(zeros);
    vg_buf_reset(&out);
    assert_int_equal(expfmt_gzip_inflate(gz.data, gz.len, 1 << 20, &out, &err), VG_ERR_LIMIT);
    assert_true(out.cap <= (2u << 20) + 65536);
    vg_buf_free(&plain);
    vg_buf_free(&gz);
    vg_buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_entries),
        cmocka_unit_test(test_text_types_and_names),
        cmocka_unit_test(test_text_errors),
        cmocka_unit_test(test_many_labels),
        cmocka_unit_test(test_reset_reuses),
        cmocka_unit_test(test_om_entries),
        cmocka_unit_test(test_om_grammar),
        cmocka_unit_test(test_om_validation),
        cmocka_unit_test(test_writer_round_trip),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_gzip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
