/* This file implements the netdev collector (per-device counters from
 * /proc/net/dev, under node_exporter's legacy names) and the sockstat
 * collector (/proc/net/sockstat and sockstat6). */
#include "host_int.h"

#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- netdev */

/* The 16 columns of /proc/net/dev in order, then rx_nohandler, which only
 * /sys has. The kernel already folds the detailed error counters into
 * these columns the way node_exporter's "legacy" mapping folds its netlink
 * counters (drop = dropped + missed, frame = frame + length + over + crc,
 * carrier = carrier + aborted + window + heartbeat), so the values agree. */
#define NETDEV_FAM(n)                                                                              \
    { "node_network_" n "_total", EXPFMT_COUNTER, "Network device statistic " n ".", NULL }
static const host_fam_t netdev_fams[] = {
    NETDEV_FAM("receive_bytes"),      NETDEV_FAM("receive_packets"),
    NETDEV_FAM("receive_errs"),       NETDEV_FAM("receive_drop"),
    NETDEV_FAM("receive_fifo"),       NETDEV_FAM("receive_frame"),
    NETDEV_FAM("receive_compressed"), NETDEV_FAM("receive_multicast"),
    NETDEV_FAM("transmit_bytes"),     NETDEV_FAM("transmit_packets"),
    NETDEV_FAM("transmit_errs"),      NETDEV_FAM("transmit_drop"),
    NETDEV_FAM("transmit_fifo"),      NETDEV_FAM("transmit_colls"),
    NETDEV_FAM("transmit_carrier"),   NETDEV_FAM("transmit_compressed"),
    NETDEV_FAM("receive_nohandler"),
};
#define N_NETDEV_COLS 16

int host_netdev_collect(host_scrape_t *s, vg_err_t *err) {
    host_t *h = s->h;
    char *data;
    int rc = host_read_proc(h, "net/dev", &data, NULL, err);
    if (rc != VG_OK) return rc;
    host_fams_begin(s, netdev_fams, sizeof netdev_fams / sizeof netdev_fams[0]);
    vg_buf_reset(&h->scratch);
    char *cur = data, *line;
    int lineno = 0;
    while ((line = host_next_line(&cur)) != NULL) {
        if (++lineno <= 2) continue; /* the two header lines */
        char *colon = strchr(line, ':');
        if (!colon) {
            if (host_next_field(&line) == NULL) continue; /* blank */
            s->n_fams = 0;
            return vg_err_set(err, VG_ERR_INPUT, "malformed line %d in %s/net/dev", lineno,
                              h->proc_path);
        }
        *colon = '\0';
        char *nc = line;
        char *dev = host_next_field(&nc);
        if (!dev || host_next_field(&nc) || strchr(dev, '/')) {
            s->n_fams = 0;
            return vg_err_set(err, VG_ERR_INPUT, "malformed line %d in %s/net/dev", lineno,
                              h->proc_path);
        }
        double v[N_NETDEV_COLS];
        char *vc = colon + 1;
        for (int i = 0; i < N_NETDEV_COLS; i++) {
            uint64_t u;
            if (host_parse_u64(host_next_field(&vc), &u) != VG_OK) {
                s->n_fams = 0;
                return vg_err_set(err, VG_ERR_INPUT, "malformed counters for %s in %s/net/dev", dev,
                                  h->proc_path);
            }
            v[i] = (double)u;
        }
        if (host_device_ignored(h, HOST_F_NET_EXCLUDE, HOST_F_NET_INCLUDE, dev)) continue;
        if (host_name_seen(&h->scratch, dev)) continue;
        for (int i = 0; i < N_NETDEV_COLS; i++)
            expfmt_write_samplev(host_fam(s, (size_t)i), netdev_fams[i].name, v[i], "device", dev,
                                 NULL);
        /* node_exporter reads rx_nohandler over netlink, where a device
         * that does not count it says 0. */
        char path[HOST_PATH_MAX], val[32];
        uint64_t nh = 0;
        if (host_pathf(path, "%s/class/net/%s/statistics/rx_nohandler", h->sys_path, dev) ==
                VG_OK &&
            host_read_small(path, val, sizeof val) == VG_OK && host_parse_u64(val, &nh) != VG_OK)
            nh = 0;
        expfmt_write_samplev(host_fam(s, N_NETDEV_COLS), netdev_fams[N_NETDEV_COLS].name,
                             (double)nh, "device", dev, NULL);
    }
    host_fams_end(s);
    return VG_OK;
}

/* -------------------------------------------------------------- sockstat */

static const char *const sock_states[] = {"inuse", "orphan", "tw", "alloc", "mem", "memory"};
#define N_SOCK_STATES 6

/* One file: "sockets: used N" and "PROTO: key value key value …" lines.
 * A missing file is no error (no IPv6, for example). */
static int sockstat_file(host_scrape_t *s, const char *rel, bool v4, vg_err_t *err) {
    char *data;
    int rc = host_read_proc(s->h, rel, &data, NULL, err);
    if (rc == VG_ERR_NOTFOUND) return VG_OK;
    if (rc != VG_OK) return rc;
    long page = sysconf(_SC_PAGESIZE);
    char *cur = data, *line;
    while ((line = host_next_line(&cur)) != NULL) {
        char *lc = line;
        char *proto = host_next_field(&lc);
        if (!proto) continue;
        size_t pl = strlen(proto);
        if (pl < 2 || proto[pl - 1] != ':')
            return vg_err_set(err, VG_ERR_INPUT, "malformed line in %s/%s", s->h->proc_path, rel);
        proto[pl - 1] = '\0';
        bool have[N_SOCK_STATES] = {false};
        double val[N_SOCK_STATES] = {0};
        double used = 0;
        bool have_used = false;
        char *k;
        while ((k = host_next_field(&lc)) != NULL) {
            char *vs = host_next_field(&lc);
            uint64_t u;
            if (!vs || host_parse_u64(vs, &u) != VG_OK)
                return vg_err_set(err, VG_ERR_INPUT, "malformed %s line in %s/%s", proto,
                                  s->h->proc_path, rel);
            if (strcmp(k, "used") == 0) used = (double)u, have_used = true;
            for (int i = 0; i < N_SOCK_STATES; i++)
                if (strcmp(k, sock_states[i]) == 0) val[i] = (double)u, have[i] = true;
        }
        if (strcmp(proto, "sockets") == 0) {
            if (v4 && have_used && !host_name_seen(&s->h->scratch, "sockets_used")) {
                static const host_fam_t f = {"node_sockstat_sockets_used", EXPFMT_GAUGE,
                                             "Number of IPv4 sockets in use.", NULL};
                host_family(s, &f);
                expfmt_write_samplev(s->w, f.name, used, NULL);
            }
            continue;
        }
        if (!host_name_ok(proto))
            return vg_err_set(err, VG_ERR_INPUT, "malformed protocol in %s/%s", s->h->proc_path,
                              rel);
        /* inuse is always there for a protocol (procfs reads it as 0 when
         * missing); the others only when the kernel prints them. */
        have[0] = true;
        for (int i = 0; i <= N_SOCK_STATES; i++) {
            bool bytes = i == N_SOCK_STATES; /* mem_bytes = mem pages × page size */
            if (bytes ? !have[4] : !have[i]) continue;
            char name[160], help[200];
            const char *st = bytes ? "mem_bytes" : sock_states[i];
            if ((size_t)snprintf(name, sizeof name, "node_sockstat_%s_%s", proto, st) >=
                sizeof name)
                return vg_err_set(err, VG_ERR_INPUT, "protocol name too long in %s/%s",
                                  s->h->proc_path, rel);
            if (host_name_seen(&s->h->scratch, name)) continue;
            snprintf(help, sizeof help, "Number of %s sockets in state %s.", proto, st);
            host_fam_t f = {name, EXPFMT_GAUGE, help, NULL};
            host_family(s, &f);
            expfmt_write_samplev(s->w, name, bytes ? val[4] * (double)page : val[i], NULL);
        }
    }
    return VG_OK;
}

int host_sockstat_collect(host_scrape_t *s, vg_err_t *err) {
    vg_buf_reset(&s->h->scratch);
    int rc = sockstat_file(s, "net/sockstat", true, err);
    if (rc == VG_OK) rc = sockstat_file(s, "net/sockstat6", false, err);
    return rc;
}
