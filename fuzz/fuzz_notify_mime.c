/* libFuzzer target for the e-mail encoders and the address parser of the
 * notify module: any bytes must encode without crashing; quoted-printable
 * lines stay within 76 bytes and decode back to the input (but for line
 * ends); Q-encoded words stay within 75 bytes; parsed addresses hold an @;
 * rune truncation never keeps more runes than asked. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify_int.h"

static int unhex(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void check_qp(const char *s, size_t n) {
    vg_buf_t out = VG_BUF_INIT, dec = VG_BUF_INIT, want = VG_BUF_INIT;
    notify_qp_encode(s, n, &out);
    size_t line = 0;
    for (size_t i = 0; i < out.len; i++) {
        if (out.data[i] == '\r' && i + 1 < out.len && out.data[i + 1] == '\n') {
            line = 0;
            i++;
            continue;
        }
        if (++line > 76) __builtin_trap();
    }
    for (size_t i = 0; i < out.len; i++) {
        char c = out.data[i];
        if (c == '=' && i + 2 < out.len && out.data[i + 1] == '\r' && out.data[i + 2] == '\n') {
            i += 2;
        } else if (c == '=') {
            if (i + 2 >= out.len || unhex(out.data[i + 1]) < 0 || unhex(out.data[i + 2]) < 0)
                __builtin_trap();
            vg_buf_putc(&dec, (char)(unhex(out.data[i + 1]) * 16 + unhex(out.data[i + 2])));
            i += 2;
        } else {
            vg_buf_putc(&dec, c);
        }
    }
    /* The text survives apart from line ends: they become CRLF, and, as in
     * Go's writer, a "\n" after a "\r" that was followed by an encoded
     * byte is swallowed; so compare without them. */
    for (size_t i = 0; i < n; i++)
        if (s[i] != '\r' && s[i] != '\n') vg_buf_putc(&want, s[i]);
    size_t w = 0;
    for (size_t i = 0; i < dec.len; i++)
        if (dec.data[i] != '\r' && dec.data[i] != '\n') dec.data[w++] = dec.data[i];
    dec.len = w;
    if (dec.len != want.len || (dec.len && memcmp(dec.data, want.data, dec.len) != 0))
        __builtin_trap();
    vg_buf_free(&out);
    vg_buf_free(&dec);
    vg_buf_free(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16) return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    check_qp(s, size);

    size_t n = strlen(s); /* header values and addresses are C strings */
    vg_buf_t q = VG_BUF_INIT;
    notify_q_encode_header(s, &q);
    bool needs = false; /* anything but printable ASCII and tabs */
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] < ' ' || (unsigned char)s[i] > '~') && s[i] != '\t') needs = true;
    if (needs) {
        for (char *w = q.data; w;) {
            char *sp = strchr(w, ' ');
            size_t wl = sp ? (size_t)(sp - w) : strlen(w);
            if (wl > 75 || strncmp(w, "=?utf-8?q?", 10) != 0) __builtin_trap();
            w = sp ? sp + 1 : NULL;
        }
    } else if (strcmp(q.data ? q.data : "", s) != 0) {
        __builtin_trap();
    }
    vg_buf_free(&q);

    char **list = NULL;
    vg_err_t err = {0};
    int k = notify_parse_address_list(s, &list, &err);
    if (k < 0 && !err.msg[0]) __builtin_trap();
    for (int i = 0; i < k; i++) {
        if (!strchr(list[i], '@')) __builtin_trap();
        free(list[i]);
    }
    free(list);

    vg_buf_t t = VG_BUF_INIT;
    size_t keep = n % 200;
    notify_truncate_runes(s, keep, &t);
    if (t.len > n + 3) __builtin_trap();
    vg_buf_free(&t);
    free(s);
    return 0;
}
