/* This file implements the exposition writer: HELP/TYPE/UNIT lines and
 * sample lines in the text format 0.0.4 or in OpenMetrics 1.0. */
#include "expfmt.h"

#include <string.h>

expfmt_format_t expfmt_negotiate(const char *accept) {
    /* A scraper that lists OpenMetrics among what it accepts gets it, as
     * client_golang does; Prometheus puts it first in its Accept header. */
    if (accept && strstr(accept, "application/openmetrics-text")) return EXPFMT_OPENMETRICS;
    return EXPFMT_TEXT_004;
}

void expfmt_writer_init(expfmt_writer_t *w, vg_buf_t *out, expfmt_format_t format) {
    w->out = out;
    w->format = format;
}

static const char *type_name(expfmt_type_t t, expfmt_format_t f) {
    switch (t) {
    case EXPFMT_COUNTER: return "counter";
    case EXPFMT_GAUGE: return "gauge";
    case EXPFMT_HISTOGRAM: return "histogram";
    case EXPFMT_SUMMARY: return "summary";
    case EXPFMT_GAUGEHISTOGRAM: return f == EXPFMT_OPENMETRICS ? "gaugehistogram" : "histogram";
    case EXPFMT_INFO: return f == EXPFMT_OPENMETRICS ? "info" : "gauge";
    case EXPFMT_STATESET: return f == EXPFMT_OPENMETRICS ? "stateset" : "gauge";
    case EXPFMT_UNTYPED: break;
    }
    return f == EXPFMT_OPENMETRICS ? "unknown" : "untyped";
}

/* HELP text: 0.0.4 escapes backslash and newline; OpenMetrics also the
 * double quote. */
static void escape_help(vg_buf_t *out, const char *s, bool quote) {
    for (; *s; s++) {
        if (*s == '\\')
            vg_buf_puts(out, "\\\\");
        else if (*s == '\n')
            vg_buf_puts(out, "\\n");
        else if (*s == '"' && quote)
            vg_buf_puts(out, "\\\"");
        else
            vg_buf_putc(out, *s);
    }
}

void expfmt_escape_label_value(vg_buf_t *out, const char *s) {
    for (; *s; s++) {
        if (*s == '\\')
            vg_buf_puts(out, "\\\\");
        else if (*s == '\n')
            vg_buf_puts(out, "\\n");
        else if (*s == '"')
            vg_buf_puts(out, "\\\"");
        else
            vg_buf_putc(out, *s);
    }
}

void expfmt_write_family(expfmt_writer_t *w, const char *name, expfmt_type_t type, const char *help,
                         const char *unit) {
    size_t name_len = strlen(name);
    bool om = w->format == EXPFMT_OPENMETRICS;
    if (om && type == EXPFMT_COUNTER && name_len > 6 && strcmp(name + name_len - 6, "_total") == 0)
        name_len -= 6;
    if (om && type == EXPFMT_INFO && name_len > 5 && strcmp(name + name_len - 5, "_info") == 0)
        name_len -= 5;
    if (help) {
        vg_buf_puts(w->out, "# HELP ");
        vg_buf_append(w->out, name, name_len);
        vg_buf_putc(w->out, ' ');
        escape_help(w->out, help, om);
        vg_buf_putc(w->out, '\n');
    }
    vg_buf_puts(w->out, "# TYPE ");
    vg_buf_append(w->out, name, name_len);
    vg_buf_putc(w->out, ' ');
    vg_buf_puts(w->out, type_name(type, w->format));
    vg_buf_putc(w->out, '\n');
    if (om && unit && *unit) {
        vg_buf_puts(w->out, "# UNIT ");
        vg_buf_append(w->out, name, name_len);
        vg_buf_putc(w->out, ' ');
        vg_buf_puts(w->out, unit);
        vg_buf_putc(w->out, '\n');
    }
}

static void write_value(expfmt_writer_t *w, double value) {
    vg_buf_putc(w->out, ' ');
    vg_buf_put_float(w->out, value);
    vg_buf_putc(w->out, '\n');
}

void expfmt_write_sample(expfmt_writer_t *w, const char *name, const expfmt_label_t *labels,
                         size_t n_labels, double value) {
    vg_buf_puts(w->out, name);
    if (n_labels) {
        vg_buf_putc(w->out, '{');
        for (size_t i = 0; i < n_labels; i++) {
            if (i) vg_buf_putc(w->out, ',');
            vg_buf_puts(w->out, labels[i].name);
            vg_buf_puts(w->out, "=\"");
            expfmt_escape_label_value(w->out, labels[i].value);
            vg_buf_putc(w->out, '"');
        }
        vg_buf_putc(w->out, '}');
    }
    write_value(w, value);
}

void expfmt_write_samplev(expfmt_writer_t *w, const char *name, double value, ...) {
    vg_buf_puts(w->out, name);
    va_list ap;
    va_start(ap, value);
    const char *k;
    bool first = true;
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        vg_buf_putc(w->out, first ? '{' : ',');
        first = false;
        vg_buf_puts(w->out, k);
        vg_buf_puts(w->out, "=\"");
        expfmt_escape_label_value(w->out, v ? v : "");
        vg_buf_putc(w->out, '"');
    }
    va_end(ap);
    if (!first) vg_buf_putc(w->out, '}');
    write_value(w, value);
}

void expfmt_writer_finish(expfmt_writer_t *w) {
    if (w->format == EXPFMT_OPENMETRICS) vg_buf_puts(w->out, "# EOF\n");
}
