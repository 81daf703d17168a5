/*
 * This file implements the PromQL lexer: it cuts a query into tokens with
 * their byte positions, in the same three modes Prometheus's lexer has
 * (statements, inside braces, right after '[' in a duration), so that the
 * same inputs fail with the same messages at the same places. It also holds
 * the Go-compatible string helpers the parser and printer share: unquoting,
 * quoting and rune quoting.
 */
#include <string.h>

#include "promql/promql_int.h"

#define EOF_RUNE (-1)

/* ------------------------------------------------------------- UTF-8 */

int32_t promql_utf8_decode(const char *s, size_t n, size_t *out_size) {
    const unsigned char *p = (const unsigned char *)s;
    unsigned c = p[0];
    *out_size = 1;
    if (c < 0x80) return (int32_t)c;
    size_t need;
    uint32_t r, min;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2, r = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3, r = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4, r = c & 0x07, min = 0x10000;
    } else {
        return 0xFFFD;
    }
    if (n < need) return 0xFFFD;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0xFFFD;
        r = (r << 6) | (p[i] & 0x3F);
    }
    if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return 0xFFFD;
    *out_size = need;
    return (int32_t)r;
}

/* Writes r as UTF-8 into t (4 bytes); returns the length. */
static size_t encode_utf8(uint32_t r, char *t) {
    if (r < 0x80) {
        t[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        t[0] = (char)(0xC0 | (r >> 6)), t[1] = (char)(0x80 | (r & 0x3F));
        return 2;
    }
    if (r < 0x10000) {
        t[0] = (char)(0xE0 | (r >> 12)), t[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        t[2] = (char)(0x80 | (r & 0x3F));
        return 3;
    }
    t[0] = (char)(0xF0 | (r >> 18)), t[1] = (char)(0x80 | ((r >> 12) & 0x3F));
    t[2] = (char)(0x80 | ((r >> 6) & 0x3F)), t[3] = (char)(0x80 | (r & 0x3F));
    return 4;
}

static void put_utf8(vg_buf_t *b, uint32_t r) {
    char t[4];
    vg_buf_append(b, t, encode_utf8(r, t));
}

/* An approximation of Go's unicode.IsPrint without its tables: every
 * assigned-looking rune is printable except controls, spaces other than
 * U+0020, format characters, private use and non-characters. It decides
 * only whether the printer escapes a rune; both forms read back the same. */
static bool rune_printable(int32_t r) {
    if (r < 0x20 || (r >= 0x7F && r <= 0xA0) || r == 0xAD) return false;
    if (r < 0x7F) return true;
    if (r == 0x1680 || (r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F)) return false;
    if ((r >= 0x205F && r <= 0x206F) || r == 0x3000 || r == 0xFEFF) return false;
    if ((r >= 0xD800 && r <= 0xF8FF) || (r >= 0xFFF0 && r <= 0xFFFB) || r >= 0xFFFE) {
        if (r == 0xFFFD) return true;
        if (r >= 0x10000 && r < 0xE0000) return true;
        return false;
    }
    return true;
}

static const char hexdig[] = "0123456789abcdef";

/* One rune of a Go-quoted string or rune literal, quote being '"' or '\''. */
static void quote_rune_body(int32_t r, char quote, vg_buf_t *out) {
    char t[12];
    switch (r) {
    case '\a': vg_buf_puts(out, "\\a"); return;
    case '\b': vg_buf_puts(out, "\\b"); return;
    case '\f': vg_buf_puts(out, "\\f"); return;
    case '\n': vg_buf_puts(out, "\\n"); return;
    case '\r': vg_buf_puts(out, "\\r"); return;
    case '\t': vg_buf_puts(out, "\\t"); return;
    case '\v': vg_buf_puts(out, "\\v"); return;
    case '\\': vg_buf_puts(out, "\\\\"); return;
    default: break;
    }
    if (r == quote) {
        vg_buf_putc(out, '\\');
        vg_buf_putc(out, quote);
        return;
    }
    /* U+FFFD is printable, but the lexer refuses it inside strings (as
     * Prometheus's does), so it is escaped for the output to read back. */
    if (rune_printable(r) && r != 0xFFFD) {
        put_utf8(out, (uint32_t)r);
        return;
    }
    if (r < 0x20 || r == 0x7F) {
        t[0] = '\\', t[1] = 'x', t[2] = hexdig[r >> 4], t[3] = hexdig[r & 15];
        vg_buf_append(out, t, 4);
    } else if (r < 0x10000) {
        snprintf(t, sizeof t, "\\u%04x", (unsigned)r);
        vg_buf_puts(out, t);
    } else {
        snprintf(t, sizeof t, "\\U%08x", (unsigned)r);
        vg_buf_puts(out, t);
    }
}

void promql_quote(const char *s, size_t len, vg_buf_t *out) {
    vg_buf_putc(out, '"');
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            size_t j = i + 1;
            while (j < len && (unsigned char)s[j] >= 0x20 && (unsigned char)s[j] < 0x7F &&
                   s[j] != '"' && s[j] != '\\')
                j++;
            vg_buf_append(out, s + i, j - i);
            i = j;
            continue;
        }
        size_t sz;
        int32_t r = promql_utf8_decode(s + i, len - i, &sz);
        if (r == 0xFFFD && sz == 1) {
            char t[4] = {'\\', 'x', hexdig[c >> 4], hexdig[c & 15]};
            vg_buf_append(out, t, 4);
        } else {
            quote_rune_body(r, '"', out);
        }
        i += sz;
    }
    vg_buf_putc(out, '"');
}

void promql_quote_rune(int32_t r, vg_buf_t *out) {
    if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = 0xFFFD;
    vg_buf_putc(out, '\'');
    quote_rune_body(r, '\'', out);
    vg_buf_putc(out, '\'');
}

/* Go's %#U: "U+0063 'c'" (the character only when printable). */
static void sharp_u(int32_t r, vg_buf_t *out) {
    vg_buf_printf(out, "U+%04X", (unsigned)r);
    if (r >= 0 && r <= 0x10FFFF && !(r >= 0xD800 && r <= 0xDFFF) && rune_printable(r)) {
        vg_buf_puts(out, " '");
        put_utf8(out, (uint32_t)r);
        vg_buf_putc(out, '\'');
    }
}

static int unhex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

long promql_unquote(const char *s, size_t n, char *out) {
    if (n < 2) return -1;
    char q = s[0];
    if (q != s[n - 1]) return -1;
    s++, n -= 2;
    if (q == '`') {
        if (memchr(s, '`', n)) return -1;
        memcpy(out, s, n);
        return (long)n;
    }
    if (q != '"' && q != '\'') return -1;
    if (memchr(s, '\n', n)) return -1;
    size_t o = 0, i = 0;
    while (i < n) {
        char c = s[i];
        if (c == q) return -1;
        if (c != '\\') {
            out[o++] = c;
            i++;
            continue;
        }
        if (i + 1 >= n) return -1;
        char e = s[i + 1];
        i += 2;
        uint32_t v = 0;
        switch (e) {
        case 'a': out[o++] = '\a'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'v': out[o++] = '\v'; break;
        case '\\': out[o++] = '\\'; break;
        case '\'':
        case '"':
            if (e != q) return -1;
            out[o++] = e;
            break;
        case 'x':
        case 'u':
        case 'U': {
            size_t k = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            if (n - i < k) return -1;
            for (size_t j = 0; j < k; j++) {
                int d = unhex(s[i + j]);
                if (d < 0) return -1;
                v = v << 4 | (uint32_t)d;
            }
            i += k;
            if (e == 'x') {
                out[o++] = (char)v;
                break;
            }
            if (v > 0x10FFFF) return -1;
            if (v >= 0xD800 && v <= 0xDFFF) v = 0xFFFD; /* as Go's EncodeRune */
            /* at most 4 bytes written for the 6 or 10 read: fits in place */
            o += encode_utf8(v, out + o);
            break;
        }
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
            v = (uint32_t)(e - '0');
            if (n - i < 2) return -1;
            for (int j = 0; j < 2; j++) {
                char d = s[i + (size_t)j];
                if (d < '0' || d > '7') return -1;
                v = v << 3 | (uint32_t)(d - '0');
            }
            i += 2;
            if (v > 255) return -1;
            out[o++] = (char)v;
            break;
        default: return -1;
        }
    }
    return (long)o;
}

/* ----------------------------------------------------------- keywords */

typedef struct keyword {
    const char *word;
    promql_tok_t tok;
} keyword_t;

static const keyword_t keywords[] = {
    {"and", T_LAND},
    {"or", T_LOR},
    {"unless", T_LUNLESS},
    {"atan2", T_ATAN2},
    {"sum", T_SUM},
    {"avg", T_AVG},
    {"count", T_COUNT},
    {"min", T_MIN},
    {"max", T_MAX},
    {"group", T_GROUP},
    {"stddev", T_STDDEV},
    {"stdvar", T_STDVAR},
    {"topk", T_TOPK},
    {"bottomk", T_BOTTOMK},
    {"count_values", T_COUNT_VALUES},
    {"quantile", T_QUANTILE},
    {"limitk", T_LIMITK},
    {"limit_ratio", T_LIMIT_RATIO},
    {"offset", T_OFFSET},
    {"smoothed", T_SMOOTHED},
    {"anchored", T_ANCHORED},
    {"by", T_BY},
    {"without", T_WITHOUT},
    {"on", T_ON},
    {"ignoring", T_IGNORING},
    {"group_left", T_GROUP_LEFT},
    {"group_right", T_GROUP_RIGHT},
    {"fill", T_FILL},
    {"fill_left", T_FILL_LEFT},
    {"fill_right", T_FILL_RIGHT},
    {"bool", T_BOOL},
    {"start", T_START},
    {"end", T_END},
    {"step", T_STEP},
    {"range", T_RANGE},
    {"max_of", T_MAX_OF},
    {"min_of", T_MIN_OF},
    {"inf", T_NUMBER},
    {"nan", T_NUMBER},
};

/* Case-insensitive keyword lookup; T_EOF when s is no keyword. */
static promql_tok_t keyword_lookup(const char *s, size_t n) {
    if (n > 12) return T_EOF;
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
        const char *w = keywords[k].word;
        if (strlen(w) != n) continue;
        size_t i = 0;
        for (; i < n; i++) {
            char c = s[i];
            if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
            if (c != w[i]) break;
        }
        if (i == n) return keywords[k].tok;
    }
    return T_EOF;
}

const char *promql_tok_str(promql_tok_t t) {
    switch (t) {
    case T_LEFT_PAREN: return "(";
    case T_RIGHT_PAREN: return ")";
    case T_LEFT_BRACE: return "{";
    case T_RIGHT_BRACE: return "}";
    case T_LEFT_BRACKET: return "[";
    case T_RIGHT_BRACKET: return "]";
    case T_COMMA: return ",";
    case T_EQL: return "=";
    case T_COLON: return ":";
    case T_ADD: return "+";
    case T_DIV: return "/";
    case T_EQLC: return "==";
    case T_EQL_REGEX: return "=~";
    case T_GTE: return ">=";
    case T_GTR: return ">";
    case T_TRIM_UPPER: return "</";
    case T_TRIM_LOWER: return ">/";
    case T_LSS: return "<";
    case T_LTE: return "<=";
    case T_MOD: return "%";
    case T_MUL: return "*";
    case T_NEQ: return "!=";
    case T_NEQ_REGEX: return "!~";
    case T_POW: return "^";
    case T_SUB: return "-";
    case T_AT: return "@";
    default: break;
    }
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
        if (keywords[k].tok == t && t != T_NUMBER) return keywords[k].word;
    return "?";
}

/* Go's %.10q: quote at most the first 10 runes. */
static void quote_prefix10(const char *s, size_t n, vg_buf_t *out) {
    size_t i = 0;
    for (int r = 0; r < 10 && i < n; r++) {
        size_t sz;
        promql_utf8_decode(s + i, n - i, &sz);
        i += sz;
    }
    promql_quote(s, i, out);
}

void promql_tok_desc(promql_tok_t t, const char *text, size_t len, vg_buf_t *out) {
    if (t == T_EOF) {
        vg_buf_puts(out, "end of input");
        return;
    }
    if (t > T_OPS_START && t < T_OPS_END) {
        vg_buf_puts(out, "<op:");
        vg_buf_append(out, text, len);
        vg_buf_putc(out, '>');
        return;
    }
    if (t > T_AGGS_START && t < T_AGGS_END) {
        vg_buf_puts(out, "<aggr:");
        vg_buf_append(out, text, len);
        vg_buf_putc(out, '>');
        return;
    }
    if (t > T_KEYWORDS_START && t < T_KEYWORDS_END) {
        vg_buf_putc(out, '<');
        vg_buf_append(out, text, len);
        vg_buf_putc(out, '>');
        return;
    }
    switch (t) {
    case T_IDENTIFIER:
        vg_buf_puts(out, "identifier ");
        promql_quote(text, len, out);
        return;
    case T_METRIC_IDENTIFIER:
        vg_buf_puts(out, "metric identifier ");
        promql_quote(text, len, out);
        return;
    case T_NUMBER: vg_buf_puts(out, "number "); break;
    case T_DURATION: vg_buf_puts(out, "duration "); break;
    case T_STRING: vg_buf_puts(out, "string "); break;
    case T_COMMENT: vg_buf_puts(out, "comment "); break;
    case T_ERROR: vg_buf_append(out, text, len); return;
    default: break;
    }
    if (len > 10) {
        quote_prefix10(text, len, out);
        vg_buf_puts(out, "...");
    } else {
        promql_quote(text, len, out);
    }
}

/* -------------------------------------------------------------- lexer */

void promql_lex_init(promql_lexer_t *l, const char *in, size_t len) {
    memset(l, 0, sizeof *l);
    l->in = in;
    l->len = len;
}

/* Reads one rune (EOF_RUNE at the end). The width of the last rune is kept
 * for backup() as Go's lexer does. */
static int32_t next(promql_lexer_t *l, size_t *w) {
    if (l->pos >= l->len) {
        *w = 0;
        return EOF_RUNE;
    }
    int32_t r = promql_utf8_decode(l->in + l->pos, l->len - l->pos, w);
    l->pos += *w;
    return r;
}

static int32_t peek(const promql_lexer_t *l) {
    if (l->pos >= l->len) return EOF_RUNE;
    size_t w;
    return promql_utf8_decode(l->in + l->pos, l->len - l->pos, &w);
}

static bool is_space(int32_t r) { return r == ' ' || r == '\t' || r == '\n' || r == '\r'; }
static bool is_digit(int32_t r) { return r >= '0' && r <= '9'; }
static bool is_alpha(int32_t r) {
    return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
}
static bool is_alnum(int32_t r) { return is_alpha(r) || is_digit(r); }

static bool in_set(int32_t r, const char *set) {
    return r >= 0 && r < 0x80 && r != 0 && strchr(set, (int)r) != NULL;
}

/* Consumes the next rune if it is in set (ASCII sets only). */
static bool accept(promql_lexer_t *l, const char *set) {
    if (l->pos < l->len && in_set((unsigned char)l->in[l->pos], set)) {
        l->pos++;
        return true;
    }
    return false;
}

static bool is_next(const promql_lexer_t *l, const char *set) {
    return l->pos < l->len && in_set((unsigned char)l->in[l->pos], set);
}

static void emit(promql_lexer_t *l, promql_token_t *t, promql_tok_t type) {
    t->type = type;
    t->pos = (uint32_t)l->start;
    t->len = (uint32_t)(l->pos - l->start);
    t->msg = NULL;
    l->start = l->pos;
}

/* An error token at the start of the current item; ends the scan. */
static void errorf(promql_lexer_t *l, promql_token_t *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void errorf(promql_lexer_t *l, promql_token_t *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->msg, sizeof l->msg, fmt, ap);
    va_end(ap);
    t->type = T_ERROR;
    t->pos = (uint32_t)l->start;
    t->len = 0;
    t->msg = l->msg;
    l->done = true;
}

/* Error with a quoted rune appended: "<prefix><'r'><suffix>". */
static void error_rune(promql_lexer_t *l, promql_token_t *t, const char *prefix, int32_t r,
                       const char *suffix) {
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_puts(&b, prefix);
    promql_quote_rune(r, &b);
    vg_buf_puts(&b, suffix);
    errorf(l, t, "%s", b.data);
    vg_buf_free(&b);
}

static void error_text(promql_lexer_t *l, promql_token_t *t, const char *prefix) {
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_puts(&b, prefix);
    promql_quote(l->in + l->start, l->pos - l->start, &b);
    errorf(l, t, "%s", b.data);
    vg_buf_free(&b);
}

static void skip_spaces(promql_lexer_t *l) {
    while (l->pos < l->len && is_space((unsigned char)l->in[l->pos]))
        l->pos++;
    l->start = l->pos;
}

static void lex_comment(promql_lexer_t *l, promql_token_t *t) {
    l->pos++;
    while (l->pos < l->len && l->in[l->pos] != '\n' && l->in[l->pos] != '\r')
        l->pos++;
    emit(l, t, T_COMMENT);
}

/* Scans a number as Prometheus's scanNumber does; the text is not
 * necessarily a valid number (the parser finds out). */
static bool scan_number(promql_lexer_t *l) {
    size_t initial = l->pos;
    const char *digits = "0123456789";
    bool hex = false;
    if (accept(l, "0") && accept(l, "xX")) {
        accept(l, "_");
        digits = "0123456789abcdefABCDEF";
        hex = true;
    }
    accept(l, ".");
    accept(l, digits);
    bool dot = false, exp = false;
    char cls[40];
    snprintf(cls, sizeof cls, "%s._eE", digits);
    while (is_next(l, cls)) {
        if (is_next(l, ".") && dot) {
            accept(l, ".");
            return false;
        }
        if (is_next(l, "eE") && exp) {
            accept(l, "eE");
            return false;
        }
        if (accept(l, ".")) {
            dot = true;
            if (accept(l, "_.")) return false;
            if (hex) return false; /* no fractional hexadecimal literals */
            continue;
        }
        if (accept(l, "eE")) {
            exp = true;
            accept(l, "+-");
            if (accept(l, "._eE") || l->pos >= l->len) return false;
            continue;
        }
        if (accept(l, "_")) {
            if (accept(l, "._eE") || l->pos >= l->len) return false;
            continue;
        }
        while (accept(l, digits)) {
        }
    }
    if (l->pos == initial) return false;
    return !is_alnum(peek(l));
}

/* After a number that is not one: the rest of a duration ("5m", "1h30m"). */
static bool accept_remaining_duration(promql_lexer_t *l, size_t *out_w) {
    if (!accept(l, "smhdwy")) return false;
    accept(l, "s");
    while (accept(l, "0123456789")) {
        while (accept(l, "0123456789")) {
        }
        if (!accept(l, "smhdw")) return false;
        accept(l, "s");
    }
    return !is_alnum(next(l, out_w));
}

static void lex_number_or_duration(promql_lexer_t *l, promql_token_t *t) {
    if (scan_number(l)) {
        emit(l, t, T_NUMBER);
        return;
    }
    size_t w = 0;
    if (accept_remaining_duration(l, &w)) {
        l->pos -= w; /* back up over the rune that ended the duration */
        emit(l, t, T_DURATION);
        return;
    }
    error_text(l, t, "bad number or duration syntax: ");
}

/* Inside '[': step, range, max_of, min_of (any case). */
static bool duration_keyword_start(int32_t r) {
    if (r >= 'A' && r <= 'Z') r = r - 'A' + 'a';
    return r == 's' || r == 'r' || r == 'm';
}

static bool scan_duration_keyword(promql_lexer_t *l, promql_token_t *t) {
    while (l->pos < l->len && is_alpha((unsigned char)l->in[l->pos]))
        l->pos++;
    promql_tok_t k = keyword_lookup(l->in + l->start, l->pos - l->start);
    if (k == T_STEP || k == T_RANGE || k == T_MAX_OF || k == T_MIN_OF) {
        emit(l, t, k);
        return true;
    }
    return false;
}

static bool followed_by_left_paren(const promql_lexer_t *l) {
    size_t p = l->pos;
    while (p < l->len && is_space((unsigned char)l->in[p]))
        p++;
    return p < l->len && l->in[p] == '(';
}

static void lex_keyword_or_identifier(promql_lexer_t *l, promql_token_t *t) {
    bool colon = false;
    while (l->pos < l->len) {
        unsigned char c = (unsigned char)l->in[l->pos];
        if (!is_alnum(c) && c != ':') break;
        colon |= c == ':';
        l->pos++;
    }
    promql_tok_t k = keyword_lookup(l->in + l->start, l->pos - l->start);
    if (k != T_EOF) {
        /* fill* are keywords only before '(' so they stay usable as names */
        if ((k == T_FILL || k == T_FILL_LEFT || k == T_FILL_RIGHT) && !followed_by_left_paren(l))
            k = T_IDENTIFIER;
        emit(l, t, k);
        return;
    }
    emit(l, t, colon ? T_METRIC_IDENTIFIER : T_IDENTIFIER);
}

static void lex_escape(promql_lexer_t *l, promql_token_t *t, int32_t quote) {
    size_t w;
    int32_t ch = next(l, &w);
    int n;
    uint32_t base, max;
    switch (ch) {
    case 'a':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
    case '\\': return;
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7': n = 3, base = 8, max = 255; break;
    case 'x':
        ch = next(l, &w);
        n = 2, base = 16, max = 255;
        break;
    case 'u':
        ch = next(l, &w);
        n = 4, base = 16, max = 0x10FFFF;
        break;
    case 'U':
        ch = next(l, &w);
        n = 8, base = 16, max = 0x10FFFF;
        break;
    case EOF_RUNE: errorf(l, t, "escape sequence not terminated"); return;
    default: {
        if (ch == quote) return;
        vg_buf_t b = VG_BUF_INIT;
        vg_buf_puts(&b, "unknown escape sequence ");
        sharp_u(ch, &b);
        errorf(l, t, "%s", b.data);
        vg_buf_free(&b);
        return;
    }
    }
    uint32_t x = 0;
    while (n > 0) {
        int d = ch >= 0 && ch < 0x80 ? unhex((char)ch) : -1;
        if (d < 0 || (uint32_t)d >= base) {
            if (ch == EOF_RUNE) {
                errorf(l, t, "escape sequence not terminated");
                return;
            }
            vg_buf_t b = VG_BUF_INIT;
            vg_buf_puts(&b, "illegal character ");
            sharp_u(ch, &b);
            vg_buf_puts(&b, " in escape sequence");
            errorf(l, t, "%s", b.data);
            vg_buf_free(&b);
            return;
        }
        x = x * base + (uint32_t)d;
        if (--n > 0) ch = next(l, &w);
    }
    if (x > max || (x >= 0xD800 && x < 0xE000))
        errorf(l, t, "escape sequence is an invalid Unicode code point");
}

static void lex_string(promql_lexer_t *l, promql_token_t *t, int32_t quote) {
    for (;;) {
        size_t w;
        int32_t r = next(l, &w);
        if (r == '\\') {
            lex_escape(l, t, quote);
            if (l->done) return;
            continue;
        }
        if (r == 0xFFFD) {
            errorf(l, t, "invalid UTF-8 rune");
            return;
        }
        if (r == EOF_RUNE || r == '\n') {
            errorf(l, t, "unterminated quoted string");
            return;
        }
        if (r == quote) break;
    }
    emit(l, t, T_STRING);
}

static void lex_raw_string(promql_lexer_t *l, promql_token_t *t) {
    for (;;) {
        size_t w;
        int32_t r = next(l, &w);
        if (r == 0xFFFD) {
            errorf(l, t, "invalid UTF-8 rune");
            return;
        }
        if (r == EOF_RUNE) {
            errorf(l, t, "unterminated raw string");
            return;
        }
        if (r == '`') break;
    }
    emit(l, t, T_STRING);
}

/* Returns true when a token was produced, false to scan on (spaces). */
static bool lex_inside_braces(promql_lexer_t *l, promql_token_t *t) {
    if (l->pos < l->len && l->in[l->pos] == '#') {
        lex_comment(l, t);
        return true;
    }
    size_t w;
    int32_t r = next(l, &w);
    if (r == EOF_RUNE) {
        errorf(l, t, "unexpected end of input inside braces");
    } else if (is_space(r)) {
        skip_spaces(l);
        return false;
    } else if (is_alpha(r)) {
        while (l->pos < l->len && is_alnum((unsigned char)l->in[l->pos]))
            l->pos++;
        emit(l, t, T_IDENTIFIER);
    } else if (r == ',') {
        emit(l, t, T_COMMA);
    } else if (r == '"' || r == '\'') {
        lex_string(l, t, r);
    } else if (r == '`') {
        lex_raw_string(l, t);
    } else if (r == '=') {
        emit(l, t, accept(l, "~") ? T_EQL_REGEX : T_EQL);
    } else if (r == '!') {
        int32_t nr = next(l, &w);
        if (nr == '~')
            emit(l, t, T_NEQ_REGEX);
        else if (nr == '=')
            emit(l, t, T_NEQ);
        else
            error_rune(l, t, "unexpected character after '!' inside braces: ", nr, "");
    } else if (r == '{') {
        error_rune(l, t, "unexpected left brace ", r, "");
    } else if (r == '}') {
        emit(l, t, T_RIGHT_BRACE);
        l->brace_open = false;
    } else {
        error_rune(l, t, "unexpected character inside braces: ", r, "");
    }
    return true;
}

static bool lex_duration_expr(promql_lexer_t *l, promql_token_t *t) {
    size_t w;
    int32_t r = next(l, &w);
    switch (r) {
    case EOF_RUNE: errorf(l, t, "unexpected end of input in duration expression"); return true;
    case ']':
        emit(l, t, T_RIGHT_BRACKET);
        l->bracket_open = false;
        l->got_colon = false;
        l->in_duration_expr = false;
        return true;
    case ':':
        emit(l, t, T_COLON);
        if (!l->got_duration) {
            errorf(l, t, "unexpected colon before duration in duration expression");
        } else if (l->got_colon) {
            errorf(l, t, "unexpected repeated colon in duration expression");
        }
        l->got_colon = true;
        return true;
    case '(':
        emit(l, t, T_LEFT_PAREN);
        l->paren_depth++;
        return true;
    case ')':
        emit(l, t, T_RIGHT_PAREN);
        if (--l->paren_depth < 0) error_rune(l, t, "unexpected right parenthesis ", r, "");
        return true;
    case '+': emit(l, t, T_ADD); return true;
    case '-': emit(l, t, T_SUB); return true;
    case '*': emit(l, t, T_MUL); return true;
    case '/': emit(l, t, T_DIV); return true;
    case '%': emit(l, t, T_MOD); return true;
    case '^': emit(l, t, T_POW); return true;
    case ',': emit(l, t, T_COMMA); return true;
    default: break;
    }
    if (is_space(r)) {
        skip_spaces(l);
        return false;
    }
    if (duration_keyword_start(r)) {
        if (!scan_duration_keyword(l, t))
            error_rune(l, t, "unexpected character in duration expression: ", r, "");
        return true;
    }
    if (is_digit(r) || (r == '.' && is_digit(peek(l)))) {
        l->pos -= w;
        l->got_duration = true;
        l->in_duration_expr = false;
        lex_number_or_duration(l, t);
        return true;
    }
    error_rune(l, t, "unexpected character in duration expression: ", r, "");
    return true;
}

static bool lex_statements(promql_lexer_t *l, promql_token_t *t) {
    if (l->pos < l->len && l->in[l->pos] == '#') {
        lex_comment(l, t);
        return true;
    }
    size_t w;
    int32_t r = next(l, &w);
    switch (r) {
    case EOF_RUNE:
        if (l->paren_depth != 0) {
            errorf(l, t, "unclosed left parenthesis");
        } else if (l->bracket_open) {
            errorf(l, t, "unclosed left bracket");
        } else {
            emit(l, t, T_EOF);
            l->done = true;
        }
        return true;
    case ',': emit(l, t, T_COMMA); return true;
    case '*': emit(l, t, T_MUL); return true;
    case '/': emit(l, t, T_DIV); return true;
    case '%': emit(l, t, T_MOD); return true;
    case '+': emit(l, t, T_ADD); return true;
    case '-': emit(l, t, T_SUB); return true;
    case '^': emit(l, t, T_POW); return true;
    case '@': emit(l, t, T_AT); return true;
    case '=':
        if (peek(l) == '=') {
            l->pos++;
            emit(l, t, T_EQLC);
        } else if (peek(l) == '~') {
            error_rune(l, t, "unexpected character after '=': ", '~', "");
        } else {
            emit(l, t, T_EQL);
        }
        return true;
    case '!': {
        int32_t nr = next(l, &w);
        if (nr != '=')
            error_rune(l, t, "unexpected character after '!': ", nr, "");
        else
            emit(l, t, T_NEQ);
        return true;
    }
    case '<':
    case '>': {
        int32_t p = peek(l);
        if (p == '=') {
            l->pos++;
            emit(l, t, r == '<' ? T_LTE : T_GTE);
        } else if (p == '/') {
            l->pos++;
            emit(l, t, r == '<' ? T_TRIM_UPPER : T_TRIM_LOWER);
        } else {
            emit(l, t, r == '<' ? T_LSS : T_GTR);
        }
        return true;
    }
    case '"':
    case '\'': lex_string(l, t, r); return true;
    case '`': lex_raw_string(l, t); return true;
    case '(':
        emit(l, t, T_LEFT_PAREN);
        l->paren_depth++;
        return true;
    case ')':
        emit(l, t, T_RIGHT_PAREN);
        if (--l->paren_depth < 0) error_rune(l, t, "unexpected right parenthesis ", r, "");
        return true;
    case '{':
        emit(l, t, T_LEFT_BRACE);
        l->brace_open = true;
        return true;
    case '[':
        if (l->bracket_open) {
            error_rune(l, t, "unexpected left bracket ", r, "");
            return true;
        }
        l->got_colon = false;
        emit(l, t, T_LEFT_BRACKET);
        skip_spaces(l);
        l->bracket_open = true;
        l->in_duration_expr = true;
        return true;
    case ']':
        if (!l->bracket_open) {
            error_rune(l, t, "unexpected right bracket ", r, "");
            return true;
        }
        emit(l, t, T_RIGHT_BRACKET);
        l->bracket_open = false;
        return true;
    default: break;
    }
    if (is_space(r)) {
        skip_spaces(l);
        return false;
    }
    if (is_digit(r) || (r == '.' && is_digit(peek(l)))) {
        l->pos -= w;
        lex_number_or_duration(l, t);
        return true;
    }
    if (is_alpha(r) || r == ':') {
        if (!l->bracket_open) {
            l->pos -= w;
            lex_keyword_or_identifier(l, t);
            return true;
        }
        if (r == ':') {
            if (l->got_colon) {
                error_rune(l, t, "unexpected colon ", r, "");
                return true;
            }
            emit(l, t, T_COLON);
            l->got_colon = true;
            return true;
        }
        if (duration_keyword_start(r) && scan_duration_keyword(l, t)) return true;
        error_rune(l, t, "unexpected character: ", r, ", expected ':'");
        return true;
    }
    error_rune(l, t, "unexpected character: ", r, "");
    return true;
}

void promql_lex_next(promql_lexer_t *l, promql_token_t *t) {
    for (;;) {
        if (l->done) {
            t->type = T_EOF;
            t->pos = (uint32_t)l->len;
            t->len = 0;
            t->msg = NULL;
            return;
        }
        bool got;
        if (l->brace_open)
            got = lex_inside_braces(l, t);
        else if (l->in_duration_expr)
            got = lex_duration_expr(l, t);
        else
            got = lex_statements(l, t);
        if (got) return;
    }
}
