/* Loading alertmanager.yml: the seed fixture, defaults inherited from
 * global, Alertmanager's messages for broken files (type errors collected
 * as yaml.v2 does, then the first semantic error), matcher parsing,
 * inhibition and time intervals, and the check-config output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"

static alert_config_t *load(const char *yaml) {
    vg_err_t err = {0};
    alert_config_t *c = alert_config_load_string(yaml, strlen(yaml), "t.yml", &err);
    if (!c) fail_msg("load: %s", err.msg);
    return c;
}

static void expect_error(const char *yaml, const char *msg) {
    vg_err_t err = {0};
    alert_config_t *c = alert_config_load_string(yaml, strlen(yaml), "t.yml", &err);
    if (c) {
        alert_config_unref(c);
        fail_msg("loaded, expected: %s", msg);
    }
    assert_string_equal(err.msg, msg);
}

#define RECV "receivers:\n- name: a\n"

static void test_seed(void **state) {
    (void)state;
    vg_err_t err = {0};
    alert_config_t *c =
        alert_config_load_file(VG_SHARED_DIR "/seed-fixtures/alertmanager-004.yml", &err);
    assert_non_null(c);
    assert_string_equal(c->route->receiver, "web.hook");
    assert_int_equal(c->route->group_wait_ms, 10000);
    assert_int_equal(c->route->repeat_interval_ms, 3600000);
    assert_int_equal(c->n_receivers, 1);
    const alert_webhook_config_t *w = &c->receivers[0].webhook_configs[0];
    assert_string_equal(w->url, "http://your-webhook-url");
    assert_true(w->base.send_resolved);
    assert_non_null(w->base.http_config);
    assert_true(w->base.http_config->follow_redirects);
    assert_string_equal(c->global.smtp_smarthost, "localhost:587");
    assert_int_equal(c->global.resolve_timeout_ms, 300000);
    assert_string_equal(c->receivers[0].labels[0].name, "name");
    assert_non_null(strstr(c->original, "web.hook"));
    alert_config_unref(c);
}

static void test_global_defaults(void **state) {
    (void)state;
    alert_config_t *c = load("global:\n"
                             "  smtp_smarthost: 'mail:25'\n"
                             "  smtp_from: am@x\n"
                             "  smtp_auth_password: pw\n"
                             "  opsgenie_api_key: k\n"
                             "  opsgenie_api_url: https://og.example.com/v2\n"
                             "  slack_app_token: xoxb\n"
                             "  http_config:\n"
                             "    bearer_token: tok\n"
                             "templates: ['t/*.tmpl', '/abs/*.tmpl']\n"
                             "route:\n  receiver: a\n"
                             "receivers:\n- name: a\n"
                             "  email_configs:\n  - to: x@y\n  - to: z@y\n    require_tls: false\n"
                             "  opsgenie_configs:\n  - responders: [{name: n, type: Team}]\n"
                             "  slack_configs:\n  - channel: '#c'\n"
                             "  pagerduty_configs:\n  - routing_key: r\n    client: c\n");
    const alert_receiver_t *r = alert_config_receiver(c, "a");
    assert_non_null(r);
    assert_string_equal(r->email_configs[0].smarthost, "mail:25");
    assert_string_equal(r->email_configs[0].from, "am@x");
    assert_string_equal(r->email_configs[0].hello, "localhost");
    assert_string_equal(r->email_configs[0].auth_password, "pw");
    assert_true(r->email_configs[0].require_tls);
    assert_false(r->email_configs[1].require_tls);
    assert_string_equal(r->opsgenie_configs[0].api_url, "https://og.example.com/v2/");
    assert_string_equal(r->opsgenie_configs[0].api_key, "k");
    assert_string_equal(r->opsgenie_configs[0].responders[0].type, "team");
    /* An app token becomes the receiver's bearer authorization. */
    const alert_slack_config_t *s = &r->slack_configs[0];
    assert_string_equal(s->api_url, "https://slack.com/api/chat.postMessage");
    assert_string_equal(s->base.http_config->authorization->credentials, "xoxb");
    assert_string_equal(s->title, "{{ template \"slack.default.title\" . }}");
    /* bearer_token is folded into authorization, as Prometheus's client does. */
    assert_string_equal(c->global.http_config->authorization->type, "Bearer");
    assert_string_equal(c->global.http_config->authorization->credentials, "tok");
    const alert_pagerduty_config_t *pd = &r->pagerduty_configs[0];
    assert_string_equal(pd->url, "https://events.pagerduty.com/v2/enqueue");
    assert_string_equal(pd->source, "c");
    assert_int_equal(pd->n_details, 4);
    assert_string_equal(c->templates[0], "t/*.tmpl"); /* strings keep relative paths */
    alert_config_unref(c);
}

static void test_errors(void **state) {
    (void)state;
    expect_error("", "no route provided in config");
    expect_error("BAD", "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `BAD` into "
                        "config.plain");
    expect_error("route:\n  receiver: a\n  receiver: b\n" RECV,
                 "yaml: unmarshal errors:\n  line 3: field receiver already set in type "
                 "config.plain");
    expect_error("route:\n  receiver: a\nfoo: 1\nreceivers:\n- name: a\n  webhook_configs:\n"
                 "  - url: http://x\n    bogus: 2\n",
                 "yaml: unmarshal errors:\n  line 3: field foo not found in type config.plain\n"
                 "  line 8: field bogus not found in type webhook.plain");
    expect_error("route:\n  receiver: a\n  group_wait: [1]\n  continue: 'yes'\nreceivers: 5\n",
                 "yaml: unmarshal errors:\n  line 3: cannot unmarshal !!seq into string\n"
                 "  line 4: cannot unmarshal !!str `yes` into bool\n"
                 "  line 5: cannot unmarshal !!int `5` into []config.Receiver");
    expect_error("route:\n  receiver: a\n  routes:\n  - receiver: b\n" RECV,
                 "undefined receiver \"b\" used in route");
    expect_error("route:\n  receiver: a\n  group_wait: 5x\n" RECV,
                 "not a valid duration string: \"5x\"");
    expect_error("route:\n  receiver: a\n  group_interval: 0s\n" RECV,
                 "group_interval cannot be zero");
    expect_error("route:\n  receiver: a\n  group_by: ['...', x]\n" RECV,
                 "cannot have wildcard group_by (`...`) and other labels at the same time");
    expect_error("route:\n  receiver: a\n  group_by: [x, x]\n" RECV,
                 "duplicated label \"x\" in group_by");
    expect_error("route:\n  receiver: a\n  routes:\n  - matchers: ['foo==\"bar\"']\n" RECV,
                 "matcher value contains unescaped double quote: =\"bar\"");
    expect_error("route:\n  receiver: a\n  match: {a: b}\n" RECV,
                 "root route must not have any matchers");
    expect_error("route:\n  receiver: a\n  continue: true\n" RECV,
                 "cannot have continue in root route");
    expect_error(RECV, "no routes provided");
    expect_error("route:\n  receiver: a\nreceivers:\n- name: a\n- name: a\n",
                 "notification config name \"a\" is not unique");
    expect_error("route:\n  receiver: a\ninhibit_rules:\n- source_match:\n    bad-name: x\n" RECV,
                 "invalid label name \"bad-name\"");
    expect_error("route:\n  receiver: a\n" RECV "  email_configs:\n  - to: x@y\n",
                 "no global SMTP smarthost set");
    expect_error("global:\n  smtp_smarthost: localhost\nroute:\n  receiver: a\n" RECV,
                 "address localhost: missing port in address");
    expect_error("route:\n  receiver: a\n" RECV "  pagerduty_configs:\n  - routing_key: x\n"
                 "    url: ftp://foo\n",
                 "unsupported scheme \"ftp\" for URL");
    expect_error("route:\n  receiver: a\n" RECV "  webhook_configs:\n  - url: http://x\n"
                 "    http_config: {bearer_token: a, bearer_token_file: b}\n",
                 "at most one of bearer_token & bearer_token_file must be configured");
    expect_error("route:\n  receiver: a\n" RECV "  webhook_configs:\n  - url_file: /x\n"
                 "    url: http://x\n",
                 "at most one of url & url_file must be configured");
    expect_error("route:\n  receiver: a\n" RECV "  slack_configs:\n  - channel: x\n",
                 "no Slack API URL nor App token set either inline or in a file");
    /* Found by fuzzing: a null receiver is Go's zero Receiver. */
    expect_error("route:\n  receiver: a\nreceivers:\n- \n",
                 "undefined receiver \"a\" used in route");
    expect_error("route:\n  receiver: a\n" RECV "  webhook_configs: [~]\n",
                 "missing webhook config");
    expect_error("route:\n  receiver: a\nreceivers:\n- name: a\n  labels: {name: b}\n",
                 "receiver label \"name\" must match receiver name \"a\", got \"b\"");
    expect_error("route: &r\n  receiver: a\n  routes: [*x]\n" RECV,
                 "yaml: unknown anchor 'x' referenced");
    expect_error("route:\n  receiver: a\n bad: [\n", "yaml: line 2: did not find expected key");
}

static void test_time_interval_errors(void **state) {
    (void)state;
    const char *head = "route:\n  receiver: a\n" RECV "time_intervals:\n- name: x\n"
                       "  time_intervals:\n";
    char buf[1024];
    struct {
        const char *spec, *msg;
    } cases[] = {
        {"  - times: [{start_time: '10:00', end_time: '09:00'}]\n",
         "start time cannot be equal or greater than end time"},
        {"  - times: [{start_time: '10:00'}]\n", "both start and end times must be provided"},
        {"  - times: [{start_time: '1:00', end_time: '09:00'}]\n",
         "couldn't parse timestamp 1:00, invalid format"},
        {"  - weekdays: [funday]\n", "funday is not a valid weekday"},
        {"  - weekdays: ['friday:monday']\n", "start day cannot be before end day"},
        {"  - days_of_month: ['0']\n", "0 is not a valid day of the month: out of range"},
        {"  - days_of_month: ['-1:5']\n", "end day must be negative if start day is negative"},
        {"  - months: ['march:january']\n", "end month january is before start month march"},
        {"  - months: [smarch]\n", "smarch is not a valid month"},
        {"  - years: ['2030:2020']\n", "end year 2020 is before start year 2030"},
        {"  - location: Mars/Olympus\n", "unknown time zone Mars/Olympus"},
        {"  - location: ../etc/passwd\n", "time: invalid location name"},
        {"  - foo: 1\n", "yaml: unmarshal errors:\n  line 8: field foo not found in type "
                         "timeinterval.TimeInterval"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(buf, sizeof buf, "%s%s", head, cases[i].spec);
        expect_error(buf, cases[i].msg);
    }
    expect_error("route:\n  receiver: a\n  routes:\n  - receiver: a\n"
                 "    mute_time_intervals: [y]\n" RECV,
                 "undefined time interval \"y\" used in route");
    expect_error("route:\n  receiver: a\n" RECV "time_intervals:\n- name: x\n- name: x\n",
                 "time interval \"x\" is not unique");
    expect_error("route:\n  receiver: a\n" RECV "time_intervals:\n- time_intervals: []\n",
                 "missing name in time interval");
}

/* 2024-03-31 is a Sunday; Europe/Berlin moves to CEST at 01:00 UTC. */
#define T_2024_03_31_00_30_UTC 1711845000000LL

static void test_time_intervals(void **state) {
    (void)state;
    alert_config_t *c = load("route:\n  receiver: a\n" RECV "time_intervals:\n"
                             "- name: berlin-morning\n"
                             "  time_intervals:\n"
                             "  - times: [{start_time: '03:00', end_time: '04:00'}]\n"
                             "    location: Europe/Berlin\n"
                             "- name: weekend\n"
                             "  time_intervals:\n"
                             "  - weekdays: [saturday, sunday]\n"
                             "- name: last-days\n"
                             "  time_intervals:\n"
                             "  - days_of_month: ['-2:-1']\n"
                             "    months: [march, 'december']\n"
                             "    years: ['2024:2025']\n"
                             "- name: empty-times\n"
                             "  time_intervals:\n"
                             "  - times: []\n"
                             "mute_time_intervals:\n"
                             "- name: old\n"
                             "  time_intervals: [{}]\n");
    const alert_time_interval_t *bm = alert_config_time_interval(c, "berlin-morning");
    assert_non_null(bm);
    /* 01:30 UTC on the DST day is 03:30 CEST. */
    int64_t t = T_2024_03_31_00_30_UTC + 3600000;
    assert_true(alert_time_interval_contains(bm, t));
    /* The day before, 01:30 UTC is 02:30 CET: outside. */
    assert_false(alert_time_interval_contains(bm, t - 86400000));
    /* And 02:30 UTC that day is 03:30 CET. */
    assert_true(alert_time_interval_contains(bm, t - 86400000 + 3600000));
    const alert_time_interval_t *we = alert_config_time_interval(c, "weekend");
    assert_true(alert_time_interval_contains(we, T_2024_03_31_00_30_UTC));
    assert_false(alert_time_interval_contains(we, T_2024_03_31_00_30_UTC + 86400000));
    const alert_time_interval_t *ld = alert_config_time_interval(c, "last-days");
    assert_true(alert_time_interval_contains(ld, T_2024_03_31_00_30_UTC));            /* 31st */
    assert_true(alert_time_interval_contains(ld, T_2024_03_31_00_30_UTC - 86400000)); /* 30th */
    assert_false(alert_time_interval_contains(ld, T_2024_03_31_00_30_UTC - 2 * 86400000));
    assert_false(alert_time_interval_contains(ld, T_2024_03_31_00_30_UTC + 86400000)); /* April */
    /* times: [] matches nothing; an empty entry matches everything. */
    assert_false(alert_time_interval_contains(alert_config_time_interval(c, "empty-times"), 0));
    const alert_time_interval_t *old = alert_config_time_interval(c, "old");
    assert_true(old->from_mute_time_intervals);
    assert_true(alert_time_interval_contains(old, 0));
    alert_config_unref(c);
}

static alert_matcher_set_t *parse_ok(const char *s) {
    vg_err_t err = {0};
    alert_matcher_set_t *set = alert_matcher_set_parse(s, strlen(s), &err);
    if (!set) fail_msg("parse %s: %s", s, err.msg);
    return set;
}

static void expect_matchers(const char *in, const char *want) {
    alert_matcher_set_t *set = parse_ok(in);
    vg_buf_t b = VG_BUF_INIT;
    alert_matchers_format(set->matchers, set->n_matchers, &b);
    assert_string_equal(b.data, want);
    vg_buf_free(&b);
    alert_matcher_set_free(set);
}

static void test_matchers(void **state) {
    (void)state;
    expect_matchers("{foo=\"bar\"}", "{foo=\"bar\"}");
    expect_matchers("foo=bar,baz!=qux", "{foo=\"bar\",baz!=\"qux\"}");
    expect_matchers(" foo =~ \"a|b\" , x!~y ", "{foo=~\"a|b\",x!~\"y\"}");
    expect_matchers("foo=\"a,b\"", "{foo=\"a,b\"}");
    expect_matchers("foo=\"a\\\"b\"", "{foo=\"a\\\"b\"}");
    expect_matchers("foo=\"line\\nbreak\"", "{foo=\"line\\nbreak\"}");
    expect_matchers("{}", "{}");
    expect_matchers("", "{}");
    /* The UTF-8 parser takes what the classic one refuses. */
    expect_matchers("{\"foo.bar\"=\"x\"}", "{foo.bar=\"x\"}");
    expect_matchers("{\"foo bar\"=\"x\"}", "{\"foo bar\"=\"x\"}");
    vg_err_t err = {0};
    assert_null(alert_matcher_set_parse("foo", 3, &err));
    assert_string_equal(err.msg, "bad matcher format: foo");
    assert_null(alert_matcher_set_parse("a=~(", 4, &err));

    alert_matcher_set_t *set = parse_ok("job=~\"api|web\",env!=\"\",missing=\"\"");
    labels_t *ls = labels_from_strings("job", "api", "env", "prod", NULL);
    assert_true(alert_matchers_match(set->matchers, set->n_matchers, ls));
    labels_t *ls2 = labels_from_strings("job", "apix", "env", "prod", NULL);
    assert_false(alert_matchers_match(set->matchers, set->n_matchers, ls2));
    labels_t *ls3 = labels_from_strings("job", "web", NULL);
    assert_false(alert_matchers_match(set->matchers, set->n_matchers, ls3)); /* env="" */
    labels_free(ls);
    labels_free(ls2);
    labels_free(ls3);
    alert_matcher_set_free(set);
}

static void test_inhibition(void **state) {
    (void)state;
    alert_config_t *c = load("route:\n  receiver: a\n" RECV "inhibit_rules:\n"
                             "- source_matchers: [severity=critical]\n"
                             "  target_matchers: [severity=warning]\n"
                             "  equal: [alertname, cluster]\n"
                             "- source_match: {alertname: Maintenance}\n"
                             "  target_match_re: {alertname: '.+'}\n");
    assert_int_equal(c->n_inhibit_rules, 2);
    const alert_inhibit_rule_t *r = &c->inhibit_rules[0];
    labels_t *crit =
        labels_from_strings("alertname", "Down", "cluster", "a", "severity", "critical", NULL);
    labels_t *warn =
        labels_from_strings("alertname", "Down", "cluster", "a", "severity", "warning", NULL);
    labels_t *warn_b =
        labels_from_strings("alertname", "Down", "cluster", "b", "severity", "warning", NULL);
    labels_t *warn_nocluster =
        labels_from_strings("alertname", "Down", "severity", "warning", NULL);
    labels_t *crit_nocluster =
        labels_from_strings("alertname", "Down", "severity", "critical", NULL);
    const labels_t *src[] = {crit};
    size_t which = 99;
    assert_true(alert_inhibit_rule_mutes(r, src, 1, warn, &which));
    assert_int_equal(which, 0);
    assert_false(alert_inhibit_rule_mutes(r, src, 1, warn_b, NULL));
    assert_false(alert_inhibit_rule_mutes(r, src, 1, crit, NULL)); /* not a target */
    /* Missing on one side differs; missing on both sides is equal. */
    assert_false(alert_inhibit_rule_mutes(r, src, 1, warn_nocluster, NULL));
    const labels_t *src2[] = {crit_nocluster};
    assert_true(alert_inhibit_rule_mutes(r, src2, 1, warn_nocluster, NULL));
    assert_false(alert_inhibit_rule_mutes(r, NULL, 0, warn, NULL));
    /* Rule 2 targets every alert, the source too: it must not mute itself. */
    labels_t *maint = labels_from_strings("alertname", "Maintenance", NULL);
    const labels_t *src3[] = {maint};
    assert_true(alert_inhibit_mutes(c->inhibit_rules, 2, src3, 1, warn));
    assert_false(alert_inhibit_mutes(c->inhibit_rules, 2, src3, 1, maint));
    labels_free(crit);
    labels_free(warn);
    labels_free(warn_b);
    labels_free(warn_nocluster);
    labels_free(crit_nocluster);
    labels_free(maint);
    alert_config_unref(c);
}

static void test_check_output(void **state) {
    (void)state;
    const char *paths[] = {
        VG_SHARED_DIR "/conformance/alertmanager-config/cli-testdata/conf.good.yml",
        VG_SHARED_DIR "/conformance/alertmanager-config/cli-testdata/conf.bad.yml"};
    char *buf = NULL, *ebuf = NULL;
    size_t len = 0, elen = 0;
    FILE *out = open_memstream(&buf, &len), *err = open_memstream(&ebuf, &elen);
    int rc = alert_config_check_files(paths, 2, "amtool", out, err);
    fclose(out);
    fclose(err);
    assert_int_equal(rc, 1);
    char want[4096];
    snprintf(want, sizeof want,
             "Checking '%s'  SUCCESS\nFound:\n - global config\n - route\n - 0 inhibit rules\n"
             " - 1 receivers\n - 1 templates\n  SUCCESS\n\n"
             "Checking '%s'  FAILED: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str "
             "`BAD` into config.plain\n\n",
             paths[0], paths[1]);
    assert_string_equal(buf, want);
    assert_string_equal(ebuf, "amtool: error: failed to validate 1 file(s)\n");
    free(buf);
    free(ebuf);
}

static void test_sniff(void **state) {
    (void)state;
    const char *am = "global:\n  x: 1\nroute:\n  receiver: a\n";
    const char *prom = "scrape_configs:\n- job_name: x\nroute: 1\n";
    assert_true(alert_config_sniff(am, strlen(am)));
    assert_false(alert_config_sniff(prom, strlen(prom)));
    assert_false(alert_config_sniff("global: {}\n", 11));
}

static void test_aliases_bounded(void **state) {
    (void)state;
    /* A billion-laughs document must fail fast on the visit budget. */
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_puts(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 9; i++)
        vg_buf_printf(&b,
                      "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i,
                      i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    vg_buf_puts(&b, "route:\n  receiver: a\n  group_by: *a8\n" RECV);
    vg_err_t err = {0};
    alert_config_t *c = alert_config_load_string(b.data, b.len, "t.yml", &err);
    assert_null(c);
    assert_true(err.msg[0] != 0);
    vg_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed),           cmocka_unit_test(test_global_defaults),
        cmocka_unit_test(test_errors),         cmocka_unit_test(test_time_interval_errors),
        cmocka_unit_test(test_time_intervals), cmocka_unit_test(test_matchers),
        cmocka_unit_test(test_inhibition),     cmocka_unit_test(test_check_output),
        cmocka_unit_test(test_sniff),          cmocka_unit_test(test_aliases_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
