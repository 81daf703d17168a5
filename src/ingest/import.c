/* This file implements import: samples with their own timestamps, in text
 * 0.0.4 or OpenMetrics, appended to the tsdb in batches — the body of
 * VictoriaMetrics's /api/v1/import/prometheus and the work of `vigil
 * import`. The input is parsed once to the end before anything is stored,
 * so a malformed request leaves the store untouched; then it is parsed
 * again and appended. Samples the store refuses (out of order, duplicate,
 * too old, invalid labels) are counted and skipped: a backfill should not
 * fail as a whole because one series overlaps data already stored. */
#include "ingest.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_BATCH 50000

typedef struct import_ctx {
    tsdb_appender_t *app;
    const ingest_import_options_t *o;
    labels_label_t *pairs;
    size_t pairs_cap;
    /* The previous sample's series, reused while the input repeats it (an
     * OpenMetrics backfill lists each series' samples one after another). */
    vg_buf_t last_key;
    labels_t *last_ls;
    uint64_t last_ref;
    bool last_valid;
} import_ctx_t;

/* Builds the label set of the current sample: its name, its labels and
 * the extra labels, which replace labels of the same name. */
static labels_t *sample_labels(import_ctx_t *c, const expfmt_parser_t *p) {
    size_t need = p->n_labels + c->o->n_extra + 1;
    if (need > c->pairs_cap) {
        c->pairs_cap = need * 2;
        c->pairs = vg_realloc(c->pairs, c->pairs_cap * sizeof *c->pairs);
    }
    size_t k = 0;
    c->pairs[k++] =
        (labels_label_t){LABELS_METRIC_NAME, p->name.ptr, LABELS_METRIC_NAME_LEN, p->name.len};
    for (size_t i = 0; i < p->n_labels; i++) {
        const expfmt_label_ref_t *l = &p->labels[i];
        bool replaced = false;
        for (size_t e = 0; e < c->o->n_extra && !replaced; e++)
            replaced = c->o->extra[e].name_len == l->name.len &&
                       memcmp(c->o->extra[e].name, l->name.ptr, l->name.len) == 0;
        if (!replaced)
            c->pairs[k++] = (labels_label_t){l->name.ptr, l->value.ptr, l->name.len, l->value.len};
    }
    for (size_t e = 0; e < c->o->n_extra; e++)
        c->pairs[k++] = c->o->extra[e];
    labels_t *ls;
    if (labels_from_pairs(c->pairs, k, &ls, NULL) != VG_OK) return NULL;
    if (labels_validate(ls, false, NULL) != VG_OK) {
        labels_free(ls);
        return NULL;
    }
    return ls;
}

static int import_sample(import_ctx_t *c, const expfmt_parser_t *p, ingest_import_result_t *r,
                         vg_err_t *err) {
    if (!c->last_key.data || c->last_key.len != p->series.len ||
        memcmp(c->last_key.data, p->series.ptr, p->series.len) != 0) {
        vg_buf_reset(&c->last_key);
        vg_buf_append(&c->last_key, p->series.ptr, p->series.len);
        labels_free(c->last_ls);
        c->last_ls = sample_labels(c, p);
        c->last_ref = 0;
        c->last_valid = c->last_ls != NULL;
    }
    if (!c->last_valid) {
        r->invalid++;
        return VG_OK;
    }
    int64_t t = p->has_timestamp ? p->timestamp_ms : c->o->default_ts_ms;
    int rc = tsdb_appender_add(c->app, c->last_ls, &c->last_ref, t, p->value, NULL);
    switch (rc) {
    case VG_OK: r->samples++; return VG_OK;
    case TSDB_ERR_OUT_OF_ORDER: r->out_of_order++; return VG_OK;
    case TSDB_ERR_DUPLICATE: r->duplicates++; return VG_OK;
    case TSDB_ERR_TOO_OLD: r->too_old++; return VG_OK;
    case TSDB_ERR_LABELS:
    case TSDB_ERR_SERIES_LIMIT: r->invalid++; return VG_OK;
    default: return vg_err_set(err, rc, "cannot append a sample");
    }
}

int ingest_import(tsdb_t *db, const char *data, size_t len, const ingest_import_options_t *o,
                  ingest_import_result_t *out, vg_err_t *err) {
    ingest_import_result_t r = {0};
    if (out) *out = r;
    /* Pass one: the whole input must parse. */
    if (expfmt_parse_check(data, len, o->format, 0, NULL, err) != VG_OK) return VG_ERR_INPUT;
    size_t batch = o->batch ? o->batch : DEFAULT_BATCH;
    import_ctx_t c = {.app = tsdb_appender_new(db), .o = o};
    expfmt_parser_t p;
    expfmt_parser_init(&p, data, len, o->format, 0);
    int rc = VG_OK;
    /* Committed samples; r.samples also counts the pending ones. */
    uint64_t committed = 0;
    for (;;) {
        int e = expfmt_parser_next(&p, err);
        if (e < 0) {
            rc = VG_ERR_INPUT; /* cannot happen after pass one, but be safe */
            break;
        }
        if (e == EXPFMT_ENTRY_EOF) break;
        if (e != EXPFMT_ENTRY_SAMPLE) continue;
        if ((rc = import_sample(&c, &p, &r, err)) != VG_OK) break;
        if (tsdb_appender_pending(c.app) >= batch) {
            if ((rc = tsdb_appender_commit(c.app, err)) != VG_OK) break;
            committed = r.samples;
        }
    }
    if (rc == VG_OK) {
        rc = tsdb_appender_commit(c.app, err);
        if (rc == VG_OK) committed = r.samples;
    } else {
        tsdb_appender_rollback(c.app);
    }
    r.samples = committed;
    expfmt_parser_free(&p);
    tsdb_appender_free(c.app);
    labels_free(c.last_ls);
    vg_buf_free(&c.last_key);
    free(c.pairs);
    if (out) *out = r;
    return rc;
}

int ingest_import_body(tsdb_t *db, const char *content_type, const char *content_encoding,
                       const void *body, size_t len, size_t max_inflated,
                       const ingest_import_options_t *o, ingest_import_result_t *out,
                       vg_err_t *err) {
    ingest_import_options_t opts = *o;
    opts.format = EXPFMT_TEXT_004;
    if (content_type) {
        while (*content_type == ' ')
            content_type++;
        if (strncasecmp(content_type, "application/openmetrics-text", 28) == 0)
            opts.format = EXPFMT_OPENMETRICS;
    }
    vg_buf_t inflated = VG_BUF_INIT;
    if (content_encoding && *content_encoding && strcasecmp(content_encoding, "identity") != 0) {
        if (strcasecmp(content_encoding, "gzip") != 0) {
            if (out) memset(out, 0, sizeof *out);
            return vg_err_set(err, INGEST_ERR_MEDIA,
                              "unsupported Content-Encoding %s: only gzip is accepted",
                              content_encoding);
        }
        if (expfmt_gzip_inflate(body, len, max_inflated, &inflated, err) != VG_OK) {
            vg_buf_free(&inflated);
            if (out) memset(out, 0, sizeof *out);
            return err && err->code == VG_ERR_LIMIT ? VG_ERR_LIMIT : VG_ERR_INPUT;
        }
        body = inflated.data ? inflated.data : "";
        len = inflated.len;
    }
    int rc = ingest_import(db, body, len, &opts, out, err);
    vg_buf_free(&inflated);
    return rc;
}
