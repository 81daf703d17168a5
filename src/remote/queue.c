/* This file implements one remote_write queue: a watcher thread that
 * follows the WAL and spreads samples over shards (by series ref, so each
 * series stays in order), and a sender thread that drives every shard's
 * HTTP request on one curl multi handle: batching by size and deadline,
 * retries with back-off, resharding, metrics, and saving the position the
 * receiver has acknowledged.
 *
 * Acknowledged position: every WAL record read gets a sequence number;
 * queued samples carry it. The oldest sequence still queued or in flight
 * (or being enqueued) bounds what is done: every record before it has all
 * its samples sent (or dropped for good), so the position just past the
 * newest such record is safe to resume from. */
#include "remote_int.h"

#include "httpc/httpc.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHARD_UPDATE_S 10.0 /* Prometheus's shardUpdateDuration */
#define PERSIST_EVERY_S 1.0
#define WATCH_TIMEOUT_MS 200
#define MAX_ERR_BODY 512
#define STOPPED (-1000) /* visitor answer: the queue is stopping (reads return counts >= 0) */

typedef struct staged {
    uint64_t ref;
    remote_sample_t s;
} staged_t;

typedef struct shard {
    remote_sample_t *ring; /* pending samples, FIFO */
    size_t cap, head, len;
    double deadline; /* when a partial batch goes anyway; 0: none */
    remote_sample_t *batch;
    size_t n_batch;
    bool has_batch; /* a batch is being sent or waits for a retry */
    bool busy;      /* its request is on the multi handle */
    bool encoded;
    vg_buf_t body;
    int64_t highest_t;
    double retry_at;
    int64_t backoff_ms;
    int tries;
    double attempt_start;
    CURL *easy;
    struct curl_slist *hdrs;
    vg_buf_t resp;
    char status_text[64];
    char retry_after[64];
    char errbuf[CURL_ERROR_SIZE];
    vg_buf_t setup_err; /* why the last attempt could not be sent at all */
} shard_t;

typedef struct mark {
    uint64_t seq;
    tsdb_wal_pos_t pos;
} mark_t;

struct remote_queue {
    config_t *config;
    const config_remote_write_t *cfg;
    char *name, *key, *pos_path, *hold_name, *user_agent;
    const char *lv[2]; /* metric label values: remote_name, url */
    tsdb_t *db;
    const remote_metrics_t *m;
    labels_relabel_t *relabel;
    int64_t capacity, max_per_send, deadline_ms, min_backoff_ms, max_backoff_ms, timeout_ms,
        sample_age_limit_ms, flush_deadline_ms;
    int min_shards, max_shards;
    bool retry_429;

    /* ---- guarded by lock */
    pthread_mutex_t lock;
    pthread_cond_t space; /* a shard's ring has room again, or stop */
    shard_t *shards;
    int n_shards, want_shards;
    bool resharding;
    atomic_bool stop;
    bool abort, watcher_done, flush_failed;
    double flush_until;
    uint64_t pending;
    uint64_t enqueuing_seq; /* UINT64_MAX when the watcher is not enqueuing */
    mark_t *marks;
    size_t marks_head, marks_len, marks_cap;
    tsdb_wal_pos_t acked;
    bool acked_dirty;
    uint64_t st_in, st_sent, st_failed, st_retried, st_dropped;
    remote_ewma_t data_in, data_out, data_dropped, data_out_dur;
    double highest_recv_s, highest_sent_s;
    double last_send;
    double reshard_disabled_until;
    /* samples and WAL bytes the watcher has read, for the inflow estimate */
    uint64_t read_samples, read_bytes, wal_bytes_seen;

    /* ---- watcher thread only */
    remote_series_map_t series;
    labels_builder_t *builder;
    staged_t *staged;
    size_t n_staged, staged_cap;
    uint64_t rec_in, rec_dropped;
    int64_t rec_highest;
    uint64_t seq;
    tsdb_wal_pos_t last_end;
    tsdb_wal_reader_t *reader;
    bool start_known;
    tsdb_wal_pos_t start;
    uint64_t unknown_logged;

    /* ---- sender thread only */
    CURLM *multi;
    pthread_t watcher_thread, sender_thread;
    bool watcher_started, sender_started;
};

/* ------------------------------------------------------------- metrics */

static void m_add(const remote_queue_t *q, selfmon_family_t *f, double n) {
    if (f && n != 0) selfmon_add(f, q->lv, n);
}

static void m_set(const remote_queue_t *q, selfmon_family_t *f, double v) {
    if (f) selfmon_set(f, q->lv, v);
}

static void m_dropped(const remote_queue_t *q, const char *reason, double n) {
    if (q->m->samples_dropped && n != 0)
        selfmon_add(q->m->samples_dropped, (const char *const[]){q->lv[0], q->lv[1], reason}, n);
}

/* --------------------------------------------------------------- shards */

static void shard_init(remote_queue_t *q, shard_t *sh) {
    memset(sh, 0, sizeof *sh);
    sh->cap = (size_t)q->capacity;
    sh->ring = vg_malloc(sh->cap * sizeof *sh->ring);
    sh->batch = vg_malloc((size_t)q->max_per_send * sizeof *sh->batch);
    sh->backoff_ms = q->min_backoff_ms;
    sh->easy = curl_easy_init();
}

static void shard_free(remote_queue_t *q, shard_t *sh) {
    if (sh->busy) curl_multi_remove_handle(q->multi, sh->easy);
    if (sh->easy) curl_easy_cleanup(sh->easy);
    curl_slist_free_all(sh->hdrs);
    vg_buf_free(&sh->body);
    vg_buf_free(&sh->resp);
    vg_buf_free(&sh->setup_err);
    free(sh->ring);
    free(sh->batch);
}

static void shards_alloc(remote_queue_t *q, int n) {
    q->shards = vg_calloc((size_t)n, sizeof *q->shards);
    q->n_shards = n;
    for (int i = 0; i < n; i++)
        shard_init(q, &q->shards[i]);
    m_set(q, q->m->shards, n);
}

static void shards_free(remote_queue_t *q) {
    for (int i = 0; i < q->n_shards; i++)
        shard_free(q, &q->shards[i]);
    free(q->shards);
    q->shards = NULL;
    q->n_shards = 0;
}

/* The oldest record sequence not yet done; lock held. */
static uint64_t oldest_pending(const remote_queue_t *q) {
    uint64_t oldest = q->enqueuing_seq;
    for (int i = 0; i < q->n_shards; i++) {
        const shard_t *sh = &q->shards[i];
        if (sh->has_batch && sh->n_batch && sh->batch[0].seq < oldest)
            oldest = sh->batch[0].seq;
        else if (sh->len && sh->ring[sh->head].seq < oldest)
            oldest = sh->ring[sh->head].seq;
    }
    return oldest;
}

/* Moves the acknowledged position past every record that is done. */
static void update_acked(remote_queue_t *q) {
    uint64_t oldest = oldest_pending(q);
    while (q->marks_len && q->marks[q->marks_head].seq < oldest) {
        q->acked = q->marks[q->marks_head].pos;
        q->acked_dirty = true;
        q->marks_head = (q->marks_head + 1) % q->marks_cap;
        q->marks_len--;
    }
}

static void push_mark(remote_queue_t *q, uint64_t seq, const tsdb_wal_pos_t *pos) {
    if (q->marks_len == q->marks_cap) {
        size_t cap = q->marks_cap ? q->marks_cap * 2 : 256;
        mark_t *m = vg_malloc(cap * sizeof *m);
        for (size_t i = 0; i < q->marks_len; i++)
            m[i] = q->marks[(q->marks_head + i) % q->marks_cap];
        free(q->marks);
        q->marks = m;
        q->marks_cap = cap;
        q->marks_head = 0;
    }
    q->marks[(q->marks_head + q->marks_len) % q->marks_cap] = (mark_t){seq, *pos};
    q->marks_len++;
}

static void save_position(remote_queue_t *q, const tsdb_wal_pos_t *pos) {
    vg_err_t err;
    if (remote_position_save(q->pos_path, pos, &err) != VG_OK)
        vg_log_warn("Cannot save the remote_write position", "remote_name", q->name, "err", err.msg,
                    NULL);
    tsdb_wal_hold(q->db, q->hold_name, pos->segment);
}

/* -------------------------------------------------------------- watcher */

static labels_t *process(remote_queue_t *q, const labels_label_t *l, size_t n) {
    const config_global_t *g = &q->config->global;
    return remote_series_process(l, n, g->external_labels, g->n_external_labels, q->relabel,
                                 q->builder);
}

static int w_series(void *ud, uint64_t ref, const labels_label_t *l, size_t n) {
    remote_queue_t *q = ud;
    if (!remote_series_map_get(&q->series, ref))
        remote_series_map_put(&q->series, ref, process(q, l, n));
    return 0;
}

static int w_sample(void *ud, uint64_t ref, int64_t t, double v) {
    remote_queue_t *q = ud;
    q->rec_in++;
    if (t > q->rec_highest) q->rec_highest = t;
    if (q->sample_age_limit_ms > 0 && t < vg_time_now_ms() - q->sample_age_limit_ms) {
        q->rec_dropped++;
        m_dropped(q, "too_old", 1);
        return 0;
    }
    const remote_series_entry_t *e = remote_series_map_get(&q->series, ref);
    if (!e) {
        /* A batch that raced another can log a sample before the series
         * record that declares it; the head knows the series already. */
        labels_t *hl = tsdb_series_labels_by_ref(q->db, ref);
        if (hl) {
            size_t n = labels_len(hl);
            labels_label_t *pairs = vg_malloc((n ? n : 1) * sizeof *pairs);
            for (size_t i = 0; i < n; i++)
                pairs[i] = labels_at(hl, i);
            remote_series_map_put(&q->series, ref, process(q, pairs, n));
            free(pairs);
            labels_free(hl);
            e = remote_series_map_get(&q->series, ref);
        }
    }
    if (!e || !e->ls) {
        q->rec_dropped++;
        m_dropped(q, e ? "dropped_series" : "unintentionally_dropped_series", 1);
        if (!e && q->unknown_logged++ < 10) {
            char r[24];
            snprintf(r, sizeof r, "%llu", (unsigned long long)ref);
            vg_log_info("Dropped sample for series that was not explicitly dropped via "
                        "relabelling",
                        "remote_name", q->name, "ref", r, NULL);
        }
        return 0;
    }
    if (q->n_staged == q->staged_cap) {
        q->staged_cap = q->staged_cap ? q->staged_cap * 2 : 1024;
        q->staged = vg_realloc(q->staged, q->staged_cap * sizeof *q->staged);
    }
    q->staged[q->n_staged++] = (staged_t){ref, {e->ls, t, v, q->seq}};
    return 0;
}

/* A record is complete: its samples go to their shards (waiting for room,
 * which is how a slow receiver holds the reader back), then its end
 * position is remembered for acknowledgement. */
static int w_record_end(void *ud, const tsdb_wal_pos_t *next) {
    remote_queue_t *q = ud;
    uint64_t seq = q->seq;
    bool wake = false;
    double deadline_s = (double)q->deadline_ms / 1000.0;
    pthread_mutex_lock(&q->lock);
    q->st_in += q->rec_in;
    q->st_dropped += q->rec_dropped;
    q->read_samples += q->rec_in;
    q->data_in.acc += (double)q->rec_in; /* replaced by the estimate below when there is one */
    if (q->last_end.segment == next->segment && next->offset > q->last_end.offset)
        q->read_bytes += (uint64_t)(next->offset - q->last_end.offset);
    else if (next->offset > 8)
        q->read_bytes += (uint64_t)(next->offset - 8);
    q->last_end = *next;
    q->data_dropped.acc += (double)q->rec_dropped;
    bool new_highest = q->rec_in && (double)(q->rec_highest / 1000) > q->highest_recv_s;
    if (new_highest) q->highest_recv_s = (double)(q->rec_highest / 1000);
    double highest = q->highest_recv_s;
    q->enqueuing_seq = seq;
    for (size_t i = 0; i < q->n_staged; i++) {
        const staged_t *st = &q->staged[i];
        for (;;) {
            if (atomic_load(&q->stop)) {
                pthread_mutex_unlock(&q->lock);
                return STOPPED;
            }
            if (!q->resharding) {
                shard_t *sh = &q->shards[st->ref % (uint64_t)q->n_shards];
                if (sh->len < sh->cap) {
                    sh->ring[(sh->head + sh->len) % sh->cap] = st->s;
                    sh->len++;
                    q->pending++;
                    if (sh->len == 1) {
                        if (sh->deadline == 0) sh->deadline = vg_time_mono() + deadline_s;
                        wake = true;
                    }
                    if (sh->len == (size_t)q->max_per_send || sh->len == sh->cap) wake = true;
                    break;
                }
            }
            m_add(q, q->m->enqueue_retries, 1);
            if (wake) {
                curl_multi_wakeup(q->multi);
                wake = false;
            }
            pthread_cond_wait(&q->space, &q->lock);
        }
    }
    push_mark(q, seq, next);
    q->enqueuing_seq = UINT64_MAX;
    pthread_mutex_unlock(&q->lock);
    q->seq++;
    q->n_staged = 0;
    q->rec_in = q->rec_dropped = 0;
    if (wake) curl_multi_wakeup(q->multi);
    if (new_highest) {
        m_set(q, q->m->queue_highest_timestamp, highest);
        selfmon_family_t *f = q->m->highest_timestamp;
        if (f && selfmon_value(f, NULL) < highest) selfmon_set(f, NULL, highest);
    }
    return 0;
}

static void *watcher_main(void *arg) {
    remote_queue_t *q = arg;
    tsdb_wal_visitor_t v = {w_series, w_sample, w_record_end};
    vg_err_t err = {0};
    bool lost = false;
    int rc = tsdb_wal_reader_open(q->db, q->start_known ? &q->start : NULL, &v, q, &q->reader,
                                  &lost, &err);
    if (rc != VG_OK) {
        vg_log_error("Cannot follow the WAL for remote_write", "remote_name", q->name, "err",
                     err.msg, NULL);
    } else {
        if (lost)
            vg_log_warn("The WAL no longer holds where this remote_write queue stopped; the "
                        "samples in between are not sent",
                        "remote_name", q->name, NULL);
        tsdb_wal_pos_t pos;
        tsdb_wal_reader_pos(q->reader, &pos);
        pthread_mutex_lock(&q->lock);
        q->acked = pos;
        q->acked_dirty = true;
        pthread_mutex_unlock(&q->lock);
        tsdb_wal_hold(q->db, q->hold_name, pos.segment);
        q->last_end = pos;
        char seg[24], off[24];
        snprintf(seg, sizeof seg, "%lld", (long long)pos.segment);
        snprintf(off, sizeof off, "%lld", (long long)pos.offset);
        vg_log_info("Remote write queue follows the WAL", "remote_name", q->name, "url",
                    q->cfg->url, "segment", seg, "offset", off, NULL);
        while (!atomic_load(&q->stop)) {
            rc = tsdb_wal_reader_read(q->reader, &v, q, WATCH_TIMEOUT_MS, &err);
            if (rc == STOPPED) break;
            if (rc < 0) {
                vg_log_error("Reading the WAL for remote_write failed", "remote_name", q->name,
                             "err", err.msg, NULL);
                for (int i = 0; i < 10 && !atomic_load(&q->stop); i++)
                    usleep(100000);
            }
        }
    }
    pthread_mutex_lock(&q->lock);
    q->watcher_done = true;
    pthread_mutex_unlock(&q->lock);
    curl_multi_wakeup(q->multi);
    return NULL;
}

/* ---------------------------------------------------------------- HTTP */

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
    shard_t *sh = ud;
    size_t len = size * n;
    if (sh->resp.len < MAX_ERR_BODY) {
        size_t take = MAX_ERR_BODY - sh->resp.len;
        vg_buf_append(&sh->resp, p, len < take ? len : take);
    }
    return len;
}

static void copy_trimmed(char *dst, size_t cap, const char *s, size_t len) {
    while (len && (s[len - 1] == '\r' || s[len - 1] == '\n' || s[len - 1] == ' '))
        len--;
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    if (len >= cap) len = cap - 1;
    memcpy(dst, s, len);
    dst[len] = 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
    shard_t *sh = ud;
    size_t len = size * n;
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* "HTTP/1.1 400 Bad Request": keep "400 Bad Request", as Go's Status */
        const char *sp = memchr(p, ' ', len);
        if (sp)
            copy_trimmed(sh->status_text, sizeof sh->status_text, sp + 1,
                         len - (size_t)(sp + 1 - p));
        sh->retry_after[0] = 0;
    } else if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        copy_trimmed(sh->retry_after, sizeof sh->retry_after, p + 12, len - 12);
    }
    return len;
}

static struct curl_slist *build_headers(const remote_queue_t *q, int tries) {
    struct curl_slist *h = NULL;
    vg_buf_t b = VG_BUF_INIT;
    h = curl_slist_append(h, "Content-Encoding: snappy");
    h = curl_slist_append(h, "Content-Type: application/x-protobuf");
    vg_buf_printf(&b, "User-Agent: %s", q->user_agent);
    h = curl_slist_append(h, b.data);
    h = curl_slist_append(h, "X-Prometheus-Remote-Write-Version: 0.1.0");
    h = curl_slist_append(h, "Expect:"); /* Go's client never waits for 100-continue */
    if (tries > 0) {
        vg_buf_reset(&b);
        vg_buf_printf(&b, "Retry-Attempt: %d", tries);
        h = curl_slist_append(h, b.data);
    }
    for (size_t i = 0; i < q->cfg->n_headers; i++) {
        vg_buf_reset(&b);
        vg_buf_printf(&b, "%s: %s", q->cfg->headers[i].name, q->cfg->headers[i].value);
        h = curl_slist_append(h, b.data);
    }
    vg_buf_free(&b);
    return h;
}

static void on_done(remote_queue_t *q, shard_t *sh, CURLcode cc);

/* Puts the shard's batch on the wire (its body is encoded). */
static void shard_send(remote_queue_t *q, shard_t *sh) {
    CURL *e = sh->easy;
    curl_easy_reset(e);
    curl_slist_free_all(sh->hdrs);
    sh->hdrs = build_headers(q, sh->tries);
    vg_buf_reset(&sh->resp);
    vg_buf_reset(&sh->setup_err);
    sh->status_text[0] = sh->retry_after[0] = sh->errbuf[0] = 0;
    curl_easy_setopt(e, CURLOPT_URL, q->cfg->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, sh->body.data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)sh->body.len);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)q->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, sh);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, sh);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, sh->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, sh);
    vg_err_t err = {0};
    int rc = httpc_apply(e, &q->cfg->http, &sh->hdrs, &err);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, sh->hdrs);
    sh->busy = true;
    sh->attempt_start = vg_time_mono();
    m_add(q, q->m->samples_total, (double)sh->n_batch);
    if (rc != VG_OK) {
        /* An unreadable secret file fails this attempt before it is sent;
         * like any failed request it is retried after a back-off, so a file
         * that comes back is picked up. */
        vg_buf_puts(&sh->setup_err, err.msg);
        on_done(q, sh, CURLE_FAILED_INIT);
        return;
    }
    curl_multi_add_handle(q->multi, e);
}

static void encode_batch(shard_t *sh) {
    ingest_rw_writer_t w;
    ingest_rw_writer_init(&w);
    sh->highest_t = remote_batch_encode(sh->batch, sh->n_batch, &w);
    vg_buf_reset(&sh->body);
    ingest_rw_writer_finish(&w, &sh->body);
    ingest_rw_writer_free(&w);
    sh->encoded = true;
}

/* What went wrong, worded as Prometheus logs it. */
static void describe(const remote_queue_t *q, const shard_t *sh, CURLcode cc, long status,
                     vg_buf_t *out) {
    if (sh->setup_err.len) {
        httpc_error_detail(NULL, CURLE_OK, sh->setup_err.data, "Post", q->cfg->url, out);
        return;
    }
    if (cc != CURLE_OK) {
        httpc_error_detail(sh->easy, cc, sh->errbuf, "Post", q->cfg->url, out);
        return;
    }
    vg_buf_printf(out,
                  "server returned HTTP status %s: ", sh->status_text[0] ? sh->status_text : "");
    if (!sh->status_text[0]) vg_buf_printf(out, "%ld", status);
    vg_buf_append(out, sh->resp.data ? sh->resp.data : "", sh->resp.len);
    while (out->len && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r'))
        out->data[--out->len] = 0;
}

/* A request finished: success, retry later, or drop. */
static void on_done(remote_queue_t *q, shard_t *sh, CURLcode cc) {
    long status = 0;
    curl_easy_getinfo(sh->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(q->multi, sh->easy);
    double now = vg_time_mono();
    double dur = now - sh->attempt_start;
    if (q->m->sent_batch_duration) selfmon_observe(q->m->sent_batch_duration, q->lv, dur);
    double n = (double)sh->n_batch;
    bool ok = cc == CURLE_OK && status / 100 == 2;
    bool retry = !ok && (cc != CURLE_OK || status / 100 == 5 || (status == 429 && q->retry_429));
    pthread_mutex_lock(&q->lock);
    sh->busy = false;
    if (retry) {
        int64_t ra = remote_retry_after_ms(sh->retry_after, vg_time_now_ms());
        int64_t sleep_ms = remote_backoff_sleep(sh->backoff_ms, ra);
        sh->retry_at = now + (double)sleep_ms / 1000.0;
        sh->backoff_ms = remote_backoff_next(sleep_ms, q->max_backoff_ms);
        sh->tries++;
        q->st_retried += sh->n_batch;
        double until = now + 2.0 * (double)sleep_ms / 1000.0;
        if (until > q->reshard_disabled_until) q->reshard_disabled_until = until;
        if (atomic_load(&q->stop)) q->flush_failed = true;
        int tries = sh->tries;
        pthread_mutex_unlock(&q->lock);
        m_add(q, q->m->samples_retried, n);
        if (tries == 1 || tries % 20 == 0) {
            vg_buf_t msg = VG_BUF_INIT;
            describe(q, sh, cc, status, &msg);
            vg_log_warn("Failed to send batch, retrying", "remote_name", q->name, "url",
                        q->cfg->url, "err", msg.data, NULL);
            vg_buf_free(&msg);
        }
        return;
    }
    q->pending -= sh->n_batch;
    q->data_out.acc += n;
    q->data_out_dur.acc += dur;
    q->last_send = now;
    if (ok) {
        q->st_sent += sh->n_batch;
        if ((double)(sh->highest_t / 1000) > q->highest_sent_s)
            q->highest_sent_s = (double)(sh->highest_t / 1000);
    } else {
        q->st_failed += sh->n_batch;
    }
    double highest_sent = q->highest_sent_s;
    sh->has_batch = false;
    sh->encoded = false;
    sh->n_batch = 0;
    sh->tries = 0;
    sh->backoff_ms = q->min_backoff_ms;
    pthread_mutex_unlock(&q->lock);
    if (ok) {
        m_add(q, q->m->bytes_total, (double)sh->body.len);
        m_set(q, q->m->queue_highest_sent, highest_sent);
    } else {
        m_add(q, q->m->samples_failed, n);
        vg_buf_t msg = VG_BUF_INIT;
        describe(q, sh, cc, status, &msg);
        char count[24];
        snprintf(count, sizeof count, "%.0f", n);
        vg_log_error("non-recoverable error", "remote_name", q->name, "url", q->cfg->url,
                     "failedSampleCount", count, "err", msg.data, NULL);
        vg_buf_free(&msg);
    }
}

/* --------------------------------------------------------------- sender */

/* Every 10 s: tick the rates and decide on the number of shards, as
 * Prometheus's updateShardsLoop does; lock held. */
static void update_shards(remote_queue_t *q, double now) {
    /* How far ingestion has got, from the store itself: the watcher's own
     * view stalls exactly when the queue is behind. */
    int64_t head_max = tsdb_head_max_time(q->db);
    if (head_max != INT64_MIN && (double)(head_max / 1000) > q->highest_recv_s)
        q->highest_recv_s = (double)(head_max / 1000);
    /* Samples in: what the WAL grew by, at the samples per byte the watcher
     * has seen, so the rate does not stall with a watcher held back by a
     * full queue (Prometheus counts appends directly). */
    uint64_t wal_bytes = tsdb_wal_bytes_written(q->db);
    if (wal_bytes > q->wal_bytes_seen && q->read_bytes)
        q->data_in.acc = (double)(wal_bytes - q->wal_bytes_seen) * (double)q->read_samples /
                         (double)q->read_bytes;
    q->wal_bytes_seen = wal_bytes;
    remote_ewma_tick(&q->data_in);
    remote_ewma_tick(&q->data_out);
    remote_ewma_tick(&q->data_dropped);
    remote_ewma_tick(&q->data_out_dur);
    remote_shard_calc_t c = {
        .data_in_rate = q->data_in.rate,
        .data_out_rate = q->data_out.rate,
        .data_dropped_rate = q->data_dropped.rate,
        .data_out_duration_rate = q->data_out_dur.rate,
        .highest_recv_s = q->highest_recv_s,
        .highest_sent_s = q->highest_sent_s,
        .n_shards = q->n_shards,
        .min_shards = q->min_shards,
        .max_shards = q->max_shards,
    };
    double raw;
    int desired = remote_desired_shards(&c, &raw);
    m_set(q, q->m->shards_desired, raw);
    if (vg_log_enabled(VG_LOG_DEBUG)) {
        char t[256];
        snprintf(t, sizeof t,
                 "in=%.1f out=%.1f dropped=%.1f out_duration=%.3f recv=%.0f sent=%.0f raw=%.2f",
                 c.data_in_rate, c.data_out_rate, c.data_dropped_rate, c.data_out_duration_rate,
                 c.highest_recv_s, c.highest_sent_s, raw);
        vg_log_debug("Remote storage shard calculation", "remote_name", q->name, "values", t, NULL);
    }
    if (desired == q->n_shards || q->resharding) return;
    /* Not while sends fail: more shards would not help, and can hurt. */
    if (q->last_send < now - SHARD_UPDATE_S || now < q->reshard_disabled_until) return;
    char from[16], to[16];
    snprintf(from, sizeof from, "%d", q->n_shards);
    snprintf(to, sizeof to, "%d", desired);
    vg_log_info("Remote storage resharding", "remote_name", q->name, "from", from, "to", to, NULL);
    q->want_shards = desired;
    q->resharding = true;
}

static bool all_idle(const remote_queue_t *q) {
    for (int i = 0; i < q->n_shards; i++)
        if (q->shards[i].busy || q->shards[i].has_batch || q->shards[i].len) return false;
    return true;
}

static void *sender_main(void *arg) {
    remote_queue_t *q = arg;
    double next_update = vg_time_mono() + SHARD_UPDATE_S;
    double last_persist = 0;
    uint64_t last_pending = UINT64_MAX;
    shard_t **start = NULL;
    size_t start_cap = 0;
    for (;;) {
        double now = vg_time_mono();
        double wake = now + 1.0;
        size_t n_start = 0;
        pthread_mutex_lock(&q->lock);
        bool stopping = atomic_load(&q->stop);
        if (q->abort) {
            pthread_mutex_unlock(&q->lock);
            break;
        }
        if (stopping && q->watcher_done &&
            (all_idle(q) || now >= q->flush_until || q->flush_failed)) {
            pthread_mutex_unlock(&q->lock);
            break;
        }
        if (!stopping && now >= next_update) {
            update_shards(q, now);
            next_update = now + SHARD_UPDATE_S;
        }
        if (q->resharding && all_idle(q)) {
            shards_free(q);
            shards_alloc(q, q->want_shards);
            q->resharding = false;
            pthread_cond_broadcast(&q->space);
        }
        if ((size_t)q->n_shards > start_cap) {
            start_cap = (size_t)q->n_shards;
            start = vg_realloc(start, start_cap * sizeof *start);
        }
        bool took = false;
        for (int i = 0; i < q->n_shards; i++) {
            shard_t *sh = &q->shards[i];
            if (sh->busy) continue;
            if (sh->has_batch) {
                if (now >= sh->retry_at)
                    start[n_start++] = sh;
                else if (sh->retry_at < wake)
                    wake = sh->retry_at;
                continue;
            }
            if (!sh->len) continue;
            size_t full = (size_t)q->max_per_send < sh->cap ? (size_t)q->max_per_send : sh->cap;
            if (sh->len >= full || now >= sh->deadline || stopping || q->resharding) {
                size_t n = sh->len < (size_t)q->max_per_send ? sh->len : (size_t)q->max_per_send;
                for (size_t k = 0; k < n; k++)
                    sh->batch[k] = sh->ring[(sh->head + k) % sh->cap];
                sh->head = (sh->head + n) % sh->cap;
                sh->len -= n;
                sh->n_batch = n;
                sh->has_batch = true;
                sh->encoded = false;
                sh->deadline = sh->len ? now + (double)q->deadline_ms / 1000.0 : 0;
                start[n_start++] = sh;
                took = true;
            } else if (sh->deadline < wake) {
                wake = sh->deadline;
            }
        }
        if (took) pthread_cond_broadcast(&q->space);
        update_acked(q);
        bool persist = q->acked_dirty && (now - last_persist >= PERSIST_EVERY_S);
        tsdb_wal_pos_t pos = q->acked;
        if (persist) q->acked_dirty = false;
        uint64_t pending = q->pending;
        pthread_mutex_unlock(&q->lock);

        if (pending != last_pending) {
            m_set(q, q->m->samples_pending, (double)pending);
            last_pending = pending;
        }
        for (size_t i = 0; i < n_start; i++) {
            if (!start[i]->encoded) encode_batch(start[i]);
            shard_send(q, start[i]);
        }
        if (persist) {
            save_position(q, &pos);
            last_persist = now;
        }
        int running;
        curl_multi_perform(q->multi, &running);
        CURLMsg *msg;
        int left;
        bool done = false;
        while ((msg = curl_multi_info_read(q->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE) continue;
            shard_t *sh = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&sh);
            if (sh) on_done(q, sh, msg->data.result);
            done = true;
        }
        /* A finished request frees its shard: look for work again at once.
         * Otherwise sleep until a deadline or retry is due; curl_multi_poll
         * also wakes for curl's own timers and sockets, and for the
         * watcher's curl_multi_wakeup. */
        double ms = done ? 0 : (wake - vg_time_mono()) * 1000.0;
        int timeout = ms < 0 ? 0 : ms > 1000 ? 1000 : (int)ms;
        if (done) continue;
        curl_multi_poll(q->multi, NULL, 0, timeout, NULL);
    }
    free(start);
    /* What is still in flight is abandoned: not acknowledged, so it is sent
     * again after the next start. */
    pthread_mutex_lock(&q->lock);
    for (int i = 0; i < q->n_shards; i++)
        if (q->shards[i].busy) {
            curl_multi_remove_handle(q->multi, q->shards[i].easy);
            q->shards[i].busy = false;
        }
    update_acked(q);
    tsdb_wal_pos_t pos = q->acked;
    bool have = q->acked_dirty || last_persist > 0 || q->start_known;
    pthread_mutex_unlock(&q->lock);
    if (have) save_position(q, &pos);
    return NULL;
}

/* ------------------------------------------------------------ lifecycle */

static int64_t or_default(int64_t v, int64_t def) { return v > 0 ? v : def; }

remote_queue_t *remote_queue_start(const remote_queue_options_t *o, vg_err_t *err) {
    const config_remote_write_t *cfg = o->cfg;
    const config_global_t *g = &o->config->global;
    bool utf8 =
        g->metric_name_validation_scheme && strcmp(g->metric_name_validation_scheme, "utf8") == 0;
    labels_relabel_t *relabel = NULL;
    if (labels_relabel_compile(cfg->write_relabel_configs, cfg->n_write_relabel_configs, utf8,
                               &relabel, err) != VG_OK)
        return NULL;
    remote_queue_t *q = vg_calloc(1, sizeof *q);
    q->config = config_ref(o->config);
    q->cfg = cfg;
    q->relabel = relabel;
    q->name = vg_strdup(o->name);
    q->key = vg_strdup(o->key);
    q->user_agent = vg_strdup(o->user_agent ? o->user_agent : "vigil");
    q->lv[0] = q->name;
    q->lv[1] = cfg->url;
    q->db = o->db;
    q->m = o->m;
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_printf(&b, "%s/%s.json", o->dir, o->key);
    q->pos_path = vg_buf_detach(&b);
    vg_buf_printf(&b, "remote_write/%s", o->key);
    q->hold_name = vg_buf_detach(&b);
    const config_queue_t *qc = &cfg->queue_config;
    q->capacity = or_default(qc->capacity, 10000);
    q->max_per_send = or_default(qc->max_samples_per_send, 2000);
    q->deadline_ms = or_default(qc->batch_send_deadline_ms, 5000);
    q->min_backoff_ms = or_default(qc->min_backoff_ms, 30);
    q->max_backoff_ms = or_default(qc->max_backoff_ms, 5000);
    if (q->max_backoff_ms < q->min_backoff_ms) q->max_backoff_ms = q->min_backoff_ms;
    q->min_shards = (int)(qc->min_shards > 0 && qc->min_shards < 100000 ? qc->min_shards : 1);
    q->max_shards = (int)(qc->max_shards > 0 && qc->max_shards < 100000 ? qc->max_shards : 50);
    if (q->max_shards < q->min_shards) q->max_shards = q->min_shards;
    q->retry_429 = qc->retry_on_http_429;
    q->sample_age_limit_ms = qc->sample_age_limit_ms;
    q->timeout_ms = or_default(cfg->remote_timeout_ms, 30000);
    q->flush_deadline_ms = or_default(o->flush_deadline_ms, 60000);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->space, NULL);
    q->enqueuing_seq = UINT64_MAX;
    remote_ewma_t ewma = {.weight = 0.2, .interval_s = SHARD_UPDATE_S};
    q->data_in = q->data_out = q->data_dropped = q->data_out_dur = ewma;
    q->builder = labels_builder_new();
    q->rec_highest = INT64_MIN;
    q->wal_bytes_seen = tsdb_wal_bytes_written(q->db);
    if (remote_position_load(q->pos_path, &q->start) == VG_OK) {
        q->start_known = true;
        q->acked = q->start;
        /* hold before anything can checkpoint the WAL */
        tsdb_wal_hold(q->db, q->hold_name, q->start.segment);
    }
    if (cfg->http.oauth2)
        vg_log_warn("remote_write oauth2 is not supported; requests go without it", "remote_name",
                    q->name, NULL);
    q->multi = curl_multi_init();
    shards_alloc(q, q->min_shards);
    m_set(q, q->m->shards_min, q->min_shards);
    m_set(q, q->m->shards_max, q->max_shards);
    m_set(q, q->m->shards_desired, q->min_shards);
    m_set(q, q->m->shard_capacity, (double)q->capacity);
    m_set(q, q->m->max_samples_per_send, (double)q->max_per_send);
    m_set(q, q->m->samples_pending, 0);
    /* counters exist from the start, at 0, as Prometheus's do */
    if (q->m->samples_total) selfmon_add(q->m->samples_total, q->lv, 0);
    if (q->m->samples_failed) selfmon_add(q->m->samples_failed, q->lv, 0);
    if (q->m->samples_retried) selfmon_add(q->m->samples_retried, q->lv, 0);
    if (q->m->bytes_total) selfmon_add(q->m->bytes_total, q->lv, 0);
    if (q->m->enqueue_retries) selfmon_add(q->m->enqueue_retries, q->lv, 0);
    m_set(q, q->m->queue_highest_sent, 0);
    m_set(q, q->m->queue_highest_timestamp, 0);
    if (pthread_create(&q->sender_thread, NULL, sender_main, q) == 0) q->sender_started = true;
    if (pthread_create(&q->watcher_thread, NULL, watcher_main, q) == 0) q->watcher_started = true;
    if (!q->sender_started || !q->watcher_started) {
        vg_err_set(err, VG_ERR, "cannot start the threads of remote_write queue %s", q->name);
        remote_queue_stop(q, false);
        return NULL;
    }
    return q;
}

void remote_queue_stop(remote_queue_t *q, bool flush) {
    if (!q) return;
    pthread_mutex_lock(&q->lock);
    atomic_store(&q->stop, true);
    if (!flush) q->abort = true;
    /* A receiver that already fails is not waited for: what it has not
     * acknowledged is sent after the next start. */
    for (int i = 0; i < q->n_shards; i++)
        if (q->shards[i].has_batch && q->shards[i].tries > 0) q->flush_failed = true;
    q->flush_until = vg_time_mono() + (double)q->flush_deadline_ms / 1000.0;
    pthread_cond_broadcast(&q->space);
    pthread_mutex_unlock(&q->lock);
    curl_multi_wakeup(q->multi);
    if (q->watcher_started) pthread_join(q->watcher_thread, NULL);
    pthread_mutex_lock(&q->lock);
    q->watcher_done = true;
    pthread_mutex_unlock(&q->lock);
    curl_multi_wakeup(q->multi);
    if (q->sender_started) pthread_join(q->sender_thread, NULL);
    tsdb_wal_reader_free(q->reader);
    remote_series_map_free(&q->series);
    labels_builder_free(q->builder);
    free(q->staged);
    free(q->marks);
    shards_free(q);
    curl_multi_cleanup(q->multi);
    labels_relabel_free(q->relabel);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->space);
    config_unref(q->config);
    free(q->name);
    free(q->key);
    free(q->user_agent);
    free(q->pos_path);
    free(q->hold_name);
    free(q);
}

void remote_queue_stats(remote_queue_t *q, remote_queue_stats_t *out) {
    pthread_mutex_lock(&q->lock);
    out->name = q->name;
    out->samples_in = q->st_in;
    out->samples_sent = q->st_sent;
    out->samples_failed = q->st_failed;
    out->samples_retried = q->st_retried;
    out->samples_dropped = q->st_dropped;
    out->samples_pending = q->pending;
    out->shards = (size_t)q->n_shards;
    out->acked = q->acked;
    pthread_mutex_unlock(&q->lock);
}
