/* This file implements opening and closing the store, WAL replay into the
 * head, appenders and their commit, deletion, and the background thread
 * that fsyncs the WAL and enforces retention. */
#include "tsdb_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_RETENTION_MS (30LL * 24 * 3600 * 1000)
/* A samples record holds at most this many samples, to stay far below the
 * WAL's record size limit. */
#define SAMPLES_PER_RECORD 100000

typedef struct pending_sample {
    head_series_t *s;
    int64_t t;
    double v;
} pending_sample_t;

struct tsdb_appender {
    tsdb_t *db;
    uint64_t batch;
    pending_sample_t *samples;
    size_t n, cap;
    vg_buf_t wal;
};

static int64_t retention_cutoff(tsdb_t *db) { return vg_time_now_ms() - db->opts.retention_ms; }

/* ------------------------------------------------------------- metrics */

static void metrics_init(tsdb_t *db) {
    selfmon_t *m = db->opts.selfmon;
    if (!m) return;
    db->m_appended = selfmon_counter(m, "vigil_tsdb_head_samples_appended_total",
                                     "Samples appended to the head.", 0, NULL);
    db->m_ooo =
        selfmon_counter(m, "vigil_tsdb_out_of_order_samples_total",
                        "Samples refused for being older than their series' newest.", 0, NULL);
    db->m_dup =
        selfmon_counter(m, "vigil_tsdb_duplicate_samples_total",
                        "Samples refused for repeating a timestamp with another value.", 0, NULL);
    db->m_too_old = selfmon_counter(m, "vigil_tsdb_too_old_samples_total",
                                    "Samples refused for being older than the retention.", 0, NULL);
    db->m_series_limit = selfmon_counter(m, "vigil_tsdb_series_limit_refusals_total",
                                         "Samples refused because a new series would exceed "
                                         "the series limit.",
                                         0, NULL);
    db->m_wal_fail = selfmon_counter(m, "vigil_tsdb_wal_write_failures_total",
                                     "Batches refused because the WAL write failed.", 0, NULL);
    db->m_series_created = selfmon_counter(m, "vigil_tsdb_head_series_created_total",
                                           "Series created in the head.", 0, NULL);
    db->m_head_series = selfmon_gauge(m, "vigil_tsdb_head_series", "Series in the head.", 0, NULL);
    db->m_wal_corrupt = selfmon_counter(m, "vigil_tsdb_wal_corruptions_total",
                                        "WAL records skipped at replay for a bad checksum or "
                                        "payload.",
                                        0, NULL);
}

static void count(selfmon_family_t *f, double n) {
    if (f && n) selfmon_add(f, NULL, n);
}

/* -------------------------------------------------------------- replay */

typedef struct replay_state {
    tsdb_t *db;
    uint64_t samples, dropped, series, chunks;
} replay_state_t;

static int replay_series(void *ud, uint64_t ref, const wal_label_t *wl, size_t n) {
    replay_state_t *r = ud;
    if (head_series_by_ref(r->db, ref)) return 0; /* declared again: fine */
    labels_label_t pairs[1024];
    for (size_t i = 0; i < n && i < 1024; i++) {
        pairs[i].name = wl[i].name;
        pairs[i].name_len = wl[i].name_len;
        pairs[i].value = wl[i].value;
        pairs[i].value_len = wl[i].value_len;
    }
    labels_t *ls;
    if (labels_from_pairs(pairs, n, &ls, NULL) != VG_OK) return 0;
    bool created;
    head_get_or_create(r->db, ls, labels_hash(ls), ref, &created, NULL);
    labels_free(ls);
    r->series += created;
    return 0;
}

static int replay_sample(void *ud, uint64_t ref, int64_t t, double v) {
    replay_state_t *r = ud;
    head_series_t *s = head_series_by_ref(r->db, ref);
    if (!s) {
        r->dropped++;
        return 0;
    }
    head_stripe_t *st = head_stripe_of(r->db, s->hash);
    pthread_mutex_lock(&st->lock);
    int rc = head_series_append(s, t, v);
    pthread_mutex_unlock(&st->lock);
    if (rc == VG_OK) {
        r->samples++;
        head_update_time_range(r->db, t);
    } else {
        r->dropped++;
    }
    return 0;
}

static int delete_series_range(tsdb_t *db, head_series_t *s, int64_t mint, int64_t maxt);

static int replay_tombstone(void *ud, uint64_t ref, int64_t mint, int64_t maxt) {
    replay_state_t *r = ud;
    head_series_t *s = head_series_by_ref(r->db, ref);
    if (s) delete_series_range(r->db, s, mint, maxt);
    return 0;
}

static int replay_chunk(void *ud, uint64_t ref, int64_t mint, int64_t maxt, uint32_t n,
                        const uint8_t *bytes, size_t len) {
    replay_state_t *r = ud;
    head_series_t *s = head_series_by_ref(r->db, ref);
    if (!s || n > TSDB_CHUNK_MAX_SAMPLES || mint > maxt) {
        r->dropped += n;
        return 0;
    }
    head_stripe_t *st = head_stripe_of(r->db, s->hash);
    pthread_mutex_lock(&st->lock);
    head_series_add_chunk(s, mint, maxt, (uint16_t)n, bytes, len);
    pthread_mutex_unlock(&st->lock);
    head_update_time_range(r->db, mint);
    head_update_time_range(r->db, maxt);
    r->samples += n;
    r->chunks++;
    return 0;
}

/* ------------------------------------------------------- checkpointing */

/* Writes every series and its chunks as checkpoint records into b. */
void head_encode_checkpoint(tsdb_t *db, vg_buf_t *b) {
    for (size_t i = 0; i < HEAD_STRIPES; i++) {
        head_stripe_t *st = &db->stripes[i];
        pthread_mutex_lock(&st->lock);
        for (size_t k = 0; k < st->n_buckets; k++)
            for (head_series_t *s = st->buckets[k]; s; s = s->hash_next) {
                size_t off = wal_rec_begin(b, WAL_REC_SERIES);
                head_encode_series(db, s, b);
                wal_rec_end(b, off);
                uint32_t n = s->n_chunks + (s->open.len > 0);
                if (n == 0) continue;
                off = wal_rec_begin(b, WAL_REC_CHUNKS);
                wal_put_uvarint(b, s->ref);
                wal_put_uvarint(b, n);
                for (uint32_t c = 0; c < s->n_chunks; c++) {
                    const head_chunk_t *ch = s->chunks[c];
                    wal_put_varint(b, ch->mint);
                    wal_put_varint(b, ch->maxt);
                    wal_put_uvarint(b, ch->n);
                    wal_put_bytes(b, ch->data, ch->len);
                }
                if (s->open.len > 0) {
                    wal_put_varint(b, s->open_mint);
                    wal_put_varint(b, s->app.t);
                    wal_put_uvarint(b, tsdb_chunk_app_n_samples(&s->app));
                    wal_put_bytes(b, s->open.data, s->open.len);
                }
                wal_rec_end(b, off);
            }
        pthread_mutex_unlock(&st->lock);
    }
}

/* Replaces the WAL so far by a checkpoint of the head. */
static int checkpoint(tsdb_t *db, vg_err_t *err) {
    int closed;
    pthread_rwlock_wrlock(&db->commit_lock);
    int rc = wal_cut(db->wal, &closed, err);
    pthread_rwlock_unlock(&db->commit_lock);
    if (rc != VG_OK) return rc;
    vg_buf_t b = VG_BUF_INIT;
    head_encode_checkpoint(db, &b);
    rc = wal_checkpoint(db->wal, closed, b.data ? b.data : "", b.len, err);
    vg_buf_free(&b);
    return rc;
}

/* ----------------------------------------------------------- background */

static void *background(void *arg) {
    tsdb_t *db = arg;
    /* the first maintenance round comes a minute after start */
    int64_t last_retention = vg_time_now_ms();
    pthread_mutex_lock(&db->bg_lock);
    while (!db->bg_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = (int64_t)ts.tv_nsec + db->opts.wal_fsync_interval_ms * 1000000;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&db->bg_cond, &db->bg_lock, &ts);
        if (db->bg_stop) break;
        pthread_mutex_unlock(&db->bg_lock);
        vg_err_t err;
        if (wal_sync(db->wal, &err) != VG_OK)
            vg_log_error("WAL fsync failed", "err", err.msg, NULL);
        int64_t now = vg_time_now_ms();
        if (now - last_retention > 60000) {
            last_retention = now;
            tsdb_maintain(db);
        }
        if (db->m_head_series)
            selfmon_set(db->m_head_series, NULL, (double)atomic_load(&db->n_series));
        pthread_mutex_lock(&db->bg_lock);
    }
    pthread_mutex_unlock(&db->bg_lock);
    return NULL;
}

/* ---------------------------------------------------------- open/close */

tsdb_t *tsdb_open(const tsdb_options_t *opts, vg_err_t *err) {
    if (vg_mkdir_all(opts->dir, err) != VG_OK) return NULL;
    tsdb_t *db = vg_calloc(1, sizeof *db);
    db->opts = *opts;
    if (db->opts.retention_ms <= 0) db->opts.retention_ms = DEFAULT_RETENTION_MS;
    if (db->opts.wal_fsync_interval_ms <= 0) db->opts.wal_fsync_interval_ms = 1000;
    db->dir = vg_strdup(opts->dir);
    db->opts.dir = db->dir;
    db->symtab = labels_symtab_new();
    /* flock, unlike a pid file, is released by the kernel when the process
     * dies, so a restart after kill -9 never finds a stale lock. */
    vg_buf_t lock_path = VG_BUF_INIT;
    vg_buf_printf(&lock_path, "%s/lock", db->dir);
    db->lock_fd = open(lock_path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (db->lock_fd < 0 || flock(db->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        vg_err_set(err, VG_ERR_IO, "lock %s: %s", lock_path.data,
                   errno == EWOULDBLOCK ? "the directory is used by another vigil process"
                                        : strerror(errno));
        vg_buf_free(&lock_path);
        if (db->lock_fd >= 0) close(db->lock_fd);
        labels_symtab_free(db->symtab);
        free(db->dir);
        free(db);
        return NULL;
    }
    vg_buf_free(&lock_path);
    pthread_rwlock_init(&db->commit_lock, NULL);
    pthread_rwlock_init(&db->blocks_lock, NULL);
    pthread_mutex_init(&db->maint_lock, NULL);
    pthread_mutex_init(&db->bg_lock, NULL);
    pthread_cond_init(&db->bg_cond, NULL);
    head_init(db);
    metrics_init(db);
    vg_buf_t blocks_dir = VG_BUF_INIT;
    vg_buf_printf(&blocks_dir, "%s/blocks", db->dir);
    db->blocks_dir = vg_buf_detach(&blocks_dir);
    if (blocks_load(db, err) != VG_OK) {
        tsdb_close(db);
        return NULL;
    }
    vg_buf_t wal_dir = VG_BUF_INIT;
    vg_buf_printf(&wal_dir, "%s/wal", db->dir);
    db->wal = wal_open(wal_dir.data, err);
    vg_buf_free(&wal_dir);
    if (!db->wal) {
        tsdb_close(db);
        return NULL;
    }
    double start = vg_time_mono();
    replay_state_t r = {.db = db};
    wal_replay_cb_t cb = {replay_series, replay_sample, replay_tombstone, replay_chunk};
    db->replaying = true;
    int rc = wal_replay(db->wal, &cb, &r, err);
    db->replaying = false;
    if (rc != VG_OK) {
        tsdb_close(db);
        return NULL;
    }
    wal_stats_t ws;
    wal_get_stats(db->wal, &ws);
    count(db->m_wal_corrupt, (double)ws.corruptions);
    char series[32], samples[32], dropped[32], secs[32], corrupt[32];
    snprintf(series, sizeof series, "%llu", (unsigned long long)r.series);
    snprintf(samples, sizeof samples, "%llu", (unsigned long long)r.samples);
    snprintf(dropped, sizeof dropped, "%llu", (unsigned long long)r.dropped);
    snprintf(corrupt, sizeof corrupt, "%llu", (unsigned long long)ws.corruptions);
    snprintf(secs, sizeof secs, "%.3fs", vg_time_mono() - start);
    vg_log_info("WAL replay completed", "series", series, "samples", samples, "dropped", dropped,
                "corrupt_records", corrupt, "duration", secs, NULL);
    if (pthread_create(&db->bg_thread, NULL, background, db) == 0) db->bg_started = true;
    return db;
}

void tsdb_close(tsdb_t *db) {
    if (!db) return;
    if (db->bg_started) {
        pthread_mutex_lock(&db->bg_lock);
        db->bg_stop = true;
        pthread_cond_signal(&db->bg_cond);
        pthread_mutex_unlock(&db->bg_lock);
        pthread_join(db->bg_thread, NULL);
    }
    if (db->wal) {
        vg_err_t err;
        double start = vg_time_mono();
        if (checkpoint(db, &err) != VG_OK) {
            /* The WAL is intact, so nothing is lost: the next start replays it. */
            vg_log_error("Could not checkpoint the head at shutdown", "err", err.msg, NULL);
        } else {
            char secs[32];
            snprintf(secs, sizeof secs, "%.3fs", vg_time_mono() - start);
            vg_log_info("Head checkpointed", "duration", secs, NULL);
        }
        wal_close(db->wal);
    }
    head_free(db);
    blocks_close_all(db);
    free(db->blocks_dir);
    if (db->symtab) labels_symtab_free(db->symtab);
    pthread_rwlock_destroy(&db->commit_lock);
    pthread_rwlock_destroy(&db->blocks_lock);
    pthread_mutex_destroy(&db->maint_lock);
    pthread_mutex_destroy(&db->bg_lock);
    pthread_cond_destroy(&db->bg_cond);
    if (db->lock_fd >= 0) close(db->lock_fd);
    free(db->dir);
    free(db);
}

/* ----------------------------------------------------------- appending */

tsdb_appender_t *tsdb_appender_new(tsdb_t *db) {
    tsdb_appender_t *a = vg_calloc(1, sizeof *a);
    a->db = db;
    a->batch = atomic_fetch_add(&db->batch_seq, 1) + 1;
    return a;
}

void tsdb_appender_free(tsdb_appender_t *a) {
    if (!a) return;
    tsdb_appender_rollback(a);
    free(a->samples);
    vg_buf_free(&a->wal);
    free(a);
}

size_t tsdb_appender_pending(const tsdb_appender_t *a) { return a->n; }

static int queue(tsdb_appender_t *a, head_series_t *s, int64_t t, double v, vg_err_t *err) {
    tsdb_t *db = a->db;
    if (t < retention_cutoff(db)) {
        count(db->m_too_old, 1);
        return vg_err_set(err, TSDB_ERR_TOO_OLD, "out of bounds");
    }
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    head_stripe_t *st = head_stripe_of(db, s->hash);
    pthread_mutex_lock(&st->lock);
    if (s->dead) { /* collected since the caller found it: look it up again */
        pthread_mutex_unlock(&st->lock);
        return VG_ERR_NOTFOUND;
    }
    int64_t last_t = s->last_t;
    bool has_last = s->has_last;
    uint64_t last_bits = s->last_v_bits;
    if (s->pending_batch == a->batch && (!has_last || s->pending_t > last_t)) {
        last_t = s->pending_t; /* this batch already queued a newer sample */
        has_last = true;
        last_bits = bits + 1; /* in-batch repeats are not "exact repeats" of stored data */
        for (size_t i = a->n; i-- > 0;)
            if (a->samples[i].s == s) {
                memcpy(&last_bits, &a->samples[i].v, sizeof last_bits);
                break;
            }
    }
    int rc = VG_OK;
    if (has_last && t <= last_t) {
        if (t == last_t && bits == last_bits)
            rc = 1; /* exact repeat: accepted, stored once */
        else
            rc = t == last_t ? TSDB_ERR_DUPLICATE : TSDB_ERR_OUT_OF_ORDER;
    } else {
        s->pending_batch = a->batch;
        s->pending_t = t;
        s->pending++;
    }
    pthread_mutex_unlock(&st->lock);
    if (rc == 1) return VG_OK;
    if (rc == TSDB_ERR_DUPLICATE) {
        count(db->m_dup, 1);
        return vg_err_set(err, rc, "duplicate sample for timestamp");
    }
    if (rc == TSDB_ERR_OUT_OF_ORDER) {
        count(db->m_ooo, 1);
        return vg_err_set(err, rc, "out of order sample");
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 256;
        a->samples = vg_realloc(a->samples, a->cap * sizeof *a->samples);
    }
    a->samples[a->n++] = (pending_sample_t){s, t, v};
    return VG_OK;
}

int tsdb_appender_add(tsdb_appender_t *a, const labels_t *ls, uint64_t *ref, int64_t t, double v,
                      vg_err_t *err) {
    tsdb_t *db = a->db;
    head_series_t *s = ref && *ref ? head_series_by_ref(db, *ref) : NULL;
    if (s) {
        int rc = queue(a, s, t, v, err);
        if (rc != VG_ERR_NOTFOUND) return rc;
        s = NULL; /* garbage-collected meanwhile: by labels, as a new series */
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        if (labels_len(ls) == 0) return vg_err_set(err, TSDB_ERR_LABELS, "empty label set");
        if (labels_check_limits(ls, &db->opts.limits, err) != VG_OK) return TSDB_ERR_LABELS;
        bool created;
        s = head_get_or_create(db, ls, labels_hash(ls), 0, &created, err);
        if (!s) {
            count(db->m_series_limit, 1);
            return TSDB_ERR_SERIES_LIMIT;
        }
        if (created) count(db->m_series_created, 1);
        if (ref) *ref = s->ref;
        int rc = queue(a, s, t, v, err);
        if (rc != VG_ERR_NOTFOUND) return rc;
    }
    return vg_err_set(err, VG_ERR, "series kept disappearing while appending");
}

int tsdb_appender_add_ref(tsdb_appender_t *a, uint64_t ref, int64_t t, double v, vg_err_t *err) {
    head_series_t *s = head_series_by_ref(a->db, ref);
    if (!s) return vg_err_set(err, VG_ERR_NOTFOUND, "unknown series reference");
    return queue(a, s, t, v, err);
}

/* Empties the appender for the next batch. */
static void appender_reset(tsdb_appender_t *a) {
    a->n = 0;
    vg_buf_reset(&a->wal);
    a->batch = atomic_fetch_add(&a->db->batch_seq, 1) + 1;
}

void tsdb_appender_rollback(tsdb_appender_t *a) {
    for (size_t i = 0; i < a->n; i++) {
        head_series_t *s = a->samples[i].s;
        head_stripe_t *st = head_stripe_of(a->db, s->hash);
        pthread_mutex_lock(&st->lock);
        s->pending--;
        pthread_mutex_unlock(&st->lock);
    }
    appender_reset(a);
}

int tsdb_appender_commit(tsdb_appender_t *a, vg_err_t *err) {
    tsdb_t *db = a->db;
    if (a->n == 0) {
        appender_reset(a);
        return VG_OK;
    }
    /* Series records first, for every series the WAL does not know yet; a
     * series declared twice by two racing batches is harmless. */
    vg_buf_t *b = &a->wal;
    vg_buf_reset(b);
    size_t off = 0;
    bool open = false;
    for (size_t i = 0; i < a->n; i++) {
        head_series_t *s = a->samples[i].s;
        if (atomic_load(&s->logged)) continue;
        if (!open) {
            off = wal_rec_begin(b, WAL_REC_SERIES);
            open = true;
        }
        head_encode_series(db, s, b);
        atomic_store(&s->logged, true); /* undone below if the write fails */
    }
    if (open) wal_rec_end(b, off);
    for (size_t start = 0; start < a->n; start += SAMPLES_PER_RECORD) {
        size_t end = start + SAMPLES_PER_RECORD < a->n ? start + SAMPLES_PER_RECORD : a->n;
        off = wal_rec_begin(b, WAL_REC_SAMPLES);
        uint64_t base_ref = a->samples[start].s->ref;
        int64_t base_t = a->samples[start].t;
        wal_put_uvarint(b, base_ref);
        wal_put_varint(b, base_t);
        for (size_t i = start; i < end; i++) {
            wal_put_varint(b, (int64_t)(a->samples[i].s->ref - base_ref));
            wal_put_varint(b, a->samples[i].t - base_t);
            wal_put_f64(b, a->samples[i].v);
        }
        wal_rec_end(b, off);
    }
    pthread_rwlock_rdlock(&db->commit_lock);
    int rc = wal_write(db->wal, b->data, b->len, err);
    if (rc != VG_OK) {
        pthread_rwlock_unlock(&db->commit_lock);
        /* These series records did not make it: log them with a later batch. */
        for (size_t i = 0; i < a->n; i++)
            atomic_store(&a->samples[i].s->logged, false);
        count(db->m_wal_fail, 1);
        tsdb_appender_rollback(a);
        return rc;
    }
    size_t appended = 0;
    for (size_t i = 0; i < a->n; i++) {
        pending_sample_t *p = &a->samples[i];
        head_stripe_t *st = head_stripe_of(db, p->s->hash);
        pthread_mutex_lock(&st->lock);
        int arc = head_series_append(p->s, p->t, p->v);
        p->s->pending--;
        pthread_mutex_unlock(&st->lock);
        if (arc == VG_OK) {
            appended++;
            head_update_time_range(db, p->t);
        } else {
            count(arc == TSDB_ERR_DUPLICATE ? db->m_dup : db->m_ooo, 1);
        }
    }
    pthread_rwlock_unlock(&db->commit_lock);
    count(db->m_appended, (double)appended);
    appender_reset(a);
    return VG_OK;
}

/* ------------------------------------------------------------ deletion */

/* Rewrites the series' chunks without the samples in [mint, maxt]. */
static int delete_series_range(tsdb_t *db, head_series_t *s, int64_t mint, int64_t maxt) {
    head_stripe_t *st = head_stripe_of(db, s->hash);
    pthread_mutex_lock(&st->lock);
    uint32_t n_old = s->n_chunks;
    head_chunk_t **old = s->chunks;
    vg_buf_t open = s->open;
    int64_t open_mint = s->open_mint;
    size_t open_n = open.len ? tsdb_chunk_app_n_samples(&s->app) : 0;
    (void)open_mint;
    (void)open_n;
    s->chunks = NULL;
    s->n_chunks = s->cap_chunks = 0;
    memset(&s->open, 0, sizeof s->open);
    s->app.buf = &s->open;
    bool had_last = s->has_last;
    int64_t last_t = s->last_t;
    s->has_last = false;
    for (uint32_t c = 0; c <= n_old; c++) {
        const uint8_t *data;
        size_t len;
        if (c < n_old) {
            data = old[c]->data;
            len = old[c]->len;
        } else {
            if (!open.len) break;
            data = (const uint8_t *)open.data;
            len = open.len;
        }
        tsdb_chunk_iter_t it;
        if (tsdb_chunk_iter_init(&it, data, len, NULL) != VG_OK) continue;
        while (tsdb_chunk_iter_next(&it, NULL) == 1) {
            if (it.t >= mint && it.t <= maxt) continue;
            head_series_append(s, it.t, tsdb_chunk_iter_v_at(&it));
        }
    }
    /* Ingestion keeps refusing samples older than the newest one seen, as
     * Prometheus does after a deletion. */
    if (had_last && (!s->has_last || s->last_t < last_t)) {
        s->last_t = last_t;
        s->has_last = true;
    }
    for (uint32_t c = 0; c < n_old; c++)
        free(old[c]);
    free(old);
    vg_buf_free(&open);
    pthread_mutex_unlock(&st->lock);
    return VG_OK;
}

int tsdb_delete(tsdb_t *db, int64_t mint, int64_t maxt, labels_matcher_t *const *matchers,
                size_t n_matchers, vg_err_t *err) {
    size_t n;
    uint32_t *refs = index_select(db, matchers, n_matchers, &n);
    vg_buf_t b = VG_BUF_INIT;
    size_t off = wal_rec_begin(&b, WAL_REC_TOMBSTONES);
    for (size_t i = 0; i < n; i++) {
        wal_put_uvarint(&b, refs[i]);
        wal_put_varint(&b, mint);
        wal_put_varint(&b, maxt);
    }
    wal_rec_end(&b, off);
    int rc = VG_OK;
    if (n > 0) {
        pthread_rwlock_rdlock(&db->commit_lock);
        rc = wal_write(db->wal, b.data, b.len, err);
        if (rc == VG_OK)
            for (size_t i = 0; i < n; i++) {
                head_series_t *s = head_series_by_ref(db, refs[i]);
                if (s) delete_series_range(db, s, mint, maxt);
            }
        pthread_rwlock_unlock(&db->commit_lock);
    }
    vg_buf_free(&b);
    free(refs);
    if (rc == VG_OK) rc = blocks_delete(db, mint, maxt, matchers, n_matchers, err);
    return rc;
}

void tsdb_compact(tsdb_t *db) { tsdb_maintain(db); }
