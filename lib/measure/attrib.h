/*
 * attrib.h — who used the energy of a measurement window (SPEC §3 step 9).
 *
 * A window's dynamic energy (net of the idle baseline) is split between the
 * processes that ran on the measurement package's CPUs in proportion to their
 * on-CPU time there (issue 8: every core of a package draws package power).
 * Contamination is judged apart, on the measurement CPUs only: a foreign
 * task on another core of the package is accounted for, not a disturbance.  Threads are grouped by process (tgid).  Roles: "candidate" = the
 * harness's process tree (the harness runs the candidate's code in-process,
 * and everything it forks, however short-lived or re-parented, descends from
 * it), "harness" = the measuring service's own process, "foreign" =
 * everything else (other programs, kernel threads).
 *
 * Integers conserve exactly: Σ energy_uj + unattributed_uj = dynamic_uj, by
 * largest-remainder rounding.  Shares are by on-CPU time, less the calibrated
 * background's part (attrib_params.baseline_ns) for everything but the
 * candidate.  Energy is unattributed when nothing was seen on
 * the CPUs, or (the /proc source, which sees only the candidate tree) for the
 * busy time nobody tracked.  Idle energy is never split among processes.
 *
 * Thread safety: none needed; values only.  Errors: 0, -ENOMEM, -EINVAL.
 */
#ifndef JT_ATTRIB_H
#define JT_ATTRIB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct oncpu_snapshot;

enum attrib_role { ATTRIB_CANDIDATE, ATTRIB_HARNESS, ATTRIB_FOREIGN };

struct attrib_proc {
	int32_t pid;              /* tgid; 0 for an aggregate row */
	int32_t ppid;
	char comm[16];
	enum attrib_role role;
	uint64_t cpu_ns;          /* on the package's CPUs: the basis of the split */
	uint64_t measurement_ns;  /* the part of cpu_ns on the measurement CPUs */
	int64_t energy_uj;
};

struct attrib_window {
	struct attrib_proc *procs; /* sorted: candidate, harness, foreign; then cpu_ns desc */
	size_t n;
	int64_t dynamic_uj;        /* what was split (net package + dram) */
	int64_t idle_uj;           /* baseline, kept apart */
	int64_t unattributed_uj;
	uint64_t busy_ns;          /* busy time of the package in the window */
	uint64_t baseline_ns;      /* the part of it the idle baseline already holds */
	uint64_t split_ns;         /* busy_ns − baseline_ns: the shares' denominator */
	uint64_t role_ns[3];       /* per enum attrib_role, on the package */
	uint64_t foreign_measurement_ns; /* foreign time on the measurement CPUs */
	double foreign_percent;    /* that, as a share of their capacity in the window */
	uint64_t capacity_ns;      /* window × measured CPUs (0: unknown, busy_ns used) */
	bool contaminated;
};

struct attrib_params {
	pid_t candidate_root;      /* host pid of the harness process */
	pid_t service_tgid;        /* the worker's own pid (role harness) */
	int64_t dynamic_uj;
	int64_t idle_uj;
	/*
	 * Busy time of the package's CPUs over the window from an independent
	 * source (0 = the sum of what the snapshot saw).  The /proc source passes
	 * it so untracked time stays unattributed instead of inflating shares.
	 */
	uint64_t busy_ns;
	/*
	 * Busy time the idle baseline already holds: the package's background at
	 * calibration (background_busy_percent × its CPUs × the window).  Its
	 * energy is in idle_uj, so that much of the non-candidate time (seen or
	 * untracked) is taken off, in proportion, before the split; without it a
	 * steady background would be subtracted twice and the candidate's share
	 * come out low.  0 = none.
	 */
	uint64_t baseline_ns;
	double foreign_max_percent; /* contaminated above this */
	/*
	 * Window length × number of measured CPUs.  Contamination is judged
	 * against it, not against busy time: a kworker's millisecond beside a
	 * candidate that sleeps is not a disturbed measurement.  0 = busy time.
	 */
	uint64_t capacity_ns;
};

/* Splits one window; out->procs is malloc'd (attrib_window_free). */
int attrib_split(const struct oncpu_snapshot *diff, const struct attrib_params *p,
		 struct attrib_window *out);

struct calib_profile;
struct measure_trial;
/* Who is who, and what a measured window's split is judged by. */
struct attrib_trial_opts {
	pid_t candidate_root;
	pid_t service_tgid;
	double foreign_max_percent;
	int measurement_cpus;                /* the capacity: window × this many CPUs */
	bool shared_package;                 /* give t the candidate's share */
	const struct calib_profile *calib;   /* its baseline; NULL = none */
	bool exact_cpu;                      /* the on-CPU source books every switch (bpf): set t->cpu_ns */
};
/*
 * Splits the measured window t (its net and idle energy, the calibrated
 * baseline over it: calib_background_ns) and tells t what was seen:
 * foreign_percent, cpu_share (the candidate's time over the capacity),
 * MEASURE_FLAG_CONTAMINATED, and on a shared package share and energy_j (the
 * candidate's part).  The worker's observer and jouletrace-run both split
 * with it, so their windows are judged alike.  As attrib_split otherwise.
 */
int attrib_trial_split(const struct oncpu_snapshot *diff, const struct attrib_trial_opts *o,
		       struct measure_trial *t, struct attrib_window *out);
void attrib_window_free(struct attrib_window *w);

/* Sums windows (same pid → one row); the result still conserves exactly. */
int attrib_add(struct attrib_window *total, const struct attrib_window *w);

const char *attrib_role_name(enum attrib_role r);

/*
 * The result's "attribution" object (joules, seconds) and the seal's (integer
 * µJ and ns).  At most max_rows processes are listed; the rest of each role is
 * folded into one row with pid 0 and comm "(N more)", so sums still hold.
 */
json_t *attrib_result_json(const struct attrib_window *w, const char *source, size_t max_rows);
json_t *attrib_seal_json(const struct attrib_window *w, const char *source, size_t max_rows);

#endif
