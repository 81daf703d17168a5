/* This file implements the one-way arena that holds a request's or a
 * query's memory. Blocks grow geometrically; nothing is freed until the end. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_FIRST_BLOCK 4096
#define ARENA_MAX_BLOCK (1u << 20)

typedef struct arena_block {
    struct arena_block *next;
    size_t size;
    size_t used;
    max_align_t data[]; /* aligned start */
} arena_block_t;

struct vg_arena {
    arena_block_t *head;
    size_t budget;
    size_t used;
    size_t next_block;
};

vg_arena_t *vg_arena_new(size_t budget) {
    vg_arena_t *a = vg_calloc(1, sizeof *a);
    a->budget = budget;
    a->next_block = ARENA_FIRST_BLOCK;
    return a;
}

void *vg_arena_alloc(vg_arena_t *a, size_t n) {
    size_t need = (n + 7) & ~(size_t)7;
    if (need < n) return NULL; /* overflow */
    if (a->budget && (need > a->budget || a->used > a->budget - need)) return NULL;
    arena_block_t *b = a->head;
    if (!b || b->size - b->used < need) {
        size_t size = a->next_block;
        if (size < need) size = need;
        b = vg_malloc(sizeof *b + size);
        b->size = size;
        b->used = 0;
        b->next = a->head;
        a->head = b;
        if (a->next_block < ARENA_MAX_BLOCK) a->next_block *= 2;
    }
    void *p = (char *)b->data + b->used;
    b->used += need;
    a->used += need;
    return p;
}

char *vg_arena_strndup(vg_arena_t *a, const char *s, size_t n) {
    char *p = vg_arena_alloc(a, n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

size_t vg_arena_used(const vg_arena_t *a) { return a->used; }

void vg_arena_free(vg_arena_t *a) {
    if (!a) return;
    arena_block_t *b = a->head;
    while (b) {
        arena_block_t *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}
