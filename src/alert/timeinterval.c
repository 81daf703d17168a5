/* This file implements Alertmanager's time intervals: decoding one entry
 * of a `time_intervals:` list (times, weekdays, days_of_month, months,
 * years, location, with timeinterval.go's messages), reading a location's
 * rules from the system tz database (TZif files, the 64-bit section), and
 * deciding whether an instant falls inside an interval. */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/alert_int.h"

/* A location's offsets: transitions sorted by time, each with its UTC
 * offset; before the first one, `first_off` applies. */
struct alert_tz {
    int64_t *at; /* seconds since the epoch */
    int32_t *off;
    size_t n;
    int32_t first_off;
};

/* ------------------------------------------------------------ tz files */

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p) {
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Parses a TZif file (RFC 8536); false when it is not one. */
static bool tzif_parse(const unsigned char *b, size_t len, vg_arena_t *arena,
                       struct alert_tz *out) {
    if (len < 44 || memcmp(b, "TZif", 4) != 0) return false;
    const unsigned char *h = b;
    size_t tsize = 4;
    if (b[4] >= '2') {
        /* Skip the 32-bit block to the 64-bit one. */
        uint32_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28),
                 timecnt = be32(h + 32), typecnt = be32(h + 36), charcnt = be32(h + 40);
        uint64_t skip = 44 + (uint64_t)timecnt * 5 + (uint64_t)typecnt * 6 + charcnt +
                        (uint64_t)leap * 8 + isstd + isut;
        if (skip + 44 > len) return false;
        h = b + skip;
        if (memcmp(h, "TZif", 4) != 0) return false;
        tsize = 8;
    }
    uint32_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28), timecnt = be32(h + 32),
             typecnt = be32(h + 36), charcnt = be32(h + 40);
    (void)isut, (void)isstd, (void)leap, (void)charcnt;
    const unsigned char *p = h + 44, *end = b + len;
    if (typecnt == 0 || timecnt > 100000 || typecnt > 256) return false;
    if ((uint64_t)(end - p) < (uint64_t)timecnt * (tsize + 1) + (uint64_t)typecnt * 6) return false;
    const unsigned char *times = p, *idx = p + (size_t)timecnt * tsize, *types = idx + timecnt;
    out->n = timecnt;
    out->at = vg_arena_alloc(arena, (timecnt ? timecnt : 1) * sizeof *out->at);
    out->off = vg_arena_alloc(arena, (timecnt ? timecnt : 1) * sizeof *out->off);
    for (uint32_t i = 0; i < timecnt; i++) {
        out->at[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        unsigned t = idx[i];
        if (t >= typecnt) return false;
        out->off[i] = (int32_t)be32(types + 6 * t);
    }
    /* Before the first transition: the first standard-time type. */
    out->first_off = (int32_t)be32(types);
    for (uint32_t t = 0; t < typecnt; t++)
        if (!types[6 * t + 4]) {
            out->first_off = (int32_t)be32(types + 6 * t);
            break;
        }
    return true;
}

static bool tz_load_path(const char *path, vg_arena_t *arena, struct alert_tz *out) {
    char *data = NULL;
    size_t len = 0;
    if (vg_file_read_all(path, 4u << 20, &data, &len, NULL) != VG_OK) return false;
    bool ok = tzif_parse((const unsigned char *)data, len, arena, out);
    free(data);
    return ok;
}

/* time.LoadLocation: "" and "UTC" are UTC, "Local" the system zone, else a
 * name looked up in $ZONEINFO and the system's zoneinfo directories. */
static int tz_load(alert_dec_t *d, const char *name, const struct alert_tz **out) {
    *out = NULL;
    if (!*name || !strcmp(name, "UTC")) return ALERT_DEC_OK;
    struct alert_tz *tz = alert_dec_zalloc(d, sizeof *tz);
    if (!strcmp(name, "Local")) {
        const char *env = getenv("TZ");
        char path[PATH_MAX];
        if (env && *env) {
            if (*env == ':') env++;
            if (*env == '/')
                snprintf(path, sizeof path, "%s", env);
            else
                snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", env);
        } else {
            snprintf(path, sizeof path, "/etc/localtime");
        }
        if (tz_load_path(path, d->arena, tz)) *out = tz;
        return ALERT_DEC_OK; /* Go falls back to UTC */
    }
    if (strstr(name, "..") || name[0] == '/' || name[0] == '\\')
        return alert_dec_fatal(d, "time: invalid location name");
    const char *dirs[] = {getenv("ZONEINFO"), "/usr/share/zoneinfo", "/usr/share/lib/zoneinfo",
                          "/usr/lib/locale/TZ", "/etc/zoneinfo"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        if (!dirs[i] || !*dirs[i]) continue;
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dirs[i], name) >= sizeof path) continue;
        if (tz_load_path(path, d->arena, tz)) return *out = tz, ALERT_DEC_OK;
    }
    return alert_dec_fatal(d, "unknown time zone %s", name);
}

static int32_t tz_offset(const struct alert_tz *tz, int64_t t) {
    if (!tz) return 0;
    if (tz->n == 0 || t < tz->at[0]) return tz->first_off;
    size_t lo = 0, hi = tz->n; /* last transition <= t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->off[lo];
}

/* ---------------------------------------------------------- decoding */

static const char *const weekday_names[] = {"sunday",   "monday", "tuesday", "wednesday",
                                            "thursday", "friday", "saturday"};
static const char *const month_names[] = {"january",   "february", "march",    "april",
                                          "may",       "june",     "july",     "august",
                                          "september", "october",  "november", "december"};

/* strconv.Atoi: an optional sign and decimal digits. */
static bool go_atoi(const char *s, int *out, char *why, size_t why_len) {
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    if (!*p) goto syntax;
    long long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') goto syntax;
        v = v * 10 + (*p - '0');
        if (v > (long long)INT_MAX + 1) {
            snprintf(why, why_len, "strconv.Atoi: parsing \"%s\": value out of range", s);
            return false;
        }
    }
    *out = (int)(neg ? -v : v);
    return true;
syntax:
    snprintf(why, why_len, "strconv.Atoi: parsing \"%s\": invalid syntax", s);
    return false;
}

typedef enum range_kind { RK_WEEKDAY, RK_DAY, RK_MONTH, RK_YEAR } range_kind_t;

static bool member(range_kind_t k, const char *s, int *out, char *why, size_t why_len) {
    if (k == RK_WEEKDAY) {
        for (int i = 0; i < 7; i++)
            if (!strcmp(s, weekday_names[i])) return *out = i, true;
        snprintf(why, why_len, "%s is not a valid weekday", s);
        return false;
    }
    if (k == RK_MONTH) {
        for (int i = 0; i < 12; i++)
            if (!strcmp(s, month_names[i])) return *out = i + 1, true;
        if (!go_atoi(s, out, why, why_len)) {
            snprintf(why, why_len, "%s is not a valid month", s);
            return false;
        }
        return true;
    }
    return go_atoi(s, out, why, why_len);
}

/* stringableRangeFromString plus each range type's checks. */
static int parse_range(alert_dec_t *d, range_kind_t k, const char *orig, alert_range_t *r) {
    size_t n = strlen(orig);
    char *s = alert_dec_strdup(d, orig, n);
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    char why[256];
    char *colon = strchr(s, ':');
    if (colon) {
        if (strchr(colon + 1, ':'))
            return alert_dec_fatal(d, "couldn't parse range %s, invalid format", s);
        *colon = 0;
        if (!member(k, s, &r->begin, why, sizeof why)) return alert_dec_fatal(d, "%s", why);
        if (!member(k, colon + 1, &r->end, why, sizeof why)) return alert_dec_fatal(d, "%s", why);
    } else {
        if (!member(k, s, &r->begin, why, sizeof why)) return alert_dec_fatal(d, "%s", why);
        r->end = r->begin;
    }
    switch (k) {
    case RK_WEEKDAY:
        if (r->begin > r->end) return alert_dec_fatal(d, "start day cannot be before end day");
        if (r->begin < 0 || r->begin > 6 || r->end < 0 || r->end > 6)
            return alert_dec_fatal(d, "%s is not a valid day of the week: out of range", orig);
        break;
    case RK_DAY: {
        if (r->begin == 0 || r->begin < -31 || r->begin > 31)
            return alert_dec_fatal(d, "%d is not a valid day of the month: out of range", r->begin);
        if (r->end == 0 || r->end < -31 || r->end > 31)
            return alert_dec_fatal(d, "%d is not a valid day of the month: out of range", r->end);
        if (r->begin < 0 && r->end > 0)
            return alert_dec_fatal(d, "end day must be negative if start day is negative");
        int b = r->begin < 0 ? 28 + r->begin : r->begin;
        int e = r->end < 0 ? 28 + r->end : r->end;
        if (b > e)
            return alert_dec_fatal(d, "end day %d is always before start day %d", r->end, r->begin);
        break;
    }
    case RK_MONTH:
        if (r->begin > r->end)
            return alert_dec_fatal(d, "end month %s is before start month %s",
                                   r->end >= 1 && r->end <= 12 ? month_names[r->end - 1] : "",
                                   r->begin >= 1 && r->begin <= 12 ? month_names[r->begin - 1]
                                                                   : "");
        break;
    case RK_YEAR:
        if (r->begin > r->end)
            return alert_dec_fatal(d, "end year %d is before start year %d", r->end, r->begin);
        break;
    }
    return ALERT_DEC_OK;
}

static int decode_ranges(alert_dec_t *d, const ytree_node_t *n, range_kind_t k, const char *go,
                         alert_range_t **out, size_t *out_n, bool *has) {
    if (ytree_is_null(n)) return ALERT_DEC_OK;
    if (n->kind != YTREE_NODE_SEQ) return alert_dec_type_error(d, n, go);
    *out = alert_dec_zalloc(d, n->n * sizeof **out);
    *out_n = n->n;
    *has = true;
    int rc = ALERT_DEC_OK;
    for (size_t i = 0; i < n->n; i++) {
        const ytree_node_t *it = n->kids[i];
        if (ytree_is_null(it)) continue; /* Go leaves a zero range */
        const char *s;
        if (alert_dec_string(d, it, &s)) {
            rc = ALERT_DEC_TERR;
            continue;
        }
        int r = parse_range(d, k, s, &(*out)[i]);
        if (r) return r;
    }
    return rc;
}

/* "HH:MM" from 00:00 to 24:00 (parseTime). */
static bool parse_clock(const char *s, int *mins) {
    if (!strcmp(s, "24:00")) return *mins = 1440, true;
    if (strlen(s) != 5 || s[2] != ':') return false;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9')) return false;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59) return false;
    *mins = h * 60 + m;
    return true;
}

typedef struct yaml_time_range {
    const char *start_time, *end_time;
} yaml_time_range_t;

static const alert_field_t time_range_fields[] = {
    {"start_time", ALERT_F_STR, offsetof(yaml_time_range_t, start_time), NULL, NULL, NULL, NULL},
    {"end_time", ALERT_F_STR, offsetof(yaml_time_range_t, end_time), NULL, NULL, NULL, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL}};
static const alert_type_t time_range_type = {
    "timeinterval.yamlTimeRange", sizeof(yaml_time_range_t), time_range_fields, NULL, NULL};

static int decode_times(alert_dec_t *d, const ytree_node_t *n, alert_time_spec_t *spec) {
    if (ytree_is_null(n)) return ALERT_DEC_OK;
    if (n->kind != YTREE_NODE_SEQ) return alert_dec_type_error(d, n, "[]timeinterval.TimeRange");
    spec->times = alert_dec_zalloc(d, n->n * sizeof *spec->times);
    spec->n_times = n->n;
    spec->has_times = true;
    int rc = ALERT_DEC_OK;
    for (size_t i = 0; i < n->n; i++) {
        if (ytree_is_null(n->kids[i])) continue;
        yaml_time_range_t y;
        alert_dec_init(&time_range_type, &y);
        int r = alert_dec_struct(d, &time_range_type, n->kids[i], &y);
        if (r == ALERT_DEC_FATAL) return r;
        if (r) {
            rc = r;
            continue;
        }
        if (!*y.start_time || !*y.end_time)
            return alert_dec_fatal(d, "both start and end times must be provided");
        int b, e;
        if (!parse_clock(y.start_time, &b))
            return alert_dec_fatal(d, "couldn't parse timestamp %s, invalid format", y.start_time);
        if (!parse_clock(y.end_time, &e))
            return alert_dec_fatal(d, "couldn't parse timestamp %s, invalid format", y.end_time);
        if (b >= e)
            return alert_dec_fatal(d, "start time cannot be equal or greater than end time");
        spec->times[i] = (alert_range_t){b, e};
    }
    return rc;
}

int alert_timeinterval_decode_spec(alert_dec_t *d, const ytree_node_t *n, alert_time_spec_t *out) {
    memset(out, 0, sizeof *out);
    out->location = "";
    if (n->kind != YTREE_NODE_MAP) return alert_dec_type_error(d, n, "timeinterval.TimeInterval");
    int rc = ALERT_DEC_OK;
    bool seen[6] = {false};
    static const char *const keys[] = {"times",  "weekdays", "days_of_month",
                                       "months", "years",    "location"};
    for (size_t i = 0; i < n->n; i++) {
        const ytree_node_t *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
        if (k->kind != YTREE_NODE_SCALAR) {
            rc = alert_dec_type_error(d, k, "string");
            continue;
        }
        int which = -1;
        for (int j = 0; j < 6; j++)
            if (!strcmp(k->str, keys[j])) which = j;
        if (which < 0) {
            rc = alert_dec_terr(d, k, "field %s not found in type timeinterval.TimeInterval",
                                k->str);
            continue;
        }
        if (seen[which]) {
            rc = alert_dec_terr(d, k, "field %s already set in type timeinterval.TimeInterval",
                                k->str);
            continue;
        }
        seen[which] = true;
        int r = ALERT_DEC_OK;
        switch (which) {
        case 0: r = decode_times(d, v, out); break;
        case 1:
            r = decode_ranges(d, v, RK_WEEKDAY, "[]timeinterval.WeekdayRange", &out->weekdays,
                              &out->n_weekdays, &out->has_weekdays);
            break;
        case 2:
            r = decode_ranges(d, v, RK_DAY, "[]timeinterval.DayOfMonthRange", &out->days_of_month,
                              &out->n_days_of_month, &out->has_days_of_month);
            break;
        case 3:
            r = decode_ranges(d, v, RK_MONTH, "[]timeinterval.MonthRange", &out->months,
                              &out->n_months, &out->has_months);
            break;
        case 4:
            r = decode_ranges(d, v, RK_YEAR, "[]timeinterval.YearRange", &out->years, &out->n_years,
                              &out->has_years);
            break;
        case 5:
            if (ytree_is_null(v)) break;
            if (alert_dec_string(d, v, &out->location)) {
                r = ALERT_DEC_TERR;
                break;
            }
            r = tz_load(d, out->location, &out->tz);
            break;
        }
        if (r == ALERT_DEC_FATAL) return r;
        if (r) rc = r;
    }
    return rc;
}

/* -------------------------------------------------------- evaluation */

static int days_in_month(int year, int month /* 1..12 */) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) return 29;
    return days[month - 1];
}

static int clampi(int n, int lo, int hi) { return n <= lo ? lo : n >= hi ? hi : n; }

bool alert_time_spec_contains(const alert_time_spec_t *spec, int64_t t_ms) {
    int64_t secs = t_ms >= 0 ? t_ms / 1000 : -((-t_ms + 999) / 1000);
    int64_t local = secs + tz_offset(spec->tz, secs);
    time_t tt = (time_t)local;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) return false;
    int year = tm.tm_year + 1900, month = tm.tm_mon + 1, day = tm.tm_mday;
    int minute = tm.tm_hour * 60 + tm.tm_min, weekday = tm.tm_wday;
    if (spec->has_times) {
        bool in = false;
        for (size_t i = 0; i < spec->n_times && !in; i++)
            in = minute >= spec->times[i].begin && minute < spec->times[i].end;
        if (!in) return false;
    }
    if (spec->has_days_of_month) {
        /* Negative days count from the month's end (by the calendar, so a
         * daylight-saving change inside the month does not shift them). */
        int dim = days_in_month(year, month);
        bool in = false;
        for (size_t i = 0; i < spec->n_days_of_month && !in; i++) {
            const alert_range_t *r = &spec->days_of_month[i];
            int b = r->begin < 0 ? dim + r->begin + 1 : r->begin;
            int e = r->end < 0 ? dim + r->end + 1 : r->end;
            if (b > dim) continue;
            b = clampi(b, -dim, dim);
            e = clampi(e, -dim, dim);
            in = day >= b && day <= e;
        }
        if (!in) return false;
    }
    if (spec->has_months) {
        bool in = false;
        for (size_t i = 0; i < spec->n_months && !in; i++)
            in = month >= spec->months[i].begin && month <= spec->months[i].end;
        if (!in) return false;
    }
    if (spec->has_weekdays) {
        bool in = false;
        for (size_t i = 0; i < spec->n_weekdays && !in; i++)
            in = weekday >= spec->weekdays[i].begin && weekday <= spec->weekdays[i].end;
        if (!in) return false;
    }
    if (spec->has_years) {
        bool in = false;
        for (size_t i = 0; i < spec->n_years && !in; i++)
            in = year >= spec->years[i].begin && year <= spec->years[i].end;
        if (!in) return false;
    }
    return true;
}

bool alert_time_interval_contains(const alert_time_interval_t *ti, int64_t t_ms) {
    for (size_t i = 0; ti && i < ti->n_specs; i++)
        if (alert_time_spec_contains(&ti->specs[i], t_ms)) return true;
    return false;
}
