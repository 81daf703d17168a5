/* The outgoing HTTP client against a real HTTP server (libmicrohttpd on
 * 127.0.0.1, a port chosen by the kernel) that records what it received:
 * basic auth and authorization from inline values and files, custom
 * headers, methods and bodies, status codes, response truncation, and Go's
 * wording for a refused connection, a timeout and an unreadable secret. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpc/httpc.h"

#define BIG_LEN (200 * 1024)

/* ------------------------------------------------------------- server */

typedef struct seen {
    int n_requests;
    char method[16];
    char url[256];
    vg_buf_t headers; /* "name: value\n" lines, names as MHD gives them */
    vg_buf_t body;
} seen_t;

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static seen_t seen;
static struct MHD_Daemon *daemon_;
static unsigned short port;
static char tmpdir[64];

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value) {
    (void)kind;
    vg_buf_printf(cls, "%s: %s\n", key, value ? value : "");
    return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **con_cls) {
    (void)cls;
    (void)version;
    vg_buf_t *body = *con_cls;
    if (!body) {
        *con_cls = vg_calloc(1, sizeof(vg_buf_t));
        return MHD_YES;
    }
    if (*upload_len) {
        vg_buf_append(body, upload, *upload_len);
        *upload_len = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&seen_lock);
    seen.n_requests++;
    snprintf(seen.method, sizeof seen.method, "%s", method);
    snprintf(seen.url, sizeof seen.url, "%s", url);
    vg_buf_reset(&seen.headers);
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &seen.headers);
    vg_buf_reset(&seen.body);
    vg_buf_append(&seen.body, body->data ? body->data : "", body->len);
    pthread_mutex_unlock(&seen_lock);

    unsigned status = 200;
    struct MHD_Response *r;
    if (strcmp(url, "/big") == 0) {
        char *big = vg_malloc(BIG_LEN);
        for (size_t i = 0; i < BIG_LEN; i++)
            big[i] = (char)('a' + i % 26);
        r = MHD_create_response_from_buffer(BIG_LEN, big, MHD_RESPMEM_MUST_FREE);
    } else {
        if (strcmp(url, "/slow") == 0) usleep(1500 * 1000);
        if (strncmp(url, "/status/", 8) == 0) status = (unsigned)atoi(url + 8);
        char text[64];
        snprintf(text, sizeof text, "answer %u\n", status);
        r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
    }
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)c;
    (void)toe;
    vg_buf_t *body = *con_cls;
    if (body) vg_buf_free(body);
    free(body);
    *con_cls = NULL;
}

static int setup(void **state) {
    (void)state;
    httpc_global_init();
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon_ = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                               NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                               MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    if (!daemon_) return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    port = info->port;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/httpc-test-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    MHD_stop_daemon(daemon_);
    vg_buf_free(&seen.headers);
    vg_buf_free(&seen.body);
    vg_err_t err;
    vg_remove_all(tmpdir, &err);
    return 0;
}

/* ------------------------------------------------------------- helpers */

static char *url_for(const char *path) {
    static char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    return url;
}

static const char *write_file(const char *name, const char *content) {
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return path;
}

/* The value of header name as the server saw it, or "" (copied). */
static char *header(const char *name) {
    static char out[512];
    out[0] = 0;
    pthread_mutex_lock(&seen_lock);
    size_t nl = strlen(name);
    for (const char *p = seen.headers.data; p && *p;) {
        const char *end = strchr(p, '\n');
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            snprintf(out, sizeof out, "%.*s", (int)(end - p - nl - 2), p + nl + 2);
            break;
        }
        p = end + 1;
    }
    pthread_mutex_unlock(&seen_lock);
    return out;
}

static int request_count(void) {
    pthread_mutex_lock(&seen_lock);
    int n = seen.n_requests;
    pthread_mutex_unlock(&seen_lock);
    return n;
}

/* A TCP socket bound to 127.0.0.1 on a port the kernel picks. */
static int loopback_socket(unsigned *out_port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    *out_port = ntohs(sa.sin_port);
    return fd;
}

/* GET of path with http; asserts a 200. */
static void get_ok(const char *path, const config_http_client_t *http) {
    httpc_request_t req = {.url = url_for(path), .http = http};
    httpc_response_t resp = {0, VG_BUF_INIT};
    vg_err_t err = {0};
    assert_int_equal(httpc_do(&req, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    vg_buf_free(&resp.body);
}

/* --------------------------------------------------------------- tests */

static void test_defaults(void **state) {
    (void)state;
    httpc_request_t req = {.url = url_for("/plain")};
    httpc_response_t resp = {0, VG_BUF_INIT};
    vg_err_t err = {0};
    assert_int_equal(httpc_do(&req, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body.data, "answer 200\n");
    assert_string_equal(seen.method, "GET");
    assert_string_equal(seen.url, "/plain");
    assert_string_equal(header("User-Agent"), "vigil");
    assert_string_equal(header("Authorization"), "");
    assert_int_equal(seen.body.len, 0);
    vg_buf_free(&resp.body);
}

static void test_basic_auth(void **state) {
    (void)state;
    config_basic_auth_t ba = {.username = "user", .password = "pass"};
    config_http_client_t http = {.basic_auth = &ba, .follow_redirects = true};
    get_ok("/ba", &http);
    assert_string_equal(header("Authorization"), "Basic dXNlcjpwYXNz");

    /* Files win over inline values and are trimmed as Go's TrimSpace. */
    char ufile[128];
    snprintf(ufile, sizeof ufile, "%s", write_file("user", "  alice\n"));
    ba.username_file = ufile;
    ba.password_file = write_file("pass", "s3cret\r\n\n");
    get_ok("/ba", &http);
    assert_string_equal(header("Authorization"), "Basic YWxpY2U6czNjcmV0"); /* alice:s3cret */

    /* A rotated file takes effect on the next request. */
    write_file("pass", "other");
    get_ok("/ba", &http);
    assert_string_equal(header("Authorization"), "Basic YWxpY2U6b3RoZXI="); /* alice:other */

    /* An empty password is sent as such. */
    config_basic_auth_t only_user = {.username = "u"};
    http.basic_auth = &only_user;
    get_ok("/ba", &http);
    assert_string_equal(header("Authorization"), "Basic dTo="); /* u: */
}

static void test_authorization(void **state) {
    (void)state;
    config_authorization_t az = {.credentials = "tok123"};
    config_http_client_t http = {.authorization = &az, .follow_redirects = true};
    get_ok("/az", &http);
    assert_string_equal(header("Authorization"), "Bearer tok123");

    az.type = "Token";
    get_ok("/az", &http);
    assert_string_equal(header("Authorization"), "Token tok123");

    az.type = "";
    az.credentials_file = write_file("cred", "from-file\n");
    get_ok("/az", &http);
    assert_string_equal(header("Authorization"), "Bearer from-file");
}

static void test_secret_file_missing(void **state) {
    (void)state;
    int before = request_count();
    config_authorization_t az = {.credentials_file = "/nonexistent/cred"};
    config_http_client_t http = {.authorization = &az};
    httpc_request_t req = {.method = "POST", .url = url_for("/x"), .http = &http};
    httpc_response_t resp = {0, VG_BUF_INIT};
    vg_err_t err = {0};
    assert_true(httpc_do(&req, &resp, &err) < 0);
    char want[256];
    snprintf(want, sizeof want,
             "Post \"%s\": unable to read authorization credentials file /nonexistent/cred: "
             "open /nonexistent/cred: no such file or directory",
             url_for("/x"));
    assert_string_equal(err.msg, want);
    assert_int_equal(resp.status, 0);
    assert_int_equal(request_count(), before); /* nothing was sent */

    config_basic_auth_t ba = {.username = "u", .password_file = "/nonexistent/pw"};
    config_http_client_t http2 = {.basic_auth = &ba};
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    assert_true(httpc_apply(e, &http2, &h, &err) < 0);
    assert_string_equal(err.msg, "unable to read basic auth password file /nonexistent/pw: open "
                                 "/nonexistent/pw: no such file or directory");
    assert_null(h);
    curl_easy_cleanup(e);
    vg_buf_free(&resp.body);
}

static void test_headers_and_body(void **state) {
    (void)state;
    const char *hs[] = {"X-Custom: one", "X-Other: two words"};
    static const char body[] = "{\"a\":1}\0tail"; /* binary-safe */
    httpc_request_t req = {.url = url_for("/post"),
                           .content_type = "application/json",
                           .body = body,
                           .body_len = sizeof body - 1,
                           .headers = hs,
                           .n_headers = 2,
                           .user_agent = "vigil/test"};
    httpc_response_t resp = {0, VG_BUF_INIT};
    vg_err_t err = {0};
    assert_int_equal(httpc_do(&req, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(seen.method, "POST"); /* a body and no method: POST */
    assert_int_equal(seen.body.len, sizeof body - 1);
    assert_memory_equal(seen.body.data, body, sizeof body - 1);
    assert_string_equal(header("Content-Type"), "application/json");
    assert_string_equal(header("X-Custom"), "one");
    assert_string_equal(header("X-Other"), "two words");
    assert_string_equal(header("User-Agent"), "vigil/test");
    assert_string_equal(header("Expect"), "");
    vg_buf_free(&resp.body);

    req.method = "PUT";
    assert_int_equal(httpc_do(&req, &resp, &err), 0);
    assert_string_equal(seen.method, "PUT");
    assert_int_equal(seen.body.len, sizeof body - 1);
    vg_buf_free(&resp.body);

    /* POST without a body sends an empty one. */
    httpc_request_t empty = {.method = "POST", .url = url_for("/empty")};
    assert_int_equal(httpc_do(&empty, &resp, &err), 0);
    assert_string_equal(seen.method, "POST");
    assert_int_equal(seen.body.len, 0);
    assert_string_equal(header("Content-Length"), "0");
    vg_buf_free(&resp.body);

    httpc_request_t del = {.method = "DELETE", .url = url_for("/thing")};
    assert_int_equal(httpc_do(&del, &resp, &err), 0);
    assert_string_equal(seen.method, "DELETE");
    vg_buf_free(&resp.body);
}

static void test_bad_input(void **state) {
    (void)state;
    int before = request_count();
    const char *hs[] = {"X-Evil: a\r\nX-Injected: b"};
    httpc_request_t req = {.url = url_for("/x"), .headers = hs, .n_headers = 1};
    httpc_response_t resp = {0, VG_BUF_INIT};
    vg_err_t err = {0};
    assert_int_equal(httpc_do(&req, &resp, &err), VG_ERR_INPUT);
    const char *nocolon[] = {"no colon"};
    req.headers = nocolon;
    assert_int_equal(httpc_do(&req, &resp, &err), VG_ERR_INPUT);
    httpc_request_t nourl = {.url = NULL};
    assert_int_equal(httpc_do(&nourl, &resp, &err), VG_ERR_INPUT);
    httpc_request_t badm = {.method = "GE T", .url = url_for("/x")};
    assert_int_equal(httpc_do(&badm, &resp, &err), VG_ERR_INPUT);
    /* Only http and https. */
    httpc_request_t file = {.url = "file:///etc/passwd"};
    assert_true(httpc_do(&file, &resp, &err) < 0);
    assert_int_equal(resp.body.len, 0);
    assert_int_equal(request_count(), before);
    vg_buf_free(&resp.body);
}

static void test_status_codes(void **state) {
    (void)state;
    const long codes[] = {200, 204, 400, 404, 429, 500, 503};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        char path[32];
        snprintf(path, sizeof path, "/status/%ld", codes[i]);
        httpc_request_t req = {.url = url_for(path)};
        httpc_response_t resp = {0, VG_BUF_INIT};
        vg_err_t err = {0};
        assert_int_equal(httpc_do(&req, &resp, &err), 0);
        assert_int_equal(resp.status, codes[i]);
        if (codes[i] != 204) {
            char want[32];
            snprintf(want, sizeof want, "answer %ld\n", codes[i]);
            assert_string_equal(resp.body.data, want);
        }
        vg_buf_free(&resp.body);
    }
}

static void test_truncation(void **state) {
    (void)state;
    httpc_request_t req = {.url = url_for("/big"), .max_response_bytes = 1000};
    httpc_response_t resp = {0, VG_BUF_INIT};
    vg_err_t err = {0};
    assert_int_equal(httpc_do(&req, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body.len, 1000);
    assert_int_equal(resp.body.data[999], 'a' + 999 % 26);
    vg_buf_free(&resp.body);

    req.max_response_bytes = 0; /* 64 KiB */
    assert_int_equal(httpc_do(&req, &resp, &err), 0);
    assert_int_equal(resp.body.len, 64 * 1024);
    vg_buf_free(&resp.body);

    req.max_response_bytes = BIG_LEN * 2;
    assert_int_equal(httpc_do(&req, &resp, &err), 0);
    assert_int_equal(resp.body.len, BIG_LEN);
    vg_buf_free(&resp.body);
}

static void test_connection_refused(void **state) {
    (void)state;
    /* A port that was just free: bound, then closed without listening. */
    unsigned closed;
    close(loopback_socket(&closed));

    char url[64], want[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v2/alerts", closed);
    httpc_request_t req = {.url = url, .body = "[]", .body_len = 2};
    httpc_response_t resp = {0, VG_BUF_INIT};
    vg_err_t err = {0};
    assert_true(httpc_do(&req, &resp, &err) < 0);
    snprintf(want, sizeof want, "Post \"%s\": dial tcp 127.0.0.1:%u: connect: connection refused",
             url, closed);
    assert_string_equal(err.msg, want);
    assert_int_equal(resp.status, 0);

    req.method = "GET";
    req.body = NULL;
    req.body_len = 0;
    assert_true(httpc_do(&req, &resp, &err) < 0);
    snprintf(want, sizeof want, "Get \"%s\": dial tcp 127.0.0.1:%u: connect: connection refused",
             url, closed);
    assert_string_equal(err.msg, want);
    vg_buf_free(&resp.body);
}

/* Accepts one connection, reads the request and closes without a word. */
static void *hang_up(void *arg) {
    int lfd = *(int *)arg;
    int c = accept(lfd, NULL, NULL);
    if (c >= 0) {
        char buf[1024];
        ssize_t got = read(c, buf, sizeof buf);
        (void)got;
        close(c);
    }
    return NULL;
}

static void test_closed_without_response(void **state) {
    (void)state;
    unsigned lport;
    int lfd = loopback_socket(&lport);
    assert_int_equal(listen(lfd, 1), 0);
    pthread_t th;
    pthread_create(&th, NULL, hang_up, &lfd);
    char url[64], want[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", lport);
    httpc_request_t req = {.url = url, .timeout_ms = 5000};
    httpc_response_t resp = {0, VG_BUF_INIT};
    vg_err_t err = {0};
    assert_true(httpc_do(&req, &resp, &err) < 0);
    snprintf(want, sizeof want, "Get \"%s\": EOF", url);
    assert_string_equal(err.msg, want);
    pthread_join(th, NULL);
    close(lfd);
    vg_buf_free(&resp.body);
}

static void test_timeout(void **state) {
    (void)state;
    httpc_request_t req = {.url = url_for("/slow"), .timeout_ms = 200};
    httpc_response_t resp = {0, VG_BUF_INIT};
    vg_err_t err = {0};
    double t0 = vg_time_mono();
    assert_true(httpc_do(&req, &resp, &err) < 0);
    double took = vg_time_mono() - t0;
    char want[256];
    snprintf(want, sizeof want, "Get \"%s\": context deadline exceeded", url_for("/slow"));
    assert_string_equal(err.msg, want);
    assert_int_equal(resp.status, 0);
    assert_true(took >= 0.19 && took < 1.2);
    vg_buf_free(&resp.body);
}

static void test_error_wording(void **state) {
    (void)state;
    vg_buf_t out = VG_BUF_INIT;
    httpc_error(NULL, CURLE_OPERATION_TIMEDOUT, "POST", "http://h/x", &out);
    assert_string_equal(out.data, "Post \"http://h/x\": context deadline exceeded");
    vg_buf_reset(&out);
    httpc_error_detail(NULL, CURLE_COULDNT_RESOLVE_HOST, "Could not resolve host: h", "Get",
                       "http://h/x", &out);
    assert_string_equal(out.data, "Get \"http://h/x\": Could not resolve host: h");
    vg_buf_reset(&out);
    httpc_error(NULL, CURLE_COULDNT_RESOLVE_HOST, "delete", "http://h/x", &out);
    assert_string_equal(out.data, "Delete \"http://h/x\": Couldn't resolve host name");
    vg_buf_free(&out);
}

static void test_apply_defaults(void **state) {
    (void)state;
    /* NULL settings: no headers added, nothing fails. */
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    vg_err_t err = {0};
    assert_int_equal(httpc_apply(e, NULL, &h, &err), 0);
    assert_null(h);
    curl_easy_cleanup(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_basic_auth),
        cmocka_unit_test(test_authorization),
        cmocka_unit_test(test_secret_file_missing),
        cmocka_unit_test(test_headers_and_body),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_status_codes),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_error_wording),
        cmocka_unit_test(test_apply_defaults),
        cmocka_unit_test(test_closed_without_response),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
