/*
 * outcome.h — the exit codes of `jouletrace` (documented in its --help and
 * the README; scripts rely on them) and how outcomes map to them.
 * Thread safety: pure functions.
 */
#ifndef JT_CLIENT_OUTCOME_H
#define JT_CLIENT_OUTCOME_H

enum client_exit {
	EXIT_OK = 0,            /* completed, or the command did what was asked */
	EXIT_FAILED = 1,        /* the task failed; verify: the seal is invalid */
	EXIT_USAGE = 2,         /* bad arguments, unreadable or bad input files */
	EXIT_CANCELLED = 3,     /* the task was cancelled */
	EXIT_UNREACHABLE = 4,   /* connect, DNS or timeout */
	EXIT_REFUSED = 5,       /* the server answered 4xx/5xx */
	EXIT_INTERRUPTED = 130, /* Ctrl-C during --wait: polling stopped, the task goes on */
};

/* A final task status → its exit code; queued/running (not final) → EXIT_OK. */
int client_exit_of_status(const char *status);
/* An httpc_do error (-errno) → EXIT_UNREACHABLE for connect/DNS/timeout,
 * else EXIT_REFUSED (a broken or oversized answer is the server's fault too). */
int client_exit_of_error(int err);
/* An HTTP status → EXIT_OK for 2xx, else EXIT_REFUSED. */
int client_exit_of_http(long status);

#endif
