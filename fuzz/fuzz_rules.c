/* libFuzzer target for the rule-file loader: any bytes must either load
 * (and build runnable groups) or fail with at least one message, never
 * crash, hang or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rules_file_t *f = NULL;
    rules_errors_t errs = {0};
    int rc = rules_file_parse((const char *)data, size, "fuzz.yml", size % 2 == 0, &f, &errs);
    if (rc == VG_OK) {
        rules_env_t env = {.external_url = ""};
        rules_group_t **gs = NULL;
        size_t n = 0;
        vg_err_t err = {0};
        if (rules_groups_from_file(f, 60000, &env, false, &gs, &n, &err) == VG_OK) {
            for (size_t i = 0; i < n; i++)
                rules_group_free(gs[i]);
            free(gs);
        }
        rules_file_free(f);
    } else if (errs.n == 0) {
        __builtin_trap(); /* a failure always says why */
    }
    rules_errors_free(&errs);
    return 0;
}
