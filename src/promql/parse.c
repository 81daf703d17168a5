/*
 * This file implements the PromQL parser: recursive descent for the
 * expression forms and precedence climbing for the binary operators, with
 * Prometheus's precedence (or < and/unless < comparisons < +- < * / % atan2
 * < ^, ^ right-associative, unary +- between * and ^, and the postfix
 * modifiers [..], offset, @, anchored and smoothed binding tightest).
 *
 * Prometheus builds its parser with yacc and reports only the first error;
 * this parser stops at the first error too and words it the same way,
 * including the context yacc's error rules add ("in grouping opts", "in
 * aggregation", ...). Nodes live in the tree's arena. The type checks that
 * Prometheus runs after parsing are in check.c.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "promql/parse_int.h"

/* ------------------------------------------------------------ errors */

void promql_fail_at(parser_t *p, int code, size_t pos, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vg_buf_reset(&p->msg);
    vg_buf_vprintf(&p->msg, fmt, ap);
    va_end(ap);
    p->err_code = code;
    p->err_pos = pos;
    longjmp(p->jmp, 1);
}

/* "unexpected <token>[ in <context>][, expected <expected>]" */
static void unexpected(parser_t *p, const promql_token_t *t, const char *context,
                       const char *expected) __attribute__((noreturn));
static void unexpected(parser_t *p, const promql_token_t *t, const char *context,
                       const char *expected) {
    if (!context && p->agg_depth > 0) context = "aggregation";
    vg_buf_reset(&p->msg);
    vg_buf_puts(&p->msg, "unexpected ");
    promql_tok_desc(t->type, p->in + t->pos, t->len, &p->msg);
    if (context) {
        vg_buf_puts(&p->msg, " in ");
        vg_buf_puts(&p->msg, context);
    }
    if (expected) {
        vg_buf_puts(&p->msg, ", expected ");
        vg_buf_puts(&p->msg, expected);
    }
    p->err_code = VG_ERR_INPUT;
    p->err_pos = t->pos;
    longjmp(p->jmp, 1);
}

/* ------------------------------------------------------------ tokens */

static const promql_token_t *peek_at(parser_t *p, int i) {
    while (p->n_tok <= i) {
        promql_token_t *t = &p->tok[p->n_tok];
        do {
            promql_lex_next(&p->lex, t);
        } while (t->type == T_COMMENT);
        p->n_tok++;
        if (t->type == T_ERROR) promql_fail_at(p, VG_ERR_INPUT, t->pos, "%s", t->msg);
    }
    return &p->tok[i];
}

static const promql_token_t *peek(parser_t *p) { return peek_at(p, 0); }
static promql_tok_t peek_type(parser_t *p) { return peek_at(p, 0)->type; }

/* Consumes the current token and returns a copy of it. */
static promql_token_t advance(parser_t *p) {
    promql_token_t t = *peek(p);
    p->tok[0] = p->tok[1];
    p->n_tok--;
    p->last_end = t.pos + t.len;
    return t;
}

static promql_token_t expect(parser_t *p, promql_tok_t type, const char *context,
                             const char *expected) {
    if (peek_type(p) != type) unexpected(p, peek(p), context, expected);
    return advance(p);
}

/* ------------------------------------------------------------ memory */

void *promql_alloc(parser_t *p, size_t n) {
    void *m = vg_arena_alloc(p->ast->arena, n);
    if (!m)
        promql_fail_at(p, VG_ERR_LIMIT, p->last_end,
                       "query needs more memory than the parser allows");
    memset(m, 0, n);
    return m;
}

static promql_expr_t *new_node(parser_t *p, promql_kind_t kind, size_t start, size_t end) {
    promql_expr_t *e = promql_alloc(p, sizeof *e);
    e->kind = kind;
    e->start = (uint32_t)start;
    e->end = (uint32_t)end;
    e->height = 1;
    return e;
}

static promql_str_t str_dup(parser_t *p, const char *s, size_t n) {
    char *c = promql_alloc(p, n + 1);
    memcpy(c, s, n);
    c[n] = 0;
    return (promql_str_t){c, n};
}

/* Unquotes a string token into the arena. */
static promql_str_t unquote_tok(parser_t *p, const promql_token_t *t) {
    char *c = promql_alloc(p, (size_t)t->len + 1);
    long n = promql_unquote(p->in + t->pos, t->len, c);
    if (n < 0) {
        vg_buf_t b = VG_BUF_INIT;
        promql_quote(p->in + t->pos, t->len, &b);
        /* copy before failing: the buffer must not leak across longjmp */
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s", b.data);
        vg_buf_free(&b);
        promql_fail_at(p, VG_ERR_INPUT, t->pos, "error unquoting string %s: invalid syntax", tmp);
    }
    c[n] = 0;
    return (promql_str_t){c, (size_t)n};
}

/* Records the height of a new inner node and enforces the depth limit. */
static void set_height(parser_t *p, promql_expr_t *e, const promql_expr_t *a,
                       const promql_expr_t *b) {
    uint32_t h = 0;
    if (a && a->height > h) h = a->height;
    if (b && b->height > h) h = b->height;
    e->height = h + 1;
    if (e->height > p->max_depth)
        promql_fail_at(p, VG_ERR_LIMIT, e->start,
                       "expression nesting too deep: more than %u levels", p->max_depth);
}

/* Bounds the recursion (a few frames per level of nesting); the height
 * check above is the limit users see for trees that do get built. */
static void enter(parser_t *p) {
    if (++p->depth > 4 * p->max_depth)
        promql_fail_at(p, VG_ERR_LIMIT, peek(p)->pos,
                       "expression nesting too deep: more than %u levels", p->max_depth);
}

/* ------------------------------------------------------------ numbers */

static bool underscore_ok(const char *s, size_t n) {
    /* Go's underscoreOK: '_' only between digits or after a base prefix. */
    char saw = '^';
    size_t i = 0;
    bool hex = false;
    if (n >= 2 && s[0] == '0') {
        char c = (char)(s[1] | 0x20);
        if (c == 'x' || c == 'o' || c == 'b') {
            hex = c == 'x';
            i = 2;
            saw = '0';
        }
    }
    for (; i < n; i++) {
        char c = s[i];
        bool digit = (c >= '0' && c <= '9') || (hex && ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'));
        if (digit) {
            saw = '0';
            continue;
        }
        if (c == '_') {
            if (saw != '0') return false;
            saw = '_';
            continue;
        }
        if (saw == '_') return false;
        saw = '!';
    }
    return saw != '_';
}

/* Go's strconv.ParseInt(s, 0, 64) for the unsigned texts the lexer makes. */
static bool parse_int_base0(const char *s, size_t n, double *out) {
    if (n == 0) return false;
    int base = 10;
    size_t i = 0;
    if (s[0] == '0' && n > 1) {
        char c = (char)(s[1] | 0x20);
        if (c == 'x')
            base = 16, i = 2;
        else if (c == 'o')
            base = 8, i = 2;
        else if (c == 'b')
            base = 2, i = 2;
        else
            base = 8, i = 1;
    }
    bool underscores = false;
    uint64_t v = 0;
    size_t digits = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '_') {
            underscores = true;
            continue;
        }
        int d = unhex_digit(c);
        if (d < 0 || d >= base) return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return false;
        v = v * (uint64_t)base + (uint64_t)d;
        digits++;
    }
    if (digits == 0 && !(base == 8 && i == 1)) return false;
    if (underscores && !underscore_ok(s, n)) return false;
    if (v > (uint64_t)INT64_MAX) return false;
    *out = (double)(int64_t)v;
    return true;
}

int unhex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The value of a NUMBER token as Prometheus computes it: ParseInt with
 * base prefixes, else ParseFloat. */
static double number_value(parser_t *p, const promql_token_t *t) {
    const char *s = p->in + t->pos;
    size_t n = t->len;
    double v;
    if (parse_int_base0(s, n, &v)) return v;
    char buf[128];
    const char *why = "invalid syntax";
    bool ok = false;
    if (n < sizeof buf) {
        size_t k = 0;
        bool underscores = false, hexish = n > 1 && s[0] == '0' && (s[1] | 0x20) == 'x';
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '_')
                underscores = true;
            else
                buf[k++] = s[i];
        }
        buf[k] = 0;
        if ((!underscores || underscore_ok(s, n)) && !hexish) {
            char lower[8] = {0};
            for (size_t i = 0; i < k && i < 7; i++)
                lower[i] = (char)(buf[i] | 0x20);
            if (strcmp(lower, "inf") == 0 && k == 3) return INFINITY;
            if (strcmp(lower, "nan") == 0 && k == 3) return NAN;
            errno = 0;
            char *end;
            v = strtod(buf, &end);
            if (end == buf + k && k > 0) {
                if (isinf(v)) {
                    why = "value out of range";
                } else {
                    ok = true;
                }
            }
        }
    } else {
        /* too long for the buffer: only digit runs reach here */
        bool digits = true;
        for (size_t i = 0; i < n; i++)
            if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '.' && s[i] != '_') digits = false;
        if (digits) {
            char *c = promql_alloc(p, n + 1);
            size_t k = 0;
            for (size_t i = 0; i < n; i++)
                if (s[i] != '_') c[k++] = s[i];
            c[k] = 0;
            v = strtod(c, NULL);
            if (isinf(v))
                why = "value out of range";
            else
                ok = true;
        }
    }
    if (ok) return v;
    vg_buf_t b = VG_BUF_INIT;
    promql_quote(s, n, &b);
    char *q = promql_alloc(p, b.len + 1);
    memcpy(q, b.data, b.len + 1);
    vg_buf_free(&b);
    promql_fail_at(p, VG_ERR_INPUT, t->pos,
                   "error parsing number: strconv.ParseFloat: parsing %s: %s", q, why);
}

/* model.ParseDuration: 0 and the duration in ns, or fails with its message. */
static uint64_t duration_value(parser_t *p, const promql_token_t *t) {
    const char *s = p->in + t->pos;
    size_t n = t->len;
    if (n == 1 && s[0] == '0') return 0;
    static const struct {
        const char *unit;
        uint64_t mult;
    } units[] = {{"y", 365ull * 24 * 3600 * 1000000000ull},
                 {"w", 7ull * 24 * 3600 * 1000000000ull},
                 {"d", 24ull * 3600 * 1000000000ull},
                 {"h", 3600ull * 1000000000ull},
                 {"m", 60ull * 1000000000ull},
                 {"s", 1000000000ull},
                 {"ms", 1000000ull}};
    uint64_t dur = 0;
    size_t i = 0;
    int last = -1;
    const char *bad = NULL;
    while (i < n) {
        if (!(s[i] >= '0' && s[i] <= '9')) {
            bad = "not a valid duration string";
            break;
        }
        uint64_t v = 0;
        bool overflow = false;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (v > (UINT64_MAX - 9) / 10) overflow = true;
            v = v * 10 + (uint64_t)(s[i] - '0');
            i++;
        }
        if (overflow) {
            bad = "not a valid duration string";
            break;
        }
        size_t u0 = i;
        while (i < n && !(s[i] >= '0' && s[i] <= '9'))
            i++;
        if (i == u0) {
            bad = "not a valid duration string";
            break;
        }
        int u = -1;
        for (int k = 0; k < 7; k++)
            if (strlen(units[k].unit) == i - u0 && memcmp(units[k].unit, s + u0, i - u0) == 0)
                u = k;
        if (u < 0) {
            vg_buf_t b = VG_BUF_INIT;
            vg_buf_puts(&b, "unknown unit ");
            promql_quote(s + u0, i - u0, &b);
            vg_buf_puts(&b, " in duration ");
            promql_quote(s, n, &b);
            char *m = promql_alloc(p, b.len + 1);
            memcpy(m, b.data, b.len + 1);
            vg_buf_free(&b);
            promql_fail_at(p, VG_ERR_INPUT, t->pos, "%s", m);
        }
        if (u <= last) {
            bad = "not a valid duration string";
            break;
        }
        last = u;
        if (v > (1ull << 63) / units[u].mult)
            promql_fail_at(p, VG_ERR_INPUT, t->pos, "duration out of range");
        dur += v * units[u].mult;
        if (dur > (uint64_t)INT64_MAX)
            promql_fail_at(p, VG_ERR_INPUT, t->pos, "duration out of range");
    }
    if (bad) {
        vg_buf_t b = VG_BUF_INIT;
        promql_quote(s, n, &b);
        char *m = promql_alloc(p, b.len + 1);
        memcpy(m, b.data, b.len + 1);
        vg_buf_free(&b);
        promql_fail_at(p, VG_ERR_INPUT, t->pos, "%s: %s", bad, m);
    }
    return dur;
}

/* Go's time.Duration.Seconds(). */
static double ns_seconds(uint64_t ns) {
    uint64_t sec = ns / 1000000000ull, nsec = ns % 1000000000ull;
    return (double)sec + (double)nsec / 1e9;
}

static promql_expr_t *number_literal(parser_t *p) {
    promql_token_t t = advance(p);
    promql_expr_t *e = new_node(p, PROMQL_NUMBER, t.pos, t.pos + t.len);
    if (t.type == T_DURATION) {
        e->u.number.value = ns_seconds(duration_value(p, &t));
        e->u.number.duration = true;
    } else {
        e->u.number.value = number_value(p, &t);
    }
    return e;
}

#define DURATION_LIMIT_S 9223372036.854775808 /* 2^63 ns in seconds */

static bool duration_out_of_range(double v) {
    return v > DURATION_LIMIT_S || v < -DURATION_LIMIT_S || isnan(v);
}

/* time.Duration(math.Round(v * 1e9)) in ms (truncated, as model.Duration
 * and the engine truncate). */
static int64_t seconds_to_ms(double v) {
    double ns = round(v * 1e9);
    if (ns >= 9.2233720368547758e18) return INT64_MAX / 1000000;
    if (ns <= -9.2233720368547758e18) return INT64_MIN / 1000000;
    return (int64_t)ns / 1000000;
}

/* ---------------------------------------------------- duration syntax */

static void experimental_duration(parser_t *p, const promql_expr_t *e) {
    if (!p->opts.duration_expr)
        promql_fail_at(p, VG_ERR_INPUT, e->start,
                       "experimental duration expression is not enabled");
}

static promql_expr_t *dur_node(parser_t *p, promql_op_t op, promql_expr_t *lhs, promql_expr_t *rhs,
                               size_t start, size_t end) {
    promql_expr_t *e = new_node(p, PROMQL_DURATION_EXPR, start, end);
    e->u.duration.op = op;
    e->u.duration.lhs = lhs;
    e->u.duration.rhs = rhs;
    if (lhs) e->start = lhs->start;
    if (rhs && rhs->end > e->end) e->end = rhs->end;
    set_height(p, e, lhs, rhs);
    return e;
}

/* Marks a parenthesised duration: a number gets a wrapper (a unary + that
 * prints as "(n)") so that printing and parsing again give the same tree. */
static promql_expr_t *wrap_paren(parser_t *p, promql_expr_t *e, size_t start, size_t end) {
    if (e->kind == PROMQL_DURATION_EXPR) {
        e->u.duration.wrapped = true;
        return e;
    }
    promql_expr_t *w = dur_node(p, PROMQL_OP_ADD, NULL, e, start, end);
    w->start = (uint32_t)start;
    w->end = (uint32_t)end;
    w->u.duration.wrapped = true;
    return w;
}

static promql_expr_t *apply_unary_duration(parser_t *p, const promql_token_t *op,
                                           promql_expr_t *e) {
    if (e->kind == PROMQL_DURATION_EXPR) {
        if (op->type != T_SUB) return e;
        promql_expr_t *n = dur_node(p, PROMQL_OP_SUB, NULL, e, op->pos, e->end);
        n->start = op->pos;
        return n;
    }
    if (op->type == T_SUB) e->u.number.value = -e->u.number.value;
    if (duration_out_of_range(e->u.number.value))
        promql_fail_at(p, VG_ERR_INPUT, op->pos, "duration out of range");
    e->start = op->pos;
    return e;
}

typedef struct dur_ctx {
    const char *context;
    const char *expected;
} dur_ctx_t;

static promql_expr_t *dur_expr(parser_t *p, int min_prec, const dur_ctx_t *cx);

static promql_expr_t *dur_literal(parser_t *p) {
    promql_expr_t *e = number_literal(p);
    if (duration_out_of_range(e->u.number.value))
        promql_fail_at(p, VG_ERR_INPUT, e->start, "duration out of range");
    return e;
}

/* step(), range(), min_of(a, b), max_of(a, b) after their keyword. */
static promql_expr_t *dur_function(parser_t *p, const dur_ctx_t *cx) {
    promql_token_t k = advance(p);
    expect(p, T_LEFT_PAREN, cx->context, cx->expected);
    promql_expr_t *e;
    if (k.type == T_STEP || k.type == T_RANGE) {
        promql_token_t r = expect(p, T_RIGHT_PAREN, cx->context, cx->expected);
        e = dur_node(p, k.type == T_STEP ? PROMQL_OP_STEP : PROMQL_OP_RANGE, NULL, NULL, k.pos,
                     r.pos + 1);
    } else {
        promql_expr_t *a = dur_expr(p, 0, cx);
        expect(p, T_COMMA, cx->context, cx->expected);
        promql_expr_t *b = dur_expr(p, 0, cx);
        promql_token_t r = expect(p, T_RIGHT_PAREN, cx->context, cx->expected);
        e = dur_node(p, k.type == T_MIN_OF ? PROMQL_OP_MIN_OF : PROMQL_OP_MAX_OF, a, b, k.pos,
                     r.pos + 1);
        e->start = k.pos;
    }
    experimental_duration(p, e);
    return e;
}

static promql_expr_t *dur_paren(parser_t *p, const dur_ctx_t *cx) {
    promql_token_t l = advance(p);
    promql_expr_t *inner = dur_expr(p, 0, cx);
    promql_token_t r = expect(p, T_RIGHT_PAREN, cx->context, cx->expected);
    experimental_duration(p, inner);
    return wrap_paren(p, inner, l.pos, r.pos + 1);
}

static promql_expr_t *dur_unary(parser_t *p, const dur_ctx_t *cx) {
    enter(p);
    const promql_token_t *t = peek(p);
    promql_expr_t *e;
    switch (t->type) {
    case T_ADD:
    case T_SUB: {
        promql_token_t op = advance(p);
        promql_expr_t *operand = dur_expr(p, 6, cx);
        e = apply_unary_duration(p, &op, operand);
        break;
    }
    case T_NUMBER:
    case T_DURATION: e = dur_literal(p); break;
    case T_STEP:
    case T_RANGE:
    case T_MIN_OF:
    case T_MAX_OF: e = dur_function(p, cx); break;
    case T_LEFT_PAREN: e = dur_paren(p, cx); break;
    default: unexpected(p, t, cx->context, cx->expected);
    }
    p->depth--;
    return e;
}

static int dur_prec(promql_tok_t t) {
    switch (t) {
    case T_ADD:
    case T_SUB: return 4;
    case T_MUL:
    case T_DIV:
    case T_MOD: return 5;
    case T_POW: return 6;
    default: return -1;
    }
}

static promql_op_t tok_op(promql_tok_t t) {
    switch (t) {
    case T_ADD: return PROMQL_OP_ADD;
    case T_SUB: return PROMQL_OP_SUB;
    case T_MUL: return PROMQL_OP_MUL;
    case T_DIV: return PROMQL_OP_DIV;
    case T_MOD: return PROMQL_OP_MOD;
    case T_POW: return PROMQL_OP_POW;
    case T_ATAN2: return PROMQL_OP_ATAN2;
    case T_EQLC: return PROMQL_OP_EQLC;
    case T_NEQ: return PROMQL_OP_NEQ;
    case T_LTE: return PROMQL_OP_LTE;
    case T_LSS: return PROMQL_OP_LSS;
    case T_GTE: return PROMQL_OP_GTE;
    case T_GTR: return PROMQL_OP_GTR;
    case T_TRIM_UPPER: return PROMQL_OP_TRIM_UPPER;
    case T_TRIM_LOWER: return PROMQL_OP_TRIM_LOWER;
    case T_LAND: return PROMQL_OP_AND;
    case T_LOR: return PROMQL_OP_OR;
    case T_LUNLESS: return PROMQL_OP_UNLESS;
    default: return PROMQL_OP_NONE;
    }
}

/* Continues a duration expression whose left operand is lhs. */
static promql_expr_t *dur_binary_loop(parser_t *p, promql_expr_t *lhs, int min_prec,
                                      const dur_ctx_t *cx) {
    for (;;) {
        const promql_token_t *t = peek(p);
        int prec = dur_prec(t->type);
        if (prec < 0 || prec < min_prec) return lhs;
        promql_token_t op = advance(p);
        promql_expr_t *rhs = dur_expr(p, op.type == T_POW ? prec : prec + 1, cx);
        experimental_duration(p, lhs);
        if (rhs->kind == PROMQL_NUMBER && rhs->u.number.value == 0) {
            if (op.type == T_DIV) promql_fail_at(p, VG_ERR_INPUT, op.pos, "division by zero");
            if (op.type == T_MOD) promql_fail_at(p, VG_ERR_INPUT, op.pos, "modulo by zero");
        }
        lhs = dur_node(p, tok_op(op.type), lhs, rhs, lhs->start, rhs->end);
    }
}

static promql_expr_t *dur_expr(parser_t *p, int min_prec, const dur_ctx_t *cx) {
    enter(p);
    promql_expr_t *lhs = dur_unary(p, cx);
    lhs = dur_binary_loop(p, lhs, min_prec, cx);
    p->depth--;
    return lhs;
}

/* positive_duration_expr: a literal must be > 0. */
static promql_expr_t *positive_duration(parser_t *p, const dur_ctx_t *cx) {
    promql_expr_t *e = dur_expr(p, 0, cx);
    if (e->kind == PROMQL_NUMBER && !(e->u.number.value > 0))
        promql_fail_at(p, VG_ERR_INPUT, e->start, "duration must be greater than 0");
    return e;
}

/* A range or step in ms from a literal (sub-millisecond values are zero in a
 * store with millisecond timestamps: refused rather than turned into 0). */
static int64_t literal_range_ms(parser_t *p, const promql_expr_t *e) {
    int64_t ms = seconds_to_ms(e->u.number.value);
    if (ms <= 0) promql_fail_at(p, VG_ERR_INPUT, e->start, "duration must be greater than 0");
    return ms;
}

/* ---------------------------------------------------- selectors */

static bool is_metric_identifier(promql_tok_t t) {
    switch (t) {
    case T_AVG:
    case T_BOTTOMK:
    case T_BY:
    case T_COUNT:
    case T_COUNT_VALUES:
    case T_FILL:
    case T_FILL_LEFT:
    case T_FILL_RIGHT:
    case T_GROUP:
    case T_IDENTIFIER:
    case T_LAND:
    case T_LOR:
    case T_LUNLESS:
    case T_MAX:
    case T_METRIC_IDENTIFIER:
    case T_MIN:
    case T_OFFSET:
    case T_QUANTILE:
    case T_STDDEV:
    case T_STDVAR:
    case T_SUM:
    case T_TOPK:
    case T_WITHOUT:
    case T_START:
    case T_END:
    case T_LIMITK:
    case T_LIMIT_RATIO:
    case T_STEP:
    case T_RANGE:
    case T_ANCHORED:
    case T_SMOOTHED:
    case T_MAX_OF:
    case T_MIN_OF: return true;
    default: return false;
    }
}

static bool is_maybe_label(promql_tok_t t) {
    switch (t) {
    case T_AVG:
    case T_BOOL:
    case T_BOTTOMK:
    case T_BY:
    case T_COUNT:
    case T_COUNT_VALUES:
    case T_GROUP:
    case T_GROUP_LEFT:
    case T_GROUP_RIGHT:
    case T_FILL:
    case T_FILL_LEFT:
    case T_FILL_RIGHT:
    case T_IDENTIFIER:
    case T_IGNORING:
    case T_LAND:
    case T_LOR:
    case T_LUNLESS:
    case T_MAX:
    case T_METRIC_IDENTIFIER:
    case T_MIN:
    case T_OFFSET:
    case T_ON:
    case T_QUANTILE:
    case T_STDDEV:
    case T_STDVAR:
    case T_SUM:
    case T_TOPK:
    case T_START:
    case T_END:
    case T_ATAN2:
    case T_LIMITK:
    case T_LIMIT_RATIO:
    case T_STEP:
    case T_RANGE:
    case T_ANCHORED:
    case T_SMOOTHED:
    case T_MAX_OF:
    case T_MIN_OF: return true;
    default: return false;
    }
}

static bool is_aggregator(promql_tok_t t) { return t > T_AGGS_START && t < T_AGGS_END; }

static void add_matcher(parser_t *p, promql_expr_t *vs, labels_match_type_t type, promql_str_t name,
                        promql_str_t value, size_t err_pos, promql_matcher_t **arr, size_t *cap) {
    if (vs->u.vector.n_matchers == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        promql_matcher_t *n = promql_alloc(p, ncap * sizeof *n);
        if (*cap) memcpy(n, *arr, *cap * sizeof *n);
        *arr = n;
        *cap = ncap;
    }
    promql_matcher_t *m = &(*arr)[vs->u.vector.n_matchers++];
    m->type = type;
    m->name = name;
    m->value = value;
    vg_err_t err;
    labels_matcher_t *c = NULL;
    if (labels_matcher_new(type, name.s, name.len, value.s, value.len, &c, &err) != 0)
        promql_fail_at(p, VG_ERR_INPUT, err_pos, "%s", err.msg);
    promql_ast_keep_matcher(p->ast, c);
    m->compiled = c;
    vs->u.vector.matchers = *arr;
}

static bool is_match_op(promql_tok_t t, labels_match_type_t *out) {
    switch (t) {
    case T_EQL: *out = LABELS_MATCH_EQUAL; return true;
    case T_NEQ: *out = LABELS_MATCH_NOT_EQUAL; return true;
    case T_EQL_REGEX: *out = LABELS_MATCH_REGEXP; return true;
    case T_NEQ_REGEX: *out = LABELS_MATCH_NOT_REGEXP; return true;
    default: return false;
    }
}

static const promql_str_t metric_name_label = {"__name__", 8};

/* { matchers } into vs; the '{' is the current token. */
static void parse_label_matchers(parser_t *p, promql_expr_t *vs, promql_matcher_t **arr,
                                 size_t *cap) {
    advance(p); /* { */
    const char *ctx = "label matching";
    if (peek_type(p) != T_RIGHT_BRACE) {
        for (;;) {
            const promql_token_t *t = peek(p);
            labels_match_type_t mt;
            if (t->type == T_IDENTIFIER) {
                promql_token_t name = advance(p);
                if (!is_match_op(peek_type(p), &mt))
                    unexpected(p, peek(p), ctx, "label matching operator");
                advance(p);
                if (peek_type(p) != T_STRING) unexpected(p, peek(p), ctx, "string");
                promql_token_t val = advance(p);
                add_matcher(p, vs, mt, str_dup(p, p->in + name.pos, name.len), unquote_tok(p, &val),
                            name.pos, arr, cap);
            } else if (t->type == T_STRING) {
                promql_token_t name = advance(p);
                promql_str_t n = unquote_tok(p, &name);
                if (is_match_op(peek_type(p), &mt)) {
                    advance(p);
                    if (peek_type(p) != T_STRING) unexpected(p, peek(p), ctx, "string");
                    promql_token_t val = advance(p);
                    add_matcher(p, vs, mt, n, unquote_tok(p, &val), name.pos, arr, cap);
                } else {
                    add_matcher(p, vs, LABELS_MATCH_EQUAL, metric_name_label, n, name.pos, arr,
                                cap);
                }
            } else {
                unexpected(p, t, ctx, "identifier or \"}\"");
            }
            if (peek_type(p) == T_COMMA) {
                advance(p);
                if (peek_type(p) == T_RIGHT_BRACE) break;
                continue;
            }
            if (peek_type(p) == T_RIGHT_BRACE) break;
            unexpected(p, peek(p), ctx, "\",\" or \"}\"");
        }
    }
    promql_token_t r = advance(p); /* } */
    vs->end = r.pos + 1;
}

static promql_expr_t *parse_vector_selector(parser_t *p) {
    const promql_token_t *t = peek(p);
    promql_expr_t *vs = new_node(p, PROMQL_VECTOR, t->pos, t->pos + t->len);
    promql_matcher_t *arr = NULL;
    size_t cap = 0;
    if (t->type != T_LEFT_BRACE) {
        promql_token_t name = advance(p);
        vs->u.vector.name = str_dup(p, p->in + name.pos, name.len);
        if (peek_type(p) == T_LEFT_BRACE) parse_label_matchers(p, vs, &arr, &cap);
        add_matcher(p, vs, LABELS_MATCH_EQUAL, metric_name_label, vs->u.vector.name, name.pos, &arr,
                    &cap);
    } else {
        parse_label_matchers(p, vs, &arr, &cap);
        vs->u.vector.name = str_dup(p, "", 0);
    }
    return vs;
}

/* ( label, ... ) for by/without/on/ignoring/group_*; the current token is
 * expected to be '('. */
static void parse_grouping_labels(parser_t *p, promql_str_t **out, size_t *out_n) {
    const char *ctx = "grouping opts";
    if (peek_type(p) != T_LEFT_PAREN) unexpected(p, peek(p), ctx, "\"(\"");
    advance(p);
    promql_str_t *arr = NULL;
    size_t n = 0, cap = 0;
    if (peek_type(p) != T_RIGHT_PAREN) {
        for (;;) {
            const promql_token_t *t = peek(p);
            promql_str_t label;
            size_t pos = t->pos;
            if (is_maybe_label(t->type)) {
                promql_token_t l = advance(p);
                label = str_dup(p, p->in + l.pos, l.len);
            } else if (t->type == T_STRING) {
                promql_token_t l = advance(p);
                label = unquote_tok(p, &l);
                pos = l.pos + 1;
            } else {
                unexpected(p, t, ctx, "label");
            }
            if (label.len == 0 || !labels_utf8_valid(label.s, label.len)) {
                vg_buf_t b = VG_BUF_INIT;
                promql_quote(label.s, label.len, &b);
                char *m = promql_alloc(p, b.len + 1);
                memcpy(m, b.data, b.len + 1);
                vg_buf_free(&b);
                promql_fail_at(p, VG_ERR_INPUT, pos, "invalid label name for grouping: %s", m);
            }
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 4;
                promql_str_t *na = promql_alloc(p, ncap * sizeof *na);
                if (n) memcpy(na, arr, n * sizeof *na);
                arr = na;
                cap = ncap;
            }
            arr[n++] = label;
            if (peek_type(p) == T_COMMA) {
                advance(p);
                if (peek_type(p) == T_RIGHT_PAREN) break;
                continue;
            }
            if (peek_type(p) == T_RIGHT_PAREN) break;
            unexpected(p, peek(p), ctx, "\",\" or \")\"");
        }
    }
    advance(p); /* ) */
    *out = arr ? arr : promql_alloc(p, sizeof *arr);
    *out_n = n;
}

/* -------------------------------------------------------- modifiers */

static promql_modifiers_t *modifiers_of(parser_t *p, promql_expr_t *e, bool for_at) {
    switch (e->kind) {
    case PROMQL_VECTOR: return &e->u.vector.mod;
    case PROMQL_MATRIX:
        if (e->u.matrix.vector->kind != PROMQL_VECTOR)
            promql_fail_at(p, VG_ERR_INPUT, e->start, "ranges only allowed for vector selectors");
        return &e->u.matrix.vector->u.vector.mod;
    case PROMQL_SUBQUERY: return &e->u.subquery.mod;
    default:
        if (for_at)
            promql_fail_at(p, VG_ERR_INPUT, e->start,
                           "@ modifier must be preceded by an instant vector selector or range "
                           "vector selector or a subquery");
        promql_fail_at(p, VG_ERR_INPUT, e->start,
                       "offset modifier must be preceded by an instant vector selector or range "
                       "vector selector or a subquery");
    }
}

static void parse_offset(parser_t *p, promql_expr_t *e) {
    advance(p); /* offset */
    static const dur_ctx_t cx = {"offset", "number, duration, step(), or range()"};
    const promql_token_t *t = peek(p);
    promql_expr_t *d;
    switch (t->type) {
    case T_NUMBER:
    case T_DURATION: d = dur_literal(p); break;
    case T_ADD:
    case T_SUB: {
        promql_token_t op = advance(p);
        const promql_token_t *n = peek(p);
        if (n->type == T_NUMBER || n->type == T_DURATION) {
            d = number_literal(p);
            d = apply_unary_duration(p, &op, d);
        } else if (n->type == T_STEP || n->type == T_RANGE || n->type == T_MIN_OF ||
                   n->type == T_MAX_OF) {
            d = dur_function(p, &cx);
            d = apply_unary_duration(p, &op, d);
            experimental_duration(p, d);
        } else if (n->type == T_LEFT_PAREN) {
            promql_expr_t *w = dur_paren(p, &cx);
            d = apply_unary_duration(p, &op, w);
        } else if (n->type == T_ADD || n->type == T_SUB) {
            /* Two or more signs: Prometheus's grammar has no offset rule
             * for them, so the input goes on as a whole duration_expr,
             * operators after the operand included: in "foo offset --5m * 2"
             * the offset is (--5m) * 2 (each sign binding as a unary does,
             * below ^), where with one sign or none "* 2" is left to the
             * outer expression. */
            promql_expr_t *operand = dur_unary(p, &cx);
            d = apply_unary_duration(p, &op, operand);
            d = dur_binary_loop(p, d, 0, &cx);
        } else {
            unexpected(p, n, cx.context, cx.expected);
        }
        break;
    }
    case T_STEP:
    case T_RANGE:
    case T_MIN_OF:
    case T_MAX_OF: d = dur_function(p, &cx); break;
    case T_LEFT_PAREN:
        /* (…) is a duration expression that may go on with operators */
        d = dur_paren(p, &cx);
        d = dur_binary_loop(p, d, 0, &cx);
        break;
    default: unexpected(p, t, cx.context, cx.expected);
    }
    promql_modifiers_t *m = modifiers_of(p, e, false);
    if (m->offset_ms != 0 || m->offset_expr)
        promql_fail_at(p, VG_ERR_INPUT, e->start, "offset may not be set multiple times");
    if (d->kind == PROMQL_NUMBER)
        m->offset_ms = seconds_to_ms(d->u.number.value);
    else
        m->offset_expr = d;
    e->end = (uint32_t)p->last_end;
}

static void parse_at(parser_t *p, promql_expr_t *e) {
    advance(p); /* @ */
    const char *ctx = "@", *exp = "timestamp";
    const promql_token_t *t = peek(p);
    promql_at_t at = PROMQL_AT_TIMESTAMP;
    double ts = 0;
    if (t->type == T_START || t->type == T_END) {
        at = t->type == T_START ? PROMQL_AT_START : PROMQL_AT_END;
        advance(p);
        expect(p, T_LEFT_PAREN, ctx, exp);
        expect(p, T_RIGHT_PAREN, ctx, exp);
    } else {
        double sign = 1;
        if (t->type == T_ADD || t->type == T_SUB) {
            sign = t->type == T_SUB ? -1 : 1;
            advance(p);
            t = peek(p);
        }
        if (t->type != T_NUMBER && t->type != T_DURATION) unexpected(p, t, ctx, exp);
        promql_expr_t *n = number_literal(p);
        ts = sign * n->u.number.value;
        double ms = round(ts * 1000);
        if (isinf(ts) || isnan(ts) ||
            !(ms < 9.2233720368547758e18 && ms > -9.2233720368547758e18)) {
            char v[400];
            if (isnan(ts))
                snprintf(v, sizeof v, "NaN");
            else if (isinf(ts))
                snprintf(v, sizeof v, "%s", ts > 0 ? "+Inf" : "-Inf");
            else
                snprintf(v, sizeof v, "%f", ts);
            promql_fail_at(p, VG_ERR_INPUT, e->start, "timestamp out of bounds for @ modifier: %s",
                           v);
        }
    }
    promql_modifiers_t *m = modifiers_of(p, e, true);
    if (m->at != PROMQL_AT_NONE)
        promql_fail_at(p, VG_ERR_INPUT, e->start, "@ <timestamp> may not be set multiple times");
    m->at = at;
    if (at == PROMQL_AT_TIMESTAMP) m->at_ms = (int64_t)round(ts * 1000);
    e->end = (uint32_t)p->last_end;
}

static void parse_anchored_smoothed(parser_t *p, promql_expr_t *e) {
    promql_token_t t = advance(p);
    bool anchored = t.type == T_ANCHORED;
    const char *what = anchored ? "anchored" : "smoothed";
    if (!p->opts.extended_range)
        promql_fail_at(p, VG_ERR_INPUT, e->start, "%s modifier is experimental and not enabled",
                       what);
    promql_expr_t *vs = NULL;
    switch (e->kind) {
    case PROMQL_VECTOR: vs = e; break;
    case PROMQL_MATRIX:
        if (e->u.matrix.vector->kind != PROMQL_VECTOR) return;
        vs = e->u.matrix.vector;
        break;
    case PROMQL_SUBQUERY:
        promql_fail_at(p, VG_ERR_INPUT, e->start, "%s modifier is not supported for subqueries",
                       what);
    default: promql_fail_at(p, VG_ERR_INPUT, e->start, "%s modifier not implemented", what);
    }
    if (anchored)
        vs->u.vector.anchored = true;
    else
        vs->u.vector.smoothed = true;
    if (vs->u.vector.anchored && vs->u.vector.smoothed)
        promql_fail_at(p, VG_ERR_INPUT, e->start,
                       "anchored and smoothed modifiers cannot be used together");
}

/* [range] or [range:step] after e; '[' is the current token. */
static promql_expr_t *parse_brackets(parser_t *p, promql_expr_t *e) {
    promql_token_t lb = advance(p);
    static const dur_ctx_t cx_range = {"subquery or range selector",
                                       "number, duration, step(), or range()"};
    static const dur_ctx_t cx_step = {"subquery selector",
                                      "number, duration, step(), range(), or \"]\""};
    promql_expr_t *range = positive_duration(p, &cx_range);
    const promql_token_t *t = peek(p);
    if (t->type == T_RIGHT_BRACKET) {
        promql_token_t rb = advance(p);
        const char *msg = NULL;
        if (e->kind != PROMQL_VECTOR)
            msg = "ranges only allowed for vector selectors";
        else if (e->u.vector.mod.offset_ms != 0 || e->u.vector.mod.offset_expr)
            msg = "no offset modifiers allowed before range";
        else if (e->u.vector.mod.at != PROMQL_AT_NONE)
            msg = "no @ modifiers allowed before range";
        if (msg) promql_fail_at(p, VG_ERR_INPUT, lb.pos, "%s", msg);
        promql_expr_t *m = new_node(p, PROMQL_MATRIX, e->start, rb.pos + 1);
        m->u.matrix.vector = e;
        if (range->kind == PROMQL_NUMBER)
            m->u.matrix.range_ms = literal_range_ms(p, range);
        else
            m->u.matrix.range_expr = range;
        set_height(p, m, e, NULL);
        return m;
    }
    if (t->type != T_COLON) unexpected(p, t, "subquery or range", "\":\" or \"]\"");
    advance(p);
    promql_expr_t *step = NULL;
    if (peek_type(p) != T_RIGHT_BRACKET) {
        step = positive_duration(p, &cx_step);
        if (peek_type(p) != T_RIGHT_BRACKET) unexpected(p, peek(p), "subquery selector", "\"]\"");
    }
    promql_token_t rb = advance(p);
    promql_expr_t *s = new_node(p, PROMQL_SUBQUERY, e->start, rb.pos + 1);
    s->u.subquery.expr = e;
    if (range->kind == PROMQL_NUMBER)
        s->u.subquery.range_ms = literal_range_ms(p, range);
    else
        s->u.subquery.range_expr = range;
    if (step && step->kind == PROMQL_NUMBER)
        s->u.subquery.step_ms = literal_range_ms(p, step);
    else
        s->u.subquery.step_expr = step;
    set_height(p, s, e, NULL);
    return s;
}

static promql_expr_t *parse_postfix(parser_t *p, promql_expr_t *e) {
    for (;;) {
        switch (peek_type(p)) {
        case T_LEFT_BRACKET: e = parse_brackets(p, e); break;
        case T_OFFSET: parse_offset(p, e); break;
        case T_AT: parse_at(p, e); break;
        case T_ANCHORED:
        case T_SMOOTHED: parse_anchored_smoothed(p, e); break;
        default: return e;
        }
    }
}

/* ------------------------------------------------------ expressions */

static promql_expr_t *parse_expr(parser_t *p, int min_prec);

/* ( args ) of a call or aggregation; '(' is the current token. */
static promql_expr_t **parse_call_body(parser_t *p, size_t *out_n) {
    advance(p); /* ( */
    promql_expr_t **args = NULL;
    size_t n = 0, cap = 0;
    if (peek_type(p) != T_RIGHT_PAREN) {
        for (;;) {
            promql_expr_t *a = parse_expr(p, 0);
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 4;
                promql_expr_t **na = promql_alloc(p, ncap * sizeof *na);
                if (n) memcpy(na, args, n * sizeof *na);
                args = na;
                cap = ncap;
            }
            args[n++] = a;
            if (peek_type(p) == T_COMMA) {
                promql_token_t c = advance(p);
                if (peek_type(p) == T_RIGHT_PAREN)
                    promql_fail_at(p, VG_ERR_INPUT, c.pos,
                                   "trailing commas not allowed in function call args");
                continue;
            }
            if (peek_type(p) == T_RIGHT_PAREN) break;
            unexpected(p, peek(p), NULL, NULL);
        }
    }
    advance(p); /* ) */
    *out_n = n;
    return args;
}

static promql_agg_op_t agg_op(promql_tok_t t) {
    switch (t) {
    case T_SUM: return PROMQL_AGG_SUM;
    case T_AVG: return PROMQL_AGG_AVG;
    case T_COUNT: return PROMQL_AGG_COUNT;
    case T_MIN: return PROMQL_AGG_MIN;
    case T_MAX: return PROMQL_AGG_MAX;
    case T_GROUP: return PROMQL_AGG_GROUP;
    case T_STDDEV: return PROMQL_AGG_STDDEV;
    case T_STDVAR: return PROMQL_AGG_STDVAR;
    case T_TOPK: return PROMQL_AGG_TOPK;
    case T_BOTTOMK: return PROMQL_AGG_BOTTOMK;
    case T_COUNT_VALUES: return PROMQL_AGG_COUNT_VALUES;
    case T_QUANTILE: return PROMQL_AGG_QUANTILE;
    case T_LIMITK: return PROMQL_AGG_LIMITK;
    default: return PROMQL_AGG_LIMIT_RATIO;
    }
}

static void parse_agg_modifier(parser_t *p, promql_expr_t *a) {
    promql_token_t m = advance(p);
    a->u.aggregate.without = m.type == T_WITHOUT;
    parse_grouping_labels(p, &a->u.aggregate.grouping, &a->u.aggregate.n_grouping);
}

static promql_expr_t *parse_aggregate(parser_t *p) {
    promql_token_t op = advance(p);
    promql_expr_t *a = new_node(p, PROMQL_AGGREGATE, op.pos, op.pos + op.len);
    a->u.aggregate.op = agg_op(op.type);
    p->agg_depth++;
    bool modifier = false;
    if (peek_type(p) == T_BY || peek_type(p) == T_WITHOUT) {
        parse_agg_modifier(p, a);
        modifier = true;
    }
    if (peek_type(p) != T_LEFT_PAREN) unexpected(p, peek(p), "aggregation", NULL);
    size_t n;
    promql_expr_t **args = parse_call_body(p, &n);
    p->agg_depth--;
    if (!modifier && (peek_type(p) == T_BY || peek_type(p) == T_WITHOUT)) parse_agg_modifier(p, a);
    a->end = (uint32_t)p->last_end;
    if (n == 0)
        promql_fail_at(p, VG_ERR_INPUT, a->start, "no arguments for aggregate expression provided");
    size_t want = 1;
    if (promql_agg_has_param(a->u.aggregate.op)) {
        if (!p->opts.experimental_functions &&
            (a->u.aggregate.op == PROMQL_AGG_LIMITK || a->u.aggregate.op == PROMQL_AGG_LIMIT_RATIO))
            promql_fail_at(p, VG_ERR_INPUT, a->start,
                           "%s() is experimental and must be enabled with "
                           "--enable-feature=promql-experimental-functions",
                           promql_agg_op_str(a->u.aggregate.op));
        want = 2;
        a->u.aggregate.param = args[0];
    }
    if (n != want)
        promql_fail_at(p, VG_ERR_INPUT, a->start,
                       "wrong number of arguments for aggregate expression provided, expected "
                       "%zu, got %zu",
                       want, n);
    a->u.aggregate.expr = args[want - 1];
    set_height(p, a, a->u.aggregate.expr, a->u.aggregate.param);
    return a;
}

static promql_expr_t *parse_call(parser_t *p) {
    promql_token_t name = advance(p);
    size_t n;
    promql_expr_t **args = parse_call_body(p, &n);
    const promql_function_t *f = promql_function_lookup(p->in + name.pos, name.len);
    if (!f) {
        vg_buf_t b = VG_BUF_INIT;
        promql_quote(p->in + name.pos, name.len, &b);
        char *m = promql_alloc(p, b.len + 1);
        memcpy(m, b.data, b.len + 1);
        vg_buf_free(&b);
        promql_fail_at(p, VG_ERR_INPUT, name.pos, "unknown function with name %s", m);
    }
    if (f->experimental && !p->opts.experimental_functions)
        promql_fail_at(p, VG_ERR_INPUT, name.pos, "function \"%s\" is not enabled", f->name);
    promql_expr_t *c = new_node(p, PROMQL_CALL, name.pos, p->last_end);
    c->u.call.func = f;
    c->u.call.args = args;
    c->u.call.n_args = n;
    for (size_t i = 0; i < n; i++)
        set_height(p, c, args[i], c->height > 1 ? c : NULL);
    return c;
}

static promql_expr_t *parse_primary(parser_t *p) {
    const promql_token_t *t = peek(p);
    switch (t->type) {
    case T_NUMBER:
    case T_DURATION: return number_literal(p);
    case T_STRING: {
        promql_token_t s = advance(p);
        promql_expr_t *e = new_node(p, PROMQL_STRING, s.pos, s.pos + s.len);
        e->u.string = unquote_tok(p, &s);
        return e;
    }
    case T_LEFT_PAREN: {
        promql_token_t l = advance(p);
        promql_expr_t *inner = parse_expr(p, 0);
        if (peek_type(p) != T_RIGHT_PAREN) unexpected(p, peek(p), NULL, NULL);
        promql_token_t r = advance(p);
        promql_expr_t *e = new_node(p, PROMQL_PAREN, l.pos, r.pos + 1);
        e->u.paren.expr = inner;
        set_height(p, e, inner, NULL);
        return e;
    }
    case T_LEFT_BRACE: return parse_vector_selector(p);
    case T_IDENTIFIER:
    case T_START:
    case T_END:
    case T_STEP:
    case T_RANGE:
    case T_MAX_OF:
    case T_MIN_OF:
        if (peek_at(p, 1)->type == T_LEFT_PAREN) return parse_call(p);
        return parse_vector_selector(p);
    default: break;
    }
    if (is_aggregator(t->type)) {
        promql_tok_t n = peek_at(p, 1)->type;
        if (n == T_LEFT_PAREN || n == T_BY || n == T_WITHOUT) return parse_aggregate(p);
        return parse_vector_selector(p);
    }
    if (is_metric_identifier(t->type)) return parse_vector_selector(p);
    unexpected(p, t, NULL, NULL);
}

static promql_expr_t *parse_unary(parser_t *p) {
    enter(p);
    promql_expr_t *e;
    promql_tok_t tt = peek_type(p);
    if (tt == T_ADD || tt == T_SUB) {
        promql_token_t op = advance(p);
        promql_expr_t *operand = parse_expr(p, 6);
        if (operand->kind == PROMQL_NUMBER) {
            if (op.type == T_SUB) operand->u.number.value = -operand->u.number.value;
            operand->start = op.pos;
            e = operand;
        } else {
            e = new_node(p, PROMQL_UNARY, op.pos, operand->end);
            e->u.unary.op = tok_op(op.type);
            e->u.unary.expr = operand;
            set_height(p, e, operand, NULL);
        }
    } else {
        e = parse_postfix(p, parse_primary(p));
    }
    p->depth--;
    return e;
}

static int bin_prec(promql_tok_t t) {
    switch (t) {
    case T_LOR: return 1;
    case T_LAND:
    case T_LUNLESS: return 2;
    case T_EQLC:
    case T_GTE:
    case T_GTR:
    case T_LSS:
    case T_LTE:
    case T_NEQ:
    case T_TRIM_UPPER:
    case T_TRIM_LOWER: return 3;
    case T_ADD:
    case T_SUB: return 4;
    case T_MUL:
    case T_DIV:
    case T_MOD:
    case T_ATAN2: return 5;
    case T_POW: return 6;
    default: return -1;
    }
}

/* ( [-+] number ) after fill/fill_left/fill_right. */
static double parse_fill_value(parser_t *p) {
    expect(p, T_LEFT_PAREN, NULL, NULL);
    double sign = 1;
    if (peek_type(p) == T_ADD || peek_type(p) == T_SUB) sign = advance(p).type == T_SUB ? -1 : 1;
    if (peek_type(p) != T_NUMBER && peek_type(p) != T_DURATION) unexpected(p, peek(p), NULL, NULL);
    promql_expr_t *n = number_literal(p);
    expect(p, T_RIGHT_PAREN, NULL, NULL);
    return sign * n->u.number.value;
}

static promql_vector_matching_t *parse_bin_modifiers(parser_t *p, bool *out_bool) {
    promql_vector_matching_t *vm = promql_alloc(p, sizeof *vm);
    vm->card = PROMQL_CARD_ONE_TO_ONE;
    if (peek_type(p) == T_BOOL) {
        advance(p);
        *out_bool = true;
    }
    if (peek_type(p) == T_ON || peek_type(p) == T_IGNORING) {
        vm->on = advance(p).type == T_ON;
        parse_grouping_labels(p, &vm->labels, &vm->n_labels);
        if (peek_type(p) == T_GROUP_LEFT || peek_type(p) == T_GROUP_RIGHT) {
            vm->card =
                advance(p).type == T_GROUP_LEFT ? PROMQL_CARD_MANY_TO_ONE : PROMQL_CARD_ONE_TO_MANY;
            if (peek_type(p) == T_LEFT_PAREN)
                parse_grouping_labels(p, &vm->include, &vm->n_include);
        }
    }
    promql_tok_t f = peek_type(p);
    if (f == T_FILL) {
        advance(p);
        vm->fill_lhs = vm->fill_rhs = parse_fill_value(p);
        vm->has_fill_lhs = vm->has_fill_rhs = true;
    } else if (f == T_FILL_LEFT || f == T_FILL_RIGHT) {
        advance(p);
        double v = parse_fill_value(p);
        if (f == T_FILL_LEFT)
            vm->fill_lhs = v, vm->has_fill_lhs = true;
        else
            vm->fill_rhs = v, vm->has_fill_rhs = true;
        promql_tok_t other = f == T_FILL_LEFT ? T_FILL_RIGHT : T_FILL_LEFT;
        if (peek_type(p) == other) {
            advance(p);
            v = parse_fill_value(p);
            if (other == T_FILL_LEFT)
                vm->fill_lhs = v, vm->has_fill_lhs = true;
            else
                vm->fill_rhs = v, vm->has_fill_rhs = true;
        }
    }
    return vm;
}

static promql_expr_t *parse_expr(parser_t *p, int min_prec) {
    enter(p);
    promql_expr_t *lhs = parse_unary(p);
    for (;;) {
        promql_tok_t tt = peek_type(p);
        int prec = bin_prec(tt);
        if (prec < 0 || prec < min_prec) break;
        promql_token_t op = advance(p);
        bool ret_bool = false;
        promql_vector_matching_t *vm = parse_bin_modifiers(p, &ret_bool);
        promql_expr_t *rhs = parse_expr(p, op.type == T_POW ? prec : prec + 1);
        promql_expr_t *b = new_node(p, PROMQL_BINARY, lhs->start, rhs->end);
        b->u.binary.op = tok_op(op.type);
        b->u.binary.lhs = lhs;
        b->u.binary.rhs = rhs;
        b->u.binary.return_bool = ret_bool;
        b->u.binary.matching = vm;
        set_height(p, b, lhs, rhs);
        if (!p->opts.fill_modifiers && (vm->has_fill_lhs || vm->has_fill_rhs))
            promql_fail_at(p, VG_ERR_INPUT, b->start,
                           "binop fill modifiers are experimental and not enabled");
        lhs = b;
    }
    p->depth--;
    return lhs;
}

/* ---------------------------------------------------------- driver */

void promql_ast_keep_matcher(promql_ast_t *ast, labels_matcher_t *m) {
    if (ast->n_compiled == ast->cap_compiled) {
        ast->cap_compiled = ast->cap_compiled ? ast->cap_compiled * 2 : 8;
        ast->compiled = vg_realloc(ast->compiled, ast->cap_compiled * sizeof *ast->compiled);
    }
    ast->compiled[ast->n_compiled++] = m;
}

void promql_ast_free(promql_ast_t *ast) {
    if (!ast) return;
    for (size_t i = 0; i < ast->n_compiled; i++)
        labels_matcher_free(ast->compiled[i]);
    free(ast->compiled);
    vg_arena_free(ast->arena);
    free(ast);
}

/* "line:col" of a byte offset, as Prometheus's PositionRange.StartPosInput. */
static void position_str(const char *q, size_t len, size_t pos, char *out, size_t out_len) {
    if (len == 0) {
        snprintf(out, out_len, "unknown position");
        return;
    }
    if (pos > len) {
        snprintf(out, out_len, "invalid position");
        return;
    }
    size_t line = 1, last_break = 0;
    bool any = false;
    for (size_t i = 0; i < pos; i++)
        if (q[i] == '\n') line++, last_break = i, any = true;
    size_t col = any ? pos - last_break : pos + 1;
    snprintf(out, out_len, "%zu:%zu", line, col);
}

int promql_parse(const char *query, size_t len, const promql_parse_opts_t *opts, promql_ast_t **out,
                 size_t *out_pos, vg_err_t *err) {
    *out = NULL;
    promql_parse_opts_t o = {0};
    if (opts) o = *opts;
    if (!o.max_len) o.max_len = PROMQL_MAX_QUERY_LEN;
    if (!o.max_depth) o.max_depth = PROMQL_MAX_DEPTH;
    if (len > o.max_len) {
        if (out_pos) *out_pos = 0;
        return vg_err_set(err, VG_ERR_LIMIT, "query is too long: %zu bytes, the limit is %zu", len,
                          o.max_len);
    }
    if (len > UINT32_MAX / 2) return vg_err_set(err, VG_ERR_LIMIT, "query is too long");
    promql_ast_t *ast = vg_calloc(1, sizeof *ast);
    /* Budget: far above what any query needs (about 100 bytes per input
     * byte at worst), so that only hostile input reaches it. */
    ast->arena = vg_arena_new((size_t)1 << 16 | len * 256);
    char *copy = vg_arena_alloc(ast->arena, len + 1);
    memcpy(copy, query, len);
    copy[len] = 0;
    ast->query = copy;
    ast->query_len = len;

    parser_t *p = vg_calloc(1, sizeof *p);
    p->ast = ast;
    p->in = copy;
    p->len = len;
    p->opts = o;
    p->max_depth = o.max_depth;
    promql_lex_init(&p->lex, copy, len);
    int rc = 0;
    if (setjmp(p->jmp) == 0) {
        if (peek_type(p) == T_EOF)
            promql_fail_at(p, VG_ERR_INPUT, 0, "no expression found in input");
        promql_expr_t *e = parse_expr(p, 0);
        if (peek_type(p) != T_EOF) unexpected(p, peek(p), NULL, NULL);
        ast->root = e;
        promql_check(p, e);
    } else {
        rc = p->err_code ? p->err_code : VG_ERR_INPUT;
        char where[48];
        position_str(copy, len, p->err_pos, where, sizeof where);
        vg_err_set(err, rc, "%s: parse error: %s", where, p->msg.data ? p->msg.data : "");
        if (out_pos) *out_pos = p->err_pos;
    }
    vg_buf_free(&p->msg);
    free(p);
    if (rc != 0) {
        promql_ast_free(ast);
        return rc;
    }
    *out = ast;
    return 0;
}
