/* This file implements what `amtool check-config` does, for `vigil check
 * config`: load each file, print "Checking 'FILE'  SUCCESS" or
 * "  FAILED: <why>", the summary of what was found, and check that the
 * template globs expand to readable files. */
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert_int.h"

/* Reads every file the globs name and makes a light syntax check of the
 * Go templates in them (actions opened with {{ are closed). Returns 0 or
 * writes why. Non-matching globs are fine, as in Alertmanager. */
static int check_templates(const alert_config_t *c, char *why, size_t why_len) {
    for (size_t i = 0; i < c->n_templates; i++) {
        glob_t g;
        int rc = glob(c->templates[i], 0, NULL, &g);
        if (rc == GLOB_NOMATCH) continue;
        if (rc != 0) {
            snprintf(why, why_len, "syntax error in pattern");
            return -1;
        }
        for (size_t k = 0; k < g.gl_pathc; k++) {
            char *data = NULL;
            size_t len = 0;
            vg_err_t err = {0};
            if (vg_file_read_all(g.gl_pathv[k], 64u << 20, &data, &len, &err) != VG_OK) {
                snprintf(why, why_len, "%s", err.msg);
                globfree(&g);
                return -1;
            }
            unsigned line = 1;
            bool bad = false;
            for (const char *q = data; q < data + len; q++) {
                if (*q == '\n') line++;
                if (q + 1 < data + len && q[0] == '{' && q[1] == '{') {
                    const char *close = strstr(q + 2, "}}");
                    if (!close) {
                        bad = true;
                        break;
                    }
                    for (const char *r = q; r < close; r++)
                        line += *r == '\n';
                    q = close + 1;
                }
            }
            free(data);
            if (bad) {
                const char *base = strrchr(g.gl_pathv[k], '/');
                snprintf(why, why_len, "template: %s:%u: unclosed action",
                         base ? base + 1 : g.gl_pathv[k], line);
                globfree(&g);
                return -1;
            }
        }
        globfree(&g);
    }
    return 0;
}

int alert_config_check_files(const char *const *paths, size_t n_paths, const char *prog, FILE *out,
                             FILE *err_out) {
    size_t failed = 0;
    for (size_t i = 0; i < n_paths; i++) {
        fprintf(out, "Checking '%s'", paths[i]);
        vg_err_t err = {0};
        alert_config_t *c = alert_config_load_file(paths[i], &err);
        if (!c) {
            fprintf(out, "  FAILED: %s\n", err.msg);
            failed++;
        } else {
            fprintf(out, "  SUCCESS\n");
            fprintf(out, "Found:\n");
            /* Alertmanager always has a global section once loaded. */
            fprintf(out, " - global config\n");
            fprintf(out, " - route\n");
            fprintf(out, " - %zu inhibit rules\n", c->n_inhibit_rules);
            fprintf(out, " - %zu receivers\n", c->n_receivers);
            fprintf(out, " - %zu templates\n", c->n_templates);
            if (c->n_templates > 0) {
                char why[VG_ERR_MSG_MAX];
                if (check_templates(c, why, sizeof why) != 0) {
                    fprintf(out, "  FAILED: %s\n", why);
                    failed++;
                } else {
                    fprintf(out, "  SUCCESS\n");
                }
            }
            alert_config_unref(c);
        }
        fprintf(out, "\n");
    }
    fflush(out);
    if (failed) {
        fprintf(err_out ? err_out : out, "%s: error: failed to validate %zu file(s)\n", prog,
                failed);
        return 1;
    }
    return 0;
}
