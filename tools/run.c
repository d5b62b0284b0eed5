/*
 * jouletrace-run — measure one local command like `perf stat`, with the
 * service's meter, calibration and attribution, and write a signed seal.
 *
 *   jouletrace-run [--config FILE] [--cpu N] [--timeout S] [--sandbox]
 *                  [--seal FILE | --no-seal] -- COMMAND [ARG...]
 *
 * The command runs pinned to a measurement CPU; the energy window spans its
 * whole life (exec to exit, like perf stat), read every 20 ms so no counter
 * wrap is missed.  By default it runs as the caller, unsandboxed (an operator
 * measuring their own command); --sandbox runs it in the candidates' sandbox
 * (executor_spawn_command: same controls, sandbox_mandatory, uid, rootfs view,
 * rlimits and cgroups) with fds 0-2 inherited.  Exit status: the command's
 * own, or 125 when jouletrace-run itself failed or a mandatory sandbox control
 * is missing (126/127 when the command could not be executed).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attrib.h"
#include "calib.h"
#include "cli.h"
#include "config.h"
#include "cpuset.h"
#include "executor.h"
#include "hostid.h"
#include "jcs.h"
#include "log.h"
#include "measure.h"
#include "meter.h"
#include "oncpu.h"
#include "payload.h"
#include "redis.h"
#include "seal.h"
#include "sealchain.h"
#include "station.h"
#include "util.h"

#define EXIT_OURS 125
#define POLL_MS 20
/* A request's default memory_limit_mb (SPEC §4): the candidates' usual limit. */
#define SANDBOX_MEMORY_MB 512

struct run {
	struct jt_config cfg;
	const char *seal_path;
	bool no_seal;
	int cpu;
	double timeout_s;
	bool sandbox;
	char **argv;
	volatile sig_atomic_t *stop;  /* SIGINT/SIGTERM (cli_stop_on_signals) */

	struct station st;        /* layout, identity, meter, on-CPU source */
	struct calib_profile calib;
	bool calibrated;
	char calib_why[512];

	struct measure_result mr;
	struct attrib_window attr;
	int status;              /* waitpid status */
	pid_t child;
	struct rusage ru;        /* the command and its waited-for descendants */
	bool spawn_reported;     /* spawn() already said why it failed */
	struct exec_command cmd; /* with --sandbox */
	json_t *sandbox_json;    /* its sandbox_report_json(); NULL without --sandbox */
	struct sandbox_status sbx_status;
};

static void usage(FILE *f)
{
	fputs("usage: jouletrace-run [--config FILE] [--cpu N] [--timeout S] [--sandbox]\n"
	      "                      [--seal FILE | --no-seal] -- COMMAND [ARG...]\n"
	      "  Runs COMMAND pinned to a measurement CPU, measures its energy with the\n"
	      "  configured meter (net of the calibrated idle power), splits it between\n"
	      "  processes by on-CPU time, prints a summary, and writes a signed seal\n"
	      "  (default ./jouletrace-run.seal.json; the sequence chain lives in Redis).\n"
	      "  --sandbox  run COMMAND in the candidates' sandbox (namespaces, sandbox_user,\n"
	      "             seccomp, rlimits, cgroups, read-only /usr view; stdin/stdout/\n"
	      "             stderr inherited); refused when a sandbox_mandatory control is\n"
	      "             missing.  COMMAND must lie under /usr, /bin, /sbin or /lib*.\n"
	      "             Default: unsandboxed, as the caller.\n"
	      "exit: the command's status; 125 jouletrace-run failed or the sandbox was\n"
	      "      refused; 126/127 not executable\n",
	      f);
}

/* The candidates' sandbox as the configuration sets it, on the one CPU. */
static int spawn_sandboxed(struct run *r)
{
	struct exec_options o;
	char why[1024];
	memset(&o, 0, sizeof o);
	cpuset_zero(&o.cpus);
	cpuset_set(&o.cpus, r->cpu);
	o.memory_limit_mb = SANDBOX_MEMORY_MB;
	o.cpu_seconds = r->timeout_s > 0 ? (long)ceil(r->timeout_s) : 0;
	o.max_processes = r->cfg.sandbox_max_processes;
	o.max_file_bytes = r->cfg.sandbox_max_file_bytes;
	o.max_open_files = r->cfg.sandbox_max_open_files;
	o.tmp_parent = "/tmp";
	o.sandbox_user = r->cfg.sandbox_user;
	o.sandbox_mandatory = r->cfg.sandbox_mandatory;
	o.sandbox_tmpfs_mb = r->cfg.sandbox_tmpfs_mb;
	int err = executor_spawn_command(&o, r->argv, &r->cmd, why, sizeof why);
	r->spawn_reported = err != 0;
	if (err == -ENOTSUP)
		fprintf(stderr, "jouletrace-run: refusing to run the command: mandatory sandbox "
			"controls missing: %s\n", why);
	else if (err)
		fprintf(stderr, "jouletrace-run: --sandbox: %s\n", why);
	if (err)
		return err;
	r->child = r->cmd.proc.pid;
	if (!(r->sandbox_json = sandbox_report_json(&r->cmd.proc.report)))
		return -ENOMEM;
	return 0;
}

/* Forks the command pinned to the CPU; a CLOEXEC pipe carries an exec failure back. */
static int spawn(struct run *r)
{
	if (r->sandbox)
		return spawn_sandboxed(r);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	r->child = fork();
	if (r->child < 0) {
		int e = errno;
		close(pfd[0]);
		close(pfd[1]);
		return -e;
	}
	if (r->child == 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(r->cpu, &set);
		int e = 0;
		if (sched_setaffinity(0, sizeof set, &set) < 0 || setpgid(0, 0) < 0)
			e = errno;
		else
			execvp(r->argv[0], r->argv);
		e = e ? e : errno;
		ssize_t w = write(pfd[1], &e, sizeof e);
		(void)w;
		_exit(e == ENOENT ? 127 : 126);
	}
	close(pfd[1]);
	int e = 0;
	ssize_t n = read(pfd[0], &e, sizeof e);
	close(pfd[0]);
	if (n == (ssize_t)sizeof e) {
		fprintf(stderr, "jouletrace-run: %s: %s\n", r->argv[0], strerror(e));
		r->spawn_reported = true;
		waitpid(r->child, &r->status, 0);
		return -e;
	}
	return 0;
}

/*
 * The /proc source reads live processes, and the command has exited by now:
 * its tree's CPU time comes from wait4's rusage instead (it includes every
 * descendant it waited for), as one candidate row.
 */
static int add_rusage(struct run *r, struct oncpu_snapshot *d)
{
	struct oncpu_entry *e = realloc(d->e, (d->n + 1) * sizeof *e);
	if (!e)
		return -ENOMEM;
	d->e = e;
	e = &d->e[d->n++];
	memset(e, 0, sizeof *e);
	e->pid = e->tgid = r->child;
	e->ppid = getpid();
	const char *base = strrchr(r->argv[0], '/');
	snprintf(e->comm, sizeof e->comm, "%s", base ? base + 1 : r->argv[0]);
	e->oncpu_ns = (uint64_t)(r->ru.ru_utime.tv_sec + r->ru.ru_stime.tv_sec) * 1000000000ull +
		      (uint64_t)(r->ru.ru_utime.tv_usec + r->ru.ru_stime.tv_usec) * 1000ull;
	e->measurement_ns = e->oncpu_ns;   /* pinned to the measurement CPU */
	return 0;
}

static int measure(struct run *r)
{
	struct meter_reading before, after, scratch;
	struct oncpu_snapshot a = { 0 }, b = { 0 }, d = { 0 };
	struct measure_trial *t = &r->mr.trials[0];
	int err;

	if ((err = meter_read(r->st.meter, &before)) || (err = oncpu_snapshot(r->st.oncpu, &a)))
		goto out;
	if ((err = spawn(r)))
		goto out;
	if (oncpu_source(r->st.oncpu) == ONCPU_PROC)
		oncpu_track(r->st.oncpu, r->child);
	uint64_t deadline = r->timeout_s > 0 ? before.t_ns + (uint64_t)(r->timeout_s * 1e9) : 0;
	bool killing = false;
	for (;;) {
		if (r->sandbox) {
			if (sandbox_exited(&r->cmd.proc))
				break;
		} else {
			pid_t w = wait4(r->child, &r->status, WNOHANG, &r->ru);
			if (w == r->child)
				break;
			if (w < 0 && errno != EINTR) {
				err = -errno;
				goto out;
			}
		}
		meter_read(r->st.meter, &scratch); /* never let a counter wrap twice unseen */
		if (*r->stop || (deadline && util_mono_ns() > deadline)) {
			if (!killing)
				fprintf(stderr, "jouletrace-run: %s; killing the command\n",
					*r->stop ? "interrupted" : "timeout");
			killing = true;
			if (r->sandbox) {
				sandbox_kill(&r->cmd.proc);
			} else {
				kill(-r->child, SIGKILL);
				kill(r->child, SIGKILL);
			}
		}
		struct timespec ts = { 0, POLL_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (r->sandbox) {
		/* the zombie pinned the pid until now; the reap also empties the cgroup */
		sandbox_reap(&r->cmd.proc);
		r->status = r->cmd.proc.wstatus;
		r->ru = r->cmd.proc.ru;
		sandbox_status(&r->cmd.proc, &r->sbx_status);
	}
	if ((err = meter_read(r->st.meter, &after)) || (err = oncpu_snapshot(r->st.oncpu, &b)) ||
	    (err = oncpu_diff(&a, &b, &d)))
		goto out;
	if (oncpu_source(r->st.oncpu) == ONCPU_PROC && !oncpu_find(&d, r->child) &&
	    (err = add_rusage(r, &d)))
		goto out;

	/* one window, one "pass": the figures of SPEC §3 with n = 1, split as the
	 * worker splits its windows */
	struct measure_params mp = { .noise_floor_joules = r->cfg.noise_floor_joules };
	if (r->calibrated) {
		mp.idle_watts[METER_PACKAGE] = r->calib.idle_package_watts;
		mp.idle_watts[METER_DRAM] = r->calib.idle_dram_watts;
		mp.idle_stddev_watts[METER_PACKAGE] = r->calib.stddev_package_watts;
		mp.idle_stddev_watts[METER_DRAM] = r->calib.stddev_dram_watts;
	}
	t->seq = 1;
	t->passes = 1;
	t->cpu_share = -1;
	t->share = -1;
	measure_window_figures(&mp, &before, &after, t);
	struct attrib_trial_opts o = {
		.candidate_root = r->child, .service_tgid = getpid(),
		.foreign_max_percent = r->cfg.attribution_foreign_max_percent,
		.measurement_cpus = 1, .shared_package = r->st.layout.shared_package,
		.calib = r->calibrated ? &r->calib : NULL,
	};
	if ((err = attrib_trial_split(&d, &o, t, &r->attr)))
		goto out;
	/* the one trial summarized as the worker summarizes its trials */
	r->mr.n_trials = 1;
	r->mr.passes = 1;
	mp.n_tests = 1;
	measure_summarize(&mp, &r->mr);
	r->mr.stop = STOP_MAX_TRIALS;
out:
	oncpu_snapshot_free(&a);
	oncpu_snapshot_free(&b);
	oncpu_snapshot_free(&d);
	return err;
}

/* Which sandbox the command had: "none", or what was enforced and what not. */
static void sandbox_summary(const struct run *r)
{
	if (!r->sandbox) {
		printf("  sandbox            none\n");
		return;
	}
	const struct sandbox_report *rep = &r->cmd.proc.report;
	printf("  sandbox            uid %u, %s; enforced:", (unsigned)rep->uid,
	       sandbox_kill_mode_name(rep->kill_mode));
	for (int c = 0; c < SANDBOX_NCONTROLS; c++)
		if (rep->applied & SANDBOX_BIT(c))
			printf(" %s", sandbox_control_name(c));
	char missing[2048];
	if (sandbox_report_missing(rep, SANDBOX_ALL, missing, sizeof missing) > 0)
		printf("\n  not enforced       %s", missing);
	printf("\n");
}

static void summary(const struct run *r)
{
	const struct measure_trial *t = &r->mr.trials[0];
	printf("\n jouletrace-run: %s", r->argv[0]);
	for (char **a = r->argv + 1; *a; a++)
		printf(" %s", *a);
	printf("\n\n");
	if (WIFEXITED(r->status))
		printf("  exit status        %d\n", WEXITSTATUS(r->status));
	else
		printf("  killed by signal   %d\n", WTERMSIG(r->status));
	if (r->sandbox && r->sbx_status.seccomp_kill)
		printf("  note               killed by the sandbox's system call filter\n");
	if (r->sandbox && r->sbx_status.oom_kills > 0)
		printf("  note               the sandbox's memory limit was hit\n");
	printf("  CPU                %d (%s%s)\n", r->cpu, meter_backend(r->st.meter),
	       meter_estimated(r->st.meter) ? ", estimated" : "");
	sandbox_summary(r);
	printf("  wall time          %.6f s\n", (double)t->wall_ns / 1e9);
	for (int d = 0; d < METER_NDOMAINS; d++) {
		if (!(t->present & (1u << d)))
			continue;
		if (r->calibrated)
			printf("  %-8s energy    %12.6f J raw  %12.6f J net  (%u wraps)\n",
			       meter_domain_name((enum meter_domain)d), (double)t->raw_uj[d] / 1e6,
			       (double)t->net_uj[d] / 1e6, t->wraps[d]);
		else
			printf("  %-8s energy    %12.6f J raw  (%u wraps)\n",
			       meter_domain_name((enum meter_domain)d), (double)t->raw_uj[d] / 1e6,
			       t->wraps[d]);
	}
	if (!r->calibrated)
		printf("  note               no valid calibration (%s): raw energy only, idle "
		       "included; the split below is of raw energy\n", r->calib_why);
	if (t->share >= 0)
		printf("  command's share    %12.6f J %s  (%.1f %% of the package's busy time; "
		       "the package is shared)\n", t->energy_j, r->calibrated ? "net" : "raw",
		       100 * t->share);
	printf("  attribution        %s, foreign %.2f %% of the CPU\n",
	       oncpu_source_name(oncpu_source(r->st.oncpu)), r->attr.foreign_percent);
	for (size_t i = 0; i < r->attr.n && i < 10; i++) {
		const struct attrib_proc *p = &r->attr.procs[i];
		printf("    %7d %-16s %-9s %10.6f s %12.6f J\n", p->pid, p->comm,
		       attrib_role_name(p->role), (double)p->cpu_ns / 1e9, (double)p->energy_uj / 1e6);
	}
	if (r->attr.n > 10)
		printf("    … %zu more processes\n", r->attr.n - 10);
	printf("    unattributed %37.6f J\n", (double)r->attr.unattributed_uj / 1e6);
}

/* The subject of the seal: the command line, as JCS of {"command": [...]}. */
static int command_sha256(char **argv, char hex[65])
{
	json_t *arr = json_array();
	for (char **a = argv; arr && *a; a++)
		json_array_append_new(arr, json_string(*a));
	json_t *subj = json_pack("{s:o}", "command", arr);
	char *canon = NULL;
	size_t len = 0;
	int err = subj ? jcs_serialize(subj, &canon, &len) : -ENOMEM;
	if (!err)
		util_sha256_hex(canon, len, hex);
	free(canon);
	json_decref(subj);
	return err;
}

static int write_seal(struct run *r)
{
	struct seal_key key;
	struct redis *rd = NULL;
	json_t *payload = NULL, *seal = NULL;
	char why[256] = "", sub[65], id[41] = "run-", now[UTIL_RFC3339_LEN];
	bool created = false;
	char *text = NULL;
	int err;

	memset(&key, 0, sizeof key);
	if ((err = seal_key_load_or_create(r->cfg.key_file, &key, &created, why, sizeof why))) {
		fprintf(stderr, "jouletrace-run: seal key %s: %s\n", r->cfg.key_file, why);
		goto out;
	}
	util_uuid4(id + 4);
	if ((err = command_sha256(r->argv, sub)))
		goto out;
	struct payload_input in = {
		.task_id = id, .submission_sha256 = sub, .calls_per_pass = 1, .mr = &r->mr,
		.attribution = &r->attr,
		.attribution_source = oncpu_source_name(oncpu_source(r->st.oncpu)),
		.host = &r->st.host, .host_id = hostid_name(&r->st.host, r->cfg.host_id),
		.calib = r->calibrated ? &r->calib : NULL, .meter = r->st.meter,
		.layout = &r->st.layout,
		.cpu = r->cpu, .fence = 0, .issued_realtime_ns = util_realtime_ns(),
		.sandbox = r->sandbox_json,
	};
	if (!(payload = payload_build(&in))) {
		err = -EINVAL;
		goto out;
	}
	/* the same per-key chain as the service's seals */
	struct redis_ha ha;
	redis_ha_from_config(&ha, &r->cfg);
	rd = redis_open_ha(r->cfg.redis_url, (int)r->cfg.redis_timeout_ms, &ha);
	util_rfc3339(util_realtime_ns(), now);
	if (!rd || (err = sealchain_register_key(rd, &key, now)) ||
	    (err = sealchain_sign_append(rd, &key, payload, &seal))) {
		err = err ? err : -errno;
		fprintf(stderr, "jouletrace-run: cannot seal: the sequence chain lives in Redis at %s (%s); "
			"pass --no-seal to measure without a seal\n", r->cfg.redis_url, strerror(-err));
		goto out;
	}
	text = json_dumps(seal, JSON_COMPACT);
	if (!text || (err = util_write_file_atomic(r->seal_path, text, strlen(text), 0644))) {
		err = err ? err : -ENOMEM;
		fprintf(stderr, "jouletrace-run: writing %s: %s\n", r->seal_path, strerror(-err));
		goto out;
	}
	printf("\n  seal               %s (key %s, sequence %lld)\n", r->seal_path, key.key_id,
	       (long long)json_integer_value(json_object_get(json_object_get(seal, "payload"),
							      "sequence")));
out:
	free(text);
	json_decref(seal);
	json_decref(payload);
	redis_close(rd);
	seal_key_wipe(&key);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "cpu", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' }, { "seal", required_argument, NULL, 's' },
		{ "no-seal", no_argument, NULL, 'n' }, { "help", no_argument, NULL, 'h' },
		{ "sandbox", no_argument, NULL, 'b' },
		{ 0 },
	};
	static struct run r; /* large (trials); zeroed; one per process */
	struct config_error cerr;
	const char *config = NULL;
	long long cpu = -1;
	int c, err, rc = EXIT_OURS;

	r.seal_path = "jouletrace-run.seal.json";
	while ((c = getopt_long(argc, argv, "+c:p:t:s:nbh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 's': r.seal_path = optarg; break;
		case 'n': r.no_seal = true; break;
		case 'b': r.sandbox = true; break;
		case 'h': usage(stdout); return 0;
		case 'p':
			if (util_parse_i64(optarg, &cpu) || cpu < 0 || cpu >= CPUSET_MAX) {
				fprintf(stderr, "jouletrace-run: --cpu '%s' is not a CPU number\n", optarg);
				return EXIT_OURS;
			}
			break;
		case 't':
			if (util_parse_double(optarg, &r.timeout_s) || r.timeout_s <= 0) {
				fprintf(stderr, "jouletrace-run: --timeout '%s' is not a positive number\n", optarg);
				return EXIT_OURS;
			}
			break;
		default: usage(stderr); return EXIT_OURS;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_OURS;
	}
	r.argv = argv + optind;
	if (config_load(&r.cfg, config, config != NULL, NULL, &cerr)) {
		fprintf(stderr, "jouletrace-run: %s\n", cerr.msg);
		return EXIT_OURS;
	}
	enum log_level lvl = LOG_LVL_WARN;
	log_init("jouletrace-run", lvl, LOG_FMT_TEXT);
	r.stop = cli_stop_on_signals();

	char why[600] = "", cpus[256];
	/* this process stays off the measured CPU (the station pins it) */
	if (station_open(&r.st, &r.cfg, STATION_METER | STATION_ONCPU, why, sizeof why) != 0) {
		fprintf(stderr, "jouletrace-run: %s\n", why);
		goto out;
	}
	r.cpu = cpu >= 0 ? (int)cpu : cpuset_first(&r.st.layout.measurement);
	if (!cpuset_isset(&r.st.layout.measurement, r.cpu)) {
		cpuset_format(&r.st.layout.measurement, cpus, sizeof cpus);
		fprintf(stderr, "jouletrace-run: --cpu %d is not a measurement CPU (%s)\n", r.cpu, cpus);
		goto out;
	}
	cpuset_format(&r.st.layout.measurement, cpus, sizeof cpus);
	r.calibrated = calib_load_checked(r.cfg.calibration_file, r.st.host.fingerprint,
					  meter_backend(r.st.meter), cpus, util_realtime_ns(), &r.calib,
					  r.calib_why, sizeof r.calib_why) == 0;
	if (!r.calibrated)
		memset(&r.calib, 0, sizeof r.calib);

	if ((err = measure(&r))) {
		if (!r.spawn_reported)
			fprintf(stderr, "jouletrace-run: measuring failed: %s\n", strerror(-err));
		rc = err == -ENOENT ? 127 : err == -EACCES || err == -ENOEXEC ? 126 : EXIT_OURS;
		goto out;
	}
	summary(&r);
	if (!r.no_seal && write_seal(&r)) {
		rc = EXIT_OURS;
		goto out;
	}
	rc = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
out:
	executor_command_free(&r.cmd);
	json_decref(r.sandbox_json);
	attrib_window_free(&r.attr);
	station_close(&r.st);
	config_free(&r.cfg);
	return rc;
}
