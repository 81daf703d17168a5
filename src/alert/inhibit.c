/* This file implements inhibition rules: whether a target alert is muted
 * by one of the firing source alerts, with the `equal` semantics of
 * Alertmanager's inhibit package (absent labels count as ""). */
#include <string.h>

#include "alert/alert_int.h"

static bool equal_on(const alert_inhibit_rule_t *rule, const labels_t *a, const labels_t *b) {
    for (size_t i = 0; i < rule->n_equal; i++) {
        const char *name = rule->equal[i];
        size_t nl = strlen(name), al = 0, bl = 0;
        const char *av = labels_get(a, name, nl, &al), *bv = labels_get(b, name, nl, &bl);
        if (!av) av = "", al = 0;
        if (!bv) bv = "", bl = 0;
        if (al != bl || memcmp(av, bv, al) != 0) return false;
    }
    return true;
}

bool alert_inhibit_rule_targets(const alert_inhibit_rule_t *rule, const labels_t *target,
                                bool *two_sided) {
    if (!alert_matchers_match(rule->target_matchers, rule->n_target_matchers, target)) return false;
    *two_sided = alert_matchers_match(rule->source_matchers, rule->n_source_matchers, target);
    return true;
}

bool alert_inhibit_source_mutes(const alert_inhibit_rule_t *rule, const labels_t *source,
                                const labels_t *target, bool two_sided) {
    /* A target that also looks like a source must not be muted by sources
     * that also look like targets (itself among them). */
    if (two_sided && alert_matchers_match(rule->target_matchers, rule->n_target_matchers, source))
        return false;
    return equal_on(rule, source, target);
}

bool alert_inhibit_rule_mutes(const alert_inhibit_rule_t *rule, const labels_t *const *sources,
                              size_t n_sources, const labels_t *target, size_t *out_source) {
    bool two_sided;
    if (!alert_inhibit_rule_targets(rule, target, &two_sided)) return false;
    for (size_t i = 0; i < n_sources; i++) {
        const labels_t *s = sources[i];
        if (!alert_matchers_match(rule->source_matchers, rule->n_source_matchers, s)) continue;
        if (!alert_inhibit_source_mutes(rule, s, target, two_sided)) continue;
        if (out_source) *out_source = i;
        return true;
    }
    return false;
}

bool alert_inhibit_mutes(const alert_inhibit_rule_t *rules, size_t n_rules,
                         const labels_t *const *sources, size_t n_sources, const labels_t *target) {
    for (size_t i = 0; i < n_rules; i++)
        if (alert_inhibit_rule_mutes(&rules[i], sources, n_sources, target, NULL)) return true;
    return false;
}
