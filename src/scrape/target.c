/* This file implements what a target is made of: its labels built from
 * discovered labels as Prometheus's PopulateLabels builds them (version
 * 2.42, which still adds the default port to an address without one), its
 * scrape URL written as Go's url.URL.String() writes it, its identity hash
 * and the stable phase of its scrapes inside the interval. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "scrape_int.h"

double scrape_stale_nan(void) {
    uint64_t bits = SCRAPE_STALE_NAN_BITS;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* ------------------------------------------------------------- lsets */

void scrape_lsets_push(scrape_lsets_t *l, labels_t *ls) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = vg_realloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n++] = ls;
}

void scrape_lsets_clear(scrape_lsets_t *l) {
    for (size_t i = 0; i < l->n; i++)
        labels_free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

void scrape_lsets_move(scrape_lsets_t *dst, scrape_lsets_t *src) {
    for (size_t i = 0; i < src->n; i++)
        scrape_lsets_push(dst, src->items[i]);
    free(src->items);
    memset(src, 0, sizeof *src);
}

/* ------------------------------------------------------------ labels */

/* Go's net.SplitHostPort, enough to tell whether an address has a port:
 * 0 when it splits, -1 otherwise. */
static int split_host_port(const char *s, size_t len) {
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close) return -1;
        size_t after = (size_t)(close - s) + 1;
        if (after == len || s[after] != ':') return -1;
        /* Nothing but the port after the colon. */
        for (size_t i = after + 1; i < len; i++)
            if (s[i] == ':' || s[i] == '[' || s[i] == ']') return -1;
        return 0;
    }
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (s[i] == ':') colon = s + i;
    if (!colon) return -1;
    for (const char *p = s; p < colon; p++)
        if (*p == ':' || *p == '[' || *p == ']') return -1;
    for (const char *p = colon + 1; p < s + len; p++)
        if (*p == '[' || *p == ']') return -1;
    return 0;
}

static const char *bget(labels_builder_t *b, const char *name, size_t *len) {
    size_t n = 0;
    const char *v = labels_builder_get(b, name, strlen(name), &n);
    if (!v) n = 0;
    *len = n;
    return v ? v : "";
}

static void set_if_absent(labels_builder_t *b, const char *name, const char *value) {
    size_t n;
    bget(b, name, &n);
    if (n == 0) labels_builder_set_s(b, name, value);
}

static void del_meta(labels_builder_t *b, const labels_label_t *l, void *ctx) {
    (void)ctx;
    if (l->name_len >= 7 && memcmp(l->name, "__meta_", 7) == 0)
        labels_builder_del(b, l->name, l->name_len);
}

static int parse_dur(labels_builder_t *b, const char *name, int64_t *out, char *text,
                     const char *what, vg_err_t *err) {
    size_t n;
    const char *v = bget(b, name, &n);
    snprintf(text, 64, "%.*s", (int)(n < 60 ? n : 60), v);
    if (vg_duration_parse(v, n, out) != VG_OK)
        return vg_err_set(err, VG_ERR_INPUT, "error parsing %s: not a valid duration string: %s",
                          what, text);
    return VG_OK;
}

int scrape_target_build(const config_scrape_t *cfg, const labels_relabel_t *relabel,
                        labels_builder_t *b, const labels_t *discovered, labels_t **out_pre,
                        labels_t **out_full, vg_err_t *err) {
    *out_full = NULL;
    labels_builder_reset(b, discovered);
    char ibuf[32], tbuf[32];
    vg_duration_format(cfg->scrape_interval_ms, ibuf);
    vg_duration_format(cfg->scrape_timeout_ms, tbuf);
    set_if_absent(b, "job", cfg->job_name);
    set_if_absent(b, "__scrape_interval__", ibuf);
    set_if_absent(b, "__scrape_timeout__", tbuf);
    set_if_absent(b, "__metrics_path__", cfg->metrics_path);
    set_if_absent(b, "__scheme__", cfg->scheme);
    vg_buf_t name = VG_BUF_INIT;
    for (size_t i = 0; i < cfg->n_params; i++) {
        if (cfg->params[i].n_values == 0) continue;
        vg_buf_reset(&name);
        vg_buf_printf(&name, "__param_%s", cfg->params[i].name);
        labels_builder_set(b, name.data, name.len, cfg->params[i].values[0],
                           strlen(cfg->params[i].values[0]));
    }
    vg_buf_free(&name);
    *out_pre = labels_builder_labels(b);
    if (!labels_relabel_apply(relabel, b)) return 0;

    size_t alen;
    const char *addr = bget(b, "__address__", &alen);
    if (alen == 0) return vg_err_set(err, VG_ERR_INPUT, "no address");
    vg_buf_t a = VG_BUF_INIT;
    vg_buf_append(&a, addr, alen);
    if (split_host_port(a.data, a.len) != 0) {
        vg_buf_t probe = VG_BUF_INIT;
        vg_buf_printf(&probe, "%s:1234", a.data);
        bool add = split_host_port(probe.data, probe.len) == 0;
        vg_buf_free(&probe);
        if (add) {
            size_t slen;
            const char *scheme = bget(b, "__scheme__", &slen);
            if (slen == 0 || (slen == 4 && memcmp(scheme, "http", 4) == 0)) {
                vg_buf_puts(&a, ":80");
            } else if (slen == 5 && memcmp(scheme, "https", 5) == 0) {
                vg_buf_puts(&a, ":443");
            } else {
                vg_buf_free(&a);
                return vg_err_set(err, VG_ERR_INPUT, "invalid scheme: \"%s\"", cfg->scheme);
            }
            labels_builder_set(b, "__address__", 11, a.data, a.len);
        }
    }
    if (memchr(a.data, '/', a.len)) {
        vg_err_set(err, VG_ERR_INPUT, "\"%.200s\" is not a valid hostname", a.data);
        vg_buf_free(&a);
        return VG_ERR_INPUT;
    }
    int64_t interval, timeout;
    char itext[64], ttext[64];
    if (parse_dur(b, "__scrape_interval__", &interval, itext, "scrape interval", err) ||
        parse_dur(b, "__scrape_timeout__", &timeout, ttext, "scrape timeout", err)) {
        vg_buf_free(&a);
        return VG_ERR_INPUT;
    }
    if (interval == 0) {
        vg_buf_free(&a);
        return vg_err_set(err, VG_ERR_INPUT, "scrape interval cannot be 0");
    }
    if (timeout == 0) {
        vg_buf_free(&a);
        return vg_err_set(err, VG_ERR_INPUT, "scrape timeout cannot be 0");
    }
    if (timeout > interval) {
        vg_buf_free(&a);
        return vg_err_set(err, VG_ERR_INPUT,
                          "scrape timeout cannot be greater than scrape interval (\"%s\" > \"%s\")",
                          ttext, itext);
    }
    labels_builder_range(b, del_meta, NULL);
    size_t ilen;
    bget(b, "instance", &ilen);
    if (ilen == 0) labels_builder_set(b, "instance", 8, a.data, a.len);
    vg_buf_free(&a);
    labels_t *full = labels_builder_labels(b);
    for (size_t i = 0; i < labels_len(full); i++) {
        labels_label_t l = labels_at(full, i);
        if (!labels_utf8_valid(l.value, l.value_len)) {
            vg_err_set(err, VG_ERR_INPUT, "invalid label value for \"%.*s\": \"%.*s\"",
                       (int)l.name_len, l.name, (int)(l.value_len < 200 ? l.value_len : 200),
                       l.value);
            labels_free(full);
            return VG_ERR_INPUT;
        }
    }
    *out_full = full;
    return 1;
}

labels_t *scrape_target_public_labels(const labels_t *full) {
    size_t n = labels_len(full);
    labels_label_t *pairs = vg_malloc((n ? n : 1) * sizeof *pairs);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        labels_label_t l = labels_at(full, i);
        if (l.name_len >= 2 && l.name[0] == '_' && l.name[1] == '_') continue;
        pairs[k++] = l;
    }
    labels_t *out = NULL;
    if (labels_from_pairs(pairs, k, &out, NULL) != VG_OK) out = labels_new_empty();
    free(pairs);
    return out;
}

/* ---------------------------------------------------------------- URL */

static const char hexdig[] = "0123456789ABCDEF";

static bool unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* Go's url.PathEscape rules for a path (encodePath). */
static void put_path(vg_buf_t *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || strchr("$&+,/:;=@", c) != NULL) {
            if (c) {
                vg_buf_putc(b, (char)c);
                continue;
            }
        }
        vg_buf_putc(b, '%');
        vg_buf_putc(b, hexdig[c >> 4]);
        vg_buf_putc(b, hexdig[c & 15]);
    }
}

/* Go's url.QueryEscape. */
static void put_query(vg_buf_t *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c)) {
            vg_buf_putc(b, (char)c);
        } else if (c == ' ') {
            vg_buf_putc(b, '+');
        } else {
            vg_buf_putc(b, '%');
            vg_buf_putc(b, hexdig[c >> 4]);
            vg_buf_putc(b, hexdig[c & 15]);
        }
    }
}

typedef struct qparam {
    const char *name;
    size_t name_len;
    const char **values;
    size_t *value_lens;
    size_t n_values;
} qparam_t;

static int qparam_cmp(const void *a, const void *b) {
    const qparam_t *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c) return c;
    return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

char *scrape_target_url(const config_scrape_t *cfg, const labels_t *full) {
    size_t n_lab = labels_len(full);
    size_t cap = cfg->n_params + n_lab;
    qparam_t *q = vg_calloc(cap ? cap : 1, sizeof *q);
    size_t nq = 0;
    for (size_t i = 0; i < cfg->n_params; i++) {
        const config_param_t *p = &cfg->params[i];
        q[nq].name = p->name;
        q[nq].name_len = strlen(p->name);
        q[nq].n_values = p->n_values;
        q[nq].values = vg_calloc(p->n_values + 1, sizeof(char *));
        q[nq].value_lens = vg_calloc(p->n_values + 1, sizeof(size_t));
        for (size_t k = 0; k < p->n_values; k++) {
            q[nq].values[k] = p->values[k];
            q[nq].value_lens[k] = strlen(p->values[k]);
        }
        nq++;
    }
    for (size_t i = 0; i < n_lab; i++) {
        labels_label_t l = labels_at(full, i);
        if (l.name_len < 8 || memcmp(l.name, "__param_", 8) != 0) continue;
        const char *pn = l.name + 8;
        size_t pn_len = l.name_len - 8;
        qparam_t *found = NULL;
        for (size_t k = 0; k < nq; k++)
            if (q[k].name_len == pn_len && memcmp(q[k].name, pn, pn_len) == 0) found = &q[k];
        if (found && found->n_values > 0) {
            found->values[0] = l.value;
            found->value_lens[0] = l.value_len;
        } else if (found) {
            found->values = vg_realloc(found->values, sizeof(char *));
            found->value_lens = vg_realloc(found->value_lens, sizeof(size_t));
            found->values[0] = l.value;
            found->value_lens[0] = l.value_len;
            found->n_values = 1;
        } else {
            q[nq].name = pn;
            q[nq].name_len = pn_len;
            q[nq].values = vg_malloc(sizeof(char *));
            q[nq].value_lens = vg_malloc(sizeof(size_t));
            q[nq].values[0] = l.value;
            q[nq].value_lens[0] = l.value_len;
            q[nq].n_values = 1;
            nq++;
        }
    }
    qsort(q, nq, sizeof *q, qparam_cmp);
    size_t slen, alen, plen;
    const char *scheme = labels_get(full, "__scheme__", 10, &slen);
    const char *addr = labels_get(full, "__address__", 11, &alen);
    const char *path = labels_get(full, "__metrics_path__", 16, &plen);
    vg_buf_t b = VG_BUF_INIT;
    if (scheme) vg_buf_append(&b, scheme, slen);
    vg_buf_puts(&b, "://");
    if (addr) vg_buf_append(&b, addr, alen);
    if (path && plen) {
        if (path[0] != '/') vg_buf_putc(&b, '/');
        put_path(&b, path, plen);
    }
    bool first = true;
    for (size_t i = 0; i < nq; i++) {
        for (size_t k = 0; k < q[i].n_values; k++) {
            vg_buf_putc(&b, first ? '?' : '&');
            first = false;
            put_query(&b, q[i].name, q[i].name_len);
            vg_buf_putc(&b, '=');
            put_query(&b, q[i].values[k], q[i].value_lens[k]);
        }
        free(q[i].values);
        free(q[i].value_lens);
    }
    free(q);
    return vg_buf_detach(&b);
}

uint64_t scrape_target_hash(const labels_t *full, const char *url) {
    uint64_t h = labels_hash(full);
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    XXH3_64bits_update(st, &h, sizeof h);
    XXH3_64bits_update(st, url, strlen(url));
    uint64_t out = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return out;
}

int64_t scrape_target_first_time(uint64_t hash, int64_t interval_ms, int64_t now_ms) {
    if (interval_ms <= 0) return now_ms;
    int64_t offset = (int64_t)(hash % (uint64_t)interval_ms);
    int64_t base = now_ms - now_ms % interval_ms;
    int64_t t = base + offset;
    if (t < now_ms) t += interval_ms;
    return t;
}
