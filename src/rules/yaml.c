/* This file implements the YAML side of rule and unit-test files: libyaml's
 * events become a small tree of nodes with positions and resolved scalar
 * tags (anchors resolved by sharing nodes), bounded in depth and node
 * count, with syntax errors worded as go-yaml words them. */
#include "rules/rules_int.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct anchor {
    char *name;
    ry_node_t *node;
} anchor_t;

typedef struct builder {
    yaml_parser_t parser;
    vg_arena_t *arena;
    vg_err_t *err;
    size_t n_nodes;
    anchor_t *anchors;
    size_t n_anchors, cap_anchors;
} builder_t;

typedef struct kids {
    ry_node_t **v;
    size_t n, cap;
} kids_t;

static void kids_push(kids_t *k, ry_node_t *n) {
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 8;
        k->v = vg_realloc(k->v, k->cap * sizeof *k->v);
    }
    k->v[k->n++] = n;
}

/* go-yaml's parser.fail(): the context mark's line, else the problem's,
 * counted one more for scanner errors, and no "line" when it is 0. */
static int syntax_error(builder_t *b) {
    yaml_parser_t *p = &b->parser;
    size_t line = 0;
    if (p->context_mark.line != 0)
        line = p->context_mark.line;
    else if (p->problem_mark.line != 0)
        line = p->problem_mark.line;
    if (line && p->error == YAML_SCANNER_ERROR) line++;
    const char *msg = p->problem ? p->problem : "unknown problem parsing YAML content";
    if (line) return vg_err_set(b->err, VG_ERR_INPUT, "yaml: line %zu: %s", line, msg);
    return vg_err_set(b->err, VG_ERR_INPUT, "yaml: %s", msg);
}

static bool is_num(const char *s, size_t n, bool *is_float) {
    size_t i = 0;
    *is_float = false;
    if (n == 0) return false;
    if (s[0] == '+' || s[0] == '-') i++;
    if (i == n) return false;
    if (n - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b')) {
        char k = s[i + 1];
        for (i += 2; i < n; i++) {
            char c = s[i];
            bool ok = k == 'x'   ? ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                                  (c >= 'A' && c <= 'F') || c == '_')
                      : k == 'o' ? ((c >= '0' && c <= '7') || c == '_')
                                 : (c == '0' || c == '1' || c == '_');
            if (!ok) return false;
        }
        return true;
    }
    if (strncmp(s + i, ".inf", 4) == 0 || strncmp(s + i, ".Inf", 4) == 0 ||
        strncmp(s + i, ".INF", 4) == 0) {
        *is_float = true;
        return n - i == 4;
    }
    bool digits = false, dot = false, exp = false;
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            digits = true;
        else if (c == '_' && digits)
            continue;
        else if (c == '.' && !dot && !exp)
            dot = true;
        else if ((c == 'e' || c == 'E') && digits && !exp) {
            exp = true;
            if (i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-')) i++;
            if (i + 1 >= n) return false;
        } else
            return false;
    }
    *is_float = dot || exp;
    return digits;
}

static ry_tag_t resolve(const char *s, size_t n) {
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    static const char *const bools[] = {"true", "True", "TRUE", "false", "False", "FALSE"};
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        if (strlen(nulls[i]) == n && memcmp(s, nulls[i], n) == 0) return RY_NULL;
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++)
        if (strlen(bools[i]) == n && memcmp(s, bools[i], n) == 0) return RY_BOOL;
    if ((n == 4 &&
         (memcmp(s, ".nan", 4) == 0 || memcmp(s, ".NaN", 4) == 0 || memcmp(s, ".NAN", 4) == 0)))
        return RY_FLOAT;
    bool f;
    if (is_num(s, n, &f)) return f ? RY_FLOAT : RY_INT;
    return RY_STR;
}

static ry_tag_t explicit_tag(const char *tag, ry_tag_t def) {
    if (!tag) return def;
    const char *p = strrchr(tag, ':');
    const char *t = p ? p + 1 : tag;
    if (strcmp(t, "str") == 0) return RY_STR;
    if (strcmp(t, "null") == 0) return RY_NULL;
    if (strcmp(t, "bool") == 0) return RY_BOOL;
    if (strcmp(t, "int") == 0) return RY_INT;
    if (strcmp(t, "float") == 0) return RY_FLOAT;
    return def;
}

static ry_node_t *new_node(builder_t *b, ry_kind_t kind, const yaml_mark_t *m) {
    if (++b->n_nodes > RY_MAX_NODES) {
        vg_err_set(b->err, VG_ERR_LIMIT, "yaml: document has more than %u nodes", RY_MAX_NODES);
        return NULL;
    }
    ry_node_t *n = vg_arena_alloc(b->arena, sizeof *n);
    if (!n) {
        vg_err_set(b->err, VG_ERR_LIMIT, "yaml: document too large");
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->line = (unsigned)m->line + 1;
    n->col = (unsigned)m->column + 1;
    return n;
}

static void remember_anchor(builder_t *b, const yaml_char_t *name, ry_node_t *n) {
    if (!name) return;
    if (b->n_anchors == b->cap_anchors) {
        b->cap_anchors = b->cap_anchors ? b->cap_anchors * 2 : 8;
        b->anchors = vg_realloc(b->anchors, b->cap_anchors * sizeof *b->anchors);
    }
    b->anchors[b->n_anchors].name = vg_strdup((const char *)name);
    b->anchors[b->n_anchors].node = n;
    b->n_anchors++;
}

/* Builds the node that starts with event ev (already taken). */
static int build(builder_t *b, yaml_event_t *ev, unsigned depth, ry_node_t **out) {
    if (depth > RY_MAX_DEPTH)
        return vg_err_set(b->err, VG_ERR_LIMIT, "yaml: nesting deeper than %d", RY_MAX_DEPTH);
    switch (ev->type) {
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        for (size_t i = b->n_anchors; i-- > 0;)
            if (strcmp(b->anchors[i].name, name) == 0) {
                *out = b->anchors[i].node;
                return 0;
            }
        return vg_err_set(b->err, VG_ERR_INPUT, "yaml: line %zu: unknown anchor '%s' referenced",
                          ev->start_mark.line + 1, name);
    }
    case YAML_SCALAR_EVENT: {
        ry_node_t *n = new_node(b, RY_SCALAR, &ev->start_mark);
        if (!n) return VG_ERR_LIMIT;
        size_t len = ev->data.scalar.length;
        char *s = vg_arena_strndup(b->arena, (const char *)ev->data.scalar.value, len);
        if (!s) return vg_err_set(b->err, VG_ERR_LIMIT, "yaml: document too large");
        n->s = s;
        n->len = len;
        bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->tag = plain ? resolve(s, len) : RY_STR;
        n->tag = explicit_tag((const char *)ev->data.scalar.tag, n->tag);
        remember_anchor(b, ev->data.scalar.anchor, n);
        *out = n;
        return 0;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool map = ev->type == YAML_MAPPING_START_EVENT;
        ry_node_t *n = new_node(b, map ? RY_MAP : RY_SEQ, &ev->start_mark);
        if (!n) return VG_ERR_LIMIT;
        remember_anchor(b, map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor, n);
        kids_t k = {0};
        int rc = 0;
        for (;;) {
            yaml_event_t e;
            if (!yaml_parser_parse(&b->parser, &e)) {
                rc = syntax_error(b);
                break;
            }
            if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&e);
                break;
            }
            ry_node_t *kid = NULL;
            rc = build(b, &e, depth + 1, &kid);
            yaml_event_delete(&e);
            if (rc) break;
            kids_push(&k, kid);
        }
        if (rc == 0 && k.n) {
            n->kids = vg_arena_alloc(b->arena, k.n * sizeof *n->kids);
            if (!n->kids)
                rc = vg_err_set(b->err, VG_ERR_LIMIT, "yaml: document too large");
            else
                memcpy(n->kids, k.v, k.n * sizeof *n->kids);
            n->n_kids = k.n;
        }
        free(k.v);
        if (rc) return rc;
        *out = n;
        return 0;
    }
    default: return vg_err_set(b->err, VG_ERR_INPUT, "yaml: unexpected event");
    }
}

int ry_parse(const char *data, size_t len, vg_arena_t *arena, ry_node_t **out_root, vg_err_t *err) {
    builder_t b = {.arena = arena, .err = err};
    *out_root = NULL;
    if (!yaml_parser_initialize(&b.parser)) return vg_err_set(err, VG_ERR, "yaml: out of memory");
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)data, len);
    int rc = 0;
    bool in_doc = false;
    for (;;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&b.parser, &e)) {
            rc = syntax_error(&b);
            break;
        }
        yaml_event_type_t t = e.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&e);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            in_doc = true;
        } else if (t == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&e);
            break; /* only the first document counts */
        } else if (in_doc && t != YAML_STREAM_START_EVENT) {
            rc = build(&b, &e, 0, out_root);
        }
        yaml_event_delete(&e);
        if (rc) break;
    }
    for (size_t i = 0; i < b.n_anchors; i++)
        free(b.anchors[i].name);
    free(b.anchors);
    yaml_parser_delete(&b.parser);
    if (rc) *out_root = NULL;
    return rc;
}

bool ry_has_second_doc(const char *data, size_t len) {
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return false;
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
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

const char *ry_tag_name(const ry_node_t *n) {
    if (n->kind == RY_MAP) return "!!map";
    if (n->kind == RY_SEQ) return "!!seq";
    switch (n->tag) {
    case RY_NULL: return "!!null";
    case RY_BOOL: return "!!bool";
    case RY_INT: return "!!int";
    case RY_FLOAT: return "!!float";
    default: return "!!str";
    }
}

bool ry_is_null(const ry_node_t *n) { return !n || (n->kind == RY_SCALAR && n->tag == RY_NULL); }

void ry_errs_add(ry_errs_t *e, const char *fmt, ...) {
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 8;
        e->msgs = vg_realloc(e->msgs, e->cap * sizeof *e->msgs);
    }
    vg_buf_t b = VG_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    vg_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    e->msgs[e->n++] = vg_buf_detach(&b);
}

char *ry_errs_join(const ry_errs_t *e) {
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_puts(&b, "yaml: unmarshal errors:");
    for (size_t i = 0; i < e->n; i++)
        vg_buf_printf(&b, "\n  %s", e->msgs[i]);
    return vg_buf_detach(&b);
}

void ry_errs_free(ry_errs_t *e) {
    for (size_t i = 0; i < e->n; i++)
        free(e->msgs[i]);
    free(e->msgs);
    memset(e, 0, sizeof *e);
}
