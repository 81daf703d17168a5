/* This file implements a remote_write load generator: it sends the same
 * synthetic workload to any receiver of Prometheus remote_write 1.0 (vigil,
 * Prometheus with --web.enable-remote-write-receiver) over a few concurrent
 * keep-alive connections, and reports requests/s, samples/s and errors.
 * bench/storage.py drives it against both servers.
 *
 * Workload: --series series, --samples samples each, --interval apart, the
 * first at --start. Series are grouped into hosts of about 350 series with
 * node_exporter's families and label sets (instance, job, cpu, mode,
 * device, mountpoint …); every series of a host shares its scrape timestamp,
 * which carries a fixed phase inside the interval plus a few ms of jitter
 * per scrape. Values follow --model: "node" (counters that grow at
 * per-series rates, in whole numbers or hundredths as node_exporter's do;
 * gauges that stay constant, walk in pages or carry full-precision
 * durations) or "random" (uniform random float64s: the worst case for XOR
 * compression).
 *
 * Time order: each connection owns a fixed slice of the series and sends
 * them in time order, and all connections meet at a barrier after every
 * --steps timestamps, so the whole workload moves forward in time together
 * (Prometheus only takes old data into an empty store in time order, and
 * never more than an hour behind its newest sample).
 *
 * Without --url it only builds and compresses the requests and reports how
 * fast it can (the generator's own ceiling), which is what `bench/run`
 * gets when it runs every bench_* program without arguments.
 *
 * The last line of output is "RESULT {json}" for scripts. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest/rw_decode.h"

#define MAX_LABELS 10
#define MAX_CONNECTIONS 64

/* ------------------------------------------------------------ value kinds */

typedef enum kind {
    K_CPU,      /* counter in seconds, hundredths, rate 0..1 per second */
    K_COUNT,    /* counter, whole numbers, rate set per series */
    K_BYTES,    /* counter, whole numbers, high rates */
    K_RARE,     /* counter that moves by one now and then */
    K_ZERO,     /* counter that stays 0 */
    K_CONST,    /* gauge that never changes */
    K_PAGES,    /* gauge walking in multiples of 4096 */
    K_SMALL,    /* small integer gauge, 0..param */
    K_LOAD,     /* load average, hundredths */
    K_DURATION, /* seconds, full precision (scrape durations) */
    K_ONE,      /* gauge 1 (up, success) */
    K_TIME,     /* node_time_seconds: the sample's time with microseconds */
} kind_t;

/* One series of the per-host template. */
typedef struct tmpl_series {
    ingest_rw_label_t labels[MAX_LABELS]; /* without instance; sorted later */
    size_t n_labels;
    kind_t kind;
    double param; /* rate per second, constant, or range; drawn per series */
} tmpl_series_t;

typedef struct tmpl {
    tmpl_series_t *s;
    size_t n, cap;
} tmpl_t;

static const char *const cpu_modes[] = {"idle",    "iowait", "irq",    "nice",
                                        "softirq", "steal",  "system", "user"};
static const double cpu_rates[] = {0.85, 0.01, 0.002, 0.001, 0.004, 0.0, 0.04, 0.09};
static const char *const cpus[] = {"0", "1", "2", "3", "4", "5", "6", "7"};
static const char *const disks[] = {"dm-0", "nvme0n1", "sda", "sdb"};
static const char *const nics[] = {"docker0", "eth0", "eth1", "lo"};
static const char *const fs[][3] = {{"/dev/nvme0n1p2", "ext4", "/"},
                                    {"/dev/nvme0n1p1", "vfat", "/boot/efi"},
                                    {"tmpfs", "tmpfs", "/run"},
                                    {"/dev/mapper/vg0-data", "xfs", "/data"},
                                    {"tmpfs", "tmpfs", "/dev/shm"}};
static const char *const collectors[] = {
    "arp",   "bcache",  "bonding", "btrfs",   "conntrack",  "cpu",   "cpufreq",
    "disk",  "edac",    "entropy", "filefd",  "filesystem", "hwmon", "loadavg",
    "mdadm", "meminfo", "netdev",  "netstat", "sockstat",   "vmstat"};
static const char *const meminfo[] = {
    "Active",         "Active_anon",    "Active_file",    "AnonHugePages",   "AnonPages",
    "Bounce",         "Buffers",        "Cached",         "CommitLimit",     "Committed_AS",
    "DirectMap1G",    "DirectMap2M",    "DirectMap4k",    "Dirty",           "HardwareCorrupted",
    "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp", "HugePages_Total", "Hugepagesize",
    "Inactive",       "Inactive_anon",  "Inactive_file",  "KernelStack",     "Mapped",
    "MemAvailable",   "MemFree",        "MemTotal",       "Mlocked",         "NFS_Unstable",
    "PageTables",     "SReclaimable",   "SUnreclaim",     "Shmem",           "Slab",
    "SwapCached",     "SwapFree",       "SwapTotal",      "Unevictable",     "Writeback"};
static const char *const netstat[] = {"Icmp_InErrors",
                                      "Icmp_InMsgs",
                                      "Icmp_OutMsgs",
                                      "Ip_Forwarding",
                                      "IpExt_InOctets",
                                      "IpExt_OutOctets",
                                      "Tcp_ActiveOpens",
                                      "Tcp_CurrEstab",
                                      "Tcp_InErrs",
                                      "Tcp_InSegs",
                                      "Tcp_OutRsts",
                                      "Tcp_OutSegs",
                                      "Tcp_PassiveOpens",
                                      "Tcp_RetransSegs",
                                      "TcpExt_ListenDrops",
                                      "TcpExt_ListenOverflows",
                                      "TcpExt_SyncookiesFailed",
                                      "Udp_InDatagrams",
                                      "Udp_InErrors",
                                      "Udp_OutDatagrams"};
static const char *const sockstat[] = {"FRAG_inuse", "FRAG_memory", "RAW_inuse",  "TCP_alloc",
                                       "TCP_inuse",  "TCP_mem",     "TCP_orphan", "TCP_tw",
                                       "UDP_inuse",  "sockets_used"};

/* Names live for the whole run: the template keeps pointers to them. */
static char *keep(const char *fmt, const char *a) {
    size_t n = (size_t)snprintf(NULL, 0, fmt, a) + 1;
    char *s = vg_malloc(n);
    snprintf(s, n, fmt, a);
    return s;
}

static tmpl_series_t *tmpl_add(tmpl_t *t, const char *name, kind_t kind, double param) {
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->s = vg_realloc(t->s, t->cap * sizeof *t->s);
    }
    tmpl_series_t *s = &t->s[t->n++];
    memset(s, 0, sizeof *s);
    s->labels[s->n_labels++] = ingest_rw_label("__name__", name);
    s->kind = kind;
    s->param = param;
    return s;
}

static void lbl(tmpl_series_t *s, const char *name, const char *value) {
    s->labels[s->n_labels++] = ingest_rw_label(name, value);
}

/* The series one node_exporter host exposes (about 350), with the kind of
 * value each carries. */
static void tmpl_build_node(tmpl_t *t) {
    for (size_t c = 0; c < 8; c++)
        for (size_t m = 0; m < 8; m++) {
            tmpl_series_t *s = tmpl_add(t, "node_cpu_seconds_total", K_CPU, cpu_rates[m]);
            lbl(s, "cpu", cpus[c]);
            lbl(s, "mode", cpu_modes[m]);
        }
    for (size_t c = 0; c < 8; c++)
        for (size_t m = 0; m < 2; m++) {
            tmpl_series_t *s = tmpl_add(t, "node_cpu_guest_seconds_total", K_ZERO, 0);
            lbl(s, "cpu", cpus[c]);
            lbl(s, "mode", m ? "user" : "nice");
        }
    static const struct {
        const char *name;
        kind_t kind;
        double param;
    } disk_f[] = {{"node_disk_reads_completed_total", K_COUNT, 20},
                  {"node_disk_reads_merged_total", K_COUNT, 2},
                  {"node_disk_read_bytes_total", K_BYTES, 4e5},
                  {"node_disk_read_time_seconds_total", K_CPU, 0.01},
                  {"node_disk_writes_completed_total", K_COUNT, 40},
                  {"node_disk_writes_merged_total", K_COUNT, 10},
                  {"node_disk_written_bytes_total", K_BYTES, 1e6},
                  {"node_disk_write_time_seconds_total", K_CPU, 0.03},
                  {"node_disk_io_time_seconds_total", K_CPU, 0.05},
                  {"node_disk_io_time_weighted_seconds_total", K_CPU, 0.08},
                  {"node_disk_io_now", K_SMALL, 3},
                  {"node_disk_discards_completed_total", K_RARE, 0.02}},
      net_f[] = {{"node_network_receive_bytes_total", K_BYTES, 2e5},
                 {"node_network_transmit_bytes_total", K_BYTES, 1e5},
                 {"node_network_receive_packets_total", K_COUNT, 300},
                 {"node_network_transmit_packets_total", K_COUNT, 200},
                 {"node_network_receive_errs_total", K_ZERO, 0},
                 {"node_network_transmit_errs_total", K_ZERO, 0},
                 {"node_network_receive_drop_total", K_RARE, 0.01},
                 {"node_network_transmit_drop_total", K_ZERO, 0},
                 {"node_network_receive_multicast_total", K_RARE, 0.1},
                 {"node_network_mtu_bytes", K_CONST, 1500},
                 {"node_network_up", K_ONE, 1},
                 {"node_network_speed_bytes", K_CONST, 1.25e9}},
      fs_f[] = {{"node_filesystem_avail_bytes", K_PAGES, 5e10},
                {"node_filesystem_free_bytes", K_PAGES, 6e10},
                {"node_filesystem_size_bytes", K_CONST, 2.5e11},
                {"node_filesystem_files", K_CONST, 1.5e7},
                {"node_filesystem_files_free", K_SMALL, 1.4e7},
                {"node_filesystem_readonly", K_ZERO, 0},
                {"node_filesystem_device_error", K_ZERO, 0}};
    for (size_t f = 0; f < sizeof disk_f / sizeof *disk_f; f++)
        for (size_t d = 0; d < 4; d++)
            lbl(tmpl_add(t, disk_f[f].name, disk_f[f].kind, disk_f[f].param), "device", disks[d]);
    for (size_t f = 0; f < sizeof net_f / sizeof *net_f; f++)
        for (size_t d = 0; d < 4; d++)
            lbl(tmpl_add(t, net_f[f].name, net_f[f].kind, net_f[f].param), "device", nics[d]);
    for (size_t f = 0; f < sizeof fs_f / sizeof *fs_f; f++)
        for (size_t d = 0; d < 5; d++) {
            tmpl_series_t *s = tmpl_add(t, fs_f[f].name, fs_f[f].kind, fs_f[f].param);
            lbl(s, "device", fs[d][0]);
            lbl(s, "fstype", fs[d][1]);
            lbl(s, "mountpoint", fs[d][2]);
        }
    for (size_t i = 0; i < sizeof meminfo / sizeof *meminfo; i++) {
        bool fixed = strstr(meminfo[i], "Total") || strstr(meminfo[i], "Huge") ||
                     strstr(meminfo[i], "DirectMap") || strcmp(meminfo[i], "CommitLimit") == 0;
        tmpl_add(t, keep("node_memory_%s_bytes", meminfo[i]), fixed ? K_CONST : K_PAGES, 8e9);
    }
    static const char *const vm[] = {"pgfault", "pgmajfault", "pgpgin",  "pgpgout",
                                     "pswpin",  "pswpout",    "oom_kill"};
    for (size_t i = 0; i < 7; i++)
        tmpl_add(t, keep("node_vmstat_%s", vm[i]), i < 4 ? K_COUNT : K_RARE, i < 4 ? 500 : 0.001);
    tmpl_add(t, "node_load1", K_LOAD, 1.5);
    tmpl_add(t, "node_load5", K_LOAD, 1.2);
    tmpl_add(t, "node_load15", K_LOAD, 1.0);
    for (size_t i = 0; i < sizeof netstat / sizeof *netstat; i++) {
        bool rare = strstr(netstat[i], "Err") || strstr(netstat[i], "Drop") ||
                    strstr(netstat[i], "Overflow") || strstr(netstat[i], "Failed");
        kind_t k = strcmp(netstat[i], "Tcp_CurrEstab") == 0   ? K_SMALL
                   : strcmp(netstat[i], "Ip_Forwarding") == 0 ? K_ONE
                   : rare                                     ? K_RARE
                                                              : K_COUNT;
        tmpl_add(t, keep("node_netstat_%s", netstat[i]), k, k == K_SMALL ? 200 : 50);
    }
    for (size_t i = 0; i < sizeof sockstat / sizeof *sockstat; i++)
        tmpl_add(t, keep("node_sockstat_%s", sockstat[i]), K_SMALL, 300);
    tmpl_add(t, "node_context_switches_total", K_COUNT, 5000);
    tmpl_add(t, "node_intr_total", K_COUNT, 3000);
    tmpl_add(t, "node_forks_total", K_COUNT, 5);
    tmpl_add(t, "node_procs_running", K_SMALL, 4);
    tmpl_add(t, "node_procs_blocked", K_SMALL, 1);
    tmpl_add(t, "node_boot_time_seconds", K_CONST, 1.69e9);
    tmpl_add(t, "node_time_seconds", K_TIME, 0);
    tmpl_add(t, "node_entropy_available_bits", K_SMALL, 256);
    tmpl_add(t, "node_filefd_allocated", K_SMALL, 5000);
    tmpl_add(t, "node_filefd_maximum", K_CONST, 9.2e18);
    for (size_t i = 0; i < sizeof collectors / sizeof *collectors; i++) {
        lbl(tmpl_add(t, "node_scrape_collector_duration_seconds", K_DURATION, 0.01), "collector",
            collectors[i]);
        lbl(tmpl_add(t, "node_scrape_collector_success", K_ONE, 1), "collector", collectors[i]);
    }
    tmpl_add(t, "up", K_ONE, 1);
    tmpl_add(t, "scrape_duration_seconds", K_DURATION, 0.05);
    tmpl_add(t, "scrape_samples_scraped", K_CONST, 351);
    tmpl_add(t, "scrape_samples_post_metric_relabeling", K_CONST, 351);
    tmpl_add(t, "scrape_series_added", K_ZERO, 0);
}

/* ----------------------------------------------------------- randomness */

/* splitmix64: values depend only on (seed, series, step), so a run is
 * the same whatever the number of connections. */
static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static double unit(uint64_t x) { return (double)(mix(x) >> 11) * 0x1p-53; } /* [0,1) */

/* ---------------------------------------------------------- the workload */

typedef struct options {
    const char *url;
    size_t n_series, n_samples;
    int64_t interval_ms, jitter_ms, start_ms;
    bool start_set;
    bool random_model;
    size_t batch; /* samples per request (at most) */
    size_t steps; /* timestamps per series per request */
    size_t n_conns;
    uint64_t seed;
    long timeout_s;
} options_t;

typedef struct series_state {
    double v;
    double rate; /* per second, or range */
} series_state_t;

typedef struct shared {
    const options_t *o;
    const tmpl_t *tmpl;
    pthread_barrier_t barrier;
} shared_t;

typedef struct worker {
    shared_t *sh;
    size_t first, end; /* series [first, end) */
    pthread_t thread;
    series_state_t *state;
    /* results */
    uint64_t requests, samples, errors, retries, bytes_sent;
    long first_status;
    char first_error[256];
    double busy_s; /* time spent inside HTTP requests */
} worker_t;

static size_t host_of(const shared_t *sh, size_t i) { return i / sh->tmpl->n; }

/* The scrape time of host h at step k: a fixed phase in the interval plus
 * up to ±jitter ms, so consecutive samples of a series never swap. */
static int64_t sample_time(const options_t *o, size_t h, size_t k) {
    int64_t phase = (int64_t)(mix(o->seed ^ (h * 0x632be59bd9b4e019ull)) %
                              (uint64_t)(o->interval_ms > 1 ? o->interval_ms / 2 : 1));
    int64_t j = 0;
    if (o->jitter_ms > 0)
        j = (int64_t)(mix(o->seed ^ (h << 32) ^ (k * 0x85ebca6bull)) %
                      (uint64_t)(2 * o->jitter_ms + 1)) -
            o->jitter_ms;
    return o->start_ms + (int64_t)k * o->interval_ms + phase + j;
}

static void state_init(const shared_t *sh, size_t i, series_state_t *st) {
    const tmpl_series_t *ts = &sh->tmpl->s[i % sh->tmpl->n];
    uint64_t key = sh->o->seed ^ (i * 0xd1b54a32d192ed03ull);
    double u = unit(key), uptime = 86400.0 * (1 + 29 * unit(key + 1));
    switch (ts->kind) {
    case K_CPU:
        st->rate = ts->param * (0.5 + u);
        st->v = floor(st->rate * uptime * 100) / 100;
        break;
    case K_COUNT:
    case K_BYTES:
    case K_RARE:
        st->rate = ts->param * (0.1 + 1.9 * u);
        st->v = floor(st->rate * uptime);
        break;
    case K_CONST: st->v = floor(ts->param * (0.5 + u)); break;
    case K_PAGES: st->v = floor(ts->param * (0.2 + u) / 4096) * 4096; break;
    case K_SMALL:
        st->rate = ts->param;
        st->v = floor(ts->param * u);
        break;
    case K_LOAD: st->v = floor(ts->param * (0.5 + u) * 100) / 100; break;
    case K_ONE: st->v = 1; break;
    default: st->v = 0;
    }
}

/* The value of series i at step k; advances its state (called once per
 * step, in order). */
static double next_value(const shared_t *sh, size_t i, size_t k, int64_t t, series_state_t *st) {
    const options_t *o = sh->o;
    uint64_t key = o->seed ^ (i * 0x9e3779b97f4a7c15ull) ^ (k * 0xc2b2ae3d27d4eb4full);
    if (o->random_model) return unit(key) * 1000.0;
    const tmpl_series_t *ts = &sh->tmpl->s[i % sh->tmpl->n];
    double dt = (double)o->interval_ms / 1000.0, u = unit(key);
    if (k == 0) return st->v;
    switch (ts->kind) {
    case K_CPU: st->v = round((st->v + st->rate * dt * (0.6 + 0.8 * u)) * 100) / 100; break;
    case K_COUNT:
    case K_BYTES: st->v += floor(st->rate * dt * (0.5 + u)); break;
    case K_RARE:
        if (u < st->rate * dt) st->v += 1;
        break;
    case K_PAGES:
        if (u < 0.5) st->v += 4096.0 * floor((unit(key + 7) - 0.5) * 256);
        if (st->v < 0) st->v = 0;
        break;
    case K_SMALL:
        if (u < 0.3) st->v = floor(st->rate * unit(key + 3));
        break;
    case K_LOAD: st->v = fmax(0, round((st->v + (u - 0.5) * 0.2) * 100) / 100); break;
    case K_DURATION: return ts->param * (0.5 + u);
    case K_TIME: return (double)t / 1000.0 + floor(unit(key + 5) * 1000) / 1e6;
    default: break;
    }
    return st->v;
}

/* Writes series i's labels (template plus instance and job), sorted by
 * name, into out; returns the count. inst is the caller's buffer. */
static size_t series_labels(const shared_t *sh, size_t i, ingest_rw_label_t *out, char *inst,
                            size_t inst_len) {
    const tmpl_series_t *ts = &sh->tmpl->s[i % sh->tmpl->n];
    size_t host = host_of(sh, i);
    snprintf(inst, inst_len, "host-%05zu.dc%zu.example.net:9100", host, host % 7);
    size_t n = 0;
    for (size_t j = 0; j < ts->n_labels; j++)
        out[n++] = ts->labels[j];
    out[n++] = ingest_rw_label("instance", inst);
    out[n++] = ingest_rw_label("job", "node");
    /* insertion sort: a handful of labels */
    for (size_t a = 1; a < n; a++) {
        ingest_rw_label_t x = out[a];
        size_t b = a;
        while (b > 0 && strcmp(out[b - 1].name, x.name) > 0) {
            out[b] = out[b - 1];
            b--;
        }
        out[b] = x;
    }
    return n;
}

/* POSTs one body; retries a connection error or a 5xx (but 503 from a
 * server still starting) a few times. Returns true when answered 2xx. */
static bool send_body(worker_t *w, CURL *curl, const vg_buf_t *body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    for (int attempt = 0;; attempt++) {
        char errbuf[CURL_ERROR_SIZE] = "";
        vg_buf_t resp = VG_BUF_INIT;
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
        double t0 = vg_time_mono();
        CURLcode rc = curl_easy_perform(curl);
        w->busy_s += vg_time_mono() - t0;
        long status = 0;
        if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OK && status >= 200 && status < 300) {
            vg_buf_free(&resp);
            w->bytes_sent += body->len;
            return true;
        }
        bool retry = (rc != CURLE_OK || status >= 500) && attempt < 3;
        if (!retry) {
            if (w->errors++ == 0) {
                w->first_status = status;
                if (rc != CURLE_OK)
                    snprintf(w->first_error, sizeof w->first_error, "%s", errbuf);
                else
                    snprintf(w->first_error, sizeof w->first_error, "%.*s",
                             (int)(resp.len < 200 ? resp.len : 200), resp.data ? resp.data : "");
            }
            vg_buf_free(&resp);
            return false;
        }
        vg_buf_free(&resp);
        w->retries++;
        struct timespec ts = {0, 100000000L << attempt};
        nanosleep(&ts, NULL);
    }
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
    vg_buf_t *b = ud;
    if (b->len < 4096) vg_buf_append(b, p, size * n);
    return size * n;
}

static void *worker_run(void *arg) {
    worker_t *w = arg;
    shared_t *sh = w->sh;
    const options_t *o = sh->o;
    CURL *curl = NULL;
    struct curl_slist *hdrs = NULL;
    if (o->url) {
        curl = curl_easy_init();
        hdrs = curl_slist_append(hdrs, "Content-Type: application/x-protobuf");
        hdrs = curl_slist_append(hdrs, "Content-Encoding: snappy");
        hdrs = curl_slist_append(hdrs, "X-Prometheus-Remote-Write-Version: 0.1.0");
        hdrs = curl_slist_append(hdrs, "User-Agent: vigil-bench-rwgen");
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(curl, CURLOPT_URL, o->url);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, o->timeout_s);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    }
    size_t n_mine = w->end - w->first;
    w->state = vg_calloc(n_mine ? n_mine : 1, sizeof *w->state);
    for (size_t i = 0; i < n_mine; i++)
        state_init(sh, w->first + i, &w->state[i]);
    ingest_rw_writer_t wr;
    ingest_rw_writer_init(&wr);
    vg_buf_t body = VG_BUF_INIT;
    ingest_rw_sample_t *smp = vg_malloc(o->steps * sizeof *smp);
    ingest_rw_label_t ls[MAX_LABELS + 2];
    char inst[96];
    for (size_t k0 = 0; k0 < o->n_samples; k0 += o->steps) {
        size_t k1 = k0 + o->steps < o->n_samples ? k0 + o->steps : o->n_samples;
        for (size_t i = w->first; i < w->end; i++) {
            size_t h = host_of(sh, i), n = 0;
            for (size_t k = k0; k < k1; k++, n++) {
                smp[n].timestamp_ms = sample_time(o, h, k);
                smp[n].value = next_value(sh, i, k, smp[n].timestamp_ms, &w->state[i - w->first]);
            }
            size_t nl = series_labels(sh, i, ls, inst, sizeof inst);
            ingest_rw_writer_add_series(&wr, ls, nl, smp, n, NULL, 0);
            if (wr.n_samples + n > o->batch || i + 1 == w->end) {
                vg_buf_reset(&body);
                ingest_rw_writer_finish(&wr, &body);
                w->requests++;
                if (!curl || send_body(w, curl, &body)) w->samples += wr.n_samples;
                if (!curl) w->bytes_sent += body.len;
                ingest_rw_writer_reset(&wr);
            }
        }
        pthread_barrier_wait(&sh->barrier);
    }
    free(smp);
    vg_buf_free(&body);
    ingest_rw_writer_free(&wr);
    free(w->state);
    if (curl) curl_easy_cleanup(curl);
    curl_slist_free_all(hdrs);
    return NULL;
}

/* -------------------------------------------------------------- options */

static void usage(FILE *f) {
    fprintf(f, "usage: bench_rwgen [--url=URL] [--series=N] [--samples=N] [--interval=15s]\n"
               "                   [--jitter=5ms] [--start=MS] [--model=node|random] [--batch=N]\n"
               "                   [--steps=N] [--connections=N] [--seed=N] [--timeout=SECONDS]\n"
               "Sends remote_write 1.0 requests to URL (e.g. http://127.0.0.1:9090/api/v1/write);\n"
               "without --url, only builds them and reports the generator's own speed.\n"
               "  --series       number of series (default 10000)\n"
               "  --samples      samples per series (default 10)\n"
               "  --interval     time between a series' samples (default 15s)\n"
               "  --jitter       each scrape time moves by up to this much (default 5ms)\n"
               "  --start        first timestamp, ms since the epoch (default: so the last\n"
               "                 sample is about one interval before now)\n"
               "  --model        node: node_exporter-like counters and gauges (default);\n"
               "                 random: uniform random floats\n"
               "  --batch        most samples per request (default 2000)\n"
               "  --steps        timestamps of each series per request (default 1)\n"
               "  --connections  concurrent connections, each with its own series (default 4)\n");
}

static bool parse_size(const char *v, size_t *out) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || x == 0) return false;
    *out = (size_t)x;
    return true;
}

static bool parse_duration(const char *v, int64_t *out) {
    if (strcmp(v, "0") == 0) {
        *out = 0;
        return true;
    }
    return vg_duration_parse(v, strlen(v), out) == VG_OK;
}

static int parse_args(int argc, char **argv, options_t *o) {
    const char *bad_arg = "";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 1;
        }
        const char *eq = strchr(a, '=');
        if (strncmp(a, "--", 2) != 0 || !eq) {
            bad_arg = a;
            goto bad;
        }
        size_t nl = (size_t)(eq - a - 2);
        const char *v = eq + 1;
#define IS(s) (nl == strlen(s) && strncmp(a + 2, s, nl) == 0)
        bool ok = true;
        if (IS("url"))
            o->url = v;
        else if (IS("series"))
            ok = parse_size(v, &o->n_series);
        else if (IS("samples"))
            ok = parse_size(v, &o->n_samples);
        else if (IS("interval"))
            ok = parse_duration(v, &o->interval_ms) && o->interval_ms > 0;
        else if (IS("jitter"))
            ok = parse_duration(v, &o->jitter_ms);
        else if (IS("start")) {
            char *end;
            o->start_ms = strtoll(v, &end, 10);
            ok = end != v && !*end;
            o->start_set = true;
        } else if (IS("model")) {
            ok = strcmp(v, "node") == 0 || strcmp(v, "random") == 0;
            o->random_model = strcmp(v, "random") == 0;
        } else if (IS("batch"))
            ok = parse_size(v, &o->batch);
        else if (IS("steps"))
            ok = parse_size(v, &o->steps);
        else if (IS("connections"))
            ok = parse_size(v, &o->n_conns) && o->n_conns <= MAX_CONNECTIONS;
        else if (IS("seed"))
            o->seed = strtoull(v, NULL, 10);
        else if (IS("timeout")) {
            size_t s;
            ok = parse_size(v, &s);
            o->timeout_s = (long)s;
        } else {
            bad_arg = a;
            goto bad;
        }
#undef IS
        if (!ok) {
            fprintf(stderr, "bench_rwgen: bad value in %s\n", a);
            return 2;
        }
    }
    if (o->jitter_ms * 2 >= o->interval_ms / 2) {
        fprintf(stderr, "bench_rwgen: --jitter must be under a quarter of --interval\n");
        return 2;
    }
    return 0;
bad:
    fprintf(stderr, "bench_rwgen: unknown argument %s\n", bad_arg);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv) {
    options_t o = {.n_series = 10000,
                   .n_samples = 10,
                   .interval_ms = 15000,
                   .jitter_ms = 5,
                   .batch = 2000,
                   .steps = 1,
                   .n_conns = 4,
                   .seed = 42,
                   .timeout_s = 120};
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;
    if (!o.start_set) {
        int64_t now = vg_time_now_ms();
        o.start_ms =
            (now - (int64_t)(o.n_samples + 1) * o.interval_ms) / o.interval_ms * o.interval_ms;
    }
    if (o.n_conns > o.n_series) o.n_conns = o.n_series;
    tmpl_t tmpl = {0};
    tmpl_build_node(&tmpl);
    shared_t sh = {.o = &o, .tmpl = &tmpl};
    pthread_barrier_init(&sh.barrier, NULL, (unsigned)o.n_conns);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    worker_t *ws = vg_calloc(o.n_conns, sizeof *ws);
    double t0 = vg_time_mono();
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    for (size_t c = 0; c < o.n_conns; c++) {
        ws[c].sh = &sh;
        ws[c].first = o.n_series * c / o.n_conns;
        ws[c].end = o.n_series * (c + 1) / o.n_conns;
        if (pthread_create(&ws[c].thread, NULL, worker_run, &ws[c]) != 0) {
            fprintf(stderr, "bench_rwgen: cannot start a thread\n");
            return 1;
        }
    }
    uint64_t requests = 0, samples = 0, errors = 0, retries = 0, bytes = 0;
    long first_status = 0;
    const char *first_error = "";
    for (size_t c = 0; c < o.n_conns; c++) {
        pthread_join(ws[c].thread, NULL);
        requests += ws[c].requests;
        samples += ws[c].samples;
        retries += ws[c].retries;
        bytes += ws[c].bytes_sent;
        if (ws[c].errors && !errors) {
            first_status = ws[c].first_status;
            first_error = ws[c].first_error;
        }
        errors += ws[c].errors;
    }
    double el = vg_time_mono() - t0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
    uint64_t want = (uint64_t)o.n_series * o.n_samples;
    printf("%s: %zu series x %zu samples (%s model, %zu series per host), %" PRIu64
           " requests of <= %zu samples over %zu connections\n",
           o.url ? o.url : "dry run (no --url)", o.n_series, o.n_samples,
           o.random_model ? "random" : "node", tmpl.n, requests, o.batch, o.n_conns);
    printf("  %.2f s, %.0f requests/s, %.0f samples/s, %.1f MB sent (%.2f bytes/sample), "
           "generator CPU %.2f s\n",
           el, (double)requests / el, (double)samples / el, (double)bytes / 1e6,
           samples ? (double)bytes / (double)samples : 0.0, cpu);
    printf("  errors: %" PRIu64 " requests failed, %" PRIu64 " retried; %" PRIu64 " of %" PRIu64
           " samples accepted\n",
           errors, retries, samples, want);
    if (errors) printf("  first error: HTTP %ld: %s\n", first_status, first_error);
    printf("RESULT {\"series\":%zu,\"samples_per_series\":%zu,\"requests\":%" PRIu64
           ",\"samples\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"retries\":%" PRIu64
           ",\"seconds\":%.3f,\"bytes\":%" PRIu64 ",\"gen_cpu\":%.3f,\"start_ms\":%" PRId64
           ",\"end_ms\":%" PRId64 "}\n",
           o.n_series, o.n_samples, requests, samples, errors, retries, el, bytes, cpu, o.start_ms,
           o.start_ms + (int64_t)o.n_samples * o.interval_ms);
    /* the names keep() made are freed with the process */
    free(tmpl.s);
    free(ws);
    pthread_barrier_destroy(&sh.barrier);
    curl_global_cleanup();
    return errors ? 1 : 0;
}
