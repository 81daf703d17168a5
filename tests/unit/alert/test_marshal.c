/* alert_config_marshal against what Alertmanager 0.25 (Debian's build)
 * serves in /api/v2/status's config.original for the same files. The
 * expected outputs in marshal/<name>.out were captured from the real
 * Alertmanager (started on 127.0.0.1 with --cluster.listen-address= and a
 * temporary --storage.path) with the file's directory replaced by "<dir>".
 * Inputs: marshal/<name>.yml, the integration tests' alertmanager.yml files
 * (each $name replaced by http://127.0.0.1:9099/name before loading), the
 * seed fixture and the conformance files Alertmanager 0.25 can load.
 * marshal/scalars.yml holds the edges of yaml.v2's scalar resolution. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"

#define MARSHAL_DIR VG_SOURCE_DIR "/tests/unit/alert/marshal"
#define IT_DIR VG_SOURCE_DIR "/tests/integration/data/alertmanager"
#define CONF_DIR VG_SHARED_DIR "/conformance/alertmanager-config/config-testdata"

static char *slurp(const char *path) {
    char *text = NULL;
    size_t len = 0;
    if (vg_file_read_all(path, 16u << 20, &text, &len, NULL) != 0) fail_msg("cannot read %s", path);
    return text;
}

/* The marshalled text with every occurrence of dir replaced by "<dir>". */
static char *marshal_rel(const alert_config_t *c, const char *dir) {
    vg_buf_t b = VG_BUF_INIT, out = VG_BUF_INIT;
    alert_config_marshal(c, &b);
    size_t dl = strlen(dir);
    for (size_t i = 0; i < b.len;) {
        if (dl && b.len - i >= dl && !memcmp(b.data + i, dir, dl)) {
            vg_buf_puts(&out, "<dir>");
            i += dl;
        } else {
            vg_buf_putc(&out, b.data[i++]);
        }
    }
    vg_buf_free(&b);
    return vg_buf_detach(&out);
}

/* Reports the first differing line, which says more than two long texts. */
static void assert_same_text(const char *name, const char *got, const char *want) {
    if (!strcmp(got, want)) return;
    size_t line = 1;
    const char *g = got, *w = want;
    while (*g && *g == *w) {
        if (*g == '\n') line++;
        g++, w++;
    }
    const char *gl = g, *wl = w;
    while (gl > got && gl[-1] != '\n')
        gl--;
    while (wl > want && wl[-1] != '\n')
        wl--;
    int gn = (int)strcspn(gl, "\n"), wn = (int)strcspn(wl, "\n");
    fail_msg("%s: line %zu differs\n got: %.*s\nwant: %.*s", name, line, gn, gl, wn, wl);
}

static void check_file(const char *dir, const char *file, const char *expected) {
    char path[1024], exp_path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(exp_path, sizeof exp_path, MARSHAL_DIR "/%s", expected);
    vg_err_t err = {0};
    alert_config_t *c = alert_config_load_file(path, &err);
    if (!c) fail_msg("%s: %s", path, err.msg);
    char *got = marshal_rel(c, dir);
    char *want = slurp(exp_path);
    assert_same_text(file, got, want);
    free(got);
    free(want);
    alert_config_unref(c);
}

static void test_own_files(void **state) {
    (void)state;
    check_file(MARSHAL_DIR, "minimal.yml", "minimal.out");
    check_file(MARSHAL_DIR, "kitchen-sink.yml", "kitchen-sink.out");
    /* yaml.v2's resolver edges (when a string needs quotes), durations of
     * both Go types, the flow style a location leaks into the next entry. */
    check_file(MARSHAL_DIR, "scalars.yml", "scalars.out");
    check_file(MARSHAL_DIR, "integrations.yml", "integrations.out");
}

static void test_seed_fixture(void **state) {
    (void)state;
    check_file(VG_SHARED_DIR "/seed-fixtures", "alertmanager-004.yml", "alertmanager-004.out");
}

static void test_conformance_files(void **state) {
    (void)state;
    static const char *const names[] = {"conf.good",
                                        "conf.empty-fields",
                                        "conf.group-by-all",
                                        "conf.http-config.good",
                                        "conf.opsgenie-default-apikey",
                                        "conf.opsgenie-default-apikey-file",
                                        "conf.sns-topic-arn",
                                        "conf.victorops-default-apikey",
                                        "conf.slack-default-api-url-file",
                                        "conf.smtp-no-username-or-password"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char yml[256], out[256];
        snprintf(yml, sizeof yml, "%s.yml", names[i]);
        snprintf(out, sizeof out, "%s.out", names[i]);
        check_file(CONF_DIR, yml, out);
    }
}

/* The integration tests' files hold $name placeholders for receiver URLs. */
static void test_integration_files(void **state) {
    (void)state;
    static const char *const names[] = {"amtool", "prometheus_delivery", "restart", "side_by_side"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[512], exp_path[512];
        snprintf(path, sizeof path, IT_DIR "/%s.yml", names[i]);
        snprintf(exp_path, sizeof exp_path, MARSHAL_DIR "/it-%s.out", names[i]);
        char *text = slurp(path);
        vg_buf_t b = VG_BUF_INIT;
        for (const char *p = text; *p;) {
            if (*p == '$') {
                size_t n = 1;
                while ((p[n] >= 'a' && p[n] <= 'z') || p[n] == '_')
                    n++;
                vg_buf_printf(&b, "http://127.0.0.1:9099/%.*s", (int)(n - 1), p + 1);
                p += n;
            } else {
                vg_buf_putc(&b, *p++);
            }
        }
        vg_err_t err = {0};
        alert_config_t *c = alert_config_load_string(b.data, b.len, path, &err);
        if (!c) fail_msg("%s: %s", path, err.msg);
        char *got = marshal_rel(c, "");
        char *want = slurp(exp_path);
        assert_same_text(names[i], got, want);
        free(got);
        free(want);
        free(text);
        vg_buf_free(&b);
        alert_config_unref(c);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_files),
        cmocka_unit_test(test_seed_fixture),
        cmocka_unit_test(test_conformance_files),
        cmocka_unit_test(test_integration_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
