/*
 * ingest — the paths that push samples into the store: Prometheus
 * remote_write (and, later, the Pushgateway API, OTLP metrics and import).
 *
 * What it does: decodes a request, validates it as the peer does, and
 * appends it to the tsdb in one batch that is committed (WAL first) or
 * refused as a whole.
 *
 * What it owns: nothing beyond a call; decoders are per call.
 *
 * Threads: any HTTP worker thread; every call is independent.
 */
#ifndef VG_INGEST_H
#define VG_INGEST_H

#include "tsdb/tsdb.h"

/* Outcomes besides VG_OK; the web layer maps each to its status code. */
#define INGEST_ERR_MEDIA (-200)      /* unsupported Content-Type/Encoding: 415 */
#define INGEST_ERR_BAD_SAMPLE (-201) /* out of order, duplicate, out of bounds: 400 */

typedef struct ingest_result {
    uint64_t series;
    uint64_t samples;
    uint64_t dropped_invalid; /* samples of series with invalid labels, dropped */
} ingest_result_t;

/* Handles one remote_write 1.0 request body (borrowed). Returns VG_OK (the
 * sender gets 204), VG_ERR_INPUT (malformed: 400), VG_ERR_LIMIT (too big:
 * 413), INGEST_ERR_MEDIA (415), INGEST_ERR_BAD_SAMPLE (400, nothing of the
 * request stored, as Prometheus does), TSDB_ERR_SERIES_LIMIT (400) or
 * VG_ERR_IO (the WAL write failed: 500, the sender retries). */
int ingest_remote_write(tsdb_t *db, const char *content_type, const char *content_encoding,
                        const void *body, size_t len, ingest_result_t *out, vg_err_t *err);

/* ------------------------------------------------------------ pushgateway */

/* The groups pushed through the Pushgateway API (PUT/POST/DELETE
 * /metrics/job/<job>{/<label>/<value>}), kept in memory and appended to
 * the tsdb at push time (in its WAL before the push is answered). A
 * writer thread rewrites the state file atomically within a second of a
 * change, and ingest_push_free writes it a last time. One mutex
 * serialises changes; any thread may call. */
typedef struct ingest_push ingest_push_t;

/* Opens the store, loading state_path when it exists (NULL: memory only).
 * NULL with err set when the file exists but cannot be read. */
ingest_push_t *ingest_push_open(const char *state_path, vg_err_t *err);
/* Stops the writer thread, writes the state file if it changed, frees. */
void ingest_push_free(ingest_push_t *p);
/* Writes the state file now if anything changed since the last write. */
int ingest_push_flush(ingest_push_t *p, vg_err_t *err);
size_t ingest_push_n_groups(ingest_push_t *p);

/* A grouping key: label names (sorted, job included) and their values,
 * which may be empty. Owned by the struct; free with ingest_push_key_free. */
typedef struct ingest_push_key {
    size_t n;
    char **names;
    char **values;
} ingest_push_key_t;

/* Parses the decoded URL path "/metrics/job/<job>{/<name>/<value>}" or
 * "/metrics/job@base64/<job>..." (a name ending in @base64 marks a
 * base64url value, '=' padding optional). VG_ERR_NOTFOUND when the path is
 * not a push path; VG_ERR_INPUT with Pushgateway's message otherwise. */
int ingest_push_key_parse(const char *path, ingest_push_key_t *out, vg_err_t *err);
void ingest_push_key_free(ingest_push_key_t *k);

typedef enum ingest_push_method {
    INGEST_PUSH_PUT = 0,    /* replace every family of the group */
    INGEST_PUSH_POST = 1,   /* replace the families of the same names */
    INGEST_PUSH_DELETE = 2, /* remove the group */
} ingest_push_method_t;

/* Handles one request (body borrowed): text 0.0.4, or delimited protobuf
 * when Content-Type says so; gzip when Content-Encoding is "gzip". db may
 * be NULL (nothing appended); now_ns 0 reads the clock. Returns VG_OK
 * (200 for PUT/POST, 202 for DELETE), VG_ERR_NOTFOUND (404), VG_ERR_INPUT
 * (400, err holds Pushgateway's words) or VG_ERR_IO (500: the WAL write
 * failed; nothing changed). */
int ingest_push_handle(ingest_push_t *p, tsdb_t *db, ingest_push_method_t method, const char *path,
                       const char *content_type, const char *content_encoding, const void *body,
                       size_t len, int64_t now_ns, vg_err_t *err);

/* Removes every group (stale markers for their series). */
int ingest_push_wipe(ingest_push_t *p, tsdb_t *db, vg_err_t *err);

/* Appends every group's metrics in text format 0.0.4 as Pushgateway's
 * /metrics shows them (families sorted, push_time_seconds and
 * push_failure_time_seconds included). */
void ingest_push_render(ingest_push_t *p, vg_buf_t *out);
/* Appends Pushgateway's GET /api/v1/metrics answer. */
void ingest_push_render_json(ingest_push_t *p, vg_buf_t *out);

/* ----------------------------------------------------------------- import */

/* Samples that carry their own timestamps (text 0.0.4 or OpenMetrics),
 * appended to the tsdb: VictoriaMetrics's /api/v1/import/prometheus and
 * `vigil import`. The whole input is parsed before anything is stored, so
 * a parse error stores nothing; samples the store refuses are counted and
 * skipped. */
typedef struct ingest_import_options {
    expfmt_format_t format;
    const labels_label_t *extra; /* set on every series (override), borrowed */
    size_t n_extra;
    int64_t default_ts_ms; /* for samples without a timestamp */
    size_t batch;          /* samples per commit; 0: 50000 */
} ingest_import_options_t;

typedef struct ingest_import_result {
    uint64_t samples;      /* stored */
    uint64_t out_of_order; /* older than the series' newest sample */
    uint64_t duplicates;   /* same timestamp as the newest sample, other value */
    uint64_t too_old;      /* before the retention window */
    uint64_t invalid;      /* invalid labels, or over a series limit */
} ingest_import_result_t;

/* Parses data (borrowed) and appends it. VG_ERR_INPUT with "line L, column
 * C: why" when it does not parse (nothing stored); VG_ERR_IO when a WAL
 * write failed (batches before it stay stored; *out says how many). */
int ingest_import(tsdb_t *db, const char *data, size_t len, const ingest_import_options_t *o,
                  ingest_import_result_t *out, vg_err_t *err);

/* The same for an HTTP body: the format from Content-Type (OpenMetrics
 * when it says application/openmetrics-text, else text 0.0.4), gzip from
 * Content-Encoding; INGEST_ERR_MEDIA for another encoding, VG_ERR_LIMIT
 * when it inflates beyond max_inflated bytes. */
int ingest_import_body(tsdb_t *db, const char *content_type, const char *content_encoding,
                       const void *body, size_t len, size_t max_inflated,
                       const ingest_import_options_t *o, ingest_import_result_t *out,
                       vg_err_t *err);

#endif
