/* stats.c — see stats.h. */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STACK_VALUES 64

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sorted copy in stack (if it fits) or heap; *heap is what to free. */
static double *sorted_copy(const double *x, size_t n, double *stack, double **heap)
{
	double *s = stack;
	*heap = NULL;
	if (n > STACK_VALUES) {
		if (n > SIZE_MAX / sizeof *s)
			return NULL;
		s = *heap = malloc(n * sizeof *s);
		if (!s)
			return NULL;
	}
	memcpy(s, x, n * sizeof *s);
	qsort(s, n, sizeof *s, cmp_double);
	return s;
}

double stats_mean(const double *x, size_t n)
{
	if (!x || n == 0)
		return NAN;
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += x[i];
	return sum / (double)n;
}

static double median_sorted(const double *s, size_t n)
{
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

double stats_median(const double *x, size_t n)
{
	double stack[STACK_VALUES], *heap;
	if (!x || n == 0)
		return NAN;
	const double *s = sorted_copy(x, n, stack, &heap);
	if (!s)
		return NAN;
	double m = median_sorted(s, n);
	free(heap);
	return m;
}

double stats_stddev(const double *x, size_t n)
{
	if (!x || n < 2)
		return NAN;
	/* Two-pass: the one-pass formula loses everything when values are large and close. */
	double mean = stats_mean(x, n), ss = 0;
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - mean) * (x[i] - mean);
	return sqrt(ss / (double)(n - 1));
}

double stats_cv_percent(const double *x, size_t n)
{
	if (!x || n < 2)
		return NAN;
	double mean = stats_mean(x, n), sd = stats_stddev(x, n);
	if (isnan(mean) || isnan(sd))
		return NAN;
	if (mean == 0)
		return sd == 0 ? 0 : INFINITY;
	return sd / fabs(mean) * 100;
}

double stats_t975(size_t df)
{
	static const double t[30] = {
		12.7062047, 4.3026527, 3.1824463, 2.7764451, 2.5705818, 2.4469119,
		2.3646243, 2.3060041, 2.2621572, 2.2281389, 2.2009852, 2.1788128,
		2.1603687, 2.1447867, 2.1314495, 2.1199053, 2.1098155, 2.1009220,
		2.0930241, 2.0859634, 2.0796138, 2.0738731, 2.0686576, 2.0638986,
		2.0595386, 2.0555294, 2.0518305, 2.0484071, 2.0452296, 2.0422725,
	};
	if (df == 0)
		return NAN;
	if (df <= 30)
		return t[df - 1];
	/* Cornish–Fisher expansion around the normal quantile: < 1e-4 off for df > 30. */
	double z = 1.959963984540054, v = (double)df;
	double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
	return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
	       (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
}

/*
 * The regularized incomplete beta I_x(a, b) by its continued fraction
 * (Lentz's method, as in Numerical Recipes §6.4): converges fast for
 * x < (a + 1) / (a + b + 2); the other side by symmetry.
 */
static double beta_cf(double a, double b, double x)
{
	const double tiny = 1e-300, eps = 1e-15;
	double c = 1, d = 1 - (a + b) * x / (a + 1);
	d = 1 / (fabs(d) < tiny ? tiny : d);
	double h = d;
	for (int m = 1; m <= 300; m++) {
		double m2 = 2.0 * m, num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
		for (int half = 0; half < 2; half++) {
			d = 1 + num * d;
			d = 1 / (fabs(d) < tiny ? tiny : d);
			c = 1 + num / c;
			c = fabs(c) < tiny ? tiny : c;
			h *= d * c;
			num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
		}
		if (fabs(d * c - 1) < eps)
			break;
	}
	return h;
}

static double incomplete_beta(double a, double b, double x)
{
	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
	if (x < (a + 1) / (a + b + 2))
		return front * beta_cf(a, b, x) / a;
	return 1 - front * beta_cf(b, a, 1 - x) / b;
}

double stats_t_two_sided_p(double t, double df)
{
	if (isnan(t) || !(df > 0))
		return NAN;
	if (isinf(t))
		return 0;
	/* P(|T| ≥ |t|) = I_{df/(df+t²)}(df/2, 1/2) */
	return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

int stats_welch(const double *a, size_t na, const double *b, size_t nb, struct stats_welch *out)
{
	if (!a || !b || !out || na < 2 || nb < 2)
		return -EINVAL;
	double ma = stats_mean(a, na), mb = stats_mean(b, nb);
	double sa = stats_stddev(a, na), sb = stats_stddev(b, nb);
	double va = sa * sa / (double)na, vb = sb * sb / (double)nb, se2 = va + vb;
	out->diff = ma - mb;
	if (!isfinite(out->diff) || !isfinite(se2))
		return -EINVAL;
	if (se2 == 0) {
		out->df = NAN;
		out->t = out->diff == 0 ? 0 : copysign(INFINITY, out->diff);
		out->p = out->diff == 0 ? 1 : 0;
		return 0;
	}
	out->t = out->diff / sqrt(se2);
	out->df = se2 * se2 / (va * va / (double)(na - 1) + vb * vb / (double)(nb - 1));
	out->p = stats_t_two_sided_p(out->t, out->df);
	return 0;
}

/* P(Bin(n, 1/2) = i), in log space so large n does not underflow early. */
static double binom_half_pmf(size_t n, size_t i)
{
	return exp(lgamma((double)n + 1) - lgamma((double)i + 1) -
		   lgamma((double)(n - i) + 1) + (double)n * log(0.5));
}

int stats_ci95(const double *x, size_t n, struct stats_ci *out)
{
	double stack[STACK_VALUES], *heap = NULL;
	if (!x || !out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return -EINVAL;
	if (n < 2) {
		out->method = STATS_CI_NONE;
		out->low = out->high = n ? x[0] : NAN;
		return 0;
	}
	/* Largest k with 2·P(B ≤ k−1) ≤ 0.05; k = 0 means no order interval reaches 95 %. */
	size_t k = 0;
	double tail = 0, cdf = 0;
	for (size_t cand = 1; cand <= n / 2; cand++) {
		cdf += binom_half_pmf(n, cand - 1);   /* P(B ≤ cand − 1) */
		if (2 * cdf > 0.05)
			break;
		k = cand;
		tail = cdf;
	}
	if (k == 0) {
		double mean = stats_mean(x, n), sd = stats_stddev(x, n);
		double half = stats_t975(n - 1) * sd / sqrt((double)n);
		out->method = STATS_CI_MEAN_T;
		out->low = mean - half;
		out->high = mean + half;
		out->coverage = 0.95;
		return 0;
	}
	const double *s = sorted_copy(x, n, stack, &heap);
	if (!s)
		return -ENOMEM;
	out->method = STATS_CI_MEDIAN_ORDER;
	out->k = k;
	out->low = s[k - 1];
	out->high = s[n - k];
	out->coverage = 1 - 2 * tail;
	free(heap);
	return 0;
}

const char *stats_ci_method_name(enum stats_ci_method m)
{
	switch (m) {
	case STATS_CI_MEDIAN_ORDER: return "median_order";
	case STATS_CI_MEAN_T: return "mean_t";
	case STATS_CI_NONE: break;
	}
	return "none";
}

bool stats_should_stop(size_t n, size_t min_trials, size_t max_trials, double cv_percent,
		       double target_cv, enum stop_reason *why)
{
	enum stop_reason r = STOP_CONTINUE;
	if (max_trials < 1)
		max_trials = 1;
	if (min_trials < 1)
		min_trials = 1;
	if (min_trials > max_trials)
		min_trials = max_trials;
	/* NAN compares false, so an undefined CV never ends the run early. */
	if (n >= min_trials && cv_percent <= target_cv)
		r = STOP_CV_TARGET;
	else if (n >= max_trials)
		r = STOP_MAX_TRIALS;
	if (why)
		*why = r;
	return r != STOP_CONTINUE;
}

const char *stats_stop_reason_name(enum stop_reason r)
{
	switch (r) {
	case STOP_CV_TARGET: return "cv_target";
	case STOP_MAX_TRIALS: return "max_trials";
	case STOP_CONTINUE: break;
	}
	return "continue";
}
