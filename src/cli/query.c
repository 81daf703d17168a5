/* This file implements `vigil query`, the counterpart of `promtool query`:
 * instant and range queries, series and label names against any server
 * that speaks Prometheus's HTTP API, printed the way promtool prints them
 * (or the JSON of the answer's data with --format=json). */
#include "cli.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define MAX_MATCH 64
#define MAX_RESPONSE_BYTES (256u << 20)

typedef struct query_args {
    const char *cmd, *url, *expr;
    const char *time, *start, *end, *step, *format, *timeout;
    const char *match[MAX_MATCH];
    size_t n_match;
} query_args_t;

static void usage(FILE *out) {
    fprintf(out, "usage: vigil query <command> URL [<args>] [<flags>]\n"
                 "\n"
                 "Commands (as promtool query):\n"
                 "  instant URL EXPR [--time=T]                  an instant query\n"
                 "  range URL EXPR [--start=T] [--end=T] [--step=D]\n"
                 "                                               a range query\n"
                 "  series URL --match=SELECTOR... [--start --end]\n"
                 "                                               the series that match\n"
                 "  labels URL [--match=SELECTOR...] [--start --end]\n"
                 "                                               label names\n"
                 "\n"
                 "Flags:\n"
                 "  --format=promql|json   output format (default promql)\n"
                 "  --timeout=D            query timeout sent to the server\n"
                 "Times are Unix seconds or RFC 3339; durations like 15s or seconds.\n");
}

/* --name=value or --name value; returns 1 when taken, -1 on a bad one. */
static int take_flag(query_args_t *a, int argc, char **argv, int *i) {
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0) return 0;
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    const char *value = eq ? eq + 1 : NULL;
    static const char *const names[] = {"time",   "start",   "end",  "step",
                                        "format", "timeout", "match"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        if (strlen(names[k]) != n || strncmp(names[k], name, n) != 0) continue;
        if (!value) {
            if (*i + 1 >= argc) {
                fprintf(stderr, "vigil: error: expected argument for flag '--%s'\n", names[k]);
                return -1;
            }
            value = argv[++*i];
        }
        switch (k) {
        case 0: a->time = value; break;
        case 1: a->start = value; break;
        case 2: a->end = value; break;
        case 3: a->step = value; break;
        case 4: a->format = value; break;
        case 5: a->timeout = value; break;
        default:
            if (a->n_match == MAX_MATCH) {
                fprintf(stderr, "vigil: error: too many --match flags\n");
                return -1;
            }
            a->match[a->n_match++] = value;
        }
        return 1;
    }
    fprintf(stderr, "vigil: error: unknown long flag '--%.*s'\n", (int)n, name);
    return -1;
}

/* ------------------------------------------------------------- HTTP */

static size_t collect(char *p, size_t size, size_t n, void *ud) {
    vg_buf_t *b = ud;
    if (b->len + size * n > MAX_RESPONSE_BYTES) return 0;
    vg_buf_append(b, p, size * n);
    return size * n;
}

static void form_add(vg_buf_t *form, CURL *h, const char *name, const char *value) {
    if (!value) return;
    char *esc = curl_easy_escape(h, value, 0);
    vg_buf_printf(form, "%s%s=%s", form->len ? "&" : "", name, esc ? esc : "");
    curl_free(esc);
}

/* POSTs the form to URL + path; returns the parsed JSON "data" (owned by
 * the caller) or NULL after printing the server's error. */
static json_t *api_call(const char *url, const char *path, const char *form) {
    CURL *h = curl_easy_init();
    if (!h) return NULL;
    vg_buf_t full = VG_BUF_INIT, resp = VG_BUF_INIT;
    size_t ul = strlen(url);
    while (ul && url[ul - 1] == '/')
        ul--;
    vg_buf_append(&full, url, ul);
    vg_buf_puts(&full, path);
    curl_easy_setopt(h, CURLOPT_URL, full.data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "vigil/" VIGIL_VERSION);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    vg_buf_free(&full);
    json_t *data = NULL;
    if (cc != CURLE_OK) {
        fprintf(stderr, "query error: %s\n", curl_easy_strerror(cc));
        goto out;
    }
    json_error_t jerr;
    json_t *root = json_loadb(resp.data ? resp.data : "", resp.len, 0, &jerr);
    if (!root) {
        fprintf(stderr, "query error: server returned HTTP status %ld: %.200s\n", status,
                resp.data ? resp.data : "");
        goto out;
    }
    const char *st = json_string_value(json_object_get(root, "status"));
    if (!st || strcmp(st, "success") != 0) {
        const char *et = json_string_value(json_object_get(root, "errorType"));
        const char *em = json_string_value(json_object_get(root, "error"));
        fprintf(stderr, "query error: %s: %s\n", et ? et : "error", em ? em : "");
        json_decref(root);
        goto out;
    }
    json_t *w = json_object_get(root, "warnings");
    for (size_t i = 0; json_is_array(w) && i < json_array_size(w); i++)
        fprintf(stderr, "query warning: %s\n", json_string_value(json_array_get(w, i)));
    data = json_incref(json_object_get(root, "data"));
    json_decref(root);
out:
    vg_buf_free(&resp);
    return data;
}

/* ----------------------------------------------------------- printing */

/* {__name__="x", a="b"} printed as model.Metric does: name{a="b", ...}. */
static void print_metric(FILE *out, json_t *m) {
    const char *name = json_string_value(json_object_get(m, "__name__"));
    size_t n = json_object_size(m) - (name ? 1 : 0);
    const char **keys = vg_calloc(n + 1, sizeof *keys);
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(m, key, v) {
        if (strcmp(key, "__name__") != 0 && k < n) keys[k++] = key;
    }
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    if (name) fputs(name, out);
    if (k || !name) {
        fputc('{', out);
        for (size_t i = 0; i < k; i++) {
            vg_buf_t q = VG_BUF_INIT;
            const char *val = json_string_value(json_object_get(m, keys[i]));
            fprintf(out, "%s%s=\"", i ? ", " : "", keys[i]);
            for (const char *p = val ? val : ""; *p; p++) {
                if (*p == '"' || *p == '\\') fputc('\\', out);
                if (*p == '\n') {
                    fputs("\\n", out);
                    continue;
                }
                fputc(*p, out);
            }
            fputc('"', out);
            vg_buf_free(&q);
        }
        fputc('}', out);
    }
    free(keys);
}

/* [ts, "value"] as promtool prints a sample: "value @[ts]". */
static void print_point(FILE *out, json_t *p) {
    double ts = json_number_value(json_array_get(p, 0));
    const char *v = json_string_value(json_array_get(p, 1));
    char t[64];
    snprintf(t, sizeof t, "%.3f", ts);
    size_t n = strlen(t);
    while (n && t[n - 1] == '0')
        t[--n] = '\0';
    if (n && t[n - 1] == '.') t[--n] = '\0';
    fprintf(out, "%s @[%s]", v ? v : "", t);
}

static void print_value(FILE *out, json_t *data) {
    const char *type = json_string_value(json_object_get(data, "resultType"));
    json_t *res = json_object_get(data, "result");
    if (!type) return;
    if (strcmp(type, "scalar") == 0 || strcmp(type, "string") == 0) {
        if (type[1] == 'c') fputs("scalar: ", out);
        print_point(out, res);
        fputc('\n', out);
        return;
    }
    for (size_t i = 0; i < json_array_size(res); i++) {
        json_t *s = json_array_get(res, i);
        print_metric(out, json_object_get(s, "metric"));
        fputs(" =>", out);
        if (strcmp(type, "vector") == 0) {
            fputc(' ', out);
            print_point(out, json_object_get(s, "value"));
            fputc('\n', out);
        } else {
            json_t *vals = json_object_get(s, "values");
            fputc('\n', out);
            for (size_t k = 0; k < json_array_size(vals); k++) {
                print_point(out, json_array_get(vals, k));
                fputc('\n', out);
            }
        }
    }
}

/* ---------------------------------------------------------- commands */

static int run(query_args_t *a) {
    bool json = a->format && strcmp(a->format, "json") == 0;
    if (a->format && !json && strcmp(a->format, "promql") != 0) {
        fprintf(stderr, "vigil: error: --format must be promql or json\n");
        return 2;
    }
    CURL *h = curl_easy_init();
    vg_buf_t form = VG_BUF_INIT;
    const char *path;
    char now[32], start_def[32];
    double t = vg_time_now();
    snprintf(now, sizeof now, "%.3f", t);
    snprintf(start_def, sizeof start_def, "%.3f", t - 300);
    if (strcmp(a->cmd, "instant") == 0) {
        path = "/api/v1/query";
        form_add(&form, h, "query", a->expr);
        form_add(&form, h, "time", a->time ? a->time : now);
    } else if (strcmp(a->cmd, "range") == 0) {
        path = "/api/v1/query_range";
        form_add(&form, h, "query", a->expr);
        const char *end = a->end ? a->end : now;
        form_add(&form, h, "start", a->start ? a->start : start_def);
        form_add(&form, h, "end", end);
        /* promtool's default: about 100 points over the range. */
        char step[32];
        if (!a->step) {
            double s = a->start ? strtod(a->start, NULL) : t - 300;
            double e = a->end ? strtod(a->end, NULL) : t;
            double d = (e - s) / 100;
            snprintf(step, sizeof step, "%g", d >= 1 ? floor(d) : 1);
        }
        form_add(&form, h, "step", a->step ? a->step : step);
    } else if (strcmp(a->cmd, "series") == 0) {
        path = "/api/v1/series";
        if (!a->n_match) {
            fprintf(stderr, "vigil: error: required flag --match not provided\n");
            curl_easy_cleanup(h);
            vg_buf_free(&form);
            return 2;
        }
    } else {
        path = "/api/v1/labels";
    }
    if (strcmp(a->cmd, "series") == 0 || strcmp(a->cmd, "labels") == 0) {
        for (size_t i = 0; i < a->n_match; i++)
            form_add(&form, h, "match[]", a->match[i]);
        form_add(&form, h, "start", a->start);
        form_add(&form, h, "end", a->end);
    }
    form_add(&form, h, "timeout", a->timeout);
    curl_easy_cleanup(h);
    json_t *data = api_call(a->url, path, form.data ? form.data : "");
    vg_buf_free(&form);
    if (!data) return 1;
    if (json) {
        char *s = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%s\n", s ? s : "null");
        free(s);
    } else if (strcmp(a->cmd, "series") == 0) {
        for (size_t i = 0; i < json_array_size(data); i++) {
            /* promtool prints each label set in Go's map form. */
            json_t *m = json_array_get(data, i);
            print_metric(stdout, m);
            putchar('\n');
        }
    } else if (strcmp(a->cmd, "labels") == 0) {
        for (size_t i = 0; i < json_array_size(data); i++)
            printf("%s\n", json_string_value(json_array_get(data, i)));
    } else {
        print_value(stdout, data);
    }
    json_decref(data);
    return 0;
}

int cli_query(int argc, char **argv) {
    query_args_t a;
    memset(&a, 0, sizeof a);
    const char *pos[3] = {NULL, NULL, NULL};
    size_t n_pos = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        int rc = take_flag(&a, argc, argv, &i);
        if (rc < 0) return 2;
        if (rc == 1) continue;
        if (n_pos == 3) {
            fprintf(stderr, "vigil: error: unexpected %s, try --help\n", argv[i]);
            return 2;
        }
        pos[n_pos++] = argv[i];
    }
    if (n_pos < 2) {
        usage(stderr);
        return 2;
    }
    a.cmd = pos[0];
    a.url = pos[1];
    bool needs_expr = strcmp(a.cmd, "instant") == 0 || strcmp(a.cmd, "range") == 0;
    if (!needs_expr && strcmp(a.cmd, "series") != 0 && strcmp(a.cmd, "labels") != 0) {
        fprintf(stderr, "vigil: error: expected command but got \"%s\", try --help\n", a.cmd);
        return 2;
    }
    if (needs_expr != (n_pos == 3)) {
        fprintf(stderr, "vigil: error: %s\n",
                needs_expr ? "required argument 'expr' not provided" : "unexpected argument");
        return 2;
    }
    a.expr = pos[2];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = run(&a);
    curl_global_cleanup();
    return rc;
}
