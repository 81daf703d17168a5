/* libFuzzer target for the alertmanager.yml loader: any bytes must either
 * load or fail with a message, never crash, hang or leak; a loaded config
 * is routed through and its intervals evaluated. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vg_err_t err = {0};
    alert_config_t *c = alert_config_load_string((const char *)data, size, "fuzz.yml", &err);
    if (!c) {
        if (!err.msg[0]) __builtin_trap(); /* a failure always says why */
        return 0;
    }
    labels_t *ls =
        labels_from_strings("alertname", "X", "severity", "critical", "service", "db", NULL);
    const char *out[16];
    size_t n = alert_config_routes_test(c, ls, out, 16);
    if (n == 0) __builtin_trap(); /* the root always matches */
    for (size_t i = 0; i < n && i < 16; i++)
        (void)strlen(out[i]);
    const alert_route_t *r[4];
    alert_route_match(c->route, ls, r, 4);
    labels_t *g = alert_route_group_labels(r[0], ls);
    vg_buf_t key = VG_BUF_INIT;
    alert_route_group_key(r[0], g, &key);
    vg_buf_free(&key);
    labels_free(g);
    (void)alert_config_route_muted(c, r[0], 1711845000000LL);
    const labels_t *src[] = {ls};
    (void)alert_inhibit_mutes(c->inhibit_rules, c->n_inhibit_rules, src, 1, ls);
    labels_free(ls);
    alert_config_unref(c);
    return 0;
}
