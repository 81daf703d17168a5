/* This file implements the notification log (Alertmanager's nflog): what
 * was last notified successfully for each receiver integration and
 * aggregation group, so that a restart neither repeats notifications nor
 * forgets resolved ones. Entries live in a hash table keyed by (receiver
 * key, group key); each change is committed to SQLite before the table
 * changes. Notifications finish on many threads at once and each commit
 * waits for the disk, so the log commits as a group: a thread that logs
 * while another commits queues its entry, and the next committer writes
 * every queued entry in one transaction and then wakes their threads; none
 * returns before its own entry is durable. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "alert/alert_db_int.h"

typedef struct nfl {
    struct nfl *next;
    uint64_t hash;
    char *key; /* receiver key, NUL, group key, NUL */
    size_t rk_len, gk_len;
    int64_t ts, exp;
    uint64_t *firing, *resolved;
    size_t n_firing, n_resolved;
} nfl_t;

/* One call to alert_nflog_log_expiry waiting for its entry's commit. It
 * lives on the caller's stack; the committer fills rc and err and sets
 * done under qmu. */
typedef struct nfl_req {
    struct nfl_req *next;
    nfl_t *e; /* the new entry: the committer puts it in the table or frees it */
    const char *rk, *gk;
    const unsigned char *fb, *rb; /* hashes as stored */
    size_t fl, rl;
    bool skip; /* an entry from the future is in force: nothing to write */
    bool done;
    int rc;
    vg_err_t err;
} nfl_req_t;

struct alert_nflog {
    alert_db_t *db;
    int64_t retention_ms;
    pthread_mutex_t mu; /* the table; never held across a commit */
    nfl_t **buckets;
    size_t n_buckets; /* a power of two */
    size_t n;
    /* Group commit: the queue of entries waiting for a commit and whether
     * a thread is committing (then the others only queue and wait). */
    pthread_mutex_t qmu;
    pthread_cond_t qcond;
    nfl_req_t *queue, **queue_tail;
    bool committing;
};

/* Bounds on what one entry may hold, checked before anything is copied. */
#define NFLOG_MAX_KEY_BYTES (1u << 20)
#define NFLOG_MAX_HASHES (1u << 24)

static uint64_t key_hash(const char *rk, size_t rk_len, const char *gk, size_t gk_len) {
    return XXH64(gk, gk_len, XXH64(rk, rk_len, 0));
}

static nfl_t **slot(alert_nflog_t *l, uint64_t h, const char *rk, size_t rk_len, const char *gk,
                    size_t gk_len) {
    nfl_t **p = &l->buckets[h & (l->n_buckets - 1)];
    for (; *p; p = &(*p)->next) {
        nfl_t *e = *p;
        if (e->hash == h && e->rk_len == rk_len && e->gk_len == gk_len &&
            memcmp(e->key, rk, rk_len) == 0 && memcmp(e->key + rk_len + 1, gk, gk_len) == 0)
            return p;
    }
    return p;
}

static void nfl_free(nfl_t *e) {
    if (!e) return;
    free(e->key);
    free(e->firing);
    free(e->resolved);
    free(e);
}

static void grow(alert_nflog_t *l) {
    size_t nb = l->n_buckets * 2;
    nfl_t **b = vg_calloc(nb, sizeof *b);
    for (size_t i = 0; i < l->n_buckets; i++) {
        nfl_t *e = l->buckets[i];
        while (e) {
            nfl_t *next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    free(l->buckets);
    l->buckets = b;
    l->n_buckets = nb;
}

static uint64_t *copy_hashes(const uint64_t *src, size_t n) {
    uint64_t *d = vg_malloc((n ? n : 1) * sizeof *d);
    if (n) memcpy(d, src, n * sizeof *d);
    return d;
}

static nfl_t *nfl_new(const char *rk, size_t rk_len, const char *gk, size_t gk_len, uint64_t h) {
    nfl_t *e = vg_calloc(1, sizeof *e);
    e->hash = h;
    e->key = vg_malloc(rk_len + gk_len + 2);
    memcpy(e->key, rk, rk_len);
    e->key[rk_len] = '\0';
    memcpy(e->key + rk_len + 1, gk, gk_len);
    e->key[rk_len + 1 + gk_len] = '\0';
    e->rk_len = rk_len;
    e->gk_len = gk_len;
    return e;
}

/* Puts e in the table in place of an entry with its key (freed). */
static void put(alert_nflog_t *l, nfl_t *e) {
    nfl_t **p = slot(l, e->hash, e->key, e->rk_len, e->key + e->rk_len + 1, e->gk_len);
    if (*p) {
        e->next = (*p)->next;
        nfl_free(*p);
        *p = e;
        return;
    }
    e->next = NULL;
    *p = e;
    if (++l->n > l->n_buckets) grow(l);
}

/* Hash lists on disk: 8 bytes each, little-endian. */
static void pack(const uint64_t *v, size_t n, unsigned char *out) {
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            out[8 * i + (size_t)b] = (unsigned char)(v[i] >> (8 * b));
}

static uint64_t *unpack(const unsigned char *p, size_t len, size_t *out_n) {
    size_t n = len / 8;
    uint64_t *v = vg_malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        uint64_t x = 0;
        for (int b = 7; b >= 0; b--)
            x = (x << 8) | p[8 * i + (size_t)b];
        v[i] = x;
    }
    *out_n = n;
    return v;
}

alert_nflog_t *alert_nflog_open(alert_db_t *db, int64_t retention_ms, vg_err_t *err) {
    alert_nflog_t *l = vg_calloc(1, sizeof *l);
    l->db = db;
    l->retention_ms = retention_ms > 0 ? retention_ms : ALERT_SILENCE_RETENTION_DEFAULT_MS;
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->qmu, NULL);
    pthread_cond_init(&l->qcond, NULL);
    l->queue_tail = &l->queue;
    l->n_buckets = 64;
    l->buckets = vg_calloc(l->n_buckets, sizeof *l->buckets);
    int64_t now = vg_time_now_ms();
    pthread_mutex_lock(&db->mu);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->conn,
                                "SELECT receiver_key, group_key, timestamp, expires_at, firing, "
                                "resolved FROM nflog",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *rk = (const char *)sqlite3_column_text(st, 0);
            size_t rk_len = (size_t)sqlite3_column_bytes(st, 0);
            const char *gk = (const char *)sqlite3_column_text(st, 1);
            size_t gk_len = (size_t)sqlite3_column_bytes(st, 1);
            int64_t exp = sqlite3_column_int64(st, 3);
            const unsigned char *fb = sqlite3_column_blob(st, 4);
            size_t fl = (size_t)sqlite3_column_bytes(st, 4);
            const unsigned char *rb = sqlite3_column_blob(st, 5);
            size_t rl = (size_t)sqlite3_column_bytes(st, 5);
            /* Expired while we were down: Alertmanager's merge drops it. */
            if (exp < now) continue;
            if (!rk || !gk || fl % 8 || rl % 8) {
                vg_log_warn("Skipping a bad notification log entry", "receiver", rk ? rk : "",
                            NULL);
                continue;
            }
            uint64_t h = key_hash(rk, rk_len, gk, gk_len);
            nfl_t *e = nfl_new(rk, rk_len, gk, gk_len, h);
            e->ts = sqlite3_column_int64(st, 2);
            e->exp = exp;
            e->firing = unpack(fb, fl, &e->n_firing);
            e->resolved = unpack(rb, rl, &e->n_resolved);
            put(l, e);
        }
    }
    if (rc != SQLITE_DONE) {
        alert_db_fail(db, "loading the notification log", err);
        sqlite3_finalize(st);
        pthread_mutex_unlock(&db->mu);
        alert_nflog_free(l);
        return NULL;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->mu);
    return l;
}

void alert_nflog_free(alert_nflog_t *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n_buckets; i++) {
        nfl_t *e = l->buckets[i];
        while (e) {
            nfl_t *next = e->next;
            nfl_free(e);
            e = next;
        }
    }
    free(l->buckets);
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->qmu);
    pthread_cond_destroy(&l->qcond);
    free(l);
}

int alert_nflog_query(alert_nflog_t *l, const char *receiver_key, const char *group_key,
                      alert_nflog_entry_t *out) {
    size_t rk_len = strlen(receiver_key), gk_len = strlen(group_key);
    uint64_t h = key_hash(receiver_key, rk_len, group_key, gk_len);
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&l->mu);
    nfl_t *e = *slot(l, h, receiver_key, rk_len, group_key, gk_len);
    if (e) {
        out->timestamp_ms = e->ts;
        out->expires_at_ms = e->exp;
        out->firing = copy_hashes(e->firing, e->n_firing);
        out->n_firing = e->n_firing;
        out->resolved = copy_hashes(e->resolved, e->n_resolved);
        out->n_resolved = e->n_resolved;
    }
    pthread_mutex_unlock(&l->mu);
    return e ? VG_OK : VG_ERR_NOTFOUND;
}

void alert_nflog_entry_free(alert_nflog_entry_t *e) {
    if (!e) return;
    free(e->firing);
    free(e->resolved);
    memset(e, 0, sizeof *e);
}

#define NFLOG_INSERT_SQL                                                                           \
    "INSERT OR REPLACE INTO nflog (receiver_key, group_key, timestamp, expires_at, firing, "       \
    "resolved) VALUES (?, ?, ?, ?, ?, ?)"

/* Runs the prepared insert for one request (db->mu held). */
static bool insert_one(sqlite3_stmt *st, const nfl_req_t *r) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_text(st, 1, r->rk, (int)r->e->rk_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->gk, (int)r->e->gk_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, r->e->ts);
    sqlite3_bind_int64(st, 4, r->e->exp);
    sqlite3_bind_blob(st, 5, r->fb, (int)r->fl, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, r->rb, (int)r->rl, SQLITE_STATIC);
    return sqlite3_step(st) == SQLITE_DONE;
}

/* Writes the batch's entries (db->mu held): all in one transaction, or,
 * when that fails, each in its own so that one bad entry fails alone.
 * Sets rc and err of every request not skipped. */
static void write_batch(alert_db_t *db, nfl_req_t *batch, size_t n_write) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->conn, NFLOG_INSERT_SQL, -1, &st, NULL) != SQLITE_OK) {
        for (nfl_req_t *r = batch; r; r = r->next)
            if (!r->skip) r->rc = alert_db_fail(db, "logging a notification", &r->err);
        return;
    }
    if (n_write > 1) {
        bool ok =
            alert_db_exec_locked(db, "BEGIN IMMEDIATE", "logging a notification", NULL) == VG_OK;
        for (nfl_req_t *r = batch; ok && r; r = r->next)
            if (!r->skip) ok = insert_one(st, r);
        if (ok) ok = alert_db_exec_locked(db, "COMMIT", "logging a notification", NULL) == VG_OK;
        if (ok) {
            for (nfl_req_t *r = batch; r; r = r->next)
                r->rc = VG_OK;
            sqlite3_finalize(st);
            return;
        }
        /* A failed statement or COMMIT may leave the transaction open. */
        if (!sqlite3_get_autocommit(db->conn))
            alert_db_exec_locked(db, "ROLLBACK", "logging a notification", NULL);
    }
    for (nfl_req_t *r = batch; r; r = r->next) {
        if (r->skip) continue;
        r->rc = insert_one(st, r) ? VG_OK : alert_db_fail(db, "logging a notification", &r->err);
    }
    sqlite3_finalize(st);
}

/* Commits a batch taken off the queue (no lock held on entry): decides
 * which entries are superseded by one from the future, writes the others,
 * then puts the written ones in the table in queue order. Only one thread
 * commits at a time, so nothing else changes the table's entries between
 * the check and the put (the garbage collector only drops expired ones). */
static void commit_batch(alert_nflog_t *l, nfl_req_t *batch) {
    size_t n_write = 0;
    pthread_mutex_lock(&l->mu);
    for (nfl_req_t *r = batch; r; r = r->next) {
        nfl_t *e = r->e;
        /* Alertmanager keeps an entry from the future (a peer's clock
         * ahead); an earlier entry of this batch for the same key counts as
         * the one in force. */
        const nfl_t *prev = NULL;
        for (nfl_req_t *q = batch; q != r; q = q->next)
            if (!q->skip && q->e->hash == e->hash && q->e->rk_len == e->rk_len &&
                q->e->gk_len == e->gk_len &&
                memcmp(q->e->key, e->key, e->rk_len + e->gk_len + 2) == 0)
                prev = q->e;
        if (!prev) prev = *slot(l, e->hash, r->rk, e->rk_len, r->gk, e->gk_len);
        r->skip = prev && prev->ts > e->ts;
        r->rc = VG_OK;
        n_write += !r->skip;
    }
    pthread_mutex_unlock(&l->mu);

    if (n_write) {
        pthread_mutex_lock(&l->db->mu);
        write_batch(l->db, batch, n_write);
        pthread_mutex_unlock(&l->db->mu);
    }

    pthread_mutex_lock(&l->mu);
    for (nfl_req_t *r = batch; r; r = r->next) {
        if (!r->skip && r->rc == VG_OK)
            put(l, r->e);
        else
            nfl_free(r->e);
        r->e = NULL;
    }
    pthread_mutex_unlock(&l->mu);
}

int alert_nflog_log_expiry(alert_nflog_t *l, const char *receiver_key, const char *group_key,
                           const uint64_t *firing, size_t n_firing, const uint64_t *resolved,
                           size_t n_resolved, int64_t expiry_ms, int64_t now, vg_err_t *err) {
    size_t rk_len = strlen(receiver_key), gk_len = strlen(group_key);
    if (rk_len + gk_len > NFLOG_MAX_KEY_BYTES || n_firing > NFLOG_MAX_HASHES ||
        n_resolved > NFLOG_MAX_HASHES)
        return vg_err_set(err, VG_ERR_LIMIT, "notification log entry too large");
    uint64_t h = key_hash(receiver_key, rk_len, group_key, gk_len);
    int64_t exp = now + l->retention_ms;
    if (expiry_ms > 0 && l->retention_ms > expiry_ms) exp = now + expiry_ms;
    nfl_t *e = nfl_new(receiver_key, rk_len, group_key, gk_len, h);
    e->ts = now;
    e->exp = exp;
    e->firing = copy_hashes(firing, n_firing);
    e->n_firing = n_firing;
    e->resolved = copy_hashes(resolved, n_resolved);
    e->n_resolved = n_resolved;
    unsigned char *fb = vg_malloc(8 * n_firing + 1), *rb = vg_malloc(8 * n_resolved + 1);
    pack(firing, n_firing, fb);
    pack(resolved, n_resolved, rb);
    nfl_req_t req = {.e = e,
                     .rk = e->key,
                     .gk = e->key + rk_len + 1,
                     .fb = fb,
                     .rb = rb,
                     .fl = 8 * n_firing,
                     .rl = 8 * n_resolved};

    pthread_mutex_lock(&l->qmu);
    req.next = NULL;
    *l->queue_tail = &req;
    l->queue_tail = &req.next;
    /* Wait while another thread commits (it may take this entry too);
     * when none does and this entry is still queued, commit the queue. */
    while (!req.done) {
        if (l->committing) {
            pthread_cond_wait(&l->qcond, &l->qmu);
            continue;
        }
        nfl_req_t *batch = l->queue;
        l->queue = NULL;
        l->queue_tail = &l->queue;
        l->committing = true;
        pthread_mutex_unlock(&l->qmu);
        commit_batch(l, batch);
        pthread_mutex_lock(&l->qmu);
        for (nfl_req_t *r = batch; r; r = r->next)
            r->done = true; /* seen by its thread once qmu is released */
        l->committing = false;
        pthread_cond_broadcast(&l->qcond);
    }
    pthread_mutex_unlock(&l->qmu);
    free(fb);
    free(rb);
    if (req.rc != VG_OK && err) *err = req.err;
    return req.rc;
}

int alert_nflog_log(alert_nflog_t *l, const char *receiver_key, const char *group_key,
                    const uint64_t *firing, size_t n_firing, const uint64_t *resolved,
                    size_t n_resolved, int64_t now_ms, vg_err_t *err) {
    return alert_nflog_log_expiry(l, receiver_key, group_key, firing, n_firing, resolved,
                                  n_resolved, 0, now_ms, err);
}

size_t alert_nflog_gc(alert_nflog_t *l, int64_t now) {
    pthread_mutex_lock(&l->mu);
    alert_db_t *db = l->db;
    pthread_mutex_lock(&db->mu);
    sqlite3_stmt *st = NULL;
    bool ok = false;
    if (sqlite3_prepare_v2(db->conn, "DELETE FROM nflog WHERE expires_at <= ?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    if (!ok) {
        vg_err_t err = {0};
        alert_db_fail(db, "garbage-collecting the notification log", &err);
        vg_log_error("Notification log garbage collection failed", "err", err.msg, NULL);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->mu);
    size_t dropped = 0;
    for (size_t i = 0; ok && i < l->n_buckets; i++) {
        nfl_t **p = &l->buckets[i];
        while (*p) {
            nfl_t *e = *p;
            if (e->exp <= now) {
                *p = e->next;
                nfl_free(e);
                dropped++;
            } else {
                p = &e->next;
            }
        }
    }
    l->n -= dropped;
    pthread_mutex_unlock(&l->mu);
    return dropped;
}

size_t alert_nflog_len(alert_nflog_t *l) {
    pthread_mutex_lock(&l->mu);
    size_t n = l->n;
    pthread_mutex_unlock(&l->mu);
    return n;
}
