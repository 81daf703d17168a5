/* Tests for src/notify/email.c and mime.c: a small SMTP server on a thread
 * (127.0.0.1, a free port) speaks enough SMTP (EHLO, AUTH PLAIN and LOGIN,
 * MAIL, RCPT, DATA, QUIT) to record what the notifier sends; the message's
 * headers and both parts are checked against Alertmanager's format, and
 * the MIME encoders against outputs of Go's mime packages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include "httpc/httpc.h"
#include "notify/notify.h"
#include "notify/notify_int.h"
#include "notify_testdata.h"

#include <dirent.h>

#include "../../../fuzz/fuzz_notify_mime.c"

/* ---------------------------------------------------------- the server */

typedef struct smtp_srv {
    int lfd, port;
    pthread_t th;
    volatile int stop;
    /* behaviour */
    const char *auth_mechs; /* "PLAIN LOGIN", NULL: no AUTH */
    bool reject_auth, reject_rcpt;
    /* what came */
    char hello[128], auth_mech[16], auth_user[128], auth_pass[128], mail_from[256];
    char rcpt[8][256];
    int n_rcpt;
    vg_buf_t data;
    int n_messages;
} smtp_srv_t;

static smtp_srv_t srv;

/* Copies src, cut to cap - 1 bytes. */
static void cpy(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

typedef struct lreader {
    int fd;
    char buf[8192];
    size_t len;
} lreader_t;

/* Reads one CRLF line (without it) into out; false at EOF or error. */
static bool read_line(lreader_t *r, char *out, size_t cap) {
    for (;;) {
        char *nl = memchr(r->buf, '\n', r->len);
        if (nl) {
            size_t n = (size_t)(nl - r->buf);
            size_t keep = n > 0 && r->buf[n - 1] == '\r' ? n - 1 : n;
            if (keep >= cap) keep = cap - 1;
            memcpy(out, r->buf, keep);
            out[keep] = '\0';
            memmove(r->buf, nl + 1, r->len - n - 1);
            r->len -= n + 1;
            return true;
        }
        if (r->len == sizeof r->buf) return false;
        ssize_t got = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len, 0);
        if (got <= 0) return false;
        r->len += (size_t)got;
    }
}

static void say(int fd, const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void b64_decode(const char *in, char *out, size_t cap) {
    unsigned char tmp[512];
    size_t len = strlen(in);
    if (len >= sizeof tmp) len = 0;
    int n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
    if (n < 0) n = 0;
    while (n > 0 && len > 0 && in[len - 1] == '=')
        n--, len--;
    if ((size_t)n >= cap) n = (int)cap - 1;
    memcpy(out, tmp, (size_t)n);
    out[n] = '\0';
}

static void session(int fd) {
    lreader_t r = {.fd = fd};
    char line[4096];
    say(fd, "220 mail.test ESMTP ready\r\n");
    while (read_line(&r, line, sizeof line)) {
        if (strncasecmp(line, "EHLO ", 5) == 0) {
            cpy(srv.hello, sizeof srv.hello, line + 5);
            say(fd, "250-mail.test\r\n");
            if (srv.auth_mechs) {
                char b[128];
                snprintf(b, sizeof b, "250-AUTH %s\r\n", srv.auth_mechs);
                say(fd, b);
            }
            say(fd, "250 8BITMIME\r\n");
        } else if (strncasecmp(line, "AUTH PLAIN", 10) == 0) {
            char resp[1024], dec[512];
            snprintf(srv.auth_mech, sizeof srv.auth_mech, "PLAIN");
            if (line[10] == ' ') {
                cpy(resp, sizeof resp, line + 11);
            } else {
                say(fd, "334 \r\n");
                if (!read_line(&r, resp, sizeof resp)) return;
            }
            b64_decode(resp, dec, sizeof dec);
            /* authzid \0 user \0 pass */
            size_t l1 = strlen(dec);
            const char *u = dec + l1 + 1;
            cpy(srv.auth_user, sizeof srv.auth_user, u);
            cpy(srv.auth_pass, sizeof srv.auth_pass, u + strlen(u) + 1);
            say(fd, srv.reject_auth ? "535 5.7.8 Authentication credentials invalid\r\n"
                                    : "235 2.7.0 Authentication successful\r\n");
        } else if (strncasecmp(line, "AUTH LOGIN", 10) == 0) {
            char resp[1024];
            snprintf(srv.auth_mech, sizeof srv.auth_mech, "LOGIN");
            if (line[10] == ' ') {
                b64_decode(line + 11, srv.auth_user, sizeof srv.auth_user);
            } else {
                say(fd, "334 VXNlcm5hbWU6\r\n");
                if (!read_line(&r, resp, sizeof resp)) return;
                b64_decode(resp, srv.auth_user, sizeof srv.auth_user);
            }
            say(fd, "334 UGFzc3dvcmQ6\r\n");
            if (!read_line(&r, resp, sizeof resp)) return;
            b64_decode(resp, srv.auth_pass, sizeof srv.auth_pass);
            say(fd, srv.reject_auth ? "535 5.7.8 Authentication credentials invalid\r\n"
                                    : "235 2.7.0 Authentication successful\r\n");
        } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
            cpy(srv.mail_from, sizeof srv.mail_from, line + 10);
            say(fd, "250 2.1.0 Ok\r\n");
        } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
            if (srv.n_rcpt < 8) cpy(srv.rcpt[srv.n_rcpt++], 256, line + 8);
            say(fd, srv.reject_rcpt ? "550 5.1.1 No such user\r\n" : "250 2.1.5 Ok\r\n");
        } else if (strcasecmp(line, "DATA") == 0) {
            say(fd, "354 End data with <CR><LF>.<CR><LF>\r\n");
            vg_buf_reset(&srv.data);
            while (read_line(&r, line, sizeof line)) {
                if (strcmp(line, ".") == 0) break;
                /* undo dot-stuffing */
                vg_buf_puts(&srv.data, line[0] == '.' ? line + 1 : line);
                vg_buf_puts(&srv.data, "\r\n");
            }
            srv.n_messages++;
            say(fd, "250 2.0.0 Ok: queued\r\n");
        } else if (strcasecmp(line, "QUIT") == 0) {
            say(fd, "221 2.0.0 Bye\r\n");
            return;
        } else if (strcasecmp(line, "RSET") == 0 || strcasecmp(line, "NOOP") == 0) {
            say(fd, "250 Ok\r\n");
        } else {
            say(fd, "502 5.5.2 Error: command not recognized\r\n");
        }
    }
}

static void *serve(void *arg) {
    (void)arg;
    while (!srv.stop) {
        struct pollfd p = {.fd = srv.lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        int fd = accept(srv.lfd, NULL, NULL);
        if (fd < 0) continue;
        struct timeval tv = {.tv_sec = 5};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        session(fd);
        close(fd);
    }
    return NULL;
}

static void srv_reset(const char *auth_mechs) {
    srv.auth_mechs = auth_mechs;
    srv.reject_auth = srv.reject_rcpt = false;
    srv.hello[0] = srv.auth_mech[0] = srv.auth_user[0] = srv.auth_pass[0] = '\0';
    srv.mail_from[0] = '\0';
    srv.n_rcpt = 0;
    srv.n_messages = 0;
    vg_buf_reset(&srv.data);
}

static int setup(void **state) {
    (void)state;
    httpc_global_init();
    srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(srv.lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(srv.lfd, 4) != 0) return -1;
    socklen_t sl = sizeof sa;
    getsockname(srv.lfd, (struct sockaddr *)&sa, &sl);
    srv.port = ntohs(sa.sin_port);
    pthread_create(&srv.th, NULL, serve, NULL);
    td_many_init();
    return 0;
}

static int teardown(void **state) {
    (void)state;
    srv.stop = 1;
    pthread_join(srv.th, NULL);
    close(srv.lfd);
    vg_buf_free(&srv.data);
    return 0;
}

/* ------------------------------------------------------------- helpers */

static alert_config_t *load(const char *fmt, ...) {
    char yaml[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(yaml, sizeof yaml, fmt, ap);
    va_end(ap);
    vg_err_t err = {0};
    alert_config_t *cfg = alert_config_load_string(yaml, strlen(yaml), "am.yml", &err);
    if (!cfg) fail_msg("config: %s\n%s", err.msg, yaml);
    return cfg;
}

static int send_mail(const alert_config_t *cfg, size_t set, bool *retry, vg_err_t *err) {
    notify_integration_t in;
    assert_int_equal(notify_integrations(&cfg->receivers[0], &in, 1), 1);
    vg_err_t e = {0};
    notify_templates_t *t = notify_templates_load(cfg, &e);
    assert_non_null(t);
    template_am_data_t *d = td_build(&td_sets[set]);
    int rc = notify_send(&in, cfg, t, d, "{}:{alertname=\"HighLatency\"}", 5000, retry, err);
    td_free(d);
    notify_templates_free(t);
    return rc;
}

static char *render(const char *text, bool html, size_t set) {
    vg_err_t err = {0};
    notify_templates_t *t = notify_templates_load(NULL, &err);
    template_am_data_t *d = td_build(&td_sets[set]);
    vg_buf_t out = VG_BUF_INIT;
    assert_int_equal(notify_template_execute(t, text, html, d, &out, &err), 0);
    if (!out.data) vg_buf_puts(&out, "");
    td_free(d);
    notify_templates_free(t);
    return vg_buf_detach(&out);
}

/* The value of header name in a CRLF message head ("" when absent). */
static const char *header(const char *msg, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    out[0] = '\0';
    for (const char *p = msg; p && *p && strncmp(p, "\r\n", 2) != 0;) {
        const char *e = strstr(p, "\r\n");
        if (!e) break;
        if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
            size_t n = (size_t)(e - p - nl - 2);
            if (n >= cap) n = cap - 1;
            memcpy(out, p + nl + 2, n);
            out[n] = '\0';
            return out;
        }
        p = e + 2;
    }
    return out;
}

/* Decodes quoted-printable (soft breaks removed, CRLF kept as LF). */
static char *qp_decode(const char *s, size_t n) {
    vg_buf_t b = VG_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 2;
        } else if (s[i] == '=' && i + 2 < n) {
            char hx[3] = {s[i + 1], s[i + 2], 0};
            vg_buf_putc(&b, (char)strtol(hx, NULL, 16));
            i += 2;
        } else if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
            vg_buf_putc(&b, '\n');
            i++;
        } else {
            vg_buf_putc(&b, s[i]);
        }
    }
    if (!b.data) vg_buf_puts(&b, "");
    return vg_buf_detach(&b);
}

/* --------------------------------------------------------------- tests */

static void test_email(void **state) {
    (void)state;
    srv_reset("PLAIN LOGIN");
    alert_config_t *cfg = load(
        "global:\n  smtp_smarthost: 127.0.0.1:%d\n  smtp_from: 'Alertmanager <am@example.com>'\n"
        "  smtp_require_tls: false\n  smtp_auth_username: user\n  smtp_auth_password: s3cret\n"
        "route: {receiver: r}\nreceivers:\n- name: r\n  email_configs:\n"
        "  - to: 'ops@example.com, \"Dev, Team\" <dev@example.com>'\n"
        "    headers: {X-Custom: 'v {{ .Status }}', subject: 'Ünïcode {{ template "
        "\"email.default.subject\" . }}'}\n"
        "    text: \"{{ template \\\"__subject\\\" . }}\\nsum = {{ .CommonAnnotations.summary }} "
        "\\n{{ range .Alerts }}{{ .Labels.instance }} {{ end }}\"\n",
        srv.port);
    bool retry = true;
    vg_err_t err = {0};
    int rc = send_mail(cfg, 0, &retry, &err);
    if (rc != 0) fail_msg("%s", err.msg);
    assert_false(retry);
    assert_int_equal(srv.n_messages, 1);
    assert_string_equal(srv.hello, "localhost");
    assert_string_equal(srv.auth_mech, "PLAIN");
    assert_string_equal(srv.auth_user, "user");
    assert_string_equal(srv.auth_pass, "s3cret");
    assert_string_equal(srv.mail_from, "<am@example.com>");
    assert_int_equal(srv.n_rcpt, 2);
    assert_string_equal(srv.rcpt[0], "<ops@example.com>");
    assert_string_equal(srv.rcpt[1], "<dev@example.com>");

    const char *m = srv.data.data;
    char v[512];
    assert_string_equal(header(m, "From", v, sizeof v), "Alertmanager <am@example.com>");
    assert_string_equal(header(m, "To", v, sizeof v),
                        "ops@example.com, \"Dev, Team\" <dev@example.com>");
    assert_string_equal(header(m, "X-Custom", v, sizeof v), "v firing");
    /* the subject, Q-encoded as Go's mime.QEncoding */
    assert_string_equal(header(m, "Subject", v, sizeof v),
                        "=?utf-8?q?=C3=9Cn=C3=AFcode_[FIRING:2]_HighLatency_(api_page)?=");
    header(m, "Message-Id", v, sizeof v);
    assert_true(v[0] == '<' && strchr(v, '.') && strchr(v, '@') && v[strlen(v) - 1] == '>');
    header(m, "Date", v, sizeof v); /* RFC 1123 with a numeric zone */
    assert_int_equal(strlen(v), 31);
    assert_true(v[3] == ',' && (v[26] == '+' || v[26] == '-'));
    assert_string_equal(header(m, "MIME-Version", v, sizeof v), "1.0");
    header(m, "Content-Type", v, sizeof v);
    assert_int_equal(strncmp(v, "multipart/alternative;  boundary=", 33), 0);
    char boundary[128];
    cpy(boundary, sizeof boundary, v + 33);
    assert_int_equal(strlen(boundary), 60);
    /* headers in name order, then the blank line */
    const char *from = strstr(m, "From: "), *subj = strstr(m, "Subject: ");
    const char *to = strstr(m, "\r\nTo: "), *xc = strstr(m, "X-Custom: ");
    assert_true(from < subj && subj < to && to < xc);

    /* the body: text part then HTML part, each quoted-printable */
    char delim[160];
    snprintf(delim, sizeof delim,
             "\r\n\r\n--%s\r\nContent-Transfer-Encoding: quoted-printable\r\n"
             "Content-Type: text/plain; charset=UTF-8\r\n\r\n",
             boundary);
    const char *p1 = strstr(m, delim);
    assert_non_null(p1);
    p1 += strlen(delim);
    snprintf(delim, sizeof delim,
             "\r\n--%s\r\nContent-Transfer-Encoding: quoted-printable\r\n"
             "Content-Type: text/html; charset=UTF-8\r\n\r\n",
             boundary);
    const char *e1 = strstr(p1, delim);
    assert_non_null(e1);
    const char *p2 = e1 + strlen(delim);
    snprintf(delim, sizeof delim, "\r\n--%s--\r\n", boundary);
    const char *e2 = strstr(p2, delim);
    assert_non_null(e2);
    assert_string_equal(e2 + strlen(delim), ""); /* the end */

    /* the encoded text as Go writes it: CRLF, the '=' and the space before
     * the line end encoded */
    char *text_qp = vg_strndup(p1, (size_t)(e1 - p1));
    assert_string_equal(text_qp, "[FIRING:2] HighLatency (api page)\r\nsum =3D Latency is "
                                 "high=20\r\na:9090 b:9090=20");
    free(text_qp);
    /* the HTML: vigil's default e-mail template, every line within 76 bytes */
    char *html = qp_decode(p2, (size_t)(e2 - p2));
    char *want_html = render("{{ template \"email.default.html\" . }}", true, 0);
    assert_string_equal(html, want_html);
    assert_non_null(strstr(html, "2 alerts for alertname=HighLatency"));
    assert_non_null(strstr(html, "https://wiki/x?a=1&amp;b=&lt;2&gt;"));
    for (const char *l = p2; l < e2;) {
        const char *nl = strstr(l, "\r\n");
        if (!nl || nl > e2) nl = e2;
        assert_true(nl - l <= 76);
        l = nl + 2;
    }
    free(html);
    free(want_html);
    alert_config_unref(cfg);
}

static void test_email_auth_and_errors(void **state) {
    (void)state;
    /* LOGIN when the server offers only that; password from a file */
    char path[] = "/tmp/vigil-notify-pwXXXXXX";
    int fd = mkstemp(path);
    assert_true(write(fd, "filepw", 6) == 6);
    close(fd);
    srv_reset("LOGIN");
    alert_config_t *cfg =
        load("route: {receiver: r}\nreceivers:\n- name: r\n  email_configs:\n"
             "  - to: a@example.com\n    from: b@example.com\n    smarthost: 127.0.0.1:%d\n"
             "    require_tls: false\n    hello: vigil.test\n    auth_username: u\n"
             "    auth_password_file: %s\n",
             srv.port, path);
    bool retry = true;
    vg_err_t err = {0};
    if (send_mail(cfg, 1, &retry, &err) != 0) fail_msg("%s", err.msg);
    assert_string_equal(srv.hello, "vigil.test");
    assert_string_equal(srv.auth_mech, "LOGIN");
    assert_string_equal(srv.auth_user, "u");
    assert_string_equal(srv.auth_pass, "filepw");
    /* no text part by default: the HTML part only */
    assert_null(strstr(srv.data.data, "text/plain"));
    assert_non_null(strstr(srv.data.data, "text/html"));
    /* rejected credentials, rejected recipient: retried, as Alertmanager */
    srv_reset("LOGIN");
    srv.reject_auth = true;
    assert_int_not_equal(send_mail(cfg, 1, &retry, &err), 0);
    assert_true(retry);
    assert_int_equal(srv.n_messages, 0);
    srv_reset("LOGIN");
    srv.reject_rcpt = true;
    assert_int_not_equal(send_mail(cfg, 1, &retry, &err), 0);
    assert_true(retry);
    alert_config_unref(cfg);
    unlink(path);

    /* no AUTH offered: sent without authenticating */
    srv_reset(NULL);
    cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  email_configs:\n"
               "  - to: a@example.com\n    from: b@example.com\n    smarthost: 127.0.0.1:%d\n"
               "    require_tls: false\n    auth_username: u\n    auth_password: p\n",
               srv.port);
    assert_int_equal(send_mail(cfg, 0, &retry, &err), 0);
    assert_string_equal(srv.auth_user, "");
    assert_int_equal(srv.n_messages, 1);
    alert_config_unref(cfg);

    /* require_tls (the default) and a server without STARTTLS */
    srv_reset(NULL);
    cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  email_configs:\n"
               "  - to: a@example.com\n    from: b@example.com\n    smarthost: 127.0.0.1:%d\n",
               srv.port);
    assert_int_not_equal(send_mail(cfg, 0, &retry, &err), 0);
    assert_true(retry);
    char want[256];
    snprintf(want, sizeof want,
             "'require_tls' is true (default) but \"127.0.0.1:%d\" does not advertise the "
             "STARTTLS extension",
             srv.port);
    assert_string_equal(err.msg, want);
    assert_int_equal(srv.n_messages, 0);
    alert_config_unref(cfg);

    /* bad addresses are not retried; a dead server is */
    cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  email_configs:\n"
               "  - to: nobody\n    from: b@example.com\n    smarthost: 127.0.0.1:%d\n"
               "    require_tls: false\n",
               srv.port);
    assert_int_not_equal(send_mail(cfg, 0, &retry, &err), 0);
    assert_false(retry);
    assert_string_equal(err.msg, "parse 'to' addresses: mail: missing @ in addr-spec");
    alert_config_unref(cfg);
    cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  email_configs:\n"
               "  - to: a@x\n    from: 'a@x, b@x'\n    smarthost: 127.0.0.1:1\n"
               "    require_tls: false\n");
    assert_int_not_equal(send_mail(cfg, 0, &retry, &err), 0);
    assert_false(retry);
    assert_string_equal(err.msg, "must be exactly one 'from' address (got: 2)");
    alert_config_unref(cfg);
    cfg = load("route: {receiver: r}\nreceivers:\n- name: r\n  email_configs:\n"
               "  - to: a@x\n    from: b@x\n    smarthost: 127.0.0.1:1\n    require_tls: false\n");
    assert_int_not_equal(send_mail(cfg, 0, &retry, &err), 0);
    assert_true(retry);
    assert_int_equal(strncmp(err.msg, "establish connection to server: ", 32), 0);
    alert_config_unref(cfg);
}

/* Outputs of Go's mime/quotedprintable Writer and mime.QEncoding. */
static void test_mime(void **state) {
    (void)state;
    static const struct {
        const char *in, *want;
    } qp[] = {
        {"", ""},
        {"foo bar", "foo bar"},
        {"foo bar=", "foo bar=3D"},
        {"foo bar\n", "foo bar\r\n"},
        {"foo bar \n", "foo bar=20\r\n"},
        {"foo bar\t", "foo bar=09"},
        {"foo\r\nbar", "foo\r\nbar"},
        {"foo\rbar", "foo\r\nbar"},
        {"é", "=C3=A9"},
        {"\x01\xff", "=01=FF"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\r\naa"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=",
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\r\n=3D"},
    };
    for (size_t i = 0; i < sizeof qp / sizeof qp[0]; i++) {
        vg_buf_t b = VG_BUF_INIT;
        notify_qp_encode(qp[i].in, strlen(qp[i].in), &b);
        if (strcmp(b.data, qp[i].want) != 0)
            fail_msg("qp %zu: [%s] want [%s]", i, b.data, qp[i].want);
        vg_buf_free(&b);
    }
    static const struct {
        const char *in, *want;
    } q[] = {
        {"plain text\tok", "plain text\tok"},
        {"¡Hola, señor!", "=?utf-8?q?=C2=A1Hola,_se=C3=B1or!?="},
        {"a=b?c_d é", "=?utf-8?q?a=3Db=3Fc=5Fd_=C3=A9?="},
        {"ééééééééééééééééééééééé", /* 23 runes of 6 bytes each encoded: split at 63 */
         "=?utf-8?q?=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9?= "
         "=?utf-8?q?=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9=C3=A9?= "
         "=?utf-8?q?=C3=A9=C3=A9=C3=A9?="},
        {"line\nbreak", "=?utf-8?q?line=0Abreak?="},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        vg_buf_t b = VG_BUF_INIT;
        notify_q_encode_header(q[i].in, &b);
        if (strcmp(b.data, q[i].want) != 0) fail_msg("q %zu: [%s] want [%s]", i, b.data, q[i].want);
        vg_buf_free(&b);
    }
    char **list = NULL;
    vg_err_t err = {0};
    int n = notify_parse_address_list(
        "a@b.c, \"Last, First\" <f.l@x.org>, Name <n@y> , z@w (comment)", &list, &err);
    assert_int_equal(n, 4);
    assert_string_equal(list[0], "a@b.c");
    assert_string_equal(list[1], "f.l@x.org");
    assert_string_equal(list[2], "n@y");
    assert_string_equal(list[3], "z@w");
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
    assert_int_equal(notify_parse_address_list("", &list, &err), -1);
    assert_string_equal(err.msg, "mail: no address");
    assert_int_equal(notify_parse_address_list("Name <a@b", &list, &err), -1);
    assert_string_equal(err.msg, "mail: unclosed angle-addr");
}

/* The committed fuzz corpus replays without a finding. */
static void test_fuzz_corpus(void **state) {
    (void)state;
    DIR *d = opendir(VG_SOURCE_DIR "/fuzz/corpus/notify_mime");
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/fuzz/corpus/notify_mime/%s", VG_SOURCE_DIR, e->d_name);
        char *data;
        size_t len;
        vg_err_t err;
        assert_int_equal(vg_file_read_all(path, 1 << 20, &data, &len, &err), 0);
        LLVMFuzzerTestOneInput((const uint8_t *)data, len);
        free(data);
        n++;
    }
    closedir(d);
    printf("fuzz corpus: %zu inputs replayed\n", n);
    assert_true(n > 10);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_email_auth_and_errors),
        cmocka_unit_test(test_mime),
        cmocka_unit_test(test_fuzz_corpus),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
