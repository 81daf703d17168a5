/* This file implements the text helpers Prometheus's and Alertmanager's
 * function tables share: Go regexps (unanchored, RE2 syntax on PCRE2, with
 * Go's $1 / ${name} replacement expansion), Unicode case mapping and title
 * casing, and Go's strings.TrimSpace. */
#include "template/template_int.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <locale.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

/* ------------------------------------------------------------- regex */

#define TPL_REGEX_MATCH_LIMIT 1000000u
#define TPL_REGEX_DEPTH_LIMIT 10000u

static pthread_once_t rx_once = PTHREAD_ONCE_INIT;
static pcre2_match_context *rx_ctx;

static void rx_init(void) {
    rx_ctx = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(rx_ctx, TPL_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(rx_ctx, TPL_REGEX_DEPTH_LIMIT);
}

static pcre2_code *rx_compile(template_call_t *c, const char *pat, size_t len, bool must) {
    int ec;
    PCRE2_SIZE eo;
    pthread_once(&rx_once, rx_init);
    uint32_t opts =
        PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, opts, &ec, &eo, NULL);
    if (!re) {
        PCRE2_UCHAR why[256];
        if (pcre2_get_error_message(ec, why, sizeof why) < 0)
            snprintf((char *)why, sizeof why, "invalid");
        /* Go's regexp/syntax words for the common mistakes */
        static const struct {
            int code;
            const char *go;
        } words[] = {
            {PCRE2_ERROR_MISSING_CLOSING_PARENTHESIS, "missing closing )"},
            {PCRE2_ERROR_UNMATCHED_CLOSING_PARENTHESIS, "unexpected )"},
            {PCRE2_ERROR_MISSING_SQUARE_BRACKET, "missing closing ]"},
            {PCRE2_ERROR_END_BACKSLASH, "trailing backslash at end of expression"},
            {PCRE2_ERROR_QUANTIFIER_INVALID, "missing argument to repetition operator"},
            {PCRE2_ERROR_CLASS_RANGE_ORDER, "invalid character class range"},
            {PCRE2_ERROR_QUANTIFIER_OUT_OF_ORDER, "invalid repeat count"},
        };
        for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
            if (words[k].code == ec) snprintf((char *)why, sizeof why, "%s", words[k].go);
        if (must)
            template_call_fail(c, "regexp: Compile(`%.*s`): error parsing regexp: %s: `%.*s`",
                               (int)len, pat, (const char *)why, (int)len, pat);
        else
            template_call_fail(c, "error parsing regexp: %s: `%.*s`", (const char *)why, (int)len,
                               pat);
        return NULL;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    return re;
}

int tpl_regex_match(template_call_t *c, const char *pat, size_t pat_len, const char *s, size_t len,
                    bool *out) {
    pcre2_code *re = rx_compile(c, pat, pat_len, false);
    if (!re) return VG_ERR;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, rx_ctx);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
        return template_call_fail(c, "regexp match of `%.*s` gave up (limit)", (int)pat_len, pat);
    *out = rc >= 0;
    return 0;
}

/* Go's Regexp.expand for one match: $name / ${name} / $$. */
static void expand(pcre2_code *re, vg_buf_t *out, const char *t, size_t tl, const char *s,
                   const PCRE2_SIZE *ov, int n_groups) {
    size_t i = 0;
    while (i < tl) {
        const char *d = memchr(t + i, '$', tl - i);
        if (!d) {
            vg_buf_append(out, t + i, tl - i);
            return;
        }
        size_t at = (size_t)(d - t);
        vg_buf_append(out, t + i, at - i);
        i = at + 1;
        if (i < tl && t[i] == '$') {
            vg_buf_putc(out, '$');
            i++;
            continue;
        }
        const char *name;
        size_t nl;
        bool brace = i < tl && t[i] == '{';
        if (brace) {
            size_t e = i + 1;
            while (e < tl && (isalnum((unsigned char)t[e]) || t[e] == '_'))
                e++;
            if (e >= tl || t[e] != '}' || e == i + 1) {
                /* malformed: Go writes the '$' literally */
                vg_buf_putc(out, '$');
                continue;
            }
            name = t + i + 1;
            nl = e - i - 1;
            i = e + 1;
        } else {
            size_t e = i;
            while (e < tl && (isalnum((unsigned char)t[e]) || t[e] == '_'))
                e++;
            if (e == i) {
                vg_buf_putc(out, '$');
                continue;
            }
            name = t + i;
            nl = e - i;
            i = e;
        }
        int g = -1;
        bool numeric = true;
        for (size_t k = 0; k < nl; k++)
            if (!isdigit((unsigned char)name[k])) numeric = false;
        if (numeric) {
            long v = 0;
            for (size_t k = 0; k < nl && v < 100000; k++)
                v = v * 10 + (name[k] - '0');
            g = (int)v;
        } else {
            char nm[128];
            if (nl < sizeof nm) {
                memcpy(nm, name, nl);
                nm[nl] = '\0';
                g = pcre2_substring_number_from_name(re, (PCRE2_SPTR)nm);
                if (g < 0) g = -1;
            }
        }
        if (g >= 0 && g < n_groups && ov[2 * g] != PCRE2_UNSET)
            vg_buf_append(out, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
    }
}

int tpl_regex_replace_all(template_call_t *c, const char *pat, size_t pat_len, const char *repl,
                          size_t repl_len, const char *s, size_t len, vg_buf_t *out) {
    pcre2_code *re = rx_compile(c, pat, pat_len, true);
    if (!re) return VG_ERR;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    /* Go's Regexp.replaceAll, step for step */
    size_t pos = 0, last = 0;
    int rc = 0;
    while (pos <= len) {
        int m = pcre2_match(re, (PCRE2_SPTR)s, len, pos, 0, md, rx_ctx);
        if (m == PCRE2_ERROR_NOMATCH) break;
        if (m < 0) {
            rc = template_call_fail(c, "regexp replace of `%.*s` gave up (limit)", (int)pat_len,
                                    pat);
            break;
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        vg_buf_append(out, s + last, ms > last ? ms - last : 0);
        /* no replacement for an empty match right after another match */
        if (me > last || ms == 0) expand(re, out, repl, repl_len, s, ov, m);
        last = me;
        size_t width = 0;
        if (pos < len) {
            width = 1;
            while (pos + width < len && ((unsigned char)s[pos + width] & 0xc0) == 0x80)
                width++;
        }
        if (pos + width > me)
            pos += width;
        else if (pos + 1 > me)
            pos++;
        else
            pos = me;
        if (width == 0 && pos > len) break;
        if (out->len > ((size_t)64 << 20)) {
            rc = template_call_fail(c, "reReplaceAll result too large");
            break;
        }
    }
    if (rc == 0) vg_buf_append(out, s + last, len - last);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc;
}

/* ------------------------------------------------------------- cases */

static pthread_once_t loc_once = PTHREAD_ONCE_INIT;
static locale_t utf8_loc;

static void loc_init(void) {
    utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (!utf8_loc) utf8_loc = newlocale(LC_CTYPE_MASK, "C", (locale_t)0);
}

static int dec(const char *s, size_t len, uint32_t *r) {
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[0];
    int n = c < 0x80             ? 1
            : (c & 0xe0) == 0xc0 ? 2
            : (c & 0xf0) == 0xe0 ? 3
            : (c & 0xf8) == 0xf0 ? 4
                                 : 0;
    if (n == 0 || (size_t)n > len) {
        *r = 0xfffd;
        return -1;
    }
    uint32_t v = n == 1 ? c : n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0xfu) : (c & 7u);
    for (int k = 1; k < n; k++) {
        if ((u[k] & 0xc0) != 0x80) {
            *r = 0xfffd;
            return -1;
        }
        v = (v << 6) | (u[k] & 0x3fu);
    }
    *r = v;
    return n;
}

static void enc(vg_buf_t *out, uint32_t r) {
    char b[4];
    if (r < 0x80) {
        vg_buf_putc(out, (char)r);
    } else if (r < 0x800) {
        b[0] = (char)(0xc0 | (r >> 6));
        b[1] = (char)(0x80 | (r & 0x3f));
        vg_buf_append(out, b, 2);
    } else if (r < 0x10000) {
        b[0] = (char)(0xe0 | (r >> 12));
        b[1] = (char)(0x80 | ((r >> 6) & 0x3f));
        b[2] = (char)(0x80 | (r & 0x3f));
        vg_buf_append(out, b, 3);
    } else {
        b[0] = (char)(0xf0 | (r >> 18));
        b[1] = (char)(0x80 | ((r >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((r >> 6) & 0x3f));
        b[3] = (char)(0x80 | (r & 0x3f));
        vg_buf_append(out, b, 4);
    }
}

/* Go's strings.ToUpper/ToLower: invalid bytes become U+FFFD. */
void tpl_case_map(vg_buf_t *out, const char *s, size_t len, bool upper) {
    pthread_once(&loc_once, loc_init);
    for (size_t i = 0; i < len;) {
        uint32_t r;
        int n = dec(s + i, len - i, &r);
        if (n < 0) {
            enc(out, 0xfffd);
            i++;
            continue;
        }
        if (r < 0x80)
            vg_buf_putc(out, (char)(upper ? toupper((int)r) : tolower((int)r)));
        else
            enc(out, (uint32_t)(upper ? towupper_l((wint_t)r, utf8_loc)
                                      : towlower_l((wint_t)r, utf8_loc)));
        i += (size_t)n;
    }
}

static bool word_rune(uint32_t r) {
    pthread_once(&loc_once, loc_init);
    if (r < 0x80) return isalnum((int)r) || r == '_';
    return iswalnum_l((wint_t)r, utf8_loc) != 0;
}

/* cases.Title for English: the first letter of each word upper-cased (and,
 * when lower_rest, the rest of the word lower-cased). A word is a run of
 * letters, digits and underscores, which is what Prometheus's output
 * shows ("foo_bar" -> "Foo_bar", "123abc" stays, "o'neil" -> "O'Neil"). */
void tpl_title(vg_buf_t *out, const char *s, size_t len, bool lower_rest) {
    pthread_once(&loc_once, loc_init);
    bool in_word = false;
    for (size_t i = 0; i < len;) {
        uint32_t r;
        int n = dec(s + i, len - i, &r);
        if (n < 0) {
            enc(out, 0xfffd);
            in_word = false;
            i++;
            continue;
        }
        if (word_rune(r)) {
            if (!in_word) {
                enc(out, r < 0x80 ? (uint32_t)toupper((int)r)
                                  : (uint32_t)towupper_l((wint_t)r, utf8_loc));
                in_word = true;
            } else if (lower_rest) {
                enc(out, r < 0x80 ? (uint32_t)tolower((int)r)
                                  : (uint32_t)towlower_l((wint_t)r, utf8_loc));
            } else {
                enc(out, r);
            }
        } else {
            /* x/text's title caser starts a new word after any other
             * character: "o'neil" gives "O'Neil", "x.y" gives "X.Y" */
            bool mid = false;
            enc(out, r);
            in_word = mid;
        }
        i += (size_t)n;
    }
}

static bool go_space(uint32_t r) {
    return r == ' ' || (r >= '\t' && r <= '\r') || r == 0x85 || r == 0xa0 || r == 0x1680 ||
           (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x202f ||
           r == 0x205f || r == 0x3000;
}

void tpl_trim_space(const char *s, size_t len, size_t *out_start, size_t *out_end) {
    size_t a = 0, b = len;
    while (a < b) {
        uint32_t r;
        int n = dec(s + a, b - a, &r);
        if (n < 0 || !go_space(r)) break;
        a += (size_t)n;
    }
    while (b > a) {
        size_t k = b - 1;
        while (k > a && ((unsigned char)s[k] & 0xc0) == 0x80)
            k--;
        uint32_t r;
        int n = dec(s + k, b - k, &r);
        if (n < 0 || (size_t)n != b - k || !go_space(r)) break;
        b = k;
    }
    *out_start = a;
    *out_end = b;
}
