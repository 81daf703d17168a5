/*
 * host — host metrics under node_exporter's names.
 *
 * What it does: reads /proc and /sys (and statfs(2), uname(2), the clock)
 * and writes, through the exposition writer, the metric families that
 * node_exporter 1.5 writes for its collectors cpu, diskstats, filefd,
 * filesystem, loadavg, meminfo, netdev, pressure, sockstat, stat, time,
 * uname and vmstat: the same metric names, label names, label values, HELP
 * texts and types, and the same default device, mount-point and fs-type
 * exclusions. Like node_exporter it adds
 * node_scrape_collector_duration_seconds{collector} and
 * node_scrape_collector_success{collector}: a collector whose file is
 * missing or malformed reports success 0 and writes nothing, and the others
 * go on. docs/host-metrics.md lists what is covered and the differences.
 *
 * What it owns: a host_t holds the root paths, which collectors are on, the
 * compiled filters, one reusable read buffer and per-family scratch buffers
 * (so a scrape allocates nothing once warmed up), and the last CPU counters
 * (node_exporter never lets a CPU counter go backwards; neither do we).
 *
 * Threads: any thread may call any function. host_collect and
 * host_collector_set_enabled / host_option_set take the host's mutex, so
 * concurrent scrapes run one after the other.
 */
#ifndef VG_HOST_H
#define VG_HOST_H

#include <stdbool.h>

#include "core/core.h"
#include "expfmt/expfmt.h"

typedef struct host host_t;

/* One entry of the collector table as the outside sees it. */
typedef struct host_collector_info {
    const char *name;     /* node_exporter's collector name: "cpu", "meminfo", … */
    bool default_enabled; /* on unless turned off (as in node_exporter) */
} host_collector_info_t;

/* All collectors, in name order, ending with an entry whose name is NULL.
 * The array is static; the caller never frees it. */
const host_collector_info_t *host_collectors(void);

/* Makes a host reader over the given roots: "/proc", "/sys" and "/" on a
 * real machine, a fixture tree in tests. rootfs_path is node_exporter's
 * --path.rootfs: mount points are statfs'ed below it and stripped of it,
 * and udev data is read from <rootfs>/run/udev/data. The strings are
 * copied. Returns NULL (and sets err) only if a path is empty or too long.
 * All default collectors are on. The caller frees with host_free. */
host_t *host_new(const char *proc_path, const char *sys_path, const char *rootfs_path,
                 vg_err_t *err);
void host_free(host_t *h);

/* Turns one collector on or off. Unknown name: VG_ERR_NOTFOUND. */
int host_collector_set_enabled(host_t *h, const char *name, bool on, vg_err_t *err);
/* Whether a collector is on now; false for an unknown name. */
bool host_collector_enabled(host_t *h, const char *name);

/* Sets one of node_exporter's collector options, named as its flag without
 * the leading "collector." (so that `--collector.<name>=<value>` flags can
 * be passed through):
 *   filesystem.mount-points-exclude, filesystem.fs-types-exclude,
 *   diskstats.device-exclude, diskstats.device-include,
 *   netdev.device-exclude, netdev.device-include, vmstat.fields
 * The value is a regular expression in the RE2 subset that POSIX extended
 * regexes share (plus \d, \s, \w); "" clears an include/exclude filter.
 * Unknown name: VG_ERR_NOTFOUND; bad regex: VG_ERR_INPUT. */
int host_option_set(host_t *h, const char *name, const char *value, vg_err_t *err);

/* Writes the families of every enabled collector, then the two
 * node_scrape_collector_* families, into w. Each family is written once,
 * with HELP and TYPE (and UNIT in OpenMetrics). Never fails as a whole:
 * problems show as node_scrape_collector_success 0. Borrows w. */
void host_collect(host_t *h, expfmt_writer_t *w);

#endif
