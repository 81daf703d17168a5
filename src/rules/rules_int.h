/* Shared inside the rules module: parsing the YAML tree both file formats
 * are decoded from, the parsed rule-file model, the runtime state of groups and
 * rules, and the helpers the manager, the unit-test runner and the notifier
 * share. */
#ifndef VG_RULES_INT_H
#define VG_RULES_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "rules/rules.h"
#include "ytree/ytree.h"

/* ------------------------------------------------------------- YAML tree */

/* Parses the first document of data into a ytree in arena (NULL root for
 * an empty document), as yaml.v3 reads it: syntax errors are worded as
 * go-yaml words them ("yaml: line N: did not find expected node content"). */
int ry_parse(const char *data, size_t len, vg_arena_t *arena, ytree_node_t **out_root,
             vg_err_t *err);

/* Strict decoding errors, collected the way yaml's decoder collects them
 * ("line 3: field foo not found in type rulefmt.RuleGroup"). */
typedef struct ry_errs {
    char **msgs;
    size_t n, cap;
} ry_errs_t;
void ry_errs_add(ry_errs_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "yaml: unmarshal errors:\n  line ..." as a new heap string. */
char *ry_errs_join(const ry_errs_t *e);
void ry_errs_free(ry_errs_t *e);

/* ---------------------------------------------------- rule-file model */

typedef struct rules_rule_def {
    bool is_alert;
    const char *name; /* alert or record */
    const char *expr; /* as written */
    int64_t for_ms, keep_firing_for_ms;
    config_label_t *labels; /* sorted by name */
    size_t n_labels;
    config_label_t *annotations; /* sorted by name */
    size_t n_annotations;
} rules_rule_def_t;

typedef struct rules_group_def {
    const char *name;
    int64_t interval_ms; /* 0: the global evaluation_interval */
    bool has_query_offset;
    int64_t query_offset_ms;
    int64_t limit;
    config_label_t *labels; /* sorted by name */
    size_t n_labels;
    rules_rule_def_t *rules;
    size_t n_rules;
} rules_group_def_t;

struct rules_file {
    vg_arena_t *arena;
    const char *path;
    rules_group_def_t *groups;
    size_t n_groups;
    bool second_doc; /* the file had a second YAML document (ignored) */
};

/* -------------------------------------------------------------- runtime */

/* One alert instance of an alerting rule. Times are Unix nanoseconds, 0
 * meaning "never" (Go's zero time). */
typedef struct rules_alert {
    labels_t *labels;
    labels_t *annotations;
    uint64_t hash; /* of labels */
    rules_alert_state_t state;
    double value;
    int64_t active_at, fired_at, resolved_at, last_sent_at, valid_until, keep_firing_since;
    bool in_result; /* during one evaluation: the query returned it */
} rules_alert_t;

/* A set of series written by a rule at its last evaluation, for stale
 * markers. */
typedef struct rules_series_set {
    labels_t **items;
    size_t n, cap;
} rules_series_set_t;

typedef struct rules_rule {
    rules_rule_def_t def; /* strings owned by the group's file arena */
    char *query;          /* the expression as printed (what is evaluated) */
    labels_t *labels;     /* rule labels (group labels merged in) */
    labels_t *annotations;
    /* Guarded by the group's state lock. */
    rules_alert_t **active;
    size_t n_active, cap_active;
    bool restored;
    rules_health_t health;
    char *last_error;
    int64_t eval_duration_ns;
    int64_t eval_timestamp;  /* wall clock when its last evaluation began */
    rules_series_set_t prev; /* series written at the last evaluation */
} rules_rule_t;

/* How a group reaches storage, the engine and the notifier. */
typedef struct rules_env {
    tsdb_t *db;
    promql_engine_t *engine;
    const labels_t *external_labels; /* may be NULL */
    const char *external_url;
    int64_t resend_delay_ms;
    int64_t outage_tolerance_ms;
    int64_t for_grace_period_ms;
    int64_t default_query_offset_ms;
    /* Called with alerts that need sending (may be NULL). */
    void (*notify)(void *ud, const char *expr, rules_alert_t *const *alerts, size_t n);
    void *notify_ud;
} rules_env_t;

typedef struct rules_group {
    char *name;
    char *file;
    int64_t interval_ms;
    int64_t limit;
    bool has_query_offset;
    int64_t query_offset_ms;
    rules_file_t *src; /* shared, refcounted by the manager's load */
    rules_rule_t *rules;
    size_t n_rules;
    rules_env_t env;
    pthread_mutex_t lock; /* guards rule state for readers */
    int64_t eval_duration_ns;
    int64_t last_eval;    /* wall clock when the last evaluation began */
    int64_t last_eval_ts; /* the scheduled timestamp of the last evaluation */
    labels_t **stale;     /* series of removed rules, to mark stale */
    size_t n_stale, cap_stale;
    bool should_restore;
    /* Thread control (manager.c). */
    pthread_t thread;
    bool started;
    pthread_mutex_t run_lock;
    pthread_cond_t run_cond;
    atomic_bool stop; /* set to end the loop; evaluation stops between rules */
    bool mark_stale;  /* removed: write stale markers after stopping */
    atomic_bool *manager_done;
    atomic_bool finished; /* the thread has ended */
} rules_group_t;

/* Builds runtime groups from a parsed file (borrowed; the groups point into
 * it). default_interval_ms applies where a group has none. */
int rules_groups_from_file(const rules_file_t *f, int64_t default_interval_ms,
                           const rules_env_t *env, bool should_restore, rules_group_t ***out,
                           size_t *out_n, vg_err_t *err);
void rules_group_free(rules_group_t *g);
/* One evaluation of every rule at ts (Unix ns), as Group.Eval. */
void rules_group_eval(rules_group_t *g, int64_t ts);
/* Restores the `for` state of alerts from ALERTS_FOR_STATE, as
 * Group.RestoreForState, at now (Unix ns). */
void rules_group_restore(rules_group_t *g, int64_t now);
/* Writes stale markers for every series in g->stale at ts. */
void rules_group_cleanup_stale(rules_group_t *g, int64_t ts);
/* The first scheduled evaluation at or before start (ns), as
 * Group.EvalTimestamp (offset by the XXH64 of file and name). */
int64_t rules_group_eval_timestamp(const rules_group_t *g, int64_t start);
/* Whether a and b are the same group definition (Group.Equals). */
bool rules_group_equal(const rules_group_t *a, const rules_group_t *b);
/* Takes over the state of the old group (Group.CopyState). */
void rules_group_copy_state(rules_group_t *g, rules_group_t *from);
/* Copies the alerts of an alerting rule (firing only or all active). */
void rules_series_set_clear(rules_series_set_t *s);

/* ------------------------------------------------------------- notifier */

typedef struct rules_notifier rules_notifier_t;

/* Creates the notifier and its sender thread. capacity bounds the queue
 * (the oldest alerts are dropped beyond it). */
rules_notifier_t *rules_notifier_new(size_t capacity, const char *user_agent,
                                     const char *external_url, selfmon_t *selfmon);
/* Takes the alerting section and external labels of cfg (borrowed). */
int rules_notifier_apply(rules_notifier_t *n, const config_t *cfg, vg_err_t *err);
/* Where alerts go when no Alertmanager is configured (NULL: dropped). */
void rules_notifier_set_local(rules_notifier_t *n,
                              void (*fn)(void *ud, const rules_outgoing_alert_t *alerts, size_t n),
                              void *ud);
/* Queues alerts (borrowed) of the rule whose expression is expr, as
 * Prometheus's SendAlerts: startsAt = firedAt, endsAt = resolvedAt or
 * validUntil, generatorURL to the expression's graph. Thread-safe. */
void rules_notifier_send(rules_notifier_t *n, const char *expr, rules_alert_t *const *alerts,
                         size_t n_alerts);
size_t rules_notifier_urls(rules_notifier_t *n, char ***out);
/* Sends what is queued (bounded by a short deadline) and stops. */
void rules_notifier_free(rules_notifier_t *n);

/* Expands a label or annotation template of an alerting rule (template.c).
 * Returns a new heap string. */
char *rules_template_expand(const rules_rule_t *r, const char *text, size_t text_len,
                            const labels_t *sample_labels, double value, const rules_env_t *env,
                            int64_t ts_ms);
/* Checks that text parses as a rule template; 0 or the Go-worded error. */
int rules_template_check(const char *alert_name, const char *text, vg_err_t *err);

/* Small time and number helpers (util.c). */
/* strconv.FormatFloat(v, 'e' or 'E', -1, 64). out: VG_FLOAT_MAX_LEN. */
void rules_format_float_exp(double v, char upper, char *out);
double rules_stale_nan(void);
bool rules_is_stale_nan(double v);

#endif
