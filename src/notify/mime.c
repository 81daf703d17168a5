/* This file implements the pieces of Go's mime packages that
 * Alertmanager's e-mail leans on, byte for byte: the quoted-printable
 * writer (mime/quotedprintable), the RFC 2047 Q encoding of header values
 * (mime.QEncoding.Encode with "utf-8") and, reduced to what a To: or From:
 * line holds, net/mail's address list parsing. */
#include "notify/notify_int.h"

#include <stdlib.h>
#include <string.h>

static const char upperhex[] = "0123456789ABCDEF";

/* ------------------------------------------------------ quoted-printable */

#define QP_LINE_MAX 76

typedef struct qp {
    vg_buf_t *out;
    char line[QP_LINE_MAX + 2];
    size_t i;
    bool cr;
} qp_t;

static void qp_flush(qp_t *q) {
    vg_buf_append(q->out, q->line, q->i);
    q->i = 0;
}

static void qp_crlf(qp_t *q) {
    q->line[q->i++] = '\r';
    q->line[q->i++] = '\n';
    qp_flush(q);
}

static void qp_soft_break(qp_t *q) {
    q->line[q->i++] = '=';
    qp_crlf(q);
}

static void qp_encode_byte(qp_t *q, unsigned char b) {
    if (QP_LINE_MAX - 1 - q->i < 3) qp_soft_break(q);
    q->line[q->i++] = '=';
    q->line[q->i++] = upperhex[b >> 4];
    q->line[q->i++] = upperhex[b & 15];
}

/* A space or tab ending a line is encoded so that it survives transport. */
static void qp_check_last(qp_t *q) {
    if (q->i == 0) return;
    unsigned char b = (unsigned char)q->line[q->i - 1];
    if (b == ' ' || b == '\t') {
        q->i--;
        qp_encode_byte(q, b);
    }
}

/* Bytes that go out as they are (printable, white space, line ends). */
static void qp_write_plain(qp_t *q, unsigned char b) {
    if (b == '\n' || b == '\r') {
        if (q->cr && b == '\n') { /* the CRLF is already out */
            q->cr = false;
            return;
        }
        if (b == '\r') q->cr = true;
        qp_check_last(q);
        qp_crlf(q);
        return;
    }
    if (q->i == QP_LINE_MAX - 1) qp_soft_break(q);
    q->line[q->i++] = (char)b;
    q->cr = false;
}

void notify_qp_encode(const char *s, size_t len, vg_buf_t *out) {
    qp_t q = {.out = out};
    for (size_t k = 0; k < len; k++) {
        unsigned char b = (unsigned char)s[k];
        if ((b >= '!' && b <= '~' && b != '=') || b == ' ' || b == '\t' || b == '\n' || b == '\r')
            qp_write_plain(&q, b);
        else
            qp_encode_byte(&q, b);
    }
    qp_check_last(&q);
    qp_flush(&q);
    if (!out->data) vg_buf_puts(out, "");
}

/* ------------------------------------------------------------ Q encoding */

/* Length of the UTF-8 sequence at p as Go's utf8.DecodeRuneInString
 * steps (an invalid byte counts as one). */
static size_t utf8_step(const unsigned char *p, size_t left) {
    unsigned c = p[0];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (n > left) return 1;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 1;
    return n;
}

/* 75 bytes an encoded-word, less "=?utf-8?q?" and "?=" */
#define Q_MAX_CONTENT (75 - 10 - 2)

void notify_q_encode_header(const char *s, vg_buf_t *out) {
    size_t len = strlen(s);
    bool needs = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)s[i];
        if ((b < ' ' || b > '~') && b != '\t') needs = true;
    }
    if (!needs) {
        vg_buf_puts(out, s);
        return;
    }
    vg_buf_puts(out, "=?utf-8?q?");
    size_t cur = 0;
    for (size_t i = 0; i < len;) {
        unsigned char b = (unsigned char)s[i];
        size_t rl, el;
        if (b >= ' ' && b <= '~' && b != '=' && b != '?' && b != '_') {
            rl = el = 1;
        } else {
            rl = utf8_step((const unsigned char *)s + i, len - i);
            el = 3 * rl;
        }
        if (cur + el > Q_MAX_CONTENT) {
            vg_buf_puts(out, "?= =?utf-8?q?");
            cur = 0;
        }
        for (size_t k = i; k < i + rl; k++) {
            unsigned char c = (unsigned char)s[k];
            if (c == ' ')
                vg_buf_putc(out, '_');
            else if (c >= '!' && c <= '~' && c != '=' && c != '?' && c != '_')
                vg_buf_putc(out, (char)c);
            else
                vg_buf_printf(out, "=%c%c", upperhex[c >> 4], upperhex[c & 15]);
        }
        cur += el;
        i += rl;
    }
    vg_buf_puts(out, "?=");
}

/* -------------------------------------------------------------- addresses */

static bool ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* The addr-spec of one address ("Name <a@b>", "a@b (comment)"). */
static int one_address(const char *p, size_t n, char **out, vg_err_t *err) {
    while (n > 0 && ws(*p))
        p++, n--;
    while (n > 0 && ws(p[n - 1]))
        n--;
    if (n == 0) return vg_err_set(err, VG_ERR_INPUT, "mail: no address");
    const char *lt = NULL;
    bool quoted = false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"' && (i == 0 || p[i - 1] != '\\')) quoted = !quoted;
        if (!quoted && p[i] == '<') {
            lt = p + i;
            break;
        }
    }
    const char *a = p;
    size_t al = n;
    if (lt) {
        const char *gt = memchr(lt, '>', n - (size_t)(lt - p));
        if (!gt) return vg_err_set(err, VG_ERR_INPUT, "mail: unclosed angle-addr");
        a = lt + 1;
        al = (size_t)(gt - a);
    } else {
        /* a bare addr-spec, perhaps followed by a (comment) */
        const char *paren = memchr(p, '(', n);
        if (paren) al = (size_t)(paren - p);
        while (al > 0 && ws(a[al - 1]))
            al--;
    }
    const char *at = memchr(a, '@', al);
    if (!at) return vg_err_set(err, VG_ERR_INPUT, "mail: missing @ in addr-spec");
    if (at == a || at == a + al - 1 || memchr(a, ' ', al))
        return vg_err_set(err, VG_ERR_INPUT, "mail: invalid address");
    *out = vg_strndup(a, al);
    return 0;
}

int notify_parse_address_list(const char *s, char ***out, vg_err_t *err) {
    size_t n = 0, cap = 4;
    char **list = vg_malloc(cap * sizeof *list);
    size_t len = strlen(s), start = 0;
    bool quoted = false;
    int angle = 0, paren = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? s[i] : ',';
        if (c == '"' && (i == 0 || s[i - 1] != '\\')) quoted = !quoted;
        if (quoted && i < len) continue;
        if (c == '<') angle++;
        if (c == '>' && angle > 0) angle--;
        if (c == '(') paren++;
        if (c == ')' && paren > 0) paren--;
        if (c != ',' || (i < len && (angle || paren))) continue;
        if (n == cap) list = vg_realloc(list, (cap *= 2) * sizeof *list);
        if (one_address(s + start, i - start, &list[n], err) != 0) {
            for (size_t k = 0; k < n; k++)
                free(list[k]);
            free(list);
            *out = NULL;
            return -1;
        }
        n++;
        start = i + 1;
    }
    *out = list;
    return (int)n;
}
