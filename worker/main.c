/* jouletrace-worker: runs measure and validate jobs from Redis (see worker.h). */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "worker.h"

int main(int argc, char **argv)
{
	struct jt_config cfg;
	char why[600] = "";
	int ret = 1;

	if (cli_start("jouletrace-worker", argc, argv, &cfg, &ret))
		return ret;
	struct worker *w = worker_new(&cfg, cli_stop_on_signals(), why, sizeof why);
	if (!w) {
		log_error("cannot start: %s", why[0] ? why : strerror(errno));
		goto out;
	}
	ret = worker_run(w) ? 1 : 0;
	worker_free(w);
out:
	config_free(&cfg);
	return ret;
}
