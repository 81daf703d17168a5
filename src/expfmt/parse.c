/* This file implements the exposition parser: a single pass over the input,
 * one line at a time (memchr finds the line end), that turns text 0.0.4 or
 * OpenMetrics 1.0 into HELP/TYPE/UNIT/COMMENT/SAMPLE entries. Strings point
 * into the input unless they carry escapes; those are unescaped into a
 * scratch buffer sized once per line, so that nothing moves while a line is
 * being parsed and nothing is allocated per sample once the buffers are warm.
 * The OpenMetrics rules beyond the grammar live in parse_validate.c. */
#include "parse_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ characters */

/* Character classes of names, one table lookup per byte. */
#define CC_MNAME 1       /* [a-zA-Z0-9_:] */
#define CC_LNAME 2       /* [a-zA-Z0-9_] */
#define CC_MNAME_START 4 /* [a-zA-Z_:] */
#define CC_LNAME_START 8 /* [a-zA-Z_] */
static const unsigned char char_class[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  5,  0,  0,  0,  0,  0,  0,  15, 15, 15, 15, 15, 15, 15,
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 0,  0,  0,  0,  15,
    0,  15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
    15, 15, 15, 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
};

static inline bool is_digit(unsigned char c) { return (unsigned)(c - '0') < 10u; }
static inline bool is_alpha_(unsigned char c) { return char_class[c] & CC_LNAME_START; }
static inline bool is_mname_start(unsigned char c) { return char_class[c] & CC_MNAME_START; }
static inline bool is_mname_char(unsigned char c) { return char_class[c] & CC_MNAME; }
static inline bool is_lname_char(unsigned char c) { return char_class[c] & CC_LNAME; }
static inline bool is_blank(unsigned char c) { return c == ' ' || c == '\t'; }

/* ------------------------------------------------------------------ UTF-8 */

/* Validates UTF-8 the way Go's utf8.Valid does: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* ASCII runs are the common case: take 8 bytes at a time. */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c == 0xE0)
            need = 2, lo = 0xA0;
        else if (c >= 0xE1 && c <= 0xEC)
            need = 2;
        else if (c == 0xED)
            need = 2, hi = 0x9F;
        else if (c >= 0xEE && c <= 0xEF)
            need = 2;
        else if (c == 0xF0)
            need = 3, lo = 0x90;
        else if (c >= 0xF1 && c <= 0xF3)
            need = 3;
        else if (c == 0xF4)
            need = 3, hi = 0x8F;
        else
            return false;
        if (n - i - 1 < need) return false;
        if (s[i + 1] < lo || s[i + 1] > hi) return false;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80) return false;
        i += need + 1;
    }
    return true;
}

size_t expfmt_utf8_count(const char *s, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) count++;
    return count;
}

/* ----------------------------------------------------------------- floats */

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static size_t prefix_ci(const char *s, size_t n, const char *word) {
    size_t i = 0;
    while (i < n && word[i] && (s[i] | 0x20) == word[i])
        i++;
    return i;
}

/* Go's strconv.ParseFloat(s, 64) for decimal input, which is what both
 * Prometheus parsers call, minus hex floats and '_' (which Prometheus
 * refuses before calling it). Out-of-range values are errors, as in Go;
 * underflow to zero is not. */
int expfmt_parse_float(const char *s, size_t n, double *out) {
    if (n == 0) return -1;
    size_t i = 0;
    bool neg = false;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (i < n && (s[i] | 0x20) == 'i') {
        size_t k = prefix_ci(s + i, n - i, "infinity");
        if ((k == 3 || k == 8) && i + k == n) {
            *out = neg ? -INFINITY : INFINITY;
            return 0;
        }
        return -1;
    }
    if (i == 0 && (s[0] | 0x20) == 'n') {
        if (n == 3 && prefix_ci(s, n, "nan") == 3) {
            *out = NAN;
            return 0;
        }
        return -1;
    }
    uint64_t mant = 0;
    int n_sig = 0; /* significant digits taken into mant */
    int drop = 0;  /* integer digits not taken (mantissa too long) */
    int frac = 0;  /* fraction digits taken into mant */
    bool digits = false, inexact = false;
    for (; i < n && is_digit((unsigned char)s[i]); i++) {
        digits = true;
        if (mant == 0 && s[i] == '0') continue;
        if (n_sig < 19)
            mant = mant * 10 + (uint64_t)(s[i] - '0'), n_sig++;
        else
            drop++, inexact = true;
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && is_digit((unsigned char)s[i]); i++) {
            digits = true;
            if (mant == 0 && s[i] == '0') {
                frac++;
                continue;
            }
            if (n_sig < 19)
                mant = mant * 10 + (uint64_t)(s[i] - '0'), n_sig++, frac++;
            else
                inexact = true;
        }
    }
    if (!digits) return -1;
    int64_t e10 = 0;
    if (i < n && (s[i] | 0x20) == 'e') {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        if (i >= n || !is_digit((unsigned char)s[i])) return -1;
        for (; i < n && is_digit((unsigned char)s[i]); i++)
            if (e10 < 100000) e10 = e10 * 10 + (s[i] - '0');
        if (eneg) e10 = -e10;
    }
    if (i != n) return -1;
    int64_t exp = e10 + drop - frac;
    /* Exact fast path (Clinger): a mantissa below 2^53 times or divided by
     * an exactly representable power of ten rounds once, correctly. */
    if (!inexact && mant < (1ull << 53) && exp >= -22 && exp <= 22) {
        double v = (double)mant;
        v = exp < 0 ? v / pow10_exact[-exp] : v * pow10_exact[exp];
        *out = neg ? -v : v;
        return 0;
    }
    if (mant == 0 && !inexact) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    char stack[128];
    char *buf = n < sizeof stack ? stack : vg_malloc(n + 1);
    memcpy(buf, s, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    if (buf != stack) free(buf);
    if (isinf(v)) return -1; /* Go: "value out of range" */
    *out = v;
    return 0;
}

/* ------------------------------------------------------------ the cursor */

typedef struct cursor {
    expfmt_parser_t *p;
    vg_err_t *err;
    const char *ls; /* line start */
    const char *le; /* line end: the '\n' or the end of input */
    const char *s;  /* current position */
    bool om;        /* OpenMetrics grammar */
    bool strict;    /* OpenMetrics with validation: the 1.0 grammar only */
} cursor_t;

/* Reports an error at position at of the current line. */
static int perr(cursor_t *c, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(cursor_t *c, const char *at, const char *fmt, ...) {
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char line[100];
    size_t o = 0;
    for (const char *q = c->ls; q < c->le && o + 5 < sizeof line; q++) {
        unsigned char ch = (unsigned char)*q;
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
            line[o++] = (char)ch;
        } else if (ch == '"' || ch == '\\') {
            line[o++] = '\\';
            line[o++] = (char)ch;
        } else {
            o += (size_t)snprintf(line + o, sizeof line - o, "\\x%02x", ch);
        }
    }
    if (c->le - c->ls > 0 && o + 5 >= sizeof line) memcpy(line + o - 3, "...", 3);
    line[o] = '\0';
    if (at < c->ls) at = c->ls;
    if (at > c->le) at = c->le;
    return vg_err_set(c->err, VG_ERR_INPUT, "line %zu, column %zu: %s in \"%s\"", c->p->line,
                      (size_t)(at - c->ls) + 1, what, line);
}

/* Scratch space for unescaped strings: sized at the first use on a line to
 * the whole line, which bounds everything unescaped on it, so pointers into
 * it stay valid for the line. */
static char *scratch_take(cursor_t *c, size_t n) {
    expfmt_parser_t *p = c->p;
    if (p->scratch_len_ == 0) {
        size_t need = (size_t)(c->le - c->ls) + 1;
        if (p->scratch_cap_ < need) {
            size_t cap = p->scratch_cap_ ? p->scratch_cap_ : 256;
            while (cap < need)
                cap *= 2;
            free(p->scratch_);
            p->scratch_ = vg_malloc(cap);
            p->scratch_cap_ = cap;
        }
    }
    char *out = p->scratch_ + p->scratch_len_;
    p->scratch_len_ += n;
    return out;
}

/* Unescapes \\, \" (when quote) and \n; any other escape stays as written,
 * as Prometheus's replacers leave it. */
static expfmt_str_t unescape(cursor_t *c, const char *s, size_t n, bool quote) {
    char *out = scratch_take(c, n);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char e = s[i + 1];
            if (e == '\\' || e == 'n' || (quote && e == '"')) {
                out[o++] = e == 'n' ? '\n' : e;
                i++;
                continue;
            }
        }
        out[o++] = s[i];
    }
    c->p->scratch_len_ -= n - o;
    return (expfmt_str_t){out, o};
}

static void skip_blanks(cursor_t *c) {
    while (c->s < c->le && is_blank((unsigned char)*c->s))
        c->s++;
}

/* Reads a quoted string at c->s (on the opening quote) into out, unescaped
 * and checked for UTF-8. */
static int read_quoted(cursor_t *c, expfmt_str_t *out, const char *what) {
    const char *start = ++c->s;
    size_t avail = (size_t)(c->le - start);
    const char *q = memchr(start, '"', avail);
    bool esc = q && memchr(start, '\\', (size_t)(q - start)) != NULL;
    if (!q || esc) {
        /* Escapes (or no closing quote): walk it byte by byte. */
        q = start;
        for (;;) {
            if (q >= c->le) return perr(c, start - 1, "unterminated %s", what);
            if (*q == '"') break;
            if (*q == '\\' && ++q >= c->le) return perr(c, start - 1, "unterminated %s", what);
            q++;
        }
    }
    size_t n = (size_t)(q - start);
    if (!utf8_valid((const unsigned char *)start, n))
        return perr(c, start, "invalid UTF-8 in %s", what);
    *out = esc ? unescape(c, start, n, true) : (expfmt_str_t){start, n};
    c->s = q + 1;
    return 0;
}

/* A metric name: legacy characters, or (outside strict OpenMetrics) a
 * quoted UTF-8 name as Prometheus 3 accepts in metadata. */
static int read_meta_name(cursor_t *c, expfmt_str_t *out) {
    if (c->s < c->le && *c->s == '"' && !c->strict) {
        if (read_quoted(c, out, "metric name")) return VG_ERR_INPUT;
        if (out->len == 0) return perr(c, c->s, "empty metric name");
        return 0;
    }
    const char *start = c->s;
    if (c->s >= c->le || !is_mname_start((unsigned char)*c->s))
        return perr(c, c->s, "expected metric name");
    while (c->s < c->le && is_mname_char((unsigned char)*c->s))
        c->s++;
    *out = (expfmt_str_t){start, (size_t)(c->s - start)};
    return 0;
}

static bool str_eq(expfmt_str_t a, const char *lit) {
    size_t n = strlen(lit);
    return a.len == n && memcmp(a.ptr, lit, n) == 0;
}

static bool str_same(expfmt_str_t a, expfmt_str_t b) {
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* ---------------------------------------------------------------- labels */

static int label_push(cursor_t *c, size_t *n, expfmt_str_t name, expfmt_str_t value) {
    expfmt_parser_t *p = c->p;
    if (*n >= p->lab_cap_) {
        if (p->lab_cap_ >= 2 * EXPFMT_PARSE_MAX_LABELS)
            return perr(c, c->s, "more than %d labels", EXPFMT_PARSE_MAX_LABELS);
        size_t cap = p->lab_cap_ ? p->lab_cap_ * 2 : 32;
        p->lab_ = vg_realloc(p->lab_, cap * sizeof *p->lab_);
        p->lab_cap_ = cap;
    }
    p->lab_[(*n)++] = (expfmt_label_ref_t){name, value};
    return 0;
}

/* Duplicate label names make the set ambiguous; Prometheus's scrape
 * refuses them too. Small sets compare pairwise, large ones sort a copy. */
static int cmp_label_name(const void *a, const void *b) {
    const expfmt_label_ref_t *x = a, *y = b;
    size_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
    int r = memcmp(x->name.ptr, y->name.ptr, n);
    if (r) return r;
    return (x->name.len > y->name.len) - (x->name.len < y->name.len);
}

static const expfmt_label_ref_t *find_duplicate(const expfmt_label_ref_t *l, size_t n) {
    if (n <= 24) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (str_same(l[i].name, l[j].name)) return &l[i];
        return NULL;
    }
    expfmt_label_ref_t *copy = vg_malloc(n * sizeof *copy);
    memcpy(copy, l, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, cmp_label_name);
    const expfmt_label_ref_t *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (str_same(copy[i].name, copy[i - 1].name)) {
            for (size_t k = 0; k < n; k++)
                if (l[k].name.ptr == copy[i].name.ptr) dup = &l[k];
        }
    free(copy);
    return dup;
}

/* Parses "{...}" at c->s into the label array from index *n on. For a
 * sample (exemplar false), a quoted string standing alone is the metric
 * name (Prometheus 3 syntax) and goes to *name. */
static int read_labels(cursor_t *c, size_t *n, bool exemplar, expfmt_str_t *name) {
    size_t first = *n;
    c->s++; /* '{' */
    bool after_comma = false;
    for (;;) {
        if (!c->om) skip_blanks(c);
        if (c->s >= c->le) return perr(c, c->s, "unterminated label set");
        if (*c->s == '}') {
            if (after_comma && c->strict) return perr(c, c->s, "trailing comma in label set");
            c->s++;
            break;
        }
        const char *at = c->s;
        expfmt_str_t lname;
        bool quoted = false;
        if (*c->s == '"' && !c->strict) {
            if (read_quoted(c, &lname, "label name")) return VG_ERR_INPUT;
            quoted = true;
        } else if (is_alpha_((unsigned char)*c->s)) {
            const char *st = c->s;
            while (c->s < c->le && is_lname_char((unsigned char)*c->s))
                c->s++;
            lname = (expfmt_str_t){st, (size_t)(c->s - st)};
        } else {
            return perr(c, at, "expected label name");
        }
        if (!c->om) skip_blanks(c);
        if (quoted && !exemplar && c->s < c->le && (*c->s == ',' || *c->s == '}')) {
            if (name->ptr) return perr(c, at, "metric name set twice");
            if (lname.len == 0) return perr(c, at, "empty metric name");
            *name = lname;
        } else {
            if (quoted && lname.len == 0) return perr(c, at, "empty label name");
            if (c->s >= c->le || *c->s != '=')
                return perr(c, c->s, "expected '=' after label name");
            c->s++;
            if (!c->om) skip_blanks(c);
            if (c->s >= c->le || *c->s != '"') return perr(c, c->s, "expected quoted label value");
            expfmt_str_t value;
            if (read_quoted(c, &value, "label value")) return VG_ERR_INPUT;
            if (label_push(c, n, lname, value)) return VG_ERR_INPUT;
            if (!c->om) skip_blanks(c);
        }
        if (c->s < c->le && *c->s == ',') {
            c->s++;
            after_comma = true;
            continue;
        }
        if (c->s < c->le && *c->s == '}') {
            c->s++;
            break;
        }
        return perr(c, c->s, "expected ',' or '}' after label");
    }
    if (*n - first < 2) return 0;
    const expfmt_label_ref_t *dup = find_duplicate(c->p->lab_ + first, *n - first);
    if (dup)
        return perr(c, c->s - 1, "duplicate label name \"%.*s\"", (int)dup->name.len,
                    dup->name.ptr);
    return 0;
}

/* ---------------------------------------------------------------- values */

static const char *token_end(cursor_t *c) {
    const char *q = c->s;
    if (c->om)
        while (q < c->le && *q != ' ')
            q++;
    else
        while (q < c->le && !is_blank((unsigned char)*q))
            q++;
    return q;
}

static int read_float(cursor_t *c, double *out, const char *what) {
    const char *end = token_end(c);
    if (end == c->s) return perr(c, c->s, "expected %s", what);
    if (expfmt_parse_float(c->s, (size_t)(end - c->s), out))
        return perr(c, c->s, "invalid %s \"%.*s\"", what, (int)(end - c->s > 40 ? 40 : end - c->s),
                    c->s);
    c->s = end;
    return 0;
}

/* OpenMetrics timestamps are seconds as a float; Prometheus keeps
 * milliseconds, truncating toward zero. */
static int read_om_timestamp(cursor_t *c, double *sec, int64_t *ms, const char *what) {
    const char *at = c->s;
    if (read_float(c, sec, what)) return VG_ERR_INPUT;
    if (isnan(*sec) || isinf(*sec)) return perr(c, at, "invalid %s", what);
    double v = trunc(*sec * 1000.0);
    if (v >= 9223372036854775807.0)
        *ms = INT64_MAX;
    else if (v <= -9223372036854775808.0)
        *ms = INT64_MIN;
    else
        *ms = (int64_t)v;
    return 0;
}

/* 0.0.4 timestamps are integer milliseconds. Prometheus's lexer takes
 * digits only; a leading '-' is accepted here too, as the Go client parser
 * does. */
static int read_int_timestamp(cursor_t *c, int64_t *out) {
    const char *at = c->s, *end = token_end(c);
    const char *q = c->s;
    bool neg = false;
    if (q < end && *q == '-') neg = true, q++;
    if (q == end) return perr(c, at, "invalid timestamp");
    uint64_t v = 0;
    for (; q < end; q++) {
        if (!is_digit((unsigned char)*q)) return perr(c, at, "invalid timestamp");
        unsigned d = (unsigned)(*q - '0');
        if (v > (UINT64_MAX - d) / 10) return perr(c, at, "timestamp out of range");
        v = v * 10 + d;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return perr(c, at, "timestamp out of range");
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    c->s = end;
    return 0;
}

/* ----------------------------------------------------------------- lines */

static int parse_sample(cursor_t *c) {
    expfmt_parser_t *p = c->p;
    const char *start = c->s;
    expfmt_str_t name = {NULL, 0};
    size_t n = 0;
    if (is_mname_start((unsigned char)*c->s)) {
        while (c->s < c->le && is_mname_char((unsigned char)*c->s))
            c->s++;
        name = (expfmt_str_t){start, (size_t)(c->s - start)};
        if (!c->om) skip_blanks(c);
    } else if (*c->s != '{' || c->strict) {
        return perr(c, c->s, "expected metric name");
    }
    if (c->s < c->le && *c->s == '{') {
        if (read_labels(c, &n, false, &name)) return VG_ERR_INPUT;
        if (!name.ptr) return perr(c, start, "metric name not set");
    }
    p->series = (expfmt_str_t){start, (size_t)(c->s - start)};
    if (p->series.len && !c->om)
        while (p->series.len && is_blank((unsigned char)start[p->series.len - 1]))
            p->series.len--;
    if (c->om) {
        if (c->s >= c->le || *c->s != ' ') return perr(c, c->s, "expected ' ' before the value");
        c->s++;
    } else {
        skip_blanks(c);
    }
    if (read_float(c, &p->value, "value")) return VG_ERR_INPUT;
    p->has_timestamp = false;
    p->has_exemplar = false;
    size_t n_sample = n;
    if (!c->om) {
        skip_blanks(c);
        if (c->s < c->le) {
            if (read_int_timestamp(c, &p->timestamp_ms)) return VG_ERR_INPUT;
            p->has_timestamp = true;
            skip_blanks(c);
            if (c->s < c->le) return perr(c, c->s, "expected end of line after timestamp");
        }
    } else if (c->s < c->le) {
        /* " ts", " # {exemplar}", or " ts # {exemplar}". */
        c->s++;
        bool ex = c->le - c->s >= 3 && memcmp(c->s, "# {", 3) == 0;
        if (!ex) {
            if (read_om_timestamp(c, &p->ts_sec_, &p->timestamp_ms, "timestamp"))
                return VG_ERR_INPUT;
            p->has_timestamp = true;
            if (c->s < c->le) {
                if (c->le - c->s >= 4 && memcmp(c->s, " # {", 4) == 0) {
                    c->s++;
                    ex = true;
                } else {
                    return perr(c, c->s, "expected end of line or exemplar after timestamp");
                }
            }
        }
        if (ex) {
            c->s += 2;
            expfmt_str_t none = {NULL, 0};
            if (read_labels(c, &n, true, &none)) return VG_ERR_INPUT;
            if (c->s >= c->le || *c->s != ' ')
                return perr(c, c->s, "expected ' ' before the exemplar value");
            c->s++;
            if (read_float(c, &p->exemplar.value, "exemplar value")) return VG_ERR_INPUT;
            p->exemplar.has_timestamp = false;
            if (c->s < c->le) {
                c->s++;
                double sec;
                if (read_om_timestamp(c, &sec, &p->exemplar.timestamp_ms, "exemplar timestamp"))
                    return VG_ERR_INPUT;
                p->exemplar.has_timestamp = true;
                if (c->s < c->le)
                    return perr(c, c->s, "expected end of line after exemplar timestamp");
            }
            p->has_exemplar = true;
        }
    }
    p->name = name;
    p->labels = p->lab_;
    p->n_labels = n_sample;
    p->exemplar.labels = p->lab_ ? p->lab_ + n_sample : NULL;
    p->exemplar.n_labels = p->has_exemplar ? n - n_sample : 0;
    return EXPFMT_ENTRY_SAMPLE;
}

static int parse_type_word(cursor_t *c, expfmt_str_t w) {
    static const struct {
        const char *word;
        expfmt_type_t type;
        bool om;
    } types[] = {
        {"counter", EXPFMT_COUNTER, true},
        {"gauge", EXPFMT_GAUGE, true},
        {"histogram", EXPFMT_HISTOGRAM, true},
        {"summary", EXPFMT_SUMMARY, true},
        {"untyped", EXPFMT_UNTYPED, false},
        {"unknown", EXPFMT_UNTYPED, true},
        {"gaugehistogram", EXPFMT_GAUGEHISTOGRAM, true},
        {"info", EXPFMT_INFO, true},
        {"stateset", EXPFMT_STATESET, true},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        /* 0.0.4 knows only the first five, as Prometheus's text parser. */
        if (c->om ? !types[i].om : i >= 5) continue;
        if (str_eq(w, types[i].word)) {
            c->p->type = types[i].type;
            return 0;
        }
    }
    return perr(c, w.ptr, "invalid metric type \"%.*s\"", (int)(w.len > 40 ? 40 : w.len), w.ptr);
}

/* HELP, TYPE (and UNIT in OpenMetrics) after "# KEYWORD " at c->s. */
static int parse_meta(cursor_t *c, int entry) {
    expfmt_parser_t *p = c->p;
    if (read_meta_name(c, &p->name)) return VG_ERR_INPUT;
    expfmt_str_t text;
    if (c->om) {
        /* OpenMetrics: exactly one space, then the text to the line end. */
        if (c->s >= c->le || *c->s != ' ')
            return perr(c, c->s, "expected ' ' and text after metric name");
        c->s++;
    } else {
        if (c->s < c->le && !is_blank((unsigned char)*c->s))
            return perr(c, c->s, "expected blank after metric name");
        skip_blanks(c);
    }
    text = (expfmt_str_t){c->s, (size_t)(c->le - c->s)};
    switch (entry) {
    case EXPFMT_ENTRY_HELP: {
        bool high = false, esc = memchr(text.ptr, '\\', text.len) != NULL;
        for (size_t i = 0; i < text.len && !high; i++)
            high = (unsigned char)text.ptr[i] >= 0x80;
        if (high && !utf8_valid((const unsigned char *)text.ptr, text.len))
            return perr(c, text.ptr, "invalid UTF-8 in help text");
        /* 0.0.4 escapes only \\ and \n in HELP; OpenMetrics also \". */
        p->text = esc ? unescape(c, text.ptr, text.len, c->om) : text;
        break;
    }
    case EXPFMT_ENTRY_TYPE:
        if (!c->om)
            while (text.len && is_blank((unsigned char)text.ptr[text.len - 1]))
                text.len--;
        if (parse_type_word(c, text)) return VG_ERR_INPUT;
        p->text = text;
        break;
    case EXPFMT_ENTRY_UNIT:
        /* Prometheus checks this much even without validation. */
        if (text.len && (p->name.len < text.len + 1 ||
                         memcmp(p->name.ptr + p->name.len - text.len, text.ptr, text.len) != 0 ||
                         p->name.ptr[p->name.len - text.len - 1] != '_'))
            return perr(c, text.ptr, "unit \"%.*s\" is not a suffix of metric \"%.*s\"",
                        (int)(text.len > 40 ? 40 : text.len), text.ptr,
                        (int)(p->name.len > 100 ? 100 : p->name.len), p->name.ptr);
        p->text = text;
        break;
    }
    return entry;
}

static bool has_word(cursor_t *c, const char *w, size_t n) {
    return (size_t)(c->le - c->s) >= n && memcmp(c->s, w, n) == 0;
}

static int parse_line_004(cursor_t *c) {
    expfmt_parser_t *p = c->p;
    if (*c->s != '#') return parse_sample(c);
    c->s++;
    if (c->s < c->le && is_blank((unsigned char)*c->s)) {
        skip_blanks(c);
        int entry = -1;
        if (has_word(c, "HELP", 4))
            entry = EXPFMT_ENTRY_HELP;
        else if (has_word(c, "TYPE", 4))
            entry = EXPFMT_ENTRY_TYPE;
        if (entry >= 0 && c->s + 4 < c->le && is_blank((unsigned char)c->s[4])) {
            c->s += 4;
            skip_blanks(c);
            return parse_meta(c, entry);
        }
    }
    p->text = (expfmt_str_t){c->s, (size_t)(c->le - c->s)};
    return EXPFMT_ENTRY_COMMENT;
}

static int parse_line_om(cursor_t *c) {
    if (*c->s != '#') return parse_sample(c);
    if (has_word(c, "# HELP ", 7)) {
        c->s += 7;
        return parse_meta(c, EXPFMT_ENTRY_HELP);
    }
    if (has_word(c, "# TYPE ", 7)) {
        c->s += 7;
        return parse_meta(c, EXPFMT_ENTRY_TYPE);
    }
    if (has_word(c, "# UNIT ", 7)) {
        c->s += 7;
        return parse_meta(c, EXPFMT_ENTRY_UNIT);
    }
    return perr(c, c->s, "expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\"");
}

/* -------------------------------------------------------------- the API */

void expfmt_parser_init(expfmt_parser_t *p, const char *data, size_t len, expfmt_format_t format,
                        unsigned flags) {
    memset(p, 0, sizeof *p);
    expfmt_parser_reset(p, data, len, format, flags);
}

void expfmt_parser_reset(expfmt_parser_t *p, const char *data, size_t len, expfmt_format_t format,
                         unsigned flags) {
    p->data_ = data ? data : "";
    p->len_ = data ? len : 0;
    p->pos_ = 0;
    p->format_ = format;
    p->flags_ = flags;
    p->failed_ = 0;
    p->done_ = false;
    p->line = 0;
    p->has_timestamp = p->has_exemplar = false;
    p->labels = NULL;
    p->n_labels = 0;
    if (p->val_) expfmt_validator_reset(p->val_);
}

void expfmt_parser_free(expfmt_parser_t *p) {
    free(p->lab_);
    free(p->scratch_);
    if (p->val_) expfmt_validator_free(p->val_);
    p->lab_ = NULL;
    p->scratch_ = NULL;
    p->val_ = NULL;
    p->lab_cap_ = p->scratch_cap_ = p->scratch_len_ = 0;
}

static int next_entry(expfmt_parser_t *p, vg_err_t *err) {
    cursor_t c = {.p = p, .err = err, .om = p->format_ == EXPFMT_OPENMETRICS};
    c.strict = c.om && (p->flags_ & EXPFMT_PARSE_VALIDATE);
    for (;;) {
        if (p->done_) return EXPFMT_ENTRY_EOF;
        if (p->pos_ >= p->len_) {
            if (c.om) {
                p->line++;
                c.ls = c.le = c.s = p->data_ + p->len_;
                return perr(&c, c.s, "data does not end with \"# EOF\"");
            }
            p->done_ = true;
            return EXPFMT_ENTRY_EOF;
        }
        const char *ls = p->data_ + p->pos_;
        size_t rest = p->len_ - p->pos_;
        const char *nl = memchr(ls, '\n', rest);
        c.ls = c.s = ls;
        c.le = nl ? nl : ls + rest;
        p->pos_ = nl ? (size_t)(nl + 1 - p->data_) : p->len_;
        p->line++;
        p->scratch_len_ = 0;
        if (c.om) {
            if (c.s == c.le) return perr(&c, c.s, "blank line");
            if (c.le - c.s == 5 && memcmp(c.s, "# EOF", 5) == 0) {
                if (p->pos_ < p->len_) return perr(&c, c.le, "data after \"# EOF\"");
                p->done_ = true;
                return EXPFMT_ENTRY_EOF;
            }
            return parse_line_om(&c);
        }
        skip_blanks(&c);
        if (c.s == c.le) continue; /* 0.0.4 allows blank lines */
        return parse_line_004(&c);
    }
}

int expfmt_parser_next(expfmt_parser_t *p, vg_err_t *err) {
    if (p->failed_) return vg_err_set(err, p->failed_, "parser already failed");
    int entry = next_entry(p, err);
    if (entry >= 0 && p->format_ == EXPFMT_OPENMETRICS && (p->flags_ & EXPFMT_PARSE_VALIDATE)) {
        if (!p->val_) p->val_ = expfmt_validator_new();
        int rc = expfmt_validator_check(p->val_, p, entry, err);
        if (rc < 0) entry = rc;
    }
    if (entry < 0) p->failed_ = entry;
    return entry;
}

int expfmt_parse_check(const char *data, size_t len, expfmt_format_t format, unsigned flags,
                       size_t *out_samples, vg_err_t *err) {
    expfmt_parser_t p;
    expfmt_parser_init(&p, data, len, format, flags);
    size_t n = 0;
    int rc;
    while ((rc = expfmt_parser_next(&p, err)) > 0)
        if (rc == EXPFMT_ENTRY_SAMPLE) n++;
    expfmt_parser_free(&p);
    if (out_samples) *out_samples = n;
    return rc < 0 ? rc : 0;
}

const char *expfmt_type_name(expfmt_type_t type, expfmt_format_t format) {
    bool om = format == EXPFMT_OPENMETRICS;
    switch (type) {
    case EXPFMT_COUNTER: return "counter";
    case EXPFMT_GAUGE: return "gauge";
    case EXPFMT_HISTOGRAM: return "histogram";
    case EXPFMT_SUMMARY: return "summary";
    case EXPFMT_GAUGEHISTOGRAM: return om ? "gaugehistogram" : "histogram";
    case EXPFMT_INFO: return om ? "info" : "gauge";
    case EXPFMT_STATESET: return om ? "stateset" : "gauge";
    case EXPFMT_UNTYPED: break;
    }
    return om ? "unknown" : "untyped";
}
