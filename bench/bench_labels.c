/* Micro-benchmark of the labels module's hot operations: prints ns per
 * hash, compare, build, matcher match (by kind of regex), relabel program
 * and symbol-table intern. Figures only; nothing is asserted. */
#include <stdio.h>
#include <string.h>

#include "labels/labels.h"

static volatile uint64_t sink;

#define BENCH(name, iters, body)                                                                   \
    do {                                                                                           \
        double t0 = vg_time_mono();                                                                \
        for (long i_ = 0; i_ < (iters); i_++) {                                                    \
            body;                                                                                  \
        }                                                                                          \
        double dt = vg_time_mono() - t0;                                                           \
        printf("%-44s %8.1f ns/op\n", name, dt * 1e9 / (double)(iters));                           \
    } while (0)

static labels_matcher_t *mk(labels_match_type_t t, const char *v) {
    labels_matcher_t *m = NULL;
    vg_err_t err;
    if (labels_matcher_new(t, "pod", 3, v, strlen(v), &m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    return m;
}

int main(void) {
    labels_t *a = labels_from_strings(
        "__name__", "http_requests_total", "job", "api-server", "instance", "10.0.3.17:9100",
        "method", "GET", "code", "200", "handler", "/api/v1/query_range", "pod",
        "api-server-7d9f8b6c5-x2k4q", "namespace", "production", NULL);
    labels_t *b = labels_from_strings(
        "__name__", "http_requests_total", "job", "api-server", "instance", "10.0.3.17:9100",
        "method", "GET", "code", "200", "handler", "/api/v1/query_range", "pod",
        "api-server-7d9f8b6c5-x2k4r", "namespace", "production", NULL);
    printf("label set: %zu labels, %zu bytes\n", labels_len(a), labels_byte_size(a));
    long N = 2000000;
    BENCH("labels_hash (8 labels)", N, sink += labels_hash(a));
    BENCH("labels_compare (differ in last byte)", N, sink += (uint64_t)labels_compare(a, b));
    BENCH("labels_equal", N, sink += labels_equal(a, b));
    BENCH("labels_get", N, sink += (uintptr_t)labels_get(a, "pod", 3, NULL));
    labels_builder_t *bld = labels_builder_new();
    BENCH("builder: reset, set 8 labels, labels()", N / 4, {
        labels_builder_reset(bld, NULL);
        for (size_t k = 0; k < labels_len(a); k++) {
            labels_label_t l = labels_at(a, k);
            labels_builder_set(bld, l.name, l.name_len, l.value, l.value_len);
        }
        labels_t *o = labels_builder_labels(bld);
        sink += labels_len(o);
        labels_free(o);
    });

    const char *pod = "api-server-7d9f8b6c5-x2k4q";
    size_t pod_len = strlen(pod);
    struct {
        const char *name;
        labels_match_type_t t;
        const char *re;
    } ms[] = {
        {"match =", LABELS_MATCH_EQUAL, "api-server-7d9f8b6c5-x2k4q"},
        {"match =~ literal", LABELS_MATCH_REGEXP, "api-server-7d9f8b6c5-x2k4q"},
        {"match =~ a|b|c (3)", LABELS_MATCH_REGEXP, "web|db|api-server-7d9f8b6c5-x2k4q"},
        {"match =~ prefix.*", LABELS_MATCH_REGEXP, "api-server-.*"},
        {"match =~ .*contains.*", LABELS_MATCH_REGEXP, ".*7d9f.*"},
        {"match =~ .+", LABELS_MATCH_REGEXP, ".+"},
        {"match =~ PCRE2 api-server-[0-9a-f]+-.*", LABELS_MATCH_REGEXP, "api-server-[0-9a-f]+-.*"},
        {"match =~ PCRE2 (?i)API.*", LABELS_MATCH_REGEXP, "(?i)API.*"},
    };
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        labels_matcher_t *m = mk(ms[i].t, ms[i].re);
        if (!m) continue;
        BENCH(ms[i].name, N, sink += labels_matcher_matches(m, pod, pod_len));
        labels_matcher_free(m);
    }
    vg_buf_t big = VG_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        vg_buf_printf(&big, "%spod-%d", i ? "|" : "", i);
    labels_matcher_t *m = NULL;
    labels_matcher_new(LABELS_MATCH_REGEXP, "pod", 3, big.data, big.len, &m, NULL);
    BENCH("match =~ 1000-way alternation", N, sink += labels_matcher_matches(m, "pod-777", 7));
    labels_matcher_free(m);
    vg_buf_free(&big);

    /* A typical metric_relabel_configs list. */
    const char *src_name[] = {"__name__"};
    const char *src_inst[] = {"instance"};
    const char *src_pod[] = {"pod", "namespace"};
    config_relabel_t rules[] = {
        {src_name, 1, ";", "go_.*|process_.*", 0, "", "$1", CONFIG_RELABEL_DROP, 0},
        {src_inst, 1, ";", "(.*):\\d+", 0, "host", "$1", CONFIG_RELABEL_REPLACE, 0},
        {src_pod, 2, "/", "(.*)", 0, "pod_ns", "$1", CONFIG_RELABEL_REPLACE, 0},
        {NULL, 0, ";", "handler", 0, "", "$1", CONFIG_RELABEL_LABELDROP, 0},
    };
    labels_relabel_t *p = NULL;
    vg_err_t err;
    if (labels_relabel_compile(rules, 4, false, &p, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    BENCH("relabel 4 rules (drop, replace x2, labeldrop)", N / 4, {
        labels_builder_reset(bld, a);
        sink += labels_relabel_apply(p, bld);
    });
    BENCH("relabel 4 rules + labels()", N / 4, {
        labels_builder_reset(bld, a);
        sink += labels_relabel_apply(p, bld);
        labels_t *o = labels_builder_labels(bld);
        labels_free(o);
    });
    labels_relabel_free(p);
    const char *src_c[] = {"instance"};
    config_relabel_t hm = {src_c, 1, ";", "(.*)", 8, "shard", "$1", CONFIG_RELABEL_HASHMOD, 0};
    labels_relabel_compile(&hm, 1, false, &p, NULL);
    BENCH("relabel hashmod", N / 4, {
        labels_builder_reset(bld, a);
        sink += labels_relabel_apply(p, bld);
    });
    labels_relabel_free(p);
    labels_builder_free(bld);

    labels_symtab_t *t = labels_symtab_new();
    char s[32];
    long S = 1000000;
    uint32_t id;
    BENCH("symtab intern (new strings)", S, {
        int n = snprintf(s, sizeof s, "value-%ld", i_);
        labels_symtab_intern(t, s, (size_t)n, &id);
    });
    BENCH("symtab intern (existing strings)", S, {
        int n = snprintf(s, sizeof s, "value-%ld", i_);
        labels_symtab_intern(t, s, (size_t)n, &id);
    });
    BENCH("symtab get by id", S, sink += (uintptr_t)labels_symtab_get(t, (uint32_t)(i_ % S) + 1));
    labels_symtab_stats_t st;
    labels_symtab_stats(t, &st);
    printf("symtab: %zu strings, %zu string bytes, %zu bytes in all (%.1f per string)\n",
           st.n_strings, st.string_bytes, st.memory_bytes,
           (double)st.memory_bytes / (double)st.n_strings);
    labels_symtab_free(t);
    labels_free(a);
    labels_free(b);
    return 0;
}
