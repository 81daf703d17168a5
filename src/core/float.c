/* This file implements Go-compatible float formatting: the shortest decimal
 * that reads back to the same double, laid out as strconv.FormatFloat(v, 'g',
 * -1, 64) lays it out. Prometheus's client libraries print sample values this
 * way, so vigil's output matches theirs byte for byte. */
#include "core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Finds the shortest digit string d (no dot) and decimal exponent e such that
 * v == 0.d * 10^e... expressed here as d[0].d[1..] * 10^exp10. */
static int shortest_digits(double v, char *digits, int *exp10) {
    char tmp[40];
    for (int prec = 0; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, v);
        if (prec == 17 || strtod(tmp, NULL) == v) break;
    }
    /* tmp is "d.ddde±XX" or "de±XX" */
    int n = 0;
    const char *p = tmp;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[n++] = *p;
    *exp10 = atoi(p + 1);
    while (n > 1 && digits[n - 1] == '0')
        n--; /* trailing zeros carry nothing */
    digits[n] = '\0';
    return n;
}

/* Lays out the shortest digits of v in Go's 'g', 'f' or 'e' form. */
size_t vg_format_float_as(double v, char fmt, char *out, size_t out_len) {
    char tmp[VG_FLOAT_MAX_LEN + 400];
    if (isnan(v)) return (size_t)snprintf(out, out_len, "NaN");
    if (isinf(v)) return (size_t)snprintf(out, out_len, v > 0 ? "+Inf" : "-Inf");
    char *o = tmp;
    if (signbit(v)) {
        *o++ = '-';
        v = -v;
    }
    if (v == 0) {
        *o++ = '0';
        *o = '\0';
        return (size_t)snprintf(out, out_len, "%s", tmp);
    }
    char d[24];
    int exp10;
    int nd = shortest_digits(v, d, &exp10);
    /* 'g' with the shortest precision switches to the exponent form below
     * 1e-4 and from 1e6 up (Go's eprec of 6 for shortest output) */
    bool exp_form = fmt == 'e' || (fmt == 'g' && (exp10 < -4 || exp10 >= 6));
    if (exp_form) {
        /* d.ddde±XX with at least two exponent digits */
        *o++ = d[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, d + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        o += sprintf(o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    } else if (exp10 < 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = -1; i > exp10; i--)
            *o++ = '0';
        memcpy(o, d, (size_t)nd);
        o += nd;
    } else {
        for (int i = 0; i <= exp10; i++)
            *o++ = i < nd ? d[i] : '0';
        if (nd > exp10 + 1) {
            *o++ = '.';
            memcpy(o, d + exp10 + 1, (size_t)(nd - exp10 - 1));
            o += nd - exp10 - 1;
        }
    }
    *o = '\0';
    return (size_t)snprintf(out, out_len, "%s", tmp);
}

size_t vg_format_float(double v, char *out) {
    return vg_format_float_as(v, 'g', out, VG_FLOAT_MAX_LEN);
}
