/* Tests for src/notify/templates.c and default_templates.c: vigil's default
 * notification templates render what Alertmanager's own default.tmpl and
 * email.tmpl render. Alertmanager's files are read from Debian's
 * prometheus-alertmanager at test time (never kept in this tree); the test
 * skips when they are absent. Every template name they define is executed
 * against several data sets by both sets and the outputs compared: byte
 * for byte for text, and for the HTML e-mail (whose markup is vigil's own)
 * the visible text and the links in document order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "notify/notify.h"
#include "notify_testdata.h"

/* Where Alertmanager's templates are; VIGIL_AM_TEMPLATES overrides it
 * (to check against another release's files by hand). */
static const char *am_dir(void) {
    const char *d = getenv("VIGIL_AM_TEMPLATES");
    return d && *d ? d : "/usr/share/prometheus/alertmanager";
}

static const template_funcs_t *am_tabs[] = {&template_funcs_alertmanager};

static char *slurp(const char *path) {
    char *d = NULL;
    size_t n;
    vg_err_t err = {0};
    if (vg_file_read_all(path, 1 << 20, &d, &n, &err) != 0) return NULL;
    return d;
}

/* Alertmanager's own set, as its FromGlobs builds it. */
static template_t *am_set(bool html, char *files[2]) {
    template_options_t o = {
        .funcs = am_tabs, .n_funcs = 1, .missingkey = TEMPLATE_MISSINGKEY_ZERO, .html = html};
    template_t *t = template_new(&o);
    vg_err_t err = {0};
    assert_int_equal(template_add(t, files[0], strlen(files[0]), "default.tmpl", &err), 0);
    assert_int_equal(template_add(t, files[1], strlen(files[1]), "email.tmpl", &err), 0);
    return t;
}

/* Renders `{{ template "name" <arg> }}`; NULL when it fails. */
static char *am_render(template_t *t, const char *name, const char *arg,
                       const template_am_data_t *d) {
    char text[256];
    snprintf(text, sizeof text, "{{ template \"%s\" %s }}", name, arg);
    vg_err_t err = {0};
    vg_buf_t out = VG_BUF_INIT;
    char tname[300];
    snprintf(tname, sizeof tname, "ref:%s:%s", name, arg);
    assert_int_equal(template_add(t, text, strlen(text), tname, &err), 0);
    template_value_t dot = template_am_data(d);
    template_env_t env = {.external_url = d->external_url};
    if (template_execute(t, tname, &dot, &env, &out, &err) != 0) {
        vg_buf_free(&out);
        return NULL;
    }
    if (!out.data) vg_buf_puts(&out, "");
    return vg_buf_detach(&out);
}

static char *vigil_render_arg(const notify_templates_t *t, const char *name, const char *arg,
                              bool html, const template_am_data_t *d) {
    char text[256];
    snprintf(text, sizeof text, "{{ template \"%s\" %s }}", name, arg);
    vg_err_t err = {0};
    vg_buf_t out = VG_BUF_INIT;
    if (notify_template_execute(t, text, html, d, &out, &err) != 0)
        fail_msg("%s: %s", name, err.msg);
    if (!out.data) vg_buf_puts(&out, "");
    return vg_buf_detach(&out);
}

static char *vigil_render(const notify_templates_t *t, const char *name, bool html,
                          const template_am_data_t *d) {
    return vigil_render_arg(t, name, ".", html, d);
}

/* The defined names of a template file, in order. */
static size_t defined_names(const char *text, char names[][64], size_t cap) {
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, "define \"")) != NULL && n < cap;) {
        p += 8;
        const char *q = strchr(p, '"');
        if (!q || q - p >= 64) break;
        memcpy(names[n], p, (size_t)(q - p));
        names[n][q - p] = '\0';
        n++;
        p = q;
    }
    return n;
}

/* What a reader sees of an HTML page: the words outside tags (skipping
 * style elements and comments) and, as "href=<url>" tokens, each link's
 * target where its tag opens. Whitespace-separated tokens, one per line. */
static char *html_visible(const char *h) {
    vg_buf_t out = VG_BUF_INIT;
    const char *p = h;
    bool in_word = false;
    while (*p) {
        if (strncmp(p, "<!--", 4) == 0) {
            const char *e = strstr(p, "-->");
            p = e ? e + 3 : p + strlen(p);
            continue;
        }
        if (strncmp(p, "<style", 6) == 0) {
            const char *e = strstr(p, "</style>");
            p = e ? e + 8 : p + strlen(p);
            continue;
        }
        if (*p == '<') {
            const char *e = strchr(p, '>');
            if (!e) break;
            const char *href = strstr(p, "href=\"");
            if (href && href < e) {
                const char *q = strchr(href + 6, '"');
                if (in_word) vg_buf_putc(&out, '\n');
                vg_buf_printf(&out, "href=%.*s\n", (int)(q - href - 6), href + 6);
                in_word = false;
            } else if (in_word) {
                vg_buf_putc(&out, '\n');
                in_word = false;
            }
            p = e + 1;
            continue;
        }
        if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
            if (in_word) vg_buf_putc(&out, '\n');
            in_word = false;
        } else {
            vg_buf_putc(&out, *p);
            in_word = true;
        }
        p++;
    }
    if (!out.data) vg_buf_puts(&out, "");
    return vg_buf_detach(&out);
}

static void test_same_output_as_alertmanager(void **state) {
    (void)state;
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/default.tmpl", am_dir());
    snprintf(p2, sizeof p2, "%s/email.tmpl", am_dir());
    char *files[2] = {slurp(p1), slurp(p2)};
    if (!files[0] || !files[1]) {
        free(files[0]);
        free(files[1]);
        printf("Alertmanager's templates not installed in %s; skipped\n", am_dir());
        skip();
    }
    td_many_init();
    vg_err_t err = {0};
    notify_templates_t *vt = notify_templates_load(NULL, &err);
    assert_non_null(vt);

    static char names[200][64];
    size_t n = defined_names(files[0], names, 200);
    n += defined_names(files[1], names + n, 200 - n);
    assert_true(n > 40);

    template_t *am_text = am_set(false, files);
    template_t *am_html = am_set(true, files);
    size_t compared = 0;
    for (size_t s = 0; s < TD_N_SETS; s++) {
        template_am_data_t *d = td_build(&td_sets[s]);
        for (size_t i = 0; i < n; i++) {
            bool html = strcmp(names[i], "email.default.html") == 0;
            /* list templates (__text_alert_list...) take the alerts as dot */
            const char *arg = ".";
            char *want = am_render(html ? am_html : am_text, names[i], arg, d);
            if (!want) {
                arg = ".Alerts";
                want = am_render(html ? am_html : am_text, names[i], arg, d);
            }
            if (!want)
                fail_msg("set %s: %s fails in Alertmanager's set", td_sets[s].name, names[i]);
            char *got = vigil_render_arg(vt, names[i], arg, html, d);
            if (html) {
                char *w = html_visible(want), *g = html_visible(got);
                if (strcmp(w, g) != 0)
                    fail_msg("set %s, %s (visible text):\n--- Alertmanager\n%s\n--- vigil\n%s",
                             td_sets[s].name, names[i], w, g);
                free(w);
                free(g);
            } else if (strcmp(want, got) != 0) {
                fail_msg("set %s, %s:\n--- Alertmanager\n[%s]\n--- vigil\n[%s]", td_sets[s].name,
                         names[i], want, got);
            }
            compared++;
            free(want);
            free(got);
        }
        td_free(d);
    }
    printf("%s: compared %zu renderings of %zu template names over %zu data sets\n", am_dir(),
           compared, n, (size_t)TD_N_SETS);
    template_free(am_text);
    template_free(am_html);
    notify_templates_free(vt);
    free(files[0]);
    free(files[1]);
}

/* Names that Alertmanager added after 0.25 (not in Debian's files): what
 * newer releases render, written out. (Running this program with
 * VIGIL_AM_TEMPLATES=<dir> holding a newer release's default.tmpl and
 * email.tmpl compares those names too: the 64 names of v0.34's all match.) */
static void test_newer_names(void **state) {
    (void)state;
    td_many_init();
    vg_err_t err = {0};
    notify_templates_t *vt = notify_templates_load(NULL, &err);
    assert_non_null(vt);
    template_am_data_t *fir = td_build(&td_sets[0]), *res = td_build(&td_sets[1]);
    template_am_data_t *mix = td_build(&td_sets[2]);
    char *s = vigil_render(vt, "slack.default.color", false, fir);
    assert_string_equal(s, "danger");
    free(s);
    s = vigil_render(vt, "slack.default.color", false, res);
    assert_string_equal(s, "good");
    free(s);
    s = vigil_render(vt, "jira.default.priority", false, mix);
    assert_string_equal(s, "Medium"); /* the firing ones say "page": the resolved warning decides */
    free(s);
    s = vigil_render(vt, "jira.default.priority", false, res);
    assert_string_equal(s, "Medium"); /* only a resolved warning */
    free(s);
    s = vigil_render(vt, "msteams.default.text", false, res);
    assert_string_equal(s, "\n\n\n# Alerts Resolved:\n\nLabels:\n  - alertname = HighLatency\n"
                           "  - instance = c:9090\n  - job = api\n  - severity = warning\n\n"
                           "Annotations:\n  - runbook = https://wiki/x?a=1&b=<2>\n"
                           "  - summary = Latency is high\n\nSource: http://prom:9090/g\n\n\n\n");
    free(s);
    td_free(fir);
    td_free(res);
    td_free(mix);
    notify_templates_free(vt);
}

/* Configuration strings: parse and execution errors read as
 * Alertmanager's (template ""), the configuration's files override the
 * defaults, and the same string is parsed once. */
static void test_config_strings(void **state) {
    (void)state;
    char dir[] = "/tmp/vigil-notify-tmplXXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/b.tmpl", dir);
    FILE *f = fopen(path, "w");
    fputs("{{ define \"__alertmanager\" }}vigil{{ end }}{{ define \"x\" }}B{{ end }}", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/a.tmpl", dir);
    f = fopen(path, "w");
    fputs("{{ define \"x\" }}A{{ end }}", f);
    fclose(f);

    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "route: {receiver: r}\nreceivers: [{name: r}]\ntemplates: ['%s/*.tmpl', "
             "'%s/none/*.tmpl']\n",
             dir, dir);
    vg_err_t err = {0};
    alert_config_t *cfg = alert_config_load_string(yaml, strlen(yaml), "am.yml", &err);
    assert_non_null(cfg);
    notify_templates_t *t = notify_templates_load(cfg, &err);
    assert_non_null(t);
    template_am_data_t *d = td_build(&td_sets[0]);
    vg_buf_t out = VG_BUF_INIT;
    for (int i = 0; i < 3; i++) {
        vg_buf_reset(&out);
        assert_int_equal(notify_template_execute(t,
                                                 "{{ template \"x\" . }} {{ template "
                                                 "\"slack.default.username\" . }}",
                                                 false, d, &out, &err),
                         0);
        assert_string_equal(out.data, "B vigil"); /* b.tmpl parsed after a.tmpl */
    }
    vg_buf_reset(&out);
    assert_int_not_equal(notify_template_execute(t, "{{ .Nope", false, d, &out, &err), 0);
    assert_string_equal(err.msg, "template: :1: unclosed action");
    assert_int_not_equal(
        notify_template_execute(t, "{{ template \"missing\" . }}", false, d, &out, &err), 0);
    assert_string_equal(err.msg,
                        "template: :1:12: executing \"\" at <{{template \"missing\" .}}>: template "
                        "\"missing\" not defined");
    vg_buf_reset(&out);
    assert_int_equal(notify_template_execute(t, "", false, d, &out, &err), 0);
    assert_int_equal(out.len, 0);
    vg_buf_free(&out);
    td_free(d);
    notify_templates_free(t);
    alert_config_unref(cfg);

    /* a template file that does not parse fails the load */
    f = fopen(path, "w");
    fputs("{{ define \"x\" }}A", f);
    fclose(f);
    cfg = alert_config_load_string(yaml, strlen(yaml), "am.yml", &err);
    assert_non_null(cfg);
    assert_null(notify_templates_load(cfg, &err));
    assert_non_null(strstr(err.msg, "a.tmpl"));
    alert_config_unref(cfg);
    unlink(path);
    snprintf(path, sizeof path, "%s/b.tmpl", dir);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_output_as_alertmanager),
        cmocka_unit_test(test_newer_names),
        cmocka_unit_test(test_config_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
