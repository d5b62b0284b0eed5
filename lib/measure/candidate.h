/*
 * candidate.h — the candidate process as the trial engine (measure.h) sees
 * it: four operations on a window of passes, behind a small vtable.  The
 * engine decides pass counts, checked passes and deadlines; it neither starts
 * processes nor speaks their wire protocol.  The executor layer adapts a
 * harness to this (proto_candidate() in proto.h); a test may supply its own.
 *
 * A window: prepare (the candidate gets ready to run `passes` passes over
 * every test case, keeping the outputs of the passes keep[0..k)), go (the
 * passes run; the engine reads the meter right before), finish (the passes are
 * done; the meter is read right after), then outputs (the kept outputs, for
 * the engine to compare).
 *
 * Errors: every operation returns 0 or a negative errno and then fills *e
 * with an error_type of the task's vocabulary (timeout, memory_limit,
 * runtime_error, cancelled, tampering_suspected for anything out of turn,
 * internal …) and one line of text.
 * Ownership: outputs hands out new references.  Thread safety: one thread
 * drives one candidate.
 */
#ifndef JT_CANDIDATE_H
#define JT_CANDIDATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct candidate_error {
	char type[32];
	char message[512];
};

/* How long an operation may wait for the candidate, and what runs meanwhile:
 * poll(ctx) every poll_ms (the engine reads its meter there, so no counter
 * wraps unseen); a nonzero return cancels (-ECANCELED).  poll may be NULL. */
struct candidate_wait {
	uint64_t deadline_ns;        /* CLOCK_MONOTONIC */
	int poll_ms;
	int (*poll)(void *ctx);
	void *ctx;
};

struct candidate_ops {
	/* keep: ascending pass numbers; returns once the candidate waits for go. */
	int (*prepare)(void *ctx, long passes, const long *keep, size_t k,
		       const struct candidate_wait *w, struct candidate_error *e);
	int (*go)(void *ctx, struct candidate_error *e);
	/*
	 * Waits for the end of the window.  kept: how many outputs the window
	 * must have kept (k × test cases; any other count is tampering).
	 * *reported_ns: the span the candidate claims for its passes (shown,
	 * never used).
	 */
	int (*finish)(void *ctx, size_t kept, const struct candidate_wait *w, uint64_t *reported_ns,
		      struct candidate_error *e);
	/*
	 * The kept outputs: out[i × n_tests + c] for pass keep[i] and test case c,
	 * each {"value": V} or what came instead ({"error", "error_type"},
	 * {"not_json"}, {"too_large"}).  On error nothing is handed out.
	 */
	int (*outputs)(void *ctx, const long *keep, size_t k, size_t n_tests,
		       const struct candidate_wait *w, json_t **out, struct candidate_error *e);
};

struct candidate {
	const struct candidate_ops *ops;
	void *ctx;
};

/* Fills e with type and a formatted message; returns err (for "return candidate_fail(…)"). */
int candidate_fail(struct candidate_error *e, int err, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
