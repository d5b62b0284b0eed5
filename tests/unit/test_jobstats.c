/* Job statistics against a real redis-server: two workers add, the server reads
 * Prometheus-shaped histograms (cumulative buckets, +Inf = count). */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "jobstats.h"
#include "redis_testsrv.h"

TESTSRV_TWO_CLIENTS

/* The bucket index of the first bound ≥ v. */
static size_t first_le(const struct jobstats_hist_view *h, double v)
{
	size_t b = 0;
	while (b < h->n_bounds && v > h->bounds[b])
		b++;
	return b;
}

START_TEST(empty_reads_zero)
{
	struct jobstats js;
	ck_assert_int_eq(jobstats_read(ra, &js), 0);
	for (int h = 0; h < JOBSTATS_NHIST; h++) {
		ck_assert_uint_eq(js.h[h].count, 0);
		ck_assert_ptr_nonnull(js.h[h].name);
		ck_assert_uint_gt(js.h[h].n_bounds, 3);
	}
	ck_assert_uint_eq(js.finished[0][0], 0);
}
END_TEST

START_TEST(two_workers_add_up)
{
	double trials[] = { 0.25, 0.3, 0.31, 100 };
	struct jobstats_sample a = { .kind = "measure", .outcome = "completed", .job_seconds = 3.5,
				     .trial_seconds = trials, .n_trials = 4, .energy_joules = 1.5 };
	struct jobstats_sample b = { .kind = "measure", .outcome = "failed", .job_seconds = 0.2,
				     .energy_joules = -1 };
	struct jobstats_sample v = { .kind = "validate", .outcome = "completed", .job_seconds = 0.05,
				     .energy_joules = -1 };
	struct jobstats js;

	ck_assert_int_eq(jobstats_record(ra, &a), 0);
	ck_assert_int_eq(jobstats_record(rb, &b), 0);
	ck_assert_int_eq(jobstats_record(rb, &v), 0);
	ck_assert_int_eq(jobstats_read(ra, &js), 0);

	const struct jobstats_hist_view *job = &js.h[JOBSTATS_JOB_SECONDS];
	ck_assert_uint_eq(job->count, 3);
	ck_assert(fabs(job->sum - 3.75) < 1e-9);
	/* cumulative: below 3.5 s only the two short jobs */
	size_t k = first_le(job, 3.5);
	ck_assert_uint_eq(job->cumulative[k], 3);
	if (k > 0)
		ck_assert_uint_eq(job->cumulative[k - 1], 2);
	ck_assert_uint_eq(job->cumulative[job->n_bounds], 3);
	for (size_t i = 1; i <= job->n_bounds; i++)
		ck_assert_uint_ge(job->cumulative[i], job->cumulative[i - 1]);

	const struct jobstats_hist_view *tr = &js.h[JOBSTATS_TRIAL_SECONDS];
	ck_assert_uint_eq(tr->count, 4);
	ck_assert(fabs(tr->sum - 100.86) < 1e-9);
	ck_assert_uint_eq(tr->cumulative[first_le(tr, 0.31)], 3);
	ck_assert_uint_eq(tr->cumulative[tr->n_bounds - 1], 3);   /* 100 s is over every bound */
	ck_assert_uint_eq(tr->cumulative[tr->n_bounds], 4);

	const struct jobstats_hist_view *en = &js.h[JOBSTATS_ENERGY_JOULES];
	ck_assert_uint_eq(en->count, 1);
	ck_assert(fabs(en->sum - 1.5) < 1e-9);

	ck_assert_uint_eq(js.finished[0][0], 1);   /* measure completed */
	ck_assert_uint_eq(js.finished[0][1], 1);   /* measure failed */
	ck_assert_uint_eq(js.finished[1][0], 1);   /* validate completed */
	ck_assert_uint_eq(js.finished[1][2], 0);
}
END_TEST

START_TEST(bad_samples_are_refused)
{
	struct jobstats_sample s = { .kind = "nope", .outcome = "completed", .energy_joules = -1 };
	ck_assert_int_eq(jobstats_record(ra, &s), -EINVAL);
	s.kind = "measure";
	s.outcome = "exploded";
	ck_assert_int_eq(jobstats_record(ra, &s), -EINVAL);
	ck_assert_int_eq(jobstats_record(ra, NULL), -EINVAL);
}
END_TEST

static Suite *jobstats_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("jobstats", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, empty_reads_zero);
	tcase_add_test(tc, two_workers_add_up);
	tcase_add_test(tc, bad_samples_are_refused);
	return s;
}

TESTSRV_MAIN("test_jobstats", &srv, jobstats_suite)
