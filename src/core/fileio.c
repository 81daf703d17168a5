/* This file implements durable file I/O and its fault injection. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Countdowns per fault kind: -1 is off. */
static atomic_long fault_countdown[2] = {-1, -1};
static atomic_int fault_errno[2];

void vg_fault_set(vg_fault_kind_t kind, long countdown, int errno_value) {
    atomic_store(&fault_errno[kind], errno_value);
    atomic_store(&fault_countdown[kind], countdown);
}

void vg_fault_clear(void) {
    atomic_store(&fault_countdown[0], -1);
    atomic_store(&fault_countdown[1], -1);
}

int vg_fault_from_env(void) {
    const char *s = getenv("VIGIL_FAULT");
    if (!s || !*s) return VG_OK;
    char kind[16];
    long countdown;
    int e;
    if (sscanf(s, "%15[a-z]:%ld:%d", kind, &countdown, &e) != 3) return VG_ERR_INPUT;
    if (strcmp(kind, "write") == 0)
        vg_fault_set(VG_FAULT_WRITE, countdown, e);
    else if (strcmp(kind, "fsync") == 0)
        vg_fault_set(VG_FAULT_FSYNC, countdown, e);
    else
        return VG_ERR_INPUT;
    return VG_OK;
}

/* Returns the errno to inject for this call (-1 for a torn write), or 0. */
static int fault_check(vg_fault_kind_t kind) {
    long c = atomic_load(&fault_countdown[kind]);
    while (c >= 0) {
        if (atomic_compare_exchange_weak(&fault_countdown[kind], &c, c - 1)) {
            if (c != 0) return 0;
            int e = atomic_load(&fault_errno[kind]);
            return e ? e : -1;
        }
    }
    return 0;
}

static int write_loop(int fd, const char *p, size_t n, int64_t off, bool positional,
                      const char *path, vg_err_t *err) {
    int fault = fault_check(VG_FAULT_WRITE);
    if (fault > 0) return vg_err_set(err, VG_ERR_IO, "write %s: %s", path, strerror(fault));
    size_t limit = fault < 0 ? n / 2 : n; /* torn: half of it reaches the file */
    size_t done = 0;
    while (done < limit) {
        ssize_t w = positional ? pwrite(fd, p + done, limit - done, (off_t)(off + (int64_t)done))
                               : write(fd, p + done, limit - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            return vg_err_set(err, VG_ERR_IO, "write %s: %s", path, strerror(errno));
        }
        done += (size_t)w;
    }
    if (fault < 0) return vg_err_set(err, VG_ERR_IO, "write %s: %s", path, strerror(EIO));
    return VG_OK;
}

int vg_fd_write_all(int fd, const void *p, size_t n, const char *path, vg_err_t *err) {
    return write_loop(fd, p, n, 0, false, path, err);
}

int vg_fd_pwrite_all(int fd, const void *p, size_t n, int64_t off, const char *path,
                     vg_err_t *err) {
    return write_loop(fd, p, n, off, true, path, err);
}

int vg_fd_fsync(int fd, const char *path, vg_err_t *err) {
    int fault = fault_check(VG_FAULT_FSYNC);
    if (fault)
        return vg_err_set(err, VG_ERR_IO, "fsync %s: %s", path, strerror(fault > 0 ? fault : EIO));
    if (fdatasync(fd) != 0)
        return vg_err_set(err, VG_ERR_IO, "fsync %s: %s", path, strerror(errno));
    return VG_OK;
}

int vg_fd_truncate(int fd, int64_t len, const char *path, vg_err_t *err) {
    while (ftruncate(fd, (off_t)len) != 0) {
        if (errno == EINTR) continue;
        return vg_err_set(err, VG_ERR_IO, "truncate %s: %s", path, strerror(errno));
    }
    return VG_OK;
}

int vg_dir_fsync(const char *dir, vg_err_t *err) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return vg_err_set(err, VG_ERR_IO, "open %s: %s", dir, strerror(errno));
    int rc = vg_fd_fsync(fd, dir, err);
    close(fd);
    return rc;
}

int vg_file_write_atomic(const char *path, const void *data, size_t n, vg_err_t *err) {
    size_t plen = strlen(path);
    char *tmp = vg_malloc(plen + 5);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = VG_OK;
    if (fd < 0) {
        rc = vg_err_set(err, VG_ERR_IO, "create %s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    rc = vg_fd_write_all(fd, data, n, tmp, err);
    if (rc == VG_OK) rc = vg_fd_fsync(fd, tmp, err);
    close(fd);
    if (rc == VG_OK && rename(tmp, path) != 0)
        rc = vg_err_set(err, VG_ERR_IO, "rename %s: %s", tmp, strerror(errno));
    if (rc != VG_OK) unlink(tmp);
    free(tmp);
    if (rc == VG_OK) {
        char *dir = vg_strdup(path);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        rc = vg_dir_fsync(slash ? (dir[0] ? dir : "/") : ".", err);
        free(dir);
    }
    return rc;
}

int vg_mkdir_all(const char *path, vg_err_t *err) {
    char *p = vg_strdup(path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                int rc = vg_err_set(err, VG_ERR_IO, "mkdir %s: %s", p, strerror(e));
                free(p);
                return rc;
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    free(p);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return vg_err_set(err, VG_ERR_IO, "%s is not a directory", path);
    return VG_OK;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int vg_remove_all(const char *path, vg_err_t *err) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? VG_OK
                               : vg_err_set(err, VG_ERR_IO, "stat %s: %s", path, strerror(errno));
    if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS) != 0)
        return vg_err_set(err, VG_ERR_IO, "remove %s: %s", path, strerror(errno));
    return VG_OK;
}
