/* This file implements reading: selecting series by matchers into a
 * snapshot, iterating their samples, label names and values, and the head
 * statistics. */
#include "tsdb_int.h"

#include <stdlib.h>
#include <string.h>

/* A copied chunk of a selected series. */
typedef struct snap_chunk {
    int64_t mint, maxt;
    const uint8_t *data;
    size_t len;
} snap_chunk_t;

typedef struct snap_series {
    labels_t *labels;
    snap_chunk_t *chunks;
    size_t n_chunks;
} snap_series_t;

struct tsdb_series_set {
    int64_t mint, maxt;
    snap_series_t *series;
    size_t n;
    vg_arena_t *arena; /* chunk copies */
};

static bool overlaps(int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
    return a0 <= b1 && b0 <= a1;
}

static int cmp_series(const void *a, const void *b) {
    return labels_compare(((const snap_series_t *)a)->labels, ((const snap_series_t *)b)->labels);
}

/* Copies the chunks of s that overlap [mint, maxt]; stripe lock held.
 * Returns false when it has none. */
static bool snapshot_series(tsdb_series_set_t *set, const head_series_t *s, snap_series_t *out) {
    size_t n = 0;
    for (uint32_t c = 0; c < s->n_chunks; c++)
        n += overlaps(s->chunks[c]->mint, s->chunks[c]->maxt, set->mint, set->maxt);
    bool open = s->open.len > 0 && overlaps(s->open_mint, s->app.t, set->mint, set->maxt);
    n += open;
    if (n == 0) return false;
    out->chunks = vg_arena_alloc(set->arena, n * sizeof *out->chunks);
    out->n_chunks = 0;
    for (uint32_t c = 0; c <= s->n_chunks; c++) {
        snap_chunk_t *sc = &out->chunks[out->n_chunks];
        if (c < s->n_chunks) {
            const head_chunk_t *ch = s->chunks[c];
            if (!overlaps(ch->mint, ch->maxt, set->mint, set->maxt)) continue;
            sc->mint = ch->mint, sc->maxt = ch->maxt, sc->len = ch->len;
            uint8_t *copy = vg_arena_alloc(set->arena, ch->len);
            memcpy(copy, ch->data, ch->len);
            sc->data = copy;
        } else {
            if (!open) break;
            sc->mint = s->open_mint, sc->maxt = s->app.t, sc->len = s->open.len;
            uint8_t *copy = vg_arena_alloc(set->arena, s->open.len);
            memcpy(copy, s->open.data, s->open.len);
            sc->data = copy;
        }
        out->n_chunks++;
    }
    return true;
}

static void set_push(tsdb_series_set_t *set, size_t *cap, const snap_series_t *ss) {
    if (set->n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        set->series = vg_realloc(set->series, *cap * sizeof *set->series);
    }
    set->series[set->n++] = *ss;
}

/* Copies the matching series of one block into the set. */
static void select_block(tsdb_series_set_t *set, size_t *cap, const block_t *b,
                         labels_matcher_t *const *ms, size_t n_ms, block_page_cache_t *cache) {
    size_t n_ids;
    uint32_t *ids = block_select(b, ms, n_ms, &n_ids);
    block_chunk_ref_t *refs = NULL;
    size_t n_refs = 0, cap_refs = 0;
    for (size_t i = 0; i < n_ids; i++) {
        labels_t *ls = NULL;
        if (block_series(b, ids[i], &ls, &refs, &n_refs, &cap_refs, NULL) != VG_OK) continue;
        snap_series_t ss = {ls, NULL, 0};
        for (size_t c = 0; c < n_refs; c++) {
            if (!overlaps(refs[c].mint, refs[c].maxt, set->mint, set->maxt)) continue;
            const uint8_t *bytes;
            if (block_chunk_bytes(cache, b, &refs[c], &bytes, NULL) != VG_OK) continue;
            if (!ss.chunks) ss.chunks = vg_arena_alloc(set->arena, n_refs * sizeof *ss.chunks);
            uint8_t *copy = vg_arena_alloc(set->arena, refs[c].len);
            memcpy(copy, bytes, refs[c].len);
            ss.chunks[ss.n_chunks++] =
                (snap_chunk_t){refs[c].mint, refs[c].maxt, copy, refs[c].len};
        }
        if (ss.n_chunks)
            set_push(set, cap, &ss);
        else
            labels_free(ls);
    }
    free(refs);
    free(ids);
}

static int cmp_snap_chunk(const void *a, const void *b) {
    const snap_chunk_t *x = a, *y = b;
    return (x->mint > y->mint) - (x->mint < y->mint);
}

typedef struct tv {
    int64_t t;
    double v;
    size_t order; /* position in the input, so the sort is stable */
} tv_t;

static int cmp_tv(const void *a, const void *b) {
    const tv_t *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

/* Chunks that overlap in time (a block and the head, two overlapping
 * blocks) are decoded, merged with each timestamp once (the earlier
 * source wins) and re-encoded, so iterators only see ordered chunks. */
static void rechunk(tsdb_series_set_t *set, snap_series_t *ss) {
    bool overlap = false;
    for (size_t c = 1; c < ss->n_chunks && !overlap; c++)
        overlap = ss->chunks[c].mint <= ss->chunks[c - 1].maxt;
    if (!overlap) return;
    tv_t *all = NULL;
    size_t n = 0, cap = 0;
    for (size_t c = 0; c < ss->n_chunks; c++) {
        tsdb_chunk_iter_t it;
        if (tsdb_chunk_iter_init(&it, ss->chunks[c].data, ss->chunks[c].len, NULL) != VG_OK)
            continue;
        while (tsdb_chunk_iter_next(&it, NULL) == 1) {
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                all = vg_realloc(all, cap * sizeof *all);
            }
            all[n] = (tv_t){it.t, tsdb_chunk_iter_v_at(&it), n};
            n++;
        }
    }
    if (n > 1) qsort(all, n, sizeof *all, cmp_tv);
    size_t n_chunks = 0;
    snap_chunk_t *chunks =
        vg_arena_alloc(set->arena, (n / TSDB_CHUNK_MAX_SAMPLES + 1) * sizeof *chunks);
    for (size_t i = 0; i < n;) {
        vg_buf_t buf = VG_BUF_INIT;
        tsdb_chunk_app_t app;
        tsdb_chunk_app_init(&app, &buf);
        int64_t first = all[i].t, last = first;
        size_t cnt = 0;
        for (; i < n && cnt < TSDB_CHUNK_MAX_SAMPLES; i++) {
            if (cnt && all[i].t == last) continue;
            tsdb_chunk_app_append(&app, all[i].t, all[i].v, NULL);
            last = all[i].t;
            cnt++;
        }
        uint8_t *copy = vg_arena_alloc(set->arena, buf.len);
        memcpy(copy, buf.data, buf.len);
        chunks[n_chunks++] = (snap_chunk_t){first, last, copy, buf.len};
        vg_buf_free(&buf);
    }
    free(all);
    ss->chunks = chunks;
    ss->n_chunks = n_chunks;
}

/* After sorting, joins entries of the same series (from several blocks and
 * the head) into one, chunks in time order. */
static void merge_same(tsdb_series_set_t *set) {
    size_t k = 0;
    for (size_t i = 0; i < set->n;) {
        size_t j = i + 1;
        size_t total = set->series[i].n_chunks;
        while (j < set->n && labels_equal(set->series[i].labels, set->series[j].labels))
            total += set->series[j++].n_chunks;
        snap_series_t merged = set->series[i];
        if (j > i + 1) {
            merged.chunks = vg_arena_alloc(set->arena, total * sizeof *merged.chunks);
            merged.n_chunks = 0;
            for (size_t m = i; m < j; m++) {
                memcpy(merged.chunks + merged.n_chunks, set->series[m].chunks,
                       set->series[m].n_chunks * sizeof *merged.chunks);
                merged.n_chunks += set->series[m].n_chunks;
                if (m > i) labels_free(set->series[m].labels);
            }
            if (merged.n_chunks > 1)
                qsort(merged.chunks, merged.n_chunks, sizeof *merged.chunks, cmp_snap_chunk);
            rechunk(set, &merged);
        }
        set->series[k++] = merged;
        i = j;
    }
    set->n = k;
}

int tsdb_select(tsdb_t *db, int64_t mint, int64_t maxt, labels_matcher_t *const *matchers,
                size_t n_matchers, size_t limit, tsdb_series_set_t **out, vg_err_t *err) {
    (void)err;
    tsdb_series_set_t *set = vg_calloc(1, sizeof *set);
    set->mint = mint;
    set->maxt = maxt;
    set->arena = vg_arena_new(0);
    size_t cap = 0;
    pthread_rwlock_rdlock(&db->blocks_lock);
    block_page_cache_t cache;
    block_page_cache_init(&cache);
    for (size_t i = 0; i < db->n_blocks; i++) {
        const block_t *b = db->blocks[i];
        if (block_mint(b) > maxt || block_maxt(b) <= mint) continue;
        select_block(set, &cap, b, matchers, n_matchers, &cache);
    }
    block_page_cache_free(&cache);
    pthread_rwlock_unlock(&db->blocks_lock);
    size_t n_refs;
    uint32_t *refs = index_select(db, matchers, n_matchers, &n_refs);
    if (set->n + n_refs > cap) {
        cap = set->n + n_refs + 1;
        set->series = vg_realloc(set->series, cap * sizeof *set->series);
    }
    for (size_t i = 0; i < n_refs; i++) {
        head_series_t *s = head_series_by_ref(db, refs[i]);
        if (!s) continue;
        head_stripe_t *st = head_stripe_of(db, s->hash);
        pthread_mutex_lock(&st->lock);
        snap_series_t *ss = &set->series[set->n];
        if (snapshot_series(set, s, ss)) {
            ss->labels = head_series_labels(db, s);
            set->n++;
        }
        pthread_mutex_unlock(&st->lock);
    }
    free(refs);
    if (set->n > 1) qsort(set->series, set->n, sizeof *set->series, cmp_series);
    merge_same(set);
    if (limit && set->n > limit) {
        for (size_t i = limit; i < set->n; i++)
            labels_free(set->series[i].labels);
        set->n = limit;
    }
    *out = set;
    return VG_OK;
}

size_t tsdb_series_set_len(const tsdb_series_set_t *s) { return s->n; }

const labels_t *tsdb_series_set_labels(const tsdb_series_set_t *s, size_t i) {
    return s->series[i].labels;
}

void tsdb_series_set_free(tsdb_series_set_t *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++)
        labels_free(s->series[i].labels);
    free(s->series);
    vg_arena_free(s->arena);
    free(s);
}

/* ------------------------------------------------------------ iterator */

typedef struct iter_state {
    tsdb_chunk_iter_t ci;
    bool in_chunk; /* ci is positioned on a sample of chunk it->chunk */
    bool emitted;  /* last_t is set */
    int64_t last_t;
} iter_state_t;

void tsdb_iter_init(tsdb_iter_t *it, const tsdb_series_set_t *s, size_t i) {
    memset(it, 0, sizeof *it);
    it->set = s;
    it->series = i;
    it->mint = s->mint;
    it->maxt = s->maxt;
    it->chunk = SIZE_MAX; /* none opened yet */
    it->state = vg_calloc(1, sizeof(iter_state_t));
}

int tsdb_iter_next(tsdb_iter_t *it) {
    const snap_series_t *ss = &it->set->series[it->series];
    iter_state_t *st = it->state;
    for (;;) {
        int rc;
        if (!st->in_chunk) {
            size_t next = it->chunk == SIZE_MAX ? 0 : it->chunk + 1;
            if (next >= ss->n_chunks) return 0;
            it->chunk = next;
            if (tsdb_chunk_iter_init(&st->ci, ss->chunks[next].data, ss->chunks[next].len, NULL) !=
                VG_OK)
                return VG_ERR_INPUT;
            rc = tsdb_chunk_iter_seek(&st->ci, it->mint, NULL);
        } else {
            rc = tsdb_chunk_iter_next(&st->ci, NULL);
        }
        if (rc < 0) return rc;
        st->in_chunk = rc == 1;
        if (!st->in_chunk) continue;
        int64_t t = tsdb_chunk_iter_t_at(&st->ci);
        /* chunks are ordered and disjoint (see rechunk); this guard only
         * keeps a damaged chunk from yielding time going backwards */
        if (st->emitted && t <= st->last_t) continue;
        if (t > it->maxt) return 0;
        st->emitted = true;
        st->last_t = t;
        it->t = t;
        it->v = tsdb_chunk_iter_v_at(&st->ci);
        return 1;
    }
}

void tsdb_iter_done(tsdb_iter_t *it) {
    free(it->state);
    it->state = NULL;
}

/* -------------------------------------------------------------- labels */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and removes duplicates in place; returns the new count. */
static size_t sort_unique(char **v, size_t n) {
    if (n > 1) qsort(v, n, sizeof *v, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && strcmp(v[k - 1], v[i]) == 0) {
            free(v[i]);
            continue;
        }
        v[k++] = v[i];
    }
    return k;
}

static void push(char ***v, size_t *n, size_t *cap, const char *s) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *v = vg_realloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = vg_strdup(s);
}

/* Calls fn for every series that matches and has data in [mint, maxt]. */
static void each_series(tsdb_t *db, int64_t mint, int64_t maxt, labels_matcher_t *const *ms,
                        size_t n_ms, void (*fn)(tsdb_t *, const head_series_t *, void *),
                        void *ud) {
    size_t n_refs;
    uint32_t *refs = index_select(db, ms, n_ms, &n_refs);
    for (size_t i = 0; i < n_refs; i++) {
        head_series_t *s = head_series_by_ref(db, refs[i]);
        if (!s) continue;
        head_stripe_t *st = head_stripe_of(db, s->hash);
        pthread_mutex_lock(&st->lock);
        bool in_range = false;
        for (uint32_t c = 0; c < s->n_chunks && !in_range; c++)
            in_range = overlaps(s->chunks[c]->mint, s->chunks[c]->maxt, mint, maxt);
        if (!in_range && s->open.len > 0) in_range = overlaps(s->open_mint, s->app.t, mint, maxt);
        if (in_range) fn(db, s, ud);
        pthread_mutex_unlock(&st->lock);
    }
    free(refs);
}

typedef struct collect {
    char **v;
    size_t n, cap;
    uint32_t name_id; /* for values: the label; 0 for names */
} collect_t;

static void collect_names(tsdb_t *db, const head_series_t *s, void *ud) {
    collect_t *c = ud;
    for (uint16_t l = 0; l < s->n_labels; l++)
        push(&c->v, &c->n, &c->cap, labels_symtab_get(db->symtab, s->ids[2 * l]));
    /* keep memory bounded on huge selections */
    if (c->n > 100000) c->n = sort_unique(c->v, c->n);
}

static void collect_values(tsdb_t *db, const head_series_t *s, void *ud) {
    collect_t *c = ud;
    for (uint16_t l = 0; l < s->n_labels; l++)
        if (s->ids[2 * l] == c->name_id)
            push(&c->v, &c->n, &c->cap, labels_symtab_get(db->symtab, s->ids[2 * l + 1]));
    if (c->n > 100000) c->n = sort_unique(c->v, c->n);
}

/* Adds the names (name == NULL) or one label's values of the matching
 * series of every block in range. */
static void collect_blocks(tsdb_t *db, const char *name, int64_t mint, int64_t maxt,
                           labels_matcher_t *const *ms, size_t n_ms, collect_t *c) {
    pthread_rwlock_rdlock(&db->blocks_lock);
    for (size_t i = 0; i < db->n_blocks; i++) {
        const block_t *b = db->blocks[i];
        if (block_mint(b) > maxt || block_maxt(b) <= mint) continue;
        if (n_ms == 0) { /* straight from the postings table */
            if (name)
                block_label_values(b, name, &c->v, &c->n, &c->cap);
            else
                block_label_names(b, &c->v, &c->n, &c->cap);
            continue;
        }
        size_t n_ids;
        uint32_t *ids = block_select(b, ms, n_ms, &n_ids);
        block_chunk_ref_t *refs = NULL;
        size_t nr = 0, cap = 0;
        for (size_t k = 0; k < n_ids; k++) {
            labels_t *ls = NULL;
            if (block_series(b, ids[k], &ls, &refs, &nr, &cap, NULL) != VG_OK) continue;
            for (size_t l = 0; l < labels_len(ls); l++) {
                labels_label_t lb = labels_at(ls, l);
                if (!name) {
                    push(&c->v, &c->n, &c->cap, "");
                    free(c->v[c->n - 1]);
                    c->v[c->n - 1] = vg_strndup(lb.name, lb.name_len);
                } else if (strlen(name) == lb.name_len && memcmp(name, lb.name, lb.name_len) == 0) {
                    push(&c->v, &c->n, &c->cap, "");
                    free(c->v[c->n - 1]);
                    c->v[c->n - 1] = vg_strndup(lb.value, lb.value_len);
                }
            }
            labels_free(ls);
            if (c->n > 100000) c->n = sort_unique(c->v, c->n);
        }
        free(refs);
        free(ids);
    }
    pthread_rwlock_unlock(&db->blocks_lock);
}

int tsdb_label_names(tsdb_t *db, int64_t mint, int64_t maxt, labels_matcher_t *const *matchers,
                     size_t n_matchers, char ***out, size_t *out_n, vg_err_t *err) {
    (void)err;
    collect_t c = {0};
    collect_blocks(db, NULL, mint, maxt, matchers, n_matchers, &c);
    each_series(db, mint, maxt, matchers, n_matchers, collect_names, &c);
    *out_n = sort_unique(c.v, c.n);
    *out = c.v;
    return VG_OK;
}

int tsdb_label_values(tsdb_t *db, const char *name, int64_t mint, int64_t maxt,
                      labels_matcher_t *const *matchers, size_t n_matchers, char ***out,
                      size_t *out_n, vg_err_t *err) {
    (void)err;
    collect_t c = {0};
    collect_blocks(db, name, mint, maxt, matchers, n_matchers, &c);
    if (labels_symtab_find(db->symtab, name, strlen(name), &c.name_id))
        each_series(db, mint, maxt, matchers, n_matchers, collect_values, &c);
    *out_n = sort_unique(c.v, c.n);
    *out = c.v;
    return VG_OK;
}

void tsdb_strings_free(char **v, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* --------------------------------------------------------------- stats */

void tsdb_head_stats(tsdb_t *db, tsdb_head_stats_t *out) {
    memset(out, 0, sizeof *out);
    uint64_t mem = 0;
    for (size_t i = 0; i < HEAD_STRIPES; i++) {
        head_stripe_t *st = &db->stripes[i];
        pthread_mutex_lock(&st->lock);
        mem += st->n_buckets * sizeof(head_series_t *);
        for (size_t b = 0; b < st->n_buckets; b++)
            for (head_series_t *s = st->buckets[b]; s; s = s->hash_next) {
                out->n_series++;
                mem += sizeof *s + 2u * s->n_labels * sizeof(uint32_t) + s->open.cap +
                       s->cap_chunks * sizeof(head_chunk_t *);
                out->n_chunks += s->n_chunks + (s->open.len > 0);
                for (uint32_t c = 0; c < s->n_chunks; c++) {
                    out->n_samples += s->chunks[c]->n;
                    mem += sizeof(head_chunk_t) + s->chunks[c]->len;
                }
                if (s->open.len) out->n_samples += tsdb_chunk_app_n_samples(&s->app);
            }
        pthread_mutex_unlock(&st->lock);
    }
    head_index_t *ix = &db->index;
    pthread_rwlock_rdlock(&ix->lock);
    mem += ix->n_slots * sizeof *ix->slots + ix->cap_lists * sizeof *ix->lists +
           ix->cap_all * sizeof *ix->all;
    for (size_t i = 0; i < ix->n_lists; i++)
        mem += ix->lists[i].cap * sizeof(uint32_t);
    for (size_t i = 0; i < ix->n_names; i++)
        mem += ix->names[i].cap * sizeof(uint32_t);
    pthread_rwlock_unlock(&ix->lock);
    labels_symtab_stats_t ss;
    labels_symtab_stats(db->symtab, &ss);
    out->symbol_bytes = ss.memory_bytes;
    out->memory_bytes = mem + ss.memory_bytes;
    out->min_time = atomic_load(&db->min_time);
    out->max_time = atomic_load(&db->max_time);
}

static int cmp_row(const void *a, const void *b) {
    const tsdb_stat_row_t *x = a, *y = b;
    if (x->value != y->value) return x->value < y->value ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* Sorts rows by value (descending) and keeps the first `limit`. */
static size_t top(tsdb_stat_row_t *rows, size_t n, size_t limit) {
    if (n > 1) qsort(rows, n, sizeof *rows, cmp_row);
    for (size_t i = limit; i < n; i++)
        free(rows[i].name);
    return n < limit ? n : limit;
}

void tsdb_cardinality(tsdb_t *db, size_t limit, tsdb_cardinality_t *out) {
    memset(out, 0, sizeof *out);
    head_index_t *ix = &db->index;
    uint32_t name_id = 0;
    labels_symtab_find(db->symtab, LABELS_METRIC_NAME, LABELS_METRIC_NAME_LEN, &name_id);
    pthread_rwlock_rdlock(&ix->lock);
    out->series_by_pair = vg_malloc((ix->n_lists ? ix->n_lists : 1) * sizeof(tsdb_stat_row_t));
    out->series_by_metric = vg_malloc((ix->n_lists ? ix->n_lists : 1) * sizeof(tsdb_stat_row_t));
    for (size_t i = 0; i < ix->n_lists; i++) {
        const postings_list_t *pl = &ix->lists[i];
        const char *n = labels_symtab_get(db->symtab, (uint32_t)(pl->key >> 32));
        const char *v = labels_symtab_get(db->symtab, (uint32_t)pl->key);
        vg_buf_t b = VG_BUF_INIT;
        if ((uint32_t)(pl->key >> 32) == name_id && name_id) {
            out->series_by_metric[out->n_series_by_metric++] =
                (tsdb_stat_row_t){vg_strdup(v), pl->n};
        }
        vg_buf_printf(&b, "%s=%s", n, v);
        out->series_by_pair[out->n_series_by_pair++] = (tsdb_stat_row_t){vg_buf_detach(&b), pl->n};
    }
    out->values_by_label = vg_malloc((ix->n_names ? ix->n_names : 1) * sizeof(tsdb_stat_row_t));
    out->memory_by_label = vg_malloc((ix->n_names ? ix->n_names : 1) * sizeof(tsdb_stat_row_t));
    for (size_t i = 0; i < ix->n_names; i++) {
        const name_values_t *nv = &ix->names[i];
        const char *n = labels_symtab_get(db->symtab, nv->name_id);
        uint64_t bytes = 0;
        for (size_t k = 0; k < nv->n; k++)
            bytes += labels_symtab_strlen(labels_symtab_get(db->symtab, nv->value_ids[k]));
        out->values_by_label[out->n_values_by_label++] = (tsdb_stat_row_t){vg_strdup(n), nv->n};
        out->memory_by_label[out->n_memory_by_label++] = (tsdb_stat_row_t){vg_strdup(n), bytes};
    }
    pthread_rwlock_unlock(&ix->lock);
    out->n_series_by_metric = top(out->series_by_metric, out->n_series_by_metric, limit);
    out->n_series_by_pair = top(out->series_by_pair, out->n_series_by_pair, limit);
    out->n_values_by_label = top(out->values_by_label, out->n_values_by_label, limit);
    out->n_memory_by_label = top(out->memory_by_label, out->n_memory_by_label, limit);
}

void tsdb_cardinality_free(tsdb_cardinality_t *c) {
    tsdb_stat_row_t *lists[] = {c->series_by_metric, c->values_by_label, c->memory_by_label,
                                c->series_by_pair};
    size_t ns[] = {c->n_series_by_metric, c->n_values_by_label, c->n_memory_by_label,
                   c->n_series_by_pair};
    for (int l = 0; l < 4; l++) {
        for (size_t i = 0; i < ns[l]; i++)
            free(lists[l][i].name);
        free(lists[l]);
    }
}
