/*
 * calib_run.h — taking an idle profile (SPEC §6): the meter sampled at rest,
 * the package's busy time watched, the result a struct calib_profile
 * (calib.h writes and reads the file).  Used by jouletrace-calibrate only.
 *
 * Thread safety: one run per meter.  Errors: 0 or -errno, reason says why.
 */
#ifndef JT_CALIB_RUN_H
#define JT_CALIB_RUN_H

#include <signal.h>

#include "calib.h"

struct cpuset;
struct meter;

struct calib_progress {
	unsigned sample;          /* 1-based index of the interval just finished */
	unsigned total;           /* intervals planned */
	double elapsed_seconds;
	double package_watts;     /* of that interval */
	double dram_watts;
};

struct calib_run_opts {
	double duration_seconds;        /* > 0, ≤ 86400, ≥ 2 intervals */
	unsigned sample_interval_ms;    /* 0 → 1000; 10..60000 */
	double max_cv_percent;          /* refuse (-ERANGE) above */
	double max_busy_percent;        /* refuse (-EBUSY) above */
	const struct cpuset *cpus;      /* measurement CPUs; NULL = all */
	/* All the CPUs of the measurement package: their busy % is the
	 * background, refused above max_busy_percent; NULL = cpus. */
	const struct cpuset *package_cpus;
	const char *proc_root;          /* "" or NULL real; else <proc_root>/proc/stat */
	const char *measurement_cpus;   /* text for the profile; NULL → formatted cpus */
	int socket;
	const char *host_fingerprint;   /* required: 64 hex */
	long valid_until_days;          /* 0 → CALIB_DEFAULT_VALID_DAYS */
	/* Called after every interval, on the sampling thread. */
	void (*progress)(void *arg, const struct calib_progress *p);
	void *progress_arg;
	/* Optional: when it becomes non-zero (e.g. from a signal handler), return -EINTR. */
	const volatile sig_atomic_t *stop;
};

/*
 * Samples the meter at rest for duration_seconds.  The meter is read at least
 * every 100 ms (and more often if meter_max_wrap_seconds demands it) so no
 * counter wrap is missed; power is computed per sample interval.  Busy % of
 * the CPUs comes from /proc/stat over the whole run (a file whose counters do
 * not move counts as idle).
 *
 * Returns 0 and a complete *out; -EBUSY (CPUs busier than max_busy_percent)
 * or -ERANGE (CV of per-interval package power above max_cv_percent) with
 * *out still fully filled, so a caller may deliberately keep it (--force);
 * -EINVAL bad options, -EINTR stopped, or a meter/procfs error.
 * reason (may be NULL) gets one line: the summary on success, otherwise what
 * went wrong and what to do about it.
 */
int calib_run(struct meter *m, const struct calib_run_opts *o, struct calib_profile *out,
	      char *reason, size_t cap);

#endif
