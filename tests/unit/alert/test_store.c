/* Tests of the Alertmanager's alert objects: fingerprints equal to the
 * ones Alertmanager 0.25 reports for the same label sets, merge of two
 * versions of one alert, the order of alerts in a notification, and the
 * fingerprint map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "alert/alert_int.h"

#define S INT64_C(1000000000)

static void test_fingerprint(void **state) {
    (void)state;
    /* Read from a real Alertmanager's GET /api/v2/alerts. */
    labels_t *a = labels_from_strings("alertname", "TestAlert", "job", "x", NULL);
    labels_t *b = labels_from_strings("a", "b", "c", "d\xe2\x82\xac", NULL);
    assert_true(alert_fingerprint(a) == UINT64_C(0xa5787cd58e6d75c9));
    assert_true(alert_fingerprint(b) == UINT64_C(0x07e200d882989695));
    labels_free(a);
    labels_free(b);
}

static alert_alert_t *mk(const char *name, int64_t s, int64_t e, int64_t u, bool timeout) {
    labels_t *ls = labels_from_strings("alertname", name, NULL);
    alert_alert_t *a = alert_alert_new(ls, NULL, s, e, u, "", timeout, alert_fingerprint(ls));
    labels_free(ls);
    return a;
}

static void test_merge(void **state) {
    (void)state;
    /* The younger wins; the earliest start is kept. */
    alert_alert_t *old = mk("A", 100 * S, 400 * S, 100 * S, true);
    alert_alert_t *young = mk("A", 200 * S, 500 * S, 200 * S, true);
    alert_alert_t *m = alert_alert_merge(old, young);
    assert_true(m->starts_at_ns == 100 * S);
    assert_true(m->ends_at_ns == 500 * S);
    assert_true(m->updated_at_ns == 200 * S);
    alert_alert_unref(m);
    /* Argument order does not matter. */
    m = alert_alert_merge(young, old);
    assert_true(m->starts_at_ns == 100 * S && m->ends_at_ns == 500 * S);
    alert_alert_unref(m);
    /* A later explicit end of the older one wins over the younger's
     * timeout end while firing... */
    alert_alert_t *exp = mk("A", 100 * S, 900 * S, 100 * S, false);
    m = alert_alert_merge(exp, young);
    assert_true(m->ends_at_ns == 900 * S);
    alert_alert_unref(m);
    /* ...but not a made-up (timeout) one. */
    alert_alert_t *tmo = mk("A", 100 * S, 900 * S, 100 * S, true);
    m = alert_alert_merge(tmo, young);
    assert_true(m->ends_at_ns == 500 * S);
    alert_alert_unref(m);
    /* Once the younger is resolved, it keeps its end unless the older was
     * resolved later. */
    alert_alert_t *res = mk("A", 200 * S, 250 * S, 300 * S, false);
    m = alert_alert_merge(exp, res);
    assert_true(m->ends_at_ns == 250 * S);
    alert_alert_unref(m);
    alert_alert_unref(old);
    alert_alert_unref(young);
    alert_alert_unref(exp);
    alert_alert_unref(tmo);
    alert_alert_unref(res);
}

static alert_alert_t *mkl(labels_t *ls) {
    alert_alert_t *a = alert_alert_new(ls, NULL, S, 2 * S, S, "", false, alert_fingerprint(ls));
    labels_free(ls);
    return a;
}

static void test_notify_order(void **state) {
    (void)state;
    alert_alert_t *job_a = mkl(labels_from_strings("alertname", "Z", "job", "a", NULL));
    alert_alert_t *job_b = mkl(labels_from_strings("alertname", "A", "job", "b", NULL));
    alert_alert_t *no_job = mkl(labels_from_strings("alertname", "A", NULL));
    alert_alert_t *inst1 = mkl(labels_from_strings("job", "a", "instance", "1", NULL));
    alert_alert_t *fewer = mkl(labels_from_strings("b", "x", NULL));
    assert_true(alert_alert_cmp_notify(job_a, job_b) < 0);
    assert_true(alert_alert_cmp_notify(job_b, no_job) < 0); /* with the label first */
    assert_true(alert_alert_cmp_notify(inst1, job_a) < 0);  /* instance decides next */
    /* Without job and instance: fewer labels first, then by names/values. */
    /* Go: the set missing the smallest name of the union comes first. */
    assert_true(alert_alert_cmp_notify(fewer, no_job) < 0);
    alert_alert_t *more = mkl(labels_from_strings("a", "1", "b", "2", NULL));
    assert_true(alert_alert_cmp_notify(fewer, more) < 0);
    alert_alert_unref(job_a);
    alert_alert_unref(job_b);
    alert_alert_unref(no_job);
    alert_alert_unref(inst1);
    alert_alert_unref(fewer);
    alert_alert_unref(more);
}

static void test_map(void **state) {
    (void)state;
    alert_map_t m = {0};
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "a%d", i);
        alert_map_put(&m, mk(name, S, 2 * S, S, false));
    }
    assert_int_equal(m.len, 5000);
    for (int i = 0; i < 5000; i += 2) {
        snprintf(name, sizeof name, "a%d", i);
        labels_t *ls = labels_from_strings("alertname", name, NULL);
        alert_alert_t *a = alert_map_del(&m, alert_fingerprint(ls));
        assert_non_null(a);
        alert_alert_unref(a);
        labels_free(ls);
    }
    assert_int_equal(m.len, 2500);
    /* Replacing keeps the count and drops the old one. */
    alert_map_put(&m, mk("a1", 5 * S, 6 * S, 5 * S, false));
    assert_int_equal(m.len, 2500);
    size_t seen = 0;
    ALERT_MAP_FOREACH(&m, a) {
        (void)a;
        seen++;
    }
    assert_int_equal(seen, 2500);
    labels_t *ls = labels_from_strings("alertname", "a1", NULL);
    assert_true(alert_map_get(&m, alert_fingerprint(ls))->starts_at_ns == 5 * S);
    labels_free(ls);
    ls = labels_from_strings("alertname", "a2", NULL);
    assert_null(alert_map_get(&m, alert_fingerprint(ls)));
    labels_free(ls);
    alert_map_clear(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_notify_order),
        cmocka_unit_test(test_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
