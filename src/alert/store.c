/* This file implements alerts as the Alertmanager keeps them: creation,
 * reference counting, fingerprints, Alertmanager's merge of two versions
 * of one alert, the order alerts take in a notification, and the
 * fingerprint-keyed map the store, the groups and the inhibition index use. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "alert/alert_int.h"

uint64_t alert_fingerprint(const labels_t *ls) {
    /* FNV-1a 64, as Prometheus's model.LabelSet.Fingerprint. */
    uint64_t h = 14695981039346656037ull;
    size_t n = labels_len(ls);
    for (size_t i = 0; i < n; i++) {
        labels_label_t l = labels_at(ls, i);
        for (size_t k = 0; k < l.name_len; k++)
            h = (h ^ (unsigned char)l.name[k]) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
        for (size_t k = 0; k < l.value_len; k++)
            h = (h ^ (unsigned char)l.value[k]) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    }
    return h;
}

uint64_t alert_alert_hash(const alert_alert_t *a) {
    XXH64_state_t *st = XXH64_createState();
    XXH64_reset(st, 0);
    size_t n = labels_len(a->labels);
    static const unsigned char sep = 0xff;
    for (size_t i = 0; i < n; i++) {
        labels_label_t l = labels_at(a->labels, i);
        XXH64_update(st, l.name, l.name_len);
        XXH64_update(st, &sep, 1);
        XXH64_update(st, l.value, l.value_len);
        XXH64_update(st, &sep, 1);
    }
    uint64_t h = XXH64_digest(st);
    XXH64_freeState(st);
    return h;
}

alert_alert_t *alert_alert_new(const labels_t *labels, const labels_t *annotations,
                               int64_t starts_at_ns, int64_t ends_at_ns, int64_t updated_at_ns,
                               const char *generator_url, bool timeout, uint64_t fp) {
    alert_alert_t *a = vg_calloc(1, sizeof *a);
    a->labels = labels_dup(labels);
    a->annotations = annotations ? labels_dup(annotations) : labels_new_empty();
    a->starts_at_ns = starts_at_ns;
    a->ends_at_ns = ends_at_ns;
    a->updated_at_ns = updated_at_ns;
    a->generator_url = vg_strdup(generator_url ? generator_url : "");
    a->timeout = timeout;
    a->fp = fp;
    atomic_init(&a->refs, 1);
    return a;
}

void alert_alert_ref(alert_alert_t *a) {
    atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
}

void alert_alert_unref(alert_alert_t *a) {
    if (!a || atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) != 1) return;
    labels_free(a->labels);
    labels_free(a->annotations);
    free(a->generator_url);
    free(a);
}

bool alert_alert_resolved_at(const alert_alert_t *a, int64_t t_ns) {
    return a->ends_at_ns != VG_TIME_GO_ZERO && a->ends_at_ns != 0 && a->ends_at_ns <= t_ns;
}

/* types.Alert.Merge: the younger (later updated_at) wins, with the earliest
 * start; the end is the later one unless it was made up by a timeout, and
 * once the younger is resolved, the latest explicit resolution. */
alert_alert_t *alert_alert_merge(const alert_alert_t *a, const alert_alert_t *o) {
    if (o->updated_at_ns < a->updated_at_ns) {
        const alert_alert_t *t = a;
        a = o;
        o = t;
    }
    int64_t starts = a->starts_at_ns < o->starts_at_ns ? a->starts_at_ns : o->starts_at_ns;
    int64_t ends = o->ends_at_ns;
    /* Go asks Resolved() at the wall clock; the younger one was updated now. */
    int64_t now = o->updated_at_ns;
    if (alert_alert_resolved_at(o, now)) {
        if (alert_alert_resolved_at(a, now) && a->ends_at_ns > o->ends_at_ns) ends = a->ends_at_ns;
    } else if (a->ends_at_ns > o->ends_at_ns && !a->timeout) {
        ends = a->ends_at_ns;
    }
    return alert_alert_new(o->labels, o->annotations, starts, ends, o->updated_at_ns,
                           o->generator_url, o->timeout, o->fp);
}

/* model.LabelSet.Before: fewer labels first, then by the sorted union of
 * names, a missing name counting as smaller. */
static bool labelset_before(const labels_t *x, const labels_t *y) {
    size_t nx = labels_len(x), ny = labels_len(y);
    if (nx != ny) return nx < ny;
    size_t i = 0, j = 0;
    while (i < nx || j < ny) {
        labels_label_t a = i < nx ? labels_at(x, i) : (labels_label_t){0};
        labels_label_t b = j < ny ? labels_at(y, j) : (labels_label_t){0};
        int c;
        if (i >= nx)
            c = 1;
        else if (j >= ny)
            c = -1;
        else {
            size_t m = a.name_len < b.name_len ? a.name_len : b.name_len;
            c = memcmp(a.name, b.name, m);
            if (!c) c = (a.name_len > b.name_len) - (a.name_len < b.name_len);
        }
        /* The smaller name comes first in the union; if only one side has it,
         * the side without it is "before" (Go: missing in ls -> true). */
        if (c < 0) return false; /* x has a name y lacks */
        if (c > 0) return true;  /* y has a name x lacks */
        size_t m = a.value_len < b.value_len ? a.value_len : b.value_len;
        int v = memcmp(a.value, b.value, m);
        if (!v) v = (a.value_len > b.value_len) - (a.value_len < b.value_len);
        if (v) return v < 0;
        i++, j++;
    }
    return false;
}

int alert_alert_cmp_notify(const alert_alert_t *a, const alert_alert_t *b) {
    static const char *const keys[] = {"job", "instance"};
    for (size_t k = 0; k < 2; k++) {
        size_t la, lb;
        const char *va = labels_get(a->labels, keys[k], strlen(keys[k]), &la);
        const char *vb = labels_get(b->labels, keys[k], strlen(keys[k]), &lb);
        if (!va && !vb) continue;
        if (!va) return 1;
        if (!vb) return -1;
        size_t m = la < lb ? la : lb;
        int c = memcmp(va, vb, m);
        if (!c) c = (la > lb) - (la < lb);
        if (c) return c;
    }
    if (labelset_before(a->labels, b->labels)) return -1;
    if (labelset_before(b->labels, a->labels)) return 1;
    return 0;
}

/* ----------------------------------------------------------------- map */

static size_t slot_of(uint64_t fp, size_t cap) {
    /* Fingerprints are FNV hashes already; mix the high bits in. */
    return (size_t)((fp ^ (fp >> 29)) & (cap - 1));
}

alert_alert_t *alert_map_get(const alert_map_t *m, uint64_t fp) {
    if (!m->cap) return NULL;
    for (size_t i = slot_of(fp, m->cap);; i = (i + 1) & (m->cap - 1)) {
        alert_alert_t *a = m->slots[i];
        if (!a) return NULL;
        if (a != ALERT_MAP_TOMB && a->fp == fp) return a;
    }
}

static void map_grow(alert_map_t *m) {
    size_t cap = m->cap ? m->cap : 8;
    while (m->len * 2 >= cap)
        cap *= 2;
    alert_alert_t **old = m->slots;
    size_t old_cap = m->cap;
    m->slots = vg_calloc(cap, sizeof *m->slots);
    m->cap = cap;
    m->used = m->len;
    for (size_t i = 0; i < old_cap; i++) {
        alert_alert_t *a = old[i];
        if (!a || a == ALERT_MAP_TOMB) continue;
        size_t j = slot_of(a->fp, cap);
        while (m->slots[j])
            j = (j + 1) & (cap - 1);
        m->slots[j] = a;
    }
    free(old);
}

void alert_map_put(alert_map_t *m, alert_alert_t *a) {
    if ((m->used + 1) * 4 >= m->cap * 3) map_grow(m);
    size_t tomb = SIZE_MAX;
    for (size_t i = slot_of(a->fp, m->cap);; i = (i + 1) & (m->cap - 1)) {
        alert_alert_t *cur = m->slots[i];
        if (!cur) {
            if (tomb != SIZE_MAX) {
                i = tomb;
            } else {
                m->used++;
            }
            m->slots[i] = a;
            m->len++;
            return;
        }
        if (cur == ALERT_MAP_TOMB) {
            if (tomb == SIZE_MAX) tomb = i;
            continue;
        }
        if (cur->fp == a->fp) {
            m->slots[i] = a;
            alert_alert_unref(cur);
            return;
        }
    }
}

alert_alert_t *alert_map_del(alert_map_t *m, uint64_t fp) {
    if (!m->cap) return NULL;
    for (size_t i = slot_of(fp, m->cap);; i = (i + 1) & (m->cap - 1)) {
        alert_alert_t *a = m->slots[i];
        if (!a) return NULL;
        if (a != ALERT_MAP_TOMB && a->fp == fp) {
            m->slots[i] = ALERT_MAP_TOMB;
            m->len--;
            return a;
        }
    }
}

void alert_map_clear(alert_map_t *m) {
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i] && m->slots[i] != ALERT_MAP_TOMB) alert_alert_unref(m->slots[i]);
    free(m->slots);
    memset(m, 0, sizeof *m);
}
