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
void expfmt_write_family(expfmt_writer_t *w, const char *name, expfmt_type_t type,
                         const char *help, const char *unit);

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

/* (The parser's interface follows here.) */

#endif
