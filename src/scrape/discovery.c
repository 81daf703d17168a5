/* This file implements the documents of file-based and HTTP service
 * discovery: a list of target groups, each {targets: [...], labels: {...}},
 * in JSON (jansson) or YAML (libyaml's document loader, turned into the
 * same JSON tree with bounds on depth and node visits, so aliases cannot
 * blow up). Each target becomes one discovered label set. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "scrape_int.h"

#define SD_MAX_DEPTH 64
#define SD_MAX_VISITS 1000000u

static int group_targets(json_t *group, size_t gi, const char *meta_name, const char *meta_value,
                         scrape_lsets_t *out, vg_err_t *err) {
    if (!json_is_object(group))
        return vg_err_set(err, VG_ERR_INPUT, "target group %zu is not an object", gi);
    const char *key;
    json_t *val;
    json_object_foreach(group, key, val) {
        if (strcmp(key, "targets") != 0 && strcmp(key, "labels") != 0)
            return vg_err_set(err, VG_ERR_INPUT, "target group %zu: unknown field \"%s\"", gi, key);
    }
    json_t *targets = json_object_get(group, "targets");
    json_t *lab = json_object_get(group, "labels");
    if (targets && !json_is_array(targets) && !json_is_null(targets))
        return vg_err_set(err, VG_ERR_INPUT, "target group %zu: targets is not a list", gi);
    if (lab && !json_is_object(lab) && !json_is_null(lab))
        return vg_err_set(err, VG_ERR_INPUT, "target group %zu: labels is not a map", gi);
    size_t n_lab = json_is_object(lab) ? json_object_size(lab) : 0;
    labels_label_t *pairs = vg_calloc(n_lab + 2, sizeof *pairs);
    size_t np = 1;
    if (n_lab) {
        json_object_foreach(lab, key, val) {
            if (!json_is_string(val)) {
                free(pairs);
                return vg_err_set(err, VG_ERR_INPUT, "target group %zu: label %s is not a string",
                                  gi, key);
            }
            size_t kl = strlen(key);
            if (!labels_name_valid_legacy(key, kl)) {
                free(pairs);
                return vg_err_set(err, VG_ERR_INPUT, "\"%s\" is not a valid label name", key);
            }
            size_t vl = json_string_length(val);
            if (!labels_utf8_valid(json_string_value(val), vl)) {
                free(pairs);
                return vg_err_set(err, VG_ERR_INPUT, "\"%s\" is not a valid label value", key);
            }
            /* The address comes from targets only; a meta label from the
             * document would be overwritten below. */
            if (strcmp(key, "__address__") == 0 || (meta_name && strcmp(key, meta_name) == 0))
                continue;
            pairs[np++] = (labels_label_t){key, json_string_value(val), kl, vl};
        }
    }
    if (meta_name)
        pairs[np++] =
            (labels_label_t){meta_name, meta_value, strlen(meta_name), strlen(meta_value)};
    size_t n_t = json_is_array(targets) ? json_array_size(targets) : 0;
    scrape_lsets_t tmp = {0};
    for (size_t i = 0; i < n_t; i++) {
        json_t *t = json_array_get(targets, i);
        if (!json_is_string(t)) {
            scrape_lsets_clear(&tmp);
            free(pairs);
            return vg_err_set(err, VG_ERR_INPUT, "target group %zu: target %zu is not a string", gi,
                              i);
        }
        pairs[0] = (labels_label_t){"__address__", json_string_value(t), 11, json_string_length(t)};
        labels_t *ls;
        if (labels_from_pairs(pairs, np, &ls, err) != VG_OK) {
            scrape_lsets_clear(&tmp);
            free(pairs);
            return VG_ERR_INPUT;
        }
        scrape_lsets_push(&tmp, ls);
    }
    free(pairs);
    scrape_lsets_move(out, &tmp);
    return VG_OK;
}

static int parse_tree(json_t *root, const char *meta_name, const char *meta_value,
                      scrape_lsets_t *out, vg_err_t *err) {
    if (json_is_null(root)) return VG_OK;
    if (!json_is_array(root))
        return vg_err_set(err, VG_ERR_INPUT, "expected a list of target groups");
    scrape_lsets_t tmp = {0};
    for (size_t i = 0; i < json_array_size(root); i++) {
        if (group_targets(json_array_get(root, i), i, meta_name, meta_value, &tmp, err) != VG_OK) {
            scrape_lsets_clear(&tmp);
            return VG_ERR_INPUT;
        }
    }
    scrape_lsets_move(out, &tmp);
    return VG_OK;
}

int scrape_sd_parse_json(const char *data, size_t len, const char *meta_name,
                         const char *meta_value, scrape_lsets_t *out, vg_err_t *err) {
    json_error_t je;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return vg_err_set(err, VG_ERR_INPUT, "line %d, column %d: %s", je.line, je.column, je.text);
    int rc = parse_tree(root, meta_name, meta_value, out, err);
    json_decref(root);
    return rc;
}

/* --------------------------------------------------------------- YAML */

typedef struct ytree {
    yaml_document_t *doc;
    size_t visits;
} ytree_t;

static json_t *ynode(ytree_t *t, yaml_node_t *n, int depth, vg_err_t *err) {
    if (!n) {
        vg_err_set(err, VG_ERR_INPUT, "bad YAML node");
        return NULL;
    }
    if (depth > SD_MAX_DEPTH || ++t->visits > SD_MAX_VISITS) {
        vg_err_set(err, VG_ERR_LIMIT, "YAML document too deep or too large");
        return NULL;
    }
    switch (n->type) {
    case YAML_SCALAR_NODE: {
        const char *v = (const char *)n->data.scalar.value;
        size_t len = n->data.scalar.length;
        bool plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (plain &&
            (len == 0 || (len == 1 && v[0] == '~') || (len == 4 && memcmp(v, "null", 4) == 0)))
            return json_null();
        return json_stringn(v, len);
    }
    case YAML_SEQUENCE_NODE: {
        json_t *a = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            json_t *c = ynode(t, yaml_document_get_node(t->doc, *it), depth + 1, err);
            if (!c) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, c);
        }
        return a;
    }
    case YAML_MAPPING_NODE: {
        json_t *o = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(t->doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE) {
                json_decref(o);
                vg_err_set(err, VG_ERR_INPUT, "line %zu: map keys must be strings",
                           k ? k->start_mark.line + 1 : 0);
                return NULL;
            }
            char *key = vg_strndup((const char *)k->data.scalar.value, k->data.scalar.length);
            if (json_object_get(o, key)) {
                vg_err_set(err, VG_ERR_INPUT, "line %zu: mapping key \"%.100s\" already defined",
                           k->start_mark.line + 1, key);
                free(key);
                json_decref(o);
                return NULL;
            }
            json_t *c = ynode(t, yaml_document_get_node(t->doc, p->value), depth + 1, err);
            if (!c) {
                free(key);
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, key, c);
            free(key);
        }
        return o;
    }
    default: return json_null();
    }
}

int scrape_sd_parse_yaml(const char *data, size_t len, const char *meta_name,
                         const char *meta_value, scrape_lsets_t *out, vg_err_t *err) {
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return vg_err_set(err, VG_ERR, "yaml: out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &doc)) {
        vg_err_set(err, VG_ERR_INPUT, "yaml: line %zu: %s", parser.problem_mark.line + 1,
                   parser.problem ? parser.problem : "syntax error");
        yaml_parser_delete(&parser);
        return VG_ERR_INPUT;
    }
    yaml_parser_delete(&parser);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int rc = VG_OK;
    if (root) {
        ytree_t t = {&doc, 0};
        json_t *j = ynode(&t, root, 0, err);
        if (!j)
            rc = VG_ERR_INPUT;
        else {
            rc = parse_tree(j, meta_name, meta_value, out, err);
            json_decref(j);
        }
    }
    yaml_document_delete(&doc);
    return rc;
}
