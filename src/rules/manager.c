/* This file implements the rule manager: one thread per group, evaluating
 * at the group's aligned times (Group.run: the first evaluation one
 * interval after the aligned start, `for` state restored after the second
 * one on the first load), reloads that keep unchanged groups running and
 * hand state over to changed ones (Manager.Update), removed groups that
 * write stale markers two intervals later, and snapshots of the state for
 * the HTTP API. */
#include "rules/rules_int.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)

struct rules_manager {
    rules_manager_opts_t opts;
    char *external_url;
    pthread_rwlock_t lock; /* guards groups */
    rules_group_t **groups;
    size_t n_groups;
    pthread_mutex_t update_lock; /* serialises updates; guards retired */
    rules_group_t **retired;     /* removed groups still writing stale markers */
    size_t n_retired;
    atomic_bool done;
    bool restored; /* a first set of rules has been loaded */
    rules_notifier_t *notifier;
    selfmon_family_t *m_evals, *m_failures, *m_last_duration, *m_interval, *m_rules,
        *m_iterations_missed;
};

/* -------------------------------------------------------- group threads */

/* Sleeps until the wall clock reaches target (ns) or the group is told to
 * stop; returns false when stopped. */
static bool sleep_until(rules_group_t *g, int64_t target) {
    pthread_mutex_lock(&g->run_lock);
    while (!atomic_load(&g->stop)) {
        int64_t now = vg_time_now_ns();
        if (now >= target) break;
        struct timespec ts = {.tv_sec = (time_t)(target / NS_PER_S),
                              .tv_nsec = (long)(target % NS_PER_S)};
        pthread_cond_timedwait(&g->run_cond, &g->run_lock, &ts);
    }
    bool ok = !atomic_load(&g->stop);
    pthread_mutex_unlock(&g->run_lock);
    return ok;
}

static void iterate(rules_group_t *g, int64_t ts) {
    int64_t start = vg_time_now_ns();
    double mono = vg_time_mono();
    rules_group_eval(g, ts);
    pthread_mutex_lock(&g->lock);
    g->eval_duration_ns = (int64_t)((vg_time_mono() - mono) * 1e9);
    g->last_eval = start;
    g->last_eval_ts = ts;
    pthread_mutex_unlock(&g->lock);
}

/* The next scheduled time after ts, skipping missed ones as Prometheus's
 * ticker loop does. */
static int64_t next_slot(int64_t ts, int64_t interval) {
    int64_t missed = (vg_time_now_ns() - ts) / interval - 1;
    if (missed < 0) missed = 0;
    return ts + (missed + 1) * interval;
}

static void *group_thread(void *arg) {
    rules_group_t *g = arg;
    int64_t interval = g->interval_ms * NS_PER_MS;
    int64_t ts = rules_group_eval_timestamp(g, vg_time_now_ns()) + interval;
    if (!sleep_until(g, ts)) goto stopped;
    iterate(g, ts);
    if (g->should_restore) {
        /* The first evaluation may have run on too little data; restore
         * after the second one, as Prometheus does. */
        if (!sleep_until(g, ts + interval)) goto stopped;
        ts = next_slot(ts, interval);
        iterate(g, ts);
        rules_group_restore(g, vg_time_now_ns());
    }
    for (;;) {
        if (!sleep_until(g, ts + interval)) break;
        ts = next_slot(ts, interval);
        iterate(g, ts);
    }
stopped:
    if (g->mark_stale) {
        int64_t now = vg_time_now_ns();
        pthread_mutex_lock(&g->lock);
        for (size_t i = 0; i < g->n_rules; i++) {
            rules_series_set_t *s = &g->rules[i].prev;
            for (size_t k = 0; k < s->n; k++) {
                if (g->n_stale == g->cap_stale) {
                    g->cap_stale = g->cap_stale ? g->cap_stale * 2 : 16;
                    g->stale = vg_realloc(g->stale, g->cap_stale * sizeof *g->stale);
                }
                g->stale[g->n_stale++] = s->items[k];
            }
            s->n = 0;
        }
        pthread_mutex_unlock(&g->lock);
        /* Two intervals give a renamed rule the time to write its new
         * series first; a manager that shuts down writes nothing. */
        int64_t until = now + 2 * interval;
        pthread_mutex_lock(&g->run_lock);
        while (!atomic_load(g->manager_done) && vg_time_now_ns() < until) {
            struct timespec t = {.tv_sec = (time_t)(until / NS_PER_S),
                                 .tv_nsec = (long)(until % NS_PER_S)};
            pthread_cond_timedwait(&g->run_cond, &g->run_lock, &t);
        }
        bool write = !atomic_load(g->manager_done);
        pthread_mutex_unlock(&g->run_lock);
        if (write) rules_group_cleanup_stale(g, now);
    }
    atomic_store(&g->finished, true);
    return NULL;
}

static void group_start(rules_manager_t *m, rules_group_t *g) {
    g->manager_done = &m->done;
    if (pthread_create(&g->thread, NULL, group_thread, g) == 0) {
        g->started = true;
        char name[16];
        snprintf(name, sizeof name, "rules-%.9s", g->name);
        pthread_setname_np(g->thread, name);
    } else {
        vg_log_error("Cannot start a rule group thread", "group", g->name, NULL);
    }
}

static void group_signal(rules_group_t *g) {
    pthread_mutex_lock(&g->run_lock);
    atomic_store(&g->stop, true);
    pthread_cond_broadcast(&g->run_cond);
    pthread_mutex_unlock(&g->run_lock);
}

static void group_join(rules_group_t *g) {
    if (g->started) pthread_join(g->thread, NULL);
    g->started = false;
}

/* ------------------------------------------------------------- notifier */

static void notify_cb(void *ud, const char *expr, rules_alert_t *const *alerts, size_t n) {
    rules_manager_t *m = ud;
    if (n && m->notifier) rules_notifier_send(m->notifier, expr, alerts, n);
}

/* -------------------------------------------------------------- manager */

rules_manager_t *rules_manager_new(const rules_manager_opts_t *opts, vg_err_t *err) {
    if (!opts || !opts->db || !opts->engine) {
        vg_err_set(err, VG_ERR, "rules: a store and an engine are required");
        return NULL;
    }
    rules_manager_t *m = vg_calloc(1, sizeof *m);
    m->opts = *opts;
    if (!m->opts.resend_delay_ms) m->opts.resend_delay_ms = 60000;
    if (!m->opts.outage_tolerance_ms) m->opts.outage_tolerance_ms = 3600000;
    if (!m->opts.for_grace_period_ms) m->opts.for_grace_period_ms = 600000;
    if (!m->opts.notification_queue_capacity) m->opts.notification_queue_capacity = 10000;
    m->external_url = vg_strdup(opts->external_url ? opts->external_url : "");
    m->opts.external_url = m->external_url;
    m->opts.user_agent = NULL;
    pthread_rwlock_init(&m->lock, NULL);
    pthread_mutex_init(&m->update_lock, NULL);
    m->notifier = rules_notifier_new(m->opts.notification_queue_capacity,
                                     opts->user_agent ? opts->user_agent : "vigil", m->external_url,
                                     opts->selfmon);
    if (m->notifier && opts->local_alerts)
        rules_notifier_set_local(m->notifier, opts->local_alerts, opts->local_ud);
    if (opts->selfmon) {
        const char *gl[] = {"rule_group"};
        m->m_evals = selfmon_counter(opts->selfmon, "prometheus_rule_evaluations_total",
                                     "The total number of rule evaluations.", 1, gl);
        m->m_failures = selfmon_counter(opts->selfmon, "prometheus_rule_evaluation_failures_total",
                                        "The total number of rule evaluation failures.", 1, gl);
        m->m_last_duration =
            selfmon_gauge(opts->selfmon, "prometheus_rule_group_last_duration_seconds",
                          "The duration of the last rule group evaluation.", 1, gl);
        m->m_interval = selfmon_gauge(opts->selfmon, "prometheus_rule_group_interval_seconds",
                                      "The interval of a rule group.", 1, gl);
        m->m_rules = selfmon_gauge(opts->selfmon, "prometheus_rule_group_rules",
                                   "The number of rules.", 1, gl);
    }
    return m;
}

/* Joins retired groups whose threads have ended. Under update_lock. */
static void reap_retired(rules_manager_t *m, bool all) {
    for (size_t i = 0; i < m->n_retired;) {
        rules_group_t *g = m->retired[i];
        if (all || atomic_load(&g->finished)) {
            group_join(g);
            rules_group_free(g);
            m->retired[i] = m->retired[--m->n_retired];
        } else {
            i++;
        }
    }
}

static void err_append(vg_buf_t *b, const char *msg) {
    if (b->len) vg_buf_putc(b, '\n');
    vg_buf_puts(b, msg);
}

static labels_t *external_labels(const config_t *cfg) {
    labels_builder_t *lb = labels_builder_new();
    labels_builder_reset(lb, NULL);
    for (size_t i = 0; i < cfg->global.n_external_labels; i++)
        labels_builder_set_s(lb, cfg->global.external_labels[i].name,
                             cfg->global.external_labels[i].value);
    labels_t *ls = labels_builder_labels(lb);
    labels_builder_free(lb);
    return ls;
}

int rules_manager_update(rules_manager_t *m, const config_t *cfg, vg_err_t *err) {
    pthread_mutex_lock(&m->update_lock);
    reap_retired(m, false);
    bool utf8 = strcmp(cfg->global.metric_name_validation_scheme, "legacy") != 0;
    labels_t *ext = external_labels(cfg);
    rules_env_t env = {.db = m->opts.db,
                       .engine = m->opts.engine,
                       .external_labels = ext,
                       .external_url = m->external_url,
                       .resend_delay_ms = m->opts.resend_delay_ms,
                       .outage_tolerance_ms = m->opts.outage_tolerance_ms,
                       .for_grace_period_ms = m->opts.for_grace_period_ms,
                       .default_query_offset_ms = cfg->global.rule_query_offset_ms,
                       .notify = notify_cb,
                       .notify_ud = m};
    bool should_restore = !m->restored;
    rules_group_t **fresh = NULL;
    size_t n_fresh = 0;
    vg_buf_t msgs = VG_BUF_INIT;
    for (size_t p = 0; p < cfg->n_rule_files; p++) {
        glob_t gl;
        memset(&gl, 0, sizeof gl);
        int grc = glob(cfg->rule_files[p], 0, NULL, &gl);
        if (grc != 0 && grc != GLOB_NOMATCH) {
            vg_buf_t b = VG_BUF_INIT;
            vg_buf_printf(&b, "retrieving rule files for %s failed", cfg->rule_files[p]);
            err_append(&msgs, b.data);
            vg_buf_free(&b);
        }
        for (size_t k = 0; grc == 0 && k < gl.gl_pathc; k++) {
            rules_file_t *f = NULL;
            rules_errors_t errs = {0};
            if (rules_file_load(gl.gl_pathv[k], utf8, &f, &errs) != VG_OK) {
                for (size_t e = 0; e < errs.n; e++)
                    err_append(&msgs, errs.msgs[e]);
                rules_errors_free(&errs);
                continue;
            }
            rules_group_t **gs = NULL;
            size_t n = 0;
            vg_err_t gerr = {0};
            if (rules_groups_from_file(f, cfg->global.evaluation_interval_ms, &env, should_restore,
                                       &gs, &n, &gerr) != VG_OK) {
                err_append(&msgs, gerr.msg);
            } else {
                for (size_t i = 0; i < n; i++) {
                    /* A group named twice (the same file matched by two
                     * globs) is one group: the later one wins. */
                    size_t j;
                    for (j = 0; j < n_fresh; j++)
                        if (strcmp(fresh[j]->file, gs[i]->file) == 0 &&
                            strcmp(fresh[j]->name, gs[i]->name) == 0)
                            break;
                    if (j < n_fresh) {
                        rules_group_free(fresh[j]);
                        fresh[j] = gs[i];
                        continue;
                    }
                    fresh = vg_realloc(fresh, (n_fresh + 1) * sizeof *fresh);
                    fresh[n_fresh++] = gs[i];
                }
                free(gs);
            }
            rules_file_free(f);
        }
        globfree(&gl);
    }
    labels_free(ext);
    if (msgs.len) {
        for (size_t i = 0; i < n_fresh; i++)
            rules_group_free(fresh[i]);
        free(fresh);
        vg_log_error("loading groups failed", "err", msgs.data, NULL);
        vg_err_set(err, VG_ERR_INPUT, "error loading rules, previous rule set restored: %s",
                   msgs.data);
        vg_buf_free(&msgs);
        pthread_mutex_unlock(&m->update_lock);
        return VG_ERR_INPUT;
    }
    vg_buf_free(&msgs);
    m->restored = true;

    pthread_rwlock_wrlock(&m->lock);
    rules_group_t **old = m->groups;
    size_t n_old = m->n_groups;
    for (size_t i = 0; i < n_fresh; i++) {
        rules_group_t *ng = fresh[i];
        rules_group_t *og = NULL;
        for (size_t k = 0; k < n_old; k++)
            if (old[k] && strcmp(old[k]->file, ng->file) == 0 &&
                strcmp(old[k]->name, ng->name) == 0) {
                og = old[k];
                old[k] = NULL;
                break;
            }
        if (og && rules_group_equal(og, ng)) {
            rules_group_free(ng);
            fresh[i] = og;
            continue;
        }
        if (og) {
            group_signal(og);
            group_join(og);
            rules_group_copy_state(ng, og);
            rules_group_free(og);
        }
        group_start(m, ng);
    }
    for (size_t k = 0; k < n_old; k++) {
        rules_group_t *og = old[k];
        if (!og) continue;
        og->mark_stale = true;
        group_signal(og);
        m->retired = vg_realloc(m->retired, (m->n_retired + 1) * sizeof *m->retired);
        m->retired[m->n_retired++] = og;
    }
    free(old);
    m->groups = fresh;
    m->n_groups = n_fresh;
    pthread_rwlock_unlock(&m->lock);
    for (size_t i = 0; i < n_fresh; i++) {
        if (!m->m_interval) break;
        vg_buf_t key = VG_BUF_INIT;
        vg_buf_printf(&key, "%s;%s", fresh[i]->file, fresh[i]->name);
        const char *lv[] = {key.data};
        selfmon_set(m->m_interval, lv, (double)fresh[i]->interval_ms / 1000.0);
        selfmon_set(m->m_rules, lv, (double)fresh[i]->n_rules);
        vg_buf_free(&key);
    }
    vg_err_t nerr = {0};
    if (m->notifier && rules_notifier_apply(m->notifier, cfg, &nerr) != VG_OK)
        vg_log_error("Applying the alerting configuration", "err", nerr.msg, NULL);
    pthread_mutex_unlock(&m->update_lock);
    return VG_OK;
}

void rules_manager_free(rules_manager_t *m) {
    if (!m) return;
    vg_log_info("Stopping rule manager...", NULL);
    pthread_mutex_lock(&m->update_lock);
    atomic_store(&m->done, true);
    pthread_rwlock_wrlock(&m->lock);
    for (size_t i = 0; i < m->n_groups; i++)
        group_signal(m->groups[i]);
    for (size_t i = 0; i < m->n_retired; i++)
        group_signal(m->retired[i]);
    for (size_t i = 0; i < m->n_groups; i++) {
        group_join(m->groups[i]);
        rules_group_free(m->groups[i]);
    }
    free(m->groups);
    m->groups = NULL;
    m->n_groups = 0;
    pthread_rwlock_unlock(&m->lock);
    reap_retired(m, true);
    free(m->retired);
    pthread_mutex_unlock(&m->update_lock);
    rules_notifier_free(m->notifier);
    pthread_rwlock_destroy(&m->lock);
    pthread_mutex_destroy(&m->update_lock);
    free(m->external_url);
    free(m);
    vg_log_info("Rule manager stopped", NULL);
}

/* ------------------------------------------------------------ snapshots */

static rules_alert_state_t rule_state(const rules_rule_t *r) {
    if (r->eval_timestamp == 0) return RULES_STATE_UNKNOWN;
    rules_alert_state_t s = RULES_STATE_INACTIVE;
    for (size_t i = 0; i < r->n_active; i++)
        if (r->active[i]->state > s) s = r->active[i]->state;
    return s;
}

static int cmp_alert_info(const void *a, const void *b) {
    return labels_compare(((const rules_alert_info_t *)a)->labels,
                          ((const rules_alert_info_t *)b)->labels);
}

static void snap_rule(const rules_rule_t *r, rules_rule_info_t *o) {
    o->is_alert = r->def.is_alert;
    o->name = vg_strdup(r->def.name);
    o->query = vg_strdup(r->query);
    o->duration_s = (double)r->def.for_ms / 1000.0;
    o->keep_firing_for_s = (double)r->def.keep_firing_for_ms / 1000.0;
    o->labels = labels_dup(r->labels);
    o->annotations = labels_dup(r->annotations);
    o->state = rule_state(r);
    o->health = r->health;
    o->last_error = r->last_error ? vg_strdup(r->last_error) : NULL;
    o->eval_time_s = (double)r->eval_duration_ns / 1e9;
    o->last_eval = r->eval_timestamp;
    o->alerts = vg_calloc(r->n_active ? r->n_active : 1, sizeof *o->alerts);
    for (size_t i = 0; i < r->n_active; i++) {
        const rules_alert_t *a = r->active[i];
        if (a->resolved_at != 0) continue;
        rules_alert_info_t *ai = &o->alerts[o->n_alerts++];
        ai->labels = labels_dup(a->labels);
        ai->annotations = labels_dup(a->annotations);
        ai->state = a->state;
        ai->value = a->value;
        ai->active_at = a->active_at;
        ai->keep_firing_since = a->keep_firing_since;
    }
    /* Prometheus lists them in map order; a stable order is kinder. */
    qsort(o->alerts, o->n_alerts, sizeof *o->alerts, cmp_alert_info);
}

static int cmp_group_info(const void *a, const void *b) {
    const rules_group_info_t *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

rules_snapshot_t *rules_manager_snapshot(rules_manager_t *m) {
    rules_snapshot_t *s = vg_calloc(1, sizeof *s);
    pthread_rwlock_rdlock(&m->lock);
    s->groups = vg_calloc(m->n_groups ? m->n_groups : 1, sizeof *s->groups);
    s->n_groups = m->n_groups;
    for (size_t i = 0; i < m->n_groups; i++) {
        rules_group_t *g = m->groups[i];
        rules_group_info_t *o = &s->groups[i];
        pthread_mutex_lock(&g->lock);
        o->name = vg_strdup(g->name);
        o->file = vg_strdup(g->file);
        o->interval_s = (double)g->interval_ms / 1000.0;
        o->limit = g->limit;
        o->eval_time_s = (double)g->eval_duration_ns / 1e9;
        o->last_eval = g->last_eval;
        o->rules = vg_calloc(g->n_rules ? g->n_rules : 1, sizeof *o->rules);
        o->n_rules = g->n_rules;
        for (size_t k = 0; k < g->n_rules; k++)
            snap_rule(&g->rules[k], &o->rules[k]);
        pthread_mutex_unlock(&g->lock);
    }
    pthread_rwlock_unlock(&m->lock);
    qsort(s->groups, s->n_groups, sizeof *s->groups, cmp_group_info);
    return s;
}

void rules_snapshot_free(rules_snapshot_t *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_groups; i++) {
        rules_group_info_t *g = &s->groups[i];
        for (size_t k = 0; k < g->n_rules; k++) {
            rules_rule_info_t *r = &g->rules[k];
            for (size_t a = 0; a < r->n_alerts; a++) {
                labels_free(r->alerts[a].labels);
                labels_free(r->alerts[a].annotations);
            }
            free(r->alerts);
            free(r->name);
            free(r->query);
            labels_free(r->labels);
            labels_free(r->annotations);
            free(r->last_error);
        }
        free(g->rules);
        free(g->name);
        free(g->file);
    }
    free(s->groups);
    free(s);
}

size_t rules_manager_alertmanagers(rules_manager_t *m, char ***out) {
    *out = NULL;
    return m->notifier ? rules_notifier_urls(m->notifier, out) : 0;
}
