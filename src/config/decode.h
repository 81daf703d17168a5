/* Inside the config module only: the table-driven decoder. A cfg_type_t
 * lists the YAML keys a struct accepts, how each is decoded and where it is
 * stored; schema.c holds the tables for prometheus.yml, decode.c walks them. */
#ifndef VG_CONFIG_DECODE_H
#define VG_CONFIG_DECODE_H

#include "config/config_int.h"

typedef struct cfg_ctx {
    vg_arena_t *arena;
    const char *name; /* file name for messages */
    const char *dir;  /* base for relative paths; "" for none */
    vg_err_t *err;
    size_t visits_left;
    char **warnings;
    size_t n_warnings, cap_warnings;
    bool utf8_names; /* metric_name_validation_scheme: utf8 */
} cfg_ctx_t;

typedef enum cfg_fkind {
    CFG_F_STR = 0,  /* const char * */
    CFG_F_PATH,     /* const char *, joined with the file's directory */
    CFG_F_BOOL,     /* bool */
    CFG_F_DUR,      /* int64_t ms */
    CFG_F_UINT,     /* uint64_t, >= 0 */
    CFG_F_INT,      /* int64_t */
    CFG_F_FLOAT,    /* double */
    CFG_F_SIZE,     /* uint64_t bytes, units.Base2Bytes syntax */
    CFG_F_LABELS,   /* config_label_t *, size_t: validated label set, sorted */
    CFG_F_PAIRS,    /* config_pair_t *, size_t: map[string]string, file order */
    CFG_F_STRLIST,  /* const char **, size_t */
    CFG_F_PATHLIST, /* const char **, size_t, each joined with the directory */
    CFG_F_PARAMS,   /* config_param_t *, size_t: map[string][]string */
    CFG_F_SWITCHES, /* config_switch_t *, size_t: map[string]bool */
    CFG_F_STRUCT,   /* embedded struct of `type` */
    CFG_F_PSTRUCT,  /* const T *: allocated when present, NULL otherwise */
    CFG_F_LIST,     /* T *, size_t: sequence of `type` */
    CFG_F_INLINE,   /* `type`'s keys are accepted at this level */
    CFG_F_ANY,      /* accepted and ignored (features vigil does not use) */
    CFG_F_SD,       /* a discovery vigil cannot reach: size_t counter += items */
    CFG_F_CUSTOM,   /* `custom` decodes it */
} cfg_fkind_t;

struct cfg_type;
typedef int (*cfg_custom_fn)(cfg_ctx_t *ctx, const ytree_node_t *node, void *dst);

typedef struct cfg_field {
    const char *name;
    cfg_fkind_t kind;
    size_t off;
    const struct cfg_type *type;
    cfg_custom_fn custom;
    const char *null_item_msg; /* CFG_F_LIST: error for a null item */
} cfg_field_t;

typedef struct cfg_type {
    const char *go_name; /* for messages: "config.ScrapeConfig" */
    size_t size;
    const cfg_field_t *fields; /* ends with a {NULL} entry */
    void (*init)(void *obj);   /* defaults; NULL = all zero */
    /* Checks one decoded struct; `map` is its node (for positions). */
    int (*validate)(cfg_ctx_t *ctx, const ytree_node_t *map, void *obj);
} cfg_type_t;

/* Error at a node: "NAME:L:C: message". Returns VG_ERR_INPUT. */
int cfg_fail(cfg_ctx_t *ctx, const ytree_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Type error the way yaml.v2 words it. */
int cfg_type_error(cfg_ctx_t *ctx, const ytree_node_t *n, const char *go_type);
void cfg_warn(cfg_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Decodes `map` into obj (already initialised) and validates it. */
int cfg_decode_struct(cfg_ctx_t *ctx, const cfg_type_t *t, const ytree_node_t *map, void *obj);
/* Initialises obj with t's defaults. */
void cfg_init_struct(const cfg_type_t *t, void *obj);

/* Reads a scalar as a string for fields of Go type string (any scalar). */
int cfg_scalar_string(cfg_ctx_t *ctx, const ytree_node_t *n, const char **out);

char *cfg_strdup(cfg_ctx_t *ctx, const char *s);
void *cfg_zalloc(cfg_ctx_t *ctx, size_t n);

bool cfg_label_name_valid(const char *s, bool utf8);
bool cfg_utf8_valid(const char *s, size_t n);

#endif
