/* Tests for src/notify (webhook, Slack, PagerDuty, OpsGenie, the list of
 * integrations, data subsets, retry rules, timeouts, metrics): a real HTTP
 * receiver (libmicrohttpd on 127.0.0.1, a free port) records each request
 * and answers as the test tells it, and the payloads are compared byte for
 * byte with what Alertmanager 0.25 sends for the same data (derived from
 * its notifier sources: struct field order, omitempty, Go's JSON escapes,
 * the trailing newline of json.Encoder). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <microhttpd.h>
#include <pthread.h>

#include "httpc/httpc.h"
#include "notify/notify.h"
#include "notify/notify_int.h"
#include "notify_testdata.h"

/* ------------------------------------------------------------ receiver */

#define MAX_REQS 16

typedef struct rec_req {
    char method[8];
    char path[512];
    char content_type[128], user_agent[128], authorization[256];
    vg_buf_t body;
} rec_req_t;

typedef struct receiver {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    rec_req_t reqs[MAX_REQS];
    int n_reqs;
    /* the answer */
    int status;
    const char *content_type, *body;
    int delay_ms;
} receiver_t;

static receiver_t rx;

typedef struct conn_state {
    vg_buf_t body;
} conn_state_t;

static enum MHD_Result add_query(void *cls, enum MHD_ValueKind kind, const char *k, const char *v) {
    (void)kind;
    vg_buf_t *b = cls;
    vg_buf_printf(b, "%c%s=%s", b->len ? '&' : '?', k, v ? v : "");
    return MHD_YES;
}

static void copy_header(struct MHD_Connection *c, const char *name, char *out, size_t cap) {
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    snprintf(out, cap, "%s", v ? v : "");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    (void)cls;
    (void)version;
    conn_state_t *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof *st);
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_size) {
        vg_buf_append(&st->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&rx.mu);
    if (rx.n_reqs < MAX_REQS) {
        rec_req_t *r = &rx.reqs[rx.n_reqs++];
        snprintf(r->method, sizeof r->method, "%s", method);
        vg_buf_t q = VG_BUF_INIT;
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_query, &q);
        snprintf(r->path, sizeof r->path, "%s%s", url, q.data ? q.data : "");
        vg_buf_free(&q);
        copy_header(c, "Content-Type", r->content_type, sizeof r->content_type);
        copy_header(c, "User-Agent", r->user_agent, sizeof r->user_agent);
        copy_header(c, "Authorization", r->authorization, sizeof r->authorization);
        r->body = st->body;
        if (!r->body.data) vg_buf_puts(&r->body, "");
        st->body = (vg_buf_t)VG_BUF_INIT;
    }
    int status = rx.status, delay = rx.delay_ms;
    const char *body = rx.body ? rx.body : "", *ct = rx.content_type;
    pthread_mutex_unlock(&rx.mu);
    if (delay) usleep((useconds_t)delay * 1000);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (ct) MHD_add_response_header(resp, "Content-Type", ct);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)c;
    (void)toe;
    conn_state_t *st = *con_cls;
    if (st) {
        vg_buf_free(&st->body);
        free(st);
    }
    *con_cls = NULL;
}

static void rx_reset(int status, const char *content_type, const char *body) {
    pthread_mutex_lock(&rx.mu);
    for (int i = 0; i < rx.n_reqs; i++)
        vg_buf_free(&rx.reqs[i].body);
    rx.n_reqs = 0;
    rx.status = status;
    rx.content_type = content_type;
    rx.body = body;
    rx.delay_ms = 0;
    pthread_mutex_unlock(&rx.mu);
}

static int setup(void **state) {
    (void)state;
    httpc_global_init();
    pthread_mutex_init(&rx.mu, NULL);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rx.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                            NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
    if (!rx.d) return -1;
    rx.port = MHD_get_daemon_info(rx.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    td_many_init();
    return 0;
}

static int teardown(void **state) {
    (void)state;
    rx_reset(200, NULL, NULL);
    MHD_stop_daemon(rx.d);
    return 0;
}

/* ------------------------------------------------------------- helpers */

static alert_config_t *load(const char *fmt, ...) {
    char yaml[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(yaml, sizeof yaml, fmt, ap);
    va_end(ap);
    vg_err_t err = {0};
    alert_config_t *cfg = alert_config_load_string(yaml, strlen(yaml), "am.yml", &err);
    if (!cfg) fail_msg("config: %s\n%s", err.msg, yaml);
    return cfg;
}

typedef struct sent {
    int rc;
    bool retry;
    vg_err_t err;
    double seconds;
} sent_t;

#define GROUP_KEY "{}/{a=\"b\"}:{alertname=\"HighLatency\"}"
#define GROUP_KEY_SHA256 "d7e024e13970b45d3405741c5b71e6397751a44f9e3249402605b71c31f6868c"
#define AM_URL "http://am.example.com:9093/#/alerts?receiver=team-X+%28prod%29"

/* Sends data set `set` over the receiver's integration number `which`. */
static sent_t send_set(const alert_config_t *cfg, size_t which, size_t set, int64_t timeout_ms) {
    const alert_receiver_t *r = &cfg->receivers[0];
    notify_integration_t ins[8];
    size_t n = notify_integrations(r, ins, 8);
    assert_true(which < n);
    vg_err_t err = {0};
    notify_templates_t *t = notify_templates_load(cfg, &err);
    assert_non_null(t);
    template_am_data_t *d = td_build(&td_sets[set]);
    sent_t s = {0};
    double t0 = vg_time_mono();
    s.rc = notify_send(&ins[which], cfg, t, d, GROUP_KEY, timeout_ms, &s.retry, &s.err);
    s.seconds = vg_time_mono() - t0;
    td_free(d);
    notify_templates_free(t);
    return s;
}

/* Renders a default template for data set `set`, JSON-escaped. */
static char *rendered_json(const char *text, size_t set) {
    vg_err_t err = {0};
    notify_templates_t *t = notify_templates_load(NULL, &err);
    template_am_data_t *d = td_build(&td_sets[set]);
    vg_buf_t out = VG_BUF_INIT, esc = VG_BUF_INIT;
    assert_int_equal(notify_template_execute(t, text, false, d, &out, &err), 0);
    vg_buf_put_json_escaped(&esc, out.data ? out.data : "", out.len);
    if (!esc.data) vg_buf_puts(&esc, "");
    vg_buf_free(&out);
    td_free(d);
    notify_templates_free(t);
    return vg_buf_detach(&esc);
}

/* ------------------------------------------------------------- webhook */

#define WH_ALERT1                                                                                  \
    "{\"status\":\"firing\",\"labels\":{\"alertname\":\"HighLatency\",\"instance\":\"a:9090\","    \
    "\"job\":\"api\",\"severity\":\"page\"},\"annotations\":{\"runbook\":\"https://wiki/"          \
    "x?a=1\\u0026b=\\u003c2\\u003e\",\"summary\":\"Latency is high\"},\"startsAt\":\"2023-11-"     \
    "14T22:13:20.123Z\",\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"http://prom:9090/"  \
    "graph?g0.expr=up%3D%3D0\",\"fingerprint\":\"1a2b3c4d5e6f7081\"}"
#define WH_ALERT2                                                                                  \
    "{\"status\":\"firing\",\"labels\":{\"alertname\":\"HighLatency\",\"instance\":\"b:9090\","    \
    "\"job\":\"api\",\"severity\":\"page\"},\"annotations\":{\"description\":\"p99 \\u003e 1s on " \
    "\\\"b\\\" — ünïcode\",\"summary\":\"Latency is "                                          \
    "high\"},\"startsAt\":\"2023-11-14T22:13:21Z\","                                               \
    "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"http://prom:9090/"                     \
    "graph?g0.expr=x\",\"fingerprint\":\"2b3c4d5e6f708192\"}"

static void test_webhook(void **state) {
    (void)state;
    alert_config_t *cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  webhook_configs:\n"
                               "  - url: http://127.0.0.1:%d/hook\n",
                               rx.port);
    rx_reset(200, NULL, "");
    sent_t s = send_set(cfg, 0, 0, 5000);
    assert_int_equal(s.rc, 0);
    assert_int_equal(rx.n_reqs, 1);
    assert_string_equal(rx.reqs[0].method, "POST");
    assert_string_equal(rx.reqs[0].path, "/hook");
    assert_string_equal(rx.reqs[0].content_type, "application/json");
    assert_string_equal(rx.reqs[0].user_agent, NOTIFY_USER_AGENT);
    assert_string_equal(
        rx.reqs[0].body.data,
        "{\"receiver\":\"team-X (prod)\",\"status\":\"firing\",\"alerts\":[" WH_ALERT1 "," WH_ALERT2
        "],\"groupLabels\":{\"alertname\":\"HighLatency\"},\"commonLabels\":{"
        "\"alertname\":\"HighLatency\",\"job\":\"api\",\"severity\":\"page\"},"
        "\"commonAnnotations\":{\"summary\":\"Latency is high\"},\"externalURL\":\"http://"
        "am.example.com:9093\",\"version\":\"4\",\"groupKey\":\"{}/{a=\\\"b\\\"}:{alertname="
        "\\\"HighLatency\\\"}\",\"truncatedAlerts\":0}\n");

    /* a resolved alert has its end; times keep their milliseconds */
    rx_reset(204, NULL, "");
    s = send_set(cfg, 0, 1, 5000);
    assert_int_equal(s.rc, 0);
    assert_non_null(strstr(rx.reqs[0].body.data,
                           "\"status\":\"resolved\",\"alerts\":[{\"status\":\"resolved\""));
    assert_non_null(strstr(rx.reqs[0].body.data, "\"startsAt\":\"2023-11-14T22:13:20Z\","
                                                 "\"endsAt\":\"2023-11-14T22:23:20.5Z\""));
    alert_config_unref(cfg);

    /* max_alerts: the first alerts only, the data computed again from them */
    cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  webhook_configs:\n"
               "  - url: http://127.0.0.1:%d/hook\n    max_alerts: 1\n",
               rx.port);
    rx_reset(200, NULL, "");
    s = send_set(cfg, 0, 0, 5000);
    assert_int_equal(s.rc, 0);
    assert_string_equal(
        rx.reqs[0].body.data,
        "{\"receiver\":\"team-X (prod)\",\"status\":\"firing\",\"alerts\":[" WH_ALERT1
        "],\"groupLabels\":{\"alertname\":\"HighLatency\"},\"commonLabels\":{"
        "\"alertname\":\"HighLatency\",\"instance\":\"a:9090\",\"job\":\"api\",\"severity\":"
        "\"page\"},\"commonAnnotations\":{\"runbook\":\"https://wiki/"
        "x?a=1\\u0026b=\\u003c2\\u003e\","
        "\"summary\":\"Latency is high\"},\"externalURL\":\"http://am.example.com:9093\","
        "\"version\":\"4\",\"groupKey\":\"{}/{a=\\\"b\\\"}:{alertname=\\\"HighLatency\\\"}\","
        "\"truncatedAlerts\":1}\n");
    alert_config_unref(cfg);

    /* url_file, trimmed */
    char path[] = "/tmp/vigil-notify-urlXXXXXX";
    int fd = mkstemp(path);
    dprintf(fd, "  http://127.0.0.1:%d/from-file\n", rx.port);
    close(fd);
    cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  webhook_configs:\n"
               "  - url_file: %s\n",
               path);
    rx_reset(200, NULL, "");
    s = send_set(cfg, 0, 2, 5000);
    assert_int_equal(s.rc, 0);
    assert_string_equal(rx.reqs[0].path, "/from-file");
    unlink(path);
    alert_config_unref(cfg);
}

/* Alertmanager's Retrier: 2xx fine, 5xx retried, other codes not. */
static void test_webhook_errors(void **state) {
    (void)state;
    alert_config_t *cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  webhook_configs:\n"
                               "  - url: http://127.0.0.1:%d/hook\n",
                               rx.port);
    char want[256];
    rx_reset(500, "text/plain", "boom");
    sent_t s = send_set(cfg, 0, 0, 5000);
    assert_int_not_equal(s.rc, 0);
    assert_true(s.retry);
    snprintf(want, sizeof want, "unexpected status code 500: http://127.0.0.1:%d/hook: boom",
             rx.port);
    assert_string_equal(s.err.msg, want);
    rx_reset(503, NULL, "");
    s = send_set(cfg, 0, 0, 5000);
    assert_true(s.retry);
    rx_reset(429, NULL, "slow down");
    s = send_set(cfg, 0, 0, 5000);
    assert_int_not_equal(s.rc, 0);
    assert_false(s.retry); /* Alertmanager's webhook retries 5xx only */
    rx_reset(400, NULL, "bad");
    s = send_set(cfg, 0, 0, 5000);
    assert_false(s.retry);
    snprintf(want, sizeof want, "unexpected status code 400: http://127.0.0.1:%d/hook: bad",
             rx.port);
    assert_string_equal(s.err.msg, want);

    /* a receiver slower than the timeout */
    rx_reset(200, NULL, "");
    rx.delay_ms = 1500;
    s = send_set(cfg, 0, 0, 300);
    assert_int_not_equal(s.rc, 0);
    assert_true(s.retry);
    assert_true(s.seconds < 1.2);
    snprintf(want, sizeof want, "Post \"http://127.0.0.1:%d/hook\": context deadline exceeded",
             rx.port);
    assert_string_equal(s.err.msg, want);
    rx.delay_ms = 0;
    alert_config_unref(cfg);

    /* the integration's own timeout is shorter than the caller's */
    cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  webhook_configs:\n"
               "  - url: http://127.0.0.1:%d/hook\n    timeout: 200ms\n",
               rx.port);
    rx_reset(200, NULL, "");
    rx.delay_ms = 1500;
    s = send_set(cfg, 0, 0, 10000);
    assert_true(s.retry);
    assert_true(s.seconds < 1.2);
    rx.delay_ms = 0;
    alert_config_unref(cfg);

    /* nobody listening */
    cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  webhook_configs:\n"
               "  - url: http://127.0.0.1:1/\n");
    s = send_set(cfg, 0, 0, 5000);
    assert_true(s.retry);
    assert_string_equal(s.err.msg,
                        "Post \"http://127.0.0.1:1/\": dial tcp 127.0.0.1:1: connect: connection "
                        "refused");
    alert_config_unref(cfg);
}

/* --------------------------------------------------------------- Slack */

static void test_slack(void **state) {
    (void)state;
    alert_config_t *cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  slack_configs:\n"
                               "  - api_url: http://127.0.0.1:%d/services/T/B/X\n"
                               "    channel: '#alerts'\n",
                               rx.port);
    rx_reset(200, "text/html", "ok");
    sent_t s = send_set(cfg, 0, 0, 5000);
    assert_int_equal(s.rc, 0);
    assert_string_equal(rx.reqs[0].path, "/services/T/B/X");
    assert_string_equal(rx.reqs[0].content_type, "application/json");
    assert_string_equal(
        rx.reqs[0].body.data,
        "{\"channel\":\"#alerts\",\"username\":\"Alertmanager\",\"attachments\":[{"
        "\"title\":\"[FIRING:2] HighLatency (api page)\",\"title_link\":\"" AM_URL
        "\",\"text\":\"\",\"fallback\":\"[FIRING:2] HighLatency (api page) | " AM_URL
        "\",\"callback_id\":\"\",\"footer\":\"\",\"color\":\"danger\","
        "\"mrkdwn_in\":[\"fallback\",\"pretext\",\"text\"]}]}\n");

    /* Slack's error answers */
    rx_reset(200, "text/plain", "invalid_payload");
    s = send_set(cfg, 0, 0, 5000);
    assert_int_not_equal(s.rc, 0);
    assert_false(s.retry);
    assert_string_equal(s.err.msg, "channel \"#alerts\": received an error response from Slack: "
                                   "invalid_payload");
    rx_reset(200, "application/json; charset=utf-8",
             "{\"ok\":false,\"error\":\"channel_not_found\"}");
    s = send_set(cfg, 0, 0, 5000);
    assert_false(s.retry);
    assert_string_equal(s.err.msg,
                        "channel \"#alerts\": error response from Slack: channel_not_found");
    rx_reset(200, "application/json", "{\"ok\":true}");
    s = send_set(cfg, 0, 0, 5000);
    assert_int_equal(s.rc, 0);
    rx_reset(500, "text/plain", "rollup_error");
    s = send_set(cfg, 0, 0, 5000);
    assert_true(s.retry);
    assert_string_equal(s.err.msg, "channel \"#alerts\": unexpected status code 500: rollup_error");
    rx_reset(404, "text/plain", "no_service");
    s = send_set(cfg, 0, 0, 5000);
    assert_false(s.retry);
    alert_config_unref(cfg);

    /* fields, actions, link_names, mrkdwn_in, a resolved group; the URL
     * from the global section is never shown in errors */
    cfg = load("global:\n  slack_api_url: http://127.0.0.1:%d/g\nroute: {receiver: r}\n"
               "receivers:\n- name: r\n  slack_configs:\n  - channel: '#c'\n"
               "    link_names: true\n    icon_emoji: ':fire:'\n    mrkdwn_in: [text]\n"
               "    text: '{{ .CommonAnnotations.summary }}'\n"
               "    fields:\n    - {title: 'T {{ .Status }}', value: v, short: true}\n"
               "    - {title: t2, value: v2}\n"
               "    actions:\n    - {type: button, text: Go, url: 'http://r/{{ .Status }}', style: "
               "danger}\n    - type: button\n      text: Run\n      name: n\n      value: v\n"
               "      style: primary\n      confirm: {text: sure, title: really, ok_text: 'yes', "
               "dismiss_text: 'no'}\n",
               rx.port);
    rx_reset(200, NULL, "ok");
    s = send_set(cfg, 0, 1, 5000);
    assert_int_equal(s.rc, 0);
    assert_string_equal(rx.reqs[0].path, "/g");
    assert_string_equal(
        rx.reqs[0].body.data,
        "{\"channel\":\"#c\",\"username\":\"Alertmanager\",\"icon_emoji\":\":fire:\","
        "\"link_names\":true,\"attachments\":[{\"title\":\"[RESOLVED] HighLatency api "
        "(c:9090 warning)\",\"title_link\":\"" AM_URL "\",\"text\":\"Latency is high\","
        "\"fallback\":\"[RESOLVED] HighLatency api (c:9090 warning) | " AM_URL "\","
        "\"callback_id\":\"\",\"fields\":[{\"title\":\"T resolved\",\"value\":\"v\",\"short\":"
        "true},{\"title\":\"t2\",\"value\":\"v2\",\"short\":false}],\"actions\":[{\"type\":"
        "\"button\",\"text\":\"Go\",\"url\":\"http://r/resolved\",\"style\":\"danger\"},"
        "{\"type\":\"button\",\"text\":\"Run\",\"style\":\"primary\",\"name\":\"n\","
        "\"value\":\"v\",\"confirm\":{"
        "\"text\":\"sure\",\"title\":\"really\",\"ok_text\":\"yes\",\"dismiss_text\":\"no\"}}]"
        ",\"footer\":\"\",\"color\":\"good\",\"mrkdwn_in\":[\"text\"]}]}\n");
    alert_config_unref(cfg);

    cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  slack_configs:\n"
               "  - api_url: http://127.0.0.1:1/secret-token\n");
    s = send_set(cfg, 0, 0, 5000);
    assert_true(s.retry);
    assert_null(strstr(s.err.msg, "secret-token"));
    assert_non_null(strstr(s.err.msg, "<redacted>"));
    alert_config_unref(cfg);

    /* a template error stops the send, no retry */
    cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  slack_configs:\n"
               "  - api_url: http://127.0.0.1:%d/x\n    title: '{{ template \"nope\" . }}'\n",
               rx.port);
    rx_reset(200, NULL, "ok");
    s = send_set(cfg, 0, 0, 5000);
    assert_int_not_equal(s.rc, 0);
    assert_false(s.retry);
    assert_int_equal(rx.n_reqs, 0);
    assert_non_null(strstr(s.err.msg, "template \"nope\" not defined"));
    alert_config_unref(cfg);
}

/* ----------------------------------------------------------- PagerDuty */

static void test_pagerduty(void **state) {
    (void)state;
    alert_config_t *cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  pagerduty_configs:\n"
                               "  - routing_key: rk\n    url: http://127.0.0.1:%d/v2/enqueue\n",
                               rx.port);
    rx_reset(202, "application/json", "{\"status\":\"success\"}");
    sent_t s = send_set(cfg, 0, 0, 5000);
    assert_int_equal(s.rc, 0);
    assert_string_equal(rx.reqs[0].path, "/v2/enqueue");
    char *firing =
        rendered_json("{{ template \"pagerduty.default.instances\" .Alerts.Firing }}", 0);
    char want[8192];
    snprintf(want, sizeof want,
             "{\"routing_key\":\"rk\",\"dedup_key\":\"" GROUP_KEY_SHA256 "\",\"event_action\":"
             "\"trigger\",\"payload\":{\"summary\":\"[FIRING:2] HighLatency (api page)\","
             "\"source\":\"Alertmanager\",\"severity\":\"error\",\"custom_details\":{\"firing\":"
             "\"%s\",\"num_firing\":\"2\",\"num_resolved\":\"0\",\"resolved\":\"\"}},\"client\":"
             "\"Alertmanager\",\"client_url\":\"%s\"}\n",
             firing, AM_URL);
    assert_string_equal(rx.reqs[0].body.data, want);
    free(firing);
    /* the details hold the alert lists as Alertmanager's text template writes them */
    assert_non_null(strstr(rx.reqs[0].body.data,
                           "\"firing\":\"Labels:\\n - alertname = HighLatency\\n - instance = "
                           "a:9090\\n - job = api\\n - severity = page\\nAnnotations:\\n - "
                           "runbook = https://wiki/x?a=1\\u0026b=\\u003c2\\u003e\\n"));

    /* resolved */
    rx_reset(202, NULL, "");
    s = send_set(cfg, 0, 1, 5000);
    assert_int_equal(s.rc, 0);
    assert_non_null(strstr(rx.reqs[0].body.data, "\"event_action\":\"resolve\""));

    /* PagerDuty's 400 explains itself; 429 is retried */
    rx_reset(400, "application/json",
             "{\"status\":\"invalid event\",\"message\":\"Event object is invalid\",\"errors\":"
             "[\"Length of 'routing_key' is incorrect\",\"x\"]}");
    s = send_set(cfg, 0, 0, 5000);
    assert_false(s.retry);
    assert_string_equal(s.err.msg, "unexpected status code 400: Event object is invalid: Length "
                                   "of 'routing_key' is incorrect,x");
    rx_reset(429, NULL, "");
    s = send_set(cfg, 0, 0, 5000);
    assert_true(s.retry);
    assert_string_equal(s.err.msg, "unexpected status code 429");
    rx_reset(403, NULL, "");
    s = send_set(cfg, 0, 0, 5000);
    assert_false(s.retry);
    alert_config_unref(cfg);

    /* everything templated, images and links without a source dropped */
    cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  pagerduty_configs:\n"
               "  - routing_key: '{{ .CommonLabels.job }}-key'\n"
               "    url: http://127.0.0.1:%d/e\n"
               "    severity: '{{ .CommonLabels.severity }}'\n    class: cls\n"
               "    component: '{{ .GroupLabels.alertname }}'\n    group: grp\n"
               "    source: src\n    client: cl\n    client_url: http://cl\n"
               "    description: '{{ range .Alerts }}{{ .Labels.instance }} {{ end }}'\n"
               "    details: {num_firing: 'n={{ len .Alerts }}', extra: x}\n"
               "    images: [{src: 'http://img/{{ .Status }}', alt: a, href: h}, {alt: none}]\n"
               "    links: [{href: 'http://l', text: t}, {text: nohref}]\n",
               rx.port);
    rx_reset(202, NULL, "");
    s = send_set(cfg, 0, 1, 5000);
    assert_int_equal(s.rc, 0);
    char *resolved =
        rendered_json("{{ template \"pagerduty.default.instances\" .Alerts.Resolved }}", 1);
    snprintf(want, sizeof want,
             "{\"routing_key\":\"api-key\",\"dedup_key\":\"" GROUP_KEY_SHA256 "\",\"event_action\":"
             "\"resolve\",\"payload\":{\"summary\":\"c:9090 \",\"source\":\"src\",\"severity\":"
             "\"warning\",\"class\":\"cls\",\"component\":\"HighLatency\",\"group\":\"grp\","
             "\"custom_details\":{\"extra\":\"x\",\"firing\":\"\",\"num_firing\":\"n=1\","
             "\"num_resolved\":\"1\",\"resolved\":\"%s\"}},\"client\":\"cl\",\"client_url\":"
             "\"http://cl\",\"images\":[{\"src\":\"http://img/resolved\",\"alt\":\"a\",\"href\":"
             "\"h\"}],\"links\":[{\"href\":\"http://l\",\"text\":\"t\"}]}\n",
             resolved);
    free(resolved);
    assert_string_equal(rx.reqs[0].body.data, want);
    alert_config_unref(cfg);

    /* v1 (service_key) */
    const char *saved = notify_pagerduty_v1_url;
    char v1url[128];
    snprintf(v1url, sizeof v1url, "http://127.0.0.1:%d/generic/create_event.json", rx.port);
    notify_pagerduty_v1_url = v1url;
    cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  pagerduty_configs:\n"
               "  - service_key: sk\n    details: {a: b}\n");
    rx_reset(200, NULL, "");
    s = send_set(cfg, 0, 2, 5000);
    assert_int_equal(s.rc, 0);
    assert_string_equal(rx.reqs[0].path, "/generic/create_event.json");
    char *mf = rendered_json("{{ template \"pagerduty.default.instances\" .Alerts.Firing }}", 2);
    char *mr = rendered_json("{{ template \"pagerduty.default.instances\" .Alerts.Resolved }}", 2);
    snprintf(want, sizeof want,
             "{\"service_key\":\"sk\",\"incident_key\":\"" GROUP_KEY_SHA256 "\",\"event_type\":"
             "\"trigger\",\"description\":\"[FIRING:2] HighLatency (api)\",\"event_action\":\"\","
             "\"payload\":null,\"client\":\"Alertmanager\",\"client_url\":\"http://"
             "am.example.com:9093/#/alerts?receiver=ops\",\"details\":{\"a\":\"b\",\"firing\":"
             "\"%s\",\"num_firing\":\"2\",\"num_resolved\":\"1\",\"resolved\":\"%s\"}}\n",
             mf, mr);
    free(mf);
    free(mr);
    assert_string_equal(rx.reqs[0].body.data, want);
    rx_reset(403, NULL, "");
    s = send_set(cfg, 0, 2, 5000);
    assert_true(s.retry); /* v1 rate limiting */
    notify_pagerduty_v1_url = saved;
    alert_config_unref(cfg);
}

/* ------------------------------------------------------------ OpsGenie */

static void test_opsgenie(void **state) {
    (void)state;
    alert_config_t *cfg =
        load("route: {receiver: r}\nreceivers:\n- name: r\n  opsgenie_configs:\n"
             "  - api_key: k3y\n    api_url: http://127.0.0.1:%d/\n"
             "    responders: [{name: 'a,b', type: teams}, {id: x, type: user}, "
             "{name: '{{ .CommonLabels.nope }}', type: team}]\n"
             "    tags: ' t1, t2,,'\n    note: n\n    priority: P1\n    entity: e\n"
             "    actions: 'x,y'\n    details: {extra: '{{ .Status }}', job: override}\n",
             rx.port);
    rx_reset(202, "application/json", "{}");
    sent_t s = send_set(cfg, 0, 0, 5000);
    assert_int_equal(s.rc, 0);
    assert_int_equal(rx.n_reqs, 1);
    assert_string_equal(rx.reqs[0].method, "POST");
    assert_string_equal(rx.reqs[0].path, "/v2/alerts");
    assert_string_equal(rx.reqs[0].authorization, "GenieKey k3y");
    assert_string_equal(rx.reqs[0].content_type, "application/json");
    char *desc = rendered_json("{{ template \"opsgenie.default.description\" . }}", 0);
    char want[8192];
    snprintf(want, sizeof want,
             "{\"alias\":\"" GROUP_KEY_SHA256 "\",\"message\":\"[FIRING:2] HighLatency (api "
             "page)\",\"description\":\"%s\",\"details\":{\"alertname\":\"HighLatency\","
             "\"extra\":\"firing\",\"job\":\"override\",\"severity\":\"page\"},\"source\":\"%s"
             "\",\"responders\":[{\"name\":\"a\",\"type\":\"team\"},{\"name\":\"b\",\"type\":"
             "\"team\"},{\"id\":\"x\",\"type\":\"user\"},{\"type\":\"team\"}],\"tags\":[\"t1\","
             "\" t2\"],\"note\":\"n\",\"priority\":\"P1\",\"entity\":\"e\",\"actions\":[\"x\","
             "\"y\"]}\n",
             desc, AM_URL);
    free(desc);
    assert_string_equal(rx.reqs[0].body.data, want);

    /* resolved: close by alias */
    rx_reset(202, NULL, "");
    s = send_set(cfg, 0, 1, 5000);
    assert_int_equal(s.rc, 0);
    assert_string_equal(rx.reqs[0].path,
                        "/v2/alerts/" GROUP_KEY_SHA256 "/close?identifierType=alias");
    assert_string_equal(rx.reqs[0].body.data, "{\"source\":\"" AM_URL "\"}\n");

    rx_reset(429, NULL, "");
    s = send_set(cfg, 0, 0, 5000);
    assert_true(s.retry);
    rx_reset(422, NULL, "{\"message\":\"bad\"}");
    s = send_set(cfg, 0, 0, 5000);
    assert_false(s.retry);
    assert_string_equal(s.err.msg, "unexpected status code 422: {\"message\":\"bad\"}");
    alert_config_unref(cfg);

    /* update_alerts: create, then update message and description; a long
     * message is cut to 130 runes */
    vg_buf_t e70 = VG_BUF_INIT;
    for (int i = 0; i < 70; i++)
        vg_buf_puts(&e70, "é");
    cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  opsgenie_configs:\n"
               "  - api_key: k\n    api_url: http://127.0.0.1:%d/og/\n    update_alerts: true\n"
               "    message: '{{ range .Alerts }}%s{{ end }}'\n    description: d\n",
               rx.port, e70.data);
    vg_buf_free(&e70);
    rx_reset(202, NULL, "");
    s = send_set(cfg, 0, 0, 5000);
    assert_int_equal(s.rc, 0);
    assert_int_equal(rx.n_reqs, 3);
    assert_string_equal(rx.reqs[1].method, "PUT");
    assert_string_equal(rx.reqs[1].path,
                        "/og/v2/alerts/" GROUP_KEY_SHA256 "/message?identifierType=alias");
    assert_string_equal(rx.reqs[2].path,
                        "/og/v2/alerts/" GROUP_KEY_SHA256 "/description?identifierType=alias");
    assert_string_equal(rx.reqs[2].body.data, "{\"description\":\"d\"}\n");
    /* 129 é and the ellipsis */
    vg_buf_t m = VG_BUF_INIT;
    vg_buf_puts(&m, "{\"message\":\"");
    for (int i = 0; i < 129; i++)
        vg_buf_puts(&m, "é");
    vg_buf_puts(&m, "…\"}\n");
    assert_string_equal(rx.reqs[1].body.data, m.data);
    vg_buf_free(&m);
    alert_config_unref(cfg);
}

/* --------------------------------------------- the list, data, others */

static void test_integrations(void **state) {
    (void)state;
    alert_config_t *cfg =
        load("route: {receiver: r}\nreceivers:\n- name: r\n"
             "  slack_configs: [{api_url: 'http://s/'}]\n"
             "  webhook_configs: [{url: 'http://w/1'}, {url: 'http://w/2', send_resolved: false}]\n"
             "  email_configs: [{to: a@b, from: c@d, smarthost: 'h:25'}]\n"
             "  pagerduty_configs: [{routing_key: x}]\n"
             "  opsgenie_configs: [{api_key: k}]\n"
             "  wechat_configs: [{api_secret: s, corp_id: c}]\n");
    notify_integration_t ins[16];
    size_t n = notify_integrations(&cfg->receivers[0], ins, 16);
    assert_int_equal(n, 7);
    const char *want[] = {"webhook[0]",  "webhook[1]", "email[0]", "pagerduty[0]",
                          "opsgenie[0]", "wechat[0]",  "slack[0]"};
    for (size_t i = 0; i < n; i++) {
        vg_buf_t b = VG_BUF_INIT;
        notify_integration_format(&ins[i], &b);
        assert_string_equal(b.data, want[i]);
        vg_buf_free(&b);
    }
    assert_true(ins[0].send_resolved);
    assert_false(ins[1].send_resolved);
    assert_false(ins[2].send_resolved); /* e-mail's default */
    assert_true(ins[3].send_resolved);
    assert_int_equal(notify_integrations(&cfg->receivers[0], ins, 2), 7); /* counts past cap */

    /* an integration vigil does not implement */
    vg_err_t err = {0};
    notify_templates_t *t = notify_templates_load(cfg, &err);
    template_am_data_t *d = td_build(&td_sets[0]);
    bool retry = true;
    n = notify_integrations(&cfg->receivers[0], ins, 16);
    assert_int_not_equal(notify_send(&ins[5], cfg, t, d, GROUP_KEY, 1000, &retry, &err), 0);
    assert_false(retry);
    assert_string_equal(err.msg, "integration wechat is not supported by vigil");
    td_free(d);
    notify_templates_free(t);
    alert_config_unref(cfg);

    vg_buf_t q = VG_BUF_INIT;
    notify_quote_receiver("team.a (x)*", &q);
    assert_string_equal(q.data, "team\\.a \\(x\\)\\*");
    vg_buf_free(&q);
}

static void test_data_subset(void **state) {
    (void)state;
    template_am_data_t *d = td_build(&td_sets[2]); /* 2 firing, 1 resolved */
    template_am_data_t sub;
    void *owned = NULL;
    assert_int_equal(notify_data_subset(d, 0, true, &sub, &owned), 0);
    assert_int_equal(sub.n_alerts, 2);
    assert_string_equal(sub.status, "firing");
    assert_int_equal(sub.common_labels->n, 3); /* alertname, job, severity=page */
    assert_int_equal(sub.common_annotations->n, 1);
    free(owned);
    assert_int_equal(notify_data_subset(d, 2, false, &sub, &owned), 1);
    assert_int_equal(sub.n_alerts, 2);
    free(owned);
    td_free(d);
    d = td_build(&td_sets[1]);
    assert_int_equal(notify_data_subset(d, 0, true, &sub, &owned), 0);
    assert_int_equal(sub.n_alerts, 0);
    assert_string_equal(sub.status, "resolved");
    assert_int_equal(sub.common_labels->n, 0);
    free(owned);
    td_free(d);

    /* rune truncation as Go's TruncateInRunes */
    vg_buf_t b = VG_BUF_INIT;
    assert_true(notify_truncate_runes("abcdef", 4, &b));
    assert_string_equal(b.data, "abc…");
    vg_buf_reset(&b);
    assert_true(notify_truncate_runes("abcdef", 3, &b));
    assert_string_equal(b.data, "abc");
    vg_buf_reset(&b);
    assert_false(notify_truncate_runes("ééé", 3, &b));
    assert_string_equal(b.data, "ééé");
    vg_buf_free(&b);
}

static void test_metrics(void **state) {
    (void)state;
    notify_metrics_reset();
    notify_metrics_observe("webhook", 0.5, false);
    notify_metrics_observe("webhook", 7, true);
    notify_metrics_notification("webhook", true);
    notify_metrics_observe("discord", 30, true); /* unsupported, but counted when used */
    vg_buf_t out = VG_BUF_INIT;
    expfmt_writer_t w;
    expfmt_writer_init(&w, &out, EXPFMT_TEXT_004);
    notify_metrics_write(&w);
    expfmt_writer_finish(&w);
    const char *want[] = {
        "# HELP alertmanager_notifications_total The total number of attempted notifications.\n"
        "# TYPE alertmanager_notifications_total counter\n"
        "alertmanager_notifications_total{integration=\"discord\"} 0\n"
        "alertmanager_notifications_total{integration=\"email\"} 0\n",
        "alertmanager_notifications_failed_total{integration=\"webhook\"} 1\n",
        "alertmanager_notification_requests_total{integration=\"webhook\"} 2\n",
        "alertmanager_notification_requests_failed_total{integration=\"discord\"} 1\n",
        "alertmanager_notification_latency_seconds_bucket{integration=\"webhook\",le=\"1\"} 1\n"
        "alertmanager_notification_latency_seconds_bucket{integration=\"webhook\",le=\"5\"} 1\n"
        "alertmanager_notification_latency_seconds_bucket{integration=\"webhook\",le=\"10\"} 2\n"
        "alertmanager_notification_latency_seconds_bucket{integration=\"webhook\",le=\"15\"} 2\n"
        "alertmanager_notification_latency_seconds_bucket{integration=\"webhook\",le=\"20\"} 2\n"
        "alertmanager_notification_latency_seconds_bucket{integration=\"webhook\",le=\"+Inf\"} 2\n"
        "alertmanager_notification_latency_seconds_sum{integration=\"webhook\"} 7.5\n"
        "alertmanager_notification_latency_seconds_count{integration=\"webhook\"} 2\n",
        "alertmanager_notification_requests_total{integration=\"telegram\"} 0\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(out.data, want[i])) fail_msg("missing:\n%s\nin:\n%s", want[i], out.data);
    assert_null(strstr(out.data, "integration=\"webex\"")); /* never used */
    vg_buf_free(&out);
    notify_metrics_reset();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhook),     cmocka_unit_test(test_webhook_errors),
        cmocka_unit_test(test_slack),       cmocka_unit_test(test_pagerduty),
        cmocka_unit_test(test_opsgenie),    cmocka_unit_test(test_integrations),
        cmocka_unit_test(test_data_subset), cmocka_unit_test(test_metrics),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
