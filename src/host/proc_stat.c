/* This file implements the two collectors that read /proc/stat: cpu
 * (node_cpu_seconds_total, node_cpu_guest_seconds_total, and from /sys the
 * thermal throttle counts and isolated CPUs) and stat (interrupts, context
 * switches, forks, boot time, running and blocked processes). */
#include "host_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* /proc/stat counts in USER_HZ, which is 100 on every Linux ABI (the value
 * node_exporter's procfs library uses as well). */
#define USER_HZ 100.0
/* An idle counter that goes back by this much means a CPU was replugged
 * (node_exporter's jumpBackSeconds). */
#define JUMP_BACK_SECONDS 3.0
#define N_CPU_FIELDS 10
#define MAX_CPUS 65536

enum {
    F_USER,
    F_NICE,
    F_SYSTEM,
    F_IDLE,
    F_IOWAIT,
    F_IRQ,
    F_SOFTIRQ,
    F_STEAL,
    F_GUEST,
    F_GUEST_NICE
};

/* Parses "cpuN v1 v2 …" (missing trailing fields are 0, as on old kernels). */
static int parse_cpu_line(char *line, host_cpu_prev_t *out) {
    char *cur = line;
    char *name = host_next_field(&cur);
    uint64_t id;
    if (!name || host_parse_u64(name + 3, &id) != VG_OK || id >= MAX_CPUS) return VG_ERR_INPUT;
    out->cpu = (long)id;
    for (int i = 0; i < N_CPU_FIELDS; i++) {
        char *f = host_next_field(&cur);
        uint64_t v = 0;
        if (f && host_parse_u64(f, &v) != VG_OK) return VG_ERR_INPUT;
        out->v[i] = (double)v / USER_HZ;
    }
    return VG_OK;
}

/* Folds the new readings into h->cpu_prev the way node_exporter does: a
 * counter that went down keeps its old value, unless idle went back by
 * JUMP_BACK_SECONDS or more, which resets that CPU. */
static void cpu_update(host_t *h, const host_cpu_prev_t *now, size_t n) {
    bool same = n == h->n_cpu_prev;
    for (size_t i = 0; same && i < n; i++)
        same = h->cpu_prev[i].cpu == now[i].cpu;
    if (!same) {
        free(h->cpu_prev);
        h->cpu_prev = vg_calloc(n ? n : 1, sizeof *h->cpu_prev);
        h->n_cpu_prev = n;
        memcpy(h->cpu_prev, now, n * sizeof *now);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        host_cpu_prev_t *p = &h->cpu_prev[i];
        if (p->v[F_IDLE] - now[i].v[F_IDLE] >= JUMP_BACK_SECONDS) memset(p->v, 0, sizeof p->v);
        for (int f = 0; f < N_CPU_FIELDS; f++)
            if (now[i].v[f] >= p->v[f]) p->v[f] = now[i].v[f];
    }
}

static const host_fam_t cpu_fams[] = {
    {"node_cpu_seconds_total", EXPFMT_COUNTER, "Seconds the CPUs spent in each mode.", "seconds"},
    {"node_cpu_guest_seconds_total", EXPFMT_COUNTER,
     "Seconds the CPUs spent in guests (VMs) for each mode.", "seconds"},
    {"node_cpu_core_throttles_total", EXPFMT_COUNTER,
     "Number of times this CPU core has been throttled.", NULL},
    {"node_cpu_package_throttles_total", EXPFMT_COUNTER,
     "Number of times this CPU package has been throttled.", NULL},
    {"node_cpu_isolated", EXPFMT_GAUGE,
     "Whether each core is isolated, information from /sys/devices/system/cpu/isolated.", NULL},
};
enum { FAM_SECONDS, FAM_GUEST, FAM_CORE_THR, FAM_PKG_THR, FAM_ISOLATED };

/* The modes in the order node_exporter's sorted output shows them. */
static const struct {
    const char *mode;
    int field;
} cpu_modes[] = {
    {"idle", F_IDLE},       {"iowait", F_IOWAIT}, {"irq", F_IRQ},       {"nice", F_NICE},
    {"softirq", F_SOFTIRQ}, {"steal", F_STEAL},   {"system", F_SYSTEM}, {"user", F_USER},
};

typedef struct throttle {
    uint64_t pkg, core, count;
} throttle_t;

/* Per-core and per-package thermal throttle counts, from
 * /sys/devices/system/cpu/cpuN/{topology,thermal_throttle}. A CPU without
 * them is skipped, as node_exporter does. */
static void cpu_throttles(host_scrape_t *s) {
    host_t *h = s->h;
    char dir[HOST_PATH_MAX];
    if (host_path_join(dir, h->sys_path, "devices/system/cpu", NULL) != VG_OK) return;
    vg_buf_reset(&h->scratch);
    size_t n_core = 0;
    throttle_t pkgs[64];
    size_t n_pkg = 0;
    /* node_exporter globs cpu[0-9]*; the CPUs of /proc/stat are the online
     * ones, which are the ones with counters worth reading, and walking
     * them spares an opendir (and its 32 KiB buffer) per scrape. */
    for (size_t i = 0; i < h->n_cpu_prev; i++) {
        long cpu = h->cpu_prev[i].cpu;
        char path[HOST_PATH_MAX], val[64];
        uint64_t pkg, core, count;
        if (host_pathf(path, "%s/cpu%ld/thermal_throttle", dir, cpu) != VG_OK ||
            access(path, F_OK) != 0)
            continue;
        host_pathf(path, "%s/cpu%ld/topology/physical_package_id", dir, cpu);
        if (host_read_small(path, val, sizeof val) != VG_OK || host_parse_u64(val, &pkg) != VG_OK)
            continue;
        host_pathf(path, "%s/cpu%ld/topology/core_id", dir, cpu);
        if (host_read_small(path, val, sizeof val) != VG_OK || host_parse_u64(val, &core) != VG_OK)
            continue;
        host_pathf(path, "%s/cpu%ld/thermal_throttle/core_throttle_count", dir, cpu);
        if (host_read_small(path, val, sizeof val) == VG_OK &&
            host_parse_u64(val, &count) == VG_OK) {
            /* Hyperthreads share a core: one value per (package, core). */
            throttle_t *t = (throttle_t *)h->scratch.data;
            size_t j = 0;
            while (j < n_core && !(t[j].pkg == pkg && t[j].core == core))
                j++;
            if (j == n_core) {
                throttle_t nt = {pkg, core, count};
                vg_buf_append(&h->scratch, &nt, sizeof nt);
                n_core++;
            }
        }
        host_pathf(path, "%s/cpu%ld/thermal_throttle/package_throttle_count", dir, cpu);
        if (host_read_small(path, val, sizeof val) == VG_OK &&
            host_parse_u64(val, &count) == VG_OK) {
            size_t j = 0;
            while (j < n_pkg && pkgs[j].pkg != pkg)
                j++;
            if (j == n_pkg && n_pkg < sizeof pkgs / sizeof pkgs[0])
                pkgs[n_pkg++] = (throttle_t){pkg, 0, count};
        }
    }
    const throttle_t *t = (const throttle_t *)h->scratch.data;
    for (size_t j = 0; j < n_core; j++) {
        char ps[24], cs[24];
        snprintf(ps, sizeof ps, "%llu", (unsigned long long)t[j].pkg);
        snprintf(cs, sizeof cs, "%llu", (unsigned long long)t[j].core);
        expfmt_write_samplev(host_fam(s, FAM_CORE_THR), cpu_fams[FAM_CORE_THR].name,
                             (double)t[j].count, "core", cs, "package", ps, NULL);
    }
    for (size_t j = 0; j < n_pkg; j++) {
        char ps[24];
        snprintf(ps, sizeof ps, "%llu", (unsigned long long)pkgs[j].pkg);
        expfmt_write_samplev(host_fam(s, FAM_PKG_THR), cpu_fams[FAM_PKG_THR].name,
                             (double)pkgs[j].count, "package", ps, NULL);
    }
}

/* /sys/devices/system/cpu/isolated holds a CPU list such as "1-3,8". */
static void cpu_isolated(host_scrape_t *s) {
    char path[HOST_PATH_MAX], val[4096];
    if (host_path_join(path, s->h->sys_path, "devices/system/cpu/isolated", NULL) != VG_OK ||
        host_read_small(path, val, sizeof val) != VG_OK)
        return;
    char *p = val;
    while (*p) {
        char *end;
        unsigned long a = strtoul(p, &end, 10), b = a;
        if (end == p) return;
        p = end;
        if (*p == '-') {
            b = strtoul(p + 1, &end, 10);
            if (end == p + 1 || b < a || b - a > MAX_CPUS) return;
            p = end;
        }
        for (unsigned long c = a; c <= b; c++) {
            char cs[24];
            snprintf(cs, sizeof cs, "%lu", c);
            expfmt_write_samplev(host_fam(s, FAM_ISOLATED), cpu_fams[FAM_ISOLATED].name, 1.0, "cpu",
                                 cs, NULL);
        }
        if (*p == ',')
            p++;
        else if (*p)
            return;
    }
}

int host_cpu_collect(host_scrape_t *s, vg_err_t *err) {
    host_t *h = s->h;
    char *data;
    int rc = host_read_proc(h, "stat", &data, NULL, err);
    if (rc != VG_OK) return rc;
    /* The new readings go to the scratch buffer; the file stays in readbuf. */
    vg_buf_reset(&h->scratch);
    size_t n = 0;
    char *cur = data, *line;
    while ((line = host_next_line(&cur)) != NULL) {
        if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9') continue;
        host_cpu_prev_t c;
        if (parse_cpu_line(line, &c) != VG_OK)
            return vg_err_set(err, VG_ERR_INPUT, "malformed cpu line in %s/stat", h->proc_path);
        vg_buf_append(&h->scratch, &c, sizeof c);
        n++;
    }
    cpu_update(h, (const host_cpu_prev_t *)h->scratch.data, n);

    host_fams_begin(s, cpu_fams, sizeof cpu_fams / sizeof cpu_fams[0]);
    for (size_t i = 0; i < h->n_cpu_prev; i++) {
        const host_cpu_prev_t *c = &h->cpu_prev[i];
        char cs[24];
        snprintf(cs, sizeof cs, "%ld", c->cpu);
        for (size_t m = 0; m < sizeof cpu_modes / sizeof cpu_modes[0]; m++)
            expfmt_write_samplev(host_fam(s, FAM_SECONDS), cpu_fams[FAM_SECONDS].name,
                                 c->v[cpu_modes[m].field], "cpu", cs, "mode", cpu_modes[m].mode,
                                 NULL);
        expfmt_write_samplev(host_fam(s, FAM_GUEST), cpu_fams[FAM_GUEST].name, c->v[F_GUEST_NICE],
                             "cpu", cs, "mode", "nice", NULL);
        expfmt_write_samplev(host_fam(s, FAM_GUEST), cpu_fams[FAM_GUEST].name, c->v[F_GUEST], "cpu",
                             cs, "mode", "user", NULL);
    }
    cpu_throttles(s);
    cpu_isolated(s);
    host_fams_end(s);
    return VG_OK;
}

/* ----------------------------------------------------------------- stat */

static const host_fam_t stat_fams[] = {
    {"node_boot_time_seconds", EXPFMT_GAUGE, "Node boot time, in unixtime.", "seconds"},
    {"node_context_switches_total", EXPFMT_COUNTER, "Total number of context switches.", NULL},
    {"node_forks_total", EXPFMT_COUNTER, "Total number of forks.", NULL},
    {"node_intr_total", EXPFMT_COUNTER, "Total number of interrupts serviced.", NULL},
    {"node_procs_blocked", EXPFMT_GAUGE, "Number of processes blocked waiting for I/O to complete.",
     NULL},
    {"node_procs_running", EXPFMT_GAUGE, "Number of processes in runnable state.", NULL},
};

int host_stat_collect(host_scrape_t *s, vg_err_t *err) {
    static const char *const keys[] = {"btime", "ctxt",          "processes",
                                       "intr",  "procs_blocked", "procs_running"};
    double vals[6] = {0};
    char *data;
    int rc = host_read_proc(s->h, "stat", &data, NULL, err);
    if (rc != VG_OK) return rc;
    char *cur = data, *line;
    while ((line = host_next_line(&cur)) != NULL) {
        char *lc = line;
        char *key = host_next_field(&lc);
        if (!key) continue;
        for (size_t i = 0; i < 6; i++) {
            if (strcmp(key, keys[i]) != 0) continue;
            uint64_t v;
            /* For intr the first number is the total; per-IRQ counts follow. */
            if (host_parse_u64(host_next_field(&lc), &v) != VG_OK)
                return vg_err_set(err, VG_ERR_INPUT, "malformed %s line in %s/stat", key,
                                  s->h->proc_path);
            vals[i] = (double)v;
        }
    }
    for (size_t i = 0; i < 6; i++) {
        host_family(s, &stat_fams[i]);
        expfmt_write_samplev(s->w, stat_fams[i].name, vals[i], NULL);
    }
    return VG_OK;
}
