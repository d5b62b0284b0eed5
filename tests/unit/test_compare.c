/* Unit tests for lib/api/compare: per-trial figures, Welch pairs, Holm, items. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "stats.h"
#include "testutil.h"

/*
 * A completed task as GET /api/v1/tasks/{id} gives it, with trials whose
 * candidate energies are uj[0..n) (one more trial, not kept, that must be
 * ignored), `passes` passes of `tests` test cases each.
 */
static json_t *task(const char *id, const double *uj, size_t n, int passes, int tests,
		    const char *host)
{
	json_t *trials = json_array();
	double per_call[16];
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(trials, json_pack("{s:b, s:i, s:f}", "kept", 1, "passes", passes,
							"candidate_energy_uj", uj[i]));
		per_call[i] = uj[i] / 1e6 / passes / tests;
	}
	json_array_append_new(trials, json_pack("{s:b, s:i, s:f}", "kept", 0, "passes", passes,
						"candidate_energy_uj", 1e12));
	double calls = (double)passes * tests, med = stats_median(per_call, n);
	json_t *t = json_pack("{s:s, s:s, s:s, s:{s:i}, s:o, s:{s:f, s:i, s:f, s:[f,f], s:f, s:b},"
			      " s:{s:s, s:s, s:b}}",
		"task_id", id, "status", "completed", "candidate_id", "<b>c</b>",
		"validation", "total_tests", tests, "trials", trials,
		"energy_metrics", "energy_per_call_joules", med, "passes_per_trial", passes,
		"cv_percent", 1.0, "ci95_total_energy_joules", med * calls * 0.9, med * calls * 1.1,
		"median_execution_time_seconds", 0.2, "below_noise_floor", 0,
		"measurement_environment", "host_id", host, "meter_type", "rapl", "estimated", 0);
	ck_assert_ptr_nonnull(t);
	return t;
}

static const json_t *item(const json_t *cmp, size_t i)
{
	return json_array_get(json_object_get(cmp, "items"), i);
}

static double fnum(const json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

START_TEST(trial_figures)
{
	static const double uj[] = { 1000, 2000, 3000 };
	json_t *t = task("a", uj, 3, 10, 2, "h");
	double f[8];
	size_t n;
	ck_assert_int_eq(compare_trial_figures(t, f, 8, &n), 0);
	ck_assert_uint_eq(n, 3);      /* the unkept trial is not a figure */
	ck_assert_double_eq_tol(f[1], 2000 / 1e6 / 20, 1e-15);
	ck_assert_int_eq(compare_trial_figures(t, f, 2, &n), -EINVAL);   /* no room */
	json_object_set_new(t, "status", json_string("failed"));
	ck_assert_int_eq(compare_trial_figures(t, f, 8, &n), -EINVAL);
	ck_assert_uint_eq(n, 0);
	json_decref(t);
}
END_TEST

START_TEST(two_tasks_clearly_apart)
{
	static const double cheap[] = { 100, 102, 98, 101, 99 }, dear[] = { 200, 204, 196, 202, 198 };
	json_t *r[2] = { task("dear", dear, 5, 10, 1, "h"), task("cheap", cheap, 5, 10, 1, "h") };
	char why[128];
	json_t *c = compare_build(r, 2, why, sizeof why);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(json_string_value(json_object_get(c, "best")), "cheap");
	ck_assert_str_eq(json_string_value(json_object_get(c, "test")), "welch_t");
	ck_assert_double_eq_tol(fnum(item(c, 0), "ratio_to_best"), 2.0, 1e-9);
	ck_assert_int_eq(json_integer_value(json_object_get(item(c, 0), "rank")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(item(c, 1), "rank")), 1);
	ck_assert_double_eq_tol(json_number_value(json_array_get(
		json_object_get(item(c, 1), "ci95_per_call_joules"), 1)), 100e-6 / 10 * 1.1, 1e-12);
	const json_t *p = json_array_get(json_object_get(c, "pairs"), 0);
	ck_assert(json_is_true(json_object_get(p, "significant")));
	ck_assert_str_eq(json_string_value(json_object_get(p, "cheaper")), "cheap");
	ck_assert(fnum(p, "p_value") < 1e-6);
	ck_assert(fnum(p, "t") > 0);    /* a − b with a the dearer */
	ck_assert_uint_eq(json_array_size(json_object_get(c, "warnings")), 0);
	json_decref(c);
	json_decref(r[0]);
	json_decref(r[1]);
}
END_TEST

START_TEST(overlapping_tasks_are_not_significant)
{
	static const double a[] = { 100, 120, 80, 110, 90 }, b[] = { 101, 119, 82, 108, 93 };
	json_t *r[2] = { task("a", a, 5, 10, 1, "h1"), task("b", b, 5, 10, 1, "h2") };
	char why[128];
	json_t *c = compare_build(r, 2, why, sizeof why);
	const json_t *p = json_array_get(json_object_get(c, "pairs"), 0);
	ck_assert(json_is_false(json_object_get(p, "significant")));
	ck_assert(json_is_null(json_object_get(p, "cheaper")));
	ck_assert(fnum(p, "p_value") > 0.5);
	/* different hosts are called out */
	ck_assert_uint_eq(json_array_size(json_object_get(c, "warnings")), 1);
	json_decref(c);
	json_decref(r[0]);
	json_decref(r[1]);
}
END_TEST

START_TEST(holm_and_incomparable_items)
{
	static const double a[] = { 100, 101, 99 }, b[] = { 100.5, 101.5, 99.5 }, c1[] = { 300, 310, 290 },
			    one[] = { 50 };
	json_t *r[5] = { task("a", a, 3, 1, 1, "h"), task("b", b, 3, 1, 1, "h"), task("c", c1, 3, 1, 1, "h"),
			 task("one", one, 1, 1, 1, "h"), task("failed", a, 3, 1, 1, "h") };
	json_object_set_new(r[4], "status", json_string("failed"));
	char why[128];
	json_t *c = compare_build(r, 5, why, sizeof why);
	ck_assert_ptr_nonnull(c);
	/* failed: an item, not comparable, in no pair */
	ck_assert(json_is_false(json_object_get(item(c, 4), "comparable")));
	ck_assert_ptr_nonnull(json_string_value(json_object_get(item(c, 4), "reason")));
	ck_assert(json_is_null(json_object_get(item(c, 4), "rank")));
	/* 4 comparable tasks: 6 pairs; the one-trial task's 3 are untested */
	const json_t *pairs = json_object_get(c, "pairs");
	ck_assert_uint_eq(json_array_size(pairs), 6);
	size_t i, untested = 0;
	const json_t *p;
	json_array_foreach(pairs, i, p) {
		if (json_is_null(json_object_get(p, "p_value"))) {
			untested++;
			ck_assert(json_is_false(json_object_get(p, "significant")));
			continue;
		}
		/* Holm never lowers a p-value, and at most multiplies it by the tested count */
		ck_assert(fnum(p, "p_adjusted") >= fnum(p, "p_value"));
		ck_assert(fnum(p, "p_adjusted") <= fmin(1, 3 * fnum(p, "p_value")) + 1e-12);
	}
	ck_assert_uint_eq(untested, 3);
	/* the best is the lowest median, even with one trial */
	ck_assert_str_eq(json_string_value(json_object_get(c, "best")), "one");
	json_decref(c);
	for (size_t k = 0; k < 5; k++)
		json_decref(r[k]);
}
END_TEST

START_TEST(bad_input)
{
	char why[128] = "";
	ck_assert_ptr_null(compare_build(NULL, 0, why, sizeof why));
	ck_assert(strstr(why, "1 to 20"));
	json_t *notask = json_array();
	ck_assert_ptr_null(compare_build(&notask, 1, why, sizeof why));
	ck_assert(strstr(why, "not a task"));
	json_decref(notask);
}
END_TEST

static Suite *compare_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("compare", &tc);
	tcase_add_test(tc, trial_figures);
	tcase_add_test(tc, two_tasks_clearly_apart);
	tcase_add_test(tc, overlapping_tasks_are_not_significant);
	tcase_add_test(tc, holm_and_incomparable_items);
	tcase_add_test(tc, bad_input);
	return s;
}

TESTUTIL_MAIN(compare_suite)
