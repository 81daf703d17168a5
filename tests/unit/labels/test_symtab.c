/* Unit tests for the string interning table (symtab.c): identity, ids,
 * reference counts and reuse, memory accounting, and many threads
 * interning and releasing at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels/labels.h"

static void test_intern_basic(void **state) {
    (void)state;
    labels_symtab_t *t = labels_symtab_new();
    uint32_t id1 = 0, id2 = 0, id3 = 0;
    const char *a = labels_symtab_intern(t, "job", 3, &id1);
    const char *b = labels_symtab_intern(t, "job", 3, &id2);
    const char *c = labels_symtab_intern(t, "jo", 2, &id3);
    assert_ptr_equal(a, b);
    assert_int_equal(id1, id2);
    assert_int_not_equal(id1, id3);
    assert_true(id1 > 0 && id3 > 0);
    assert_string_equal(a, "job");
    assert_int_equal(labels_symtab_strlen(a), 3);
    assert_ptr_equal(labels_symtab_get(t, id1), a);
    assert_null(labels_symtab_get(t, 0));
    assert_null(labels_symtab_get(t, 999999));
    uint32_t fid = 0;
    assert_ptr_equal(labels_symtab_find(t, "jo", 2, &fid), c);
    assert_int_equal(fid, id3);
    assert_null(labels_symtab_find(t, "nope", 4, &fid));
    /* Empty strings and embedded NULs are strings like any other. */
    uint32_t eid, nid;
    const char *e = labels_symtab_intern(t, "", 0, &eid);
    const char *nul = labels_symtab_intern(t, "a\0b", 3, &nid);
    assert_int_equal(labels_symtab_strlen(e), 0);
    assert_int_equal(labels_symtab_strlen(nul), 3);
    assert_memory_equal(nul, "a\0b", 4);

    labels_symtab_stats_t st;
    labels_symtab_stats(t, &st);
    assert_int_equal(st.n_strings, 4);
    assert_int_equal(st.string_bytes, 3 + 2 + 0 + 3);

    /* Two references on "job": the first release keeps it. */
    labels_symtab_release(t, id1);
    assert_ptr_equal(labels_symtab_get(t, id1), a);
    labels_symtab_release(t, id1);
    assert_null(labels_symtab_get(t, id1));
    assert_null(labels_symtab_find(t, "job", 3, NULL));
    labels_symtab_stats(t, &st);
    assert_int_equal(st.n_strings, 3);
    /* The id is reused. */
    uint32_t id4;
    labels_symtab_intern(t, "other", 5, &id4);
    assert_int_equal(id4, id1);
    labels_symtab_ref(t, id4);
    labels_symtab_release(t, id4);
    assert_non_null(labels_symtab_get(t, id4));
    labels_symtab_free(t);
}

/* Many strings: growth, removal with backward shift, lookups stay right. */
static void test_intern_many(void **state) {
    (void)state;
    labels_symtab_t *t = labels_symtab_new();
    enum { N = 200000 };
    uint32_t *ids = malloc(N * sizeof *ids);
    char s[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(s, sizeof s, "value-%d", i);
        labels_symtab_intern(t, s, (size_t)n, &ids[i]);
    }
    labels_symtab_stats_t st;
    labels_symtab_stats(t, &st);
    assert_int_equal(st.n_strings, N);
    print_message("symtab: %d strings of ~11 bytes in %zu bytes (%.1f per string)\n", N,
                  st.memory_bytes, (double)st.memory_bytes / N);
    /* Release every other one, then check all. */
    for (int i = 0; i < N; i += 2)
        labels_symtab_release(t, ids[i]);
    for (int i = 0; i < N; i++) {
        int n = snprintf(s, sizeof s, "value-%d", i);
        uint32_t id = 0;
        const char *p = labels_symtab_find(t, s, (size_t)n, &id);
        if (i % 2) {
            assert_non_null(p);
            assert_int_equal(id, ids[i]);
            assert_string_equal(labels_symtab_get(t, ids[i]), s);
        } else {
            assert_null(p);
        }
    }
    labels_symtab_stats(t, &st);
    assert_int_equal(st.n_strings, N / 2);
    free(ids);
    labels_symtab_free(t);
}

static void test_intern_labels(void **state) {
    (void)state;
    labels_symtab_t *t = labels_symtab_new();
    labels_t *ls = labels_from_strings("__name__", "up", "job", "api", "instance", "h:1", NULL);
    uint32_t ids[6];
    labels_symtab_intern_labels(t, ls, ids);
    labels_t *back = labels_symtab_labels(t, ids, 3);
    assert_true(labels_equal(ls, back));
    labels_free(back);
    labels_free(ls);
    labels_symtab_free(t);
}

typedef struct worker {
    labels_symtab_t *t;
    int seed;
    int errors;
} worker_t;

static void *work(void *arg) {
    worker_t *w = arg;
    char s[32];
    for (int round = 0; round < 20; round++) {
        uint32_t ids[2000];
        for (int i = 0; i < 2000; i++) {
            /* Half shared between threads, half private. */
            int n = i % 2 ? snprintf(s, sizeof s, "shared-%d", i)
                          : snprintf(s, sizeof s, "t%d-%d", w->seed, i);
            const char *p = labels_symtab_intern(w->t, s, (size_t)n, &ids[i]);
            if (strcmp(p, s) || labels_symtab_get(w->t, ids[i]) != p) w->errors++;
        }
        for (int i = 0; i < 2000; i++)
            labels_symtab_release(w->t, ids[i]);
    }
    return NULL;
}

static void test_threads(void **state) {
    (void)state;
    labels_symtab_t *t = labels_symtab_new();
    enum { T = 8 };
    pthread_t th[T];
    worker_t w[T];
    for (int i = 0; i < T; i++) {
        w[i] = (worker_t){t, i, 0};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].errors, 0);
    }
    labels_symtab_stats_t st;
    labels_symtab_stats(t, &st);
    assert_int_equal(st.n_strings, 0); /* every reference was released */
    labels_symtab_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intern_basic),
        cmocka_unit_test(test_intern_many),
        cmocka_unit_test(test_intern_labels),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
