/* This file implements JSON output as the peers' Go code writes it: strings
 * (encoding/json's escaping), label sets as objects, floats as
 * encoding/json and Prometheus's jsonutil write them. Every API handler
 * writes JSON through these, so the peers' byte layout lives in one place. */
#include "web_int.h"

#include <math.h>
#include <string.h>

#include "labels/labels.h"

void web_json_string(vg_buf_t *b, const char *s, size_t n) {
    vg_buf_putc(b, '"');
    vg_buf_put_json_escaped(b, s, n);
    vg_buf_putc(b, '"');
}

void web_json_cstr(vg_buf_t *b, const char *s) { web_json_string(b, s, s ? strlen(s) : 0); }

void web_json_labels(vg_buf_t *b, const struct labels *ls) { labels_format_json(ls, b); }

/* Fixed notation unless the magnitude is below 1e-6 or at least 1e21,
 * the rule encoding/json and jsonutil share. */
static char float_fmt(double v) {
    double a = fabs(v);
    return a != 0 && (a < 1e-6 || a >= 1e21) ? 'e' : 'f';
}

void web_json_float(vg_buf_t *b, double v) {
    if (!isfinite(v)) { /* encoding/json refuses these; callers avoid them */
        vg_buf_putc(b, '0');
        return;
    }
    char s[400];
    vg_format_float_as(v, float_fmt(v), s, sizeof s);
    /* encoding/json writes "1e-07" as "1e-7" */
    char *e = strchr(s, 'e');
    if (e && e[1] == '-' && e[2] == '0' && e[3]) memmove(e + 2, e + 3, strlen(e + 3) + 1);
    vg_buf_puts(b, s);
}

void web_json_sample_value(vg_buf_t *b, double v) {
    char s[400];
    vg_format_float_as(v, float_fmt(v), s, sizeof s);
    vg_buf_putc(b, '"');
    vg_buf_puts(b, s);
    vg_buf_putc(b, '"');
}

void web_json_timestamp(vg_buf_t *b, int64_t t_ms) {
    uint64_t u = t_ms < 0 ? (uint64_t)0 - (uint64_t)t_ms : (uint64_t)t_ms;
    if (t_ms < 0) vg_buf_putc(b, '-');
    vg_buf_printf(b, "%llu", (unsigned long long)(u / 1000));
    if (u % 1000) vg_buf_printf(b, ".%03llu", (unsigned long long)(u % 1000));
}
