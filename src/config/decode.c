/* This file implements the table-driven decoder: it walks a node tree
 * against a cfg_type_t, storing values into C structs, with the strictness of
 * Go's yaml.v2 UnmarshalStrict that Prometheus uses (unknown keys, duplicate
 * keys and wrong scalar types are errors, worded as yaml.v2 words them). */
#include "config/decode.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A list in a public struct is a pointer immediately followed by its count. */
typedef struct list_slot {
    void *items;
    size_t n;
} list_slot_t;

int cfg_fail(cfg_ctx_t *ctx, const ytree_node_t *at, const char *fmt, ...) {
    char msg[VG_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at)
        return vg_err_set(ctx->err, VG_ERR_INPUT, "%s:%u:%u: %s", ctx->name, at->line, at->col,
                          msg);
    return vg_err_set(ctx->err, VG_ERR_INPUT, "%s: %s", ctx->name, msg);
}

int cfg_type_error(cfg_ctx_t *ctx, const ytree_node_t *n, const char *go_type) {
    if (n->kind != YTREE_NODE_SCALAR)
        return cfg_fail(ctx, n, "cannot unmarshal %s into %s", ytree_tag_name(n->tag), go_type);
    /* yaml.v2 shortens long values to their first 7 bytes and "...". */
    if (n->len > 10)
        return cfg_fail(ctx, n, "cannot unmarshal %s `%.7s...` into %s", ytree_tag_name(n->tag),
                        n->str, go_type);
    return cfg_fail(ctx, n, "cannot unmarshal %s `%s` into %s", ytree_tag_name(n->tag), n->str,
                    go_type);
}

void cfg_warn(cfg_ctx_t *ctx, const char *fmt, ...) {
    vg_buf_t b = VG_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    vg_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (ctx->n_warnings == ctx->cap_warnings) {
        ctx->cap_warnings = ctx->cap_warnings ? 2 * ctx->cap_warnings : 8;
        ctx->warnings = vg_realloc(ctx->warnings, ctx->cap_warnings * sizeof *ctx->warnings);
    }
    ctx->warnings[ctx->n_warnings++] = vg_buf_detach(&b);
}

char *cfg_strdup(cfg_ctx_t *ctx, const char *s) {
    return vg_arena_strndup(ctx->arena, s, strlen(s));
}

void *cfg_zalloc(cfg_ctx_t *ctx, size_t n) {
    void *p = vg_arena_alloc(ctx->arena, n ? n : 1);
    memset(p, 0, n ? n : 1);
    return p;
}

bool cfg_utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/* Prometheus 2.x (and 3.x with metric_name_validation_scheme: legacy) allows
 * [a-zA-Z_][a-zA-Z0-9_]*; 3.x's utf8 scheme allows any non-empty UTF-8. */
bool cfg_label_name_valid(const char *s, bool utf8) {
    size_t n = strlen(s);
    if (n == 0) return false;
    if (utf8) return cfg_utf8_valid(s, n);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

int cfg_scalar_string(cfg_ctx_t *ctx, const ytree_node_t *n, const char **out) {
    if (n->kind != YTREE_NODE_SCALAR) return cfg_type_error(ctx, n, "string");
    *out = n->tag == YTREE_TAG_NULL ? "" : n->str;
    return VG_OK;
}

static bool visit(cfg_ctx_t *ctx) {
    if (ctx->visits_left == 0) return false;
    ctx->visits_left--;
    return true;
}

static int over_budget(cfg_ctx_t *ctx, const ytree_node_t *n) {
    cfg_fail(ctx, n, "configuration expands to more than %u nodes (through aliases?)",
             VG_CONFIG_MAX_VISITS);
    ctx->err ? (void)(ctx->err->code = VG_ERR_LIMIT) : (void)0;
    return VG_ERR_LIMIT;
}

/* Parses a yaml.v2 integer literal (decimal, 0x, 0o, 0b, underscores). */
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
    else if (s[0] == '0' && s[1] != '\0')
        base = 8; /* YAML 1.1 octal "0755" */
    uint64_t v = 0;
    bool any = false;
    for (; *s; s++) {
        if (*s == '_') continue;
        int d = (*s >= '0' && *s <= '9')   ? *s - '0'
                : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
                : (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10
                                           : 99;
        if (d >= base) return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return false;
        v = v * (uint64_t)base + (uint64_t)d;
        any = true;
    }
    *mag = v;
    return any;
}

static bool parse_bool(const char *s, bool *out) {
    static const char *const t[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                    "True", "TRUE", "on",  "On",  "ON"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(s, t[i])) return *out = true;
    static const char *const f[] = {"n",     "N",     "no",  "No",  "NO", "false",
                                    "False", "FALSE", "off", "Off", "OFF"};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        if (!strcmp(s, f[i])) return !(*out = false);
    return false;
}

/* units.ParseBase2Bytes as used by Prometheus's body_size_limit: a sequence
 * of number+unit, units B, KiB..EiB or KB..EB, all powers of 1024. */
static int parse_base2_bytes(const char *s, uint64_t *out, char *why, size_t why_len) {
    static const struct {
        const char *name;
        double mult;
    } units[] = {{"B", 1},
                 {"KiB", 1024.0},
                 {"MiB", 1048576.0},
                 {"GiB", 1073741824.0},
                 {"TiB", 1099511627776.0},
                 {"PiB", 1125899906842624.0},
                 {"EiB", 1152921504606846976.0},
                 {"KB", 1024.0},
                 {"MB", 1048576.0},
                 {"GB", 1073741824.0},
                 {"TB", 1099511627776.0},
                 {"PB", 1125899906842624.0},
                 {"EB", 1152921504606846976.0}};
    const char *orig = s;
    bool neg = false;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    if (!strcmp(s, "0")) return *out = 0, VG_OK;
    if (!*s) goto invalid;
    double total = 0;
    while (*s) {
        if (!(*s == '.' || (*s >= '0' && *s <= '9'))) goto invalid;
        double g = 0;
        bool pre = false, post = false;
        for (; *s >= '0' && *s <= '9'; s++) {
            g = g * 10 + (*s - '0');
            pre = true;
            if (g > 1e30) goto overflow;
        }
        if (*s == '.') {
            s++;
            double scale = 1;
            for (; *s >= '0' && *s <= '9'; s++) {
                if (scale < 1e300) {
                    scale *= 10;
                    g += (*s - '0') / scale;
                }
                post = true;
            }
        }
        if (!pre && !post) goto invalid;
        const char *u = s;
        while (*s && *s != '.' && !(*s >= '0' && *s <= '9'))
            s++;
        size_t ulen = (size_t)(s - u);
        size_t k;
        for (k = 0; k < sizeof units / sizeof *units; k++)
            if (strlen(units[k].name) == ulen && !memcmp(units[k].name, u, ulen)) break;
        if (k == sizeof units / sizeof *units) {
            snprintf(why, why_len, "units: unknown unit %.*s in %s", (int)ulen, u, orig);
            return VG_ERR_INPUT;
        }
        total += g * units[k].mult;
        if (total > 9.2e18) goto overflow;
    }
    if (neg && total > 0) {
        /* Base2Bytes is signed in Go; a negative limit makes no sense here. */
        snprintf(why, why_len, "negative size %s", orig);
        return VG_ERR_INPUT;
    }
    *out = (uint64_t)total;
    return VG_OK;
invalid:
    snprintf(why, why_len, "units: invalid %s", orig);
    return VG_ERR_INPUT;
overflow:
    snprintf(why, why_len, "units: overflow parsing unit");
    return VG_ERR_INPUT;
}

static const char *join_path(cfg_ctx_t *ctx, const char *p) {
    if (!*p || p[0] == '/' || !ctx->dir[0] || !strcmp(ctx->dir, ".")) return p;
    size_t dl = strlen(ctx->dir), pl = strlen(p);
    while (pl >= 2 && p[0] == '.' && p[1] == '/')
        p += 2, pl -= 2;
    char *out = vg_arena_alloc(ctx->arena, dl + pl + 2);
    memcpy(out, ctx->dir, dl);
    size_t o = dl;
    if (o == 0 || out[o - 1] != '/') out[o++] = '/';
    memcpy(out + o, p, pl + 1);
    return out;
}

static const cfg_field_t *find_field(const cfg_type_t *t, const char *key, size_t *base) {
    for (const cfg_field_t *f = t->fields; f->name; f++) {
        if (f->kind == CFG_F_INLINE) {
            size_t sub = 0;
            const cfg_field_t *g = find_field(f->type, key, &sub);
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

void cfg_init_struct(const cfg_type_t *t, void *obj) {
    memset(obj, 0, t->size);
    for (const cfg_field_t *f = t->fields; f->name; f++)
        if (f->kind == CFG_F_STRUCT || f->kind == CFG_F_INLINE)
            cfg_init_struct(f->type, (char *)obj + f->off);
    if (t->init) t->init(obj);
}

static int key_cmp(const void *a, const void *b) {
    const ytree_node_t *x = *(const ytree_node_t *const *)a, *y = *(const ytree_node_t *const *)b;
    int c = strcmp(x->str, y->str);
    if (c) return c;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    return x->col < y->col ? -1 : x->col > y->col;
}

/* Decodes a map whose keys are names and values scalars, calling `put` for
 * each pair; rejects duplicate keys as yaml.v2 does for Go maps. */
static int decode_kv(cfg_ctx_t *ctx, const ytree_node_t *n, const char *go_type, size_t elem,
                     list_slot_t *slot,
                     int (*put)(cfg_ctx_t *, const ytree_node_t *k, const ytree_node_t *v,
                                void *dst)) {
    if (ytree_is_null(n)) {
        slot->items = NULL;
        slot->n = 0;
        return VG_OK;
    }
    if (n->kind != YTREE_NODE_MAP) return cfg_type_error(ctx, n, go_type);
    char *items = cfg_zalloc(ctx, n->n * elem);
    for (size_t i = 0; i < n->n; i++) {
        const ytree_node_t *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
        if (!visit(ctx) || !visit(ctx)) return over_budget(ctx, k);
        if (k->kind != YTREE_NODE_SCALAR) return cfg_type_error(ctx, k, "string");
        int rc = put(ctx, k, v, items + i * elem);
        if (rc) return rc;
    }
    /* Duplicate keys: sort the keys (ties by position) and compare
     * neighbours, so that a huge map costs n log n, not n squared. */
    if (n->n > 1) {
        const ytree_node_t **keys = vg_malloc(n->n * sizeof *keys);
        for (size_t i = 0; i < n->n; i++)
            keys[i] = n->kids[2 * i];
        qsort(keys, n->n, sizeof *keys, key_cmp);
        const ytree_node_t *dup = NULL;
        for (size_t i = 1; i < n->n; i++) {
            if (!strcmp(keys[i - 1]->str, keys[i]->str) &&
                (!dup || keys[i]->line < dup->line ||
                 (keys[i]->line == dup->line && keys[i]->col < dup->col)))
                dup = keys[i];
        }
        free(keys);
        if (dup) return cfg_fail(ctx, dup, "key \"%s\" already set in map", dup->str);
    }
    slot->items = items;
    slot->n = n->n;
    return VG_OK;
}

static int put_pair(cfg_ctx_t *ctx, const ytree_node_t *k, const ytree_node_t *v, void *dst) {
    config_pair_t *p = dst;
    p->name = k->tag == YTREE_TAG_NULL ? "" : k->str;
    return cfg_scalar_string(ctx, v, &p->value);
}

static int put_switch(cfg_ctx_t *ctx, const ytree_node_t *k, const ytree_node_t *v, void *dst) {
    config_switch_t *p = dst;
    p->name = k->str;
    if (v->kind != YTREE_NODE_SCALAR || v->tag == YTREE_TAG_STR ||
        !(v->tag == YTREE_TAG_NULL || parse_bool(v->str, &p->on)))
        return cfg_type_error(ctx, v, "bool");
    if (v->tag == YTREE_TAG_NULL) p->on = false;
    return VG_OK;
}

static int put_param(cfg_ctx_t *ctx, const ytree_node_t *k, const ytree_node_t *v, void *dst) {
    config_param_t *p = dst;
    p->name = k->str;
    if (ytree_is_null(v)) return VG_OK;
    if (v->kind != YTREE_NODE_SEQ) return cfg_type_error(ctx, v, "[]string");
    p->values = cfg_zalloc(ctx, v->n * sizeof *p->values);
    for (size_t i = 0; i < v->n; i++) {
        int rc = cfg_scalar_string(ctx, v->kids[i], &p->values[i]);
        if (rc) return rc;
    }
    p->n_values = v->n;
    return VG_OK;
}

static int put_label(cfg_ctx_t *ctx, const ytree_node_t *k, const ytree_node_t *v, void *dst) {
    config_label_t *l = dst;
    l->name = k->tag == YTREE_TAG_NULL ? "" : k->str;
    if (!cfg_label_name_valid(l->name, ctx->utf8_names))
        return cfg_fail(ctx, k, "\"%s\" is not a valid label name", l->name);
    int rc = cfg_scalar_string(ctx, v, &l->value);
    if (rc) return rc;
    if (!cfg_utf8_valid(l->value, strlen(l->value)))
        return cfg_fail(ctx, v, "\"%s\" is not a valid label value", l->value);
    return VG_OK;
}

static int label_cmp(const void *a, const void *b) {
    return strcmp(((const config_label_t *)a)->name, ((const config_label_t *)b)->name);
}

static int decode_list(cfg_ctx_t *ctx, const cfg_field_t *f, const ytree_node_t *n,
                       list_slot_t *slot) {
    if (ytree_is_null(n)) {
        slot->items = NULL;
        slot->n = 0;
        return VG_OK;
    }
    if (n->kind != YTREE_NODE_SEQ) {
        char go[96];
        snprintf(go, sizeof go, "[]*%s", f->type->go_name);
        return cfg_type_error(ctx, n, go);
    }
    char *items = cfg_zalloc(ctx, n->n * f->type->size);
    for (size_t i = 0; i < n->n; i++) {
        const ytree_node_t *it = n->kids[i];
        void *obj = items + i * f->type->size;
        cfg_init_struct(f->type, obj);
        if (ytree_is_null(it))
            return cfg_fail(ctx, it, "%s",
                            f->null_item_msg ? f->null_item_msg : "empty or null section");
        int rc = cfg_decode_struct(ctx, f->type, it, obj);
        if (rc) return rc;
    }
    slot->items = items;
    slot->n = n->n;
    return VG_OK;
}

static int decode_strlist(cfg_ctx_t *ctx, const ytree_node_t *n, list_slot_t *slot, bool paths) {
    if (ytree_is_null(n)) {
        slot->items = NULL;
        slot->n = 0;
        return VG_OK;
    }
    if (n->kind != YTREE_NODE_SEQ) return cfg_type_error(ctx, n, "[]string");
    const char **items = cfg_zalloc(ctx, n->n * sizeof *items);
    for (size_t i = 0; i < n->n; i++) {
        if (!visit(ctx)) return over_budget(ctx, n->kids[i]);
        int rc = cfg_scalar_string(ctx, n->kids[i], &items[i]);
        if (rc) return rc;
        if (paths) items[i] = join_path(ctx, items[i]);
    }
    slot->items = (void *)items;
    slot->n = n->n;
    return VG_OK;
}

static int decode_field(cfg_ctx_t *ctx, const cfg_field_t *f, const ytree_node_t *n, void *dst) {
    bool null = ytree_is_null(n);
    switch (f->kind) {
    case CFG_F_STR:
    case CFG_F_PATH: {
        const char *s = "";
        int rc = cfg_scalar_string(ctx, n, &s);
        if (rc) return rc;
        *(const char **)dst = f->kind == CFG_F_PATH ? join_path(ctx, s) : s;
        return VG_OK;
    }
    case CFG_F_BOOL: {
        bool b = false;
        if (null) return *(bool *)dst = false, VG_OK;
        if (n->kind != YTREE_NODE_SCALAR || n->tag != YTREE_TAG_BOOL || !parse_bool(n->str, &b))
            return cfg_type_error(ctx, n, "bool");
        *(bool *)dst = b;
        return VG_OK;
    }
    case CFG_F_DUR: {
        if (null) return *(int64_t *)dst = 0, VG_OK;
        if (n->kind != YTREE_NODE_SCALAR) return cfg_type_error(ctx, n, "string");
        int64_t ms;
        if (vg_duration_parse(n->str, n->len, &ms) != VG_OK)
            return cfg_fail(ctx, n, "not a valid duration string: \"%s\"", n->str);
        *(int64_t *)dst = ms;
        return VG_OK;
    }
    case CFG_F_UINT:
    case CFG_F_INT: {
        if (null) return *(uint64_t *)dst = 0, VG_OK;
        bool neg;
        uint64_t mag;
        const char *go = f->kind == CFG_F_UINT ? "uint" : "int";
        if (n->kind != YTREE_NODE_SCALAR || n->tag != YTREE_TAG_INT ||
            !parse_int(n->str, &neg, &mag))
            return cfg_type_error(ctx, n, go);
        if (f->kind == CFG_F_UINT) {
            if (neg && mag) return cfg_type_error(ctx, n, go);
            *(uint64_t *)dst = mag;
        } else {
            if (mag > (uint64_t)INT64_MAX + (neg ? 1 : 0)) return cfg_type_error(ctx, n, go);
            *(int64_t *)dst = neg ? (int64_t)(0 - mag) : (int64_t)mag;
        }
        return VG_OK;
    }
    case CFG_F_FLOAT: {
        if (null) return *(double *)dst = 0, VG_OK;
        if (n->kind != YTREE_NODE_SCALAR || (n->tag != YTREE_TAG_INT && n->tag != YTREE_TAG_FLOAT))
            return cfg_type_error(ctx, n, "float64");
        bool neg;
        uint64_t mag;
        double v;
        if (n->tag == YTREE_TAG_INT && parse_int(n->str, &neg, &mag)) {
            v = neg ? -(double)mag : (double)mag;
        } else {
            const char *s = n->str;
            const char *p = s + (*s == '+' || *s == '-');
            if (!strcasecmp(p, ".inf"))
                v = *s == '-' ? -INFINITY : INFINITY;
            else if (!strcasecmp(p, ".nan"))
                v = NAN;
            else {
                char buf[128];
                size_t o = 0;
                for (; *s && o + 1 < sizeof buf; s++)
                    if (*s != '_') buf[o++] = *s;
                buf[o] = '\0';
                v = strtod(buf, NULL);
            }
        }
        *(double *)dst = v;
        return VG_OK;
    }
    case CFG_F_SIZE: {
        if (null) return *(uint64_t *)dst = 0, VG_OK;
        if (n->kind != YTREE_NODE_SCALAR) return cfg_type_error(ctx, n, "units.Base2Bytes");
        bool neg;
        uint64_t mag;
        if (n->tag == YTREE_TAG_INT && parse_int(n->str, &neg, &mag)) {
            if (neg && mag) return cfg_type_error(ctx, n, "units.Base2Bytes");
            *(uint64_t *)dst = mag;
            return VG_OK;
        }
        char why[VG_ERR_MSG_MAX / 2];
        if (parse_base2_bytes(n->str, (uint64_t *)dst, why, sizeof why) != VG_OK)
            return cfg_fail(ctx, n, "%s", why);
        return VG_OK;
    }
    case CFG_F_LABELS: {
        list_slot_t *slot = dst;
        int rc = decode_kv(ctx, n, "model.LabelSet", sizeof(config_label_t), slot, put_label);
        if (rc) return rc;
        if (slot->n > 1) qsort(slot->items, slot->n, sizeof(config_label_t), label_cmp);
        return VG_OK;
    }
    case CFG_F_PAIRS:
        return decode_kv(ctx, n, "map[string]string", sizeof(config_pair_t), dst, put_pair);
    case CFG_F_PARAMS:
        return decode_kv(ctx, n, "url.Values", sizeof(config_param_t), dst, put_param);
    case CFG_F_SWITCHES:
        return decode_kv(ctx, n, "map[string]bool", sizeof(config_switch_t), dst, put_switch);
    case CFG_F_STRLIST:
    case CFG_F_PATHLIST: return decode_strlist(ctx, n, dst, f->kind == CFG_F_PATHLIST);
    case CFG_F_STRUCT:
        if (null) return VG_OK;
        return cfg_decode_struct(ctx, f->type, n, dst);
    case CFG_F_PSTRUCT: {
        if (null) return *(void **)dst = NULL, VG_OK;
        void *obj = cfg_zalloc(ctx, f->type->size);
        cfg_init_struct(f->type, obj);
        int rc = cfg_decode_struct(ctx, f->type, n, obj);
        if (rc) return rc;
        *(void **)dst = obj;
        return VG_OK;
    }
    case CFG_F_LIST: return decode_list(ctx, f, n, dst);
    case CFG_F_ANY: return VG_OK;
    case CFG_F_SD:
        if (null) return VG_OK;
        if (n->kind != YTREE_NODE_SEQ) return cfg_type_error(ctx, n, "[]discovery.Config");
        *(size_t *)dst += n->n;
        return VG_OK;
    case CFG_F_CUSTOM: return f->custom(ctx, n, dst);
    case CFG_F_INLINE: break;
    }
    return cfg_fail(ctx, n, "internal: bad field kind");
}

typedef struct seen_set {
    const cfg_field_t *f[128];
    size_t n;
} seen_set_t;

static bool seen_has(const seen_set_t *s, const cfg_field_t *f) {
    for (size_t j = 0; j < s->n; j++)
        if (s->f[j] == f) return true;
    return false;
}

static bool is_merge_key(const ytree_node_t *k) {
    return k->kind == YTREE_NODE_SCALAR && k->tag == YTREE_TAG_STR && !strcmp(k->str, "<<");
}

/* Decodes one key of a struct. A key that came through a merge ("<<") and
 * is already set is skipped: explicit keys and earlier merges win. */
static int decode_key(cfg_ctx_t *ctx, const cfg_type_t *t, const ytree_node_t *k,
                      const ytree_node_t *v, void *obj, seen_set_t *seen, bool merged) {
    if (!visit(ctx)) return over_budget(ctx, k);
    if (k->kind != YTREE_NODE_SCALAR) return cfg_type_error(ctx, k, "string");
    size_t base = 0;
    const cfg_field_t *f = find_field(t, k->str, &base);
    if (!f) return cfg_fail(ctx, k, "field %s not found in type %s", k->str, t->go_name);
    if (seen_has(seen, f)) {
        if (merged) return VG_OK;
        return cfg_fail(ctx, k, "field %s already set in type %s", k->str, t->go_name);
    }
    if (seen->n < sizeof seen->f / sizeof *seen->f) seen->f[seen->n++] = f;
    return decode_field(ctx, f, v, (char *)obj + base + f->off);
}

/* YAML merge keys, as yaml.v2 reads them: `<<: *map` or `<<: [*a, *b]`. */
static int decode_merge(cfg_ctx_t *ctx, const cfg_type_t *t, const ytree_node_t *v, void *obj,
                        seen_set_t *seen, unsigned depth) {
    if (!visit(ctx)) return over_budget(ctx, v);
    if (depth > VG_CONFIG_MAX_DEPTH) return cfg_fail(ctx, v, "map merge nested too deeply");
    if (v->kind == YTREE_NODE_SEQ) {
        for (size_t i = 0; i < v->n; i++) {
            if (v->kids[i]->kind != YTREE_NODE_MAP)
                return cfg_fail(ctx, v->kids[i],
                                "map merge requires map or sequence of maps "
                                "as the value");
            int rc = decode_merge(ctx, t, v->kids[i], obj, seen, depth + 1);
            if (rc) return rc;
        }
        return VG_OK;
    }
    if (v->kind != YTREE_NODE_MAP)
        return cfg_fail(ctx, v, "map merge requires map or sequence of maps as the value");
    for (size_t i = 0; i < v->n; i++) {
        const ytree_node_t *k = v->kids[2 * i], *val = v->kids[2 * i + 1];
        int rc = is_merge_key(k) ? decode_merge(ctx, t, val, obj, seen, depth + 1)
                                 : decode_key(ctx, t, k, val, obj, seen, true);
        if (rc) return rc;
    }
    return VG_OK;
}

int cfg_decode_struct(cfg_ctx_t *ctx, const cfg_type_t *t, const ytree_node_t *map, void *obj) {
    if (!visit(ctx)) return over_budget(ctx, map);
    if (map->kind != YTREE_NODE_MAP) return cfg_type_error(ctx, map, t->go_name);
    /* Fields already set in this map: known keys only (an unknown key fails
     * at once), so this stays small whatever the input. */
    seen_set_t seen = {.n = 0};
    bool has_merge = false;
    for (size_t i = 0; i < map->n; i++) {
        const ytree_node_t *k = map->kids[2 * i], *v = map->kids[2 * i + 1];
        if (is_merge_key(k)) {
            has_merge = true;
            continue;
        }
        int rc = decode_key(ctx, t, k, v, obj, &seen, false);
        if (rc) return rc;
    }
    for (size_t i = 0; has_merge && i < map->n; i++) {
        if (!is_merge_key(map->kids[2 * i])) continue;
        int rc = decode_merge(ctx, t, map->kids[2 * i + 1], obj, &seen, 0);
        if (rc) return rc;
    }
    return t->validate ? t->validate(ctx, map, obj) : VG_OK;
}
