/* This file implements `vigil check`, which behaves like promtool's check
 * commands (and, for Alertmanager configuration files, like `amtool
 * check-config`): the same output and exit status. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "config/config.h"

/* Whether a file reads like alertmanager.yml rather than prometheus.yml. */
static bool is_alertmanager_file(const char *path) {
    char *data = NULL;
    size_t len = 0;
    if (vg_file_read_all(path, ALERT_CONFIG_MAX_FILE_BYTES, &data, &len, NULL) != VG_OK)
        return false;
    bool am = alert_config_sniff(data, len);
    free(data);
    return am;
}

int cli_check(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "--help") == 0) {
        fprintf(argc < 1 ? stderr : stdout,
                "usage: vigil check config [--alertmanager] <config-files>...\n"
                "       vigil check rules <rule-files>...\n");
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "rules") == 0) return cli_check_rules(argc - 1, argv + 1);
    if (strcmp(argv[0], "config") != 0) {
        fprintf(stderr, "vigil: error: expected command but got \"%s\", try --help\n", argv[0]);
        return 2;
    }
    bool alertmanager = argc > 1 && strcmp(argv[1], "--alertmanager") == 0;
    int first = alertmanager ? 2 : 1;
    if (argc <= first) {
        fprintf(stderr,
                "vigil: error: required argument 'config-files' not provided, try --help\n");
        return 2;
    }
    if (alertmanager)
        return alert_config_check_files((const char *const *)argv + first, (size_t)(argc - first),
                                        "vigil", stdout, stderr);
    int status = 0;
    for (int i = first; i < argc; i++) {
        const char *path = argv[i];
        int rc = is_alertmanager_file(path)
                     ? alert_config_check_files(&path, 1, "vigil", stdout, stderr)
                     : config_check_file(path, stdout, stderr);
        if (rc > status) status = rc;
    }
    return status;
}
