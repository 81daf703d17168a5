/* This file implements ytree: libyaml's events of the first document become
 * a tree of positioned nodes in the caller's arena, scalars resolved as
 * go-yaml resolves plain scalars, aliases sharing the anchored node, under
 * bounds on depth (checked before recursing) and node count. */
#include "ytree/ytree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct anchor {
    const char *name;
    ytree_node_t *node;
    bool open; /* a collection still being built: an alias to it is a cycle */
} anchor_t;

typedef struct builder {
    yaml_parser_t parser;
    vg_arena_t *arena;
    vg_err_t *err;
    const char *name; /* NULL: go-yaml wording */
    ytree_dialect_t dialect;
    size_t max_nodes;
    unsigned max_depth;
    size_t n_nodes;
    anchor_t *anchors; /* heap; names in the arena */
    size_t n_anchors, cap_anchors;
} builder_t;

/* Children of an open collection, on the heap until it closes. */
typedef struct kid_list {
    ytree_node_t **items;
    size_t n, cap;
} kid_list_t;

const char *ytree_tag_name(ytree_tag_t t) {
    static const char *const names[] = {"!!str",   "!!null", "!!bool", "!!int",
                                        "!!float", "!!map",  "!!seq"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "!!str";
}

bool ytree_is_null(const ytree_node_t *n) {
    return !n || (n->kind == YTREE_NODE_SCALAR && n->tag == YTREE_TAG_NULL);
}

bool ytree_scalar_is(const ytree_node_t *n, const char *s) {
    if (!n || n->kind != YTREE_NODE_SCALAR) return false;
    size_t len = strlen(s);
    return n->len == len && memcmp(n->str, s, len) == 0;
}

const ytree_node_t *ytree_map_get(const ytree_node_t *map, const char *key) {
    if (!map || map->kind != YTREE_NODE_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (ytree_scalar_is(map->kids[2 * i], key)) return map->kids[2 * i + 1];
    return NULL;
}

/* An error at a 0-based mark: "NAME:L:C: yaml: msg" with a file name,
 * otherwise go-yaml's "yaml: line L: msg" (no line when with_line is
 * false, as go-yaml omits it for some errors). */
static int fail_at(builder_t *b, int code, const yaml_mark_t *m, bool with_line, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));
static int fail_at(builder_t *b, int code, const yaml_mark_t *m, bool with_line, const char *fmt,
                   ...) {
    char msg[VG_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (b->name)
        return vg_err_set(b->err, code, "%s:%zu:%zu: yaml: %s", b->name, m->line + 1, m->column + 1,
                          msg);
    if (with_line) return vg_err_set(b->err, code, "yaml: line %zu: %s", m->line + 1, msg);
    return vg_err_set(b->err, code, "yaml: %s", msg);
}

/* libyaml's failure. With a file name: the problem's position. Otherwise
 * go-yaml's parser.fail(): yaml.v2 names the problem mark's line, else the
 * context mark's; yaml.v3 the context mark's, else the problem's. Scanner
 * errors count one more line (the scanner has not moved past it), except
 * for yaml.v2's context mark. Line 0 is not printed. */
static int syntax_error(builder_t *b) {
    const yaml_parser_t *p = &b->parser;
    const char *problem = p->problem ? p->problem : "unknown problem parsing YAML content";
    if (p->error == YAML_MEMORY_ERROR) problem = "out of memory";
    if (b->name) return fail_at(b, VG_ERR_INPUT, &p->problem_mark, true, "%s", problem);
    bool scanner = p->error == YAML_SCANNER_ERROR;
    size_t line = 0;
    if (b->dialect == YTREE_GO_YAML_V2) {
        if (p->problem_mark.line != 0)
            line = p->problem_mark.line + (scanner ? 1 : 0);
        else if (p->context_mark.line != 0)
            line = p->context_mark.line;
    } else {
        if (p->context_mark.line != 0)
            line = p->context_mark.line;
        else if (p->problem_mark.line != 0)
            line = p->problem_mark.line;
        if (line && scanner) line++;
    }
    if (line) return vg_err_set(b->err, VG_ERR_INPUT, "yaml: line %zu: %s", line, problem);
    return vg_err_set(b->err, VG_ERR_INPUT, "yaml: %s", problem);
}

static int over_budget(builder_t *b, const yaml_mark_t *m) {
    return fail_at(b, VG_ERR_LIMIT, m, true, "document too large");
}

/* Digits of a base; '_' may appear anywhere, since go-yaml strips every
 * '_' before strconv.ParseInt. */
static bool is_digits(const char *s, size_t n, int base) {
    if (n == 0) return false;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                : c == '_'             ? -1
                                       : 99;
        if (v >= base) return false;
        if (v >= 0) any = true;
    }
    return any;
}

/* go-yaml's float form on the '_'-stripped text:
 * [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, plus the
 * infinities, and NaN without a sign. Integers were tried first. */
static bool is_float(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t rest = n - i;
    const char *r = s + i;
    if (rest == 4 && (!memcmp(r, ".inf", 4) || !memcmp(r, ".Inf", 4) || !memcmp(r, ".INF", 4)))
        return true;
    if (i == 0 && n == 4 &&
        (!memcmp(s, ".nan", 4) || !memcmp(s, ".NaN", 4) || !memcmp(s, ".NAN", 4)))
        return true;
    bool digits = false, dot = false;
    for (; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_'); i++) {
        if (s[i] == '.') {
            if (dot) return false;
            dot = true;
        } else if (s[i] != '_') {
            digits = true;
        }
    }
    if (!digits) return false;
    bool exp = false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        exp = true;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        bool exp_digits = false;
        for (; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
            if (s[i] != '_') exp_digits = true;
        if (!exp_digits) return false;
    }
    return i == n && (dot || exp);
}

static bool word_in(const char *s, size_t n, const char *const *words, size_t n_words) {
    for (size_t i = 0; i < n_words; i++)
        if (strlen(words[i]) == n && memcmp(words[i], s, n) == 0) return true;
    return false;
}

/* A plain scalar's tag. The YAML 1.1 booleans (yes, no, on, off, y, n)
 * only in yaml.v2. */
static ytree_tag_t resolve_plain(ytree_dialect_t dialect, const char *s, size_t n) {
    static const char *const nulls[] = {"~", "null", "Null", "NULL"};
    static const char *const bools[] = {
        "true", "True", "TRUE", "false", "False", "FALSE", "y",  "Y",  "yes", "Yes", "YES",
        "n",    "N",    "no",   "No",    "NO",    "on",    "On", "ON", "off", "Off", "OFF"};
    if (n == 0 || word_in(s, n, nulls, sizeof nulls / sizeof *nulls)) return YTREE_TAG_NULL;
    size_t n_bools = dialect == YTREE_GO_YAML_V2 ? sizeof bools / sizeof *bools : 6;
    if (word_in(s, n, bools, n_bools)) return YTREE_TAG_BOOL;
    /* go-yaml tries numbers only for these first characters. */
    if (s[0] == '\0' || !strchr("+-.0123456789", s[0])) return YTREE_TAG_STR;
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    if (n - i > 2 && s[i] == '0') {
        char p = s[i + 1];
        int base = (p == 'x' || p == 'X')   ? 16
                   : (p == 'o' || p == 'O') ? 8
                   : (p == 'b' || p == 'B') ? 2
                                            : 0;
        if (base) return is_digits(s + i + 2, n - i - 2, base) ? YTREE_TAG_INT : YTREE_TAG_STR;
    }
    if (n > i && is_digits(s + i, n - i, 10)) return YTREE_TAG_INT;
    if (is_float(s, n)) return YTREE_TAG_FLOAT;
    return YTREE_TAG_STR;
}

static ytree_tag_t resolve_explicit(const char *tag, ytree_tag_t fallback) {
    if (!tag) return fallback;
    if (!strcmp(tag, YAML_STR_TAG)) return YTREE_TAG_STR;
    if (!strcmp(tag, YAML_NULL_TAG)) return YTREE_TAG_NULL;
    if (!strcmp(tag, YAML_BOOL_TAG)) return YTREE_TAG_BOOL;
    if (!strcmp(tag, YAML_INT_TAG)) return YTREE_TAG_INT;
    if (!strcmp(tag, YAML_FLOAT_TAG)) return YTREE_TAG_FLOAT;
    return fallback;
}

static ytree_node_t *node_new(builder_t *b, ytree_kind_t kind, const yaml_event_t *ev) {
    ytree_node_t *n = vg_arena_alloc(b->arena, sizeof *n);
    if (!n) return NULL;
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->line = (unsigned)ev->start_mark.line + 1;
    n->col = (unsigned)ev->start_mark.column + 1;
    n->str = "";
    return n;
}

static void kid_push(kid_list_t *k, ytree_node_t *n) {
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 8;
        k->items = vg_realloc(k->items, k->cap * sizeof *k->items);
    }
    k->items[k->n++] = n;
}

/* Remembers an anchor; *out_idx (when not NULL) gets its index, or
 * SIZE_MAX when the node has none. */
static int anchor_add(builder_t *b, const yaml_char_t *name, ytree_node_t *node,
                      const yaml_mark_t *m, size_t *out_idx) {
    if (out_idx) *out_idx = SIZE_MAX;
    if (!name) return VG_OK;
    const char *copy = vg_arena_strndup(b->arena, (const char *)name, strlen((const char *)name));
    if (!copy) return over_budget(b, m);
    if (b->n_anchors == b->cap_anchors) {
        b->cap_anchors = b->cap_anchors ? 2 * b->cap_anchors : 8;
        b->anchors = vg_realloc(b->anchors, b->cap_anchors * sizeof *b->anchors);
    }
    if (out_idx) *out_idx = b->n_anchors;
    b->anchors[b->n_anchors].name = copy;
    b->anchors[b->n_anchors].open = out_idx != NULL;
    b->anchors[b->n_anchors++].node = node;
    return VG_OK;
}

/* Builds the node that starts with ev (already taken from the parser). */
static int build(builder_t *b, yaml_event_t *ev, unsigned depth, ytree_node_t **out) {
    const yaml_mark_t *m = &ev->start_mark;
    if (++b->n_nodes > b->max_nodes)
        return fail_at(b, VG_ERR_LIMIT, m, true, "document has more than %zu nodes", b->max_nodes);
    switch (ev->type) {
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        /* A redefined anchor shadows the earlier one: search from the end. */
        for (size_t i = b->n_anchors; i-- > 0;) {
            if (strcmp(b->anchors[i].name, name) != 0) continue;
            /* An alias inside the collection it names would make the tree
             * cyclic; go-yaml refuses it with these words. */
            if (b->anchors[i].open)
                return fail_at(b, VG_ERR_INPUT, m, false, "anchor '%s' value contains itself",
                               name);
            *out = b->anchors[i].node;
            return VG_OK;
        }
        return fail_at(b, VG_ERR_INPUT, m, false, "unknown anchor '%s' referenced", name);
    }
    case YAML_SCALAR_EVENT: {
        ytree_node_t *n = node_new(b, YTREE_NODE_SCALAR, ev);
        if (!n) return over_budget(b, m);
        n->len = ev->data.scalar.length;
        char *s = vg_arena_strndup(b->arena, (const char *)ev->data.scalar.value, n->len);
        if (!s) return over_budget(b, m);
        n->str = s;
        ytree_tag_t t = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                            ? resolve_plain(b->dialect, s, n->len)
                            : YTREE_TAG_STR;
        n->tag = resolve_explicit((const char *)ev->data.scalar.tag, t);
        *out = n;
        return anchor_add(b, ev->data.scalar.anchor, n, m, NULL);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool is_map = ev->type == YAML_MAPPING_START_EVENT;
        if (depth >= b->max_depth)
            return fail_at(b, VG_ERR_LIMIT, m, true, "nesting deeper than %u levels", b->max_depth);
        ytree_node_t *n = node_new(b, is_map ? YTREE_NODE_MAP : YTREE_NODE_SEQ, ev);
        if (!n) return over_budget(b, m);
        n->tag = is_map ? YTREE_TAG_MAP : YTREE_TAG_SEQ;
        size_t anchor_idx;
        int rc =
            anchor_add(b, is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor,
                       n, m, &anchor_idx);
        if (rc != VG_OK) return rc;
        kid_list_t kids = {0};
        for (;;) {
            yaml_event_t kev;
            if (!yaml_parser_parse(&b->parser, &kev)) {
                rc = syntax_error(b);
                break;
            }
            if (kev.type == YAML_SEQUENCE_END_EVENT || kev.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&kev);
                break;
            }
            ytree_node_t *kid = NULL;
            rc = build(b, &kev, depth + 1, &kid);
            yaml_event_delete(&kev);
            if (rc != VG_OK) break;
            kid_push(&kids, kid);
        }
        if (rc == VG_OK) {
            n->n = is_map ? kids.n / 2 : kids.n;
            n->kids = vg_arena_alloc(b->arena, (kids.n ? kids.n : 1) * sizeof *n->kids);
            if (!n->kids)
                rc = over_budget(b, m);
            else if (kids.n)
                memcpy(n->kids, kids.items, kids.n * sizeof *n->kids);
        }
        free(kids.items);
        if (anchor_idx != SIZE_MAX) b->anchors[anchor_idx].open = false;
        if (rc == VG_OK) *out = n;
        return rc;
    }
    default: return fail_at(b, VG_ERR_INPUT, m, false, "unexpected event");
    }
}

int ytree_parse(const char *text, size_t len, const ytree_opts_t *opts, vg_arena_t *arena,
                ytree_node_t **out_root, vg_err_t *err) {
    static const ytree_opts_t defaults = {0};
    if (!opts) opts = &defaults;
    *out_root = NULL;
    if (opts->max_bytes && len > opts->max_bytes) {
        if (opts->name)
            return vg_err_set(err, VG_ERR_LIMIT, "%s: file is larger than %zu bytes", opts->name,
                              opts->max_bytes);
        return vg_err_set(err, VG_ERR_LIMIT, "file is larger than %zu bytes", opts->max_bytes);
    }
    builder_t b = {
        .arena = arena,
        .err = err,
        .name = opts->name,
        .dialect = opts->dialect,
        .max_nodes = opts->max_nodes ? opts->max_nodes : VG_YTREE_DEFAULT_MAX_NODES,
        .max_depth = opts->max_depth ? opts->max_depth : VG_YTREE_DEFAULT_MAX_DEPTH,
    };
    if (!yaml_parser_initialize(&b.parser))
        return vg_err_set(err, VG_ERR, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, len);
    int rc = VG_OK;
    bool in_doc = false, done = false;
    while (!done && rc == VG_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&b.parser, &ev)) {
            rc = syntax_error(&b);
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_START_EVENT: break;
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_DOCUMENT_START_EVENT:
            /* go-yaml reads the first document only. */
            if (in_doc) done = true;
            in_doc = true;
            break;
        case YAML_DOCUMENT_END_EVENT: done = true; break;
        default: rc = build(&b, &ev, 0, out_root); break;
        }
        yaml_event_delete(&ev);
    }
    free(b.anchors);
    yaml_parser_delete(&b.parser);
    if (rc != VG_OK) *out_root = NULL;
    return rc;
}

bool ytree_has_second_doc(const char *text, size_t len) {
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return false;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int docs = 0;
    bool second = false;
    for (;;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e)) break;
        yaml_event_type_t t = e.type;
        yaml_event_delete(&e);
        if (t == YAML_DOCUMENT_START_EVENT && ++docs == 2) {
            second = true;
            break;
        }
        if (t == YAML_STREAM_END_EVENT) break;
    }
    yaml_parser_delete(&p);
    return second;
}
