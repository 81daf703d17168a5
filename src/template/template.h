/*
 * template — Go text/template (and the part of html/template that
 * Alertmanager's e-mail needs) for rule annotations, rule labels and
 * notification templates.
 *
 * What it does: parses template text with Go's syntax (actions, pipelines,
 * variables, if/else if/range/with/else, define/template/block, comments,
 * whitespace trimming, break/continue) into a set of named templates, and
 * executes one of them against a data value, writing the output to a buffer.
 * Execution follows Go's rules for printing values (fmt's %v), comparisons,
 * truth, map iteration in key order, missingkey handling, and reproduces
 * Go's parse and execution error messages. Functions come from tables the
 * caller picks: Go's builtins (always on), Prometheus's rule-template
 * functions and Alertmanager's notification functions; callers add their own
 * table the same way.
 *
 * Values: a small tagged value (template_value_t). Lists and maps are plain
 * arrays (maps sorted by key); objects expose fields lazily through a
 * callback, so a caller can hand over its own structs (an alert, a label
 * set) without copying them. Any value may carry a type descriptor that
 * gives it methods (Alertmanager's .SortedPairs, .Remove, .Firing, time's
 * .Format) and a String() form.
 *
 * What it owns: a template_t owns its parse trees and a copy of every name
 * and text it was given. An execution allocates from its own arena, freed
 * when template_execute returns; the output buffer belongs to the caller.
 *
 * Limits: parsing bounds nesting depth; execution bounds steps (every node
 * evaluated and every range iteration counts), output bytes, template-call
 * depth and arena bytes, so a hostile template ends with an error instead
 * of looping or exhausting memory.
 *
 * Threads: a parsed template_t is immutable; any number of threads may
 * execute it at once. Adding files (template_add) needs exclusive access.
 */
#ifndef VG_TEMPLATE_H
#define VG_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* ---------------------------------------------------------------- values */

typedef enum template_kind {
    TEMPLATE_NIL = 0, /* Go's nil (and a missing value) */
    TEMPLATE_BOOL,
    TEMPLATE_INT,      /* Go int / int64 */
    TEMPLATE_FLOAT,    /* Go float64 */
    TEMPLATE_STRING,   /* bytes, not necessarily NUL-terminated */
    TEMPLATE_LIST,     /* Go slice */
    TEMPLATE_MAP,      /* Go map with string keys, kept sorted */
    TEMPLATE_OBJECT,   /* Go struct (or pointer to one): fields by callback */
    TEMPLATE_TIME,     /* Go time.Time */
    TEMPLATE_DURATION, /* Go time.Duration (nanoseconds) */
} template_kind_t;

/* Value flags. */
#define TEMPLATE_F_HTML 0x01 /* a string already safe HTML (safeHtml) */
#define TEMPLATE_F_PTR 0x02  /* an object printed as a pointer ("&{...}") */

typedef struct template_value template_value_t;
typedef struct template_type template_type_t;
typedef struct template_call template_call_t;

typedef struct template_list {
    size_t n;
    template_value_t *items;
} template_list_t;

typedef struct template_map_entry template_map_entry_t;

typedef struct template_map {
    size_t n;
    template_map_entry_t *entries; /* sorted by key, bytewise, no duplicates */
    /* Kind of the map's element type: what a missing key yields under
     * missingkey=zero (TEMPLATE_STRING for map[string]string gives "",
     * TEMPLATE_NIL for map[string]any gives "<no value>"). */
    template_kind_t elem_kind;
} template_map_t;

typedef struct template_object {
    void *self; /* the caller's struct, borrowed for the execution */
} template_object_t;

struct template_value {
    uint8_t kind;                /* template_kind_t */
    uint8_t flags;               /* TEMPLATE_F_* */
    int32_t tz_offset;           /* TIME: seconds east of UTC */
    const template_type_t *type; /* NULL: the plain type of its kind */
    union {
        bool b;
        int64_t i; /* INT; DURATION in nanoseconds */
        double f;
        struct {
            const char *s;
            size_t len;
        } str;
        const template_list_t *list;
        const template_map_t *map;
        template_object_t obj;
        struct {
            int64_t sec;      /* seconds since the Unix epoch, UTC */
            int32_t nsec;     /* 0..999999999 */
            const char *zone; /* zone abbreviation ("UTC", "CET"), NUL-terminated */
        } time;
    } u;
};

struct template_map_entry {
    const char *key;
    size_t key_len;
    template_value_t value;
};

/* A function: receives its evaluated arguments (the piped value last, as
 * Go does) and writes its result to out. Returns 0, or a negative code
 * after template_call_fail. Arguments and out live in the execution's
 * arena; a function allocates results with template_call_alloc. */
typedef int (*template_fn_t)(template_call_t *c, const template_value_t *args, size_t n_args,
                             template_value_t *out);

typedef struct template_func {
    const char *name;
    template_fn_t fn;
    int16_t min_args;
    int16_t max_args; /* -1: variadic */
} template_func_t;

/* A table of functions, e.g. template_funcs_prometheus. */
typedef struct template_funcs {
    const template_func_t *funcs;
    size_t n_funcs;
} template_funcs_t;

/* A method: like a function, with the receiver as args[0]. */
typedef struct template_method {
    const char *name;
    template_fn_t fn;
    int16_t min_args; /* not counting the receiver */
    int16_t max_args;
} template_method_t;

/* Describes a named Go type: how errors and %T name it, its methods, how
 * fields of an OBJECT are found and how it prints when it has a String()
 * method. Descriptors are static tables that outlive every template. */
struct template_type {
    const char *name; /* "template.KV", "*template.sample" */
    const template_method_t *methods;
    size_t n_methods;
    /* OBJECT only: looks field name up; 0 and *out on success,
     * VG_ERR_NOTFOUND when the struct has no such field. */
    int (*field)(template_call_t *c, const template_value_t *self, const char *name,
                 size_t name_len, template_value_t *out);
    /* String() form, or NULL to print the value as fmt's %v would. */
    int (*to_string)(template_call_t *c, const template_value_t *self, vg_buf_t *out);
    /* OBJECT only, when to_string is NULL: writes the struct's field values
     * in declaration order for %v ("{a b}"); NULL prints "{}". */
    int (*print_fields)(template_call_t *c, const template_value_t *self, vg_buf_t *out);
};

/* Value constructors (no allocation; strings are borrowed). */
template_value_t template_nil(void);
template_value_t template_bool(bool b);
template_value_t template_int(int64_t i);
template_value_t template_float(double f);
template_value_t template_str(const char *s, size_t len);
template_value_t template_cstr(const char *s);
template_value_t template_list(const template_list_t *l);
template_value_t template_map(const template_map_t *m);
template_value_t template_object(const template_type_t *type, void *self);
/* A UTC time; a nil zone means "UTC". */
template_value_t template_time(int64_t sec, int32_t nsec, int32_t tz_offset, const char *zone);
template_value_t template_time_ms(int64_t ms);
template_value_t template_duration(int64_t ns);

/* Sorts m's entries by key and drops later duplicates; call after filling
 * a map in any order. */
void template_map_sort(template_map_t *m);
/* Finds key in a sorted map; NULL when absent. */
const template_value_t *template_map_get(const template_map_t *m, const char *key, size_t key_len);

/* Go's truth: false, 0, nil, empty string/list/map are false. */
bool template_value_truth(const template_value_t *v);
/* Appends v as fmt's %v prints it (with String() methods). */
int template_value_print(template_call_t *c, const template_value_t *v, vg_buf_t *out);
/* The Go type name of v, as %T and error messages write it. */
const char *template_value_type_name(const template_value_t *v);

/* --------------------------------------------------------- function calls */

/* What functions that need the outside world read. Owned by the caller for
 * the duration of one execution. */
typedef struct template_env {
    /* Prometheus: the external URL (externalURL, pathPrefix). NULL: "". */
    const char *external_url;
    /* The evaluation time in ms since the epoch (Prometheus's rule
     * evaluation time for `now`; Alertmanager's `now` and `since`).
     * 0: the wall clock. */
    int64_t now_ms;
    /* Prometheus `query`: runs q at now_ms and sets *out to a list of
     * samples made with template_sample(); NULL makes `query` fail. */
    int (*query)(void *query_ctx, template_call_t *c, const char *q, size_t q_len,
                 template_value_t *out, vg_err_t *err);
    void *query_ctx;
    /* Anything a caller's own functions need. */
    void *user;
} template_env_t;

/* Allocates n bytes from the execution's arena; NULL (with the error set)
 * over the memory budget. */
void *template_call_alloc(template_call_t *c, size_t n);
/* Copies s into the arena. */
int template_call_strdup(template_call_t *c, const char *s, size_t len, template_value_t *out);
/* Takes buf's bytes into the arena as a string value and resets buf. */
int template_call_buf_str(template_call_t *c, vg_buf_t *buf, template_value_t *out);
/* Sets the execution error ("error calling <fn>: " is prefixed by the
 * caller) and returns VG_ERR. */
int template_call_fail(template_call_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const template_env_t *template_call_env(template_call_t *c);
/* Checks that arg is a string (Go: "wrong type for value; expected string;
 * got int"). */
int template_arg_str(template_call_t *c, const template_value_t *arg, const char **s, size_t *len);
/* Go's ConvertToFloat: float, int, duration or a string that parses. */
int template_arg_float(template_call_t *c, const template_value_t *arg, double *out);

/* A Prometheus query sample (`.Labels`, `.Value`) for `query` callbacks;
 * labels is a map of strings. Allocated in the execution's arena. */
int template_sample(template_call_t *c, const template_map_t *labels, double value,
                    template_value_t *out);

/* ---------------------------------------------------------------- tables */

/* Go's builtins (and, or, not, len, index, slice, print, printf, println,
 * eq, ne, lt, le, gt, ge, html, js, urlquery, call). Always enabled. */
extern const template_funcs_t template_funcs_go;
/* Prometheus's rule and console template functions. */
extern const template_funcs_t template_funcs_prometheus;
/* Alertmanager's notification template functions. */
extern const template_funcs_t template_funcs_alertmanager;

/* Alertmanager's data types: a label set (KV: SortedPairs, Remove, Names,
 * Values, String), a list of alerts (Alerts: Firing, Resolved), pairs and
 * strings. Callers building notification data tag their values with them. */
extern const template_type_t template_type_am_kv;
extern const template_type_t template_type_am_alerts;
extern const template_type_t template_type_am_pairs;
extern const template_type_t template_type_am_strings;

/* Alertmanager's notification data (template.Data): what .Receiver,
 * .Status, .Alerts, .GroupLabels, .CommonLabels, .CommonAnnotations,
 * .RouteLabels, .ExternalURL read. Maps are sorted string maps
 * (elem_kind TEMPLATE_STRING); times are TEMPLATE_TIME values (a nil value
 * reads as Go's zero time). Borrowed for the execution. */
typedef struct template_am_alert {
    const char *status; /* "firing" or "resolved" */
    const template_map_t *labels, *annotations;
    template_value_t starts_at, ends_at;
    const char *generator_url, *fingerprint;
} template_am_alert_t;

typedef struct template_am_data {
    const char *receiver, *status, *notification_reason;
    const template_am_alert_t *alerts;
    size_t n_alerts;
    const template_map_t *group_labels, *common_labels, *common_annotations, *route_labels;
    const char *external_url;
} template_am_data_t;

/* The data value (a *template.Data) for template_execute. */
template_value_t template_am_data(const template_am_data_t *d);

/* -------------------------------------------------------------- templates */

typedef enum template_missingkey {
    TEMPLATE_MISSINGKEY_DEFAULT = 0, /* "<no value>" */
    TEMPLATE_MISSINGKEY_ZERO,        /* the element type's zero value */
    TEMPLATE_MISSINGKEY_ERROR,       /* an execution error */
} template_missingkey_t;

typedef struct template_options {
    /* Extra function tables, searched in order before Go's builtins. */
    const template_funcs_t *const *funcs;
    size_t n_funcs;
    template_missingkey_t missingkey;
    /* html/template: escape interpolations for HTML text, attribute and
     * URL-attribute contexts (see docs/templates.md for what is left out). */
    bool html;
    /* Execution limits; 0 takes the default in brackets. */
    uint64_t max_steps; /* [1,000,000] nodes evaluated + iterations */
    size_t max_output;  /* [4 MiB] bytes written */
    uint32_t max_depth; /* [200] nested template calls */
    size_t max_memory;  /* [32 MiB] arena bytes of one execution */
} template_options_t;

typedef struct template template_t;

/* Creates an empty set of templates with opts (copied; the function tables
 * are borrowed and must outlive the set). NULL opts: defaults, no extra
 * functions. Returns the set; free it with template_free. */
template_t *template_new(const template_options_t *opts);

/* Parses text as one file into t: its top level becomes the template
 * called name, each {{define}} another. A later definition replaces an
 * earlier one unless it is empty, as Go does. On error t is unchanged and
 * err holds Go's message ("template: name:1: function \"foo\" not
 * defined"). Borrows text and name (copies them). */
int template_add(template_t *t, const char *text, size_t len, const char *name, vg_err_t *err);

/* Convenience: a new set with one function table (may be NULL), Go's
 * defaults otherwise, and text parsed as name. Returns 0 and *out (the
 * caller frees it) or a negative code and err. */
int template_parse(const char *text, size_t len, const char *name, const template_funcs_t *funcs,
                   template_t **out, vg_err_t *err);

/* True when t has a template called name with a body. */
bool template_has(const template_t *t, const char *name);

/* Executes the template called name with data as dot, appending to out.
 * env may be NULL. On error the output written so far stays in out and err
 * holds Go's message ("template: x:1:3: executing \"x\" at <.Foo>: ...").
 * Borrows everything. */
int template_execute(const template_t *t, const char *name, const template_value_t *data,
                     const template_env_t *env, vg_buf_t *out, vg_err_t *err);

void template_free(template_t *t);

#endif
