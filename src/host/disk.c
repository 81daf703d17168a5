/* This file implements the diskstats collector: the counters of
 * /proc/diskstats for every device that node_exporter's default exclusion
 * keeps, and the udev properties (/run/udev/data/b<major>:<minor>) behind
 * node_disk_info, node_disk_filesystem_info, node_disk_device_mapper_info
 * and node_disk_ata_*. */
#include "host_int.h"

#include <string.h>

#define SECONDS_PER_TICK (1.0 / 1000.0) /* the kernel counts milliseconds */
#define SECTOR_SIZE 512.0               /* diskstats sectors are always 512 bytes */
#define N_DISK_VALUES 17

#define DISK(n, t, help)                                                                           \
    { "node_disk_" n, t, help, NULL }
#define DISK_S(n, help)                                                                            \
    { "node_disk_" n, EXPFMT_COUNTER, help, "seconds" }
#define DISK_B(n, help)                                                                            \
    { "node_disk_" n, EXPFMT_COUNTER, help, "bytes" }
static const host_fam_t disk_fams[] = {
    /* In the order of the /proc/diskstats columns after the name. */
    DISK("reads_completed_total", EXPFMT_COUNTER,
         "The total number of reads completed successfully."),
    DISK("reads_merged_total", EXPFMT_COUNTER, "The total number of reads merged."),
    DISK_B("read_bytes_total", "The total number of bytes read successfully."),
    DISK_S("read_time_seconds_total", "The total number of seconds spent by all reads."),
    DISK("writes_completed_total", EXPFMT_COUNTER,
         "The total number of writes completed successfully."),
    DISK("writes_merged_total", EXPFMT_COUNTER, "The number of writes merged."),
    DISK_B("written_bytes_total", "The total number of bytes written successfully."),
    DISK_S("write_time_seconds_total", "This is the total number of seconds spent by all writes."),
    DISK("io_now", EXPFMT_GAUGE, "The number of I/Os currently in progress."),
    DISK_S("io_time_seconds_total", "Total seconds spent doing I/Os."),
    DISK_S("io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os."),
    DISK("discards_completed_total", EXPFMT_COUNTER,
         "The total number of discards completed successfully."),
    DISK("discards_merged_total", EXPFMT_COUNTER, "The total number of discards merged."),
    DISK("discarded_sectors_total", EXPFMT_COUNTER,
         "The total number of sectors discarded successfully."),
    DISK_S("discard_time_seconds_total",
           "This is the total number of seconds spent by all discards."),
    DISK("flush_requests_total", EXPFMT_COUNTER,
         "The total number of flush requests completed successfully"),
    DISK_S("flush_requests_time_seconds_total",
           "This is the total number of seconds spent by all flush requests."),
    /* From udev. */
    DISK("info", EXPFMT_GAUGE, "Info of /sys/block/<block_device>."),
    DISK("filesystem_info", EXPFMT_GAUGE, "Info about disk filesystem."),
    DISK("device_mapper_info", EXPFMT_GAUGE, "Info about disk device mapper."),
    DISK("ata_write_cache", EXPFMT_GAUGE, "ATA disk has a write cache."),
    DISK("ata_write_cache_enabled", EXPFMT_GAUGE, "ATA disk has its write cache enabled."),
    DISK("ata_rotation_rate_rpm", EXPFMT_GAUGE, "ATA disk rotation rate in RPMs (0 for SSDs)."),
};
enum { FAM_INFO = N_DISK_VALUES, FAM_FS_INFO, FAM_DM_INFO, FAM_ATA_WC, FAM_ATA_WCE, FAM_ATA_RPM };
_Static_assert(sizeof disk_fams / sizeof disk_fams[0] <= HOST_MAX_FAMS, "too many families");

/* What each column is multiplied by to get node_exporter's unit. */
static const double disk_scale[N_DISK_VALUES] = {
    1,
    1,
    SECTOR_SIZE,
    SECONDS_PER_TICK,
    1,
    1,
    SECTOR_SIZE,
    SECONDS_PER_TICK,
    1,
    SECONDS_PER_TICK,
    SECONDS_PER_TICK,
    1,
    1,
    1,
    SECONDS_PER_TICK,
    1,
    SECONDS_PER_TICK,
};

/* The udev properties node_exporter uses, in this order. */
static const char *const udev_keys[] = {
    "ID_PATH",
    "ID_WWN",
    "ID_MODEL",
    "ID_SERIAL_SHORT",
    "ID_REVISION",
    "ID_FS_TYPE",
    "ID_FS_USAGE",
    "ID_FS_UUID",
    "ID_FS_VERSION",
    "DM_NAME",
    "DM_UUID",
    "DM_VG_NAME",
    "DM_LV_NAME",
    "DM_LV_LAYER",
    "ID_ATA",
    "ID_ATA_WRITE_CACHE",
    "ID_ATA_WRITE_CACHE_ENABLED",
    "ID_ATA_ROTATION_RATE_RPM",
};
enum {
    U_PATH,
    U_WWN,
    U_MODEL,
    U_SERIAL,
    U_REVISION,
    U_FS_TYPE,
    U_FS_USAGE,
    U_FS_UUID,
    U_FS_VERSION,
    U_DM_NAME,
    U_DM_UUID,
    U_DM_VG,
    U_DM_LV,
    U_DM_LAYER,
    U_ATA,
    U_ATA_WC,
    U_ATA_WCE,
    U_ATA_RPM,
    N_UDEV
};

/* Reads "E:KEY=VALUE" lines of the device's udev database file into
 * buf (a caller's stack buffer) and points vals into it; "" for missing
 * keys, as a Go map lookup gives. has[] says which keys were present. */
static void udev_read(const host_t *h, unsigned long major, unsigned long minor, char *buf,
                      size_t cap, const char *vals[N_UDEV], bool has[N_UDEV]) {
    for (int i = 0; i < N_UDEV; i++)
        vals[i] = "", has[i] = false;
    char rel[64], path[HOST_PATH_MAX];
    snprintf(rel, sizeof rel, "run/udev/data/b%lu:%lu", major, minor);
    if (host_path_join(path, h->rootfs_path, rel, NULL) != VG_OK ||
        host_read_small(path, buf, cap) != VG_OK)
        return;
    char *cur = buf, *line;
    while ((line = host_next_line(&cur)) != NULL) {
        if (strncmp(line, "E:", 2) != 0) continue;
        char *k = line + 2, *eq = strchr(k, '=');
        if (!eq) continue;
        *eq = '\0';
        for (int i = 0; i < N_UDEV; i++)
            if (strcmp(k, udev_keys[i]) == 0) vals[i] = eq + 1, has[i] = true;
    }
}

int host_diskstats_collect(host_scrape_t *s, vg_err_t *err) {
    host_t *h = s->h;
    char *data;
    int rc = host_read_proc(h, "diskstats", &data, NULL, err);
    if (rc != VG_OK) return rc;
    host_fams_begin(s, disk_fams, sizeof disk_fams / sizeof disk_fams[0]);
    vg_buf_reset(&h->scratch);
    char *cur = data, *line;
    while ((line = host_next_line(&cur)) != NULL) {
        char *lc = line;
        char *f_major = host_next_field(&lc);
        if (!f_major) continue;
        char *f_minor = host_next_field(&lc), *dev = host_next_field(&lc);
        uint64_t major, minor, raw[N_DISK_VALUES];
        if (!dev || host_parse_u64(f_major, &major) != VG_OK ||
            host_parse_u64(f_minor, &minor) != VG_OK || major > 0xffffffffu ||
            minor > 0xffffffffu) {
            s->n_fams = 0;
            return vg_err_set(err, VG_ERR_INPUT, "malformed line in %s/diskstats", h->proc_path);
        }
        int n = 0;
        char *f;
        while (n < N_DISK_VALUES && (f = host_next_field(&lc)) != NULL) {
            if (host_parse_u64(f, &raw[n]) != VG_OK) {
                s->n_fams = 0;
                return vg_err_set(err, VG_ERR_INPUT, "malformed counters for %s in %s/diskstats",
                                  dev, h->proc_path);
            }
            n++;
        }
        /* Kernels before 2.6.25 had fewer columns; node_exporter's parser
         * drops such lines. */
        if (n < 11) continue;
        if (host_device_ignored(h, HOST_F_DISK_EXCLUDE, HOST_F_DISK_INCLUDE, dev)) continue;
        if (host_name_seen(&h->scratch, dev)) continue;

        char udev_buf[16384];
        const char *u[N_UDEV];
        bool has[N_UDEV];
        udev_read(h, (unsigned long)major, (unsigned long)minor, udev_buf, sizeof udev_buf, u, has);
        char ma[24], mi[24];
        snprintf(ma, sizeof ma, "%llu", (unsigned long long)major);
        snprintf(mi, sizeof mi, "%llu", (unsigned long long)minor);
        expfmt_write_samplev(host_fam(s, FAM_INFO), disk_fams[FAM_INFO].name, 1.0, "device", dev,
                             "major", ma, "minor", mi, "model", u[U_MODEL], "path", u[U_PATH],
                             "revision", u[U_REVISION], "serial", u[U_SERIAL], "wwn", u[U_WWN],
                             NULL);
        for (int i = 0; i < n; i++)
            expfmt_write_samplev(host_fam(s, (size_t)i), disk_fams[i].name,
                                 (double)raw[i] * disk_scale[i], "device", dev, NULL);
        if (*u[U_FS_TYPE])
            expfmt_write_samplev(host_fam(s, FAM_FS_INFO), disk_fams[FAM_FS_INFO].name, 1.0,
                                 "device", dev, "type", u[U_FS_TYPE], "usage", u[U_FS_USAGE],
                                 "uuid", u[U_FS_UUID], "version", u[U_FS_VERSION], NULL);
        if (*u[U_DM_NAME])
            expfmt_write_samplev(host_fam(s, FAM_DM_INFO), disk_fams[FAM_DM_INFO].name, 1.0,
                                 "device", dev, "lv_layer", u[U_DM_LAYER], "lv_name", u[U_DM_LV],
                                 "name", u[U_DM_NAME], "uuid", u[U_DM_UUID], "vg_name", u[U_DM_VG],
                                 NULL);
        if (*u[U_ATA]) {
            const struct {
                int key, fam;
            } ata[] = {{U_ATA_WC, FAM_ATA_WC}, {U_ATA_WCE, FAM_ATA_WCE}, {U_ATA_RPM, FAM_ATA_RPM}};
            for (size_t i = 0; i < 3; i++) {
                double v;
                if (has[ata[i].key] && host_parse_double(u[ata[i].key], &v) == VG_OK)
                    expfmt_write_samplev(host_fam(s, (size_t)ata[i].fam),
                                         disk_fams[ata[i].fam].name, v, "device", dev, NULL);
            }
        }
    }
    host_fams_end(s);
    return VG_OK;
}
