/* This file implements the collectors that describe the system rather than
 * a device: time (clock, time zone and clock sources), uname and filefd. */
#include "host_int.h"

#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* ----------------------------------------------------------------- time */

static const host_fam_t time_fams[] = {
    {"node_time_seconds", EXPFMT_GAUGE, "System time in seconds since epoch (1970).", "seconds"},
    {"node_time_zone_offset_seconds", EXPFMT_GAUGE, "System time zone offset in seconds.",
     "seconds"},
    {"node_time_clocksource_available_info", EXPFMT_GAUGE,
     "Available clocksources read from '/sys/devices/system/clocksource'.", NULL},
    {"node_time_clocksource_current_info", EXPFMT_GAUGE,
     "Current clocksource read from '/sys/devices/system/clocksource'.", NULL},
};
enum { FAM_AVAIL = 2, FAM_CURRENT = 3 };

#define MAX_CLOCKSOURCES 64

int host_time_collect(host_scrape_t *s, vg_err_t *err) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* As node_exporter: float64(now.UnixNano()) / 1e9. */
    double now = (double)((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec) / 1e9;
    struct tm tm;
    time_t sec = ts.tv_sec;
    localtime_r(&sec, &tm);
    host_family(s, &time_fams[0]);
    expfmt_write_samplev(s->w, time_fams[0].name, now, NULL);
    host_family(s, &time_fams[1]);
    expfmt_write_samplev(s->w, time_fams[1].name, (double)tm.tm_gmtoff, "time_zone",
                         tm.tm_zone ? tm.tm_zone : "", NULL);
    /* Like node_exporter, the clock stays in the output even when the
     * clock sources cannot be read. */
    s->keep_len = s->w->out->len;

    char dir[HOST_PATH_MAX];
    int rc = host_path_join(dir, s->h->sys_path, "devices/system/clocksource", err);
    if (rc != VG_OK) return rc;
    /* node_exporter globs clocksource[0-9]*; probing clocksource0, 1, …
     * until one is missing finds the same directories (the kernel numbers
     * them without gaps) without opendir's 32 KiB buffer on every scrape. */
    size_t n = 0;
    char probe[HOST_PATH_MAX];
    while (n < MAX_CLOCKSOURCES && host_pathf(probe, "%s/clocksource%zu", dir, n) == VG_OK &&
           access(probe, F_OK) == 0)
        n++;
    host_fams_begin(s, time_fams, 4);
    rc = VG_OK;
    for (size_t i = 0; i < n && rc == VG_OK; i++) {
        char path[HOST_PATH_MAX], idx[24], avail[1024], cur[256];
        snprintf(idx, sizeof idx, "%zu", i);
        if (host_pathf(path, "%s/clocksource%zu/available_clocksource", dir, i) != VG_OK ||
            host_read_small(path, avail, sizeof avail) != VG_OK) {
            rc = vg_err_set(err, VG_ERR_IO, "couldn't get clocksources: %s", path);
            break;
        }
        if (host_pathf(path, "%s/clocksource%zu/current_clocksource", dir, i) != VG_OK ||
            host_read_small(path, cur, sizeof cur) != VG_OK) {
            rc = vg_err_set(err, VG_ERR_IO, "couldn't get clocksources: %s", path);
            break;
        }
        char *c = avail, *f;
        while ((f = host_next_field(&c)) != NULL)
            expfmt_write_samplev(host_fam(s, FAM_AVAIL), time_fams[FAM_AVAIL].name, 1.0,
                                 "clocksource", f, "device", idx, NULL);
        expfmt_write_samplev(host_fam(s, FAM_CURRENT), time_fams[FAM_CURRENT].name, 1.0,
                             "clocksource", cur, "device", idx, NULL);
    }
    if (rc != VG_OK) {
        s->n_fams = 0;
        return rc;
    }
    host_fams_end(s);
    return VG_OK;
}

/* ---------------------------------------------------------------- uname */

static const host_fam_t uname_fam = {
    "node_uname_info", EXPFMT_GAUGE,
    "Labeled system information as provided by the uname system call.", NULL};

int host_uname_collect(host_scrape_t *s, vg_err_t *err) {
    struct utsname u;
    if (uname(&u) != 0) return vg_err_set(err, VG_ERR_IO, "uname failed");
    host_family(s, &uname_fam);
    expfmt_write_samplev(s->w, uname_fam.name, 1.0, "domainname", u.domainname, "machine",
                         u.machine, "nodename", u.nodename, "release", u.release, "sysname",
                         u.sysname, "version", u.version, NULL);
    return VG_OK;
}

/* --------------------------------------------------------------- filefd */

static const host_fam_t filefd_fams[] = {
    {"node_filefd_allocated", EXPFMT_GAUGE, "File descriptor statistics: allocated.", NULL},
    {"node_filefd_maximum", EXPFMT_GAUGE, "File descriptor statistics: maximum.", NULL},
};

int host_filefd_collect(host_scrape_t *s, vg_err_t *err) {
    char *data;
    int rc = host_read_proc(s->h, "sys/fs/file-nr", &data, NULL, err);
    if (rc != VG_OK) return rc;
    /* "allocated\tunused\tmaximum\n" */
    char *cur = data, *parts[3];
    for (int i = 0; i < 3; i++) {
        parts[i] = host_next_field(&cur);
        if (!parts[i])
            return vg_err_set(err, VG_ERR_INPUT,
                              "unexpected number of file stats in %s/sys/fs/file-nr",
                              s->h->proc_path);
    }
    double alloc, max;
    if (host_parse_double(parts[0], &alloc) != VG_OK || host_parse_double(parts[2], &max) != VG_OK)
        return vg_err_set(err, VG_ERR_INPUT, "invalid value in %s/sys/fs/file-nr", s->h->proc_path);
    host_family(s, &filefd_fams[0]);
    expfmt_write_samplev(s->w, filefd_fams[0].name, alloc, NULL);
    host_family(s, &filefd_fams[1]);
    expfmt_write_samplev(s->w, filefd_fams[1].name, max, NULL);
    return VG_OK;
}
