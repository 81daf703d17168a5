/* Rule files: strict decoding, Prometheus 3.x's validation messages and
 * positions, promtool's check output, and the value and time formats the
 * API uses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/rules_int.h"

static int parse(const char *yaml, rules_errors_t *errs, rules_file_t **out) {
    return rules_file_parse(yaml, strlen(yaml), "t.yml", true, out, errs);
}

static void expect_errors(const char *yaml, const char *const *want) {
    rules_errors_t errs = {0};
    rules_file_t *f = NULL;
    assert_int_equal(parse(yaml, &errs, &f), VG_ERR_INPUT);
    assert_null(f);
    size_t n = 0;
    while (want[n])
        n++;
    for (size_t i = 0; i < errs.n && i < n; i++)
        assert_string_equal(errs.msgs[i], want[i]);
    assert_int_equal(errs.n, n);
    rules_errors_free(&errs);
}

static void test_good(void **state) {
    (void)state;
    const char *y = "groups:\n"
                    "- name: a\n"
                    "  interval: 30s\n"
                    "  query_offset: 1m\n"
                    "  limit: 10\n"
                    "  labels: {team: x}\n"
                    "  rules:\n"
                    "  - record: job:up:sum\n"
                    "    expr: sum by (job) (up)\n"
                    "  - alert: Down\n"
                    "    expr: up == 0\n"
                    "    for: 5m\n"
                    "    keep_firing_for: 1m\n"
                    "    labels: {severity: page}\n"
                    "    annotations: {summary: \"{{ $labels.job }} down\"}\n";
    rules_file_t *f = NULL;
    rules_errors_t errs = {0};
    assert_int_equal(parse(y, &errs, &f), VG_OK);
    assert_int_equal(rules_file_n_groups(f), 1);
    assert_int_equal(rules_file_n_rules(f), 2);
    const rules_group_def_t *g = &f->groups[0];
    assert_int_equal(g->interval_ms, 30000);
    assert_true(g->has_query_offset);
    assert_int_equal(g->query_offset_ms, 60000);
    assert_int_equal(g->limit, 10);
    assert_true(g->rules[1].is_alert);
    assert_int_equal(g->rules[1].for_ms, 300000);
    assert_int_equal(g->rules[1].keep_firing_for_ms, 60000);
    rules_file_free(f);
    /* An empty file is an empty set of groups. */
    assert_int_equal(parse("", &errs, &f), VG_OK);
    assert_int_equal(rules_file_n_groups(f), 0);
    rules_file_free(f);
}

static void test_validation(void **state) {
    (void)state;
    const char *y = "groups:\n"
                    "- name: a\n"
                    "  rules:\n"
                    "  - alert: X\n"
                    "    expr: up ==\n"
                    "    for: 1m\n"
                    "  - record: \"a{b}\"\n"
                    "    expr: up\n"
                    "    labels:\n"
                    "      __name__: x\n"
                    "  - expr: up\n"
                    "  - record: a\n"
                    "    alert: b\n"
                    "    expr: up\n"
                    "    for: 5m\n"
                    "    annotations:\n"
                    "      x: y\n"
                    "  - record: r\n"
                    "- name: a\n"
                    "  rules: []\n"
                    "- name: \"\"\n"
                    "  rules: []\n";
    const char *want[] = {
        "5:11: group \"a\", rule 1, \"X\": could not parse expression: 1:6: parse error: "
        "unexpected end of input",
        "7:13: group \"a\", rule 2, \"a{b}\": braces present in the recording rule name; should it "
        "be in expr?: a{b}",
        "group \"a\", rule 2, \"a{b}\": invalid label name: __name__",
        "0:0: 0:0: group \"a\", rule 3, \"\": one of 'record' or 'alert' must be set",
        "12:13: 13:12: group \"a\", rule 4, \"b\": only one of 'record' and 'alert' must be set",
        "12:13: group \"a\", rule 4, \"b\": invalid field 'annotations' in recording rule",
        "12:13: group \"a\", rule 4, \"b\": invalid field 'for' in recording rule",
        "0:0: group \"a\", rule 5, \"r\": field 'expr' must be set in rule",
        "19:3: groupname: \"a\" is repeated in the same file",
        "21:3: Groupname must not be empty",
        NULL};
    expect_errors(y, want);
}

static void test_decoding(void **state) {
    (void)state;
    const char *unknown[] = {"yaml: unmarshal errors:\n"
                             "  line 3: field foo not found in type rulefmt.RuleGroup\n"
                             "  line 7: field bar not found in type rulefmt.Rule",
                             NULL};
    expect_errors(
        "groups:\n- name: a\n  foo: 1\n  rules:\n  - alert: X\n    expr: up\n    bar: 2\n",
        unknown);
    const char *dur[] = {"not a valid duration string: \"xx\"",
                         "not a valid duration string: \"xx\"", NULL};
    expect_errors("groups:\n- name: a\n  rules:\n  - alert: X\n    expr: up\n    for: xx\n", dur);
    const char *syntax[] = {"yaml: line 1: did not find expected node content",
                            "yaml: line 1: did not find expected node content", NULL};
    expect_errors("groups: [\n", syntax);
    const char *types[] = {"yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `abc` into "
                           "int",
                           "yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `abc` into "
                           "int",
                           NULL};
    expect_errors("groups:\n- limit: abc\n  name: a\n", types);
    const char *dup[] = {"yaml: unmarshal errors:\n  line 3: mapping key \"name\" already defined "
                         "at line 2",
                         "yaml: unmarshal errors:\n  line 3: mapping key \"name\" already defined "
                         "at line 2",
                         NULL};
    expect_errors("groups:\n- name: a\n  name: b\n", dup);
    const char *root[] = {"yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `hello` into "
                          "rulefmt.RuleGroups",
                          NULL};
    expect_errors("hello\n", root);
}

/* Arbitrary bytes never crash the loader. */
static void test_garbage(void **state) {
    (void)state;
    unsigned seed = 12345;
    char buf[512];
    const char *alphabet = "groups:- name rules\n\t{}[]&*!|>'\"%@`#,?:-0123456789abcxyz {{ }}";
    size_t na = strlen(alphabet);
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(rand_r(&seed) % (sizeof buf - 1));
        for (size_t i = 0; i < n; i++)
            buf[i] = round % 2 ? (char)(rand_r(&seed) & 0xff) : alphabet[rand_r(&seed) % na];
        buf[n] = 0;
        rules_file_t *f = NULL;
        rules_errors_t errs = {0};
        rules_file_parse(buf, n, "g.yml", round % 3 != 0, &f, &errs);
        rules_file_free(f);
        rules_errors_free(&errs);
    }
}

static void test_check_output(void **state) {
    (void)state;
    char path[] = "/tmp/vigil-rules-check-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *y = "groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n  - record: x\n"
                    "    expr: sum(up)\n";
    assert_int_equal(write(fd, y, strlen(y)), (ssize_t)strlen(y));
    close(fd);
    char *out_s = NULL, *err_s = NULL;
    size_t out_n = 0, err_n = 0;
    FILE *out = open_memstream(&out_s, &out_n), *err = open_memstream(&err_s, &err_n);
    const char *files[] = {path};
    assert_int_equal(rules_check_files(files, 1, true, false, out, err), 0);
    assert_int_equal(rules_check_files(files, 1, true, true, out, err), 3);
    assert_int_equal(rules_check_files(files, 1, false, true, out, err), 0);
    fclose(out);
    fclose(err);
    assert_non_null(strstr(err_s, "  FAILED:\nlint error 1 duplicate rule(s) found.\nMetric: x\n"
                                  "Label(s):\nMight cause inconsistency while recording "
                                  "expressions\n"));
    assert_non_null(strstr(out_s, "  SUCCESS: 2 rules found\n\n"));
    free(out_s);
    free(err_s);
    const char *missing[] = {"/nonexistent/rules.yml"};
    out = open_memstream(&out_s, &out_n);
    err = open_memstream(&err_s, &err_n);
    assert_int_equal(rules_check_files(missing, 1, true, false, out, err), 1);
    fclose(out);
    fclose(err);
    assert_string_equal(out_s, "Checking /nonexistent/rules.yml\n");
    assert_string_equal(err_s, "  FAILED:\n/nonexistent/rules.yml: open /nonexistent/rules.yml: "
                               "no such file or directory\n");
    free(out_s);
    free(err_s);
    unlink(path);
}

static void test_formats(void **state) {
    (void)state;
    char b[64];
    rules_format_value(1, b);
    assert_string_equal(b, "1e+00");
    rules_format_value(0.45, b);
    assert_string_equal(b, "4.5e-01");
    rules_format_value(123456789, b);
    assert_string_equal(b, "1.23456789e+08");
    rules_format_value(-0.0, b);
    assert_string_equal(b, "-0e+00");
    rules_format_value(1.0 / 0.0, b);
    assert_string_equal(b, "+Inf");
    rules_format_float_exp(2, 1, b);
    assert_string_equal(b, "2E+00");
    rules_format_time(0, b);
    assert_string_equal(b, "0001-01-01T00:00:00Z");
    rules_format_time(INT64_C(1700000000123400000), b);
    assert_string_equal(b, "2023-11-14T22:13:20.1234Z");
    rules_format_time(INT64_C(1700000000000000000), b);
    assert_string_equal(b, "2023-11-14T22:13:20Z");
    assert_string_equal(rules_alert_state_name(RULES_STATE_FIRING), "firing");
    assert_string_equal(rules_health_name(RULES_HEALTH_BAD), "err");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),         cmocka_unit_test(test_validation),
        cmocka_unit_test(test_decoding),     cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_check_output), cmocka_unit_test(test_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
