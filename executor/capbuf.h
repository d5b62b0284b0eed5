/*
 * capbuf.h — a captured output stream with a hard size limit: the candidate's
 * stdout and stderr.  keep_tail keeps the last `limit` bytes (stderr: the
 * error is at the end), otherwise the first `limit`; everything beyond is
 * counted and dropped, so an output flood costs no memory.
 * Ownership: the struct owns buf (capbuf_free).  Not thread-safe.
 */
#ifndef JT_CAPBUF_H
#define JT_CAPBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "dynbuf.h"

/* Storage is up to 2×limit for keep_tail, so the shift is amortized. */
struct capbuf {
	struct dynbuf b;          /* at most 2 × limit (the tail mode trims at that) */
	size_t limit;
	size_t total;
	bool keep_tail;
};

void capbuf_init(struct capbuf *c, size_t limit, bool keep_tail);
/* Appends n bytes (or counts them only, past the limit or on ENOMEM). */
void capbuf_append(struct capbuf *c, const char *data, size_t n);
/* What is kept, NUL-terminated ("" when empty); *len optional. */
const char *capbuf_view(const struct capbuf *c, size_t *len);
/* Bytes seen but not kept. */
size_t capbuf_dropped(const struct capbuf *c);
void capbuf_free(struct capbuf *c);

#endif
