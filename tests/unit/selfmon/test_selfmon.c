/* The registry's output: families, labels, histograms, process metrics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "selfmon/selfmon.h"

static void test_families(void **state) {
    (void)state;
    selfmon_t *s = selfmon_new("/proc");
    const char *names[] = {"code", "handler"};
    selfmon_family_t *c = selfmon_counter(s, "req_total", "Requests.", 2, names);
    selfmon_family_t *g = selfmon_gauge(s, "temp", "Temperature.", 0, NULL);
    const double bounds[] = {0.1, 1};
    selfmon_family_t *h = selfmon_histogram(s, "lat_seconds", "Latency.", 1, names + 1, bounds, 2);
    selfmon_add(c, (const char *const[]){"200", "/b"}, 2);
    selfmon_add(c, (const char *const[]){"200", "/a"}, 1);
    selfmon_add(c, (const char *const[]){"200", "/b"}, 1);
    selfmon_set(g, NULL, -3.5);
    selfmon_observe(h, (const char *const[]){"/a"}, 0.05);
    selfmon_observe(h, (const char *const[]){"/a"}, 0.5);
    selfmon_observe(h, (const char *const[]){"/a"}, 5);
    assert_true(selfmon_value(c, (const char *const[]){"200", "/b"}) == 3);
    assert_true(selfmon_value(h, (const char *const[]){"/a"}) == 3);

    vg_buf_t out = VG_BUF_INIT;
    expfmt_writer_t w;
    expfmt_writer_init(&w, &out, EXPFMT_TEXT_004);
    selfmon_write(s, &w);
    expfmt_writer_finish(&w);
    assert_non_null(strstr(out.data, "# HELP req_total Requests.\n# TYPE req_total counter\n"
                                     "req_total{code=\"200\",handler=\"/a\"} 1\n"
                                     "req_total{code=\"200\",handler=\"/b\"} 3\n"));
    assert_non_null(strstr(out.data, "temp -3.5\n"));
    assert_non_null(strstr(out.data, "lat_seconds_bucket{handler=\"/a\",le=\"0.1\"} 1\n"
                                     "lat_seconds_bucket{handler=\"/a\",le=\"1\"} 2\n"
                                     "lat_seconds_bucket{handler=\"/a\",le=\"+Inf\"} 3\n"
                                     "lat_seconds_sum{handler=\"/a\"} 5.55\n"
                                     "lat_seconds_count{handler=\"/a\"} 3\n"));
    assert_non_null(strstr(out.data, "\nprocess_resident_memory_bytes "));
    assert_non_null(strstr(out.data, "\nprocess_start_time_seconds 1."));
    vg_buf_free(&out);
    selfmon_free(s);
}

static void test_missing_proc_is_harmless(void **state) {
    (void)state;
    selfmon_t *s = selfmon_new("/nonexistent");
    vg_buf_t out = VG_BUF_INIT;
    expfmt_writer_t w;
    expfmt_writer_init(&w, &out, EXPFMT_OPENMETRICS);
    selfmon_write(s, &w);
    expfmt_writer_finish(&w);
    assert_null(strstr(out.data, "process_cpu_seconds"));
    assert_non_null(strstr(out.data, "# EOF\n"));
    vg_buf_free(&out);
    selfmon_free(s);
}

static void test_workers(void **state) {
    (void)state;
    selfmon_t *s = selfmon_new("/proc");
    selfmon_worker_t *a = selfmon_worker_register(s, "http");
    selfmon_worker_register(s, "http");
    selfmon_worker_busy(a);
    selfmon_worker_idle(a);
    vg_buf_t out = VG_BUF_INIT;
    expfmt_writer_t w;
    expfmt_writer_init(&w, &out, EXPFMT_TEXT_004);
    selfmon_write(s, &w);
    assert_non_null(strstr(out.data, "vigil_threads{thread=\"http\"} 2\n"));
    assert_non_null(strstr(out.data, "vigil_thread_busy_seconds_total{thread=\"http\"} "));
    vg_buf_free(&out);
    selfmon_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_missing_proc_is_harmless),
        cmocka_unit_test(test_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
