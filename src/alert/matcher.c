/* This file implements Alertmanager's label matchers: the two parsers of
 * `matchers:` lines and API filters (the classic regex-based one of
 * pkg/labels, and the UTF-8 one of matcher/parse that Alertmanager falls
 * back to when the classic one rejects an input), matching, sorting and the
 * String() form that route keys are made of. */
#include <stdlib.h>
#include <string.h>

#include "alert/alert_int.h"

struct alert_matcher_set_priv {
    vg_arena_t *arena;
    labels_regex_t **regs;
    size_t n_regs, cap_regs;
};

typedef struct mparse {
    vg_arena_t *arena;
    void (*keep)(void *ctx, labels_regex_t *re);
    void *keep_ctx;
    alert_matcher_t *items;
    size_t n, cap;
    labels_regex_t **pending; /* regexes of this parse, handed over on success */
    size_t n_pending, cap_pending;
    vg_err_t *err;
} mparse_t;

/* ------------------------------------------------------------ helpers */

bool alert_label_name_legacy(const char *s) {
    if (!*s) return false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

bool alert_label_name_utf8(const char *s) { return *s && labels_utf8_valid(s, strlen(s)); }

int alert_regex_compile(const char *re, labels_regex_t **out, vg_err_t *err) {
    return labels_regex_new(re, strlen(re), out, err);
}

static void pending_push(mparse_t *p, labels_regex_t *re) {
    if (p->n_pending == p->cap_pending) {
        p->cap_pending = p->cap_pending ? 2 * p->cap_pending : 8;
        p->pending = vg_realloc(p->pending, p->cap_pending * sizeof *p->pending);
    }
    p->pending[p->n_pending++] = re;
}

static int add_matcher(mparse_t *p, alert_match_type_t type, const char *name, size_t name_len,
                       const char *value, size_t value_len) {
    alert_matcher_t m = {.type = type};
    m.name = vg_arena_strndup(p->arena, name, name_len);
    m.value = vg_arena_strndup(p->arena, value, value_len);
    if (type == ALERT_MATCH_REGEXP || type == ALERT_MATCH_NOT_REGEXP) {
        labels_regex_t *re = NULL;
        int rc = labels_regex_new(value, value_len, &re, p->err);
        if (rc) return rc;
        pending_push(p, re);
        m.re = re;
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 4;
        alert_matcher_t *grown = vg_arena_alloc(p->arena, p->cap * sizeof *grown);
        if (p->n) memcpy(grown, p->items, p->n * sizeof *grown);
        p->items = grown;
    }
    p->items[p->n++] = m;
    return VG_OK;
}

static void drop_pending(mparse_t *p) {
    for (size_t i = 0; i < p->n_pending; i++)
        labels_regex_free(p->pending[i]);
    p->n_pending = 0;
    p->n = 0;
}

/* Go's \s in RE2: [\t\n\f\r ]. */
static bool re2_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* ----------------------------------------------------- classic parser */

/* labels.ParseMatcher: ^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$ */
static int classic_one(mparse_t *p, const char *s, size_t len) {
    size_t i = 0;
    while (i < len && re2_space(s[i]))
        i++;
    size_t ns = i;
    if (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
                    s[i] == ':')) {
        i++;
        while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                           (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == ':'))
            i++;
    }
    size_t ne = i;
    while (i < len && re2_space(s[i]))
        i++;
    alert_match_type_t type;
    if (ne == ns) goto bad;
    if (i + 1 < len && s[i] == '=' && s[i + 1] == '~')
        type = ALERT_MATCH_REGEXP, i += 2;
    else if (i < len && s[i] == '=')
        type = ALERT_MATCH_EQUAL, i += 1;
    else if (i + 1 < len && s[i] == '!' && s[i + 1] == '=')
        type = ALERT_MATCH_NOT_EQUAL, i += 2;
    else if (i + 1 < len && s[i] == '!' && s[i + 1] == '~')
        type = ALERT_MATCH_NOT_REGEXP, i += 2;
    else
        goto bad;
    while (i < len && re2_space(s[i]))
        i++;
    size_t end = len;
    while (end > i && re2_space(s[end - 1]))
        end--;
    const char *raw = s + i;
    size_t raw_len = end - i;
    const char *shown = raw; /* ms[3] in messages */
    size_t shown_len = raw_len;
    bool expect_quote = false;
    if (raw_len && raw[0] == '"') raw++, raw_len--, expect_quote = true;
    if (!labels_utf8_valid(raw, raw_len))
        return vg_err_set(p->err, VG_ERR_INPUT, "matcher value not valid UTF-8: %.*s",
                          (int)shown_len, shown);
    vg_buf_t v = VG_BUF_INIT;
    bool escaped = false;
    for (size_t k = 0; k < raw_len; k++) {
        char c = raw[k];
        if (escaped) {
            escaped = false;
            if (c == 'n')
                vg_buf_putc(&v, '\n');
            else if (c == '"' || c == '\\')
                vg_buf_putc(&v, c);
            else
                vg_buf_putc(&v, '\\'), vg_buf_putc(&v, c);
            continue;
        }
        if (c == '\\') {
            if (k < raw_len - 1) {
                escaped = true;
                continue;
            }
            vg_buf_putc(&v, '\\');
        } else if (c == '"') {
            if (!expect_quote || k < raw_len - 1) {
                vg_buf_free(&v);
                return vg_err_set(p->err, VG_ERR_INPUT,
                                  "matcher value contains unescaped double quote: %.*s",
                                  (int)shown_len, shown);
            }
            expect_quote = false;
        } else {
            vg_buf_putc(&v, c);
        }
    }
    if (expect_quote) {
        vg_buf_free(&v);
        return vg_err_set(p->err, VG_ERR_INPUT,
                          "matcher value contains unescaped double quote: %.*s", (int)shown_len,
                          shown);
    }
    int rc = add_matcher(p, type, s + ns, ne - ns, v.data ? v.data : "", v.len);
    vg_buf_free(&v);
    return rc;
bad:
    return vg_err_set(p->err, VG_ERR_INPUT, "bad matcher format: %.*s", (int)len, s);
}

/* labels.ParseMatchers: one pair of braces off, split on commas outside
 * quotes, the last token trimmed and dropped when blank. */
static int classic_parse(mparse_t *p, const char *s, size_t len) {
    if (len && s[0] == '{') s++, len--;
    if (len && s[len - 1] == '}') len--;
    bool in_quotes = false, escaped = false;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == ',' && !in_quotes) {
            int rc = classic_one(p, s + start, i - start);
            if (rc) return rc;
            start = i + 1;
            continue;
        }
        if (c == '"') {
            if (!escaped)
                in_quotes = !in_quotes;
            else
                escaped = false;
        } else if (c == '\\') {
            escaped = !escaped;
        } else {
            escaped = false;
        }
    }
    /* strings.TrimSpace: Unicode spaces; ASCII ones and \v cover configs. */
    size_t a = start, b = len;
    while (a < b && (re2_space(s[a]) || s[a] == '\v'))
        a++;
    while (b > a && (re2_space(s[b - 1]) || s[b - 1] == '\v'))
        b--;
    if (b > a) return classic_one(p, s + a, b - a);
    return VG_OK;
}

/* ------------------------------------------------------ UTF-8 parser */

typedef enum tok_kind {
    TOK_EOF = 0,
    TOK_OPEN,
    TOK_CLOSE,
    TOK_COMMA,
    TOK_EQ,
    TOK_NEQ,
    TOK_RE,
    TOK_NRE,
    TOK_QUOTED,
    TOK_UNQUOTED,
    TOK_ERROR,
} tok_kind_t;

typedef struct tok {
    tok_kind_t kind;
    const char *s;
    size_t len;
} tok_t;

static bool reserved(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
           strchr("{}!=~,\\\"'`", c) != NULL;
}

static tok_t lex(const char *s, size_t len, size_t *pos) {
    size_t i = *pos;
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
                       s[i] == '\f' || s[i] == '\v'))
        i++;
    tok_t t = {TOK_EOF, s + i, 0};
    if (i >= len) return *pos = i, t;
    char c = s[i];
    if (c == '{' || c == '}' || c == ',') {
        t.kind = c == '{' ? TOK_OPEN : c == '}' ? TOK_CLOSE : TOK_COMMA;
        t.len = 1;
    } else if (c == '=' || c == '!') {
        bool tilde = i + 1 < len && s[i + 1] == '~';
        bool eq = i + 1 < len && s[i + 1] == '=';
        if (c == '=')
            t.kind = tilde ? TOK_RE : TOK_EQ, t.len = tilde ? 2 : 1;
        else if (eq || tilde)
            t.kind = eq ? TOK_NEQ : TOK_NRE, t.len = 2;
        else
            t.kind = TOK_ERROR;
    } else if (c == '"') {
        size_t k = i + 1;
        bool esc = false;
        for (; k < len; k++) {
            if (esc)
                esc = false;
            else if (s[k] == '\\')
                esc = true;
            else if (s[k] == '"')
                break;
        }
        if (k >= len)
            t.kind = TOK_ERROR;
        else
            t.kind = TOK_QUOTED, t.len = k + 1 - i;
    } else if (!reserved((unsigned char)c)) {
        size_t k = i;
        while (k < len && !reserved((unsigned char)s[k]))
            k++;
        t.kind = TOK_UNQUOTED, t.len = k - i;
    } else {
        t.kind = TOK_ERROR;
    }
    *pos = i + t.len;
    return t;
}

static int hexval(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static void put_utf8(vg_buf_t *b, uint32_t cp) {
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    if (cp < 0x80) {
        vg_buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        vg_buf_putc(b, (char)(0xC0 | (cp >> 6)));
        vg_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        vg_buf_putc(b, (char)(0xE0 | (cp >> 12)));
        vg_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        vg_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        vg_buf_putc(b, (char)(0xF0 | (cp >> 18)));
        vg_buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
        vg_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        vg_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    }
}

/* strconv.Unquote of a "..." token; false when Go would refuse it. */
static bool go_unquote(const char *s, size_t len, vg_buf_t *out) {
    if (len < 2 || s[0] != '"' || s[len - 1] != '"') return false;
    for (size_t i = 1; i + 1 < len; i++) {
        char c = s[i];
        if (c == '\n') return false;
        if (c != '\\') {
            vg_buf_putc(out, c);
            continue;
        }
        if (++i + 1 > len - 1) return false;
        c = s[i];
        const char *simple = strchr("abfnrtv\\\"", c);
        if (c && simple) {
            static const char map[] = "\a\b\f\n\r\t\v\\\"";
            vg_buf_putc(out, map[simple - "abfnrtv\\\""]);
            continue;
        }
        int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
        if (digits) {
            if (i + (size_t)digits >= len - 0) return false;
            uint32_t v = 0;
            for (int k = 1; k <= digits; k++) {
                int h = hexval(s[i + (size_t)k]);
                if (h < 0) return false;
                v = v * 16 + (uint32_t)h;
            }
            i += (size_t)digits;
            if (c == 'x')
                vg_buf_putc(out, (char)v);
            else if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
                return false;
            else
                put_utf8(out, v);
            continue;
        }
        if (c >= '0' && c <= '7') {
            if (i + 2 >= len - 1) return false;
            int v = 0;
            for (int k = 0; k < 3; k++) {
                char o = s[i + (size_t)k];
                if (o < '0' || o > '7') return false;
                v = v * 8 + (o - '0');
            }
            if (v > 255) return false;
            i += 2;
            vg_buf_putc(out, (char)v);
            continue;
        }
        return false;
    }
    return labels_utf8_valid(out->data ? out->data : "", out->len);
}

static bool tok_text(const tok_t *t, vg_buf_t *out) {
    vg_buf_reset(out);
    if (t->kind == TOK_QUOTED) return go_unquote(t->s, t->len, out);
    vg_buf_append(out, t->s, t->len);
    return true;
}

/* matcher/parse: [ "{" ] [ matcher { "," matcher } [ "," ] ] [ "}" ]. The
 * messages are not kept: the caller reports the classic parser's. */
static int utf8_parse(mparse_t *p, const char *s, size_t len) {
    size_t pos = 0;
    tok_t t = lex(s, len, &pos);
    bool open = t.kind == TOK_OPEN;
    if (open) t = lex(s, len, &pos);
    vg_buf_t name = VG_BUF_INIT, value = VG_BUF_INIT;
    int rc = VG_ERR_INPUT;
    for (;;) {
        if (t.kind == TOK_EOF) {
            if (open) goto out;
            break;
        }
        if (t.kind == TOK_CLOSE) {
            if (!open) goto out;
            t = lex(s, len, &pos);
            if (t.kind != TOK_EOF) goto out;
            break;
        }
        if (t.kind != TOK_QUOTED && t.kind != TOK_UNQUOTED) goto out;
        if (!tok_text(&t, &name)) goto out;
        tok_t op = lex(s, len, &pos);
        alert_match_type_t type;
        switch (op.kind) {
        case TOK_EQ: type = ALERT_MATCH_EQUAL; break;
        case TOK_NEQ: type = ALERT_MATCH_NOT_EQUAL; break;
        case TOK_RE: type = ALERT_MATCH_REGEXP; break;
        case TOK_NRE: type = ALERT_MATCH_NOT_REGEXP; break;
        default: goto out;
        }
        tok_t val = lex(s, len, &pos);
        if (val.kind != TOK_QUOTED && val.kind != TOK_UNQUOTED) goto out;
        if (!tok_text(&val, &value)) goto out;
        if (add_matcher(p, type, name.data ? name.data : "", name.len, value.data ? value.data : "",
                        value.len))
            goto out;
        t = lex(s, len, &pos);
        if (t.kind == TOK_COMMA) {
            t = lex(s, len, &pos);
            if (t.kind == TOK_COMMA) goto out;
        } else if (t.kind != TOK_CLOSE && t.kind != TOK_EOF) {
            goto out;
        }
    }
    rc = VG_OK;
out:
    vg_buf_free(&name);
    vg_buf_free(&value);
    return rc;
}

/* ------------------------------------------------------------ public */

static int parse_fallback(mparse_t *p, const char *s, size_t len) {
    int rc = classic_parse(p, s, len);
    if (rc == VG_OK) return VG_OK;
    vg_err_t classic_err = {0};
    if (p->err) classic_err = *p->err;
    drop_pending(p);
    vg_err_t ignored = {0};
    vg_err_t *saved = p->err;
    p->err = &ignored;
    rc = utf8_parse(p, s, len);
    p->err = saved;
    if (rc == VG_OK) return VG_OK;
    drop_pending(p);
    if (p->err) *p->err = classic_err;
    return VG_ERR_INPUT;
}

int alert_matchers_parse_into(const char *s, size_t len, vg_arena_t *arena,
                              void (*keep)(void *ctx, labels_regex_t *re), void *keep_ctx,
                              alert_matcher_t **out, size_t *out_n, vg_err_t *err) {
    mparse_t p = {.arena = arena, .keep = keep, .keep_ctx = keep_ctx, .err = err};
    int rc = parse_fallback(&p, s, len);
    if (rc == VG_OK) {
        for (size_t i = 0; i < p.n_pending; i++)
            keep(keep_ctx, p.pending[i]);
        *out = p.items;
        *out_n = p.n;
    }
    free(p.pending);
    return rc;
}

static int matcher_cmp(const void *a, const void *b) {
    const alert_matcher_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    c = strcmp(x->value, y->value);
    if (c) return c;
    return (x->type > y->type) - (x->type < y->type);
}

void alert_matchers_sort(alert_matcher_t *ms, size_t n) {
    if (n > 1) qsort(ms, n, sizeof *ms, matcher_cmp);
}

static void keep_in_set(void *ctx, labels_regex_t *re) {
    struct alert_matcher_set_priv *p = ctx;
    if (p->n_regs == p->cap_regs) {
        p->cap_regs = p->cap_regs ? 2 * p->cap_regs : 4;
        p->regs = vg_realloc(p->regs, p->cap_regs * sizeof *p->regs);
    }
    p->regs[p->n_regs++] = re;
}

alert_matcher_set_t *alert_matcher_set_parse(const char *s, size_t len, vg_err_t *err) {
    struct alert_matcher_set_priv *priv = vg_calloc(1, sizeof *priv);
    priv->arena = vg_arena_new(0);
    alert_matcher_set_t *set = vg_arena_alloc(priv->arena, sizeof *set);
    memset(set, 0, sizeof *set);
    set->priv = priv;
    if (alert_matchers_parse_into(s, len, priv->arena, keep_in_set, priv, &set->matchers,
                                  &set->n_matchers, err) != VG_OK) {
        alert_matcher_set_free(set);
        return NULL;
    }
    return set;
}

void alert_matcher_set_free(alert_matcher_set_t *set) {
    if (!set) return;
    struct alert_matcher_set_priv *p = set->priv;
    for (size_t i = 0; i < p->n_regs; i++)
        labels_regex_free(p->regs[i]);
    free(p->regs);
    vg_arena_free(p->arena); /* set lives here */
    free(p);
}

bool alert_matcher_match_value(const alert_matcher_t *m, const char *v, size_t len) {
    switch (m->type) {
    case ALERT_MATCH_EQUAL: return strlen(m->value) == len && !memcmp(m->value, v, len);
    case ALERT_MATCH_NOT_EQUAL: return !(strlen(m->value) == len && !memcmp(m->value, v, len));
    case ALERT_MATCH_REGEXP: return labels_regex_match(m->re, v, len);
    case ALERT_MATCH_NOT_REGEXP: return !labels_regex_match(m->re, v, len);
    }
    return false;
}

bool alert_matchers_match(const alert_matcher_t *ms, size_t n, const labels_t *ls) {
    for (size_t i = 0; i < n; i++) {
        size_t vl = 0;
        const char *v = ls ? labels_get(ls, ms[i].name, strlen(ms[i].name), &vl) : NULL;
        if (!alert_matcher_match_value(&ms[i], v ? v : "", v ? vl : 0)) return false;
    }
    return true;
}

static const char *const type_str[] = {"=", "!=", "=~", "!~"};

void alert_matchers_format(const alert_matcher_t *ms, size_t n, vg_buf_t *out) {
    vg_buf_putc(out, '{');
    for (size_t i = 0; i < n; i++) {
        const alert_matcher_t *m = &ms[i];
        if (i) vg_buf_putc(out, ',');
        bool quote_name = false;
        for (const unsigned char *c = (const unsigned char *)m->name; *c; c++)
            if (reserved(*c)) quote_name = true;
        if (quote_name) {
            labels_quote(out, m->name, strlen(m->name));
            vg_buf_puts(out, type_str[m->type]);
            labels_quote(out, m->value, strlen(m->value));
            continue;
        }
        vg_buf_puts(out, m->name);
        vg_buf_puts(out, type_str[m->type]);
        vg_buf_putc(out, '"');
        for (const char *c = m->value; *c; c++) {
            if (*c == '\\')
                vg_buf_puts(out, "\\\\");
            else if (*c == '\n')
                vg_buf_puts(out, "\\n");
            else if (*c == '"')
                vg_buf_puts(out, "\\\"");
            else
                vg_buf_putc(out, *c);
        }
        vg_buf_putc(out, '"');
    }
    vg_buf_putc(out, '}');
}
