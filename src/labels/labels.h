/*
 * labels — label sets, string interning, label matchers and relabeling.
 *
 * What it does: every sample vigil ingests and every series it stores is
 * named by a label set, so this module is on the hottest paths:
 *   - labels_t: an immutable, compact label set in one allocation, sorted by
 *     name (bytewise, as Prometheus sorts), names unique. Hash, compare,
 *     equality and formatting follow Prometheus's model/labels package.
 *   - labels_builder_t: a mutable set built from a base labels_t plus Set/Del
 *     (Prometheus's labels.Builder, including the order in which it visits
 *     labels, which labelmap depends on). An empty value means "no label".
 *   - labels_symtab_t: a thread-safe, reference-counted interning table
 *     (string -> stable const char * and uint32 id) for the storage engine.
 *   - labels_regex_t / labels_matcher_t: fully anchored regexes with
 *     Prometheus 3.x semantics ('.' matches newline) on PCRE2 with JIT and
 *     match limits, plus literal fast paths (equality, alternations of
 *     literals, prefix/suffix/contains, .* and .+).
 *   - labels_relabel_t: a compiled list of relabel_configs applied to a
 *     builder, with every action of Prometheus's model/relabel.
 *
 * What it owns: the label sets, builders, matchers, programs and tables it
 * returns (each freed by its own *_free). Process-wide state is limited to
 * lazily built read-only tables (PCRE2 match context, Unicode classes, the
 * C.UTF-8 locale for case mapping) and one atomic counter of regex
 * matches cut short by a limit.
 *
 * Threads: a labels_t, labels_regex_t, labels_matcher_t and labels_relabel_t
 * are immutable once made and may be used from any number of threads at
 * once. A builder belongs to one thread at a time. A labels_symtab_t may be
 * used from any thread (striped locks inside).
 *
 * Strings are byte strings with explicit lengths: label values may hold any
 * bytes. Functions taking a C string have a name ending in _s or say so.
 */
#ifndef VG_LABELS_H
#define VG_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/core.h"

#define LABELS_METRIC_NAME "__name__"
#define LABELS_METRIC_NAME_LEN 8

/* One label as a pair of borrowed byte strings. */
typedef struct labels_label {
    const char *name;
    const char *value;
    size_t name_len;
    size_t value_len;
} labels_label_t;

/* ------------------------------------------------------------- label sets */

typedef struct labels labels_t;

/* A label set larger than this is a bug upstream (request bodies are capped
 * far below); building one aborts rather than wrapping 32-bit offsets. */
#define LABELS_MAX_BYTES (1u << 30)

/* Returns a new empty set (owned by the caller). */
labels_t *labels_new_empty(void);

/* Builds a set from pairs in any order (copied; the caller keeps pairs).
 * Pairs with an empty value are dropped, as Prometheus's builder drops them.
 * A name given twice is an error (VG_ERR_INPUT, *out untouched). */
int labels_from_pairs(const labels_label_t *pairs, size_t n, labels_t **out, vg_err_t *err);

/* Convenience for tests and cold code: name, value, name, value, ..., NULL
 * (C strings). A repeated name keeps the last value. Returns a new set. */
labels_t *labels_from_strings(const char *name, ...);

/* Returns an owned copy (one allocation, one memcpy). */
labels_t *labels_dup(const labels_t *ls);
void labels_free(labels_t *ls);

size_t labels_len(const labels_t *ls);
/* The i-th label in name order (i < labels_len); the strings are borrowed
 * from ls. */
labels_label_t labels_at(const labels_t *ls, size_t i);
/* Value of the label named name, or NULL when absent (Prometheus treats an
 * absent label as ""). The value is borrowed from ls. */
const char *labels_get(const labels_t *ls, const char *name, size_t name_len, size_t *out_len);
bool labels_has(const labels_t *ls, const char *name, size_t name_len);
/* The __name__ value or NULL. */
const char *labels_metric_name(const labels_t *ls, size_t *out_len);

/* Bytes the set occupies in memory (its one allocation). */
size_t labels_byte_size(const labels_t *ls);

/* xxHash3-64 over name 0xff value 0xff for each label in order, the byte
 * stream Prometheus's Labels.Hash feeds to its hash (Prometheus uses XXH64
 * over it; vigil's hashes are internal and never leave the process). */
uint64_t labels_hash(const labels_t *ls);
/* The same over only the labels whose names are (without=false) or are not
 * (without=true) in names[0..n_names), as HashForLabels/HashWithoutLabels;
 * names need not be sorted. `without` also leaves out __name__, as
 * Prometheus's HashWithoutLabels does. */
uint64_t labels_hash_names(const labels_t *ls, const char *const *names, size_t n_names,
                           bool without);

/* Prometheus's labels.Compare: label by label, name then value bytewise;
 * when one is a prefix of the other the set with fewer labels is smaller. */
int labels_compare(const labels_t *a, const labels_t *b);
bool labels_equal(const labels_t *a, const labels_t *b);

/* Appends Labels.String(): {__name__="up", job="x"} — ", " between labels,
 * values quoted like Go's strconv.Quote, names quoted when they are not
 * legacy label names. */
void labels_format(const labels_t *ls, vg_buf_t *out);
/* Appends the metric form: up{job="x", instance="y"} (the name alone when
 * there are no other labels, {} for an empty set). A name that is not a
 * legacy metric name goes inside the braces quoted: {"my.metric", job="x"}. */
void labels_format_metric(const labels_t *ls, vg_buf_t *out);
/* Appends the set as a JSON object, {"name":"value",...} in name order,
 * strings escaped as Go's encoding/json (what Prometheus's and
 * Alertmanager's APIs write); NULL writes {}. */
void labels_format_json(const labels_t *ls, vg_buf_t *out);
/* Appends s quoted as Go's strconv.Quote does. */
void labels_quote(vg_buf_t *out, const char *s, size_t len);

/* --------------------------------------------------------------- validity */

/* Legacy label name: [a-zA-Z_][a-zA-Z0-9_]*. */
bool labels_name_valid_legacy(const char *s, size_t len);
/* Legacy metric name: [a-zA-Z_:][a-zA-Z0-9_:]*. */
bool labels_metric_name_valid_legacy(const char *s, size_t len);
/* Label or metric name under a scheme: legacy, or (utf8) any non-empty
 * valid UTF-8, as Prometheus 3.x's UTF8Validation. */
bool labels_name_valid(const char *s, size_t len, bool utf8);
/* Valid UTF-8 as Go's utf8.ValidString (no surrogates, no overlongs). */
bool labels_utf8_valid(const char *s, size_t len);
/* Checks names (per scheme, __name__'s value as a metric name) and that
 * values are UTF-8, as Labels.IsValid. On failure says which label. */
int labels_validate(const labels_t *ls, bool utf8, vg_err_t *err);

/* Limits of a scrape job (0 = no limit), checked as Prometheus's scrape
 * loop does, with its messages ("label_limit exceeded (metric: ...").
 * Value lengths count UTF-8 characters, name lengths bytes. */
typedef struct labels_limits {
    size_t max_labels;
    size_t max_name_len;
    size_t max_value_len;
} labels_limits_t;

/* 0 or VG_ERR_LIMIT with the message. */
int labels_check_limits(const labels_t *ls, const labels_limits_t *lim, vg_err_t *err);

/* ---------------------------------------------------------------- builder */

typedef struct labels_builder labels_builder_t;

labels_builder_t *labels_builder_new(void);
void labels_builder_free(labels_builder_t *b);

/* Starts over from base (NULL: empty). Borrows base until the next reset
 * or free; base labels with an empty value count as deleted. Keeps the
 * builder's memory for reuse, so a warm builder does not allocate. */
void labels_builder_reset(labels_builder_t *b, const labels_t *base);
/* Sets name to value (both copied). An empty value deletes the label. */
void labels_builder_set(labels_builder_t *b, const char *name, size_t name_len, const char *value,
                        size_t value_len);
void labels_builder_set_s(labels_builder_t *b, const char *name, const char *value);
/* Sets __name__. */
void labels_builder_set_metric_name(labels_builder_t *b, const char *value, size_t value_len);
void labels_builder_del(labels_builder_t *b, const char *name, size_t name_len);
/* Current value or NULL when absent; valid until the builder's next change. */
const char *labels_builder_get(const labels_builder_t *b, const char *name, size_t name_len,
                               size_t *out_len);
/* Calls fn on each label in Prometheus's Builder.Range order (untouched base
 * labels in name order, then labels set since the reset, in the order they
 * were first set). fn may set or delete; the walk sees the labels as they
 * were when it started. */
void labels_builder_range(labels_builder_t *b,
                          void (*fn)(labels_builder_t *b, const labels_label_t *l, void *ctx),
                          void *ctx);
/* Number of labels the set currently has. */
size_t labels_builder_len(const labels_builder_t *b);
/* Returns a new sorted labels_t (owned by the caller); the builder keeps
 * its state. */
labels_t *labels_builder_labels(labels_builder_t *b);

/* ----------------------------------------------------------- symbol table */

/* Interned strings: one copy of each distinct string, with a stable
 * address, NUL-terminated, and a 32-bit id (reused after release). Each
 * intern takes one reference; release drops one and frees the string at
 * zero. Ids are dense (from 1; 0 is never an id), so a series can be kept
 * as an array of ids. */
typedef struct labels_symtab labels_symtab_t;

typedef struct labels_symtab_stats {
    size_t n_strings;
    size_t string_bytes; /* bytes of the strings themselves */
    size_t memory_bytes; /* everything the table holds: strings, headers, slots, id pages */
} labels_symtab_stats_t;

labels_symtab_t *labels_symtab_new(void);
/* Frees every string at once, whatever their reference counts. */
void labels_symtab_free(labels_symtab_t *t);
/* Returns the interned copy of s (a new reference) and its id. The
 * pointer stays valid until the last reference is released. */
const char *labels_symtab_intern(labels_symtab_t *t, const char *s, size_t len, uint32_t *out_id);
/* Looks s up without taking a reference; NULL when absent. */
const char *labels_symtab_find(labels_symtab_t *t, const char *s, size_t len, uint32_t *out_id);
/* The string of a live id (NULL for an id not in use); lock-free. */
const char *labels_symtab_get(const labels_symtab_t *t, uint32_t id);
/* Length of an interned string (from its header; O(1)). */
size_t labels_symtab_strlen(const char *interned);
/* Takes one more reference on a live id. */
void labels_symtab_ref(labels_symtab_t *t, uint32_t id);
/* Drops one reference; the string is freed at zero. */
void labels_symtab_release(labels_symtab_t *t, uint32_t id);
void labels_symtab_stats(const labels_symtab_t *t, labels_symtab_stats_t *out);

/* Interns every name and value of ls into ids[0..2*len) (name, value, ...),
 * one reference each. ids must hold 2 * labels_len(ls) entries. */
void labels_symtab_intern_labels(labels_symtab_t *t, const labels_t *ls, uint32_t *ids);
/* Rebuilds a label set from 2*n ids made by labels_symtab_intern_labels. */
labels_t *labels_symtab_labels(const labels_symtab_t *t, const uint32_t *ids, size_t n);

/* ------------------------------------------------------------------ regex */

/* A regex anchored at both ends as Prometheus anchors its regexes
 * ("^(?s:RE)$"): it must match the whole string, '.' matches newline, '$'
 * is the end of the text. PCRE2 accepts a superset of Go's RE2 syntax. */
typedef struct labels_regex labels_regex_t;

/* Bounds on one PCRE2 match: a match that hits one counts as no match and
 * is counted in labels_regex_limit_errors(). */
#define LABELS_REGEX_MATCH_LIMIT 1000000u
#define LABELS_REGEX_DEPTH_LIMIT 10000u
#define LABELS_REGEX_HEAP_LIMIT_KIB 20480u
/* The longest pattern accepted. */
#define LABELS_REGEX_MAX_PATTERN (1u << 20)

/* Compiles pattern (copied). On error returns VG_ERR_INPUT with PCRE2's
 * message: "error parsing regexp: <why> at offset N: `<pattern>`". */
int labels_regex_new(const char *pattern, size_t len, labels_regex_t **out, vg_err_t *err);
void labels_regex_free(labels_regex_t *re);
bool labels_regex_match(const labels_regex_t *re, const char *s, size_t len);
/* The pattern as given. */
const char *labels_regex_pattern(const labels_regex_t *re, size_t *out_len);
/* Appends Go's Regexp.ExpandString(template) for a match of re against s:
 * $1, ${1}, $name, ${name}, $$; "$1x" names the group "1x"; a group that
 * does not exist or did not take part expands to nothing; a malformed $ is
 * copied. Returns false (and appends nothing) when re does not match s. */
bool labels_regex_expand(const labels_regex_t *re, const char *s, size_t len, const char *templ,
                         size_t templ_len, vg_buf_t *out);
/* Matches cut short by a PCRE2 limit since the process started. */
uint64_t labels_regex_limit_errors(void);

/* ---------------------------------------------------------------- matcher */

typedef enum labels_match_type {
    LABELS_MATCH_EQUAL = 0,  /* = */
    LABELS_MATCH_NOT_EQUAL,  /* != */
    LABELS_MATCH_REGEXP,     /* =~ */
    LABELS_MATCH_NOT_REGEXP, /* !~ */
} labels_match_type_t;

typedef struct labels_matcher labels_matcher_t;

/* Makes a matcher (name and value copied); regex errors as labels_regex_new. */
int labels_matcher_new(labels_match_type_t type, const char *name, size_t name_len,
                       const char *value, size_t value_len, labels_matcher_t **out, vg_err_t *err);
void labels_matcher_free(labels_matcher_t *m);

labels_match_type_t labels_matcher_type(const labels_matcher_t *m);
const char *labels_matcher_name(const labels_matcher_t *m, size_t *out_len);
const char *labels_matcher_value(const labels_matcher_t *m, size_t *out_len);
/* "=", "!=", "=~", "!~". */
const char *labels_match_type_str(labels_match_type_t t);

/* Whether the value s matches. */
bool labels_matcher_matches(const labels_matcher_t *m, const char *s, size_t len);
/* Whether the set matches; an absent label matches as "". */
bool labels_matcher_matches_labels(const labels_matcher_t *m, const labels_t *ls);
/* Whether "" matches (then the matcher also selects series without the
 * label). */
bool labels_matcher_matches_empty(const labels_matcher_t *m);
/* For =~ and !~ whose regex is a finite set of literals (a|b|c, or a
 * literal): the literals, sorted and unique, borrowed from m; otherwise 0.
 * Lets the index look postings up directly. */
size_t labels_matcher_set_matches(const labels_matcher_t *m, const labels_label_t **out_set);
/* A literal prefix every matching value starts with (regex matchers only;
 * empty when there is none). */
const char *labels_matcher_prefix(const labels_matcher_t *m, size_t *out_len);
/* Appends Matcher.String(): job=~"x" (name quoted when not a legacy name). */
void labels_matcher_format(const labels_matcher_t *m, vg_buf_t *out);

/* ---------------------------------------------------------------- relabel */

typedef struct labels_relabel labels_relabel_t;

/* Compiles rules (borrowed during the call only) into a program. utf8_names
 * chooses Prometheus 3.x's name validation for target labels (the config's
 * metric_name_validation_scheme: "utf8"); otherwise legacy names. Regexes
 * are compiled here; errors carry the rule's line. */
int labels_relabel_compile(const config_relabel_t *rules, size_t n_rules, bool utf8_names,
                           labels_relabel_t **out, vg_err_t *err);
void labels_relabel_free(labels_relabel_t *p);
size_t labels_relabel_len(const labels_relabel_t *p);
/* Runs the program on b, rule by rule, as Prometheus's ProcessBuilder.
 * Returns true to keep the series or target, false to drop it (b is then
 * left as the dropping rule found it). A NULL or empty program keeps. */
bool labels_relabel_apply(const labels_relabel_t *p, labels_builder_t *b);

#endif
