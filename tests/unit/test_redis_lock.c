/* Measurement lock against a real redis-server: exclusion, tokens, TTL, fencing. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lock.h"
#include "log.h"
#include "redis_testsrv.h"
#include "util.h"

TESTSRV_TWO_CLIENTS

static long long pttl(struct redis *r, const char *key)
{
	return testsrv_int(r, "PTTL", key, NULL);
}

START_TEST(only_one_holder)
{
	struct lock a, b;
	ck_assert_int_eq(lock_acquire(ra, "host1", 10000, &a), 0);
	ck_assert(a.held);
	ck_assert_int_eq(strlen(a.token), 32);
	ck_assert_int_eq(a.fence, 1);
	ck_assert_int_eq(lock_acquire(rb, "host1", 10000, &b), -EBUSY);
	ck_assert(!b.held);
	/* another host's lock is independent */
	ck_assert_int_eq(lock_acquire(rb, "host2", 10000, &b), 0);
	ck_assert_int_eq(b.fence, 1);

	bool held = false;
	uint64_t since = 0;
	long long fence = 0;
	ck_assert_int_eq(lock_info(rb, "host1", &held, &since, &fence), 0);
	ck_assert(held);
	ck_assert_uint_eq(since, a.acquired_realtime_ns);
	ck_assert_int_eq(fence, 1);
}
END_TEST

START_TEST(wrong_token_cannot_release_or_renew)
{
	struct lock a, thief;
	ck_assert_int_eq(lock_acquire(ra, "h", 10000, &a), 0);
	thief = a;
	thief.token[0] = thief.token[0] == 'a' ? 'b' : 'a';
	ck_assert_int_eq(lock_release(rb, &thief), -ENOLCK);
	ck_assert(!thief.held);
	ck_assert_int_eq(lock_renew(rb, &thief, 60000), -ENOLCK);
	/* a prefix of the real token is not the token */
	thief = a;
	thief.token[31] = '\0';
	ck_assert_int_ne(lock_release(rb, &thief), 0);

	bool held = false;
	ck_assert_int_eq(lock_info(ra, "h", &held, NULL, NULL), 0);
	ck_assert(held);
	ck_assert_int_le(pttl(ra, "jt:lock:h"), 10000);
	ck_assert_int_eq(lock_release(ra, &a), 0);
	ck_assert(!a.held);
	ck_assert_int_eq(lock_info(ra, "h", &held, NULL, NULL), 0);
	ck_assert(!held);
	/* releasing twice is reported, not silently accepted */
	a.held = true;
	ck_assert_int_eq(lock_release(ra, &a), -ENOLCK);
}
END_TEST

START_TEST(renew_extends_ttl)
{
	struct lock a;
	ck_assert_int_eq(lock_acquire(ra, "h", 1000, &a), 0);
	long long t0 = pttl(ra, "jt:lock:h");
	ck_assert_int_gt(t0, 0);
	ck_assert_int_le(t0, 1000);
	ck_assert_int_eq(lock_renew(ra, &a, 30000), 0);
	long long t1 = pttl(ra, "jt:lock:h");
	ck_assert_int_gt(t1, 20000);
	ck_assert_int_le(t1, 30000);
	ck_assert(a.held);
}
END_TEST

START_TEST(expired_lock_moves_on_with_higher_fence)
{
	struct lock a, b;
	ck_assert_int_eq(lock_acquire(ra, "h", 300, &a), 0);
	ck_assert_int_eq(lock_acquire(rb, "h", 10000, &b), -EBUSY);
	testsrv_sleep_ms(400);
	ck_assert_int_eq(lock_acquire(rb, "h", 10000, &b), 0);
	ck_assert_int_gt(b.fence, a.fence);
	/* the stale holder can neither extend nor delete the new lock */
	ck_assert_int_eq(lock_renew(ra, &a, 10000), -ENOLCK);
	ck_assert(!a.held);
	ck_assert_int_eq(lock_release(ra, &a), -ENOLCK);
	bool held = false;
	long long fence = 0;
	ck_assert_int_eq(lock_info(ra, "h", &held, NULL, &fence), 0);
	ck_assert(held);
	ck_assert_int_eq(fence, b.fence);
	/* the owner releases; the next taker gets a still higher number */
	ck_assert_int_eq(lock_release(rb, &b), 0);
	ck_assert_int_eq(lock_info(ra, "h", &held, NULL, &fence), 0);
	ck_assert(!held);
	ck_assert_int_eq(fence, b.fence);
	ck_assert_int_eq(lock_acquire(ra, "h", 10000, &a), 0);
	ck_assert_int_gt(a.fence, b.fence);
}
END_TEST

START_TEST(bad_arguments)
{
	struct lock a;
	ck_assert_int_eq(lock_acquire(ra, "bad host", 1000, &a), -EINVAL);
	ck_assert_int_eq(lock_acquire(ra, "h", 0, &a), -EINVAL);
	ck_assert(!a.held);
}
END_TEST

static Suite *redis_lock_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("redis_lock", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, only_one_holder);
	tcase_add_test(tc, wrong_token_cannot_release_or_renew);
	tcase_add_test(tc, renew_extends_ttl);
	tcase_add_test(tc, expired_lock_moves_on_with_higher_fence);
	tcase_add_test(tc, bad_arguments);
	return s;
}

TESTSRV_MAIN("test_redis_lock", &srv, redis_lock_suite)
