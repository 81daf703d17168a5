/* Shared inside the config module only: parsing into the YAML node tree
 * and the decoder entry point. */
#ifndef VG_CONFIG_INT_H
#define VG_CONFIG_INT_H

#include "config/config.h"
#include "ytree/ytree.h"

/* Parses prometheus.yml text into a tree in arena, with the module's
 * limits; errors read "NAME:L:C: yaml: ...". */
int cfg_yaml_parse(const char *text, size_t len, const char *name, vg_arena_t *arena,
                   ytree_node_t **out_root, vg_err_t *err);

/* Decodes the tree into a new snapshot's fields (see schema.c). */
int cfg_decode(config_t *c, const ytree_node_t *root, vg_arena_t *arena, const char *name,
               const char *dir, char ***out_warnings, size_t *out_n_warnings, vg_err_t *err);

#endif
