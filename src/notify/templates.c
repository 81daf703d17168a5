/* This file implements the notification templates: the text and the HTML
 * set (vigil's defaults, then the configuration's template files), and
 * Alertmanager's ExecuteTextString/ExecuteHTMLString on top of them.
 *
 * Alertmanager clones its set and parses the configuration string into the
 * clone at every notification. Here each distinct string is parsed once
 * into the shared set under a private name and kept in a small cache; the
 * set is then only read, so executions run in parallel under a read lock,
 * and only the first sight of a string takes the write lock. Messages are
 * given Alertmanager's template name "" back. */
#include "notify/notify_int.h"

#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Bounds the cache: configuration strings are few; strings read from
 * secret files may add some at runtime. */
#define NOTIFY_TMPL_CACHE_MAX 20000u

typedef struct tcache_entry {
    uint64_t hash;
    char *text;
    char name[32];
    char *parse_err; /* NULL: parsed into the set */
} tcache_entry_t;

typedef struct tset {
    template_t *t;
    tcache_entry_t *entries;
    size_t n_entries, cap_entries;
} tset_t;

struct notify_templates {
    pthread_rwlock_t lock;
    tset_t text, html;
    unsigned next_id;
};

static const template_funcs_t *const am_funcs[] = {&template_funcs_alertmanager};

static uint64_t fnv64(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static int add_both(notify_templates_t *t, const char *text, size_t len, const char *name,
                    vg_err_t *err) {
    if (template_add(t->text.t, text, len, name, err) != 0) return VG_ERR_INPUT;
    if (template_add(t->html.t, text, len, name, err) != 0) return VG_ERR_INPUT;
    return 0;
}

static int add_file(notify_templates_t *t, const char *path, vg_err_t *err) {
    char *data = NULL;
    size_t len = 0;
    if (vg_file_read_all(path, NOTIFY_TEMPLATE_MAX_FILE_BYTES, &data, &len, err) != 0) return -1;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    int rc = add_both(t, data, len, base, err);
    free(data);
    return rc;
}

notify_templates_t *notify_templates_load(const alert_config_t *cfg, vg_err_t *err) {
    notify_templates_t *t = vg_calloc(1, sizeof *t);
    pthread_rwlock_init(&t->lock, NULL);
    template_options_t o = {
        .funcs = am_funcs, .n_funcs = 1, .missingkey = TEMPLATE_MISSINGKEY_ZERO};
    t->text.t = template_new(&o);
    o.html = true;
    t->html.t = template_new(&o);
    if (add_both(t, notify_default_templates, strlen(notify_default_templates), "default.tmpl",
                 err) != 0) {
        vg_err_prefix(err, "default templates: ");
        notify_templates_free(t);
        return NULL;
    }
    size_t n_files = 0;
    for (size_t i = 0; cfg && i < cfg->n_templates; i++) {
        glob_t g;
        int rc = glob(cfg->templates[i], 0, NULL, &g);
        if (rc == GLOB_NOMATCH) continue;
        if (rc != 0) {
            vg_err_set(err, VG_ERR_IO, "template glob %s: %s", cfg->templates[i],
                       rc == GLOB_NOSPACE ? "out of memory" : "read error");
            notify_templates_free(t);
            return NULL;
        }
        for (size_t j = 0; j < g.gl_pathc; j++) {
            if (++n_files > NOTIFY_TEMPLATE_MAX_FILES) {
                vg_err_set(err, VG_ERR_LIMIT, "more than %u template files",
                           NOTIFY_TEMPLATE_MAX_FILES);
                rc = -1;
            } else {
                rc = add_file(t, g.gl_pathv[j], err);
            }
            if (rc != 0) {
                globfree(&g);
                notify_templates_free(t);
                return NULL;
            }
        }
        globfree(&g);
    }
    return t;
}

static void tset_free(tset_t *s) {
    for (size_t i = 0; i < s->n_entries; i++) {
        free(s->entries[i].text);
        free(s->entries[i].parse_err);
    }
    free(s->entries);
    template_free(s->t);
}

void notify_templates_free(notify_templates_t *t) {
    if (!t) return;
    tset_free(&t->text);
    tset_free(&t->html);
    pthread_rwlock_destroy(&t->lock);
    free(t);
}

static const tcache_entry_t *tset_find(const tset_t *s, const char *text, uint64_t h) {
    for (size_t i = 0; i < s->n_entries; i++)
        if (s->entries[i].hash == h && strcmp(s->entries[i].text, text) == 0) return &s->entries[i];
    return NULL;
}

/* Replaces every occurrence of name in msg by nothing, so messages read as
 * Alertmanager's for its template "". */
static void unname(char *msg, const char *name) {
    size_t nl = strlen(name);
    char *p;
    while ((p = strstr(msg, name)) != NULL)
        memmove(p, p + nl, strlen(p + nl) + 1);
}

/* Called with the write lock held. */
static const tcache_entry_t *tset_add(notify_templates_t *t, tset_t *s, const char *text,
                                      uint64_t h, vg_err_t *err) {
    if (s->n_entries >= NOTIFY_TMPL_CACHE_MAX) {
        vg_err_set(err, VG_ERR_LIMIT, "more than %u distinct notification template strings",
                   NOTIFY_TMPL_CACHE_MAX);
        return NULL;
    }
    if (s->n_entries == s->cap_entries) {
        s->cap_entries = s->cap_entries ? s->cap_entries * 2 : 32;
        s->entries = vg_realloc(s->entries, s->cap_entries * sizeof *s->entries);
    }
    tcache_entry_t *e = &s->entries[s->n_entries];
    memset(e, 0, sizeof *e);
    e->hash = h;
    e->text = vg_strdup(text);
    snprintf(e->name, sizeof e->name, "__vigil_config_text_%u__", t->next_id++);
    vg_err_t perr = {0};
    if (template_add(s->t, text, strlen(text), e->name, &perr) != 0) {
        unname(perr.msg, e->name);
        e->parse_err = vg_strdup(perr.msg);
    }
    s->n_entries++;
    return e;
}

int notify_template_execute(const notify_templates_t *ct, const char *text, bool html,
                            const template_am_data_t *data, vg_buf_t *out, vg_err_t *err) {
    if (!text || !*text) return 0;
    notify_templates_t *t = (notify_templates_t *)ct; /* the cache is behind the lock */
    tset_t *s = html ? &t->html : &t->text;
    uint64_t h = fnv64(text);
    pthread_rwlock_rdlock(&t->lock);
    const tcache_entry_t *e = tset_find(s, text, h);
    if (!e) {
        pthread_rwlock_unlock(&t->lock);
        pthread_rwlock_wrlock(&t->lock);
        e = tset_find(s, text, h);
        if (!e) e = tset_add(t, s, text, h, err);
        pthread_rwlock_unlock(&t->lock);
        if (!e) return VG_ERR_LIMIT;
        pthread_rwlock_rdlock(&t->lock);
        /* entries may have moved while unlocked */
        e = tset_find(s, text, h);
    }
    int rc = 0;
    if (e->parse_err) {
        rc = vg_err_set(err, VG_ERR_INPUT, "%s", e->parse_err);
    } else {
        char name[32];
        memcpy(name, e->name, sizeof name);
        template_value_t dot = template_am_data(data);
        template_env_t env = {.external_url = data->external_url};
        vg_err_t xerr = {0};
        rc = template_execute(s->t, name, &dot, &env, out, &xerr);
        if (rc != 0) {
            unname(xerr.msg, name);
            vg_err_set(err, rc, "%s", xerr.msg);
        }
    }
    pthread_rwlock_unlock(&t->lock);
    return rc;
}
