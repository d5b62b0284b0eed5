/* jouletrace-monitor: continuous, signed per-process energy of this host (see monitord.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "monitord.h"

int main(int argc, char **argv)
{
	struct jt_config cfg;
	char why[600] = "";
	int ret = 1;

	if (cli_start("jouletrace-monitor", argc, argv, &cfg, &ret))
		exit(ret);
	struct monitord *m = monitord_new(&cfg, cli_stop_on_signals(), why, sizeof why);
	if (!m) {
		log_error("cannot start: %s", why[0] ? why : strerror(errno));
		goto out;
	}
	ret = monitord_run(m) ? 1 : 0;
	monitord_free(m);
out:
	config_free(&cfg);
	exit(ret);
}
