/* Tests of ytree: tree shape and positions, tag resolution in both
 * dialects, anchors, the bounds, and the wording of errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ytree/ytree.h"

static vg_arena_t *arena;

static int setup(void **state) {
    (void)state;
    arena = vg_arena_new(0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    vg_arena_free(arena);
    return 0;
}

static ytree_node_t *parse_ok(const char *text, const ytree_opts_t *opts) {
    ytree_node_t *root = NULL;
    vg_err_t err = {0};
    int rc = ytree_parse(text, strlen(text), opts, arena, &root, &err);
    if (rc != VG_OK) fail_msg("parse failed: %s", err.msg);
    return root;
}

static void expect_error(const char *text, const ytree_opts_t *opts, int code, const char *msg) {
    ytree_node_t *root = (ytree_node_t *)1;
    vg_err_t err = {0};
    int rc = ytree_parse(text, strlen(text), opts, arena, &root, &err);
    assert_int_equal(rc, code);
    assert_null(root);
    assert_string_equal(err.msg, msg);
}

static ytree_tag_t tag_of(const char *scalar, ytree_dialect_t dialect) {
    const ytree_opts_t opts = {.dialect = dialect};
    ytree_node_t *n = parse_ok(scalar, &opts);
    assert_non_null(n);
    assert_int_equal(n->kind, YTREE_NODE_SCALAR);
    return n->tag;
}

static void test_shape_and_positions(void **state) {
    (void)state;
    ytree_node_t *root = parse_ok("a: 1\nb:\n  - x\n  - 'y'\nc:\n", NULL);
    assert_int_equal(root->kind, YTREE_NODE_MAP);
    assert_int_equal(root->tag, YTREE_TAG_MAP);
    assert_int_equal(root->n, 3);
    const ytree_node_t *b = ytree_map_get(root, "b");
    assert_non_null(b);
    assert_int_equal(b->kind, YTREE_NODE_SEQ);
    assert_int_equal(b->n, 2);
    assert_int_equal(b->line, 3);
    assert_int_equal(b->col, 3);
    assert_string_equal(b->kids[1]->str, "y");
    assert_int_equal(b->kids[1]->line, 4);
    assert_int_equal(b->kids[1]->col, 5);
    assert_true(ytree_is_null(ytree_map_get(root, "c")));
    assert_true(ytree_is_null(ytree_map_get(root, "missing")));
    assert_false(ytree_is_null(ytree_map_get(root, "a")));
    assert_null(ytree_map_get(b, "x"));
    assert_true(ytree_scalar_is(ytree_map_get(root, "a"), "1"));
    assert_string_equal(ytree_tag_name(ytree_map_get(root, "a")->tag), "!!int");
    assert_string_equal(ytree_tag_name(b->tag), "!!seq");
    /* An empty document has no root. */
    assert_null(parse_ok("", NULL));
    assert_null(parse_ok("# only a comment\n", NULL));
}

static void test_first_key_wins_and_embedded_nul(void **state) {
    (void)state;
    ytree_node_t *root = parse_ok("k: 1\nk: 2\n\"k\\0x\": 3\n", NULL);
    assert_string_equal(ytree_map_get(root, "k")->str, "1");
    assert_int_equal(root->kids[4]->len, 3);
    assert_false(ytree_scalar_is(root->kids[4], "k"));
}

static void test_tags_yaml_v2(void **state) {
    (void)state;
    const struct {
        const char *s;
        ytree_tag_t t;
    } cases[] = {
        {"~", YTREE_TAG_NULL},      {"null", YTREE_TAG_NULL},    {"NULL", YTREE_TAG_NULL},
        {"nULL", YTREE_TAG_STR},    {"yes", YTREE_TAG_BOOL},     {"Off", YTREE_TAG_BOOL},
        {"y", YTREE_TAG_BOOL},      {"true", YTREE_TAG_BOOL},    {"tRue", YTREE_TAG_STR},
        {"12", YTREE_TAG_INT},      {"-12", YTREE_TAG_INT},      {"+0x1F", YTREE_TAG_INT},
        {"0o17", YTREE_TAG_INT},    {"0b101", YTREE_TAG_INT},    {"0b102", YTREE_TAG_STR},
        {"1_000", YTREE_TAG_INT},   {"1_", YTREE_TAG_INT},       {"_1", YTREE_TAG_STR},
        {"1.5", YTREE_TAG_FLOAT},   {"1.", YTREE_TAG_FLOAT},     {".5", YTREE_TAG_FLOAT},
        {"1e5", YTREE_TAG_FLOAT},   {"1e", YTREE_TAG_STR},       {"1_000.5", YTREE_TAG_FLOAT},
        {"_1.5", YTREE_TAG_STR},    {"1.2.3", YTREE_TAG_STR},    {".inf", YTREE_TAG_FLOAT},
        {"-.Inf", YTREE_TAG_FLOAT}, {".NaN", YTREE_TAG_FLOAT},   {"-.nan", YTREE_TAG_STR},
        {".", YTREE_TAG_STR},       {"5m", YTREE_TAG_STR},       {"0x", YTREE_TAG_STR},
        {"'12'", YTREE_TAG_STR},    {"!!str 12", YTREE_TAG_STR}, {"!!int \"7\"", YTREE_TAG_INT},
        {"\"\"", YTREE_TAG_STR},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ytree_tag_t t = tag_of(cases[i].s, YTREE_GO_YAML_V2);
        if (t != cases[i].t) fail_msg("%s: tag %s", cases[i].s, ytree_tag_name(t));
    }
}

static void test_tags_yaml_v3(void **state) {
    (void)state;
    assert_int_equal(tag_of("yes", YTREE_GO_YAML_V3), YTREE_TAG_STR);
    assert_int_equal(tag_of("on", YTREE_GO_YAML_V3), YTREE_TAG_STR);
    assert_int_equal(tag_of("True", YTREE_GO_YAML_V3), YTREE_TAG_BOOL);
    assert_int_equal(tag_of("0x1f", YTREE_GO_YAML_V3), YTREE_TAG_INT);
    assert_int_equal(tag_of("1e3", YTREE_GO_YAML_V3), YTREE_TAG_FLOAT);
    assert_int_equal(tag_of("~", YTREE_GO_YAML_V3), YTREE_TAG_NULL);
}

static void test_anchors(void **state) {
    (void)state;
    ytree_node_t *root = parse_ok("a: &x {k: v}\nb: *x\nc: &x 3\nd: *x\n", NULL);
    assert_ptr_equal(ytree_map_get(root, "a"), ytree_map_get(root, "b"));
    /* A redefined anchor shadows the earlier one. */
    assert_string_equal(ytree_map_get(root, "d")->str, "3");
    expect_error("a: *nope\n", NULL, VG_ERR_INPUT, "yaml: unknown anchor 'nope' referenced");
    /* Recursive anchors would make a cycle (and unbounded recursion in
     * the decoders); an anchor used after its collection closed is fine. */
    expect_error("x: &c\n  r:\n  - <<: *c\n", NULL, VG_ERR_INPUT,
                 "yaml: anchor 'c' value contains itself");
    assert_non_null(parse_ok("x: &c [&d 1, *d]\ny: [*c]\n", NULL));
    const ytree_opts_t named = {.name = "t.yml"};
    expect_error("a: *nope\n", &named, VG_ERR_INPUT,
                 "t.yml:1:4: yaml: unknown anchor 'nope' referenced");
}

static void test_first_document_only(void **state) {
    (void)state;
    const char *two = "a: 1\n---\nb: [\n";
    ytree_node_t *root = parse_ok(two, NULL);
    assert_non_null(ytree_map_get(root, "a"));
    assert_true(ytree_has_second_doc(two, strlen(two)));
    assert_false(ytree_has_second_doc("a: 1\n", 5));
}

static void test_syntax_errors(void **state) {
    (void)state;
    const char *bad = "route:\n  receiver: a\n bad: [\n";
    const ytree_opts_t v2 = {.dialect = YTREE_GO_YAML_V2};
    expect_error(bad, &v2, VG_ERR_INPUT, "yaml: line 2: did not find expected key");
    const ytree_opts_t named = {.name = "f.yml"};
    expect_error(bad, &named, VG_ERR_INPUT, "f.yml:3:2: yaml: did not find expected key");
    /* yaml.v3 names the context mark's line, yaml.v2 the problem's. */
    const char *scan = "a: b\nc: 'x\n";
    const ytree_opts_t v3 = {.dialect = YTREE_GO_YAML_V3};
    expect_error(scan, &v2, VG_ERR_INPUT, "yaml: line 3: found unexpected end of stream");
    expect_error(scan, &v3, VG_ERR_INPUT, "yaml: line 2: found unexpected end of stream");
    const char *parse = "a:\n  b: c\n  d: [1\n";
    expect_error(parse, &v2, VG_ERR_INPUT, "yaml: line 3: did not find expected ',' or ']'");
    expect_error(parse, &v3, VG_ERR_INPUT, "yaml: line 2: did not find expected ',' or ']'");
    expect_error("- [\n", &v3, VG_ERR_INPUT, "yaml: line 1: did not find expected node content");
}

static void test_limits(void **state) {
    (void)state;
    char deep[300];
    size_t n = 0;
    for (int i = 0; i < 65; i++)
        deep[n++] = '[';
    deep[n] = 0;
    expect_error(deep, NULL, VG_ERR_LIMIT, "yaml: line 1: nesting deeper than 64 levels");
    const ytree_opts_t d128 = {.max_depth = 128};
    vg_err_t err = {0};
    ytree_node_t *root = NULL;
    strcat(deep, "]");
    /* Still unclosed: a syntax error, not the bound. */
    assert_int_equal(ytree_parse(deep, strlen(deep), &d128, arena, &root, &err), VG_ERR_INPUT);

    const ytree_opts_t few = {.max_nodes = 4, .name = "n.yml"};
    expect_error("[1, 2, 3, 4]\n", &few, VG_ERR_LIMIT,
                 "n.yml:1:11: yaml: document has more than 4 nodes");
    /* Each alias counts as one node: the tree stays small, and walkers
     * bound their own visits of the shared nodes. */
    const ytree_opts_t some = {.max_nodes = 100};
    expect_error("a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                 "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                 "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                 "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                 "f: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,"
                 "*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,"
                 "*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,"
                 "*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,"
                 "*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,"
                 "*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,"
                 "*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,"
                 "*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
                 &some, VG_ERR_LIMIT, "yaml: line 6: document has more than 100 nodes");

    const ytree_opts_t small = {.max_bytes = 4, .name = "s.yml"};
    expect_error("a: 12\n", &small, VG_ERR_LIMIT, "s.yml: file is larger than 4 bytes");
    const ytree_opts_t small_go = {.max_bytes = 4};
    expect_error("a: 12\n", &small_go, VG_ERR_LIMIT, "file is larger than 4 bytes");

    /* An arena over its budget is a limit error, not a crash. */
    vg_arena_t *tiny = vg_arena_new(64);
    const char *text = "a: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n";
    root = NULL;
    assert_int_equal(ytree_parse(text, strlen(text), NULL, tiny, &root, &err), VG_ERR_LIMIT);
    assert_null(root);
    vg_arena_free(tiny);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shape_and_positions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_key_wins_and_embedded_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags_yaml_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags_yaml_v3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anchors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_document_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
