/*
 * jouletrace-calibrate — measure the idle power of the measurement package and
 * write the calibration profile (SPEC §6).
 *
 * Exit codes: 0 profile written; 1 refused (CPUs busy or power too noisy);
 * 2 usage, configuration or meter set-up error; 3 failed (sampling, I/O,
 * interrupted).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calib_run.h"
#include "cli.h"
#include "config.h"
#include "cpuset.h"
#include "hostid.h"
#include "log.h"
#include "meter.h"
#include "station.h"
#include "util.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_FAILED 3
#define PROGRESS_EVERY_SECONDS 5.0

static void usage(FILE *f)
{
	fputs("usage: jouletrace-calibrate [--config FILE] [--duration SECONDS] "
	      "[--output FILE] [--force] [--check]\n"
	      "  Samples the idle power of the measurement CPUs' package (and DRAM) and\n"
	      "  writes the calibration profile (default: calibration_file from the config).\n"
	      "  --duration S  seconds to sample, 2..86400 (default 30)\n"
	      "  --force       write the profile even when the CPUs were busy or noisy\n"
	      "  --check       only say whether the existing profile is valid here (exit 0/1)\n"
	      "exit: 0 written (or valid), 1 refused (busy/noisy; or not valid), 2 usage/config/meter\n"
	      "error, 3 failed\n",
	      f);
}

struct progress_state {
	double last_print;
};

static void progress(void *arg, const struct calib_progress *p)
{
	struct progress_state *st = arg;
	if (p->elapsed_seconds - st->last_print < PROGRESS_EVERY_SECONDS && p->sample != p->total)
		return;
	st->last_print = p->elapsed_seconds;
	fprintf(stderr, "calibrating: %u/%u samples, %.0f s, package %.3f W, dram %.3f W\n",
		p->sample, p->total, p->elapsed_seconds, p->package_watts, p->dram_watts);
}

/* mkdir -p of path's directory part, so a fresh checkout can write config/... */
static int make_parent_dirs(const char *path)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
		return -ENAMETOOLONG;
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* --check: is the existing profile valid for this host, meter and CPU set? */
static int check_profile(const char *path, const struct station *st, const char *mcpus)
{
	struct calib_profile cur;
	char reason[512];
	int ret = calib_load_checked(path, st->host.fingerprint, meter_backend(st->meter), mcpus,
				     util_realtime_ns(), &cur, reason, sizeof reason);
	if (ret == 0)
		printf("calibration %s is valid (%s, idle package %.3f W, measured %s)\n",
		       path, cur.meter_backend, cur.idle_package_watts, cur.measured_at);
	else
		printf("calibration %s is not valid: %s\n", path, reason);
	return ret == 0 ? 0 : EXIT_REFUSED;
}

/* What was written, for the operator. */
static void print_profile(const char *path, const struct calib_profile *prof,
			  const struct station *st, const char *note)
{
	char until[UTIL_RFC3339_LEN];
	util_rfc3339(prof->measured_at_ns + (uint64_t)prof->valid_until_days * 86400ull * 1000000000ull,
		     until);
	printf("calibration written to %s\n"
	       "  meter          %s%s\n"
	       "  socket         %d, CPUs %s%s\n"
	       "  idle package   %.3f W (mean %.3f, stddev %.3f, CV %.2f%%)\n"
	       "  idle dram      %.3f W (mean %.3f, stddev %.3f)\n"
	       "  samples        %ld over %.1f s\n"
	       "  background     package CPUs %s %.1f%% busy%s\n"
	       "  measured at    %s, valid until %s\n"
	       "  host           %s\n"
	       "  sha256         %s\n"
	       "  note           %s\n",
	       path, prof->meter_backend, meter_estimated(st->meter) ? " (estimated)" : "",
	       prof->socket, prof->measurement_cpus, st->layout.shared_package ? " (shared package)" : "",
	       prof->idle_package_watts, prof->mean_package_watts, prof->stddev_package_watts,
	       prof->cv_percent, prof->idle_dram_watts, prof->mean_dram_watts,
	       prof->stddev_dram_watts, prof->samples, prof->duration_seconds, prof->busy_cpus,
	       prof->background_busy_percent, prof->forced ? " (FORCED despite a refusal)" : "",
	       prof->measured_at,
	       until, prof->host_fingerprint, prof->sha256, note);
}

struct args {
	const char *config_path, *output;
	double duration;
	bool force, check;
};

/* The command line into a; -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	*a = (struct args){ .duration = 30 };
	while ((opt = getopt_long(argc, argv, "c:d:o:fh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': a->config_path = optarg; break;
		case 'o': a->output = optarg; break;
		case 'f': a->force = true; break;
		case 'k': a->check = true; break;
		case 'h': usage(stdout); return 0;
		case 'd':
			if (util_parse_double(optarg, &a->duration) < 0 || a->duration < 2 ||
			    a->duration > 86400) {
				fprintf(stderr, "jouletrace-calibrate: --duration '%s': need 2..86400 "
					"seconds\n", optarg);
				return EXIT_USAGE;
			}
			break;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "jouletrace-calibrate: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct args a;
	struct jt_config cfg = { 0 };
	struct config_error cerr = { { 0 } };
	struct station st = { 0 };
	int rc = parse_args(argc, argv, &a), ret;

	if (rc >= 0)
		return rc;
	rc = EXIT_USAGE;
	const char *config_path = a.config_path, *output = a.output;
	double duration = a.duration;
	bool force = a.force, check = a.check;

	if (config_load(&cfg, config_path, config_path != NULL, NULL, &cerr) < 0) {
		fprintf(stderr, "jouletrace-calibrate: %s\n", cerr.msg);
		goto out;
	}
	enum log_level lvl = LOG_LVL_INFO;
	enum log_format fmt = LOG_FMT_TEXT;
	log_level_parse(cfg.log_level, &lvl);
	log_format_parse(cfg.log_format, &fmt);
	log_init("jouletrace-calibrate", lvl, fmt);

	/* pinned to the infra CPUs: sleeping on the measured ones would still wake them */
	char why[1024];
	if (station_open(&st, &cfg, STATION_METER, why, sizeof why)) {
		log_error("%s", why);
		goto out;
	}
	const struct cpu_layout *layout = &st.layout;
	struct meter *m = st.meter;
	char mcpus[512] = "", icpus[512] = "";
	cpuset_format(&layout->measurement, mcpus, sizeof mcpus);
	cpuset_format(&layout->infra, icpus, sizeof icpus);
	log_info("measurement CPUs %s (socket %d%s), infra CPUs %s: %s", mcpus, layout->socket,
		 layout->shared_package ? ", shared package" : "", icpus, layout->why);
	log_info("meter: %s", st.meter_why);

	if (check) {
		rc = check_profile(output ? output : cfg.calibration_file, &st, mcpus);
		goto out;
	}

	/* calib_run polls it between reads */
	volatile sig_atomic_t *stop = cli_stop_on_signals();

	struct progress_state ps = { 0 };
	struct calib_run_opts ro = {
		.duration_seconds = duration, .sample_interval_ms = 1000,
		.max_cv_percent = cfg.calibration_max_cv_percent,
		.max_busy_percent = cfg.calibration_max_busy_percent,
		.cpus = &layout->measurement, /* work on its other CPUs is package power too */
		.package_cpus = &layout->package, .proc_root = "",
		.measurement_cpus = mcpus,
		.socket = layout->socket, .host_fingerprint = st.host.fingerprint,
		.valid_until_days = cfg.calibration_valid_days,
		.progress = progress, .progress_arg = &ps, .stop = stop,
	};
	struct calib_profile prof;
	char reason[512];
	fprintf(stderr, "calibrating %s%s for %.0f s: keep the machine idle\n",
		meter_backend(m), meter_estimated(m) ? " (estimated)" : "", duration);
	ret = calib_run(m, &ro, &prof, reason, sizeof reason);
	if (ret == -EBUSY || ret == -ERANGE) {
		if (!force) {
			fprintf(stderr, "jouletrace-calibrate: refused: %s\n"
				"(use --force to write this profile anyway)\n", reason);
			rc = EXIT_REFUSED;
			goto out;
		}
		log_warn("writing despite refusal (--force): %s", reason);
		/* said in the file, and so in every result and seal that uses it */
		prof.forced = true;
		snprintf(prof.forced_reason, sizeof prof.forced_reason, "%.255s", reason);
	} else if (ret < 0) {
		fprintf(stderr, "jouletrace-calibrate: failed: %s\n", reason);
		rc = EXIT_FAILED;
		goto out;
	}

	const char *path = output ? output : cfg.calibration_file;
	if ((ret = make_parent_dirs(path)) < 0 || (ret = calib_write(path, &prof)) < 0) {
		fprintf(stderr, "jouletrace-calibrate: writing %s: %s\n", path, strerror(-ret));
		rc = EXIT_FAILED;
		goto out;
	}
	print_profile(path, &prof, &st, reason);
	rc = 0;
out:
	station_close(&st);
	config_free(&cfg);
	return rc;
}
