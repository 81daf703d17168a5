/* This file implements routing on the resolved route tree: which routes an
 * alert's labels reach (with `continue`), the route keys and IDs that
 * aggregation groups are named by, and the labels an alert is grouped by —
 * Alertmanager's dispatch/route.go. */
#include <stdlib.h>
#include <string.h>

#include "alert/alert_int.h"

/* Depth-first as Route.Match: a node that matches hands the alert to its
 * children in order, stopping after the first match that does not
 * continue; when no child takes it, the node itself is the result. */
static size_t match(const alert_route_t *r, const labels_t *ls, const alert_route_t **out,
                    size_t cap, size_t n) {
    if (!alert_matchers_match(r->matchers, r->n_matchers, ls)) return n;
    size_t start = n;
    for (size_t i = 0; i < r->n_routes; i++) {
        size_t before = n;
        n = match(&r->routes[i], ls, out, cap, n);
        if (n > before && !r->routes[i].cont) break;
    }
    if (n == start) {
        if (n < cap) out[n] = r;
        n++;
    }
    return n;
}

size_t alert_route_match(const alert_route_t *root, const labels_t *ls, const alert_route_t **out,
                         size_t cap) {
    return root ? match(root, ls, out, cap, 0) : 0;
}

void alert_route_key(const alert_route_t *r, vg_buf_t *out) {
    if (r->parent) {
        alert_route_key(r->parent, out);
        vg_buf_putc(out, '/');
    }
    alert_matchers_format(r->matchers, r->n_matchers, out);
}

void alert_route_id(const alert_route_t *r, vg_buf_t *out) {
    if (r->parent) {
        alert_route_id(r->parent, out);
        vg_buf_putc(out, '/');
    }
    alert_matchers_format(r->matchers, r->n_matchers, out);
    if (r->parent) vg_buf_printf(out, "/%zu", (size_t)(r - r->parent->routes));
}

labels_t *alert_route_group_labels(const alert_route_t *r, const labels_t *ls) {
    if (r->group_by_all) return labels_dup(ls);
    labels_label_t *pairs = vg_malloc((r->n_group_by ? r->n_group_by : 1) * sizeof *pairs);
    size_t n = 0;
    for (size_t i = 0; i < r->n_group_by; i++) {
        size_t vl = 0;
        const char *v = labels_get(ls, r->group_by[i], strlen(r->group_by[i]), &vl);
        if (!v) continue;
        pairs[n++] = (labels_label_t){r->group_by[i], v, strlen(r->group_by[i]), vl};
    }
    labels_t *out = NULL;
    if (labels_from_pairs(pairs, n, &out, NULL) != VG_OK) out = labels_new_empty();
    free(pairs);
    return out;
}

/* model.LabelSet.String(): {a="b", c="d"}, sorted, values Go-quoted. */
void alert_route_group_key(const alert_route_t *r, const labels_t *group_labels, vg_buf_t *out) {
    alert_route_key(r, out);
    vg_buf_puts(out, ":{");
    size_t n = group_labels ? labels_len(group_labels) : 0;
    for (size_t i = 0; i < n; i++) {
        labels_label_t l = labels_at(group_labels, i);
        if (i) vg_buf_puts(out, ", ");
        vg_buf_append(out, l.name, l.name_len);
        vg_buf_putc(out, '=');
        labels_quote(out, l.value, l.value_len);
    }
    vg_buf_putc(out, '}');
}
