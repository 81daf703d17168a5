/* This file implements the remote_write 1.0 receiver with the semantics of
 * Prometheus's own: invalid label sets are dropped and counted, a sample
 * that is out of order, a conflicting duplicate or more than ten minutes
 * ahead refuses the whole request with 400 (so the sender does not retry
 * it), a storage failure is a 500 (so it does). */
#include "ingest.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest/rw_decode.h"

/* Prometheus's receiver refuses samples this far in the future. */
#define MAX_AHEAD_MS (10 * 60 * 1000)

typedef struct rw_ctx {
    tsdb_appender_t *app;
    int64_t max_t;
    labels_label_t *pairs;
    size_t pairs_cap;
    ingest_result_t *res;
} rw_ctx_t;

static int on_series(void *ud, const ingest_rw_series_t *s, vg_err_t *err) {
    rw_ctx_t *c = ud;
    if (s->n_labels > c->pairs_cap) {
        c->pairs_cap = s->n_labels * 2;
        c->pairs = vg_realloc(c->pairs, c->pairs_cap * sizeof *c->pairs);
    }
    for (size_t i = 0; i < s->n_labels; i++) {
        c->pairs[i].name = s->labels[i].name;
        c->pairs[i].name_len = s->labels[i].name_len;
        c->pairs[i].value = s->labels[i].value;
        c->pairs[i].value_len = s->labels[i].value_len;
    }
    labels_t *ls;
    if (labels_from_pairs(c->pairs, s->n_labels, &ls, err) != VG_OK) return VG_ERR_INPUT;
    c->res->series++;
    ingest_rw_sample_iter_t it;
    ingest_rw_series_samples(s, &it);
    ingest_rw_sample_t smp;
    uint64_t ref = 0;
    int rc = VG_OK;
    while (ingest_rw_sample_iter_next(&it, &smp)) {
        if (smp.timestamp_ms > c->max_t) {
            rc = vg_err_set(err, INGEST_ERR_BAD_SAMPLE, "out of bounds");
            break;
        }
        rc = tsdb_appender_add(c->app, ls, &ref, smp.timestamp_ms, smp.value, err);
        if (rc == TSDB_ERR_OUT_OF_ORDER || rc == TSDB_ERR_DUPLICATE || rc == TSDB_ERR_TOO_OLD) {
            rc = INGEST_ERR_BAD_SAMPLE;
            break;
        }
        if (rc != VG_OK) break;
        c->res->samples++;
    }
    labels_free(ls);
    return rc;
}

int ingest_remote_write(tsdb_t *db, const char *content_type, const char *content_encoding,
                        const void *body, size_t len, ingest_result_t *out, vg_err_t *err) {
    /* Prometheus 1.0 senders set these; a receiver that finds none assumes
     * them, as Prometheus's does. Remote write 2.0 is not spoken yet. */
    if (content_type && *content_type &&
        strncasecmp(content_type, "application/x-protobuf", 22) != 0)
        return vg_err_set(err, INGEST_ERR_MEDIA,
                          "expected application/x-protobuf as the first (media) part, got %s "
                          "content-type",
                          content_type);
    if (content_type && strstr(content_type, "io.prometheus.write.v2"))
        return vg_err_set(err, INGEST_ERR_MEDIA,
                          "io.prometheus.write.v2.Request protobuf message is not accepted by "
                          "this server; accepted [prometheus.WriteRequest]");
    if (content_encoding && *content_encoding && strcasecmp(content_encoding, "snappy") != 0)
        return vg_err_set(err, INGEST_ERR_MEDIA,
                          "%s encoding (compression) is not accepted by this server; only snappy "
                          "is acceptable",
                          content_encoding);
    ingest_result_t res = {0};
    ingest_rw_decoder_t dec;
    ingest_rw_decoder_init(&dec, NULL, VG_INGEST_RW_DROP_INVALID);
    rw_ctx_t ctx = {
        .app = tsdb_appender_new(db), .max_t = vg_time_now_ms() + MAX_AHEAD_MS, .res = &res};
    ingest_rw_handler_t h = {.series = on_series, .ctx = &ctx};
    ingest_rw_stats_t stats = {0};
    int rc = ingest_rw_decoder_decode_body(&dec, body, len, &h, &stats, err);
    if (rc == VG_OK)
        rc = tsdb_appender_commit(ctx.app, err);
    else
        tsdb_appender_rollback(ctx.app);
    res.dropped_invalid = stats.n_samples_dropped;
    tsdb_appender_free(ctx.app);
    ingest_rw_decoder_free(&dec);
    free(ctx.pairs);
    if (out) *out = res;
    return rc;
}
