/* The store end to end: append, select, iterate, restart from the WAL and
 * from a checkpoint, crashes, torn tails, failed writes, deletion. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tsdb/tsdb.h"

static char dir[64];

static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/vigil-tsdb-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state) {
    (void)state;
    vg_remove_all(dir, NULL);
    vg_fault_clear();
    return 0;
}

static tsdb_t *open_db(void) {
    tsdb_options_t o = {.dir = dir, .retention_ms = 100LL * 365 * 24 * 3600 * 1000};
    vg_err_t err = {0};
    tsdb_t *db = tsdb_open(&o, &err);
    if (!db) fail_msg("open: %s", err.msg);
    return db;
}

static int add(tsdb_appender_t *a, const char *name, const char *inst, int64_t t, double v) {
    labels_t *ls = labels_from_strings("__name__", name, "instance", inst, NULL);
    vg_err_t err = {0};
    int rc = tsdb_appender_add(a, ls, NULL, t, v, &err);
    labels_free(ls);
    return rc;
}

/* Reads every sample of the series matching name, as "t:v;" text. */
static char *dump(tsdb_t *db, const char *name) {
    labels_matcher_t *m;
    assert_int_equal(
        labels_matcher_new(LABELS_MATCH_EQUAL, "__name__", 8, name, strlen(name), &m, NULL), VG_OK);
    tsdb_series_set_t *set;
    assert_int_equal(tsdb_select(db, INT64_MIN, INT64_MAX, &m, 1, 0, &set, NULL), VG_OK);
    vg_buf_t b = VG_BUF_INIT;
    for (size_t i = 0; i < tsdb_series_set_len(set); i++) {
        labels_format(tsdb_series_set_labels(set, i), &b);
        vg_buf_putc(&b, ' ');
        tsdb_iter_t it;
        tsdb_iter_init(&it, set, i);
        int rc;
        while ((rc = tsdb_iter_next(&it)) == 1) {
            vg_buf_printf(&b, "%lld:", (long long)it.t);
            vg_buf_put_float(&b, it.v);
            vg_buf_putc(&b, ';');
        }
        assert_int_equal(rc, 0);
        tsdb_iter_done(&it);
        vg_buf_putc(&b, '\n');
    }
    tsdb_series_set_free(set);
    labels_matcher_free(m);
    return vg_buf_detach(&b);
}

static void test_append_select_restart(void **state) {
    (void)state;
    tsdb_t *db = open_db();
    tsdb_appender_t *a = tsdb_appender_new(db);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(add(a, "up", "b", 1000LL * i, i % 7), VG_OK);
        assert_int_equal(add(a, "up", "a", 1000LL * i, 1), VG_OK);
    }
    assert_int_equal(add(a, "other", "a", 5, 5), VG_OK);
    assert_int_equal(tsdb_appender_commit(a, NULL), VG_OK);
    tsdb_appender_free(a);
    char *before = dump(db, "up");
    assert_non_null(strstr(before, "{__name__=\"up\", instance=\"a\"} 0:1;1000:1;"));
    assert_true(strstr(before, "instance=\"a\"") < strstr(before, "instance=\"b\""));
    assert_non_null(strstr(before, "299000:5;\n"));
    tsdb_head_stats_t hs;
    tsdb_head_stats(db, &hs);
    assert_int_equal(hs.n_series, 3);
    assert_int_equal(hs.n_samples, 601);
    assert_int_equal(hs.min_time, 0);
    assert_int_equal(hs.max_time, 299000);
    tsdb_close(db); /* checkpoints */
    db = open_db();
    char *after = dump(db, "up");
    assert_string_equal(before, after);
    /* appending goes on after a checkpoint load */
    a = tsdb_appender_new(db);
    assert_int_equal(add(a, "up", "a", 300000, 2), VG_OK);
    assert_int_equal(add(a, "up", "a", 299000, 2), TSDB_ERR_OUT_OF_ORDER);
    assert_int_equal(tsdb_appender_commit(a, NULL), VG_OK);
    tsdb_appender_free(a);
    free(after);
    after = dump(db, "up");
    assert_non_null(strstr(after, "299000:1;300000:2;"));
    tsdb_close(db);
    free(before);
    free(after);
}

static void test_duplicates_and_order(void **state) {
    (void)state;
    tsdb_t *db = open_db();
    tsdb_appender_t *a = tsdb_appender_new(db);
    assert_int_equal(add(a, "x", "a", 10, 1), VG_OK);
    assert_int_equal(add(a, "x", "a", 10, 1), VG_OK); /* in-batch exact repeat */
    assert_int_equal(add(a, "x", "a", 10, 2), TSDB_ERR_DUPLICATE);
    assert_int_equal(add(a, "x", "a", 5, 2), TSDB_ERR_OUT_OF_ORDER);
    assert_int_equal(tsdb_appender_commit(a, NULL), VG_OK);
    assert_int_equal(add(a, "x", "a", 10, 1), VG_OK); /* a retried sample: stored once */
    assert_int_equal(add(a, "x", "a", 10, 3), TSDB_ERR_DUPLICATE);
    /* stale markers are kept bit for bit */
    uint64_t stale_bits = UINT64_C(0x7ff0000000000002);
    double stale;
    memcpy(&stale, &stale_bits, 8);
    assert_int_equal(add(a, "x", "a", 20, stale), VG_OK);
    assert_int_equal(tsdb_appender_commit(a, NULL), VG_OK);
    tsdb_appender_free(a);
    char *s = dump(db, "x");
    assert_string_equal(s, "{__name__=\"x\", instance=\"a\"} 10:1;20:NaN;\n");
    free(s);
    labels_matcher_t *m;
    labels_matcher_new(LABELS_MATCH_EQUAL, "__name__", 8, "x", 1, &m, NULL);
    tsdb_series_set_t *set;
    tsdb_select(db, 0, 100, &m, 1, 0, &set, NULL);
    tsdb_iter_t it;
    tsdb_iter_init(&it, set, 0);
    tsdb_iter_next(&it);
    tsdb_iter_next(&it);
    uint64_t bits;
    memcpy(&bits, &it.v, 8);
    assert_true(bits == stale_bits);
    tsdb_iter_done(&it);
    tsdb_series_set_free(set);
    labels_matcher_free(m);
    tsdb_close(db);
}

static void test_matchers_and_labels(void **state) {
    (void)state;
    tsdb_t *db = open_db();
    tsdb_appender_t *a = tsdb_appender_new(db);
    const char *insts[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++)
        add(a, "m1", insts[i], 1, i);
    labels_t *ls = labels_from_strings("__name__", "m2", "job", "j", NULL);
    tsdb_appender_add(a, ls, NULL, 1, 1, NULL);
    labels_free(ls);
    tsdb_appender_commit(a, NULL);
    tsdb_appender_free(a);
    labels_matcher_t *ms[2];
    labels_matcher_new(LABELS_MATCH_REGEXP, "instance", 8, "a|c", 3, &ms[0], NULL);
    tsdb_series_set_t *set;
    tsdb_select(db, 0, 10, ms, 1, 0, &set, NULL);
    assert_int_equal(tsdb_series_set_len(set), 2);
    tsdb_series_set_free(set);
    labels_matcher_new(LABELS_MATCH_NOT_EQUAL, "instance", 8, "b", 1, &ms[1], NULL);
    tsdb_select(db, 0, 10, ms + 1, 1, 0, &set, NULL);
    assert_int_equal(tsdb_series_set_len(set), 3); /* m2 has no instance: "" != "b" */
    tsdb_series_set_free(set);
    tsdb_select(db, 0, 10, ms, 2, 0, &set, NULL);
    assert_int_equal(tsdb_series_set_len(set), 2);
    tsdb_series_set_free(set);
    tsdb_select(db, 5, 10, ms, 1, 0, &set, NULL); /* no data in range */
    assert_int_equal(tsdb_series_set_len(set), 0);
    tsdb_series_set_free(set);
    char **v;
    size_t n;
    tsdb_label_names(db, 0, 10, NULL, 0, &v, &n, NULL);
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "__name__");
    assert_string_equal(v[1], "instance");
    assert_string_equal(v[2], "job");
    tsdb_strings_free(v, n);
    tsdb_label_values(db, "instance", 0, 10, ms + 1, 1, &v, &n, NULL);
    assert_int_equal(n, 2);
    assert_string_equal(v[0], "a");
    assert_string_equal(v[1], "c");
    tsdb_strings_free(v, n);
    assert_int_equal(tsdb_delete(db, 0, 10, ms, 1, NULL), VG_OK);
    tsdb_select(db, 0, 10, NULL, 0, 0, &set, NULL);
    assert_int_equal(tsdb_series_set_len(set), 2);
    tsdb_series_set_free(set);
    labels_matcher_free(ms[0]);
    labels_matcher_free(ms[1]);
    tsdb_close(db);
}

/* A child appends and dies without closing; the parent finds every
 * committed sample in the WAL. */
static void test_crash_replay_and_torn_tail(void **state) {
    (void)state;
    pid_t pid = fork();
    if (pid == 0) {
        tsdb_t *db = open_db();
        tsdb_appender_t *a = tsdb_appender_new(db);
        for (int i = 0; i < 1000; i++) {
            add(a, "c", "x", i, i);
            if (i % 100 == 99) tsdb_appender_commit(a, NULL);
        }
        _exit(0); /* no close: like kill -9 */
    }
    int status;
    waitpid(pid, &status, 0);
    /* tear the tail: a half record at the end of the newest segment */
    char wal[128], seg[256];
    snprintf(wal, sizeof wal, "%s/wal", dir);
    DIR *d = opendir(wal);
    struct dirent *e;
    char newest[32] = "";
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] == '0' && strlen(e->d_name) == 8 && strcmp(e->d_name, newest) > 0)
            snprintf(newest, sizeof newest, "%s", e->d_name);
    closedir(d);
    assert_true(newest[0] != 0);
    snprintf(seg, sizeof seg, "%s/%s", wal, newest);
    int fd = open(seg, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\x40\x00\x00\x00\x12\x34", 6), 6);
    close(fd);
    tsdb_t *db = open_db();
    char *s = dump(db, "c");
    assert_non_null(strstr(s, "0:0;1:1;"));
    assert_non_null(strstr(s, "998:998;999:999;\n"));
    free(s);
    tsdb_close(db);
}

/* Failed and torn WAL writes refuse the batch and leave nothing behind,
 * in memory and on disk: a crash right after replays the same data. */
static void test_failed_wal_write_stores_nothing(void **state) {
    (void)state;
    pid_t pid = fork();
    if (pid == 0) {
        tsdb_t *db = open_db();
        tsdb_appender_t *a = tsdb_appender_new(db);
        add(a, "f", "x", 1, 1);
        if (tsdb_appender_commit(a, NULL) != VG_OK) _exit(1);
        vg_fault_set(VG_FAULT_WRITE, 0, 28 /* ENOSPC */);
        add(a, "f", "x", 2, 2);
        vg_err_t err = {0};
        if (tsdb_appender_commit(a, &err) != VG_ERR_IO || !strstr(err.msg, "No space left"))
            _exit(2);
        vg_fault_set(VG_FAULT_WRITE, 0, 0); /* a torn write: half reaches the file */
        add(a, "f", "x", 3, 3);
        if (tsdb_appender_commit(a, &err) != VG_ERR_IO) _exit(3);
        add(a, "f", "x", 4, 4); /* space is back */
        if (tsdb_appender_commit(a, &err) != VG_OK) _exit(4);
        char *s = dump(db, "f");
        if (strcmp(s, "{__name__=\"f\", instance=\"x\"} 1:1;4:4;\n") != 0) _exit(5);
        _exit(0); /* no close: like kill -9 */
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    tsdb_t *db = open_db();
    char *s = dump(db, "f");
    assert_string_equal(s, "{__name__=\"f\", instance=\"x\"} 1:1;4:4;\n");
    free(s);
    tsdb_close(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_select_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matchers_and_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_replay_and_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_wal_write_stores_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
