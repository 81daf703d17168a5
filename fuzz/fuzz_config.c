/* libFuzzer target for the prometheus.yml loader: any bytes must either load
 * or fail with a message, never crash, hang or leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vg_err_t err = {0};
    config_t *c = config_load_string((const char *)data, size, "fuzz.yml", &err);
    if (c) {
        /* Touch what the rest of vigil reads. */
        for (size_t i = 0; i < config_n_warnings(c); i++)
            (void)strlen(config_warning(c, i));
        for (size_t i = 0; i < c->n_scrape_configs; i++)
            (void)strlen(c->scrape_configs[i].job_name);
        config_unref(c);
    } else if (!err.msg[0]) {
        __builtin_trap(); /* a failure always says why */
    }
    return 0;
}
