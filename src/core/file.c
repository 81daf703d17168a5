/* This file implements whole-file reads with a size limit checked before
 * allocating. (Durable writes will join it when storage arrives, so that
 * tests can inject I/O faults in one place.) */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>

int vg_file_read_all(const char *path, size_t max_len, char **out_data, size_t *out_len,
                     vg_err_t *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return vg_err_set(err, VG_ERR_IO, "open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return vg_err_set(err, VG_ERR_IO, "stat %s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return vg_err_set(err, VG_ERR_IO, "read %s: is a directory", path);
    }
    if (S_ISREG(st.st_mode) && (size_t)st.st_size > max_len) {
        close(fd);
        return vg_err_set(err, VG_ERR_LIMIT, "%s: file of %lld bytes is over the limit of %zu",
                          path, (long long)st.st_size, max_len);
    }
    /* Files in /proc report size 0, so read until EOF in every case. */
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_reserve(&b, S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size : 4096);
    for (;;) {
        if (b.len > max_len) {
            close(fd);
            vg_buf_free(&b);
            return vg_err_set(err, VG_ERR_LIMIT, "%s: over the limit of %zu bytes", path, max_len);
        }
        vg_buf_reserve(&b, 4096);
        ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            vg_buf_free(&b);
            return vg_err_set(err, VG_ERR_IO, "read %s: %s", path, strerror(e));
        }
        if (n == 0) break;
        b.len += (size_t)n;
    }
    close(fd);
    b.data[b.len] = '\0';
    if (out_len) *out_len = b.len;
    *out_data = vg_buf_detach(&b);
    return VG_OK;
}
