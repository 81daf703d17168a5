/* This file implements template sets and their execution: walking the
 * parse tree with Go's semantics for dot, variables and their scopes,
 * pipelines (the previous command's value becomes the last argument),
 * field, map-key and method lookup, if/with/range/else, break/continue,
 * template calls and printing; with a step, output, depth and memory budget
 * so that hostile templates end with an error. Errors unwind with longjmp
 * to template_execute (Go panics and recovers the same way); everything an
 * execution allocates is in its arena or in buffers freed on the way out. */
#include "template/template_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define TPL_DEFAULT_STEPS 1000000u
#define TPL_DEFAULT_OUTPUT ((size_t)4 << 20)
#define TPL_DEFAULT_DEPTH 200u
#define TPL_DEFAULT_MEMORY ((size_t)32 << 20)

/* --------------------------------------------------------------- the set */

template_t *template_new(const template_options_t *opts) {
    template_t *t = vg_calloc(1, sizeof *t);
    if (opts) t->opts = *opts;
    if (!t->opts.max_steps) t->opts.max_steps = TPL_DEFAULT_STEPS;
    if (!t->opts.max_output) t->opts.max_output = TPL_DEFAULT_OUTPUT;
    if (!t->opts.max_depth) t->opts.max_depth = TPL_DEFAULT_DEPTH;
    if (!t->opts.max_memory) t->opts.max_memory = TPL_DEFAULT_MEMORY;
    t->arena = vg_arena_new(0);
    return t;
}

void template_free(template_t *t) {
    if (!t) return;
    vg_arena_free(t->arena);
    free(t->entries);
    free(t);
}

const template_func_t *tpl_find_func(const template_t *t, const char *name, size_t len,
                                     bool *out_builtin) {
    for (size_t k = 0; k < t->opts.n_funcs; k++) {
        const template_funcs_t *tab = t->opts.funcs[k];
        if (!tab) continue;
        for (size_t i = 0; i < tab->n_funcs; i++)
            if (strlen(tab->funcs[i].name) == len && memcmp(tab->funcs[i].name, name, len) == 0) {
                *out_builtin = false;
                return &tab->funcs[i];
            }
    }
    for (size_t i = 0; i < template_funcs_go.n_funcs; i++)
        if (strlen(template_funcs_go.funcs[i].name) == len &&
            memcmp(template_funcs_go.funcs[i].name, name, len) == 0) {
            *out_builtin = true;
            return &template_funcs_go.funcs[i];
        }
    return NULL;
}

tpl_tree_t *tpl_lookup(const template_t *t, const char *name) {
    for (size_t k = 0; k < t->n; k++)
        if (strcmp(t->entries[k].name, name) == 0) return t->entries[k].tree;
    return NULL;
}

bool template_has(const template_t *t, const char *name) {
    tpl_tree_t *tr = tpl_lookup(t, name);
    return tr && tr->root;
}

int template_add(template_t *t, const char *text, size_t len, const char *name, vg_err_t *err) {
    tpl_tree_t **trees = NULL;
    size_t n = 0;
    int rc = tpl_parse_file(t, text, len, name ? name : "", &trees, &n, err);
    if (rc) return rc;
    /* Go's associate: a later definition replaces an earlier one unless the
     * new one is empty and the old one is not. */
    for (size_t i = 0; i < n; i++) {
        tpl_tree_t *tr = trees[i];
        tpl_entry_t *e = NULL;
        for (size_t k = 0; k < t->n; k++)
            if (strcmp(t->entries[k].name, tr->name) == 0) e = &t->entries[k];
        if (e) {
            if (tpl_tree_empty(tr->root) && e->tree && !tpl_tree_empty(e->tree->root)) continue;
            e->tree = tr;
            continue;
        }
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 16;
            t->entries = vg_realloc(t->entries, t->cap * sizeof *t->entries);
        }
        t->entries[t->n].name = tr->name;
        t->entries[t->n].tree = tr;
        t->n++;
    }
    return 0;
}

int template_parse(const char *text, size_t len, const char *name, const template_funcs_t *funcs,
                   template_t **out, vg_err_t *err) {
    static const template_funcs_t *none[1];
    template_options_t o = {0};
    /* the table pointer must outlive the set: keep it in the set's arena */
    template_t *t = template_new(&o);
    if (funcs) {
        const template_funcs_t **tabs = vg_arena_alloc(t->arena, sizeof *tabs);
        tabs[0] = funcs;
        t->opts.funcs = tabs;
        t->opts.n_funcs = 1;
    } else {
        t->opts.funcs = none;
        t->opts.n_funcs = 0;
    }
    int rc = template_add(t, text, len, name, err);
    if (rc) {
        template_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* -------------------------------------------------------------- errors */

static void error_location(const tpl_node_t *n, vg_buf_t *out) {
    const tpl_tree_t *tr = n->tree;
    size_t pos = n->pos;
    if (!tr || pos > tr->text_len) {
        vg_buf_puts(out, tr ? tr->parse_name : "");
        return;
    }
    size_t line = 1, col = pos;
    const char *last_nl = NULL;
    for (size_t k = 0; k < pos; k++)
        if (tr->text[k] == '\n') {
            line++;
            last_nl = tr->text + k;
        }
    if (last_nl) col = pos - (size_t)(last_nl - tr->text + 1);
    vg_buf_printf(out, "%s:%zu:%zu", tr->parse_name, line, col);
}

_Noreturn void tpl_exec_unwind(template_call_t *c) { longjmp(*c->jmp, 1); }

static _Noreturn void exec_failv(template_call_t *c, const char *fmt, va_list ap) {
    char msg[VG_ERR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    const char *name = c->tree ? c->tree->name : "";
    if (!c->node) {
        vg_err_set(c->err, VG_ERR, "template: %s: %s", name, msg);
    } else {
        vg_buf_t loc = VG_BUF_INIT, ctx = VG_BUF_INIT, qn = VG_BUF_INIT;
        error_location(c->node, &loc);
        tpl_node_string(c->node, &ctx);
        tpl_fmt_quote(&qn, name, strlen(name), false);
        vg_err_set(c->err, VG_ERR, "template: %s: executing %s at <%s>: %s",
                   loc.data ? loc.data : "", qn.data, ctx.data ? ctx.data : "", msg);
        vg_buf_free(&loc);
        vg_buf_free(&ctx);
        vg_buf_free(&qn);
    }
    tpl_exec_unwind(c);
}

_Noreturn void tpl_exec_fail(template_call_t *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    exec_failv(c, fmt, ap);
}

/* ---------------------------------------------------------- execution */

typedef enum walk_rc { WALK_OK = 0, WALK_BREAK, WALK_CONTINUE } walk_rc_t;

typedef struct exec_state {
    template_call_t *c;
    size_t var_base; /* variables below belong to callers */
    /* scratch buffers, freed when the execution ends */
    vg_buf_t **tmp;
    size_t n_tmp, cap_tmp;
} exec_state_t;

/* A buffer from the pool; released by tmp_put in LIFO order. */
static vg_buf_t *tmp_get(exec_state_t *s) {
    if (s->n_tmp == s->cap_tmp) {
        s->cap_tmp = s->cap_tmp ? s->cap_tmp * 2 : 8;
        s->tmp = vg_realloc(s->tmp, s->cap_tmp * sizeof *s->tmp);
        for (size_t k = s->n_tmp; k < s->cap_tmp; k++)
            s->tmp[k] = NULL;
    }
    if (!s->tmp[s->n_tmp]) s->tmp[s->n_tmp] = vg_calloc(1, sizeof(vg_buf_t));
    vg_buf_t *b = s->tmp[s->n_tmp++];
    vg_buf_reset(b);
    return b;
}
static void tmp_put(exec_state_t *s) { s->n_tmp--; }

static void at(exec_state_t *s, const tpl_node_t *n) { s->c->node = n; }

/* Nesting (deep if/range/with chains times recursive template calls) is
 * bounded by the stack it really uses, which keeps execution safe on
 * threads with small stacks and under sanitizers. */
#define TPL_MAX_STACK ((size_t)2 << 20)

static void step(exec_state_t *s) {
    template_call_t *c = s->c;
    char here;
    uintptr_t a = (uintptr_t)c->stack_base, b = (uintptr_t)&here;
    size_t used = a > b ? a - b : b - a;
    if (used > TPL_MAX_STACK) tpl_exec_fail(c, "template nesting too deep");
    if (++c->steps > c->t->opts.max_steps)
        tpl_exec_fail(c, "template execution exceeded %llu steps",
                      (unsigned long long)c->t->opts.max_steps);
}

static void check_output(exec_state_t *s) {
    template_call_t *c = s->c;
    if (c->out->len - c->out_start > c->t->opts.max_output)
        tpl_exec_fail(c, "template output exceeds %zu bytes", c->t->opts.max_output);
}

static void *ex_alloc(exec_state_t *s, size_t n) {
    void *p = vg_arena_alloc(s->c->arena, n ? n : 1);
    if (!p) tpl_exec_fail(s->c, "template execution exceeded its memory budget");
    return p;
}

static void push_var(exec_state_t *s, const char *name, const template_value_t *v) {
    template_call_t *c = s->c;
    if (c->n_vars == c->cap_vars) {
        if (c->cap_vars > 1000000) tpl_exec_fail(c, "too many variables");
        c->cap_vars = c->cap_vars ? c->cap_vars * 2 : 16;
        c->vars = vg_realloc(c->vars, c->cap_vars * sizeof *c->vars);
    }
    c->vars[c->n_vars].name = name;
    c->vars[c->n_vars].value = *v;
    c->n_vars++;
}

static tpl_var_t *find_var(exec_state_t *s, const char *name) {
    template_call_t *c = s->c;
    for (size_t k = c->n_vars; k > s->var_base; k--)
        if (strcmp(c->vars[k - 1].name, name) == 0) return &c->vars[k - 1];
    tpl_exec_fail(c, "undefined variable: %s", name);
}

static template_value_t zero_of(template_kind_t k) {
    switch (k) {
    case TEMPLATE_STRING: return template_str("", 0);
    case TEMPLATE_INT: return template_int(0);
    case TEMPLATE_FLOAT: return template_float(0);
    case TEMPLATE_BOOL: return template_bool(false);
    default: return template_nil();
    }
}

static template_value_t eval_pipeline(exec_state_t *s, const template_value_t *dot,
                                      const tpl_node_t *pipe);
static template_value_t eval_arg(exec_state_t *s, const template_value_t *dot, const tpl_node_t *n);

/* Calls fn (a function or a method) with already evaluated arguments. */
static template_value_t call_fn(exec_state_t *s, const tpl_node_t *node, const char *name,
                                template_fn_t fn, int min_args, int max_args,
                                template_value_t *argv, size_t argc, size_t off,
                                const tpl_nodes_t *arg_nodes) {
    template_call_t *c = s->c;
    /* counts in messages leave out a method's receiver (off = 1) */
    int mn = min_args - (int)off, mx = max_args < 0 ? -1 : max_args - (int)off;
    size_t got = argc - off;
    if (mx >= 0 && mn == mx && got != (size_t)mn)
        tpl_exec_fail(c, "wrong number of args for %s: want %d got %zu", name, mn, got);
    if (got < (size_t)mn)
        tpl_exec_fail(c, "wrong number of args for %s: want at least %d got %zu", name, mn, got);
    if (mx >= 0 && got > (size_t)mx)
        tpl_exec_fail(c, "wrong number of args for %s: want %d got %zu", name, mx, got);
    template_value_t out = template_nil();
    c->failed = false;
    c->msg_plain = false;
    c->bad_arg = NULL;
    c->msg[0] = '\0';
    int rc = fn(c, argv, argc, &out);
    if (rc != 0 || c->failed) {
        at(s, node);
        if (c->msg_plain && c->bad_arg && arg_nodes && c->bad_arg >= argv + off &&
            c->bad_arg < argv + argc) {
            /* Go checks argument types before the call, at the argument,
             * and words it differently for a literal */
            size_t k = (size_t)(c->bad_arg - argv) - off;
            if (k + 1 < arg_nodes->n) {
                const tpl_node_t *an = arg_nodes->items[k + 1];
                at(s, an);
                if (an->type == N_NUMBER || an->type == N_BOOL || an->type == N_STRING) {
                    const char *want = strstr(c->msg, "expected ");
                    const char *semi = want ? strchr(want, ';') : NULL;
                    vg_buf_t *b = tmp_get(s);
                    tpl_node_string(an, b);
                    if (want && semi)
                        tpl_exec_fail(c, "%.*s; found %s", (int)(semi - want), want, b->data);
                }
            }
        }
        if (c->msg_plain) tpl_exec_fail(c, "%s", c->msg);
        tpl_exec_fail(c, "error calling %s: %s", name, c->msg[0] ? c->msg : "failed");
    }
    return out;
}

static bool is_missing(const template_value_t *final) { return final == NULL; }

static void not_a_function(exec_state_t *s, const tpl_nodes_t *args,
                           const template_value_t *final) {
    if ((args && args->n > 1) || !is_missing(final)) {
        vg_buf_t *b = tmp_get(s);
        tpl_node_string(args->items[0], b);
        tpl_exec_fail(s->c, "can't give argument to non-function %s", b->data ? b->data : "");
    }
}

/* Evaluates args[1..] (and final) into a fresh array. */
static template_value_t *eval_args(exec_state_t *s, const template_value_t *dot,
                                   const tpl_nodes_t *args, const template_value_t *final,
                                   size_t extra_front, size_t *out_n) {
    size_t n_args = args ? (args->n > 0 ? args->n - 1 : 0) : 0;
    size_t n = extra_front + n_args + (final ? 1 : 0);
    template_value_t *argv = ex_alloc(s, (n ? n : 1) * sizeof *argv);
    for (size_t k = 0; k < n_args; k++)
        argv[extra_front + k] = eval_arg(s, dot, args->items[k + 1]);
    if (final) argv[extra_front + n_args] = *final;
    *out_n = n;
    return argv;
}

static const template_method_t *find_method(const template_value_t *v, const char *name) {
    if (!v->type) return NULL;
    for (size_t k = 0; k < v->type->n_methods; k++)
        if (strcmp(v->type->methods[k].name, name) == 0) return &v->type->methods[k];
    return NULL;
}

static template_value_t eval_field(exec_state_t *s, const template_value_t *dot, const char *name,
                                   size_t name_len, const tpl_node_t *node, const tpl_nodes_t *args,
                                   const template_value_t *final, const template_value_t *recv) {
    template_call_t *c = s->c;
    if (recv->kind == TEMPLATE_NIL) {
        if (c->t->opts.missingkey == TEMPLATE_MISSINGKEY_ERROR)
            tpl_exec_fail(c, "nil data; no entry for key \"%s\"", name);
        return template_nil();
    }
    const template_method_t *m = find_method(recv, name);
    if (m) {
        size_t argc;
        template_value_t *argv = eval_args(s, dot, args, final, 1, &argc);
        argv[0] = *recv;
        at(s, node);
        return call_fn(s, node, name, m->fn, m->min_args + 1,
                       m->max_args < 0 ? -1 : m->max_args + 1, argv, argc, 1, args);
    }
    bool has_args = (args && args->n > 1) || !is_missing(final);
    switch ((template_kind_t)recv->kind) {
    case TEMPLATE_OBJECT:
        if (recv->type && recv->type->field) {
            template_value_t out;
            if ((recv->flags & TEMPLATE_F_PTR) && !recv->u.obj.self)
                tpl_exec_fail(c, "nil pointer evaluating %s.%s", template_value_type_name(recv),
                              name);
            c->failed = false;
            int rc = recv->type->field(c, recv, name, name_len, &out);
            if (rc == 0) {
                if (has_args)
                    tpl_exec_fail(c, "%s has arguments but cannot be invoked as function", name);
                return out;
            }
            if (rc != VG_ERR_NOTFOUND) tpl_exec_fail(c, "%s", c->msg);
        }
        break;
    case TEMPLATE_MAP: {
        if (has_args) tpl_exec_fail(c, "%s is not a method but has arguments", name);
        const template_value_t *v = template_map_get(recv->u.map, name, name_len);
        if (v) return *v;
        switch (c->t->opts.missingkey) {
        case TEMPLATE_MISSINGKEY_DEFAULT: return template_nil();
        case TEMPLATE_MISSINGKEY_ZERO:
            return zero_of(recv->u.map ? recv->u.map->elem_kind : TEMPLATE_NIL);
        case TEMPLATE_MISSINGKEY_ERROR: tpl_exec_fail(c, "map has no entry for key \"%s\"", name);
        }
        return template_nil();
    }
    default: break;
    }
    tpl_exec_fail(c, "can't evaluate field %s in type %s", name, template_value_type_name(recv));
}

static template_value_t eval_field_chain(exec_state_t *s, const template_value_t *dot,
                                         const template_value_t *recv, const tpl_node_t *node,
                                         const tpl_idents_t *id, size_t from,
                                         const tpl_nodes_t *args, const template_value_t *final) {
    template_value_t r = *recv;
    for (size_t k = from; k + 1 < id->n; k++) {
        step(s);
        r = eval_field(s, dot, id->s[k], id->len[k], node, NULL, NULL, &r);
    }
    return eval_field(s, dot, id->s[id->n - 1], id->len[id->n - 1], node, args, final, &r);
}

static template_value_t eval_variable(exec_state_t *s, const template_value_t *dot,
                                      const tpl_node_t *v, const tpl_nodes_t *args,
                                      const template_value_t *final) {
    at(s, v);
    template_value_t val = find_var(s, v->u.idents.s[0])->value;
    if (v->u.idents.n == 1) {
        not_a_function(s, args, final);
        return val;
    }
    return eval_field_chain(s, dot, &val, v, &v->u.idents, 1, args, final);
}

static template_value_t eval_chain(exec_state_t *s, const template_value_t *dot,
                                   const tpl_node_t *chain, const tpl_nodes_t *args,
                                   const template_value_t *final) {
    if (chain->u.chain.node->type == N_NIL) {
        vg_buf_t *b = tmp_get(s);
        tpl_node_string(chain, b);
        tpl_exec_fail(s->c, "indirection through explicit nil in %s", b->data);
    }
    template_value_t pipe = eval_arg(s, dot, chain->u.chain.node);
    return eval_field_chain(s, dot, &pipe, chain, &chain->u.chain.fields, 0, args, final);
}

/* Go's idealConstant: how a number literal becomes a value. */
static template_value_t ideal_constant(exec_state_t *s, const tpl_node_t *n) {
    const char *t = n->src;
    size_t len = n->src_len;
    bool hex_int = len > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') && !memchr(t, 'p', len) &&
                   !memchr(t, 'P', len);
    bool rune_int = len > 0 && t[0] == '\'';
    bool has_float_chars = false;
    for (size_t k = 0; k < len; k++)
        if (strchr(".eEpP", t[k])) has_float_chars = true;
    if (n->u.num.is_float && !hex_int && !rune_int && has_float_chars)
        return template_float(n->u.num.f);
    if (n->u.num.is_int) return template_int(n->u.num.i);
    if (n->u.num.is_uint) tpl_exec_fail(s->c, "%.*s overflows int", (int)len, t);
    return template_nil();
}

static template_value_t eval_function(exec_state_t *s, const template_value_t *dot,
                                      const tpl_node_t *ident, const tpl_node_t *cmd,
                                      const tpl_nodes_t *args, const template_value_t *final);

static template_value_t eval_arg(exec_state_t *s, const template_value_t *dot,
                                 const tpl_node_t *n) {
    at(s, n);
    step(s);
    switch ((tpl_node_type_t)n->type) {
    case N_DOT: return *dot;
    case N_NIL: return template_nil();
    case N_FIELD: {
        tpl_nodes_t one = {1, 1, (tpl_node_t **)&n};
        return eval_field_chain(s, dot, dot, n, &n->u.idents, 0, &one, NULL);
    }
    case N_VARIABLE: return eval_variable(s, dot, n, NULL, NULL);
    case N_PIPE: return eval_pipeline(s, dot, n);
    case N_IDENT: return eval_function(s, dot, n, n, NULL, NULL);
    case N_CHAIN: return eval_chain(s, dot, n, NULL, NULL);
    case N_BOOL: return template_bool(n->u.b);
    case N_NUMBER: return ideal_constant(s, n);
    case N_STRING: return template_str(n->u.text.s, n->u.text.len);
    default: break;
    }
    vg_buf_t *b = tmp_get(s);
    tpl_node_string(n, b);
    tpl_exec_fail(s->c, "can't handle %s for arg of type interface {}", b->data ? b->data : "");
}

static template_value_t eval_function(exec_state_t *s, const template_value_t *dot,
                                      const tpl_node_t *ident, const tpl_node_t *cmd,
                                      const tpl_nodes_t *args, const template_value_t *final) {
    at(s, ident);
    const template_func_t *f = ident->u.ident.fn;
    const char *name = ident->u.ident.name;
    if (ident->u.ident.builtin && (strcmp(name, "and") == 0 || strcmp(name, "or") == 0)) {
        /* short-circuit: evaluate arguments one at a time */
        bool is_or = name[0] == 'o';
        size_t n_args = args ? args->n - 1 : 0;
        size_t argc = n_args + (final ? 1 : 0);
        if (argc < 1)
            tpl_exec_fail(s->c, "wrong number of args for %s: want at least 1 got 0", name);
        template_value_t v = template_nil();
        for (size_t k = 0; k < n_args; k++) {
            v = eval_arg(s, dot, args->items[k + 1]);
            if (template_value_truth(&v) == is_or) return v;
        }
        if (final) v = *final;
        return v;
    }
    size_t argc;
    template_value_t *argv = eval_args(s, dot, args, final, 0, &argc);
    at(s, ident);
    /* Go reports argument-count errors at the identifier and call errors
     * at the whole command */
    template_call_t *c = s->c;
    if (f->max_args >= 0 && f->min_args == f->max_args && argc != (size_t)f->min_args)
        tpl_exec_fail(c, "wrong number of args for %s: want %d got %zu", name, f->min_args, argc);
    if (argc < (size_t)f->min_args)
        tpl_exec_fail(c, "wrong number of args for %s: want at least %d got %zu", name, f->min_args,
                      argc);
    if (f->max_args >= 0 && argc > (size_t)f->max_args)
        tpl_exec_fail(c, "wrong number of args for %s: want %d got %zu", name, f->max_args, argc);
    return call_fn(s, cmd, name, f->fn, f->min_args, f->max_args, argv, argc, 0, args);
}

static template_value_t eval_command(exec_state_t *s, const template_value_t *dot,
                                     const tpl_node_t *cmd, const template_value_t *final) {
    const tpl_node_t *first = cmd->u.list.items[0];
    step(s);
    switch ((tpl_node_type_t)first->type) {
    case N_FIELD:
        at(s, first);
        return eval_field_chain(s, dot, dot, first, &first->u.idents, 0, &cmd->u.list, final);
    case N_CHAIN: return eval_chain(s, dot, first, &cmd->u.list, final);
    case N_IDENT: return eval_function(s, dot, first, cmd, &cmd->u.list, final);
    case N_PIPE: not_a_function(s, &cmd->u.list, final); return eval_pipeline(s, dot, first);
    case N_VARIABLE: return eval_variable(s, dot, first, &cmd->u.list, final);
    default: break;
    }
    at(s, first);
    not_a_function(s, &cmd->u.list, final);
    switch ((tpl_node_type_t)first->type) {
    case N_BOOL: return template_bool(first->u.b);
    case N_DOT: return *dot;
    case N_NIL: tpl_exec_fail(s->c, "nil is not a command");
    case N_NUMBER: return ideal_constant(s, first);
    case N_STRING: return template_str(first->u.text.s, first->u.text.len);
    default: break;
    }
    vg_buf_t *b = tmp_get(s);
    tpl_node_string(first, b);
    tpl_exec_fail(s->c, "can't evaluate command \"%s\"", b->data ? b->data : "");
}

static template_value_t eval_pipeline(exec_state_t *s, const template_value_t *dot,
                                      const tpl_node_t *pipe) {
    if (!pipe) return template_nil();
    at(s, pipe);
    template_value_t value = template_nil();
    bool have = false;
    for (size_t k = 0; k < pipe->u.pipe.cmds.n; k++) {
        template_value_t prev = value;
        value = eval_command(s, dot, pipe->u.pipe.cmds.items[k], have ? &prev : NULL);
        have = true;
    }
    for (size_t k = 0; k < pipe->u.pipe.n_decl; k++) {
        const tpl_node_t *v = pipe->u.pipe.decl[k];
        if (pipe->u.pipe.is_assign)
            find_var(s, v->u.idents.s[0])->value = value;
        else
            push_var(s, v->u.idents.s[0], &value);
    }
    return value;
}

static void write_out(exec_state_t *s, const char *p, size_t n) {
    vg_buf_append(s->c->out, p, n);
    check_output(s);
}

static void print_value(exec_state_t *s, const tpl_node_t *n, const template_value_t *v) {
    at(s, n);
    template_call_t *c = s->c;
    vg_buf_t *b = tmp_get(s);
    if (v->kind == TEMPLATE_NIL)
        vg_buf_puts(b, "<no value>");
    else
        template_value_print(c, v, b);
    if (b->len > c->t->opts.max_output)
        tpl_exec_fail(c, "template output exceeds %zu bytes", c->t->opts.max_output);
    if (c->t->opts.html) {
        /* an action ending in html or urlquery takes the place of the
         * escaper it is equivalent to, as html/template arranges */
        c->html_pipe_end = 0;
        const tpl_node_t *pipe = n->u.action.pipe;
        if (pipe && pipe->u.pipe.cmds.n) {
            const tpl_node_t *last = pipe->u.pipe.cmds.items[pipe->u.pipe.cmds.n - 1];
            const tpl_node_t *id = last->u.list.items[0];
            if (id->type == N_IDENT && id->u.ident.builtin) {
                if (strcmp(id->u.ident.name, "html") == 0) c->html_pipe_end = 1;
                if (strcmp(id->u.ident.name, "urlquery") == 0) c->html_pipe_end = 2;
            }
        }
        vg_buf_t *e = tmp_get(s);
        tpl_html_escape_value(c, c->html_state, v, b->data ? b->data : "", b->len, e);
        c->html_state = tpl_html_after_value(c->html_state, e->data ? e->data : "", e->len);
        write_out(s, e->data ? e->data : "", e->len);
        tmp_put(s);
    } else {
        write_out(s, b->data ? b->data : "", b->len);
    }
    tmp_put(s);
}

static walk_rc_t walk(exec_state_t *s, const template_value_t *dot, const tpl_node_t *n);

static walk_rc_t walk_list(exec_state_t *s, const template_value_t *dot, const tpl_node_t *list) {
    if (!list) return WALK_OK;
    for (size_t k = 0; k < list->u.list.n; k++) {
        walk_rc_t rc = walk(s, dot, list->u.list.items[k]);
        if (rc != WALK_OK) return rc;
    }
    return WALK_OK;
}

static walk_rc_t walk_if_with(exec_state_t *s, const template_value_t *dot, const tpl_node_t *n) {
    template_call_t *c = s->c;
    size_t mark = c->n_vars;
    template_value_t val = eval_pipeline(s, dot, n->u.ctl.pipe);
    walk_rc_t rc = WALK_OK;
    if (template_value_truth(&val)) {
        rc = walk_list(s, n->type == N_WITH ? &val : dot, n->u.ctl.list);
    } else if (n->u.ctl.else_list) {
        rc = walk_list(s, dot, n->u.ctl.else_list);
    }
    c->n_vars = mark;
    return rc;
}

static walk_rc_t walk_range(exec_state_t *s, const template_value_t *dot, const tpl_node_t *r) {
    template_call_t *c = s->c;
    at(s, r);
    size_t mark0 = c->n_vars;
    template_value_t val = eval_pipeline(s, dot, r->u.ctl.pipe);
    const tpl_node_t *pipe = r->u.ctl.pipe;
    size_t n_decl = pipe->u.pipe.n_decl;
    size_t mark = c->n_vars;
    size_t count = 0;
    bool iterable = true;
    switch ((template_kind_t)val.kind) {
    case TEMPLATE_LIST: count = val.u.list ? val.u.list->n : 0; break;
    case TEMPLATE_MAP: count = val.u.map ? val.u.map->n : 0; break;
    case TEMPLATE_INT:
        if (n_decl > 1) {
            at(s, r);
            tpl_exec_fail(c, "can't use %lld to iterate over more than one variable",
                          (long long)val.u.i);
        }
        count = val.u.i > 0 ? (size_t)val.u.i : 0;
        break;
    case TEMPLATE_NIL: count = 0; break;
    default: iterable = false; break;
    }
    if (!iterable) {
        vg_buf_t *b = tmp_get(s);
        template_value_print(c, &val, b);
        tpl_exec_fail(c, "range can't iterate over %s", b->data ? b->data : "");
    }
    walk_rc_t rc = WALK_OK;
    for (size_t i = 0; i < count; i++) {
        step(s);
        template_value_t index, elem;
        if (val.kind == TEMPLATE_LIST) {
            index = template_int((int64_t)i);
            elem = val.u.list->items[i];
        } else if (val.kind == TEMPLATE_MAP) {
            const template_map_entry_t *e = &val.u.map->entries[i];
            index = template_str(e->key, e->key_len);
            elem = e->value;
        } else {
            index = elem = template_int((int64_t)i);
        }
        if (n_decl > 0) {
            if (pipe->u.pipe.is_assign) {
                find_var(s, pipe->u.pipe.decl[0]->u.idents.s[0])->value = n_decl > 1 ? index : elem;
            } else {
                c->vars[mark - 1].value = elem;
            }
        }
        if (n_decl > 1) {
            if (pipe->u.pipe.is_assign)
                find_var(s, pipe->u.pipe.decl[1]->u.idents.s[0])->value = elem;
            else
                c->vars[mark - 2].value = index;
        }
        rc = walk_list(s, &elem, r->u.ctl.list);
        c->n_vars = mark;
        if (rc == WALK_BREAK) break;
        rc = WALK_OK;
    }
    if (count == 0 && r->u.ctl.else_list) {
        rc = walk_list(s, dot, r->u.ctl.else_list);
    }
    c->n_vars = mark0;
    if (rc == WALK_BREAK) rc = WALK_OK;
    return rc;
}

static void exec_tree(exec_state_t *s, const tpl_tree_t *tree, const template_value_t *dot);

static walk_rc_t walk_template(exec_state_t *s, const template_value_t *dot, const tpl_node_t *n) {
    template_call_t *c = s->c;
    at(s, n);
    const tpl_tree_t *tree = tpl_lookup(c->t, n->u.tmpl.name);
    if (!tree) tpl_exec_fail(c, "template \"%s\" not defined", n->u.tmpl.name);
    if (c->depth >= c->t->opts.max_depth)
        tpl_exec_fail(c, "exceeded maximum template depth (%u)", c->t->opts.max_depth);
    template_value_t newdot = eval_pipeline(s, dot, n->u.tmpl.pipe);
    const tpl_tree_t *saved_tree = c->tree;
    size_t saved_base = s->var_base, saved_n = c->n_vars;
    c->depth++;
    c->tree = tree;
    s->var_base = c->n_vars;
    exec_tree(s, tree, &newdot);
    c->n_vars = saved_n;
    s->var_base = saved_base;
    c->tree = saved_tree;
    c->depth--;
    return WALK_OK;
}

static walk_rc_t walk(exec_state_t *s, const template_value_t *dot, const tpl_node_t *n) {
    template_call_t *c = s->c;
    at(s, n);
    step(s);
    switch ((tpl_node_type_t)n->type) {
    case N_ACTION: {
        template_value_t val = eval_pipeline(s, dot, n->u.action.pipe);
        if (n->u.action.pipe->u.pipe.n_decl == 0) print_value(s, n, &val);
        return WALK_OK;
    }
    case N_BREAK: return WALK_BREAK;
    case N_CONTINUE: return WALK_CONTINUE;
    case N_COMMENT: return WALK_OK;
    case N_IF:
    case N_WITH: return walk_if_with(s, dot, n);
    case N_LIST: return walk_list(s, dot, n);
    case N_RANGE: return walk_range(s, dot, n);
    case N_TEMPLATE: return walk_template(s, dot, n);
    case N_TEXT:
        if (c->t->opts.html) {
            c->html_state = tpl_html_write_text(c->html_state, n->u.text.s, n->u.text.len, c->out);
            check_output(s);
            return WALK_OK;
        }
        write_out(s, n->u.text.s, n->u.text.len);
        return WALK_OK;
    default: break;
    }
    vg_buf_t *b = tmp_get(s);
    tpl_node_string(n, b);
    tpl_exec_fail(c, "unknown node: %s", b->data ? b->data : "");
}

static void exec_tree(exec_state_t *s, const tpl_tree_t *tree, const template_value_t *dot) {
    push_var(s, "$", dot);
    walk_rc_t rc = walk_list(s, dot, tree->root);
    (void)rc;
}

int template_execute(const template_t *t, const char *name, const template_value_t *data,
                     const template_env_t *env, vg_buf_t *out, vg_err_t *err) {
    const tpl_tree_t *tree = tpl_lookup(t, name);
    if (!tree) {
        const char *first = t->n ? t->entries[0].name : "";
        return vg_err_set(err, VG_ERR_NOTFOUND,
                          "template: no template \"%s\" associated with template \"%s\"", name,
                          first);
    }
    static const template_value_t nil;
    const template_value_t *volatile dot = data ? data : &nil;
    jmp_buf jb;
    vg_err_t local_err;
    template_call_t c = {0};
    c.t = t;
    c.env = env;
    c.arena = vg_arena_new(t->opts.max_memory);
    c.out = out;
    c.out_start = out->len;
    c.err = err ? err : &local_err;
    c.tree = tree;
    c.top = dot;
    c.jmp = &jb;
    char stack_mark;
    c.stack_base = &stack_mark;
    /* volatile: read after longjmp */
    exec_state_t *volatile s = vg_calloc(1, sizeof *s);
    s->c = &c;
    int rc = 0;
    if (!tree->root) {
        rc = vg_err_set(err, VG_ERR, "template: %s: \"%s\" is an incomplete or empty template",
                        name, name);
    } else if (setjmp(jb) == 0) {
        exec_tree(s, tree, dot);
    } else {
        rc = c.err->code ? c.err->code : VG_ERR;
    }
    for (size_t k = 0; k < s->cap_tmp; k++) {
        if (s->tmp[k]) vg_buf_free(s->tmp[k]);
        free(s->tmp[k]);
    }
    free(s->tmp);
    free(s);
    free(c.vars);
    vg_arena_free(c.arena);
    return rc;
}
