/* This file implements the runner of Prometheus's PromQL test scripts
 * (../shared/conformance/promql-tests/, the .test files; see the README there): it
 * parses each script (load, clear, eval instant|range with their
 * expectations), loads the samples into a fresh tsdb in a temporary
 * directory per clear, evaluates every query with vigil's engine, and
 * compares results, errors and annotations the way upstream's promqltest
 * does, including its two extra checks of instant queries (the same query
 * in range mode, and step invariance with @ on every selector).
 *
 * Native histograms are not evaluated by vigil yet: an eval whose expected
 * result holds one, or whose selectors reach a series that holds one
 * (written with {{...}} or made by load_with_nhcb), is counted as skipped.
 *
 * It prints passed/failed/skipped per file, the failing evals of the
 * stable files, and one line "promql tests conformance: N/M passed (P%)"
 * that `make test` collects. It fails only when the stable files' pass
 * rate drops below MIN_STABLE_PASS_RATE, so it guards against regressions
 * while the engine is completed. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <dirent.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/core.h"
#include "labels/labels.h"
#include "promql/promql.h"
#include "tsdb/tsdb.h"

/* The stable files' pass rate (percent) below which the test fails. Raise
 * it as the engine improves; the goal is 98. */
#define MIN_STABLE_PASS_RATE 99.5

#define EPSILON 1e-6
#define MAX_SCRIPT_BYTES (4u << 20)
#define STALE_NAN_BITS 0x7ff0000000000002ull

/* Files that exercise experimental features: their rates are printed, their
 * failures are not listed and do not count against the threshold. */
static const char *const experimental_files[] = {
    "duration_expression.test",
    "extended_vectors.test",
    "fill-modifier.test",
    "info.test",
    "limit.test",
    "name_label_dropping.test",
    "start_timestamps.test",
    "type_and_unit.test",
    "native_histograms.test",
};

/* ------------------------------------------------------------- values */

enum { VAL_FLOAT = 0, VAL_OMITTED, VAL_HISTOGRAM };

typedef struct seq_val {
    double v;
    int kind;
} seq_val_t;

typedef struct seq {
    seq_val_t *v;
    size_t n, cap;
    bool has_histogram;
} seq_t;

static void seq_push(seq_t *s, double v, int kind) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = vg_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n].v = v;
    s->v[s->n].kind = kind;
    s->n++;
    if (kind == VAL_HISTOGRAM) s->has_histogram = true;
}

static double stale_nan(void) {
    uint64_t bits = STALE_NAN_BITS;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static bool is_stale(double d) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits == STALE_NAN_BITS;
}

/* upstream util/almost.Equal */
static bool almost_equal(double a, double b) {
    if (a == b) return true;
    if (isnan(a) && isnan(b)) return true;
    double diff = fabs(a - b);
    const double min_normal = 2.2250738585072014e-308;
    if (a == 0 || b == 0 || fabs(a) < min_normal || fabs(b) < min_normal)
        return diff < EPSILON * min_normal;
    return diff / (fabs(a) + fabs(b)) < EPSILON;
}

/* Expected-value equality: NaN matches any NaN but the stale one, stale
 * only the stale one. */
static bool value_matches(double expected, double got) {
    if (isnan(expected) && isnan(got)) return is_stale(expected) == is_stale(got);
    return almost_equal(expected, got);
}

/* A float literal as the series notation writes it: decimal (no hex, so
 * that 0x5 reads as "0 five more times"), Inf, NaN, with a sign. Returns
 * the characters consumed, 0 if none. */
static size_t scan_float(const char *s, double *out) {
    size_t i = 0;
    bool neg = false;
    if (s[i] == '+' || s[i] == '-') neg = s[i++] == '-';
    if (strncasecmp(s + i, "inf", 3) == 0) {
        size_t n = i + 3;
        if (strncasecmp(s + n, "inity", 5) == 0) n += 5;
        *out = neg ? -INFINITY : INFINITY;
        return n;
    }
    if (strncasecmp(s + i, "nan", 3) == 0) {
        *out = NAN;
        return i + 3;
    }
    size_t start = i, digits = 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (!digits) return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        size_t k = i + 1;
        if (s[k] == '+' || s[k] == '-') k++;
        if (s[k] >= '0' && s[k] <= '9') {
            while (s[k] >= '0' && s[k] <= '9')
                k++;
            i = k;
        }
    }
    char tmp[64];
    size_t n = i - start;
    if (n >= sizeof tmp) return 0;
    memcpy(tmp, s + start, n);
    tmp[n] = '\0';
    double v = strtod(tmp, NULL);
    *out = neg ? -v : v;
    return i;
}

/* Reads "xN" at s; returns the characters consumed (0 if absent). */
static size_t scan_times(const char *s, long *out) {
    if (s[0] != 'x' || !(s[1] >= '0' && s[1] <= '9')) return 0;
    char *end;
    *out = strtol(s + 1, &end, 10);
    return (size_t)(end - s);
}

/* Skips one {{...}} and returns the characters consumed (0 if unclosed). */
static size_t scan_histogram(const char *s) {
    const char *e = strstr(s, "}}");
    return e ? (size_t)(e + 2 - s) : 0;
}

#define MAX_EXPANSION 100000L

/* Parses the value part of a series line. 0, or -1 with why. */
static int parse_values(const char *p, seq_t *out, char *why, size_t why_len) {
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p) return 0;
        long times;
        size_t n;
        if (p[0] == '_') {
            p++;
            if ((n = scan_times(p, &times))) {
                p += n;
                if (times > MAX_EXPANSION) goto bad;
                for (long k = 0; k < times; k++)
                    seq_push(out, 0, VAL_OMITTED);
            } else {
                seq_push(out, 0, VAL_OMITTED);
            }
        } else if (strncmp(p, "stale", 5) == 0) {
            p += 5;
            times = 0;
            if ((n = scan_times(p, &times))) p += n;
            if (times > MAX_EXPANSION) goto bad;
            for (long k = 0; k <= times; k++)
                seq_push(out, stale_nan(), VAL_FLOAT);
        } else if (p[0] == '{' && p[1] == '{') {
            if (!(n = scan_histogram(p))) goto bad;
            p += n;
            times = 0;
            if ((p[0] == '+' || p[0] == '-') && p[1] == '{' && p[2] == '{') {
                if (!(n = scan_histogram(p + 1))) goto bad;
                p += 1 + n;
            }
            if ((n = scan_times(p, &times))) p += n;
            if (times > MAX_EXPANSION) goto bad;
            for (long k = 0; k <= times; k++)
                seq_push(out, 0, VAL_HISTOGRAM);
        } else {
            double a;
            if (!(n = scan_float(p, &a))) goto bad;
            p += n;
            double step = 0;
            times = 0;
            if ((p[0] == '+' || p[0] == '-') && (n = scan_float(p + 1, &step))) {
                if (p[0] == '-') step = -step;
                p += 1 + n;
                if (!(n = scan_times(p, &times))) goto bad;
                p += n;
            } else if ((n = scan_times(p, &times))) {
                p += n;
            }
            if (times > MAX_EXPANSION) goto bad;
            /* Upstream adds the step repeatedly rather than multiplying. */
            double v = a;
            for (long k = 0; k <= times; k++) {
                seq_push(out, v, VAL_FLOAT);
                v += step;
            }
        }
        if (*p && *p != ' ' && *p != '\t') goto bad;
    }
bad:
    snprintf(why, why_len, "bad value notation at \"%.40s\"", p);
    return -1;
}

/* ------------------------------------------------------------- labels */

static bool ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
static bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }

/* Reads a PromQL string literal ("...", '...' with Go escapes, or `...`)
 * into out. Returns the characters consumed, 0 on a malformed one. */
static size_t scan_string(const char *s, vg_buf_t *out) {
    char q = s[0];
    if (q != '"' && q != '\'' && q != '`') return 0;
    size_t i = 1;
    vg_buf_reset(out);
    vg_buf_puts(out, "");
    while (s[i] && s[i] != q) {
        if (q != '`' && s[i] == '\\') {
            char c = s[i + 1];
            i += 2;
            switch (c) {
            case 'n': vg_buf_putc(out, '\n'); break;
            case 't': vg_buf_putc(out, '\t'); break;
            case 'r': vg_buf_putc(out, '\r'); break;
            case 'a': vg_buf_putc(out, '\a'); break;
            case 'b': vg_buf_putc(out, '\b'); break;
            case 'f': vg_buf_putc(out, '\f'); break;
            case 'v': vg_buf_putc(out, '\v'); break;
            case 'x': {
                unsigned v;
                if (sscanf(s + i, "%2x", &v) != 1) return 0;
                vg_buf_putc(out, (char)v);
                i += 2;
                break;
            }
            case 'u':
            case 'U': {
                int nd = c == 'u' ? 4 : 8;
                unsigned long cp = 0;
                for (int k = 0; k < nd; k++) {
                    char h = s[i + k];
                    int d = h >= '0' && h <= '9'   ? h - '0'
                            : h >= 'a' && h <= 'f' ? h - 'a' + 10
                            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                   : -1;
                    if (d < 0) return 0;
                    cp = cp * 16 + (unsigned long)d;
                }
                i += (size_t)nd;
                char u[4];
                size_t un;
                if (cp < 0x80)
                    u[0] = (char)cp, un = 1;
                else if (cp < 0x800)
                    u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), un = 2;
                else if (cp < 0x10000)
                    u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
                    u[2] = (char)(0x80 | (cp & 0x3F)), un = 3;
                else
                    u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
                    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)),
                    un = 4;
                vg_buf_append(out, u, un);
                break;
            }
            case '0':
            case '1':
            case '2':
            case '3':
            case '4':
            case '5':
            case '6':
            case '7': {
                unsigned v = (unsigned)(c - '0');
                for (int k = 0; k < 2 && s[i] >= '0' && s[i] <= '7'; k++)
                    v = v * 8 + (unsigned)(s[i++] - '0');
                vg_buf_putc(out, (char)v);
                break;
            }
            case '\0': return 0;
            default: vg_buf_putc(out, c); break;
            }
        } else {
            vg_buf_putc(out, s[i++]);
        }
    }
    if (s[i] != q) return 0;
    return i + 1;
}

/* Parses "name{l="v", ...}" at the start of line into a label set; returns
 * the characters consumed, 0 on a malformed one. */
static size_t parse_metric(const char *line, labels_t **out) {
    labels_builder_t *b = labels_builder_new();
    vg_buf_t name = VG_BUF_INIT, val = VG_BUF_INIT;
    const char *p = line;
    size_t ok = 0;
    if (ident_start(*p)) {
        const char *s = p;
        while (ident_char(*p))
            p++;
        labels_builder_set_metric_name(b, s, (size_t)(p - s));
    }
    if (*p == '{') {
        p++;
        for (;;) {
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == '}') {
                p++;
                break;
            }
            size_t n;
            if (ident_start(*p)) {
                const char *s = p;
                while (ident_char(*p))
                    p++;
                vg_buf_reset(&name);
                vg_buf_append(&name, s, (size_t)(p - s));
            } else if ((n = scan_string(p, &name))) {
                p += n;
            } else {
                goto done;
            }
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == '=') {
                p++;
                while (*p == ' ' || *p == '\t')
                    p++;
                if (!(n = scan_string(p, &val))) goto done;
                p += n;
                labels_builder_set(b, name.data, name.len, val.data, val.len);
            } else {
                /* a quoted name alone is the metric name */
                labels_builder_set_metric_name(b, name.data, name.len);
            }
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                goto done;
        }
    }
    if (p == line) goto done;
    *out = labels_builder_labels(b);
    ok = (size_t)(p - line);
done:
    labels_builder_free(b);
    vg_buf_free(&name);
    vg_buf_free(&val);
    return ok;
}

/* A series line: labels and values. */
static int parse_series(const char *line, labels_t **ls, seq_t *vals, char *why, size_t why_len) {
    memset(vals, 0, sizeof *vals);
    size_t n = parse_metric(line, ls);
    if (!n) {
        snprintf(why, why_len, "bad series description \"%.60s\"", line);
        return -1;
    }
    if (line[n] && line[n] != ' ' && line[n] != '\t') {
        labels_free(*ls);
        snprintf(why, why_len, "bad series description \"%.60s\"", line);
        return -1;
    }
    if (parse_values(line + n, vals, why, why_len) < 0) {
        labels_free(*ls);
        free(vals->v);
        return -1;
    }
    return 0;
}

/* parseNumber: an integer in any Go base or a float, the whole string. */
static bool parse_number(const char *s, double *out) {
    if (!*s) return false;
    char *end;
    long long i = strtoll(s, &end, 0);
    if (*end == '\0' && end != s) {
        *out = (double)i;
        return true;
    }
    double f = strtod(s, &end);
    if (*end == '\0' && end != s) {
        *out = f;
        return true;
    }
    return false;
}

static bool parse_duration(const char *s, int64_t *out) {
    return vg_duration_parse(s, strlen(s), out) == VG_OK;
}

/* -------------------------------------------------------------- scripts */

typedef struct script {
    char *name;
    char **lines; /* trimmed; comments made empty */
    size_t n_lines;
    char *data;
} script_t;

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static int script_load(const char *path, script_t *sc) {
    vg_err_t err = {0};
    size_t len;
    memset(sc, 0, sizeof *sc);
    if (vg_file_read_all(path, MAX_SCRIPT_BYTES, &sc->data, &len, &err) != VG_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    size_t cap = 0;
    char *p = sc->data;
    for (;;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        if (sc->n_lines == cap) {
            cap = cap ? cap * 2 : 256;
            sc->lines = vg_realloc(sc->lines, cap * sizeof *sc->lines);
        }
        char *t = trim(p);
        if (*t == '#') t[0] = '\0';
        sc->lines[sc->n_lines++] = t;
        if (!nl) break;
        p = nl + 1;
    }
    return 0;
}

/* ------------------------------------------------------------ the store */

typedef struct hist_series {
    labels_t **ls;
    size_t n, cap;
} hist_series_t;

typedef struct runner {
    promql_engine_t *engine;
    tsdb_t *db;
    char dir[256];
    unsigned n_dirs;
    char base[200];
    hist_series_t hist; /* series holding native histograms */
    bool nhcb_loaded;
} runner_t;

static void hist_add(hist_series_t *h, const labels_t *ls) {
    for (size_t i = 0; i < h->n; i++)
        if (labels_equal(h->ls[i], ls)) return;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->ls = vg_realloc(h->ls, h->cap * sizeof *h->ls);
    }
    h->ls[h->n++] = labels_dup(ls);
}

static void hist_clear(hist_series_t *h) {
    for (size_t i = 0; i < h->n; i++)
        labels_free(h->ls[i]);
    h->n = 0;
}

static void store_close(runner_t *r) {
    if (!r->db) return;
    tsdb_close(r->db);
    r->db = NULL;
    vg_remove_all(r->dir, NULL);
}

static int store_open(runner_t *r) {
    store_close(r);
    hist_clear(&r->hist);
    snprintf(r->dir, sizeof r->dir, "%s/db%u", r->base, r->n_dirs++);
    tsdb_options_t o = {0};
    o.dir = r->dir;
    o.retention_ms = INT64_C(1) << 50; /* the scripts' clock starts at 1970 */
    vg_err_t err = {0};
    r->db = tsdb_open(&o, &err);
    if (!r->db) {
        fprintf(stderr, "tsdb_open %s: %s\n", r->dir, err.msg);
        return -1;
    }
    return 0;
}

/* One series of a load block; a later line for the same series replaces
 * an earlier one, as upstream keys them by label hash. */
typedef struct load_def {
    labels_t *ls;
    seq_t vals;
} load_def_t;

/* Prometheus's convertnhcb: X_bucket{le}, X_count, X_sum become X. */
static void nhcb_mark(runner_t *r, const labels_t *ls) {
    size_t nlen;
    const char *name = labels_metric_name(ls, &nlen);
    if (!name) return;
    static const char *const suffixes[] = {"_bucket", "_count", "_sum"};
    for (size_t k = 0; k < 3; k++) {
        size_t sl = strlen(suffixes[k]);
        if (nlen > sl && memcmp(name + nlen - sl, suffixes[k], sl) == 0) {
            if (k == 0 && !labels_has(ls, "le", 2)) return;
            labels_builder_t *b = labels_builder_new();
            labels_builder_reset(b, ls);
            labels_builder_set_metric_name(b, name, nlen - sl);
            labels_builder_del(b, "le", 2);
            labels_t *base = labels_builder_labels(b);
            hist_add(&r->hist, base);
            labels_free(base);
            labels_builder_free(b);
            return;
        }
    }
}

/* Runs a load block starting at line i; returns the index of its last line. */
static size_t exec_load(runner_t *r, script_t *sc, size_t i, bool *ok, char *why, size_t why_len) {
    const char *line = sc->lines[i];
    bool nhcb = strncasecmp(line, "load_with_nhcb", 14) == 0;
    const char *p = line + (nhcb ? 14 : 4);
    while (*p == ' ' || *p == '\t')
        p++;
    int64_t gap;
    *ok = true;
    if (!parse_duration(p, &gap)) {
        snprintf(why, why_len, "invalid load step \"%s\"", p);
        *ok = false;
    }
    load_def_t *defs = NULL;
    size_t n_defs = 0;
    for (; i + 1 < sc->n_lines && sc->lines[i + 1][0]; i++) {
        const char *def = sc->lines[i + 1];
        /* start-timestamp lines (name@st ...) only matter for the
         * experimental start_timestamp(): not loaded. */
        const char *sp = def + strcspn(def, " \t");
        if (sp - def >= 3 && memcmp(sp - 3, "@st", 3) == 0) continue;
        labels_t *ls;
        seq_t vals;
        if (parse_series(def, &ls, &vals, why, why_len) < 0) {
            *ok = false;
            continue;
        }
        size_t k;
        for (k = 0; k < n_defs; k++)
            if (labels_equal(defs[k].ls, ls)) break;
        if (k < n_defs) {
            labels_free(defs[k].ls);
            free(defs[k].vals.v);
        } else {
            defs = vg_realloc(defs, (n_defs + 1) * sizeof *defs);
            n_defs++;
        }
        defs[k].ls = ls;
        defs[k].vals = vals;
    }
    if (*ok) {
        tsdb_appender_t *a = tsdb_appender_new(r->db);
        for (size_t k = 0; k < n_defs; k++) {
            if (defs[k].vals.has_histogram) hist_add(&r->hist, defs[k].ls);
            if (nhcb) nhcb_mark(r, defs[k].ls);
            uint64_t ref = 0;
            for (size_t j = 0; j < defs[k].vals.n; j++) {
                if (defs[k].vals.v[j].kind != VAL_FLOAT) continue;
                vg_err_t err = {0};
                tsdb_appender_add(a, defs[k].ls, &ref, (int64_t)j * gap, defs[k].vals.v[j].v, &err);
            }
        }
        vg_err_t err = {0};
        if (tsdb_appender_commit(a, &err) != VG_OK) {
            snprintf(why, why_len, "load: %.200s", err.msg);
            *ok = false;
        }
        tsdb_appender_free(a);
    }
    for (size_t k = 0; k < n_defs; k++) {
        labels_free(defs[k].ls);
        free(defs[k].vals.v);
    }
    free(defs);
    return i;
}

/* ------------------------------------------------------------------ eval */

typedef struct expect_msg {
    char *msg;      /* exact text, or NULL with re */
    pcre2_code *re; /* NULL with msg; both NULL: anything */
} expect_msg_t;

typedef struct expect_series {
    labels_t *ls;
    seq_t vals;
    int pos;
} expect_series_t;

typedef struct eval_cmd {
    int line;
    const char *expr;
    bool is_range;
    int64_t start, end, step, eval_t;
    bool fail, warn, info, ordered; /* legacy eval_* forms */
    expect_msg_t fail_msg;          /* expect fail msg:/regex:, expected_fail_* */
    bool has_fail_msg;
    expect_msg_t *warns, *infos;
    size_t n_warns, n_infos;
    bool expect_fail, expect_ordered, no_warn, no_info;
    bool expect_scalar;
    double scalar;
    bool has_string;
    char *string;
    expect_series_t *series;
    size_t n_series;
    bool exclude_range;
    bool has_histogram;
    char parse_error[256];
} eval_cmd_t;

static bool is_fail(const eval_cmd_t *c) { return c->fail || c->expect_fail; }
static bool is_ordered(const eval_cmd_t *c) { return c->ordered || c->expect_ordered; }

static pcre2_code *regex_compile(const char *pattern) {
    int code;
    PCRE2_SIZE off;
    return pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
}

/* The length of an annotation without the " (line:col)" that the engine
 * appends for the API: upstream's test harness sees annotations before a
 * query is attached to them, so its expected texts carry no position. */
static size_t annotation_len(const char *s) {
    size_t n = strlen(s);
    if (n < 6 || s[n - 1] != ')') return n;
    size_t i = n - 1, digits = 0, colons = 0;
    while (i > 0 && ((s[i - 1] >= '0' && s[i - 1] <= '9') || s[i - 1] == ':')) {
        if (s[i - 1] == ':')
            colons++;
        else
            digits++;
        i--;
    }
    if (colons == 1 && digits >= 2 && i >= 2 && s[i - 1] == '(' && s[i - 2] == ' ') return i - 2;
    return n;
}

static bool expect_msg_match(const expect_msg_t *m, const char *s) {
    if (m->msg) return strcmp(m->msg, s) == 0;
    if (!m->re) return true;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(m->re, NULL);
    int rc = pcre2_match(m->re, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

static void expect_msg_free(expect_msg_t *m) {
    free(m->msg);
    if (m->re) pcre2_code_free(m->re);
}

static void eval_free(eval_cmd_t *c) {
    expect_msg_free(&c->fail_msg);
    for (size_t i = 0; i < c->n_warns; i++)
        expect_msg_free(&c->warns[i]);
    for (size_t i = 0; i < c->n_infos; i++)
        expect_msg_free(&c->infos[i]);
    free(c->warns);
    free(c->infos);
    free(c->string);
    for (size_t i = 0; i < c->n_series; i++) {
        labels_free(c->series[i].ls);
        free(c->series[i].vals.v);
    }
    free(c->series);
}

/* "expect <type> [msg:|regex: <text>]"; returns 0 or -1. */
static int parse_expect(eval_cmd_t *c, const char *line) {
    const char *p = line + 6;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t wl = strcspn(p, " \t");
    char word[16];
    if (wl >= sizeof word) return -1;
    memcpy(word, p, wl);
    word[wl] = '\0';
    p += wl;
    while (*p == ' ' || *p == '\t')
        p++;
    expect_msg_t m = {0};
    if (*p) {
        if (strncmp(p, "msg:", 4) == 0) {
            char *t = vg_strdup(p + 4);
            m.msg = vg_strdup(trim(t));
            free(t);
        } else if (strncmp(p, "regex:", 6) == 0) {
            char *t = vg_strdup(p + 6);
            m.re = regex_compile(trim(t));
            free(t);
            if (!m.re) return -1;
        } else {
            return -1;
        }
    }
    if (strcmp(word, "fail") == 0) {
        if (c->expect_fail) {
            expect_msg_free(&m);
            return -1;
        }
        c->expect_fail = true;
        if (m.msg || m.re) {
            c->fail_msg = m;
            c->has_fail_msg = true;
        }
        return 0;
    }
    if (strcmp(word, "ordered") == 0) {
        c->expect_ordered = true;
    } else if (strcmp(word, "warn") == 0 || strcmp(word, "info") == 0) {
        bool w = word[0] == 'w';
        expect_msg_t **arr = w ? &c->warns : &c->infos;
        size_t *n = w ? &c->n_warns : &c->n_infos;
        *arr = vg_realloc(*arr, (*n + 1) * sizeof **arr);
        (*arr)[(*n)++] = m;
        return 0;
    } else if (strcmp(word, "no_warn") == 0) {
        c->no_warn = true;
    } else if (strcmp(word, "no_info") == 0) {
        c->no_info = true;
    } else {
        expect_msg_free(&m);
        return -1;
    }
    expect_msg_free(&m);
    return 0;
}

/* Go's strconv.Unquote of the rest of an `expect string` line. */
static int parse_expect_string(eval_cmd_t *c, const char *line) {
    const char *p = line + strlen("expect string");
    if (*p != ' ') return -1;
    p++;
    vg_buf_t b = VG_BUF_INIT;
    size_t n = scan_string(p, &b);
    if (!n || p[n] || *p == '\'') {
        vg_buf_free(&b);
        return -1;
    }
    c->string = vg_buf_detach(&b);
    c->has_string = true;
    return 0;
}

static void add_expected_series(eval_cmd_t *c, labels_t *ls, seq_t *vals, int pos) {
    for (size_t i = 0; i < c->n_series; i++)
        if (labels_equal(c->series[i].ls, ls)) {
            labels_free(c->series[i].ls);
            free(c->series[i].vals.v);
            c->series[i].ls = ls;
            c->series[i].vals = *vals;
            c->series[i].pos = pos;
            return;
        }
    c->series = vg_realloc(c->series, (c->n_series + 1) * sizeof *c->series);
    c->series[c->n_series].ls = ls;
    c->series[c->n_series].vals = *vals;
    c->series[c->n_series].pos = pos;
    c->n_series++;
    if (vals->has_histogram) c->has_histogram = true;
}

/* Splits "<a> to <b> step <c> <rest>" style heads. */
static bool take_word(const char **p, char *out, size_t out_len) {
    while (**p == ' ' || **p == '\t')
        (*p)++;
    size_t n = strcspn(*p, " \t");
    if (!n || n >= out_len) return false;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n;
    return true;
}

static bool expect_word(const char **p, const char *w) {
    char tmp[32];
    return take_word(p, tmp, sizeof tmp) && strcmp(tmp, w) == 0;
}

/* Parses an eval block starting at line i; returns the index of its last
 * line. A block it cannot read gets c->parse_error. */
static size_t parse_eval(script_t *sc, size_t i, eval_cmd_t *c) {
    memset(c, 0, sizeof *c);
    const char *line = sc->lines[i];
    c->line = (int)i + 1;
    const char *p = line + 4;
    if (*p == '_') {
        size_t n = strcspn(p + 1, " \t");
        if (n == 4 && strncmp(p + 1, "fail", 4) == 0)
            c->fail = true;
        else if (n == 4 && strncmp(p + 1, "warn", 4) == 0)
            c->warn = true;
        else if (n == 4 && strncmp(p + 1, "info", 4) == 0)
            c->info = true;
        else if (n == 7 && strncmp(p + 1, "ordered", 7) == 0)
            c->ordered = true;
        else
            snprintf(c->parse_error, sizeof c->parse_error, "unknown eval form");
        p += 1 + n;
    }
    char w[64];
    if (!take_word(&p, w, sizeof w)) {
        snprintf(c->parse_error, sizeof c->parse_error, "bad eval line");
    } else if (strcmp(w, "instant") == 0) {
        const char *q = p;
        if (expect_word(&q, "at")) {
            if (!take_word(&q, w, sizeof w) || !parse_duration(w, &c->eval_t))
                snprintf(c->parse_error, sizeof c->parse_error, "bad eval time");
            p = q;
        }
        c->start = c->eval_t;
    } else if (strcmp(w, "range") == 0) {
        char a[64], b[64], s[64];
        c->is_range = true;
        if (c->ordered) snprintf(c->parse_error, sizeof c->parse_error, "eval_ordered range");
        if (!expect_word(&p, "from") || !take_word(&p, a, sizeof a) || !expect_word(&p, "to") ||
            !take_word(&p, b, sizeof b) || !expect_word(&p, "step") ||
            !take_word(&p, s, sizeof s) || !parse_duration(a, &c->start) ||
            !parse_duration(b, &c->end) || !parse_duration(s, &c->step) || c->end < c->start)
            snprintf(c->parse_error, sizeof c->parse_error, "bad range eval line");
    } else {
        snprintf(c->parse_error, sizeof c->parse_error, "bad eval line");
    }
    while (*p == ' ' || *p == '\t')
        p++;
    c->expr = p;
    if (!*p) snprintf(c->parse_error, sizeof c->parse_error, "no expression");

    bool range_vector = false;
    for (int j = 1; i + 1 < sc->n_lines && sc->lines[i + 1][0]; j++) {
        const char *def = sc->lines[++i];
        if (c->fail && strncmp(def, "expected_fail_message", 21) == 0) {
            char *t = vg_strdup(def + 21);
            c->fail_msg.msg = vg_strdup(trim(t));
            free(t);
            c->has_fail_msg = true;
            break;
        }
        if (c->fail && strncmp(def, "expected_fail_regexp", 20) == 0) {
            char *t = vg_strdup(def + 20);
            c->fail_msg.re = regex_compile(trim(t));
            free(t);
            c->has_fail_msg = c->fail_msg.re != NULL;
            break;
        }
        if (strncmp(def, "expect range vector", 19) == 0) {
            const char *q = def + 19;
            char a[64], b[64], s[64];
            if (!expect_word(&q, "from") || !take_word(&q, a, sizeof a) || !expect_word(&q, "to") ||
                !take_word(&q, b, sizeof b) || !expect_word(&q, "step") ||
                !take_word(&q, s, sizeof s) || !parse_duration(a, &c->start) ||
                !parse_duration(b, &c->end) || !parse_duration(s, &c->step)) {
                snprintf(c->parse_error, sizeof c->parse_error, "bad expect range vector");
                continue;
            }
            range_vector = true;
            c->eval_t = c->end;
            c->exclude_range = true;
            continue;
        }
        if (strncmp(def, "expect string", 13) == 0) {
            if (parse_expect_string(c, def) < 0)
                snprintf(c->parse_error, sizeof c->parse_error, "bad expect string");
            c->exclude_range = true;
            continue;
        }
        size_t fw = strcspn(def, " ");
        if (fw == 6 && strncmp(def, "expect", 6) == 0) {
            if (parse_expect(c, def) < 0)
                snprintf(c->parse_error, sizeof c->parse_error, "bad expect line \"%.100s\"", def);
            j--;
            continue;
        }
        double f;
        if (parse_number(def, &f)) {
            c->expect_scalar = true;
            c->scalar = f;
            break;
        }
        labels_t *ls;
        seq_t vals;
        char why[160];
        if (parse_series(def, &ls, &vals, why, sizeof why) < 0) {
            snprintf(c->parse_error, sizeof c->parse_error, "%s", why);
            continue;
        }
        if (vals.n > 1 && !c->is_range && !range_vector) {
            snprintf(c->parse_error, sizeof c->parse_error,
                     "multiple values in an instant evaluation");
        }
        c->expect_scalar = false;
        add_expected_series(c, ls, &vals, j);
    }
    if ((c->n_warns && c->no_warn) || (c->n_infos && c->no_info))
        snprintf(c->parse_error, sizeof c->parse_error, "contradicting expect lines");
    return i;
}

/* ------------------------------------------------------- checking */

#define WHY_LEN 1024

static void series_str(const labels_t *ls, vg_buf_t *b) { labels_format(ls, b); }

static int fail_why(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_why(char *why, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, WHY_LEN, fmt, ap);
    va_end(ap);
    return -1;
}

static bool anno_match(const expect_msg_t *m, const char *got) {
    char *bare = vg_strndup(got, annotation_len(got));
    bool ok = expect_msg_match(m, bare);
    free(bare);
    return ok;
}

static int check_annotations_kind(const expect_msg_t *exp, size_t n_exp, char **got, size_t n_got,
                                  const char *kind, char *why) {
    if (!n_exp) return 0;
    if (!n_got) return fail_why(why, "expected %s annotations but none were found", kind);
    for (size_t i = 0; i < n_exp; i++) {
        bool found = false;
        for (size_t k = 0; k < n_got && !found; k++)
            found = anno_match(&exp[i], got[k]);
        if (!found)
            return fail_why(why,
                            "expected %s annotation \"%s\" but no match was found (got \"%s\")",
                            kind, exp[i].msg ? exp[i].msg : "<regex>", got[0]);
    }
    for (size_t k = 0; k < n_got; k++) {
        bool found = false;
        for (size_t i = 0; i < n_exp && !found; i++)
            found = anno_match(&exp[i], got[k]);
        if (!found) return fail_why(why, "unexpected %s annotation \"%s\"", kind, got[k]);
    }
    return 0;
}

static int check_annotations(const eval_cmd_t *c, const promql_value_t *v, char *why) {
    if (c->warn && v->n_warnings == 0) return fail_why(why, "expected warnings but got none");
    if (c->info && v->n_infos == 0) return fail_why(why, "expected info annotations but got none");
    if (check_annotations_kind(c->warns, c->n_warns, v->warnings, v->n_warnings, "warn", why) < 0 ||
        check_annotations_kind(c->infos, c->n_infos, v->infos, v->n_infos, "info", why) < 0)
        return -1;
    if (c->no_warn && v->n_warnings)
        return fail_why(why, "unexpected warning annotation \"%s\"", v->warnings[0]);
    if (c->no_info && v->n_infos)
        return fail_why(why, "unexpected info annotation \"%s\"", v->infos[0]);
    return 0;
}

static int check_failure(const eval_cmd_t *c, const char *msg, char *why) {
    if (c->has_fail_msg && !expect_msg_match(&c->fail_msg, msg))
        return fail_why(why, "expected error \"%s\" but got: %s",
                        c->fail_msg.msg ? c->fail_msg.msg : "<regex>", msg);
    return 0;
}

static const expect_series_t *find_expected(const eval_cmd_t *c, const labels_t *ls) {
    for (size_t i = 0; i < c->n_series; i++)
        if (labels_equal(c->series[i].ls, ls)) return &c->series[i];
    return NULL;
}

static int check_sorted(const promql_series_t *s, size_t n, char *why) {
    for (size_t i = 1; i < n; i++)
        if (labels_compare(s[i - 1].labels, s[i].labels) > 0) {
            vg_buf_t b = VG_BUF_INIT;
            series_str(s[i].labels, &b);
            fail_why(why, "matrix results should always be sorted by labels: %s is out of place",
                     b.data);
            vg_buf_free(&b);
            return -1;
        }
    return 0;
}

/* A vector given as series of one point each. */
static int compare_vector(const eval_cmd_t *c, const promql_series_t *s, size_t n, char *why) {
    if (c->expect_scalar) return fail_why(why, "expected scalar result, but got a vector");
    for (size_t i = 0; i < n; i++) {
        const expect_series_t *e = find_expected(c, s[i].labels);
        vg_buf_t b = VG_BUF_INIT;
        series_str(s[i].labels, &b);
        double got = s[i].n_points ? s[i].points[0].v : NAN;
        int rc = 0;
        if (!e)
            rc = fail_why(why, "unexpected metric %s in result, has value %.17g", b.data, got);
        else if (is_ordered(c) && e->pos != (int)i + 1)
            rc = fail_why(why, "expected metric %s at position %d but was at %zu", b.data, e->pos,
                          i + 1);
        else if (!value_matches(e->vals.v[0].v, got))
            rc = fail_why(why, "expected %.17g for %s but got %.17g", e->vals.v[0].v, b.data, got);
        vg_buf_free(&b);
        if (rc) return rc;
    }
    for (size_t k = 0; k < c->n_series; k++) {
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = labels_equal(c->series[k].ls, s[i].labels);
        if (!seen) {
            vg_buf_t b = VG_BUF_INIT;
            series_str(c->series[k].ls, &b);
            fail_why(why, "expected metric %s with %.17g not found", b.data,
                     c->series[k].vals.v[0].v);
            vg_buf_free(&b);
            return -1;
        }
    }
    return 0;
}

static int compare_matrix(const eval_cmd_t *c, const promql_value_t *v, char *why) {
    if (is_ordered(c)) return fail_why(why, "expected ordered result, but query returned a matrix");
    if (c->expect_scalar) return fail_why(why, "expected scalar result, but got a matrix");
    if (check_sorted(v->series, v->n_series, why) < 0) return -1;
    for (size_t i = 0; i < v->n_series; i++) {
        const promql_series_t *s = &v->series[i];
        const expect_series_t *e = find_expected(c, s->labels);
        vg_buf_t b = VG_BUF_INIT;
        series_str(s->labels, &b);
        int rc = 0;
        if (!e) {
            rc = fail_why(why, "unexpected metric %s in result (%zu points)", b.data, s->n_points);
            vg_buf_free(&b);
            return rc;
        }
        size_t k = 0; /* index into the result's points */
        for (size_t j = 0; j < e->vals.n && !rc; j++) {
            int64_t t = c->start + (int64_t)j * c->step;
            if (t > c->end) {
                rc = fail_why(why, "expected %zu points for %s, but the range cannot hold them",
                              e->vals.n, b.data);
                break;
            }
            if (e->vals.v[j].kind != VAL_FLOAT) continue;
            if (k >= s->n_points) {
                rc = fail_why(why, "%s: expected a point at t=%lld, result has %zu points", b.data,
                              (long long)t, s->n_points);
                break;
            }
            if (s->points[k].t != t)
                rc = fail_why(why, "%s: expected point %zu at t=%lld, got t=%lld", b.data, k,
                              (long long)t, (long long)s->points[k].t);
            else if (!value_matches(e->vals.v[j].v, s->points[k].v))
                rc = fail_why(why, "%s: expected %.17g at t=%lld, got %.17g", b.data,
                              e->vals.v[j].v, (long long)t, s->points[k].v);
            k++;
        }
        if (!rc && k != s->n_points)
            rc = fail_why(why, "%s: expected %zu points, got %zu", b.data, k, s->n_points);
        vg_buf_free(&b);
        if (rc) return rc;
    }
    for (size_t k = 0; k < c->n_series; k++) {
        bool seen = false;
        for (size_t i = 0; i < v->n_series && !seen; i++)
            seen = labels_equal(c->series[k].ls, v->series[i].labels);
        if (!seen) {
            vg_buf_t b = VG_BUF_INIT;
            series_str(c->series[k].ls, &b);
            fail_why(why, "expected metric %s not found", b.data);
            vg_buf_free(&b);
            return -1;
        }
    }
    return 0;
}

static int compare_scalar(const eval_cmd_t *c, double got, char *why) {
    if (!c->expect_scalar)
        return fail_why(why, "expected vector or matrix result, but got scalar %.17g", got);
    if (!value_matches(c->scalar, got))
        return fail_why(why, "expected scalar %.17g but got %.17g", c->scalar, got);
    return 0;
}

static int compare_result(const eval_cmd_t *c, const promql_value_t *v, char *why) {
    switch (v->type) {
    case PROMQL_TYPE_MATRIX: return compare_matrix(c, v, why);
    case PROMQL_TYPE_VECTOR: return compare_vector(c, v->series, v->n_series, why);
    case PROMQL_TYPE_SCALAR: return compare_scalar(c, v->scalar, why);
    case PROMQL_TYPE_STRING: {
        const char *got = v->string ? v->string : "";
        const char *exp = c->string ? c->string : "";
        if (strcmp(got, exp) != 0)
            return fail_why(why, "expected string \"%s\" but got \"%s\"", exp, got);
        return 0;
    }
    default: return fail_why(why, "unexpected result type %d", (int)v->type);
    }
}

static bool uses_query_context_funcs(const char *expr) {
    static const char *const f[] = {"start()", "end()", "range()", "step()"};
    for (size_t i = 0; i < 4; i++)
        if (strstr(expr, f[i])) return true;
    return false;
}

static int run_range(runner_t *r, const eval_cmd_t *c, char *why) {
    promql_value_t *v = NULL;
    vg_err_t err = {0};
    int rc = promql_query_range(r->engine, r->db, c->expr, strlen(c->expr), c->start, c->end,
                                c->step, 0, &v, &err);
    if (rc != VG_OK) {
        if (is_fail(c)) return check_failure(c, err.msg, why);
        return fail_why(why, "error evaluating query: %s", err.msg);
    }
    if (is_fail(c))
        rc = fail_why(why, "expected error evaluating query but got none");
    else if (check_annotations(c, v, why) < 0)
        rc = -1;
    else
        rc = compare_result(c, v, why);
    promql_value_free(v);
    return rc;
}

/* One instant query (the original or a step-invariance variant) and its
 * range-mode twin. */
static int run_instant_query(runner_t *r, const eval_cmd_t *c, const char *expr, int64_t t,
                             char *why) {
    promql_value_t *v = NULL;
    vg_err_t err = {0};
    int rc = promql_query_instant(r->engine, r->db, expr, strlen(expr), t, 0, &v, &err);
    if (rc != VG_OK) {
        if (is_fail(c)) return check_failure(c, err.msg, why);
        return fail_why(why, "error evaluating query %s at %lld: %s", expr, (long long)t, err.msg);
    }
    if (is_fail(c)) {
        promql_value_free(v);
        return fail_why(why, "expected error evaluating query %s but got none", expr);
    }
    if (check_annotations(c, v, why) < 0 || compare_result(c, v, why) < 0) {
        promql_value_free(v);
        if (strcmp(expr, c->expr) != 0) {
            char tmp[WHY_LEN];
            snprintf(tmp, sizeof tmp, "%s (as %s at %lld)", why, expr, (long long)t);
            memcpy(why, tmp, WHY_LEN);
        }
        return -1;
    }
    bool scalar = v->type == PROMQL_TYPE_SCALAR;
    promql_value_free(v);
    if (c->exclude_range || uses_query_context_funcs(expr)) return 0;

    /* The same query in range mode must agree at t. */
    rc = promql_query_range(r->engine, r->db, expr, strlen(expr), t - 60000, t + 60000, 60000, 0,
                            &v, &err);
    if (rc != VG_OK)
        return fail_why(why, "error evaluating query %s at %lld in range mode: %s", expr,
                        (long long)t, err.msg);
    if (is_ordered(c)) {
        promql_value_free(v);
        return 0;
    }
    rc = check_sorted(v->series, v->n_series, why);
    promql_series_t *vec = vg_calloc(v->n_series + 1, sizeof *vec);
    size_t n = 0;
    for (size_t i = 0; i < v->n_series && rc == 0; i++)
        for (size_t k = 0; k < v->series[i].n_points; k++)
            if (v->series[i].points[k].t == t) {
                vec[n].labels = v->series[i].labels;
                vec[n].points = &v->series[i].points[k];
                vec[n].n_points = 1;
                n++;
                break;
            }
    if (rc == 0) {
        if (scalar) {
            rc = n ? compare_scalar(c, vec[0].points[0].v, why)
                   : fail_why(why, "range mode gave no point at t");
        } else {
            rc = compare_vector(c, vec, n, why);
        }
        if (rc) {
            char tmp[WHY_LEN];
            snprintf(tmp, sizeof tmp, "range mode: %s", why);
            memcpy(why, tmp, WHY_LEN);
        }
    }
    free(vec);
    promql_value_free(v);
    return rc;
}

/* Step invariance: every selector and subquery without @ gets "@ t". */
static const char *const at_unsafe_funcs[] = {
    "days_in_month", "day_of_month", "day_of_week",    "day_of_year", "hour",      "minute",
    "month",         "year",         "predict_linear", "time",        "timestamp",
};

typedef struct at_ctx {
    int64_t t;
    bool unsafe;
} at_ctx_t;

static int at_visit(const promql_expr_t *ce, const promql_expr_t *parent, void *ud) {
    (void)parent;
    at_ctx_t *ctx = ud;
    /* The tree is ours (parsed just for this rewrite). */
    promql_expr_t *e = (promql_expr_t *)ce;
    switch (e->kind) {
    case PROMQL_VECTOR:
        if (e->u.vector.mod.at == PROMQL_AT_NONE) {
            e->u.vector.mod.at = PROMQL_AT_TIMESTAMP;
            e->u.vector.mod.at_ms = ctx->t;
        }
        return 0;
    case PROMQL_SUBQUERY:
        if (e->u.subquery.mod.at == PROMQL_AT_NONE) {
            e->u.subquery.mod.at = PROMQL_AT_TIMESTAMP;
            e->u.subquery.mod.at_ms = ctx->t;
        }
        return 1; /* what is inside keeps its own times */
    case PROMQL_CALL:
        for (size_t i = 0; i < sizeof at_unsafe_funcs / sizeof at_unsafe_funcs[0]; i++)
            if (strcmp(e->u.call.func->name, at_unsafe_funcs[i]) == 0) ctx->unsafe = true;
        return 0;
    default: return 0;
    }
}

static const promql_parse_opts_t parse_opts = {
    .experimental_functions = true,
    .duration_expr = true,
    .extended_range = true,
    .fill_modifiers = true,
};

/* Returns the rewritten query (caller frees) or NULL when the check does
 * not apply. */
static char *at_rewrite(const char *expr, int64_t t) {
    promql_ast_t *ast;
    vg_err_t err = {0};
    if (promql_parse(expr, strlen(expr), &parse_opts, &ast, NULL, &err) != VG_OK) return NULL;
    at_ctx_t ctx = {t, false};
    promql_walk(ast->root, at_visit, &ctx);
    char *out = ctx.unsafe ? NULL : promql_format(ast->root);
    promql_ast_free(ast);
    return out;
}

static int run_instant(runner_t *r, const eval_cmd_t *c, char *why) {
    if (run_instant_query(r, c, c->expr, c->eval_t, why) < 0) return -1;
    if (uses_query_context_funcs(c->expr)) return 0;
    char *rewritten = at_rewrite(c->expr, c->eval_t);
    if (!rewritten) return 0;
    int64_t ts = c->eval_t;
    int64_t times[5] = {-10 * ts, 0, ts / 5, ts, 10 * ts};
    size_t n_times = 5;
    if (ts == 0) {
        times[0] = -1000, times[1] = 0, times[2] = 1000;
        n_times = 3;
    }
    int rc = 0;
    for (size_t i = 0; i < n_times && rc == 0; i++)
        rc = run_instant_query(r, c, rewritten, times[i], why);
    free(rewritten);
    return rc;
}

/* Whether the query's selectors reach a series holding native histograms. */
typedef struct hist_ctx {
    const hist_series_t *hist;
    bool hit;
} hist_ctx_t;

static int hist_visit(const promql_expr_t *e, const promql_expr_t *parent, void *ud) {
    (void)parent;
    hist_ctx_t *ctx = ud;
    if (e->kind != PROMQL_VECTOR) return 0;
    for (size_t h = 0; h < ctx->hist->n && !ctx->hit; h++) {
        bool all = true;
        for (size_t m = 0; m < e->u.vector.n_matchers && all; m++)
            all = labels_matcher_matches_labels(e->u.vector.matchers[m].compiled, ctx->hist->ls[h]);
        if (all) ctx->hit = true;
    }
    return 0;
}

static bool touches_histograms(const runner_t *r, const char *expr) {
    if (!r->hist.n) return false;
    promql_ast_t *ast;
    vg_err_t err = {0};
    if (promql_parse(expr, strlen(expr), &parse_opts, &ast, NULL, &err) != VG_OK) return false;
    hist_ctx_t ctx = {&r->hist, false};
    promql_walk(ast->root, hist_visit, &ctx);
    promql_ast_free(ast);
    return ctx.hit;
}

/* ------------------------------------------------------------- files */

typedef struct file_result {
    char name[128];
    bool experimental;
    unsigned passed, failed, skipped;
} file_result_t;

static bool is_experimental(const char *name) {
    for (size_t i = 0; i < sizeof experimental_files / sizeof experimental_files[0]; i++)
        if (strcmp(name, experimental_files[i]) == 0) return true;
    return false;
}

static void run_file(runner_t *r, const char *dir, const char *name, file_result_t *res,
                     vg_buf_t *failures) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    memset(res, 0, sizeof *res);
    snprintf(res->name, sizeof res->name, "%s", name);
    res->experimental = is_experimental(name);
    script_t sc;
    if (script_load(path, &sc) < 0) {
        res->failed++;
        return;
    }
    if (store_open(r) < 0) {
        res->failed++;
        free(sc.lines);
        free(sc.data);
        return;
    }
    bool load_broken = false; /* a load we could not read: its evals are skipped */
    for (size_t i = 0; i < sc.n_lines; i++) {
        const char *l = sc.lines[i];
        if (!l[0]) continue;
        size_t wl = strcspn(l, " \t");
        if (wl == 5 && strncasecmp(l, "clear", 5) == 0) {
            store_open(r);
            load_broken = false;
        } else if (strncasecmp(l, "load", 4) == 0) {
            bool ok;
            char why[256] = "";
            i = exec_load(r, &sc, i, &ok, why, sizeof why);
            if (!ok) {
                load_broken = true;
                if (!res->experimental)
                    vg_buf_printf(failures, "  %s:%zu: load: %s\n", name, i + 1, why);
            }
        } else if (strncasecmp(l, "eval", 4) == 0) {
            eval_cmd_t c;
            i = parse_eval(&sc, i, &c);
            char why[WHY_LEN] = "";
            int rc;
            if (c.has_histogram || load_broken || touches_histograms(r, c.expr)) {
                res->skipped++;
                eval_free(&c);
                continue;
            }
            if (c.parse_error[0]) {
                snprintf(why, sizeof why, "cannot read the eval block: %s", c.parse_error);
                rc = -1;
            } else if (c.is_range) {
                rc = run_range(r, &c, why);
            } else {
                rc = run_instant(r, &c, why);
            }
            if (rc == 0) {
                res->passed++;
            } else {
                res->failed++;
                if (!res->experimental)
                    vg_buf_printf(failures, "  %s:%d: %s\n      %s\n", name, c.line, c.expr, why);
            }
            eval_free(&c);
        } else {
            res->failed++;
            vg_buf_printf(failures, "  %s:%zu: invalid command \"%.60s\"\n", name, i + 1, l);
        }
    }
    store_close(r);
    free(sc.lines);
    free(sc.data);
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static double pct(unsigned a, unsigned b) { return b ? 100.0 * a / b : 0.0; }

int main(void) {
    /* VIGIL_PROMQL_TESTS points at another directory of scripts (one's
     * own, or a copy with a single file while debugging). */
    const char *dir = getenv("VIGIL_PROMQL_TESTS");
    if (!dir || !*dir) dir = VG_SHARED_DIR "/conformance/promql-tests";
    vg_log_setup(VG_LOG_ERROR, VG_LOG_LOGFMT, stderr);
    DIR *d = opendir(dir);
    if (!d) {
        printf("promql tests: %s not found, nothing to run\n", dir);
        return 0;
    }
    char **names = NULL;
    size_t n_names = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n > 5 && strcmp(de->d_name + n - 5, ".test") == 0) {
            names = vg_realloc(names, (n_names + 1) * sizeof *names);
            names[n_names++] = vg_strdup(de->d_name);
        }
    }
    closedir(d);
    if (n_names > 1) qsort(names, n_names, sizeof *names, cmp_names);

    runner_t r;
    memset(&r, 0, sizeof r);
    /* The stores are thrown away: memory-backed /dev/shm spares ~250
     * rounds of fsync when it is there. */
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(r.base, sizeof r.base, "%s/vigil-promqltest-XXXXXX", tmp);
    if (!mkdtemp(r.base)) {
        perror("mkdtemp");
        return 1;
    }
    promql_engine_opts_t eo = {0};
    eo.lookback_ms = 5 * 60 * 1000;
    eo.timeout_ms = 100 * 1000;
    eo.max_samples = 10000;
    eo.default_subquery_step_ms = 60 * 1000;
    eo.parse = parse_opts;
    r.engine = promql_engine_new(&eo);

    vg_buf_t failures = VG_BUF_INIT;
    file_result_t *res = vg_calloc(n_names ? n_names : 1, sizeof *res);
    unsigned sp = 0, sf = 0, ss = 0, ep = 0, ef = 0, es = 0;
    double t0 = vg_time_mono();
    for (size_t i = 0; i < n_names; i++) {
        run_file(&r, dir, names[i], &res[i], &failures);
        printf("%-28s %4u passed %4u failed %4u skipped  (%5.1f%%)%s\n", names[i], res[i].passed,
               res[i].failed, res[i].skipped, pct(res[i].passed, res[i].passed + res[i].failed),
               res[i].experimental ? "  [experimental or native histograms]" : "");
        if (res[i].experimental)
            ep += res[i].passed, ef += res[i].failed, es += res[i].skipped;
        else
            sp += res[i].passed, sf += res[i].failed, ss += res[i].skipped;
    }
    if (failures.len) printf("\nfailing evals of the stable files:\n%s\n", failures.data);
    printf("stable files: %u passed, %u failed, %u skipped (native histograms)\n", sp, sf, ss);
    printf("experimental files: %u passed, %u failed, %u skipped\n", ep, ef, es);
    printf("time: %.1f s\n", vg_time_mono() - t0);
    double rate = pct(sp, sp + sf);
    printf("promql tests conformance: %u/%u passed (%.1f%%)\n", sp, sp + sf, rate);
    printf("promql tests experimental conformance: %u/%u passed (%.1f%%)\n", ep, ep + ef,
           pct(ep, ep + ef));

    promql_engine_free(r.engine);
    hist_clear(&r.hist);
    free(r.hist.ls);
    vg_remove_all(r.base, NULL);
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    free(res);
    vg_buf_free(&failures);
    if (rate + 1e-9 < MIN_STABLE_PASS_RATE) {
        printf("FAIL: the stable files' pass rate %.1f%% is below %.1f%%\n", rate,
               MIN_STABLE_PASS_RATE);
        return 1;
    }
    return 0;
}
