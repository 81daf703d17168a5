/* This file implements the host module's frame: the collector table, the
 * host object with its options and filters, and the scrape loop that runs
 * each enabled collector, times it, keeps the output of the ones that
 * succeed and writes node_exporter's node_scrape_collector_* families. */
#include "host_int.h"

#include <stdlib.h>
#include <string.h>

/* The collector table (STYLE habit 10): name, on by default, function.
 * Kept in name order, which is also the order of the collector label
 * values in node_exporter's (sorted) output. */
typedef struct host_collector {
    host_collector_info_t info;
    host_collect_fn fn;
} host_collector_t;

static const host_collector_t collectors[] = {
    {{"cpu", true}, host_cpu_collect},           {{"diskstats", true}, host_diskstats_collect},
    {{"filefd", true}, host_filefd_collect},     {{"filesystem", true}, host_filesystem_collect},
    {{"loadavg", true}, host_loadavg_collect},   {{"meminfo", true}, host_meminfo_collect},
    {{"netdev", true}, host_netdev_collect},     {{"pressure", true}, host_pressure_collect},
    {{"sockstat", true}, host_sockstat_collect}, {{"stat", true}, host_stat_collect},
    {{"time", true}, host_time_collect},         {{"uname", true}, host_uname_collect},
    {{"vmstat", true}, host_vmstat_collect},
};
#define N_COLLECTORS (sizeof collectors / sizeof collectors[0])
_Static_assert(N_COLLECTORS <= HOST_N_COLLECTORS_MAX, "collector table too big");

static host_collector_info_t collector_infos[N_COLLECTORS + 1];
static pthread_once_t infos_once = PTHREAD_ONCE_INIT;

static void infos_init(void) {
    for (size_t i = 0; i < N_COLLECTORS; i++)
        collector_infos[i] = collectors[i].info;
    collector_infos[N_COLLECTORS].name = NULL;
}

const host_collector_info_t *host_collectors(void) {
    pthread_once(&infos_once, infos_init);
    return collector_infos;
}

/* ------------------------------------------------------------- options */

/* node_exporter's defaults as the Debian build of 1.5.0 has them (its
 * mount-point exclusion also drops /mnt and /media, and netdev leaves out
 * lo); `prometheus-node-exporter --help` prints them. */
static const struct {
    const char *name;
    int filter;
    const char *def;
} options[] = {
    {"filesystem.mount-points-exclude", HOST_F_FS_MOUNT_EXCLUDE,
     "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"},
    {"filesystem.fs-types-exclude", HOST_F_FS_TYPE_EXCLUDE,
     "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|"
     "iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|"
     "sysfs|tracefs)$"},
    {"diskstats.device-exclude", HOST_F_DISK_EXCLUDE,
     "^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$"},
    {"diskstats.device-include", HOST_F_DISK_INCLUDE, ""},
    {"netdev.device-exclude", HOST_F_NET_EXCLUDE, "^lo$"},
    {"netdev.device-include", HOST_F_NET_INCLUDE, ""},
    {"vmstat.fields", HOST_F_VMSTAT_FIELDS, "^(oom_kill|pgpg|pswp|pg.*fault).*"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

/* node_exporter's patterns are Go (RE2) syntax; POSIX extended regexes
 * share most of it but not the Perl classes, so \d, \s and \w are spelled
 * out. Other escapes pass through. Returns 0 or VG_ERR_LIMIT. */
static int regex_translate(const char *in, char *out, size_t cap) {
    size_t o = 0;
    bool in_bracket = false;
    for (const char *p = in; *p; p++) {
        const char *rep = NULL;
        char tmp[3] = {0};
        if (*p == '\\' && p[1]) {
            char c = p[1];
            if (c == 'd')
                rep = in_bracket ? "0-9" : "[0-9]";
            else if (c == 's')
                rep = in_bracket ? "[:space:]" : "[[:space:]]";
            else if (c == 'w')
                rep = in_bracket ? "[:alnum:]_" : "[[:alnum:]_]";
            else {
                tmp[0] = '\\';
                tmp[1] = c;
                rep = tmp;
            }
            p++;
        } else {
            if (*p == '[' && !in_bracket) {
                in_bracket = true;
                /* A ']' right after '[' or '[^' is a literal member. */
                if (p[1] == '^') {
                    if (o + 2 >= cap) return VG_ERR_LIMIT;
                    out[o++] = *p++;
                }
                if (p[1] == ']') {
                    if (o + 2 >= cap) return VG_ERR_LIMIT;
                    out[o++] = *p++;
                }
            } else if (*p == ']' && in_bracket) {
                in_bracket = false;
            }
            tmp[0] = *p;
            rep = tmp;
        }
        size_t n = strlen(rep);
        if (o + n >= cap) return VG_ERR_LIMIT;
        memcpy(out + o, rep, n);
        o += n;
    }
    out[o] = '\0';
    return VG_OK;
}

static int filter_set(host_filter_t *f, const char *pattern, vg_err_t *err) {
    host_filter_t nf = {0};
    if (*pattern) {
        char tr[2048];
        if (regex_translate(pattern, tr, sizeof tr) != VG_OK)
            return vg_err_set(err, VG_ERR_LIMIT, "regular expression too long");
        int rc = regcomp(&nf.re, tr, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[256];
            regerror(rc, &nf.re, msg, sizeof msg);
            return vg_err_set(err, VG_ERR_INPUT, "bad regular expression \"%s\": %s", pattern, msg);
        }
        nf.set = true;
    }
    if (f->set) regfree(&f->re);
    *f = nf;
    return VG_OK;
}

int host_option_set(host_t *h, const char *name, const char *value, vg_err_t *err) {
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (strcmp(options[i].name, name) != 0) continue;
        pthread_mutex_lock(&h->lock);
        int rc = filter_set(&h->filters[options[i].filter], value ? value : "", err);
        pthread_mutex_unlock(&h->lock);
        if (rc != VG_OK) vg_err_prefix(err, "collector.%s: ", name);
        return rc;
    }
    return vg_err_set(err, VG_ERR_NOTFOUND, "unknown host collector option \"%s\"", name);
}

/* ---------------------------------------------------------- the object */

static int check_path(const char *what, const char *p, vg_err_t *err) {
    if (!p || !*p) return vg_err_set(err, VG_ERR_INPUT, "host: empty %s path", what);
    if (strlen(p) > HOST_PATH_MAX / 2)
        return vg_err_set(err, VG_ERR_LIMIT, "host: %s path too long", what);
    return VG_OK;
}

/* Drops trailing slashes (but keeps "/") so joins make single slashes. */
static char *dup_path(const char *p) {
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    return vg_strndup(p, n);
}

host_t *host_new(const char *proc_path, const char *sys_path, const char *rootfs_path,
                 vg_err_t *err) {
    if (check_path("proc", proc_path, err) || check_path("sys", sys_path, err) ||
        check_path("rootfs", rootfs_path, err))
        return NULL;
    host_t *h = vg_calloc(1, sizeof *h);
    h->proc_path = dup_path(proc_path);
    h->sys_path = dup_path(sys_path);
    h->rootfs_path = dup_path(rootfs_path);
    pthread_mutex_init(&h->lock, NULL);
    for (size_t i = 0; i < N_COLLECTORS; i++) {
        h->enabled[i] = collectors[i].info.default_enabled;
        h->last_ok[i] = true;
    }
    for (size_t i = 0; i < N_OPTIONS; i++) {
        /* The defaults are constants known to compile. */
        int rc = filter_set(&h->filters[options[i].filter], options[i].def, err);
        if (rc != VG_OK) {
            host_free(h);
            return NULL;
        }
    }
    return h;
}

void host_free(host_t *h) {
    if (!h) return;
    for (size_t i = 0; i < HOST_N_FILTERS; i++)
        if (h->filters[i].set) regfree(&h->filters[i].re);
    for (size_t i = 0; i < HOST_MAX_FAMS; i++)
        vg_buf_free(&h->bodies[i]);
    vg_buf_free(&h->readbuf);
    vg_buf_free(&h->scratch);
    free(h->cpu_prev);
    pthread_mutex_destroy(&h->lock);
    free(h->proc_path);
    free(h->sys_path);
    free(h->rootfs_path);
    free(h);
}

static int collector_index(const char *name) {
    for (size_t i = 0; i < N_COLLECTORS; i++)
        if (strcmp(collectors[i].info.name, name) == 0) return (int)i;
    return -1;
}

int host_collector_set_enabled(host_t *h, const char *name, bool on, vg_err_t *err) {
    int i = name ? collector_index(name) : -1;
    if (i < 0)
        return vg_err_set(err, VG_ERR_NOTFOUND, "unknown host collector \"%s\"", name ? name : "");
    pthread_mutex_lock(&h->lock);
    h->enabled[i] = on;
    pthread_mutex_unlock(&h->lock);
    return VG_OK;
}

bool host_collector_enabled(host_t *h, const char *name) {
    int i = name ? collector_index(name) : -1;
    if (i < 0) return false;
    pthread_mutex_lock(&h->lock);
    bool on = h->enabled[i];
    pthread_mutex_unlock(&h->lock);
    return on;
}

/* -------------------------------------------------------------- scrape */

static const host_fam_t fam_duration = {"node_scrape_collector_duration_seconds", EXPFMT_GAUGE,
                                        "node_exporter: Duration of a collector scrape.",
                                        "seconds"};
static const host_fam_t fam_success = {"node_scrape_collector_success", EXPFMT_GAUGE,
                                       "node_exporter: Whether a collector succeeded.", NULL};

void host_collect(host_t *h, expfmt_writer_t *w) {
    double seconds[N_COLLECTORS] = {0};
    bool ok[N_COLLECTORS] = {false};
    size_t n_run = 0;
    pthread_mutex_lock(&h->lock);
    host_scrape_t s = {.h = h, .w = w};
    for (size_t i = 0; i < N_COLLECTORS; i++) {
        if (!h->enabled[i]) continue;
        n_run++;
        vg_err_t err = {0};
        size_t mark = w->out->len;
        s.keep_len = mark;
        s.n_fams = 0;
        double t0 = vg_time_mono();
        int rc = collectors[i].fn(&s, &err);
        seconds[i] = vg_time_mono() - t0;
        ok[i] = rc == VG_OK;
        if (!ok[i]) {
            /* Nothing half-written stays: a collector fails as a whole. */
            if (w->out->len > s.keep_len) {
                w->out->len = s.keep_len;
                if (w->out->data) w->out->data[w->out->len] = '\0';
            }
            /* Log when a collector starts failing, not on every scrape. */
            vg_log(h->last_ok[i] ? VG_LOG_WARN : VG_LOG_DEBUG, "Host collector failed", "collector",
                   collectors[i].info.name, "err", err.msg, NULL);
        }
        h->last_ok[i] = ok[i];
    }
    if (n_run == 0) {
        /* node_exporter leaves out families without samples. */
        pthread_mutex_unlock(&h->lock);
        return;
    }
    host_family(&s, &fam_duration);
    for (size_t i = 0; i < N_COLLECTORS; i++)
        if (h->enabled[i])
            expfmt_write_samplev(w, fam_duration.name, seconds[i], "collector",
                                 collectors[i].info.name, NULL);
    host_family(&s, &fam_success);
    for (size_t i = 0; i < N_COLLECTORS; i++)
        if (h->enabled[i])
            expfmt_write_samplev(w, fam_success.name, ok[i] ? 1.0 : 0.0, "collector",
                                 collectors[i].info.name, NULL);
    pthread_mutex_unlock(&h->lock);
}
