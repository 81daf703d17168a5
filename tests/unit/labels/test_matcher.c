/* Unit tests for anchored regexes (regex.c) and label matchers
 * (matcher.c): Prometheus 3.x semantics, the literal fast paths checked
 * against PCRE2, Go's Expand rules, hostile patterns and UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels/labels.h"
#include "labels/labels_int.h"

static labels_regex_t *rx(const char *p) {
    labels_regex_t *re = NULL;
    vg_err_t err = {0};
    if (labels_regex_new(p, strlen(p), &re, &err)) fail_msg("%s: %s", p, err.msg);
    return re;
}

static bool m(const char *pattern, const char *s) {
    labels_regex_t *re = rx(pattern);
    bool r = labels_regex_match(re, s, strlen(s));
    labels_regex_free(re);
    return r;
}

static void test_regex_semantics(void **state) {
    (void)state;
    struct {
        const char *re, *s;
        bool want;
    } c[] = {
        /* fully anchored */
        {"foo", "foo", true},
        {"foo", "foobar", false},
        {"foo", "xfoo", false},
        {"f|o", "foo", false},
        {"fo+", "foo", true},
        {"o+", "foo", false},
        /* "$" is the end of the text, not before a final newline */
        {"foo$", "foo\n", false},
        {"fo+$", "foo\n", false},
        {"fo+\\n", "foo\n", true},
        {"^foo$", "foo", true},
        /* "." matches newline (Prometheus 3.x) */
        {"line1.*line2", "line1\nline2", true},
        {"a.b", "a\nb", true},
        {".*", "a\nb", true},
        {".+", "\n", true},
        {"(?-s:a.b)", "a\nb", false},
        /* literal fast paths */
        {"", "", true},
        {"", "a", false},
        {".*", "", true},
        {".+", "", false},
        {".+", "x", true},
        {"foo.*", "foo", true},
        {"foo.*", "foobar", true},
        {"foo.*", "fo", false},
        {"foo.+", "foo", false},
        {".*bar", "foobar", true},
        {".*bar", "bar", true},
        {".+bar", "bar", false},
        {".*oo.*", "foo", true},
        {".*oo.*", "fo", false},
        {"a.*b.*c", "abc", true},
        {"a.*b.*c", "axbyc", true},
        {"a.*b.*c", "acb", false},
        {"a.+b", "ab", false},
        {"a.+b", "axb", true},
        {"ab.*ba", "aba", false}, /* prefix and suffix may not overlap */
        {"ab.*ba", "abba", true},
        {".*-.*-.*", "a-b-c", true},
        {".*-.*-.*", "a-b", false},
        {"foo|bar|baz", "bar", true},
        {"foo|bar|baz", "ba", false},
        {"(foo|bar)", "foo", true},
        {"(?:foo|bar)", "bar", true},
        {"a||b", "", true},
        {"foo\\.bar", "foo.bar", true},
        {"foo\\.bar", "fooxbar", false},
        {"foo.bar", "fooxbar", true},
        {"\\$x|\\^y", "$x", true},
        {".*?x", "aax", true},
        /* PCRE2 */
        {"(?i)foo", "FoO", true},
        {"[a-z]+", "abc", true},
        {"[a-z]+", "abC", false},
        {"a{2,3}", "aaa", true},
        {"a{2,3}", "aaaa", false},
        {"(a|ab)(c|bcd)(d*)", "abcd", true},
        {"\\d+", "123", true},
        {"\\v", "\x0b", true},
        {"\\v", "\n", false}, /* Go's \v is the vertical tab only */
        {"[\\v]", "\x0b", true},
        {"\\Q\\v\\E", "\\v", true},
        /* UTF-8 */
        {".", "\xc3\xa9", true},
        {"..", "\xc3\xa9", false},
        {"\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9", true},
        {"\xc3\xa9.*", "\xc3\xa9t\xc3\xa9", true},
        {"\\p{Greek}+", "\xce\xb1\xce\xb2", true},
        {"(?i)\xc3\x89", "\xc3\xa9", true},
        {".*", "\xff\xfe", true}, /* fast path: any bytes, as Go */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        if (m(c[i].re, c[i].s) != c[i].want)
            fail_msg("regex %s on \"%s\": want %d", c[i].re, c[i].s, c[i].want);
    }
    /* Invalid UTF-8 in a value never crashes the PCRE2 path. */
    labels_regex_t *re = rx("[a-z\\xff]+");
    assert_false(lbl_regex_is_fast(re));
    (void)labels_regex_match(re, "ab\xff\xc3", 4);
    labels_regex_free(re);
}

static void test_regex_fast_paths_chosen(void **state) {
    (void)state;
    const char *fast[] = {"foo",   "foo|bar", "(foo|bar)", ".*",   ".+",
                          "foo.*", ".*foo",   ".*foo.*",   "a.*b", "(.*)",
                          "^foo$", "",        "(?:(a))",   "\\.x", "\xc3\xa9|x"};
    for (size_t i = 0; i < sizeof fast / sizeof fast[0]; i++) {
        labels_regex_t *re = rx(fast[i]);
        if (!lbl_regex_is_fast(re)) fail_msg("%s should take a fast path", fast[i]);
        labels_regex_free(re);
    }
    const char *slow[] = {"(?i)foo", "a|b.*", "fo?", "a(b|c)",   "(a)(b)", "[ab]",
                          "a{2}",    "\\d",   "a.",  ".*.*.+.+", "(a)|b"};
    for (size_t i = 0; i < sizeof slow / sizeof slow[0]; i++) {
        labels_regex_t *re = rx(slow[i]);
        if (lbl_regex_is_fast(re)) fail_msg("%s should use PCRE2", slow[i]);
        labels_regex_free(re);
    }
}

/* Random patterns from the fast-path subset against random strings: the
 * fast matcher and PCRE2 must agree. */
static void test_regex_fast_vs_pcre(void **state) {
    (void)state;
    const char *atoms[] = {"a", "b", "ab", ".*", ".+", "\\.", ".", "|", "^", "$", "-"};
    const char alphabet[] = "ab.-\n";
    unsigned seed = 12345;
#define RAND() (seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff)
    size_t checked = 0;
    for (int iter = 0; iter < 4000; iter++) {
        char pat[64] = "";
        int n = 1 + RAND() % 6;
        bool group = RAND() % 4 == 0;
        if (group) strcat(pat, "(");
        for (int k = 0; k < n; k++)
            strcat(pat, atoms[RAND() % (sizeof atoms / sizeof atoms[0])]);
        if (group) strcat(pat, ")");
        labels_regex_t *fast = NULL, *slow = NULL;
        vg_err_t err = {0};
        if (labels_regex_new(pat, strlen(pat), &fast, &err)) continue; /* e.g. "a.*+" */
        if (!lbl_regex_is_fast(fast)) {
            labels_regex_free(fast);
            continue;
        }
        assert_int_equal(lbl_regex_new_opts(pat, strlen(pat), true, &slow, &err), 0);
        for (int t = 0; t < 30; t++) {
            char s[16];
            int len = RAND() % 8;
            for (int j = 0; j < len; j++)
                s[j] = alphabet[RAND() % 5];
            bool a = labels_regex_match(fast, s, (size_t)len);
            bool b = labels_regex_match(slow, s, (size_t)len);
            if (a != b) fail_msg("pattern /%s/ on \"%.*s\": fast %d, pcre %d", pat, len, s, a, b);
            size_t ov1[6], ov2[6];
            int g1 = lbl_regex_groups(fast, s, (size_t)len, ov1, 3);
            int g2 = lbl_regex_groups(slow, s, (size_t)len, ov2, 3);
            assert_int_equal(g1 >= 0, g2 >= 0);
            if (g1 >= 0) {
                assert_int_equal(g1, g2);
                for (int q = 0; q < 2 * g1; q++)
                    assert_int_equal(ov1[q], ov2[q]);
            }
            checked++;
        }
        labels_regex_free(fast);
        labels_regex_free(slow);
    }
    assert_true(checked > 10000);
#undef RAND
}

static void test_regex_errors(void **state) {
    (void)state;
    labels_regex_t *re = NULL;
    vg_err_t err = {0};
    assert_int_equal(labels_regex_new("(foo", 4, &re, &err), VG_ERR_INPUT);
    assert_null(re);
    assert_non_null(strstr(err.msg, "error parsing regexp: missing closing parenthesis"));
    assert_non_null(strstr(err.msg, "`(foo`"));
    assert_int_equal(labels_regex_new("a)(b", 4, &re, &err), VG_ERR_INPUT);
    assert_int_equal(labels_regex_new("*", 1, &re, &err), VG_ERR_INPUT);
    assert_int_equal(labels_regex_new("[a", 2, &re, &err), VG_ERR_INPUT);
    assert_int_equal(labels_regex_new("\xff", 1, &re, &err), VG_ERR_INPUT);
    assert_non_null(strstr(err.msg, "invalid UTF-8"));
    assert_int_equal(labels_regex_new("\\C", 2, &re, &err), VG_ERR_INPUT);
}

/* Catastrophic backtracking is cut off by the match limits: the call
 * returns quickly with "no match" and the limit counter moves. */
static void test_regex_hostile(void **state) {
    (void)state;
    /* Each pattern backtracks exponentially on its subject: a run of "a"
     * (or word characters) that nearly matches, then a character that
     * spoils it, with every character PCRE2's start-up checks look for. */
    const struct {
        const char *re, *tail;
    } hostile[] = {
        {"(\\w+\\s?)+", "!"}, {"(a+)+b", "b!"},  {"(a|aa)+", "b"},
        {"(.*a){12}", "b"},   {"(a*)*b", "cbb"}, {"(?:a|a)*c", "c!"},
    };
    char s[4200];
    uint64_t before = labels_regex_limit_errors();
    double t0 = vg_time_mono();
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        labels_regex_t *re = rx(hostile[i].re);
        for (size_t n = 40; n <= 4000; n *= 10) {
            memset(s, 'a', n);
            strcpy(s + n, hostile[i].tail);
            assert_false(labels_regex_match(re, s, strlen(s)));
        }
        labels_regex_free(re);
    }
    double took = vg_time_mono() - t0;
    uint64_t hits = labels_regex_limit_errors() - before;
    print_message("hostile regexes: %.3f s, %llu limit hits\n", took, (unsigned long long)hits);
    assert_true(took < 10.0);
    assert_true(hits >= 6);
    /* A long subject for a pattern that recurses per character is bounded. */
    labels_regex_t *re = rx("(?:(a)|b)*c");
    char *big = malloc(200000);
    memset(big, 'a', 200000);
    assert_false(labels_regex_match(re, big, 200000));
    free(big);
    labels_regex_free(re);
}

static void expand_eq(const char *re_s, const char *s, const char *templ, const char *want) {
    labels_regex_t *re = rx(re_s);
    vg_buf_t b = VG_BUF_INIT;
    bool ok = labels_regex_expand(re, s, strlen(s), templ, strlen(templ), &b);
    if (!want) {
        assert_false(ok);
    } else {
        assert_true(ok);
        if (strcmp(b.data ? b.data : "", want))
            fail_msg("expand /%s/ \"%s\" with \"%s\": got \"%s\", want \"%s\"", re_s, s, templ,
                     b.data ? b.data : "", want);
    }
    vg_buf_free(&b);
    labels_regex_free(re);
}

static void test_expand(void **state) {
    (void)state;
    expand_eq("f(.*)", "foo", "ch${1}-ch${1}", "choo-choo");
    expand_eq("f(.*)", "foo", "ch$1-ch$1", "choo-choo");
    expand_eq("f(.*)", "foo", "$1x", ""); /* the group named "1x" */
    expand_eq("f(.*)", "foo", "${1}x", "oox");
    expand_eq("f(.*)", "foo", "$0", "foo");
    expand_eq("f(.*)", "foo", "$$1", "$1");
    expand_eq("f(.*)", "foo", "a$", "a$"); /* malformed: copied */
    expand_eq("f(.*)", "foo", "${1", "${1");
    expand_eq("f(.*)", "foo", "${}", "${}");
    expand_eq("f(.*)", "foo", "$-1", "$-1");
    expand_eq("f(.*)", "foo", "$01", ""); /* leading zero: a name */
    expand_eq("f(.*)", "foo", "$2", "");  /* no such group */
    expand_eq("f(.*)", "foo", "$999999999", "");
    expand_eq("f(.*)", "foo", "$1\xc3\xa9", ""); /* é is a letter: part of the name */
    expand_eq("f(.*)", "foo", "${1}\xc3\xa9", "oo\xc3\xa9");
    expand_eq("(?<first>f)(?P<rest>.*)", "foo", "$rest-${first}", "oo-f");
    expand_eq("(?<first>f)(?P<rest>.*)", "foo", "$nope|$2", "|oo");
    expand_eq("(a)|(b)", "b", "[$1][$2]", "[][b]"); /* a group that did not take part */
    expand_eq("(.*)", "x\ny", "<$1>", "<x\ny>");
    expand_eq("(foo|bar)", "bar", "$1$1", "barbar");
    expand_eq("foo", "bar", "x", NULL); /* no match */
}

static labels_matcher_t *mk(labels_match_type_t t, const char *name, const char *value) {
    labels_matcher_t *mm = NULL;
    vg_err_t err = {0};
    if (labels_matcher_new(t, name, strlen(name), value, strlen(value), &mm, &err))
        fail_msg("%s", err.msg);
    return mm;
}

static void test_matchers(void **state) {
    (void)state;
    labels_t *ls = labels_from_strings("__name__", "up", "job", "api", "env", "", NULL);
    struct {
        labels_match_type_t t;
        const char *name, *value;
        bool want, empty;
    } c[] = {
        {LABELS_MATCH_EQUAL, "job", "api", true, false},
        {LABELS_MATCH_EQUAL, "job", "ap", false, false},
        {LABELS_MATCH_NOT_EQUAL, "job", "api", false, true},
        {LABELS_MATCH_EQUAL, "missing", "", true, true}, /* absent == "" */
        {LABELS_MATCH_NOT_EQUAL, "missing", "", false, false},
        {LABELS_MATCH_REGEXP, "job", "a.*", true, false},
        {LABELS_MATCH_REGEXP, "job", "p", false, false},
        {LABELS_MATCH_REGEXP, "missing", ".*", true, true},
        {LABELS_MATCH_REGEXP, "missing", ".+", false, false},
        {LABELS_MATCH_NOT_REGEXP, "job", "api|web", false, true},
        {LABELS_MATCH_NOT_REGEXP, "missing", "x", true, true},
        {LABELS_MATCH_REGEXP, "env", "|prod", true, true},
        {LABELS_MATCH_REGEXP, "__name__", "(?i)UP", true, false},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        labels_matcher_t *mm = mk(c[i].t, c[i].name, c[i].value);
        if (labels_matcher_matches_labels(mm, ls) != c[i].want)
            fail_msg("case %zu: %s%s\"%s\"", i, c[i].name, labels_match_type_str(c[i].t),
                     c[i].value);
        assert_int_equal(labels_matcher_matches_empty(mm), c[i].empty);
        labels_matcher_free(mm);
    }
    labels_free(ls);

    labels_matcher_t *mm = NULL;
    vg_err_t err = {0};
    assert_int_equal(labels_matcher_new(LABELS_MATCH_REGEXP, "a", 1, "(", 1, &mm, &err),
                     VG_ERR_INPUT);
    assert_null(mm);
    assert_non_null(strstr(err.msg, "missing closing parenthesis"));

    /* Set matches and prefixes for the index. */
    mm = mk(LABELS_MATCH_REGEXP, "job", "c|a|b|a");
    const labels_label_t *set = NULL;
    assert_int_equal(labels_matcher_set_matches(mm, &set), 3);
    assert_memory_equal(set[0].name, "a", 1);
    assert_memory_equal(set[2].name, "c", 1);
    labels_matcher_free(mm);
    mm = mk(LABELS_MATCH_REGEXP, "job", "(api)");
    assert_int_equal(labels_matcher_set_matches(mm, &set), 1);
    assert_int_equal(set[0].name_len, 3);
    labels_matcher_free(mm);
    mm = mk(LABELS_MATCH_REGEXP, "job", "api.*");
    assert_int_equal(labels_matcher_set_matches(mm, &set), 0);
    size_t pl;
    const char *pre = labels_matcher_prefix(mm, &pl);
    assert_int_equal(pl, 3);
    assert_memory_equal(pre, "api", 3);
    labels_matcher_free(mm);
    mm = mk(LABELS_MATCH_EQUAL, "job", "x");
    assert_int_equal(labels_matcher_set_matches(mm, &set), 0);
    labels_matcher_free(mm);

    /* Formatting as Matcher.String(). */
    struct {
        labels_match_type_t t;
        const char *n, *v, *want;
    } f[] = {
        {LABELS_MATCH_EQUAL, "job", "a\"b", "job=\"a\\\"b\""},
        {LABELS_MATCH_NOT_REGEXP, "host.name", "x|y", "\"host.name\"!~\"x|y\""},
        {LABELS_MATCH_NOT_EQUAL, "", "", "\"\"!=\"\""},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        mm = mk(f[i].t, f[i].n, f[i].v);
        vg_buf_t b = VG_BUF_INIT;
        labels_matcher_format(mm, &b);
        assert_string_equal(b.data, f[i].want);
        vg_buf_free(&b);
        labels_matcher_free(mm);
    }
}

/* A Grafana-style alternation of thousands of values is a set lookup. */
static void test_matcher_big_alternation(void **state) {
    (void)state;
    vg_buf_t p = VG_BUF_INIT;
    for (int i = 0; i < 5000; i++)
        vg_buf_printf(&p, "%spod-%d", i ? "|" : "", i * 7);
    labels_matcher_t *mm = NULL;
    assert_int_equal(labels_matcher_new(LABELS_MATCH_REGEXP, "pod", 3, p.data, p.len, &mm, NULL),
                     0);
    const labels_label_t *set;
    assert_int_equal(labels_matcher_set_matches(mm, &set), 5000);
    assert_true(labels_matcher_matches(mm, "pod-0", 5));
    assert_true(labels_matcher_matches(mm, "pod-34993", 9));
    assert_false(labels_matcher_matches(mm, "pod-1", 5));
    labels_matcher_free(mm);
    vg_buf_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regex_semantics),    cmocka_unit_test(test_regex_fast_paths_chosen),
        cmocka_unit_test(test_regex_fast_vs_pcre), cmocka_unit_test(test_regex_errors),
        cmocka_unit_test(test_regex_hostile),      cmocka_unit_test(test_expand),
        cmocka_unit_test(test_matchers),           cmocka_unit_test(test_matcher_big_alternation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
