/*
 * alert — vigil's Alertmanager: its configuration, route tree, inhibition,
 * time intervals, and (added later in their own sections) the alert store,
 * dispatcher, silences and notification log.
 *
 * What it does (configuration part): loads alertmanager.yml (the schema of
 * Alertmanager v0.25-v0.34) into an immutable, reference-counted snapshot.
 * Decoding is as strict as Alertmanager's (yaml.v2 UnmarshalStrict): unknown
 * keys, duplicate keys and wrong scalar types are collected and reported
 * together as "yaml: unmarshal errors:\n  line N: ..."; every other check
 * (receivers' required keys, "*_file" and inline both set, defaults
 * inherited from `global`, undefined receivers or time intervals...) stops
 * at the first failure with Alertmanager's own message, so `amtool
 * check-config` users see the same words. The snapshot also holds the
 * resolved route tree (every timing and grouping option inherited down the
 * tree), compiled matchers, inhibition rules and time intervals, with the
 * functions that evaluate them.
 *
 * What it owns: each alert_config_t owns all the memory its fields point to
 * (one arena plus the compiled regexes); everything is const once loaded.
 * Reload = load a new snapshot and swap the pointer; readers keep the old
 * one alive with alert_config_ref().
 *
 * Threads: loading runs on the calling thread and touches no global state
 * (time zones come from the system tz database, read per interval). A loaded
 * snapshot may be read from any number of threads at once; ref/unref are
 * atomic.
 */
#ifndef VG_ALERT_H
#define VG_ALERT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "core/core.h"
#include "labels/labels.h"

/* ==================================================================== */
/* Durable state: silences and the notification log (SQLite)           */
/* ==================================================================== */

/* What it does: keeps Alertmanager 0.25's silences and notification log
 * in memory for fast reads and writes every change through to one SQLite
 * database (docs/format/alertmanager-db.md) before returning, so nothing
 * acknowledged is lost on a crash. Times are ms since the epoch; callers
 * pass `now` so that tests control the clock.
 *
 * Threads: every function below may be called from any thread. Silences
 * and the log each have their own lock (a read-write lock for silences:
 * mutes() and queries share it); the database has its own mutex, always
 * taken after theirs. */

/* One SQLite file holding silences and the notification log. */
typedef struct alert_db alert_db_t;

/* Opens or creates the database at path (WAL journal, synchronous=FULL,
 * schema version checked and created). Returns NULL with err (VG_ERR_IO)
 * when the file cannot be opened, is not vigil's or is from a newer
 * version. The silences and the log opened on it must be freed first. */
alert_db_t *alert_db_open(const char *path, vg_err_t *err);
void alert_db_close(alert_db_t *db);

typedef enum alert_silence_state {
    ALERT_SILENCE_ACTIVE = 0,
    ALERT_SILENCE_PENDING,
    ALERT_SILENCE_EXPIRED,
} alert_silence_state_t;

/* "active", "pending", "expired". */
const char *alert_silence_state_name(alert_silence_state_t st);

#define ALERT_SILENCE_ID_LEN 36
#define ALERT_SILENCE_RETENTION_DEFAULT_MS (120 * 3600 * 1000LL)

/* A silence. As input to alert_silences_set only id ("" for a new one),
 * the matchers (type, name, value; `re` is ignored), starts/ends and the
 * two strings are read. As a query result everything is filled, state is
 * computed at the query's now, the matchers' `re` is NULL, and all memory
 * belongs to the result (alert_silence_clear / alert_silence_list_free). */
typedef struct alert_silence {
    char id[ALERT_SILENCE_ID_LEN + 1];
    struct alert_matcher *matchers; /* alert_matcher_t, declared below */
    size_t n_matchers;
    int64_t starts_at_ms, ends_at_ms, updated_at_ms;
    /* The UTC offsets the two times were given with (seconds east). Only
     * for display: Alertmanager prints a time in the zone it was posted in
     * until a restart, and so does this (they are not stored). */
    int32_t starts_at_offset_s, ends_at_offset_s;
    const char *created_by, *comment;
    alert_silence_state_t state;
    /* Grows with every change: orders changes made within one millisecond
     * (Alertmanager's clock has nanoseconds; sorting ties on it). */
    uint64_t change_seq;
    vg_arena_t *arena; /* result memory (alert_silences_get); NULL in lists */
} alert_silence_t;

typedef struct alert_silence_list {
    alert_silence_t *items;
    size_t n_items;
    vg_arena_t *arena; /* owns items and everything they point to */
} alert_silence_list_t;

typedef struct alert_silences alert_silences_t;

/* Loads the silences stored in db (borrowed; it must outlive the result).
 * retention_ms <= 0 means the default, 120h: how long an expired silence
 * is kept. Returns NULL with err when the table cannot be read; rows that
 * cannot be decoded are logged and skipped. */
alert_silences_t *alert_silences_open(alert_db_t *db, int64_t retention_ms, vg_err_t *err);
void alert_silences_free(alert_silences_t *s);

/* Creates (in->id empty) or updates a silence with Alertmanager's rules
 * (silence.Silences.Set): a new silence gets a UUID v4 and starts no
 * earlier than now; an existing one is changed in place when its matchers
 * are identical and it is pending (start still >= now) or active (start
 * second unchanged, end not before now); otherwise the old one is expired
 * (unless already) and a new one with a new id is created. Validation
 * messages are Alertmanager's: "silence invalid: at least one matcher
 * required", "silence invalid: invalid label matcher 0: invalid label name
 * \"0a\"", "silence invalid: at least one matcher must not match the empty
 * string", "silence invalid: end time must not be before start time"
 * (VG_ERR_INPUT); an unknown id: "silence not found" (VG_ERR_NOTFOUND); a
 * failed write: VG_ERR_IO. Unlike Alertmanager 0.25, an invalid update
 * leaves the old silence alone instead of expiring it before failing.
 * Borrows in; writes the silence's id to out_id (may be NULL). */
int alert_silences_set(alert_silences_t *s, const alert_silence_t *in, int64_t now_ms,
                       char out_id[ALERT_SILENCE_ID_LEN + 1], vg_err_t *err);

/* Expires a silence: an active one ends now, a pending one starts and
 * ends now; an expired one is left as it is and 0 returned (Alertmanager
 * is idempotent here). Unknown id: VG_ERR_NOTFOUND, "silence not found". */
int alert_silences_expire(alert_silences_t *s, const char *id, int64_t now_ms, vg_err_t *err);

/* Copies one silence into out (free with alert_silence_clear). 0 or
 * VG_ERR_NOTFOUND. */
int alert_silences_get(alert_silences_t *s, const char *id, int64_t now_ms, alert_silence_t *out);
void alert_silence_clear(alert_silence_t *sil);

/* Copies every silence, in id order, states computed at now_ms (free with
 * alert_silence_list_free). */
void alert_silences_list(alert_silences_t *s, int64_t now_ms, alert_silence_list_t *out);
void alert_silence_list_free(alert_silence_list_t *l);

/* The silences active at now_ms whose matchers all match ls: writes up to
 * cap ids (sorted) and returns how many there are in all. Allocates
 * nothing; takes the read lock only. */
size_t alert_silences_mutes(alert_silences_t *s, const labels_t *ls, int64_t now_ms,
                            char (*ids)[ALERT_SILENCE_ID_LEN + 1], size_t cap);
/* Same for the silences still pending at now_ms (an alert's status shows
 * them apart). */
size_t alert_silences_pending_for(alert_silences_t *s, const labels_t *ls, int64_t now_ms,
                                  char (*ids)[ALERT_SILENCE_ID_LEN + 1], size_t cap);

/* Increases whenever a silence is added, changed or removed. A caller may
 * cache mutes() answers for a label set while the version is unchanged and
 * now is before alert_silences_next_change(). */
uint64_t alert_silences_version(alert_silences_t *s);
/* The earliest start or end of any silence after now_ms (a state change
 * happens then), INT64_MAX when none. */
int64_t alert_silences_next_change(alert_silences_t *s, int64_t now_ms);

/* How many silences are in each state at now_ms (the alertmanager_silences
 * gauge), indexed by alert_silence_state_t. */
void alert_silences_count(alert_silences_t *s, int64_t now_ms, size_t out[3]);

/* Drops silences that ended at least retention ago (memory and disk).
 * Returns how many; Alertmanager runs this every 15 minutes. */
size_t alert_silences_gc(alert_silences_t *s, int64_t now_ms);

/* The notification log: one entry per (receiver key, group key), as
 * Alertmanager's nflogpb.Entry. The receiver key is "<receiver
 * name>/<integration name>/<index>" (e.g. "team-x/webhook/0"). */
typedef struct alert_nflog alert_nflog_t;

typedef struct alert_nflog_entry {
    int64_t timestamp_ms, expires_at_ms;
    uint64_t *firing; /* alert hashes, as logged */
    size_t n_firing;
    uint64_t *resolved;
    size_t n_resolved;
} alert_nflog_entry_t;

/* Loads the stored entries, expired ones dropped (db borrowed).
 * retention_ms <= 0: 120h. */
alert_nflog_t *alert_nflog_open(alert_db_t *db, int64_t retention_ms, vg_err_t *err);
void alert_nflog_free(alert_nflog_t *l);

/* Copies the entry into out (free with alert_nflog_entry_free). 0 or
 * VG_ERR_NOTFOUND. */
int alert_nflog_query(alert_nflog_t *l, const char *receiver_key, const char *group_key,
                      alert_nflog_entry_t *out);
void alert_nflog_entry_free(alert_nflog_entry_t *e);

/* Records a successful notification (arrays copied). The entry expires
 * at now + retention. An entry whose stored timestamp is after now is kept
 * (0 returned), as Alertmanager does. Durable when it returns 0; VG_ERR_IO
 * otherwise, with the previous entry still in force. */
int alert_nflog_log(alert_nflog_t *l, const char *receiver_key, const char *group_key,
                    const uint64_t *firing, size_t n_firing, const uint64_t *resolved,
                    size_t n_resolved, int64_t now_ms, vg_err_t *err);
/* Same with Alertmanager 0.25's expiry argument: the entry expires at
 * now + expiry_ms when 0 < expiry_ms < retention (its notify stage passes
 * twice the route's repeat_interval). */
int alert_nflog_log_expiry(alert_nflog_t *l, const char *receiver_key, const char *group_key,
                           const uint64_t *firing, size_t n_firing, const uint64_t *resolved,
                           size_t n_resolved, int64_t expiry_ms, int64_t now_ms, vg_err_t *err);

/* Drops entries whose expiry is not after now. Returns how many. */
size_t alert_nflog_gc(alert_nflog_t *l, int64_t now_ms);
size_t alert_nflog_len(alert_nflog_t *l);

/* ==================================================================== */
/* Configuration, routing, inhibition and time intervals                */
/* ==================================================================== */

/* Input bounds: a larger or deeper file is rejected with VG_ERR_LIMIT. */
#define ALERT_CONFIG_MAX_FILE_BYTES (16u * 1024 * 1024)
#define ALERT_CONFIG_MAX_DEPTH 128
#define ALERT_CONFIG_MAX_NODES 1000000u
#define ALERT_CONFIG_MAX_VISITS 4000000u

/* Every list below is a pointer `x` with its count `n_x` right after it.
 * Strings are never NULL unless the comment says so ("" = not set). */

/* ------------------------------------------------------------- matchers */

typedef enum alert_match_type {
    ALERT_MATCH_EQUAL = 0, /* = */
    ALERT_MATCH_NOT_EQUAL, /* != */
    ALERT_MATCH_REGEXP,    /* =~ anchored: ^(?:RE)$ */
    ALERT_MATCH_NOT_REGEXP /* !~ */
} alert_match_type_t;

/* One label matcher as Alertmanager's labels.Matcher: an absent label
 * matches as "". Regexes are anchored at both ends and, as in Go's RE2
 * without flags, '.' does not match a newline. */
typedef struct alert_matcher {
    alert_match_type_t type;
    const char *name;
    const char *value;
    const labels_regex_t *re; /* regex types only */
} alert_matcher_t;

/* A parsed matcher list with its own memory (for the API and the CLI). */
typedef struct alert_matcher_set {
    alert_matcher_t *matchers;
    size_t n_matchers;
    struct alert_matcher_set_priv *priv;
} alert_matcher_set_t;

/* Parses a matcher list the way Alertmanager 0.27+ does by default
 * ("fallback" mode): `{a="b", c=~"d.*"}`, `a=b,c!=d`, with or without
 * braces, values quoted or not. The classic parser's result wins whenever it
 * succeeds; otherwise the UTF-8 parser's (quoted names like "a.b"="x");
 * when both fail the classic parser's message is returned ("bad matcher
 * format: ..."). Returns a new set (the caller frees it) or NULL with err. */
alert_matcher_set_t *alert_matcher_set_parse(const char *s, size_t len, vg_err_t *err);
void alert_matcher_set_free(alert_matcher_set_t *set);

/* Whether every matcher matches ls (absent labels match as ""). */
bool alert_matchers_match(const alert_matcher_t *ms, size_t n, const labels_t *ls);
bool alert_matcher_match_value(const alert_matcher_t *m, const char *value, size_t len);
/* Appends Matchers.String(): {a="b",c=~"d"} (names quoted when they hold
 * reserved characters, values escaped as OpenMetrics does). */
void alert_matchers_format(const alert_matcher_t *ms, size_t n, vg_buf_t *out);

/* --------------------------------------------------------- time intervals */

typedef struct alert_range {
    int begin, end; /* inclusive */
} alert_range_t;

/* One entry of a time interval's time_intervals list. Every list that is
 * absent (has_x false) matches everything. */
typedef struct alert_time_spec {
    alert_range_t *times; /* minutes of the day, [begin, end) */
    size_t n_times;
    alert_range_t *weekdays; /* 0 = sunday .. 6 */
    size_t n_weekdays;
    alert_range_t *days_of_month; /* 1..31 or -31..-1 (from the month's end) */
    size_t n_days_of_month;
    alert_range_t *months; /* 1..12 */
    size_t n_months;
    alert_range_t *years;
    size_t n_years;
    bool has_times, has_weekdays, has_days_of_month, has_months, has_years;
    const char *location;      /* "" = UTC; "Local" or an IANA name */
    const struct alert_tz *tz; /* the location's rules (NULL = UTC) */
} alert_time_spec_t;

typedef struct alert_time_interval {
    const char *name;
    alert_time_spec_t *specs;
    size_t n_specs;
    bool from_mute_time_intervals; /* declared under the deprecated key */
} alert_time_interval_t;

/* Whether the instant t (ms since the epoch) falls inside spec, evaluated
 * in its location through the system tz database (TZ rules as of t). */
bool alert_time_spec_contains(const alert_time_spec_t *spec, int64_t t_ms);
/* Whether t falls inside any spec of the interval (an interval with no
 * specs contains nothing). */
bool alert_time_interval_contains(const alert_time_interval_t *ti, int64_t t_ms);

/* ----------------------------------------------------------- route tree */

/* The resolved route tree, as Alertmanager's dispatch.Route: each node
 * carries its options with everything inherited from its parents already
 * applied. */
typedef struct alert_route {
    const struct alert_route *parent; /* NULL for the root */
    const char *receiver;             /* inherited when the node has none */
    const char **group_by;            /* sorted, unique; inherited unless set */
    size_t n_group_by;
    bool group_by_all;          /* group_by: ['...'] */
    int64_t group_wait_ms;      /* default 30s, inherited */
    int64_t group_interval_ms;  /* default 5m, inherited */
    int64_t repeat_interval_ms; /* default 4h, inherited */
    alert_matcher_t *matchers;  /* match + match_re + matchers, sorted */
    size_t n_matchers;
    const char **mute_time_intervals; /* this node's own (not inherited) */
    size_t n_mute_time_intervals;
    const char **active_time_intervals;
    size_t n_active_time_intervals;
    config_label_t *labels; /* route labels, merged with the parents' */
    size_t n_labels;
    bool cont; /* continue: */
    struct alert_route *routes;
    size_t n_routes;
    size_t idx;                        /* post-order index, as Alertmanager's Route.Idx */
    unsigned line;                     /* where the route starts in the file (0: none) */
    const struct alert_route_raw *src; /* the node as written (module-internal) */
} alert_route_t;

/* Routes the label set: the matching routes in tree order, honouring
 * `continue` (Alertmanager's Route.Match). Writes up to cap pointers
 * (borrowed from the tree) to out and returns how many matched in all; the
 * root always matches, so the result is at least 1. A cap of
 * alert_config_t.n_routes is always enough. */
size_t alert_route_match(const alert_route_t *root, const labels_t *ls, const alert_route_t **out,
                         size_t cap);
/* Appends Route.Key(): the matchers of the path from the root, e.g.
 * {}/{service="db"}/{severity="critical"}. */
void alert_route_key(const alert_route_t *r, vg_buf_t *out);
/* Appends Route.ID(): the key with each node's position among its
 * siblings, e.g. {}/{service="db"}/0 — unique even for equal matchers. */
void alert_route_id(const alert_route_t *r, vg_buf_t *out);
/* The labels an alert is grouped by on this route: all of them with
 * group_by_all, else those of group_by it has. Returns a new set. */
labels_t *alert_route_group_labels(const alert_route_t *r, const labels_t *ls);
/* Appends the aggregation group's key, "<route key>:<group labels>", e.g.
 * {}/{a="b"}:{alertname="X"} (model.LabelSet.String form, sorted). */
void alert_route_group_key(const alert_route_t *r, const labels_t *group_labels, vg_buf_t *out);

/* ------------------------------------------------------------ inhibition */

typedef struct alert_inhibit_rule {
    const char *name;                 /* "" when unnamed */
    alert_matcher_t *source_matchers; /* source_match + source_match_re + source_matchers */
    size_t n_source_matchers;
    alert_matcher_t *target_matchers;
    size_t n_target_matchers;
    const char **equal; /* as written (duplicates removed) */
    size_t n_equal;
    const struct alert_inhibit_raw *src; /* the rule as written (module-internal) */
} alert_inhibit_rule_t;

/* Whether the rule mutes `target` given the firing source alerts
 * (Alertmanager's InhibitRule): the target matches the target matchers, and
 * some source matches the source matchers and agrees with the target on
 * every `equal` label (an absent label counts as "", so a label missing on
 * both sides is equal, missing on one side differs). When the target also
 * matches the source matchers, sources that also match the target matchers
 * are skipped, so an alert never inhibits itself or its twin. Writes the
 * index of the inhibiting source to out_source (may be NULL). */
/* The same in two steps, for callers that keep their own index of source
 * alerts: whether target is a target of the rule (*two_sided: it also
 * matches the source matchers), then whether one source — already known to
 * match the source matchers — mutes it. */
bool alert_inhibit_rule_targets(const alert_inhibit_rule_t *rule, const labels_t *target,
                                bool *two_sided);
bool alert_inhibit_source_mutes(const alert_inhibit_rule_t *rule, const labels_t *source,
                                const labels_t *target, bool two_sided);
bool alert_inhibit_rule_mutes(const alert_inhibit_rule_t *rule, const labels_t *const *sources,
                              size_t n_sources, const labels_t *target, size_t *out_source);
/* Any rule of the list: Alertmanager's Inhibitor.Mutes. */
bool alert_inhibit_mutes(const alert_inhibit_rule_t *rules, size_t n_rules,
                         const labels_t *const *sources, size_t n_sources, const labels_t *target);

/* ------------------------------------------------------ receiver configs */

/* A pointer bool of Go: unset, false or true. */
typedef enum alert_tribool { ALERT_UNSET = -1, ALERT_FALSE = 0, ALERT_TRUE = 1 } alert_tribool_t;

/* Fields common to all integrations. http_config is the integration's own
 * or, when absent, global.http_config (never NULL after loading, except for
 * e-mail, which has none). */
typedef struct alert_notifier_base {
    bool send_resolved;
    const config_http_client_t *http_config;
    unsigned line;
} alert_notifier_base_t;

typedef struct alert_email_config {
    alert_notifier_base_t base;
    const char *to, *from, *hello, *smarthost; /* smarthost "host:port" */
    const char *auth_username, *auth_password, *auth_password_file;
    const char *auth_secret, *auth_secret_file, *auth_identity;
    config_pair_t *headers; /* names canonicalised (Subject, To, ...) */
    size_t n_headers;
    const char *html, *text;
    bool require_tls;
    alert_tribool_t force_implicit_tls;
    const config_tls_t *tls_config;
    bool threading_enabled;
    const char *threading_thread_by_date;
} alert_email_config_t;

typedef struct alert_slack_field {
    const char *title, *value;
    alert_tribool_t short_;
} alert_slack_field_t;

typedef struct alert_slack_action {
    const char *type, *text, *url, *style, *name, *value;
    bool has_confirm;
    const char *confirm_text, *confirm_title, *confirm_ok_text, *confirm_dismiss_text;
} alert_slack_action_t;

typedef struct alert_slack_config {
    alert_notifier_base_t base;
    const char *api_url, *api_url_file, *app_token, *app_token_file, *app_url;
    const char *channel, *username, *color, *title, *title_link, *pretext, *text, *message_text;
    alert_slack_field_t *fields;
    size_t n_fields;
    bool short_fields;
    const char *footer, *fallback, *callback_id, *icon_emoji, *icon_url, *image_url, *thumb_url;
    bool link_names;
    const char **mrkdwn_in;
    size_t n_mrkdwn_in;
    alert_slack_action_t *actions;
    size_t n_actions;
    bool update_message;
    int64_t timeout_ms;
} alert_slack_config_t;

typedef struct alert_pagerduty_link {
    const char *href, *text;
} alert_pagerduty_link_t;

typedef struct alert_pagerduty_image {
    const char *src, *alt, *href;
} alert_pagerduty_image_t;

typedef struct alert_pagerduty_config {
    alert_notifier_base_t base;
    const char *service_key, *service_key_file, *routing_key, *routing_key_file;
    const char *url; /* default global.pagerduty_url */
    const char *client, *client_url, *description;
    config_pair_t *details; /* string values; the four defaults added */
    size_t n_details;
    alert_pagerduty_image_t *images;
    size_t n_images;
    alert_pagerduty_link_t *links;
    size_t n_links;
    const char *source, *severity, *class_, *component, *group;
    int64_t timeout_ms;
} alert_pagerduty_config_t;

typedef struct alert_webhook_config {
    alert_notifier_base_t base;
    const char *url, *url_file;
    uint64_t max_alerts;
    int64_t timeout_ms;
} alert_webhook_config_t;

typedef struct alert_opsgenie_responder {
    const char *id, *name, *username, *type;
} alert_opsgenie_responder_t;

typedef struct alert_opsgenie_config {
    alert_notifier_base_t base;
    const char *api_key, *api_key_file, *api_url;
    const char *message, *description, *source;
    config_pair_t *details;
    size_t n_details;
    const char *entity;
    alert_opsgenie_responder_t *responders;
    size_t n_responders;
    const char *actions, *tags, *note, *priority;
    bool update_alerts;
} alert_opsgenie_config_t;

typedef struct alert_wechat_config {
    alert_notifier_base_t base;
    const char *api_secret, *api_secret_file, *corp_id, *message, *api_url;
    const char *to_user, *to_party, *to_tag, *agent_id, *message_type;
} alert_wechat_config_t;

typedef struct alert_pushover_config {
    alert_notifier_base_t base;
    const char *user_key, *user_key_file, *token, *token_file;
    const char *title, *message, *url, *url_title, *device, *sound, *priority;
    int64_t retry_ms, expire_ms, ttl_ms;
    bool html, monospace;
} alert_pushover_config_t;

typedef struct alert_victorops_config {
    alert_notifier_base_t base;
    const char *api_key, *api_key_file, *api_url, *routing_key, *message_type;
    const char *state_message, *entity_display_name, *monitoring_tool;
    config_pair_t *custom_fields;
    size_t n_custom_fields;
} alert_victorops_config_t;

typedef struct alert_sigv4 {
    const char *region, *access_key, *secret_key, *profile, *role_arn, *external_id;
    bool use_fips_sts_endpoint;
} alert_sigv4_t;

typedef struct alert_sns_config {
    alert_notifier_base_t base;
    const char *api_url;
    alert_sigv4_t sigv4;
    const char *topic_arn, *phone_number, *target_arn, *subject, *message;
    config_pair_t *attributes;
    size_t n_attributes;
    bool use_aws_http_client;
} alert_sns_config_t;

typedef struct alert_telegram_config {
    alert_notifier_base_t base;
    const char *api_url, *bot_token, *bot_token_file;
    int64_t chat_id;
    const char *chat_id_file;
    int64_t message_thread_id;
    const char *message;
    bool disable_notifications;
    const char *parse_mode;
} alert_telegram_config_t;

typedef struct alert_webex_config {
    alert_notifier_base_t base;
    const char *api_url, *message, *room_id;
} alert_webex_config_t;

typedef struct alert_discord_config {
    alert_notifier_base_t base;
    const char *webhook_url, *webhook_url_file, *content, *title, *message, *username, *avatar_url;
} alert_discord_config_t;

/* msteams_configs and msteamsv2_configs (summary is msteams only). */
typedef struct alert_msteams_config {
    alert_notifier_base_t base;
    const char *webhook_url, *webhook_url_file, *title, *summary, *text;
} alert_msteams_config_t;

typedef struct alert_jira_field {
    const char *template_;
    alert_tribool_t enable_update;
} alert_jira_field_t;

typedef struct alert_jira_config {
    alert_notifier_base_t base;
    const char *api_url, *api_type, *project;
    alert_jira_field_t summary, description;
    const char **labels;
    size_t n_labels;
    const char *priority, *issue_type, *reopen_transition, *resolve_transition;
    const char *wont_fix_resolution;
    int64_t reopen_duration_ms;
    unsigned fields_line; /* `fields:` (free-form) is kept in the YAML only */
} alert_jira_config_t;

typedef struct alert_chat_field {
    const char *title, *value;
    alert_tribool_t short_;
} alert_chat_field_t;

typedef struct alert_rocketchat_action {
    const char *type, *text, *url, *image_url, *webview_height_ratio, *msg, *msg_processing_type;
    bool is_webview, msg_in_chat_window;
} alert_rocketchat_action_t;

typedef struct alert_rocketchat_config {
    alert_notifier_base_t base;
    const char *api_url, *token_id, *token_id_file, *token, *token_file;
    const char *channel, *color, *title, *title_link, *text;
    alert_chat_field_t *fields;
    size_t n_fields;
    bool short_fields;
    const char *emoji, *icon_url, *image_url, *thumb_url;
    bool link_names;
    alert_rocketchat_action_t *actions;
    size_t n_actions;
} alert_rocketchat_config_t;

typedef struct alert_incidentio_config {
    alert_notifier_base_t base;
    const char *url, *url_file, *alert_source_token, *alert_source_token_file;
    uint64_t max_alerts;
    int64_t timeout_ms;
} alert_incidentio_config_t;

typedef struct alert_mattermost_attachment {
    const char *fallback, *color, *pretext, *text, *author_name, *author_link, *author_icon;
    const char *title, *title_link, *thumb_url, *footer, *footer_icon, *image_url;
    alert_chat_field_t *fields;
    size_t n_fields;
} alert_mattermost_attachment_t;

typedef struct alert_mattermost_config {
    alert_notifier_base_t base;
    const char *webhook_url, *webhook_url_file, *channel, *username;
    const char *text, *fallback, *color, *pretext, *author_name, *author_link, *author_icon;
    const char *title, *title_link, *thumb_url, *footer, *footer_icon, *image_url;
    const char *icon_url, *icon_emoji, *type;
    alert_chat_field_t *fields;
    size_t n_fields;
    alert_mattermost_attachment_t *attachments;
    size_t n_attachments;
    const char *props_card; /* NULL: no props */
    bool has_priority;
    const char *priority;
    bool priority_requested_ack, priority_persistent_notifications;
} alert_mattermost_config_t;

typedef struct alert_receiver {
    const char *name;
    config_pair_t *labels; /* includes name=<name>, as Alertmanager adds it */
    size_t n_labels;
    alert_discord_config_t *discord_configs;
    size_t n_discord_configs;
    alert_email_config_t *email_configs;
    size_t n_email_configs;
    alert_incidentio_config_t *incidentio_configs;
    size_t n_incidentio_configs;
    alert_pagerduty_config_t *pagerduty_configs;
    size_t n_pagerduty_configs;
    alert_slack_config_t *slack_configs;
    size_t n_slack_configs;
    alert_webhook_config_t *webhook_configs;
    size_t n_webhook_configs;
    alert_opsgenie_config_t *opsgenie_configs;
    size_t n_opsgenie_configs;
    alert_wechat_config_t *wechat_configs;
    size_t n_wechat_configs;
    alert_pushover_config_t *pushover_configs;
    size_t n_pushover_configs;
    alert_victorops_config_t *victorops_configs;
    size_t n_victorops_configs;
    alert_sns_config_t *sns_configs;
    size_t n_sns_configs;
    alert_telegram_config_t *telegram_configs;
    size_t n_telegram_configs;
    alert_webex_config_t *webex_configs;
    size_t n_webex_configs;
    alert_msteams_config_t *msteams_configs;
    size_t n_msteams_configs;
    alert_msteams_config_t *msteamsv2_configs;
    size_t n_msteamsv2_configs;
    alert_jira_config_t *jira_configs;
    size_t n_jira_configs;
    alert_rocketchat_config_t *rocketchat_configs;
    size_t n_rocketchat_configs;
    alert_mattermost_config_t *mattermost_configs;
    size_t n_mattermost_configs;
    unsigned line;
} alert_receiver_t;

/* ---------------------------------------------------------------- global */

typedef struct alert_global {
    int64_t resolve_timeout_ms; /* default 5m */
    const config_http_client_t *http_config;
    const char *smtp_from, *smtp_hello, *smtp_smarthost; /* hello default "localhost" */
    const char *smtp_auth_username, *smtp_auth_password, *smtp_auth_password_file;
    const char *smtp_auth_secret, *smtp_auth_secret_file, *smtp_auth_identity;
    bool smtp_require_tls; /* default true */
    const config_tls_t *smtp_tls_config;
    alert_tribool_t smtp_force_implicit_tls;
    /* URLs are NULL when not set and without a default. */
    const char *slack_api_url, *slack_api_url_file, *slack_app_token, *slack_app_token_file;
    const char *slack_app_url;
    const char *pagerduty_url, *opsgenie_api_url, *opsgenie_api_key, *opsgenie_api_key_file;
    const char *wechat_api_url, *wechat_api_secret, *wechat_api_secret_file, *wechat_api_corp_id;
    const char *victorops_api_url, *victorops_api_key, *victorops_api_key_file;
    const char *telegram_api_url, *telegram_bot_token, *telegram_bot_token_file;
    const char *webex_api_url, *jira_api_url;
    const char *rocketchat_api_url, *rocketchat_token, *rocketchat_token_file;
    const char *rocketchat_token_id, *rocketchat_token_id_file;
    const char *mattermost_webhook_url, *mattermost_webhook_url_file;
} alert_global_t;

/* ------------------------------------------------------------ the config */

typedef struct alert_config {
    const char *path;     /* as given to the loader */
    const char *original; /* the file's text (what /api/v2/status returns) */
    alert_global_t global;
    bool has_global;        /* the file has a global: section */
    const char **templates; /* globs, made absolute against the file's dir */
    size_t n_templates;
    alert_route_t *route; /* the resolved tree (never NULL) */
    size_t n_routes;      /* nodes in the tree */
    alert_inhibit_rule_t *inhibit_rules;
    size_t n_inhibit_rules;
    alert_receiver_t *receivers;
    size_t n_receivers;
    /* time_intervals then the deprecated mute_time_intervals, file order. */
    alert_time_interval_t *time_intervals;
    size_t n_time_intervals;
    /* private below: use the functions */
    struct alert_config_priv *priv;
} alert_config_t;

/* Loads and validates an Alertmanager configuration file. Returns a
 * snapshot with one reference (the caller's) or NULL with err set to
 * Alertmanager's message. Relative template globs and *_file paths are
 * resolved against the file's directory, as Alertmanager's LoadFile. */
alert_config_t *alert_config_load_file(const char *path, vg_err_t *err);
/* Same from memory (need not be NUL-terminated); `name` is for messages,
 * relative paths stay relative. */
alert_config_t *alert_config_load_string(const char *yaml, size_t len, const char *name,
                                         vg_err_t *err);
alert_config_t *alert_config_ref(alert_config_t *c);
void alert_config_unref(alert_config_t *c);
/* Appends the configuration as Alertmanager 0.25 serves it in GET
 * /api/v2/status's config.original (`amtool config show`): the parsed
 * config marshalled back by yaml.v2, defaults filled in, secrets printed as
 * <secret>. Borrows c. */
void alert_config_marshal(const alert_config_t *c, vg_buf_t *out);

/* Lookups by name; NULL when absent. Borrowed from c. */
const alert_receiver_t *alert_config_receiver(const alert_config_t *c, const char *name);
const alert_time_interval_t *alert_config_time_interval(const alert_config_t *c, const char *name);

/* Whether the route is muted at t (any of its mute_time_intervals contains
 * t) or inactive (it has active_time_intervals and none contains t), as the
 * notification pipeline's time-mute stages decide. */
bool alert_config_route_muted(const alert_config_t *c, const alert_route_t *r, int64_t t_ms);

/* `amtool config routes test`: the receivers the label set is routed to,
 * in tree order (duplicates kept, as amtool prints them). Writes up to cap
 * names (borrowed from c) and returns how many there are. */
size_t alert_config_routes_test(const alert_config_t *c, const labels_t *ls, const char **out,
                                size_t cap);

/* Whether a YAML text looks like an Alertmanager configuration: a mapping
 * with `route:` or `receivers:` at the top level and no `scrape_configs:`
 * (lets `vigil check config` pick the right checker). */
bool alert_config_sniff(const char *yaml, size_t len);

/* What `amtool check-config FILE...` does, with its output on out ("Checking
 * 'F'  SUCCESS", the "Found:" summary, template globs checked) and
 * "amtool: error: failed to validate N file(s)" on err_out (prefixed with
 * `prog` instead of amtool). Returns the exit status: 0 or 1. */
int alert_config_check_files(const char *const *paths, size_t n_paths, const char *prog, FILE *out,
                             FILE *err_out);

/* ==================================================================== */
/* The Alertmanager: alerts, aggregation groups, notification pipeline  */
/* ==================================================================== */

/* One alert as the store holds it (Alertmanager's types.Alert). Immutable
 * once published and reference-counted: an update makes a new one, and
 * whoever holds the old one (a group being flushed, an API answer) keeps
 * it alive. Times are ns since the epoch; VG_TIME_GO_ZERO is Go's zero. */
typedef struct alert_alert {
    labels_t *labels;
    labels_t *annotations;
    int64_t starts_at_ns, ends_at_ns, updated_at_ns;
    char *generator_url; /* never NULL */
    bool timeout;        /* ends_at was made up from resolve_timeout */
    uint64_t fp;         /* alert_fingerprint(labels) */
    _Atomic uint32_t refs;
} alert_alert_t;

/* What a sender gives: everything borrowed. starts/ends 0 when unset. */
typedef struct alert_input {
    const labels_t *labels;
    const labels_t *annotations; /* NULL: none */
    int64_t starts_at_ns, ends_at_ns;
    const char *generator_url; /* NULL: "" */
} alert_input_t;

/* Prometheus's model.LabelSet.Fingerprint: FNV-1a 64 over name 0xff value
 * 0xff of the sorted labels (the hex of it is the API's "fingerprint"). */
uint64_t alert_fingerprint(const labels_t *ls);
void alert_alert_ref(alert_alert_t *a);
void alert_alert_unref(alert_alert_t *a);
/* Resolved at t: ends_at set and not after t (types.Alert.ResolvedAt). */
bool alert_alert_resolved_at(const alert_alert_t *a, int64_t t_ns);

typedef struct alert_manager alert_manager_t;

typedef struct alert_manager_opts {
    const char *storage_dir;  /* silences and notification log: <dir>/alertmanager.db */
    const char *external_url; /* links in notifications ("http://host:9093") */
    int64_t retention_ms;     /* of expired silences and log entries; 0: 120h */
    unsigned n_workers;       /* notification threads; 0: 16 */
} alert_manager_opts_t;

/* Opens the durable state and starts the dispatcher with no
 * configuration (alerts are accepted and stored; nothing is routed until
 * alert_manager_apply). NULL with err when the database cannot be opened. */
alert_manager_t *alert_manager_new(const alert_manager_opts_t *opts, vg_err_t *err);
/* Puts cfg (takes a reference) in force, with its notification templates.
 * As Alertmanager's reload, every aggregation group restarts from the
 * alerts in the store; the notification log keeps receivers from hearing
 * twice. On error (a template fails to parse) the old one stays. */
int alert_manager_apply(alert_manager_t *m, alert_config_t *cfg, vg_err_t *err);
/* The configuration in force (a new reference) or NULL. */
alert_config_t *alert_manager_config(alert_manager_t *m);
/* Accepts alerts as POST /api/v2/alerts does: missing startsAt is now,
 * missing endsAt is now + resolve_timeout (marked timeout), each merged
 * with the stored alert of the same fingerprint. Invalid alerts are skipped
 * and reported in err ("start time must be before end time"...) while the
 * valid ones are kept, as Alertmanager answers 400 after storing them.
 * Returns 0 or VG_ERR_INPUT. */
int alert_manager_put(alert_manager_t *m, const alert_input_t *in, size_t n, int64_t now_ns,
                      vg_err_t *err);
/* The silences, for the API (borrowed; lives as long as m). */
struct alert_silences *alert_manager_silences(alert_manager_t *m);
/* Started; external_url as given. */
const char *alert_manager_external_url(const alert_manager_t *m);
int64_t alert_manager_start_time_ns(const alert_manager_t *m);

/* An alert with its status now, for GET /api/v2/alerts and groups. */
typedef struct alert_view {
    alert_alert_t *alert; /* a reference */
    bool suppressed;
    char (*silenced_by)[37];
    size_t n_silenced_by;
    uint64_t *inhibited_by; /* fingerprints */
    size_t n_inhibited_by;
    const char **receivers; /* borrowed from the config the view holds */
    size_t n_receivers;
} alert_view_t;

typedef struct alert_group_view {
    labels_t *labels;
    const char *receiver;
    alert_view_t *alerts;
    size_t n_alerts;
} alert_group_view_t;

typedef struct alert_views {
    alert_view_t *alerts;
    size_t n_alerts;
    alert_group_view_t *groups;
    size_t n_groups;
    alert_config_t *config; /* reference that keeps the strings alive */
} alert_views_t;

/* Every alert not resolved at now (sorted by fingerprint), with its
 * status. Returns 0 and fills out; free with alert_views_free. */
int alert_manager_list_alerts(alert_manager_t *m, int64_t now_ns, alert_views_t *out);
/* Every aggregation group with its alerts not resolved at now, in
 * Alertmanager's order (by receiver, then group labels). */
int alert_manager_list_groups(alert_manager_t *m, int64_t now_ns, alert_views_t *out);
void alert_views_free(alert_views_t *v);

/* alertmanager_* metrics (alerts by state, received/invalid counters,
 * aggregation groups, notifications, silences, nflog) in the text format. */
struct expfmt_writer;
void alert_manager_write_metrics(alert_manager_t *m, struct expfmt_writer *w);

/* Stops the dispatcher (a notification in flight is finished or given up
 * within its timeout), closes the database, frees everything. */
void alert_manager_free(alert_manager_t *m);

#endif
