/* This file implements error values and the aborting heap wrapper. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

int vg_err_set(vg_err_t *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void vg_err_prefix(vg_err_t *err, const char *fmt, ...) {
    if (!err) return;
    char prefix[VG_ERR_MSG_MAX], old[VG_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    memcpy(err->msg, prefix, n);
    size_t room = sizeof err->msg - 1 - n, m = strnlen(old, room);
    memcpy(err->msg + n, old, m);
    err->msg[n + m] = '\0';
}

static void oom(size_t n) {
    fprintf(stderr, "vigil: out of memory allocating %zu bytes\n", n);
    abort();
}

void *vg_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *vg_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) oom(count * size);
    return p;
}

void *vg_realloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *vg_strdup(const char *s) { return vg_strndup(s, strlen(s)); }

char *vg_strndup(const char *s, size_t n) {
    char *p = vg_malloc(n + 1);
    if (n) memcpy(p, s, n); /* s may be NULL when n is 0 */
    p[n] = '\0';
    return p;
}
