/* Shared inside the alert module only: the table-driven decoder over
 * ytree's nodes with yaml.v2's error behaviour, and the helpers the
 * configuration files share (matcher parsing into an arena, URL checks). */
#ifndef VG_ALERT_INT_H
#define VG_ALERT_INT_H

#include "alert/alert.h"
#include "ytree/ytree.h"

/* -------------------------------------------------------------- decoder */

/* Results of decoding one value, as yaml.v2 behaves: a type error (unknown
 * field, wrong scalar) is recorded and decoding goes on with the siblings,
 * but the enclosing structs skip their own checks; any other error stops
 * everything. */
#define ALERT_DEC_OK 0
#define ALERT_DEC_TERR 1
#define ALERT_DEC_FATAL (-1)

typedef struct alert_dec {
    vg_arena_t *arena;
    vg_err_t *err;
    const char *dir; /* base of relative paths; "" for none */
    vg_buf_t terrs;  /* "\n  line N: ..." for each type error */
    size_t n_terrs;
    size_t visits_left;
    labels_regex_t **regs; /* compiled regexes the config owns */
    size_t n_regs, cap_regs;
} alert_dec_t;

typedef enum alert_fkind {
    ALERT_F_STR = 0, /* const char *: any scalar; null = "" */
    ALERT_F_PATH,    /* const char *: a file name, joined with the file's directory */
    ALERT_F_PSTR,    /* const char *: NULL when absent or null (Go *string) */
    ALERT_F_BOOL,    /* bool */
    ALERT_F_TRI,     /* alert_tribool_t (Go *bool) */
    ALERT_F_MDUR,    /* int64_t ms: model.Duration ("1h30m", "1d") */
    ALERT_F_PMDUR,   /* int64_t ms, -1 when absent (Go *model.Duration) */
    ALERT_F_GODUR,   /* int64_t ms: time.Duration (string or integer ns) */
    ALERT_F_TEXTDUR, /* int64_t ms: a TextUnmarshaler over time.ParseDuration */
    ALERT_F_UINT,    /* uint64_t */
    ALERT_F_INT,     /* int64_t */
    ALERT_F_URL,     /* const char *, NULL absent: http(s) URL with a host */
    ALERT_F_SURL,    /* same, and "<secret>" is accepted (SecretURL) */
    ALERT_F_TURL,    /* const char *, "" absent: a URL unless it holds {{ }} */
    ALERT_F_PURL,    /* const char *: anything url.Parse takes (proxy_url) */
    ALERT_F_HOSTPORT,
    ALERT_F_PAIRS,   /* config_pair_t *, size_t: map[string]string, file order */
    ALERT_F_STRLIST, /* const char **, size_t; an empty sequence gives a non-NULL pointer */
    ALERT_F_STRUCT,  /* embedded struct of `type` */
    ALERT_F_PSTRUCT, /* const T *, NULL when absent */
    ALERT_F_LIST,    /* T *, size_t: sequence of `type` */
    ALERT_F_INLINE,  /* `type`'s keys are accepted at this level */
    ALERT_F_ANY,     /* accepted, kept only in the YAML (payload, details of any type) */
    ALERT_F_CUSTOM,  /* `custom` decodes it */
} alert_fkind_t;

typedef int (*alert_custom_fn)(alert_dec_t *d, const ytree_node_t *n, void *dst);

struct alert_type;
typedef struct alert_field {
    const char *name;
    alert_fkind_t kind;
    size_t off;
    const struct alert_type *type;
    alert_custom_fn custom;
    const char *null_item_msg; /* ALERT_F_LIST: fatal message for a null item */
    const char *go;            /* Go type in type errors when not the kind's own */
} alert_field_t;

typedef struct alert_type {
    const char *go_name; /* for messages: "config.plain" */
    size_t size;
    const alert_field_t *fields; /* ends with a {NULL} entry */
    void (*init)(void *obj);     /* defaults (Alertmanager's Default*Config) */
    /* Runs once the struct decoded without type errors (UnmarshalYAML's
     * checks); returns ALERT_DEC_OK or ALERT_DEC_FATAL. */
    int (*validate)(alert_dec_t *d, const ytree_node_t *map, void *obj);
} alert_type_t;

/* Records a fatal error (Alertmanager's message). Returns ALERT_DEC_FATAL. */
int alert_dec_fatal(alert_dec_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records a type error "line N: ..." and returns ALERT_DEC_TERR. */
int alert_dec_terr(alert_dec_t *d, const ytree_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "cannot unmarshal !!str `abc` into T". */
int alert_dec_type_error(alert_dec_t *d, const ytree_node_t *n, const char *go_type);

/* Decodes a struct node into obj (initialised by the caller with
 * alert_dec_init). */
int alert_dec_struct(alert_dec_t *d, const alert_type_t *t, const ytree_node_t *n, void *obj);
void alert_dec_init(const alert_type_t *t, void *obj);
/* A scalar as a Go string (any scalar; null = ""). */
int alert_dec_string(alert_dec_t *d, const ytree_node_t *n, const char **out);
/* Keeps a compiled regex alive as long as the config. */
void alert_dec_keep_regex(alert_dec_t *d, labels_regex_t *re);
void *alert_dec_zalloc(alert_dec_t *d, size_t n);
/* p joined with the file's directory when relative (arena or p itself). */
const char *alert_dec_path(alert_dec_t *d, const char *p);
char *alert_dec_strdup(alert_dec_t *d, const char *s, size_t n);

/* The route tree and inhibition rules as the file wrote them (decoded by
 * config_schema.c, kept in the config's arena): the resolved structs point
 * at them (`src`) so that marshal.c can print the configuration back. */
typedef struct alert_re_pair {
    const char *name;
    const char *value; /* NULL: null in YAML */
    labels_regex_t *re;
} alert_re_pair_t;

typedef struct alert_route_raw {
    const char *receiver;
    const char **group_by;
    size_t n_group_by;
    config_pair_t *match;
    size_t n_match;
    alert_re_pair_t *match_re;
    size_t n_match_re;
    alert_matcher_t *matchers;
    size_t n_matchers;
    const char **mute_time_intervals;
    size_t n_mute_time_intervals;
    const char **active_time_intervals;
    size_t n_active_time_intervals;
    bool cont;
    struct alert_route_raw *routes;
    size_t n_routes;
    int64_t group_wait, group_interval, repeat_interval; /* -1: not set */
    config_pair_t *labels;
    size_t n_labels;
    bool group_by_all;
    unsigned line;
} alert_route_raw_t;

typedef struct alert_inhibit_raw {
    const char *name;
    config_pair_t *source_match;
    size_t n_source_match;
    alert_re_pair_t *source_match_re;
    size_t n_source_match_re;
    alert_matcher_t *source_matchers;
    size_t n_source_matchers;
    config_pair_t *target_match;
    size_t n_target_match;
    alert_re_pair_t *target_match_re;
    size_t n_target_match_re;
    alert_matcher_t *target_matchers;
    size_t n_target_matchers;
    const char **equal;
    size_t n_equal;
} alert_inhibit_raw_t;

/* -------------------------------------------------------------- helpers */

/* Alertmanager's URL check (config/common ParseURL): http or https with a
 * host. On failure writes Go's message to why. */
bool alert_url_check(const char *s, char *why, size_t why_len);
/* model.LabelNameRE: [a-zA-Z_][a-zA-Z0-9_]*. */
bool alert_label_name_legacy(const char *s);
/* Fallback-mode label names: non-empty valid UTF-8. */
bool alert_label_name_utf8(const char *s);

/* Compiles an Alertmanager regex ("^(?:RE)$", '.' not matching newline). */
int alert_regex_compile(const char *re, labels_regex_t **out, vg_err_t *err);

/* Parses one line of `matchers:` (or an API filter) into matchers
 * allocated from arena; regexes are handed to keep(ctx, re). Returns 0 or
 * VG_ERR_INPUT with Alertmanager's message. */
int alert_matchers_parse_into(const char *s, size_t len, vg_arena_t *arena,
                              void (*keep)(void *ctx, labels_regex_t *re), void *keep_ctx,
                              alert_matcher_t **out, size_t *out_n, vg_err_t *err);
/* Sorts as labels.Matchers: name, then value, then type. */
void alert_matchers_sort(alert_matcher_t *ms, size_t n);

/* Decodes one entry of a time interval's time_intervals list. */
int alert_timeinterval_decode_spec(alert_dec_t *d, const ytree_node_t *n, alert_time_spec_t *out);

/* Decodes the whole document into c (schema.c). */
int alert_config_decode(alert_dec_t *d, const ytree_node_t *root, alert_config_t *c);

/* --------------------------------------------------------- alert maps */

/* An open-addressing map from fingerprint to alert (holding a reference to
 * each). Used by the store, each aggregation group and the inhibition
 * index. Not thread-safe: the owner's lock guards it. */
typedef struct alert_map {
    alert_alert_t **slots; /* NULL: empty; ALERT_MAP_TOMB: deleted */
    size_t cap, len, used; /* used counts tombstones too */
} alert_map_t;

#define ALERT_MAP_TOMB ((alert_alert_t *)(uintptr_t)1)

alert_alert_t *alert_map_get(const alert_map_t *m, uint64_t fp);
/* Puts a (takes the caller's reference); the one it replaces is unref'd. */
void alert_map_put(alert_map_t *m, alert_alert_t *a);
/* Removes the alert with fp; returns it (its reference to the caller) or NULL. */
alert_alert_t *alert_map_del(alert_map_t *m, uint64_t fp);
/* Calls fn for every alert (no changes to m meanwhile). */
#define ALERT_MAP_FOREACH(m, var)                                                                  \
    for (size_t _i = 0; _i < (m)->cap; _i++)                                                       \
        for (alert_alert_t *var = (m)->slots[_i]; var && var != ALERT_MAP_TOMB; var = NULL)
void alert_map_clear(alert_map_t *m);

/* A new alert with one reference, copying the input's parts. */
alert_alert_t *alert_alert_new(const labels_t *labels, const labels_t *annotations,
                               int64_t starts_at_ns, int64_t ends_at_ns, int64_t updated_at_ns,
                               const char *generator_url, bool timeout, uint64_t fp);
/* types.Alert.Merge: a new alert combining old and new (either order). */
alert_alert_t *alert_alert_merge(const alert_alert_t *a, const alert_alert_t *b);
/* Alertmanager's order of alerts in a notification (types.AlertSlice):
 * by job, then instance (an alert with the label first), then labels. */
int alert_alert_cmp_notify(const alert_alert_t *a, const alert_alert_t *b);
/* The notification log's hash of an alert's labels (xxhash, stable). */
uint64_t alert_alert_hash(const alert_alert_t *a);

#endif
