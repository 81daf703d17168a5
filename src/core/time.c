/* This file implements clocks and Prometheus durations. */
#include "core.h"

#include <string.h>
#include <time.h>

double vg_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t vg_time_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
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

size_t vg_time_format_go(int64_t ns, char *out) {
    if (ns == VG_TIME_GO_ZERO) {
        memcpy(out, "0001-01-01T00:00:00Z", 21);
        return 20;
    }
    int64_t secs = ns / 1000000000;
    int64_t frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac) {
        char digits[16];
        snprintf(digits, sizeof digits, "%09lld", (long long)frac);
        size_t k = 9;
        while (k && digits[k - 1] == '0')
            k--;
        out[n++] = '.';
        memcpy(out + n, digits, k);
        n += k;
    }
    out[n++] = 'Z';
    out[n] = '\0';
    return n;
}

static int digits_at(const char *s, size_t len, size_t at, size_t n, int *out) {
    if (at + n > len) return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[at + i] < '0' || s[at + i] > '9') return -1;
        v = v * 10 + (s[at + i] - '0');
    }
    *out = v;
    return 0;
}

int vg_time_parse_rfc3339(const char *s, size_t len, int64_t *out_ns) {
    int Y, M, D, h, m, sec;
    if (digits_at(s, len, 0, 4, &Y) || len < 19 || s[4] != '-' || digits_at(s, len, 5, 2, &M) ||
        s[7] != '-' || digits_at(s, len, 8, 2, &D) || (s[10] != 'T' && s[10] != 't') ||
        digits_at(s, len, 11, 2, &h) || s[13] != ':' || digits_at(s, len, 14, 2, &m) ||
        s[16] != ':' || digits_at(s, len, 17, 2, &sec))
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 59) return -1;
    bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M == 2 && D == 29 && !leap) return -1;
    size_t p = 19;
    int64_t frac = 0;
    if (p < len && (s[p] == '.' || s[p] == ',')) {
        p++;
        size_t start = p;
        while (p < len && s[p] >= '0' && s[p] <= '9') {
            if (p - start < 9) frac = frac * 10 + (s[p] - '0');
            p++;
        }
        if (p == start) return -1;
        for (size_t k = p - start; k < 9; k++)
            frac *= 10;
    }
    int64_t offset = 0;
    if (p < len && (s[p] == 'Z' || s[p] == 'z')) {
        p++;
    } else if (p < len && (s[p] == '+' || s[p] == '-')) {
        int oh, om;
        if (digits_at(s, len, p + 1, 2, &oh) || p + 3 >= len || s[p + 3] != ':' ||
            digits_at(s, len, p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset = (s[p] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        p += 6;
    } else {
        return -1;
    }
    if (p != len) return -1;
    if (Y == 1 && M == 1 && D == 1 && h == 0 && m == 0 && sec == 0 && frac == 0 && offset == 0) {
        *out_ns = VG_TIME_GO_ZERO;
        return 0;
    }
    if (Y < 1678 || Y > 2261) return -1;
    /* Days from the civil date (proleptic Gregorian), no time zone lookup. */
    int y = M <= 2 ? Y - 1 : Y;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (M + (M > 2 ? -3 : 9)) + 2) / 5 + D - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    int64_t secs = days * 86400 + h * 3600 + m * 60 + sec - offset;
    *out_ns = secs * 1000000000 + frac;
    return 0;
}
