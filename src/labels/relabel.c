/*
 * This file implements relabeling: a list of relabel_configs is compiled
 * once into a program (regexes compiled, replacement templates parsed,
 * named groups resolved, the capture groups each rule needs counted) and
 * then applied to a builder as Prometheus's relabel.ProcessBuilder does,
 * action by action with the same semantics:
 *   - the source values are joined with the separator (an absent label is "");
 *   - replace expands target_label and replacement with Go's Expand rules,
 *     skips a target that is not a valid label name and deletes the target
 *     when the replacement comes out empty;
 *   - keep/drop/keepequal/dropequal decide the fate of the series;
 *   - hashmod takes MD5 of the joined value, its last 8 bytes as a
 *     big-endian integer, modulo the modulus;
 *   - labelmap/labeldrop/labelkeep walk the labels in the builder's Range
 *     order; lowercase/uppercase map case like Go's strings.ToLower/ToUpper.
 * Applying a warm program allocates nothing: scratch space lives in the
 * builder, which belongs to the calling thread.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "labels/labels_int.h"

typedef struct rule {
    config_relabel_action_t action;
    char **src;
    size_t *src_len;
    size_t n_src;
    char *sep;
    size_t sep_len;
    labels_regex_t *re;
    bool default_regex; /* "(.*)" */
    char *target;
    size_t target_len;
    lbl_tmpl_t target_tmpl;
    lbl_tmpl_t repl_tmpl;
    uint64_t modulus;
    int n_pairs; /* capture pairs the templates need; 0 when none */
} rule_t;

struct labels_relabel {
    rule_t *rules;
    size_t n_rules;
    bool utf8_names;
};

static EVP_MD *md5;
static pthread_once_t md5_once = PTHREAD_ONCE_INIT;
static void md5_init(void) { md5 = EVP_MD_fetch(NULL, "MD5", NULL); }

static char *copy(const char *s, size_t n) {
    char *c = vg_malloc(n + 1);
    if (n) memcpy(c, s, n);
    c[n] = 0;
    return c;
}

static void rule_free(rule_t *r) {
    for (size_t i = 0; i < r->n_src; i++)
        free(r->src[i]);
    free(r->src);
    free(r->src_len);
    free(r->sep);
    labels_regex_free(r->re);
    free(r->target);
    lbl_tmpl_free(&r->target_tmpl);
    lbl_tmpl_free(&r->repl_tmpl);
}

void labels_relabel_free(labels_relabel_t *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_rules; i++)
        rule_free(&p->rules[i]);
    free(p->rules);
    free(p);
}

size_t labels_relabel_len(const labels_relabel_t *p) { return p ? p->n_rules : 0; }

/* The checks of Prometheus's relabel Config.Validate that protect the
 * program itself, so that rules not made by the config loader are safe. */
static int rule_check(const config_relabel_t *c, bool utf8, vg_err_t *err) {
    config_relabel_action_t a = c->action;
    const char *an = config_relabel_action_name(a);
    const char *tl = c->target_label ? c->target_label : "";
    size_t tl_len = strlen(tl);
    if (a == CONFIG_RELABEL_HASHMOD && c->modulus == 0)
        return vg_err_set(err, VG_ERR_INPUT,
                          "relabel configuration for hashmod requires non-zero modulus");
    bool needs_target = a == CONFIG_RELABEL_REPLACE || a == CONFIG_RELABEL_HASHMOD ||
                        a == CONFIG_RELABEL_LOWERCASE || a == CONFIG_RELABEL_UPPERCASE ||
                        a == CONFIG_RELABEL_KEEPEQUAL || a == CONFIG_RELABEL_DROPEQUAL;
    if (needs_target && !tl_len)
        return vg_err_set(err, VG_ERR_INPUT,
                          "relabel configuration for %s action requires 'target_label' value", an);
    bool plain_target = a == CONFIG_RELABEL_HASHMOD || a == CONFIG_RELABEL_LOWERCASE ||
                        a == CONFIG_RELABEL_UPPERCASE || a == CONFIG_RELABEL_KEEPEQUAL ||
                        a == CONFIG_RELABEL_DROPEQUAL ||
                        (a == CONFIG_RELABEL_REPLACE && !strchr(tl, '$'));
    if (plain_target && !labels_name_valid(tl, tl_len, utf8))
        return vg_err_set(err, VG_ERR_INPUT, "\"%s\" is invalid 'target_label' for %s action", tl,
                          an);
    return VG_OK;
}

static int rule_compile(rule_t *r, const config_relabel_t *c, bool utf8, vg_err_t *err) {
    int rc = rule_check(c, utf8, err);
    if (rc) return rc;
    r->action = c->action;
    r->n_src = c->n_source_labels;
    r->src = vg_calloc(r->n_src ? r->n_src : 1, sizeof *r->src);
    r->src_len = vg_calloc(r->n_src ? r->n_src : 1, sizeof *r->src_len);
    for (size_t i = 0; i < r->n_src; i++) {
        const char *s = c->source_labels[i] ? c->source_labels[i] : "";
        r->src_len[i] = strlen(s);
        r->src[i] = copy(s, r->src_len[i]);
    }
    const char *sep = c->separator ? c->separator : ";";
    r->sep_len = strlen(sep);
    r->sep = copy(sep, r->sep_len);
    const char *rx = c->regex ? c->regex : "(.*)";
    r->default_regex = strcmp(rx, "(.*)") == 0;
    rc = labels_regex_new(rx, strlen(rx), &r->re, err);
    if (rc) return rc;
    const char *tl = c->target_label ? c->target_label : "";
    r->target_len = strlen(tl);
    r->target = copy(tl, r->target_len);
    const char *repl = c->replacement ? c->replacement : "$1";
    lbl_tmpl_compile(&r->target_tmpl, r->re, tl, r->target_len);
    lbl_tmpl_compile(&r->repl_tmpl, r->re, repl, strlen(repl));
    int maxg = r->target_tmpl.max_group > r->repl_tmpl.max_group ? r->target_tmpl.max_group
                                                                 : r->repl_tmpl.max_group;
    r->n_pairs = maxg + 1;
    r->modulus = c->modulus;
    if (r->action == CONFIG_RELABEL_HASHMOD) {
        pthread_once(&md5_once, md5_init);
        if (!md5) return vg_err_set(err, VG_ERR, "hashmod needs MD5, which libcrypto refuses");
    }
    return VG_OK;
}

int labels_relabel_compile(const config_relabel_t *rules, size_t n_rules, bool utf8_names,
                           labels_relabel_t **out, vg_err_t *err) {
    labels_relabel_t *p = vg_calloc(1, sizeof *p);
    p->utf8_names = utf8_names;
    p->rules = vg_calloc(n_rules ? n_rules : 1, sizeof *p->rules);
    for (size_t i = 0; i < n_rules; i++) {
        p->n_rules = i + 1;
        int rc = rule_compile(&p->rules[i], &rules[i], utf8_names, err);
        if (rc) {
            if (rules[i].line) vg_err_prefix(err, "relabel rule at line %u: ", rules[i].line);
            labels_relabel_free(p);
            return rc;
        }
    }
    *out = p;
    return VG_OK;
}

/* ----------------------------------------------------------------- apply */

typedef struct walk {
    const rule_t *r;
    bool utf8;
} walk_t;

static void walk_labelmap(labels_builder_t *b, const labels_label_t *l, void *ctx) {
    const rule_t *r = ((walk_t *)ctx)->r;
    size_t ovec[2 * (LBL_MAX_GROUPS + 1)];
    int n = lbl_regex_groups(r->re, l->name, l->name_len, ovec, (size_t)r->n_pairs);
    if (n < 0) return;
    vg_buf_t *res = &b->scratch[2];
    vg_buf_reset(res);
    lbl_tmpl_expand(&r->repl_tmpl, l->name, ovec, n, res);
    labels_builder_set(b, res->data ? res->data : "", res->len, l->value, l->value_len);
}

static void walk_labeldrop(labels_builder_t *b, const labels_label_t *l, void *ctx) {
    const rule_t *r = ((walk_t *)ctx)->r;
    if (labels_regex_match(r->re, l->name, l->name_len))
        labels_builder_del(b, l->name, l->name_len);
}

static void walk_labelkeep(labels_builder_t *b, const labels_label_t *l, void *ctx) {
    const rule_t *r = ((walk_t *)ctx)->r;
    if (!labels_regex_match(r->re, l->name, l->name_len))
        labels_builder_del(b, l->name, l->name_len);
}

static void do_replace(const rule_t *r, labels_builder_t *b, const char *val, size_t val_len,
                       bool utf8) {
    const lbl_tmpl_t *tt = &r->target_tmpl, *rt = &r->repl_tmpl;
    /* Prometheus's shortcut; with "(.*)" the general path gives the same. */
    if (val_len == 0 && r->default_regex && !tt->has_dollar && !rt->has_dollar) {
        labels_builder_set(b, r->target, r->target_len, rt->text, rt->text_len);
        return;
    }
    size_t ovec[2 * (LBL_MAX_GROUPS + 1)];
    int n = lbl_regex_groups(r->re, val, val_len, ovec, (size_t)r->n_pairs);
    if (n < 0) return; /* no match, no replacement */
    const char *target = r->target;
    size_t target_len = r->target_len;
    if (tt->has_dollar) {
        vg_buf_t *t = &b->scratch[1];
        vg_buf_reset(t);
        lbl_tmpl_expand(tt, val, ovec, n, t);
        target = t->data ? t->data : "";
        target_len = t->len;
    }
    if (!labels_name_valid(target, target_len, utf8)) return;
    const char *res = rt->text;
    size_t res_len = rt->text_len;
    if (rt->has_dollar) {
        vg_buf_t *o = &b->scratch[2];
        vg_buf_reset(o);
        lbl_tmpl_expand(rt, val, ovec, n, o);
        res = o->data ? o->data : "";
        res_len = o->len;
    }
    if (res_len == 0)
        labels_builder_del(b, target, target_len);
    else
        labels_builder_set(b, target, target_len, res, res_len);
}

static void do_hashmod(const rule_t *r, labels_builder_t *b, const char *val, size_t val_len) {
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned int sum_len = 0;
    if (!EVP_Digest(val, val_len, sum, &sum_len, md5, NULL) || sum_len != 16) {
        vg_log_error("MD5 failed in hashmod relabeling", NULL);
        return;
    }
    uint64_t h = 0;
    for (int i = 8; i < 16; i++)
        h = (h << 8) | sum[i];
    char num[24];
    int n = snprintf(num, sizeof num, "%llu", (unsigned long long)(h % r->modulus));
    labels_builder_set(b, r->target, r->target_len, num, (size_t)n);
}

static bool apply_rule(const rule_t *r, labels_builder_t *b, bool utf8) {
    const char *val = "";
    size_t val_len = 0;
    if (r->n_src == 1) {
        val = labels_builder_get(b, r->src[0], r->src_len[0], &val_len);
        if (!val) val = "";
    } else if (r->n_src > 1) {
        vg_buf_t *j = &b->scratch[0];
        vg_buf_reset(j);
        for (size_t i = 0; i < r->n_src; i++) {
            size_t vl = 0;
            const char *v = labels_builder_get(b, r->src[i], r->src_len[i], &vl);
            if (i) vg_buf_append(j, r->sep, r->sep_len);
            if (v) vg_buf_append(j, v, vl);
        }
        val = j->data ? j->data : "";
        val_len = j->len;
    }
    walk_t w = {r, utf8};
    switch (r->action) {
    case CONFIG_RELABEL_DROP: return !labels_regex_match(r->re, val, val_len);
    case CONFIG_RELABEL_KEEP: return labels_regex_match(r->re, val, val_len);
    case CONFIG_RELABEL_DROPEQUAL:
    case CONFIG_RELABEL_KEEPEQUAL: {
        size_t tl = 0;
        const char *t = labels_builder_get(b, r->target, r->target_len, &tl);
        bool eq = lbl_streq(t ? t : "", tl, val, val_len);
        return r->action == CONFIG_RELABEL_KEEPEQUAL ? eq : !eq;
    }
    case CONFIG_RELABEL_REPLACE: do_replace(r, b, val, val_len, utf8); break;
    case CONFIG_RELABEL_LOWERCASE:
    case CONFIG_RELABEL_UPPERCASE: {
        vg_buf_t *o = &b->scratch[2];
        vg_buf_reset(o);
        lbl_case_map(o, val, val_len, r->action == CONFIG_RELABEL_UPPERCASE);
        labels_builder_set(b, r->target, r->target_len, o->data ? o->data : "", o->len);
        break;
    }
    case CONFIG_RELABEL_HASHMOD: do_hashmod(r, b, val, val_len); break;
    case CONFIG_RELABEL_LABELMAP: labels_builder_range(b, walk_labelmap, &w); break;
    case CONFIG_RELABEL_LABELDROP: labels_builder_range(b, walk_labeldrop, &w); break;
    case CONFIG_RELABEL_LABELKEEP: labels_builder_range(b, walk_labelkeep, &w); break;
    }
    return true;
}

bool labels_relabel_apply(const labels_relabel_t *p, labels_builder_t *b) {
    if (!p) return true;
    for (size_t i = 0; i < p->n_rules; i++)
        if (!apply_rule(&p->rules[i], b, p->utf8_names)) return false;
    return true;
}
