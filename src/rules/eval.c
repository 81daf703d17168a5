/* This file implements one rule group: building it from a parsed file, one
 * evaluation of its rules (Prometheus's Group.Eval with RecordingRule.Eval
 * and AlertingRule.Eval: results written to the tsdb, alert states, ALERTS
 * and ALERTS_FOR_STATE, stale markers for series that went away), the
 * restore of `for` state, evaluation-time alignment, equality and the
 * hand-over of state on reload. */
#include "rules/rules_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)
/* How long a resolved alert is kept (and sent as resolved). */
#define RESOLVED_RETENTION_NS (15 * 60 * NS_PER_S)

static const char *const alert_metric = "ALERTS";
static const char *const for_state_metric = "ALERTS_FOR_STATE";

/* ------------------------------------------------------------- building */

static labels_t *labels_of(const config_label_t *a, size_t na, const config_label_t *b, size_t nb) {
    labels_builder_t *lb = labels_builder_new();
    labels_builder_reset(lb, NULL);
    for (size_t i = 0; i < na; i++)
        labels_builder_set_s(lb, a[i].name, a[i].value);
    for (size_t i = 0; i < nb; i++)
        labels_builder_set_s(lb, b[i].name, b[i].value);
    labels_t *ls = labels_builder_labels(lb);
    labels_builder_free(lb);
    return ls;
}

void rules_series_set_clear(rules_series_set_t *s) {
    for (size_t i = 0; i < s->n; i++)
        labels_free(s->items[i]);
    free(s->items);
    memset(s, 0, sizeof *s);
}

static void series_set_add(rules_series_set_t *s, labels_t *ls) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->items = vg_realloc(s->items, s->cap * sizeof *s->items);
    }
    s->items[s->n++] = ls;
}

static int cmp_labels_p(const void *a, const void *b) {
    return labels_compare(*(labels_t *const *)a, *(labels_t *const *)b);
}

static bool series_set_has(const rules_series_set_t *s, const labels_t *ls) {
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = labels_compare(s->items[mid], ls);
        if (c == 0) return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static void alert_free(rules_alert_t *a) {
    if (!a) return;
    labels_free(a->labels);
    labels_free(a->annotations);
    free(a);
}

static void rule_clear(rules_rule_t *r) {
    free((char *)r->def.name);
    free((char *)r->def.expr);
    free(r->query);
    labels_free(r->labels);
    labels_free(r->annotations);
    for (size_t i = 0; i < r->n_active; i++)
        alert_free(r->active[i]);
    free(r->active);
    free(r->last_error);
    rules_series_set_clear(&r->prev);
}

void rules_group_free(rules_group_t *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n_rules; i++)
        rule_clear(&g->rules[i]);
    free(g->rules);
    for (size_t i = 0; i < g->n_stale; i++)
        labels_free(g->stale[i]);
    free(g->stale);
    labels_free((labels_t *)g->env.external_labels);
    free((char *)g->env.external_url);
    free(g->name);
    free(g->file);
    pthread_mutex_destroy(&g->lock);
    pthread_mutex_destroy(&g->run_lock);
    pthread_cond_destroy(&g->run_cond);
    free(g);
}

int rules_groups_from_file(const rules_file_t *f, int64_t default_interval_ms,
                           const rules_env_t *env, bool should_restore, rules_group_t ***out,
                           size_t *out_n, vg_err_t *err) {
    rules_group_t **gs = vg_calloc(f->n_groups ? f->n_groups : 1, sizeof *gs);
    for (size_t j = 0; j < f->n_groups; j++) {
        const rules_group_def_t *gd = &f->groups[j];
        rules_group_t *g = vg_calloc(1, sizeof *g);
        gs[j] = g;
        g->name = vg_strdup(gd->name);
        g->file = vg_strdup(f->path);
        g->interval_ms = gd->interval_ms ? gd->interval_ms : default_interval_ms;
        if (g->interval_ms <= 0) g->interval_ms = 60000;
        g->limit = gd->limit;
        g->has_query_offset = gd->has_query_offset;
        g->query_offset_ms = gd->query_offset_ms;
        g->env = *env;
        g->env.external_labels = env->external_labels ? labels_dup(env->external_labels) : NULL;
        g->env.external_url = vg_strdup(env->external_url ? env->external_url : "");
        g->should_restore = should_restore;
        pthread_mutex_init(&g->lock, NULL);
        pthread_mutex_init(&g->run_lock, NULL);
        pthread_cond_init(&g->run_cond, NULL);
        g->rules = vg_calloc(gd->n_rules ? gd->n_rules : 1, sizeof *g->rules);
        g->n_rules = gd->n_rules;
        for (size_t i = 0; i < gd->n_rules; i++) {
            rules_rule_t *r = &g->rules[i];
            r->def = gd->rules[i];
            /* The group outlives the file: keep own copies. */
            r->def.name = vg_strdup(gd->rules[i].name);
            r->def.expr = vg_strdup(gd->rules[i].expr);
            r->def.labels = r->def.annotations = NULL;
            r->def.n_labels = r->def.n_annotations = 0;
            promql_ast_t *ast = NULL;
            if (promql_parse(r->def.expr, strlen(r->def.expr), NULL, &ast, NULL, err) != VG_OK) {
                vg_err_prefix(err, "%s: ", f->path);
                for (size_t k = 0; k <= j; k++)
                    rules_group_free(gs[k]);
                free(gs);
                return VG_ERR_INPUT;
            }
            r->query = promql_format(ast->root);
            promql_ast_free(ast);
            const rules_rule_def_t *rd = &gd->rules[i];
            r->labels = labels_of(gd->labels, gd->n_labels, rd->labels, rd->n_labels);
            r->annotations = labels_of(rd->annotations, rd->n_annotations, NULL, 0);
            r->restored = !should_restore;
        }
    }
    *out = gs;
    *out_n = f->n_groups;
    return VG_OK;
}

/* ----------------------------------------------------------- alignment */

int64_t rules_group_eval_timestamp(const rules_group_t *g, int64_t start) {
    /* Prometheus hashes the label set {file, name} with XXH64 over
     * "file\xff<file>\xffname\xff<name>\xff"; the same bytes give the same
     * offset, so vigil evaluates a group at the moments Prometheus would. */
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_puts(&b, "file\xff");
    vg_buf_puts(&b, g->file);
    vg_buf_puts(&b, "\xffname\xff");
    vg_buf_puts(&b, g->name);
    vg_buf_putc(&b, '\xff');
    uint64_t h = XXH64(b.data, b.len, 0);
    vg_buf_free(&b);
    int64_t interval = g->interval_ms * NS_PER_MS;
    int64_t offset = (int64_t)(h % (uint64_t)interval);
    int64_t adj = start - offset;
    int64_t base = adj - (adj % interval);
    return base + offset;
}

static int64_t query_offset_ns(const rules_group_t *g) {
    return (g->has_query_offset ? g->query_offset_ms : g->env.default_query_offset_ms) * NS_PER_MS;
}

/* Go's timestamp.FromTime: milliseconds, truncated toward zero. */
static int64_t ns_to_ms(int64_t ns) { return ns / NS_PER_MS; }

/* ------------------------------------------------------------ evaluation */

typedef struct sample {
    labels_t *ls;
    int64_t t;
    double v;
} sample_t;

typedef struct sample_vec {
    sample_t *v;
    size_t n, cap;
} sample_vec_t;

static void vec_push(sample_vec_t *s, labels_t *ls, int64_t t, double v) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = vg_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = (sample_t){ls, t, v};
}

static void vec_free(sample_vec_t *s) {
    for (size_t i = 0; i < s->n; i++)
        labels_free(s->v[i].ls);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Runs the rule's query at t_ms as Prometheus's EngineQueryFunc: a vector,
 * or a scalar as one sample without labels. */
static int run_query(const rules_group_t *g, const rules_rule_t *r, int64_t t_ms,
                     promql_value_t **out, vg_err_t *err) {
    int rc = promql_query_instant(g->env.engine, g->env.db, r->query, strlen(r->query), t_ms, 0,
                                  out, err);
    if (rc != VG_OK) return rc;
    if ((*out)->type != PROMQL_TYPE_VECTOR && (*out)->type != PROMQL_TYPE_SCALAR) {
        promql_value_free(*out);
        *out = NULL;
        return vg_err_set(err, PROMQL_ERR_EXEC, "rule result is not a vector or scalar");
    }
    return VG_OK;
}

static size_t result_len(const promql_value_t *v) {
    return v->type == PROMQL_TYPE_SCALAR ? 1 : v->n_series;
}

static const labels_t *result_labels(const promql_value_t *v, size_t i, labels_t *empty) {
    return v->type == PROMQL_TYPE_SCALAR ? empty : v->series[i].labels;
}

static double result_value(const promql_value_t *v, size_t i) {
    if (v->type == PROMQL_TYPE_SCALAR) return v->scalar;
    return v->series[i].n_points ? v->series[i].points[0].v : NAN;
}

static bool has_duplicates(sample_vec_t *vec) {
    if (vec->n < 2) return false;
    labels_t **ls = vg_malloc(vec->n * sizeof *ls);
    for (size_t i = 0; i < vec->n; i++)
        ls[i] = vec->v[i].ls;
    qsort(ls, vec->n, sizeof *ls, cmp_labels_p);
    bool dup = false;
    for (size_t i = 1; i < vec->n && !dup; i++)
        dup = labels_equal(ls[i - 1], ls[i]);
    free(ls);
    return dup;
}

static int eval_recording(rules_group_t *g, rules_rule_t *r, int64_t ts, sample_vec_t *vec,
                          vg_err_t *err) {
    int64_t t_ms = ns_to_ms(ts - query_offset_ns(g));
    promql_value_t *res = NULL;
    int rc = run_query(g, r, t_ms, &res, err);
    if (rc != VG_OK) return rc;
    labels_builder_t *lb = labels_builder_new();
    labels_t *empty = labels_new_empty();
    for (size_t i = 0; i < result_len(res); i++) {
        labels_builder_reset(lb, result_labels(res, i, empty));
        labels_builder_set_metric_name(lb, r->def.name, strlen(r->def.name));
        for (size_t k = 0; k < labels_len(r->labels); k++) {
            labels_label_t l = labels_at(r->labels, k);
            labels_builder_set(lb, l.name, l.name_len, l.value, l.value_len);
        }
        vec_push(vec, labels_builder_labels(lb), t_ms, result_value(res, i));
    }
    labels_free(empty);
    labels_builder_free(lb);
    promql_value_free(res);
    if (has_duplicates(vec)) {
        vec_free(vec);
        return vg_err_set(err, PROMQL_ERR_EXEC,
                          "vector contains metrics with the same labelset after applying rule "
                          "labels");
    }
    if (g->limit > 0 && vec->n > (size_t)g->limit) {
        size_t n = vec->n;
        vec_free(vec);
        return vg_err_set(err, PROMQL_ERR_EXEC, "exceeded limit of %lld with %zu series",
                          (long long)g->limit, n);
    }
    return VG_OK;
}

typedef struct hash_idx {
    uint64_t hash;
    size_t i;
} hash_idx_t;

static int hash_idx_cmp(const void *a, const void *b) {
    uint64_t x = ((const hash_idx_t *)a)->hash, y = ((const hash_idx_t *)b)->hash;
    return x < y ? -1 : x > y;
}

static rules_alert_t *find_alert(const rules_rule_t *r, uint64_t h, const labels_t *ls,
                                 size_t *out_i) {
    for (size_t i = 0; i < r->n_active; i++)
        if (r->active[i]->hash == h && labels_equal(r->active[i]->labels, ls)) {
            if (out_i) *out_i = i;
            return r->active[i];
        }
    return NULL;
}

static void active_push(rules_rule_t *r, rules_alert_t *a) {
    if (r->n_active == r->cap_active) {
        r->cap_active = r->cap_active ? r->cap_active * 2 : 8;
        r->active = vg_realloc(r->active, r->cap_active * sizeof *r->active);
    }
    r->active[r->n_active++] = a;
}

/* ALERTS or ALERTS_FOR_STATE for an alert: the rule's labels, then the
 * alert's, then the name (and state). */
static labels_t *alert_series(const rules_rule_t *r, const rules_alert_t *a, bool for_state) {
    labels_builder_t *lb = labels_builder_new();
    labels_builder_reset(lb, r->labels);
    for (size_t k = 0; a && k < labels_len(a->labels); k++) {
        labels_label_t l = labels_at(a->labels, k);
        labels_builder_set(lb, l.name, l.name_len, l.value, l.value_len);
    }
    const char *m = for_state ? for_state_metric : alert_metric;
    labels_builder_set_metric_name(lb, m, strlen(m));
    labels_builder_set_s(lb, "alertname", r->def.name);
    if (!for_state) labels_builder_set_s(lb, "alertstate", rules_alert_state_name(a->state));
    labels_t *ls = labels_builder_labels(lb);
    labels_builder_free(lb);
    return ls;
}

static int eval_alerting(rules_group_t *g, rules_rule_t *r, int64_t ts, sample_vec_t *vec,
                         vg_err_t *err) {
    int64_t qoff = query_offset_ns(g);
    int64_t t_ms = ns_to_ms(ts - qoff);
    promql_value_t *res = NULL;
    int rc = run_query(g, r, t_ms, &res, err);
    if (rc != VG_OK) return rc;
    size_t n = result_len(res);
    rules_alert_t **fresh = vg_calloc(n ? n : 1, sizeof *fresh);
    labels_builder_t *lb = labels_builder_new();
    labels_t *empty = labels_new_empty();
    rc = VG_OK;
    for (size_t i = 0; i < n; i++) {
        const labels_t *sl = result_labels(res, i, empty);
        double value = result_value(res, i);
        labels_builder_reset(lb, sl);
        labels_builder_del(lb, LABELS_METRIC_NAME, LABELS_METRIC_NAME_LEN);
        for (size_t k = 0; k < labels_len(r->labels); k++) {
            labels_label_t l = labels_at(r->labels, k);
            char *v =
                rules_template_expand(r, l.value, l.value_len, sl, value, &g->env, ns_to_ms(ts));
            labels_builder_set(lb, l.name, l.name_len, v, strlen(v));
            free(v);
        }
        labels_builder_set_s(lb, "alertname", r->def.name);
        rules_alert_t *a = vg_calloc(1, sizeof *a);
        a->labels = labels_builder_labels(lb);
        labels_builder_reset(lb, NULL);
        for (size_t k = 0; k < labels_len(r->annotations); k++) {
            labels_label_t l = labels_at(r->annotations, k);
            char *v =
                rules_template_expand(r, l.value, l.value_len, sl, value, &g->env, ns_to_ms(ts));
            labels_builder_set(lb, l.name, l.name_len, v, strlen(v));
            free(v);
        }
        a->annotations = labels_builder_labels(lb);
        a->hash = labels_hash(a->labels);
        a->active_at = ts;
        a->state = RULES_STATE_PENDING;
        a->value = value;
        fresh[i] = a;
        for (size_t k = 0; k < i; k++)
            if (fresh[k]->hash == a->hash && labels_equal(fresh[k]->labels, a->labels)) {
                rc = vg_err_set(err, PROMQL_ERR_EXEC,
                                "vector contains metrics with the same labelset after applying "
                                "alert labels");
                break;
            }
        if (rc) {
            for (size_t k = 0; k <= i; k++)
                alert_free(fresh[k]);
            break;
        }
    }
    labels_free(empty);
    labels_builder_free(lb);
    promql_value_free(res);
    if (rc) {
        free(fresh);
        return rc;
    }

    pthread_mutex_lock(&g->lock);
    /* Index the active alerts by hash so that merging is n log n. */
    size_t n_old = r->n_active;
    hash_idx_t *idx = vg_malloc((n_old ? n_old : 1) * sizeof *idx);
    for (size_t i = 0; i < n_old; i++) {
        idx[i].hash = r->active[i]->hash;
        idx[i].i = i;
        r->active[i]->in_result = false;
    }
    qsort(idx, n_old, sizeof *idx, hash_idx_cmp);
    for (size_t i = 0; i < n; i++) {
        rules_alert_t *a = fresh[i];
        size_t at = n_old;
        size_t lo = 0, hi = n_old;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (idx[mid].hash < a->hash)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < n_old && idx[lo].hash == a->hash; lo++)
            if (labels_equal(r->active[idx[lo].i]->labels, a->labels)) {
                at = idx[lo].i;
                break;
            }
        rules_alert_t *old = at < n_old ? r->active[at] : NULL;
        if (old && old->state != RULES_STATE_INACTIVE) {
            old->value = a->value;
            labels_free(old->annotations);
            old->annotations = a->annotations;
            a->annotations = NULL;
            alert_free(a);
            old->in_result = true;
            continue;
        }
        a->in_result = true;
        if (old) {
            alert_free(old);
            r->active[at] = a;
        } else {
            active_push(r, a);
        }
    }
    free(idx);
    int64_t hold = r->def.for_ms * NS_PER_MS, kff = r->def.keep_firing_for_ms * NS_PER_MS;
    size_t n_active_pending = 0;
    for (size_t i = 0; i < r->n_active;) {
        rules_alert_t *a = r->active[i];
        bool in_result = a->in_result;
        bool removed = false;
        if (!in_result) {
            bool keep_firing = false;
            if (a->state == RULES_STATE_FIRING && kff > 0) {
                if (a->keep_firing_since == 0) a->keep_firing_since = ts;
                if (ts - a->keep_firing_since < kff) keep_firing = true;
            }
            if (a->state == RULES_STATE_PENDING ||
                (a->resolved_at != 0 && ts - a->resolved_at > RESOLVED_RETENTION_NS)) {
                r->active[i] = r->active[--r->n_active];
                alert_free(a);
                removed = true;
            } else if (a->state != RULES_STATE_INACTIVE && !keep_firing) {
                a->state = RULES_STATE_INACTIVE;
                a->resolved_at = ts;
            }
            if (removed) continue;
            if (!keep_firing) {
                i++;
                continue;
            }
        } else {
            a->keep_firing_since = 0;
        }
        n_active_pending++;
        if (a->state == RULES_STATE_PENDING && ts - a->active_at >= hold) {
            a->state = RULES_STATE_FIRING;
            a->fired_at = ts;
        }
        if (a->state == RULES_STATE_FIRING && ts - a->active_at < hold) {
            a->state = RULES_STATE_PENDING;
            a->fired_at = 0;
            a->last_sent_at = 0;
            a->keep_firing_since = 0;
        }
        if (r->restored) {
            vec_push(vec, alert_series(r, a, false), ns_to_ms(ts - qoff), 1);
            int64_t secs = a->active_at / NS_PER_S;
            if (a->active_at < 0 && a->active_at % NS_PER_S) secs--;
            vec_push(vec, alert_series(r, a, true), ns_to_ms(ts - qoff), (double)secs);
        }
        i++;
    }
    free(fresh);
    if (g->limit > 0 && n_active_pending > (size_t)g->limit) {
        for (size_t i = 0; i < r->n_active; i++)
            alert_free(r->active[i]);
        r->n_active = 0;
        pthread_mutex_unlock(&g->lock);
        vec_free(vec);
        return vg_err_set(err, PROMQL_ERR_EXEC, "exceeded limit of %lld with %zu alerts",
                          (long long)g->limit, n_active_pending);
    }
    pthread_mutex_unlock(&g->lock);
    return VG_OK;
}

/* AlertingRule.sendAlerts: alerts that are due, with ValidUntil set. */
static void send_alerts(rules_group_t *g, rules_rule_t *r, int64_t ts) {
    if (!g->env.notify) return;
    int64_t resend = g->env.resend_delay_ms * NS_PER_MS;
    int64_t interval = g->interval_ms * NS_PER_MS;
    int64_t delta = interval > resend ? interval : resend;
    rules_alert_t **due = NULL;
    size_t n_due = 0;
    pthread_mutex_lock(&g->lock);
    for (size_t i = 0; i < r->n_active; i++) {
        rules_alert_t *a = r->active[i];
        bool needs;
        if (a->state == RULES_STATE_PENDING)
            needs = false;
        else if (a->resolved_at > a->last_sent_at)
            needs = true;
        else
            needs = a->last_sent_at + resend < ts;
        if (!needs) continue;
        a->last_sent_at = ts;
        a->valid_until = ts + 4 * delta;
        rules_alert_t *c = vg_malloc(sizeof *c);
        *c = *a;
        c->labels = labels_dup(a->labels);
        c->annotations = labels_dup(a->annotations);
        due = vg_realloc(due, (n_due + 1) * sizeof *due);
        due[n_due++] = c;
    }
    pthread_mutex_unlock(&g->lock);
    g->env.notify(g->env.notify_ud, r->query, due, n_due);
    for (size_t i = 0; i < n_due; i++)
        alert_free(due[i]);
    free(due);
}

static void set_result(rules_group_t *g, rules_rule_t *r, rules_health_t h, const char *msg) {
    pthread_mutex_lock(&g->lock);
    r->health = h;
    free(r->last_error);
    r->last_error = msg ? vg_strdup(msg) : NULL;
    pthread_mutex_unlock(&g->lock);
}

static void eval_rule(rules_group_t *g, rules_rule_t *r, int64_t ts) {
    int64_t start = vg_time_now_ns();
    double mono = vg_time_mono();
    sample_vec_t vec = {0};
    vg_err_t err = {0};
    int rc = r->def.is_alert ? eval_alerting(g, r, ts, &vec, &err)
                             : eval_recording(g, r, ts, &vec, &err);
    if (rc != VG_OK) {
        set_result(g, r, RULES_HEALTH_BAD, err.msg);
        if (rc != PROMQL_ERR_CANCELED)
            vg_log_warn("Evaluating rule failed", "group", g->name, "rule", r->def.name, "err",
                        err.msg, NULL);
        goto done;
    }
    set_result(g, r, RULES_HEALTH_GOOD, NULL);
    if (r->def.is_alert) send_alerts(g, r, ts);
    tsdb_appender_t *app = tsdb_appender_new(g->env.db);
    rules_series_set_t returned = {0};
    size_t n_ooo = 0, n_dup = 0, n_old = 0;
    for (size_t i = 0; i < vec.n; i++) {
        uint64_t ref = 0;
        vg_err_t aerr = {0};
        int arc = tsdb_appender_add(app, vec.v[i].ls, &ref, vec.v[i].t, vec.v[i].v, &aerr);
        if (arc == VG_OK) {
            series_set_add(&returned, vec.v[i].ls);
            vec.v[i].ls = NULL;
            continue;
        }
        set_result(g, r, RULES_HEALTH_BAD, aerr.msg);
        if (arc == TSDB_ERR_OUT_OF_ORDER)
            n_ooo++;
        else if (arc == TSDB_ERR_DUPLICATE)
            n_dup++;
        else if (arc == TSDB_ERR_TOO_OLD)
            n_old++;
        else
            vg_log_warn("Rule evaluation result discarded", "rule", r->def.name, "err", aerr.msg,
                        NULL);
    }
    if (n_ooo)
        vg_log_warn("Error on ingesting out-of-order result from rule evaluation", "rule",
                    r->def.name, NULL);
    if (n_old)
        vg_log_warn("Error on ingesting too old result from rule evaluation", "rule", r->def.name,
                    NULL);
    if (n_dup)
        vg_log_warn("Error on ingesting results from rule evaluation with different value but "
                    "same timestamp",
                    "rule", r->def.name, NULL);
    if (returned.n) qsort(returned.items, returned.n, sizeof *returned.items, cmp_labels_p);
    int64_t stale_ms = ns_to_ms(ts - query_offset_ns(g));
    for (size_t i = 0; i < r->prev.n; i++) {
        if (series_set_has(&returned, r->prev.items[i])) continue;
        uint64_t ref = 0;
        /* Out-of-order and duplicates are expected when another rule
         * writes the series; anything else is only logged. */
        tsdb_appender_add(app, r->prev.items[i], &ref, stale_ms, rules_stale_nan(), NULL);
    }
    vg_err_t cerr = {0};
    if (tsdb_appender_commit(app, &cerr) != VG_OK) {
        set_result(g, r, RULES_HEALTH_BAD, cerr.msg);
        vg_log_warn("Rule sample appending failed", "rule", r->def.name, "err", cerr.msg, NULL);
        rules_series_set_clear(&returned);
    } else {
        pthread_mutex_lock(&g->lock);
        rules_series_set_clear(&r->prev);
        r->prev = returned;
        pthread_mutex_unlock(&g->lock);
    }
    tsdb_appender_free(app);
done:
    vec_free(&vec);
    pthread_mutex_lock(&g->lock);
    r->eval_duration_ns = (int64_t)((vg_time_mono() - mono) * 1e9);
    r->eval_timestamp = start;
    pthread_mutex_unlock(&g->lock);
}

void rules_group_cleanup_stale(rules_group_t *g, int64_t ts) {
    if (g->n_stale == 0) return;
    tsdb_appender_t *app = tsdb_appender_new(g->env.db);
    int64_t t_ms = ns_to_ms(ts - query_offset_ns(g));
    for (size_t i = 0; i < g->n_stale; i++) {
        uint64_t ref = 0;
        tsdb_appender_add(app, g->stale[i], &ref, t_ms, rules_stale_nan(), NULL);
    }
    vg_err_t err = {0};
    if (tsdb_appender_commit(app, &err) != VG_OK) {
        vg_log_warn("Stale sample appending for previous configuration failed", "err", err.msg,
                    NULL);
    } else {
        for (size_t i = 0; i < g->n_stale; i++)
            labels_free(g->stale[i]);
        g->n_stale = 0;
    }
    tsdb_appender_free(app);
}

void rules_group_eval(rules_group_t *g, int64_t ts) {
    for (size_t i = 0; i < g->n_rules; i++) {
        if (atomic_load(&g->stop)) return;
        eval_rule(g, &g->rules[i], ts);
    }
    rules_group_cleanup_stale(g, ts);
}

/* --------------------------------------------------------------- restore */

/* Labels of a series without __name__, for comparison with alert labels. */
static labels_t *without_name(const labels_t *ls) {
    labels_builder_t *b = labels_builder_new();
    labels_builder_reset(b, ls);
    labels_builder_del(b, LABELS_METRIC_NAME, LABELS_METRIC_NAME_LEN);
    labels_t *out = labels_builder_labels(b);
    labels_builder_free(b);
    return out;
}

static void restore_rule(rules_group_t *g, rules_rule_t *r, int64_t now, int64_t mint_ms,
                         int64_t maxt_ms) {
    labels_t *probe = alert_series(r, NULL, true);
    labels_matcher_t **ms = vg_calloc(labels_len(probe), sizeof *ms);
    size_t n_ms = 0;
    for (size_t i = 0; i < labels_len(probe); i++) {
        labels_label_t l = labels_at(probe, i);
        /* Values with template syntax are expanded per alert and would not
         * match the stored series. */
        if (memmem(l.value, l.value_len, "{{", 2)) continue;
        if (labels_matcher_new(LABELS_MATCH_EQUAL, l.name, l.name_len, l.value, l.value_len,
                               &ms[n_ms], NULL) == VG_OK)
            n_ms++;
    }
    labels_free(probe);
    tsdb_series_set_t *set = NULL;
    vg_err_t err = {0};
    if (tsdb_select(g->env.db, mint_ms, maxt_ms, ms, n_ms, 0, &set, &err) != VG_OK) {
        vg_log_error("Failed to restore 'for' state", "alertname", r->def.name, "stage", "Select",
                     "err", err.msg, NULL);
        goto out;
    }
    size_t n_series = tsdb_series_set_len(set);
    labels_t **keys = vg_calloc(n_series ? n_series : 1, sizeof *keys);
    for (size_t i = 0; i < n_series; i++)
        keys[i] = without_name(tsdb_series_set_labels(set, i));
    int64_t hold = r->def.for_ms * NS_PER_MS, grace = g->env.for_grace_period_ms * NS_PER_MS;
    pthread_mutex_lock(&g->lock);
    for (size_t k = 0; k < r->n_active; k++) {
        rules_alert_t *a = r->active[k];
        size_t si = n_series;
        for (size_t i = 0; i < n_series; i++)
            if (labels_equal(keys[i], a->labels)) si = i;
        if (si == n_series) continue;
        tsdb_iter_t it;
        tsdb_iter_init(&it, set, si);
        int64_t t = 0;
        double v = 0;
        bool any = false;
        while (tsdb_iter_next(&it) == 1) {
            t = it.t;
            v = it.v;
            any = true;
        }
        tsdb_iter_done(&it);
        if (!any || rules_is_stale_nan(v)) continue;
        int64_t down_at = (t / 1000) * NS_PER_S;
        int64_t restored = (int64_t)v * NS_PER_S;
        int64_t remaining = hold - (down_at - restored);
        if (remaining <= 0) {
            /* It was firing when the server went down: the next evaluation
             * fires it again if it still holds. */
        } else if (remaining < grace) {
            restored = now + grace - hold;
        } else {
            restored += now - down_at;
        }
        a->active_at = restored;
    }
    pthread_mutex_unlock(&g->lock);
    for (size_t i = 0; i < n_series; i++)
        labels_free(keys[i]);
    free(keys);
    tsdb_series_set_free(set);
out:
    for (size_t i = 0; i < n_ms; i++)
        labels_matcher_free(ms[i]);
    free(ms);
}

void rules_group_restore(rules_group_t *g, int64_t now) {
    int64_t maxt_ms = now / NS_PER_MS;
    int64_t mint_ms = (now - g->env.outage_tolerance_ms * NS_PER_MS) / NS_PER_MS;
    for (size_t i = 0; i < g->n_rules; i++) {
        rules_rule_t *r = &g->rules[i];
        if (!r->def.is_alert) continue;
        /* A hold shorter than the grace period is not restored: the alert
         * waits its own `for` again. */
        if (r->def.for_ms >= g->env.for_grace_period_ms) restore_rule(g, r, now, mint_ms, maxt_ms);
        pthread_mutex_lock(&g->lock);
        r->restored = true;
        pthread_mutex_unlock(&g->lock);
    }
    g->should_restore = false;
}

/* -------------------------------------------------------------- reload */

static bool labels_same(const labels_t *a, const labels_t *b) { return labels_equal(a, b); }

static bool rule_equal(const rules_rule_t *a, const rules_rule_t *b) {
    return a->def.is_alert == b->def.is_alert && strcmp(a->def.name, b->def.name) == 0 &&
           strcmp(a->query, b->query) == 0 && a->def.for_ms == b->def.for_ms &&
           a->def.keep_firing_for_ms == b->def.keep_firing_for_ms &&
           labels_same(a->labels, b->labels) && labels_same(a->annotations, b->annotations);
}

bool rules_group_equal(const rules_group_t *a, const rules_group_t *b) {
    if (strcmp(a->name, b->name) != 0 || strcmp(a->file, b->file) != 0) return false;
    if (a->interval_ms != b->interval_ms || a->limit != b->limit) return false;
    if (a->has_query_offset != b->has_query_offset ||
        (a->has_query_offset && a->query_offset_ms != b->query_offset_ms))
        return false;
    if (a->n_rules != b->n_rules) return false;
    for (size_t i = 0; i < a->n_rules; i++)
        if (!rule_equal(&a->rules[i], &b->rules[i])) return false;
    return true;
}

static void stale_add(rules_group_t *g, labels_t *ls) {
    if (g->n_stale == g->cap_stale) {
        g->cap_stale = g->cap_stale ? g->cap_stale * 2 : 16;
        g->stale = vg_realloc(g->stale, g->cap_stale * sizeof *g->stale);
    }
    g->stale[g->n_stale++] = ls;
}

static bool same_name_and_labels(const rules_rule_t *a, const rules_rule_t *b) {
    return strcmp(a->def.name, b->def.name) == 0 && labels_equal(a->labels, b->labels);
}

void rules_group_copy_state(rules_group_t *g, rules_group_t *from) {
    g->eval_duration_ns = from->eval_duration_ns;
    g->last_eval = from->last_eval;
    bool *taken = vg_calloc(from->n_rules ? from->n_rules : 1, sizeof *taken);
    for (size_t i = 0; i < g->n_rules; i++) {
        rules_rule_t *r = &g->rules[i];
        size_t fi = from->n_rules;
        for (size_t k = 0; k < from->n_rules; k++)
            if (!taken[k] && same_name_and_labels(r, &from->rules[k])) {
                fi = k;
                break;
            }
        if (fi == from->n_rules) continue;
        taken[fi] = true;
        rules_rule_t *fr = &from->rules[fi];
        rules_series_set_clear(&r->prev);
        r->prev = fr->prev;
        memset(&fr->prev, 0, sizeof fr->prev);
        if (!r->def.is_alert || !fr->def.is_alert) continue;
        for (size_t k = 0; k < fr->n_active; k++) {
            rules_alert_t *a = fr->active[k];
            size_t at;
            rules_alert_t *old = find_alert(r, a->hash, a->labels, &at);
            if (old) {
                alert_free(old);
                r->active[at] = a;
            } else {
                active_push(r, a);
            }
        }
        fr->n_active = 0;
    }
    /* Series of rules that are gone (or unmatched duplicates) go stale. */
    for (size_t i = 0; i < from->n_stale; i++)
        stale_add(g, from->stale[i]);
    from->n_stale = 0;
    for (size_t k = 0; k < from->n_rules; k++) {
        if (taken[k]) continue;
        rules_series_set_t *s = &from->rules[k].prev;
        for (size_t i = 0; i < s->n; i++)
            stale_add(g, s->items[i]);
        s->n = 0;
    }
    free(taken);
}
