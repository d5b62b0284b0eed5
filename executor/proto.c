/* proto.c — see proto.h. */
#include "proto.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"

int proto_send(struct harness *h, json_t *cmd, struct candidate_error *e)
{
	char *s = cmd ? json_dumps(cmd, JSON_COMPACT) : NULL;
	json_decref(cmd);
	if (!s)
		return candidate_fail(e, -ENOMEM, "internal", "out of memory");
	int err = harness_send(h, s, strlen(s));
	free(s);
	if (err)
		return candidate_fail(e, err, "runtime_error", "the candidate process ended early");
	return 0;
}

/* The harness died: say why in the candidate's terms. */
static int died(struct harness *h, int err, struct candidate_error *e)
{
	struct harness_exit ex = { 0 };
	size_t len = 0;
	const char *tail = harness_stderr(h, &len);

	harness_exit_status(h, &ex);
	if (ex.seccomp_kill)
		return candidate_fail(e, err, "sandbox_violation",
				  "the candidate made a forbidden system call (killed by the sandbox's "
				  "seccomp filter)");
	if (ex.oom_kill)
		return candidate_fail(e, err, "memory_limit", "the sandbox's memory limit was exceeded");
	if (ex.signal == SIGXCPU)
		return candidate_fail(e, err, "timeout", "CPU time limit reached");
	if (ex.signal == SIGKILL && !ex.killed_by_us)
		return candidate_fail(e, err, "memory_limit", "the candidate was killed (out of memory?)");
	if (len > 300)
		tail += len - 300, len = 300;
	return candidate_fail(e, err, "runtime_error",
			  "the candidate process ended (exit %d, signal %d): %.*s", ex.code,
			  ex.signal, (int)len, tail ? tail : "");
}

static int not_object(struct candidate_error *e)
{
	return candidate_fail(e, -EPROTO, "tampering_suspected",
			      "the candidate process sent a line that is not a JSON object");
}

int proto_parse_reply(const char *line, size_t len, json_t **out, struct candidate_error *e)
{
	json_error_t jerr;
	/* jansson 2.14 skips a raw NUL right after a number or literal: refuse
	 * it here (an output string may hold U+0000, escaped: that is compared) */
	*out = memchr(line, '\0', len) ? NULL :
	       json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return not_object(e);
	}
	return 0;
}

int proto_recv(struct harness *h, uint64_t deadline_ns, int poll_ms,
	       int (*poll_cb)(void *), void *ctx, json_t **out, struct candidate_error *e)
{
	char *line = NULL;
	int err = harness_recv(h, deadline_ns, poll_ms, poll_cb, ctx, &line);

	*out = NULL;
	switch (err) {
	case 0:
		break;
	case -ECANCELED:
		return candidate_fail(e, err, "cancelled", "cancelled while the candidate ran");
	case -ETIMEDOUT:
		return candidate_fail(e, err, "timeout", "the candidate exceeded timeout_seconds");
	case -EMSGSIZE:
		/* harness.py keeps every line under the limit: this was written by
		 * candidate code on the protocol channel */
		return candidate_fail(e, err, "tampering_suspected",
				  "the candidate process sent a message over the size limit");
	case -EPROTO:
		return not_object(e);
	case -EPIPE:
		return died(h, err, e);
	default:
		return candidate_fail(e, err, "internal", "harness I/O: %s", strerror(-err));
	}
	err = proto_parse_reply(line, strlen(line), out, e);
	free(line);
	return err;
}

/* The error types harness.py reports (error_type_of, and its own failures). */
static const char *const harness_error_types[] = { "runtime_error", "memory_limit", "internal" };

int proto_candidate_error(const json_t *reply, struct candidate_error *e)
{
	const char *type = json_string_value(json_object_get(reply, "error_type"));
	const char *text = json_string_value(json_object_get(reply, "error"));
	bool known = !type;

	for (size_t i = 0; !known && i < sizeof harness_error_types / sizeof *harness_error_types; i++)
		known = strcmp(type, harness_error_types[i]) == 0;
	/* Any other type ("host_busy", "", ...) was written by candidate code on
	 * the protocol channel: it must not choose how its task fails. */
	if (!known)
		return candidate_fail(e, -EPROTO, "tampering_suspected", "the candidate process "
				      "reported a failure of a kind the harness never reports");
	return candidate_fail(e, -EPROTO, type ? type : "runtime_error", "%s",
			      text ? text : "the candidate failed");
}

/* ---- the trial engine's candidate (candidate.h) ------------------------------ */

/* Anything out of turn: only candidate code can have written it. */
static int out_of_turn(struct candidate_error *e, const char *when)
{
	return candidate_fail(e, -EPROTO, "tampering_suspected",
			      "the candidate process answered out of turn %s", when);
}

/* run/ready; a false "ready" is the candidate's error. */
/* proto_recv under a candidate_wait */
static int recv_w(struct harness *h, const struct candidate_wait *w, json_t **msg,
		  struct candidate_error *e)
{
	return proto_recv(h, w->deadline_ns, w->poll_ms, w->poll, w->ctx, msg, e);
}

static int c_prepare(void *ctx, long passes, const long *keep, size_t k,
		     const struct candidate_wait *w, struct candidate_error *e)
{
	struct harness *h = ctx;
	json_t *msg = NULL, *ks = json_array();
	for (size_t i = 0; ks && i < k; i++)
		json_array_append_new(ks, json_integer(keep[i]));
	int err = proto_send(h, json_pack("{s:s, s:I, s:o}", "cmd", "run", "passes",
					  (json_int_t)passes, "keep", ks), e);
	if (err || (err = recv_w(h, w, &msg, e)))
		return err;
	if (!json_is_true(json_object_get(msg, "ready")))
		err = json_is_false(json_object_get(msg, "ready")) || json_object_get(msg, "ok") ?
			proto_candidate_error(msg, e) : out_of_turn(e, "before a window");
	json_decref(msg);
	return err;
}

static int c_go(void *ctx, struct candidate_error *e)
{
	int err = harness_go(ctx);
	return err ? candidate_fail(e, err, "runtime_error", "the candidate process ended early") : 0;
}

/* The "done" line: the candidate's error, or a count that must agree. */
static int c_finish(void *ctx, size_t kept, const struct candidate_wait *w, uint64_t *reported_ns,
		    struct candidate_error *e)
{
	json_t *msg = NULL;
	int err = recv_w(ctx, w, &msg, e);
	if (err)
		return err;
	if (!json_is_true(json_object_get(msg, "done")))
		err = json_is_false(json_object_get(msg, "done")) ? proto_candidate_error(msg, e)
								   : out_of_turn(e, "in a window");
	/* The harness's count only has to agree: the worker's pass count is used. */
	else if (json_integer_value(json_object_get(msg, "kept")) != (json_int_t)kept)
		err = candidate_fail(e, -EPROTO, "tampering_suspected", "the candidate process "
				     "ended a window without the outputs of every call");
	else
		*reported_ns = (uint64_t)json_integer_value(json_object_get(msg, "ns"));
	json_decref(msg);
	return err;
}

/* show: one line per kept output, in order, then {"ok": true}. */
static int c_outputs(void *ctx, const long *keep, size_t k, size_t n_tests,
		     const struct candidate_wait *w, json_t **out, struct candidate_error *e)
{
	struct harness *h = ctx;
	json_t *msg = NULL;
	size_t got = 0;
	int err = proto_send(h, json_pack("{s:s}", "cmd", "show"), e);

	for (size_t i = 0; !err && i < k; i++) {
		for (size_t c = 0; !err && c < n_tests; c++) {
			if ((err = recv_w(h, w, &msg, e)))
				break;
			json_t *o = json_object_get(msg, "out");
			if (json_integer_value(json_object_get(msg, "j")) != keep[i] ||
			    json_integer_value(json_object_get(msg, "i")) != (json_int_t)c ||
			    !json_is_object(o))
				err = out_of_turn(e, "while its outputs were being checked");
			else
				out[got++] = json_incref(o);
			json_decref(msg);
		}
	}
	if (!err && !(err = recv_w(h, w, &msg, e))) {
		if (!json_is_true(json_object_get(msg, "ok")))
			err = candidate_fail(e, -EPROTO, "tampering_suspected", "the candidate "
					     "process did not finish showing its outputs");
		json_decref(msg);
	}
	if (err)
		while (got)
			json_decref(out[--got]);
	return err;
}

static const struct candidate_ops harness_ops = {
	.prepare = c_prepare, .go = c_go, .finish = c_finish, .outputs = c_outputs,
};

void proto_candidate(struct harness *h, struct candidate *out)
{
	out->ops = &harness_ops;
	out->ctx = h;
}
