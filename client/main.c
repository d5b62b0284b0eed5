/*
 * jouletrace — the command-line client of the service: submit code and watch
 * it measured, a task's status, cancel, verify a seal, compare tasks.
 * The commands, options and exit codes: client/args.c's usage text (--help)
 * and the README's "Command-line client".
 */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "cli.h"
#include "cmds.h"
#include "httpc.h"
#include "log.h"
#include "outcome.h"
#include "session.h"
#include "submit.h"

int main(int argc, char **argv)
{
	struct client_args a;
	char why[256] = "";
	int rc;

	log_init("jouletrace", LOG_LVL_WARN, LOG_FMT_TEXT);
	if (client_args_parse(argc, argv, getenv("JOULETRACE_URL"), getenv("JOULETRACE_TOKEN"),
			      &a, why, sizeof why)) {
		fprintf(stderr, "jouletrace: %s (jouletrace --help lists the commands)\n", why);
		return EXIT_USAGE;
	}
	if (a.cmd == CMD_HELP) {
		fputs(client_usage(), stdout);
		return EXIT_OK;
	}
	if (httpc_global_init()) {
		fputs("jouletrace: cannot initialise libcurl\n", stderr);
		return EXIT_USAGE;
	}
	struct session s = { .a = &a, .h = httpc_new(), .stop = cli_stop_on_signals(),
			     .out = stdout, .err = stderr };
	if (!s.h) {
		fputs("jouletrace: out of memory\n", stderr);
		httpc_global_cleanup();
		return EXIT_USAGE;
	}
	switch (a.cmd) {
	case CMD_SUBMIT: rc = submit_run(&s); break;
	case CMD_STATUS: rc = cmd_status(&s); break;
	case CMD_CANCEL: rc = cmd_cancel(&s); break;
	case CMD_VERIFY: rc = cmd_verify(&s); break;
	case CMD_COMPARE: rc = cmd_compare(&s); break;
	default: rc = EXIT_USAGE; break;
	}
	httpc_free(s.h);
	httpc_global_cleanup();
	return rc;
}
