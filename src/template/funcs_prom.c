/* This file implements Prometheus's template functions (its
 * template/template.go and prometheus/common's helpers/templates): the
 * humanize family with its exact %.4g output, time and duration helpers,
 * query results (query, first, label, value, sortByLabel), links and host
 * helpers. Functions that need the outside read template_env_t. */
#include "template/template_int.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int ret_buf(template_call_t *c, vg_buf_t *b, template_value_t *out) {
    int rc = template_call_buf_str(c, b, out);
    vg_buf_free(b);
    return rc;
}

/* fmt.Sprintf("%.4g", v) */
static void g4(vg_buf_t *b, double v) {
    if (isinf(v) || isnan(v)) {
        tpl_fmt_float(b, v, 'g', 4);
        return;
    }
    tpl_fmt_float(b, v, 'g', 4);
}

static int fn_humanize(template_call_t *c, const template_value_t *a, size_t n,
                       template_value_t *out) {
    (void)n;
    double v;
    if (template_arg_float(c, &a[0], &v)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    if (v == 0 || isnan(v) || isinf(v)) {
        g4(&b, v);
        return ret_buf(c, &b, out);
    }
    static const char *const big[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
    static const char *const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
    const char *prefix = "";
    if (fabs(v) >= 1) {
        for (size_t i = 0; i < 8; i++) {
            if (fabs(v) < 1000) break;
            prefix = big[i];
            v /= 1000;
        }
    } else {
        for (size_t i = 0; i < 8; i++) {
            if (fabs(v) >= 1) break;
            prefix = small[i];
            v *= 1000;
        }
    }
    g4(&b, v);
    vg_buf_puts(&b, prefix);
    return ret_buf(c, &b, out);
}

static int fn_humanize1024(template_call_t *c, const template_value_t *a, size_t n,
                           template_value_t *out) {
    (void)n;
    double v;
    if (template_arg_float(c, &a[0], &v)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    if (fabs(v) <= 1 || isnan(v) || isinf(v)) {
        g4(&b, v);
        return ret_buf(c, &b, out);
    }
    static const char *const p1024[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
    const char *prefix = "";
    for (size_t i = 0; i < 8; i++) {
        if (fabs(v) < 1024) break;
        prefix = p1024[i];
        v /= 1024;
    }
    g4(&b, v);
    vg_buf_puts(&b, prefix);
    return ret_buf(c, &b, out);
}

int tpl_fn_humanize_duration(template_call_t *c, const template_value_t *a, size_t n,
                             template_value_t *out) {
    (void)n;
    double v;
    if (template_arg_float(c, &a[0], &v)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    if (isnan(v) || isinf(v)) {
        g4(&b, v);
        return ret_buf(c, &b, out);
    }
    if (v == 0) {
        g4(&b, v);
        vg_buf_putc(&b, 's');
        return ret_buf(c, &b, out);
    }
    if (fabs(v) >= 1) {
        const char *sign = "";
        if (v < 0) {
            sign = "-";
            v = -v;
        }
        /* Go's int64(v) of a value beyond int64 gives MinInt64 on amd64 */
        int64_t d = v >= 9223372036854775808.0 ? INT64_MIN : (int64_t)v;
        int64_t seconds = d % 60, minutes = (d / 60) % 60, hours = (d / 60 / 60) % 24,
                days = d / 60 / 60 / 24;
        if (days != 0)
            vg_buf_printf(&b, "%s%lldd %lldh %lldm %llds", sign, (long long)days, (long long)hours,
                          (long long)minutes, (long long)seconds);
        else if (hours != 0)
            vg_buf_printf(&b, "%s%lldh %lldm %llds", sign, (long long)hours, (long long)minutes,
                          (long long)seconds);
        else if (minutes != 0)
            vg_buf_printf(&b, "%s%lldm %llds", sign, (long long)minutes, (long long)seconds);
        else {
            vg_buf_puts(&b, sign);
            g4(&b, v);
            vg_buf_putc(&b, 's');
        }
        return ret_buf(c, &b, out);
    }
    static const char *const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
    const char *prefix = "";
    for (size_t i = 0; i < 8; i++) {
        if (fabs(v) >= 1) break;
        prefix = small[i];
        v *= 1000;
    }
    g4(&b, v);
    vg_buf_puts(&b, prefix);
    vg_buf_putc(&b, 's');
    return ret_buf(c, &b, out);
}

static int fn_humanize_percentage(template_call_t *c, const template_value_t *a, size_t n,
                                  template_value_t *out) {
    (void)n;
    double v;
    if (template_arg_float(c, &a[0], &v)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    g4(&b, v * 100);
    vg_buf_putc(&b, '%');
    return ret_buf(c, &b, out);
}

/* FloatToTime: NaN/Inf and int64 nanosecond overflow are errors. */
static int float_to_time(template_call_t *c, double v, template_value_t *out, bool *nan_inf) {
    *nan_inf = false;
    if (isnan(v) || isinf(v)) {
        *nan_inf = true;
        return template_call_fail(c, "value is NaN or Inf");
    }
    double ts = v * 1e9;
    if (ts > 9223372036854775807.0 || ts < -9223372036854775808.0) {
        vg_buf_t b = VG_BUF_INIT;
        tpl_fmt_float(&b, v, 'g', -1);
        int rc = template_call_fail(
            c, "%s cannot be represented as a nanoseconds timestamp since it overflows int64",
            b.data);
        vg_buf_free(&b);
        return rc;
    }
    int64_t ns = (ts >= 9223372036854775807.0) ? INT64_MAX : (int64_t)ts;
    /* model.TimeFromUnixNano keeps milliseconds */
    int64_t ms = ns / 1000000;
    *out = template_time_ms(ms);
    return 0;
}

static int fn_humanize_timestamp(template_call_t *c, const template_value_t *a, size_t n,
                                 template_value_t *out) {
    (void)n;
    double v;
    if (template_arg_float(c, &a[0], &v)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    if (isnan(v) || isinf(v)) {
        g4(&b, v);
        return ret_buf(c, &b, out);
    }
    template_value_t t;
    bool ni;
    if (float_to_time(c, v, &t, &ni)) return VG_ERR;
    tpl_time_string(&b, &t);
    return ret_buf(c, &b, out);
}

static int fn_to_time(template_call_t *c, const template_value_t *a, size_t n,
                      template_value_t *out) {
    (void)n;
    double v;
    if (template_arg_float(c, &a[0], &v)) return VG_ERR;
    bool ni;
    if (float_to_time(c, v, out, &ni)) return VG_ERR;
    out->type = &tpl_type_time_ptr; /* Prometheus returns a *time.Time */
    return 0;
}

static int fn_to_duration(template_call_t *c, const template_value_t *a, size_t n,
                          template_value_t *out) {
    (void)n;
    double v;
    if (template_arg_float(c, &a[0], &v)) return VG_ERR;
    double ns = v * 1e9;
    int64_t d = isnan(ns)                      ? INT64_MIN
                : ns >= 9.2233720368547758e18  ? INT64_MIN
                : ns <= -9.2233720368547758e18 ? INT64_MIN
                                               : (int64_t)ns;
    *out = template_duration(d);
    return 0;
}

static int fn_now(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)a;
    (void)n;
    const template_env_t *env = template_call_env(c);
    int64_t ms = env->now_ms ? env->now_ms : vg_time_now_ms();
    *out = template_float((double)ms / 1000.0);
    return 0;
}

static int fn_external_url(template_call_t *c, const template_value_t *a, size_t n,
                           template_value_t *out) {
    (void)a;
    (void)n;
    const template_env_t *env = template_call_env(c);
    *out = template_cstr(env->external_url ? env->external_url : "");
    return 0;
}

static int fn_path_prefix(template_call_t *c, const template_value_t *a, size_t n,
                          template_value_t *out) {
    (void)a;
    (void)n;
    const template_env_t *env = template_call_env(c);
    const char *u = env->external_url ? env->external_url : "";
    /* the path of scheme://host[:port]/path?query */
    const char *p = strstr(u, "://");
    p = p ? strchr(p + 3, '/') : (u[0] == '/' ? u : NULL);
    if (!p) {
        *out = template_str("", 0);
        return 0;
    }
    size_t len = strcspn(p, "?#");
    *out = template_str(p, len);
    return 0;
}

static int fn_parse_duration(template_call_t *c, const template_value_t *a, size_t n,
                             template_value_t *out) {
    (void)n;
    const char *s;
    size_t len;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    bool neg = len > 0 && s[0] == '-';
    int64_t ms;
    if (len == 0) return template_call_fail(c, "empty duration string");
    if (vg_duration_parse(s + neg, len - neg, &ms) != 0)
        return template_call_fail(c, "not a valid duration string: \"%.*s\"", (int)len, s);
    *out = template_float((double)(neg ? -ms : ms) / 1000.0);
    return 0;
}

static int fn_url_query_escape(template_call_t *c, const template_value_t *a, size_t n,
                               template_value_t *out) {
    (void)n;
    const char *s;
    size_t len;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    tpl_url_query_escape(&b, s, len);
    return ret_buf(c, &b, out);
}

static int link(template_call_t *c, const template_value_t *a, template_value_t *out, char tab) {
    const char *s;
    size_t len;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_puts(&b, "/graph?g0.expr=");
    tpl_url_query_escape(&b, s, len);
    vg_buf_printf(&b, "&g0.tab=%c", tab);
    return ret_buf(c, &b, out);
}
static int fn_graph_link(template_call_t *c, const template_value_t *a, size_t n,
                         template_value_t *out) {
    (void)n;
    return link(c, a, out, '0');
}
static int fn_table_link(template_call_t *c, const template_value_t *a, size_t n,
                         template_value_t *out) {
    (void)n;
    return link(c, a, out, '1');
}

/* net.SplitHostPort; returns false on error. */
static bool split_host_port(const char *s, size_t len, size_t *hs, size_t *hl, size_t *ps) {
    const char *colon = NULL;
    for (size_t i = len; i > 0; i--)
        if (s[i - 1] == ':') {
            colon = s + i - 1;
            break;
        }
    if (!colon) return false;
    size_t i = (size_t)(colon - s);
    size_t j = 0, k = 0;
    if (len > 0 && s[0] == '[') {
        const char *end = memchr(s, ']', len);
        if (!end) return false;
        size_t e = (size_t)(end - s);
        if (e + 1 != i) return false;
        *hs = 1;
        *hl = e - 1;
        j = 1;
        k = e + 1;
    } else {
        if (memchr(s, ':', i)) return false;
        *hs = 0;
        *hl = i;
    }
    if (memchr(s + j, '[', len - j)) return false;
    if (memchr(s + k, ']', len - k)) return false;
    *ps = i + 1;
    return true;
}

static int fn_strip_port(template_call_t *c, const template_value_t *a, size_t n,
                         template_value_t *out) {
    (void)n;
    const char *s;
    size_t len, hs, hl, ps;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    if (!split_host_port(s, len, &hs, &hl, &ps)) {
        *out = a[0];
        return 0;
    }
    *out = template_str(s + hs, hl);
    return 0;
}

static bool parse_ip(const char *s, size_t len) {
    char buf[64];
    unsigned char addr[16];
    if (len == 0 || len >= sizeof buf) return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, addr) == 1) return true;
    /* Go's ParseIP has no zones: "fe80::1%eth0" is not an IP */
    return inet_pton(AF_INET6, buf, addr) == 1;
}

static int fn_strip_domain(template_call_t *c, const template_value_t *a, size_t n,
                           template_value_t *out) {
    (void)n;
    const char *s;
    size_t len, hs = 0, hl = 0, ps = 0;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    bool has_port = split_host_port(s, len, &hs, &hl, &ps);
    if (!has_port) {
        hs = 0;
        hl = len;
    }
    if (parse_ip(s + hs, hl)) {
        *out = a[0];
        return 0;
    }
    const char *dot = memchr(s + hs, '.', hl);
    size_t h = dot ? (size_t)(dot - (s + hs)) : hl;
    vg_buf_t b = VG_BUF_INIT;
    if (has_port && ps < len + 1 && len - ps > 0) {
        bool v6 = memchr(s + hs, ':', h) != NULL;
        if (v6) vg_buf_putc(&b, '[');
        vg_buf_append(&b, s + hs, h);
        if (v6) vg_buf_putc(&b, ']');
        vg_buf_putc(&b, ':');
        vg_buf_append(&b, s + ps, len - ps);
    } else {
        vg_buf_append(&b, s + hs, h);
    }
    return ret_buf(c, &b, out);
}

int tpl_fn_to_upper(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    (void)n;
    const char *s;
    size_t len;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    tpl_case_map(&b, s, len, true);
    return ret_buf(c, &b, out);
}

int tpl_fn_to_lower(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    (void)n;
    const char *s;
    size_t len;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    tpl_case_map(&b, s, len, false);
    return ret_buf(c, &b, out);
}

static int fn_title_nolower(template_call_t *c, const template_value_t *a, size_t n,
                            template_value_t *out) {
    (void)n;
    const char *s;
    size_t len;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    tpl_title(&b, s, len, false);
    return ret_buf(c, &b, out);
}

int tpl_fn_match(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    (void)n;
    const char *p, *s;
    size_t pl, sl;
    if (template_arg_str(c, &a[0], &p, &pl) || template_arg_str(c, &a[1], &s, &sl)) return VG_ERR;
    bool m;
    if (tpl_regex_match(c, p, pl, s, sl, &m)) return VG_ERR;
    *out = template_bool(m);
    return 0;
}

int tpl_fn_re_replace_all(template_call_t *c, const template_value_t *a, size_t n,
                          template_value_t *out) {
    (void)n;
    const char *p, *r, *s;
    size_t pl, rl, sl;
    if (template_arg_str(c, &a[0], &p, &pl) || template_arg_str(c, &a[1], &r, &rl) ||
        template_arg_str(c, &a[2], &s, &sl))
        return VG_ERR;
    vg_buf_t b = VG_BUF_INIT;
    if (tpl_regex_replace_all(c, p, pl, r, rl, s, sl, &b)) {
        vg_buf_free(&b);
        return VG_ERR;
    }
    return ret_buf(c, &b, out);
}

static const template_type_t html_type = {.name = "template.HTML"};

int tpl_fn_safe_html(template_call_t *c, const template_value_t *a, size_t n,
                     template_value_t *out) {
    (void)n;
    const char *s;
    size_t len;
    if (template_arg_str(c, &a[0], &s, &len)) return VG_ERR;
    *out = template_str(s, len);
    out->flags |= TEMPLATE_F_HTML;
    out->type = &html_type;
    return 0;
}

/* ------------------------------------------------------- query results */

static int need_result(template_call_t *c, const template_value_t *v) {
    if (v->kind == TEMPLATE_LIST) return 0;
    c->msg_plain = true;
    if (v->kind == TEMPLATE_NIL)
        return template_call_fail(c, "invalid value; expected template.queryResult");
    return template_call_fail(c, "wrong type for value; expected template.queryResult; got %s",
                              template_value_type_name(v));
}

static int need_sample(template_call_t *c, const template_value_t *v) {
    if (v->kind == TEMPLATE_OBJECT && v->type == &tpl_type_sample) {
        if (!v->u.obj.self)
            return template_call_fail(
                c, "runtime error: invalid memory address or nil pointer dereference");
        return 0;
    }
    c->msg_plain = true;
    if (v->kind == TEMPLATE_NIL) {
        c->msg_plain = false;
        return template_call_fail(
            c, "runtime error: invalid memory address or nil pointer dereference");
    }
    return template_call_fail(c, "wrong type for value; expected *template.sample; got %s",
                              template_value_type_name(v));
}

static const template_type_t query_result_type = {.name = "template.queryResult"};

static int fn_query(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    (void)n;
    const char *q;
    size_t ql;
    if (template_arg_str(c, &a[0], &q, &ql)) return VG_ERR;
    const template_env_t *env = template_call_env(c);
    if (!env->query) return template_call_fail(c, "queries are not available here");
    vg_err_t err = {0};
    if (env->query(env->query_ctx, c, q, ql, out, &err) != 0) {
        if (c->failed) return VG_ERR;
        return template_call_fail(c, "%s", err.msg[0] ? err.msg : "query failed");
    }
    if (out->kind != TEMPLATE_LIST) return template_call_fail(c, "query did not return a vector");
    out->type = &query_result_type;
    return 0;
}

static int fn_first(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    (void)n;
    if (need_result(c, &a[0])) return VG_ERR;
    if (!a[0].u.list || a[0].u.list->n == 0)
        return template_call_fail(c, "first() called on vector with no elements");
    *out = a[0].u.list->items[0];
    return 0;
}

static const template_value_t *sample_labels(const template_value_t *s) {
    return &((const template_value_t *)s->u.obj.self)[0];
}

static int fn_label(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    (void)n;
    const char *l;
    size_t ll;
    if (template_arg_str(c, &a[0], &l, &ll) || need_sample(c, &a[1])) return VG_ERR;
    const template_value_t *labels = sample_labels(&a[1]);
    const template_value_t *v =
        labels->kind == TEMPLATE_MAP ? template_map_get(labels->u.map, l, ll) : NULL;
    *out = v ? *v : template_str("", 0);
    return 0;
}

static int fn_value(template_call_t *c, const template_value_t *a, size_t n,
                    template_value_t *out) {
    (void)n;
    if (need_sample(c, &a[0])) return VG_ERR;
    return a[0].type->field(c, &a[0], "Value", 5, out);
}

static int fn_strvalue(template_call_t *c, const template_value_t *a, size_t n,
                       template_value_t *out) {
    (void)n;
    if (need_sample(c, &a[0])) return VG_ERR;
    const template_value_t *labels = sample_labels(&a[0]);
    const template_value_t *v =
        labels->kind == TEMPLATE_MAP ? template_map_get(labels->u.map, "__value__", 9) : NULL;
    *out = v ? *v : template_str("", 0);
    return 0;
}

static int fn_args(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out) {
    template_map_t *m = template_call_alloc(c, sizeof *m);
    template_map_entry_t *e = template_call_alloc(c, (n ? n : 1) * sizeof *e);
    if (!m || !e) return VG_ERR;
    for (size_t i = 0; i < n; i++) {
        char *k = template_call_alloc(c, 24);
        if (!k) return VG_ERR;
        int kl = snprintf(k, 24, "arg%zu", i);
        e[i].key = k;
        e[i].key_len = (size_t)kl;
        e[i].value = a[i];
    }
    m->n = n;
    m->entries = e;
    m->elem_kind = TEMPLATE_NIL;
    template_map_sort(m);
    *out = template_map(m);
    return 0;
}

typedef struct sort_item {
    const template_value_t *v;
    const char *key;
    size_t key_len;
    size_t pos;
} sort_item_t;

static int sort_cmp(const void *x, const void *y) {
    const sort_item_t *a = x, *b = y;
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int r = n ? memcmp(a->key, b->key, n) : 0;
    if (r == 0) r = a->key_len < b->key_len ? -1 : a->key_len > b->key_len ? 1 : 0;
    if (r == 0) r = a->pos < b->pos ? -1 : 1; /* stable */
    return r;
}

static int fn_sort_by_label(template_call_t *c, const template_value_t *a, size_t n,
                            template_value_t *out) {
    (void)n;
    const char *l;
    size_t ll;
    if (template_arg_str(c, &a[0], &l, &ll) || need_result(c, &a[1])) return VG_ERR;
    const template_list_t *in = a[1].u.list;
    size_t cnt = in ? in->n : 0;
    sort_item_t *items = template_call_alloc(c, (cnt ? cnt : 1) * sizeof *items);
    template_list_t *ol = template_call_alloc(c, sizeof *ol);
    template_value_t *ov = template_call_alloc(c, (cnt ? cnt : 1) * sizeof *ov);
    if (!items || !ol || !ov) return VG_ERR;
    for (size_t i = 0; i < cnt; i++) {
        items[i].v = &in->items[i];
        items[i].pos = i;
        items[i].key = "";
        items[i].key_len = 0;
        const template_value_t *s = &in->items[i];
        if (s->kind == TEMPLATE_OBJECT && s->type == &tpl_type_sample && s->u.obj.self) {
            const template_value_t *labels = sample_labels(s);
            const template_value_t *v =
                labels->kind == TEMPLATE_MAP ? template_map_get(labels->u.map, l, ll) : NULL;
            if (v && v->kind == TEMPLATE_STRING) {
                items[i].key = v->u.str.s;
                items[i].key_len = v->u.str.len;
            }
        }
    }
    qsort(items, cnt, sizeof *items, sort_cmp);
    for (size_t i = 0; i < cnt; i++)
        ov[i] = *items[i].v;
    ol->n = cnt;
    ol->items = ov;
    *out = template_list(ol);
    out->type = a[1].type;
    return 0;
}

static const template_func_t prom_funcs[] = {
    {"args", fn_args, 0, -1},
    {"externalURL", fn_external_url, 0, 0},
    {"first", fn_first, 1, 1},
    {"graphLink", fn_graph_link, 1, 1},
    {"humanize", fn_humanize, 1, 1},
    {"humanize1024", fn_humanize1024, 1, 1},
    {"humanizeDuration", tpl_fn_humanize_duration, 1, 1},
    {"humanizePercentage", fn_humanize_percentage, 1, 1},
    {"humanizeTimestamp", fn_humanize_timestamp, 1, 1},
    {"label", fn_label, 2, 2},
    {"match", tpl_fn_match, 2, 2},
    {"now", fn_now, 0, 0},
    {"parseDuration", fn_parse_duration, 1, 1},
    {"pathPrefix", fn_path_prefix, 0, 0},
    {"query", fn_query, 1, 1},
    {"reReplaceAll", tpl_fn_re_replace_all, 3, 3},
    {"safeHtml", tpl_fn_safe_html, 1, 1},
    {"sortByLabel", fn_sort_by_label, 2, 2},
    {"stripDomain", fn_strip_domain, 1, 1},
    {"stripPort", fn_strip_port, 1, 1},
    {"strvalue", fn_strvalue, 1, 1},
    {"tableLink", fn_table_link, 1, 1},
    {"title", fn_title_nolower, 1, 1},
    {"toDuration", fn_to_duration, 1, 1},
    {"toLower", tpl_fn_to_lower, 1, 1},
    {"toTime", fn_to_time, 1, 1},
    {"toUpper", tpl_fn_to_upper, 1, 1},
    {"urlQueryEscape", fn_url_query_escape, 1, 1},
    {"value", fn_value, 1, 1},
};

const template_funcs_t template_funcs_prometheus = {prom_funcs,
                                                    sizeof prom_funcs / sizeof prom_funcs[0]};
