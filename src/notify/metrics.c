/* This file implements the notification metrics with Alertmanager 0.25's
 * names, help texts and buckets: per integration, notifications and their
 * failures (one per aggregation group flush and integration), requests and
 * their failures (one per attempt) and the latency of each attempt.
 * Alertmanager creates the series of its ten classic integrations at
 * start; the others appear once used. One mutex guards the counters: an
 * update is a few additions, far rarer than anything that would contend. */
#include "notify/notify.h"

#include <pthread.h>
#include <string.h>

#define N_BUCKETS 5
static const double buckets[N_BUCKETS] = {1, 5, 10, 15, 20};

typedef struct series {
    bool present;
    double notifications, notifications_failed, requests, requests_failed;
    double bucket[N_BUCKETS], sum, count;
} series_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static series_t series[NOTIFY_KIND_COUNT];
static bool initialised;

/* Alertmanager's pre-created integrations */
static const notify_kind_t classic[] = {
    NOTIFY_EMAIL,    NOTIFY_PAGERDUTY, NOTIFY_WECHAT,    NOTIFY_PUSHOVER, NOTIFY_SLACK,
    NOTIFY_OPSGENIE, NOTIFY_WEBHOOK,   NOTIFY_VICTOROPS, NOTIFY_SNS,      NOTIFY_TELEGRAM};

static void init_locked(void) {
    if (initialised) return;
    initialised = true;
    for (size_t i = 0; i < sizeof classic / sizeof classic[0]; i++)
        series[classic[i]].present = true;
}

static series_t *find_locked(const char *integration) {
    init_locked();
    for (int k = 0; k < NOTIFY_KIND_COUNT; k++)
        if (integration && strcmp(notify_kind_name((notify_kind_t)k), integration) == 0) {
            series[k].present = true;
            return &series[k];
        }
    return NULL;
}

void notify_metrics_observe(const char *integration, double seconds, bool failed) {
    pthread_mutex_lock(&lock);
    series_t *s = find_locked(integration);
    if (s) {
        s->requests++;
        if (failed) s->requests_failed++;
        for (int b = 0; b < N_BUCKETS; b++)
            if (seconds <= buckets[b]) s->bucket[b]++;
        s->sum += seconds;
        s->count++;
    }
    pthread_mutex_unlock(&lock);
}

void notify_metrics_notification(const char *integration, bool failed) {
    pthread_mutex_lock(&lock);
    series_t *s = find_locked(integration);
    if (s) {
        s->notifications++;
        if (failed) s->notifications_failed++;
    }
    pthread_mutex_unlock(&lock);
}

void notify_metrics_reset(void) {
    pthread_mutex_lock(&lock);
    memset(series, 0, sizeof series);
    initialised = false;
    pthread_mutex_unlock(&lock);
}

/* The kinds in label order (client_golang sorts series by label values). */
static int sorted_kinds(notify_kind_t *out) {
    int n = 0;
    for (int k = 0; k < NOTIFY_KIND_COUNT; k++) {
        if (!series[k].present) continue;
        int i = n++;
        while (i > 0 &&
               strcmp(notify_kind_name(out[i - 1]), notify_kind_name((notify_kind_t)k)) > 0) {
            out[i] = out[i - 1];
            i--;
        }
        out[i] = (notify_kind_t)k;
    }
    return n;
}

static void write_counter(expfmt_writer_t *w, const char *name, const char *help,
                          const notify_kind_t *kinds, int n, size_t off) {
    expfmt_write_family(w, name, EXPFMT_COUNTER, help, NULL);
    for (int i = 0; i < n; i++) {
        double v = *(const double *)((const char *)&series[kinds[i]] + off);
        expfmt_write_samplev(w, name, v, "integration", notify_kind_name(kinds[i]), NULL);
    }
}

void notify_metrics_write(expfmt_writer_t *w) {
    pthread_mutex_lock(&lock);
    init_locked();
    notify_kind_t kinds[NOTIFY_KIND_COUNT];
    int n = sorted_kinds(kinds);
    write_counter(w, "alertmanager_notification_requests_failed_total",
                  "The total number of failed notification requests.", kinds, n,
                  offsetof(series_t, requests_failed));
    write_counter(w, "alertmanager_notification_requests_total",
                  "The total number of attempted notification requests.", kinds, n,
                  offsetof(series_t, requests));
    expfmt_write_family(w, "alertmanager_notification_latency_seconds", EXPFMT_HISTOGRAM,
                        "The latency of notifications in seconds.", NULL);
    for (int i = 0; i < n; i++) {
        const series_t *s = &series[kinds[i]];
        const char *name = notify_kind_name(kinds[i]);
        for (int b = 0; b <= N_BUCKETS; b++) {
            char le[VG_FLOAT_MAX_LEN];
            if (b < N_BUCKETS)
                vg_format_float(buckets[b], le);
            else
                strcpy(le, "+Inf");
            expfmt_write_samplev(w, "alertmanager_notification_latency_seconds_bucket",
                                 b < N_BUCKETS ? s->bucket[b] : s->count, "integration", name, "le",
                                 le, NULL);
        }
        expfmt_write_samplev(w, "alertmanager_notification_latency_seconds_sum", s->sum,
                             "integration", name, NULL);
        expfmt_write_samplev(w, "alertmanager_notification_latency_seconds_count", s->count,
                             "integration", name, NULL);
    }
    write_counter(w, "alertmanager_notifications_failed_total",
                  "The total number of failed notifications.", kinds, n,
                  offsetof(series_t, notifications_failed));
    write_counter(w, "alertmanager_notifications_total",
                  "The total number of attempted notifications.", kinds, n,
                  offsetof(series_t, notifications));
    pthread_mutex_unlock(&lock);
}
