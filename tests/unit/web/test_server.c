/* Listen addresses as Prometheus's flag takes them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "web/web.h"

static void test_listen_addresses(void **state) {
    (void)state;
    char host[64];
    unsigned port;
    assert_int_equal(web_parse_listen_address(":9090", host, sizeof host, &port, NULL), VG_OK);
    assert_string_equal(host, "");
    assert_int_equal(port, 9090);
    assert_int_equal(web_parse_listen_address("127.0.0.1:80", host, sizeof host, &port, NULL),
                     VG_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(web_parse_listen_address("[::1]:9090", host, sizeof host, &port, NULL), VG_OK);
    assert_string_equal(host, "::1");
    vg_err_t err;
    assert_int_not_equal(web_parse_listen_address("9090", host, sizeof host, &port, &err), VG_OK);
    assert_non_null(strstr(err.msg, "missing port"));
    assert_int_not_equal(web_parse_listen_address("x:99999", host, sizeof host, &port, NULL), 0);
    assert_int_not_equal(web_parse_listen_address("x:", host, sizeof host, &port, NULL), 0);
    assert_int_not_equal(web_parse_listen_address("[::1]9090", host, sizeof host, &port, NULL), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_listen_addresses)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
