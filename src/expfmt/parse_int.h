/*
 * expfmt internals shared by the parser files (parse.c, parse_validate.c);
 * nothing outside src/expfmt includes this.
 */
#ifndef VG_EXPFMT_PARSE_INT_H
#define VG_EXPFMT_PARSE_INT_H

#include "expfmt.h"

/* The OpenMetrics validator that runs behind the parser when
 * EXPFMT_PARSE_VALIDATE is set. It sees every entry the grammar accepted
 * (EOF included, which closes the last family) and returns 0 or
 * VG_ERR_INPUT with err set to "line L: reason". */
struct expfmt_validator *expfmt_validator_new(void);
void expfmt_validator_reset(struct expfmt_validator *v);
void expfmt_validator_free(struct expfmt_validator *v);
int expfmt_validator_check(struct expfmt_validator *v, const expfmt_parser_t *p, int entry,
                           vg_err_t *err);

/* Parses an OpenMetrics/Go float literal (no hex, no '_'); 0 or -1. */
int expfmt_parse_float(const char *s, size_t n, double *out);

/* Number of UTF-8 code points in a valid UTF-8 string. */
size_t expfmt_utf8_count(const char *s, size_t n);

#endif
