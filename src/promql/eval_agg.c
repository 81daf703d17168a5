/*
 * This file implements the aggregation operators.
 */
#include "promql/eval_int.h"

int ev_aggregate(ev_t *ev, const promql_expr_t *e, ev_value_t *out) {
    (void)e;
    (void)out;
    return ev_errf(ev, "aggregations are not implemented yet");
}
