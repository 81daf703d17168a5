/* This file implements the first step of loading alertmanager.yml: libyaml's
 * events become a small node tree with positions, scalar tags resolved as
 * Go's yaml.v2 resolves them, and anchors, under hard bounds on nesting and
 * node count, so that no input makes the loader use unbounded stack or
 * memory. Syntax errors are worded as yaml.v2 words them. */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "alert/alert_int.h"

typedef struct ybuilder {
    yaml_parser_t p;
    vg_arena_t *arena;
    vg_err_t *err;
    size_t n_nodes;
    struct {
        const char *name;
        alert_ynode_t *node;
    } * anchors;
    size_t n_anchors, cap_anchors;
} ybuilder_t;

const char *alert_ytag_name(alert_ytag_t t) {
    static const char *const names[] = {"!!str",   "!!null", "!!bool", "!!int",
                                        "!!float", "!!map",  "!!seq"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "!!str";
}

bool alert_ynode_null(const alert_ynode_t *n) {
    return !n || (n->kind == ALERT_Y_SCALAR && n->tag == ALERT_T_NULL);
}

static bool word_in(const char *s, size_t n, const char *const *words, size_t n_words) {
    for (size_t i = 0; i < n_words; i++)
        if (strlen(words[i]) == n && memcmp(words[i], s, n) == 0) return true;
    return false;
}

/* Digits of a base, '_' allowed between them (Go's ParseInt with base 0). */
static bool digits_of(const char *s, size_t n, int base) {
    if (n == 0 || s[0] == '_' || s[n - 1] == '_') return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                : c == '_'             ? 0
                                       : 99;
        if (v >= base) return false;
    }
    return true;
}

/* yaml.v2's float form: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool float_form(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t int_digits = 0, frac_digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, int_digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, frac_digits++;
    } else if (int_digits == 0) {
        return false;
    }
    if (int_digits == 0 && frac_digits == 0) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t e = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, e++;
        if (e == 0) return false;
    }
    return i == n;
}

static alert_ytag_t resolve_plain(const char *s, size_t n) {
    static const char *const nulls[] = {"~", "null", "Null", "NULL"};
    static const char *const bools[] = {"y",     "Y",     "yes",   "Yes",  "YES",  "n",  "N",  "no",
                                        "No",    "NO",    "true",  "True", "TRUE", "on", "On", "ON",
                                        "false", "False", "FALSE", "off",  "Off",  "OFF"};
    static const char *const specials[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf", "+.INF",
                                           "-.inf", "-.Inf", "-.INF", ".nan",  ".NaN",  ".NAN"};
    if (n == 0 || word_in(s, n, nulls, 4)) return ALERT_T_NULL;
    if (word_in(s, n, bools, sizeof bools / sizeof *bools)) return ALERT_T_BOOL;
    if (word_in(s, n, specials, sizeof specials / sizeof *specials)) return ALERT_T_FLOAT;
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    if (n - i > 2 && s[i] == '0') {
        char p = s[i + 1];
        int base = (p == 'x' || p == 'X')   ? 16
                   : (p == 'o' || p == 'O') ? 8
                   : (p == 'b' || p == 'B') ? 2
                                            : 0;
        if (base) return digits_of(s + i + 2, n - i - 2, base) ? ALERT_T_INT : ALERT_T_STR;
    }
    if (n > i && digits_of(s + i, n - i, 10)) return ALERT_T_INT;
    if (float_form(s, n)) return ALERT_T_FLOAT;
    return ALERT_T_STR;
}

static alert_ytag_t resolve_tag(const char *tag, alert_ytag_t plain) {
    if (!tag) return plain;
    if (!strcmp(tag, YAML_STR_TAG)) return ALERT_T_STR;
    if (!strcmp(tag, YAML_NULL_TAG)) return ALERT_T_NULL;
    if (!strcmp(tag, YAML_BOOL_TAG)) return ALERT_T_BOOL;
    if (!strcmp(tag, YAML_INT_TAG)) return ALERT_T_INT;
    if (!strcmp(tag, YAML_FLOAT_TAG)) return ALERT_T_FLOAT;
    return plain;
}

/* yaml.v2's parser failure: "yaml: line N: problem" (scanner errors report
 * the line after the mark's). */
static int syntax_error(ybuilder_t *b) {
    size_t line = 0;
    if (b->p.problem_mark.line != 0) {
        line = b->p.problem_mark.line;
        if (b->p.error == YAML_SCANNER_ERROR) line++;
    } else if (b->p.context_mark.line != 0) {
        line = b->p.context_mark.line;
    }
    const char *problem = b->p.problem ? b->p.problem : "unknown problem parsing YAML content";
    if (b->p.error == YAML_MEMORY_ERROR) problem = "out of memory";
    if (line) return vg_err_set(b->err, VG_ERR_INPUT, "yaml: line %zu: %s", line, problem);
    return vg_err_set(b->err, VG_ERR_INPUT, "yaml: %s", problem);
}

static alert_ynode_t *node_new(ybuilder_t *b, alert_ykind_t kind, const yaml_event_t *ev) {
    alert_ynode_t *n = vg_arena_alloc(b->arena, sizeof *n);
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->line = (unsigned)ev->start_mark.line + 1;
    n->col = (unsigned)ev->start_mark.column + 1;
    n->str = "";
    return n;
}

static void anchor_add(ybuilder_t *b, const yaml_char_t *name, alert_ynode_t *n) {
    if (!name) return;
    if (b->n_anchors == b->cap_anchors) {
        b->cap_anchors = b->cap_anchors ? 2 * b->cap_anchors : 8;
        b->anchors = vg_realloc(b->anchors, b->cap_anchors * sizeof *b->anchors);
    }
    b->anchors[b->n_anchors].name =
        vg_arena_strndup(b->arena, (const char *)name, strlen((const char *)name));
    b->anchors[b->n_anchors++].node = n;
}

static int build(ybuilder_t *b, yaml_event_t *ev, unsigned depth, alert_ynode_t **out) {
    if (++b->n_nodes > ALERT_CONFIG_MAX_NODES)
        return vg_err_set(b->err, VG_ERR_LIMIT, "yaml: line %zu: document has more than %u nodes",
                          ev->start_mark.line + 1, ALERT_CONFIG_MAX_NODES);
    switch (ev->type) {
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        /* A redefined anchor shadows the earlier one: search from the end. */
        for (size_t i = b->n_anchors; i-- > 0;)
            if (!strcmp(b->anchors[i].name, name)) return *out = b->anchors[i].node, VG_OK;
        return vg_err_set(b->err, VG_ERR_INPUT, "yaml: unknown anchor '%s' referenced", name);
    }
    case YAML_SCALAR_EVENT: {
        alert_ynode_t *n = node_new(b, ALERT_Y_SCALAR, ev);
        n->len = ev->data.scalar.length;
        n->str = vg_arena_strndup(b->arena, (const char *)ev->data.scalar.value, n->len);
        alert_ytag_t t = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                             ? resolve_plain(n->str, n->len)
                             : ALERT_T_STR;
        n->tag = resolve_tag((const char *)ev->data.scalar.tag, t);
        anchor_add(b, ev->data.scalar.anchor, n);
        *out = n;
        return VG_OK;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool is_map = ev->type == YAML_MAPPING_START_EVENT;
        if (depth >= ALERT_CONFIG_MAX_DEPTH)
            return vg_err_set(b->err, VG_ERR_LIMIT, "yaml: line %zu: nesting deeper than %d levels",
                              ev->start_mark.line + 1, ALERT_CONFIG_MAX_DEPTH);
        alert_ynode_t *n = node_new(b, is_map ? ALERT_Y_MAP : ALERT_Y_SEQ, ev);
        n->tag = is_map ? ALERT_T_MAP : ALERT_T_SEQ;
        anchor_add(b, is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor, n);
        alert_ynode_t **kids = NULL;
        size_t n_kids = 0, cap = 0;
        int rc = VG_OK;
        for (;;) {
            yaml_event_t kev;
            if (!yaml_parser_parse(&b->p, &kev)) {
                rc = syntax_error(b);
                break;
            }
            if (kev.type == YAML_SEQUENCE_END_EVENT || kev.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&kev);
                break;
            }
            alert_ynode_t *kid = NULL;
            rc = build(b, &kev, depth + 1, &kid);
            yaml_event_delete(&kev);
            if (rc != VG_OK) break;
            if (n_kids == cap) {
                cap = cap ? 2 * cap : 8;
                kids = vg_realloc(kids, cap * sizeof *kids);
            }
            kids[n_kids++] = kid;
        }
        if (rc == VG_OK) {
            n->n = is_map ? n_kids / 2 : n_kids;
            n->kids = vg_arena_alloc(b->arena, (n_kids ? n_kids : 1) * sizeof *n->kids);
            if (n_kids) memcpy(n->kids, kids, n_kids * sizeof *kids);
            *out = n;
        }
        free(kids);
        return rc;
    }
    default: return vg_err_set(b->err, VG_ERR_INPUT, "yaml: unexpected event");
    }
}

int alert_yaml_parse(const char *text, size_t len, vg_arena_t *arena, alert_ynode_t **out,
                     vg_err_t *err) {
    *out = NULL;
    if (len > ALERT_CONFIG_MAX_FILE_BYTES)
        return vg_err_set(err, VG_ERR_LIMIT, "file is larger than %u bytes",
                          ALERT_CONFIG_MAX_FILE_BYTES);
    ybuilder_t b = {.arena = arena, .err = err};
    if (!yaml_parser_initialize(&b.p))
        return vg_err_set(err, VG_ERR, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&b.p, (const unsigned char *)text, len);
    int rc = VG_OK;
    bool in_doc = false, done = false;
    while (!done && rc == VG_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&b.p, &ev)) {
            rc = syntax_error(&b);
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_START_EVENT: break;
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_DOCUMENT_START_EVENT:
            /* yaml.v2 reads the first document only. */
            if (in_doc) done = true;
            in_doc = true;
            break;
        case YAML_DOCUMENT_END_EVENT: done = true; break;
        default: rc = build(&b, &ev, 0, out); break;
        }
        yaml_event_delete(&ev);
    }
    free(b.anchors);
    yaml_parser_delete(&b.p);
    return rc;
}
