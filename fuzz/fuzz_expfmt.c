/* libFuzzer target for the exposition parser. The first byte picks the
 * mode (bit 0: OpenMetrics, bit 1: validation, bit 2: gunzip the rest
 * first); the rest is the body. Any bytes must parse or fail with a
 * positioned message, never crash, hang or leak, and whatever validation
 * accepts the plain OpenMetrics grammar must accept too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expfmt/expfmt.h"

static volatile size_t sink;

static void touch(expfmt_str_t s) {
    size_t h = 0;
    for (size_t i = 0; i < s.len; i++)
        h += (unsigned char)s.ptr[i];
    sink += h;
}

/* Parses everything; returns 0 or the error code. */
static int run(const char *data, size_t len, expfmt_format_t format, unsigned flags) {
    expfmt_parser_t p;
    vg_err_t err = {0};
    expfmt_parser_init(&p, data, len, format, flags);
    int rc;
    while ((rc = expfmt_parser_next(&p, &err)) > 0) {
        touch(p.name);
        if (rc == EXPFMT_ENTRY_SAMPLE) {
            if (p.name.len == 0) __builtin_trap();
            touch(p.series);
            for (size_t i = 0; i < p.n_labels; i++)
                touch(p.labels[i].name), touch(p.labels[i].value);
            if (p.has_exemplar)
                for (size_t i = 0; i < p.exemplar.n_labels; i++)
                    touch(p.exemplar.labels[i].name), touch(p.exemplar.labels[i].value);
        } else {
            touch(p.text);
        }
    }
    if (rc < 0 && strncmp(err.msg, "line ", 5) != 0) __builtin_trap();
    expfmt_parser_free(&p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    unsigned mode = data[0];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    vg_buf_t inflated = VG_BUF_INIT;
    if (mode & 4) {
        vg_err_t err = {0};
        if (expfmt_gzip_inflate(body, len, 1 << 20, &inflated, &err) != 0) {
            if (!err.msg[0]) __builtin_trap();
            vg_buf_free(&inflated);
            return 0;
        }
        body = inflated.data ? inflated.data : "";
        len = inflated.len;
    }
    /* Copy into an exact-size buffer so that a read past the end is caught. */
    char *copy = malloc(len ? len : 1);
    memcpy(copy, body, len);
    if (mode & 1) {
        int strict = run(copy, len, EXPFMT_OPENMETRICS, EXPFMT_PARSE_VALIDATE);
        int lenient = run(copy, len, EXPFMT_OPENMETRICS, 0);
        if (strict == 0 && lenient != 0) __builtin_trap();
    } else {
        run(copy, len, EXPFMT_TEXT_004, (mode & 2) ? EXPFMT_PARSE_VALIDATE : 0);
    }
    free(copy);
    vg_buf_free(&inflated);
    return 0;
}
