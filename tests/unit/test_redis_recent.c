/* The index of the newest tasks (recent.h) against a real redis-server: filled
 * by tasks_create in its own step, capped, newest first, expired ones skipped,
 * energy per call copied at finish. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "recent.h"
#include "redis_testsrv.h"
#include "tasks.h"

#define REQ "{\"candidate_code\":\"def solve(x): return x\",\"test_cases\":[]}"
#define TTL 100

TESTSRV_ONE_CLIENT

static void create(const char *cand, const char *prob, const char *idem, char id[37])
{
	struct task_new t = { .request_json = REQ, .candidate_id = cand, .problem_name = prob };
	bool existing;
	ck_assert_int_eq(tasks_create(r, &t, idem, 3600, id, &existing), 0);
}

static void run_to(const char *id, const char *status, const char *result, const char *etype)
{
	ck_assert_int_eq(tasks_start(r, id, "w1"), 0);
	ck_assert_int_eq(tasks_finish(r, id, status, result, etype, etype ? "why" : NULL, TTL), 0);
}

START_TEST(newest_first_with_their_fields)
{
	char a[37], b[37], c[37];
	create("<script>alert(1)</script>", "sum & <i>", NULL, a);
	create("cand-b", NULL, NULL, b);
	create(NULL, "p", NULL, c);
	run_to(a, "completed", "{\"energy_metrics\":{\"energy_per_call_joules\":0.001819421888419379}}",
	       NULL);
	run_to(b, "failed", NULL, "validation_failed");

	struct recent_task *t = NULL;
	size_t n = 0;
	ck_assert_int_eq(recent_list(r, 50, &t, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(t[0].id, c);
	ck_assert_str_eq(t[1].id, b);
	ck_assert_str_eq(t[2].id, a);
	ck_assert_str_eq(t[0].status, "queued");
	ck_assert_ptr_null(t[0].candidate_id);
	ck_assert_str_eq(t[0].problem_name, "p");
	ck_assert_ptr_nonnull(t[0].created_at);
	ck_assert_ptr_null(t[0].finished_at);
	ck_assert(isnan(t[0].energy_per_call_j));
	ck_assert_str_eq(t[1].status, "failed");
	ck_assert_str_eq(t[1].error_type, "validation_failed");
	ck_assert(isnan(t[1].energy_per_call_j));
	ck_assert_str_eq(t[2].status, "completed");
	ck_assert_str_eq(t[2].candidate_id, "<script>alert(1)</script>");
	ck_assert_str_eq(t[2].problem_name, "sum & <i>");
	ck_assert_ptr_nonnull(t[2].finished_at);
	ck_assert_ptr_null(t[2].error_type);
	/* %.17g and back: the very double the result carried */
	ck_assert(t[2].energy_per_call_j == 0.001819421888419379);
	recent_free(t, n);

	ck_assert_int_eq(recent_list(r, 2, &t, &n), 0);   /* max is obeyed */
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(t[0].id, c);
	recent_free(t, n);
	ck_assert_int_eq(recent_list(r, 0, &t, &n), -EINVAL);
}
END_TEST

START_TEST(capped_at_the_newest)
{
	char id[37], first[37], last[37];
	for (int i = 0; i < KEYS_RECENT_MAX + 7; i++) {
		create("c", "p", NULL, id);
		if (i == 0)
			memcpy(first, id, sizeof id);
	}
	memcpy(last, id, sizeof id);
	ck_assert_int_eq(testsrv_int(r, "LLEN", KEYS_RECENT, NULL), KEYS_RECENT_MAX);
	struct recent_task *t = NULL;
	size_t n = 0;
	ck_assert_int_eq(recent_list(r, 10000, &t, &n), 0);
	ck_assert_uint_eq(n, KEYS_RECENT_MAX);
	ck_assert_str_eq(t[0].id, last);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_ne(t[i].id, first);      /* the oldest fell off */
	recent_free(t, n);
}
END_TEST

START_TEST(expired_and_replayed_tasks)
{
	char a[37], b[37], again[37], key[KEYS_MAX];
	create("a", "p", "idem-1", a);
	create("b", "p", NULL, b);
	create("a", "p", "idem-1", again);      /* an idempotent replay: no second entry */
	ck_assert_str_eq(again, a);
	ck_assert_int_eq(testsrv_int(r, "LLEN", KEYS_RECENT, NULL), 2);
	/* a finished record that expired is gone, as DEL leaves it */
	ck_assert_int_eq(keys_task(key, sizeof key, b), 0);
	ck_assert_int_eq(testsrv_int(r, "DEL", key, NULL), 1);
	struct recent_task *t = NULL;
	size_t n = 0;
	ck_assert_int_eq(recent_list(r, 50, &t, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(t[0].id, a);
	recent_free(t, n);
}
END_TEST

START_TEST(a_completed_result_without_the_figure)
{
	char a[37];
	create("a", "p", NULL, a);
	run_to(a, "completed", "{\"energy_metrics\":{\"energy_per_call_joules\":\"x\"}}", NULL);
	struct recent_task *t = NULL;
	size_t n = 0;
	ck_assert_int_eq(recent_list(r, 50, &t, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(isnan(t[0].energy_per_call_j));
	recent_free(t, n);
}
END_TEST

static Suite *recent_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("redis_recent", &tc);
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, newest_first_with_their_fields);
	tcase_add_test(tc, capped_at_the_newest);
	tcase_add_test(tc, expired_and_replayed_tasks);
	tcase_add_test(tc, a_completed_result_without_the_figure);
	return s;
}

TESTSRV_MAIN("test_redis_recent", &srv, recent_suite)
