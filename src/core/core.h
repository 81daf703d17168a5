/*
 * core — the small pieces every other module stands on.
 *
 * What it does: error values with a formatted message, a heap wrapper that
 * aborts on out-of-memory (limits are checked before allocating, so running
 * out is a bug, not an input), a per-request arena with a byte budget, a
 * growable byte buffer, Go-compatible float formatting, Prometheus durations,
 * clocks, and vigil's own structured log.
 *
 * What it owns: the process-wide log settings (set once at start, before any
 * thread exists). Nothing else here holds state.
 *
 * Threads: every function is safe to call from any thread. An arena or a
 * buffer belongs to one thread at a time; the log serialises its writes.
 */
#ifndef VG_CORE_H
#define VG_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------------------------------------------------------- errors */

/* Result codes: 0 is success, a negative value is a failure. */
#define VG_OK 0
#define VG_ERR (-1)       /* generic failure */
#define VG_ERR_INPUT (-2) /* the input is malformed */
#define VG_ERR_LIMIT (-3) /* the input is over a configured limit */
#define VG_ERR_IO (-4)    /* a file or socket operation failed */
#define VG_ERR_NOTFOUND (-5)

#define VG_ERR_MSG_MAX 512

/* An error carries its code and a message for a human. Callers that do not
 * care about the reason pass NULL wherever a vg_err_t * is taken. */
typedef struct vg_err {
    int code;
    char msg[VG_ERR_MSG_MAX];
} vg_err_t;

/* Sets code and message (printf-style) on err if err is not NULL; returns
 * code so that callers can write `return vg_err_set(err, ...)`. */
int vg_err_set(vg_err_t *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with printf-style context ("file.yml: "). */
void vg_err_prefix(vg_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ heap */

/* These never return NULL: on out-of-memory they log and abort. */
void *vg_malloc(size_t n);
void *vg_calloc(size_t count, size_t size);
void *vg_realloc(void *p, size_t n);
char *vg_strdup(const char *s);
char *vg_strndup(const char *s, size_t n);

/* ----------------------------------------------------------------- arena */

/* A one-way allocator for the memory of one request or one query: every
 * allocation is freed at once by vg_arena_free. A budget (bytes, 0 for none)
 * bounds the total; an allocation beyond it returns NULL and the caller ends
 * the request with a clear error. */
typedef struct vg_arena vg_arena_t;

vg_arena_t *vg_arena_new(size_t budget);
/* Returns 8-byte-aligned memory owned by the arena, or NULL over budget. */
void *vg_arena_alloc(vg_arena_t *a, size_t n);
/* Copies n bytes and a terminating NUL into the arena; NULL over budget. */
char *vg_arena_strndup(vg_arena_t *a, const char *s, size_t n);
/* Bytes handed out so far. */
size_t vg_arena_used(const vg_arena_t *a);
void vg_arena_free(vg_arena_t *a);

/* ---------------------------------------------------------------- buffer */

/* A growable byte string, always NUL-terminated when data is not NULL. The
 * buffer owns data; vg_buf_detach hands it to the caller. Zero-initialised
 * (VG_BUF_INIT) is an empty buffer. */
typedef struct vg_buf {
    char *data;
    size_t len;
    size_t cap;
} vg_buf_t;

#define VG_BUF_INIT                                                                                \
    { NULL, 0, 0 }

void vg_buf_reserve(vg_buf_t *b, size_t extra);
void vg_buf_append(vg_buf_t *b, const void *p, size_t n);
void vg_buf_puts(vg_buf_t *b, const char *s);
void vg_buf_putc(vg_buf_t *b, char c);
void vg_buf_printf(vg_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vg_buf_vprintf(vg_buf_t *b, const char *fmt, va_list ap);
/* Appends v in Go's shortest round-trip form (see vg_format_float). */
void vg_buf_put_float(vg_buf_t *b, double v);
/* Appends s as the body of a JSON string (no surrounding quotes), escaped
 * as Go's encoding/json escapes it, which Prometheus's and Alertmanager's
 * APIs use: <, > and & as \u003c…, U+2028/U+2029 escaped, invalid UTF-8 as
 * \ufffd, \b and \f short (Go 1.22+). */
void vg_buf_put_json_escaped(vg_buf_t *b, const char *s, size_t n);
void vg_buf_reset(vg_buf_t *b);
/* Returns data (the caller frees it) and leaves b empty. Never NULL. */
char *vg_buf_detach(vg_buf_t *b);
void vg_buf_free(vg_buf_t *b);

/* ---------------------------------------------------------------- floats */

#define VG_FLOAT_MAX_LEN 32

/* Writes v the way Go's strconv.FormatFloat(v, 'g', -1, 64) does, which is
 * what Prometheus and its client libraries print: the shortest digits that
 * read back to the same double, exponent form when the exponent is < -4 or
 * >= 21 ("1e+21", "1e-05"), and "NaN", "+Inf", "-Inf". Returns the length;
 * out must hold VG_FLOAT_MAX_LEN bytes. */
size_t vg_format_float(double v, char *out);

/* The same digits in strconv.FormatFloat(v, fmt, -1, 64)'s layout for fmt
 * 'g', 'f' (fixed: "1000000", "0.0000001") or 'e' ("1e-07"). Returns the
 * length; the output is cut to out_len - 1 bytes (fixed notation of 1e308
 * needs 310). */
size_t vg_format_float_as(double v, char fmt, char *out, size_t out_len);

/* ----------------------------------------------------------------- time */

/* Wall clock in seconds and in milliseconds since the Unix epoch. */
double vg_time_now(void);
int64_t vg_time_now_ms(void);
/* Wall-clock nanoseconds since the epoch (Go's time.Now().UnixNano()). */
int64_t vg_time_now_ns(void);
/* Monotonic clock in seconds, for measuring durations. */
double vg_time_mono(void);

/* Parses a Prometheus duration ("1h30m", "15s", "100ms", "2d", "1w", "1y";
 * units ordered from largest to smallest, each at most once) into
 * milliseconds. "0" alone is allowed. Returns 0 or VG_ERR_INPUT. */
int vg_duration_parse(const char *s, size_t len, int64_t *out_ms);
/* Writes ms the way Prometheus prints a model.Duration ("1h30m", "15s",
 * "0s"). out must hold 32 bytes. */
void vg_duration_format(int64_t ms, char *out);

/* Writes t (ms since epoch) as RFC 3339 UTC with milliseconds
 * ("2024-03-20T10:00:00.123Z"). out must hold 32 bytes. */
void vg_time_format_rfc3339(int64_t ms, char *out);

/* Writes t (ns since the epoch, UTC) as Go's time.Time prints in JSON and
 * RFC3339Nano: "2024-03-20T10:00:00.12Z", fraction digits only when not
 * zero, trailing zeros trimmed. VG_TIME_GO_ZERO (Go's zero time, year 1)
 * prints "0001-01-01T00:00:00Z". out must hold 40 bytes; returns the
 * length. */
#define VG_TIME_GO_ZERO INT64_MIN
size_t vg_time_format_go(int64_t ns, char *out);
/* Parses RFC 3339 ("2006-01-02T15:04:05.999999999Z07:00", fraction and
 * zone as Go's time.Parse(RFC3339) takes them) into ns since the epoch.
 * "0001-01-01T00:00:00Z" gives VG_TIME_GO_ZERO. Returns 0 or -1 (malformed,
 * or outside the years 1678-2261 that int64 nanoseconds hold). */
int vg_time_parse_rfc3339(const char *s, size_t len, int64_t *out_ns);

/* ------------------------------------------------------------------ log */

typedef enum vg_log_level {
    VG_LOG_DEBUG = 0,
    VG_LOG_INFO = 1,
    VG_LOG_WARN = 2,
    VG_LOG_ERROR = 3,
} vg_log_level_t;

typedef enum vg_log_format {
    VG_LOG_LOGFMT = 0,
    VG_LOG_JSON = 1,
} vg_log_format_t;

/* Sets where and how vigil logs. Call once, before other threads start.
 * Defaults: info, logfmt, stderr. */
void vg_log_setup(vg_log_level_t level, vg_log_format_t format, FILE *out);
/* Parses "debug|info|warn|error" and "logfmt|json"; 0 or VG_ERR_INPUT. */
int vg_log_level_parse(const char *s, vg_log_level_t *out);
int vg_log_format_parse(const char *s, vg_log_format_t *out);
bool vg_log_enabled(vg_log_level_t level);

/* Writes one record: message plus key/value string pairs ending with NULL,
 * e.g. vg_log(VG_LOG_INFO, "Listening", "address", addr, NULL).
 * JSON: {"timestamp":"…","level":"info","service":"vigil","message":"…",
 * "address":"…"}; logfmt: ts=… level=info service=vigil msg=… address=…  */
void vg_log(vg_log_level_t level, const char *msg, ...);

#define vg_log_debug(...) vg_log(VG_LOG_DEBUG, __VA_ARGS__)
#define vg_log_info(...) vg_log(VG_LOG_INFO, __VA_ARGS__)
#define vg_log_warn(...) vg_log(VG_LOG_WARN, __VA_ARGS__)
#define vg_log_error(...) vg_log(VG_LOG_ERROR, __VA_ARGS__)

/* ---------------------------------------------------------------- files */

/* Reads a whole file into a NUL-terminated heap buffer (caller frees) after
 * checking its size against max_len. Returns 0, VG_ERR_IO or VG_ERR_LIMIT. */
int vg_file_read_all(const char *path, size_t max_len, char **out_data, size_t *out_len,
                     vg_err_t *err);

/* Durable file I/O. Storage code writes only through these, so tests can
 * inject faults in one place: a failed or short (torn) write, ENOSPC, a
 * failed fsync. They retry on EINTR and report errors with the path. */
int vg_fd_write_all(int fd, const void *p, size_t n, const char *path, vg_err_t *err);
int vg_fd_pwrite_all(int fd, const void *p, size_t n, int64_t off, const char *path, vg_err_t *err);
int vg_fd_fsync(int fd, const char *path, vg_err_t *err);
int vg_fd_truncate(int fd, int64_t len, const char *path, vg_err_t *err);
/* fsyncs a directory, so that a rename or a new file in it is durable. */
int vg_dir_fsync(const char *dir, vg_err_t *err);
/* Writes data to path atomically: a temporary file, fsync, rename, fsync
 * of the directory. */
int vg_file_write_atomic(const char *path, const void *data, size_t n, vg_err_t *err);
/* Creates a directory and its parents (mode 0755); an existing one is fine. */
int vg_mkdir_all(const char *path, vg_err_t *err);
/* Removes a file or a directory tree; a missing one is fine. */
int vg_remove_all(const char *path, vg_err_t *err);

/* Fault injection for tests. After `countdown` more calls of the kind,
 * the call fails with errno_value (0: a torn write that writes only half
 * and then fails with EIO). Also read from the environment variable
 * VIGIL_FAULT="write:<countdown>:<errno>" once at start-up by the server, so
 * integration tests can drive the real binary into a full disk. */
typedef enum vg_fault_kind { VG_FAULT_WRITE = 0, VG_FAULT_FSYNC = 1 } vg_fault_kind_t;
void vg_fault_set(vg_fault_kind_t kind, long countdown, int errno_value);
void vg_fault_clear(void);
int vg_fault_from_env(void);

#endif
