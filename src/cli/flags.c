/* This file implements long-flag parsing with kingpin's conventions, which
 * Prometheus, Alertmanager and node_exporter use: --name=value, --name value,
 * --name and --no-name for booleans. */
#include "cli_int.h"

#include "core/core.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void cli_flags_usage(const cli_flag_t *flags, const char *usage_line, FILE *out) {
    fprintf(out, "usage: %s\n\nFlags:\n", usage_line);
    for (const cli_flag_t *f = flags; f->name; f++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s", f->name,
                 f->kind == FLAG_BOOL     ? ""
                 : f->kind == FLAG_STRING ? "=VALUE"
                                          : "=N");
        fprintf(out, "  %-34s %s\n", left, f->help);
    }
}

int cli_parse_bytes(const char *s, size_t *out) {
    static const struct {
        const char *unit;
        uint64_t mult;
    } units[] = {{"B", 1},
                 {"KB", 1ull << 10},
                 {"MB", 1ull << 20},
                 {"GB", 1ull << 30},
                 {"TB", 1ull << 40},
                 {"KiB", 1ull << 10},
                 {"MiB", 1ull << 20},
                 {"GiB", 1ull << 30},
                 {"TiB", 1ull << 40},
                 {"", 1}};
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-') return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].unit) != 0) continue;
        if (n > SIZE_MAX / units[i].mult) return -1;
        *out = (size_t)(n * units[i].mult);
        return 0;
    }
    return -1;
}

static int bad_flag(const char *fmt, const char *arg) {
    fprintf(stderr, "Error parsing command line arguments: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nvigil: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, ", try --help\n");
    return 2;
}

static int set_value(const cli_flag_t *f, const char *value) {
    switch (f->kind) {
    case FLAG_STRING: *(const char **)f->target = value; return 0;
    case FLAG_BOOL:
        if (strcmp(value, "true") == 0)
            *(bool *)f->target = true;
        else if (strcmp(value, "false") == 0)
            *(bool *)f->target = false;
        else
            return -1;
        return 0;
    case FLAG_BYTES: return cli_parse_bytes(value, (size_t *)f->target);
    case FLAG_DURATION: return vg_duration_parse(value, strlen(value), (int64_t *)f->target);
    case FLAG_UINT: {
        char *end;
        errno = 0;
        unsigned long n = strtoul(value, &end, 10);
        if (errno || end == value || *end || n > 1u << 20) return -1;
        *(unsigned *)f->target = (unsigned)n;
        return 0;
    }
    }
    return -1;
}

int cli_flags_parse(const cli_flag_t *flags, int argc, char **argv, const char *usage_line,
                    cli_extra_flag_fn extra, void *ud, char **out_args, size_t max_args,
                    size_t *out_n_args) {
    size_t n_args = 0;
    for (int i = 0; i < argc; i++) {
        char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli_flags_usage(flags, usage_line, stdout);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (arg[0] == '-' && arg[1] != '\0' && strcmp(arg, "--") != 0)
                return bad_flag("unknown short flag '%s'", arg);
            if (n_args == max_args) return bad_flag("unexpected %s", arg);
            out_args[n_args++] = arg;
            continue;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        bool negated = false;
        const cli_flag_t *f = NULL;
        for (int pass = 0; pass < 2 && !f; pass++) {
            const char *n = name;
            size_t len = name_len;
            if (pass == 1) {
                if (strncmp(name, "no-", 3) != 0) break;
                n += 3, len -= 3;
            }
            for (const cli_flag_t *g = flags; g->name; g++)
                if (strlen(g->name) == len && strncmp(g->name, n, len) == 0 &&
                    (pass == 0 || g->kind == FLAG_BOOL)) {
                    f = g;
                    negated = pass == 1;
                    break;
                }
        }
        if (!f) {
            char nm[256];
            snprintf(nm, sizeof nm, "%.*s", (int)(name_len < 200 ? name_len : 200), name);
            bool neg = strncmp(nm, "no-", 3) == 0;
            if (extra && extra(ud, neg ? nm + 3 : nm, eq ? eq + 1 : NULL, neg)) continue;
            return bad_flag("unknown long flag '--%s'", nm);
        }
        if (f->kind == FLAG_BOOL && !eq) {
            *(bool *)f->target = !negated;
            continue;
        }
        if (negated) return bad_flag("unknown long flag '%s'", arg);
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc) return bad_flag("expected argument for flag '%s'", arg);
            value = argv[++i];
        }
        if (set_value(f, value) != 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "invalid value '%.200s' for flag '--%s'", value, f->name);
            return bad_flag("%s", msg);
        }
    }
    *out_n_args = n_args;
    return 0;
}
