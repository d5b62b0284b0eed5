/* jouletrace-server: the HTTP front end (see api.h, http.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "http.h"
#include "log.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fputs("usage: jouletrace-server [--config FILE] [--print-config]\n", f);
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
	struct http_server *srv = NULL;
	struct api *api = NULL;
	char why[512] = "";
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
		fprintf(stderr, "jouletrace-server: %s\n", cerr.msg);
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
	log_init("jouletrace-server", lvl, fmt);

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	api = api_new(&cfg, why, sizeof why);
	if (!api) {
		log_error("cannot start: %s", why[0] ? why : strerror(errno));
		goto out;
	}
	struct http_options ho = {
		.listen = cfg.listen,
		.max_body_bytes = (size_t)cfg.max_body_bytes,
		.threads = (unsigned)cfg.server_threads,
		.max_connections = (unsigned)cfg.max_connections,
		.connection_timeout_s = 30,
	};
	srv = http_start(&ho, api_handle, api);
	if (!srv) {
		log_error("cannot listen on %s: %s", cfg.listen, strerror(errno));
		goto out;
	}
	log_info("listening on %s (port %d), %ld threads", cfg.listen, http_port(srv),
		 cfg.server_threads);
	while (!stop_flag)
		pause();
	log_info("shutting down");
	ret = 0;
out:
	http_stop(srv);
	api_free(api);
	config_free(&cfg);
	return ret;
}
