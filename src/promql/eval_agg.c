/*
 * This file implements the aggregation operators: sum, avg, count, min,
 * max, group, stddev, stdvar, quantile (one series per group), topk,
 * bottomk, limitk, limit_ratio (input series kept) and count_values (one
 * series per group and value), with by/without grouping and Prometheus's
 * output labels, summation (Kahan-Neumaier, switching to an incremental
 * mean on overflow) and ordering.
 *
 * Groups are found once per input series (their labels do not change
 * across steps); each step then only accumulates values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

#include "promql/eval_int.h"

static void kahan_inc(double inc, double *sum, double *c) {
    volatile double t = *sum + inc;
    if (isinf(t)) {
        *c = 0;
    } else if (fabs(*sum) >= fabs(inc)) {
        *c += (*sum - t) + inc;
    } else {
        *c += (inc - t) + *sum;
    }
    *sum = t;
}

/* Prometheus's quantile over values (sorted here; NaN first). */
static int cmp_nan_first(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x)) return isnan(y) ? 0 : -1;
    if (isnan(y)) return 1;
    return x < y ? -1 : x > y ? 1 : 0;
}

double ev_quantile(double q, double *v, size_t n) {
    if (n == 0 || isnan(q)) return NAN;
    if (q < 0) return -INFINITY;
    if (q > 1) return INFINITY;
    qsort(v, n, sizeof(double), cmp_nan_first);
    double rank = q * (double)(n - 1);
    double lo = fmax(0, floor(rank));
    double hi = fmin((double)(n - 1), lo + 1);
    double w = rank - floor(rank);
    return v[(size_t)lo] * (1 - w) + v[(size_t)hi] * w;
}

/* Go's strconv.FormatFloat(f, 'f', -1, 64): shortest digits, no exponent. */
void ev_format_float_f(double f, char *out, size_t cap) {
    if (isnan(f)) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (isinf(f)) {
        snprintf(out, cap, f > 0 ? "+Inf" : "-Inf");
        return;
    }
    char e[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec - 1, f);
        if (strtod(e, NULL) == f) break;
    }
    /* e is [-]d.ddde[+-]xx: digits and exponent. */
    char digits[24];
    size_t nd = 0;
    const char *p = e;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    char *o = out;
    char *end = out + cap - 1;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (o < end) *o++ = (c);                                                                   \
    } while (0)
    if (neg) PUT('-');
    int dp = exp + 1; /* digits before the point */
    if (dp <= 0) {
        PUT('0');
        PUT('.');
        for (int i = 0; i < -dp; i++)
            PUT('0');
        for (size_t i = 0; i < nd; i++)
            PUT(digits[i]);
    } else {
        for (int i = 0; i < dp; i++)
            PUT((size_t)i < nd ? digits[i] : '0');
        if ((size_t)dp < nd) {
            PUT('.');
            for (size_t i = (size_t)dp; i < nd; i++)
                PUT(digits[i]);
        }
    }
    *o = '\0';
#undef PUT
}

/* Prometheus's Labels.Hash (XXH64 of name 0xff value 0xff ...), which
 * limit_ratio's sampling depends on. */
static uint64_t prom_labels_hash(const labels_t *ls) {
    XXH64_state_t *st = XXH64_createState();
    XXH64_reset(st, 0);
    static const unsigned char sep = 0xff;
    size_t n = labels_len(ls);
    for (size_t i = 0; i < n; i++) {
        labels_label_t l = labels_at(ls, i);
        XXH64_update(st, l.name, l.name_len);
        XXH64_update(st, &sep, 1);
        XXH64_update(st, l.value, l.value_len);
        XXH64_update(st, &sep, 1);
    }
    uint64_t h = XXH64_digest(st);
    XXH64_freeState(st);
    return h;
}

typedef struct group {
    bool seen, drop_name, incr_mean;
    double value, mean, c, count;
    double *vals; /* quantile */
    size_t n_vals, cap_vals;
    /* topk/bottomk/limitk/limit_ratio: heap of input series indexes */
    size_t *heap;
    size_t n_heap;
    double *hv;
} group_t;

static labels_t *grouping_labels(labels_builder_t *b, const labels_t *ls, const char **names,
                                 size_t n, bool without) {
    if (without) {
        labels_builder_reset(b, ls);
        for (size_t i = 0; i < n; i++)
            labels_builder_del(b, names[i], strlen(names[i]));
        labels_builder_del(b, "__name__", 8);
        return labels_builder_labels(b);
    }
    if (n == 0) return labels_new_empty();
    labels_builder_reset(b, NULL);
    for (size_t i = 0; i < n; i++) {
        size_t vl = 0;
        const char *v = labels_get(ls, names[i], strlen(names[i]), &vl);
        if (v && vl) labels_builder_set(b, names[i], strlen(names[i]), v, vl);
    }
    return labels_builder_labels(b);
}

static uint64_t grouping_key(const labels_t *ls, const char **names, size_t n, bool without) {
    if (!without && n == 0) return 0;
    return labels_hash_names(ls, names, n, without);
}

/* Go's container/heap over series indexes with values hv (parallel). */
typedef bool (*less_fn)(double a, double b);
static bool less_val(double a, double b) { return isnan(a) ? true : a < b; }
static bool less_rev(double a, double b) { return isnan(a) ? true : a > b; }

static void heap_swap(group_t *g, size_t i, size_t j) {
    size_t t = g->heap[i];
    g->heap[i] = g->heap[j];
    g->heap[j] = t;
    double v = g->hv[i];
    g->hv[i] = g->hv[j];
    g->hv[j] = v;
}

static void heap_up(group_t *g, size_t j, less_fn less) {
    while (j > 0) {
        size_t i = (j - 1) / 2;
        if (!less(g->hv[j], g->hv[i])) break;
        heap_swap(g, i, j);
        j = i;
    }
}

static bool heap_down(group_t *g, size_t i0, size_t n, less_fn less) {
    size_t i = i0;
    for (;;) {
        size_t j1 = 2 * i + 1;
        if (j1 >= n) break;
        size_t j = j1;
        if (j1 + 1 < n && less(g->hv[j1 + 1], g->hv[j1])) j = j1 + 1;
        if (!less(g->hv[j], g->hv[i])) break;
        heap_swap(g, i, j);
        i = j;
    }
    return i > i0;
}

static void heap_push(group_t *g, size_t si, double v, less_fn less) {
    g->heap[g->n_heap] = si;
    g->hv[g->n_heap] = v;
    g->n_heap++;
    heap_up(g, g->n_heap - 1, less);
}

/* sort.Sort(sort.Reverse(heap)) for short heaps: Go's insertion sort. */
static void heap_sort_reverse(group_t *g, less_fn less) {
    for (size_t i = 1; i < g->n_heap; i++)
        for (size_t j = i; j > 0 && less(g->hv[j - 1], g->hv[j]); j--)
            heap_swap(g, j, j - 1);
}

static int eval_param(ev_t *ev, const promql_expr_t *p, double *vals, double *mn, double *mx,
                      bool *any_nan) {
    int rc = ev_eval_scalar_steps(ev, p, vals);
    if (rc) return rc;
    *mn = INFINITY;
    *mx = -INFINITY;
    *any_nan = false;
    for (size_t k = 0; k < ev->n_steps; k++) {
        if (isnan(vals[k])) {
            *any_nan = true;
            *mx = NAN;
            *mn = NAN;
        } else if (!isnan(*mx)) {
            if (vals[k] > *mx) *mx = vals[k];
            if (vals[k] < *mn) *mn = vals[k];
        }
    }
    return 0;
}

static int agg_count_values(ev_t *ev, const promql_expr_t *e, const char **names, size_t n_names,
                            ev_value_t *in, ev_value_t *out) {
    const promql_expr_t *pe = ev_unparen(e->u.aggregate.param);
    const char *vl = pe->u.string.s;
    size_t vl_len = pe->u.string.len;
    if (vl_len == 0 || !labels_utf8_valid(vl, vl_len)) {
        vg_buf_t b = VG_BUF_INIT;
        promql_quote(vl, vl_len, &b);
        int rc = ev_errf(ev, "invalid label name %s", b.data ? b.data : "\"\"");
        vg_buf_free(&b);
        ev_value_free(ev, in);
        return rc;
    }
    bool without = e->u.aggregate.without;
    const char **gn = vg_malloc((n_names + 1) * sizeof(*gn));
    memcpy(gn, names, n_names * sizeof(*gn));
    size_t ng = n_names;
    if (!without) gn[ng++] = vl;
    ev_value_init(out, PROMQL_TYPE_VECTOR);
    ev_map_t outmap, counts;
    ev_map_init(&outmap, 16);
    labels_builder_t *b = labels_builder_new();
    size_t *cur = vg_calloc(in->n + 1, sizeof(size_t));
    int rc = 0;
    char num[64];
    for (size_t k = 0; k < ev->n_steps && rc == 0; k++) {
        int64_t ts = ev_step_ts(ev, k);
        ev_map_init(&counts, 16);
        size_t *order = NULL, n_order = 0;
        for (size_t i = 0; i < in->n; i++) {
            ev_series_t *s = &in->s[i];
            if (cur[i] >= s->n || s->pts[cur[i]].t != ts) continue;
            double f = s->pts[cur[i]++].v;
            ev_format_float_f(f, num, sizeof(num));
            labels_builder_reset(b, s->ls);
            labels_builder_set(b, vl, vl_len, num, strlen(num));
            labels_t *ml = labels_builder_labels(b);
            uint64_t key = grouping_key(ml, gn, ng, without);
            size_t *c = ev_map_get(&counts, key);
            if (c) {
                (*c)++;
                labels_free(ml);
                continue;
            }
            ev_map_put(&counts, key, 1);
            labels_t *gl = grouping_labels(b, ml, gn, ng, without);
            labels_free(ml);
            uint64_t h = labels_hash(gl);
            size_t *oi = ev_map_get(&outmap, h);
            size_t idx;
            if (oi) {
                idx = *oi;
                labels_free(gl);
            } else {
                idx = ev_value_add(out, gl, false);
                ev_map_put(&outmap, h, idx);
            }
            order = vg_realloc(order, (n_order + 1) * 2 * sizeof(size_t));
            order[2 * n_order] = idx;
            order[2 * n_order + 1] = (size_t)key;
            n_order++;
        }
        for (size_t j = 0; j < n_order && rc == 0; j++) {
            uint64_t key = order[2 * j + 1];
            size_t *c = ev_map_get(&counts, key);
            rc = ev_series_push(ev, &out->s[order[2 * j]], ts, (double)*c);
        }
        free(order);
        ev_map_free(&counts);
    }
    free(cur);
    labels_builder_free(b);
    ev_map_free(&outmap);
    free(gn);
    ev_value_free(ev, in);
    if (rc) ev_value_free(ev, out);
    return rc;
}

int ev_aggregate(ev_t *ev, const promql_expr_t *e, ev_value_t *out) {
    promql_agg_op_t op = e->u.aggregate.op;
    bool without = e->u.aggregate.without;
    size_t n_names = e->u.aggregate.n_grouping;
    const char **names = vg_malloc((n_names + 1) * sizeof(*names));
    for (size_t i = 0; i < n_names; i++)
        names[i] = e->u.aggregate.grouping[i].s;
    int rc = 0;
    double *param = NULL;
    double pmin = 0, pmax = 0;
    bool pnan = false;
    bool is_k = op == PROMQL_AGG_TOPK || op == PROMQL_AGG_BOTTOMK || op == PROMQL_AGG_LIMITK ||
                op == PROMQL_AGG_LIMIT_RATIO;
    ev_value_t in;
    if (op != PROMQL_AGG_COUNT_VALUES && e->u.aggregate.param) {
        param = vg_malloc(ev->n_steps * sizeof(double));
        if ((rc = eval_param(ev, e->u.aggregate.param, param, &pmin, &pmax, &pnan)) != 0) {
            free(param);
            free(names);
            return rc;
        }
    }
    if ((rc = ev_eval(ev, e->u.aggregate.expr, &in)) != 0) {
        free(param);
        free(names);
        return rc;
    }
    if (op == PROMQL_AGG_COUNT_VALUES) {
        rc = agg_count_values(ev, e, names, n_names, &in, out);
        free(names);
        return rc;
    }
    const promql_expr_t *pe = e->u.aggregate.param;
    switch (op) {
    case PROMQL_AGG_TOPK:
    case PROMQL_AGG_BOTTOMK:
    case PROMQL_AGG_LIMITK:
        if (pmax < 1) {
            ev_value_free(ev, &in);
            free(param);
            free(names);
            ev_value_init(out, PROMQL_TYPE_VECTOR);
            return 0;
        }
        if (pnan)
            rc = ev_errf(ev, "Parameter value is NaN");
        else if (pmin <= -9223372036854775808.0)
            rc = ev_errf(ev, "Scalar value %g underflows int64", pmin);
        else if (pmax >= 9223372036854775807.0)
            rc = ev_errf(ev, "Scalar value %g overflows int64", pmax);
        break;
    case PROMQL_AGG_LIMIT_RATIO:
        if (pmax == 0 && pmin == 0) {
            ev_value_free(ev, &in);
            free(param);
            free(names);
            ev_value_init(out, PROMQL_TYPE_VECTOR);
            return 0;
        }
        if (pnan) {
            rc = ev_errf(ev, "Ratio value is NaN");
            break;
        }
        if (pmax > 1.0) {
            char g[40];
            ev_fmt_g(pmax, g, sizeof(g));
            ev_warn(ev, pe, "ratio value should be between -1 and 1, got %s, capping to 1", g);
        }
        if (pmin < -1.0) {
            char g[40];
            ev_fmt_g(pmin, g, sizeof(g));
            ev_warn(ev, pe, "ratio value should be between -1 and 1, got %s, capping to -1", g);
        }
        break;
    case PROMQL_AGG_QUANTILE: {
        char g[40];
        if (pnan) ev_warn(ev, pe, "quantile value should be between 0 and 1, got NaN");
        if (pmax > 1) {
            ev_fmt_g(pmax, g, sizeof(g));
            ev_warn(ev, pe, "quantile value should be between 0 and 1, got %s", g);
        }
        if (pmin < 0) {
            ev_fmt_g(pmin, g, sizeof(g));
            ev_warn(ev, pe, "quantile value should be between 0 and 1, got %s", g);
        }
        break;
    }
    default: break;
    }
    if (rc) {
        ev_value_free(ev, &in);
        free(param);
        free(names);
        return rc;
    }

    /* Groups of the input series. */
    size_t *s2g = vg_malloc((in.n + 1) * sizeof(size_t));
    size_t *gsize = vg_calloc(in.n + 1, sizeof(size_t));
    size_t n_groups = 0;
    ev_map_t gmap;
    ev_map_init(&gmap, in.n);
    labels_builder_t *b = labels_builder_new();
    ev_value_t res;
    ev_value_init(&res, PROMQL_TYPE_VECTOR);
    for (size_t i = 0; i < in.n; i++) {
        uint64_t key = grouping_key(in.s[i].ls, names, n_names, without);
        size_t *g = ev_map_get(&gmap, key);
        if (g) {
            s2g[i] = *g;
            gsize[*g]++;
            continue;
        }
        if (!is_k)
            ev_value_add(&res, grouping_labels(b, in.s[i].ls, names, n_names, without), false);
        ev_map_put(&gmap, key, n_groups);
        gsize[n_groups] = 1;
        s2g[i] = n_groups++;
    }
    ev_map_free(&gmap);
    labels_builder_free(b);
    group_t *groups = vg_calloc(n_groups + 1, sizeof(group_t));
    size_t *cur = vg_calloc(in.n + 1, sizeof(size_t));
    size_t *outidx = NULL; /* k-aggregations: input series -> output series */
    size_t *order = NULL, n_order = 0;
    if (is_k) {
        outidx = vg_malloc((in.n + 1) * sizeof(size_t));
        for (size_t i = 0; i < in.n; i++)
            outidx[i] = SIZE_MAX;
        order = vg_malloc((in.n + 1) * sizeof(size_t));
    }
    size_t *gorder = vg_malloc((n_groups + 1) * sizeof(size_t)); /* groups in order seen */

    for (size_t k = 0; k < ev->n_steps && rc == 0; k++) {
        int64_t ts = ev_step_ts(ev, k);
        if ((rc = ev_check(ev)) != 0) break;
        double fp = param ? param[k] : 0;
        size_t n_gorder = 0;
        for (size_t g = 0; g < n_groups; g++)
            groups[g].seen = false;
        int64_t kk = 0;
        double ratio = 0;
        bool skip_step = false;
        if (op == PROMQL_AGG_TOPK || op == PROMQL_AGG_BOTTOMK || op == PROMQL_AGG_LIMITK) {
            kk = (int64_t)fp;
            if (kk > (int64_t)in.n) kk = (int64_t)in.n;
            if (kk < 1) skip_step = true;
        } else if (op == PROMQL_AGG_LIMIT_RATIO) {
            if (fp == 0) skip_step = true;
            ratio = fp < -1.0 ? -1.0 : fp > 1.0 ? 1.0 : fp;
        }
        for (size_t i = 0; i < in.n; i++) {
            ev_series_t *s = &in.s[i];
            if (cur[i] >= s->n || s->pts[cur[i]].t != ts) continue;
            double f = s->pts[cur[i]++].v;
            if (skip_step) continue;
            group_t *gr = &groups[s2g[i]];
            if (!gr->seen) {
                gr->seen = true;
                gorder[n_gorder++] = s2g[i];
                gr->value = f;
                gr->mean = f;
                gr->c = 0;
                gr->count = 1;
                gr->incr_mean = false;
                gr->drop_name = s->drop_name;
                gr->n_vals = 0;
                gr->n_heap = 0;
                switch (op) {
                case PROMQL_AGG_STDDEV:
                case PROMQL_AGG_STDVAR: gr->value = (isnan(f) || isinf(f)) ? NAN : 0; break;
                case PROMQL_AGG_GROUP: gr->value = 1; break;
                default: break;
                }
                if (op == PROMQL_AGG_QUANTILE) {
                    if (gr->cap_vals == 0) {
                        gr->cap_vals = 8;
                        gr->vals = vg_malloc(8 * sizeof(double));
                    }
                    gr->vals[gr->n_vals++] = f;
                }
                if (is_k) {
                    if (!gr->heap) {
                        gr->heap = vg_malloc((gsize[s2g[i]] + 1) * sizeof(size_t));
                        gr->hv = vg_malloc((gsize[s2g[i]] + 1) * sizeof(double));
                    }
                    if (op == PROMQL_AGG_LIMIT_RATIO) {
                        double off = (double)prom_labels_hash(s->ls) / 18446744073709551615.0;
                        if (off < ratio || (ratio < 0 && off >= 1.0 + ratio))
                            heap_push(gr, i, f, less_val);
                    } else {
                        heap_push(gr, i, f, op == PROMQL_AGG_BOTTOMK ? less_rev : less_val);
                    }
                }
                continue;
            }
            if (s->drop_name) gr->drop_name = true;
            switch (op) {
            case PROMQL_AGG_SUM: kahan_inc(f, &gr->value, &gr->c); break;
            case PROMQL_AGG_AVG:
                gr->count++;
                if (!gr->incr_mean) {
                    double nv = gr->value, nc = gr->c;
                    kahan_inc(f, &nv, &nc);
                    if (!isinf(nv)) {
                        gr->value = nv;
                        gr->c = nc;
                        break;
                    }
                    gr->incr_mean = true;
                    gr->mean = gr->value / (gr->count - 1);
                    gr->c /= gr->count - 1;
                }
                {
                    double q = (gr->count - 1) / gr->count;
                    double m = q * gr->mean, c = q * gr->c;
                    kahan_inc(f / gr->count, &m, &c);
                    gr->mean = m;
                    gr->c = c;
                }
                break;
            case PROMQL_AGG_GROUP: break;
            case PROMQL_AGG_MAX:
                if (gr->value < f || isnan(gr->value)) gr->value = f;
                break;
            case PROMQL_AGG_MIN:
                if (gr->value > f || isnan(gr->value)) gr->value = f;
                break;
            case PROMQL_AGG_COUNT: gr->count++; break;
            case PROMQL_AGG_STDDEV:
            case PROMQL_AGG_STDVAR: {
                gr->count++;
                double d = f - gr->mean;
                gr->mean += d / gr->count;
                gr->value += d * (f - gr->mean);
                break;
            }
            case PROMQL_AGG_QUANTILE:
                if (gr->n_vals == gr->cap_vals) {
                    gr->cap_vals *= 2;
                    gr->vals = vg_realloc(gr->vals, gr->cap_vals * sizeof(double));
                }
                gr->vals[gr->n_vals++] = f;
                break;
            case PROMQL_AGG_TOPK:
                if ((int64_t)gr->n_heap < kk) {
                    heap_push(gr, i, f, less_val);
                } else if (gr->hv[0] < f || (isnan(gr->hv[0]) && !isnan(f))) {
                    gr->heap[0] = i;
                    gr->hv[0] = f;
                    if (kk > 1) heap_down(gr, 0, gr->n_heap, less_val);
                }
                break;
            case PROMQL_AGG_BOTTOMK:
                if ((int64_t)gr->n_heap < kk) {
                    heap_push(gr, i, f, less_rev);
                } else if (gr->hv[0] > f || (isnan(gr->hv[0]) && !isnan(f))) {
                    gr->heap[0] = i;
                    gr->hv[0] = f;
                    if (kk > 1) heap_down(gr, 0, gr->n_heap, less_rev);
                }
                break;
            case PROMQL_AGG_LIMITK:
                if ((int64_t)gr->n_heap < kk) heap_push(gr, i, f, less_val);
                break;
            case PROMQL_AGG_LIMIT_RATIO: {
                double off = (double)prom_labels_hash(s->ls) / 18446744073709551615.0;
                if (off < ratio || (ratio < 0 && off >= 1.0 + ratio)) heap_push(gr, i, f, less_val);
                break;
            }
            default: break;
            }
        }
        if (skip_step) continue;
        if (!is_k) {
            for (size_t gi = 0; gi < n_gorder && rc == 0; gi++) {
                size_t g = gorder[gi];
                group_t *gr = &groups[g];
                double v = gr->value;
                switch (op) {
                case PROMQL_AGG_AVG:
                    v = gr->incr_mean ? gr->mean + gr->c
                                      : gr->value / gr->count + gr->c / gr->count;
                    break;
                case PROMQL_AGG_COUNT: v = gr->count; break;
                case PROMQL_AGG_STDVAR: v = gr->value / gr->count; break;
                case PROMQL_AGG_STDDEV: v = sqrt(gr->value / gr->count); break;
                case PROMQL_AGG_QUANTILE: v = ev_quantile(fp, gr->vals, gr->n_vals); break;
                case PROMQL_AGG_SUM: v = gr->value + gr->c; break;
                default: break;
                }
                if (gr->drop_name) res.s[g].drop_name = true;
                rc = ev_series_push(ev, &res.s[g], ts, v);
            }
            continue;
        }
        /* k-aggregations: the chosen input series, per group. */
        n_order = 0;
        for (size_t gi = 0; gi < n_gorder; gi++) {
            group_t *gr = &groups[gorder[gi]];
            if (op == PROMQL_AGG_TOPK && gr->n_heap > 1) heap_sort_reverse(gr, less_val);
            if (op == PROMQL_AGG_BOTTOMK && gr->n_heap > 1) heap_sort_reverse(gr, less_rev);
            for (size_t h = 0; h < gr->n_heap; h++)
                order[n_order++] = gr->heap[h];
        }
        for (size_t j = 0; j < n_order && rc == 0; j++) {
            size_t i = order[j];
            if (outidx[i] == SIZE_MAX)
                outidx[i] = ev_value_add(&res, labels_dup(in.s[i].ls), in.s[i].drop_name);
            ev_series_t *os = &res.s[outidx[i]];
            rc = ev_series_push(ev, os, ts, in.s[i].pts[cur[i] - 1].v);
        }
    }
    for (size_t g = 0; g < n_groups; g++) {
        free(groups[g].vals);
        free(groups[g].heap);
        free(groups[g].hv);
    }
    free(groups);
    free(cur);
    free(outidx);
    free(order);
    free(gorder);
    free(s2g);
    free(gsize);
    free(param);
    free(names);
    ev_value_free(ev, &in);
    if (rc) {
        ev_value_free(ev, &res);
        return rc;
    }
    ev_value_compact(ev, &res);
    *out = res;
    return 0;
}
