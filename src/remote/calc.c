/* This file implements the queue's arithmetic, kept free of threads and
 * I/O so it can be tested on its own: back-off and Retry-After, the
 * moving rates and Prometheus's desired-shards calculation, and grouping a
 * batch of samples into TimeSeries. */
#include "remote_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t remote_backoff_sleep(int64_t backoff_ms, int64_t retry_after_ms) {
    return retry_after_ms > 0 ? retry_after_ms : backoff_ms;
}

int64_t remote_backoff_next(int64_t slept_ms, int64_t max_ms) {
    int64_t next = slept_ms > INT64_MAX / 2 ? INT64_MAX : slept_ms * 2;
    return next > max_ms ? max_ms : next;
}

int64_t remote_retry_after_ms(const char *value, int64_t now_ms) {
    if (!value) return 0;
    while (*value == ' ' || *value == '\t')
        value++;
    if (!*value) return 0;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end && (*end == '\0' || *end == '\r' || *end == '\n')) {
        /* whole seconds until then, as Prometheus truncates them */
        int64_t s = (int64_t)timegm(&tm) * 1000 - now_ms;
        return s / 1000 * 1000;
    }
    char *e;
    long long secs = strtoll(value, &e, 10);
    while (*e == ' ' || *e == '\r' || *e == '\n')
        e++;
    if (*e != '\0' || e == value || secs > 365LL * 24 * 3600 || secs < -365LL * 24 * 3600) return 0;
    return secs * 1000;
}

void remote_ewma_tick(remote_ewma_t *e) {
    double events = e->acc;
    e->acc = 0;
    double instant = events / e->interval_s;
    if (e->init) {
        e->rate += e->weight * (instant - e->rate);
    } else if (events > 0) {
        e->init = true;
        e->rate = instant;
    }
}

int remote_desired_shards(const remote_shard_calc_t *c, double *out_raw) {
    *out_raw = c->n_shards;
    if (c->data_out_rate <= 0) return c->n_shards;
    double kept = c->data_out_rate / (c->data_dropped_rate + c->data_out_rate);
    double delay = c->highest_recv_s - c->highest_sent_s;
    double pending = delay * c->data_in_rate * kept;
    /* Catch up on 5 % of the backlog per second; the time one sample takes
     * to send says how many shards that needs. */
    double catchup = 0.05 * pending;
    double per_sample = c->data_out_duration_rate / c->data_out_rate;
    double desired = per_sample * (c->data_in_rate * kept + catchup);
    *out_raw = desired;
    double lower = c->n_shards * (1 - 0.3), upper = c->n_shards * (1 + 0.3);
    desired = ceil(desired);
    if (lower <= desired && desired <= upper) return c->n_shards;
    int n = desired > (double)c->max_shards ? c->max_shards : (int)desired;
    if (n < c->n_shards && delay > 10.0) return c->n_shards;
    if (n > c->max_shards) n = c->max_shards;
    if (n < c->min_shards) n = c->min_shards;
    return n;
}

int64_t remote_batch_encode(const remote_sample_t *s, size_t n, ingest_rw_writer_t *w) {
    int64_t highest = INT64_MIN;
    if (n == 0) return highest;
    /* Group ids in order of first appearance: a small pointer hash. */
    size_t n_slots = 16;
    while (n_slots < 2 * n)
        n_slots *= 2;
    const labels_t **keys = vg_calloc(n_slots, sizeof *keys);
    uint32_t *ids = vg_malloc(n_slots * sizeof *ids);
    uint32_t *group = vg_malloc(n * sizeof *group);
    uint32_t n_groups = 0;
    for (size_t i = 0; i < n; i++) {
        uintptr_t h = (uintptr_t)s[i].ls * 0x9e3779b97f4a7c15ull;
        size_t j = (size_t)(h >> 20) & (n_slots - 1);
        while (keys[j] && keys[j] != s[i].ls)
            j = (j + 1) & (n_slots - 1);
        if (!keys[j]) {
            keys[j] = s[i].ls;
            ids[j] = n_groups++;
        }
        group[i] = ids[j];
        if (s[i].t > highest) highest = s[i].t;
    }
    /* Counting sort by group keeps each series' samples in order. */
    uint32_t *start = vg_calloc((size_t)n_groups + 1, sizeof *start);
    for (size_t i = 0; i < n; i++)
        start[group[i] + 1]++;
    for (uint32_t g = 0; g < n_groups; g++)
        start[g + 1] += start[g];
    uint32_t *fill = vg_malloc(((size_t)n_groups + 1) * sizeof *fill);
    memcpy(fill, start, ((size_t)n_groups + 1) * sizeof *fill);
    size_t *order = vg_malloc(n * sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[fill[group[i]]++] = i;
    ingest_rw_sample_t *samples = vg_malloc(n * sizeof *samples);
    ingest_rw_label_t *labels = NULL;
    size_t labels_cap = 0;
    for (uint32_t g = 0; g < n_groups; g++) {
        const labels_t *ls = s[order[start[g]]].ls;
        size_t nl = labels_len(ls);
        if (nl > labels_cap) {
            labels_cap = nl;
            labels = vg_realloc(labels, labels_cap * sizeof *labels);
        }
        for (size_t i = 0; i < nl; i++) {
            labels_label_t l = labels_at(ls, i);
            labels[i] = (ingest_rw_label_t){l.name, l.name_len, l.value, l.value_len};
        }
        size_t ns = 0;
        for (uint32_t k = start[g]; k < start[g + 1]; k++)
            samples[ns++] = (ingest_rw_sample_t){s[order[k]].t, s[order[k]].v};
        ingest_rw_writer_add_series(w, labels, nl, samples, ns, NULL, 0);
    }
    free(labels);
    free(samples);
    free(order);
    free(fill);
    free(start);
    free(group);
    free(ids);
    free(keys);
    return highest;
}
