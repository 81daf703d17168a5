/* This file implements the Alertmanager object: the alert store with
 * Alertmanager's put semantics (defaults for missing times, validation,
 * merge of overlapping versions), configuration reloads, the garbage
 * collection of resolved alerts, the inhibition source index, the views the
 * API v2 answers from, and the alertmanager_* metrics. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert/manager_int.h"
#include "expfmt/expfmt.h"
#include "httpc/httpc.h"

#define NS_PER_MS INT64_C(1000000)
#define DEFAULT_RETENTION_MS (INT64_C(120) * 3600 * 1000)

/* ------------------------------------------ alerts over a clean restart */

static void put_time_json(vg_buf_t *b, int64_t ns) {
    char t[40];
    vg_time_format_go(ns, t);
    vg_buf_printf(b, "\"%s\"", t);
}

/* Writes every stored alert to <dir>/alerts.json (docs/format/
 * alertmanager-alerts.md); lock held, workers stopped. */
static void snapshot_write(alert_manager_t *m) {
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_puts(&b, "{\"version\":1}\n");
    ALERT_MAP_FOREACH(&m->store, a) {
        vg_buf_puts(&b, "{\"labels\":");
        labels_format_json(a->labels, &b);
        vg_buf_puts(&b, ",\"annotations\":");
        labels_format_json(a->annotations, &b);
        vg_buf_puts(&b, ",\"startsAt\":");
        put_time_json(&b, a->starts_at_ns);
        vg_buf_puts(&b, ",\"endsAt\":");
        put_time_json(&b, a->ends_at_ns);
        vg_buf_puts(&b, ",\"updatedAt\":");
        put_time_json(&b, a->updated_at_ns);
        vg_buf_puts(&b, ",\"generatorURL\":\"");
        vg_buf_put_json_escaped(&b, a->generator_url, strlen(a->generator_url));
        vg_buf_printf(&b, "\",\"timeout\":%s}\n", a->timeout ? "true" : "false");
    }
    vg_buf_t path = VG_BUF_INIT;
    vg_buf_printf(&path, "%s/alerts.json", m->storage_dir);
    vg_err_t err = {0};
    if (vg_file_write_atomic(path.data, b.data, b.len, &err) != VG_OK)
        vg_log_error("Cannot save the alerts for the next start", "err", err.msg, NULL);
    vg_buf_free(&path);
    vg_buf_free(&b);
}

static labels_t *snapshot_labels(json_t *o) {
    if (!json_is_object(o)) return NULL;
    size_t n = json_object_size(o), k = 0;
    labels_label_t *pairs = vg_calloc(n ? n : 1, sizeof *pairs);
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (!json_is_string(v)) break;
        pairs[k++] = (labels_label_t){.name = key,
                                      .name_len = strlen(key),
                                      .value = json_string_value(v),
                                      .value_len = json_string_length(v)};
    }
    labels_t *ls = NULL;
    if (k != n || labels_from_pairs(pairs, k, &ls, NULL) != VG_OK) ls = NULL;
    free(pairs);
    return ls;
}

static bool snapshot_time(json_t *o, int64_t *out) {
    return json_is_string(o) &&
           vg_time_parse_rfc3339(json_string_value(o), json_string_length(o), out) == 0;
}

/* Reads <dir>/alerts.json back into the store and removes it (one use
 * only: a later crash must not bring these back). */
static void snapshot_load(alert_manager_t *m) {
    vg_buf_t path = VG_BUF_INIT;
    vg_buf_printf(&path, "%s/alerts.json", m->storage_dir);
    FILE *f = fopen(path.data, "r");
    if (!f) {
        if (errno != ENOENT)
            vg_log_error("Cannot read the alerts saved at the last stop", "file", path.data, "err",
                         strerror(errno), NULL);
        vg_buf_free(&path);
        return;
    }
    /* One JSON document per line, so a large file is read a line at a time. */
    char *line = NULL;
    size_t cap = 0, restored = 0, bad = 0;
    ssize_t len = getline(&line, &cap, f);
    json_t *head = len > 0 ? json_loadb(line, (size_t)len, 0, NULL) : NULL;
    json_t *ver = json_object_get(head, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) != 1) {
        vg_buf_t badp = VG_BUF_INIT;
        vg_buf_printf(&badp, "%s.bad", path.data);
        vg_log_error("Cannot read the alerts saved at the last stop; kept aside", "file", badp.data,
                     "err", "not a version 1 snapshot", NULL);
        rename(path.data, badp.data);
        vg_buf_free(&badp);
    } else {
        while ((len = getline(&line, &cap, f)) > 0) {
            json_t *it = json_loadb(line, (size_t)len, 0, NULL);
            labels_t *ls = snapshot_labels(json_object_get(it, "labels"));
            labels_t *an = snapshot_labels(json_object_get(it, "annotations"));
            int64_t st = 0, en = 0, up = 0;
            json_t *gu = json_object_get(it, "generatorURL");
            if (!ls || !labels_len(ls) || !an ||
                !snapshot_time(json_object_get(it, "startsAt"), &st) ||
                !snapshot_time(json_object_get(it, "endsAt"), &en) ||
                !snapshot_time(json_object_get(it, "updatedAt"), &up)) {
                bad++;
            } else {
                alert_map_put(&m->store,
                              alert_alert_new(ls, an, st, en, up,
                                              json_is_string(gu) ? json_string_value(gu) : "",
                                              json_is_true(json_object_get(it, "timeout")),
                                              alert_fingerprint(ls)));
                restored++;
            }
            labels_free(ls);
            labels_free(an);
            json_decref(it);
        }
        unlink(path.data);
        char nr[32], nb[32];
        snprintf(nr, sizeof nr, "%zu", restored);
        snprintf(nb, sizeof nb, "%zu", bad);
        vg_log_info("Restored the alerts saved at the last stop", "alerts", nr, "skipped", nb,
                    NULL);
    }
    json_decref(head);
    free(line);
    fclose(f);
    vg_buf_free(&path);
}

alert_manager_t *alert_manager_new(const alert_manager_opts_t *opts, vg_err_t *err) {
    if (vg_mkdir_all(opts->storage_dir, err) != VG_OK) return NULL;
    vg_buf_t path = VG_BUF_INIT;
    vg_buf_printf(&path, "%s/alertmanager.db", opts->storage_dir);
    struct alert_db *db = alert_db_open(path.data, err);
    vg_buf_free(&path);
    if (!db) return NULL;
    int64_t retention = opts->retention_ms ? opts->retention_ms : DEFAULT_RETENTION_MS;
    struct alert_silences *sil = alert_silences_open(db, retention, err);
    struct alert_nflog *nflog = sil ? alert_nflog_open(db, retention, err) : NULL;
    if (!nflog) {
        if (sil) alert_silences_free(sil);
        alert_db_close(db);
        return NULL;
    }
    httpc_global_init(); /* notifiers send from the workers */
    alert_manager_t *m = vg_calloc(1, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&m->cond, &ca); /* CLOCK_REALTIME: timers are wall-clock times */
    pthread_condattr_destroy(&ca);
    m->opts = *opts;
    m->storage_dir = vg_strdup(opts->storage_dir);
    m->external_url = vg_strdup(opts->external_url ? opts->external_url : "");
    m->opts.storage_dir = m->storage_dir;
    m->opts.external_url = m->external_url;
    m->start_ns = vg_time_now_ns();
    m->next_gc_ns = m->start_ns + ALERT_GC_INTERVAL_NS;
    m->db = db;
    m->silences = sil;
    m->nflog = nflog;
    snapshot_load(m); /* grouped at the first alert_manager_apply */
    alert_dispatch_start(m);
    return m;
}

struct alert_silences *alert_manager_silences(alert_manager_t *m) {
    return m->silences;
}
const char *alert_manager_external_url(const alert_manager_t *m) { return m->external_url; }
int64_t alert_manager_start_time_ns(const alert_manager_t *m) { return m->start_ns; }

alert_config_t *alert_manager_config(alert_manager_t *m) {
    pthread_mutex_lock(&m->lock);
    alert_config_t *c = m->cfg ? alert_config_ref(m->cfg) : NULL;
    pthread_mutex_unlock(&m->lock);
    return c;
}

/* Puts a into the source index of every inhibit rule whose source
 * matchers it matches (lock held). */
static void inhibit_index(alert_manager_t *m, alert_alert_t *a) {
    for (size_t r = 0; m->cfg && r < m->n_inhibit_sources; r++) {
        const alert_inhibit_rule_t *rule = &m->cfg->inhibit_rules[r];
        if (alert_matchers_match(rule->source_matchers, rule->n_source_matchers, a->labels)) {
            alert_alert_ref(a);
            alert_map_put(&m->inhibit_sources[r], a);
        }
    }
}

/* Rebuilds the per-rule source index from the store (lock held). */
static void inhibit_rebuild(alert_manager_t *m) {
    for (size_t i = 0; i < m->n_inhibit_sources; i++)
        alert_map_clear(&m->inhibit_sources[i]);
    free(m->inhibit_sources);
    m->n_inhibit_sources = m->cfg ? m->cfg->n_inhibit_rules : 0;
    m->inhibit_sources =
        vg_calloc(m->n_inhibit_sources ? m->n_inhibit_sources : 1, sizeof *m->inhibit_sources);
    ALERT_MAP_FOREACH(&m->store, a) { inhibit_index(m, a); }
}

alert_snapshot_t *alert_snapshot_ref(alert_snapshot_t *s) {
    atomic_fetch_add(&s->refs, 1);
    return s;
}

void alert_snapshot_unref(alert_snapshot_t *s) {
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1) return;
    notify_templates_free(s->tmpl);
    alert_config_unref(s->cfg);
    free(s);
}

int alert_manager_apply(alert_manager_t *m, alert_config_t *cfg, vg_err_t *err) {
    notify_templates_t *tmpl = notify_templates_load(cfg, err);
    if (!tmpl) return VG_ERR_INPUT;
    alert_snapshot_t *snap = vg_calloc(1, sizeof *snap);
    snap->cfg = alert_config_ref(cfg);
    snap->tmpl = tmpl;
    atomic_init(&snap->refs, 1);
    pthread_mutex_lock(&m->lock);
    alert_snapshot_t *old = m->snap;
    m->snap = snap;
    m->cfg = cfg;
    inhibit_rebuild(m);
    alert_dispatch_rebuild(m, vg_time_now_ns());
    pthread_mutex_unlock(&m->lock);
    /* A worker flushing under the old one holds its own reference. */
    alert_snapshot_unref(old);
    return VG_OK;
}

/* model.Alert.Validate after the API filled the times. */
static int validate(const alert_input_t *in, int64_t starts, int64_t ends, vg_buf_t *msg) {
    if (starts == 0 || starts == VG_TIME_GO_ZERO) {
        vg_buf_puts(msg, "start time missing");
        return -1;
    }
    if (ends != 0 && ends != VG_TIME_GO_ZERO && ends < starts) {
        vg_buf_puts(msg, "start time must be before end time");
        return -1;
    }
    size_t n = labels_len(in->labels);
    for (size_t i = 0; i < n; i++) {
        labels_label_t l = labels_at(in->labels, i);
        if (!labels_name_valid(l.name, l.name_len, true)) {
            vg_buf_printf(msg, "invalid label set: invalid name \"%.*s\"", (int)l.name_len, l.name);
            return -1;
        }
        if (!labels_utf8_valid(l.value, l.value_len)) {
            vg_buf_printf(msg, "invalid label set: invalid value \"%.*s\"", (int)l.value_len,
                          l.value);
            return -1;
        }
    }
    if (n == 0) {
        vg_buf_puts(msg, "at least one label pair required");
        return -1;
    }
    for (size_t i = 0; in->annotations && i < labels_len(in->annotations); i++) {
        labels_label_t l = labels_at(in->annotations, i);
        if (!labels_name_valid(l.name, l.name_len, true)) {
            vg_buf_printf(msg, "invalid annotations: invalid name \"%.*s\"", (int)l.name_len,
                          l.name);
            return -1;
        }
    }
    return 0;
}

/* Drops resolved alerts from the store and the inhibition index (lock
 * held), as Alertmanager's periodic GC. Groups keep theirs until notified. */
/* Keeps only the alerts of map not resolved at now. */
static void drop_resolved(alert_map_t *map, int64_t now) {
    alert_map_t keep = {0};
    ALERT_MAP_FOREACH(map, a) {
        if (alert_alert_resolved_at(a, now)) continue;
        alert_alert_ref(a);
        alert_map_put(&keep, a);
    }
    alert_map_clear(map);
    *map = keep;
}

void alert_manager_gc_locked(alert_manager_t *m, int64_t now) {
    drop_resolved(&m->store, now);
    for (size_t r = 0; r < m->n_inhibit_sources; r++)
        drop_resolved(&m->inhibit_sources[r], now);
    alert_silences_gc(m->silences, now / NS_PER_MS);
    alert_nflog_gc(m->nflog, now / NS_PER_MS);
}

int alert_manager_put(alert_manager_t *m, const alert_input_t *in, size_t n, int64_t now,
                      vg_err_t *err) {
    vg_buf_t msgs = VG_BUF_INIT;
    pthread_mutex_lock(&m->lock);
    int64_t resolve_ns = (m->cfg ? m->cfg->global.resolve_timeout_ms : INT64_C(300000)) * NS_PER_MS;
    for (size_t i = 0; i < n; i++) {
        int64_t starts = in[i].starts_at_ns, ends = in[i].ends_at_ns;
        bool unset_s = starts == 0 || starts == VG_TIME_GO_ZERO;
        bool unset_e = ends == 0 || ends == VG_TIME_GO_ZERO;
        if (unset_s) starts = unset_e ? now : ends;
        bool timeout = false;
        if (unset_e) {
            timeout = true;
            ends = now + resolve_ns;
        }
        if (ends > now)
            atomic_fetch_add(&m->received_firing, 1);
        else
            atomic_fetch_add(&m->received_resolved, 1);
        vg_buf_t msg = VG_BUF_INIT;
        if (validate(&in[i], starts, ends, &msg) != 0) {
            atomic_fetch_add(&m->invalid, 1);
            if (msgs.len) vg_buf_puts(&msgs, "; ");
            vg_buf_append(&msgs, msg.data, msg.len);
            vg_buf_free(&msg);
            continue;
        }
        uint64_t fp = alert_fingerprint(in[i].labels);
        alert_alert_t *a = alert_alert_new(in[i].labels, in[i].annotations, starts, ends, now,
                                           in[i].generator_url, timeout, fp);
        alert_alert_t *old = alert_map_get(&m->store, fp);
        /* Merged only when the activity ranges overlap (strictly), as
         * Alertmanager's store does; otherwise the new one replaces it. */
        if (old && ((a->ends_at_ns > old->starts_at_ns && a->ends_at_ns < old->ends_at_ns) ||
                    (a->starts_at_ns > old->starts_at_ns && a->starts_at_ns < old->ends_at_ns))) {
            alert_alert_t *merged = alert_alert_merge(old, a);
            alert_alert_unref(a);
            a = merged;
        }
        alert_map_put(&m->store, a); /* takes our reference */
        inhibit_index(m, a);
        alert_dispatch_insert(m, a, now);
    }
    pthread_mutex_unlock(&m->lock);
    if (msgs.len) {
        vg_err_set(err, VG_ERR_INPUT, "%s", msgs.data);
        vg_buf_free(&msgs);
        return VG_ERR_INPUT;
    }
    return VG_OK;
}

/* ------------------------------------------------------------------ views */

static int view_cmp(const void *x, const void *y) {
    const alert_view_t *a = x, *b = y;
    return a->alert->fp < b->alert->fp ? -1 : a->alert->fp > b->alert->fp;
}

/* Fills v for a (lock held). */
static void view_fill(alert_manager_t *m, const alert_config_t *cfg, alert_view_t *v,
                      alert_alert_t *a, int64_t now, const alert_route_t **routes, size_t cap) {
    alert_alert_ref(a);
    v->alert = a;
    char ids[16][37];
    size_t ns =
        m->silences ? alert_silences_mutes(m->silences, a->labels, now / NS_PER_MS, ids, 16) : 0;
    if (ns > 16) ns = 16;
    v->n_silenced_by = ns;
    v->silenced_by = vg_malloc((ns ? ns : 1) * sizeof *v->silenced_by);
    memcpy(v->silenced_by, ids, ns * sizeof ids[0]);
    uint64_t by;
    /* A silenced alert is not checked for inhibition (Alertmanager's
     * marker keeps the first reason it found). */
    v->inhibited_by = vg_malloc(sizeof *v->inhibited_by);
    v->n_inhibited_by = alert_dispatch_inhibited(m, a->labels, now, &by) ? 1 : 0;
    if (v->n_inhibited_by) v->inhibited_by[0] = by;
    v->suppressed = v->n_silenced_by || v->n_inhibited_by;
    size_t nr = cfg ? alert_route_match(cfg->route, a->labels, routes, cap) : 0;
    if (nr > cap) nr = cap;
    v->receivers = vg_malloc((nr ? nr : 1) * sizeof *v->receivers);
    for (size_t i = 0; i < nr; i++)
        v->receivers[i] = routes[i]->receiver;
    v->n_receivers = nr;
}

static void view_free(alert_view_t *v) {
    alert_alert_unref(v->alert);
    free(v->silenced_by);
    free(v->inhibited_by);
    free(v->receivers);
}

int alert_manager_list_alerts(alert_manager_t *m, int64_t now, alert_views_t *out) {
    memset(out, 0, sizeof *out);
    /* Taken in one short hold of the lock, then filled in chunks, so a
     * large answer does not stall ingestion. The views' receivers come
     * from the config of the first chunk (kept alive by out->config). */
    pthread_mutex_lock(&m->lock);
    size_t n = 0;
    alert_alert_t **all = vg_malloc((m->store.len ? m->store.len : 1) * sizeof *all);
    ALERT_MAP_FOREACH(&m->store, a) {
        if (alert_alert_resolved_at(a, now)) continue;
        alert_alert_ref(a);
        all[n++] = a;
    }
    out->config = m->cfg ? alert_config_ref(m->cfg) : NULL;
    pthread_mutex_unlock(&m->lock);
    size_t cap = out->config ? out->config->n_routes : 1;
    const alert_route_t **routes = vg_malloc((cap ? cap : 1) * sizeof *routes);
    out->alerts = vg_calloc(n ? n : 1, sizeof *out->alerts);
    for (size_t i = 0; i < n; i += 4096) {
        size_t end = i + 4096 < n ? i + 4096 : n;
        pthread_mutex_lock(&m->lock);
        for (size_t k = i; k < end; k++)
            view_fill(m, out->config, &out->alerts[out->n_alerts++], all[k], now, routes, cap);
        pthread_mutex_unlock(&m->lock);
    }
    for (size_t i = 0; i < n; i++)
        alert_alert_unref(all[i]);
    free(all);
    free(routes);
    qsort(out->alerts, out->n_alerts, sizeof *out->alerts, view_cmp);
    return VG_OK;
}

static int group_view_cmp(const void *x, const void *y) {
    const alert_group_view_t *a = x, *b = y;
    int c = strcmp(a->receiver, b->receiver);
    if (c) return c;
    return labels_compare(a->labels, b->labels);
}

int alert_manager_list_groups(alert_manager_t *m, int64_t now, alert_views_t *out) {
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&m->lock);
    size_t cap = m->cfg ? m->cfg->n_routes : 1;
    const alert_route_t **routes = vg_malloc((cap ? cap : 1) * sizeof *routes);
    out->groups = vg_calloc(m->n_groups ? m->n_groups : 1, sizeof *out->groups);
    for (size_t i = 0; i < m->groups_cap; i++) {
        alert_group_t *g = m->groups[i];
        if (!g || g == (alert_group_t *)ALERT_MAP_TOMB) continue;
        alert_group_view_t *gv = &out->groups[out->n_groups];
        gv->alerts = vg_calloc(g->alerts.len ? g->alerts.len : 1, sizeof *gv->alerts);
        ALERT_MAP_FOREACH(&g->alerts, a) {
            if (alert_alert_resolved_at(a, now)) continue;
            view_fill(m, m->cfg, &gv->alerts[gv->n_alerts++], a, now, routes, cap);
        }
        if (!gv->n_alerts) {
            free(gv->alerts);
            memset(gv, 0, sizeof *gv);
            continue;
        }
        qsort(gv->alerts, gv->n_alerts, sizeof *gv->alerts, view_cmp);
        gv->labels = labels_dup(g->labels);
        gv->receiver = g->route->receiver;
        out->n_groups++;
    }
    out->config = m->cfg ? alert_config_ref(m->cfg) : NULL;
    pthread_mutex_unlock(&m->lock);
    free(routes);
    qsort(out->groups, out->n_groups, sizeof *out->groups, group_view_cmp);
    return VG_OK;
}

void alert_views_free(alert_views_t *v) {
    for (size_t i = 0; i < v->n_alerts; i++)
        view_free(&v->alerts[i]);
    free(v->alerts);
    for (size_t g = 0; g < v->n_groups; g++) {
        for (size_t i = 0; i < v->groups[g].n_alerts; i++)
            view_free(&v->groups[g].alerts[i]);
        free(v->groups[g].alerts);
        labels_free(v->groups[g].labels);
    }
    free(v->groups);
    if (v->config) alert_config_unref(v->config);
    memset(v, 0, sizeof *v);
}

/* ---------------------------------------------------------------- metrics */

void alert_manager_write_metrics(alert_manager_t *m, expfmt_writer_t *w) {
    int64_t now = vg_time_now_ns();
    size_t active = 0, suppressed = 0, groups;
    /* The alerts are taken in one short hold of the lock and checked
     * outside it (inhibition in chunks), so a scrape of /metrics never
     * stalls ingestion for the length of a million checks. */
    pthread_mutex_lock(&m->lock);
    size_t n = 0;
    alert_alert_t **all = vg_malloc((m->store.len ? m->store.len : 1) * sizeof *all);
    ALERT_MAP_FOREACH(&m->store, a) {
        if (alert_alert_resolved_at(a, now)) continue;
        alert_alert_ref(a);
        all[n++] = a;
    }
    groups = m->n_groups;
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < n; i += 4096) {
        size_t end = i + 4096 < n ? i + 4096 : n;
        pthread_mutex_lock(&m->lock);
        for (size_t k = i; k < end; k++) {
            char ids[1][37];
            bool sup = (m->silences && alert_silences_mutes(m->silences, all[k]->labels,
                                                            now / NS_PER_MS, ids, 1) > 0) ||
                       alert_dispatch_inhibited(m, all[k]->labels, now, NULL);
            if (sup)
                suppressed++;
            else
                active++;
        }
        pthread_mutex_unlock(&m->lock);
    }
    for (size_t i = 0; i < n; i++)
        alert_alert_unref(all[i]);
    free(all);
    expfmt_write_family(w, "alertmanager_alerts", EXPFMT_GAUGE, "How many alerts by state.", NULL);
    expfmt_write_samplev(w, "alertmanager_alerts", (double)active, "state", "active", NULL);
    expfmt_write_samplev(w, "alertmanager_alerts", (double)suppressed, "state", "suppressed", NULL);
    expfmt_write_samplev(w, "alertmanager_alerts", 0.0, "state", "unprocessed", NULL);
    expfmt_write_family(w, "alertmanager_alerts_received_total", EXPFMT_COUNTER,
                        "The total number of received alerts.", NULL);
    expfmt_write_samplev(w, "alertmanager_alerts_received_total",
                         (double)atomic_load(&m->received_firing), "status", "firing", NULL);
    expfmt_write_samplev(w, "alertmanager_alerts_received_total",
                         (double)atomic_load(&m->received_resolved), "status", "resolved", NULL);
    expfmt_write_family(w, "alertmanager_alerts_invalid_total", EXPFMT_COUNTER,
                        "The total number of received alerts that were invalid.", NULL);
    expfmt_write_samplev(w, "alertmanager_alerts_invalid_total", (double)atomic_load(&m->invalid),
                         NULL);
    expfmt_write_family(w, "alertmanager_dispatcher_aggregation_groups", EXPFMT_GAUGE,
                        "Number of active aggregation groups", NULL);
    expfmt_write_samplev(w, "alertmanager_dispatcher_aggregation_groups", (double)groups, NULL);
    size_t counts[3] = {0, 0, 0};
    alert_silences_count(m->silences, now / NS_PER_MS, counts);
    expfmt_write_family(w, "alertmanager_silences", EXPFMT_GAUGE, "How many silences by state.",
                        NULL);
    static const char *const states[3] = {"active", "pending", "expired"};
    for (int i = 0; i < 3; i++) {
        size_t k = i == 0   ? ALERT_SILENCE_ACTIVE
                   : i == 1 ? ALERT_SILENCE_PENDING
                            : ALERT_SILENCE_EXPIRED;
        expfmt_write_samplev(w, "alertmanager_silences", (double)counts[k], "state", states[i],
                             NULL);
    }
    notify_metrics_write(w);
}

void alert_manager_free(alert_manager_t *m) {
    if (!m) return;
    alert_dispatch_stop(m);
    pthread_mutex_lock(&m->lock);
    snapshot_write(m);
    alert_dispatch_clear(m);
    for (size_t i = 0; i < m->n_inhibit_sources; i++)
        alert_map_clear(&m->inhibit_sources[i]);
    free(m->inhibit_sources);
    alert_map_clear(&m->store);
    pthread_mutex_unlock(&m->lock);
    alert_snapshot_unref(m->snap);
    free(m->heap);
    alert_nflog_free(m->nflog);
    alert_silences_free(m->silences);
    alert_db_close(m->db);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m->storage_dir);
    free(m->external_url);
    free(m);
}
