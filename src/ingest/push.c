/* This file implements the Pushgateway API's store: grouping keys from the
 * URL path (with @base64 values), push bodies in text 0.0.4 or delimited
 * protobuf decoded into metric families the way Pushgateway 1.5 sees them,
 * PUT / POST / DELETE with its semantics and consistency checks, the
 * push_time_seconds and push_failure_time_seconds of each group, rendering
 * for a scraper and for Pushgateway's JSON API, a state file rewritten
 * atomically after each change, and the samples of each change appended to
 * the tsdb at push time (with stale markers for series that went away).
 *
 * The model mirrors Pushgateway's: a group holds metric families, a family
 * holds metrics, and a metric of a summary or histogram holds its
 * quantiles or buckets, so that what is rendered matches what Pushgateway
 * renders line for line. */
#include "ingest.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <xxhash.h>

#include "expfmt/expfmt.h"

/* Metric types numbered as in Prometheus's client_model protobuf. */
enum { PG_COUNTER = 0, PG_GAUGE = 1, PG_SUMMARY = 2, PG_UNTYPED = 3, PG_HISTOGRAM = 4 };

static const char *const pg_type_upper[] = {"COUNTER", "GAUGE", "SUMMARY", "UNTYPED", "HISTOGRAM"};
static const char *const pg_type_lower[] = {"counter", "gauge", "summary", "untyped", "histogram"};

#define PUSH_TIME_NAME "push_time_seconds"
#define PUSH_TIME_HELP "Last Unix time when changing this group in the Pushgateway succeeded."
#define PUSH_FAIL_NAME "push_failure_time_seconds"
#define PUSH_FAIL_HELP "Last Unix time when changing this group in the Pushgateway failed."

/* Bodies are capped by the web server; a gzip body may inflate to this. */
#define PUSH_MAX_INFLATED (256u << 20)
/* Prometheus's stale marker (a NaN PromQL reads as "series ended"). */
#define PUSH_STALE_NAN_BITS UINT64_C(0x7ff0000000000002)

#define STATE_VERSION 1
#define FLUSH_INTERVAL_MS 1000

/* --------------------------------------------------------------- model */

typedef struct pg_pair {
    char *name;
    char *value;
} pg_pair_t;

/* A bucket (upper bound, cumulative count) or a quantile (rank, value). */
typedef struct pg_point {
    double a, b;
} pg_point_t;

typedef struct pg_metric {
    pg_pair_t *labels; /* sorted by name once sanitised */
    size_t n_labels;
    double value; /* counter, gauge, untyped */
    double sum;
    uint64_t count;
    bool has_value, has_sum, has_count;
    pg_point_t *points;
    size_t n_points;
    bool has_ts;
} pg_metric_t;

typedef struct pg_family {
    char *name;
    char *help; /* NULL: no HELP line */
    int type;
    bool type_set;
    int64_t stamp_ns; /* when the family was pushed */
    pg_metric_t *metrics;
    size_t n_metrics, cap_metrics;
} pg_family_t;

typedef struct pg_group {
    pg_pair_t *labels; /* the grouping key, sorted by name, job included */
    size_t n_labels;
    char *key;          /* name 0xff value 0xff ... for lookups */
    pg_family_t **fams; /* sorted by name; never the push_* families */
    size_t n_fams;
    /* The two families Pushgateway adds to every group: their values
     * (0: the zero time) and when each was last set. */
    int64_t push_value_ns, push_stamp_ns;
    int64_t fail_value_ns, fail_stamp_ns;
} pg_group_t;

struct ingest_push {
    pthread_mutex_t lock; /* guards everything below but the writer's fields */
    char *state_path;
    pg_group_t **groups; /* sorted by key */
    size_t n_groups;
    int64_t last_append_ms; /* tsdb time of the last change, kept increasing */
    /* The state file is rewritten by a writer thread at most once per
     * FLUSH_INTERVAL_MS after a change (the samples themselves are in the
     * tsdb's WAL before the push is answered), and at ingest_push_free. */
    bool dirty, stop;
    pthread_cond_t wake;
    pthread_t writer;
    bool writer_started;
    pthread_mutex_t write_lock; /* one file write at a time */
};

static void pairs_free(pg_pair_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

static void metric_clear(pg_metric_t *m) {
    pairs_free(m->labels, m->n_labels);
    free(m->points);
}

static void family_free(pg_family_t *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n_metrics; i++)
        metric_clear(&f->metrics[i]);
    free(f->metrics);
    free(f->name);
    free(f->help);
    free(f);
}

static void group_free(pg_group_t *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n_fams; i++)
        family_free(g->fams[i]);
    free(g->fams);
    pairs_free(g->labels, g->n_labels);
    free(g->key);
    free(g);
}

static pg_family_t *family_new(const char *name, size_t len) {
    pg_family_t *f = vg_calloc(1, sizeof *f);
    f->name = vg_strndup(name, len);
    f->type = PG_UNTYPED;
    return f;
}

static pg_metric_t *family_add_metric(pg_family_t *f) {
    if (f->n_metrics == f->cap_metrics) {
        f->cap_metrics = f->cap_metrics ? f->cap_metrics * 2 : 4;
        f->metrics = vg_realloc(f->metrics, f->cap_metrics * sizeof *f->metrics);
    }
    pg_metric_t *m = &f->metrics[f->n_metrics++];
    memset(m, 0, sizeof *m);
    return m;
}

static void metric_add_point(pg_metric_t *m, double a, double b) {
    /* Grown one at a time: a metric has a handful of buckets. */
    m->points = vg_realloc(m->points, (m->n_points + 1) * sizeof *m->points);
    m->points[m->n_points].a = a;
    m->points[m->n_points].b = b;
    m->n_points++;
}

static void metric_add_label(pg_metric_t *m, const char *n, size_t nl, const char *v, size_t vl) {
    m->labels = vg_realloc(m->labels, (m->n_labels + 1) * sizeof *m->labels);
    m->labels[m->n_labels].name = vg_strndup(n, nl);
    m->labels[m->n_labels].value = vg_strndup(v, vl);
    m->n_labels++;
}

static int cmp_pair(const void *a, const void *b) {
    return strcmp(((const pg_pair_t *)a)->name, ((const pg_pair_t *)b)->name);
}

static int cmp_family_ptr(const void *a, const void *b) {
    return strcmp((*(pg_family_t *const *)a)->name, (*(pg_family_t *const *)b)->name);
}

/* Go's uint64(float64) for the values that make sense; the rest saturate. */
static uint64_t to_u64(double v) {
    if (!(v > 0)) return 0;
    if (v >= 18446744073709551615.0) return UINT64_MAX;
    return (uint64_t)v;
}

/* qsort that accepts an empty (possibly NULL) array. */
static void sort_n(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
    if (n > 1) qsort(base, n, size, cmp);
}

/* ------------------------------------------------------------ name map */

/* A small open-addressing map from a byte string to an index, so that a
 * body with many families or series is decoded in linear time. */
typedef struct strmap {
    uint64_t *hashes;
    char **keys;
    size_t *key_lens;
    size_t *vals;
    size_t cap, n;
} strmap_t;

static void strmap_free(strmap_t *m) {
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->hashes);
    free(m->keys);
    free(m->key_lens);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t *strmap_slot(strmap_t *m, const char *k, size_t len, bool insert, bool *found);

static void strmap_grow(strmap_t *m) {
    strmap_t old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->n = 0;
    m->hashes = vg_calloc(m->cap, sizeof *m->hashes);
    m->keys = vg_calloc(m->cap, sizeof *m->keys);
    m->key_lens = vg_calloc(m->cap, sizeof *m->key_lens);
    m->vals = vg_calloc(m->cap, sizeof *m->vals);
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.keys[i]) continue;
        bool f;
        *strmap_slot(m, old.keys[i], old.key_lens[i], true, &f) = old.vals[i];
    }
    strmap_free(&old);
}

/* The value slot of k; with insert, a new key gets a slot (found false). */
static size_t *strmap_slot(strmap_t *m, const char *k, size_t len, bool insert, bool *found) {
    *found = false;
    if (insert && (m->n + 1) * 2 > m->cap) strmap_grow(m);
    if (!m->cap) return NULL;
    uint64_t h = XXH3_64bits(k, len);
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) {
            if (!insert) return NULL;
            m->keys[i] = vg_strndup(k, len);
            m->key_lens[i] = len;
            m->hashes[i] = h;
            m->n++;
            return &m->vals[i];
        }
        if (m->hashes[i] == h && m->key_lens[i] == len && memcmp(m->keys[i], k, len) == 0) {
            *found = true;
            return &m->vals[i];
        }
    }
}

/* --------------------------------------------------------- grouping key */

void ingest_push_key_free(ingest_push_key_t *k) {
    for (size_t i = 0; i < k->n; i++) {
        free(k->names[i]);
        free(k->values[i]);
    }
    free(k->names);
    free(k->values);
    memset(k, 0, sizeof *k);
}

static int b64_digit(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* Go's base64.RawURLEncoding.DecodeString after trailing '=' are trimmed,
 * which is what Pushgateway does (not strict: stray low bits are fine).
 * Returns the bytes in *out (NUL-terminated, caller frees) and 0; on
 * failure VG_ERR_INPUT, Go's message ("illegal base64 data at input byte
 * N") in why and in *out what Go had decoded by then (whole quanta). */
static int b64_decode(const char *s, size_t len, char **out, char *why, size_t why_len) {
    while (len && s[len - 1] == '=')
        len--;
    char *o = vg_malloc(len * 3 / 4 + 2);
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int d = b64_digit((unsigned char)s[i]);
        if (d < 0 || (i == len - 1 && len % 4 == 1)) {
            snprintf(why, why_len, "illegal base64 data at input byte %zu", i);
            o[i / 4 * 3] = '\0';
            *out = o;
            return VG_ERR_INPUT;
        }
        acc = (acc << 6) | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    o[n] = '\0';
    *out = o;
    return VG_OK;
}

/* Appends s to b as Go's %q would (printable ASCII kept, the rest escaped). */
static void go_quote(vg_buf_t *b, const char *s, size_t len) {
    vg_buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            vg_buf_putc(b, '\\');
            vg_buf_putc(b, (char)c);
        } else if (c == '\n')
            vg_buf_puts(b, "\\n");
        else if (c == '\t')
            vg_buf_puts(b, "\\t");
        else if (c == '\r')
            vg_buf_puts(b, "\\r");
        else if (c < 0x20 || c == 0x7f)
            vg_buf_printf(b, "\\x%02x", c);
        else
            vg_buf_putc(b, (char)c);
    }
    vg_buf_putc(b, '"');
}

static int key_set(ingest_push_key_t *k, const char *name, size_t nl, char *value) {
    for (size_t i = 0; i < k->n; i++)
        if (strlen(k->names[i]) == nl && memcmp(k->names[i], name, nl) == 0) {
            free(k->values[i]); /* a later component wins, as in a Go map */
            k->values[i] = value;
            return VG_OK;
        }
    k->names = vg_realloc(k->names, (k->n + 1) * sizeof *k->names);
    k->values = vg_realloc(k->values, (k->n + 1) * sizeof *k->values);
    k->names[k->n] = vg_strndup(name, nl);
    k->values[k->n] = value;
    k->n++;
    return VG_OK;
}

static void key_sort(ingest_push_key_t *k) {
    for (size_t i = 1; i < k->n; i++)
        for (size_t j = i; j > 0 && strcmp(k->names[j - 1], k->names[j]) > 0; j--) {
            char *t = k->names[j];
            k->names[j] = k->names[j - 1];
            k->names[j - 1] = t;
            t = k->values[j];
            k->values[j] = k->values[j - 1];
            k->values[j - 1] = t;
        }
}

int ingest_push_key_parse(const char *path, ingest_push_key_t *out, vg_err_t *err) {
    memset(out, 0, sizeof *out);
    const char *p;
    bool job_b64;
    if (strncmp(path, "/metrics/job/", 13) == 0)
        p = path + 13, job_b64 = false;
    else if (strncmp(path, "/metrics/job@base64/", 20) == 0)
        p = path + 20, job_b64 = true;
    else
        return vg_err_set(err, VG_ERR_NOTFOUND, "404 page not found");
    const char *slash = strchr(p, '/');
    size_t job_len = slash ? (size_t)(slash - p) : strlen(p);
    const char *labels = slash ? slash : "";
    char why[96];
    char *job;
    vg_buf_t msg = VG_BUF_INIT;
    if (job_b64) {
        if (b64_decode(p, job_len, &job, why, sizeof why) != VG_OK) {
            /* Go quotes what it had decoded when it stopped. */
            vg_buf_puts(&msg, "invalid base64 encoding in job name ");
            go_quote(&msg, job, strlen(job));
            vg_buf_printf(&msg, ": %s", why);
            free(job);
            goto fail;
        }
    } else {
        job = vg_strndup(p, job_len);
    }
    /* splitLabels: "/n1/v1/n2/v2"; a lone "/" is no labels. */
    size_t llen = strlen(labels);
    if (llen > 1) {
        size_t n_comp = 1;
        for (size_t i = 1; i < llen; i++)
            n_comp += labels[i] == '/';
        if (n_comp % 2 != 0) {
            vg_buf_puts(&msg, "odd number of components in label string ");
            go_quote(&msg, labels, llen);
            free(job);
            goto fail;
        }
        const char *c = labels + 1;
        for (size_t i = 0; i < n_comp; i += 2) {
            const char *ne = strchr(c, '/');
            const char *v = ne + 1;
            const char *ve = strchr(v, '/');
            if (!ve) ve = labels + llen;
            size_t nl = (size_t)(ne - c), vl = (size_t)(ve - v);
            bool b64 = nl >= 7 && memcmp(c + nl - 7, "@base64", 7) == 0;
            size_t tl = b64 ? nl - 7 : nl;
            if (!labels_name_valid_legacy(c, tl) || (tl >= 2 && c[0] == '_' && c[1] == '_')) {
                vg_buf_puts(&msg, "improper label name ");
                go_quote(&msg, c, tl);
                free(job);
                goto fail;
            }
            char *value;
            if (b64) {
                if (b64_decode(v, vl, &value, why, sizeof why) != VG_OK) {
                    free(value);
                    vg_buf_printf(&msg, "invalid base64 encoding for label %.*s=", (int)tl, c);
                    go_quote(&msg, v, vl);
                    vg_buf_printf(&msg, ": %s", why);
                    free(job);
                    goto fail;
                }
            } else {
                value = vg_strndup(v, vl);
            }
            key_set(out, c, tl, value);
            c = ve + 1;
        }
    }
    if (!*job) {
        free(job);
        ingest_push_key_free(out);
        return vg_err_set(err, VG_ERR_INPUT, "job name is required");
    }
    key_set(out, "job", 3, job);
    key_sort(out);
    return VG_OK;
fail:
    ingest_push_key_free(out);
    vg_err_set(err, VG_ERR_INPUT, "%s", msg.data);
    vg_buf_free(&msg);
    return VG_ERR_INPUT;
}

/* ------------------------------------------------------- decoded bodies */

/* The families of one push body, by name. */
typedef struct pg_body {
    pg_family_t **fams;
    size_t n_fams, cap;
    strmap_t by_name;   /* family name -> index */
    strmap_t by_series; /* family index + labels -> metric index (summaries, histograms) */
} pg_body_t;

static void body_free(pg_body_t *b) {
    for (size_t i = 0; i < b->n_fams; i++)
        family_free(b->fams[i]);
    free(b->fams);
    strmap_free(&b->by_name);
    strmap_free(&b->by_series);
    memset(b, 0, sizeof *b);
}

static pg_family_t *body_find(pg_body_t *b, const char *name, size_t len) {
    bool found;
    size_t *v = strmap_slot(&b->by_name, name, len, false, &found);
    return v ? b->fams[*v] : NULL;
}

/* Adds a family, replacing one of the same name (the protobuf decoder
 * keeps the last family of a name, as Pushgateway's map does). */
static pg_family_t *body_put(pg_body_t *b, pg_family_t *f) {
    bool found;
    size_t *v = strmap_slot(&b->by_name, f->name, strlen(f->name), true, &found);
    if (found) {
        family_free(b->fams[*v]);
        b->fams[*v] = f;
        return f;
    }
    if (b->n_fams == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->fams = vg_realloc(b->fams, b->cap * sizeof *b->fams);
    }
    *v = b->n_fams;
    b->fams[b->n_fams++] = f;
    return f;
}

/* Drops families without metrics (as the text parser does) and sorts. */
static void body_finish(pg_body_t *b) {
    size_t o = 0;
    for (size_t i = 0; i < b->n_fams; i++) {
        if (b->fams[i]->n_metrics == 0)
            family_free(b->fams[i]);
        else
            b->fams[o++] = b->fams[i];
    }
    b->n_fams = o;
    sort_n(b->fams, b->n_fams, sizeof *b->fams, cmp_family_ptr);
    strmap_free(&b->by_name);
    strmap_free(&b->by_series);
}

/* ------------------------------------------------ text format (0.0.4) */

static int text_error(vg_err_t *err, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int text_error(vg_err_t *err, size_t line, const char *fmt, ...) {
    char what[VG_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return vg_err_set(err, VG_ERR_INPUT, "text format parsing error in line %zu: %s", line, what);
}

static bool has_suffix(const char *s, size_t len, const char *suf, size_t *base_len) {
    size_t sl = strlen(suf);
    if (len <= sl || memcmp(s + len - sl, suf, sl) != 0) return false;
    *base_len = len - sl;
    return true;
}

enum { ROLE_VALUE, ROLE_QUANTILE, ROLE_SUM, ROLE_COUNT, ROLE_BUCKET, ROLE_NONE };

/* Which family a sample belongs to, as the text parser of Prometheus's
 * client libraries decides: a family of that exact name, else a summary
 * it is the _sum/_count of, else a histogram it is the _bucket/_sum/_count
 * of, else a new untyped family. */
static pg_family_t *text_family_of(pg_body_t *b, const char *name, size_t len, int *role) {
    pg_family_t *f = body_find(b, name, len);
    size_t bl;
    if (f) {
        *role = f->type == PG_SUMMARY     ? ROLE_QUANTILE
                : f->type == PG_HISTOGRAM ? ROLE_NONE
                                          : ROLE_VALUE;
        return f;
    }
    int r = has_suffix(name, len, "_sum", &bl)      ? ROLE_SUM
            : has_suffix(name, len, "_count", &bl)  ? ROLE_COUNT
            : has_suffix(name, len, "_bucket", &bl) ? ROLE_BUCKET
                                                    : ROLE_NONE;
    if (r != ROLE_NONE && (f = body_find(b, name, bl)) &&
        (f->type == PG_HISTOGRAM || (f->type == PG_SUMMARY && r != ROLE_BUCKET))) {
        *role = r;
        return f;
    }
    *role = ROLE_VALUE;
    return body_put(b, family_new(name, len));
}

static bool parse_go_float(const char *s, size_t len, double *out) {
    char tmp[64];
    if (len == 0 || len >= sizeof tmp) return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (strcasecmp(tmp, "+Inf") == 0 || strcasecmp(tmp, "Inf") == 0) return *out = INFINITY, true;
    if (strcasecmp(tmp, "-Inf") == 0) return *out = -INFINITY, true;
    if (strcasecmp(tmp, "NaN") == 0) return *out = NAN, true;
    char *end;
    *out = strtod(tmp, &end);
    return *end == '\0';
}

static int text_sample(pg_body_t *b, const expfmt_parser_t *p, vg_err_t *err) {
    int role;
    pg_family_t *f = text_family_of(b, p->name.ptr, p->name.len, &role);
    if (!f->type_set) {
        f->type = PG_UNTYPED;
        f->type_set = true;
    }
    /* The special label of the role, pulled out of the label list. */
    const char *special = role == ROLE_QUANTILE ? "quantile" : role == ROLE_BUCKET ? "le" : NULL;
    double special_v = NAN;
    bool have_special = false;
    for (size_t i = 0; i < p->n_labels; i++) {
        const expfmt_label_ref_t *l = &p->labels[i];
        if (l->name.len == 8 && memcmp(l->name.ptr, "__name__", 8) == 0)
            return text_error(err, p->line, "label name \"__name__\" is reserved");
        /* Duplicate names were refused by the parser already. */
        if (special && l->name.len == strlen(special) &&
            memcmp(l->name.ptr, special, l->name.len) == 0) {
            if (!parse_go_float(l->value.ptr, l->value.len, &special_v))
                return text_error(err, p->line,
                                  "expected float as value for '%s' label, got \"%.*s\"", special,
                                  (int)l->value.len, l->value.ptr);
            have_special = true;
        }
    }
    pg_metric_t *m = NULL;
    bool complex = f->type == PG_SUMMARY || f->type == PG_HISTOGRAM;
    vg_buf_t sig = VG_BUF_INIT;
    if (complex) {
        /* Samples of one summary or histogram share a metric: keyed by the
         * family and the labels other than the special one. */
        vg_buf_printf(&sig, "%s", f->name);
        vg_buf_putc(&sig, '\0');
        for (size_t i = 0; i < p->n_labels; i++) {
            const expfmt_label_ref_t *l = &p->labels[i];
            if (special && l->name.len == strlen(special) &&
                memcmp(l->name.ptr, special, l->name.len) == 0)
                continue;
            vg_buf_append(&sig, l->name.ptr, l->name.len);
            vg_buf_putc(&sig, '\xff');
            vg_buf_append(&sig, l->value.ptr, l->value.len);
            vg_buf_putc(&sig, '\xff');
        }
        bool found;
        size_t *slot = strmap_slot(&b->by_series, sig.data, sig.len, true, &found);
        if (found)
            m = &f->metrics[*slot];
        else {
            m = family_add_metric(f);
            *slot = f->n_metrics - 1;
        }
        vg_buf_free(&sig);
        if (found) goto have_metric;
    } else {
        m = family_add_metric(f);
    }
    for (size_t i = 0; i < p->n_labels; i++) {
        const expfmt_label_ref_t *l = &p->labels[i];
        if (special && l->name.len == strlen(special) &&
            memcmp(l->name.ptr, special, l->name.len) == 0)
            continue;
        metric_add_label(m, l->name.ptr, l->name.len, l->value.ptr, l->value.len);
    }
have_metric:
    if (p->has_timestamp) m->has_ts = true;
    switch (role) {
    case ROLE_VALUE:
        m->value = p->value;
        m->has_value = true;
        break;
    case ROLE_QUANTILE:
        if (have_special) metric_add_point(m, special_v, p->value);
        break;
    case ROLE_BUCKET:
        if (have_special) metric_add_point(m, special_v, (double)to_u64(p->value));
        break;
    case ROLE_SUM:
        m->sum = p->value;
        m->has_sum = true;
        break;
    case ROLE_COUNT:
        m->count = to_u64(p->value);
        m->has_count = true;
        break;
    default: break;
    }
    return VG_OK;
}

static int text_type(expfmt_type_t t, int *out) {
    switch (t) {
    case EXPFMT_COUNTER: *out = PG_COUNTER; return VG_OK;
    case EXPFMT_GAUGE: *out = PG_GAUGE; return VG_OK;
    case EXPFMT_SUMMARY: *out = PG_SUMMARY; return VG_OK;
    case EXPFMT_UNTYPED: *out = PG_UNTYPED; return VG_OK;
    case EXPFMT_HISTOGRAM: *out = PG_HISTOGRAM; return VG_OK;
    default: return VG_ERR_INPUT;
    }
}

/* Words a parse error of vigil's parser the way the client libraries'
 * text parser words the common cases; the rest keep vigil's reason. */
static int text_parse_error(const char *data, size_t len, size_t line, const char *msg,
                            vg_err_t *err) {
    /* msg is "line L, column C: why in \"...\"". */
    const char *why = strstr(msg, ": ");
    why = why ? why + 2 : msg;
    size_t why_len = strlen(why);
    const char *in = strstr(why, " in \"");
    if (in) why_len = (size_t)(in - why);
    /* The metric name at the start of the line. */
    const char *ls = data;
    for (size_t l = 1; l < line && ls < data + len; l++) {
        const char *nl = memchr(ls, '\n', (size_t)(data + len - ls));
        ls = nl ? nl + 1 : data + len;
    }
    while (ls < data + len && (*ls == ' ' || *ls == '\t'))
        ls++;
    size_t nl = 0;
    while (ls + nl < data + len &&
           (labels_metric_name_valid_legacy(ls + nl, 1) || (nl && ls[nl] >= '0' && ls[nl] <= '9')))
        nl++;
    if (strncmp(why, "expected label name", 19) == 0 || strncmp(why, "empty label name", 16) == 0)
        return text_error(err, line, "invalid label name for metric \"%.*s\"", (int)nl, ls);
    if (strncmp(why, "duplicate label name", 20) == 0)
        return text_error(err, line, "duplicate label names for metric \"%.*s\"", (int)nl, ls);
    return text_error(err, line, "%.*s", (int)why_len, why);
}

static int decode_text(const char *data, size_t len, pg_body_t *b, vg_err_t *err) {
    /* The client libraries' parser wants a sample line to end with a
     * newline; a body cut after its last value is refused. */
    size_t last = len;
    while (last && data[last - 1] != '\n')
        last--;
    size_t k = last;
    while (k < len && (data[k] == ' ' || data[k] == '\t'))
        k++;
    if (k < len && data[k] != '#') {
        size_t line = 1;
        for (size_t i = 0; i < last; i++)
            line += data[i] == '\n';
        return text_error(err, line, "unexpected end of input stream");
    }
    expfmt_parser_t p;
    expfmt_parser_init(&p, data, len, EXPFMT_TEXT_004, 0);
    int rc = VG_OK;
    for (;;) {
        vg_err_t perr = {0};
        int e = expfmt_parser_next(&p, &perr);
        if (e < 0) {
            rc = text_parse_error(data, len, p.line, perr.msg, err);
            break;
        }
        if (e == EXPFMT_ENTRY_EOF) break;
        if (e == EXPFMT_ENTRY_HELP) {
            pg_family_t *f = body_find(b, p.name.ptr, p.name.len);
            if (!f) f = body_put(b, family_new(p.name.ptr, p.name.len));
            if (f->help) {
                rc = text_error(err, p.line, "second HELP line for metric name \"%s\"", f->name);
                break;
            }
            f->help = vg_strndup(p.text.ptr, p.text.len);
        } else if (e == EXPFMT_ENTRY_TYPE) {
            pg_family_t *f = body_find(b, p.name.ptr, p.name.len);
            if (!f) f = body_put(b, family_new(p.name.ptr, p.name.len));
            if (f->type_set) {
                rc = text_error(err, p.line,
                                "second TYPE line for metric name \"%s\", or TYPE reported after "
                                "samples",
                                f->name);
                break;
            }
            if (text_type(p.type, &f->type) != VG_OK) {
                rc = text_error(err, p.line, "unknown metric type \"%s\"",
                                expfmt_type_name(p.type, EXPFMT_OPENMETRICS));
                break;
            }
            f->type_set = true;
        } else if (e == EXPFMT_ENTRY_SAMPLE) {
            if ((rc = text_sample(b, &p, err)) != VG_OK) break;
        }
    }
    expfmt_parser_free(&p);
    return rc;
}

/* ----------------------------------------------- protobuf (delimited) */

/* A reader over a protobuf message: the client_model MetricFamily that
 * Prometheus's Go client pushes, length-delimited one after another. */
typedef struct pb {
    const uint8_t *p, *end;
} pb_t;

static int pb_varint(pb_t *r, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return VG_ERR_INPUT;
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return VG_OK;
        }
    }
    return VG_ERR_INPUT;
}

/* Reads the next field: its number, wire type and, for length-delimited
 * fields, the bytes; for varints the value; for fixed64 the 8 bytes. */
typedef struct pb_field {
    uint32_t num;
    int wire;
    uint64_t u;
    pb_t sub;
} pb_field_t;

static int pb_next(pb_t *r, pb_field_t *f) {
    uint64_t tag;
    if (pb_varint(r, &tag) != VG_OK) return VG_ERR_INPUT;
    f->num = (uint32_t)(tag >> 3);
    f->wire = (int)(tag & 7);
    switch (f->wire) {
    case 0: return pb_varint(r, &f->u);
    case 1:
        if (r->end - r->p < 8) return VG_ERR_INPUT;
        memcpy(&f->u, r->p, 8); /* little-endian hosts only, as the rest of vigil */
        r->p += 8;
        return VG_OK;
    case 2: {
        uint64_t n;
        if (pb_varint(r, &n) != VG_OK || n > (uint64_t)(r->end - r->p)) return VG_ERR_INPUT;
        f->sub.p = r->p;
        f->sub.end = r->p + n;
        r->p += n;
        return VG_OK;
    }
    case 5:
        if (r->end - r->p < 4) return VG_ERR_INPUT;
        r->p += 4;
        return VG_OK;
    default: return VG_ERR_INPUT;
    }
}

static double pb_double(const pb_field_t *f) {
    double d;
    memcpy(&d, &f->u, sizeof d);
    return d;
}

/* A value sub-message (Gauge, Counter, Untyped: field 1 is the value). */
static int pb_value(pb_t r, pg_metric_t *m) {
    pb_field_t f;
    while (r.p < r.end) {
        if (pb_next(&r, &f) != VG_OK) return VG_ERR_INPUT;
        if (f.num == 1 && f.wire == 1) {
            m->value = pb_double(&f);
            m->has_value = true;
        }
    }
    return VG_OK;
}

static int pb_pair(pb_t r, double *a, double *b, bool bucket) {
    pb_field_t f;
    while (r.p < r.end) {
        if (pb_next(&r, &f) != VG_OK) return VG_ERR_INPUT;
        /* Quantile: 1 quantile, 2 value. Bucket: 1 cumulative_count
         * (varint), 2 upper_bound, 4 cumulative_count_float. */
        if (bucket) {
            if (f.num == 1 && f.wire == 0)
                *b = (double)f.u;
            else if (f.num == 4 && f.wire == 1)
                *b = pb_double(&f);
            else if (f.num == 2 && f.wire == 1)
                *a = pb_double(&f);
        } else {
            if (f.num == 1 && f.wire == 1)
                *a = pb_double(&f);
            else if (f.num == 2 && f.wire == 1)
                *b = pb_double(&f);
        }
    }
    return VG_OK;
}

static int pb_complex(pb_t r, pg_metric_t *m, bool histogram) {
    pb_field_t f;
    while (r.p < r.end) {
        if (pb_next(&r, &f) != VG_OK) return VG_ERR_INPUT;
        if (f.num == 1 && f.wire == 0)
            m->count = f.u, m->has_count = true;
        else if (f.num == 2 && f.wire == 1)
            m->sum = pb_double(&f), m->has_sum = true;
        else if (f.num == 4 && f.wire == 1 && histogram)
            m->count = to_u64(pb_double(&f)), m->has_count = true;
        else if (f.num == 3 && f.wire == 2) {
            double a = 0, b = 0;
            if (pb_pair(f.sub, &a, &b, histogram) != VG_OK) return VG_ERR_INPUT;
            metric_add_point(m, a, b);
        }
    }
    return VG_OK;
}

static int pb_metric(pb_t r, pg_metric_t *m, int type) {
    pb_field_t f;
    while (r.p < r.end) {
        if (pb_next(&r, &f) != VG_OK) return VG_ERR_INPUT;
        if (f.wire == 2 && f.num == 1) {
            pb_t lr = f.sub;
            pb_field_t lf;
            pb_t name = {NULL, NULL}, value = {NULL, NULL};
            while (lr.p < lr.end) {
                if (pb_next(&lr, &lf) != VG_OK) return VG_ERR_INPUT;
                if (lf.num == 1 && lf.wire == 2)
                    name = lf.sub;
                else if (lf.num == 2 && lf.wire == 2)
                    value = lf.sub;
            }
            metric_add_label(m, (const char *)name.p, (size_t)(name.end - name.p),
                             (const char *)value.p, (size_t)(value.end - value.p));
        } else if (f.wire == 2 &&
                   ((f.num == 2 && type == PG_GAUGE) || (f.num == 3 && type == PG_COUNTER) ||
                    (f.num == 5 && type == PG_UNTYPED))) {
            if (pb_value(f.sub, m) != VG_OK) return VG_ERR_INPUT;
        } else if (f.wire == 2 && f.num == 4 && type == PG_SUMMARY) {
            if (pb_complex(f.sub, m, false) != VG_OK) return VG_ERR_INPUT;
        } else if (f.wire == 2 && f.num == 7 && type == PG_HISTOGRAM) {
            if (pb_complex(f.sub, m, true) != VG_OK) return VG_ERR_INPUT;
        } else if (f.num == 6 && f.wire == 0) {
            m->has_ts = true;
        }
    }
    return VG_OK;
}

static int pb_family(pb_t r, pg_body_t *b) {
    /* The type comes before the metrics in what clients write, but a
     * message may order fields freely: find it first. */
    int type = PG_COUNTER;
    pb_t scan = r;
    pb_field_t f;
    const uint8_t *name = NULL, *help = NULL;
    size_t name_len = 0, help_len = 0;
    bool has_help = false;
    while (scan.p < scan.end) {
        if (pb_next(&scan, &f) != VG_OK) return VG_ERR_INPUT;
        if (f.num == 1 && f.wire == 2)
            name = f.sub.p, name_len = (size_t)(f.sub.end - f.sub.p);
        else if (f.num == 2 && f.wire == 2)
            help = f.sub.p, help_len = (size_t)(f.sub.end - f.sub.p), has_help = true;
        else if (f.num == 3 && f.wire == 0)
            type = (int)f.u;
    }
    if (type < PG_COUNTER || type > PG_HISTOGRAM) type = PG_UNTYPED;
    pg_family_t *fam = family_new(name ? (const char *)name : "", name_len);
    if (has_help) fam->help = vg_strndup((const char *)help, help_len);
    fam->type = type;
    fam->type_set = true;
    while (r.p < r.end) {
        if (pb_next(&r, &f) != VG_OK) {
            family_free(fam);
            return VG_ERR_INPUT;
        }
        if (f.num == 4 && f.wire == 2 && pb_metric(f.sub, family_add_metric(fam), type) != VG_OK) {
            family_free(fam);
            return VG_ERR_INPUT;
        }
    }
    body_put(b, fam);
    return VG_OK;
}

static int decode_protobuf(const char *data, size_t len, pg_body_t *b, vg_err_t *err) {
    pb_t r = {(const uint8_t *)data, (const uint8_t *)data + len};
    while (r.p < r.end) {
        uint64_t n;
        if (pb_varint(&r, &n) != VG_OK || n > (uint64_t)(r.end - r.p))
            return vg_err_set(err, VG_ERR_INPUT, "unexpected EOF");
        pb_t msg = {r.p, r.p + n};
        r.p += n;
        if (pb_family(msg, b) != VG_OK)
            return vg_err_set(err, VG_ERR_INPUT, "proto: cannot parse invalid wire-format data");
    }
    return VG_OK;
}

/* Whether Content-Type names the delimited protobuf format, with the
 * parameters Pushgateway requires (mime.ParseMediaType's view). */
static bool is_protobuf(const char *ct) {
    if (!ct) return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "application/vnd.google.protobuf", 31) != 0) return false;
    const char *p = ct + 31;
    while (*p == ' ')
        p++;
    if (*p != ';' && *p != '\0') return false;
    bool enc = false, proto = false;
    while (*p == ';') {
        p++;
        while (*p == ' ')
            p++;
        const char *eq = strchr(p, '=');
        if (!eq) return false;
        const char *v = eq + 1;
        const char *e = strchr(v, ';');
        size_t vl = e ? (size_t)(e - v) : strlen(v);
        while (vl && v[vl - 1] == ' ')
            vl--;
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') v++, vl -= 2;
        size_t nl = (size_t)(eq - p);
        if (nl == 8 && strncasecmp(p, "encoding", 8) == 0)
            enc = vl == 9 && memcmp(v, "delimited", 9) == 0;
        if (nl == 5 && strncasecmp(p, "proto", 5) == 0)
            proto = vl == 33 && memcmp(v, "io.prometheus.client.MetricFamily", 33) == 0;
        p = e ? e : v + strlen(v);
    }
    return enc && proto;
}

/* --------------------------------------------------------- validation */

/* Pushgateway's sanitizeLabels: the grouping labels are set on every
 * metric (the URL wins over the body), an instance="" label is added when
 * there is none, and the labels are sorted. */
static void sanitize(pg_family_t *f, const pg_group_t *g) {
    for (size_t i = 0; i < f->n_metrics; i++) {
        pg_metric_t *m = &f->metrics[i];
        for (size_t k = 0; k < g->n_labels; k++) {
            bool done = false;
            for (size_t j = 0; j < m->n_labels; j++)
                if (strcmp(m->labels[j].name, g->labels[k].name) == 0) {
                    free(m->labels[j].value);
                    m->labels[j].value = vg_strdup(g->labels[k].value);
                    done = true;
                }
            if (!done)
                metric_add_label(m, g->labels[k].name, strlen(g->labels[k].name),
                                 g->labels[k].value, strlen(g->labels[k].value));
        }
        bool inst = false;
        for (size_t j = 0; j < m->n_labels; j++)
            inst |= strcmp(m->labels[j].name, "instance") == 0;
        if (!inst) metric_add_label(m, "instance", 8, "", 0);
        sort_n(m->labels, m->n_labels, sizeof *m->labels, cmp_pair);
    }
}

/* A double as Go's protobuf text format writes it. */
static void proto_float(vg_buf_t *b, double v) {
    if (isnan(v))
        vg_buf_puts(b, "nan");
    else if (isinf(v))
        vg_buf_puts(b, v > 0 ? "inf" : "-inf");
    else
        vg_buf_put_float(b, v);
}

static void proto_string(vg_buf_t *b, const char *s) {
    vg_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            vg_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            vg_buf_puts(b, "\\n");
        else if (*p < 0x20 || *p >= 0x7f)
            vg_buf_printf(b, "\\%03o", *p);
        else
            vg_buf_putc(b, (char)*p);
    }
    vg_buf_putc(b, '"');
}

/* A metric in the compact protobuf text form Pushgateway quotes in its
 * consistency errors: label:<name:"job" value:"x" > counter:<value:1 > */
static void proto_metric(vg_buf_t *b, const pg_family_t *f, const pg_metric_t *m) {
    for (size_t i = 0; i < m->n_labels; i++) {
        vg_buf_puts(b, "label:<name:");
        proto_string(b, m->labels[i].name);
        vg_buf_puts(b, " value:");
        proto_string(b, m->labels[i].value);
        vg_buf_puts(b, " > ");
    }
    if (f->type == PG_SUMMARY || f->type == PG_HISTOGRAM) {
        vg_buf_printf(b, "%s:<", f->type == PG_SUMMARY ? "summary" : "histogram");
        if (m->has_count) vg_buf_printf(b, "sample_count:%llu ", (unsigned long long)m->count);
        if (m->has_sum) {
            vg_buf_puts(b, "sample_sum:");
            proto_float(b, m->sum);
            vg_buf_putc(b, ' ');
        }
        for (size_t i = 0; i < m->n_points; i++) {
            if (f->type == PG_SUMMARY) {
                vg_buf_puts(b, "quantile:<quantile:");
                proto_float(b, m->points[i].a);
                vg_buf_puts(b, " value:");
                proto_float(b, m->points[i].b);
            } else {
                vg_buf_printf(b, "bucket:<cumulative_count:%llu upper_bound:",
                              (unsigned long long)to_u64(m->points[i].b));
                proto_float(b, m->points[i].a);
            }
            vg_buf_puts(b, " > ");
        }
        vg_buf_puts(b, "> ");
    } else {
        vg_buf_printf(b, "%s:<", pg_type_lower[f->type]);
        if (m->has_value) {
            vg_buf_puts(b, "value:");
            proto_float(b, m->value);
            vg_buf_putc(b, ' ');
        }
        vg_buf_puts(b, "> ");
    }
}

/* The errors of one gathering, worded as client_golang's MultiError. */
typedef struct errs {
    vg_buf_t list; /* "\n* " before each */
    vg_buf_t first;
    size_t n;
} errs_t;

static void metric_error(errs_t *e, const pg_family_t *f, const pg_metric_t *m, const char *what) {
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_puts(&b, "collected metric ");
    go_quote(&b, f->name, strlen(f->name));
    vg_buf_puts(&b, " { ");
    proto_metric(&b, f, m);
    vg_buf_printf(&b, "} %s", what);
    if (e->n == 0) vg_buf_append(&e->first, b.data, b.len);
    vg_buf_puts(&e->list, "\n* ");
    vg_buf_append(&e->list, b.data, b.len);
    e->n++;
    vg_buf_free(&b);
}

static int errs_finish(errs_t *e, vg_err_t *err) {
    int rc = VG_OK;
    static const char *const prefix =
        "pushed metrics are invalid or inconsistent with existing metrics: ";
    if (e->n == 1)
        rc = vg_err_set(err, VG_ERR_INPUT, "%s%s", prefix, e->first.data);
    else if (e->n > 1)
        rc =
            vg_err_set(err, VG_ERR_INPUT, "%s%zu error(s) occurred:%s", prefix, e->n, e->list.data);
    vg_buf_free(&e->list);
    vg_buf_free(&e->first);
    return rc;
}

static bool labels_same(const pg_metric_t *a, const pg_metric_t *b) {
    if (a->n_labels != b->n_labels) return false;
    for (size_t i = 0; i < a->n_labels; i++)
        if (strcmp(a->labels[i].name, b->labels[i].name) != 0 ||
            strcmp(a->labels[i].value, b->labels[i].value) != 0)
            return false;
    return true;
}

/* Whether metric m (of the group being pushed) could equal a metric of
 * group g: only if it carries all of g's grouping labels. */
static bool metric_may_be_in(const pg_metric_t *m, const pg_group_t *g) {
    size_t j = 0;
    for (size_t k = 0; k < g->n_labels; k++) {
        while (j < m->n_labels && strcmp(m->labels[j].name, g->labels[k].name) < 0)
            j++;
        if (j == m->n_labels || strcmp(m->labels[j].name, g->labels[k].name) != 0 ||
            strcmp(m->labels[j].value, g->labels[k].value) != 0)
            return false;
    }
    return true;
}

static pg_family_t *group_family(const pg_group_t *g, const char *name) {
    size_t lo = 0, hi = g->n_fams;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(g->fams[mid]->name, name);
        if (c == 0) return g->fams[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The checks of the gathering Pushgateway does on a trial copy of its
 * store: names and values valid, no metric twice (within the family or
 * across groups), one type per family name across groups. At most one
 * error per metric, as client_golang reports them. */
static void check_family(const ingest_push_t *p, const pg_group_t *self, const pg_family_t *f,
                         errs_t *e) {
    /* The type of the family as another group already has it. */
    int want = f->type;
    for (size_t gi = 0; gi < p->n_groups && want == f->type; gi++) {
        const pg_group_t *g = p->groups[gi];
        const pg_family_t *o = strcmp(g->key, self->key) ? group_family(g, f->name) : NULL;
        if (o) want = o->type;
    }
    vg_buf_t w = VG_BUF_INIT;
    for (size_t i = 0; i < f->n_metrics; i++) {
        const pg_metric_t *m = &f->metrics[i];
        vg_buf_reset(&w);
        if (!labels_metric_name_valid_legacy(f->name, strlen(f->name)))
            vg_buf_puts(&w, "has an invalid metric name");
        if (want != f->type) vg_buf_printf(&w, "is not a %s", pg_type_upper[want]);
        for (size_t j = 0; j < m->n_labels && !w.len; j++) {
            const char *n = m->labels[j].name, *v = m->labels[j].value;
            if (!labels_name_valid_legacy(n, strlen(n)) || (n[0] == '_' && n[1] == '_')) {
                vg_buf_printf(&w, "has a label with an invalid name: %s", n);
            } else if (j && strcmp(m->labels[j - 1].name, n) == 0) {
                vg_buf_printf(&w, "has two or more labels with the same name: %s", n);
            } else if (!labels_utf8_valid(v, strlen(v))) {
                vg_buf_puts(&w, "has a label named ");
                go_quote(&w, n, strlen(n));
                vg_buf_puts(&w, " whose value is not utf8: ");
                go_quote(&w, v, strlen(v));
            }
        }
        bool dup = false;
        for (size_t k = 0; k < i && !w.len && !dup; k++)
            dup = labels_same(&f->metrics[k], m);
        for (size_t gi = 0; gi < p->n_groups && !w.len && !dup; gi++) {
            const pg_group_t *g = p->groups[gi];
            if (strcmp(g->key, self->key) == 0 || !metric_may_be_in(m, g)) continue;
            const pg_family_t *o = group_family(g, f->name);
            for (size_t k = 0; o && k < o->n_metrics && !dup; k++)
                dup = labels_same(&o->metrics[k], m);
        }
        if (dup) vg_buf_puts(&w, "was collected before with the same name and label values");
        if (w.len) metric_error(e, f, m, w.data);
    }
    vg_buf_free(&w);
}

/* ------------------------------------------------------- tsdb samples */

typedef struct pg_series {
    labels_t *ls;
    double v;
} pg_series_t;

typedef struct series_vec {
    pg_series_t *v;
    size_t n, cap;
    labels_label_t *pairs;
    size_t pairs_cap;
    uint64_t invalid;
} series_vec_t;

static void series_vec_free(series_vec_t *s) {
    for (size_t i = 0; i < s->n; i++)
        labels_free(s->v[i].ls);
    free(s->v);
    free(s->pairs);
}

/* Adds name{labels, extra=extra_v} = v; labels with an empty value are
 * dropped (the store has no empty labels), an invalid set is counted. */
static void series_add(series_vec_t *s, const char *name, const char *suffix,
                       const pg_pair_t *labels, size_t n, const char *extra, double extra_v,
                       double v) {
    if (n + 2 > s->pairs_cap) {
        s->pairs_cap = n + 2;
        s->pairs = vg_realloc(s->pairs, s->pairs_cap * sizeof *s->pairs);
    }
    char full[1024];
    int fl = snprintf(full, sizeof full, "%s%s", name, suffix);
    if (fl < 0 || (size_t)fl >= sizeof full) {
        s->invalid++;
        return;
    }
    size_t k = 0;
    s->pairs[k++] = (labels_label_t){LABELS_METRIC_NAME, full, LABELS_METRIC_NAME_LEN, (size_t)fl};
    for (size_t i = 0; i < n; i++)
        s->pairs[k++] = (labels_label_t){labels[i].name, labels[i].value, strlen(labels[i].name),
                                         strlen(labels[i].value)};
    char ev[VG_FLOAT_MAX_LEN];
    if (extra) {
        size_t el = vg_format_float(extra_v, ev);
        s->pairs[k++] = (labels_label_t){extra, ev, strlen(extra), el};
    }
    labels_t *ls;
    if (labels_from_pairs(s->pairs, k, &ls, NULL) != VG_OK) {
        s->invalid++;
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = vg_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = (pg_series_t){ls, v};
}

static void family_series(series_vec_t *s, const pg_family_t *f) {
    for (size_t i = 0; i < f->n_metrics; i++) {
        const pg_metric_t *m = &f->metrics[i];
        if (f->type == PG_SUMMARY) {
            for (size_t q = 0; q < m->n_points; q++)
                series_add(s, f->name, "", m->labels, m->n_labels, "quantile", m->points[q].a,
                           m->points[q].b);
            series_add(s, f->name, "_sum", m->labels, m->n_labels, NULL, 0, m->sum);
            series_add(s, f->name, "_count", m->labels, m->n_labels, NULL, 0, (double)m->count);
        } else if (f->type == PG_HISTOGRAM) {
            bool inf = false;
            for (size_t q = 0; q < m->n_points; q++) {
                series_add(s, f->name, "_bucket", m->labels, m->n_labels, "le", m->points[q].a,
                           m->points[q].b);
                inf |= isinf(m->points[q].a) && m->points[q].a > 0;
            }
            if (!inf)
                series_add(s, f->name, "_bucket", m->labels, m->n_labels, "le", INFINITY,
                           (double)m->count);
            series_add(s, f->name, "_sum", m->labels, m->n_labels, NULL, 0, m->sum);
            series_add(s, f->name, "_count", m->labels, m->n_labels, NULL, 0, (double)m->count);
        } else {
            series_add(s, f->name, "", m->labels, m->n_labels, NULL, 0, m->value);
        }
    }
}

/* The labels of the push_* gauges: the grouping key plus instance="". */
static void group_gauge_labels(const pg_group_t *g, pg_metric_t *m) {
    memset(m, 0, sizeof *m);
    bool inst = false;
    for (size_t i = 0; i < g->n_labels; i++) {
        metric_add_label(m, g->labels[i].name, strlen(g->labels[i].name), g->labels[i].value,
                         strlen(g->labels[i].value));
        inst |= strcmp(g->labels[i].name, "instance") == 0;
    }
    if (!inst) metric_add_label(m, "instance", 8, "", 0);
    sort_n(m->labels, m->n_labels, sizeof *m->labels, cmp_pair);
}

static double ns_seconds(int64_t ns) { return ns ? (double)ns / 1e9 : 0; }

static void group_series(series_vec_t *s, const pg_group_t *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n_fams; i++)
        family_series(s, g->fams[i]);
    pg_metric_t m;
    group_gauge_labels(g, &m);
    series_add(s, PUSH_TIME_NAME, "", m.labels, m.n_labels, NULL, 0, ns_seconds(g->push_value_ns));
    series_add(s, PUSH_FAIL_NAME, "", m.labels, m.n_labels, NULL, 0, ns_seconds(g->fail_value_ns));
    metric_clear(&m);
}

static int cmp_series(const void *a, const void *b) {
    return labels_compare(((const pg_series_t *)a)->ls, ((const pg_series_t *)b)->ls);
}

/* Appends the series of the group's new state at t, and stale markers at
 * t for the series of its old state that are gone. Per-sample refusals
 * (out of order, duplicate) are skipped; only a WAL failure fails. */
static int append_change(tsdb_t *db, const pg_group_t *old, const pg_group_t *cur, int64_t t,
                         vg_err_t *err) {
    if (!db) return VG_OK;
    series_vec_t a = {0}, b = {0};
    group_series(&a, old);
    group_series(&b, cur);
    sort_n(a.v, a.n, sizeof *a.v, cmp_series);
    sort_n(b.v, b.n, sizeof *b.v, cmp_series);
    tsdb_appender_t *app = tsdb_appender_new(db);
    double stale;
    uint64_t bits = PUSH_STALE_NAN_BITS;
    memcpy(&stale, &bits, sizeof stale);
    size_t j = 0;
    for (size_t i = 0; i < b.n; i++) {
        uint64_t ref = 0;
        tsdb_appender_add(app, b.v[i].ls, &ref, t, b.v[i].v, NULL);
    }
    for (size_t i = 0; i < a.n; i++) {
        while (j < b.n && labels_compare(b.v[j].ls, a.v[i].ls) < 0)
            j++;
        if (j < b.n && labels_equal(b.v[j].ls, a.v[i].ls)) continue;
        uint64_t ref = 0;
        tsdb_appender_add(app, a.v[i].ls, &ref, t, stale, NULL);
    }
    int rc = tsdb_appender_commit(app, err);
    tsdb_appender_free(app);
    series_vec_free(&a);
    series_vec_free(&b);
    return rc;
}

/* --------------------------------------------------------- the store */

/* The index of the group with this key, or where it would go. */
static size_t group_find(const ingest_push_t *p, const char *key, bool *found) {
    size_t lo = 0, hi = p->n_groups;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(p->groups[mid]->key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* The group with this key, or NULL. */
static pg_group_t *group_get(const ingest_push_t *p, const char *key) {
    bool found;
    size_t i = group_find(p, key, &found);
    return found ? p->groups[i] : NULL;
}

static void group_insert(ingest_push_t *p, pg_group_t *g) {
    bool found;
    size_t at = group_find(p, g->key, &found);
    p->groups = vg_realloc(p->groups, (p->n_groups + 1) * sizeof *p->groups);
    memmove(p->groups + at + 1, p->groups + at, (p->n_groups - at) * sizeof *p->groups);
    p->groups[at] = g;
    p->n_groups++;
}

static void group_remove(ingest_push_t *p, pg_group_t *g) {
    for (size_t i = 0; i < p->n_groups; i++)
        if (p->groups[i] == g) {
            memmove(p->groups + i, p->groups + i + 1, (p->n_groups - i - 1) * sizeof *p->groups);
            p->n_groups--;
            return;
        }
}

static char *make_key(const pg_pair_t *labels, size_t n) {
    vg_buf_t b = VG_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (i) vg_buf_putc(&b, '\xff');
        vg_buf_puts(&b, labels[i].name);
        vg_buf_putc(&b, '\xff');
        vg_buf_puts(&b, labels[i].value);
    }
    return vg_buf_detach(&b);
}

static pg_group_t *group_new(const ingest_push_key_t *k) {
    pg_group_t *g = vg_calloc(1, sizeof *g);
    g->labels = vg_calloc(k->n ? k->n : 1, sizeof *g->labels);
    for (size_t i = 0; i < k->n; i++) {
        g->labels[i].name = vg_strdup(k->names[i]);
        g->labels[i].value = vg_strdup(k->values[i]);
    }
    g->n_labels = k->n;
    sort_n(g->labels, g->n_labels, sizeof *g->labels, cmp_pair);
    g->key = make_key(g->labels, g->n_labels);
    return g;
}

static int persist(ingest_push_t *p, vg_err_t *err);
static char *state_encode(ingest_push_t *p);

/* The tsdb time of a change: the push time in ms, but always after the
 * previous change so two pushes in one millisecond do not collide. */
static int64_t change_time(ingest_push_t *p, int64_t now_ns) {
    int64_t t = now_ns / 1000000;
    if (t <= p->last_append_ms) t = p->last_append_ms + 1;
    p->last_append_ms = t;
    return t;
}

ingest_push_t *ingest_push_open(const char *state_path, vg_err_t *err);

void ingest_push_free(ingest_push_t *p) {
    if (!p) return;
    if (p->writer_started) {
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->writer, NULL);
    }
    vg_err_t err = {0};
    if (ingest_push_flush(p, &err) != VG_OK)
        vg_log_error("Cannot write the pushed groups", "err", err.msg, NULL);
    for (size_t i = 0; i < p->n_groups; i++)
        group_free(p->groups[i]);
    free(p->groups);
    free(p->state_path);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->write_lock);
    pthread_cond_destroy(&p->wake);
    free(p);
}

size_t ingest_push_n_groups(ingest_push_t *p) {
    pthread_mutex_lock(&p->lock);
    size_t n = p->n_groups;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* Records a failed push: the group gets (or keeps) its push_* gauges and
 * a failure time, as Pushgateway's setPushFailedTimestamp. */
static int record_failure(ingest_push_t *p, tsdb_t *db, const ingest_push_key_t *k,
                          int64_t now_ns) {
    pg_group_t *tmp = group_new(k);
    pg_group_t *g = group_get(p, tmp->key);
    group_free(tmp);
    pg_group_t old = {0};
    bool existed = g != NULL;
    if (existed) {
        old = *g;
    } else {
        g = group_new(k);
        g->push_stamp_ns = now_ns;
        group_insert(p, g);
    }
    g->fail_value_ns = now_ns;
    g->fail_stamp_ns = now_ns;
    vg_err_t e = {0};
    int rc = append_change(db, existed ? &old : NULL, g, change_time(p, now_ns), &e);
    if (rc == VG_OK) rc = persist(p, &e);
    if (rc != VG_OK) vg_log_error("Cannot record a failed push", "err", e.msg, NULL);
    return rc;
}

int ingest_push_handle(ingest_push_t *p, tsdb_t *db, ingest_push_method_t method, const char *path,
                       const char *content_type, const char *content_encoding, const void *body,
                       size_t len, int64_t now_ns, vg_err_t *err) {
    ingest_push_key_t key;
    int rc = ingest_push_key_parse(path, &key, err);
    if (rc != VG_OK) return rc;
    if (!now_ns) now_ns = vg_time_now_ns();

    if (method == INGEST_PUSH_DELETE) {
        pthread_mutex_lock(&p->lock);
        pg_group_t *tmp = group_new(&key);
        pg_group_t *g = group_get(p, tmp->key);
        if (g) {
            rc = append_change(db, g, NULL, change_time(p, now_ns), err);
            if (rc == VG_OK) {
                group_remove(p, g);
                group_free(g);
                rc = persist(p, err);
            }
        }
        pthread_mutex_unlock(&p->lock);
        group_free(tmp);
        ingest_push_key_free(&key);
        return rc;
    }

    /* Decode outside the lock; the body is the caller's. */
    vg_buf_t inflated = VG_BUF_INIT;
    if (content_encoding && strcmp(content_encoding, "gzip") == 0) {
        vg_err_t zerr = {0};
        if (expfmt_gzip_inflate(body, len, PUSH_MAX_INFLATED, &inflated, &zerr) != VG_OK) {
            vg_buf_free(&inflated);
            ingest_push_key_free(&key);
            /* Go's gzip reader says this of a body that is not gzip. */
            return vg_err_set(err, VG_ERR_INPUT, "%s",
                              zerr.code == VG_ERR_LIMIT ? zerr.msg
                              : len == 0                ? "EOF"
                                                        : "unexpected EOF");
        }
        body = inflated.data ? inflated.data : "";
        len = inflated.len;
    }
    pg_body_t b = {0};
    rc = is_protobuf(content_type) ? decode_protobuf(body, len, &b, err)
                                   : decode_text(body, len, &b, err);
    vg_buf_free(&inflated);
    if (rc != VG_OK) {
        body_free(&b);
        ingest_push_key_free(&key);
        return rc;
    }
    body_finish(&b);

    pthread_mutex_lock(&p->lock);
    pg_group_t *fresh = group_new(&key);
    pg_group_t *old = group_get(p, fresh->key);
    bool has_ts = false;
    for (size_t i = 0; i < b.n_fams; i++)
        for (size_t j = 0; j < b.fams[i]->n_metrics; j++)
            has_ts |= b.fams[i]->metrics[j].has_ts;
    if (has_ts) {
        rc = vg_err_set(err, VG_ERR_INPUT,
                        "pushed metrics are invalid or inconsistent with existing metrics: pushed "
                        "metrics must not have timestamps");
    } else {
        /* The push_* families are Pushgateway's own: a pushed family of
         * that name is replaced by them. */
        size_t o = 0;
        for (size_t i = 0; i < b.n_fams; i++) {
            if (strcmp(b.fams[i]->name, PUSH_TIME_NAME) == 0 ||
                strcmp(b.fams[i]->name, PUSH_FAIL_NAME) == 0) {
                family_free(b.fams[i]);
                continue;
            }
            sanitize(b.fams[i], fresh);
            b.fams[o++] = b.fams[i];
        }
        b.n_fams = o;
        errs_t e = {0};
        for (size_t i = 0; i < b.n_fams; i++)
            check_family(p, fresh, b.fams[i], &e);
        rc = errs_finish(&e, err);
    }
    if (rc != VG_OK) {
        record_failure(p, db, &key, now_ns);
        pthread_mutex_unlock(&p->lock);
        group_free(fresh);
        body_free(&b);
        ingest_push_key_free(&key);
        return rc;
    }
    /* The new state: PUT keeps nothing, POST keeps the families whose
     * names were not pushed. */
    pg_family_t **fams = vg_calloc(b.n_fams + (old ? old->n_fams : 0) + 1, sizeof *fams);
    size_t n = 0;
    bool *kept = old ? vg_calloc(old->n_fams + 1, sizeof *kept) : NULL;
    if (old && method == INGEST_PUSH_POST)
        for (size_t i = 0; i < old->n_fams; i++) {
            bool pushed = false;
            for (size_t k = 0; k < b.n_fams && !pushed; k++)
                pushed = strcmp(b.fams[k]->name, old->fams[i]->name) == 0;
            if (!pushed) {
                fams[n++] = old->fams[i];
                kept[i] = true;
            }
        }
    for (size_t i = 0; i < b.n_fams; i++) {
        b.fams[i]->stamp_ns = now_ns;
        fams[n++] = b.fams[i];
    }
    sort_n(fams, n, sizeof *fams, cmp_family_ptr);
    pg_group_t next = old ? *old : *fresh;
    next.fams = fams;
    next.n_fams = n;
    next.push_value_ns = now_ns;
    next.push_stamp_ns = now_ns;
    if (!old) next.fail_value_ns = 0, next.fail_stamp_ns = now_ns;
    rc = append_change(db, old, &next, change_time(p, now_ns), err);
    if (rc != VG_OK) {
        /* Nothing changes: the sender gets a 500 and may retry. */
        free(fams);
        free(kept);
        pthread_mutex_unlock(&p->lock);
        group_free(fresh);
        body_free(&b);
        ingest_push_key_free(&key);
        return rc;
    }
    if (old) {
        for (size_t i = 0; i < old->n_fams; i++)
            if (!kept[i]) family_free(old->fams[i]);
        free(old->fams);
        *old = next;
        group_free(fresh);
    } else {
        free(fresh->fams);
        *fresh = next;
        group_insert(p, fresh);
    }
    free(kept);
    /* The families now belong to the group. */
    free(b.fams);
    b.fams = NULL;
    b.n_fams = 0;
    body_free(&b);
    rc = persist(p, err);
    pthread_mutex_unlock(&p->lock);
    ingest_push_key_free(&key);
    return rc;
}

/* ---------------------------------------------------------- rendering */

/* One family of the rendering: all groups' metrics of one name. */
typedef struct render_ref {
    const pg_family_t *f;
    const pg_metric_t *m;
} render_ref_t;

/* client_golang's metric order: fewer labels first, then label values
 * position by position. */
static int cmp_render(const void *a, const void *b) {
    const pg_metric_t *x = ((const render_ref_t *)a)->m, *y = ((const render_ref_t *)b)->m;
    if (x->n_labels != y->n_labels) return x->n_labels < y->n_labels ? -1 : 1;
    for (size_t i = 0; i < x->n_labels; i++) {
        int c = strcmp(x->labels[i].value, y->labels[i].value);
        if (c) return c;
    }
    return 0;
}

static void put_value(vg_buf_t *b, double v) {
    char f[VG_FLOAT_MAX_LEN];
    vg_format_float(v, f);
    vg_buf_puts(b, f);
}

static void put_sample(vg_buf_t *b, const char *name, const char *suffix, const pg_metric_t *m,
                       const char *extra, double extra_v, double v) {
    vg_buf_puts(b, name);
    vg_buf_puts(b, suffix);
    if (m->n_labels || extra) {
        vg_buf_putc(b, '{');
        for (size_t i = 0; i < m->n_labels; i++) {
            if (i) vg_buf_putc(b, ',');
            vg_buf_printf(b, "%s=\"", m->labels[i].name);
            expfmt_escape_label_value(b, m->labels[i].value);
            vg_buf_putc(b, '"');
        }
        if (extra) {
            if (m->n_labels) vg_buf_putc(b, ',');
            vg_buf_printf(b, "%s=\"", extra);
            put_value(b, extra_v);
            vg_buf_putc(b, '"');
        }
        vg_buf_putc(b, '}');
    }
    vg_buf_putc(b, ' ');
    put_value(b, v);
    vg_buf_putc(b, '\n');
}

static void render_family(vg_buf_t *b, const char *name, const char *help, int type,
                          render_ref_t *refs, size_t n) {
    sort_n(refs, n, sizeof *refs, cmp_render);
    if (help) {
        vg_buf_printf(b, "# HELP %s ", name);
        for (const char *s = help; *s; s++) {
            if (*s == '\\')
                vg_buf_puts(b, "\\\\");
            else if (*s == '\n')
                vg_buf_puts(b, "\\n");
            else
                vg_buf_putc(b, *s);
        }
        vg_buf_putc(b, '\n');
    }
    vg_buf_printf(b, "# TYPE %s %s\n", name, pg_type_lower[type]);
    for (size_t i = 0; i < n; i++) {
        const pg_metric_t *m = refs[i].m;
        if (type == PG_SUMMARY) {
            for (size_t q = 0; q < m->n_points; q++)
                put_sample(b, name, "", m, "quantile", m->points[q].a, m->points[q].b);
            put_sample(b, name, "_sum", m, NULL, 0, m->sum);
            put_sample(b, name, "_count", m, NULL, 0, (double)m->count);
        } else if (type == PG_HISTOGRAM) {
            bool inf = false;
            for (size_t q = 0; q < m->n_points; q++) {
                put_sample(b, name, "_bucket", m, "le", m->points[q].a, m->points[q].b);
                inf |= isinf(m->points[q].a) && m->points[q].a > 0;
            }
            if (!inf) put_sample(b, name, "_bucket", m, "le", INFINITY, (double)m->count);
            put_sample(b, name, "_sum", m, NULL, 0, m->sum);
            put_sample(b, name, "_count", m, NULL, 0, (double)m->count);
        } else {
            put_sample(b, name, "", m, NULL, 0, m->value);
        }
    }
}

static int cmp_cstr_ptr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void ingest_push_render(ingest_push_t *p, vg_buf_t *out) {
    pthread_mutex_lock(&p->lock);
    /* Every family name once, sorted; push_* sort among them. */
    size_t n_names = 0, cap = 16;
    const char **names = vg_malloc(cap * sizeof *names);
    for (size_t g = 0; g < p->n_groups; g++)
        for (size_t i = 0; i < p->groups[g]->n_fams; i++) {
            if (n_names == cap) names = vg_realloc(names, (cap *= 2) * sizeof *names);
            names[n_names++] = p->groups[g]->fams[i]->name;
        }
    if (p->n_groups) {
        if (n_names + 2 > cap) names = vg_realloc(names, (cap = n_names + 2) * sizeof *names);
        names[n_names++] = PUSH_TIME_NAME;
        names[n_names++] = PUSH_FAIL_NAME;
    }
    sort_n(names, n_names, sizeof *names, cmp_cstr_ptr);
    render_ref_t *refs = vg_malloc((p->n_groups + 1) * sizeof *refs);
    size_t refs_cap = p->n_groups + 1;
    pg_metric_t *gauges = vg_calloc(p->n_groups + 1, sizeof *gauges);
    for (size_t g = 0; g < p->n_groups; g++)
        group_gauge_labels(p->groups[g], &gauges[g]);
    for (size_t k = 0; k < n_names; k++) {
        if (k && strcmp(names[k], names[k - 1]) == 0) continue;
        const char *name = names[k];
        size_t n = 0;
        if (strcmp(name, PUSH_TIME_NAME) == 0 || strcmp(name, PUSH_FAIL_NAME) == 0) {
            bool fail = name[5] == 'f';
            for (size_t g = 0; g < p->n_groups; g++) {
                gauges[g].value =
                    ns_seconds(fail ? p->groups[g]->fail_value_ns : p->groups[g]->push_value_ns);
                refs[n++] = (render_ref_t){NULL, &gauges[g]};
            }
            render_family(out, name, fail ? PUSH_FAIL_HELP : PUSH_TIME_HELP, PG_GAUGE, refs, n);
            continue;
        }
        /* The first group (in key order) names the help and type. */
        const pg_family_t *first = NULL;
        for (size_t g = 0; g < p->n_groups; g++) {
            const pg_family_t *f = group_family(p->groups[g], name);
            if (!f) continue;
            if (!first) first = f;
            if (n + f->n_metrics > refs_cap) {
                refs_cap = (n + f->n_metrics) * 2;
                refs = vg_realloc(refs, refs_cap * sizeof *refs);
            }
            for (size_t i = 0; i < f->n_metrics; i++)
                refs[n++] = (render_ref_t){f, &f->metrics[i]};
        }
        render_family(out, name, first->help, first->type, refs, n);
    }
    for (size_t g = 0; g < p->n_groups; g++)
        metric_clear(&gauges[g]);
    free(gauges);
    free(refs);
    free(names);
    pthread_mutex_unlock(&p->lock);
}

/* ------------------------------------------------------------ JSON API */

static void json_str(vg_buf_t *b, const char *s) {
    vg_buf_putc(b, '"');
    vg_buf_put_json_escaped(b, s, strlen(s));
    vg_buf_putc(b, '"');
}

static void json_float_str(vg_buf_t *b, double v) {
    vg_buf_putc(b, '"');
    put_value(b, v);
    vg_buf_putc(b, '"');
}

static void json_time(vg_buf_t *b, int64_t ns) {
    /* Go's time.Time JSON: RFC 3339 with the nanoseconds trimmed of
     * trailing zeros. */
    time_t s = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    if (frac < 0) frac += 1000000000, s--;
    struct tm tm;
    gmtime_r(&s, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    vg_buf_printf(b, "\"%s", buf);
    if (frac) {
        char f[16];
        snprintf(f, sizeof f, "%09ld", frac);
        size_t l = 9;
        while (l && f[l - 1] == '0')
            l--;
        vg_buf_printf(b, ".%.*s", (int)l, f);
    }
    vg_buf_puts(b, "Z\"");
}

/* Go marshals a map[string]string with keys sorted. */
static void json_label_map(vg_buf_t *b, const pg_pair_t *l, size_t n) {
    vg_buf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i) vg_buf_putc(b, ',');
        json_str(b, l[i].name);
        vg_buf_putc(b, ':');
        json_str(b, l[i].value);
    }
    vg_buf_putc(b, '}');
}

static int cmp_point_key(const void *a, const void *b) {
    char x[VG_FLOAT_MAX_LEN], y[VG_FLOAT_MAX_LEN];
    vg_format_float(((const pg_point_t *)a)->a, x);
    vg_format_float(((const pg_point_t *)b)->a, y);
    return strcmp(x, y);
}

static void json_family(vg_buf_t *b, const char *name, int64_t stamp, int type, const char *help,
                        const pg_metric_t *ms, size_t n) {
    json_str(b, name);
    vg_buf_puts(b, ":{\"time_stamp\":");
    json_time(b, stamp);
    vg_buf_printf(b, ",\"type\":\"%s\"", pg_type_upper[type]);
    if (help && *help) {
        vg_buf_puts(b, ",\"help\":");
        json_str(b, help);
    }
    vg_buf_puts(b, ",\"metrics\":[");
    for (size_t i = 0; i < n; i++) {
        const pg_metric_t *m = &ms[i];
        if (i) vg_buf_putc(b, ',');
        vg_buf_putc(b, '{');
        if (type == PG_SUMMARY || type == PG_HISTOGRAM) {
            /* Keys sorted as Go sorts a map: buckets/count/labels/quantiles/sum. */
            pg_point_t *pts = vg_malloc((m->n_points + 1) * sizeof *pts);
            if (m->n_points) memcpy(pts, m->points, m->n_points * sizeof *pts);
            sort_n(pts, m->n_points, sizeof *pts, cmp_point_key);
            if (type == PG_HISTOGRAM) vg_buf_puts(b, "\"buckets\":{");
            for (size_t q = 0; type == PG_HISTOGRAM && q < m->n_points; q++) {
                if (q) vg_buf_putc(b, ',');
                json_float_str(b, pts[q].a);
                vg_buf_printf(b, ":\"%llu\"", (unsigned long long)to_u64(pts[q].b));
            }
            if (type == PG_HISTOGRAM) vg_buf_puts(b, "},");
            vg_buf_printf(b, "\"count\":\"%llu\",\"labels\":", (unsigned long long)m->count);
            json_label_map(b, m->labels, m->n_labels);
            if (type == PG_SUMMARY) {
                vg_buf_puts(b, ",\"quantiles\":{");
                for (size_t q = 0; q < m->n_points; q++) {
                    if (q) vg_buf_putc(b, ',');
                    json_float_str(b, pts[q].a);
                    vg_buf_putc(b, ':');
                    json_float_str(b, pts[q].b);
                }
                vg_buf_putc(b, '}');
            }
            vg_buf_puts(b, ",\"sum\":");
            json_float_str(b, m->sum);
            free(pts);
        } else {
            vg_buf_puts(b, "\"labels\":");
            json_label_map(b, m->labels, m->n_labels);
            vg_buf_puts(b, ",\"value\":");
            json_float_str(b, m->value);
        }
        vg_buf_putc(b, '}');
    }
    vg_buf_puts(b, "]}");
}

/* One key of a group's JSON object, for sorting them as Go does. */
typedef struct json_key {
    const char *name;
    const pg_family_t *f; /* NULL for the fixed keys */
} json_key_t;

static int cmp_json_key(const void *a, const void *b) {
    return strcmp(((const json_key_t *)a)->name, ((const json_key_t *)b)->name);
}

void ingest_push_render_json(ingest_push_t *p, vg_buf_t *out) {
    pthread_mutex_lock(&p->lock);
    vg_buf_puts(out, "{\"status\":\"success\",\"data\":[");
    for (size_t gi = 0; gi < p->n_groups; gi++) {
        const pg_group_t *g = p->groups[gi];
        if (gi) vg_buf_putc(out, ',');
        size_t nk = g->n_fams + 4;
        json_key_t *keys = vg_malloc(nk * sizeof *keys);
        size_t k = 0;
        for (size_t i = 0; i < g->n_fams; i++)
            keys[k++] = (json_key_t){g->fams[i]->name, g->fams[i]};
        keys[k++] = (json_key_t){"labels", NULL};
        keys[k++] = (json_key_t){"last_push_successful", NULL};
        keys[k++] = (json_key_t){PUSH_FAIL_NAME, NULL};
        keys[k++] = (json_key_t){PUSH_TIME_NAME, NULL};
        sort_n(keys, k, sizeof *keys, cmp_json_key);
        pg_metric_t gauge;
        group_gauge_labels(g, &gauge);
        vg_buf_putc(out, '{');
        for (size_t i = 0; i < k; i++) {
            if (i) vg_buf_putc(out, ',');
            const char *n = keys[i].name;
            if (keys[i].f) {
                const pg_family_t *f = keys[i].f;
                json_family(out, n, f->stamp_ns, f->type, f->help, f->metrics, f->n_metrics);
            } else if (strcmp(n, "labels") == 0) {
                vg_buf_puts(out, "\"labels\":");
                json_label_map(out, g->labels, g->n_labels);
            } else if (strcmp(n, "last_push_successful") == 0) {
                /* Pushgateway: the push time is not before the failure time. */
                vg_buf_printf(out, "\"last_push_successful\":%s",
                              g->push_value_ns >= g->fail_value_ns ? "true" : "false");
            } else {
                bool fail = strcmp(n, PUSH_FAIL_NAME) == 0;
                gauge.value = ns_seconds(fail ? g->fail_value_ns : g->push_value_ns);
                json_family(out, n, fail ? g->fail_stamp_ns : g->push_stamp_ns, PG_GAUGE,
                            fail ? PUSH_FAIL_HELP : PUSH_TIME_HELP, &gauge, 1);
            }
        }
        vg_buf_putc(out, '}');
        metric_clear(&gauge);
        free(keys);
    }
    vg_buf_puts(out, "]}");
    pthread_mutex_unlock(&p->lock);
}

/* --------------------------------------------------------- persistence */

/* The state file is JSON (see docs/push-and-import.md): a version, the
 * last tsdb time used, and every group with its families as they would be
 * rendered. Floats are strings so NaN and infinities survive. */

static json_t *pairs_json(const pg_pair_t *l, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("[ss]", l[i].name, l[i].value));
    return a;
}

static json_t *float_json(double v) {
    char f[VG_FLOAT_MAX_LEN];
    vg_format_float(v, f);
    return json_string(f);
}

static json_t *family_json(const pg_family_t *f) {
    json_t *o = json_pack("{s:s,s:i,s:I}", "name", f->name, "type", f->type, "stamp_ns",
                          (json_int_t)f->stamp_ns);
    if (f->help) json_object_set_new(o, "help", json_string(f->help));
    json_t *ms = json_array();
    for (size_t i = 0; i < f->n_metrics; i++) {
        const pg_metric_t *m = &f->metrics[i];
        json_t *mo = json_object();
        json_object_set_new(mo, "labels", pairs_json(m->labels, m->n_labels));
        json_object_set_new(mo, "value", float_json(m->value));
        json_object_set_new(mo, "sum", float_json(m->sum));
        json_object_set_new(mo, "count", json_integer((json_int_t)m->count));
        json_t *pts = json_array();
        for (size_t k = 0; k < m->n_points; k++)
            json_array_append_new(
                pts, json_pack("[oo]", float_json(m->points[k].a), float_json(m->points[k].b)));
        json_object_set_new(mo, "points", pts);
        unsigned flags = (m->has_value ? 1u : 0) | (m->has_sum ? 2u : 0) | (m->has_count ? 4u : 0);
        json_object_set_new(mo, "flags", json_integer(flags));
        json_array_append_new(ms, mo);
    }
    json_object_set_new(o, "metrics", ms);
    return o;
}

/* The state as JSON text (caller frees); called with the lock held. */
static char *state_encode(ingest_push_t *p) {
    json_t *root = json_pack("{s:i,s:I}", "version", STATE_VERSION, "last_append_ms",
                             (json_int_t)p->last_append_ms);
    json_t *groups = json_array();
    for (size_t i = 0; i < p->n_groups; i++) {
        const pg_group_t *g = p->groups[i];
        json_t *go =
            json_pack("{s:o,s:I,s:I,s:I,s:I}", "labels", pairs_json(g->labels, g->n_labels),
                      "push_value_ns", (json_int_t)g->push_value_ns, "push_stamp_ns",
                      (json_int_t)g->push_stamp_ns, "fail_value_ns", (json_int_t)g->fail_value_ns,
                      "fail_stamp_ns", (json_int_t)g->fail_stamp_ns);
        json_t *fams = json_array();
        for (size_t k = 0; k < g->n_fams; k++)
            json_array_append_new(fams, family_json(g->fams[k]));
        json_object_set_new(go, "families", fams);
        json_array_append_new(groups, go);
    }
    json_object_set_new(root, "groups", groups);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

/* Marks the state changed; called with the lock held. Never fails: the
 * writer thread retries a failed write. */
static int persist(ingest_push_t *p, vg_err_t *err) {
    (void)err;
    p->dirty = true;
    return VG_OK;
}

int ingest_push_flush(ingest_push_t *p, vg_err_t *err) {
    if (!p->state_path) return VG_OK;
    pthread_mutex_lock(&p->write_lock);
    pthread_mutex_lock(&p->lock);
    char *text = p->dirty ? state_encode(p) : NULL;
    p->dirty = false;
    pthread_mutex_unlock(&p->lock);
    int rc = VG_OK;
    if (text) {
        rc = vg_file_write_atomic(p->state_path, text, strlen(text), err);
        if (rc != VG_OK) {
            pthread_mutex_lock(&p->lock);
            p->dirty = true; /* try again later */
            pthread_mutex_unlock(&p->lock);
        }
    }
    free(text);
    pthread_mutex_unlock(&p->write_lock);
    return rc;
}

static void *writer_main(void *arg) {
    ingest_push_t *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)FLUSH_INTERVAL_MS * 1000000;
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&p->wake, &p->lock, &ts);
        if (!p->dirty || p->stop) continue;
        pthread_mutex_unlock(&p->lock);
        vg_err_t err = {0};
        if (ingest_push_flush(p, &err) != VG_OK)
            vg_log_error("Cannot write the pushed groups", "err", err.msg, NULL);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static bool pairs_from_json(json_t *a, pg_pair_t **out, size_t *out_n) {
    if (!json_is_array(a)) return false;
    size_t n = json_array_size(a);
    pg_pair_t *l = vg_calloc(n + 1, sizeof *l);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(a, i);
        const char *name = json_string_value(json_array_get(e, 0));
        const char *value = json_string_value(json_array_get(e, 1));
        if (!name || !value) {
            pairs_free(l, i);
            return false;
        }
        l[i].name = vg_strdup(name);
        l[i].value = vg_strdup(value);
    }
    *out = l;
    *out_n = n;
    return true;
}

static double float_from_json(json_t *v) {
    const char *s = json_string_value(v);
    double d = 0;
    if (s) parse_go_float(s, strlen(s), &d);
    return d;
}

static pg_family_t *family_from_json(json_t *o) {
    const char *name = json_string_value(json_object_get(o, "name"));
    json_t *ms = json_object_get(o, "metrics");
    if (!name || !json_is_array(ms)) return NULL;
    pg_family_t *f = family_new(name, strlen(name));
    const char *help = json_string_value(json_object_get(o, "help"));
    if (help) f->help = vg_strdup(help);
    f->type = (int)json_integer_value(json_object_get(o, "type"));
    if (f->type < PG_COUNTER || f->type > PG_HISTOGRAM) f->type = PG_UNTYPED;
    f->type_set = true;
    f->stamp_ns = json_integer_value(json_object_get(o, "stamp_ns"));
    for (size_t i = 0; i < json_array_size(ms); i++) {
        json_t *mo = json_array_get(ms, i);
        pg_metric_t *m = family_add_metric(f);
        if (!pairs_from_json(json_object_get(mo, "labels"), &m->labels, &m->n_labels)) {
            family_free(f);
            return NULL;
        }
        m->value = float_from_json(json_object_get(mo, "value"));
        m->sum = float_from_json(json_object_get(mo, "sum"));
        m->count = (uint64_t)json_integer_value(json_object_get(mo, "count"));
        json_int_t flags = json_integer_value(json_object_get(mo, "flags"));
        m->has_value = flags & 1, m->has_sum = flags & 2, m->has_count = flags & 4;
        json_t *pts = json_object_get(mo, "points");
        for (size_t k = 0; k < json_array_size(pts); k++) {
            json_t *pt = json_array_get(pts, k);
            metric_add_point(m, float_from_json(json_array_get(pt, 0)),
                             float_from_json(json_array_get(pt, 1)));
        }
    }
    return f;
}

static int load(ingest_push_t *p, vg_err_t *err) {
    char *data;
    size_t len;
    vg_err_t rerr = {0};
    if (vg_file_read_all(p->state_path, (size_t)1 << 31, &data, &len, &rerr) != VG_OK) {
        FILE *f = fopen(p->state_path, "r");
        if (!f) return VG_OK; /* no file yet: an empty store */
        fclose(f);
        return vg_err_set(err, rerr.code, "%s", rerr.msg);
    }
    json_error_t je;
    json_t *root = json_loadb(data, len, 0, &je);
    free(data);
    if (!root || json_integer_value(json_object_get(root, "version")) != STATE_VERSION) {
        json_decref(root);
        return vg_err_set(err, VG_ERR_INPUT, "%s: not a pushgateway state file of version %d",
                          p->state_path, STATE_VERSION);
    }
    p->last_append_ms = json_integer_value(json_object_get(root, "last_append_ms"));
    json_t *groups = json_object_get(root, "groups");
    for (size_t i = 0; i < json_array_size(groups); i++) {
        json_t *go = json_array_get(groups, i);
        pg_group_t *g = vg_calloc(1, sizeof *g);
        if (!pairs_from_json(json_object_get(go, "labels"), &g->labels, &g->n_labels)) {
            free(g);
            continue;
        }
        sort_n(g->labels, g->n_labels, sizeof *g->labels, cmp_pair);
        g->key = make_key(g->labels, g->n_labels);
        g->push_value_ns = json_integer_value(json_object_get(go, "push_value_ns"));
        g->push_stamp_ns = json_integer_value(json_object_get(go, "push_stamp_ns"));
        g->fail_value_ns = json_integer_value(json_object_get(go, "fail_value_ns"));
        g->fail_stamp_ns = json_integer_value(json_object_get(go, "fail_stamp_ns"));
        json_t *fams = json_object_get(go, "families");
        g->fams = vg_calloc(json_array_size(fams) + 1, sizeof *g->fams);
        for (size_t k = 0; k < json_array_size(fams); k++) {
            pg_family_t *f = family_from_json(json_array_get(fams, k));
            if (f) g->fams[g->n_fams++] = f;
        }
        sort_n(g->fams, g->n_fams, sizeof *g->fams, cmp_family_ptr);
        bool found;
        group_find(p, g->key, &found);
        if (found)
            group_free(g);
        else
            group_insert(p, g);
    }
    json_decref(root);
    return VG_OK;
}

ingest_push_t *ingest_push_open(const char *state_path, vg_err_t *err) {
    ingest_push_t *p = vg_calloc(1, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->write_lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (state_path) {
        p->state_path = vg_strdup(state_path);
        if (load(p, err) != VG_OK) {
            ingest_push_free(p);
            return NULL;
        }
        if (pthread_create(&p->writer, NULL, writer_main, p) == 0) {
            p->writer_started = true;
            pthread_setname_np(p->writer, "push-writer");
        }
    }
    return p;
}

int ingest_push_wipe(ingest_push_t *p, tsdb_t *db, vg_err_t *err) {
    pthread_mutex_lock(&p->lock);
    int rc = VG_OK;
    while (p->n_groups && rc == VG_OK) {
        pg_group_t *g = p->groups[p->n_groups - 1];
        rc = append_change(db, g, NULL, change_time(p, vg_time_now_ns()), err);
        if (rc == VG_OK) {
            p->n_groups--;
            group_free(g);
        }
    }
    if (rc == VG_OK) rc = persist(p, err);
    pthread_mutex_unlock(&p->lock);
    return rc;
}
