/*
 * block.h — persisted blocks of the tsdb module (internal: only tsdb code
 * and its tests include it). The format is docs/format/block.md.
 *
 * A block_writer_t builds one block from series given in label order; a
 * block_t is an open, immutable block that any number of threads may read
 * at once (the tsdb's block list lock keeps it open while they do).
 */
#ifndef VG_TSDB_BLOCK_H
#define VG_TSDB_BLOCK_H

#include "labels/labels.h"

#define BLOCK_ID_LEN 26

/* A chunk handed to the writer (borrowed for the call). */
typedef struct block_chunk_in {
    int64_t mint, maxt;
    uint32_t n_samples;
    const uint8_t *data;
    size_t len;
} block_chunk_in_t;

typedef struct block_writer block_writer_t;

/* Starts a block for [mint, maxt) in blocks_dir (created if needed). */
block_writer_t *block_writer_new(const char *blocks_dir, int64_t mint, int64_t maxt, int level,
                                 vg_err_t *err);
/* Adds a series; series must come in labels_compare order, each once.
 * Chunks in time order. */
int block_writer_add(block_writer_t *w, const labels_t *ls, const block_chunk_in_t *chunks,
                     size_t n_chunks, vg_err_t *err);
/* Records a source block id (for meta.json); level-1 blocks list themselves. */
void block_writer_add_source(block_writer_t *w, const char *id);
/* Writes everything, fsyncs and renames the block into place. out_id gets
 * the id (BLOCK_ID_LEN + 1 bytes). A block with no series is not written
 * (returns VG_OK with out_id ""). Frees w in every case. */
int block_writer_finish(block_writer_t *w, char *out_id, vg_err_t *err);
void block_writer_abort(block_writer_t *w);

typedef struct block block_t;

/* Opens the block in dir (…/blocks/<id>); NULL with err if it is damaged. */
block_t *block_open(const char *dir, vg_err_t *err);
void block_close(block_t *b);

const char *block_id(const block_t *b);
const char *block_dir(const block_t *b);
int64_t block_mint(const block_t *b);
int64_t block_maxt(const block_t *b); /* exclusive */
int block_level(const block_t *b);
uint64_t block_size(const block_t *b); /* bytes on disk */
uint32_t block_n_series(const block_t *b);
size_t block_n_sources(const block_t *b);
const char *block_source(const block_t *b, size_t i);

/* Series numbers (ascending) that match every matcher; caller frees. */
uint32_t *block_select(const block_t *b, labels_matcher_t *const *ms, size_t n_ms, size_t *out_n);

/* A chunk reference inside the block. */
typedef struct block_chunk_ref {
    int64_t mint, maxt;
    uint32_t page, offset, len, n_samples;
} block_chunk_ref_t;

/* Decodes series i: its labels (new, caller frees) and chunk references
 * (into *chunks, grown with vg_realloc; *cap tracks its size). */
int block_series(const block_t *b, uint32_t i, labels_t **out_labels, block_chunk_ref_t **chunks,
                 size_t *n_chunks, size_t *cap, vg_err_t *err);

/* A page's raw bytes. The cache holds one page decompressed, reused
 * between calls by one thread. */
typedef struct block_page_cache {
    const block_t *block;
    uint32_t page;
    bool valid;
    vg_buf_t buf;
    void *zstd; /* tsdb_chunk_zstd_t */
} block_page_cache_t;

void block_page_cache_init(block_page_cache_t *c);
void block_page_cache_free(block_page_cache_t *c);
/* Points *out at chunk ref's bytes (valid until the next call). */
int block_chunk_bytes(block_page_cache_t *c, const block_t *b, const block_chunk_ref_t *ref,
                      const uint8_t **out, vg_err_t *err);

/* The values of one label name, and every label name, appended as
 * vg_strdup'd strings to *v (grown with vg_realloc). */
void block_label_values(const block_t *b, const char *name, char ***v, size_t *n, size_t *cap);
void block_label_names(const block_t *b, char ***v, size_t *n, size_t *cap);

#endif
