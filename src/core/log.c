/* This file implements vigil's own structured log, in logfmt or in the JSON
 * shape the founding documents show (timestamp, level, service, message and
 * the record's fields at the top level). */
#include "core.h"

#include <pthread.h>
#include <string.h>

static vg_log_level_t log_level = VG_LOG_INFO;
static vg_log_format_t log_format = VG_LOG_LOGFMT;
static FILE *log_out;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void vg_log_setup(vg_log_level_t level, vg_log_format_t format, FILE *out) {
    log_level = level;
    log_format = format;
    log_out = out;
}

int vg_log_level_parse(const char *s, vg_log_level_t *out) {
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *out = (vg_log_level_t)i;
            return VG_OK;
        }
    return VG_ERR_INPUT;
}

int vg_log_format_parse(const char *s, vg_log_format_t *out) {
    if (strcmp(s, "logfmt") == 0)
        *out = VG_LOG_LOGFMT;
    else if (strcmp(s, "json") == 0)
        *out = VG_LOG_JSON;
    else
        return VG_ERR_INPUT;
    return VG_OK;
}

bool vg_log_enabled(vg_log_level_t level) { return level >= log_level; }

/* logfmt quotes a value that is empty or holds a space, '=', '"' or a
 * control character. */
static void logfmt_value(vg_buf_t *b, const char *v) {
    bool quote = *v == '\0';
    for (const char *p = v; *p && !quote; p++)
        if (*p == ' ' || *p == '=' || *p == '"' || (unsigned char)*p < 0x20) quote = true;
    if (!quote) {
        vg_buf_puts(b, v);
        return;
    }
    vg_buf_putc(b, '"');
    vg_buf_put_json_escaped(b, v, strlen(v));
    vg_buf_putc(b, '"');
}

static void json_string(vg_buf_t *b, const char *s) {
    vg_buf_putc(b, '"');
    vg_buf_put_json_escaped(b, s, strlen(s));
    vg_buf_putc(b, '"');
}

void vg_log(vg_log_level_t level, const char *msg, ...) {
    if (level < log_level) return;
    char ts[32];
    vg_time_format_rfc3339(vg_time_now_ms(), ts);
    vg_buf_t b = VG_BUF_INIT;
    va_list ap;
    va_start(ap, msg);
    if (log_format == VG_LOG_JSON) {
        vg_buf_printf(
            &b, "{\"timestamp\":\"%s\",\"level\":\"%s\",\"service\":\"vigil\",\"message\":", ts,
            level_names[level]);
        json_string(&b, msg);
        const char *k;
        while ((k = va_arg(ap, const char *)) != NULL) {
            const char *v = va_arg(ap, const char *);
            vg_buf_putc(&b, ',');
            json_string(&b, k);
            vg_buf_putc(&b, ':');
            json_string(&b, v ? v : "");
        }
        vg_buf_puts(&b, "}\n");
    } else {
        vg_buf_printf(&b, "ts=%s level=%s service=vigil msg=", ts, level_names[level]);
        logfmt_value(&b, msg);
        const char *k;
        while ((k = va_arg(ap, const char *)) != NULL) {
            const char *v = va_arg(ap, const char *);
            vg_buf_printf(&b, " %s=", k);
            logfmt_value(&b, v ? v : "");
        }
        vg_buf_putc(&b, '\n');
    }
    va_end(ap);
    pthread_mutex_lock(&log_lock);
    FILE *out = log_out ? log_out : stderr;
    fwrite(b.data, 1, b.len, out);
    fflush(out);
    pthread_mutex_unlock(&log_lock);
    vg_buf_free(&b);
}
