/*
 * This file implements the evaluation engine: the query entry points, the
 * concurrency gate, values and their sample accounting, annotations,
 * instant and range selectors over the tsdb, subqueries, step-invariant
 * parts (the @ modifier), literals and unary minus, and the final clean-up
 * of names (Prometheus 3.x's delayed __name__ removal).
 *
 * Evaluation follows Prometheus's engine: every node is evaluated once for
 * all the steps of the query, selectors read their series once for the
 * whole range, windows are left-open (t - range, t].
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "promql/eval_int.h"

struct promql_engine {
    promql_engine_opts_t o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned running;
};

#define EV_ENV "query execution"

/* ------------------------------------------------------------- engine */

promql_engine_t *promql_engine_new(const promql_engine_opts_t *opts) {
    promql_engine_t *e = vg_calloc(1, sizeof(*e));
    if (opts) e->o = *opts;
    if (e->o.lookback_ms <= 0) e->o.lookback_ms = 5 * 60 * 1000;
    if (e->o.timeout_ms <= 0) e->o.timeout_ms = 2 * 60 * 1000;
    if (e->o.max_samples == 0) e->o.max_samples = 50000000;
    if (e->o.max_concurrency == 0) e->o.max_concurrency = 20;
    if (e->o.default_subquery_step_ms <= 0) e->o.default_subquery_step_ms = 60 * 1000;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    return e;
}

void promql_engine_free(promql_engine_t *e) {
    if (!e) return;
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}

/* Waits for a slot until the deadline; 0 or PROMQL_ERR_TIMEOUT. */
static int gate_enter(promql_engine_t *e, double deadline_mono, int64_t timeout_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + (timeout_ms % 1000) * 1000000;
    ts.tv_sec += (time_t)(timeout_ms / 1000) + (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    (void)deadline_mono;
    pthread_mutex_lock(&e->mu);
    while (e->running >= e->o.max_concurrency) {
        if (pthread_cond_timedwait(&e->cv, &e->mu, &ts) == ETIMEDOUT) {
            pthread_mutex_unlock(&e->mu);
            return PROMQL_ERR_TIMEOUT;
        }
    }
    e->running++;
    pthread_mutex_unlock(&e->mu);
    return 0;
}

static void gate_leave(promql_engine_t *e) {
    pthread_mutex_lock(&e->mu);
    e->running--;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

/* ------------------------------------------------------------- values */

void ev_value_init(ev_value_t *v, promql_type_t type) {
    memset(v, 0, sizeof(*v));
    v->type = type;
}

void ev_series_free_points(ev_t *ev, ev_series_t *s) {
    if (ev && *ev->cur_samples >= s->n) *ev->cur_samples -= s->n;
    free(s->pts);
    s->pts = NULL;
    s->n = s->cap = 0;
}

void ev_value_free(ev_t *ev, ev_value_t *v) {
    for (size_t i = 0; i < v->n; i++) {
        ev_series_free_points(ev, &v->s[i]);
        labels_free(v->s[i].ls);
    }
    free(v->s);
    v->s = NULL;
    v->n = v->cap = 0;
}

size_t ev_value_add(ev_value_t *v, labels_t *ls, bool drop_name) {
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->s = vg_realloc(v->s, v->cap * sizeof(*v->s));
    }
    ev_series_t *s = &v->s[v->n];
    memset(s, 0, sizeof(*s));
    s->ls = ls;
    s->drop_name = drop_name;
    return v->n++;
}

int ev_too_many(ev_t *ev) {
    return vg_err_set(ev->err, PROMQL_ERR_TOO_MANY,
                      "query processing would load too many samples into memory in %s", EV_ENV);
}

int ev_series_push(ev_t *ev, ev_series_t *s, int64_t t, double f) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : (ev->n_steps < 16 ? ev->n_steps : 16);
        if (nc < 1) nc = 1;
        s->pts = vg_realloc(s->pts, nc * sizeof(*s->pts));
        s->cap = nc;
    }
    s->pts[s->n].t = t;
    s->pts[s->n].v = f;
    s->n++;
    if (++*ev->cur_samples > ev->max_samples) return ev_too_many(ev);
    return 0;
}

void ev_value_compact(ev_t *ev, ev_value_t *v) {
    size_t j = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (v->s[i].n == 0) {
            ev_series_free_points(ev, &v->s[i]);
            labels_free(v->s[i].ls);
            continue;
        }
        v->s[j++] = v->s[i];
    }
    v->n = j;
}

static int cmp_series(const void *a, const void *b) {
    const ev_series_t *x = a, *y = b;
    return labels_compare(x->ls, y->ls);
}

void ev_value_sort(ev_value_t *v) {
    if (v->n > 1) qsort(v->s, v->n, sizeof(*v->s), cmp_series);
}

int ev_errf(ev_t *ev, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (ev->err) {
        vsnprintf(ev->err->msg, sizeof(ev->err->msg), fmt, ap);
        ev->err->code = PROMQL_ERR_EXEC;
    }
    va_end(ap);
    return PROMQL_ERR_EXEC;
}

int ev_check(ev_t *ev) {
    if ((++ev->tick & 63) != 0) return 0;
    if (vg_time_mono() > ev->deadline)
        return vg_err_set(ev->err, PROMQL_ERR_TIMEOUT, "query timed out in expression evaluation");
    return 0;
}

/* --------------------------------------------------------- annotations */

/* Line and column (1-based, columns in bytes) of byte offset pos. */
static void pos_line_col(const promql_ast_t *ast, uint32_t pos, int *line, int *col) {
    int l = 1, c = 1;
    for (uint32_t i = 0; i < pos && i < ast->query_len; i++) {
        if (ast->query[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* Annotations are unique by their text without the position: the first
 * position wins, as Prometheus merges them. */
static void annos_add(ev_annos_t *a, char *s, size_t raw_len) {
    for (size_t i = 0; i < a->n; i++) {
        if (strncmp(a->v[i], s, raw_len) == 0 &&
            (a->v[i][raw_len] == '\0' || strncmp(a->v[i] + raw_len, " (", 2) == 0)) {
            free(s);
            return;
        }
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 4;
        a->v = vg_realloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = s;
}

static void anno_v(ev_t *ev, ev_annos_t *a, const char *prefix, const promql_expr_t *e,
                   const char *fmt, va_list ap) {
    if (a->n >= 64) return;
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_puts(&b, prefix);
    vg_buf_vprintf(&b, fmt, ap);
    size_t raw_len = b.len;
    if (e) {
        int line, col;
        pos_line_col(ev->ast, e->start, &line, &col);
        vg_buf_printf(&b, " (%d:%d)", line, col);
    }
    annos_add(a, vg_buf_detach(&b), raw_len);
}

void ev_warn(ev_t *ev, const promql_expr_t *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    anno_v(ev, ev->warnings, "PromQL warning: ", e, fmt, ap);
    va_end(ap);
}

void ev_info(ev_t *ev, const promql_expr_t *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    anno_v(ev, ev->infos, "PromQL info: ", e, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------- helpers */

const promql_expr_t *ev_unparen(const promql_expr_t *e) {
    while (e && e->kind == PROMQL_PAREN)
        e = e->u.paren.expr;
    return e;
}

labels_t *ev_drop_metric_name(const labels_t *ls) {
    size_t n = labels_len(ls);
    bool has = false;
    for (size_t i = 0; i < n; i++) {
        labels_label_t l = labels_at(ls, i);
        if ((l.name_len == 8 && memcmp(l.name, "__name__", 8) == 0) ||
            (l.name_len == 8 && memcmp(l.name, "__type__", 8) == 0) ||
            (l.name_len == 8 && memcmp(l.name, "__unit__", 8) == 0)) {
            has = true;
            break;
        }
    }
    if (!has) return labels_dup(ls);
    labels_label_t stackp[32];
    labels_label_t *p = n <= 32 ? stackp : vg_malloc(n * sizeof(*p));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        labels_label_t l = labels_at(ls, i);
        if (l.name_len == 8 &&
            (memcmp(l.name, "__name__", 8) == 0 || memcmp(l.name, "__type__", 8) == 0 ||
             memcmp(l.name, "__unit__", 8) == 0))
            continue;
        p[k++] = l;
    }
    labels_t *out = NULL;
    if (labels_from_pairs(p, k, &out, NULL) != 0) out = labels_new_empty();
    if (p != stackp) free(p);
    return out;
}

/* ------------------------------------------------------------- hash map */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

void ev_map_init(ev_map_t *m, size_t hint) {
    size_t cap = 16;
    while (cap < hint * 2)
        cap *= 2;
    m->cap = cap;
    m->n = 0;
    m->keys = vg_malloc(cap * sizeof(*m->keys));
    m->vals = vg_malloc(cap * sizeof(*m->vals));
    m->used = vg_calloc(cap, 1);
}

void ev_map_free(ev_map_t *m) {
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof(*m));
}

size_t *ev_map_get(const ev_map_t *m, uint64_t key) {
    size_t mask = m->cap - 1, i = mix64(key) & mask;
    while (m->used[i]) {
        if (m->keys[i] == key) return &m->vals[i];
        i = (i + 1) & mask;
    }
    return NULL;
}

void ev_map_put(ev_map_t *m, uint64_t key, size_t val) {
    if ((m->n + 1) * 2 > m->cap) {
        ev_map_t bigger;
        ev_map_init(&bigger, m->cap);
        for (size_t i = 0; i < m->cap; i++)
            if (m->used[i]) ev_map_put(&bigger, m->keys[i], m->vals[i]);
        ev_map_free(m);
        *m = bigger;
    }
    size_t mask = m->cap - 1, i = mix64(key) & mask;
    while (m->used[i]) {
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return;
        }
        i = (i + 1) & mask;
    }
    m->used[i] = 1;
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
}

/* ------------------------------------------------------------ pointer set */

static void ptrset_add(ev_ptrset_t *s, const void *p) {
    if ((s->n + 1) * 2 > s->cap) {
        size_t oc = s->cap;
        const void **old = s->slots;
        s->cap = oc ? oc * 2 : 16;
        s->slots = vg_calloc(s->cap, sizeof(*s->slots));
        s->n = 0;
        for (size_t i = 0; i < oc; i++)
            if (old[i]) ptrset_add(s, old[i]);
        free(old);
    }
    size_t mask = s->cap - 1, i = mix64((uint64_t)(uintptr_t)p) & mask;
    while (s->slots[i]) {
        if (s->slots[i] == p) return;
        i = (i + 1) & mask;
    }
    s->slots[i] = p;
    s->n++;
}

static bool ptrset_has(const ev_ptrset_t *s, const void *p) {
    if (!s || s->cap == 0) return false;
    size_t mask = s->cap - 1, i = mix64((uint64_t)(uintptr_t)p) & mask;
    while (s->slots[i]) {
        if (s->slots[i] == p) return true;
        i = (i + 1) & mask;
    }
    return false;
}

/* ------------------------------------------------------ step invariance */

static bool at_unsafe(const char *name) {
    static const char *const names[] = {
        "days_in_month", "day_of_month", "day_of_week", "day_of_year", "end",
        "hour",          "minute",       "month",       "year",        "predict_linear",
        "range",         "start",        "step",        "time",        "timestamp"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i], name) == 0) return true;
    return false;
}

/* Marks the highest step-invariant parts of the tree for one evaluation
 * (Prometheus's preprocessExprHelper). Returns invariance; *wrap says
 * whether the node itself may be wrapped. */
static bool prep(ev_ptrset_t *set, const promql_expr_t *e, bool *wrap) {
    switch (e->kind) {
    case PROMQL_VECTOR: *wrap = e->u.vector.mod.at != PROMQL_AT_NONE; return *wrap;
    case PROMQL_AGGREGATE: return prep(set, ev_unparen(e->u.aggregate.expr), wrap);
    case PROMQL_BINARY: {
        bool wl, wr;
        bool il = prep(set, e->u.binary.lhs, &wl);
        bool ir = prep(set, e->u.binary.rhs, &wr);
        if (il && ir) {
            *wrap = true;
            return true;
        }
        if (wl) ptrset_add(set, e->u.binary.lhs);
        if (wr) ptrset_add(set, e->u.binary.rhs);
        *wrap = false;
        return false;
    }
    case PROMQL_CALL: {
        bool inv = !at_unsafe(e->u.call.func->name);
        bool ts_special = strcmp(e->u.call.func->name, "timestamp") == 0;
        bool w[8] = {0};
        size_t na = e->u.call.n_args;
        for (size_t i = 0; i < na; i++) {
            const promql_expr_t *a = ev_unparen(e->u.call.args[i]);
            bool aw = false;
            bool ai = prep(set, a, &aw);
            if (i < 8) w[i] = aw;
            inv = inv && ai;
            if (!ai || a->kind != PROMQL_VECTOR) ts_special = false;
        }
        if (inv || ts_special) {
            *wrap = true;
            return true;
        }
        for (size_t i = 0; i < na && i < 8; i++)
            if (w[i]) ptrset_add(set, ev_unparen(e->u.call.args[i]));
        *wrap = false;
        return false;
    }
    case PROMQL_MATRIX: {
        bool dummy;
        bool inv = prep(set, e->u.matrix.vector, &dummy);
        *wrap = false;
        return inv;
    }
    case PROMQL_SUBQUERY: {
        bool dummy;
        if (prep(set, e->u.subquery.expr, &dummy)) ptrset_add(set, e->u.subquery.expr);
        *wrap = e->u.subquery.mod.at != PROMQL_AT_NONE;
        return *wrap;
    }
    case PROMQL_PAREN: return prep(set, e->u.paren.expr, wrap);
    case PROMQL_UNARY: return prep(set, e->u.unary.expr, wrap);
    case PROMQL_STRING:
    case PROMQL_NUMBER: *wrap = false; return true;
    default: *wrap = false; return false;
    }
}

/* -------------------------------------------------------- durations */

static int dur_eval(ev_t *ev, const promql_expr_t *d, double *out) {
    if (!d) {
        *out = 0;
        return 0;
    }
    if (d->kind == PROMQL_NUMBER) {
        *out = d->u.number.value;
        return 0;
    }
    if (d->kind == PROMQL_PAREN) return dur_eval(ev, d->u.paren.expr, out);
    if (d->kind != PROMQL_DURATION_EXPR) return ev_errf(ev, "unsupported duration expression");
    double a = 0, b = 0;
    int rc;
    if (d->u.duration.lhs && (rc = dur_eval(ev, d->u.duration.lhs, &a)) != 0) return rc;
    if (d->u.duration.rhs && (rc = dur_eval(ev, d->u.duration.rhs, &b)) != 0) return rc;
    switch (d->u.duration.op) {
    case PROMQL_OP_ADD: *out = d->u.duration.lhs ? a + b : b; break;
    case PROMQL_OP_SUB: *out = d->u.duration.lhs ? a - b : -b; break;
    case PROMQL_OP_MUL: *out = a * b; break;
    case PROMQL_OP_DIV:
        if (b == 0) return ev_errf(ev, "division by zero");
        *out = a / b;
        break;
    case PROMQL_OP_MOD:
        if (b == 0) return ev_errf(ev, "modulo by zero");
        *out = fmod(a, b);
        break;
    case PROMQL_OP_POW: *out = pow(a, b); break;
    case PROMQL_OP_STEP: *out = (double)ev->q_step / 1000.0; break;
    case PROMQL_OP_RANGE: *out = (double)(ev->q_end - ev->q_start) / 1000.0; break;
    case PROMQL_OP_MIN_OF: *out = a < b ? a : b; break;
    case PROMQL_OP_MAX_OF: *out = a > b ? a : b; break;
    default: return ev_errf(ev, "unsupported duration operator");
    }
    return 0;
}

int ev_duration(ev_t *ev, const promql_expr_t *d, int64_t *out_ms) {
    double s;
    int rc = dur_eval(ev, d, &s);
    if (rc) return rc;
    *out_ms = (int64_t)llround(s * 1000.0);
    return 0;
}

/* Offset and @ of a selector or subquery: the data time for step ts is
 * ref(ts) = (at ? at : ts) - offset. */
typedef struct ev_mods {
    int64_t offset;
    bool has_at;
    int64_t at;
} ev_mods_t;

static int mods_get(ev_t *ev, const promql_modifiers_t *m, ev_mods_t *out) {
    out->offset = m->offset_ms;
    if (m->offset_expr) {
        int rc = ev_duration(ev, m->offset_expr, &out->offset);
        if (rc) return rc;
    }
    out->has_at = m->at != PROMQL_AT_NONE;
    switch (m->at) {
    case PROMQL_AT_TIMESTAMP: out->at = m->at_ms; break;
    case PROMQL_AT_START: out->at = ev->q_start; break;
    case PROMQL_AT_END: out->at = ev->q_end; break;
    default: out->at = 0; break;
    }
    return 0;
}

static inline int64_t mods_ref(const ev_mods_t *m, int64_t ts) {
    return (m->has_at ? m->at : ts) - m->offset;
}

/* ------------------------------------------------------------ selectors */

typedef struct ev_sel {
    tsdb_series_set_t *set;
    promql_point_t *buf;
    size_t n, cap;
} ev_sel_t;

static int sel_open(ev_t *ev, const promql_expr_t *vs, int64_t mint, int64_t maxt, ev_sel_t *out) {
    memset(out, 0, sizeof(*out));
    size_t nm = vs->u.vector.n_matchers;
    labels_matcher_t *stackm[16] = {0};
    labels_matcher_t **ms = nm <= 16 ? stackm : vg_malloc(nm * sizeof(*ms));
    for (size_t i = 0; i < nm; i++)
        ms[i] = vs->u.vector.matchers[i].compiled;
    vg_err_t e2 = {0};
    int rc = tsdb_select(ev->db, mint, maxt, ms, nm, 0, &out->set, &e2);
    if (ms != stackm) free(ms);
    if (rc != 0) return ev_errf(ev, "expanding series: %s", e2.msg);
    return 0;
}

/* Decodes series i of the select within [mint, maxt] into sel->buf;
 * keep_stale keeps staleness markers (instant selectors need them). */
static int sel_load(ev_t *ev, ev_sel_t *sel, size_t i, int64_t mint, int64_t maxt,
                    bool keep_stale) {
    tsdb_iter_t it;
    tsdb_iter_init(&it, sel->set, i);
    sel->n = 0;
    int rc;
    while ((rc = tsdb_iter_next(&it)) == 1) {
        if (it.t < mint) continue;
        if (it.t > maxt) break;
        if (!keep_stale && ev_is_stale(it.v)) continue;
        if (sel->n == sel->cap) {
            sel->cap = sel->cap ? sel->cap * 2 : 64;
            sel->buf = vg_realloc(sel->buf, sel->cap * sizeof(*sel->buf));
        }
        sel->buf[sel->n].t = it.t;
        sel->buf[sel->n].v = it.v;
        sel->n++;
    }
    tsdb_iter_done(&it);
    if (rc < 0) return ev_errf(ev, "expanding series: corrupt chunk");
    return 0;
}

static void sel_close(ev_sel_t *sel) {
    if (sel->set) tsdb_series_set_free(sel->set);
    free(sel->buf);
    memset(sel, 0, sizeof(*sel));
}

static int vector_selector(ev_t *ev, const promql_expr_t *e, bool want_ts, ev_value_t *out) {
    ev_mods_t m;
    int rc = mods_get(ev, &e->u.vector.mod, &m);
    if (rc) return rc;
    ev_value_init(out, PROMQL_TYPE_VECTOR);
    int64_t r0 = mods_ref(&m, ev->start), r1 = mods_ref(&m, ev->end);
    int64_t mint = r0 - ev->lookback + 1, maxt = r1;
    ev_sel_t sel;
    if ((rc = sel_open(ev, e, mint, maxt, &sel)) != 0) return rc;
    size_t ns = tsdb_series_set_len(sel.set);
    for (size_t i = 0; i < ns; i++) {
        if ((rc = ev_check(ev)) != 0 || (rc = sel_load(ev, &sel, i, mint, maxt, true)) != 0) break;
        if (sel.n == 0) continue;
        ev_series_t s = {0};
        size_t j = 0; /* first sample after the current reference time */
        for (size_t k = 0; k < ev->n_steps; k++) {
            int64_t ts = ev_step_ts(ev, k), ref = mods_ref(&m, ts);
            while (j < sel.n && sel.buf[j].t <= ref)
                j++;
            if (j == 0) continue;
            const promql_point_t *p = &sel.buf[j - 1];
            if (p->t <= ref - ev->lookback || ev_is_stale(p->v)) continue;
            double v = want_ts ? (double)p->t / 1000.0 : p->v;
            if ((rc = ev_series_push(ev, &s, ts, v)) != 0) break;
        }
        if (rc) {
            ev_series_free_points(ev, &s);
            break;
        }
        if (s.n == 0) continue;
        size_t idx = ev_value_add(out, labels_dup(tsdb_series_set_labels(sel.set, i)), want_ts);
        out->s[idx].pts = s.pts;
        out->s[idx].n = s.n;
        out->s[idx].cap = s.cap;
    }
    sel_close(&sel);
    if (rc) ev_value_free(ev, out);
    return rc;
}

int ev_selector_timestamps(ev_t *ev, const promql_expr_t *vs, ev_value_t *out) {
    return vector_selector(ev, vs, true, out);
}

/* --------------------------------------------------- range arguments */

struct ev_source {
    bool is_sel;
    ev_sel_t sel;
    ev_value_t val; /* subquery result */
    ev_mods_t m;
    int64_t range;
    int64_t mint, maxt;
    const promql_expr_t *vs; /* the vector selector, or NULL */
};

static int eval_subquery(ev_t *ev, const promql_expr_t *e, ev_mods_t *m, int64_t *range,
                         ev_value_t *out);

/* Prepares the samples of a range argument (matrix selector or subquery)
 * for the steps of ev. */
int ev_source_open(ev_t *ev, const promql_expr_t *arg, ev_source_t **out) {
    arg = ev_unparen(arg);
    ev_source_t *src = vg_calloc(1, sizeof(*src));
    int rc;
    if (arg->kind == PROMQL_MATRIX) {
        const promql_expr_t *vs = ev_unparen(arg->u.matrix.vector);
        src->is_sel = true;
        src->vs = vs;
        src->range = arg->u.matrix.range_ms;
        if (arg->u.matrix.range_expr &&
            (rc = ev_duration(ev, arg->u.matrix.range_expr, &src->range)) != 0)
            goto fail;
        if ((rc = mods_get(ev, &vs->u.vector.mod, &src->m)) != 0) goto fail;
        src->mint = mods_ref(&src->m, ev->start) - src->range + 1;
        src->maxt = mods_ref(&src->m, ev->end);
        if ((rc = sel_open(ev, vs, src->mint, src->maxt, &src->sel)) != 0) goto fail;
    } else if (arg->kind == PROMQL_SUBQUERY) {
        if ((rc = eval_subquery(ev, arg, &src->m, &src->range, &src->val)) != 0) goto fail;
    } else {
        rc = ev_errf(ev, "unexpected range argument");
        goto fail;
    }
    *out = src;
    return 0;
fail:
    free(src);
    return rc;
}

size_t ev_source_len(const ev_source_t *src) {
    return src->is_sel ? tsdb_series_set_len(src->sel.set) : src->val.n;
}

/* Loads series i: its samples (no stale markers) for the whole range,
 * its labels (borrowed) and whether its name is to be dropped. */
int ev_source_load(ev_t *ev, ev_source_t *src, size_t i, const promql_point_t **pts, size_t *n,
                   const labels_t **ls, bool *drop_name) {
    if (src->is_sel) {
        int rc = sel_load(ev, &src->sel, i, src->mint, src->maxt, false);
        if (rc) return rc;
        *pts = src->sel.buf;
        *n = src->sel.n;
        *ls = tsdb_series_set_labels(src->sel.set, i);
        *drop_name = false;
        return 0;
    }
    *pts = src->val.s[i].pts;
    *n = src->val.s[i].n;
    *ls = src->val.s[i].ls;
    *drop_name = src->val.s[i].drop_name;
    return 0;
}

void ev_source_window(const ev_source_t *src, int64_t ts, int64_t *lo_excl, int64_t *hi_incl) {
    int64_t ref = mods_ref(&src->m, ts);
    *hi_incl = ref;
    *lo_excl = ref - src->range;
}

int64_t ev_source_range(const ev_source_t *src) { return src->range; }
const promql_expr_t *ev_source_selector(const ev_source_t *src) { return src->vs; }

void ev_source_close(ev_t *ev, ev_source_t *src) {
    if (!src) return;
    if (src->is_sel)
        sel_close(&src->sel);
    else
        ev_value_free(ev, &src->val);
    free(src);
}

/* A range selector or subquery evaluated on its own (instant queries):
 * the raw samples of the window, with their own timestamps. */
static int eval_range_value(ev_t *ev, const promql_expr_t *e, ev_value_t *out) {
    ev_source_t *src;
    int rc = ev_source_open(ev, e, &src);
    if (rc) return rc;
    ev_value_init(out, PROMQL_TYPE_MATRIX);
    int64_t lo, hi;
    ev_source_window(src, ev->start, &lo, &hi);
    size_t ns = ev_source_len(src);
    for (size_t i = 0; i < ns && rc == 0; i++) {
        const promql_point_t *p;
        size_t n;
        const labels_t *ls;
        bool dn;
        if ((rc = ev_source_load(ev, src, i, &p, &n, &ls, &dn)) != 0) break;
        ev_series_t s = {0};
        for (size_t k = 0; k < n && rc == 0; k++)
            if (p[k].t > lo && p[k].t <= hi) rc = ev_series_push(ev, &s, p[k].t, p[k].v);
        if (rc || s.n == 0) {
            ev_series_free_points(ev, &s);
            continue;
        }
        size_t idx = ev_value_add(out, labels_dup(ls), dn);
        out->s[idx].pts = s.pts;
        out->s[idx].n = s.n;
        out->s[idx].cap = s.cap;
    }
    ev_source_close(ev, src);
    if (rc) ev_value_free(ev, out);
    return rc;
}

/* ------------------------------------------------------------ subquery */

static int eval_subquery(ev_t *ev, const promql_expr_t *e, ev_mods_t *m, int64_t *range,
                         ev_value_t *out) {
    int rc = mods_get(ev, &e->u.subquery.mod, m);
    if (rc) return rc;
    *range = e->u.subquery.range_ms;
    if (e->u.subquery.range_expr && (rc = ev_duration(ev, e->u.subquery.range_expr, range)) != 0)
        return rc;
    int64_t step = e->u.subquery.step_ms;
    if (e->u.subquery.step_expr && (rc = ev_duration(ev, e->u.subquery.step_expr, &step)) != 0)
        return rc;
    if (step <= 0) step = ev->sub_step_default;
    int64_t pstart = m->has_at ? m->at : ev->start;
    int64_t pend = m->has_at ? m->at : ev->start + (int64_t)(ev->n_steps - 1) * ev->interval;
    int64_t from = pstart - m->offset - *range;
    int64_t sstart = step * (from / step);
    if (sstart <= from) sstart += step;
    ev_t sub = *ev;
    sub.start = sstart;
    sub.end = pend - m->offset;
    sub.interval = step;
    if (sub.end < sub.start) {
        ev_value_init(out, PROMQL_TYPE_VECTOR);
        return 0;
    }
    sub.n_steps = (size_t)((sub.end - sub.start) / step) + 1;
    rc = ev_eval(&sub, e->u.subquery.expr, out);
    if (rc == 0) out->type = PROMQL_TYPE_VECTOR;
    return rc;
}

/* --------------------------------------------------------- step invariant */

static int eval_step_invariant(ev_t *ev, const promql_expr_t *e, ev_value_t *out) {
    ev_t sub = *ev;
    sub.end = sub.start;
    sub.n_steps = 1;
    sub.wrap = NULL; /* one step: nothing to gain below */
    int rc = ev_eval(&sub, e, out);
    if (rc) return rc;
    if (out->type != PROMQL_TYPE_VECTOR && out->type != PROMQL_TYPE_SCALAR) return 0;
    const promql_expr_t *u = ev_unparen(e);
    if (u->kind == PROMQL_MATRIX || u->kind == PROMQL_SUBQUERY) return 0;
    for (size_t i = 0; i < out->n; i++) {
        ev_series_t *s = &out->s[i];
        if (s->n != 1) continue;
        double v = s->pts[0].v;
        for (size_t k = 1; k < ev->n_steps; k++) {
            if ((rc = ev_series_push(ev, s, ev_step_ts(ev, k), v)) != 0) {
                ev_value_free(ev, out);
                return rc;
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------ literals */

static int eval_number(ev_t *ev, double v, ev_value_t *out) {
    ev_value_init(out, PROMQL_TYPE_SCALAR);
    size_t idx = ev_value_add(out, labels_new_empty(), false);
    ev_series_t *s = &out->s[idx];
    s->pts = vg_malloc(ev->n_steps * sizeof(*s->pts));
    s->cap = ev->n_steps;
    for (size_t k = 0; k < ev->n_steps; k++) {
        s->pts[k].t = ev_step_ts(ev, k);
        s->pts[k].v = v;
    }
    s->n = ev->n_steps;
    *ev->cur_samples += s->n;
    if (*ev->cur_samples > ev->max_samples) {
        ev_value_free(ev, out);
        return ev_too_many(ev);
    }
    return 0;
}

int ev_eval_scalar_steps(ev_t *ev, const promql_expr_t *e, double *out) {
    ev_value_t v;
    int rc = ev_eval(ev, e, &v);
    if (rc) return rc;
    for (size_t k = 0; k < ev->n_steps; k++)
        out[k] = NAN;
    if (v.n > 0) {
        const ev_series_t *s = &v.s[0];
        for (size_t j = 0; j < s->n; j++) {
            int64_t d = s->pts[j].t - ev->start;
            if (ev->interval > 0 && d >= 0 && d % ev->interval == 0) {
                size_t k = (size_t)(d / ev->interval);
                if (k < ev->n_steps) out[k] = s->pts[j].v;
            }
        }
    }
    ev_value_free(ev, &v);
    return 0;
}

/* ---------------------------------------------------------------- eval */

int ev_eval(ev_t *ev, const promql_expr_t *e, ev_value_t *out) {
    int rc = ev_check(ev);
    if (rc) return rc;
    if (ev->end < ev->start) {
        ev_value_init(out, promql_expr_type(e) == PROMQL_TYPE_SCALAR ? PROMQL_TYPE_SCALAR
                                                                     : PROMQL_TYPE_VECTOR);
        return 0;
    }
    if (ev->n_steps > 1 && ptrset_has(ev->wrap, e)) return eval_step_invariant(ev, e, out);
    switch (e->kind) {
    case PROMQL_NUMBER: return eval_number(ev, e->u.number.value, out);
    case PROMQL_STRING:
        ev_value_init(out, PROMQL_TYPE_STRING);
        out->str = e->u.string.s;
        return 0;
    case PROMQL_VECTOR: return vector_selector(ev, e, false, out);
    case PROMQL_MATRIX: return eval_range_value(ev, e, out);
    case PROMQL_SUBQUERY:
        if (ev->n_steps > 1) return ev_errf(ev, "cannot do range evaluation of a subquery");
        return eval_range_value(ev, e, out);
    case PROMQL_PAREN: return ev_eval(ev, e->u.paren.expr, out);
    case PROMQL_UNARY:
        if ((rc = ev_eval(ev, e->u.unary.expr, out)) != 0) return rc;
        if (e->u.unary.op == PROMQL_OP_SUB) {
            for (size_t i = 0; i < out->n; i++) {
                ev_series_t *s = &out->s[i];
                if (out->type == PROMQL_TYPE_VECTOR) s->drop_name = true;
                for (size_t j = 0; j < s->n; j++)
                    s->pts[j].v = -s->pts[j].v;
            }
        }
        return 0;
    case PROMQL_BINARY: return ev_binary(ev, e, out);
    case PROMQL_AGGREGATE: return ev_aggregate(ev, e, out);
    case PROMQL_CALL: return ev_call(ev, e, out);
    default: return ev_errf(ev, "unsupported expression");
    }
}

/* ------------------------------------------------------------- clean-up */

/* Drops __name__ where marked and merges series that end up with the same
 * labels (Prometheus's cleanupMetricLabels / mergeSeriesWithSameLabelset). */
static int cleanup_names(ev_t *ev, ev_value_t *v) {
    for (size_t i = 0; i < v->n; i++) {
        if (!v->s[i].drop_name) continue;
        labels_t *nl = ev_drop_metric_name(v->s[i].ls);
        labels_free(v->s[i].ls);
        v->s[i].ls = nl;
        v->s[i].drop_name = false;
    }
    return ev_merge_same(ev, v);
}

int ev_merge_same(ev_t *ev, ev_value_t *v) {
    if (v->n < 2) return 0;
    ev_map_t m;
    ev_map_init(&m, v->n);
    int rc = 0;
    size_t j = 0;
    for (size_t i = 0; i < v->n; i++) {
        uint64_t h = labels_hash(v->s[i].ls);
        size_t *pi = ev_map_get(&m, h);
        if (!pi) {
            ev_map_put(&m, h, j);
            v->s[j++] = v->s[i];
            continue;
        }
        ev_series_t *base = &v->s[*pi], *add = &v->s[i];
        /* Merge by timestamp; the same timestamp twice is an error. */
        size_t n = base->n + add->n;
        promql_point_t *pts = vg_malloc((n ? n : 1) * sizeof(*pts));
        size_t a = 0, b = 0, k = 0;
        while (a < base->n || b < add->n) {
            if (b >= add->n || (a < base->n && base->pts[a].t < add->pts[b].t)) {
                pts[k++] = base->pts[a++];
            } else if (a >= base->n || add->pts[b].t < base->pts[a].t) {
                pts[k++] = add->pts[b++];
            } else {
                rc = ev_errf(ev, "vector cannot contain metrics with the same labelset");
                break;
            }
        }
        free(base->pts);
        base->pts = pts;
        base->n = k;
        base->cap = n ? n : 1;
        free(add->pts);
        labels_free(add->ls);
        if (rc) {
            for (size_t r = i + 1; r < v->n; r++)
                v->s[j++] = v->s[r];
            break;
        }
    }
    v->n = j;
    ev_map_free(&m);
    return rc;
}

/* Go's fmt %g of a float64: the shortest digits that read back, in
 * exponent form when the exponent is < -4 or >= 6 ("1e+06"). */
void ev_fmt_g(double f, char *out, size_t cap) {
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
    char *ep = strchr(e, 'e');
    int exp = ep ? atoi(ep + 1) : 0;
    if (exp < -4 || exp >= 6) {
        /* mantissa without trailing zeros, exponent with at least 2 digits */
        char mant[40];
        size_t ml = (size_t)(ep - e);
        memcpy(mant, e, ml);
        mant[ml] = 0;
        if (strchr(mant, '.')) {
            while (ml > 0 && mant[ml - 1] == '0')
                mant[--ml] = 0;
            if (ml > 0 && mant[ml - 1] == '.') mant[--ml] = 0;
        }
        snprintf(out, cap, "%se%c%02d", mant, exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return;
    }
    snprintf(out, cap, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, f);
}

/* ---------------------------------------------------------------- query */

static void annos_move(ev_annos_t *a, char ***out, size_t *n) {
    *out = a->v;
    *n = a->n;
    a->v = NULL;
    a->n = a->cap = 0;
}

static void annos_free(ev_annos_t *a) {
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

typedef struct qpriv {
    promql_ast_t *ast;
} qpriv_t;

void promql_value_free(promql_value_t *v) {
    if (!v) return;
    for (size_t i = 0; i < v->n_series; i++) {
        labels_free(v->series[i].labels);
        free(v->series[i].points);
    }
    free(v->series);
    for (size_t i = 0; i < v->n_warnings; i++)
        free(v->warnings[i]);
    free(v->warnings);
    for (size_t i = 0; i < v->n_infos; i++)
        free(v->infos[i]);
    free(v->infos);
    qpriv_t *p = v->priv;
    if (p) {
        promql_ast_free(p->ast);
        free(p);
    }
    free(v);
}

static int run(promql_engine_t *eng, tsdb_t *db, const char *query, size_t len, int64_t start,
               int64_t end, int64_t step, bool instant, int64_t timeout_ms, promql_value_t **out,
               vg_err_t *err) {
    *out = NULL;
    if (!eng || !db || !query) return vg_err_set(err, VG_ERR_INPUT, "invalid query arguments");
    promql_ast_t *ast = NULL;
    int rc = promql_parse(query, len, &eng->o.parse, &ast, NULL, err);
    if (rc != 0) return rc;
    promql_type_t rt = promql_expr_type(ast->root);
    if (!instant) {
        if (rt != PROMQL_TYPE_VECTOR && rt != PROMQL_TYPE_SCALAR) {
            vg_err_set(err, VG_ERR_INPUT,
                       "invalid expression type \"%s\" for range query, must be Scalar or instant "
                       "Vector",
                       promql_type_name(rt));
            promql_ast_free(ast);
            return VG_ERR_INPUT;
        }
        if (step <= 0) {
            promql_ast_free(ast);
            return vg_err_set(err, VG_ERR_INPUT,
                              "zero or negative query resolution step widths are not accepted. Try "
                              "a positive integer");
        }
        if (end < start) {
            promql_ast_free(ast);
            return vg_err_set(err, VG_ERR_INPUT, "end timestamp must not be before start time");
        }
    }
    if (timeout_ms <= 0) timeout_ms = eng->o.timeout_ms;
    double deadline = vg_time_mono() + (double)timeout_ms / 1000.0;
    if ((rc = gate_enter(eng, deadline, timeout_ms)) != 0) {
        promql_ast_free(ast);
        return vg_err_set(err, PROMQL_ERR_TIMEOUT, "query timed out in query queue");
    }

    size_t cur = 0;
    ev_annos_t warns = {0}, infos = {0};
    ev_ptrset_t wrap = {0};
    vg_err_t local = {0};
    ev_t ev = {
        .eng = eng,
        .db = db,
        .ast = ast,
        .start = start,
        .end = instant ? start : end,
        .interval = instant ? 1 : step,
        .q_start = start,
        .q_end = instant ? start : end,
        .q_step = instant ? 0 : step,
        .lookback = eng->o.lookback_ms,
        .sub_step_default = eng->o.default_subquery_step_ms,
        .cur_samples = &cur,
        .max_samples = eng->o.max_samples,
        .deadline = deadline,
        .experimental = eng->o.parse.experimental_functions,
        .wrap = &wrap,
        .warnings = &warns,
        .infos = &infos,
        .err = err ? err : &local,
    };
    ev.n_steps = instant ? 1 : (size_t)((end - start) / step) + 1;
    bool w = false;
    if (prep(&wrap, ast->root, &w) && w) ptrset_add(&wrap, ast->root);

    ev_value_t v;
    rc = ev_eval(&ev, ast->root, &v);
    if (rc == 0 && (v.type == PROMQL_TYPE_VECTOR || v.type == PROMQL_TYPE_MATRIX)) {
        rc = cleanup_names(&ev, &v);
        if (rc) ev_value_free(&ev, &v);
    }
    gate_leave(eng);
    free(wrap.slots);
    if (rc != 0) {
        annos_free(&warns);
        annos_free(&infos);
        promql_ast_free(ast);
        return rc;
    }

    promql_value_t *res = vg_calloc(1, sizeof(*res));
    qpriv_t *priv = vg_calloc(1, sizeof(*priv));
    priv->ast = ast;
    res->priv = priv;
    res->t = start;
    annos_move(&warns, &res->warnings, &res->n_warnings);
    annos_move(&infos, &res->infos, &res->n_infos);
    if (v.type == PROMQL_TYPE_STRING) {
        res->type = PROMQL_TYPE_STRING;
        res->string = v.str;
    } else if (instant && v.type == PROMQL_TYPE_SCALAR) {
        res->type = PROMQL_TYPE_SCALAR;
        res->scalar = (v.n > 0 && v.s[0].n > 0) ? v.s[0].pts[0].v : NAN;
    } else {
        if (instant && v.type == PROMQL_TYPE_VECTOR) {
            res->type = PROMQL_TYPE_VECTOR;
            /* Force the evaluation time, as Prometheus does. */
            for (size_t i = 0; i < v.n; i++)
                for (size_t j = 0; j < v.s[i].n; j++)
                    v.s[i].pts[j].t = start;
        } else {
            res->type = PROMQL_TYPE_MATRIX;
            ev_value_sort(&v);
        }
        res->series = vg_calloc(v.n ? v.n : 1, sizeof(*res->series));
        for (size_t i = 0; i < v.n; i++) {
            res->series[i].labels = v.s[i].ls;
            res->series[i].points = v.s[i].pts;
            res->series[i].n_points = v.s[i].n;
            v.s[i].ls = NULL;
            v.s[i].pts = NULL;
            v.s[i].n = 0;
        }
        res->n_series = v.n;
    }
    ev_value_free(&ev, &v);
    *out = res;
    return 0;
}

int promql_query_instant(promql_engine_t *e, tsdb_t *db, const char *query, size_t len,
                         int64_t t_ms, int64_t timeout_ms, promql_value_t **out, vg_err_t *err) {
    return run(e, db, query, len, t_ms, t_ms, 0, true, timeout_ms, out, err);
}

int promql_query_range(promql_engine_t *e, tsdb_t *db, const char *query, size_t len,
                       int64_t start_ms, int64_t end_ms, int64_t step_ms, int64_t timeout_ms,
                       promql_value_t **out, vg_err_t *err) {
    return run(e, db, query, len, start_ms, end_ms, step_ms, false, timeout_ms, out, err);
}
