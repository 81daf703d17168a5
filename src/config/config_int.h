/* Shared inside the config module only: the YAML node tree and the decoder
 * context. */
#ifndef VG_CONFIG_INT_H
#define VG_CONFIG_INT_H

#include "config/config.h"

typedef enum cfg_kind {
    CFG_NODE_SCALAR = 0,
    CFG_NODE_MAP,
    CFG_NODE_SEQ,
} cfg_kind_t;

/* What a scalar resolves to under YAML 1.1 rules (as Go's yaml.v2 does). */
typedef enum cfg_tag {
    CFG_TAG_STR = 0,
    CFG_TAG_NULL,
    CFG_TAG_BOOL,
    CFG_TAG_INT,
    CFG_TAG_FLOAT,
    CFG_TAG_MAP,
    CFG_TAG_SEQ,
} cfg_tag_t;

/* One YAML node. A map holds 2*n children (key, value, key, value...); a
 * sequence holds n. Aliases point at the anchored node, so the tree is a DAG. */
typedef struct cfg_node {
    cfg_kind_t kind;
    cfg_tag_t tag;
    unsigned line, col; /* 1-based */
    const char *str;    /* scalars: NUL-terminated value */
    size_t len;
    struct cfg_node **kids;
    size_t n; /* maps: number of pairs; sequences: number of items */
} cfg_node_t;

/* Parses a YAML document into a tree allocated from `arena`. An empty
 * document gives *out_root = NULL. Errors carry "NAME:L:C: yaml: ...". */
int cfg_yaml_parse(const char *text, size_t len, const char *name, vg_arena_t *arena,
                   cfg_node_t **out_root, vg_err_t *err);

/* Value tag name as yaml.v2 prints it in type errors ("!!str"). */
const char *cfg_tag_name(cfg_tag_t t);

/* Decodes the tree into a new snapshot's fields (see schema.c). */
int cfg_decode(config_t *c, const cfg_node_t *root, vg_arena_t *arena, const char *name,
               const char *dir, char ***out_warnings, size_t *out_n_warnings, vg_err_t *err);

#endif
