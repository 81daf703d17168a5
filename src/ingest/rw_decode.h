/*
 * rw_decode.h — internal header of the ingest module (other modules include
 * ingest/ingest.h, never this file).
 *
 * Prometheus remote_write 1.0 on the wire: an HTTP body that is a snappy
 * block (not the framed format) holding one protobuf prometheus.WriteRequest.
 * docs/format/remote-write.md lists the fields vigil reads and writes.
 *
 * Decoding (rw_decode.c) is zero-copy: the decoder walks the decompressed
 * protobuf and calls back once per time series and once per metadata entry
 * with pointers into that buffer; it allocates nothing per series, label or
 * sample. Encoding (rw_encode.c) builds a WriteRequest from series and
 * samples and snappy-compresses it, for remote_write to other stores, for
 * tests and for the benchmark's load generator.
 *
 * Threads: a decoder or a writer belongs to one thread at a time; keep one
 * per HTTP worker thread (or per request) and reuse it. Nothing is global.
 */
#ifndef VG_INGEST_RW_DECODE_H
#define VG_INGEST_RW_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"

/* ---------------------------------------------------------------- values */

/* One label. name and value point into the decoded buffer (or, for the
 * writer, into the caller's strings) and are NOT NUL-terminated. */
typedef struct ingest_rw_label {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} ingest_rw_label_t;

typedef struct ingest_rw_sample {
    int64_t timestamp_ms;
    double value;
} ingest_rw_sample_t;

/* MetricMetadata.MetricType; values the sender may add later are passed on
 * as numbers, callers treat them as UNKNOWN. */
typedef enum ingest_rw_metric_type {
    INGEST_RW_UNKNOWN = 0,
    INGEST_RW_COUNTER = 1,
    INGEST_RW_GAUGE = 2,
    INGEST_RW_HISTOGRAM = 3,
    INGEST_RW_GAUGEHISTOGRAM = 4,
    INGEST_RW_SUMMARY = 5,
    INGEST_RW_INFO = 6,
    INGEST_RW_STATESET = 7,
} ingest_rw_metric_type_t;

/* ---------------------------------------------------------------- limits */

#define VG_INGEST_RW_DEFAULT_MAX_DECODED (64u << 20) /* bytes of protobuf */
#define VG_INGEST_RW_DEFAULT_MAX_LABELS 128          /* per series, per exemplar */
#define VG_INGEST_RW_DEFAULT_MAX_NAME_LEN 1024       /* bytes */
#define VG_INGEST_RW_DEFAULT_MAX_VALUE_LEN 4096      /* bytes */
/* The decoder never accepts more labels than this, whatever it is told:
 * the label scratch array is sized by the limit. */
#define VG_INGEST_RW_HARD_MAX_LABELS 65536

/* Limits the caller passes in; 0 in a field means the default above. Going
 * over one fails the request with VG_ERR_LIMIT and a message that names the
 * series and the limit. */
typedef struct ingest_rw_limits {
    size_t max_decoded_bytes;
    size_t max_labels;
    size_t max_name_len;
    size_t max_value_len;
} ingest_rw_limits_t;

/* Decoder flags. */
/* Series whose labels Prometheus would refuse (a label name or value that is
 * not UTF-8, an empty label name, no __name__ or an empty one, a name given
 * twice) are dropped and counted in the stats instead of failing the whole
 * request. Prometheus's own receiver does this: it answers 204 and counts
 * the samples in prometheus_api_remote_write_invalid_labels_samples_total.
 * Without the flag such a series fails the request with VG_ERR_INPUT.
 * Metadata entries with strings that are not UTF-8 are treated the same. */
#define VG_INGEST_RW_DROP_INVALID 1u

/* ---------------------------------------------------------------- decode */

typedef struct ingest_rw_decoder ingest_rw_decoder_t;

/* One TimeSeries, handed to the series callback. Everything it points to
 * is valid during the callback only (labels sit in the decoder's scratch
 * array; strings point into the protobuf buffer, which lives as long as the
 * caller keeps it — for ingest_rw_decoder_decode_body, until the decoder's
 * next call). The series has already been validated completely, so the
 * iterators below cannot fail. */
typedef struct ingest_rw_series {
    size_t index;                    /* position in the request, from 0 */
    const ingest_rw_label_t *labels; /* in the order the sender wrote them */
    size_t n_labels;
    bool labels_sorted; /* strictly ascending by name (Prometheus sends them so) */
    size_t n_samples;
    size_t n_exemplars;
    size_t n_histograms; /* native histograms: counted, not decoded yet */
    /* private: the TimeSeries message bytes, for the iterators */
    const uint8_t *raw;
    size_t raw_len;
    ingest_rw_decoder_t *decoder;
} ingest_rw_series_t;

/* One Exemplar; labels valid until the iterator's next step. */
typedef struct ingest_rw_exemplar {
    const ingest_rw_label_t *labels;
    size_t n_labels;
    double value;
    int64_t timestamp_ms;
} ingest_rw_exemplar_t;

/* One MetricMetadata entry; strings point into the protobuf buffer. */
typedef struct ingest_rw_metadata {
    size_t index; /* position among the request's metadata, from 0 */
    int type;     /* ingest_rw_metric_type_t, or a newer number */
    const char *family_name;
    size_t family_name_len;
    const char *help;
    size_t help_len;
    const char *unit;
    size_t unit_len;
} ingest_rw_metadata_t;

/* Iterators over a series' samples and exemplars, in wire order. They walk
 * the raw message again rather than filling an array, so a series with a
 * million samples costs no memory. */
typedef struct ingest_rw_sample_iter {
    const uint8_t *p, *end;
} ingest_rw_sample_iter_t;

typedef struct ingest_rw_exemplar_iter {
    const uint8_t *p, *end;
    ingest_rw_decoder_t *decoder;
} ingest_rw_exemplar_iter_t;

/* Callbacks; either may be NULL (the request is then only validated and
 * counted). A callback returns 0 to go on or a negative code to stop: the
 * decoder then returns that code with whatever message the callback put in
 * err. Callbacks may have run for earlier series when the decoder later
 * meets an error, so a caller that needs all-or-nothing either appends into
 * a batch it commits at the end or validates first with NULL callbacks. */
typedef struct ingest_rw_handler {
    int (*series)(void *ctx, const ingest_rw_series_t *series, vg_err_t *err);
    int (*metadata)(void *ctx, const ingest_rw_metadata_t *md, vg_err_t *err);
    void *ctx;
} ingest_rw_handler_t;

/* What one request held. The n_*_dropped counts are non-zero only with
 * VG_INGEST_RW_DROP_INVALID; invalid_msg then says why the first dropped
 * entry was dropped (empty when none was). */
typedef struct ingest_rw_stats {
    size_t decoded_bytes; /* protobuf bytes (after snappy) */
    size_t n_series;      /* delivered to the callback */
    size_t n_samples;
    size_t n_exemplars;
    size_t n_histograms;
    size_t n_metadata;
    size_t n_series_dropped;
    size_t n_samples_dropped; /* samples + histograms of the dropped series */
    size_t n_metadata_dropped;
    char invalid_msg[256];
} ingest_rw_stats_t;

struct ingest_rw_decoder {
    ingest_rw_limits_t limits; /* with defaults filled in */
    unsigned flags;
    ingest_rw_label_t *labels; /* scratch for one series' labels */
    size_t labels_cap;
    ingest_rw_label_t *ex_labels; /* scratch for one exemplar's labels */
    size_t ex_labels_cap;
    vg_buf_t body; /* the decompressed body of decode_body */
};

/* Sets up a decoder; limits may be NULL for all defaults. The decoder owns
 * its scratch memory; release it with ingest_rw_decoder_free. */
void ingest_rw_decoder_init(ingest_rw_decoder_t *d, const ingest_rw_limits_t *limits,
                            unsigned flags);
void ingest_rw_decoder_free(ingest_rw_decoder_t *d);

/* Decodes one WriteRequest from pb (borrowed; it must outlive the use of
 * any pointer handed to the callbacks). Fills *out_stats when not NULL,
 * also on failure (counts up to the error). Returns 0, VG_ERR_INPUT for a
 * malformed message, VG_ERR_LIMIT for a limit, or a callback's code; the
 * message in err reads like "proto: truncated field 2 of TimeSeries at
 * byte 1234" (byte offsets count from the start of the protobuf). */
int ingest_rw_decoder_decode(ingest_rw_decoder_t *d, const void *pb, size_t len,
                             const ingest_rw_handler_t *h, ingest_rw_stats_t *out_stats,
                             vg_err_t *err);

/* Uncompresses an HTTP body (borrowed) into the decoder's own buffer, after
 * checking the announced size against limits.max_decoded_bytes, and
 * decodes it. Strings handed to the callbacks stay valid until the next
 * call on this decoder. Errors as above, plus "snappy: corrupt input" and
 * a VG_ERR_LIMIT when the body would decode to more than the limit. */
int ingest_rw_decoder_decode_body(ingest_rw_decoder_t *d, const void *body, size_t len,
                                  const ingest_rw_handler_t *h, ingest_rw_stats_t *out_stats,
                                  vg_err_t *err);

/* Uncompresses a snappy block (borrowed) into out (reset first, then owned
 * by the caller as before). The announced size is checked against max_len
 * before anything is allocated. Returns 0, VG_ERR_INPUT or VG_ERR_LIMIT. */
int ingest_rw_snappy_uncompress(const void *in, size_t in_len, size_t max_len, vg_buf_t *out,
                                vg_err_t *err);

/* Iterating over a series inside the series callback. */
void ingest_rw_series_samples(const ingest_rw_series_t *s, ingest_rw_sample_iter_t *it);
bool ingest_rw_sample_iter_next(ingest_rw_sample_iter_t *it, ingest_rw_sample_t *out);
void ingest_rw_series_exemplars(const ingest_rw_series_t *s, ingest_rw_exemplar_iter_t *it);
bool ingest_rw_exemplar_iter_next(ingest_rw_exemplar_iter_t *it, ingest_rw_exemplar_t *out);

/* True when s[0..len) is valid UTF-8 as Go's utf8.Valid sees it (no
 * surrogates, no overlong forms, nothing above U+10FFFF). */
bool ingest_rw_utf8_valid(const char *s, size_t len);

/* ---------------------------------------------------------------- encode */

/* Builds one WriteRequest. Append series and metadata in the order they
 * should appear, then ingest_rw_writer_finish compresses it. The writer
 * owns its protobuf buffer; the caller's strings are copied in. Fields at
 * their proto3 default (empty strings, zero timestamps, +0.0 values) are
 * left out as Prometheus's encoder does. */
typedef struct ingest_rw_writer {
    vg_buf_t pb;
    size_t n_series;
    size_t n_samples;
    size_t n_metadata;
} ingest_rw_writer_t;

typedef struct ingest_rw_exemplar_in {
    const ingest_rw_label_t *labels;
    size_t n_labels;
    double value;
    int64_t timestamp_ms;
} ingest_rw_exemplar_in_t;

void ingest_rw_writer_init(ingest_rw_writer_t *w);
/* Appends a TimeSeries; labels, samples and exemplars are borrowed for the
 * call only. n_exemplars may be 0 with exemplars NULL. */
void ingest_rw_writer_add_series(ingest_rw_writer_t *w, const ingest_rw_label_t *labels,
                                 size_t n_labels, const ingest_rw_sample_t *samples,
                                 size_t n_samples, const ingest_rw_exemplar_in_t *exemplars,
                                 size_t n_exemplars);
/* Appends a MetricMetadata entry; help and unit may be NULL. */
void ingest_rw_writer_add_metadata(ingest_rw_writer_t *w, int type, const char *family_name,
                                   const char *help, const char *unit);
/* Snappy-compresses the protobuf built so far and appends it to out (owned
 * by the caller). The writer keeps its content; reset it to start anew. */
void ingest_rw_writer_finish(const ingest_rw_writer_t *w, vg_buf_t *out);
void ingest_rw_writer_reset(ingest_rw_writer_t *w);
void ingest_rw_writer_free(ingest_rw_writer_t *w);

/* Convenience for labels from C strings. */
static inline ingest_rw_label_t ingest_rw_label(const char *name, const char *value) {
    ingest_rw_label_t l = {name, strlen(name), value, strlen(value)};
    return l;
}

#endif
