/*
 * State shared by the parser (parse.c) and the type checker (check.c).
 */
#ifndef VG_PROMQL_PARSE_INT_H
#define VG_PROMQL_PARSE_INT_H

#include <setjmp.h>

#include "promql/promql_int.h"

typedef struct parser {
    promql_lexer_t lex;
    promql_token_t tok[2]; /* lookahead */
    int n_tok;
    const char *in; /* the query (the tree's copy) */
    size_t len;
    size_t last_end; /* end of the last consumed token */
    promql_ast_t *ast;
    promql_parse_opts_t opts;
    unsigned depth, max_depth;
    unsigned agg_depth; /* inside an aggregation's modifier or arguments */
    /* the first error: every error ends the parse through jmp */
    jmp_buf jmp;
    int err_code;
    size_t err_pos;
    vg_buf_t msg;
} parser_t;

/* Records the error and unwinds to promql_parse. */
void promql_fail_at(parser_t *p, int code, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
/* Zeroed arena memory; fails the parse when over the budget. */
void *promql_alloc(parser_t *p, size_t n);
void promql_ast_keep_matcher(promql_ast_t *ast, labels_matcher_t *m);
/* Prometheus's checkAST: the type rules, in its order. */
void promql_check(parser_t *p, promql_expr_t *root);
int unhex_digit(char c);

#endif
