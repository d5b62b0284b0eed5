/* capbuf.c — see capbuf.h. */
#include "capbuf.h"

#include <stdlib.h>
#include <string.h>

void capbuf_init(struct capbuf *c, size_t limit, bool keep_tail)
{
	memset(c, 0, sizeof *c);
	c->limit = limit;
	c->keep_tail = keep_tail;
}

static bool reserve(struct capbuf *c, size_t need)
{
	if (need + 1 <= c->alloc)
		return true;
	size_t n = c->alloc ? c->alloc : 4096;
	while (n < need + 1)
		n *= 2;
	char *p = realloc(c->buf, n);
	if (!p)
		return false;
	c->buf = p;
	c->alloc = n;
	return true;
}

void capbuf_append(struct capbuf *c, const char *data, size_t n)
{
	c->total += n;
	if (!c->keep_tail) {
		size_t take = c->limit - c->len < n ? c->limit - c->len : n;
		if (take == 0 || !reserve(c, c->len + take))
			return;
		memcpy(c->buf + c->len, data, take);
		c->len += take;
	} else if (n >= c->limit) {
		if (!reserve(c, c->limit))
			return;
		memcpy(c->buf, data + n - c->limit, c->limit);
		c->len = c->limit;
	} else {
		if (c->len + n > 2 * c->limit) {
			size_t keep = c->limit - n;
			memmove(c->buf, c->buf + c->len - keep, keep);
			c->len = keep;
		}
		if (!reserve(c, c->len + n))
			return;
		memcpy(c->buf + c->len, data, n);
		c->len += n;
	}
	c->buf[c->len] = '\0';
}

const char *capbuf_view(const struct capbuf *c, size_t *len)
{
	size_t n = c->len;
	const char *p = c->buf;
	if (c->keep_tail && n > c->limit) {
		p += n - c->limit;
		n = c->limit;
	}
	if (len)
		*len = p ? n : 0;
	return p ? p : "";
}

size_t capbuf_dropped(const struct capbuf *c)
{
	size_t kept;
	capbuf_view(c, &kept);
	return c->total - kept;
}

void capbuf_free(struct capbuf *c)
{
	free(c->buf);
	memset(c, 0, sizeof *c);
}
