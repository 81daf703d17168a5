/*
 * host_int.h — what the files of the host module share: the host struct,
 * the scrape context the collectors write through, and the small helpers
 * that read /proc and /sys files and split them into lines and fields.
 * Nothing here is seen outside src/host/.
 */
#ifndef VG_HOST_INT_H
#define VG_HOST_INT_H

#include <pthread.h>
#include <regex.h>
#include <stdint.h>

#include "host.h"

/* A /proc file bigger than this is treated as malformed (the largest in
 * practice, /proc/1/mounts on a busy Kubernetes node, is a few MiB). */
#define HOST_READ_MAX (16u << 20)
/* Families a single collector writes in one go through host_fams_*. */
#define HOST_MAX_FAMS 24
#define HOST_PATH_MAX 4096

/* A static description of one metric family. unit is given to the writer
 * only for OpenMetrics (NULL when the name has no unit suffix). */
typedef struct host_fam {
    const char *name;
    expfmt_type_t type;
    const char *help;
    const char *unit;
} host_fam_t;

/* A compiled include or exclude filter; unset filters match nothing. */
typedef struct host_filter {
    bool set;
    regex_t re;
} host_filter_t;

enum {
    HOST_F_FS_MOUNT_EXCLUDE = 0,
    HOST_F_FS_TYPE_EXCLUDE,
    HOST_F_DISK_EXCLUDE,
    HOST_F_DISK_INCLUDE,
    HOST_F_NET_EXCLUDE,
    HOST_F_NET_INCLUDE,
    HOST_F_VMSTAT_FIELDS,
    HOST_N_FILTERS,
};

/* Last CPU counters seen, in seconds, for the never-backwards rule. */
typedef struct host_cpu_prev {
    long cpu;
    double v[10]; /* user nice system idle iowait irq softirq steal guest guest_nice */
} host_cpu_prev_t;

#define HOST_N_COLLECTORS_MAX 32

struct host {
    char *proc_path, *sys_path, *rootfs_path;
    pthread_mutex_t lock;
    bool enabled[HOST_N_COLLECTORS_MAX];
    bool last_ok[HOST_N_COLLECTORS_MAX]; /* to log a failure once, not every scrape */
    host_filter_t filters[HOST_N_FILTERS];
    vg_buf_t readbuf;               /* the current /proc file */
    vg_buf_t bodies[HOST_MAX_FAMS]; /* sample lines of buffered families */
    vg_buf_t scratch;               /* per-collector arrays (dedup keys, …) */
    host_cpu_prev_t *cpu_prev;
    size_t n_cpu_prev;
};

/* What a collector writes through during one scrape. */
typedef struct host_scrape {
    host_t *h;
    expfmt_writer_t *w;
    /* Output before this length survives a failure of the running collector
     * (node_exporter keeps metrics sent before an error; the time collector
     * uses it for node_time_seconds). */
    size_t keep_len;
    const host_fam_t *fams;
    size_t n_fams;
    expfmt_writer_t fam_w[HOST_MAX_FAMS];
} host_scrape_t;

typedef int (*host_collect_fn)(host_scrape_t *s, vg_err_t *err);

/* The collectors (one file each or a few per file). */
int host_cpu_collect(host_scrape_t *s, vg_err_t *err);
int host_diskstats_collect(host_scrape_t *s, vg_err_t *err);
int host_filefd_collect(host_scrape_t *s, vg_err_t *err);
int host_filesystem_collect(host_scrape_t *s, vg_err_t *err);
int host_loadavg_collect(host_scrape_t *s, vg_err_t *err);
int host_meminfo_collect(host_scrape_t *s, vg_err_t *err);
int host_netdev_collect(host_scrape_t *s, vg_err_t *err);
int host_pressure_collect(host_scrape_t *s, vg_err_t *err);
int host_sockstat_collect(host_scrape_t *s, vg_err_t *err);
int host_stat_collect(host_scrape_t *s, vg_err_t *err);
int host_time_collect(host_scrape_t *s, vg_err_t *err);
int host_uname_collect(host_scrape_t *s, vg_err_t *err);
int host_vmstat_collect(host_scrape_t *s, vg_err_t *err);

/* ------------------------------------------------------------- helpers */

/* Joins base and rel ("/proc" + "net/dev") into out (HOST_PATH_MAX bytes).
 * Returns 0 or VG_ERR_LIMIT when it does not fit. */
int host_path_join(char *out, const char *base, const char *rel, vg_err_t *err);

/* printf into a path buffer of HOST_PATH_MAX bytes; VG_ERR_LIMIT when the
 * result would not fit (then the path must not be used). */
int host_pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads a whole file into the host's reusable buffer and returns it
 * NUL-terminated in *out_data (valid until the next host_read_file).
 * Returns 0, VG_ERR_NOTFOUND (ENOENT), VG_ERR_IO or VG_ERR_LIMIT. */
int host_read_file(host_t *h, const char *path, char **out_data, size_t *out_len, vg_err_t *err);
/* The same for <proc>/<rel> and <sys>/<rel>. */
int host_read_proc(host_t *h, const char *rel, char **out_data, size_t *out_len, vg_err_t *err);

/* Reads a small file (a sysfs value) into buf of cap bytes, NUL-terminated
 * and with trailing whitespace cut. Returns 0 or a negative code. */
int host_read_small(const char *path, char *buf, size_t cap);

/* Returns the next line of *cursor (NUL-terminated in place) and advances,
 * or NULL at the end. */
char *host_next_line(char **cursor);
/* Returns the next whitespace-separated field of *cursor (NUL-terminated in
 * place) and advances, or NULL when none is left. */
char *host_next_field(char **cursor);

/* Strict number parsing of a whole string: 0 or VG_ERR_INPUT. */
int host_parse_u64(const char *s, uint64_t *out);
int host_parse_double(const char *s, double *out);

/* Whether a filter is set and matches s. */
bool host_filter_match(const host_t *h, int filter, const char *s);
/* node_exporter's device filter: excluded, or an include is set and s does
 * not match it. */
bool host_device_ignored(const host_t *h, int exclude, int include, const char *s);

/* Whether s is made of [A-Za-z0-9_] only, so it can be part of a metric
 * name (a malformed file must not make us write an invalid exposition). */
bool host_name_ok(const char *s);
/* Whether name is already in seen (NUL-separated names); adds it if not.
 * Guards "each family once" against a malformed file repeating a key. */
bool host_name_seen(vg_buf_t *seen, const char *name);

/* Writes a family's HELP/TYPE (UNIT) lines straight to the output. */
void host_family(host_scrape_t *s, const host_fam_t *f);

/* Buffered families, for collectors that go entity by entity (CPU, disk,
 * network device) but must write each family once: begin with the static
 * descriptions, write samples to host_fam(s, i), and end to write every
 * family that got at least one sample (node_exporter leaves out empty
 * families too). */
void host_fams_begin(host_scrape_t *s, const host_fam_t *fams, size_t n_fams);
expfmt_writer_t *host_fam(host_scrape_t *s, size_t i);
void host_fams_end(host_scrape_t *s);

#endif
