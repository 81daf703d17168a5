/*
 * selfmon — vigil watching itself: the metrics of its own process, of its
 * HTTP server and of its long-lived threads, written on /metrics.
 *
 * What it does: a small registry of counter, gauge and histogram families
 * with labels (each family a fixed set of label names, children created on
 * first use), the process metrics that Prometheus client libraries export
 * (process_cpu_seconds_total, process_resident_memory_bytes, …), and busy
 * and idle time per named thread ("worker").
 *
 * What it owns: every family and child it hands out, freed with the
 * registry. Label values are copied.
 *
 * Threads: families are created at start-up by the thread that builds the
 * server; updates (add, set, observe) and selfmon_write are safe from any
 * thread, each family has its own lock. A worker is updated only by the
 * thread it belongs to; selfmon_write reads it with atomics.
 */
#ifndef VG_SELFMON_H
#define VG_SELFMON_H

#include "expfmt/expfmt.h"

#define SELFMON_MAX_LABELS 4

typedef struct selfmon selfmon_t;
typedef struct selfmon_family selfmon_family_t;
typedef struct selfmon_worker selfmon_worker_t;

/* proc_path is normally "/proc" (tests may point elsewhere). */
selfmon_t *selfmon_new(const char *proc_path);
void selfmon_free(selfmon_t *s);

/* Families. name, help and label names are copied. A histogram's buckets are
 * upper bounds in increasing order, without +Inf. */
selfmon_family_t *selfmon_counter(selfmon_t *s, const char *name, const char *help, size_t n_labels,
                                  const char *const *label_names);
selfmon_family_t *selfmon_gauge(selfmon_t *s, const char *name, const char *help, size_t n_labels,
                                const char *const *label_names);
selfmon_family_t *selfmon_histogram(selfmon_t *s, const char *name, const char *help,
                                    size_t n_labels, const char *const *label_names,
                                    const double *buckets, size_t n_buckets);

/* Updates the child with these label values (n_labels of them, as the family
 * was declared; NULL when it has none). add works on counters and gauges. */
void selfmon_add(selfmon_family_t *f, const char *const *label_values, double delta);
void selfmon_set(selfmon_family_t *f, const char *const *label_values, double value);
void selfmon_observe(selfmon_family_t *f, const char *const *label_values, double value);

/* Reads a child's current value (counter/gauge) or observation count
 * (histogram); 0 when it does not exist. For tests and internal checks. */
double selfmon_value(selfmon_family_t *f, const char *const *label_values);

/* Workers: a named long-lived thread reports how long it is busy. Call
 * selfmon_worker_register from the thread itself; then bracket each piece of
 * work with busy/idle. Idle time is the rest of its life. */
selfmon_worker_t *selfmon_worker_register(selfmon_t *s, const char *name);
void selfmon_worker_busy(selfmon_worker_t *w);
void selfmon_worker_idle(selfmon_worker_t *w);

/* Writes the process metrics, every family and the worker times. */
void selfmon_write(selfmon_t *s, expfmt_writer_t *w);

#endif
