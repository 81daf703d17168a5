/* Alertmanager's own configuration test files (v0.34 config/testdata and
 * cli/testdata) load or fail as expectations.tsv says, with the message
 * where it gives one; prints the pass rate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"

#define DIR VG_SHARED_DIR "/conformance/alertmanager-config"

/* Replaces the two characters "\n" with a newline, in place. */
static void unescape(char *s) {
    char *o = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] == 'n') {
            *o++ = '\n';
            p++;
        } else {
            *o++ = *p;
        }
    }
    *o = 0;
}

static void test_expectations(void **state) {
    (void)state;
    FILE *f = fopen(DIR "/expectations.tsv", "r");
    if (!f) skip();
    char line[4096];
    int total = 0, passed = 0;
    bool header = false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '#' || !line[0]) continue;
        if (!header) {
            header = true; /* column names */
            continue;
        }
        char *cols[4] = {"", "", "", ""};
        char *p = line;
        for (int i = 0; i < 4 && p; i++) {
            cols[i] = p;
            p = strchr(p, '\t');
            if (p) *p++ = 0;
        }
        unescape(cols[3]);
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", DIR, cols[0]);
        vg_err_t err = {0};
        alert_config_t *c = alert_config_load_file(path, &err);
        bool ok;
        if (!strcmp(cols[1], "ok")) {
            ok = c != NULL;
            if (!ok) printf("FAIL %s: expected to load, got: %s\n", cols[0], err.msg);
        } else if (c) {
            ok = false;
            printf("FAIL %s: loaded, expected error %s\n", cols[0], cols[3]);
        } else if (!strcmp(cols[2], "exact")) {
            ok = !strcmp(err.msg, cols[3]);
            if (!ok) printf("FAIL %s:\n  want: %s\n  got:  %s\n", cols[0], cols[3], err.msg);
        } else if (!strcmp(cols[2], "contains")) {
            ok = strstr(err.msg, cols[3]) != NULL;
            if (!ok)
                printf("FAIL %s:\n  want (contains): %s\n  got: %s\n", cols[0], cols[3], err.msg);
        } else {
            ok = true;
        }
        alert_config_unref(c);
        total++;
        passed += ok;
    }
    fclose(f);
    printf("alertmanager-config conformance: %d/%d passed (%.1f%%)\n", passed, total,
           total ? 100.0 * passed / total : 0.0);
    assert_int_equal(total, 50);
    assert_int_equal(passed, total);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_expectations)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
