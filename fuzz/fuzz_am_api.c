/* libFuzzer target for the Alertmanager API v2 as a client reaches it: a
 * real web server on 127.0.0.1 with a real Alertmanager (its database in a
 * temporary directory) behind it. The first byte picks the endpoint and
 * method; the rest is the body (POST) or the filter / silence id (GET,
 * DELETE). Bodies go through the JSON decoders, validation, the store, the
 * dispatcher and the silences; any crash or sanitizer report is a finding. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert/alert.h"
#include "httpc/httpc.h"
#include "selfmon/selfmon.h"
#include "web/web.h"

static web_server_t *srv;
static web_app_t app;
static alert_manager_t *am;
static char base[64];
static char dir[] = "/tmp/vigil-fuzz-am-XXXXXX";

static const char config[] = "route:\n"
                             "  receiver: hook\n"
                             "  group_by: [alertname]\n"
                             "  group_wait: 1s\n"
                             "  routes:\n"
                             "  - matchers: ['severity=\"critical\"']\n"
                             "    receiver: hook\n"
                             "    continue: true\n"
                             "inhibit_rules:\n"
                             "- source_matchers: [severity=\"critical\"]\n"
                             "  target_matchers: [severity=\"warning\"]\n"
                             "  equal: [cluster]\n"
                             "receivers:\n"
                             "- name: hook\n"
                             "  webhook_configs:\n"
                             "  - url: http://127.0.0.1:1/hook\n";

static void cleanup(void) {
    web_server_stop(srv);
    alert_manager_free(am);
    selfmon_free(app.selfmon);
    vg_err_t err = {0};
    vg_remove_all(dir, &err);
}

static void setup(void) {
    vg_log_setup(VG_LOG_ERROR, VG_LOG_LOGFMT, stderr);
    if (!mkdtemp(dir)) abort();
    vg_err_t err = {0};
    alert_manager_opts_t o = {.storage_dir = dir, .external_url = "http://fuzz", .n_workers = 1};
    am = alert_manager_new(&o, &err);
    alert_config_t *c =
        am ? alert_config_load_string(config, sizeof config - 1, "fuzz", &err) : NULL;
    if (!c || alert_manager_apply(am, c, &err) != VG_OK) {
        fprintf(stderr, "fuzz_am_api: %s\n", err.msg);
        abort();
    }
    alert_config_unref(c);
    app.selfmon = selfmon_new("/proc");
    atomic_store(&app.alertmanager, am);
    atomic_store(&app.silences, alert_manager_silences(am));
    web_options_t wo = {.listen_address = "127.0.0.1:0", .max_body_bytes = 1 << 20, .n_threads = 2};
    srv = web_server_start(&wo, &app, &err);
    if (!srv) abort();
    snprintf(base, sizeof base, "http://127.0.0.1:%u", web_server_port(srv));
    httpc_global_init();
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!srv) setup();
    if (size == 0) return 0;
    uint8_t sel = data[0] % 7;
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    vg_buf_t url = VG_BUF_INIT;
    httpc_request_t req = {.timeout_ms = 5000, .content_type = "application/json"};
    CURL *esc = curl_easy_init();
    /* Length 0 makes curl take strlen(): give it a real empty string. */
    char *q = curl_easy_escape(esc, n ? rest : "", (int)n);
    switch (sel) {
    case 0:
        vg_buf_printf(&url, "%s/api/v2/alerts", base);
        req.method = "POST", req.body = rest, req.body_len = n;
        break;
    case 1:
        vg_buf_printf(&url, "%s/api/v2/silences", base);
        req.method = "POST", req.body = rest, req.body_len = n;
        break;
    case 2: vg_buf_printf(&url, "%s/api/v2/alerts?filter=%s", base, q ? q : ""); break;
    case 3: vg_buf_printf(&url, "%s/api/v2/silences?filter=%s", base, q ? q : ""); break;
    case 4: vg_buf_printf(&url, "%s/api/v2/alerts/groups?receiver=%s", base, q ? q : ""); break;
    case 5: vg_buf_printf(&url, "%s/api/v2/silence/%s", base, q ? q : ""); break;
    default:
        vg_buf_printf(&url, "%s/api/v2/silence/%s", base, q ? q : "");
        req.method = "DELETE";
        break;
    }
    curl_free(q);
    curl_easy_cleanup(esc);
    req.url = url.data;
    httpc_response_t res = {0, VG_BUF_INIT};
    vg_err_t err = {0};
    httpc_do(&req, &res, &err);
    /* A request that got no answer means the server died or hung. */
    if (res.status == 0 && sel != 5 && sel != 6) {
        fprintf(stderr, "fuzz_am_api: no answer: %s\n", err.msg);
        abort();
    }
    vg_buf_free(&res.body);
    vg_buf_free(&url);
    return 0;
}
