/* This file implements Go-compatible float formatting: the shortest decimal
 * that reads back to the same double, laid out as strconv.FormatFloat(v, 'g',
 * -1, 64) lays it out. Prometheus's client libraries print sample values this
 * way, so vigil's output matches theirs byte for byte. */
#include "core.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Splits "d.ddde±XX" (printf's %e) into digits without trailing zeros and
 * the decimal exponent of the first digit. */
static int split_e(const char *tmp, char *digits, int *exp10) {
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

/* The shortest digit string d (no dot) and the decimal exponent of its
 * first digit such that d[0].d[1..] * 10^exp10 reads back as v (v > 0).
 * Query answers print millions of values, so this is on a hot path:
 * whole numbers are converted directly, and otherwise the precision is
 * found by bisection (a precision that round-trips makes every larger one
 * round-trip too), which needs 4 or 5 printf/strtod pairs instead of up to
 * 17. */
static int shortest_digits(double v, char *digits, int *exp10) {
    if (v < 1e15 && v == (double)(uint64_t)v) {
        char rev[24];
        int n = 0;
        for (uint64_t u = (uint64_t)v; u; u /= 10)
            rev[n++] = (char)('0' + u % 10);
        for (int i = 0; i < n; i++)
            digits[i] = rev[n - 1 - i];
        *exp10 = n - 1;
        while (n > 1 && digits[n - 1] == '0')
            n--;
        digits[n] = '\0';
        return n;
    }
    char tmp[40], best[40];
    int lo = 0, hi = 16; /* 17 significant digits always round-trip */
    snprintf(best, sizeof best, "%.16e", v);
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(tmp, sizeof tmp, "%.*e", mid, v);
        if (strtod(tmp, NULL) == v) {
            hi = mid;
            memcpy(best, tmp, sizeof best);
        } else {
            lo = mid + 1;
        }
    }
    return split_e(best, digits, exp10);
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
