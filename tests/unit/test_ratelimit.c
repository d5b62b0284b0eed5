/* Token buckets: burst, refill, per-client isolation, retry hint. */
#include <check.h>

#include "ratelimit.h"
#include "testutil.h"

#define S 1000000000ull

START_TEST(burst_then_refill)
{
	struct ratelimit *rl = ratelimit_new(2.0, 3.0);
	double retry = 0;
	ck_assert_ptr_nonnull(rl);
	for (int i = 0; i < 3; i++)
		ck_assert(ratelimit_allow(rl, "a", 10 * S, &retry));
	ck_assert(!ratelimit_allow(rl, "a", 10 * S, &retry));
	ck_assert_double_eq_tol(retry, 0.5, 1e-9);
	/* half a second later exactly one token is back */
	ck_assert(ratelimit_allow(rl, "a", 10 * S + S / 2, &retry));
	ck_assert(!ratelimit_allow(rl, "a", 10 * S + S / 2, &retry));
	/* never more than the burst after a long pause */
	for (int i = 0; i < 3; i++)
		ck_assert(ratelimit_allow(rl, "a", 100 * S, &retry));
	ck_assert(!ratelimit_allow(rl, "a", 100 * S, &retry));
	ratelimit_free(rl);
}
END_TEST

START_TEST(clients_are_separate)
{
	struct ratelimit *rl = ratelimit_new(1.0, 1.0);
	ck_assert(ratelimit_allow(rl, "10.0.0.1", S, NULL));
	ck_assert(!ratelimit_allow(rl, "10.0.0.1", S, NULL));
	ck_assert(ratelimit_allow(rl, "10.0.0.2", S, NULL));
	ratelimit_free(rl);
}
END_TEST

START_TEST(bad_parameters)
{
	ck_assert_ptr_null(ratelimit_new(0, 1));
	ck_assert_ptr_null(ratelimit_new(1, 0.5));
}
END_TEST

static Suite *ratelimit_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("ratelimit", &tc);
	tcase_add_test(tc, burst_then_refill);
	tcase_add_test(tc, clients_are_separate);
	tcase_add_test(tc, bad_parameters);
	return s;
}

TESTUTIL_MAIN(ratelimit_suite)
