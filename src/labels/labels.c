/*
 * This file implements label sets (labels_t) and the builder that makes
 * them, with Prometheus's model/labels semantics: sorting, hashing,
 * comparing, formatting, validation and the scrape limits.
 *
 * A labels_t is one allocation (see labels_int.h) so that copying is one
 * memcpy and hashing one pass over contiguous bytes. The builder mirrors
 * Prometheus's labels.Builder: a borrowed base set, flags for base labels
 * that are deleted or overridden, and a list of labels set since the
 * reset. Keeping that shape (rather than one sorted array) is what makes
 * Range visit labels in Prometheus's order, which labelmap's result
 * depends on when two labels map to the same name.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "labels/labels_int.h"

/* ------------------------------------------------------------- label sets */

labels_t *lbl_alloc(size_t n, size_t blob_len) {
    if (n > LABELS_MAX_BYTES / 2 || blob_len > LABELS_MAX_BYTES) {
        vg_log_error("label set over the size limit", NULL);
        abort();
    }
    labels_t *ls = vg_malloc(sizeof(labels_t) + 2 * n * sizeof(uint32_t) + blob_len);
    ls->n = (uint32_t)n;
    ls->blob_len = (uint32_t)blob_len;
    return ls;
}

labels_t *labels_new_empty(void) { return lbl_alloc(0, 0); }

size_t labels_byte_size(const labels_t *ls) {
    return sizeof(labels_t) + 2 * (size_t)ls->n * sizeof(uint32_t) + ls->blob_len;
}

labels_t *labels_dup(const labels_t *ls) {
    size_t sz = labels_byte_size(ls);
    labels_t *c = vg_malloc(sz);
    memcpy(c, ls, sz);
    return c;
}

void labels_free(labels_t *ls) { free(ls); }

size_t labels_len(const labels_t *ls) { return ls->n; }

labels_label_t labels_at(const labels_t *ls, size_t i) {
    const char *blob = lbl_blob(ls);
    uint32_t no = ls->off[2 * i], vo = ls->off[2 * i + 1];
    labels_label_t l = {blob + no, blob + vo, vo - no - 1, lbl_end(ls, i) - vo - 1};
    return l;
}

/* Index of name in ls, or -1. Binary search: sets are sorted by name. */
static long find_label(const labels_t *ls, const char *name, size_t name_len) {
    const char *blob = lbl_blob(ls);
    size_t lo = 0, hi = ls->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint32_t no = ls->off[2 * mid];
        int c = lbl_strcmp(blob + no, ls->off[2 * mid + 1] - no - 1, name, name_len);
        if (c == 0) return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

const char *labels_get(const labels_t *ls, const char *name, size_t name_len, size_t *out_len) {
    long i = find_label(ls, name, name_len);
    if (i < 0) {
        if (out_len) *out_len = 0;
        return NULL;
    }
    uint32_t vo = ls->off[2 * i + 1];
    if (out_len) *out_len = lbl_end(ls, (size_t)i) - vo - 1;
    return lbl_blob(ls) + vo;
}

bool labels_has(const labels_t *ls, const char *name, size_t name_len) {
    return find_label(ls, name, name_len) >= 0;
}

const char *labels_metric_name(const labels_t *ls, size_t *out_len) {
    return labels_get(ls, LABELS_METRIC_NAME, LABELS_METRIC_NAME_LEN, out_len);
}

/* Fills a set from labels already sorted by name and unique. */
static labels_t *build_sorted(const labels_label_t *ls, size_t n) {
    size_t blob = 0;
    for (size_t i = 0; i < n; i++)
        blob += ls[i].name_len + ls[i].value_len + 2;
    labels_t *out = lbl_alloc(n, blob);
    char *p = (char *)lbl_blob(out);
    uint32_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        out->off[2 * i] = pos;
        if (ls[i].name_len) memcpy(p + pos, ls[i].name, ls[i].name_len);
        pos += (uint32_t)ls[i].name_len;
        p[pos++] = (char)0xff;
        out->off[2 * i + 1] = pos;
        if (ls[i].value_len) memcpy(p + pos, ls[i].value, ls[i].value_len);
        pos += (uint32_t)ls[i].value_len;
        p[pos++] = (char)0xff;
    }
    return out;
}

static int cmp_label_name(const void *a, const void *b) {
    const labels_label_t *x = a, *y = b;
    return lbl_strcmp(x->name, x->name_len, y->name, y->name_len);
}

/* Sorts by name; insertion sort for the short lists label sets are. */
static void sort_labels(labels_label_t *ls, size_t n) {
    if (n > 16) {
        qsort(ls, n, sizeof *ls, cmp_label_name);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        labels_label_t t = ls[i];
        size_t j = i;
        while (j > 0 && cmp_label_name(&ls[j - 1], &t) > 0) {
            ls[j] = ls[j - 1];
            j--;
        }
        ls[j] = t;
    }
}

int labels_from_pairs(const labels_label_t *pairs, size_t n, labels_t **out, vg_err_t *err) {
    labels_label_t stack[32];
    labels_label_t *tmp = n <= 32 ? stack : vg_malloc(n * sizeof *tmp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (pairs[i].value_len) tmp[m++] = pairs[i];
    sort_labels(tmp, m);
    for (size_t i = 1; i < m; i++) {
        if (lbl_streq(tmp[i].name, tmp[i].name_len, tmp[i - 1].name, tmp[i - 1].name_len)) {
            int rc = vg_err_set(err, VG_ERR_INPUT, "label name \"%.*s\" is not unique",
                                (int)(tmp[i].name_len > 200 ? 200 : tmp[i].name_len), tmp[i].name);
            if (tmp != stack) free(tmp);
            return rc;
        }
    }
    *out = build_sorted(tmp, m);
    if (tmp != stack) free(tmp);
    return VG_OK;
}

labels_t *labels_from_strings(const char *name, ...) {
    labels_builder_t *b = labels_builder_new();
    va_list ap;
    va_start(ap, name);
    for (const char *n = name; n; n = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        labels_builder_set_s(b, n, v ? v : "");
    }
    va_end(ap);
    labels_t *ls = labels_builder_labels(b);
    labels_builder_free(b);
    return ls;
}

/* ------------------------------------------------------------ hash, order */

uint64_t labels_hash(const labels_t *ls) { return XXH3_64bits(lbl_blob(ls), ls->blob_len); }

static bool name_in(const char *name, size_t len, const char *const *names, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) return true;
    return false;
}

uint64_t labels_hash_names(const labels_t *ls, const char *const *names, size_t n_names,
                           bool without) {
    /* Selected labels are contiguous runs of the blob; copy them into one
     * buffer (on the stack for the usual sizes) and hash once. */
    char stack[1024];
    char *buf = ls->blob_len <= sizeof stack ? stack : vg_malloc(ls->blob_len);
    size_t len = 0;
    const char *blob = lbl_blob(ls);
    for (size_t i = 0; i < ls->n; i++) {
        uint32_t no = ls->off[2 * i], end = lbl_end(ls, i);
        size_t nl = ls->off[2 * i + 1] - no - 1;
        bool listed = name_in(blob + no, nl, names, n_names);
        bool take = without ? !listed && !lbl_streq(blob + no, nl, LABELS_METRIC_NAME,
                                                    LABELS_METRIC_NAME_LEN)
                            : listed;
        if (!take) continue;
        memcpy(buf + len, blob + no, end - no);
        len += end - no;
    }
    uint64_t h = len ? XXH3_64bits(buf, len) : XXH3_64bits(NULL, 0);
    if (buf != stack) free(buf);
    return h;
}

int labels_compare(const labels_t *a, const labels_t *b) {
    size_t n = a->n < b->n ? a->n : b->n;
    /* Skip the leading labels that are byte-for-byte the same (same bytes
     * and same offsets): find the first differing blob byte, then step over
     * whole labels that end before it. Series sorted together share most
     * labels, so this usually leaves one label to compare. */
    const char *ab = lbl_blob(a), *bb = lbl_blob(b);
    size_t m = a->blob_len < b->blob_len ? a->blob_len : b->blob_len, d = 0;
    while (d + 8 <= m) {
        uint64_t x, y;
        memcpy(&x, ab + d, 8);
        memcpy(&y, bb + d, 8);
        if (x != y) break;
        d += 8;
    }
    while (d < m && ab[d] == bb[d])
        d++;
    size_t i = 0;
    while (i < n && a->off[2 * i + 1] == b->off[2 * i + 1] && lbl_end(a, i) == lbl_end(b, i) &&
           lbl_end(a, i) <= d)
        i++;
    for (; i < n; i++) {
        labels_label_t x = labels_at(a, i), y = labels_at(b, i);
        int c = lbl_strcmp(x.name, x.name_len, y.name, y.name_len);
        if (c) return c < 0 ? -1 : 1;
        c = lbl_strcmp(x.value, x.value_len, y.value, y.value_len);
        if (c) return c < 0 ? -1 : 1;
    }
    return a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
}

bool labels_equal(const labels_t *a, const labels_t *b) {
    /* Same offsets and same blob is the same labels: the offsets fix where
     * each name and value starts, so 0xff bytes inside values cannot alias. */
    return a->n == b->n && a->blob_len == b->blob_len &&
           memcmp(a->off, b->off, 2 * (size_t)a->n * sizeof(uint32_t)) == 0 &&
           memcmp(lbl_blob(a), lbl_blob(b), a->blob_len) == 0;
}

/* ------------------------------------------------------------- formatting */

void labels_format_json(const labels_t *ls, vg_buf_t *out) {
    vg_buf_putc(out, '{');
    for (size_t i = 0; ls && i < labels_len(ls); i++) {
        labels_label_t l = labels_at(ls, i);
        vg_buf_puts(out, i ? ",\"" : "\"");
        vg_buf_put_json_escaped(out, l.name, l.name_len);
        vg_buf_puts(out, "\":\"");
        vg_buf_put_json_escaped(out, l.value, l.value_len);
        vg_buf_putc(out, '"');
    }
    vg_buf_putc(out, '}');
}

void labels_quote(vg_buf_t *out, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    vg_buf_reserve(out, len + 2);
    vg_buf_putc(out, '"');
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            vg_buf_append(out, s + i, run - i);
            i = run;
            if (i == len) break;
        }
        size_t w;
        uint32_t r = lbl_utf8_decode(p + i, len - i, &w);
        char esc[12];
        if (r == 0xFFFD && w == 1) {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[p[i] >> 4];
            esc[3] = hex[p[i] & 15];
            vg_buf_append(out, esc, 4);
        } else if (r == '"' || r == '\\') {
            esc[0] = '\\';
            esc[1] = (char)r;
            vg_buf_append(out, esc, 2);
        } else if (r >= 0x80 && lbl_rune_is_print(r)) {
            vg_buf_append(out, s + i, w);
        } else {
            const char *named = NULL;
            switch (r) {
            case '\a': named = "\\a"; break;
            case '\b': named = "\\b"; break;
            case '\f': named = "\\f"; break;
            case '\n': named = "\\n"; break;
            case '\r': named = "\\r"; break;
            case '\t': named = "\\t"; break;
            case '\v': named = "\\v"; break;
            default: break;
            }
            if (named) {
                vg_buf_append(out, named, 2);
            } else if (r < 0x20 || r == 0x7f) {
                esc[0] = '\\';
                esc[1] = 'x';
                esc[2] = hex[r >> 4];
                esc[3] = hex[r & 15];
                vg_buf_append(out, esc, 4);
            } else if (r < 0x10000) {
                esc[0] = '\\';
                esc[1] = 'u';
                for (int k = 0; k < 4; k++)
                    esc[2 + k] = hex[(r >> (12 - 4 * k)) & 15];
                vg_buf_append(out, esc, 6);
            } else {
                esc[0] = '\\';
                esc[1] = 'U';
                for (int k = 0; k < 8; k++)
                    esc[2 + k] = hex[(r >> (28 - 4 * k)) & 15];
                vg_buf_append(out, esc, 10);
            }
        }
        i += w;
    }
    vg_buf_putc(out, '"');
}

static void put_name(vg_buf_t *out, const char *s, size_t len) {
    if (labels_name_valid_legacy(s, len))
        vg_buf_append(out, s, len);
    else
        labels_quote(out, s, len);
}

void labels_format(const labels_t *ls, vg_buf_t *out) {
    vg_buf_putc(out, '{');
    for (size_t i = 0; i < ls->n; i++) {
        labels_label_t l = labels_at(ls, i);
        if (i) vg_buf_append(out, ", ", 2);
        put_name(out, l.name, l.name_len);
        vg_buf_putc(out, '=');
        labels_quote(out, l.value, l.value_len);
    }
    vg_buf_putc(out, '}');
}

void labels_format_metric(const labels_t *ls, vg_buf_t *out) {
    size_t name_len = 0;
    const char *name = labels_metric_name(ls, &name_len);
    bool bare = name && labels_metric_name_valid_legacy(name, name_len);
    size_t others = ls->n - (name ? 1 : 0);
    if (bare) {
        vg_buf_append(out, name, name_len);
        if (!others) return;
    }
    vg_buf_putc(out, '{');
    bool first = true;
    if (name && !bare) {
        labels_quote(out, name, name_len);
        first = false;
    }
    for (size_t i = 0; i < ls->n; i++) {
        labels_label_t l = labels_at(ls, i);
        if (lbl_streq(l.name, l.name_len, LABELS_METRIC_NAME, LABELS_METRIC_NAME_LEN)) continue;
        if (!first) vg_buf_append(out, ", ", 2);
        first = false;
        put_name(out, l.name, l.name_len);
        vg_buf_putc(out, '=');
        labels_quote(out, l.value, l.value_len);
    }
    vg_buf_putc(out, '}');
}

/* --------------------------------------------------------------- validity */

bool labels_name_valid_legacy(const char *s, size_t len) {
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
            (i > 0 && c >= '0' && c <= '9'))
            continue;
        return false;
    }
    return true;
}

bool labels_metric_name_valid_legacy(const char *s, size_t len) {
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
            (i > 0 && c >= '0' && c <= '9'))
            continue;
        return false;
    }
    return true;
}

bool labels_name_valid(const char *s, size_t len, bool utf8) {
    if (!utf8) return labels_name_valid_legacy(s, len);
    return len > 0 && labels_utf8_valid(s, len);
}

/* Writes at most max runes of s into out, as Go's %.Ns does. */
static void put_runes(vg_buf_t *out, const char *s, size_t len, size_t max) {
    size_t i = 0, n = 0;
    while (i < len && n < max) {
        size_t w;
        lbl_utf8_decode((const unsigned char *)s + i, len - i, &w);
        i += w;
        n++;
    }
    vg_buf_append(out, s, i);
}

static size_t rune_count(const char *s, size_t len) {
    size_t i = 0, n = 0;
    while (i < len) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
        } else {
            size_t w;
            lbl_utf8_decode((const unsigned char *)s + i, len - i, &w);
            i += w;
        }
        n++;
    }
    return n;
}

int labels_validate(const labels_t *ls, bool utf8, vg_err_t *err) {
    for (size_t i = 0; i < ls->n; i++) {
        labels_label_t l = labels_at(ls, i);
        bool is_name = lbl_streq(l.name, l.name_len, LABELS_METRIC_NAME, LABELS_METRIC_NAME_LEN);
        vg_buf_t b = VG_BUF_INIT;
        if (is_name && !(utf8 ? l.value_len > 0 && labels_utf8_valid(l.value, l.value_len)
                              : labels_metric_name_valid_legacy(l.value, l.value_len))) {
            labels_quote(&b, l.value, l.value_len > 200 ? 200 : l.value_len);
            int rc = vg_err_set(err, VG_ERR_INPUT, "invalid metric name %s", b.data);
            vg_buf_free(&b);
            return rc;
        }
        if (!labels_name_valid(l.name, l.name_len, utf8)) {
            labels_quote(&b, l.name, l.name_len > 200 ? 200 : l.name_len);
            int rc = vg_err_set(err, VG_ERR_INPUT, "invalid label name %s", b.data);
            vg_buf_free(&b);
            return rc;
        }
        if (!labels_utf8_valid(l.value, l.value_len)) {
            put_name(&b, l.name, l.name_len > 200 ? 200 : l.name_len);
            int rc =
                vg_err_set(err, VG_ERR_INPUT, "invalid UTF-8 in the value of label %s", b.data);
            vg_buf_free(&b);
            return rc;
        }
    }
    return VG_OK;
}

int labels_check_limits(const labels_t *ls, const labels_limits_t *lim, vg_err_t *err) {
    if (!lim) return VG_OK;
    size_t met_len = 0;
    const char *met = labels_metric_name(ls, &met_len);
    if (!met) met = "";
    vg_buf_t m = VG_BUF_INIT;
    put_runes(&m, met, met_len, 50);
    int rc = VG_OK;
    if (lim->max_labels && ls->n > lim->max_labels) {
        rc = vg_err_set(err, VG_ERR_LIMIT,
                        "label_limit exceeded (metric: %s, number of labels: %u, limit: %zu)",
                        m.data ? m.data : "", ls->n, lim->max_labels);
        goto done;
    }
    if (!lim->max_name_len && !lim->max_value_len) goto done;
    for (size_t i = 0; i < ls->n; i++) {
        labels_label_t l = labels_at(ls, i);
        vg_buf_t n = VG_BUF_INIT;
        if (lim->max_name_len && l.name_len > lim->max_name_len) {
            put_runes(&n, l.name, l.name_len, 50);
            rc = vg_err_set(err, VG_ERR_LIMIT,
                            "label_name_length_limit exceeded (metric: %s, label name: %s, "
                            "length: %zu, limit: %zu)",
                            m.data ? m.data : "", n.data ? n.data : "", l.name_len,
                            lim->max_name_len);
            vg_buf_free(&n);
            goto done;
        }
        if (lim->max_value_len) {
            size_t runes = rune_count(l.value, l.value_len);
            if (runes > lim->max_value_len) {
                put_runes(&n, l.name, l.name_len, 50);
                /* %.50q quotes the first 50 runes. */
                size_t i2 = 0, k = 0;
                while (i2 < l.value_len && k < 50) {
                    size_t w;
                    lbl_utf8_decode((const unsigned char *)l.value + i2, l.value_len - i2, &w);
                    i2 += w;
                    k++;
                }
                vg_buf_t q = VG_BUF_INIT;
                labels_quote(&q, l.value, i2);
                rc = vg_err_set(err, VG_ERR_LIMIT,
                                "label_value_length_limit exceeded (metric: %s, label name: %s, "
                                "value: %s, length: %zu, limit: %zu)",
                                m.data ? m.data : "", n.data ? n.data : "", q.data, runes,
                                lim->max_value_len);
                vg_buf_free(&q);
                vg_buf_free(&n);
                goto done;
            }
        }
    }
done:
    vg_buf_free(&m);
    return rc;
}

/* ---------------------------------------------------------------- builder */

#define BLOCK_MIN 4096

const char *lbl_builder_copy(labels_builder_t *b, const char *s, size_t n) {
    lbl_block_t *blk = b->blocks;
    if (!blk || blk->cap - blk->used < n) {
        /* Reuse a spare block big enough, else allocate. */
        lbl_block_t **pp = &b->spare;
        while (*pp && (*pp)->cap < n)
            pp = &(*pp)->next;
        if (*pp) {
            blk = *pp;
            *pp = blk->next;
        } else {
            size_t cap = n > BLOCK_MIN ? n : BLOCK_MIN;
            blk = vg_malloc(sizeof *blk + cap);
            blk->cap = cap;
        }
        blk->used = 0;
        blk->next = b->blocks;
        b->blocks = blk;
    }
    char *p = blk->data + blk->used;
    if (n) memcpy(p, s, n);
    blk->used += n;
    return p;
}

labels_builder_t *labels_builder_new(void) { return vg_calloc(1, sizeof(labels_builder_t)); }

static void free_blocks(lbl_block_t *b) {
    while (b) {
        lbl_block_t *n = b->next;
        free(b);
        b = n;
    }
}

void labels_builder_free(labels_builder_t *b) {
    if (!b) return;
    free(b->gone);
    free(b->add);
    free_blocks(b->blocks);
    free_blocks(b->spare);
    for (int i = 0; i < 3; i++)
        vg_buf_free(&b->scratch[i]);
    free(b);
}

void labels_builder_reset(labels_builder_t *b, const labels_t *base) {
    b->base = base;
    b->n_add = 0;
    b->n_gone = 0;
    /* Move used blocks to the spare list; keep only the biggest few so a
     * builder that once saw a huge value does not hold it forever. */
    while (b->blocks) {
        lbl_block_t *n = b->blocks->next;
        b->blocks->next = b->spare;
        b->spare = b->blocks;
        b->blocks = n;
    }
    size_t kept = 0;
    for (lbl_block_t **pp = &b->spare; *pp;) {
        if (++kept > 4) {
            lbl_block_t *dead = *pp;
            *pp = dead->next;
            free(dead);
        } else {
            pp = &(*pp)->next;
        }
    }
    size_t n = base ? base->n : 0;
    if (n > b->gone_cap) {
        free(b->gone);
        b->gone_cap = n < 16 ? 16 : n;
        b->gone = vg_malloc(b->gone_cap);
    }
    if (n) memset(b->gone, 0, n);
    /* Empty values in the base count as deleted, as in Prometheus. */
    for (size_t i = 0; i < n; i++) {
        if (lbl_end(base, i) - base->off[2 * i + 1] == 1) {
            b->gone[i] = 1;
            b->n_gone++;
        }
    }
}

static long add_find(const labels_builder_t *b, const char *name, size_t name_len) {
    for (size_t i = 0; i < b->n_add; i++)
        if (lbl_streq(b->add[i].name, b->add[i].name_len, name, name_len)) return (long)i;
    return -1;
}

void labels_builder_del(labels_builder_t *b, const char *name, size_t name_len) {
    long i = add_find(b, name, name_len);
    if (i >= 0) {
        memmove(b->add + i, b->add + i + 1, (b->n_add - (size_t)i - 1) * sizeof *b->add);
        b->n_add--;
    }
    if (b->base) {
        long j = find_label(b->base, name, name_len);
        if (j >= 0 && !b->gone[j]) {
            b->gone[j] = 1;
            b->n_gone++;
        }
    }
}

void labels_builder_set(labels_builder_t *b, const char *name, size_t name_len, const char *value,
                        size_t value_len) {
    if (value_len == 0) {
        labels_builder_del(b, name, name_len);
        return;
    }
    long i = add_find(b, name, name_len);
    if (i >= 0) {
        b->add[i].value = lbl_builder_copy(b, value, value_len);
        b->add[i].value_len = value_len;
        return;
    }
    const char *stored_name = NULL;
    if (b->base) {
        long j = find_label(b->base, name, name_len);
        if (j >= 0) {
            /* The base outlives the builder's use of it: borrow its name. */
            stored_name = lbl_blob(b->base) + b->base->off[2 * j];
            if (!b->gone[j]) {
                b->gone[j] = 1;
                b->n_gone++;
            }
        }
    }
    if (!stored_name) stored_name = lbl_builder_copy(b, name, name_len);
    if (b->n_add == b->add_cap) {
        b->add_cap = b->add_cap ? b->add_cap * 2 : 8;
        b->add = vg_realloc(b->add, b->add_cap * sizeof *b->add);
    }
    labels_label_t *l = &b->add[b->n_add++];
    l->name = stored_name;
    l->name_len = name_len;
    l->value = lbl_builder_copy(b, value, value_len);
    l->value_len = value_len;
}

void labels_builder_set_s(labels_builder_t *b, const char *name, const char *value) {
    labels_builder_set(b, name, strlen(name), value, strlen(value));
}

void labels_builder_set_metric_name(labels_builder_t *b, const char *value, size_t value_len) {
    labels_builder_set(b, LABELS_METRIC_NAME, LABELS_METRIC_NAME_LEN, value, value_len);
}

const char *labels_builder_get(const labels_builder_t *b, const char *name, size_t name_len,
                               size_t *out_len) {
    long i = add_find(b, name, name_len);
    if (i >= 0) {
        if (out_len) *out_len = b->add[i].value_len;
        return b->add[i].value;
    }
    if (b->base) {
        long j = find_label(b->base, name, name_len);
        if (j >= 0 && !b->gone[j]) {
            uint32_t vo = b->base->off[2 * j + 1];
            if (out_len) *out_len = lbl_end(b->base, (size_t)j) - vo - 1;
            return lbl_blob(b->base) + vo;
        }
    }
    if (out_len) *out_len = 0;
    return NULL;
}

size_t labels_builder_len(const labels_builder_t *b) {
    return (b->base ? b->base->n : 0) - b->n_gone + b->n_add;
}

void labels_builder_range(labels_builder_t *b,
                          void (*fn)(labels_builder_t *b, const labels_label_t *l, void *ctx),
                          void *ctx) {
    /* Snapshot what the walk visits, so that fn's changes do not move it. */
    size_t nb = b->base ? b->base->n : 0, na = b->n_add;
    uint8_t gone_stack[128];
    labels_label_t add_stack[64];
    uint8_t *gone = nb <= sizeof gone_stack ? gone_stack : vg_malloc(nb);
    labels_label_t *add = na <= 64 ? add_stack : vg_malloc(na * sizeof *add);
    if (nb) memcpy(gone, b->gone, nb);
    if (na) memcpy(add, b->add, na * sizeof *add);
    const labels_t *base = b->base;
    for (size_t i = 0; i < nb; i++) {
        if (gone[i]) continue;
        labels_label_t l = labels_at(base, i);
        fn(b, &l, ctx);
    }
    for (size_t i = 0; i < na; i++)
        fn(b, &add[i], ctx);
    if (gone != gone_stack) free(gone);
    if (add != add_stack) free(add);
}

labels_t *labels_builder_labels(labels_builder_t *b) {
    const labels_t *base = b->base;
    if (b->n_add == 0 && b->n_gone == 0) return base ? labels_dup(base) : labels_new_empty();
    /* Prometheus sorts its add list in place here; so do we. */
    sort_labels(b->add, b->n_add);
    size_t nb = base ? base->n : 0;
    size_t n = nb - b->n_gone + b->n_add;
    size_t blob = 0;
    for (size_t i = 0; i < nb; i++)
        if (!b->gone[i]) blob += lbl_end(base, i) - base->off[2 * i];
    for (size_t i = 0; i < b->n_add; i++)
        blob += b->add[i].name_len + b->add[i].value_len + 2;
    labels_t *out = lbl_alloc(n, blob);
    char *p = (char *)lbl_blob(out);
    const char *bb = base ? lbl_blob(base) : NULL;
    uint32_t pos = 0;
    size_t k = 0, a = 0;
    for (size_t i = 0; i <= nb; i++) {
        labels_label_t bl = {0};
        if (i < nb) {
            if (b->gone[i]) continue;
            bl = labels_at(base, i);
        }
        /* Added labels that sort before this base label (all, at the end). */
        while (a < b->n_add && (i == nb || lbl_strcmp(b->add[a].name, b->add[a].name_len, bl.name,
                                                      bl.name_len) < 0)) {
            const labels_label_t *l = &b->add[a++];
            out->off[2 * k] = pos;
            if (l->name_len) memcpy(p + pos, l->name, l->name_len);
            pos += (uint32_t)l->name_len;
            p[pos++] = (char)0xff;
            out->off[2 * k + 1] = pos;
            memcpy(p + pos, l->value, l->value_len);
            pos += (uint32_t)l->value_len;
            p[pos++] = (char)0xff;
            k++;
        }
        if (i == nb) break;
        /* A surviving base label is copied as its run of the blob. */
        uint32_t no = base->off[2 * i], end = lbl_end(base, i);
        out->off[2 * k] = pos;
        out->off[2 * k + 1] = pos + (base->off[2 * i + 1] - no);
        memcpy(p + pos, bb + no, end - no);
        pos += end - no;
        k++;
    }
    return out;
}
