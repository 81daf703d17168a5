/* This file implements the shared outgoing HTTP client: the one place that
 * turns a config_http_client_t into libcurl options, the one place that
 * words a failed transfer the way Go's net/http client does (Prometheus and
 * Alertmanager log and show those messages, and vigil's users compare them),
 * and a small synchronous request for callers that send one request at a
 * time. Callers that drive many transfers on a multi handle (scraping,
 * remote_write) use httpc_apply and httpc_error on their own easy handles. */
#include "httpc/httpc.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A credentials file larger than this is not a credential. */
#define HTTPC_SECRET_MAX (64u * 1024)
#define HTTPC_DEFAULT_TIMEOUT_MS 10000
#define HTTPC_DEFAULT_MAX_RESPONSE (64u * 1024)
#define HTTPC_MAX_REDIRS 10L

/* ---------------------------------------------------------------- init */

static pthread_once_t httpc_once = PTHREAD_ONCE_INIT;

static void global_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void httpc_global_init(void) { pthread_once(&httpc_once, global_init_once); }

/* --------------------------------------------------------------- apply */

static bool set(const char *s) { return s && *s; }

/* Go's os errors are lower case ("open /x: no such file or directory"),
 * strerror's are capitalised; lower the first letter after the last ": ". */
static void go_lower_last(char *msg) {
    char *p = strrchr(msg, ':');
    if (p && p[1] == ' ' && isupper((unsigned char)p[2])) p[2] = (char)tolower((unsigned char)p[2]);
}

/* Reads a *_file secret trimmed of surrounding white space, as Prometheus
 * trims it (strings.TrimSpace). Returns a heap string the caller frees, or
 * NULL with err set to "unable to read <what> file PATH: open PATH: ...". */
static char *read_secret(const char *path, const char *what, vg_err_t *err) {
    char *data;
    size_t len;
    vg_err_t e = {0};
    if (vg_file_read_all(path, HTTPC_SECRET_MAX, &data, &len, &e) != VG_OK) {
        go_lower_last(e.msg);
        vg_err_set(err, e.code ? e.code : VG_ERR_IO, "unable to read %s file %s: %s", what, path,
                   e.msg);
        return NULL;
    }
    size_t a = 0;
    while (a < len && isspace((unsigned char)data[a]))
        a++;
    while (len > a && isspace((unsigned char)data[len - 1]))
        len--;
    char *out = vg_strndup(data + a, len - a);
    free(data);
    return out;
}

/* The secret from its file when one is named, else the inline value.
 * Returns a heap string (possibly empty), or NULL with err set. */
static char *secret(const char *inline_value, const char *file, const char *what, vg_err_t *err) {
    if (set(file)) return read_secret(file, what, err);
    return vg_strdup(inline_value ? inline_value : "");
}

static long tls_version(const char *v, bool max) {
    if (strcmp(v, "TLS10") == 0) return max ? CURL_SSLVERSION_MAX_TLSv1_0 : CURL_SSLVERSION_TLSv1_0;
    if (strcmp(v, "TLS11") == 0) return max ? CURL_SSLVERSION_MAX_TLSv1_1 : CURL_SSLVERSION_TLSv1_1;
    if (strcmp(v, "TLS13") == 0) return max ? CURL_SSLVERSION_MAX_TLSv1_3 : CURL_SSLVERSION_TLSv1_3;
    return max ? CURL_SSLVERSION_MAX_TLSv1_2 : CURL_SSLVERSION_TLSv1_2;
}

static void apply_blob(CURL *easy, CURLoption opt, const char *pem) {
    /* CURL_BLOB_COPY: the configuration snapshot may go before the handle. */
    struct curl_blob blob = {(void *)pem, strlen(pem), CURL_BLOB_COPY};
    curl_easy_setopt(easy, opt, &blob);
}

static void apply_tls(CURL *easy, const config_tls_t *tls) {
    if (set(tls->ca_file)) curl_easy_setopt(easy, CURLOPT_CAINFO, tls->ca_file);
    if (set(tls->cert_file)) curl_easy_setopt(easy, CURLOPT_SSLCERT, tls->cert_file);
    if (set(tls->key_file)) curl_easy_setopt(easy, CURLOPT_SSLKEY, tls->key_file);
    if (set(tls->ca)) apply_blob(easy, CURLOPT_CAINFO_BLOB, tls->ca);
    if (set(tls->cert)) apply_blob(easy, CURLOPT_SSLCERT_BLOB, tls->cert);
    if (set(tls->key)) apply_blob(easy, CURLOPT_SSLKEY_BLOB, tls->key);
    /* server_name: curl offers no SNI override short of rewriting name
     * resolution, so verification uses the URL's host, which is what most
     * receivers expect. */
    if (tls->insecure_skip_verify) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (set(tls->min_version) || set(tls->max_version)) {
        long v =
            set(tls->min_version) ? tls_version(tls->min_version, false) : CURL_SSLVERSION_TLSv1_2;
        if (set(tls->max_version)) v |= tls_version(tls->max_version, true);
        curl_easy_setopt(easy, CURLOPT_SSLVERSION, v);
    }
}

int httpc_apply(CURL *easy, const config_http_client_t *http, struct curl_slist **headers,
                vg_err_t *err) {
    static const config_http_client_t defaults = {.follow_redirects = true, .enable_http2 = true};
    if (!http) http = &defaults;
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, http->follow_redirects ? 1L : 0L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, HTTPC_MAX_REDIRS);
    if (!http->enable_http2) curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    /* Go's client uses a proxy only when told to; curl would otherwise
     * read http_proxy and friends from the environment on its own. */
    if (set(http->proxy_url))
        curl_easy_setopt(easy, CURLOPT_PROXY, http->proxy_url);
    else if (!http->proxy_from_environment)
        curl_easy_setopt(easy, CURLOPT_PROXY, "");
    if (set(http->no_proxy)) curl_easy_setopt(easy, CURLOPT_NOPROXY, http->no_proxy);
    apply_tls(easy, &http->tls_config);

    /* Secrets last: everything above is applied even when a file cannot be
     * read, so a caller may still choose to go on. */
    int rc = VG_OK;
    if (http->basic_auth) {
        const config_basic_auth_t *ba = http->basic_auth;
        char *user = secret(ba->username, ba->username_file, "basic auth username", err);
        char *pass =
            user ? secret(ba->password, ba->password_file, "basic auth password", err) : NULL;
        if (user && pass) {
            curl_easy_setopt(easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
            curl_easy_setopt(easy, CURLOPT_USERNAME, user);
            curl_easy_setopt(easy, CURLOPT_PASSWORD, pass);
        } else {
            rc = VG_ERR_IO;
        }
        free(user);
        free(pass);
    }
    if (http->authorization && rc == VG_OK) {
        const config_authorization_t *az = http->authorization;
        char *cred =
            secret(az->credentials, az->credentials_file, "authorization credentials", err);
        if (cred) {
            vg_buf_t h = VG_BUF_INIT;
            vg_buf_printf(&h, "Authorization: %s %s", set(az->type) ? az->type : "Bearer", cred);
            *headers = curl_slist_append(*headers, h.data);
            vg_buf_free(&h);
            free(cred);
        } else {
            rc = VG_ERR_IO;
        }
    }
    return rc;
}

/* --------------------------------------------------------------- errors */

/* The address a failed connect went to, as Go prints it ("1.2.3.4:80",
 * "[::1]:80"). curl fills in the peer's IP only once a connection is up,
 * so after a failed one the host and port come from the URL curl was on
 * (the last one after redirects), which for a literal IP is the same. */
static void peer_address(CURL *easy, char *out, size_t cap) {
    char *ip = NULL;
    long port = 0;
    curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip);
    curl_easy_getinfo(easy, CURLINFO_PRIMARY_PORT, &port);
    char *host = NULL, *port_s = NULL;
    CURLU *u = NULL;
    if (!ip || !*ip || port <= 0) {
        char *eff = NULL;
        curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &eff);
        u = curl_url();
        if (eff && curl_url_set(u, CURLUPART_URL, eff, 0) == CURLUE_OK) {
            curl_url_get(u, CURLUPART_HOST, &host, 0);
            curl_url_get(u, CURLUPART_PORT, &port_s, CURLU_DEFAULT_PORT);
        }
        ip = host ? host : (char *)"";
        port = port_s ? strtol(port_s, NULL, 10) : 0;
    }
    /* curl gives an IPv6 host from a URL with its brackets already. */
    bool bracket = strchr(ip, ':') && ip[0] != '[';
    snprintf(out, cap, "%s%s%s:%ld", bracket ? "[" : "", ip, bracket ? "]" : "", port);
    curl_free(host);
    curl_free(port_s);
    if (u) curl_url_cleanup(u);
}

void httpc_error_detail(CURL *easy, CURLcode cc, const char *errbuf, const char *method,
                        const char *url, vg_buf_t *out) {
    /* Go's url.Error: the method with only its first letter upper case. */
    char op[16];
    size_t n = 0;
    for (const char *m = method && *method ? method : "Get"; *m && n < sizeof op - 1; m++, n++)
        op[n] = (char)(n ? tolower((unsigned char)*m) : toupper((unsigned char)*m));
    op[n] = 0;
    vg_buf_printf(out, "%s \"%s\": ", op, url ? url : "");
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        /* Prometheus bounds its requests with a context. */
        vg_buf_puts(out, "context deadline exceeded");
        return;
    }
    long os_err = 0;
    if (easy) curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_err);
    if (cc == CURLE_COULDNT_CONNECT && os_err > 0) {
        /* dial tcp 127.0.0.1:1: connect: connection refused */
        char addr[300];
        peer_address(easy, addr, sizeof addr);
        char why[128];
        snprintf(why, sizeof why, "%s", strerror((int)os_err));
        why[0] = (char)tolower((unsigned char)why[0]);
        vg_buf_printf(out, "dial tcp %s: connect: %s", addr, why);
        return;
    }
    if (cc == CURLE_GOT_NOTHING) {
        /* The server closed the connection without a response. */
        vg_buf_puts(out, "EOF");
        return;
    }
    vg_buf_puts(out, errbuf && *errbuf ? errbuf : curl_easy_strerror(cc));
}

void httpc_error(CURL *easy, CURLcode cc, const char *method, const char *url, vg_buf_t *out) {
    httpc_error_detail(easy, cc, NULL, method, url, out);
}

/* ------------------------------------------------------------------ do */

typedef struct sink {
    vg_buf_t *body;
    size_t max;
} sink_t;

/* Keeps the start of the body; the rest is read and dropped so that the
 * connection ends cleanly and the status still counts. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
    sink_t *s = ud;
    size_t len = size * nmemb;
    if (s->body->len < s->max) {
        size_t take = s->max - s->body->len;
        vg_buf_append(s->body, p, len < take ? len : take);
    }
    return len;
}

static bool header_ok(const char *h) { return h && !strpbrk(h, "\r\n") && strchr(h, ':'); }

int httpc_do(const httpc_request_t *req, httpc_response_t *resp, vg_err_t *err) {
    resp->status = 0;
    if (!req->url || !*req->url) return vg_err_set(err, VG_ERR_INPUT, "httpc: no URL");
    bool has_body = req->body != NULL;
    const char *method = req->method ? req->method : has_body ? "POST" : "GET";
    if (!*method || strpbrk(method, " \r\n"))
        return vg_err_set(err, VG_ERR_INPUT, "httpc: bad method \"%s\"", method);
    for (size_t i = 0; i < req->n_headers; i++)
        if (!header_ok(req->headers[i]))
            return vg_err_set(err, VG_ERR_INPUT, "httpc: bad header line %zu", i);
    if (req->content_type && strpbrk(req->content_type, "\r\n"))
        return vg_err_set(err, VG_ERR_INPUT, "httpc: bad content type");

    httpc_global_init();
    CURL *easy = httpc_easy_acquire();
    if (!easy) return vg_err_set(err, VG_ERR, "curl_easy_init failed");
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    sink_t sink = {&resp->body,
                   req->max_response_bytes ? req->max_response_bytes : HTTPC_DEFAULT_MAX_RESPONSE};
    vg_err_t inner = {0};
    int rc = httpc_apply(easy, req->http, &hdrs, &inner);
    if (rc != VG_OK) {
        /* Go's client fails the request before dialling: same wording. */
        vg_buf_t m = VG_BUF_INIT;
        httpc_error_detail(NULL, CURLE_OK, inner.msg, method, req->url, &m);
        vg_err_set(err, rc, "%s", m.data);
        vg_buf_free(&m);
        goto out;
    }
    curl_easy_setopt(easy, CURLOPT_URL, req->url);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                     (long)(req->timeout_ms > 0 ? req->timeout_ms : HTTPC_DEFAULT_TIMEOUT_MS));
    curl_easy_setopt(easy, CURLOPT_USERAGENT, req->user_agent ? req->user_agent : "vigil");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &sink);
    bool post_like = has_body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                     strcmp(method, "PATCH") == 0;
    if (post_like) {
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(has_body ? req->body_len : 0));
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, has_body ? req->body : "");
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    }
    if (strcmp(method, post_like ? "POST" : "GET") != 0 && strcmp(method, "HEAD") != 0)
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    if (req->content_type) {
        vg_buf_t h = VG_BUF_INIT;
        vg_buf_printf(&h, "Content-Type: %s", req->content_type);
        hdrs = curl_slist_append(hdrs, h.data);
        vg_buf_free(&h);
    }
    /* Go's client never waits for 100 Continue. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    for (size_t i = 0; i < req->n_headers; i++)
        hdrs = curl_slist_append(hdrs, req->headers[i]);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);

    CURLcode cc = curl_easy_perform(easy);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp->status);
    if (cc != CURLE_OK) {
        vg_buf_t m = VG_BUF_INIT;
        httpc_error_detail(easy, cc, errbuf, method, req->url, &m);
        rc = vg_err_set(err, VG_ERR_IO, "%s", m.data);
        vg_buf_free(&m);
        resp->status = 0;
    }
out:
    curl_slist_free_all(hdrs);
    httpc_easy_release(easy);
    return rc;
}

/* ------------------------------------------------ per-thread easy handles */

static pthread_key_t easy_key;
static pthread_once_t easy_once = PTHREAD_ONCE_INIT;

static void easy_destroy(void *p) { curl_easy_cleanup(p); }
static void easy_key_init(void) { pthread_key_create(&easy_key, easy_destroy); }

CURL *httpc_easy_acquire(void) {
    httpc_global_init();
    pthread_once(&easy_once, easy_key_init);
    CURL *easy = pthread_getspecific(easy_key);
    if (easy) {
        pthread_setspecific(easy_key, NULL);
        curl_easy_reset(easy);
        return easy;
    }
    return curl_easy_init();
}

void httpc_easy_release(CURL *easy) {
    if (!easy) return;
    pthread_once(&easy_once, easy_key_init);
    if (pthread_getspecific(easy_key)) {
        curl_easy_cleanup(easy); /* the thread keeps one */
        return;
    }
    pthread_setspecific(easy_key, easy);
}
