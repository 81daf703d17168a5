/*
 * promql — the Prometheus query language: lexer, parser, AST and printer
 * (the evaluator joins this module later).
 *
 * What it does: promql_parse turns a query into a typed, checked syntax tree
 * with the grammar, operator precedence, type rules and error messages of
 * Prometheus 3.x ("1:5: parse error: unexpected <op:*>"); promql_print
 * renders a tree the way Prometheus's Expr.String() does, so that parse ->
 * print -> parse gives the same tree. docs/promql.md lists what parses and
 * where vigil differs.
 *
 * What it owns: a promql_ast_t owns every node, string and compiled label
 * matcher of one parsed query, in one arena; promql_ast_free releases all of
 * it. The function table is static and read-only.
 *
 * Threads: parsing is reentrant (no global state). A tree is read-only once
 * returned and may be read by any number of threads at once.
 *
 * Positions are byte offsets into the query, [start, end).
 */
#ifndef VG_PROMQL_H
#define VG_PROMQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "labels/labels.h"
#include "tsdb/tsdb.h"

/* ------------------------------------------------------------- options */

/* Limits applied when the options leave them at 0. */
#define PROMQL_MAX_QUERY_LEN (1u << 20) /* bytes */
#define PROMQL_MAX_DEPTH 1000u          /* nesting of the syntax tree */

typedef struct promql_parse_opts {
    /* Experimental functions and aggregations (info, limitk, limit_ratio,
     * sort_by_label, double_exponential_smoothing, mad_over_time, ts_of_*,
     * histogram_quantiles, start/end/range/step, min_of/max_of,
     * start_timestamp): --enable-feature=promql-experimental-functions. */
    bool experimental_functions;
    /* Duration arithmetic in ranges, steps and offsets: [5m+1m], step(),
     * range(), min_of(), offset (1h/2): promql-duration-expr. */
    bool duration_expr;
    /* The anchored and smoothed selector modifiers. */
    bool extended_range;
    /* fill(), fill_left(), fill_right() on binary operations. */
    bool fill_modifiers;
    size_t max_len;     /* 0: PROMQL_MAX_QUERY_LEN */
    unsigned max_depth; /* 0: PROMQL_MAX_DEPTH */
} promql_parse_opts_t;

/* ---------------------------------------------------------------- types */

typedef enum promql_type {
    PROMQL_TYPE_NONE = 0,
    PROMQL_TYPE_SCALAR,
    PROMQL_TYPE_VECTOR, /* instant vector */
    PROMQL_TYPE_MATRIX, /* range vector */
    PROMQL_TYPE_STRING,
} promql_type_t;

/* "scalar", "instant vector", "range vector", "string", "none": the names
 * Prometheus's messages use (DocumentedType). */
const char *promql_type_name(promql_type_t t);

typedef enum promql_kind {
    PROMQL_NUMBER = 0,    /* number literal */
    PROMQL_STRING,        /* string literal */
    PROMQL_VECTOR,        /* instant vector selector */
    PROMQL_MATRIX,        /* range vector selector: selector[range] */
    PROMQL_SUBQUERY,      /* expr[range:step] */
    PROMQL_PAREN,         /* (expr) */
    PROMQL_UNARY,         /* -expr, +expr */
    PROMQL_BINARY,        /* lhs op rhs */
    PROMQL_AGGREGATE,     /* sum by (x) (expr) */
    PROMQL_CALL,          /* function call */
    PROMQL_DURATION_EXPR, /* duration arithmetic inside [] or after offset */
} promql_kind_t;

/* Operators of binary, unary and duration expressions. */
typedef enum promql_op {
    PROMQL_OP_NONE = 0,
    PROMQL_OP_ADD, /* + */
    PROMQL_OP_SUB, /* - */
    PROMQL_OP_MUL, /* * */
    PROMQL_OP_DIV, /* / */
    PROMQL_OP_MOD, /* % */
    PROMQL_OP_POW, /* ^ */
    PROMQL_OP_ATAN2,
    PROMQL_OP_EQLC,       /* == */
    PROMQL_OP_NEQ,        /* != */
    PROMQL_OP_LTE,        /* <= */
    PROMQL_OP_LSS,        /* < */
    PROMQL_OP_GTE,        /* >= */
    PROMQL_OP_GTR,        /* > */
    PROMQL_OP_TRIM_UPPER, /* </ (native histograms) */
    PROMQL_OP_TRIM_LOWER, /* >/ */
    PROMQL_OP_AND,
    PROMQL_OP_OR,
    PROMQL_OP_UNLESS,
    /* Only in duration expressions. */
    PROMQL_OP_STEP,   /* step() */
    PROMQL_OP_RANGE,  /* range() */
    PROMQL_OP_MIN_OF, /* min_of(a, b) */
    PROMQL_OP_MAX_OF, /* max_of(a, b) */
} promql_op_t;

/* "+", "==", "and", "atan2", "step", ... */
const char *promql_op_str(promql_op_t op);
bool promql_op_is_comparison(promql_op_t op); /* == != <= < >= > */
bool promql_op_is_set(promql_op_t op);        /* and or unless */

typedef enum promql_agg_op {
    PROMQL_AGG_SUM = 0,
    PROMQL_AGG_AVG,
    PROMQL_AGG_COUNT,
    PROMQL_AGG_MIN,
    PROMQL_AGG_MAX,
    PROMQL_AGG_GROUP,
    PROMQL_AGG_STDDEV,
    PROMQL_AGG_STDVAR,
    PROMQL_AGG_TOPK,         /* param: scalar */
    PROMQL_AGG_BOTTOMK,      /* param: scalar */
    PROMQL_AGG_COUNT_VALUES, /* param: string */
    PROMQL_AGG_QUANTILE,     /* param: scalar */
    PROMQL_AGG_LIMITK,       /* param: scalar (experimental) */
    PROMQL_AGG_LIMIT_RATIO,  /* param: scalar (experimental) */
} promql_agg_op_t;

const char *promql_agg_op_str(promql_agg_op_t op); /* "sum", "count_values", ... */
bool promql_agg_has_param(promql_agg_op_t op);

/* ------------------------------------------------------------ functions */

typedef struct promql_function {
    const char *name;
    promql_type_t arg_types[5];
    uint8_t n_arg_types;
    /* 0: exactly n_arg_types arguments; n > 0: the last type may repeat so
     * that up to n_arg_types - 1 + n arguments are allowed (at least
     * n_arg_types - 1); -1: the last type repeats without limit. */
    int8_t variadic;
    promql_type_t return_type;
    bool experimental;
} promql_function_t;

/* Looks a function up by its exact (case-sensitive) name; NULL if none. The
 * result points into a static table. */
const promql_function_t *promql_function_lookup(const char *name, size_t len);
/* The whole table, sorted by name, for listings and the evaluator's
 * dispatch. */
const promql_function_t *promql_functions(size_t *out_n);

/* ------------------------------------------------------------------ AST */

typedef struct promql_expr promql_expr_t;

/* A byte string in the tree's arena, NUL-terminated for convenience (it may
 * itself contain NUL bytes: use len). */
typedef struct promql_str {
    const char *s;
    size_t len;
} promql_str_t;

typedef struct promql_matcher {
    labels_match_type_t type;
    promql_str_t name;
    promql_str_t value;
    labels_matcher_t *compiled; /* owned by the tree */
} promql_matcher_t;

/* What the @ modifier says. */
typedef enum promql_at {
    PROMQL_AT_NONE = 0,
    PROMQL_AT_TIMESTAMP, /* @ <at_ms> */
    PROMQL_AT_START,     /* @ start() */
    PROMQL_AT_END,       /* @ end() */
} promql_at_t;

/* The offset and @ modifiers of a selector or subquery. */
typedef struct promql_modifiers {
    int64_t offset_ms;          /* used when offset_expr is NULL */
    promql_expr_t *offset_expr; /* a PROMQL_DURATION_EXPR, or NULL */
    promql_at_t at;
    int64_t at_ms;
} promql_modifiers_t;

typedef enum promql_card {
    PROMQL_CARD_ONE_TO_ONE = 0,
    PROMQL_CARD_MANY_TO_ONE,  /* group_left */
    PROMQL_CARD_ONE_TO_MANY,  /* group_right */
    PROMQL_CARD_MANY_TO_MANY, /* set operators */
} promql_card_t;

typedef struct promql_vector_matching {
    promql_card_t card;
    bool on;              /* on(...) rather than ignoring(...) */
    promql_str_t *labels; /* on/ignoring labels */
    size_t n_labels;
    promql_str_t *include; /* group_left/group_right labels */
    size_t n_include;
    bool has_fill_lhs, has_fill_rhs;
    double fill_lhs, fill_rhs;
} promql_vector_matching_t;

struct promql_expr {
    promql_kind_t kind;
    uint32_t start, end; /* byte offsets in the query */
    uint32_t height;     /* 1 for a leaf: the depth of the subtree */
    union {
        struct {
            double value;
            bool duration; /* written as a duration: printed as one */
        } number;
        promql_str_t string;
        struct {
            promql_str_t name;          /* empty when written only in braces */
            promql_matcher_t *matchers; /* all of them, the name last */
            size_t n_matchers;
            promql_modifiers_t mod;
            bool anchored, smoothed;
            bool bypass_empty_check; /* the second argument of info() */
        } vector;
        struct {
            promql_expr_t *vector; /* normally a PROMQL_VECTOR */
            int64_t range_ms;      /* used when range_expr is NULL */
            promql_expr_t *range_expr;
        } matrix;
        struct {
            promql_expr_t *expr;
            int64_t range_ms;
            promql_expr_t *range_expr;
            int64_t step_ms; /* 0: the default step */
            promql_expr_t *step_expr;
            promql_modifiers_t mod;
        } subquery;
        struct {
            promql_expr_t *expr;
        } paren;
        struct {
            promql_op_t op; /* ADD or SUB */
            promql_expr_t *expr;
        } unary;
        struct {
            promql_op_t op;
            promql_expr_t *lhs, *rhs;
            bool return_bool;
            /* NULL unless both sides are instant vectors. */
            promql_vector_matching_t *matching;
        } binary;
        struct {
            promql_agg_op_t op;
            promql_expr_t *expr;
            promql_expr_t *param; /* NULL unless promql_agg_has_param */
            promql_str_t *grouping;
            size_t n_grouping;
            bool without;
        } aggregate;
        struct {
            const promql_function_t *func;
            promql_expr_t **args;
            size_t n_args;
        } call;
        struct {
            /* ADD/SUB/MUL/DIV/MOD/POW with lhs and rhs; unary SUB or a
             * parenthesised ADD with only rhs; STEP and RANGE with neither;
             * MIN_OF/MAX_OF with both. Operands are PROMQL_NUMBER or
             * PROMQL_DURATION_EXPR nodes, numbers in seconds. */
            promql_op_t op;
            promql_expr_t *lhs, *rhs;
            bool wrapped; /* written in parentheses */
        } duration;
    } u;
};

/* One parsed query. */
typedef struct promql_ast {
    promql_expr_t *root;
    const char *query; /* a copy, in the arena */
    size_t query_len;
    vg_arena_t *arena;
    labels_matcher_t **compiled; /* every compiled matcher, for freeing */
    size_t n_compiled, cap_compiled;
} promql_ast_t;

/* ---------------------------------------------------------------- parse */

/* Parses and type-checks query (borrowed for the call; the tree keeps a
 * copy). opts may be NULL (all experimental syntax off, default limits).
 * On success *out is a new tree owned by the caller (promql_ast_free). On
 * failure returns VG_ERR_INPUT (or VG_ERR_LIMIT for the length, depth and
 * memory limits) with err->msg as Prometheus prints a ParseErr:
 * "<line>:<col>: parse error: <message>"; *out_pos (if not NULL) gets the
 * byte offset the message refers to. */
int promql_parse(const char *query, size_t len, const promql_parse_opts_t *opts, promql_ast_t **out,
                 size_t *out_pos, vg_err_t *err);
void promql_ast_free(promql_ast_t *ast);

/* The value type of an expression. */
promql_type_t promql_expr_type(const promql_expr_t *e);

/* Children in Prometheus's order (aggregate: expr then param; binary: lhs,
 * rhs; call: args; duration operands are not children). Writes at most max
 * pointers to out and returns how many there are. */
size_t promql_expr_children(const promql_expr_t *e, const promql_expr_t **out, size_t max);

/* Calls fn on e and, depth first, on every descendant (pre-order). fn
 * returns 0 to go on, 1 to skip the node's children, a negative value to
 * stop the walk; promql_walk returns that negative value or 0. parent is
 * NULL for e itself. */
typedef int (*promql_visit_fn)(const promql_expr_t *e, const promql_expr_t *parent, void *ctx);
int promql_walk(const promql_expr_t *e, promql_visit_fn fn, void *ctx);

/* Whether two trees are the same query: every field but the positions. */
bool promql_expr_equal(const promql_expr_t *a, const promql_expr_t *b);

/* ---------------------------------------------------------------- print */

/* Appends e as Prometheus's Expr.String() prints it: canonical spacing,
 * parentheses where the query had them, durations as "1h30m", numbers in
 * Go's shortest form, matchers sorted, the metric name outside braces. */
void promql_print(const promql_expr_t *e, vg_buf_t *out);
/* The same into a new heap string (caller frees). */
char *promql_format(const promql_expr_t *e);

/* Appends s as Go's strconv.Quote does (double quotes, Go escapes, invalid
 * UTF-8 as \x..). Used for strings and label values in PromQL output. */
void promql_quote(const char *s, size_t len, vg_buf_t *out);

/* ----------------------------------------------------------- evaluation */

/* The engine evaluates a parsed query over the tsdb with Prometheus 3.x
 * semantics: left-open range selectors and lookback window, staleness
 * markers ending a series, offset and @ (start()/end()), subqueries, vector
 * matching, every aggregation and function of promql_functions(), float
 * semantics of Go (NaN, ±Inf, -0), and Prometheus's result ordering. Native
 * histograms are not evaluated yet. */

typedef struct promql_point {
    int64_t t; /* milliseconds */
    double v;
} promql_point_t;

/* One series of a vector (one point) or of a matrix (points in time
 * order). */
typedef struct promql_series {
    labels_t *labels; /* owned by the value */
    promql_point_t *points;
    size_t n_points;
} promql_series_t;

/* A query's result. Everything it points to belongs to it. */
typedef struct promql_value {
    promql_type_t type; /* SCALAR, VECTOR, MATRIX (range queries and
                           range-vector instant queries) or STRING */
    double scalar;      /* SCALAR */
    int64_t t;          /* SCALAR and STRING: the evaluation time */
    const char *string; /* STRING */
    promql_series_t *series;
    size_t n_series;
    /* Annotations as Prometheus words them ("PromQL warning: ... (1:15)"). */
    char **warnings;
    size_t n_warnings;
    char **infos;
    size_t n_infos;
    void *priv;
} promql_value_t;

typedef struct promql_engine_opts {
    int64_t lookback_ms;              /* 0: 5 minutes (--query.lookback-delta) */
    int64_t timeout_ms;               /* 0: 2 minutes (--query.timeout) */
    size_t max_samples;               /* 0: 50 000 000 (--query.max-samples) */
    unsigned max_concurrency;         /* 0: 20 (--query.max-concurrency) */
    int64_t default_subquery_step_ms; /* 0: 1 minute */
    promql_parse_opts_t parse;        /* which experimental syntax is on */
} promql_engine_opts_t;

typedef struct promql_engine promql_engine_t;

/* The engine is shared by every thread that queries; it holds only the
 * options and the concurrency gate. */
promql_engine_t *promql_engine_new(const promql_engine_opts_t *opts);
void promql_engine_free(promql_engine_t *e);

/* Failures of a query besides VG_ERR_INPUT (a parse error: bad_data, 400). */
#define PROMQL_ERR_EXEC (-300)     /* an execution error: "execution", 422 */
#define PROMQL_ERR_TOO_MANY (-301) /* over max_samples: "execution", 422 */
#define PROMQL_ERR_TIMEOUT (-302)  /* over the timeout: "timeout", 503 */
#define PROMQL_ERR_CANCELED (-303) /* "canceled", 422 */

/* Evaluates query at t (ms) over db (borrowed). On success *out is a new
 * value (promql_value_free). Errors carry Prometheus's messages, e.g.
 * "query processing would load too many samples into memory in query
 * execution". timeout_ms 0 uses the engine's. */
int promql_query_instant(promql_engine_t *e, tsdb_t *db, const char *query, size_t len,
                         int64_t t_ms, int64_t timeout_ms, promql_value_t **out, vg_err_t *err);

/* Evaluates query at start, start+step, ... <= end: the result is a matrix
 * (or an error for string/range-vector expressions, as Prometheus). */
int promql_query_range(promql_engine_t *e, tsdb_t *db, const char *query, size_t len,
                       int64_t start_ms, int64_t end_ms, int64_t step_ms, int64_t timeout_ms,
                       promql_value_t **out, vg_err_t *err);

void promql_value_free(promql_value_t *v);

#endif
