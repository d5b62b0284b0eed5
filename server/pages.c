/* pages.c — see pages.h. */
#include "pages.h"

#include <stdlib.h>
#include <string.h>

void pages_respond(struct http_response *resp, int status, struct html *h, const char *csp)
{
	static const char failed[] = "<!DOCTYPE html>\n<title>jouletrace</title>"
				     "<p>The page could not be built.</p>\n";
	size_t len = 0;
	int err;
	resp->body = html_finish(h, &len, &err);
	resp->status = status;
	if (!resp->body) {
		resp->body = strdup(failed);
		len = resp->body ? strlen(resp->body) : 0;
		resp->status = 500;
	}
	resp->body_len = len;
	resp->content_type = PAGES_CONTENT_TYPE;
	resp->csp = csp;
}

void pages_error(struct http_response *resp, int status, const char *title, const char *message)
{
	struct html h;
	html_init(&h);
	html_begin(&h, title, NULL);
	html_raw(&h, "<section class=\"card\" id=\"error\"><p>");
	html_text(&h, message);
	html_raw(&h, "</p><p><a href=\"/\">The dashboard</a></p></section>");
	html_end(&h);
	pages_respond(resp, status, &h, HTML_CSP_NO_SCRIPT);
}
