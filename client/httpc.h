/*
 * httpc.h — the HTTP client adapter (libcurl stays in httpc.c): one request,
 * one answer, with plain structs.  The answer's body is capped (dynbuf), a
 * request has a total timeout, a bearer token goes in Authorization.
 *
 * Errors: 0 when the server answered (any status, in resp->status);
 * -ECONNREFUSED, -EHOSTUNREACH or -ETIMEDOUT when it could not be reached
 * (connect, DNS, timeout); -E2BIG for an answer over HTTPC_BODY_MAX; -EINVAL
 * for a bad URL; -EPROTO for anything else curl reports; -ENOMEM.  A reason
 * goes to (why, cap).
 *
 * Ownership: resp->body is malloc'd (NUL-terminated), freed by
 * httpc_resp_free.  Thread safety: an httpc is used by one thread at a time;
 * httpc_global_init/cleanup once per process (libcurl's own global state).
 */
#ifndef JT_HTTPC_H
#define JT_HTTPC_H

#include <stddef.h>

#define HTTPC_BODY_MAX (64u << 20)   /* a task's record is kilobytes; a seal log page less */

struct httpc;

struct httpc_req {
	const char *method;      /* "GET", "POST", "DELETE" */
	const char *url;
	const char *token;       /* NULL: no Authorization header */
	const char *body;        /* JSON, NULL for none */
	size_t body_len;
	long timeout_ms;         /* whole request; 0: 30 s */
};

struct httpc_resp {
	long status;
	char *body;
	size_t len;
	double retry_after_s;    /* Retry-After in seconds, -1 when absent */
};

int httpc_global_init(void);
void httpc_global_cleanup(void);
/* NULL + errno on failure. */
struct httpc *httpc_new(void);
void httpc_free(struct httpc *h);
int httpc_do(struct httpc *h, const struct httpc_req *rq, struct httpc_resp *rs,
	     char *why, size_t cap);
void httpc_resp_free(struct httpc_resp *rs);

#endif
