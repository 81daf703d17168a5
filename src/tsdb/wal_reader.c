/* This file implements WAL followers (tsdb_wal_reader_*): readers that
 * walk the segment files as the WAL writes them, for remote_write. They
 * read the files with pread on their own descriptors and take the WAL's
 * lock only to learn how far the committed data goes, so a follower never
 * slows an append down, and it never sees a batch that is half written or
 * about to be undone. Also the holds that keep segments a follower still
 * needs. */
#include "tsdb_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes read per pread; a bigger record gets a read of its own size. */
#define READ_CHUNK (1u << 20)
#define MAX_LABELS 1024

struct tsdb_wal_reader {
    tsdb_t *db;
    int segment;
    int64_t offset;
    int fd; /* open on segment, or -1 */
    vg_buf_t buf;
    uint64_t lost;
};

/* Passes decoded records on to a visitor, converting labels. */
typedef struct forward {
    const tsdb_wal_visitor_t *v;
    void *ud;
} forward_t;

static int fwd_series(void *ud, uint64_t ref, const wal_label_t *wl, size_t n) {
    forward_t *f = ud;
    if (!f->v->series) return 0;
    labels_label_t ls[MAX_LABELS];
    if (n > MAX_LABELS) return 0;
    for (size_t i = 0; i < n; i++) {
        ls[i].name = wl[i].name;
        ls[i].name_len = wl[i].name_len;
        ls[i].value = wl[i].value;
        ls[i].value_len = wl[i].value_len;
    }
    return f->v->series(f->ud, ref, ls, n);
}

static int fwd_sample(void *ud, uint64_t ref, int64_t t, double v) {
    forward_t *f = ud;
    return f->v->sample ? f->v->sample(f->ud, ref, t, v) : 0;
}

static char *seg_path(tsdb_t *db, int segment) {
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_printf(&b, "%s/%08d", wal_dir(db->wal), segment);
    return vg_buf_detach(&b);
}

/* Reads up to want bytes at off into buf; returns how many (short at EOF). */
static ssize_t read_at(int fd, vg_buf_t *buf, size_t want, int64_t off) {
    vg_buf_reset(buf);
    vg_buf_reserve(buf, want);
    size_t got = 0;
    while (got < want) {
        ssize_t n = pread(fd, buf->data + got, want - got, (off_t)(off + (int64_t)got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        got += (size_t)n;
    }
    buf->len = got;
    return (ssize_t)got;
}

/* Scans records of fd from *off up to limit. series_only: only series
 * records reach the visitor and record_end is not called. Stops at a
 * record that is not complete (*stuck set) or when a callback returns
 * non-zero (that code; *off stays at the start of the record). */
static int scan(tsdb_wal_reader_t *r, int fd, int segment, int64_t *off, int64_t limit,
                bool series_only, const tsdb_wal_visitor_t *v, void *ud, int *records, bool *stuck,
                vg_err_t *err) {
    forward_t f = {v, ud};
    wal_replay_cb_t cb = {fwd_series, series_only ? NULL : fwd_sample, NULL, NULL};
    size_t want_min = 0;
    *stuck = false;
    while (*off < limit) {
        size_t avail = (size_t)(limit - *off);
        size_t want = avail < READ_CHUNK ? avail : READ_CHUNK;
        if (want_min > want) want = want_min <= avail ? want_min : avail;
        ssize_t got = read_at(fd, &r->buf, want, *off);
        if (got < 0)
            return vg_err_set(err, VG_ERR_IO, "read WAL segment %d: %s", segment, strerror(errno));
        if (got == 0) {
            *stuck = true;
            return VG_OK;
        }
        const uint8_t *b = (const uint8_t *)r->buf.data;
        size_t o = 0;
        bool progressed = false;
        for (;;) {
            size_t start = o;
            uint8_t type;
            const uint8_t *p;
            uint32_t n;
            int rc = wal_record_next(b, (size_t)got, &o, &type, &p, &n);
            if (rc == 0) {
                if (!progressed) {
                    /* The first record does not fit in what was read. */
                    size_t need = 0;
                    if ((size_t)got >= WAL_RECORD_HEADER)
                        need = WAL_RECORD_HEADER + ((size_t)b[0] | (size_t)b[1] << 8 |
                                                    (size_t)b[2] << 16 | (size_t)b[3] << 24);
                    if (need > (size_t)got && *off + (int64_t)need <= limit) {
                        want_min = need;
                        break;
                    }
                    *stuck = true;
                    return VG_OK;
                }
                break;
            }
            if (rc == -1) { /* garbage length: nothing after it can be trusted */
                *off = limit;
                *stuck = true;
                return VG_OK;
            }
            progressed = true;
            if (rc == -2) { /* bad CRC: skip, as replay does */
                *off += (int64_t)(o - start);
                continue;
            }
            int drc = wal_record_decode(type, p, p + n, &cb, &f);
            if (drc != 0 && drc != WAL_MALFORMED) return drc;
            *off += (int64_t)(o - start);
            if (series_only) continue;
            (*records)++;
            if (v->record_end) {
                tsdb_wal_pos_t pos = {segment, *off};
                int erc = v->record_end(ud, &pos);
                if (erc) return erc;
            }
        }
        if (progressed) want_min = 0;
    }
    return VG_OK;
}

/* Feeds the series of one whole file (a checkpoint, or a segment up to
 * `limit`, -1 for all of it) to the visitor. A missing file is fine. */
static int load_series(tsdb_wal_reader_t *r, const char *path, int64_t limit,
                       const tsdb_wal_visitor_t *v, void *ud, vg_err_t *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return VG_OK;
    struct stat st;
    int rc = VG_OK;
    if (fstat(fd, &st) == 0) {
        int64_t end = limit >= 0 && limit < st.st_size ? limit : st.st_size;
        int64_t off = WAL_SEGMENT_HEADER;
        int records = 0;
        bool stuck;
        rc = scan(r, fd, -1, &off, end, true, v, ud, &records, &stuck, err);
    }
    close(fd);
    return rc;
}

static int load_checkpoint(tsdb_wal_reader_t *r, int checkpoint, const tsdb_wal_visitor_t *v,
                           void *ud, vg_err_t *err) {
    if (checkpoint < 0) return VG_OK;
    vg_buf_t path = VG_BUF_INIT;
    vg_buf_printf(&path, "%s/checkpoint.%08d/00000000", wal_dir(r->db->wal), checkpoint);
    int rc = load_series(r, path.data, -1, v, ud, err);
    vg_buf_free(&path);
    return rc;
}

int tsdb_wal_reader_open(tsdb_t *db, const tsdb_wal_pos_t *from, const tsdb_wal_visitor_t *v,
                         void *ud, tsdb_wal_reader_t **out, bool *out_lost, vg_err_t *err) {
    *out = NULL;
    if (out_lost) *out_lost = false;
    int *segs;
    size_t n;
    int checkpoint;
    int rc = wal_list(db->wal, &segs, &n, &checkpoint, err);
    if (rc != VG_OK) return rc;
    int cur_seg;
    int64_t cur_size;
    wal_position(db->wal, &cur_seg, &cur_size);
    tsdb_wal_reader_t *r = vg_calloc(1, sizeof *r);
    r->db = db;
    r->fd = -1;
    if (!from) {
        r->segment = cur_seg < 0 ? 0 : cur_seg;
        r->offset = cur_seg < 0 ? WAL_SEGMENT_HEADER : cur_size;
    } else {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= segs[i] == from->segment;
        if (found) {
            r->segment = (int)from->segment;
            r->offset = from->offset < WAL_SEGMENT_HEADER ? WAL_SEGMENT_HEADER : from->offset;
        } else {
            /* Gone: resume at the first later segment, or, when the WAL
             * was emptied and numbered anew, at its oldest. */
            int next = -1;
            for (size_t i = 0; i < n && next < 0; i++)
                if (segs[i] > from->segment) next = segs[i];
            if (next < 0 && n > 0) next = segs[0];
            if (next < 0) next = cur_seg < 0 ? 0 : cur_seg;
            r->segment = next;
            r->offset = WAL_SEGMENT_HEADER;
            r->lost++;
            if (out_lost) *out_lost = true;
        }
    }
    /* Series known before the position: the checkpoint, then what the
     * segments after it declared up to the position. */
    rc = load_checkpoint(r, checkpoint, v, ud, err);
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        if (segs[i] <= checkpoint || segs[i] > r->segment) continue;
        char *path = seg_path(db, segs[i]);
        rc = load_series(r, path, segs[i] == r->segment ? r->offset : -1, v, ud, err);
        free(path);
    }
    free(segs);
    if (rc != VG_OK) {
        tsdb_wal_reader_free(r);
        return rc;
    }
    *out = r;
    return VG_OK;
}

/* Moves to the segment after the current one; when segments were deleted
 * in between, counts the loss and reloads the series of the checkpoint
 * that replaced them. false when there is no later segment yet. */
static bool next_segment(tsdb_wal_reader_t *r, const tsdb_wal_visitor_t *v, void *ud,
                         vg_err_t *err) {
    int *segs;
    size_t n;
    int checkpoint;
    if (wal_list(r->db->wal, &segs, &n, &checkpoint, err) != VG_OK) return false;
    int next = -1;
    for (size_t i = 0; i < n && next < 0; i++)
        if (segs[i] > r->segment) next = segs[i];
    free(segs);
    if (next < 0) return false;
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    if (next != r->segment + 1) {
        char from[16], to[16];
        snprintf(from, sizeof from, "%d", r->segment + 1);
        snprintf(to, sizeof to, "%d", next - 1);
        vg_log_warn("WAL segments a follower had not read were deleted", "from", from, "to", to,
                    NULL);
        r->lost++;
        load_checkpoint(r, checkpoint, v, ud, err);
    }
    r->segment = next;
    r->offset = WAL_SEGMENT_HEADER;
    return true;
}

int tsdb_wal_reader_read(tsdb_wal_reader_t *r, const tsdb_wal_visitor_t *v, void *ud,
                         int timeout_ms, vg_err_t *err) {
    int records = 0;
    bool waited = false;
    for (;;) {
        int cur_seg;
        int64_t cur_size;
        wal_position(r->db->wal, &cur_seg, &cur_size);
        if (r->fd < 0) {
            char *path = seg_path(r->db, r->segment);
            r->fd = open(path, O_RDONLY | O_CLOEXEC);
            int e = errno;
            free(path);
            if (r->fd < 0) {
                if (e != ENOENT)
                    return vg_err_set(err, VG_ERR_IO, "open WAL segment %d: %s", r->segment,
                                      strerror(e));
                if (r->segment < cur_seg || cur_seg < r->segment) {
                    /* deleted under us, or the WAL was emptied */
                    if (cur_seg < r->segment) r->segment = -1;
                    r->offset = WAL_SEGMENT_HEADER;
                    if (next_segment(r, v, ud, err)) continue;
                }
                goto wait;
            }
        }
        int64_t limit;
        bool current = r->segment == cur_seg;
        if (current) {
            limit = cur_size;
        } else {
            struct stat st;
            if (fstat(r->fd, &st) != 0)
                return vg_err_set(err, VG_ERR_IO, "stat WAL segment %d: %s", r->segment,
                                  strerror(errno));
            limit = st.st_size;
        }
        bool stuck = false;
        if (r->offset < limit) {
            int rc =
                scan(r, r->fd, r->segment, &r->offset, limit, false, v, ud, &records, &stuck, err);
            if (rc != VG_OK) return rc;
        }
        if (!current && cur_seg >= 0 && (r->offset >= limit || stuck)) {
            if (cur_seg < r->segment) r->segment = -1; /* emptied and renumbered */
            if (next_segment(r, v, ud, err)) continue;
        }
        if (records > 0) return records;
    wait:
        if (waited || timeout_ms <= 0) return records;
        wal_wait(r->db->wal, cur_seg, cur_size, timeout_ms);
        waited = true;
    }
}

void tsdb_wal_reader_pos(const tsdb_wal_reader_t *r, tsdb_wal_pos_t *out) {
    out->segment = r->segment;
    out->offset = r->offset;
}

uint64_t tsdb_wal_reader_lost(const tsdb_wal_reader_t *r) { return r->lost; }

void tsdb_wal_reader_free(tsdb_wal_reader_t *r) {
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    vg_buf_free(&r->buf);
    free(r);
}

void tsdb_wal_hold(tsdb_t *db, const char *name, int64_t segment) {
    wal_hold_set(db->wal, name, segment < 0 ? 0 : segment > INT32_MAX ? INT32_MAX : (int)segment);
}

void tsdb_wal_release(tsdb_t *db, const char *name) { wal_hold_release(db->wal, name); }

void tsdb_wal_hold_limits(tsdb_t *db, uint64_t max_bytes, int64_t max_age_ms) {
    wal_hold_limits(db->wal, max_bytes, max_age_ms);
}

labels_t *tsdb_series_labels_by_ref(tsdb_t *db, uint64_t ref) {
    head_series_t *s = head_series_by_ref(db, ref);
    return s ? head_series_labels(db, s) : NULL;
}

int64_t tsdb_head_max_time(tsdb_t *db) { return (int64_t)atomic_load(&db->max_time); }

uint64_t tsdb_wal_bytes_written(tsdb_t *db) {
    wal_stats_t st;
    wal_get_stats(db->wal, &st);
    return st.bytes_written;
}
