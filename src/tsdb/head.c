/* This file implements the in-memory head: series in lock-striped hash
 * tables, lookup by reference, appending into compressed chunks, and the
 * postings index that selection by label matchers runs on. */
#include "tsdb_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- stripes */

void head_init(tsdb_t *db) {
    for (size_t i = 0; i < HEAD_STRIPES; i++) {
        pthread_mutex_init(&db->stripes[i].lock, NULL);
        db->stripes[i].n_buckets = 16;
        db->stripes[i].buckets = vg_calloc(16, sizeof(head_series_t *));
    }
    pthread_mutex_init(&db->ref_pages_lock, NULL);
    pthread_mutex_init(&db->graveyard_lock, NULL);
    pthread_rwlock_init(&db->index.lock, NULL);
    db->index.n_slots = 1024;
    db->index.slots = vg_calloc(db->index.n_slots, sizeof *db->index.slots);
    db->index.next_ref = 1;
    atomic_store(&db->min_time, INT64_MAX);
    atomic_store(&db->max_time, INT64_MIN);
}

static void series_free(tsdb_t *db, head_series_t *s) {
    for (uint32_t i = 0; i < s->n_chunks; i++)
        free(s->chunks[i]);
    free(s->chunks);
    vg_buf_free(&s->open);
    for (uint16_t i = 0; i < 2 * s->n_labels; i++)
        labels_symtab_release(db->symtab, s->ids[i]);
    free(s);
}

void head_free(tsdb_t *db) {
    for (size_t i = 0; i < HEAD_STRIPES; i++) {
        head_stripe_t *st = &db->stripes[i];
        for (size_t b = 0; b < st->n_buckets; b++) {
            head_series_t *s = st->buckets[b];
            while (s) {
                head_series_t *next = s->hash_next;
                series_free(db, s);
                s = next;
            }
        }
        free(st->buckets);
        pthread_mutex_destroy(&st->lock);
    }
    for (size_t p = 0; p < HEAD_REF_PAGES; p++)
        free(atomic_load(&db->ref_pages[p]));
    pthread_mutex_destroy(&db->ref_pages_lock);
    for (head_series_t *g = db->graveyard, *next; g; g = next) {
        next = g->hash_next;
        series_free(db, g);
    }
    pthread_mutex_destroy(&db->graveyard_lock);
    head_index_t *ix = &db->index;
    for (size_t i = 0; i < ix->n_lists; i++)
        free(ix->lists[i].refs);
    free(ix->lists);
    for (size_t i = 0; i < ix->n_names; i++)
        free(ix->names[i].value_ids);
    free(ix->names);
    free(ix->slots);
    free(ix->all);
    pthread_rwlock_destroy(&ix->lock);
}

head_stripe_t *head_stripe_of(tsdb_t *db, uint64_t hash) {
    return &db->stripes[(hash >> 32) & (HEAD_STRIPES - 1)];
}

head_series_t *head_series_by_ref(tsdb_t *db, uint64_t ref) {
    uint64_t page = ref >> HEAD_REF_PAGE_BITS;
    if (page >= HEAD_REF_PAGES) return NULL;
    head_series_t **p = atomic_load_explicit(&db->ref_pages[page], memory_order_acquire);
    if (!p) return NULL;
    return __atomic_load_n(&p[ref & ((1u << HEAD_REF_PAGE_BITS) - 1)], __ATOMIC_ACQUIRE);
}

static void ref_publish(tsdb_t *db, uint64_t ref, head_series_t *s) {
    uint64_t page = ref >> HEAD_REF_PAGE_BITS;
    head_series_t **p = atomic_load_explicit(&db->ref_pages[page], memory_order_acquire);
    if (!p) {
        pthread_mutex_lock(&db->ref_pages_lock);
        p = atomic_load(&db->ref_pages[page]);
        if (!p) {
            p = vg_calloc((size_t)1 << HEAD_REF_PAGE_BITS, sizeof *p);
            atomic_store_explicit(&db->ref_pages[page], p, memory_order_release);
        }
        pthread_mutex_unlock(&db->ref_pages_lock);
    }
    __atomic_store_n(&p[ref & ((1u << HEAD_REF_PAGE_BITS) - 1)], s, __ATOMIC_RELEASE);
}

/* Whether s carries exactly the label set ls. */
static bool series_has_labels(tsdb_t *db, const head_series_t *s, const labels_t *ls) {
    size_t n = labels_len(ls);
    if (n != s->n_labels) return false;
    for (size_t i = 0; i < n; i++) {
        labels_label_t l = labels_at(ls, i);
        const char *name = labels_symtab_get(db->symtab, s->ids[2 * i]);
        const char *value = labels_symtab_get(db->symtab, s->ids[2 * i + 1]);
        if (labels_symtab_strlen(name) != l.name_len || memcmp(name, l.name, l.name_len) != 0 ||
            labels_symtab_strlen(value) != l.value_len || memcmp(value, l.value, l.value_len) != 0)
            return false;
    }
    return true;
}

static void stripe_grow(head_stripe_t *st) {
    size_t n = st->n_buckets * 2;
    head_series_t **b = vg_calloc(n, sizeof *b);
    for (size_t i = 0; i < st->n_buckets; i++) {
        head_series_t *s = st->buckets[i];
        while (s) {
            head_series_t *next = s->hash_next;
            size_t j = s->hash & (n - 1);
            s->hash_next = b[j];
            b[j] = s;
            s = next;
        }
    }
    free(st->buckets);
    st->buckets = b;
    st->n_buckets = n;
}

head_series_t *head_get_or_create(tsdb_t *db, const labels_t *ls, uint64_t hash, uint64_t ref,
                                  bool *created, vg_err_t *err) {
    head_stripe_t *st = head_stripe_of(db, hash);
    *created = false;
    pthread_mutex_lock(&st->lock);
    for (head_series_t *s = st->buckets[hash & (st->n_buckets - 1)]; s; s = s->hash_next) {
        if (s->hash == hash && series_has_labels(db, s, ls)) {
            pthread_mutex_unlock(&st->lock);
            return s;
        }
    }
    if (db->opts.max_series && atomic_load(&db->n_series) >= db->opts.max_series) {
        pthread_mutex_unlock(&st->lock);
        vg_err_set(err, TSDB_ERR_SERIES_LIMIT,
                   "too many series: the limit of %zu series is reached", db->opts.max_series);
        return NULL;
    }
    if (ref == 0) {
        pthread_rwlock_wrlock(&db->index.lock);
        ref = db->index.next_ref <= HEAD_MAX_REF ? db->index.next_ref++ : 0;
        pthread_rwlock_unlock(&db->index.lock);
    } else if (ref <= HEAD_MAX_REF) {
        pthread_rwlock_wrlock(&db->index.lock);
        if (ref >= db->index.next_ref) db->index.next_ref = ref + 1;
        pthread_rwlock_unlock(&db->index.lock);
    }
    if (ref == 0 || ref > HEAD_MAX_REF) {
        /* References are never reused while the WAL may name them; 2^28 of
         * them is a lifetime of churn, but the limit is checked, not assumed. */
        pthread_mutex_unlock(&st->lock);
        vg_err_set(err, TSDB_ERR_SERIES_LIMIT, "series reference space exhausted");
        return NULL;
    }
    size_t n = labels_len(ls);
    head_series_t *s = vg_calloc(1, sizeof *s + 2 * n * sizeof(uint32_t));
    s->hash = hash;
    s->n_labels = (uint16_t)n;
    labels_symtab_intern_labels(db->symtab, ls, s->ids);
    s->app.buf = &s->open;
    s->ref = ref;
    size_t b = hash & (st->n_buckets - 1);
    s->hash_next = st->buckets[b];
    st->buckets[b] = s;
    if (++st->n_series > st->n_buckets) stripe_grow(st);
    ref_publish(db, ref, s);
    atomic_fetch_add(&db->n_series, 1);
    pthread_mutex_unlock(&st->lock);
    index_add_series(db, s);
    *created = true;
    return s;
}

labels_t *head_series_labels(tsdb_t *db, const head_series_t *s) {
    return labels_symtab_labels(db->symtab, s->ids, s->n_labels);
}

void head_encode_series(tsdb_t *db, const head_series_t *s, vg_buf_t *b) {
    wal_put_uvarint(b, s->ref);
    wal_put_uvarint(b, s->n_labels);
    for (uint32_t i = 0; i < 2u * s->n_labels; i++) {
        const char *str = labels_symtab_get(db->symtab, s->ids[i]);
        wal_put_bytes(b, str, labels_symtab_strlen(str));
    }
}

void head_update_time_range(tsdb_t *db, int64_t t) {
    int64_t cur = atomic_load(&db->min_time);
    while (t < cur && !atomic_compare_exchange_weak(&db->min_time, &cur, t)) {
    }
    cur = atomic_load(&db->max_time);
    while (t > cur && !atomic_compare_exchange_weak(&db->max_time, &cur, t)) {
    }
}

/* ----------------------------------------------------------- appending */

static void chunks_push(head_series_t *s, head_chunk_t *c) {
    if (s->n_chunks == s->cap_chunks) {
        s->cap_chunks = s->cap_chunks ? s->cap_chunks * 2 : 4;
        s->chunks = vg_realloc(s->chunks, s->cap_chunks * sizeof *s->chunks);
    }
    s->chunks[s->n_chunks++] = c;
}

static head_chunk_t *chunk_make(int64_t mint, int64_t maxt, uint16_t n, const void *bytes,
                                size_t len) {
    head_chunk_t *c = vg_malloc(sizeof *c + len);
    c->mint = mint;
    c->maxt = maxt;
    c->n = n;
    c->len = (uint32_t)len;
    memcpy(c->data, bytes, len);
    return c;
}

static void seal_open(head_series_t *s) {
    if (s->open.len == 0) return;
    chunks_push(s, chunk_make(s->open_mint, s->app.t, (uint16_t)tsdb_chunk_app_n_samples(&s->app),
                              s->open.data, s->open.len));
    /* Keep the buffer's memory only if it is small: most series need about
     * the same again for their next chunk. */
    if (s->open.cap > 512) vg_buf_free(&s->open);
    s->open.len = 0;
}

int head_series_append(head_series_t *s, int64_t t, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if (s->has_last && t <= s->last_t) {
        if (t == s->last_t) return bits == s->last_v_bits ? VG_OK : TSDB_ERR_DUPLICATE;
        return TSDB_ERR_OUT_OF_ORDER;
    }
    if (s->open.len > 0 &&
        (tsdb_chunk_app_n_samples(&s->app) >= HEAD_CHUNK_SAMPLES || t >= s->open_end))
        seal_open(s);
    if (s->open.len == 0) {
        tsdb_chunk_app_init(&s->app, &s->open);
        s->open_mint = t;
        /* the end of the 2-hour range t falls in (floor division) */
        int64_t start =
            t - (((t % HEAD_CHUNK_RANGE_MS) + HEAD_CHUNK_RANGE_MS) % HEAD_CHUNK_RANGE_MS);
        s->open_end = start + HEAD_CHUNK_RANGE_MS;
    }
    tsdb_chunk_app_append(&s->app, t, v, NULL);
    s->last_t = t;
    s->last_v_bits = bits;
    s->has_last = true;
    return VG_OK;
}

void head_series_add_chunk(head_series_t *s, int64_t mint, int64_t maxt, uint16_t n,
                           const uint8_t *bytes, size_t len) {
    /* Checkpointed chunks come in time order; a chunk overlapping what the
     * series has (a repeated checkpoint load) is ignored. */
    if (s->has_last && mint <= s->last_t) return;
    seal_open(s);
    chunks_push(s, chunk_make(mint, maxt, n, bytes, len));
    tsdb_chunk_iter_t it;
    if (tsdb_chunk_iter_init(&it, bytes, len, NULL) == VG_OK) {
        while (tsdb_chunk_iter_next(&it, NULL) == 1) {
            s->last_t = it.t;
            s->last_v_bits = it.v_bits;
            s->has_last = true;
        }
    }
}

void head_series_seal_before(head_series_t *s, int64_t t) {
    if (s->open.len > 0 && s->app.t < t) seal_open(s);
}

size_t head_truncate_before(tsdb_t *db, int64_t t) {
    size_t dropped = 0;
    int64_t new_min = INT64_MAX;
    for (size_t i = 0; i < HEAD_STRIPES; i++) {
        head_stripe_t *st = &db->stripes[i];
        pthread_mutex_lock(&st->lock);
        for (size_t b = 0; b < st->n_buckets; b++)
            for (head_series_t *s = st->buckets[b]; s; s = s->hash_next) {
                uint32_t keep = 0;
                for (uint32_t c = 0; c < s->n_chunks; c++) {
                    if (s->chunks[c]->maxt < t) {
                        free(s->chunks[c]);
                        dropped++;
                    } else {
                        s->chunks[keep++] = s->chunks[c];
                    }
                }
                s->n_chunks = keep;
                if (keep && s->chunks[0]->mint < new_min) new_min = s->chunks[0]->mint;
                if (s->open.len && s->open_mint < new_min) new_min = s->open_mint;
            }
        pthread_mutex_unlock(&st->lock);
    }
    /* Samples appended meanwhile only lower the minimum further. */
    int64_t cur = atomic_load(&db->min_time);
    while (cur < new_min && !atomic_compare_exchange_weak(&db->min_time, &cur, new_min)) {
    }
    return dropped;
}

/* ------------------------------------------------------------ postings */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Returns the list for key, or NULL; index lock held. */
static postings_list_t *list_find(head_index_t *ix, uint64_t key) {
    size_t mask = ix->n_slots - 1;
    for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
        uint32_t slot = ix->slots[i];
        if (slot == 0) return NULL;
        if (ix->lists[slot - 1].key == key) return &ix->lists[slot - 1];
    }
}

static void slots_rehash(head_index_t *ix, size_t n_slots) {
    free(ix->slots);
    ix->slots = vg_calloc(n_slots, sizeof *ix->slots);
    ix->n_slots = n_slots;
    for (size_t l = 0; l < ix->n_lists; l++) {
        size_t i = mix64(ix->lists[l].key) & (n_slots - 1);
        while (ix->slots[i])
            i = (i + 1) & (n_slots - 1);
        ix->slots[i] = (uint32_t)(l + 1);
    }
}

static name_values_t *name_find(head_index_t *ix, uint32_t name_id) {
    for (size_t i = 0; i < ix->n_names; i++)
        if (ix->names[i].name_id == name_id) return &ix->names[i];
    return NULL;
}

static void refs_insert(uint32_t **refs, size_t *n, size_t *cap, uint32_t ref) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *refs = vg_realloc(*refs, *cap * sizeof **refs);
    }
    /* refs arrive almost always in order; the rare late one is moved in */
    size_t i = *n;
    while (i > 0 && (*refs)[i - 1] > ref) {
        (*refs)[i] = (*refs)[i - 1];
        i--;
    }
    (*refs)[i] = ref;
    (*n)++;
}

void index_add_series(tsdb_t *db, head_series_t *s) {
    head_index_t *ix = &db->index;
    pthread_rwlock_wrlock(&ix->lock);
    for (uint16_t l = 0; l < s->n_labels; l++) {
        uint32_t name = s->ids[2 * l], value = s->ids[2 * l + 1];
        uint64_t key = (uint64_t)name << 32 | value;
        postings_list_t *pl = list_find(ix, key);
        if (!pl) {
            if (ix->n_lists == ix->cap_lists) {
                ix->cap_lists = ix->cap_lists ? ix->cap_lists * 2 : 256;
                ix->lists = vg_realloc(ix->lists, ix->cap_lists * sizeof *ix->lists);
            }
            pl = &ix->lists[ix->n_lists++];
            memset(pl, 0, sizeof *pl);
            pl->key = key;
            if (ix->n_lists * 2 > ix->n_slots)
                slots_rehash(ix, ix->n_slots * 2);
            else {
                size_t i = mix64(key) & (ix->n_slots - 1);
                while (ix->slots[i])
                    i = (i + 1) & (ix->n_slots - 1);
                ix->slots[i] = (uint32_t)ix->n_lists;
            }
            name_values_t *nv = name_find(ix, name);
            if (!nv) {
                if (ix->n_names == ix->cap_names) {
                    ix->cap_names = ix->cap_names ? ix->cap_names * 2 : 32;
                    ix->names = vg_realloc(ix->names, ix->cap_names * sizeof *ix->names);
                }
                nv = &ix->names[ix->n_names++];
                memset(nv, 0, sizeof *nv);
                nv->name_id = name;
            }
            if (nv->n == nv->cap) {
                nv->cap = nv->cap ? nv->cap * 2 : 4;
                nv->value_ids = vg_realloc(nv->value_ids, nv->cap * sizeof *nv->value_ids);
            }
            nv->value_ids[nv->n++] = value;
        }
        refs_insert(&pl->refs, &pl->n, &pl->cap, (uint32_t)s->ref);
    }
    refs_insert(&ix->all, &ix->n_all, &ix->cap_all, (uint32_t)s->ref);
    pthread_rwlock_unlock(&ix->lock);
}

/* Union of the postings of every value of `name` for which `want` says
 * whether matcher m matches. Index lock held. */
static uint32_t *union_values(tsdb_t *db, uint32_t name_id, const labels_matcher_t *m,
                              bool want_match, size_t *out_n) {
    head_index_t *ix = &db->index;
    name_values_t *nv = name_find(ix, name_id);
    vg_buf_t acc = VG_BUF_INIT;
    size_t n = 0, n_lists = 0;
    if (nv) {
        for (size_t i = 0; i < nv->n; i++) {
            const char *v = labels_symtab_get(db->symtab, nv->value_ids[i]);
            if (labels_matcher_matches(m, v, labels_symtab_strlen(v)) != want_match) continue;
            postings_list_t *pl = list_find(ix, (uint64_t)name_id << 32 | nv->value_ids[i]);
            if (!pl) continue;
            vg_buf_append(&acc, pl->refs, pl->n * sizeof(uint32_t));
            n += pl->n;
            n_lists++;
        }
    }
    uint32_t *refs = (uint32_t *)vg_buf_detach(&acc);
    /* a series has one value per name, so the lists are disjoint */
    if (n_lists > 1) qsort(refs, n, sizeof *refs, postings_cmp);
    *out_n = n;
    return refs;
}

uint32_t *index_select(tsdb_t *db, labels_matcher_t *const *ms, size_t n_ms, size_t *out_n) {
    head_index_t *ix = &db->index;
    pthread_rwlock_rdlock(&ix->lock);
    uint32_t *result = NULL;
    size_t n = 0;
    bool have = false;
    /* First every matcher that needs the label present (positive sets),
     * then those that also match the empty string, as subtractions. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n_ms; i++) {
            const labels_matcher_t *m = ms[i];
            bool matches_empty = labels_matcher_matches_empty(m);
            if ((pass == 0) == matches_empty) continue;
            size_t name_len;
            const char *name = labels_matcher_name(m, &name_len);
            uint32_t name_id = 0;
            bool name_known = labels_symtab_find(db->symtab, name, name_len, &name_id) != NULL;
            if (pass == 0) {
                size_t nb = 0;
                uint32_t *b = name_known ? union_values(db, name_id, m, true, &nb) : NULL;
                if (!have) {
                    result = b;
                    n = nb;
                    have = true;
                } else {
                    n = postings_intersect(result, n, b, nb);
                    free(b);
                }
            } else {
                if (!have) {
                    result = vg_malloc((ix->n_all ? ix->n_all : 1) * sizeof *result);
                    memcpy(result, ix->all, ix->n_all * sizeof *result);
                    n = ix->n_all;
                    have = true;
                }
                if (!name_known) continue; /* nobody has the label: all match "" */
                size_t nb = 0;
                uint32_t *b = union_values(db, name_id, m, false, &nb);
                n = postings_subtract(result, n, b, nb);
                free(b);
            }
        }
    }
    if (!have) { /* no matchers: everything */
        result = vg_malloc((ix->n_all ? ix->n_all : 1) * sizeof *result);
        memcpy(result, ix->all, ix->n_all * sizeof *result);
        n = ix->n_all;
    }
    pthread_rwlock_unlock(&ix->lock);
    *out_n = n;
    return result;
}

/* ------------------------------------------------------------------ gc */

/* Takes the dead refs out of every postings list; drops lists and values
 * that end up empty. */
static void index_remove(tsdb_t *db, const uint32_t *dead, size_t n_dead) {
    head_index_t *ix = &db->index;
    pthread_rwlock_wrlock(&ix->lock);
    size_t kept_lists = 0;
    for (size_t l = 0; l < ix->n_lists; l++) {
        postings_list_t *pl = &ix->lists[l];
        size_t k = 0;
        for (size_t i = 0; i < pl->n; i++)
            if (!postings_contains(dead, n_dead, pl->refs[i])) pl->refs[k++] = pl->refs[i];
        pl->n = k;
        if (k == 0) {
            free(pl->refs);
            continue;
        }
        ix->lists[kept_lists++] = *pl;
    }
    ix->n_lists = kept_lists;
    /* values of each name: keep those that still have a list */
    for (size_t i = 0; i < ix->n_names; i++)
        ix->names[i].n = 0;
    size_t n_slots = 1024;
    while (n_slots < ix->n_lists * 2)
        n_slots *= 2;
    slots_rehash(ix, n_slots);
    for (size_t l = 0; l < ix->n_lists; l++) {
        name_values_t *nv = name_find(ix, (uint32_t)(ix->lists[l].key >> 32));
        if (!nv) continue;
        if (nv->n == nv->cap) {
            nv->cap = nv->cap ? nv->cap * 2 : 4;
            nv->value_ids = vg_realloc(nv->value_ids, nv->cap * sizeof *nv->value_ids);
        }
        nv->value_ids[nv->n++] = (uint32_t)ix->lists[l].key;
    }
    size_t k = 0;
    for (size_t i = 0; i < ix->n_all; i++)
        if (!postings_contains(dead, n_dead, ix->all[i])) ix->all[k++] = ix->all[i];
    ix->n_all = k;
    pthread_rwlock_unlock(&ix->lock);
}

size_t head_gc(tsdb_t *db, int64_t t) {
    int64_t now = vg_time_now_ms();
    /* free what died more than a minute ago */
    pthread_mutex_lock(&db->graveyard_lock);
    head_series_t **pp = &db->graveyard;
    while (*pp) {
        head_series_t *g = *pp;
        if (g->pending_t < now - 60000) {
            *pp = g->hash_next;
            series_free(db, g);
        } else {
            pp = &g->hash_next;
        }
    }
    pthread_mutex_unlock(&db->graveyard_lock);
    uint32_t *dead = NULL;
    size_t n_dead = 0, cap = 0;
    head_series_t *died = NULL;
    for (size_t i = 0; i < HEAD_STRIPES; i++) {
        head_stripe_t *st = &db->stripes[i];
        pthread_mutex_lock(&st->lock);
        for (size_t b = 0; b < st->n_buckets; b++) {
            head_series_t **link = &st->buckets[b];
            while (*link) {
                head_series_t *s = *link;
                if (s->n_chunks || s->open.len || s->pending || !s->has_last || s->last_t >= t) {
                    link = &s->hash_next;
                    continue;
                }
                *link = s->hash_next;
                st->n_series--;
                s->dead = true;
                s->pending_t = now;
                uint64_t page = s->ref >> HEAD_REF_PAGE_BITS;
                head_series_t **slots = atomic_load(&db->ref_pages[page]);
                if (slots)
                    __atomic_store_n(&slots[s->ref & ((1u << HEAD_REF_PAGE_BITS) - 1)], NULL,
                                     __ATOMIC_RELEASE);
                if (n_dead == cap) {
                    cap = cap ? cap * 2 : 256;
                    dead = vg_realloc(dead, cap * sizeof *dead);
                }
                dead[n_dead++] = (uint32_t)s->ref;
                s->hash_next = died;
                died = s;
            }
        }
        pthread_mutex_unlock(&st->lock);
    }
    if (n_dead) {
        qsort(dead, n_dead, sizeof *dead, postings_cmp);
        index_remove(db, dead, n_dead);
        atomic_fetch_sub(&db->n_series, n_dead);
        pthread_mutex_lock(&db->graveyard_lock);
        while (died) {
            head_series_t *next = died->hash_next;
            died->hash_next = db->graveyard;
            db->graveyard = died;
            died = next;
        }
        pthread_mutex_unlock(&db->graveyard_lock);
    }
    free(dead);
    return n_dead;
}
