/* This file implements the encoder of Prometheus remote_write 1.0
 * requests: a protobuf prometheus.WriteRequest built field by field into a
 * growable buffer, then compressed as one snappy block.
 *
 * Each message's length prefix is computed from its parts before the
 * message is written, so the protobuf is produced in one forward pass with
 * no copying. Fields at their proto3 default are left out, as Prometheus's
 * own (gogo-generated) encoder does, with one exception: a sample value of
 * -0.0 is written, so that it survives the round trip. */
#include "ingest/rw_decode.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2 };

static size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(vg_buf_t *b, uint64_t v) {
    vg_buf_reserve(b, 10);
    uint8_t *p = (uint8_t *)b->data + b->len;
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    b->len += n;
    b->data[b->len] = '\0';
}

/* Every field vigil writes has a number below 16, so its tag is one byte. */
static void put_tag(vg_buf_t *b, unsigned num, unsigned wt) {
    put_varint(b, (uint64_t)(num << 3 | wt));
}

static void put_fixed64(vg_buf_t *b, uint64_t v) {
    uint8_t p[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    vg_buf_append(b, p, 8);
}

static uint64_t double_bits(double v) {
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

/* Size of a string field with its tag, 0 when it is left out. */
static size_t str_field_size(size_t len) { return len ? 1 + varint_len(len) + len : 0; }

/* Size of an embedded message of n bytes with its tag and length. */
static size_t nested_size(size_t n) { return 1 + varint_len(n) + n; }

static size_t label_size(const ingest_rw_label_t *l) {
    return str_field_size(l->name_len) + str_field_size(l->value_len);
}

static size_t value_ts_size(double value, int64_t ts) {
    return (double_bits(value) ? 9 : 0) + (ts ? 1 + varint_len((uint64_t)ts) : 0);
}

static void put_str_field(vg_buf_t *b, unsigned num, const char *s, size_t len) {
    if (!len) return;
    put_tag(b, num, WT_LEN);
    put_varint(b, len);
    vg_buf_append(b, s, len);
}

static void put_label(vg_buf_t *b, unsigned num, const ingest_rw_label_t *l) {
    put_tag(b, num, WT_LEN);
    put_varint(b, label_size(l));
    put_str_field(b, 1, l->name, l->name_len);
    put_str_field(b, 2, l->value, l->value_len);
}

/* Writes value (fixed64 field vnum) and timestamp (varint field tnum). */
static void put_value_ts(vg_buf_t *b, unsigned vnum, double value, unsigned tnum, int64_t ts) {
    if (double_bits(value)) {
        put_tag(b, vnum, WT_I64);
        put_fixed64(b, double_bits(value));
    }
    if (ts) {
        put_tag(b, tnum, WT_VARINT);
        put_varint(b, (uint64_t)ts);
    }
}

static size_t exemplar_size(const ingest_rw_exemplar_in_t *e) {
    size_t n = value_ts_size(e->value, e->timestamp_ms);
    for (size_t i = 0; i < e->n_labels; i++)
        n += nested_size(label_size(&e->labels[i]));
    return n;
}

void ingest_rw_writer_init(ingest_rw_writer_t *w) { memset(w, 0, sizeof *w); }

void ingest_rw_writer_add_series(ingest_rw_writer_t *w, const ingest_rw_label_t *labels,
                                 size_t n_labels, const ingest_rw_sample_t *samples,
                                 size_t n_samples, const ingest_rw_exemplar_in_t *exemplars,
                                 size_t n_exemplars) {
    size_t size = 0;
    for (size_t i = 0; i < n_labels; i++)
        size += nested_size(label_size(&labels[i]));
    for (size_t i = 0; i < n_samples; i++)
        size += nested_size(value_ts_size(samples[i].value, samples[i].timestamp_ms));
    for (size_t i = 0; i < n_exemplars; i++)
        size += nested_size(exemplar_size(&exemplars[i]));

    vg_buf_t *b = &w->pb;
    vg_buf_reserve(b, nested_size(size));
    put_tag(b, 1, WT_LEN);
    put_varint(b, size);
    for (size_t i = 0; i < n_labels; i++)
        put_label(b, 1, &labels[i]);
    for (size_t i = 0; i < n_samples; i++) {
        const ingest_rw_sample_t *s = &samples[i];
        put_tag(b, 2, WT_LEN);
        put_varint(b, value_ts_size(s->value, s->timestamp_ms));
        put_value_ts(b, 1, s->value, 2, s->timestamp_ms);
    }
    for (size_t i = 0; i < n_exemplars; i++) {
        const ingest_rw_exemplar_in_t *e = &exemplars[i];
        put_tag(b, 3, WT_LEN);
        put_varint(b, exemplar_size(e));
        for (size_t k = 0; k < e->n_labels; k++)
            put_label(b, 1, &e->labels[k]);
        put_value_ts(b, 2, e->value, 3, e->timestamp_ms);
    }
    w->n_series++;
    w->n_samples += n_samples;
}

void ingest_rw_writer_add_metadata(ingest_rw_writer_t *w, int type, const char *family_name,
                                   const char *help, const char *unit) {
    size_t name_len = family_name ? strlen(family_name) : 0;
    size_t help_len = help ? strlen(help) : 0;
    size_t unit_len = unit ? strlen(unit) : 0;
    /* An enum is written as the varint of its int32, negative ones in ten
     * bytes, as protobuf does. */
    uint64_t type_wire = (uint64_t)(int64_t)type;
    size_t size = (type ? 1 + varint_len(type_wire) : 0) + str_field_size(name_len) +
                  str_field_size(help_len) + str_field_size(unit_len);
    vg_buf_t *b = &w->pb;
    put_tag(b, 3, WT_LEN);
    put_varint(b, size);
    if (type) {
        put_tag(b, 1, WT_VARINT);
        put_varint(b, type_wire);
    }
    put_str_field(b, 2, family_name, name_len);
    put_str_field(b, 4, help, help_len);
    put_str_field(b, 5, unit, unit_len);
    w->n_metadata++;
}

void ingest_rw_writer_finish(const ingest_rw_writer_t *w, vg_buf_t *out) {
    const char *src = w->pb.len ? w->pb.data : "";
    size_t max = snappy_max_compressed_length(w->pb.len);
    vg_buf_reserve(out, max);
    size_t n = max;
    /* Compression cannot fail with a buffer of the maximal size. */
    if (snappy_compress(src, w->pb.len, out->data + out->len, &n) != SNAPPY_OK) abort();
    out->len += n;
    out->data[out->len] = '\0';
}

void ingest_rw_writer_reset(ingest_rw_writer_t *w) {
    vg_buf_reset(&w->pb);
    w->n_series = w->n_samples = w->n_metadata = 0;
}

void ingest_rw_writer_free(ingest_rw_writer_t *w) {
    vg_buf_free(&w->pb);
    memset(w, 0, sizeof *w);
}
