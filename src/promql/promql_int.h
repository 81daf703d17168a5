/*
 * promql internals shared by the lexer, parser, checker and printer.
 */
#ifndef VG_PROMQL_INT_H
#define VG_PROMQL_INT_H

#include "promql/promql.h"

/* Token types. The groups (operators, aggregators, keywords) matter for
 * how a token is described in an "unexpected ..." message. */
typedef enum promql_tok {
    T_EOF = 0,
    T_ERROR,
    T_COMMENT,
    T_IDENTIFIER,
    T_METRIC_IDENTIFIER, /* an identifier with a ':' */
    T_NUMBER,
    T_DURATION,
    T_STRING,
    /* punctuation */
    T_LEFT_PAREN,
    T_RIGHT_PAREN,
    T_LEFT_BRACE,
    T_RIGHT_BRACE,
    T_LEFT_BRACKET,
    T_RIGHT_BRACKET,
    T_COMMA,
    T_EQL,   /* = */
    T_COLON, /* : */
    /* operators */
    T_OPS_START,
    T_ADD,
    T_DIV,
    T_EQLC,
    T_EQL_REGEX,
    T_GTE,
    T_GTR,
    T_TRIM_UPPER,
    T_TRIM_LOWER,
    T_LAND,
    T_LOR,
    T_LSS,
    T_LTE,
    T_LUNLESS,
    T_MOD,
    T_MUL,
    T_NEQ,
    T_NEQ_REGEX,
    T_POW,
    T_SUB,
    T_AT,
    T_ATAN2,
    T_OPS_END,
    /* aggregators */
    T_AGGS_START,
    T_AVG,
    T_BOTTOMK,
    T_COUNT,
    T_COUNT_VALUES,
    T_GROUP,
    T_MAX,
    T_MIN,
    T_QUANTILE,
    T_STDDEV,
    T_STDVAR,
    T_SUM,
    T_TOPK,
    T_LIMITK,
    T_LIMIT_RATIO,
    T_AGGS_END,
    /* keywords */
    T_KEYWORDS_START,
    T_BOOL,
    T_BY,
    T_GROUP_LEFT,
    T_GROUP_RIGHT,
    T_FILL,
    T_FILL_LEFT,
    T_FILL_RIGHT,
    T_IGNORING,
    T_OFFSET,
    T_SMOOTHED,
    T_ANCHORED,
    T_ON,
    T_WITHOUT,
    T_KEYWORDS_END,
    /* preprocessors: described by their text, not as keywords */
    T_START,
    T_END,
    T_STEP,
    T_RANGE,
    T_MAX_OF,
    T_MIN_OF,
} promql_tok_t;

typedef struct promql_token {
    promql_tok_t type;
    uint32_t pos; /* byte offset of the first byte */
    uint32_t len; /* bytes of text */
    /* For T_ERROR: the message (static or in the lexer's buffer). */
    const char *msg;
} promql_token_t;

typedef struct promql_lexer {
    const char *in;
    size_t len;
    size_t pos;   /* next byte to read */
    size_t start; /* start of the token being read */
    int paren_depth;
    bool brace_open;
    bool bracket_open;
    bool got_colon;
    bool got_duration;
    bool in_duration_expr; /* right after '[': the duration lexer */
    bool done;             /* EOF or an error was returned */
    char msg[192];         /* the message of an error token */
} promql_lexer_t;

void promql_lex_init(promql_lexer_t *l, const char *in, size_t len);
/* Scans the next token (comments included). After T_EOF or T_ERROR, keeps
 * returning T_EOF. */
void promql_lex_next(promql_lexer_t *l, promql_token_t *out);

/* How a token appears in "unexpected ..." messages (Prometheus's
 * Item.desc()), appended to out. text is the token's bytes. */
void promql_tok_desc(promql_tok_t t, const char *text, size_t len, vg_buf_t *out);
/* The keyword text of a token type ("sum", "offset", "+", "("). */
const char *promql_tok_str(promql_tok_t t);

/* Go's strconv.Unquote as Prometheus's strutil.Unquote does it, for a
 * lexed string token including its quotes. Writes into out (len bytes is
 * always enough) and returns the length, or -1 on a syntax error. */
long promql_unquote(const char *s, size_t len, char *out);

/* Go's %q of a rune ('a', '\n', '\x01', '\u00a0'), appended to out. */
void promql_quote_rune(int32_t r, vg_buf_t *out);

/* Decodes one UTF-8 rune at s (n > 0 bytes) as Go does: invalid input
 * gives 0xFFFD with *out_size 1. */
int32_t promql_utf8_decode(const char *s, size_t n, size_t *out_size);

/* Go's strconv.FormatFloat(v, 'f', -1, 64), appended to out. */
void promql_format_float_f(double v, vg_buf_t *out);

/* Prometheus's model.Duration formatting for ms (negative: "-" + ...). */
void promql_format_duration(int64_t ms, vg_buf_t *out);

#endif
