/*
 * This file implements PromQL's functions: those over range vectors
 * (rate, increase, delta with Prometheus 3.x's extrapolation, irate,
 * idelta, resets, changes, deriv, predict_linear, the *_over_time family,
 * double_exponential_smoothing) as windows slid over samples decoded once,
 * and those over instant vectors and scalars (math, clamps, rounding,
 * dates, timestamp, label_replace/label_join, sorting, absent, scalar,
 * vector, time, histogram_quantile and histogram_fraction over classic
 * buckets).
 */
#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <time.h>

#include "promql/eval_int.h"

/* Go's math.Min and math.Max: an infinity wins, then NaN. */
static double go_min(double a, double b) {
    if (isinf(a) && a < 0) return a;
    if (isinf(b) && b < 0) return b;
    if (isnan(a) || isnan(b)) return NAN;
    if (a == 0 && b == 0) return signbit(a) ? a : b;
    return a < b ? a : b;
}

static double go_max(double a, double b) {
    if (isinf(a) && a > 0) return a;
    if (isinf(b) && b > 0) return b;
    if (isnan(a) || isnan(b)) return NAN;
    if (a == 0 && b == 0) return signbit(a) ? b : a;
    return a > b ? a : b;
}

/* Window functions over floats. */
typedef enum wfn {
    W_RATE,
    W_INCREASE,
    W_DELTA,
    W_IRATE,
    W_IDELTA,
    W_RESETS,
    W_CHANGES,
    W_DERIV,
    W_PREDICT_LINEAR,
    W_AVG,
    W_MIN,
    W_MAX,
    W_SUM,
    W_COUNT,
    W_QUANTILE,
    W_STDDEV,
    W_STDVAR,
    W_LAST,
    W_FIRST,
    W_PRESENT,
    W_ABSENT,
    W_MAD,
    W_TS_FIRST,
    W_TS_LAST,
    W_TS_MAX,
    W_TS_MIN,
    W_DES,
} wfn_t;

static const struct {
    const char *name;
    wfn_t fn;
} window_fns[] = {
    {"rate", W_RATE},
    {"increase", W_INCREASE},
    {"delta", W_DELTA},
    {"irate", W_IRATE},
    {"idelta", W_IDELTA},
    {"resets", W_RESETS},
    {"changes", W_CHANGES},
    {"deriv", W_DERIV},
    {"predict_linear", W_PREDICT_LINEAR},
    {"avg_over_time", W_AVG},
    {"min_over_time", W_MIN},
    {"max_over_time", W_MAX},
    {"sum_over_time", W_SUM},
    {"count_over_time", W_COUNT},
    {"quantile_over_time", W_QUANTILE},
    {"stddev_over_time", W_STDDEV},
    {"stdvar_over_time", W_STDVAR},
    {"last_over_time", W_LAST},
    {"first_over_time", W_FIRST},
    {"present_over_time", W_PRESENT},
    {"absent_over_time", W_ABSENT},
    {"mad_over_time", W_MAD},
    {"ts_of_first_over_time", W_TS_FIRST},
    {"ts_of_last_over_time", W_TS_LAST},
    {"ts_of_max_over_time", W_TS_MAX},
    {"ts_of_min_over_time", W_TS_MIN},
    {"double_exponential_smoothing", W_DES},
};

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

static void linear_regression(const promql_point_t *p, size_t n, int64_t icept, double *slope,
                              double *intercept) {
    double cnt = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
    double init = p[0].v;
    bool const_y = true;
    for (size_t i = 0; i < n; i++) {
        if (const_y && i > 0 && p[i].v != init) const_y = false;
        cnt += 1.0;
        double x = (double)(p[i].t - icept) / 1e3;
        kahan_inc(x, &sx, &cx);
        kahan_inc(p[i].v, &sy, &cy);
        kahan_inc(x * p[i].v, &sxy, &cxy);
        kahan_inc(x * x, &sx2, &cx2);
    }
    if (const_y) {
        if (isinf(init)) {
            *slope = NAN;
            *intercept = NAN;
            return;
        }
        *slope = 0;
        *intercept = init;
        return;
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    double cov = sxy - sx * sy / cnt;
    double var = sx2 - sx * sx / cnt;
    *slope = cov / var;
    *intercept = sy / cnt - *slope * sx / cnt;
}

/* Prometheus's extrapolatedRate for floats over p[0..n) in the window
 * (range_start, range_end]. */
static bool extrapolated_rate(const promql_point_t *p, size_t n, int64_t range_start,
                              int64_t range_end, int64_t range_ms, bool counter, bool is_rate,
                              double *out) {
    if (n < 2) return false;
    double result = p[n - 1].v - p[0].v;
    if (counter) {
        for (size_t i = 1; i < n; i++)
            if (p[i].v < p[i - 1].v) result += p[i - 1].v;
    }
    int64_t first_t = p[0].t, last_t = p[n - 1].t;
    double to_start = (double)(first_t - range_start) / 1000;
    double to_end = (double)(range_end - last_t) / 1000;
    double sampled = (double)(last_t - first_t) / 1000;
    double avg = sampled / (double)(n - 1);
    double threshold = avg * 1.1;
    if (to_start >= threshold) to_start = avg / 2;
    if (counter) {
        double to_zero = to_start;
        if (result > 0 && p[0].v >= 0) to_zero = sampled * (p[0].v / result);
        if (to_zero < to_start) to_start = to_zero;
    }
    if (to_end >= threshold) to_end = avg / 2;
    double factor = 1.0;
    if (sampled != 0) factor = (sampled + to_start + to_end) / sampled;
    if (is_rate) factor /= (double)range_ms / 1000.0;
    *out = result * factor;
    return true;
}

static double variance(const promql_point_t *p, size_t n) {
    double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
    for (size_t i = 0; i < n; i++) {
        count++;
        double d = p[i].v - (mean + cmean);
        kahan_inc(d / count, &mean, &cmean);
        kahan_inc(d * (p[i].v - (mean + cmean)), &aux, &caux);
    }
    return (aux + caux) / count;
}

typedef struct wctx {
    double *scratch;
    size_t cap;
} wctx_t;

static double *scratch(wctx_t *w, size_t n) {
    if (n > w->cap) {
        w->cap = n * 2;
        w->scratch = vg_realloc(w->scratch, w->cap * sizeof(double));
    }
    return w->scratch;
}

/* One window: p[0..n) (n >= 1), evaluated at ts with the window
 * (range_end - range, range_end]; a/b are the scalar arguments. */
static bool window_eval(ev_t *ev, const promql_expr_t *e, wfn_t fn, wctx_t *w,
                        const promql_point_t *p, size_t n, int64_t ts, int64_t range_end,
                        int64_t range, double a, double b, double *out) {
    switch (fn) {
    case W_RATE:
        return extrapolated_rate(p, n, range_end - range, range_end, range, true, true, out);
    case W_INCREASE:
        return extrapolated_rate(p, n, range_end - range, range_end, range, true, false, out);
    case W_DELTA:
        return extrapolated_rate(p, n, range_end - range, range_end, range, false, false, out);
    case W_IRATE:
    case W_IDELTA: {
        if (n < 2) return false;
        const promql_point_t *l = &p[n - 1], *pr = &p[n - 2];
        int64_t dt = l->t - pr->t;
        if (dt == 0) return false;
        double r;
        if (fn == W_IRATE && l->v < pr->v)
            r = l->v;
        else
            r = l->v - pr->v;
        if (fn == W_IRATE) r /= (double)dt / 1000.0;
        *out = r;
        return true;
    }
    case W_RESETS: {
        double c = 0;
        for (size_t i = 1; i < n; i++)
            if (p[i].v < p[i - 1].v) c++;
        *out = c;
        return true;
    }
    case W_CHANGES: {
        double c = 0;
        for (size_t i = 1; i < n; i++)
            if (p[i].v != p[i - 1].v && !(isnan(p[i].v) && isnan(p[i - 1].v))) c++;
        *out = c;
        return true;
    }
    case W_DERIV: {
        if (n < 2) return false;
        double slope, icp;
        linear_regression(p, n, p[0].t, &slope, &icp);
        *out = slope;
        return true;
    }
    case W_PREDICT_LINEAR: {
        if (n < 2) return false;
        double slope, icp;
        linear_regression(p, n, ts, &slope, &icp);
        *out = slope * a + icp;
        return true;
    }
    case W_AVG: {
        double sum = p[0].v, count = 1, mean = 0, c = 0;
        bool incr = false;
        for (size_t i = 1; i < n; i++) {
            count = (double)(i + 1);
            double f = p[i].v;
            if (!incr) {
                double ns = sum, nc = c;
                kahan_inc(f, &ns, &nc);
                if (!isinf(ns)) {
                    sum = ns;
                    c = nc;
                    continue;
                }
                incr = true;
                mean = sum / (count - 1);
                c /= count - 1;
            }
            double q = (count - 1) / count;
            double m = q * mean, cc = q * c;
            kahan_inc(f / count, &m, &cc);
            mean = m;
            c = cc;
        }
        *out = incr ? mean + c : sum / count + c / count;
        return true;
    }
    case W_MIN:
    case W_MAX:
    case W_TS_MAX:
    case W_TS_MIN: {
        double best = p[0].v;
        int64_t bt = p[0].t;
        for (size_t i = 0; i < n; i++) {
            double f = p[i].v;
            bool take;
            switch (fn) {
            case W_MAX: take = f > best || isnan(best); break;
            case W_MIN: take = f < best || isnan(best); break;
            case W_TS_MAX: take = f >= best || isnan(best); break;
            default: take = f <= best || isnan(best); break;
            }
            if (take) {
                best = f;
                bt = p[i].t;
            }
        }
        *out = (fn == W_MAX || fn == W_MIN) ? best : (double)bt / 1000.0;
        return true;
    }
    case W_SUM: {
        double sum = 0, c = 0;
        for (size_t i = 0; i < n; i++)
            kahan_inc(p[i].v, &sum, &c);
        *out = isinf(sum) ? sum : sum + c;
        return true;
    }
    case W_COUNT: *out = (double)n; return true;
    case W_QUANTILE: {
        double *v = scratch(w, n);
        for (size_t i = 0; i < n; i++)
            v[i] = p[i].v;
        *out = ev_quantile(a, v, n);
        return true;
    }
    case W_STDDEV: *out = sqrt(variance(p, n)); return true;
    case W_STDVAR: *out = variance(p, n); return true;
    case W_LAST: *out = p[n - 1].v; return true;
    case W_FIRST: *out = p[0].v; return true;
    case W_PRESENT:
    case W_ABSENT: *out = 1; return true;
    case W_MAD: {
        double *v = scratch(w, n);
        for (size_t i = 0; i < n; i++) {
            if (isnan(p[i].v)) {
                *out = NAN;
                return true;
            }
            v[i] = p[i].v;
        }
        double med = ev_quantile(0.5, v, n);
        for (size_t i = 0; i < n; i++)
            v[i] = fabs(v[i] - med);
        *out = ev_quantile(0.5, v, n);
        return true;
    }
    case W_TS_FIRST: *out = (double)p[0].t / 1000.0; return true;
    case W_TS_LAST: *out = (double)p[n - 1].t / 1000.0; return true;
    case W_DES: {
        if (n < 2) return false;
        double sf = a, tf = b;
        (void)ev;
        (void)e;
        double s0 = 0, s1 = p[0].v, tr = p[1].v - p[0].v;
        for (size_t i = 1; i < n; i++) {
            double x = sf * p[i].v;
            if (i - 1 != 0) tr = tf * (s1 - s0) + (1 - tf) * tr;
            double y = (1 - sf) * (s1 + tr);
            s0 = s1;
            s1 = x + y;
        }
        *out = s1;
        return true;
    }
    }
    return false;
}

static bool has_counter_suffix(const char *s, size_t n) {
    static const char *const suf[] = {"_total", "_sum", "_count", "_bucket"};
    for (size_t i = 0; i < 4; i++) {
        size_t l = strlen(suf[i]);
        if (n >= l && memcmp(s + n - l, suf[i], l) == 0) return true;
    }
    return false;
}

/* Labels for absent()/absent_over_time(): the equality matchers. */
static labels_t *absent_labels(const promql_expr_t *arg) {
    arg = ev_unparen(arg);
    if (arg->kind == PROMQL_MATRIX) arg = ev_unparen(arg->u.matrix.vector);
    if (arg->kind != PROMQL_VECTOR) return labels_new_empty();
    labels_builder_t *b = labels_builder_new();
    labels_builder_reset(b, NULL);
    size_t nm = arg->u.vector.n_matchers;
    bool *has = vg_calloc(nm + 1, 1);
    for (size_t i = 0; i < nm; i++) {
        const promql_matcher_t *m = &arg->u.vector.matchers[i];
        if (m->name.len == 8 && memcmp(m->name.s, "__name__", 8) == 0) continue;
        bool seen = false;
        for (size_t j = 0; j < i; j++) {
            const promql_matcher_t *o = &arg->u.vector.matchers[j];
            if (has[j] && o->name.len == m->name.len &&
                memcmp(o->name.s, m->name.s, m->name.len) == 0)
                seen = true;
        }
        if (m->type == LABELS_MATCH_EQUAL && !seen) {
            labels_builder_set(b, m->name.s, m->name.len, m->value.s, m->value.len);
            has[i] = true;
        } else {
            labels_builder_del(b, m->name.s, m->name.len);
        }
    }
    free(has);
    labels_t *ls = labels_builder_labels(b);
    labels_builder_free(b);
    return ls;
}

/* Evaluates scalar argument i into one value per step (NULL when it is
 * not a scalar). */
static int scalar_arg(ev_t *ev, const promql_expr_t *e, size_t i, double **out) {
    *out = NULL;
    if (i >= e->u.call.n_args) return 0;
    const promql_expr_t *a = e->u.call.args[i];
    if (promql_expr_type(a) != PROMQL_TYPE_SCALAR) return 0;
    double *v = vg_malloc((ev->n_steps + 1) * sizeof(double));
    int rc = ev_eval_scalar_steps(ev, a, v);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    return 0;
}

static int call_window(ev_t *ev, const promql_expr_t *e, wfn_t fn, size_t mi, ev_value_t *out) {
    double *sa = NULL, *sb = NULL;
    int rc = 0;
    /* Non-matrix arguments in order. */
    size_t other[2] = {SIZE_MAX, SIZE_MAX}, no = 0;
    for (size_t i = 0; i < e->u.call.n_args && no < 2; i++)
        if (i != mi) other[no++] = i;
    if (no > 0 && (rc = scalar_arg(ev, e, other[0], &sa)) != 0) return rc;
    if (no > 1 && (rc = scalar_arg(ev, e, other[1], &sb)) != 0) {
        free(sa);
        return rc;
    }
    const promql_expr_t *marg = e->u.call.args[mi];
    if (fn == W_QUANTILE && sa) {
        /* Checked per step below, once. */
    }
    ev_source_t *src;
    if ((rc = ev_source_open(ev, marg, &src)) != 0) {
        free(sa);
        free(sb);
        return rc;
    }
    ev_value_init(out, PROMQL_TYPE_VECTOR);
    bool drop = fn != W_LAST && fn != W_FIRST;
    size_t ns = ev_source_len(src);
    int64_t range = ev_source_range(src);
    wctx_t w = {0};
    bool warned_q = false;
    bool des_checked = false;
    for (size_t i = 0; i < ns && rc == 0; i++) {
        const promql_point_t *p;
        size_t n;
        const labels_t *ls;
        bool dn;
        if ((rc = ev_check(ev)) != 0 || (rc = ev_source_load(ev, src, i, &p, &n, &ls, &dn)) != 0)
            break;
        if (n == 0) continue;
        ev_series_t s = {0};
        size_t lo = 0, hi = 0;
        for (size_t k = 0; k < ev->n_steps && rc == 0; k++) {
            int64_t ts = ev_step_ts(ev, k), lo_t, hi_t;
            ev_source_window(src, ts, &lo_t, &hi_t);
            while (hi < n && p[hi].t <= hi_t)
                hi++;
            while (lo < hi && p[lo].t <= lo_t)
                lo++;
            if (hi <= lo) continue;
            double a = sa ? sa[k] : 0, b = sb ? sb[k] : 0;
            if (fn == W_QUANTILE && !warned_q && (isnan(a) || a < 0 || a > 1)) {
                char g[40];
                ev_fmt_g(a, g, sizeof(g));
                ev_warn(ev, marg, "quantile value should be between 0 and 1, got %s", g);
                warned_q = true;
            }
            if (fn == W_DES && !des_checked) {
                char g[64];
                if (a <= 0 || a >= 1) {
                    snprintf(g, sizeof(g), "%f", a);
                    rc = ev_errf(ev, "invalid smoothing factor. Expected: 0 < sf < 1, got: %s", g);
                    break;
                }
                if (b <= 0 || b >= 1) {
                    snprintf(g, sizeof(g), "%f", b);
                    rc = ev_errf(ev, "invalid trend factor. Expected: 0 < tf < 1, got: %s", g);
                    break;
                }
            }
            double v;
            if (!window_eval(ev, e, fn, &w, p + lo, hi - lo, ts, hi_t, range, a, b, &v)) continue;
            rc = ev_series_push(ev, &s, ts, v);
        }
        if (rc || s.n == 0) {
            ev_series_free_points(ev, &s);
            continue;
        }
        if (fn == W_RATE || fn == W_INCREASE) {
            size_t nl = 0;
            const char *name = labels_metric_name(ls, &nl);
            if (name && nl > 0 && !has_counter_suffix(name, nl)) {
                vg_buf_t b = VG_BUF_INIT;
                promql_quote(name, nl, &b);
                ev_info(ev, marg,
                        "metric might not be a counter, name does not end in "
                        "_total/_sum/_count/_bucket: %s",
                        b.data);
                vg_buf_free(&b);
            }
        }
        size_t idx = ev_value_add(out, labels_dup(ls), drop || dn);
        out->s[idx].pts = s.pts;
        out->s[idx].n = s.n;
        out->s[idx].cap = s.cap;
    }
    free(w.scratch);
    ev_source_close(ev, src);
    free(sa);
    free(sb);
    if (rc) {
        ev_value_free(ev, out);
        return rc;
    }
    if (fn == W_ABSENT) {
        /* One series with 1 at the steps where no input series had a
         * value. */
        uint8_t *found = vg_calloc(ev->n_steps + 1, 1);
        for (size_t i = 0; i < out->n; i++)
            for (size_t j = 0; j < out->s[i].n; j++)
                found[(size_t)((out->s[i].pts[j].t - ev->start) / ev->interval)] = 1;
        ev_value_free(ev, out);
        ev_value_init(out, PROMQL_TYPE_VECTOR);
        ev_series_t s = {0};
        for (size_t k = 0; k < ev->n_steps && rc == 0; k++)
            if (!found[k]) rc = ev_series_push(ev, &s, ev_step_ts(ev, k), 1);
        free(found);
        if (s.n > 0 && rc == 0) {
            size_t idx = ev_value_add(out, absent_labels(marg), true);
            out->s[idx].pts = s.pts;
            out->s[idx].n = s.n;
            out->s[idx].cap = s.cap;
        } else {
            ev_series_free_points(ev, &s);
        }
    }
    return rc;
}

/* ---------------------------------------------------- instant vectors */

typedef enum vfn {
    V_ABS,
    V_CEIL,
    V_FLOOR,
    V_EXP,
    V_SQRT,
    V_LN,
    V_LOG2,
    V_LOG10,
    V_SIN,
    V_COS,
    V_TAN,
    V_ASIN,
    V_ACOS,
    V_ATAN,
    V_SINH,
    V_COSH,
    V_TANH,
    V_ASINH,
    V_ACOSH,
    V_ATANH,
    V_RAD,
    V_DEG,
    V_SGN,
} vfn_t;

static const struct {
    const char *name;
    vfn_t fn;
} simple_fns[] = {
    {"abs", V_ABS},   {"ceil", V_CEIL}, {"floor", V_FLOOR}, {"exp", V_EXP},     {"sqrt", V_SQRT},
    {"ln", V_LN},     {"log2", V_LOG2}, {"log10", V_LOG10}, {"sin", V_SIN},     {"cos", V_COS},
    {"tan", V_TAN},   {"asin", V_ASIN}, {"acos", V_ACOS},   {"atan", V_ATAN},   {"sinh", V_SINH},
    {"cosh", V_COSH}, {"tanh", V_TANH}, {"asinh", V_ASINH}, {"acosh", V_ACOSH}, {"atanh", V_ATANH},
    {"rad", V_RAD},   {"deg", V_DEG},   {"sgn", V_SGN},
};

static double simple(vfn_t fn, double v) {
    switch (fn) {
    case V_ABS: return fabs(v);
    case V_CEIL: return ceil(v);
    case V_FLOOR: return floor(v);
    case V_EXP: return exp(v);
    case V_SQRT: return sqrt(v);
    case V_LN: return log(v);
    case V_LOG2: return log2(v);
    case V_LOG10: return log10(v);
    case V_SIN: return sin(v);
    case V_COS: return cos(v);
    case V_TAN: return tan(v);
    case V_ASIN: return asin(v);
    case V_ACOS: return acos(v);
    case V_ATAN: return atan(v);
    case V_SINH: return sinh(v);
    case V_COSH: return cosh(v);
    case V_TANH: return tanh(v);
    case V_ASINH: return asinh(v);
    case V_ACOSH: return acosh(v);
    case V_ATANH: return atanh(v);
    case V_RAD: return v * M_PI / 180;
    case V_DEG: return v * 180 / M_PI;
    case V_SGN: return v < 0 ? -1 : v > 0 ? 1 : v;
    }
    return v;
}

static size_t step_of(const ev_t *ev, int64_t t) {
    return (size_t)((t - ev->start) / (ev->interval > 0 ? ev->interval : 1));
}

/* Date parts of Unix seconds, as Go's time.Unix(int64(f), 0).UTC(). */
typedef enum dfn {
    D_DAY_OF_MONTH,
    D_DAY_OF_WEEK,
    D_DAY_OF_YEAR,
    D_DAYS_IN_MONTH,
    D_HOUR,
    D_MINUTE,
    D_MONTH,
    D_YEAR
} dfn_t;

static double date_part(dfn_t fn, double secs) {
    int64_t s;
    if (isnan(secs) || secs >= 9.2e18 || secs <= -9.2e18)
        s = INT64_MIN;
    else
        s = (int64_t)secs;
    /* Civil from days (proleptic Gregorian), valid for the whole range. */
    int64_t days = s / 86400, rem = s % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    switch (fn) {
    case D_DAY_OF_MONTH: return (double)d;
    case D_DAY_OF_WEEK: {
        int64_t wd = (days + 4) % 7; /* 1970-01-01 was a Thursday */
        if (wd < 0) wd += 7;
        return (double)wd;
    }
    case D_DAY_OF_YEAR: {
        int yd = 0;
        for (int i = 0; i < m - 1; i++)
            yd += mdays[i] + (i == 1 && leap ? 1 : 0);
        return (double)(yd + d);
    }
    case D_DAYS_IN_MONTH: return (double)(mdays[m - 1] + (m == 2 && leap ? 1 : 0));
    case D_HOUR: return (double)(rem / 3600);
    case D_MINUTE: return (double)((rem % 3600) / 60);
    case D_MONTH: return (double)m;
    case D_YEAR: return (double)y;
    }
    return NAN;
}

static const struct {
    const char *name;
    dfn_t fn;
} date_fns[] = {
    {"day_of_month", D_DAY_OF_MONTH},
    {"day_of_week", D_DAY_OF_WEEK},
    {"day_of_year", D_DAY_OF_YEAR},
    {"days_in_month", D_DAYS_IN_MONTH},
    {"hour", D_HOUR},
    {"minute", D_MINUTE},
    {"month", D_MONTH},
    {"year", D_YEAR},
};

/* A scalar value from per-step values. */
static int scalar_value(ev_t *ev, const double *v, ev_value_t *out) {
    ev_value_init(out, PROMQL_TYPE_SCALAR);
    size_t idx = ev_value_add(out, labels_new_empty(), false);
    for (size_t k = 0; k < ev->n_steps; k++) {
        int rc = ev_series_push(ev, &out->s[idx], ev_step_ts(ev, k), v[k]);
        if (rc) {
            ev_value_free(ev, out);
            return rc;
        }
    }
    return 0;
}

/* Go's natsort.Compare as used by sort_by_label: a < b. */
static size_t chunk(const char *s, size_t n, size_t i) {
    bool dig = s[i] >= '0' && s[i] <= '9';
    size_t j = i;
    while (j < n && ((s[j] >= '0' && s[j] <= '9') == dig))
        j++;
    return j;
}

static bool atoi_ok(const char *s, size_t n, long long *out) {
    if (n == 0 || n > 18) return false;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool natsort_less(const char *a, size_t na, const char *b, size_t nb) {
    size_t ia = 0, ib = 0;
    while (ia < na) {
        if (ib >= nb) return false;
        size_t ea = chunk(a, na, ia), eb = chunk(b, nb, ib);
        bool last_a = ea >= na, last_b = eb >= nb;
        long long x, y;
        if (atoi_ok(a + ia, ea - ia, &x) && atoi_ok(b + ib, eb - ib, &y)) {
            if (x == y) {
                if (last_a) return true;
                if (last_b) return false;
                ia = ea;
                ib = eb;
                continue;
            }
            return x < y;
        }
        size_t la = ea - ia, lb = eb - ib;
        if (la == lb && memcmp(a + ia, b + ib, la) == 0) {
            if (last_a) return true;
            if (last_b) return false;
            ia = ea;
            ib = eb;
            continue;
        }
        size_t ml = la < lb ? la : lb;
        int c = memcmp(a + ia, b + ib, ml);
        return c < 0 || (c == 0 && la < lb);
    }
    return false;
}

typedef struct sort_ctx {
    const promql_expr_t *e;
    int kind; /* 0 sort, 1 sort_desc, 2 by label, 3 by label desc */
} sort_ctx_t;

static int sort_cmp(const sort_ctx_t *c, const ev_series_t *x, const ev_series_t *y) {
    if (c->kind <= 1) {
        double a = x->pts[0].v, b = y->pts[0].v;
        /* NaN last in both directions. */
        if (isnan(a) || isnan(b)) return isnan(a) ? (isnan(b) ? 0 : 1) : -1;
        if (c->kind == 0) return a < b ? -1 : a > b ? 1 : 0;
        return a > b ? -1 : a < b ? 1 : 0;
    }
    int sign = c->kind == 2 ? 1 : -1;
    for (size_t i = 1; i < c->e->u.call.n_args; i++) {
        const promql_expr_t *a = ev_unparen(c->e->u.call.args[i]);
        size_t l1 = 0, l2 = 0;
        const char *v1 = labels_get(x->ls, a->u.string.s, a->u.string.len, &l1);
        const char *v2 = labels_get(y->ls, a->u.string.s, a->u.string.len, &l2);
        if (!v1) v1 = "", l1 = 0;
        if (!v2) v2 = "", l2 = 0;
        if (l1 == l2 && memcmp(v1, v2, l1) == 0) continue;
        return natsort_less(v1, l1, v2, l2) ? -sign : sign;
    }
    return sign * labels_compare(x->ls, y->ls);
}

static void sort_series(ev_value_t *v, const sort_ctx_t *c) {
    /* Insertion sort: stable, and what Go's sort does for short inputs. */
    for (size_t i = 1; i < v->n; i++) {
        for (size_t j = i; j > 0 && sort_cmp(c, &v->s[j], &v->s[j - 1]) < 0; j--) {
            ev_series_t t = v->s[j];
            v->s[j] = v->s[j - 1];
            v->s[j - 1] = t;
        }
    }
}

/* -------------------------------------------------- classic histograms */

typedef struct bucket {
    double upper, count;
} bucket_t;

static int cmp_bucket(const void *a, const void *b) {
    double x = ((const bucket_t *)a)->upper, y = ((const bucket_t *)b)->upper;
    return x < y ? -1 : x > y ? 1 : 0;
}

static size_t coalesce(bucket_t *b, size_t n) {
    bucket_t last = b[0];
    size_t i = 0;
    for (size_t j = 1; j < n; j++) {
        if (b[j].upper == last.upper) {
            last.count += b[j].count;
        } else {
            b[i++] = last;
            last = b[j];
        }
    }
    b[i] = last;
    return i + 1;
}

static bool almost_equal(double a, double b, double eps) {
    if (a == b) return true;
    double min_normal = 2.2250738585072014e-308;
    double diff = fabs(a - b);
    if (a == 0 || b == 0 || fabs(a) + fabs(b) < min_normal) return diff < eps * min_normal;
    return diff / fmin(fabs(a) + fabs(b), 1.7976931348623157e308) < eps;
}

typedef struct mono {
    bool forced;
    double min_b, max_b, max_diff;
} mono_t;

static double bucket_quantile(double q, bucket_t *b, size_t n, mono_t *mo) {
    mo->forced = false;
    if (isnan(q)) return NAN;
    if (q < 0) return -INFINITY;
    if (q > 1) return INFINITY;
    qsort(b, n, sizeof(*b), cmp_bucket);
    if (!isinf(b[n - 1].upper) || b[n - 1].upper < 0) return NAN;
    n = coalesce(b, n);
    mo->min_b = INFINITY;
    mo->max_b = -INFINITY;
    mo->max_diff = 0;
    double prev = b[0].count;
    for (size_t i = 1; i < n; i++) {
        double cur = b[i].count;
        if (cur == prev) continue;
        if (almost_equal(prev, cur, 1e-12)) {
            b[i].count = prev;
            continue;
        }
        if (cur < prev) {
            b[i].count = prev;
            mo->forced = true;
            if (b[i].upper < mo->min_b) mo->min_b = b[i].upper;
            if (b[i].upper > mo->max_b) mo->max_b = b[i].upper;
            if (prev - cur > mo->max_diff) mo->max_diff = prev - cur;
            continue;
        }
        prev = cur;
    }
    if (n < 2) return NAN;
    double obs = b[n - 1].count;
    if (obs == 0) return NAN;
    double rank = q * obs;
    size_t lo = 0, hi = n - 1; /* sort.Search over [0, n-1) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[mid].count >= rank)
            hi = mid;
        else
            lo = mid + 1;
    }
    size_t i = lo;
    if (i == n - 1) return b[n - 2].upper;
    if (i == 0 && b[0].upper <= 0) return b[0].upper;
    double start = 0, end = b[i].upper, count = b[i].count;
    if (i > 0) {
        start = b[i - 1].upper;
        count -= b[i - 1].count;
        rank -= b[i - 1].count;
    }
    return start + (end - start) * (rank / count);
}

static double bucket_fraction(double lower, double upper, bucket_t *b, size_t n) {
    qsort(b, n, sizeof(*b), cmp_bucket);
    if (!isinf(b[n - 1].upper) || b[n - 1].upper < 0) return NAN;
    n = coalesce(b, n);
    double count = b[n - 1].count;
    if (count == 0 || isnan(lower) || isnan(upper)) return NAN;
    if (lower >= upper) return 0;
    double rank = 0, lr = 0, ur = 0;
    bool ls = false, us = false;
    double lb = b[0].upper <= 0 ? -INFINITY : 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) lb = b[i - 1].upper;
        double ub = b[i].upper;
#define INTERP(v)                                                                                  \
    (isinf(lb) && lb < 0 ? b[i].count : rank + (b[i].count - rank) * ((v)-lb) / (ub - lb))
        if (!ls && lb >= lower) {
            lr = rank;
            ls = true;
        }
        if (!us && lb >= upper) {
            ur = rank;
            us = true;
        }
        if (ls && us) break;
        if (!ls && lb < lower && ub > lower) {
            lr = INTERP(lower);
            ls = true;
        }
        if (!us && lb < upper && ub > upper) {
            ur = INTERP(upper);
            us = true;
        }
#undef INTERP
        if (ls && us) break;
        rank = b[i].count;
    }
    if (!ls || lr > count) lr = count;
    if (!us || ur > count) ur = count;
    return (ur - lr) / count;
}

/* Go's strconv.ParseFloat for le values. */
static bool parse_le(const char *s, size_t n, double *out) {
    if (n == 0 || n > 64) return false;
    char buf[72];
    memcpy(buf, s, n);
    buf[n] = 0;
    const char *p = buf;
    bool neg = false;
    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    if (strcasecmp(p, "inf") == 0 || strcasecmp(p, "infinity") == 0) {
        *out = neg ? -INFINITY : INFINITY;
        return true;
    }
    if (strcasecmp(p, "nan") == 0) {
        *out = NAN;
        return true;
    }
    for (const char *q = p; *q; q++)
        if (!((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' ||
              *q == '-' || *q == 'x' || *q == 'X' || *q == 'p' || *q == 'P' ||
              (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F')))
            return false;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end != 0 || end == buf) return false;
    *out = v;
    return true;
}

typedef struct mono_anno {
    bool any;
    char name[256];
    int64_t min_ts, max_ts;
    double min_b, max_b, max_diff;
    size_t count;
} mono_anno_t;

/* histogram_quantile (q) or histogram_fraction (lower, upper) over the
 * classic buckets of vec at every step. */
static void fmt_om_float(double f, char *out, size_t cap) {
    if (f == 1)
        snprintf(out, cap, "1.0");
    else if (f == 0)
        snprintf(out, cap, "0.0");
    else if (f == -1)
        snprintf(out, cap, "-1.0");
    else {
        vg_format_float(f, out);
        if (!isnan(f) && !isinf(f) && !strpbrk(out, "e."))
            strncat(out, ".0", cap - strlen(out) - 1);
    }
}

/* qs: n_q arrays of per-step quantiles (fraction: qs[0] lower, qs[1]
 * upper); qlabel: the label histogram_quantiles adds, or NULL. */
static int classic_histograms(ev_t *ev, bool fraction, double **qs, size_t n_q,
                              const promql_str_t *qlabel, ev_value_t *in, const promql_expr_t *varg,
                              ev_value_t *out) {
    const double *qa = qs[0], *qb = fraction ? qs[1] : NULL;
    size_t nq = fraction ? 1 : n_q;
    ev_value_init(out, PROMQL_TYPE_VECTOR);
    /* Group of each input series: labels without le. */
    size_t *grp = vg_malloc((in->n + 1) * sizeof(size_t));
    double *ub = vg_malloc((in->n + 1) * sizeof(double));
    bool *ok = vg_calloc(in->n + 1, 1);
    ev_map_t gm;
    ev_map_init(&gm, in->n);
    size_t n_groups = 0;
    labels_builder_t *lb = labels_builder_new();
    const char *le = "le";
    labels_t **glabels = vg_calloc(in->n + 1, sizeof(labels_t *));
    for (size_t i = 0; i < in->n; i++) {
        size_t vl = 0;
        const char *v = labels_get(in->s[i].ls, "le", 2, &vl);
        ok[i] = v && parse_le(v, vl, &ub[i]);
        uint64_t h = labels_hash_names(in->s[i].ls, &le, 1, true);
        /* labels_hash_names with without=true also ignores __name__;
         * mix the name back in as Prometheus keeps it in the signature. */
        size_t nl = 0;
        const char *nm = labels_metric_name(in->s[i].ls, &nl);
        if (nm) {
            for (size_t j = 0; j < nl; j++)
                h = (h ^ (unsigned char)nm[j]) * 0x100000001b3ULL;
        }
        size_t *g = ev_map_get(&gm, h);
        if (g) {
            grp[i] = *g;
        } else {
            ev_map_put(&gm, h, n_groups);
            labels_builder_reset(lb, in->s[i].ls);
            labels_builder_del(lb, "le", 2);
            glabels[n_groups] = labels_builder_labels(lb);
            grp[i] = n_groups++;
        }
    }
    ev_map_free(&gm);
    labels_builder_free(lb);
    bucket_t *bk = vg_malloc((in->n + 1) * sizeof(bucket_t));
    size_t *gcount = vg_calloc(n_groups + 1, sizeof(size_t));
    size_t *gstart = vg_calloc(n_groups + 2, sizeof(size_t));
    size_t *gfill = vg_calloc(n_groups + 1, sizeof(size_t));
    size_t *outidx = vg_malloc((n_groups * nq + 1) * sizeof(size_t));
    for (size_t g = 0; g < n_groups * nq; g++)
        outidx[g] = SIZE_MAX;
    labels_builder_t *qb_lb = labels_builder_new();
    size_t *cur = vg_calloc(in->n + 1, sizeof(size_t));
    size_t *gorder = vg_malloc((n_groups + 1) * sizeof(size_t));
    mono_anno_t ma = {0};
    int rc = 0;
    for (size_t k = 0; k < ev->n_steps && rc == 0; k++) {
        int64_t ts = ev_step_ts(ev, k);
        memset(gcount, 0, n_groups * sizeof(size_t));
        size_t n_present = 0;
        /* Count per group, then place. */
        for (size_t i = 0; i < in->n; i++) {
            ev_series_t *s = &in->s[i];
            if (cur[i] < s->n && s->pts[cur[i]].t == ts) {
                if (!ok[i]) {
                    size_t vl = 0, nl = 0;
                    const char *v = labels_get(s->ls, "le", 2, &vl);
                    const char *nm = labels_metric_name(s->ls, &nl);
                    vg_buf_t b1 = VG_BUF_INIT, b2 = VG_BUF_INIT;
                    promql_quote(v ? v : "", v ? vl : 0, &b1);
                    if (nm && nl) {
                        promql_quote(nm, nl, &b2);
                        ev_warn(ev, varg,
                                "bucket label \"le\" is missing or has a malformed value of %s "
                                "for metric name %s",
                                b1.data, b2.data);
                    } else {
                        ev_warn(ev, varg,
                                "bucket label \"le\" is missing or has a malformed value of %s",
                                b1.data);
                    }
                    vg_buf_free(&b1);
                    vg_buf_free(&b2);
                    continue;
                }
                gcount[grp[i]]++;
                n_present++;
            }
        }
        size_t n_go = 0;
        gstart[0] = 0;
        for (size_t g = 0; g < n_groups; g++) {
            gstart[g + 1] = gstart[g] + gcount[g];
            gfill[g] = 0;
        }
        for (size_t i = 0; i < in->n; i++) {
            ev_series_t *s = &in->s[i];
            if (cur[i] < s->n && s->pts[cur[i]].t == ts) {
                double v = s->pts[cur[i]].v;
                cur[i]++;
                if (!ok[i]) continue;
                size_t g = grp[i];
                if (gfill[g] == 0) gorder[n_go++] = g;
                bk[gstart[g] + gfill[g]].upper = ub[i];
                bk[gstart[g] + gfill[g]].count = v;
                gfill[g]++;
            }
        }
        (void)n_present;
        for (size_t qi = 0; qi < nq && rc == 0; qi++) {
            const double *qv = fraction ? qa : qs[qi];
            for (size_t gi = 0; gi < n_go && rc == 0; gi++) {
                size_t g = gorder[gi];
                double v;
                /* bucket_* sort and coalesce in place: work on a copy when
                 * several quantiles read the same buckets. */
                bucket_t *gb = bk + gstart[g];
                bucket_t stackb[64];
                bucket_t *wb = gb;
                if (nq > 1) {
                    wb = gfill[g] <= 64 ? stackb : vg_malloc(gfill[g] * sizeof(bucket_t));
                    memcpy(wb, gb, gfill[g] * sizeof(bucket_t));
                }
                if (fraction) {
                    v = bucket_fraction(qa[k], qb[k], wb, gfill[g]);
                } else {
                    mono_t mo;
                    v = bucket_quantile(qv[k], wb, gfill[g], &mo);
                    if (mo.forced) {
                        if (!ma.any) {
                            ma.any = true;
                            ma.min_ts = ma.max_ts = ts;
                            ma.min_b = mo.min_b;
                            ma.max_b = mo.max_b;
                            ma.max_diff = mo.max_diff;
                            ma.count = 0;
                            size_t nl = 0;
                            const char *nm = labels_metric_name(glabels[g], &nl);
                            snprintf(ma.name, sizeof(ma.name), "%.*s", (int)(nm ? nl : 0),
                                     nm ? nm : "");
                        } else {
                            if (ts < ma.min_ts) ma.min_ts = ts;
                            if (ts > ma.max_ts) ma.max_ts = ts;
                            if (mo.min_b < ma.min_b) ma.min_b = mo.min_b;
                            if (mo.max_b > ma.max_b) ma.max_b = mo.max_b;
                            if (mo.max_diff > ma.max_diff) ma.max_diff = mo.max_diff;
                            ma.count++;
                        }
                    }
                }
                if (wb != gb && wb != stackb) free(wb);
                size_t oi = g * nq + qi;
                if (outidx[oi] == SIZE_MAX) {
                    labels_t *ol;
                    if (qlabel) {
                        char qs_[64];
                        fmt_om_float(qv[k], qs_, sizeof(qs_));
                        labels_builder_reset(qb_lb, glabels[g]);
                        labels_builder_set(qb_lb, qlabel->s, qlabel->len, qs_, strlen(qs_));
                        ol = labels_builder_labels(qb_lb);
                    } else {
                        ol = labels_dup(glabels[g]);
                    }
                    outidx[oi] = ev_value_add(out, ol, true);
                }
                ev_series_t *os = &out->s[outidx[oi]];
                if (os->n > 0 && os->pts[os->n - 1].t == ts) {
                    rc = ev_errf(ev, "vector cannot contain metrics with the same labelset");
                    break;
                }
                rc = ev_series_push(ev, os, ts, v);
            }
        }
    }
    if (ma.any && rc == 0) {
        char t1[32], t2[32], b1[40], b2[40], dd[40];
        time_t s1 = (time_t)(ma.min_ts / 1000), s2 = (time_t)(ma.max_ts / 1000);
        struct tm tm1, tm2;
        gmtime_r(&s1, &tm1);
        gmtime_r(&s2, &tm2);
        strftime(t1, sizeof(t1), "%Y-%m-%dT%H:%M:%SZ", &tm1);
        strftime(t2, sizeof(t2), "%Y-%m-%dT%H:%M:%SZ", &tm2);
        ev_fmt_g(ma.min_b, b1, sizeof(b1));
        ev_fmt_g(ma.max_b, b2, sizeof(b2));
        snprintf(dd, sizeof(dd), "%.2g", ma.max_diff);
        vg_buf_t nb = VG_BUF_INIT;
        if (ma.name[0]) {
            vg_buf_puts(&nb, " for metric name ");
            promql_quote(ma.name, strlen(ma.name), &nb);
        }
        ev_info(ev, varg,
                "input to histogram_quantile needed to be fixed for monotonicity (see "
                "https://prometheus.io/docs/prometheus/latest/querying/functions/"
                "#histogram_quantile)%s, from buckets %s to %s, with a max diff of %s, over %zu "
                "samples from %s to %s",
                nb.data ? nb.data : "", b1, b2, dd, ma.count + 1, t1, t2);
        vg_buf_free(&nb);
    }
    for (size_t g = 0; g < n_groups; g++)
        labels_free(glabels[g]);
    free(glabels);
    free(grp);
    free(ub);
    free(ok);
    free(bk);
    free(gcount);
    free(gstart);
    free(gfill);
    free(outidx);
    free(cur);
    free(gorder);
    labels_builder_free(qb_lb);
    if (rc) {
        ev_value_free(ev, out);
        return rc;
    }
    /* Two groups may end up with the same labels (histogram_quantiles'
     * label was already there). */
    if ((rc = ev_merge_same(ev, out)) != 0) ev_value_free(ev, out);
    return rc;
}

/* ------------------------------------------------------------- dispatch */

static int label_replace(ev_t *ev, const promql_expr_t *e, ev_value_t *out) {
    const promql_expr_t *const *a = (const promql_expr_t *const *)e->u.call.args;
    const promql_str_t *dst = &ev_unparen(a[1])->u.string, *repl = &ev_unparen(a[2])->u.string,
                       *srcl = &ev_unparen(a[3])->u.string, *re_s = &ev_unparen(a[4])->u.string;
    labels_regex_t *re = NULL;
    if (labels_regex_new(re_s->s, re_s->len, &re, NULL) != 0)
        return ev_errf(ev, "invalid regular expression in label_replace(): %s", re_s->s);
    if (dst->len == 0 || !labels_utf8_valid(dst->s, dst->len)) {
        labels_regex_free(re);
        return ev_errf(ev, "invalid destination label name in label_replace(): %s", dst->s);
    }
    int rc = ev_eval(ev, a[0], out);
    if (rc) {
        labels_regex_free(re);
        return rc;
    }
    labels_builder_t *b = labels_builder_new();
    vg_buf_t res = VG_BUF_INIT;
    bool dst_name = dst->len == 8 && memcmp(dst->s, "__name__", 8) == 0;
    for (size_t i = 0; i < out->n; i++) {
        size_t vl = 0;
        const char *v = labels_get(out->s[i].ls, srcl->s, srcl->len, &vl);
        if (!v) {
            v = "";
            vl = 0;
        }
        vg_buf_reset(&res);
        if (!labels_regex_expand(re, v, vl, repl->s, repl->len, &res)) continue;
        labels_builder_reset(b, out->s[i].ls);
        labels_builder_set(b, dst->s, dst->len, res.data ? res.data : "", res.len);
        labels_t *nl = labels_builder_labels(b);
        labels_free(out->s[i].ls);
        out->s[i].ls = nl;
        if (dst_name) out->s[i].drop_name = false;
    }
    vg_buf_free(&res);
    labels_builder_free(b);
    labels_regex_free(re);
    if ((rc = ev_merge_same(ev, out)) != 0) ev_value_free(ev, out);
    return rc;
}

static int label_join(ev_t *ev, const promql_expr_t *e, ev_value_t *out) {
    promql_expr_t *const *a = e->u.call.args;
    const promql_str_t *dst = &ev_unparen(a[1])->u.string, *sep = &ev_unparen(a[2])->u.string;
    for (size_t i = 3; i < e->u.call.n_args; i++) {
        const promql_str_t *s = &ev_unparen(a[i])->u.string;
        if (s->len == 0 || !labels_utf8_valid(s->s, s->len))
            return ev_errf(ev, "invalid source label name in label_join(): %s", s->s);
    }
    if (dst->len == 0 || !labels_utf8_valid(dst->s, dst->len))
        return ev_errf(ev, "invalid destination label name in label_join(): %s", dst->s);
    int rc = ev_eval(ev, a[0], out);
    if (rc) return rc;
    labels_builder_t *b = labels_builder_new();
    vg_buf_t res = VG_BUF_INIT;
    bool dst_name = dst->len == 8 && memcmp(dst->s, "__name__", 8) == 0;
    for (size_t i = 0; i < out->n; i++) {
        vg_buf_reset(&res);
        for (size_t j = 3; j < e->u.call.n_args; j++) {
            const promql_str_t *s = &ev_unparen(a[j])->u.string;
            if (j > 3) vg_buf_append(&res, sep->s, sep->len);
            size_t vl = 0;
            const char *v = labels_get(out->s[i].ls, s->s, s->len, &vl);
            if (v) vg_buf_append(&res, v, vl);
        }
        labels_builder_reset(b, out->s[i].ls);
        labels_builder_set(b, dst->s, dst->len, res.data ? res.data : "", res.len);
        labels_t *nl = labels_builder_labels(b);
        labels_free(out->s[i].ls);
        out->s[i].ls = nl;
        if (dst_name) out->s[i].drop_name = false;
    }
    vg_buf_free(&res);
    labels_builder_free(b);
    if ((rc = ev_merge_same(ev, out)) != 0) ev_value_free(ev, out);
    return rc;
}

int ev_call(ev_t *ev, const promql_expr_t *e, ev_value_t *out) {
    const char *name = e->u.call.func->name;
    size_t na = e->u.call.n_args;
    promql_expr_t *const *args = e->u.call.args;
    int rc = 0;

    /* Range-vector argument: windows. */
    for (size_t i = 0; i < na; i++) {
        const promql_expr_t *a = ev_unparen(args[i]);
        if (a->kind != PROMQL_MATRIX && a->kind != PROMQL_SUBQUERY) continue;
        if (a->kind == PROMQL_MATRIX) {
            const promql_expr_t *vs = ev_unparen(a->u.matrix.vector);
            if (vs->u.vector.anchored || vs->u.vector.smoothed)
                return ev_errf(ev, "anchored and smoothed range selectors are not supported");
        }
        for (size_t j = 0; j < sizeof(window_fns) / sizeof(window_fns[0]); j++)
            if (strcmp(window_fns[j].name, name) == 0)
                return call_window(ev, e, window_fns[j].fn, i, out);
        return ev_errf(ev, "function %s is not supported", name);
    }

    if (strcmp(name, "timestamp") == 0 && ev_unparen(args[0])->kind == PROMQL_VECTOR)
        return ev_selector_timestamps(ev, ev_unparen(args[0]), out);
    if (strcmp(name, "label_replace") == 0) return label_replace(ev, e, out);
    if (strcmp(name, "label_join") == 0) return label_join(ev, e, out);

    /* Scalar-valued functions without vector arguments. */
    double cval = NAN;
    bool is_const = true;
    if (strcmp(name, "pi") == 0)
        cval = M_PI;
    else if (strcmp(name, "start") == 0)
        cval = (double)ev->q_start / 1000.0;
    else if (strcmp(name, "end") == 0)
        cval = (double)ev->q_end / 1000.0;
    else if (strcmp(name, "range") == 0)
        cval = (double)(ev->q_end - ev->q_start) / 1000.0;
    else if (strcmp(name, "step") == 0)
        cval = (double)ev->q_step / 1000.0;
    else
        is_const = false;
    if (is_const) {
        double *v = vg_malloc((ev->n_steps + 1) * sizeof(double));
        for (size_t k = 0; k < ev->n_steps; k++)
            v[k] = cval;
        rc = scalar_value(ev, v, out);
        free(v);
        return rc;
    }
    if (strcmp(name, "time") == 0) {
        double *v = vg_malloc((ev->n_steps + 1) * sizeof(double));
        for (size_t k = 0; k < ev->n_steps; k++)
            v[k] = (double)ev_step_ts(ev, k) / 1000.0;
        rc = scalar_value(ev, v, out);
        free(v);
        return rc;
    }
    if (strcmp(name, "min_of") == 0 || strcmp(name, "max_of") == 0) {
        double *a = NULL, *b = NULL;
        if ((rc = scalar_arg(ev, e, 0, &a)) != 0) return rc;
        if ((rc = scalar_arg(ev, e, 1, &b)) != 0) {
            free(a);
            return rc;
        }
        bool mn = name[1] == 'i';
        for (size_t k = 0; k < ev->n_steps; k++)
            a[k] = mn ? go_min(a[k], b[k]) : go_max(a[k], b[k]);
        rc = scalar_value(ev, a, out);
        free(a);
        free(b);
        return rc;
    }
    if (strcmp(name, "vector") == 0) {
        double *a = NULL;
        if ((rc = scalar_arg(ev, e, 0, &a)) != 0) return rc;
        rc = scalar_value(ev, a, out);
        free(a);
        if (rc == 0) out->type = PROMQL_TYPE_VECTOR;
        return rc;
    }
    /* Date functions without an argument use the evaluation time. */
    for (size_t j = 0; j < sizeof(date_fns) / sizeof(date_fns[0]); j++) {
        if (strcmp(date_fns[j].name, name) != 0) continue;
        if (na == 0) {
            double *v = vg_malloc((ev->n_steps + 1) * sizeof(double));
            for (size_t k = 0; k < ev->n_steps; k++)
                v[k] = date_part(date_fns[j].fn, (double)(ev_step_ts(ev, k) / 1000));
            rc = scalar_value(ev, v, out);
            free(v);
            if (rc == 0) out->type = PROMQL_TYPE_VECTOR;
            return rc;
        }
        if ((rc = ev_eval(ev, args[0], out)) != 0) return rc;
        for (size_t i = 0; i < out->n; i++) {
            out->s[i].drop_name = true;
            for (size_t p = 0; p < out->s[i].n; p++)
                out->s[i].pts[p].v = date_part(date_fns[j].fn, out->s[i].pts[p].v);
        }
        return 0;
    }
    for (size_t j = 0; j < sizeof(simple_fns) / sizeof(simple_fns[0]); j++) {
        if (strcmp(simple_fns[j].name, name) != 0) continue;
        if ((rc = ev_eval(ev, args[0], out)) != 0) return rc;
        for (size_t i = 0; i < out->n; i++) {
            out->s[i].drop_name = true;
            for (size_t p = 0; p < out->s[i].n; p++)
                out->s[i].pts[p].v = simple(simple_fns[j].fn, out->s[i].pts[p].v);
        }
        return 0;
    }
    if (strcmp(name, "timestamp") == 0) {
        if ((rc = ev_eval(ev, args[0], out)) != 0) return rc;
        for (size_t i = 0; i < out->n; i++) {
            out->s[i].drop_name = true;
            for (size_t p = 0; p < out->s[i].n; p++)
                out->s[i].pts[p].v = (double)out->s[i].pts[p].t / 1000.0;
        }
        return 0;
    }
    if (strcmp(name, "round") == 0 || strcmp(name, "clamp") == 0 ||
        strcmp(name, "clamp_min") == 0 || strcmp(name, "clamp_max") == 0) {
        double *a = NULL, *b = NULL;
        if ((rc = scalar_arg(ev, e, 1, &a)) != 0) return rc;
        if ((rc = scalar_arg(ev, e, 2, &b)) != 0) {
            free(a);
            return rc;
        }
        if ((rc = ev_eval(ev, args[0], out)) != 0) {
            free(a);
            free(b);
            return rc;
        }
        int kind = name[0] == 'r'                     ? 0
                   : strcmp(name, "clamp") == 0       ? 1
                   : name[6] == 'm' && name[7] == 'i' ? 2
                                                      : 3;
        for (size_t i = 0; i < out->n; i++) {
            ev_series_t *s = &out->s[i];
            s->drop_name = true;
            size_t w = 0;
            for (size_t p = 0; p < s->n; p++) {
                size_t k = step_of(ev, s->pts[p].t);
                double f = s->pts[p].v;
                if (kind == 0) {
                    double inv = 1.0 / (a ? a[k] : 1.0);
                    f = floor(f * inv + 0.5) / inv;
                } else {
                    double lo = kind == 3 ? -INFINITY : a[k];
                    double hi = kind == 1 ? b[k] : kind == 3 ? a[k] : INFINITY;
                    if (hi < lo) continue;
                    f = go_max(lo, go_min(hi, f));
                }
                s->pts[w].t = s->pts[p].t;
                s->pts[w].v = f;
                w++;
            }
            if (*ev->cur_samples >= s->n - w) *ev->cur_samples -= s->n - w;
            s->n = w;
        }
        ev_value_compact(ev, out);
        free(a);
        free(b);
        return 0;
    }
    if (strcmp(name, "scalar") == 0) {
        ev_value_t in;
        if ((rc = ev_eval(ev, args[0], &in)) != 0) return rc;
        double *v = vg_malloc((ev->n_steps + 1) * sizeof(double));
        uint32_t *cnt = vg_calloc(ev->n_steps + 1, sizeof(uint32_t));
        for (size_t k = 0; k < ev->n_steps; k++)
            v[k] = NAN;
        for (size_t i = 0; i < in.n; i++)
            for (size_t p = 0; p < in.s[i].n; p++) {
                size_t k = step_of(ev, in.s[i].pts[p].t);
                if (cnt[k]++ == 0)
                    v[k] = in.s[i].pts[p].v;
                else
                    v[k] = NAN;
            }
        ev_value_free(ev, &in);
        rc = scalar_value(ev, v, out);
        free(v);
        free(cnt);
        return rc;
    }
    if (strcmp(name, "absent") == 0) {
        ev_value_t in;
        if ((rc = ev_eval(ev, args[0], &in)) != 0) return rc;
        uint8_t *found = vg_calloc(ev->n_steps + 1, 1);
        for (size_t i = 0; i < in.n; i++)
            for (size_t p = 0; p < in.s[i].n; p++)
                found[step_of(ev, in.s[i].pts[p].t)] = 1;
        ev_value_free(ev, &in);
        ev_value_init(out, PROMQL_TYPE_VECTOR);
        ev_series_t s = {0};
        for (size_t k = 0; k < ev->n_steps && rc == 0; k++)
            if (!found[k]) rc = ev_series_push(ev, &s, ev_step_ts(ev, k), 1);
        free(found);
        if (s.n > 0 && rc == 0) {
            size_t idx = ev_value_add(out, absent_labels(args[0]), false);
            out->s[idx].pts = s.pts;
            out->s[idx].n = s.n;
            out->s[idx].cap = s.cap;
        } else {
            ev_series_free_points(ev, &s);
        }
        return rc;
    }
    if (strncmp(name, "sort", 4) == 0) {
        if ((rc = ev_eval(ev, args[0], out)) != 0) return rc;
        if (ev->n_steps > 1 || ev->start != ev->end) {
            ev_warn(ev, e,
                    "sort is ineffective for range queries since results are always ordered "
                    "by labels");
            return 0;
        }
        sort_ctx_t c = {e, strcmp(name, "sort") == 0            ? 0
                           : strcmp(name, "sort_desc") == 0     ? 1
                           : strcmp(name, "sort_by_label") == 0 ? 2
                                                                : 3};
        sort_series(out, &c);
        return 0;
    }
    if (strcmp(name, "histogram_quantile") == 0 || strcmp(name, "histogram_fraction") == 0 ||
        strcmp(name, "histogram_quantiles") == 0) {
        bool frac = name[10] == 'f', multi = strcmp(name, "histogram_quantiles") == 0;
        size_t first = multi ? 2 : 0, nq = multi ? na - 2 : frac ? 2 : 1;
        double **qs = vg_calloc(nq + 1, sizeof(double *));
        const promql_expr_t *varg = args[multi ? 0 : frac ? 2 : 1];
        for (size_t i = 0; i < nq && rc == 0; i++) {
            rc = scalar_arg(ev, e, first + i, &qs[i]);
            if (rc == 0 && !frac) {
                for (size_t k = 0; k < ev->n_steps; k++) {
                    if (isnan(qs[i][k]) || qs[i][k] < 0 || qs[i][k] > 1) {
                        char g[40];
                        ev_fmt_g(qs[i][k], g, sizeof(g));
                        ev_warn(ev, args[first + i],
                                "quantile value should be between 0 and 1, got %s", g);
                    }
                }
            }
        }
        ev_value_t in;
        if (rc == 0 && (rc = ev_eval(ev, varg, &in)) == 0) {
            rc = classic_histograms(ev, frac, qs, nq, multi ? &ev_unparen(args[1])->u.string : NULL,
                                    &in, varg, out);
            ev_value_free(ev, &in);
        }
        for (size_t i = 0; i < nq; i++)
            free(qs[i]);
        free(qs);
        return rc;
    }
    if (strncmp(name, "histogram_", 10) == 0 || strcmp(name, "start_timestamp") == 0) {
        /* Native histograms only: floats give nothing. */
        ev_value_t in;
        for (size_t i = 0; i < na; i++) {
            if (promql_expr_type(args[i]) != PROMQL_TYPE_VECTOR) continue;
            if ((rc = ev_eval(ev, args[i], &in)) != 0) return rc;
            ev_value_free(ev, &in);
        }
        ev_value_init(out, PROMQL_TYPE_VECTOR);
        return 0;
    }
    return ev_errf(ev, "function %s is not supported", name);
}
