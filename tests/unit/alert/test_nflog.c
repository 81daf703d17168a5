/* The notification log: round trip, replacement, entries from the future
 * kept, expiry and garbage collection, persistence across close/open and
 * across a killed process, unreadable rows skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alert/alert.h"

#define HOUR 3600000LL

static char dir[256], path[300];

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/vg_nflog_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof path, "%s/alertmanager.db", dir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    vg_remove_all(dir, NULL);
    return 0;
}

static void test_round_trip(void **state) {
    (void)state;
    int64_t now = vg_time_now_ms();
    vg_err_t err = {0};
    alert_db_t *db = alert_db_open(path, &err);
    assert_non_null(db);
    alert_nflog_t *l = alert_nflog_open(db, 0, &err);
    assert_non_null(l);
    alert_nflog_entry_t e;
    const char *rk = "team-x/webhook/0", *gk = "{}/{team=\"x\"}:{alertname=\"A\"}";
    assert_int_equal(alert_nflog_query(l, rk, gk, &e), VG_ERR_NOTFOUND);

    uint64_t firing[] = {1, UINT64_MAX, 0x0123456789abcdefULL};
    assert_int_equal(alert_nflog_log(l, rk, gk, firing, 3, NULL, 0, now, &err), VG_OK);
    assert_int_equal(alert_nflog_query(l, rk, gk, &e), VG_OK);
    assert_int_equal(e.timestamp_ms, now);
    assert_int_equal(e.expires_at_ms, now + ALERT_SILENCE_RETENTION_DEFAULT_MS);
    assert_int_equal(e.n_firing, 3);
    assert_memory_equal(e.firing, firing, sizeof firing);
    assert_int_equal(e.n_resolved, 0);
    alert_nflog_entry_free(&e);
    /* Other receivers and groups are other entries. */
    assert_int_equal(alert_nflog_query(l, "team-x/webhook/1", gk, &e), VG_ERR_NOTFOUND);
    assert_int_equal(alert_nflog_query(l, rk, "{}:{}", &e), VG_ERR_NOTFOUND);

    /* A later notification replaces it; the expiry argument shortens the
     * entry's life when shorter than the retention. */
    uint64_t resolved[] = {1};
    assert_int_equal(
        alert_nflog_log_expiry(l, rk, gk, firing + 1, 2, resolved, 1, 2 * HOUR, now + 1000, &err),
        VG_OK);
    assert_int_equal(alert_nflog_query(l, rk, gk, &e), VG_OK);
    assert_int_equal(e.timestamp_ms, now + 1000);
    assert_int_equal(e.expires_at_ms, now + 1000 + 2 * HOUR);
    assert_int_equal(e.n_firing, 2);
    assert_true(e.firing[0] == UINT64_MAX);
    assert_int_equal(e.n_resolved, 1);
    alert_nflog_entry_free(&e);
    /* An older write does not replace a newer entry. */
    assert_int_equal(alert_nflog_log(l, rk, gk, NULL, 0, NULL, 0, now, &err), VG_OK);
    assert_int_equal(alert_nflog_query(l, rk, gk, &e), VG_OK);
    assert_int_equal(e.timestamp_ms, now + 1000);
    alert_nflog_entry_free(&e);

    assert_int_equal(alert_nflog_log(l, "r/email/0", "{}:{}", NULL, 0, firing, 3, now, &err),
                     VG_OK);
    assert_int_equal(alert_nflog_len(l), 2);
    alert_nflog_free(l);
    alert_db_close(db);

    /* Reopened: both entries as they were. */
    db = alert_db_open(path, &err);
    l = alert_nflog_open(db, 0, &err);
    assert_int_equal(alert_nflog_len(l), 2);
    assert_int_equal(alert_nflog_query(l, rk, gk, &e), VG_OK);
    assert_int_equal(e.timestamp_ms, now + 1000);
    assert_int_equal(e.expires_at_ms, now + 1000 + 2 * HOUR);
    assert_int_equal(e.n_firing, 2);
    assert_true(e.firing[1] == 0x0123456789abcdefULL);
    assert_int_equal(e.n_resolved, 1);
    alert_nflog_entry_free(&e);
    assert_int_equal(alert_nflog_query(l, "r/email/0", "{}:{}", &e), VG_OK);
    assert_int_equal(e.n_firing, 0);
    assert_int_equal(e.n_resolved, 3);
    alert_nflog_entry_free(&e);

    /* GC: the short-lived entry goes first; disk follows. */
    assert_int_equal(alert_nflog_gc(l, now + 1000 + 2 * HOUR - 1), 0);
    assert_int_equal(alert_nflog_gc(l, now + 1000 + 2 * HOUR), 1);
    assert_int_equal(alert_nflog_query(l, rk, gk, &e), VG_ERR_NOTFOUND);
    alert_nflog_free(l);
    alert_db_close(db);
    db = alert_db_open(path, &err);
    l = alert_nflog_open(db, 0, &err);
    assert_int_equal(alert_nflog_len(l), 1);
    alert_nflog_free(l);
    alert_db_close(db);
}

static void test_many_and_load_skips(void **state) {
    (void)state;
    int64_t now = vg_time_now_ms();
    vg_err_t err = {0};
    alert_db_t *db = alert_db_open(path, &err);
    alert_nflog_t *l = alert_nflog_open(db, HOUR, &err);
    /* Enough entries to grow the table several times. */
    double t = vg_time_mono();
    for (int i = 0; i < 500; i++) {
        char gk[64];
        snprintf(gk, sizeof gk, "{}:{alertname=\"A%d\"}", i);
        uint64_t h = (uint64_t)i;
        assert_int_equal(alert_nflog_log(l, "r/webhook/0", gk, &h, 1, NULL, 0, now, &err), VG_OK);
    }
    printf("# nflog log (one durable commit each): %.3f ms\n", 1e3 * (vg_time_mono() - t) / 500);
    assert_int_equal(alert_nflog_len(l), 500);
    for (int i = 0; i < 500; i += 37) {
        char gk[64];
        snprintf(gk, sizeof gk, "{}:{alertname=\"A%d\"}", i);
        alert_nflog_entry_t e;
        assert_int_equal(alert_nflog_query(l, "r/webhook/0", gk, &e), VG_OK);
        assert_true(e.firing[0] == (uint64_t)i);
        assert_int_equal(e.expires_at_ms, now + HOUR);
        alert_nflog_entry_free(&e);
    }
    alert_nflog_free(l);
    alert_db_close(db);
    /* A bad blob and an expired row are skipped at load. */
    sqlite3 *c;
    assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO nflog VALUES ('x/y/0', 'bad', %lld, %lld, x'0102', x''),"
             " ('x/y/0', 'old', 1, 2, x'', x'')",
             (long long)now, (long long)(now + HOUR));
    assert_int_equal(sqlite3_exec(c, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(c);
    db = alert_db_open(path, &err);
    l = alert_nflog_open(db, HOUR, &err);
    assert_int_equal(alert_nflog_len(l), 500);
    alert_nflog_free(l);
    alert_db_close(db);
}

static void test_crash(void **state) {
    (void)state;
    int64_t now = vg_time_now_ms();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        vg_err_t err = {0};
        alert_db_t *db = alert_db_open(path, &err);
        alert_nflog_t *l = db ? alert_nflog_open(db, 0, &err) : NULL;
        if (!l) _exit(2);
        for (uint32_t i = 0;; i++) {
            char gk[32];
            snprintf(gk, sizeof gk, "g%u", i);
            uint64_t h = i;
            if (alert_nflog_log(l, "r/webhook/0", gk, &h, 1, NULL, 0, now, &err) != VG_OK) _exit(3);
            if (write(fds[1], &i, sizeof i) != sizeof i) _exit(4);
        }
    }
    close(fds[1]);
    uint32_t last = 0, v;
    size_t n = 0;
    while (n < 50 && read(fds[0], &v, sizeof v) == sizeof v)
        last = v, n++;
    kill(pid, SIGKILL);
    while (read(fds[0], &v, sizeof v) == sizeof v)
        last = v, n++;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    vg_err_t err = {0};
    alert_db_t *db = alert_db_open(path, &err);
    alert_nflog_t *l = alert_nflog_open(db, 0, &err);
    assert_non_null(l);
    assert_true(alert_nflog_len(l) >= n);
    for (uint32_t i = 0; i <= last; i++) {
        char gk[32];
        snprintf(gk, sizeof gk, "g%u", i);
        alert_nflog_entry_t e;
        assert_int_equal(alert_nflog_query(l, "r/webhook/0", gk, &e), VG_OK);
        assert_true(e.n_firing == 1 && e.firing[0] == i);
        alert_nflog_entry_free(&e);
    }
    alert_nflog_free(l);
    alert_db_close(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_and_load_skips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
