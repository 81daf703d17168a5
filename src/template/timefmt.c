/* This file implements Go's time.Time and time.Duration as templates see
 * them: Time.Format with Go's reference-time layouts ("2006-01-02
 * 15:04:05 MST"), Time.String, Duration.String, their methods (.Format,
 * .Unix, .UTC, .Add, .Sub, ...), and time zones read from the system's
 * zoneinfo files (TZif) for Alertmanager's `tz`. */
#include "template/template_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ calendar */

typedef struct civil {
    int64_t year;
    int month, day, hour, min, sec, yday, wday;
} civil_t;

static void to_civil(int64_t sec, civil_t *c) {
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    c->hour = (int)(rem / 3600);
    c->min = (int)(rem % 3600 / 60);
    c->sec = (int)(rem % 60);
    c->wday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
    /* days to civil (Howard Hinnant's algorithm) */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    if (m <= 2) y++;
    c->year = y;
    c->month = m;
    c->day = d;
    static const int cum[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    c->yday = cum[m - 1] + d + (leap && m > 2 ? 1 : 0);
}

static const char *const long_months[] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};
static const char *const long_days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};

/* ------------------------------------------------------------ layouts */

enum {
    S_NONE,
    S_LONG_MONTH,
    S_MONTH,
    S_NUM_MONTH,
    S_ZERO_MONTH,
    S_LONG_WEEKDAY,
    S_WEEKDAY,
    S_DAY,
    S_UNDER_DAY,
    S_ZERO_DAY,
    S_UNDER_YDAY,
    S_ZERO_YDAY,
    S_HOUR,
    S_HOUR12,
    S_ZERO_HOUR12,
    S_MINUTE,
    S_ZERO_MINUTE,
    S_SECOND,
    S_ZERO_SECOND,
    S_LONG_YEAR,
    S_YEAR,
    S_PM,
    S_pm,
    S_TZ,
    S_ISO_TZ,
    S_ISO_SEC_TZ,
    S_ISO_SHORT_TZ,
    S_ISO_COLON_TZ,
    S_ISO_COLON_SEC_TZ,
    S_NUM_TZ,
    S_NUM_SEC_TZ,
    S_NUM_SHORT_TZ,
    S_NUM_COLON_TZ,
    S_NUM_COLON_SEC_TZ,
    S_FRAC0,
    S_FRAC9,
};

static bool starts(const char *s, size_t len, size_t i, const char *w) {
    size_t n = strlen(w);
    return i + n <= len && memcmp(s + i, w, n) == 0;
}

static bool is_digit_at(const char *s, size_t len, size_t i) {
    return i < len && s[i] >= '0' && s[i] <= '9';
}

static bool is_lower_at(const char *s, size_t len, size_t i) {
    return i < len && s[i] >= 'a' && s[i] <= 'z';
}

/* Go's nextStdChunk: finds the next standard chunk at or after i. */
static int next_std(const char *l, size_t len, size_t i, size_t *out_len, int *out_frac,
                    char *out_sep) {
    switch (l[i]) {
    case 'J':
        if (starts(l, len, i, "Jan")) {
            if (starts(l, len, i, "January")) {
                *out_len = 7;
                return S_LONG_MONTH;
            }
            if (!is_lower_at(l, len, i + 3)) {
                *out_len = 3;
                return S_MONTH;
            }
        }
        break;
    case 'M':
        if (starts(l, len, i, "Mon")) {
            if (starts(l, len, i, "Monday")) {
                *out_len = 6;
                return S_LONG_WEEKDAY;
            }
            if (!is_lower_at(l, len, i + 3)) {
                *out_len = 3;
                return S_WEEKDAY;
            }
        }
        if (starts(l, len, i, "MST")) {
            *out_len = 3;
            return S_TZ;
        }
        break;
    case '0':
        if (i + 1 < len && l[i + 1] >= '1' && l[i + 1] <= '6') {
            static const int z[] = {S_ZERO_MONTH,  S_ZERO_DAY,    S_ZERO_HOUR12,
                                    S_ZERO_MINUTE, S_ZERO_SECOND, S_YEAR};
            *out_len = 2;
            return z[l[i + 1] - '1'];
        }
        if (i + 2 < len && l[i + 1] == '0' && l[i + 2] == '2') {
            *out_len = 3;
            return S_ZERO_YDAY;
        }
        break;
    case '1':
        if (i + 1 < len && l[i + 1] == '5') {
            *out_len = 2;
            return S_HOUR;
        }
        *out_len = 1;
        return S_NUM_MONTH;
    case '2':
        if (starts(l, len, i, "2006")) {
            *out_len = 4;
            return S_LONG_YEAR;
        }
        *out_len = 1;
        return S_DAY;
    case '_':
        if (i + 1 < len && l[i + 1] == '2') {
            if (starts(l, len, i + 1, "2006")) return S_NONE; /* "_" then the year */
            *out_len = 2;
            return S_UNDER_DAY;
        }
        if (starts(l, len, i, "__2")) {
            *out_len = 3;
            return S_UNDER_YDAY;
        }
        break;
    case '3': *out_len = 1; return S_HOUR12;
    case '4': *out_len = 1; return S_MINUTE;
    case '5': *out_len = 1; return S_SECOND;
    case 'P':
        if (starts(l, len, i, "PM")) {
            *out_len = 2;
            return S_PM;
        }
        break;
    case 'p':
        if (starts(l, len, i, "pm")) {
            *out_len = 2;
            return S_pm;
        }
        break;
    case '-':
        if (starts(l, len, i, "-070000")) {
            *out_len = 7;
            return S_NUM_SEC_TZ;
        }
        if (starts(l, len, i, "-07:00:00")) {
            *out_len = 9;
            return S_NUM_COLON_SEC_TZ;
        }
        if (starts(l, len, i, "-0700")) {
            *out_len = 5;
            return S_NUM_TZ;
        }
        if (starts(l, len, i, "-07:00")) {
            *out_len = 6;
            return S_NUM_COLON_TZ;
        }
        if (starts(l, len, i, "-07")) {
            *out_len = 3;
            return S_NUM_SHORT_TZ;
        }
        break;
    case 'Z':
        if (starts(l, len, i, "Z070000")) {
            *out_len = 7;
            return S_ISO_SEC_TZ;
        }
        if (starts(l, len, i, "Z07:00:00")) {
            *out_len = 9;
            return S_ISO_COLON_SEC_TZ;
        }
        if (starts(l, len, i, "Z0700")) {
            *out_len = 5;
            return S_ISO_TZ;
        }
        if (starts(l, len, i, "Z07:00")) {
            *out_len = 6;
            return S_ISO_COLON_TZ;
        }
        if (starts(l, len, i, "Z07")) {
            *out_len = 3;
            return S_ISO_SHORT_TZ;
        }
        break;
    case '.':
    case ',':
        if (i + 1 < len && (l[i + 1] == '0' || l[i + 1] == '9')) {
            char ch = l[i + 1];
            size_t j = i + 1;
            while (j < len && l[j] == ch)
                j++;
            if (!is_digit_at(l, len, j)) {
                *out_len = j - i;
                *out_frac = (int)(j - i - 1);
                *out_sep = l[i];
                return ch == '0' ? S_FRAC0 : S_FRAC9;
            }
        }
        break;
    default: break;
    }
    return S_NONE;
}

static void put_int(vg_buf_t *out, int64_t v, int width) {
    if (v < 0) {
        vg_buf_putc(out, '-');
        v = -v;
    }
    vg_buf_printf(out, "%0*lld", width, (long long)v);
}

static void put_zone(vg_buf_t *out, int std, int32_t offset) {
    bool iso = std == S_ISO_TZ || std == S_ISO_SEC_TZ || std == S_ISO_SHORT_TZ ||
               std == S_ISO_COLON_TZ || std == S_ISO_COLON_SEC_TZ;
    if (offset == 0 && iso) {
        vg_buf_putc(out, 'Z');
        return;
    }
    int zone = offset / 60;
    int abs_off = offset;
    if (zone < 0) {
        vg_buf_putc(out, '-');
        zone = -zone;
        abs_off = -abs_off;
    } else {
        vg_buf_putc(out, '+');
    }
    put_int(out, zone / 60, 2);
    bool colon = std == S_ISO_COLON_TZ || std == S_NUM_COLON_TZ || std == S_ISO_COLON_SEC_TZ ||
                 std == S_NUM_COLON_SEC_TZ;
    if (colon) vg_buf_putc(out, ':');
    if (std != S_NUM_SHORT_TZ && std != S_ISO_SHORT_TZ) put_int(out, zone % 60, 2);
    if (std == S_ISO_SEC_TZ || std == S_NUM_SEC_TZ || std == S_NUM_COLON_SEC_TZ ||
        std == S_ISO_COLON_SEC_TZ) {
        if (std == S_NUM_COLON_SEC_TZ || std == S_ISO_COLON_SEC_TZ) vg_buf_putc(out, ':');
        put_int(out, abs_off % 60, 2);
    }
}

void tpl_time_format(vg_buf_t *out, const template_value_t *t, const char *l, size_t len) {
    civil_t c;
    int64_t local = t->u.time.sec + t->tz_offset;
    to_civil(local, &c);
    int32_t nsec = t->u.time.nsec;
    size_t i = 0;
    while (i < len) {
        size_t n = 0;
        int frac = 0;
        char sep = '.';
        int std = next_std(l, len, i, &n, &frac, &sep);
        if (std == S_NONE) {
            vg_buf_putc(out, l[i]);
            i++;
            continue;
        }
        i += n;
        switch (std) {
        case S_YEAR: put_int(out, ((c.year % 100) + 100) % 100, 2); break;
        case S_LONG_YEAR: put_int(out, c.year, 4); break;
        case S_MONTH: vg_buf_append(out, long_months[c.month - 1], 3); break;
        case S_LONG_MONTH: vg_buf_puts(out, long_months[c.month - 1]); break;
        case S_NUM_MONTH: put_int(out, c.month, 0); break;
        case S_ZERO_MONTH: put_int(out, c.month, 2); break;
        case S_WEEKDAY: vg_buf_append(out, long_days[c.wday], 3); break;
        case S_LONG_WEEKDAY: vg_buf_puts(out, long_days[c.wday]); break;
        case S_DAY: put_int(out, c.day, 0); break;
        case S_UNDER_DAY:
            if (c.day < 10) vg_buf_putc(out, ' ');
            put_int(out, c.day, 0);
            break;
        case S_ZERO_DAY: put_int(out, c.day, 2); break;
        case S_UNDER_YDAY:
            if (c.yday < 100) vg_buf_putc(out, ' ');
            if (c.yday < 10) vg_buf_putc(out, ' ');
            put_int(out, c.yday, 0);
            break;
        case S_ZERO_YDAY: put_int(out, c.yday, 3); break;
        case S_HOUR: put_int(out, c.hour, 2); break;
        case S_HOUR12: put_int(out, c.hour % 12 == 0 ? 12 : c.hour % 12, 0); break;
        case S_ZERO_HOUR12: put_int(out, c.hour % 12 == 0 ? 12 : c.hour % 12, 2); break;
        case S_MINUTE: put_int(out, c.min, 0); break;
        case S_ZERO_MINUTE: put_int(out, c.min, 2); break;
        case S_SECOND: put_int(out, c.sec, 0); break;
        case S_ZERO_SECOND: put_int(out, c.sec, 2); break;
        case S_PM: vg_buf_puts(out, c.hour >= 12 ? "PM" : "AM"); break;
        case S_pm: vg_buf_puts(out, c.hour >= 12 ? "pm" : "am"); break;
        case S_TZ:
            if (t->u.time.zone && t->u.time.zone[0]) {
                vg_buf_puts(out, t->u.time.zone);
            } else {
                int zone = t->tz_offset / 60;
                if (zone < 0) {
                    vg_buf_putc(out, '-');
                    zone = -zone;
                } else {
                    vg_buf_putc(out, '+');
                }
                put_int(out, zone / 60, 2);
                put_int(out, zone % 60, 2);
            }
            break;
        case S_FRAC0:
        case S_FRAC9: {
            char digits[10];
            snprintf(digits, sizeof digits, "%09d", (int)nsec);
            int nd = frac > 9 ? 9 : frac;
            if (std == S_FRAC9) {
                while (nd > 0 && digits[nd - 1] == '0')
                    nd--;
                if (nd == 0) break;
            }
            vg_buf_putc(out, sep);
            vg_buf_append(out, digits, (size_t)nd);
            break;
        }
        default: put_zone(out, std, t->tz_offset); break;
        }
    }
}

void tpl_time_string(vg_buf_t *out, const template_value_t *t) {
    static const char layout[] = "2006-01-02 15:04:05.999999999 -0700 MST";
    tpl_time_format(out, t, layout, sizeof layout - 1);
}

/* --------------------------------------------------------- durations */

static size_t fmt_frac(char *buf, size_t w, uint64_t *v, int prec) {
    bool print = false;
    for (int i = 0; i < prec; i++) {
        int digit = (int)(*v % 10);
        print = print || digit != 0;
        if (print) buf[--w] = (char)('0' + digit);
        *v /= 10;
    }
    if (print) buf[--w] = '.';
    return w;
}

static size_t fmt_uint(char *buf, size_t w, uint64_t v) {
    if (v == 0) {
        buf[--w] = '0';
        return w;
    }
    while (v > 0) {
        buf[--w] = (char)('0' + v % 10);
        v /= 10;
    }
    return w;
}

void tpl_duration_string(vg_buf_t *out, int64_t d) {
    char buf[40];
    size_t w = sizeof buf;
    uint64_t u = (uint64_t)d;
    bool neg = d < 0;
    if (neg) u = (uint64_t)0 - u;
    if (u < 1000000000ull) {
        int prec;
        buf[--w] = 's';
        if (u == 0) {
            vg_buf_puts(out, "0s");
            return;
        } else if (u < 1000ull) {
            prec = 0;
            buf[--w] = 'n';
        } else if (u < 1000000ull) {
            prec = 3;
            buf[--w] = '\xb5';
            buf[--w] = '\xc2';
        } else {
            prec = 6;
            buf[--w] = 'm';
        }
        w = fmt_frac(buf, w, &u, prec);
        w = fmt_uint(buf, w, u);
    } else {
        buf[--w] = 's';
        w = fmt_frac(buf, w, &u, 9);
        w = fmt_uint(buf, w, u % 60);
        u /= 60;
        if (u > 0) {
            buf[--w] = 'm';
            w = fmt_uint(buf, w, u % 60);
            u /= 60;
            if (u > 0) {
                buf[--w] = 'h';
                w = fmt_uint(buf, w, u);
            }
        }
    }
    if (neg) buf[--w] = '-';
    vg_buf_append(out, buf + w, sizeof buf - w);
}

/* ------------------------------------------------------------- zones */

static int64_t be64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return (int64_t)v;
}
static int32_t be32(const unsigned char *p) {
    return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
                     p[3]);
}

int tpl_tz_lookup(template_call_t *c, const char *name, size_t len, int64_t sec,
                  int32_t *out_offset, const char **out_abbr) {
    if ((len == 0) || (len == 3 && memcmp(name, "UTC", 3) == 0)) {
        *out_offset = 0;
        *out_abbr = "UTC";
        return 0;
    }
    char zname[256];
    if (len == 5 && memcmp(name, "Local", 5) == 0) {
        /* vigil runs in UTC unless TZ names a zone */
        const char *tz = getenv("TZ");
        if (!tz || !*tz) {
            *out_offset = 0;
            *out_abbr = "UTC";
            return 0;
        }
        if (*tz == ':') tz++;
        snprintf(zname, sizeof zname, "%s", tz);
    } else {
        /* Go's LoadLocation refuses names that climb out of the zone
         * directory */
        if (len >= sizeof zname || memchr(name, '\0', len) || name[0] == '/' || name[0] == '.' ||
            (len >= 2 && memmem(name, len, "..", 2)) || memchr(name, '\\', len))
            return template_call_fail(c, "time: invalid location name");
        memcpy(zname, name, len);
        zname[len] = '\0';
    }
    char path[320];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zname);
    char *data = NULL;
    size_t n = 0;
    if (vg_file_read_all(path, 1 << 20, &data, &n, NULL) != 0)
        return template_call_fail(c, "unknown time zone %s", zname);
    const unsigned char *p = (const unsigned char *)data;
    int rc = 0;
    if (n < 44 || memcmp(p, "TZif", 4) != 0) {
        rc = template_call_fail(c, "unknown time zone %s", zname);
        goto done;
    }
    {
        /* v1 header; for v2+ skip the 32-bit block and read the 64-bit one */
        int version = p[4] ? p[4] - '0' : 1;
        size_t off = 0;
        int tsize = 4;
        if (version >= 2) {
            uint32_t isut = (uint32_t)be32(p + 20), isstd = (uint32_t)be32(p + 24),
                     leap = (uint32_t)be32(p + 28), timecnt = (uint32_t)be32(p + 32),
                     typecnt = (uint32_t)be32(p + 36), charcnt = (uint32_t)be32(p + 40);
            size_t skip = 44 + (size_t)timecnt * 5 + (size_t)typecnt * 6 + charcnt +
                          (size_t)leap * 8 + isstd + isut;
            if (skip + 44 > n) {
                rc = template_call_fail(c, "unknown time zone %s", zname);
                goto done;
            }
            off = skip;
            tsize = 8;
        }
        const unsigned char *h = p + off;
        uint32_t leap = (uint32_t)be32(h + 28), timecnt = (uint32_t)be32(h + 32),
                 typecnt = (uint32_t)be32(h + 36), charcnt = (uint32_t)be32(h + 40);
        size_t need = 44 + (size_t)timecnt * ((size_t)tsize + 1) + (size_t)typecnt * 6 + charcnt +
                      (size_t)leap * ((size_t)tsize + 4);
        if (typecnt == 0 || off + need > n) {
            rc = template_call_fail(c, "unknown time zone %s", zname);
            goto done;
        }
        const unsigned char *times = h + 44;
        const unsigned char *idx = times + (size_t)timecnt * (size_t)tsize;
        const unsigned char *types = idx + timecnt;
        const unsigned char *chars = types + (size_t)typecnt * 6;
        /* the type in effect: the last transition at or before sec; before
         * the first, the first standard-time type */
        size_t ti = 0;
        bool found = false;
        for (uint32_t k = 0; k < timecnt; k++) {
            int64_t tt = tsize == 8 ? be64(times + (size_t)k * 8) : be32(times + (size_t)k * 4);
            if (tt > sec) break;
            ti = idx[k];
            found = true;
        }
        if (!found) {
            ti = 0;
            for (uint32_t k = 0; k < typecnt; k++)
                if (!types[k * 6 + 4]) {
                    ti = k;
                    break;
                }
        }
        if (ti >= typecnt) ti = 0;
        const unsigned char *ty = types + ti * 6;
        *out_offset = be32(ty);
        size_t ai = ty[5];
        if (ai >= charcnt) ai = 0;
        size_t al = 0;
        while (ai + al < charcnt && chars[ai + al])
            al++;
        char *abbr = template_call_alloc(c, al + 1);
        if (!abbr) {
            rc = VG_ERR;
            goto done;
        }
        memcpy(abbr, chars + ai, al);
        abbr[al] = '\0';
        *out_abbr = abbr;
    }
done:
    free(data);
    return rc;
}

/* ------------------------------------------------------------ methods */

static int m_format(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    (void)n;
    const char *l;
    size_t ll;
    if (template_arg_str(c, &a[1], &l, &ll)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    tpl_time_format(&b, &a[0], l, ll);
    int rc = template_call_buf_str(c, &b, out);
    vg_buf_free(&b);
    return rc;
}

static int m_utc(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)c;
    (void)n;
    *out = template_time(a[0].u.time.sec, a[0].u.time.nsec, 0, "UTC");
    return 0;
}

static int m_unix(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)c;
    (void)n;
    *out = template_int(a[0].u.time.sec);
    return 0;
}

static int m_unix_milli(template_call_t *c, const template_value_t *a, size_t n,
                        template_value_t *out) {
    (void)c;
    (void)n;
    *out = template_int(a[0].u.time.sec * 1000 + a[0].u.time.nsec / 1000000);
    return 0;
}

static int m_is_zero(template_call_t *c, const template_value_t *a, size_t n,
                     template_value_t *out) {
    (void)c;
    (void)n;
    /* Go's zero time is January 1, year 1, 00:00:00 UTC */
    *out = template_bool(a[0].u.time.sec == -62135596800LL && a[0].u.time.nsec == 0);
    return 0;
}

static int m_string(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    (void)n;
    vg_buf_t b = VG_BUF_INIT;
    if (a[0].kind == TEMPLATE_TIME)
        tpl_time_string(&b, &a[0]);
    else
        tpl_duration_string(&b, a[0].u.i);
    int rc = template_call_buf_str(c, &b, out);
    vg_buf_free(&b);
    return rc;
}

static int64_t time_ns_diff(const template_value_t *x, const template_value_t *y) {
    return (x->u.time.sec - y->u.time.sec) * 1000000000LL + (x->u.time.nsec - y->u.time.nsec);
}

static int need_time(template_call_t *c, const template_value_t *v) {
    if (v->kind == TEMPLATE_TIME) return 0;
    c->msg_plain = true;
    return template_call_fail(c, "wrong type for value; expected time.Time; got %s",
                              template_value_type_name(v));
}

static int m_sub(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    if (need_time(c, &a[1])) return VG_ERR;
    *out = template_duration(time_ns_diff(&a[0], &a[1]));
    return 0;
}

static int m_before(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    (void)n;
    if (need_time(c, &a[1])) return VG_ERR;
    *out = template_bool(time_ns_diff(&a[0], &a[1]) < 0);
    return 0;
}

static int m_after(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    if (need_time(c, &a[1])) return VG_ERR;
    *out = template_bool(time_ns_diff(&a[0], &a[1]) > 0);
    return 0;
}

static int m_equal(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    if (need_time(c, &a[1])) return VG_ERR;
    *out = template_bool(time_ns_diff(&a[0], &a[1]) == 0);
    return 0;
}

static int m_add(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    if (a[1].kind != TEMPLATE_DURATION && a[1].kind != TEMPLATE_INT) {
        c->msg_plain = true;
        return template_call_fail(c, "wrong type for value; expected time.Duration; got %s",
                                  template_value_type_name(&a[1]));
    }
    int64_t ns = (int64_t)a[0].u.time.nsec + a[1].u.i % 1000000000LL;
    int64_t sec = a[0].u.time.sec + a[1].u.i / 1000000000LL + ns / 1000000000LL;
    ns %= 1000000000LL;
    if (ns < 0) {
        ns += 1000000000LL;
        sec--;
    }
    *out = a[0];
    out->u.time.sec = sec;
    out->u.time.nsec = (int32_t)ns;
    return 0;
}

#define CIVIL_METHOD(fname, expr)                                                                  \
    static int fname(template_call_t *c, const template_value_t *a, size_t n,                      \
                     template_value_t *out) {                                                      \
        (void)c;                                                                                   \
        (void)n;                                                                                   \
        civil_t cv;                                                                                \
        to_civil(a[0].u.time.sec + a[0].tz_offset, &cv);                                           \
        *out = template_int(expr);                                                                 \
        return 0;                                                                                  \
    }
CIVIL_METHOD(m_year, cv.year)
CIVIL_METHOD(m_day, cv.day)
CIVIL_METHOD(m_hour, cv.hour)
CIVIL_METHOD(m_minute, cv.min)
CIVIL_METHOD(m_second, cv.sec)
CIVIL_METHOD(m_yday, cv.yday)

static const template_method_t time_methods[] = {
    {"Add", m_add, 1, 1},       {"After", m_after, 1, 1},
    {"Before", m_before, 1, 1}, {"Day", m_day, 0, 0},
    {"Equal", m_equal, 1, 1},   {"Format", m_format, 1, 1},
    {"Hour", m_hour, 0, 0},     {"IsZero", m_is_zero, 0, 0},
    {"Local", m_utc, 0, 0},     {"Minute", m_minute, 0, 0},
    {"Second", m_second, 0, 0}, {"String", m_string, 0, 0},
    {"Sub", m_sub, 1, 1},       {"UTC", m_utc, 0, 0},
    {"Unix", m_unix, 0, 0},     {"UnixMilli", m_unix_milli, 0, 0},
    {"Year", m_year, 0, 0},     {"YearDay", m_yday, 0, 0},
};

static int time_to_string(template_call_t *c, const template_value_t *self, vg_buf_t *out) {
    (void)c;
    tpl_time_string(out, self);
    return 0;
}

const template_type_t tpl_type_time = {
    .name = "time.Time",
    .methods = time_methods,
    .n_methods = sizeof time_methods / sizeof time_methods[0],
    .to_string = time_to_string,
};

static int d_hours(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)c;
    (void)n;
    int64_t h = a[0].u.i / 3600000000000LL, ns = a[0].u.i % 3600000000000LL;
    *out = template_float((double)h + (double)ns / 3.6e12);
    return 0;
}
static int d_minutes(template_call_t *c, const template_value_t *a, size_t n,
                     template_value_t *out) {
    (void)c;
    (void)n;
    int64_t m = a[0].u.i / 60000000000LL, ns = a[0].u.i % 60000000000LL;
    *out = template_float((double)m + (double)ns / 6e10);
    return 0;
}
static int d_seconds(template_call_t *c, const template_value_t *a, size_t n,
                     template_value_t *out) {
    (void)c;
    (void)n;
    int64_t s = a[0].u.i / 1000000000LL, ns = a[0].u.i % 1000000000LL;
    *out = template_float((double)s + (double)ns / 1e9);
    return 0;
}
static int d_millis(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    (void)c;
    (void)n;
    *out = template_int(a[0].u.i / 1000000LL);
    return 0;
}

static const template_method_t duration_methods[] = {
    {"Hours", d_hours, 0, 0},     {"Milliseconds", d_millis, 0, 0}, {"Minutes", d_minutes, 0, 0},
    {"Seconds", d_seconds, 0, 0}, {"String", m_string, 0, 0},
};

static int duration_to_string(template_call_t *c, const template_value_t *self, vg_buf_t *out) {
    (void)c;
    tpl_duration_string(out, self->u.i);
    return 0;
}

const template_type_t tpl_type_duration = {
    .name = "time.Duration",
    .methods = duration_methods,
    .n_methods = sizeof duration_methods / sizeof duration_methods[0],
    .to_string = duration_to_string,
};

const template_type_t tpl_type_time_ptr = {
    .name = "*time.Time",
    .methods = time_methods,
    .n_methods = sizeof time_methods / sizeof time_methods[0],
    .to_string = time_to_string,
};
