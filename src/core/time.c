/* This file implements clocks and Prometheus durations. */
#include "core.h"

#include <string.h>
#include <time.h>

double vg_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t vg_time_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double vg_time_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Units in the order Prometheus requires them, largest first. */
static const struct {
    const char *name;
    int64_t ms;
} duration_units[] = {
    {"y", 365LL * 24 * 3600 * 1000},
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
};
#define N_DURATION_UNITS (sizeof duration_units / sizeof duration_units[0])

int vg_duration_parse(const char *s, size_t len, int64_t *out_ms) {
    if (len == 1 && s[0] == '0') {
        *out_ms = 0;
        return VG_OK;
    }
    if (len == 0) return VG_ERR_INPUT;
    size_t i = 0, next_unit = 0;
    int64_t total = 0;
    while (i < len) {
        if (s[i] < '0' || s[i] > '9') return VG_ERR_INPUT;
        int64_t n = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (n > (INT64_MAX - 9) / 10) return VG_ERR_INPUT;
            n = n * 10 + (s[i++] - '0');
        }
        size_t u_start = i;
        while (i < len && s[i] >= 'a' && s[i] <= 'z')
            i++;
        size_t u_len = i - u_start;
        size_t u;
        for (u = next_unit; u < N_DURATION_UNITS; u++)
            if (strlen(duration_units[u].name) == u_len &&
                memcmp(duration_units[u].name, s + u_start, u_len) == 0)
                break;
        if (u == N_DURATION_UNITS) return VG_ERR_INPUT;
        if (n > (INT64_MAX - total) / duration_units[u].ms) return VG_ERR_INPUT;
        total += n * duration_units[u].ms;
        next_unit = u + 1;
    }
    *out_ms = total;
    return VG_OK;
}

void vg_duration_format(int64_t ms, char *out) {
    if (ms == 0) {
        strcpy(out, "0s");
        return;
    }
    char *o = out;
    if (ms < 0) {
        *o++ = '-';
        ms = -ms;
    }
    for (size_t u = 0; u < N_DURATION_UNITS; u++) {
        int64_t n = ms / duration_units[u].ms;
        /* Prometheus's model.Duration prints years and weeks only when what
         * is left is a whole number of them: 8d stays "8d", 14d is "2w",
         * 366d stays "366d". */
        if ((duration_units[u].name[0] == 'w' || duration_units[u].name[0] == 'y') &&
            ms % duration_units[u].ms != 0)
            continue;
        if (n > 0) {
            o += sprintf(o, "%lld%s", (long long)n, duration_units[u].name);
            ms -= n * duration_units[u].ms;
        }
    }
    *o = '\0';
}

void vg_time_format_rfc3339(int64_t ms, char *out) {
    time_t secs = (time_t)(ms / 1000);
    int milli = (int)(ms % 1000);
    if (milli < 0) {
        milli += 1000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", milli);
}
