/*
 * expfmt — the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0.
 *
 * What it does: writes metric families in either format (the writer below,
 * used by /metrics, the host collectors and self-monitoring) and parses
 * both formats (the parser, used by scraping and import).
 *
 * What it owns: nothing global. A writer borrows the caller's buffer.
 *
 * Threads: any; a writer or parser belongs to one thread at a time.
 */
#ifndef VG_EXPFMT_H
#define VG_EXPFMT_H

#include "core/core.h"

/* ---------------------------------------------------------------- writer */

typedef enum expfmt_format {
    EXPFMT_TEXT_004 = 0,    /* text/plain; version=0.0.4 */
    EXPFMT_OPENMETRICS = 1, /* application/openmetrics-text; version=1.0.0 */
} expfmt_format_t;

#define EXPFMT_CONTENT_TYPE_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define EXPFMT_CONTENT_TYPE_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* Picks the format a scraper asked for in its Accept header (NULL: text). */
expfmt_format_t expfmt_negotiate(const char *accept);

typedef enum expfmt_type {
    EXPFMT_UNTYPED = 0, /* "untyped" in 0.0.4, "unknown" in OpenMetrics */
    EXPFMT_COUNTER,
    EXPFMT_GAUGE,
    EXPFMT_HISTOGRAM,
    EXPFMT_SUMMARY,
    EXPFMT_GAUGEHISTOGRAM,
    EXPFMT_INFO,
    EXPFMT_STATESET,
} expfmt_type_t;

typedef struct expfmt_label {
    const char *name;
    const char *value;
} expfmt_label_t;

/* Writes families into a borrowed buffer. Start with expfmt_writer_init,
 * then for each family one expfmt_write_family followed by its samples,
 * and end with expfmt_writer_finish (which adds "# EOF" in OpenMetrics). */
typedef struct expfmt_writer {
    vg_buf_t *out;
    expfmt_format_t format;
} expfmt_writer_t;

void expfmt_writer_init(expfmt_writer_t *w, vg_buf_t *out, expfmt_format_t format);

/* Writes the HELP and TYPE lines (and UNIT in OpenMetrics when unit is not
 * NULL). name is the family name as the text format knows it: for a counter
 * "x_total"; in OpenMetrics the "_total" is dropped from the family name. */
void expfmt_write_family(expfmt_writer_t *w, const char *name, expfmt_type_t type, const char *help,
                         const char *unit);

/* Writes one sample line. name is the full sample name ("x_total",
 * "x_bucket"). Label values are escaped. */
void expfmt_write_sample(expfmt_writer_t *w, const char *name, const expfmt_label_t *labels,
                         size_t n_labels, double value);

/* The same with label pairs given inline and ending with NULL:
 * expfmt_write_samplev(w, "node_cpu_seconds_total", v, "cpu", "0", "mode", "idle", NULL). */
void expfmt_write_samplev(expfmt_writer_t *w, const char *name, double value, ...);

void expfmt_writer_finish(expfmt_writer_t *w);

/* Appends s with the escapes of a label value (\\, \", \n). */
void expfmt_escape_label_value(vg_buf_t *out, const char *s);

/* ---------------------------------------------------------------- parser */

/* A pull parser in the manner of Prometheus's textparse: expfmt_parser_init
 * borrows the input, and each expfmt_parser_next returns the next entry
 * (HELP, TYPE, UNIT, COMMENT, SAMPLE) until EOF. The whole input must stay
 * in place while the parser is used; strings in an entry point into the
 * input, or into the parser's own scratch space when they had to be
 * unescaped, and stay valid until the next call to expfmt_parser_next.
 * After warm-up a parser allocates nothing per sample; reuse it across
 * scrapes with expfmt_parser_reset to keep its buffers.
 *
 * Formats: EXPFMT_TEXT_004 accepts what Prometheus accepts for text/plain
 * 0.0.4 (blank lines, free comments, blanks between tokens, integer
 * millisecond timestamps). EXPFMT_OPENMETRICS follows the OpenMetrics 1.0
 * grammar (single spaces, "# EOF" required and last, float timestamps in
 * seconds, exemplars). With EXPFMT_PARSE_VALIDATE an OpenMetrics input is
 * also checked against every rule of the specification beyond the grammar
 * (metadata, family grouping, suffixes per type, histogram and summary
 * rules, exemplar rules, timestamp order). See docs/format/exposition.md. */

/* A byte string that is not NUL-terminated. */
typedef struct expfmt_str {
    const char *ptr;
    size_t len;
} expfmt_str_t;

/* One parsed label; name and value are unescaped. */
typedef struct expfmt_label_ref {
    expfmt_str_t name;
    expfmt_str_t value;
} expfmt_label_ref_t;

typedef enum expfmt_entry {
    EXPFMT_ENTRY_EOF = 0, /* end of input ("# EOF" in OpenMetrics) */
    EXPFMT_ENTRY_SAMPLE,
    EXPFMT_ENTRY_HELP,
    EXPFMT_ENTRY_TYPE,
    EXPFMT_ENTRY_UNIT,    /* OpenMetrics only */
    EXPFMT_ENTRY_COMMENT, /* 0.0.4 only: a "#" line that is not HELP or TYPE */
} expfmt_entry_t;

/* Flags for expfmt_parser_init. */
#define EXPFMT_PARSE_VALIDATE 0x1u /* OpenMetrics: enforce the whole 1.0 spec */

/* A sample line may carry at most this many labels (and so may an exemplar). */
#define EXPFMT_PARSE_MAX_LABELS 4096

typedef struct expfmt_exemplar {
    const expfmt_label_ref_t *labels;
    size_t n_labels;
    double value;
    bool has_timestamp;
    int64_t timestamp_ms;
} expfmt_exemplar_t;

struct expfmt_validator;

typedef struct expfmt_parser {
    /* The current entry, filled by expfmt_parser_next. */
    size_t line;        /* 1-based line number of the entry */
    expfmt_str_t name;  /* HELP, TYPE, UNIT: family name; SAMPLE: metric name */
    expfmt_str_t text;  /* HELP: unescaped text; UNIT: the unit; COMMENT: text after "#" */
    expfmt_type_t type; /* TYPE */
    /* SAMPLE: the raw bytes of name and labels as written (a cache key). */
    expfmt_str_t series;
    const expfmt_label_ref_t *labels; /* SAMPLE: labels in input order */
    size_t n_labels;
    double value;
    bool has_timestamp;
    /* 0.0.4: as written; OpenMetrics: seconds * 1000 truncated toward zero
     * like Prometheus, saturated at the int64 range. */
    int64_t timestamp_ms;
    bool has_exemplar; /* OpenMetrics only */
    expfmt_exemplar_t exemplar;

    /* Private: the parser's state. */
    const char *data_;
    size_t len_;
    size_t pos_;
    expfmt_format_t format_;
    unsigned flags_;
    int failed_; /* sticky error code once an error was returned */
    bool done_;
    double ts_sec_; /* OpenMetrics timestamp as written, for validation */
    expfmt_label_ref_t *lab_;
    size_t lab_cap_;
    char *scratch_;
    size_t scratch_cap_;
    size_t scratch_len_;
    struct expfmt_validator *val_;
} expfmt_parser_t;

/* Prepares p to parse len bytes at data (borrowed until the last call to
 * expfmt_parser_next) in the given format; flags is 0 or
 * EXPFMT_PARSE_VALIDATE. Allocates nothing. */
void expfmt_parser_init(expfmt_parser_t *p, const char *data, size_t len, expfmt_format_t format,
                        unsigned flags);

/* Points an initialised parser at new input, keeping its buffers. */
void expfmt_parser_reset(expfmt_parser_t *p, const char *data, size_t len, expfmt_format_t format,
                         unsigned flags);

/* Advances to the next entry and returns its expfmt_entry_t (>= 0), or
 * VG_ERR_INPUT with err set to "line L, column C: reason ..." (C counts
 * bytes from 1). Errors are sticky: later calls return the same code. */
int expfmt_parser_next(expfmt_parser_t *p, vg_err_t *err);

/* Releases the parser's buffers; p may be reset and used again. */
void expfmt_parser_free(expfmt_parser_t *p);

/* Parses a whole input and reports the first error: 0 or VG_ERR_INPUT.
 * out_samples (may be NULL) receives the number of samples. */
int expfmt_parse_check(const char *data, size_t len, expfmt_format_t format, unsigned flags,
                       size_t *out_samples, vg_err_t *err);

/* The name of a type as written in a TYPE line of the given format. */
const char *expfmt_type_name(expfmt_type_t type, expfmt_format_t format);

/* Inflates a gzip body (one or more members) into out (appended), failing
 * with VG_ERR_LIMIT as soon as the output would pass max_out bytes and with
 * VG_ERR_INPUT on a corrupt or truncated stream. */
int expfmt_gzip_inflate(const void *in, size_t in_len, size_t max_out, vg_buf_t *out,
                        vg_err_t *err);

#endif
