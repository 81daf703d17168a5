/* This file implements the Alertmanager API v2 silence endpoints
 * (/api/v2/silences, /api/v2/silence/<id>) as Alertmanager 0.25 answers
 * them: the go-swagger JSON shapes (field order, times as strfmt.DateTime
 * prints them, a newline after each JSON body), its 400/404/415/422/500
 * bodies, the body decoding errors of Go's encoding/json and the time
 * layouts strfmt accepts, and the list order of its SortSilences. */
#include "web_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alert/alert.h"

/* ------------------------------------------------------------- replies */

static void json_body_end(web_response_t *res, int status) {
    /* go-swagger writes payloads with json.Encoder: a newline follows. */
    vg_buf_putc(&res->body, '\n');
    res->status = status;
    res->content_type = "application/json";
}

static void reply_empty(web_response_t *res, int status) {
    vg_buf_reset(&res->body);
    res->status = status;
    res->content_type = NULL;
}

/* Answers as a Prometheus without an Alertmanager does: unknown path. */
static alert_silences_t *silences_or_404(web_request_t *req, web_response_t *res) {
    alert_silences_t *s = atomic_load(&req->app->silences);
    if (!s) web_reply_text(res, 404, "404 page not found\n");
    return s;
}

/* ---------------------------------------------------------------- time */

/* strfmt.DateTime.MarshalJSON: RFC 3339 with milliseconds, in the zone
 * the time was given in ("Z" for UTC, "+02:00"). */
static void put_time(vg_buf_t *b, int64_t ms, int32_t off_s) {
    char t[40];
    vg_time_format_rfc3339(ms + (int64_t)off_s * 1000, t);
    if (off_s == 0) {
        vg_buf_printf(b, "\"%s\"", t);
        return;
    }
    size_t n = strlen(t);
    if (n && t[n - 1] == 'Z') t[n - 1] = '\0';
    int32_t a = off_s < 0 ? -off_s : off_s;
    vg_buf_printf(b, "\"%s%c%02d:%02d\"", t, off_s < 0 ? '-' : '+', (int)(a / 3600),
                  (int)(a / 60 % 60));
}

static bool digit(const char *s, size_t n, size_t i) { return i < n && s[i] >= '0' && s[i] <= '9'; }

static int days_in(int month, int year) {
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) return 29;
    return d[month - 1];
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

typedef struct civil {
    int year, month, day, hour, min, sec;
    int64_t nsec;
} civil_t;

/* Wall time in the process's zone (Go's time.Local) to ms; *off gets the
 * zone's offset then. */
static int64_t local_ms(const civil_t *c, int32_t *off) {
    struct tm tm = {0};
    tm.tm_year = c->year - 1900;
    tm.tm_mon = c->month - 1;
    tm.tm_mday = c->day;
    tm.tm_hour = c->hour;
    tm.tm_min = c->min;
    tm.tm_sec = c->sec;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    struct tm lt;
    *off = localtime_r(&t, &lt) ? (int32_t)lt.tm_gmtoff : 0;
    return (int64_t)t * 1000 + c->nsec / 1000000;
}

static int64_t utc_ms(const civil_t *c, int offset_s, int32_t *off) {
    *off = offset_s;
    int64_t days = days_from_civil(c->year, c->month, c->day);
    int64_t s = days * 86400 + c->hour * 3600 + c->min * 60 + c->sec - offset_s;
    return s * 1000 + c->nsec / 1000000;
}

static int num(const char *s, size_t at, size_t n) {
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[at + i] - '0');
    return v;
}

/* The layouts strfmt.ParseDateTime tries before its last one: RFC 3339
 * with any fraction ("Z" or "+hh:mm"), "+hhmm" with exactly 3 or 6
 * fraction digits, "2006-01-02T15:04:05" and "2006-01-02T15:04" in local
 * time, "2006-01-02T15:04Z". True with *out set when one fits. */
static bool parse_iso(const char *s, size_t n, int64_t *out, int32_t *off) {
    civil_t c = {0};
    if (n < 16 || !digit(s, n, 0) || !digit(s, n, 1) || !digit(s, n, 2) || !digit(s, n, 3) ||
        s[4] != '-' || !digit(s, n, 5) || !digit(s, n, 6) || s[7] != '-' || !digit(s, n, 8) ||
        !digit(s, n, 9) || s[10] != 'T' || !digit(s, n, 11) || !digit(s, n, 12) || s[13] != ':' ||
        !digit(s, n, 14) || !digit(s, n, 15))
        return false;
    c.year = num(s, 0, 4);
    c.month = num(s, 5, 2);
    c.day = num(s, 8, 2);
    c.hour = num(s, 11, 2);
    c.min = num(s, 14, 2);
    if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > days_in(c.month, c.year) ||
        c.hour > 23 || c.min > 59)
        return false;
    size_t i = 16;
    if (i == n) return *out = local_ms(&c, off), true;
    if (s[i] == 'Z' && i + 1 == n) return *out = utc_ms(&c, 0, off), true;
    if (s[i] != ':' || !digit(s, n, i + 1) || !digit(s, n, i + 2)) return false;
    c.sec = num(s, i + 1, 2);
    if (c.sec > 59) return false;
    i += 3;
    size_t frac_digits = 0;
    if (i + 1 < n && (s[i] == '.' || s[i] == ',') && digit(s, n, i + 1)) {
        i++;
        int64_t scale = 100000000;
        while (digit(s, n, i)) {
            c.nsec += (s[i] - '0') * scale;
            scale /= 10;
            frac_digits++;
            i++;
        }
    }
    if (i == n) return *out = local_ms(&c, off), true;
    if (s[i] == 'Z' && i + 1 == n) return *out = utc_ms(&c, 0, off), true;
    if (s[i] != '+' && s[i] != '-') return false;
    int sign = s[i] == '-' ? -1 : 1;
    if (i + 6 == n && digit(s, n, i + 1) && digit(s, n, i + 2) && s[i + 3] == ':' &&
        digit(s, n, i + 4) && digit(s, n, i + 5))
        return *out = utc_ms(&c, sign * (num(s, i + 1, 2) * 3600 + num(s, i + 4, 2) * 60), off),
               true;
    if (i + 5 == n && (frac_digits == 3 || frac_digits == 6) && digit(s, n, i + 1) &&
        digit(s, n, i + 2) && digit(s, n, i + 3) && digit(s, n, i + 4))
        return *out = utc_ms(&c, sign * (num(s, i + 1, 2) * 3600 + num(s, i + 3, 2) * 60), off),
               true;
    return false;
}

/* time.Parse("2006-01-02 15:04:05", s) in local time, with Go's error
 * text when it fails: strfmt tries this layout last and reports its
 * error. Returns true with *out, or false with the message in msg. */
static bool parse_sortable(const char *s, size_t n, int64_t *out, int32_t *off, vg_buf_t *msg) {
    static const struct {
        const char *prefix, *std;
    } elems[] = {{"", "2006"}, {"-", "01"}, {"-", "02"}, {" ", "15"}, {":", "04"}, {":", "05"}};
    civil_t c = {0};
    size_t i = 0;
    vg_buf_t q = VG_BUF_INIT;
    labels_quote(&q, s, n);
    for (size_t e = 0; e < sizeof elems / sizeof elems[0]; e++) {
        size_t pl = strlen(elems[e].prefix);
        bool prefix_ok;
        if (pl == 1 && elems[e].prefix[0] == ' ') {
            /* time's skip(): a space in the layout takes any run of
             * spaces, none at all when the value has ended. */
            prefix_ok = i == n || s[i] == ' ';
            while (i < n && s[i] == ' ')
                i++;
            pl = 0;
        } else {
            prefix_ok = n - i >= pl && memcmp(s + i, elems[e].prefix, pl) == 0;
        }
        if (!prefix_ok) {
            vg_buf_printf(msg, "parsing time %s as \"2006-01-02 15:04:05\": cannot parse ", q.data);
            labels_quote(msg, s + i, n - i);
            vg_buf_printf(msg, " as \"%s\"", elems[e].prefix);
            vg_buf_free(&q);
            return false;
        }
        i += pl;
        size_t hold = i;
        bool bad = false;
        const char *range = NULL;
        int v = 0;
        if (e == 0) {
            if (n - i < 4 || !digit(s, n, i)) {
                bad = true;
            } else {
                for (size_t k = 0; k < 4; k++)
                    if (!digit(s, n, i + k)) bad = true;
                if (!bad) c.year = num(s, i, 4);
                i += 4;
            }
        } else {
            /* getnum: one or two digits, two required when zero-padded
             * ("01", "02", "04", "05"; "15" takes one). */
            bool fixed = e != 3;
            if (!digit(s, n, i)) {
                bad = true;
            } else if (!digit(s, n, i + 1)) {
                if (fixed)
                    bad = true;
                else
                    v = s[i] - '0', i += 1;
            } else {
                v = num(s, i, 2), i += 2;
            }
            if (!bad) switch (e) {
                case 1:
                    c.month = v;
                    if (v < 1 || v > 12) range = "month";
                    break;
                case 2: c.day = v; break;
                case 3:
                    c.hour = v;
                    if (v > 23) range = "hour";
                    break;
                case 4:
                    c.min = v;
                    if (v > 59) range = "minute";
                    break;
                case 5:
                    c.sec = v;
                    if (v > 59) {
                        range = "second";
                        break;
                    }
                    if (i + 1 < n && (s[i] == '.' || s[i] == ',') && digit(s, n, i + 1)) {
                        size_t k = i + 1;
                        int64_t scale = 100000000;
                        while (digit(s, n, k)) {
                            c.nsec += (s[k] - '0') * scale;
                            scale /= 10;
                            k++;
                        }
                        i = k;
                    }
                    break;
                }
        }
        if (range) {
            vg_buf_printf(msg, "parsing time %s: %s out of range", q.data, range);
            vg_buf_free(&q);
            return false;
        }
        if (bad) {
            vg_buf_printf(msg, "parsing time %s as \"2006-01-02 15:04:05\": cannot parse ", q.data);
            labels_quote(msg, s + hold, n - hold);
            vg_buf_printf(msg, " as \"%s\"", elems[e].std);
            vg_buf_free(&q);
            return false;
        }
    }
    if (i < n) {
        vg_buf_printf(msg, "parsing time %s: extra text: ", q.data);
        labels_quote(msg, s + i, n - i);
        vg_buf_free(&q);
        return false;
    }
    if (c.day < 1 || c.day > days_in(c.month, c.year)) {
        vg_buf_printf(msg, "parsing time %s: day out of range", q.data);
        vg_buf_free(&q);
        return false;
    }
    vg_buf_free(&q);
    *out = local_ms(&c, off);
    return true;
}

/* strfmt.ParseDateTime: "" is the Unix epoch. */
static bool parse_datetime(const char *s, size_t n, int64_t *out, int32_t *off, vg_buf_t *msg) {
    *off = 0;
    if (n == 0) return *out = 0, true;
    if (parse_iso(s, n, out, off)) return true;
    return parse_sortable(s, n, out, off, msg);
}

/* -------------------------------------------------------------- output */

static void put_silence(vg_buf_t *b, const alert_silence_t *s) {
    vg_buf_puts(b, "{\"id\":");
    web_json_cstr(b, s->id);
    vg_buf_puts(b, ",\"status\":{\"state\":");
    web_json_cstr(b, alert_silence_state_name(s->state));
    vg_buf_puts(b, "},\"updatedAt\":");
    put_time(b, s->updated_at_ms, 0);
    vg_buf_puts(b, ",\"comment\":");
    web_json_cstr(b, s->comment);
    vg_buf_puts(b, ",\"createdBy\":");
    web_json_cstr(b, s->created_by);
    vg_buf_puts(b, ",\"endsAt\":");
    put_time(b, s->ends_at_ms, s->ends_at_offset_s);
    vg_buf_puts(b, ",\"matchers\":[");
    for (size_t i = 0; i < s->n_matchers; i++) {
        const alert_matcher_t *m = &s->matchers[i];
        bool eq = m->type == ALERT_MATCH_EQUAL || m->type == ALERT_MATCH_REGEXP;
        bool re = m->type == ALERT_MATCH_REGEXP || m->type == ALERT_MATCH_NOT_REGEXP;
        if (i) vg_buf_putc(b, ',');
        vg_buf_printf(b, "{\"isEqual\":%s,\"isRegex\":%s,\"name\":", eq ? "true" : "false",
                      re ? "true" : "false");
        web_json_cstr(b, m->name);
        vg_buf_puts(b, ",\"value\":");
        web_json_cstr(b, m->value);
        vg_buf_putc(b, '}');
    }
    vg_buf_puts(b, "],\"startsAt\":");
    put_time(b, s->starts_at_ms, s->starts_at_offset_s);
    vg_buf_putc(b, '}');
}

/* SortSilences: active first (soonest end first), then pending (soonest
 * start first), then expired (latest end first). Times equal to the
 * millisecond are ordered by when they were set, as Alertmanager's
 * nanosecond times would order them; real ties (Go's sort.Slice leaves
 * them in no set order) by id, so answers are stable. */
static int silence_cmp(const void *pa, const void *pb) {
    const alert_silence_t *a = pa, *b = pb;
    if (a->state != b->state) return a->state < b->state ? -1 : 1;
    int64_t x = 0, y = 0;
    switch (a->state) {
    case ALERT_SILENCE_ACTIVE: x = a->ends_at_ms, y = b->ends_at_ms; break;
    case ALERT_SILENCE_PENDING: x = a->starts_at_ms, y = b->starts_at_ms; break;
    case ALERT_SILENCE_EXPIRED: x = b->ends_at_ms, y = a->ends_at_ms; break;
    }
    if (x != y) return x < y ? -1 : 1;
    if (a->state == ALERT_SILENCE_EXPIRED && a->change_seq != b->change_seq)
        return a->change_seq > b->change_seq ? -1 : 1;
    return strcmp(a->id, b->id);
}

/* CheckSilenceMatchesFilterLabels: every filter matcher appears in the
 * silence with the same name, type and value. */
static bool filter_match(const alert_silence_t *s, const alert_matcher_t *f, size_t n_f) {
    for (size_t i = 0; i < n_f; i++) {
        bool found = false;
        for (size_t j = 0; j < s->n_matchers && !found; j++) {
            const alert_matcher_t *m = &s->matchers[j];
            found = m->type == f[i].type && strcmp(m->name, f[i].name) == 0 &&
                    strcmp(m->value, f[i].value) == 0;
        }
        if (!found) return false;
    }
    return true;
}

/* -------------------------------------------------------- GET silences */

/* Alertmanager 0.25 parses each filter with labels.ParseMatcher, one
 * matcher in its classic form: optional spaces, a name [a-zA-Z_:][a-zA-Z0-9_:]*,
 * an operator. Anything else is "bad matcher format" there, even what the
 * newer parser behind alert_matcher_set_parse accepts ({a="b"}, "a.b"="c"). */
static bool classic_matcher_shape(const char *f) {
    while (*f == ' ' || *f == '\t' || *f == '\n' || *f == '\f' || *f == '\r')
        f++;
    if (!((*f >= 'a' && *f <= 'z') || (*f >= 'A' && *f <= 'Z') || *f == '_' || *f == ':'))
        return false;
    while ((*f >= 'a' && *f <= 'z') || (*f >= 'A' && *f <= 'Z') || (*f >= '0' && *f <= '9') ||
           *f == '_' || *f == ':')
        f++;
    while (*f == ' ' || *f == '\t' || *f == '\n' || *f == '\f' || *f == '\r')
        f++;
    return *f == '=' || (f[0] == '!' && (f[1] == '=' || f[1] == '~'));
}

static void get_silences(web_request_t *req, web_response_t *res, alert_silences_t *s) {
    const char **filters = NULL;
    size_t n_filters = web_param_all(req, "filter", &filters);
    alert_matcher_set_t **sets = vg_calloc(n_filters ? n_filters : 1, sizeof *sets);
    alert_matcher_t *fm = NULL;
    size_t n_fm = 0;
    bool ok = true;
    for (size_t i = 0; i < n_filters && ok; i++) {
        vg_err_t err = {0};
        if (!classic_matcher_shape(filters[i])) {
            vg_buf_t m = VG_BUF_INIT;
            vg_buf_printf(&m, "bad matcher format: %s", filters[i]);
            web_reply_json_string(res, 400, m.data);
            vg_buf_free(&m);
            ok = false;
            break;
        }
        sets[i] = alert_matcher_set_parse(filters[i], strlen(filters[i]), &err);
        if (!sets[i]) {
            web_reply_json_string(res, 400, err.msg);
            ok = false;
            break;
        }
        fm = vg_realloc(fm, (n_fm + sets[i]->n_matchers + 1) * sizeof *fm);
        memcpy(fm + n_fm, sets[i]->matchers, sets[i]->n_matchers * sizeof *fm);
        n_fm += sets[i]->n_matchers;
    }
    if (ok) {
        alert_silence_list_t l;
        alert_silences_list(s, vg_time_now_ms(), &l);
        size_t kept = 0;
        for (size_t i = 0; i < l.n_items; i++)
            if (filter_match(&l.items[i], fm, n_fm)) l.items[kept++] = l.items[i];
        qsort(l.items, kept, sizeof *l.items, silence_cmp);
        vg_buf_reset(&res->body);
        vg_buf_putc(&res->body, '[');
        for (size_t i = 0; i < kept; i++) {
            if (i) vg_buf_putc(&res->body, ',');
            put_silence(&res->body, &l.items[i]);
        }
        vg_buf_putc(&res->body, ']');
        json_body_end(res, 200);
        alert_silence_list_free(&l);
    }
    for (size_t i = 0; i < n_filters; i++)
        alert_matcher_set_free(sets[i]);
    free(sets);
    free(fm);
}

/* ------------------------------------------------ Go's JSON scanner */

/* Checks the first JSON value of the body the way encoding/json's Decoder
 * scans it, so that malformed bodies get Go's words ("invalid character 'o'
 * in literal null (expecting 'u')", "unexpected EOF"). What follows the
 * first value is not looked at, as the Decoder does not. */
typedef struct gscan {
    const char *s;
    size_t n, i;
    int depth;
    vg_buf_t *msg;
} gscan_t;

/* Go's quoteChar. */
static void go_char(vg_buf_t *b, unsigned char c) {
    if (c == '\'') {
        vg_buf_puts(b, "'\\''");
    } else if (c == '"') {
        vg_buf_puts(b, "'\"'");
    } else if (c >= 0x20 && c < 0x7f) {
        vg_buf_printf(b, "'%c'", c);
    } else if (c < 0x20 || c == 0x7f) {
        static const char esc[] = "\a\b\f\n\r\t\v";
        static const char *const names[] = {"\\a", "\\b", "\\f", "\\n", "\\r", "\\t", "\\v"};
        const char *e = c ? strchr(esc, c) : NULL;
        if (e)
            vg_buf_printf(b, "'%s'", names[e - esc]);
        else
            vg_buf_printf(b, "'\\x%02x'", c);
    } else if (c < 0xa0) {
        vg_buf_printf(b, "'\\u%04x'", c); /* C1 controls are not printable */
    } else {
        /* the byte read as a code point, written in UTF-8 */
        vg_buf_printf(b, "'%c%c'", 0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    }
}

static bool gs_fail(gscan_t *g, const char *context) {
    if (g->i >= g->n) {
        vg_buf_puts(g->msg, "unexpected EOF");
        return false;
    }
    vg_buf_puts(g->msg, "invalid character ");
    go_char(g->msg, (unsigned char)g->s[g->i]);
    vg_buf_printf(g->msg, " %s", context);
    return false;
}

static void gs_ws(gscan_t *g) {
    while (g->i < g->n &&
           (g->s[g->i] == ' ' || g->s[g->i] == '\t' || g->s[g->i] == '\n' || g->s[g->i] == '\r'))
        g->i++;
}

static bool gs_digit(gscan_t *g) { return g->i < g->n && g->s[g->i] >= '0' && g->s[g->i] <= '9'; }

static bool gs_value(gscan_t *g);

static bool gs_string(gscan_t *g) {
    g->i++; /* the opening quote */
    while (g->i < g->n) {
        unsigned char c = (unsigned char)g->s[g->i];
        if (c == '"') {
            g->i++;
            return true;
        }
        if (c < 0x20) return gs_fail(g, "in string literal");
        if (c == '\\') {
            g->i++;
            if (g->i >= g->n) break;
            char e = g->s[g->i];
            if (e == 'u') {
                for (int k = 0; k < 4; k++) {
                    g->i++;
                    if (g->i >= g->n) return gs_fail(g, "");
                    char h = g->s[g->i];
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
                          (h >= 'A' && h <= 'F')))
                        return gs_fail(g, "in \\u hexadecimal character escape");
                }
            } else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
                return gs_fail(g, "in string escape code");
            }
        }
        g->i++;
    }
    return gs_fail(g, "");
}

static bool gs_number(gscan_t *g) {
    if (g->s[g->i] == '-') {
        g->i++;
        if (!gs_digit(g)) return gs_fail(g, "in numeric literal");
    }
    if (g->s[g->i] == '0')
        g->i++;
    else
        while (gs_digit(g))
            g->i++;
    if (g->i < g->n && g->s[g->i] == '.') {
        g->i++;
        if (!gs_digit(g)) return gs_fail(g, "after decimal point in numeric literal");
        while (gs_digit(g))
            g->i++;
    }
    if (g->i < g->n && (g->s[g->i] == 'e' || g->s[g->i] == 'E')) {
        g->i++;
        if (g->i < g->n && (g->s[g->i] == '+' || g->s[g->i] == '-')) g->i++;
        if (!gs_digit(g)) return gs_fail(g, "in exponent of numeric literal");
        while (gs_digit(g))
            g->i++;
    }
    return true;
}

static bool gs_literal(gscan_t *g, const char *word) {
    for (size_t k = 0; word[k]; k++, g->i++) {
        if (g->i >= g->n) return gs_fail(g, "");
        if (g->s[g->i] != word[k]) {
            char ctx[64];
            snprintf(ctx, sizeof ctx, "in literal %s (expecting '%c')", word, word[k]);
            return gs_fail(g, ctx);
        }
    }
    return true;
}

static bool gs_value(gscan_t *g) {
    gs_ws(g);
    if (g->i >= g->n) return gs_fail(g, "");
    if (++g->depth > 10000) {
        vg_buf_puts(g->msg, "exceeded max depth");
        return false;
    }
    char c = g->s[g->i];
    bool ok;
    if (c == '{') {
        g->i++;
        gs_ws(g);
        ok = true;
        if (g->i < g->n && g->s[g->i] == '}') {
            g->i++;
        } else {
            for (;;) {
                gs_ws(g);
                if (g->i >= g->n || g->s[g->i] != '"') {
                    ok = gs_fail(g, "looking for beginning of object key string");
                    break;
                }
                if (!(ok = gs_string(g))) break;
                gs_ws(g);
                if (g->i >= g->n || g->s[g->i] != ':') {
                    ok = gs_fail(g, "after object key");
                    break;
                }
                g->i++;
                if (!(ok = gs_value(g))) break;
                gs_ws(g);
                if (g->i < g->n && g->s[g->i] == ',') {
                    g->i++;
                    continue;
                }
                if (g->i < g->n && g->s[g->i] == '}') {
                    g->i++;
                    break;
                }
                ok = gs_fail(g, "after object key:value pair");
                break;
            }
        }
    } else if (c == '[') {
        g->i++;
        gs_ws(g);
        ok = true;
        if (g->i < g->n && g->s[g->i] == ']') {
            g->i++;
        } else {
            for (;;) {
                if (!(ok = gs_value(g))) break;
                gs_ws(g);
                if (g->i < g->n && g->s[g->i] == ',') {
                    g->i++;
                    continue;
                }
                if (g->i < g->n && g->s[g->i] == ']') {
                    g->i++;
                    break;
                }
                ok = gs_fail(g, "after array element");
                break;
            }
        }
    } else if (c == '"') {
        ok = gs_string(g);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        ok = gs_number(g);
    } else if (c == 't') {
        ok = gs_literal(g, "true");
    } else if (c == 'f') {
        ok = gs_literal(g, "false");
    } else if (c == 'n') {
        ok = gs_literal(g, "null");
    } else {
        ok = gs_fail(g, "looking for beginning of value");
    }
    g->depth--;
    return ok;
}

/* ------------------------------------------------------- POST silences */

/* What the body decodes to, before go-swagger's validation. */
typedef struct postable {
    const char *id;
    const char *comment, *created_by; /* NULL: absent or null */
    bool has_starts, has_ends;
    int64_t starts_ms, ends_ms;
    int32_t starts_off, ends_off;
    bool has_matchers;
    alert_matcher_t *m;
    size_t n_m;
    /* per matcher: which required fields were present */
    unsigned char *m_flags;
    bool *m_null;
} postable_t;

enum { MF_NAME = 1, MF_VALUE = 2, MF_ISREGEX = 4 };

static const char *json_kind(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    case JSON_NULL: return "null";
    }
    return "value";
}

/* encoding/json's first UnmarshalTypeError is kept and decoding goes on;
 * an error from a field's own UnmarshalJSON (a bad time) stops at once. */
typedef struct decode {
    vg_buf_t type_err;
    vg_buf_t fatal;
    vg_arena_t *arena;
} decode_t;

static void type_error(decode_t *d, const json_t *v, const char *field, const char *go_type) {
    if (d->type_err.len) return;
    vg_buf_printf(&d->type_err, "json: cannot unmarshal %s into Go struct field %s of type %s",
                  json_kind(v), field, go_type);
}

static const char *dec_string(decode_t *d, json_t *v, const char *field) {
    if (json_is_null(v)) return NULL;
    if (!json_is_string(v)) {
        type_error(d, v, field, "string");
        return NULL;
    }
    return vg_arena_strndup(d->arena, json_string_value(v), json_string_length(v));
}

static bool dec_time(decode_t *d, json_t *v, const char *field, int64_t *out, int32_t *off) {
    if (json_is_null(v)) return false;
    if (!json_is_string(v)) {
        type_error(d, v, field, "string");
        return false;
    }
    return parse_datetime(json_string_value(v), json_string_length(v), out, off, &d->fatal);
}

static void dec_matcher(decode_t *d, json_t *o, postable_t *p, size_t i) {
    alert_matcher_t *m = &p->m[i];
    bool is_equal = true, is_regex = false;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (strcasecmp(key, "name") == 0) {
            const char *s = dec_string(d, v, "Matcher.matchers.name");
            if (s) m->name = s, p->m_flags[i] |= MF_NAME;
        } else if (strcasecmp(key, "value") == 0) {
            const char *s = dec_string(d, v, "Matcher.matchers.value");
            if (s) m->value = s, p->m_flags[i] |= MF_VALUE;
        } else if (strcasecmp(key, "isRegex") == 0 || strcasecmp(key, "isEqual") == 0) {
            bool regex_key = strcasecmp(key, "isRegex") == 0;
            if (json_is_null(v)) continue;
            if (!json_is_boolean(v)) {
                type_error(d, v,
                           regex_key ? "Matcher.matchers.isRegex" : "Matcher.matchers.isEqual",
                           "bool");
                continue;
            }
            if (regex_key)
                is_regex = json_is_true(v), p->m_flags[i] |= MF_ISREGEX;
            else
                is_equal = json_is_true(v);
        }
    }
    m->type = is_equal ? (is_regex ? ALERT_MATCH_REGEXP : ALERT_MATCH_EQUAL)
                       : (is_regex ? ALERT_MATCH_NOT_REGEXP : ALERT_MATCH_NOT_EQUAL);
}

/* Decodes the body as Alertmanager's PostableSilence.UnmarshalJSON (two
 * passes: the id, then the embedded Silence). Returns false with the
 * decoder's message in msg. */
static bool decode_postable(json_t *root, postable_t *p, vg_arena_t *arena, vg_buf_t *msg) {
    if (!json_is_object(root)) {
        vg_buf_printf(msg,
                      "json: cannot unmarshal %s into Go value of type struct { ID string "
                      "\"json:\\\"id,omitempty\\\"\" }",
                      json_kind(root));
        return false;
    }
    decode_t d = {VG_BUF_INIT, VG_BUF_INIT, arena};
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcasecmp(key, "id") == 0) p->id = dec_string(&d, v, ".id");
    }
    if (d.type_err.len) goto fail;
    json_object_foreach(root, key, v) {
        if (strcasecmp(key, "comment") == 0) {
            p->comment = dec_string(&d, v, "Silence.comment");
        } else if (strcasecmp(key, "createdBy") == 0) {
            p->created_by = dec_string(&d, v, "Silence.createdBy");
        } else if (strcasecmp(key, "startsAt") == 0) {
            if (dec_time(&d, v, "Silence.startsAt", &p->starts_ms, &p->starts_off))
                p->has_starts = true;
        } else if (strcasecmp(key, "endsAt") == 0) {
            if (dec_time(&d, v, "Silence.endsAt", &p->ends_ms, &p->ends_off)) p->has_ends = true;
        } else if (strcasecmp(key, "matchers") == 0) {
            if (json_is_null(v)) continue;
            if (!json_is_array(v)) {
                type_error(&d, v, "Silence.matchers", "models.Matchers");
                continue;
            }
            size_t n = json_array_size(v);
            p->has_matchers = true;
            p->n_m = n;
            p->m = vg_arena_alloc(arena, (n ? n : 1) * sizeof *p->m);
            p->m_flags = vg_arena_alloc(arena, n ? n : 1);
            p->m_null = vg_arena_alloc(arena, (n ? n : 1) * sizeof *p->m_null);
            if (!p->m || !p->m_flags || !p->m_null) {
                vg_buf_puts(&d.fatal, "out of memory");
                break;
            }
            for (size_t i = 0; i < n; i++) {
                json_t *item = json_array_get(v, i);
                memset(&p->m[i], 0, sizeof p->m[i]);
                p->m[i].name = p->m[i].value = "";
                p->m_flags[i] = 0;
                p->m_null[i] = json_is_null(item);
                if (p->m_null[i]) continue;
                if (!json_is_object(item)) {
                    type_error(&d, item, "Silence.matchers", "models.Matcher");
                    continue;
                }
                dec_matcher(&d, item, p, i);
            }
        }
        if (d.fatal.len) break;
    }
fail:
    if (d.fatal.len)
        vg_buf_append(msg, d.fatal.data, d.fatal.len);
    else if (d.type_err.len)
        vg_buf_append(msg, d.type_err.data, d.type_err.len);
    vg_buf_free(&d.fatal);
    vg_buf_free(&d.type_err);
    return msg->len == 0;
}

static bool is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') return false;
    return true;
}

static void post_silences(web_request_t *req, web_response_t *res, alert_silences_t *s) {
    if (!web_swagger_json_or_reply(req, res)) return;
    if (is_blank(req->body, req->body_len)) {
        web_reply_swagger_error(res, 422, 602, "silence in body is required");
        return;
    }
    postable_t p = {0};
    vg_buf_t msg = VG_BUF_INIT;
    json_t *root = NULL;
    gscan_t g = {req->body, req->body_len, 0, 0, &msg};
    if (gs_value(&g)) {
        /* json.Decoder reads one value and ignores what follows it. */
        json_error_t je;
        root = json_loadb(req->body, g.i, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!root)
            vg_buf_printf(&msg, "%s", je.text);
        else
            decode_postable(root, &p, req->arena, &msg);
    }
    if (msg.len) {
        vg_buf_t m = VG_BUF_INIT;
        vg_buf_printf(&m, "parsing silence body from \"\" failed, because %s", msg.data);
        web_reply_swagger_error(res, 400, 400, m.data);
        vg_buf_free(&m);
        goto out;
    }
    /* go-swagger's validation: comment, createdBy, endsAt, matchers,
     * startsAt; the first failure is the answer. */
    char vmsg[128];
    if (!p.comment) {
        web_reply_swagger_error(res, 422, 602, "comment in body is required");
        goto out;
    }
    if (!p.created_by) {
        web_reply_swagger_error(res, 422, 602, "createdBy in body is required");
        goto out;
    }
    if (!p.has_ends) {
        web_reply_swagger_error(res, 422, 602, "endsAt in body is required");
        goto out;
    }
    if (!p.has_matchers) {
        web_reply_swagger_error(res, 422, 602, "matchers in body is required");
        goto out;
    }
    if (p.n_m == 0) {
        web_reply_swagger_error(res, 422, 612, "matchers in body should have at least 1 items");
        goto out;
    }
    for (size_t i = 0; i < p.n_m; i++) {
        if (p.m_null[i]) continue;
        const char *missing = !(p.m_flags[i] & MF_ISREGEX) ? "isRegex"
                              : !(p.m_flags[i] & MF_NAME)  ? "name"
                              : !(p.m_flags[i] & MF_VALUE) ? "value"
                                                           : NULL;
        if (missing) {
            snprintf(vmsg, sizeof vmsg, "matchers.%zu.%s in body is required", i, missing);
            web_reply_swagger_error(res, 422, 602, vmsg);
            goto out;
        }
    }
    if (!p.has_starts) {
        web_reply_swagger_error(res, 422, 602, "startsAt in body is required");
        goto out;
    }
    for (size_t i = 0; i < p.n_m; i++) {
        /* Alertmanager dereferences the null item and the request dies;
         * an error is kinder. */
        if (p.m_null[i]) {
            web_reply_json_string(res, 500, "matcher must not be null");
            goto out;
        }
    }
    if (p.starts_ms >= p.ends_ms) {
        web_reply_json_string(res, 400,
                              "Failed to create silence: start time must be before end time");
        goto out;
    }
    int64_t now = vg_time_now_ms();
    if (p.ends_ms < now) {
        web_reply_json_string(res, 400, "Failed to create silence: end time can't be in the past");
        goto out;
    }
    alert_silence_t in = {0};
    if (p.id) {
        if (strlen(p.id) > ALERT_SILENCE_ID_LEN) {
            web_reply_json_string(res, 404, "silence not found");
            goto out;
        }
        memcpy(in.id, p.id, strlen(p.id) + 1);
    }
    in.matchers = p.m;
    in.n_matchers = p.n_m;
    in.starts_at_ms = p.starts_ms;
    in.ends_at_ms = p.ends_ms;
    in.starts_at_offset_s = p.starts_off;
    in.ends_at_offset_s = p.ends_off;
    in.created_by = p.created_by;
    in.comment = p.comment;
    vg_err_t err = {0};
    char id[ALERT_SILENCE_ID_LEN + 1];
    int rc = alert_silences_set(s, &in, now, id, &err);
    if (rc == VG_ERR_NOTFOUND) {
        web_reply_json_string(res, 404, err.msg);
    } else if (rc == VG_ERR_INPUT) {
        web_reply_json_string(res, 400, err.msg);
    } else if (rc != VG_OK) {
        vg_log_error("Failed to create silence", "err", err.msg, NULL);
        web_reply_json_string(res, 500, err.msg);
    } else {
        vg_buf_reset(&res->body);
        vg_buf_puts(&res->body, "{\"silenceID\":");
        web_json_cstr(&res->body, id);
        vg_buf_putc(&res->body, '}');
        json_body_end(res, 200);
    }
out:
    json_decref(root);
    vg_buf_free(&msg);
}

static void handle_silences(web_request_t *req, web_response_t *res) {
    alert_silences_t *s = silences_or_404(req, res);
    if (!s) return;
    if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) {
        get_silences(req, res, s);
    } else if (strcmp(req->method, "POST") == 0) {
        post_silences(req, res, s);
    } else {
        char m[128];
        snprintf(m, sizeof m, "method %s is not allowed, but [POST,GET] are", req->method);
        web_reply_swagger_error(res, 405, 405, m);
    }
}

/* ------------------------------------------------- /api/v2/silence/<id> */

/* strfmt's UUID format: 8-4-4-4-12 hex digits, dashes optional, any case. */
static bool uuid_format(const char *s) {
    static const int groups[] = {8, 4, 4, 4, 12};
    for (int g = 0; g < 5; g++) {
        if (g && *s == '-') s++;
        for (int i = 0; i < groups[g]; i++, s++) {
            char c = *s;
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
                return false;
        }
    }
    return *s == '\0';
}

static void handle_silence(web_request_t *req, web_response_t *res) {
    alert_silences_t *s = silences_or_404(req, res);
    if (!s) return;
    const char *id = req->path + strlen("/api/v2/silence/");
    size_t n = strlen(id);
    /* The router ignores one trailing slash; anything else with a slash,
     * or nothing, is another path. */
    if (n && id[n - 1] == '/') n--;
    char *idc = vg_arena_strndup(req->arena, id, n);
    if (!idc || n == 0 || memchr(idc, '/', n)) {
        vg_buf_t m = VG_BUF_INIT;
        vg_buf_printf(&m, "path %s was not found", req->path);
        web_reply_swagger_error(res, 404, 404, m.data);
        vg_buf_free(&m);
        return;
    }
    bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    if (!get && strcmp(req->method, "DELETE") != 0) {
        char m[128];
        snprintf(m, sizeof m, "method %s is not allowed, but [DELETE,GET] are", req->method);
        web_reply_swagger_error(res, 405, 405, m);
        return;
    }
    if (!uuid_format(idc)) {
        vg_buf_t m = VG_BUF_INIT;
        vg_buf_puts(&m, "silenceID in path must be of type uuid: ");
        labels_quote(&m, idc, n);
        web_reply_swagger_error(res, 422, 601, m.data);
        vg_buf_free(&m);
        return;
    }
    if (get) {
        alert_silence_t sil;
        if (alert_silences_get(s, idc, vg_time_now_ms(), &sil) != VG_OK) {
            reply_empty(res, 404);
            return;
        }
        vg_buf_reset(&res->body);
        put_silence(&res->body, &sil);
        json_body_end(res, 200);
        alert_silence_clear(&sil);
        return;
    }
    vg_err_t err = {0};
    int rc = alert_silences_expire(s, idc, vg_time_now_ms(), &err);
    if (rc != VG_OK) {
        /* Alertmanager 0.25 answers every failure here with a 500,
         * "silence not found" included. */
        web_reply_json_string(res, 500, err.msg);
        return;
    }
    reply_empty(res, 200);
}

const web_route_t web_silence_routes[] = {
    {"/api/v2/silences", false, WEB_GET | WEB_HEAD | WEB_POST | WEB_PUT | WEB_DELETE,
     "/api/v2/silences", handle_silences, NULL},
    {"/api/v2/silence/", true, WEB_GET | WEB_HEAD | WEB_POST | WEB_PUT | WEB_DELETE,
     "/api/v2/silence/:id", handle_silence, NULL},
    {NULL, false, 0, NULL, NULL, NULL},
};
