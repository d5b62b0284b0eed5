/* Reliable queue and worker liveness against a real redis-server. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "queue.h"
#include "redis_testsrv.h"
#include "util.h"
#include "workers.h"

static struct testsrv srv;
static struct redis *r1, *r2;

static void setup(void)
{
	testsrv_setup(&srv, &r1, &r2);
}

static void teardown(void)
{
	testsrv_teardown(r1, r2);
}

static void push(const char *kind, const char *job)
{
	ck_assert_int_eq(queue_push(r1, kind, job, strlen(job)), 0);
}

/* Reserves and checks the payload in one go. */
static void expect_reserve(struct redis *r, const char *kind, const char *w, const char *want)
{
	char *p = NULL;
	size_t n = 0;
	ck_assert_int_eq(queue_reserve(r, kind, w, 500, &p, &n), 0);
	ck_assert_str_eq(p, want);
	ck_assert_uint_eq(n, strlen(want));
	free(p);
}

static long long llen(const char *key)
{
	return testsrv_int(r1, "LLEN", key, NULL);
}

static bool in_set(const char *set, const char *member)
{
	return testsrv_int(r1, "SISMEMBER", set, member) == 1;
}

/* Worker death without waiting for the TTL, for the bulk test. */
static void kill_heartbeat(const char *w)
{
	char key[64];
	snprintf(key, sizeof key, "jt:hb:%s", w);
	ck_assert_int_eq(redis_cmdv(r1, NULL, "DEL", key, REDIS_END), 0);
}

START_TEST(push_reserve_ack)
{
	char *p = NULL;
	long long d = -1;
	push("measure", "a");
	push("measure", "b");
	push("measure", "c");
	ck_assert_int_eq(queue_depth(r1, "measure", &d), 0);
	ck_assert_int_eq(d, 3);
	ck_assert_int_eq(queue_depth(r1, "validate", &d), 0);
	ck_assert_int_eq(d, 0);
	expect_reserve(r1, "measure", "w1", "a");          /* FIFO */
	ck_assert_int_eq(llen("jt:proc:measure:w1"), 1);
	ck_assert_int_eq(llen("jt:q:measure"), 2);
	ck_assert_int_eq(queue_ack(r1, "measure", "w1", "a", 1), 0);
	ck_assert_int_eq(llen("jt:proc:measure:w1"), 0);
	ck_assert_int_eq(queue_ack(r1, "measure", "w1", "a", 1), -ENOENT);
	expect_reserve(r2, "measure", "w2", "b");
	expect_reserve(r2, "measure", "w2", "c");
	/* empty: immediately, and after blocking for the given time */
	ck_assert_int_eq(queue_reserve(r1, "measure", "w1", 0, &p, NULL), -ETIMEDOUT);
	uint64_t t0 = util_mono_ns();
	ck_assert_int_eq(queue_reserve(r1, "measure", "w1", 150, &p, NULL), -ETIMEDOUT);
	uint64_t dt = util_mono_ns() - t0;
	ck_assert_uint_ge(dt, 140000000ull);
	ck_assert_uint_lt(dt, 2000000000ull);
	ck_assert_ptr_null(p);
	/* the connection is still usable after a block timeout */
	ck_assert_int_eq(redis_ping(r1), 0);
}
END_TEST

START_TEST(blocked_reserve_wakes_on_push)
{
	char *p = NULL;
	/* a push from another connection in a forked child while we block */
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct redis *r = redis_open(srv.url, 2000);
		testsrv_sleep_ms(100);
		_exit(r && queue_push(r, "validate", "{\"x\":1}", 7) == 0 ? 0 : 1);
	}
	uint64_t t0 = util_mono_ns();
	ck_assert_int_eq(queue_reserve(r1, "validate", "w1", 5000, &p, NULL), 0);
	ck_assert_uint_lt(util_mono_ns() - t0, 3000000000ull);
	ck_assert_str_eq(p, "{\"x\":1}");
	free(p);
	int st;
	waitpid(pid, &st, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

START_TEST(bad_input)
{
	char *p;
	ck_assert_int_eq(queue_push(r1, "measure", "", 0), -EINVAL);
	ck_assert_int_eq(queue_push(r1, "measure", "a\0b", 3), -EINVAL);
	ck_assert_int_eq(queue_push(r1, "nope", "a", 1), -EINVAL);
	ck_assert_int_eq(queue_reserve(r1, "measure", "bad id", 0, &p, NULL), -EINVAL);
	ck_assert_int_eq(queue_recover(r1, "measure", 0, NULL, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(remove_queued)
{
	long long d;
	push("measure", "a");
	push("measure", "b");
	ck_assert_int_eq(queue_remove(r1, "measure", "a"), 0);
	ck_assert_int_eq(queue_remove(r1, "measure", "a"), -ENOENT);
	ck_assert_int_eq(queue_depth(r1, "measure", &d), 0);
	ck_assert_int_eq(d, 1);
	expect_reserve(r1, "measure", "w", "b");
}
END_TEST

/* host_busy: a delayed job waits for its time, then goes before the others. */
START_TEST(delayed_jobs_wait_then_come_first)
{
	long long d;
	int moved = -1;
	push("measure", "queued-1");
	ck_assert_int_eq(queue_delay(r1, "measure", "later", 5, 2000), 0);
	ck_assert_int_eq(queue_delay(r1, "measure", "sooner", 6, 1000), 0);
	ck_assert_int_eq(queue_delay(r1, "measure", "x", 0, 1), -EINVAL);
	ck_assert_int_eq(queue_promote_due(r1, "measure", 999, &moved), 0);
	ck_assert_int_eq(moved, 0);                   /* nothing due yet */
	ck_assert_int_eq(queue_depth(r1, "measure", &d), 0);
	ck_assert_int_eq(d, 1);
	ck_assert_int_eq(queue_promote_due(r1, "measure", 1500, &moved), 0);
	ck_assert_int_eq(moved, 1);
	expect_reserve(r1, "measure", "w", "sooner");   /* it was first: taken first */
	expect_reserve(r1, "measure", "w", "queued-1");
	/* delaying again moves the time, it does not duplicate */
	ck_assert_int_eq(queue_delay(r1, "measure", "later", 5, 5000), 0);
	ck_assert_int_eq(queue_promote_due(r1, "measure", 2500, &moved), 0);
	ck_assert_int_eq(moved, 0);
	ck_assert_int_eq(queue_promote_due(r1, "measure", 5000, &moved), 0);
	ck_assert_int_eq(moved, 1);
	expect_reserve(r1, "measure", "w", "later");
	ck_assert_int_eq(queue_depth(r1, "measure", &d), 0);
	ck_assert_int_eq(d, 0);
	ck_assert_int_eq(testsrv_int(r1, "ZCARD", "jt:delayed:measure", NULL), 0);
}
END_TEST

/* The scenario from the design: a worker dies holding a job. */
START_TEST(dead_worker_job_goes_to_front)
{
	int requeued = -1;
	/* TTLs leave slack for a loaded (sanitizer) run */
	ck_assert_int_eq(workers_heartbeat(r1, "w1", "{\"pid\":1}", 300), 0);
	ck_assert_int_eq(workers_heartbeat(r2, "w2", NULL, 10000), 0);
	push("measure", "a");
	push("measure", "b");
	push("measure", "c");
	expect_reserve(r1, "measure", "w1", "a");
	/* while w1 heartbeats, nothing is taken from it */
	ck_assert_int_eq(queue_recover(r2, "measure", 3, NULL, NULL, &requeued), 0);
	ck_assert_int_eq(requeued, 0);
	ck_assert_int_eq(llen("jt:proc:measure:w1"), 1);
	testsrv_sleep_ms(400);          /* w1 stops heartbeating; its key expires */
	ck_assert_int_eq(queue_recover(r2, "measure", 3, NULL, NULL, &requeued), 0);
	ck_assert_int_eq(requeued, 1);
	ck_assert_int_eq(llen("jt:proc:measure:w1"), 0);
	ck_assert(!in_set("jt:workers", "w1"));
	ck_assert(in_set("jt:workers", "w2"));
	/* a was first and is first again, then b, c: nothing lost or doubled */
	expect_reserve(r2, "measure", "w2", "a");
	expect_reserve(r2, "measure", "w2", "b");
	expect_reserve(r2, "measure", "w2", "c");
	ck_assert_int_eq(llen("jt:q:measure"), 0);
	ck_assert_int_eq(llen("jt:proc:measure:w2"), 3);
	/* the attempt count went up by one, and an ack clears it */
	struct redis_reply *rep;
	ck_assert_int_eq(redis_cmdv(r1, &rep, "HVALS", "jt:attempts:measure", REDIS_END), 0);
	ck_assert_uint_eq(rep->n, 1);
	ck_assert_str_eq(rep->elem[0].str, "1");
	redis_reply_free(rep);
	ck_assert_int_eq(queue_ack(r2, "measure", "w2", "a", 1), 0);
	ck_assert_int_eq(testsrv_int(r1, "HLEN", "jt:attempts:measure", NULL), 0);
}
END_TEST

struct dead_log {
	int calls;
	int refuse;        /* fail this many calls first */
	char last[64];
};

static int on_dead(void *ctx, const char *payload, size_t len)
{
	struct dead_log *d = ctx;
	ck_assert_uint_eq(strlen(payload), len);
	d->calls++;
	snprintf(d->last, sizeof d->last, "%s", payload);
	if (d->refuse > 0) {
		d->refuse--;
		return -EAGAIN;
	}
	return 0;
}

START_TEST(poison_job_gives_up_after_max_attempts)
{
	struct dead_log d = { .refuse = 1 };
	int requeued;
	push("measure", "poison");
	push("measure", "ok");
	for (int attempt = 1; attempt <= 3; attempt++) {
		ck_assert_int_eq(workers_heartbeat(r1, "victim", NULL, 50), 0);
		expect_reserve(r1, "measure", "victim", "poison");
		testsrv_sleep_ms(100);
		ck_assert_int_eq(queue_recover(r2, "measure", 3, on_dead, &d, &requeued), 0);
		if (attempt < 3) {
			ck_assert_int_eq(requeued, 1);
			ck_assert_int_eq(d.calls, 0);
		}
	}
	/* third death: parked, handed out; the first hand-out is refused */
	ck_assert_int_eq(requeued, 0);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_str_eq(d.last, "poison");
	ck_assert_int_eq(llen("jt:dead:measure"), 1);
	ck_assert_int_eq(queue_recover(r2, "measure", 3, on_dead, &d, &requeued), 0);
	ck_assert_int_eq(d.calls, 2);
	ck_assert_int_eq(llen("jt:dead:measure"), 0);
	ck_assert_int_eq(queue_recover(r2, "measure", 3, on_dead, &d, &requeued), 0);
	ck_assert_int_eq(d.calls, 2);
	/* the innocent job is still there, alone */
	ck_assert_int_eq(llen("jt:q:measure"), 1);
	expect_reserve(r2, "measure", "w2", "ok");
}
END_TEST

START_TEST(requeue_own_after_restart)
{
	int requeued = -1;
	push("measure", "a");
	push("measure", "b");
	expect_reserve(r1, "measure", "w1", "a");
	/* w1 restarts under the same id while its heartbeat is still fresh */
	ck_assert_int_eq(workers_heartbeat(r1, "w1", NULL, 10000), 0);
	ck_assert_int_eq(queue_requeue_own(r1, "measure", "w1", 2, &requeued), 0);
	ck_assert_int_eq(requeued, 1);
	ck_assert(in_set("jt:workers", "w1"));
	expect_reserve(r1, "measure", "w1", "a");
	/* second crash with it: max 2 → parked as dead, not requeued */
	ck_assert_int_eq(queue_requeue_own(r1, "measure", "w1", 2, &requeued), 0);
	ck_assert_int_eq(requeued, 0);
	ck_assert_int_eq(llen("jt:dead:measure"), 1);
	expect_reserve(r1, "measure", "w1", "b");
}
END_TEST

/* Counts every job through many deaths: each ends acked or dead, once. */
START_TEST(nothing_lost_or_duplicated)
{
	enum { JOBS = 120, WORKERS = 4 };
	int acked[JOBS] = { 0 }, dead[JOBS] = { 0 };
	char wid[WORKERS][16], job[16];
	int incarnation[WORKERS] = { 0 };
	struct dead_log d = { 0 };
	int requeues = 0;

	for (int i = 0; i < JOBS; i++) {
		snprintf(job, sizeof job, "job-%03d", i);
		push("measure", job);
	}
	for (int w = 0; w < WORKERS; w++)
		snprintf(wid[w], sizeof wid[w], "w%d-0", w);
	unsigned seed = 12345;
	for (int round = 0; round < 10000; round++) {
		long long depth;
		ck_assert_int_eq(queue_depth(r1, "measure", &depth), 0);
		if (depth == 0) {
			/* everyone left could have died: recover until quiet */
			for (int w = 0; w < WORKERS; w++)
				kill_heartbeat(wid[w]);
			ck_assert_int_eq(queue_recover(r2, "measure", 3, on_dead, &d, NULL), 0);
			ck_assert_int_eq(queue_depth(r1, "measure", &depth), 0);
			if (depth == 0)
				break;
		}
		int w = (int)((seed = seed * 1103515245u + 12345u) >> 16) % WORKERS;
		char *p = NULL;
		ck_assert_int_eq(workers_heartbeat(r1, wid[w], NULL, 60000), 0);
		ck_assert_int_eq(queue_reserve(r1, "measure", wid[w], 0, &p, NULL), 0);
		int id = atoi(p + 4);
		if (((seed >> 8) & 3) == 0) {
			/* the worker dies holding the job; next time it has a new id */
			kill_heartbeat(wid[w]);
			snprintf(wid[w], sizeof wid[w], "w%d-%d", w, ++incarnation[w]);
			int before = d.calls, rq = 0;
			ck_assert_int_eq(queue_recover(r2, "measure", 3, on_dead, &d, &rq), 0);
			requeues += rq;
			if (d.calls > before)
				dead[atoi(d.last + 4)]++;
		} else {
			ck_assert_int_eq(queue_ack(r1, "measure", wid[w], p, strlen(p)), 0);
			acked[id]++;
		}
		free(p);
	}
	int deaths = 0;
	for (int i = 0; i < JOBS; i++) {
		ck_assert_msg(acked[i] + dead[i] == 1, "job %d acked %d dead %d", i, acked[i], dead[i]);
		deaths += dead[i];
	}
	ck_assert_int_eq(deaths, d.calls);
	/* the run really exercised both paths */
	ck_assert_int_gt(deaths, 0);
	ck_assert_int_gt(requeues, deaths);
	ck_assert_int_eq(llen("jt:q:measure"), 0);
	ck_assert_int_eq(llen("jt:dead:measure"), 0);
	struct redis_reply *rep;
	ck_assert_int_eq(redis_cmdv(r1, &rep, "KEYS", "jt:proc:*", REDIS_END), 0);
	ck_assert_uint_eq(rep->n, 0);
	redis_reply_free(rep);
	ck_assert_int_eq(testsrv_int(r1, "HLEN", "jt:attempts:measure", NULL), 0);
}
END_TEST

START_TEST(dead_worker_leaves_registry_after_all_kinds)
{
	push("measure", "m");
	push("validate", "v");
	ck_assert_int_eq(workers_heartbeat(r1, "w1", NULL, 50), 0);
	expect_reserve(r1, "measure", "w1", "m");
	expect_reserve(r1, "validate", "w1", "v");
	testsrv_sleep_ms(100);
	ck_assert_int_eq(queue_recover(r2, "measure", 3, NULL, NULL, NULL), 0);
	ck_assert(in_set("jt:workers", "w1"));       /* validate list still held */
	ck_assert_int_eq(queue_recover(r2, "validate", 3, NULL, NULL, NULL), 0);
	ck_assert(!in_set("jt:workers", "w1"));
	ck_assert_int_eq(llen("jt:q:measure"), 1);
	ck_assert_int_eq(llen("jt:q:validate"), 1);
}
END_TEST

START_TEST(heartbeats_and_live_workers)
{
	long long n = -1;
	struct worker_entry *list = NULL;
	size_t len = 0;

	ck_assert_int_eq(workers_live(r1, &n, NULL, NULL), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(workers_heartbeat(r1, "w1", "{\"cpu\":1}", 300), 0);
	ck_assert_int_eq(workers_heartbeat(r1, "w2", "{\"cpu\":2}", 10000), 0);
	ck_assert_int_eq(workers_live(r1, &n, &list, &len), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(len, 2);
	for (size_t i = 0; i < len; i++)
		ck_assert_str_eq(list[i].info_json,
				 strcmp(list[i].id, "w1") == 0 ? "{\"cpu\":1}" : "{\"cpu\":2}");
	workers_list_free(list, len);
	testsrv_sleep_ms(400);
	ck_assert_int_eq(workers_live(r1, &n, &list, &len), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(list[0].id, "w2");
	workers_list_free(list, len);
	/* clean shutdown of an idle worker unregisters it at once */
	ck_assert_int_eq(workers_remove(r1, "w2"), 0);
	ck_assert(!in_set("jt:workers", "w2"));
	ck_assert_int_eq(workers_live(r1, &n, NULL, NULL), 0);
	ck_assert_int_eq(n, 0);
	/* one still holding a job stays registered so recovery finds it */
	push("measure", "x");
	ck_assert_int_eq(workers_heartbeat(r1, "w3", NULL, 10000), 0);
	expect_reserve(r1, "measure", "w3", "x");
	ck_assert_int_eq(workers_remove(r1, "w3"), 0);
	ck_assert(in_set("jt:workers", "w3"));
	int requeued = 0;
	ck_assert_int_eq(queue_recover(r2, "measure", 3, NULL, NULL, &requeued), 0);
	ck_assert_int_eq(requeued, 1);
	ck_assert(!in_set("jt:workers", "w3"));
	ck_assert_int_eq(workers_heartbeat(r1, "bad id", NULL, 1000), -EINVAL);
}
END_TEST

START_TEST(validation_replies)
{
	char *p = NULL, *id = NULL;
	size_t n = 0;
	/* two requests answered on one server's list, in the order they came */
	ck_assert_int_eq(queue_reply_push(r1, "srv-1", "rq-a", "{\"ok\":true}", 11, 60), 0);
	ck_assert_int_eq(queue_reply_push(r1, "srv-1", "rq-b", "{\"ok\":1}", 8, 60), 0);
	long long ttl = testsrv_int(r1, "TTL", "jt:vreply:srv-1", NULL);
	ck_assert_int_gt(ttl, 0);
	ck_assert_int_le(ttl, 60);
	ck_assert_int_eq(queue_reply_take(r2, "srv-1", 1000, &id, &p, &n), 0);
	ck_assert_str_eq(id, "rq-a");
	ck_assert_str_eq(p, "{\"ok\":true}");
	ck_assert_uint_eq(n, 11);
	free(p);
	free(id);
	ck_assert_int_eq(queue_reply_take(r2, "srv-1", 0, &id, &p, &n), 0);
	ck_assert_str_eq(id, "rq-b");
	ck_assert_str_eq(p, "{\"ok\":1}");
	free(p);
	free(id);
	ck_assert_int_eq(queue_reply_take(r2, "srv-1", 100, &id, &p, &n), -ETIMEDOUT);
	ck_assert_int_eq(queue_reply_take(r2, "srv-1", 0, &id, &p, &n), -ETIMEDOUT);
	ck_assert_int_eq(queue_reply_take(r2, "bad id", 0, &id, &p, &n), -EINVAL);
	ck_assert_int_eq(queue_reply_push(r1, "srv-1", "bad id", "{}", 2, 60), -EINVAL);
	/* an entry without the framing is dropped, not handed out */
	ck_assert_int_eq(testsrv_int(r1, "RPUSH", "jt:vreply:srv-1", "{}"), 1);
	ck_assert_int_eq(queue_reply_take(r2, "srv-1", 0, &id, &p, &n), -EPROTO);
	ck_assert_ptr_null(p);
	ck_assert_ptr_null(id);
}
END_TEST

static Suite *redis_queue_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("redis_queue", &tc);
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, push_reserve_ack);
	tcase_add_test(tc, blocked_reserve_wakes_on_push);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, remove_queued);
	tcase_add_test(tc, delayed_jobs_wait_then_come_first);
	tcase_add_test(tc, dead_worker_job_goes_to_front);
	tcase_add_test(tc, poison_job_gives_up_after_max_attempts);
	tcase_add_test(tc, requeue_own_after_restart);
	tcase_add_test(tc, nothing_lost_or_duplicated);
	tcase_add_test(tc, dead_worker_leaves_registry_after_all_kinds);
	tcase_add_test(tc, heartbeats_and_live_workers);
	tcase_add_test(tc, validation_replies);
	return s;
}

TESTSRV_MAIN("test_redis_queue", &srv, redis_queue_suite)
