/* This file implements request parameters (query string and form bodies)
 * and Prometheus's time parameter syntax. */
#include "web_int.h"

#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_PARAMS 4096

static void param_push(web_request_t *req, size_t *cap, const char *name, const char *value) {
    if (req->n_params == MAX_PARAMS) return;
    if (req->n_params == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        web_param_t *p = vg_arena_alloc(req->arena, ncap * sizeof *p);
        if (!p) return;
        if (req->n_params) memcpy(p, req->params, req->n_params * sizeof *p);
        req->params = p;
        *cap = ncap;
    }
    req->params[req->n_params].name = name;
    req->params[req->n_params].value = value;
    req->n_params++;
}

typedef struct collect_ctx {
    web_request_t *req;
    size_t *cap;
} collect_ctx_t;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value) {
    (void)kind;
    collect_ctx_t *c = cls;
    param_push(c->req, c->cap, key, value ? value : "");
    return MHD_YES;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes one form-urlencoded component into the arena. */
static char *form_decode(vg_arena_t *a, const char *s, size_t n) {
    char *out = vg_arena_alloc(a, n + 1);
    if (!out) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+')
            out[k++] = ' ';
        else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else
            out[k++] = s[i];
    }
    out[k] = '\0';
    return out;
}

static void params_load(web_request_t *req) {
    if (req->params_loaded) return;
    req->params_loaded = true;
    size_t cap = 0;
    collect_ctx_t c = {req, &cap};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &c);
    const char *ct = web_header(req, "Content-Type");
    if (strcmp(req->method, "POST") != 0 || !ct ||
        strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
        return;
    const char *p = req->body, *end = req->body + req->body_len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp) amp = end;
        const char *eq = memchr(p, '=', (size_t)(amp - p));
        if (amp > p) {
            char *name = form_decode(req->arena, p, (size_t)((eq ? eq : amp) - p));
            char *value = eq ? form_decode(req->arena, eq + 1, (size_t)(amp - eq - 1))
                             : form_decode(req->arena, "", 0);
            if (name && value) param_push(req, &cap, name, value);
        }
        p = amp + 1;
    }
}

const char *web_param(web_request_t *req, const char *name) {
    params_load(req);
    for (size_t i = 0; i < req->n_params; i++)
        if (strcmp(req->params[i].name, name) == 0) return req->params[i].value;
    return NULL;
}

size_t web_param_all(web_request_t *req, const char *name, const char ***out) {
    params_load(req);
    size_t n = 0;
    for (size_t i = 0; i < req->n_params; i++)
        n += strcmp(req->params[i].name, name) == 0;
    const char **v = vg_arena_alloc(req->arena, (n ? n : 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; v && i < req->n_params; i++)
        if (strcmp(req->params[i].name, name) == 0) v[k++] = req->params[i].value;
    *out = v;
    return v ? n : 0;
}

/* RFC 3339 with optional fraction and zone: 2006-01-02T15:04:05.999999999Z07:00 */
static int parse_rfc3339(const char *s, int64_t *out_ms) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) return -1;
    int64_t ms = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits < 3) ms = ms * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (digits == 0) return -1;
        for (int d = digits; d < 3; d++)
            ms *= 10;
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2) return -1;
        offset = sign * (hh * 3600 + mm * 60);
        p += 6;
    } else {
        return -1;
    }
    if (*p) return -1;
    int64_t secs = (int64_t)timegm(&tm) - offset;
    *out_ms = secs * 1000 + ms;
    return 0;
}

int web_param_time_or_reply(web_request_t *req, web_response_t *res, const char *name, int64_t def,
                            int64_t *out_ms) {
    const char *v = web_param(req, name);
    if (!v || !*v) {
        *out_ms = def;
        return 0;
    }
    char *end;
    errno = 0;
    double f = strtod(v, &end);
    if (end != v && *end == '\0' && !errno && isfinite(f)) {
        /* Prometheus rounds to the nearest millisecond. */
        double ms = round(f * 1000.0);
        if (ms > 9.2e18 || ms < -9.2e18) goto bad;
        *out_ms = (int64_t)ms;
        return 0;
    }
    /* Prometheus accepts its own min/max time sentinels here too. */
    if (parse_rfc3339(v, out_ms) == 0) return 0;
bad:;
    char msg[512];
    snprintf(msg, sizeof msg,
             "invalid parameter \"%s\": cannot parse \"%.200s\" to a valid timestamp", name, v);
    web_reply_json_error(res, 400, "bad_data", msg);
    return -1;
}
