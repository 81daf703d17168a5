/* This file implements the scrape manager: the scrape thread and its one
 * libcurl multi handle, scrape pools (one per job) with their discovery
 * providers (static, file_sd polled for changes, http_sd on its refresh
 * interval), the sync of discovered targets into running targets (state
 * kept for unchanged targets, stale markers for removed ones), the start
 * and completion of each scrape, reload, metrics, and the copies the
 * targets API reads. */
#include <curl/curl.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "httpc/httpc.h"
#include "scrape_int.h"

/* Without a body_size_limit, the largest body read anyway: the process
 * must not be taken down by one target. */
#define SCRAPE_HARD_BODY_LIMIT (512ull << 20)
/* How often file_sd files are checked for changes. */
#define FILE_SD_POLL_MS 1000
/* Prometheus 2.42's Accept header for scrapes. */
#define SCRAPE_ACCEPT                                                                              \
    "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;"             \
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

/* ------------------------------------------------------------ types */

typedef struct pool pool_t;

/* One HTTP transfer on the multi handle: a scrape or an http_sd fetch. */
typedef struct xfer {
    CURL *easy;
    struct curl_slist *headers;
    vg_buf_t body;
    uint64_t limit;
    bool over_limit;
    bool busy;
    char status_text[96];
    char content_type[128];
    char content_encoding[32];
    char errbuf[CURL_ERROR_SIZE];
    double started_mono;
    int kind; /* XFER_SCRAPE or XFER_HTTP_SD */
    void *owner;
} xfer_t;

enum { XFER_SCRAPE = 1, XFER_HTTP_SD = 2 };

typedef struct target {
    pool_t *pool;
    uint64_t hash;
    labels_t *discovered, *full, *labels;
    char *url;
    int64_t interval_ms, timeout_ms;
    char interval_text[32], timeout_text[32];
    scrape_loop_t loop;
    int64_t next_ms;
    int64_t scrape_ms; /* timestamp of the scrape in flight */
    xfer_t x;
    bool taken; /* during a sync */
    /* Status; written by the scrape thread under the manager's lock. */
    char *last_error;
    int64_t last_scrape_ms;
    double last_duration_s;
    scrape_health_t health;
} target_t;

typedef struct sd_file {
    char *path;
    struct timespec mtime;
    off_t size;
    ino_t ino;
    scrape_lsets_t targets;
} sd_file_t;

typedef struct file_sd {
    const config_file_sd_t *cfg;
    sd_file_t *files;
    size_t n_files;
    int64_t next_poll_ms, next_refresh_ms;
} file_sd_t;

typedef struct http_sd {
    const config_http_sd_t *cfg;
    pool_t *pool;
    scrape_lsets_t targets;
    int64_t next_ms;
    xfer_t x;
} http_sd_t;

struct pool {
    char *name;
    const config_scrape_t *cfg;
    labels_relabel_t *relabel, *metric_relabel;
    scrape_sample_cfg_t scfg;
    char *fingerprint;
    bool broken;
    char *forced_error; /* target_limit exceeded */
    scrape_lsets_t static_targets;
    file_sd_t *files;
    size_t n_files;
    http_sd_t **https;
    size_t n_https;
    target_t **targets;
    size_t n_targets;
    labels_t **dropped;
    size_t n_dropped;
    bool dirty;
};

struct scrape {
    tsdb_t *db;
    selfmon_t *sm;
    char *user_agent;
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t mu; /* pools and targets lists, target status, metadata */
    pthread_cond_t cond;
    bool stop;
    config_t *pending;
    uint64_t pending_gen, applied_gen;
    vg_err_t apply_err; /* of the last apply, under mu */
    vg_err_t work_err;  /* scrape thread: the apply in progress */
    /* Scrape thread only. */
    config_t *cfg;
    pool_t **pools;
    size_t n_pools;
    scrape_worker_t w;
    labels_builder_t *b;
    /* Metrics (NULL without a registry). */
    selfmon_family_t *m_pools_total, *m_pool_targets, *m_sync_length, *m_sample_limit,
        *m_body_limit, *m_label_limit, *m_out_of_order, *m_duplicate, *m_out_of_bounds, *m_reloads,
        *m_sd_targets, *m_file_errors, *m_http_failures, *m_scrapes;
};

static void metric_add(selfmon_family_t *f, const char *label, double d) {
    if (f) selfmon_add(f, label ? (const char *const[]){label} : NULL, d);
}

static void metric_set(selfmon_family_t *f, const char *label, double v) {
    if (f) selfmon_set(f, label ? (const char *const[]){label} : NULL, v);
}

const char *scrape_health_name(scrape_health_t h) {
    return h == SCRAPE_HEALTH_UP ? "up" : h == SCRAPE_HEALTH_DOWN ? "down" : "unknown";
}

/* ----------------------------------------------------------- transfers */

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
    xfer_t *x = ud;
    size_t len = size * n;
    if (x->body.len + len > x->limit) {
        x->over_limit = true;
        return 0;
    }
    vg_buf_append(&x->body, p, len);
    return len;
}

static void copy_trimmed(char *dst, size_t cap, const char *s, size_t n) {
    while (n && (s[0] == ' ' || s[0] == '\t'))
        s++, n--;
    while (n && (s[n - 1] == '\r' || s[n - 1] == '\n' || s[n - 1] == ' '))
        n--;
    if (n >= cap) n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
    xfer_t *x = ud;
    size_t len = size * n;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* A new response (after a redirect or 100 Continue). */
        x->content_type[0] = x->content_encoding[0] = 0;
        const char *sp = memchr(p, ' ', len);
        if (sp)
            copy_trimmed(x->status_text, sizeof x->status_text, sp + 1, len - (size_t)(sp + 1 - p));
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon) return len;
    size_t nl = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vl = len - nl - 1;
    if (nl == 12 && strncasecmp(p, "Content-Type", 12) == 0)
        copy_trimmed(x->content_type, sizeof x->content_type, v, vl);
    else if (nl == 16 && strncasecmp(p, "Content-Encoding", 16) == 0)
        copy_trimmed(x->content_encoding, sizeof x->content_encoding, v, vl);
    return len;
}

/* Prepares x for a GET of url with the HTTP client settings of a job.
 * Returns 0, or a negative code with Go's message for the request in msg
 * when a secret file cannot be read (the request must not go out then). */
static int xfer_prepare(xfer_t *x, const char *url, const config_http_client_t *http,
                        int64_t timeout_ms, uint64_t limit, vg_buf_t *msg) {
    if (!x->easy) x->easy = curl_easy_init();
    CURL *e = x->easy;
    curl_easy_reset(e);
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    vg_buf_reset(&x->body);
    x->over_limit = false;
    x->limit = limit;
    x->status_text[0] = x->content_type[0] = x->content_encoding[0] = x->errbuf[0] = 0;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    vg_err_t err = {0};
    if (httpc_apply(e, http, &x->headers, &err) != VG_OK) {
        httpc_error_detail(NULL, CURLE_OK, err.msg, "Get", url, msg);
        return VG_ERR_IO;
    }
    return VG_OK;
}

static void xfer_start(scrape_t *s, xfer_t *x) {
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    x->busy = true;
    x->started_mono = vg_time_mono();
    curl_multi_add_handle(s->multi, x->easy);
}

static void xfer_free(scrape_t *s, xfer_t *x) {
    if (x->busy) curl_multi_remove_handle(s->multi, x->easy);
    if (x->easy) curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    vg_buf_free(&x->body);
    memset(x, 0, sizeof *x);
}

/* ------------------------------------------------------------ targets */

static void target_free(scrape_t *s, target_t *t) {
    xfer_free(s, &t->x);
    scrape_loop_free(&t->loop);
    labels_free(t->discovered);
    labels_free(t->full);
    labels_free(t->labels);
    free(t->url);
    free(t->last_error);
    free(t);
}

static target_t *target_new(scrape_t *s, pool_t *p, labels_t *pre, labels_t *full, char *url,
                            uint64_t hash) {
    target_t *t = vg_calloc(1, sizeof *t);
    t->pool = p;
    t->hash = hash;
    t->discovered = pre;
    t->full = full;
    t->url = url;
    t->labels = scrape_target_public_labels(full);
    size_t n;
    const char *v = labels_get(full, "__scrape_interval__", 19, &n);
    snprintf(t->interval_text, sizeof t->interval_text, "%.*s", (int)n, v ? v : "");
    vg_duration_parse(v, n, &t->interval_ms);
    v = labels_get(full, "__scrape_timeout__", 18, &n);
    snprintf(t->timeout_text, sizeof t->timeout_text, "%.*s", (int)n, v ? v : "");
    vg_duration_parse(v, n, &t->timeout_ms);
    t->last_error = vg_strdup("");
    scrape_loop_init(&t->loop, t->labels, &s->mu);
    t->next_ms = scrape_target_first_time(hash, t->interval_ms, vg_time_now_ms());
    return t;
}

/* The end of a target: stale markers for everything it exposed. */
static void target_end(scrape_t *s, target_t *t, int64_t now) {
    if (t->last_scrape_ms == 0) return;
    scrape_loop_stale_all(&s->w, &t->loop, now);
}

/* ---------------------------------------------------------- discovery */

static bool same_file(const sd_file_t *f, const struct stat *st) {
    return f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec &&
           f->size == st->st_size && f->ino == st->st_ino;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int read_sd_file(const char *path, scrape_lsets_t *out, vg_err_t *err) {
    char *data;
    size_t len;
    if (vg_file_read_all(path, SCRAPE_SD_MAX_BYTES, &data, &len, err) != VG_OK) return VG_ERR_IO;
    int rc = has_suffix(path, ".json")
                 ? scrape_sd_parse_json(data, len, "__meta_filepath", path, out, err)
                 : scrape_sd_parse_yaml(data, len, "__meta_filepath", path, out, err);
    free(data);
    return rc;
}

/* Re-globs and re-reads what changed (everything when force). A file that
 * cannot be read or parsed keeps its last good targets, as Prometheus's
 * file discovery keeps them. Returns whether the targets changed. */
static bool file_sd_poll(scrape_t *s, pool_t *p, file_sd_t *f, bool force) {
    char **paths = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < f->cfg->n_files; i++) {
        glob_t g;
        if (glob(f->cfg->files[i], 0, NULL, &g) != 0) continue;
        for (size_t k = 0; k < g.gl_pathc; k++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                paths = vg_realloc(paths, cap * sizeof *paths);
            }
            paths[n++] = vg_strdup(g.gl_pathv[k]);
        }
        globfree(&g);
    }
    if (n) qsort(paths, n, sizeof *paths, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u && strcmp(paths[u - 1], paths[i]) == 0) {
            free(paths[i]);
            continue;
        }
        paths[u++] = paths[i];
    }
    n = u;
    bool changed = n != f->n_files;
    sd_file_t *files = vg_calloc(n ? n : 1, sizeof *files);
    for (size_t i = 0; i < n; i++) {
        sd_file_t *nf = &files[i];
        sd_file_t *old = NULL;
        for (size_t k = 0; k < f->n_files; k++)
            if (f->files[k].path && strcmp(f->files[k].path, paths[i]) == 0) old = &f->files[k];
        struct stat st;
        bool have_stat = stat(paths[i], &st) == 0;
        if (old) {
            *nf = *old;
            memset(old, 0, sizeof *old);
            free(nf->path);
        } else {
            changed = true;
        }
        nf->path = paths[i];
        if (!have_stat || (old && !force && same_file(nf, &st))) continue;
        nf->mtime = st.st_mtim;
        nf->size = st.st_size;
        nf->ino = st.st_ino;
        scrape_lsets_t got = {0};
        vg_err_t err = {0};
        if (read_sd_file(paths[i], &got, &err) != VG_OK) {
            metric_add(s->m_file_errors, NULL, 1);
            vg_log_error("Error reading file", "component", "discovery manager scrape", "discovery",
                         "file", "config", p->name, "path", paths[i], "err", err.msg, NULL);
            continue;
        }
        scrape_lsets_clear(&nf->targets);
        nf->targets = got;
        changed = true;
    }
    for (size_t k = 0; k < f->n_files; k++) {
        free(f->files[k].path);
        scrape_lsets_clear(&f->files[k].targets);
    }
    free(f->files);
    free(paths);
    f->files = files;
    f->n_files = n;
    return changed;
}

static void file_sd_free(file_sd_t *f) {
    for (size_t k = 0; k < f->n_files; k++) {
        free(f->files[k].path);
        scrape_lsets_clear(&f->files[k].targets);
    }
    free(f->files);
}

static void http_sd_finish(scrape_t *s, http_sd_t *h, CURLcode cc, const char *forced);

static void http_sd_start(scrape_t *s, http_sd_t *h) {
    int64_t timeout = h->cfg->refresh_interval_ms;
    if (timeout < 1000) timeout = 1000;
    vg_buf_t msg = VG_BUF_INIT;
    if (xfer_prepare(&h->x, h->cfg->url, &h->cfg->http, timeout, SCRAPE_SD_MAX_BYTES, &msg) !=
        VG_OK) {
        http_sd_finish(s, h, CURLE_OK, msg.data);
        vg_buf_free(&msg);
        return;
    }
    h->x.kind = XFER_HTTP_SD;
    h->x.owner = h;
    h->x.headers = curl_slist_append(h->x.headers, "Accept: application/json");
    xfer_start(s, &h->x);
}

/* The content types Prometheus's HTTP discovery accepts. */
static bool json_content_type(const char *ct) {
    if (strncasecmp(ct, "application/json", 16) != 0) return false;
    const char *rest = ct + 16;
    if (!*rest) return true;
    while (*rest == ';' || *rest == ' ')
        rest++;
    return strcasecmp(rest, "charset=utf-8") == 0 || strcasecmp(rest, "charset=\"utf-8\"") == 0;
}

/* A refresh is over (cc is curl's result; forced is an error that stood in
 * for the transfer). */
static void http_sd_finish(scrape_t *s, http_sd_t *h, CURLcode cc, const char *forced) {
    h->x.busy = false;
    h->next_ms = vg_time_now_ms() + h->cfg->refresh_interval_ms;
    vg_buf_t msg = VG_BUF_INIT;
    long code = 0;
    curl_easy_getinfo(h->x.easy, CURLINFO_RESPONSE_CODE, &code);
    if (forced) {
        vg_buf_puts(&msg, forced);
    } else if (cc != CURLE_OK) {
        httpc_error_detail(h->x.easy, cc, h->x.errbuf, "Get", h->cfg->url, &msg);
    } else if (code != 200) {
        vg_buf_printf(&msg, "server returned HTTP status %s", h->x.status_text);
    } else if (!json_content_type(h->x.content_type)) {
        vg_buf_printf(&msg, "unsupported content type \"%s\"", h->x.content_type);
    } else {
        scrape_lsets_t got = {0};
        vg_err_t err = {0};
        if (scrape_sd_parse_json(h->x.body.data ? h->x.body.data : "", h->x.body.len, "__meta_url",
                                 h->cfg->url, &got, &err) != VG_OK) {
            vg_buf_puts(&msg, err.msg);
        } else {
            scrape_lsets_clear(&h->targets);
            h->targets = got;
            h->pool->dirty = true;
        }
    }
    if (msg.len) {
        metric_add(s->m_http_failures, NULL, 1);
        vg_log_error("Unable to refresh target groups", "component", "discovery manager scrape",
                     "discovery", "http", "config", h->pool->name, "err", msg.data, NULL);
    }
    vg_buf_free(&msg);
}

/* ---------------------------------------------------------------- pools */

static void pool_stop_targets(scrape_t *s, pool_t *p, int64_t now) {
    for (size_t i = 0; i < p->n_targets; i++)
        target_end(s, p->targets[i], now);
    vg_err_t err = {0};
    if (tsdb_appender_commit(s->w.app, &err) != VG_OK)
        vg_log_error("Writing stale markers failed", "scrape_pool", p->name, "err", err.msg, NULL);
}

static void pool_free(scrape_t *s, pool_t *p) {
    for (size_t i = 0; i < p->n_targets; i++)
        target_free(s, p->targets[i]);
    free(p->targets);
    for (size_t i = 0; i < p->n_dropped; i++)
        labels_free(p->dropped[i]);
    free(p->dropped);
    scrape_lsets_clear(&p->static_targets);
    for (size_t i = 0; i < p->n_files; i++)
        file_sd_free(&p->files[i]);
    free(p->files);
    for (size_t i = 0; i < p->n_https; i++) {
        xfer_free(s, &p->https[i]->x);
        scrape_lsets_clear(&p->https[i]->targets);
        free(p->https[i]);
    }
    free(p->https);
    labels_relabel_free(p->relabel);
    labels_relabel_free(p->metric_relabel);
    free(p->fingerprint);
    free(p->forced_error);
    free(p->name);
    free(p);
}

/* What decides how a target's samples are labelled: when it changes, the
 * cached label sets are no longer right. */
static char *sample_fingerprint(const config_scrape_t *c) {
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_printf(&b, "%d %d %llu %llu %llu %llu|", c->honor_labels, c->honor_timestamps,
                  (unsigned long long)c->sample_limit, (unsigned long long)c->label_limit,
                  (unsigned long long)c->label_name_length_limit,
                  (unsigned long long)c->label_value_length_limit);
    for (size_t i = 0; i < c->n_metric_relabel_configs; i++) {
        const config_relabel_t *r = &c->metric_relabel_configs[i];
        vg_buf_printf(&b, "%d", r->action);
        for (size_t k = 0; k < r->n_source_labels; k++)
            vg_buf_printf(&b, "\x1f%s", r->source_labels[k]);
        vg_buf_printf(&b, "\x1e%s\x1e%s\x1e%llu\x1e%s\x1e%s\x1d", r->separator, r->regex,
                      (unsigned long long)r->modulus, r->target_label, r->replacement);
    }
    return vg_buf_detach(&b);
}

typedef struct hmap {
    uint64_t *keys;
    target_t **vals;
    size_t cap;
} hmap_t;

static void hmap_init(hmap_t *m, size_t n) {
    m->cap = 16;
    while (m->cap < n * 2 + 2)
        m->cap *= 2;
    m->keys = vg_calloc(m->cap, sizeof *m->keys);
    m->vals = vg_calloc(m->cap, sizeof *m->vals);
}

static void hmap_free(hmap_t *m) {
    free(m->keys);
    free(m->vals);
}

/* Inserts unless present; returns the value already there, or NULL. */
static target_t *hmap_put(hmap_t *m, uint64_t k, target_t *v) {
    if (!k) k = 1;
    for (size_t i = k & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == k) return m->vals[i];
        if (!m->keys[i]) {
            m->keys[i] = k;
            m->vals[i] = v;
            return NULL;
        }
    }
}

static target_t *hmap_get(const hmap_t *m, uint64_t k) {
    if (!k) k = 1;
    for (size_t i = k & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == k) return m->vals[i];
    return NULL;
}

/* Turns the pool's discovered label sets into targets, as Prometheus's
 * scrapePool.Sync: unchanged targets (same labels and URL) keep their
 * loop; new ones start; the rest end with stale markers. */
static void pool_sync(scrape_t *s, pool_t *p) {
    double started = vg_time_mono();
    p->dirty = false;
    scrape_lsets_t all = {0};
    size_t total = p->static_targets.n;
    for (size_t i = 0; i < p->n_files; i++)
        for (size_t k = 0; k < p->files[i].n_files; k++)
            total += p->files[i].files[k].targets.n;
    for (size_t i = 0; i < p->n_https; i++)
        total += p->https[i]->targets.n;
    all.items = vg_malloc((total ? total : 1) * sizeof *all.items);
    /* Borrowed pointers: `all` is freed with free(), not scrape_lsets_clear. */
    for (size_t i = 0; i < p->static_targets.n; i++)
        all.items[all.n++] = p->static_targets.items[i];
    for (size_t i = 0; i < p->n_files; i++)
        for (size_t k = 0; k < p->files[i].n_files; k++)
            for (size_t j = 0; j < p->files[i].files[k].targets.n; j++)
                all.items[all.n++] = p->files[i].files[k].targets.items[j];
    for (size_t i = 0; i < p->n_https; i++)
        for (size_t j = 0; j < p->https[i]->targets.n; j++)
            all.items[all.n++] = p->https[i]->targets.items[j];
    if (p->broken) all.n = 0;

    hmap_t old, seen;
    hmap_init(&old, p->n_targets);
    for (size_t i = 0; i < p->n_targets; i++) {
        p->targets[i]->taken = false;
        hmap_put(&old, p->targets[i]->hash, p->targets[i]);
    }
    hmap_init(&seen, all.n);
    target_t **targets = vg_malloc((all.n ? all.n : 1) * sizeof *targets);
    size_t n_targets = 0;
    labels_t **dropped = vg_malloc((all.n ? all.n : 1) * sizeof *dropped);
    size_t n_dropped = 0;
    uint64_t keep_dropped = p->cfg->keep_dropped_targets;
    for (size_t i = 0; i < all.n; i++) {
        labels_t *pre = NULL, *full = NULL;
        vg_err_t err = {0};
        int rc = scrape_target_build(p->cfg, p->relabel, s->b, all.items[i], &pre, &full, &err);
        if (rc < 0) {
            vg_log_error("Creating target failed", "scrape_pool", p->name, "err", err.msg, NULL);
            labels_free(pre);
            continue;
        }
        if (rc == 0) {
            if (keep_dropped == 0 || n_dropped < keep_dropped)
                dropped[n_dropped++] = pre;
            else
                labels_free(pre);
            continue;
        }
        char *url = scrape_target_url(p->cfg, full);
        uint64_t h = scrape_target_hash(full, url);
        target_t *t = hmap_get(&old, h);
        if (t && t->taken) t = NULL;
        if (hmap_put(&seen, h, (target_t *)1)) {
            /* The same target from two groups: scraped once. */
            labels_free(pre);
            labels_free(full);
            free(url);
            continue;
        }
        if (t) {
            t->taken = true;
            pthread_mutex_lock(&s->mu);
            labels_free(t->discovered);
            t->discovered = pre;
            pthread_mutex_unlock(&s->mu);
            labels_free(full);
            free(url);
        } else {
            t = target_new(s, p, pre, full, url, h);
        }
        targets[n_targets++] = t;
    }
    int64_t now = vg_time_now_ms();
    size_t n_gone = 0;
    for (size_t i = 0; i < p->n_targets; i++)
        if (!p->targets[i]->taken) {
            target_end(s, p->targets[i], now);
            n_gone++;
        }
    if (n_gone) {
        vg_err_t err = {0};
        if (tsdb_appender_commit(s->w.app, &err) != VG_OK)
            vg_log_error("Writing stale markers failed", "scrape_pool", p->name, "err", err.msg,
                         NULL);
    }
    pthread_mutex_lock(&s->mu);
    target_t **old_targets = p->targets;
    size_t n_old = p->n_targets;
    labels_t **old_dropped = p->dropped;
    size_t n_old_dropped = p->n_dropped;
    p->targets = targets;
    p->n_targets = n_targets;
    p->dropped = dropped;
    p->n_dropped = n_dropped;
    free(p->forced_error);
    p->forced_error = NULL;
    if (p->cfg->target_limit && n_targets > p->cfg->target_limit) {
        vg_buf_t m = VG_BUF_INIT;
        vg_buf_printf(&m, "target_limit exceeded (number of targets: %zu, limit: %llu)", n_targets,
                      (unsigned long long)p->cfg->target_limit);
        p->forced_error = vg_buf_detach(&m);
    }
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < n_old; i++)
        if (!old_targets[i]->taken) target_free(s, old_targets[i]);
    free(old_targets);
    for (size_t i = 0; i < n_old_dropped; i++)
        labels_free(old_dropped[i]);
    free(old_dropped);
    free(all.items);
    hmap_free(&old);
    hmap_free(&seen);
    metric_set(s->m_pool_targets, p->name, (double)n_targets);
    metric_set(s->m_sd_targets, p->name, (double)total);
    if (s->m_sync_length)
        selfmon_observe(s->m_sync_length, (const char *const[]){p->name}, vg_time_mono() - started);
}

/* Sets a pool up for a job of cfg: programs, sample settings, providers.
 * old (may be NULL) is the same job's pool under the previous
 * configuration; its http_sd targets carry over until the next fetch. */
static void pool_configure(scrape_t *s, pool_t *p, const config_t *cfg, const config_scrape_t *job,
                           pool_t *old) {
    p->cfg = job;
    bool utf8 = cfg->global.metric_name_validation_scheme &&
                strcmp(cfg->global.metric_name_validation_scheme, "utf8") == 0;
    vg_err_t err = {0};
    if (labels_relabel_compile(job->relabel_configs, job->n_relabel_configs, utf8, &p->relabel,
                               &err) != VG_OK ||
        labels_relabel_compile(job->metric_relabel_configs, job->n_metric_relabel_configs, utf8,
                               &p->metric_relabel, &err) != VG_OK) {
        vg_log_error("Error compiling relabeling rules", "scrape_pool", job->job_name, "err",
                     err.msg, NULL);
        if (!s->work_err.msg[0]) s->work_err = err;
        p->broken = true;
    }
    p->scfg = (scrape_sample_cfg_t){
        .honor_labels = job->honor_labels,
        .honor_timestamps = job->honor_timestamps,
        .metric_relabel = p->metric_relabel,
        .sample_limit = job->sample_limit,
        .limits = {.max_labels = job->label_limit,
                   .max_name_len = job->label_name_length_limit,
                   .max_value_len = job->label_value_length_limit},
    };
    p->fingerprint = sample_fingerprint(job);
    for (size_t i = 0; i < job->n_static_configs; i++) {
        const config_static_t *sc = &job->static_configs[i];
        labels_label_t *pairs = vg_calloc(sc->n_labels + 1, sizeof *pairs);
        size_t np = 1;
        for (size_t k = 0; k < sc->n_labels; k++) {
            if (strcmp(sc->labels[k].name, "__address__") == 0) continue;
            pairs[np++] = (labels_label_t){sc->labels[k].name, sc->labels[k].value,
                                           strlen(sc->labels[k].name), strlen(sc->labels[k].value)};
        }
        for (size_t k = 0; k < sc->n_targets; k++) {
            pairs[0] = (labels_label_t){"__address__", sc->targets[k], 11, strlen(sc->targets[k])};
            labels_t *ls;
            if (labels_from_pairs(pairs, np, &ls, NULL) == VG_OK)
                scrape_lsets_push(&p->static_targets, ls);
        }
        free(pairs);
    }
    p->n_files = job->n_file_sd_configs;
    p->files = vg_calloc(p->n_files ? p->n_files : 1, sizeof *p->files);
    int64_t now = vg_time_now_ms();
    for (size_t i = 0; i < p->n_files; i++) {
        p->files[i].cfg = &job->file_sd_configs[i];
        file_sd_poll(s, p, &p->files[i], true);
        p->files[i].next_poll_ms = now + FILE_SD_POLL_MS;
        p->files[i].next_refresh_ms = now + p->files[i].cfg->refresh_interval_ms;
    }
    p->n_https = job->n_http_sd_configs;
    p->https = vg_calloc(p->n_https ? p->n_https : 1, sizeof *p->https);
    for (size_t i = 0; i < p->n_https; i++) {
        http_sd_t *h = vg_calloc(1, sizeof *h);
        h->cfg = &job->http_sd_configs[i];
        h->pool = p;
        h->next_ms = now;
        for (size_t k = 0; old && k < old->n_https; k++) {
            http_sd_t *o = old->https[k];
            if (o && strcmp(o->cfg->url, h->cfg->url) == 0 && o->targets.n) {
                h->targets = o->targets;
                memset(&o->targets, 0, sizeof o->targets);
                break;
            }
        }
        p->https[i] = h;
    }
    p->dirty = true;
}

static pool_t *pool_find(scrape_t *s, const char *name) {
    for (size_t i = 0; i < s->n_pools; i++)
        if (strcmp(s->pools[i]->name, name) == 0) return s->pools[i];
    return NULL;
}

/* Applies a configuration on the scrape thread. */
static void apply(scrape_t *s, config_t *cfg) {
    memset(&s->work_err, 0, sizeof s->work_err);
    metric_add(s->m_reloads, NULL, 1);
    pool_t **pools = vg_calloc(cfg->n_scrape_configs + 1, sizeof *pools);
    int64_t now = vg_time_now_ms();
    for (size_t i = 0; i < cfg->n_scrape_configs; i++) {
        const config_scrape_t *job = &cfg->scrape_configs[i];
        pool_t *old = pool_find(s, job->job_name);
        pool_t *p = vg_calloc(1, sizeof *p);
        p->name = vg_strdup(job->job_name);
        pool_configure(s, p, cfg, job, old);
        if (!old) metric_add(s->m_pools_total, NULL, 1);
        if (old) {
            /* The old pool's targets move over with their state; a change
             * in how samples are labelled starts their caches afresh
             * (after stale markers for what they exposed). */
            bool same_samples = strcmp(old->fingerprint, p->fingerprint) == 0;
            for (size_t k = 0; k < old->n_targets; k++) {
                target_t *t = old->targets[k];
                t->pool = p;
                if (!same_samples) {
                    scrape_loop_stale_all(&s->w, &t->loop, now);
                    scrape_cache_clear(&t->loop.cache);
                }
            }
            if (!same_samples) tsdb_appender_commit(s->w.app, NULL);
            pthread_mutex_lock(&s->mu);
            p->targets = old->targets;
            p->n_targets = old->n_targets;
            old->targets = NULL;
            old->n_targets = 0;
            pthread_mutex_unlock(&s->mu);
        }
        pools[i] = p;
    }
    /* Jobs that are gone: their targets end. */
    for (size_t i = 0; i < s->n_pools; i++) {
        pool_t *o = s->pools[i];
        if (o->n_targets) pool_stop_targets(s, o, now);
        if (o->n_targets) metric_set(s->m_pool_targets, o->name, 0);
    }
    pthread_mutex_lock(&s->mu);
    pool_t **old_pools = s->pools;
    size_t n_old = s->n_pools;
    s->pools = pools;
    s->n_pools = cfg->n_scrape_configs;
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < n_old; i++)
        pool_free(s, old_pools[i]);
    free(old_pools);
    for (size_t i = 0; i < s->n_pools; i++)
        pool_sync(s, s->pools[i]);
    config_t *old_cfg = s->cfg;
    s->cfg = config_ref(cfg);
    config_unref(old_cfg);
}

/* -------------------------------------------------------------- scrapes */

static void scrape_end(scrape_t *s, target_t *t, CURLcode cc, const char *forced);

static void scrape_begin(scrape_t *s, target_t *t) {
    pool_t *p = t->pool;
    const config_scrape_t *job = p->cfg;
    uint64_t limit = job->body_size_limit ? job->body_size_limit : SCRAPE_HARD_BODY_LIMIT;
    t->scrape_ms = vg_time_now_ms();
    vg_buf_t msg = VG_BUF_INIT;
    if (xfer_prepare(&t->x, t->url, &job->http, t->timeout_ms, limit, &msg) != VG_OK) {
        scrape_end(s, t, CURLE_OK, msg.data);
        vg_buf_free(&msg);
        return;
    }
    t->x.kind = XFER_SCRAPE;
    t->x.owner = t;
    xfer_t *x = &t->x;
    x->headers = curl_slist_append(x->headers, SCRAPE_ACCEPT);
    x->headers =
        curl_slist_append(x->headers, job->enable_compression ? "Accept-Encoding: gzip"
                                                              : "Accept-Encoding: identity");
    char h[96];
    snprintf(h, sizeof h, "User-Agent: %s", s->user_agent);
    x->headers = curl_slist_append(x->headers, h);
    char secs[VG_FLOAT_MAX_LEN];
    vg_format_float((double)t->timeout_ms / 1000.0, secs);
    snprintf(h, sizeof h, "X-Prometheus-Scrape-Timeout-Seconds: %s", secs);
    x->headers = curl_slist_append(x->headers, h);
    xfer_start(s, x);
}

static bool is_openmetrics(const char *ct) {
    static const char om[] = "application/openmetrics-text";
    size_t n = sizeof om - 1;
    if (strncasecmp(ct, om, n) != 0) return false;
    return ct[n] == 0 || ct[n] == ';' || ct[n] == ' ';
}

/* A scrape is over (cc is curl's result; forced is an error that stood in
 * for the transfer): append, report, commit, and record the status. */
static void scrape_end(scrape_t *s, target_t *t, CURLcode cc, const char *forced) {
    pool_t *p = t->pool;
    xfer_t *x = &t->x;
    x->busy = false;
    double duration = forced ? 0 : vg_time_mono() - x->started_mono;
    scrape_result_t res;
    memset(&res, 0, sizeof res);
    vg_buf_t msg = VG_BUF_INIT;
    vg_buf_t inflated = VG_BUF_INIT;
    long code = 0;
    if (!forced) curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    if (forced) {
        vg_buf_puts(&msg, forced);
    } else if (cc != CURLE_OK) {
        if (x->over_limit) {
            vg_buf_puts(&msg, "body size limit exceeded");
            metric_add(s->m_body_limit, NULL, 1);
        } else {
            httpc_error_detail(x->easy, cc, x->errbuf, "Get", t->url, &msg);
        }
    } else if (code != 200) {
        vg_buf_printf(&msg, "server returned HTTP status %s", x->status_text);
    } else {
        const char *body = x->body.data ? x->body.data : "";
        size_t len = x->body.len;
        vg_err_t err = {0};
        int rc = VG_OK;
        if (strcasecmp(x->content_encoding, "gzip") == 0) {
            rc = expfmt_gzip_inflate(body, len, x->limit, &inflated, &err);
            if (rc == VG_ERR_LIMIT) {
                vg_buf_puts(&msg, "body size limit exceeded");
                metric_add(s->m_body_limit, NULL, 1);
            } else if (rc != VG_OK) {
                vg_buf_printf(&msg, "gzip: %s", err.msg);
            }
            body = inflated.data ? inflated.data : "";
            len = inflated.len;
        }
        if (rc == VG_OK) {
            expfmt_format_t fmt =
                is_openmetrics(x->content_type) ? EXPFMT_OPENMETRICS : EXPFMT_TEXT_004;
            rc = scrape_loop_append(&s->w, &t->loop, &p->scfg, body, len, fmt, t->scrape_ms, &res,
                                    &err);
            if (rc != VG_OK) {
                vg_buf_puts(&msg, err.msg);
                tsdb_appender_rollback(s->w.app);
            }
            if (res.sample_limit_hit) metric_add(s->m_sample_limit, NULL, 1);
            if (res.label_limit_hit) metric_add(s->m_label_limit, NULL, 1);
            if (res.n_out_of_order) metric_add(s->m_out_of_order, NULL, (double)res.n_out_of_order);
            if (res.n_duplicate) metric_add(s->m_duplicate, NULL, (double)res.n_duplicate);
            if (res.n_out_of_bounds)
                metric_add(s->m_out_of_bounds, NULL, (double)res.n_out_of_bounds);
        }
    }
    vg_buf_free(&inflated);
    bool ok = msg.len == 0;
    if (!ok) scrape_loop_append_failed(&s->w, &t->loop, t->scrape_ms);
    scrape_loop_report(&s->w, &t->loop, t->scrape_ms, duration, &res, ok);
    vg_err_t cerr = {0};
    if (tsdb_appender_commit(s->w.app, &cerr) != VG_OK) {
        if (ok) vg_buf_puts(&msg, cerr.msg);
        ok = false;
    }
    metric_add(s->m_scrapes, NULL, 1);
    if (!ok)
        vg_log_debug("Scrape failed", "scrape_pool", p->name, "target", t->url, "err", msg.data,
                     NULL);
    char *err_text = vg_buf_detach(&msg);
    pthread_mutex_lock(&s->mu);
    char *old = t->last_error;
    t->last_error = err_text;
    t->last_scrape_ms = t->scrape_ms;
    t->last_duration_s = duration;
    t->health = ok ? SCRAPE_HEALTH_UP : SCRAPE_HEALTH_DOWN;
    pthread_mutex_unlock(&s->mu);
    free(old);
    /* A body kept from a big scrape is not kept forever. */
    if (x->body.cap > (1u << 20) && x->body.len < x->body.cap / 4) vg_buf_free(&x->body);
}

/* ------------------------------------------------------------- thread */

/* Starts due scrapes and discovery; lowers *wake to the next due time. */
static void tick(scrape_t *s, int64_t now, int64_t *wake) {
    for (size_t i = 0; i < s->n_pools; i++) {
        pool_t *p = s->pools[i];
        for (size_t k = 0; k < p->n_files; k++) {
            file_sd_t *f = &p->files[k];
            if (now >= f->next_poll_ms) {
                bool force = now >= f->next_refresh_ms;
                if (file_sd_poll(s, p, f, force)) p->dirty = true;
                f->next_poll_ms = now + FILE_SD_POLL_MS;
                if (force) f->next_refresh_ms = now + f->cfg->refresh_interval_ms;
            }
            if (f->next_poll_ms < *wake) *wake = f->next_poll_ms;
        }
        for (size_t k = 0; k < p->n_https; k++) {
            http_sd_t *h = p->https[k];
            if (!h->x.busy && now >= h->next_ms) http_sd_start(s, h);
            if (!h->x.busy && h->next_ms < *wake) *wake = h->next_ms;
        }
        if (p->dirty) pool_sync(s, p);
        for (size_t k = 0; k < p->n_targets; k++) {
            target_t *t = p->targets[k];
            if (now >= t->next_ms) {
                /* A scrape still running (it cannot outlive its timeout,
                 * which is at most the interval) skips this turn. */
                if (!t->x.busy) {
                    if (p->forced_error) {
                        t->scrape_ms = now;
                        scrape_end(s, t, CURLE_OK, p->forced_error);
                    } else {
                        scrape_begin(s, t);
                    }
                }
                t->next_ms += t->interval_ms;
                if (t->next_ms <= now) /* fell behind (suspend, clock jump) */
                    t->next_ms = scrape_target_first_time(t->hash, t->interval_ms, now + 1);
            }
            if (t->next_ms < *wake) *wake = t->next_ms;
        }
    }
}

static void *run(void *arg) {
    scrape_t *s = arg;
    selfmon_worker_t *wk = s->sm ? selfmon_worker_register(s->sm, "scrape") : NULL;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool stop = s->stop;
        config_t *pending = s->pending;
        uint64_t gen = s->pending_gen;
        s->pending = NULL;
        pthread_mutex_unlock(&s->mu);
        if (stop) {
            config_unref(pending);
            break;
        }
        if (wk) selfmon_worker_busy(wk);
        if (pending) {
            apply(s, pending);
            config_unref(pending);
            pthread_mutex_lock(&s->mu);
            s->applied_gen = gen;
            s->apply_err = s->work_err;
            pthread_cond_broadcast(&s->cond);
            pthread_mutex_unlock(&s->mu);
        }
        int64_t now = vg_time_now_ms();
        int64_t wake = now + 1000;
        tick(s, now, &wake);
        int running;
        curl_multi_perform(s->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(s->multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            CURL *e = m->easy_handle;
            CURLcode cc = m->data.result;
            xfer_t *x = NULL;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
            curl_multi_remove_handle(s->multi, e);
            if (!x) continue;
            if (x->kind == XFER_SCRAPE)
                scrape_end(s, x->owner, cc, NULL);
            else
                http_sd_finish(s, x->owner, cc, NULL);
        }
        if (wk) selfmon_worker_idle(wk);
        int64_t wait = wake - vg_time_now_ms();
        if (wait < 0) wait = 0;
        if (wait > 1000) wait = 1000;
        curl_multi_poll(s->multi, NULL, 0, (int)wait, NULL);
    }
    return NULL;
}

/* ----------------------------------------------------------------- API */

scrape_t *scrape_new(const scrape_options_t *o, vg_err_t *err) {
    httpc_global_init();
    scrape_t *s = vg_calloc(1, sizeof *s);
    s->db = o->tsdb;
    s->sm = o->selfmon;
    s->user_agent = vg_strdup(o->user_agent ? o->user_agent : "vigil");
    s->multi = curl_multi_init();
    if (!s->multi) {
        free(s->user_agent);
        free(s);
        vg_err_set(err, VG_ERR, "curl_multi_init failed");
        return NULL;
    }
    curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 4L);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    scrape_worker_init(&s->w, s->db);
    s->b = labels_builder_new();
    if (s->sm) {
        const char *job[] = {"scrape_job"};
        const char *cfgl[] = {"config"};
        static const double sync_buckets[] = {0.0001, 0.001, 0.01, 0.1, 1, 10};
        s->m_pools_total =
            selfmon_counter(s->sm, "vigil_target_scrape_pools_total",
                            "Total number of scrape pool creation attempts.", 0, NULL);
        s->m_reloads = selfmon_counter(s->sm, "vigil_target_scrape_pool_reloads_total",
                                       "Total number of scrape configurations applied.", 0, NULL);
        s->m_pool_targets = selfmon_gauge(s->sm, "vigil_target_scrape_pool_targets",
                                          "Current number of targets in this scrape pool.", 1, job);
        s->m_sync_length = selfmon_histogram(
            s->sm, "vigil_target_sync_length_seconds", "Actual interval to sync the scrape pool.",
            1, job, sync_buckets, sizeof sync_buckets / sizeof sync_buckets[0]);
        s->m_sample_limit = selfmon_counter(
            s->sm, "vigil_target_scrapes_exceeded_sample_limit_total",
            "Total number of scrapes that hit the sample limit and were rejected.", 0, NULL);
        s->m_body_limit =
            selfmon_counter(s->sm, "vigil_target_scrapes_exceeded_body_size_limit_total",
                            "Total number of scrapes that hit the body size limit.", 0, NULL);
        s->m_label_limit =
            selfmon_counter(s->sm, "vigil_target_scrape_pool_exceeded_label_limits_total",
                            "Total number of times scrape pools hit the label limits.", 0, NULL);
        s->m_out_of_order = selfmon_counter(
            s->sm, "vigil_target_scrapes_sample_out_of_order_total",
            "Total number of samples rejected due to not being out of the expected order.", 0,
            NULL);
        s->m_duplicate = selfmon_counter(
            s->sm, "vigil_target_scrapes_sample_duplicate_timestamp_total",
            "Total number of samples rejected due to duplicate timestamps but different values.", 0,
            NULL);
        s->m_out_of_bounds = selfmon_counter(
            s->sm, "vigil_target_scrapes_sample_out_of_bounds_total",
            "Total number of samples rejected due to timestamp falling outside of the time "
            "bounds.",
            0, NULL);
        s->m_scrapes = selfmon_counter(s->sm, "vigil_target_scrapes_total",
                                       "Total number of scrapes done.", 0, NULL);
        s->m_sd_targets = selfmon_gauge(s->sm, "vigil_sd_discovered_targets",
                                        "Current number of discovered targets.", 1, cfgl);
        s->m_file_errors = selfmon_counter(s->sm, "vigil_sd_file_read_errors_total",
                                           "The number of File-SD read errors.", 0, NULL);
        s->m_http_failures =
            selfmon_counter(s->sm, "vigil_sd_http_failures_total",
                            "Number of HTTP service discovery refresh failures.", 0, NULL);
    }
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        vg_err_set(err, VG_ERR, "cannot start the scrape thread: %s", strerror(errno));
        scrape_worker_free(&s->w);
        labels_builder_free(s->b);
        curl_multi_cleanup(s->multi);
        free(s->user_agent);
        free(s);
        return NULL;
    }
    pthread_setname_np(s->thread, "scrape");
    return s;
}

int scrape_apply_config(scrape_t *s, config_t *cfg, vg_err_t *err) {
    pthread_mutex_lock(&s->mu);
    config_unref(s->pending);
    s->pending = config_ref(cfg);
    uint64_t gen = ++s->pending_gen;
    pthread_mutex_unlock(&s->mu);
    curl_multi_wakeup(s->multi);
    pthread_mutex_lock(&s->mu);
    while (s->applied_gen < gen && !s->stop)
        pthread_cond_wait(&s->cond, &s->mu);
    vg_err_t e = s->apply_err;
    pthread_mutex_unlock(&s->mu);
    if (e.msg[0]) {
        if (err) *err = e;
        return VG_ERR_INPUT;
    }
    return VG_OK;
}

void scrape_free(scrape_t *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    curl_multi_wakeup(s->multi);
    pthread_join(s->thread, NULL);
    for (size_t i = 0; i < s->n_pools; i++)
        pool_free(s, s->pools[i]);
    free(s->pools);
    config_unref(s->pending);
    config_unref(s->cfg);
    scrape_worker_free(&s->w);
    labels_builder_free(s->b);
    curl_multi_cleanup(s->multi);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s->user_agent);
    free(s);
}

/* ------------------------------------------------------------- snapshots */

static int info_cmp(const void *a, const void *b) {
    const scrape_target_info_t *x = a, *y = b;
    int c = strcmp(x->pool, y->pool);
    if (c) return c;
    const labels_t *lx = x->labels ? x->labels : x->discovered;
    const labels_t *ly = y->labels ? y->labels : y->discovered;
    return labels_compare(lx, ly);
}

void scrape_targets_snapshot(scrape_t *s, bool active, bool dropped, const char *pool,
                             scrape_targets_t *out) {
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    size_t na = 0, nd = 0;
    for (size_t i = 0; i < s->n_pools; i++) {
        if (pool && *pool && strcmp(pool, s->pools[i]->name) != 0) continue;
        na += s->pools[i]->n_targets;
        nd += s->pools[i]->n_dropped;
    }
    if (active) out->active = vg_calloc(na ? na : 1, sizeof *out->active);
    if (dropped) out->dropped = vg_calloc(nd ? nd : 1, sizeof *out->dropped);
    for (size_t i = 0; i < s->n_pools; i++) {
        pool_t *p = s->pools[i];
        if (pool && *pool && strcmp(pool, p->name) != 0) continue;
        for (size_t k = 0; active && k < p->n_targets; k++) {
            target_t *t = p->targets[k];
            scrape_target_info_t *ti = &out->active[out->n_active++];
            ti->pool = vg_strdup(p->name);
            ti->discovered = labels_dup(t->discovered);
            ti->labels = labels_dup(t->labels);
            ti->url = vg_strdup(t->url);
            ti->last_error = vg_strdup(t->last_error ? t->last_error : "");
            ti->last_scrape_ms = t->last_scrape_ms;
            ti->last_duration_s = t->last_duration_s;
            ti->health = t->health;
            memcpy(ti->interval, t->interval_text, sizeof ti->interval);
            memcpy(ti->timeout, t->timeout_text, sizeof ti->timeout);
        }
        for (size_t k = 0; dropped && k < p->n_dropped; k++) {
            scrape_target_info_t *ti = &out->dropped[out->n_dropped++];
            ti->pool = vg_strdup(p->name);
            ti->discovered = labels_dup(p->dropped[k]);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (out->n_active) qsort(out->active, out->n_active, sizeof *out->active, info_cmp);
    if (out->n_dropped) qsort(out->dropped, out->n_dropped, sizeof *out->dropped, info_cmp);
}

static void info_free(scrape_target_info_t *t) {
    free(t->pool);
    labels_free(t->discovered);
    labels_free(t->labels);
    free(t->url);
    free(t->last_error);
}

void scrape_targets_free(scrape_targets_t *t) {
    for (size_t i = 0; i < t->n_active; i++)
        info_free(&t->active[i]);
    for (size_t i = 0; i < t->n_dropped; i++)
        info_free(&t->dropped[i]);
    free(t->active);
    free(t->dropped);
    memset(t, 0, sizeof *t);
}

static int meta_cmp(const void *a, const void *b) {
    const scrape_metadata_t *x = a, *y = b;
    int c = labels_compare(x->target, y->target);
    return c ? c : strcmp(x->metric, y->metric);
}

void scrape_metadata_snapshot(scrape_t *s, labels_matcher_t *const *matchers, size_t n_matchers,
                              const char *metric, size_t limit, scrape_metadata_t **out,
                              size_t *out_n) {
    size_t n = 0, cap = 0;
    scrape_metadata_t *v = NULL;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n_pools; i++) {
        pool_t *p = s->pools[i];
        for (size_t k = 0; k < p->n_targets; k++) {
            target_t *t = p->targets[k];
            bool match = true;
            for (size_t m = 0; m < n_matchers && match; m++)
                match = labels_matcher_matches_labels(matchers[m], t->labels);
            if (!match) continue;
            const scrape_cache_t *c = &t->loop.cache;
            for (size_t j = 0; j < c->cap_meta; j++) {
                const scrape_meta_t *mm = c->meta[j];
                if (!mm) continue;
                if (metric && strcmp(metric, mm->name) != 0) continue;
                if (n == cap) {
                    cap = cap ? cap * 2 : 64;
                    v = vg_realloc(v, cap * sizeof *v);
                }
                v[n++] = (scrape_metadata_t){.target = labels_dup(t->labels),
                                             .metric = vg_strdup(mm->name),
                                             .type = mm->type,
                                             .typed = mm->typed,
                                             .help = vg_strdup(mm->help ? mm->help : ""),
                                             .unit = vg_strdup(mm->unit ? mm->unit : "")};
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (n) qsort(v, n, sizeof *v, meta_cmp);
    if (limit && n > limit) {
        for (size_t i = limit; i < n; i++) {
            labels_free(v[i].target);
            free(v[i].metric);
            free(v[i].help);
            free(v[i].unit);
        }
        n = limit;
    }
    *out = v;
    *out_n = n;
}

void scrape_metadata_free(scrape_metadata_t *m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        labels_free(m[i].target);
        free(m[i].metric);
        free(m[i].help);
        free(m[i].unit);
    }
    free(m);
}
