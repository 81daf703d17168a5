/* This file implements `vigil check config`, which behaves like
 * `promtool check config` (Prometheus 2.42): the same lines on the same
 * streams, the same checks that referenced files exist, exit code 1 on
 * failure. */
#include "config/config_int.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool has_glob_meta(const char *s) { return strpbrk(s, "*?[") != NULL; }

/* Expands a pattern like Go's filepath.Glob: no match is not an error. */
static int glob_files(const char *pattern, glob_t *g) {
    int rc = glob(pattern, 0, NULL, g);
    return rc == 0 || rc == GLOB_NOMATCH ? 0 : -1;
}

/* Counts rules in a rule file the cheap way (groups[].rules[]); the rules
 * module does the real validation when it loads them. Returns -1 with why
 * set when the file cannot be read as a rule file. */
static long count_rules(const char *path, vg_err_t *why) {
    char *data = NULL;
    size_t len = 0;
    if (vg_file_read_all(path, VG_CONFIG_MAX_FILE_BYTES, &data, &len, why) != VG_OK) return -1;
    vg_arena_t *a = vg_arena_new(0);
    ytree_node_t *root = NULL;
    long n = -1;
    if (cfg_yaml_parse(data, len, path, a, &root, why) == VG_OK) {
        n = 0;
        const ytree_node_t *groups = NULL;
        if (root && root->kind == YTREE_NODE_MAP) {
            for (size_t i = 0; i < root->n; i++) {
                const ytree_node_t *k = root->kids[2 * i];
                if (k->kind == YTREE_NODE_SCALAR && !strcmp(k->str, "groups"))
                    groups = root->kids[2 * i + 1];
            }
        }
        for (size_t i = 0; groups && groups->kind == YTREE_NODE_SEQ && i < groups->n; i++) {
            const ytree_node_t *g = groups->kids[i];
            for (size_t j = 0; g->kind == YTREE_NODE_MAP && j < g->n; j++) {
                const ytree_node_t *k = g->kids[2 * j], *v = g->kids[2 * j + 1];
                if (k->kind == YTREE_NODE_SCALAR && !strcmp(k->str, "rules") &&
                    v->kind == YTREE_NODE_SEQ)
                    n += (long)v->n;
            }
        }
    }
    vg_arena_free(a);
    free(data);
    return n;
}

static int stat_err(const char *what, const char *path, vg_err_t *err) {
    struct stat st;
    if (!path[0] || stat(path, &st) == 0) return VG_OK;
    return vg_err_set(err, VG_ERR_IO, "error checking %s %s: stat %s: %s", what, path, path,
                      strerror(errno));
}

static int check_tls(const config_tls_t *t, vg_err_t *err) {
    int rc = stat_err("client cert file", t->cert_file, err);
    if (!rc) rc = stat_err("client key file", t->key_file, err);
    return rc;
}

/* The file checks promtool makes after parsing; warnings go to out. */
static int check_files(const config_t *c, FILE *out, vg_buf_t *rule_files, size_t *n_rule_files,
                       vg_err_t *err) {
    for (size_t i = 0; i < c->n_rule_files; i++) {
        const char *rf = c->rule_files[i];
        glob_t g;
        if (glob_files(rf, &g) != 0)
            return vg_err_set(err, VG_ERR_IO, "cannot expand rule file pattern %s", rf);
        if (!has_glob_meta(rf) && g.gl_pathc == 0) {
            globfree(&g);
            return vg_err_set(err, VG_ERR_IO, "\"%s\" does not point to an existing file", rf);
        }
        for (size_t k = 0; k < g.gl_pathc; k++) {
            vg_buf_append(rule_files, g.gl_pathv[k], strlen(g.gl_pathv[k]) + 1);
            (*n_rule_files)++;
        }
        globfree(&g);
    }
    for (size_t i = 0; i < c->n_scrape_configs; i++) {
        const config_scrape_t *s = &c->scrape_configs[i];
        int rc = check_tls(&s->http.tls_config, err);
        if (rc) return rc;
        for (size_t j = 0; j < s->n_file_sd_configs; j++) {
            const config_file_sd_t *f = &s->file_sd_configs[j];
            for (size_t k = 0; k < f->n_files; k++) {
                glob_t g;
                if (glob_files(f->files[k], &g) != 0) continue;
                if (g.gl_pathc == 0)
                    fprintf(out,
                            "  WARNING: file \"%s\" for file_sd in scrape job \"%s\" does not "
                            "exist\n",
                            f->files[k], s->job_name);
                globfree(&g);
            }
        }
    }
    for (size_t i = 0; i < c->alerting.n_alertmanagers; i++) {
        int rc = check_tls(&c->alerting.alertmanagers[i].http.tls_config, err);
        if (rc) return rc;
    }
    return VG_OK;
}

int config_check_file(const char *path, FILE *out, FILE *err_out) {
    if (!err_out) err_out = out;
    fprintf(out, "Checking %s\n", path);
    vg_err_t err = {0};
    config_t *c = config_load_file(path, &err);
    vg_buf_t rule_files = VG_BUF_INIT;
    size_t n_rule_files = 0;
    if (c) {
        for (size_t i = 0; i < config_n_warnings(c); i++)
            fprintf(out, "  WARNING: %s\n", config_warning(c, i));
        if (check_files(c, out, &rule_files, &n_rule_files, &err) != VG_OK) {
            config_unref(c);
            c = NULL;
        }
    }
    if (!c) {
        fflush(out);
        fprintf(err_out, "  FAILED: %s\n", err.msg);
        fprintf(out, "\n");
        vg_buf_free(&rule_files);
        return 1;
    }
    if (n_rule_files > 0) fprintf(out, "  SUCCESS: %zu rule files found\n", n_rule_files);
    fprintf(out, " SUCCESS: %s is valid prometheus config file syntax\n\n", path);
    int code = 0;
    const char *rf = rule_files.data;
    for (size_t i = 0; i < n_rule_files; i++, rf += strlen(rf) + 1) {
        fprintf(out, "Checking %s\n", rf);
        vg_err_t why = {0};
        long n = count_rules(rf, &why);
        if (n < 0) {
            fflush(out);
            fprintf(err_out, "  FAILED:\n%s\n", why.msg);
            code = 1;
        } else {
            fprintf(out, "  SUCCESS: %ld rules found\n", n);
        }
        fprintf(out, "\n");
    }
    vg_buf_free(&rule_files);
    config_unref(c);
    return code;
}
