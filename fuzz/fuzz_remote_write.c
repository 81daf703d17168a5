/* libFuzzer target for the remote_write decoder. The first byte picks the
 * mode; the rest is the input:
 *   bit 0  the rest is the protobuf itself (snappy skipped, so the fuzzer
 *          reaches the protobuf decoder directly); else an HTTP body
 *   bit 1  VG_INGEST_RW_DROP_INVALID
 *   bit 2  tiny limits (4 labels, 16-byte names and values), to reach
 *          the limit checks
 * Any bytes must decode or fail with a message, never crash, hang, leak or
 * read out of bounds; every pointer handed to the callbacks is read in full.
 * When a protobuf decodes, the series it held are encoded again with the
 * writer and decoded a second time: the same labels, samples and exemplars
 * must come back (histograms and metadata are not re-encoded). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/rw_decode.h"

static volatile size_t sink;

static uint64_t mix(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t mix_labels(uint64_t h, const ingest_rw_label_t *ls, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h = mix(h, ls[i].name, ls[i].name_len);
        h = mix(h, &ls[i].name_len, sizeof ls[i].name_len);
        h = mix(h, ls[i].value, ls[i].value_len);
        h = mix(h, &ls[i].value_len, sizeof ls[i].value_len);
    }
    return h;
}

typedef struct state {
    uint64_t hash;
    ingest_rw_writer_t *writer; /* NULL on the second pass */
    ingest_rw_sample_t *samples;
    size_t samples_cap;
    ingest_rw_exemplar_in_t *exemplars;
    size_t exemplars_cap;
    ingest_rw_label_t *ex_labels; /* copies of the exemplar label views */
    size_t ex_labels_cap;
} state_t;

#define GROW(arr, cap, n)                                                                          \
    do {                                                                                           \
        if ((n) > (cap)) {                                                                         \
            (cap) = (n)*2;                                                                         \
            (arr) = realloc((arr), (cap) * sizeof *(arr));                                         \
            if (!(arr)) abort();                                                                   \
        }                                                                                          \
    } while (0)

static int on_series(void *ctx, const ingest_rw_series_t *s, vg_err_t *err) {
    (void)err;
    state_t *st = ctx;
    st->hash = mix_labels(st->hash, s->labels, s->n_labels);
    size_t n = 0;
    ingest_rw_sample_iter_t it;
    ingest_rw_sample_t smp;
    ingest_rw_series_samples(s, &it);
    while (ingest_rw_sample_iter_next(&it, &smp)) {
        st->hash = mix(st->hash, &smp, sizeof smp);
        GROW(st->samples, st->samples_cap, n + 1);
        st->samples[n++] = smp;
    }
    if (n != s->n_samples) __builtin_trap();

    size_t n_ex = 0, n_exl = 0;
    ingest_rw_exemplar_iter_t eit;
    ingest_rw_exemplar_t ex;
    ingest_rw_series_exemplars(s, &eit);
    while (ingest_rw_exemplar_iter_next(&eit, &ex)) {
        st->hash = mix_labels(st->hash, ex.labels, ex.n_labels);
        st->hash = mix(st->hash, &ex.value, sizeof ex.value);
        st->hash = mix(st->hash, &ex.timestamp_ms, sizeof ex.timestamp_ms);
        GROW(st->ex_labels, st->ex_labels_cap, n_exl + ex.n_labels + 1);
        if (ex.n_labels) memcpy(&st->ex_labels[n_exl], ex.labels, ex.n_labels * sizeof *ex.labels);
        GROW(st->exemplars, st->exemplars_cap, n_ex + 1);
        /* Label pointers are fixed up below, once ex_labels stops moving. */
        st->exemplars[n_ex++] =
            (ingest_rw_exemplar_in_t){NULL, ex.n_labels, ex.value, ex.timestamp_ms};
        n_exl += ex.n_labels;
    }
    if (n_ex != s->n_exemplars) __builtin_trap();
    if (st->writer) {
        size_t at = 0;
        for (size_t i = 0; i < n_ex; i++) {
            st->exemplars[i].labels = st->ex_labels + at;
            at += st->exemplars[i].n_labels;
        }
        ingest_rw_writer_add_series(st->writer, s->labels, s->n_labels, st->samples, n,
                                    st->exemplars, n_ex);
    }
    return 0;
}

static int on_metadata(void *ctx, const ingest_rw_metadata_t *m, vg_err_t *err) {
    (void)err;
    state_t *st = ctx;
    st->hash = mix(st->hash, m->family_name, m->family_name_len);
    st->hash = mix(st->hash, m->help, m->help_len);
    st->hash = mix(st->hash, m->unit, m->unit_len);
    sink += (size_t)m->type;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    unsigned mode = data[0];
    const uint8_t *in = data + 1;
    size_t len = size - 1;

    ingest_rw_limits_t tiny = {
        .max_decoded_bytes = 1 << 20, .max_labels = 4, .max_name_len = 16, .max_value_len = 16};
    ingest_rw_limits_t normal = {.max_decoded_bytes = 4 << 20};
    const ingest_rw_limits_t *lim = (mode & 4) ? &tiny : &normal;
    unsigned flags = (mode & 2) ? VG_INGEST_RW_DROP_INVALID : 0;

    ingest_rw_decoder_t d;
    ingest_rw_decoder_init(&d, lim, flags);
    ingest_rw_writer_t w;
    ingest_rw_writer_init(&w);
    state_t st = {.hash = 0xcbf29ce484222325ull, .writer = &w};
    ingest_rw_handler_t h = {on_series, on_metadata, &st};
    ingest_rw_stats_t stats;
    vg_err_t err = {0};
    int rc;
    if (mode & 1)
        rc = ingest_rw_decoder_decode(&d, in, len, &h, &stats, &err);
    else
        rc = ingest_rw_decoder_decode_body(&d, in, len, &h, &stats, &err);
    if (rc < 0 && !err.msg[0]) __builtin_trap();
    if (rc == 0 && !(flags & VG_INGEST_RW_DROP_INVALID) && stats.n_series_dropped) __builtin_trap();

    if (rc == 0) {
        /* Second pass over what the writer made of it. */
        vg_buf_t body = VG_BUF_INIT;
        ingest_rw_writer_finish(&w, &body);
        uint64_t first = st.hash;
        ingest_rw_stats_t stats2;
        st.hash = 0xcbf29ce484222325ull;
        st.writer = NULL;
        ingest_rw_handler_t h2 = {on_series, NULL, &st};
        ingest_rw_decoder_t d2;
        ingest_rw_limits_t big = *lim;
        big.max_decoded_bytes = 64 << 20;
        ingest_rw_decoder_init(&d2, &big, 0);
        if (ingest_rw_decoder_decode_body(&d2, body.data, body.len, &h2, &stats2, &err) != 0)
            __builtin_trap();
        if (stats2.n_series != stats.n_series || stats2.n_samples != stats.n_samples ||
            stats2.n_exemplars != stats.n_exemplars)
            __builtin_trap();
        /* Metadata was hashed on the first pass only; compare when none. */
        if (stats.n_metadata == 0 && st.hash != first) __builtin_trap();
        ingest_rw_decoder_free(&d2);
        vg_buf_free(&body);
    }
    free(st.samples);
    free(st.exemplars);
    free(st.ex_labels);
    ingest_rw_writer_free(&w);
    ingest_rw_decoder_free(&d);
    return 0;
}
