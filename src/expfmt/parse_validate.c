/* This file implements the OpenMetrics 1.0 validator that runs behind the
 * parser with EXPFMT_PARSE_VALIDATE: the rules of the specification that
 * the grammar alone does not express. It follows entries as they come and
 * keeps one open family at a time:
 *
 *  - metadata: HELP, TYPE and UNIT at most once per family and before its
 *    samples; a unit must be a suffix ("_unit") of the name and is not
 *    allowed on info and stateset;
 *  - families: a sample whose name is not the open family's name plus a
 *    suffix its type allows starts a new, untyped family; every family
 *    claims its name with each suffix of its type, and a second claim on a
 *    name is an error, which rejects repeated, interleaved and clashing
 *    families;
 *  - groups: the samples of one label set (less "le", "quantile" or the
 *    stateset label) are contiguous; within a group timestamps are all
 *    present or all absent and never go backwards (except for info);
 *  - values: counter-like samples (_total, _sum, _count, _bucket, _gcount)
 *    are neither NaN nor negative, _gsum not NaN, buckets and counts are
 *    integers, info is 1, stateset 0 or 1, quantiles are 0..1 and their
 *    values not negative;
 *  - histograms: per group and timestamp, buckets ascend in "le" and in
 *    value, a canonical "+Inf" bucket ends them and equals _count, _sum and
 *    _count (or _gsum and _gcount) come together, _sum is absent when there
 *    are negative buckets and _gsum is negative only when they exist;
 *  - exemplars only on histogram buckets and counter _total samples, with
 *    at most 128 code points of label names and values.
 *
 * Label sets are compared through a 64-bit order-independent hash. */
#include "parse_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- hashing */

#define FNV_OFFSET 1469598103934665603ull

/* FNV-1a, continuing from h (FNV_OFFSET to start). */
static uint64_t hash_bytes(const char *s, size_t n, uint64_t h) {
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* A set of 64-bit keys (0 is mapped to 1) with open addressing. */
typedef struct u64set {
    uint64_t *slots;
    size_t cap, n;
} u64set_t;

static bool u64set_has(const u64set_t *s, uint64_t k) {
    if (!s->cap) return false;
    k = k ? k : 1;
    for (size_t i = (size_t)mix64(k) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slots[i] == k) return true;
        if (s->slots[i] == 0) return false;
    }
}

static void u64set_add(u64set_t *s, uint64_t k) {
    k = k ? k : 1;
    if ((s->n + 1) * 2 > s->cap) {
        u64set_t g = {vg_calloc(s->cap ? s->cap * 2 : 16, sizeof(uint64_t)),
                      s->cap ? s->cap * 2 : 16, 0};
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i]) u64set_add(&g, s->slots[i]);
        free(s->slots);
        *s = g;
    }
    for (size_t i = (size_t)mix64(k) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slots[i] == k) return;
        if (s->slots[i] == 0) {
            s->slots[i] = k;
            s->n++;
            return;
        }
    }
}

static void u64set_clear(u64set_t *s) {
    if (s->n) memset(s->slots, 0, s->cap * sizeof *s->slots);
    s->n = 0;
}

/* A set of strings kept in one buffer; slots hold offsets into it. */
typedef struct strslot {
    uint64_t hash;
    size_t off, len; /* len + 1 so that 0 marks an empty slot */
} strslot_t;

typedef struct strset {
    vg_buf_t bytes;
    strslot_t *slots;
    size_t cap, n;
} strset_t;

/* Adds a+b (two pieces, to join a name and a suffix without copying);
 * returns false when the string was already there. */
static bool strset_add(strset_t *s, const char *a, size_t an, const char *b, size_t bn) {
    uint64_t h = hash_bytes(b, bn, hash_bytes(a, an, FNV_OFFSET));
    if (s->cap) {
        for (size_t i = (size_t)mix64(h) & (s->cap - 1); s->slots[i].len;
             i = (i + 1) & (s->cap - 1)) {
            const strslot_t *sl = &s->slots[i];
            const char *str = s->bytes.data + sl->off;
            if (sl->hash == h && sl->len - 1 == an + bn && memcmp(str, a, an) == 0 &&
                memcmp(str + an, b, bn) == 0)
                return false;
        }
    }
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        strslot_t *slots = vg_calloc(cap, sizeof *slots);
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i].len) continue;
            size_t j = (size_t)mix64(s->slots[i].hash) & (cap - 1);
            while (slots[j].len)
                j = (j + 1) & (cap - 1);
            slots[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    size_t off = s->bytes.len;
    vg_buf_append(&s->bytes, a, an);
    vg_buf_append(&s->bytes, b, bn);
    size_t i = (size_t)mix64(h) & (s->cap - 1);
    while (s->slots[i].len)
        i = (i + 1) & (s->cap - 1);
    s->slots[i] = (strslot_t){h, off, an + bn + 1};
    s->n++;
    return true;
}

static void strset_clear(strset_t *s) {
    vg_buf_reset(&s->bytes);
    if (s->n) memset(s->slots, 0, s->cap * sizeof *s->slots);
    s->n = 0;
}

/* -------------------------------------------------------------- the state */

struct expfmt_validator {
    size_t line; /* of the entry being checked */

    /* The open family. */
    bool active;
    vg_buf_t name;
    expfmt_type_t type;
    bool has_type, has_help, has_unit, has_samples;
    vg_buf_t unit;

    /* Label groups of the open family. */
    u64set_t groups;
    bool has_group;
    uint64_t group;
    bool group_has_ts;
    double group_ts;

    /* The histogram group being summed up (label group and timestamp). */
    bool h_open;
    uint64_t h_group;
    bool h_has_ts;
    double h_ts;
    bool h_has_count, h_has_bucket, h_neg_buckets, h_sum, h_gsum, h_neg_gsum;
    double h_count, h_bucket, h_value;

    /* Every name claimed by a family so far. */
    strset_t seen;
};

struct expfmt_validator *expfmt_validator_new(void) {
    return vg_calloc(1, sizeof(struct expfmt_validator));
}

void expfmt_validator_reset(struct expfmt_validator *v) {
    v->active = false;
    v->h_open = false;
    u64set_clear(&v->groups);
    strset_clear(&v->seen);
}

void expfmt_validator_free(struct expfmt_validator *v) {
    vg_buf_free(&v->name);
    vg_buf_free(&v->unit);
    free(v->groups.slots);
    free(v->seen.slots);
    vg_buf_free(&v->seen.bytes);
    free(v);
}

static int verr(struct expfmt_validator *v, vg_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int verr(struct expfmt_validator *v, vg_err_t *err, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vg_err_set(err, VG_ERR_INPUT, "line %zu: %s", v->line, msg);
}

#define NAME_ARG(v) (int)((v)->name.len > 200 ? 200 : (v)->name.len), (v)->name.data

/* The sample suffixes each type allows, "" being the bare family name. */
static const char *const *type_suffixes(expfmt_type_t t) {
    static const char *const counter[] = {"_total", "_created", NULL};
    static const char *const summary[] = {"", "_count", "_sum", "_created", NULL};
    static const char *const histogram[] = {"_count", "_sum", "_bucket", "_created", NULL};
    static const char *const gaugehistogram[] = {"_gcount", "_gsum", "_bucket", NULL};
    static const char *const info[] = {"_info", NULL};
    static const char *const plain[] = {"", NULL};
    switch (t) {
    case EXPFMT_COUNTER: return counter;
    case EXPFMT_SUMMARY: return summary;
    case EXPFMT_HISTOGRAM: return histogram;
    case EXPFMT_GAUGEHISTOGRAM: return gaugehistogram;
    case EXPFMT_INFO: return info;
    default: return plain;
    }
}

static bool is_histogram(expfmt_type_t t) {
    return t == EXPFMT_HISTOGRAM || t == EXPFMT_GAUGEHISTOGRAM;
}

static bool str_is(const char *s, size_t n, const char *lit) {
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static int histogram_close(struct expfmt_validator *v, vg_err_t *err) {
    if (!v->h_open) return 0;
    v->h_open = false;
    if (!v->h_has_bucket || !isinf(v->h_bucket) || v->h_bucket < 0)
        return verr(v, err, "histogram \"%.*s\" has no +Inf bucket", NAME_ARG(v));
    if (v->h_has_count && v->h_value != v->h_count)
        return verr(v, err, "histogram \"%.*s\": count does not match the +Inf bucket",
                    NAME_ARG(v));
    if (v->h_sum && !v->h_has_count)
        return verr(v, err, "histogram \"%.*s\" has _sum but no _count", NAME_ARG(v));
    if (v->h_gsum && !v->h_has_count)
        return verr(v, err, "gauge histogram \"%.*s\" has _gsum but no _gcount", NAME_ARG(v));
    if (!v->h_sum && !v->h_gsum && v->h_has_count)
        return verr(v, err, "histogram \"%.*s\" has a count but no sum", NAME_ARG(v));
    if (v->h_neg_buckets && v->h_sum)
        return verr(v, err, "histogram \"%.*s\" has _sum with negative buckets", NAME_ARG(v));
    if (!v->h_neg_buckets && v->h_neg_gsum)
        return verr(v, err,
                    "gauge histogram \"%.*s\" has a negative _gsum without negative buckets",
                    NAME_ARG(v));
    return 0;
}

/* Closes the open family: claims its names, checks its unit and its last
 * histogram group. */
static int family_close(struct expfmt_validator *v, vg_err_t *err) {
    if (!v->active) return 0;
    v->active = false;
    for (const char *const *sfx = type_suffixes(v->type); *sfx; sfx++) {
        if (!**sfx) continue; /* the bare name was claimed when the family opened */
        if (!strset_add(&v->seen, v->name.data, v->name.len, *sfx, strlen(*sfx)))
            return verr(v, err,
                        "metric family \"%.*s%s\" clashes with an earlier one (families "
                        "must not repeat or interleave)",
                        NAME_ARG(v), *sfx);
    }
    if (v->unit.len) {
        if (v->name.len < v->unit.len + 1 ||
            memcmp(v->name.data + v->name.len - v->unit.len, v->unit.data, v->unit.len) != 0 ||
            v->name.data[v->name.len - v->unit.len - 1] != '_')
            return verr(v, err, "unit \"%s\" is not a suffix of \"%.*s\"", v->unit.data,
                        NAME_ARG(v));
        if (v->type == EXPFMT_INFO || v->type == EXPFMT_STATESET)
            return verr(v, err, "%s \"%.*s\" must not have a unit",
                        expfmt_type_name(v->type, EXPFMT_OPENMETRICS), NAME_ARG(v));
    }
    return histogram_close(v, err);
}

/* Opens a family and claims its bare name at once, so that a repeated or
 * interleaved family is reported where it starts. */
static int family_open(struct expfmt_validator *v, expfmt_str_t name, vg_err_t *err) {
    v->active = true;
    vg_buf_reset(&v->name);
    vg_buf_append(&v->name, name.ptr, name.len);
    vg_buf_reset(&v->unit);
    v->type = EXPFMT_UNTYPED;
    v->has_type = v->has_help = v->has_unit = v->has_samples = false;
    u64set_clear(&v->groups);
    v->has_group = false;
    v->h_open = false;
    if (!strset_add(&v->seen, name.ptr, name.len, "", 0))
        return verr(v, err,
                    "metric family \"%.*s\" clashes with an earlier one (families "
                    "must not repeat or interleave)",
                    NAME_ARG(v));
    return 0;
}

static bool same_name(const struct expfmt_validator *v, expfmt_str_t n) {
    return v->name.len == n.len && memcmp(v->name.data, n.ptr, n.len) == 0;
}

static int check_meta(struct expfmt_validator *v, const expfmt_parser_t *p, int entry,
                      vg_err_t *err) {
    if (v->active && same_name(v, p->name) && v->has_samples)
        return verr(v, err, "metadata for \"%.*s\" after its samples", NAME_ARG(v));
    if (!v->active || !same_name(v, p->name)) {
        if (family_close(v, err) || family_open(v, p->name, err)) return VG_ERR_INPUT;
    }
    bool *seen = entry == EXPFMT_ENTRY_HELP   ? &v->has_help
                 : entry == EXPFMT_ENTRY_TYPE ? &v->has_type
                                              : &v->has_unit;
    if (*seen)
        return verr(v, err, "second %s for \"%.*s\"",
                    entry == EXPFMT_ENTRY_HELP   ? "HELP"
                    : entry == EXPFMT_ENTRY_TYPE ? "TYPE"
                                                 : "UNIT",
                    NAME_ARG(v));
    *seen = true;
    if (entry == EXPFMT_ENTRY_TYPE) v->type = p->type;
    if (entry == EXPFMT_ENTRY_UNIT) vg_buf_append(&v->unit, p->text.ptr, p->text.len);
    return 0;
}

static const expfmt_str_t *label_get(const expfmt_label_ref_t *l, size_t n, const char *name,
                                     size_t name_len) {
    for (size_t i = 0; i < n; i++)
        if (l[i].name.len == name_len && memcmp(l[i].name.ptr, name, name_len) == 0)
            return &l[i].value;
    return NULL;
}

/* The label group of a sample: its labels less the one that tells the
 * samples of a group apart. */
static uint64_t group_of(const struct expfmt_validator *v, const expfmt_parser_t *p,
                         const char *suffix) {
    if (v->type == EXPFMT_INFO) return 1; /* info samples cannot be told apart */
    const char *skip = NULL;
    size_t skip_len = 0;
    if (v->type == EXPFMT_SUMMARY && !*suffix)
        skip = "quantile", skip_len = 8;
    else if (v->type == EXPFMT_STATESET)
        skip = v->name.data, skip_len = v->name.len;
    else if (is_histogram(v->type) && strcmp(suffix, "_bucket") == 0)
        skip = "le", skip_len = 2;
    uint64_t sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < p->n_labels; i++) {
        const expfmt_label_ref_t *l = &p->labels[i];
        if (skip && l->name.len == skip_len && memcmp(l->name.ptr, skip, skip_len) == 0) continue;
        uint64_t hn = hash_bytes(l->name.ptr, l->name.len, FNV_OFFSET);
        sum += mix64(hn ^ mix64(hash_bytes(l->value.ptr, l->value.len, hn ^ 0xff)));
        n++;
    }
    return mix64(sum + n);
}

static bool is_integer(double x) { return isfinite(x) && x == floor(x); }

static int check_sample(struct expfmt_validator *v, const expfmt_parser_t *p, vg_err_t *err) {
    /* Which family does it belong to? */
    const char *suffix = NULL;
    if (v->active && p->name.len >= v->name.len &&
        memcmp(p->name.ptr, v->name.data, v->name.len) == 0) {
        const char *rest = p->name.ptr + v->name.len;
        size_t rest_len = p->name.len - v->name.len;
        for (const char *const *sfx = type_suffixes(v->type); *sfx && !suffix; sfx++)
            if (str_is(rest, rest_len, *sfx)) suffix = *sfx;
    }
    if (!suffix) {
        if (family_close(v, err) || family_open(v, p->name, err)) return VG_ERR_INPUT;
        v->has_type = true; /* an untyped family of its own: no TYPE may follow */
        suffix = "";
    }
    v->has_samples = true;
    expfmt_type_t t = v->type;
    double val = p->value;

    if (t == EXPFMT_STATESET && !label_get(p->labels, p->n_labels, v->name.data, v->name.len))
        return verr(v, err, "stateset sample has no \"%.*s\" label", NAME_ARG(v));
    double le = 0;
    if (strcmp(suffix, "_bucket") == 0) {
        const expfmt_str_t *s = label_get(p->labels, p->n_labels, "le", 2);
        if (!s) return verr(v, err, "bucket of \"%.*s\" has no \"le\" label", NAME_ARG(v));
        if (expfmt_parse_float(s->ptr, s->len, &le) || isnan(le) ||
            (isinf(le) && le > 0 && !str_is(s->ptr, s->len, "+Inf")))
            return verr(v, err, "invalid \"le\" value \"%.*s\"", (int)(s->len > 40 ? 40 : s->len),
                        s->ptr);
        if (!is_integer(val)) return verr(v, err, "bucket value must be an integer");
    }
    if ((strcmp(suffix, "_count") == 0 || strcmp(suffix, "_gcount") == 0) && !is_integer(val))
        return verr(v, err, "count value must be an integer");
    if (t == EXPFMT_SUMMARY && !*suffix) {
        const expfmt_str_t *s = label_get(p->labels, p->n_labels, "quantile", 8);
        double q;
        if (!s || expfmt_parse_float(s->ptr, s->len, &q) || !(q >= 0 && q <= 1))
            return verr(v, err, "summary sample needs a \"quantile\" label between 0 and 1");
        if (val < 0) return verr(v, err, "quantile value must not be negative");
    }

    /* Grouping and timestamps. */
    uint64_t g = group_of(v, p, suffix);
    if (v->has_group && g != v->group && u64set_has(&v->groups, g))
        return verr(v, err, "samples of one label set of \"%.*s\" are not together", NAME_ARG(v));
    if (v->has_group && g == v->group) {
        if (p->has_timestamp != v->group_has_ts)
            return verr(v, err, "timestamps present on some samples of a label set only");
        if (p->has_timestamp && p->ts_sec_ < v->group_ts && t != EXPFMT_INFO)
            return verr(v, err, "timestamp goes backwards");
    }
    if (!v->has_group || g != v->group) u64set_add(&v->groups, g);
    v->has_group = true;
    v->group = g;
    v->group_has_ts = p->has_timestamp;
    v->group_ts = p->has_timestamp ? p->ts_sec_ : 0;

    if (t == EXPFMT_STATESET && val != 0 && val != 1)
        return verr(v, err, "stateset value must be 0 or 1");
    if (t == EXPFMT_INFO && val != 1) return verr(v, err, "info value must be 1");
    static const char *const counter_like[] = {"_total",  "_sum",    "_count",
                                               "_bucket", "_gcount", "_gsum"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(suffix, counter_like[i]) != 0) continue;
        if (isnan(val)) return verr(v, err, "%s sample must not be NaN", suffix);
        if (i < 5 && val < 0) return verr(v, err, "%s sample must not be negative", suffix);
    }
    if (p->has_exemplar) {
        bool ok = (is_histogram(t) && strcmp(suffix, "_bucket") == 0) ||
                  (t == EXPFMT_COUNTER && strcmp(suffix, "_total") == 0);
        if (!ok)
            return verr(v, err,
                        "exemplars are allowed only on histogram buckets and counter totals");
        size_t cp = 0;
        for (size_t i = 0; i < p->exemplar.n_labels; i++) {
            const expfmt_label_ref_t *l = &p->exemplar.labels[i];
            cp += expfmt_utf8_count(l->name.ptr, l->name.len) +
                  expfmt_utf8_count(l->value.ptr, l->value.len);
        }
        if (cp > 128)
            return verr(v, err, "exemplar labels have %zu code points, more than 128", cp);
    }

    /* Histogram groups: a new label group or timestamp closes the last. */
    if (is_histogram(t)) {
        double ts = p->has_timestamp ? p->ts_sec_ : 0;
        if (v->h_open && (v->h_group != g || v->h_has_ts != p->has_timestamp || v->h_ts != ts))
            if (histogram_close(v, err)) return VG_ERR_INPUT;
        if (!v->h_open) {
            v->h_open = true;
            v->h_group = g;
            v->h_has_ts = p->has_timestamp;
            v->h_ts = ts;
            v->h_has_count = v->h_has_bucket = v->h_neg_buckets = false;
            v->h_sum = v->h_gsum = v->h_neg_gsum = false;
            v->h_value = 0;
        }
        if (strcmp(suffix, "_bucket") == 0) {
            if (le < 0) v->h_neg_buckets = true;
            if (v->h_has_bucket && le <= v->h_bucket)
                return verr(v, err, "buckets of \"%.*s\" are not in increasing \"le\" order",
                            NAME_ARG(v));
            if (val < v->h_value)
                return verr(v, err, "bucket values of \"%.*s\" decrease", NAME_ARG(v));
            v->h_has_bucket = true;
            v->h_bucket = le;
            v->h_value = val;
        } else if (strcmp(suffix, "_count") == 0 || strcmp(suffix, "_gcount") == 0) {
            v->h_has_count = true;
            v->h_count = val;
        } else if (strcmp(suffix, "_sum") == 0) {
            v->h_sum = true;
        } else if (strcmp(suffix, "_gsum") == 0) {
            v->h_gsum = true;
            if (val < 0) v->h_neg_gsum = true;
        }
    }
    return 0;
}

int expfmt_validator_check(struct expfmt_validator *v, const expfmt_parser_t *p, int entry,
                           vg_err_t *err) {
    v->line = p->line;
    switch (entry) {
    case EXPFMT_ENTRY_EOF: return family_close(v, err);
    case EXPFMT_ENTRY_SAMPLE: return check_sample(v, p, err);
    case EXPFMT_ENTRY_HELP:
    case EXPFMT_ENTRY_TYPE:
    case EXPFMT_ENTRY_UNIT: return check_meta(v, p, entry, err);
    default: return 0;
    }
}
