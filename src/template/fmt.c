/* This file implements the part of Go's fmt and strconv that templates
 * reach: printing a value with %v (what an action like {{ $value }} writes),
 * Sprint/Sprintln spacing, and Sprintf's verbs, flags, width and precision
 * with Go's error forms (%!d(string=x), %!d(MISSING), %!(EXTRA ...)).
 * Output must match Go byte for byte because users compare alert text. */
#include "template/template_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* -------------------------------------------------------------- floats */

/* Shortest round-trip digits of |v| (v finite, non-zero): digits without a
 * dot and the position of the decimal point (Go's decimal.dp). */
static int float_shortest(double v, char *digits, int *dp) {
    char tmp[48];
    for (int prec = 0; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, v);
        if (prec == 17 || strtod(tmp, NULL) == v) break;
    }
    int n = 0;
    const char *p = tmp;
    if (*p == '-') p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[n++] = *p;
    int e = atoi(p + 1);
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    *dp = e + 1;
    return n;
}

/* Digits of |v| rounded to prec significant digits (prec >= 1). */
static int float_rounded(double v, int prec, char *digits, int *dp) {
    char tmp[400];
    if (prec > 300) prec = 300;
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
    int n = 0;
    const char *p = tmp;
    if (*p == '-') p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[n++] = *p;
    *dp = atoi(p + 1) + 1;
    digits[n] = '\0';
    return n;
}

static void put_exp(vg_buf_t *out, char e, int exp) {
    vg_buf_putc(out, e);
    vg_buf_putc(out, exp < 0 ? '-' : '+');
    if (exp < 0) exp = -exp;
    if (exp < 10) vg_buf_putc(out, '0');
    vg_buf_printf(out, "%d", exp);
}

/* %e from digits: d.ddd with prec decimals (digits padded with zeros). */
static void emit_e(vg_buf_t *out, const char *d, int nd, int dp, int prec, char e) {
    vg_buf_putc(out, nd > 0 ? d[0] : '0');
    if (prec > 0) {
        vg_buf_putc(out, '.');
        for (int i = 1; i <= prec; i++)
            vg_buf_putc(out, i < nd ? d[i] : '0');
    }
    int exp = (nd == 0 || (nd == 1 && d[0] == '0')) ? 0 : dp - 1;
    put_exp(out, e, exp);
}

/* %f from digits with prec decimals. */
static void emit_f(vg_buf_t *out, const char *d, int nd, int dp, int prec) {
    if (dp > 0) {
        for (int i = 0; i < dp; i++)
            vg_buf_putc(out, i < nd ? d[i] : '0');
    } else {
        vg_buf_putc(out, '0');
    }
    if (prec > 0) {
        vg_buf_putc(out, '.');
        for (int i = 0; i < prec; i++) {
            int j = dp + i;
            vg_buf_putc(out, (j >= 0 && j < nd) ? d[j] : '0');
        }
    }
}

void tpl_fmt_float(vg_buf_t *out, double v, char fmt, int prec) {
    if (isnan(v)) {
        vg_buf_puts(out, "NaN");
        return;
    }
    if (isinf(v)) {
        vg_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (signbit(v)) vg_buf_putc(out, '-');
    v = fabs(v);
    char d[400];
    int nd, dp;
    bool shortest = prec < 0;
    bool upper = fmt == 'E' || fmt == 'G';
    char lower = (char)(upper ? fmt + 32 : fmt);
    if (v == 0) {
        d[0] = '0';
        d[1] = '\0';
        nd = 1;
        dp = 1;
        /* Go's decimal for zero has nd == 0 and dp == 0 */
        nd = 0;
        dp = 0;
    } else if (shortest) {
        nd = float_shortest(v, d, &dp);
    } else if (lower == 'e') {
        nd = float_rounded(v, prec + 1, d, &dp);
    } else if (lower == 'f') {
        /* round to prec decimals: use %.*f directly */
        char tmp[400];
        int p = prec > 300 ? 300 : prec;
        snprintf(tmp, sizeof tmp, "%.*f", p, v);
        vg_buf_puts(out, tmp);
        for (int i = p; i < prec; i++)
            vg_buf_putc(out, '0');
        return;
    } else {
        nd = float_rounded(v, prec == 0 ? 1 : prec, d, &dp);
    }
    switch (lower) {
    case 'e':
        emit_e(out, d, nd, dp, shortest ? (nd > 0 ? nd - 1 : 0) : prec, upper ? 'E' : 'e');
        return;
    case 'f': emit_f(out, d, nd, dp, shortest ? (nd - dp > 0 ? nd - dp : 0) : prec); return;
    default: {
        /* 'g': strconv's %e-or-%f choice */
        int eprec = prec;
        if (!shortest && prec == 0) eprec = 1;
        /* trim trailing zeros of a rounded decimal (Go's %g drops them) */
        while (nd > 1 && d[nd - 1] == '0')
            nd--;
        if (eprec > nd && nd >= dp) eprec = nd;
        if (shortest) eprec = 6;
        int exp = dp - 1;
        if (exp < -4 || exp >= eprec) {
            emit_e(out, d, nd, dp, nd > 0 ? nd - 1 : 0, upper ? 'E' : 'e');
            return;
        }
        emit_f(out, d, nd, dp, nd - dp > 0 ? nd - dp : 0);
    }
    }
}

/* ------------------------------------------------------------- quoting */

static int utf8_decode(const unsigned char *s, size_t len, uint32_t *r) {
    unsigned char c = s[0];
    if (c < 0x80) {
        *r = c;
        return 1;
    }
    int n;
    uint32_t v, min;
    if ((c & 0xe0) == 0xc0) {
        n = 2;
        v = c & 0x1fu;
        min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3;
        v = c & 0x0fu;
        min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4;
        v = c & 0x07u;
        min = 0x10000;
    } else {
        *r = 0xfffd;
        return -1;
    }
    if ((size_t)n > len) {
        *r = 0xfffd;
        return -1;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *r = 0xfffd;
            return -1;
        }
        v = (v << 6) | (s[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) {
        *r = 0xfffd;
        return -1;
    }
    *r = v;
    return n;
}

static void put_rune(vg_buf_t *out, uint32_t r) {
    char b[4];
    if (r < 0x80) {
        vg_buf_putc(out, (char)r);
    } else if (r < 0x800) {
        b[0] = (char)(0xc0 | (r >> 6));
        b[1] = (char)(0x80 | (r & 0x3f));
        vg_buf_append(out, b, 2);
    } else if (r < 0x10000) {
        b[0] = (char)(0xe0 | (r >> 12));
        b[1] = (char)(0x80 | ((r >> 6) & 0x3f));
        b[2] = (char)(0x80 | (r & 0x3f));
        vg_buf_append(out, b, 3);
    } else {
        b[0] = (char)(0xf0 | (r >> 18));
        b[1] = (char)(0x80 | ((r >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((r >> 6) & 0x3f));
        b[3] = (char)(0x80 | (r & 0x3f));
        vg_buf_append(out, b, 4);
    }
}

/* Go's unicode.IsPrint approximated: printable unless a control character,
 * a surrogate, U+FFFD-ish non-characters or the C1 range. */
static bool rune_printable(uint32_t r) {
    if (r < 0x20 || r == 0x7f) return false;
    if (r >= 0x80 && r < 0xa0) return false;
    if (r == 0xad) return false;
    if (r >= 0x2028 && r <= 0x2029) return false;
    if (r >= 0xfff9 && r <= 0xfffb) return false;
    if (r == 0xfeff) return false;
    if ((r & 0xfffe) == 0xfffe) return false;
    return true;
}

static void quote_rune_esc(vg_buf_t *out, uint32_t r, char quote, bool ascii_only) {
    if (r == (uint32_t)quote || r == '\\') {
        vg_buf_putc(out, '\\');
        vg_buf_putc(out, (char)r);
        return;
    }
    if (ascii_only ? (r < 0x80 && rune_printable(r)) : rune_printable(r)) {
        put_rune(out, r);
        return;
    }
    switch (r) {
    case '\a': vg_buf_puts(out, "\\a"); return;
    case '\b': vg_buf_puts(out, "\\b"); return;
    case '\f': vg_buf_puts(out, "\\f"); return;
    case '\n': vg_buf_puts(out, "\\n"); return;
    case '\r': vg_buf_puts(out, "\\r"); return;
    case '\t': vg_buf_puts(out, "\\t"); return;
    case '\v': vg_buf_puts(out, "\\v"); return;
    default: break;
    }
    if (r < 0x20 || r == 0x7f)
        vg_buf_printf(out, "\\x%02x", r);
    else if (r < 0x10000)
        vg_buf_printf(out, "\\u%04x", r);
    else
        vg_buf_printf(out, "\\U%08x", r);
}

void tpl_fmt_quote(vg_buf_t *out, const char *s, size_t len, bool ascii_only) {
    vg_buf_reserve(out, len + 2);
    vg_buf_putc(out, '"');
    size_t i = 0;
    while (i < len) {
        uint32_t r;
        int n = utf8_decode((const unsigned char *)s + i, len - i, &r);
        if (n < 0) {
            vg_buf_printf(out, "\\x%02x", (unsigned char)s[i]);
            i++;
            continue;
        }
        quote_rune_esc(out, r, '"', ascii_only);
        i += (size_t)n;
    }
    vg_buf_putc(out, '"');
}

static void quote_rune(vg_buf_t *out, int64_t r, bool ascii_only) {
    uint32_t u = (r < 0 || r > 0x10ffff || (r >= 0xd800 && r < 0xe000)) ? 0xfffd : (uint32_t)r;
    vg_buf_putc(out, '\'');
    quote_rune_esc(out, u, '\'', ascii_only);
    vg_buf_putc(out, '\'');
}

/* ------------------------------------------------------------- printing */

typedef struct spec {
    bool minus, plus, sharp, space, zero;
    bool has_width, has_prec;
    int width, prec;
    char verb;
} spec_t;

static size_t rune_count(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80) n++;
    return n;
}

/* Writes s padded to the spec's width (zero padding only when asked and
 * allowed; numbers handle their sign themselves). */
static void pad(vg_buf_t *out, const spec_t *sp, const char *s, size_t len, bool zero_ok) {
    if (!sp->has_width) {
        vg_buf_append(out, s, len);
        return;
    }
    size_t w = rune_count(s, len);
    size_t padn = (size_t)sp->width > w ? (size_t)sp->width - w : 0;
    if (sp->minus) {
        vg_buf_append(out, s, len);
        for (size_t i = 0; i < padn; i++)
            vg_buf_putc(out, ' ');
        return;
    }
    if (sp->zero && zero_ok) {
        /* zeros go after a sign */
        size_t k = 0;
        if (len && (s[0] == '-' || s[0] == '+' || s[0] == ' ')) {
            vg_buf_putc(out, s[0]);
            k = 1;
        }
        for (size_t i = 0; i < padn; i++)
            vg_buf_putc(out, '0');
        vg_buf_append(out, s + k, len - k);
        return;
    }
    for (size_t i = 0; i < padn; i++)
        vg_buf_putc(out, ' ');
    vg_buf_append(out, s, len);
}

static void fmt_int(vg_buf_t *out, const spec_t *sp, int64_t v, char verb) {
    vg_buf_t t = VG_BUF_INIT;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int base = 10;
    const char *dig = "0123456789abcdefx";
    switch (verb) {
    case 'b': base = 2; break;
    case 'o':
    case 'O': base = 8; break;
    case 'x': base = 16; break;
    case 'X':
        base = 16;
        dig = "0123456789ABCDEFX";
        break;
    default: break;
    }
    char tmp[80];
    int n = 0;
    do {
        tmp[n++] = dig[u % (uint64_t)base];
        u /= (uint64_t)base;
    } while (u);
    if (sp->has_prec) {
        if (sp->prec == 0 && v == 0) n = 0;
        while (n < sp->prec && n < 70)
            tmp[n++] = '0';
    }
    if (v < 0)
        vg_buf_putc(&t, '-');
    else if (sp->plus)
        vg_buf_putc(&t, '+');
    else if (sp->space)
        vg_buf_putc(&t, ' ');
    if (verb == 'O') vg_buf_puts(&t, "0o");
    if (sp->sharp) {
        if (verb == 'x' || verb == 'X') {
            vg_buf_putc(&t, '0');
            vg_buf_putc(&t, dig[16]);
        } else if (verb == 'b') {
            vg_buf_puts(&t, "0b");
        } else if (verb == 'o' && (n == 0 || tmp[n - 1] != '0')) {
            vg_buf_putc(&t, '0');
        }
    }
    while (n > 0)
        vg_buf_putc(&t, tmp[--n]);
    /* Go: zero padding is off when a precision is given */
    pad(out, sp, t.data, t.len, !sp->has_prec);
    vg_buf_free(&t);
}

static void fmt_float_verb(vg_buf_t *out, const spec_t *sp, double v, char verb) {
    vg_buf_t t = VG_BUF_INIT;
    int prec = sp->has_prec ? sp->prec : -1;
    char f = verb;
    if (verb == 'v') f = 'g';
    if (verb == 'F') f = 'f';
    if ((f == 'e' || f == 'E' || f == 'f') && !sp->has_prec) prec = 6;
    if (f == 'x' || f == 'X') {
        char tmp[64];
        if (isnan(v) || isinf(v)) {
            tpl_fmt_float(&t, v, 'g', -1);
        } else {
            if (sp->has_prec)
                snprintf(tmp, sizeof tmp, f == 'x' ? "%.*a" : "%.*A", sp->prec, v);
            else
                snprintf(tmp, sizeof tmp, f == 'x' ? "%a" : "%A", v);
            /* Go writes at least two exponent digits */
            char *pp = strpbrk(tmp, "pP");
            if (pp && pp[1] && pp[2] && !pp[3]) {
                vg_buf_append(&t, tmp, (size_t)(pp - tmp) + 2);
                vg_buf_putc(&t, '0');
                vg_buf_putc(&t, pp[2]);
            } else {
                vg_buf_puts(&t, tmp);
            }
        }
    } else {
        tpl_fmt_float(&t, v, f, prec);
    }
    /* sign handling as fmt.fmtFloat does */
    vg_buf_t s = VG_BUF_INIT;
    const char *num = t.data;
    bool inf_nan = strstr(num, "Inf") || strstr(num, "NaN");
    if (num[0] == '-' || num[0] == '+') {
        vg_buf_puts(&s, num);
    } else {
        vg_buf_putc(&s, sp->plus ? '+' : sp->space ? ' ' : '+');
        vg_buf_puts(&s, num);
    }
    const char *r = s.data;
    size_t rl = s.len;
    if (inf_nan) {
        if (r[1] == 'N' && !sp->space && !sp->plus) {
            r++;
            rl--;
        }
        pad(out, sp, r, rl, false);
    } else if (sp->plus || r[0] != '+') {
        if (sp->sharp && verb != 'x' && verb != 'X' && !memchr(r, '.', rl)) {
            /* '#' forces a decimal point */
            vg_buf_t h = VG_BUF_INIT;
            const char *e = memchr(r, 'e', rl);
            if (!e) e = memchr(r, 'E', rl);
            size_t cut = e ? (size_t)(e - r) : rl;
            vg_buf_append(&h, r, cut);
            vg_buf_putc(&h, '.');
            vg_buf_append(&h, r + cut, rl - cut);
            pad(out, sp, h.data, h.len, true);
            vg_buf_free(&h);
        } else {
            pad(out, sp, r, rl, true);
        }
    } else {
        pad(out, sp, r + 1, rl - 1, true);
    }
    vg_buf_free(&s);
    vg_buf_free(&t);
}

static void fmt_str_verb(vg_buf_t *out, const spec_t *sp, const char *s, size_t len, char verb) {
    if (sp->has_prec && (verb == 's' || verb == 'v' || verb == 'q' || verb == 'x' || verb == 'X')) {
        /* precision truncates to that many runes (bytes for %x) */
        size_t runes = 0, i = 0;
        while (i < len && runes < (size_t)sp->prec) {
            i++;
            while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
                i++;
            runes++;
        }
        if (verb == 'x' || verb == 'X') i = (size_t)sp->prec < len ? (size_t)sp->prec : len;
        len = i;
    }
    vg_buf_t t = VG_BUF_INIT;
    switch (verb) {
    case 'q':
        if (sp->sharp && !memchr(s, '`', len)) {
            vg_buf_putc(&t, '`');
            vg_buf_append(&t, s, len);
            vg_buf_putc(&t, '`');
        } else {
            tpl_fmt_quote(&t, s, len, sp->plus);
        }
        break;
    case 'x':
    case 'X': {
        const char *dig = verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
        for (size_t i = 0; i < len; i++) {
            if (sp->space && i > 0) vg_buf_putc(&t, ' ');
            if (sp->sharp && (sp->space || i == 0)) {
                vg_buf_putc(&t, '0');
                vg_buf_putc(&t, verb);
            }
            unsigned char c = (unsigned char)s[i];
            vg_buf_putc(&t, dig[c >> 4]);
            vg_buf_putc(&t, dig[c & 15]);
        }
        break;
    }
    default: vg_buf_append(&t, s, len); break;
    }
    pad(out, sp, t.data ? t.data : "", t.len, true);
    vg_buf_free(&t);
}

static void print_v(template_call_t *c, vg_buf_t *out, const template_value_t *v, const spec_t *sp,
                    int depth);

/* %!verb(type=value) */
static void bad_verb(template_call_t *c, vg_buf_t *out, const template_value_t *v, char verb) {
    vg_buf_putc(out, '%');
    vg_buf_putc(out, '!');
    vg_buf_putc(out, verb);
    vg_buf_putc(out, '(');
    if (v->kind == TEMPLATE_NIL) {
        vg_buf_puts(out, "<nil>");
    } else {
        vg_buf_puts(out, template_value_type_name(v));
        vg_buf_putc(out, '=');
        spec_t plain = {.verb = 'v'};
        print_v(c, out, v, &plain, 1);
    }
    vg_buf_putc(out, ')');
}

static void print_v(template_call_t *c, vg_buf_t *out, const template_value_t *v, const spec_t *sp,
                    int depth) {
    char verb = sp->verb;
    if (depth > 64) {
        vg_buf_puts(out, "...");
        return;
    }
    if (verb == 'T') {
        pad(out, sp, template_value_type_name(v), strlen(template_value_type_name(v)), false);
        return;
    }
    if (v->kind == TEMPLATE_NIL) {
        if (verb == 'v')
            pad(out, sp, "<nil>", 5, false);
        else
            bad_verb(c, out, v, verb);
        return;
    }
    /* String() methods apply for %v %s %q %x %X */
    if (v->type && v->type->to_string &&
        (verb == 'v' || verb == 's' || verb == 'q' || verb == 'x' || verb == 'X')) {
        vg_buf_t t = VG_BUF_INIT;
        if (v->type->to_string(c, v, &t) == 0) {
            fmt_str_verb(out, sp, t.data ? t.data : "", t.len, verb);
            vg_buf_free(&t);
            return;
        }
        vg_buf_free(&t);
    }
    switch ((template_kind_t)v->kind) {
    case TEMPLATE_BOOL:
        if (verb == 'v' || verb == 't')
            pad(out, sp, v->u.b ? "true" : "false", v->u.b ? 4 : 5, false);
        else
            bad_verb(c, out, v, verb);
        return;
    case TEMPLATE_INT:
    case TEMPLATE_DURATION:
        if (v->kind == TEMPLATE_DURATION && (verb == 'v' || verb == 's')) {
            vg_buf_t t = VG_BUF_INIT;
            tpl_duration_string(&t, v->u.i);
            pad(out, sp, t.data, t.len, false);
            vg_buf_free(&t);
            return;
        }
        switch (verb) {
        case 'v':
        case 'd': fmt_int(out, sp, v->u.i, 'd'); return;
        case 'b':
        case 'o':
        case 'O':
        case 'x':
        case 'X': fmt_int(out, sp, v->u.i, verb); return;
        case 'c': {
            vg_buf_t t = VG_BUF_INIT;
            int64_t r = v->u.i;
            put_rune(&t,
                     (r < 0 || r > 0x10ffff || (r >= 0xd800 && r < 0xe000)) ? 0xfffd : (uint32_t)r);
            pad(out, sp, t.data, t.len, false);
            vg_buf_free(&t);
            return;
        }
        case 'q': {
            vg_buf_t t = VG_BUF_INIT;
            quote_rune(&t, v->u.i, sp->plus);
            pad(out, sp, t.data, t.len, false);
            vg_buf_free(&t);
            return;
        }
        case 'U': {
            vg_buf_t t = VG_BUF_INIT;
            vg_buf_printf(&t, "U+%04llX", (unsigned long long)v->u.i);
            if (sp->sharp && v->u.i >= 0 && v->u.i <= 0x10ffff &&
                rune_printable((uint32_t)v->u.i)) {
                vg_buf_puts(&t, " '");
                put_rune(&t, (uint32_t)v->u.i);
                vg_buf_putc(&t, '\'');
            }
            pad(out, sp, t.data, t.len, false);
            vg_buf_free(&t);
            return;
        }
        default: bad_verb(c, out, v, verb); return;
        }
    case TEMPLATE_FLOAT:
        switch (verb) {
        case 'v':
        case 'b':
        case 'e':
        case 'E':
        case 'f':
        case 'F':
        case 'g':
        case 'G':
        case 'x':
        case 'X': fmt_float_verb(out, sp, v->u.f, verb); return;
        default: bad_verb(c, out, v, verb); return;
        }
    case TEMPLATE_STRING:
        if (verb == 'v' && sp->sharp) {
            /* %#v: Go syntax, a quoted string */
            vg_buf_t t = VG_BUF_INIT;
            tpl_fmt_quote(&t, v->u.str.s, v->u.str.len, false);
            pad(out, sp, t.data, t.len, false);
            vg_buf_free(&t);
            return;
        }
        switch (verb) {
        case 'v':
        case 's':
        case 'q':
        case 'x':
        case 'X': fmt_str_verb(out, sp, v->u.str.s, v->u.str.len, verb); return;
        default: bad_verb(c, out, v, verb); return;
        }
    case TEMPLATE_LIST: {
        /* Go applies the verb to each element; width applies per element */
        vg_buf_putc(out, '[');
        for (size_t i = 0; i < v->u.list->n; i++) {
            if (i > 0) vg_buf_putc(out, ' ');
            print_v(c, out, &v->u.list->items[i], sp, depth + 1);
        }
        vg_buf_putc(out, ']');
        return;
    }
    case TEMPLATE_MAP: {
        vg_buf_puts(out, "map[");
        for (size_t i = 0; i < v->u.map->n; i++) {
            const template_map_entry_t *e = &v->u.map->entries[i];
            if (i > 0) vg_buf_putc(out, ' ');
            template_value_t k = template_str(e->key, e->key_len);
            print_v(c, out, &k, sp, depth + 1);
            vg_buf_putc(out, ':');
            print_v(c, out, &e->value, sp, depth + 1);
        }
        vg_buf_putc(out, ']');
        return;
    }
    case TEMPLATE_OBJECT:
        if (v->flags & TEMPLATE_F_PTR) vg_buf_putc(out, '&');
        vg_buf_putc(out, '{');
        if (v->type && v->type->print_fields) v->type->print_fields(c, v, out);
        vg_buf_putc(out, '}');
        return;
    case TEMPLATE_TIME: {
        vg_buf_t t = VG_BUF_INIT;
        tpl_time_string(&t, v);
        fmt_str_verb(out, sp, t.data, t.len, verb == 'v' ? 's' : verb);
        vg_buf_free(&t);
        return;
    }
    default: bad_verb(c, out, v, verb); return;
    }
}

int template_value_print(template_call_t *c, const template_value_t *v, vg_buf_t *out) {
    spec_t sp = {.verb = 'v'};
    print_v(c, out, v, &sp, 0);
    return 0;
}

int tpl_fmt_sprint(template_call_t *c, vg_buf_t *out, const template_value_t *args, size_t n_args,
                   bool ln) {
    spec_t sp = {.verb = 'v'};
    for (size_t i = 0; i < n_args; i++) {
        if (i > 0) {
            /* Sprint: a space between operands when neither is a string;
             * Sprintln: always */
            bool is_str = args[i].kind == TEMPLATE_STRING && !args[i].type;
            bool prev_str = args[i - 1].kind == TEMPLATE_STRING && !args[i - 1].type;
            if (ln || (!is_str && !prev_str)) vg_buf_putc(out, ' ');
        }
        print_v(c, out, &args[i], &sp, 0);
    }
    if (ln) vg_buf_putc(out, '\n');
    return 0;
}

static bool arg_int(const template_value_t *v, int *out) {
    if (v->kind != TEMPLATE_INT) return false;
    if (v->u.i > 1000000 || v->u.i < -1000000) return false;
    *out = (int)v->u.i;
    return true;
}

int tpl_fmt_sprintf(template_call_t *c, vg_buf_t *out, const char *f, size_t flen,
                    const template_value_t *args, size_t n_args) {
    size_t argi = 0;
    size_t i = 0;
    bool reordered = false;
    while (i < flen) {
        const char *pct = memchr(f + i, '%', flen - i);
        size_t lit_end = pct ? (size_t)(pct - f) : flen;
        vg_buf_append(out, f + i, lit_end - i);
        if (!pct) break;
        i = lit_end + 1;
        spec_t sp = {0};
        /* flags */
        for (; i < flen; i++) {
            char ch = f[i];
            if (ch == '-') {
                sp.minus = true;
                sp.zero = false;
            } else if (ch == '+') {
                sp.plus = true;
            } else if (ch == '#') {
                sp.sharp = true;
            } else if (ch == ' ') {
                sp.space = true;
            } else if (ch == '0') {
                sp.zero = !sp.minus;
            } else {
                break;
            }
        }
        /* argument index [n] */
        if (i < flen && f[i] == '[') {
            reordered = true;
            size_t j = i + 1;
            int idx = 0;
            while (j < flen && f[j] >= '0' && f[j] <= '9' && idx < 100000)
                idx = idx * 10 + (f[j++] - '0');
            if (j < flen && f[j] == ']' && idx >= 1) {
                argi = (size_t)idx - 1;
                i = j + 1;
            } else {
                vg_buf_puts(out, "%!(BADINDEX)");
                i = j < flen ? j + 1 : flen;
                continue;
            }
        }
        /* width */
        if (i < flen && f[i] == '*') {
            i++;
            if (argi < n_args && arg_int(&args[argi], &sp.width)) {
                sp.has_width = true;
                if (sp.width < 0) {
                    sp.minus = true;
                    sp.zero = false;
                    sp.width = -sp.width;
                }
            } else {
                vg_buf_puts(out, "%!(BADWIDTH)");
            }
            argi++;
        } else {
            while (i < flen && f[i] >= '0' && f[i] <= '9') {
                sp.has_width = true;
                if (sp.width < 1000000) sp.width = sp.width * 10 + (f[i] - '0');
                i++;
            }
        }
        /* precision */
        if (i < flen && f[i] == '.') {
            i++;
            sp.has_prec = true;
            if (i < flen && f[i] == '*') {
                i++;
                if (argi < n_args && arg_int(&args[argi], &sp.prec) && sp.prec >= 0) {
                } else {
                    sp.has_prec = false;
                    vg_buf_puts(out, "%!(BADPREC)");
                }
                argi++;
            } else {
                while (i < flen && f[i] >= '0' && f[i] <= '9') {
                    if (sp.prec < 1000000) sp.prec = sp.prec * 10 + (f[i] - '0');
                    i++;
                }
            }
        }
        if (sp.width > 100000) sp.width = 100000;
        if (sp.prec > 100000) sp.prec = 100000;
        if (i >= flen) {
            vg_buf_puts(out, "%!(NOVERB)");
            break;
        }
        /* the verb is one rune */
        uint32_t r;
        int rn = utf8_decode((const unsigned char *)f + i, flen - i, &r);
        if (rn < 0) rn = 1;
        i += (size_t)rn;
        if (r == '%') {
            vg_buf_putc(out, '%');
            continue;
        }
        if (argi >= n_args) {
            vg_buf_puts(out, "%!");
            put_rune(out, r);
            vg_buf_puts(out, "(MISSING)");
            continue;
        }
        if (r >= 0x80) {
            vg_buf_puts(out, "%!");
            put_rune(out, r);
            vg_buf_putc(out, '(');
            vg_buf_puts(out, template_value_type_name(&args[argi]));
            vg_buf_putc(out, '=');
            template_value_print(c, &args[argi], out);
            vg_buf_putc(out, ')');
            argi++;
            continue;
        }
        sp.verb = (char)r;
        if (sp.verb == 'w') sp.verb = 'v';
        print_v(c, out, &args[argi], &sp, 0);
        argi++;
    }
    if (!reordered && argi < n_args) {
        vg_buf_puts(out, "%!(EXTRA ");
        for (size_t k = argi; k < n_args; k++) {
            if (k > argi) vg_buf_puts(out, ", ");
            if (args[k].kind == TEMPLATE_NIL) {
                vg_buf_puts(out, "<nil>");
                continue;
            }
            vg_buf_puts(out, template_value_type_name(&args[k]));
            vg_buf_putc(out, '=');
            template_value_print(c, &args[k], out);
        }
        vg_buf_putc(out, ')');
    }
    return 0;
}
