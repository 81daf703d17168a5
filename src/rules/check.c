/* This file implements `vigil check rules`, promtool's rule-file check: the
 * same lines on stdout and stderr, the duplicate-rules lint and the exit
 * status (1 for errors, 3 for lint findings with --lint-fatal). */
#include "rules/rules_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct dup_key {
    const char *metric;
    labels_t *labels;
} dup_key_t;

static int dup_cmp(const void *a, const void *b) {
    const dup_key_t *x = a, *y = b;
    int c = strcmp(x->metric, y->metric);
    return c ? c : labels_compare(x->labels, y->labels);
}

/* promtool's checkDuplicates: rules with the same name and the same
 * (group and rule) labels, each reported once. Returns the message or
 * NULL. */
static char *duplicates(const rules_file_t *f) {
    size_t n = rules_file_n_rules(f), k = 0;
    if (n < 2) return NULL;
    dup_key_t *keys = vg_calloc(n, sizeof *keys);
    labels_builder_t *lb = labels_builder_new();
    for (size_t g = 0; g < f->n_groups; g++) {
        const rules_group_def_t *gd = &f->groups[g];
        for (size_t r = 0; r < gd->n_rules; r++) {
            const rules_rule_def_t *rd = &gd->rules[r];
            labels_builder_reset(lb, NULL);
            for (size_t i = 0; i < gd->n_labels; i++)
                labels_builder_set_s(lb, gd->labels[i].name, gd->labels[i].value);
            for (size_t i = 0; i < rd->n_labels; i++)
                labels_builder_set_s(lb, rd->labels[i].name, rd->labels[i].value);
            keys[k].metric = rd->name;
            keys[k].labels = labels_builder_labels(lb);
            k++;
        }
    }
    labels_builder_free(lb);
    qsort(keys, k, sizeof *keys, dup_cmp);
    size_t n_dups = 0;
    const dup_key_t **dups = vg_calloc(k, sizeof *dups);
    for (size_t i = 1; i < k; i++) {
        if (dup_cmp(&keys[i - 1], &keys[i]) != 0) continue;
        if (n_dups && dup_cmp(&keys[i - 1], dups[n_dups - 1]) == 0) continue;
        dups[n_dups++] = &keys[i];
    }
    char *msg = NULL;
    if (n_dups) {
        vg_buf_t b = VG_BUF_INIT;
        vg_buf_printf(&b, "lint error %zu duplicate rule(s) found.\n", n_dups);
        for (size_t i = 0; i < n_dups; i++) {
            vg_buf_printf(&b, "Metric: %s\nLabel(s):\n", dups[i]->metric);
            for (size_t j = 0; j < labels_len(dups[i]->labels); j++) {
                labels_label_t l = labels_at(dups[i]->labels, j);
                vg_buf_printf(&b, "\t%.*s: %.*s\n", (int)l.name_len, l.name, (int)l.value_len,
                              l.value);
            }
        }
        vg_buf_puts(&b, "Might cause inconsistency while recording expressions");
        msg = vg_buf_detach(&b);
    }
    for (size_t i = 0; i < k; i++)
        labels_free(keys[i].labels);
    free(keys);
    free(dups);
    return msg;
}

int rules_check_files(const char *const *files, size_t n_files, bool lint_duplicates,
                      bool lint_fatal, FILE *out, FILE *err_out) {
    if (!err_out) err_out = out;
    bool failed = false, has_errors = false;
    for (size_t i = 0; i < n_files; i++) {
        fprintf(out, "Checking %s\n", files[i]);
        fflush(out);
        rules_file_t *f = NULL;
        rules_errors_t errs = {0};
        if (rules_file_load(files[i], true, &f, &errs) != VG_OK) {
            failed = has_errors = true;
            fprintf(err_out, "  FAILED:\n");
            for (size_t e = 0; e < errs.n; e++)
                fprintf(err_out, "%s\n", errs.msgs[e]);
            fflush(err_out);
            rules_errors_free(&errs);
            continue;
        }
        if (f->second_doc)
            vg_log_warn("Multiple document yaml rules files are not supported, only the first "
                        "document is processed",
                        NULL);
        char *lint = lint_duplicates ? duplicates(f) : NULL;
        if (lint) {
            failed = true;
            fprintf(err_out, "  FAILED:\n%s\n", lint);
            fflush(err_out);
            free(lint);
        } else {
            fprintf(out, "  SUCCESS: %zu rules found\n", rules_file_n_rules(f));
        }
        fprintf(out, "\n");
        fflush(out);
        rules_file_free(f);
    }
    if (failed && has_errors) return 1;
    if (failed && lint_fatal) return 3;
    return 0;
}
