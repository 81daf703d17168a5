/* This file implements the meminfo collector (/proc/meminfo as
 * node_memory_<Field>_bytes, keeping the kernel's camelCase) and the vmstat
 * collector (selected /proc/vmstat fields as node_vmstat_<field>). */
#include "host_int.h"

#include <string.h>

#define NAME_MAX_LEN 256

int host_meminfo_collect(host_scrape_t *s, vg_err_t *err) {
    char *data;
    int rc = host_read_proc(s->h, "meminfo", &data, NULL, err);
    if (rc != VG_OK) return rc;
    vg_buf_reset(&s->h->scratch);
    char *cur = data, *line;
    while ((line = host_next_line(&cur)) != NULL) {
        char *lc = line;
        char *key = host_next_field(&lc);
        if (!key) continue;
        char *val = host_next_field(&lc);
        char *unit = host_next_field(&lc);
        double v;
        if (!val || host_parse_double(val, &v) != VG_OK)
            return vg_err_set(err, VG_ERR_INPUT, "invalid value in meminfo: %s", line);
        if (host_next_field(&lc))
            return vg_err_set(err, VG_ERR_INPUT, "invalid line in meminfo: %s", key);
        size_t kl = strlen(key);
        if (kl < 2 || key[kl - 1] != ':')
            return vg_err_set(err, VG_ERR_INPUT, "invalid key in meminfo: %s", key);
        key[--kl] = '\0';

        /* "Active(anon)" becomes "Active_anon"; a unit (always kB) makes
         * the value bytes and adds "_bytes", as node_exporter does. */
        char name[NAME_MAX_LEN];
        size_t o = (size_t)snprintf(name, sizeof name, "node_memory_");
        const char *open = strchr(key, '('), *close = open ? strrchr(key, ')') : NULL;
        for (size_t i = 0; i < kl; i++) {
            const char *p = key + i;
            char c = *p;
            if (open && close > open && p == open)
                c = '_';
            else if (open && close > open && p == close)
                continue;
            if (o + 8 >= sizeof name) return vg_err_set(err, VG_ERR_INPUT, "meminfo key too long");
            name[o++] = c;
        }
        name[o] = '\0';
        if (!host_name_ok(name)) return vg_err_set(err, VG_ERR_INPUT, "invalid key in meminfo");
        if (unit) {
            v *= 1024;
            memcpy(name + o, "_bytes", 7);
            o += 6;
        }
        if (host_name_seen(&s->h->scratch, name)) continue;

        char help[NAME_MAX_LEN + 64];
        snprintf(help, sizeof help, "Memory information field %s.", name + strlen("node_memory_"));
        bool counter = o > 6 && strcmp(name + o - 6, "_total") == 0;
        host_fam_t f = {name, counter ? EXPFMT_COUNTER : EXPFMT_GAUGE, help, unit ? "bytes" : NULL};
        host_family(s, &f);
        expfmt_write_samplev(s->w, name, v, NULL);
    }
    return VG_OK;
}

int host_vmstat_collect(host_scrape_t *s, vg_err_t *err) {
    char *data;
    int rc = host_read_proc(s->h, "vmstat", &data, NULL, err);
    if (rc != VG_OK) return rc;
    vg_buf_reset(&s->h->scratch);
    char *cur = data, *line;
    while ((line = host_next_line(&cur)) != NULL) {
        char *lc = line;
        char *key = host_next_field(&lc);
        if (!key) continue;
        char *val = host_next_field(&lc);
        double v;
        if (!val || host_parse_double(val, &v) != VG_OK)
            return vg_err_set(err, VG_ERR_INPUT, "invalid line in vmstat: %s", key);
        /* An empty pattern matches every field, as an empty Go regexp does. */
        if (s->h->filters[HOST_F_VMSTAT_FIELDS].set &&
            !host_filter_match(s->h, HOST_F_VMSTAT_FIELDS, key))
            continue;
        if (!host_name_ok(key)) return vg_err_set(err, VG_ERR_INPUT, "invalid key in vmstat");
        char name[NAME_MAX_LEN], help[NAME_MAX_LEN + 64];
        if ((size_t)snprintf(name, sizeof name, "node_vmstat_%s", key) >= sizeof name)
            return vg_err_set(err, VG_ERR_INPUT, "vmstat key too long");
        if (host_name_seen(&s->h->scratch, name)) continue;
        snprintf(help, sizeof help, "/proc/vmstat information field %s.", key);
        /* node_exporter types these untyped. */
        host_fam_t f = {name, EXPFMT_UNTYPED, help, NULL};
        host_family(s, &f);
        expfmt_write_samplev(s->w, name, v, NULL);
    }
    return VG_OK;
}
