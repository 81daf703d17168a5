/* This file implements the value model: constructors, sorted maps, Go's
 * truth and type names, the helpers functions use to read their arguments
 * with Go's error messages, and Prometheus's query sample type. */
#include "template/template_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

template_value_t template_nil(void) {
    template_value_t v = {0};
    return v;
}

template_value_t template_bool(bool b) {
    template_value_t v = {.kind = TEMPLATE_BOOL};
    v.u.b = b;
    return v;
}

template_value_t template_int(int64_t i) {
    template_value_t v = {.kind = TEMPLATE_INT};
    v.u.i = i;
    return v;
}

template_value_t template_float(double f) {
    template_value_t v = {.kind = TEMPLATE_FLOAT};
    v.u.f = f;
    return v;
}

template_value_t template_str(const char *s, size_t len) {
    template_value_t v = {.kind = TEMPLATE_STRING};
    v.u.str.s = s ? s : "";
    v.u.str.len = s ? len : 0;
    return v;
}

template_value_t template_cstr(const char *s) { return template_str(s, s ? strlen(s) : 0); }

template_value_t template_list(const template_list_t *l) {
    template_value_t v = {.kind = TEMPLATE_LIST};
    v.u.list = l;
    return v;
}

template_value_t template_map(const template_map_t *m) {
    template_value_t v = {.kind = TEMPLATE_MAP};
    v.u.map = m;
    return v;
}

template_value_t template_object(const template_type_t *type, void *self) {
    template_value_t v = {.kind = TEMPLATE_OBJECT, .type = type};
    v.u.obj.self = self;
    return v;
}

template_value_t template_time(int64_t sec, int32_t nsec, int32_t tz_offset, const char *zone) {
    template_value_t v = {.kind = TEMPLATE_TIME, .type = &tpl_type_time, .tz_offset = tz_offset};
    v.u.time.sec = sec;
    v.u.time.nsec = nsec;
    v.u.time.zone = zone ? zone : "UTC";
    return v;
}

template_value_t template_time_ms(int64_t ms) {
    int64_t sec = ms / 1000, rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        sec--;
    }
    return template_time(sec, (int32_t)(rem * 1000000), 0, "UTC");
}

template_value_t template_duration(int64_t ns) {
    template_value_t v = {.kind = TEMPLATE_DURATION, .type = &tpl_type_duration};
    v.u.i = ns;
    return v;
}

static int key_cmp(const char *a, size_t al, const char *b, size_t bl) {
    size_t n = al < bl ? al : bl;
    int c = memcmp(a, b, n);
    if (c) return c;
    return al < bl ? -1 : al > bl ? 1 : 0;
}

static int entry_cmp(const void *a, const void *b) {
    const template_map_entry_t *x = a, *y = b;
    int c = key_cmp(x->key, x->key_len, y->key, y->key_len);
    if (c) return c;
    /* keep the earlier of two equal keys first (stable on address) */
    return x < y ? -1 : x > y ? 1 : 0;
}

void template_map_sort(template_map_t *m) {
    if (!m || m->n < 2) return;
    qsort(m->entries, m->n, sizeof *m->entries, entry_cmp);
    size_t w = 1;
    for (size_t r = 1; r < m->n; r++) {
        if (key_cmp(m->entries[r].key, m->entries[r].key_len, m->entries[w - 1].key,
                    m->entries[w - 1].key_len) == 0)
            continue;
        m->entries[w++] = m->entries[r];
    }
    m->n = w;
}

const template_value_t *template_map_get(const template_map_t *m, const char *key, size_t key_len) {
    if (!m) return NULL;
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_cmp(m->entries[mid].key, m->entries[mid].key_len, key, key_len);
        if (c == 0) return &m->entries[mid].value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool template_value_truth(const template_value_t *v) {
    switch ((template_kind_t)v->kind) {
    case TEMPLATE_NIL: return false;
    case TEMPLATE_BOOL: return v->u.b;
    case TEMPLATE_INT:
    case TEMPLATE_DURATION: return v->u.i != 0;
    case TEMPLATE_FLOAT: return v->u.f != 0;
    case TEMPLATE_STRING: return v->u.str.len > 0;
    case TEMPLATE_LIST: return v->u.list && v->u.list->n > 0;
    case TEMPLATE_MAP: return v->u.map && v->u.map->n > 0;
    case TEMPLATE_OBJECT: return (v->flags & TEMPLATE_F_PTR) ? v->u.obj.self != NULL : true;
    case TEMPLATE_TIME: return true; /* a struct */
    }
    return false;
}

const char *template_value_type_name(const template_value_t *v) {
    if (v->type && v->type->name) return v->type->name;
    switch ((template_kind_t)v->kind) {
    case TEMPLATE_NIL: return "<nil>";
    case TEMPLATE_BOOL: return "bool";
    case TEMPLATE_INT: return "int";
    case TEMPLATE_FLOAT: return "float64";
    case TEMPLATE_STRING: return "string";
    case TEMPLATE_LIST: return "[]interface {}";
    case TEMPLATE_MAP:
        switch (v->u.map ? v->u.map->elem_kind : TEMPLATE_NIL) {
        case TEMPLATE_STRING: return "map[string]string";
        case TEMPLATE_FLOAT: return "map[string]float64";
        case TEMPLATE_INT: return "map[string]int";
        case TEMPLATE_BOOL: return "map[string]bool";
        default: return "map[string]interface {}";
        }
    case TEMPLATE_OBJECT: return "struct {}";
    case TEMPLATE_TIME: return "time.Time";
    case TEMPLATE_DURATION: return "time.Duration";
    }
    return "?";
}

/* ------------------------------------------------------------ calls */

void *template_call_alloc(template_call_t *c, size_t n) {
    void *p = vg_arena_alloc(c->arena, n ? n : 1);
    if (!p) template_call_fail(c, "template execution exceeded its memory budget");
    return p;
}

int template_call_strdup(template_call_t *c, const char *s, size_t len, template_value_t *out) {
    char *p = template_call_alloc(c, len + 1);
    if (!p) return VG_ERR_LIMIT;
    if (len) memcpy(p, s, len);
    p[len] = '\0';
    *out = template_str(p, len);
    return 0;
}

int template_call_buf_str(template_call_t *c, vg_buf_t *buf, template_value_t *out) {
    int rc = template_call_strdup(c, buf->data ? buf->data : "", buf->len, out);
    vg_buf_reset(buf);
    return rc;
}

int template_call_fail(template_call_t *c, const char *fmt, ...) {
    if (c->failed) return VG_ERR;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    c->failed = true;
    return VG_ERR;
}

const template_env_t *template_call_env(template_call_t *c) {
    static const template_env_t none = {0};
    return c->env ? c->env : &none;
}

int template_arg_str(template_call_t *c, const template_value_t *arg, const char **s, size_t *len) {
    if (arg->kind == TEMPLATE_STRING) {
        *s = arg->u.str.s;
        *len = arg->u.str.len;
        return 0;
    }
    c->msg_plain = true;
    c->bad_arg = arg;
    if (arg->kind == TEMPLATE_NIL) return template_call_fail(c, "invalid value; expected string");
    return template_call_fail(c, "wrong type for value; expected string; got %s",
                              template_value_type_name(arg));
}

/* Go's strconv.ParseFloat error text for a bad string. */
static int parse_float_go(template_call_t *c, const char *s, size_t len, double *out) {
    char buf[128];
    vg_buf_t q = VG_BUF_INIT;
    tpl_fmt_quote(&q, s, len, false);
    bool ok = len > 0 && len < sizeof buf;
    double v = 0;
    if (ok) {
        /* Go accepts: decimal, hex float, underscores (only with base
         * prefix), inf/infinity/nan in any case, sign */
        size_t bl = 0;
        for (size_t i = 0; i < len; i++)
            buf[bl++] = s[i];
        buf[bl] = '\0';
        const char *p = buf;
        if (*p == '+' || *p == '-') p++;
        bool alpha_ok = strcasecmp(p, "inf") == 0 || strcasecmp(p, "infinity") == 0 ||
                        strcasecmp(p, "nan") == 0;
        for (const char *k = p; *k && ok && !alpha_ok; k++)
            if (!strchr("0123456789.eE+-xXpPabcdefABCDEF_", *k)) ok = false;
        if (ok && (p[0] == '.' || (p[0] >= '0' && p[0] <= '9') || alpha_ok)) {
            char *end;
            errno = 0;
            v = strtod(buf, &end);
            if (*end) ok = false;
            if (ok && errno == ERANGE && isinf(v)) {
                vg_err_t e;
                (void)e;
                c->msg_plain = false;
                int rc = template_call_fail(c, "strconv.ParseFloat: parsing %s: value out of range",
                                            q.data);
                vg_buf_free(&q);
                return rc;
            }
        } else {
            ok = false;
        }
    }
    if (!ok) {
        int rc = template_call_fail(c, "strconv.ParseFloat: parsing %s: invalid syntax", q.data);
        vg_buf_free(&q);
        return rc;
    }
    vg_buf_free(&q);
    *out = v;
    return 0;
}

int template_arg_float(template_call_t *c, const template_value_t *arg, double *out) {
    switch ((template_kind_t)arg->kind) {
    case TEMPLATE_FLOAT: *out = arg->u.f; return 0;
    case TEMPLATE_INT: *out = (double)arg->u.i; return 0;
    case TEMPLATE_DURATION: *out = (double)arg->u.i / 1e9; return 0;
    case TEMPLATE_STRING: return parse_float_go(c, arg->u.str.s, arg->u.str.len, out);
    case TEMPLATE_NIL: return template_call_fail(c, "can't convert <nil> to float");
    default:
        return template_call_fail(c, "can't convert %s to float", template_value_type_name(arg));
    }
}

/* ------------------------------------------------ Prometheus's sample */

typedef struct tpl_sample {
    template_value_t labels;
    double value;
} tpl_sample_t;

static int sample_field(template_call_t *c, const template_value_t *self, const char *name,
                        size_t len, template_value_t *out) {
    (void)c;
    const tpl_sample_t *s = self->u.obj.self;
    if (len == 6 && memcmp(name, "Labels", 6) == 0) {
        *out = s->labels;
        return 0;
    }
    if (len == 5 && memcmp(name, "Value", 5) == 0) {
        *out = template_float(s->value);
        return 0;
    }
    return VG_ERR_NOTFOUND;
}

static int sample_print(template_call_t *c, const template_value_t *self, vg_buf_t *out) {
    const tpl_sample_t *s = self->u.obj.self;
    template_value_print(c, &s->labels, out);
    vg_buf_putc(out, ' ');
    template_value_t v = template_float(s->value);
    template_value_print(c, &v, out);
    return 0;
}

const template_type_t tpl_type_sample = {
    .name = "*template.sample",
    .field = sample_field,
    .print_fields = sample_print,
};

int template_sample(template_call_t *c, const template_map_t *labels, double value,
                    template_value_t *out) {
    tpl_sample_t *s = template_call_alloc(c, sizeof *s);
    if (!s) return VG_ERR_LIMIT;
    s->labels = template_map(labels);
    s->value = value;
    *out = template_object(&tpl_type_sample, s);
    out->flags |= TEMPLATE_F_PTR;
    return 0;
}
