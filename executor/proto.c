/* proto.c — see proto.h. */
#include "proto.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"

int proto_fail(struct proto_error *e, int err, const char *type, const char *fmt, ...)
{
	va_list ap;
	snprintf(e->type, sizeof e->type, "%s", type);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return err;
}

int proto_send(struct harness *h, json_t *cmd, struct proto_error *e)
{
	char *s = cmd ? json_dumps(cmd, JSON_COMPACT) : NULL;
	json_decref(cmd);
	if (!s)
		return proto_fail(e, -ENOMEM, "internal", "out of memory");
	int err = harness_send(h, s, strlen(s));
	free(s);
	if (err)
		return proto_fail(e, err, "runtime_error", "the candidate process ended early");
	return 0;
}

/* The harness died: say why in the candidate's terms. */
static int died(struct harness *h, int err, struct proto_error *e)
{
	struct harness_exit ex = { 0 };
	size_t len = 0;
	const char *tail = harness_stderr(h, &len);

	harness_exit_status(h, &ex);
	if (ex.seccomp_kill)
		return proto_fail(e, err, "sandbox_violation",
				  "the candidate made a forbidden system call (killed by the sandbox's "
				  "seccomp filter)");
	if (ex.oom_kill)
		return proto_fail(e, err, "memory_limit", "the sandbox's memory limit was exceeded");
	if (ex.signal == SIGXCPU)
		return proto_fail(e, err, "timeout", "CPU time limit reached");
	if (ex.signal == SIGKILL && !ex.killed_by_us)
		return proto_fail(e, err, "memory_limit", "the candidate was killed (out of memory?)");
	if (len > 300)
		tail += len - 300, len = 300;
	return proto_fail(e, err, "runtime_error",
			  "the candidate process ended (exit %d, signal %d): %.*s", ex.code,
			  ex.signal, (int)len, tail ? tail : "");
}

int proto_recv(struct harness *h, uint64_t deadline_ns, int poll_ms,
	       int (*poll_cb)(void *), void *ctx, json_t **out, struct proto_error *e)
{
	char *line = NULL;
	json_error_t jerr;
	int err = harness_recv(h, deadline_ns, poll_ms, poll_cb, ctx, &line);

	*out = NULL;
	switch (err) {
	case 0:
		break;
	case -ECANCELED:
		return proto_fail(e, err, "cancelled", "cancelled while the candidate ran");
	case -ETIMEDOUT:
		return proto_fail(e, err, "timeout", "the candidate exceeded timeout_seconds");
	case -EMSGSIZE:
		/* harness.py keeps every line under the limit: this was written by
		 * candidate code on the protocol channel */
		return proto_fail(e, err, "tampering_suspected",
				  "the candidate process sent a message over the size limit");
	case -EPIPE:
		return died(h, err, e);
	default:
		return proto_fail(e, err, "internal", "harness I/O: %s", strerror(-err));
	}
	/* an output string may hold U+0000: it is compared, not refused */
	*out = json_loads(line, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	free(line);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return proto_fail(e, -EPROTO, "tampering_suspected",
				  "the candidate process sent a line that is not a JSON object");
	}
	return 0;
}

int proto_candidate_error(const json_t *reply, struct proto_error *e)
{
	const char *type = json_string_value(json_object_get(reply, "error_type"));
	const char *text = json_string_value(json_object_get(reply, "error"));
	return proto_fail(e, -EPROTO, type ? type : "runtime_error", "%s",
			  text ? text : "the candidate failed");
}
