/* This file implements the self-monitoring registry, the process metrics of
 * the Prometheus client libraries, and worker busy/idle accounting. */
#include "selfmon.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef enum { FAM_COUNTER, FAM_GAUGE, FAM_HISTOGRAM } fam_kind_t;

typedef struct child {
    struct child *next;
    char *label_values[SELFMON_MAX_LABELS];
    double value;    /* counter or gauge; histogram sum */
    double count;    /* histogram observations */
    double *buckets; /* histogram: non-cumulative counts per bucket */
} child_t;

struct selfmon_family {
    struct selfmon_family *next;
    fam_kind_t kind;
    char *name, *help;
    size_t n_labels;
    char *label_names[SELFMON_MAX_LABELS];
    double *bounds;
    size_t n_bounds;
    pthread_mutex_t lock;
    child_t *children;
};

struct selfmon_worker {
    struct selfmon_worker *next;
    char *name;
    double registered_at;      /* monotonic seconds */
    _Atomic double busy_since; /* 0 when idle */
    _Atomic double busy_total;
};

struct selfmon {
    char *proc_path;
    double start_time;    /* wall clock, for process_start_time_seconds fallback */
    pthread_mutex_t lock; /* guards the lists below */
    selfmon_family_t *families, *families_tail;
    selfmon_worker_t *workers;
};

selfmon_t *selfmon_new(const char *proc_path) {
    selfmon_t *s = vg_calloc(1, sizeof *s);
    s->proc_path = vg_strdup(proc_path);
    s->start_time = vg_time_now();
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

static void child_free(child_t *c, size_t n_labels) {
    for (size_t i = 0; i < n_labels; i++)
        free(c->label_values[i]);
    free(c->buckets);
    free(c);
}

void selfmon_free(selfmon_t *s) {
    if (!s) return;
    for (selfmon_family_t *f = s->families, *fn; f; f = fn) {
        fn = f->next;
        for (child_t *c = f->children, *cn; c; c = cn) {
            cn = c->next;
            child_free(c, f->n_labels);
        }
        for (size_t i = 0; i < f->n_labels; i++)
            free(f->label_names[i]);
        pthread_mutex_destroy(&f->lock);
        free(f->bounds);
        free(f->name);
        free(f->help);
        free(f);
    }
    for (selfmon_worker_t *w = s->workers, *wn; w; w = wn) {
        wn = w->next;
        free(w->name);
        free(w);
    }
    pthread_mutex_destroy(&s->lock);
    free(s->proc_path);
    free(s);
}

static selfmon_family_t *family_new(selfmon_t *s, fam_kind_t kind, const char *name,
                                    const char *help, size_t n_labels,
                                    const char *const *label_names) {
    if (n_labels > SELFMON_MAX_LABELS) abort(); /* a programming error, not input */
    selfmon_family_t *f = vg_calloc(1, sizeof *f);
    f->kind = kind;
    f->name = vg_strdup(name);
    f->help = vg_strdup(help);
    f->n_labels = n_labels;
    for (size_t i = 0; i < n_labels; i++)
        f->label_names[i] = vg_strdup(label_names[i]);
    pthread_mutex_init(&f->lock, NULL);
    pthread_mutex_lock(&s->lock);
    if (s->families_tail)
        s->families_tail->next = f;
    else
        s->families = f;
    s->families_tail = f;
    pthread_mutex_unlock(&s->lock);
    return f;
}

selfmon_family_t *selfmon_counter(selfmon_t *s, const char *name, const char *help, size_t n_labels,
                                  const char *const *label_names) {
    return family_new(s, FAM_COUNTER, name, help, n_labels, label_names);
}

selfmon_family_t *selfmon_gauge(selfmon_t *s, const char *name, const char *help, size_t n_labels,
                                const char *const *label_names) {
    return family_new(s, FAM_GAUGE, name, help, n_labels, label_names);
}

selfmon_family_t *selfmon_histogram(selfmon_t *s, const char *name, const char *help,
                                    size_t n_labels, const char *const *label_names,
                                    const double *buckets, size_t n_buckets) {
    selfmon_family_t *f = family_new(s, FAM_HISTOGRAM, name, help, n_labels, label_names);
    f->bounds = vg_malloc(n_buckets * sizeof *f->bounds);
    memcpy(f->bounds, buckets, n_buckets * sizeof *f->bounds);
    f->n_bounds = n_buckets;
    return f;
}

/* Finds or creates the child; the family lock is held. */
static child_t *child_get(selfmon_family_t *f, const char *const *values, bool create) {
    for (child_t *c = f->children; c; c = c->next) {
        size_t i = 0;
        while (i < f->n_labels && strcmp(c->label_values[i], values[i]) == 0)
            i++;
        if (i == f->n_labels) return c;
    }
    if (!create) return NULL;
    child_t *c = vg_calloc(1, sizeof *c);
    for (size_t i = 0; i < f->n_labels; i++)
        c->label_values[i] = vg_strdup(values[i]);
    if (f->kind == FAM_HISTOGRAM) c->buckets = vg_calloc(f->n_bounds + 1, sizeof *c->buckets);
    /* Keep children sorted by label values so output is stable. */
    child_t **pp = &f->children;
    while (*pp) {
        int cmp = 0;
        for (size_t i = 0; i < f->n_labels && cmp == 0; i++)
            cmp = strcmp((*pp)->label_values[i], values[i]);
        if (cmp > 0) break;
        pp = &(*pp)->next;
    }
    c->next = *pp;
    *pp = c;
    return c;
}

void selfmon_add(selfmon_family_t *f, const char *const *label_values, double delta) {
    pthread_mutex_lock(&f->lock);
    child_get(f, label_values, true)->value += delta;
    pthread_mutex_unlock(&f->lock);
}

void selfmon_set(selfmon_family_t *f, const char *const *label_values, double value) {
    pthread_mutex_lock(&f->lock);
    child_get(f, label_values, true)->value = value;
    pthread_mutex_unlock(&f->lock);
}

void selfmon_observe(selfmon_family_t *f, const char *const *label_values, double value) {
    pthread_mutex_lock(&f->lock);
    child_t *c = child_get(f, label_values, true);
    size_t i = 0;
    while (i < f->n_bounds && value > f->bounds[i])
        i++;
    c->buckets[i] += 1;
    c->count += 1;
    c->value += value;
    pthread_mutex_unlock(&f->lock);
}

double selfmon_value(selfmon_family_t *f, const char *const *label_values) {
    pthread_mutex_lock(&f->lock);
    child_t *c = child_get(f, label_values, false);
    double v = !c ? 0 : f->kind == FAM_HISTOGRAM ? c->count : c->value;
    pthread_mutex_unlock(&f->lock);
    return v;
}

/* ------------------------------------------------------------- workers */

selfmon_worker_t *selfmon_worker_register(selfmon_t *s, const char *name) {
    selfmon_worker_t *w = vg_calloc(1, sizeof *w);
    w->name = vg_strdup(name);
    w->registered_at = vg_time_mono();
    pthread_mutex_lock(&s->lock);
    w->next = s->workers;
    s->workers = w;
    pthread_mutex_unlock(&s->lock);
    return w;
}

void selfmon_worker_busy(selfmon_worker_t *w) { atomic_store(&w->busy_since, vg_time_mono()); }

void selfmon_worker_idle(selfmon_worker_t *w) {
    double since = atomic_exchange(&w->busy_since, 0.0);
    if (since > 0)
        atomic_store(&w->busy_total, atomic_load(&w->busy_total) + vg_time_mono() - since);
}

/* -------------------------------------------------------------- output */

static void write_family(expfmt_writer_t *w, selfmon_family_t *f) {
    static const expfmt_type_t types[] = {EXPFMT_COUNTER, EXPFMT_GAUGE, EXPFMT_HISTOGRAM};
    pthread_mutex_lock(&f->lock);
    if (!f->children && f->n_labels > 0) { /* nothing observed yet: no family */
        pthread_mutex_unlock(&f->lock);
        return;
    }
    if (!f->children) child_get(f, NULL, true); /* an unlabelled metric always shows */
    expfmt_write_family(w, f->name, types[f->kind], f->help, NULL);
    expfmt_label_t labels[SELFMON_MAX_LABELS + 1];
    vg_buf_t name = VG_BUF_INIT;
    for (child_t *c = f->children; c; c = c->next) {
        for (size_t i = 0; i < f->n_labels; i++) {
            labels[i].name = f->label_names[i];
            labels[i].value = c->label_values[i];
        }
        if (f->kind != FAM_HISTOGRAM) {
            expfmt_write_sample(w, f->name, labels, f->n_labels, c->value);
            continue;
        }
        char le[VG_FLOAT_MAX_LEN];
        double cumulative = 0;
        vg_buf_reset(&name);
        vg_buf_printf(&name, "%s_bucket", f->name);
        labels[f->n_labels].name = "le";
        labels[f->n_labels].value = le;
        for (size_t b = 0; b <= f->n_bounds; b++) {
            cumulative += c->buckets[b];
            if (b < f->n_bounds)
                vg_format_float(f->bounds[b], le);
            else
                strcpy(le, "+Inf");
            expfmt_write_sample(w, name.data, labels, f->n_labels + 1, cumulative);
        }
        vg_buf_reset(&name);
        vg_buf_printf(&name, "%s_sum", f->name);
        expfmt_write_sample(w, name.data, labels, f->n_labels, c->value);
        vg_buf_reset(&name);
        vg_buf_printf(&name, "%s_count", f->name);
        expfmt_write_sample(w, name.data, labels, f->n_labels, c->count);
    }
    vg_buf_free(&name);
    pthread_mutex_unlock(&f->lock);
}

/* /proc/self/stat fields after the command name, as client_golang reads them. */
static void write_process(selfmon_t *s, expfmt_writer_t *w) {
    char path[512], *data = NULL;
    size_t len;
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    snprintf(path, sizeof path, "%s/self/stat", s->proc_path);
    if (vg_file_read_all(path, 1 << 16, &data, &len, NULL) == VG_OK) {
        char *p = strrchr(data, ')');
        unsigned long long utime = 0, stime = 0, starttime = 0, vsize = 0;
        long long rss = 0;
        if (p && sscanf(p + 2,
                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                        "%*d %*d %llu %llu %lld",
                        &utime, &stime, &starttime, &vsize, &rss) == 5) {
            expfmt_write_family(w, "process_cpu_seconds_total", EXPFMT_COUNTER,
                                "Total user and system CPU time spent in seconds.", "seconds");
            expfmt_write_samplev(w, "process_cpu_seconds_total",
                                 (double)(utime + stime) / (double)tick, NULL);
            expfmt_write_family(w, "process_resident_memory_bytes", EXPFMT_GAUGE,
                                "Resident memory size in bytes.", "bytes");
            expfmt_write_samplev(w, "process_resident_memory_bytes", (double)rss * (double)page,
                                 NULL);
            expfmt_write_family(w, "process_virtual_memory_bytes", EXPFMT_GAUGE,
                                "Virtual memory size in bytes.", "bytes");
            expfmt_write_samplev(w, "process_virtual_memory_bytes", (double)vsize, NULL);
            double start = s->start_time;
            char *stat = NULL;
            snprintf(path, sizeof path, "%s/stat", s->proc_path);
            if (vg_file_read_all(path, 1 << 22, &stat, &len, NULL) == VG_OK) {
                char *bt = strstr(stat, "\nbtime ");
                if (bt) start = strtod(bt + 7, NULL) + (double)starttime / (double)tick;
                free(stat);
            }
            expfmt_write_family(w, "process_start_time_seconds", EXPFMT_GAUGE,
                                "Start time of the process since unix epoch in seconds.",
                                "seconds");
            expfmt_write_samplev(w, "process_start_time_seconds", start, NULL);
        }
        free(data);
    }
    snprintf(path, sizeof path, "%s/self/fd", s->proc_path);
    DIR *d = opendir(path);
    if (d) {
        double n = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.') n++;
        closedir(d);
        expfmt_write_family(w, "process_open_fds", EXPFMT_GAUGE, "Number of open file descriptors.",
                            NULL);
        expfmt_write_samplev(w, "process_open_fds", n - 1, NULL); /* minus the DIR's own fd */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        expfmt_write_family(w, "process_max_fds", EXPFMT_GAUGE,
                            "Maximum number of open file descriptors.", NULL);
        expfmt_write_samplev(w, "process_max_fds",
                             rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur, NULL);
    }
    if (getrlimit(RLIMIT_AS, &rl) == 0) {
        expfmt_write_family(w, "process_virtual_memory_max_bytes", EXPFMT_GAUGE,
                            "Maximum amount of virtual memory available in bytes.", "bytes");
        /* client_golang reports an unlimited address space as -1 */
        expfmt_write_samplev(w, "process_virtual_memory_max_bytes",
                             rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur, NULL);
    }
}

/* Sums the workers of each name. Workers are few, so a quadratic walk is fine. */
static void write_workers(selfmon_t *s, expfmt_writer_t *w) {
    pthread_mutex_lock(&s->lock);
    if (!s->workers) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    double now = vg_time_mono();
    static const char *const kinds[3] = {"vigil_thread_busy_seconds_total",
                                         "vigil_thread_idle_seconds_total", "vigil_threads"};
    static const char *const helps[3] = {"Seconds the threads of this kind spent working.",
                                         "Seconds the threads of this kind spent waiting for work.",
                                         "Number of long-lived threads of this kind."};
    for (int k = 0; k < 3; k++) {
        expfmt_write_family(w, kinds[k], k < 2 ? EXPFMT_COUNTER : EXPFMT_GAUGE, helps[k],
                            k < 2 ? "seconds" : NULL);
        for (selfmon_worker_t *a = s->workers; a; a = a->next) {
            bool seen = false;
            for (selfmon_worker_t *b = s->workers; b != a && !seen; b = b->next)
                seen = strcmp(a->name, b->name) == 0;
            if (seen) continue;
            double busy = 0, life = 0, n = 0;
            for (selfmon_worker_t *b = a; b; b = b->next) {
                if (strcmp(a->name, b->name) != 0) continue;
                double since = atomic_load(&b->busy_since);
                busy += atomic_load(&b->busy_total) + (since > 0 ? now - since : 0);
                life += now - b->registered_at;
                n++;
            }
            double v = k == 0 ? busy : k == 1 ? (life > busy ? life - busy : 0) : n;
            expfmt_write_samplev(w, kinds[k], v, "thread", a->name, NULL);
        }
    }
    pthread_mutex_unlock(&s->lock);
}

void selfmon_write(selfmon_t *s, expfmt_writer_t *w) {
    write_process(s, w);
    /* Lock order: the registry lock, then a family's. */
    pthread_mutex_lock(&s->lock);
    for (selfmon_family_t *f = s->families; f; f = f->next)
        write_family(w, f);
    pthread_mutex_unlock(&s->lock);
    write_workers(s, w);
}
