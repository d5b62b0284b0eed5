/*
 * html.h — HTML for the server's pages, built into a dynbuf: escaping and the
 * one page shell (head, style sheet, header, footer) every page shares.
 *
 * Every string that did not come from this file (candidate ids, problem
 * names, test ids, outputs, error texts, host names, anything from Redis or a
 * request) goes through html_text; html_raw is only for markup written here.
 * html_text escapes & < > " ' so its output is safe both as element text and
 * inside a double- or single-quoted attribute value (never in an unquoted
 * attribute, a <script> or a <style>).
 *
 * Errors: 0, -E2BIG (the page hit its buffer's limit), -ENOMEM; the first
 * error sticks in the page (later calls do nothing and return it), so a page
 * is built with unchecked calls and html_finish tells.  Thread safety: one
 * page per thread; the shell's constants are read-only.
 */
#ifndef JT_HTML_H
#define JT_HTML_H

#include <stddef.h>

#include "dynbuf.h"

#define HTML_MAX_PAGE_BYTES (4u << 20)   /* a report with 1000 tests fits */

struct html {
	struct dynbuf b;
	int err;
};

/*
 * The Content-Security-Policy of every page: nothing is loaded from anywhere
 * (no external script, style, image, font or frame); inline style and data:
 * images only; scripts only the page's own (script_hash: "sha256-…" of its one
 * inline script, or NULL for none); fetch only to this origin.
 */
#define HTML_CSP_NO_SCRIPT \
	"default-src 'none'; style-src 'unsafe-inline'; img-src data:; " \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

void html_init(struct html *h);
/* Opens the page: doctype, head (title escaped, the shared style sheet plus
 * extra_css, trusted), body and the site header with the page's heading. */
int html_begin(struct html *h, const char *title, const char *extra_css);
/* Closes the page (footer, body, html). */
int html_end(struct html *h);

int html_text(struct html *h, const char *s);                 /* escaped */
int html_textn(struct html *h, const char *s, size_t n);      /* escaped, n bytes */
int html_raw(struct html *h, const char *markup);             /* trusted, as is */
__attribute__((format(printf, 2, 3)))
int html_rawf(struct html *h, const char *fmt, ...);          /* trusted: numbers, own markup; < 4 KiB a call */

/* Hands out the page (NUL-terminated, caller frees) and its length, or NULL
 * with *err set to the first error; the html is left empty either way. */
char *html_finish(struct html *h, size_t *len, int *err);
void html_free(struct html *h);

#endif
