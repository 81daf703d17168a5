/* Unit tests of the template engine: tables of (template, data, expected)
 * checked against the peers (amtool 0.25 for Go's text/template and
 * html/template with Alertmanager's functions, promtool 2.42 for
 * Prometheus's), Alertmanager's default templates rendered byte for byte,
 * the seed rule files' annotations, parse errors, the set's redefinition
 * rules, execution limits, query results, dates and zones, and the fuzz
 * corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/template.h"

/* The fuzz target, so that its committed corpus is replayed here. */
#include "../../../fuzz/fuzz_template.c"

/* ------------------------------------------------------------ test data */

#define KV(name, ...)                                                                              \
    static template_map_entry_t name##_e[] = {__VA_ARGS__};                                        \
    static template_map_t name = {sizeof name##_e / sizeof name##_e[0], name##_e, TEMPLATE_STRING}

#define E(k, v)                                                                                    \
    {                                                                                              \
        k, sizeof(k) - 1, {                                                                        \
            .kind = TEMPLATE_STRING, .u.str = { v, sizeof(v) - 1 }                                 \
        }                                                                                          \
    }

/* The same notification as the data file the expectations were made with:
 * entries are written in sorted order. */
KV(a0_labels, E("alertname", "HighLatency"), E("instance", "web-1:9100"), E("job", "api"),
   E("severity", "critical"));
KV(a0_ann, E("description", "p99 above 1s"), E("summary", "Latency is 1.5s <high> & rising"));
KV(a1_labels, E("alertname", "HighLatency"), E("instance", "web-2:9100"), E("job", "api"),
   E("severity", "critical"));
KV(a1_ann, E("description", "p99 above 1s"), E("summary", "Latency ok"));
KV(group_labels, E("alertname", "HighLatency"), E("job", "api"));
KV(common_labels, E("alertname", "HighLatency"), E("job", "api"), E("severity", "critical"));
KV(common_ann, E("description", "p99 above 1s"));

static template_am_alert_t am_alerts[2];
static template_am_data_t am_data;

static void am_setup(void) {
    am_alerts[0] = (template_am_alert_t){
        .status = "firing",
        .labels = &a0_labels,
        .annotations = &a0_ann,
        .starts_at = template_time(1710928800, 123000000, 0, "UTC"), /* 2024-03-20T10:00:00.123Z */
        .ends_at = template_time(-62135596800LL, 0, 0, "UTC"),
        .generator_url = "http://prom:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
        .fingerprint = "abc123",
    };
    am_alerts[1] = (template_am_alert_t){
        .status = "resolved",
        .labels = &a1_labels,
        .annotations = &a1_ann,
        .starts_at = template_time(1710925200, 0, 0, "UTC"),
        .ends_at = template_time(1710927000, 0, 0, "UTC"),
        .generator_url = "http://prom:9090/graph?g0.expr=x",
        .fingerprint = "def456",
    };
    am_data = (template_am_data_t){
        .receiver = "team-X pager",
        .status = "firing",
        .alerts = am_alerts,
        .n_alerts = 2,
        .group_labels = &group_labels,
        .common_labels = &common_labels,
        .common_annotations = &common_ann,
        .external_url = "http://am.example.com:9093",
    };
}

static const template_funcs_t *am_tabs[] = {&template_funcs_alertmanager};
static const template_funcs_t *prom_tabs[] = {&template_funcs_prometheus};

/* Alertmanager's own default templates, as Debian's prometheus-alertmanager
 * (installed by scripts/setup as the reference) ships them: the engine
 * must render them exactly as amtool does. They are read from the peer's
 * installation, not kept in this tree. */
#define AM_TEMPLATES "/usr/share/prometheus/alertmanager"

static void add_file(template_t *t, const char *name) {
    char path[256], *d;
    size_t n;
    vg_err_t err = {0};
    snprintf(path, sizeof path, "%s/%s", AM_TEMPLATES, name);
    if (vg_file_read_all(path, 1 << 20, &d, &n, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(template_add(t, d, n, name, &err), 0);
    free(d);
}

static template_t *am_set(bool html) {
    template_options_t o = {
        .funcs = am_tabs, .n_funcs = 1, .missingkey = TEMPLATE_MISSINGKEY_ZERO, .html = html};
    template_t *t = template_new(&o);
    add_file(t, "default.tmpl");
    add_file(t, "email.tmpl");
    return t;
}

/* Renders text (added to t as name) and returns "output" or "ERR msg". */
static char *render(template_t *t, const char *name, const char *text, const template_value_t *data,
                    const template_env_t *env) {
    vg_err_t err = {0};
    vg_buf_t out = VG_BUF_INIT;
    if (template_add(t, text, strlen(text), name, &err) != 0) {
        vg_buf_printf(&out, "ERR %s", err.msg);
        return vg_buf_detach(&out);
    }
    if (template_execute(t, name, data, env, &out, &err) != 0) {
        vg_buf_reset(&out);
        vg_buf_printf(&out, "ERR %s", err.msg);
    }
    return vg_buf_detach(&out);
}

/* ---------------------------------------------------------- the tables */

typedef struct text_case {
    const char *tmpl, *want;
} text_case_t;

static const text_case_t am_cases[] = {
#include "cases_am.inc"
};

static const text_case_t html_cases[] = {
#include "cases_html.inc"
};

/* The reference templates are those of the installed Alertmanager (0.25 on
 * Debian 12); a case written for a definition that came later cannot run
 * against them and is counted as skipped. */
static bool newer_definition(const char *got, const char *want) {
    return strncmp(want, "ERR", 3) != 0 && strncmp(got, "ERR", 3) == 0 &&
           strstr(got, "\" not defined") != NULL;
}

static void run_am_table(const text_case_t *cases, size_t n, bool html, const char *what) {
    am_setup();
    template_value_t data = template_am_data(&am_data);
    template_env_t env = {.now_ms = 1710930000000LL};
    size_t bad = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        template_t *t = am_set(html);
        char *got = render(t, "", cases[i].tmpl, &data, &env);
        if (newer_definition(got, cases[i].want)) {
            skipped++;
        } else if (strcmp(got, cases[i].want) != 0) {
            bad++;
            printf("%s case %zu: %s\n  want: %s\n  got:  %s\n", what, i, cases[i].tmpl,
                   cases[i].want, got);
        }
        free(got);
        template_free(t);
    }
    printf("%s: %zu/%zu cases pass, %zu skipped (definitions newer than the installed "
           "Alertmanager's templates)\n",
           what, n - bad - skipped, n - skipped, skipped);
    assert_int_equal(bad, 0);
}

static void test_am_cases(void **state) {
    (void)state;
    run_am_table(am_cases, sizeof am_cases / sizeof am_cases[0], false, "text/template");
}

static void test_html_cases(void **state) {
    (void)state;
    run_am_table(html_cases, sizeof html_cases / sizeof html_cases[0], true, "html/template");
}

typedef struct prom_case {
    const char *value;
    int index;
    const char *tmpl, *want;
} prom_case_t;

static const prom_case_t prom_cases[] = {
#include "cases_prom.inc"
};

/* Prometheus's alert template data and the variables it defines. */
static const char prom_prefix[] = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
                                  "{{$externalURL := .ExternalURL}}{{$value := .Value}}";

static char *prom_render(const char *tmpl, const template_map_t *labels, double value,
                         const template_env_t *env) {
    static template_map_t ext = {0, NULL, TEMPLATE_STRING};
    template_map_entry_t e[4] = {
        {"ExternalLabels", 14, template_map(&ext)},
        {"ExternalURL", 11, template_cstr("")},
        {"Labels", 6, template_map(labels)},
        {"Value", 5, template_float(value)},
    };
    template_map_t m = {4, e, TEMPLATE_NIL};
    template_value_t data = template_map(&m);
    template_options_t o = {
        .funcs = prom_tabs, .n_funcs = 1, .missingkey = TEMPLATE_MISSINGKEY_ZERO};
    template_t *t = template_new(&o);
    vg_buf_t text = VG_BUF_INIT;
    vg_buf_puts(&text, prom_prefix);
    vg_buf_puts(&text, tmpl);
    char *got = render(t, "__alert_A", text.data, &data, env);
    vg_buf_free(&text);
    template_free(t);
    if (strncmp(got, "ERR ", 4) == 0) {
        /* as Prometheus puts it in the annotation */
        vg_buf_t b = VG_BUF_INIT;
        vg_buf_printf(&b, "<error expanding template: error executing template __alert_A: %s>",
                      got + 4);
        free(got);
        got = vg_buf_detach(&b);
    }
    return got;
}

static void test_prom_cases(void **state) {
    (void)state;
    size_t n = sizeof prom_cases / sizeof prom_cases[0], bad = 0;
    for (size_t i = 0; i < n; i++) {
        char idx[8];
        snprintf(idx, sizeof idx, "%02d", prom_cases[i].index);
        template_map_entry_t le[4] = {
            {"__name__", 8, template_cstr("m")},
            {"i", 1, template_cstr(idx)},
            {"instance", 8, template_cstr("web-1.example.com:9100")},
            {"job", 3, template_cstr("api")},
        };
        template_map_t labels = {4, le, TEMPLATE_STRING};
        char *got =
            prom_render(prom_cases[i].tmpl, &labels, strtod(prom_cases[i].value, NULL), NULL);
        if (strcmp(got, prom_cases[i].want) != 0) {
            bad++;
            printf("prom case %zu (%s): %s\n  want: %s\n  got:  %s\n", i, prom_cases[i].value,
                   prom_cases[i].tmpl, prom_cases[i].want, got);
        }
        free(got);
    }
    printf("Prometheus templates: %zu/%zu cases pass\n", n - bad, n);
    assert_int_equal(bad, 0);
}

/* Functions Prometheus 2.42 lacks, and behaviour newer than it. */
static void test_prom_newer(void **state) {
    (void)state;
    static const struct {
        const char *tmpl, *want;
    } cases[] = {
        {"{{ urlQueryEscape \"a b/c&d\" }}", "a+b%2Fc%26d"},
        {"{{ toDuration 3600 }}|{{ toDuration 1.5 }}|{{ toDuration 0.0001 }}", "1h0m0s|1.5s|100µs"},
        {"{{ parseDuration \"-5m\" }}|{{ parseDuration \"1d\" }}", "-300|86400"},
        {"{{ pathPrefix }}|{{ externalURL }}", "/prefix|http://prom.example.com:9090/prefix"},
        {"{{ now }}", "1.71093e+09"},
        {"{{ (toTime 1710930000).Format \"2006-01-02 15:04\" }}", "2024-03-20 10:20"},
    };
    template_map_t labels = {0, NULL, TEMPLATE_STRING};
    template_env_t env = {.external_url = "http://prom.example.com:9090/prefix",
                          .now_ms = 1710930000000LL};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = prom_render(cases[i].tmpl, &labels, 0, &env);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
}

/* A fake `query`: two samples, sorted by nothing. */
static int fake_query(void *ctx, template_call_t *c, const char *q, size_t q_len,
                      template_value_t *out, vg_err_t *err) {
    (void)ctx;
    if (q_len == 3 && memcmp(q, "bad", 3) == 0)
        return vg_err_set(err, VG_ERR_INPUT, "parse error: bad query");
    static template_map_entry_t l1[] = {
        {"instance", 8, {.kind = TEMPLATE_STRING, .u.str = {"b", 1}}}};
    static template_map_entry_t l2[] = {
        {"instance", 8, {.kind = TEMPLATE_STRING, .u.str = {"a", 1}}}};
    static template_map_t m1 = {1, l1, TEMPLATE_STRING}, m2 = {1, l2, TEMPLATE_STRING};
    template_value_t *items = template_call_alloc(c, 2 * sizeof *items);
    template_list_t *l = template_call_alloc(c, sizeof *l);
    if (!items || !l) return VG_ERR;
    size_t n = (q_len == 5 && memcmp(q, "empty", 5) == 0) ? 0 : 2;
    if (template_sample(c, &m1, 1.5, &items[0]) || template_sample(c, &m2, 2500, &items[1]))
        return VG_ERR;
    l->n = n;
    l->items = items;
    *out = template_list(l);
    return 0;
}

static void test_prom_query(void **state) {
    (void)state;
    static const struct {
        const char *tmpl, *want;
    } cases[] = {
        {"{{ query \"up\" | first | value }}", "1.5"},
        {"{{ with query \"up\" }}{{ . | first | label \"instance\" }}{{ end }}", "b"},
        {"{{ range query \"up\" | sortByLabel \"instance\" }}{{ .Labels.instance }}={{ .Value | "
         "humanize }};{{ end }}",
         "a=2.5k;b=1.5;"},
        {"{{ len (query \"empty\") }}", "0"},
        {"{{ query \"empty\" | first }}", "<error expanding template: error executing template "
                                          "__alert_A: template: __alert_A:1:131: executing "
                                          "\"__alert_A\" at <first>: error calling first: first() "
                                          "called on vector with no elements>"},
        {"{{ query \"bad\" }}",
         "<error expanding template: error executing template __alert_A: template: "
         "__alert_A:1:115: executing "
         "\"__alert_A\" at <query \"bad\">: error calling query: parse error: bad query>"},
        {"{{ (query \"up\" | first).Labels.instance }}|{{ strvalue (query \"up\" | first) }}",
         "b|"},
        {"{{ index (query \"up\") 1 | printf \"%v\" }}", "&{map[instance:a] 2500}"},
    };
    template_map_t labels = {0, NULL, TEMPLATE_STRING};
    template_env_t env = {.query = fake_query};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = prom_render(cases[i].tmpl, &labels, 0, &env);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
}

/* The seed rule files' annotations, as Prometheus rendered them. */
static void test_seed_rules(void **state) {
    (void)state;
    char *tsv;
    size_t len;
    vg_err_t err;
    assert_int_equal(vg_file_read_all(VG_SOURCE_DIR "/tests/unit/template/testdata/seed_rules.tsv",
                                      1 << 20, &tsv, &len, &err),
                     0);
    /* every template in the fixtures must be in the table */
    static const char *const files[] = {VG_SHARED_DIR "/seed-fixtures/rules-000-ecommerce.yml",
                                        VG_SHARED_DIR "/seed-fixtures/rules-003-guide.yml",
                                        VG_SHARED_DIR "/seed-fixtures/rules-004-todo.yml"};
    size_t n_found = 0;
    for (size_t f = 0; f < 3; f++) {
        char *y;
        size_t yl;
        if (vg_file_read_all(files[f], 1 << 20, &y, &yl, &err) != 0) continue;
        for (char *line = strtok(y, "\n"); line; line = strtok(NULL, "\n")) {
            char *q = strchr(line, '"');
            char *e = strrchr(line, '"');
            if (!q || e == q || !strstr(line, "{{")) continue;
            *e = '\0';
            vg_buf_t key = VG_BUF_INIT;
            vg_buf_printf(&key, "\t%s\t", q + 1);
            assert_non_null(strstr(tsv, key.data));
            vg_buf_free(&key);
            n_found++;
        }
        free(y);
    }
    assert_true(n_found >= 15);
    size_t rows = 0;
    for (char *line = strtok(tsv, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        char *t1 = strchr(line, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        assert_non_null(t2);
        *t1 = *t2 = '\0';
        bool db = strcmp(line, "db-1:5432") == 0;
        template_map_entry_t le[4] = {
            {"__name__", 8, template_cstr("m")},
            {"instance", 8, template_cstr(line)},
            {"job", 3, template_cstr(db ? "checkout" : "api")},
            {"service", 7, template_cstr(db ? "payments" : "orders")},
        };
        template_map_t labels = {4, le, TEMPLATE_STRING};
        char *got = prom_render(t1 + 1, &labels, db ? 0.0523 : 1234.5, NULL);
        assert_string_equal(got, t2 + 1);
        free(got);
        rows++;
    }
    printf(
        "seed rule annotations: %zu templates in the fixtures, %zu renderings match Prometheus\n",
        n_found, rows);
    free(tsv);
}

/* ------------------------------------------------------ parse and set */

static void test_parse_errors(void **state) {
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{{ foo }}", "template: x:1: function \"foo\" not defined"},
        {"{{ if true }}", "template: x:1: unexpected EOF"},
        {"a\n{{ .A", "template: x:2: unclosed action"},
        {"{{ \"abc }}", "template: x:1: unterminated quoted string"},
        {"{{ end }}", "template: x:1: unexpected {{end}}"},
        {"{{ else }}", "template: x:1: unexpected {{else}}"},
        {"{{ $x }}", "template: x:1: undefined variable \"$x\""},
        {"{{ }}", "template: x:1: missing value for command"},
        {"{{ 1 | 2 }}", "template: x:1: non executable command in pipeline stage 2"},
        {"{{ range $a, $b, $c := . }}{{ end }}", "template: x:1: too many declarations in range"},
        {"{{ break }}", "template: x:1: {{break}} outside {{range}}"},
        {"{{ define \"a\" }}x{{ end }}{{ define \"a\" }}y{{ end }}",
         "template: x:1: template: multiple definition of template \"a\""},
        {"{{ template x }}", "template: x:1: unexpected \"x\" in template clause"},
        {"{{ /* c */ }}", "template: x:1: unexpected \"/\" in command"},
        {"{{/* c */ x }}", "template: x:1: comment ends before closing delimiter"},
        {"{{/* c }}", "template: x:1: unclosed comment"},
        {"{{ (1 }}", "template: x:1: unclosed left paren"},
        {"{{ 1) }}", "template: x:1: unexpected right paren"},
        {"{{ .A-b }}", "template: x:1: bad character U+002D '-'"},
        {"{{ 3x }}", "template: x:1: bad number syntax: \"3x\""},
        {"{{ 99999999999999999999 }}", "template: x:1: integer overflow: \"99999999999999999999\""},
        {"{{ \"x\".Foo }}", "template: x:1: unexpected . after term \"\\\"x\\\"\""},
        {"{{ if 1 }}{{ else }}{{ else }}{{ end }}", "template: x:1: expected end; found {{else}}"},
        {"{{ a := 1 }}", "template: x:1: function \"a\" not defined"},
        {"{{ with }}{{ end }}", "template: x:1: missing value for with"},
        {"{{ 'ab' }}", "template: x:1: malformed character constant: 'ab'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        template_t *t = NULL;
        vg_err_t err = {0};
        int rc = template_parse(cases[i].text, strlen(cases[i].text), "x", NULL, &t, &err);
        if (rc == 0) {
            printf("case %zu parsed: %s\n", i, cases[i].text);
            template_free(t);
            fail();
        }
        assert_string_equal(err.msg, cases[i].want);
    }
}

static void test_set_rules(void **state) {
    (void)state;
    template_options_t o = {0};
    template_t *t = template_new(&o);
    vg_err_t err;
    const char *f1 = "{{ define \"a\" }}one{{ end }}{{ define \"b\" }}B{{ end }}";
    const char *f2 = "{{ define \"a\" }}two{{ end }}{{ define \"b\" }} {{ end }}";
    assert_int_equal(template_add(t, f1, strlen(f1), "f1", &err), 0);
    assert_int_equal(template_add(t, f2, strlen(f2), "f2", &err), 0);
    /* a later file replaces a definition, but an empty one does not */
    template_value_t nil = template_nil();
    char *got = render(t, "main", "{{ template \"a\" }}{{ template \"b\" }}", &nil, NULL);
    assert_string_equal(got, "twoB");
    free(got);
    assert_true(template_has(t, "a"));
    assert_false(template_has(t, "zz"));
    /* a failed parse leaves the set as it was */
    assert_int_not_equal(template_add(t, "{{ define \"a\" }}{{", 18, "f3", &err), 0);
    got = render(t, "main2", "{{ template \"a\" }}", &nil, NULL);
    assert_string_equal(got, "two");
    free(got);
    vg_buf_t out = VG_BUF_INIT;
    assert_int_equal(template_execute(t, "nope", &nil, NULL, &out, &err), VG_ERR_NOTFOUND);
    assert_string_equal(err.msg, "template: no template \"nope\" associated with template \"f1\"");
    vg_buf_free(&out);
    template_free(t);
}

static void test_missingkey(void **state) {
    (void)state;
    template_map_entry_t e[1] = {{"a", 1, template_cstr("x")}};
    template_map_t m = {1, e, TEMPLATE_STRING};
    template_value_t data = template_map(&m);
    static const struct {
        template_missingkey_t mk;
        const char *want;
    } cases[] = {
        {TEMPLATE_MISSINGKEY_DEFAULT, "x|<no value>"},
        {TEMPLATE_MISSINGKEY_ZERO, "x|"},
        {TEMPLATE_MISSINGKEY_ERROR,
         "ERR template: m:1:12: executing \"m\" at <.b>: map has no entry for key \"b\""},
    };
    for (size_t i = 0; i < 3; i++) {
        template_options_t o = {.missingkey = cases[i].mk};
        template_t *t = template_new(&o);
        char *got = render(t, "m", "{{ .a }}|{{ .b }}", &data, NULL);
        assert_string_equal(got, cases[i].want);
        free(got);
        template_free(t);
    }
}

/* ------------------------------------------------------------- limits */

static void test_limits(void **state) {
    (void)state;
    template_value_t nil = template_nil();
    static const struct {
        const char *text, *want_prefix;
    } cases[] = {
        {"{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" }}",
         "ERR template: l:1:28: executing \"r\" at <{{template \"r\" .}}>: exceeded maximum "
         "template depth (200)"},
        {"{{ range 100000000 }}{{ end }}", "ERR template: l:1:9: executing \"l\" at <100000000>: "
                                           "template execution exceeded 1000000 steps"},
        {"{{ range 900000 }}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{ end }}", "ERR template: l:"},
        {"{{ define \"r\" }}{{ range 3 }}{{ template \"r\" }}{{ end }}{{ end }}{{ template \"r\" "
         "}}",
         "ERR template: l:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        template_options_t o = {.max_output = 1 << 20};
        template_t *t = template_new(&o);
        double t0 = vg_time_mono();
        char *got = render(t, "l", cases[i].text, &nil, NULL);
        double dt = vg_time_mono() - t0;
        if (strncmp(got, cases[i].want_prefix, strlen(cases[i].want_prefix)) != 0) {
            printf("limit case %zu: %.200s\n", i, got);
            fail();
        }
        printf("limit case %zu stopped after %.3f s: %.120s\n", i, dt, got);
        assert_true(dt < 5);
        free(got);
        template_free(t);
    }
    /* deep nesting is refused by the parser */
    vg_buf_t deep = VG_BUF_INIT;
    vg_buf_puts(&deep, "{{ ");
    for (int i = 0; i < 5000; i++)
        vg_buf_putc(&deep, '(');
    vg_buf_puts(&deep, "1");
    for (int i = 0; i < 5000; i++)
        vg_buf_putc(&deep, ')');
    vg_buf_puts(&deep, " }}");
    template_t *t = NULL;
    vg_err_t err;
    assert_int_not_equal(template_parse(deep.data, deep.len, "d", NULL, &t, &err), 0);
    assert_non_null(strstr(err.msg, "max expression depth exceeded"));
    vg_buf_free(&deep);
}

/* ------------------------------------------------------ time and zones */

static void test_dates(void **state) {
    (void)state;
    am_setup();
    template_value_t data = template_am_data(&am_data);
    template_env_t env = {.now_ms = 1710930000000LL};
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{{ (index .Alerts 0).StartsAt | date \"2006-01-02 15:04:05.000 MST\" }}",
         "2024-03-20 10:00:00.123 UTC"},
        {"{{ since (index .Alerts 0).StartsAt }}", "19m59.877s"},
        {"{{ since (index .Alerts 1).StartsAt | humanizeDuration }}", "1h 20m 0s"},
        {"{{ now | date \"Monday, 02-Jan-06 3PM\" }}", "Wednesday, 20-Mar-24 10AM"},
        {"{{ (index .Alerts 0).StartsAt | tz \"UTC\" | date \"15:04 Z07:00\" }}", "10:00 Z"},
        {"{{ tz \"../etc/passwd\" now }}",
         "ERR template: :1:3: executing \"\" at <tz \"../etc/passwd\" now>: error calling tz: "
         "time: invalid location name"},
        {"{{ toJson .CommonLabels }}|{{ toJson (list 1 2.5 \"<a>\" true nil) }}",
         "{\"alertname\":\"HighLatency\",\"job\":\"api\",\"severity\":\"critical\"}|[1,2.5,"
         "\"\\u003ca\\u003e\",true,null]"},
        {"{{ base64encode \"a?b\" }}|{{ base64decode \"YT9i\" }}|{{ urlUnescape \"a%20b+c\" }}",
         "YT9i|a?b|a b c"},
        {"{{ $d := dict \"a\" 1 \"b\" \"x\" \"a\" 2 }}{{ $d.a }}{{ $d.b }}|{{ append (list 1) 2 3 "
         "}}",
         "2x|[1 2 3]"},
        {"{{ title \"hELLO wORLD\" }}", "Hello World"},
        {"{{ $d := (index .Alerts 1).EndsAt.Sub (index .Alerts 1).StartsAt }}{{ printf \"%v %d "
         "%T\" $d $d $d }}",
         "30m0s 1800000000000 time.Duration"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        template_t *t = am_set(false);
        char *got = render(t, "", cases[i].text, &data, &env);
        assert_string_equal(got, cases[i].want);
        free(got);
        template_free(t);
    }
    /* a real zone, when the system has zoneinfo */
    FILE *f = fopen("/usr/share/zoneinfo/Europe/Berlin", "r");
    if (f) {
        fclose(f);
        template_t *t = am_set(false);
        char *got = render(t, "",
                           "{{ (index .Alerts 0).StartsAt | tz \"Europe/Berlin\" | date "
                           "\"2006-01-02 15:04 MST -0700\" }}|"
                           "{{ (index .Alerts 1).EndsAt | tz \"America/New_York\" }}",
                           &data, &env);
        assert_string_equal(got, "2024-03-20 11:00 CET +0100|2024-03-20 05:30:00 -0400 EDT");
        free(got);
        template_free(t);
    }
}

/* ---------------------------------------------------------------- fuzz */

static void test_fuzz_corpus(void **state) {
    (void)state;
    DIR *d = opendir(VG_SOURCE_DIR "/fuzz/corpus/template");
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/fuzz/corpus/template/%s", VG_SOURCE_DIR, e->d_name);
        char *data;
        size_t len;
        vg_err_t err;
        assert_int_equal(vg_file_read_all(path, 1 << 20, &data, &len, &err), 0);
        LLVMFuzzerTestOneInput((const uint8_t *)data, len);
        free(data);
        n++;
    }
    closedir(d);
    printf("fuzz corpus: %zu inputs replayed\n", n);
    assert_true(n > 10);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_am_cases),     cmocka_unit_test(test_html_cases),
        cmocka_unit_test(test_prom_cases),   cmocka_unit_test(test_prom_newer),
        cmocka_unit_test(test_prom_query),   cmocka_unit_test(test_seed_rules),
        cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_set_rules),
        cmocka_unit_test(test_missingkey),   cmocka_unit_test(test_limits),
        cmocka_unit_test(test_dates),        cmocka_unit_test(test_fuzz_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
