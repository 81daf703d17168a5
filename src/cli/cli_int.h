/* Shared inside the cli module: the flag table and its parser. */
#ifndef VG_CLI_INT_H
#define VG_CLI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { FLAG_STRING, FLAG_BOOL, FLAG_BYTES, FLAG_UINT, FLAG_DURATION } flag_kind_t;

typedef struct cli_flag {
    const char *name; /* without the leading "--" */
    flag_kind_t kind;
    void *target; /* const char **, bool *, size_t *, unsigned *, int64_t * (ms) */
    const char *help;
} cli_flag_t;

/* Called for a flag not in the table (e.g. --collector.cpu); returns true
 * when it took it. value is NULL for a bare flag; negated for "--no-". */
typedef bool (*cli_extra_flag_fn)(void *ud, const char *name, const char *value, bool negated);

/* Parses argv against the table. Positional arguments are stored in
 * out_args (up to max_args). Returns 0; 1 when --help was given (usage
 * printed); 2 on a bad flag, with Prometheus's message on stderr. */
int cli_flags_parse(const cli_flag_t *flags, int argc, char **argv, const char *usage_line,
                    cli_extra_flag_fn extra, void *ud, char **out_args, size_t max_args,
                    size_t *out_n_args);

void cli_flags_usage(const cli_flag_t *flags, const char *usage_line, FILE *out);

/* Parses "512MB", "1GiB", "1024" (bytes) into out; 0 or -1. */
int cli_parse_bytes(const char *s, size_t *out);

#endif
