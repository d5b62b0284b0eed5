/* test_stats.c — known vectors for the statistics and the early-stop rule. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "stats.h"
#include "testutil.h"

START_TEST(median_mean)
{
	double odd[] = { 3, 1, 2 }, even[] = { 4, 1, 3, 2 };
	ck_assert_double_eq(stats_median(odd, 3), 2);
	ck_assert_double_eq(stats_median(even, 4), 2.5);
	/* input untouched */
	ck_assert_double_eq(odd[0], 3);
	ck_assert_double_eq(even[0], 4);
	ck_assert_double_eq(even[3], 2);
	ck_assert_double_eq(stats_mean(even, 4), 2.5);
	ck_assert(isnan(stats_median(odd, 0)));
	ck_assert(isnan(stats_mean(odd, 0)));
	double one = 7;
	ck_assert_double_eq(stats_median(&one, 1), 7);

	/* more than the stack copy holds: heap path */
	size_t n = 201;
	double *big = malloc(n * sizeof *big);
	for (size_t i = 0; i < n; i++)
		big[i] = (double)((i * 37) % n);   /* a permutation of 0..200 */
	ck_assert_double_eq(stats_median(big, n), 100);
	ck_assert_double_eq(big[1], 37);
	free(big);
}
END_TEST

START_TEST(stddev_cv)
{
	double x[] = { 2, 4, 4, 4, 5, 5, 7, 9 };
	ck_assert_double_eq_tol(stats_stddev(x, 8), 2.138089935299395, 1e-12);
	ck_assert_double_eq_tol(stats_cv_percent(x, 8), 42.7617987059879, 1e-9);
	ck_assert(isnan(stats_stddev(x, 1)));
	ck_assert(isnan(stats_cv_percent(x, 1)));
	double neg[] = { -2, -4, -4, -4, -5, -5, -7, -9 };
	ck_assert_double_eq_tol(stats_cv_percent(neg, 8), 42.7617987059879, 1e-9);
	double zero_mean[] = { -1, 1 }, zeros[] = { 0, 0, 0 };
	ck_assert(isinf(stats_cv_percent(zero_mean, 2)));
	ck_assert_double_eq(stats_cv_percent(zeros, 3), 0);
	/* large, close values: a one-pass formula would lose them */
	double close[] = { 1e9 + 1, 1e9 + 2, 1e9 + 3 };
	ck_assert_double_eq_tol(stats_stddev(close, 3), 1, 1e-9);
}
END_TEST

START_TEST(ci_small_n_uses_t)
{
	struct stats_ci ci;
	double three[] = { 3, 1, 2 };
	ck_assert_int_eq(stats_ci95(three, 3, &ci), 0);
	ck_assert_int_eq(ci.method, STATS_CI_MEAN_T);
	ck_assert_str_eq(stats_ci_method_name(ci.method), "mean_t");
	ck_assert_double_eq_tol(ci.low, 2 - 2.4841376945744704, 1e-6);
	ck_assert_double_eq_tol(ci.high, 2 + 2.4841376945744704, 1e-6);

	double five[] = { 5, 4, 3, 2, 1 };
	ck_assert_int_eq(stats_ci95(five, 5, &ci), 0);
	ck_assert_int_eq(ci.method, STATS_CI_MEAN_T);
	ck_assert_double_eq_tol(ci.low, 3 - 1.9632431578021623, 1e-6);
	ck_assert_double_eq_tol(ci.high, 3 + 1.9632431578021623, 1e-6);

	double one = 4;
	ck_assert_int_eq(stats_ci95(&one, 1, &ci), 0);
	ck_assert_int_eq(ci.method, STATS_CI_NONE);
	ck_assert_double_eq(ci.low, 4);
	ck_assert_double_eq(ci.high, 4);
	ck_assert_int_eq(stats_ci95(&one, 0, &ci), 0);
	ck_assert(isnan(ci.low));

	double bad[] = { 1, NAN, 3 };
	ck_assert_int_eq(stats_ci95(bad, 3, &ci), -EINVAL);
}
END_TEST

START_TEST(ci_order_statistics)
{
	struct stats_ci ci;
	double six[] = { 6, 5, 4, 3, 2, 1 };
	ck_assert_int_eq(stats_ci95(six, 6, &ci), 0);
	ck_assert_int_eq(ci.method, STATS_CI_MEDIAN_ORDER);
	ck_assert_str_eq(stats_ci_method_name(ci.method), "median_order");
	ck_assert_uint_eq(ci.k, 1);
	ck_assert_double_eq(ci.low, 1);
	ck_assert_double_eq(ci.high, 6);
	ck_assert_double_eq_tol(ci.coverage, 0.96875, 1e-12);

	double ten[] = { 10, 3, 7, 1, 9, 2, 8, 4, 6, 5 };
	ck_assert_int_eq(stats_ci95(ten, 10, &ci), 0);
	ck_assert_int_eq(ci.method, STATS_CI_MEDIAN_ORDER);
	ck_assert_uint_eq(ci.k, 2);
	ck_assert_double_eq(ci.low, 2);
	ck_assert_double_eq(ci.high, 9);
	ck_assert_double_eq_tol(ci.coverage, 0.978515625, 1e-12);
	ck_assert_double_eq(ten[0], 10);   /* input untouched */

	double fifty[50];
	for (int i = 0; i < 50; i++)
		fifty[i] = 50 - i;
	ck_assert_int_eq(stats_ci95(fifty, 50, &ci), 0);
	ck_assert_uint_eq(ci.k, 18);
	ck_assert_double_eq(ci.low, 18);
	ck_assert_double_eq(ci.high, 33);
	ck_assert_double_eq_tol(ci.coverage, 0.9671608624357315, 1e-9);
	ck_assert(ci.coverage >= 0.95);
}
END_TEST

START_TEST(t_quantiles)
{
	ck_assert_double_eq_tol(stats_t975(1), 12.7062047, 1e-6);
	ck_assert_double_eq_tol(stats_t975(30), 2.0422725, 1e-6);
	ck_assert_double_eq_tol(stats_t975(40), 2.0210754, 1e-4);
	ck_assert_double_eq_tol(stats_t975(100), 1.9839715, 1e-4);
	ck_assert(isnan(stats_t975(0)));
}
END_TEST

START_TEST(early_stop)
{
	enum stop_reason why;
	/* below min: never, however good the CV */
	ck_assert(!stats_should_stop(2, 3, 5, 0.1, 5, &why));
	ck_assert_int_eq(why, STOP_CONTINUE);
	/* at min, CV exactly at target: stop */
	ck_assert(stats_should_stop(3, 3, 5, 5.0, 5.0, &why));
	ck_assert_int_eq(why, STOP_CV_TARGET);
	ck_assert_str_eq(stats_stop_reason_name(why), "cv_target");
	/* just above target: continue */
	ck_assert(!stats_should_stop(3, 3, 5, 5.0001, 5.0, &why));
	ck_assert_int_eq(why, STOP_CONTINUE);
	ck_assert_str_eq(stats_stop_reason_name(why), "continue");
	/* at max: stop regardless */
	ck_assert(stats_should_stop(5, 3, 5, 50, 5, &why));
	ck_assert_int_eq(why, STOP_MAX_TRIALS);
	ck_assert_str_eq(stats_stop_reason_name(why), "max_trials");
	ck_assert(!stats_should_stop(4, 3, 5, 50, 5, &why));
	/* both: the CV reason wins */
	ck_assert(stats_should_stop(5, 3, 5, 1, 5, &why));
	ck_assert_int_eq(why, STOP_CV_TARGET);
	/* NAN CV never meets a target */
	ck_assert(!stats_should_stop(3, 1, 5, NAN, 5, &why));
	ck_assert(stats_should_stop(5, 1, 5, NAN, 5, &why));
	ck_assert_int_eq(why, STOP_MAX_TRIALS);
	/* min > max is clamped to max */
	ck_assert(stats_should_stop(2, 10, 2, 1, 5, &why));
	ck_assert_int_eq(why, STOP_CV_TARGET);
	/* max 0 behaves as 1; why may be NULL */
	ck_assert(stats_should_stop(1, 0, 0, NAN, 5, NULL));
	ck_assert(!stats_should_stop(0, 0, 0, NAN, 5, NULL));
}
END_TEST

START_TEST(t_p_values)
{
	/* the table's 97.5 % quantiles are where the two-sided p is 0.05 */
	for (size_t df = 1; df <= 40; df += 3)
		ck_assert_double_eq_tol(stats_t_two_sided_p(stats_t975(df), (double)df), 0.05, 2e-5);
	/* closed forms: df 1 is Cauchy, df 2 is 1 − |t|/√(2 + t²) */
	for (double t = -5; t <= 5; t += 0.7) {
		ck_assert_double_eq_tol(stats_t_two_sided_p(t, 1), 1 - 2 / M_PI * atan(fabs(t)), 1e-9);
		ck_assert_double_eq_tol(stats_t_two_sided_p(t, 2), 1 - fabs(t) / sqrt(2 + t * t), 1e-9);
	}
	ck_assert_double_eq(stats_t_two_sided_p(0, 7.5), 1);
	ck_assert_double_eq(stats_t_two_sided_p(INFINITY, 3), 0);
	ck_assert(isnan(stats_t_two_sided_p(1, 0)));
	ck_assert(isnan(stats_t_two_sided_p(NAN, 3)));
	/* far tails stay positive and ordered */
	double p40 = stats_t_two_sided_p(40, 10), p60 = stats_t_two_sided_p(60, 10);
	ck_assert(p40 > 0 && p60 > 0 && p60 < p40 && p40 < 1e-10);
}
END_TEST

START_TEST(welch)
{
	/* Wikipedia's "Welch's t-test" example: t = −2.46, ν ≈ 25.0, p = 0.021 */
	static const double a1[] = { 27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1,
				     21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4 };
	static const double a2[] = { 27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0,
				     24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4 };
	struct stats_welch w;
	ck_assert_int_eq(stats_welch(a1, 15, a2, 15, &w), 0);
	ck_assert_double_eq_tol(w.t, -2.46, 0.005);
	ck_assert_double_eq_tol(w.df, 24.99, 0.01);
	ck_assert_double_eq_tol(w.p, 0.021, 0.0005);
	ck_assert_double_eq_tol(w.diff, stats_mean(a1, 15) - stats_mean(a2, 15), 1e-12);
	/* swapped: the same p, t negated */
	struct stats_welch v;
	ck_assert_int_eq(stats_welch(a2, 15, a1, 15, &v), 0);
	ck_assert_double_eq_tol(v.t, -w.t, 1e-12);
	ck_assert_double_eq_tol(v.p, w.p, 1e-12);
	/* no spread: equal means p 1, different means p 0 */
	static const double c[] = { 2, 2, 2 }, d[] = { 3, 3 };
	ck_assert_int_eq(stats_welch(c, 3, c, 3, &w), 0);
	ck_assert_double_eq(w.p, 1);
	ck_assert_int_eq(stats_welch(c, 3, d, 2, &w), 0);
	ck_assert_double_eq(w.p, 0);
	ck_assert(isinf(w.t) && w.t < 0);
	/* too few values */
	ck_assert_int_eq(stats_welch(c, 1, d, 2, &w), -EINVAL);
}
END_TEST

static Suite *stats_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("stats", &tc);
	tcase_add_test(tc, median_mean);
	tcase_add_test(tc, stddev_cv);
	tcase_add_test(tc, ci_small_n_uses_t);
	tcase_add_test(tc, ci_order_statistics);
	tcase_add_test(tc, t_quantiles);
	tcase_add_test(tc, early_stop);
	tcase_add_test(tc, t_p_values);
	tcase_add_test(tc, welch);
	return s;
}

TESTUTIL_MAIN(stats_suite)
