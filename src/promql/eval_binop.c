/*
 * This file implements binary operators: scalar/scalar, vector/scalar and
 * vector/vector arithmetic and comparisons with vector matching (on,
 * ignoring, group_left/group_right with included labels, fill values),
 * and the set operators and, or, unless — with Prometheus's result labels
 * and its error messages for ambiguous matches.
 *
 * Vector/vector evaluation works step by step over the operands' series:
 * join signatures and result labels are computed once per series (pair),
 * not per step.
 */
#include <stdlib.h>

#include "promql/eval_int.h"

static bool changes_schema(promql_op_t op) {
    switch (op) {
    case PROMQL_OP_ADD:
    case PROMQL_OP_SUB:
    case PROMQL_OP_MUL:
    case PROMQL_OP_DIV:
    case PROMQL_OP_POW:
    case PROMQL_OP_MOD:
    case PROMQL_OP_ATAN2: return true;
    default: return false;
    }
}

/* Go's math.Mod: the result has the sign of x; fmod agrees. */
static double arith(promql_op_t op, double l, double r) {
    switch (op) {
    case PROMQL_OP_ADD: return l + r;
    case PROMQL_OP_SUB: return l - r;
    case PROMQL_OP_MUL: return l * r;
    case PROMQL_OP_DIV: return l / r;
    case PROMQL_OP_POW: return pow(l, r);
    case PROMQL_OP_MOD: return fmod(l, r);
    case PROMQL_OP_ATAN2: return atan2(l, r);
    default: return NAN;
    }
}

static bool compare(promql_op_t op, double l, double r) {
    switch (op) {
    case PROMQL_OP_EQLC: return l == r;
    case PROMQL_OP_NEQ: return l != r;
    case PROMQL_OP_GTR: return l > r;
    case PROMQL_OP_LSS: return l < r;
    case PROMQL_OP_GTE: return l >= r;
    case PROMQL_OP_LTE: return l <= r;
    default: return false;
    }
}

/* Value of a float/float operation and whether the element is kept. */
static double elem_binop(promql_op_t op, double l, double r, bool *keep) {
    if (promql_op_is_comparison(op)) {
        *keep = compare(op, l, r);
        return l;
    }
    *keep = true;
    return arith(op, l, r);
}

static double scalar_at(const ev_value_t *v, size_t k) {
    if (v->n == 0) return NAN;
    const ev_series_t *s = &v->s[0];
    return k < s->n ? s->pts[k].v : NAN;
}

/* ---------------------------------------------------- scalar operands */

static int scalar_scalar(ev_t *ev, const promql_expr_t *e, ev_value_t *l, ev_value_t *r,
                         ev_value_t *out) {
    /* Reuse the left scalar. */
    for (size_t k = 0; l->n > 0 && k < l->s[0].n; k++) {
        double a = l->s[0].pts[k].v, b = scalar_at(r, k);
        promql_op_t op = e->u.binary.op;
        l->s[0].pts[k].v =
            promql_op_is_comparison(op) ? (compare(op, a, b) ? 1 : 0) : arith(op, a, b);
    }
    ev_value_free(ev, r);
    *out = *l;
    return 0;
}

static void trim_info(ev_t *ev, const promql_expr_t *e) {
    ev_info(ev, e,
            "incompatible sample types encountered for binary operator \"%s\": float %s float",
            promql_op_str(e->u.binary.op), promql_op_str(e->u.binary.op));
}

/* vector op scalar (swap: scalar op vector), in place on the vector. */
static int vector_scalar(ev_t *ev, const promql_expr_t *e, ev_value_t *vec, ev_value_t *sc,
                         bool swap, ev_value_t *out) {
    promql_op_t op = e->u.binary.op;
    bool rb = e->u.binary.return_bool;
    bool cmp = promql_op_is_comparison(op);
    if (op == PROMQL_OP_TRIM_LOWER || op == PROMQL_OP_TRIM_UPPER) {
        bool any = false;
        for (size_t i = 0; i < vec->n; i++) {
            if (vec->s[i].n) any = true;
            ev_series_free_points(ev, &vec->s[i]);
        }
        if (any) trim_info(ev, e);
        ev_value_compact(ev, vec);
        ev_value_free(ev, sc);
        *out = *vec;
        return 0;
    }
    int64_t start = ev->start;
    for (size_t i = 0; i < vec->n; i++) {
        ev_series_t *s = &vec->s[i];
        size_t w = 0;
        for (size_t j = 0; j < s->n; j++) {
            size_t k = (size_t)((s->pts[j].t - start) / (ev->interval ? ev->interval : 1));
            double vv = s->pts[j].v, sv = scalar_at(sc, k);
            double lf = swap ? sv : vv, rf = swap ? vv : sv;
            bool keep;
            double f = elem_binop(op, lf, rf, &keep);
            if (cmp && swap) f = rf;
            if (rb) {
                f = keep ? 1 : 0;
                keep = true;
            }
            if (!keep) continue;
            s->pts[w].t = s->pts[j].t;
            s->pts[w].v = f;
            w++;
        }
        if (*ev->cur_samples >= s->n - w) *ev->cur_samples -= s->n - w;
        s->n = w;
        if (changes_schema(op) || rb) s->drop_name = true;
    }
    ev_value_compact(ev, vec);
    ev_value_free(ev, sc);
    *out = *vec;
    return 0;
}

/* ----------------------------------------------------- vector matching */

typedef struct side {
    ev_value_t *v;
    size_t *cur;  /* per series: next point */
    size_t *sig;  /* per series: signature ordinal */
    size_t *pres; /* series present at the step */
    size_t n_pres;
    double *val; /* values of present series, by position in pres */
} side_t;

static const char **matching_names(const promql_vector_matching_t *m, const char **stack,
                                   size_t cap) {
    const char **names = m->n_labels <= cap ? stack : vg_malloc(m->n_labels * sizeof(*names));
    for (size_t i = 0; i < m->n_labels; i++)
        names[i] = m->labels[i].s;
    return names;
}

static void side_init(side_t *sd, ev_value_t *v, const promql_vector_matching_t *m,
                      ev_map_t *sigmap, size_t *n_sigs) {
    sd->v = v;
    sd->cur = vg_calloc(v->n + 1, sizeof(size_t));
    sd->sig = vg_calloc(v->n + 1, sizeof(size_t));
    sd->pres = vg_calloc(v->n + 1, sizeof(size_t));
    sd->val = vg_calloc(v->n + 1, sizeof(double));
    sd->n_pres = 0;
    const char *stack[32];
    const char **names = matching_names(m, stack, 32);
    for (size_t i = 0; i < v->n; i++) {
        uint64_t h = labels_hash_names(v->s[i].ls, names, m->n_labels, !m->on);
        size_t *o = ev_map_get(sigmap, h);
        if (o) {
            sd->sig[i] = *o;
        } else {
            ev_map_put(sigmap, h, *n_sigs);
            sd->sig[i] = (*n_sigs)++;
        }
    }
    if (names != stack) free(names);
}

static void side_free(side_t *sd) {
    free(sd->cur);
    free(sd->sig);
    free(sd->pres);
    free(sd->val);
}

static void side_gather(side_t *sd, int64_t ts) {
    sd->n_pres = 0;
    for (size_t i = 0; i < sd->v->n; i++) {
        ev_series_t *s = &sd->v->s[i];
        size_t c = sd->cur[i];
        if (c < s->n && s->pts[c].t == ts) {
            sd->val[sd->n_pres] = s->pts[c].v;
            sd->pres[sd->n_pres++] = i;
            sd->cur[i] = c + 1;
        }
    }
}

static bool name_in(const promql_str_t *names, size_t n, const char *s, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (names[i].len == len && memcmp(names[i].s, s, len) == 0) return true;
    return false;
}

/* labels.MatchLabels(on, names): the labels a fill value stands in with. */
static labels_t *match_labels(const labels_t *ls, const promql_vector_matching_t *m) {
    labels_builder_t *b = labels_builder_new();
    labels_builder_reset(b, ls);
    size_t n = labels_len(ls);
    for (size_t i = 0; i < n; i++) {
        labels_label_t l = labels_at(ls, i);
        bool in = name_in(m->labels, m->n_labels, l.name, l.name_len);
        bool is_name = l.name_len == 8 && memcmp(l.name, "__name__", 8) == 0;
        if (m->on ? !in : (in || is_name)) labels_builder_del(b, l.name, l.name_len);
    }
    labels_t *out = labels_builder_labels(b);
    labels_builder_free(b);
    return out;
}

/* Prometheus's resultMetric. */
static labels_t *result_metric(labels_builder_t *b, const labels_t *l, const labels_t *r,
                               promql_op_t op, const promql_vector_matching_t *m) {
    labels_builder_reset(b, l);
    if (changes_schema(op)) {
        labels_builder_del(b, "__name__", 8);
        labels_builder_del(b, "__type__", 8);
        labels_builder_del(b, "__unit__", 8);
    }
    if (m->card == PROMQL_CARD_ONE_TO_ONE) {
        if (m->on) {
            size_t n = labels_len(l);
            for (size_t i = 0; i < n; i++) {
                labels_label_t x = labels_at(l, i);
                if (!name_in(m->labels, m->n_labels, x.name, x.name_len))
                    labels_builder_del(b, x.name, x.name_len);
            }
        } else {
            for (size_t i = 0; i < m->n_labels; i++)
                labels_builder_del(b, m->labels[i].s, m->labels[i].len);
        }
    }
    for (size_t i = 0; i < m->n_include; i++) {
        size_t vl = 0;
        const char *v = labels_get(r, m->include[i].s, m->include[i].len, &vl);
        if (v && vl > 0)
            labels_builder_set(b, m->include[i].s, m->include[i].len, v, vl);
        else
            labels_builder_del(b, m->include[i].s, m->include[i].len);
    }
    return labels_builder_labels(b);
}

/* The output side: series by label hash, with a per-step stamp to find
 * two results with the same labels at one step. */
typedef struct outv {
    ev_value_t v;
    ev_map_t by_hash;
    size_t *stamp; /* step + 1 of the last point */
    size_t cap_stamp;
} outv_t;

/* Returns the index of the output series for ls (taken). */
static size_t out_get(outv_t *o, labels_t *ls, bool drop_name) {
    uint64_t h = labels_hash(ls);
    size_t *p = ev_map_get(&o->by_hash, h);
    if (p) {
        labels_free(ls);
        return *p;
    }
    size_t idx = ev_value_add(&o->v, ls, drop_name);
    ev_map_put(&o->by_hash, h, idx);
    if (idx >= o->cap_stamp) {
        size_t nc = o->cap_stamp ? o->cap_stamp * 2 : 16;
        while (nc <= idx)
            nc *= 2;
        o->stamp = vg_realloc(o->stamp, nc * sizeof(*o->stamp));
        memset(o->stamp + o->cap_stamp, 0, (nc - o->cap_stamp) * sizeof(*o->stamp));
        o->cap_stamp = nc;
    }
    return idx;
}

static void fmt_labels(const labels_t *ls, char *buf, size_t cap) {
    vg_buf_t b = VG_BUF_INIT;
    labels_format(ls, &b);
    snprintf(buf, cap, "%s", b.data ? b.data : "{}");
    vg_buf_free(&b);
}

/* Emits series i of side sd at step k into o (series map cache in map). */
static int emit(ev_t *ev, outv_t *o, side_t *sd, size_t *map, size_t j, size_t k, int64_t ts) {
    size_t i = sd->pres[j];
    if (map[i] == SIZE_MAX) map[i] = out_get(o, labels_dup(sd->v->s[i].ls), sd->v->s[i].drop_name);
    size_t oi = map[i];
    if (o->stamp[oi] == k + 1)
        return ev_errf(ev, "vector cannot contain metrics with the same labelset");
    o->stamp[oi] = k + 1;
    return ev_series_push(ev, &o->v.s[oi], ts, sd->val[j]);
}

static int set_op(ev_t *ev, const promql_expr_t *e, ev_value_t *l, ev_value_t *r, ev_value_t *out) {
    const promql_vector_matching_t *m = e->u.binary.matching;
    promql_op_t op = e->u.binary.op;
    ev_map_t sigmap;
    ev_map_init(&sigmap, l->n + r->n);
    size_t n_sigs = 0;
    side_t L, R;
    side_init(&L, l, m, &sigmap, &n_sigs);
    side_init(&R, r, m, &sigmap, &n_sigs);
    ev_map_free(&sigmap);
    uint8_t *flag = vg_calloc(n_sigs + 1, 1);
    outv_t o = {0};
    ev_value_init(&o.v, PROMQL_TYPE_VECTOR);
    ev_map_init(&o.by_hash, l->n + r->n);
    size_t *lmap = vg_malloc((l->n + 1) * sizeof(size_t));
    size_t *rmap = vg_malloc((r->n + 1) * sizeof(size_t));
    for (size_t i = 0; i < l->n; i++)
        lmap[i] = SIZE_MAX;
    for (size_t i = 0; i < r->n; i++)
        rmap[i] = SIZE_MAX;
    int rc = 0;
    for (size_t k = 0; k < ev->n_steps && rc == 0; k++) {
        int64_t ts = ev_step_ts(ev, k);
        if ((rc = ev_check(ev)) != 0) break;
        side_gather(&L, ts);
        side_gather(&R, ts);
        if (op == PROMQL_OP_OR) {
            for (size_t j = 0; j < L.n_pres; j++)
                flag[L.sig[L.pres[j]]] = 1;
            for (size_t j = 0; j < L.n_pres && rc == 0; j++)
                rc = emit(ev, &o, &L, lmap, j, k, ts);
            for (size_t j = 0; j < R.n_pres && rc == 0; j++)
                if (!flag[R.sig[R.pres[j]]]) rc = emit(ev, &o, &R, rmap, j, k, ts);
            for (size_t j = 0; j < L.n_pres; j++)
                flag[L.sig[L.pres[j]]] = 0;
        } else {
            bool is_and = op == PROMQL_OP_AND;
            if (L.n_pres == 0 || (is_and && R.n_pres == 0)) continue;
            for (size_t j = 0; j < R.n_pres; j++)
                flag[R.sig[R.pres[j]]] = 1;
            for (size_t j = 0; j < L.n_pres && rc == 0; j++)
                if ((flag[L.sig[L.pres[j]]] != 0) == is_and) rc = emit(ev, &o, &L, lmap, j, k, ts);
            for (size_t j = 0; j < R.n_pres; j++)
                flag[R.sig[R.pres[j]]] = 0;
        }
    }
    free(flag);
    free(lmap);
    free(rmap);
    side_free(&L);
    side_free(&R);
    ev_map_free(&o.by_hash);
    free(o.stamp);
    ev_value_free(ev, l);
    ev_value_free(ev, r);
    if (rc) {
        ev_value_free(ev, &o.v);
        return rc;
    }
    *out = o.v;
    return 0;
}

#define NONE SIZE_MAX

/* Arithmetic and comparisons between two instant vectors. */
static int vector_vector(ev_t *ev, const promql_expr_t *e, ev_value_t *lv, ev_value_t *rv,
                         ev_value_t *out) {
    const promql_vector_matching_t *m = e->u.binary.matching;
    promql_op_t op = e->u.binary.op;
    bool rb = e->u.binary.return_bool;
    bool swap = m->card == PROMQL_CARD_ONE_TO_MANY;
    ev_map_t sigmap;
    ev_map_init(&sigmap, lv->n + rv->n);
    size_t n_sigs = 0;
    side_t L, R;
    side_init(&L, lv, m, &sigmap, &n_sigs);
    side_init(&R, rv, m, &sigmap, &n_sigs);
    ev_map_free(&sigmap);
    /* A: the "many" (or left) side, B: the "one" side. */
    side_t *A = swap ? &R : &L, *B = swap ? &L : &R;
    /* As Prometheus: after the swap for group_right, the fill values are
     * still read by position (right fills a missing "one" side). */
    bool has_fill_b = m->has_fill_rhs, has_fill_a = m->has_fill_lhs;
    double fill_b = m->fill_rhs, fill_a = m->fill_lhs;
    size_t *bsig = vg_malloc((n_sigs + 1) * sizeof(size_t)); /* sig -> position in B.pres */
    uint8_t *matched = vg_calloc(n_sigs + 1, 1);
    for (size_t i = 0; i <= n_sigs; i++)
        bsig[i] = NONE;
    outv_t o = {0};
    ev_value_init(&o.v, PROMQL_TYPE_VECTOR);
    ev_map_init(&o.by_hash, A->v->n + 1);
    ev_map_t pair;
    ev_map_init(&pair, A->v->n + 1);
    labels_builder_t *b = labels_builder_new();
    size_t nb1 = B->v->n + 1;
    int rc = 0;
    bool trim = op == PROMQL_OP_TRIM_LOWER || op == PROMQL_OP_TRIM_UPPER;
    char buf1[1024], buf2[1024], buf3[1024];

    for (size_t k = 0; k < ev->n_steps && rc == 0; k++) {
        int64_t ts = ev_step_ts(ev, k);
        if ((rc = ev_check(ev)) != 0) break;
        side_gather(&L, ts);
        side_gather(&R, ts);
        if ((L.n_pres == 0 && R.n_pres == 0) ||
            ((L.n_pres == 0 || R.n_pres == 0) && !m->has_fill_lhs && !m->has_fill_rhs))
            continue;
        for (size_t j = 0; j < B->n_pres; j++) {
            size_t i = B->pres[j], sg = B->sig[i];
            if (bsig[sg] != NONE) {
                const labels_t *dup = B->v->s[B->pres[bsig[sg]]].ls;
                labels_t *ml = match_labels(B->v->s[i].ls, m);
                fmt_labels(ml, buf1, sizeof(buf1));
                labels_free(ml);
                fmt_labels(B->v->s[i].ls, buf2, sizeof(buf2));
                fmt_labels(dup, buf3, sizeof(buf3));
                rc = ev_errf(ev,
                             "found duplicate series for the match group %s on the %s hand-side "
                             "of the operation: [%s, %s];many-to-many matching not allowed: "
                             "matching labels must be unique on one side",
                             buf1, swap ? "left" : "right", buf2, buf3);
                break;
            }
            bsig[sg] = j;
        }
        if (rc) break;
        if (trim && (A->n_pres > 0 && B->n_pres > 0)) {
            bool any = false;
            for (size_t j = 0; j < A->n_pres; j++)
                if (bsig[A->sig[A->pres[j]]] != NONE) any = true;
            if (any) trim_info(ev, e);
        }
        /* Each A element with its B match (or B's fill value). */
        for (size_t pass = 0; pass < 2 && rc == 0; pass++) {
            size_t n_iter = pass == 0 ? A->n_pres : (has_fill_a ? B->n_pres : 0);
            for (size_t j = 0; j < n_iter && rc == 0; j++) {
                size_t ai, bi, sg;
                double af, bf;
                if (pass == 0) {
                    ai = A->pres[j];
                    sg = A->sig[ai];
                    af = A->val[j];
                    if (bsig[sg] != NONE) {
                        bi = B->pres[bsig[sg]];
                        bf = B->val[bsig[sg]];
                    } else {
                        if (!has_fill_b) continue;
                        bi = NONE;
                        bf = fill_b;
                    }
                } else {
                    bi = B->pres[j];
                    sg = B->sig[bi];
                    if (matched[sg]) continue;
                    ai = NONE;
                    af = fill_a;
                    bf = B->val[j];
                }
                if (trim) continue;
                double lf = swap ? bf : af, rf = swap ? af : bf;
                bool keep;
                double f = elem_binop(op, lf, rf, &keep);
                if (rb) {
                    f = keep ? 1 : 0;
                }
                /* The output series of this pair. */
                uint64_t key = (ai == NONE ? (uint64_t)A->v->n : ai) * (uint64_t)nb1 +
                               (bi == NONE ? (uint64_t)B->v->n : bi);
                size_t *pp = ev_map_get(&pair, key);
                size_t oi;
                if (pp) {
                    oi = *pp;
                } else {
                    labels_t *al = ai != NONE ? NULL : match_labels(B->v->s[bi].ls, m);
                    labels_t *bl = bi != NONE ? NULL : match_labels(A->v->s[ai].ls, m);
                    labels_t *res = result_metric(b, ai != NONE ? A->v->s[ai].ls : al,
                                                  bi != NONE ? B->v->s[bi].ls : bl, op, m);
                    labels_free(al);
                    labels_free(bl);
                    oi = out_get(&o, res, rb);
                    ev_map_put(&pair, key, oi);
                }
                if (m->card == PROMQL_CARD_ONE_TO_ONE) {
                    if (matched[sg]) {
                        rc = ev_errf(ev, "multiple matches for labels: many-to-one matching must "
                                         "be explicit (group_left/group_right)");
                        break;
                    }
                } else if (o.stamp[oi] == k + 1) {
                    rc = ev_errf(ev, "multiple matches for labels: grouping labels must ensure "
                                     "unique matches");
                    break;
                }
                matched[sg] = 1;
                if (!keep && !rb) {
                    o.stamp[oi] = k + 1;
                    continue;
                }
                if (o.stamp[oi] == k + 1) {
                    rc = ev_errf(ev, "vector cannot contain metrics with the same labelset");
                    break;
                }
                o.stamp[oi] = k + 1;
                rc = ev_series_push(ev, &o.v.s[oi], ts, f);
            }
        }
        for (size_t j = 0; j < B->n_pres; j++)
            bsig[B->sig[B->pres[j]]] = NONE;
        for (size_t j = 0; j < A->n_pres; j++)
            matched[A->sig[A->pres[j]]] = 0;
        for (size_t j = 0; j < B->n_pres; j++)
            matched[B->sig[B->pres[j]]] = 0;
    }
    labels_builder_free(b);
    ev_map_free(&pair);
    free(bsig);
    free(matched);
    side_free(&L);
    side_free(&R);
    ev_map_free(&o.by_hash);
    free(o.stamp);
    ev_value_free(ev, lv);
    ev_value_free(ev, rv);
    if (rc) {
        ev_value_free(ev, &o.v);
        return rc;
    }
    ev_value_compact(ev, &o.v);
    *out = o.v;
    return 0;
}

int ev_binary(ev_t *ev, const promql_expr_t *e, ev_value_t *out) {
    ev_value_t l, r;
    int rc = ev_eval(ev, e->u.binary.lhs, &l);
    if (rc) return rc;
    if ((rc = ev_eval(ev, e->u.binary.rhs, &r)) != 0) {
        ev_value_free(ev, &l);
        return rc;
    }
    bool ls = l.type == PROMQL_TYPE_SCALAR, rs = r.type == PROMQL_TYPE_SCALAR;
    if (ls && rs) return scalar_scalar(ev, e, &l, &r, out);
    if (!ls && rs) return vector_scalar(ev, e, &l, &r, false, out);
    if (ls && !rs) return vector_scalar(ev, e, &r, &l, true, out);
    if (promql_op_is_set(e->u.binary.op)) return set_op(ev, e, &l, &r, out);
    return vector_vector(ev, e, &l, &r, out);
}
