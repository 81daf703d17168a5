/* Unit tests for label sets and the builder (labels.c) and the Unicode
 * helpers they use (unicode.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "labels/labels.h"
#include "labels/labels_int.h"

#define L(...) labels_from_strings(__VA_ARGS__, NULL)

static char *fmt(const labels_t *ls) {
    vg_buf_t b = VG_BUF_INIT;
    labels_format(ls, &b);
    return vg_buf_detach(&b);
}

static char *fmt_metric(const labels_t *ls) {
    vg_buf_t b = VG_BUF_INIT;
    labels_format_metric(ls, &b);
    return vg_buf_detach(&b);
}

static void assert_fmt(const labels_t *ls, const char *want) {
    char *s = fmt(ls);
    assert_string_equal(s, want);
    free(s);
}

static void test_sorted_unique(void **state) {
    (void)state;
    labels_t *ls = L("job", "api", "__name__", "up", "instance", "h:1");
    assert_int_equal(labels_len(ls), 3);
    labels_label_t l = labels_at(ls, 0);
    assert_int_equal(l.name_len, 8);
    assert_memory_equal(l.name, "__name__", 8);
    assert_memory_equal(labels_at(ls, 1).name, "instance", 8);
    assert_memory_equal(labels_at(ls, 2).name, "job", 3);
    size_t n = 0;
    const char *v = labels_get(ls, "job", 3, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "api", 3);
    assert_null(labels_get(ls, "jo", 2, &n));
    assert_int_equal(n, 0);
    assert_null(labels_get(ls, "zzz", 3, NULL));
    v = labels_metric_name(ls, &n);
    assert_memory_equal(v, "up", 2);
    assert_true(labels_has(ls, "instance", 8));
    assert_fmt(ls, "{__name__=\"up\", instance=\"h:1\", job=\"api\"}");
    /* Uppercase sorts before lowercase and "_", bytewise. */
    labels_t *b = L("b", "1", "B", "2", "_", "3", "a_b", "4", "a", "5");
    assert_fmt(b, "{B=\"2\", _=\"3\", a=\"5\", a_b=\"4\", b=\"1\"}");
    labels_free(b);
    labels_free(ls);
}

static void test_from_pairs(void **state) {
    (void)state;
    labels_label_t p[] = {
        {"z", "1", 1, 1}, {"a", "2", 1, 1}, {"empty", "", 5, 0}, {"m", "x\0y", 1, 3}};
    labels_t *ls = NULL;
    vg_err_t err = {0};
    assert_int_equal(labels_from_pairs(p, 4, &ls, &err), 0);
    assert_int_equal(labels_len(ls), 3); /* the empty value is dropped */
    size_t n;
    const char *v = labels_get(ls, "m", 1, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "x\0y", 3); /* values are byte strings */
    labels_free(ls);
    labels_label_t dup[] = {{"a", "1", 1, 1}, {"b", "1", 1, 1}, {"a", "2", 1, 1}};
    ls = NULL;
    assert_int_equal(labels_from_pairs(dup, 3, &ls, &err), VG_ERR_INPUT);
    assert_null(ls);
    assert_non_null(strstr(err.msg, "\"a\""));
    /* Many labels (past the insertion-sort size). */
    labels_label_t many[40];
    char names[40][8];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "l%02d", 39 - i);
        many[i] = (labels_label_t){names[i], "v", 3, 1};
    }
    assert_int_equal(labels_from_pairs(many, 40, &ls, &err), 0);
    for (size_t i = 1; i < 40; i++) {
        labels_label_t x = labels_at(ls, i - 1), y = labels_at(ls, i);
        assert_true(memcmp(x.name, y.name, 3) < 0);
    }
    labels_free(ls);
    labels_t *e = labels_new_empty();
    assert_int_equal(labels_len(e), 0);
    assert_fmt(e, "{}");
    labels_free(e);
}

/* The byte stream Prometheus hashes: name 0xff value 0xff ... */
static uint64_t stream_hash(const char *const *kv, size_t n) {
    char buf[1024];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(kv[i]);
        memcpy(buf + len, kv[i], l);
        len += l;
        buf[len++] = (char)0xff;
    }
    return XXH3_64bits(buf, len);
}

static void test_hash(void **state) {
    (void)state;
    labels_t *a = L("job", "x", "__name__", "up");
    const char *kv[] = {"__name__", "up", "job", "x"};
    assert_true(labels_hash(a) == stream_hash(kv, 4));
    labels_t *b = L("__name__", "up", "job", "x");
    assert_true(labels_hash(a) == labels_hash(b));
    labels_t *c = L("__name__", "up", "job", "y");
    assert_true(labels_hash(a) != labels_hash(c));
    /* Moving bytes between name and value changes the hash. */
    labels_t *d = L("ab", "c"), *e = L("a", "bc");
    assert_true(labels_hash(d) != labels_hash(e));
    labels_t *empty = labels_new_empty();
    assert_true(labels_hash(empty) == XXH3_64bits(NULL, 0));

    labels_t *s = L("__name__", "m", "a", "1", "b", "2", "c", "3");
    const char *by[] = {"c", "a"};
    const char *kv_by[] = {"a", "1", "c", "3"};
    assert_true(labels_hash_names(s, by, 2, false) == stream_hash(kv_by, 4));
    const char *wo[] = {"b"};
    const char *kv_wo[] = {"a", "1", "c", "3"}; /* without also drops __name__ */
    assert_true(labels_hash_names(s, wo, 1, true) == stream_hash(kv_wo, 4));
    assert_true(labels_hash_names(s, NULL, 0, false) == XXH3_64bits(NULL, 0));
    labels_free(a);
    labels_free(b);
    labels_free(c);
    labels_free(d);
    labels_free(e);
    labels_free(empty);
    labels_free(s);
}

static void test_compare_equal(void **state) {
    (void)state;
    struct {
        labels_t *a, *b;
        int want;
    } cases[] = {
        {L("a", "1"), L("a", "1"), 0},
        {L("a", "1"), L("a", "1", "b", "2"), -1},
        {L("a", "1", "b", "2"), L("a", "1"), 1},
        {L("a", "1"), L("a", "2"), -1},
        {L("a", "1"), L("b", "0"), -1},
        {L("a", "10"), L("a", "1"), 1},
        {L("ab", "1"), L("a", "1", "b", "1"), 1}, /* name "ab" > "a" */
        {L("a", "1", "c", "1"), L("a", "1", "b", "9"), 1},
        {labels_new_empty(), L("a", "1"), -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int c = labels_compare(cases[i].a, cases[i].b);
        assert_int_equal(c < 0 ? -1 : c > 0, cases[i].want);
        int r = labels_compare(cases[i].b, cases[i].a);
        assert_int_equal(r < 0 ? -1 : r > 0, -cases[i].want);
        assert_int_equal(labels_equal(cases[i].a, cases[i].b), cases[i].want == 0);
        labels_free(cases[i].a);
        labels_free(cases[i].b);
    }
    labels_t *x = L("a", "1", "b", "2");
    labels_t *y = labels_dup(x);
    assert_true(labels_equal(x, y));
    assert_int_equal(labels_byte_size(x), labels_byte_size(y));
    labels_free(x);
    labels_free(y);
}

/* labels_compare against a plain label-by-label comparison, on random sets
 * whose names and values hold 0xff bytes (the blob's separator). */
static int naive_compare(const labels_t *a, const labels_t *b) {
    size_t n = labels_len(a) < labels_len(b) ? labels_len(a) : labels_len(b);
    for (size_t i = 0; i < n; i++) {
        labels_label_t x = labels_at(a, i), y = labels_at(b, i);
        int c = lbl_strcmp(x.name, x.name_len, y.name, y.name_len);
        if (!c) c = lbl_strcmp(x.value, x.value_len, y.value, y.value_len);
        if (c) return c < 0 ? -1 : 1;
    }
    return labels_len(a) < labels_len(b) ? -1 : labels_len(a) > labels_len(b);
}

static labels_t *random_set(unsigned *seed) {
    labels_builder_t *b = labels_builder_new();
    labels_builder_reset(b, NULL);
    int n = (int)(rand_r(seed) % 4);
    for (int i = 0; i < n; i++) {
        char nm[4], v[4];
        size_t nl = 1 + (size_t)rand_r(seed) % 3, vl = 1 + (size_t)rand_r(seed) % 3;
        for (size_t k = 0; k < nl; k++)
            nm[k] = "ab\xff"[rand_r(seed) % 3];
        for (size_t k = 0; k < vl; k++)
            v[k] = "ab\xff"[rand_r(seed) % 3];
        labels_builder_set(b, nm, nl, v, vl);
    }
    labels_t *ls = labels_builder_labels(b);
    labels_builder_free(b);
    return ls;
}

static void test_compare_random(void **state) {
    (void)state;
    unsigned seed = 7;
    for (int i = 0; i < 20000; i++) {
        labels_t *a = random_set(&seed), *b = random_set(&seed);
        int c = labels_compare(a, b);
        assert_int_equal(c < 0 ? -1 : c > 0, naive_compare(a, b));
        assert_int_equal(labels_equal(a, b), naive_compare(a, b) == 0);
        labels_free(a);
        labels_free(b);
    }
}

static void test_format(void **state) {
    (void)state;
    labels_t *ls = L("__name__", "up", "job", "x");
    assert_fmt(ls, "{__name__=\"up\", job=\"x\"}");
    char *m = fmt_metric(ls);
    assert_string_equal(m, "up{job=\"x\"}");
    free(m);
    labels_free(ls);

    ls = L("__name__", "up");
    m = fmt_metric(ls);
    assert_string_equal(m, "up");
    free(m);
    labels_free(ls);

    ls = L("job", "x", "a", "y");
    m = fmt_metric(ls);
    assert_string_equal(m, "{a=\"y\", job=\"x\"}");
    free(m);
    labels_free(ls);

    ls = labels_new_empty();
    m = fmt_metric(ls);
    assert_string_equal(m, "{}");
    free(m);
    labels_free(ls);

    /* UTF-8 names are quoted, in the set and in the metric form. */
    ls = L("__name__", "my.metric", "host.name", "a", "ok", "b");
    assert_fmt(ls, "{__name__=\"my.metric\", \"host.name\"=\"a\", ok=\"b\"}");
    m = fmt_metric(ls);
    assert_string_equal(m, "{\"my.metric\", \"host.name\"=\"a\", ok=\"b\"}");
    free(m);
    labels_free(ls);

    /* Go's strconv.Quote escapes. */
    struct {
        const char *in;
        size_t len;
        const char *want;
    } q[] = {
        {"plain", 5, "\"plain\""},
        {"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
        {"\n\t\r\a\b\f\v", 7, "\"\\n\\t\\r\\a\\b\\f\\v\""},
        {"\x01\x7f", 2, "\"\\x01\\x7f\""},
        {"x\0y", 3, "\"x\\x00y\""},
        {"\xff", 1, "\"\\xff\""},
        {"\xc3", 1, "\"\\xc3\""},                   /* truncated sequence */
        {"\xed\xa0\x80", 3, "\"\\xed\\xa0\\x80\""}, /* a surrogate is invalid */
        {"\xc3\xa9t\xc3\xa9", 5, "\"\xc3\xa9t\xc3\xa9\""},
        {"\xc2\xa0", 2, "\"\\u00a0\""},                  /* no-break space: not printable in Go */
        {"\xe2\x80\xa8", 3, "\"\\u2028\""},              /* line separator */
        {"\xee\x80\x80", 3, "\"\\ue000\""},              /* private use */
        {"\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\""}, /* emoji: printable */
        {"\xf3\xa0\x80\x81", 4, "\"\\U000e0001\""},      /* language tag: format char */
        {"\xef\xbf\xbd", 3, "\"\xef\xbf\xbd\""},         /* a real U+FFFD is printable */
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        vg_buf_t b = VG_BUF_INIT;
        labels_quote(&b, q[i].in, q[i].len);
        assert_string_equal(b.data, q[i].want);
        vg_buf_free(&b);
    }
}

static void test_format_json(void **state) {
    (void)state;
    labels_t *ls = labels_from_strings("b", "<x> & \"y\"", "a", "1", NULL);
    vg_buf_t b = VG_BUF_INIT;
    labels_format_json(ls, &b);
    assert_string_equal(b.data, "{\"a\":\"1\",\"b\":\"\\u003cx\\u003e \\u0026 \\\"y\\\"\"}");
    vg_buf_reset(&b);
    labels_format_json(NULL, &b);
    assert_string_equal(b.data, "{}");
    vg_buf_free(&b);
    labels_free(ls);
}

static void test_validity(void **state) {
    (void)state;
    assert_true(labels_name_valid_legacy("a", 1));
    assert_true(labels_name_valid_legacy("_a1", 3));
    assert_false(labels_name_valid_legacy("1a", 2));
    assert_false(labels_name_valid_legacy("a:b", 3));
    assert_false(labels_name_valid_legacy("", 0));
    assert_true(labels_metric_name_valid_legacy("a:b", 3));
    assert_true(labels_metric_name_valid_legacy(":a", 2));
    assert_false(labels_metric_name_valid_legacy("a-b", 3));
    assert_true(labels_name_valid("a.b", 3, true));
    assert_false(labels_name_valid("a.b", 3, false));
    assert_false(labels_name_valid("", 0, true));
    assert_false(labels_name_valid("\xff", 1, true));
    assert_true(labels_utf8_valid("\xe2\x82\xac", 3));
    assert_false(labels_utf8_valid("\xe0\x80\x80", 3));     /* overlong */
    assert_false(labels_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(labels_utf8_valid("\xed\xbf\xbf", 3));     /* surrogate */
    assert_false(labels_utf8_valid("\xc3", 1));

    vg_err_t err = {0};
    labels_t *ok = L("__name__", "a:b", "x", "\xc3\xa9");
    assert_int_equal(labels_validate(ok, false, &err), 0);
    labels_free(ok);
    labels_t *bad_metric = L("__name__", "a-b");
    assert_int_equal(labels_validate(bad_metric, false, &err), VG_ERR_INPUT);
    assert_non_null(strstr(err.msg, "metric name"));
    assert_int_equal(labels_validate(bad_metric, true, &err), 0);
    labels_free(bad_metric);
    labels_t *bad_name = L("a.b", "1");
    assert_int_equal(labels_validate(bad_name, false, &err), VG_ERR_INPUT);
    assert_int_equal(labels_validate(bad_name, true, &err), 0);
    labels_free(bad_name);
    labels_t *bad_value = L("a", "\xff");
    assert_int_equal(labels_validate(bad_value, true, &err), VG_ERR_INPUT);
    assert_non_null(strstr(err.msg, "UTF-8"));
    labels_free(bad_value);
}

static void test_limits(void **state) {
    (void)state;
    vg_err_t err = {0};
    labels_t *ls =
        L("__name__", "http_requests_total", "path", "/\xc3\xa9t\xc3\xa9", "code", "200");
    labels_limits_t none = {0};
    assert_int_equal(labels_check_limits(ls, &none, &err), 0);
    assert_int_equal(labels_check_limits(ls, NULL, &err), 0);
    labels_limits_t count = {.max_labels = 2};
    assert_int_equal(labels_check_limits(ls, &count, &err), VG_ERR_LIMIT);
    assert_string_equal(err.msg, "label_limit exceeded (metric: http_requests_total, number of "
                                 "labels: 3, limit: 2)");
    labels_limits_t name = {.max_name_len = 4};
    assert_int_equal(labels_check_limits(ls, &name, &err), VG_ERR_LIMIT);
    assert_string_equal(err.msg, "label_name_length_limit exceeded (metric: http_requests_total, "
                                 "label name: __name__, length: 8, limit: 4)");
    /* Value length counts characters: "/été" is 4, not 6. */
    labels_limits_t v4 = {.max_value_len = 4};
    labels_t *ls2 = L("path", "/\xc3\xa9t\xc3\xa9");
    assert_int_equal(labels_check_limits(ls2, &v4, &err), 0);
    labels_limits_t v3 = {.max_value_len = 3};
    assert_int_equal(labels_check_limits(ls2, &v3, &err), VG_ERR_LIMIT);
    assert_string_equal(err.msg, "label_value_length_limit exceeded (metric: , label name: path, "
                                 "value: \"/\xc3\xa9t\xc3\xa9\", length: 4, limit: 3)");
    /* The metric name and value are cut at 50 characters. */
    char longv[120];
    memset(longv, 'x', 119);
    longv[119] = 0;
    labels_t *ls3 = L("__name__", longv, "a", longv);
    labels_limits_t v10 = {.max_value_len = 100};
    assert_int_equal(labels_check_limits(ls3, &v10, &err), VG_ERR_LIMIT);
    char want[512];
    snprintf(want, sizeof want,
             "label_value_length_limit exceeded (metric: %.50s, label name: __name__, value: "
             "\"%.50s\", length: 119, limit: 100)",
             longv, longv);
    assert_string_equal(err.msg, want);
    labels_free(ls);
    labels_free(ls2);
    labels_free(ls3);
}

static void test_builder(void **state) {
    (void)state;
    labels_t *base = L("a", "1", "b", "2", "c", "3");
    labels_builder_t *b = labels_builder_new();
    labels_builder_reset(b, base);
    labels_t *same = labels_builder_labels(b);
    assert_true(labels_equal(same, base));
    labels_free(same);

    labels_builder_set_s(b, "b", "20");
    labels_builder_set_s(b, "d", "4");
    labels_builder_del(b, "a", 1);
    labels_builder_set_s(b, "0", "zero");
    size_t n;
    assert_memory_equal(labels_builder_get(b, "b", 1, &n), "20", 2);
    assert_null(labels_builder_get(b, "a", 1, &n));
    assert_memory_equal(labels_builder_get(b, "c", 1, &n), "3", 1);
    assert_int_equal(labels_builder_len(b), 4);
    labels_t *out = labels_builder_labels(b);
    assert_fmt(out, "{\"0\"=\"zero\", b=\"20\", c=\"3\", d=\"4\"}");
    labels_free(out);

    /* Set after delete, delete after set, empty value deletes. */
    labels_builder_reset(b, base);
    labels_builder_del(b, "b", 1);
    labels_builder_set_s(b, "b", "again");
    labels_builder_set_s(b, "x", "1");
    labels_builder_del(b, "x", 1);
    labels_builder_set_s(b, "c", "");
    out = labels_builder_labels(b);
    assert_fmt(out, "{a=\"1\", b=\"again\"}");
    labels_free(out);

    /* A reset clears; an empty value in the base counts as absent. */
    labels_label_t p[] = {{"a", "1", 1, 1}};
    labels_t *one = NULL;
    assert_int_equal(labels_from_pairs(p, 1, &one, NULL), 0);
    labels_builder_reset(b, NULL);
    assert_int_equal(labels_builder_len(b), 0);
    labels_builder_set_metric_name(b, "up", 2);
    labels_builder_set_s(b, "job", "x");
    out = labels_builder_labels(b);
    assert_fmt(out, "{__name__=\"up\", job=\"x\"}");
    labels_free(out);
    labels_free(one);

    /* Lots of labels and long values through the block memory. */
    labels_builder_reset(b, NULL);
    char big[10000];
    memset(big, 'v', sizeof big);
    for (int i = 0; i < 200; i++) {
        char nm[16];
        int nl = snprintf(nm, sizeof nm, "n%03d", 199 - i);
        labels_builder_set(b, nm, (size_t)nl, big, (size_t)(i * 37 % 9000 + 1));
    }
    out = labels_builder_labels(b);
    assert_int_equal(labels_len(out), 200);
    for (size_t i = 1; i < 200; i++)
        assert_true(memcmp(labels_at(out, i - 1).name, labels_at(out, i).name, 4) < 0);
    labels_free(out);
    labels_builder_free(b);
    labels_free(base);
}

typedef struct seen {
    char names[16][16];
    char values[16][16];
    int n;
} seen_t;

static void record(labels_builder_t *b, const labels_label_t *l, void *ctx) {
    seen_t *s = ctx;
    snprintf(s->names[s->n], 16, "%.*s", (int)l->name_len, l->name);
    snprintf(s->values[s->n], 16, "%.*s", (int)l->value_len, l->value);
    s->n++;
    /* Changes made during the walk do not change what it visits. */
    labels_builder_set_s(b, "zz_added", "1");
    labels_builder_del(b, "c", 1);
}

static void test_builder_range_order(void **state) {
    (void)state;
    labels_t *base = L("a", "1", "b", "2", "c", "3");
    labels_builder_t *b = labels_builder_new();
    labels_builder_reset(b, base);
    labels_builder_set_s(b, "y", "9");
    labels_builder_set_s(b, "b", "22"); /* overridden: moves to the added list */
    labels_builder_set_s(b, "x", "8");
    seen_t s = {0};
    labels_builder_range(b, record, &s);
    assert_int_equal(s.n, 5);
    /* Untouched base labels in order, then the added ones in set order. */
    const char *want[] = {"a", "c", "y", "b", "x"};
    const char *wantv[] = {"1", "3", "9", "22", "8"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(s.names[i], want[i]);
        assert_string_equal(s.values[i], wantv[i]);
    }
    labels_t *out = labels_builder_labels(b);
    assert_fmt(out, "{a=\"1\", b=\"22\", x=\"8\", y=\"9\", zz_added=\"1\"}");
    labels_free(out);
    labels_builder_free(b);
    labels_free(base);
}

static void test_case_map(void **state) {
    (void)state;
    struct {
        const char *in;
        bool upper;
        const char *want;
    } c[] = {
        {"bAr123Foo", false, "bar123foo"},
        {"bAr123Foo", true, "BAR123FOO"},
        {"\xc3\x80\xc3\x89\xc3\x8e", false, "\xc3\xa0\xc3\xa9\xc3\xae"}, /* ÀÉÎ -> àéî */
        {"\xc3\xa0\xc3\xa9", true, "\xc3\x80\xc3\x89"},
        {"\xce\xa3\xce\x91", false, "\xcf\x83\xce\xb1"}, /* ΣΑ -> σα (no final sigma) */
        {"stra\xc3\x9f"
         "e",
         true,
         "STRA\xc3\x9f"
         "E"}, /* ß has no simple uppercase */
        {"A\xff"
         "B",
         false,
         "a\xef\xbf\xbd"
         "b"}, /* bad byte -> U+FFFD */
        {"", false, ""},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        vg_buf_t b = VG_BUF_INIT;
        lbl_case_map(&b, c[i].in, strlen(c[i].in), c[i].upper);
        assert_string_equal(b.data ? b.data : "", c[i].want);
        vg_buf_free(&b);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_unique),
        cmocka_unit_test(test_from_pairs),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_compare_equal),
        cmocka_unit_test(test_compare_random),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_json),
        cmocka_unit_test(test_validity),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_builder),
        cmocka_unit_test(test_builder_range_order),
        cmocka_unit_test(test_case_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
