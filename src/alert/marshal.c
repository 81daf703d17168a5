/* This file implements alert_config_marshal: a loaded configuration printed
 * back the way Alertmanager 0.25 serves it in /api/v2/status (and `amtool
 * config show` prints it). Alertmanager marshals its parsed config.Config
 * with gopkg.in/yaml.v2, so the output follows the Go structs: keys in
 * struct-field order, `omitempty` fields left out when zero, every default
 * filled in, secrets as <secret>, map keys in yaml.v2's "natural" order,
 * and each string in the style yaml.v2 picks (plain unless it would read
 * back as another type, literal `|` when it holds a newline; the emitter
 * falls back to quotes when a style cannot hold the text).
 *
 * libyaml's emitter does the layout: yaml.v2's emitter is a port of it, so
 * indentation, quoting fallbacks and folding at 80 columns come out alike.
 * What yaml.v2 decides above the emitter (scalar styles, key order, the
 * `flow` struct tag and its quirk of leaking into the next collection) is
 * reproduced here.
 *
 * The integrations, route fields and defaults are those of Alertmanager
 * 0.25 with prometheus/common 0.39-0.41 (the HTTP client's key order);
 * keys that only later versions know are not printed. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "alert/alert_int.h"

/* ------------------------------------------------------------- emitter */

typedef struct em {
    yaml_emitter_t y;
    bool flow; /* yaml.v2's encoder.flow: the next mapping or sequence is a flow one */
    bool ok;
} em_t;

static int em_write(void *data, unsigned char *buf, size_t size) {
    vg_buf_append(data, buf, size);
    return 1;
}

static void em_emit(em_t *e, yaml_event_t *ev) {
    if (!e->ok) {
        yaml_event_delete(ev);
        return;
    }
    if (!yaml_emitter_emit(&e->y, ev)) e->ok = false;
}

static void em_scalar(em_t *e, const char *s, size_t n, yaml_scalar_style_t style) {
    yaml_event_t ev;
    if (!e->ok) return;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1, style)) {
        e->ok = false;
        return;
    }
    em_emit(e, &ev);
}

static void em_map_start(em_t *e) {
    yaml_event_t ev;
    yaml_mapping_style_t st = e->flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE;
    e->flow = false;
    if (!e->ok) return;
    yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, st);
    em_emit(e, &ev);
}

static void em_map_end(em_t *e) {
    yaml_event_t ev;
    if (!e->ok) return;
    yaml_mapping_end_event_initialize(&ev);
    em_emit(e, &ev);
}

static void em_seq_start(em_t *e) {
    yaml_event_t ev;
    yaml_sequence_style_t st = e->flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE;
    e->flow = false;
    if (!e->ok) return;
    yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, st);
    em_emit(e, &ev);
}

static void em_seq_end(em_t *e) {
    yaml_event_t ev;
    if (!e->ok) return;
    yaml_sequence_end_event_initialize(&ev);
    em_emit(e, &ev);
}

/* ------------------------------------------- yaml.v2's scalar resolution */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Digits of base (at least one) in s[i..n), value into *out; false on a bad
 * digit or past UINT64_MAX. */
static bool digits_base(const char *s, size_t i, size_t n, int base, uint64_t *out) {
    if (i >= n) return false;
    uint64_t v = 0;
    for (; i < n; i++) {
        int d;
        char c = s[i];
        if (is_digit(c))
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        if (d >= base) return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    return true;
}

/* strconv.ParseInt(s, base, 64) or, without a sign, ParseUint succeeds.
 * base 0: Go's prefixes 0x, 0o, 0b and a leading 0 for octal. */
static bool go_int_ok(const char *s, size_t n, int base) {
    size_t i = 0;
    char sign = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) sign = s[i++];
    if (base == 0) {
        base = 10;
        if (n - i >= 2 && s[i] == '0') {
            char c = (char)(s[i + 1] | 0x20);
            if (c == 'x')
                base = 16, i += 2;
            else if (c == 'o')
                base = 8, i += 2;
            else if (c == 'b')
                base = 2, i += 2;
            else
                base = 8, i += 1;
        }
    }
    uint64_t v;
    if (!digits_base(s, i, n, base, &v)) return false;
    if (!sign) return true; /* ParseUint takes all of uint64 */
    return sign == '-' ? v <= (uint64_t)INT64_MAX + 1 : v <= (uint64_t)INT64_MAX;
}

/* `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$` and ParseFloat
 * does not overflow. */
static bool yaml_style_float(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (i < n && s[i] == '.') {
        size_t d = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == d) return false;
    } else {
        size_t d = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == d) return false;
        if (i < n && s[i] == '.') {
            i++;
            while (i < n && is_digit(s[i]))
                i++;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t d = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == d) return false;
    }
    if (i != n) return false;
    char buf[64];
    if (n >= sizeof buf)
        return true; /* long digit strings are finite unless the exponent is huge */
    memcpy(buf, s, n);
    buf[n] = 0;
    return !isinf(strtod(buf, NULL));
}

/* Go's getnum(s, false): one or two digits. */
static bool getnum(const char *s, size_t n, size_t *i, int *out) {
    if (*i >= n || !is_digit(s[*i])) return false;
    int v = s[(*i)++] - '0';
    if (*i < n && is_digit(s[*i])) v = v * 10 + (s[(*i)++] - '0');
    *out = v;
    return true;
}

static int days_in(int month, int year) {
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) return 29;
    return d[month - 1];
}

/* yaml.v2's parseTimestamp: time.Parse with "2006-1-2T15:4:5.999999999Z07:00"
 * (or a lower-case t), "2006-1-2 15:4:5.999999999" or "2006-1-2". */
static bool go_timestamp(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && is_digit(s[i]))
        i++;
    if (i != 4 || i == n || s[i] != '-') return false;
    int year = atoi(s), month, day;
    i++;
    if (!getnum(s, n, &i, &month) || i >= n || s[i++] != '-' || !getnum(s, n, &i, &day))
        return false;
    if (month < 1 || month > 12 || day < 1 || day > days_in(month, year)) return false;
    if (i == n) return true;
    char sep = s[i++];
    if (sep != 'T' && sep != 't' && sep != ' ') return false;
    int h, m, sec;
    if (!getnum(s, n, &i, &h) || i >= n || s[i++] != ':' || !getnum(s, n, &i, &m) || i >= n ||
        s[i++] != ':' || !getnum(s, n, &i, &sec))
        return false;
    if (h > 23 || m > 59 || sec > 59) return false;
    if (i + 1 < n && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1])) {
        i++;
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (sep == ' ') return i == n;
    if (i < n && s[i] == 'Z') return i + 1 == n;
    if (n - i != 6 || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':') return false;
    return is_digit(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 4]) && is_digit(s[i + 5]);
}

/* Whether yaml.v2 reads the plain scalar s back as a string. */
static bool v2_resolves_to_str(const char *s, size_t n) {
    if (n == 0) return false;
    char c = s[0];
    char hint = 0;
    if (c == '+' || c == '-')
        hint = 'S';
    else if (is_digit(c))
        hint = 'D';
    else if (strchr("yYnNtTfFoO~", c))
        hint = 'M';
    else if (c == '.')
        hint = '.';
    if (!hint) return true;
    static const char *const words[] = {
        "y",    "Y",    "yes",   "Yes",   "YES",   "true",  "True",  "TRUE",  "on",    "On",
        "ON",   "n",    "N",     "no",    "No",    "NO",    "false", "False", "FALSE", "off",
        "Off",  "OFF",  "~",     "null",  "Null",  "NULL",  ".nan",  ".NaN",  ".NAN",  ".inf",
        ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", "<<"};
    for (size_t k = 0; k < sizeof words / sizeof *words; k++)
        if (strlen(words[k]) == n && !memcmp(words[k], s, n)) return false;
    if (hint == 'M') return true;
    if (hint == '.') {
        /* strconv.ParseFloat: a '.' start leaves only ".digits[e±digits]". */
        size_t i = 1;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == 1) return true;
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
            i++;
            if (i < n && (s[i] == '+' || s[i] == '-')) i++;
            size_t d = i;
            while (i < n && is_digit(s[i]))
                i++;
            if (i == d) return true;
        }
        return i != n || !yaml_style_float(s, n);
    }
    if (go_timestamp(s, n)) return false;
    char *plain = malloc(n + 1);
    size_t pn = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_') plain[pn++] = s[i];
    plain[pn] = 0;
    bool num = go_int_ok(plain, pn, 0) || yaml_style_float(plain, pn);
    if (!num && pn >= 2 && !memcmp(plain, "0b", 2)) num = go_int_ok(plain + 2, pn - 2, 2);
    if (!num && pn >= 3 && !memcmp(plain, "-0b", 3)) {
        plain[2] = '-';
        num = go_int_ok(plain + 2, pn - 2, 2) && plain[3] != '-' && plain[3] != '+';
    }
    free(plain);
    return !num;
}

/* `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$` (yaml.v2 quotes such
 * strings for YAML 1.1 readers). */
static bool base60_float(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= n || !is_digit(s[i])) return false;
    while (i < n && (is_digit(s[i]) || s[i] == '_'))
        i++;
    size_t groups = 0;
    while (i < n && s[i] == ':') {
        i++;
        if (i + 1 < n && s[i] >= '0' && s[i] <= '5' && is_digit(s[i + 1]))
            i += 2;
        else if (i < n && is_digit(s[i]))
            i++;
        else
            return false;
        groups++;
    }
    if (!groups) return false;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && (is_digit(s[i]) || s[i] == '_'))
            i++;
    }
    return i == n;
}

/* yaml.v2's encoder.stringv. */
static void em_str(em_t *e, const char *s) {
    if (!s) s = "";
    size_t n = strlen(s);
    yaml_scalar_style_t st;
    if (memchr(s, '\n', n))
        st = YAML_LITERAL_SCALAR_STYLE;
    else if (v2_resolves_to_str(s, n) && !base60_float(s, n))
        st = YAML_PLAIN_SCALAR_STYLE;
    else
        st = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    em_scalar(e, s, n, st);
}

/* A plain token: true, 7, null. */
static void em_lit(em_t *e, const char *s) { em_scalar(e, s, strlen(s), YAML_PLAIN_SCALAR_STYLE); }

/* ------------------------------------------------- yaml.v2's map order */

/* Next code point of a UTF-8 string (bytes as they are when malformed). */
static uint32_t next_rune(const unsigned char **p) {
    const unsigned char *s = *p;
    uint32_t c = s[0];
    int len = 1;
    if (c >= 0xf0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80)
        c = ((c & 7u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) | (s[3] & 0x3fu),
        len = 4;
    else if (c >= 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80)
        c = ((c & 0xfu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu), len = 3;
    else if (c >= 0xc0 && (s[1] & 0xc0) == 0x80)
        c = ((c & 0x1fu) << 6) | (s[1] & 0x3fu), len = 2;
    *p = s + len;
    return c;
}

/* unicode.IsLetter, approximated past ASCII (keys are label names and
 * header names). */
static bool rune_letter(uint32_t r) {
    return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r >= 0xaa;
}

static size_t to_runes(const char *s, uint32_t **out) {
    size_t n = strlen(s);
    uint32_t *r = vg_malloc((n + 1) * sizeof *r);
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end)
        r[k++] = next_rune(&p);
    *out = r;
    return k;
}

/* keyList.Less for two string keys: letters after other characters, runs
 * of digits compared as numbers. */
static bool v2_key_less(const char *a, const char *b) {
    uint32_t *ar, *br;
    size_t an_ = to_runes(a, &ar), bn_ = to_runes(b, &br);
    bool res = an_ < bn_;
    for (size_t i = 0; i < an_ && i < bn_; i++) {
        if (ar[i] == br[i]) continue;
        bool al = rune_letter(ar[i]), bl = rune_letter(br[i]);
        if (al && bl) {
            res = ar[i] < br[i];
            break;
        }
        if (al || bl) {
            res = bl;
            break;
        }
        int64_t an = 0, bn = 0;
        size_t ai, bi;
        if (ar[i] == '0' || br[i] == '0') {
            for (size_t j = i; j-- > 0 && ar[j] >= '0' && ar[j] <= '9';) {
                if (ar[j] != '0') {
                    an = bn = 1;
                    break;
                }
            }
        }
        for (ai = i; ai < an_ && ar[ai] >= '0' && ar[ai] <= '9'; ai++)
            an = an * 10 + (int64_t)(ar[ai] - '0');
        for (bi = i; bi < bn_ && br[bi] >= '0' && br[bi] <= '9'; bi++)
            bn = bn * 10 + (int64_t)(br[bi] - '0');
        if (an != bn)
            res = an < bn;
        else if (ai != bi)
            res = ai < bi;
        else
            res = ar[i] < br[i];
        break;
    }
    free(ar);
    free(br);
    return res;
}

static int pair_cmp(const void *x, const void *y) {
    const config_pair_t *a = *(const config_pair_t *const *)x,
                        *b = *(const config_pair_t *const *)y;
    if (v2_key_less(a->name, b->name)) return -1;
    if (v2_key_less(b->name, a->name)) return 1;
    return 0;
}

/* ------------------------------------------------------------ fields */

/* A struct field's key; `flow` is the field's ",flow" tag, which yaml.v2
 * keeps in force until the next mapping or sequence starts. */
static void em_field(em_t *e, const char *key, bool flow) {
    em_str(e, key);
    e->flow = flow;
}

static bool set(const char *s) { return s && *s; }

static void kv_str(em_t *e, const char *k, const char *v) {
    em_field(e, k, false);
    em_str(e, v);
}

static void kv_str_oe(em_t *e, const char *k, const char *v) {
    if (set(v)) kv_str(e, k, v);
}

static void kv_secret_oe(em_t *e, const char *k, const char *v) {
    if (set(v)) kv_str(e, k, "<secret>");
}

static void kv_bool(em_t *e, const char *k, bool v) {
    em_field(e, k, false);
    em_lit(e, v ? "true" : "false");
}

static void kv_u64(em_t *e, const char *k, uint64_t v) {
    char b[32];
    snprintf(b, sizeof b, "%" PRIu64, v);
    em_field(e, k, false);
    em_lit(e, b);
}

static void kv_i64_oe(em_t *e, const char *k, int64_t v) {
    char b[32];
    if (!v) return;
    snprintf(b, sizeof b, "%" PRId64, v);
    em_field(e, k, false);
    em_lit(e, b);
}

static void kv_list_oe(em_t *e, const char *k, const char *const *v, size_t n) {
    if (!n) return;
    em_field(e, k, false);
    em_seq_start(e);
    for (size_t i = 0; i < n; i++)
        em_str(e, v[i]);
    em_seq_end(e);
}

/* A Go map[string]string: keys in yaml.v2's order. */
static void em_pairs(em_t *e, const config_pair_t *p, size_t n) {
    const config_pair_t **s = vg_malloc((n ? n : 1) * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = &p[i];
    qsort(s, n, sizeof *s, pair_cmp);
    em_map_start(e);
    for (size_t i = 0; i < n; i++) {
        em_str(e, s[i]->name);
        em_str(e, s[i]->value);
    }
    em_map_end(e);
    free(s);
}

static void kv_pairs_oe(em_t *e, const char *k, const config_pair_t *p, size_t n) {
    if (!n) return;
    em_field(e, k, false);
    em_pairs(e, p, n);
}

/* model.Duration's String(). */
static void kv_mdur(em_t *e, const char *k, int64_t ms) {
    char b[32];
    vg_duration_format(ms, b);
    kv_str(e, k, b);
}

/* time.Duration's String() for whole milliseconds. */
static void go_duration(int64_t ms, char *out, size_t cap) {
    if (ms == 0) {
        snprintf(out, cap, "0s");
        return;
    }
    const char *sign = ms < 0 ? "-" : "";
    uint64_t u = ms < 0 ? (uint64_t)(-(ms + 1)) + 1 : (uint64_t)ms;
    if (u < 1000) {
        snprintf(out, cap, "%s%" PRIu64 "ms", sign, u);
        return;
    }
    uint64_t h = u / 3600000, m = u / 60000 % 60, s = u / 1000 % 60, f = u % 1000;
    char sec[32];
    if (f) {
        snprintf(sec, sizeof sec, "%" PRIu64 ".%03" PRIu64, s, f);
        size_t l = strlen(sec);
        while (sec[l - 1] == '0')
            sec[--l] = 0;
    } else {
        snprintf(sec, sizeof sec, "%" PRIu64, s);
    }
    if (h)
        snprintf(out, cap, "%s%" PRIu64 "h%" PRIu64 "m%ss", sign, h, m, sec);
    else if (m)
        snprintf(out, cap, "%s%" PRIu64 "m%ss", sign, m, sec);
    else
        snprintf(out, cap, "%s%ss", sign, sec);
}

static void kv_godur_oe(em_t *e, const char *k, int64_t ms) {
    char b[64];
    if (!ms) return;
    go_duration(ms, b, sizeof b);
    kv_str(e, k, b);
}

/* url.URL.String() of what was parsed: Go lower-cases the scheme. */
static void kv_url(em_t *e, const char *k, const char *u) {
    em_field(e, k, false);
    if (!u) {
        em_lit(e, "null");
        return;
    }
    const char *colon = strstr(u, "://");
    if (!colon) {
        em_str(e, u);
        return;
    }
    char *c = vg_strdup(u);
    for (char *p = c; p < c + (colon - u); p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    em_str(e, c);
    free(c);
}

static void kv_url_oe(em_t *e, const char *k, const char *u) {
    if (set(u)) kv_url(e, k, u);
}

/* prometheus/common's URL: Redacted(), a password shown as xxxxx. */
static void kv_common_url_oe(em_t *e, const char *k, const char *u) {
    if (!set(u)) return;
    const char *auth = strstr(u, "://");
    auth = auth ? auth + 3 : u;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@') at = p;
    const char *pw = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!pw) {
        kv_url(e, k, u);
        return;
    }
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_append(&b, u, (size_t)(pw - u) + 1);
    vg_buf_puts(&b, "xxxxx");
    vg_buf_puts(&b, at);
    kv_url(e, k, b.data);
    vg_buf_free(&b);
}

/* HostPort: net.SplitHostPort then host:port (IPv6 brackets dropped). */
static void kv_hostport_oe(em_t *e, const char *k, const char *hp) {
    if (!set(hp)) return;
    const char *colon = strrchr(hp, ':');
    if (!colon) {
        kv_str(e, k, hp);
        return;
    }
    vg_buf_t b = VG_BUF_INIT;
    if (hp[0] == '[' && colon > hp && colon[-1] == ']')
        vg_buf_append(&b, hp + 1, (size_t)(colon - hp) - 2);
    else
        vg_buf_append(&b, hp, (size_t)(colon - hp));
    vg_buf_puts(&b, colon);
    kv_str(e, k, b.data);
    vg_buf_free(&b);
}

/* ------------------------------------------------- prometheus/common */

static bool tls_zero(const config_tls_t *t) {
    return !t ||
           (!set(t->ca_file) && !set(t->cert_file) && !set(t->key_file) && !set(t->server_name) &&
            !t->insecure_skip_verify && !set(t->min_version) && !set(t->max_version));
}

/* TLSVersion has no value-receiver marshaller: yaml.v2 prints the number. */
static void kv_tls_version_oe(em_t *e, const char *k, const char *v) {
    static const char *const names[] = {"TLS10", "TLS11", "TLS12", "TLS13"};
    if (!set(v)) return;
    for (int i = 0; i < 4; i++)
        if (!strcmp(v, names[i])) {
            kv_u64(e, k, (uint64_t)(0x0301 + i));
            return;
        }
}

static void kv_tls_oe(em_t *e, const char *k, const config_tls_t *t) {
    if (tls_zero(t)) return;
    em_field(e, k, false);
    em_map_start(e);
    kv_str_oe(e, "ca_file", t->ca_file);
    kv_str_oe(e, "cert_file", t->cert_file);
    kv_str_oe(e, "key_file", t->key_file);
    kv_str_oe(e, "server_name", t->server_name);
    kv_bool(e, "insecure_skip_verify", t->insecure_skip_verify);
    kv_tls_version_oe(e, "min_version", t->min_version);
    kv_tls_version_oe(e, "max_version", t->max_version);
    em_map_end(e);
}

static void kv_http_oe(em_t *e, const char *k, const config_http_client_t *h) {
    if (!h) return;
    em_field(e, k, false);
    em_map_start(e);
    if (h->basic_auth) {
        em_field(e, "basic_auth", false);
        em_map_start(e);
        kv_str(e, "username", h->basic_auth->username);
        kv_secret_oe(e, "password", h->basic_auth->password);
        kv_str_oe(e, "password_file", h->basic_auth->password_file);
        em_map_end(e);
    }
    if (h->authorization) {
        em_field(e, "authorization", false);
        em_map_start(e);
        kv_str_oe(e, "type", h->authorization->type);
        kv_secret_oe(e, "credentials", h->authorization->credentials);
        kv_str_oe(e, "credentials_file", h->authorization->credentials_file);
        em_map_end(e);
    }
    if (h->oauth2) {
        const config_oauth2_t *o = h->oauth2;
        em_field(e, "oauth2", false);
        em_map_start(e);
        kv_str(e, "client_id", o->client_id);
        if (set(o->client_secret))
            kv_str(e, "client_secret", "<secret>");
        else
            em_field(e, "client_secret", false), em_lit(e, "null");
        kv_str(e, "client_secret_file", o->client_secret_file);
        kv_list_oe(e, "scopes", o->scopes, o->n_scopes);
        kv_str(e, "token_url", o->token_url);
        kv_pairs_oe(e, "endpoint_params", o->endpoint_params, o->n_endpoint_params);
        kv_common_url_oe(e, "proxy_url", o->proxy_url);
        kv_tls_oe(e, "tls_config", &o->tls_config);
        em_map_end(e);
    }
    kv_secret_oe(e, "bearer_token", h->bearer_token);
    kv_str_oe(e, "bearer_token_file", h->bearer_token_file);
    kv_common_url_oe(e, "proxy_url", h->proxy_url);
    kv_tls_oe(e, "tls_config", &h->tls_config);
    kv_bool(e, "follow_redirects", h->follow_redirects);
    kv_bool(e, "enable_http2", h->enable_http2);
    em_map_end(e);
}

/* ------------------------------------------------------------ global */

static void put_global(em_t *e, const alert_global_t *g) {
    em_field(e, "global", false);
    em_map_start(e);
    kv_mdur(e, "resolve_timeout", g->resolve_timeout_ms);
    kv_http_oe(e, "http_config", g->http_config);
    kv_str_oe(e, "smtp_from", g->smtp_from);
    kv_str_oe(e, "smtp_hello", g->smtp_hello);
    kv_hostport_oe(e, "smtp_smarthost", g->smtp_smarthost);
    kv_str_oe(e, "smtp_auth_username", g->smtp_auth_username);
    kv_secret_oe(e, "smtp_auth_password", g->smtp_auth_password);
    kv_str_oe(e, "smtp_auth_password_file", g->smtp_auth_password_file);
    kv_secret_oe(e, "smtp_auth_secret", g->smtp_auth_secret);
    kv_str_oe(e, "smtp_auth_identity", g->smtp_auth_identity);
    kv_bool(e, "smtp_require_tls", g->smtp_require_tls);
    if (g->slack_api_url) kv_str(e, "slack_api_url", "<secret>");
    kv_str_oe(e, "slack_api_url_file", g->slack_api_url_file);
    kv_url_oe(e, "pagerduty_url", g->pagerduty_url);
    kv_url_oe(e, "opsgenie_api_url", g->opsgenie_api_url);
    kv_secret_oe(e, "opsgenie_api_key", g->opsgenie_api_key);
    kv_str_oe(e, "opsgenie_api_key_file", g->opsgenie_api_key_file);
    kv_url_oe(e, "wechat_api_url", g->wechat_api_url);
    kv_secret_oe(e, "wechat_api_secret", g->wechat_api_secret);
    kv_str_oe(e, "wechat_api_corp_id", g->wechat_api_corp_id);
    kv_url_oe(e, "victorops_api_url", g->victorops_api_url);
    kv_secret_oe(e, "victorops_api_key", g->victorops_api_key);
    kv_str_oe(e, "victorops_api_key_file", g->victorops_api_key_file);
    kv_url_oe(e, "telegram_api_url", g->telegram_api_url);
    kv_url_oe(e, "webex_api_url", g->webex_api_url);
    em_map_end(e);
}

/* ------------------------------------------------------ route, inhibit */

/* 0.25's labels.Matcher.String(): name, operator, quoted value. */
static void em_matchers(em_t *e, const alert_matcher_t *ms, size_t n) {
    static const char *const ops[] = {"=", "!=", "=~", "!~"};
    em_seq_start(e);
    for (size_t i = 0; i < n; i++) {
        vg_buf_t b = VG_BUF_INIT;
        vg_buf_puts(&b, ms[i].name);
        vg_buf_puts(&b, ops[ms[i].type]);
        vg_buf_putc(&b, '"');
        for (const char *c = ms[i].value; *c; c++) {
            if (*c == '\\')
                vg_buf_puts(&b, "\\\\");
            else if (*c == '\n')
                vg_buf_puts(&b, "\\n");
            else if (*c == '"')
                vg_buf_puts(&b, "\\\"");
            else
                vg_buf_putc(&b, *c);
        }
        vg_buf_putc(&b, '"');
        em_str(e, b.data);
        vg_buf_free(&b);
    }
    em_seq_end(e);
}

static void kv_matchers_oe(em_t *e, const char *k, const alert_matcher_t *ms, size_t n) {
    if (!n) return;
    em_field(e, k, false);
    em_matchers(e, ms, n);
}

static int re_pair_cmp(const void *x, const void *y) {
    const alert_re_pair_t *a = *(const alert_re_pair_t *const *)x,
                          *b = *(const alert_re_pair_t *const *)y;
    if (v2_key_less(a->name, b->name)) return -1;
    if (v2_key_less(b->name, a->name)) return 1;
    return 0;
}

/* MatchRegexps: each Regexp prints its text, or null when that is empty. */
static void kv_match_re_oe(em_t *e, const char *k, const alert_re_pair_t *p, size_t n) {
    if (!n) return;
    const alert_re_pair_t **s = vg_malloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = &p[i];
    qsort(s, n, sizeof *s, re_pair_cmp);
    em_field(e, k, false);
    em_map_start(e);
    for (size_t i = 0; i < n; i++) {
        em_str(e, s[i]->name);
        if (set(s[i]->value))
            em_str(e, s[i]->value);
        else
            em_lit(e, "null");
    }
    em_map_end(e);
    free(s);
}

static void put_route(em_t *e, const alert_route_raw_t *r, unsigned depth) {
    em_map_start(e);
    kv_str_oe(e, "receiver", r->receiver);
    kv_list_oe(e, "group_by", r->group_by, r->n_group_by);
    kv_pairs_oe(e, "match", r->match, r->n_match);
    kv_match_re_oe(e, "match_re", r->match_re, r->n_match_re);
    kv_matchers_oe(e, "matchers", r->matchers, r->n_matchers);
    kv_list_oe(e, "mute_time_intervals", r->mute_time_intervals, r->n_mute_time_intervals);
    kv_list_oe(e, "active_time_intervals", r->active_time_intervals, r->n_active_time_intervals);
    kv_bool(e, "continue", r->cont);
    if (r->n_routes && depth < ALERT_CONFIG_MAX_DEPTH) {
        em_field(e, "routes", false);
        em_seq_start(e);
        for (size_t i = 0; i < r->n_routes; i++)
            put_route(e, &r->routes[i], depth + 1);
        em_seq_end(e);
    }
    if (r->group_wait >= 0) kv_mdur(e, "group_wait", r->group_wait);
    if (r->group_interval >= 0) kv_mdur(e, "group_interval", r->group_interval);
    if (r->repeat_interval >= 0) kv_mdur(e, "repeat_interval", r->repeat_interval);
    em_map_end(e);
}

static void put_inhibit(em_t *e, const alert_inhibit_raw_t *r) {
    em_map_start(e);
    kv_pairs_oe(e, "source_match", r->source_match, r->n_source_match);
    kv_match_re_oe(e, "source_match_re", r->source_match_re, r->n_source_match_re);
    kv_matchers_oe(e, "source_matchers", r->source_matchers, r->n_source_matchers);
    kv_pairs_oe(e, "target_match", r->target_match, r->n_target_match);
    kv_match_re_oe(e, "target_match_re", r->target_match_re, r->n_target_match_re);
    kv_matchers_oe(e, "target_matchers", r->target_matchers, r->n_target_matchers);
    kv_list_oe(e, "equal", r->equal, r->n_equal);
    em_map_end(e);
}

/* ------------------------------------------------------- integrations */

#define TMPL(x) "{{ template \"" x "\" . }}"

/* Where vigil's defaults (Alertmanager 0.34's) differ from 0.25's, the 0.25
 * text is printed. */
static const char *v025_default(const char *v) {
    static const char *const map[][2] = {
        {TMPL("slack.default.color"),
         "{{ if eq .Status \"firing\" }}danger{{ else }}good{{ end }}"},
        {"{{ .Alerts.Firing | toJson }}",
         "{{ template \"pagerduty.default.instances\" .Alerts.Firing }}"},
        {"{{ .Alerts.Resolved | toJson }}",
         "{{ template \"pagerduty.default.instances\" .Alerts.Resolved }}"},
    };
    for (size_t i = 0; v && i < sizeof map / sizeof *map; i++)
        if (!strcmp(v, map[i][0])) return map[i][1];
    return v;
}

static void base_fields(em_t *e, const alert_notifier_base_t *b) {
    kv_bool(e, "send_resolved", b->send_resolved);
    kv_http_oe(e, "http_config", b->http_config);
}

static void put_email(em_t *e, const alert_email_config_t *c) {
    em_map_start(e);
    kv_bool(e, "send_resolved", c->base.send_resolved);
    kv_str_oe(e, "to", c->to);
    kv_str_oe(e, "from", c->from);
    kv_str_oe(e, "hello", c->hello);
    kv_hostport_oe(e, "smarthost", c->smarthost);
    kv_str_oe(e, "auth_username", c->auth_username);
    kv_secret_oe(e, "auth_password", c->auth_password);
    kv_str_oe(e, "auth_password_file", c->auth_password_file);
    kv_secret_oe(e, "auth_secret", c->auth_secret);
    kv_str_oe(e, "auth_identity", c->auth_identity);
    /* The e-mail notifier adds Subject, To and From to the config's own
     * header map when it is built, so the served config shows them. */
    config_pair_t *hs = vg_malloc((c->n_headers + 3) * sizeof *hs);
    size_t n = c->n_headers;
    if (n) memcpy(hs, c->headers, n * sizeof *hs);
    const char *defs[][2] = {
        {"Subject", TMPL("email.default.subject")}, {"To", c->to}, {"From", c->from}};
    for (size_t k = 0; k < 3; k++) {
        bool have = false;
        for (size_t i = 0; i < c->n_headers; i++)
            have |= !strcmp(c->headers[i].name, defs[k][0]);
        if (!have) hs[n++] = (config_pair_t){defs[k][0], defs[k][1]};
    }
    kv_pairs_oe(e, "headers", hs, n);
    free(hs);
    kv_str_oe(e, "html", c->html);
    kv_str_oe(e, "text", c->text);
    kv_bool(e, "require_tls", c->require_tls);
    kv_tls_oe(e, "tls_config", c->tls_config);
    em_map_end(e);
}

static void put_pagerduty(em_t *e, const alert_pagerduty_config_t *c) {
    em_map_start(e);
    base_fields(e, &c->base);
    kv_secret_oe(e, "service_key", c->service_key);
    kv_str_oe(e, "service_key_file", c->service_key_file);
    kv_secret_oe(e, "routing_key", c->routing_key);
    kv_str_oe(e, "routing_key_file", c->routing_key_file);
    kv_url_oe(e, "url", c->url);
    kv_str_oe(e, "client", c->client);
    kv_str_oe(e, "client_url", c->client_url);
    kv_str_oe(e, "description", c->description);
    if (c->n_details) {
        config_pair_t *d = vg_malloc(c->n_details * sizeof *d);
        for (size_t i = 0; i < c->n_details; i++) {
            d[i] = c->details[i];
            if (!strcmp(d[i].name, "firing") || !strcmp(d[i].name, "resolved"))
                d[i].value = v025_default(d[i].value);
        }
        kv_pairs_oe(e, "details", d, c->n_details);
        free(d);
    }
    if (c->n_images) {
        em_field(e, "images", false);
        em_seq_start(e);
        for (size_t i = 0; i < c->n_images; i++) {
            em_map_start(e);
            kv_str_oe(e, "src", c->images[i].src);
            kv_str_oe(e, "alt", c->images[i].alt);
            kv_str_oe(e, "href", c->images[i].href);
            em_map_end(e);
        }
        em_seq_end(e);
    }
    if (c->n_links) {
        em_field(e, "links", false);
        em_seq_start(e);
        for (size_t i = 0; i < c->n_links; i++) {
            em_map_start(e);
            kv_str_oe(e, "href", c->links[i].href);
            kv_str_oe(e, "text", c->links[i].text);
            em_map_end(e);
        }
        em_seq_end(e);
    }
    kv_str_oe(e, "source", c->source);
    kv_str_oe(e, "severity", c->severity);
    kv_str_oe(e, "class", c->class_);
    kv_str_oe(e, "component", c->component);
    kv_str_oe(e, "group", c->group);
    em_map_end(e);
}

static void put_slack(em_t *e, const alert_slack_config_t *c) {
    em_map_start(e);
    base_fields(e, &c->base);
    if (c->api_url) kv_str(e, "api_url", "<secret>");
    kv_str_oe(e, "api_url_file", c->api_url_file);
    kv_str_oe(e, "channel", c->channel);
    kv_str_oe(e, "username", c->username);
    kv_str_oe(e, "color", v025_default(c->color));
    kv_str_oe(e, "title", c->title);
    kv_str_oe(e, "title_link", c->title_link);
    kv_str_oe(e, "pretext", c->pretext);
    kv_str_oe(e, "text", c->text);
    if (c->n_fields) {
        em_field(e, "fields", false);
        em_seq_start(e);
        for (size_t i = 0; i < c->n_fields; i++) {
            em_map_start(e);
            kv_str_oe(e, "title", c->fields[i].title);
            kv_str_oe(e, "value", c->fields[i].value);
            if (c->fields[i].short_ != ALERT_UNSET)
                kv_bool(e, "short", c->fields[i].short_ == ALERT_TRUE);
            em_map_end(e);
        }
        em_seq_end(e);
    }
    kv_bool(e, "short_fields", c->short_fields);
    kv_str_oe(e, "footer", c->footer);
    kv_str_oe(e, "fallback", c->fallback);
    kv_str_oe(e, "callback_id", c->callback_id);
    kv_str_oe(e, "icon_emoji", c->icon_emoji);
    kv_str_oe(e, "icon_url", c->icon_url);
    kv_str_oe(e, "image_url", c->image_url);
    kv_str_oe(e, "thumb_url", c->thumb_url);
    kv_bool(e, "link_names", c->link_names);
    kv_list_oe(e, "mrkdwn_in", c->mrkdwn_in, c->n_mrkdwn_in);
    if (c->n_actions) {
        em_field(e, "actions", false);
        em_seq_start(e);
        for (size_t i = 0; i < c->n_actions; i++) {
            const alert_slack_action_t *a = &c->actions[i];
            em_map_start(e);
            kv_str_oe(e, "type", a->type);
            kv_str_oe(e, "text", a->text);
            kv_str_oe(e, "url", a->url);
            kv_str_oe(e, "style", a->style);
            kv_str_oe(e, "name", a->name);
            kv_str_oe(e, "value", a->value);
            if (a->has_confirm) {
                em_field(e, "confirm", false);
                em_map_start(e);
                kv_str_oe(e, "text", a->confirm_text);
                kv_str_oe(e, "title", a->confirm_title);
                kv_str_oe(e, "ok_text", a->confirm_ok_text);
                kv_str_oe(e, "dismiss_text", a->confirm_dismiss_text);
                em_map_end(e);
            }
            em_map_end(e);
        }
        em_seq_end(e);
    }
    em_map_end(e);
}

static void put_webhook(em_t *e, const alert_webhook_config_t *c) {
    em_map_start(e);
    base_fields(e, &c->base);
    kv_url(e, "url", set(c->url) ? c->url : NULL);
    kv_u64(e, "max_alerts", c->max_alerts);
    em_map_end(e);
}

static void put_opsgenie(em_t *e, const alert_opsgenie_config_t *c) {
    em_map_start(e);
    base_fields(e, &c->base);
    kv_secret_oe(e, "api_key", c->api_key);
    kv_str_oe(e, "api_key_file", c->api_key_file);
    kv_url_oe(e, "api_url", c->api_url);
    kv_str_oe(e, "message", c->message);
    kv_str_oe(e, "description", c->description);
    kv_str_oe(e, "source", c->source);
    kv_pairs_oe(e, "details", c->details, c->n_details);
    kv_str_oe(e, "entity", c->entity);
    if (c->n_responders) {
        em_field(e, "responders", false);
        em_seq_start(e);
        for (size_t i = 0; i < c->n_responders; i++) {
            em_map_start(e);
            kv_str_oe(e, "id", c->responders[i].id);
            kv_str_oe(e, "name", c->responders[i].name);
            kv_str_oe(e, "username", c->responders[i].username);
            kv_str_oe(e, "type", c->responders[i].type);
            em_map_end(e);
        }
        em_seq_end(e);
    }
    kv_str_oe(e, "actions", c->actions);
    kv_str_oe(e, "tags", c->tags);
    kv_str_oe(e, "note", c->note);
    kv_str_oe(e, "priority", c->priority);
    if (c->update_alerts) kv_bool(e, "update_alerts", true);
    em_map_end(e);
}

static void put_wechat(em_t *e, const alert_wechat_config_t *c) {
    em_map_start(e);
    base_fields(e, &c->base);
    kv_secret_oe(e, "api_secret", c->api_secret);
    kv_str_oe(e, "corp_id", c->corp_id);
    kv_str_oe(e, "message", c->message);
    kv_url_oe(e, "api_url", c->api_url);
    kv_str_oe(e, "to_user", c->to_user);
    kv_str_oe(e, "to_party", c->to_party);
    kv_str_oe(e, "to_tag", c->to_tag);
    kv_str_oe(e, "agent_id", c->agent_id);
    kv_str_oe(e, "message_type", c->message_type);
    em_map_end(e);
}

static void put_pushover(em_t *e, const alert_pushover_config_t *c) {
    em_map_start(e);
    base_fields(e, &c->base);
    kv_secret_oe(e, "user_key", c->user_key);
    kv_secret_oe(e, "token", c->token);
    kv_str_oe(e, "title", c->title);
    kv_str_oe(e, "message", c->message);
    kv_str_oe(e, "url", c->url);
    kv_str_oe(e, "url_title", c->url_title);
    kv_str_oe(e, "sound", c->sound);
    kv_str_oe(e, "priority", c->priority);
    kv_godur_oe(e, "retry", c->retry_ms);
    kv_godur_oe(e, "expire", c->expire_ms);
    kv_bool(e, "html", c->html);
    em_map_end(e);
}

static void put_victorops(em_t *e, const alert_victorops_config_t *c) {
    em_map_start(e);
    base_fields(e, &c->base);
    kv_secret_oe(e, "api_key", c->api_key);
    kv_str_oe(e, "api_key_file", c->api_key_file);
    kv_url(e, "api_url", c->api_url);
    kv_str(e, "routing_key", c->routing_key);
    kv_str(e, "message_type", c->message_type);
    kv_str(e, "state_message", c->state_message);
    kv_str(e, "entity_display_name", c->entity_display_name);
    kv_str(e, "monitoring_tool", c->monitoring_tool);
    kv_pairs_oe(e, "custom_fields", c->custom_fields, c->n_custom_fields);
    em_map_end(e);
}

static void put_sns(em_t *e, const alert_sns_config_t *c) {
    em_map_start(e);
    base_fields(e, &c->base);
    kv_str_oe(e, "api_url", c->api_url);
    em_field(e, "sigv4", false);
    em_map_start(e);
    kv_str_oe(e, "region", c->sigv4.region);
    kv_str_oe(e, "access_key", c->sigv4.access_key);
    kv_secret_oe(e, "secret_key", c->sigv4.secret_key);
    kv_str_oe(e, "profile", c->sigv4.profile);
    kv_str_oe(e, "role_arn", c->sigv4.role_arn);
    em_map_end(e);
    kv_str_oe(e, "topic_arn", c->topic_arn);
    kv_str_oe(e, "phone_number", c->phone_number);
    kv_str_oe(e, "target_arn", c->target_arn);
    kv_str_oe(e, "subject", c->subject);
    kv_str_oe(e, "message", c->message);
    kv_pairs_oe(e, "attributes", c->attributes, c->n_attributes);
    em_map_end(e);
}

static void put_telegram(em_t *e, const alert_telegram_config_t *c) {
    em_map_start(e);
    base_fields(e, &c->base);
    kv_url(e, "api_url", c->api_url);
    kv_secret_oe(e, "bot_token", c->bot_token);
    kv_i64_oe(e, "chat_id", c->chat_id);
    kv_str_oe(e, "message", c->message);
    if (c->disable_notifications) kv_bool(e, "disable_notifications", true);
    kv_str_oe(e, "parse_mode", c->parse_mode);
    em_map_end(e);
}

static void put_webex(em_t *e, const alert_webex_config_t *c) {
    em_map_start(e);
    base_fields(e, &c->base);
    kv_url_oe(e, "api_url", c->api_url);
    kv_str_oe(e, "message", c->message);
    kv_str(e, "room_id", c->room_id);
    em_map_end(e);
}

static void put_discord(em_t *e, const alert_discord_config_t *c) {
    em_map_start(e);
    base_fields(e, &c->base);
    if (set(c->webhook_url)) kv_str(e, "webhook_url", "<secret>");
    kv_str_oe(e, "title", c->title);
    kv_str_oe(e, "message", c->message);
    em_map_end(e);
}

#define PUT_LIST(key, items, n, fn)                                                                \
    do {                                                                                           \
        if (n) {                                                                                   \
            em_field(e, key, false);                                                               \
            em_seq_start(e);                                                                       \
            for (size_t i_ = 0; i_ < (n); i_++)                                                    \
                fn(e, &(items)[i_]);                                                               \
            em_seq_end(e);                                                                         \
        }                                                                                          \
    } while (0)

/* The integrations 0.25 has, in its Receiver struct's order; msteams,
 * jira, rocketchat, mattermost and incident.io came later and are left
 * out. */
static void put_receiver(em_t *e, const alert_receiver_t *r) {
    em_map_start(e);
    kv_str(e, "name", r->name);
    PUT_LIST("discord_configs", r->discord_configs, r->n_discord_configs, put_discord);
    PUT_LIST("email_configs", r->email_configs, r->n_email_configs, put_email);
    PUT_LIST("pagerduty_configs", r->pagerduty_configs, r->n_pagerduty_configs, put_pagerduty);
    PUT_LIST("slack_configs", r->slack_configs, r->n_slack_configs, put_slack);
    PUT_LIST("webhook_configs", r->webhook_configs, r->n_webhook_configs, put_webhook);
    PUT_LIST("opsgenie_configs", r->opsgenie_configs, r->n_opsgenie_configs, put_opsgenie);
    PUT_LIST("wechat_configs", r->wechat_configs, r->n_wechat_configs, put_wechat);
    PUT_LIST("pushover_configs", r->pushover_configs, r->n_pushover_configs, put_pushover);
    PUT_LIST("victorops_configs", r->victorops_configs, r->n_victorops_configs, put_victorops);
    PUT_LIST("sns_configs", r->sns_configs, r->n_sns_configs, put_sns);
    PUT_LIST("telegram_configs", r->telegram_configs, r->n_telegram_configs, put_telegram);
    PUT_LIST("webex_configs", r->webex_configs, r->n_webex_configs, put_webex);
    em_map_end(e);
}

/* ------------------------------------------------------ time intervals */

static const char *const weekday_names[] = {"sunday",   "monday", "tuesday", "wednesday",
                                            "thursday", "friday", "saturday"};

static void range_text(const alert_range_t *r, bool weekday, char *out, size_t cap) {
    if (weekday) {
        int b = r->begin >= 0 && r->begin < 7 ? r->begin : 0;
        int en = r->end >= 0 && r->end < 7 ? r->end : 0;
        if (b == en)
            snprintf(out, cap, "%s", weekday_names[b]);
        else
            snprintf(out, cap, "%s:%s", weekday_names[b], weekday_names[en]);
    } else if (r->begin == r->end) {
        snprintf(out, cap, "%d", r->begin);
    } else {
        snprintf(out, cap, "%d:%d", r->begin, r->end);
    }
}

/* weekdays, days_of_month, months and years carry the ",flow" tag. */
static void kv_ranges_oe(em_t *e, const char *k, const alert_range_t *rs, size_t n, bool weekday) {
    if (!n) return;
    em_field(e, k, true);
    em_seq_start(e);
    for (size_t i = 0; i < n; i++) {
        char b[64];
        range_text(&rs[i], weekday, b, sizeof b);
        em_str(e, b);
    }
    em_seq_end(e);
}

static void put_spec(em_t *e, const alert_time_spec_t *s) {
    em_map_start(e);
    if (s->n_times) {
        em_field(e, "times", false);
        em_seq_start(e);
        for (size_t i = 0; i < s->n_times; i++) {
            char b[16];
            em_map_start(e);
            snprintf(b, sizeof b, "%02d:%02d", s->times[i].begin / 60, s->times[i].begin % 60);
            kv_str(e, "start_time", b);
            snprintf(b, sizeof b, "%02d:%02d", s->times[i].end / 60, s->times[i].end % 60);
            kv_str(e, "end_time", b);
            em_map_end(e);
        }
        em_seq_end(e);
    }
    kv_ranges_oe(e, "weekdays", s->weekdays, s->n_weekdays, true);
    kv_ranges_oe(e, "days_of_month", s->days_of_month, s->n_days_of_month, false);
    kv_ranges_oe(e, "months", s->months, s->n_months, false);
    kv_ranges_oe(e, "years", s->years, s->n_years, false);
    if (set(s->location)) {
        /* A scalar does not use up the flow flag: yaml.v2 makes the next
         * mapping or sequence a flow one (the next spec, or interval). */
        em_field(e, "location", true);
        em_str(e, s->location);
    }
    em_map_end(e);
}

static void put_intervals(em_t *e, const char *key, const alert_config_t *c, bool mute) {
    size_t n = 0;
    for (size_t i = 0; i < c->n_time_intervals; i++)
        n += c->time_intervals[i].from_mute_time_intervals == mute;
    if (!n) return;
    em_field(e, key, false);
    em_seq_start(e);
    for (size_t i = 0; i < c->n_time_intervals; i++) {
        const alert_time_interval_t *ti = &c->time_intervals[i];
        if (ti->from_mute_time_intervals != mute) continue;
        em_map_start(e);
        kv_str(e, "name", ti->name);
        em_field(e, "time_intervals", false);
        em_seq_start(e);
        for (size_t j = 0; j < ti->n_specs; j++)
            put_spec(e, &ti->specs[j]);
        em_seq_end(e);
        em_map_end(e);
    }
    em_seq_end(e);
}

/* ---------------------------------------------------------------- API */

void alert_config_marshal(const alert_config_t *c, vg_buf_t *out) {
    vg_buf_t b = VG_BUF_INIT;
    em_t e = {.ok = true};
    yaml_event_t ev;
    if (!yaml_emitter_initialize(&e.y)) {
        vg_buf_puts(out, c->original);
        return;
    }
    yaml_emitter_set_output(&e.y, em_write, &b);
    yaml_emitter_set_unicode(&e.y, 1);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    em_emit(&e, &ev);
    if (e.ok) {
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
        em_emit(&e, &ev);
    }
    em_map_start(&e);
    put_global(&e, &c->global);
    if (c->route && c->route->src) {
        em_field(&e, "route", false);
        put_route(&e, c->route->src, 0);
    }
    size_t n_inhibit = 0;
    for (size_t i = 0; i < c->n_inhibit_rules; i++)
        n_inhibit += c->inhibit_rules[i].src != NULL;
    if (n_inhibit) {
        em_field(&e, "inhibit_rules", false);
        em_seq_start(&e);
        for (size_t i = 0; i < c->n_inhibit_rules; i++)
            if (c->inhibit_rules[i].src) put_inhibit(&e, c->inhibit_rules[i].src);
        em_seq_end(&e);
    }
    if (c->n_receivers) {
        em_field(&e, "receivers", false);
        em_seq_start(&e);
        for (size_t i = 0; i < c->n_receivers; i++)
            put_receiver(&e, &c->receivers[i]);
        em_seq_end(&e);
    }
    em_field(&e, "templates", false);
    em_seq_start(&e);
    for (size_t i = 0; i < c->n_templates; i++)
        em_str(&e, c->templates[i]);
    em_seq_end(&e);
    put_intervals(&e, "mute_time_intervals", c, true);
    put_intervals(&e, "time_intervals", c, false);
    em_map_end(&e);
    if (e.ok) {
        yaml_document_end_event_initialize(&ev, 1);
        em_emit(&e, &ev);
    }
    if (e.ok) {
        yaml_stream_end_event_initialize(&ev);
        em_emit(&e, &ev);
    }
    if (e.ok) e.ok = yaml_emitter_flush(&e.y) != 0;
    yaml_emitter_delete(&e.y);
    if (e.ok) {
        vg_buf_append(out, b.data ? b.data : "", b.len);
    } else {
        /* Only text libyaml refuses (invalid UTF-8) gets here; the file
         * as written is the closest answer. */
        vg_log_warn("Configuration could not be marshalled; serving the file as written", NULL);
        vg_buf_puts(out, c->original);
    }
    vg_buf_free(&b);
}
