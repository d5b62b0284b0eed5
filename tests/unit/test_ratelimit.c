/* Token buckets: burst, refill, per-client isolation, retry hint. */
#include <check.h>
#include <stdlib.h>

#include "ratelimit.h"

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

int main(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, burst_then_refill);
	tcase_add_test(tc, clients_are_separate);
	tcase_add_test(tc, bad_parameters);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
