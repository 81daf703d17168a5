/* libFuzzer target for the host collectors' /proc parsers. The input is
 * split on NUL bytes into the contents of the /proc files below, in order;
 * files the input does not reach are absent. Every collector then runs
 * over that tree, which must never crash whatever the files hold. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host.h"

static const char *const files[] = {
    "proc/stat",
    "proc/meminfo",
    "proc/vmstat",
    "proc/loadavg",
    "proc/diskstats",
    "proc/mounts",
    "proc/net/dev",
    "proc/net/sockstat",
    "proc/net/sockstat6",
    "proc/sys/fs/file-nr",
    "proc/pressure/cpu",
    "proc/pressure/io",
    "proc/pressure/memory",
};
#define N_FILES (sizeof files / sizeof files[0])

static char root[64];

static void mkdirs(const char *path) {
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_root(void) { nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!root[0]) {
        snprintf(root, sizeof root, "/tmp/vigil-fuzz-host-XXXXXX");
        if (!mkdtemp(root)) abort();
        atexit(remove_root);
    }
    char path[512];
    size_t start = 0;
    for (size_t i = 0; i < N_FILES; i++) {
        snprintf(path, sizeof path, "%s/%s", root, files[i]);
        unlink(path);
        if (start > size) continue;
        const uint8_t *end = memchr(data + start, 0, size - start);
        size_t len = end ? (size_t)(end - (data + start)) : size - start;
        mkdirs(path);
        FILE *f = fopen(path, "wb");
        if (!f) abort();
        fwrite(data + start, 1, len, f);
        fclose(f);
        start += len + 1;
    }
    char proc[128], sys[128], rootfs[128];
    snprintf(proc, sizeof proc, "%s/proc", root);
    snprintf(sys, sizeof sys, "%s/sys", root);
    snprintf(rootfs, sizeof rootfs, "%s/rootfs", root);
    host_t *h = host_new(proc, sys, rootfs, NULL);
    if (!h) abort();
    vg_buf_t out = VG_BUF_INIT;
    expfmt_writer_t w;
    expfmt_writer_init(&w, &out, EXPFMT_TEXT_004);
    host_collect(h, &w);
    host_collect(h, &w); /* the second pass exercises the kept CPU counters */
    vg_buf_free(&out);
    host_free(h);
    return 0;
}
