/* Shared inside the tsdb module: the head's structures. */
#ifndef VG_TSDB_INT_H
#define VG_TSDB_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "tsdb/block.h"
#include "tsdb/chunk.h"
#include "tsdb/tsdb.h"
#include "tsdb/wal.h"

/* Chunks are cut at this many samples, as Prometheus cuts them, or at the
 * boundary of the 2-hour range they started in, so that a chunk never spans
 * two blocks. */
#define HEAD_CHUNK_SAMPLES 120
#define HEAD_CHUNK_RANGE_MS (2 * 3600 * 1000LL)

#define HEAD_STRIPES 1024
#define HEAD_REF_PAGE_BITS 12
#define HEAD_REF_PAGES (1u << 16) /* 2^28 series refs */

/* A sealed chunk: immutable once made. */
typedef struct head_chunk {
    int64_t mint, maxt;
    uint32_t len;
    uint16_t n;
    uint8_t data[];
} head_chunk_t;

typedef struct head_series {
    struct head_series *hash_next; /* stripe's hash chain */
    uint64_t ref;
    uint64_t hash; /* labels_hash of the label set */
    /* Guarded by the stripe lock: */
    int64_t last_t;
    uint64_t last_v_bits;
    bool has_last;
    atomic_bool logged;     /* its series record is in the WAL */
    uint64_t pending_batch; /* the batch that last queued a sample, for in-batch order */
    int64_t pending_t;      /* its timestamp; for a dead series, when it died */
    uint32_t pending;       /* samples queued by appenders and not yet applied */
    bool dead;              /* garbage-collected: out of every index, freed later */
    head_chunk_t **chunks;
    uint32_t n_chunks, cap_chunks;
    vg_buf_t open; /* the chunk being appended to; len 0 when none */
    tsdb_chunk_app_t app;
    int64_t open_mint, open_end;
    uint16_t n_labels;
    uint32_t ids[]; /* 2 * n_labels symbol ids: name, value, ... sorted by name */
} head_series_t;

typedef struct head_stripe {
    pthread_mutex_t lock;
    head_series_t **buckets;
    size_t n_buckets, n_series;
} head_stripe_t;

/* Head series references fit in 32 bits (HEAD_REF_PAGES pages of refs),
 * so postings keep them as uint32_t: half the memory of 64-bit lists. */
#define HEAD_MAX_REF (((uint64_t)HEAD_REF_PAGES << HEAD_REF_PAGE_BITS) - 1)

/* Sorted-set operations on ascending postings (postings.c); intersect and
 * subtract work in place on a and return the new length. */
int postings_cmp(const void *a, const void *b);
size_t postings_intersect(uint32_t *a, size_t na, const uint32_t *b, size_t nb);
size_t postings_subtract(uint32_t *a, size_t na, const uint32_t *b, size_t nb);
bool postings_contains(const uint32_t *v, size_t n, uint32_t x);

/* Postings: series refs (ascending) of one (name id, value id) pair. */
typedef struct postings_list {
    uint64_t key; /* name_id << 32 | value_id */
    uint32_t *refs;
    size_t n, cap;
} postings_list_t;

/* Values of one label name. */
typedef struct name_values {
    uint32_t name_id;
    uint32_t *value_ids;
    size_t n, cap;
} name_values_t;

typedef struct head_index {
    pthread_rwlock_t lock;
    /* open addressing on key; slots hold index+1 into lists (0: empty) */
    uint32_t *slots;
    size_t n_slots;
    postings_list_t *lists;
    size_t n_lists, cap_lists;
    name_values_t *names; /* unsorted; few */
    size_t n_names, cap_names;
    uint32_t *all; /* every ref, ascending */
    size_t n_all, cap_all;
    uint64_t next_ref;
} head_index_t;

struct tsdb {
    tsdb_options_t opts;
    char *dir;
    labels_symtab_t *symtab;
    wal_t *wal;
    int lock_fd; /* flock on <dir>/lock: one process per directory */
    /* Commits hold it shared while they write the WAL and apply; a WAL
     * checkpoint holds it exclusively while it switches segments. */
    pthread_rwlock_t commit_lock;
    head_stripe_t stripes[HEAD_STRIPES];
    _Atomic(head_series_t **) ref_pages[HEAD_REF_PAGES];
    pthread_mutex_t ref_pages_lock;
    head_index_t index;
    atomic_uint_fast64_t n_series;
    atomic_uint_fast64_t batch_seq;
    atomic_int_fast64_t min_time, max_time;
    /* series removed by head_gc, freed a while later so that a pointer an
     * appender or reader took just before is still valid memory */
    head_series_t *graveyard;
    pthread_mutex_t graveyard_lock;
    bool replaying;
    /* persisted blocks, sorted by mint; readers hold the lock shared while
     * they copy data out, changes take it exclusively */
    pthread_rwlock_t blocks_lock;
    block_t **blocks;
    size_t n_blocks;
    char *blocks_dir;
    /* serialises cuts, compactions, retention and deletions */
    pthread_mutex_t maint_lock;
    /* the background thread */
    pthread_t bg_thread;
    pthread_mutex_t bg_lock;
    pthread_cond_t bg_cond;
    bool bg_stop, bg_started;
    /* metrics */
    selfmon_family_t *m_appended, *m_ooo, *m_dup, *m_too_old, *m_series_limit, *m_wal_fail,
        *m_series_created, *m_head_series, *m_wal_corrupt;
};

/* head.c */
void head_init(tsdb_t *db);
void head_free(tsdb_t *db);
head_series_t *head_series_by_ref(tsdb_t *db, uint64_t ref);
/* Finds or creates the series of ls. *created is set when it is new.
 * NULL with err when the series limit is reached. */
head_series_t *head_get_or_create(tsdb_t *db, const labels_t *ls, uint64_t hash, uint64_t ref,
                                  bool *created, vg_err_t *err);
head_stripe_t *head_stripe_of(tsdb_t *db, uint64_t hash);
/* Appends under the stripe lock held by the caller; returns 0,
 * TSDB_ERR_OUT_OF_ORDER or TSDB_ERR_DUPLICATE (an exact repeat returns 0). */
int head_series_append(head_series_t *s, int64_t t, double v);
/* Adds a sealed chunk (from a checkpoint) to a series; stripe lock held. */
void head_series_add_chunk(head_series_t *s, int64_t mint, int64_t maxt, uint16_t n,
                           const uint8_t *bytes, size_t len);
labels_t *head_series_labels(tsdb_t *db, const head_series_t *s);
/* Drops every sealed chunk that ends before t; returns chunks dropped. Also
 * recomputes the head's time range from what remains. */
size_t head_truncate_before(tsdb_t *db, int64_t t);
/* Removes series that hold no samples, last got one before t and have
 * nothing pending; frees those removed more than a minute ago. Returns
 * how many it removed. */
size_t head_gc(tsdb_t *db, int64_t t);

/* Seals the open chunk of s if all of it lies before t; stripe lock held. */
void head_series_seal_before(head_series_t *s, int64_t t);

/* Writes every series and its chunks as checkpoint records (db.c). */
void head_encode_checkpoint(tsdb_t *db, vg_buf_t *b);

/* compact.c */
int blocks_load(tsdb_t *db, vg_err_t *err);
void blocks_close_all(tsdb_t *db);
/* One round of maintenance: cut the head, compact, enforce retention. */
void tsdb_maintain(tsdb_t *db);
/* Rewrites the blocks holding matching series without [mint, maxt]. */
int blocks_delete(tsdb_t *db, int64_t mint, int64_t maxt, labels_matcher_t *const *ms, size_t n,
                  vg_err_t *err);
void head_update_time_range(tsdb_t *db, int64_t t);

/* Encodes the series record of s into b. */
void head_encode_series(tsdb_t *db, const head_series_t *s, vg_buf_t *b);

/* index (postings) */
void index_add_series(tsdb_t *db, head_series_t *s);
/* Candidate refs for the matchers, ascending; caller frees. */
uint32_t *index_select(tsdb_t *db, labels_matcher_t *const *ms, size_t n, size_t *out_n);

#endif
