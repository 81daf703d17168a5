/* This file implements `vigil test rules`: promtool's rule unit-test files
 * (rule_files, evaluation_interval, group_eval_order, fuzzy_compare, tests
 * with interval, input_series in the expanding notation, alert_rule_test,
 * promql_expr_test, external_labels, external_url, name, start_timestamp).
 * Each test group loads its series into a temporary store, evaluates the
 * rule groups at every evaluation interval up to the last eval_time,
 * checks firing alerts at their times and PromQL expressions afterwards,
 * and reports as promtool does, with its output and exit status. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "rules/rules_int.h"

#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <math.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_MS INT64_C(1000000)
#define MAX_EXPANSION 1000000L

/* ------------------------------------------------------------- the file */

typedef struct ut_series {
    const char *series, *values;
} ut_series_t;

typedef struct ut_exp_alert {
    config_label_t *labels;
    size_t n_labels;
    config_label_t *annotations;
    size_t n_annotations;
} ut_exp_alert_t;

typedef struct ut_alert_test {
    int64_t eval_time_ms;
    const char *alertname;
    ut_exp_alert_t *exp;
    size_t n_exp;
} ut_alert_test_t;

typedef struct ut_sample {
    const char *labels;
    double value;
    const char *histogram;
} ut_sample_t;

typedef struct ut_promql_test {
    const char *expr;
    int64_t eval_time_ms;
    ut_sample_t *exp;
    size_t n_exp;
} ut_promql_test_t;

typedef struct ut_group {
    int64_t interval_ms;
    ut_series_t *series;
    size_t n_series;
    ut_alert_test_t *alerts;
    size_t n_alerts;
    ut_promql_test_t *exprs;
    size_t n_exprs;
    config_label_t *external_labels;
    size_t n_external_labels;
    const char *external_url;
    const char *name;
    int64_t start_ms;
} ut_group_t;

typedef struct ut_file {
    const char **rule_files;
    size_t n_rule_files;
    int64_t evaluation_interval_ms;
    const char **group_eval_order;
    size_t n_group_eval_order;
    ut_group_t *tests;
    size_t n_tests;
    bool fuzzy_compare;
} ut_file_t;

typedef struct dec {
    vg_arena_t *arena;
    ry_errs_t terr;
    char *fatal;
} dec_t;

static void *dz(dec_t *d, size_t n) {
    void *p = vg_arena_alloc(d->arena, n ? n : 1);
    if (!p) abort();
    memset(p, 0, n ? n : 1);
    return p;
}

static void terror(dec_t *d, const ytree_node_t *n, const char *type) {
    if (n->kind == YTREE_NODE_SCALAR) {
        if (n->len > 10)
            ry_errs_add(&d->terr, "line %u: cannot unmarshal %s `%.7s...` into %s", n->line,
                        ytree_tag_name(n->tag), n->str, type);
        else
            ry_errs_add(&d->terr, "line %u: cannot unmarshal %s `%s` into %s", n->line,
                        ytree_tag_name(n->tag), n->str, type);
    } else {
        ry_errs_add(&d->terr, "line %u: cannot unmarshal %s into %s", n->line,
                    ytree_tag_name(n->tag), type);
    }
}

/* Checks a mapping's keys against known ones (yaml.v2 UnmarshalStrict). */
static bool strict_map(dec_t *d, const ytree_node_t *n, const char *type,
                       const char *const *known) {
    if (ytree_is_null(n)) return false;
    if (n->kind != YTREE_NODE_MAP) {
        terror(d, n, type);
        return false;
    }
    for (size_t i = 0; i < 2 * n->n; i += 2) {
        const ytree_node_t *k = n->kids[i];
        for (size_t j = 0; j < i; j += 2) {
            const ytree_node_t *p = n->kids[j];
            if (k->kind == YTREE_NODE_SCALAR && p->kind == YTREE_NODE_SCALAR && k->len == p->len &&
                memcmp(k->str, p->str, k->len) == 0) {
                ry_errs_add(&d->terr, "line %u: key \"%s\" already set in map", k->line, k->str);
                break;
            }
        }
        if (!known || k->kind != YTREE_NODE_SCALAR) continue;
        bool ok = false;
        for (size_t j = 0; known[j] && !ok; j++)
            ok = strlen(known[j]) == k->len && memcmp(known[j], k->str, k->len) == 0;
        if (!ok)
            ry_errs_add(&d->terr, "line %u: field %s not found in type %s", k->line, k->str, type);
    }
    return true;
}

static const ytree_node_t *get(const ytree_node_t *m, const char *key) {
    const ytree_node_t *v = NULL;
    for (size_t i = 0; m && m->kind == YTREE_NODE_MAP && i < 2 * m->n; i += 2)
        if (m->kids[i]->kind == YTREE_NODE_SCALAR && strcmp(m->kids[i]->str, key) == 0)
            v = m->kids[i + 1];
    return v;
}

static const char *d_str(dec_t *d, const ytree_node_t *n) {
    if (ytree_is_null(n)) return "";
    if (n->kind != YTREE_NODE_SCALAR) {
        terror(d, n, "string");
        return "";
    }
    const char *s = vg_arena_strndup(d->arena, n->str, n->len);
    if (!s) abort();
    return s;
}

static int64_t d_dur(dec_t *d, const ytree_node_t *n) {
    if (ytree_is_null(n)) return 0;
    if (n->kind != YTREE_NODE_SCALAR) {
        terror(d, n, "string");
        return 0;
    }
    int64_t ms = 0;
    if (vg_duration_parse(n->str, n->len, &ms) != VG_OK && !d->fatal) {
        vg_buf_t b = VG_BUF_INIT;
        vg_buf_puts(&b, "not a valid duration string: ");
        promql_quote(n->str, n->len, &b);
        d->fatal = vg_buf_detach(&b);
    }
    return ms;
}

static double d_float(dec_t *d, const ytree_node_t *n) {
    if (ytree_is_null(n)) return 0;
    if (n->kind != YTREE_NODE_SCALAR || (n->tag != YTREE_TAG_INT && n->tag != YTREE_TAG_FLOAT)) {
        terror(d, n, "float64");
        return 0;
    }
    const char *s = n->str;
    bool neg = s[0] == '-';
    const char *p = s + (s[0] == '-' || s[0] == '+');
    if (strcasecmp(p, ".inf") == 0) return neg ? -INFINITY : INFINITY;
    if (strcasecmp(p, ".nan") == 0) return NAN;
    vg_buf_t b = VG_BUF_INIT;
    for (size_t i = 0; i < n->len; i++)
        if (s[i] != '_') vg_buf_putc(&b, s[i]);
    double v = strtod(b.data, NULL);
    if (n->tag == YTREE_TAG_INT) v = (double)strtoll(b.data, NULL, 0);
    vg_buf_free(&b);
    return v;
}

static bool d_bool(dec_t *d, const ytree_node_t *n) {
    if (ytree_is_null(n)) return false;
    if (n->kind != YTREE_NODE_SCALAR || n->tag != YTREE_TAG_BOOL) {
        terror(d, n, "bool");
        return false;
    }
    return n->str[0] == 't' || n->str[0] == 'T';
}

static int lcmp(const void *a, const void *b) {
    return strcmp(((const config_label_t *)a)->name, ((const config_label_t *)b)->name);
}

static config_label_t *d_map(dec_t *d, const ytree_node_t *n, size_t *out_n) {
    *out_n = 0;
    if (ytree_is_null(n)) return NULL;
    if (!strict_map(d, n, "map[string]string", NULL)) return NULL;
    config_label_t *v = dz(d, (n->n) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < 2 * n->n; i += 2) {
        v[k].name = d_str(d, n->kids[i]);
        v[k].value = d_str(d, n->kids[i + 1]);
        k++;
    }
    qsort(v, k, sizeof *v, lcmp);
    *out_n = k;
    return v;
}

static const char **d_strlist(dec_t *d, const ytree_node_t *n, size_t *out_n) {
    *out_n = 0;
    if (ytree_is_null(n)) return NULL;
    if (n->kind != YTREE_NODE_SEQ) {
        terror(d, n, "[]string");
        return NULL;
    }
    const char **v = dz(d, n->n * sizeof *v);
    for (size_t i = 0; i < n->n; i++)
        v[i] = d_str(d, n->kids[i]);
    *out_n = n->n;
    return v;
}

/* Unix seconds (with a fraction) or RFC 3339, as promtool's parseTime. */
static bool parse_time(const char *s, int64_t *out_ms) {
    char *end;
    double f = strtod(s, &end);
    if (*s && !*end) {
        *out_ms = (int64_t)llround(f * 1000);
        return true;
    }
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) return false;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    if (*p == '.') {
        int64_t frac = 0, scale = 1000;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            scale /= 10;
            frac += (*p - '0') * scale;
            if (scale == 0) scale = 0;
        }
        ms += frac;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh = 0, mm = 0;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2) return false;
        int64_t off = (int64_t)(hh * 3600 + mm * 60) * 1000;
        ms += *p == '+' ? -off : off;
        p += 6;
    }
    if (*p) return false;
    *out_ms = ms;
    return true;
}

static void dec_group(dec_t *d, const ytree_node_t *n, ut_group_t *g) {
    static const char *const known[] = {"interval",
                                        "input_series",
                                        "alert_rule_test",
                                        "promql_expr_test",
                                        "external_labels",
                                        "external_url",
                                        "name",
                                        "start_timestamp",
                                        NULL};
    if (!strict_map(d, n, "main.testGroup", known)) return;
    g->interval_ms = d_dur(d, get(n, "interval"));
    const ytree_node_t *is = get(n, "input_series");
    if (!ytree_is_null(is)) {
        if (is->kind != YTREE_NODE_SEQ) {
            terror(d, is, "[]main.series");
        } else {
            g->series = dz(d, is->n * sizeof *g->series);
            g->n_series = is->n;
            for (size_t i = 0; i < is->n; i++) {
                static const char *const sk[] = {"series", "values", NULL};
                strict_map(d, is->kids[i], "main.series", sk);
                g->series[i].series = d_str(d, get(is->kids[i], "series"));
                g->series[i].values = d_str(d, get(is->kids[i], "values"));
            }
        }
    }
    const ytree_node_t *at = get(n, "alert_rule_test");
    if (!ytree_is_null(at)) {
        if (at->kind != YTREE_NODE_SEQ) {
            terror(d, at, "[]main.alertTestCase");
        } else {
            g->alerts = dz(d, at->n * sizeof *g->alerts);
            g->n_alerts = at->n;
            for (size_t i = 0; i < at->n; i++) {
                static const char *const ak[] = {"eval_time", "alertname", "exp_alerts", NULL};
                ut_alert_test_t *t = &g->alerts[i];
                const ytree_node_t *an = at->kids[i];
                strict_map(d, an, "main.alertTestCase", ak);
                t->eval_time_ms = d_dur(d, get(an, "eval_time"));
                t->alertname = d_str(d, get(an, "alertname"));
                const ytree_node_t *ea = get(an, "exp_alerts");
                if (ytree_is_null(ea)) continue;
                if (ea->kind != YTREE_NODE_SEQ) {
                    terror(d, ea, "[]main.alert");
                    continue;
                }
                t->exp = dz(d, ea->n * sizeof *t->exp);
                t->n_exp = ea->n;
                for (size_t k = 0; k < ea->n; k++) {
                    static const char *const ek[] = {"exp_labels", "exp_annotations", NULL};
                    strict_map(d, ea->kids[k], "main.alert", ek);
                    t->exp[k].labels =
                        d_map(d, get(ea->kids[k], "exp_labels"), &t->exp[k].n_labels);
                    t->exp[k].annotations =
                        d_map(d, get(ea->kids[k], "exp_annotations"), &t->exp[k].n_annotations);
                }
            }
        }
    }
    const ytree_node_t *pt = get(n, "promql_expr_test");
    if (!ytree_is_null(pt)) {
        if (pt->kind != YTREE_NODE_SEQ) {
            terror(d, pt, "[]main.promqlTestCase");
        } else {
            g->exprs = dz(d, pt->n * sizeof *g->exprs);
            g->n_exprs = pt->n;
            for (size_t i = 0; i < pt->n; i++) {
                static const char *const pk[] = {"expr", "eval_time", "exp_samples", NULL};
                ut_promql_test_t *t = &g->exprs[i];
                const ytree_node_t *pn = pt->kids[i];
                strict_map(d, pn, "main.promqlTestCase", pk);
                t->expr = d_str(d, get(pn, "expr"));
                t->eval_time_ms = d_dur(d, get(pn, "eval_time"));
                const ytree_node_t *es = get(pn, "exp_samples");
                if (ytree_is_null(es)) continue;
                if (es->kind != YTREE_NODE_SEQ) {
                    terror(d, es, "[]main.sample");
                    continue;
                }
                t->exp = dz(d, es->n * sizeof *t->exp);
                t->n_exp = es->n;
                for (size_t k = 0; k < es->n; k++) {
                    static const char *const sk[] = {"labels", "value", "histogram", NULL};
                    strict_map(d, es->kids[k], "main.sample", sk);
                    t->exp[k].labels = d_str(d, get(es->kids[k], "labels"));
                    t->exp[k].value = d_float(d, get(es->kids[k], "value"));
                    t->exp[k].histogram = d_str(d, get(es->kids[k], "histogram"));
                }
            }
        }
    }
    g->external_labels = d_map(d, get(n, "external_labels"), &g->n_external_labels);
    g->external_url = d_str(d, get(n, "external_url"));
    g->name = d_str(d, get(n, "name"));
    const char *st = d_str(d, get(n, "start_timestamp"));
    if (*st && !parse_time(st, &g->start_ms) && !d->fatal) {
        vg_buf_t b = VG_BUF_INIT;
        vg_buf_printf(&b, "cannot parse \"%s\" to a valid timestamp", st);
        d->fatal = vg_buf_detach(&b);
    }
}

static void dec_file(dec_t *d, const ytree_node_t *root, ut_file_t *f) {
    static const char *const known[] = {"rule_files", "evaluation_interval", "group_eval_order",
                                        "tests",      "fuzzy_compare",       NULL};
    if (!strict_map(d, root, "main.unitTestFile", known)) return;
    f->rule_files = d_strlist(d, get(root, "rule_files"), &f->n_rule_files);
    f->evaluation_interval_ms = d_dur(d, get(root, "evaluation_interval"));
    f->group_eval_order = d_strlist(d, get(root, "group_eval_order"), &f->n_group_eval_order);
    f->fuzzy_compare = d_bool(d, get(root, "fuzzy_compare"));
    const ytree_node_t *t = get(root, "tests");
    if (ytree_is_null(t)) return;
    if (t->kind != YTREE_NODE_SEQ) {
        terror(d, t, "[]main.testGroup");
        return;
    }
    f->tests = dz(d, t->n * sizeof *f->tests);
    f->n_tests = t->n;
    for (size_t i = 0; i < t->n; i++)
        dec_group(d, t->kids[i], &f->tests[i]);
}

/* ------------------------------------------------------------ reporting */

typedef struct report {
    char **msgs;
    size_t n, cap;
} report_t;

static void report_add(report_t *r, char *msg) {
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->msgs = vg_realloc(r->msgs, r->cap * sizeof *r->msgs);
    }
    r->msgs[r->n++] = msg;
}

static void report_addf(report_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report_addf(report_t *r, const char *fmt, ...) {
    vg_buf_t b = VG_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    vg_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    report_add(r, vg_buf_detach(&b));
}

/* Go's time.Duration.String() for whole milliseconds. */
static void go_duration(int64_t ms, char *out, size_t len) {
    if (ms == 0) {
        snprintf(out, len, "0s");
        return;
    }
    bool neg = ms < 0;
    uint64_t u = neg ? (uint64_t)(-ms) : (uint64_t)ms;
    if (u < 1000) {
        snprintf(out, len, "%s%llums", neg ? "-" : "", (unsigned long long)u);
        return;
    }
    uint64_t h = u / 3600000, m = (u / 60000) % 60, s = (u / 1000) % 60, frac = u % 1000;
    char sec[32];
    if (frac) {
        snprintf(sec, sizeof sec, "%llu.%03llu", (unsigned long long)s, (unsigned long long)frac);
        size_t n = strlen(sec);
        while (sec[n - 1] == '0')
            sec[--n] = '\0';
    } else {
        snprintf(sec, sizeof sec, "%llu", (unsigned long long)s);
    }
    if (h)
        snprintf(out, len, "%s%lluh%llum%ss", neg ? "-" : "", (unsigned long long)h,
                 (unsigned long long)m, sec);
    else if (m)
        snprintf(out, len, "%s%llum%ss", neg ? "-" : "", (unsigned long long)m, sec);
    else
        snprintf(out, len, "%s%ss", neg ? "-" : "", sec);
}

static void indent_lines(vg_buf_t *out, const char *s, const char *indent) {
    for (const char *p = s; *p; p++) {
        vg_buf_putc(out, *p);
        if (*p == '\n') vg_buf_puts(out, indent);
    }
}

typedef struct la {
    labels_t *labels;
    labels_t *annotations;
} la_t;

static int la_cmp(const void *a, const void *b) {
    const la_t *x = a, *y = b;
    int c = labels_compare(x->labels, y->labels);
    return c ? c : labels_compare(x->annotations, y->annotations);
}

static void la_string(const la_t *v, size_t n, vg_buf_t *out) {
    if (n == 0) {
        vg_buf_puts(out, "[]");
        return;
    }
    vg_buf_puts(out, "[");
    for (size_t i = 0; i < n; i++) {
        vg_buf_t one = VG_BUF_INIT;
        vg_buf_puts(&one, "\nLabels:");
        labels_format(v[i].labels, &one);
        vg_buf_puts(&one, "\nAnnotations:");
        labels_format(v[i].annotations, &one);
        vg_buf_printf(out, "%s%zu:", i ? ",\n" : "\n", i);
        indent_lines(out, one.data, "  ");
        vg_buf_free(&one);
    }
    vg_buf_puts(out, "\n]");
}

static void la_free(la_t *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        labels_free(v[i].labels);
        labels_free(v[i].annotations);
    }
    free(v);
}

static labels_t *labels_from_cfg(const config_label_t *v, size_t n, const char *extra_name,
                                 const char *extra_value) {
    labels_builder_t *b = labels_builder_new();
    labels_builder_reset(b, NULL);
    for (size_t i = 0; i < n; i++)
        labels_builder_set_s(b, v[i].name, v[i].value);
    if (extra_name) labels_builder_set_s(b, extra_name, extra_value);
    labels_t *ls = labels_builder_labels(b);
    labels_builder_free(b);
    return ls;
}

static bool float_equal(double a, double b, bool fuzzy) {
    if (a == b) return true;
    if (!fuzzy) return false;
    return nextafter(a, -INFINITY) == b || nextafter(a, INFINITY) == b;
}

/* ------------------------------------------------------ series notation */

/* A float as the series notation writes it (no hex: "0x5" is 0 six
 * times). Returns the bytes used, 0 if none. */
static size_t scan_number(const char *s, double *out) {
    size_t i = 0;
    bool neg = false;
    if (s[i] == '+' || s[i] == '-') neg = s[i++] == '-';
    if (strncasecmp(s + i, "inf", 3) == 0) {
        *out = neg ? -INFINITY : INFINITY;
        return i + 3;
    }
    if (strncasecmp(s + i, "nan", 3) == 0) {
        *out = NAN;
        return i + 3;
    }
    size_t start = i, digits = 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (s[i] == '.')
        for (i++; s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    if (!digits) return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        size_t k = i + 1;
        if (s[k] == '+' || s[k] == '-') k++;
        if (s[k] >= '0' && s[k] <= '9') {
            while (s[k] >= '0' && s[k] <= '9')
                k++;
            i = k;
        }
    }
    char tmp[64];
    if (i - start >= sizeof tmp) return 0;
    memcpy(tmp, s + start, i - start);
    tmp[i - start] = '\0';
    double v = strtod(tmp, NULL);
    *out = neg ? -v : v;
    return i;
}

static size_t scan_times(const char *s, long *out) {
    if (s[0] != 'x' || s[1] < '0' || s[1] > '9') return 0;
    char *end;
    *out = strtol(s + 1, &end, 10);
    return (size_t)(end - s);
}

/* Appends the samples of a values string, one slot per interval from
 * start; omitted slots are skipped. */
static int load_values(tsdb_appender_t *app, const labels_t *ls, const char *p, int64_t start,
                       int64_t interval, vg_err_t *err) {
    uint64_t ref = 0;
    int64_t slot = 0;
    size_t total = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (!*p) return VG_OK;
        long times = 0;
        size_t n;
        double a = 0, step = 0;
        bool omit = false, stale = false;
        if (*p == '_') {
            omit = true;
            p++;
            if ((n = scan_times(p, &times))) {
                p += n;
                times--; /* "_x3" is three omitted values */
            }
        } else if (strncmp(p, "stale", 5) == 0) {
            stale = true;
            p += 5;
        } else {
            if (!(n = scan_number(p, &a))) goto bad;
            p += n;
            if ((*p == '+' || *p == '-') && (n = scan_number(p + 1, &step))) {
                if (*p == '-') step = -step;
                p += 1 + n;
                if (!(n = scan_times(p, &times))) goto bad;
                p += n;
            } else if ((n = scan_times(p, &times))) {
                p += n;
            }
        }
        if (*p && *p != ' ' && *p != '\t' && *p != '\n') goto bad;
        if (times < 0 || times > MAX_EXPANSION || (total += (size_t)times + 1) > MAX_EXPANSION)
            return vg_err_set(err, VG_ERR_LIMIT, "too many values in series %s", p);
        double v = a;
        for (long k = 0; k <= times; k++, slot++) {
            if (omit) continue;
            double x = stale ? rules_stale_nan() : v;
            vg_err_t aerr = {0};
            int rc = tsdb_appender_add(app, ls, &ref, start + slot * interval, x, &aerr);
            if (rc != VG_OK && rc != TSDB_ERR_DUPLICATE && rc != TSDB_ERR_OUT_OF_ORDER)
                return vg_err_set(err, rc, "%s", aerr.msg);
            v += step; /* added step by step, as Prometheus does */
        }
    }
bad:
    return vg_err_set(err, VG_ERR_INPUT, "error parsing series values at \"%.40s\"", p);
}

/* A metric as promtool's ParseMetric reads it: name{l="v", ...}. */
static int parse_metric(const char *s, labels_t **out, vg_err_t *err) {
    const char *t = s;
    while (*t == ' ')
        t++;
    if (!*t || strcmp(t, "{}") == 0) {
        *out = labels_new_empty();
        return VG_OK;
    }
    promql_ast_t *ast = NULL;
    if (promql_parse(s, strlen(s), NULL, &ast, NULL, err) != VG_OK) return VG_ERR_INPUT;
    const promql_expr_t *e = ast->root;
    if (e->kind != PROMQL_VECTOR || e->u.vector.mod.offset_ms || e->u.vector.mod.at) {
        promql_ast_free(ast);
        return vg_err_set(err, VG_ERR_INPUT, "expected a series description");
    }
    labels_builder_t *b = labels_builder_new();
    labels_builder_reset(b, NULL);
    int rc = VG_OK;
    for (size_t i = 0; i < e->u.vector.n_matchers; i++) {
        const promql_matcher_t *m = &e->u.vector.matchers[i];
        if (m->type != LABELS_MATCH_EQUAL) {
            rc = vg_err_set(err, VG_ERR_INPUT, "1:%u: parse error: unexpected label matcher",
                            e->start + 1);
            break;
        }
        labels_builder_set(b, m->name.s, m->name.len, m->value.s, m->value.len);
    }
    if (rc == VG_OK) *out = labels_builder_labels(b);
    labels_builder_free(b);
    promql_ast_free(ast);
    return rc;
}

/* ----------------------------------------------------------- one group */

typedef struct ut_ctx {
    const ut_file_t *file;
    const char *const *rule_files;
    size_t n_rule_files;
    const char *tmp_dir;
} ut_ctx_t;

static int64_t max_eval_time(const ut_group_t *g) {
    int64_t m = 0;
    for (size_t i = 0; i < g->n_alerts; i++)
        if (g->alerts[i].eval_time_ms > m) m = g->alerts[i].eval_time_ms;
    for (size_t i = 0; i < g->n_exprs; i++)
        if (g->exprs[i].eval_time_ms > m) m = g->exprs[i].eval_time_ms;
    return m;
}

static int64_t cmp_i64(int64_t a, int64_t b) { return a < b ? -1 : a > b; }

static int i64_cmp(const void *a, const void *b) {
    return (int)cmp_i64(*(const int64_t *)a, *(const int64_t *)b);
}

static size_t group_order(const ut_file_t *f, const char *name) {
    for (size_t i = 0; i < f->n_group_eval_order; i++)
        if (strcmp(f->group_eval_order[i], name) == 0) return i;
    return 0;
}

static void check_alerts(const ut_ctx_t *c, const ut_group_t *tg, rules_group_t **groups,
                         size_t n_groups, int64_t t, report_t *rep) {
    bool fuzzy = c->file->fuzzy_compare;
    for (size_t ti = 0; ti < tg->n_alerts; ti++) {
        const ut_alert_test_t *at = &tg->alerts[ti];
        if (at->eval_time_ms != t) continue;
        la_t *got = NULL;
        size_t n_got = 0;
        for (size_t gi = 0; gi < n_groups; gi++) {
            rules_group_t *g = groups[gi];
            for (size_t ri = 0; ri < g->n_rules; ri++) {
                rules_rule_t *r = &g->rules[ri];
                if (!r->def.is_alert || strcmp(r->def.name, at->alertname) != 0) continue;
                for (size_t k = 0; k < r->n_active; k++) {
                    const rules_alert_t *a = r->active[k];
                    if (a->resolved_at != 0 || a->state != RULES_STATE_FIRING) continue;
                    got = vg_realloc(got, (n_got + 1) * sizeof *got);
                    got[n_got].labels = labels_dup(a->labels);
                    got[n_got].annotations = labels_dup(a->annotations);
                    n_got++;
                }
            }
        }
        la_t *exp = vg_calloc(at->n_exp ? at->n_exp : 1, sizeof *exp);
        for (size_t k = 0; k < at->n_exp; k++) {
            exp[k].labels =
                labels_from_cfg(at->exp[k].labels, at->exp[k].n_labels, "alertname", at->alertname);
            exp[k].annotations =
                labels_from_cfg(at->exp[k].annotations, at->exp[k].n_annotations, NULL, NULL);
        }
        if (n_got) qsort(got, n_got, sizeof *got, la_cmp);
        qsort(exp, at->n_exp, sizeof *exp, la_cmp);
        bool same = n_got == at->n_exp;
        for (size_t k = 0; same && k < n_got; k++)
            same = labels_equal(got[k].labels, exp[k].labels) &&
                   labels_equal(got[k].annotations, exp[k].annotations);
        (void)fuzzy;
        if (!same) {
            vg_buf_t b = VG_BUF_INIT, es = VG_BUF_INIT, gs = VG_BUF_INIT;
            char tstr[32];
            vg_duration_format(at->eval_time_ms, tstr);
            if (tg->name[0]) vg_buf_printf(&b, "    name: %s,\n", tg->name);
            la_string(exp, at->n_exp, &es);
            la_string(got, n_got, &gs);
            vg_buf_printf(&b, "    alertname: %s, time: %s, \n        exp:", at->alertname, tstr);
            indent_lines(&b, es.data, "            ");
            vg_buf_puts(&b, ", \n        got:");
            indent_lines(&b, gs.data, "            ");
            report_add(rep, vg_buf_detach(&b));
            vg_buf_free(&es);
            vg_buf_free(&gs);
        }
        la_free(got, n_got);
        la_free(exp, at->n_exp);
    }
}

typedef struct psample {
    labels_t *ls;
    double v;
} psample_t;

static int ps_cmp(const void *a, const void *b) {
    return labels_compare(((const psample_t *)a)->ls, ((const psample_t *)b)->ls);
}

static void ps_string(const psample_t *v, size_t n, vg_buf_t *out) {
    if (n == 0) {
        vg_buf_puts(out, "nil");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i) vg_buf_puts(out, ", ");
        labels_format(v[i].ls, out);
        char f[VG_FLOAT_MAX_LEN];
        rules_format_float_exp(v[i].v, 1, f);
        vg_buf_printf(out, " %s", f);
    }
}

static void check_expr(const ut_ctx_t *c, promql_engine_t *eng, tsdb_t *db, int64_t mint,
                       const ut_promql_test_t *t, report_t *rep) {
    char tstr[32];
    vg_duration_format(t->eval_time_ms, tstr);
    vg_buf_t qexpr = VG_BUF_INIT;
    promql_quote(t->expr, strlen(t->expr), &qexpr);
    promql_value_t *v = NULL;
    vg_err_t err = {0};
    int rc = promql_query_instant(eng, db, t->expr, strlen(t->expr), mint + t->eval_time_ms, 0, &v,
                                  &err);
    if (rc == VG_OK && v->type != PROMQL_TYPE_VECTOR && v->type != PROMQL_TYPE_SCALAR) {
        rc = vg_err_set(&err, VG_ERR, "rule result is not a vector or scalar");
        promql_value_free(v);
        v = NULL;
    }
    if (rc != VG_OK) {
        report_addf(rep, "    expr: %s, time: %s, err: %s", qexpr.data, tstr, err.msg);
        vg_buf_free(&qexpr);
        return;
    }
    size_t n_got = v->type == PROMQL_TYPE_SCALAR ? 1 : v->n_series;
    psample_t *got = vg_calloc(n_got ? n_got : 1, sizeof *got);
    for (size_t i = 0; i < n_got; i++) {
        if (v->type == PROMQL_TYPE_SCALAR) {
            got[i].ls = labels_new_empty();
            got[i].v = v->scalar;
        } else {
            got[i].ls = labels_dup(v->series[i].labels);
            got[i].v = v->series[i].n_points ? v->series[i].points[0].v : NAN;
        }
    }
    promql_value_free(v);
    psample_t *exp = vg_calloc(t->n_exp ? t->n_exp : 1, sizeof *exp);
    size_t n_exp = 0;
    bool bad = false;
    for (size_t i = 0; i < t->n_exp && !bad; i++) {
        vg_err_t perr = {0};
        if (t->exp[i].histogram[0]) {
            report_addf(rep,
                        "    expr: %s, time: %s, err: labels \"%s\": native histograms are "
                        "not supported yet",
                        qexpr.data, tstr, t->exp[i].labels);
            bad = true;
        } else if (parse_metric(t->exp[i].labels, &exp[n_exp].ls, &perr) != VG_OK) {
            vg_buf_t q = VG_BUF_INIT;
            promql_quote(t->exp[i].labels, strlen(t->exp[i].labels), &q);
            report_addf(rep, "    expr: %s, time: %s, err: labels %s: %s", qexpr.data, tstr, q.data,
                        perr.msg);
            vg_buf_free(&q);
            bad = true;
        } else {
            exp[n_exp++].v = t->exp[i].value;
        }
    }
    if (!bad) {
        qsort(got, n_got, sizeof *got, ps_cmp);
        qsort(exp, n_exp, sizeof *exp, ps_cmp);
        bool same = n_got == n_exp;
        for (size_t i = 0; same && i < n_got; i++)
            same = labels_equal(got[i].ls, exp[i].ls) &&
                   float_equal(exp[i].v, got[i].v, c->file->fuzzy_compare);
        if (!same) {
            vg_buf_t b = VG_BUF_INIT;
            vg_buf_printf(&b, "    expr: %s, time: %s,\n        exp: ", qexpr.data, tstr);
            ps_string(exp, n_exp, &b);
            vg_buf_puts(&b, "\n        got: ");
            ps_string(got, n_got, &b);
            report_add(rep, vg_buf_detach(&b));
        }
    }
    for (size_t i = 0; i < n_got; i++)
        labels_free(got[i].ls);
    for (size_t i = 0; i < n_exp; i++)
        labels_free(exp[i].ls);
    free(got);
    free(exp);
    vg_buf_free(&qexpr);
}

static void run_group(const ut_ctx_t *c, const ut_group_t *tg, int64_t interval_ms, report_t *rep) {
    int64_t eval_interval = c->file->evaluation_interval_ms;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/vigil-rules-test-XXXXXX", c->tmp_dir);
    if (!mkdtemp(dir)) {
        report_addf(rep, "creating a temporary directory in %s failed", c->tmp_dir);
        return;
    }
    tsdb_options_t topts = {.dir = dir, .retention_ms = INT64_C(1) << 52};
    vg_err_t err = {0};
    tsdb_t *db = tsdb_open(&topts, &err);
    if (!db) {
        report_addf(rep, "%s", err.msg);
        vg_remove_all(dir, NULL);
        return;
    }
    promql_engine_opts_t eo = {.default_subquery_step_ms = eval_interval};
    promql_engine_t *eng = promql_engine_new(&eo);
    rules_group_t **groups = NULL;
    size_t n_groups = 0;
    int64_t mint = tg->start_ms;

    /* Input series. */
    tsdb_appender_t *app = tsdb_appender_new(db);
    for (size_t i = 0; i < tg->n_series; i++) {
        labels_t *ls = NULL;
        if (parse_metric(tg->series[i].series, &ls, &err) != VG_OK ||
            load_values(app, ls, tg->series[i].values, mint, interval_ms, &err) != VG_OK) {
            labels_free(ls);
            report_addf(rep, "%s", err.msg);
            tsdb_appender_free(app);
            goto out;
        }
        labels_free(ls);
    }
    if (tsdb_appender_commit(app, &err) != VG_OK) {
        report_addf(rep, "%s", err.msg);
        tsdb_appender_free(app);
        goto out;
    }
    tsdb_appender_free(app);

    /* Rule groups. */
    labels_t *ext = labels_from_cfg(tg->external_labels, tg->n_external_labels, NULL, NULL);
    rules_env_t env = {.db = db,
                       .engine = eng,
                       .external_labels = ext,
                       .external_url = tg->external_url,
                       .resend_delay_ms = 60000,
                       .outage_tolerance_ms = 3600000,
                       .for_grace_period_ms = 600000};
    bool load_failed = false;
    for (size_t i = 0; i < c->n_rule_files; i++) {
        rules_file_t *f = NULL;
        rules_errors_t errs = {0};
        if (rules_file_load(c->rule_files[i], true, &f, &errs) != VG_OK) {
            for (size_t e = 0; e < errs.n; e++) {
                report_add(rep, errs.msgs[e]);
                errs.msgs[e] = NULL;
            }
            rules_errors_free(&errs);
            load_failed = true;
            break;
        }
        rules_group_t **gs = NULL;
        size_t n = 0;
        if (rules_groups_from_file(f, interval_ms, &env, false, &gs, &n, &err) != VG_OK) {
            report_addf(rep, "%s", err.msg);
            rules_file_free(f);
            load_failed = true;
            break;
        }
        rules_file_free(f);
        groups = vg_realloc(groups, (n_groups + n + 1) * sizeof *groups);
        for (size_t k = 0; k < n; k++)
            groups[n_groups++] = gs[k];
        free(gs);
    }
    labels_free(ext);
    if (load_failed) goto out;
    /* group_eval_order: a partial order, stable otherwise. */
    for (size_t i = 1; i < n_groups; i++)
        for (size_t k = i; k > 0 && group_order(c->file, groups[k - 1]->name) >
                                        group_order(c->file, groups[k]->name);
             k--) {
            rules_group_t *tmp = groups[k];
            groups[k] = groups[k - 1];
            groups[k - 1] = tmp;
        }

    for (size_t i = 0; i < tg->n_alerts; i++)
        if (!tg->alerts[i].alertname[0]) {
            char t[32];
            vg_duration_format(tg->alerts[i].eval_time_ms, t);
            if (tg->name[0])
                report_addf(rep,
                            "an item under alert_rule_test misses required attribute alertname at "
                            "eval_time %s (in TestGroup %s)",
                            t, tg->name);
            else
                report_addf(rep,
                            "an item under alert_rule_test misses required attribute alertname at "
                            "eval_time %s",
                            t);
            goto out;
        }
    size_t n_times = 0;
    int64_t *times = vg_calloc(tg->n_alerts ? tg->n_alerts : 1, sizeof *times);
    for (size_t i = 0; i < tg->n_alerts; i++) {
        bool seen = false;
        for (size_t k = 0; k < n_times && !seen; k++)
            seen = times[k] == tg->alerts[i].eval_time_ms;
        if (!seen) times[n_times++] = tg->alerts[i].eval_time_ms;
    }
    qsort(times, n_times, sizeof *times, i64_cmp);
    for (size_t i = 0; i < n_groups; i++)
        for (size_t k = 0; k < groups[i]->n_rules; k++)
            groups[i]->rules[k].restored = true;

    int64_t maxt = mint + max_eval_time(tg);
    size_t curr = 0;
    for (int64_t ts = mint; ts <= maxt; ts += eval_interval) {
        size_t before = rep->n;
        for (size_t i = 0; i < n_groups; i++) {
            rules_group_t *g = groups[i];
            rules_group_eval(g, ts * NS_PER_MS);
            for (size_t k = 0; k < g->n_rules; k++) {
                if (!g->rules[k].last_error) continue;
                char d[48];
                go_duration(ts, d, sizeof d);
                report_addf(rep, "    rule: %s, time: %s, err: %s", g->rules[k].def.name, d,
                            g->rules[k].last_error);
            }
        }
        if (rep->n > before) {
            free(times);
            goto out;
        }
        while (curr < n_times && ts - mint <= times[curr] &&
               times[curr] < ts + eval_interval - mint) {
            check_alerts(c, tg, groups, n_groups, times[curr], rep);
            curr++;
        }
        if (eval_interval <= 0) break;
    }
    free(times);
    for (size_t i = 0; i < tg->n_exprs; i++)
        check_expr(c, eng, db, mint, &tg->exprs[i], rep);
out:
    for (size_t i = 0; i < n_groups; i++)
        rules_group_free(groups[i]);
    free(groups);
    promql_engine_free(eng);
    tsdb_close(db);
    vg_remove_all(dir, NULL);
}

/* ------------------------------------------------------------- one file */

static bool run_matches(pcre2_code *re, const char *name) {
    if (!re) return true;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR)name, strlen(name), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

static void run_file(const char *path, pcre2_code *run, const char *tmp_dir, FILE *err_out,
                     report_t *rep) {
    char *data = NULL;
    size_t len = 0;
    vg_err_t err = {0};
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        char why[128];
        snprintf(why, sizeof why, "%s", strerror(errno));
        if (why[0] >= 'A' && why[0] <= 'Z') why[0] = (char)(why[0] - 'A' + 'a');
        report_addf(rep, "open %s: %s", path, why);
        return;
    }
    fclose(probe);
    if (vg_file_read_all(path, RULES_MAX_FILE_BYTES, &data, &len, &err) != VG_OK) {
        report_addf(rep, "%s", err.msg);
        return;
    }
    dec_t d = {.arena = vg_arena_new(0)};
    ut_file_t f = {0};
    ytree_node_t *root = NULL;
    if (ry_parse(data, len, d.arena, &root, &err) != VG_OK) {
        report_addf(rep, "%s", err.msg);
        goto done;
    }
    dec_file(&d, root, &f);
    if (d.fatal) {
        report_addf(rep, "%s", d.fatal);
        goto done;
    }
    if (d.terr.n) {
        report_add(rep, ry_errs_join(&d.terr));
        goto done;
    }
    /* Rule files: relative to the test file, then globbed. */
    char *pathcopy = vg_strdup(path);
    const char *base = dirname(pathcopy);
    const char **files = NULL;
    size_t n_files = 0;
    for (size_t i = 0; i < f.n_rule_files; i++) {
        vg_buf_t p = VG_BUF_INIT;
        const char *rf = f.rule_files[i];
        if (rf[0] && rf[0] != '/' && strcmp(base, ".") != 0)
            vg_buf_printf(&p, "%s/%s", base, rf);
        else
            vg_buf_puts(&p, rf);
        glob_t gl;
        memset(&gl, 0, sizeof gl);
        if (glob(p.data ? p.data : "", 0, NULL, &gl) != 0 || gl.gl_pathc == 0)
            fprintf(err_out, "  WARNING: no file match pattern %s\n", p.data ? p.data : "");
        for (size_t k = 0; k < gl.gl_pathc; k++) {
            files = vg_realloc(files, (n_files + 1) * sizeof *files);
            files[n_files++] = vg_strdup(gl.gl_pathv[k]);
        }
        globfree(&gl);
        vg_buf_free(&p);
    }
    free(pathcopy);
    if (!f.evaluation_interval_ms) f.evaluation_interval_ms = 60000;
    for (size_t i = 0; i < f.n_group_eval_order; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(f.group_eval_order[i], f.group_eval_order[k]) == 0) {
                report_addf(rep, "group name repeated in evaluation order: %s",
                            f.group_eval_order[i]);
                goto free_files;
            }
    ut_ctx_t c = {.file = &f, .rule_files = files, .n_rule_files = n_files, .tmp_dir = tmp_dir};
    for (size_t i = 0; i < f.n_tests; i++) {
        ut_group_t *tg = &f.tests[i];
        if (!run_matches(run, tg->name)) continue;
        int64_t interval = tg->interval_ms ? tg->interval_ms : f.evaluation_interval_ms;
        run_group(&c, tg, interval, rep);
    }
free_files:
    for (size_t i = 0; i < n_files; i++)
        free((char *)files[i]);
    free(files);
done:
    free(d.fatal);
    ry_errs_free(&d.terr);
    vg_arena_free(d.arena);
    free(data);
}

int rules_unittest_run(const char *const *files, size_t n_files, const char *run,
                       const char *tmp_dir, FILE *out, FILE *err_out) {
    if (!err_out) err_out = out;
    if (!tmp_dir) tmp_dir = getenv("TMPDIR");
    if (!tmp_dir || !*tmp_dir) tmp_dir = "/tmp";
    pcre2_code *re = NULL;
    if (run && *run) {
        int ec;
        PCRE2_SIZE eo;
        re = pcre2_compile((PCRE2_SPTR)run, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
        if (!re) {
            fprintf(err_out, "vigil: error: invalid --run regular expression: %s\n", run);
            return 1;
        }
    }
    bool failed = false;
    for (size_t i = 0; i < n_files; i++) {
        report_t rep = {0};
        run_file(files[i], re, tmp_dir, err_out, &rep);
        if (rep.n) {
            fprintf(err_out, "  FAILED:\n");
            for (size_t k = 0; k < rep.n; k++) {
                fprintf(err_out, "%s\n", rep.msgs[k]);
                fflush(err_out);
                fprintf(out, "\n");
                fflush(out);
            }
            failed = true;
        } else {
            fprintf(out, "  SUCCESS\n");
        }
        fprintf(out, "\n");
        fflush(out);
        for (size_t k = 0; k < rep.n; k++)
            free(rep.msgs[k]);
        free(rep.msgs);
    }
    if (re) pcre2_code_free(re);
    return failed ? 1 : 0;
}
