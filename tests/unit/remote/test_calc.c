/* The queue's arithmetic: back-off and Retry-After, moving rates,
 * Prometheus's desired-shards calculation, grouping a batch into
 * TimeSeries (checked by decoding the request again). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "remote/remote_int.h"

static void test_backoff(void **state) {
    (void)state;
    /* 30 ms doubling up to 5 s, the defaults */
    int64_t b = 30, seen[10];
    for (int i = 0; i < 10; i++) {
        int64_t sleep = remote_backoff_sleep(b, 0);
        seen[i] = sleep;
        b = remote_backoff_next(sleep, 5000);
    }
    int64_t want[10] = {30, 60, 120, 240, 480, 960, 1920, 3840, 5000, 5000};
    for (int i = 0; i < 10; i++)
        assert_int_equal(seen[i], want[i]);
    /* Retry-After wins over the back-off, and the next one doubles it */
    assert_int_equal(remote_backoff_sleep(30, 2000), 2000);
    assert_int_equal(remote_backoff_next(2000, 5000), 4000);
    /* a Retry-After in the past falls back to the back-off */
    assert_int_equal(remote_backoff_sleep(60, -1000), 60);
    assert_int_equal(remote_backoff_next(INT64_MAX / 2 + 1, 5000), 5000);
}

static void test_retry_after(void **state) {
    (void)state;
    assert_int_equal(remote_retry_after_ms(NULL, 0), 0);
    assert_int_equal(remote_retry_after_ms("", 0), 0);
    assert_int_equal(remote_retry_after_ms("7", 0), 7000);
    assert_int_equal(remote_retry_after_ms(" 3\r\n", 0), 3000);
    assert_int_equal(remote_retry_after_ms("-2", 0), -2000);
    assert_int_equal(remote_retry_after_ms("soon", 0), 0);
    assert_int_equal(remote_retry_after_ms("1.5", 0), 0);
    /* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
    int64_t now = 784111777LL * 1000 - 10500;
    assert_int_equal(remote_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now), 10000);
    assert_true(remote_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now + 60000) < 0);
}

static void test_ewma(void **state) {
    (void)state;
    remote_ewma_t e = {.weight = 0.2, .interval_s = 10};
    remote_ewma_tick(&e); /* nothing yet: stays uninitialised */
    assert_false(e.init);
    e.acc = 1000;
    remote_ewma_tick(&e);
    assert_true(fabs(e.rate - 100) < 1e-9);
    e.acc = 2000;
    remote_ewma_tick(&e); /* 100 + 0.2 * (200 - 100) */
    assert_true(fabs(e.rate - 120) < 1e-9);
    remote_ewma_tick(&e); /* 120 + 0.2 * (0 - 120) */
    assert_true(fabs(e.rate - 96) < 1e-9);
}

static void test_desired_shards(void **state) {
    (void)state;
    double raw;
    remote_shard_calc_t c = {.data_in_rate = 1000,
                             .data_out_rate = 1000,
                             .data_out_duration_rate = 0.5,
                             .highest_recv_s = 100,
                             .highest_sent_s = 100,
                             .n_shards = 1,
                             .min_shards = 1,
                             .max_shards = 50};
    /* 0.5 ms per sample, 1000/s in: half a shard -> stays at 1 */
    assert_int_equal(remote_desired_shards(&c, &raw), 1);
    assert_true(fabs(raw - 0.5) < 1e-9);
    /* 20000/s in at 0.5 ms each: 10 shards */
    c.data_in_rate = 20000;
    c.data_out_rate = 2000;
    c.data_out_duration_rate = 1.0;
    assert_int_equal(remote_desired_shards(&c, &raw), 10);
    /* within 30 % of the current number: no change */
    c.n_shards = 9;
    assert_int_equal(remote_desired_shards(&c, &raw), 9);
    /* a backlog adds 5 % of it per second: 60 s behind at 20000/s */
    c.n_shards = 10;
    c.highest_sent_s = 40;
    assert_int_equal(remote_desired_shards(&c, &raw), 40); /* 0.0005 * (20000 + 60000) */
    assert_true(fabs(raw - 40) < 1e-6);
    /* never more than max_shards */
    c.max_shards = 20;
    assert_int_equal(remote_desired_shards(&c, &raw), 20);
    /* no shrinking while more than 10 s behind */
    c.max_shards = 50;
    c.data_in_rate = 10;
    c.n_shards = 30;
    c.highest_sent_s = 80;
    assert_int_equal(remote_desired_shards(&c, &raw), 30);
    c.highest_sent_s = 100; /* caught up: shrink to min */
    assert_int_equal(remote_desired_shards(&c, &raw), 1);
    /* nothing sent yet: keep */
    c.data_out_rate = 0;
    assert_int_equal(remote_desired_shards(&c, &raw), 30);
    /* dropped samples lower the kept ratio */
    c = (remote_shard_calc_t){.data_in_rate = 4000,
                              .data_out_rate = 1000,
                              .data_dropped_rate = 1000,
                              .data_out_duration_rate = 2.0,
                              .n_shards = 1,
                              .min_shards = 1,
                              .max_shards = 50};
    assert_int_equal(remote_desired_shards(&c, &raw), 4); /* 0.002 * 4000 * 0.5 */
}

typedef struct got {
    vg_buf_t text;
} got_t;

static int on_series(void *ctx, const ingest_rw_series_t *s, vg_err_t *err) {
    (void)err;
    got_t *g = ctx;
    for (size_t i = 0; i < s->n_labels; i++)
        vg_buf_printf(&g->text, "%.*s=%.*s,", (int)s->labels[i].name_len, s->labels[i].name,
                      (int)s->labels[i].value_len, s->labels[i].value);
    ingest_rw_sample_iter_t it;
    ingest_rw_sample_t smp;
    ingest_rw_series_samples(s, &it);
    while (ingest_rw_sample_iter_next(&it, &smp))
        vg_buf_printf(&g->text, " %lld:%g", (long long)smp.timestamp_ms, smp.value);
    vg_buf_putc(&g->text, '\n');
    return 0;
}

static void test_batch_encode(void **state) {
    (void)state;
    labels_t *a = labels_from_strings("__name__", "up", "job", "a", NULL);
    labels_t *b = labels_from_strings("__name__", "up", "job", "b", NULL);
    labels_t *c = labels_from_strings("__name__", "x", NULL);
    remote_sample_t s[] = {{a, 1000, 1, 0}, {b, 1000, 0, 0}, {a, 2000, 2, 1},
                           {c, 500, 7, 1},  {b, 2000, 1, 2}, {a, 3000, 3, 2}};
    ingest_rw_writer_t w;
    ingest_rw_writer_init(&w);
    int64_t highest = remote_batch_encode(s, 6, &w);
    assert_int_equal(highest, 3000);
    vg_buf_t body = VG_BUF_INIT;
    ingest_rw_writer_finish(&w, &body);
    ingest_rw_decoder_t d;
    ingest_rw_decoder_init(&d, NULL, 0);
    got_t g = {VG_BUF_INIT};
    ingest_rw_handler_t h = {on_series, NULL, &g};
    ingest_rw_stats_t st;
    vg_err_t err = {0};
    assert_int_equal(ingest_rw_decoder_decode_body(&d, body.data, body.len, &h, &st, &err), VG_OK);
    assert_string_equal(g.text.data, "__name__=up,job=a, 1000:1 2000:2 3000:3\n"
                                     "__name__=up,job=b, 1000:0 2000:1\n"
                                     "__name__=x, 500:7\n");
    assert_int_equal(st.n_series, 3);
    assert_int_equal(st.n_samples, 6);
    vg_buf_free(&g.text);
    ingest_rw_decoder_free(&d);
    vg_buf_free(&body);
    ingest_rw_writer_free(&w);
    /* a big batch of many series keeps every sample, each series in order */
    enum { N = 5000, SERIES = 777 };
    labels_t *ls[SERIES];
    for (int i = 0; i < SERIES; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        ls[i] = labels_from_strings("__name__", "m", "i", v, NULL);
    }
    remote_sample_t *big = calloc(N, sizeof *big);
    for (int i = 0; i < N; i++)
        big[i] = (remote_sample_t){ls[(i * 5) % SERIES], i, i, 0};
    ingest_rw_writer_init(&w);
    remote_batch_encode(big, N, &w);
    assert_int_equal(w.n_series, SERIES);
    assert_int_equal(w.n_samples, N);
    ingest_rw_writer_free(&w);
    free(big);
    for (int i = 0; i < SERIES; i++)
        labels_free(ls[i]);
    labels_free(a);
    labels_free(b);
    labels_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff),      cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_ewma),         cmocka_unit_test(test_desired_shards),
        cmocka_unit_test(test_batch_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
