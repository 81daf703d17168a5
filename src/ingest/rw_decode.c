/* This file implements the decoder of Prometheus remote_write 1.0 requests:
 * snappy (block format) around a protobuf prometheus.WriteRequest.
 *
 * The protobuf decoder is written by hand rather than generated with
 * protobuf-c. This is the hottest path of metrics ingest — a busy
 * Prometheus sends tens of thousands of samples per request, many times a
 * second — and protobuf-c would allocate every Label, Sample and TimeSeries
 * message and copy every string. Here nothing is allocated per series,
 * label or sample: strings are handed out as pointers into the decompressed
 * buffer, a series' labels go into one reused scratch array bounded by the
 * label limit, and samples and exemplars are read by iterators that walk
 * the already validated bytes again.
 *
 * Each TimeSeries is validated completely (structure, wire types, limits,
 * UTF-8, duplicate names) before its callback runs, so the iterators cannot
 * fail. Fields the decoder does not know are skipped by wire type, groups
 * included, as protobuf requires for forward compatibility. Errors name the
 * field, the message and the byte offset so that a sender can find them. */
#include "ingest/rw_decode.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

/* Groups are deprecated but still legal in unknown fields; nesting deeper
 * than this is refused rather than followed. */
#define GROUP_MAX_DEPTH 64

static const char *const wire_type_names[8] = {"varint",      "fixed64",   "length-delimited",
                                               "start-group", "end-group", "fixed32",
                                               "invalid 6",   "invalid 7"};

/* A window on the protobuf; base is the start of the whole request so that
 * errors report offsets a sender can look up. */
typedef struct reader {
    const uint8_t *p, *end;
    const uint8_t *base;
} reader_t;

/* One field as read off the wire. */
typedef struct field {
    uint32_t num;
    uint32_t wt;
    size_t at;          /* offset of the tag from base */
    uint64_t u;         /* varint, fixed64 or fixed32 payload */
    const uint8_t *ptr; /* length-delimited payload */
    size_t len;
} field_t;

static const uint8_t empty_bytes[1] = {0};

static inline uint64_t load_le64(const uint8_t *p) {
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static inline uint32_t load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads a base-128 varint. Returns 0, -1 when the input ends inside it, -2
 * when it runs past ten bytes. Bits beyond 64 in the tenth byte are dropped,
 * as Go's decoders for these messages do. */
static inline int read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) {
        *out = *p;
        *pp = p + 1;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (p >= end) return -1;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *out = v;
            *pp = p;
            return 0;
        }
    }
    return -2;
}

static int err_truncated(vg_err_t *err, uint32_t num, const char *msg, size_t at) {
    return vg_err_set(err, VG_ERR_INPUT, "proto: truncated field %u of %s at byte %zu", num, msg,
                      at);
}

/* Skips the rest of a group whose start tag (field num, at offset at) has
 * just been read. */
static int skip_group(reader_t *r, uint32_t num, const char *msg, size_t at, vg_err_t *err) {
    uint32_t stack[GROUP_MAX_DEPTH];
    size_t depth = 1;
    stack[0] = num;
    while (depth > 0) {
        if (r->p >= r->end) return err_truncated(err, num, msg, at);
        size_t tag_at = (size_t)(r->p - r->base);
        uint64_t tag, v;
        if (read_varint(&r->p, r->end, &tag) != 0 || tag > UINT32_MAX || (tag >> 3) == 0)
            return vg_err_set(err, VG_ERR_INPUT,
                              "proto: malformed tag inside group %u of %s at byte %zu", num, msg,
                              tag_at);
        uint32_t n = (uint32_t)(tag >> 3);
        size_t left = (size_t)(r->end - r->p);
        switch (tag & 7) {
        case WT_VARINT:
            if (read_varint(&r->p, r->end, &v) != 0) return err_truncated(err, n, msg, tag_at);
            break;
        case WT_I64:
            if (left < 8) return err_truncated(err, n, msg, tag_at);
            r->p += 8;
            break;
        case WT_I32:
            if (left < 4) return err_truncated(err, n, msg, tag_at);
            r->p += 4;
            break;
        case WT_LEN:
            if (read_varint(&r->p, r->end, &v) != 0 || v > (uint64_t)(r->end - r->p))
                return err_truncated(err, n, msg, tag_at);
            r->p += v;
            break;
        case WT_SGROUP:
            if (depth == GROUP_MAX_DEPTH)
                return vg_err_set(err, VG_ERR_INPUT,
                                  "proto: groups nested deeper than %d in %s at byte %zu",
                                  GROUP_MAX_DEPTH, msg, tag_at);
            stack[depth++] = n;
            break;
        case WT_EGROUP:
            if (n != stack[depth - 1])
                return vg_err_set(err, VG_ERR_INPUT,
                                  "proto: end of group %u where group %u is open in %s at byte %zu",
                                  n, stack[depth - 1], msg, tag_at);
            depth--;
            break;
        default:
            return vg_err_set(err, VG_ERR_INPUT,
                              "proto: invalid wire type %u for field %u of %s at byte %zu",
                              (unsigned)(tag & 7), n, msg, tag_at);
        }
    }
    return 0;
}

/* Reads the next field of the message r is over. Returns 1 with *f filled,
 * 0 at the end of the message, or a negative code with a message. Groups
 * are skipped whole and returned with wire type WT_SGROUP. */
static int next_field_slow(reader_t *r, const char *msg, field_t *f, vg_err_t *err) {
    f->at = (size_t)(r->p - r->base);
    uint64_t tag;
    int rc = read_varint(&r->p, r->end, &tag);
    if (rc != 0)
        return vg_err_set(err, VG_ERR_INPUT, "proto: %s tag in %s at byte %zu",
                          rc == -1 ? "truncated" : "malformed", msg, f->at);
    if (tag > UINT32_MAX)
        return vg_err_set(err, VG_ERR_INPUT, "proto: malformed tag in %s at byte %zu", msg, f->at);
    f->num = (uint32_t)(tag >> 3);
    f->wt = (uint32_t)(tag & 7);
    if (f->num == 0)
        return vg_err_set(err, VG_ERR_INPUT, "proto: invalid field number 0 in %s at byte %zu", msg,
                          f->at);
    switch (f->wt) {
    case WT_VARINT:
        rc = read_varint(&r->p, r->end, &f->u);
        if (rc == -1) return err_truncated(err, f->num, msg, f->at);
        if (rc != 0)
            return vg_err_set(err, VG_ERR_INPUT,
                              "proto: varint longer than 10 bytes in field %u of %s at byte %zu",
                              f->num, msg, f->at);
        return 1;
    case WT_I64:
        if (r->end - r->p < 8) return err_truncated(err, f->num, msg, f->at);
        f->u = load_le64(r->p);
        r->p += 8;
        return 1;
    case WT_LEN: {
        uint64_t len;
        if (read_varint(&r->p, r->end, &len) != 0 || len > (uint64_t)(r->end - r->p))
            return err_truncated(err, f->num, msg, f->at);
        f->ptr = r->p;
        f->len = (size_t)len;
        r->p += len;
        return 1;
    }
    case WT_I32:
        if (r->end - r->p < 4) return err_truncated(err, f->num, msg, f->at);
        f->u = load_le32(r->p);
        r->p += 4;
        return 1;
    case WT_SGROUP: rc = skip_group(r, f->num, msg, f->at, err); return rc < 0 ? rc : 1;
    case WT_EGROUP:
        return vg_err_set(err, VG_ERR_INPUT,
                          "proto: end of group %u with no group open in %s at byte %zu", f->num,
                          msg, f->at);
    default:
        return vg_err_set(err, VG_ERR_INPUT,
                          "proto: invalid wire type %u for field %u of %s at byte %zu", f->wt,
                          f->num, msg, f->at);
    }
}

/* next_field with the common case inline: a length-delimited field with a
 * one-byte tag and a length under 128 (every label and sample). */
static inline int next_field(reader_t *r, const char *msg, field_t *f, vg_err_t *err) {
    const uint8_t *p = r->p;
    if (p >= r->end) return 0;
    if (r->end - p >= 2 && p[0] < 0x80 && (p[0] & 7) == WT_LEN && p[0] >= 8 && p[1] < 0x80 &&
        p[1] <= r->end - p - 2) {
        f->at = (size_t)(p - r->base);
        f->num = p[0] >> 3;
        f->wt = WT_LEN;
        f->ptr = p + 2;
        f->len = p[1];
        r->p = p + 2 + p[1];
        return 1;
    }
    return next_field_slow(r, msg, f, err);
}

/* Checks the wire type of a known field. */
static inline int want_wt(const field_t *f, uint32_t wt, const char *msg, vg_err_t *err) {
    if (f->wt == wt) return 0;
    return vg_err_set(err, VG_ERR_INPUT,
                      "proto: field %u of %s has wire type %s, want %s, at byte %zu", f->num, msg,
                      wire_type_names[f->wt & 7], wire_type_names[wt], f->at);
}

static inline reader_t sub_reader(const reader_t *parent, const field_t *f) {
    reader_t r = {f->ptr, f->ptr + f->len, parent->base};
    return r;
}

/* ------------------------------------------------------------------ UTF-8 */

bool ingest_rw_utf8_valid(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        if (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (!(w & 0x8080808080808080ull)) {
                p += 8;
                continue;
            }
        }
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t left = (size_t)(end - p);
        if (c < 0xC2) return false; /* a stray continuation byte or an overlong pair */
        if (c < 0xE0) {
            if (left < 2 || (p[1] & 0xC0) != 0x80) return false;
            p += 2;
        } else if (c < 0xF0) {
            unsigned lo = c == 0xE0 ? 0xA0 : 0x80; /* overlong */
            unsigned hi = c == 0xED ? 0x9F : 0xBF; /* surrogates */
            if (left < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80) return false;
            p += 3;
        } else if (c < 0xF5) {
            unsigned lo = c == 0xF0 ? 0x90 : 0x80; /* overlong */
            unsigned hi = c == 0xF4 ? 0x8F : 0xBF; /* above U+10FFFF */
            if (left < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 ||
                (p[3] & 0xC0) != 0x80)
                return false;
            p += 4;
        } else {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------- messages */

/* Why a series (or metadata entry) would be refused by Prometheus; the
 * first reason found is kept. */
typedef struct invalid {
    bool set;
    char why[160];
} invalid_t;

static void invalid_note(invalid_t *inv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void invalid_note(invalid_t *inv, const char *fmt, ...) {
    if (inv->set) return;
    inv->set = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(inv->why, sizeof inv->why, fmt, ap);
    va_end(ap);
}

/* Writes a label's name for a message: quoted when it is short printable
 * UTF-8, else by position. */
static void label_ref(const ingest_rw_label_t *l, size_t i, char *out, size_t out_len) {
    bool printable = l->name_len > 0 && l->name_len <= 64;
    for (size_t k = 0; printable && k < l->name_len; k++)
        if ((unsigned char)l->name[k] < 0x20 || l->name[k] == '"') printable = false;
    if (printable && ingest_rw_utf8_valid(l->name, l->name_len))
        snprintf(out, out_len, "\"%.*s\"", (int)l->name_len, l->name);
    else
        snprintf(out, out_len, "#%zu", i + 1);
}

static bool is_metric_name(const ingest_rw_label_t *l) {
    return l->name_len == 8 && memcmp(l->name, "__name__", 8) == 0;
}

/* Writes "series 3" or "series 3 (up)" for messages. */
static void series_ref(const ingest_rw_label_t *labels, size_t n, size_t index, char *out,
                       size_t out_len) {
    for (size_t i = 0; i < n; i++) {
        const ingest_rw_label_t *l = &labels[i];
        if (!is_metric_name(l) || l->value_len == 0 || l->value_len > 80) continue;
        bool printable = ingest_rw_utf8_valid(l->value, l->value_len);
        for (size_t k = 0; printable && k < l->value_len; k++)
            if ((unsigned char)l->value[k] < 0x20) printable = false;
        if (printable) {
            snprintf(out, out_len, "series %zu (%.*s)", index, (int)l->value_len, l->value);
            return;
        }
    }
    snprintf(out, out_len, "series %zu", index);
}

/* Makes room for n labels in a scratch array; n never exceeds the label
 * limit, which bounds the memory. */
static void labels_reserve(ingest_rw_label_t **arr, size_t *cap, size_t n) {
    if (n <= *cap) return;
    size_t c = *cap ? *cap * 2 : 16;
    if (c < n) c = n;
    *arr = vg_realloc(*arr, c * sizeof **arr);
    *cap = c;
}

/* Decodes a Label message. */
static int parse_label(const reader_t *parent, const field_t *lf, ingest_rw_label_t *l,
                       vg_err_t *err) {
    /* Fast path: name then value, both under 128 bytes, nothing else. */
    const uint8_t *p = lf->ptr;
    size_t len = lf->len;
    if (len >= 4 && p[0] == (1 << 3 | WT_LEN) && p[1] < 0x80) {
        size_t nl = p[1];
        if (nl + 4 <= len && p[nl + 2] == (2 << 3 | WT_LEN) && p[nl + 3] < 0x80 &&
            nl + 4 + p[nl + 3] == len) {
            l->name = (const char *)p + 2;
            l->name_len = nl;
            l->value = (const char *)p + nl + 4;
            l->value_len = p[nl + 3];
            return 0;
        }
    }
    reader_t r = sub_reader(parent, lf);
    l->name = l->value = (const char *)empty_bytes;
    l->name_len = l->value_len = 0;
    field_t f;
    int rc;
    while ((rc = next_field(&r, "Label", &f, err)) > 0) {
        if (f.num == 1 || f.num == 2) {
            if (want_wt(&f, WT_LEN, "Label", err) < 0) return VG_ERR_INPUT;
            if (f.num == 1) {
                l->name = (const char *)f.ptr;
                l->name_len = f.len;
            } else {
                l->value = (const char *)f.ptr;
                l->value_len = f.len;
            }
        }
    }
    return rc;
}

/* Who a label belongs to, for messages; formatted only when one is made. */
typedef struct subject {
    size_t index; /* of the series */
    const ingest_rw_label_t *labels;
    size_t n_labels;
    bool exemplar;
    size_t at; /* byte offset of the series or exemplar */
} subject_t;

/* Writes "series 3 (up)" or "series 3: exemplar". */
static void subject_name(const subject_t *who, char *out, size_t out_len) {
    if (who->exemplar)
        snprintf(out, out_len, "series %zu: exemplar", who->index);
    else
        series_ref(who->labels, who->n_labels, who->index, out, out_len);
}

/* Checks one label against the length limits (a hard error) and against
 * what Prometheus accepts (noted in inv). The common case, a good label,
 * costs two comparisons and two UTF-8 scans. */
static int check_label(const ingest_rw_decoder_t *d, const ingest_rw_label_t *l, size_t i,
                       const subject_t *who, invalid_t *inv, vg_err_t *err) {
    bool over_name = l->name_len > d->limits.max_name_len;
    bool over = over_name || l->value_len > d->limits.max_value_len;
    if (!over && (inv->set || (l->name_len > 0 && ingest_rw_utf8_valid(l->name, l->name_len) &&
                               ingest_rw_utf8_valid(l->value, l->value_len))))
        return 0;
    char what[128], ref[80];
    subject_name(who, what, sizeof what);
    if (over) {
        label_ref(l, i, ref, sizeof ref);
        return vg_err_set(err, VG_ERR_LIMIT,
                          "%s at byte %zu: label %s has a %s of %zu bytes, over the limit of %zu",
                          what, who->at, ref, over_name ? "name" : "value",
                          over_name ? l->name_len : l->value_len,
                          over_name ? d->limits.max_name_len : d->limits.max_value_len);
    }
    if (l->name_len == 0) {
        invalid_note(inv, "%s at byte %zu: label #%zu has an empty name", what, who->at, i + 1);
    } else if (!ingest_rw_utf8_valid(l->name, l->name_len)) {
        invalid_note(inv, "%s at byte %zu: label name #%zu is not valid UTF-8", what, who->at,
                     i + 1);
    } else {
        label_ref(l, i, ref, sizeof ref);
        invalid_note(inv, "%s at byte %zu: the value of label %s is not valid UTF-8", what, who->at,
                     ref);
    }
    return 0;
}

/* Decodes and checks a Sample message. */
static int parse_sample(const reader_t *parent, const field_t *sf, ingest_rw_sample_t *s,
                        vg_err_t *err) {
    /* Fast path: the encoding every known sender uses, value then
     * timestamp, nothing else. */
    const uint8_t *p = sf->ptr, *end = sf->ptr + sf->len;
    if (sf->len >= 11 && p[0] == (1 << 3 | WT_I64) && p[9] == (2 << 3 | WT_VARINT)) {
        const uint8_t *q = p + 10;
        uint64_t ts;
        if (read_varint(&q, end, &ts) == 0 && q == end) {
            uint64_t bits = load_le64(p + 1);
            memcpy(&s->value, &bits, sizeof s->value);
            s->timestamp_ms = (int64_t)ts;
            return 0;
        }
    }
    reader_t r = sub_reader(parent, sf);
    s->value = 0;
    s->timestamp_ms = 0;
    field_t f;
    int rc;
    while ((rc = next_field(&r, "Sample", &f, err)) > 0) {
        if (f.num == 1) {
            if (want_wt(&f, WT_I64, "Sample", err) < 0) return VG_ERR_INPUT;
            memcpy(&s->value, &f.u, sizeof s->value);
        } else if (f.num == 2) {
            if (want_wt(&f, WT_VARINT, "Sample", err) < 0) return VG_ERR_INPUT;
            s->timestamp_ms = (int64_t)f.u;
        }
    }
    return rc;
}

/* Decodes and checks an Exemplar; its labels go into the decoder's exemplar
 * scratch array. index is the series' for messages. */
static int parse_exemplar(ingest_rw_decoder_t *d, const reader_t *parent, const field_t *ef,
                          size_t index, invalid_t *inv, ingest_rw_exemplar_t *ex, vg_err_t *err) {
    reader_t r = sub_reader(parent, ef);
    subject_t who = {index, NULL, 0, true, ef->at};
    ex->n_labels = 0;
    ex->value = 0;
    ex->timestamp_ms = 0;
    field_t f;
    int rc;
    while ((rc = next_field(&r, "Exemplar", &f, err)) > 0) {
        if (f.num == 1) {
            if (want_wt(&f, WT_LEN, "Exemplar", err) < 0) return VG_ERR_INPUT;
            if (ex->n_labels == d->limits.max_labels)
                return vg_err_set(err, VG_ERR_LIMIT,
                                  "series %zu: exemplar at byte %zu has more than %zu labels",
                                  index, ef->at, d->limits.max_labels);
            labels_reserve(&d->ex_labels, &d->ex_labels_cap, ex->n_labels + 1);
            ingest_rw_label_t *l = &d->ex_labels[ex->n_labels];
            if ((rc = parse_label(&r, &f, l, err)) < 0) return rc;
            if ((rc = check_label(d, l, ex->n_labels, &who, inv, err)) < 0) return rc;
            ex->n_labels++;
        } else if (f.num == 2) {
            if (want_wt(&f, WT_I64, "Exemplar", err) < 0) return VG_ERR_INPUT;
            memcpy(&ex->value, &f.u, sizeof ex->value);
        } else if (f.num == 3) {
            if (want_wt(&f, WT_VARINT, "Exemplar", err) < 0) return VG_ERR_INPUT;
            ex->timestamp_ms = (int64_t)f.u;
        }
    }
    ex->labels = d->ex_labels;
    return rc;
}

static int name_cmp(const ingest_rw_label_t *a, const ingest_rw_label_t *b) {
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    if (c != 0) return c;
    return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

/* The checks on a whole label set that Prometheus makes: a non-empty
 * metric name and no name twice. Sets s->labels_sorted. */
static void check_label_set(ingest_rw_series_t *s, const subject_t *who, invalid_t *inv) {
    const ingest_rw_label_t *ls = s->labels;
    bool has_name = false, sorted = true, dup = false;
    for (size_t i = 0; i < s->n_labels; i++) {
        if (is_metric_name(&ls[i]) && ls[i].value_len > 0) has_name = true;
        if (i > 0) {
            int c = name_cmp(&ls[i - 1], &ls[i]);
            if (c >= 0) sorted = false;
            if (c == 0) dup = true;
        }
    }
    /* Unsorted sets are rare (Prometheus sorts); a quadratic look for
     * repeats is then bounded by the label limit. */
    for (size_t i = 0; !sorted && !dup && i < s->n_labels; i++)
        for (size_t j = i + 1; !dup && j < s->n_labels; j++)
            if (name_cmp(&ls[i], &ls[j]) == 0) dup = true;
    s->labels_sorted = sorted;
    if ((has_name && !dup) || inv->set) return;
    char what[128];
    subject_name(who, what, sizeof what);
    if (!has_name) invalid_note(inv, "%s: no metric name (label __name__)", what);
    if (dup) invalid_note(inv, "%s: a label name appears twice", what);
}

/* Decodes and checks one TimeSeries (field f of the WriteRequest). */
static int parse_series(ingest_rw_decoder_t *d, const reader_t *parent, const field_t *sf,
                        size_t index, ingest_rw_series_t *s, invalid_t *inv, vg_err_t *err) {
    reader_t r = sub_reader(parent, sf);
    memset(s, 0, sizeof *s);
    s->index = index;
    s->raw = sf->ptr;
    s->raw_len = sf->len;
    s->decoder = d;
    field_t f;
    int rc;
    while ((rc = next_field(&r, "TimeSeries", &f, err)) > 0) {
        switch (f.num) {
        case 1: {
            if (want_wt(&f, WT_LEN, "TimeSeries", err) < 0) return VG_ERR_INPUT;
            if (s->n_labels == d->limits.max_labels)
                return vg_err_set(err, VG_ERR_LIMIT,
                                  "series %zu at byte %zu has more than %zu labels", index, sf->at,
                                  d->limits.max_labels);
            labels_reserve(&d->labels, &d->labels_cap, s->n_labels + 1);
            ingest_rw_label_t *l = &d->labels[s->n_labels];
            if ((rc = parse_label(&r, &f, l, err)) < 0) return rc;
            s->n_labels++;
            break;
        }
        case 2: {
            if (want_wt(&f, WT_LEN, "TimeSeries", err) < 0) return VG_ERR_INPUT;
            ingest_rw_sample_t smp;
            if ((rc = parse_sample(&r, &f, &smp, err)) < 0) return rc;
            s->n_samples++;
            break;
        }
        case 3: {
            if (want_wt(&f, WT_LEN, "TimeSeries", err) < 0) return VG_ERR_INPUT;
            ingest_rw_exemplar_t ex;
            if ((rc = parse_exemplar(d, &r, &f, index, inv, &ex, err)) < 0) return rc;
            s->n_exemplars++;
            break;
        }
        case 4:
            /* Native histograms: counted, their content not read yet. */
            if (want_wt(&f, WT_LEN, "TimeSeries", err) < 0) return VG_ERR_INPUT;
            s->n_histograms++;
            break;
        default: break;
        }
    }
    if (rc < 0) return rc;
    s->labels = d->labels;
    subject_t who = {index, s->labels, s->n_labels, false, sf->at};
    for (size_t i = 0; i < s->n_labels; i++)
        if ((rc = check_label(d, &s->labels[i], i, &who, inv, err)) < 0) return rc;
    check_label_set(s, &who, inv);
    return 0;
}

/* Decodes and checks one MetricMetadata entry. */
static int parse_metadata(const reader_t *parent, const field_t *mf, size_t index,
                          ingest_rw_metadata_t *md, invalid_t *inv, vg_err_t *err) {
    reader_t r = sub_reader(parent, mf);
    const char *empty = (const char *)empty_bytes;
    *md = (ingest_rw_metadata_t){index, 0, empty, 0, empty, 0, empty, 0};
    field_t f;
    int rc;
    while ((rc = next_field(&r, "MetricMetadata", &f, err)) > 0) {
        switch (f.num) {
        case 1:
            if (want_wt(&f, WT_VARINT, "MetricMetadata", err) < 0) return VG_ERR_INPUT;
            md->type = (int)(int32_t)f.u; /* enums are int32 on the wire */
            break;
        case 2:
        case 4:
        case 5:
            if (want_wt(&f, WT_LEN, "MetricMetadata", err) < 0) return VG_ERR_INPUT;
            if (f.num == 2) md->family_name = (const char *)f.ptr, md->family_name_len = f.len;
            if (f.num == 4) md->help = (const char *)f.ptr, md->help_len = f.len;
            if (f.num == 5) md->unit = (const char *)f.ptr, md->unit_len = f.len;
            break;
        default: break;
        }
    }
    if (rc < 0) return rc;
    const char *bad = NULL;
    if (!ingest_rw_utf8_valid(md->family_name, md->family_name_len))
        bad = "metric_family_name";
    else if (!ingest_rw_utf8_valid(md->help, md->help_len))
        bad = "help";
    else if (!ingest_rw_utf8_valid(md->unit, md->unit_len))
        bad = "unit";
    if (bad)
        invalid_note(inv, "metadata %zu at byte %zu: %s is not valid UTF-8", index, mf->at, bad);
    return 0;
}

/* ---------------------------------------------------------------- public */

static size_t limit_or(size_t v, size_t def) { return v ? v : def; }

void ingest_rw_decoder_init(ingest_rw_decoder_t *d, const ingest_rw_limits_t *limits,
                            unsigned flags) {
    memset(d, 0, sizeof *d);
    ingest_rw_limits_t l = limits ? *limits : (ingest_rw_limits_t){0};
    d->limits.max_decoded_bytes = limit_or(l.max_decoded_bytes, VG_INGEST_RW_DEFAULT_MAX_DECODED);
    d->limits.max_labels = limit_or(l.max_labels, VG_INGEST_RW_DEFAULT_MAX_LABELS);
    if (d->limits.max_labels > VG_INGEST_RW_HARD_MAX_LABELS)
        d->limits.max_labels = VG_INGEST_RW_HARD_MAX_LABELS;
    d->limits.max_name_len = limit_or(l.max_name_len, VG_INGEST_RW_DEFAULT_MAX_NAME_LEN);
    d->limits.max_value_len = limit_or(l.max_value_len, VG_INGEST_RW_DEFAULT_MAX_VALUE_LEN);
    d->flags = flags;
}

void ingest_rw_decoder_free(ingest_rw_decoder_t *d) {
    free(d->labels);
    free(d->ex_labels);
    vg_buf_free(&d->body);
    memset(d, 0, sizeof *d);
}

/* Records a dropped entry or turns it into the request's error. */
static int reject_or_drop(const ingest_rw_decoder_t *d, const invalid_t *inv, ingest_rw_stats_t *st,
                          vg_err_t *err) {
    if (!(d->flags & VG_INGEST_RW_DROP_INVALID))
        return vg_err_set(err, VG_ERR_INPUT, "invalid %s", inv->why);
    if (!st->invalid_msg[0]) snprintf(st->invalid_msg, sizeof st->invalid_msg, "%s", inv->why);
    return 0;
}

int ingest_rw_decoder_decode(ingest_rw_decoder_t *d, const void *pb, size_t len,
                             const ingest_rw_handler_t *h, ingest_rw_stats_t *out_stats,
                             vg_err_t *err) {
    ingest_rw_stats_t st;
    memset(&st, 0, sizeof st);
    st.decoded_bytes = len;
    const uint8_t *base = len ? (const uint8_t *)pb : empty_bytes;
    reader_t r = {base, base + len, base};
    size_t n_series = 0, n_metadata = 0;
    field_t f;
    int rc;
    while ((rc = next_field(&r, "WriteRequest", &f, err)) > 0) {
        invalid_t inv = {0};
        if (f.num == 1) {
            if ((rc = want_wt(&f, WT_LEN, "WriteRequest", err)) < 0) break;
            ingest_rw_series_t s;
            if ((rc = parse_series(d, &r, &f, n_series++, &s, &inv, err)) < 0) break;
            if (inv.set) {
                if ((rc = reject_or_drop(d, &inv, &st, err)) < 0) break;
                st.n_series_dropped++;
                st.n_samples_dropped += s.n_samples + s.n_histograms;
                continue;
            }
            st.n_series++;
            st.n_samples += s.n_samples;
            st.n_exemplars += s.n_exemplars;
            st.n_histograms += s.n_histograms;
            if (h && h->series && (rc = h->series(h->ctx, &s, err)) < 0) break;
        } else if (f.num == 3) {
            if ((rc = want_wt(&f, WT_LEN, "WriteRequest", err)) < 0) break;
            ingest_rw_metadata_t md;
            if ((rc = parse_metadata(&r, &f, n_metadata++, &md, &inv, err)) < 0) break;
            if (inv.set) {
                if ((rc = reject_or_drop(d, &inv, &st, err)) < 0) break;
                st.n_metadata_dropped++;
                continue;
            }
            st.n_metadata++;
            if (h && h->metadata && (rc = h->metadata(h->ctx, &md, err)) < 0) break;
        }
        /* Field 2 is reserved (Cortex's "source"); it and anything newer
         * were skipped by next_field. */
    }
    if (out_stats) *out_stats = st;
    return rc < 0 ? rc : 0;
}

int ingest_rw_snappy_uncompress(const void *in, size_t in_len, size_t max_len, vg_buf_t *out,
                                vg_err_t *err) {
    vg_buf_reset(out);
    const char *src = in_len ? (const char *)in : (const char *)empty_bytes;
    size_t n;
    if (snappy_uncompressed_length(src, in_len, &n) != SNAPPY_OK)
        return vg_err_set(err, VG_ERR_INPUT, "snappy: corrupt input");
    if (n > max_len)
        return vg_err_set(err, VG_ERR_LIMIT,
                          "snappy: the body decodes to %zu bytes, over the limit of %zu", n,
                          max_len);
    vg_buf_reserve(out, n);
    size_t got = n;
    /* snappy_uncompress checks every copy against both buffers, so corrupt
     * input fails here without a separate validation pass. */
    if (snappy_uncompress(src, in_len, out->data, &got) != SNAPPY_OK || got != n) {
        out->data[0] = '\0';
        return vg_err_set(err, VG_ERR_INPUT, "snappy: corrupt input");
    }
    out->len = n;
    out->data[n] = '\0';
    return 0;
}

int ingest_rw_decoder_decode_body(ingest_rw_decoder_t *d, const void *body, size_t len,
                                  const ingest_rw_handler_t *h, ingest_rw_stats_t *out_stats,
                                  vg_err_t *err) {
    /* A worker thread keeps its decoder; do not let one huge request pin
     * its buffer for good. */
    if (d->body.cap > (8u << 20)) vg_buf_free(&d->body);
    int rc = ingest_rw_snappy_uncompress(body, len, d->limits.max_decoded_bytes, &d->body, err);
    if (rc < 0) {
        if (out_stats) memset(out_stats, 0, sizeof *out_stats);
        return rc;
    }
    return ingest_rw_decoder_decode(d, d->body.data, d->body.len, h, out_stats, err);
}

/* ------------------------------------------------------------- iterators */

void ingest_rw_series_samples(const ingest_rw_series_t *s, ingest_rw_sample_iter_t *it) {
    it->p = s->raw_len ? s->raw : empty_bytes;
    it->end = it->p + s->raw_len;
}

bool ingest_rw_sample_iter_next(ingest_rw_sample_iter_t *it, ingest_rw_sample_t *out) {
    reader_t r = {it->p, it->end, it->p};
    field_t f;
    /* The series was validated before its callback, so no error can come
     * up here; stopping at one is only a safety net. */
    while (next_field(&r, "TimeSeries", &f, NULL) > 0) {
        if (f.num != 2 || f.wt != WT_LEN) continue;
        if (parse_sample(&r, &f, out, NULL) < 0) break;
        it->p = r.p;
        return true;
    }
    it->p = it->end;
    return false;
}

void ingest_rw_series_exemplars(const ingest_rw_series_t *s, ingest_rw_exemplar_iter_t *it) {
    it->p = s->raw_len ? s->raw : empty_bytes;
    it->end = it->p + s->raw_len;
    it->decoder = s->decoder;
}

bool ingest_rw_exemplar_iter_next(ingest_rw_exemplar_iter_t *it, ingest_rw_exemplar_t *out) {
    reader_t r = {it->p, it->end, it->p};
    field_t f;
    while (next_field(&r, "TimeSeries", &f, NULL) > 0) {
        if (f.num != 3 || f.wt != WT_LEN) continue;
        invalid_t inv = {0};
        if (parse_exemplar(it->decoder, &r, &f, 0, &inv, out, NULL) < 0) break;
        it->p = r.p;
        return true;
    }
    it->p = it->end;
    return false;
}
