/* This file implements persisted blocks: the writer that lays out symbols,
 * series, postings and pages of chunks, and the reader that maps a block
 * and answers selections from it. */
#include "block.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "tsdb/chunk.h"
#include "tsdb/tsdb_int.h"
#include "tsdb/wal.h"

#define INDEX_MAGIC 0x56474249u
#define CHUNKS_MAGIC 0x56474243u
#define BLOCK_VERSION 1
#define FILE_HEADER 8
#define FOOTER_LEN 64
#define PAGE_HEADER 13
#define PAGE_TARGET (16u << 10)

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p) {
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}
static void buf_u32(vg_buf_t *b, uint32_t v) {
    uint8_t t[4];
    put_u32(t, v);
    vg_buf_append(b, t, 4);
}
static void buf_u64(vg_buf_t *b, uint64_t v) {
    uint8_t t[8];
    put_u64(t, v);
    vg_buf_append(b, t, 8);
}

/* ----------------------------------------------------------------- ids */

static void make_id(char *out) {
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    uint64_t ms = (uint64_t)vg_time_now_ms();
    for (int i = 9; i >= 0; i--) {
        out[i] = alphabet[ms & 31];
        ms >>= 5;
    }
    uint8_t rnd[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) {
        uint64_t x = (uint64_t)vg_time_now_ms() ^ (uint64_t)getpid() << 32;
        for (int i = 0; i < 16; i++)
            rnd[i] = (uint8_t)((x = x * 6364136223846793005ULL + 1) >> 56);
    }
    if (fd >= 0) close(fd);
    for (int i = 0; i < 16; i++)
        out[10 + i] = alphabet[rnd[i] & 31];
    out[BLOCK_ID_LEN] = '\0';
}

/* -------------------------------------------------------------- writer */

typedef struct wseries {
    uint32_t first_chunk, n_chunks;
    uint32_t first_label; /* into w->label_ids, 2 ids per label */
    uint16_t n_labels;
} wseries_t;

typedef struct wchunk {
    int64_t mint, maxt;
    uint32_t page, offset, len, n;
} wchunk_t;

struct block_writer {
    char *blocks_dir, *tmp_dir, *chunks_path;
    char id[BLOCK_ID_LEN + 1];
    int64_t mint, maxt;
    int level;
    labels_symtab_t *syms;
    wseries_t *series;
    size_t n_series, cap_series;
    uint32_t *label_ids;
    size_t n_label_ids, cap_label_ids;
    wchunk_t *chunks;
    size_t n_chunks, cap_chunks;
    uint64_t n_samples;
    int chunks_fd;
    uint64_t chunks_off;
    vg_buf_t page;
    uint64_t *page_offsets;
    size_t n_pages, cap_pages;
    char **sources;
    size_t n_sources;
    tsdb_chunk_zstd_t zstd;
};

#define GROW(ptr, n, cap, init)                                                                    \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : (init);                                                      \
            (ptr) = vg_realloc((ptr), (cap) * sizeof *(ptr));                                      \
        }                                                                                          \
    } while (0)

block_writer_t *block_writer_new(const char *blocks_dir, int64_t mint, int64_t maxt, int level,
                                 vg_err_t *err) {
    if (vg_mkdir_all(blocks_dir, err) != VG_OK) return NULL;
    block_writer_t *w = vg_calloc(1, sizeof *w);
    w->blocks_dir = vg_strdup(blocks_dir);
    make_id(w->id);
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_printf(&b, "%s/%s.tmp", blocks_dir, w->id);
    w->tmp_dir = vg_buf_detach(&b);
    w->mint = mint;
    w->maxt = maxt;
    w->level = level;
    w->syms = labels_symtab_new();
    w->chunks_fd = -1;
    if (vg_mkdir_all(w->tmp_dir, err) != VG_OK) {
        block_writer_abort(w);
        return NULL;
    }
    vg_buf_printf(&b, "%s/chunks", w->tmp_dir);
    w->chunks_path = vg_buf_detach(&b);
    w->chunks_fd = open(w->chunks_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->chunks_fd < 0) {
        vg_err_set(err, VG_ERR_IO, "create %s: %s", w->chunks_path, strerror(errno));
        block_writer_abort(w);
        return NULL;
    }
    uint8_t hdr[FILE_HEADER] = {0};
    put_u32(hdr, CHUNKS_MAGIC);
    hdr[4] = BLOCK_VERSION;
    if (vg_fd_write_all(w->chunks_fd, hdr, sizeof hdr, w->chunks_path, err) != VG_OK) {
        block_writer_abort(w);
        return NULL;
    }
    w->chunks_off = FILE_HEADER;
    return w;
}

void block_writer_abort(block_writer_t *w) {
    if (!w) return;
    if (w->chunks_fd >= 0) close(w->chunks_fd);
    if (w->tmp_dir) vg_remove_all(w->tmp_dir, NULL);
    labels_symtab_free(w->syms);
    tsdb_chunk_zstd_free(&w->zstd);
    free(w->series);
    free(w->label_ids);
    free(w->chunks);
    free(w->page_offsets);
    vg_buf_free(&w->page);
    for (size_t i = 0; i < w->n_sources; i++)
        free(w->sources[i]);
    free(w->sources);
    free(w->chunks_path);
    free(w->tmp_dir);
    free(w->blocks_dir);
    free(w);
}

static int flush_page(block_writer_t *w, vg_err_t *err) {
    if (w->page.len == 0) return VG_OK;
    vg_buf_t out = VG_BUF_INIT;
    long z = tsdb_chunk_zstd_compress(&w->zstd, w->page.data, w->page.len, TSDB_CHUNK_ZSTD_LEVEL,
                                      &out, NULL);
    bool use_z = z > 0 && tsdb_chunk_zstd_pays(w->page.len, (size_t)z);
    const void *data = use_z ? (const void *)out.data : (const void *)w->page.data;
    size_t len = use_z ? (size_t)z : w->page.len;
    uint8_t hdr[PAGE_HEADER];
    hdr[0] = use_z ? 1 : 0;
    put_u32(hdr + 1, (uint32_t)len);
    put_u32(hdr + 5, (uint32_t)w->page.len);
    put_u32(hdr + 9, (uint32_t)crc32(0, data, (uInt)len));
    int rc = vg_fd_write_all(w->chunks_fd, hdr, sizeof hdr, w->chunks_path, err);
    if (rc == VG_OK) rc = vg_fd_write_all(w->chunks_fd, data, len, w->chunks_path, err);
    vg_buf_free(&out);
    if (rc != VG_OK) return rc;
    GROW(w->page_offsets, w->n_pages, w->cap_pages, 64);
    w->page_offsets[w->n_pages++] = w->chunks_off;
    w->chunks_off += sizeof hdr + len;
    vg_buf_reset(&w->page);
    return VG_OK;
}

int block_writer_add(block_writer_t *w, const labels_t *ls, const block_chunk_in_t *chunks,
                     size_t n_chunks, vg_err_t *err) {
    if (n_chunks == 0) return VG_OK;
    GROW(w->series, w->n_series, w->cap_series, 1024);
    wseries_t *s = &w->series[w->n_series++];
    size_t n = labels_len(ls);
    s->n_labels = (uint16_t)n;
    s->first_label = (uint32_t)w->n_label_ids;
    while (w->cap_label_ids < w->n_label_ids + 2 * n) {
        w->cap_label_ids = w->cap_label_ids ? w->cap_label_ids * 2 : 4096;
        w->label_ids = vg_realloc(w->label_ids, w->cap_label_ids * sizeof *w->label_ids);
    }
    labels_symtab_intern_labels(w->syms, ls, w->label_ids + w->n_label_ids);
    w->n_label_ids += 2 * n;
    s->first_chunk = (uint32_t)w->n_chunks;
    s->n_chunks = (uint32_t)n_chunks;
    for (size_t i = 0; i < n_chunks; i++) {
        if (w->page.len > 0 && w->page.len + chunks[i].len > PAGE_TARGET) {
            int rc = flush_page(w, err);
            if (rc != VG_OK) return rc;
        }
        GROW(w->chunks, w->n_chunks, w->cap_chunks, 4096);
        wchunk_t *c = &w->chunks[w->n_chunks++];
        c->mint = chunks[i].mint;
        c->maxt = chunks[i].maxt;
        c->page = (uint32_t)w->n_pages;
        c->offset = (uint32_t)w->page.len;
        c->len = (uint32_t)chunks[i].len;
        c->n = chunks[i].n_samples;
        w->n_samples += chunks[i].n_samples;
        vg_buf_append(&w->page, chunks[i].data, chunks[i].len);
    }
    return VG_OK;
}

void block_writer_add_source(block_writer_t *w, const char *id) {
    w->sources = vg_realloc(w->sources, (w->n_sources + 1) * sizeof *w->sources);
    w->sources[w->n_sources++] = vg_strdup(id);
}

/* Symbols sorted bytewise; sym_num maps a symtab id to its position. */
typedef struct sym_entry {
    const char *s;
    size_t len;
    uint32_t id;
} sym_entry_t;

static int cmp_sym(const void *a, const void *b) {
    const sym_entry_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

typedef struct pair_ref {
    uint32_t name, value, series;
} pair_ref_t;

static int cmp_pair(const void *a, const void *b) {
    const pair_ref_t *x = a, *y = b;
    if (x->name != y->name) return x->name < y->name ? -1 : 1;
    if (x->value != y->value) return x->value < y->value ? -1 : 1;
    return (x->series > y->series) - (x->series < y->series);
}

static int write_file(const char *path, const vg_buf_t *b, vg_err_t *err) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return vg_err_set(err, VG_ERR_IO, "create %s: %s", path, strerror(errno));
    int rc = vg_fd_write_all(fd, b->data, b->len, path, err);
    if (rc == VG_OK) rc = vg_fd_fsync(fd, path, err);
    close(fd);
    return rc;
}

int block_writer_finish(block_writer_t *w, char *out_id, vg_err_t *err) {
    out_id[0] = '\0';
    if (w->n_series == 0) {
        block_writer_abort(w);
        return VG_OK;
    }
    int rc = flush_page(w, err);
    if (rc == VG_OK) rc = vg_fd_fsync(w->chunks_fd, w->chunks_path, err);
    if (rc != VG_OK) {
        block_writer_abort(w);
        return rc;
    }
    /* symbols: every distinct string, sorted, numbered */
    uint32_t max_id = 0;
    for (size_t i = 0; i < w->n_label_ids; i++)
        if (w->label_ids[i] > max_id) max_id = w->label_ids[i];
    uint32_t *num = vg_calloc((size_t)max_id + 1, sizeof *num);
    uint8_t *seen = vg_calloc((size_t)max_id + 1, 1);
    sym_entry_t *syms = vg_malloc((w->n_label_ids ? w->n_label_ids : 1) * sizeof *syms);
    size_t n_syms = 0;
    for (size_t i = 0; i < w->n_label_ids; i++) {
        uint32_t id = w->label_ids[i];
        if (seen[id]) continue;
        seen[id] = 1;
        const char *s = labels_symtab_get(w->syms, id);
        syms[n_syms++] = (sym_entry_t){s, labels_symtab_strlen(s), id};
    }
    if (n_syms > 1) qsort(syms, n_syms, sizeof *syms, cmp_sym);
    for (size_t i = 0; i < n_syms; i++)
        num[syms[i].id] = (uint32_t)i;

    vg_buf_t ix = VG_BUF_INIT;
    uint8_t hdr[FILE_HEADER] = {0};
    put_u32(hdr, INDEX_MAGIC);
    hdr[4] = BLOCK_VERSION;
    vg_buf_append(&ix, hdr, sizeof hdr);
    uint64_t off[6];
    off[0] = ix.len;
    for (size_t i = 0; i < n_syms; i++)
        wal_put_bytes(&ix, syms[i].s, syms[i].len);
    off[1] = ix.len;
    uint64_t *series_off = vg_malloc(w->n_series * sizeof *series_off);
    size_t n_pairs_total = 0;
    for (size_t i = 0; i < w->n_series; i++) {
        const wseries_t *s = &w->series[i];
        series_off[i] = ix.len;
        wal_put_uvarint(&ix, s->n_labels);
        for (uint16_t l = 0; l < s->n_labels; l++) {
            wal_put_uvarint(&ix, num[w->label_ids[s->first_label + 2 * l]]);
            wal_put_uvarint(&ix, num[w->label_ids[s->first_label + 2 * l + 1]]);
        }
        n_pairs_total += s->n_labels;
        wal_put_uvarint(&ix, s->n_chunks);
        for (uint32_t c = 0; c < s->n_chunks; c++) {
            const wchunk_t *ch = &w->chunks[s->first_chunk + c];
            wal_put_varint(&ix, ch->mint);
            wal_put_uvarint(&ix, (uint64_t)(ch->maxt - ch->mint));
            wal_put_uvarint(&ix, ch->page);
            wal_put_uvarint(&ix, ch->offset);
            wal_put_uvarint(&ix, ch->len);
            wal_put_uvarint(&ix, ch->n);
        }
    }
    off[2] = ix.len;
    for (size_t i = 0; i < w->n_series; i++)
        buf_u64(&ix, series_off[i]);
    free(series_off);
    /* postings: every (name, value, series) triple, sorted */
    pair_ref_t *pairs = vg_malloc((n_pairs_total ? n_pairs_total : 1) * sizeof *pairs);
    size_t np = 0;
    for (size_t i = 0; i < w->n_series; i++) {
        const wseries_t *s = &w->series[i];
        for (uint16_t l = 0; l < s->n_labels; l++)
            pairs[np++] = (pair_ref_t){num[w->label_ids[s->first_label + 2 * l]],
                                       num[w->label_ids[s->first_label + 2 * l + 1]], (uint32_t)i};
    }
    if (np > 1) qsort(pairs, np, sizeof *pairs, cmp_pair);
    off[3] = ix.len;
    vg_buf_t table = VG_BUF_INIT;
    uint32_t n_label_pairs = 0;
    for (size_t i = 0; i < np;) {
        size_t j = i;
        while (j < np && pairs[j].name == pairs[i].name && pairs[j].value == pairs[i].value)
            j++;
        buf_u32(&table, pairs[i].name);
        buf_u32(&table, pairs[i].value);
        buf_u64(&table, ix.len);
        wal_put_uvarint(&ix, j - i);
        uint32_t prev = 0;
        for (size_t k = i; k < j; k++) {
            wal_put_uvarint(&ix, pairs[k].series - prev);
            prev = pairs[k].series;
        }
        n_label_pairs++;
        i = j;
    }
    free(pairs);
    off[4] = ix.len;
    if (table.len) vg_buf_append(&ix, table.data, table.len);
    vg_buf_free(&table);
    off[5] = ix.len;
    for (size_t i = 0; i < w->n_pages; i++)
        buf_u64(&ix, w->page_offsets[i]);
    uint8_t footer[FOOTER_LEN];
    for (int i = 0; i < 6; i++)
        put_u64(footer + 8 * i, off[i]);
    put_u32(footer + 48, (uint32_t)n_syms);
    put_u32(footer + 52, (uint32_t)w->n_series);
    put_u32(footer + 56, n_label_pairs);
    vg_buf_append(&ix, footer, 60);
    uint8_t crc[4];
    put_u32(crc, (uint32_t)crc32(0, (const Bytef *)ix.data, (uInt)ix.len));
    vg_buf_append(&ix, crc, 4);
    free(num);
    free(seen);
    free(syms);

    vg_buf_t path = VG_BUF_INIT, meta = VG_BUF_INIT;
    vg_buf_printf(&path, "%s/index", w->tmp_dir);
    rc = write_file(path.data, &ix, err);
    vg_buf_free(&ix);
    if (rc == VG_OK) {
        vg_buf_printf(&meta,
                      "{\"version\":1,\"id\":\"%s\",\"minTime\":%lld,\"maxTime\":%lld,"
                      "\"stats\":{\"numSeries\":%zu,\"numChunks\":%zu,\"numSamples\":%llu,"
                      "\"numPages\":%zu},\"compaction\":{\"level\":%d,\"sources\":[",
                      w->id, (long long)w->mint, (long long)w->maxt, w->n_series, w->n_chunks,
                      (unsigned long long)w->n_samples, w->n_pages, w->level);
        if (w->n_sources == 0) vg_buf_printf(&meta, "\"%s\"", w->id);
        for (size_t i = 0; i < w->n_sources; i++)
            vg_buf_printf(&meta, "%s\"%s\"", i ? "," : "", w->sources[i]);
        vg_buf_puts(&meta, "]}}\n");
        vg_buf_reset(&path);
        vg_buf_printf(&path, "%s/meta.json", w->tmp_dir);
        rc = write_file(path.data, &meta, err);
    }
    if (rc == VG_OK) rc = vg_dir_fsync(w->tmp_dir, err);
    if (rc == VG_OK) {
        vg_buf_reset(&path);
        vg_buf_printf(&path, "%s/%s", w->blocks_dir, w->id);
        if (rename(w->tmp_dir, path.data) != 0)
            rc = vg_err_set(err, VG_ERR_IO, "rename %s: %s", w->tmp_dir, strerror(errno));
        else
            rc = vg_dir_fsync(w->blocks_dir, err);
    }
    vg_buf_free(&path);
    vg_buf_free(&meta);
    if (rc == VG_OK) {
        memcpy(out_id, w->id, BLOCK_ID_LEN + 1);
        free(w->tmp_dir);
        w->tmp_dir = NULL; /* nothing to remove */
    }
    block_writer_abort(w);
    return rc;
}

/* -------------------------------------------------------------- reader */

struct block {
    char *dir;
    char id[BLOCK_ID_LEN + 1];
    int64_t mint, maxt;
    int level;
    char **sources;
    size_t n_sources;
    const uint8_t *index;
    size_t index_len;
    const uint8_t *chunks;
    size_t chunks_len;
    uint32_t *sym_off;
    uint32_t n_syms, n_series, n_pairs, n_pages;
    const uint8_t *series_table, *pairs_table, *page_table;
    uint64_t size;
};

static const uint8_t *map_file(const char *path, size_t *len, vg_err_t *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vg_err_set(err, VG_ERR_IO, "open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < FILE_HEADER) {
        close(fd);
        vg_err_set(err, VG_ERR_INPUT, "%s: too short", path);
        return NULL;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        vg_err_set(err, VG_ERR_IO, "mmap %s: %s", path, strerror(errno));
        return NULL;
    }
    *len = (size_t)st.st_size;
    return p;
}

/* Reads the few fields of meta.json vigil needs, with jansson-free scanning
 * of its own fixed output. */
static int read_meta(block_t *b, vg_err_t *err) {
    vg_buf_t path = VG_BUF_INIT;
    vg_buf_printf(&path, "%s/meta.json", b->dir);
    char *data;
    size_t len;
    int rc = vg_file_read_all(path.data, 1 << 20, &data, &len, err);
    vg_buf_free(&path);
    if (rc != VG_OK) return rc;
    const char *p;
    long long mint, maxt;
    int level;
    if (!(p = strstr(data, "\"minTime\":")) || sscanf(p + 10, "%lld", &mint) != 1 ||
        !(p = strstr(data, "\"maxTime\":")) || sscanf(p + 10, "%lld", &maxt) != 1 ||
        !(p = strstr(data, "\"level\":")) || sscanf(p + 8, "%d", &level) != 1) {
        free(data);
        return vg_err_set(err, VG_ERR_INPUT, "%s/meta.json: missing fields", b->dir);
    }
    b->mint = mint;
    b->maxt = maxt;
    b->level = level;
    if ((p = strstr(data, "\"sources\":["))) {
        p += 11;
        while (*p == '"') {
            const char *q = strchr(p + 1, '"');
            if (!q) break;
            b->sources = vg_realloc(b->sources, (b->n_sources + 1) * sizeof *b->sources);
            b->sources[b->n_sources++] = vg_strndup(p + 1, (size_t)(q - p - 1));
            p = q + 1;
            if (*p == ',') p++;
        }
    }
    free(data);
    return VG_OK;
}

block_t *block_open(const char *dir, vg_err_t *err) {
    block_t *b = vg_calloc(1, sizeof *b);
    b->dir = vg_strdup(dir);
    const char *slash = strrchr(dir, '/');
    snprintf(b->id, sizeof b->id, "%s", slash ? slash + 1 : dir);
    if (read_meta(b, err) != VG_OK) goto fail;
    vg_buf_t path = VG_BUF_INIT;
    vg_buf_printf(&path, "%s/index", dir);
    b->index = map_file(path.data, &b->index_len, err);
    vg_buf_reset(&path);
    vg_buf_printf(&path, "%s/chunks", dir);
    if (b->index) b->chunks = map_file(path.data, &b->chunks_len, err);
    vg_buf_free(&path);
    if (!b->index || !b->chunks) goto fail;
    b->size = b->index_len + b->chunks_len;
    if (b->index_len < FILE_HEADER + FOOTER_LEN || get_u32(b->index) != INDEX_MAGIC ||
        b->index[4] != BLOCK_VERSION || get_u32(b->chunks) != CHUNKS_MAGIC) {
        vg_err_set(err, VG_ERR_INPUT, "%s: not a vigil block of version %d", dir, BLOCK_VERSION);
        goto fail;
    }
    const uint8_t *f = b->index + b->index_len - FOOTER_LEN;
    if ((uint32_t)crc32(0, b->index, (uInt)(b->index_len - 4)) != get_u32(f + 60)) {
        vg_err_set(err, VG_ERR_INPUT, "%s/index: checksum mismatch", dir);
        goto fail;
    }
    uint64_t off[6];
    for (int i = 0; i < 6; i++) {
        off[i] = get_u64(f + 8 * i);
        if (off[i] > b->index_len - FOOTER_LEN || (i && off[i] < off[i - 1])) {
            vg_err_set(err, VG_ERR_INPUT, "%s/index: bad section offsets", dir);
            goto fail;
        }
    }
    b->n_syms = get_u32(f + 48);
    b->n_series = get_u32(f + 52);
    b->n_pairs = get_u32(f + 56);
    uint64_t page_bytes = (b->index_len - FOOTER_LEN) - off[5];
    if (off[3] - off[2] != (uint64_t)b->n_series * 8 ||
        off[5] - off[4] != (uint64_t)b->n_pairs * 16 || page_bytes % 8) {
        vg_err_set(err, VG_ERR_INPUT, "%s/index: tables do not match their counts", dir);
        goto fail;
    }
    b->n_pages = (uint32_t)(page_bytes / 8);
    b->series_table = b->index + off[2];
    b->pairs_table = b->index + off[4];
    b->page_table = b->index + off[5];
    b->sym_off = vg_malloc(((size_t)b->n_syms + 1) * sizeof *b->sym_off);
    const uint8_t *p = b->index + off[0], *end = b->index + off[1];
    for (uint32_t i = 0; i < b->n_syms; i++) {
        b->sym_off[i] = (uint32_t)(p - b->index);
        uint64_t len;
        if (wal_get_uvarint(&p, end, &len) || len > (uint64_t)(end - p)) {
            vg_err_set(err, VG_ERR_INPUT, "%s/index: bad symbol table", dir);
            goto fail;
        }
        p += len;
    }
    return b;
fail:
    block_close(b);
    return NULL;
}

void block_close(block_t *b) {
    if (!b) return;
    if (b->index) munmap((void *)b->index, b->index_len);
    if (b->chunks) munmap((void *)b->chunks, b->chunks_len);
    for (size_t i = 0; i < b->n_sources; i++)
        free(b->sources[i]);
    free(b->sources);
    free(b->sym_off);
    free(b->dir);
    free(b);
}

const char *block_id(const block_t *b) { return b->id; }
const char *block_dir(const block_t *b) { return b->dir; }
int64_t block_mint(const block_t *b) { return b->mint; }
int64_t block_maxt(const block_t *b) { return b->maxt; }
int block_level(const block_t *b) { return b->level; }
uint64_t block_size(const block_t *b) { return b->size; }
uint32_t block_n_series(const block_t *b) { return b->n_series; }
size_t block_n_sources(const block_t *b) { return b->n_sources; }
const char *block_source(const block_t *b, size_t i) { return b->sources[i]; }

static const char *symbol(const block_t *b, uint32_t i, size_t *len) {
    if (i >= b->n_syms) {
        *len = 0;
        return "";
    }
    const uint8_t *p = b->index + b->sym_off[i];
    uint64_t n;
    wal_get_uvarint(&p, b->index + b->index_len, &n);
    *len = (size_t)n;
    return (const char *)p;
}

/* Binary search of a string among the sorted symbols. */
static bool find_symbol(const block_t *b, const char *s, size_t len, uint32_t *out) {
    uint32_t lo = 0, hi = b->n_syms;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        size_t ml;
        const char *m = symbol(b, mid, &ml);
        size_t n = ml < len ? ml : len;
        int c = memcmp(m, s, n);
        if (c == 0) c = (ml > len) - (ml < len);
        if (c == 0) {
            *out = mid;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* First pair index whose name is >= name. */
static uint32_t pairs_lower(const block_t *b, uint32_t name) {
    uint32_t lo = 0, hi = b->n_pairs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (get_u32(b->pairs_table + 16 * (size_t)mid) < name)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Appends the postings of pair k to *v. */
static void read_postings(const block_t *b, uint32_t k, uint32_t **v, size_t *n, size_t *cap) {
    uint64_t off = get_u64(b->pairs_table + 16 * (size_t)k + 8);
    const uint8_t *p = b->index + off, *end = b->index + b->index_len;
    uint64_t count, prev = 0;
    if (off >= b->index_len || wal_get_uvarint(&p, end, &count)) return;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t d;
        if (wal_get_uvarint(&p, end, &d)) return;
        prev += d;
        if (prev >= b->n_series) return;
        GROW(*v, *n, *cap, 64);
        (*v)[(*n)++] = (uint32_t)prev;
    }
}

/* Series having `name` with a value that does (want) or does not match m. */
static uint32_t *union_values(const block_t *b, uint32_t name, const labels_matcher_t *m, bool want,
                              size_t *out_n) {
    uint32_t *v = NULL;
    size_t n = 0, cap = 0, lists = 0;
    for (uint32_t k = pairs_lower(b, name); k < b->n_pairs; k++) {
        if (get_u32(b->pairs_table + 16 * (size_t)k) != name) break;
        size_t vl;
        const char *val = symbol(b, get_u32(b->pairs_table + 16 * (size_t)k + 4), &vl);
        if (labels_matcher_matches(m, val, vl) != want) continue;
        read_postings(b, k, &v, &n, &cap);
        lists++;
    }
    if (lists > 1) qsort(v, n, sizeof *v, postings_cmp);
    *out_n = n;
    return v;
}

uint32_t *block_select(const block_t *b, labels_matcher_t *const *ms, size_t n_ms, size_t *out_n) {
    uint32_t *result = NULL;
    size_t n = 0;
    bool have = false;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n_ms; i++) {
            bool empty = labels_matcher_matches_empty(ms[i]);
            if ((pass == 0) == empty) continue;
            size_t nl;
            const char *name = labels_matcher_name(ms[i], &nl);
            uint32_t sym;
            bool known = find_symbol(b, name, nl, &sym);
            if (pass == 0) {
                size_t nb = 0;
                uint32_t *v = known ? union_values(b, sym, ms[i], true, &nb) : NULL;
                if (!have) {
                    result = v, n = nb, have = true;
                } else {
                    n = postings_intersect(result, n, v, nb);
                    free(v);
                }
            } else {
                if (!have) {
                    result = vg_malloc(((size_t)b->n_series + 1) * sizeof *result);
                    for (uint32_t s = 0; s < b->n_series; s++)
                        result[s] = s;
                    n = b->n_series;
                    have = true;
                }
                if (!known) continue;
                size_t nb = 0;
                uint32_t *v = union_values(b, sym, ms[i], false, &nb);
                n = postings_subtract(result, n, v, nb);
                free(v);
            }
        }
    }
    if (!have) {
        result = vg_malloc(((size_t)b->n_series + 1) * sizeof *result);
        for (uint32_t s = 0; s < b->n_series; s++)
            result[s] = s;
        n = b->n_series;
    }
    *out_n = n;
    return result;
}

int block_series(const block_t *b, uint32_t i, labels_t **out_labels, block_chunk_ref_t **chunks,
                 size_t *n_chunks, size_t *cap, vg_err_t *err) {
    if (i >= b->n_series) return vg_err_set(err, VG_ERR_INPUT, "series %u out of range", i);
    uint64_t off = get_u64(b->series_table + 8 * (size_t)i);
    const uint8_t *p = b->index + off, *end = b->index + b->index_len;
    uint64_t nl;
    if (off >= b->index_len || wal_get_uvarint(&p, end, &nl) || nl > 4096)
        return vg_err_set(err, VG_ERR_INPUT, "%s: corrupt series %u", b->id, i);
    labels_label_t pairs[4096];
    for (uint64_t l = 0; l < nl; l++) {
        uint64_t name, value;
        if (wal_get_uvarint(&p, end, &name) || wal_get_uvarint(&p, end, &value))
            return vg_err_set(err, VG_ERR_INPUT, "%s: corrupt series %u", b->id, i);
        pairs[l].name = symbol(b, (uint32_t)name, &pairs[l].name_len);
        pairs[l].value = symbol(b, (uint32_t)value, &pairs[l].value_len);
    }
    uint64_t nc;
    if (wal_get_uvarint(&p, end, &nc) || nc > 1u << 24)
        return vg_err_set(err, VG_ERR_INPUT, "%s: corrupt series %u", b->id, i);
    *n_chunks = 0;
    for (uint64_t c = 0; c < nc; c++) {
        int64_t mint;
        uint64_t span, page, offset, len, ns;
        if (wal_get_varint(&p, end, &mint) || wal_get_uvarint(&p, end, &span) ||
            wal_get_uvarint(&p, end, &page) || wal_get_uvarint(&p, end, &offset) ||
            wal_get_uvarint(&p, end, &len) || wal_get_uvarint(&p, end, &ns) || page >= b->n_pages)
            return vg_err_set(err, VG_ERR_INPUT, "%s: corrupt series %u", b->id, i);
        GROW(*chunks, *n_chunks, *cap, 8);
        (*chunks)[(*n_chunks)++] = (block_chunk_ref_t){mint,           mint + (int64_t)span,
                                                       (uint32_t)page, (uint32_t)offset,
                                                       (uint32_t)len,  (uint32_t)ns};
    }
    if (out_labels && labels_from_pairs(pairs, nl, out_labels, err) != VG_OK) return VG_ERR_INPUT;
    return VG_OK;
}

void block_page_cache_init(block_page_cache_t *c) {
    memset(c, 0, sizeof *c);
    c->zstd = vg_calloc(1, sizeof(tsdb_chunk_zstd_t)); /* zeroed: ready */
}

void block_page_cache_free(block_page_cache_t *c) {
    vg_buf_free(&c->buf);
    if (c->zstd) {
        tsdb_chunk_zstd_free(c->zstd);
        free(c->zstd);
    }
    c->zstd = NULL;
}

int block_chunk_bytes(block_page_cache_t *c, const block_t *b, const block_chunk_ref_t *ref,
                      const uint8_t **out, vg_err_t *err) {
    if (ref->page >= b->n_pages) return vg_err_set(err, VG_ERR_INPUT, "%s: bad page", b->id);
    uint64_t off = get_u64(b->page_table + 8 * (size_t)ref->page);
    if (off + PAGE_HEADER > b->chunks_len)
        return vg_err_set(err, VG_ERR_INPUT, "%s: page past the end", b->id);
    const uint8_t *h = b->chunks + off;
    uint32_t stored = get_u32(h + 1), raw = get_u32(h + 5);
    if (off + PAGE_HEADER + stored > b->chunks_len || (uint64_t)ref->offset + ref->len > raw)
        return vg_err_set(err, VG_ERR_INPUT, "%s: chunk past its page", b->id);
    const uint8_t *data = h + PAGE_HEADER;
    if (h[0] == 0) {
        *out = data + ref->offset;
        return VG_OK;
    }
    if (!(c->valid && c->block == b && c->page == ref->page)) {
        if ((uint32_t)crc32(0, data, stored) != get_u32(h + 9))
            return vg_err_set(err, VG_ERR_INPUT, "%s: page %u checksum mismatch", b->id, ref->page);
        vg_buf_reset(&c->buf); /* decompress appends */
        c->valid = false;
        long n = tsdb_chunk_zstd_decompress(c->zstd, data, stored, raw, &c->buf, err);
        if (n != (long)raw)
            return vg_err_set(err, VG_ERR_INPUT, "%s: bad page %u", b->id, ref->page);
        c->block = b;
        c->page = ref->page;
        c->valid = true;
    }
    *out = (const uint8_t *)c->buf.data + ref->offset;
    return VG_OK;
}

void block_label_values(const block_t *b, const char *name, char ***v, size_t *n, size_t *cap) {
    uint32_t sym;
    if (!find_symbol(b, name, strlen(name), &sym)) return;
    for (uint32_t k = pairs_lower(b, sym); k < b->n_pairs; k++) {
        if (get_u32(b->pairs_table + 16 * (size_t)k) != sym) break;
        size_t vl;
        const char *val = symbol(b, get_u32(b->pairs_table + 16 * (size_t)k + 4), &vl);
        GROW(*v, *n, *cap, 64);
        (*v)[(*n)++] = vg_strndup(val, vl);
    }
}

void block_label_names(const block_t *b, char ***v, size_t *n, size_t *cap) {
    uint32_t prev = UINT32_MAX;
    for (uint32_t k = 0; k < b->n_pairs; k++) {
        uint32_t name = get_u32(b->pairs_table + 16 * (size_t)k);
        if (name == prev) continue;
        prev = name;
        size_t len;
        const char *s = symbol(b, name, &len);
        GROW(*v, *n, *cap, 64);
        (*v)[(*n)++] = vg_strndup(s, len);
    }
}
