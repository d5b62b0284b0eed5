/*
 * measure.h — the measurement method of SPEC §3, steps 3–8, for one loaded
 * candidate process (candidate.h: the engine never runs processes itself).
 *
 * The caller has already spawned the candidate process pinned to the
 * measurement CPU, loaded the code, and holds the host's measurement lock.  measure_run() sizes the passes,
 * runs the warm-up trials, then trials until the CV early-stop rule says stop,
 * and fills a measure_result.  Each trial's energy window is exactly the span
 * between two meter readings taken around the candidate's go and finish,
 * so interpreter start-up and imports are never inside it; the idle baseline is
 * subtracted over that identical span, per domain, without clamping.
 *
 * The candidate process is not trusted (issue 7): sizing, warm-ups and
 * trials are the same operation; for every window this module draws
 * MEASURE_SAMPLE_PASSES passes at random, the candidate keeps their
 * outputs, and after the window they are compared with the expected ones
 * here (jsoncmp.h).  The pass count is decided here from the window's wall time,
 * never taken from the candidate.  Every measured trial's time and energy per
 * pass are checked against the sizing run and the other trials: a trial off
 * by more than tamper_ratio (or faster than any call can be) is rejected and
 * retried, and a second one in a row fails the run as tampering_suspected.
 *
 * Thread safety: a measure_run call owns its candidate and meter for its duration.
 */
#ifndef JT_MEASURE_H
#define JT_MEASURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "meter.h"
#include "stats.h"

struct candidate;

#define MEASURE_MAX_TRIALS 50
/* Contaminated or mismatched trials are retried, but not without bound. */
#define MEASURE_MAX_RETRIES 10
/* Passes whose outputs are compared after each window (all when fewer). */
#define MEASURE_SAMPLE_PASSES 3
/* No Python call costs less than this (a C-level loop calling a builtin costs
 * about 30 ns on today's fastest cores): a window that implies less did not
 * run its calls. */
#define MEASURE_MIN_CALL_NS 2.0
/* The idle baseline wobbles by its calibrated standard deviation: a trial's
 * net energy below this many of them over its window is noise. */
#define MEASURE_NOISE_SIGMAS 2.0
/* Trials are sized this much past min_trial_seconds, so noise does not make
 * them fall short of it. */
#define MEASURE_SIZING_MARGIN 1.05
/*
 * The shortest sizing window that counts: a window's fixed edges (the
 * protocol round trip through a busy infra CPU, a few ms on a saturated
 * package) must be small beside it, or the reference per pass is too slow
 * and honest trials look several times faster than sized (seen in the load
 * test at min_trial_seconds 0.05, whose windows were 2.5 ms).
 */
#define MEASURE_SIZING_MIN_WINDOW_NS 20000000ull
/* A window's candidate on-CPU share below this is reported (low_cpu_share). */
#define MEASURE_LOW_CPU_SHARE 0.5

enum measure_trial_flag {
	MEASURE_FLAG_BELOW_NOISE  = 1u << 0, /* |net total| under the noise floor */
	MEASURE_FLAG_CONTAMINATED = 1u << 1, /* foreign CPU time over the threshold */
	MEASURE_FLAG_LOW_CPU_SHARE = 1u << 2, /* the candidate mostly waited (reported only) */
	MEASURE_FLAG_TIME_INCONSISTENT = 1u << 3,   /* time per pass off (tampering?) */
	MEASURE_FLAG_ENERGY_INCONSISTENT = 1u << 4, /* energy per pass off (tampering?) */
	MEASURE_FLAG_COUNTER_RESET = 1u << 5, /* an energy counter was reset: run again */
};
#define MEASURE_FLAGS_TAMPER (MEASURE_FLAG_TIME_INCONSISTENT | MEASURE_FLAG_ENERGY_INCONSISTENT)

struct measure_params {
	long max_trials;          /* energy_measurement_trials, 1..50 */
	long min_trials;          /* 1..max_trials */
	long warmup_trials;       /* 0..10 */
	double target_cv_percent;
	double min_trial_seconds;
	long timeout_seconds;     /* per trial, and for sizing */
	size_t n_tests;           /* test cases per pass */
	const json_t *expected;   /* array of n_tests expected outputs (borrowed) */
	const json_t *test_ids;   /* array of n_tests test_id strings, for messages (borrowed) */
	double tamper_ratio;      /* > 1: per-pass time/energy disagreement that counts */
	double idle_watts[METER_NDOMAINS]; /* calibrated idle power per domain */
	double idle_stddev_watts[METER_NDOMAINS]; /* its standard deviation (calibration) */
	double noise_floor_joules;  /* the least noise floor; the floor of a trial is
				     * MEASURE_NOISE_SIGMAS × Σ idle stddev × window when larger */
	int meter_poll_ms;        /* read the meter this often inside a window (wraps) */
	long max_passes;          /* upper bound for sizing */
};

struct measure_trial {
	uint64_t wall_ns;         /* meter timestamp difference: the window */
	uint64_t reported_ns;     /* the span the candidate claims for its passes (shown, never used) */
	long passes;
	unsigned present;         /* domains measured (meter_domains) */
	uint64_t raw_uj[METER_NDOMAINS];
	int64_t net_uj[METER_NDOMAINS];  /* raw − idle × window; may be negative */
	uint32_t wraps[METER_NDOMAINS];
	double net_total_j;       /* package + dram net */
	double noise_floor_j;     /* |net_total_j| below this is noise (BELOW_NOISE) */
	unsigned flags;           /* enum measure_trial_flag */
	unsigned seq;             /* 1, 2, … over every observed window of a run */
	bool sizing;              /* a sizing window (observed for contamination only) */
	double foreign_percent;   /* set by the observer, if any */
	double cpu_share;         /* candidate on-CPU time / capacity; < 0 = unknown (observer) */
	/* The candidate's on-CPU time as the kernel booked it at every context
	 * switch (observer, bpf source); 0 = unknown.  Unlike wall_ns it holds
	 * nothing of the window's edges or of waiting for a busy infra CPU. */
	uint64_t cpu_ns;
	/* The candidate's part of the window's dynamic energy on a shared package
	 * (observer: its on-CPU time over all busy time of the package); < 0 = not
	 * split, the whole package net is the candidate's (a dedicated package). */
	double share;
	double energy_j;          /* the candidate's: net_total_j × share, or net_total_j */
	double ns_per_pass;       /* wall_ns / passes */
	double ratio_to_sizing;   /* ns_per_pass / the sizing run's */
};

/*
 * Called at every stage change and before every trial with a short stage name
 * ("sizing", "warmup", "measuring") and progress in [0, 1]; while measuring,
 * trial is the trial about to run (1-based; a trial run again keeps its
 * number) of at most trials_max, else both are 0.  Also called while waiting
 * on the candidate (stage NULL): a nonzero return cancels the run.
 */
typedef int (*measure_hook_fn)(void *ctx, const char *stage, double progress, int trial,
			       int trials_max);
/*
 * Optional observer of every measured trial's window, and of every sizing
 * window (attribution hooks in here; a contaminated sizing window is run
 * again): called with edge 0 right before the opening meter reading (the
 * candidate is waiting for "go": it does not run in between) and edge 1 right
 * after the closing one, once t holds the raw and net figures.  At edge
 * 1 it may set MEASURE_FLAG_CONTAMINATED (the trial is then run again),
 * t->cpu_share (MEASURE_LOW_CPU_SHARE) and t->share (the candidate's part of
 * a shared package's energy: then every energy figure of the run is the
 * candidate's part, energy_basis "candidate_share").
 * t->seq identifies the trial across calls; trials that are discarded later
 * (resizing) are simply absent from the result.
 */
typedef void (*measure_edge_fn)(void *ctx, int edge, struct measure_trial *t);

struct measure_result {
	long passes;
	double pass_seconds;
	long warmups_done;
	size_t n_trials;
	struct measure_trial trials[MEASURE_MAX_TRIALS];
	double sizing_ns_per_pass;/* the reference for the tampering check */
	/* Its on-CPU counterpart, from the sizing windows with cpu_ns whose
	 * candidate ran for most of what neighbours left of its CPUs (0 = none):
	 * the reference for a trial of that kind. */
	double sizing_cpu_ns_per_pass;
	long sizing_windows;
	long retries;             /* windows repeated (contaminated or inconsistent):
				   * trials, and sizing windows (sizing_retries of them);
				   * one budget, MEASURE_MAX_RETRIES, for both */
	long sizing_retries;      /* contaminated sizing windows run again */
	struct measure_trial rejected[MEASURE_MAX_RETRIES]; /* the contaminated or inconsistent ones */
	size_t n_rejected;
	long resized;             /* pass-count increases after a trial fell under
				   * min_trial_seconds (the trials before are discarded) */
	enum stop_reason stop;    /* why the trial loop ended */

	/* The candidate's figures: its part of each trial's net energy on a shared
	 * package (candidate_share), the whole package net on a dedicated one. */
	bool candidate_share;     /* energy_basis: every kept trial was split */
	double median_package_j, median_dram_j, median_total_j;
	double package_median_total_j; /* the whole package's net, for comparison */
	double median_seconds;
	double cv_percent;
	double ci95_low_j, ci95_high_j;
	enum stats_ci_method ci_method;
	double energy_per_call_j; /* median total / (passes × n_tests) */
	double energy_per_test_case_j; /* median total / n_tests (JouleTrace's meaning) */
	double power_watts;       /* median total / median window */
	bool below_noise;         /* any trial flagged */

	/* on failure */
	char error_type[32];      /* timeout|memory_limit|runtime_error|inconsistent_output|
				   * tampering_suspected|host_busy|cancelled|internal */
	char error_message[512];
};

/*
 * Runs steps 3–8.  Returns 0 with out filled, or a negative errno with
 * out->error_type / error_message saying what went wrong (-ECANCELED when the
 * hook cancelled, -ETIMEDOUT, -EPIPE when the candidate died, -EPROTO for a
 * protocol or candidate error, -EBUSY with error_type "host_busy" when other
 * tasks kept contaminating the trials).  The candidate is left alive on success.
 */
int measure_run(const struct candidate *c, struct meter *m, const struct measure_params *p,
		measure_hook_fn hook, measure_edge_fn on_edge, void *ctx,
		struct measure_result *out);

/*
 * The figures of one window from its two meter readings, as every window of
 * measure_run() gets them (and jouletrace-run's one window): wall time, time
 * per pass (t->passes set), raw energy and wraps per domain,
 * MEASURE_FLAG_COUNTER_RESET, net = raw − idle × window (never clamped), the
 * noise floor and MEASURE_FLAG_BELOW_NOISE, and energy_j = the net total.
 * Uses p's idle_watts, idle_stddev_watts and noise_floor_joules only.
 */
void measure_window_figures(const struct measure_params *p, const struct meter_reading *before,
			    const struct meter_reading *after, struct measure_trial *t);

/*
 * The medians, CV, interval and per-call figures of out's n_trials kept
 * trials (each trial's energy_j, share and net_uj), as measure_run() ends;
 * jouletrace-run summarizes its one trial with it.  Uses p->n_tests.
 */
void measure_summarize(const struct measure_params *p, struct measure_result *out);

/*
 * The tampering check measure_run() applies to each measured trial t (not yet
 * counted in out->trials), exposed for tests: time per call under
 * MEASURE_MIN_CALL_NS, time per pass off the sizing run's (on-CPU time per
 * pass against out->sizing_cpu_ns_per_pass when both are known and the trial's
 * candidate ran for most of what neighbours left of its CPUs, else wall time
 * against out->sizing_ns_per_pass) or off the
 * median of the kept trials by more than p->tamper_ratio (3 when unset), or energy
 * per pass off the kept trials' median by more than that ratio widened by
 * their spread (ratio + 3 × CV) — energy only where it carries a signal:
 * positive, above the noise floor, not low_cpu_share.  Sets
 * MEASURE_FLAG_TIME_INCONSISTENT or _ENERGY_INCONSISTENT and t->ratio_to_sizing,
 * and says why (empty when consistent).
 */
void measure_check_trial(const struct measure_params *p, const struct measure_result *out,
			 struct measure_trial *t, char *why, size_t cap);

#endif
