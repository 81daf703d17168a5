/* This file implements the filesystem collector: the mounts of PID 1 (or
 * of the system when that is hidden), filtered by node_exporter's default
 * mount-point and fs-type exclusions, each measured with statfs(2). */
#include "host_int.h"

#include <string.h>
#include <sys/statfs.h>

static const host_fam_t fs_fams[] = {
    {"node_filesystem_avail_bytes", EXPFMT_GAUGE,
     "Filesystem space available to non-root users in bytes.", "bytes"},
    {"node_filesystem_device_error", EXPFMT_GAUGE,
     "Whether an error occurred while getting statistics for the given device.", NULL},
    {"node_filesystem_files", EXPFMT_GAUGE, "Filesystem total file nodes.", NULL},
    {"node_filesystem_files_free", EXPFMT_GAUGE, "Filesystem total free file nodes.", NULL},
    {"node_filesystem_free_bytes", EXPFMT_GAUGE, "Filesystem free space in bytes.", "bytes"},
    {"node_filesystem_readonly", EXPFMT_GAUGE, "Filesystem read-only status.", NULL},
    {"node_filesystem_size_bytes", EXPFMT_GAUGE, "Filesystem size in bytes.", "bytes"},
};
enum { FAM_AVAIL, FAM_ERROR, FAM_FILES, FAM_FILES_FREE, FAM_FREE, FAM_RO, FAM_SIZE };

/* fstab(5) escapes: node_exporter undoes \040 (space) and \011 (tab) in
 * the mount point, and nothing else. In place. */
static void unescape_mountpoint(char *p) {
    char *o = p;
    while (*p) {
        if (p[0] == '\\' && p[1] == '0' && p[2] == '4' && p[3] == '0')
            *o++ = ' ', p += 4;
        else if (p[0] == '\\' && p[1] == '0' && p[2] == '1' && p[3] == '1')
            *o++ = '\t', p += 4;
        else
            *o++ = *p++;
    }
    *o = '\0';
}

static uint64_t fnv1a(uint64_t h, const char *s) {
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (h ^ 0xff) * 1099511628211ull; /* field separator */
}

static bool has_option(const char *opts, const char *want) {
    size_t wl = strlen(want);
    for (const char *p = opts; *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l == wl && memcmp(p, want, l) == 0) return true;
        if (!c) break;
        p = c + 1;
    }
    return false;
}

int host_filesystem_collect(host_scrape_t *s, vg_err_t *err) {
    host_t *h = s->h;
    char *data;
    size_t len;
    int rc = host_read_proc(h, "1/mounts", &data, &len, err);
    if (rc == VG_ERR_NOTFOUND) rc = host_read_proc(h, "mounts", &data, &len, err);
    if (rc != VG_OK) return rc;

    /* node_exporter skips a mount it has already reported with the same
     * device, mount point, type and options. A hash set sized from the
     * line count keeps that linear on hosts with thousands of mounts. */
    size_t n_lines = 1;
    for (size_t i = 0; i < len; i++)
        n_lines += data[i] == '\n';
    size_t cap = 16;
    while (cap < n_lines * 2)
        cap *= 2;
    vg_buf_reset(&h->scratch);
    vg_buf_reserve(&h->scratch, cap * sizeof(uint64_t));
    uint64_t *set = (uint64_t *)h->scratch.data;
    memset(set, 0, cap * sizeof(uint64_t));

    size_t root_len = strcmp(h->rootfs_path, "/") == 0 ? 0 : strlen(h->rootfs_path);
    host_fams_begin(s, fs_fams, sizeof fs_fams / sizeof fs_fams[0]);
    char *cur = data, *line;
    while ((line = host_next_line(&cur)) != NULL) {
        char *lc = line;
        char *dev = host_next_field(&lc), *mp = host_next_field(&lc);
        char *type = host_next_field(&lc), *opts = host_next_field(&lc);
        if (!dev) continue;
        if (!opts) {
            s->n_fams = 0;
            return vg_err_set(err, VG_ERR_INPUT, "malformed mount point information: %s", dev);
        }
        unescape_mountpoint(mp);
        /* With --path.rootfs, mount points are reported as seen from it. */
        if (root_len && strncmp(mp, h->rootfs_path, root_len) == 0) {
            mp += root_len;
            if (!*mp) mp = "/";
        }
        if (host_filter_match(h, HOST_F_FS_MOUNT_EXCLUDE, mp)) continue;
        if (host_filter_match(h, HOST_F_FS_TYPE_EXCLUDE, type)) continue;

        uint64_t key = fnv1a(fnv1a(fnv1a(fnv1a(1469598103934665603ull, dev), mp), type), opts) | 1;
        size_t slot = (size_t)key & (cap - 1);
        while (set[slot] && set[slot] != key)
            slot = (slot + 1) & (cap - 1);
        if (set[slot] == key) continue;
        set[slot] = key;

        char path[HOST_PATH_MAX];
        struct statfs st;
        bool ok = host_path_join(path, h->rootfs_path, mp, NULL) == VG_OK && statfs(path, &st) == 0;
        expfmt_write_samplev(host_fam(s, FAM_ERROR), fs_fams[FAM_ERROR].name, ok ? 0.0 : 1.0,
                             "device", dev, "fstype", type, "mountpoint", mp, NULL);
        if (!ok) continue;
        double bsize = (double)st.f_bsize;
        const struct {
            int fam;
            double v;
        } vals[] = {
            {FAM_SIZE, (double)st.f_blocks * bsize},  {FAM_FREE, (double)st.f_bfree * bsize},
            {FAM_AVAIL, (double)st.f_bavail * bsize}, {FAM_FILES, (double)st.f_files},
            {FAM_FILES_FREE, (double)st.f_ffree},     {FAM_RO, has_option(opts, "ro") ? 1.0 : 0.0},
        };
        for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
            expfmt_write_samplev(host_fam(s, (size_t)vals[i].fam), fs_fams[vals[i].fam].name,
                                 vals[i].v, "device", dev, "fstype", type, "mountpoint", mp, NULL);
    }
    host_fams_end(s);
    return VG_OK;
}
