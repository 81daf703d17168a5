/* This file implements the dispatch of `vigil <command>`. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out) {
    fprintf(out,
            "usage: vigil <command> [<flags>]\n"
            "\n"
            "Metrics, alerting, logs and traces in one program.\n"
            "\n"
            "Commands:\n"
            "  serve             run the server (the default when only flags are given)\n"
            "  check config [--alertmanager] FILE...\n"
            "                    check Prometheus configuration files, as promtool does, or\n"
            "                    Alertmanager ones (found by their route:/receivers: keys, or\n"
            "                    with --alertmanager), as amtool check-config does\n"
            "  check rules FILE...\n"
            "                    check rule files, as promtool does\n"
            "  test rules FILE...\n"
            "                    run rule unit-test files, as promtool does\n"
            "  import FILE       backfill an OpenMetrics file into a stopped store or a running "
            "server\n"
            "  query instant|range|series|labels URL ...\n"
            "                    query a Prometheus-compatible server, as promtool query does\n"
            "  version           print the version\n"
            "  help              print this help\n"
            "\n"
            "`vigil serve --help` lists the server's flags.\n");
}

int cli_main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    /* `vigil --config.file=…` runs the server, so vigil can stand in for a
     * prometheus command line unchanged. */
    if (cmd[0] == '-' && strcmp(cmd, "--help") != 0 && strcmp(cmd, "-h") != 0 &&
        strcmp(cmd, "--version") != 0)
        return cli_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0) return cli_serve(argc - 2, argv + 2);
    if (strcmp(cmd, "check") == 0) return cli_check(argc - 2, argv + 2);
    if (strcmp(cmd, "import") == 0) return cli_import(argc - 2, argv + 2);
    if (strcmp(cmd, "query") == 0) return cli_query(argc - 2, argv + 2);
    if (strcmp(cmd, "test") == 0) return cli_test(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("vigil, version %s\n", VIGIL_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "vigil: error: expected command but got \"%s\", try --help\n", cmd);
    return 2;
}
