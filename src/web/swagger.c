/* This file implements the answers the Alertmanager API v2 endpoints share,
 * as Alertmanager's go-swagger server gives them: JSON-string payloads,
 * go-openapi error bodies and the consumer's check of the request's media
 * type. */
#include "web_int.h"

#include <string.h>

#include "labels/labels.h"

void web_reply_json_string(web_response_t *res, int status, const char *msg) {
    vg_buf_reset(&res->body);
    web_json_cstr(&res->body, msg);
    /* go-swagger writes payloads with json.Encoder: a newline follows. */
    vg_buf_putc(&res->body, '\n');
    res->status = status;
    res->content_type = "application/json";
}

void web_reply_swagger_error(web_response_t *res, int status, int code, const char *msg) {
    vg_buf_reset(&res->body);
    vg_buf_printf(&res->body, "{\"code\":%d,\"message\":", code);
    web_json_cstr(&res->body, msg);
    vg_buf_putc(&res->body, '}');
    res->status = status;
    res->content_type = "application/json";
}

bool web_swagger_json_or_reply(web_request_t *req, web_response_t *res) {
    const char *ct = web_header(req, "Content-Type");
    char media[128] = "application/octet-stream"; /* Go's default for a missing type */
    if (ct && *ct) {
        size_t n = strcspn(ct, ";");
        while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
            n--;
        while (n && (*ct == ' ' || *ct == '\t'))
            ct++, n--;
        if (n >= sizeof media) n = sizeof media - 1;
        for (size_t i = 0; i < n; i++)
            media[i] = (char)((ct[i] >= 'A' && ct[i] <= 'Z') ? ct[i] + 32 : ct[i]);
        media[n] = '\0';
    }
    if (strcmp(media, "application/json") == 0) return true;
    vg_buf_t m = VG_BUF_INIT;
    vg_buf_puts(&m, "unsupported media type ");
    labels_quote(&m, media, strlen(media));
    vg_buf_puts(&m, ", only [application/json] are allowed");
    web_reply_swagger_error(res, 415, 415, m.data);
    vg_buf_free(&m);
    return false;
}
