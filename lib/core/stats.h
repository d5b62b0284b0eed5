/*
 * stats.h — the small statistics of SPEC §3: median, mean, sample standard
 * deviation, coefficient of variation, a 95 % confidence interval, early stop.
 *
 * Inputs are never modified.  Undefined results are NAN (never a made-up 0):
 *   mean, median       n == 0 → NAN
 *   stddev (n − 1)     n < 2  → NAN
 *   cv_percent         n < 2  → NAN; mean == 0 → 0 if stddev == 0, else +INFINITY
 * A NAN/INFINITY CV never satisfies a target, so early stop falls back to the
 * trial cap.  Callers serialising to JSON must map NAN to null.
 *
 * Thread safety: pure functions.  Allocation: stats_median and stats_ci95 copy
 * the input (on the stack up to 64 values, else malloc); on allocation failure
 * they return NAN / -ENOMEM.
 */
#ifndef JT_STATS_H
#define JT_STATS_H

#include <stdbool.h>
#include <stddef.h>

double stats_mean(const double *x, size_t n);
double stats_median(const double *x, size_t n);
double stats_stddev(const double *x, size_t n);
double stats_cv_percent(const double *x, size_t n);

enum stats_ci_method {
	STATS_CI_NONE,          /* n < 2: low = high = the single value (or NAN for n == 0) */
	STATS_CI_MEDIAN_ORDER,  /* distribution-free: [x(k), x(n−k+1)] of the sorted data */
	STATS_CI_MEAN_T,        /* mean ± t(0.975, n−1) · s / √n (n ≤ 5: no order interval reaches 95 %) */
};

struct stats_ci {
	double low, high;
	enum stats_ci_method method;
	double coverage;        /* actual coverage: ≥ 0.95 for MEDIAN_ORDER, 0.95 for MEAN_T, 0 for NONE */
	size_t k;               /* MEDIAN_ORDER: 1-based rank of low (high is rank n−k+1) */
};

/*
 * 95 % CI of the median: the widest-k order-statistic interval whose binomial
 * coverage 1 − 2·P(Bin(n, ½) ≤ k−1) is still ≥ 0.95.  That needs n ≥ 6; for
 * n = 2..5 the t interval of the mean is returned instead and method says so.
 * Returns 0, -EINVAL (NULL pointers or a non-finite value), -ENOMEM.
 */
int stats_ci95(const double *x, size_t n, struct stats_ci *out);
const char *stats_ci_method_name(enum stats_ci_method m); /* "none"|"median_order"|"mean_t" */

/* Two-sided 97.5 % quantile of Student's t with df degrees of freedom (df ≥ 1). */
double stats_t975(size_t df);

/*
 * Two-sided p-value of Student's t: P(|T| ≥ |t|) with df > 0 degrees of
 * freedom (df need not be an integer: Welch's are not).  NAN for df ≤ 0 or a
 * NAN t; 0 for an infinite t.
 */
double stats_t_two_sided_p(double t, double df);

/*
 * Welch's unequal-variance t-test of mean(a) − mean(b): t, the
 * Welch–Satterthwaite df and the two-sided p.  Needs na, nb ≥ 2: else
 * -EINVAL.  Two samples without any spread give t = ±INFINITY and p = 0 when
 * their means differ, t = 0 and p = 1 when they are equal (df = NAN then).
 */
struct stats_welch {
	double diff;            /* mean(a) − mean(b) */
	double t, df, p;
};
int stats_welch(const double *a, size_t na, const double *b, size_t nb, struct stats_welch *out);

enum stop_reason {
	STOP_CONTINUE,          /* not yet */
	STOP_CV_TARGET,         /* n ≥ min_trials and cv ≤ target (checked first) */
	STOP_MAX_TRIALS,        /* n ≥ max_trials */
};

/*
 * SPEC §3.7.  max_trials < 1 is treated as 1; min_trials is clamped to
 * 1..max_trials.  A NAN CV (n < 2) never meets the target.  why may be NULL.
 */
bool stats_should_stop(size_t n, size_t min_trials, size_t max_trials, double cv_percent,
		       double target_cv, enum stop_reason *why);
const char *stats_stop_reason_name(enum stop_reason r); /* "continue"|"cv_target"|"max_trials" */

#endif
