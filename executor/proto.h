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

#include "candidate.h"

struct harness;

/* Serializes cmd (reference stolen) and sends it.  0 or -errno. */
int proto_send(struct harness *h, json_t *cmd, struct candidate_error *e);
/*
 * Waits for one JSON object until deadline_ns (CLOCK_MONOTONIC), calling
 * poll_cb every poll_ms while waiting (nonzero → -ECANCELED).  On error e says
 * what happened in the task's vocabulary.
 */
int proto_recv(struct harness *h, uint64_t deadline_ns, int poll_ms,
	       int (*poll_cb)(void *), void *ctx, json_t **out, struct candidate_error *e);
/*
 * One reply line (len bytes, no '\n') as the JSON object it must be: 0 with
 * *out (a new reference), or -EPROTO with e saying tampering_suspected for
 * anything else (not JSON, a NUL byte, duplicate keys, not an object).
 */
int proto_parse_reply(const char *line, size_t len, json_t **out, struct candidate_error *e);
/*
 * For a reply {"ok"/"done"/"ready": false, "error_type", "error"}: e gets the
 * harness's error type (runtime_error, memory_limit, internal; runtime_error
 * when absent) and its text.  Any other error_type can only come from
 * candidate code and becomes tampering_suspected.  Returns -EPROTO.
 */
int proto_candidate_error(const json_t *reply, struct candidate_error *e);
/*
 * The harness as the trial engine's candidate (candidate.h): the window
 * commands of executor/harness.py over proto_send/proto_recv, and everything
 * out of turn reported as tampering_suspected.  h stays the caller's.
 */
void proto_candidate(struct harness *h, struct candidate *out);

#endif
