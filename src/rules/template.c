/* This file implements the rendering of alerting rules' label and
 * annotation templates as Prometheus renders them: Go text/template (from
 * src/template) with missingkey=zero and Prometheus's functions, the text
 * prefixed with the definitions of $labels, $externalLabels, $externalURL
 * and $value, the template named "__alert_<name>", dot being the anonymous
 * struct of AlertTemplateData (Labels, ExternalLabels, ExternalURL, Value),
 * `query` running PromQL at the evaluation time, and a failure rendered as
 * "<error expanding template: ...>". */
#include "rules/rules_int.h"

#include <stdlib.h>
#include <string.h>

#include "template/template.h"

static const char defs[] = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
                           "{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/* What dot points at. */
typedef struct alert_data {
    template_map_t labels;
    template_map_t external_labels;
    const char *external_url;
    double value;
} alert_data_t;

static int data_field(template_call_t *c, const template_value_t *self, const char *name,
                      size_t name_len, template_value_t *out) {
    (void)c;
    const alert_data_t *d = self->u.obj.self;
#define IS(s) (name_len == sizeof(s) - 1 && memcmp(name, s, name_len) == 0)
    if (IS("Labels"))
        *out = template_map(&d->labels);
    else if (IS("ExternalLabels"))
        *out = template_map(&d->external_labels);
    else if (IS("ExternalURL"))
        *out = template_cstr(d->external_url);
    else if (IS("Value"))
        *out = template_float(d->value);
    else
        return VG_ERR_NOTFOUND;
#undef IS
    return 0;
}

static const template_type_t data_type = {
    .name = "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL "
            "string; Value interface {} }",
    .field = data_field,
};

/* Fills m with the labels of ls (borrowed; kept sorted as Go maps range). */
static void labels_map(const labels_t *ls, template_map_t *m) {
    size_t n = ls ? labels_len(ls) : 0;
    m->n = 0;
    m->elem_kind = TEMPLATE_STRING;
    m->entries = vg_calloc(n ? n : 1, sizeof *m->entries);
    for (size_t i = 0; i < n; i++) {
        labels_label_t l = labels_at(ls, i);
        m->entries[m->n].key = l.name;
        m->entries[m->n].key_len = l.name_len;
        m->entries[m->n].value = template_str(l.value, l.value_len);
        m->n++;
    }
}

typedef struct query_ctx {
    const rules_env_t *env;
    int64_t ts_ms;
} query_ctx_t;

/* `query`: a PromQL instant query at the evaluation time; a vector (or a
 * scalar as one sample without labels) as a list of samples. */
static int run_query(void *ud, template_call_t *c, const char *q, size_t q_len,
                     template_value_t *out, vg_err_t *err) {
    query_ctx_t *qc = ud;
    if (!qc->env->engine || !qc->env->db)
        return vg_err_set(err, VG_ERR, "queries are not available");
    promql_value_t *v = NULL;
    int rc = promql_query_instant(qc->env->engine, qc->env->db, q, q_len, qc->ts_ms, 0, &v, err);
    if (rc != VG_OK) return rc;
    if (v->type != PROMQL_TYPE_VECTOR && v->type != PROMQL_TYPE_SCALAR) {
        promql_value_free(v);
        return vg_err_set(err, VG_ERR, "rule result is not a vector or scalar");
    }
    size_t n = v->type == PROMQL_TYPE_SCALAR ? 1 : v->n_series;
    template_list_t *list = template_call_alloc(c, sizeof *list);
    template_value_t *items = template_call_alloc(c, (n ? n : 1) * sizeof *items);
    if (!list || !items) {
        promql_value_free(v);
        return vg_err_set(err, VG_ERR_LIMIT, "query result too large");
    }
    for (size_t i = 0; i < n; i++) {
        const labels_t *ls = v->type == PROMQL_TYPE_SCALAR ? NULL : v->series[i].labels;
        size_t nl = ls ? labels_len(ls) : 0;
        template_map_t *m = template_call_alloc(c, sizeof *m);
        template_map_entry_t *e = template_call_alloc(c, (nl ? nl : 1) * sizeof *e);
        if (!m || !e) {
            promql_value_free(v);
            return vg_err_set(err, VG_ERR_LIMIT, "query result too large");
        }
        m->n = nl;
        m->entries = e;
        m->elem_kind = TEMPLATE_STRING;
        for (size_t k = 0; k < nl; k++) {
            labels_label_t l = labels_at(ls, k);
            template_value_t key, val;
            if (template_call_strdup(c, l.name, l.name_len, &key) != 0 ||
                template_call_strdup(c, l.value, l.value_len, &val) != 0) {
                promql_value_free(v);
                return vg_err_set(err, VG_ERR_LIMIT, "query result too large");
            }
            e[k].key = key.u.str.s;
            e[k].key_len = key.u.str.len;
            e[k].value = val;
        }
        double value = v->type == PROMQL_TYPE_SCALAR ? v->scalar
                       : v->series[i].n_points       ? v->series[i].points[0].v
                                                     : 0;
        if (template_sample(c, m, value, &items[i]) != 0) {
            promql_value_free(v);
            return vg_err_set(err, VG_ERR_LIMIT, "query result too large");
        }
    }
    promql_value_free(v);
    list->n = n;
    list->items = items;
    *out = template_list(list);
    return 0;
}

static template_t *new_set(void) {
    static const template_funcs_t *const funcs[] = {&template_funcs_prometheus};
    template_options_t o = {.funcs = funcs, .n_funcs = 1, .missingkey = TEMPLATE_MISSINGKEY_ZERO};
    return template_new(&o);
}

/* The full text Prometheus parses: the variable definitions, then text. */
static void full_text(vg_buf_t *b, const char *text, size_t len) {
    vg_buf_puts(b, defs);
    vg_buf_append(b, text, len);
}

char *rules_template_expand(const rules_rule_t *r, const char *text, size_t text_len,
                            const labels_t *sample_labels, double value, const rules_env_t *env,
                            int64_t ts_ms) {
    /* Most values hold no action at all: nothing to render. */
    if (!memmem(text, text_len, "{{", 2)) return vg_strndup(text, text_len);
    vg_buf_t name = VG_BUF_INIT, src = VG_BUF_INIT, out = VG_BUF_INIT;
    vg_buf_printf(&name, "__alert_%s", r->def.name);
    full_text(&src, text, text_len);
    template_t *t = new_set();
    vg_err_t err = {0};
    char *result;
    if (template_add(t, src.data, src.len, name.data, &err) != VG_OK) {
        vg_buf_t m = VG_BUF_INIT;
        vg_buf_printf(&m, "<error expanding template: error parsing template %s: %s>", name.data,
                      err.msg);
        result = vg_buf_detach(&m);
        vg_log_warn("Expanding alert template failed", "alert", r->def.name, "err", err.msg, NULL);
        goto done;
    }
    alert_data_t d = {.external_url = env->external_url ? env->external_url : "", .value = value};
    labels_map(sample_labels, &d.labels);
    labels_map(env->external_labels, &d.external_labels);
    template_value_t dot = template_object(&data_type, &d);
    query_ctx_t qc = {.env = env, .ts_ms = ts_ms};
    template_env_t tenv = {
        .external_url = d.external_url, .now_ms = ts_ms, .query = run_query, .query_ctx = &qc};
    if (template_execute(t, name.data, &dot, &tenv, &out, &err) != VG_OK) {
        vg_buf_t m = VG_BUF_INIT;
        vg_buf_printf(&m, "<error expanding template: error executing template %s: %s>", name.data,
                      err.msg);
        result = vg_buf_detach(&m);
        vg_log_warn("Expanding alert template failed", "alert", r->def.name, "err", err.msg, NULL);
    } else {
        result = vg_buf_detach(&out);
    }
    free(d.labels.entries);
    free(d.external_labels.entries);
done:
    template_free(t);
    vg_buf_free(&name);
    vg_buf_free(&src);
    vg_buf_free(&out);
    return result;
}

int rules_template_check(const char *alert_name, const char *text, vg_err_t *err) {
    if (!strstr(text, "{{")) return VG_OK;
    vg_buf_t name = VG_BUF_INIT, src = VG_BUF_INIT;
    vg_buf_printf(&name, "__alert_%s", alert_name);
    full_text(&src, text, strlen(text));
    template_t *t = new_set();
    int rc = template_add(t, src.data, src.len, name.data, err);
    template_free(t);
    vg_buf_free(&name);
    vg_buf_free(&src);
    return rc == VG_OK ? VG_OK : VG_ERR_INPUT;
}
