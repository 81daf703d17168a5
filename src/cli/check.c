/* This file implements `vigil check`, which behaves like promtool's check
 * commands: the same output and exit status. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "config/config.h"

int cli_check(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "--help") == 0) {
        fprintf(argc < 1 ? stderr : stdout, "usage: vigil check config <config-files>...\n"
                                            "       vigil check rules <rule-files>...\n");
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "rules") == 0) return cli_check_rules(argc - 1, argv + 1);
    if (strcmp(argv[0], "config") != 0) {
        fprintf(stderr, "vigil: error: expected command but got \"%s\", try --help\n", argv[0]);
        return 2;
    }
    if (argc < 2) {
        fprintf(stderr, "vigil: error: required argument 'config-files' not provided, try --help\n");
        return 2;
    }
    int status = 0;
    for (int i = 1; i < argc; i++) {
        int rc = config_check_file(argv[i], stdout, stderr);
        if (rc > status) status = rc;
    }
    return status;
}
