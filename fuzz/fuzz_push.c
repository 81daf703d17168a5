/* libFuzzer target for the Pushgateway API's body decoding (text and
 * delimited protobuf, gzip), grouping keys and group bookkeeping: the
 * first byte picks the method, the body format and the path; the rest is
 * the body. The groups live in memory (no tsdb: nothing is appended). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

static ingest_push_t *push;

static void cleanup(void) { ingest_push_free(push); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!push) {
        vg_log_setup(VG_LOG_ERROR, VG_LOG_LOGFMT, stderr);
        push = ingest_push_open(NULL, NULL);
        if (!push) abort();
        atexit(cleanup);
    }
    if (size == 0) return 0;
    static const char *const paths[] = {
        "/metrics/job/fuzz",
        "/metrics/job/fuzz/instance/a",
        "/metrics/job@base64/ZnV6eg==/instance@base64/",
        "/metrics/job/fuzz/a/b/c",
    };
    static const char *const types[] = {
        "text/plain; version=0.0.4",
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
        "encoding=delimited",
    };
    uint8_t sel = data[0];
    ingest_push_method_t method = (ingest_push_method_t)(sel % 3);
    const char *path = paths[(sel >> 2) & 3];
    const char *type = types[(sel >> 4) & 1];
    const char *encoding = (sel >> 5) & 1 ? "gzip" : NULL;
    vg_err_t err = {0};
    ingest_push_handle(push, NULL, method, path, type, encoding, data + 1, size - 1,
                       (int64_t)vg_time_now_ms() * 1000000, &err);
    vg_buf_t out = VG_BUF_INIT;
    ingest_push_render(push, &out);
    vg_buf_free(&out);
    return 0;
}
