/* Arena budgets, buffers, durations and JSON escaping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static void test_arena_budget(void **state) {
    (void)state;
    vg_arena_t *a = vg_arena_new(10000);
    void *p = vg_arena_alloc(a, 9000);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 8, 0);
    memset(p, 1, 9000);
    assert_null(vg_arena_alloc(a, 2000)); /* over budget: refused, not a crash */
    assert_non_null(vg_arena_alloc(a, 500));
    assert_null(vg_arena_alloc(a, SIZE_MAX)); /* overflow */
    char *s = vg_arena_strndup(a, "hello world", 5);
    assert_string_equal(s, "hello");
    vg_arena_free(a);
    a = vg_arena_new(0);
    for (int i = 0; i < 10000; i++)
        assert_non_null(vg_arena_alloc(a, 100));
    assert_true(vg_arena_used(a) >= 1000000);
    vg_arena_free(a);
}

static void test_buffer(void **state) {
    (void)state;
    vg_buf_t b = VG_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        vg_buf_printf(&b, "%d,", i);
    assert_int_equal(strlen(b.data), b.len);
    assert_memory_equal(b.data, "0,1,2,", 6);
    vg_buf_reset(&b);
    vg_buf_put_json_escaped(&b, "a\"b\\c\nd\x01", 8);
    assert_string_equal(b.data, "a\\\"b\\\\c\\nd\\u0001");
    vg_buf_reset(&b); /* as Go's encoding/json: HTML characters, bad UTF-8, U+2028 */
    vg_buf_put_json_escaped(&b, "<a&b>\xff\xe2\x80\xa8\xc3\xa9", 11);
    assert_string_equal(b.data, "\\u003ca\\u0026b\\u003e\\ufffd\\u2028\xc3\xa9");
    char *s = vg_buf_detach(&b);
    assert_null(b.data);
    free(s);
}

static void test_durations(void **state) {
    (void)state;
    static const struct {
        const char *in;
        int64_t ms;
    } ok[] = {{"0", 0},           {"15s", 15000},      {"1m", 60000},
              {"1h30m", 5400000}, {"100ms", 100},      {"2d", 172800000},
              {"1w", 604800000},  {"1y", 31536000000}, {"1h0m0s", 3600000}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = -1;
        assert_int_equal(vg_duration_parse(ok[i].in, strlen(ok[i].in), &ms), VG_OK);
        assert_int_equal(ms, ok[i].ms);
    }
    static const char *const bad[] = {
        "", "abc", "1", "1.5s", "30m1h", "1s1s", "-1s", "1x", "99999999999999999999y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        assert_int_not_equal(vg_duration_parse(bad[i], strlen(bad[i]), &ms), VG_OK);
    }
    char out[32];
    vg_duration_format(5400000, out);
    assert_string_equal(out, "1h30m");
    vg_duration_format(0, out);
    assert_string_equal(out, "0s");
    vg_duration_format(8 * 86400000LL, out); /* weeks only when whole */
    assert_string_equal(out, "8d");
    vg_duration_format(14 * 86400000LL, out);
    assert_string_equal(out, "2w");
    vg_duration_format(366 * 86400000LL, out); /* years only when whole */
    assert_string_equal(out, "366d");
    vg_duration_format(730 * 86400000LL, out);
    assert_string_equal(out, "2y");
    vg_duration_format(15500, out);
    assert_string_equal(out, "15s500ms");
}

static void test_errors(void **state) {
    (void)state;
    vg_err_t err;
    assert_int_equal(vg_err_set(&err, VG_ERR_INPUT, "bad %s", "thing"), VG_ERR_INPUT);
    vg_err_prefix(&err, "%s:%d: ", "f.yml", 3);
    assert_string_equal(err.msg, "f.yml:3: bad thing");
    assert_int_equal(vg_err_set(NULL, VG_ERR_IO, "ignored"), VG_ERR_IO);
}

static void test_rfc3339(void **state) {
    (void)state;
    char out[32];
    vg_time_format_rfc3339(1710928800123LL, out);
    assert_string_equal(out, "2024-03-20T10:00:00.123Z");
}

static void test_go_time(void **state) {
    (void)state;
    char out[40];
    vg_time_format_go(INT64_C(1710928800123000000), out);
    assert_string_equal(out, "2024-03-20T10:00:00.123Z");
    vg_time_format_go(INT64_C(1710928800000000000), out);
    assert_string_equal(out, "2024-03-20T10:00:00Z");
    vg_time_format_go(INT64_C(1710928800000000001), out);
    assert_string_equal(out, "2024-03-20T10:00:00.000000001Z");
    vg_time_format_go(VG_TIME_GO_ZERO, out);
    assert_string_equal(out, "0001-01-01T00:00:00Z");
    int64_t ns;
    assert_int_equal(vg_time_parse_rfc3339("2024-03-20T10:00:00.123Z", 24, &ns), 0);
    assert_true(ns == INT64_C(1710928800123000000));
    assert_int_equal(vg_time_parse_rfc3339("2024-03-20T12:00:00.5+02:00", 27, &ns), 0);
    assert_true(ns == INT64_C(1710928800500000000));
    assert_int_equal(vg_time_parse_rfc3339("1970-01-01T00:00:00Z", 20, &ns), 0);
    assert_true(ns == 0);
    assert_int_equal(vg_time_parse_rfc3339("0001-01-01T00:00:00Z", 20, &ns), 0);
    assert_true(ns == VG_TIME_GO_ZERO);
    assert_int_equal(vg_time_parse_rfc3339("2024-02-30T00:00:00Z", 20, &ns), -1);
    assert_int_equal(vg_time_parse_rfc3339("2023-02-29T00:00:00Z", 20, &ns), -1);
    assert_int_equal(vg_time_parse_rfc3339("2024-03-20T10:00:00", 19, &ns), -1);
    assert_int_equal(vg_time_parse_rfc3339("2024-03-20T10:00:00.Z", 21, &ns), -1);
    assert_int_equal(vg_time_parse_rfc3339("2024-03-20 10:00:00Z", 20, &ns), -1);
    assert_int_equal(vg_time_parse_rfc3339("9999-03-20T10:00:00Z", 20, &ns), -1);
    /* Round trip at random instants. */
    for (int64_t t = INT64_C(-2000000000000000000); t < INT64_C(7000000000000000000);
         t += INT64_C(123456789012345678)) {
        size_t n = vg_time_format_go(t, out);
        assert_int_equal(vg_time_parse_rfc3339(out, n, &ns), 0);
        assert_true(ns == t);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_budget), cmocka_unit_test(test_buffer),
        cmocka_unit_test(test_durations),    cmocka_unit_test(test_errors),
        cmocka_unit_test(test_rfc3339),      cmocka_unit_test(test_go_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
