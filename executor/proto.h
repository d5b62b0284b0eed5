/*
 * proto.h — the harness protocol at the JSON level (one object per line), and
 * the mapping from how a harness failed to the task's error_type.  The
 * harness runs candidate code: a line that is not a JSON object, or over the
 * size limit, can only come from candidate code and is tampering_suspected.
 * Thread safety: as the harness it drives (one thread per harness).
 */
#ifndef JT_PROTO_H
#define JT_PROTO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct harness;

struct proto_error {
	char type[32];   /* timeout|memory_limit|runtime_error|cancelled|internal|… */
	char message[512];
};

/* Serializes cmd (reference stolen) and sends it.  0 or -errno. */
int proto_send(struct harness *h, json_t *cmd, struct proto_error *e);
/*
 * Waits for one JSON object until deadline_ns (CLOCK_MONOTONIC), calling
 * poll_cb every poll_ms while waiting (nonzero → -ECANCELED).  On error e says
 * what happened in the task's vocabulary.
 */
int proto_recv(struct harness *h, uint64_t deadline_ns, int poll_ms,
	       int (*poll_cb)(void *), void *ctx, json_t **out, struct proto_error *e);
/* For a reply {"ok"/"done"/"ready": false, "error_type", "error"}. Returns -EPROTO. */
int proto_candidate_error(const json_t *reply, struct proto_error *e);
/* Fills e; returns err unchanged (for "return proto_fail(...)"). */
int proto_fail(struct proto_error *e, int err, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
