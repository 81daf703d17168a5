/*
 * labels_int.h — structures and helpers shared by the files of the labels
 * module; nothing outside src/labels/ includes this.
 */
#ifndef VG_LABELS_INT_H
#define VG_LABELS_INT_H

#include <stdatomic.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "labels/labels.h"

/* ------------------------------------------------------------ label set */

/* One allocation: the header, then 2*n uint32 offsets (for label i, off[2i]
 * is where its name starts in the blob and off[2i+1] where its value
 * starts), then the blob "name\xffvalue\xff..." — exactly the byte stream
 * Prometheus hashes, so labels_hash is one call over the blob. Lengths
 * follow from the offsets: a name ends one byte before its value starts, a
 * value one byte before the next name (or blob_len). */
struct labels {
    uint32_t n;
    uint32_t blob_len;
    uint32_t off[];
};

static inline const char *lbl_blob(const labels_t *ls) {
    return (const char *)(ls->off + 2 * (size_t)ls->n);
}

static inline uint32_t lbl_end(const labels_t *ls, size_t i) {
    return i + 1 < ls->n ? ls->off[2 * (i + 1)] : ls->blob_len;
}

/* Allocates a set for n labels and blob_len bytes; the caller fills it. */
labels_t *lbl_alloc(size_t n, size_t blob_len);

/* Bytewise comparison of two byte strings, shorter first on a tie. */
static inline int lbl_strcmp(const char *a, size_t an, const char *b, size_t bn) {
    size_t m = an < bn ? an : bn;
    int c = m ? __builtin_memcmp(a, b, m) : 0;
    if (c) return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

static inline bool lbl_streq(const char *a, size_t an, const char *b, size_t bn) {
    return an == bn && (an == 0 || __builtin_memcmp(a, b, an) == 0);
}

/* ---------------------------------------------------------------- builder */

/* Memory for strings a builder copies: blocks that never move (so pointers
 * into them stay valid until the reset) and are kept across resets. */
typedef struct lbl_block {
    struct lbl_block *next;
    size_t cap, used;
    char data[];
} lbl_block_t;

struct labels_builder {
    const labels_t *base; /* borrowed */
    uint8_t *gone;        /* per base label: deleted, or overridden by add[] */
    size_t gone_cap;
    size_t n_gone;       /* how many base labels are gone */
    labels_label_t *add; /* labels set since the reset, in first-set order */
    size_t n_add, add_cap;
    lbl_block_t *blocks; /* current block first */
    lbl_block_t *spare;  /* blocks kept from before the last reset */
    vg_buf_t scratch[3]; /* relabel's joined value, target and result */
};

/* Copies n bytes into the builder's block memory. */
const char *lbl_builder_copy(labels_builder_t *b, const char *s, size_t n);

/* ---------------------------------------------------------------- unicode */

/* Decodes one rune as Go's utf8.DecodeRune: on an invalid sequence returns
 * 0xFFFD with *out_width 1. len must be > 0. */
uint32_t lbl_utf8_decode(const unsigned char *s, size_t len, size_t *out_width);
/* Encodes r (a valid code point) into out (4 bytes); returns the length. */
size_t lbl_utf8_encode(uint32_t r, char *out);
/* Go's unicode.IsPrint. */
bool lbl_rune_is_print(uint32_t r);
/* Go's unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'. */
bool lbl_rune_is_word(uint32_t r);
/* Appends s mapped as Go's strings.ToLower / ToUpper (invalid bytes become
 * U+FFFD, as strings.Map makes them). */
void lbl_case_map(vg_buf_t *out, const char *s, size_t len, bool upper);

/* ------------------------------------------------------------------ regex */

/* Up to this many capture groups are reported by lbl_regex_groups; higher
 * ones expand to nothing. Go allows more, but no relabel rule uses 100. */
#define LBL_MAX_GROUPS 100

/* Matches s; on a match fills ovec[0..2*n_pairs) with group offsets
 * (SIZE_MAX for a group that did not take part) and returns the number of
 * pairs filled (at least 1, group 0 being the whole match); -1 when there
 * is no match. */
int lbl_regex_groups(const labels_regex_t *re, const char *s, size_t len, size_t *ovec,
                     size_t n_pairs);
/* labels_regex_new, or (pcre_only) without the literal fast paths, which
 * lets tests check the fast paths against PCRE2. */
int lbl_regex_new_opts(const char *pattern, size_t len, bool pcre_only, labels_regex_t **out,
                       vg_err_t *err);
/* Whether the regex runs without PCRE2. */
bool lbl_regex_is_fast(const labels_regex_t *re);

/* The literals of a regex that is a finite set of them (sorted, unique;
 * names only), or 0. */
size_t lbl_regex_set(const labels_regex_t *re, const labels_label_t **out);
/* A literal every match starts with ("" when none is known). */
const char *lbl_regex_prefix(const labels_regex_t *re, size_t *out_len);

/* A PCRE2 match data block of this thread with room for at least n_pairs
 * pairs (kept per thread, freed when the thread exits). */
pcre2_match_data *lbl_match_data(uint32_t n_pairs);

/* A replacement template compiled once: literal runs and group references
 * (named groups resolved against the regex). */
typedef struct lbl_tmpl_seg {
    uint32_t lit_off, lit_len; /* literal bytes in the template */
    int32_t group;             /* -1: literal segment; otherwise group number, or
                                  INT32_MAX for a group that does not exist */
} lbl_tmpl_seg_t;

typedef struct lbl_tmpl {
    char *text; /* owned copy of the template */
    size_t text_len;
    lbl_tmpl_seg_t *segs;
    size_t n_segs;
    int max_group; /* highest group referenced, -1 for none */
    bool has_dollar;
} lbl_tmpl_t;

/* Compiles templ against re (whose named groups it resolves). */
void lbl_tmpl_compile(lbl_tmpl_t *t, const labels_regex_t *re, const char *templ, size_t len);
void lbl_tmpl_free(lbl_tmpl_t *t);
/* Appends the expansion given a match's group offsets. */
void lbl_tmpl_expand(const lbl_tmpl_t *t, const char *s, const size_t *ovec, int n_pairs,
                     vg_buf_t *out);

#endif
