/* Loading prometheus.yml: the seed and conformance configs, defaults, every
 * broken fixture with its exact message, the vigil section, input bounds,
 * `check config` output, and (when promtool is installed) agreement with
 * promtool on the same files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

#define FIXTURES VG_SOURCE_DIR "/tests/unit/config/fixtures"

static config_t *load_str(const char *yaml, vg_err_t *err) {
    return config_load_string(yaml, strlen(yaml), "t.yml", err);
}

static void expect_error(const char *yaml, const char *msg) {
    vg_err_t err = {0};
    config_t *c = load_str(yaml, &err);
    if (c) {
        config_unref(c);
        fail_msg("loaded, expected: %s", msg);
    }
    assert_string_equal(err.msg, msg);
}

static bool has_warning(const config_t *c, const char *needle) {
    for (size_t i = 0; i < config_n_warnings(c); i++)
        if (strstr(config_warning(c, i), needle)) return true;
    return false;
}

/* ---------------------------------------------------------------- seeds */

static void test_seed_003(void **state) {
    (void)state;
    vg_err_t err = {0};
    config_t *c = config_load_file(VG_SHARED_DIR "/seed-fixtures/prometheus-003.yml", &err);
    assert_non_null(c);
    assert_int_equal(c->global.scrape_interval_ms, 15000);
    assert_int_equal(c->global.evaluation_interval_ms, 15000);
    assert_int_equal(c->global.scrape_timeout_ms, 10000);
    assert_int_equal(c->global.n_external_labels, 2);
    assert_string_equal(c->global.external_labels[0].name, "cluster"); /* sorted */
    assert_string_equal(c->global.external_labels[0].value, "production");
    assert_string_equal(c->global.external_labels[1].name, "region");
    assert_int_equal(c->n_scrape_configs, 3);
    const config_scrape_t *gw = config_job_find(c, "api-gateway");
    assert_non_null(gw);
    assert_int_equal(gw->n_unreachable_sd, 1);
    assert_int_equal(gw->n_static_configs, 0);
    assert_int_equal(gw->n_relabel_configs, 2);
    assert_int_equal(gw->relabel_configs[0].action, CONFIG_RELABEL_KEEP);
    assert_string_equal(gw->relabel_configs[0].regex, "api-gateway");
    assert_int_equal(gw->relabel_configs[1].action, CONFIG_RELABEL_REPLACE);
    assert_string_equal(gw->relabel_configs[1].target_label, "instance");
    assert_int_equal(config_n_warnings(c), 1);
    assert_string_equal(config_warning(c, 0),
                        "job \"api-gateway\": kubernetes_sd_configs cannot be reached here; the "
                        "job gets no targets from it");
    const config_scrape_t *auth = config_job_find(c, "auth-service");
    assert_non_null(auth);
    assert_int_equal(auth->scrape_interval_ms, 15000);
    assert_string_equal(auth->static_configs[0].targets[0], "auth-service:8080");
    assert_int_equal(auth->static_configs[0].n_labels, 2);
    assert_string_equal(auth->static_configs[0].labels[0].name, "env");
    assert_string_equal(auth->static_configs[0].labels[1].value, "auth-service");
    config_unref(c);
}

/* Every prometheus*.yml among the seed fixtures loads. */
static void test_all_seed_configs(void **state) {
    (void)state;
    DIR *d = opendir(VG_SHARED_DIR "/seed-fixtures");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "prometheus", 10) || !strstr(e->d_name, ".yml")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/seed-fixtures/%s", VG_SHARED_DIR, e->d_name);
        vg_err_t err = {0};
        config_t *c = config_load_file(path, &err);
        if (!c) fail_msg("%s: %s", e->d_name, err.msg);
        config_unref(c);
        n++;
    }
    closedir(d);
    assert_true(n >= 1);
}

static void test_compliance_config(void **state) {
    (void)state;
    vg_err_t err = {0};
    config_t *c = config_load_file(
        VG_SHARED_DIR "/conformance/promql-compliance/prometheus-test-data.yml", &err);
    assert_non_null(c);
    assert_int_equal(c->global.scrape_interval_ms, 5000);
    assert_int_equal(c->global.scrape_timeout_ms, 5000); /* min(10s, interval) */
    assert_int_equal(c->n_scrape_configs, 1);
    assert_string_equal(c->scrape_configs[0].job_name, "demo");
    assert_int_equal(c->scrape_configs[0].static_configs[0].n_targets, 3);
    assert_int_equal(config_n_warnings(c), 0);
    config_unref(c);
}

/* ------------------------------------------------------------- defaults */

static void test_defaults(void **state) {
    (void)state;
    vg_err_t err = {0};
    config_t *c = load_str("", &err);
    assert_non_null(c);
    assert_int_equal(c->global.scrape_interval_ms, 60000);
    assert_int_equal(c->global.scrape_timeout_ms, 10000);
    assert_int_equal(c->global.evaluation_interval_ms, 60000);
    assert_int_equal(c->n_scrape_configs, 0);
    assert_false(c->vigil.present);
    assert_true(c->vigil.host.enabled);
    assert_int_equal(c->storage.max_exemplars, 100000);
    config_unref(c);

    c = load_str("global:\nscrape_configs:\n  - job_name: j\n", &err);
    assert_non_null(c);
    const config_scrape_t *j = &c->scrape_configs[0];
    assert_int_equal(j->scrape_interval_ms, 60000);
    assert_int_equal(j->scrape_timeout_ms, 10000);
    assert_string_equal(j->metrics_path, "/metrics");
    assert_string_equal(j->scheme, "http");
    assert_false(j->honor_labels);
    assert_true(j->honor_timestamps);
    assert_true(j->http.follow_redirects);
    assert_true(j->http.enable_http2);
    assert_null(j->http.basic_auth);
    assert_null(j->http.authorization);
    assert_int_equal(j->body_size_limit, 0);
    config_unref(c);

    /* A job's interval below the global timeout pulls the timeout down. */
    c = load_str("scrape_configs:\n  - job_name: j\n    scrape_interval: 5s\n", &err);
    assert_non_null(c);
    assert_int_equal(c->scrape_configs[0].scrape_timeout_ms, 5000);
    config_unref(c);

    /* Relabel defaults. */
    c = load_str("scrape_configs:\n  - job_name: j\n    relabel_configs:\n"
                 "      - target_label: x\n",
                 &err);
    assert_non_null(c);
    const config_relabel_t *r = &c->scrape_configs[0].relabel_configs[0];
    assert_int_equal(r->action, CONFIG_RELABEL_REPLACE);
    assert_string_equal(r->separator, ";");
    assert_string_equal(r->regex, "(.*)");
    assert_string_equal(r->replacement, "$1");
    assert_int_equal(r->n_source_labels, 0);
    assert_int_equal(r->line, 4);
    config_unref(c);

    /* Remote write/read defaults. */
    c = load_str("remote_write:\n  - url: http://a/w\nremote_read:\n  - url: http://a/r\n", &err);
    assert_non_null(c);
    assert_int_equal(c->remote_write[0].remote_timeout_ms, 30000);
    assert_int_equal(c->remote_write[0].queue_config.capacity, 10000);
    assert_int_equal(c->remote_write[0].queue_config.max_samples_per_send, 2000);
    assert_int_equal(c->remote_write[0].queue_config.min_backoff_ms, 30);
    assert_true(c->remote_write[0].metadata_config.send);
    assert_false(c->remote_write[0].http.enable_http2);
    assert_int_equal(c->remote_read[0].remote_timeout_ms, 60000);
    assert_true(c->remote_read[0].filter_external_labels);
    config_unref(c);
}

static void test_full_fixture(void **state) {
    (void)state;
    vg_err_t err = {0};
    config_t *c = config_load_file(FIXTURES "/good-full.yml", &err);
    if (!c) fail_msg("%s", err.msg);
    assert_string_equal(c->dir, FIXTURES);
    assert_int_equal(c->global.scrape_timeout_ms, 20000);
    assert_int_equal(c->global.evaluation_interval_ms, 45000);
    assert_string_equal(c->global.query_log_file, FIXTURES "/queries.log");
    assert_int_equal(c->n_rule_files, 1);
    assert_string_equal(c->rule_files[0], FIXTURES "/rules/*.yml");

    const config_alertmanager_t *am = &c->alerting.alertmanagers[0];
    assert_string_equal(am->scheme, "https");
    assert_string_equal(am->path_prefix, "/am");
    assert_int_equal(am->timeout_ms, 5000);
    assert_string_equal(am->http.basic_auth->username, "prom");
    assert_int_equal(am->static_configs[0].n_targets, 2);
    assert_int_equal(c->alerting.alert_relabel_configs[0].action, CONFIG_RELABEL_LABELDROP);

    const config_scrape_t *d = config_job_find(c, "defaults");
    assert_int_equal(d->scrape_interval_ms, 30000);
    assert_int_equal(d->scrape_timeout_ms, 20000);

    const config_scrape_t *n = config_job_find(c, "node");
    assert_int_equal(n->scrape_interval_ms, 10000);
    assert_int_equal(n->scrape_timeout_ms, 10000); /* min(global 20s, 10s) */
    assert_string_equal(n->metrics_path, "/probe");
    assert_string_equal(n->scheme, "https");
    assert_int_equal(n->n_params, 1);
    assert_string_equal(n->params[0].name, "module");
    assert_int_equal(n->params[0].n_values, 2);
    assert_string_equal(n->params[0].values[1], "tcp");
    assert_true(n->honor_labels);
    assert_false(n->honor_timestamps);
    assert_false(n->http.follow_redirects);
    assert_int_equal(n->body_size_limit, 1024);
    assert_int_equal(n->sample_limit, 10);
    assert_true(n->http.tls_config.insecure_skip_verify);
    assert_string_equal(n->http.tls_config.min_version, "TLS12");
    assert_string_equal(n->http.authorization->type, "Bearer");
    assert_string_equal(n->http.authorization->credentials, "token");
    assert_string_equal(n->http.proxy_url, "http://proxy:3128");
    assert_int_equal(n->n_file_sd_configs, 1);
    assert_string_equal(n->file_sd_configs[0].files[0], FIXTURES "/sd/*.json");
    assert_int_equal(n->file_sd_configs[0].refresh_interval_ms, 60000);
    assert_string_equal(n->http_sd_configs[0].url, "http://sd.example.com/targets");
    assert_int_equal(n->http_sd_configs[0].refresh_interval_ms, 60000);
    assert_int_equal(n->n_relabel_configs, 9);
    static const config_relabel_action_t actions[] = {
        CONFIG_RELABEL_REPLACE,   CONFIG_RELABEL_KEEP,      CONFIG_RELABEL_HASHMOD,
        CONFIG_RELABEL_LABELMAP,  CONFIG_RELABEL_LABELKEEP, CONFIG_RELABEL_UPPERCASE,
        CONFIG_RELABEL_LOWERCASE, CONFIG_RELABEL_KEEPEQUAL, CONFIG_RELABEL_DROPEQUAL};
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(n->relabel_configs[i].action, actions[i]);
    assert_string_equal(n->relabel_configs[0].regex, "(.*):\\d+");
    assert_string_equal(n->relabel_configs[0].replacement, "${1}");
    assert_string_equal(n->relabel_configs[1].separator, "/");
    assert_int_equal(n->relabel_configs[2].modulus, 4);
    assert_string_equal(config_relabel_action_name(n->relabel_configs[3].action), "labelmap");
    assert_int_equal(n->metric_relabel_configs[0].action, CONFIG_RELABEL_DROP);

    /* bearer_token is folded into authorization, as Prometheus does. */
    const config_scrape_t *b = config_job_find(c, "bearer");
    assert_non_null(b->http.authorization);
    assert_string_equal(b->http.authorization->credentials, "abc");
    assert_string_equal(b->http.bearer_token, "");

    const config_remote_write_t *rw = &c->remote_write[0];
    assert_string_equal(rw->name, "rw1");
    assert_int_equal(rw->remote_timeout_ms, 10000);
    assert_string_equal(rw->headers[0].name, "X-Scope-OrgID");
    assert_int_equal(rw->queue_config.capacity, 2500);
    assert_int_equal(rw->queue_config.max_shards, 10);
    assert_int_equal(rw->queue_config.min_shards, 1);
    assert_int_equal(rw->queue_config.batch_send_deadline_ms, 10000);
    assert_false(rw->metadata_config.send);
    assert_true(c->remote_read[0].read_recent);
    assert_string_equal(c->remote_read[0].required_matchers[0].value, "node");
    assert_int_equal(c->storage.out_of_order_time_window_ms, 1800000);
    assert_int_equal(c->storage.max_exemplars, 500);
    assert_int_equal(config_n_warnings(c), 0);
    config_unref(c);
}

static void test_v3_fixture(void **state) {
    (void)state;
    vg_err_t err = {0};
    config_t *c = config_load_file(FIXTURES "/good-v3.yml", &err);
    if (!c) fail_msg("%s", err.msg);
    const config_scrape_t *in = config_job_find(c, "inherits");
    assert_int_equal(in->body_size_limit, 10u * 1024 * 1024);
    assert_int_equal(in->sample_limit, 5000);
    assert_int_equal(in->label_limit, 64);
    assert_int_equal(in->target_limit, 100);
    assert_int_equal(in->keep_dropped_targets, 7);
    assert_int_equal(in->n_scrape_protocols, 2);
    assert_string_equal(in->static_configs[0].labels[0].name, "service.name");
    const config_scrape_t *ov = config_job_find(c, "overrides");
    assert_int_equal(ov->sample_limit, 10);
    assert_int_equal(ov->body_size_limit, 1536);
    assert_int_equal(ov->n_scrape_protocols, 1);
    assert_int_equal(c->global.rule_query_offset_ms, 60000);
    config_unref(c);
}

static void test_sizes(void **state) {
    (void)state;
    static const struct {
        const char *in;
        uint64_t bytes;
    } ok[] = {{"0", 0},
              {"1000", 1000},
              {"512B", 512},
              {"1KB", 1024},
              {"1KiB", 1024},
              {"10MB", 10485760},
              {"2MiB", 2097152},
              {"1GB", 1073741824},
              {"1TiB", 1099511627776ull},
              {"1GB512MB", 1610612736},
              {"0.5KB", 512},
              {"1PB", 1125899906842624ull},
              {"1EiB", 1152921504606846976ull}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml, "scrape_configs:\n  - job_name: j\n    body_size_limit: %s\n",
                 ok[i].in);
        vg_err_t err = {0};
        config_t *c = load_str(yaml, &err);
        if (!c) fail_msg("%s: %s", ok[i].in, err.msg);
        assert_int_equal(c->scrape_configs[0].body_size_limit, ok[i].bytes);
        config_unref(c);
    }
    expect_error("global:\n  body_size_limit: 10kb\n",
                 "t.yml:2:20: units: unknown unit kb in 10kb");
    expect_error("global:\n  body_size_limit: MB\n", "t.yml:2:20: units: invalid MB");
    expect_error("global:\n  body_size_limit: 10Kib\n",
                 "t.yml:2:20: units: unknown unit Kib in 10Kib");
}

/* ------------------------------------------------------- broken fixtures */

static const struct {
    const char *file;
    const char *msg;
    bool vigil_only; /* promtool accepts it; vigil is stricter */
} broken[] = {
    {"bad-alertmanager-api.yml",
     "3:20: expected Alertmanager api version to be one of [v2] but got v3", false},
    {"bad-authorization-basic.yml",
     "3:5: authorization type cannot be set to \"basic\", use \"basic_auth\" instead", false},
    {"bad-basic-auth.yml",
     "4:7: at most one of basic_auth password & password_file must be configured", false},
    {"bad-bearer-both.yml",
     "2:5: at most one of bearer_token & bearer_token_file must be configured", false},
    {"bad-body-size.yml", "3:22: units: unknown unit XB in 10XB", false},
    {"bad-bool.yml", "3:19: cannot unmarshal !!str `maybe` into bool", false},
    {"bad-duplicate-job.yml", "4:5: found multiple scrape configs with job name \"a\"", false},
    {"bad-duplicate-key.yml", "3:1: field global already set in type config.Config", false},
    {"bad-duration.yml", "2:20: not a valid duration string: \"abc\"", false},
    {"bad-external-label-name.yml", "3:5: \"1bad\" is not a valid label name", false},
    {"bad-file-sd.yml", "4:17: path name \"/etc/x/*/*.json\" is not valid for file discovery",
     false},
    {"bad-global-timeout.yml", "3:3: global scrape timeout greater than scrape interval", false},
    {"bad-http-sd.yml", "4:14: URL scheme must be 'http' or 'https'", false},
    {"bad-job-as-list.yml", "2:15: cannot unmarshal !!seq into string", false},
    {"bad-missing-job-name.yml", "2:5: job_name is empty", false},
    {"bad-regex.yml", "5:16: error parsing regexp: missing closing parenthesis: `^(?:foo(bar)$`",
     false},
    {"bad-relabel-action.yml", "5:17: unknown relabel action \"explode\"", false},
    {"bad-relabel-hashmod.yml", "4:9: relabel configuration for hashmod requires non-zero modulus",
     false},
    {"bad-relabel-keepequal.yml",
     "4:9: keepequal action requires only 'source_labels' and `target_label`, and no other "
     "fields",
     false},
    {"bad-relabel-labeldrop.yml",
     "4:9: labeldrop action requires only 'regex', and no other fields", false},
    {"bad-relabel-labelmap.yml", "5:9: \"1$1\" is invalid 'replacement' for labelmap action",
     false},
    {"bad-relabel-lowercase-replacement.yml",
     "6:9: 'replacement' can not be set for lowercase action", false},
    {"bad-relabel-no-target.yml",
     "4:9: relabel configuration for replace action requires 'target_label' value", false},
    {"bad-relabel-target-label.yml", "5:9: \"1b\" is invalid 'target_label' for replace action",
     false},
    {"bad-remote-write-header.yml",
     "3:5: authorization header must be changed via the basic_auth, authorization, oauth2, or "
     "sigv4 parameter",
     false},
    {"bad-remote-write-no-url.yml", "2:5: url for remote_write is empty", false},
    {"bad-rule-file-glob.yml", "2:5: invalid rule file path \"rules/*/x*.yml\"", false},
    {"bad-scheme.yml", "3:13: scheme \"ftp\" is not supported, use http or https", true},
    {"bad-scrape-configs-type.yml",
     "1:17: cannot unmarshal !!str `foo` into []*config.ScrapeConfig", false},
    {"bad-static-label-name.yml", "6:11: \"bad-name\" is not a valid label name", false},
    {"bad-target-url.yml", "4:19: \"http://foo:9090/metrics\" is not a valid hostname", false},
    {"bad-timeout-gt-interval.yml",
     "4:5: scrape timeout greater than scrape interval for scrape config with job name \"a\"",
     false},
    {"bad-tls-version.yml", "4:7: unknown TLS version: TLS09", false},
    {"bad-uint.yml", "3:19: cannot unmarshal !!int `-1` into uint", false},
    {"bad-unknown-global-field.yml",
     "2:3: field scrape_intervall not found in type config.GlobalConfig", false},
    {"bad-unknown-scrape-field.yml",
     "3:5: field scrape_intervall not found in type config.ScrapeConfig", false},
    {"bad-unknown-top-field.yml", "1:1: field globals not found in type config.Config", false},
    {"bad-vigil-field.yml", "2:3: field hots not found in type vigil.Config", false},
    {"bad-yaml-syntax.yml", "3:2: yaml: did not find expected key", false},
};

static bool regex_check_available(void) {
    vg_err_t err = {0};
    const char *y = "scrape_configs:\n  - job_name: j\n    relabel_configs:\n"
                    "      - action: keep\n        regex: '('\n";
    config_t *c = load_str(y, &err);
    config_unref(c);
    return c == NULL;
}

static void test_broken_fixtures(void **state) {
    (void)state;
    assert_int_equal(chdir(FIXTURES), 0);
    bool regex_ok = regex_check_available();
    size_t n_files = 0;
    DIR *d = opendir(".");
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "bad-", 4)) n_files++;
    closedir(d);
    /* Every bad-*.yml has an entry here. */
    assert_int_equal(n_files, sizeof broken / sizeof *broken);
    for (size_t i = 0; i < sizeof broken / sizeof *broken; i++) {
        if (!regex_ok && !strcmp(broken[i].file, "bad-regex.yml")) continue;
        vg_err_t err = {0};
        config_t *c = config_load_file(broken[i].file, &err);
        if (c) {
            config_unref(c);
            fail_msg("%s loaded", broken[i].file);
        }
        char want[VG_ERR_MSG_MAX];
        snprintf(want, sizeof want, "%s:%s", broken[i].file, broken[i].msg);
        if (strcmp(err.msg, want))
            fail_msg("%s:\n got  %s\n want %s", broken[i].file, err.msg, want);
    }
}

/* promtool (the reference) must reject the same files, and accept the good
 * ones. Skipped where promtool is not installed. */
static void test_promtool_agrees(void **state) {
    (void)state;
    if (access("/usr/bin/promtool", X_OK) != 0) skip();
    assert_int_equal(chdir(FIXTURES), 0);
    for (size_t i = 0; i < sizeof broken / sizeof *broken; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "promtool check config %s >/dev/null 2>&1", broken[i].file);
        int rc = system(cmd);
        if (broken[i].vigil_only)
            assert_int_equal(rc, 0);
        else if (rc == 0)
            fail_msg("promtool accepts %s", broken[i].file);
    }
    assert_int_equal(system("promtool check config good-full.yml >/dev/null 2>&1"), 0);
    /* vigil.yml without its vigil: section is a valid prometheus.yml. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "sed '/^vigil:/,$d' %s/vigil.yml > /tmp/vigil-config-test-$$.yml && "
             "promtool check config /tmp/vigil-config-test-$$.yml >/dev/null 2>&1; "
             "rc=$?; rm -f /tmp/vigil-config-test-$$.yml; exit $rc",
             VG_SOURCE_DIR);
    assert_int_equal(system(cmd), 0);
}

/* ------------------------------------------------------------ more errors */

static void test_inline_errors(void **state) {
    (void)state;
    const char *j = "scrape_configs:\n  - job_name: j\n";
    char y[512];
    expect_error("scrape_configs:\n  -\n", "t.yml:2:4: empty or null scrape config section");
    snprintf(y, sizeof y, "%s    relabel_configs:\n      -\n", j);
    expect_error(y, "t.yml:4:8: empty or null target relabeling rule in scrape config");
    snprintf(y, sizeof y, "%s    relabel_configs:\n      - action: ''\n", j);
    expect_error(y, "t.yml:4:17: relabel action cannot be empty");
    snprintf(y, sizeof y,
             "%s    relabel_configs:\n      - source_labels: [a-b]\n"
             "        action: keep\n",
             j);
    expect_error(y, "t.yml:4:25: \"a-b\" is not a valid label name");
    snprintf(y, sizeof y, "%s    relabel_configs:\n      - target_label: '${1'\n", j);
    expect_error(y, "t.yml:4:9: \"${1\" is invalid 'target_label' for replace action");
    snprintf(y, sizeof y, "%s    scrape_timeout: 1x\n", j);
    expect_error(y, "t.yml:3:21: not a valid duration string: \"1x\"");
    snprintf(y, sizeof y, "%s    honor_labels: 'true'\n", j);
    expect_error(y, "t.yml:3:19: cannot unmarshal !!str `true` into bool");
    snprintf(y, sizeof y, "%s    sample_limit: 1.5\n", j);
    expect_error(y, "t.yml:3:19: cannot unmarshal !!float `1.5` into uint");
    snprintf(y, sizeof y, "%s    metrics_path: {a: b}\n", j);
    expect_error(y, "t.yml:3:19: cannot unmarshal !!map into string");
    snprintf(y, sizeof y, "%s    static_configs:\n      - targets: a:1\n", j);
    expect_error(y, "t.yml:4:18: cannot unmarshal !!str `a:1` into []string");
    snprintf(y, sizeof y, "%s    static_configs:\n      - targetz: [a]\n", j);
    expect_error(y, "t.yml:4:9: field targetz not found in type targetgroup.Group");
    snprintf(y, sizeof y, "%s    params:\n      a: [x]\n      a: [y]\n", j);
    expect_error(y, "t.yml:5:7: key \"a\" already set in map");
    snprintf(y, sizeof y, "%s    metrics_path: /x\n    metrics_path: /y\n", j);
    expect_error(y, "t.yml:4:5: field metrics_path already set in type config.ScrapeConfig");
    snprintf(y, sizeof y, "%s    honor_labels: true\n    honor_labels: true\n", j);
    expect_error(y, "t.yml:4:5: field honor_labels already set in type config.ScrapeConfig");
    snprintf(y, sizeof y, "%s    basic_auth: {username: u}\n    authorization: {credentials: c}\n",
             j);
    expect_error(y, "t.yml:4:5: at most one of basic_auth, oauth2 & authorization must be "
                    "configured");
    snprintf(y, sizeof y, "%s    oauth2: {client_id: a}\n", j);
    expect_error(y, "t.yml:3:5: either oauth2 client_secret or client_secret_file must be "
                    "configured");
    snprintf(y, sizeof y, "%s    tls_config: {cert_file: a}\n", j);
    expect_error(y, "t.yml:3:17: exactly one of key or key_file must be configured when a "
                    "client certificate is configured");
    snprintf(y, sizeof y, "%s    http_sd_configs:\n      - refresh_interval: 1m\n", j);
    expect_error(y, "t.yml:4:9: URL is missing");
    snprintf(y, sizeof y, "%s    file_sd_configs:\n      - files: []\n", j);
    expect_error(y, "t.yml:4:9: file service discovery config must contain at least one path "
                    "name");
    snprintf(y, sizeof y, "%s    kubernetes_sd_configs: {role: pod}\n", j);
    expect_error(y, "t.yml:3:28: cannot unmarshal !!map into []discovery.Config");
    expect_error("remote_write:\n  - url: http://a\n    name: x\n  - url: http://b\n    name: x\n",
                 "t.yml:4:5: found multiple remote write configs with job name \"x\"");
    expect_error("remote_write:\n  - url: http://a\n    headers: {User-Agent: x}\n",
                 "t.yml:3:5: User-Agent is a reserved header. It must not be changed");
    expect_error("tracing:\n  client_type: http\n", "t.yml:2:3: tracing endpoint must be set");
    expect_error("global: 5\n", "t.yml:1:9: cannot unmarshal !!int `5` into config.GlobalConfig");
    expect_error("- a\n", "t.yml:1:1: cannot unmarshal !!seq into config.Config");
    expect_error("global:\n  external_labels:\n    __name__long_value_here: 'a'\n    x: [1]\n",
                 "t.yml:4:8: cannot unmarshal !!seq into string");
    expect_error("global:\n  scrape_interval: 10s\n  scrape_interval: 20s\n",
                 "t.yml:3:3: field scrape_interval already set in type config.GlobalConfig");
    expect_error("vigil:\n  host:\n    collectors: {cpu: maybe}\n",
                 "t.yml:3:23: cannot unmarshal !!str `maybe` into bool");
    expect_error("a: *nope\n", "t.yml:1:4: yaml: unknown anchor 'nope' referenced");
    expect_error("global:\n  scrape_interval: \"averyveryverylongvalue\"\n  x: 1\n",
                 "t.yml:2:20: not a valid duration string: \"averyveryverylongvalue\"");
    expect_error("global:\n  sample_limit: \"averyveryverylongvalue\"\n",
                 "t.yml:2:17: cannot unmarshal !!str `averyve...` into uint");
}

/* Other SD mechanisms load with one warning per job and mechanism. */
static void test_unreachable_sd(void **state) {
    (void)state;
    vg_err_t err = {0};
    config_t *c = load_str("scrape_configs:\n"
                           "  - job_name: a\n"
                           "    consul_sd_configs: [{server: 'localhost:8500'}]\n"
                           "    dns_sd_configs: [{names: [x.example.com]}, {names: [y]}]\n"
                           "    ec2_sd_configs: []\n"
                           "  - job_name: b\n"
                           "    static_configs: [{targets: ['x:1']}]\n"
                           "alerting:\n"
                           "  alertmanagers:\n"
                           "    - kubernetes_sd_configs: [{role: pod}]\n",
                           &err);
    assert_non_null(c);
    assert_int_equal(config_n_warnings(c), 3);
    assert_true(has_warning(c, "job \"a\": consul_sd_configs cannot be reached here"));
    assert_true(has_warning(c, "job \"a\": dns_sd_configs cannot be reached here"));
    assert_true(has_warning(c, "alertmanager at line 10: kubernetes_sd_configs cannot be "
                               "reached here"));
    assert_int_equal(config_job_find(c, "a")->n_unreachable_sd, 3);
    assert_int_equal(config_job_find(c, "b")->n_unreachable_sd, 0);
    assert_null(config_job_find(c, "zzz"));
    assert_null(config_warning(c, 3));
    config_unref(c);
}

/* ------------------------------------------------------------ vigil */

static void test_vigil_section(void **state) {
    (void)state;
    vg_err_t err = {0};
    config_t *c = load_str("vigil:\n  host:\n    enabled: false\n"
                           "    collectors: {cpu: true, pressure: false, made_up: yes}\n",
                           &err);
    assert_non_null(c);
    assert_true(c->vigil.present);
    assert_false(c->vigil.host.enabled);
    assert_int_equal(c->vigil.host.n_collectors, 3);
    assert_string_equal(c->vigil.host.collectors[0].name, "cpu");
    assert_true(c->vigil.host.collectors[0].on);
    assert_string_equal(c->vigil.host.collectors[1].name, "pressure");
    assert_false(c->vigil.host.collectors[1].on);
    assert_true(c->vigil.host.collectors[2].on); /* names are the host module's business */
    config_unref(c);

    c = config_load_file(VG_SOURCE_DIR "/vigil.yml", &err);
    if (!c) fail_msg("%s", err.msg);
    assert_int_equal(c->global.scrape_interval_ms, 15000);
    assert_int_equal(c->n_scrape_configs, 1);
    assert_string_equal(c->scrape_configs[0].job_name, "vigil");
    assert_string_equal(c->scrape_configs[0].static_configs[0].targets[0], "localhost:9090");
    assert_true(c->vigil.present);
    assert_true(c->vigil.host.enabled);
    assert_int_equal(config_n_warnings(c), 0);
    config_unref(c);
}

static void test_env_and_anchors(void **state) {
    (void)state;
    setenv("VG_TEST_REGION", "eu-1", 1);
    unsetenv("VG_TEST_UNSET");
    vg_err_t err = {0};
    config_t *c = load_str("global:\n  external_labels:\n    region: $VG_TEST_REGION\n"
                           "    zone: '${VG_TEST_REGION}-a'\n    cost: '$$5'\n"
                           "    empty: '$VG_TEST_UNSET'\n",
                           &err);
    assert_non_null(c);
    assert_string_equal(c->global.external_labels[0].value, "$5");
    assert_string_equal(c->global.external_labels[1].value, "");
    assert_string_equal(c->global.external_labels[2].value, "eu-1");
    assert_string_equal(c->global.external_labels[3].value, "eu-1-a");
    assert_true(has_warning(c, "VG_TEST_UNSET"));
    config_unref(c);

    /* Anchors and aliases, as yaml.v2 reads them. */
    c = load_str("scrape_configs:\n"
                 "  - job_name: a\n"
                 "    static_configs: &sc\n      - targets: ['x:1']\n"
                 "  - job_name: b\n    static_configs: *sc\n",
                 &err);
    assert_non_null(c);
    assert_string_equal(c->scrape_configs[1].static_configs[0].targets[0], "x:1");
    config_unref(c);

    /* Merge keys: explicit keys win over merged ones, earlier merges over later. */
    c = load_str("scrape_configs:\n"
                 "  - &d\n    job_name: a\n    scrape_interval: 30s\n    metrics_path: /m\n"
                 "  - &e\n    job_name: e\n    scheme: https\n    metrics_path: /e\n"
                 "  - <<: [*d, *e]\n    job_name: b\n    metrics_path: /own\n",
                 &err);
    if (!c) fail_msg("%s", err.msg);
    const config_scrape_t *b = config_job_find(c, "b");
    assert_int_equal(b->scrape_interval_ms, 30000);
    assert_string_equal(b->metrics_path, "/own");
    assert_string_equal(b->scheme, "https");
    config_unref(c);
    expect_error("scrape_configs:\n  - job_name: a\n    <<: 5\n",
                 "t.yml:3:9: map merge requires map or sequence of maps as the value");
    expect_error("scrape_configs:\n  - job_name: a\n    <<: {bogus: 1}\n",
                 "t.yml:3:10: field bogus not found in type config.ScrapeConfig");
}

/* --------------------------------------------------------------- bounds */

static void test_bounds(void **state) {
    (void)state;
    vg_err_t err = {0};
    /* Nesting. */
    vg_buf_t b = VG_BUF_INIT;
    for (int i = 0; i < 100; i++)
        vg_buf_puts(&b, "[");
    for (int i = 0; i < 100; i++)
        vg_buf_puts(&b, "]");
    assert_null(config_load_string(b.data, b.len, "t.yml", &err));
    assert_int_equal(err.code, VG_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "nesting deeper than 64"));
    vg_buf_free(&b);

    /* Size. */
    size_t big = VG_CONFIG_MAX_FILE_BYTES + 1;
    char *huge = malloc(big);
    memset(huge, '#', big);
    assert_null(config_load_string(huge, big, "t.yml", &err));
    assert_int_equal(err.code, VG_ERR_LIMIT);
    free(huge);

    /* Alias expansion ("billion laughs") is bounded by the visit budget. */
    vg_buf_printf(&b, "a0: &a0 {targets: [x, x, x, x, x, x, x, x, x, x]}\n");
    for (int i = 1; i < 12; i++)
        vg_buf_printf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
                      i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    vg_buf_puts(&b, "scrape_configs:\n  - job_name: j\n    static_configs: *a11\n");
    double t0 = vg_time_mono();
    assert_null(config_load_string(b.data, b.len, "t.yml", &err));
    /* a0..a11 are unknown top-level keys: the loader stops at the first. */
    assert_non_null(strstr(err.msg, "field a0 not found"));
    assert_true(vg_time_mono() - t0 < 2.0);
    vg_buf_free(&b);

    vg_buf_puts(&b, "x: &a0 {targets: [x, x, x, x, x, x, x, x, x, x]}\n");
    vg_buf_puts(&b, "scrape_configs:\n  - job_name: j\n    static_configs: &a1 [*a0, *a0, *a0, "
                    "*a0, *a0, *a0, *a0, *a0, *a0, *a0]\n");
    for (int i = 2; i < 9; i++)
        vg_buf_printf(&b,
                      "  - job_name: j%d\n    static_configs: &a%d [*a%d, *a%d, *a%d, *a%d, "
                      "*a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
                      i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    t0 = vg_time_mono();
    assert_null(config_load_string(b.data, b.len, "t.yml", &err));
    assert_true(vg_time_mono() - t0 < 5.0);
    vg_buf_free(&b);

    /* Many keys in one map: duplicate detection is not quadratic. */
    vg_buf_puts(&b, "global:\n  external_labels:\n");
    for (int i = 0; i < 200000; i++)
        vg_buf_printf(&b, "    l%d: v\n", i);
    t0 = vg_time_mono();
    config_t *c = config_load_string(b.data, b.len, "t.yml", &err);
    assert_non_null(c);
    assert_int_equal(c->global.n_external_labels, 200000);
    assert_true(vg_time_mono() - t0 < 5.0);
    config_unref(c);
    vg_buf_free(&b);
}

static void test_refcount(void **state) {
    (void)state;
    vg_err_t err = {0};
    config_t *c = load_str("scrape_configs: [{job_name: x}]\n", &err);
    assert_non_null(c);
    assert_ptr_equal(config_ref(c), c);
    config_unref(c);
    assert_string_equal(c->scrape_configs[0].job_name, "x"); /* still alive */
    config_unref(c);
    config_unref(NULL);
    assert_null(config_ref(NULL));
    assert_int_equal(config_n_warnings(NULL), 0);
}

/* ------------------------------------------------------------ check */

static char *run_check(const char *path, int *code) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    *code = config_check_file(path, out, out);
    fclose(out);
    return buf;
}

static void test_check_output(void **state) {
    (void)state;
    assert_int_equal(chdir(FIXTURES), 0);
    int code;
    char *s = run_check("good-full.yml", &code);
    assert_int_equal(code, 0);
    assert_string_equal(s, "Checking good-full.yml\n"
                           "  SUCCESS: 1 rule files found\n"
                           " SUCCESS: good-full.yml is valid prometheus config file syntax\n\n"
                           "Checking rules/example.yml\n"
                           "  SUCCESS: 2 rules found\n\n");
    free(s);
    s = run_check("bad-duration.yml", &code);
    assert_int_equal(code, 1);
    assert_string_equal(s, "Checking bad-duration.yml\n"
                           "  FAILED: bad-duration.yml:2:20: not a valid duration string: "
                           "\"abc\"\n\n");
    free(s);
    s = run_check(VG_SHARED_DIR "/seed-fixtures/prometheus-003.yml", &code);
    assert_int_equal(code, 0);
    assert_non_null(strstr(s, "  WARNING: job \"api-gateway\": kubernetes_sd_configs cannot be "
                              "reached here; the job gets no targets from it\n"));
    free(s);
    s = run_check("does-not-exist.yml", &code);
    assert_int_equal(code, 1);
    assert_non_null(strstr(s, "  FAILED: "));
    assert_non_null(strstr(s, "does-not-exist.yml"));
    free(s);

    /* Missing files: an explicit rule file fails, a file_sd file warns. */
    char dir[] = "/tmp/vigil-config-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/p.yml", dir);
    FILE *f = fopen(path, "w");
    fputs("scrape_configs:\n  - job_name: a\n    file_sd_configs:\n"
          "      - files: [sd/none.json]\n",
          f);
    fclose(f);
    s = run_check(path, &code);
    assert_int_equal(code, 0);
    char want[512];
    snprintf(want, sizeof want,
             "  WARNING: file \"%s/sd/none.json\" for file_sd in scrape job \"a\" does not "
             "exist\n",
             dir);
    assert_non_null(strstr(s, want));
    free(s);
    f = fopen(path, "w");
    fputs("rule_files: [nothere.yml]\n", f);
    fclose(f);
    s = run_check(path, &code);
    assert_int_equal(code, 1);
    snprintf(want, sizeof want, "  FAILED: \"%s/nothere.yml\" does not point to an existing file",
             dir);
    assert_non_null(strstr(s, want));
    free(s);
    unlink(path);
    rmdir(dir);
}

/* The committed fuzz corpus loads without crashing (errors are fine). */
static void test_fuzz_corpus(void **state) {
    (void)state;
    DIR *d = opendir(VG_SOURCE_DIR "/fuzz/corpus/config");
    if (!d) skip();
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[1024], *data = NULL;
        size_t len = 0;
        snprintf(path, sizeof path, "%s/fuzz/corpus/config/%s", VG_SOURCE_DIR, e->d_name);
        if (vg_file_read_all(path, 1 << 24, &data, &len, NULL) != VG_OK) continue;
        vg_err_t err = {0};
        config_unref(config_load_string(data, len, e->d_name, &err));
        free(data);
        n++;
    }
    closedir(d);
    assert_true(n > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_003),
        cmocka_unit_test(test_all_seed_configs),
        cmocka_unit_test(test_compliance_config),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_fixture),
        cmocka_unit_test(test_v3_fixture),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_broken_fixtures),
        cmocka_unit_test(test_promtool_agrees),
        cmocka_unit_test(test_inline_errors),
        cmocka_unit_test(test_unreachable_sd),
        cmocka_unit_test(test_vigil_section),
        cmocka_unit_test(test_env_and_anchors),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_check_output),
        cmocka_unit_test(test_fuzz_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
