/*
 * Structures shared inside the template module: the lexer's tokens, the
 * parse tree, the set of named templates and the execution state. Nothing
 * outside src/template/ includes this header.
 */
#ifndef VG_TEMPLATE_INT_H
#define VG_TEMPLATE_INT_H

#include "template/template.h"

#include <setjmp.h>

/* Parse nesting bound (control structures, parentheses): deeper text is
 * refused, so the recursive parser and executor keep a bounded stack. */
#define TPL_MAX_PARSE_DEPTH 200

/* ----------------------------------------------------------------- tokens */

typedef enum tpl_tok {
    TK_ERROR,
    TK_EOF,
    TK_TEXT,
    TK_LEFT,  /* {{ */
    TK_RIGHT, /* }} */
    TK_COMMENT,
    TK_SPACE,
    TK_BOOL,
    TK_CHAR, /* a printable ASCII character: ',' and the like */
    TK_CHARCONST,
    TK_COMPLEX,
    TK_ASSIGN,  /* = */
    TK_DECLARE, /* := */
    TK_FIELD,   /* .Name */
    TK_IDENT,
    TK_LPAREN,
    TK_RPAREN,
    TK_NUMBER,
    TK_PIPE,
    TK_RAWSTRING,
    TK_STRING,
    TK_VARIABLE,
    TK_DOT,
    /* keywords: printed as <word> in errors */
    TK_KEYWORD,
    TK_BLOCK,
    TK_BREAK,
    TK_CONTINUE,
    TK_DEFINE,
    TK_ELSE,
    TK_END,
    TK_IF,
    TK_NIL,
    TK_RANGE,
    TK_TEMPLATE,
    TK_WITH,
} tpl_tok_t;

typedef struct tpl_token {
    tpl_tok_t typ;
    uint32_t pos;    /* byte offset in the file */
    uint32_t line;   /* 1-based */
    const char *val; /* into the file text, or a message for TK_ERROR */
    size_t len;
} tpl_token_t;

/* -------------------------------------------------------------- the tree */

typedef enum tpl_node_type {
    N_TEXT,
    N_ACTION,
    N_BOOL,
    N_CHAIN,
    N_COMMAND,
    N_DOT,
    N_FIELD,
    N_IDENT,
    N_IF,
    N_LIST,
    N_NIL,
    N_NUMBER,
    N_PIPE,
    N_RANGE,
    N_STRING,
    N_TEMPLATE,
    N_VARIABLE,
    N_WITH,
    N_COMMENT,
    N_BREAK,
    N_CONTINUE,
    N_ELSE, /* parser-only */
    N_END,  /* parser-only */
} tpl_node_type_t;

typedef struct tpl_node tpl_node_t;
typedef struct tpl_tree tpl_tree_t;

typedef struct tpl_nodes {
    size_t n, cap;
    tpl_node_t **items;
} tpl_nodes_t;

/* Identifiers of a field chain: ".A.B" is {"A","B"}; "$x.A" is {"$x","A"}. */
typedef struct tpl_idents {
    size_t n;
    const char **s;
    size_t *len;
} tpl_idents_t;

struct tpl_node {
    uint8_t type;
    uint32_t pos;
    uint32_t line;
    tpl_tree_t *tree; /* for error positions */
    union {
        struct {
            const char *s;
            size_t len;
        } text;           /* TEXT (raw bytes), STRING (unquoted value, quoted form below) */
        tpl_nodes_t list; /* LIST: nodes; COMMAND: args */
        struct {
            tpl_node_t *pipe;
        } action;
        struct {
            bool is_assign;
            size_t n_decl;
            tpl_node_t **decl; /* VARIABLE nodes */
            tpl_nodes_t cmds;
        } pipe;
        struct {
            tpl_node_t *pipe, *list, *else_list;
        } ctl; /* IF, RANGE, WITH */
        struct {
            const char *name;
            tpl_node_t *pipe; /* may be NULL */
        } tmpl;
        tpl_idents_t idents; /* FIELD, VARIABLE */
        struct {
            const char *name;
            const template_func_t *fn; /* resolved at parse time */
            bool builtin;
        } ident;
        struct {
            tpl_node_t *node;
            tpl_idents_t fields;
        } chain;
        bool b;
        struct {
            bool is_int, is_float, is_complex, is_uint;
            int64_t i;
            double f;
        } num;
    } u;
    /* STRING: the quoted source text, for error context; NUMBER: text. */
    const char *src;
    size_t src_len;
};

/* One parsed template: the text of the file it came from, its name and
 * its root list. */
struct tpl_tree {
    const char *name;
    const char *parse_name; /* the file's top-level name, for positions */
    const char *text;       /* the whole file */
    size_t text_len;
    tpl_node_t *root;
};

/* --------------------------------------------------------------- the set */

typedef struct tpl_entry {
    const char *name;
    tpl_tree_t *tree;
} tpl_entry_t;

struct template {
    template_options_t opts;
    vg_arena_t *arena; /* trees, names, texts: lives as long as the set */
    size_t n, cap;
    tpl_entry_t *entries;
};

/* Parses one file into trees (parse.c). On success *out_trees holds the
 * top-level tree followed by every define/block, allocated in t->arena. */
int tpl_parse_file(template_t *t, const char *text, size_t len, const char *name,
                   tpl_tree_t ***out_trees, size_t *out_n, vg_err_t *err);
/* Looks a function up in the set's tables, then in Go's builtins. */
const template_func_t *tpl_find_func(const template_t *t, const char *name, size_t len,
                                     bool *out_builtin);
tpl_tree_t *tpl_lookup(const template_t *t, const char *name);
/* Writes a node as Go's Node.String() does (error contexts). */
void tpl_node_string(const tpl_node_t *n, vg_buf_t *out);
/* True when a list has only white space and comments. */
bool tpl_tree_empty(const tpl_node_t *root);

/* ---------------------------------------------------------- execution */

typedef struct tpl_var {
    const char *name;
    template_value_t value;
} tpl_var_t;

struct template_call {
    const template_t *t;
    const template_env_t *env;
    vg_arena_t *arena;
    vg_buf_t *out;
    size_t out_start;
    vg_err_t *err;
    char msg[VG_ERR_MSG_MAX];        /* the failing function's message */
    bool msg_plain;                  /* an argument error: no "error calling" */
    const template_value_t *bad_arg; /* the argument a type check refused */
    bool failed;
    uint64_t steps;
    uint32_t depth;
    const tpl_tree_t *tree; /* the template executing */
    const tpl_node_t *node; /* the node being evaluated, for errors */
    tpl_var_t *vars;
    size_t n_vars, cap_vars;
    const template_value_t *top; /* the data, for nothing but reference */
    /* html mode: the context at the end of the last text written */
    int html_state;
    int html_pipe_end;      /* the action's pipeline ends in html (1) or urlquery (2) */
    jmp_buf *jmp;           /* execution errors unwind here */
    const char *stack_base; /* for the stack-depth bound */
};

/* Raises an execution error at the current node: formats Go's
 * "template: name:line:col: executing \"x\" at <node>: msg" and unwinds. */
_Noreturn void tpl_exec_fail(template_call_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Unwinds with the message already in c->err. */
_Noreturn void tpl_exec_unwind(template_call_t *c);

/* ---------------------------------------------------------------- fmt.c */

/* Go's fmt.Sprintf(format, args...), appended to out. */
int tpl_fmt_sprintf(template_call_t *c, vg_buf_t *out, const char *fmt, size_t fmt_len,
                    const template_value_t *args, size_t n_args);
/* Go's fmt.Sprint and fmt.Sprintln. */
int tpl_fmt_sprint(template_call_t *c, vg_buf_t *out, const template_value_t *args, size_t n_args,
                   bool ln);
/* strconv.FormatFloat(v, fmt, prec, 64) for fmt in e E f g G; prec -1 is
 * the shortest form. %v uses 'g' with -1. */
void tpl_fmt_float(vg_buf_t *out, double v, char fmt, int prec);
/* strconv.Quote. */
void tpl_fmt_quote(vg_buf_t *out, const char *s, size_t len, bool ascii_only);

/* ---------------------------------------------------------- timefmt.c */

/* time.Time.Format(layout) and time.Time.String(). */
void tpl_time_format(vg_buf_t *out, const template_value_t *t, const char *layout,
                     size_t layout_len);
void tpl_time_string(vg_buf_t *out, const template_value_t *t);
/* time.Duration.String(). */
void tpl_duration_string(vg_buf_t *out, int64_t ns);
/* Loads a zone from the system's zoneinfo ("Europe/Berlin", "UTC",
 * "Local") and gives the offset and abbreviation in effect at sec. */
int tpl_tz_lookup(template_call_t *c, const char *name, size_t len, int64_t sec,
                  int32_t *out_offset, const char **out_abbr);
extern const template_type_t tpl_type_time;
extern const template_type_t tpl_type_time_ptr;
extern const template_type_t tpl_type_duration;

/* ------------------------------------------------------------- html.c */

/* Go's template.HTMLEscapeString, JSEscapeString, url.QueryEscape. */
void tpl_html_escape(vg_buf_t *out, const char *s, size_t len);
void tpl_js_escape(vg_buf_t *out, const char *s, size_t len);
void tpl_url_query_escape(vg_buf_t *out, const char *s, size_t len);
/* html/template: scans literal text to track the context an action lands
 * in, and escapes an action's output for that context. */
int tpl_html_text(int state, const char *s, size_t len);
/* The same, writing the text html/template keeps (comments dropped). */
int tpl_html_write_text(int state, const char *s, size_t len, vg_buf_t *out);
void tpl_html_escape_value(template_call_t *c, int state, const template_value_t *v,
                           const char *printed, size_t printed_len, vg_buf_t *out);
int tpl_html_after_value(int state, const char *printed, size_t len);

/* ------------------------------------------------------------ regex */

/* Go's regexp.MatchString and Regexp.ReplaceAllString (RE2 syntax via
 * PCRE2; $1, ${name} expansion). */
int tpl_regex_match(template_call_t *c, const char *pat, size_t pat_len, const char *s, size_t len,
                    bool *out);
int tpl_regex_replace_all(template_call_t *c, const char *pat, size_t pat_len, const char *repl,
                          size_t repl_len, const char *s, size_t len, vg_buf_t *out);

/* Title casing as golang.org/x/text/cases.Title does for English. */
void tpl_title(vg_buf_t *out, const char *s, size_t len, bool lower_rest);
/* Go's strings.ToUpper / ToLower. */
void tpl_case_map(vg_buf_t *out, const char *s, size_t len, bool upper);
/* Go's strings.TrimSpace as a byte range. */
void tpl_trim_space(const char *s, size_t len, size_t *out_start, size_t *out_end);
/* common_templates.HumanizeDuration, shared by both tables. */
int tpl_fn_humanize_duration(template_call_t *c, const template_value_t *a, size_t n,
                             template_value_t *out);
int tpl_fn_to_upper(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out);
int tpl_fn_to_lower(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out);
int tpl_fn_match(template_call_t *c, const template_value_t *a, size_t n, template_value_t *out);
int tpl_fn_re_replace_all(template_call_t *c, const template_value_t *a, size_t n,
                          template_value_t *out);
int tpl_fn_safe_html(template_call_t *c, const template_value_t *a, size_t n,
                     template_value_t *out);
extern const template_type_t tpl_type_sample;

#endif
