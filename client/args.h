/*
 * args.h — the command line of `jouletrace` (the client), parsed into plain
 * values; no I/O.  Usage errors give -EINVAL and a reason (exit 2).
 *
 *   jouletrace [OPTIONS] submit FILE.py --tests TESTS.json [--function NAME]
 *                               [--trials N] [--wait] [--candidate-id S] [--problem S]
 *   jouletrace [OPTIONS] status ID
 *   jouletrace [OPTIONS] cancel ID
 *   jouletrace [OPTIONS] verify SEAL.json|- [--pubkey FILE]
 *   jouletrace [OPTIONS] compare ID1 ID2 ...
 *   OPTIONS: --server URL (JOULETRACE_URL), --token T (JOULETRACE_TOKEN), --json
 *
 * Ownership: the strings point into argv or the environment values given.
 * Thread safety: uses getopt (process-wide optind), so one caller at a time.
 */
#ifndef JT_CLIENT_ARGS_H
#define JT_CLIENT_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#define CLIENT_DEFAULT_URL "http://127.0.0.1:8000"
#define CLIENT_MAX_IDS 20      /* COMPARE_MAX_TASKS */

enum client_cmd { CMD_HELP, CMD_SUBMIT, CMD_STATUS, CMD_CANCEL, CMD_VERIFY, CMD_COMPARE };

struct client_args {
	enum client_cmd cmd;
	const char *server;        /* without a trailing '/' problem: callers join with "/api" */
	const char *token;         /* NULL: none */
	bool json;
	bool wait;
	const char *file;          /* submit: FILE.py; verify: SEAL.json */
	const char *function;      /* default "solve" */
	const char *tests;         /* TESTS.json */
	int trials;                /* 0: the server's default */
	const char *candidate_id, *problem_name;
	const char *pubkey;        /* verify: NULL asks the server's GET /api/v1/keys */
	const char *ids[CLIENT_MAX_IDS];
	size_t nids;
};

/* env_url / env_token: JOULETRACE_URL / JOULETRACE_TOKEN or NULL (empty = unset). */
int client_args_parse(int argc, char **argv, const char *env_url, const char *env_token,
		      struct client_args *a, char *why, size_t cap);
/* The usage text, exit codes included (`jouletrace --help`). */
const char *client_usage(void);

#endif
