/* ytree: YAML text to a small tree of positioned nodes, the layer under the
 * decoders of prometheus.yml (config), alertmanager.yml (alert) and rule and
 * rule-test files (rules).
 *
 * libyaml's event stream of the first document becomes a tree of nodes with
 * 1-based positions, scalar tags resolved as Go's yaml.v2 or yaml.v3 resolve
 * them, and anchors (an alias shares the anchored node, so the tree is a
 * DAG: walkers must bound their visits; an alias inside the collection it
 * names is refused, so there are no cycles). Depth, node count and input size are
 * bounded before anything grows, so no input makes the parser use unbounded
 * stack or memory. Syntax errors are worded as go-yaml words them ("yaml:
 * line N: ...") or, when a file name is given, with the position ("NAME:L:C:
 * yaml: ...").
 *
 * Owns nothing after a call: the tree lives in the caller's arena. Stateless;
 * any thread may call any function. */
#ifndef VG_YTREE_H
#define VG_YTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/core.h"

#define VG_YTREE_DEFAULT_MAX_DEPTH 64
#define VG_YTREE_DEFAULT_MAX_NODES 1000000u

typedef enum ytree_kind {
    YTREE_NODE_SCALAR = 0,
    YTREE_NODE_MAP,
    YTREE_NODE_SEQ,
} ytree_kind_t;

/* What a node resolves to; collections carry MAP or SEQ. Quoted scalars
 * are strings unless explicitly tagged. */
typedef enum ytree_tag {
    YTREE_TAG_STR = 0,
    YTREE_TAG_NULL,
    YTREE_TAG_BOOL,
    YTREE_TAG_INT,
    YTREE_TAG_FLOAT,
    YTREE_TAG_MAP,
    YTREE_TAG_SEQ,
} ytree_tag_t;

/* One node. A map holds 2*n kids (key, value, key, value...), a sequence
 * n. Scalars: str is NUL-terminated (it may also hold NUL bytes, len is the
 * real length); collections have str "". */
typedef struct ytree_node {
    ytree_kind_t kind;
    ytree_tag_t tag;
    unsigned line, col; /* 1-based */
    const char *str;
    size_t len;
    struct ytree_node **kids;
    size_t n; /* maps: pairs; sequences: items; scalars: 0 */
} ytree_node_t;

/* Which Go library's rules to follow: the plain scalars that are booleans
 * (yaml.v2 also takes yes/no/on/off/y/n) and the line a syntax error
 * names. */
typedef enum ytree_dialect {
    YTREE_GO_YAML_V2 = 0,
    YTREE_GO_YAML_V3,
} ytree_dialect_t;

typedef struct ytree_opts {
    ytree_dialect_t dialect;
    /* File name. When set, errors read "NAME:L:C: yaml: <why>" (and
     * "NAME: file is larger ..."); when NULL, as go-yaml words them. */
    const char *name;
    size_t max_bytes;   /* 0: no limit */
    size_t max_nodes;   /* 0: VG_YTREE_DEFAULT_MAX_NODES (aliases count) */
    unsigned max_depth; /* nested collections; 0: VG_YTREE_DEFAULT_MAX_DEPTH */
} ytree_opts_t;

/* Parses the first YAML document of text (len bytes, borrowed) into a tree
 * allocated from arena (borrowed; the tree lives as long as it). opts may
 * be NULL for the defaults. An empty document gives *out_root = NULL.
 * Returns 0, VG_ERR_INPUT for bad YAML or VG_ERR_LIMIT over a bound, with
 * *out_root NULL and the message in err. */
int ytree_parse(const char *text, size_t len, const ytree_opts_t *opts, vg_arena_t *arena,
                ytree_node_t **out_root, vg_err_t *err);

/* Whether text holds a second document (yaml.v2/v3 ignore it; Prometheus
 * warns about it in rule files). Stops at a syntax error. */
bool ytree_has_second_doc(const char *text, size_t len);

/* The tag as go-yaml prints it in type errors: "!!str", "!!map", ... */
const char *ytree_tag_name(ytree_tag_t t);

/* True for NULL (absent) and for a null scalar. */
bool ytree_is_null(const ytree_node_t *n);

/* The value of the first key equal to key (NUL-terminated) in a map node,
 * or NULL when map is not a map or has no such key. Borrowed from the tree. */
const ytree_node_t *ytree_map_get(const ytree_node_t *map, const char *key);

/* Whether scalar node n is exactly the bytes of s (NUL-terminated). */
bool ytree_scalar_is(const ytree_node_t *n, const char *s);

#endif
