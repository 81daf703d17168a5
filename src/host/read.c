/* This file implements the host module's reading helpers: whole /proc files
 * into one reusable buffer (so a scrape does not allocate once the buffer
 * has grown to the biggest file), small sysfs values into the caller's
 * stack buffer, in-place line and field splitting, strict number parsing,
 * the device filters, and the buffered families that let a collector walk
 * entity by entity yet write each family once. */
#include "host_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int host_path_join(char *out, const char *base, const char *rel, vg_err_t *err) {
    size_t bl = strlen(base);
    if (bl == 1 && base[0] == '/') bl = 0; /* "/" + "run" is "/run", not "//run" */
    while (*rel == '/')
        rel++;
    size_t rl = strlen(rel);
    if (bl + 1 + rl + 1 > HOST_PATH_MAX)
        return vg_err_set(err, VG_ERR_LIMIT, "path too long: %s/%s", base, rel);
    memcpy(out, base, bl);
    out[bl] = '/';
    memcpy(out + bl + 1, rel, rl + 1);
    return VG_OK;
}

int host_pathf(char *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, HOST_PATH_MAX, fmt, ap);
    va_end(ap);
    return n >= 0 && n < HOST_PATH_MAX ? VG_OK : VG_ERR_LIMIT;
}

/* Reads fd to EOF into b. /proc files report size 0, and a seq_file is
 * only consistent if read in big chunks, so read with the whole free room. */
static int read_fd(int fd, vg_buf_t *b, const char *path, vg_err_t *err) {
    b->len = 0;
    for (;;) {
        if (b->len >= HOST_READ_MAX)
            return vg_err_set(err, VG_ERR_LIMIT, "%s: over %u bytes", path, HOST_READ_MAX);
        vg_buf_reserve(b, 16384); /* doubles the buffer when less is free */
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len - 1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return vg_err_set(err, VG_ERR_IO, "read %s: %s", path, strerror(errno));
        }
        if (n == 0) break;
        b->len += (size_t)n;
    }
    b->data[b->len] = '\0';
    return VG_OK;
}

int host_read_file(host_t *h, const char *path, char **out_data, size_t *out_len, vg_err_t *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int code = errno == ENOENT ? VG_ERR_NOTFOUND : VG_ERR_IO;
        return vg_err_set(err, code, "open %s: %s", path, strerror(errno));
    }
    int rc = read_fd(fd, &h->readbuf, path, err);
    close(fd);
    if (rc != VG_OK) return rc;
    *out_data = h->readbuf.data;
    if (out_len) *out_len = h->readbuf.len;
    return VG_OK;
}

int host_read_proc(host_t *h, const char *rel, char **out_data, size_t *out_len, vg_err_t *err) {
    char path[HOST_PATH_MAX];
    int rc = host_path_join(path, h->proc_path, rel, err);
    if (rc != VG_OK) return rc;
    return host_read_file(h, path, out_data, out_len, err);
}

int host_read_small(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? VG_ERR_NOTFOUND : VG_ERR_IO;
    ssize_t n;
    do {
        n = read(fd, buf, cap - 1);
    } while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0) return VG_ERR_IO;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        n--;
    buf[n] = '\0';
    return VG_OK;
}

char *host_next_line(char **cursor) {
    char *p = *cursor;
    if (!p || !*p) return NULL;
    char *nl = strchr(p, '\n');
    if (nl) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = p + strlen(p);
    }
    return p;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char *host_next_field(char **cursor) {
    char *p = *cursor;
    while (*p && is_space(*p))
        p++;
    if (!*p) {
        *cursor = p;
        return NULL;
    }
    char *start = p;
    while (*p && !is_space(*p))
        p++;
    if (*p) *p++ = '\0';
    *cursor = p;
    return start;
}

int host_parse_u64(const char *s, uint64_t *out) {
    if (!s || *s < '0' || *s > '9') return VG_ERR_INPUT;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return VG_ERR_INPUT;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return VG_ERR_INPUT;
        v = v * 10 + d;
    }
    *out = v;
    return VG_OK;
}

int host_parse_double(const char *s, double *out) {
    if (!s || !*s) return VG_ERR_INPUT;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || end == s) return VG_ERR_INPUT;
    *out = v;
    return VG_OK;
}

bool host_filter_match(const host_t *h, int filter, const char *s) {
    const host_filter_t *f = &h->filters[filter];
    return f->set && regexec(&f->re, s, 0, NULL, 0) == 0;
}

bool host_device_ignored(const host_t *h, int exclude, int include, const char *s) {
    if (host_filter_match(h, exclude, s)) return true;
    return h->filters[include].set && !host_filter_match(h, include, s);
}

/* Whether s can be part of a metric name (a malformed file must not make
 * us write an invalid exposition). */
bool host_name_ok(const char *s) {
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

/* Whether name was already written in this scrape; remembers it if not.
 * The kernel never repeats a key, but a malformed file must not make us
 * write a family twice. */
bool host_name_seen(vg_buf_t *seen, const char *name) {
    size_t n = strlen(name);
    for (size_t off = 0; off < seen->len;) {
        const char *e = seen->data + off;
        size_t el = strlen(e);
        if (el == n && memcmp(e, name, n) == 0) return true;
        off += el + 1;
    }
    vg_buf_append(seen, name, n + 1);
    return false;
}

/* --------------------------------------------------------------- output */

void host_family(host_scrape_t *s, const host_fam_t *f) {
    expfmt_write_family(s->w, f->name, f->type, f->help, f->unit);
}

void host_fams_begin(host_scrape_t *s, const host_fam_t *fams, size_t n_fams) {
    if (n_fams > HOST_MAX_FAMS) n_fams = HOST_MAX_FAMS; /* callers pass constants below it */
    s->fams = fams;
    s->n_fams = n_fams;
    for (size_t i = 0; i < n_fams; i++) {
        vg_buf_reset(&s->h->bodies[i]);
        expfmt_writer_init(&s->fam_w[i], &s->h->bodies[i], s->w->format);
    }
}

expfmt_writer_t *host_fam(host_scrape_t *s, size_t i) { return &s->fam_w[i < s->n_fams ? i : 0]; }

void host_fams_end(host_scrape_t *s) {
    for (size_t i = 0; i < s->n_fams; i++) {
        vg_buf_t *b = &s->h->bodies[i];
        if (b->len == 0) continue;
        host_family(s, &s->fams[i]);
        vg_buf_append(s->w->out, b->data, b->len);
    }
    s->n_fams = 0;
}
