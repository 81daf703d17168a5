/* This file implements the loadavg collector (node_load1/5/15 from
 * /proc/loadavg) and the pressure collector (pressure stall totals from
 * /proc/pressure/{cpu,io,memory}). */
#include "host_int.h"

#include <string.h>

static const host_fam_t load_fams[] = {
    {"node_load1", EXPFMT_GAUGE, "1m load average.", NULL},
    {"node_load5", EXPFMT_GAUGE, "5m load average.", NULL},
    {"node_load15", EXPFMT_GAUGE, "15m load average.", NULL},
};

int host_loadavg_collect(host_scrape_t *s, vg_err_t *err) {
    char *data;
    int rc = host_read_proc(s->h, "loadavg", &data, NULL, err);
    if (rc != VG_OK) return rc;
    double v[3];
    char *cur = data;
    for (int i = 0; i < 3; i++) {
        char *f = host_next_field(&cur);
        if (!f)
            return vg_err_set(err, VG_ERR_INPUT, "unexpected content in %s/loadavg",
                              s->h->proc_path);
        if (host_parse_double(f, &v[i]) != VG_OK)
            return vg_err_set(err, VG_ERR_INPUT, "could not parse load '%s'", f);
    }
    for (int i = 0; i < 3; i++) {
        host_family(s, &load_fams[i]);
        expfmt_write_samplev(s->w, load_fams[i].name, v[i], NULL);
    }
    return VG_OK;
}

/* ------------------------------------------------------------- pressure */

static const host_fam_t psi_cpu = {"node_pressure_cpu_waiting_seconds_total", EXPFMT_COUNTER,
                                   "Total time in seconds that processes have waited for CPU time",
                                   "seconds"};
static const host_fam_t psi_io = {
    "node_pressure_io_waiting_seconds_total", EXPFMT_COUNTER,
    "Total time in seconds that processes have waited due to IO congestion", "seconds"};
static const host_fam_t psi_io_full = {
    "node_pressure_io_stalled_seconds_total", EXPFMT_COUNTER,
    "Total time in seconds no process could make progress due to IO congestion", "seconds"};
static const host_fam_t psi_mem = {"node_pressure_memory_waiting_seconds_total", EXPFMT_COUNTER,
                                   "Total time in seconds that processes have waited for memory",
                                   "seconds"};
static const host_fam_t psi_mem_full = {
    "node_pressure_memory_stalled_seconds_total", EXPFMT_COUNTER,
    "Total time in seconds no process could make progress due to memory congestion", "seconds"};

/* Reads the "total=" microseconds of the "some" and "full" lines. */
static int psi_read(host_scrape_t *s, const char *res, double *some, double *full, bool *has_full,
                    vg_err_t *err) {
    char rel[64], *data;
    snprintf(rel, sizeof rel, "pressure/%s", res);
    int rc = host_read_proc(s->h, rel, &data, NULL, err);
    if (rc != VG_OK) return rc;
    bool has_some = false;
    *has_full = false;
    char *cur = data, *line;
    while ((line = host_next_line(&cur)) != NULL) {
        char *lc = line;
        char *kind = host_next_field(&lc);
        if (!kind) continue;
        bool is_some = strcmp(kind, "some") == 0;
        if (!is_some && strcmp(kind, "full") != 0)
            return vg_err_set(err, VG_ERR_INPUT, "malformed line in %s/%s", s->h->proc_path, rel);
        char *f;
        bool got = false;
        while ((f = host_next_field(&lc)) != NULL) {
            if (strncmp(f, "total=", 6) != 0) continue;
            uint64_t t;
            if (host_parse_u64(f + 6, &t) != VG_OK) break;
            /* Divided twice, as node_exporter does, for the same float. */
            double sec = (double)t / 1000.0 / 1000.0;
            if (is_some)
                *some = sec, has_some = true;
            else
                *full = sec, *has_full = true;
            got = true;
        }
        if (!got)
            return vg_err_set(err, VG_ERR_INPUT, "malformed %s line in %s/%s", kind,
                              s->h->proc_path, rel);
    }
    if (!has_some)
        return vg_err_set(err, VG_ERR_INPUT, "no \"some\" line in %s/%s", s->h->proc_path, rel);
    return VG_OK;
}

int host_pressure_collect(host_scrape_t *s, vg_err_t *err) {
    double some, full;
    bool has_full;
    /* node_exporter stops at the first resource it cannot read but keeps
     * what it sent before; keep_len does the same. */
    int rc = psi_read(s, "cpu", &some, &full, &has_full, err);
    if (rc != VG_OK) return rc;
    host_family(s, &psi_cpu);
    expfmt_write_samplev(s->w, psi_cpu.name, some, NULL);
    s->keep_len = s->w->out->len;

    rc = psi_read(s, "io", &some, &full, &has_full, err);
    if (rc != VG_OK) return rc;
    if (!has_full) return vg_err_set(err, VG_ERR_INPUT, "no \"full\" line in pressure/io");
    host_family(s, &psi_io);
    expfmt_write_samplev(s->w, psi_io.name, some, NULL);
    host_family(s, &psi_io_full);
    expfmt_write_samplev(s->w, psi_io_full.name, full, NULL);
    s->keep_len = s->w->out->len;

    rc = psi_read(s, "memory", &some, &full, &has_full, err);
    if (rc != VG_OK) return rc;
    if (!has_full) return vg_err_set(err, VG_ERR_INPUT, "no \"full\" line in pressure/memory");
    host_family(s, &psi_mem);
    expfmt_write_samplev(s->w, psi_mem.name, some, NULL);
    host_family(s, &psi_mem_full);
    expfmt_write_samplev(s->w, psi_mem_full.name, full, NULL);
    return VG_OK;
}
