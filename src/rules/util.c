/* This file implements the small helpers the rules module shares: names of
 * states and health, the wall clock in nanoseconds, Go's formatting of
 * times and of floats in exponent form, and the staleness marker. */
#include "rules/rules_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *rules_alert_state_name(rules_alert_state_t s) {
    switch (s) {
    case RULES_STATE_INACTIVE: return "inactive";
    case RULES_STATE_PENDING: return "pending";
    case RULES_STATE_FIRING: return "firing";
    default: return "unknown";
    }
}

const char *rules_health_name(rules_health_t h) {
    switch (h) {
    case RULES_HEALTH_GOOD: return "ok";
    case RULES_HEALTH_BAD: return "err";
    default: return "unknown";
    }
}

int64_t rules_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void rules_time_format(int64_t ns, char *out) {
    if (ns == 0) {
        strcpy(out, "0001-01-01T00:00:00Z");
        return;
    }
    int64_t sec = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        sec--;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac) {
        n += (size_t)snprintf(out + n, 16, ".%09lld", (long long)frac);
        while (out[n - 1] == '0')
            n--;
    }
    out[n++] = 'Z';
    out[n] = '\0';
}

void rules_format_time(int64_t ns, char *out) { rules_time_format(ns, out); }

void rules_format_float_exp(double v, char upper, char *out) {
    if (isnan(v)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* The fewest digits that read back as v, as Go's -1 precision. */
    for (int p = 0; p < 17; p++) {
        snprintf(out, VG_FLOAT_MAX_LEN, upper ? "%.*E" : "%.*e", p, v);
        if (strtod(out, NULL) == v) return;
    }
    snprintf(out, VG_FLOAT_MAX_LEN, upper ? "%.16E" : "%.16e", v);
}

void rules_format_value(double v, char *out) { rules_format_float_exp(v, 0, out); }

double rules_stale_nan(void) {
    uint64_t bits = UINT64_C(0x7ff0000000000002);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

bool rules_is_stale_nan(double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits == UINT64_C(0x7ff0000000000002);
}
