/* This file implements the e-mail integration over SMTP with libcurl. The
 * message is the one Alertmanager writes: the configured headers (Subject,
 * To and From by default) templated and Q-encoded, a Message-Id, a Date,
 * then a multipart/alternative body with the text part (when `text` is
 * set) and the HTML part, each quoted-printable. The conversation is
 * curl's: smtp:// with STARTTLS required when require_tls, smtps:// for
 * implicit TLS (force_implicit_tls, or port 465 when that is unset), EHLO
 * with `hello`, AUTH (PLAIN or LOGIN with the password, CRAM-MD5 with the
 * secret) when the server offers it and a username is set. */
#include "notify/notify_int.h"

#include "httpc/httpc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct upload {
    const char *p;
    size_t left;
} upload_t;

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud) {
    upload_t *u = ud;
    size_t n = size * nitems < u->left ? size * nitems : u->left;
    memcpy(buf, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

static bool set(const char *s) { return s && *s; }

static void random_hex(char *out, size_t n_bytes) {
    unsigned char r[64];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(r, 1, n_bytes, f) : 0;
    if (f) fclose(f);
    for (size_t i = got; i < n_bytes; i++)
        r[i] = (unsigned char)rand();
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n_bytes; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[2 * n_bytes] = '\0';
}

typedef struct hdr {
    const char *name, *value;
} hdr_t;

static int cmp_hdr(const void *a, const void *b) {
    return strcmp(((const hdr_t *)a)->name, ((const hdr_t *)b)->name);
}

/* Builds the whole message into msg; 0 or VG_ERR with ctx's error set. */
static int build_message(notify_ctx_t *ctx, const alert_email_config_t *c, const char *to_tmpl,
                         const char *from_tmpl, vg_buf_t *msg) {
    /* the headers, with Alertmanager's defaults, in name order (Go walks
     * its map in random order) */
    hdr_t *h = vg_calloc(c->n_headers + 3, sizeof *h);
    size_t n = 0;
    bool has_subject = false, has_to = false, has_from = false, has_msgid = false;
    for (size_t i = 0; i < c->n_headers; i++) {
        h[n].name = c->headers[i].name;
        h[n].value = c->headers[i].value;
        has_subject |= strcmp(h[n].name, "Subject") == 0;
        has_to |= strcmp(h[n].name, "To") == 0;
        has_from |= strcmp(h[n].name, "From") == 0;
        has_msgid |= strcmp(h[n].name, "Message-Id") == 0;
        n++;
    }
    if (!has_subject) h[n++] = (hdr_t){"Subject", "{{ template \"email.default.subject\" . }}"};
    if (!has_to) h[n++] = (hdr_t){"To", to_tmpl};
    if (!has_from) h[n++] = (hdr_t){"From", from_tmpl};
    qsort(h, n, sizeof *h, cmp_hdr);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        vg_buf_t v = VG_BUF_INIT;
        vg_err_t e = {0};
        if (notify_template_execute(ctx->tmpl, h[i].value, false, ctx->data, &v, &e) != 0) {
            rc = notify_fail(ctx, false, "execute \"%s\" header template: %s", h[i].name, e.msg);
            vg_buf_free(&v);
            break;
        }
        if (strpbrk(h[i].name, "\r\n:")) {
            vg_buf_free(&v);
            continue; /* never a header injection */
        }
        vg_buf_printf(msg, "%s: ", h[i].name);
        notify_q_encode_header(v.data ? v.data : "", msg);
        vg_buf_puts(msg, "\r\n");
        vg_buf_free(&v);
    }
    free(h);
    if (rc != 0) return rc;

    if (!has_msgid) {
        char host[256] = "";
        if (gethostname(host, sizeof host - 1) != 0 || !host[0])
            snprintf(host, sizeof host, "localhost.localdomain");
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        char r[17];
        random_hex(r, 8);
        vg_buf_printf(msg, "Message-Id: <%lld.%llu@%s>\r\n",
                      (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec,
                      (unsigned long long)strtoull(r, NULL, 16), host);
    }
    char boundary[61];
    random_hex(boundary, 30);
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char date[64];
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
    vg_buf_printf(msg, "Date: %s\r\n", date);
    vg_buf_printf(msg, "Content-Type: multipart/alternative;  boundary=%s\r\n", boundary);
    vg_buf_puts(msg, "MIME-Version: 1.0\r\n\r\n");

    bool first_part = true;
    for (int part = 0; part < 2; part++) {
        const char *text = part == 0 ? c->text : c->html;
        if (!set(text)) continue;
        vg_buf_t body = VG_BUF_INIT;
        vg_err_t e = {0};
        if (notify_template_execute(ctx->tmpl, text, part == 1, ctx->data, &body, &e) != 0) {
            vg_buf_free(&body);
            return notify_fail(ctx, false, "execute %s template: %s", part == 0 ? "text" : "html",
                               e.msg);
        }
        vg_buf_printf(msg, "%s--%s\r\n", first_part ? "" : "\r\n", boundary);
        first_part = false;
        vg_buf_printf(msg,
                      "Content-Transfer-Encoding: quoted-printable\r\n"
                      "Content-Type: text/%s; charset=UTF-8\r\n\r\n",
                      part == 0 ? "plain" : "html");
        notify_qp_encode(body.data ? body.data : "", body.len, msg);
        vg_buf_free(&body);
    }
    vg_buf_printf(msg, "\r\n--%s--\r\n", boundary);
    return 0;
}

/* What went wrong, in the words of Alertmanager's steps where curl says
 * enough to tell which step failed. */
static const char *stage(CURLcode cc) {
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT: return "establish connection to server";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION: return "establish TLS connection to server";
    case CURLE_LOGIN_DENIED: return "auth";
    default: return "send email";
    }
}

int notify_email_send(notify_ctx_t *ctx) {
    const alert_email_config_t *c = ctx->in->conf;
    const alert_global_t *g = ctx->cfg ? &ctx->cfg->global : NULL;
    const char *smarthost = set(c->smarthost) ? c->smarthost : g ? g->smtp_smarthost : NULL;
    const char *from_t = set(c->from) ? c->from : g && g->smtp_from ? g->smtp_from : "";
    const char *to_t = c->to ? c->to : "";
    const char *hello = set(c->hello)             ? c->hello
                        : g && set(g->smtp_hello) ? g->smtp_hello
                                                  : "localhost";
    if (!set(smarthost)) return notify_fail(ctx, false, "email: no smarthost configured");

    /* the addresses */
    const char *from = notify_tmpl(ctx, from_t);
    if (ctx->tmpl_failed)
        return notify_fail(ctx, false, "execute 'from' template: %s", ctx->tmpl_err.msg);
    const char *to = notify_tmpl(ctx, to_t);
    if (ctx->tmpl_failed)
        return notify_fail(ctx, false, "execute 'to' template: %s", ctx->tmpl_err.msg);
    vg_err_t e = {0};
    char **froms = NULL, **tos = NULL;
    int n_from = notify_parse_address_list(from, &froms, &e), n_to = -1;
    int rc = 0;
    CURL *easy = NULL;
    struct curl_slist *rcpt = NULL, *dummy_hdrs = NULL;
    char *password = NULL;
    vg_buf_t msg = VG_BUF_INIT, url = VG_BUF_INIT, addr = VG_BUF_INIT;
    if (n_from < 0) {
        rc = notify_fail(ctx, false, "parse 'from' addresses: %s", e.msg);
        goto out;
    }
    if (n_from != 1) {
        rc = notify_fail(ctx, false, "must be exactly one 'from' address (got: %d)", n_from);
        goto out;
    }
    n_to = notify_parse_address_list(to, &tos, &e);
    if (n_to < 0) {
        rc = notify_fail(ctx, false, "parse 'to' addresses: %s", e.msg);
        goto out;
    }
    if (build_message(ctx, c, to_t, from_t, &msg) != 0) {
        rc = VG_ERR;
        goto out;
    }

    /* the connection */
    const char *port = strrchr(smarthost, ':');
    bool implicit = c->force_implicit_tls == ALERT_TRUE ||
                    (c->force_implicit_tls == ALERT_UNSET && port && strcmp(port, ":465") == 0);
    vg_buf_printf(&url, "%s://%s/%s", implicit ? "smtps" : "smtp", smarthost, hello);
    httpc_global_init();
    easy = curl_easy_init();
    if (!easy) {
        rc = notify_fail(ctx, true, "curl_easy_init failed");
        goto out;
    }
    /* TLS settings through httpc, then back to the mail protocols */
    config_http_client_t tls_only = {.follow_redirects = false, .enable_http2 = true};
    if (c->tls_config) tls_only.tls_config = *c->tls_config;
    httpc_apply(easy, &tls_only, &dummy_hdrs, NULL);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(easy, CURLOPT_URL, url.data);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)ctx->timeout_ms);
    if (!implicit && c->require_tls) curl_easy_setopt(easy, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (set(c->auth_username)) {
        if (set(c->auth_password_file)) {
            if (notify_read_file(c->auth_password_file, false, &password, &e) != 0) {
                rc = notify_fail(ctx, true, "find auth mechanism: could not read %s: %s",
                                 c->auth_password_file, e.msg);
                goto out;
            }
        } else {
            password = vg_strdup(set(c->auth_password) ? c->auth_password : "");
        }
        /* PLAIN and LOGIN take the password; CRAM-MD5 the secret */
        bool cram = *password == '\0' && set(c->auth_secret);
        if (cram) {
            free(password);
            password = vg_strdup(c->auth_secret);
        }
        curl_easy_setopt(easy, CURLOPT_USERNAME, c->auth_username);
        curl_easy_setopt(easy, CURLOPT_PASSWORD, password);
        curl_easy_setopt(easy, CURLOPT_LOGIN_OPTIONS,
                         cram ? "AUTH=CRAM-MD5" : "AUTH=PLAIN;AUTH=LOGIN");
        if (set(c->auth_identity)) curl_easy_setopt(easy, CURLOPT_SASL_AUTHZID, c->auth_identity);
    }
    vg_buf_printf(&addr, "<%s>", froms[0]);
    curl_easy_setopt(easy, CURLOPT_MAIL_FROM, addr.data);
    for (int i = 0; i < n_to; i++) {
        vg_buf_reset(&addr);
        vg_buf_printf(&addr, "<%s>", tos[i]);
        rcpt = curl_slist_append(rcpt, addr.data);
    }
    curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, rcpt);
    upload_t up = {msg.data, msg.len};
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(easy, CURLOPT_READDATA, &up);
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = curl_easy_perform(easy);
    if (cc == CURLE_USE_SSL_FAILED) {
        rc = notify_fail(ctx, true,
                         "'require_tls' is true (default) but \"%s\" does not advertise the "
                         "STARTTLS extension",
                         smarthost);
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = notify_fail(ctx, true, "%s: context deadline exceeded", stage(cc));
    } else if (cc != CURLE_OK) {
        rc = notify_fail(ctx, true, "%s: %s", stage(cc),
                         errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
out:
    if (easy) curl_easy_cleanup(easy);
    curl_slist_free_all(rcpt);
    curl_slist_free_all(dummy_hdrs);
    for (int i = 0; i < n_from; i++)
        free(froms[i]);
    for (int i = 0; i < n_to; i++)
        free(tos[i]);
    free(froms);
    free(tos);
    if (password) {
        memset(password, 0, strlen(password));
        free(password);
    }
    vg_buf_free(&msg);
    vg_buf_free(&url);
    vg_buf_free(&addr);
    return rc;
}
