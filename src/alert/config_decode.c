/* This file implements the table-driven decoder for alertmanager.yml: it
 * walks the node tree against alert_type_t tables and stores values into C
 * structs with the behaviour of Go's yaml.v2 UnmarshalStrict, which
 * Alertmanager uses: unknown and repeated keys and wrong scalar types are
 * "type errors" that are collected ("line N: field x not found in type
 * config.plain") while decoding goes on; a struct whose subtree had one
 * skips its own checks; any other error ends the load at once. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert_int.h"

typedef struct list_slot {
    void *items;
    size_t n;
} list_slot_t;

/* A non-NULL pointer for empty sequences, so "present but empty" differs
 * from "absent" as a Go nil slice differs from an empty one. */
static const char *empty_list_marker[1] = {""};

int alert_dec_fatal(alert_dec_t *d, const char *fmt, ...) {
    if (d->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->err->msg, sizeof d->err->msg, fmt, ap);
        va_end(ap);
        d->err->code = VG_ERR_INPUT;
    }
    return ALERT_DEC_FATAL;
}

int alert_dec_terr(alert_dec_t *d, const ytree_node_t *at, const char *fmt, ...) {
    /* Bound the message list: thousands of errors help nobody. */
    if (d->n_terrs < 200) {
        vg_buf_printf(&d->terrs, "\n  line %u: ", at ? at->line : 0);
        va_list ap;
        va_start(ap, fmt);
        vg_buf_vprintf(&d->terrs, fmt, ap);
        va_end(ap);
    }
    d->n_terrs++;
    return ALERT_DEC_TERR;
}

int alert_dec_type_error(alert_dec_t *d, const ytree_node_t *n, const char *go_type) {
    if (n->kind != YTREE_NODE_SCALAR)
        return alert_dec_terr(d, n, "cannot unmarshal %s into %s", ytree_tag_name(n->tag), go_type);
    /* yaml.v2 shortens long values to 7 bytes and "...". */
    if (n->len > 10)
        return alert_dec_terr(d, n, "cannot unmarshal %s `%.7s...` into %s", ytree_tag_name(n->tag),
                              n->str, go_type);
    return alert_dec_terr(d, n, "cannot unmarshal %s `%s` into %s", ytree_tag_name(n->tag), n->str,
                          go_type);
}

void *alert_dec_zalloc(alert_dec_t *d, size_t n) {
    void *p = vg_arena_alloc(d->arena, n ? n : 1);
    memset(p, 0, n ? n : 1);
    return p;
}

char *alert_dec_strdup(alert_dec_t *d, const char *s, size_t n) {
    return vg_arena_strndup(d->arena, s, n);
}

const char *alert_dec_path(alert_dec_t *d, const char *p) {
    if (!*p || p[0] == '/' || !d->dir || !d->dir[0] || !strcmp(d->dir, ".")) return p;
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    size_t dl = strlen(d->dir), pl = strlen(p);
    char *out = vg_arena_alloc(d->arena, dl + pl + 2);
    memcpy(out, d->dir, dl);
    size_t o = dl;
    if (o == 0 || out[o - 1] != '/') out[o++] = '/';
    memcpy(out + o, p, pl + 1);
    return out;
}

void alert_dec_keep_regex(alert_dec_t *d, labels_regex_t *re) {
    if (d->n_regs == d->cap_regs) {
        d->cap_regs = d->cap_regs ? 2 * d->cap_regs : 16;
        d->regs = vg_realloc(d->regs, d->cap_regs * sizeof *d->regs);
    }
    d->regs[d->n_regs++] = re;
}

static bool visit(alert_dec_t *d) {
    if (d->visits_left == 0) return false;
    d->visits_left--;
    return true;
}

static int over_budget(alert_dec_t *d) {
    alert_dec_fatal(d, "configuration expands to more than %u nodes (through aliases?)",
                    ALERT_CONFIG_MAX_VISITS);
    if (d->err) d->err->code = VG_ERR_LIMIT;
    return ALERT_DEC_FATAL;
}

int alert_dec_string(alert_dec_t *d, const ytree_node_t *n, const char **out) {
    if (n->kind != YTREE_NODE_SCALAR) return alert_dec_type_error(d, n, "string");
    *out = n->tag == YTREE_TAG_NULL ? "" : n->str;
    return ALERT_DEC_OK;
}

static bool parse_bool(const char *s, bool *out) {
    static const char *const t[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                    "True", "TRUE", "on",  "On",  "ON"};
    static const char *const f[] = {"n",     "N",     "no",  "No",  "NO", "false",
                                    "False", "FALSE", "off", "Off", "OFF"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(s, t[i])) return *out = true;
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        if (!strcmp(s, f[i])) return !(*out = false);
    return false;
}

/* Go's strconv.ParseInt(s, 0, 64) on a resolved !!int. */
static bool parse_int(const char *s, bool *neg, uint64_t *mag) {
    *neg = false;
    if (*s == '+' || *s == '-') *neg = *s++ == '-';
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
        base = 8, s += 2;
    else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
        base = 2, s += 2;
    else if (s[0] == '0' && s[1])
        base = 8;
    uint64_t v = 0;
    bool any = false;
    for (; *s; s++) {
        if (*s == '_') continue;
        int c = (unsigned char)*s;
        int dv = isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : 99;
        if (dv >= base) return false;
        if (v > (UINT64_MAX - (uint64_t)dv) / (uint64_t)base) return false;
        v = v * (uint64_t)base + (uint64_t)dv;
        any = true;
    }
    *mag = v;
    return any;
}

/* Go's time.ParseDuration, in milliseconds (sub-millisecond parts are
 * dropped). Returns false with Go's message in why. */
static bool go_parse_duration(const char *orig, int64_t *out_ms, char *why, size_t why_len) {
    const char *s = orig;
    bool neg = false;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    if (!strcmp(s, "0")) return *out_ms = 0, true;
    if (!*s) goto invalid;
    double total_ns = 0;
    while (*s) {
        if (!(*s == '.' || isdigit((unsigned char)*s))) goto invalid;
        double v = 0;
        bool pre = false, post = false;
        for (; isdigit((unsigned char)*s); s++, pre = true)
            v = v * 10 + (*s - '0');
        if (*s == '.') {
            s++;
            double scale = 1;
            for (; isdigit((unsigned char)*s); s++, post = true)
                if (scale < 1e30) v += (*s - '0') / (scale *= 10);
        }
        if (!pre && !post) goto invalid;
        const char *u = s;
        while (*s && *s != '.' && !isdigit((unsigned char)*s))
            s++;
        size_t ul = (size_t)(s - u);
        static const struct {
            const char *name;
            double ns;
        } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                     {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
        if (ul == 0) {
            snprintf(why, why_len, "time: missing unit in duration \"%s\"", orig);
            return false;
        }
        size_t k;
        for (k = 0; k < sizeof units / sizeof *units; k++)
            if (strlen(units[k].name) == ul && !memcmp(units[k].name, u, ul)) break;
        if (k == sizeof units / sizeof *units) {
            snprintf(why, why_len, "time: unknown unit \"%.*s\" in duration \"%s\"", (int)ul, u,
                     orig);
            return false;
        }
        total_ns += v * units[k].ns;
        if (total_ns > 9.223372036854775807e18) goto invalid;
    }
    *out_ms = (int64_t)(total_ns / 1e6) * (neg ? -1 : 1);
    return true;
invalid:
    snprintf(why, why_len, "time: invalid duration \"%s\"", orig);
    return false;
}

/* Go's url.Parse is lenient; these are the failures it reports that
 * matter for configuration values. */
static bool url_parse_ok(const char *s, char *why, size_t why_len) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            snprintf(why, why_len, "parse \"%s\": net/url: invalid control character in URL", s);
            return false;
        }
    if (s[0] == ':') {
        snprintf(why, why_len, "parse \"%s\": missing protocol scheme", s);
        return false;
    }
    return true;
}

bool alert_url_check(const char *s, char *why, size_t why_len) {
    if (!url_parse_ok(s, why, why_len)) return false;
    /* Scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":". */
    size_t i = 0;
    char scheme[16] = "";
    if (isalpha((unsigned char)s[0])) {
        while (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')
            i++;
        if (s[i] == ':') {
            size_t n = i < sizeof scheme - 1 ? i : sizeof scheme - 1;
            for (size_t k = 0; k < n; k++)
                scheme[k] = (char)tolower((unsigned char)s[k]);
            scheme[n] = 0;
            i++;
        } else {
            i = 0;
        }
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        char shown[64];
        snprintf(shown, sizeof shown, "%.*s", (int)(i ? i - 1 : 0), s);
        for (char *p = shown; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        snprintf(why, why_len, "unsupported scheme \"%s\" for URL", shown);
        return false;
    }
    const char *rest = s + i;
    if (rest[0] != '/' || rest[1] != '/') {
        snprintf(why, why_len, "missing host for URL");
        return false;
    }
    rest += 2;
    size_t hl = strcspn(rest, "/?#");
    const char *at = memchr(rest, '@', hl);
    if (at) hl -= (size_t)(at + 1 - rest), rest = at + 1;
    if (hl == 0) {
        snprintf(why, why_len, "missing host for URL");
        return false;
    }
    return true;
}

/* net.SplitHostPort plus HostPort's empty-port check. */
static bool host_port_ok(const char *s, char *why, size_t why_len) {
    const char *colon = strrchr(s, ':');
    if (!colon) {
        snprintf(why, why_len, "address %s: missing port in address", s);
        return false;
    }
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end) {
            snprintf(why, why_len, "address %s: missing ']' in address", s);
            return false;
        }
        if (end[1] != ':') {
            snprintf(why, why_len, "address %s: missing port in address", s);
            return false;
        }
        colon = end + 1;
    } else if (strchr(s, ':') != colon) {
        snprintf(why, why_len, "address %s: too many colons in address", s);
        return false;
    }
    if (colon[1] == 0) {
        snprintf(why, why_len, "address \"%s\": port cannot be empty", s);
        return false;
    }
    return true;
}

static const alert_field_t *find_field(const alert_type_t *t, const char *key, size_t *base) {
    for (const alert_field_t *f = t->fields; f->name; f++) {
        if (f->kind == ALERT_F_INLINE) {
            size_t sub = 0;
            const alert_field_t *g = find_field(f->type, key, &sub);
            if (g) {
                *base += f->off + sub;
                return g;
            }
        } else if (!strcmp(f->name, key)) {
            return f;
        }
    }
    return NULL;
}

/* Go's zero value: no defaults, but strings are "" rather than NULL. */
static void zero_init(const alert_type_t *t, void *obj) {
    memset(obj, 0, t->size);
    for (const alert_field_t *f = t->fields; f->name; f++) {
        if (f->kind == ALERT_F_INLINE || f->kind == ALERT_F_STRUCT)
            zero_init(f->type, (char *)obj + f->off);
        else if (f->kind == ALERT_F_PMDUR)
            *(int64_t *)((char *)obj + f->off) = -1;
        else if (f->kind == ALERT_F_TRI)
            *(alert_tribool_t *)((char *)obj + f->off) = ALERT_UNSET;
        else if (f->kind == ALERT_F_STR || f->kind == ALERT_F_TURL || f->kind == ALERT_F_PATH ||
                 f->kind == ALERT_F_HOSTPORT)
            *(const char **)((char *)obj + f->off) = "";
    }
}

void alert_dec_init(const alert_type_t *t, void *obj) {
    zero_init(t, obj);
    if (t->init) t->init(obj);
}

static int key_cmp(const void *a, const void *b) {
    const ytree_node_t *x = *(const ytree_node_t *const *)a, *y = *(const ytree_node_t *const *)b;
    int c = strcmp(x->str, y->str);
    if (c) return c;
    return x->line != y->line ? (x->line < y->line ? -1 : 1)
                              : (x->col > y->col) - (x->col < y->col);
}

/* map[string]string: file order; repeated keys are type errors. */
static int decode_pairs(alert_dec_t *d, const ytree_node_t *n, list_slot_t *slot) {
    if (ytree_is_null(n)) return slot->items = NULL, slot->n = 0, ALERT_DEC_OK;
    if (n->kind != YTREE_NODE_MAP) return alert_dec_type_error(d, n, "map[string]string");
    config_pair_t *items = alert_dec_zalloc(d, n->n * sizeof *items);
    int rc = ALERT_DEC_OK;
    for (size_t i = 0; i < n->n; i++) {
        const ytree_node_t *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
        if (!visit(d)) return over_budget(d);
        int r1 = alert_dec_string(d, k, &items[i].name);
        int r2 = alert_dec_string(d, v, &items[i].value);
        if (r1 || r2) rc = ALERT_DEC_TERR;
    }
    if (n->n > 1) {
        const ytree_node_t **keys = vg_malloc(n->n * sizeof *keys);
        size_t nk = 0;
        for (size_t i = 0; i < n->n; i++)
            if (n->kids[2 * i]->kind == YTREE_NODE_SCALAR) keys[nk++] = n->kids[2 * i];
        qsort(keys, nk, sizeof *keys, key_cmp);
        for (size_t i = 1; i < nk; i++)
            if (!strcmp(keys[i - 1]->str, keys[i]->str))
                rc = alert_dec_terr(d, keys[i], "key \"%s\" already set in map", keys[i]->str);
        free(keys);
    }
    slot->items = items;
    slot->n = n->n;
    return rc;
}

static int decode_strlist(alert_dec_t *d, const ytree_node_t *n, list_slot_t *slot) {
    if (ytree_is_null(n)) return slot->items = NULL, slot->n = 0, ALERT_DEC_OK;
    if (n->kind != YTREE_NODE_SEQ) return alert_dec_type_error(d, n, "[]string");
    if (n->n == 0) return slot->items = (void *)empty_list_marker, slot->n = 0, ALERT_DEC_OK;
    const char **items = alert_dec_zalloc(d, n->n * sizeof *items);
    int rc = ALERT_DEC_OK;
    for (size_t i = 0; i < n->n; i++) {
        if (!visit(d)) return over_budget(d);
        if (alert_dec_string(d, n->kids[i], &items[i])) rc = ALERT_DEC_TERR;
        if (!items[i]) items[i] = "";
    }
    slot->items = (void *)items;
    slot->n = n->n;
    return rc;
}

static int decode_list(alert_dec_t *d, const alert_field_t *f, const ytree_node_t *n,
                       list_slot_t *slot) {
    if (ytree_is_null(n)) return slot->items = NULL, slot->n = 0, ALERT_DEC_OK;
    if (n->kind != YTREE_NODE_SEQ) return alert_dec_type_error(d, n, f->go ? f->go : "[]struct");
    char *items = alert_dec_zalloc(d, n->n * f->type->size);
    int rc = ALERT_DEC_OK;
    for (size_t i = 0; i < n->n; i++) {
        const ytree_node_t *it = n->kids[i];
        void *obj = items + i * f->type->size;
        if (ytree_is_null(it)) {
            /* A nil element: no defaults, as Go leaves a nil pointer. */
            if (f->null_item_msg) return alert_dec_fatal(d, "%s", f->null_item_msg);
            zero_init(f->type, obj);
            continue;
        }
        alert_dec_init(f->type, obj);
        int r = alert_dec_struct(d, f->type, it, obj);
        if (r == ALERT_DEC_FATAL) return r;
        if (r) rc = r;
    }
    slot->items = items;
    slot->n = n->n;
    return rc;
}

static int decode_url(alert_dec_t *d, const alert_field_t *f, const ytree_node_t *n, void *dst) {
    const char *s = "";
    if (ytree_is_null(n)) {
        *(const char **)dst = f->kind == ALERT_F_TURL ? "" : NULL;
        return ALERT_DEC_OK;
    }
    int rc = alert_dec_string(d, n, &s);
    if (rc) return rc;
    char why[VG_ERR_MSG_MAX / 2];
    switch (f->kind) {
    case ALERT_F_SURL:
        if (!strcmp(s, "<secret>")) break;
        /* fall through */
    case ALERT_F_URL:
        if (!alert_url_check(s, why, sizeof why)) return alert_dec_fatal(d, "%s", why);
        break;
    case ALERT_F_TURL:
        if (!*s || !strcmp(s, "<secret>")) break;
        if (strstr(s, "{{")) {
            /* Templated: Alertmanager only checks the template parses. */
            if (!strstr(s, "}}"))
                return alert_dec_fatal(d, "invalid template syntax: template: :1: unclosed action");
            break;
        }
        if (!alert_url_check(s, why, sizeof why)) return alert_dec_fatal(d, "invalid URL: %s", why);
        break;
    default:
        if (!url_parse_ok(s, why, sizeof why)) return alert_dec_fatal(d, "%s", why);
        break;
    }
    *(const char **)dst = s;
    return ALERT_DEC_OK;
}

static int decode_field(alert_dec_t *d, const alert_field_t *f, const ytree_node_t *n, void *dst) {
    bool null = ytree_is_null(n);
    char why[VG_ERR_MSG_MAX / 2];
    switch (f->kind) {
    case ALERT_F_STR: return alert_dec_string(d, n, (const char **)dst);
    case ALERT_F_PATH: {
        const char *s = "";
        int rc = alert_dec_string(d, n, &s);
        if (rc) return rc;
        *(const char **)dst = alert_dec_path(d, s);
        return ALERT_DEC_OK;
    }
    case ALERT_F_PSTR:
        if (null) return *(const char **)dst = NULL, ALERT_DEC_OK;
        return alert_dec_string(d, n, (const char **)dst);
    case ALERT_F_BOOL:
    case ALERT_F_TRI: {
        bool b = false;
        if (null) {
            if (f->kind == ALERT_F_BOOL)
                *(bool *)dst = false;
            else
                *(alert_tribool_t *)dst = ALERT_UNSET;
            return ALERT_DEC_OK;
        }
        if (n->kind != YTREE_NODE_SCALAR || n->tag != YTREE_TAG_BOOL || !parse_bool(n->str, &b))
            return alert_dec_type_error(d, n, "bool");
        if (f->kind == ALERT_F_BOOL)
            *(bool *)dst = b;
        else
            *(alert_tribool_t *)dst = b ? ALERT_TRUE : ALERT_FALSE;
        return ALERT_DEC_OK;
    }
    case ALERT_F_MDUR:
    case ALERT_F_PMDUR: {
        if (null) return *(int64_t *)dst = f->kind == ALERT_F_PMDUR ? -1 : 0, ALERT_DEC_OK;
        if (n->kind != YTREE_NODE_SCALAR) return alert_dec_type_error(d, n, "string");
        if (n->len == 0) return alert_dec_fatal(d, "empty duration string");
        int64_t ms;
        if (vg_duration_parse(n->str, n->len, &ms) != VG_OK)
            return alert_dec_fatal(d, "not a valid duration string: \"%s\"", n->str);
        *(int64_t *)dst = ms;
        return ALERT_DEC_OK;
    }
    case ALERT_F_GODUR: {
        if (null) return *(int64_t *)dst = 0, ALERT_DEC_OK;
        bool neg;
        uint64_t mag;
        if (n->kind == YTREE_NODE_SCALAR && n->tag == YTREE_TAG_INT &&
            parse_int(n->str, &neg, &mag) && mag <= INT64_MAX) {
            *(int64_t *)dst = (neg ? -1 : 1) * (int64_t)(mag / 1000000);
            return ALERT_DEC_OK;
        }
        int64_t ms;
        if (n->kind == YTREE_NODE_SCALAR && n->tag == YTREE_TAG_STR &&
            go_parse_duration(n->str, &ms, why, sizeof why))
            return *(int64_t *)dst = ms, ALERT_DEC_OK;
        return alert_dec_type_error(d, n, "time.Duration");
    }
    case ALERT_F_TEXTDUR: {
        if (null) return *(int64_t *)dst = 0, ALERT_DEC_OK;
        if (n->kind != YTREE_NODE_SCALAR)
            return alert_dec_type_error(d, n, f->go ? f->go : "config.duration");
        int64_t ms;
        if (!go_parse_duration(n->str, &ms, why, sizeof why)) return alert_dec_fatal(d, "%s", why);
        *(int64_t *)dst = ms;
        return ALERT_DEC_OK;
    }
    case ALERT_F_UINT:
    case ALERT_F_INT: {
        if (null) return *(int64_t *)dst = 0, ALERT_DEC_OK;
        const char *go = f->go ? f->go : f->kind == ALERT_F_UINT ? "uint64" : "int64";
        bool neg;
        uint64_t mag;
        if (n->kind != YTREE_NODE_SCALAR || n->tag != YTREE_TAG_INT ||
            !parse_int(n->str, &neg, &mag))
            return alert_dec_type_error(d, n, go);
        if (f->kind == ALERT_F_UINT) {
            if (neg && mag) return alert_dec_type_error(d, n, go);
            *(uint64_t *)dst = mag;
        } else {
            if (mag > (uint64_t)INT64_MAX + (neg ? 1 : 0)) return alert_dec_type_error(d, n, go);
            *(int64_t *)dst = neg ? (int64_t)(0 - mag) : (int64_t)mag;
        }
        return ALERT_DEC_OK;
    }
    case ALERT_F_URL:
    case ALERT_F_SURL:
    case ALERT_F_TURL:
    case ALERT_F_PURL: return decode_url(d, f, n, dst);
    case ALERT_F_HOSTPORT: {
        const char *s = "";
        int rc = alert_dec_string(d, n, &s);
        if (rc) return rc;
        if (*s && !host_port_ok(s, why, sizeof why)) return alert_dec_fatal(d, "%s", why);
        *(const char **)dst = s;
        return ALERT_DEC_OK;
    }
    case ALERT_F_PAIRS: return decode_pairs(d, n, dst);
    case ALERT_F_STRLIST: return decode_strlist(d, n, dst);
    case ALERT_F_STRUCT:
        if (null) {
            zero_init(f->type, dst); /* Go zeroes a struct set to null */
            return ALERT_DEC_OK;
        }
        return alert_dec_struct(d, f->type, n, dst);
    case ALERT_F_PSTRUCT: {
        if (null) return *(void **)dst = NULL, ALERT_DEC_OK;
        void *obj = alert_dec_zalloc(d, f->type->size);
        alert_dec_init(f->type, obj);
        *(void **)dst = obj;
        return alert_dec_struct(d, f->type, n, obj);
    }
    case ALERT_F_LIST: return decode_list(d, f, n, dst);
    case ALERT_F_ANY: return ALERT_DEC_OK;
    case ALERT_F_CUSTOM: return f->custom(d, n, dst);
    case ALERT_F_INLINE: break;
    }
    return alert_dec_fatal(d, "internal: bad field kind");
}

typedef struct seen_set {
    const alert_field_t *f[160];
    size_t n;
} seen_set_t;

static bool is_merge_key(const ytree_node_t *k) {
    return k->kind == YTREE_NODE_SCALAR && k->tag == YTREE_TAG_STR && !strcmp(k->str, "<<");
}

static int decode_key(alert_dec_t *d, const alert_type_t *t, const ytree_node_t *k,
                      const ytree_node_t *v, void *obj, seen_set_t *seen) {
    if (!visit(d)) return over_budget(d);
    if (k->kind != YTREE_NODE_SCALAR) return alert_dec_type_error(d, k, "string");
    size_t base = 0;
    const alert_field_t *f = find_field(t, k->str, &base);
    if (!f) return alert_dec_terr(d, k, "field %s not found in type %s", k->str, t->go_name);
    if (seen) {
        for (size_t j = 0; j < seen->n; j++)
            if (seen->f[j] == f)
                return alert_dec_terr(d, k, "field %s already set in type %s", k->str, t->go_name);
        if (seen->n < sizeof seen->f / sizeof *seen->f) seen->f[seen->n++] = f;
    }
    return decode_field(d, f, v, (char *)obj + base + f->off);
}

/* `<<: *anchor` or `<<: [*a, *b]`: the merged map's keys are decoded into
 * the same struct at the merge key's place (later keys win), as yaml.v2. */
static int decode_merge(alert_dec_t *d, const alert_type_t *t, const ytree_node_t *v, void *obj,
                        unsigned depth) {
    if (!visit(d)) return over_budget(d);
    if (depth > 16) return alert_dec_fatal(d, "map merge nested too deeply");
    if (v->kind == YTREE_NODE_SEQ) {
        int rc = ALERT_DEC_OK;
        for (size_t i = v->n; i-- > 0;) {
            if (v->kids[i]->kind != YTREE_NODE_MAP)
                return alert_dec_fatal(d,
                                       "map merge requires map or sequence of maps as the value");
            int r = decode_merge(d, t, v->kids[i], obj, depth + 1);
            if (r == ALERT_DEC_FATAL) return r;
            if (r) rc = r;
        }
        return rc;
    }
    if (v->kind != YTREE_NODE_MAP)
        return alert_dec_fatal(d, "map merge requires map or sequence of maps as the value");
    int rc = ALERT_DEC_OK;
    for (size_t i = 0; i < v->n; i++) {
        const ytree_node_t *k = v->kids[2 * i], *val = v->kids[2 * i + 1];
        int r = is_merge_key(k) ? decode_merge(d, t, val, obj, depth + 1)
                                : decode_key(d, t, k, val, obj, NULL);
        if (r == ALERT_DEC_FATAL) return r;
        if (r) rc = r;
    }
    return rc;
}

int alert_dec_struct(alert_dec_t *d, const alert_type_t *t, const ytree_node_t *n, void *obj) {
    if (!visit(d)) return over_budget(d);
    if (n->kind != YTREE_NODE_MAP) return alert_dec_type_error(d, n, t->go_name);
    seen_set_t seen = {.n = 0};
    int rc = ALERT_DEC_OK;
    for (size_t i = 0; i < n->n; i++) {
        const ytree_node_t *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
        int r =
            is_merge_key(k) ? decode_merge(d, t, v, obj, 0) : decode_key(d, t, k, v, obj, &seen);
        if (r == ALERT_DEC_FATAL) return r;
        if (r) rc = r;
    }
    if (rc != ALERT_DEC_OK) return rc; /* type errors below: no checks here */
    return t->validate ? t->validate(d, n, obj) : ALERT_DEC_OK;
}
