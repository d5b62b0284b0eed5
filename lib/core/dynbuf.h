/*
 * dynbuf.h — the one growable byte buffer, with a hard size limit fixed at
 * init (after curl's dynbuf): every buffer fed from the network, a file or a
 * child process is one of these, so none can grow without bound.
 *
 * The content (p[0..len)) is always followed by a NUL, not counted in len;
 * p is NULL until something is added.  max bounds len; the allocation is at
 * most max + 1 bytes.
 *
 * Ownership: the buffer owns p until dynbuf_take hands it out.  Thread
 * safety: none; one owner.  Errors: 0, -E2BIG (over max: nothing changed),
 * -ENOMEM.
 */
#ifndef JT_DYNBUF_H
#define JT_DYNBUF_H

#include <stddef.h>

struct dynbuf {
	char *p;
	size_t len;
	size_t cap;      /* allocated bytes (content + NUL) */
	size_t max;      /* most content bytes */
};

void dynbuf_init(struct dynbuf *b, size_t max);
/* Appends n bytes. */
int dynbuf_add(struct dynbuf *b, const void *data, size_t n);
int dynbuf_add_str(struct dynbuf *b, const char *s);
/* Appends printf output; over max: -E2BIG and nothing appended. */
__attribute__((format(printf, 2, 3)))
int dynbuf_printf(struct dynbuf *b, const char *fmt, ...);
/*
 * Room to write up to want bytes at *at (for read(2) straight into the
 * buffer), fewer when max is near: *room says how many.  Then dynbuf_commit
 * the bytes written.  -E2BIG when len is already max.
 */
int dynbuf_space(struct dynbuf *b, size_t want, char **at, size_t *room);
void dynbuf_commit(struct dynbuf *b, size_t n);   /* n ≤ the room given */
/* Drops the first n bytes (a consumed line), keeping the rest. */
void dynbuf_consume(struct dynbuf *b, size_t n);
/*
 * Takes the first '\n'-terminated line out of b: 0 with *line malloc'd (the
 * bytes before the '\n', NUL-terminated; they may hold NULs of their own, so
 * *len says how many) and the line with its '\n' consumed; -EAGAIN when no
 * complete line is buffered; -ENOMEM.  *scan (0 at first, and after each line
 * taken) remembers how much was already searched, so a long line arriving in
 * pieces is searched once.
 */
int dynbuf_take_line(struct dynbuf *b, size_t *scan, char **line, size_t *len);
/* Empties the buffer, keeping its memory. */
void dynbuf_reset(struct dynbuf *b);
/* Hands out p (NUL-terminated; "" when empty, NULL only on ENOMEM) and len,
 * leaving the buffer empty; the caller frees it. */
char *dynbuf_take(struct dynbuf *b, size_t *len);
void dynbuf_free(struct dynbuf *b);

#endif
