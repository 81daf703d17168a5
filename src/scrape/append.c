/* This file implements the heart of a scrape, after Prometheus's
 * scrapeLoop.append and report: it walks the exposition with the pull
 * parser, finds each series in the target's cache (or builds its labels:
 * target labels attached with honor_labels or the exported_ prefix rule,
 * metric_relabel_configs, validity and label limits), queues the samples
 * on the appender, counts the sample limit, marks series that disappeared
 * since the previous scrape stale, and appends the synthetic series. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scrape_int.h"

static const char *const report_names[5] = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added"};

void scrape_worker_init(scrape_worker_t *w, tsdb_t *db) {
    memset(w, 0, sizeof *w);
    w->app = tsdb_appender_new(db);
    w->b = labels_builder_new();
}

void scrape_worker_free(scrape_worker_t *w) {
    if (w->app) tsdb_appender_free(w->app);
    if (w->b) labels_builder_free(w->b);
    if (w->parser_ready) expfmt_parser_free(&w->parser);
    free(w->pairs);
    memset(w, 0, sizeof *w);
}

void scrape_loop_init(scrape_loop_t *l, const labels_t *target_labels, pthread_mutex_t *meta_lock) {
    memset(l, 0, sizeof *l);
    scrape_cache_init(&l->cache, meta_lock);
    l->target_labels = target_labels;
    /* Prometheus's mutateReportSampleLabels: target labels over the name. */
    labels_builder_t *b = labels_builder_new();
    for (size_t i = 0; i < 5; i++) {
        labels_builder_reset(b, l->target_labels);
        labels_builder_set_metric_name(b, report_names[i], strlen(report_names[i]));
        l->report_lsets[i] = labels_builder_labels(b);
    }
    labels_builder_free(b);
}

void scrape_loop_free(scrape_loop_t *l) {
    scrape_cache_free(&l->cache);
    for (size_t i = 0; i < 5; i++)
        labels_free(l->report_lsets[i]);
    memset(l, 0, sizeof *l);
}

/* --------------------------------------------------------- mutation */

typedef struct conflict {
    char *name; /* heap; grows with exported_ prefixes */
    const char *value;
    size_t value_len;
} conflict_t;

static bool has_name(const labels_t *ls, const char *n, size_t len) {
    return labels_get(ls, n, len, NULL) != NULL;
}

static int conflict_cmp(const void *a, const void *b) {
    size_t x = strlen(((const conflict_t *)a)->name), y = strlen(((const conflict_t *)b)->name);
    return x < y ? -1 : x > y;
}

/* Prometheus's mutateSampleLabels without the relabeling: exposed is the
 * series as scraped, the result is left in b. */
static void mutate(labels_builder_t *b, const labels_t *exposed, const labels_t *target,
                   bool honor) {
    labels_builder_reset(b, exposed);
    size_t nt = labels_len(target);
    if (honor) {
        for (size_t i = 0; i < nt; i++) {
            labels_label_t l = labels_at(target, i);
            if (!has_name(exposed, l.name, l.name_len))
                labels_builder_set(b, l.name, l.name_len, l.value, l.value_len);
        }
        return;
    }
    conflict_t *conf = NULL;
    size_t n_conf = 0;
    for (size_t i = 0; i < nt; i++) {
        labels_label_t l = labels_at(target, i);
        size_t vlen;
        const char *v = labels_get(exposed, l.name, l.name_len, &vlen);
        if (v && vlen) {
            if (!conf) conf = vg_calloc(nt, sizeof *conf);
            conf[n_conf].name = vg_strndup(l.name, l.name_len);
            conf[n_conf].value = v;
            conf[n_conf].value_len = vlen;
            n_conf++;
        }
        labels_builder_set(b, l.name, l.name_len, l.value, l.value_len);
    }
    if (!n_conf) return;
    /* resolveConflictingExposedLabels: shortest names first, each gets
     * "exported_" prefixes until the name is free. qsort is not stable, but
     * names of equal length differ, and the result does not depend on the
     * order among them except through collisions with each other, which the
     * loop below checks against the ones already renamed, as Prometheus. */
    qsort(conf, n_conf, sizeof *conf, conflict_cmp);
    for (size_t i = 0; i < n_conf; i++) {
        for (;;) {
            size_t len = strlen(conf[i].name);
            char *nn = vg_malloc(len + 10);
            memcpy(nn, "exported_", 9);
            memcpy(nn + 9, conf[i].name, len + 1);
            free(conf[i].name);
            conf[i].name = nn;
            size_t nl = len + 9;
            bool taken = has_name(exposed, nn, nl) || has_name(target, nn, nl);
            for (size_t k = 0; k < i && !taken; k++)
                if (strcmp(conf[k].name, nn) == 0) taken = true;
            if (!taken) break;
        }
    }
    for (size_t i = 0; i < n_conf; i++) {
        labels_builder_set(b, conf[i].name, strlen(conf[i].name), conf[i].value, conf[i].value_len);
        free(conf[i].name);
    }
    free(conf);
}

/* ------------------------------------------------------------ append */

typedef struct stale_ctx {
    scrape_worker_t *w;
    int64_t t;
} stale_ctx_t;

static void append_stale(scrape_entry_t *e, void *ud) {
    stale_ctx_t *c = ud;
    /* Out-of-order and duplicate answers are expected when a target comes
     * back; they are ignored as Prometheus ignores them. */
    tsdb_appender_add(c->w->app, e->lset, &e->ref, c->t, scrape_stale_nan(), NULL);
}

/* Builds the exposed label set of the current sample; NULL on duplicate
 * label names. */
static labels_t *exposed_labels(scrape_worker_t *w, const expfmt_parser_t *p) {
    size_t n = p->n_labels + 1;
    if (n > w->pairs_cap) {
        w->pairs_cap = n * 2;
        w->pairs = vg_realloc(w->pairs, w->pairs_cap * sizeof *w->pairs);
    }
    w->pairs[0] =
        (labels_label_t){LABELS_METRIC_NAME, p->name.ptr, LABELS_METRIC_NAME_LEN, p->name.len};
    for (size_t i = 0; i < p->n_labels; i++)
        w->pairs[i + 1] = (labels_label_t){p->labels[i].name.ptr, p->labels[i].value.ptr,
                                           p->labels[i].name.len, p->labels[i].value.len};
    labels_t *ls = NULL;
    if (labels_from_pairs(w->pairs, n, &ls, NULL) != VG_OK) return NULL;
    return ls;
}

int scrape_loop_append(scrape_worker_t *w, scrape_loop_t *l, const scrape_sample_cfg_t *cfg,
                       const char *body, size_t len, expfmt_format_t format, int64_t t,
                       scrape_result_t *res, vg_err_t *err) {
    memset(res, 0, sizeof *res);
    scrape_cache_t *c = &l->cache;
    expfmt_parser_t *p = &w->parser;
    if (w->parser_ready) {
        expfmt_parser_reset(p, body, len, format, 0);
    } else {
        expfmt_parser_init(p, body, len, format, 0);
        w->parser_ready = true;
    }
    size_t appended = 0; /* samples the limit counts */
    int rc = VG_OK;
    for (;;) {
        int et = expfmt_parser_next(p, err);
        if (et < 0) {
            rc = et;
            break;
        }
        if (et == EXPFMT_ENTRY_EOF) break;
        switch (et) {
        case EXPFMT_ENTRY_HELP:
            scrape_cache_set_help(c, p->name.ptr, p->name.len, p->text.ptr, p->text.len);
            continue;
        case EXPFMT_ENTRY_TYPE:
            scrape_cache_set_type(c, p->name.ptr, p->name.len, p->type);
            continue;
        case EXPFMT_ENTRY_UNIT:
            scrape_cache_set_unit(c, p->name.ptr, p->name.len, p->text.ptr, p->text.len);
            continue;
        case EXPFMT_ENTRY_SAMPLE: break;
        default: continue;
        }
        res->total++;
        int64_t ts = t;
        bool explicit_ts = cfg->honor_timestamps && p->has_timestamp;
        if (explicit_ts) ts = p->timestamp_ms;

        uint64_t kh = scrape_cache_key_hash(p->series.ptr, p->series.len);
        scrape_entry_t *e = scrape_cache_get(c, p->series.ptr, p->series.len, kh);
        bool cached = e != NULL;
        if (e && !e->lset) continue; /* dropped by metric relabeling */
        if (!e) {
            labels_t *exposed = exposed_labels(w, p);
            if (!exposed) {
                rc = vg_err_set(err, VG_ERR_INPUT, "label name is not unique in %.*s",
                                (int)(p->series.len < 200 ? p->series.len : 200), p->series.ptr);
                break;
            }
            /* The builder borrows exposed until its next reset. */
            mutate(w->b, exposed, l->target_labels, cfg->honor_labels);
            bool keep = labels_relabel_apply(cfg->metric_relabel, w->b);
            labels_t *ls = keep && labels_builder_len(w->b) ? labels_builder_labels(w->b) : NULL;
            labels_builder_reset(w->b, NULL);
            labels_free(exposed);
            if (!ls) {
                scrape_cache_add(c, p->series.ptr, p->series.len, kh, 0, NULL);
                continue;
            }
            size_t nlen = 0;
            if (!labels_metric_name(ls, &nlen) || nlen == 0) {
                labels_free(ls);
                rc = vg_err_set(err, VG_ERR_INPUT, "__name__ label is missing");
                break;
            }
            if (labels_validate(ls, false, NULL) != VG_OK) {
                vg_buf_t s = VG_BUF_INIT;
                labels_format(ls, &s);
                rc = vg_err_set(err, VG_ERR_INPUT, "invalid metric name or label names: %.300s",
                                s.data);
                vg_buf_free(&s);
                labels_free(ls);
                break;
            }
            if (labels_check_limits(ls, &cfg->limits, err) != VG_OK) {
                labels_free(ls);
                res->label_limit_hit = true;
                rc = VG_ERR_LIMIT;
                break;
            }
            e = scrape_cache_add(c, p->series.ptr, p->series.len, kh, 0, ls);
        }
        /* The sample limit counts samples after relabeling; the scrape
         * goes on so the totals are right, as Prometheus's limitAppender. */
        if (cfg->sample_limit && appended >= cfg->sample_limit) {
            res->sample_limit_hit = true;
            res->added++;
            continue;
        }
        appended++;
        int arc = tsdb_appender_add(w->app, e->lset, &e->ref, ts, p->value, NULL);
        switch (arc) {
        case VG_OK:
            if (!explicit_ts) scrape_cache_track(c, e);
            if (!cached) res->series_added++;
            break;
        case TSDB_ERR_OUT_OF_ORDER: res->n_out_of_order++; break;
        case TSDB_ERR_DUPLICATE: res->n_duplicate++; break;
        case TSDB_ERR_TOO_OLD: res->n_out_of_bounds++; break;
        default:
            /* A series over the store's limits: the sample is lost, the
             * scrape goes on (the store counts it). */
            break;
        }
        res->added++;
    }
    if (rc == VG_OK && res->sample_limit_hit) {
        res->series_added = 0;
        rc = vg_err_set(err, VG_ERR_LIMIT, "sample limit exceeded");
    }
    if (rc != VG_OK) return rc;
    stale_ctx_t sc = {w, t};
    scrape_cache_each_stale(c, append_stale, &sc);
    scrape_cache_iter_done(c, len > 0);
    return VG_OK;
}

void scrape_loop_append_failed(scrape_worker_t *w, scrape_loop_t *l, int64_t t) {
    scrape_cache_untrack_all(&l->cache);
    stale_ctx_t sc = {w, t};
    scrape_cache_each_stale(&l->cache, append_stale, &sc);
    scrape_cache_iter_done(&l->cache, false);
}

void scrape_loop_report(scrape_worker_t *w, scrape_loop_t *l, int64_t t, double duration_s,
                        const scrape_result_t *res, bool ok) {
    double v[5] = {ok ? 1 : 0, duration_s, (double)res->total, (double)res->added,
                   (double)res->series_added};
    for (size_t i = 0; i < 5; i++)
        tsdb_appender_add(w->app, l->report_lsets[i], &l->report_refs[i], t, v[i], NULL);
}

void scrape_loop_stale_all(scrape_worker_t *w, scrape_loop_t *l, int64_t t) {
    stale_ctx_t sc = {w, t};
    scrape_cache_each_prev(&l->cache, append_stale, &sc);
    for (size_t i = 0; i < 5; i++)
        tsdb_appender_add(w->app, l->report_lsets[i], &l->report_refs[i], t, scrape_stale_nan(),
                          NULL);
}
