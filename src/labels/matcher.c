/*
 * This file implements label matchers (=, !=, =~, !~) as Prometheus's
 * labels.Matcher: regexes are anchored (see regex.c), an absent label
 * matches as the empty string, and the index can ask for the literal set or
 * prefix a regex matcher reduces to.
 */
#include <stdlib.h>
#include <string.h>

#include "labels/labels_int.h"

struct labels_matcher {
    labels_match_type_t type;
    char *name;
    size_t name_len;
    char *value;
    size_t value_len;
    labels_regex_t *re; /* =~ and !~ */
    bool matches_empty;
};

const char *labels_match_type_str(labels_match_type_t t) {
    switch (t) {
    case LABELS_MATCH_EQUAL: return "=";
    case LABELS_MATCH_NOT_EQUAL: return "!=";
    case LABELS_MATCH_REGEXP: return "=~";
    case LABELS_MATCH_NOT_REGEXP: return "!~";
    }
    return "?";
}

static char *copy(const char *s, size_t n) {
    char *c = vg_malloc(n + 1);
    if (n) memcpy(c, s, n);
    c[n] = 0;
    return c;
}

int labels_matcher_new(labels_match_type_t type, const char *name, size_t name_len,
                       const char *value, size_t value_len, labels_matcher_t **out, vg_err_t *err) {
    if ((unsigned)type > LABELS_MATCH_NOT_REGEXP)
        return vg_err_set(err, VG_ERR_INPUT, "unknown match type %d", (int)type);
    labels_matcher_t *m = vg_calloc(1, sizeof *m);
    m->type = type;
    m->name = copy(name, name_len);
    m->name_len = name_len;
    m->value = copy(value, value_len);
    m->value_len = value_len;
    if (type == LABELS_MATCH_REGEXP || type == LABELS_MATCH_NOT_REGEXP) {
        int rc = labels_regex_new(value, value_len, &m->re, err);
        if (rc) {
            labels_matcher_free(m);
            return rc;
        }
    }
    m->matches_empty = labels_matcher_matches(m, "", 0);
    *out = m;
    return VG_OK;
}

void labels_matcher_free(labels_matcher_t *m) {
    if (!m) return;
    labels_regex_free(m->re);
    free(m->name);
    free(m->value);
    free(m);
}

labels_match_type_t labels_matcher_type(const labels_matcher_t *m) { return m->type; }

const char *labels_matcher_name(const labels_matcher_t *m, size_t *out_len) {
    if (out_len) *out_len = m->name_len;
    return m->name;
}

const char *labels_matcher_value(const labels_matcher_t *m, size_t *out_len) {
    if (out_len) *out_len = m->value_len;
    return m->value;
}

bool labels_matcher_matches(const labels_matcher_t *m, const char *s, size_t len) {
    switch (m->type) {
    case LABELS_MATCH_EQUAL: return lbl_streq(s, len, m->value, m->value_len);
    case LABELS_MATCH_NOT_EQUAL: return !lbl_streq(s, len, m->value, m->value_len);
    case LABELS_MATCH_REGEXP: return labels_regex_match(m->re, s, len);
    case LABELS_MATCH_NOT_REGEXP: return !labels_regex_match(m->re, s, len);
    }
    return false;
}

bool labels_matcher_matches_labels(const labels_matcher_t *m, const labels_t *ls) {
    size_t len = 0;
    const char *v = labels_get(ls, m->name, m->name_len, &len);
    return labels_matcher_matches(m, v ? v : "", len);
}

bool labels_matcher_matches_empty(const labels_matcher_t *m) { return m->matches_empty; }

size_t labels_matcher_set_matches(const labels_matcher_t *m, const labels_label_t **out_set) {
    *out_set = NULL;
    if (!m->re) return 0;
    return lbl_regex_set(m->re, out_set);
}

const char *labels_matcher_prefix(const labels_matcher_t *m, size_t *out_len) {
    if (!m->re) {
        *out_len = 0;
        return "";
    }
    return lbl_regex_prefix(m->re, out_len);
}

void labels_matcher_format(const labels_matcher_t *m, vg_buf_t *out) {
    if (labels_name_valid_legacy(m->name, m->name_len))
        vg_buf_append(out, m->name, m->name_len);
    else
        labels_quote(out, m->name, m->name_len);
    vg_buf_puts(out, labels_match_type_str(m->type));
    labels_quote(out, m->value, m->value_len);
}
