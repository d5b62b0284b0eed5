/* monseals against a real redis-server: push, retry, trim, head only forward,
 * the bounded backlog while Redis is down, a refused seal skipped. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "monseals.h"
#include "redis_testsrv.h"

TESTSRV_ONE_CLIENT

#define HOST "host-a"
#define SET "jt:monitor:seals:" HOST
#define HEAD "jt:monitor:head:" HOST

static void text_of(long long seq, char *buf, size_t cap)
{
	snprintf(buf, cap, "{\"payload\":{\"sequence\":%lld},\"signature\":{}}", seq);
}

static int push(long long seq)
{
	char t[128], sha[65];
	text_of(seq, t, sizeof t);
	snprintf(sha, sizeof sha, "%064lld", seq);
	return monseals_push(r, HOST, seq, sha, "2026-11-30T21:00:00.000Z", t, strlen(t));
}

static char *head_field(const char *field)
{
	struct redis_reply *rep;
	ck_assert_int_eq(redis_cmdv(r, &rep, "HGET", HEAD, field, REDIS_END), 0);
	ck_assert_int_eq(rep->type, REDIS_T_STR);
	char *v = strdup(rep->str);
	redis_reply_free(rep);
	return v;
}

static long long head_seq(void)
{
	char *v = head_field("sequence");
	long long s = atoll(v);
	free(v);
	return s;
}

/* The sequences in the set, in score order, into seqs; returns how many. */
static size_t members(long long *seqs, size_t cap)
{
	struct redis_reply *rep;
	ck_assert_int_eq(redis_cmdv(r, &rep, "ZRANGE", SET, "0", "-1", "WITHSCORES", REDIS_END), 0);
	ck_assert_int_eq(rep->type, REDIS_T_ARR);
	size_t n = rep->n / 2;
	for (size_t i = 0; i < n && i < cap; i++) {
		char want[128];
		seqs[i] = atoll(rep->elem[2 * i + 1].str);
		text_of(seqs[i], want, sizeof want);
		ck_assert_str_eq(rep->elem[2 * i].str, want);
	}
	redis_reply_free(rep);
	return n;
}

START_TEST(push_retry_and_head)
{
	long long s[8];
	ck_assert_int_eq(push(1), 0);
	ck_assert_int_eq(push(2), 0);
	ck_assert_int_eq(push(3), 0);
	ck_assert_int_eq(push(2), 0);           /* a retry of a push whose answer was lost */
	ck_assert_uint_eq(members(s, 8), 3);
	ck_assert(s[0] == 1 && s[1] == 2 && s[2] == 3);
	ck_assert_int_eq(head_seq(), 3);        /* the late 2 did not move it back */
	char *sha = head_field("sha256"), *end = head_field("end");
	ck_assert_str_eq(sha, "0000000000000000000000000000000000000000000000000000000000000003");
	ck_assert_str_eq(end, "2026-11-30T21:00:00.000Z");
	free(sha);
	free(end);
	ck_assert_int_eq(monseals_push(r, "bad host", 1, "x", "y", "z", 1), -EINVAL);
	ck_assert_int_eq(monseals_push(r, HOST, 0, "x", "y", "z", 1), -EINVAL);
}
END_TEST

START_TEST(trimmed_to_keep)
{
	for (long long q = 1; q <= MONSEALS_KEEP + 5; q++)
		ck_assert_int_eq(push(q), 0);
	ck_assert_int_eq(testsrv_int(r, "ZCARD", SET, NULL), MONSEALS_KEEP);
	long long first[1];
	struct redis_reply *rep;
	ck_assert_int_eq(redis_cmdv(r, &rep, "ZRANGE", SET, "0", "0", "WITHSCORES", REDIS_END), 0);
	first[0] = atoll(rep->elem[1].str);
	redis_reply_free(rep);
	ck_assert_int_eq(first[0], 6);          /* the oldest five went */
	ck_assert_int_eq(head_seq(), MONSEALS_KEEP + 5);
}
END_TEST

static void enqueue(struct monseals *m, long long seq)
{
	char t[128], sha[65];
	text_of(seq, t, sizeof t);
	snprintf(sha, sizeof sha, "%064lld", seq);
	ck_assert_int_eq(monseals_enqueue(m, seq, sha, "2026-11-30T21:00:00.000Z", t, strlen(t)), 0);
}

/* A server of its own: stopped and started again here (the shared one must
 * outlive this test's forked child). */
START_TEST(backlog_while_redis_is_down)
{
	struct testsrv own = { 0 };
	struct monseals *m = monseals_new(HOST, 3);
	struct monseals_stats st;
	long long s[8];
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(testsrv_start(&own, false), 0);
	redis_close(r);
	r = redis_open(own.url, 2000);
	enqueue(m, 1);
	ck_assert_int_eq(monseals_flush(m, r), 0);
	testsrv_stop(&own);
	for (long long q = 2; q <= 6; q++)
		enqueue(m, q);
	int ret = monseals_flush(m, r);
	ck_assert_msg(ret == -ECONNREFUSED || ret == -EIO || ret == -ETIMEDOUT, "flush: %d", ret);
	monseals_stats(m, &st);
	ck_assert_uint_eq(st.backlog, 3);       /* 4, 5, 6: the oldest two dropped */
	ck_assert_uint_eq(st.dropped, 2);
	ck_assert_uint_eq(st.pushed, 1);
	ck_assert_int_eq(testsrv_start(&own, false), 0);
	/* the first command after a restart may fail: the caller retries */
	for (int i = 0; i < 3 && (ret = monseals_flush(m, r)); i++)
		;
	ck_assert_int_eq(ret, 0);
	monseals_stats(m, &st);
	ck_assert_uint_eq(st.backlog, 0);
	ck_assert_uint_eq(st.pushed, 4);
	ck_assert_uint_eq(members(s, 8), 3);    /* a fresh server: only what came after */
	ck_assert(s[0] == 4 && s[1] == 5 && s[2] == 6);
	ck_assert_int_eq(head_seq(), 6);
	monseals_free(m);
	testsrv_cleanup(&own);
}
END_TEST

START_TEST(refused_seal_is_skipped)
{
	struct monseals *m = monseals_new(HOST, 8);
	struct monseals_stats st;
	ck_assert_int_eq(redis_cmdv(r, NULL, "SET", HEAD, "not a hash", REDIS_END), 0);
	enqueue(m, 1);
	enqueue(m, 2);
	ck_assert_int_eq(monseals_flush(m, r), 0);
	monseals_stats(m, &st);
	ck_assert_uint_eq(st.refused, 2);
	ck_assert_uint_eq(st.pushed, 0);
	ck_assert_int_eq(redis_cmdv(r, NULL, "DEL", HEAD, REDIS_END), 0);
	enqueue(m, 3);
	ck_assert_int_eq(monseals_flush(m, r), 0);
	ck_assert_int_eq(head_seq(), 3);
	monseals_free(m);
}
END_TEST

START_TEST(wait_work_wakes)
{
	struct monseals *m = monseals_new(HOST, 2);
	ck_assert_ptr_null(monseals_new("no spaces", 2));
	ck_assert_ptr_null(monseals_new(HOST, 0));
	ck_assert(!monseals_wait_work(m, 20));   /* nothing queued: times out */
	enqueue(m, 1);
	ck_assert(monseals_wait_work(m, 5000));
	monseals_stop(m);
	ck_assert(!monseals_wait_work(m, 5000)); /* stopped: returns at once */
	monseals_free(m);
}
END_TEST

static Suite *monseals_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("monseals", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, push_retry_and_head);
	tcase_add_test(tc, trimmed_to_keep);
	tcase_add_test(tc, backlog_while_redis_is_down);
	tcase_add_test(tc, refused_seal_is_skipped);
	tcase_add_test(tc, wait_work_wakes);
	return s;
}

TESTSRV_MAIN("test_monseals", &srv, monseals_suite)
