/* This file implements the first half of loading: libyaml's event stream is
 * turned into a small node tree with positions, resolved scalar tags and
 * anchors, under hard bounds on depth and node count so that no input can
 * make the loader use unbounded memory or stack. */
#include "config/config_int.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct anchor {
    const char *name;
    cfg_node_t *node;
} anchor_t;

typedef struct tree_builder {
    yaml_parser_t parser;
    vg_arena_t *arena;
    const char *name;
    vg_err_t *err;
    size_t n_nodes;
    anchor_t *anchors;
    size_t n_anchors, cap_anchors;
} tree_builder_t;

/* A growable list of children kept on the heap while a collection is open. */
typedef struct kid_list {
    cfg_node_t **items;
    size_t n, cap;
} kid_list_t;

const char *cfg_tag_name(cfg_tag_t t) {
    switch (t) {
    case CFG_TAG_STR: return "!!str";
    case CFG_TAG_NULL: return "!!null";
    case CFG_TAG_BOOL: return "!!bool";
    case CFG_TAG_INT: return "!!int";
    case CFG_TAG_FLOAT: return "!!float";
    case CFG_TAG_MAP: return "!!map";
    case CFG_TAG_SEQ: return "!!seq";
    }
    return "!!str";
}

static int fail_at(tree_builder_t *tb, int code, size_t line0, size_t col0, const char *fmt,
                   const char *detail) {
    char msg[VG_ERR_MSG_MAX];
    snprintf(msg, sizeof msg, fmt, detail);
    return vg_err_set(tb->err, code, "%s:%zu:%zu: %s", tb->name, line0 + 1, col0 + 1, msg);
}

static bool is_digits(const char *s, size_t n, int base) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '_') continue;
        if (base == 16  ? !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                           (ch >= 'A' && ch <= 'F'))
            : base == 8 ? !(ch >= '0' && ch <= '7')
            : base == 2 ? !(ch == '0' || ch == '1')
                        : !(ch >= '0' && ch <= '9'))
            return false;
    }
    return true;
}

static bool is_float(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t rest = n - i;
    const char *r = s + i;
    if ((rest == 4 && (!memcmp(r, ".inf", 4) || !memcmp(r, ".Inf", 4) || !memcmp(r, ".INF", 4))))
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
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n) return false;
        for (; i < n; i++)
            if (s[i] < '0' || s[i] > '9') return false;
    }
    return i == n && (dot || memchr(s, 'e', n) || memchr(s, 'E', n));
}

/* Resolves a plain scalar the way yaml.v2 does (YAML 1.1 core subset). */
static cfg_tag_t resolve_plain(const char *s, size_t n) {
    if (n == 0 || (n == 1 && s[0] == '~')) return CFG_TAG_NULL;
    static const char *const nulls[] = {"null", "Null", "NULL"};
    static const char *const bools[] = {
        "y",    "Y",    "yes",   "Yes",   "YES",   "n",  "N",  "no", "No",  "NO",  "true",
        "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF"};
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
        if (strlen(nulls[i]) == n && !memcmp(nulls[i], s, n)) return CFG_TAG_NULL;
    for (size_t i = 0; i < sizeof bools / sizeof *bools; i++)
        if (strlen(bools[i]) == n && !memcmp(bools[i], s, n)) return CFG_TAG_BOOL;
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    if (n - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X'))
        return is_digits(s + i + 2, n - i - 2, 16) ? CFG_TAG_INT : CFG_TAG_STR;
    if (n - i > 2 && s[i] == '0' && (s[i + 1] == 'b' || s[i + 1] == 'B'))
        return is_digits(s + i + 2, n - i - 2, 2) ? CFG_TAG_INT : CFG_TAG_STR;
    if (n - i > 2 && s[i] == '0' && (s[i + 1] == 'o' || s[i + 1] == 'O'))
        return is_digits(s + i + 2, n - i - 2, 8) ? CFG_TAG_INT : CFG_TAG_STR;
    if (n > i && s[i] != '_' && is_digits(s + i, n - i, 10)) return CFG_TAG_INT;
    if (is_float(s, n)) return CFG_TAG_FLOAT;
    return CFG_TAG_STR;
}

static cfg_tag_t resolve_explicit(const char *tag, cfg_tag_t fallback) {
    if (!tag) return fallback;
    if (!strcmp(tag, YAML_STR_TAG)) return CFG_TAG_STR;
    if (!strcmp(tag, YAML_NULL_TAG)) return CFG_TAG_NULL;
    if (!strcmp(tag, YAML_BOOL_TAG)) return CFG_TAG_BOOL;
    if (!strcmp(tag, YAML_INT_TAG)) return CFG_TAG_INT;
    if (!strcmp(tag, YAML_FLOAT_TAG)) return CFG_TAG_FLOAT;
    return fallback;
}

static cfg_node_t *node_new(tree_builder_t *tb, cfg_kind_t kind, const yaml_event_t *ev) {
    cfg_node_t *n = vg_arena_alloc(tb->arena, sizeof *n);
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->line = (unsigned)ev->start_mark.line + 1;
    n->col = (unsigned)ev->start_mark.column + 1;
    n->str = "";
    return n;
}

static void kid_push(kid_list_t *k, cfg_node_t *n) {
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 8;
        k->items = vg_realloc(k->items, k->cap * sizeof *k->items);
    }
    k->items[k->n++] = n;
}

static void anchor_add(tree_builder_t *tb, const yaml_char_t *name, cfg_node_t *node) {
    if (!name) return;
    /* A redefined anchor shadows the earlier one: search from the end. */
    if (tb->n_anchors == tb->cap_anchors) {
        tb->cap_anchors = tb->cap_anchors ? 2 * tb->cap_anchors : 8;
        tb->anchors = vg_realloc(tb->anchors, tb->cap_anchors * sizeof *tb->anchors);
    }
    tb->anchors[tb->n_anchors].name =
        vg_arena_strndup(tb->arena, (const char *)name, strlen((const char *)name));
    tb->anchors[tb->n_anchors++].node = node;
}

static int next_event(tree_builder_t *tb, yaml_event_t *ev) {
    if (yaml_parser_parse(&tb->parser, ev)) return VG_OK;
    const yaml_mark_t *m = &tb->parser.problem_mark;
    const char *problem = tb->parser.problem ? tb->parser.problem : "cannot parse";
    if (tb->parser.error == YAML_MEMORY_ERROR) problem = "out of memory";
    return fail_at(tb, VG_ERR_INPUT, m->line, m->column, "yaml: %s", problem);
}

/* Builds the node that starts with `ev` (already taken from the parser). */
static int build(tree_builder_t *tb, yaml_event_t *ev, unsigned depth, cfg_node_t **out) {
    if (++tb->n_nodes > VG_CONFIG_MAX_NODES)
        return fail_at(tb, VG_ERR_LIMIT, ev->start_mark.line, ev->start_mark.column, "yaml: %s",
                       "too many nodes in the document");
    switch (ev->type) {
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        for (size_t i = tb->n_anchors; i-- > 0;) {
            if (!strcmp(tb->anchors[i].name, name)) {
                *out = tb->anchors[i].node;
                return VG_OK;
            }
        }
        return fail_at(tb, VG_ERR_INPUT, ev->start_mark.line, ev->start_mark.column,
                       "yaml: unknown anchor '%s' referenced", name);
    }
    case YAML_SCALAR_EVENT: {
        cfg_node_t *n = node_new(tb, CFG_NODE_SCALAR, ev);
        n->len = ev->data.scalar.length;
        n->str = vg_arena_strndup(tb->arena, (const char *)ev->data.scalar.value, n->len);
        bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        cfg_tag_t t = plain ? resolve_plain(n->str, n->len) : CFG_TAG_STR;
        n->tag = resolve_explicit((const char *)ev->data.scalar.tag, t);
        anchor_add(tb, ev->data.scalar.anchor, n);
        *out = n;
        return VG_OK;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool is_map = ev->type == YAML_MAPPING_START_EVENT;
        if (depth >= VG_CONFIG_MAX_DEPTH)
            return fail_at(tb, VG_ERR_LIMIT, ev->start_mark.line, ev->start_mark.column, "yaml: %s",
                           "nesting deeper than 64 levels");
        cfg_node_t *n = node_new(tb, is_map ? CFG_NODE_MAP : CFG_NODE_SEQ, ev);
        n->tag = is_map ? CFG_TAG_MAP : CFG_TAG_SEQ;
        anchor_add(tb, is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor, n);
        kid_list_t kids = {0};
        int rc = VG_OK;
        for (;;) {
            yaml_event_t kev;
            if ((rc = next_event(tb, &kev)) != VG_OK) break;
            if (kev.type == YAML_SEQUENCE_END_EVENT || kev.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&kev);
                break;
            }
            cfg_node_t *kid = NULL;
            rc = build(tb, &kev, depth + 1, &kid);
            yaml_event_delete(&kev);
            if (rc != VG_OK) break;
            kid_push(&kids, kid);
        }
        if (rc == VG_OK) {
            n->n = is_map ? kids.n / 2 : kids.n;
            n->kids = vg_arena_alloc(tb->arena, (kids.n ? kids.n : 1) * sizeof *n->kids);
            if (kids.n) memcpy(n->kids, kids.items, kids.n * sizeof *n->kids);
            *out = n;
        }
        free(kids.items);
        return rc;
    }
    default:
        return fail_at(tb, VG_ERR_INPUT, ev->start_mark.line, ev->start_mark.column, "yaml: %s",
                       "unexpected event");
    }
}

int cfg_yaml_parse(const char *text, size_t len, const char *name, vg_arena_t *arena,
                   cfg_node_t **out_root, vg_err_t *err) {
    *out_root = NULL;
    if (len > VG_CONFIG_MAX_FILE_BYTES)
        return vg_err_set(err, VG_ERR_LIMIT, "%s: file is larger than %u bytes", name,
                          VG_CONFIG_MAX_FILE_BYTES);
    tree_builder_t tb = {.arena = arena, .name = name, .err = err};
    if (!yaml_parser_initialize(&tb.parser))
        return vg_err_set(err, VG_ERR, "%s: cannot initialise the YAML parser", name);
    yaml_parser_set_input_string(&tb.parser, (const unsigned char *)text, len);
    int rc = VG_OK;
    bool in_doc = false, done = false;
    while (!done && rc == VG_OK) {
        yaml_event_t ev;
        if ((rc = next_event(&tb, &ev)) != VG_OK) break;
        switch (ev.type) {
        case YAML_STREAM_START_EVENT: break;
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_DOCUMENT_START_EVENT:
            /* yaml.v2 reads the first document only. */
            if (in_doc) done = true;
            in_doc = true;
            break;
        case YAML_DOCUMENT_END_EVENT: done = true; break;
        default: rc = build(&tb, &ev, 0, out_root); break;
        }
        yaml_event_delete(&ev);
    }
    free(tb.anchors);
    yaml_parser_delete(&tb.parser);
    return rc;
}
