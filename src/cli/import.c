/* This file implements `vigil import FILE`: a backfill of an OpenMetrics
 * file (what `promtool tsdb create-blocks-from openmetrics` takes) or a
 * text 0.0.4 file, either straight into a stopped store (--storage.path)
 * or through a running server's /api/v1/import/prometheus (--url), sent in
 * chunks. The whole file is parsed first, so a malformed file stores
 * nothing and is reported with its line and column. */
#include "cli.h"
#include "cli_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/ingest.h"

#define CHUNK_BYTES (8u << 20)
#define MAX_EXTRA 64

typedef struct import_flags {
    labels_label_t extra[MAX_EXTRA];
    size_t n_extra;
    bool bad_extra;
} import_flags_t;

/* --extra-label=name=value, repeatable. */
static bool extra_flag(void *ud, const char *name, const char *value, bool negated) {
    import_flags_t *f = ud;
    if (strcmp(name, "extra-label") != 0 || negated || !value) return false;
    const char *eq = strchr(value, '=');
    if (!eq || eq == value || f->n_extra == MAX_EXTRA ||
        !labels_name_valid_legacy(value, (size_t)(eq - value))) {
        f->bad_extra = true;
        return true;
    }
    f->extra[f->n_extra++] = (labels_label_t){value, eq + 1, (size_t)(eq - value), strlen(eq + 1)};
    return true;
}

/* OpenMetrics when the file ends with "# EOF", as that format must. */
static expfmt_format_t detect_format(const char *data, size_t len) {
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
        len--;
    return len >= 5 && memcmp(data + len - 5, "# EOF", 5) == 0 ? EXPFMT_OPENMETRICS
                                                               : EXPFMT_TEXT_004;
}

static void print_result(const char *file, const char *where, const ingest_import_result_t *r,
                         double secs) {
    uint64_t skipped = r->out_of_order + r->duplicates + r->too_old + r->invalid;
    printf("imported %llu samples from %s into %s in %.2fs", (unsigned long long)r->samples, file,
           where, secs);
    if (skipped)
        printf("; skipped %llu (out of order %llu, duplicate %llu, too old %llu, invalid %llu)",
               (unsigned long long)skipped, (unsigned long long)r->out_of_order,
               (unsigned long long)r->duplicates, (unsigned long long)r->too_old,
               (unsigned long long)r->invalid);
    printf("\n");
}

/* ------------------------------------------------------- into a store */

static int import_store(const char *file, const char *storage, int64_t retention_ms,
                        const char *data, size_t len, const ingest_import_options_t *o) {
    vg_buf_t dir = VG_BUF_INIT;
    vg_buf_printf(&dir, "%s/tsdb", storage);
    vg_err_t err = {0};
    tsdb_options_t topts = {.dir = dir.data, .retention_ms = retention_ms};
    double t0 = vg_time_mono();
    tsdb_t *db = tsdb_open(&topts, &err);
    if (!db) {
        fprintf(stderr, "vigil: error: cannot open the store %s: %s\n", dir.data, err.msg);
        vg_buf_free(&dir);
        return 1;
    }
    ingest_import_result_t r;
    int rc = ingest_import(db, data, len, o, &r, &err);
    tsdb_close(db);
    if (rc != VG_OK) {
        fprintf(stderr, "vigil: error: %s: %s (%llu samples stored before it)\n", file, err.msg,
                (unsigned long long)r.samples);
        vg_buf_free(&dir);
        return 1;
    }
    print_result(file, dir.data, &r, vg_time_mono() - t0);
    vg_buf_free(&dir);
    return 0;
}

/* ------------------------------------------------------ through a server */

static size_t collect(char *p, size_t size, size_t n, void *ud) {
    vg_buf_append(ud, p, size * n);
    return size * n;
}

/* POSTs one chunk; adds its outcome to r. 0 or 1 (message printed). */
static int post_chunk(CURL *h, const char *url, const char *ctype, const vg_buf_t *chunk,
                      expfmt_format_t fmt, ingest_import_result_t *r) {
    size_t n_samples = 0;
    expfmt_parse_check(chunk->data, chunk->len, fmt, 0, &n_samples, NULL);
    vg_buf_t resp = VG_BUF_INIT;
    struct curl_slist *hdr = curl_slist_append(NULL, ctype);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, chunk->data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)chunk->len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    CURLcode cc = curl_easy_perform(h);
    curl_slist_free_all(hdr);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    int rc = 0;
    if (cc != CURLE_OK) {
        fprintf(stderr, "vigil: error: POST %s: %s\n", url, curl_easy_strerror(cc));
        rc = 1;
    } else if (status == 204) {
        r->samples += n_samples;
    } else if (status == 200) {
        json_t *j = json_loadb(resp.data ? resp.data : "", resp.len, 0, NULL);
        json_t *d = json_object_get(j, "data");
        r->samples += (uint64_t)json_integer_value(json_object_get(d, "samplesImported"));
        r->out_of_order += (uint64_t)json_integer_value(json_object_get(d, "outOfOrder"));
        r->duplicates += (uint64_t)json_integer_value(json_object_get(d, "duplicates"));
        r->too_old += (uint64_t)json_integer_value(json_object_get(d, "tooOld"));
        r->invalid += (uint64_t)json_integer_value(json_object_get(d, "invalid"));
        json_decref(j);
    } else {
        fprintf(stderr, "vigil: error: POST %s: %ld %.*s", url, status, (int)resp.len,
                resp.data ? resp.data : "");
        if (!resp.len || resp.data[resp.len - 1] != '\n') fputc('\n', stderr);
        rc = 1;
    }
    vg_buf_free(&resp);
    return rc;
}

static bool is_meta_line(const char *l, size_t n) {
    return (n >= 7 && memcmp(l, "# TYPE ", 7) == 0) || (n >= 7 && memcmp(l, "# HELP ", 7) == 0) ||
           (n >= 7 && memcmp(l, "# UNIT ", 7) == 0);
}

/* Sends the file in chunks that end at line boundaries. Each OpenMetrics
 * chunk ends with its own "# EOF" and starts with the metadata of the
 * family it continues, so every chunk is a valid exposition on its own. */
static int import_url(const char *file, const char *base, const char *data, size_t len,
                      const ingest_import_options_t *o) {
    vg_buf_t url = VG_BUF_INIT;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    vg_buf_printf(&url, "%.*s/api/v1/import/prometheus?timestamp=%lld", (int)bl, base,
                  (long long)o->default_ts_ms);
    for (size_t i = 0; i < o->n_extra; i++) {
        char *v = curl_easy_escape(NULL, o->extra[i].name, (int)o->extra[i].name_len);
        vg_buf_printf(&url, "&extra_label=%s", v);
        curl_free(v);
        v = curl_easy_escape(NULL, o->extra[i].value, (int)o->extra[i].value_len);
        vg_buf_printf(&url, "%%3D%s", v);
        curl_free(v);
    }
    const char *ctype = o->format == EXPFMT_OPENMETRICS
                            ? "Content-Type: application/openmetrics-text; version=1.0.0"
                            : "Content-Type: text/plain; version=0.0.4";
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    double t0 = vg_time_mono();
    ingest_import_result_t r = {0};
    vg_buf_t chunk = VG_BUF_INIT, meta = VG_BUF_INIT;
    bool last_was_meta = false;
    int rc = 0;
    size_t pos = 0;
    while (pos < len && rc == 0) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) + 1 : len;
        const char *line = data + pos;
        size_t ll = end - pos;
        pos = end;
        if (o->format == EXPFMT_OPENMETRICS && ll >= 5 && memcmp(line, "# EOF", 5) == 0) break;
        if (is_meta_line(line, ll)) {
            if (!last_was_meta) vg_buf_reset(&meta);
            vg_buf_append(&meta, line, ll);
            last_was_meta = true;
        } else {
            if (chunk.len == 0 && !last_was_meta && meta.len)
                vg_buf_append(&chunk, meta.data, meta.len);
            last_was_meta = false;
        }
        vg_buf_append(&chunk, line, ll);
        if (chunk.len >= CHUNK_BYTES && !last_was_meta) {
            if (o->format == EXPFMT_OPENMETRICS) vg_buf_puts(&chunk, "# EOF\n");
            rc = post_chunk(h, url.data, ctype, &chunk, o->format, &r);
            vg_buf_reset(&chunk);
        }
    }
    if (rc == 0 && chunk.len) {
        if (o->format == EXPFMT_OPENMETRICS) vg_buf_puts(&chunk, "# EOF\n");
        rc = post_chunk(h, url.data, ctype, &chunk, o->format, &r);
    }
    curl_easy_cleanup(h);
    curl_global_cleanup();
    if (rc == 0)
        print_result(file, base, &r, vg_time_mono() - t0);
    else
        fprintf(stderr, "vigil: %llu samples were stored before the failure\n",
                (unsigned long long)r.samples);
    vg_buf_free(&chunk);
    vg_buf_free(&meta);
    vg_buf_free(&url);
    return rc;
}

/* --------------------------------------------------------------- main */

int cli_import(int argc, char **argv) {
    const char *storage = NULL, *url = NULL;
    int64_t retention_ms = 0;
    import_flags_t xf = {0};
    const cli_flag_t flags[] = {
        {"storage.path", FLAG_STRING, &storage, "data directory of a stopped vigil"},
        {"storage.tsdb.path", FLAG_STRING, &storage, "the same, Prometheus's name"},
        {"url", FLAG_STRING, &url, "a running vigil (http://host:port) to import through"},
        {"storage.tsdb.retention.time", FLAG_DURATION, &retention_ms,
         "the store's retention (with --storage.path; default 30d): older samples are skipped"},
        {NULL, FLAG_STRING, NULL, NULL},
    };
    char *args[2];
    size_t n_args;
    int prc = cli_flags_parse(flags, argc, argv,
                              "vigil import (--storage.path=DIR | --url=URL) [--extra-label="
                              "name=value]... FILE",
                              extra_flag, &xf, args, 2, &n_args);
    if (prc) return prc == 1 ? 0 : 2;
    /* The store's progress lines are noise here; warnings still show. */
    vg_log_setup(VG_LOG_WARN, VG_LOG_LOGFMT, stderr);
    if (xf.bad_extra) {
        fprintf(stderr, "vigil: error: --extra-label wants name=value with a valid label name\n");
        return 2;
    }
    if (n_args != 1) {
        fprintf(stderr, "vigil: error: %s, try --help\n",
                n_args ? "unexpected argument" : "required argument 'FILE' not provided");
        return 2;
    }
    if (!storage == !url) {
        fprintf(stderr, "vigil: error: give exactly one of --storage.path and --url\n");
        return 2;
    }
    const char *file = args[0];
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "vigil: error: cannot open %s: %s\n", file, strerror(errno));
        if (fd >= 0) close(fd);
        return 1;
    }
    size_t len = (size_t)st.st_size;
    const char *data = "";
    void *map = NULL;
    if (len) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            fprintf(stderr, "vigil: error: cannot read %s: %s\n", file, strerror(errno));
            close(fd);
            return 1;
        }
        data = map;
    }
    close(fd);
    ingest_import_options_t o = {.format = detect_format(data, len),
                                 .extra = xf.extra,
                                 .n_extra = xf.n_extra,
                                 .default_ts_ms = vg_time_now_ms()};
    /* The whole file parses, or nothing is sent or stored. */
    vg_err_t err = {0};
    size_t n_samples = 0;
    int rc;
    if (expfmt_parse_check(data, len, o.format, 0, &n_samples, &err) != VG_OK) {
        fprintf(stderr, "vigil: error: %s: %s\n", file, err.msg);
        rc = 1;
    } else if (storage) {
        rc = import_store(file, storage, retention_ms, data, len, &o);
    } else {
        rc = import_url(file, url, data, len, &o);
    }
    if (map) munmap(map, len);
    return rc;
}
