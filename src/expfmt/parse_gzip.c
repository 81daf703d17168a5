/* This file implements the gzip inflater for scrape and push bodies
 * (Content-Encoding: gzip). The output limit is enforced while inflating,
 * chunk by chunk, so a small bomb never gets to allocate its full size. */
#include "expfmt.h"

#include <zlib.h>

int expfmt_gzip_inflate(const void *in, size_t in_len, size_t max_out, vg_buf_t *out,
                        vg_err_t *err) {
    z_stream zs = {0};
    /* 16 + MAX_WBITS: gzip wrapper only. */
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return vg_err_set(err, VG_ERR, "gzip: cannot initialise zlib");
    const unsigned char *src = in;
    size_t src_left = in_len, produced = 0, start_len = out->len;
    int rc = VG_OK;
    for (;;) {
        if (zs.avail_in == 0 && src_left > 0) {
            uInt take = src_left > (1u << 30) ? (1u << 30) : (uInt)src_left;
            zs.next_in = (Bytef *)src;
            zs.avail_in = take;
            src += take;
            src_left -= take;
        }
        /* Grow by at most what the limit still allows (plus one byte, to
         * notice output beyond the limit). */
        size_t room = max_out - produced;
        size_t chunk = room < 65536 ? room + 1 : 65536;
        vg_buf_reserve(out, chunk);
        zs.next_out = (Bytef *)(out->data + out->len);
        zs.avail_out = (uInt)chunk;
        int zr = inflate(&zs, Z_NO_FLUSH);
        size_t got = chunk - zs.avail_out;
        out->len += got;
        produced += got;
        if (produced > max_out) {
            rc = vg_err_set(err, VG_ERR_LIMIT, "gzip: body inflates to more than %zu bytes",
                            max_out);
            break;
        }
        if (zr == Z_STREAM_END) {
            /* Concatenated members are one body (RFC 1952); skip trailing
             * zero padding, which some writers leave. */
            while (zs.avail_in > 0 && *zs.next_in == 0)
                zs.next_in++, zs.avail_in--;
            if (zs.avail_in == 0 && src_left == 0) break;
            if (inflateReset(&zs) != Z_OK) {
                rc = vg_err_set(err, VG_ERR_INPUT, "gzip: corrupt stream");
                break;
            }
            continue;
        }
        if (zr == Z_BUF_ERROR && zs.avail_in == 0 && src_left == 0) {
            rc = vg_err_set(err, VG_ERR_INPUT, "gzip: truncated stream");
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = vg_err_set(err, VG_ERR_INPUT, "gzip: corrupt stream (%s)",
                            zs.msg ? zs.msg : "inflate failed");
            break;
        }
    }
    inflateEnd(&zs);
    if (rc != VG_OK) {
        out->len = start_len;
        if (out->data) out->data[out->len] = '\0';
    } else if (out->data) {
        out->data[out->len] = '\0';
    }
    return rc;
}
