/* Go's strconv.FormatFloat(v, 'g', -1, 64), which Prometheus prints. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static void check(double v, const char *want) {
    char got[VG_FLOAT_MAX_LEN];
    size_t n = vg_format_float(v, got);
    assert_string_equal(got, want);
    assert_int_equal(n, strlen(want));
}

static void test_go_layout(void **state) {
    (void)state;
    check(0, "0");
    check(-0.0, "-0");
    check(1, "1");
    check(-1, "-1");
    check(1.5, "1.5");
    check(0.1, "0.1");
    check(100, "100");
    check(123456, "123456");
    check(1e6, "1e+06");
    check(1234567, "1.234567e+06");
    check(1.7e9, "1.7e+09");
    check(0.0001, "0.0001");
    check(0.00001, "1e-05");
    check(1.5e-7, "1.5e-07");
    check(1e21, "1e+21");
    check(1e100, "1e+100");
    check(5e-324, "5e-324");
    check(1.7976931348623157e308, "1.7976931348623157e+308");
    check(0.1 + 0.2, "0.30000000000000004");
    check(NAN, "NaN");
    check(INFINITY, "+Inf");
    check(-INFINITY, "-Inf");
    check(0.005, "0.005");
    check(2.5, "2.5");
}

static void test_round_trips(void **state) {
    (void)state;
    srand(7);
    for (int i = 0; i < 100000; i++) {
        uint64_t bits = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v)) continue;
        char s[VG_FLOAT_MAX_LEN];
        vg_format_float(v, s);
        assert_true(strtod(s, NULL) == v);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_layout),
        cmocka_unit_test(test_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
