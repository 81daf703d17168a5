/* This file implements the data generator of the PromQL benchmark
 * (bench/promql_compare.py): it sends one fixed, deterministic data set
 * over Prometheus remote_write 1.0 to any receiver (vigil, Prometheus with
 * --web.enable-remote-write-receiver), old samples first, in time order, so
 * that both servers hold exactly the same samples.
 *
 * The data set is a fleet of application instances, shaped so that every
 * query the seeds write (dashboards, alert rules) finds its series, plus the
 * heavy cases the benchmark needs:
 *   - http_requests_total{job="app",service,instance,handler,method,status}:
 *     --services services x --instances-per-service instances x 50
 *     (5 handlers, GET/POST, 5 statuses) = 10 000 series by default;
 *   - http_request_duration_seconds_bucket{...,handler,le} with _sum and
 *     _count: one classic histogram (10 buckets) per instance and handler =
 *     1 000 histograms, 10 000 bucket series by default;
 *   - process_cpu_seconds_total, process_resident_memory_bytes, up per app
 *     instance; node_cpu_seconds_total{cpu,mode} (2 CPUs x 8 modes),
 *     node_memory_Mem{Available,Total}_bytes, node_filesystem_{avail,size}_bytes
 *     and up{job="node"} per host;
 *   - a few database hosts: pg_up, mongodb_up, pg_stat_database_numbackends,
 *     database_connections_{active,total}, database_query_duration_seconds
 *     histograms, up{job="postgres"}.
 * Counters start at values a process up for 1 to 10 days would show and
 * follow a daily cycle and per-scrape noise; request counters of
 * rare statuses move now and then; one instance in 25 restarts every 6 h
 * (its counters drop to 0); up of a few targets drops for 10 minutes now
 * and then. Every series of a host shares one scrape timestamp per
 * interval: a fixed phase inside it plus up to +-jitter ms.
 *
 * Time order: each connection owns a fixed slice of the series and sends
 * --steps timestamps of each per request; all connections meet at a
 * barrier after every step, so the workload moves forward in time together
 * (Prometheus takes old data only into an empty store, in time order).
 *
 * The last line of output is "RESULT {json}" for scripts. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest/rw_decode.h"

#define MAX_LABELS 10
#define MAX_CONNECTIONS 64
#define N_BUCKETS 10

static const char *const services[] = {
    "api-gateway", "orders",   "payments", "users",   "catalog",   "search",  "cart",    "checkout",
    "shipping",    "billing",  "auth",     "reviews", "inventory", "pricing", "email",   "sms",
    "reports",     "ads",      "media",    "geo",     "audit",     "export",  "import",  "webhooks",
    "scheduler",   "notifier", "ledger",   "tax",     "fraud",     "loyalty", "support", "cms"};
static const char *const handlers[] = {"/", "/api/v1/items", "/api/v1/items/:id", "/api/v1/search",
                                       "/healthz"};
static const char *const statuses[] = {"200", "201", "404", "500", "503"};
static const double status_share[] = {0.85, 0.08, 0.05, 0.015, 0.005};
static const char *const les[N_BUCKETS] = {"0.005", "0.01", "0.025", "0.05", "0.1",
                                           "0.25",  "0.5",  "1",     "2.5",  "+Inf"};
static const double le_v[N_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, INFINITY};
static const char *const cpu_modes[] = {"idle",    "iowait", "irq",    "nice",
                                        "softirq", "steal",  "system", "user"};
static const double cpu_rates[] = {0.80, 0.01, 0.002, 0.001, 0.004, 0.0, 0.05, 0.13};

typedef enum kind {
    K_REQ,    /* request counter: rate per second in param */
    K_BUCKET, /* histogram bucket: hist id, bucket index in aux */
    K_HSUM,   /* histogram _sum */
    K_HCOUNT, /* histogram _count */
    K_CPU,    /* CPU seconds in hundredths, rate in param */
    K_WALK,   /* gauge walking in 4 KiB pages around param */
    K_CONST,  /* constant param */
    K_UP,     /* 1, with a 10-minute 0 now and then when param > 0 */
    K_SMALL,  /* integer gauge in [aux, param] */
} kind_t;

typedef struct series {
    ingest_rw_label_t labels[MAX_LABELS];
    size_t n_labels;
    kind_t kind;
    double param;
    double mu;     /* histograms: mean latency in seconds */
    uint32_t aux;  /* bucket index, or lower bound */
    uint32_t hist; /* histogram id (bucket series of one histogram share it) */
    uint32_t host; /* scrape group */
    bool restarts; /* counters of this host drop to 0 every 6 h */
} series_t;

typedef struct fleet {
    series_t *s;
    size_t n, cap;
    uint32_t n_hosts, n_hists;
} fleet_t;

/* ----------------------------------------------------------- randomness */

/* splitmix64: values depend only on (seed, series or histogram, step). */
static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static double unit(uint64_t x) { return (double)(mix(x) >> 11) * 0x1p-53; } /* [0,1) */

/* ----------------------------------------------------------- the fleet */

/* Strings live for the whole run: series keep pointers to them. */
static const char *keep(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *keep(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) abort();
    va_end(ap);
    return s;
}

static series_t *add(fleet_t *f, const char *name, kind_t kind, double param, uint32_t host) {
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 1024;
        f->s = vg_realloc(f->s, f->cap * sizeof *f->s);
    }
    series_t *s = &f->s[f->n++];
    memset(s, 0, sizeof *s);
    s->labels[s->n_labels++] = ingest_rw_label("__name__", name);
    s->kind = kind;
    s->param = param;
    s->host = host;
    return s;
}

static void lbl(series_t *s, const char *name, const char *value) {
    s->labels[s->n_labels++] = ingest_rw_label(name, value);
}

static void sort_labels(series_t *s) {
    for (size_t a = 1; a < s->n_labels; a++) {
        ingest_rw_label_t x = s->labels[a];
        size_t b = a;
        while (b > 0 && strcmp(s->labels[b - 1].name, x.name) > 0) {
            s->labels[b] = s->labels[b - 1];
            b--;
        }
        s->labels[b] = x;
    }
}

/* One classic histogram: N_BUCKETS bucket series, _sum, _count. base
 * labels are added to each. */
static void add_histogram(fleet_t *f, const char *family, const ingest_rw_label_t *base, size_t nb,
                          double rate, double mu, uint32_t host, bool restarts) {
    uint32_t h = f->n_hists++;
    for (size_t i = 0; i < N_BUCKETS + 2; i++) {
        const char *name = i < N_BUCKETS    ? keep("%s_bucket", family)
                           : i == N_BUCKETS ? keep("%s_sum", family)
                                            : keep("%s_count", family);
        series_t *s = add(f, name,
                          i < N_BUCKETS    ? K_BUCKET
                          : i == N_BUCKETS ? K_HSUM
                                           : K_HCOUNT,
                          rate, host);
        for (size_t j = 0; j < nb; j++)
            s->labels[s->n_labels++] = base[j];
        if (i < N_BUCKETS) lbl(s, "le", les[i]);
        s->aux = (uint32_t)i;
        s->hist = h;
        s->mu = mu;
        s->restarts = restarts;
        sort_labels(s);
    }
}

static void fleet_build(fleet_t *f, size_t n_services, size_t per_service, size_t n_db,
                        uint64_t seed) {
    uint32_t host = 0;
    for (size_t sv = 0; sv < n_services; sv++)
        for (size_t in = 0; in < per_service; in++, host++) {
            const char *service =
                sv < sizeof services / sizeof *services ? services[sv] : keep("svc-%02zu", sv);
            const char *inst = keep("%s-%02zu.prod.example.net:8080", service, in);
            const char *node_inst = keep("%s-%02zu.prod.example.net:9100", service, in);
            bool restarts = host % 25 == 3;
            double load = 0.3 + 1.4 * unit(seed ^ host * 0x51ull); /* instance traffic share */
            for (size_t hd = 0; hd < 5; hd++) {
                double hshare = hd == 4 ? 0.2 : (hd + 1) * 0.25;
                for (size_t m = 0; m < 2; m++)
                    for (size_t st = 0; st < 5; st++) {
                        double rate = 20.0 * load * hshare * (m ? 0.3 : 1.0) * status_share[st];
                        series_t *s = add(f, "http_requests_total", K_REQ, rate, host);
                        lbl(s, "job", "app");
                        lbl(s, "service", service);
                        lbl(s, "instance", inst);
                        lbl(s, "handler", handlers[hd]);
                        lbl(s, "method", m ? "POST" : "GET");
                        lbl(s, "status", statuses[st]);
                        s->restarts = restarts;
                        sort_labels(s);
                    }
                ingest_rw_label_t base[] = {
                    ingest_rw_label("job", "app"), ingest_rw_label("service", service),
                    ingest_rw_label("instance", inst), ingest_rw_label("handler", handlers[hd])};
                double mu = (hd == 3   ? 0.12
                             : hd == 4 ? 0.002
                                       : 0.03) *
                            (0.5 + unit(seed ^ (host * 7 + hd) * 0x77ull));
                add_histogram(f, "http_request_duration_seconds", base, 4,
                              20.0 * load * hshare * 1.3, mu, host, restarts);
            }
            series_t *s = add(f, "process_cpu_seconds_total", K_CPU, 0.05 + 0.4 * load, host);
            lbl(s, "job", "app"), lbl(s, "service", service), lbl(s, "instance", inst);
            s->restarts = restarts;
            sort_labels(s);
            s = add(f, "process_resident_memory_bytes", K_WALK, 2.5e8 + 2e8 * load, host);
            lbl(s, "job", "app"), lbl(s, "service", service), lbl(s, "instance", inst);
            sort_labels(s);
            s = add(f, "up", K_UP, host % 50 == 7 ? 1 : 0, host);
            lbl(s, "job", "app"), lbl(s, "service", service), lbl(s, "instance", inst);
            sort_labels(s);
            /* the node exporter of the same machine */
            for (size_t c = 0; c < 2; c++)
                for (size_t m = 0; m < 8; m++) {
                    s = add(f, "node_cpu_seconds_total", K_CPU,
                            cpu_rates[m] * (m == 0 ? 1.0 : load), host);
                    lbl(s, "job", "node"), lbl(s, "instance", node_inst);
                    lbl(s, "cpu", c ? "1" : "0"), lbl(s, "mode", cpu_modes[m]);
                    sort_labels(s);
                }
            s = add(f, "node_memory_MemTotal_bytes", K_CONST, 17179869184.0, host);
            lbl(s, "job", "node"), lbl(s, "instance", node_inst), sort_labels(s);
            s = add(f, "node_memory_MemAvailable_bytes", K_WALK, 4e9 + 8e9 * unit(host * 3ull),
                    host);
            lbl(s, "job", "node"), lbl(s, "instance", node_inst), sort_labels(s);
            s = add(f, "node_filesystem_size_bytes", K_CONST, 1.0e11, host);
            lbl(s, "job", "node"), lbl(s, "instance", node_inst), lbl(s, "mountpoint", "/");
            lbl(s, "device", "/dev/nvme0n1p2"), lbl(s, "fstype", "ext4"), sort_labels(s);
            s = add(f, "node_filesystem_avail_bytes", K_WALK, 5e9 + 5e10 * unit(host * 5ull), host);
            lbl(s, "job", "node"), lbl(s, "instance", node_inst), lbl(s, "mountpoint", "/");
            lbl(s, "device", "/dev/nvme0n1p2"), lbl(s, "fstype", "ext4"), sort_labels(s);
            s = add(f, "up", K_UP, 0, host);
            lbl(s, "job", "node"), lbl(s, "instance", node_inst), sort_labels(s);
        }
    static const char *const dbs[] = {"app", "orders", "analytics"};
    for (size_t d = 0; d < n_db; d++, host++) {
        const char *pg = keep("db-%02zu.prod.example.net:9187", d);
        const char *mongo = keep("mongo-%02zu.prod.example.net:9216", d);
        series_t *s = add(f, "pg_up", K_UP, 1, host);
        lbl(s, "job", "postgres"), lbl(s, "instance", pg), sort_labels(s);
        s = add(f, "up", K_UP, 1, host);
        lbl(s, "job", "postgres"), lbl(s, "instance", pg), sort_labels(s);
        s = add(f, "mongodb_up", K_UP, 1, host);
        lbl(s, "job", "mongodb"), lbl(s, "instance", mongo), sort_labels(s);
        for (size_t i = 0; i < 3; i++) {
            s = add(f, "pg_stat_database_numbackends", K_SMALL, 40, host);
            s->aux = 1;
            lbl(s, "job", "postgres"), lbl(s, "instance", pg), lbl(s, "datname", dbs[i]);
            sort_labels(s);
        }
        s = add(f, "database_connections_active", K_SMALL, 98, host);
        s->aux = 10;
        lbl(s, "job", "db"), lbl(s, "instance", pg), sort_labels(s);
        s = add(f, "database_connections_total", K_CONST, 100, host);
        lbl(s, "job", "db"), lbl(s, "instance", pg), sort_labels(s);
        ingest_rw_label_t base[] = {ingest_rw_label("job", "db"), ingest_rw_label("instance", pg)};
        add_histogram(f, "database_query_duration_seconds", base, 2, 50, 0.02 + 0.1 * (d % 3), host,
                      false);
    }
    f->n_hosts = host;
}

/* ---------------------------------------------------------- the workload */

typedef struct options {
    const char *url;
    size_t n_services, per_service, n_db;
    size_t n_samples;
    int64_t interval_ms, jitter_ms, start_ms;
    bool start_set;
    size_t batch, steps, n_conns;
    uint64_t seed;
    long timeout_s;
} options_t;

typedef struct shared {
    const options_t *o;
    const fleet_t *fleet;
    pthread_barrier_t barrier;
} shared_t;

typedef struct worker {
    shared_t *sh;
    size_t first, end;
    pthread_t thread;
    double *v; /* each series' current value */
    uint64_t requests, samples, errors, retries;
    long first_status;
    char first_error[256];
} worker_t;

static int64_t sample_time(const options_t *o, uint32_t h, size_t k) {
    int64_t phase = (int64_t)(mix(o->seed ^ (h * 0x632be59bd9b4e019ull)) %
                              (uint64_t)(o->interval_ms > 1 ? o->interval_ms / 2 : 1));
    int64_t j = 0;
    if (o->jitter_ms > 0)
        j = (int64_t)(mix(o->seed ^ ((uint64_t)h << 32) ^ (k * 0x85ebca6bull)) %
                      (uint64_t)(2 * o->jitter_ms + 1)) -
            o->jitter_ms;
    return o->start_ms + (int64_t)k * o->interval_ms + phase + j;
}

/* The daily cycle of traffic at time t (ms): 0.5 .. 1.5. */
static double diurnal(int64_t t) { return 1.0 + 0.5 * sin(2 * M_PI * (double)t / 86400000.0); }

/* Requests of histogram h at step k and their mean latency. */
static void hist_step(const options_t *o, const series_t *s, size_t k, int64_t t, double *n,
                      double *mu) {
    uint64_t key = o->seed ^ (s->hist * 0xd6e8feb86659fd93ull) ^ (k * 0xa0761d6478bd642full);
    double d = diurnal(t);
    *n = floor(s->param * (double)o->interval_ms / 1000.0 * d * (0.5 + unit(key)) + unit(key + 1));
    *mu = s->mu * (0.7 + 0.6 * unit(key + 2)) * (0.6 + 0.4 * d);
}

/* The value of series i at step k; advances v (called once per step, in
 * order, starting at k = 0). */
static double next_value(const shared_t *sh, size_t i, size_t k, int64_t t, double *v) {
    const options_t *o = sh->o;
    const series_t *s = &sh->fleet->s[i];
    uint64_t key = o->seed ^ (i * 0x9e3779b97f4a7c15ull) ^ (k * 0xc2b2ae3d27d4eb4full);
    double dt = (double)o->interval_ms / 1000.0, u = unit(key);
    size_t six_h = (size_t)(6 * 3600000 / o->interval_ms);
    bool counter = s->kind == K_REQ || s->kind == K_BUCKET || s->kind == K_HSUM ||
                   s->kind == K_HCOUNT || s->kind == K_CPU;
    if (counter && k == 0) {
        /* Counters start where a process up for 1 to 10 days would be, so
         * that rate() at the start of the data never extrapolates towards
         * zero (where Prometheus 2.x and 3.x differ). */
        double uptime = 86400.0 * (1 + 9 * unit(o->seed ^ (s->host * 0x2545f4914f6cdd1dull)));
        if (s->kind == K_REQ)
            *v = floor(s->param * uptime);
        else if (s->kind == K_CPU)
            *v = round(s->param * uptime * 100) / 100;
        else {
            double n0 = floor(s->param * uptime);
            *v = s->kind == K_HCOUNT ? n0
                 : s->kind == K_HSUM ? round(n0 * s->mu * 1e6) / 1e6
                                     : floor(n0 * (1.0 - exp(-le_v[s->aux] / s->mu)));
        }
    }
    if (counter && s->restarts && (k + s->host * 37u) % six_h == 0) *v = 0;
    switch (s->kind) {
    case K_REQ: *v += floor(s->param * dt * diurnal(t) * (0.5 + u) + unit(key + 1)); break;
    case K_BUCKET:
    case K_HSUM:
    case K_HCOUNT: {
        double n, mu;
        hist_step(o, s, k, t, &n, &mu);
        if (s->kind == K_HCOUNT)
            *v += n;
        else if (s->kind == K_HSUM)
            *v = round((*v + n * mu) * 1e6) / 1e6;
        else
            *v += floor(n * (1.0 - exp(-le_v[s->aux] / mu)));
        break;
    }
    case K_CPU: *v = round((*v + s->param * dt * (0.6 + 0.8 * u)) * 100) / 100; break;
    case K_WALK:
        if (k == 0) *v = floor(s->param / 4096) * 4096;
        *v += 4096.0 * floor((u - 0.5) * 512);
        if (*v < s->param * 0.5) *v = floor(s->param * 0.5 / 4096) * 4096;
        break;
    case K_CONST: *v = s->param; break;
    case K_UP:
        *v = 1;
        /* a 10-minute outage now and then (same for all 40 steps of the window) */
        if (s->param > 0 &&
            unit(o->seed ^ (s->host * 0x1234567ull) ^ ((k / 40) * 0x9876ull)) < 0.03)
            *v = 0;
        break;
    case K_SMALL:
        if (k == 0 || u < 0.3) *v = floor(s->aux + (s->param - s->aux + 1) * unit(key + 3));
        break;
    }
    return *v;
}

static bool send_body(worker_t *w, CURL *curl, const vg_buf_t *body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    for (int attempt = 0;; attempt++) {
        char errbuf[CURL_ERROR_SIZE] = "";
        vg_buf_t resp = VG_BUF_INIT;
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
        CURLcode rc = curl_easy_perform(curl);
        long status = 0;
        if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OK && status >= 200 && status < 300) {
            vg_buf_free(&resp);
            return true;
        }
        if ((rc != CURLE_OK || status >= 500) && attempt < 3) {
            vg_buf_free(&resp);
            w->retries++;
            struct timespec ts = {0, 100000000L << attempt};
            nanosleep(&ts, NULL);
            continue;
        }
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
        hdrs = curl_slist_append(hdrs, "User-Agent: vigil-bench-promqlgen");
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(curl, CURLOPT_URL, o->url);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, o->timeout_s);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    }
    size_t n_mine = w->end - w->first;
    w->v = vg_calloc(n_mine ? n_mine : 1, sizeof *w->v);
    ingest_rw_writer_t wr;
    ingest_rw_writer_init(&wr);
    vg_buf_t body = VG_BUF_INIT;
    ingest_rw_sample_t *smp = vg_malloc(o->steps * sizeof *smp);
    for (size_t k0 = 0; k0 < o->n_samples; k0 += o->steps) {
        size_t k1 = k0 + o->steps < o->n_samples ? k0 + o->steps : o->n_samples;
        for (size_t i = w->first; i < w->end; i++) {
            const series_t *s = &sh->fleet->s[i];
            size_t n = 0;
            for (size_t k = k0; k < k1; k++, n++) {
                smp[n].timestamp_ms = sample_time(o, s->host, k);
                smp[n].value = next_value(sh, i, k, smp[n].timestamp_ms, &w->v[i - w->first]);
            }
            ingest_rw_writer_add_series(&wr, s->labels, s->n_labels, smp, n, NULL, 0);
            if (wr.n_samples + n > o->batch || i + 1 == w->end) {
                vg_buf_reset(&body);
                ingest_rw_writer_finish(&wr, &body);
                w->requests++;
                if (!curl || send_body(w, curl, &body)) w->samples += wr.n_samples;
                ingest_rw_writer_reset(&wr);
            }
        }
        pthread_barrier_wait(&sh->barrier);
    }
    free(smp);
    vg_buf_free(&body);
    ingest_rw_writer_free(&wr);
    free(w->v);
    if (curl) curl_easy_cleanup(curl);
    curl_slist_free_all(hdrs);
    return NULL;
}

/* -------------------------------------------------------------- options */

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_promqlgen [--url=URL] [--services=20] [--instances=10] [--db=10]\n"
            "                       [--samples=5760] [--interval=15s] [--jitter=5ms] [--start=MS]\n"
            "                       [--batch=4000] [--steps=20] [--connections=4] [--seed=N]\n"
            "Sends the PromQL benchmark's data set as remote_write 1.0 requests to URL\n"
            "(e.g. http://127.0.0.1:9090/api/v1/write); without --url, only builds them.\n"
            "  --services     application services (default 20)\n"
            "  --instances    instances per service (default 10); 50 request counters and\n"
            "                 5 histograms per instance\n"
            "  --db           database hosts (default 10)\n"
            "  --samples      samples per series (default 5760: 24 h at 15 s)\n"
            "  --start        first timestamp, ms since the epoch (default: the last sample\n"
            "                 about one interval before now)\n"
            "  --list         print the series count and exit\n");
}

static bool parse_size(const char *v, size_t *out) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end) return false;
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

int main(int argc, char **argv) {
    options_t o = {.n_services = 20,
                   .per_service = 10,
                   .n_db = 10,
                   .n_samples = 5760,
                   .interval_ms = 15000,
                   .jitter_ms = 5,
                   .batch = 4000,
                   .steps = 20,
                   .n_conns = 4,
                   .seed = 42,
                   .timeout_s = 300};
    bool list = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--list") == 0) {
            list = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || !eq) {
            usage(stderr);
            return 2;
        }
        size_t nl = (size_t)(eq - a - 2);
        const char *v = eq + 1;
#define IS(s) (nl == strlen(s) && strncmp(a + 2, s, nl) == 0)
        bool ok = true;
        if (IS("url"))
            o.url = v;
        else if (IS("services"))
            ok = parse_size(v, &o.n_services) && o.n_services > 0;
        else if (IS("instances"))
            ok = parse_size(v, &o.per_service) && o.per_service > 0;
        else if (IS("db"))
            ok = parse_size(v, &o.n_db);
        else if (IS("samples"))
            ok = parse_size(v, &o.n_samples) && o.n_samples > 0;
        else if (IS("interval"))
            ok = parse_duration(v, &o.interval_ms) && o.interval_ms > 0;
        else if (IS("jitter"))
            ok = parse_duration(v, &o.jitter_ms);
        else if (IS("start")) {
            char *end;
            o.start_ms = strtoll(v, &end, 10);
            ok = end != v && !*end;
            o.start_set = true;
        } else if (IS("batch"))
            ok = parse_size(v, &o.batch) && o.batch > 0;
        else if (IS("steps"))
            ok = parse_size(v, &o.steps) && o.steps > 0;
        else if (IS("connections"))
            ok = parse_size(v, &o.n_conns) && o.n_conns > 0 && o.n_conns <= MAX_CONNECTIONS;
        else if (IS("seed"))
            ok = parse_size(v, (size_t *)&o.seed);
        else {
            usage(stderr);
            return 2;
        }
#undef IS
        if (!ok) {
            fprintf(stderr, "bench_promqlgen: bad value in %s\n", a);
            return 2;
        }
    }
    if (o.jitter_ms * 2 >= o.interval_ms / 2) {
        fprintf(stderr, "bench_promqlgen: --jitter must be under a quarter of --interval\n");
        return 2;
    }
    if (!o.start_set) {
        int64_t now = vg_time_now_ms();
        o.start_ms =
            (now - (int64_t)(o.n_samples + 1) * o.interval_ms) / o.interval_ms * o.interval_ms;
    }
    fleet_t fleet = {0};
    fleet_build(&fleet, o.n_services, o.per_service, o.n_db, o.seed);
    if (list) {
        printf("%zu series, %u hosts, %u histograms, %zu samples\n", fleet.n, fleet.n_hosts,
               fleet.n_hists, fleet.n * o.n_samples);
        return 0;
    }
    if (o.n_conns > fleet.n) o.n_conns = fleet.n;
    shared_t sh = {.o = &o, .fleet = &fleet};
    pthread_barrier_init(&sh.barrier, NULL, (unsigned)o.n_conns);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    worker_t *ws = vg_calloc(o.n_conns, sizeof *ws);
    double t0 = vg_time_mono();
    for (size_t c = 0; c < o.n_conns; c++) {
        ws[c].sh = &sh;
        ws[c].first = fleet.n * c / o.n_conns;
        ws[c].end = fleet.n * (c + 1) / o.n_conns;
        if (pthread_create(&ws[c].thread, NULL, worker_run, &ws[c]) != 0) {
            fprintf(stderr, "bench_promqlgen: cannot start a thread\n");
            return 1;
        }
    }
    uint64_t requests = 0, samples = 0, errors = 0, retries = 0;
    long first_status = 0;
    const char *first_error = "";
    for (size_t c = 0; c < o.n_conns; c++) {
        pthread_join(ws[c].thread, NULL);
        requests += ws[c].requests;
        samples += ws[c].samples;
        retries += ws[c].retries;
        if (ws[c].errors && !errors) {
            first_status = ws[c].first_status;
            first_error = ws[c].first_error;
        }
        errors += ws[c].errors;
    }
    double el = vg_time_mono() - t0;
    int64_t last =
        o.start_ms + (int64_t)(o.n_samples - 1) * o.interval_ms + o.interval_ms / 2 + o.jitter_ms;
    printf("%s: %zu series x %zu samples, %" PRIu64 " requests, %.1f s, %.0f samples/s\n",
           o.url ? o.url : "dry run", fleet.n, o.n_samples, requests, el, (double)samples / el);
    printf("  errors: %" PRIu64 " requests failed, %" PRIu64 " retried\n", errors, retries);
    if (errors) printf("  first error: HTTP %ld: %s\n", first_status, first_error);
    printf("RESULT {\"series\":%zu,\"histograms\":%u,\"samples\":%" PRIu64 ",\"errors\":%" PRIu64
           ",\"seconds\":%.3f,\"start_ms\":%" PRId64 ",\"last_ms\":%" PRId64 "}\n",
           fleet.n, fleet.n_hists, samples, errors, el, o.start_ms, last);
    free(ws);
    pthread_barrier_destroy(&sh.barrier);
    curl_global_cleanup();
    return errors ? 1 : 0;
}
