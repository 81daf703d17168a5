/* One scrape body into the store, as Prometheus's scrape loop appends it:
 * the scrape cache, staleness bookkeeping (series that disappear, failed
 * scrapes, targets that go away, explicit timestamps), target labels and
 * the exported_ rule, metric relabeling, limits and the synthetic series. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scrape/scrape_int.h"

static char dir[64];
static tsdb_t *db;
static scrape_worker_t w;
static labels_t *target;
static scrape_loop_t loop;

static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/vigil-scrape-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    tsdb_options_t o = {.dir = dir, .retention_ms = 100LL * 365 * 24 * 3600 * 1000};
    vg_err_t err = {0};
    db = tsdb_open(&o, &err);
    if (!db) fail_msg("open: %s", err.msg);
    scrape_worker_init(&w, db);
    target = labels_from_strings("instance", "h:1", "job", "node", NULL);
    scrape_loop_init(&loop, target, NULL);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    scrape_loop_free(&loop);
    labels_free(target);
    scrape_worker_free(&w);
    tsdb_close(db);
    vg_remove_all(dir, NULL);
    return 0;
}

/* Every sample of the series whose name matches, as "{labels} t:v;..." lines
 * with stale markers written STALE. */
static char *dump(const char *name) {
    labels_matcher_t *m;
    assert_int_equal(
        labels_matcher_new(LABELS_MATCH_REGEXP, "__name__", 8, name, strlen(name), &m, NULL),
        VG_OK);
    tsdb_series_set_t *set;
    assert_int_equal(tsdb_select(db, INT64_MIN, INT64_MAX, &m, 1, 0, &set, NULL), VG_OK);
    vg_buf_t b = VG_BUF_INIT;
    for (size_t i = 0; i < tsdb_series_set_len(set); i++) {
        labels_format(tsdb_series_set_labels(set, i), &b);
        tsdb_iter_t it;
        tsdb_iter_init(&it, set, i);
        while (tsdb_iter_next(&it) == 1) {
            uint64_t bits;
            memcpy(&bits, &it.v, sizeof bits);
            vg_buf_printf(&b, " %lld:", (long long)it.t);
            if (bits == SCRAPE_STALE_NAN_BITS)
                vg_buf_puts(&b, "STALE");
            else
                vg_buf_put_float(&b, it.v);
        }
        tsdb_iter_done(&it);
        vg_buf_putc(&b, '\n');
    }
    tsdb_series_set_free(set);
    labels_matcher_free(m);
    return vg_buf_detach(&b);
}

static void expect(const char *name, const char *want) {
    char *got = dump(name);
    assert_string_equal(got, want);
    free(got);
}

/* Appends a text body at time t and commits; returns the append result. */
static int scrape(const scrape_sample_cfg_t *cfg, const char *body, int64_t t,
                  scrape_result_t *res) {
    vg_err_t err = {0};
    int rc = scrape_loop_append(&w, &loop, cfg, body, strlen(body), EXPFMT_TEXT_004, t, res, &err);
    if (rc != VG_OK) {
        tsdb_appender_rollback(w.app);
        scrape_loop_append_failed(&w, &loop, t);
    }
    scrape_loop_report(&w, &loop, t, 0.5, res, rc == VG_OK);
    assert_int_equal(tsdb_appender_commit(w.app, &err), VG_OK);
    return rc;
}

static const scrape_sample_cfg_t plain = {.honor_timestamps = true};

static void test_staleness(void **state) {
    (void)state;
    scrape_result_t r;
    assert_int_equal(scrape(&plain, "a 1\nb{x=\"1\"} 2\nc 5 500\n", 1000, &r), VG_OK);
    assert_int_equal(r.total, 3);
    assert_int_equal(r.added, 3);
    assert_int_equal(r.series_added, 3);
    /* b disappears: stale at the next scrape; c had an explicit timestamp
     * and is left alone, as Prometheus leaves it. */
    assert_int_equal(scrape(&plain, "a 3\n", 2000, &r), VG_OK);
    assert_int_equal(r.series_added, 0);
    expect("a|b|c", "{__name__=\"a\", instance=\"h:1\", job=\"node\"} 1000:1 2000:3\n"
                    "{__name__=\"b\", instance=\"h:1\", job=\"node\", x=\"1\"} 1000:2 2000:STALE\n"
                    "{__name__=\"c\", instance=\"h:1\", job=\"node\"} 500:5\n");
    /* b comes back: a new sample after the marker, counted as added again
     * (its cache entry was dropped after the scrape that missed it). */
    assert_int_equal(scrape(&plain, "a 4\nb{x=\"1\"} 7\n", 3000, &r), VG_OK);
    assert_int_equal(r.series_added, 1);
    /* A failed scrape (parse error): up 0, every series of the previous
     * scrape stale, nothing of the bad body kept. */
    assert_int_not_equal(scrape(&plain, "a 5\nb{x=\"1\"} 8\n!!!\n", 4000, &r), VG_OK);
    expect("a|b",
           "{__name__=\"a\", instance=\"h:1\", job=\"node\"} 1000:1 2000:3 3000:4 4000:STALE\n"
           "{__name__=\"b\", instance=\"h:1\", job=\"node\", x=\"1\"} 1000:2 2000:STALE "
           "3000:7 4000:STALE\n");
    expect("up", "{__name__=\"up\", instance=\"h:1\", job=\"node\"} 1000:1 2000:1 3000:1 4000:0\n");
    /* A second failure writes no more markers. */
    assert_int_not_equal(scrape(&plain, "!!!", 5000, &r), VG_OK);
    expect("a",
           "{__name__=\"a\", instance=\"h:1\", job=\"node\"} 1000:1 2000:3 3000:4 4000:STALE\n");
    /* Recovery, then the target goes away: everything stale, the synthetic
     * series too. */
    assert_int_equal(scrape(&plain, "a 6\n", 6000, &r), VG_OK);
    scrape_loop_stale_all(&w, &loop, 6500);
    assert_int_equal(tsdb_appender_commit(w.app, NULL), VG_OK);
    expect("a|up", "{__name__=\"a\", instance=\"h:1\", job=\"node\"} 1000:1 2000:3 3000:4 "
                   "4000:STALE 6000:6 6500:STALE\n"
                   "{__name__=\"up\", instance=\"h:1\", job=\"node\"} 1000:1 2000:1 3000:1 "
                   "4000:0 5000:0 6000:1 6500:STALE\n");
}

static void test_cache(void **state) {
    (void)state;
    scrape_result_t r;
    const char *body = "# TYPE m counter\n# HELP m Help text.\nm{a=\"1\"} 1\nm{a=\"2\"} 2\n";
    assert_int_equal(scrape(&plain, body, 1000, &r), VG_OK);
    scrape_cache_t *c = &loop.cache;
    assert_int_equal(c->n, 2);
    const char *key = "m{a=\"1\"}";
    scrape_entry_t *e =
        scrape_cache_get(c, key, strlen(key), scrape_cache_key_hash(key, strlen(key)));
    assert_non_null(e);
    assert_int_not_equal(e->ref, 0);
    labels_t *lset = e->lset;
    uint64_t ref = e->ref;
    /* A steady-state scrape reuses the entry: same label set object and ref. */
    assert_int_equal(scrape(&plain, "m{a=\"1\"} 3\nm{a=\"2\"} 4\n", 2000, &r), VG_OK);
    e = scrape_cache_get(c, key, strlen(key), scrape_cache_key_hash(key, strlen(key)));
    assert_ptr_equal(e->lset, lset);
    assert_int_equal(e->ref, ref);
    assert_int_equal(r.series_added, 0);
    /* The same series written differently is another cache entry but the
     * same series, and is not marked stale. */
    assert_int_equal(scrape(&plain, "m{a=\"1\",} 5\nm{a=\"2\"} 6\n", 3000, &r), VG_OK);
    /* The lookups above count as seen; one more scrape flushes the old
     * spelling. */
    assert_int_equal(scrape(&plain, "m{a=\"1\",} 5\nm{a=\"2\"} 6\n", 3500, &r), VG_OK);
    assert_int_equal(c->n, 2);
    expect("m",
           "{__name__=\"m\", a=\"1\", instance=\"h:1\", job=\"node\"} 1000:1 2000:3 3000:5 3500:5\n"
           "{__name__=\"m\", a=\"2\", instance=\"h:1\", job=\"node\"} 1000:2 2000:4 3000:6 "
           "3500:6\n");
    /* Metadata of the first scrape was kept until a scrape without it. */
    assert_int_equal(c->n_meta, 0);
    assert_int_equal(scrape(&plain, body, 4000, &r), VG_OK);
    assert_int_equal(c->n_meta, 1);
    for (size_t i = 0; i < c->cap_meta; i++) {
        if (!c->meta[i]) continue;
        assert_string_equal(c->meta[i]->name, "m");
        assert_string_equal(c->meta[i]->help, "Help text.");
        assert_true(c->meta[i]->typed);
        assert_int_equal(c->meta[i]->type, EXPFMT_COUNTER);
    }
}

static void test_labels_and_limits(void **state) {
    (void)state;
    labels_relabel_t *rp;
    config_relabel_t rules[1] = {{.source_labels = (const char *[]){"__name__"},
                                  .n_source_labels = 1,
                                  .separator = ";",
                                  .regex = "drop_.*",
                                  .replacement = "$1",
                                  .target_label = "",
                                  .action = CONFIG_RELABEL_DROP}};
    assert_int_equal(labels_relabel_compile(rules, 1, false, &rp, NULL), VG_OK);
    scrape_sample_cfg_t cfg = {.honor_timestamps = true, .metric_relabel = rp};
    scrape_result_t r;
    /* Exposed job and instance conflict with the target's: exported_. */
    assert_int_equal(scrape(&cfg,
                            "x{job=\"j\",exported_job=\"e\"} 1\ndrop_me 1\ny{instance=\"i\"} 2\n",
                            1000, &r),
                     VG_OK);
    assert_int_equal(r.total, 3);
    assert_int_equal(r.added, 2);
    expect("x|y|drop_me",
           "{__name__=\"x\", exported_exported_job=\"j\", exported_job=\"e\", instance=\"h:1\", "
           "job=\"node\"} 1000:1\n"
           "{__name__=\"y\", exported_instance=\"i\", instance=\"h:1\", job=\"node\"} 1000:2\n");
    expect("scrape_samples_post_metric_relabeling",
           "{__name__=\"scrape_samples_post_metric_relabeling\", instance=\"h:1\", job=\"node\"} "
           "1000:2\n");
    /* honor_labels keeps the exposed values. */
    scrape_cache_clear(&loop.cache);
    cfg.honor_labels = true;
    assert_int_equal(scrape(&cfg, "z{job=\"mine\"} 1\n", 2000, &r), VG_OK);
    expect("z", "{__name__=\"z\", instance=\"h:1\", job=\"mine\"} 2000:1\n");
    /* sample_limit: the scrape fails, the totals are still counted. */
    cfg.sample_limit = 2;
    assert_int_equal(scrape(&cfg, "z{job=\"mine\"} 2\nl1 1\nl2 2\n", 3000, &r), VG_ERR_LIMIT);
    assert_true(r.sample_limit_hit);
    assert_int_equal(r.total, 3);
    assert_int_equal(r.added, 3);
    expect("z|l1|l2", "{__name__=\"z\", instance=\"h:1\", job=\"mine\"} 2000:1 3000:STALE\n");
    expect("scrape_samples_scraped",
           "{__name__=\"scrape_samples_scraped\", instance=\"h:1\", job=\"node\"} 1000:3 2000:1 "
           "3000:3\n");
    /* label_limit. */
    cfg.sample_limit = 0;
    cfg.limits.max_labels = 3;
    vg_err_t err = {0};
    assert_int_equal(scrape_loop_append(&w, &loop, &cfg, "q{a=\"1\",b=\"2\"} 1\n", 19,
                                        EXPFMT_TEXT_004, 4000, &r, &err),
                     VG_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "label_limit exceeded"));
    tsdb_appender_rollback(w.app);
    labels_relabel_free(rp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_staleness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labels_and_limits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
