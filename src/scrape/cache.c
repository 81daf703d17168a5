/* This file implements the per-target scrape cache, after Prometheus's
 * scrapeCache: the raw text of each exposed series (name and labels as
 * written, which the parser hands out untouched) maps to the store's series
 * reference and final label set, so a series seen before costs one hash
 * lookup; series dropped by metric relabeling are remembered as dropped.
 * Two sets of label hashes (this scrape, the previous one) drive staleness,
 * and per-family metadata (HELP, TYPE, UNIT) is kept for the API. Tables
 * are open-addressed and keep their memory across scrapes. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "scrape_int.h"

uint64_t scrape_cache_key_hash(const char *key, size_t len) {
    uint64_t h = XXH3_64bits(key, len);
    return h ? h : 1;
}

void scrape_cache_init(scrape_cache_t *c, pthread_mutex_t *meta_lock) {
    memset(c, 0, sizeof *c);
    c->meta_lock = meta_lock;
    c->iter = 1;
}

static void hset_free(scrape_hset_t *s) {
    free(s->keys);
    free(s->vals);
    memset(s, 0, sizeof *s);
}

static void hset_clear(scrape_hset_t *s) {
    if (s->n == 0) return;
    memset(s->keys, 0, s->cap * sizeof *s->keys);
    s->n = 0;
}

static void hset_put(scrape_hset_t *s, uint64_t key, scrape_entry_t *v);

static void hset_grow(scrape_hset_t *s) {
    scrape_hset_t old = *s;
    s->cap = old.cap ? old.cap * 2 : 64;
    s->keys = vg_calloc(s->cap, sizeof *s->keys);
    s->vals = vg_calloc(s->cap, sizeof *s->vals);
    s->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i]) hset_put(s, old.keys[i], old.vals[i]);
    free(old.keys);
    free(old.vals);
}

static void hset_put(scrape_hset_t *s, uint64_t key, scrape_entry_t *v) {
    if (!key) key = 1;
    if ((s->n + 1) * 4 > s->cap * 3) hset_grow(s);
    size_t mask = s->cap - 1;
    for (size_t i = key & mask;; i = (i + 1) & mask) {
        if (s->keys[i] == key) return; /* the same series exposed twice */
        if (!s->keys[i]) {
            s->keys[i] = key;
            s->vals[i] = v;
            s->n++;
            return;
        }
    }
}

static bool hset_has(const scrape_hset_t *s, uint64_t key) {
    if (!key) key = 1;
    if (!s->n) return false;
    size_t mask = s->cap - 1;
    for (size_t i = key & mask; s->keys[i]; i = (i + 1) & mask)
        if (s->keys[i] == key) return true;
    return false;
}

static void entry_free(scrape_entry_t *e) {
    labels_free(e->lset);
    free(e);
}

static void meta_free(scrape_meta_t *m) {
    free(m->help);
    free(m->unit);
    free(m);
}

void scrape_cache_clear(scrape_cache_t *c) {
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i]) entry_free(c->slots[i]);
    if (c->cap) memset(c->slots, 0, c->cap * sizeof *c->slots);
    c->n = 0;
    if (c->meta_lock) pthread_mutex_lock(c->meta_lock);
    for (size_t i = 0; i < c->cap_meta; i++)
        if (c->meta[i]) meta_free(c->meta[i]);
    if (c->cap_meta) memset(c->meta, 0, c->cap_meta * sizeof *c->meta);
    c->n_meta = 0;
    if (c->meta_lock) pthread_mutex_unlock(c->meta_lock);
    hset_clear(&c->cur);
    hset_clear(&c->prev);
    c->successful_count = 0;
}

void scrape_cache_free(scrape_cache_t *c) {
    scrape_cache_clear(c);
    free(c->slots);
    free(c->meta);
    hset_free(&c->cur);
    hset_free(&c->prev);
    memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------ series */

static void slots_insert(scrape_entry_t **slots, size_t cap, scrape_entry_t *e) {
    size_t mask = cap - 1;
    size_t i = e->key_hash & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = e;
}

static void slots_rebuild(scrape_cache_t *c, size_t new_cap, bool keep_all) {
    scrape_entry_t **old = c->slots;
    size_t old_cap = c->cap;
    c->slots = vg_calloc(new_cap, sizeof *c->slots);
    c->cap = new_cap;
    c->n = 0;
    for (size_t i = 0; i < old_cap; i++) {
        scrape_entry_t *e = old[i];
        if (!e) continue;
        if (keep_all || e->last_iter == c->iter) {
            slots_insert(c->slots, c->cap, e);
            c->n++;
        } else {
            entry_free(e);
        }
    }
    free(old);
}

scrape_entry_t *scrape_cache_get(scrape_cache_t *c, const char *key, size_t len, uint64_t hash) {
    if (!c->n) return NULL;
    size_t mask = c->cap - 1;
    for (size_t i = hash & mask; c->slots[i]; i = (i + 1) & mask) {
        scrape_entry_t *e = c->slots[i];
        if (e->key_hash == hash && e->key_len == len && memcmp(e->key, key, len) == 0) {
            e->last_iter = c->iter;
            return e;
        }
    }
    return NULL;
}

scrape_entry_t *scrape_cache_add(scrape_cache_t *c, const char *key, size_t len, uint64_t hash,
                                 uint64_t ref, labels_t *lset) {
    if ((c->n + 1) * 4 > c->cap * 3) slots_rebuild(c, c->cap ? c->cap * 2 : 64, true);
    scrape_entry_t *e = vg_malloc(sizeof *e + len);
    e->key_hash = hash;
    e->ref = ref;
    e->lset = lset;
    e->lset_hash = lset ? labels_hash(lset) : 0;
    e->last_iter = c->iter;
    e->key_len = len;
    memcpy(e->key, key, len);
    slots_insert(c->slots, c->cap, e);
    c->n++;
    return e;
}

void scrape_cache_track(scrape_cache_t *c, scrape_entry_t *e) {
    hset_put(&c->cur, e->lset_hash, e);
}

void scrape_cache_untrack_all(scrape_cache_t *c) { hset_clear(&c->cur); }

void scrape_cache_each_stale(scrape_cache_t *c, void (*fn)(scrape_entry_t *e, void *ud), void *ud) {
    for (size_t i = 0; i < c->prev.cap; i++) {
        uint64_t k = c->prev.keys[i];
        if (k && !hset_has(&c->cur, k)) fn(c->prev.vals[i], ud);
    }
}

void scrape_cache_each_prev(scrape_cache_t *c, void (*fn)(scrape_entry_t *e, void *ud), void *ud) {
    for (size_t i = 0; i < c->prev.cap; i++)
        if (c->prev.keys[i]) fn(c->prev.vals[i], ud);
}

static void meta_flush(scrape_cache_t *c);

void scrape_cache_iter_done(scrape_cache_t *c, bool flush) {
    size_t count = c->n + c->n_meta;
    if (flush) {
        c->successful_count = count;
    } else if (count > c->successful_count * 2 + 1000) {
        /* Varying series in scrapes that all failed would grow the cache
         * without end: flush as Prometheus does. */
        flush = true;
    }
    if (flush) {
        /* Entries the previous scrape's set points at were seen in this
         * iteration or are being left behind with the swap below, so
         * freeing the unseen ones is safe once the stale pass ran. */
        size_t cap = c->cap;
        while (cap > 64 && c->n * 8 < cap)
            cap /= 2;
        if (c->cap) slots_rebuild(c, cap, false);
        meta_flush(c);
    }
    scrape_hset_t t = c->prev;
    c->prev = c->cur;
    c->cur = t;
    hset_clear(&c->cur);
    c->iter++;
}

/* ---------------------------------------------------------- metadata */

static void meta_insert(scrape_meta_t **tab, size_t cap, scrape_meta_t *m) {
    size_t mask = cap - 1;
    size_t i = m->hash & mask;
    while (tab[i])
        i = (i + 1) & mask;
    tab[i] = m;
}

/* Called with the lock held when there is one. */
static void meta_rebuild(scrape_cache_t *c, size_t cap, bool keep_all) {
    scrape_meta_t **old = c->meta;
    size_t old_cap = c->cap_meta;
    c->meta = vg_calloc(cap, sizeof *c->meta);
    c->cap_meta = cap;
    c->n_meta = 0;
    for (size_t i = 0; i < old_cap; i++) {
        scrape_meta_t *m = old[i];
        if (!m) continue;
        if (keep_all || m->last_iter == c->iter) {
            meta_insert(c->meta, cap, m);
            c->n_meta++;
        } else {
            meta_free(m);
        }
    }
    free(old);
}

static void meta_flush(scrape_cache_t *c) {
    if (!c->cap_meta) return;
    bool stale = false;
    for (size_t i = 0; i < c->cap_meta && !stale; i++)
        if (c->meta[i] && c->meta[i]->last_iter != c->iter) stale = true;
    if (!stale) return;
    if (c->meta_lock) pthread_mutex_lock(c->meta_lock);
    meta_rebuild(c, c->cap_meta, false);
    if (c->meta_lock) pthread_mutex_unlock(c->meta_lock);
}

static scrape_meta_t *meta_get(scrape_cache_t *c, const char *name, size_t len) {
    uint64_t h = scrape_cache_key_hash(name, len);
    if (c->cap_meta) {
        size_t mask = c->cap_meta - 1;
        for (size_t i = h & mask; c->meta[i]; i = (i + 1) & mask) {
            scrape_meta_t *m = c->meta[i];
            if (m->hash == h && m->name_len == len && memcmp(m->name, name, len) == 0) {
                m->last_iter = c->iter;
                return m;
            }
        }
    }
    scrape_meta_t *m = vg_calloc(1, sizeof *m + len + 1);
    m->hash = h;
    m->name_len = len;
    memcpy(m->name, name, len);
    m->last_iter = c->iter;
    if (c->meta_lock) pthread_mutex_lock(c->meta_lock);
    if ((c->n_meta + 1) * 4 > c->cap_meta * 3)
        meta_rebuild(c, c->cap_meta ? c->cap_meta * 2 : 16, true);
    meta_insert(c->meta, c->cap_meta, m);
    c->n_meta++;
    if (c->meta_lock) pthread_mutex_unlock(c->meta_lock);
    return m;
}

static bool same(const char *a, const char *b, size_t b_len) {
    if (!a) return b_len == 0;
    return strlen(a) == b_len && memcmp(a, b, b_len) == 0;
}

static void set_text(scrape_cache_t *c, char **field, const char *s, size_t len) {
    if (same(*field, s, len)) return;
    char *copy = vg_strndup(s, len);
    if (c->meta_lock) pthread_mutex_lock(c->meta_lock);
    char *old = *field;
    *field = copy;
    if (c->meta_lock) pthread_mutex_unlock(c->meta_lock);
    free(old);
}

void scrape_cache_set_help(scrape_cache_t *c, const char *name, size_t len, const char *help,
                           size_t help_len) {
    scrape_meta_t *m = meta_get(c, name, len);
    set_text(c, &m->help, help, help_len);
}

void scrape_cache_set_type(scrape_cache_t *c, const char *name, size_t len, expfmt_type_t t) {
    scrape_meta_t *m = meta_get(c, name, len);
    if (m->typed && m->type == t) return;
    if (c->meta_lock) pthread_mutex_lock(c->meta_lock);
    m->type = t;
    m->typed = true;
    if (c->meta_lock) pthread_mutex_unlock(c->meta_lock);
}

void scrape_cache_set_unit(scrape_cache_t *c, const char *name, size_t len, const char *unit,
                           size_t unit_len) {
    scrape_meta_t *m = meta_get(c, name, len);
    set_text(c, &m->unit, unit, unit_len);
}
