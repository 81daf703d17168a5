/* libFuzzer target for relabeling, regexes and label sets: the input is
 *
 *   rule lines:   action|source,labels|separator|regex|target|replacement|modulus
 *   a blank line
 *   label lines:  name=value
 *
 * (missing fields take Prometheus's defaults; an unknown action picks one
 * from its first byte). The rules are compiled and applied to the labels;
 * each regex is also used as a matcher on every value, and the resulting
 * set is hashed, formatted and validated. Nothing may crash, hang or leak;
 * a compile error must say why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "labels/labels.h"

#define MAX_RULES 16
#define MAX_FIELDS 7

typedef struct span {
    const char *p;
    size_t n;
} span_t;

static char *dupn(const span_t *s) {
    char *c = malloc(s->n + 1);
    memcpy(c, s->p, s->n);
    c[s->n] = 0;
    return c;
}

/* Splits s at sep into at most max parts; returns how many. */
static size_t split(span_t s, char sep, span_t *out, size_t max) {
    size_t k = 0;
    while (k < max) {
        const char *e = k + 1 < max ? memchr(s.p, sep, s.n) : NULL;
        size_t n = e ? (size_t)(e - s.p) : s.n;
        out[k++] = (span_t){s.p, n};
        if (!e) break;
        s.p += n + 1;
        s.n -= n + 1;
    }
    return k;
}

static void visit(labels_builder_t *b, const labels_label_t *l, void *ctx) {
    (void)b;
    *(size_t *)ctx += l->name_len + l->value_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *in = (const char *)data;
    const char *blank = NULL;
    for (size_t i = 0; i + 1 < size; i++)
        if (in[i] == '\n' && in[i + 1] == '\n') {
            blank = in + i;
            break;
        }
    span_t rules_part = {in, blank ? (size_t)(blank - in) : size};
    span_t labels_part = {blank ? blank + 2 : in + size,
                          blank ? size - (size_t)(blank - in) - 2 : 0};

    /* Labels. */
    labels_builder_t *b = labels_builder_new();
    labels_builder_reset(b, NULL);
    span_t lines[64];
    size_t nl = split(labels_part, '\n', lines, 64);
    for (size_t i = 0; i < nl; i++) {
        span_t kv[2];
        if (split(lines[i], '=', kv, 2) == 2)
            labels_builder_set(b, kv[0].p, kv[0].n, kv[1].p, kv[1].n);
    }
    labels_t *base = labels_builder_labels(b);

    /* Rules. */
    config_relabel_t cfg[MAX_RULES];
    char *owned[MAX_RULES * 32];
    size_t n_owned = 0, n_rules = 0;
    span_t rl[MAX_RULES];
    size_t nr = rules_part.n ? split(rules_part, '\n', rl, MAX_RULES) : 0;
    for (size_t i = 0; i < nr; i++) {
        span_t f[MAX_FIELDS];
        size_t nf = split(rl[i], '|', f, MAX_FIELDS);
        config_relabel_t *c = &cfg[n_rules++];
        memset(c, 0, sizeof *c);
        char *action = dupn(&f[0]);
        owned[n_owned++] = action;
        c->action = CONFIG_RELABEL_REPLACE;
        bool named = false;
        for (int a = 0; a <= CONFIG_RELABEL_UPPERCASE; a++)
            if (!strcmp(action, config_relabel_action_name((config_relabel_action_t)a))) {
                c->action = (config_relabel_action_t)a;
                named = true;
            }
        if (!named && f[0].n) c->action = (config_relabel_action_t)((uint8_t)f[0].p[0] % 11);
        c->separator = ";";
        c->regex = "(.*)";
        c->target_label = "";
        c->replacement = "$1";
        if (nf > 1 && f[1].n) {
            span_t src[8];
            size_t ns = split(f[1], ',', src, 8);
            const char **names = malloc(ns * sizeof *names);
            owned[n_owned++] = (char *)names;
            for (size_t k = 0; k < ns; k++) {
                names[k] = owned[n_owned++] = dupn(&src[k]);
            }
            c->source_labels = names;
            c->n_source_labels = ns;
        }
        if (nf > 2) c->separator = owned[n_owned++] = dupn(&f[2]);
        if (nf > 3) c->regex = owned[n_owned++] = dupn(&f[3]);
        if (nf > 4) c->target_label = owned[n_owned++] = dupn(&f[4]);
        if (nf > 5) c->replacement = owned[n_owned++] = dupn(&f[5]);
        if (nf > 6) {
            char *m = dupn(&f[6]);
            owned[n_owned++] = m;
            c->modulus = strtoull(m, NULL, 10);
        }
        /* Embedded NULs in a field shorten it; the program only sees C strings. */
        c->line = (unsigned)i + 1;
    }

    for (int utf8 = 0; utf8 < 2; utf8++) {
        labels_relabel_t *p = NULL;
        vg_err_t err = {0};
        if (labels_relabel_compile(cfg, n_rules, utf8 != 0, &p, &err) == 0) {
            labels_builder_reset(b, base);
            if (labels_relabel_apply(p, b)) {
                size_t sum = 0;
                labels_builder_range(b, visit, &sum);
                labels_t *out = labels_builder_labels(b);
                vg_buf_t s = VG_BUF_INIT;
                labels_format(out, &s);
                labels_format_metric(out, &s);
                (void)labels_hash(out);
                (void)labels_validate(out, utf8 != 0, NULL);
                labels_limits_t lim = {3, 5, 7};
                (void)labels_check_limits(out, &lim, NULL);
                if (labels_compare(out, base) == 0 && !labels_equal(out, base)) __builtin_trap();
                vg_buf_free(&s);
                labels_free(out);
            }
            labels_relabel_free(p);
        } else if (!err.msg[0]) {
            __builtin_trap(); /* a failure always says why */
        }
    }

    /* Each regex as a matcher over every value. */
    for (size_t i = 0; i < n_rules; i++) {
        labels_matcher_t *m = NULL;
        const char *re = cfg[i].regex;
        if (labels_matcher_new(LABELS_MATCH_REGEXP, "x", 1, re, strlen(re), &m, NULL)) continue;
        for (size_t k = 0; k < labels_len(base); k++) {
            labels_label_t l = labels_at(base, k);
            (void)labels_matcher_matches(m, l.value, l.value_len);
        }
        (void)labels_matcher_matches_empty(m);
        const labels_label_t *set;
        (void)labels_matcher_set_matches(m, &set);
        labels_matcher_free(m);
    }

    for (size_t i = 0; i < n_owned; i++)
        free(owned[i]);
    labels_free(base);
    labels_builder_free(b);
    return 0;
}
