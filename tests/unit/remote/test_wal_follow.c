/* Following the tsdb's WAL (tsdb_wal_reader_*), as a remote_write queue
 * does: from the end or from a saved position, across segments and
 * restarts, with holds that keep segments through a checkpoint and limits
 * that let them go. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsdb/tsdb.h"

static char dir[64];

static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/vigil-walfollow-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state) {
    (void)state;
    vg_remove_all(dir, NULL);
    return 0;
}

static tsdb_t *open_db(void) {
    tsdb_options_t o = {.dir = dir, .retention_ms = 100LL * 365 * 24 * 3600 * 1000};
    vg_err_t err = {0};
    tsdb_t *db = tsdb_open(&o, &err);
    if (!db) fail_msg("open: %s", err.msg);
    return db;
}

/* Appends one batch: samples t..t+n-1 of series m{i="0".."k-1"}. */
static void append(tsdb_t *db, int k, int64_t t, int n) {
    tsdb_appender_t *a = tsdb_appender_new(db);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < k; i++) {
            char v[16];
            snprintf(v, sizeof v, "%d", i);
            labels_t *ls = labels_from_strings("__name__", "m", "i", v, NULL);
            vg_err_t err = {0};
            assert_int_equal(tsdb_appender_add(a, ls, NULL, t + j, (double)(t + j), &err), VG_OK);
            labels_free(ls);
        }
    vg_err_t err = {0};
    assert_int_equal(tsdb_appender_commit(a, &err), VG_OK);
    tsdb_appender_free(a);
}

typedef struct seen {
    uint64_t refs[64];
    size_t n_series;
    size_t n_samples;
    int64_t first_t, last_t;
    size_t records;
    tsdb_wal_pos_t last_pos;
    bool ordered;
} seen_t;

static int on_series(void *ud, uint64_t ref, const labels_label_t *l, size_t n) {
    seen_t *s = ud;
    assert_int_equal(n, 2);
    assert_memory_equal(l[0].name, "__name__", 8);
    if (s->n_series < 64) s->refs[s->n_series] = ref;
    s->n_series++;
    return 0;
}

static int on_sample(void *ud, uint64_t ref, int64_t t, double v) {
    seen_t *s = ud;
    (void)ref;
    assert_true(v == (double)t);
    if (s->n_samples == 0)
        s->first_t = t;
    else if (t < s->last_t)
        s->ordered = false;
    s->last_t = t;
    s->n_samples++;
    return 0;
}

static int on_end(void *ud, const tsdb_wal_pos_t *p) {
    seen_t *s = ud;
    assert_true(p->segment > s->last_pos.segment ||
                (p->segment == s->last_pos.segment && p->offset > s->last_pos.offset));
    s->last_pos = *p;
    s->records++;
    return 0;
}

static const tsdb_wal_visitor_t visitor = {on_series, on_sample, on_end};

static void drain(tsdb_wal_reader_t *r, seen_t *s) {
    vg_err_t err = {0};
    int rc;
    while ((rc = tsdb_wal_reader_read(r, &visitor, s, 0, &err)) > 0) {
    }
    assert_int_equal(rc, 0);
}

static void test_from_end_then_live(void **state) {
    (void)state;
    tsdb_t *db = open_db();
    append(db, 3, 1000, 10);
    seen_t s = {.ordered = true};
    tsdb_wal_reader_t *r;
    bool lost = true;
    vg_err_t err = {0};
    assert_int_equal(tsdb_wal_reader_open(db, NULL, &visitor, &s, &r, &lost, &err), VG_OK);
    assert_false(lost);
    assert_int_equal(s.n_series, 3);  /* the series so far are known... */
    assert_int_equal(s.n_samples, 0); /* ...but old samples are not sent */
    drain(r, &s);
    assert_int_equal(s.n_samples, 0);
    append(db, 3, 2000, 5);
    append(db, 4, 3000, 1); /* a new series */
    drain(r, &s);
    assert_int_equal(s.n_series, 4);
    assert_int_equal(s.n_samples, 15 + 4);
    assert_true(s.ordered);
    assert_int_equal(s.first_t, 2000);
    tsdb_wal_pos_t p;
    tsdb_wal_reader_pos(r, &p);
    assert_int_equal(p.segment, s.last_pos.segment);
    assert_int_equal(p.offset, s.last_pos.offset);
    /* a read with a timeout waits and is woken by an append */
    double t0 = vg_time_mono();
    assert_int_equal(tsdb_wal_reader_read(r, &visitor, &s, 100, &err), 0);
    assert_true(vg_time_mono() - t0 >= 0.09);
    tsdb_wal_reader_free(r);
    tsdb_close(db);
}

static void test_resume_from_position_across_restart(void **state) {
    (void)state;
    tsdb_t *db = open_db();
    append(db, 2, 1000, 5);
    seen_t s = {.ordered = true};
    tsdb_wal_reader_t *r;
    vg_err_t err = {0};
    tsdb_wal_pos_t start = {0, 0};
    /* from the very beginning of segment 0 */
    assert_int_equal(tsdb_wal_reader_open(db, &start, &visitor, &s, &r, NULL, &err), VG_OK);
    drain(r, &s);
    assert_int_equal(s.n_samples, 10);
    tsdb_wal_pos_t saved;
    tsdb_wal_reader_pos(r, &saved);
    tsdb_wal_reader_free(r);
    /* more data, then a clean restart: the checkpoint would delete the
     * segment, but the hold keeps it */
    tsdb_wal_hold(db, "q", saved.segment);
    append(db, 2, 2000, 7);
    tsdb_close(db);
    db = open_db();
    append(db, 2, 3000, 3);
    seen_t s2 = {.ordered = true};
    bool lost = true;
    assert_int_equal(tsdb_wal_reader_open(db, &saved, &visitor, &s2, &r, &lost, &err), VG_OK);
    assert_false(lost);
    assert_true(s2.n_series >= 2);
    drain(r, &s2);
    assert_int_equal(s2.n_samples, 14 + 6); /* everything after the position, nothing before */
    assert_int_equal(s2.first_t, 2000);
    assert_true(s2.last_pos.segment > saved.segment); /* it crossed into later segments */
    tsdb_wal_reader_free(r);
    tsdb_close(db);
}

static void test_without_hold_the_segment_goes(void **state) {
    (void)state;
    tsdb_t *db = open_db();
    append(db, 2, 1000, 5);
    tsdb_wal_pos_t saved = {0, 8};
    tsdb_close(db); /* checkpoint deletes segment 0 */
    db = open_db();
    append(db, 2, 2000, 4);
    seen_t s = {.ordered = true};
    tsdb_wal_reader_t *r;
    bool lost = false;
    vg_err_t err = {0};
    assert_int_equal(tsdb_wal_reader_open(db, &saved, &visitor, &s, &r, &lost, &err), VG_OK);
    assert_true(lost);
    assert_int_equal(tsdb_wal_reader_lost(r), 1);
    assert_int_equal(s.n_series, 2); /* from the checkpoint */
    drain(r, &s);
    assert_int_equal(s.n_samples, 8); /* what the surviving segments hold */
    tsdb_wal_reader_free(r);
    tsdb_close(db);
}

static void test_hold_limits(void **state) {
    (void)state;
    tsdb_t *db = open_db();
    append(db, 2, 1000, 5);
    tsdb_wal_hold(db, "dead-receiver", 0);
    tsdb_wal_hold_limits(db, 1, 0); /* one byte: nothing may be kept */
    tsdb_close(db);
    db = open_db();
    tsdb_wal_pos_t saved = {0, 8};
    seen_t s = {.ordered = true};
    tsdb_wal_reader_t *r;
    bool lost = false;
    vg_err_t err = {0};
    assert_int_equal(tsdb_wal_reader_open(db, &saved, &visitor, &s, &r, &lost, &err), VG_OK);
    assert_true(lost);
    tsdb_wal_reader_free(r);
    /* and a released hold keeps nothing either */
    append(db, 2, 2000, 2);
    tsdb_wal_hold_limits(db, 0, 0);
    tsdb_wal_hold(db, "gone", 1);
    tsdb_wal_release(db, "gone");
    tsdb_close(db);
    db = open_db();
    saved = (tsdb_wal_pos_t){1, 8};
    lost = false;
    assert_int_equal(tsdb_wal_reader_open(db, &saved, &visitor, &s, &r, &lost, &err), VG_OK);
    assert_true(lost);
    tsdb_wal_reader_free(r);
    tsdb_close(db);
}

static void test_labels_by_ref(void **state) {
    (void)state;
    tsdb_t *db = open_db();
    append(db, 1, 1000, 1);
    seen_t s = {.ordered = true};
    tsdb_wal_reader_t *r;
    vg_err_t err = {0};
    assert_int_equal(tsdb_wal_reader_open(db, NULL, &visitor, &s, &r, NULL, &err), VG_OK);
    assert_int_equal(s.n_series, 1);
    labels_t *ls = tsdb_series_labels_by_ref(db, s.refs[0]);
    assert_non_null(ls);
    vg_buf_t b = VG_BUF_INIT;
    labels_format(ls, &b);
    assert_string_equal(b.data, "{__name__=\"m\", i=\"0\"}");
    vg_buf_free(&b);
    labels_free(ls);
    assert_null(tsdb_series_labels_by_ref(db, 999999));
    tsdb_wal_reader_free(r);
    tsdb_close(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_from_end_then_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_from_position_across_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_hold_the_segment_goes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labels_by_ref, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
