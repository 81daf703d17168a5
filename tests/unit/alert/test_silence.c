/* Silences: Alertmanager 0.25's validation messages, update in place
 * versus replacement by a new id, states over time, expiry, mutes(),
 * persistence across close/open and across a killed process, garbage
 * collection, and the database file checks. Prints the cost of a durable
 * write and of mutes() (not asserted). */
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

#define T0 1700000000000LL /* some "now" */
#define MIN 60000LL
#define HOUR 3600000LL

static char dir[256];

static char *db_path(void) {
    static char p[300];
    snprintf(p, sizeof p, "%s/alertmanager.db", dir);
    return p;
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/vg_silence_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    vg_remove_all(dir, NULL);
    return 0;
}

typedef struct fixture {
    alert_db_t *db;
    alert_silences_t *s;
} fixture_t;

static fixture_t open_all(void) {
    vg_err_t err = {0};
    fixture_t f;
    f.db = alert_db_open(db_path(), &err);
    if (!f.db) fail_msg("open db: %s", err.msg);
    f.s = alert_silences_open(f.db, 0, &err);
    if (!f.s) fail_msg("open silences: %s", err.msg);
    return f;
}

static void close_all(fixture_t *f) {
    alert_silences_free(f->s);
    alert_db_close(f->db);
}

/* A silence with one matcher list given as "name=value" style triples. */
typedef struct input {
    alert_silence_t sil;
    alert_matcher_t m[8];
} input_t;

static alert_silence_t *mk(const char *id, int64_t start, int64_t end, int n, ...) {
    static input_t in;
    memset(&in, 0, sizeof in);
    snprintf(in.sil.id, sizeof in.sil.id, "%s", id ? id : "");
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        in.m[i].type = (alert_match_type_t)va_arg(ap, int);
        in.m[i].name = va_arg(ap, const char *);
        in.m[i].value = va_arg(ap, const char *);
    }
    va_end(ap);
    in.sil.matchers = in.m;
    in.sil.n_matchers = (size_t)n;
    in.sil.starts_at_ms = start;
    in.sil.ends_at_ms = end;
    in.sil.created_by = "me";
    in.sil.comment = "maintenance";
    return &in.sil;
}

static void expect_error(alert_silences_t *s, const alert_silence_t *in, int code,
                         const char *msg) {
    vg_err_t err = {0};
    char id[37];
    assert_int_equal(alert_silences_set(s, in, T0, id, &err), code);
    assert_string_equal(err.msg, msg);
}

static void test_validation(void **state) {
    (void)state;
    fixture_t f = open_all();
    expect_error(f.s, mk(NULL, T0, T0 + HOUR, 0), VG_ERR_INPUT,
                 "silence invalid: at least one matcher required");
    expect_error(f.s, mk(NULL, T0, T0 + HOUR, 1, ALERT_MATCH_EQUAL, "0a", "x"), VG_ERR_INPUT,
                 "silence invalid: invalid label matcher 0: invalid label name \"0a\"");
    expect_error(
        f.s, mk(NULL, T0, T0 + HOUR, 2, ALERT_MATCH_EQUAL, "a", "x", ALERT_MATCH_EQUAL, "a.b", "x"),
        VG_ERR_INPUT, "silence invalid: invalid label matcher 1: invalid label name \"a.b\"");
    expect_error(f.s, mk(NULL, T0, T0 + HOUR, 1, ALERT_MATCH_EQUAL, "a", "\xff"), VG_ERR_INPUT,
                 "silence invalid: invalid label matcher 0: invalid label value \"\\xff\"");
    expect_error(f.s, mk(NULL, T0, T0 + HOUR, 1, ALERT_MATCH_EQUAL, "alertname", ""), VG_ERR_INPUT,
                 "silence invalid: at least one matcher must not match the empty string");
    expect_error(
        f.s, mk(NULL, T0, T0 + HOUR, 2, ALERT_MATCH_REGEXP, "a", ".*", ALERT_MATCH_EQUAL, "b", ""),
        VG_ERR_INPUT, "silence invalid: at least one matcher must not match the empty string");
    expect_error(f.s, mk(NULL, T0, T0 - HOUR, 1, ALERT_MATCH_EQUAL, "a", "x"), VG_ERR_INPUT,
                 "silence invalid: end time must not be before start time");
    /* A start in the past is moved to now first, so an end between the two
     * is "before start" too, as in Alertmanager. */
    expect_error(f.s, mk(NULL, T0 - HOUR, T0 - MIN, 1, ALERT_MATCH_EQUAL, "a", "x"), VG_ERR_INPUT,
                 "silence invalid: end time must not be before start time");
    expect_error(
        f.s,
        mk("5a1e4d51-0000-4000-8000-000000000000", T0, T0 + HOUR, 1, ALERT_MATCH_EQUAL, "a", "x"),
        VG_ERR_NOTFOUND, "silence not found");
    vg_err_t err = {0};
    char id[37];
    assert_int_equal(alert_silences_set(f.s,
                                        mk(NULL, T0, T0 + HOUR, 1, ALERT_MATCH_REGEXP, "a", "("),
                                        T0, id, &err),
                     VG_ERR_INPUT);
    assert_non_null(strstr(err.msg, "silence invalid: invalid label matcher 0: invalid regular "
                                    "expression \"(\": error parsing regexp: "));
    /* != "" and !~ never match the empty string by this rule's reckoning. */
    assert_int_equal(alert_silences_set(f.s,
                                        mk(NULL, T0, T0 + HOUR, 1, ALERT_MATCH_NOT_EQUAL, "a", ""),
                                        T0, id, &err),
                     VG_OK);
    size_t counts[3];
    alert_silences_count(f.s, T0, counts);
    assert_int_equal(counts[ALERT_SILENCE_ACTIVE], 1);
    close_all(&f);
}

static bool is_uuid4(const char *id) {
    if (strlen(id) != 36) return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (id[i] != '-') return false;
        } else if (!strchr("0123456789abcdef", id[i])) {
            return false;
        }
    }
    return id[14] == '4' && strchr("89ab", id[19]);
}

static void get(alert_silences_t *s, const char *id, int64_t now, alert_silence_t *out) {
    assert_int_equal(alert_silences_get(s, id, now, out), VG_OK);
}

static void test_create_update_replace(void **state) {
    (void)state;
    fixture_t f = open_all();
    vg_err_t err = {0};
    char id[37], id2[37];
    alert_silence_t g;

    /* Created with a start in the past: it starts now. */
    assert_int_equal(
        alert_silences_set(f.s,
                           mk(NULL, T0 - HOUR, T0 + HOUR, 1, ALERT_MATCH_EQUAL, "alertname", "X"),
                           T0, id, &err),
        VG_OK);
    assert_true(is_uuid4(id));
    get(f.s, id, T0, &g);
    assert_int_equal(g.starts_at_ms, T0);
    assert_int_equal(g.ends_at_ms, T0 + HOUR);
    assert_int_equal(g.updated_at_ms, T0);
    assert_int_equal(g.state, ALERT_SILENCE_ACTIVE);
    assert_string_equal(g.created_by, "me");
    assert_string_equal(g.comment, "maintenance");
    assert_int_equal(g.n_matchers, 1);
    assert_string_equal(g.matchers[0].name, "alertname");
    assert_null(g.matchers[0].re);
    alert_silence_clear(&g);
    uint64_t v = alert_silences_version(f.s);

    /* Active, same matchers, same start second, new end: in place. */
    alert_silence_t *in = mk(id, T0 + 400, T0 + 2 * HOUR, 1, ALERT_MATCH_EQUAL, "alertname", "X");
    in->comment = "longer";
    assert_int_equal(alert_silences_set(f.s, in, T0 + MIN, id2, &err), VG_OK);
    assert_string_equal(id2, id);
    get(f.s, id, T0 + MIN, &g);
    assert_int_equal(g.starts_at_ms, T0 + 400); /* taken as given */
    assert_int_equal(g.ends_at_ms, T0 + 2 * HOUR);
    assert_int_equal(g.updated_at_ms, T0 + MIN);
    assert_string_equal(g.comment, "longer");
    alert_silence_clear(&g);
    assert_true(alert_silences_version(f.s) > v);

    /* Active, start moved to another second: replaced by a new silence,
     * the old one expired now. */
    in = mk(id, T0 + 5000, T0 + 2 * HOUR, 1, ALERT_MATCH_EQUAL, "alertname", "X");
    assert_int_equal(alert_silences_set(f.s, in, T0 + 2 * MIN, id2, &err), VG_OK);
    assert_string_not_equal(id2, id);
    get(f.s, id, T0 + 2 * MIN, &g);
    assert_int_equal(g.state, ALERT_SILENCE_EXPIRED);
    assert_int_equal(g.ends_at_ms, T0 + 2 * MIN);
    assert_int_equal(g.updated_at_ms, T0 + 2 * MIN);
    alert_silence_clear(&g);
    get(f.s, id2, T0 + 2 * MIN, &g);
    assert_int_equal(g.state, ALERT_SILENCE_ACTIVE);
    assert_int_equal(g.starts_at_ms, T0 + 2 * MIN); /* clamped to now */
    alert_silence_clear(&g);

    /* Active, other matchers: replaced. */
    char id3[37];
    in = mk(id2, T0, T0 + 2 * HOUR, 1, ALERT_MATCH_EQUAL, "alertname", "Y");
    assert_int_equal(alert_silences_set(f.s, in, T0 + 3 * MIN, id3, &err), VG_OK);
    assert_string_not_equal(id3, id2);
    /* Active, end moved into the past: replaced (and then invalid? no: the
     * new one starts now and ends before now, so it is rejected and the
     * old one is left alone here). */
    in = mk(id3, T0 + 3 * MIN, T0 + 3 * MIN - 1, 1, ALERT_MATCH_EQUAL, "alertname", "Y");
    assert_int_equal(alert_silences_set(f.s, in, T0 + 4 * MIN, NULL, &err), VG_ERR_INPUT);
    assert_string_equal(err.msg, "silence invalid: end time must not be before start time");
    get(f.s, id3, T0 + 4 * MIN, &g);
    assert_int_equal(g.state, ALERT_SILENCE_ACTIVE);
    alert_silence_clear(&g);

    /* The UTC offsets given are kept for display, not stored. */
    in = mk(NULL, T0 + HOUR, T0 + 2 * HOUR, 1, ALERT_MATCH_EQUAL, "zone", "x");
    in->starts_at_offset_s = 7200;
    in->ends_at_offset_s = -3600;
    char zid[37];
    assert_int_equal(alert_silences_set(f.s, in, T0, zid, &err), VG_OK);
    get(f.s, zid, T0, &g);
    assert_int_equal(g.starts_at_offset_s, 7200);
    assert_int_equal(g.ends_at_offset_s, -3600);
    alert_silence_clear(&g);
    assert_int_equal(alert_silences_expire(f.s, zid, T0 + MIN, &err), VG_OK);
    get(f.s, zid, T0 + MIN, &g);
    assert_int_equal(g.starts_at_offset_s, 0); /* pending: started now */
    assert_int_equal(g.ends_at_offset_s, 0);
    alert_silence_clear(&g);

    /* Pending: in place while the new start is not before now. */
    char pid[37], pid2[37];
    in = mk(NULL, T0 + HOUR, T0 + 2 * HOUR, 1, ALERT_MATCH_REGEXP, "job", "db.*");
    assert_int_equal(alert_silences_set(f.s, in, T0, pid, &err), VG_OK);
    get(f.s, pid, T0, &g);
    assert_int_equal(g.state, ALERT_SILENCE_PENDING);
    alert_silence_clear(&g);
    in = mk(pid, T0 + 30 * MIN, T0 + 3 * HOUR, 1, ALERT_MATCH_REGEXP, "job", "db.*");
    assert_int_equal(alert_silences_set(f.s, in, T0 + MIN, pid2, &err), VG_OK);
    assert_string_equal(pid2, pid);
    /* ... and replaced when the new start is in the past. */
    in = mk(pid, T0, T0 + 3 * HOUR, 1, ALERT_MATCH_REGEXP, "job", "db.*");
    assert_int_equal(alert_silences_set(f.s, in, T0 + 2 * MIN, pid2, &err), VG_OK);
    assert_string_not_equal(pid2, pid);
    get(f.s, pid, T0 + 2 * MIN, &g);
    /* A pending silence is expired by starting and ending it now. */
    assert_int_equal(g.state, ALERT_SILENCE_EXPIRED);
    assert_int_equal(g.starts_at_ms, T0 + 2 * MIN);
    assert_int_equal(g.ends_at_ms, T0 + 2 * MIN);
    alert_silence_clear(&g);

    /* Expired: an update makes a new silence; the old one is untouched. */
    char eid[37];
    in = mk(pid, T0 + 10 * MIN, T0 + 3 * HOUR, 1, ALERT_MATCH_REGEXP, "job", "db.*");
    assert_int_equal(alert_silences_set(f.s, in, T0 + 5 * MIN, eid, &err), VG_OK);
    assert_string_not_equal(eid, pid);
    get(f.s, pid, T0 + 5 * MIN, &g);
    assert_int_equal(g.updated_at_ms, T0 + 2 * MIN);
    alert_silence_clear(&g);
    close_all(&f);
}

static void test_states_and_expire(void **state) {
    (void)state;
    fixture_t f = open_all();
    vg_err_t err = {0};
    char a[37], p[37];
    assert_int_equal(alert_silences_set(
                         f.s, mk(NULL, T0, T0 + HOUR, 1, ALERT_MATCH_EQUAL, "x", "1"), T0, a, &err),
                     VG_OK);
    assert_int_equal(
        alert_silences_set(f.s, mk(NULL, T0 + HOUR, T0 + 2 * HOUR, 1, ALERT_MATCH_EQUAL, "x", "2"),
                           T0, p, &err),
        VG_OK);
    size_t c[3];
    alert_silences_count(f.s, T0, c);
    assert_int_equal(c[0], 1);
    assert_int_equal(c[1], 1);
    assert_int_equal(c[2], 0);
    assert_int_equal(alert_silences_next_change(f.s, T0), T0 + HOUR);
    /* At the end instant the first is expired and the second active. */
    alert_silences_count(f.s, T0 + HOUR, c);
    assert_int_equal(c[0], 1);
    assert_int_equal(c[1], 0);
    assert_int_equal(c[2], 1);
    alert_silences_count(f.s, T0 + 2 * HOUR, c);
    assert_int_equal(c[2], 2);
    assert_int_equal(alert_silences_next_change(f.s, T0 + 2 * HOUR), INT64_MAX);

    /* Expire the active one at T0+1m and the pending one at T0+2m. */
    assert_int_equal(alert_silences_expire(f.s, a, T0 + MIN, &err), VG_OK);
    assert_int_equal(alert_silences_expire(f.s, p, T0 + 2 * MIN, &err), VG_OK);
    alert_silence_t g;
    get(f.s, a, T0 + MIN, &g);
    assert_int_equal(g.state, ALERT_SILENCE_EXPIRED);
    assert_int_equal(g.starts_at_ms, T0);
    assert_int_equal(g.ends_at_ms, T0 + MIN);
    alert_silence_clear(&g);
    get(f.s, p, T0 + 2 * MIN, &g);
    assert_int_equal(g.starts_at_ms, T0 + 2 * MIN);
    assert_int_equal(g.ends_at_ms, T0 + 2 * MIN);
    alert_silence_clear(&g);
    /* Expiring an expired silence changes nothing and is not an error
     * (Alertmanager's expire() returns nil). */
    uint64_t v = alert_silences_version(f.s);
    assert_int_equal(alert_silences_expire(f.s, a, T0 + 3 * MIN, &err), VG_OK);
    assert_int_equal(alert_silences_version(f.s), v);
    get(f.s, a, T0 + 3 * MIN, &g);
    assert_int_equal(g.updated_at_ms, T0 + MIN);
    alert_silence_clear(&g);
    assert_int_equal(alert_silences_expire(f.s, "nope", T0, &err), VG_ERR_NOTFOUND);
    assert_string_equal(err.msg, "silence not found");
    assert_int_equal(alert_silences_get(f.s, "nope", T0, &g), VG_ERR_NOTFOUND);
    close_all(&f);
}

static void test_mutes(void **state) {
    (void)state;
    fixture_t f = open_all();
    vg_err_t err = {0};
    char ids[4][37], want[3][37];
    assert_int_equal(
        alert_silences_set(f.s,
                           mk(NULL, T0, T0 + HOUR, 1, ALERT_MATCH_EQUAL, "alertname", "DiskFull"),
                           T0, want[0], &err),
        VG_OK);
    assert_int_equal(alert_silences_set(f.s,
                                        mk(NULL, T0, T0 + HOUR, 2, ALERT_MATCH_REGEXP, "instance",
                                           "db-[0-9]+", ALERT_MATCH_NOT_EQUAL, "severity", "page"),
                                        T0, want[1], &err),
                     VG_OK);
    assert_int_equal(alert_silences_set(f.s,
                                        mk(NULL, T0 + HOUR, T0 + 2 * HOUR, 1, ALERT_MATCH_EQUAL,
                                           "alertname", "DiskFull"),
                                        T0, want[2], &err),
                     VG_OK);
    labels_t *ls = labels_from_strings("alertname", "DiskFull", "instance", "db-12", NULL);
    size_t n = alert_silences_mutes(f.s, ls, T0, ids, 4);
    assert_int_equal(n, 2);
    assert_true(strcmp(ids[0], ids[1]) < 0);
    assert_true((strcmp(ids[0], want[0]) == 0 && strcmp(ids[1], want[1]) == 0) ||
                (strcmp(ids[0], want[1]) == 0 && strcmp(ids[1], want[0]) == 0));
    /* cap smaller than the count: the count is still returned. */
    assert_int_equal(alert_silences_mutes(f.s, ls, T0, ids, 1), 2);
    assert_int_equal(alert_silences_mutes(f.s, ls, T0, NULL, 0), 2);
    assert_int_equal(alert_silences_pending_for(f.s, ls, T0, ids, 4), 1);
    assert_string_equal(ids[0], want[2]);
    /* An hour later the first two ended and the third is active. */
    assert_int_equal(alert_silences_mutes(f.s, ls, T0 + HOUR, ids, 4), 1);
    assert_string_equal(ids[0], want[2]);
    labels_free(ls);
    ls = labels_from_strings("alertname", "Other", "instance", "db-1", "severity", "page", NULL);
    assert_int_equal(alert_silences_mutes(f.s, ls, T0, ids, 4), 0);
    labels_free(ls);
    /* The regex is anchored. */
    ls = labels_from_strings("alertname", "Other", "instance", "xdb-1", NULL);
    assert_int_equal(alert_silences_mutes(f.s, ls, T0, ids, 4), 0);
    labels_free(ls);

    /* Cost with 1000 silences, most not matching; each set() is one
     * durable commit (an fsync of the WAL). */
    double t0 = vg_time_mono();
    for (int i = 0; i < 1000; i++) {
        char v[32];
        snprintf(v, sizeof v, "svc-%d", i);
        alert_silence_t in = {0};
        alert_matcher_t m[2] = {{ALERT_MATCH_EQUAL, "service", v, NULL},
                                {ALERT_MATCH_REGEXP, "instance", "db-.*", NULL}};
        in.matchers = m;
        in.n_matchers = 2;
        in.starts_at_ms = T0;
        in.ends_at_ms = T0 + HOUR;
        in.created_by = in.comment = "bench";
        assert_int_equal(alert_silences_set(f.s, &in, T0, NULL, &err), VG_OK);
    }
    printf("# silence set (one durable commit each): %.3f ms\n",
           1e3 * (vg_time_mono() - t0) / 1000);
    ls = labels_from_strings("alertname", "DiskFull", "instance", "db-12", "service", "svc-500",
                             NULL);
    double t = vg_time_mono();
    size_t total = 0;
    for (int i = 0; i < 10000; i++)
        total += alert_silences_mutes(f.s, ls, T0, ids, 4);
    double dt = vg_time_mono() - t;
    assert_int_equal(total, 3 * 10000);
    printf("# mutes() over %d silences: %.2f us per call\n", 1003, 1e6 * dt / 10000);
    labels_free(ls);
    close_all(&f);
}

static void test_persistence_and_gc(void **state) {
    (void)state;
    vg_err_t err = {0};
    char a[37], b[37];
    {
        fixture_t f = open_all();
        assert_int_equal(alert_silences_set(f.s,
                                            mk(NULL, T0, T0 + HOUR, 3, ALERT_MATCH_EQUAL, "a",
                                               "x\"y\n", ALERT_MATCH_NOT_REGEXP, "b", "c|d",
                                               ALERT_MATCH_NOT_EQUAL, "c", "\xc3\xa9"),
                                            T0, a, &err),
                         VG_OK);
        assert_int_equal(
            alert_silences_set(f.s, mk(NULL, T0, T0 + 2 * HOUR, 1, ALERT_MATCH_REGEXP, "a", ".+"),
                               T0, b, &err),
            VG_OK);
        assert_int_equal(alert_silences_expire(f.s, a, T0 + MIN, &err), VG_OK);
        close_all(&f);
    }
    fixture_t f = open_all();
    alert_silence_list_t l;
    alert_silences_list(f.s, T0 + MIN, &l);
    assert_int_equal(l.n_items, 2);
    const alert_silence_t *sa = strcmp(l.items[0].id, a) == 0 ? &l.items[0] : &l.items[1];
    assert_string_equal(sa->id, a);
    assert_int_equal(sa->n_matchers, 3);
    assert_int_equal(sa->matchers[0].type, ALERT_MATCH_EQUAL);
    assert_string_equal(sa->matchers[0].value, "x\"y\n");
    assert_int_equal(sa->matchers[1].type, ALERT_MATCH_NOT_REGEXP);
    assert_string_equal(sa->matchers[1].value, "c|d");
    assert_int_equal(sa->matchers[2].type, ALERT_MATCH_NOT_EQUAL);
    assert_string_equal(sa->matchers[2].value, "\xc3\xa9");
    assert_int_equal(sa->ends_at_ms, T0 + MIN);
    assert_int_equal(sa->state, ALERT_SILENCE_EXPIRED);
    alert_silence_list_free(&l);
    /* The regex works after loading. */
    char ids[2][37];
    labels_t *ls = labels_from_strings("a", "zz", NULL);
    assert_int_equal(alert_silences_mutes(f.s, ls, T0 + MIN, ids, 2), 1);
    assert_string_equal(ids[0], b);
    labels_free(ls);

    /* GC: a is dropped 120h after its end, not before; b 120h after its. */
    int64_t ret = ALERT_SILENCE_RETENTION_DEFAULT_MS;
    assert_int_equal(alert_silences_gc(f.s, T0 + MIN + ret - 1), 0);
    uint64_t v = alert_silences_version(f.s);
    assert_int_equal(alert_silences_gc(f.s, T0 + MIN + ret), 1);
    assert_true(alert_silences_version(f.s) > v);
    alert_silence_t g;
    assert_int_equal(alert_silences_get(f.s, a, T0, &g), VG_ERR_NOTFOUND);
    close_all(&f);
    f = open_all();
    assert_int_equal(alert_silences_get(f.s, a, T0, &g), VG_ERR_NOTFOUND);
    get(f.s, b, T0, &g);
    alert_silence_clear(&g);
    assert_int_equal(alert_silences_gc(f.s, T0 + 2 * HOUR + ret), 1);
    alert_silences_list(f.s, T0, &l);
    assert_int_equal(l.n_items, 0);
    alert_silence_list_free(&l);
    close_all(&f);
}

/* A child process writes silences and reports each id once set() has
 * returned; the parent kills it with SIGKILL mid-stream and checks that
 * every reported silence is there, and that nothing half-written is. */
static void test_crash(void **state) {
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        vg_err_t err = {0};
        alert_db_t *db = alert_db_open(db_path(), &err);
        alert_silences_t *s = db ? alert_silences_open(db, 0, &err) : NULL;
        if (!s) _exit(2);
        for (int i = 0;; i++) {
            char v[32], id[37];
            snprintf(v, sizeof v, "v%d", i);
            alert_matcher_t m = {ALERT_MATCH_EQUAL, "crash", v, NULL};
            alert_silence_t in = {.matchers = &m,
                                  .n_matchers = 1,
                                  .starts_at_ms = T0,
                                  .ends_at_ms = T0 + HOUR,
                                  .created_by = "c",
                                  .comment = "c"};
            if (alert_silences_set(s, &in, T0, id, &err) != VG_OK) _exit(3);
            if (write(fds[1], id, 36) != 36) _exit(4);
        }
    }
    close(fds[1]);
    /* Let it write a few dozen, then kill it. */
    char buf[36 * 4096];
    size_t got = 0;
    while (got < 36 * 40) {
        ssize_t n = read(fds[0], buf + got, sizeof buf - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    kill(pid, SIGKILL);
    for (;;) {
        ssize_t n = read(fds[0], buf + got, sizeof buf - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    size_t acked = got / 36;
    fixture_t f = open_all();
    alert_silence_list_t l;
    alert_silences_list(f.s, T0, &l);
    /* Every acknowledged silence is there; at most one more (committed but
     * not yet reported) may be. */
    assert_true(l.n_items >= acked && l.n_items <= acked + 1);
    for (size_t i = 0; i < acked; i++) {
        char id[37];
        memcpy(id, buf + 36 * i, 36);
        id[36] = '\0';
        alert_silence_t g;
        get(f.s, id, T0, &g);
        assert_int_equal(g.n_matchers, 1);
        alert_silence_clear(&g);
    }
    printf("# crash: %zu silences acknowledged before SIGKILL, %zu found\n", acked, l.n_items);
    alert_silence_list_free(&l);
    close_all(&f);
}

static void test_bad_files(void **state) {
    (void)state;
    vg_err_t err = {0};
    char p[320];
    snprintf(p, sizeof p, "%s/not-sqlite.db", dir);
    FILE *fp = fopen(p, "w");
    fputs("this is not a database, it is a text file long enough to have a header......\n"
          "................................................................................\n",
          fp);
    fclose(fp);
    assert_null(alert_db_open(p, &err));
    assert_int_equal(err.code, VG_ERR_IO);

    /* Another program's SQLite file. */
    snprintf(p, sizeof p, "%s/other.db", dir);
    sqlite3 *c;
    assert_int_equal(sqlite3_open(p, &c), SQLITE_OK);
    sqlite3_exec(c, "PRAGMA application_id=1234; CREATE TABLE t(x);", NULL, NULL, NULL);
    sqlite3_close(c);
    assert_null(alert_db_open(p, &err));
    assert_non_null(strstr(err.msg, "not a vigil Alertmanager database"));

    /* A newer schema. */
    snprintf(p, sizeof p, "%s/newer.db", dir);
    alert_db_t *db = alert_db_open(p, &err);
    assert_non_null(db);
    alert_db_close(db);
    assert_int_equal(sqlite3_open(p, &c), SQLITE_OK);
    sqlite3_exec(c, "PRAGMA user_version=99", NULL, NULL, NULL);
    /* and a row that cannot be decoded, for the next check */
    sqlite3_close(c);
    assert_null(alert_db_open(p, &err));
    assert_non_null(strstr(err.msg, "schema version 99"));

    /* A bad row is skipped, the good ones load. */
    snprintf(p, sizeof p, "%s/badrow.db", dir);
    db = alert_db_open(p, &err);
    alert_silences_t *s = alert_silences_open(db, 0, &err);
    char id[37];
    assert_int_equal(alert_silences_set(s, mk(NULL, T0, T0 + HOUR, 1, ALERT_MATCH_EQUAL, "a", "b"),
                                        T0, id, &err),
                     VG_OK);
    alert_silences_free(s);
    alert_db_close(db);
    assert_int_equal(sqlite3_open(p, &c), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(c,
                     "INSERT INTO silences VALUES ('00000000-0000-4000-8000-000000000000',"
                     " '[{\"name\":\"a\",\"value\":\"(\",\"isRegex\":true}]', 1, 2, 3,"
                     " 'x', 'y'), ('short', '[]', 1, 2, 3, 'x', 'y'),"
                     " ('00000000-0000-4000-8000-000000000001', 'not json', 1, 2, 3,"
                     " 'x', 'y')",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(c);
    db = alert_db_open(p, &err);
    s = alert_silences_open(db, 0, &err);
    assert_non_null(s);
    alert_silence_list_t l;
    alert_silences_list(s, T0, &l);
    assert_int_equal(l.n_items, 1);
    assert_string_equal(l.items[0].id, id);
    alert_silence_list_free(&l);
    alert_silences_free(s);
    alert_db_close(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_update_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_states_and_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence_and_gc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
