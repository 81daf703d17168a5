/* The notification log under concurrent writers, whose entries are
 * committed as a group: every entry logged by many threads at once is
 * there (in memory and after reopening), an entry from the future still
 * wins over later calls with older timestamps for the same key, and an
 * entry reported as logged survives the process being killed while other
 * threads are still logging. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alert/alert.h"

#define N_THREADS 16
#define PER_THREAD 60

static char dir[256], path[300];

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/vg_nflog_group_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof path, "%s/alertmanager.db", dir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    vg_remove_all(dir, NULL);
    return 0;
}

typedef struct worker {
    alert_nflog_t *l;
    unsigned id;
    int64_t base;
    int fd; /* reports each logged entry when >= 0 */
    int failures;
} worker_t;

/* Logs PER_THREAD entries of its own and as many of one shared key, whose
 * timestamps differ per call (thread-major order, so threads interleave
 * older and newer ones). */
static void *worker_main(void *arg) {
    worker_t *w = arg;
    for (unsigned i = 0; w->fd >= 0 || i < PER_THREAD; i++) {
        char gk[32];
        snprintf(gk, sizeof gk, "g%u/%u", w->id, i);
        uint64_t h[2] = {w->id, i};
        vg_err_t err = {0};
        if (alert_nflog_log(w->l, "r/webhook/0", gk, h, 2, NULL, 0, w->base, &err) != VG_OK) {
            w->failures++;
            continue;
        }
        if (w->fd >= 0) {
            uint32_t v[2] = {w->id, i};
            if (write(w->fd, v, sizeof v) != sizeof v) _exit(4);
            continue;
        }
        uint64_t s = ((uint64_t)w->id << 32) | i;
        int64_t ts = w->base + (int64_t)(i * N_THREADS + w->id);
        if (alert_nflog_log(w->l, "r/webhook/0", "shared", &s, 1, NULL, 0, ts, &err) != VG_OK)
            w->failures++;
    }
    return NULL;
}

static void check_all(alert_nflog_t *l) {
    for (unsigned t = 0; t < N_THREADS; t++) {
        for (unsigned i = 0; i < PER_THREAD; i++) {
            char gk[32];
            snprintf(gk, sizeof gk, "g%u/%u", t, i);
            alert_nflog_entry_t e;
            assert_int_equal(alert_nflog_query(l, "r/webhook/0", gk, &e), VG_OK);
            assert_int_equal(e.n_firing, 2);
            assert_true(e.firing[0] == t && e.firing[1] == i);
            alert_nflog_entry_free(&e);
        }
    }
    /* The newest call for the shared key is the last thread's last one. */
    alert_nflog_entry_t e;
    assert_int_equal(alert_nflog_query(l, "r/webhook/0", "shared", &e), VG_OK);
    assert_int_equal(e.n_firing, 1);
    assert_true(e.firing[0] == (((uint64_t)(N_THREADS - 1) << 32) | (PER_THREAD - 1)));
    alert_nflog_entry_free(&e);
    assert_int_equal(alert_nflog_len(l), N_THREADS * PER_THREAD + 1);
}

static void test_concurrent(void **state) {
    (void)state;
    int64_t now = vg_time_now_ms();
    vg_err_t err = {0};
    alert_db_t *db = alert_db_open(path, &err);
    assert_non_null(db);
    alert_nflog_t *l = alert_nflog_open(db, 0, &err);
    assert_non_null(l);
    worker_t w[N_THREADS];
    pthread_t th[N_THREADS];
    for (unsigned t = 0; t < N_THREADS; t++) {
        w[t] = (worker_t){.l = l, .id = t, .base = now, .fd = -1};
        assert_int_equal(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
    }
    for (unsigned t = 0; t < N_THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(w[t].failures, 0);
    }
    check_all(l);
    /* An older timestamp for the shared key changes nothing. */
    uint64_t old = 7;
    assert_int_equal(alert_nflog_log(l, "r/webhook/0", "shared", &old, 1, NULL, 0, now, &err),
                     VG_OK);
    check_all(l);
    alert_nflog_free(l);
    alert_db_close(db);

    db = alert_db_open(path, &err);
    assert_non_null(db);
    l = alert_nflog_open(db, 0, &err);
    assert_non_null(l);
    check_all(l);
    alert_nflog_free(l);
    alert_db_close(db);
}

static void test_crash_concurrent(void **state) {
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
        worker_t w[8];
        pthread_t th[8];
        for (unsigned t = 0; t < 8; t++) {
            w[t] = (worker_t){.l = l, .id = t, .base = now, .fd = fds[1]};
            if (pthread_create(&th[t], NULL, worker_main, &w[t]) != 0) _exit(3);
        }
        for (;;)
            pause();
    }
    close(fds[1]);
    enum { MAX_SEEN = 100000 };
    uint32_t(*seen)[2] = calloc(MAX_SEEN, sizeof *seen);
    assert_non_null(seen);
    size_t n = 0;
    while (n < 200 && read(fds[0], seen[n], sizeof seen[n]) == sizeof seen[n])
        n++;
    kill(pid, SIGKILL);
    while (n < MAX_SEEN && read(fds[0], seen[n], sizeof seen[n]) == sizeof seen[n])
        n++;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    assert_true(n >= 200);
    vg_err_t err = {0};
    alert_db_t *db = alert_db_open(path, &err);
    assert_non_null(db);
    alert_nflog_t *l = alert_nflog_open(db, 0, &err);
    assert_non_null(l);
    assert_true(alert_nflog_len(l) >= n);
    for (size_t k = 0; k < n; k++) {
        char gk[32];
        snprintf(gk, sizeof gk, "g%u/%u", seen[k][0], seen[k][1]);
        alert_nflog_entry_t e;
        assert_int_equal(alert_nflog_query(l, "r/webhook/0", gk, &e), VG_OK);
        assert_true(e.n_firing == 2 && e.firing[0] == seen[k][0] && e.firing[1] == seen[k][1]);
        alert_nflog_entry_free(&e);
    }
    free(seen);
    alert_nflog_free(l);
    alert_db_close(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_concurrent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
