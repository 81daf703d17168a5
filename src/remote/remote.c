/* This file implements the set of remote_write queues: the metric
 * families they share, naming each queue (remote_name, and a stable key
 * for its position file and WAL hold), and applying a configuration —
 * keeping queues whose settings did not change, restarting the others. */
#include "remote_int.h"

#include "httpc/httpc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#define DEFAULT_RETAIN_BYTES (2ull << 30)
#define DEFAULT_RETAIN_AGE_MS (6LL * 3600 * 1000)

typedef struct entry {
    char *key;
    char *fingerprint;
    remote_queue_t *q;
} entry_t;

struct remote {
    tsdb_t *db;
    char *dir;
    char *user_agent;
    int64_t flush_deadline_ms;
    remote_metrics_t m;
    entry_t *queues;
    size_t n_queues;
};

static void metrics_init(remote_metrics_t *m, selfmon_t *s) {
    memset(m, 0, sizeof *m);
    if (!s) return;
    const char *const ln[] = {"remote_name", "url"};
    const char *const lnr[] = {"remote_name", "url", "reason"};
    /* Prometheus's DefBuckets plus the long ones its remote storage adds. */
    static const double buckets[] = {.005, .01, .025, .05, .1, .25, .5, 1,
                                     2.5,  5,   10,   25,  60, 120, 300};
#define C(field, name, help)                                                                       \
    m->field = selfmon_counter(s, "prometheus_remote_storage_" name, help, 2, ln)
#define G(field, name, help)                                                                       \
    m->field = selfmon_gauge(s, "prometheus_remote_storage_" name, help, 2, ln)
    C(samples_total, "samples_total", "Total number of samples sent to remote storage.");
    C(samples_failed, "samples_failed_total",
      "Total number of samples which failed on send to remote storage, non-recoverable errors.");
    C(samples_retried, "samples_retried_total",
      "Total number of samples which failed on send to remote storage but were retried because "
      "the send error was recoverable.");
    m->samples_dropped = selfmon_counter(
        s, "prometheus_remote_storage_samples_dropped_total",
        "Total number of samples which were dropped after being read from the WAL before being "
        "sent via remote write, either via relabelling, due to being too old or unintentionally "
        "because of an unknown reference ID.",
        3, lnr);
    C(enqueue_retries, "enqueue_retries_total",
      "Total number of times enqueue has failed because a shards queue was full.");
    C(bytes_total, "bytes_total",
      "The total number of bytes of data (not metadata) sent by the queue after compression.");
    G(samples_pending, "samples_pending",
      "The number of samples pending in the queues shards to be sent to the remote storage.");
    G(shards, "shards", "The number of shards used for parallel sending to the remote storage.");
    G(shards_desired, "shards_desired",
      "The number of shards that the queues shard calculation wants to run based on the rate of "
      "samples in vs. samples out.");
    G(shards_max, "shards_max", "The maximum number of shards that the queue is allowed to run.");
    G(shards_min, "shards_min", "The minimum number of shards that the queue is allowed to run.");
    G(shard_capacity, "shard_capacity",
      "The capacity of each shard of the queue used for parallel sending to the remote storage.");
    G(max_samples_per_send, "max_samples_per_send",
      "The maximum number of samples to be sent, in a single request, to the remote storage.");
    G(queue_highest_timestamp, "queue_highest_timestamp_seconds",
      "Highest timestamp that was enqueued, in seconds since epoch. Initialized to 0 when no "
      "data has been received yet.");
    G(queue_highest_sent, "queue_highest_sent_timestamp_seconds",
      "Highest timestamp successfully sent by this queue, in seconds since epoch. Initialized to "
      "0 when no data has been sent yet.");
#undef C
#undef G
    m->highest_timestamp = selfmon_gauge(
        s, "prometheus_remote_storage_highest_timestamp_in_seconds",
        "Highest timestamp that has come into the remote storage via the Appender interface, in "
        "seconds since epoch. Initialized to 0 when no data has been received yet.",
        0, NULL);
    selfmon_set(m->highest_timestamp, NULL, 0);
    m->sent_batch_duration =
        selfmon_histogram(s, "prometheus_remote_storage_sent_batch_duration_seconds",
                          "Duration of send calls to the remote storage.", 2, ln, buckets,
                          sizeof buckets / sizeof buckets[0]);
}

remote_t *remote_new(const remote_options_t *o, vg_err_t *err) {
    httpc_global_init();
    if (vg_mkdir_all(o->dir, err) != VG_OK) return NULL;
    remote_t *r = vg_calloc(1, sizeof *r);
    r->db = o->tsdb;
    r->dir = vg_strdup(o->dir);
    r->user_agent = vg_strdup(o->user_agent ? o->user_agent : "vigil");
    r->flush_deadline_ms = o->flush_deadline_ms > 0 ? o->flush_deadline_ms : 60000;
    metrics_init(&r->m, o->selfmon);
    tsdb_wal_hold_limits(
        r->db, o->wal_retain_max_bytes ? o->wal_retain_max_bytes : DEFAULT_RETAIN_BYTES,
        o->wal_retain_max_age_ms > 0 ? o->wal_retain_max_age_ms : DEFAULT_RETAIN_AGE_MS);
    return r;
}

/* ------------------------------------------------------------- naming */

static void put(vg_buf_t *b, const char *s) {
    vg_buf_puts(b, s ? s : "");
    vg_buf_putc(b, '\x1f');
}

static void put_int(vg_buf_t *b, int64_t v) { vg_buf_printf(b, "%lld\x1f", (long long)v); }

static void put_tls(vg_buf_t *b, const config_tls_t *t) {
    put(b, t->ca_file), put(b, t->cert_file), put(b, t->key_file);
    put(b, t->ca), put(b, t->cert), put(b, t->key), put(b, t->server_name);
    put_int(b, t->insecure_skip_verify);
    put(b, t->min_version), put(b, t->max_version);
}

/* Everything that changes how a queue behaves, as one string: equal
 * strings mean the running queue can stay. */
static char *fingerprint(const config_remote_write_t *rw, const config_t *cfg) {
    vg_buf_t b = VG_BUF_INIT;
    put(&b, rw->url), put(&b, rw->name), put_int(&b, rw->remote_timeout_ms);
    for (size_t i = 0; i < rw->n_headers; i++)
        put(&b, rw->headers[i].name), put(&b, rw->headers[i].value);
    vg_buf_putc(&b, '\x1e');
    for (size_t i = 0; i < rw->n_write_relabel_configs; i++) {
        const config_relabel_t *r = &rw->write_relabel_configs[i];
        for (size_t k = 0; k < r->n_source_labels; k++)
            put(&b, r->source_labels[k]);
        put(&b, r->separator), put(&b, r->regex), put_int(&b, (int64_t)r->modulus);
        put(&b, r->target_label), put(&b, r->replacement), put_int(&b, r->action);
        vg_buf_putc(&b, '\x1e');
    }
    const config_queue_t *q = &rw->queue_config;
    put_int(&b, q->capacity), put_int(&b, q->max_shards), put_int(&b, q->min_shards);
    put_int(&b, q->max_samples_per_send), put_int(&b, q->batch_send_deadline_ms);
    put_int(&b, q->min_backoff_ms), put_int(&b, q->max_backoff_ms);
    put_int(&b, q->retry_on_http_429), put_int(&b, q->sample_age_limit_ms);
    const config_http_client_t *h = &rw->http;
    if (h->basic_auth) {
        put(&b, h->basic_auth->username), put(&b, h->basic_auth->username_file);
        put(&b, h->basic_auth->password), put(&b, h->basic_auth->password_file);
    }
    vg_buf_putc(&b, '\x1e');
    if (h->authorization) {
        put(&b, h->authorization->type), put(&b, h->authorization->credentials);
        put(&b, h->authorization->credentials_file);
    }
    vg_buf_putc(&b, '\x1e');
    put_tls(&b, &h->tls_config);
    put(&b, h->proxy_url), put(&b, h->no_proxy), put_int(&b, h->proxy_from_environment);
    put_int(&b, h->follow_redirects), put_int(&b, h->enable_http2), put_int(&b, h->oauth2 != NULL);
    const config_global_t *g = &cfg->global;
    for (size_t i = 0; i < g->n_external_labels; i++)
        put(&b, g->external_labels[i].name), put(&b, g->external_labels[i].value);
    put(&b, g->metric_name_validation_scheme);
    return vg_buf_detach(&b);
}

/* Position file and hold id: the entry's name when it has one (made safe
 * for a file name), else a hash of its URL, so it survives other edits. */
static char *make_key(const config_remote_write_t *rw) {
    vg_buf_t b = VG_BUF_INIT;
    if (rw->name && *rw->name) {
        vg_buf_puts(&b, "name-");
        for (const char *p = rw->name; *p && b.len < 100; p++) {
            char c = *p;
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
            vg_buf_putc(&b, ok ? c : '_');
        }
        /* names that differ only in unsafe characters stay apart */
        vg_buf_printf(&b, "-%08x", (unsigned)XXH32(rw->name, strlen(rw->name), 0));
    } else {
        vg_buf_printf(&b, "url-%016llx",
                      (unsigned long long)XXH64(rw->url, strlen(rw->url ? rw->url : ""), 0));
    }
    return vg_buf_detach(&b);
}

/* remote_name: the entry's name, or (as Prometheus does, from a hash) six
 * hex digits — of the URL here, so the metrics keep their labels when
 * other settings change. */
static char *make_name(const config_remote_write_t *rw) {
    if (rw->name && *rw->name) return vg_strdup(rw->name);
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_printf(&b, "%06llx",
                  (unsigned long long)(XXH64(rw->url, strlen(rw->url), 0) & 0xffffff));
    return vg_buf_detach(&b);
}

static void entry_free(entry_t *e) {
    free(e->key);
    free(e->fingerprint);
}

int remote_apply(remote_t *r, const config_t *cfg, vg_err_t *err) {
    int rc = VG_OK;
    entry_t *next = vg_calloc(cfg->n_remote_write ? cfg->n_remote_write : 1, sizeof *next);
    size_t n_next = 0;
    for (size_t i = 0; i < cfg->n_remote_write; i++) {
        const config_remote_write_t *rw = &cfg->remote_write[i];
        if (!rw->url || !*rw->url) continue;
        char *key = make_key(rw);
        bool dup = false;
        for (size_t k = 0; k < n_next; k++)
            dup |= strcmp(next[k].key, key) == 0;
        if (dup) {
            vg_log_warn("Duplicate remote_write entry ignored", "url", rw->url, NULL);
            free(key);
            continue;
        }
        char *fp = fingerprint(rw, cfg);
        entry_t *old = NULL;
        for (size_t k = 0; k < r->n_queues && !old; k++)
            if (r->queues[k].q && strcmp(r->queues[k].key, key) == 0) old = &r->queues[k];
        if (old && strcmp(old->fingerprint, fp) == 0) {
            next[n_next++] = *old; /* unchanged: keeps running */
            old->q = NULL;
            old->key = old->fingerprint = NULL;
            free(key);
            free(fp);
            continue;
        }
        if (old) { /* changed: stop first so the new queue resumes where it ended */
            remote_queue_stop(old->q, false);
            old->q = NULL;
        }
        char *name = make_name(rw);
        remote_queue_options_t qo = {.config = (config_t *)cfg,
                                     .cfg = rw,
                                     .name = name,
                                     .key = key,
                                     .db = r->db,
                                     .m = &r->m,
                                     .dir = r->dir,
                                     .user_agent = r->user_agent,
                                     .flush_deadline_ms = r->flush_deadline_ms};
        vg_err_t qerr = {0};
        remote_queue_t *q = remote_queue_start(&qo, &qerr);
        free(name);
        if (!q) {
            if (rc == VG_OK)
                rc = vg_err_set(err, VG_ERR_INPUT, "remote_write %s: %s", rw->url, qerr.msg);
            free(key);
            free(fp);
            continue;
        }
        next[n_next++] = (entry_t){key, fp, q};
    }
    /* Queues no longer configured: stop, let their WAL go, forget them. */
    for (size_t k = 0; k < r->n_queues; k++) {
        entry_t *e = &r->queues[k];
        if (e->key) {
            bool kept = false;
            for (size_t j = 0; j < n_next; j++)
                kept |= strcmp(next[j].key, e->key) == 0;
            if (e->q) remote_queue_stop(e->q, false);
            if (!kept) {
                vg_buf_t path = VG_BUF_INIT;
                vg_buf_printf(&path, "%s/%s.json", r->dir, e->key);
                unlink(path.data);
                vg_buf_reset(&path);
                vg_buf_printf(&path, "remote_write/%s", e->key);
                tsdb_wal_release(r->db, path.data);
                vg_buf_free(&path);
            }
        }
        entry_free(e);
    }
    free(r->queues);
    r->queues = next;
    r->n_queues = n_next;
    return rc;
}

void remote_free(remote_t *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_queues; i++) {
        remote_queue_stop(r->queues[i].q, true);
        entry_free(&r->queues[i]);
    }
    free(r->queues);
    free(r->dir);
    free(r->user_agent);
    free(r);
}

size_t remote_stats(remote_t *r, remote_queue_stats_t *out, size_t max) {
    for (size_t i = 0; i < r->n_queues && i < max; i++)
        remote_queue_stats(r->queues[i].q, &out[i]);
    return r->n_queues;
}
