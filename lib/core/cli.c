/* cli.c — see cli.h. */
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "cpuset.h"
#include "log.h"

static void usage(FILE *f, const char *program)
{
	fprintf(f, "usage: %s [--config FILE] [--print-config] [--print-layout]\n"
		   "  --config FILE    configuration file (default " CONFIG_DEFAULT_PATH ")\n"
		   "  --print-config   print the effective configuration and exit\n"
		   "  --print-layout   print the measurement and infra CPUs this host resolves to\n"
		   "Every key can be overridden with JT_<KEY> in the environment.\n",
		program);
}

/* The resolved CPU layout, for scripts (scripts/start_jouletrace.sh pins to infra). */
static int print_layout(const struct jt_config *cfg, const char *program)
{
	struct cpu_layout l;
	char m[256], i[256], k[256];
	if (cpuset_resolve("", cfg->measurement_cpus, cfg->infra_cpus, &l) != 0) {
		fprintf(stderr, "%s: CPU layout: %s\n", program, l.why);
		return 2;
	}
	cpuset_format(&l.measurement, m, sizeof m);
	cpuset_format(&l.infra, i, sizeof i);
	cpuset_format(&l.package, k, sizeof k);
	printf("measurement_cpus = %s\ninfra_cpus = %s\npackage_cpus = %s\nshared_package = %s\n",
	       m, i, k, l.shared_package ? "true" : "false");
	return 0;
}

int cli_start(const char *program, int argc, char **argv, struct jt_config *cfg,
	      int *exit_code)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "print-config", no_argument, NULL, 'p' },
		{ "print-layout", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = NULL;
	struct config_error cerr;
	enum log_level lvl = LOG_LVL_INFO;
	enum log_format fmt = LOG_FMT_TEXT;
	bool print = false, layout = false;
	int c;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'p': print = true; break;
		case 'l': layout = true; break;
		case 'h': usage(stdout, program); *exit_code = 0; return 1;
		default: usage(stderr, program); *exit_code = 2; return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", program, argv[optind]);
		*exit_code = 2;
		return 1;
	}
	if (config_load(cfg, path, path != NULL, NULL, &cerr)) {
		fprintf(stderr, "%s: %s\n", program, cerr.msg);
		*exit_code = 2;
		return 1;
	}
	if (layout) {
		*exit_code = print_layout(cfg, program);
		config_free(cfg);
		return 1;
	}
	if (print) {
		char buf[16384];
		config_dump(cfg, buf, sizeof buf);
		fputs(buf, stdout);
		config_free(cfg);
		*exit_code = 0;
		return 1;
	}
	log_level_parse(cfg->log_level, &lvl);
	log_format_parse(cfg->log_format, &fmt);
	log_init(program, lvl, fmt);
	return 0;
}

static volatile sig_atomic_t stop_flag;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static volatile sig_atomic_t reload_flag;

static void on_reload_signal(int sig)
{
	(void)sig;
	reload_flag = 1;
}

volatile sig_atomic_t *cli_reload_on_sighup(void)
{
	struct sigaction sa = { .sa_handler = on_reload_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	return &reload_flag;
}

volatile sig_atomic_t *cli_stop_on_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return &stop_flag;
}
