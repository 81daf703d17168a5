/* This file implements Go's template builtins (text/template's funcs.go):
 * comparisons with Go's kind rules (int and float never compare equal, a
 * nil compares unequal to anything but nil), len, index, slice, not, the
 * print family and the html/js/urlquery escapers. `and` and `or` are here
 * for lookup; the executor short-circuits them. */
#include "template/template_int.h"

#include <string.h>

typedef enum basic_kind { K_INVALID, K_BOOL, K_INT, K_FLOAT, K_STRING } basic_kind_t;

static basic_kind_t basic_kind(const template_value_t *v) {
    switch ((template_kind_t)v->kind) {
    case TEMPLATE_BOOL: return K_BOOL;
    case TEMPLATE_INT:
    case TEMPLATE_DURATION: return K_INT;
    case TEMPLATE_FLOAT: return K_FLOAT;
    case TEMPLATE_STRING: return K_STRING;
    default: return K_INVALID;
    }
}

static int str_cmp(const template_value_t *a, const template_value_t *b) {
    size_t n = a->u.str.len < b->u.str.len ? a->u.str.len : b->u.str.len;
    int c = n ? memcmp(a->u.str.s, b->u.str.s, n) : 0;
    if (c) return c;
    return a->u.str.len < b->u.str.len ? -1 : a->u.str.len > b->u.str.len ? 1 : 0;
}

static int eq2(template_call_t *c, const template_value_t *a, const template_value_t *b,
               bool *out) {
    basic_kind_t k1 = basic_kind(a), k2 = basic_kind(b);
    *out = false;
    if (k1 != k2) {
        if (a->kind != TEMPLATE_NIL && b->kind != TEMPLATE_NIL)
            return template_call_fail(c, "incompatible types for comparison");
        return 0;
    }
    switch (k1) {
    case K_BOOL: *out = a->u.b == b->u.b; return 0;
    case K_INT: *out = a->u.i == b->u.i; return 0;
    case K_FLOAT: *out = a->u.f == b->u.f; return 0;
    case K_STRING: *out = str_cmp(a, b) == 0; return 0;
    default: break;
    }
    if (a->kind == TEMPLATE_NIL || b->kind == TEMPLATE_NIL) {
        *out = a->kind == b->kind;
        return 0;
    }
    if (a->kind != b->kind || a->type != b->type)
        return template_call_fail(c, "incompatible types for comparison");
    switch ((template_kind_t)a->kind) {
    case TEMPLATE_LIST:
    case TEMPLATE_MAP: {
        vg_buf_t pb = VG_BUF_INIT;
        template_value_print(c, b, &pb);
        int rc = template_call_fail(c, "non-comparable type %s: %s", pb.data ? pb.data : "",
                                    template_value_type_name(b));
        vg_buf_free(&pb);
        return rc;
    }
    case TEMPLATE_OBJECT: *out = a->u.obj.self == b->u.obj.self; return 0;
    case TEMPLATE_TIME:
        *out = a->u.time.sec == b->u.time.sec && a->u.time.nsec == b->u.time.nsec &&
               a->tz_offset == b->tz_offset;
        return 0;
    default: return 0;
    }
}

static int fn_eq(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    if (n < 2) return template_call_fail(c, "missing argument for comparison");
    for (size_t k = 1; k < n; k++) {
        bool t;
        if (eq2(c, &a[0], &a[k], &t)) return VG_ERR;
        if (t) {
            *out = template_bool(true);
            return 0;
        }
    }
    *out = template_bool(false);
    return 0;
}

static int fn_ne(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    bool t;
    if (eq2(c, &a[0], &a[1], &t)) return VG_ERR;
    *out = template_bool(!t);
    return 0;
}

static int lt2(template_call_t *c, const template_value_t *a, const template_value_t *b,
               bool *out) {
    basic_kind_t k1 = basic_kind(a), k2 = basic_kind(b);
    *out = false;
    if (k1 == K_INVALID || k2 == K_INVALID)
        return template_call_fail(c, "invalid type for comparison");
    if (k1 != k2) return template_call_fail(c, "incompatible types for comparison");
    switch (k1) {
    case K_BOOL: return template_call_fail(c, "invalid type for comparison");
    case K_INT: *out = a->u.i < b->u.i; return 0;
    case K_FLOAT: *out = a->u.f < b->u.f; return 0;
    case K_STRING: *out = str_cmp(a, b) < 0; return 0;
    default: return template_call_fail(c, "invalid type for comparison");
    }
}

static int fn_lt(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    bool t;
    if (lt2(c, &a[0], &a[1], &t)) return VG_ERR;
    *out = template_bool(t);
    return 0;
}

static int le2(template_call_t *c, const template_value_t *a, const template_value_t *b,
               bool *out) {
    if (lt2(c, a, b, out)) return VG_ERR;
    if (*out) return 0;
    return eq2(c, a, b, out);
}

static int fn_le(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    bool t;
    if (le2(c, &a[0], &a[1], &t)) return VG_ERR;
    *out = template_bool(t);
    return 0;
}

static int fn_gt(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    bool t;
    if (le2(c, &a[0], &a[1], &t)) return VG_ERR;
    *out = template_bool(!t);
    return 0;
}

static int fn_ge(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    bool t;
    if (lt2(c, &a[0], &a[1], &t)) return VG_ERR;
    *out = template_bool(!t);
    return 0;
}

static int fn_and_or(template_call_t *c, const template_value_t *a, size_t n,
                     template_value_t *out) {
    /* only reached when called through `call`; the executor short-circuits */
    (void)c;
    *out = a[n - 1];
    return 0;
}

static int fn_not(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)c;
    (void)n;
    *out = template_bool(!template_value_truth(&a[0]));
    return 0;
}

static int fn_len(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    switch ((template_kind_t)a[0].kind) {
    case TEMPLATE_STRING: *out = template_int((int64_t)a[0].u.str.len); return 0;
    case TEMPLATE_LIST: *out = template_int(a[0].u.list ? (int64_t)a[0].u.list->n : 0); return 0;
    case TEMPLATE_MAP: *out = template_int(a[0].u.map ? (int64_t)a[0].u.map->n : 0); return 0;
    case TEMPLATE_NIL: return template_call_fail(c, "len of nil pointer");
    default: return template_call_fail(c, "len of type %s", template_value_type_name(&a[0]));
    }
}

static int index_arg(template_call_t *c, const template_value_t *idx, size_t cap, int64_t *out) {
    if (idx->kind == TEMPLATE_NIL)
        return template_call_fail(c, "cannot index slice/array with nil");
    if (idx->kind != TEMPLATE_INT && idx->kind != TEMPLATE_DURATION)
        return template_call_fail(c, "cannot index slice/array with type %s",
                                  template_value_type_name(idx));
    if (idx->u.i < 0 || (uint64_t)idx->u.i > cap)
        return template_call_fail(c, "index out of range: %lld", (long long)idx->u.i);
    *out = idx->u.i;
    return 0;
}

static int fn_index(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    template_value_t item = a[0];
    if (item.kind == TEMPLATE_NIL) return template_call_fail(c, "index of untyped nil");
    for (size_t k = 1; k < n; k++) {
        const template_value_t *idx = &a[k];
        switch ((template_kind_t)item.kind) {
        case TEMPLATE_LIST:
        case TEMPLATE_STRING: {
            size_t len =
                item.kind == TEMPLATE_LIST ? (item.u.list ? item.u.list->n : 0) : item.u.str.len;
            int64_t x = 0;
            if (index_arg(c, idx, len, &x)) return VG_ERR;
            if ((size_t)x == len)
                return template_call_fail(c, "index out of range: %lld", (long long)x);
            if (item.kind == TEMPLATE_LIST) {
                item = item.u.list->items[x];
            } else {
                item = template_int((unsigned char)item.u.str.s[x]);
                static const template_type_t uint8_type = {.name = "uint8"};
                item.type = &uint8_type;
            }
            break;
        }
        case TEMPLATE_MAP: {
            if (idx->kind != TEMPLATE_STRING) {
                if (idx->kind == TEMPLATE_NIL) {
                    item = item.u.map ? template_nil() : template_nil();
                    return template_call_fail(c, "value is nil; should be of type string");
                }
                return template_call_fail(c, "value has type %s; should be string",
                                          template_value_type_name(idx));
            }
            const template_value_t *v = template_map_get(item.u.map, idx->u.str.s, idx->u.str.len);
            if (v) {
                item = *v;
            } else {
                switch (item.u.map ? item.u.map->elem_kind : TEMPLATE_NIL) {
                case TEMPLATE_STRING: item = template_str("", 0); break;
                case TEMPLATE_INT: item = template_int(0); break;
                case TEMPLATE_FLOAT: item = template_float(0); break;
                case TEMPLATE_BOOL: item = template_bool(false); break;
                default: item = template_nil(); break;
                }
            }
            break;
        }
        default:
            return template_call_fail(c, "can't index item of type %s",
                                      template_value_type_name(&item));
        }
    }
    *out = item;
    return 0;
}

static int fn_slice(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    const template_value_t *item = &a[0];
    size_t n_idx = n - 1;
    if (item->kind == TEMPLATE_NIL) return template_call_fail(c, "slice of untyped nil");
    if (n_idx > 3) return template_call_fail(c, "too many slice indexes: %zu", n_idx);
    size_t len;
    if (item->kind == TEMPLATE_STRING) {
        if (n_idx == 3) return template_call_fail(c, "cannot 3-index slice a string");
        len = item->u.str.len;
    } else if (item->kind == TEMPLATE_LIST) {
        len = item->u.list ? item->u.list->n : 0;
    } else {
        return template_call_fail(c, "can't slice item of type %s", template_value_type_name(item));
    }
    int64_t idx[3] = {0, (int64_t)len, (int64_t)len};
    for (size_t k = 0; k < n_idx; k++)
        if (index_arg(c, &a[k + 1], len, &idx[k])) return VG_ERR;
    if (idx[0] > idx[1])
        return template_call_fail(c, "invalid slice index: %lld > %lld", (long long)idx[0],
                                  (long long)idx[1]);
    if (n_idx == 3 && idx[1] > idx[2])
        return template_call_fail(c, "invalid slice index: %lld > %lld", (long long)idx[1],
                                  (long long)idx[2]);
    if (item->kind == TEMPLATE_STRING) {
        *out = template_str(item->u.str.s + idx[0], (size_t)(idx[1] - idx[0]));
        out->type = item->type;
        return 0;
    }
    template_list_t *l = template_call_alloc(c, sizeof *l);
    if (!l) return VG_ERR;
    l->n = (size_t)(idx[1] - idx[0]);
    l->items = item->u.list ? item->u.list->items + idx[0] : NULL;
    *out = template_list(l);
    out->type = item->type;
    return 0;
}

static int fn_print(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    vg_buf_t b = VG_BUF_INIT;
    tpl_fmt_sprint(c, &b, a, n, false);
    int rc = template_call_buf_str(c, &b, out);
    vg_buf_free(&b);
    return rc;
}

static int fn_println(template_call_t *c, const template_value_t *a, size_t n,
                      template_value_t *out) {
    vg_buf_t b = VG_BUF_INIT;
    tpl_fmt_sprint(c, &b, a, n, true);
    int rc = template_call_buf_str(c, &b, out);
    vg_buf_free(&b);
    return rc;
}

static int fn_printf(template_call_t *c, const template_value_t *a, size_t n,
                     template_value_t *out) {
    const char *f;
    size_t fl;
    if (template_arg_str(c, &a[0], &f, &fl)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    tpl_fmt_sprintf(c, &b, f, fl, a + 1, n - 1);
    int rc = template_call_buf_str(c, &b, out);
    vg_buf_free(&b);
    return rc;
}

/* Go's evalArgs: one string argument as is, anything else through Sprint. */
static void eval_args_str(template_call_t *c, const template_value_t *a, size_t n, vg_buf_t *b) {
    if (n == 1 && a[0].kind == TEMPLATE_STRING) {
        vg_buf_append(b, a[0].u.str.s, a[0].u.str.len);
        return;
    }
    tpl_fmt_sprint(c, b, a, n, false);
}

static int escape_fn(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out,
                     void (*esc)(vg_buf_t *, const char *, size_t)) {
    vg_buf_t in = VG_BUF_INIT, b = VG_BUF_INIT;
    eval_args_str(c, a, n, &in);
    esc(&b, in.data ? in.data : "", in.len);
    int rc = template_call_buf_str(c, &b, out);
    vg_buf_free(&in);
    vg_buf_free(&b);
    return rc;
}

static int fn_html(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    return escape_fn(c, a, n, out, tpl_html_escape);
}
static int fn_js(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    return escape_fn(c, a, n, out, tpl_js_escape);
}
static int fn_urlquery(template_call_t *c, const template_value_t *a, size_t n,
                       template_value_t *out) {
    return escape_fn(c, a, n, out, tpl_url_query_escape);
}

static int fn_call(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    (void)out;
    if (a[0].kind == TEMPLATE_NIL) return template_call_fail(c, "call of nil");
    return template_call_fail(c, "non-function of type %s", template_value_type_name(&a[0]));
}

static const template_func_t go_funcs[] = {
    {"and", fn_and_or, 1, -1},
    {"call", fn_call, 1, -1},
    {"html", fn_html, 0, -1},
    {"index", fn_index, 1, -1},
    {"slice", fn_slice, 1, -1},
    {"js", fn_js, 0, -1},
    {"len", fn_len, 1, 1},
    {"not", fn_not, 1, 1},
    {"or", fn_and_or, 1, -1},
    {"print", fn_print, 0, -1},
    {"printf", fn_printf, 1, -1},
    {"println", fn_println, 0, -1},
    {"urlquery", fn_urlquery, 0, -1},
    {"eq", fn_eq, 1, -1},
    {"ge", fn_ge, 2, 2},
    {"gt", fn_gt, 2, 2},
    {"le", fn_le, 2, 2},
    {"lt", fn_lt, 2, 2},
    {"ne", fn_ne, 2, 2},
};

const template_funcs_t template_funcs_go = {go_funcs, sizeof go_funcs / sizeof go_funcs[0]};
