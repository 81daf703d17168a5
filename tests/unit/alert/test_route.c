/* The resolved route tree: options inherited down the tree, matching with
 * continue, route keys and IDs, grouping labels (group_by and '...'), and
 * the time-interval mute decision for a route. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"

#define GOOD VG_SHARED_DIR "/conformance/alertmanager-config/config-testdata/conf.good.yml"

static alert_config_t *load(const char *yaml) {
    vg_err_t err = {0};
    alert_config_t *c = alert_config_load_string(yaml, strlen(yaml), "t.yml", &err);
    if (!c) fail_msg("load: %s", err.msg);
    return c;
}

static char *key_of(const alert_route_t *r) {
    vg_buf_t b = VG_BUF_INIT;
    alert_route_key(r, &b);
    return vg_buf_detach(&b);
}

static void test_inheritance(void **state) {
    (void)state;
    vg_err_t err = {0};
    alert_config_t *c = alert_config_load_file(GOOD, &err);
    assert_non_null(c);
    const alert_route_t *root = c->route;
    assert_int_equal(c->n_routes, 8);
    assert_string_equal(root->receiver, "team-X-mails");
    assert_int_equal(root->group_wait_ms, 30000);
    assert_int_equal(root->group_interval_ms, 300000);
    assert_int_equal(root->repeat_interval_ms, 3 * 3600000);
    assert_int_equal(root->n_group_by, 3);
    assert_string_equal(root->group_by[0], "alertname");
    const alert_route_t *db = &root->routes[2];
    assert_string_equal(db->receiver, "team-DB-pager");
    assert_int_equal(db->n_group_by, 3);
    assert_string_equal(db->group_by[2], "database");
    assert_int_equal(db->repeat_interval_ms, 3 * 3600000); /* inherited */
    const alert_route_t *owner = &db->routes[0];
    assert_true(owner->cont);
    assert_string_equal(owner->group_by[2], "database"); /* from its parent */
    /* Post-order indices, as Alertmanager numbers routes. */
    assert_int_equal(root->idx, 7);
    assert_int_equal(root->routes[0].routes[0].idx, 0);
    char *k = key_of(&db->routes[1]);
    assert_string_equal(k, "{}/{service=\"database\"}/{owner=\"team-Y\"}");
    free(k);
    vg_buf_t id = VG_BUF_INIT;
    alert_route_id(&db->routes[1], &id);
    assert_string_equal(id.data, "{}/{service=\"database\"}/2/{owner=\"team-Y\"}/1");
    vg_buf_free(&id);
    k = key_of(&root->routes[0]);
    /* match_re prints anchored, as a real Alertmanager 0.25's group keys. */
    assert_string_equal(k, "{}/{service=~\"^(?:^(foo1|foo2|baz)$)$\"}");
    free(k);
    alert_config_unref(c);
}

static size_t route(const alert_config_t *c, const char *const *kv, const char **out, size_t cap) {
    labels_label_t pairs[16];
    size_t n = 0;
    for (; kv[2 * n]; n++)
        pairs[n] =
            (labels_label_t){kv[2 * n], kv[2 * n + 1], strlen(kv[2 * n]), strlen(kv[2 * n + 1])};
    labels_t *ls = NULL;
    assert_int_equal(labels_from_pairs(pairs, n, &ls, NULL), 0);
    size_t got = alert_config_routes_test(c, ls, out, cap);
    labels_free(ls);
    return got;
}

static void test_matching(void **state) {
    (void)state;
    vg_err_t err = {0};
    alert_config_t *c = alert_config_load_file(GOOD, &err);
    assert_non_null(c);
    const char *out[8];
    const char *a[] = {"service", "database", "owner2", "team-X", "owner", "team-Y", NULL};
    assert_int_equal(route(c, a, out, 8), 2);
    assert_string_equal(out[0], "team-X-pager");
    assert_string_equal(out[1], "team-Y-pager");
    const char *b[] = {"service", "foo2", "severity", "critical", NULL};
    assert_int_equal(route(c, b, out, 8), 1);
    assert_string_equal(out[0], "team-X-pager");
    const char *d[] = {"service", "foo2", "severity", "warning", NULL};
    assert_int_equal(route(c, d, out, 8), 1);
    assert_string_equal(out[0], "team-X-mails"); /* the parent node itself */
    const char *e[] = {"service", "other", NULL};
    assert_int_equal(route(c, e, out, 8), 1);
    assert_string_equal(out[0], "team-X-mails"); /* the root */
    /* Anchored regexes: a prefix does not match. */
    const char *f[] = {"service", "foo1x", NULL};
    assert_int_equal(route(c, f, out, 8), 1);
    assert_string_equal(out[0], "team-X-mails");
    alert_config_unref(c);
}

static void test_group_labels(void **state) {
    (void)state;
    alert_config_t *c = load("route:\n"
                             "  receiver: a\n"
                             "  group_by: [alertname, cluster]\n"
                             "  routes:\n"
                             "  - matchers: ['team=\"db\"']\n"
                             "    group_by: ['...']\n"
                             "    routes:\n"
                             "    - matchers: [sub=x]\n"
                             "  - matchers: ['team=ops']\n"
                             "    group_by: []\n"
                             "    group_wait: 1m\n"
                             "receivers:\n- name: a\n");
    const alert_route_t *root = c->route;
    labels_t *ls = labels_from_strings("alertname", "X", "team", "db", "sub", "x", NULL);
    labels_t *g = alert_route_group_labels(root, ls);
    assert_int_equal(labels_len(g), 1); /* cluster is absent */
    vg_buf_t key = VG_BUF_INIT;
    alert_route_group_key(root, g, &key);
    assert_string_equal(key.data, "{}:{alertname=\"X\"}");
    vg_buf_free(&key);
    labels_free(g);
    const alert_route_t *db = &root->routes[0];
    assert_true(db->group_by_all);
    assert_true(db->routes[0].group_by_all); /* inherited */
    g = alert_route_group_labels(&db->routes[0], ls);
    assert_int_equal(labels_len(g), 3);
    labels_free(g);
    const alert_route_t *ops = &root->routes[1];
    assert_false(ops->group_by_all);
    assert_int_equal(ops->n_group_by, 0); /* [] resets the inherited list */
    assert_int_equal(ops->group_wait_ms, 60000);
    assert_int_equal(ops->group_interval_ms, 300000); /* default */
    assert_int_equal(ops->repeat_interval_ms, 4 * 3600000);
    const alert_route_t *matched[4];
    assert_int_equal(alert_route_match(root, ls, matched, 4), 1);
    assert_ptr_equal(matched[0], &db->routes[0]);
    labels_free(ls);
    alert_config_unref(c);
}

static void test_route_muted(void **state) {
    (void)state;
    alert_config_t *c = load("route:\n"
                             "  receiver: a\n"
                             "  routes:\n"
                             "  - receiver: a\n"
                             "    mute_time_intervals: [nights]\n"
                             "  - receiver: a\n"
                             "    active_time_intervals: [nights]\n"
                             "time_intervals:\n"
                             "- name: nights\n"
                             "  time_intervals:\n"
                             "  - times: [{start_time: '22:00', end_time: '24:00'}]\n"
                             "  - times: [{start_time: '00:00', end_time: '06:00'}]\n"
                             "receivers:\n- name: a\n");
    int64_t night = 1700000000000LL - (1700000000000LL % 86400000) + 23 * 3600000LL;
    int64_t day = night - 10 * 3600000LL;
    assert_true(alert_config_route_muted(c, &c->route->routes[0], night));
    assert_false(alert_config_route_muted(c, &c->route->routes[0], day));
    assert_false(alert_config_route_muted(c, &c->route->routes[1], night));
    assert_true(alert_config_route_muted(c, &c->route->routes[1], day));
    assert_false(alert_config_route_muted(c, c->route, day));
    alert_config_unref(c);
}

static void test_route_labels_and_continue(void **state) {
    (void)state;
    alert_config_t *c = load("route:\n"
                             "  receiver: r0\n"
                             "  labels: {team: base}\n"
                             "  routes:\n"
                             "  - receiver: r1\n"
                             "    continue: true\n"
                             "    labels: {team: one, extra: y}\n"
                             "  - receiver: r2\n"
                             "  - receiver: r3\n"
                             "receivers:\n- name: r0\n- name: r1\n- name: r2\n- name: r3\n");
    const alert_route_t *r1 = &c->route->routes[0];
    assert_int_equal(r1->n_labels, 2);
    assert_string_equal(r1->labels[0].value, "one");
    const char *out[4];
    labels_t *ls = labels_from_strings("a", "b", NULL);
    assert_int_equal(alert_config_routes_test(c, ls, out, 4), 2);
    assert_string_equal(out[0], "r1");
    assert_string_equal(out[1], "r2");
    labels_free(ls);
    alert_config_unref(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inheritance),
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_group_labels),
        cmocka_unit_test(test_route_muted),
        cmocka_unit_test(test_route_labels_and_continue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
