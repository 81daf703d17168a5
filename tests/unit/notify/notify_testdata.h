/* Notification data sets shared by the notify tests: template_am_data_t
 * values built from string tables, as the dispatcher builds them. */
#ifndef VG_NOTIFY_TESTDATA_H
#define VG_NOTIFY_TESTDATA_H

#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"

/* A map from "k", "v", ..., NULL (sorted after filling). */
static template_map_t *td_map(const char *const *kv) {
    size_t n = 0;
    while (kv && kv[2 * n])
        n++;
    template_map_t *m = calloc(1, sizeof *m);
    m->entries = calloc(n ? n : 1, sizeof *m->entries);
    m->n = n;
    m->elem_kind = TEMPLATE_STRING;
    for (size_t i = 0; i < n; i++) {
        m->entries[i].key = kv[2 * i];
        m->entries[i].key_len = strlen(kv[2 * i]);
        m->entries[i].value = template_cstr(kv[2 * i + 1]);
    }
    template_map_sort(m);
    return m;
}

static void td_map_free(const template_map_t *m) {
    if (!m) return;
    free(((template_map_t *)m)->entries);
    free((template_map_t *)m);
}

typedef struct td_alert {
    const char *status;
    const char *const *labels, *const *annotations;
    int64_t starts_ms, ends_ms; /* ends 0: nil (firing) */
    const char *generator_url, *fingerprint;
} td_alert_t;

typedef struct td_set {
    const char *name;
    const char *receiver, *status;
    const td_alert_t *alerts;
    size_t n_alerts;
    const char *const *group_labels, *const *common_labels, *const *common_annotations;
} td_set_t;

/* Builds the data (caller frees with td_free). */
static template_am_data_t *td_build(const td_set_t *s) {
    template_am_data_t *d = calloc(1, sizeof *d);
    template_am_alert_t *as = calloc(s->n_alerts ? s->n_alerts : 1, sizeof *as);
    for (size_t i = 0; i < s->n_alerts; i++) {
        const td_alert_t *a = &s->alerts[i];
        as[i].status = a->status;
        as[i].labels = td_map(a->labels);
        as[i].annotations = td_map(a->annotations);
        as[i].starts_at =
            template_time(a->starts_ms / 1000, (int32_t)(a->starts_ms % 1000) * 1000000, 0, "UTC");
        as[i].ends_at = a->ends_ms ? template_time(a->ends_ms / 1000,
                                                   (int32_t)(a->ends_ms % 1000) * 1000000, 0, "UTC")
                                   : template_nil();
        as[i].generator_url = a->generator_url ? a->generator_url : "";
        as[i].fingerprint = a->fingerprint ? a->fingerprint : "";
    }
    d->receiver = s->receiver;
    d->status = s->status;
    d->alerts = as;
    d->n_alerts = s->n_alerts;
    d->group_labels = td_map(s->group_labels);
    d->common_labels = td_map(s->common_labels);
    d->common_annotations = td_map(s->common_annotations);
    d->route_labels = td_map(NULL);
    d->external_url = "http://am.example.com:9093";
    return d;
}

static void td_free(template_am_data_t *d) {
    for (size_t i = 0; i < d->n_alerts; i++) {
        td_map_free(d->alerts[i].labels);
        td_map_free(d->alerts[i].annotations);
    }
    free((void *)d->alerts);
    td_map_free(d->group_labels);
    td_map_free(d->common_labels);
    td_map_free(d->common_annotations);
    td_map_free(d->route_labels);
    free(d);
}

/* ------------------------------------------------------------- the sets */

static const char *const td_l1[] = {"alertname", "HighLatency", "job",  "api", "instance",
                                    "a:9090",    "severity",    "page", NULL};
static const char *const td_l2[] = {"alertname", "HighLatency", "job",  "api", "instance",
                                    "b:9090",    "severity",    "page", NULL};
static const char *const td_l3[] = {"alertname", "HighLatency", "job",     "api", "instance",
                                    "c:9090",    "severity",    "warning", NULL};
static const char *const td_a1[] = {"summary", "Latency is high", "runbook",
                                    "https://wiki/x?a=1&b=<2>", NULL};
static const char *const td_a2[] = {"summary", "Latency is high", "description",
                                    "p99 > 1s on \"b\" — ünïcode", NULL};
static const char *const td_gl[] = {"alertname", "HighLatency", NULL};
static const char *const td_gl2[] = {"alertname", "HighLatency", "job", "api", NULL};
static const char *const td_cl12[] = {"alertname", "HighLatency", "job", "api",
                                      "severity",  "page",        NULL};
static const char *const td_cl123[] = {"alertname", "HighLatency", "job", "api", NULL};
static const char *const td_ca[] = {"summary", "Latency is high", NULL};

static const td_alert_t td_firing[] = {
    {"firing", td_l1, td_a1, 1700000000123, 0, "http://prom:9090/graph?g0.expr=up%3D%3D0",
     "1a2b3c4d5e6f7081"},
    {"firing", td_l2, td_a2, 1700000001000, 0, "http://prom:9090/graph?g0.expr=x",
     "2b3c4d5e6f708192"},
};

static const td_alert_t td_resolved[] = {
    {"resolved", td_l3, td_a1, 1700000000000, 1700000600500, "http://prom:9090/g",
     "3c4d5e6f70819203"},
};

static const td_alert_t td_mixed[] = {
    {"firing", td_l1, td_a1, 1700000000123, 0, "http://prom:9090/g1", "1a2b3c4d5e6f7081"},
    {"firing", td_l2, td_a2, 1700000001000, 0, "http://prom:9090/g2", "2b3c4d5e6f708192"},
    {"resolved", td_l3, td_a1, 1700000000000, 1700000600500, "http://prom:9090/g3",
     "3c4d5e6f70819203"},
};

static const char *const td_none[] = {NULL};
static const td_alert_t td_empty[] = {
    {"firing", td_none, td_none, 1700000000000, 0, "", "0000000000000000"},
};

#define TD_MANY 12
static td_alert_t td_many[TD_MANY];
static char td_many_inst[TD_MANY][16];
static const char *td_many_labels[TD_MANY][7];

static void td_many_init(void) {
    for (int i = 0; i < TD_MANY; i++) {
        snprintf(td_many_inst[i], sizeof td_many_inst[i], "host-%02d:9100", i);
        const char **l = td_many_labels[i];
        l[0] = "alertname", l[1] = "NodeDown", l[2] = "instance", l[3] = td_many_inst[i];
        l[4] = "job", l[5] = "node", l[6] = NULL;
        td_many[i] = (td_alert_t){i % 3 == 2 ? "resolved" : "firing",
                                  td_many_labels[i],
                                  td_none,
                                  1700000000000 + i,
                                  i % 3 == 2 ? 1700000900000 : 0,
                                  "http://prom:9090/n",
                                  "aaaaaaaaaaaaaaaa"};
    }
}

static const char *const td_gl_node[] = {"alertname", "NodeDown", NULL};
static const char *const td_cl_node[] = {"alertname", "NodeDown", "job", "node", NULL};

static const td_set_t td_sets[] = {
    {"firing", "team-X (prod)", "firing", td_firing, 2, td_gl, td_cl12, td_ca},
    {"resolved", "team-X (prod)", "resolved", td_resolved, 1, td_gl2, td_l3, td_a1},
    {"mixed", "ops", "firing", td_mixed, 3, td_gl, td_cl123, td_ca},
    {"many", "ops", "firing", td_many, TD_MANY, td_gl_node, td_cl_node, td_none},
    {"empty labels", "", "firing", td_empty, 1, td_none, td_none, td_none},
};

#define TD_N_SETS (sizeof td_sets / sizeof td_sets[0])

#endif
