/* lrsplit: exact conservation, shares within 1 of exact, and the same units
 * handed out as a full sort of the remainders would (ties to the lower index). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lrsplit.h"
#include "testutil.h"

#define N_MAX 64

/* The reference: the old attrib.c rule, by sorting every remainder. */
static int by_rem(const void *a, const void *b)
{
	const struct lrsplit_rem *x = a, *y = b;
	if (x->r != y->r)
		return x->r < y->r ? 1 : -1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void reference(int64_t e, const uint64_t *w, size_t n, uint64_t d, int64_t *share)
{
	unsigned __int128 mag = (unsigned __int128)(e < 0 ? -(__int128)e : e), wsum = 0;
	struct lrsplit_rem rem[N_MAX];
	int64_t assigned = 0;

	for (size_t i = 0; i < n; i++)
		wsum += w[i];
	int64_t target = (int64_t)(mag * wsum / d);
	for (size_t i = 0; i < n; i++) {
		share[i] = (int64_t)(mag * w[i] / d);
		rem[i].r = (uint64_t)(mag * w[i] % d);
		rem[i].i = i;
		assigned += share[i];
	}
	qsort(rem, n, sizeof *rem, by_rem);
	for (int64_t k = 0; k < target - assigned; k++)
		share[rem[k].i]++;
	for (size_t i = 0; i < n; i++)
		share[i] *= e < 0 ? -1 : 1;
}

START_TEST(matches_a_full_sort)
{
	unsigned seed = 1234;
	uint64_t w[N_MAX];
	int64_t got[N_MAX], want[N_MAX];
	struct lrsplit_rem scratch[N_MAX];

	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(rand_r(&seed) % N_MAX) + 1;
		uint64_t sum = 0;
		/* small weights give many equal remainders: the ties are exercised */
		uint64_t span = round % 2 ? 7 : 1000000007;
		for (size_t i = 0; i < n; i++)
			sum += w[i] = (uint64_t)rand_r(&seed) % span;
		uint64_t d = sum + (uint64_t)(rand_r(&seed) % 3 ? 0 : rand_r(&seed) % 1000);
		if (d == 0)
			continue;
		int64_t e = (int64_t)rand_r(&seed) * (round % 5 == 0 ? -1 : 1);
		int64_t rest = lrsplit(e, w, n, d, got, scratch), total = rest;
		reference(e, w, n, d, want);
		for (size_t i = 0; i < n; i++) {
			ck_assert_int_eq(got[i], want[i]);
			total += got[i];
		}
		ck_assert_int_eq(total, e);
	}
}
END_TEST

START_TEST(ties_go_to_the_lower_index)
{
	uint64_t w[3] = { 1, 1, 1 };
	int64_t s[3];
	struct lrsplit_rem scratch[3];

	ck_assert_int_eq(lrsplit(2, w, 3, 3, s, scratch), 0);
	ck_assert_int_eq(s[0], 1);
	ck_assert_int_eq(s[1], 1);
	ck_assert_int_eq(s[2], 0);
	/* a quarter of the time nobody's: 10 × 3/4 = 7.5 → 7 attributed, 3 left */
	ck_assert_int_eq(lrsplit(10, w, 3, 4, s, scratch), 3);
	ck_assert_int_eq(s[0] + s[1] + s[2], 7);
	ck_assert_int_eq(s[0], 3);
	/* nothing to weigh by: all of it returned */
	uint64_t zero[3] = { 0, 0, 0 };
	ck_assert_int_eq(lrsplit(10, zero, 3, 0, s, scratch), 10);
	ck_assert_int_eq(s[0] + s[1] + s[2], 0);
	ck_assert_int_eq(lrsplit(10, w, 0, 5, s, scratch), 10);
	/* weights above the denominator: their sum is the denominator */
	ck_assert_int_eq(lrsplit(9, w, 3, 1, s, scratch), 0);
	ck_assert_int_eq(s[0] + s[1] + s[2], 9);
}
END_TEST

static Suite *suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("lrsplit", &tc);
	tcase_add_test(tc, matches_a_full_sort);
	tcase_add_test(tc, ties_go_to_the_lower_index);
	return s;
}

TESTUTIL_MAIN(suite)
