/*
 * This file implements the syntax tree helpers: names of types and
 * operators, the function table (Prometheus 3.x's, experimental functions
 * flagged), the value type of an expression, children, walking and
 * structural equality.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql_int.h"

#define S PROMQL_TYPE_SCALAR
#define V PROMQL_TYPE_VECTOR
#define M PROMQL_TYPE_MATRIX
#define STR PROMQL_TYPE_STRING

/* Sorted by name (bytewise) for bsearch. */
static const promql_function_t functions[] = {
    {"abs", {V}, 1, 0, V, false},
    {"absent", {V}, 1, 0, V, false},
    {"absent_over_time", {M}, 1, 0, V, false},
    {"acos", {V}, 1, 0, V, false},
    {"acosh", {V}, 1, 0, V, false},
    {"asin", {V}, 1, 0, V, false},
    {"asinh", {V}, 1, 0, V, false},
    {"atan", {V}, 1, 0, V, false},
    {"atanh", {V}, 1, 0, V, false},
    {"avg_over_time", {M}, 1, 0, V, false},
    {"ceil", {V}, 1, 0, V, false},
    {"changes", {M}, 1, 0, V, false},
    {"clamp", {V, S, S}, 3, 0, V, false},
    {"clamp_max", {V, S}, 2, 0, V, false},
    {"clamp_min", {V, S}, 2, 0, V, false},
    {"cos", {V}, 1, 0, V, false},
    {"cosh", {V}, 1, 0, V, false},
    {"count_over_time", {M}, 1, 0, V, false},
    {"day_of_month", {V}, 1, 1, V, false},
    {"day_of_week", {V}, 1, 1, V, false},
    {"day_of_year", {V}, 1, 1, V, false},
    {"days_in_month", {V}, 1, 1, V, false},
    {"deg", {V}, 1, 0, V, false},
    {"delta", {M}, 1, 0, V, false},
    {"deriv", {M}, 1, 0, V, false},
    {"double_exponential_smoothing", {M, S, S}, 3, 0, V, true},
    {"end", {0}, 0, 0, S, true},
    {"exp", {V}, 1, 0, V, false},
    {"first_over_time", {M}, 1, 0, V, false},
    {"floor", {V}, 1, 0, V, false},
    {"histogram_avg", {V}, 1, 0, V, false},
    {"histogram_count", {V}, 1, 0, V, false},
    {"histogram_fraction", {S, S, V}, 3, 0, V, false},
    {"histogram_quantile", {S, V}, 2, 0, V, false},
    {"histogram_quantiles", {V, STR, S, S}, 4, 9, V, true},
    {"histogram_stddev", {V}, 1, 0, V, false},
    {"histogram_stdvar", {V}, 1, 0, V, false},
    {"histogram_sum", {V}, 1, 0, V, false},
    {"hour", {V}, 1, 1, V, false},
    {"idelta", {M}, 1, 0, V, false},
    {"increase", {M}, 1, 0, V, false},
    {"info", {V, V}, 2, 1, V, true},
    {"irate", {M}, 1, 0, V, false},
    {"label_join", {V, STR, STR, STR}, 4, -1, V, false},
    {"label_replace", {V, STR, STR, STR, STR}, 5, 0, V, false},
    {"last_over_time", {M}, 1, 0, V, false},
    {"ln", {V}, 1, 0, V, false},
    {"log10", {V}, 1, 0, V, false},
    {"log2", {V}, 1, 0, V, false},
    {"mad_over_time", {M}, 1, 0, V, true},
    {"max_of", {S, S}, 2, 0, S, true},
    {"max_over_time", {M}, 1, 0, V, false},
    {"min_of", {S, S}, 2, 0, S, true},
    {"min_over_time", {M}, 1, 0, V, false},
    {"minute", {V}, 1, 1, V, false},
    {"month", {V}, 1, 1, V, false},
    {"pi", {0}, 0, 0, S, false},
    {"predict_linear", {M, S}, 2, 0, V, false},
    {"present_over_time", {M}, 1, 0, V, false},
    {"quantile_over_time", {S, M}, 2, 0, V, false},
    {"rad", {V}, 1, 0, V, false},
    {"range", {0}, 0, 0, S, true},
    {"rate", {M}, 1, 0, V, false},
    {"resets", {M}, 1, 0, V, false},
    {"round", {V, S}, 2, 1, V, false},
    {"scalar", {V}, 1, 0, S, false},
    {"sgn", {V}, 1, 0, V, false},
    {"sin", {V}, 1, 0, V, false},
    {"sinh", {V}, 1, 0, V, false},
    {"sort", {V}, 1, 0, V, false},
    {"sort_by_label", {V, STR}, 2, -1, V, true},
    {"sort_by_label_desc", {V, STR}, 2, -1, V, true},
    {"sort_desc", {V}, 1, 0, V, false},
    {"sqrt", {V}, 1, 0, V, false},
    {"start", {0}, 0, 0, S, true},
    {"start_timestamp", {V}, 1, 0, V, true},
    {"stddev_over_time", {M}, 1, 0, V, false},
    {"stdvar_over_time", {M}, 1, 0, V, false},
    {"step", {0}, 0, 0, S, true},
    {"sum_over_time", {M}, 1, 0, V, false},
    {"tan", {V}, 1, 0, V, false},
    {"tanh", {V}, 1, 0, V, false},
    {"time", {0}, 0, 0, S, false},
    {"timestamp", {V}, 1, 0, V, false},
    {"ts_of_first_over_time", {M}, 1, 0, V, true},
    {"ts_of_last_over_time", {M}, 1, 0, V, true},
    {"ts_of_max_over_time", {M}, 1, 0, V, true},
    {"ts_of_min_over_time", {M}, 1, 0, V, true},
    {"vector", {S}, 1, 0, V, false},
    {"year", {V}, 1, 1, V, false},
};

#undef S
#undef V
#undef M
#undef STR

#define N_FUNCTIONS (sizeof functions / sizeof functions[0])

const promql_function_t *promql_function_lookup(const char *name, size_t len) {
    size_t lo = 0, hi = N_FUNCTIONS;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *f = functions[mid].name;
        size_t fl = strlen(f);
        int c = memcmp(name, f, len < fl ? len : fl);
        if (c == 0) c = len < fl ? -1 : len > fl ? 1 : 0;
        if (c == 0) return &functions[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const promql_function_t *promql_functions(size_t *out_n) {
    *out_n = N_FUNCTIONS;
    return functions;
}

const char *promql_type_name(promql_type_t t) {
    switch (t) {
    case PROMQL_TYPE_SCALAR: return "scalar";
    case PROMQL_TYPE_VECTOR: return "instant vector";
    case PROMQL_TYPE_MATRIX: return "range vector";
    case PROMQL_TYPE_STRING: return "string";
    default: return "none";
    }
}

const char *promql_op_str(promql_op_t op) {
    static const char *names[] = {
        [PROMQL_OP_NONE] = "",         [PROMQL_OP_ADD] = "+",         [PROMQL_OP_SUB] = "-",
        [PROMQL_OP_MUL] = "*",         [PROMQL_OP_DIV] = "/",         [PROMQL_OP_MOD] = "%",
        [PROMQL_OP_POW] = "^",         [PROMQL_OP_ATAN2] = "atan2",   [PROMQL_OP_EQLC] = "==",
        [PROMQL_OP_NEQ] = "!=",        [PROMQL_OP_LTE] = "<=",        [PROMQL_OP_LSS] = "<",
        [PROMQL_OP_GTE] = ">=",        [PROMQL_OP_GTR] = ">",         [PROMQL_OP_TRIM_UPPER] = "</",
        [PROMQL_OP_TRIM_LOWER] = ">/", [PROMQL_OP_AND] = "and",       [PROMQL_OP_OR] = "or",
        [PROMQL_OP_UNLESS] = "unless", [PROMQL_OP_STEP] = "step",     [PROMQL_OP_RANGE] = "range",
        [PROMQL_OP_MIN_OF] = "min_of", [PROMQL_OP_MAX_OF] = "max_of",
    };
    return (unsigned)op < sizeof names / sizeof names[0] ? names[op] : "";
}

bool promql_op_is_comparison(promql_op_t op) {
    return op == PROMQL_OP_EQLC || op == PROMQL_OP_NEQ || op == PROMQL_OP_LTE ||
           op == PROMQL_OP_LSS || op == PROMQL_OP_GTE || op == PROMQL_OP_GTR;
}

bool promql_op_is_set(promql_op_t op) {
    return op == PROMQL_OP_AND || op == PROMQL_OP_OR || op == PROMQL_OP_UNLESS;
}

const char *promql_agg_op_str(promql_agg_op_t op) {
    static const char *names[] = {"sum",          "avg",      "count",  "min",        "max",
                                  "group",        "stddev",   "stdvar", "topk",       "bottomk",
                                  "count_values", "quantile", "limitk", "limit_ratio"};
    return (unsigned)op < sizeof names / sizeof names[0] ? names[op] : "";
}

bool promql_agg_has_param(promql_agg_op_t op) {
    return op == PROMQL_AGG_TOPK || op == PROMQL_AGG_BOTTOMK || op == PROMQL_AGG_COUNT_VALUES ||
           op == PROMQL_AGG_QUANTILE || op == PROMQL_AGG_LIMITK || op == PROMQL_AGG_LIMIT_RATIO;
}

promql_type_t promql_expr_type(const promql_expr_t *e) {
    switch (e->kind) {
    case PROMQL_NUMBER:
    case PROMQL_DURATION_EXPR: return PROMQL_TYPE_SCALAR;
    case PROMQL_STRING: return PROMQL_TYPE_STRING;
    case PROMQL_VECTOR:
    case PROMQL_AGGREGATE: return PROMQL_TYPE_VECTOR;
    case PROMQL_MATRIX:
    case PROMQL_SUBQUERY: return PROMQL_TYPE_MATRIX;
    case PROMQL_PAREN: return promql_expr_type(e->u.paren.expr);
    case PROMQL_UNARY: return promql_expr_type(e->u.unary.expr);
    case PROMQL_BINARY:
        if (promql_expr_type(e->u.binary.lhs) == PROMQL_TYPE_SCALAR &&
            promql_expr_type(e->u.binary.rhs) == PROMQL_TYPE_SCALAR)
            return PROMQL_TYPE_SCALAR;
        return PROMQL_TYPE_VECTOR;
    case PROMQL_CALL: return e->u.call.func->return_type;
    }
    return PROMQL_TYPE_NONE;
}

size_t promql_expr_children(const promql_expr_t *e, const promql_expr_t **out, size_t max) {
    const promql_expr_t *c[2];
    size_t n = 0;
    switch (e->kind) {
    case PROMQL_AGGREGATE:
        c[n++] = e->u.aggregate.expr;
        if (e->u.aggregate.param) c[n++] = e->u.aggregate.param;
        break;
    case PROMQL_BINARY:
        c[n++] = e->u.binary.lhs;
        c[n++] = e->u.binary.rhs;
        break;
    case PROMQL_CALL:
        for (size_t i = 0; i < e->u.call.n_args && i < max; i++)
            out[i] = e->u.call.args[i];
        return e->u.call.n_args;
    case PROMQL_SUBQUERY: c[n++] = e->u.subquery.expr; break;
    case PROMQL_PAREN: c[n++] = e->u.paren.expr; break;
    case PROMQL_UNARY: c[n++] = e->u.unary.expr; break;
    case PROMQL_MATRIX: c[n++] = e->u.matrix.vector; break;
    default: break;
    }
    for (size_t i = 0; i < n && i < max; i++)
        out[i] = c[i];
    return n;
}

static int walk(const promql_expr_t *e, const promql_expr_t *parent, promql_visit_fn fn,
                void *ctx) {
    int rc = fn(e, parent, ctx);
    if (rc < 0) return rc;
    if (rc == 1) return 0;
    if (e->kind == PROMQL_CALL) {
        for (size_t i = 0; i < e->u.call.n_args; i++) {
            rc = walk(e->u.call.args[i], e, fn, ctx);
            if (rc < 0) return rc;
        }
        return 0;
    }
    const promql_expr_t *c[2];
    size_t n = promql_expr_children(e, c, 2);
    for (size_t i = 0; i < n; i++) {
        rc = walk(c[i], e, fn, ctx);
        if (rc < 0) return rc;
    }
    return 0;
}

int promql_walk(const promql_expr_t *e, promql_visit_fn fn, void *ctx) {
    return walk(e, NULL, fn, ctx);
}

/* ------------------------------------------------------------ equality */

static bool str_eq(promql_str_t a, promql_str_t b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0);
}

static bool num_eq(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

static bool strs_eq(const promql_str_t *a, size_t na, const promql_str_t *b, size_t nb) {
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++)
        if (!str_eq(a[i], b[i])) return false;
    return true;
}

/* @ timestamps go through "%.3f" seconds when printed: beyond 2^53 ms a
 * double cannot hold every millisecond, so there they compare loosely. */
static bool at_ms_eq(int64_t a, int64_t b) {
    if (a == b) return true;
    double d = fabs((double)a - (double)b), m = fmax(fabs((double)a), fabs((double)b));
    return m > 9007199254740992.0 && d <= m * 1e-15 + 2;
}

static int cmp_matcher(const void *pa, const void *pb) {
    const promql_matcher_t *a = *(const promql_matcher_t *const *)pa;
    const promql_matcher_t *b = *(const promql_matcher_t *const *)pb;
    size_t n = a->name.len < b->name.len ? a->name.len : b->name.len;
    int c = n ? memcmp(a->name.s, b->name.s, n) : 0;
    if (c) return c;
    if (a->name.len != b->name.len) return a->name.len < b->name.len ? -1 : 1;
    if (a->type != b->type) return a->type < b->type ? -1 : 1;
    n = a->value.len < b->value.len ? a->value.len : b->value.len;
    c = n ? memcmp(a->value.s, b->value.s, n) : 0;
    if (c) return c;
    if (a->value.len != b->value.len) return a->value.len < b->value.len ? -1 : 1;
    return 0;
}

/* The same matchers in any order (printing sorts them). */
static bool matchers_eq(const promql_matcher_t *a, const promql_matcher_t *b, size_t n) {
    const promql_matcher_t **sa = vg_malloc(2 * n * sizeof *sa + 1), **sb = sa + n;
    for (size_t i = 0; i < n; i++)
        sa[i] = &a[i], sb[i] = &b[i];
    qsort(sa, n, sizeof *sa, cmp_matcher);
    qsort(sb, n, sizeof *sb, cmp_matcher);
    bool eq = true;
    for (size_t i = 0; i < n && eq; i++)
        eq = cmp_matcher(&sa[i], &sb[i]) == 0;
    free(sa);
    return eq;
}

static bool mod_eq(const promql_modifiers_t *a, const promql_modifiers_t *b) {
    if (a->offset_ms != b->offset_ms || a->at != b->at) return false;
    if (a->at == PROMQL_AT_TIMESTAMP && !at_ms_eq(a->at_ms, b->at_ms)) return false;
    if (!a->offset_expr != !b->offset_expr) return false;
    return !a->offset_expr || promql_expr_equal(a->offset_expr, b->offset_expr);
}

static bool opt_eq(const promql_expr_t *a, const promql_expr_t *b) {
    if (!a || !b) return a == b;
    return promql_expr_equal(a, b);
}

bool promql_expr_equal(const promql_expr_t *a, const promql_expr_t *b) {
    if (a->kind != b->kind) return false;
    switch (a->kind) {
    case PROMQL_NUMBER:
        if (a->u.number.duration != b->u.number.duration) return false;
        /* a duration prints as "0s" whatever the sign of its zero */
        if (a->u.number.duration) return a->u.number.value == b->u.number.value;
        return num_eq(a->u.number.value, b->u.number.value);
    case PROMQL_STRING: return str_eq(a->u.string, b->u.string);
    case PROMQL_VECTOR: {
        if (!str_eq(a->u.vector.name, b->u.vector.name)) return false;
        if (a->u.vector.n_matchers != b->u.vector.n_matchers) return false;
        if (!matchers_eq(a->u.vector.matchers, b->u.vector.matchers, a->u.vector.n_matchers))
            return false;
        return mod_eq(&a->u.vector.mod, &b->u.vector.mod) &&
               a->u.vector.anchored == b->u.vector.anchored &&
               a->u.vector.smoothed == b->u.vector.smoothed;
    }
    case PROMQL_MATRIX:
        return a->u.matrix.range_ms == b->u.matrix.range_ms &&
               opt_eq(a->u.matrix.range_expr, b->u.matrix.range_expr) &&
               promql_expr_equal(a->u.matrix.vector, b->u.matrix.vector);
    case PROMQL_SUBQUERY:
        return a->u.subquery.range_ms == b->u.subquery.range_ms &&
               a->u.subquery.step_ms == b->u.subquery.step_ms &&
               opt_eq(a->u.subquery.range_expr, b->u.subquery.range_expr) &&
               opt_eq(a->u.subquery.step_expr, b->u.subquery.step_expr) &&
               mod_eq(&a->u.subquery.mod, &b->u.subquery.mod) &&
               promql_expr_equal(a->u.subquery.expr, b->u.subquery.expr);
    case PROMQL_PAREN: return promql_expr_equal(a->u.paren.expr, b->u.paren.expr);
    case PROMQL_UNARY:
        return a->u.unary.op == b->u.unary.op &&
               promql_expr_equal(a->u.unary.expr, b->u.unary.expr);
    case PROMQL_BINARY: {
        if (a->u.binary.op != b->u.binary.op || a->u.binary.return_bool != b->u.binary.return_bool)
            return false;
        const promql_vector_matching_t *x = a->u.binary.matching, *y = b->u.binary.matching;
        if (!x != !y) return false;
        if (x) {
            if (x->card != y->card || x->on != y->on || x->has_fill_lhs != y->has_fill_lhs ||
                x->has_fill_rhs != y->has_fill_rhs)
                return false;
            if (x->has_fill_lhs && !num_eq(x->fill_lhs, y->fill_lhs)) return false;
            if (x->has_fill_rhs && !num_eq(x->fill_rhs, y->fill_rhs)) return false;
            if (!strs_eq(x->labels, x->n_labels, y->labels, y->n_labels)) return false;
            if (!strs_eq(x->include, x->n_include, y->include, y->n_include)) return false;
        }
        return promql_expr_equal(a->u.binary.lhs, b->u.binary.lhs) &&
               promql_expr_equal(a->u.binary.rhs, b->u.binary.rhs);
    }
    case PROMQL_AGGREGATE:
        return a->u.aggregate.op == b->u.aggregate.op &&
               a->u.aggregate.without == b->u.aggregate.without &&
               strs_eq(a->u.aggregate.grouping, a->u.aggregate.n_grouping, b->u.aggregate.grouping,
                       b->u.aggregate.n_grouping) &&
               opt_eq(a->u.aggregate.param, b->u.aggregate.param) &&
               promql_expr_equal(a->u.aggregate.expr, b->u.aggregate.expr);
    case PROMQL_CALL:
        if (a->u.call.func != b->u.call.func || a->u.call.n_args != b->u.call.n_args) return false;
        for (size_t i = 0; i < a->u.call.n_args; i++)
            if (!promql_expr_equal(a->u.call.args[i], b->u.call.args[i])) return false;
        return true;
    case PROMQL_DURATION_EXPR:
        return a->u.duration.op == b->u.duration.op &&
               a->u.duration.wrapped == b->u.duration.wrapped &&
               opt_eq(a->u.duration.lhs, b->u.duration.lhs) &&
               opt_eq(a->u.duration.rhs, b->u.duration.rhs);
    }
    return false;
}
