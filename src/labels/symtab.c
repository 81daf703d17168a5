/*
 * This file implements labels_symtab_t, the string interning table the
 * storage engine keeps label names and values in, so that each distinct
 * string is stored once and a series is an array of 32-bit ids.
 *
 * Layout: strings are hashed (xxHash3) into 64 stripes, each an open-
 * addressing table (linear probing, backward-shift deletion) under its own
 * mutex, so interning from many ingest threads rarely contends. Each string
 * lives in its own allocation with a small header (hash, length, id,
 * reference count) in front of its NUL-terminated bytes, so the pointer
 * handed out is stable and its length is O(1). Ids map back to strings
 * through a two-level page table whose pages are published with release
 * stores and never move, which makes labels_symtab_get lock-free. Released
 * ids go on a free list and are reused, keeping the id space dense.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "labels/labels_int.h"

#define N_STRIPES 64
#define STRIPE_SHIFT 26 /* stripe = hash32 >> 26 */
#define PAGE_BITS 12
#define PAGE_SIZE (1u << PAGE_BITS)
#define MAX_PAGES (1u << 16) /* 2^28 ids */

typedef struct sym {
    uint32_t hash;
    uint32_t len;
    uint32_t id;
    uint32_t refs;
    char str[];
} sym_t;

/* The hash sits in the slot so that a probe touches a string only when the
 * hashes agree: one cache miss fewer per step on a big table. */
typedef struct slot {
    sym_t *p; /* NULL: empty */
    uint32_t hash;
} slot_t;

typedef struct stripe {
    pthread_mutex_t mu;
    slot_t *slots;
    size_t cap; /* a power of two, or 0 */
    size_t n;
} __attribute__((aligned(64))) stripe_t;

struct labels_symtab {
    stripe_t stripes[N_STRIPES];
    pthread_mutex_t id_mu;
    uint32_t next_id;
    uint32_t *free_ids;
    size_t n_free, free_cap;
    size_t n_pages;
    _Atomic(sym_t *) *_Atomic *pages; /* MAX_PAGES page pointers */
    _Atomic size_t n_strings, string_bytes, memory_bytes;
};

labels_symtab_t *labels_symtab_new(void) {
    labels_symtab_t *t = aligned_alloc(64, sizeof *t);
    if (!t) {
        vg_log_error("out of memory", "what", "symbol table", NULL);
        abort();
    }
    memset(t, 0, sizeof *t);
    for (int i = 0; i < N_STRIPES; i++)
        pthread_mutex_init(&t->stripes[i].mu, NULL);
    pthread_mutex_init(&t->id_mu, NULL);
    t->next_id = 1;
    /* calloc of a big block maps zero pages: untouched entries cost nothing. */
    t->pages = vg_calloc(MAX_PAGES, sizeof *t->pages);
    atomic_store(&t->memory_bytes, sizeof *t);
    return t;
}

void labels_symtab_free(labels_symtab_t *t) {
    if (!t) return;
    for (int i = 0; i < N_STRIPES; i++) {
        stripe_t *st = &t->stripes[i];
        for (size_t j = 0; j < st->cap; j++)
            free(st->slots[j].p);
        free(st->slots);
        pthread_mutex_destroy(&st->mu);
    }
    for (size_t p = 0; p < MAX_PAGES; p++)
        free((void *)atomic_load(&t->pages[p]));
    free(t->pages);
    free(t->free_ids);
    pthread_mutex_destroy(&t->id_mu);
    free(t);
}

static inline sym_t *sym_of(const char *s) { return (sym_t *)(void *)(s - offsetof(sym_t, str)); }

size_t labels_symtab_strlen(const char *interned) { return sym_of(interned)->len; }

/* Finds s in a locked stripe; returns its slot index or the empty slot. */
static size_t probe(const stripe_t *st, uint32_t h, const char *s, size_t len, bool *found) {
    size_t mask = st->cap - 1, i = h & mask;
    for (;;) {
        const slot_t *sl = &st->slots[i];
        if (!sl->p) {
            *found = false;
            return i;
        }
        sym_t *y = sl->p;
        if (sl->hash == h && y->len == len && memcmp(y->str, s, len) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static void grow(labels_symtab_t *t, stripe_t *st) {
    size_t cap = st->cap ? st->cap * 2 : 64;
    slot_t *slots = vg_calloc(cap, sizeof *slots);
    for (size_t j = 0; j < st->cap; j++) {
        if (!st->slots[j].p) continue;
        size_t i = st->slots[j].hash & (cap - 1);
        while (slots[i].p)
            i = (i + 1) & (cap - 1);
        slots[i] = st->slots[j];
    }
    free(st->slots);
    atomic_fetch_add(&t->memory_bytes, (cap - st->cap) * sizeof *slots);
    st->slots = slots;
    st->cap = cap;
}

static uint32_t id_alloc(labels_symtab_t *t) {
    pthread_mutex_lock(&t->id_mu);
    uint32_t id;
    if (t->n_free) {
        id = t->free_ids[--t->n_free];
    } else {
        if (t->next_id >= MAX_PAGES * PAGE_SIZE) {
            pthread_mutex_unlock(&t->id_mu);
            vg_log_error("symbol table full", NULL);
            abort();
        }
        id = t->next_id++;
        size_t p = id >> PAGE_BITS;
        if (!atomic_load_explicit(&t->pages[p], memory_order_relaxed)) {
            _Atomic(sym_t *) *page = vg_calloc(PAGE_SIZE, sizeof *page);
            atomic_store_explicit(&t->pages[p], page, memory_order_release);
            atomic_fetch_add(&t->memory_bytes, PAGE_SIZE * sizeof *page);
        }
    }
    pthread_mutex_unlock(&t->id_mu);
    return id;
}

static void id_free(labels_symtab_t *t, uint32_t id) {
    pthread_mutex_lock(&t->id_mu);
    if (t->n_free == t->free_cap) {
        t->free_cap = t->free_cap ? t->free_cap * 2 : 256;
        t->free_ids = vg_realloc(t->free_ids, t->free_cap * sizeof *t->free_ids);
    }
    t->free_ids[t->n_free++] = id;
    pthread_mutex_unlock(&t->id_mu);
}

static inline _Atomic(sym_t *) *id_slot(const labels_symtab_t *t, uint32_t id) {
    if (id == 0 || id >= MAX_PAGES * PAGE_SIZE) return NULL;
    _Atomic(sym_t *) *page =
        atomic_load_explicit(&((labels_symtab_t *)t)->pages[id >> PAGE_BITS], memory_order_acquire);
    return page ? &page[id & (PAGE_SIZE - 1)] : NULL;
}

static const char *lookup(labels_symtab_t *t, const char *s, size_t len, uint32_t *out_id,
                          bool insert) {
    if (len > UINT32_MAX - 1) {
        vg_log_error("string too long to intern", NULL);
        abort();
    }
    uint32_t h = (uint32_t)XXH3_64bits(s, len);
    stripe_t *st = &t->stripes[h >> STRIPE_SHIFT];
    pthread_mutex_lock(&st->mu);
    bool found = false;
    size_t i = st->cap ? probe(st, h, s, len, &found) : 0;
    if (found) {
        sym_t *y = st->slots[i].p;
        if (insert) y->refs++;
        pthread_mutex_unlock(&st->mu);
        if (out_id) *out_id = y->id;
        return y->str;
    }
    if (!insert) {
        pthread_mutex_unlock(&st->mu);
        if (out_id) *out_id = 0;
        return NULL;
    }
    if ((st->n + 1) * 4 > st->cap * 3) {
        grow(t, st);
        i = probe(st, h, s, len, &found);
    }
    sym_t *y = vg_malloc(sizeof *y + len + 1);
    y->hash = h;
    y->len = (uint32_t)len;
    y->refs = 1;
    if (len) memcpy(y->str, s, len);
    y->str[len] = 0;
    y->id = id_alloc(t);
    st->slots[i].p = y;
    st->slots[i].hash = h;
    st->n++;
    atomic_store_explicit(id_slot(t, y->id), y, memory_order_release);
    pthread_mutex_unlock(&st->mu);
    atomic_fetch_add(&t->n_strings, 1);
    atomic_fetch_add(&t->string_bytes, len);
    atomic_fetch_add(&t->memory_bytes, sizeof *y + len + 1);
    if (out_id) *out_id = y->id;
    return y->str;
}

const char *labels_symtab_intern(labels_symtab_t *t, const char *s, size_t len, uint32_t *out_id) {
    return lookup(t, s, len, out_id, true);
}

const char *labels_symtab_find(labels_symtab_t *t, const char *s, size_t len, uint32_t *out_id) {
    return lookup(t, s, len, out_id, false);
}

const char *labels_symtab_get(const labels_symtab_t *t, uint32_t id) {
    _Atomic(sym_t *) *slot = id_slot(t, id);
    if (!slot) return NULL;
    sym_t *y = atomic_load_explicit(slot, memory_order_acquire);
    return y ? y->str : NULL;
}

void labels_symtab_ref(labels_symtab_t *t, uint32_t id) {
    const char *s = labels_symtab_get(t, id);
    if (!s) return;
    sym_t *y = sym_of(s);
    stripe_t *st = &t->stripes[y->hash >> STRIPE_SHIFT];
    pthread_mutex_lock(&st->mu);
    y->refs++;
    pthread_mutex_unlock(&st->mu);
}

void labels_symtab_release(labels_symtab_t *t, uint32_t id) {
    const char *s = labels_symtab_get(t, id);
    if (!s) return;
    sym_t *y = sym_of(s);
    stripe_t *st = &t->stripes[y->hash >> STRIPE_SHIFT];
    pthread_mutex_lock(&st->mu);
    if (--y->refs > 0) {
        pthread_mutex_unlock(&st->mu);
        return;
    }
    /* Remove with backward shift so probe chains stay unbroken. */
    bool found = false;
    size_t mask = st->cap - 1, i = probe(st, y->hash, y->str, y->len, &found);
    st->slots[i].p = NULL;
    for (size_t j = (i + 1) & mask; st->slots[j].p; j = (j + 1) & mask) {
        size_t home = st->slots[j].hash & mask;
        bool move = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
        if (move) {
            st->slots[i] = st->slots[j];
            st->slots[j].p = NULL;
            i = j;
        }
    }
    st->n--;
    atomic_store_explicit(id_slot(t, y->id), NULL, memory_order_release);
    pthread_mutex_unlock(&st->mu);
    id_free(t, y->id);
    atomic_fetch_sub(&t->n_strings, 1);
    atomic_fetch_sub(&t->string_bytes, y->len);
    atomic_fetch_sub(&t->memory_bytes, sizeof *y + y->len + 1);
    free(y);
}

void labels_symtab_stats(const labels_symtab_t *t, labels_symtab_stats_t *out) {
    labels_symtab_t *m = (labels_symtab_t *)t;
    out->n_strings = atomic_load(&m->n_strings);
    out->string_bytes = atomic_load(&m->string_bytes);
    out->memory_bytes = atomic_load(&m->memory_bytes) + t->free_cap * sizeof(uint32_t);
}

void labels_symtab_intern_labels(labels_symtab_t *t, const labels_t *ls, uint32_t *ids) {
    for (size_t i = 0; i < ls->n; i++) {
        labels_label_t l = labels_at(ls, i);
        labels_symtab_intern(t, l.name, l.name_len, &ids[2 * i]);
        labels_symtab_intern(t, l.value, l.value_len, &ids[2 * i + 1]);
    }
}

labels_t *labels_symtab_labels(const labels_symtab_t *t, const uint32_t *ids, size_t n) {
    size_t blob = 0;
    for (size_t i = 0; i < 2 * n; i++) {
        const char *s = labels_symtab_get(t, ids[i]);
        blob += (s ? labels_symtab_strlen(s) : 0) + 1;
    }
    labels_t *out = lbl_alloc(n, blob);
    char *p = (char *)lbl_blob(out);
    uint32_t pos = 0;
    for (size_t i = 0; i < 2 * n; i++) {
        const char *s = labels_symtab_get(t, ids[i]);
        size_t len = s ? labels_symtab_strlen(s) : 0;
        out->off[i] = pos;
        if (len) memcpy(p + pos, s, len);
        pos += (uint32_t)len;
        p[pos++] = (char)0xff;
    }
    return out;
}
