/* This file implements the notifier: alerts from the rule groups are
 * labelled with the external labels, relabelled by
 * alerting.alert_relabel_configs, queued (the oldest dropped beyond the
 * capacity) and sent by one thread in batches of up to 256 as Alertmanager
 * API v2 bodies (POST <scheme>://<address><path_prefix>/api/v2/alerts) to
 * every configured Alertmanager, as Prometheus's notifier does. */
#include "rules/rules_int.h"

#include "httpc/httpc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BATCH 256
/* What is kept of an Alertmanager's answer: it is not read. */
#define MAX_RESPONSE 1024

typedef struct queued {
    labels_t *labels;
    labels_t *annotations;
    int64_t starts_at, ends_at; /* ns */
    char *generator_url;
} queued_t;

/* One Alertmanager endpoint; set says whose client settings it uses. */
typedef struct am_target {
    char *url;
    size_t set; /* index of its alertmanagers entry */
} am_target_t;

/* One alertmanagers entry. http points into the configuration snapshot
 * the notifier holds a reference to. */
typedef struct am_set {
    int64_t timeout_ms;
    const config_http_client_t *http;
    labels_relabel_t *alert_relabel;
} am_set_t;

struct rules_notifier {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    queued_t *q; /* ring buffer */
    size_t cap, head, len;
    bool stop;
    pthread_t thread;
    bool started;
    /* The built-in Alertmanager, used when no Alertmanager is configured. */
    void (*local_fn)(void *ud, const rules_outgoing_alert_t *alerts, size_t n);
    void *local_ud;
    char *user_agent;
    char *external_url;
    /* Configuration, guarded by lock; the sender copies what it needs and
     * takes its own reference to config for the duration of a send. */
    config_t *config;
    labels_t *external_labels;
    labels_relabel_t *relabel;
    am_set_t *sets;
    size_t n_sets;
    am_target_t *targets;
    size_t n_targets;
    unsigned config_gen;
    selfmon_family_t *m_sent, *m_errors, *m_dropped, *m_queue_len, *m_queue_cap;
};

static void queued_free(queued_t *q) {
    labels_free(q->labels);
    labels_free(q->annotations);
    free(q->generator_url);
}

static void sets_free(am_set_t *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        labels_relabel_free(s[i].alert_relabel);
    free(s);
}

static void targets_free(am_target_t *t, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(t[i].url);
    free(t);
}

/* ------------------------------------------------------------- payload */

/* strfmt.DateTime as go-openapi marshals it: milliseconds, always three
 * digits, UTC. */
static void put_datetime(vg_buf_t *b, int64_t ns) {
    if (ns == 0) {
        vg_buf_puts(b, "\"0001-01-01T00:00:00.000Z\"");
        return;
    }
    int64_t ms = ns / 1000000;
    char out[32];
    vg_time_format_rfc3339(ms, out);
    vg_buf_printf(b, "\"%s\"", out);
}

static void put_alert(vg_buf_t *b, const queued_t *q, const labels_t *ls) {
    vg_buf_putc(b, '{');
    if (q->annotations && labels_len(q->annotations)) {
        vg_buf_puts(b, "\"annotations\":");
        labels_format_json(q->annotations, b);
        vg_buf_putc(b, ',');
    }
    vg_buf_puts(b, "\"endsAt\":");
    put_datetime(b, q->ends_at);
    vg_buf_puts(b, ",\"startsAt\":");
    put_datetime(b, q->starts_at);
    if (q->generator_url && *q->generator_url) {
        vg_buf_puts(b, ",\"generatorURL\":\"");
        vg_buf_put_json_escaped(b, q->generator_url, strlen(q->generator_url));
        vg_buf_putc(b, '"');
    }
    vg_buf_puts(b, ",\"labels\":");
    labels_format_json(ls, b);
    vg_buf_putc(b, '}');
}

/* Go's url.QueryEscape. */
static void query_escape(vg_buf_t *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            vg_buf_putc(b, (char)c);
        else if (c == ' ')
            vg_buf_putc(b, '+');
        else
            vg_buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
}

/* ----------------------------------------------------------------- send */

static void post(rules_notifier_t *n, const char *url, const am_set_t *set, const vg_buf_t *body,
                 size_t n_alerts) {
    httpc_request_t req = {.method = "POST",
                           .url = url,
                           .content_type = "application/json",
                           .body = body->data,
                           .body_len = body->len,
                           .timeout_ms = set->timeout_ms ? set->timeout_ms : 10000,
                           .http = set->http,
                           .user_agent = n->user_agent,
                           .max_response_bytes = MAX_RESPONSE};
    httpc_response_t resp = {0, VG_BUF_INIT};
    vg_err_t err = {0};
    int rc = httpc_do(&req, &resp, &err);
    const char *lv[] = {url};
    if (rc != VG_OK || resp.status / 100 != 2) {
        char status[64];
        snprintf(status, sizeof status, "bad response status %ld", resp.status);
        const char *why = rc != VG_OK ? err.msg : status;
        vg_log_error("Error sending alerts", "alertmanager", url, "err", why, NULL);
        if (n->m_errors) selfmon_add(n->m_errors, lv, (double)n_alerts);
    }
    if (n->m_sent) selfmon_add(n->m_sent, lv, (double)n_alerts);
    vg_buf_free(&resp.body);
}

/* Sends one batch to every Alertmanager. The configuration is read under
 * the lock into copies, so a reload during a send is harmless. */
static void send_batch(rules_notifier_t *n, queued_t *batch, size_t n_batch) {
    pthread_mutex_lock(&n->lock);
    size_t n_sets = n->n_sets;
    vg_buf_t *bodies = vg_calloc(n_sets ? n_sets : 1, sizeof *bodies);
    size_t *counts = vg_calloc(n_sets ? n_sets : 1, sizeof *counts);
    labels_builder_t *lb = labels_builder_new();
    for (size_t s = 0; s < n_sets; s++) {
        vg_buf_putc(&bodies[s], '[');
        for (size_t i = 0; i < n_batch; i++) {
            labels_builder_reset(lb, batch[i].labels);
            if (!labels_relabel_apply(n->sets[s].alert_relabel, lb)) continue;
            labels_t *ls = labels_builder_labels(lb);
            if (counts[s]) vg_buf_putc(&bodies[s], ',');
            put_alert(&bodies[s], &batch[i], ls);
            labels_free(ls);
            counts[s]++;
        }
        vg_buf_putc(&bodies[s], ']');
    }
    labels_builder_free(lb);
    size_t n_targets = n->n_targets;
    am_target_t *targets = vg_calloc(n_targets ? n_targets : 1, sizeof *targets);
    am_set_t *sets = vg_calloc(n_sets ? n_sets : 1, sizeof *sets);
    for (size_t i = 0; i < n_targets; i++) {
        targets[i].url = vg_strdup(n->targets[i].url);
        targets[i].set = n->targets[i].set;
    }
    for (size_t s = 0; s < n_sets; s++) {
        sets[s].timeout_ms = n->sets[s].timeout_ms;
        sets[s].http = n->sets[s].http;
    }
    /* The client settings stay valid while this reference is held. */
    config_t *config = n->config ? config_ref(n->config) : NULL;
    pthread_mutex_unlock(&n->lock);
    for (size_t i = 0; i < n_targets; i++) {
        size_t s = targets[i].set;
        if (s >= n_sets || counts[s] == 0) continue;
        post(n, targets[i].url, &sets[s], &bodies[s], counts[s]);
    }
    config_unref(config);
    for (size_t s = 0; s < n_sets; s++)
        vg_buf_free(&bodies[s]);
    free(bodies);
    free(counts);
    targets_free(targets, n_targets);
    sets_free(sets, n_sets);
}

static void *sender_thread(void *arg) {
    rules_notifier_t *n = arg;
    queued_t *batch = vg_calloc(MAX_BATCH, sizeof *batch);
    for (;;) {
        pthread_mutex_lock(&n->lock);
        while (!n->stop && n->len == 0)
            pthread_cond_wait(&n->cond, &n->lock);
        if (n->len == 0 && n->stop) {
            pthread_mutex_unlock(&n->lock);
            break;
        }
        size_t k = 0;
        while (k < MAX_BATCH && n->len) {
            batch[k++] = n->q[n->head];
            n->head = (n->head + 1) % n->cap;
            n->len--;
        }
        if (n->m_queue_len) selfmon_set(n->m_queue_len, NULL, (double)n->len);
        bool stopping = n->stop;
        pthread_mutex_unlock(&n->lock);
        if (!stopping) send_batch(n, batch, k);
        for (size_t i = 0; i < k; i++)
            queued_free(&batch[i]);
    }
    free(batch);
    return NULL;
}

rules_notifier_t *rules_notifier_new(size_t capacity, const char *user_agent,
                                     const char *external_url, selfmon_t *selfmon) {
    httpc_global_init();
    rules_notifier_t *n = vg_calloc(1, sizeof *n);
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->cond, NULL);
    n->cap = capacity ? capacity : 10000;
    n->q = vg_calloc(n->cap, sizeof *n->q);
    n->user_agent = vg_strdup(user_agent ? user_agent : "vigil");
    n->external_url = vg_strdup(external_url ? external_url : "");
    if (selfmon) {
        const char *al[] = {"alertmanager"};
        n->m_sent = selfmon_counter(selfmon, "prometheus_notifications_sent_total",
                                    "Total number of alerts sent.", 1, al);
        n->m_errors = selfmon_counter(selfmon, "prometheus_notifications_errors_total",
                                      "Total number of sent alerts affected by errors.", 1, al);
        n->m_dropped = selfmon_counter(selfmon, "prometheus_notifications_dropped_total",
                                       "Total number of alerts dropped due to errors when "
                                       "sending to Alertmanager.",
                                       0, NULL);
        n->m_queue_len = selfmon_gauge(selfmon, "prometheus_notifications_queue_length",
                                       "The number of alert notifications in the queue.", 0, NULL);
        n->m_queue_cap = selfmon_gauge(selfmon, "prometheus_notifications_queue_capacity",
                                       "The capacity of the alert notifications queue.", 0, NULL);
        selfmon_set(n->m_queue_cap, NULL, (double)n->cap);
    }
    if (pthread_create(&n->thread, NULL, sender_thread, n) == 0) {
        n->started = true;
        pthread_setname_np(n->thread, "rules-notify");
    }
    return n;
}

int rules_notifier_apply(rules_notifier_t *n, const config_t *cfg, vg_err_t *err) {
    const config_alerting_t *al = &cfg->alerting;
    bool utf8 = strcmp(cfg->global.metric_name_validation_scheme, "legacy") != 0;
    labels_relabel_t *relabel = NULL;
    if (labels_relabel_compile(al->alert_relabel_configs, al->n_alert_relabel_configs, utf8,
                               &relabel, err) != VG_OK)
        return VG_ERR_INPUT;
    am_set_t *sets = vg_calloc(al->n_alertmanagers ? al->n_alertmanagers : 1, sizeof *sets);
    am_target_t *targets = NULL;
    size_t n_targets = 0;
    labels_builder_t *lb = labels_builder_new();
    int rc = VG_OK;
    for (size_t s = 0; s < al->n_alertmanagers && rc == VG_OK; s++) {
        const config_alertmanager_t *am = &al->alertmanagers[s];
        am_set_t *set = &sets[s];
        set->timeout_ms = am->timeout_ms;
        set->http = &am->http;
        rc = labels_relabel_compile(am->alert_relabel_configs, am->n_alert_relabel_configs, utf8,
                                    &set->alert_relabel, err);
        if (rc != VG_OK) break;
        labels_relabel_t *am_relabel = NULL;
        rc = labels_relabel_compile(am->relabel_configs, am->n_relabel_configs, utf8, &am_relabel,
                                    err);
        if (rc != VG_OK) break;
        /* Targets as Prometheus's alertmanager discovery labels them:
         * __address__, __scheme__ and __alerts_path__, relabelled. */
        vg_buf_t path = VG_BUF_INIT;
        const char *prefix = am->path_prefix ? am->path_prefix : "";
        while (*prefix == '/')
            prefix++;
        vg_buf_putc(&path, '/');
        vg_buf_puts(&path, prefix);
        while (path.len > 1 && path.data[path.len - 1] == '/')
            path.data[--path.len] = '\0';
        vg_buf_puts(&path, path.len > 1 ? "/api/v2/alerts" : "api/v2/alerts");
        for (size_t c = 0; c < am->n_static_configs; c++) {
            const config_static_t *sc = &am->static_configs[c];
            for (size_t t = 0; t < sc->n_targets; t++) {
                labels_builder_reset(lb, NULL);
                for (size_t k = 0; k < sc->n_labels; k++)
                    labels_builder_set_s(lb, sc->labels[k].name, sc->labels[k].value);
                labels_builder_set_s(lb, "__address__", sc->targets[t]);
                labels_builder_set_s(lb, "__scheme__", am->scheme ? am->scheme : "http");
                labels_builder_set_s(lb, "__alerts_path__", path.data);
                if (!labels_relabel_apply(am_relabel, lb)) continue;
                size_t al_len;
                const char *addr = labels_builder_get(lb, "__address__", 11, &al_len);
                if (!addr || !al_len) continue;
                vg_buf_t url = VG_BUF_INIT;
                size_t sl, pl;
                const char *sch = labels_builder_get(lb, "__scheme__", 10, &sl);
                const char *ap = labels_builder_get(lb, "__alerts_path__", 15, &pl);
                vg_buf_append(&url, sch ? sch : "http", sch ? sl : 4);
                vg_buf_puts(&url, "://");
                vg_buf_append(&url, addr, al_len);
                if (ap) vg_buf_append(&url, ap, pl);
                targets = vg_realloc(targets, (n_targets + 1) * sizeof *targets);
                targets[n_targets].url = vg_buf_detach(&url);
                targets[n_targets].set = s;
                n_targets++;
            }
        }
        if (am->n_file_sd_configs || am->n_http_sd_configs || am->n_unreachable_sd)
            vg_log_warn("Alertmanager discovery other than static_configs is not supported yet",
                        NULL);
        vg_buf_free(&path);
        labels_relabel_free(am_relabel);
    }
    labels_builder_free(lb);
    if (rc != VG_OK) {
        labels_relabel_free(relabel);
        sets_free(sets, al->n_alertmanagers);
        targets_free(targets, n_targets);
        return rc;
    }
    labels_builder_t *eb = labels_builder_new();
    labels_builder_reset(eb, NULL);
    for (size_t i = 0; i < cfg->global.n_external_labels; i++)
        labels_builder_set_s(eb, cfg->global.external_labels[i].name,
                             cfg->global.external_labels[i].value);
    labels_t *ext = labels_builder_labels(eb);
    labels_builder_free(eb);
    /* The sets point into cfg: keep it for as long as they are used. The
     * reference count is the one field of a snapshot that changes. */
    config_t *keep = config_ref((config_t *)cfg);
    pthread_mutex_lock(&n->lock);
    config_t *old_config = n->config;
    n->config = keep;
    labels_relabel_free(n->relabel);
    sets_free(n->sets, n->n_sets);
    targets_free(n->targets, n->n_targets);
    labels_free(n->external_labels);
    n->relabel = relabel;
    n->sets = sets;
    n->n_sets = al->n_alertmanagers;
    n->targets = targets;
    n->n_targets = n_targets;
    n->external_labels = ext;
    n->config_gen++;
    pthread_mutex_unlock(&n->lock);
    config_unref(old_config);
    return VG_OK;
}

void rules_notifier_set_local(rules_notifier_t *n,
                              void (*fn)(void *ud, const rules_outgoing_alert_t *alerts, size_t n),
                              void *ud) {
    pthread_mutex_lock(&n->lock);
    n->local_fn = fn;
    n->local_ud = ud;
    pthread_mutex_unlock(&n->lock);
}

/* The alert's labels as they leave: external labels added where the alert
 * has none of that name, then alert_relabel_configs (lock held). False
 * when relabeling drops the alert. */
static bool outgoing_labels(rules_notifier_t *n, const rules_alert_t *a, labels_builder_t *lb) {
    labels_builder_reset(lb, a->labels);
    for (size_t e = 0; n->external_labels && e < labels_len(n->external_labels); e++) {
        labels_label_t l = labels_at(n->external_labels, e);
        size_t vl;
        const char *cur = labels_builder_get(lb, l.name, l.name_len, &vl);
        if (!cur || vl == 0) labels_builder_set(lb, l.name, l.name_len, l.value, l.value_len);
    }
    return labels_relabel_apply(n->relabel, lb);
}

/* Hands the alerts to the built-in Alertmanager (no queue: it stores them
 * at once). */
static void send_local(rules_notifier_t *n, const char *gen, rules_alert_t *const *alerts,
                       size_t n_alerts, labels_builder_t *lb) {
    rules_outgoing_alert_t *out = vg_calloc(n_alerts ? n_alerts : 1, sizeof *out);
    labels_t **owned = vg_calloc(n_alerts ? n_alerts : 1, sizeof *owned);
    size_t k = 0;
    pthread_mutex_lock(&n->lock);
    void (*fn)(void *, const rules_outgoing_alert_t *, size_t) = n->local_fn;
    void *ud = n->local_ud;
    for (size_t i = 0; fn && i < n_alerts; i++) {
        const rules_alert_t *a = alerts[i];
        if (!outgoing_labels(n, a, lb)) continue;
        owned[k] = labels_builder_labels(lb);
        out[k] =
            (rules_outgoing_alert_t){.labels = owned[k],
                                     .annotations = a->annotations,
                                     .starts_at_ns = a->fired_at,
                                     .ends_at_ns = a->resolved_at ? a->resolved_at : a->valid_until,
                                     .generator_url = gen};
        k++;
    }
    pthread_mutex_unlock(&n->lock);
    if (fn && k) fn(ud, out, k);
    for (size_t i = 0; i < k; i++)
        labels_free(owned[i]);
    free(owned);
    free(out);
}

void rules_notifier_send(rules_notifier_t *n, const char *expr, rules_alert_t *const *alerts,
                         size_t n_alerts) {
    vg_buf_t gen = VG_BUF_INIT;
    vg_buf_puts(&gen, n->external_url);
    vg_buf_puts(&gen, "/graph?g0.expr=");
    query_escape(&gen, expr);
    vg_buf_puts(&gen, "&g0.tab=1");
    labels_builder_t *lb = labels_builder_new();
    pthread_mutex_lock(&n->lock);
    bool any_am = n->n_targets > 0;
    if (!any_am && n->local_fn) {
        pthread_mutex_unlock(&n->lock);
        send_local(n, gen.data, alerts, n_alerts, lb);
        labels_builder_free(lb);
        vg_buf_free(&gen);
        return;
    }
    for (size_t i = 0; any_am && i < n_alerts; i++) {
        const rules_alert_t *a = alerts[i];
        if (!outgoing_labels(n, a, lb)) continue;
        if (n->len == n->cap) {
            /* Full: the oldest go, as Prometheus's queue drops them. */
            queued_free(&n->q[n->head]);
            n->head = (n->head + 1) % n->cap;
            n->len--;
            if (n->m_dropped) selfmon_add(n->m_dropped, NULL, 1);
        }
        queued_t *q = &n->q[(n->head + n->len) % n->cap];
        q->labels = labels_builder_labels(lb);
        q->annotations = labels_dup(a->annotations);
        q->starts_at = a->fired_at;
        q->ends_at = a->resolved_at ? a->resolved_at : a->valid_until;
        q->generator_url = vg_strdup(gen.data);
        n->len++;
    }
    if (n->m_queue_len) selfmon_set(n->m_queue_len, NULL, (double)n->len);
    pthread_cond_signal(&n->cond);
    pthread_mutex_unlock(&n->lock);
    labels_builder_free(lb);
    vg_buf_free(&gen);
}

size_t rules_notifier_urls(rules_notifier_t *n, char ***out) {
    pthread_mutex_lock(&n->lock);
    size_t k = n->n_targets;
    *out = vg_calloc(k ? k : 1, sizeof **out);
    for (size_t i = 0; i < k; i++)
        (*out)[i] = vg_strdup(n->targets[i].url);
    pthread_mutex_unlock(&n->lock);
    return k;
}

void rules_notifier_free(rules_notifier_t *n) {
    if (!n) return;
    /* Give queued alerts a short time to go out before stopping. */
    for (int i = 0; i < 50; i++) {
        pthread_mutex_lock(&n->lock);
        size_t len = n->len;
        pthread_mutex_unlock(&n->lock);
        if (len == 0) break;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&n->lock);
    n->stop = true;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->lock);
    if (n->started) pthread_join(n->thread, NULL);
    for (size_t i = 0; i < n->len; i++)
        queued_free(&n->q[(n->head + i) % n->cap]);
    free(n->q);
    labels_relabel_free(n->relabel);
    sets_free(n->sets, n->n_sets);
    targets_free(n->targets, n->n_targets);
    labels_free(n->external_labels);
    config_unref(n->config);
    free(n->user_agent);
    free(n->external_url);
    pthread_mutex_destroy(&n->lock);
    pthread_cond_destroy(&n->cond);
    free(n);
}
