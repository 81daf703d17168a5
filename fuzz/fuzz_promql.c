/* libFuzzer target for the PromQL parser and printer: the input is a query.
 * It is parsed with every experimental feature on and again with all off;
 * whatever parses is printed, the print parsed again, and the two trees
 * must be equal and print the same (abort otherwise). Nothing may crash,
 * hang or leak, and an error must carry a position. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql.h"

static void check(const char *q, size_t n, const promql_parse_opts_t *o) {
    promql_ast_t *a = NULL, *b = NULL;
    vg_err_t err;
    size_t pos = 0;
    if (promql_parse(q, n, o, &a, &pos, &err) != 0) {
        if (pos > n || !strstr(err.msg, "parse error: ")) {
            fprintf(stderr, "bad error: %s (pos %zu of %zu)\n", err.msg, pos, n);
            abort();
        }
        return;
    }
    char *s = promql_format(a->root);
    if (promql_parse(s, strlen(s), o, &b, NULL, &err) != 0) {
        fprintf(stderr, "printed form does not parse: %s\n  printed: %s\n", err.msg, s);
        abort();
    }
    if (!promql_expr_equal(a->root, b->root)) {
        fprintf(stderr, "printed form parses differently: %s\n", s);
        abort();
    }
    char *s2 = promql_format(b->root);
    if (strcmp(s, s2) != 0) {
        fprintf(stderr, "printing is not stable:\n  %s\n  %s\n", s, s2);
        abort();
    }
    (void)promql_expr_type(a->root);
    free(s);
    free(s2);
    promql_ast_free(a);
    promql_ast_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const promql_parse_opts_t on = {true, true, true, true, 0, 0};
    static const promql_parse_opts_t off = {0};
    check((const char *)data, size, &on);
    check((const char *)data, size, &off);
    return 0;
}
