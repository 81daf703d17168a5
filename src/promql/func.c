/*
 * This file implements PromQL's functions.
 */
#include "promql/eval_int.h"

int ev_call(ev_t *ev, const promql_expr_t *e, ev_value_t *out) {
    (void)e;
    (void)out;
    return ev_errf(ev, "functions are not implemented yet");
}
