/* This file implements the queue's position file: how far into the WAL a
 * receiver has acknowledged, as a one-line JSON object
 * {"segment":N,"offset":M}, replaced atomically. */
#include "remote_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int remote_position_load(const char *path, tsdb_wal_pos_t *out) {
    char *data;
    size_t len;
    if (vg_file_read_all(path, 4096, &data, &len, NULL) != VG_OK) return VG_ERR_NOTFOUND;
    long long seg = -1, off = -1;
    int n = sscanf(data, " {\"segment\":%lld,\"offset\":%lld}", &seg, &off);
    free(data);
    if (n != 2 || seg < 0 || seg > INT32_MAX || off < 0) return VG_ERR_NOTFOUND;
    out->segment = seg;
    out->offset = off;
    return VG_OK;
}

int remote_position_save(const char *path, const tsdb_wal_pos_t *pos, vg_err_t *err) {
    char text[96];
    int n = snprintf(text, sizeof text, "{\"segment\":%" PRId64 ",\"offset\":%" PRId64 "}\n",
                     pos->segment, pos->offset);
    return vg_file_write_atomic(path, text, (size_t)n, err);
}
