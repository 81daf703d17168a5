/* This file implements the lexer and parser of Go's template syntax. The
 * lexer turns a whole file into tokens first (Go's lexer runs concurrently
 * with the parser, but the stream of tokens and the first error are the
 * same); the parser then builds trees with Go's grammar, its checks
 * (undefined functions and variables, {{break}} outside range, empty
 * pipelines) and its error messages, which users see in `promtool check
 * rules` and Alertmanager's config reload, so they are kept word for word. */
#include "template/template_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ lexer */

typedef struct lexer {
    const char *s;
    size_t len;
    size_t pos, start;
    uint32_t line, start_line;
    bool trim_next; /* a "-}}" asks to trim leading space of the next text */
    int paren_depth;
    vg_arena_t *arena;
    tpl_token_t *toks;
    size_t n, cap;
    bool done;
} lexer_t;

static void lex_emit_tok(lexer_t *l, tpl_tok_t typ, size_t start, size_t end, uint32_t line) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->toks = vg_realloc(l->toks, l->cap * sizeof *l->toks);
    }
    tpl_token_t *t = &l->toks[l->n++];
    t->typ = typ;
    t->pos = (uint32_t)start;
    t->line = line;
    t->val = l->s + start;
    t->len = end - start;
}

static void lex_emit(lexer_t *l, tpl_tok_t typ) {
    lex_emit_tok(l, typ, l->start, l->pos, l->start_line);
    for (size_t i = l->start; i < l->pos; i++)
        if (l->s[i] == '\n') l->line++;
    l->start = l->pos;
    l->start_line = l->line;
}

static void lex_error(lexer_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lex_error(lexer_t *l, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(msg);
    char *m = vg_arena_strndup(l->arena, msg, n);
    lex_emit_tok(l, TK_ERROR, l->start, l->start, l->start_line);
    l->toks[l->n - 1].val = m ? m : "error";
    l->toks[l->n - 1].len = m ? n : 5;
    l->done = true;
}

static bool is_space_c(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static bool is_alnum_c(int c) { return c == '_' || isalnum(c) || c >= 0x80; }

/* "{{- " and " -}}": the dash must be next to the delimiter and have white
 * space on its other side. */
static bool lex_left_trim(const lexer_t *l, size_t at) {
    return at + 3 < l->len + 1 && at + 2 < l->len && l->s[at + 2] == '-' && at + 3 < l->len &&
           is_space_c((unsigned char)l->s[at + 3]);
}

static bool lex_at_right(const lexer_t *l, size_t at, bool *trim) {
    if (at + 3 <= l->len && is_space_c((unsigned char)l->s[at]) && l->s[at + 1] == '-' &&
        l->s[at + 2] == '}' && at + 3 < l->len && l->s[at + 3] == '}') {
        *trim = true;
        return true;
    }
    if (at + 2 <= l->len && l->s[at] == '}' && l->s[at + 1] == '}') {
        *trim = false;
        return true;
    }
    return false;
}

static void lex_utf8_desc(const char *s, size_t len, char *out, size_t out_len) {
    /* %#U: U+0021 '!' */
    unsigned char c = (unsigned char)s[0];
    uint32_t r = c;
    size_t n = 1;
    if (c >= 0xf0 && len >= 4) {
        r = ((c & 7u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) | (s[3] & 0x3fu);
        n = 4;
    } else if (c >= 0xe0 && len >= 3) {
        r = ((c & 0xfu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
        n = 3;
    } else if (c >= 0xc0 && len >= 2) {
        r = ((c & 0x1fu) << 6) | (s[1] & 0x3fu);
        n = 2;
    } else if (c >= 0x80) {
        snprintf(out, out_len, "U+FFFD '\xef\xbf\xbd'");
        return;
    }
    if (r < 0x20 || r == 0x7f)
        snprintf(out, out_len, "U+%04X", r);
    else
        snprintf(out, out_len, "U+%04X '%.*s'", r, (int)n, s);
}

/* Go's atTerminator: what may follow a word inside an action. */
static bool lex_at_terminator(const lexer_t *l) {
    if (l->pos >= l->len) return true;
    unsigned char n = (unsigned char)l->s[l->pos];
    bool rt;
    return is_space_c(n) || n == '.' || n == ',' || n == '|' || n == ':' || n == ')' || n == '(' ||
           lex_at_right(l, l->pos, &rt);
}

/* Scans a number the way Go's lexer does: sign, base prefix, digits with
 * underscores, fraction, exponent, imaginary suffix. */
static bool lex_scan_number(lexer_t *l) {
    const char *s = l->s;
    size_t p = l->pos;
    if (p < l->len && (s[p] == '+' || s[p] == '-')) p++;
    const char *digits = "0123456789_";
    int base = 10;
    if (p + 1 < l->len && s[p] == '0' && strchr("xXoObB", s[p + 1])) {
        char b = (char)tolower((unsigned char)s[p + 1]);
        p += 2;
        if (b == 'x') {
            digits = "0123456789abcdefABCDEF_";
            base = 16;
        } else if (b == 'o') {
            digits = "01234567_";
            base = 8;
        } else {
            digits = "01_";
            base = 2;
        }
    }
    while (p < l->len && strchr(digits, s[p]) && s[p])
        p++;
    if (p < l->len && s[p] == '.') {
        p++;
        while (p < l->len && strchr(digits, s[p]) && s[p])
            p++;
    }
    if (base == 10 && p < l->len && (s[p] == 'e' || s[p] == 'E')) {
        p++;
        if (p < l->len && (s[p] == '+' || s[p] == '-')) p++;
        while (p < l->len && strchr("0123456789_", s[p]) && s[p])
            p++;
    }
    if (base == 16 && p < l->len && (s[p] == 'p' || s[p] == 'P')) {
        p++;
        if (p < l->len && (s[p] == '+' || s[p] == '-')) p++;
        while (p < l->len && strchr("0123456789_", s[p]) && s[p])
            p++;
    }
    if (p < l->len && s[p] == 'i') p++;
    l->pos = p;
    /* Next thing mustn't be alphanumeric. */
    if (p < l->len && is_alnum_c((unsigned char)s[p])) {
        l->pos++;
        return false;
    }
    return true;
}

/* Runs the whole lexer. */
static void lex_run(lexer_t *l) {
    for (;;) {
        /* text */
        size_t i = l->pos;
        const char *hit = NULL;
        while (i + 1 < l->len) {
            hit = memchr(l->s + i, '{', l->len - i - 1);
            if (!hit) break;
            if (hit[1] == '{') break;
            i = (size_t)(hit - l->s) + 1;
            hit = NULL;
        }
        size_t at = hit ? (size_t)(hit - l->s) : l->len;
        size_t text_start = l->pos, text_end = at;
        if (l->trim_next) {
            while (text_start < text_end && is_space_c((unsigned char)l->s[text_start]))
                text_start++;
            l->trim_next = false;
        }
        bool ltrim = hit && lex_left_trim(l, at);
        if (ltrim)
            while (text_end > text_start && is_space_c((unsigned char)l->s[text_end - 1]))
                text_end--;
        if (text_end > text_start) {
            uint32_t line = l->line;
            for (size_t k = l->pos; k < text_start; k++)
                if (l->s[k] == '\n') line++;
            lex_emit_tok(l, TK_TEXT, text_start, text_end, line);
        }
        for (size_t k = l->pos; k < at; k++)
            if (l->s[k] == '\n') l->line++;
        l->pos = l->start = at;
        l->start_line = l->line;
        if (!hit) {
            lex_emit(l, TK_EOF);
            return;
        }
        /* left delimiter */
        size_t after = at + 2 + (ltrim ? 2 : 0);
        if (after + 1 < l->len + 1 && after + 2 <= l->len && l->s[after] == '/' &&
            l->s[after + 1] == '*') {
            /* comment: must end with "*" "/" and then the right delimiter */
            l->pos = after;
            l->start = after;
            const char *end = NULL;
            for (size_t k = after + 2; k + 1 < l->len; k++)
                if (l->s[k] == '*' && l->s[k + 1] == '/') {
                    end = l->s + k;
                    break;
                }
            if (!end) {
                lex_error(l, "unclosed comment");
                return;
            }
            size_t cend = (size_t)(end - l->s) + 2;
            bool rtrim;
            if (!lex_at_right(l, cend, &rtrim)) {
                lex_error(l, "comment ends before closing delimiter");
                return;
            }
            lex_emit_tok(l, TK_COMMENT, after, cend, l->line);
            for (size_t k = at; k < cend; k++)
                if (l->s[k] == '\n') l->line++;
            l->pos = cend + (rtrim ? 4 : 2);
            l->start = l->pos;
            l->start_line = l->line;
            l->trim_next = rtrim;
            continue;
        }
        l->pos = at + 2;
        lex_emit(l, TK_LEFT);
        if (ltrim) {
            l->pos += 2;
            l->start = l->pos;
        }
        l->paren_depth = 0;
        /* inside action */
        for (;;) {
            bool rtrim;
            if (lex_at_right(l, l->pos, &rtrim)) {
                if (rtrim) {
                    /* the space before "-}}" is a space token */
                    l->pos++;
                    lex_emit(l, TK_SPACE);
                    l->pos++;
                    l->start = l->pos;
                }
                if (l->paren_depth > 0) {
                    lex_error(l, "unclosed left paren");
                    return;
                }
                l->pos += 2;
                lex_emit(l, TK_RIGHT);
                l->trim_next = rtrim;
                break;
            }
            if (l->pos >= l->len) {
                lex_error(l, "unclosed action");
                return;
            }
            unsigned char c = (unsigned char)l->s[l->pos];
            if (is_space_c(c)) {
                while (l->pos < l->len && is_space_c((unsigned char)l->s[l->pos])) {
                    bool rt;
                    /* stop before " -}}" so the trim marker is seen */
                    if (l->s[l->pos] != '}' && lex_at_right(l, l->pos, &rt) && rt) break;
                    l->pos++;
                }
                if (l->pos > l->start) lex_emit(l, TK_SPACE);
                continue;
            }
            if (c == '=') {
                l->pos++;
                lex_emit(l, TK_ASSIGN);
            } else if (c == ':') {
                if (l->pos + 1 >= l->len || l->s[l->pos + 1] != '=') {
                    lex_error(l, "expected :=");
                    return;
                }
                l->pos += 2;
                lex_emit(l, TK_DECLARE);
            } else if (c == '|') {
                l->pos++;
                lex_emit(l, TK_PIPE);
            } else if (c == '"') {
                size_t p = l->pos + 1;
                for (;;) {
                    if (p >= l->len || l->s[p] == '\n') {
                        lex_error(l, "unterminated quoted string");
                        return;
                    }
                    if (l->s[p] == '\\') {
                        p++;
                        if (p >= l->len || l->s[p] == '\n') {
                            lex_error(l, "unterminated quoted string");
                            return;
                        }
                    } else if (l->s[p] == '"') {
                        break;
                    }
                    p++;
                }
                l->pos = p + 1;
                lex_emit(l, TK_STRING);
            } else if (c == '`') {
                const char *e = memchr(l->s + l->pos + 1, '`', l->len - l->pos - 1);
                if (!e) {
                    lex_error(l, "unterminated raw quoted string");
                    return;
                }
                l->pos = (size_t)(e - l->s) + 1;
                lex_emit(l, TK_RAWSTRING);
            } else if (c == '$') {
                l->pos++;
                while (l->pos < l->len && is_alnum_c((unsigned char)l->s[l->pos]))
                    l->pos++;
                if (!lex_at_terminator(l)) {
                    char d[32];
                    lex_utf8_desc(l->s + l->pos, l->len - l->pos, d, sizeof d);
                    lex_error(l, "bad character %s", d);
                    return;
                }
                lex_emit(l, TK_VARIABLE);
            } else if (c == '\'') {
                size_t p = l->pos + 1;
                for (;;) {
                    if (p >= l->len || l->s[p] == '\n') {
                        lex_error(l, "unterminated character constant");
                        return;
                    }
                    if (l->s[p] == '\\') {
                        p++;
                        if (p >= l->len || l->s[p] == '\n') {
                            lex_error(l, "unterminated character constant");
                            return;
                        }
                    } else if (l->s[p] == '\'') {
                        break;
                    }
                    p++;
                }
                l->pos = p + 1;
                lex_emit(l, TK_CHARCONST);
            } else if (c == '.') {
                if (l->pos + 1 < l->len && isdigit((unsigned char)l->s[l->pos + 1])) {
                    if (!lex_scan_number(l)) {
                        lex_error(l, "bad number syntax: \"%.*s\"", (int)(l->pos - l->start),
                                  l->s + l->start);
                        return;
                    }
                    lex_emit(l, TK_NUMBER);
                    continue;
                }
                l->pos++;
                if (lex_at_terminator(l)) {
                    lex_emit(l, TK_DOT);
                    continue;
                }
                while (l->pos < l->len && is_alnum_c((unsigned char)l->s[l->pos]))
                    l->pos++;
                if (!lex_at_terminator(l)) {
                    char d[32];
                    lex_utf8_desc(l->s + l->pos, l->len - l->pos, d, sizeof d);
                    lex_error(l, "bad character %s", d);
                    return;
                }
                lex_emit(l, TK_FIELD);
            } else if (c == '+' || c == '-' || isdigit(c)) {
                if (!lex_scan_number(l)) {
                    lex_error(l, "bad number syntax: \"%.*s\"", (int)(l->pos - l->start),
                              l->s + l->start);
                    return;
                }
                lex_emit(l, TK_NUMBER);
            } else if (is_alnum_c(c)) {
                while (l->pos < l->len && is_alnum_c((unsigned char)l->s[l->pos]))
                    l->pos++;
                const char *w = l->s + l->start;
                size_t wl = l->pos - l->start;
                static const struct {
                    const char *w;
                    tpl_tok_t t;
                } kw[] = {{"block", TK_BLOCK},
                          {"break", TK_BREAK},
                          {"continue", TK_CONTINUE},
                          {"define", TK_DEFINE},
                          {"else", TK_ELSE},
                          {"end", TK_END},
                          {"if", TK_IF},
                          {"range", TK_RANGE},
                          {"nil", TK_NIL},
                          {"template", TK_TEMPLATE},
                          {"with", TK_WITH}};
                tpl_tok_t t = TK_IDENT;
                for (size_t k = 0; k < sizeof kw / sizeof kw[0]; k++)
                    if (strlen(kw[k].w) == wl && memcmp(kw[k].w, w, wl) == 0) t = kw[k].t;
                if ((wl == 4 && memcmp(w, "true", 4) == 0) ||
                    (wl == 5 && memcmp(w, "false", 5) == 0))
                    t = TK_BOOL;
                /* Go: the identifier must end at a terminator */
                if (!lex_at_terminator(l)) {
                    char d[32];
                    lex_utf8_desc(l->s + l->pos, l->len - l->pos, d, sizeof d);
                    lex_error(l, "bad character %s", d);
                    return;
                }
                lex_emit(l, t);
            } else if (c == '(') {
                l->pos++;
                l->paren_depth++;
                lex_emit(l, TK_LPAREN);
            } else if (c == ')') {
                l->pos++;
                l->paren_depth--;
                if (l->paren_depth < 0) {
                    lex_error(l, "unexpected right paren");
                    return;
                }
                lex_emit(l, TK_RPAREN);
            } else if (c < 0x80 && isprint(c)) {
                l->pos++;
                lex_emit(l, TK_CHAR);
            } else {
                char d[32];
                lex_utf8_desc(l->s + l->pos, l->len - l->pos, d, sizeof d);
                lex_error(l, "unrecognized character in action: %s", d);
                return;
            }
        }
    }
}

/* ----------------------------------------------------------------- parser */

typedef struct parser {
    template_t *t;
    tpl_token_t *toks;
    size_t n_toks, i;
    const char *text;
    size_t text_len;
    const char *parse_name;
    tpl_tree_t *tree; /* the tree being built */
    /* variables in scope */
    const char **vars;
    size_t *vars_len;
    size_t n_vars, cap_vars;
    int range_depth;
    int depth;
    /* the trees made from this file */
    tpl_tree_t **trees;
    size_t n_trees, cap_trees;
    vg_err_t *err;
    jmp_buf jmp;
    uint32_t last_line; /* the line of the most recent token */
} parser_t;

static _Noreturn void p_fail(parser_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static _Noreturn void p_fail(parser_t *p, const char *fmt, ...) {
    char msg[VG_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vg_err_set(p->err, VG_ERR_INPUT, "template: %s:%u: %s", p->parse_name, p->last_line, msg);
    longjmp(p->jmp, 1);
}

static void *p_alloc(parser_t *p, size_t n) {
    void *m = vg_arena_alloc(p->t->arena, n);
    if (!m) p_fail(p, "out of memory");
    memset(m, 0, n);
    return m;
}

static const char *p_strndup(parser_t *p, const char *s, size_t n) {
    char *m = vg_arena_strndup(p->t->arena, s, n);
    if (!m) p_fail(p, "out of memory");
    return m;
}

static tpl_token_t *p_next(parser_t *p) {
    tpl_token_t *t = &p->toks[p->i];
    if (p->i + 1 < p->n_toks) p->i++;
    p->last_line = t->line;
    if (t->typ == TK_ERROR) p_fail(p, "%.*s", (int)t->len, t->val);
    return t;
}
static void p_backup(parser_t *p) {
    if (p->i > 0) p->i--;
}
static tpl_token_t *p_peek(parser_t *p) {
    p->last_line = p->toks[p->i].line;
    return &p->toks[p->i];
}
static tpl_token_t *p_next_nonspace(parser_t *p) {
    tpl_token_t *t;
    do
        t = p_next(p);
    while (t->typ == TK_SPACE);
    return t;
}
static tpl_token_t *p_peek_nonspace(parser_t *p) {
    /* Go's peekNonSpace consumes the spaces and backs up one token. */
    while (p->toks[p->i].typ == TK_SPACE && p->i + 1 < p->n_toks)
        p->i++;
    p->last_line = p->toks[p->i].line;
    return &p->toks[p->i];
}

/* Go's item.String(). */
static void p_tok_desc(const tpl_token_t *t, char *out, size_t out_len) {
    if (t->typ == TK_EOF) {
        snprintf(out, out_len, "EOF");
        return;
    }
    if (t->typ == TK_ERROR) {
        snprintf(out, out_len, "%.*s", (int)t->len, t->val);
        return;
    }
    if (t->typ > TK_KEYWORD) {
        snprintf(out, out_len, "<%.*s>", (int)t->len, t->val);
        return;
    }
    vg_buf_t b = VG_BUF_INIT;
    /* count runes: Go's %.10q truncates to 10 runes */
    size_t runes = 0, cut = t->len;
    for (size_t k = 0; k < t->len; k++)
        if (((unsigned char)t->val[k] & 0xc0) != 0x80) {
            if (runes == 10) {
                cut = k;
                break;
            }
            runes++;
        }
    tpl_fmt_quote(&b, t->val, cut, false);
    snprintf(out, out_len, "%s%s", b.data, cut < t->len ? "..." : "");
    vg_buf_free(&b);
}

static _Noreturn void p_unexpected(parser_t *p, const tpl_token_t *t, const char *context) {
    char d[128];
    if (t->typ == TK_ERROR) p_fail(p, "%.*s", (int)t->len, t->val);
    p_tok_desc(t, d, sizeof d);
    p_fail(p, "unexpected %s in %s", d, context);
}

static tpl_token_t *p_expect(parser_t *p, tpl_tok_t typ, const char *context) {
    tpl_token_t *t = p_next_nonspace(p);
    if (t->typ != typ) p_unexpected(p, t, context);
    return t;
}

static tpl_node_t *p_node(parser_t *p, tpl_node_type_t type, const tpl_token_t *at) {
    tpl_node_t *n = p_alloc(p, sizeof *n);
    n->type = (uint8_t)type;
    n->pos = at ? at->pos : 0;
    n->line = at ? at->line : 0;
    n->tree = p->tree;
    return n;
}

static void p_append(parser_t *p, tpl_nodes_t *l, tpl_node_t *n) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        tpl_node_t **items = p_alloc(p, cap * sizeof *items);
        if (l->n) memcpy(items, l->items, l->n * sizeof *items);
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = n;
}

static void p_push_var(parser_t *p, const char *s, size_t len) {
    if (p->n_vars == p->cap_vars) {
        /* in the set's arena, so that an error unwinding from a nested
         * definition leaks nothing */
        size_t cap = p->cap_vars ? p->cap_vars * 2 : 16;
        const char **v = p_alloc(p, cap * sizeof *v);
        size_t *vl = p_alloc(p, cap * sizeof *vl);
        if (p->n_vars) {
            memcpy(v, p->vars, p->n_vars * sizeof *v);
            memcpy(vl, p->vars_len, p->n_vars * sizeof *vl);
        }
        p->vars = v;
        p->vars_len = vl;
        p->cap_vars = cap;
    }
    p->vars[p->n_vars] = s;
    p->vars_len[p->n_vars++] = len;
}

/* Splits "$x.A.B" or ".A.B" into identifiers. */
static tpl_idents_t p_split(parser_t *p, const char *s, size_t len, bool field) {
    tpl_idents_t id = {0, NULL, NULL};
    size_t n = field ? 0 : 1;
    for (size_t k = 0; k < len; k++)
        if (s[k] == '.') n++;
    id.s = p_alloc(p, n * sizeof *id.s);
    id.len = p_alloc(p, n * sizeof *id.len);
    size_t k = field ? 1 : 0;
    while (k <= len) {
        size_t e = k;
        while (e < len && s[e] != '.')
            e++;
        id.s[id.n] = p_strndup(p, s + k, e - k);
        id.len[id.n++] = e - k;
        k = e + 1;
    }
    return id;
}

static tpl_node_t *p_variable(parser_t *p, const tpl_token_t *t) {
    tpl_node_t *n = p_node(p, N_VARIABLE, t);
    n->u.idents = p_split(p, t->val, t->len, false);
    return n;
}

static tpl_node_t *p_use_var(parser_t *p, const tpl_token_t *t) {
    tpl_node_t *v = p_variable(p, t);
    for (size_t k = 0; k < p->n_vars; k++)
        if (p->vars_len[k] == v->u.idents.len[0] &&
            memcmp(p->vars[k], v->u.idents.s[0], v->u.idents.len[0]) == 0)
            return v;
    p_fail(p, "undefined variable \"%s\"", v->u.idents.s[0]);
}

/* Go's strconv.Unquote for "..." and `...` strings. */
static bool p_unquote(parser_t *p, const char *s, size_t len, const char **out, size_t *out_len) {
    if (len < 2) return false;
    if (s[0] == '`') {
        /* raw: carriage returns are dropped */
        char *o = p_alloc(p, len);
        size_t n = 0;
        for (size_t k = 1; k + 1 < len; k++)
            if (s[k] != '\r') o[n++] = s[k];
        *out = o;
        *out_len = n;
        return true;
    }
    char quote = s[0];
    char *o = p_alloc(p, len * 4 + 1);
    size_t n = 0;
    size_t k = 1;
    while (k + 1 < len) {
        unsigned char c = (unsigned char)s[k];
        if (c == (unsigned char)quote) return false;
        if (c != '\\') {
            o[n++] = (char)c;
            k++;
            continue;
        }
        k++;
        if (k + 1 > len - 1) return false;
        c = (unsigned char)s[k++];
        uint32_t r;
        int nd = 0;
        switch (c) {
        case 'a': o[n++] = '\a'; continue;
        case 'b': o[n++] = '\b'; continue;
        case 'f': o[n++] = '\f'; continue;
        case 'n': o[n++] = '\n'; continue;
        case 'r': o[n++] = '\r'; continue;
        case 't': o[n++] = '\t'; continue;
        case 'v': o[n++] = '\v'; continue;
        case '\\': o[n++] = '\\'; continue;
        case '\'':
        case '"':
            if (c != (unsigned char)quote) return false;
            o[n++] = (char)c;
            continue;
        case 'x': nd = 2; break;
        case 'u': nd = 4; break;
        case 'U': nd = 8; break;
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7': {
            if (k + 2 > len - 1) return false;
            r = (uint32_t)(c - '0');
            for (int d = 0; d < 2; d++) {
                char e = s[k++];
                if (e < '0' || e > '7') return false;
                r = r * 8 + (uint32_t)(e - '0');
            }
            if (r > 255) return false;
            o[n++] = (char)r;
            continue;
        }
        default: return false;
        }
        if (k + (size_t)nd > len - 1) return false;
        r = 0;
        for (int d = 0; d < nd; d++) {
            char e = s[k++];
            int v = isdigit((unsigned char)e) ? e - '0'
                    : (e >= 'a' && e <= 'f')  ? e - 'a' + 10
                    : (e >= 'A' && e <= 'F')  ? e - 'A' + 10
                                              : -1;
            if (v < 0) return false;
            r = r * 16 + (uint32_t)v;
        }
        if (c == 'x') {
            o[n++] = (char)r;
            continue;
        }
        if (r > 0x10ffff || (r >= 0xd800 && r < 0xe000)) return false;
        if (r < 0x80) {
            o[n++] = (char)r;
        } else if (r < 0x800) {
            o[n++] = (char)(0xc0 | (r >> 6));
            o[n++] = (char)(0x80 | (r & 0x3f));
        } else if (r < 0x10000) {
            o[n++] = (char)(0xe0 | (r >> 12));
            o[n++] = (char)(0x80 | ((r >> 6) & 0x3f));
            o[n++] = (char)(0x80 | (r & 0x3f));
        } else {
            o[n++] = (char)(0xf0 | (r >> 18));
            o[n++] = (char)(0x80 | ((r >> 12) & 0x3f));
            o[n++] = (char)(0x80 | ((r >> 6) & 0x3f));
            o[n++] = (char)(0x80 | (r & 0x3f));
        }
    }
    if (quote == '\'') {
        /* exactly one rune */
        size_t runes = 0;
        for (size_t q = 0; q < n; q++)
            if (((unsigned char)o[q] & 0xc0) != 0x80) runes++;
        if (runes != 1) return false;
    }
    *out = o;
    *out_len = n;
    return true;
}

static uint32_t p_decode_rune(const char *s, size_t len) {
    unsigned char c = (unsigned char)s[0];
    if (c < 0x80 || len < 2) return c;
    if (c >= 0xf0 && len >= 4)
        return ((c & 7u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) | (s[3] & 0x3fu);
    if (c >= 0xe0 && len >= 3) return ((c & 0xfu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
    return ((c & 0x1fu) << 6) | (s[1] & 0x3fu);
}

/* Go's parse.newNumber: an int when the text is an integer literal that fits
 * int64, a float when it has a fraction or exponent (or an integer that
 * overflows), a char constant as its rune value. */
static tpl_node_t *p_number(parser_t *p, const tpl_token_t *t) {
    tpl_node_t *n = p_node(p, N_NUMBER, t);
    n->src = p_strndup(p, t->val, t->len);
    n->src_len = t->len;
    if (t->typ == TK_CHARCONST) {
        const char *s;
        size_t len;
        if (!p_unquote(p, t->val, t->len, &s, &len))
            p_fail(p, "malformed character constant: %s", n->src);
        uint32_t r = p_decode_rune(s, len);
        n->u.num.is_int = true;
        n->u.num.i = r;
        n->u.num.f = r;
        n->u.num.is_float = true;
        return n;
    }
    if (t->typ == TK_COMPLEX || (t->len && t->val[t->len - 1] == 'i')) {
        p_fail(p, "complex numbers are not supported: %s", n->src);
    }
    /* strip underscores (Go allows them only between digits; be lenient) */
    char buf[128];
    size_t bl = 0;
    if (t->len >= sizeof buf) p_fail(p, "illegal number syntax: \"%.*s\"", (int)t->len, t->val);
    for (size_t k = 0; k < t->len; k++)
        if (t->val[k] != '_') buf[bl++] = t->val[k];
    buf[bl] = '\0';
    const char *s = buf;
    bool neg = false;
    if (*s == '+' || *s == '-') {
        neg = *s == '-';
        s++;
    }
    int base = 10;
    const char *digits = s;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        digits = s + 2;
    } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
        base = 8;
        digits = s + 2;
    } else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
        base = 2;
        digits = s + 2;
    } else if (s[0] == '0' && s[1] && isdigit((unsigned char)s[1]) && !strpbrk(s, ".eE")) {
        base = 8;
        digits = s + 1;
    }
    bool int_syntax = !(base == 10 && strpbrk(s, ".eE")) && !(base == 16 && strpbrk(digits, ".pP"));
    if (int_syntax && *digits) {
        uint64_t v = 0;
        bool ok = true, overflow = false;
        for (const char *q = digits; *q; q++) {
            int d = isdigit((unsigned char)*q) ? *q - '0'
                    : (*q >= 'a' && *q <= 'f') ? *q - 'a' + 10
                    : (*q >= 'A' && *q <= 'F') ? *q - 'A' + 10
                                               : 99;
            if (d >= base) {
                ok = false;
                break;
            }
            if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) overflow = true;
            v = v * (uint64_t)base + (uint64_t)d;
        }
        if (ok && overflow) p_fail(p, "integer overflow: \"%.*s\"", (int)t->len, t->val);
        if (ok && !neg && v > (uint64_t)INT64_MAX) {
            /* fits uint64 only: executing it reports the overflow */
            n->u.num.is_uint = true;
            n->u.num.f = (double)v;
            n->u.num.is_float = true;
            return n;
        }
        if (ok && !overflow &&
            (v <= (uint64_t)INT64_MAX || (neg && v == (uint64_t)INT64_MAX + 1))) {
            n->u.num.is_int = true;
            n->u.num.i = neg ? (int64_t)(0 - v) : (int64_t)v;
            n->u.num.f = (double)n->u.num.i;
            n->u.num.is_float = true;
            return n;
        }
        /* Go: an integer literal too large for int64 is still a float
         * constant, and using it as an int reports the overflow. */
    }
    char *end;
    double f = strtod(buf, &end);
    if (*end || end == buf) p_fail(p, "illegal number syntax: \"%.*s\"", (int)t->len, t->val);
    n->u.num.is_float = true;
    n->u.num.f = f;
    /* a float with an integral value is an int constant too (1e3 is 1000) */
    if (f >= -9.2e18 && f <= 9.2e18 && f == (double)(int64_t)f) {
        n->u.num.is_int = true;
        n->u.num.i = (int64_t)f;
    }
    return n;
}

static tpl_node_t *p_pipeline(parser_t *p, const char *context, tpl_tok_t end);

static void p_enter(parser_t *p) {
    if (++p->depth > TPL_MAX_PARSE_DEPTH) p_fail(p, "max expression depth exceeded");
}

static tpl_node_t *p_term(parser_t *p) {
    tpl_token_t *t = p_next_nonspace(p);
    switch (t->typ) {
    case TK_IDENT: {
        bool builtin = false;
        const template_func_t *fn = tpl_find_func(p->t, t->val, t->len, &builtin);
        if (!fn) p_fail(p, "function \"%.*s\" not defined", (int)t->len, t->val);
        tpl_node_t *n = p_node(p, N_IDENT, t);
        n->u.ident.name = p_strndup(p, t->val, t->len);
        n->u.ident.fn = fn;
        n->u.ident.builtin = builtin;
        return n;
    }
    case TK_DOT: return p_node(p, N_DOT, t);
    case TK_NIL: return p_node(p, N_NIL, t);
    case TK_VARIABLE: return p_use_var(p, t);
    case TK_FIELD: {
        tpl_node_t *n = p_node(p, N_FIELD, t);
        n->u.idents = p_split(p, t->val, t->len, true);
        return n;
    }
    case TK_BOOL: {
        tpl_node_t *n = p_node(p, N_BOOL, t);
        n->u.b = t->val[0] == 't';
        return n;
    }
    case TK_CHARCONST:
    case TK_COMPLEX:
    case TK_NUMBER: return p_number(p, t);
    case TK_LPAREN: {
        p_enter(p);
        tpl_node_t *n = p_pipeline(p, "parenthesized pipeline", TK_RPAREN);
        p->depth--;
        return n;
    }
    case TK_STRING:
    case TK_RAWSTRING: {
        tpl_node_t *n = p_node(p, N_STRING, t);
        if (!p_unquote(p, t->val, t->len, &n->u.text.s, &n->u.text.len))
            p_fail(p, "invalid syntax");
        n->src = p_strndup(p, t->val, t->len);
        n->src_len = t->len;
        return n;
    }
    default: break;
    }
    p_backup(p);
    return NULL;
}

static tpl_node_t *p_operand(parser_t *p) {
    tpl_node_t *node = p_term(p);
    if (!node) return NULL;
    if (p_peek(p)->typ == TK_FIELD) {
        tpl_node_t *chain = p_node(p, N_CHAIN, p_peek(p));
        chain->u.chain.node = node;
        /* collect the fields */
        size_t start = p->i, n = 0;
        while (p->toks[p->i].typ == TK_FIELD) {
            p_next(p);
            n++;
        }
        tpl_idents_t f = {n, p_alloc(p, n * sizeof(char *)), p_alloc(p, n * sizeof(size_t))};
        for (size_t k = 0; k < n; k++) {
            const tpl_token_t *ft = &p->toks[start + k];
            f.s[k] = p_strndup(p, ft->val + 1, ft->len - 1);
            f.len[k] = ft->len - 1;
        }
        chain->u.chain.fields = f;
        switch (node->type) {
        case N_FIELD:
        case N_VARIABLE: {
            /* Go folds ".A.B" written as "(.A).B"? No: a field followed by
             * fields is one longer field or variable. */
            tpl_idents_t *id = &node->u.idents;
            size_t total = id->n + n;
            const char **s = p_alloc(p, total * sizeof *s);
            size_t *l = p_alloc(p, total * sizeof *l);
            memcpy(s, id->s, id->n * sizeof *s);
            memcpy(l, id->len, id->n * sizeof *l);
            memcpy(s + id->n, f.s, n * sizeof *s);
            memcpy(l + id->n, f.len, n * sizeof *l);
            id->s = s;
            id->len = l;
            id->n = total;
            /* Go gives the merged node the position of the first trailing field */
            node->pos = chain->pos;
            node->line = chain->line;
            return node;
        }
        case N_BOOL:
        case N_STRING:
        case N_NUMBER:
        case N_NIL:
        case N_DOT: {
            vg_buf_t b = VG_BUF_INIT;
            tpl_node_string(node, &b);
            vg_buf_t q = VG_BUF_INIT;
            tpl_fmt_quote(&q, b.data ? b.data : "", b.len, false);
            char msg[256];
            snprintf(msg, sizeof msg, "%s", q.data);
            vg_buf_free(&b);
            vg_buf_free(&q);
            p_fail(p, "unexpected . after term %s", msg);
        }
        default: return chain;
        }
    }
    return node;
}

static tpl_node_t *p_command(parser_t *p) {
    tpl_node_t *cmd = p_node(p, N_COMMAND, p_peek_nonspace(p));
    for (;;) {
        p_peek_nonspace(p);
        tpl_node_t *op = p_operand(p);
        if (op) p_append(p, &cmd->u.list, op);
        tpl_token_t *t = p_next(p);
        switch (t->typ) {
        case TK_SPACE: continue;
        case TK_RIGHT:
        case TK_RPAREN: p_backup(p); break;
        case TK_PIPE: break;
        default: p_unexpected(p, t, "operand");
        }
        break;
    }
    if (cmd->u.list.n == 0) p_fail(p, "empty command");
    return cmd;
}

static void p_check_pipeline(parser_t *p, tpl_node_t *pipe, const char *context) {
    if (pipe->u.pipe.cmds.n == 0) p_fail(p, "missing value for %s", context);
    for (size_t k = 1; k < pipe->u.pipe.cmds.n; k++) {
        switch (pipe->u.pipe.cmds.items[k]->u.list.items[0]->type) {
        case N_BOOL:
        case N_DOT:
        case N_NIL:
        case N_NUMBER:
        case N_STRING: p_fail(p, "non executable command in pipeline stage %zu", k + 1);
        default: break;
        }
    }
}

static tpl_node_t *p_pipeline(parser_t *p, const char *context, tpl_tok_t end) {
    tpl_token_t *first = p_peek_nonspace(p);
    tpl_node_t *pipe = p_node(p, N_PIPE, first);
    tpl_node_t *decl[2];
    size_t n_decl = 0;
decls:
    if (p_peek_nonspace(p)->typ == TK_VARIABLE) {
        tpl_token_t *v = p_next(p);
        tpl_token_t *after = p_peek(p);
        tpl_token_t *next = p_peek_nonspace(p);
        if (next->typ == TK_ASSIGN || next->typ == TK_DECLARE) {
            pipe->u.pipe.is_assign = next->typ == TK_ASSIGN;
            p_next_nonspace(p);
            decl[n_decl++] = p_variable(p, v);
            p_push_var(p, decl[n_decl - 1]->u.idents.s[0], decl[n_decl - 1]->u.idents.len[0]);
        } else if (next->typ == TK_CHAR && next->val[0] == ',') {
            p_next_nonspace(p);
            decl[n_decl++] = p_variable(p, v);
            p_push_var(p, decl[n_decl - 1]->u.idents.s[0], decl[n_decl - 1]->u.idents.len[0]);
            if (strcmp(context, "range") == 0 && n_decl < 2) {
                switch (p_peek_nonspace(p)->typ) {
                case TK_VARIABLE:
                case TK_RIGHT:
                case TK_RPAREN:
                    /* a second initialized variable in a range pipeline */
                    goto decls;
                default: p_fail(p, "range can only initialize variables");
                }
            }
            p_fail(p, "too many declarations in %s", context);
        } else if (after->typ == TK_SPACE) {
            /* back up over the space and the variable */
            p->i = (size_t)(v - p->toks);
        } else {
            p->i = (size_t)(v - p->toks);
        }
    }
    pipe->u.pipe.n_decl = n_decl;
    if (n_decl) {
        pipe->u.pipe.decl = p_alloc(p, n_decl * sizeof(tpl_node_t *));
        memcpy(pipe->u.pipe.decl, decl, n_decl * sizeof(tpl_node_t *));
    }
    for (;;) {
        tpl_token_t *t = p_next_nonspace(p);
        if (t->typ == end) {
            p_check_pipeline(p, pipe, context);
            return pipe;
        }
        switch (t->typ) {
        case TK_BOOL:
        case TK_CHARCONST:
        case TK_COMPLEX:
        case TK_DOT:
        case TK_FIELD:
        case TK_IDENT:
        case TK_NUMBER:
        case TK_NIL:
        case TK_RAWSTRING:
        case TK_STRING:
        case TK_VARIABLE:
        case TK_LPAREN:
            p_backup(p);
            p_append(p, &pipe->u.pipe.cmds, p_command(p));
            break;
        default: p_unexpected(p, t, context);
        }
    }
}

static tpl_node_t *p_text_or_action(parser_t *p);

/* Parses nodes until {{end}} or {{else}}, which it returns in *out_end. */
static tpl_node_t *p_item_list(parser_t *p, tpl_node_t **out_end) {
    tpl_node_t *list = p_node(p, N_LIST, p_peek_nonspace(p));
    while (p_peek_nonspace(p)->typ != TK_EOF) {
        tpl_node_t *n = p_text_or_action(p);
        if (n->type == N_END || n->type == N_ELSE) {
            *out_end = n;
            return list;
        }
        p_append(p, &list->u.list, n);
    }
    p_fail(p, "unexpected EOF");
}

static void p_node_desc(const tpl_node_t *n, char *out, size_t len) {
    snprintf(out, len, "%s", n->type == N_END ? "{{end}}" : "{{else}}");
}

static void p_control(parser_t *p, const char *context, tpl_node_t *node) {
    size_t mark = p->n_vars;
    p_enter(p);
    tpl_node_t *pipe = p_pipeline(p, context, TK_RIGHT);
    bool is_range = strcmp(context, "range") == 0;
    if (is_range) p->range_depth++;
    tpl_node_t *next = NULL, *else_list = NULL;
    tpl_node_t *list = p_item_list(p, &next);
    if (is_range) p->range_depth--;
    if (next->type == N_ELSE) {
        tpl_token_t *pk = p_peek(p);
        if (strcmp(context, "if") == 0 && pk->typ == TK_IF) {
            p_next(p);
            else_list = p_node(p, N_LIST, pk);
            tpl_node_t *inner = p_node(p, N_IF, pk);
            p_control(p, "if", inner);
            p_append(p, &else_list->u.list, inner);
        } else if (strcmp(context, "with") == 0 && pk->typ == TK_WITH) {
            p_next(p);
            else_list = p_node(p, N_LIST, pk);
            tpl_node_t *inner = p_node(p, N_WITH, pk);
            p_control(p, "with", inner);
            p_append(p, &else_list->u.list, inner);
        } else {
            else_list = p_item_list(p, &next);
            if (next->type != N_END) {
                char d[32];
                p_node_desc(next, d, sizeof d);
                p_fail(p, "expected end; found %s", d);
            }
        }
    }
    node->u.ctl.pipe = pipe;
    node->u.ctl.list = list;
    node->u.ctl.else_list = else_list;
    node->pos = pipe->pos;
    node->line = pipe->line;
    p->n_vars = mark;
    p->depth--;
}

static void p_add_tree(parser_t *p, tpl_tree_t *tree) {
    /* Within one file a second non-empty definition is an error (Go's
     * Tree.add); across files the later one wins (template_add). */
    for (size_t k = 0; k < p->n_trees; k++) {
        if (strcmp(p->trees[k]->name, tree->name) == 0) {
            if (tpl_tree_empty(p->trees[k]->root)) {
                p->trees[k] = tree;
                return;
            }
            if (!tpl_tree_empty(tree->root))
                p_fail(p, "template: multiple definition of template \"%s\"", tree->name);
            return;
        }
    }
    if (p->n_trees == p->cap_trees) {
        p->cap_trees = p->cap_trees ? p->cap_trees * 2 : 8;
        p->trees = vg_realloc(p->trees, p->cap_trees * sizeof *p->trees);
    }
    p->trees[p->n_trees++] = tree;
}

static const char *p_template_name(parser_t *p, tpl_token_t *t, const char *context) {
    if (t->typ != TK_STRING && t->typ != TK_RAWSTRING) p_unexpected(p, t, context);
    const char *s;
    size_t len;
    if (!p_unquote(p, t->val, t->len, &s, &len)) p_fail(p, "invalid syntax");
    if (memchr(s, '\0', len)) len = strlen(s);
    return p_strndup(p, s, len);
}

/* Parses a nested definition body (define, block) as its own tree. */
static tpl_tree_t *p_sub_tree(parser_t *p, const char *name, const char *context) {
    tpl_tree_t *saved = p->tree;
    const char **saved_vars = p->vars;
    size_t *saved_len = p->vars_len;
    size_t saved_n = p->n_vars, saved_cap = p->cap_vars;
    int saved_range = p->range_depth;
    p->vars = NULL;
    p->vars_len = NULL;
    p->n_vars = p->cap_vars = 0;
    p->range_depth = 0;
    p_push_var(p, "$", 1);
    tpl_tree_t *tree = p_alloc(p, sizeof *tree);
    tree->name = name;
    tree->parse_name = p->parse_name;
    tree->text = p->text;
    tree->text_len = p->text_len;
    p->tree = tree;
    tpl_node_t *end = NULL;
    tree->root = p_item_list(p, &end);
    if (end->type != N_END) {
        char d[32];
        p_node_desc(end, d, sizeof d);
        p_fail(p, "unexpected %s in %s", d, context);
    }
    p->vars = saved_vars;
    p->vars_len = saved_len;
    p->n_vars = saved_n;
    p->cap_vars = saved_cap;
    p->range_depth = saved_range;
    p->tree = saved;
    p_add_tree(p, tree);
    return tree;
}

static tpl_node_t *p_action(parser_t *p) {
    tpl_token_t *t = p_next_nonspace(p);
    switch (t->typ) {
    case TK_BLOCK: {
        const char *context = "block clause";
        tpl_token_t *nt = p_next_nonspace(p);
        const char *name = p_template_name(p, nt, context);
        tpl_node_t *pipe = p_pipeline(p, context, TK_RIGHT);
        p_enter(p);
        p_sub_tree(p, name, context);
        p->depth--;
        tpl_node_t *n = p_node(p, N_TEMPLATE, nt);
        n->u.tmpl.name = name;
        n->u.tmpl.pipe = pipe;
        return n;
    }
    case TK_BREAK:
    case TK_CONTINUE: {
        bool brk = t->typ == TK_BREAK;
        if (p->range_depth == 0) p_fail(p, "{{%s}} outside {{range}}", brk ? "break" : "continue");
        tpl_token_t *r = p_next_nonspace(p);
        if (r->typ != TK_RIGHT) p_unexpected(p, r, brk ? "{{break}}" : "{{continue}}");
        return p_node(p, brk ? N_BREAK : N_CONTINUE, t);
    }
    case TK_ELSE: {
        tpl_token_t *pk = p_peek_nonspace(p);
        if (pk->typ == TK_IF || pk->typ == TK_WITH) return p_node(p, N_ELSE, pk);
        tpl_token_t *r = p_expect(p, TK_RIGHT, "else");
        return p_node(p, N_ELSE, r);
    }
    case TK_END: {
        tpl_token_t *r = p_expect(p, TK_RIGHT, "end");
        return p_node(p, N_END, r);
    }
    case TK_IF:
    case TK_RANGE:
    case TK_WITH: {
        tpl_node_t *n = p_node(p,
                               t->typ == TK_IF      ? N_IF
                               : t->typ == TK_RANGE ? N_RANGE
                                                    : N_WITH,
                               t);
        p_control(p, t->typ == TK_IF ? "if" : t->typ == TK_RANGE ? "range" : "with", n);
        return n;
    }
    case TK_TEMPLATE: {
        const char *context = "template clause";
        tpl_token_t *nt = p_next_nonspace(p);
        const char *name = p_template_name(p, nt, context);
        tpl_node_t *pipe = NULL;
        if (p_next_nonspace(p)->typ != TK_RIGHT) {
            p_backup(p);
            pipe = p_pipeline(p, context, TK_RIGHT);
        }
        tpl_node_t *n = p_node(p, N_TEMPLATE, nt);
        n->u.tmpl.name = name;
        n->u.tmpl.pipe = pipe;
        return n;
    }
    default: break;
    }
    p_backup(p);
    tpl_token_t *pk = p_peek(p);
    tpl_node_t *n = p_node(p, N_ACTION, pk);
    n->u.action.pipe = p_pipeline(p, "command", TK_RIGHT);
    return n;
}

static tpl_node_t *p_text_or_action(parser_t *p) {
    tpl_token_t *t = p_next_nonspace(p);
    switch (t->typ) {
    case TK_TEXT: {
        tpl_node_t *n = p_node(p, N_TEXT, t);
        n->u.text.s = t->val;
        n->u.text.len = t->len;
        return n;
    }
    case TK_LEFT: return p_action(p);
    case TK_COMMENT: return p_node(p, N_COMMENT, t);
    default: p_unexpected(p, t, "input");
    }
}

bool tpl_tree_empty(const tpl_node_t *root) {
    if (!root) return true;
    for (size_t k = 0; k < root->u.list.n; k++) {
        const tpl_node_t *n = root->u.list.items[k];
        if (n->type == N_COMMENT) continue;
        if (n->type != N_TEXT) return false;
        for (size_t q = 0; q < n->u.text.len; q++)
            if (!is_space_c((unsigned char)n->u.text.s[q]) && n->u.text.s[q] != '\v' &&
                n->u.text.s[q] != '\f')
                return false;
    }
    return true;
}

int tpl_parse_file(template_t *t, const char *text, size_t len, const char *name,
                   tpl_tree_t ***out_trees, size_t *out_n, vg_err_t *err) {
    if (len > UINT32_MAX - 16)
        return vg_err_set(err, VG_ERR_LIMIT, "template: %s: text too large", name);
    const char *own = vg_arena_strndup(t->arena, text, len);
    const char *own_name = vg_arena_strndup(t->arena, name, strlen(name));
    if (!own || !own_name) return vg_err_set(err, VG_ERR_LIMIT, "template: out of memory");
    lexer_t l = {.s = own, .len = len, .line = 1, .start_line = 1, .arena = t->arena};
    lex_run(&l);
    if (l.n == 0 || (l.toks[l.n - 1].typ != TK_EOF && l.toks[l.n - 1].typ != TK_ERROR))
        lex_emit_tok(&l, TK_EOF, len, len, l.line);

    parser_t p = {.t = t,
                  .toks = l.toks,
                  .n_toks = l.n,
                  .text = own,
                  .text_len = len,
                  .parse_name = own_name,
                  .err = err,
                  .last_line = 1};
    int rc = 0;
    if (setjmp(p.jmp) == 0) {
        p_push_var(&p, "$", 1);
        tpl_tree_t *top = p_alloc(&p, sizeof *top);
        top->name = own_name;
        top->parse_name = own_name;
        top->text = own;
        top->text_len = len;
        top->root = p_node(&p, N_LIST, NULL);
        p.tree = top;
        /* the top-level tree comes first */
        p_add_tree(&p, top);
        while (p_peek(&p)->typ != TK_EOF) {
            if (p_peek(&p)->typ == TK_LEFT) {
                size_t save = p.i;
                p_next(&p);
                if (p_next_nonspace(&p)->typ == TK_DEFINE) {
                    const char *context = "define clause";
                    tpl_token_t *nt = p_next_nonspace(&p);
                    if (nt->typ != TK_STRING && nt->typ != TK_RAWSTRING)
                        p_unexpected(&p, nt, context);
                    const char *dname = p_template_name(&p, nt, context);
                    p_expect(&p, TK_RIGHT, context);
                    p_sub_tree(&p, dname, context);
                    continue;
                }
                p.i = save;
            }
            tpl_node_t *n = p_text_or_action(&p);
            if (n->type == N_END || n->type == N_ELSE) {
                char d[32];
                p_node_desc(n, d, sizeof d);
                p_fail(&p, "unexpected %s", d);
            }
            p_append(&p, &top->root->u.list, n);
        }
        *out_trees = p_alloc(&p, p.n_trees * sizeof(tpl_tree_t *));
        memcpy(*out_trees, p.trees, p.n_trees * sizeof(tpl_tree_t *));
        *out_n = p.n_trees;
    } else {
        rc = err ? err->code : VG_ERR_INPUT;
        if (rc == 0) rc = VG_ERR_INPUT;
    }
    free(p.trees);
    free(l.toks);
    return rc;
}

/* ------------------------------------------------------- Node.String() */

static void idents_string(const tpl_idents_t *id, bool field, vg_buf_t *out) {
    for (size_t k = 0; k < id->n; k++) {
        if (field || k > 0) vg_buf_putc(out, '.');
        vg_buf_append(out, id->s[k], id->len[k]);
    }
}

static void list_string(const tpl_node_t *n, vg_buf_t *out) {
    if (!n) return;
    for (size_t k = 0; k < n->u.list.n; k++)
        tpl_node_string(n->u.list.items[k], out);
}

static void ctl_string(const tpl_node_t *n, const char *kw, vg_buf_t *out) {
    vg_buf_printf(out, "{{%s ", kw);
    tpl_node_string(n->u.ctl.pipe, out);
    vg_buf_puts(out, "}}");
    list_string(n->u.ctl.list, out);
    if (n->u.ctl.else_list) {
        vg_buf_puts(out, "{{else}}");
        list_string(n->u.ctl.else_list, out);
    }
    vg_buf_puts(out, "{{end}}");
}

void tpl_node_string(const tpl_node_t *n, vg_buf_t *out) {
    if (!n) return;
    switch ((tpl_node_type_t)n->type) {
    case N_TEXT: {
        vg_buf_t q = VG_BUF_INIT;
        tpl_fmt_quote(&q, n->u.text.s, n->u.text.len, false);
        vg_buf_append(out, q.data, q.len);
        vg_buf_free(&q);
        break;
    }
    case N_ACTION:
        vg_buf_puts(out, "{{");
        tpl_node_string(n->u.action.pipe, out);
        vg_buf_puts(out, "}}");
        break;
    case N_BOOL: vg_buf_puts(out, n->u.b ? "true" : "false"); break;
    case N_CHAIN: {
        const tpl_node_t *inner = n->u.chain.node;
        if (inner->type == N_PIPE) vg_buf_putc(out, '(');
        tpl_node_string(inner, out);
        if (inner->type == N_PIPE) vg_buf_putc(out, ')');
        idents_string(&n->u.chain.fields, true, out);
        break;
    }
    case N_COMMAND:
        for (size_t k = 0; k < n->u.list.n; k++) {
            if (k > 0) vg_buf_putc(out, ' ');
            const tpl_node_t *a = n->u.list.items[k];
            if (a->type == N_PIPE) {
                vg_buf_putc(out, '(');
                tpl_node_string(a, out);
                vg_buf_putc(out, ')');
            } else {
                tpl_node_string(a, out);
            }
        }
        break;
    case N_DOT: vg_buf_putc(out, '.'); break;
    case N_FIELD: idents_string(&n->u.idents, true, out); break;
    case N_IDENT: vg_buf_puts(out, n->u.ident.name); break;
    case N_IF: ctl_string(n, "if", out); break;
    case N_RANGE: ctl_string(n, "range", out); break;
    case N_WITH: ctl_string(n, "with", out); break;
    case N_LIST: list_string(n, out); break;
    case N_NIL: vg_buf_puts(out, "nil"); break;
    case N_NUMBER:
    case N_STRING: vg_buf_append(out, n->src, n->src_len); break;
    case N_PIPE:
        if (n->u.pipe.n_decl) {
            for (size_t k = 0; k < n->u.pipe.n_decl; k++) {
                if (k > 0) vg_buf_puts(out, ", ");
                tpl_node_string(n->u.pipe.decl[k], out);
            }
            vg_buf_puts(out, n->u.pipe.is_assign ? " = " : " := ");
        }
        for (size_t k = 0; k < n->u.pipe.cmds.n; k++) {
            if (k > 0) vg_buf_puts(out, " | ");
            tpl_node_string(n->u.pipe.cmds.items[k], out);
        }
        break;
    case N_TEMPLATE: {
        vg_buf_puts(out, "{{template ");
        vg_buf_t q = VG_BUF_INIT;
        tpl_fmt_quote(&q, n->u.tmpl.name, strlen(n->u.tmpl.name), false);
        vg_buf_append(out, q.data, q.len);
        vg_buf_free(&q);
        if (n->u.tmpl.pipe) {
            vg_buf_putc(out, ' ');
            tpl_node_string(n->u.tmpl.pipe, out);
        }
        vg_buf_puts(out, "}}");
        break;
    }
    case N_VARIABLE: idents_string(&n->u.idents, false, out); break;
    case N_COMMENT: break;
    case N_BREAK: vg_buf_puts(out, "{{break}}"); break;
    case N_CONTINUE: vg_buf_puts(out, "{{continue}}"); break;
    case N_ELSE: vg_buf_puts(out, "{{else}}"); break;
    case N_END: vg_buf_puts(out, "{{end}}"); break;
    }
}
