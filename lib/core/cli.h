/*
 * cli.h — the command-line prologue the long-running programs share:
 * `--config FILE`, `--print-config`, `--print-layout`, `--help`, config
 * loading and log setup.
 * Exiting stays in main(): cli_start() only says whether to go on and with
 * which exit code to stop otherwise.
 *
 * Thread safety: call from main() before any thread starts (both calls set
 * process-wide state: the log and the signal dispositions).
 */
#ifndef JT_CLI_H
#define JT_CLI_H

#include <signal.h>

#include "config.h"

/*
 * Parses argv, loads cfg and calls log_init(program, …).  Returns 0 when the
 * program should run (cfg loaded; the caller frees it), or 1 when it should
 * exit now with *exit_code (help, --print-config and --print-layout printed:
 * 0; usage or config error reported on stderr: 2; a layout that does not
 * resolve: 2).
 */
int cli_start(const char *program, int argc, char **argv, struct jt_config *cfg,
	      int *exit_code);

/*
 * The process's stop flag: SIGINT and SIGTERM set it to 1 (and nothing else);
 * SIGPIPE is ignored (sockets report EPIPE).  Call once from main(); the flag
 * is the one piece of process-global state, because a signal handler can
 * reach nothing else.  Code that must stop the process may set it too.
 */
volatile sig_atomic_t *cli_stop_on_signals(void);
/* Set to 1 by SIGHUP (reload); the caller clears it.  The same reasoning. */
volatile sig_atomic_t *cli_reload_on_sighup(void);

#endif
