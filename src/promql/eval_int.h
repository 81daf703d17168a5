/*
 * promql evaluator internals shared by eval.c (engine, selectors, steps),
 * eval_binop.c (operators), eval_agg.c (aggregations) and func*.c
 * (functions).
 *
 * Model (as Prometheus's engine): every expression is evaluated once for
 * all the steps of the query. An instant vector over the steps is a set of
 * series whose points sit on step timestamps (a series has no point at a
 * step where it has no value); a scalar is one series with a point at
 * every step; an instant query is a range query of one step. Range vectors
 * only exist as function arguments (windows slid over decoded samples) or
 * as the result of an instant query.
 *
 * Errors are returned (negative codes with ev->err set); the caller frees
 * what it holds. Intermediate values are heap memory counted against
 * max_samples as Prometheus counts them (points held at once).
 */
#ifndef VG_PROMQL_EVAL_INT_H
#define VG_PROMQL_EVAL_INT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "promql/promql.h"

/* One series of an intermediate value. */
typedef struct ev_series {
    labels_t *ls;        /* owned */
    promql_point_t *pts; /* owned (heap) */
    size_t n, cap;
    bool drop_name; /* __name__ goes at the end of evaluation */
} ev_series_t;

/* An intermediate value: VECTOR (series over the steps), SCALAR (one
 * series, one point per step, no labels), MATRIX (raw samples) or STRING. */
typedef struct ev_value {
    promql_type_t type;
    ev_series_t *s;
    size_t n, cap;
    const char *str; /* STRING: in the tree's arena */
} ev_value_t;

/* An annotation list: strings owned. */
typedef struct ev_annos {
    char **v;
    size_t n, cap;
} ev_annos_t;

typedef struct ev_ptrset {
    const void **slots;
    size_t cap, n;
} ev_ptrset_t;

typedef struct promql_engine promql_engine_t;

/* The evaluation of one query. Sub-evaluators (subqueries, step-invariant
 * parts) copy it and change the time range. */
typedef struct ev {
    promql_engine_t *eng;
    tsdb_t *db;
    const promql_ast_t *ast;
    int64_t start, end, interval; /* this evaluator's steps */
    size_t n_steps;
    int64_t q_start, q_end, q_step; /* the query's: @ start()/end(), step() */
    int64_t lookback;
    int64_t sub_step_default;
    size_t *cur_samples; /* shared by sub-evaluators */
    size_t max_samples;
    double deadline; /* vg_time_mono() */
    unsigned tick;
    bool experimental;
    ev_ptrset_t *wrap; /* step-invariant nodes (pointers into the tree) */
    ev_annos_t *warnings, *infos;
    vg_err_t *err;
} ev_t;

/* ------------------------------------------------------------- values */

void ev_value_init(ev_value_t *v, promql_type_t type);
void ev_value_free(ev_t *ev, ev_value_t *v);
/* Appends a series taking ls; returns its index. */
size_t ev_value_add(ev_value_t *v, labels_t *ls, bool drop_name);
/* Appends a point to series s; checks the sample limit. */
int ev_series_push(ev_t *ev, ev_series_t *s, int64_t t, double f);
void ev_series_free_points(ev_t *ev, ev_series_t *s);
/* Drops series without points (frees them). */
void ev_value_compact(ev_t *ev, ev_value_t *v);

int ev_too_many(ev_t *ev);
/* Checks the deadline every few calls. */
int ev_check(ev_t *ev);
int ev_errf(ev_t *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Annotations with the position of e ("(1:15)" appended). */
void ev_warn(ev_t *ev, const promql_expr_t *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ev_info(ev_t *ev, const promql_expr_t *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------ evaluate */

int ev_eval(ev_t *ev, const promql_expr_t *e, ev_value_t *out);
/* Evaluates a scalar expression into one value per step (out: n_steps). */
int ev_eval_scalar_steps(ev_t *ev, const promql_expr_t *e, double *out);
/* The milliseconds of a duration expression (offset, range, step). */
int ev_duration(ev_t *ev, const promql_expr_t *d, int64_t *out_ms);

const promql_expr_t *ev_unparen(const promql_expr_t *e);

static inline int64_t ev_step_ts(const ev_t *ev, size_t i) {
    return ev->start + (int64_t)i * ev->interval;
}

/* The labels of ls without __name__ (and __type__, __unit__). New set. */
labels_t *ev_drop_metric_name(const labels_t *ls);

/* Stale marker bits. */
static inline bool ev_is_stale(double v) {
    uint64_t b;
    memcpy(&b, &v, 8);
    return b == 0x7ff0000000000002ULL;
}

/* -------------------------------------------------- parts in other files */

int ev_binary(ev_t *ev, const promql_expr_t *e, ev_value_t *out);
int ev_aggregate(ev_t *ev, const promql_expr_t *e, ev_value_t *out);
int ev_call(ev_t *ev, const promql_expr_t *e, ev_value_t *out);

/* A window function over raw samples: returns true with *out set when the
 * window yields a value. args are the scalar arguments at this step. */
typedef struct ev_window {
    const promql_point_t *p;
    size_t n;
    int64_t ts;         /* the step's evaluation time */
    int64_t range_end;  /* ts - offset (@ applied) */
    int64_t range;      /* ms */
    const double *args; /* other (scalar) arguments */
    const labels_t *ls; /* the input series */
} ev_window_t;

/* Loads the series of a selector, for function use. Implemented in eval.c. */
typedef struct ev_source ev_source_t;

/* An instant selector whose values are the samples' timestamps in
 * seconds (timestamp(selector)); names marked to drop. */
int ev_selector_timestamps(ev_t *ev, const promql_expr_t *vs, ev_value_t *out);
/* Merges series with equal labels; the same timestamp twice is an error. */
int ev_merge_same(ev_t *ev, ev_value_t *v);
/* Go's %v of a float64 (as Prometheus's messages print numbers). */
void ev_fmt_g(double f, char *out, size_t cap);
double ev_quantile(double q, double *v, size_t n);
void ev_format_float_f(double f, char *out, size_t cap);

/* Range arguments (matrix selectors, subqueries) of functions. */
int ev_source_open(ev_t *ev, const promql_expr_t *arg, ev_source_t **out);
size_t ev_source_len(const ev_source_t *src);
int ev_source_load(ev_t *ev, ev_source_t *src, size_t i, const promql_point_t **pts, size_t *n,
                   const labels_t **ls, bool *drop_name);
void ev_source_window(const ev_source_t *src, int64_t ts, int64_t *lo_excl, int64_t *hi_incl);
int64_t ev_source_range(const ev_source_t *src);
const promql_expr_t *ev_source_selector(const ev_source_t *src);
void ev_source_close(ev_t *ev, ev_source_t *src);

/* Sorts the series of a value by labels. */
void ev_value_sort(ev_value_t *v);

/* A small hash map uint64 -> size_t for grouping and matching. */
typedef struct ev_map {
    uint64_t *keys;
    size_t *vals;
    uint8_t *used;
    size_t cap, n;
} ev_map_t;

void ev_map_init(ev_map_t *m, size_t hint);
void ev_map_free(ev_map_t *m);
/* Finds key: returns a pointer to its value, or NULL. */
size_t *ev_map_get(const ev_map_t *m, uint64_t key);
/* Inserts key (must be absent) with val. */
void ev_map_put(ev_map_t *m, uint64_t key, size_t val);

#endif
