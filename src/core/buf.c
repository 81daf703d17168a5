/* This file implements the growable byte buffer. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

void vg_buf_reserve(vg_buf_t *b, size_t extra) {
    if (b->cap - b->len > extra) return; /* keeps one byte for the NUL */
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len <= extra) {
        if (cap > SIZE_MAX / 2) {
            cap = b->len + extra + 1;
            break;
        }
        cap *= 2;
    }
    b->data = vg_realloc(b->data, cap);
    b->cap = cap;
}

void vg_buf_append(vg_buf_t *b, const void *p, size_t n) {
    vg_buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void vg_buf_puts(vg_buf_t *b, const char *s) { vg_buf_append(b, s, strlen(s)); }

void vg_buf_putc(vg_buf_t *b, char c) { vg_buf_append(b, &c, 1); }

void vg_buf_vprintf(vg_buf_t *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    vg_buf_reserve(b, 128);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        vg_buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
    }
    va_end(ap2);
    b->len += (size_t)n;
}

void vg_buf_printf(vg_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vg_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void vg_buf_put_float(vg_buf_t *b, double v) {
    char tmp[VG_FLOAT_MAX_LEN];
    size_t n = vg_format_float(v, tmp);
    vg_buf_append(b, tmp, n);
}

/* Length of the UTF-8 sequence at s (n bytes left), or 0 when the bytes
 * are not valid UTF-8 as Go's utf8.DecodeRune sees it. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

void vg_buf_put_json_escaped(vg_buf_t *b, const char *str, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t start = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        const char *esc = NULL;
        char u[8];
        size_t adv = 1;
        if (c >= 0x80) {
            adv = utf8_len(s + i, n - i);
            if (adv == 0) {
                esc = "\\ufffd";
                adv = 1;
            } else if (adv == 3 && c == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] & 0xfe) == 0xa8) {
                esc = s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
            }
        } else {
            switch (c) {
            case '"': esc = "\\\""; break;
            case '\\': esc = "\\\\"; break;
            case '\n': esc = "\\n"; break;
            case '\r': esc = "\\r"; break;
            case '\t': esc = "\\t"; break;
            case '\b': esc = "\\b"; break;
            case '\f': esc = "\\f"; break;
            default:
                if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                    snprintf(u, sizeof u, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
                    esc = u;
                }
            }
        }
        if (esc) {
            vg_buf_append(b, str + start, i - start);
            vg_buf_puts(b, esc);
            start = i + adv;
        }
        i += adv;
    }
    vg_buf_append(b, str + start, n - start);
}

void vg_buf_reset(vg_buf_t *b) {
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

char *vg_buf_detach(vg_buf_t *b) {
    char *p = b->data ? b->data : vg_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void vg_buf_free(vg_buf_t *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
