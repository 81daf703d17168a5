/* This file implements the snapshot's life cycle: loading a file or a
 * string (YAML tree, then decoding), the warnings it carries and its atomic
 * reference count. */
#include "config/config_int.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct config_priv {
    atomic_size_t refs;
    vg_arena_t *arena; /* the decoded structs and arrays */
    vg_arena_t *tree;  /* the YAML tree: its scalar strings are the fields' strings */
    char **warnings;   /* heap strings */
    size_t n_warnings;
};

static void free_warnings(char **w, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(w[i]);
    free(w);
}

int cfg_yaml_parse(const char *text, size_t len, const char *name, vg_arena_t *arena,
                   ytree_node_t **out_root, vg_err_t *err) {
    const ytree_opts_t opts = {
        .dialect = YTREE_GO_YAML_V2,
        .name = name,
        .max_bytes = VG_CONFIG_MAX_FILE_BYTES,
        .max_nodes = VG_CONFIG_MAX_NODES,
        .max_depth = VG_CONFIG_MAX_DEPTH,
    };
    return ytree_parse(text, len, &opts, arena, out_root, err);
}

static config_t *load(const char *yaml, size_t len, const char *name, const char *dir,
                      vg_err_t *err) {
    vg_arena_t *tree = vg_arena_new(0);
    ytree_node_t *root = NULL;
    if (cfg_yaml_parse(yaml, len, name, tree, &root, err) != VG_OK) {
        vg_arena_free(tree);
        return NULL;
    }
    vg_arena_t *arena = vg_arena_new(0);
    config_t *c = vg_arena_alloc(arena, sizeof *c);
    char **warnings = NULL;
    size_t n_warnings = 0;
    if (cfg_decode(c, root, arena, name, dir, &warnings, &n_warnings, err) != VG_OK) {
        free_warnings(warnings, n_warnings);
        vg_arena_free(arena);
        vg_arena_free(tree);
        return NULL;
    }
    struct config_priv *p = vg_calloc(1, sizeof *p);
    atomic_init(&p->refs, 1);
    p->arena = arena;
    p->tree = tree;
    p->warnings = warnings;
    p->n_warnings = n_warnings;
    c->priv = p;
    c->path = vg_arena_strndup(arena, name, strlen(name));
    c->dir = vg_arena_strndup(arena, dir, strlen(dir));
    return c;
}

config_t *config_load_string(const char *yaml, size_t len, const char *name, vg_err_t *err) {
    return load(yaml, len, name ? name : "<string>", "", err);
}

config_t *config_load_file(const char *path, vg_err_t *err) {
    char *data = NULL;
    size_t len = 0;
    int rc = vg_file_read_all(path, VG_CONFIG_MAX_FILE_BYTES, &data, &len, err);
    if (rc != VG_OK) {
        if (err && !strstr(err->msg, path)) vg_err_prefix(err, "%s: ", path);
        return NULL;
    }
    /* Relative paths inside the file are relative to its directory. */
    const char *slash = strrchr(path, '/');
    char *dir = slash ? vg_strndup(path, (size_t)(slash - path) + (slash == path)) : vg_strdup(".");
    config_t *c = load(data, len, path, dir, err);
    free(dir);
    free(data);
    return c;
}

size_t config_n_warnings(const config_t *c) { return c ? c->priv->n_warnings : 0; }

const char *config_warning(const config_t *c, size_t i) {
    return c && i < c->priv->n_warnings ? c->priv->warnings[i] : NULL;
}

const config_scrape_t *config_job_find(const config_t *c, const char *job_name) {
    for (size_t i = 0; c && i < c->n_scrape_configs; i++)
        if (!strcmp(c->scrape_configs[i].job_name, job_name)) return &c->scrape_configs[i];
    return NULL;
}

config_t *config_ref(config_t *c) {
    if (c) atomic_fetch_add_explicit(&c->priv->refs, 1, memory_order_relaxed);
    return c;
}

void config_unref(config_t *c) {
    if (!c) return;
    struct config_priv *p = c->priv;
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1) return;
    free_warnings(p->warnings, p->n_warnings);
    vg_arena_free(p->tree);
    vg_arena_free(p->arena); /* c itself lives here */
    free(p);
}
