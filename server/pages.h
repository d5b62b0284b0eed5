/*
 * pages.h — what every HTML page of the server shares in its answer: the body
 * from a finished struct html, text/html, the Content-Security-Policy, and
 * (through http.h) nosniff and no-store; and the short error page.  The pages
 * themselves are reportpage, comparepage and dashboard.
 *
 * Thread safety: reentrant.  A page that failed to build (h's sticky error)
 * becomes a fixed 500 page, never a half page.
 */
#ifndef JT_PAGES_H
#define JT_PAGES_H

#include "html.h"
#include "http.h"

#define PAGES_CONTENT_TYPE "text/html; charset=utf-8"

/*
 * The finished page h as the response with status and the pages' headers
 * (text/html, Content-Security-Policy csp, nosniff, no-store); a 500 page
 * when h failed.  h is left empty.
 */
void pages_respond(struct http_response *resp, int status, struct html *h, const char *csp);

/* A short page with status: the heading title and the message (both escaped). */
void pages_error(struct http_response *resp, int status, const char *title, const char *message);

#endif
