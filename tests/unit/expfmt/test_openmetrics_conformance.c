/* Runs the OpenMetrics parser conformance cases (shared/conformance/
 * openmetrics/parsers/<case>/{test.json,metrics}) through the validating
 * OpenMetrics parser and compares with shouldParse; then feeds the real
 * world samples in shared/conformance/exposition-textparse/ as inputs that
 * must be accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expfmt/expfmt.h"

#define PARSERS_DIR VG_SHARED_DIR "/conformance/openmetrics/parsers"
#define TEXTPARSE_DIR VG_SHARED_DIR "/conformance/exposition-textparse"

/* Cases the parser is allowed to get wrong, each with the reason. The goal
 * is an empty list; keep it that way. */
static const char *const known_exceptions[] = {
    NULL,
};

static bool is_known_exception(const char *name) {
    for (size_t i = 0; known_exceptions[i]; i++)
        if (strcmp(known_exceptions[i], name) == 0) return true;
    return false;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the entries of dir (without . and ..), sorted; caller frees. */
static char **list_dir(const char *dir, size_t *out_n) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    *out_n = n;
    return names;
}

static void test_openmetrics_parsers(void **state) {
    (void)state;
    size_t n_cases;
    char **cases = list_dir(PARSERS_DIR, &n_cases);
    size_t passed = 0, total = 0, unexpected = 0;
    for (size_t i = 0; i < n_cases; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/test.json", PARSERS_DIR, cases[i]);
        json_error_t jerr;
        json_t *spec = json_load_file(path, 0, &jerr);
        if (!spec) continue; /* not a case directory */
        json_t *should = json_object_get(spec, "shouldParse");
        const char *file = json_string_value(json_object_get(spec, "file"));
        assert_true(json_is_boolean(should));
        bool want = json_is_true(should);
        snprintf(path, sizeof path, "%s/%s/%s", PARSERS_DIR, cases[i], file ? file : "metrics");
        char *data;
        size_t len;
        vg_err_t err = {0};
        assert_int_equal(vg_file_read_all(path, 1 << 20, &data, &len, &err), 0);
        err.msg[0] = '\0';
        int rc =
            expfmt_parse_check(data, len, EXPFMT_OPENMETRICS, EXPFMT_PARSE_VALIDATE, NULL, &err);
        bool got = rc == 0;
        total++;
        if (got == want) {
            passed++;
        } else {
            bool known = is_known_exception(cases[i]);
            if (!known) unexpected++;
            printf("  FAIL %s: shouldParse=%s, parser %s%s%s\n", cases[i], want ? "true" : "false",
                   got ? "accepted" : "rejected: ", got ? "" : err.msg,
                   known ? " (known exception)" : "");
        }
        free(data);
        json_decref(spec);
    }
    printf("openmetrics conformance: %zu/%zu passed (%.1f%%)\n", passed, total,
           total ? 100.0 * (double)passed / (double)total : 0.0);
    for (size_t i = 0; i < n_cases; i++)
        free(cases[i]);
    free(cases);
    assert_int_equal(total, 211);
    assert_int_equal(unexpected, 0);
}

/* Every bad case is rejected with a message that names a line. */
static void test_openmetrics_errors_have_positions(void **state) {
    (void)state;
    size_t n_cases;
    char **cases = list_dir(PARSERS_DIR, &n_cases);
    for (size_t i = 0; i < n_cases; i++) {
        if (strncmp(cases[i], "bad_", 4) != 0) {
            free(cases[i]);
            continue;
        }
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/metrics", PARSERS_DIR, cases[i]);
        char *data;
        size_t len;
        vg_err_t err = {0};
        assert_int_equal(vg_file_read_all(path, 1 << 20, &data, &len, &err), 0);
        int rc =
            expfmt_parse_check(data, len, EXPFMT_OPENMETRICS, EXPFMT_PARSE_VALIDATE, NULL, &err);
        assert_int_equal(rc, VG_ERR_INPUT);
        if (strncmp(err.msg, "line ", 5) != 0) {
            printf("%s: %s\n", cases[i], err.msg);
            fail();
        }
        free(data);
        free(cases[i]);
    }
    free(cases);
}

static void test_textparse_samples(void **state) {
    (void)state;
    size_t n;
    char **files = list_dir(TEXTPARSE_DIR, &n);
    size_t fed = 0;
    for (size_t i = 0; i < n; i++) {
        size_t fl = strlen(files[i]);
        bool om = fl > 7 && strcmp(files[i] + fl - 7, ".om.txt") == 0;
        bool prom = fl > 9 && strcmp(files[i] + fl - 9, ".prom.txt") == 0;
        if (!om && !prom) {
            free(files[i]);
            continue;
        }
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", TEXTPARSE_DIR, files[i]);
        char *data;
        size_t len, samples = 0;
        vg_err_t err = {0};
        assert_int_equal(vg_file_read_all(path, 1 << 24, &data, &len, &err), 0);
        int rc = expfmt_parse_check(data, len, om ? EXPFMT_OPENMETRICS : EXPFMT_TEXT_004, 0,
                                    &samples, &err);
        if (rc != 0) printf("%s: %s\n", files[i], err.msg);
        assert_int_equal(rc, 0);
        assert_true(samples > 0);
        printf("  %s: %zu samples\n", files[i], samples);
        if (om) {
            /* Validation: 1histogram.om.txt (no newline after "# EOF", which
             * the grammar allows) is fully valid. alltypes.5mfs.om.txt comes
             * from client_golang and breaks OpenMetrics 1.0 rules that
             * Prometheus does not enforce: a histogram with negative
             * buckets exposes a (negative) _sum, and a summary has a
             * negative quantile value. */
            vg_err_t verr = {0};
            rc = expfmt_parse_check(data, len, EXPFMT_OPENMETRICS, EXPFMT_PARSE_VALIDATE, NULL,
                                    &verr);
            printf("    validating: %s\n", rc == 0 ? "valid" : verr.msg);
            if (strcmp(files[i], "1histogram.om.txt") == 0) assert_int_equal(rc, 0);
            if (strcmp(files[i], "alltypes.5mfs.om.txt") == 0) {
                assert_int_equal(rc, VG_ERR_INPUT);
                assert_non_null(strstr(verr.msg, "_sum sample must not be negative"));
            }
        }
        fed++;
        free(data);
        free(files[i]);
    }
    free(files);
    assert_int_equal(fed, 4);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openmetrics_parsers),
        cmocka_unit_test(test_openmetrics_errors_have_positions),
        cmocka_unit_test(test_textparse_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
