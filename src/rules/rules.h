/*
 * rules — Prometheus recording and alerting rules.
 *
 * What it does:
 *   - loads rule files (YAML: groups with name, interval, limit,
 *     query_offset, labels; recording rules with record/expr/labels and
 *     alerting rules with alert/expr/for/keep_firing_for/labels/annotations)
 *     with the strict decoding and the validation messages of Prometheus
 *     3.x's rulefmt, and checks them as `promtool check rules` does;
 *   - runs rule groups: one thread per group, evaluation times aligned as
 *     Prometheus aligns them (the group's interval, offset by a hash of its
 *     file and name), recording rules written back to the tsdb, alerting
 *     rules with pending/firing/inactive states, `for`, `keep_firing_for`,
 *     resolved alerts kept 15 minutes, ALERTS and ALERTS_FOR_STATE series,
 *     stale markers for series that go away, `limit`, `query_offset`, and
 *     the restore of `for` state after a restart from ALERTS_FOR_STATE;
 *   - sends alerts to the Alertmanagers of `alerting.alertmanagers` (API v2)
 *     from a small queue, as Prometheus's notifier does;
 *   - runs promtool's rule unit-test files (`vigil test rules`).
 * Labels and annotations of alerting rules are Go templates ($labels,
 * $value, $externalLabels, $externalURL) rendered by src/template.
 *
 * What it owns: the manager owns its groups, their threads and state, and
 * the notifier with its thread; a rules_file_t owns its parsed strings.
 * The tsdb and the PromQL engine are borrowed and must outlive the manager.
 *
 * Threads: rules_manager_* are called by the main thread (new, update,
 * free), except rules_manager_snapshot, which any thread may call (HTTP
 * handlers). Each group evaluates on its own thread; a group's state lock
 * guards what snapshots read. The unit-test runner and the checker run on
 * the calling thread.
 */
#ifndef VG_RULES_H
#define VG_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "core/core.h"
#include "labels/labels.h"
#include "promql/promql.h"
#include "selfmon/selfmon.h"
#include "tsdb/tsdb.h"

/* Bounds on a rule file: a larger file is refused before it is read. */
#define RULES_MAX_FILE_BYTES (16u * 1024 * 1024)

/* ---------------------------------------------------------- rule files */

typedef struct rules_file rules_file_t;

/* Messages of a failed load or check, in Prometheus's order and words. */
typedef struct rules_errors {
    char **msgs;
    size_t n, cap;
} rules_errors_t;

void rules_errors_free(rules_errors_t *e);

/* Parses and validates one rule file held in data (borrowed). name is used
 * as the file's name in the result (not in messages: callers prefix them
 * with the file name as Prometheus does). utf8_names selects Prometheus
 * 3.x's UTF-8 name validation (its default) instead of legacy names.
 * Returns 0 and *out (rules_file_free), or VG_ERR_INPUT with the messages
 * appended to errs. Never crashes on any input. */
int rules_file_parse(const char *data, size_t len, const char *name, bool utf8_names,
                     rules_file_t **out, rules_errors_t *errs);
/* Reads path and parses it; messages start with "path: ". */
int rules_file_load(const char *path, bool utf8_names, rules_file_t **out, rules_errors_t *errs);
void rules_file_free(rules_file_t *f);
size_t rules_file_n_groups(const rules_file_t *f);
/* Number of rules in all groups. */
size_t rules_file_n_rules(const rules_file_t *f);

/* What `vigil check rules FILE...` does, like `promtool check rules`:
 * "Checking FILE" and "  SUCCESS: N rules found" on out, "  FAILED:" and
 * the messages on err_out, with the duplicate-rules lint. lint_fatal makes
 * lint findings exit 3. Returns the exit status (0, 1 or 3). */
int rules_check_files(const char *const *files, size_t n_files, bool lint_duplicates,
                      bool lint_fatal, FILE *out, FILE *err_out);

/* ---------------------------------------------------------- unit tests */

/* What `vigil test rules FILE...` does, like `promtool test rules`: runs
 * each test file (rule_files, evaluation_interval, group_eval_order, tests
 * with input_series, alert_rule_test, promql_expr_test, external_labels,
 * external_url) in a temporary store under tmp_dir (NULL: $TMPDIR or /tmp)
 * and prints promtool's report. run (may be NULL) is a regex of test group
 * names to run. Returns the exit status (0 or 1). */
int rules_unittest_run(const char *const *files, size_t n_files, const char *run,
                       const char *tmp_dir, FILE *out, FILE *err_out);

/* -------------------------------------------------------------- manager */

typedef enum rules_alert_state {
    RULES_STATE_UNKNOWN = 0, /* not evaluated yet */
    RULES_STATE_INACTIVE,
    RULES_STATE_PENDING,
    RULES_STATE_FIRING,
} rules_alert_state_t;

/* "unknown", "inactive", "pending", "firing". */
const char *rules_alert_state_name(rules_alert_state_t s);

typedef enum rules_health {
    RULES_HEALTH_UNKNOWN = 0,
    RULES_HEALTH_GOOD,
    RULES_HEALTH_BAD,
} rules_health_t;

/* "unknown", "ok", "err". */
const char *rules_health_name(rules_health_t h);

typedef struct rules_manager rules_manager_t;

/* An alert as it leaves for an Alertmanager: external labels added and
 * alert_relabel_configs applied. Times in ns since the epoch. Borrowed for
 * the duration of the call. */
typedef struct rules_outgoing_alert {
    const labels_t *labels, *annotations;
    int64_t starts_at_ns, ends_at_ns;
    const char *generator_url;
} rules_outgoing_alert_t;

typedef struct rules_manager_opts {
    tsdb_t *db;                         /* borrowed */
    promql_engine_t *engine;            /* borrowed */
    selfmon_t *selfmon;                 /* may be NULL */
    const char *external_url;           /* --web.external-url, no trailing slash; copied */
    int64_t resend_delay_ms;            /* 0: 1m (--rules.alert.resend-delay) */
    int64_t outage_tolerance_ms;        /* 0: 1h (--rules.alert.for-outage-tolerance) */
    int64_t for_grace_period_ms;        /* 0: 10m (--rules.alert.for-grace-period) */
    size_t notification_queue_capacity; /* 0: 10000 */
    const char *user_agent;             /* for requests to Alertmanagers; copied */
    /* The built-in Alertmanager: alerts go here when the configuration
     * names no Alertmanager of its own (NULL: nowhere). Called on a rule
     * group's thread; must be thread-safe. */
    void (*local_alerts)(void *ud, const rules_outgoing_alert_t *alerts, size_t n);
    void *local_ud;
} rules_manager_opts_t;

/* Creates a manager with no groups and starts its notifier thread. */
rules_manager_t *rules_manager_new(const rules_manager_opts_t *opts, vg_err_t *err);

/* Applies a configuration (borrowed): the rule_files globs, the global
 * evaluation_interval, rule_query_offset and external labels, and the
 * alerting section. Groups whose definition did not change keep running;
 * changed ones take over the old state; removed ones write stale markers
 * two intervals later. When a rule file fails to load, nothing changes
 * and err gets every message (joined by newlines). */
int rules_manager_update(rules_manager_t *m, const config_t *cfg, vg_err_t *err);

/* Stops every group and the notifier (alerts still queued are sent with a
 * short deadline) and frees the manager. NULL is fine. */
void rules_manager_free(rules_manager_t *m);

/* ------------------------------------------------------------ snapshots */

/* A copy of the manager's state for the HTTP API. Times are Unix
 * nanoseconds (0 = never); durations in seconds. */
typedef struct rules_alert_info {
    labels_t *labels;
    labels_t *annotations;
    rules_alert_state_t state;
    double value;
    int64_t active_at;
    int64_t keep_firing_since;
} rules_alert_info_t;

typedef struct rules_rule_info {
    bool is_alert;
    char *name;
    char *query;
    double duration_s, keep_firing_for_s;
    labels_t *labels;
    labels_t *annotations; /* empty for recording rules */
    rules_alert_state_t state;
    rules_alert_info_t *alerts; /* active (not resolved) alerts */
    size_t n_alerts;
    rules_health_t health;
    char *last_error; /* NULL when none */
    double eval_time_s;
    int64_t last_eval;
} rules_rule_info_t;

typedef struct rules_group_info {
    char *name;
    char *file;
    double interval_s;
    int64_t limit;
    double eval_time_s;
    int64_t last_eval;
    rules_rule_info_t *rules;
    size_t n_rules;
} rules_group_info_t;

typedef struct rules_snapshot {
    rules_group_info_t *groups; /* sorted by file, then name */
    size_t n_groups;
} rules_snapshot_t;

/* Copies the state of every group. Thread-safe. Returns a new snapshot
 * (rules_snapshot_free). */
rules_snapshot_t *rules_manager_snapshot(rules_manager_t *m);
void rules_snapshot_free(rules_snapshot_t *s);

/* The URLs alerts are sent to (POST /api/v2/alerts), for
 * /api/v1/alertmanagers. Returns the count; *out is a new array of new
 * strings (free each and the array). */
size_t rules_manager_alertmanagers(rules_manager_t *m, char ***out);

/* Prometheus's Go formatting of an alert value in the API ('e', -1):
 * "1e+00", "4.5e-01". out: VG_FLOAT_MAX_LEN bytes. */
void rules_format_value(double v, char *out);
/* Go's time.Time as encoding/json writes it in UTC, nanoseconds with
 * trailing zeros trimmed; "0001-01-01T00:00:00Z" for 0. out: 48 bytes. */
void rules_format_time(int64_t ns, char *out);

#endif
