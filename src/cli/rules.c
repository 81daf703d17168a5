/* This file implements `vigil check rules FILE...` and `vigil test rules
 * FILE...`, promtool's rule check and rule unit tests, with promtool's
 * flags, output and exit status. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

/* The value of --name=value or --name value at argv[*i]; NULL when argv[*i]
 * is not that flag. */
static const char *flag_value(int argc, char **argv, int *i, const char *name) {
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] == '\0' && *i + 1 < argc) return argv[++*i];
    return NULL;
}

int cli_check_rules(int argc, char **argv) {
    const char *lint = "duplicate-rules";
    bool fatal = false;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t n = 0;
    for (int i = 0; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: vigil check rules [<flags>] <rule-files>...\n\n"
                   "Check if the rule files are valid or not.\n\n"
                   "  --lint=duplicate-rules  linting checks: all, duplicate-rules, none\n"
                   "  --lint-fatal            make lint errors exit with exit code 3\n");
            free(files);
            return 0;
        }
        if ((v = flag_value(argc, argv, &i, "--lint"))) {
            lint = v;
        } else if (strcmp(argv[i], "--lint-fatal") == 0) {
            fatal = true;
        } else if (strcmp(argv[i], "--no-lint-fatal") == 0) {
            fatal = false;
        } else if (strcmp(argv[i], "--ignore-unknown-fields") == 0) {
            /* accepted; vigil's loader is always strict */
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "vigil: error: unknown long flag '%s', try --help\n", argv[i]);
            free(files);
            return 2;
        } else {
            files[n++] = argv[i];
        }
    }
    bool dups = false;
    for (const char *s = lint; *s;) {
        size_t k = strcspn(s, ",");
        if ((k == 3 && strncmp(s, "all", 3) == 0) ||
            (k == 15 && strncmp(s, "duplicate-rules", 15) == 0))
            dups = true;
        else if (!(k == 4 && strncmp(s, "none", 4) == 0))
            printf("WARNING: unknown lint option: \"%.*s\"\n", (int)k, s);
        s += k + (s[k] == ',');
    }
    if (n == 0) {
        fprintf(stderr, "vigil: error: required argument 'rule-files' not provided, try --help\n");
        free(files);
        return 2;
    }
    int rc = rules_check_files(files, n, dups, fatal, stdout, stderr);
    free(files);
    return rc;
}

int cli_test(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fprintf(argc < 1 ? stderr : stdout,
                "usage: vigil test rules [<flags>] <test-rule-file>...\n\n"
                "Unit tests for rules, as promtool test rules runs them.\n\n"
                "  --run=REGEX  only run test groups whose names match (may be repeated)\n");
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "rules") != 0) {
        fprintf(stderr, "vigil: error: expected command but got \"%s\", try --help\n", argv[0]);
        return 2;
    }
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t n = 0;
    char *run = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            free(files);
            free(run);
            return cli_test(1, (char *[]){"--help"});
        }
        if ((v = flag_value(argc, argv, &i, "--run"))) {
            /* Several --run patterns are joined with |, as promtool does. */
            size_t old = run ? strlen(run) : 0;
            run = realloc(run, old + strlen(v) + 2);
            if (!run) abort();
            if (old) run[old++] = '|';
            strcpy(run + old, v);
        } else if (strcmp(argv[i], "--debug") == 0 || strcmp(argv[i], "--diff") == 0 ||
                   strcmp(argv[i], "--ignore-unknown-fields") == 0) {
            /* accepted */
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "vigil: error: unknown long flag '%s', try --help\n", argv[i]);
            free(files);
            free(run);
            return 2;
        } else {
            files[n++] = argv[i];
        }
    }
    if (n == 0) {
        fprintf(stderr,
                "vigil: error: required argument 'test-rule-file' not provided, try --help\n");
        free(files);
        free(run);
        return 2;
    }
    /* The temporary stores would log their start and stop: keep quiet. */
    vg_log_setup(VG_LOG_ERROR, VG_LOG_LOGFMT, stderr);
    int rc = rules_unittest_run(files, n, run, NULL, stdout, stderr);
    free(files);
    free(run);
    return rc;
}
