/* This file implements Alertmanager's template functions (its
 * template/template.go DefaultFuncs) and its data types: KV with
 * SortedPairs (alertname first), Remove, Names, Values and String; Pairs;
 * Strings with Join; Alerts with Firing and Resolved; and the notification
 * data (template_am_data) built from plain C structs. */
#include "template/template_int.h"

#include <stdlib.h>
#include <string.h>

static int ret_buf(template_call_t *c, vg_buf_t *b, template_value_t *out) {
    int rc = template_call_buf_str(c, b, out);
    vg_buf_free(b);
    return rc;
}

static int need_list(template_call_t *c, const template_value_t *v, const char *want) {
    if (v->kind == TEMPLATE_LIST) return 0;
    c->msg_plain = true;
    if (v->kind == TEMPLATE_NIL) return template_call_fail(c, "invalid value; expected %s", want);
    return template_call_fail(c, "wrong type for value; expected %s; got %s", want,
                              template_value_type_name(v));
}

static int need_strings(template_call_t *c, const template_value_t *v) {
    if (need_list(c, v, "[]string")) return VG_ERR;
    for (size_t i = 0; v->u.list && i < v->u.list->n; i++)
        if (v->u.list->items[i].kind != TEMPLATE_STRING) {
            c->msg_plain = true;
            return template_call_fail(c, "wrong type for value; expected []string; got %s",
                                      template_value_type_name(v));
        }
    return 0;
}

/* ---------------------------------------------------------------- types */

static const template_type_t pair_type;

typedef struct am_pair {
    template_value_t name, value;
} am_pair_t;

static int pair_field(template_call_t *c, const template_value_t *self, const char *name,
                      size_t len, template_value_t *out) {
    (void)c;
    const am_pair_t *p = self->u.obj.self;
    if (len == 4 && memcmp(name, "Name", 4) == 0) {
        *out = p->name;
        return 0;
    }
    if (len == 5 && memcmp(name, "Value", 5) == 0) {
        *out = p->value;
        return 0;
    }
    return VG_ERR_NOTFOUND;
}

static int pair_print(template_call_t *c, const template_value_t *self, vg_buf_t *out) {
    (void)c;
    const am_pair_t *p = self->u.obj.self;
    vg_buf_append(out, p->name.u.str.s, p->name.u.str.len);
    vg_buf_putc(out, ' ');
    vg_buf_append(out, p->value.u.str.s, p->value.u.str.len);
    return 0;
}

static const template_type_t pair_type = {
    .name = "template.Pair",
    .field = pair_field,
    .print_fields = pair_print,
};

/* SortedPairs: keys sorted, but "alertname" first. */
static int kv_sorted_pairs(template_call_t *c, const template_value_t *a, size_t n,
                           template_value_t *out) {
    (void)n;
    const template_map_t *m = a[0].u.map;
    size_t cnt = m ? m->n : 0;
    template_list_t *l = template_call_alloc(c, sizeof *l);
    template_value_t *items = template_call_alloc(c, (cnt ? cnt : 1) * sizeof *items);
    am_pair_t *pairs = template_call_alloc(c, (cnt ? cnt : 1) * sizeof *pairs);
    if (!l || !items || !pairs) return VG_ERR;
    size_t w = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < cnt; i++) {
            const template_map_entry_t *e = &m->entries[i];
            bool is_an = e->key_len == 9 && memcmp(e->key, "alertname", 9) == 0;
            if ((pass == 0) != is_an) continue;
            pairs[w].name = template_str(e->key, e->key_len);
            pairs[w].value = e->value;
            items[w] = template_object(&pair_type, &pairs[w]);
            w++;
        }
    l->n = w;
    l->items = items;
    *out = template_list(l);
    out->type = &template_type_am_pairs;
    return 0;
}

static int pairs_column(template_call_t *c, const template_value_t *list, bool names,
                        template_value_t *out) {
    const template_list_t *in = list->u.list;
    size_t cnt = in ? in->n : 0;
    template_list_t *l = template_call_alloc(c, sizeof *l);
    template_value_t *items = template_call_alloc(c, (cnt ? cnt : 1) * sizeof *items);
    if (!l || !items) return VG_ERR;
    for (size_t i = 0; i < cnt; i++) {
        const template_value_t *p = &in->items[i];
        if (p->kind != TEMPLATE_OBJECT || p->type != &pair_type)
            return template_call_fail(c, "not a pair");
        const am_pair_t *pp = p->u.obj.self;
        items[i] = names ? pp->name : pp->value;
    }
    l->n = cnt;
    l->items = items;
    *out = template_list(l);
    out->type = &template_type_am_strings;
    return 0;
}

static int pairs_names(template_call_t *c, const template_value_t *a, size_t n,
                       template_value_t *out) {
    (void)n;
    return pairs_column(c, &a[0], true, out);
}
static int pairs_values(template_call_t *c, const template_value_t *a, size_t n,
                        template_value_t *out) {
    (void)n;
    return pairs_column(c, &a[0], false, out);
}

static int pairs_string_buf(const template_value_t *list, vg_buf_t *b) {
    const template_list_t *in = list->u.list;
    for (size_t i = 0; in && i < in->n; i++) {
        const am_pair_t *p = in->items[i].u.obj.self;
        vg_buf_append(b, p->name.u.str.s, p->name.u.str.len);
        vg_buf_putc(b, '=');
        vg_buf_append(b, p->value.u.str.s, p->value.u.str.len);
        if (i + 1 < in->n) vg_buf_puts(b, ", ");
    }
    return 0;
}

static int pairs_to_string(template_call_t *c, const template_value_t *self, vg_buf_t *out) {
    (void)c;
    return pairs_string_buf(self, out);
}

static int pairs_string(template_call_t *c, const template_value_t *a, size_t n,
                        template_value_t *out) {
    (void)n;
    vg_buf_t b = VG_BUF_INIT;
    pairs_string_buf(&a[0], &b);
    return ret_buf(c, &b, out);
}

static const template_method_t pairs_methods[] = {
    {"Names", pairs_names, 0, 0},
    {"String", pairs_string, 0, 0},
    {"Values", pairs_values, 0, 0},
};

const template_type_t template_type_am_pairs = {
    .name = "template.Pairs",
    .methods = pairs_methods,
    .n_methods = 3,
    .to_string = pairs_to_string,
};

static int strings_join(template_call_t *c, const template_value_t *a, size_t n,
                        template_value_t *out) {
    (void)n;
    const char *sep;
    size_t sl;
    if (template_arg_str(c, &a[1], &sep, &sl)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    const template_list_t *l = a[0].u.list;
    for (size_t i = 0; l && i < l->n; i++) {
        if (i) vg_buf_append(&b, sep, sl);
        vg_buf_append(&b, l->items[i].u.str.s, l->items[i].u.str.len);
    }
    return ret_buf(c, &b, out);
}

static const template_method_t strings_methods[] = {{"Join", strings_join, 1, 1}};

const template_type_t template_type_am_strings = {
    .name = "template.Strings",
    .methods = strings_methods,
    .n_methods = 1,
};

static int kv_names(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    template_value_t p;
    if (kv_sorted_pairs(c, a, n, &p)) return VG_ERR;
    return pairs_column(c, &p, true, out);
}

static int kv_values(template_call_t *c, const template_value_t *a, size_t n,
                     template_value_t *out) {
    template_value_t p;
    if (kv_sorted_pairs(c, a, n, &p)) return VG_ERR;
    return pairs_column(c, &p, false, out);
}

static int kv_remove(template_call_t *c, const template_value_t *a, size_t n,
                     template_value_t *out) {
    (void)n;
    if (need_strings(c, &a[1])) return VG_ERR;
    const template_map_t *m = a[0].u.map;
    size_t cnt = m ? m->n : 0;
    template_map_t *r = template_call_alloc(c, sizeof *r);
    template_map_entry_t *e = template_call_alloc(c, (cnt ? cnt : 1) * sizeof *e);
    if (!r || !e) return VG_ERR;
    size_t w = 0;
    const template_list_t *keys = a[1].u.list;
    for (size_t i = 0; i < cnt; i++) {
        bool drop = false;
        for (size_t k = 0; keys && k < keys->n && !drop; k++)
            drop = keys->items[k].u.str.len == m->entries[i].key_len &&
                   memcmp(keys->items[k].u.str.s, m->entries[i].key, m->entries[i].key_len) == 0;
        if (!drop) e[w++] = m->entries[i];
    }
    r->n = w;
    r->entries = e;
    r->elem_kind = TEMPLATE_STRING;
    *out = template_map(r);
    out->type = &template_type_am_kv;
    return 0;
}

static int kv_to_string(template_call_t *c, const template_value_t *self, vg_buf_t *out) {
    template_value_t p;
    if (kv_sorted_pairs(c, self, 1, &p)) return VG_ERR;
    return pairs_string_buf(&p, out);
}

static int kv_string(template_call_t *c, const template_value_t *a, size_t n,
                     template_value_t *out) {
    (void)n;
    vg_buf_t b = VG_BUF_INIT;
    kv_to_string(c, &a[0], &b);
    return ret_buf(c, &b, out);
}

static const template_method_t kv_methods[] = {
    {"Names", kv_names, 0, 0},
    {"Remove", kv_remove, 1, 1},
    {"SortedPairs", kv_sorted_pairs, 0, 0},
    {"String", kv_string, 0, 0},
    {"Values", kv_values, 0, 0},
};

const template_type_t template_type_am_kv = {
    .name = "template.KV",
    .methods = kv_methods,
    .n_methods = sizeof kv_methods / sizeof kv_methods[0],
    .to_string = kv_to_string,
};

/* Firing / Resolved: the alerts whose .Status is the given one. */
static int alerts_with_status(template_call_t *c, const template_value_t *list, const char *status,
                              template_value_t *out) {
    const template_list_t *in = list->u.list;
    size_t cnt = in ? in->n : 0;
    template_list_t *l = template_call_alloc(c, sizeof *l);
    template_value_t *items = template_call_alloc(c, (cnt ? cnt : 1) * sizeof *items);
    if (!l || !items) return VG_ERR;
    size_t w = 0, sl = strlen(status);
    for (size_t i = 0; i < cnt; i++) {
        const template_value_t *a = &in->items[i];
        template_value_t st = template_nil();
        if (a->kind == TEMPLATE_MAP) {
            const template_value_t *v = template_map_get(a->u.map, "Status", 6);
            if (v) st = *v;
        } else if (a->kind == TEMPLATE_OBJECT && a->type && a->type->field) {
            if (a->type->field(c, a, "Status", 6, &st) != 0) st = template_nil();
        }
        if (st.kind == TEMPLATE_STRING && st.u.str.len == sl && memcmp(st.u.str.s, status, sl) == 0)
            items[w++] = *a;
    }
    l->n = w;
    l->items = items;
    *out = template_list(l);
    static const template_type_t alert_slice = {.name = "[]template.Alert"};
    out->type = &alert_slice;
    return 0;
}

static int alerts_firing(template_call_t *c, const template_value_t *a, size_t n,
                         template_value_t *out) {
    (void)n;
    return alerts_with_status(c, &a[0], "firing", out);
}
static int alerts_resolved(template_call_t *c, const template_value_t *a, size_t n,
                           template_value_t *out) {
    (void)n;
    return alerts_with_status(c, &a[0], "resolved", out);
}

static const template_method_t alerts_methods[] = {
    {"Firing", alerts_firing, 0, 0},
    {"Resolved", alerts_resolved, 0, 0},
};

const template_type_t template_type_am_alerts = {
    .name = "template.Alerts",
    .methods = alerts_methods,
    .n_methods = 2,
};

/* ------------------------------------------------------- notification data */

static template_value_t kv_value(const template_map_t *m) {
    static const template_map_t empty = {0, NULL, TEMPLATE_STRING};
    template_value_t v = template_map(m ? m : &empty);
    v.type = &template_type_am_kv;
    return v;
}

static int alert_field(template_call_t *c, const template_value_t *self, const char *name,
                       size_t len, template_value_t *out) {
    (void)c;
    const template_am_alert_t *a = self->u.obj.self;
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(name, lit, len) == 0)
    if (IS("Status"))
        *out = template_cstr(a->status);
    else if (IS("Labels"))
        *out = kv_value(a->labels);
    else if (IS("Annotations"))
        *out = kv_value(a->annotations);
    else if (IS("StartsAt"))
        *out = a->starts_at;
    else if (IS("EndsAt"))
        *out = a->ends_at;
    else if (IS("GeneratorURL"))
        *out = template_cstr(a->generator_url);
    else if (IS("Fingerprint"))
        *out = template_cstr(a->fingerprint);
    else
        return VG_ERR_NOTFOUND;
    if (out->kind == TEMPLATE_NIL && (IS("StartsAt") || IS("EndsAt")))
        *out = template_time(-62135596800LL, 0, 0, "UTC");
    return 0;
#undef IS
}

static int alert_print(template_call_t *c, const template_value_t *self, vg_buf_t *out) {
    static const char *const f[] = {"Status", "Labels",       "Annotations", "StartsAt",
                                    "EndsAt", "GeneratorURL", "Fingerprint"};
    for (size_t i = 0; i < 7; i++) {
        template_value_t v;
        if (i) vg_buf_putc(out, ' ');
        if (alert_field(c, self, f[i], strlen(f[i]), &v) == 0) template_value_print(c, &v, out);
    }
    return 0;
}

static const template_type_t alert_type = {
    .name = "template.Alert",
    .field = alert_field,
    .print_fields = alert_print,
};

static int data_field(template_call_t *c, const template_value_t *self, const char *name,
                      size_t len, template_value_t *out) {
    const template_am_data_t *d = self->u.obj.self;
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(name, lit, len) == 0)
    if (IS("Receiver"))
        *out = template_cstr(d->receiver);
    else if (IS("Status"))
        *out = template_cstr(d->status);
    else if (IS("NotificationReason"))
        *out = template_cstr(d->notification_reason);
    else if (IS("GroupLabels"))
        *out = kv_value(d->group_labels);
    else if (IS("CommonLabels"))
        *out = kv_value(d->common_labels);
    else if (IS("CommonAnnotations"))
        *out = kv_value(d->common_annotations);
    else if (IS("RouteLabels"))
        *out = kv_value(d->route_labels);
    else if (IS("ExternalURL"))
        *out = template_cstr(d->external_url);
    else if (IS("Alerts")) {
        template_list_t *l = template_call_alloc(c, sizeof *l);
        template_value_t *items =
            template_call_alloc(c, (d->n_alerts ? d->n_alerts : 1) * sizeof *items);
        if (!l || !items) return VG_ERR;
        for (size_t i = 0; i < d->n_alerts; i++)
            items[i] = template_object(&alert_type, (void *)&d->alerts[i]);
        l->n = d->n_alerts;
        l->items = items;
        *out = template_list(l);
        out->type = &template_type_am_alerts;
    } else {
        return VG_ERR_NOTFOUND;
    }
    return 0;
#undef IS
}

static int data_print(template_call_t *c, const template_value_t *self, vg_buf_t *out) {
    static const char *const f[] = {"Receiver",           "Status",      "Alerts",
                                    "NotificationReason", "GroupLabels", "CommonLabels",
                                    "CommonAnnotations",  "RouteLabels", "ExternalURL"};
    for (size_t i = 0; i < 9; i++) {
        template_value_t v;
        if (i) vg_buf_putc(out, ' ');
        if (data_field(c, self, f[i], strlen(f[i]), &v) == 0) template_value_print(c, &v, out);
    }
    return 0;
}

static const template_type_t data_type = {
    .name = "*template.Data",
    .field = data_field,
    .print_fields = data_print,
};

template_value_t template_am_data(const template_am_data_t *d) {
    template_value_t v = template_object(&data_type, (void *)d);
    v.flags |= TEMPLATE_F_PTR;
    return v;
}

/* ------------------------------------------------------------ functions */

static int fn_title(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    (void)n;
    const char *s;
    size_t len;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    tpl_title(&b, s, len, true);
    return ret_buf(c, &b, out);
}

static int fn_trim_space(template_call_t *c, const template_value_t *a, size_t n,
                         template_value_t *out) {
    (void)n;
    const char *s;
    size_t len, st, en;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    tpl_trim_space(s, len, &st, &en);
    *out = template_str(s + st, en - st);
    return 0;
}

static int fn_join(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    const char *sep;
    size_t sl;
    if (template_arg_str(c, &a[0], &sep, &sl) || need_strings(c, &a[1])) return VG_ERR;
    template_value_t args[2] = {a[1], a[0]};
    return strings_join(c, args, 2, out);
}

static const template_type_t url_type = {.name = "template.URL"};

static int fn_safe_url(template_call_t *c, const template_value_t *a, size_t n,
                       template_value_t *out) {
    (void)n;
    const char *s;
    size_t len;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    *out = template_str(s, len);
    out->type = &url_type;
    return 0;
}

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static int fn_url_unescape(template_call_t *c, const template_value_t *a, size_t n,
                           template_value_t *out) {
    (void)n;
    const char *s;
    size_t len;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            vg_buf_putc(&b, ' ');
        } else if (s[i] == '%') {
            int h = i + 2 < len ? hexval(s[i + 1]) : -1, l = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (h < 0 || l < 0) {
                size_t el = len - i < 3 ? len - i : 3;
                vg_buf_free(&b);
                return template_call_fail(c, "invalid URL escape \"%.*s\"", (int)el, s + i);
            }
            vg_buf_putc(&b, (char)(h * 16 + l));
            i += 2;
        } else {
            vg_buf_putc(&b, s[i]);
        }
    }
    return ret_buf(c, &b, out);
}

static int fn_string_slice(template_call_t *c, const template_value_t *a, size_t n,
                           template_value_t *out) {
    template_list_t *l = template_call_alloc(c, sizeof *l);
    template_value_t *items = template_call_alloc(c, (n ? n : 1) * sizeof *items);
    if (!l || !items) return VG_ERR;
    for (size_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        if (template_arg_str(c, &a[i], &s, &len)) return VG_ERR;
        items[i] = a[i];
    }
    l->n = n;
    l->items = items;
    *out = template_list(l);
    static const template_type_t str_slice = {.name = "[]string"};
    out->type = &str_slice;
    return 0;
}

static int fn_route_labels(template_call_t *c, const template_value_t *a, size_t n,
                           template_value_t *out) {
    (void)n;
    const char *s;
    size_t len;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    *out = template_str("", 0);
    return 0;
}

static int need_time(template_call_t *c, const template_value_t *v) {
    if (v->kind == TEMPLATE_TIME) return 0;
    c->msg_plain = true;
    if (v->kind == TEMPLATE_NIL) return template_call_fail(c, "invalid value; expected time.Time");
    return template_call_fail(c, "wrong type for value; expected time.Time; got %s",
                              template_value_type_name(v));
}

static int fn_date(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    const char *f;
    size_t fl;
    if (template_arg_str(c, &a[0], &f, &fl) || need_time(c, &a[1])) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    tpl_time_format(&b, &a[1], f, fl);
    return ret_buf(c, &b, out);
}

static int fn_tz(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    const char *name;
    size_t nl;
    if (template_arg_str(c, &a[0], &name, &nl) || need_time(c, &a[1])) return VG_ERR;
    int32_t off;
    const char *abbr;
    if (tpl_tz_lookup(c, name, nl, a[1].u.time.sec, &off, &abbr)) return VG_ERR;
    *out = template_time(a[1].u.time.sec, a[1].u.time.nsec, off, abbr);
    return 0;
}

static int64_t now_ns(template_call_t *c) {
    const template_env_t *env = template_call_env(c);
    int64_t ms = env->now_ms ? env->now_ms : vg_time_now_ms();
    return ms * 1000000;
}

static int fn_now(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)a;
    (void)n;
    int64_t ns = now_ns(c);
    *out = template_time(ns / 1000000000, (int32_t)(ns % 1000000000), 0, "UTC");
    return 0;
}

static int fn_since(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    (void)n;
    if (need_time(c, &a[0])) return VG_ERR;
    int64_t now = now_ns(c);
    int64_t then = a[0].u.time.sec * 1000000000 + a[0].u.time.nsec;
    *out = template_duration(now - then);
    return 0;
}

/* encoding/json as Go marshals template values (maps by sorted key, HTML
 * characters escaped). */
static void json_value(template_call_t *c, const template_value_t *v, vg_buf_t *b, int depth) {
    if (depth > 64) {
        vg_buf_puts(b, "null");
        return;
    }
    switch ((template_kind_t)v->kind) {
    case TEMPLATE_NIL: vg_buf_puts(b, "null"); return;
    case TEMPLATE_BOOL: vg_buf_puts(b, v->u.b ? "true" : "false"); return;
    case TEMPLATE_INT:
    case TEMPLATE_DURATION: vg_buf_printf(b, "%lld", (long long)v->u.i); return;
    case TEMPLATE_FLOAT: {
        char tmp[VG_FLOAT_MAX_LEN];
        vg_format_float(v->u.f, tmp);
        vg_buf_puts(b, tmp);
        return;
    }
    case TEMPLATE_STRING: {
        vg_buf_putc(b, '"');
        for (size_t i = 0; i < v->u.str.len; i++) {
            unsigned char ch = (unsigned char)v->u.str.s[i];
            if (ch == '<' || ch == '>' || ch == '&')
                vg_buf_printf(b, "\\u00%02x", ch);
            else
                vg_buf_put_json_escaped(b, (const char *)&ch, 1);
        }
        vg_buf_putc(b, '"');
        return;
    }
    case TEMPLATE_LIST:
        vg_buf_putc(b, '[');
        for (size_t i = 0; v->u.list && i < v->u.list->n; i++) {
            if (i) vg_buf_putc(b, ',');
            json_value(c, &v->u.list->items[i], b, depth + 1);
        }
        vg_buf_putc(b, ']');
        return;
    case TEMPLATE_MAP:
        vg_buf_putc(b, '{');
        for (size_t i = 0; v->u.map && i < v->u.map->n; i++) {
            if (i) vg_buf_putc(b, ',');
            template_value_t k =
                template_str(v->u.map->entries[i].key, v->u.map->entries[i].key_len);
            json_value(c, &k, b, depth + 1);
            vg_buf_putc(b, ':');
            json_value(c, &v->u.map->entries[i].value, b, depth + 1);
        }
        vg_buf_putc(b, '}');
        return;
    case TEMPLATE_TIME: {
        vg_buf_putc(b, '"');
        static const char l[] = "2006-01-02T15:04:05.999999999Z07:00";
        tpl_time_format(b, v, l, sizeof l - 1);
        vg_buf_putc(b, '"');
        return;
    }
    case TEMPLATE_OBJECT: vg_buf_puts(b, "{}"); return;
    }
}

static int fn_to_json(template_call_t *c, const template_value_t *a, size_t n,
                      template_value_t *out) {
    (void)n;
    vg_buf_t b = VG_BUF_INIT;
    json_value(c, &a[0], &b, 0);
    return ret_buf(c, &b, out);
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int fn_b64enc(template_call_t *c, const template_value_t *a, size_t n,
                     template_value_t *out) {
    (void)n;
    const char *s;
    size_t len;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)u[i] << 16;
        if (i + 1 < len) v |= (uint32_t)u[i + 1] << 8;
        if (i + 2 < len) v |= u[i + 2];
        vg_buf_putc(&b, b64url[(v >> 18) & 63]);
        vg_buf_putc(&b, b64url[(v >> 12) & 63]);
        vg_buf_putc(&b, i + 1 < len ? b64url[(v >> 6) & 63] : '=');
        vg_buf_putc(&b, i + 2 < len ? b64url[v & 63] : '=');
    }
    return ret_buf(c, &b, out);
}

static int fn_b64dec(template_call_t *c, const template_value_t *a, size_t n,
                     template_value_t *out) {
    (void)n;
    const char *s;
    size_t len;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    uint32_t acc = 0;
    int bits = 0;
    size_t i = 0;
    for (; i < len; i++) {
        if (s[i] == '=') break;
        const char *p = memchr(b64url, s[i], 64);
        if (!p || s[i] == '\0') {
            vg_buf_free(&b);
            return template_call_fail(c, "illegal base64 data at input byte %zu", i);
        }
        acc = (acc << 6) | (uint32_t)(p - b64url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            vg_buf_putc(&b, (char)((acc >> bits) & 0xff));
        }
    }
    /* Go's URLEncoding wants the padding */
    size_t data = i;
    size_t pad = 0;
    while (i < len && s[i] == '=') {
        pad++;
        i++;
    }
    if (i != len || (data + pad) % 4 != 0 || (pad && data % 4 == 1) || (!pad && data % 4 != 0)) {
        vg_buf_free(&b);
        return template_call_fail(c, "illegal base64 data at input byte %zu", i < len ? i : data);
    }
    return ret_buf(c, &b, out);
}

static int fn_list(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    template_list_t *l = template_call_alloc(c, sizeof *l);
    template_value_t *items = template_call_alloc(c, (n ? n : 1) * sizeof *items);
    if (!l || !items) return VG_ERR;
    memcpy(items, a, n * sizeof *items);
    l->n = n;
    l->items = items;
    *out = template_list(l);
    return 0;
}

static int fn_append(template_call_t *c, const template_value_t *a, size_t n,
                     template_value_t *out) {
    if (need_list(c, &a[0], "[]interface {}")) return VG_ERR;
    size_t base = a[0].u.list ? a[0].u.list->n : 0;
    size_t total = base + n - 1;
    template_list_t *l = template_call_alloc(c, sizeof *l);
    template_value_t *items = template_call_alloc(c, (total ? total : 1) * sizeof *items);
    if (!l || !items) return VG_ERR;
    if (base) memcpy(items, a[0].u.list->items, base * sizeof *items);
    memcpy(items + base, a + 1, (n - 1) * sizeof *items);
    l->n = total;
    l->items = items;
    *out = template_list(l);
    return 0;
}

static int fn_dict(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    if (n % 2) return template_call_fail(c, "dict requires an even number of arguments");
    template_map_t *m = template_call_alloc(c, sizeof *m);
    template_map_entry_t *e = template_call_alloc(c, (n ? n / 2 : 1) * sizeof *e);
    if (!m || !e) return VG_ERR;
    for (size_t i = 0; i < n; i += 2) {
        if (a[i].kind != TEMPLATE_STRING) return template_call_fail(c, "dict keys must be strings");
        e[i / 2].key = a[i].u.str.s;
        e[i / 2].key_len = a[i].u.str.len;
        e[i / 2].value = a[i + 1];
    }
    /* later keys win, as Go's map assignment does: reverse before the
     * stable de-duplication keeps the first */
    for (size_t i = 0; i < n / 4; i++) {
        template_map_entry_t t = e[i];
        e[i] = e[n / 2 - 1 - i];
        e[n / 2 - 1 - i] = t;
    }
    m->n = n / 2;
    m->entries = e;
    m->elem_kind = TEMPLATE_NIL;
    template_map_sort(m);
    *out = template_map(m);
    return 0;
}

static const template_func_t am_funcs[] = {
    {"append", fn_append, 1, -1},
    {"base64decode", fn_b64dec, 1, 1},
    {"base64encode", fn_b64enc, 1, 1},
    {"date", fn_date, 2, 2},
    {"dict", fn_dict, 0, -1},
    {"humanizeDuration", tpl_fn_humanize_duration, 1, 1},
    {"join", fn_join, 2, 2},
    {"list", fn_list, 0, -1},
    {"match", tpl_fn_match, 2, 2},
    {"now", fn_now, 0, 0},
    {"reReplaceAll", tpl_fn_re_replace_all, 3, 3},
    {"routeLabels", fn_route_labels, 1, 1},
    {"safeHtml", tpl_fn_safe_html, 1, 1},
    {"safeUrl", fn_safe_url, 1, 1},
    {"since", fn_since, 1, 1},
    {"stringSlice", fn_string_slice, 0, -1},
    {"title", fn_title, 1, 1},
    {"toJson", fn_to_json, 1, 1},
    {"toLower", tpl_fn_to_lower, 1, 1},
    {"toUpper", tpl_fn_to_upper, 1, 1},
    {"trimSpace", fn_trim_space, 1, 1},
    {"tz", fn_tz, 2, 2},
    {"urlUnescape", fn_url_unescape, 1, 1},
};

const template_funcs_t template_funcs_alertmanager = {am_funcs,
                                                      sizeof am_funcs / sizeof am_funcs[0]};
