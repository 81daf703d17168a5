/* This file implements loading of rule files: strict decoding of the YAML
 * tree into groups and rules (unknown keys, duplicate keys and wrong types
 * reported as yaml.v3 reports them), then Prometheus 3.x's rulefmt
 * validation with its messages and positions ("5:11: group \"a\", rule 1,
 * \"X\": could not parse expression: ..."), and the yaml-style collection of
 * those errors. */
#include "rules/rules_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Positions of the nodes a rule's messages point at. A missing key has the
 * zero position, as a zero yaml.Node has. */
typedef struct rule_pos {
    const ytree_node_t *record, *alert, *expr;
} rule_pos_t;

typedef struct loader {
    vg_arena_t *arena;
    ry_errs_t terr;      /* type errors of the strict pass */
    size_t n_both;       /* how many of them the lenient pass also makes */
    ry_errs_t terr_both; /* those */
    char *fatal;         /* an error that ends decoding (a bad duration) */
    bool utf8;
    rule_pos_t **pos; /* per group, per rule */
    const ytree_node_t **group_nodes;
} loader_t;

static const ytree_node_t zero_node = {0};

void rules_errors_free(rules_errors_t *e) {
    if (!e) return;
    for (size_t i = 0; i < e->n; i++)
        free(e->msgs[i]);
    free(e->msgs);
    memset(e, 0, sizeof *e);
}

static void errors_add(rules_errors_t *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void errors_add(rules_errors_t *e, const char *fmt, ...) {
    if (!e) return;
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

/* yaml.v3's terror(): short values quoted, long ones cut to 7 bytes. */
static void type_error(loader_t *l, const ytree_node_t *n, const char *go_type, bool both) {
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_printf(&b, "line %u: cannot unmarshal %s", n->line, ytree_tag_name(n->tag));
    if (n->kind == YTREE_NODE_SCALAR) {
        if (n->len > 10)
            vg_buf_printf(&b, " `%.7s...`", n->str);
        else
            vg_buf_printf(&b, " `%s`", n->str);
    }
    vg_buf_printf(&b, " into %s", go_type);
    ry_errs_add(&l->terr, "%s", b.data);
    if (both) ry_errs_add(&l->terr_both, "%s", b.data);
    vg_buf_free(&b);
}

static char *adup(loader_t *l, const char *s, size_t n) {
    char *p = vg_arena_strndup(l->arena, s, n);
    if (!p) abort(); /* the arena has no budget */
    return p;
}

static void *azalloc(loader_t *l, size_t n) {
    void *p = vg_arena_alloc(l->arena, n ? n : 1);
    if (!p) abort();
    memset(p, 0, n ? n : 1);
    return p;
}

/* Strict map walk: checks keys are known and unique. Returns false (type
 * error recorded) when the node is not a map; null is an empty map. */
static bool check_map(loader_t *l, const ytree_node_t *n, const char *go_type,
                      const char *const *known, bool both) {
    if (ytree_is_null(n)) return false;
    if (n->kind != YTREE_NODE_MAP) {
        type_error(l, n, go_type, both);
        return false;
    }
    for (size_t i = 0; i < 2 * n->n; i += 2) {
        const ytree_node_t *k = n->kids[i];
        for (size_t j = 0; j < i; j += 2) {
            const ytree_node_t *p = n->kids[j];
            if (k->kind == YTREE_NODE_SCALAR && p->kind == YTREE_NODE_SCALAR && k->len == p->len &&
                memcmp(k->str, p->str, k->len) == 0) {
                ry_errs_add(&l->terr, "line %u: mapping key \"%s\" already defined at line %u",
                            k->line, k->str, p->line);
                ry_errs_add(&l->terr_both, "line %u: mapping key \"%s\" already defined at line %u",
                            k->line, k->str, p->line);
                break;
            }
        }
        if (!known || k->kind != YTREE_NODE_SCALAR) continue;
        bool ok = false;
        for (size_t j = 0; known[j]; j++)
            if (strlen(known[j]) == k->len && memcmp(known[j], k->str, k->len) == 0) ok = true;
        if (!ok)
            ry_errs_add(&l->terr, "line %u: field %s not found in type %s", k->line, k->str,
                        go_type);
    }
    return true;
}

/* A Go string field: any scalar but null. */
static const char *dec_string(loader_t *l, const ytree_node_t *n, bool both) {
    if (ytree_is_null(n)) return "";
    if (n->kind != YTREE_NODE_SCALAR) {
        type_error(l, n, "string", both);
        return "";
    }
    return adup(l, n->str, n->len);
}

static int64_t dec_duration(loader_t *l, const ytree_node_t *n, bool *present) {
    if (present) *present = false;
    if (ytree_is_null(n)) return 0;
    if (n->kind != YTREE_NODE_SCALAR) {
        type_error(l, n, "string", true);
        return 0;
    }
    int64_t ms = 0;
    if (n->len == 0) {
        if (!l->fatal) l->fatal = vg_strdup("empty duration string");
    } else if (vg_duration_parse(n->str, n->len, &ms) != VG_OK) {
        if (!l->fatal) {
            vg_buf_t b = VG_BUF_INIT;
            vg_buf_puts(&b, "not a valid duration string: ");
            promql_quote(n->str, n->len, &b);
            l->fatal = vg_buf_detach(&b);
        }
        return 0;
    }
    if (present) *present = true;
    return ms;
}

static int64_t dec_int(loader_t *l, const ytree_node_t *n) {
    if (ytree_is_null(n)) return 0;
    if (n->kind != YTREE_NODE_SCALAR || n->tag != YTREE_TAG_INT) {
        type_error(l, n, "int", true);
        return 0;
    }
    char *end;
    long long v = strtoll(n->str, &end, 0);
    if (*end) {
        /* 0o17, 0b101, underscores */
        vg_buf_t b = VG_BUF_INIT;
        for (size_t i = 0; i < n->len; i++)
            if (n->str[i] != '_') vg_buf_putc(&b, n->str[i]);
        const char *s = b.data ? b.data : "0";
        bool neg = s[0] == '-';
        const char *p = s + (s[0] == '-' || s[0] == '+');
        int base = 10;
        if (p[0] == '0' && p[1] == 'o')
            base = 8, p += 2;
        else if (p[0] == '0' && p[1] == 'b')
            base = 2, p += 2;
        v = strtoll(p, NULL, base);
        if (neg) v = -v;
        vg_buf_free(&b);
    }
    return v;
}

static int label_cmp(const void *a, const void *b) {
    return strcmp(((const config_label_t *)a)->name, ((const config_label_t *)b)->name);
}

/* map[string]string, sorted by name; a repeated key keeps the last value. */
static config_label_t *dec_labels(loader_t *l, const ytree_node_t *n, size_t *out_n) {
    *out_n = 0;
    if (ytree_is_null(n)) return NULL;
    if (n->kind != YTREE_NODE_MAP) {
        type_error(l, n, "map[string]string", true);
        return NULL;
    }
    check_map(l, n, "map[string]string", NULL, true);
    config_label_t *v = azalloc(l, (n->n) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < 2 * n->n; i += 2) {
        const ytree_node_t *key = n->kids[i], *val = n->kids[i + 1];
        if (key->kind != YTREE_NODE_SCALAR) {
            type_error(l, key, "string", true);
            continue;
        }
        const char *name = adup(l, key->str, key->len);
        const char *value = dec_string(l, val, true);
        size_t j;
        for (j = 0; j < k; j++)
            if (strcmp(v[j].name, name) == 0) break;
        v[j].name = name;
        v[j].value = value;
        if (j == k) k++;
    }
    qsort(v, k, sizeof *v, label_cmp);
    *out_n = k;
    return v;
}

static const ytree_node_t *map_get(const ytree_node_t *m, const char *key) {
    if (!m || m->kind != YTREE_NODE_MAP) return NULL;
    const ytree_node_t *found = NULL;
    for (size_t i = 0; i < 2 * m->n; i += 2) {
        const ytree_node_t *k = m->kids[i];
        if (k->kind == YTREE_NODE_SCALAR && strlen(key) == k->len &&
            memcmp(k->str, key, k->len) == 0)
            found = m->kids[i + 1]; /* yaml.v3 decodes repeats in order: the last wins */
    }
    return found;
}

/* A map key present with a null value still counts as present for the
 * node positions (yaml.Node keeps the null scalar). */
static const ytree_node_t *map_get_node(const ytree_node_t *m, const char *key) {
    const ytree_node_t *n = map_get(m, key);
    return n ? n : &zero_node;
}

static void dec_rule(loader_t *l, const ytree_node_t *n, rules_rule_def_t *r, rule_pos_t *pos) {
    static const char *const known[] = {"record",          "alert",  "expr",        "for",
                                        "keep_firing_for", "labels", "annotations", NULL};
    pos->record = map_get_node(n, "record");
    pos->alert = map_get_node(n, "alert");
    pos->expr = map_get_node(n, "expr");
    r->name = "";
    r->expr = "";
    if (!check_map(l, n, "rulefmt.Rule", known, false)) return;
    const char *rec = dec_string(l, map_get(n, "record"), false);
    const char *alert = dec_string(l, map_get(n, "alert"), false);
    r->expr = dec_string(l, map_get(n, "expr"), false);
    r->for_ms = dec_duration(l, map_get(n, "for"), NULL);
    r->keep_firing_for_ms = dec_duration(l, map_get(n, "keep_firing_for"), NULL);
    r->labels = dec_labels(l, map_get(n, "labels"), &r->n_labels);
    r->annotations = dec_labels(l, map_get(n, "annotations"), &r->n_annotations);
    r->is_alert = alert[0] != '\0';
    r->name = r->is_alert ? alert : rec;
}

static void dec_group(loader_t *l, const ytree_node_t *n, rules_group_def_t *g, rule_pos_t **pos) {
    static const char *const known[] = {"name",   "interval", "query_offset", "limit", "rules",
                                        "labels", NULL};
    g->name = "";
    *pos = NULL;
    if (!check_map(l, n, "rulefmt.RuleGroup", known, false)) return;
    g->name = dec_string(l, map_get(n, "name"), false);
    g->interval_ms = dec_duration(l, map_get(n, "interval"), NULL);
    g->query_offset_ms = dec_duration(l, map_get(n, "query_offset"), &g->has_query_offset);
    g->limit = dec_int(l, map_get(n, "limit"));
    g->labels = dec_labels(l, map_get(n, "labels"), &g->n_labels);
    const ytree_node_t *rules = map_get(n, "rules");
    if (ytree_is_null(rules)) return;
    if (rules->kind != YTREE_NODE_SEQ) {
        type_error(l, rules, "[]rulefmt.Rule", true);
        return;
    }
    g->rules = azalloc(l, rules->n * sizeof *g->rules);
    *pos = azalloc(l, rules->n * sizeof **pos);
    g->n_rules = rules->n;
    for (size_t i = 0; i < rules->n; i++)
        dec_rule(l, rules->kids[i], &g->rules[i], &(*pos)[i]);
}

static void dec_root(loader_t *l, const ytree_node_t *root, rules_file_t *f) {
    static const char *const known[] = {"groups", NULL};
    if (!check_map(l, root, "rulefmt.RuleGroups", known, false)) return;
    const ytree_node_t *groups = map_get(root, "groups");
    if (ytree_is_null(groups)) return;
    if (groups->kind != YTREE_NODE_SEQ) {
        type_error(l, groups, "[]rulefmt.RuleGroup", true);
        return;
    }
    f->groups = azalloc(l, groups->n * sizeof *f->groups);
    l->pos = azalloc(l, groups->n * sizeof *l->pos);
    l->group_nodes = azalloc(l, groups->n * sizeof *l->group_nodes);
    f->n_groups = groups->n;
    for (size_t i = 0; i < groups->n; i++) {
        l->group_nodes[i] = groups->kids[i];
        dec_group(l, groups->kids[i], &f->groups[i], &l->pos[i]);
        if (l->fatal) return;
    }
}

/* ---------------------------------------------------------- validation */

static bool name_valid(loader_t *l, const char *s) {
    return labels_name_valid(s, strlen(s), l->utf8);
}

static bool metric_name_valid(loader_t *l, const char *s) {
    size_t n = strlen(s);
    return l->utf8 ? labels_name_valid(s, n, true) : labels_metric_name_valid_legacy(s, n);
}

/* rulefmt.Error: positions of the node (and the alternative node), then
 * group, rule number and name. */
static void rule_error(rules_errors_t *errs, const rules_group_def_t *g, size_t i,
                       const char *rule_name, const ytree_node_t *node, const ytree_node_t *alt,
                       const char *msg) {
    vg_buf_t b = VG_BUF_INIT;
    if (node) vg_buf_printf(&b, "%u:%u: ", node->line, node->col);
    if (node && alt) vg_buf_printf(&b, "%u:%u: ", alt->line, alt->col);
    vg_buf_puts(&b, "group ");
    promql_quote(g->name, strlen(g->name), &b);
    vg_buf_printf(&b, ", rule %zu, ", i + 1);
    promql_quote(rule_name, strlen(rule_name), &b);
    vg_buf_printf(&b, ": %s", msg);
    errors_add(errs, "%s", b.data);
    vg_buf_free(&b);
}

static void validate_rule(loader_t *l, const rules_group_def_t *g, size_t i,
                          const rules_rule_def_t *r, const rule_pos_t *p, const ytree_node_t *rn,
                          rules_errors_t *errs) {
    const char *rec = dec_string(l, map_get(rn, "record"), false);
    const char *alert = dec_string(l, map_get(rn, "alert"), false);
    const char *rname = alert[0] ? alert : rec;
    char msg[VG_ERR_MSG_MAX + 64];
    if (rec[0] && alert[0])
        rule_error(errs, g, i, rname, p->record, p->alert,
                   "only one of 'record' and 'alert' must be set");
    if (!rec[0] && !alert[0])
        rule_error(errs, g, i, rname, p->record, p->alert,
                   "one of 'record' or 'alert' must be set");
    if (!r->expr[0]) {
        rule_error(errs, g, i, rname, p->expr, NULL, "field 'expr' must be set in rule");
    } else {
        promql_ast_t *ast = NULL;
        vg_err_t perr = {0};
        if (promql_parse(r->expr, strlen(r->expr), NULL, &ast, NULL, &perr) != VG_OK) {
            snprintf(msg, sizeof msg, "could not parse expression: %s", perr.msg);
            rule_error(errs, g, i, rname, p->expr, NULL, msg);
        }
        promql_ast_free(ast);
    }
    if (rec[0]) {
        if (r->n_annotations)
            rule_error(errs, g, i, rname, p->record, NULL,
                       "invalid field 'annotations' in recording rule");
        if (r->for_ms)
            rule_error(errs, g, i, rname, p->record, NULL, "invalid field 'for' in recording rule");
        if (r->keep_firing_for_ms)
            rule_error(errs, g, i, rname, p->record, NULL,
                       "invalid field 'keep_firing_for' in recording rule");
        if (!metric_name_valid(l, rec)) {
            snprintf(msg, sizeof msg, "invalid recording rule name: %.400s", rec);
            rule_error(errs, g, i, rname, p->record, NULL, msg);
        }
        if (strchr(rec, '{') || strchr(rec, '}')) {
            snprintf(msg, sizeof msg,
                     "braces present in the recording rule name; should it be in expr?: %.400s",
                     rec);
            rule_error(errs, g, i, rname, p->record, NULL, msg);
        }
    }
    for (size_t k = 0; k < r->n_labels; k++) {
        const config_label_t *lb = &r->labels[k];
        if (!name_valid(l, lb->name) || strcmp(lb->name, LABELS_METRIC_NAME) == 0) {
            snprintf(msg, sizeof msg, "invalid label name: %.400s", lb->name);
            rule_error(errs, g, i, rname, NULL, NULL, msg);
        }
        if (!labels_utf8_valid(lb->value, strlen(lb->value))) {
            snprintf(msg, sizeof msg, "invalid label value: %.400s", lb->value);
            rule_error(errs, g, i, rname, NULL, NULL, msg);
        }
    }
    for (size_t k = 0; k < r->n_annotations; k++) {
        if (!name_valid(l, r->annotations[k].name)) {
            snprintf(msg, sizeof msg, "invalid annotation name: %.400s", r->annotations[k].name);
            rule_error(errs, g, i, rname, NULL, NULL, msg);
        }
    }
    if (!alert[0]) return;
    for (int pass = 0; pass < 2; pass++) {
        const config_label_t *v = pass ? r->annotations : r->labels;
        size_t n = pass ? r->n_annotations : r->n_labels;
        for (size_t k = 0; k < n; k++) {
            vg_err_t terr = {0};
            if (rules_template_check(alert, v[k].value, &terr) == VG_OK) continue;
            vg_buf_t b = VG_BUF_INIT;
            vg_buf_puts(&b, pass ? "annotation " : "label ");
            promql_quote(v[k].name, strlen(v[k].name), &b);
            vg_buf_printf(&b, ": %s", terr.msg);
            rule_error(errs, g, i, rname, NULL, NULL, b.data);
            vg_buf_free(&b);
        }
    }
}

static int validate(loader_t *l, const rules_file_t *f, rules_errors_t *errs) {
    size_t before = errs ? errs->n : 0;
    size_t n_err = 0;
    for (size_t j = 0; j < f->n_groups; j++) {
        const rules_group_def_t *g = &f->groups[j];
        const ytree_node_t *gn = l->group_nodes[j];
        if (!g->name[0]) {
            errors_add(errs, "%u:%u: Groupname must not be empty", gn->line, gn->col);
            n_err++;
        }
        for (size_t k = 0; k < j; k++)
            if (strcmp(f->groups[k].name, g->name) == 0) {
                errors_add(errs, "%u:%u: groupname: \"%s\" is repeated in the same file", gn->line,
                           gn->col, g->name);
                n_err++;
                break;
            }
        for (size_t k = 0; k < g->n_labels; k++) {
            if (!name_valid(l, g->labels[k].name) ||
                strcmp(g->labels[k].name, LABELS_METRIC_NAME) == 0) {
                errors_add(errs, "invalid label name: %s", g->labels[k].name);
                n_err++;
            }
            if (!labels_utf8_valid(g->labels[k].value, strlen(g->labels[k].value))) {
                errors_add(errs, "invalid label value: %s", g->labels[k].value);
                n_err++;
            }
        }
        const ytree_node_t *rules = map_get(gn, "rules");
        for (size_t i = 0; i < g->n_rules; i++) {
            size_t had = errs ? errs->n : 0;
            validate_rule(l, g, i, &g->rules[i], &l->pos[j][i], rules->kids[i], errs);
            n_err += errs ? errs->n - had : 0;
        }
    }
    (void)before;
    return n_err || (errs && errs->n > before) ? VG_ERR_INPUT : VG_OK;
}

int rules_file_parse(const char *data, size_t len, const char *name, bool utf8_names,
                     rules_file_t **out, rules_errors_t *errs) {
    *out = NULL;
    rules_errors_t local = {0};
    if (!errs) errs = &local;
    size_t before = errs->n;
    rules_file_t *f = vg_calloc(1, sizeof *f);
    f->arena = vg_arena_new(0);
    f->path = vg_arena_strndup(f->arena, name ? name : "", name ? strlen(name) : 0);
    loader_t l = {.arena = f->arena, .utf8 = utf8_names};
    ytree_node_t *root = NULL;
    vg_err_t err = {0};
    if (ry_parse(data, len, f->arena, &root, &err) != VG_OK) {
        /* Prometheus decodes twice (strict, then into nodes): a syntax
         * error is reported by both. */
        errors_add(errs, "%s", err.msg);
        errors_add(errs, "%s", err.msg);
        goto fail;
    }
    f->second_doc = ytree_has_second_doc(data, len);
    dec_root(&l, root, f);
    if (l.fatal) {
        errors_add(errs, "%s", l.fatal);
        errors_add(errs, "%s", l.fatal);
        goto fail;
    }
    if (l.terr.n) {
        char *m = ry_errs_join(&l.terr);
        errors_add(errs, "%s", m);
        free(m);
        if (l.terr_both.n) {
            m = ry_errs_join(&l.terr_both);
            errors_add(errs, "%s", m);
            free(m);
        }
        goto fail;
    }
    if (validate(&l, f, errs) != VG_OK) goto fail;
    ry_errs_free(&l.terr);
    ry_errs_free(&l.terr_both);
    rules_errors_free(&local);
    *out = f;
    return VG_OK;
fail:
    (void)before;
    free(l.fatal);
    ry_errs_free(&l.terr);
    ry_errs_free(&l.terr_both);
    rules_errors_free(&local);
    rules_file_free(f);
    return VG_ERR_INPUT;
}

int rules_file_load(const char *path, bool utf8_names, rules_file_t **out, rules_errors_t *errs) {
    char *data = NULL;
    size_t len = 0;
    vg_err_t err = {0};
    *out = NULL;
    rules_errors_t tmp = {0};
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        /* Go's os.ReadFile error, prefixed with the name as ParseFile does. */
        char why[128];
        snprintf(why, sizeof why, "%s", strerror(errno));
        if (why[0] >= 'A' && why[0] <= 'Z') why[0] = (char)(why[0] - 'A' + 'a');
        errors_add(errs ? errs : &tmp, "%s: open %s: %s", path, path, why);
        rules_errors_free(&tmp);
        return VG_ERR_IO;
    }
    fclose(probe);
    if (vg_file_read_all(path, RULES_MAX_FILE_BYTES, &data, &len, &err) != VG_OK) {
        errors_add(errs ? errs : &tmp, "%s: %s", path, err.msg);
        rules_errors_free(&tmp);
        return err.code ? err.code : VG_ERR_IO;
    }
    size_t before = errs ? errs->n : 0;
    int rc = rules_file_parse(data, len, path, utf8_names, out, errs);
    free(data);
    /* Prometheus's ParseFile prefixes every message with the file name. */
    for (size_t i = before; errs && i < errs->n; i++) {
        vg_buf_t b = VG_BUF_INIT;
        vg_buf_printf(&b, "%s: %s", path, errs->msgs[i]);
        free(errs->msgs[i]);
        errs->msgs[i] = vg_buf_detach(&b);
    }
    return rc;
}

void rules_file_free(rules_file_t *f) {
    if (!f) return;
    vg_arena_free(f->arena);
    free(f);
}

size_t rules_file_n_groups(const rules_file_t *f) { return f ? f->n_groups : 0; }

size_t rules_file_n_rules(const rules_file_t *f) {
    size_t n = 0;
    for (size_t i = 0; f && i < f->n_groups; i++)
        n += f->groups[i].n_rules;
    return n;
}

int ry_parse(const char *data, size_t len, vg_arena_t *arena, ytree_node_t **out_root,
             vg_err_t *err) {
    /* Prometheus reads rule files with yaml.v3; the default bounds. */
    const ytree_opts_t opts = {.dialect = YTREE_GO_YAML_V3};
    return ytree_parse(data, len, &opts, arena, out_root, err);
}

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
