/*
 * cli — the vigil command: `vigil serve`, `vigil check config`, version and
 * help. It parses flags with Prometheus's names and kingpin's conventions
 * (--name=value or --name value, --no-name for booleans), builds the server
 * root and runs the main thread's signal loop.
 *
 * What it owns: the server root of `vigil serve` — the configuration
 * snapshot, the host collectors, self-monitoring and the HTTP server — for
 * the life of the process.
 *
 * Threads: the main thread only. The reload it offers to the HTTP handlers
 * is thread-safe.
 */
#ifndef VG_CLI_H
#define VG_CLI_H

#define VIGIL_VERSION "0.1.0"

/* Runs the command line; returns the process exit status. */
int cli_main(int argc, char **argv);

/* Subcommands, each taking the arguments after its name. */
int cli_serve(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_query(int argc, char **argv);
int cli_test(int argc, char **argv);        /* test rules (rules.c) */
int cli_check_rules(int argc, char **argv); /* check rules (rules.c) */

#endif
