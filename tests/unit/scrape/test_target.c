/* Target labels as Prometheus's PopulateLabels builds them, relabeling of
 * targets, scrape URLs, identity and scrape phase, and the discovery
 * documents (file_sd / http_sd). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "scrape/scrape_int.h"

static config_t *load(const char *yaml) {
    vg_err_t err = {0};
    config_t *c = config_load_string(yaml, strlen(yaml), "test.yml", &err);
    if (!c) fail_msg("config: %s", err.msg);
    return c;
}

static char *fmt(const labels_t *ls) {
    vg_buf_t b = VG_BUF_INIT;
    labels_format(ls, &b);
    return vg_buf_detach(&b);
}

/* Builds the target of job 0 from an address and extra label pairs; returns
 * the build result and the formatted labels. */
static int build(const config_t *c, const char *addr, char **pre_s, char **full_s, char **err_s,
                 ...) {
    const config_scrape_t *job = &c->scrape_configs[0];
    labels_relabel_t *rp = NULL;
    assert_int_equal(
        labels_relabel_compile(job->relabel_configs, job->n_relabel_configs, false, &rp, NULL),
        VG_OK);
    labels_builder_t *b = labels_builder_new();
    labels_builder_reset(b, NULL);
    labels_builder_set_s(b, "__address__", addr);
    va_list ap;
    va_start(ap, err_s);
    const char *n;
    while ((n = va_arg(ap, const char *)))
        labels_builder_set_s(b, n, va_arg(ap, const char *));
    va_end(ap);
    labels_t *disc = labels_builder_labels(b);
    labels_t *pre = NULL, *full = NULL;
    vg_err_t err = {0};
    int rc = scrape_target_build(job, rp, b, disc, &pre, &full, &err);
    *pre_s = pre ? fmt(pre) : NULL;
    *full_s = full ? fmt(full) : NULL;
    *err_s = vg_strdup(err.msg);
    labels_free(pre);
    labels_free(full);
    labels_free(disc);
    labels_builder_free(b);
    labels_relabel_free(rp);
    return rc;
}

static void test_default_labels(void **state) {
    (void)state;
    config_t *c = load("global: {scrape_interval: 15s}\n"
                       "scrape_configs:\n"
                       "  - job_name: node\n"
                       "    params: {module: [a, b]}\n"
                       "    static_configs: [{targets: ['h:9100']}]\n");
    char *pre, *full, *err;
    assert_int_equal(build(c, "h:9100", &pre, &full, &err, "__meta_x", "m", "team", "a", NULL), 1);
    assert_string_equal(pre,
                        "{__address__=\"h:9100\", __meta_x=\"m\", __metrics_path__=\"/metrics\", "
                        "__param_module=\"a\", __scheme__=\"http\", __scrape_interval__=\"15s\", "
                        "__scrape_timeout__=\"10s\", job=\"node\", team=\"a\"}");
    /* __meta_ gone, instance = address. */
    assert_string_equal(full,
                        "{__address__=\"h:9100\", __metrics_path__=\"/metrics\", "
                        "__param_module=\"a\", __scheme__=\"http\", __scrape_interval__=\"15s\", "
                        "__scrape_timeout__=\"10s\", instance=\"h:9100\", job=\"node\", "
                        "team=\"a\"}");
    labels_t *ls =
        labels_from_strings("__address__", "h:9100", "__scheme__", "http", "__metrics_path__",
                            "/metrics", "__param_module", "x y", "job", "node", NULL);
    char *url = scrape_target_url(&c->scrape_configs[0], ls);
    /* The label replaces the first value; the rest stay, keys sorted. */
    assert_string_equal(url, "http://h:9100/metrics?module=x+y&module=b");
    free(url);
    labels_t *pub = scrape_target_public_labels(ls);
    char *p = fmt(pub);
    assert_string_equal(p, "{job=\"node\"}");
    free(p);
    labels_free(pub);
    labels_free(ls);
    free(pre), free(full), free(err);
    /* Default ports (Prometheus 2.x), IPv6, and a bad address. */
    assert_int_equal(build(c, "example.org", &pre, &full, &err, NULL), 1);
    assert_non_null(strstr(full, "__address__=\"example.org:80\""));
    assert_non_null(strstr(full, "instance=\"example.org:80\""));
    free(pre), free(full), free(err);
    assert_int_equal(build(c, "[::1]:9100", &pre, &full, &err, NULL), 1);
    assert_non_null(strstr(full, "instance=\"[::1]:9100\""));
    free(pre), free(full), free(err);
    assert_int_equal(build(c, "h:1/x", &pre, &full, &err, NULL), VG_ERR_INPUT);
    assert_string_equal(err, "\"h:1/x\" is not a valid hostname");
    free(pre), free(full), free(err);
    /* A target's own interval label wins, and is checked against its timeout. */
    assert_int_equal(build(c, "h:1", &pre, &full, &err, "__scrape_interval__", "5s", NULL),
                     VG_ERR_INPUT);
    assert_string_equal(err,
                        "scrape timeout cannot be greater than scrape interval (\"10s\" > \"5s\")");
    free(pre), free(full), free(err);
    config_unref(c);
}

static void test_relabel_targets(void **state) {
    (void)state;
    config_t *c = load("scrape_configs:\n"
                       "  - job_name: j\n"
                       "    static_configs: [{targets: ['a:1']}]\n"
                       "    relabel_configs:\n"
                       "      - source_labels: [__address__]\n"
                       "        regex: 'drop.*'\n"
                       "        action: drop\n"
                       "      - source_labels: [__address__]\n"
                       "        regex: '(.*):(.*)'\n"
                       "        target_label: instance\n"
                       "        replacement: '$1'\n"
                       "      - source_labels: [__meta_port]\n"
                       "        regex: '(.+)'\n"
                       "        target_label: __address__\n"
                       "        replacement: 'proxy:$1'\n"
                       "      - regex: '__meta_(env)'\n"
                       "        action: labelmap\n");
    char *pre, *full, *err;
    assert_int_equal(build(c, "drop-me:1", &pre, &full, &err, NULL), 0);
    assert_null(full);
    assert_non_null(strstr(pre, "__address__=\"drop-me:1\""));
    free(pre), free(full), free(err);
    assert_int_equal(
        build(c, "web:8080", &pre, &full, &err, "__meta_port", "3128", "__meta_env", "prod", NULL),
        1);
    assert_string_equal(full, "{__address__=\"proxy:3128\", __metrics_path__=\"/metrics\", "
                              "__scheme__=\"http\", __scrape_interval__=\"1m\", "
                              "__scrape_timeout__=\"10s\", env=\"prod\", instance=\"web\", "
                              "job=\"j\"}");
    free(pre), free(full), free(err);
    config_unref(c);
}

static void test_hash_and_phase(void **state) {
    (void)state;
    labels_t *a = labels_from_strings("__address__", "a:1", "job", "x", NULL);
    labels_t *b = labels_from_strings("__address__", "a:2", "job", "x", NULL);
    uint64_t ha = scrape_target_hash(a, "http://a:1/metrics");
    assert_int_equal(ha, scrape_target_hash(a, "http://a:1/metrics"));
    assert_int_not_equal(ha, scrape_target_hash(b, "http://a:2/metrics"));
    assert_int_not_equal(ha, scrape_target_hash(a, "http://a:1/other"));
    /* The same phase inside every interval, never before now. */
    int64_t iv = 15000;
    int64_t t1 = scrape_target_first_time(ha, iv, 1000000);
    int64_t t2 = scrape_target_first_time(ha, iv, 1000000 + 7 * iv + 3);
    assert_true(t1 >= 1000000 && t1 < 1000000 + iv);
    assert_int_equal((t2 - t1) % iv, 0);
    assert_int_equal(t1 % iv, (int64_t)(ha % (uint64_t)iv));
    labels_free(a);
    labels_free(b);
}

static void test_sd_documents(void **state) {
    (void)state;
    scrape_lsets_t out = {0};
    vg_err_t err = {0};
    const char *json = "[{\"targets\":[\"a:1\",\"b:2\"],\"labels\":{\"env\":\"prod\"}},"
                       "{\"targets\":[\"c:3\"]}]";
    assert_int_equal(
        scrape_sd_parse_json(json, strlen(json), "__meta_url", "http://sd", &out, &err), VG_OK);
    assert_int_equal(out.n, 3);
    char *s = fmt(out.items[0]);
    assert_string_equal(s, "{__address__=\"a:1\", __meta_url=\"http://sd\", env=\"prod\"}");
    free(s);
    scrape_lsets_clear(&out);
    const char *yaml = "- targets: ['x:1']\n  labels:\n    team: db\n- targets: [y:2]\n";
    assert_int_equal(
        scrape_sd_parse_yaml(yaml, strlen(yaml), "__meta_filepath", "/f.yml", &out, &err), VG_OK);
    assert_int_equal(out.n, 2);
    s = fmt(out.items[0]);
    assert_string_equal(s, "{__address__=\"x:1\", __meta_filepath=\"/f.yml\", team=\"db\"}");
    free(s);
    scrape_lsets_clear(&out);
    /* Bad documents add nothing and say why. */
    const char *bad[] = {"{", "[{\"targets\":\"a\"}]", "[{\"labels\":{\"1x\":\"v\"}}]",
                         "[{\"targets\":[1]}]", "[{\"foo\":1}]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(scrape_sd_parse_json(bad[i], strlen(bad[i]), NULL, NULL, &out, &err),
                             VG_OK);
        assert_int_equal(out.n, 0);
    }
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                       "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    assert_int_not_equal(scrape_sd_parse_yaml(bomb, strlen(bomb), NULL, NULL, &out, &err), VG_OK);
    assert_int_equal(out.n, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_labels),
        cmocka_unit_test(test_relabel_targets),
        cmocka_unit_test(test_hash_and_phase),
        cmocka_unit_test(test_sd_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
