/* This file implements the queue's series map (WAL ref -> the labels a
 * series is sent with) and the label processing Prometheus's queue
 * manager does when it stores a series: external labels first, added only
 * where the series lacks them, then write_relabel_configs. */
#include "remote_int.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(uint64_t ref, size_t n_slots) {
    uint64_t h = ref * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 17) & (n_slots - 1);
}

void remote_series_map_free(remote_series_map_t *m) {
    for (size_t i = 0; i < m->n_slots; i++)
        if (m->slots[i].ref) labels_free(m->slots[i].ls);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

const remote_series_entry_t *remote_series_map_get(const remote_series_map_t *m, uint64_t ref) {
    if (!m->n_slots || ref == 0) return NULL;
    for (size_t i = slot_of(ref, m->n_slots);; i = (i + 1) & (m->n_slots - 1)) {
        if (m->slots[i].ref == ref) return &m->slots[i];
        if (m->slots[i].ref == 0) return NULL;
    }
}

static void grow(remote_series_map_t *m) {
    size_t n_slots = m->n_slots ? m->n_slots * 2 : 1024;
    remote_series_entry_t *slots = vg_calloc(n_slots, sizeof *slots);
    for (size_t i = 0; i < m->n_slots; i++) {
        if (!m->slots[i].ref) continue;
        size_t j = slot_of(m->slots[i].ref, n_slots);
        while (slots[j].ref)
            j = (j + 1) & (n_slots - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->n_slots = n_slots;
}

void remote_series_map_put(remote_series_map_t *m, uint64_t ref, labels_t *ls) {
    if (ref == 0) {
        labels_free(ls);
        return;
    }
    if ((m->n + 1) * 4 > m->n_slots * 3) grow(m);
    size_t i = slot_of(ref, m->n_slots);
    while (m->slots[i].ref && m->slots[i].ref != ref)
        i = (i + 1) & (m->n_slots - 1);
    if (m->slots[i].ref == ref) {
        /* Queued samples may point at the labels already there. */
        labels_free(ls);
        return;
    }
    m->slots[i].ref = ref;
    m->slots[i].ls = ls;
    m->n++;
}

labels_t *remote_series_process(const labels_label_t *in, size_t n_in, const config_label_t *ext,
                                size_t n_ext, const labels_relabel_t *prog, labels_builder_t *b) {
    labels_t *base;
    if (labels_from_pairs(in, n_in, &base, NULL) != VG_OK) return NULL;
    labels_builder_reset(b, base);
    for (size_t i = 0; i < n_ext; i++) {
        size_t len = strlen(ext[i].name);
        size_t have = 0;
        const char *v = labels_builder_get(b, ext[i].name, len, &have);
        if (!v || have == 0) labels_builder_set_s(b, ext[i].name, ext[i].value);
    }
    labels_t *out = NULL;
    if (labels_relabel_apply(prog, b)) {
        out = labels_builder_labels(b);
        if (labels_len(out) == 0) {
            labels_free(out);
            out = NULL;
        }
    }
    labels_builder_reset(b, NULL);
    labels_free(base);
    return out;
}
