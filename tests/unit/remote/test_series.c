/* Series as a queue sends them: external labels added where absent, then
 * write_relabel_configs (Prometheus's order), and the ref map. Also the
 * position file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remote/remote_int.h"

static char *run(const char *yaml_relabel, const labels_t *in, const config_label_t *ext,
                 size_t n_ext) {
    labels_relabel_t *prog = NULL;
    config_t *cfg = NULL;
    if (yaml_relabel) {
        vg_buf_t y = VG_BUF_INIT;
        vg_buf_printf(&y,
                      "remote_write:\n  - url: http://x/api/v1/write\n"
                      "    write_relabel_configs:\n%s",
                      yaml_relabel);
        vg_err_t err = {0};
        cfg = config_load_string(y.data, y.len, "test.yml", &err);
        vg_buf_free(&y);
        if (!cfg) fail_msg("config: %s", err.msg);
        const config_remote_write_t *rw = &cfg->remote_write[0];
        assert_int_equal(labels_relabel_compile(rw->write_relabel_configs,
                                                rw->n_write_relabel_configs, false, &prog, &err),
                         VG_OK);
    }
    size_t n = labels_len(in);
    labels_label_t pairs[32];
    for (size_t i = 0; i < n; i++)
        pairs[i] = labels_at(in, i);
    labels_builder_t *b = labels_builder_new();
    labels_t *out = remote_series_process(pairs, n, ext, n_ext, prog, b);
    labels_builder_free(b);
    labels_relabel_free(prog);
    config_unref(cfg);
    if (!out) return strdup("<dropped>");
    vg_buf_t t = VG_BUF_INIT;
    labels_format(out, &t);
    labels_free(out);
    return vg_buf_detach(&t);
}

static void test_external_labels(void **state) {
    (void)state;
    config_label_t ext[] = {{"cluster", "eu1"}, {"replica", "a"}};
    labels_t *in = labels_from_strings("__name__", "up", "job", "node", "replica", "mine", NULL);
    char *s = run(NULL, in, ext, 2);
    /* the series' own replica wins, cluster is added */
    assert_string_equal(s, "{__name__=\"up\", cluster=\"eu1\", job=\"node\", replica=\"mine\"}");
    free(s);
    labels_free(in);
}

static void test_relabel_after_external(void **state) {
    (void)state;
    config_label_t ext[] = {{"cluster", "eu1"}};
    labels_t *in = labels_from_strings("__name__", "up", "job", "node", NULL);
    /* relabeling sees the external label already there */
    char *s = run("      - source_labels: [cluster]\n        target_label: region\n"
                  "        replacement: from-$1\n",
                  in, ext, 1);
    assert_string_equal(s, "{__name__=\"up\", cluster=\"eu1\", job=\"node\", region=\"from-eu1\"}");
    free(s);
    s = run("      - source_labels: [__name__]\n        regex: up\n        action: drop\n", in, ext,
            1);
    assert_string_equal(s, "<dropped>");
    free(s);
    s = run("      - regex: cluster\n        action: labeldrop\n", in, ext, 1);
    assert_string_equal(s, "{__name__=\"up\", job=\"node\"}");
    free(s);
    s = run("      - regex: .*\n        action: labeldrop\n", in, ext, 1);
    assert_string_equal(s, "<dropped>"); /* nothing left */
    free(s);
    labels_free(in);
}

static void test_series_map(void **state) {
    (void)state;
    remote_series_map_t m = {0};
    assert_null(remote_series_map_get(&m, 5));
    for (uint64_t r = 1; r <= 5000; r++) {
        char v[16];
        snprintf(v, sizeof v, "%llu", (unsigned long long)r);
        remote_series_map_put(&m, r,
                              r % 3 ? labels_from_strings("__name__", "m", "i", v, NULL) : NULL);
    }
    assert_int_equal(m.n, 5000);
    const remote_series_entry_t *e = remote_series_map_get(&m, 4000);
    assert_non_null(e);
    assert_non_null(e->ls);
    const labels_t *keep = e->ls;
    /* declared again: the first labels stay (queued samples point at them) */
    remote_series_map_put(&m, 4000, labels_from_strings("__name__", "other", NULL));
    assert_ptr_equal(remote_series_map_get(&m, 4000)->ls, keep);
    e = remote_series_map_get(&m, 3000);
    assert_non_null(e);
    assert_null(e->ls); /* known, dropped */
    assert_null(remote_series_map_get(&m, 5001));
    remote_series_map_put(&m, 0, NULL); /* ref 0 is never stored */
    assert_null(remote_series_map_get(&m, 0));
    remote_series_map_free(&m);
}

static void test_position_file(void **state) {
    (void)state;
    char dir[] = "/tmp/vigil-remote-pos-XXXXXX";
    assert_non_null(mkdtemp(dir));
    vg_buf_t path = VG_BUF_INIT;
    vg_buf_printf(&path, "%s/q.json", dir);
    tsdb_wal_pos_t p;
    assert_int_equal(remote_position_load(path.data, &p), VG_ERR_NOTFOUND);
    tsdb_wal_pos_t w = {12, 345678};
    vg_err_t err = {0};
    assert_int_equal(remote_position_save(path.data, &w, &err), VG_OK);
    assert_int_equal(remote_position_load(path.data, &p), VG_OK);
    assert_int_equal(p.segment, 12);
    assert_int_equal(p.offset, 345678);
    /* anything else is no position */
    const char *bad[] = {"", "{}", "{\"segment\":-1,\"offset\":0}", "garbage",
                         "{\"segment\":99999999999,\"offset\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fopen(path.data, "w");
        fputs(bad[i], f);
        fclose(f);
        assert_int_equal(remote_position_load(path.data, &p), VG_ERR_NOTFOUND);
    }
    vg_remove_all(dir, NULL);
    vg_buf_free(&path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_external_labels),
        cmocka_unit_test(test_relabel_after_external),
        cmocka_unit_test(test_series_map),
        cmocka_unit_test(test_position_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
