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

#endif
