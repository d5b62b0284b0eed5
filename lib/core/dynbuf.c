/* dynbuf.c — see dynbuf.h. */
#include "dynbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DYNBUF_FIRST 256

void dynbuf_init(struct dynbuf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

/* Capacity for len + n content bytes and the NUL, doubling, capped at max + 1. */
static int grow(struct dynbuf *b, size_t n)
{
	if (n > b->max - b->len)
		return -E2BIG;
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : DYNBUF_FIRST;
	while (cap < need)
		cap = cap > (SIZE_MAX >> 1) ? need : cap * 2;
	if (b->max < SIZE_MAX && cap > b->max + 1)
		cap = b->max + 1;
	char *p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	b->p[b->len] = '\0';   /* a fresh allocation holds garbage: keep the promise */
	return 0;
}

int dynbuf_add(struct dynbuf *b, const void *data, size_t n)
{
	int err = grow(b, n);
	if (err)
		return err;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int dynbuf_add_str(struct dynbuf *b, const char *s)
{
	return dynbuf_add(b, s, strlen(s));
}

int dynbuf_printf(struct dynbuf *b, const char *fmt, ...)
{
	char small[256], *big = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof small)
		return dynbuf_add(b, small, (size_t)n);
	if ((size_t)n > b->max - (b->len < b->max ? b->len : b->max))
		return -E2BIG;
	if (!(big = malloc((size_t)n + 1)))
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int ret = dynbuf_add(b, big, (size_t)n);
	free(big);
	return ret;
}

int dynbuf_space(struct dynbuf *b, size_t want, char **at, size_t *room)
{
	if (b->len >= b->max)
		return -E2BIG;
	if (want > b->max - b->len)
		want = b->max - b->len;
	int err = grow(b, want);
	if (err)
		return err;
	*at = b->p + b->len;
	*room = b->cap - b->len - 1;
	return 0;
}

void dynbuf_commit(struct dynbuf *b, size_t n)
{
	b->len += n;
	b->p[b->len] = '\0';
}

void dynbuf_consume(struct dynbuf *b, size_t n)
{
	if (n >= b->len) {
		dynbuf_reset(b);
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = '\0';
}

int dynbuf_take_line(struct dynbuf *b, size_t *scan, char **line, size_t *len)
{
	char *nl = b->len > *scan ? memchr(b->p + *scan, '\n', b->len - *scan) : NULL;
	*line = NULL;
	*len = 0;
	if (!nl) {
		*scan = b->len;
		return -EAGAIN;
	}
	size_t n = (size_t)(nl - b->p);
	char *s = malloc(n + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, b->p, n);
	s[n] = '\0';
	dynbuf_consume(b, n + 1);
	*scan = 0;
	*line = s;
	*len = n;
	return 0;
}

void dynbuf_reset(struct dynbuf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

char *dynbuf_take(struct dynbuf *b, size_t *len)
{
	char *p = b->p ? b->p : calloc(1, 1);
	if (len)
		*len = b->p ? b->len : 0;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void dynbuf_free(struct dynbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
