/* notify_int.h — what the files of the notify module share: the template
 * set, the HTTP request helper, JSON writing and the per-integration send
 * functions. Not for other modules. */
#ifndef VG_NOTIFY_INT_H
#define VG_NOTIFY_INT_H

#include <curl/curl.h>

#include "notify/notify.h"

/* -------------------------------------------------------------- context */

/* What every integration's send function gets. */
typedef struct notify_ctx {
    const notify_integration_t *in;
    const alert_config_t *cfg; /* may be NULL */
    const notify_templates_t *tmpl;
    const template_am_data_t *data;
    const char *group_key;
    int64_t timeout_ms; /* already bounded by the integration's own timeout */
    bool *retry;
    vg_err_t *err;
    /* The first template error: later renders are skipped (Alertmanager's
     * TmplText keeps going but returns the first error). */
    vg_err_t tmpl_err;
    bool tmpl_failed;
    vg_arena_t *arena; /* rendered strings live here until the send ends */
} notify_ctx_t;

/* Renders text (a config field) as a text template; returns a string that
 * stays valid until notify_ctx_done (never NULL, "" on error: check
 * ctx->tmpl_failed). */
const char *notify_tmpl(notify_ctx_t *ctx, const char *text);
/* The same with a caller's data (a subset). */
const char *notify_tmpl_data(notify_ctx_t *ctx, const char *text, const template_am_data_t *data);
void notify_ctx_done(notify_ctx_t *ctx);

/* Sets *retry and the message; returns VG_ERR. */
int notify_fail(notify_ctx_t *ctx, bool retry, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The SHA-256 of s in lower-case hex (Alertmanager's Key.Hash). out holds 65 bytes. */
void notify_hash_key(const char *s, char *out);

/* Go's notify.TruncateInRunes: at most n runes, the last one replaced by
 * "…" when cut. Appends to out; returns whether it cut. */
bool notify_truncate_runes(const char *s, size_t n, vg_buf_t *out);

/* Reads a secret file whole (trimmed of surrounding white space when trim). */
int notify_read_file(const char *path, bool trim, char **out, vg_err_t *err);

/* ------------------------------------------------------------------ JSON */

/* Appends "s" with Go's encoding/json escapes. */
void notify_json_str(vg_buf_t *b, const char *s);
/* Appends ,"key": (the comma unless first; sets *first false). */
void notify_json_key(vg_buf_t *b, bool *first, const char *key);
/* Appends a map[string]string as Go encodes it (keys sorted). */
void notify_json_map(vg_buf_t *b, const template_map_t *m);
/* Appends a template time as Go's time.Time MarshalJSON: RFC 3339 with
 * nanoseconds trimmed, "Z" or the offset; a nil value is Go's zero time. */
void notify_json_time(vg_buf_t *b, const template_value_t *t);

/* ------------------------------------------------------------------ HTTP */

typedef struct notify_http {
    const char *method; /* NULL: POST */
    const char *url;
    const char *content_type; /* NULL: application/json */
    const char *body;
    size_t body_len;
    const char *const *headers; /* extra "Name: value" */
    size_t n_headers;
    const config_http_client_t *http;
    int64_t timeout_ms;
    /* response */
    long status;
    vg_buf_t resp_body; /* first 64 KiB */
    char resp_content_type[128];
} notify_http_t;

/* Performs the request. 0 when a response came (any status); else a
 * negative code with Go's client error ("Post \"URL\": ...") in err. The
 * caller frees h->resp_body. */
int notify_http_do(notify_http_t *h, vg_err_t *err);

/* Alertmanager's Retrier.Check: 0 for 2xx; otherwise VG_ERR with
 * "unexpected status code N[: details]" in err and *retry true for 5xx or
 * one of extra_codes. */
int notify_http_check(long status, const char *details, const int *extra_codes, size_t n_extra,
                      bool *retry, vg_err_t *err);

/* ------------------------------------------------------------ integrations */

int notify_webhook_send(notify_ctx_t *ctx);
int notify_slack_send(notify_ctx_t *ctx);
int notify_pagerduty_send(notify_ctx_t *ctx);
int notify_opsgenie_send(notify_ctx_t *ctx);
int notify_email_send(notify_ctx_t *ctx);

/* Where PagerDuty v1 events go (a test may point it elsewhere before any
 * send; never changed while sending). */
extern const char *notify_pagerduty_v1_url;

/* ------------------------------------------------------------------ MIME */

/* Go's mime/quotedprintable Writer over s (text mode: line ends become
 * CRLF, lines at most 76 bytes with soft breaks). */
void notify_qp_encode(const char *s, size_t len, vg_buf_t *out);
/* Go's mime.QEncoding.Encode("utf-8", s): s unchanged when it is printable
 * ASCII, else RFC 2047 encoded-words of at most 75 bytes. */
void notify_q_encode_header(const char *s, vg_buf_t *out);
/* net/mail.ParseAddressList, reduced: the addr-spec of each address of a
 * comma-separated list ("Name <a@b>", "a@b", quoted names, groups not).
 * Sets *out to a heap array of NUL-terminated heap strings (the caller
 * frees each and the array) and returns the count, or -1 with Go's
 * message in err. */
int notify_parse_address_list(const char *s, char ***out, vg_err_t *err);

#endif
