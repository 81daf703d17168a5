/*
 * This file implements the bits of Unicode the labels module needs to act
 * like Go: decoding UTF-8 the way utf8.DecodeRune does (one byte consumed
 * per invalid sequence), unicode.IsPrint for strconv.Quote, letter/digit
 * tests for regexp.Expand's group names, and strings.ToLower/ToUpper.
 *
 * Character classes come from PCRE2's Unicode tables and case mapping from
 * glibc's C.UTF-8 locale, so vigil needs no tables of its own; both are
 * only consulted for non-ASCII runes, which keeps the common case cheap.
 * Their Unicode versions may lag Go's by a release.
 */
#include <locale.h>
#include <pthread.h>
#include <string.h>
#include <wctype.h>

#include "labels/labels_int.h"

uint32_t lbl_utf8_decode(const unsigned char *s, size_t len, size_t *out_width) {
    unsigned c = s[0];
    *out_width = 1;
    if (c < 0x80) return c;
    uint32_t r;
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* accepted range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        r = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        r = c & 0x0F;
        if (c == 0xE0) lo = 0xA0; /* no overlongs */
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        r = c & 0x07;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        return 0xFFFD;
    }
    if (len < n) return 0xFFFD;
    if (s[1] < lo || s[1] > hi) return 0xFFFD;
    r = (r << 6) | (s[1] & 0x3F);
    for (size_t i = 2; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0xFFFD;
        r = (r << 6) | (s[i] & 0x3F);
    }
    *out_width = n;
    return r;
}

size_t lbl_utf8_encode(uint32_t r, char *out) {
    if (r < 0x80) {
        out[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        out[0] = (char)(0xC0 | (r >> 6));
        out[1] = (char)(0x80 | (r & 0x3F));
        return 2;
    }
    if (r < 0x10000) {
        out[0] = (char)(0xE0 | (r >> 12));
        out[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        out[2] = (char)(0x80 | (r & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (r >> 18));
    out[1] = (char)(0x80 | ((r >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((r >> 6) & 0x3F));
    out[3] = (char)(0x80 | (r & 0x3F));
    return 4;
}

bool labels_utf8_valid(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t w;
        uint32_t r = lbl_utf8_decode(p + i, len - i, &w);
        if (r == 0xFFFD && w == 1) return false;
        i += w;
    }
    return true;
}

/* ------------------------------------------------------ character classes */

/* Go's IsPrint: letters, marks, numbers, punctuation, symbols (and the ASCII
 * space, handled by the caller). Go's IsLetter || IsDigit (Nd) || '_'. */
static pcre2_code *class_print, *class_word;
static pthread_once_t class_once = PTHREAD_ONCE_INIT;

static pcre2_code *class_compile(const char *pat) {
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                                  PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED, &ec, &eo, NULL);
    if (c) (void)pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    return c;
}

static void class_init(void) {
    class_print = class_compile("[\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}]");
    class_word = class_compile("[\\p{L}\\p{Nd}_]");
}

static bool class_test(pcre2_code *c, uint32_t r) {
    if (!c || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return false;
    char buf[4];
    size_t n = lbl_utf8_encode(r, buf);
    return pcre2_match(c, (PCRE2_SPTR)buf, n, 0, 0, lbl_match_data(1), NULL) > 0;
}

bool lbl_rune_is_print(uint32_t r) {
    if (r < 0x80) return r >= 0x20 && r < 0x7F;
    pthread_once(&class_once, class_init);
    return class_test(class_print, r);
}

bool lbl_rune_is_word(uint32_t r) {
    if (r < 0x80)
        return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') ||
               r == '_';
    pthread_once(&class_once, class_init);
    return class_test(class_word, r);
}

/* ----------------------------------------------------------- case mapping */

static locale_t utf8_locale;
static pthread_once_t locale_once = PTHREAD_ONCE_INIT;

static void locale_init(void) { utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }

void lbl_case_map(vg_buf_t *out, const char *s, size_t len, bool upper) {
    const unsigned char *p = (const unsigned char *)s;
    vg_buf_reserve(out, len + 4);
    size_t i = 0;
    /* ASCII prefix: the common case, done without the locale. */
    while (i < len && p[i] < 0x80) {
        unsigned c = p[i];
        if (upper && c >= 'a' && c <= 'z') c -= 32;
        if (!upper && c >= 'A' && c <= 'Z') c += 32;
        out->data[out->len++] = (char)c;
        i++;
    }
    out->data[out->len] = 0;
    if (i == len) return;
    pthread_once(&locale_once, locale_init);
    while (i < len) {
        size_t w;
        uint32_t r = lbl_utf8_decode(p + i, len - i, &w);
        i += w;
        if (r < 0x80) {
            if (upper && r >= 'a' && r <= 'z') r -= 32;
            if (!upper && r >= 'A' && r <= 'Z') r += 32;
        } else if (utf8_locale && !(r == 0xFFFD && w == 1)) {
            wint_t m =
                upper ? towupper_l((wint_t)r, utf8_locale) : towlower_l((wint_t)r, utf8_locale);
            if (m <= 0x10FFFF && !(m >= 0xD800 && m <= 0xDFFF)) r = (uint32_t)m;
        }
        char enc[4];
        vg_buf_append(out, enc, lbl_utf8_encode(r, enc));
    }
}
