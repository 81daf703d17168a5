/* Unit tests for the PromQL lexer, parser, checker and printer: tables of
 * valid and invalid queries with Prometheus's printed forms and messages,
 * our own cases for the limits and vigil's deviations, the tree helpers,
 * every query of the conformance suites, and a replay of the fuzz corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql.h"

#include "cases.inc"

static const promql_parse_opts_t all_on = {true, true, true, true, 0, 0};
static const promql_parse_opts_t upstream_test = {true, true, true, false, 0, 0};

/* Parses, prints, parses the print again and checks the trees are equal;
 * returns the printed form (caller frees) or NULL with the error in err. */
static char *roundtrip(const char *q, size_t len, const promql_parse_opts_t *o, vg_err_t *err) {
    promql_ast_t *a = NULL, *b = NULL;
    if (promql_parse(q, len, o, &a, NULL, err) != 0) return NULL;
    char *s = promql_format(a->root);
    vg_err_t err2;
    if (promql_parse(s, strlen(s), o, &b, NULL, &err2) != 0) {
        print_message("reparse of %s (from %s) failed: %s\n", s, q, err2.msg);
        fail();
    }
    if (!promql_expr_equal(a->root, b->root)) {
        print_message("reparse of %s (from %s) differs\n", s, q);
        fail();
    }
    char *s2 = promql_format(b->root);
    assert_string_equal(s, s2);
    free(s2);
    promql_ast_free(a);
    promql_ast_free(b);
    return s;
}

static void expect_print(const char *in, const char *out, const promql_parse_opts_t *o) {
    vg_err_t err;
    char *s = roundtrip(in, strlen(in), o, &err);
    if (!s) print_message("%s: %s\n", in, err.msg);
    assert_non_null(s);
    if (strcmp(s, out) != 0) print_message("input: %s\n", in);
    assert_string_equal(s, out);
    free(s);
}

static void expect_error(const char *in, const char *msg, const promql_parse_opts_t *o) {
    promql_ast_t *a = NULL;
    vg_err_t err;
    int rc = promql_parse(in, strlen(in), o, &a, NULL, &err);
    if (rc == 0) {
        print_message("%s parsed, expected %s\n", in, msg);
        fail();
    }
    assert_null(a);
    if (strcmp(err.msg, msg) != 0) print_message("input: %s\n", in);
    assert_string_equal(err.msg, msg);
}

static void test_upstream_errors(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
        expect_error(bad_cases[i].in, bad_cases[i].err, &upstream_test);
}

static void test_upstream_valid(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
        vg_err_t err;
        char *s = roundtrip(ok_cases[i], strlen(ok_cases[i]), &upstream_test, &err);
        if (!s) print_message("%s: %s\n", ok_cases[i], err.msg);
        assert_non_null(s);
        free(s);
    }
}

static void test_upstream_print(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof print_cases / sizeof print_cases[0]; i++)
        expect_print(print_cases[i].in, print_cases[i].out, &all_on);
}

/* Our own cases: printing details, defaults, limits and deviations. */
static void test_print_more(void **state) {
    (void)state;
    static const struct {
        const char *in, *out;
    } t[] = {
        {"1", "1"},
        {"0x1f + 0755 + 1_000 + 1e3 + .5 + 5.", "31 + 493 + 1000 + 1000 + 0.5 + 5"},
        {"1e21", "1000000000000000000000"},
        {"1e-7", "0.0000001"},
        {"-0", "-0"},
        {"NaN", "NaN"},
        {"-Inf", "-Inf"},
        {"+Inf", "+Inf"},
        {"Inf ^ 2", "Inf ^ 2"}, /* "+Inf ^ 2" would read back as +(Inf ^ 2) */
        {"-2 ^ 2", "-2 ^ 2"},
        {"2 ^ 3 ^ 2", "2 ^ 3 ^ 2"},
        {"1 + 2 * 3 - 4 / 5 % 6", "1 + 2 * 3 - 4 / 5 % 6"},
        {"a or b and c unless d", "a or b and c unless d"},
        {"-foo", "-foo"},
        {"- - 1", "1"},
        {"foo + 5m", "foo + 5m"},
        {"foo[1h30m]", "foo[1h30m]"},
        {"foo[90m]", "foo[1h30m]"},
        {"foo[366d]", "foo[366d]"},
        {"foo[14d]", "foo[2w]"},
        {"foo[1.5]", "foo[1s500ms]"},
        {"foo[5m:]", "foo[5m:]"},
        {"foo offset -1h", "foo offset -1h"},
        {"foo @ 1.5", "foo @ 1.500"},
        {"foo @ -1", "foo @ -1.000"},
        {"foo @ start() offset 5m", "foo @ start() offset 5m"},
        {"foo offset 5m @ end()", "foo @ end() offset 5m"},
        {"rate(foo[5m] offset 1m @ 100)", "rate(foo[5m] @ 100.000 offset 1m)"},
        {"sum(rate(x[5m])) by (job)", "sum by (job) (rate(x[5m]))"},
        {"SUM(x)", "sum(x)"},
        {"SUM", "SUM"},
        {"sum", "sum"},
        {"by + offset", "by + offset"},
        {"{\"my.metric\", \"a.b\"=\"x\"}", "{\"a.b\"=\"x\",__name__=\"my.metric\"}"},
        {"foo{a=\"\\n\\t\\\"\\x00\\u00e9\"}", "foo{a=\"\\n\\t\\\"\\x00é\"}"},
        {"label_replace(x, 'single', `raw\\`, \"a\", \"\")",
         "label_replace(x, \"single\", \"raw\\\\\", \"a\", \"\")"},
        {"foo # comment\n + bar", "foo + bar"},
        {"a > bool b", "a > bool b"},
        {"a * on(x) group_right(y, \"z.z\") b", "a * on (x) group_right (y, \"z.z\") b"},
        {"quantile(0.9, x)", "quantile(0.9, x)"},
        {"limitk(2, x)", "limitk(2, x)"},
        {"foo[5m + 1m]", "foo[5m + 1m]"},
        {"foo[(5m)]", "foo[(5m)]"},
        {"foo[(-2) ^ 2]", "foo[(-2) ^ 2]"},
        {"foo offset +step()", "foo offset step()"},
        {"foo offset (1m) + 5", "foo offset (1m) + 5"},
        {"histogram_quantiles(x, \"q\", 0.5, 0.9)", "histogram_quantiles(x, \"q\", 0.5, 0.9)"},
        {"a </ b >/ c", "a </ b >/ c"},
        {"fill + fill", "fill + fill"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        expect_print(t[i].in, t[i].out, &all_on);
}

static void test_errors_more(void **state) {
    (void)state;
    static const promql_parse_opts_t off = {0};
    static const struct {
        const char *in, *err;
        const promql_parse_opts_t *o;
    } t[] = {
        {"limitk(1, x)",
         "1:1: parse error: limitk() is experimental and must be enabled with "
         "--enable-feature=promql-experimental-functions",
         &off},
        {"sort_by_label(x, \"a\")", "1:1: parse error: function \"sort_by_label\" is not enabled",
         &off},
        {"foo[5m+1m]", "1:5: parse error: experimental duration expression is not enabled", &off},
        {"foo[step()]", "1:5: parse error: experimental duration expression is not enabled", &off},
        {"foo anchored", "1:1: parse error: anchored modifier is experimental and not enabled",
         &off},
        {"a + fill(1) b", "1:1: parse error: binop fill modifiers are experimental and not enabled",
         &off},
        {"foo{a=\"\xff\"}", "1:7: parse error: invalid UTF-8 rune", &off},
        {"foo\n  + *", "2:5: parse error: unexpected <op:*>", &off},
        {"sum(foo bar)", "1:9: parse error: unexpected identifier \"bar\" in aggregation", &off},
        {"rate(foo bar)", "1:10: parse error: unexpected identifier \"bar\"", &off},
        {"sum(x) by", "1:10: parse error: unexpected end of input in grouping opts, expected \"(\"",
         &off},
        {"foo @ 1e19",
         "1:1: parse error: timestamp out of bounds for @ modifier: 10000000000000000000.000000",
         &off},
        {"foo @ 1e16", /* beyond what milliseconds in an int64 hold */
         "1:1: parse error: timestamp out of bounds for @ modifier: 10000000000000000.000000",
         &off},
        {"foo[0.0001]", "1:5: parse error: duration must be greater than 0", &off},
        {"foo offset NaN", "1:12: parse error: duration out of range", &off},
        {"foo{a=~\"(\"}", NULL, &off}, /* PCRE2's wording; only the position is checked */
        {"1 < 2", "1:3: parse error: comparisons between scalars must use BOOL modifier", &off},
        {"\"a\" + 1",
         "1:1: parse error: binary expression must contain only scalar and instant "
         "vector types",
         &off},
        {"sum(x[5m])",
         "1:5: parse error: expected type instant vector in aggregation expression, got range "
         "vector",
         &off},
        {"label_join(x)",
         "1:1: parse error: expected at least 3 argument(s) in call to "
         "\"label_join\", got 1",
         &off},
        {"foo[1h:5m", "1:10: parse error: unclosed left bracket", &off},
        {"foo[1h:5m:]", "1:10: parse error: unexpected colon ':'", &off},
        {"foo[[5m]]", "1:5: parse error: unexpected character in duration expression: '['", &off},
        {"# only", "1:1: parse error: no expression found in input", &off},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (t[i].err) {
            expect_error(t[i].in, t[i].err, t[i].o);
        } else {
            promql_ast_t *a;
            vg_err_t err;
            size_t pos = 99;
            assert_int_equal(promql_parse(t[i].in, strlen(t[i].in), t[i].o, &a, &pos, &err),
                             VG_ERR_INPUT);
            assert_int_equal(pos, 4);
            assert_true(strncmp(err.msg, "1:5: parse error: ", 18) == 0);
        }
    }
}

/* After "offset" Prometheus's grammar reads one operand (a number,
 * step(), range(), min_of/max_of or a parenthesised duration, with at
 * most one sign) and leaves operators after it to the outer expression,
 * unless the duration starts with "(" or with two signs: then it reads a
 * whole duration expression. Its printer writes the expression as it is,
 * which for a tree from the two-sign form ("offset ++17^1") reads back as
 * (foo offset 17) ^ 1; vigil prints the signs it needs. */
static void test_offset_durations(void **state) {
    (void)state;
    static const struct {
        const char *in, *out;
    } t[] = {
        /* one operand: operators belong to the outer expression */
        {"foo offset 17 ^ 1", "foo offset 17s ^ 1"},
        {"foo offset -1^1", "foo offset -1s ^ 1"},
        {"foo offset -2 * 3", "foo offset -2s * 3"},
        {"foo offset step() + 1", "foo offset step() + 1"},
        {"foo offset +step() + 1", "foo offset step() + 1"},
        {"foo offset -step() ^ 2", "foo offset -step() ^ 2"},
        {"foo offset -(1h) * 2", "foo offset -(1h) * 2"},
        {"foo offset -min_of(1m, 2m) + 1", "foo offset -min_of(1m, 2m) + 1"},
        {"foo offset +(5)", "foo offset (5)"},
        {"foo offset -(1 ^ 2)", "foo offset -(1 ^ 2)"},
        /* "(" first: a whole duration expression */
        {"foo offset (1h) * 2 + 1m", "foo offset (1h) * 2 + 1m"},
        {"foo offset (1h) ^ 2", "foo offset (1h) ^ 2"},
        /* two or more signs: a whole duration expression too */
        {"+++++++f offset++++0x11^001", "+++++++f offset ++17 ^ 1"},
        {"+++++++f offset+++++++0++++++++0x1f", "+++++++f offset ++0 + 31"},
        {"foo offset --2 * 3", "foo offset ++2 * 3"},
        {"foo offset - -5m + 1m", "foo offset ++5m + 1m"},
        {"foo offset +-2*3", "foo offset +-2 * 3"},
        {"foo offset ++-2^3", "foo offset +-2 ^ 3"},
        {"foo offset --2^3", "foo offset --2 ^ 3"},
        {"foo offset ++step()+1", "foo offset ++step() + 1"},
        {"foo offset +-step()^2", "foo offset +-step() ^ 2"},
        {"foo offset +-(1h)*2", "foo offset +-(1h) * 2"},
        {"foo offset ++(1h)*2", "foo offset (1h) * 2"},
        {"foo offset ++min_of(1m, 2m)", "foo offset min_of(1m, 2m)"},
        {"foo offset --5m", "foo offset 5m"},
        {"foo[5m] offset ++1m * 2 @ 100", "foo[5m] @ 100.000 offset ++1m * 2"},
        {"foo[5m:++1m*2] offset --1m-1m", "foo[5m:1m * 2] offset ++1m - 1m"},
        /* when an operator follows, an offset that would read on is
         * printed before @, anchored or smoothed, as the query had it, or
         * if parenthesised as "+(…)" */
        {"f offset ++17^0 @ 1 + 1", "f offset ++17 ^ 0 @ 1.000 + 1"},
        {"f offset (1h) @ 1 * 2", "f @ 1.000 offset +(1h) * 2"},
        {"a + -f offset (1h) @ 1 - 5", "a + -f @ 1.000 offset +(1h) - 5"},
        {"foo offset +(min_of(step(), 2)-0)+8000", "foo offset +(min_of(step(), 2) - 0) + 8000"},
        {"foo offset +(1h) / 2", "foo offset +(1h) / 2"},
        {"f offset ++1m smoothed ^ 2", "f smoothed offset 1m ^ 2"},
        {"f offset (1h) @ 1", "f @ 1.000 offset (1h)"},
        {"f offset (1h) @ 1 > 5", "f @ 1.000 offset (1h) > 5"},
        {"f offset -(1h) @ 1 + 5", "f @ 1.000 offset -(1h) + 5"},
        {"(f offset (1h)) + 5", "(f offset (1h)) + 5"},
        /* ranges and steps take a whole duration expression as they are */
        {"foo[++17^1]", "foo[17 ^ 1]"},
        {"foo[1m:-(-5)+step()^2]", "foo[1m:-(-5) + step() ^ 2]"},
        /* @ takes a number with at most one sign */
        {"foo @ 17 ^ 1", "foo @ 17.000 ^ 1"},
        {"foo @ -17 ^ 1", "foo @ -17.000 ^ 1"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        expect_print(t[i].in, t[i].out, &all_on);

    /* the trees: "offset 17 ^ 1" is a power of the selector, "offset ++17
     * ^ 1" an offset of 17 ^ 1 under the unary pluses */
    promql_ast_t *a;
    vg_err_t err;
    const char *q = "foo offset 17 ^ 1";
    assert_int_equal(promql_parse(q, strlen(q), &all_on, &a, NULL, &err), 0);
    assert_int_equal(a->root->kind, PROMQL_BINARY);
    assert_int_equal(a->root->u.binary.op, PROMQL_OP_POW);
    assert_int_equal(a->root->u.binary.lhs->u.vector.mod.offset_ms, 17000);
    promql_ast_free(a);
    q = "+++++++f offset++++0x11^001";
    assert_int_equal(promql_parse(q, strlen(q), &all_on, &a, NULL, &err), 0);
    const promql_expr_t *e = a->root;
    for (int i = 0; i < 7; i++) {
        assert_int_equal(e->kind, PROMQL_UNARY);
        e = e->u.unary.expr;
    }
    assert_int_equal(e->kind, PROMQL_VECTOR);
    const promql_expr_t *d = e->u.vector.mod.offset_expr;
    assert_non_null(d);
    assert_int_equal(d->u.duration.op, PROMQL_OP_POW);
    assert_false(d->u.duration.wrapped);
    assert_true(d->u.duration.lhs->u.number.value == 17);
    assert_true(d->u.duration.rhs->u.number.value == 1);
    promql_ast_free(a);

    /* with the feature off, the operators after two signs are duration
     * arithmetic, refused as Prometheus does */
    static const promql_parse_opts_t off = {0};
    expect_error("+++++++f offset++++0x11^001",
                 "1:20: parse error: experimental duration expression is not enabled", &off);
    expect_error("foo offset --2 * 3",
                 "1:12: parse error: experimental duration expression is not enabled", &off);
    expect_print("foo offset --5m", "foo offset 5m", &off);
    /* a selector cannot follow inside the duration (as in Prometheus) */
    expect_error("foo offset ++1m * 2 + bar",
                 "1:23: parse error: unexpected identifier \"bar\" in offset, expected number, "
                 "duration, step(), or range()",
                 &all_on);
    expect_print("foo offset 17 ^ 1", "foo offset 17s ^ 1", &off);
}

static void test_limits(void **state) {
    (void)state;
    promql_ast_t *a;
    vg_err_t err;
    /* nesting: parentheses and long operator chains */
    size_t n = 5000;
    char *q = malloc(2 * n + 2);
    memset(q, '(', n);
    q[n] = '1';
    memset(q + n + 1, ')', n);
    q[2 * n + 1] = 0;
    assert_int_equal(promql_parse(q, strlen(q), NULL, &a, NULL, &err), VG_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "expression nesting too deep"));
    free(q);
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_puts(&b, "a");
    for (size_t i = 0; i < n; i++)
        vg_buf_puts(&b, " + a");
    assert_int_equal(promql_parse(b.data, b.len, NULL, &a, NULL, &err), VG_ERR_LIMIT);
    vg_buf_free(&b);
    /* 900 levels are fine */
    for (size_t i = 0; i < 900; i++)
        vg_buf_puts(&b, "-(");
    vg_buf_puts(&b, "a");
    for (size_t i = 0; i < 900; i++)
        vg_buf_puts(&b, ")");
    promql_parse_opts_t o = {.max_depth = 2000};
    assert_int_equal(promql_parse(b.data, b.len, &o, &a, NULL, &err), 0);
    promql_ast_free(a);
    vg_buf_free(&b);
    /* length */
    o = (promql_parse_opts_t){.max_len = 10};
    assert_int_equal(promql_parse("some_metric_name", 16, &o, &a, NULL, &err), VG_ERR_LIMIT);
    assert_string_equal(err.msg, "query is too long: 16 bytes, the limit is 10");
}

static int count_visit(const promql_expr_t *e, const promql_expr_t *parent, void *ctx) {
    (void)parent;
    int *n = ctx;
    (*n)++;
    return e->kind == PROMQL_CALL ? 1 : 0; /* skip call arguments */
}

static void test_tree(void **state) {
    (void)state;
    promql_ast_t *a;
    vg_err_t err;
    const char *q =
        "sum by (job) (rate(x{a=~\"b.*\"}[5m])) / on(job) group_left count by (job) (y) > bool 1";
    assert_int_equal(promql_parse(q, strlen(q), NULL, &a, NULL, &err), 0);
    const promql_expr_t *r = a->root;
    assert_int_equal(r->kind, PROMQL_BINARY);
    assert_int_equal(r->u.binary.op, PROMQL_OP_GTR);
    assert_true(r->u.binary.return_bool);
    assert_null(r->u.binary.matching); /* vector > scalar: no matching */
    assert_int_equal(promql_expr_type(r), PROMQL_TYPE_VECTOR);
    const promql_expr_t *div = r->u.binary.lhs;
    assert_int_equal(div->u.binary.op, PROMQL_OP_DIV);
    assert_non_null(div->u.binary.matching);
    assert_int_equal(div->u.binary.matching->card, PROMQL_CARD_MANY_TO_ONE);
    assert_true(div->u.binary.matching->on);
    const promql_expr_t *sum = div->u.binary.lhs;
    assert_int_equal(sum->kind, PROMQL_AGGREGATE);
    assert_int_equal(sum->u.aggregate.n_grouping, 1);
    assert_string_equal(sum->u.aggregate.grouping[0].s, "job");
    const promql_expr_t *rate = sum->u.aggregate.expr;
    assert_int_equal(rate->kind, PROMQL_CALL);
    assert_string_equal(rate->u.call.func->name, "rate");
    const promql_expr_t *m = rate->u.call.args[0];
    assert_int_equal(m->kind, PROMQL_MATRIX);
    assert_int_equal(m->u.matrix.range_ms, 300000);
    const promql_expr_t *vs = m->u.matrix.vector;
    assert_int_equal(vs->u.vector.n_matchers, 2);
    assert_int_equal(vs->u.vector.matchers[0].type, LABELS_MATCH_REGEXP);
    assert_true(labels_matcher_matches(vs->u.vector.matchers[0].compiled, "bc", 2));
    assert_string_equal(vs->u.vector.matchers[1].name.s, "__name__");
    assert_int_equal(vs->start, 19);
    assert_int_equal(vs->end, 30);
    const promql_expr_t *kids[4];
    assert_int_equal(promql_expr_children(r, kids, 4), 2);
    int n = 0;
    assert_int_equal(promql_walk(r, count_visit, &n), 0);
    assert_int_equal(n, 7); /* >, /, sum, rate (arguments skipped), count, y, 1 */
    promql_ast_free(a);

    assert_string_equal(promql_type_name(PROMQL_TYPE_MATRIX), "range vector");
    assert_null(promql_function_lookup("RATE", 4));
    assert_non_null(promql_function_lookup("label_join", 10));
    size_t nf;
    const promql_function_t *fs = promql_functions(&nf);
    for (size_t i = 1; i < nf; i++)
        assert_true(strcmp(fs[i - 1].name, fs[i].name) < 0);
    for (size_t i = 0; i < nf; i++)
        assert_ptr_equal(promql_function_lookup(fs[i].name, strlen(fs[i].name)), &fs[i]);
}

/* ------------------------------------------------ conformance queries */

typedef struct tally {
    size_t total, ok, expected_fail, bad;
} tally_t;

static void try_query(tally_t *t, const char *where, const char *q, bool may_fail) {
    vg_err_t err;
    t->total++;
    char *s = roundtrip(q, strlen(q), &all_on, &err);
    if (s) {
        t->ok++;
        free(s);
    } else if (may_fail) {
        t->expected_fail++;
    } else {
        t->bad++;
        print_message("  %s: %s\n    %s\n", where, q, err.msg);
    }
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

/* The expression of an "eval ..." line, or NULL. */
static char *eval_expr(char *l, bool *out_fail) {
    if (strncmp(l, "eval", 4) != 0) return NULL;
    char *p = l + 4;
    *out_fail = strncmp(p, "_fail", 5) == 0;
    while (*p && *p != ' ' && *p != '\t')
        p++;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncmp(p, "instant", 7) == 0) {
        p += 7;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "at", 2) == 0 && (p[2] == ' ' || p[2] == '\t')) {
            p += 2;
            while (*p == ' ' || *p == '\t')
                p++;
            while (*p && *p != ' ' && *p != '\t')
                p++; /* the time */
            while (*p == ' ' || *p == '\t')
                p++;
        }
        return p;
    }
    if (strncmp(p, "range", 5) == 0) {
        char *s = strstr(p, " step ");
        if (!s) return NULL;
        p = s + 6;
        while (*p == ' ' || *p == '\t')
            p++;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        while (*p == ' ' || *p == '\t')
            p++;
        return p;
    }
    return NULL;
}

static void test_conformance_queries(void **state) {
    (void)state;
    tally_t scripts = {0}, compliance = {0}, seeds = {0};
    const char *dir = VG_SHARED_DIR "/conformance/promql-tests";
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".test") != 0) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        char *data;
        size_t len;
        vg_err_t err;
        assert_int_equal(vg_file_read_all(path, 1 << 24, &data, &len, &err), 0);
        char **lines = NULL;
        size_t nl = 0;
        for (char *save = NULL, *l = strtok_r(data, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
            lines = realloc(lines, (nl + 1) * sizeof *lines);
            lines[nl++] = l;
        }
        /* strtok_r drops empty lines; they only end blocks, and a block
         * ends at an eval/load/clear line anyway */
        for (size_t i = 0; i < nl; i++) {
            bool fail_expected = false;
            char *q = eval_expr(trim(lines[i]), &fail_expected);
            if (!q) continue;
            for (size_t j = i + 1; j < nl; j++) {
                char *x = trim(lines[j]);
                if (!*x || x[0] == '#' || strncmp(x, "eval", 4) == 0 ||
                    strncmp(x, "load", 4) == 0 || strncmp(x, "clear", 5) == 0)
                    break;
                if (strncmp(x, "expect fail", 11) == 0) fail_expected = true;
            }
            char where[300];
            snprintf(where, sizeof where, "%s:%zu", de->d_name, i + 1);
            try_query(&scripts, where, q, fail_expected);
        }
        free(lines);
        free(data);
    }
    closedir(d);

    char *data;
    size_t len;
    vg_err_t err;
    assert_int_equal(vg_file_read_all(VG_SHARED_DIR "/conformance/promql-compliance/"
                                                    "promql-test-queries.expanded.tsv",
                                      1 << 24, &data, &len, &err),
                     0);
    for (char *save = NULL, *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (l[0] == '#' || strncmp(l, "template_index", 14) == 0) continue;
        char *f[4] = {0};
        char *p = l;
        for (int k = 0; k < 4 && p; k++) {
            f[k] = p;
            p = k < 3 ? strchr(p, '\t') : NULL;
            if (p) *p++ = 0;
        }
        if (!f[3]) continue;
        try_query(&compliance, "compliance", f[3], strcmp(f[1], "true") == 0);
    }
    free(data);

    assert_int_equal(vg_file_read_all(VG_SHARED_DIR "/seed-fixtures/promql-queries.txt", 1 << 24,
                                      &data, &len, &err),
                     0);
    for (char *save = NULL, *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (l[0] == '#' || !*trim(l)) continue;
        try_query(&seeds, "seed", trim(l), false);
    }
    free(data);

    const struct {
        const char *name;
        tally_t *t;
    } all[] = {{"promql-tests/*.test evals", &scripts},
               {"compliance queries", &compliance},
               {"seed queries", &seeds}};
    for (size_t i = 0; i < 3; i++) {
        tally_t *t = all[i].t;
        printf("promql parse: %-26s %zu/%zu parse and round-trip (%.1f%%), %zu marked to fail do "
               "not parse, %zu others fail\n",
               all[i].name, t->ok, t->total,
               t->total ? 100.0 * (double)t->ok / (double)t->total : 0, t->expected_fail, t->bad);
        assert_int_equal(t->bad, 0);
    }
    assert_true(scripts.total > 2000);
    assert_true(compliance.total == 539);
}

/* ---------------------------------------------------- fuzz corpus */

static void test_fuzz_corpus(void **state) {
    (void)state;
    const char *dir = VG_SOURCE_DIR "/fuzz/corpus/promql";
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    size_t files = 0, parsed = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        char *data;
        size_t len;
        vg_err_t err;
        assert_int_equal(vg_file_read_all(path, 1 << 20, &data, &len, &err), 0);
        files++;
        char *s = roundtrip(data, len, &all_on, &err);
        if (s) parsed++;
        free(s);
        free(data);
    }
    closedir(d);
    printf("promql fuzz corpus: %zu files, %zu parse\n", files, parsed);
    assert_true(files > 20);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_errors),
        cmocka_unit_test(test_upstream_valid),
        cmocka_unit_test(test_upstream_print),
        cmocka_unit_test(test_print_more),
        cmocka_unit_test(test_errors_more),
        cmocka_unit_test(test_offset_durations),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_tree),
        cmocka_unit_test(test_conformance_queries),
        cmocka_unit_test(test_fuzz_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
