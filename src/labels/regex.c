/*
 * This file implements labels_regex_t: regexes anchored at both ends with
 * Prometheus 3.x semantics ("^(?s:RE)$" in Go), and Go's Regexp.Expand.
 *
 * Most regexes seen in label matchers and relabel rules are literals in
 * disguise: "a|b|c", "foo.*", ".*bar", ".+", "(.*)". A small analyzer
 * recognises a conservative subset of the syntax — literal characters,
 * escaped punctuation, ".*" and ".+" (lazy or not), "^" and "$" at the ends
 * of a branch, groups wrapped around the whole pattern, and alternations
 * of plain literals — and matches those without a regex engine, as
 * Prometheus's FastRegexMatcher does. Anything else goes to PCRE2, compiled
 * with options that give Go's anchoring and dot semantics, JIT-compiled when
 * the platform allows, and run under match, depth and heap limits so a
 * hostile pattern cannot stall a scrape or a query: a match cut short
 * counts as "no match" and is counted.
 *
 * Known differences from Go's RE2, all in PCRE2's direction of accepting
 * more: backreferences, lookaround and possessive quantifiers compile; a
 * value that is not valid UTF-8 matches only where the pattern does not
 * need to look at the bad bytes (Go reads each bad byte as U+FFFD); \s also
 * matches a vertical tab. "\v" is rewritten to mean the vertical tab, as in
 * Go, instead of PCRE2's class of vertical white space.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "labels/labels_int.h"

/* ----------------------------------------------------- per-thread PCRE2 state */

static _Thread_local pcre2_match_data *tls_md;
static _Thread_local uint32_t tls_md_pairs;
static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_destroy(void *p) { pcre2_match_data_free(p); }
static void md_key_init(void) { (void)pthread_key_create(&md_key, md_destroy); }

pcre2_match_data *lbl_match_data(uint32_t n_pairs) {
    if (tls_md && tls_md_pairs >= n_pairs) return tls_md;
    pthread_once(&md_once, md_key_init);
    if (tls_md) pcre2_match_data_free(tls_md);
    uint32_t want = n_pairs < 16 ? 16 : n_pairs;
    tls_md = pcre2_match_data_create(want, NULL);
    if (!tls_md) {
        vg_log_error("out of memory", "what", "pcre2 match data", NULL);
        abort();
    }
    tls_md_pairs = want;
    (void)pthread_setspecific(md_key, tls_md); /* frees it when the thread exits */
    return tls_md;
}

/* One match context with the limits, shared read-only by every match. */
static pcre2_match_context *limits_ctx;
static pthread_once_t limits_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t limit_errors;

static void limits_init(void) {
    limits_ctx = pcre2_match_context_create(NULL);
    if (!limits_ctx) return;
    pcre2_set_match_limit(limits_ctx, LABELS_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(limits_ctx, LABELS_REGEX_DEPTH_LIMIT);
    pcre2_set_heap_limit(limits_ctx, LABELS_REGEX_HEAP_LIMIT_KIB);
}

uint64_t labels_regex_limit_errors(void) { return atomic_load(&limit_errors); }

/* ---------------------------------------------------------------- the type */

enum rx_kind { RX_PCRE = 0, RX_SET, RX_SEGMENTS };

typedef struct rx_lit {
    const char *p;
    size_t len;
} rx_lit_t;

/* A gap between literals: nothing (only at either end), ".*" (min 0) or
 * ".+" (min 1). */
enum { GAP_NONE = 0, GAP_STAR, GAP_PLUS };

struct labels_regex {
    char *pattern;
    size_t pattern_len;
    enum rx_kind kind;
    /* RX_SET: sorted unique literals; RX_SEGMENTS: literals in order with
     * gaps[i] before lits[i] and gaps[n_lits] after the last. */
    rx_lit_t *lits;
    size_t n_lits;
    uint8_t *gaps;
    char *lit_bytes;
    labels_label_t *set_view; /* RX_SET and plain literals, for set_matches */
    size_t n_set_view;
    /* Capture groups: for the fast kinds, only groups wrapped around the
     * whole pattern, each capturing the whole string. */
    uint32_t n_groups;
    pcre2_code *code;
};

/* -------------------------------------------------------------- tokenizer */

enum tok_kind {
    T_LIT,
    T_DOT,
    T_STAR,
    T_PLUS,
    T_QMARK,
    T_LCAP, /* ( */
    T_LNC,  /* (?: */
    T_RPAREN,
    T_BAR,
    T_CARET,
    T_DOLLAR,
    T_OTHER, /* anything the analyzer does not handle */
};

typedef struct tok {
    uint8_t kind;
    uint32_t off, len; /* for T_LIT: the literal bytes in the pattern */
} tok_t;

static bool is_punct(unsigned char c) {
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
           (c >= '{' && c <= '~');
}

/* Tokenizes p; returns false at the first construct outside the subset. */
static bool tokenize(const char *p, size_t n, tok_t *toks, size_t *out_n) {
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)p[i];
        tok_t t = {T_LIT, (uint32_t)i, 1};
        switch (c) {
        case '\\':
            if (i + 1 >= n || !is_punct((unsigned char)p[i + 1])) return false;
            t.off = (uint32_t)(i + 1);
            i += 2;
            break;
        case '.':
            t.kind = T_DOT;
            i++;
            break;
        case '*':
            t.kind = T_STAR;
            i++;
            break;
        case '+':
            t.kind = T_PLUS;
            i++;
            break;
        case '?':
            t.kind = T_QMARK;
            i++;
            break;
        case ')':
            t.kind = T_RPAREN;
            i++;
            break;
        case '|':
            t.kind = T_BAR;
            i++;
            break;
        case '^':
            t.kind = T_CARET;
            i++;
            break;
        case '$':
            t.kind = T_DOLLAR;
            i++;
            break;
        case '(':
            if (i + 1 < n && p[i + 1] == '?') {
                if (i + 2 < n && p[i + 2] == ':') {
                    t.kind = T_LNC;
                    i += 3;
                } else {
                    return false;
                }
            } else {
                t.kind = T_LCAP;
                i++;
            }
            break;
        case '[':
        case ']':
        case '{':
        case '}': return false;
        default:
            if (c >= 0x80) {
                size_t w;
                lbl_utf8_decode((const unsigned char *)p + i, n - i, &w);
                t.len = (uint32_t)w;
            }
            i += t.len;
            break;
        }
        toks[k++] = t;
    }
    *out_n = k;
    return true;
}

/* Index of the parenthesis closing the one at toks[open], or -1. */
static long matching_paren(const tok_t *toks, size_t n, size_t open) {
    int depth = 0;
    for (size_t i = open; i < n; i++) {
        if (toks[i].kind == T_LCAP || toks[i].kind == T_LNC) depth++;
        if (toks[i].kind == T_RPAREN && --depth == 0) return (long)i;
    }
    return -1;
}

/* One branch as literals and gaps, written into the caller's arrays. */
typedef struct branch {
    size_t first_lit; /* index into the shared literal arrays */
    size_t n_lits;
    size_t first_gap;
} branch_t;

/* Parses toks[a..b) as a branch. Literal runs are gathered into buf (the
 * bytes of adjacent literal tokens are concatenated). */
static bool parse_branch(const char *p, const tok_t *toks, size_t a, size_t b, char *buf,
                         size_t *buf_len, rx_lit_t *lits, size_t *n_lits, uint8_t *gaps,
                         size_t *n_gaps) {
    if (a < b && toks[a].kind == T_CARET) a++;
    if (b > a && toks[b - 1].kind == T_DOLLAR) b--;
    uint8_t gap = GAP_NONE;
    size_t lit_start = SIZE_MAX;
    for (size_t i = a; i < b; i++) {
        const tok_t *t = &toks[i];
        if (t->kind == T_LIT) {
            if (i + 1 < b && (toks[i + 1].kind == T_STAR || toks[i + 1].kind == T_PLUS ||
                              toks[i + 1].kind == T_QMARK))
                return false;
            if (lit_start == SIZE_MAX) {
                gaps[(*n_gaps)++] = gap;
                gap = GAP_NONE;
                lit_start = *buf_len;
            }
            memcpy(buf + *buf_len, p + t->off, t->len);
            *buf_len += t->len;
            continue;
        }
        if (t->kind != T_DOT || i + 1 >= b) return false;
        uint8_t g = toks[i + 1].kind == T_STAR   ? GAP_STAR
                    : toks[i + 1].kind == T_PLUS ? GAP_PLUS
                                                 : GAP_NONE;
        if (g == GAP_NONE) return false;
        i++;
        if (i + 1 < b && toks[i + 1].kind == T_QMARK) i++; /* lazy: same set of strings */
        if (i + 1 < b && (toks[i + 1].kind == T_STAR || toks[i + 1].kind == T_PLUS ||
                          toks[i + 1].kind == T_QMARK))
            return false;
        if (lit_start != SIZE_MAX) {
            lits[*n_lits].p = buf + lit_start; /* buf never moves */
            lits[*n_lits].len = *buf_len - lit_start;
            (*n_lits)++;
            lit_start = SIZE_MAX;
        }
        if (gap == GAP_PLUS && g == GAP_PLUS) return false; /* ".+.+" needs two characters */
        if (g == GAP_PLUS || gap == GAP_PLUS)
            gap = GAP_PLUS;
        else
            gap = GAP_STAR;
    }
    if (lit_start != SIZE_MAX) {
        lits[*n_lits].p = buf + lit_start;
        lits[*n_lits].len = *buf_len - lit_start;
        (*n_lits)++;
    }
    gaps[(*n_gaps)++] = gap;
    return true;
}

static int cmp_lit(const void *a, const void *b) {
    const rx_lit_t *x = a, *y = b;
    return lbl_strcmp(x->p, x->len, y->p, y->len);
}

/* Tries to find a fast form of re->pattern; fills re and returns true. */
static bool analyze(labels_regex_t *re) {
    const char *p = re->pattern;
    size_t n = re->pattern_len;
    tok_t stack_toks[64];
    tok_t *toks = n <= 64 ? stack_toks : vg_malloc(n * sizeof *toks);
    size_t nt = 0;
    bool ok = false;
    char *buf = NULL;
    rx_lit_t *lits = NULL;
    uint8_t *gaps = NULL;
    if (!tokenize(p, n, toks, &nt)) goto out;
    size_t a = 0, b = nt;
    uint32_t groups = 0;
    while (a < b && (toks[a].kind == T_LCAP || toks[a].kind == T_LNC) &&
           matching_paren(toks, b, a) == (long)b - 1) {
        if (toks[a].kind == T_LCAP) groups++;
        a++;
        b--;
    }
    size_t n_branches = 1;
    for (size_t i = a; i < b; i++) {
        if (toks[i].kind == T_LCAP || toks[i].kind == T_LNC || toks[i].kind == T_RPAREN) goto out;
        if (toks[i].kind == T_BAR) n_branches++;
    }
    buf = vg_malloc(n + 1);
    lits = vg_malloc((nt + 1) * sizeof *lits);
    gaps = vg_malloc(nt + 2);
    size_t buf_len = 0, n_lits = 0, n_gaps = 0;
    if (n_branches == 1) {
        if (!parse_branch(p, toks, a, b, buf, &buf_len, lits, &n_lits, gaps, &n_gaps)) goto out;
        re->kind = RX_SEGMENTS;
    } else {
        /* Every branch must be a plain literal (or empty). */
        size_t start = a;
        for (size_t i = a; i <= b; i++) {
            if (i < b && toks[i].kind != T_BAR) continue;
            size_t before = n_lits, gbefore = n_gaps, bl = buf_len;
            if (!parse_branch(p, toks, start, i, buf, &buf_len, lits, &n_lits, gaps, &n_gaps))
                goto out;
            size_t bn = n_lits - before;
            if (bn > 1 || gaps[gbefore] != GAP_NONE || gaps[n_gaps - 1] != GAP_NONE) goto out;
            n_gaps = gbefore;
            if (bn == 0) { /* empty branch: the empty string */
                lits[n_lits].p = buf + bl;
                lits[n_lits].len = 0;
                n_lits++;
            }
            start = i + 1;
        }
        qsort(lits, n_lits, sizeof *lits, cmp_lit);
        size_t u = 0;
        for (size_t i = 0; i < n_lits; i++)
            if (u == 0 || cmp_lit(&lits[u - 1], &lits[i]) != 0) lits[u++] = lits[i];
        n_lits = u;
        re->kind = RX_SET;
        free(gaps);
        gaps = NULL;
    }
    re->n_groups = groups;
    re->lit_bytes = buf;
    re->lits = lits;
    re->n_lits = n_lits;
    re->gaps = gaps;
    buf = NULL;
    lits = NULL;
    gaps = NULL;
    /* A literal set (or one literal) is what the index can look up. */
    bool literal = re->kind == RX_SET ||
                   (re->n_lits == 1 && re->gaps[0] == GAP_NONE && re->gaps[1] == GAP_NONE) ||
                   (re->n_lits == 0 && re->gaps[0] == GAP_NONE);
    if (literal) {
        size_t m = re->kind == RX_SET ? re->n_lits : 1;
        re->set_view = vg_calloc(m, sizeof *re->set_view);
        re->n_set_view = m;
        for (size_t i = 0; i < re->n_lits && i < m; i++) {
            re->set_view[i].name = re->lits[i].p;
            re->set_view[i].name_len = re->lits[i].len;
        }
        if (re->n_lits == 0) re->set_view[0].name = "";
    }
    ok = true;
out:
    if (toks != stack_toks) free(toks);
    free(buf);
    free(lits);
    free(gaps);
    return ok;
}

/* --------------------------------------------------------- fast matching */

static bool set_match(const labels_regex_t *re, const char *s, size_t len) {
    size_t lo = 0, hi = re->n_lits;
    if (hi <= 8) {
        for (size_t i = 0; i < hi; i++)
            if (lbl_streq(re->lits[i].p, re->lits[i].len, s, len)) return true;
        return false;
    }
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = lbl_strcmp(re->lits[mid].p, re->lits[mid].len, s, len);
        if (c == 0) return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static size_t gap_min(uint8_t g) { return g == GAP_PLUS ? 1 : 0; }

/* Literals in order with ".*"/".+" gaps: the leftmost occurrence of each
 * literal leaves the most room for the rest, so a greedy scan decides. */
static bool segments_match(const labels_regex_t *re, const char *s, size_t len) {
    const rx_lit_t *L = re->lits;
    const uint8_t *G = re->gaps;
    size_t k = re->n_lits;
    if (k == 0) return G[0] == GAP_NONE ? len == 0 : len >= gap_min(G[0]);
    size_t pos = 0, end = len, first = 0, last = k; /* literals [first, last) to search */
    if (G[0] == GAP_NONE) {
        if (len < L[0].len || memcmp(s, L[0].p, L[0].len) != 0) return false;
        pos = L[0].len;
        first = 1;
    }
    if (G[k] == GAP_NONE) {
        if (first == k) return pos == len; /* a plain literal */
        const rx_lit_t *t = &L[k - 1];
        if (len - pos < t->len || memcmp(s + len - t->len, t->p, t->len) != 0) return false;
        end = len - t->len;
        last = k - 1;
    }
    for (size_t i = first; i < last; i++) {
        size_t start = pos + gap_min(G[i]);
        if (start > end || end - start < L[i].len) return false;
        const char *hit = memmem(s + start, end - start, L[i].p, L[i].len);
        if (!hit) return false;
        pos = (size_t)(hit - s) + L[i].len;
    }
    /* The gap after the last literal searched: before the suffix, or the tail. */
    return end >= pos && end - pos >= gap_min(G[last]);
}

/* ---------------------------------------------------------------- PCRE2 */

/* Go's "\v" is the vertical tab; PCRE2's is a class. Rewrites it outside
 * \Q...\E; returns NULL when the pattern has no \v. */
static char *rewrite_vtab(const char *p, size_t n, size_t *out_len) {
    bool found = false;
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] == '\\') {
            if (p[i + 1] == 'v') found = true;
            i++;
        }
    }
    if (!found) return NULL;
    vg_buf_t b = VG_BUF_INIT;
    bool quoted = false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 1 < n) {
            char c = p[i + 1];
            if (quoted) {
                if (c == 'E') quoted = false;
                vg_buf_append(&b, p + i, 2);
            } else if (c == 'Q') {
                quoted = true;
                vg_buf_append(&b, p + i, 2);
            } else if (c == 'v') {
                vg_buf_append(&b, "\\x0b", 4);
            } else {
                vg_buf_append(&b, p + i, 2);
            }
            i++;
            continue;
        }
        vg_buf_putc(&b, p[i]);
    }
    *out_len = b.len;
    return vg_buf_detach(&b);
}

static int compile_pcre(labels_regex_t *re, vg_err_t *err) {
    size_t len = re->pattern_len;
    char *rewritten = rewrite_vtab(re->pattern, re->pattern_len, &len);
    const char *pat = rewritten ? rewritten : re->pattern;
    int ec = 0;
    PCRE2_SIZE eo = 0;
    uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY |
                    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_NEVER_BACKSLASH_C;
    re->code = pcre2_compile((PCRE2_SPTR)pat, len, opts, &ec, &eo, NULL);
    free(rewritten);
    if (!re->code) {
        PCRE2_UCHAR why[256];
        if (pcre2_get_error_message(ec, why, sizeof why) < 0)
            strcpy((char *)why, "invalid pattern");
        return vg_err_set(err, VG_ERR_INPUT, "error parsing regexp: %s at offset %zu: `%.*s`",
                          (const char *)why, (size_t)eo,
                          (int)(re->pattern_len > 256 ? 256 : re->pattern_len), re->pattern);
    }
    (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE); /* interpreted if JIT fails */
    uint32_t caps = 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &caps);
    re->n_groups = caps;
    return VG_OK;
}

/* Runs PCRE2; > 0 on a match, <= 0 otherwise (limit hits are counted). */
static int pcre_exec(const labels_regex_t *re, const char *s, size_t len, pcre2_match_data *md) {
    pthread_once(&limits_once, limits_init);
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, md, limits_ctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* the interpreter keeps its frames on the heap */
        rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, PCRE2_NO_JIT, md, limits_ctx);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) {
        atomic_fetch_add(&limit_errors, 1);
        return 0;
    }
    return rc == 0 ? 1 : rc; /* 0: ovector too small, still a match */
}

/* ----------------------------------------------------------------- public */

int labels_regex_new(const char *pattern, size_t len, labels_regex_t **out, vg_err_t *err) {
    return lbl_regex_new_opts(pattern, len, false, out, err);
}

int lbl_regex_new_opts(const char *pattern, size_t len, bool pcre_only, labels_regex_t **out,
                       vg_err_t *err) {
    if (len > LABELS_REGEX_MAX_PATTERN)
        return vg_err_set(err, VG_ERR_LIMIT, "regexp is longer than %u bytes",
                          LABELS_REGEX_MAX_PATTERN);
    if (!labels_utf8_valid(pattern, len))
        return vg_err_set(err, VG_ERR_INPUT, "error parsing regexp: invalid UTF-8: `%.*s`",
                          (int)(len > 256 ? 256 : len), pattern);
    labels_regex_t *re = vg_calloc(1, sizeof *re);
    re->pattern = vg_malloc(len + 1);
    if (len) memcpy(re->pattern, pattern, len);
    re->pattern[len] = 0;
    re->pattern_len = len;
    if (pcre_only || !analyze(re)) {
        re->kind = RX_PCRE;
        int rc = compile_pcre(re, err);
        if (rc) {
            labels_regex_free(re);
            return rc;
        }
    }
    *out = re;
    return VG_OK;
}

void labels_regex_free(labels_regex_t *re) {
    if (!re) return;
    if (re->code) pcre2_code_free(re->code);
    free(re->pattern);
    free(re->lits);
    free(re->gaps);
    free(re->lit_bytes);
    free(re->set_view);
    free(re);
}

const char *labels_regex_pattern(const labels_regex_t *re, size_t *out_len) {
    if (out_len) *out_len = re->pattern_len;
    return re->pattern;
}

bool labels_regex_match(const labels_regex_t *re, const char *s, size_t len) {
    switch (re->kind) {
    case RX_SET: return set_match(re, s, len);
    case RX_SEGMENTS: return segments_match(re, s, len);
    default: return pcre_exec(re, s, len, lbl_match_data(1)) > 0;
    }
}

int lbl_regex_groups(const labels_regex_t *re, const char *s, size_t len, size_t *ovec,
                     size_t n_pairs) {
    if (n_pairs == 0) return labels_regex_match(re, s, len) ? 0 : -1;
    if (re->kind != RX_PCRE) {
        if (!labels_regex_match(re, s, len)) return -1;
        /* Only whole-pattern groups exist: each holds the whole string. */
        size_t n = re->n_groups + 1 < n_pairs ? re->n_groups + 1 : n_pairs;
        for (size_t i = 0; i < n; i++) {
            ovec[2 * i] = 0;
            ovec[2 * i + 1] = len;
        }
        return (int)n;
    }
    uint32_t want = re->n_groups + 1;
    if (want > LBL_MAX_GROUPS + 1) want = LBL_MAX_GROUPS + 1;
    pcre2_match_data *md = lbl_match_data(want);
    int rc = pcre_exec(re, s, len, md);
    if (rc <= 0) return -1;
    size_t n = want < n_pairs ? want : n_pairs;
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    for (size_t i = 0; i < n; i++) {
        bool set = i < (size_t)rc && ov[2 * i] != PCRE2_UNSET;
        ovec[2 * i] = set ? ov[2 * i] : SIZE_MAX;
        ovec[2 * i + 1] = set ? ov[2 * i + 1] : SIZE_MAX;
    }
    return (int)n;
}

size_t lbl_regex_set(const labels_regex_t *re, const labels_label_t **out) {
    *out = re->set_view;
    return re->n_set_view;
}

const char *lbl_regex_prefix(const labels_regex_t *re, size_t *out_len) {
    if (re->kind == RX_SEGMENTS && re->n_lits > 0 && re->gaps[0] == GAP_NONE) {
        *out_len = re->lits[0].len;
        return re->lits[0].p;
    }
    *out_len = 0;
    return "";
}

bool lbl_regex_is_fast(const labels_regex_t *re) { return re->kind != RX_PCRE; }

/* ------------------------------------------------------------- templates */

void lbl_tmpl_compile(lbl_tmpl_t *t, const labels_regex_t *re, const char *templ, size_t len) {
    memset(t, 0, sizeof *t);
    t->text = vg_malloc(len + 1);
    if (len) memcpy(t->text, templ, len);
    t->text[len] = 0;
    t->text_len = len;
    t->max_group = -1;
    size_t cap = 4;
    t->segs = vg_malloc(cap * sizeof *t->segs);
    const char *s = t->text;
    size_t lit = 0, i = 0;
#define PUSH(off_, len_, grp_)                                                                     \
    do {                                                                                           \
        if (t->n_segs == cap) {                                                                    \
            cap *= 2;                                                                              \
            t->segs = vg_realloc(t->segs, cap * sizeof *t->segs);                                  \
        }                                                                                          \
        t->segs[t->n_segs].lit_off = (uint32_t)(off_);                                             \
        t->segs[t->n_segs].lit_len = (uint32_t)(len_);                                             \
        t->segs[t->n_segs].group = (grp_);                                                         \
        t->n_segs++;                                                                               \
    } while (0)
    while (i < len) {
        const char *d = memchr(s + i, '$', len - i);
        if (!d) break;
        size_t at = (size_t)(d - s);
        t->has_dollar = true;
        if (at > lit) PUSH(lit, at - lit, -1);
        size_t j = at + 1;
        if (j < len && s[j] == '$') { /* "$$" is a "$" */
            PUSH(at, 1, -1);
            i = lit = j + 1;
            continue;
        }
        bool brace = j < len && s[j] == '{';
        size_t name = j + (brace ? 1 : 0), k = name;
        while (k < len) {
            size_t w;
            uint32_t r = lbl_utf8_decode((const unsigned char *)s + k, len - k, &w);
            if (r == 0xFFFD && w == 1) break; /* Go: RuneError is not a letter */
            if (!lbl_rune_is_word(r)) break;
            k += w;
        }
        size_t name_len = k - name;
        if (name_len == 0 || (brace && (k >= len || s[k] != '}'))) {
            /* Malformed: the "$" is copied and the scan goes on after it. */
            PUSH(at, 1, -1);
            i = lit = j;
            continue;
        }
        size_t rest = brace ? k + 1 : k;
        /* A number (no leading zero, below 1e9) or else a name. */
        long num = 0;
        for (size_t q = 0; q < name_len; q++) {
            char c = s[name + q];
            if (c < '0' || c > '9' || num >= 100000000) {
                num = -1;
                break;
            }
            num = num * 10 + (c - '0');
        }
        if (s[name] == '0' && name_len > 1) num = -1;
        int32_t grp = INT32_MAX;
        if (num >= 0) {
            if ((uint32_t)num <= re->n_groups && num <= LBL_MAX_GROUPS) grp = (int32_t)num;
        } else if (re->code) {
            char nm[128];
            if (name_len < sizeof nm) {
                memcpy(nm, s + name, name_len);
                nm[name_len] = 0;
                int g = pcre2_substring_number_from_name(re->code, (PCRE2_SPTR)nm);
                if (g > 0 && g <= LBL_MAX_GROUPS) grp = g;
            }
        }
        PUSH(0, 0, grp);
        if (grp != INT32_MAX && grp > t->max_group) t->max_group = grp;
        i = lit = rest;
    }
    if (lit < len) PUSH(lit, len - lit, -1);
#undef PUSH
}

void lbl_tmpl_free(lbl_tmpl_t *t) {
    free(t->text);
    free(t->segs);
    memset(t, 0, sizeof *t);
}

void lbl_tmpl_expand(const lbl_tmpl_t *t, const char *s, const size_t *ovec, int n_pairs,
                     vg_buf_t *out) {
    for (size_t i = 0; i < t->n_segs; i++) {
        const lbl_tmpl_seg_t *g = &t->segs[i];
        if (g->group < 0) {
            vg_buf_append(out, t->text + g->lit_off, g->lit_len);
        } else if (g->group < n_pairs && ovec[2 * g->group] != SIZE_MAX) {
            size_t a = ovec[2 * g->group], b = ovec[2 * g->group + 1];
            vg_buf_append(out, s + a, b - a);
        }
    }
}

bool labels_regex_expand(const labels_regex_t *re, const char *s, size_t len, const char *templ,
                         size_t templ_len, vg_buf_t *out) {
    size_t ovec_stack[2 * 16];
    size_t pairs = re->n_groups + 1;
    if (pairs > LBL_MAX_GROUPS + 1) pairs = LBL_MAX_GROUPS + 1;
    size_t *ovec = pairs <= 16 ? ovec_stack : vg_malloc(2 * pairs * sizeof *ovec);
    int n = lbl_regex_groups(re, s, len, ovec, pairs);
    if (n >= 0) {
        lbl_tmpl_t t;
        lbl_tmpl_compile(&t, re, templ, templ_len);
        lbl_tmpl_expand(&t, s, ovec, n, out);
        lbl_tmpl_free(&t);
    }
    if (ovec != ovec_stack) free(ovec);
    return n >= 0;
}
