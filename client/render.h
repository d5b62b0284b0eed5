/*
 * render.h — what `jouletrace` prints, as pure functions into a dynbuf (no
 * I/O, no clock), so each is unit-tested: the live progress line, the plain
 * progress lines for a non-terminal, a task's result table and status line.
 *
 * Figures are lib/api/units' (three significant digits, SI prefixes), as on
 * the server's pages.  Every string that came from the server (stage, ids, comm, messages) is
 * printed with control characters as '?', so a record cannot move the
 * terminal's cursor or change its colours.
 *
 * Errors: 0, -E2BIG (the buffer's cap), -ENOMEM.  Thread safety: pure.
 */
#ifndef JT_CLIENT_RENDER_H
#define JT_CLIENT_RENDER_H

#include <stdbool.h>

#include <jansson.h>

#include "dynbuf.h"

struct progress_state {
	const char *status;      /* queued, running, ... */
	const char *stage;       /* the server's stage, NULL before the first answer */
	double progress;         /* 0..1 */
	int trial, trials_max;   /* 0 when the server did not say (not measuring) */
	double elapsed_s;        /* since submit, the client's clock */
};

/*
 * The live line, at most width columns and never a newline: "stage  trial
 * k/n  [bar]  12.3 s"; the bar goes first when the terminal is narrow, then
 * the text is cut.  width < 1 counts as 1.
 */
int render_progress(const struct progress_state *st, int width, struct dynbuf *out);
/* The same state as one plain line ending in '\n' (stdout not a terminal). */
int render_progress_plain(const struct progress_state *st, struct dynbuf *out);
/* The progress state of a GET /api/v1/tasks/{id} answer (strings borrowed
 * from task); elapsed_s is left to the caller. */
void render_state_of(const json_t *task, struct progress_state *st);

/*
 * A task for people: a completed one as the result table (energy per call
 * with its 95 % interval, time, power, trials, CV, package/DRAM split, the
 * top processes); a failed one with its error and the failing tests; a
 * queued, running or cancelled one as its state.
 */
int render_task(const json_t *task, struct dynbuf *out);

/* Appends s padded with spaces to width columns (counted as UTF-8
 * characters, so "µJ" is two): right-aligned, or left-aligned when width < 0. */
int render_pad(struct dynbuf *out, const char *s, int width);
/* Appends s with control characters as '?', cut to at most max bytes (not
 * inside a UTF-8 sequence) with "..." when longer. */
int render_clean(struct dynbuf *out, const char *s, size_t max);

#endif
