/* This file implements the write-ahead log: segment files of CRC-checked
 * records, replay with corruption tolerance, checkpoints and truncation,
 * and what readers that follow the log need (position, wake-up, holds). */
#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

struct wal {
    char *dir;
    pthread_mutex_t lock;
    int fd;       /* current segment, -1 before replay */
    int segment;  /* its number */
    int64_t size; /* its length in bytes */
    bool dirty;   /* written since the last fsync */
    wal_stats_t stats;
    pthread_cond_t moved; /* broadcast when the position changes */
    /* holds of followers, guarded by lock */
    struct wal_hold {
        char *name;
        int segment;
    } * holds;
    size_t n_holds;
    uint64_t hold_max_bytes;
    int64_t hold_max_age_ms;
};

/* ------------------------------------------------------------ encoding */

void wal_put_uvarint(vg_buf_t *b, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    vg_buf_append(b, tmp, n);
}

void wal_put_varint(vg_buf_t *b, int64_t v) {
    wal_put_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void wal_put_f64(vg_buf_t *b, double v) {
    uint64_t bits;
    memcpy(&bits, &v, 8);
    uint8_t tmp[8];
    for (int i = 0; i < 8; i++)
        tmp[i] = (uint8_t)(bits >> (8 * i));
    vg_buf_append(b, tmp, 8);
}

void wal_put_bytes(vg_buf_t *b, const void *p, size_t n) {
    wal_put_uvarint(b, n);
    vg_buf_append(b, p, n);
}

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

size_t wal_rec_begin(vg_buf_t *b, uint8_t type) {
    size_t off = b->len;
    uint8_t hdr[WAL_RECORD_HEADER] = {0};
    hdr[8] = type;
    vg_buf_append(b, hdr, sizeof hdr);
    return off;
}

void wal_rec_end(vg_buf_t *b, size_t off) {
    uint8_t *rec = (uint8_t *)b->data + off;
    size_t n = b->len - off - WAL_RECORD_HEADER;
    put_u32(rec, (uint32_t)n);
    put_u32(rec + 4, (uint32_t)crc32(0, rec + 8, (uInt)(n + 1)));
}

int wal_get_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return -1;
        uint8_t c = *(*p)++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

int wal_get_varint(const uint8_t **p, const uint8_t *end, int64_t *out) {
    uint64_t u;
    if (wal_get_uvarint(p, end, &u)) return -1;
    *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

int wal_get_f64(const uint8_t **p, const uint8_t *end, double *out) {
    if (end - *p < 8) return -1;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits |= (uint64_t)(*p)[i] << (8 * i);
    memcpy(out, &bits, 8);
    *p += 8;
    return 0;
}

/* ------------------------------------------------------------ segments */

static char *segment_path(const char *dir, int n) {
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_printf(&b, "%s/%08d", dir, n);
    return vg_buf_detach(&b);
}

/* Lists segment numbers (sorted) and the newest checkpoint (-1: none). */
static int list_dir(const char *dir, int **out, size_t *out_n, int *out_checkpoint, vg_err_t *err) {
    DIR *d = opendir(dir);
    if (!d) return vg_err_set(err, VG_ERR_IO, "open %s: %s", dir, strerror(errno));
    int *segs = NULL;
    size_t n = 0, cap = 0;
    int checkpoint = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        if (strncmp(e->d_name, "checkpoint.", 11) == 0) {
            long c = strtol(e->d_name + 11, &end, 10);
            if (*end == '\0' && end != e->d_name + 11 && c > checkpoint) checkpoint = (int)c;
            continue;
        }
        if (strlen(e->d_name) != 8) continue;
        long s = strtol(e->d_name, &end, 10);
        if (*end != '\0' || s < 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            segs = vg_realloc(segs, cap * sizeof *segs);
        }
        segs[n++] = (int)s;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort: segment counts are small */
        for (size_t j = i; j > 0 && segs[j - 1] > segs[j]; j--) {
            int t = segs[j];
            segs[j] = segs[j - 1];
            segs[j - 1] = t;
        }
    *out = segs;
    *out_n = n;
    *out_checkpoint = checkpoint;
    return VG_OK;
}

static int segment_create(wal_t *w, int n, vg_err_t *err) {
    char *path = segment_path(w->dir, n);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int rc = vg_err_set(err, VG_ERR_IO, "create %s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    uint8_t hdr[WAL_SEGMENT_HEADER] = {0};
    put_u32(hdr, WAL_MAGIC);
    hdr[4] = WAL_VERSION;
    int rc = vg_fd_write_all(fd, hdr, sizeof hdr, path, err);
    if (rc == VG_OK) rc = vg_dir_fsync(w->dir, err);
    free(path);
    if (rc != VG_OK) {
        close(fd);
        return rc;
    }
    w->fd = fd;
    w->segment = n;
    w->size = WAL_SEGMENT_HEADER;
    w->dirty = true;
    pthread_cond_broadcast(&w->moved);
    return VG_OK;
}

wal_t *wal_open(const char *dir, vg_err_t *err) {
    if (vg_mkdir_all(dir, err) != VG_OK) return NULL;
    wal_t *w = vg_calloc(1, sizeof *w);
    w->dir = vg_strdup(dir);
    w->fd = -1;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->moved, NULL);
    return w;
}

void wal_close(wal_t *w) {
    if (!w) return;
    if (w->fd >= 0) {
        wal_sync(w, NULL);
        close(w->fd);
    }
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->moved);
    for (size_t i = 0; i < w->n_holds; i++)
        free(w->holds[i].name);
    free(w->holds);
    free(w->dir);
    free(w);
}

/* -------------------------------------------------------------- replay */

/* decode_record's answer for a payload that does not parse; callbacks
 * return 0 or a negative error code, so the two never mix. */
#define MALFORMED WAL_MALFORMED

static int decode_record(uint8_t type, const uint8_t *p, const uint8_t *end,
                         const wal_replay_cb_t *cb, void *ud) {
    enum { MAX_LABELS = 1024 };
    switch (type) {
    case WAL_REC_SERIES:
        while (p < end) {
            uint64_t ref, n;
            if (wal_get_uvarint(&p, end, &ref) || wal_get_uvarint(&p, end, &n) || n > MAX_LABELS)
                return MALFORMED;
            wal_label_t labels[MAX_LABELS];
            for (uint64_t i = 0; i < n; i++) {
                uint64_t len;
                if (wal_get_uvarint(&p, end, &len) || len > (uint64_t)(end - p)) return MALFORMED;
                labels[i].name = (const char *)p, labels[i].name_len = len, p += len;
                if (wal_get_uvarint(&p, end, &len) || len > (uint64_t)(end - p)) return MALFORMED;
                labels[i].value = (const char *)p, labels[i].value_len = len, p += len;
            }
            int rc = cb->series ? cb->series(ud, ref, labels, n) : 0;
            if (rc) return rc;
        }
        return 0;
    case WAL_REC_SAMPLES: {
        uint64_t base_ref;
        int64_t base_t;
        if (wal_get_uvarint(&p, end, &base_ref) || wal_get_varint(&p, end, &base_t))
            return MALFORMED;
        while (p < end) {
            int64_t dref, dt;
            double v;
            if (wal_get_varint(&p, end, &dref) || wal_get_varint(&p, end, &dt) ||
                wal_get_f64(&p, end, &v))
                return MALFORMED;
            int rc = cb->sample ? cb->sample(ud, base_ref + (uint64_t)dref,
                                             (int64_t)((uint64_t)base_t + (uint64_t)dt), v)
                                : 0;
            if (rc) return rc;
        }
        return 0;
    }
    case WAL_REC_TOMBSTONES:
        while (p < end) {
            uint64_t ref;
            int64_t mint, maxt;
            if (wal_get_uvarint(&p, end, &ref) || wal_get_varint(&p, end, &mint) ||
                wal_get_varint(&p, end, &maxt))
                return MALFORMED;
            int rc = cb->tombstone ? cb->tombstone(ud, ref, mint, maxt) : 0;
            if (rc) return rc;
        }
        return 0;
    case WAL_REC_CHUNKS: {
        uint64_t ref, n;
        if (wal_get_uvarint(&p, end, &ref) || wal_get_uvarint(&p, end, &n)) return MALFORMED;
        for (uint64_t i = 0; i < n; i++) {
            int64_t mint, maxt;
            uint64_t ns, len;
            if (wal_get_varint(&p, end, &mint) || wal_get_varint(&p, end, &maxt) ||
                wal_get_uvarint(&p, end, &ns) || wal_get_uvarint(&p, end, &len) ||
                len > (uint64_t)(end - p) || ns > UINT32_MAX)
                return MALFORMED;
            int rc = cb->chunk ? cb->chunk(ud, ref, mint, maxt, (uint32_t)ns, p, len) : 0;
            if (rc) return rc;
            p += len;
        }
        return p == end ? 0 : MALFORMED;
    }
    }
    return MALFORMED; /* unknown type: treated as corruption */
}

/* Replays one file. `last` allows truncating a torn tail. A callback's
 * error code is returned as is. */
static int replay_file(wal_t *w, const char *path, bool last, const wal_replay_cb_t *cb, void *ud,
                       vg_err_t *err) {
    char *data;
    size_t len;
    int rc = vg_file_read_all(path, (size_t)WAL_SEGMENT_MAX * 2, &data, &len, err);
    if (rc != VG_OK) return rc;
    const uint8_t *b = (const uint8_t *)data;
    size_t off = WAL_SEGMENT_HEADER;
    if (len < WAL_SEGMENT_HEADER || get_u32(b) != WAL_MAGIC || b[4] != WAL_VERSION) {
        /* A segment whose header never made it to disk holds nothing. */
        vg_log_warn("WAL segment has no valid header; ignoring it", "file", path, NULL);
        w->stats.corruptions++;
        free(data);
        return VG_OK;
    }
    while (off < len) {
        if (len - off < WAL_RECORD_HEADER) break; /* torn header */
        uint32_t n = get_u32(b + off);
        if (n > WAL_MAX_RECORD || n > len - off - WAL_RECORD_HEADER) break; /* torn payload */
        uint32_t crc = get_u32(b + off + 4);
        const uint8_t *rec = b + off + 8;
        off += WAL_RECORD_HEADER + n;
        if ((uint32_t)crc32(0, rec, n + 1) != crc) {
            w->stats.corruptions++;
            vg_log_warn("WAL record with a bad checksum skipped", "file", path, NULL);
            continue;
        }
        int drc = decode_record(rec[0], rec + 1, rec + 1 + n, cb, ud);
        if (drc == MALFORMED) {
            w->stats.corruptions++;
            vg_log_warn("WAL record with a malformed payload skipped", "file", path, NULL);
            continue;
        }
        if (drc != 0) {
            free(data);
            return drc;
        }
        w->stats.records_replayed++;
    }
    if (off < len) {
        w->stats.torn_bytes += len - off;
        if (last) {
            int fd = open(path, O_WRONLY | O_CLOEXEC);
            if (fd >= 0) {
                vg_fd_truncate(fd, (int64_t)off, path, NULL);
                vg_fd_fsync(fd, path, NULL);
                close(fd);
            }
            char bytes[32];
            snprintf(bytes, sizeof bytes, "%zu", len - off);
            vg_log_warn("Truncated a torn write at the end of the WAL", "file", path, "bytes",
                        bytes, NULL);
        } else {
            w->stats.corruptions++;
            vg_log_warn("WAL segment ends in a partial record", "file", path, NULL);
        }
    }
    free(data);
    return VG_OK;
}

int wal_replay(wal_t *w, const wal_replay_cb_t *cb, void *ud, vg_err_t *err) {
    int *segs;
    size_t n;
    int checkpoint;
    int rc = list_dir(w->dir, &segs, &n, &checkpoint, err);
    if (rc != VG_OK) return rc;
    if (checkpoint >= 0) {
        vg_buf_t path = VG_BUF_INIT;
        vg_buf_printf(&path, "%s/checkpoint.%08d/00000000", w->dir, checkpoint);
        rc = replay_file(w, path.data, false, cb, ud, err);
        vg_buf_free(&path);
    }
    int next = checkpoint + 1;
    w->stats.first_segment = -1;
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        if (segs[i] <= checkpoint) continue; /* left over from an interrupted truncation */
        if (w->stats.first_segment < 0) w->stats.first_segment = segs[i];
        char *path = segment_path(w->dir, segs[i]);
        rc = replay_file(w, path, i == n - 1, cb, ud, err);
        free(path);
        next = segs[i] + 1;
    }
    free(segs);
    if (rc != VG_OK) return rc;
    /* Writing always goes to a fresh segment, never after a repaired tail. */
    pthread_mutex_lock(&w->lock);
    rc = segment_create(w, next, err);
    w->stats.last_segment = next;
    if (w->stats.first_segment < 0) w->stats.first_segment = next;
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* ------------------------------------------------------------- writing */

static int cut_locked(wal_t *w, vg_err_t *err) {
    char *path = segment_path(w->dir, w->segment);
    int rc = vg_fd_fsync(w->fd, path, err);
    free(path);
    if (rc != VG_OK) return rc;
    w->stats.fsyncs++;
    close(w->fd);
    w->fd = -1;
    rc = segment_create(w, w->segment + 1, err);
    w->stats.last_segment = w->segment;
    return rc;
}

int wal_write(wal_t *w, const void *records, size_t len, vg_err_t *err) {
    pthread_mutex_lock(&w->lock);
    int rc = VG_OK;
    if (w->fd < 0) {
        /* A previous segment switch failed; try again now. */
        rc = segment_create(w, w->segment + 1, err);
    } else if (w->size + (int64_t)len > WAL_SEGMENT_MAX && w->size > WAL_SEGMENT_HEADER) {
        rc = cut_locked(w, err);
    }
    if (rc == VG_OK) {
        char *path = NULL;
        rc = vg_fd_write_all(w->fd, records, len, "WAL segment", err);
        if (rc != VG_OK) {
            /* Undo whatever part reached the file: the client gets an error
             * and nothing of the batch may be replayed later. */
            w->stats.write_failures++;
            path = segment_path(w->dir, w->segment);
            if (vg_fd_truncate(w->fd, w->size, path, NULL) != VG_OK ||
                lseek(w->fd, w->size, SEEK_SET) < 0) {
                /* Cannot repair in place: abandon the segment. The torn tail
                 * is cut at the next replay; writing goes on in a new one. */
                close(w->fd);
                w->fd = -1;
            }
            free(path);
        } else {
            w->size += (int64_t)len;
            w->dirty = true;
            w->stats.bytes_written += len;
            pthread_cond_broadcast(&w->moved);
        }
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

int wal_sync(wal_t *w, vg_err_t *err) {
    pthread_mutex_lock(&w->lock);
    int rc = VG_OK;
    if (w->fd >= 0 && w->dirty) {
        rc = vg_fd_fsync(w->fd, "WAL segment", err);
        if (rc == VG_OK) {
            w->dirty = false;
            w->stats.fsyncs++;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

int wal_cut(wal_t *w, int *out_closed, vg_err_t *err) {
    pthread_mutex_lock(&w->lock);
    int closed = w->segment;
    int rc = w->fd >= 0 ? cut_locked(w, err) : segment_create(w, w->segment + 1, err);
    pthread_mutex_unlock(&w->lock);
    if (out_closed) *out_closed = closed;
    return rc;
}

/* The lowest segment the holds keep, within the hold limits: a hold whose
 * segments exceed them loses its oldest ones. INT_MAX when nothing is held. */
static int held_from(wal_t *w, const int *segs, size_t n) {
    pthread_mutex_lock(&w->lock);
    int lowest = INT_MAX;
    for (size_t i = 0; i < w->n_holds; i++)
        if (w->holds[i].segment < lowest) lowest = w->holds[i].segment;
    uint64_t max_bytes = w->hold_max_bytes;
    int64_t max_age_ms = w->hold_max_age_ms;
    pthread_mutex_unlock(&w->lock);
    if (lowest == INT_MAX || (max_bytes == 0 && max_age_ms <= 0)) return lowest;
    uint64_t *sizes = vg_calloc(n ? n : 1, sizeof *sizes);
    int64_t *mtimes = vg_calloc(n ? n : 1, sizeof *mtimes);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        char *path = segment_path(w->dir, segs[i]);
        struct stat st;
        if (stat(path, &st) == 0) {
            sizes[i] = (uint64_t)st.st_size;
            mtimes[i] = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        }
        free(path);
        if (segs[i] >= lowest) total += sizes[i];
    }
    int64_t now = vg_time_now_ms();
    int keep = lowest;
    for (size_t i = 0; i < n; i++) {
        if (segs[i] < keep) continue;
        bool over = (max_bytes && total > max_bytes) ||
                    (max_age_ms > 0 && mtimes[i] && now - mtimes[i] > max_age_ms);
        if (!over || segs[i] == segs[n - 1]) break;
        total -= sizes[i];
        keep = segs[i] + 1;
    }
    if (keep != lowest) {
        char from[16], to[16];
        snprintf(from, sizeof from, "%d", lowest);
        snprintf(to, sizeof to, "%d", keep - 1);
        vg_log_warn("Deleting WAL segments a follower still needs: over the retention limit",
                    "from", from, "to", to, NULL);
    }
    free(sizes);
    free(mtimes);
    return keep;
}

static int remove_older(wal_t *w, int upto, int keep_checkpoint, bool holds, vg_err_t *err) {
    int *segs;
    size_t n;
    int newest;
    int rc = list_dir(w->dir, &segs, &n, &newest, err);
    if (rc != VG_OK) return rc;
    int keep_from = holds ? held_from(w, segs, n) : INT_MAX;
    for (size_t i = 0; i < n; i++) {
        if (segs[i] > upto || segs[i] >= keep_from) continue;
        char *path = segment_path(w->dir, segs[i]);
        unlink(path);
        free(path);
    }
    free(segs);
    DIR *d = opendir(w->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strncmp(e->d_name, "checkpoint.", 11) != 0) continue;
            int c = atoi(e->d_name + 11);
            bool tmp = strstr(e->d_name, ".tmp") != NULL;
            if (c == keep_checkpoint && !tmp) continue;
            vg_buf_t path = VG_BUF_INIT;
            vg_buf_printf(&path, "%s/%s", w->dir, e->d_name);
            vg_remove_all(path.data, NULL);
            vg_buf_free(&path);
        }
        closedir(d);
    }
    return vg_dir_fsync(w->dir, err);
}

int wal_checkpoint(wal_t *w, int upto, const void *records, size_t len, vg_err_t *err) {
    vg_buf_t dir = VG_BUF_INIT, tmp = VG_BUF_INIT, file = VG_BUF_INIT;
    vg_buf_printf(&dir, "%s/checkpoint.%08d", w->dir, upto);
    vg_buf_printf(&tmp, "%s.tmp", dir.data);
    vg_remove_all(tmp.data, NULL);
    int rc = vg_mkdir_all(tmp.data, err);
    if (rc == VG_OK) {
        vg_buf_printf(&file, "%s/00000000", tmp.data);
        int fd = open(file.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            rc = vg_err_set(err, VG_ERR_IO, "create %s: %s", file.data, strerror(errno));
        } else {
            uint8_t hdr[WAL_SEGMENT_HEADER] = {0};
            put_u32(hdr, WAL_MAGIC);
            hdr[4] = WAL_VERSION;
            rc = vg_fd_write_all(fd, hdr, sizeof hdr, file.data, err);
            if (rc == VG_OK) rc = vg_fd_write_all(fd, records, len, file.data, err);
            if (rc == VG_OK) rc = vg_fd_fsync(fd, file.data, err);
            close(fd);
        }
    }
    if (rc == VG_OK) rc = vg_dir_fsync(tmp.data, err);
    if (rc == VG_OK) {
        vg_remove_all(dir.data, NULL);
        if (rename(tmp.data, dir.data) != 0)
            rc = vg_err_set(err, VG_ERR_IO, "rename %s: %s", tmp.data, strerror(errno));
    }
    if (rc == VG_OK) rc = vg_dir_fsync(w->dir, err);
    if (rc == VG_OK)
        rc = remove_older(w, upto, upto, true, err);
    else
        vg_remove_all(tmp.data, NULL);
    vg_buf_free(&dir);
    vg_buf_free(&tmp);
    vg_buf_free(&file);
    return rc;
}

int wal_reset(wal_t *w, vg_err_t *err) {
    pthread_mutex_lock(&w->lock);
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    int rc = remove_older(w, w->segment, -1, false, err);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void wal_get_stats(wal_t *w, wal_stats_t *out) {
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    pthread_mutex_unlock(&w->lock);
}

/* ----------------------------------------------------------- followers */

const char *wal_dir(const wal_t *w) { return w->dir; }

void wal_position(wal_t *w, int *out_segment, int64_t *out_size) {
    pthread_mutex_lock(&w->lock);
    *out_segment = w->size > 0 ? w->segment : -1;
    *out_size = w->size;
    pthread_mutex_unlock(&w->lock);
}

bool wal_wait(wal_t *w, int segment, int64_t size, int timeout_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + (int64_t)timeout_ms * 1000000;
    ts.tv_sec += ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    pthread_mutex_lock(&w->lock);
    bool moved = w->segment != segment || w->size != size;
    while (!moved) {
        if (pthread_cond_timedwait(&w->moved, &w->lock, &ts) != 0) break;
        moved = w->segment != segment || w->size != size;
    }
    moved = w->segment != segment || w->size != size;
    pthread_mutex_unlock(&w->lock);
    return moved;
}

int wal_list(wal_t *w, int **out, size_t *out_n, int *out_checkpoint, vg_err_t *err) {
    return list_dir(w->dir, out, out_n, out_checkpoint, err);
}

int wal_record_next(const uint8_t *buf, size_t len, size_t *off, uint8_t *type,
                    const uint8_t **payload, uint32_t *n) {
    size_t o = *off;
    if (len < o || len - o < WAL_RECORD_HEADER) return 0;
    uint32_t plen = get_u32(buf + o);
    if (plen > WAL_MAX_RECORD) return -1;
    if (plen > len - o - WAL_RECORD_HEADER) return 0;
    const uint8_t *rec = buf + o + 8;
    *off = o + WAL_RECORD_HEADER + plen;
    if ((uint32_t)crc32(0, rec, plen + 1) != get_u32(buf + o + 4)) return -2;
    *type = rec[0];
    *payload = rec + 1;
    *n = plen;
    return 1;
}

int wal_record_decode(uint8_t type, const uint8_t *p, const uint8_t *end, const wal_replay_cb_t *cb,
                      void *ud) {
    return decode_record(type, p, end, cb, ud);
}

void wal_hold_set(wal_t *w, const char *name, int segment) {
    pthread_mutex_lock(&w->lock);
    size_t i = 0;
    while (i < w->n_holds && strcmp(w->holds[i].name, name) != 0)
        i++;
    if (i == w->n_holds) {
        w->holds = vg_realloc(w->holds, (w->n_holds + 1) * sizeof *w->holds);
        w->holds[i].name = vg_strdup(name);
        w->n_holds++;
    }
    w->holds[i].segment = segment;
    pthread_mutex_unlock(&w->lock);
}

void wal_hold_release(wal_t *w, const char *name) {
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < w->n_holds; i++)
        if (strcmp(w->holds[i].name, name) == 0) {
            free(w->holds[i].name);
            w->holds[i] = w->holds[--w->n_holds];
            break;
        }
    pthread_mutex_unlock(&w->lock);
}

void wal_hold_limits(wal_t *w, uint64_t max_bytes, int64_t max_age_ms) {
    pthread_mutex_lock(&w->lock);
    w->hold_max_bytes = max_bytes;
    w->hold_max_age_ms = max_age_ms;
    pthread_mutex_unlock(&w->lock);
}
