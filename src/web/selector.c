/* This file implements the series-selector parser used by match[]
 * parameters: an optional metric name and a brace list of label matchers,
 * with PromQL's string literals. (The full PromQL parser will take this
 * over; until then this is the one place selectors are parsed.) */
#include "web_int.h"

#include <stdlib.h>
#include <string.h>

#include "labels/labels.h"

#define MAX_MATCHERS 64

typedef struct sel_parser {
    const char *s;
    size_t pos, len;
    vg_err_t *err;
} sel_parser_t;

static int fail(sel_parser_t *p, const char *fmt, const char *what) {
    char msg[256];
    snprintf(msg, sizeof msg, fmt, what);
    return vg_err_set(p->err, VG_ERR_INPUT, "1:%zu: parse error: %s", p->pos + 1, msg);
}

static void skip_space(sel_parser_t *p) {
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static bool is_name_start(char c, bool colon) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static bool is_name_char(char c, bool colon) {
    return is_name_start(c, colon) || (c >= '0' && c <= '9');
}

static size_t scan_name(sel_parser_t *p, bool colon) {
    size_t start = p->pos;
    if (p->pos < p->len && is_name_start(p->s[p->pos], colon)) {
        p->pos++;
        while (p->pos < p->len && is_name_char(p->s[p->pos], colon))
            p->pos++;
    }
    return p->pos - start;
}

static int hexdig(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void put_utf8(vg_buf_t *b, uint32_t cp) {
    char tmp[4];
    size_t n;
    if (cp < 0x80)
        tmp[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        tmp[0] = (char)(0xc0 | cp >> 6), tmp[1] = (char)(0x80 | (cp & 63)), n = 2;
    else if (cp < 0x10000)
        tmp[0] = (char)(0xe0 | cp >> 12), tmp[1] = (char)(0x80 | ((cp >> 6) & 63)),
        tmp[2] = (char)(0x80 | (cp & 63)), n = 3;
    else
        tmp[0] = (char)(0xf0 | cp >> 18), tmp[1] = (char)(0x80 | ((cp >> 12) & 63)),
        tmp[2] = (char)(0x80 | ((cp >> 6) & 63)), tmp[3] = (char)(0x80 | (cp & 63)), n = 4;
    vg_buf_append(b, tmp, n);
}

/* A PromQL string literal: "..." or '...' with Go escapes, or `raw`. */
static int scan_string(sel_parser_t *p, vg_buf_t *out) {
    if (p->pos >= p->len) return fail(p, "unexpected end of input, expected %s", "string");
    char q = p->s[p->pos];
    if (q != '"' && q != '\'' && q != '`')
        return fail(p, "unexpected character %s, expected string", "");
    p->pos++;
    vg_buf_reset(out);
    vg_buf_reserve(out, 16);
    while (p->pos < p->len) {
        char c = p->s[p->pos++];
        if (c == q) return VG_OK;
        if (c == '\n' && q != '`') break;
        if (c != '\\' || q == '`') {
            vg_buf_putc(out, c);
            continue;
        }
        if (p->pos >= p->len) break;
        char e = p->s[p->pos++];
        const char *simple = strchr("abfnrtv\\'\"", e);
        if (simple) {
            static const char map[] = "\a\b\f\n\r\t\v\\'\"";
            if ((e == '\'' && q != '\'') || (e == '"' && q != '"'))
                return fail(p, "unknown escape sequence %s", "");
            vg_buf_putc(out, map[simple - "abfnrtv\\'\""]);
            continue;
        }
        int digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : (e >= '0' && e <= '7') ? 3 : 0;
        if (!digits) return fail(p, "unknown escape sequence %s", "");
        uint32_t v = 0;
        if (e >= '0' && e <= '7') p->pos--;
        for (int i = 0; i < digits; i++) {
            if (p->pos >= p->len) return fail(p, "unterminated escape sequence%s", "");
            int d = hexdig(p->s[p->pos]);
            if (d < 0 || (e >= '0' && e <= '7' && d > 7))
                return fail(p, "illegal character in escape sequence%s", "");
            v = v * (e >= '0' && e <= '7' ? 8 : 16) + (uint32_t)d;
            p->pos++;
        }
        if (e == 'x' || (e >= '0' && e <= '7')) {
            if (v > 255) return fail(p, "octal escape value > 255%s", "");
            vg_buf_putc(out, (char)v);
        } else {
            if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000))
                return fail(p, "escape sequence is an invalid Unicode code point%s", "");
            put_utf8(out, v);
        }
    }
    return fail(p, "unterminated quoted string%s", "");
}

static void free_matchers(labels_matcher_t **ms, size_t n) {
    for (size_t i = 0; i < n; i++)
        labels_matcher_free(ms[i]);
    free(ms);
}

int web_parse_selector(const char *s, struct labels_matcher ***out, size_t *out_n, vg_err_t *err) {
    sel_parser_t p = {s, 0, strlen(s), err};
    labels_matcher_t **ms = vg_calloc(MAX_MATCHERS, sizeof *ms);
    size_t n = 0;
    vg_buf_t name = VG_BUF_INIT, value = VG_BUF_INIT;
    int rc = VG_OK;
    skip_space(&p);
    size_t start = p.pos;
    size_t mlen = scan_name(&p, true);
    if (mlen) {
        rc = labels_matcher_new(LABELS_MATCH_EQUAL, LABELS_METRIC_NAME, LABELS_METRIC_NAME_LEN,
                                s + start, mlen, &ms[n], err);
        if (rc == VG_OK) n++;
    }
    skip_space(&p);
    if (rc == VG_OK && p.pos < p.len && s[p.pos] == '{') {
        p.pos++;
        for (;;) {
            skip_space(&p);
            if (p.pos < p.len && s[p.pos] == '}') {
                p.pos++;
                break;
            }
            vg_buf_reset(&name);
            size_t ls = p.pos;
            size_t llen = scan_name(&p, false);
            if (llen) {
                vg_buf_append(&name, s + ls, llen);
            } else if (p.pos < p.len && (s[p.pos] == '"' || s[p.pos] == '\'')) {
                if ((rc = scan_string(&p, &name)) != VG_OK) break;
            } else {
                rc = p.pos >= p.len
                         ? fail(&p, "unexpected end of input inside braces%s", "")
                         : fail(&p, "unexpected character inside braces: '%.1s'", s + p.pos);
                break;
            }
            skip_space(&p);
            labels_match_type_t type;
            size_t vstart = p.pos;
            (void)vstart;
            if (p.pos < p.len && (s[p.pos] == ',' || s[p.pos] == '}') && !llen) {
                /* {"metric.name"}: a quoted metric name (Prometheus 3.x) */
                vg_buf_reset(&value);
                vg_buf_append(&value, name.data, name.len);
                vg_buf_reset(&name);
                vg_buf_puts(&name, LABELS_METRIC_NAME);
                type = LABELS_MATCH_EQUAL;
            } else {
                if (p.pos + 1 < p.len && s[p.pos] == '=' && s[p.pos + 1] == '~')
                    type = LABELS_MATCH_REGEXP, p.pos += 2;
                else if (p.pos + 1 < p.len && s[p.pos] == '!' && s[p.pos + 1] == '=')
                    type = LABELS_MATCH_NOT_EQUAL, p.pos += 2;
                else if (p.pos + 1 < p.len && s[p.pos] == '!' && s[p.pos + 1] == '~')
                    type = LABELS_MATCH_NOT_REGEXP, p.pos += 2;
                else if (p.pos < p.len && s[p.pos] == '=')
                    type = LABELS_MATCH_EQUAL, p.pos += 1;
                else {
                    rc = fail(&p,
                              "unexpected %s in label matching, expected label matching operator",
                              p.pos < p.len ? "character" : "end of input");
                    break;
                }
                skip_space(&p);
                if ((rc = scan_string(&p, &value)) != VG_OK) break;
            }
            if (n == MAX_MATCHERS) {
                rc = vg_err_set(err, VG_ERR_LIMIT, "too many label matchers (limit %d)",
                                MAX_MATCHERS);
                break;
            }
            rc = labels_matcher_new(type, name.data, name.len, value.data ? value.data : "",
                                    value.len, &ms[n], err);
            if (rc != VG_OK) break;
            n++;
            skip_space(&p);
            if (p.pos < p.len && s[p.pos] == ',') {
                p.pos++;
                continue;
            }
            if (p.pos < p.len && s[p.pos] == '}') {
                p.pos++;
                break;
            }
            rc = fail(&p, "unexpected %s in label matching, expected \",\" or \"}\"",
                      p.pos < p.len ? "character" : "end of input");
            break;
        }
    }
    if (rc == VG_OK) {
        skip_space(&p);
        if (p.pos < p.len) rc = fail(&p, "unexpected character after selector: '%.1s'", s + p.pos);
    }
    if (rc == VG_OK && n == 0)
        rc = vg_err_set(err, VG_ERR_INPUT, "1:1: parse error: unexpected end of input");
    if (rc == VG_OK) {
        bool non_empty = false;
        for (size_t i = 0; i < n; i++)
            non_empty |= !labels_matcher_matches_empty(ms[i]);
        if (!non_empty)
            rc = vg_err_set(err, VG_ERR_INPUT,
                            "1:1: parse error: vector selector must contain at least one "
                            "non-empty matcher");
    }
    vg_buf_free(&name);
    vg_buf_free(&value);
    if (rc != VG_OK) {
        free_matchers(ms, n);
        return rc;
    }
    *out = ms;
    *out_n = n;
    return VG_OK;
}
