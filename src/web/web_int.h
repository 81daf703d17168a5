/* Shared inside the web module: the request and response handed to every
 * handler, the route table, and the helpers that reply and return. */
#ifndef VG_WEB_INT_H
#define VG_WEB_INT_H

#include "web.h"

struct MHD_Connection;

typedef struct web_request {
    vg_arena_t *arena; /* freed when the request ends */
    struct MHD_Connection *conn;
    web_app_t *app;
    const char *method;
    const char *path;
    const char *body; /* NUL-terminated; body_len bytes */
    size_t body_len;
} web_request_t;

#define WEB_MAX_HEADERS 4

typedef struct web_response {
    int status;
    const char *content_type; /* static string */
    vg_buf_t body;
    const char *header_names[WEB_MAX_HEADERS];
    const char *header_values[WEB_MAX_HEADERS];
    size_t n_headers;
} web_response_t;

typedef void (*web_handler_fn)(web_request_t *req, web_response_t *res);

enum {
    WEB_GET = 1 << 0,
    WEB_HEAD = 1 << 1,
    WEB_POST = 1 << 2,
    WEB_PUT = 1 << 3,
    WEB_DELETE = 1 << 4,
};

typedef struct web_route {
    const char *path;    /* exact path, or a prefix when it ends with '/' and prefix is set */
    bool prefix;
    unsigned methods;    /* WEB_* mask */
    const char *handler; /* the value of the "handler" label in the HTTP metrics */
    web_handler_fn fn;
    /* Body of the 405 answer, as the peer words it (NULL: "Method Not Allowed"). */
    const char *method_not_allowed;
} web_route_t;

/* The route table, in handlers.c; ends with a NULL path. */
extern const web_route_t web_routes[];

/* Helpers that fill the response; handlers return right after them. */
void web_reply_text(web_response_t *res, int status, const char *text);
void web_reply_json_error(web_response_t *res, int status, const char *error_type,
                          const char *message);
void web_add_header(web_response_t *res, const char *name, const char *value);

/* The value of a request header, or NULL. */
const char *web_header(web_request_t *req, const char *name);

#endif
