/* This file implements the life of persisted data: loading blocks at
 * start, cutting the head's oldest two hours into a block, compacting
 * adjacent blocks, retention by time and size, and deletion inside
 * blocks. All of it runs on the store's background thread (or under the
 * maintenance lock for deletion). */
#include "tsdb_int.h"

#include <dirent.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RANGE_MS HEAD_CHUNK_RANGE_MS
/* Compaction ranges grow by this factor: 2 h, 6 h, 18 h, 54 h, … */
#define RANGE_STEP 3
#define MAX_RANGE_MS (31LL * 24 * 3600 * 1000)

static int cmp_block(const void *a, const void *b) {
    const block_t *x = *(block_t *const *)a, *y = *(block_t *const *)b;
    if (block_mint(x) != block_mint(y)) return block_mint(x) < block_mint(y) ? -1 : 1;
    return strcmp(block_id(x), block_id(y));
}

/* Adds or removes blocks under the write lock; returns removed ones to
 * close after unlocking. */
static void blocks_swap(tsdb_t *db, block_t *add, block_t *const *remove, size_t n_remove) {
    pthread_rwlock_wrlock(&db->blocks_lock);
    size_t k = 0;
    for (size_t i = 0; i < db->n_blocks; i++) {
        bool gone = false;
        for (size_t r = 0; r < n_remove && !gone; r++)
            gone = db->blocks[i] == remove[r];
        if (!gone) db->blocks[k++] = db->blocks[i];
    }
    db->n_blocks = k;
    if (add) {
        db->blocks = vg_realloc(db->blocks, (db->n_blocks + 1) * sizeof *db->blocks);
        db->blocks[db->n_blocks++] = add;
        if (db->n_blocks > 1) qsort(db->blocks, db->n_blocks, sizeof *db->blocks, cmp_block);
    }
    pthread_rwlock_unlock(&db->blocks_lock);
}

static void block_delete_dir(block_t *b) {
    vg_buf_t gone = VG_BUF_INIT;
    vg_buf_printf(&gone, "%s.deleted", block_dir(b));
    rename(block_dir(b), gone.data); /* a half-removed block must not be loaded */
    vg_remove_all(gone.data, NULL);
    vg_buf_free(&gone);
}

int blocks_load(tsdb_t *db, vg_err_t *err) {
    if (vg_mkdir_all(db->blocks_dir, err) != VG_OK) return VG_ERR_IO;
    DIR *d = opendir(db->blocks_dir);
    if (!d) return vg_err_set(err, VG_ERR_IO, "open %s", db->blocks_dir);
    struct dirent *e;
    vg_buf_t path = VG_BUF_INIT;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        vg_buf_reset(&path);
        vg_buf_printf(&path, "%s/%s", db->blocks_dir, e->d_name);
        size_t len = strlen(e->d_name);
        if ((len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0) ||
            (len > 8 && strcmp(e->d_name + len - 8, ".deleted") == 0)) {
            vg_remove_all(path.data, NULL); /* left by an interrupted write or delete */
            continue;
        }
        if (len != BLOCK_ID_LEN) continue;
        vg_err_t berr = {0};
        block_t *b = block_open(path.data, &berr);
        if (!b) {
            /* Set it aside: vigil starts, and the data stays for inspection. */
            vg_buf_t aside = VG_BUF_INIT;
            vg_buf_printf(&aside, "%s/corrupted-%s", db->blocks_dir, e->d_name);
            rename(path.data, aside.data);
            vg_log_error("Damaged block set aside", "block", e->d_name, "err", berr.msg, NULL);
            vg_buf_free(&aside);
            continue;
        }
        db->blocks = vg_realloc(db->blocks, (db->n_blocks + 1) * sizeof *db->blocks);
        db->blocks[db->n_blocks++] = b;
    }
    closedir(d);
    vg_buf_free(&path);
    if (db->n_blocks > 1) qsort(db->blocks, db->n_blocks, sizeof *db->blocks, cmp_block);
    /* Drop blocks whose data a finished compaction already holds (it was
     * interrupted before deleting its sources). */
    for (;;) {
        block_t *victim = NULL;
        for (size_t i = 0; i < db->n_blocks && !victim; i++) {
            block_t *small = db->blocks[i];
            for (size_t j = 0; j < db->n_blocks && !victim; j++) {
                block_t *big = db->blocks[j];
                if (big == small || block_level(big) <= block_level(small)) continue;
                bool covered = block_n_sources(small) > 0;
                for (size_t s = 0; s < block_n_sources(small) && covered; s++) {
                    bool found = false;
                    for (size_t t = 0; t < block_n_sources(big) && !found; t++)
                        found = strcmp(block_source(small, s), block_source(big, t)) == 0;
                    covered = found;
                }
                if (covered) victim = small;
            }
        }
        if (!victim) break;
        block_t *rm[1] = {victim};
        blocks_swap(db, NULL, rm, 1);
        block_delete_dir(victim);
        block_close(victim);
    }
    return VG_OK;
}

void blocks_close_all(tsdb_t *db) {
    for (size_t i = 0; i < db->n_blocks; i++)
        block_close(db->blocks[i]);
    free(db->blocks);
    db->blocks = NULL;
    db->n_blocks = 0;
}

/* ------------------------------------------------------------ cutting */

typedef struct cut_series {
    labels_t *labels;
    block_chunk_in_t *chunks;
    size_t n;
    vg_buf_t data; /* the chunk bytes, copied */
} cut_series_t;

static int cmp_cut(const void *a, const void *b) {
    return labels_compare(((const cut_series_t *)a)->labels, ((const cut_series_t *)b)->labels);
}

/* Writes the head's chunks that lie in [start, end) as a level-1 block in
 * dir. A cut seals open chunks that end before `end` first (seal true); a
 * snapshot leaves the head alone and copies open chunks as they are. */
static int head_to_block(tsdb_t *db, const char *dir, int64_t start, int64_t end, bool seal,
                         char *out_id, vg_err_t *err) {
    size_t n_refs;
    uint32_t *refs = index_select(db, NULL, 0, &n_refs);
    cut_series_t *cs = vg_calloc(n_refs ? n_refs : 1, sizeof *cs);
    size_t n = 0;
    for (size_t i = 0; i < n_refs; i++) {
        head_series_t *s = head_series_by_ref(db, refs[i]);
        if (!s) continue;
        head_stripe_t *st = head_stripe_of(db, s->hash);
        pthread_mutex_lock(&st->lock);
        if (seal) head_series_seal_before(s, end);
        cut_series_t *c = &cs[n];
        for (uint32_t k = 0; k <= s->n_chunks; k++) {
            int64_t mint, maxt;
            uint16_t cnt;
            const void *bytes;
            size_t len;
            if (k < s->n_chunks) {
                const head_chunk_t *ch = s->chunks[k];
                mint = ch->mint, maxt = ch->maxt, cnt = ch->n, bytes = ch->data, len = ch->len;
            } else {
                if (seal || s->open.len == 0) break;
                mint = s->open_mint, maxt = s->app.t;
                cnt = (uint16_t)tsdb_chunk_app_n_samples(&s->app);
                bytes = s->open.data, len = s->open.len;
            }
            if (maxt >= end || mint < start) continue;
            c->chunks = vg_realloc(c->chunks, (c->n + 1) * sizeof *c->chunks);
            c->chunks[c->n++] =
                (block_chunk_in_t){mint, maxt, cnt, (const uint8_t *)(uintptr_t)c->data.len, len};
            vg_buf_append(&c->data, bytes, len);
        }
        if (c->n) {
            c->labels = head_series_labels(db, s);
            n++;
        }
        pthread_mutex_unlock(&st->lock);
    }
    free(refs);
    if (n > 1) qsort(cs, n, sizeof *cs, cmp_cut);
    block_writer_t *w = block_writer_new(dir, start, end, 1, err);
    int rc = w ? VG_OK : VG_ERR_IO;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < cs[i].n; k++) /* offsets into data become pointers now */
            cs[i].chunks[k].data =
                (const uint8_t *)cs[i].data.data + (uintptr_t)cs[i].chunks[k].data;
        if (rc == VG_OK) rc = block_writer_add(w, cs[i].labels, cs[i].chunks, cs[i].n, err);
        labels_free(cs[i].labels);
        free(cs[i].chunks);
        vg_buf_free(&cs[i].data);
    }
    free(cs);
    if (rc != VG_OK) {
        if (w) block_writer_abort(w);
        return rc;
    }
    return block_writer_finish(w, out_id, err);
}

/* Moves the head's chunks in [start, end) into a level-1 block. */
static int cut_head(tsdb_t *db, int64_t start, int64_t end, vg_err_t *err) {
    char id[BLOCK_ID_LEN + 1];
    int rc = head_to_block(db, db->blocks_dir, start, end, true, id, err);
    if (rc != VG_OK) return rc;
    if (id[0]) {
        vg_buf_t dir = VG_BUF_INIT;
        vg_buf_printf(&dir, "%s/%s", db->blocks_dir, id);
        block_t *b = block_open(dir.data, err);
        vg_buf_free(&dir);
        if (!b) return VG_ERR_IO;
        blocks_swap(db, b, NULL, 0);
        vg_log_info("Head cut into a block", "block", id, NULL);
    }
    /* The head lets go of what the block now holds; the WAL follows. */
    head_truncate_before(db, end);
    int closed;
    pthread_rwlock_wrlock(&db->commit_lock);
    rc = wal_cut(db->wal, &closed, err);
    pthread_rwlock_unlock(&db->commit_lock);
    if (rc != VG_OK) return rc;
    vg_buf_t ck = VG_BUF_INIT;
    head_encode_checkpoint(db, &ck);
    rc = wal_checkpoint(db->wal, closed, ck.data ? ck.data : "", ck.len, err);
    vg_buf_free(&ck);
    return rc;
}

/* --------------------------------------------------------- compaction */

typedef struct merge_src {
    const block_t *b;
    size_t n_ids;
    uint32_t *ids; /* series selected in this block, ascending */
    size_t pos;
    labels_t *cur;
} merge_src_t;

static void src_advance(merge_src_t *s, vg_err_t *err) {
    labels_free(s->cur);
    s->cur = NULL;
    block_chunk_ref_t *refs = NULL;
    size_t n = 0, cap = 0;
    while (s->pos < s->n_ids && !s->cur) {
        if (block_series(s->b, s->ids[s->pos], &s->cur, &refs, &n, &cap, err) != VG_OK) {
            s->cur = NULL;
            s->pos++;
            continue;
        }
    }
    free(refs);
}

typedef struct sample_vec {
    int64_t *t;
    double *v;
    size_t n, cap;
} sample_vec_t;

/* Merges the blocks into one new block (level+1), without the samples of
 * series matching `del` in [del_mint, del_maxt] when del is given. */
static int merge_blocks(tsdb_t *db, block_t *const *src, size_t n_src, int64_t mint, int64_t maxt,
                        labels_matcher_t *const *del, size_t n_del, int64_t del_mint,
                        int64_t del_maxt, vg_err_t *err) {
    int level = 0;
    for (size_t i = 0; i < n_src; i++)
        if (block_level(src[i]) > level) level = block_level(src[i]);
    block_writer_t *w = block_writer_new(db->blocks_dir, mint, maxt, del ? level : level + 1, err);
    if (!w) return VG_ERR_IO;
    for (size_t i = 0; i < n_src; i++)
        for (size_t s = 0; s < block_n_sources(src[i]); s++)
            block_writer_add_source(w, block_source(src[i], s));
    merge_src_t *ms = vg_calloc(n_src, sizeof *ms);
    for (size_t i = 0; i < n_src; i++) {
        ms[i].b = src[i];
        ms[i].ids = block_select(src[i], NULL, 0, &ms[i].n_ids);
        src_advance(&ms[i], err);
    }
    block_page_cache_t cache;
    block_page_cache_init(&cache);
    block_chunk_ref_t *refs = NULL;
    size_t n_refs = 0, cap_refs = 0;
    sample_vec_t sv = {0};
    vg_buf_t out = VG_BUF_INIT;
    block_chunk_in_t *ins = NULL;
    size_t cap_ins = 0;
    int rc = VG_OK;
    for (;;) {
        const labels_t *lowest = NULL;
        for (size_t i = 0; i < n_src; i++)
            if (ms[i].cur && (!lowest || labels_compare(ms[i].cur, lowest) < 0)) lowest = ms[i].cur;
        if (!lowest) break;
        labels_t *ls = labels_dup(lowest);
        bool deleting = false;
        if (del) {
            deleting = true;
            for (size_t m = 0; m < n_del && deleting; m++)
                deleting = labels_matcher_matches_labels(del[m], ls);
        }
        /* Gather every sample of this series from every source, in order. */
        sv.n = 0;
        for (size_t i = 0; i < n_src; i++) {
            if (!ms[i].cur || !labels_equal(ms[i].cur, ls)) continue;
            labels_t *dummy = NULL;
            if (block_series(ms[i].b, ms[i].ids[ms[i].pos], &dummy, &refs, &n_refs, &cap_refs,
                             err) == VG_OK) {
                for (size_t c = 0; c < n_refs; c++) {
                    const uint8_t *bytes;
                    if (block_chunk_bytes(&cache, ms[i].b, &refs[c], &bytes, err) != VG_OK)
                        continue;
                    tsdb_chunk_iter_t it;
                    if (tsdb_chunk_iter_init(&it, bytes, refs[c].len, NULL) != VG_OK) continue;
                    while (tsdb_chunk_iter_next(&it, NULL) == 1) {
                        if (deleting && it.t >= del_mint && it.t <= del_maxt) continue;
                        if (sv.n == sv.cap) {
                            sv.cap = sv.cap ? sv.cap * 2 : 1024;
                            sv.t = vg_realloc(sv.t, sv.cap * sizeof *sv.t);
                            sv.v = vg_realloc(sv.v, sv.cap * sizeof *sv.v);
                        }
                        sv.t[sv.n] = it.t;
                        sv.v[sv.n] = tsdb_chunk_iter_v_at(&it);
                        sv.n++;
                    }
                }
            }
            labels_free(dummy);
            ms[i].pos++;
            src_advance(&ms[i], err);
        }
        /* sources may overlap: sort by time (stable for equal t), keep the
         * first sample of each timestamp */
        bool sorted = true;
        for (size_t k = 1; k < sv.n && sorted; k++)
            sorted = sv.t[k] > sv.t[k - 1];
        if (!sorted) {
            /* insertion sort on the (rarely) overlapping runs */
            for (size_t k = 1; k < sv.n; k++) {
                int64_t t = sv.t[k];
                double v = sv.v[k];
                size_t j = k;
                while (j > 0 && sv.t[j - 1] > t) {
                    sv.t[j] = sv.t[j - 1];
                    sv.v[j] = sv.v[j - 1];
                    j--;
                }
                sv.t[j] = t;
                sv.v[j] = v;
            }
        }
        /* re-encode into chunks of 120 samples within 2-hour ranges */
        vg_buf_reset(&out);
        size_t n_ins = 0;
        size_t k = 0;
        while (k < sv.n) {
            vg_buf_t chunk = VG_BUF_INIT;
            tsdb_chunk_app_t app;
            tsdb_chunk_app_init(&app, &chunk);
            int64_t first = sv.t[k];
            int64_t range_end = first - (((first % RANGE_MS) + RANGE_MS) % RANGE_MS) + RANGE_MS;
            int64_t last = first;
            uint32_t cnt = 0;
            while (k < sv.n && cnt < HEAD_CHUNK_SAMPLES && sv.t[k] < range_end) {
                if (cnt == 0 || sv.t[k] > last) {
                    tsdb_chunk_app_append(&app, sv.t[k], sv.v[k], NULL);
                    last = sv.t[k];
                    cnt++;
                }
                k++;
            }
            if (n_ins == cap_ins) {
                cap_ins = cap_ins ? cap_ins * 2 : 16;
                ins = vg_realloc(ins, cap_ins * sizeof *ins);
            }
            ins[n_ins++] = (block_chunk_in_t){first, last, cnt, (const uint8_t *)(uintptr_t)out.len,
                                              chunk.len};
            vg_buf_append(&out, chunk.data, chunk.len);
            vg_buf_free(&chunk);
        }
        for (size_t c = 0; c < n_ins; c++)
            ins[c].data = (const uint8_t *)out.data + (uintptr_t)ins[c].data;
        if (rc == VG_OK && n_ins) rc = block_writer_add(w, ls, ins, n_ins, err);
        labels_free(ls);
        if (rc != VG_OK) break;
    }
    for (size_t i = 0; i < n_src; i++) {
        labels_free(ms[i].cur);
        free(ms[i].ids);
    }
    free(ms);
    free(refs);
    free(sv.t);
    free(sv.v);
    free(ins);
    vg_buf_free(&out);
    block_page_cache_free(&cache);
    if (rc != VG_OK) {
        block_writer_abort(w);
        return rc;
    }
    char id[BLOCK_ID_LEN + 1];
    rc = block_writer_finish(w, id, err);
    if (rc != VG_OK) return rc;
    block_t *nb = NULL;
    if (id[0]) {
        vg_buf_t dir = VG_BUF_INIT;
        vg_buf_printf(&dir, "%s/%s", db->blocks_dir, id);
        nb = block_open(dir.data, err);
        vg_buf_free(&dir);
        if (!nb) return VG_ERR_IO;
    }
    /* The new block goes in and the sources out in one step, so a reader
     * sees one or the other; then the sources' files go. */
    blocks_swap(db, nb, src, n_src);
    char n_text[24];
    snprintf(n_text, sizeof n_text, "%zu", n_src);
    vg_log_info(del ? "Block rewritten without deleted samples" : "Blocks compacted", "block",
                nb ? block_id(nb) : "(empty)", "sources", n_text, NULL);
    for (size_t i = 0; i < n_src; i++) {
        block_delete_dir(src[i]);
        block_close(src[i]);
    }
    return VG_OK;
}

/* Finds blocks that fill one window of a compaction range entirely before
 * `horizon` and merges them; returns true when it did something. */
static bool compact_once(tsdb_t *db, int64_t horizon, int64_t max_range) {
    for (int64_t range = RANGE_MS * RANGE_STEP; range <= max_range; range *= RANGE_STEP) {
        pthread_rwlock_rdlock(&db->blocks_lock);
        block_t **group = NULL;
        size_t n_group = 0;
        int64_t window = 0;
        for (size_t i = 0; i < db->n_blocks && !n_group; i++) {
            block_t *b = db->blocks[i];
            if (block_maxt(b) - block_mint(b) >= range) continue;
            int64_t start = block_mint(b) - (((block_mint(b) % range) + range) % range);
            if (start + range > horizon) continue; /* the window may still grow */
            size_t n = 0;
            for (size_t j = i; j < db->n_blocks; j++) {
                block_t *c = db->blocks[j];
                if (block_mint(c) >= start && block_maxt(c) <= start + range &&
                    block_maxt(c) - block_mint(c) < range)
                    n++;
            }
            if (n < 2) continue;
            group = vg_malloc(n * sizeof *group);
            for (size_t j = i; j < db->n_blocks; j++) {
                block_t *c = db->blocks[j];
                if (block_mint(c) >= start && block_maxt(c) <= start + range &&
                    block_maxt(c) - block_mint(c) < range)
                    group[n_group++] = c;
            }
            window = start;
        }
        pthread_rwlock_unlock(&db->blocks_lock);
        if (n_group) {
            vg_err_t err = {0};
            int64_t mint = INT64_MAX, maxt = INT64_MIN;
            for (size_t k = 0; k < n_group; k++) {
                if (block_mint(group[k]) < mint) mint = block_mint(group[k]);
                if (block_maxt(group[k]) > maxt) maxt = block_maxt(group[k]);
            }
            (void)window;
            int rc = merge_blocks(db, group, n_group, mint, maxt, NULL, 0, 0, 0, &err);
            free(group);
            if (rc != VG_OK) {
                vg_log_error("Compaction failed", "err", err.msg, NULL);
                return false;
            }
            return true;
        }
    }
    return false;
}

/* ---------------------------------------------------------- retention */

static uint64_t dir_size(const char *path) {
    uint64_t total = 0;
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    vg_buf_t p = VG_BUF_INIT;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        vg_buf_reset(&p);
        vg_buf_printf(&p, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(p.data, &st) != 0) continue;
        total += S_ISDIR(st.st_mode) ? dir_size(p.data) : (uint64_t)st.st_size;
    }
    vg_buf_free(&p);
    closedir(d);
    return total;
}

static void retention(tsdb_t *db) {
    /* Prometheus measures time retention from the newest data it holds. */
    int64_t newest = atomic_load(&db->max_time);
    pthread_rwlock_rdlock(&db->blocks_lock);
    if (db->n_blocks && block_maxt(db->blocks[db->n_blocks - 1]) > newest)
        newest = block_maxt(db->blocks[db->n_blocks - 1]);
    pthread_rwlock_unlock(&db->blocks_lock);
    for (;;) {
        block_t *victim = NULL;
        const char *why = NULL;
        pthread_rwlock_rdlock(&db->blocks_lock);
        uint64_t total = 0;
        for (size_t i = 0; i < db->n_blocks; i++)
            total += block_size(db->blocks[i]);
        for (size_t i = 0; i < db->n_blocks && !victim; i++) {
            if (block_maxt(db->blocks[i]) <= newest - db->opts.retention_ms)
                victim = db->blocks[i], why = "time";
        }
        if (!victim && db->opts.retention_bytes && db->n_blocks) {
            vg_buf_t wal = VG_BUF_INIT;
            vg_buf_printf(&wal, "%s/wal", db->dir);
            total += dir_size(wal.data);
            vg_buf_free(&wal);
            if (total > db->opts.retention_bytes) {
                victim = db->blocks[0]; /* the oldest */
                why = "size";
            }
        }
        pthread_rwlock_unlock(&db->blocks_lock);
        if (!victim) break;
        vg_log_info("Deleting block past retention", "block", block_id(victim), "retention", why,
                    NULL);
        block_t *rm[1] = {victim};
        blocks_swap(db, NULL, rm, 1);
        block_delete_dir(victim);
        block_close(victim);
    }
}

/* ---------------------------------------------------------- maintain */

void tsdb_maintain(tsdb_t *db) {
    pthread_mutex_lock(&db->maint_lock);
    vg_err_t err = {0};
    /* Cut while the head spans more than one and a half block ranges. */
    for (int guard = 0; guard < 1000; guard++) {
        int64_t mint = atomic_load(&db->min_time), maxt = atomic_load(&db->max_time);
        if (mint == INT64_MAX || maxt - mint <= RANGE_MS * 3 / 2) break;
        int64_t start = mint - (((mint % RANGE_MS) + RANGE_MS) % RANGE_MS);
        if (cut_head(db, start, start + RANGE_MS, &err) != VG_OK) {
            vg_log_error("Cutting the head into a block failed", "err", err.msg, NULL);
            break;
        }
    }
    /* Series whose samples all moved to blocks and that get no more go,
     * as Prometheus's head garbage collection does. */
    int64_t head_min = atomic_load(&db->min_time);
    if (head_min != INT64_MAX) {
        size_t gone = head_gc(db, head_min);
        if (gone) {
            char n_text[24];
            snprintf(n_text, sizeof n_text, "%zu", gone);
            vg_log_info("Head garbage collection", "series_removed", n_text, NULL);
        }
    }
    int64_t max_range = db->opts.retention_ms / 10;
    if (max_range > MAX_RANGE_MS) max_range = MAX_RANGE_MS;
    int64_t horizon = atomic_load(&db->min_time);
    if (horizon == INT64_MAX) horizon = atomic_load(&db->max_time);
    for (int guard = 0; guard < 100 && compact_once(db, horizon, max_range); guard++) {
    }
    retention(db);
    pthread_mutex_unlock(&db->maint_lock);
}

int blocks_delete(tsdb_t *db, int64_t mint, int64_t maxt, labels_matcher_t *const *ms, size_t n,
                  vg_err_t *err) {
    pthread_mutex_lock(&db->maint_lock);
    /* The blocks to rewrite are chosen once: those in range that hold a
     * matching series. */
    block_t **targets = NULL;
    size_t n_targets = 0;
    pthread_rwlock_rdlock(&db->blocks_lock);
    for (size_t i = 0; i < db->n_blocks; i++) {
        block_t *b = db->blocks[i];
        if (block_maxt(b) <= mint || block_mint(b) > maxt) continue;
        size_t hits;
        free(block_select(b, ms, n, &hits));
        if (!hits) continue;
        targets = vg_realloc(targets, (n_targets + 1) * sizeof *targets);
        targets[n_targets++] = b;
    }
    pthread_rwlock_unlock(&db->blocks_lock);
    int rc = VG_OK;
    for (size_t i = 0; i < n_targets && rc == VG_OK; i++) {
        block_t *one[1] = {targets[i]};
        rc = merge_blocks(db, one, 1, block_mint(targets[i]), block_maxt(targets[i]), ms, n, mint,
                          maxt, err);
    }
    free(targets);
    pthread_mutex_unlock(&db->maint_lock);
    return rc;
}

int tsdb_snapshot(tsdb_t *db, bool skip_head, char *out_name, size_t name_len, vg_err_t *err) {
    /* Prometheus names snapshots <UTC time>-<random hex>. */
    char stamp[32], id[BLOCK_ID_LEN + 1];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    unsigned long long rnd =
        (unsigned long long)vg_time_now_ms() * 2654435761ULL ^ (unsigned long long)getpid();
    snprintf(out_name, name_len, "%s-%016llx", stamp, rnd);
    vg_buf_t dir = VG_BUF_INIT, src = VG_BUF_INIT, dst = VG_BUF_INIT;
    vg_buf_printf(&dir, "%s/snapshots/%s", db->dir, out_name);
    int rc = vg_mkdir_all(dir.data, err);
    pthread_mutex_lock(&db->maint_lock); /* no block comes or goes meanwhile */
    pthread_rwlock_rdlock(&db->blocks_lock);
    static const char *const files[] = {"meta.json", "index", "chunks"};
    for (size_t i = 0; i < db->n_blocks && rc == VG_OK; i++) {
        vg_buf_reset(&dst);
        vg_buf_printf(&dst, "%s/%s", dir.data, block_id(db->blocks[i]));
        rc = vg_mkdir_all(dst.data, err);
        for (size_t f = 0; f < 3 && rc == VG_OK; f++) {
            /* blocks are immutable: hard links cost no space */
            vg_buf_reset(&src);
            vg_buf_reset(&dst);
            vg_buf_printf(&src, "%s/%s", block_dir(db->blocks[i]), files[f]);
            vg_buf_printf(&dst, "%s/%s/%s", dir.data, block_id(db->blocks[i]), files[f]);
            if (link(src.data, dst.data) != 0)
                rc = vg_err_set(err, VG_ERR_IO, "link %s: %s", dst.data, strerror(errno));
        }
    }
    pthread_rwlock_unlock(&db->blocks_lock);
    if (rc == VG_OK && !skip_head)
        rc = head_to_block(db, dir.data, INT64_MIN, INT64_MAX, false, id, err);
    pthread_mutex_unlock(&db->maint_lock);
    if (rc != VG_OK) vg_remove_all(dir.data, NULL);
    vg_buf_free(&dir);
    vg_buf_free(&src);
    vg_buf_free(&dst);
    return rc;
}
