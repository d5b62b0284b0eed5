/* html.c — escaping and the shared page shell (see html.h). */
#include "html.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One style sheet for every page: readable at 1280 px and on a phone (the
 * tables scroll sideways inside their own box, never the page). */
static const char style[] =
	":root{--fg:#1d2430;--mut:#5b6473;--bg:#f6f7f9;--card:#fff;--line:#dde1e7;"
	"--acc:#2463eb;--ok:#1a7f37;--bad:#c62828;--warn:#9a6700;--pkg:#2463eb;--dram:#e8912d}"
	"*{box-sizing:border-box}"
	"body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
	"color:var(--fg);background:var(--bg)}"
	"header.site{background:#111827;color:#fff;padding:10px 16px;display:flex;gap:16px;"
	"align-items:baseline;flex-wrap:wrap}"
	"header.site a{color:#cfe0ff;text-decoration:none}header.site b{font-size:17px}"
	"main{max-width:1180px;margin:0 auto;padding:16px}"
	"h1{font-size:22px;margin:8px 0 12px;overflow-wrap:anywhere}"
	"h2{font-size:17px;margin:0 0 10px}"
	".card{background:var(--card);border:1px solid var(--line);border-radius:8px;"
	"padding:14px 16px;margin:0 0 16px}"
	".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:16px}"
	".kpis{display:flex;flex-wrap:wrap;gap:10px 28px}.kpi .v{font-size:22px;font-weight:600}"
	".kpi .l{color:var(--mut);font-size:12px;text-transform:uppercase;letter-spacing:.04em}"
	".scroll{overflow-x:auto}"
	"table{border-collapse:collapse;width:100%;font-size:14px}"
	"th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}"
	"th{color:var(--mut);font-weight:600;font-size:12px;text-transform:uppercase}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px;"
	"overflow-wrap:anywhere}"
	".ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}.mut{color:var(--mut)}"
	".pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;"
	"font-weight:600;background:#eef1f5}"
	".pill.ok{background:#dcf5e3}.pill.bad{background:#fde2e2}.pill.warn{background:#fff2cc}"
	"svg{max-width:100%;height:auto;display:block}"
	"svg text{font:12px system-ui,sans-serif;fill:var(--mut)}"
	"footer{color:var(--mut);font-size:12px;text-align:center;padding:16px}"
	"@media (max-width:600px){main{padding:8px}.card{padding:10px}h1{font-size:19px}"
	".kpi .v{font-size:18px}}";

void html_init(struct html *h)
{
	dynbuf_init(&h->b, HTML_MAX_PAGE_BYTES);
	h->err = 0;
}

static int stick(struct html *h, int err)
{
	if (err && !h->err)
		h->err = err;
	return h->err;
}

int html_raw(struct html *h, const char *markup)
{
	return h->err ? h->err : stick(h, dynbuf_add_str(&h->b, markup));
}

int html_rawf(struct html *h, const char *fmt, ...)
{
	if (h->err)
		return h->err;
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return stick(h, -EINVAL);
	if ((size_t)n < sizeof small)
		return stick(h, dynbuf_add(&h->b, small, (size_t)n));
	char big[4096];
	if ((size_t)n >= sizeof big)
		return stick(h, -E2BIG);
	va_start(ap, fmt);
	vsnprintf(big, sizeof big, fmt, ap);
	va_end(ap);
	return stick(h, dynbuf_add(&h->b, big, (size_t)n));
}

int html_textn(struct html *h, const char *s, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n && !h->err; i++) {
		const char *ent = s[i] == '&' ? "&amp;" : s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;"
				: s[i] == '"' ? "&quot;" : s[i] == '\'' ? "&#39;" : NULL;
		if (!ent)
			continue;
		stick(h, dynbuf_add(&h->b, s + run, i - run));
		html_raw(h, ent);
		run = i + 1;
	}
	return h->err ? h->err : stick(h, dynbuf_add(&h->b, s + run, n - run));
}

int html_text(struct html *h, const char *s)
{
	return html_textn(h, s ? s : "", s ? strlen(s) : 0);
}

int html_begin(struct html *h, const char *title, const char *extra_css)
{
	html_raw(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
		    "<meta name=\"referrer\" content=\"no-referrer\"><title>");
	html_text(h, title);
	html_raw(h, " \xe2\x80\x94 jouletrace</title><style>");
	html_raw(h, style);
	html_raw(h, extra_css ? extra_css : "");
	html_raw(h, "</style></head><body><header class=\"site\"><b>jouletrace</b>"
		    "<a href=\"/\">Dashboard</a></header><main><h1>");
	html_text(h, title);
	return html_raw(h, "</h1>\n");
}

int html_end(struct html *h)
{
	return html_raw(h, "</main><footer>jouletrace \xe2\x80\x94 energy of code, sealed"
			   "</footer></body></html>\n");
}

char *html_finish(struct html *h, size_t *len, int *err)
{
	*err = h->err;
	if (h->err) {
		dynbuf_free(&h->b);
		h->err = 0;
		return NULL;
	}
	char *p = dynbuf_take(&h->b, len);
	if (!p)
		*err = -ENOMEM;
	return p;
}

void html_free(struct html *h)
{
	dynbuf_free(&h->b);
}
