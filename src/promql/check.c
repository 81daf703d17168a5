/*
 * This file implements the type checks Prometheus runs on a parsed query
 * (its checkAST): operand types of operators, functions and aggregations,
 * vector matching rules and selectors that would select everything. The
 * order of the checks is Prometheus's, so the first error is the same.
 */
#include <string.h>

#include "promql/parse_int.h"

static promql_type_t check(parser_t *p, promql_expr_t *e);

static void expect_type(parser_t *p, promql_expr_t *e, promql_type_t want, const char *context) {
    promql_type_t t = check(p, e);
    if (t != want)
        promql_fail_at(p, VG_ERR_INPUT, e->start, "expected type %s in %s, got %s",
                       promql_type_name(want), context, promql_type_name(t));
}

/* Where a binary operator starts: the first non-space after the left side. */
static size_t op_start(const parser_t *p, const promql_expr_t *b) {
    size_t i = b->u.binary.lhs->end;
    while (i < p->len &&
           (p->in[i] == ' ' || p->in[i] == '\t' || p->in[i] == '\n' || p->in[i] == '\r'))
        i++;
    return i;
}

static bool str_eq(promql_str_t a, promql_str_t b) {
    return a.len == b.len && memcmp(a.s, b.s, a.len) == 0;
}

static const char *raw_type_name(promql_type_t t) {
    switch (t) {
    case PROMQL_TYPE_SCALAR: return "scalar";
    case PROMQL_TYPE_VECTOR: return "vector";
    case PROMQL_TYPE_MATRIX: return "matrix";
    case PROMQL_TYPE_STRING: return "string";
    default: return "none";
    }
}

static void check_binary(parser_t *p, promql_expr_t *e) {
    promql_type_t lt = check(p, e->u.binary.lhs);
    promql_type_t rt = check(p, e->u.binary.rhs);
    promql_op_t op = e->u.binary.op;
    promql_vector_matching_t *vm = e->u.binary.matching;
    if (e->u.binary.return_bool && !promql_op_is_comparison(op))
        promql_fail_at(p, VG_ERR_INPUT, op_start(p, e),
                       "bool modifier can only be used on comparison operators");
    if (promql_op_is_comparison(op) && !e->u.binary.return_bool && rt == PROMQL_TYPE_SCALAR &&
        lt == PROMQL_TYPE_SCALAR)
        promql_fail_at(p, VG_ERR_INPUT, op_start(p, e),
                       "comparisons between scalars must use BOOL modifier");
    if (vm && promql_op_is_set(op) && vm->card == PROMQL_CARD_ONE_TO_ONE)
        vm->card = PROMQL_CARD_MANY_TO_MANY;
    if (vm && vm->on) {
        for (size_t i = 0; i < vm->n_labels; i++)
            for (size_t j = 0; j < vm->n_include; j++)
                if (str_eq(vm->labels[i], vm->include[j])) {
                    vg_buf_t b = VG_BUF_INIT;
                    promql_quote(vm->labels[i].s, vm->labels[i].len, &b);
                    char *m = promql_alloc(p, b.len + 1);
                    memcpy(m, b.data, b.len + 1);
                    vg_buf_free(&b);
                    promql_fail_at(p, VG_ERR_INPUT, op_start(p, e),
                                   "label %s must not occur in ON and GROUP clause at once", m);
                }
    }
    if (lt != PROMQL_TYPE_SCALAR && lt != PROMQL_TYPE_VECTOR)
        promql_fail_at(p, VG_ERR_INPUT, e->u.binary.lhs->start,
                       "binary expression must contain only scalar and instant vector types");
    if (rt != PROMQL_TYPE_SCALAR && rt != PROMQL_TYPE_VECTOR)
        promql_fail_at(p, VG_ERR_INPUT, e->u.binary.rhs->start,
                       "binary expression must contain only scalar and instant vector types");
    if ((lt != PROMQL_TYPE_VECTOR || rt != PROMQL_TYPE_VECTOR) && vm) {
        if (vm->n_labels > 0)
            promql_fail_at(p, VG_ERR_INPUT, e->start,
                           "vector matching only allowed between instant vectors");
        if (vm->has_fill_lhs || vm->has_fill_rhs)
            promql_fail_at(p, VG_ERR_INPUT, e->start,
                           "filling in missing series only allowed between instant vectors");
        e->u.binary.matching = NULL;
    } else if (vm && promql_op_is_set(op)) {
        if (vm->card == PROMQL_CARD_ONE_TO_MANY || vm->card == PROMQL_CARD_MANY_TO_ONE)
            promql_fail_at(p, VG_ERR_INPUT, e->start, "no grouping allowed for \"%s\" operation",
                           promql_op_str(op));
        if (vm->card != PROMQL_CARD_MANY_TO_MANY)
            promql_fail_at(p, VG_ERR_INPUT, e->start, "set operations must always be many-to-many");
        if (vm->has_fill_lhs || vm->has_fill_rhs)
            promql_fail_at(p, VG_ERR_INPUT, e->start,
                           "filling in missing series not allowed for set operators");
    }
    if ((lt == PROMQL_TYPE_SCALAR || rt == PROMQL_TYPE_SCALAR) && promql_op_is_set(op))
        promql_fail_at(p, VG_ERR_INPUT, e->start,
                       "set operator \"%s\" not allowed in binary scalar expression",
                       promql_op_str(op));
}

static void check_call(parser_t *p, promql_expr_t *e) {
    const promql_function_t *f = e->u.call.func;
    size_t nargs = f->n_arg_types, n = e->u.call.n_args;
    if (f->variadic == 0) {
        if (nargs != n)
            promql_fail_at(p, VG_ERR_INPUT, e->start,
                           "expected %zu argument(s) in call to \"%s\", got %zu", nargs, f->name,
                           n);
    } else {
        size_t na = nargs - 1;
        if (na > n)
            promql_fail_at(p, VG_ERR_INPUT, e->start,
                           "expected at least %zu argument(s) in call to \"%s\", got %zu", na,
                           f->name, n);
        if (f->variadic > 0 && na + (size_t)f->variadic < n)
            promql_fail_at(p, VG_ERR_INPUT, e->start,
                           "expected at most %zu argument(s) in call to \"%s\", got %zu",
                           na + (size_t)f->variadic, f->name, n);
    }
    if (strcmp(f->name, "info") == 0 && n > 1) {
        promql_expr_t *a = e->u.call.args[1];
        promql_type_t t = promql_expr_type(a);
        if (t != PROMQL_TYPE_VECTOR)
            promql_fail_at(p, VG_ERR_INPUT, e->start,
                           "expected type instant vector in call to function \"info\", got %s",
                           promql_type_name(t));
        if (a->kind == PROMQL_VECTOR && a->u.vector.name.len > 0)
            promql_fail_at(p, VG_ERR_INPUT, a->start,
                           "expected label selectors only, got vector selector instead");
        if (a->kind != PROMQL_VECTOR)
            promql_fail_at(p, VG_ERR_INPUT, a->start, "expected label selectors only");
        a->u.vector.bypass_empty_check = true;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = i;
        if (k >= nargs) {
            if (f->variadic == 0) break;
            k = nargs - 1;
        }
        promql_type_t t = check(p, e->u.call.args[i]);
        if (t != f->arg_types[k])
            promql_fail_at(p, VG_ERR_INPUT, e->u.call.args[i]->start,
                           "expected type %s in call to function \"%s\", got %s",
                           promql_type_name(f->arg_types[k]), f->name, promql_type_name(t));
    }
}

static void check_vector(parser_t *p, promql_expr_t *e) {
    size_t n = e->u.vector.n_matchers;
    const promql_matcher_t *ms = e->u.vector.matchers;
    if (e->u.vector.name.len > 0) {
        for (size_t i = 0; i + 1 < n; i++) {
            if (ms[i].name.len == 8 && memcmp(ms[i].name.s, "__name__", 8) == 0) {
                vg_buf_t b = VG_BUF_INIT;
                promql_quote(e->u.vector.name.s, e->u.vector.name.len, &b);
                vg_buf_puts(&b, " or ");
                promql_quote(ms[i].value.s, ms[i].value.len, &b);
                char *m = promql_alloc(p, b.len + 1);
                memcpy(m, b.data, b.len + 1);
                vg_buf_free(&b);
                promql_fail_at(p, VG_ERR_INPUT, e->start, "metric name must not be set twice: %s",
                               m);
            }
        }
        return;
    }
    if (e->u.vector.bypass_empty_check) return;
    for (size_t i = 0; i < n; i++)
        if (!labels_matcher_matches_empty(ms[i].compiled)) return;
    promql_fail_at(p, VG_ERR_INPUT, e->start,
                   "vector selector must contain at least one non-empty matcher");
}

static promql_type_t check(parser_t *p, promql_expr_t *e) {
    promql_type_t typ = promql_expr_type(e);
    switch (e->kind) {
    case PROMQL_AGGREGATE: {
        promql_agg_op_t op = e->u.aggregate.op;
        expect_type(p, e->u.aggregate.expr, PROMQL_TYPE_VECTOR, "aggregation expression");
        if (op == PROMQL_AGG_TOPK || op == PROMQL_AGG_BOTTOMK || op == PROMQL_AGG_QUANTILE ||
            op == PROMQL_AGG_LIMITK || op == PROMQL_AGG_LIMIT_RATIO)
            expect_type(p, e->u.aggregate.param, PROMQL_TYPE_SCALAR, "aggregation parameter");
        if (op == PROMQL_AGG_COUNT_VALUES)
            expect_type(p, e->u.aggregate.param, PROMQL_TYPE_STRING, "aggregation parameter");
        break;
    }
    case PROMQL_BINARY: check_binary(p, e); break;
    case PROMQL_CALL: check_call(p, e); break;
    case PROMQL_PAREN: check(p, e->u.paren.expr); break;
    case PROMQL_UNARY: {
        promql_type_t t = check(p, e->u.unary.expr);
        if (t != PROMQL_TYPE_SCALAR && t != PROMQL_TYPE_VECTOR)
            promql_fail_at(p, VG_ERR_INPUT, e->start,
                           "unary expression only allowed on expressions of type scalar or "
                           "instant vector, got \"%s\"",
                           promql_type_name(t));
        break;
    }
    case PROMQL_SUBQUERY: {
        promql_type_t t = check(p, e->u.subquery.expr);
        if (t != PROMQL_TYPE_VECTOR)
            promql_fail_at(p, VG_ERR_INPUT, e->start,
                           "subquery is only allowed on instant vector, got %s instead",
                           raw_type_name(t));
        break;
    }
    case PROMQL_MATRIX: check(p, e->u.matrix.vector); break;
    case PROMQL_VECTOR: check_vector(p, e); break;
    default: break;
    }
    return typ;
}

void promql_check(parser_t *p, promql_expr_t *root) { check(p, root); }
