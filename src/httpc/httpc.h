/*
 * httpc — the outgoing HTTP client shared by scraping, remote_write,
 * alert delivery to Alertmanagers and the notifiers.
 *
 * What it does: applies a `http_config` block (config_http_client_t: basic
 * auth, authorization/bearer token, their *_file secrets, TLS files and
 * inline PEM, insecure_skip_verify, min_version, proxy_url, no_proxy,
 * proxy_from_environment, follow_redirects) to a libcurl easy handle, turns
 * a failed transfer into the message Go's net/http client gives ("Post
 * \"URL\": dial tcp 127.0.0.1:1: connect: connection refused", "context
 * deadline exceeded"), and performs simple synchronous requests for callers
 * that send one request at a time (notifiers).
 *
 * What it owns: nothing between calls; httpc_do owns its easy handle for
 * the duration of the call. Secrets in *_file are read at every call, so a
 * rotated file takes effect without a reload.
 *
 * Threads: every function may be called from any thread at once;
 * httpc_global_init must have run first (it is idempotent and thread-safe).
 */
#ifndef VG_HTTPC_H
#define VG_HTTPC_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/core.h"

/* curl_global_init exactly once per process. */
void httpc_global_init(void);

/* Applies http (borrowed; may be NULL: defaults) to easy and appends the
 * headers it needs (Authorization) to *headers; the caller sets
 * CURLOPT_HTTPHEADER afterwards and frees the list. Sets: protocols http
 * and https only (redirects too), follow_redirects (at most 10), HTTP/1.1
 * when enable_http2 is false, the proxy (none unless proxy_url or
 * proxy_from_environment), TLS files and inline PEM (copied into the
 * handle), insecure_skip_verify, min/max_version, basic auth. Not applied:
 * oauth2 and tls server_name. The caller sets URL, NOSIGNAL, timeout and
 * callbacks. Returns 0, or a negative code with err ("unable to read basic
 * auth password file F: open F: no such file or directory") when a *_file
 * secret cannot be read; everything but that credential is applied then,
 * and the request should fail as Go's client fails it. */
int httpc_apply(CURL *easy, const config_http_client_t *http, struct curl_slist **headers,
                vg_err_t *err);

/* Appends Go's message for a transfer that failed with cc: method is
 * "Get", "Post"... as Go capitalises it (any case is accepted). Known
 * wordings: "context deadline exceeded" for a timeout, "dial tcp
 * 127.0.0.1:1: connect: connection refused" for a failed connect, "EOF"
 * for a connection closed without a response; other
 * failures give curl's text after the same "Post \"URL\": " prefix. */
void httpc_error(CURL *easy, CURLcode cc, const char *method, const char *url, vg_buf_t *out);

/* The same with the text curl left in the handle's CURLOPT_ERRORBUFFER
 * (errbuf, borrowed; NULL or "" when none), which is more precise than
 * curl_easy_strerror(cc) where Go's wording is not known. easy may be NULL
 * for a failure before the transfer started (errbuf is then the reason). */
void httpc_error_detail(CURL *easy, CURLcode cc, const char *errbuf, const char *method,
                        const char *url, vg_buf_t *out);

/* An easy handle for one request on this thread: the thread's cached one
 * (reset, its open connections kept, so requests to the same server reuse
 * a kept-alive connection as Go's client does) or a new one. Give it back
 * with httpc_easy_release; it is freed when the thread ends. NULL when
 * curl cannot make one. */
CURL *httpc_easy_acquire(void);
void httpc_easy_release(CURL *easy);

/* One synchronous request. */
typedef struct httpc_request {
    const char *method; /* "GET", "POST", "PUT"...; NULL: POST when body, else GET */
    const char *url;
    const char *content_type; /* NULL: none */
    const char *body;         /* borrowed; may be NULL */
    size_t body_len;
    const char *const *headers; /* "Name: value" lines; borrowed */
    size_t n_headers;
    int64_t timeout_ms;               /* whole request; 0: 10 s */
    const config_http_client_t *http; /* NULL: defaults */
    const char *user_agent;           /* NULL: "vigil" */
    size_t max_response_bytes;        /* body kept up to this; 0: 64 KiB */
} httpc_request_t;

typedef struct httpc_response {
    long status;   /* HTTP status, 0 when no response came */
    vg_buf_t body; /* the start of the response body; caller frees */
} httpc_response_t;

/* Performs req. Returns 0 when a response came (whatever its status; see
 * resp->status), or a negative code with err holding Go's message when no
 * response came (connection refused, timeout, TLS failure, bad secret
 * file). resp->body must be VG_BUF_INIT on entry and is freed by the
 * caller in both cases. */
int httpc_do(const httpc_request_t *req, httpc_response_t *resp, vg_err_t *err);

#endif
