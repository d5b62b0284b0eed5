/*
 * measure_run() against a real harness and the real model meter on the last
 * online CPU: the per-trial baseline arithmetic, the trial-length rule, the
 * early-stop bounds, a candidate that changes its answers once measured, and
 * cancellation from the hook.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "cpuset.h"
#include "executor.h"
#include "measure.h"
#include "report.h"
#include "meter.h"
#include "proto.h"
#include "sandbox.h"
#include "util.h"
#include "testutil.h"

static struct cpuset last_cpu(void)
{
	struct cpuset online, one;
	ck_assert_int_eq(cpuset_online("", &online), 0);
	cpuset_zero(&one);
	cpuset_set(&one, cpuset_last(&online));
	return one;
}

/* A candidate process with code loaded; disable: SANDBOX_BIT()s not applied. */
static struct harness *loaded_with(const char *code, const struct cpuset *cpu, unsigned disable)
{
	char path[4096];
	const char *src = getenv("JT_SRCDIR");
	snprintf(path, sizeof path, "%s/executor/harness.py", src ? src : ".");
	struct exec_options o = {
		.python = "/usr/bin/python3", .harness_path = path, .cpus = *cpu,
		.memory_limit_mb = 512, .cpu_seconds = 120, .max_processes = 64,
		.max_file_bytes = 1 << 20, .max_open_files = 64,
		.sandbox_disable = disable,
	};
	struct harness *h = harness_spawn(&o);
	ck_assert_ptr_nonnull(h);
	struct candidate_error e;
	json_t *reply = NULL;
	ck_assert_int_eq(proto_send(h, json_pack("{s:s, s:s, s:s, s:[[i]]}", "cmd", "load", "code",
						 code, "function_name", "solve", "inputs", 3), &e), 0);
	ck_assert_int_eq(proto_recv(h, util_mono_ns() + 10000000000ull, 50, NULL, NULL, &reply, &e), 0);
	ck_assert(json_is_true(json_object_get(reply, "ok")));
	json_decref(reply);
	return h;
}

static struct harness *loaded(const char *code, const struct cpuset *cpu)
{
	return loaded_with(code, cpu, 0);
}

/* The harness as the engine's candidate (one at a time in a test). */
static const struct candidate *cand(struct harness *h)
{
	static struct candidate c;
	proto_candidate(h, &c);
	return &c;
}

static struct meter *model(const struct cpuset *cpu)
{
	struct meter_options mo = {
		.kind = "model", .cpus = cpu, .model_idle_package_watts = 10,
		.model_active_watts_per_cpu = 12, .model_idle_dram_watts = 2,
		.model_active_dram_watts_per_cpu = 1,
	};
	struct meter *m = meter_open(&mo, NULL, 0);
	ck_assert_ptr_nonnull(m);
	return m;
}

/* one test case, inputs [3], expected 3 (loaded() above) */
static json_t *expected_3, *ids_a;

static struct measure_params params(void)
{
	if (!expected_3) {
		expected_3 = json_pack("[i]", 3);
		ids_a = json_pack("[s]", "a");
	}
	struct measure_params p = {
		.max_trials = 4, .min_trials = 2, .warmup_trials = 1, .target_cv_percent = 100,
		.min_trial_seconds = 0.1, .timeout_seconds = 20, .n_tests = 1,
		.expected = expected_3, .test_ids = ids_a, .tamper_ratio = 3,
		.noise_floor_joules = 0.0001, .meter_poll_ms = 20, .max_passes = 4000000,
	};
	p.idle_watts[METER_PACKAGE] = 10;
	p.idle_watts[METER_DRAM] = 2;
	return p;
}

START_TEST(baseline_and_bounds)
{
	struct cpuset cpu = last_cpu();
	struct harness *h = loaded("def solve(n):\n    return sum(range(n * 100)) * 0 + n\n", &cpu);
	struct meter *m = model(&cpu);
	struct measure_params p = params();
	struct measure_result *r = calloc(1, sizeof *r);

	ck_assert_int_eq(measure_run(cand(h), m, &p, NULL, NULL, NULL, r), 0);
	ck_assert_uint_ge(r->n_trials, 2);              /* min_trials, CV target trivially met */
	ck_assert_uint_le(r->n_trials, 4);
	ck_assert_int_eq(r->stop, STOP_CV_TARGET);
	ck_assert_int_ge(r->passes, 1);
	for (size_t i = 0; i < r->n_trials; i++) {
		const struct measure_trial *t = &r->trials[i];
		double secs = (double)t->wall_ns / 1e9;
		ck_assert_msg(secs >= p.min_trial_seconds, "trial %zu lasted %.3f s", i, secs);
		ck_assert_int_eq(t->passes, r->passes);
		/* net = raw − idle × window, to the micro-joule, never clamped */
		ck_assert_int_eq(t->net_uj[METER_PACKAGE],
				 (int64_t)t->raw_uj[METER_PACKAGE] - llround(10 * secs * 1e6));
		ck_assert_int_eq(t->net_uj[METER_DRAM],
				 (int64_t)t->raw_uj[METER_DRAM] - llround(2 * secs * 1e6));
		ck_assert_double_eq_tol(t->net_total_j,
			(double)(t->net_uj[METER_PACKAGE] + t->net_uj[METER_DRAM]) / 1e6, 1e-9);
		/* a busy CPU under the model: net package ≈ 12 W × busy ≤ 12 W × window (+1 tick) */
		ck_assert_int_le(t->net_uj[METER_PACKAGE], llround(12 * (secs + 0.02) * 1e6));
	}
	ck_assert_double_eq_tol(r->energy_per_call_j, r->median_total_j / (double)r->passes, 1e-12);
	ck_assert(r->ci95_low_j <= r->median_total_j + 1e-9 || r->ci_method == STATS_CI_MEAN_T);

	/* max_trials bounds the loop when the CV target cannot be met */
	p.target_cv_percent = 0.1;
	p.min_trials = 3;
	p.max_trials = 3;
	ck_assert_int_eq(measure_run(cand(h), m, &p, NULL, NULL, NULL, r), 0);
	ck_assert_uint_eq(r->n_trials, 3);
	free(r);
	meter_close(m);
	harness_free(h);
}
END_TEST

/*
 * Measures code that must fail: returns the result (caller frees) after
 * checking that measure_run ended with -EPROTO and error_type.
 */
static struct measure_result *must_fail(const char *code, const char *error_type)
{
	struct cpuset cpu = last_cpu();
	struct harness *h = loaded(code, &cpu);
	struct meter *m = model(&cpu);
	struct measure_params p = params();
	struct measure_result *r = calloc(1, sizeof *r);

	ck_assert_int_eq(measure_run(cand(h), m, &p, NULL, NULL, NULL, r), -EPROTO);
	ck_assert_msg(strcmp(r->error_type, error_type) == 0, "%s: %s", r->error_type,
		      r->error_message);
	meter_close(m);
	harness_free(h);
	return r;
}

START_TEST(changed_answers_are_caught)
{
	static const char code[] = "calls = [0]\n"
				   "def solve(n):\n"
				   "    calls[0] += 1\n"
				   "    return n if calls[0] < 1000 else n + 1\n";
	struct measure_result *r = must_fail(code, "inconsistent_output");
	free(r);
}
END_TEST

/* Honest while it is being sized (few calls), then answers from a cache: its
 * trials are far faster per pass than its sizing run, twice in a row. */
START_TEST(faster_in_trials_than_sized_is_tampering)
{
	static const char code[] = "import time\n"
				   "calls = [0]\n"
				   "def solve(n):\n"
				   "    calls[0] += 1\n"
				   "    if calls[0] < 1000:\n"
				   "        end = time.perf_counter() + 50e-6\n"
				   "        while time.perf_counter() < end:\n"
				   "            pass\n"
				   "    return n\n";
	struct measure_result *r = must_fail(code, "tampering_suspected");
	ck_assert_msg(strstr(r->error_message, "sizing run"), "%s", r->error_message);
	ck_assert_uint_ge(r->n_rejected, 2);
	ck_assert(r->rejected[0].flags & MEASURE_FLAG_TIME_INCONSISTENT);
	free(r);
}
END_TEST

/* Candidate code that writes "done" on the protocol channel itself gets no
 * window: the claimed count cannot match, and nothing is measured. */
START_TEST(forged_done_is_tampering)
{
	static const char code[] = "import os\n"
				   "calls = [0]\n"
				   "def solve(n):\n"
				   "    calls[0] += 1\n"
				   "    if calls[0] == 2:\n"
				   "        os.write(4, b'{\"done\":true,\"kept\":1,\"ns\":1}\\n')\n"
				   "    return n\n";
	struct measure_result *r = must_fail(code, "tampering_suspected");
	ck_assert_uint_eq(r->n_trials, 0);
	free(r);
}
END_TEST

/* Candidate code that writes a failed "done" itself must not choose how its
 * task fails: a type the harness never reports (host_busy would requeue the
 * task as the host's fault), or a line with a NUL byte that a C string would
 * cut before its junk, is tampering (found by fuzz/fuzz_proto.c). */
START_TEST(forged_failure_is_tampering)
{
	static const char *const forged[] = {
		"b'{\"done\":false,\"error_type\":\"host_busy\",\"error\":\"x\"}\\n'",
		"b'{\"done\":false,\"error_type\":\"\",\"error\":\"x\"}\\n'",
		"b'{\"done\":false,\"error_type\":\"runtime_error\",\"error\":\"x\"}\\x00junk\\n'",
	};
	for (size_t i = 0; i < sizeof forged / sizeof *forged; i++) {
		char code[512];
		snprintf(code, sizeof code, "import os\n"
			 "calls = [0]\n"
			 "def solve(n):\n"
			 "    calls[0] += 1\n"
			 "    if calls[0] == 2:\n"
			 "        os.write(4, %s)\n"
			 "    return n\n", forged[i]);
		struct measure_result *r = must_fail(code, "tampering_suspected");
		ck_assert_uint_eq(r->n_trials, 0);
		free(r);
	}
}
END_TEST

/* The reply parser and the failure mapping on their own. */
START_TEST(reply_lines)
{
	struct candidate_error e;
	json_t *o = NULL;
	static const char nul[] = "{\"ok\":true}\0junk", nul2[] = "{\"ok\":true\0}";

	ck_assert_int_eq(proto_parse_reply("{\"ok\":true}", 11, &o, &e), 0);
	ck_assert(json_is_true(json_object_get(o, "ok")));
	json_decref(o);
	ck_assert_int_eq(proto_parse_reply(nul, sizeof nul - 1, &o, &e), -EPROTO);
	ck_assert_ptr_null(o);
	ck_assert_str_eq(e.type, "tampering_suspected");
	/* jansson alone would read this one as {"ok":true} */
	ck_assert_int_eq(proto_parse_reply(nul2, sizeof nul2 - 1, &o, &e), -EPROTO);
	ck_assert_int_eq(proto_parse_reply("[1]", 3, &o, &e), -EPROTO);
	ck_assert_int_eq(proto_parse_reply("{\"a\":1,\"a\":2}", 13, &o, &e), -EPROTO);

	o = json_pack("{s:b, s:s, s:s}", "done", 0, "error_type", "memory_limit", "error", "big");
	ck_assert_int_eq(proto_candidate_error(o, &e), -EPROTO);
	ck_assert_str_eq(e.type, "memory_limit");
	ck_assert_str_eq(e.message, "big");
	json_object_set_new(o, "error_type", json_string("sandbox_violation"));
	ck_assert_int_eq(proto_candidate_error(o, &e), -EPROTO);
	ck_assert_str_eq(e.type, "tampering_suspected");
	json_object_del(o, "error_type");
	ck_assert_int_eq(proto_candidate_error(o, &e), -EPROTO);
	ck_assert_str_eq(e.type, "runtime_error");
	json_decref(o);
}
END_TEST

/* Right in one pass out of seven: the passes checked after each window are
 * drawn at random, so a wrong one is found. */
START_TEST(wrong_unchecked_passes_are_caught)
{
	static const char code[] = "calls = [0]\n"
				   "def solve(n):\n"
				   "    calls[0] += 1\n"
				   "    return n if calls[0] % 7 == 1 else None\n";
	struct measure_result *r = must_fail(code, "inconsistent_output");
	ck_assert_msg(strstr(r->error_message, "got null"), "%s", r->error_message);
	free(r);
}
END_TEST

/* A trial of passes passes lasting ns with net energy uj. */
static struct measure_trial trial(long passes, double ns, double uj, unsigned flags)
{
	struct measure_trial t = { .passes = passes, .wall_ns = (uint64_t)ns, .flags = flags };
	t.ns_per_pass = ns / (double)passes;
	t.net_total_j = uj / 1e6;
	t.energy_j = t.net_total_j;
	t.share = -1;
	return t;
}

/* The tampering check on made-up trials: what is flagged, and what is not. */
START_TEST(consistency_rules)
{
	struct measure_params p = params();
	struct measure_result *out = calloc(1, sizeof *out);
	struct measure_trial t;
	char why[256];

	p.n_tests = 2;
	out->sizing_ns_per_pass = 1000;   /* 1 us per pass when sized */
	/* alone: within 3x of the sizing run either way is fine */
	t = trial(1000, 2.5e6, 5000, 0);
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert_uint_eq(t.flags, 0);
	ck_assert_str_eq(why, "");
	ck_assert_double_eq_tol(t.ratio_to_sizing, 2.5, 1e-9);
	t = trial(1000, 0.2e6, 5000, 0);
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert(t.flags & MEASURE_FLAG_TIME_INCONSISTENT);
	ck_assert_msg(strstr(why, "sizing run"), "%s", why);
	t = trial(1000, 4e6, 5000, 0);   /* slower counts too */
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert(t.flags & MEASURE_FLAG_TIME_INCONSISTENT);
	/* under 2 ns per call is no call at all, whatever the sizing run said */
	out->sizing_ns_per_pass = 3;
	t = trial(1000000, 3e6, 5000, 0);
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert(t.flags & MEASURE_FLAG_TIME_INCONSISTENT);
	ck_assert_msg(strstr(why, "per call"), "%s", why);

	/* two kept trials at 1 us and 5 mJ per 1000 passes */
	out->sizing_ns_per_pass = 1000;
	out->trials[0] = trial(1000, 1e6, 5000, 0);
	out->trials[1] = trial(1000, 1.1e6, 5200, 0);
	out->n_trials = 2;
	t = trial(1000, 1.05e6, 1000, 0);   /* same time, a fifth of the energy */
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert(t.flags & MEASURE_FLAG_ENERGY_INCONSISTENT);
	ck_assert_msg(strstr(why, "uJ per pass"), "%s", why);
	/* no signal, nothing to compare: waiting code, negative or tiny nets */
	t = trial(1000, 1.05e6, 1000, MEASURE_FLAG_LOW_CPU_SHARE);
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert_uint_eq(t.flags, MEASURE_FLAG_LOW_CPU_SHARE);
	t = trial(1000, 1.05e6, -300, 0);
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert_uint_eq(t.flags, 0);
	/* a noisy energy history widens the bound: CV ~ 0.85 → 3 + 2.5 */
	out->trials[0] = trial(1000, 1e6, 2000, 0);
	out->trials[1] = trial(1000, 1.1e6, 8000, 0);
	t = trial(1000, 1.05e6, 1100, 0);   /* 4.5x off the median of 5000 */
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert_uint_eq(t.flags, 0);
	t = trial(1000, 1.05e6, 600, 0);    /* 8.3x off */
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert(t.flags & MEASURE_FLAG_ENERGY_INCONSISTENT);
	/* time against the kept trials, too */
	out->sizing_ns_per_pass = 2500;     /* sized slow, trials fast: each within 3x */
	t = trial(1000, 7e6, 5000, 0);      /* 2.8x the sizing run, 6.7x the trials */
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert(t.flags & MEASURE_FLAG_TIME_INCONSISTENT);
	ck_assert_msg(strstr(why, "other trials"), "%s", why);
	free(out);
}
END_TEST

/*
 * With the kernel's on-CPU time of both (bpf observer), the sizing check
 * compares CPU per pass: a sizing run stretched by its edges or a busy infra
 * CPU no longer makes an honest trial look too fast, and a trial that skips
 * the work still is caught, however its wall time looks.
 */
START_TEST(consistency_by_cpu_time)
{
	struct measure_params p = params();
	struct measure_result *out = calloc(1, sizeof *out);
	struct measure_trial t;
	char why[256];

	p.n_tests = 1;
	out->sizing_ns_per_pass = 40000;     /* 40 us a pass in wall time: edges, mostly */
	out->sizing_cpu_ns_per_pass = 2000;  /* 2 us of CPU a pass */
	t = trial(50000, 0.1e9, 5000, 0);    /* 2 us a pass: 20x "faster" than sized */
	t.cpu_ns = 95000000;                 /* 1.9 us of CPU a pass */
	t.cpu_share = 0.95;
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert_msg(t.flags == 0, "%s", why);
	ck_assert_double_eq_tol(t.ratio_to_sizing, 0.05, 1e-9);   /* shown as it was */
	/* the work skipped: a tenth of the CPU a pass, within 3x in wall time */
	out->sizing_ns_per_pass = 2000;
	t = trial(50000, 0.1e9, 5000, 0);
	t.cpu_ns = 10000000;
	t.cpu_share = 0.95;
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert(t.flags & MEASURE_FLAG_TIME_INCONSISTENT);
	ck_assert_msg(strstr(why, "of CPU per pass"), "%s", why);
	/* preempted by neighbours (30 % of the CPU, 65 % foreign): 3.5x slower in
	 * wall time than sized, its own CPU per pass as sized: consistent */
	out->sizing_cpu_ns_per_pass = 2000;
	t = trial(50000, 0.35e9, 5000, MEASURE_FLAG_LOW_CPU_SHARE);
	t.cpu_ns = 100000000;
	t.cpu_share = 0.3;
	t.foreign_percent = 65;
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert_msg(!(t.flags & MEASURE_FLAG_TIME_INCONSISTENT), "%s", why);
	/* a trial that mostly waited (its CPUs idle, not taken) says nothing by
	 * its CPU: wall time again */
	out->sizing_ns_per_pass = 40000;
	t = trial(50000, 0.1e9, 5000, MEASURE_FLAG_LOW_CPU_SHARE);
	t.cpu_ns = 10000000;
	t.cpu_share = 0.1;
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert(t.flags & MEASURE_FLAG_TIME_INCONSISTENT);
	ck_assert_msg(strstr(why, "us per pass against") && !strstr(why, "of CPU"), "%s", why);
	/* no on-CPU reference (proc source, or no busy sizing window): wall time */
	out->sizing_cpu_ns_per_pass = 0;
	t = trial(50000, 0.1e9, 5000, 0);
	t.cpu_ns = 95000000;
	t.cpu_share = 0.95;
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert(t.flags & MEASURE_FLAG_TIME_INCONSISTENT);
	/* passing the CPU check still leaves the kept trials' median to pass */
	out->sizing_ns_per_pass = 2000;
	out->sizing_cpu_ns_per_pass = 2000;
	out->trials[0] = trial(50000, 0.02e9, 5000, 0);
	out->trials[1] = trial(50000, 0.02e9, 5000, 0);
	out->n_trials = 2;
	t = trial(50000, 0.1e9, 5000, 0);    /* 5x the trials' median */
	t.cpu_ns = 100000000;
	t.cpu_share = 1;
	measure_check_trial(&p, out, &t, why, sizeof why);
	ck_assert(t.flags & MEASURE_FLAG_TIME_INCONSISTENT);
	ck_assert_msg(strstr(why, "other trials"), "%s", why);
	free(out);
}
END_TEST

/* The fake powercap counter of reset_inside_a_window_is_retried. */
static char pc_dir[64];

static void pc_put(const char *rel, const char *text)
{
	testutil_write(pc_dir, rel, text);
}

/* Arms the candidate below before the first measured window opens: its
 * first call in that window resets the counter, inside the window. */
static void reset_once(void *ctx, int edge, struct measure_trial *t)
{
	int *done = ctx;
	if (edge == 0 && !t->sizing && !*done) {
		pc_put("arm", "1\n");
		*done = 1;
	}
}

/* In place, as the meter keeps the file open: "10" and the old digits' tail
 * after the newline, a step backwards no wrap explains. */
static const char reset_code[] =
	"import os\n"
	"ARM, PC = '%s/arm', '%s/pc/intel-rapl:0/energy_uj'\n"
	"def solve(n):\n"
	"    if os.path.exists(ARM):\n"
	"        os.unlink(ARM)\n"
	"        fd = os.open(PC, os.O_WRONLY)\n"
	"        os.pwrite(fd, b'10\\n', 0)\n"
	"        os.close(fd)\n"
	"    return n\n";

/* A counter reset inside a window (a driver reload, a resume) is not a wrap:
 * the trial is flagged counter_reset, kept apart, and run again. */
START_TEST(reset_inside_a_window_is_retried)
{
	struct cpuset cpu = last_cpu();
	char root[PATH_MAX], why[256];
	int done = 0;

	testutil_tmpdir(pc_dir, sizeof pc_dir, "measure-pc");
	pc_put("pc/intel-rapl:0/name", "package-0\n");
	pc_put("pc/intel-rapl:0/max_energy_range_uj", "1000000000000\n");
	pc_put("pc/intel-rapl:0/energy_uj", "500000000000\n");
	snprintf(root, sizeof root, "%s/pc", pc_dir);
	struct meter_options mo = { .kind = "powercap", .powercap_root = root, .socket = 0 };
	struct meter *m = meter_open(&mo, why, sizeof why);
	ck_assert_msg(m != NULL, "%s", why);
	char code[1024];
	snprintf(code, sizeof code, reset_code, pc_dir, pc_dir);
	/* the candidate here stands for whatever resets counters: it needs to
	 * see the test's files, as their owner */
	struct harness *h = loaded_with(code, &cpu, SANDBOX_BIT(SANDBOX_MOUNTNS) |
					SANDBOX_BIT(SANDBOX_UID));
	struct measure_params p = params();
	struct measure_result *r = calloc(1, sizeof *r);
	char arm[PATH_MAX];
	snprintf(arm, sizeof arm, "%s/arm", pc_dir);

	p.max_trials = p.min_trials = 2;
	ck_assert_int_eq(measure_run(cand(h), m, &p, NULL, reset_once, &done, r), 0);
	ck_assert_int_eq(done, 1);
	ck_assert_int_ne(access(arm, F_OK), 0);   /* the candidate fired */
	ck_assert_uint_eq(r->n_rejected, 1);
	ck_assert(r->rejected[0].flags & MEASURE_FLAG_COUNTER_RESET);
	ck_assert_uint_eq(r->rejected[0].wraps[METER_PACKAGE], 0);
	ck_assert_uint_eq(r->n_trials, 2);
	for (size_t i = 0; i < r->n_trials; i++)
		ck_assert(!(r->trials[i].flags & MEASURE_FLAG_COUNTER_RESET));
	free(r);
	meter_close(m);
	harness_free(h);
	testutil_rmtree(pc_dir);
}
END_TEST

/* Flags every other measured trial as inconsistent with the sizing run, as
 * short windows on a saturated package do. */
static void flag_every_other(void *ctx, int edge, struct measure_trial *t)
{
	int *n = ctx;
	if (edge == 1 && !t->sizing && (*n)++ % 2 == 0)
		t->flags |= MEASURE_FLAG_TIME_INCONSISTENT;
}

/* Disagreeing trials that never come two in a row exhaust the retries: the
 * host is too noisy (host_busy, tried again later), not our fault (internal)
 * and not proof of tampering. */
START_TEST(noisy_trials_are_host_busy)
{
	struct cpuset cpu = last_cpu();
	struct harness *h = loaded("def solve(n):\n    return n\n", &cpu);
	struct meter *m = model(&cpu);
	struct measure_params p = params();
	struct measure_result *r = calloc(1, sizeof *r);
	int n = 0;

	p.max_trials = p.min_trials = 40;
	p.warmup_trials = 0;
	p.min_trial_seconds = 0.02;
	ck_assert_int_eq(measure_run(cand(h), m, &p, NULL, flag_every_other, &n, r), -EBUSY);
	ck_assert_msg(strcmp(r->error_type, "host_busy") == 0, "%s: %s", r->error_type,
		      r->error_message);
	ck_assert_msg(strstr(r->error_message, "too noisy"), "%s", r->error_message);
	ck_assert_int_eq(r->retries, MEASURE_MAX_RETRIES + 1);
	free(r);
	meter_close(m);
	harness_free(h);
}
END_TEST

/* Marks the first sizing window contaminated, as the attribution would. */
static void contaminate_first_sizing(void *ctx, int edge, struct measure_trial *t)
{
	int *seen = ctx;
	if (edge == 1 && t->sizing && !*seen) {
		t->flags |= MEASURE_FLAG_CONTAMINATED;
		*seen = 1;
	}
}

/* A neighbour during sizing would make the reference slow and honest trials
 * look too fast: a contaminated sizing window is run again, not used. */
START_TEST(contaminated_sizing_window_is_redone)
{
	struct cpuset cpu = last_cpu();
	struct harness *h = loaded("def solve(n):\n    return n\n", &cpu);
	struct meter *m = model(&cpu);
	struct measure_params p = params();
	struct measure_result *r = calloc(1, sizeof *r);
	int seen = 0;

	ck_assert_int_eq(measure_run(cand(h), m, &p, NULL, contaminate_first_sizing, &seen, r), 0);
	ck_assert_int_eq(seen, 1);
	ck_assert_int_eq(r->retries, 1);
	ck_assert_int_ge(r->sizing_windows, 2);   /* clean ones only */
	ck_assert_uint_eq(r->n_rejected, 0);      /* no trial was rejected */
	free(r);
	meter_close(m);
	harness_free(h);
}
END_TEST

/* The attribution of a shared package, as the worker's observer gives it. */
static void quarter_share(void *ctx, int edge, struct measure_trial *t)
{
	(void)ctx;
	if (edge == 1)
		t->share = 0.25;
}

/* On a shared package every energy figure is the candidate's part of the
 * package net; the whole package's stays beside it (issue 8). */
START_TEST(candidate_share_is_the_headline)
{
	struct cpuset cpu = last_cpu();
	struct harness *h = loaded("def solve(n):\n    return sum(range(n * 100)) * 0 + n\n", &cpu);
	struct meter *m = model(&cpu);
	struct measure_params p = params();
	struct measure_result *r = calloc(1, sizeof *r);

	ck_assert_int_eq(measure_run(cand(h), m, &p, NULL, quarter_share, NULL, r), 0);
	ck_assert(r->candidate_share);
	for (size_t i = 0; i < r->n_trials; i++) {
		const struct measure_trial *t = &r->trials[i];
		ck_assert_double_eq_tol(t->energy_j, 0.25 * t->net_total_j, 1e-12);
	}
	ck_assert_double_eq_tol(r->median_total_j, 0.25 * r->package_median_total_j, 1e-9);
	ck_assert_double_eq_tol(r->energy_per_call_j, r->median_total_j / (double)r->passes, 1e-15);
	ck_assert_double_eq_tol(r->median_package_j + r->median_dram_j, r->median_total_j,
				1e-6 + 1e-6 * r->median_total_j);
	json_t *mj = report_metrics_json(r, true), *tj = report_trials_json(r);
	ck_assert_str_eq(json_string_value(json_object_get(mj, "energy_basis")), "candidate_share");
	ck_assert_double_eq_tol(json_real_value(json_object_get(mj, "package_median_net_energy_joules")),
				r->package_median_total_j, 1e-12);
	ck_assert_double_eq_tol(json_real_value(json_object_get(json_array_get(tj, 0),
								"candidate_share")), 0.25, 1e-12);
	json_decref(mj);
	json_decref(tj);

	/* without the observer's split: the package net, and said so */
	ck_assert_int_eq(measure_run(cand(h), m, &p, NULL, NULL, NULL, r), 0);
	ck_assert(!r->candidate_share);
	ck_assert_double_eq_tol(r->median_total_j, r->package_median_total_j, 1e-12);
	mj = report_metrics_json(r, true);
	ck_assert_str_eq(json_string_value(json_object_get(mj, "energy_basis")), "package_net");
	json_decref(mj);
	free(r);
	meter_close(m);
	harness_free(h);
}
END_TEST

static int cancel_after(void *ctx, const char *stage, double progress, int trial, int trials_max)
{
	(void)progress;
	(void)trial;
	(void)trials_max;
	int *calls = ctx;
	return stage == NULL && ++*calls > 5; /* cancel while the candidate runs */
}

START_TEST(hook_cancels)
{
	struct cpuset cpu = last_cpu();
	struct harness *h = loaded("import time\ndef solve(n):\n    time.sleep(0.05)\n    return n\n", &cpu);
	struct meter *m = model(&cpu);
	struct measure_params p = params();
	struct measure_result *r = calloc(1, sizeof *r);
	int calls = 0;

	p.min_trial_seconds = 2;
	uint64_t t0 = util_mono_ns();
	ck_assert_int_eq(measure_run(cand(h), m, &p, cancel_after, NULL, &calls, r), -ECANCELED);
	ck_assert_str_eq(r->error_type, "cancelled");
	ck_assert_uint_lt(util_mono_ns() - t0, 2000000000ull);
	free(r);
	meter_close(m);
	harness_free(h);
}
END_TEST

static Suite *measure_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("measure", &tc);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, baseline_and_bounds);
	tcase_add_test(tc, changed_answers_are_caught);
	tcase_add_test(tc, faster_in_trials_than_sized_is_tampering);
	tcase_add_test(tc, noisy_trials_are_host_busy);
	tcase_add_test(tc, forged_done_is_tampering);
	tcase_add_test(tc, forged_failure_is_tampering);
	tcase_add_test(tc, reply_lines);
	tcase_add_test(tc, wrong_unchecked_passes_are_caught);
	tcase_add_test(tc, consistency_rules);
	tcase_add_test(tc, consistency_by_cpu_time);
	tcase_add_test(tc, reset_inside_a_window_is_retried);
	tcase_add_test(tc, contaminated_sizing_window_is_redone);
	tcase_add_test(tc, candidate_share_is_the_headline);
	tcase_add_test(tc, hook_cancels);
	return s;
}

TESTUTIL_MAIN(measure_suite)
