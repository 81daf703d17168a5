/* This file implements silences with Alertmanager 0.25's semantics
 * (silence/silence.go): validation, create / update in place / replace by
 * a new silence, expiry, states over time, matching a label set, garbage
 * collection — kept in memory in an array sorted by id, with every change
 * committed to SQLite first (alert_db.c) so the memory never shows what
 * is not on disk. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "alert/alert_db_int.h"
#include "alert/alert_int.h"

/* One silence as held in memory. Strings are heap copies; regexes are
 * compiled once and owned. */
typedef struct sil {
    char id[ALERT_SILENCE_ID_LEN + 1];
    alert_matcher_t *m;
    size_t n_m;
    int64_t start, end, updated;
    int32_t start_off, end_off; /* display only, not stored */
    uint64_t seq;               /* change order */
    char *created_by, *comment;
} sil_t;

struct alert_silences {
    alert_db_t *db;
    int64_t retention_ms;
    pthread_rwlock_t lock;
    sil_t **items; /* sorted by id */
    size_t n, cap;
    _Atomic uint64_t version;
    uint64_t next_seq;
};

const char *alert_silence_state_name(alert_silence_state_t st) {
    switch (st) {
    case ALERT_SILENCE_ACTIVE: return "active";
    case ALERT_SILENCE_PENDING: return "pending";
    case ALERT_SILENCE_EXPIRED: return "expired";
    }
    return "unknown";
}

/* types.CalcSilenceState: pending before the start, expired from the end
 * on. (silence.getState says expired only strictly after the end; with
 * Go's nanosecond clock the two differ for no real instant, with
 * milliseconds they would, and an expired silence must read as expired at
 * once.) */
static alert_silence_state_t state_at(int64_t start, int64_t end, int64_t now) {
    if (now < start) return ALERT_SILENCE_PENDING;
    if (now < end) return ALERT_SILENCE_ACTIVE;
    return ALERT_SILENCE_EXPIRED;
}

/* ------------------------------------------------------------- helpers */

static void sil_free(sil_t *x) {
    if (!x) return;
    for (size_t i = 0; i < x->n_m; i++) {
        free((char *)x->m[i].name);
        free((char *)x->m[i].value);
        labels_regex_free((labels_regex_t *)x->m[i].re);
    }
    free(x->m);
    free(x->created_by);
    free(x->comment);
    free(x);
}

/* A copy of src's matchers with their own strings; regexes are compiled
 * when compile is set (and must compile: callers validated them). */
static int copy_matchers(sil_t *x, const alert_matcher_t *ms, size_t n, vg_err_t *err) {
    x->m = vg_calloc(n ? n : 1, sizeof *x->m);
    for (size_t i = 0; i < n; i++) {
        x->m[i].type = ms[i].type;
        x->m[i].name = vg_strdup(ms[i].name ? ms[i].name : "");
        x->m[i].value = vg_strdup(ms[i].value ? ms[i].value : "");
        x->n_m = i + 1;
        if (ms[i].type == ALERT_MATCH_REGEXP || ms[i].type == ALERT_MATCH_NOT_REGEXP) {
            labels_regex_t *re = NULL;
            if (alert_regex_compile(x->m[i].value, &re, err) != VG_OK) return VG_ERR_INPUT;
            x->m[i].re = re;
        }
    }
    return VG_OK;
}

/* strconv.Quote, as Alertmanager's messages print names and values with
 * %q: printable characters as they are, the rest escaped. */
static void go_quote(vg_buf_t *b, const char *s) {
    static const char hex[] = "0123456789abcdef";
    vg_buf_putc(b, '"');
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c < 0x80) {
            switch (c) {
            case '"': vg_buf_puts(b, "\\\""); break;
            case '\\': vg_buf_puts(b, "\\\\"); break;
            case '\a': vg_buf_puts(b, "\\a"); break;
            case '\b': vg_buf_puts(b, "\\b"); break;
            case '\f': vg_buf_puts(b, "\\f"); break;
            case '\n': vg_buf_puts(b, "\\n"); break;
            case '\r': vg_buf_puts(b, "\\r"); break;
            case '\t': vg_buf_puts(b, "\\t"); break;
            case '\v': vg_buf_puts(b, "\\v"); break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    vg_buf_puts(b, "\\x");
                    vg_buf_putc(b, hex[c >> 4]);
                    vg_buf_putc(b, hex[c & 15]);
                } else {
                    vg_buf_putc(b, (char)c);
                }
            }
            i++;
            continue;
        }
        size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (n == 1 || i + n > len || !labels_utf8_valid(s + i, n)) {
            vg_buf_puts(b, "\\x");
            vg_buf_putc(b, hex[c >> 4]);
            vg_buf_putc(b, hex[c & 15]);
            i++;
            continue;
        }
        /* C1 controls (U+0080..U+009F) are not printable in Go. */
        if (n == 2 && c == 0xc2 && p[i + 1] < 0xa0) {
            vg_buf_printf(b, "\\u%04x", (unsigned)p[i + 1]);
        } else {
            vg_buf_append(b, s + i, n);
        }
        i += n;
    }
    vg_buf_putc(b, '"');
}

/* silence.validateSilence after "silence invalid: ". The matchers' regexes
 * are compiled here to check them. */
static int validate(const alert_matcher_t *ms, size_t n, int64_t start, int64_t end,
                    vg_err_t *err) {
    if (n == 0)
        return vg_err_set(err, VG_ERR_INPUT, "silence invalid: at least one matcher required");
    bool all_match_empty = true;
    for (size_t i = 0; i < n; i++) {
        const alert_matcher_t *m = &ms[i];
        const char *name = m->name ? m->name : "", *value = m->value ? m->value : "";
        vg_buf_t q = VG_BUF_INIT;
        int rc = VG_OK;
        bool match_empty = false;
        if (!alert_label_name_legacy(name)) {
            go_quote(&q, name);
            rc = vg_err_set(err, VG_ERR_INPUT,
                            "silence invalid: invalid label matcher %zu: invalid label name %s", i,
                            q.data);
        } else if (m->type == ALERT_MATCH_EQUAL || m->type == ALERT_MATCH_NOT_EQUAL) {
            if (!labels_utf8_valid(value, strlen(value))) {
                go_quote(&q, value);
                rc =
                    vg_err_set(err, VG_ERR_INPUT,
                               "silence invalid: invalid label matcher %zu: invalid label value %s",
                               i, q.data);
            }
            match_empty = m->type == ALERT_MATCH_EQUAL && value[0] == '\0';
        } else if (m->type == ALERT_MATCH_REGEXP || m->type == ALERT_MATCH_NOT_REGEXP) {
            labels_regex_t *re = NULL;
            vg_err_t rerr = {0};
            if (alert_regex_compile(value, &re, &rerr) != VG_OK) {
                go_quote(&q, value);
                rc = vg_err_set(err, VG_ERR_INPUT,
                                "silence invalid: invalid label matcher %zu: invalid regular "
                                "expression %s: %s",
                                i, q.data, rerr.msg);
            } else {
                match_empty = m->type == ALERT_MATCH_REGEXP && labels_regex_match(re, "", 0);
                labels_regex_free(re);
            }
        } else {
            rc = vg_err_set(err, VG_ERR_INPUT,
                            "silence invalid: invalid label matcher %zu: unknown matcher type %d",
                            i, (int)m->type);
        }
        vg_buf_free(&q);
        if (rc) return rc;
        all_match_empty = all_match_empty && match_empty;
    }
    if (all_match_empty)
        return vg_err_set(err, VG_ERR_INPUT,
                          "silence invalid: at least one matcher must not match the empty string");
    if (end < start)
        return vg_err_set(err, VG_ERR_INPUT,
                          "silence invalid: end time must not be before start time");
    return VG_OK;
}

static bool matchers_equal(const sil_t *a, const alert_matcher_t *ms, size_t n) {
    if (a->n_m != n) return false;
    for (size_t i = 0; i < n; i++) {
        if (a->m[i].type != ms[i].type) return false;
        if (strcmp(a->m[i].name, ms[i].name ? ms[i].name : "") != 0) return false;
        if (strcmp(a->m[i].value, ms[i].value ? ms[i].value : "") != 0) return false;
    }
    return true;
}

/* Floor division to whole seconds, as time.Time.Unix(). */
static int64_t unix_sec(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); }

/* silence.canUpdate: whether prev can take b's values without a new id. */
static bool can_update(const sil_t *a, const alert_silence_t *b, int64_t now) {
    if (!matchers_equal(a, b->matchers, b->n_matchers)) return false;
    switch (state_at(a->start, a->end, now)) {
    case ALERT_SILENCE_ACTIVE:
        if (unix_sec(b->starts_at_ms) != unix_sec(a->start)) return false;
        if (b->ends_at_ms < now) return false;
        return true;
    case ALERT_SILENCE_PENDING: return b->starts_at_ms >= now;
    case ALERT_SILENCE_EXPIRED: return false;
    }
    return false;
}

static void new_uuid(char out[ALERT_SILENCE_ID_LEN + 1]) {
    unsigned char r[16];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = getrandom(r + got, sizeof r - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            /* No entropy source at all: fall back to the clock and the
             * address space; ids need to be unique, not secret. */
            uint64_t a = (uint64_t)vg_time_now_ms() ^ ((uint64_t)(uintptr_t)&got << 17);
            uint64_t b = (uint64_t)(vg_time_mono() * 1e9) * 0x9e3779b97f4a7c15ull;
            memcpy(r, &a, 8);
            memcpy(r + 8, &b, 8);
            break;
        }
        got += (size_t)n;
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[r[i] >> 4];
        out[o++] = hex[r[i] & 15];
    }
    out[o] = '\0';
}

/* Index of id in s->items, or where it would go (with *found false). */
static size_t find_pos(const alert_silences_t *s, const char *id, bool *found) {
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->items[mid]->id, id);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* Puts x in its place, replacing (and freeing) a silence with its id. */
static void put(alert_silences_t *s, sil_t *x) {
    x->seq = ++s->next_seq;
    bool found;
    size_t pos = find_pos(s, x->id, &found);
    if (found) {
        sil_free(s->items[pos]);
        s->items[pos] = x;
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->items = vg_realloc(s->items, s->cap * sizeof *s->items);
    }
    memmove(s->items + pos + 1, s->items + pos, (s->n - pos) * sizeof *s->items);
    s->items[pos] = x;
    s->n++;
}

/* --------------------------------------------------------------- disk */

static void matchers_json(vg_buf_t *b, const alert_matcher_t *ms, size_t n) {
    vg_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) vg_buf_putc(b, ',');
        vg_buf_puts(b, "{\"name\":\"");
        vg_buf_put_json_escaped(b, ms[i].name, strlen(ms[i].name));
        vg_buf_puts(b, "\",\"value\":\"");
        vg_buf_put_json_escaped(b, ms[i].value, strlen(ms[i].value));
        bool re = ms[i].type == ALERT_MATCH_REGEXP || ms[i].type == ALERT_MATCH_NOT_REGEXP;
        bool eq = ms[i].type == ALERT_MATCH_EQUAL || ms[i].type == ALERT_MATCH_REGEXP;
        vg_buf_printf(b, "\",\"isRegex\":%s,\"isEqual\":%s}", re ? "true" : "false",
                      eq ? "true" : "false");
    }
    vg_buf_putc(b, ']');
}

/* Writes the silences (one or two) in one transaction. */
static int store(alert_silences_t *s, sil_t *const *xs, size_t n, vg_err_t *err) {
    alert_db_t *db = s->db;
    pthread_mutex_lock(&db->mu);
    int rc = alert_db_exec_locked(db, "BEGIN IMMEDIATE", "storing a silence", err);
    sqlite3_stmt *st = NULL;
    if (rc == VG_OK &&
        sqlite3_prepare_v2(db->conn,
                           "INSERT OR REPLACE INTO silences (id, matchers, starts_at, ends_at, "
                           "updated_at, created_by, comment) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        rc = alert_db_fail(db, "storing a silence", err);
    for (size_t i = 0; rc == VG_OK && i < n; i++) {
        const sil_t *x = xs[i];
        vg_buf_t mj = VG_BUF_INIT;
        matchers_json(&mj, x->m, x->n_m);
        sqlite3_bind_text(st, 1, x->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, mj.data, (int)mj.len, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, x->start);
        sqlite3_bind_int64(st, 4, x->end);
        sqlite3_bind_int64(st, 5, x->updated);
        sqlite3_bind_text(st, 6, x->created_by, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, x->comment, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) rc = alert_db_fail(db, "storing a silence", err);
        sqlite3_reset(st);
        vg_buf_free(&mj);
    }
    sqlite3_finalize(st);
    if (rc == VG_OK) rc = alert_db_exec_locked(db, "COMMIT", "storing a silence", err);
    if (rc != VG_OK) alert_db_exec_locked(db, "ROLLBACK", "rollback", NULL);
    pthread_mutex_unlock(&db->mu);
    return rc;
}

static bool json_matcher(json_t *o, alert_matcher_t *out) {
    json_t *n = json_object_get(o, "name"), *v = json_object_get(o, "value");
    json_t *re = json_object_get(o, "isRegex"), *eq = json_object_get(o, "isEqual");
    if (!json_is_string(n) || !json_is_string(v) || !json_is_boolean(re)) return false;
    bool is_re = json_is_true(re), is_eq = !eq || json_is_true(eq);
    out->name = json_string_value(n);
    out->value = json_string_value(v);
    out->type = is_eq ? (is_re ? ALERT_MATCH_REGEXP : ALERT_MATCH_EQUAL)
                      : (is_re ? ALERT_MATCH_NOT_REGEXP : ALERT_MATCH_NOT_EQUAL);
    out->re = NULL;
    return true;
}

/* One row into a silence, or NULL (logged) when it cannot be used. */
static sil_t *load_row(sqlite3_stmt *st) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    const char *mj = (const char *)sqlite3_column_text(st, 1);
    const char *cb = (const char *)sqlite3_column_text(st, 5);
    const char *cm = (const char *)sqlite3_column_text(st, 6);
    if (!id || strlen(id) != ALERT_SILENCE_ID_LEN || !mj) {
        vg_log_warn("Skipping a stored silence with a bad id", "id", id ? id : "", NULL);
        return NULL;
    }
    json_error_t jerr;
    json_t *arr = json_loads(mj, 0, &jerr);
    sil_t *x = NULL;
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
    alert_matcher_t *ms = vg_calloc(n ? n : 1, sizeof *ms);
    bool ok = json_is_array(arr) && n > 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = json_matcher(json_array_get(arr, i), &ms[i]);
    vg_err_t err = {0};
    if (ok) {
        x = vg_calloc(1, sizeof *x);
        memcpy(x->id, id, ALERT_SILENCE_ID_LEN + 1);
        x->start = sqlite3_column_int64(st, 2);
        x->end = sqlite3_column_int64(st, 3);
        x->updated = sqlite3_column_int64(st, 4);
        x->created_by = vg_strdup(cb ? cb : "");
        x->comment = vg_strdup(cm ? cm : "");
        if (copy_matchers(x, ms, n, &err) != VG_OK) {
            sil_free(x);
            x = NULL;
        }
    } else {
        snprintf(err.msg, sizeof err.msg, "bad matchers");
    }
    if (!x) vg_log_warn("Skipping a stored silence", "id", id, "err", err.msg, NULL);
    free(ms);
    json_decref(arr);
    return x;
}

/* ---------------------------------------------------------------- API */

alert_silences_t *alert_silences_open(alert_db_t *db, int64_t retention_ms, vg_err_t *err) {
    alert_silences_t *s = vg_calloc(1, sizeof *s);
    s->db = db;
    s->retention_ms = retention_ms > 0 ? retention_ms : ALERT_SILENCE_RETENTION_DEFAULT_MS;
    pthread_rwlock_init(&s->lock, NULL);
    pthread_mutex_lock(&db->mu);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->conn,
                                "SELECT id, matchers, starts_at, ends_at, updated_at, created_by, "
                                "comment FROM silences ORDER BY updated_at, id",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            sil_t *x = load_row(st);
            if (x) put(s, x);
        }
    }
    if (rc != SQLITE_DONE) {
        alert_db_fail(db, "loading silences", err);
        sqlite3_finalize(st);
        pthread_mutex_unlock(&db->mu);
        alert_silences_free(s);
        return NULL;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->mu);
    s->version = 1;
    return s;
}

void alert_silences_free(alert_silences_t *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++)
        sil_free(s->items[i]);
    free(s->items);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

int alert_silences_set(alert_silences_t *s, const alert_silence_t *in, int64_t now,
                       char out_id[ALERT_SILENCE_ID_LEN + 1], vg_err_t *err) {
    pthread_rwlock_wrlock(&s->lock);
    int rc = VG_OK;
    sil_t *prev = NULL, *cand = NULL, *prev_exp = NULL;
    if (in->id[0]) {
        bool found;
        size_t pos = find_pos(s, in->id, &found);
        if (!found) {
            rc = vg_err_set(err, VG_ERR_NOTFOUND, "silence not found");
            goto out;
        }
        prev = s->items[pos];
    }
    cand = vg_calloc(1, sizeof *cand);
    cand->start = in->starts_at_ms;
    cand->end = in->ends_at_ms;
    cand->start_off = in->starts_at_offset_s;
    cand->end_off = in->ends_at_offset_s;
    cand->updated = now;
    cand->created_by = vg_strdup(in->created_by ? in->created_by : "");
    cand->comment = vg_strdup(in->comment ? in->comment : "");
    if (prev && can_update(prev, in, now)) {
        memcpy(cand->id, prev->id, sizeof cand->id);
    } else {
        bool dup = true;
        while (dup) {
            new_uuid(cand->id);
            find_pos(s, cand->id, &dup);
        }
        if (cand->start < now) cand->start = now, cand->start_off = 0;
        /* Alertmanager expires the old silence before it validates the new
         * one, so a typo in an update loses the silence; here the new one
         * is validated first and nothing changes when it is invalid. */
        if (prev && state_at(prev->start, prev->end, now) != ALERT_SILENCE_EXPIRED) {
            prev_exp = vg_calloc(1, sizeof *prev_exp);
            memcpy(prev_exp->id, prev->id, sizeof prev_exp->id);
            copy_matchers(prev_exp, prev->m, prev->n_m, NULL);
            prev_exp->start = prev->start;
            prev_exp->start_off = prev->start_off;
            prev_exp->end = now;
            if (state_at(prev->start, prev->end, now) == ALERT_SILENCE_PENDING)
                prev_exp->start = now, prev_exp->start_off = 0;
            prev_exp->updated = now;
            prev_exp->created_by = vg_strdup(prev->created_by);
            prev_exp->comment = vg_strdup(prev->comment);
        }
    }
    rc = validate(in->matchers, in->n_matchers, cand->start, cand->end, err);
    if (rc == VG_OK) rc = copy_matchers(cand, in->matchers, in->n_matchers, err);
    if (rc != VG_OK) goto out;
    sil_t *batch[2] = {cand, prev_exp};
    rc = store(s, batch, prev_exp ? 2 : 1, err);
    if (rc != VG_OK) goto out;
    if (prev_exp) put(s, prev_exp);
    put(s, cand);
    if (out_id) memcpy(out_id, cand->id, ALERT_SILENCE_ID_LEN + 1);
    prev_exp = cand = NULL;
    s->version++;
out:
    sil_free(cand);
    sil_free(prev_exp);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

int alert_silences_expire(alert_silences_t *s, const char *id, int64_t now, vg_err_t *err) {
    pthread_rwlock_wrlock(&s->lock);
    bool found;
    size_t pos = find_pos(s, id, &found);
    int rc = VG_OK;
    if (!found) {
        rc = vg_err_set(err, VG_ERR_NOTFOUND, "silence not found");
        goto out;
    }
    const sil_t *prev = s->items[pos];
    alert_silence_state_t st = state_at(prev->start, prev->end, now);
    if (st == ALERT_SILENCE_EXPIRED) goto out;
    sil_t *x = vg_calloc(1, sizeof *x);
    memcpy(x->id, prev->id, sizeof x->id);
    copy_matchers(x, prev->m, prev->n_m, NULL);
    x->start = st == ALERT_SILENCE_PENDING ? now : prev->start;
    x->start_off = st == ALERT_SILENCE_PENDING ? 0 : prev->start_off;
    x->end = now;
    x->updated = now;
    x->created_by = vg_strdup(prev->created_by);
    x->comment = vg_strdup(prev->comment);
    rc = store(s, &x, 1, err);
    if (rc != VG_OK) {
        sil_free(x);
        goto out;
    }
    put(s, x);
    s->version++;
out:
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

/* Copies x into out with memory from arena. */
static void copy_out(const sil_t *x, int64_t now, vg_arena_t *arena, alert_silence_t *out) {
    memset(out, 0, sizeof *out);
    memcpy(out->id, x->id, sizeof out->id);
    out->matchers = vg_arena_alloc(arena, (x->n_m ? x->n_m : 1) * sizeof *out->matchers);
    for (size_t i = 0; i < x->n_m; i++) {
        out->matchers[i].type = x->m[i].type;
        out->matchers[i].name = vg_arena_strndup(arena, x->m[i].name, strlen(x->m[i].name));
        out->matchers[i].value = vg_arena_strndup(arena, x->m[i].value, strlen(x->m[i].value));
        out->matchers[i].re = NULL;
    }
    out->n_matchers = x->n_m;
    out->starts_at_ms = x->start;
    out->ends_at_ms = x->end;
    out->updated_at_ms = x->updated;
    out->starts_at_offset_s = x->start_off;
    out->ends_at_offset_s = x->end_off;
    out->created_by = vg_arena_strndup(arena, x->created_by, strlen(x->created_by));
    out->comment = vg_arena_strndup(arena, x->comment, strlen(x->comment));
    out->state = state_at(x->start, x->end, now);
    out->change_seq = x->seq;
}

int alert_silences_get(alert_silences_t *s, const char *id, int64_t now, alert_silence_t *out) {
    pthread_rwlock_rdlock(&s->lock);
    bool found;
    size_t pos = find_pos(s, id, &found);
    if (found) {
        vg_arena_t *a = vg_arena_new(0);
        copy_out(s->items[pos], now, a, out);
        out->arena = a;
    }
    pthread_rwlock_unlock(&s->lock);
    return found ? VG_OK : VG_ERR_NOTFOUND;
}

void alert_silence_clear(alert_silence_t *sil) {
    if (!sil) return;
    vg_arena_free(sil->arena);
    memset(sil, 0, sizeof *sil);
}

void alert_silences_list(alert_silences_t *s, int64_t now, alert_silence_list_t *out) {
    out->arena = vg_arena_new(0);
    pthread_rwlock_rdlock(&s->lock);
    out->n_items = s->n;
    out->items = vg_arena_alloc(out->arena, (s->n ? s->n : 1) * sizeof *out->items);
    for (size_t i = 0; i < s->n; i++)
        copy_out(s->items[i], now, out->arena, &out->items[i]);
    pthread_rwlock_unlock(&s->lock);
}

void alert_silence_list_free(alert_silence_list_t *l) {
    if (!l) return;
    vg_arena_free(l->arena);
    memset(l, 0, sizeof *l);
}

static size_t matching(alert_silences_t *s, const labels_t *ls, int64_t now,
                       alert_silence_state_t want, char (*ids)[ALERT_SILENCE_ID_LEN + 1],
                       size_t cap) {
    size_t n = 0;
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        const sil_t *x = s->items[i];
        if (state_at(x->start, x->end, now) != want) continue;
        if (!alert_matchers_match(x->m, x->n_m, ls)) continue;
        if (n < cap) memcpy(ids[n], x->id, ALERT_SILENCE_ID_LEN + 1);
        n++;
    }
    pthread_rwlock_unlock(&s->lock);
    return n;
}

size_t alert_silences_mutes(alert_silences_t *s, const labels_t *ls, int64_t now,
                            char (*ids)[ALERT_SILENCE_ID_LEN + 1], size_t cap) {
    return matching(s, ls, now, ALERT_SILENCE_ACTIVE, ids, cap);
}

size_t alert_silences_pending_for(alert_silences_t *s, const labels_t *ls, int64_t now,
                                  char (*ids)[ALERT_SILENCE_ID_LEN + 1], size_t cap) {
    return matching(s, ls, now, ALERT_SILENCE_PENDING, ids, cap);
}

uint64_t alert_silences_version(alert_silences_t *s) { return s->version; }

int64_t alert_silences_next_change(alert_silences_t *s, int64_t now) {
    int64_t next = INT64_MAX;
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        const sil_t *x = s->items[i];
        if (x->start > now && x->start < next) next = x->start;
        if (x->end > now && x->end < next) next = x->end;
    }
    pthread_rwlock_unlock(&s->lock);
    return next;
}

void alert_silences_count(alert_silences_t *s, int64_t now, size_t out[3]) {
    out[0] = out[1] = out[2] = 0;
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->n; i++)
        out[state_at(s->items[i]->start, s->items[i]->end, now)]++;
    pthread_rwlock_unlock(&s->lock);
}

size_t alert_silences_gc(alert_silences_t *s, int64_t now) {
    /* Gone when end + retention is not after now (MeshSilence.ExpiresAt). */
    int64_t cutoff = now - s->retention_ms;
    pthread_rwlock_wrlock(&s->lock);
    size_t dropped = 0;
    for (size_t i = 0; i < s->n; i++)
        dropped += s->items[i]->end <= cutoff;
    if (dropped) {
        alert_db_t *db = s->db;
        vg_err_t err = {0};
        pthread_mutex_lock(&db->mu);
        sqlite3_stmt *st = NULL;
        int rc = VG_ERR_IO;
        if (sqlite3_prepare_v2(db->conn, "DELETE FROM silences WHERE ends_at <= ?", -1, &st,
                               NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, cutoff);
            if (sqlite3_step(st) == SQLITE_DONE) rc = VG_OK;
        }
        if (rc != VG_OK) alert_db_fail(db, "garbage-collecting silences", &err);
        sqlite3_finalize(st);
        pthread_mutex_unlock(&db->mu);
        if (rc != VG_OK) {
            /* Keep memory and disk alike; the next run tries again. */
            vg_log_error("Silence garbage collection failed", "err", err.msg, NULL);
            dropped = 0;
        } else {
            size_t o = 0;
            for (size_t i = 0; i < s->n; i++) {
                if (s->items[i]->end <= cutoff)
                    sil_free(s->items[i]);
                else
                    s->items[o++] = s->items[i];
            }
            s->n = o;
            s->version++;
        }
    }
    pthread_rwlock_unlock(&s->lock);
    return dropped;
}
