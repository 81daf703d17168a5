/* This file implements the configuration snapshot's life cycle (loading a
 * file or a string: YAML tree, decoding, the resolved tree), its reference
 * count, lookups, and the questions the rest of the module asks of a loaded
 * configuration: where labels are routed (amtool's `config routes test`)
 * and whether a route is muted by its time intervals. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert_int.h"

struct alert_config_priv {
    atomic_size_t refs;
    vg_arena_t *arena; /* YAML tree and decoded structs: scalars are shared */
    labels_regex_t **regs;
    size_t n_regs;
};

static alert_config_t *load(const char *yaml, size_t len, const char *name, const char *dir,
                            vg_err_t *err) {
    vg_arena_t *arena = vg_arena_new(0);
    ytree_node_t *root = NULL;
    /* alertmanager.yml is read with yaml.v2; errors as it words them. */
    const ytree_opts_t opts = {
        .dialect = YTREE_GO_YAML_V2,
        .max_bytes = ALERT_CONFIG_MAX_FILE_BYTES,
        .max_nodes = ALERT_CONFIG_MAX_NODES,
        .max_depth = ALERT_CONFIG_MAX_DEPTH,
    };
    if (ytree_parse(yaml, len, &opts, arena, &root, err) != VG_OK) {
        vg_arena_free(arena);
        return NULL;
    }
    alert_config_t *c = vg_arena_alloc(arena, sizeof *c);
    memset(c, 0, sizeof *c);
    alert_dec_t d = {
        .arena = arena, .err = err, .dir = dir, .visits_left = ALERT_CONFIG_MAX_VISITS};
    int rc = alert_config_decode(&d, root, c);
    vg_buf_free(&d.terrs);
    if (rc != VG_OK) {
        for (size_t i = 0; i < d.n_regs; i++)
            labels_regex_free(d.regs[i]);
        free(d.regs);
        vg_arena_free(arena);
        return NULL;
    }
    struct alert_config_priv *p = vg_calloc(1, sizeof *p);
    atomic_init(&p->refs, 1);
    p->arena = arena;
    p->regs = d.regs;
    p->n_regs = d.n_regs;
    c->priv = p;
    c->path = vg_arena_strndup(arena, name, strlen(name));
    c->original = vg_arena_strndup(arena, yaml, len);
    return c;
}

alert_config_t *alert_config_load_string(const char *yaml, size_t len, const char *name,
                                         vg_err_t *err) {
    return load(yaml, len, name ? name : "<string>", "", err);
}

alert_config_t *alert_config_load_file(const char *path, vg_err_t *err) {
    char *data = NULL;
    size_t len = 0;
    if (vg_file_read_all(path, ALERT_CONFIG_MAX_FILE_BYTES, &data, &len, err) != VG_OK) return NULL;
    const char *slash = strrchr(path, '/');
    char *dir = slash ? vg_strndup(path, (size_t)(slash - path) + (slash == path)) : vg_strdup(".");
    alert_config_t *c = load(data, len, path, dir, err);
    free(dir);
    free(data);
    return c;
}

alert_config_t *alert_config_ref(alert_config_t *c) {
    if (c) atomic_fetch_add_explicit(&c->priv->refs, 1, memory_order_relaxed);
    return c;
}

void alert_config_unref(alert_config_t *c) {
    if (!c) return;
    struct alert_config_priv *p = c->priv;
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1) return;
    for (size_t i = 0; i < p->n_regs; i++)
        labels_regex_free(p->regs[i]);
    free(p->regs);
    vg_arena_free(p->arena); /* c lives here */
    free(p);
}

const alert_receiver_t *alert_config_receiver(const alert_config_t *c, const char *name) {
    for (size_t i = 0; c && i < c->n_receivers; i++)
        if (!strcmp(c->receivers[i].name, name)) return &c->receivers[i];
    return NULL;
}

const alert_time_interval_t *alert_config_time_interval(const alert_config_t *c, const char *name) {
    for (size_t i = 0; c && i < c->n_time_intervals; i++)
        if (!strcmp(c->time_intervals[i].name, name)) return &c->time_intervals[i];
    return NULL;
}

bool alert_config_route_muted(const alert_config_t *c, const alert_route_t *r, int64_t t_ms) {
    for (size_t i = 0; i < r->n_mute_time_intervals; i++)
        if (alert_time_interval_contains(alert_config_time_interval(c, r->mute_time_intervals[i]),
                                         t_ms))
            return true;
    if (r->n_active_time_intervals == 0) return false;
    for (size_t i = 0; i < r->n_active_time_intervals; i++)
        if (alert_time_interval_contains(alert_config_time_interval(c, r->active_time_intervals[i]),
                                         t_ms))
            return false;
    return true;
}

size_t alert_config_routes_test(const alert_config_t *c, const labels_t *ls, const char **out,
                                size_t cap) {
    const alert_route_t **routes = vg_malloc(c->n_routes * sizeof *routes);
    size_t n = alert_route_match(c->route, ls, routes, c->n_routes);
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = routes[i]->receiver;
    free(routes);
    return n;
}

/* A top-level key of a block mapping: at column 0, a name then ':'. */
static bool has_top_key(const char *s, size_t len, const char *key) {
    size_t kl = strlen(key);
    for (size_t i = 0; i < len;) {
        if (i + kl < len && !memcmp(s + i, key, kl) && s[i + kl] == ':') return true;
        const char *nl = memchr(s + i, '\n', len - i);
        if (!nl) break;
        i = (size_t)(nl - s) + 1;
    }
    return false;
}

bool alert_config_sniff(const char *yaml, size_t len) {
    if (has_top_key(yaml, len, "scrape_configs")) return false;
    return has_top_key(yaml, len, "route") || has_top_key(yaml, len, "receivers");
}
