/* This file implements the Alertmanager's dispatcher: aggregation groups
 * with Alertmanager's timing (group_wait before the first notification,
 * group_interval between the next ones, an alert older than group_wait
 * flushing a new group at once), the timer heap the worker threads take
 * due groups from, and the notification pipeline a flush runs through —
 * inhibition, time intervals, silences, then per integration the
 * notification log's dedup, retries with back-off until the next group
 * interval, and the log entry — in the order of Alertmanager's stages. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/manager_int.h"

#define NS_PER_MS INT64_C(1000000)
#define MAINTENANCE_NS (INT64_C(30) * 1000000000) /* empty groups go, as Alertmanager */
#define MIN_TIMEOUT_NS (INT64_C(10) * 1000000000) /* notify.MinTimeout */

/* ------------------------------------------------------------ timer heap */

static bool heap_less(const alert_group_t *a, const alert_group_t *b) {
    return a->next_ns < b->next_ns;
}

static void heap_swap(alert_manager_t *m, size_t i, size_t j) {
    alert_group_t *t = m->heap[i];
    m->heap[i] = m->heap[j];
    m->heap[j] = t;
    m->heap[i]->heap_idx = i;
    m->heap[j]->heap_idx = j;
}

static void heap_up(alert_manager_t *m, size_t i) {
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(m->heap[i], m->heap[p])) break;
        heap_swap(m, i, p);
        i = p;
    }
}

static void heap_down(alert_manager_t *m, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < m->heap_len && heap_less(m->heap[l], m->heap[s])) s = l;
        if (r < m->heap_len && heap_less(m->heap[r], m->heap[s])) s = r;
        if (s == i) return;
        heap_swap(m, i, s);
        i = s;
    }
}

static void heap_remove(alert_manager_t *m, alert_group_t *g) {
    size_t i = g->heap_idx;
    if (i == SIZE_MAX) return;
    g->heap_idx = SIZE_MAX;
    m->heap_len--;
    if (i == m->heap_len) return;
    m->heap[i] = m->heap[m->heap_len];
    m->heap[i]->heap_idx = i;
    heap_up(m, i);
    heap_down(m, m->heap[i]->heap_idx);
}

/* Sets the group's timer (also when it is not in the heap yet). */
static void timer_set(alert_manager_t *m, alert_group_t *g, int64_t at_ns) {
    g->next_ns = at_ns;
    if (g->flushing) return; /* the worker puts it back when done */
    if (g->heap_idx == SIZE_MAX) {
        if (m->heap_len == m->heap_cap) {
            m->heap_cap = m->heap_cap ? m->heap_cap * 2 : 64;
            m->heap = vg_realloc(m->heap, m->heap_cap * sizeof *m->heap);
        }
        g->heap_idx = m->heap_len;
        m->heap[m->heap_len++] = g;
        heap_up(m, g->heap_idx);
    } else {
        heap_up(m, g->heap_idx);
        heap_down(m, g->heap_idx);
    }
    if (m->heap[0] == g) pthread_cond_broadcast(&m->cond);
}

/* ----------------------------------------------------------- group table */

static uint64_t group_hash(const alert_route_t *r, const labels_t *group_labels) {
    return labels_hash(group_labels) ^ ((uint64_t)r->idx * 0x9e3779b97f4a7c15ull);
}

static alert_group_t *group_find(alert_manager_t *m, const alert_route_t *r, uint64_t h,
                                 const labels_t *gl) {
    if (!m->groups_cap) return NULL;
    for (size_t i = h & (m->groups_cap - 1);; i = (i + 1) & (m->groups_cap - 1)) {
        alert_group_t *g = m->groups[i];
        if (!g) return NULL;
        if (g != (alert_group_t *)ALERT_MAP_TOMB && g->key_hash == h && g->route == r &&
            labels_equal(g->labels, gl))
            return g;
    }
}

static void group_table_insert(alert_manager_t *m, alert_group_t *g) {
    if ((m->n_groups + 1) * 2 >= m->groups_cap) {
        size_t cap = m->groups_cap ? m->groups_cap * 2 : 64;
        alert_group_t **old = m->groups;
        size_t old_cap = m->groups_cap;
        m->groups = vg_calloc(cap, sizeof *m->groups);
        m->groups_cap = cap;
        for (size_t i = 0; i < old_cap; i++) {
            alert_group_t *o = old[i];
            if (!o || o == (alert_group_t *)ALERT_MAP_TOMB) continue;
            size_t j = o->key_hash & (cap - 1);
            while (m->groups[j])
                j = (j + 1) & (cap - 1);
            m->groups[j] = o;
        }
        free(old);
    }
    size_t j = g->key_hash & (m->groups_cap - 1);
    while (m->groups[j] && m->groups[j] != (alert_group_t *)ALERT_MAP_TOMB)
        j = (j + 1) & (m->groups_cap - 1);
    m->groups[j] = g;
    m->n_groups++;
}

static void group_table_remove(alert_manager_t *m, alert_group_t *g) {
    for (size_t i = g->key_hash & (m->groups_cap - 1);; i = (i + 1) & (m->groups_cap - 1)) {
        if (!m->groups[i]) return;
        if (m->groups[i] == g) {
            m->groups[i] = (alert_group_t *)ALERT_MAP_TOMB;
            m->n_groups--;
            return;
        }
    }
}

static void group_free(alert_group_t *g) {
    alert_map_clear(&g->alerts);
    labels_free(g->labels);
    free(g->key);
    free(g);
}

/* Takes the group out of the table and the heap; frees it unless a worker
 * is flushing it (then the worker does). */
static void group_drop(alert_manager_t *m, alert_group_t *g) {
    group_table_remove(m, g);
    heap_remove(m, g);
    if (g->flushing)
        g->dead = true;
    else
        group_free(g);
}

void alert_dispatch_insert(alert_manager_t *m, alert_alert_t *a, int64_t now) {
    if (!m->cfg) return;
    size_t cap = m->cfg->n_routes ? m->cfg->n_routes : 1;
    const alert_route_t *stack[64];
    const alert_route_t **routes = cap <= 64 ? stack : vg_malloc(cap * sizeof *routes);
    size_t n = alert_route_match(m->cfg->route, a->labels, routes, cap);
    for (size_t i = 0; i < n && i < cap; i++) {
        const alert_route_t *r = routes[i];
        labels_t *gl = alert_route_group_labels(r, a->labels);
        uint64_t h = group_hash(r, gl);
        alert_group_t *g = group_find(m, r, h, gl);
        if (!g) {
            g = vg_calloc(1, sizeof *g);
            g->route = r;
            g->labels = gl;
            gl = NULL;
            g->key_hash = h;
            vg_buf_t key = VG_BUF_INIT;
            alert_route_group_key(r, g->labels, &key);
            g->key = vg_buf_detach(&key);
            g->heap_idx = SIZE_MAX;
            group_table_insert(m, g);
            timer_set(m, g, now + r->group_wait_ms * NS_PER_MS);
        }
        labels_free(gl);
        alert_alert_ref(a);
        alert_map_put(&g->alerts, a);
        /* An alert that started longer than group_wait ago flushes a group
         * that has not flushed yet at once. */
        if (!g->has_flushed && a->starts_at_ns + r->group_wait_ms * NS_PER_MS < now)
            timer_set(m, g, now);
    }
    if (routes != stack) free(routes);
}

void alert_dispatch_clear(alert_manager_t *m) {
    for (size_t i = 0; i < m->groups_cap; i++) {
        alert_group_t *g = m->groups[i];
        if (!g || g == (alert_group_t *)ALERT_MAP_TOMB) continue;
        g->heap_idx = SIZE_MAX;
        if (g->flushing)
            g->dead = true;
        else
            group_free(g);
    }
    free(m->groups);
    m->groups = NULL;
    m->groups_cap = m->n_groups = 0;
    m->heap_len = 0;
}

void alert_dispatch_rebuild(alert_manager_t *m, int64_t now) {
    alert_dispatch_clear(m);
    ALERT_MAP_FOREACH(&m->store, a) alert_dispatch_insert(m, a, now);
}

/* ------------------------------------------------------------ inhibition */

bool alert_dispatch_inhibited(alert_manager_t *m, const labels_t *ls, int64_t now, uint64_t *by) {
    if (!m->cfg) return false;
    for (size_t r = 0; r < m->cfg->n_inhibit_rules && r < m->n_inhibit_sources; r++) {
        const alert_inhibit_rule_t *rule = &m->cfg->inhibit_rules[r];
        bool two_sided;
        if (!alert_inhibit_rule_targets(rule, ls, &two_sided)) continue;
        ALERT_MAP_FOREACH(&m->inhibit_sources[r], src) {
            if (alert_alert_resolved_at(src, now)) continue;
            if (!alert_inhibit_source_mutes(rule, src->labels, ls, two_sided)) continue;
            if (by) *by = src->fp;
            return true;
        }
    }
    return false;
}

/* -------------------------------------------------------------- pipeline */

typedef struct flush_alert {
    alert_alert_t *a;
    bool resolved;
    uint64_t hash;
} flush_alert_t;

static int flush_cmp(const void *x, const void *y) {
    const flush_alert_t *a = x, *b = y;
    int c = alert_alert_cmp_notify(a->a, b->a);
    if (c) return c;
    return a->a->fp < b->a->fp ? -1 : a->a->fp > b->a->fp;
}

/* A label set as a sorted template map (strings borrowed from ls). */
static template_map_t *labels_tmap(const labels_t *ls, vg_arena_t *ar) {
    template_map_t *m = vg_arena_alloc(ar, sizeof *m);
    size_t n = ls ? labels_len(ls) : 0;
    m->n = 0;
    m->elem_kind = TEMPLATE_STRING;
    m->entries = vg_arena_alloc(ar, (n ? n : 1) * sizeof *m->entries);
    for (size_t i = 0; i < n; i++) {
        labels_label_t l = labels_at(ls, i);
        m->entries[m->n++] = (template_map_entry_t){
            .key = l.name, .key_len = l.name_len, .value = template_str(l.value, l.value_len)};
    }
    return m;
}

/* What two alerts' label sets have in common (name and value). */
static labels_t *common_of(const labels_t *acc, const labels_t *ls) {
    labels_builder_t *b = labels_builder_new();
    labels_builder_reset(b, NULL);
    for (size_t i = 0; i < labels_len(acc); i++) {
        labels_label_t l = labels_at(acc, i);
        size_t vl;
        const char *v = labels_get(ls, l.name, l.name_len, &vl);
        if (v && vl == l.value_len && memcmp(v, l.value, vl) == 0)
            labels_builder_set(b, l.name, l.name_len, l.value, l.value_len);
    }
    labels_t *out = labels_builder_labels(b);
    labels_builder_free(b);
    return out;
}

static template_value_t time_value(int64_t ns) {
    if (ns == VG_TIME_GO_ZERO || ns == 0) return template_nil();
    int64_t s = ns / 1000000000, f = ns % 1000000000;
    if (f < 0) f += 1000000000, s--;
    return template_time(s, (int32_t)f, 0, "UTC");
}

/* Builds template.Data for the alerts sent (Alertmanager's Template.Data). */
static void build_data(const alert_group_t *g, const char *receiver, const char *external_url,
                       const flush_alert_t *sent, size_t n, vg_arena_t *ar, template_am_data_t *d,
                       labels_t **common_l, labels_t **common_a) {
    memset(d, 0, sizeof *d);
    /* Alertmanager's template.Data quotes the name as a regexp. */
    vg_buf_t rq = VG_BUF_INIT;
    notify_quote_receiver(receiver, &rq);
    d->receiver = vg_arena_strndup(ar, rq.data ? rq.data : "", rq.len);
    vg_buf_free(&rq);
    bool any_firing = false;
    template_am_alert_t *as = vg_arena_alloc(ar, (n ? n : 1) * sizeof *as);
    for (size_t i = 0; i < n; i++) {
        const alert_alert_t *a = sent[i].a;
        any_firing |= !sent[i].resolved;
        char *fp = vg_arena_alloc(ar, 17);
        snprintf(fp, 17, "%016" PRIx64, a->fp);
        as[i] = (template_am_alert_t){
            .status = sent[i].resolved ? "resolved" : "firing",
            .labels = labels_tmap(a->labels, ar),
            .annotations = labels_tmap(a->annotations, ar),
            .starts_at = time_value(a->starts_at_ns),
            .ends_at = sent[i].resolved ? time_value(a->ends_at_ns) : template_nil(),
            .generator_url = a->generator_url,
            .fingerprint = fp,
        };
    }
    d->status = any_firing ? "firing" : "resolved";
    d->alerts = as;
    d->n_alerts = n;
    d->group_labels = labels_tmap(g->labels, ar);
    labels_t *cl = NULL, *ca = NULL;
    if (n) {
        cl = labels_dup(sent[0].a->labels);
        ca = labels_dup(sent[0].a->annotations);
        for (size_t i = 1; i < n; i++) {
            labels_t *t = common_of(cl, sent[i].a->labels);
            labels_free(cl);
            cl = t;
            t = common_of(ca, sent[i].a->annotations);
            labels_free(ca);
            ca = t;
        }
    }
    d->common_labels = labels_tmap(cl, ar);
    d->common_annotations = labels_tmap(ca, ar);
    d->route_labels = labels_tmap(NULL, ar);
    d->external_url = external_url;
    *common_l = cl;
    *common_a = ca;
}

/* Sleeps until deadline or stop; returns false when stopping. */
static bool sleep_until(alert_manager_t *m, int64_t until_ns) {
    struct timespec ts = {.tv_sec = until_ns / 1000000000, .tv_nsec = until_ns % 1000000000};
    pthread_mutex_lock(&m->lock);
    while (!m->stopping && vg_time_now_ns() < until_ns)
        pthread_cond_timedwait(&m->cond, &m->lock, &ts);
    bool go_on = !m->stopping;
    pthread_mutex_unlock(&m->lock);
    return go_on;
}

/* Alertmanager's DedupStage.needsUpdate. */
static int u64_cmp(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* Whether every alert of the batch in the given state (resolved or not)
 * is among the sorted hashes of the log entry. */
static bool all_logged(const flush_alert_t *fa, size_t n, bool resolved, const uint64_t *sorted,
                       size_t n_sorted) {
    for (size_t i = 0; i < n; i++)
        if (fa[i].resolved == resolved &&
            (!n_sorted || !bsearch(&fa[i].hash, sorted, n_sorted, sizeof *sorted, u64_cmp)))
            return false;
    return true;
}

/* Alertmanager's DedupStage.needsUpdate. Sorts the entry's hash lists (the
 * caller's copy) so that large groups cost n log n, not n * m. */
static bool needs_update(alert_nflog_entry_t *e, bool found, const flush_alert_t *fa, size_t n,
                         bool send_resolved, int64_t repeat_ns, int64_t now) {
    size_t n_firing = 0;
    for (size_t i = 0; i < n; i++)
        n_firing += !fa[i].resolved;
    if (!found) return n_firing > 0;
    if (e->n_firing) qsort(e->firing, e->n_firing, sizeof *e->firing, u64_cmp);
    /* Something firing now that was not firing at the last notification. */
    if (!all_logged(fa, n, false, e->firing, e->n_firing)) return true;
    if (n_firing == 0) return e->n_firing > 0;
    if (send_resolved) {
        if (e->n_resolved) qsort(e->resolved, e->n_resolved, sizeof *e->resolved, u64_cmp);
        if (!all_logged(fa, n, true, e->resolved, e->n_resolved)) return true;
    }
    return e->timestamp_ms * NS_PER_MS < now - repeat_ns;
}

/* One integration: dedup, retries, log. Returns true when done (sent or
 * nothing to send). */
static bool run_integration(alert_manager_t *m, const alert_config_t *cfg,
                            const notify_templates_t *tmpl, const alert_group_t *g,
                            const char *receiver, const notify_integration_t *in,
                            const flush_alert_t *fa, size_t n, int64_t now, int64_t deadline) {
    char recv_key[512];
    snprintf(recv_key, sizeof recv_key, "%s/%s/%u", receiver, in->name, in->idx);
    alert_nflog_entry_t entry;
    memset(&entry, 0, sizeof entry);
    bool found = alert_nflog_query(m->nflog, recv_key, g->key, &entry) == VG_OK;
    bool update = needs_update(&entry, found, fa, n, in->send_resolved,
                               g->route->repeat_interval_ms * NS_PER_MS, now);
    if (found) alert_nflog_entry_free(&entry);
    if (!update) return true;

    uint64_t *firing = vg_malloc((n ? n : 1) * sizeof *firing);
    uint64_t *resolved = vg_malloc((n ? n : 1) * sizeof *resolved);
    size_t n_firing = 0, n_resolved = 0;
    for (size_t i = 0; i < n; i++) {
        if (fa[i].resolved)
            resolved[n_resolved++] = fa[i].hash;
        else
            firing[n_firing++] = fa[i].hash;
    }
    bool ok = true;
    /* Without send_resolved only firing alerts go out, and a batch of only
     * resolved ones is logged as sent without a message. */
    if (in->send_resolved || n_firing > 0) {
        flush_alert_t *sent = vg_malloc((n ? n : 1) * sizeof *sent);
        size_t n_sent = 0;
        for (size_t i = 0; i < n; i++)
            if (in->send_resolved || !fa[i].resolved) sent[n_sent++] = fa[i];
        vg_arena_t *ar = vg_arena_new(0);
        template_am_data_t data;
        labels_t *cl, *ca;
        build_data(g, receiver, m->external_url, sent, n_sent, ar, &data, &cl, &ca);
        /* Back-off as Alertmanager's: 500 ms growing by 1.5, up to 1 min,
         * jittered by half, until the group's next flush is due. */
        double interval_ms = 500;
        int64_t next_try = now;
        unsigned attempts = 0;
        char last_err[VG_ERR_MSG_MAX] = "";
        bool unrecoverable = false;
        ok = false;
        while (!ok) {
            if (!sleep_until(m, next_try)) break;
            if (vg_time_now_ns() >= deadline) break;
            attempts++;
            vg_err_t err = {0};
            bool retry = false;
            int64_t left_ms = (deadline - vg_time_now_ns()) / NS_PER_MS;
            int64_t t0 = vg_time_now_ns();
            int rc =
                notify_send(in, cfg, tmpl, &data, g->key, left_ms > 0 ? left_ms : 1, &retry, &err);
            notify_metrics_observe(in->name, (double)(vg_time_now_ns() - t0) / 1e9, rc != VG_OK);
            if (rc == VG_OK) {
                ok = true;
                break;
            }
            bool changed = strcmp(last_err, err.msg) != 0;
            snprintf(last_err, sizeof last_err, "%s", err.msg);
            if (!retry) {
                unrecoverable = true;
                break;
            }
            /* As Alertmanager, a repeated error is logged once. */
            if (changed)
                vg_log_warn("Notify attempt failed, will retry later", "receiver", receiver,
                            "integration", in->name, "err", err.msg, NULL);
            double jitter = 0.5 + (double)(rand() % 1000) / 1000.0;
            next_try = vg_time_now_ns() + (int64_t)(interval_ms * jitter) * NS_PER_MS;
            interval_ms = interval_ms * 1.5 > 60000 ? 60000 : interval_ms * 1.5;
        }
        if (attempts) notify_metrics_notification(in->name, !ok);
        if (!ok && last_err[0])
            vg_log_error(unrecoverable ? "Notify for alerts failed: unrecoverable error"
                                       : "Notify for alerts failed: retry canceled",
                         "receiver", receiver, "integration", in->name, "err", last_err, NULL);
        labels_free(cl);
        labels_free(ca);
        vg_arena_free(ar);
        free(sent);
    }
    if (ok) {
        vg_err_t err = {0};
        /* Entries live twice the repeat interval, as Alertmanager 0.25's. */
        if (alert_nflog_log_expiry(m->nflog, recv_key, g->key, firing, n_firing, resolved,
                                   n_resolved, 2 * g->route->repeat_interval_ms, now / NS_PER_MS,
                                   &err) != VG_OK)
            vg_log_error("Error on notify", "err", err.msg, NULL);
    }
    free(firing);
    free(resolved);
    return ok;
}

typedef struct fanout {
    alert_manager_t *m;
    const alert_config_t *cfg;
    const notify_templates_t *tmpl;
    const alert_group_t *g;
    const notify_integration_t *in;
    const flush_alert_t *fa;
    size_t n;
    int64_t now, deadline;
    bool ok, started;
    pthread_t thread;
} fanout_t;

static void *fanout_main(void *arg) {
    fanout_t *j = arg;
    j->ok = run_integration(j->m, j->cfg, j->tmpl, j->g, j->g->route->receiver, j->in, j->fa, j->n,
                            j->now, j->deadline);
    return NULL;
}

/* Runs one flush of g (lock not held; g->flushing keeps it alive). The
 * snapshot of its alerts is taken by the caller. Returns true when every
 * integration succeeded. */
static bool flush_group(alert_manager_t *m, alert_group_t *g, alert_alert_t **snap, size_t n,
                        alert_config_t *cfg, const notify_templates_t *tmpl, int64_t now) {
    flush_alert_t *fa = vg_malloc((n ? n : 1) * sizeof *fa);
    size_t k = 0;
    /* Inhibited alerts leave the batch first, then (unless the route is
     * time-muted, which drops everything) silenced ones. */
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < n; i++)
        if (!alert_dispatch_inhibited(m, snap[i]->labels, now, NULL))
            fa[k++] = (flush_alert_t){.a = snap[i]};
    pthread_mutex_unlock(&m->lock);
    if (alert_config_route_muted(cfg, g->route, now / NS_PER_MS)) k = 0;
    size_t kept = 0;
    for (size_t i = 0; i < k; i++) {
        char ids[1][37];
        if (m->silences &&
            alert_silences_mutes(m->silences, fa[i].a->labels, now / NS_PER_MS, ids, 1) > 0)
            continue;
        fa[kept] = fa[i];
        fa[kept].resolved = alert_alert_resolved_at(fa[i].a, now);
        fa[kept].hash = alert_alert_hash(fa[i].a);
        kept++;
    }
    bool ok = true;
    if (kept) {
        qsort(fa, kept, sizeof *fa, flush_cmp);
        const alert_receiver_t *r = alert_config_receiver(cfg, g->route->receiver);
        int64_t interval = g->route->group_interval_ms * NS_PER_MS;
        int64_t deadline = now + (interval < MIN_TIMEOUT_NS ? MIN_TIMEOUT_NS : interval);
        notify_integration_t ins[64];
        size_t n_in = r ? notify_integrations(r, ins, 64) : 0;
        if (n_in > 64) n_in = 64;
        if (n_in == 1) {
            ok = run_integration(m, cfg, tmpl, g, g->route->receiver, &ins[0], fa, kept, now,
                                 deadline);
        } else if (n_in > 1) {
            /* As Alertmanager's fan-out, integrations go at once, so one that
             * retries does not hold the others back. */
            fanout_t *jobs = vg_calloc(n_in, sizeof *jobs);
            for (size_t i = 0; i < n_in; i++) {
                jobs[i] = (fanout_t){.m = m,
                                     .cfg = cfg,
                                     .tmpl = tmpl,
                                     .g = g,
                                     .in = &ins[i],
                                     .fa = fa,
                                     .n = kept,
                                     .now = now,
                                     .deadline = deadline};
                jobs[i].started = pthread_create(&jobs[i].thread, NULL, fanout_main, &jobs[i]) == 0;
                if (!jobs[i].started) fanout_main(&jobs[i]);
            }
            for (size_t i = 0; i < n_in; i++) {
                if (jobs[i].started) pthread_join(jobs[i].thread, NULL);
                ok &= jobs[i].ok;
            }
            free(jobs);
        }
    }
    free(fa);
    return ok;
}

/* Takes the next due group, or waits. Returns NULL when stopping. Runs the
 * maintenance sweep (empty groups go) on the way. Lock held. */
static alert_group_t *next_due(alert_manager_t *m, int64_t *now_out) {
    for (;;) {
        if (m->stopping) return NULL;
        int64_t now = vg_time_now_ns();
        if (now >= m->next_maintenance_ns) {
            m->next_maintenance_ns = now + MAINTENANCE_NS;
            for (size_t i = 0; i < m->groups_cap; i++) {
                alert_group_t *g = m->groups[i];
                if (g && g != (alert_group_t *)ALERT_MAP_TOMB && !g->flushing && !g->alerts.len)
                    group_drop(m, g);
            }
        }
        if (now >= m->next_gc_ns) {
            m->next_gc_ns = now + ALERT_GC_INTERVAL_NS;
            alert_manager_gc_locked(m, now);
        }
        if (m->heap_len && m->heap[0]->next_ns <= now) {
            alert_group_t *g = m->heap[0];
            heap_remove(m, g);
            *now_out = now;
            return g;
        }
        int64_t wake =
            m->next_maintenance_ns < m->next_gc_ns ? m->next_maintenance_ns : m->next_gc_ns;
        if (m->heap_len && m->heap[0]->next_ns < wake) wake = m->heap[0]->next_ns;
        struct timespec ts = {.tv_sec = wake / 1000000000, .tv_nsec = wake % 1000000000};
        pthread_cond_timedwait(&m->cond, &m->lock, &ts);
    }
}

static void *worker_main(void *arg) {
    alert_manager_t *m = arg;
    pthread_mutex_lock(&m->lock);
    for (;;) {
        int64_t now;
        alert_group_t *g = next_due(m, &now);
        if (!g) break;
        /* As Alertmanager, the next tick is set when this one starts. */
        g->has_flushed = true;
        g->flushing = true;
        g->next_ns = now + g->route->group_interval_ms * NS_PER_MS;
        size_t n = g->alerts.len;
        alert_alert_t **snap = vg_malloc((n ? n : 1) * sizeof *snap);
        size_t k = 0;
        ALERT_MAP_FOREACH(&g->alerts, a) {
            alert_alert_ref(a);
            snap[k++] = a;
        }
        alert_snapshot_t *cs = alert_snapshot_ref(m->snap);
        pthread_mutex_unlock(&m->lock);

        bool ok = k ? flush_group(m, g, snap, k, cs->cfg, cs->tmpl, now) : true;

        pthread_mutex_lock(&m->lock);
        /* Resolved alerts that were notified leave the group, unless they
         * changed (fired again) while the notification was under way. */
        if (ok && !g->dead) {
            for (size_t i = 0; i < k; i++) {
                if (!alert_alert_resolved_at(snap[i], now)) continue;
                if (alert_map_get(&g->alerts, snap[i]->fp) == snap[i])
                    alert_alert_unref(alert_map_del(&g->alerts, snap[i]->fp));
            }
        }
        for (size_t i = 0; i < k; i++)
            alert_alert_unref(snap[i]);
        free(snap);
        alert_snapshot_unref(cs);
        g->flushing = false;
        if (g->dead)
            group_free(g);
        else
            timer_set(m, g, g->next_ns);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

void alert_dispatch_start(alert_manager_t *m) {
    /* Each worker waits on one receiver at a time; Alertmanager flushes
     * every group on its own goroutine, so keep many requests in flight. */
    m->n_workers = m->opts.n_workers ? m->opts.n_workers : 16;
    m->workers = vg_calloc(m->n_workers, sizeof *m->workers);
    m->next_maintenance_ns = vg_time_now_ns() + MAINTENANCE_NS;
    for (size_t i = 0; i < m->n_workers; i++)
        pthread_create(&m->workers[i], NULL, worker_main, m);
}

void alert_dispatch_stop(alert_manager_t *m) {
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < m->n_workers; i++)
        pthread_join(m->workers[i], NULL);
    free(m->workers);
    m->workers = NULL;
    m->n_workers = 0;
}
