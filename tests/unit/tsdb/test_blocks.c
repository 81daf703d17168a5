/* Persisted blocks: the head cut into blocks, compaction, reopening,
 * deletion inside blocks, retention, and a damaged block set aside. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsdb/tsdb.h"

#define N_SERIES 40
#define STEP_MS 15000
#define HOURS 9

static char dir[64];
static int64_t t0;

static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/vigil-blocks-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    /* a start 24 hours ago aligned to 6 hours, so that the first 6-hour
     * compaction window holds three whole 2-hour blocks */
    t0 = (vg_time_now_ms() / 21600000 - 4) * 21600000;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    vg_remove_all(dir, NULL);
    return 0;
}

static tsdb_t *open_db(int64_t retention_ms) {
    char d[128];
    snprintf(d, sizeof d, "%s/tsdb", dir);
    tsdb_options_t o = {.dir = d, .retention_ms = retention_ms};
    vg_err_t err = {0};
    tsdb_t *db = tsdb_open(&o, &err);
    if (!db) fail_msg("open: %s", err.msg);
    return db;
}

static double value_of(int s, int64_t t) { return s * 1000.0 + (double)(t - t0) / STEP_MS * 0.5; }

static void fill(tsdb_t *db) {
    tsdb_appender_t *a = tsdb_appender_new(db);
    uint64_t refs[N_SERIES] = {0};
    for (int64_t t = t0; t < t0 + HOURS * 3600000LL; t += STEP_MS) {
        for (int s = 0; s < N_SERIES; s++) {
            char inst[16];
            snprintf(inst, sizeof inst, "i%02d", s);
            labels_t *ls = labels_from_strings("__name__", "m", "instance", inst, NULL);
            assert_int_equal(tsdb_appender_add(a, ls, &refs[s], t + (s % 3), value_of(s, t), NULL),
                             VG_OK);
            labels_free(ls);
        }
        if (tsdb_appender_pending(a) > 5000) assert_int_equal(tsdb_appender_commit(a, NULL), 0);
    }
    assert_int_equal(tsdb_appender_commit(a, NULL), VG_OK);
    tsdb_appender_free(a);
}

/* Checks every sample of every series in [from, to); returns samples seen. */
static size_t verify(tsdb_t *db, int64_t from, int64_t to, int skip_series) {
    labels_matcher_t *m;
    labels_matcher_new(LABELS_MATCH_EQUAL, "__name__", 8, "m", 1, &m, NULL);
    tsdb_series_set_t *set;
    assert_int_equal(tsdb_select(db, from, to - 1, &m, 1, 0, &set, NULL), VG_OK);
    size_t seen = 0;
    for (size_t i = 0; i < tsdb_series_set_len(set); i++) {
        size_t len;
        const char *inst = labels_get(tsdb_series_set_labels(set, i), "instance", 8, &len);
        int s = atoi(inst + 1);
        if (s == skip_series) continue;
        tsdb_iter_t it;
        tsdb_iter_init(&it, set, i);
        int64_t expect = from - ((from - t0) % STEP_MS + STEP_MS) % STEP_MS;
        if (expect + (s % 3) < from) expect += STEP_MS;
        while (tsdb_iter_next(&it) == 1) {
            assert_int_equal(it.t, expect + (s % 3));
            assert_true(it.v == value_of(s, expect));
            expect += STEP_MS;
            seen++;
        }
        if (expect < to - STEP_MS)
            fail_msg("series %d stops at %lld, want %lld (from %lld)", s, (long long)(expect - t0),
                     (long long)(to - t0), (long long)(from - t0));
        tsdb_iter_done(&it);
    }
    tsdb_series_set_free(set);
    labels_matcher_free(m);
    return seen;
}

static size_t count_blocks(void) {
    char d[128];
    snprintf(d, sizeof d, "%s/tsdb/blocks", dir);
    DIR *dd = opendir(d);
    size_t n = 0;
    struct dirent *e;
    while (dd && (e = readdir(dd)) != NULL)
        n += strlen(e->d_name) == 26;
    if (dd) closedir(dd);
    return n;
}

static void test_cut_compact_reopen(void **state) {
    (void)state;
    tsdb_t *db = open_db(100LL * 24 * 3600 * 1000);
    /* a series that stops after an hour: once its data is in a block, the
     * head lets go of it */
    tsdb_appender_t *a = tsdb_appender_new(db);
    labels_t *short_ls = labels_from_strings("__name__", "short", NULL);
    for (int64_t t = t0; t < t0 + 3600000; t += STEP_MS)
        assert_int_equal(tsdb_appender_add(a, short_ls, NULL, t, 1, NULL), VG_OK);
    assert_int_equal(tsdb_appender_commit(a, NULL), VG_OK);
    fill(db);
    size_t all = (size_t)N_SERIES * HOURS * 240;
    assert_int_equal(verify(db, t0, t0 + HOURS * 3600000LL, -1), all);
    tsdb_compact(db);
    /* 9 hours: cut until the head spans at most 3 hours, then the first
     * 6-hour window (3 blocks) compacted into one */
    assert_int_equal(count_blocks(), 1);
    tsdb_head_stats_t hs;
    tsdb_head_stats(db, &hs);
    assert_true(hs.max_time - hs.min_time <= 3 * 3600000LL);
    assert_int_equal(hs.n_series, N_SERIES); /* "short" was collected */
    labels_matcher_t *sm;
    labels_matcher_new(LABELS_MATCH_EQUAL, "__name__", 8, "short", 5, &sm, NULL);
    tsdb_series_set_t *ss;
    tsdb_select(db, INT64_MIN, INT64_MAX, &sm, 1, 0, &ss, NULL);
    assert_int_equal(tsdb_series_set_len(ss), 1); /* still there, from the block */
    tsdb_series_set_free(ss);
    /* and it can start again, as a new series in the head */
    assert_int_equal(tsdb_appender_add(a, short_ls, NULL, t0 + HOURS * 3600000LL, 2, NULL), VG_OK);
    assert_int_equal(tsdb_appender_commit(a, NULL), VG_OK);
    tsdb_select(db, INT64_MIN, INT64_MAX, &sm, 1, 0, &ss, NULL);
    assert_int_equal(tsdb_series_set_len(ss), 1);
    tsdb_iter_t sit;
    tsdb_iter_init(&sit, ss, 0);
    size_t short_n = 0;
    while (tsdb_iter_next(&sit) == 1)
        short_n++;
    tsdb_iter_done(&sit);
    assert_int_equal(short_n, 241);
    tsdb_series_set_free(ss);
    labels_matcher_free(sm);
    labels_free(short_ls);
    tsdb_appender_free(a);
    assert_int_equal(verify(db, t0, t0 + HOURS * 3600000LL, -1), all);
    /* a range that crosses the block/head boundary */
    assert_true(verify(db, t0 + 5 * 3600000LL + 7000, t0 + 8 * 3600000LL, -1) > 0);
    /* a snapshot links the blocks and writes the head as one more block;
     * as a store of its own it holds everything */
    char name[64], snap[1024];
    assert_int_equal(tsdb_snapshot(db, false, name, sizeof name, NULL), VG_OK);
    tsdb_close(db);
    snprintf(snap, sizeof snap,
             "mv %s/tsdb/snapshots/%s %s/snap-blocks && mkdir -p %s/snap/tsdb && "
             "mv %s/snap-blocks %s/snap/tsdb/blocks",
             dir, name, dir, dir, dir, dir);
    assert_int_equal(system(snap), 0);
    {
        char d[128];
        snprintf(d, sizeof d, "%s/snap/tsdb", dir);
        tsdb_options_t o = {.dir = d, .retention_ms = 100LL * 24 * 3600 * 1000};
        tsdb_t *sdb = tsdb_open(&o, NULL);
        assert_non_null(sdb);
        assert_int_equal(verify(sdb, t0, t0 + HOURS * 3600000LL, -1), all);
        tsdb_close(sdb);
    }
    db = open_db(100LL * 24 * 3600 * 1000);
    assert_int_equal(verify(db, t0, t0 + HOURS * 3600000LL, -1), all);
    char **names;
    size_t n;
    tsdb_label_values(db, "instance", INT64_MIN, INT64_MAX, NULL, 0, &names, &n, NULL);
    assert_int_equal(n, N_SERIES);
    tsdb_strings_free(names, n);
    /* delete one series' samples across blocks and head */
    labels_matcher_t *m;
    labels_matcher_new(LABELS_MATCH_EQUAL, "instance", 8, "i07", 3, &m, NULL);
    assert_int_equal(tsdb_delete(db, t0, t0 + HOURS * 3600000LL, &m, 1, NULL), VG_OK);
    labels_matcher_free(m);
    assert_int_equal(verify(db, t0, t0 + HOURS * 3600000LL, 7), all - HOURS * 240);
    tsdb_series_set_t *set;
    labels_matcher_new(LABELS_MATCH_EQUAL, "instance", 8, "i07", 3, &m, NULL);
    tsdb_select(db, INT64_MIN, INT64_MAX, &m, 1, 0, &set, NULL);
    assert_int_equal(tsdb_series_set_len(set), 0);
    tsdb_series_set_free(set);
    labels_matcher_free(m);
    tsdb_close(db);
}

static void test_retention_and_damage(void **state) {
    (void)state;
    tsdb_t *db = open_db(100LL * 24 * 3600 * 1000);
    fill(db);
    tsdb_compact(db);
    tsdb_close(db);
    size_t before = count_blocks();
    assert_true(before >= 1);
    /* damage one block's index: it is set aside and vigil still opens */
    char d[128], path[256];
    snprintf(d, sizeof d, "%s/tsdb/blocks", dir);
    DIR *dd = opendir(d);
    struct dirent *e;
    while ((e = readdir(dd)) != NULL)
        if (strlen(e->d_name) == 26) break;
    snprintf(path, sizeof path, "%s/%s/index", d, e->d_name);
    closedir(dd);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "\xde\xad", 2, 20), 2);
    close(fd);
    /* a retention of 4 hours (counted from the newest sample) drops blocks */
    db = open_db(4 * 3600000LL);
    assert_int_equal(count_blocks(), before - 1);
    tsdb_compact(db);
    assert_true(count_blocks() < before);
    size_t n = verify(db, t0 + (HOURS - 3) * 3600000LL, t0 + HOURS * 3600000LL, -1);
    assert_int_equal(n, (size_t)N_SERIES * 3 * 240);
    tsdb_close(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cut_compact_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_and_damage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
