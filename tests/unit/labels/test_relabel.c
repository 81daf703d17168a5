/* Unit tests for relabeling (relabel.c): a table of cases with the
 * behaviour of Prometheus's model/relabel (the cases of its relabel tests,
 * rewritten here as facts about inputs and outputs), plus cases for Go's
 * Expand rules, the builder's Range order, hashmod and compile errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels/labels.h"

/* The case table leaves trailing fields (utf8, unused rule fields) out. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define MAX_RULES 4

/* A rule with Prometheus's defaults for what is left NULL/0. */
typedef struct spec {
    config_relabel_action_t action;
    const char *src[4];
    const char *sep, *regex, *target, *repl;
    uint64_t mod;
} spec_t;

typedef struct rcase {
    const char *name;
    const char *in[16]; /* name, value, ..., NULL */
    spec_t rules[MAX_RULES];
    size_t n_rules;
    const char *out; /* labels_format of the result, or NULL when dropped */
    bool utf8;
} rcase_t;

static void to_config(const spec_t *s, config_relabel_t *c) {
    memset(c, 0, sizeof *c);
    c->action = s->action;
    size_t n = 0;
    while (n < 4 && s->src[n])
        n++;
    c->source_labels = (const char **)s->src;
    c->n_source_labels = n;
    c->separator = s->sep ? s->sep : ";";
    c->regex = s->regex ? s->regex : "(.*)";
    c->target_label = s->target ? s->target : "";
    c->replacement = s->repl ? s->repl : "$1";
    c->modulus = s->mod;
}

static labels_t *make_labels(const char *const *kv) {
    labels_builder_t *b = labels_builder_new();
    for (size_t i = 0; kv[i]; i += 2)
        labels_builder_set_s(b, kv[i], kv[i + 1]);
    labels_t *ls = labels_builder_labels(b);
    labels_builder_free(b);
    return ls;
}

/* Runs one case; returns the formatted result or NULL when dropped. */
static char *run(const rcase_t *c) {
    config_relabel_t cfg[MAX_RULES];
    for (size_t i = 0; i < c->n_rules; i++)
        to_config(&c->rules[i], &cfg[i]);
    labels_relabel_t *p = NULL;
    vg_err_t err = {0};
    if (labels_relabel_compile(cfg, c->n_rules, c->utf8, &p, &err))
        fail_msg("%s: compile: %s", c->name, err.msg);
    labels_t *in = make_labels(c->in);
    labels_builder_t *b = labels_builder_new();
    labels_builder_reset(b, in);
    bool keep = labels_relabel_apply(p, b);
    char *res = NULL;
    if (keep) {
        labels_t *out = labels_builder_labels(b);
        vg_buf_t buf = VG_BUF_INIT;
        labels_format(out, &buf);
        res = vg_buf_detach(&buf);
        labels_free(out);
    }
    labels_builder_free(b);
    labels_free(in);
    labels_relabel_free(p);
    return res;
}

#define REPLACE CONFIG_RELABEL_REPLACE
#define KEEP CONFIG_RELABEL_KEEP
#define DROP CONFIG_RELABEL_DROP
#define HASHMOD CONFIG_RELABEL_HASHMOD
#define LABELMAP CONFIG_RELABEL_LABELMAP
#define LABELDROP CONFIG_RELABEL_LABELDROP
#define LABELKEEP CONFIG_RELABEL_LABELKEEP
#define LOWER CONFIG_RELABEL_LOWERCASE
#define UPPER CONFIG_RELABEL_UPPERCASE
#define KEEPEQ CONFIG_RELABEL_KEEPEQUAL
#define DROPEQ CONFIG_RELABEL_DROPEQUAL

static const rcase_t cases[] = {
    /* ---- Prometheus's relabel test cases ---- */
    {"replace with ${1}",
     {"a", "foo", "b", "bar", "c", "baz", NULL},
     {{REPLACE, {"a"}, ";", "f(.*)", "d", "ch${1}-ch${1}", 0}},
     1,
     "{a=\"foo\", b=\"bar\", c=\"baz\", d=\"choo-choo\"}"},
    {"two rules, joined sources",
     {"a", "foo", "b", "bar", "c", "baz", NULL},
     {{REPLACE, {"a", "b"}, ";", "f(.*);(.*)r", "a", "b${1}${2}m", 0},
      {REPLACE, {"c", "a"}, ";", "(b).*b(.*)ba(.*)", "d", "$1$2$2$3", 0}},
     2,
     "{a=\"boobam\", b=\"bar\", c=\"baz\", d=\"boooom\"}"},
    {"drop then replace",
     {"a", "foo", NULL},
     {{DROP, {"a"}, NULL, ".*o.*", NULL, NULL, 0},
      {REPLACE, {"a"}, ";", "f(.*)", "d", "ch$1-ch$1", 0}},
     2,
     NULL},
    {"drop",
     {"a", "foo", "b", "bar", NULL},
     {{DROP, {"a"}, NULL, ".*o.*", NULL, NULL, 0}},
     1,
     NULL},
    {"group in the middle",
     {"a", "abc", NULL},
     {{REPLACE, {"a"}, ";", ".*(b).*", "d", "$1", 0}},
     1,
     "{a=\"abc\", d=\"b\"}"},
    {"drop no match",
     {"a", "foo", NULL},
     {{DROP, {"a"}, NULL, "no-match", NULL, NULL, 0}},
     1,
     "{a=\"foo\"}"},
    {"drop is anchored",
     {"a", "foo", NULL},
     {{DROP, {"a"}, NULL, "f|o", NULL, NULL, 0}},
     1,
     "{a=\"foo\"}"},
    {"keep no match",
     {"a", "foo", NULL},
     {{KEEP, {"a"}, NULL, "no-match", NULL, NULL, 0}},
     1,
     NULL},
    {"keep match",
     {"a", "foo", NULL},
     {{KEEP, {"a"}, NULL, "f.*", NULL, NULL, 0}},
     1,
     "{a=\"foo\"}"},
    {"no replacement without a match",
     {"a", "boo", NULL},
     {{REPLACE, {"a"}, NULL, "f", "b", "bar", 0}},
     1,
     "{a=\"boo\"}"},
    {"blank replacement deletes",
     {"a", "foo", "f", "baz", NULL},
     {{REPLACE, {"a"}, NULL, "(f).*", "$1", "$2", 0}},
     1,
     "{a=\"foo\"}"},
    {"hashmod",
     {"a", "foo", "b", "bar", "c", "baz", NULL},
     {{HASHMOD, {"c"}, ";", NULL, "d", NULL, 1000}},
     1,
     "{a=\"foo\", b=\"bar\", c=\"baz\", d=\"976\"}"},
    {"hashmod with a newline",
     {"a", "foo\nbar", NULL},
     {{HASHMOD, {"a"}, ";", NULL, "b", NULL, 1000}},
     1,
     "{a=\"foo\\nbar\", b=\"734\"}"},
    {"labelmap",
     {"a", "foo", "b1", "bar", "b2", "baz", NULL},
     {{LABELMAP, {NULL}, NULL, "(b.*)", NULL, "bar_${1}", 0}},
     1,
     "{a=\"foo\", b1=\"bar\", b2=\"baz\", bar_b1=\"bar\", bar_b2=\"baz\"}"},
    {"labelmap meta",
     {"a", "foo", "__meta_my_bar", "aaa", "__meta_my_baz", "bbb", "__meta_other", "ccc", NULL},
     {{LABELMAP, {NULL}, NULL, "__meta_(my.*)", NULL, "${1}", 0}},
     1,
     "{__meta_my_bar=\"aaa\", __meta_my_baz=\"bbb\", __meta_other=\"ccc\", a=\"foo\", "
     "my_bar=\"aaa\", my_baz=\"bbb\"}"},
    {"templated target",
     {"a", "some-name-value", NULL},
     {{REPLACE, {"a"}, NULL, "some-([^-]+)-([^,]+)", "${1}", "${2}", 0}},
     1,
     "{a=\"some-name-value\", name=\"value\"}"},
    {"templated target, empty replacement",
     {"a", "some-name-value", NULL},
     {{REPLACE, {"a"}, NULL, "some-([^-]+)-([^,]+)", "${1}", "${3}", 0}},
     1,
     "{a=\"some-name-value\"}"},
    {"invalid templated targets are skipped",
     {"a", "some-name-0", NULL},
     {{REPLACE, {"a"}, NULL, "some-([^-]+)-([^,]+)", "${3}", "${1}", 0},
      {REPLACE, {"a"}, NULL, "some-([^-]+)-([^,]+)", "${3}", "${1}", 0},
      {REPLACE, {"a"}, NULL, "some-([^-]+)(-[^,]+)", "${3}", "${1}", 0}},
     3,
     "{a=\"some-name-0\"}"},
    {"sd tags",
     {"__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar", NULL},
     {{REPLACE,
       {"__meta_sd_tags"},
       NULL,
       "(?:.+,|^)path:(/[^,]+).*",
       "__metrics_path__",
       "${1}",
       0},
      {REPLACE, {"__meta_sd_tags"}, NULL, "(?:.+,|^)job:([^,]+).*", "job", "${1}", 0},
      {REPLACE, {"__meta_sd_tags"}, NULL, "(?:.+,|^)label:([^=]+)=([^,]+).*", "${1}", "${2}", 0}},
     3,
     "{__meta_sd_tags=\"path:/secret,job:some-job,label:foo=bar\", __metrics_path__=\"/secret\", "
     "foo=\"bar\", job=\"some-job\"}"},
    {"labeldrop then replace then keep",
     {"__meta_kubernetes_pod_container_port_name", "foo",
      "__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091", NULL},
     {{LABELDROP, {NULL}, NULL, "^__meta_kubernetes_pod_container_port_name$", NULL, NULL, 0},
      {REPLACE,
       {"__meta_kubernetes_pod_annotation_XXX_metrics_port"},
       NULL,
       "(.+)",
       "__meta_kubernetes_pod_container_port_name",
       "metrics",
       0},
      {KEEP, {"__meta_kubernetes_pod_container_port_name"}, NULL, "^metrics$", NULL, NULL, 0}},
     3,
     "{__meta_kubernetes_pod_annotation_XXX_metrics_port=\"9091\", "
     "__meta_kubernetes_pod_container_port_name=\"metrics\"}"},
    {"labelkeep",
     {"a", "foo", "b1", "bar", "b2", "baz", NULL},
     {{LABELKEEP, {NULL}, NULL, "(b.*)", NULL, NULL, 0}},
     1,
     "{b1=\"bar\", b2=\"baz\"}"},
    {"labeldrop",
     {"a", "foo", "b1", "bar", "b2", "baz", NULL},
     {{LABELDROP, {NULL}, NULL, "(b.*)", NULL, NULL, 0}},
     1,
     "{a=\"foo\"}"},
    {"upper and lower",
     {"foo", "bAr123Foo", NULL},
     {{UPPER, {"foo"}, NULL, NULL, "foo_uppercase", NULL, 0},
      {LOWER, {"foo"}, NULL, NULL, "foo_lowercase", NULL, 0}},
     2,
     "{foo=\"bAr123Foo\", foo_lowercase=\"bar123foo\", foo_uppercase=\"BAR123FOO\"}"},
    {"keepequal equal",
     {"__tmp_port", "1234", "__port1", "1234", "__port2", "5678", NULL},
     {{KEEPEQ, {"__tmp_port"}, NULL, NULL, "__port1", NULL, 0}},
     1,
     "{__port1=\"1234\", __port2=\"5678\", __tmp_port=\"1234\"}"},
    {"dropequal equal",
     {"__tmp_port", "1234", "__port1", "1234", "__port2", "5678", NULL},
     {{DROPEQ, {"__tmp_port"}, NULL, NULL, "__port1", NULL, 0}},
     1,
     NULL},
    {"dropequal different",
     {"__tmp_port", "1234", "__port1", "1234", "__port2", "5678", NULL},
     {{DROPEQ, {"__tmp_port"}, NULL, NULL, "__port2", NULL, 0}},
     1,
     "{__port1=\"1234\", __port2=\"5678\", __tmp_port=\"1234\"}"},
    {"keepequal different",
     {"__tmp_port", "1234", "__port1", "1234", "__port2", "5678", NULL},
     {{KEEPEQ, {"__tmp_port"}, NULL, NULL, "__port2", NULL, 0}},
     1,
     NULL},
    {"dot matches newline",
     {"a", "line1\nline2", "b", "bar", "c", "baz", NULL},
     {{REPLACE, {"a"}, ";", "line1.*line2", "d", "match${1}", 0}},
     1,
     "{a=\"line1\\nline2\", b=\"bar\", c=\"baz\", d=\"match\"}"},
    {"utf-8 source label",
     {"utf-8.label", "line1\nline2", "b", "bar", "c", "baz", NULL},
     {{REPLACE, {"utf-8.label"}, ";", "line1.*line2", "d", "match${1}", 0}},
     1,
     "{b=\"bar\", c=\"baz\", d=\"match\", \"utf-8.label\"=\"line1\\nline2\"}",
     true},
    {"utf-8 target label",
     {"a", "line1\nline2", "b", "bar", "c", "baz", NULL},
     {{REPLACE, {"a"}, ";", "line1.*line2", "utf-8.label", "match${1}", 0}},
     1,
     "{a=\"line1\\nline2\", b=\"bar\", c=\"baz\", \"utf-8.label\"=\"match\"}",
     true},
    {"utf-8 templated target label",
     {"a", "line1\nline2", "b", "bar", "c", "baz", NULL},
     {{REPLACE, {"a"}, ";", "line1.*line2", "utf-8.label${1}", "match${1}", 0}},
     1,
     "{a=\"line1\\nline2\", b=\"bar\", c=\"baz\", \"utf-8.label\"=\"match\"}",
     true},
    {"named groups",
     {"a", "line1\nline2", "b", "bar", "c", "baz", NULL},
     {{REPLACE, {"a"}, ";", "(line1).*(?<second>line2)", "label1_${1}", "val_${second}", 0},
      {REPLACE, {"a"}, ";", "(line1).*(?<second>line2)", "label2_$1", "val_$second", 0}},
     2,
     "{a=\"line1\\nline2\", b=\"bar\", c=\"baz\", label1_line1=\"val_line2\", "
     "label2_line1=\"val_line2\"}",
     true},
    {"type from name",
     {"__name__", "http_requests_total", NULL},
     {{REPLACE, {"__name__"}, NULL, ".*_total$", "__type__", "counter", 0}},
     1,
     "{__name__=\"http_requests_total\", __type__=\"counter\"}"},
    {"unit from name",
     {"__name__", "disk_usage_bytes", NULL},
     {{REPLACE, {"__name__"}, NULL, ".*_bytes$", "__unit__", "bytes", 0}},
     1,
     "{__name__=\"disk_usage_bytes\", __unit__=\"bytes\"}"},

    /* ---- further facts about Prometheus's behaviour ---- */
    {"legacy names: templated target that is not a legacy name is skipped",
     {"a", "x.y", NULL},
     {{REPLACE, {"a"}, NULL, "(.*)", "$1", "v", 0}},
     1,
     "{a=\"x.y\"}"},
    {"$1x is the group named 1x",
     {"a", "foo", "d", "old", NULL},
     {{REPLACE, {"a"}, NULL, "(f)oo", "d", "$1x", 0}},
     1,
     "{a=\"foo\"}"},
    {"${1}x",
     {"a", "foo", NULL},
     {{REPLACE, {"a"}, NULL, "(f)oo", "d", "${1}x", 0}},
     1,
     "{a=\"foo\", d=\"fx\"}"},
    {"$$ and malformed $",
     {"a", "foo", NULL},
     {{REPLACE, {"a"}, NULL, "(f)oo", "d", "$$1 costs $ or ${1", 0}},
     1,
     "{a=\"foo\", d=\"$1 costs $ or ${1\"}"},
    {"$0 is the whole value",
     {"a", "foo", NULL},
     {{REPLACE, {"a"}, NULL, "f.*", "d", "<$0>", 0}},
     1,
     "{a=\"foo\", d=\"<foo>\"}"},
    {"constant replacement with missing source",
     {"a", "foo", NULL},
     {{REPLACE, {NULL}, NULL, NULL, "env", "prod", 0}},
     1,
     "{a=\"foo\", env=\"prod\"}"},
    {"default replacement of a missing source deletes the target",
     {"a", "foo", "t", "x", NULL},
     {{REPLACE, {"missing"}, NULL, NULL, "t", NULL, 0}},
     1,
     "{a=\"foo\"}"},
    {"copy a label",
     {"__address__", "host:9100", NULL},
     {{REPLACE, {"__address__"}, NULL, NULL, "instance", NULL, 0}},
     1,
     "{__address__=\"host:9100\", instance=\"host:9100\"}"},
    {"separator and missing sources",
     {"a", "foo", "b", "bar", NULL},
     {{REPLACE, {"a", "missing", "b"}, "--", NULL, "j", NULL, 0}},
     1,
     "{a=\"foo\", b=\"bar\", j=\"foo----bar\"}"},
    {"end anchor is end of text",
     {"a", "foo\n", NULL},
     {{DROP, {"a"}, NULL, "fo+$", NULL, NULL, 0}, {DROP, {"a"}, NULL, "foo$", NULL, NULL, 0}},
     2,
     "{a=\"foo\\n\"}"},
    {"keep on joined value",
     {"job", "api", "env", "prod", NULL},
     {{KEEP, {"job", "env"}, "/", "api/(prod|staging)", NULL, NULL, 0}},
     1,
     "{env=\"prod\", job=\"api\"}"},
    {"labelmap order: base labels first, then added ones",
     {"foo_a", "1", NULL},
     {{REPLACE, {NULL}, NULL, NULL, "bar_a", "2", 0},
      {LABELMAP, {NULL}, NULL, "(?:foo|bar)_(.*)", NULL, "$1", 0}},
     2,
     "{a=\"2\", bar_a=\"2\", foo_a=\"1\"}"},
    {"labelmap visits labels as they were when it started",
     {"a_b", "1", "b", "2", NULL},
     {{LABELMAP, {NULL}, NULL, "(?:a_)?(b)", NULL, "$1", 0}},
     1,
     "{a_b=\"1\", b=\"2\"}"},
    {"labelmap to the same name",
     {"x", "1", NULL},
     {{LABELMAP, {NULL}, NULL, "x", NULL, "y", 0}},
     1,
     "{x=\"1\", y=\"1\"}"},
    {"lowercase of a missing label deletes the target",
     {"t", "x", NULL},
     {{LOWER, {"missing"}, NULL, NULL, "t", NULL, 0}},
     1,
     "{}"},
    {"unicode case",
     {"a", "\xc3\x89t\xc3\xa9", NULL},
     {{LOWER, {"a"}, NULL, NULL, "l", NULL, 0}, {UPPER, {"a"}, NULL, NULL, "u", NULL, 0}},
     2,
     "{a=\"\xc3\x89t\xc3\xa9\", l=\"\xc3\xa9t\xc3\xa9\", u=\"\xc3\x89T\xc3\x89\"}"},
    {"hashmod of nothing",
     {"a", "x", NULL},
     {{HASHMOD, {"missing"}, NULL, NULL, "shard", NULL, 10}},
     1,
     "{a=\"x\", shard=\"8\"}"},
    {"hashmod with a large modulus",
     {"a", "foo", NULL},
     {{HASHMOD, {"a"}, NULL, NULL, "h", NULL, UINT64_MAX}},
     1,
     "{a=\"foo\", h=\"17145033699835028696\"}"},
    {"labeldrop everything",
     {"a", "1", "b", "2", NULL},
     {{LABELDROP, {NULL}, NULL, ".*", NULL, NULL, 0}},
     1,
     "{}"},
    {"replace onto the source itself",
     {"a", "foo", NULL},
     {{REPLACE, {"a"}, NULL, "f(.*)", "a", "${1}${1}", 0}},
     1,
     "{a=\"oooo\"}"},
};

static void test_relabel_cases(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rcase_t *c = &cases[i];
        char *got = run(c);
        if (!c->out && got) fail_msg("%s: want dropped, got %s", c->name, got);
        if (c->out && !got) fail_msg("%s: want %s, got dropped", c->name, c->out);
        if (c->out && strcmp(got, c->out)) fail_msg("%s:\n got %s\nwant %s", c->name, got, c->out);
        free(got);
    }
}

static void test_relabel_compile_errors(void **state) {
    (void)state;
    struct {
        spec_t s;
        bool utf8;
        const char *want;
    } bad[] = {
        {{HASHMOD, {"a"}, NULL, NULL, "t", NULL, 0}, false, "requires non-zero modulus"},
        {{REPLACE, {"a"}, NULL, NULL, NULL, NULL, 0}, false, "requires 'target_label' value"},
        {{LOWER, {"a"}, NULL, NULL, NULL, NULL, 0}, false, "requires 'target_label' value"},
        {{REPLACE, {"a"}, NULL, NULL, "utf-8.label", NULL, 0},
         false,
         "\"utf-8.label\" is invalid 'target_label' for replace action"},
        {{LOWER, {"a"}, NULL, NULL, "${3}", NULL, 0},
         false,
         "\"${3}\" is invalid 'target_label' for lowercase action"},
        {{REPLACE, {"a"}, NULL, "(", "t", NULL, 0}, false, "missing closing parenthesis"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        config_relabel_t c;
        to_config(&bad[i].s, &c);
        c.line = 7;
        labels_relabel_t *p = NULL;
        vg_err_t err = {0};
        assert_int_not_equal(labels_relabel_compile(&c, 1, bad[i].utf8, &p, &err), 0);
        assert_null(p);
        if (!strstr(err.msg, bad[i].want)) fail_msg("case %zu: %s", i, err.msg);
        assert_non_null(strstr(err.msg, "line 7"));
    }
    /* With UTF-8 names, "${3}" is a valid plain target for lowercase. */
    config_relabel_t c;
    spec_t ok = {LOWER, {"a"}, NULL, NULL, "${3}", NULL, 0};
    to_config(&ok, &c);
    labels_relabel_t *p = NULL;
    assert_int_equal(labels_relabel_compile(&c, 1, true, &p, NULL), 0);
    assert_int_equal(labels_relabel_len(p), 1);
    labels_relabel_free(p);
    /* An empty program keeps everything. */
    assert_int_equal(labels_relabel_compile(NULL, 0, false, &p, NULL), 0);
    labels_builder_t *b = labels_builder_new();
    labels_builder_reset(b, NULL);
    assert_true(labels_relabel_apply(p, b));
    assert_true(labels_relabel_apply(NULL, b));
    labels_builder_free(b);
    labels_relabel_free(p);
}

/* A warm builder and program relabel many series without growing. */
static void test_relabel_reuse(void **state) {
    (void)state;
    spec_t specs[] = {
        {REPLACE, {"__address__"}, NULL, "(.*):.*", "host", NULL, 0},
        {LABELMAP, {NULL}, NULL, "__meta_(.*)", NULL, "$1", 0},
        {LABELDROP, {NULL}, NULL, "__meta_.*", NULL, NULL, 0},
        {HASHMOD, {"host"}, NULL, NULL, "shard", NULL, 4},
    };
    config_relabel_t cfg[4];
    for (int i = 0; i < 4; i++)
        to_config(&specs[i], &cfg[i]);
    labels_relabel_t *p = NULL;
    assert_int_equal(labels_relabel_compile(cfg, 4, false, &p, NULL), 0);
    labels_builder_t *b = labels_builder_new();
    for (int i = 0; i < 1000; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "10.0.%d.%d:9100", i / 256, i % 256);
        labels_t *in = labels_from_strings("__address__", addr, "__meta_zone", "eu", NULL);
        labels_builder_reset(b, in);
        assert_true(labels_relabel_apply(p, b));
        labels_t *out = labels_builder_labels(b);
        assert_int_equal(labels_len(out), 4);
        size_t n;
        const char *h = labels_get(out, "host", 4, &n);
        assert_int_equal(n, strchr(addr, ':') - addr);
        assert_memory_equal(h, addr, n);
        assert_non_null(labels_get(out, "zone", 4, NULL));
        assert_non_null(labels_get(out, "shard", 5, NULL));
        labels_free(out);
        labels_free(in);
    }
    labels_builder_free(b);
    labels_relabel_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relabel_cases),
        cmocka_unit_test(test_relabel_compile_errors),
        cmocka_unit_test(test_relabel_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
