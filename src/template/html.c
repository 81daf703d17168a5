/* This file implements the escapers: Go's html, js and urlquery builtins,
 * and a reduced html/template. html/template analyses the template
 * statically and inserts escapers into every action according to the HTML
 * context it sits in; here the context is tracked dynamically over the
 * text as it is written, which gives the same result for templates whose
 * branches end in the same context (html/template rejects the others).
 * Covered: text, RCDATA (title, textarea), tags, attribute names, quoted
 * and unquoted attribute values, URL attributes (filter, normaliser and
 * query escaper, with urlquery and html at the end of a pipeline taking the
 * place of their equivalents), HTML comments stripped from the text.
 * Not covered: JavaScript and CSS contexts are escaped coarsely (see
 * docs/templates.md). */
#include "template/template_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------ plain escapers */

void tpl_html_escape(vg_buf_t *out, const char *s, size_t len) {
    size_t last = 0;
    for (size_t i = 0; i < len; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '"': rep = "&#34;"; break;
        case '\'': rep = "&#39;"; break;
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '\0': rep = "\xef\xbf\xbd"; break;
        default: continue;
        }
        vg_buf_append(out, s + last, i - last);
        vg_buf_puts(out, rep);
        last = i + 1;
    }
    vg_buf_append(out, s + last, len - last);
}

static int utf8_len(const unsigned char *s, size_t len, uint32_t *r) {
    unsigned char c = s[0];
    int n = c < 0x80             ? 1
            : (c & 0xe0) == 0xc0 ? 2
            : (c & 0xf0) == 0xe0 ? 3
            : (c & 0xf8) == 0xf0 ? 4
                                 : 0;
    if (n == 0 || (size_t)n > len) {
        *r = 0xfffd;
        return 1;
    }
    uint32_t v = n == 1 ? c : n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0xfu) : (c & 7u);
    for (int k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80) {
            *r = 0xfffd;
            return 1;
        }
        v = (v << 6) | (s[k] & 0x3fu);
    }
    *r = v;
    return n;
}

void tpl_js_escape(vg_buf_t *out, const char *s, size_t len) {
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            switch (c) {
            case '\\': vg_buf_puts(out, "\\\\"); break;
            case '\'': vg_buf_puts(out, "\\'"); break;
            case '"': vg_buf_puts(out, "\\\""); break;
            case '<': vg_buf_puts(out, "\\u003C"); break;
            case '>': vg_buf_puts(out, "\\u003E"); break;
            case '&': vg_buf_puts(out, "\\u0026"); break;
            case '=': vg_buf_puts(out, "\\u003D"); break;
            default:
                if (c < ' ') {
                    vg_buf_puts(out, "\\u00");
                    vg_buf_putc(out, hex[c >> 4]);
                    vg_buf_putc(out, hex[c & 15]);
                } else {
                    vg_buf_putc(out, (char)c);
                }
            }
            i++;
            continue;
        }
        uint32_t r;
        int n = utf8_len((const unsigned char *)s + i, len - i, &r);
        bool printable = !(r >= 0x80 && r < 0xa0) && r != 0xad && r != 0x2028 && r != 0x2029 &&
                         r != 0xfeff && r != 0xfffd;
        if (r == 0xfffd && n == 3) printable = true; /* a real U+FFFD */
        if (printable)
            vg_buf_append(out, s + i, (size_t)n);
        else
            vg_buf_printf(out, "\\u%04X", r);
        i += (size_t)n;
    }
}

void tpl_url_query_escape(vg_buf_t *out, const char *s, size_t len) {
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            vg_buf_putc(out, (char)c);
        } else if (c == ' ') {
            vg_buf_putc(out, '+');
        } else {
            vg_buf_putc(out, '%');
            vg_buf_putc(out, hex[c >> 4]);
            vg_buf_putc(out, hex[c & 15]);
        }
    }
}

/* html/template's htmlEscaper (also escapes '+'); nospace also escapes
 * what would end an unquoted attribute. */
static void html_tpl_escape(vg_buf_t *out, const char *s, size_t len, bool nospace) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': vg_buf_puts(out, "&#34;"); continue;
        case '\'': vg_buf_puts(out, "&#39;"); continue;
        case '&': vg_buf_puts(out, "&amp;"); continue;
        case '<': vg_buf_puts(out, "&lt;"); continue;
        case '>': vg_buf_puts(out, "&gt;"); continue;
        case '+': vg_buf_puts(out, "&#43;"); continue;
        case '\0': vg_buf_puts(out, "\xef\xbf\xbd"); continue;
        default: break;
        }
        if (nospace) {
            switch (c) {
            case '\t': vg_buf_puts(out, "&#9;"); continue;
            case '\n': vg_buf_puts(out, "&#10;"); continue;
            case '\v': vg_buf_puts(out, "&#11;"); continue;
            case '\f': vg_buf_puts(out, "&#12;"); continue;
            case '\r': vg_buf_puts(out, "&#13;"); continue;
            case ' ': vg_buf_puts(out, "&#32;"); continue;
            case '=': vg_buf_puts(out, "&#61;"); continue;
            case '`': vg_buf_puts(out, "&#96;"); continue;
            default: break;
            }
        }
        vg_buf_putc(out, (char)c);
    }
}

/* urlNormalizer (norm) and urlEscaper (!norm): percent-encode with lower
 * case hex, as html/template does. */
static void url_process(vg_buf_t *out, const char *s, size_t len, bool norm) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool keep;
        switch (c) {
        case '!':
        case '#':
        case '$':
        case '&':
        case '*':
        case '+':
        case ',':
        case '/':
        case ':':
        case ';':
        case '=':
        case '?':
        case '@':
        case '[':
        case ']': keep = norm; break;
        case '-':
        case '.':
        case '_':
        case '~': keep = true; break;
        case '%': keep = norm; break;
        default: keep = isalnum(c) != 0; break;
        }
        if (keep) {
            vg_buf_putc(out, (char)c);
        } else {
            vg_buf_putc(out, '%');
            vg_buf_putc(out, hex[c >> 4]);
            vg_buf_putc(out, hex[c & 15]);
        }
    }
}

/* urlFilter: only http, https and mailto schemes (or none) pass. */
static bool url_filter_ok(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '/' || s[i] == '?' || s[i] == '#') return true;
        if (s[i] == ':') {
            return (i == 4 && strncasecmp(s, "http", 4) == 0) ||
                   (i == 5 && strncasecmp(s, "https", 5) == 0) ||
                   (i == 6 && strncasecmp(s, "mailto", 6) == 0);
        }
    }
    return true;
}

/* ----------------------------------------------------- context tracking */

/* The context packed into an int. */
enum {
    H_TEXT,
    H_RCDATA,
    H_RAW,
    H_TAG,
    H_ATTR_NAME,
    H_AFTER_NAME,
    H_BEFORE_VALUE,
    H_ATTR,
    H_COMMENT
};
enum { A_NORMAL, A_URL, A_JS, A_CSS };
enum { D_DQ, D_SQ, D_SPACE };
enum { U_NONE, U_PRE, U_QUERY };
enum { E_NONE, E_SCRIPT, E_STYLE, E_TITLE, E_TEXTAREA };

#define ST(x) ((x)&0xf)
#define AT(x) (((x) >> 4) & 3)
#define DL(x) (((x) >> 6) & 3)
#define UP(x) (((x) >> 8) & 3)
#define EL(x) (((x) >> 10) & 7)
#define MK(st, at, dl, up, el) ((st) | ((at) << 4) | ((dl) << 6) | ((up) << 8) | ((el) << 10))

static int attr_type(const char *name, size_t len) {
    char n[32];
    if (len >= sizeof n) len = sizeof n - 1;
    for (size_t i = 0; i < len; i++)
        n[i] = (char)tolower((unsigned char)name[i]);
    n[len] = '\0';
    const char *base = n;
    /* html/template ignores an xmlns:/xlink:/data- prefix for typing */
    if (strncmp(base, "data-", 5) == 0) base += 5;
    const char *colon = strchr(base, ':');
    if (colon) base = colon + 1;
    if (strncmp(base, "on", 2) == 0) return A_JS;
    if (strcmp(base, "style") == 0) return A_CSS;
    static const char *const urls[] = {"action",   "archive",  "background", "cite",    "classid",
                                       "codebase", "data",     "formaction", "href",    "icon",
                                       "longdesc", "manifest", "poster",     "profile", "src",
                                       "usemap",   "xmlns"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
        if (strcmp(base, urls[i]) == 0) return A_URL;
    if (strstr(base, "src") || strstr(base, "uri") || strstr(base, "url")) return A_URL;
    return A_NORMAL;
}

static int element_of(const char *name, size_t len) {
    if (len == 6 && strncasecmp(name, "script", 6) == 0) return E_SCRIPT;
    if (len == 5 && strncasecmp(name, "style", 5) == 0) return E_STYLE;
    if (len == 5 && strncasecmp(name, "title", 5) == 0) return E_TITLE;
    if (len == 8 && strncasecmp(name, "textarea", 8) == 0) return E_TEXTAREA;
    return E_NONE;
}

static const char *element_name(int el) {
    switch (el) {
    case E_SCRIPT: return "script";
    case E_STYLE: return "style";
    case E_TITLE: return "title";
    case E_TEXTAREA: return "textarea";
    default: return "";
    }
}

/* Scans s from state and writes what html/template keeps (comments in
 * text are dropped). Returns the new state. */
static int scan(int state, const char *s, size_t len, vg_buf_t *out) {
    size_t i = 0;
    while (i < len) {
        int st = ST(state);
        switch (st) {
        case H_TEXT: {
            const char *lt = memchr(s + i, '<', len - i);
            if (!lt) {
                if (out) vg_buf_append(out, s + i, len - i);
                return state;
            }
            size_t at = (size_t)(lt - s);
            if (out) vg_buf_append(out, s + i, at - i);
            if (at + 4 <= len && memcmp(s + at, "<!--", 4) == 0) {
                state = MK(H_COMMENT, 0, 0, 0, 0);
                i = at + 4;
                continue;
            }
            size_t j = at + 1;
            bool end_tag = j < len && s[j] == '/';
            if (end_tag) j++;
            if (j < len && isalpha((unsigned char)s[j])) {
                size_t ns = j;
                while (j < len && (isalnum((unsigned char)s[j]) || s[j] == '-' || s[j] == ':'))
                    j++;
                int el = end_tag ? E_NONE : element_of(s + ns, j - ns);
                if (out) vg_buf_append(out, s + at, j - at);
                state = MK(H_TAG, 0, 0, 0, el);
                i = j;
                continue;
            }
            if (out) vg_buf_putc(out, '<');
            i = at + 1;
            continue;
        }
        case H_COMMENT: {
            const char *e = NULL;
            for (size_t k = i; k + 3 <= len; k++)
                if (memcmp(s + k, "-->", 3) == 0) {
                    e = s + k;
                    break;
                }
            if (!e) return state;
            i = (size_t)(e - s) + 3;
            state = MK(H_TEXT, 0, 0, 0, 0);
            continue;
        }
        case H_RCDATA:
        case H_RAW: {
            const char *name = element_name(EL(state));
            size_t nl = strlen(name);
            size_t k = i;
            for (; k + 2 + nl <= len; k++)
                if (s[k] == '<' && s[k + 1] == '/' && strncasecmp(s + k + 2, name, nl) == 0) break;
            if (k + 2 + nl > len) {
                if (out) vg_buf_append(out, s + i, len - i);
                return state;
            }
            if (out) vg_buf_append(out, s + i, k - i);
            i = k;
            state = MK(H_TEXT, 0, 0, 0, 0);
            continue;
        }
        case H_TAG: {
            unsigned char c = (unsigned char)s[i];
            if (out) vg_buf_putc(out, (char)c);
            i++;
            if (c == '>') {
                int el = EL(state);
                state = el == E_SCRIPT || el == E_STYLE ? MK(H_RAW, 0, 0, 0, el)
                        : el                            ? MK(H_RCDATA, 0, 0, 0, el)
                                                        : MK(H_TEXT, 0, 0, 0, 0);
                continue;
            }
            if (isspace(c) || c == '/') continue;
            /* an attribute name starts */
            size_t ns = i - 1;
            while (i < len && !isspace((unsigned char)s[i]) && s[i] != '=' && s[i] != '>' &&
                   s[i] != '/') {
                if (out) vg_buf_putc(out, s[i]);
                i++;
            }
            state = MK(H_AFTER_NAME, attr_type(s + ns, i - ns), 0, 0, EL(state));
            continue;
        }
        case H_ATTR_NAME:
        case H_AFTER_NAME: {
            unsigned char c = (unsigned char)s[i];
            if (isspace(c)) {
                if (out) vg_buf_putc(out, (char)c);
                i++;
                continue;
            }
            if (c == '=') {
                if (out) vg_buf_putc(out, '=');
                i++;
                state = MK(H_BEFORE_VALUE, AT(state), 0, 0, EL(state));
                continue;
            }
            state = MK(H_TAG, 0, 0, 0, EL(state));
            continue;
        }
        case H_BEFORE_VALUE: {
            unsigned char c = (unsigned char)s[i];
            if (isspace(c)) {
                if (out) vg_buf_putc(out, (char)c);
                i++;
                continue;
            }
            if (c == '"' || c == '\'') {
                if (out) vg_buf_putc(out, (char)c);
                i++;
                state = MK(H_ATTR, AT(state), c == '"' ? D_DQ : D_SQ, U_NONE, EL(state));
                continue;
            }
            state = MK(H_ATTR, AT(state), D_SPACE, U_NONE, EL(state));
            continue;
        }
        case H_ATTR: {
            int dl = DL(state);
            size_t k = i;
            while (k < len) {
                char c = s[k];
                if ((dl == D_DQ && c == '"') || (dl == D_SQ && c == '\'') ||
                    (dl == D_SPACE && (isspace((unsigned char)c) || c == '>')))
                    break;
                k++;
            }
            int up = UP(state);
            if (AT(state) == A_URL) {
                for (size_t q = i; q < k; q++) {
                    if (s[q] == '#' || s[q] == '?') {
                        up = U_QUERY;
                        break;
                    }
                    if (!isspace((unsigned char)s[q]) && up == U_NONE) up = U_PRE;
                }
            }
            if (out) vg_buf_append(out, s + i, k - i);
            i = k;
            if (k >= len) {
                state = MK(H_ATTR, AT(state), dl, up, EL(state));
                return state;
            }
            if (dl != D_SPACE) {
                if (out) vg_buf_putc(out, s[k]);
                i++;
            }
            state = MK(H_TAG, 0, 0, 0, EL(state));
            continue;
        }
        default: return state;
        }
    }
    return state;
}

int tpl_html_text(int state, const char *s, size_t len) { return scan(state, s, len, NULL); }

int tpl_html_write_text(int state, const char *s, size_t len, vg_buf_t *out) {
    return scan(state, s, len, out);
}

int tpl_html_after_value(int state, const char *printed, size_t len) {
    /* html/template leaves the context of an action as it found it */
    (void)printed;
    (void)len;
    return state;
}

/* Strips tags from safe HTML going into an attribute (stripTags, reduced to
 * dropping <...> runs). */
static void strip_tags(vg_buf_t *out, const char *s, size_t len) {
    bool in = false;
    for (size_t i = 0; i < len; i++) {
        if (!in && s[i] == '<' && i + 1 < len &&
            (isalpha((unsigned char)s[i + 1]) || s[i + 1] == '/'))
            in = true;
        else if (in && s[i] == '>')
            in = false;
        else if (!in)
            vg_buf_putc(out, s[i]);
    }
}

void tpl_html_escape_value(template_call_t *c, int state, const template_value_t *v,
                           const char *printed, size_t len, vg_buf_t *out) {
    (void)c;
    bool safe = v->kind == TEMPLATE_STRING && (v->flags & TEMPLATE_F_HTML);
    int ends = c->html_pipe_end; /* 1: html, 2: urlquery */
    if (v->kind == TEMPLATE_NIL) {
        /* html/template drops untyped nil arguments */
        len = 0;
    }
    switch (ST(state)) {
    case H_TEXT:
        if (safe || ends == 1)
            vg_buf_append(out, printed, len);
        else
            html_tpl_escape(out, printed, len, false);
        return;
    case H_RCDATA:
        if (ends == 1)
            vg_buf_append(out, printed, len);
        else
            html_tpl_escape(out, printed, len, false);
        return;
    case H_RAW:
        if (EL(state) == E_SCRIPT) {
            /* jsValEscaper: a JSON string */
            vg_buf_putc(out, '"');
            tpl_js_escape(out, printed, len);
            vg_buf_putc(out, '"');
        } else {
            /* cssValueFilter: plain words pass, anything else is refused */
            bool ok = true;
            for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char)printed[i]) && !strchr(" #%-.,_", printed[i]))
                    ok = false;
            if (ok)
                vg_buf_append(out, printed, len);
            else
                vg_buf_puts(out, "ZgotmplZ");
        }
        return;
    case H_ATTR: {
        bool nospace = DL(state) == D_SPACE;
        vg_buf_t tmp = VG_BUF_INIT;
        const char *p = printed;
        size_t pl = len;
        switch (AT(state)) {
        case A_URL:
            if (UP(state) == U_NONE && !url_filter_ok(p, pl)) {
                vg_buf_puts(&tmp, "#ZgotmplZ");
            } else if (ends == 2) {
                vg_buf_append(&tmp, p, pl);
            } else {
                url_process(&tmp, p, pl, UP(state) != U_QUERY);
            }
            break;
        case A_JS:
            vg_buf_putc(&tmp, '"');
            tpl_js_escape(&tmp, p, pl);
            vg_buf_putc(&tmp, '"');
            break;
        case A_CSS: {
            bool ok = true;
            for (size_t i = 0; i < pl; i++)
                if (!isalnum((unsigned char)p[i]) && !strchr(" #%-.,_", p[i])) ok = false;
            if (ok)
                vg_buf_append(&tmp, p, pl);
            else
                vg_buf_puts(&tmp, "ZgotmplZ");
            break;
        }
        default:
            if (safe)
                strip_tags(&tmp, p, pl);
            else
                vg_buf_append(&tmp, p, pl);
            break;
        }
        if (ends == 1 && AT(state) == A_NORMAL && !nospace)
            vg_buf_append(out, tmp.data ? tmp.data : "", tmp.len);
        else
            html_tpl_escape(out, tmp.data ? tmp.data : "", tmp.len, nospace);
        vg_buf_free(&tmp);
        return;
    }
    default:
        /* in a tag or before an attribute value */
        html_tpl_escape(out, printed, len, true);
        return;
    }
}
