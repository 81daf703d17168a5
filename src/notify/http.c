/* This file implements the notifiers' HTTP requests: one synchronous
 * request with the integration's http_config applied by httpc, the
 * response's status, content type and the start of its body, and
 * Alertmanager's Retrier.Check rules for the status. (httpc_do does not
 * hand back the response's content type, which Slack's answer needs.) */
#include "notify/notify_int.h"

#include "httpc/httpc.h"

#include <stdlib.h>
#include <string.h>

#define NOTIFY_HTTP_MAX_BODY (64u * 1024)

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
    vg_buf_t *b = ud;
    size_t len = size * nmemb;
    if (b->len < NOTIFY_HTTP_MAX_BODY) {
        size_t take = NOTIFY_HTTP_MAX_BODY - b->len;
        vg_buf_append(b, p, len < take ? len : take);
    }
    return len;
}

int notify_http_do(notify_http_t *h, vg_err_t *err) {
    const char *method = h->method ? h->method : "POST";
    h->status = 0;
    h->resp_content_type[0] = '\0';
    httpc_global_init();
    CURL *easy = httpc_easy_acquire();
    if (!easy) return vg_err_set(err, VG_ERR, "curl_easy_init failed");
    struct curl_slist *hdrs = NULL;
    vg_err_t inner = {0};
    int rc = httpc_apply(easy, h->http, &hdrs, &inner);
    if (rc != 0) {
        /* Go's client fails before dialling, in a url.Error: "Post \"URL\": ..." */
        vg_err_set(err, rc, "%c%s \"%s\": %s", method[0],
                   strcmp(method, "POST") == 0 ? "ost" : "ut", h->url, inner.msg);
        goto out;
    }
    vg_buf_t ct = VG_BUF_INIT;
    vg_buf_printf(&ct, "Content-Type: %s", h->content_type ? h->content_type : "application/json");
    hdrs = curl_slist_append(hdrs, ct.data);
    vg_buf_free(&ct);
    hdrs = curl_slist_append(hdrs, "Expect:");
    for (size_t i = 0; i < h->n_headers; i++) {
        if (strpbrk(h->headers[i], "\r\n")) continue; /* never a header injection */
        hdrs = curl_slist_append(hdrs, h->headers[i]);
    }
    curl_easy_setopt(easy, CURLOPT_URL, h->url);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)(h->timeout_ms > 0 ? h->timeout_ms : 10000));
    curl_easy_setopt(easy, CURLOPT_USERAGENT, NOTIFY_USER_AGENT);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &h->resp_body);
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->body_len);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, h->body ? h->body : "");
    if (strcmp(method, "POST") != 0) curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    CURLcode cc = curl_easy_perform(easy);
    if (cc != CURLE_OK) {
        vg_buf_t m = VG_BUF_INIT;
        httpc_error(easy, cc, method, h->url, &m);
        rc = vg_err_set(err, VG_ERR_IO, "%s", m.data ? m.data : "request failed");
        vg_buf_free(&m);
        goto out;
    }
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &h->status);
    char *ctype = NULL;
    curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ctype);
    if (ctype) snprintf(h->resp_content_type, sizeof h->resp_content_type, "%s", ctype);
    if (!h->resp_body.data) vg_buf_puts(&h->resp_body, "");
out:
    curl_slist_free_all(hdrs);
    httpc_easy_release(easy);
    return rc;
}

int notify_http_check(long status, const char *details, const int *extra_codes, size_t n_extra,
                      bool *retry, vg_err_t *err) {
    *retry = false;
    if (status / 100 == 2) return 0;
    bool r = status / 100 == 5;
    for (size_t i = 0; i < n_extra && !r; i++)
        if (extra_codes[i] == status) r = true;
    *retry = r;
    if (details && *details)
        return vg_err_set(err, VG_ERR, "unexpected status code %ld: %s", status, details);
    return vg_err_set(err, VG_ERR, "unexpected status code %ld", status);
}
