/*
 * This file implements binary operators: scalar/scalar, vector/scalar and
 * vector/vector arithmetic and comparisons with vector matching, and the
 * set operators and, or, unless.
 */
#include "promql/eval_int.h"

int ev_binary(ev_t *ev, const promql_expr_t *e, ev_value_t *out) {
    (void)e;
    (void)out;
    return ev_errf(ev, "binary operators are not implemented yet");
}
