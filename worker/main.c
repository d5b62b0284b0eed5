/* jouletrace-worker: runs measure and validate jobs from Redis (see worker.h). */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cpuset.h"
#include "log.h"
#include "worker.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fputs("usage: jouletrace-worker [--config FILE] [--print-config]\n", f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "print-config", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = NULL;
	bool print = false;
	struct jt_config cfg;
	struct config_error cerr;
	enum log_level lvl = LOG_LVL_INFO;
	enum log_format fmt = LOG_FMT_TEXT;
	char why[600] = "";
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'p': print = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (config_load(&cfg, path, path != NULL, NULL, &cerr)) {
		fprintf(stderr, "jouletrace-worker: %s\n", cerr.msg);
		return 2;
	}
	if (print) {
		char buf[16384];
		config_dump(&cfg, buf, sizeof buf);
		fputs(buf, stdout);
		config_free(&cfg);
		return 0;
	}
	log_level_parse(cfg.log_level, &lvl);
	log_format_parse(cfg.log_format, &fmt);
	log_init("jouletrace-worker", lvl, fmt);

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct worker *w = worker_new(&cfg, &stop_flag, why, sizeof why);
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
