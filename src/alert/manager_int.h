/* Shared by manager.c (the store, the API's views, metrics) and dispatch.c
 * (aggregation groups, their timers and the notification pipeline): the
 * Alertmanager object itself. One mutex guards the store, the groups, the
 * inhibition index and the configuration; notifications are sent with it
 * released. */
#ifndef VG_ALERT_MANAGER_INT_H
#define VG_ALERT_MANAGER_INT_H

#include <pthread.h>

#include "alert/alert_int.h"
#include "notify/notify.h"

/* An aggregation group (Alertmanager's aggrGroup): the alerts of one route
 * that share the group_by labels, with their own timer. */
typedef struct alert_group {
    const alert_route_t *route; /* borrowed from the config in force */
    labels_t *labels;           /* the group labels */
    uint64_t key_hash;          /* route idx and labels, for the group table */
    char *key;                  /* "<route key>:<labels>" */
    alert_map_t alerts;
    int64_t next_ns;  /* when the timer fires */
    size_t heap_idx;  /* SIZE_MAX: not in the timer heap */
    bool has_flushed; /* the first flush happened */
    bool flushing;    /* a worker is sending it now */
    bool dead;        /* removed while flushing: the worker frees it */
} alert_group_t;

/* The configuration in force with its templates: a worker flushing under
 * it keeps it alive across a reload. */
typedef struct alert_snapshot {
    alert_config_t *cfg;
    notify_templates_t *tmpl;
    _Atomic unsigned refs;
} alert_snapshot_t;

alert_snapshot_t *alert_snapshot_ref(alert_snapshot_t *s);
void alert_snapshot_unref(alert_snapshot_t *s);

struct alert_manager {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* workers wait on it for the next timer or stop */
    bool stopping;

    alert_manager_opts_t opts;
    char *storage_dir, *external_url;
    int64_t start_ns;

    alert_map_t store;      /* every alert by fingerprint */
    alert_snapshot_t *snap; /* NULL until the first apply */
    alert_config_t *cfg;    /* snap->cfg, for short */

    /* Groups: a hash table by key_hash (chained by probing) and a min-heap
     * of timers. */
    alert_group_t **groups;
    size_t groups_cap, n_groups;
    alert_group_t **heap;
    size_t heap_len, heap_cap;
    int64_t next_maintenance_ns, next_gc_ns;

    /* Inhibition: per rule of the config, the alerts that match its source
     * matchers (resolved ones are skipped when read, dropped at GC). */
    alert_map_t *inhibit_sources;
    size_t n_inhibit_sources;

    struct alert_db *db;
    struct alert_silences *silences;
    struct alert_nflog *nflog;

    pthread_t *workers;
    size_t n_workers;

    /* Counters for /metrics. */
    _Atomic uint64_t received_firing, received_resolved, invalid;
};

/* manager.c */
/* Resolved alerts leave the store and the inhibition index; silences and
 * log entries past retention go (lock held). Every 15 minutes: the
 * interval of Alertmanager's silence and log maintenance (its alert GC runs
 * every 30; sooner only frees memory earlier). */
#define ALERT_GC_INTERVAL_NS (INT64_C(15) * 60 * 1000000000)
void alert_manager_gc_locked(alert_manager_t *m, int64_t now_ns);

/* dispatch.c */
/* Routes a just-stored alert into its groups (lock held). */
void alert_dispatch_insert(alert_manager_t *m, alert_alert_t *a, int64_t now_ns);
/* Drops every group and re-inserts every stored alert under the config in
 * force (lock held), as Alertmanager restarts its dispatcher on reload. */
void alert_dispatch_rebuild(alert_manager_t *m, int64_t now_ns);
/* Starts and stops the worker threads. */
void alert_dispatch_start(alert_manager_t *m);
void alert_dispatch_stop(alert_manager_t *m);
/* Frees every group (lock held, workers stopped). */
void alert_dispatch_clear(alert_manager_t *m);
/* The inhibition check (lock held): whether ls is muted at now; the
 * inhibiting source's fingerprint goes to *by. */
bool alert_dispatch_inhibited(alert_manager_t *m, const labels_t *ls, int64_t now_ns, uint64_t *by);

#endif
