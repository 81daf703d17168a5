/*
 * This file implements the printer: an expression back to PromQL text the
 * way Prometheus's Expr.String() writes it (printer.go), which is also
 * what its API returns for formatted queries. Numbers use Go's shortest 'f'
 * form, durations model.Duration's, strings Go's quoting.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "promql/promql_int.h"

void promql_format_float_f(double v, vg_buf_t *out) {
    char g[VG_FLOAT_MAX_LEN];
    vg_format_float(v, g);
    if (isnan(v) || isinf(v)) {
        vg_buf_puts(out, g);
        return;
    }
    /* Split Go's shortest 'g' output into digits and a decimal exponent. */
    const char *s = g;
    if (*s == '-') {
        vg_buf_putc(out, '-');
        s++;
    }
    char digits[32];
    size_t nd = 0;
    int point = -1; /* digits before the decimal point */
    const char *e = s;
    for (; *e && *e != 'e'; e++) {
        if (*e == '.') {
            point = (int)nd;
            continue;
        }
        digits[nd++] = *e;
    }
    if (point < 0) point = (int)nd;
    if (*e == 'e') point += atoi(e + 1);
    /* drop leading zeros ("0.001" gives digits "0001") */
    size_t lead = 0;
    while (lead + 1 < nd && digits[lead] == '0')
        lead++, point--;
    const char *d = digits + lead;
    nd -= lead;
    if (point <= 0) {
        vg_buf_puts(out, "0.");
        for (int i = point; i < 0; i++)
            vg_buf_putc(out, '0');
        vg_buf_append(out, d, nd);
    } else if ((size_t)point >= nd) {
        vg_buf_append(out, d, nd);
        for (size_t i = nd; i < (size_t)point; i++)
            vg_buf_putc(out, '0');
    } else {
        vg_buf_append(out, d, (size_t)point);
        vg_buf_putc(out, '.');
        vg_buf_append(out, d + point, nd - (size_t)point);
    }
}

void promql_format_duration(int64_t ms, vg_buf_t *out) {
    if (ms == 0) {
        vg_buf_puts(out, "0s");
        return;
    }
    uint64_t u = (uint64_t)ms;
    if (ms < 0) {
        vg_buf_putc(out, '-');
        u = (uint64_t)0 - u;
    }
    static const struct {
        const char *unit;
        uint64_t mult;
        bool exact; /* years and weeks only when nothing smaller is left */
    } units[] = {{"y", 365ull * 86400000, true},
                 {"w", 7ull * 86400000, true},
                 {"d", 86400000, false},
                 {"h", 3600000, false},
                 {"m", 60000, false},
                 {"s", 1000, false},
                 {"ms", 1, false}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (units[i].exact && u % units[i].mult != 0) continue;
        uint64_t v = u / units[i].mult;
        if (v > 0) {
            vg_buf_printf(out, "%llu%s", (unsigned long long)v, units[i].unit);
            u -= v * units[i].mult;
        }
    }
}

/* model.Duration(seconds * 1e9) in ms. Prometheus truncates the product,
 * which turns 1001ms (1.001 s, 1000999999.9999 ns) into "1s" and loses
 * milliseconds of long durations; duration literals are whole
 * milliseconds, so rounding to the millisecond prints what was written. */
static int64_t seconds_to_ms(double v) {
    double ms = round(v * 1e3);
    if (!(ms < 9.2233720368547758e18)) return INT64_MAX;
    if (!(ms > -9.2233720368547758e18)) return INT64_MIN + 1;
    return (int64_t)ms;
}

static bool legacy_name(const char *s, size_t n) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (i > 0 && c >= '0' && c <= '9'))
            continue;
        return false;
    }
    return true;
}

/* Words the lexer does not read back as a label in a grouping list. */
static bool grouping_keyword(const char *s, size_t n) {
    static const char *const words[] = {"inf", "nan", "without"};
    for (size_t k = 0; k < 3; k++)
        if (n == strlen(words[k]) && strncasecmp(s, words[k], n) == 0) return true;
    return false;
}

static void write_labels(const promql_str_t *ls, size_t n, vg_buf_t *out) {
    for (size_t i = 0; i < n; i++) {
        if (i) vg_buf_puts(out, ", ");
        /* Prometheus writes NaN, Inf and without bare, which do not parse
         * back as labels; they are quoted here. */
        if (legacy_name(ls[i].s, ls[i].len) && !grouping_keyword(ls[i].s, ls[i].len))
            vg_buf_append(out, ls[i].s, ls[i].len);
        else
            promql_quote(ls[i].s, ls[i].len, out);
    }
}

static bool duration_op(promql_op_t op) {
    return op == PROMQL_OP_ADD || op == PROMQL_OP_SUB || op == PROMQL_OP_MUL ||
           op == PROMQL_OP_DIV || op == PROMQL_OP_MOD || op == PROMQL_OP_POW;
}

/* pow_lhs: e is the left operand of ^; op_follows: the next thing printed
 * after e is a binary operator that can go on a duration (+ - * / % ^). */
static void print_expr(const promql_expr_t *e, vg_buf_t *out, bool pow_lhs, bool op_follows);

static void print_number(const promql_expr_t *e, vg_buf_t *out, bool pow_lhs) {
    double v = e->u.number.value;
    if (e->u.number.duration) {
        if (v < 0) {
            vg_buf_putc(out, '-');
            promql_format_duration(seconds_to_ms(-v), out);
        } else {
            promql_format_duration(seconds_to_ms(v), out);
        }
        return;
    }
    /* Prometheus writes "+Inf"; as the left operand of ^ that would read
     * back as a unary plus over the power, so it is written "Inf" there. */
    if (pow_lhs && isinf(v) && v > 0) {
        vg_buf_puts(out, "Inf");
        return;
    }
    promql_format_float_f(v, out);
}

static void print_duration_expr(const promql_expr_t *e, vg_buf_t *out) {
    if (e->kind != PROMQL_DURATION_EXPR) {
        print_expr(e, out, false, false);
        return;
    }
    if (e->u.duration.wrapped) vg_buf_putc(out, '(');
    switch (e->u.duration.op) {
    case PROMQL_OP_STEP: vg_buf_puts(out, "step()"); break;
    case PROMQL_OP_RANGE: vg_buf_puts(out, "range()"); break;
    case PROMQL_OP_MIN_OF:
    case PROMQL_OP_MAX_OF:
        vg_buf_puts(out, promql_op_str(e->u.duration.op));
        vg_buf_putc(out, '(');
        print_duration_expr(e->u.duration.lhs, out);
        vg_buf_puts(out, ", ");
        print_duration_expr(e->u.duration.rhs, out);
        vg_buf_putc(out, ')');
        break;
    default:
        if (!e->u.duration.lhs) {
            if (e->u.duration.op == PROMQL_OP_SUB) vg_buf_putc(out, '-');
            print_duration_expr(e->u.duration.rhs, out);
        } else {
            print_duration_expr(e->u.duration.lhs, out);
            vg_buf_putc(out, ' ');
            vg_buf_puts(out, promql_op_str(e->u.duration.op));
            vg_buf_putc(out, ' ');
            print_duration_expr(e->u.duration.rhs, out);
        }
    }
    if (e->u.duration.wrapped) vg_buf_putc(out, ')');
}

static void print_at(const promql_modifiers_t *m, vg_buf_t *out) {
    switch (m->at) {
    case PROMQL_AT_TIMESTAMP: vg_buf_printf(out, " @ %.3f", (double)m->at_ms / 1000.0); break;
    case PROMQL_AT_START: vg_buf_puts(out, " @ start()"); break;
    case PROMQL_AT_END: vg_buf_puts(out, " @ end()"); break;
    default: break;
    }
}

/* Whether the parser's offset rules read d's printed form back whole: they
 * take one operand (a number, step(), range(), min_of/max_of or a
 * parenthesised duration, with at most one sign) and leave any operator
 * after it to the outer expression. */
static bool offset_operand(const promql_expr_t *d) {
    if (d->kind != PROMQL_DURATION_EXPR || d->u.duration.wrapped) return true;
    switch (d->u.duration.op) {
    case PROMQL_OP_STEP:
    case PROMQL_OP_RANGE:
    case PROMQL_OP_MIN_OF:
    case PROMQL_OP_MAX_OF: return true;
    case PROMQL_OP_SUB:
        if (d->u.duration.lhs) return false;
        d = d->u.duration.rhs;
        return d->kind == PROMQL_DURATION_EXPR &&
               (d->u.duration.wrapped || d->u.duration.op == PROMQL_OP_STEP ||
                d->u.duration.op == PROMQL_OP_RANGE || d->u.duration.op == PROMQL_OP_MIN_OF ||
                d->u.duration.op == PROMQL_OP_MAX_OF);
    case PROMQL_OP_ADD:
        if (!d->u.duration.lhs) return offset_operand(d->u.duration.rhs);
        return false;
    default: return false;
    }
}

/* An offset duration expression. Prometheus prints it as it prints any
 * duration expression, but reads after "offset" a whole expression only
 * when it starts with "(" or with two signs: "foo offset 17 ^ 1" is
 * (foo offset 17) ^ 1. Where its form would read back differently
 * (from input such as "offset ++17^1" or "offset +-2*3"), signs that
 * change nothing are put in front to make up two: "offset ++17 ^ 1".
 * A parenthesised form followed by an operator (op_follows) gets a "+"
 * as well, which makes it one operand. Returns whether the printed form
 * is one that goes on into an operator written after it. */
static bool print_offset_expr(const promql_expr_t *d, bool op_follows, vg_buf_t *out) {
    vg_buf_t b = VG_BUF_INIT;
    print_duration_expr(d, &b);
    size_t signs = 0;
    while (signs < b.len && (b.data[signs] == '-' || b.data[signs] == '+'))
        signs++;
    bool paren = signs == 0 && b.len > 0 && b.data[0] == '(';
    if (paren && op_follows) {
        /* "+(…)" is one operand, where "(…) + 1" would be the duration */
        vg_buf_putc(out, '+');
        paren = false;
    }
    if (!offset_operand(d) && !paren)
        for (; signs < 2; signs++)
            vg_buf_putc(out, '+');
    vg_buf_append(out, b.data, b.len);
    vg_buf_free(&b);
    return paren || signs >= 2;
}

static void print_extended(const promql_expr_t *vs, vg_buf_t *out) {
    if (vs->u.vector.anchored)
        vg_buf_puts(out, " anchored");
    else if (vs->u.vector.smoothed)
        vg_buf_puts(out, " smoothed");
}

/* " offset …" into out; returns whether an operator printed right after
 * it would be read as part of the duration (see print_offset_expr). */
static bool print_offset(const promql_modifiers_t *m, bool op_follows, vg_buf_t *out) {
    if (m->offset_expr) {
        vg_buf_puts(out, " offset ");
        return print_offset_expr(m->offset_expr, op_follows, out);
    }
    if (m->offset_ms != 0) {
        vg_buf_puts(out, " offset ");
        promql_format_duration(m->offset_ms, out);
    }
    return false;
}

/* The modifiers of a selector or subquery in Prometheus's order (@ and
 * anchored/smoothed, the latter before @ in a range, then offset). An
 * offset that reads on into a following operator cannot come last when an
 * operator follows (op_follows): the query had it before @, anchored or
 * smoothed, which ended it ("foo offset ++1m @ 10 + 1" would print as
 * "foo @ 10.000 offset ++1m + 1", adding 1 to the offset), so there it is
 * printed first. (A parenthesised offset is made an operand instead.) */
static void print_modifiers(const promql_modifiers_t *m, const promql_expr_t *vs, bool range,
                            bool op_follows, vg_buf_t *out) {
    vg_buf_t off = VG_BUF_INIT;
    bool reads_on = print_offset(m, op_follows, &off);
    bool others =
        m->at != PROMQL_AT_NONE || (vs && (vs->u.vector.anchored || vs->u.vector.smoothed));
    bool first = reads_on && op_follows && others;
    if (first) vg_buf_append(out, off.data, off.len);
    if (range && vs) print_extended(vs, out);
    print_at(m, out);
    if (!range && vs) print_extended(vs, out);
    if (!first) vg_buf_append(out, off.data, off.len);
    vg_buf_free(&off);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The selector without its modifiers: name{matchers}, matchers sorted. */
static void print_selector_body(const promql_expr_t *e, vg_buf_t *out) {
    size_t n = e->u.vector.n_matchers;
    char **strs = n ? vg_malloc(n * sizeof *strs) : NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const promql_matcher_t *m = &e->u.vector.matchers[i];
        if (m->type == LABELS_MATCH_EQUAL && m->name.len == 8 &&
            memcmp(m->name.s, "__name__", 8) == 0 && m->value.len > 0 &&
            m->value.len == e->u.vector.name.len &&
            memcmp(m->value.s, e->u.vector.name.s, m->value.len) == 0)
            continue;
        vg_buf_t b = VG_BUF_INIT;
        if (legacy_name(m->name.s, m->name.len))
            vg_buf_append(&b, m->name.s, m->name.len);
        else
            promql_quote(m->name.s, m->name.len, &b);
        vg_buf_puts(&b, labels_match_type_str(m->type));
        promql_quote(m->value.s, m->value.len, &b);
        strs[k++] = vg_buf_detach(&b);
    }
    vg_buf_append(out, e->u.vector.name.s, e->u.vector.name.len);
    /* Prometheus prints nothing for "{}" (info()'s second argument may be
     * one); braces keep the output parseable. */
    if (!k && e->u.vector.name.len == 0) vg_buf_puts(out, "{}");
    if (k) {
        qsort(strs, k, sizeof *strs, cmp_str);
        vg_buf_putc(out, '{');
        for (size_t i = 0; i < k; i++) {
            if (i) vg_buf_putc(out, ',');
            vg_buf_puts(out, strs[i]);
            free(strs[i]);
        }
        vg_buf_putc(out, '}');
    }
    free(strs);
}

static void print_matching(const promql_vector_matching_t *vm, vg_buf_t *out) {
    if (!vm) return;
    bool grouped = vm->card == PROMQL_CARD_MANY_TO_ONE || vm->card == PROMQL_CARD_ONE_TO_MANY;
    if (vm->n_labels > 0 || vm->on || grouped) {
        vg_buf_puts(out, vm->on ? " on (" : " ignoring (");
        write_labels(vm->labels, vm->n_labels, out);
        vg_buf_putc(out, ')');
    }
    if (grouped) {
        vg_buf_puts(out, vm->card == PROMQL_CARD_MANY_TO_ONE ? " group_left (" : " group_right (");
        write_labels(vm->include, vm->n_include, out);
        vg_buf_putc(out, ')');
    }
    if (vm->has_fill_lhs && vm->has_fill_rhs && vm->fill_lhs == vm->fill_rhs) {
        vg_buf_puts(out, " fill (");
        vg_buf_put_float(out, vm->fill_lhs);
        vg_buf_putc(out, ')');
    } else {
        if (vm->has_fill_lhs) {
            vg_buf_puts(out, " fill_left (");
            vg_buf_put_float(out, vm->fill_lhs);
            vg_buf_putc(out, ')');
        }
        if (vm->has_fill_rhs) {
            vg_buf_puts(out, " fill_right (");
            vg_buf_put_float(out, vm->fill_rhs);
            vg_buf_putc(out, ')');
        }
    }
}

static void print_expr(const promql_expr_t *e, vg_buf_t *out, bool pow_lhs, bool op_follows) {
    switch (e->kind) {
    case PROMQL_NUMBER: print_number(e, out, pow_lhs); break;
    case PROMQL_STRING: promql_quote(e->u.string.s, e->u.string.len, out); break;
    case PROMQL_VECTOR:
        print_selector_body(e, out);
        print_modifiers(&e->u.vector.mod, e, false, op_follows, out);
        break;
    case PROMQL_MATRIX: {
        const promql_expr_t *vs = e->u.matrix.vector;
        if (vs->kind == PROMQL_VECTOR)
            print_selector_body(vs, out);
        else
            print_expr(vs, out, false, false);
        vg_buf_putc(out, '[');
        if (e->u.matrix.range_expr)
            print_duration_expr(e->u.matrix.range_expr, out);
        else
            promql_format_duration(e->u.matrix.range_ms, out);
        vg_buf_putc(out, ']');
        if (vs->kind == PROMQL_VECTOR)
            print_modifiers(&vs->u.vector.mod, vs, true, op_follows, out);
        break;
    }
    case PROMQL_SUBQUERY:
        print_expr(e->u.subquery.expr, out, false, false);
        vg_buf_putc(out, '[');
        if (e->u.subquery.range_expr)
            print_duration_expr(e->u.subquery.range_expr, out);
        else
            promql_format_duration(e->u.subquery.range_ms, out);
        vg_buf_putc(out, ':');
        if (e->u.subquery.step_ms != 0)
            promql_format_duration(e->u.subquery.step_ms, out);
        else if (e->u.subquery.step_expr)
            print_duration_expr(e->u.subquery.step_expr, out);
        vg_buf_putc(out, ']');
        print_modifiers(&e->u.subquery.mod, NULL, true, op_follows, out);
        break;
    case PROMQL_PAREN:
        vg_buf_putc(out, '(');
        print_expr(e->u.paren.expr, out, false, false);
        vg_buf_putc(out, ')');
        break;
    case PROMQL_UNARY:
        vg_buf_puts(out, promql_op_str(e->u.unary.op));
        print_expr(e->u.unary.expr, out, false, op_follows);
        break;
    case PROMQL_BINARY:
        print_expr(e->u.binary.lhs, out, e->u.binary.op == PROMQL_OP_POW,
                   duration_op(e->u.binary.op));
        vg_buf_putc(out, ' ');
        vg_buf_puts(out, promql_op_str(e->u.binary.op));
        if (e->u.binary.return_bool) vg_buf_puts(out, " bool");
        print_matching(e->u.binary.matching, out);
        vg_buf_putc(out, ' ');
        print_expr(e->u.binary.rhs, out, false, op_follows);
        break;
    case PROMQL_AGGREGATE:
        vg_buf_puts(out, promql_agg_op_str(e->u.aggregate.op));
        if (e->u.aggregate.without) {
            vg_buf_puts(out, " without (");
            write_labels(e->u.aggregate.grouping, e->u.aggregate.n_grouping, out);
            vg_buf_puts(out, ") ");
        } else if (e->u.aggregate.n_grouping > 0) {
            vg_buf_puts(out, " by (");
            write_labels(e->u.aggregate.grouping, e->u.aggregate.n_grouping, out);
            vg_buf_puts(out, ") ");
        }
        vg_buf_putc(out, '(');
        if (e->u.aggregate.param) {
            print_expr(e->u.aggregate.param, out, false, false);
            vg_buf_puts(out, ", ");
        }
        print_expr(e->u.aggregate.expr, out, false, false);
        vg_buf_putc(out, ')');
        break;
    case PROMQL_CALL:
        vg_buf_puts(out, e->u.call.func->name);
        vg_buf_putc(out, '(');
        for (size_t i = 0; i < e->u.call.n_args; i++) {
            if (i) vg_buf_puts(out, ", ");
            print_expr(e->u.call.args[i], out, false, false);
        }
        vg_buf_putc(out, ')');
        break;
    case PROMQL_DURATION_EXPR: print_duration_expr(e, out); break;
    }
}

void promql_print(const promql_expr_t *e, vg_buf_t *out) { print_expr(e, out, false, false); }

char *promql_format(const promql_expr_t *e) {
    vg_buf_t b = VG_BUF_INIT;
    promql_print(e, &b);
    return vg_buf_detach(&b);
}
