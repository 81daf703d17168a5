/* libFuzzer target for the template engine. The first byte picks the mode
 * (bit 0: html escaping; bit 1: Prometheus's functions instead of
 * Alertmanager's; bit 2: missingkey=error); the rest is template text. It is
 * parsed into a set that already holds Alertmanager's default templates,
 * then every template of the input file is executed with a small
 * notification under a tight budget. Any input must parse or fail with a
 * message, and execute or fail with a message, without crashing, hanging or
 * leaking. The unit test tests/unit/template/test_template.c replays the
 * committed corpus through this same function. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template/template.h"

static template_map_entry_t fz_labels_e[] = {
    {"alertname", 9, {.kind = TEMPLATE_STRING, .u.str = {"Down", 4}}},
    {"instance", 8, {.kind = TEMPLATE_STRING, .u.str = {"h:1", 3}}},
};
static template_map_t fz_labels = {2, fz_labels_e, TEMPLATE_STRING};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Alertmanager's default templates, from the reference installation when
 * it is there, so fuzzed templates can call their definitions. */
static char *am_default;
static size_t am_default_len;
static bool am_default_tried;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!am_default_tried) {
        am_default_tried = true;
        if (vg_file_read_all("/usr/share/prometheus/alertmanager/default.tmpl", 1 << 20,
                             &am_default, &am_default_len, NULL) != 0)
            am_default = NULL;
    }
    if (size < 1 || size > 64 * 1024) return 0;
    uint8_t mode = data[0];
    static const template_funcs_t *am[] = {&template_funcs_alertmanager};
    static const template_funcs_t *prom[] = {&template_funcs_prometheus};
    template_options_t o = {
        .funcs = (mode & 2) ? prom : am,
        .n_funcs = 1,
        .missingkey = (mode & 4) ? TEMPLATE_MISSINGKEY_ERROR : TEMPLATE_MISSINGKEY_ZERO,
        .html = (mode & 1) != 0,
        .max_steps = 20000,
        .max_output = 64 * 1024,
        .max_depth = 50,
        .max_memory = 4 << 20,
    };
    template_t *t = template_new(&o);
    vg_err_t err;
    if (!(mode & 2) && am_default)
        template_add(t, am_default, am_default_len, "default.tmpl", &err);
    int rc = template_add(t, (const char *)data + 1, size - 1, "fuzz", &err);
    if (rc == 0) {
        template_am_alert_t alerts[2] = {
            {.status = "firing",
             .labels = &fz_labels,
             .annotations = &fz_labels,
             .starts_at = template_time_ms(1710928800123LL),
             .generator_url = "http://x/?a=b&c",
             .fingerprint = "f"},
            {.status = "resolved",
             .labels = &fz_labels,
             .annotations = NULL,
             .starts_at = template_time_ms(0),
             .ends_at = template_time_ms(1000)},
        };
        template_am_data_t d = {.receiver = "r x",
                                .status = "firing",
                                .alerts = alerts,
                                .n_alerts = 2,
                                .group_labels = &fz_labels,
                                .common_labels = &fz_labels,
                                .external_url = "http://am:9093"};
        template_value_t dv = template_am_data(&d);
        template_env_t env = {.now_ms = 1710930000000LL, .external_url = "http://p:9090/x"};
        vg_buf_t out = VG_BUF_INIT;
        /* the file's own name plus the names it defines ("define" names are
         * found by executing whatever the file's top level calls) */
        template_execute(t, "fuzz", &dv, &env, &out, &err);
        vg_buf_reset(&out);
        if (template_has(t, "x")) template_execute(t, "x", &dv, &env, &out, &err);
        vg_buf_free(&out);
    }
    template_free(t);
    return 0;
}
