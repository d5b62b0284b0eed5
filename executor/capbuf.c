/* capbuf.c — see capbuf.h. */
#include "capbuf.h"

#include <string.h>

void capbuf_init(struct capbuf *c, size_t limit, bool keep_tail)
{
	memset(c, 0, sizeof *c);
	dynbuf_init(&c->b, 2 * limit);
	c->limit = limit;
	c->keep_tail = keep_tail;
}

/* On ENOMEM the bytes are only counted (total), as past the limit. */
void capbuf_append(struct capbuf *c, const char *data, size_t n)
{
	c->total += n;
	if (!c->keep_tail) {
		size_t take = c->limit - c->b.len < n ? c->limit - c->b.len : n;
		if (take)
			dynbuf_add(&c->b, data, take);
	} else if (n >= c->limit) {
		dynbuf_reset(&c->b);
		dynbuf_add(&c->b, data + n - c->limit, c->limit);
	} else {
		if (c->b.len + n > 2 * c->limit)
			dynbuf_consume(&c->b, c->b.len - (c->limit - n));
		dynbuf_add(&c->b, data, n);
	}
}

const char *capbuf_view(const struct capbuf *c, size_t *len)
{
	size_t n = c->b.len;
	const char *p = c->b.p;
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
	dynbuf_free(&c->b);
	memset(c, 0, sizeof *c);
}
