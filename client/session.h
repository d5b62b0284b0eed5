/*
 * session.h — the client's calls to the service's API: one request through
 * httpc to --server, the JSON answer parsed, and failures said once, on
 * stderr, with the exit code they mean (outcome.h).
 *
 * Ownership: a session borrows its args, httpc and stop flag; an answer's
 * json is owned by the answer (session_answer_free).  Thread safety: one
 * thread (the httpc is not shared).
 */
#ifndef JT_CLIENT_SESSION_H
#define JT_CLIENT_SESSION_H

#include <signal.h>
#include <stdio.h>

#include <jansson.h>

#include "args.h"
#include "httpc.h"

struct session {
	const struct client_args *a;
	struct httpc *h;
	volatile sig_atomic_t *stop;    /* Ctrl-C (cli_stop_on_signals) */
	FILE *out, *err;
};

struct session_answer {
	int err;                /* httpc_do's: 0 when the server answered */
	long status;            /* HTTP status */
	json_t *json;           /* the body parsed; NULL when not JSON */
	double retry_after_s;   /* -1 when absent */
	char why[256];          /* err's reason */
};

/*
 * method path (from "/api/..."), with a JSON body or NULL; timeout_ms 0 for
 * the default.  Always fills ans; returns EXIT_OK for a 2xx JSON answer,
 * EXIT_UNREACHABLE, or EXIT_REFUSED (any other status, or a body that is not
 * JSON).  Prints nothing.
 */
int session_call(struct session *s, const char *method, const char *path, const char *body,
		 size_t len, long timeout_ms, struct session_answer *ans);
/*
 * Says on stderr why a call did not succeed ("server unreachable: ...", or
 * "the server refused (HTTP 404 not_found): task not found" and each field
 * error), with --json the server's error object on stdout too; returns the
 * call's exit code.
 */
int session_report(struct session *s, const struct session_answer *ans, const char *what);
void session_answer_free(struct session_answer *ans);
/* Prints j (indented) on stdout: --json output. */
int session_print_json(struct session *s, const json_t *j);

#endif
