/* amtool's routing tests (v0.34 cli/test_routing_test.go, transcribed in
 * routing-cases.tsv): labels routed through the tree, honouring continue,
 * give the receivers in order. Prints the pass rate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"

#define DIR VG_SHARED_DIR "/conformance/alertmanager-config"

static labels_t *labels_of(const char *text) {
    vg_err_t err = {0};
    alert_matcher_set_t *set = alert_matcher_set_parse(text, strlen(text), &err);
    assert_non_null(set);
    labels_label_t pairs[32];
    size_t n = 0;
    for (size_t i = 0; i < set->n_matchers && n < 32; i++) {
        const alert_matcher_t *m = &set->matchers[i];
        assert_int_equal(m->type, ALERT_MATCH_EQUAL);
        pairs[n++] = (labels_label_t){m->name, m->value, strlen(m->name), strlen(m->value)};
    }
    labels_t *ls = NULL;
    assert_int_equal(labels_from_pairs(pairs, n, &ls, NULL), 0);
    alert_matcher_set_free(set);
    return ls;
}

static void test_routing_cases(void **state) {
    (void)state;
    FILE *f = fopen(DIR "/routing-cases.tsv", "r");
    if (!f) skip();
    char line[4096];
    int total = 0, passed = 0;
    bool header = false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '#' || !line[0]) continue;
        if (!header) {
            header = true;
            continue;
        }
        char *file = line, *labels = strchr(file, '\t');
        assert_non_null(labels);
        *labels++ = 0;
        char *want = strchr(labels, '\t');
        assert_non_null(want);
        *want++ = 0;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", DIR, file);
        vg_err_t err = {0};
        alert_config_t *c = alert_config_load_file(path, &err);
        total++;
        if (!c) {
            printf("FAIL %s: %s\n", file, err.msg);
            continue;
        }
        labels_t *ls = labels_of(labels);
        const char *out[64];
        size_t n = alert_config_routes_test(c, ls, out, 64);
        vg_buf_t got = VG_BUF_INIT;
        for (size_t i = 0; i < n && i < 64; i++) {
            if (i) vg_buf_putc(&got, ',');
            vg_buf_puts(&got, out[i]);
        }
        bool ok = got.data && !strcmp(got.data, want);
        if (!ok)
            printf("FAIL %s %s: want %s, got %s\n", file, labels, want, got.data ? got.data : "");
        passed += ok;
        vg_buf_free(&got);
        labels_free(ls);
        alert_config_unref(c);
    }
    fclose(f);
    printf("alertmanager-routing conformance: %d/%d passed (%.1f%%)\n", passed, total,
           total ? 100.0 * passed / total : 0.0);
    assert_true(total >= 4);
    assert_int_equal(passed, total);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_routing_cases)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
