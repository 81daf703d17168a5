/* Rule evaluation: alert states with for and keep_firing_for, ALERTS and
 * ALERTS_FOR_STATE, stale markers, limit, query_offset and group labels
 * (through the unit-test runner, with promtool's files), the restore of
 * `for` state from ALERTS_FOR_STATE, evaluation-time alignment, and the
 * manager's threads, reload and snapshots. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/rules_int.h"

static char dir[64];

static void write_file(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/vigil-rules-eval-XXXXXX");
    assert_non_null(mkdtemp(dir));
    vg_log_setup(VG_LOG_ERROR, VG_LOG_LOGFMT, stderr);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    vg_remove_all(dir, NULL);
    return 0;
}

/* Runs one test file; returns the exit status and the two reports. */
static int run(const char *name, char **out_s, char **err_s) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t on = 0, en = 0;
    FILE *out = open_memstream(out_s, &on), *err = open_memstream(err_s, &en);
    const char *files[] = {path};
    int rc = rules_unittest_run(files, 1, NULL, dir, out, err);
    fclose(out);
    fclose(err);
    return rc;
}

static void expect_pass(const char *name) {
    char *o = NULL, *e = NULL;
    int rc = run(name, &o, &e);
    if (rc != 0) fprintf(stderr, "%s", e);
    assert_int_equal(rc, 0);
    assert_string_equal(o, "  SUCCESS\n\n");
    free(o);
    free(e);
}

static void test_keep_firing_for_and_staleness(void **state) {
    (void)state;
    write_file("kf.yml",
               "groups:\n- name: g\n  rules:\n  - alert: KF\n    expr: x > 0\n"
               "    for: 1m\n    keep_firing_for: 2m\n  - record: rec\n    expr: x * 2\n");
    write_file(
        "kf.test.yml",
        "rule_files: [kf.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n"
        "  input_series:\n  - series: x\n    values: '1 1 1 0 0 0 0 0 stale'\n"
        "  alert_rule_test:\n  - {eval_time: 0m, alertname: KF, exp_alerts: []}\n"
        "  - {eval_time: 1m, alertname: KF, exp_alerts: [{exp_labels: {}}]}\n"
        "  - {eval_time: 4m, alertname: KF, exp_alerts: [{exp_labels: {}}]}\n"
        "  - {eval_time: 5m, alertname: KF, exp_alerts: []}\n"
        "  promql_expr_test:\n"
        "  - expr: ALERTS\n    eval_time: 4m\n"
        "    exp_samples: [{labels: 'ALERTS{alertname=\"KF\",alertstate=\"firing\"}', value: 1}]\n"
        "  - expr: ALERTS_FOR_STATE\n    eval_time: 4m\n"
        "    exp_samples: [{labels: 'ALERTS_FOR_STATE{alertname=\"KF\"}', value: 0}]\n"
        "  - {expr: ALERTS, eval_time: 5m, exp_samples: []}\n"
        "  - {expr: rec, eval_time: 2m, exp_samples: [{labels: rec, value: 2}]}\n"
        "  - {expr: rec, eval_time: 8m, exp_samples: []}\n"
        "  - expr: count_over_time(rec[10m])\n    eval_time: 9m\n"
        "    exp_samples: [{labels: '{}', value: 8}]\n");
    expect_pass("kf.test.yml");
}

static void test_limit(void **state) {
    (void)state;
    write_file("limit.yml", "groups:\n- name: g\n  limit: 1\n  rules:\n  - alert: L\n"
                            "    expr: y > 0\n");
    write_file(
        "limit.test.yml",
        "rule_files: [limit.yml]\ntests:\n- interval: 1m\n  input_series:\n"
        "  - {series: 'y{a=\"1\"}', values: '1x3'}\n  - {series: 'y{a=\"2\"}', values: '1x3'}\n"
        "  alert_rule_test:\n  - {eval_time: 1m, alertname: L, exp_alerts: []}\n");
    char *o = NULL, *e = NULL;
    assert_int_equal(run("limit.test.yml", &o, &e), 1);
    assert_string_equal(e, "  FAILED:\n    rule: L, time: 0s, err: exceeded limit of 1 with 2 "
                           "alerts\n");
    assert_string_equal(o, "\n\n");
    free(o);
    free(e);
}

static void test_query_offset_and_group_labels(void **state) {
    (void)state;
    write_file("qo.yml", "groups:\n- name: g\n  query_offset: 1m\n  labels: {team: a}\n"
                         "  rules:\n  - record: r\n    expr: z\n  - alert: A\n    expr: z > 3\n"
                         "    labels: {team: b}\n");
    write_file("qo.test.yml",
               "rule_files: [qo.yml]\ntests:\n- interval: 1m\n  input_series:\n"
               "  - {series: z, values: '1 2 3 4 5 6'}\n"
               "  alert_rule_test:\n  - {eval_time: 3m, alertname: A, exp_alerts: []}\n"
               "  - {eval_time: 4m, alertname: A, exp_alerts: [{exp_labels: {team: b}}]}\n"
               "  promql_expr_test:\n"
               "  - {expr: r, eval_time: 5m, exp_samples: [{labels: 'r{team=\"a\"}', value: 5}]}\n"
               "  - {expr: 'timestamp(r)', eval_time: 5m, exp_samples: [{labels: '{team=\"a\"}', "
               "value: 240}]}\n");
    expect_pass("qo.test.yml");
}

/* Label and annotation templates as Prometheus 3.x renders them. */
static void test_templates(void **state) {
    (void)state;
    write_file("tpl.yml",
               "groups:\n- name: g\n  rules:\n  - alert: T\n    expr: x > 0\n    labels:\n"
               "      sev: '{{ if gt $value 1000.0 }}page{{ else }}ticket{{ end }}'\n"
               "    annotations:\n"
               "      a: '{{ $labels.job }} {{ $value | humanize }} {{ $externalLabels.site }} "
               "{{ $externalURL }}'\n"
               "      b: '{{ with query \"sum(x)\" }}{{ . | first | value }}{{ end }} "
               "{{ $labels.nope }}|'\n"
               "      c: '{{ .Nope }}'\n");
    const char *err_c =
        "<error expanding template: error executing template __alert_T: template: "
        "__alert_T:1:115: executing \\\"__alert_T\\\" at <.Nope>: can't evaluate field Nope "
        "in type struct { Labels map[string]string; ExternalLabels map[string]string; "
        "ExternalURL string; Value interface {} }>";
    char text[4096];
    snprintf(text, sizeof text,
             "rule_files: [tpl.yml]\ntests:\n- interval: 1m\n  external_labels: {site: eu1}\n"
             "  external_url: http://prom.example:9090\n  input_series:\n"
             "  - {series: 'x{job=\"a\"}', values: '1234567x3'}\n"
             "  - {series: 'x{job=\"b\"}', values: '5x3'}\n"
             "  alert_rule_test:\n  - eval_time: 1m\n    alertname: T\n    exp_alerts:\n"
             "    - exp_labels: {job: a, sev: page}\n      exp_annotations:\n"
             "        a: \"a 1.235M eu1 http://prom.example:9090\"\n"
             "        b: \"1.234572e+06 |\"\n        c: \"%s\"\n"
             "    - exp_labels: {job: b, sev: ticket}\n      exp_annotations:\n"
             "        a: \"b 5 eu1 http://prom.example:9090\"\n"
             "        b: \"1.234572e+06 |\"\n        c: \"%s\"\n",
             err_c, err_c);
    write_file("tpl.test.yml", text);
    expect_pass("tpl.test.yml");
    /* A template that does not parse fails the rule file's check. */
    rules_errors_t errs = {0};
    rules_file_t *f = NULL;
    const char *bad = "groups:\n- name: b\n  rules:\n  - alert: A\n    expr: up\n"
                      "    annotations:\n      s: \"{{ $labels.job\"\n";
    assert_int_equal(rules_file_parse(bad, strlen(bad), "b.yml", true, &f, &errs), VG_ERR_INPUT);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0], "group \"b\", rule 1, \"A\": annotation \"s\": template: "
                                      "__alert_A:1: unclosed action");
    rules_errors_free(&errs);
}

static void test_report_errors(void **state) {
    (void)state;
    write_file("bad.test.yml", "rule_files: [missing.yml]\ntests:\n- interval: 1m\n"
                               "  foo: 1\n");
    char *o = NULL, *e = NULL;
    assert_int_equal(run("bad.test.yml", &o, &e), 1);
    assert_string_equal(e, "  FAILED:\nyaml: unmarshal errors:\n  line 4: field foo not found in "
                           "type main.testGroup\n");
    free(o);
    free(e);
    write_file("noname.test.yml", "tests:\n- interval: 1m\n  name: grp\n  alert_rule_test:\n"
                                  "  - {eval_time: 2m}\n");
    assert_int_equal(run("noname.test.yml", &o, &e), 1);
    assert_string_equal(e, "  FAILED:\nan item under alert_rule_test misses required attribute "
                           "alertname at eval_time 2m (in TestGroup grp)\n");
    free(o);
    free(e);
}

static tsdb_t *open_db(const char *sub) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    tsdb_options_t o = {.dir = path, .retention_ms = INT64_C(1) << 52};
    vg_err_t err = {0};
    tsdb_t *db = tsdb_open(&o, &err);
    assert_non_null(db);
    return db;
}

static void test_restore(void **state) {
    (void)state;
    tsdb_t *db = open_db("restore");
    promql_engine_t *eng = promql_engine_new(NULL);
    const int64_t S = INT64_C(1000000000);
    /* An alert pending since 1000 s, last seen at 1600 s (10 minutes of
     * its 30); the server comes back at 2000 s. */
    tsdb_appender_t *app = tsdb_appender_new(db);
    labels_t *fs =
        labels_from_strings("__name__", "ALERTS_FOR_STATE", "alertname", "R", "sev", "x", NULL);
    labels_t *x = labels_from_strings("__name__", "x", NULL);
    vg_err_t err = {0};
    for (int64_t t = 1000; t <= 1600; t += 60)
        assert_int_equal(tsdb_appender_add(app, fs, NULL, t * 1000, 1000, &err), VG_OK);
    for (int64_t t = 1000; t <= 2000; t += 60)
        assert_int_equal(tsdb_appender_add(app, x, NULL, t * 1000, 1, &err), VG_OK);
    assert_int_equal(tsdb_appender_commit(app, &err), VG_OK);
    tsdb_appender_free(app);
    labels_free(fs);
    labels_free(x);
    const char *y = "groups:\n- name: g\n  rules:\n  - alert: R\n    expr: x > 0\n    for: 30m\n"
                    "    labels: {sev: x}\n  - alert: Short\n    expr: x > 0\n    for: 5m\n";
    rules_file_t *f = NULL;
    assert_int_equal(rules_file_parse(y, strlen(y), "r.yml", true, &f, NULL), VG_OK);
    rules_env_t env = {.db = db,
                       .engine = eng,
                       .external_url = "",
                       .resend_delay_ms = 60000,
                       .outage_tolerance_ms = 3600000,
                       .for_grace_period_ms = 600000};
    rules_group_t **gs = NULL;
    size_t n = 0;
    assert_int_equal(rules_groups_from_file(f, 60000, &env, true, &gs, &n, &err), VG_OK);
    rules_file_free(f);
    rules_group_t *g = gs[0];
    assert_false(g->rules[0].restored);
    rules_group_eval(g, 1990 * S);
    assert_int_equal(g->rules[0].n_active, 1);
    assert_int_equal(g->rules[0].active[0]->active_at, 1990 * S);
    rules_group_restore(g, 2000 * S);
    assert_true(g->rules[0].restored);
    assert_true(g->rules[1].restored);
    /* 20 minutes were left: the alert waits them out after the outage. */
    assert_int_equal(g->rules[0].active[0]->active_at, (1000 + 400) * S);
    /* Short `for` (under the grace period) is not restored. */
    assert_int_equal(g->rules[1].active[0]->active_at, 1990 * S);
    /* Alignment: Prometheus's offset for this file and group. */
    int64_t t = rules_group_eval_timestamp(g, 1700000000 * S);
    assert_true(t <= 1700000000 * S && t > 1700000000 * S - 60 * S);
    assert_int_equal(rules_group_eval_timestamp(g, t), t);
    assert_int_equal(rules_group_eval_timestamp(g, t + 59 * S), t);
    rules_group_free(g);
    free(gs);
    promql_engine_free(eng);
    tsdb_close(db);
}

static void test_manager(void **state) {
    (void)state;
    tsdb_t *db = open_db("manager");
    promql_engine_t *eng = promql_engine_new(NULL);
    write_file("m1.yml", "groups:\n- name: g\n  rules:\n  - record: one\n    expr: vector(1)\n"
                         "  - alert: Always\n    expr: vector(2)\n    labels: {a: b}\n");
    char cfg_text[512];
    snprintf(cfg_text, sizeof cfg_text,
             "global:\n  evaluation_interval: 1s\n  external_labels: {site: t}\n"
             "rule_files: ['%s/m*.yml']\n",
             dir);
    vg_err_t err = {0};
    config_t *cfg = config_load_string(cfg_text, strlen(cfg_text), "cfg.yml", &err);
    assert_non_null(cfg);
    rules_manager_opts_t mo = {.db = db, .engine = eng, .external_url = "http://x:9090"};
    rules_manager_t *m = rules_manager_new(&mo, &err);
    assert_non_null(m);
    assert_int_equal(rules_manager_update(m, cfg, &err), VG_OK);
    usleep(3200 * 1000);
    rules_snapshot_t *s = rules_manager_snapshot(m);
    assert_int_equal(s->n_groups, 1);
    assert_int_equal(s->groups[0].n_rules, 2);
    assert_true(s->groups[0].last_eval != 0);
    assert_int_equal(s->groups[0].rules[0].health, RULES_HEALTH_GOOD);
    assert_int_equal(s->groups[0].rules[1].state, RULES_STATE_FIRING);
    assert_int_equal(s->groups[0].rules[1].n_alerts, 1);
    int64_t active_at = s->groups[0].rules[1].alerts[0].active_at;
    rules_snapshot_free(s);
    /* A changed group takes over the state of the old one. */
    write_file("m1.yml", "groups:\n- name: g\n  rules:\n  - alert: Always\n    expr: vector(2)\n"
                         "    labels: {a: b}\n");
    assert_int_equal(rules_manager_update(m, cfg, &err), VG_OK);
    s = rules_manager_snapshot(m);
    assert_int_equal(s->groups[0].n_rules, 1);
    assert_int_equal(s->groups[0].rules[0].n_alerts, 1);
    assert_int_equal(s->groups[0].rules[0].alerts[0].active_at, active_at);
    rules_snapshot_free(s);
    /* A broken file changes nothing (the error is logged, as Prometheus does). */
    write_file("m2.yml", "groups:\n- name: h\n  rules:\n  - record: x\n    expr: sum(\n");
    assert_int_equal(rules_manager_update(m, cfg, &err), VG_ERR_INPUT);
    assert_non_null(strstr(err.msg, "m2.yml: 5:11: group \"h\", rule 1, \"x\": could not parse"));
    s = rules_manager_snapshot(m);
    assert_int_equal(s->n_groups, 1);
    rules_snapshot_free(s);
    /* A removed group goes away. */
    write_file("m2.yml", "groups: []\n");
    write_file("m1.yml", "groups: []\n");
    assert_int_equal(rules_manager_update(m, cfg, &err), VG_OK);
    s = rules_manager_snapshot(m);
    assert_int_equal(s->n_groups, 0);
    rules_snapshot_free(s);
    rules_manager_free(m);
    config_unref(cfg);
    promql_engine_free(eng);
    tsdb_close(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_firing_for_and_staleness),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_query_offset_and_group_labels),
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_report_errors),
        cmocka_unit_test(test_restore),
        cmocka_unit_test(test_manager),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
