/* This file implements the load generator and the webhook sink of
 * bench/alerts.py, which runs the same workload against vigil's built-in
 * Alertmanager and against the real one.
 *
 *   bench_amgen send --url=BASE [--alerts=N] [--batch=B] [--connections=C]
 *                    [--offset=K] [--ends-in=SECONDS] [--timeout=SECONDS]
 *                    [--starts-now]
 *     POSTs N distinct alerts, B per request (Prometheus 2.x sends up to
 *     64, 3.x up to 256), to BASE/api/v2/alerts over C concurrent
 *     keep-alive connections, and reports alerts/s, errors and per-request
 *     latency (median, p99, max, the max in each tenth of the run, and how
 *     many requests took over a second: an ingest that pauses while its
 *     store grows shows there). Alert i has six labels (alertname from a
 *     list of 20 node_exporter-style alerts, instance "host-<i/20>:9100",
 *     job, severity, cluster, team) and two annotations (summary,
 *     description with a value), startsAt a little in the past and endsAt
 *     --ends-in seconds ahead (default 3600, so nothing resolves during a
 *     run), as Prometheus's notifier sends them. With --starts-now startsAt
 *     is the time of sending: an Alertmanager flushes a new group at once
 *     when its first alert started more than group_wait ago, so only fresh
 *     alerts make every group wait group_wait. (alertname, instance) is
 *     distinct for every i, so group_by [alertname, instance] gives one
 *     group per alert.
 *
 *   bench_amgen sink --port=P [--max-seconds=S]
 *     A webhook receiver on 127.0.0.1:P: every POST is a notification; it
 *     answers 200 at once and counts requests, alerts (the "fingerprint"
 *     keys of the payload) and distinct groupKeys, with the wall-clock times
 *     (ns since the epoch) of the first and last notification and of the
 *     last new group. GET /stats answers those as JSON. It stops on SIGTERM
 *     or SIGINT, or after --max-seconds (default 3600).
 *
 *   bench_amgen (no arguments)
 *     The tools' own ceiling, for `bench/run`: a sink in this process and
 *     100 000 alerts sent to it at 256 per request.
 *
 * send prints "RESULT {json}" as its last line for scripts. */
#include <curl/curl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 64

static double now_s(int clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench_amgen: out of memory\n");
        exit(2);
    }
    return p;
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench_amgen: out of memory\n");
        exit(2);
    }
    return p;
}

/* ------------------------------------------------------------- buffers */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf_t;

static void buf_reserve(buf_t *b, size_t more) {
    if (b->len + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static void buf_add(buf_t *b, const char *s, size_t n) {
    buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(buf_t *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        size_t room = b->cap > b->len ? b->cap - b->len : 0;
        va_start(ap, fmt);
        int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        buf_reserve(b, (size_t)n);
    }
}

/* ------------------------------------------------------------ the alerts */

typedef struct alert_kind {
    const char *name, *job, *severity, *summary, *description;
    double scale; /* the description's value is in [0, scale) */
} alert_kind_t;

/* Twenty alerts of the kind node_exporter and blackbox rules raise. */
static const alert_kind_t kinds[20] = {
    {"HostHighCpuLoad", "node", "warning", "Host high CPU load",
     "CPU load is above 80%% for 10 minutes (current value: %.2f%%)", 100},
    {"HostOutOfMemory", "node", "warning", "Host out of memory",
     "Node memory is filling up: less than 10%% left (available: %.2f%%)", 10},
    {"HostOutOfDiskSpace", "node", "critical", "Host out of disk space",
     "Disk is almost full: less than 10%% left (available: %.2f%%)", 10},
    {"HostDiskWillFillIn24Hours", "node", "warning", "Host disk will fill in 24 hours",
     "Filesystem is predicted to run out of space within 24 hours at the current write rate "
     "(free: %.0f bytes)",
     1e10},
    {"HostHighLoadAverage", "node", "warning", "Host high load average",
     "The 15-minute load average per core is high (value: %.2f)", 8},
    {"HostUnusualNetworkThroughputIn", "node", "warning", "Host unusual network throughput in",
     "Host network interfaces are probably receiving too much data (> 100 MB/s): %.0f B/s", 2e8},
    {"HostUnusualDiskReadRate", "node", "warning", "Host unusual disk read rate",
     "Disk is probably reading too much data (> 50 MB/s): %.0f B/s", 1e8},
    {"HostUnusualDiskWriteLatency", "node", "warning", "Host unusual disk write latency",
     "Disk latency is growing (write operations > 100 ms): %.4f s", 1},
    {"HostSwapIsFillingUp", "node", "warning", "Host swap is filling up",
     "Swap is filling up (> 80%%): %.2f%%", 100},
    {"HostSystemdServiceCrashed", "node", "critical", "Host systemd service crashed",
     "A systemd service crashed (failed units: %.0f)", 5},
    {"HostNetworkReceiveErrors", "node", "warning", "Host network receive errors",
     "The network interface has encountered receive errors in the last two minutes (ratio: %.4f)",
     0.1},
    {"HostClockSkew", "node", "warning", "Host clock skew",
     "Clock skew detected: the clock is out of sync (offset: %.4f s)", 1},
    {"HostOomKillDetected", "node", "warning", "Host OOM kill detected",
     "An OOM kill was detected (kills in 1 minute: %.0f)", 4},
    {"HostEdacUncorrectableErrors", "node", "critical", "Host EDAC uncorrectable errors",
     "The host has had uncorrectable memory errors reported by EDAC (count: %.0f)", 3},
    {"HostConntrackLimit", "node", "warning", "Host conntrack limit",
     "The number of conntrack entries is approaching the limit (ratio: %.3f)", 1},
    {"HostRequiresReboot", "node", "info", "Host requires reboot",
     "The host requires a reboot (since %.0f hours)", 48},
    {"TargetDown", "node", "critical", "Target is down",
     "The target has been unreachable for more than 5 minutes (up: %.0f)", 1},
    {"BlackboxProbeFailed", "blackbox", "critical", "Blackbox probe failed",
     "The probe failed (duration: %.3f s)", 10},
    {"BlackboxSlowProbe", "blackbox", "warning", "Blackbox slow probe",
     "The probe took more than 1 s to complete (duration: %.3f s)", 10},
    {"BlackboxSslCertificateWillExpireSoon", "blackbox", "warning",
     "Blackbox SSL certificate will expire soon",
     "The SSL certificate expires in less than 20 days (days left: %.1f)", 20},
};

static const char *const teams[4] = {"infra", "platform", "storage", "network"};

static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* RFC 3339 in UTC with milliseconds, as Go's encoding of time.Time in
 * Prometheus's notifier prints it (it prints what precision there is). */
static void fmt_time(char out[40], int64_t ms) {
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%03dZ", (int)(ms % 1000));
}

/* Appends alert number i as one JSON object of a postable alert list. */
static void alert_json(buf_t *b, uint64_t i, int64_t now_ms, int64_t ends_in_ms, bool starts_now) {
    const alert_kind_t *k = &kinds[i % 20];
    uint64_t host = i / 20;
    char starts[40], ends[40], desc[256];
    fmt_time(starts, starts_now ? now_ms : now_ms - (int64_t)(mix(i) % 3600000));
    fmt_time(ends, now_ms + ends_in_ms);
    double v = (double)(mix(i ^ 0x5bd1e995ull) >> 11) * 0x1p-53 * k->scale;
    snprintf(desc, sizeof desc, k->description, v);
    buf_printf(b,
               "{\"labels\":{\"alertname\":\"%s\",\"instance\":\"host-%05" PRIu64
               ":9100\",\"job\":\"%s\",\"severity\":\"%s\",\"cluster\":\"eu-%" PRIu64
               "\",\"team\":\"%s\"},"
               "\"annotations\":{\"summary\":\"%s on host-%05" PRIu64 "\",\"description\":\"%s\"},"
               "\"startsAt\":\"%s\",\"endsAt\":\"%s\","
               "\"generatorURL\":\"http://prometheus-0:9090/graph?g0.expr=%s&g0.tab=1\"}",
               k->name, host, k->job, k->severity, host / 500 % 8, teams[host % 4], k->summary,
               host, desc, starts, ends, k->name);
}

/* ---------------------------------------------------------------- send */

typedef struct send_opts {
    const char *url;
    uint64_t n_alerts, offset, batch;
    size_t n_conns;
    int64_t ends_in_ms;
    long timeout_s;
    bool starts_now;
} send_opts_t;

typedef struct lat_sample {
    double at;  /* seconds since the run began, when the request ended */
    double sec; /* the request's latency */
} lat_sample_t;

typedef struct sender {
    const send_opts_t *o;
    pthread_mutex_t *next_mu;
    uint64_t *next_batch; /* shared: the next batch number to send */
    double t0;
    pthread_t thread;
    /* results */
    uint64_t requests, alerts, errors;
    long first_status;
    char first_error[256];
    lat_sample_t *lat;
    size_t n_lat, cap_lat;
} sender_t;

static size_t discard(char *p, size_t size, size_t n, void *ud) {
    (void)p;
    (void)ud;
    return size * n;
}

static void *sender_run(void *arg) {
    sender_t *s = arg;
    const send_opts_t *o = s->o;
    uint64_t n_batches = (o->n_alerts + o->batch - 1) / o->batch;
    char url[1024];
    snprintf(url, sizeof url, "%s/api/v2/alerts", o->url);
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "bench_amgen");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    buf_t body = {0};
    for (;;) {
        pthread_mutex_lock(s->next_mu);
        uint64_t k = (*s->next_batch)++;
        pthread_mutex_unlock(s->next_mu);
        if (k >= n_batches) break;
        uint64_t first = o->offset + k * o->batch;
        uint64_t end = first + o->batch;
        if (end > o->offset + o->n_alerts) end = o->offset + o->n_alerts;
        int64_t now_ms = (int64_t)(now_s(CLOCK_REALTIME) * 1000);
        body.len = 0;
        buf_add(&body, "[", 1);
        for (uint64_t i = first; i < end; i++) {
            if (i > first) buf_add(&body, ",", 1);
            alert_json(&body, i, now_ms, o->ends_in_ms, o->starts_now);
        }
        buf_add(&body, "]", 1);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.p);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
        double t = now_s(CLOCK_MONOTONIC);
        CURLcode rc = curl_easy_perform(c);
        double t_end = now_s(CLOCK_MONOTONIC);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        s->requests++;
        if (rc != CURLE_OK || status / 100 != 2) {
            s->errors++;
            if (!s->first_error[0])
                snprintf(s->first_error, sizeof s->first_error, "%s (HTTP %ld)",
                         rc != CURLE_OK ? curl_easy_strerror(rc) : "bad status", status);
            if (!s->first_status) s->first_status = status;
        } else {
            s->alerts += end - first;
        }
        if (s->n_lat == s->cap_lat) {
            s->cap_lat = s->cap_lat ? 2 * s->cap_lat : 1024;
            s->lat = xrealloc(s->lat, s->cap_lat * sizeof *s->lat);
        }
        s->lat[s->n_lat++] = (lat_sample_t){t_end - s->t0, t_end - t};
    }
    free(body.p);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_at(const void *a, const void *b) {
    double x = ((const lat_sample_t *)a)->at, y = ((const lat_sample_t *)b)->at;
    return x < y ? -1 : x > y;
}

static double cpu_self(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Sends the workload and prints the report; returns the exit status. */
static int send_run(const send_opts_t *o, bool quiet) {
    sender_t s[MAX_CONNECTIONS];
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    uint64_t next = 0;
    double cpu0 = cpu_self();
    double t0 = now_s(CLOCK_MONOTONIC);
    for (size_t i = 0; i < o->n_conns; i++) {
        memset(&s[i], 0, sizeof s[i]);
        s[i].o = o;
        s[i].next_mu = &mu;
        s[i].next_batch = &next;
        s[i].t0 = t0;
        pthread_create(&s[i].thread, NULL, sender_run, &s[i]);
    }
    uint64_t requests = 0, alerts = 0, errors = 0;
    const char *first_error = "";
    size_t n_lat = 0;
    for (size_t i = 0; i < o->n_conns; i++) {
        pthread_join(s[i].thread, NULL);
        requests += s[i].requests;
        alerts += s[i].alerts;
        errors += s[i].errors;
        n_lat += s[i].n_lat;
        if (!first_error[0] && s[i].first_error[0]) first_error = s[i].first_error;
    }
    double secs = now_s(CLOCK_MONOTONIC) - t0;
    double gen_cpu = cpu_self() - cpu0;
    lat_sample_t *all = xmalloc(n_lat * sizeof *all);
    size_t at = 0;
    for (size_t i = 0; i < o->n_conns; i++) {
        memcpy(all + at, s[i].lat, s[i].n_lat * sizeof *all);
        at += s[i].n_lat;
    }
    /* the max latency of each tenth of the requests, in the order they ended */
    qsort(all, n_lat, sizeof *all, cmp_at);
    double dec_max[10] = {0};
    uint64_t slow = 0;
    for (size_t i = 0; i < n_lat; i++) {
        size_t d = i * 10 / n_lat;
        if (all[i].sec > dec_max[d]) dec_max[d] = all[i].sec;
        if (all[i].sec > 1.0) slow++;
    }
    double *sorted = xmalloc(n_lat * sizeof *sorted);
    for (size_t i = 0; i < n_lat; i++)
        sorted[i] = all[i].sec;
    qsort(sorted, n_lat, sizeof *sorted, cmp_double);
    double p50 = n_lat ? sorted[n_lat / 2] : 0, p99 = n_lat ? sorted[n_lat * 99 / 100] : 0,
           mx = n_lat ? sorted[n_lat - 1] : 0;
    if (!quiet)
        printf("sent %" PRIu64 " alerts in %" PRIu64 " requests (%" PRIu64
               " errors) in %.2f s: %.0f alerts/s; latency ms p50 %.2f p99 %.2f max %.2f; "
               "generator CPU %.2f s\n",
               alerts, requests, errors, secs, secs > 0 ? (double)alerts / secs : 0, p50 * 1e3,
               p99 * 1e3, mx * 1e3, gen_cpu);
    if (errors && !quiet) printf("first error: %s\n", first_error);
    printf("RESULT {\"alerts\":%" PRIu64 ",\"requests\":%" PRIu64 ",\"errors\":%" PRIu64
           ",\"first_error\":\"%s\",\"seconds\":%.6f,\"gen_cpu\":%.4f,\"lat_p50\":%.6f,"
           "\"lat_p99\":%.6f,\"lat_max\":%.6f,\"slow_requests\":%" PRIu64 ",\"lat_max_by_tenth\":[",
           alerts, requests, errors, first_error, secs, gen_cpu, p50, p99, mx, slow);
    for (int d = 0; d < 10; d++)
        printf("%s%.6f", d ? "," : "", dec_max[d]);
    printf("]}\n");
    fflush(stdout);
    for (size_t i = 0; i < o->n_conns; i++)
        free(s[i].lat);
    free(all);
    free(sorted);
    return 0;
}

/* ---------------------------------------------------------------- sink */

typedef struct sink {
    pthread_mutex_t mu;
    uint64_t requests, alerts, groups, bytes;
    int64_t first_ns, last_ns, last_group_ns;
    uint64_t *set; /* open addressing, 0 = empty */
    size_t set_cap;
} sink_t;

typedef struct upload {
    buf_t body;
} upload_t;

static uint64_t fnv1a(const char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return h ? h : 1;
}

/* Adds h to the set under sk->mu; returns whether it was new. */
static bool set_add(sink_t *sk, uint64_t h) {
    if ((sk->groups + 1) * 2 > sk->set_cap) {
        size_t cap = sk->set_cap ? sk->set_cap * 2 : 1 << 16;
        uint64_t *n = calloc(cap, sizeof *n);
        if (!n) return false;
        for (size_t i = 0; i < sk->set_cap; i++)
            if (sk->set[i])
                for (size_t j = sk->set[i] & (cap - 1);; j = (j + 1) & (cap - 1))
                    if (!n[j]) {
                        n[j] = sk->set[i];
                        break;
                    }
        free(sk->set);
        sk->set = n;
        sk->set_cap = cap;
    }
    for (size_t j = h & (sk->set_cap - 1);; j = (j + 1) & (sk->set_cap - 1)) {
        if (sk->set[j] == h) return false;
        if (!sk->set[j]) {
            sk->set[j] = h;
            sk->groups++;
            return true;
        }
    }
}

/* Counts one notification: its alerts and its groupKey. */
static void sink_count(sink_t *sk, const char *p, size_t n) {
    uint64_t alerts = 0;
    const char *end = p + n;
    for (const char *q = p; (q = memmem(q, (size_t)(end - q), "\"fingerprint\"", 13)); q += 13)
        alerts++;
    uint64_t key = 0;
    const char *g = memmem(p, n, "\"groupKey\":\"", 12);
    if (!g) g = memmem(p, n, "\"groupKey\": \"", 13);
    if (g) {
        g = memchr(g + 10, '"', (size_t)(end - g - 10));
        g = g ? g + 1 : NULL;
    }
    if (g) {
        const char *e = g;
        while (e < end && *e != '"')
            e += *e == '\\' ? 2 : 1;
        key = fnv1a(g, (size_t)((e < end ? e : end) - g));
    }
    int64_t t = wall_ns();
    pthread_mutex_lock(&sk->mu);
    sk->requests++;
    sk->alerts += alerts;
    sk->bytes += n;
    if (!sk->first_ns) sk->first_ns = t;
    sk->last_ns = t;
    if (key && set_add(sk, key)) sk->last_group_ns = t;
    pthread_mutex_unlock(&sk->mu);
}

static enum MHD_Result reply(struct MHD_Connection *con, unsigned status, const char *body,
                             size_t len) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(con, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result sink_handle(void *cls, struct MHD_Connection *con, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_size, void **con_cls) {
    (void)version;
    sink_t *sk = cls;
    if (strcmp(method, "POST") == 0) {
        upload_t *u = *con_cls;
        if (!u) {
            u = calloc(1, sizeof *u);
            if (!u) return MHD_NO;
            *con_cls = u;
            return MHD_YES;
        }
        if (*upload_size) {
            buf_add(&u->body, upload_data, *upload_size);
            *upload_size = 0;
            return MHD_YES;
        }
        sink_count(sk, u->body.p ? u->body.p : "", u->body.len);
        return reply(con, 200, "", 0);
    }
    if (strcmp(url, "/stats") == 0) {
        char out[512];
        pthread_mutex_lock(&sk->mu);
        int n = snprintf(out, sizeof out,
                         "{\"requests\":%" PRIu64 ",\"alerts\":%" PRIu64 ",\"groups\":%" PRIu64
                         ",\"bytes\":%" PRIu64 ",\"first_ns\":%" PRId64 ",\"last_ns\":%" PRId64
                         ",\"last_group_ns\":%" PRId64 ",\"now_ns\":%" PRId64 "}\n",
                         sk->requests, sk->alerts, sk->groups, sk->bytes, sk->first_ns, sk->last_ns,
                         sk->last_group_ns, wall_ns());
        pthread_mutex_unlock(&sk->mu);
        return reply(con, 200, out, (size_t)n);
    }
    return reply(con, 404, "not found\n", 10);
}

static void sink_done(void *cls, struct MHD_Connection *con, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)con;
    (void)toe;
    upload_t *u = *con_cls;
    if (u) {
        free(u->body.p);
        free(u);
        *con_cls = NULL;
    }
}

static struct MHD_Daemon *sink_start(sink_t *sk, unsigned port) {
    pthread_mutex_init(&sk->mu, NULL);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(0x7f000001);
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port, NULL,
                            NULL, sink_handle, sk, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_LIMIT, 30000u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_NOTIFY_COMPLETED,
                            sink_done, NULL, MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u, MHD_OPTION_END);
}

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

static int sink_main(unsigned port, long max_s) {
    sink_t sk = {0};
    struct MHD_Daemon *d = sink_start(&sk, port);
    if (!d) {
        fprintf(stderr, "bench_amgen: cannot listen on 127.0.0.1:%u\n", port);
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("sink listening on 127.0.0.1:%u\n", port);
    fflush(stdout);
    double end = now_s(CLOCK_MONOTONIC) + (double)max_s;
    while (!stop_flag && now_s(CLOCK_MONOTONIC) < end)
        usleep(50000);
    MHD_stop_daemon(d);
    printf("sink: %" PRIu64 " notifications, %" PRIu64 " groups, %" PRIu64 " alerts\n", sk.requests,
           sk.groups, sk.alerts);
    free(sk.set);
    return 0;
}

/* ------------------------------------------------------------- ceiling */

/* The generator's and the sink's own speed: the sink counts every POST as
 * a notification, so this is the most either tool can measure. */
static int self_test(void) {
    sink_t sk = {0};
    struct MHD_Daemon *d = NULL;
    unsigned port = 0;
    for (unsigned p = 39000 + (unsigned)(getpid() % 2000); p < 42000 && !d; p++)
        if ((d = sink_start(&sk, p))) port = p;
    if (!d) {
        fprintf(stderr, "bench_amgen: no free port for the sink\n");
        return 1;
    }
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    send_opts_t o = {url, 100000, 0, 256, 4, 3600000, 60, false};
    printf("generator and sink in one process (the tools' ceiling), 100000 alerts, 256 per "
           "request, 4 connections:\n");
    send_run(&o, false);
    MHD_stop_daemon(d);
    printf("sink counted %" PRIu64 " requests\n", sk.requests);
    free(sk.set);
    return 0;
}

/* ---------------------------------------------------------------- main */

static bool opt(const char *arg, const char *name, const char **val) {
    size_t n = strlen(name);
    if (strncmp(arg, name, n) == 0 && arg[n] == '=') {
        *val = arg + n + 1;
        return true;
    }
    return false;
}

static void usage(void) {
    fprintf(stderr,
            "usage: bench_amgen send --url=BASE [--alerts=N] [--batch=B] [--connections=C]\n"
            "                        [--offset=K] [--ends-in=SECONDS] [--timeout=SECONDS]\n"
            "                        [--starts-now]\n"
            "       bench_amgen sink --port=P [--max-seconds=S]\n"
            "       bench_amgen            (the tools' own ceiling)\n");
    exit(2);
}

int main(int argc, char **argv) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) return self_test();
    const char *v;
    if (strcmp(argv[1], "send") == 0) {
        send_opts_t o = {NULL, 100000, 0, 256, 4, 3600000, 120, false};
        for (int i = 2; i < argc; i++) {
            if (opt(argv[i], "--url", &v))
                o.url = v;
            else if (opt(argv[i], "--alerts", &v))
                o.n_alerts = strtoull(v, NULL, 10);
            else if (opt(argv[i], "--offset", &v))
                o.offset = strtoull(v, NULL, 10);
            else if (opt(argv[i], "--batch", &v))
                o.batch = strtoull(v, NULL, 10);
            else if (opt(argv[i], "--connections", &v))
                o.n_conns = strtoul(v, NULL, 10);
            else if (opt(argv[i], "--ends-in", &v))
                o.ends_in_ms = (int64_t)(atof(v) * 1000);
            else if (opt(argv[i], "--timeout", &v))
                o.timeout_s = atol(v);
            else if (strcmp(argv[i], "--starts-now") == 0)
                o.starts_now = true;
            else
                usage();
        }
        if (!o.url || o.batch == 0 || o.n_conns == 0 || o.n_conns > MAX_CONNECTIONS) usage();
        return send_run(&o, false);
    }
    if (strcmp(argv[1], "sink") == 0) {
        unsigned port = 0;
        long max_s = 3600;
        for (int i = 2; i < argc; i++) {
            if (opt(argv[i], "--port", &v))
                port = (unsigned)atoi(v);
            else if (opt(argv[i], "--max-seconds", &v))
                max_s = atol(v);
            else
                usage();
        }
        if (!port) usage();
        return sink_main(port, max_s);
    }
    usage();
    return 2;
}
