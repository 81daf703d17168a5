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

/* The rules' "never" is 0; Go prints its zero time for it. */
void rules_format_time(int64_t ns, char *out) { vg_time_format_go(ns ? ns : VG_TIME_GO_ZERO, out); }

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
