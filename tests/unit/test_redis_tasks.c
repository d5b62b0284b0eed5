/* Task records against a real redis-server: lifecycle, idempotency, cancel, counters. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "queue.h"
#include "redis_testsrv.h"
#include "taskidx.h"
#include "taskcount.h"
#include "tasks.h"
#include "util.h"
#include "workers.h"

#define REQ "{\"candidate_code\":\"def solve(x): return x\",\"test_cases\":[]}"
#define UNKNOWN "00000000-0000-4000-8000-000000000000"
#define TTL 100

TESTSRV_ONE_CLIENT

static void create(const char *cand, const char *prob, const char *idem, char id[37], bool *existing)
{
	struct task_new t = { .request_json = REQ, .candidate_id = cand, .problem_name = prob };
	ck_assert_int_eq(tasks_create(r, &t, idem, 3600, id, existing), 0);
	ck_assert(keys_task_id_valid(id));
}

static json_t *get(const char *id)
{
	char *s = NULL;
	size_t n = 0;
	json_error_t err;
	ck_assert_int_eq(tasks_get_json(r, id, &s, &n), 0);
	ck_assert_uint_eq(n, strlen(s));
	json_t *o = json_loads(s, JSON_REJECT_DUPLICATES, &err);
	ck_assert_msg(json_is_object(o), "bad JSON %s: %s", err.text, s);
	free(s);
	return o;
}

static const char *sget(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	ck_assert_msg(v != NULL, "missing %s", k);
	return json_string_value(v);   /* NULL for JSON null */
}

static void counts_are(long long q, long long run, long long done, long long failed, long long canc)
{
	long long c[TASK_NSTATUS];
	ck_assert_int_eq(tasks_counts(r, c), 0);
	ck_assert_int_eq(c[TASK_QUEUED], q);
	ck_assert_int_eq(c[TASK_RUNNING], run);
	ck_assert_int_eq(c[TASK_COMPLETED], done);
	ck_assert_int_eq(c[TASK_FAILED], failed);
	ck_assert_int_eq(c[TASK_CANCELLED], canc);
}

static long long ttl_of(const char *id)
{
	char key[KEYS_MAX];
	ck_assert_int_eq(keys_task(key, sizeof key, id), 0);
	return testsrv_int(r, "TTL", key, NULL);
}

static long long qlen(void)
{
	long long n = -1;
	ck_assert_int_eq(queue_depth(r, "measure", &n), 0);
	return n;
}

/* What a worker does before tasks_start. */
static void reserve(const char *worker, const char *want)
{
	char *p = NULL;
	ck_assert_int_eq(workers_heartbeat(r, worker, NULL, 10000), 0);
	ck_assert_int_eq(queue_reserve(r, "measure", worker, 100, &p, NULL), 0);
	ck_assert_str_eq(p, want);
	free(p);
}

START_TEST(full_lifecycle)
{
	char id[37], st[16];
	bool existing = true;
	uint64_t ns;

	create("cand-1", NULL, NULL, id, &existing);
	ck_assert(!existing);
	json_t *o = get(id);
	ck_assert_str_eq(sget(o, "task_id"), id);
	ck_assert_str_eq(sget(o, "status"), "queued");
	ck_assert_str_eq(sget(o, "stage"), "queued");
	ck_assert(json_real_value(json_object_get(o, "progress")) == 0.0);
	ck_assert_int_eq(util_rfc3339_parse(sget(o, "created_at"), &ns), 0);
	ck_assert(json_is_null(json_object_get(o, "started_at")));
	ck_assert(json_is_null(json_object_get(o, "finished_at")));
	ck_assert_str_eq(sget(o, "candidate_id"), "cand-1");
	ck_assert(json_is_null(json_object_get(o, "problem_name")));
	ck_assert_ptr_null(json_object_get(o, "error_type"));
	json_decref(o);
	ck_assert_int_eq(qlen(), 1);
	counts_are(1, 0, 0, 0, 0);

	reserve("w1", id);
	ck_assert_int_eq(tasks_start(r, id, "w1"), 0);
	o = get(id);
	ck_assert_str_eq(sget(o, "status"), "running");
	ck_assert_str_eq(sget(o, "stage"), "validating");
	ck_assert_int_eq(util_rfc3339_parse(sget(o, "started_at"), &ns), 0);
	/* JouleTrace's elapsed_seconds while running, no failure_timestamp */
	ck_assert(json_real_value(json_object_get(o, "elapsed_seconds")) >= 0);
	ck_assert_ptr_null(json_object_get(o, "failure_timestamp"));
	json_decref(o);
	counts_are(0, 1, 0, 0, 0);
	ck_assert_int_eq(tasks_status(r, id, st), 0);
	ck_assert_str_eq(st, "running");

	char *req = NULL;
	size_t rl = 0;
	ck_assert_int_eq(tasks_request(r, id, &req, &rl), 0);
	ck_assert_str_eq(req, REQ);
	ck_assert_uint_eq(rl, strlen(REQ));
	free(req);

	o = get(id);   /* not measuring yet: no trial figures */
	ck_assert_ptr_null(json_object_get(o, "trial"));
	ck_assert_ptr_null(json_object_get(o, "trials_max"));
	json_decref(o);
	ck_assert_int_eq(tasks_progress(r, id, "measuring", 0.3, 2, 5), 0);
	o = get(id);
	ck_assert_str_eq(sget(o, "stage"), "measuring");
	ck_assert_double_eq_tol(json_real_value(json_object_get(o, "progress")), 0.3, 1e-9);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "trial")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "trials_max")), 5);
	json_decref(o);
	ck_assert_int_eq(tasks_progress(r, id, "measuring", 0.3, 6, 5), -EINVAL);
	ck_assert_int_eq(tasks_progress(r, id, "x", 7.0, 0, 0), 0);        /* clamped */
	o = get(id);
	ck_assert(json_real_value(json_object_get(o, "progress")) == 1.0);
	ck_assert_ptr_null(json_object_get(o, "trial"));   /* 0: past measuring */
	json_decref(o);

	const char *result = " {\"validation\":{\"is_correct\":true,\"passed_tests\":3},"
			     "\"energy_metrics\":{\"median_total_energy_joules\":0.1}} \n";
	ck_assert_int_eq(tasks_finish(r, id, "completed", result, NULL, NULL, TTL), 0);
	char *raw = NULL;
	ck_assert_int_eq(tasks_get_json(r, id, &raw, NULL), 0);
	/* the worker's number text is kept as written, not re-printed by %.17g */
	ck_assert_ptr_nonnull(strstr(raw, "\"median_total_energy_joules\":0.1}"));
	free(raw);
	o = get(id);
	ck_assert_str_eq(sget(o, "status"), "completed");
	ck_assert_str_eq(sget(o, "stage"), "completed");
	ck_assert(json_real_value(json_object_get(o, "progress")) == 1.0);
	ck_assert_int_eq(util_rfc3339_parse(sget(o, "finished_at"), &ns), 0);
	ck_assert_str_eq(sget(o, "candidate_id"), "cand-1");
	ck_assert(json_is_true(json_object_get(json_object_get(o, "validation"), "is_correct")));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "validation"),
							    "passed_tests")), 3);
	ck_assert_ptr_null(json_object_get(o, "error_type"));
	json_decref(o);
	ck_assert_int_gt(ttl_of(id), 0);
	ck_assert_int_le(ttl_of(id), TTL);
	counts_are(0, 0, 1, 0, 0);

	/* a finished task accepts no more transitions */
	ck_assert_int_eq(tasks_finish(r, id, "failed", NULL, "internal", "x", TTL), -EALREADY);
	ck_assert_int_eq(tasks_progress(r, id, "x", 0.5, 0, 0), -EALREADY);
	ck_assert_int_eq(tasks_start(r, id, "w2"), -EALREADY);
	ck_assert_int_eq(tasks_cancel(r, id, TTL), -EALREADY);
	ck_assert_int_eq(tasks_fail_lost(r, id, NULL, TTL), -EALREADY);
	counts_are(0, 0, 1, 0, 0);
	ck_assert_int_eq(queue_ack(r, "measure", "w1", id, strlen(id)), 0);
}
END_TEST

START_TEST(failed_with_details)
{
	char id[37];
	create(NULL, "two-sum", NULL, id, NULL);
	reserve("w1", id);
	ck_assert_int_eq(tasks_start(r, id, "w1"), 0);
	ck_assert_int_eq(tasks_progress(r, id, "validating", 0.25, 0, 0), 0);
	ck_assert_int_eq(tasks_finish(r, id, "failed",
				      "{\"validation\":{\"is_correct\":false,\"passed_tests\":0}}",
				      "validation_failed", "0/1 tests passed \xff", TTL), 0);
	json_t *o = get(id);     /* invalid UTF-8 in the message still gives valid JSON */
	ck_assert_str_eq(sget(o, "status"), "failed");
	ck_assert_str_eq(sget(o, "error_type"), "validation_failed");
	ck_assert_str_eq(sget(o, "failure_timestamp"), sget(o, "finished_at"));
	ck_assert_ptr_null(json_object_get(o, "elapsed_seconds"));
	ck_assert_ptr_nonnull(strstr(sget(o, "error_message"), "0/1 tests passed"));
	ck_assert_double_eq_tol(json_real_value(json_object_get(o, "progress")), 0.25, 1e-9);
	ck_assert_str_eq(sget(o, "problem_name"), "two-sum");
	ck_assert(json_is_null(json_object_get(o, "candidate_id")));
	ck_assert(json_is_false(json_object_get(json_object_get(o, "validation"), "is_correct")));
	json_decref(o);
	counts_are(0, 0, 0, 1, 0);
}
END_TEST

START_TEST(bad_results_are_refused)
{
	char id[37];
	create(NULL, NULL, NULL, id, NULL);
	reserve("w1", id);
	ck_assert_int_eq(tasks_start(r, id, "w1"), 0);
	ck_assert_int_eq(tasks_finish(r, id, "completed", "{\"status\":\"hacked\"}", NULL, NULL, TTL), -EINVAL);
	ck_assert_int_eq(tasks_finish(r, id, "completed", "[1]", NULL, NULL, TTL), -EINVAL);
	ck_assert_int_eq(tasks_finish(r, id, "completed", "{\"a\":1,\"a\":2}", NULL, NULL, TTL), -EINVAL);
	ck_assert_int_eq(tasks_finish(r, id, "completed", "{", NULL, NULL, TTL), -EINVAL);
	ck_assert_int_eq(tasks_finish(r, id, "cancelled", NULL, NULL, NULL, TTL), -EINVAL);
	ck_assert_int_eq(tasks_progress(r, id, "", 0.5, 0, 0), -EINVAL);
	char st[16];
	ck_assert_int_eq(tasks_status(r, id, st), 0);
	ck_assert_str_eq(st, "running");
	/* an empty result object is fine */
	ck_assert_int_eq(tasks_finish(r, id, "completed", "{ }", NULL, NULL, TTL), 0);
	json_decref(get(id));
}
END_TEST

START_TEST(idempotency_key)
{
	char a[37], b[37], c[37];
	bool existing;
	ck_assert_int_eq(tasks_idem_lookup(r, "key-1", b), -ENOENT);
	create(NULL, NULL, "key-1", a, &existing);
	ck_assert(!existing);
	memset(b, 0, sizeof b);
	ck_assert_int_eq(tasks_idem_lookup(r, "key-1", b), 0);
	ck_assert_str_eq(a, b);
	ck_assert_int_eq(tasks_idem_lookup(r, "key-2", b), -ENOENT);
	create(NULL, NULL, "key-1", b, &existing);
	ck_assert(existing);
	ck_assert_str_eq(a, b);
	ck_assert_int_eq(qlen(), 1);
	counts_are(1, 0, 0, 0, 0);
	create(NULL, NULL, "key-2", c, &existing);
	ck_assert(!existing);
	ck_assert_str_ne(a, c);
	ck_assert_int_eq(qlen(), 2);
	/* once the task is gone (expired) the key starts a new task */
	char key[KEYS_MAX];
	ck_assert_int_eq(keys_task(key, sizeof key, a), 0);
	ck_assert_int_eq(redis_cmdv(r, NULL, "DEL", key, REDIS_END), 0);
	ck_assert_int_eq(tasks_idem_lookup(r, "key-1", b), -ENOENT);
	create(NULL, NULL, "key-1", b, &existing);
	ck_assert(!existing);
	ck_assert_str_ne(a, b);
	/* limits */
	char big[TASKS_MAX_IDEM_KEY + 2];
	memset(big, 'k', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	struct task_new t = { .request_json = REQ };
	ck_assert_int_eq(tasks_create(r, &t, big, 60, c, &existing), -EINVAL);
	ck_assert_int_eq(tasks_create(r, &t, "", 60, c, &existing), -EINVAL);
	ck_assert_int_eq(tasks_idem_lookup(r, big, c), -EINVAL);
	ck_assert_int_eq(tasks_idem_lookup(r, "", c), -EINVAL);
	t.request_json = NULL;
	ck_assert_int_eq(tasks_create(r, &t, NULL, 60, c, &existing), -EINVAL);
}
END_TEST

START_TEST(cancel_queued)
{
	char a[37], b[37];
	create(NULL, NULL, NULL, a, NULL);
	create(NULL, NULL, NULL, b, NULL);
	ck_assert_int_eq(tasks_cancel(r, a, TTL), 0);
	ck_assert_int_eq(qlen(), 1);                 /* only b is left in the queue */
	json_t *o = get(a);
	ck_assert_str_eq(sget(o, "status"), "cancelled");
	ck_assert_ptr_nonnull(sget(o, "finished_at"));
	json_decref(o);
	ck_assert_int_gt(ttl_of(a), 0);
	counts_are(1, 0, 0, 0, 1);
	ck_assert_int_eq(tasks_cancel(r, a, TTL), -EALREADY);
	ck_assert_int_eq(tasks_start(r, a, "w1"), -ECANCELED);
	reserve("w1", b);
	counts_are(1, 0, 0, 0, 1);
}
END_TEST

/* A client's queued count (max_queued_per_client) repairs itself: tasks
 * that left the queue, however, stop counting once the limit is reached. */
START_TEST(client_queue_count)
{
	char a[37], b[37], c[37];
	long long n = -1;
	create(NULL, NULL, NULL, a, NULL);
	create(NULL, NULL, NULL, b, NULL);
	create(NULL, NULL, NULL, c, NULL);
	ck_assert_int_eq(taskidx_client_add(r, "token:abc", a, TTL), 0);
	ck_assert_int_eq(taskidx_client_add(r, "token:abc", b, TTL), 0);
	ck_assert_int_eq(taskidx_client_add(r, "token:abc", c, TTL), 0);
	ck_assert_int_eq(taskidx_client_add(r, "addr:127.0.0.1", c, TTL), 0);
	ck_assert_int_eq(taskidx_client_add(r, "token:abc", "not a task id", TTL), -EINVAL);
	ck_assert_int_eq(taskidx_client_queued(r, "token:abc", 10, &n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(tasks_cancel(r, a, TTL), 0);    /* left the queue */
	char key[80];
	snprintf(key, sizeof key, KEYS_TASK_PREFIX "%s", b);
	ck_assert_int_eq(testsrv_int(r, "DEL", key, NULL), 1); /* expired, or lost */
	/* below the limit the count is an upper bound (no pruning) */
	ck_assert_int_eq(taskidx_client_queued(r, "token:abc", 10, &n), 0);
	ck_assert_int_eq(n, 3);
	/* at the limit it is exact */
	ck_assert_int_eq(taskidx_client_queued(r, "token:abc", 3, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(taskidx_client_queued(r, "addr:127.0.0.1", 1, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(taskidx_client_queued(r, "nobody", 1, &n), 0);
	ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(cancel_reserved_before_start)
{
	char a[37];
	create(NULL, NULL, NULL, a, NULL);
	reserve("w1", a);                  /* in w1's processing list, still "queued" */
	ck_assert_int_eq(tasks_cancel(r, a, TTL), 0);
	ck_assert_int_eq(tasks_start(r, a, "w1"), -ECANCELED);
	counts_are(0, 0, 0, 0, 1);
}
END_TEST

START_TEST(cancel_running)
{
	char id[37], st[16];
	create(NULL, NULL, NULL, id, NULL);
	reserve("w1", id);
	ck_assert_int_eq(tasks_start(r, id, "w1"), 0);
	ck_assert_int_eq(tasks_cancel(r, id, TTL), 0);
	ck_assert_int_eq(tasks_status(r, id, st), 0);
	ck_assert_str_eq(st, "cancelled");
	struct redis_reply *rep;
	char key[KEYS_MAX];
	ck_assert_int_eq(keys_task(key, sizeof key, id), 0);
	ck_assert_int_eq(redis_cmdv(r, &rep, "HGET", key, "cancel_requested", REDIS_END), 0);
	ck_assert_str_eq(rep->str, "1");
	redis_reply_free(rep);
	counts_are(0, 0, 0, 0, 1);
	/* the worker's late writes are refused and change nothing */
	ck_assert_int_eq(tasks_progress(r, id, "measuring", 0.9, 0, 0), -ECANCELED);
	ck_assert_int_eq(tasks_finish(r, id, "completed", "{\"x\":1}", NULL, NULL, TTL), -ECANCELED);
	json_t *o = get(id);
	ck_assert_str_eq(sget(o, "status"), "cancelled");
	ck_assert_ptr_null(json_object_get(o, "x"));
	json_decref(o);
	ck_assert_int_eq(tasks_cancel(r, id, TTL), -EALREADY);
	counts_are(0, 0, 0, 0, 1);
}
END_TEST

/* When a delayed job is due (ZSCORE answers a string). */
static long long due_of(const char *id)
{
	struct redis_reply *rep = NULL;
	ck_assert_int_eq(redis_cmdv(r, &rep, "ZSCORE", "jt:delayed:measure", id, REDIS_END), 0);
	ck_assert_ptr_nonnull(rep->str);
	long long v = atoll(rep->str);
	redis_reply_free(rep);
	return v;
}

/* host_busy: back in the queue with a growing delay, until the window is over. */
START_TEST(requeue_when_host_busy)
{
	char id[37];
	long long t0 = 1000000;
	create(NULL, NULL, NULL, id, NULL);
	ck_assert_int_eq(tasks_requeue_busy(r, id, t0, 1000, 5000), -EALREADY);  /* queued */
	reserve("w1", id);
	ck_assert_int_eq(tasks_start(r, id, "w1"), 0);
	ck_assert_int_eq(tasks_requeue_busy(r, id, t0, 1000, 5000), 0);
	json_t *o = get(id);
	ck_assert_str_eq(sget(o, "status"), "queued");
	ck_assert_str_eq(sget(o, "stage"), "host_busy");
	json_decref(o);
	counts_are(1, 0, 0, 0, 0);
	/* delayed by the backoff, not in the queue until due */
	ck_assert_int_eq(due_of(id), t0 + 1000);
	int moved;
	ck_assert_int_eq(queue_promote_due(r, "measure", t0 + 999, &moved), 0);
	ck_assert_int_eq(moved, 0);
	ck_assert_int_eq(queue_promote_due(r, "measure", t0 + 1000, &moved), 0);
	ck_assert_int_eq(moved, 1);
	/* the second time twice as long */
	reserve("w1", id);
	ck_assert_int_eq(tasks_start(r, id, "w1"), 0);
	ck_assert_int_eq(tasks_requeue_busy(r, id, t0 + 2000, 1000, 5000), 0);
	ck_assert_int_eq(due_of(id), t0 + 2000 + 2000);
	ck_assert_int_eq(queue_promote_due(r, "measure", t0 + 4000, &moved), 0);
	/* past the window since the first time: the caller fails it */
	reserve("w1", id);
	ck_assert_int_eq(tasks_start(r, id, "w1"), 0);
	ck_assert_int_eq(tasks_requeue_busy(r, id, t0 + 5001, 1000, 5000), -ETIME);
	o = get(id);
	ck_assert_str_eq(sget(o, "status"), "running");
	json_decref(o);
	counts_are(0, 1, 0, 0, 0);
	ck_assert_int_eq(tasks_finish(r, id, "failed", NULL, "host_busy", "busy", TTL), 0);
	ck_assert_int_eq(tasks_requeue_busy(r, id, t0, 1000, 5000), -EALREADY);
}
END_TEST

START_TEST(unknown_ids)
{
	char *s = NULL, st[16];
	ck_assert_int_eq(tasks_get_json(r, UNKNOWN, &s, NULL), -ENOENT);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(tasks_get_json(r, "not-a-uuid", &s, NULL), -ENOENT);
	ck_assert_int_eq(tasks_get_json(r, "../jt:workers", &s, NULL), -ENOENT);
	ck_assert_int_eq(tasks_cancel(r, UNKNOWN, TTL), -ENOENT);
	ck_assert_int_eq(tasks_start(r, UNKNOWN, "w1"), -ENOENT);
	ck_assert_int_eq(tasks_progress(r, UNKNOWN, "x", 0, 0, 0), -ENOENT);
	ck_assert_int_eq(tasks_finish(r, UNKNOWN, "completed", NULL, NULL, NULL, TTL), -ENOENT);
	ck_assert_int_eq(tasks_status(r, UNKNOWN, st), -ENOENT);
	ck_assert_int_eq(tasks_fail_lost(r, UNKNOWN, NULL, TTL), -ENOENT);
	ck_assert_int_eq(tasks_request(r, UNKNOWN, &s, NULL), -ENOENT);
	/* none of those created a stray record */
	ck_assert_int_eq(testsrv_int(r, "DBSIZE", NULL, NULL), 0);
}
END_TEST

START_TEST(redelivery_after_worker_death)
{
	char id[37];
	create(NULL, NULL, NULL, id, NULL);
	reserve("w1", id);
	ck_assert_int_eq(tasks_start(r, id, "w1"), 0);
	/* w1 is alive: another worker may not take the running task */
	ck_assert_int_eq(workers_heartbeat(r, "w2", NULL, 10000), 0);
	ck_assert_int_eq(tasks_start(r, id, "w2"), -EALREADY);
	/* w1 dies; recovery requeues; w2 takes over */
	ck_assert_int_eq(redis_cmdv(r, NULL, "DEL", "jt:hb:w1", REDIS_END), 0);
	int requeued = 0;
	ck_assert_int_eq(queue_recover(r, "measure", 3, NULL, NULL, &requeued), 0);
	ck_assert_int_eq(requeued, 1);
	reserve("w2", id);
	ck_assert_int_eq(tasks_start(r, id, "w2"), 0);
	counts_are(0, 1, 0, 0, 0);
	struct redis_reply *rep;
	char key[KEYS_MAX];
	ck_assert_int_eq(keys_task(key, sizeof key, id), 0);
	ck_assert_int_eq(redis_cmdv(r, &rep, "HMGET", key, "worker", "attempts", REDIS_END), 0);
	ck_assert_str_eq(rep->elem[0].str, "w2");
	ck_assert_str_eq(rep->elem[1].str, "2");
	redis_reply_free(rep);
}
END_TEST

/* The worker's protocol for one job, steps 1..upto (0 = none): reserve,
 * start, progress, finish, ack.  Returns what tasks_start said (or 0). */
static int run_job(const char *worker, const char *id, int upto)
{
	int started = 0;
	if (upto >= 1)
		reserve(worker, id);
	if (upto >= 2 && (started = tasks_start(r, id, worker)) != 0)
		upto = 5; /* not ours to run (finished already): just ack */
	if (upto >= 3 && upto < 5)
		ck_assert_int_eq(tasks_progress(r, id, "measuring", 0.5, 0, 0), 0);
	if (upto >= 4 && !started)
		ck_assert_int_eq(tasks_finish(r, id, "completed", "{}", NULL, NULL, TTL), 0);
	if (upto >= 5) /* the job's payload is the task id */
		ck_assert_int_eq(queue_ack(r, "measure", worker, id, strlen(id)), 0);
	return started;
}

/* A worker that dies after any step of a job: another takes over; the task
 * ends completed once, nothing is left in any queue, the counts agree. */
START_TEST(crash_after_every_step)
{
	for (int step = 0; step <= 5; step++) {
		char id[37], st[16];
		ck_assert_int_eq(redis_cmdv(r, NULL, "FLUSHDB", REDIS_END), 0);
		create(NULL, NULL, NULL, id, NULL);
		run_job("w1", id, step);
		ck_assert_int_eq(redis_cmdv(r, NULL, "DEL", "jt:hb:w1", REDIS_END), 0);
		int requeued = 0;
		ck_assert_int_eq(queue_recover(r, "measure", 3, NULL, NULL, &requeued), 0);
		/* the job comes back unless w1 acked it (step 5) */
		ck_assert_int_eq(requeued, step >= 1 && step < 5);
		if (step < 5) {
			int started = run_job("w2", id, 5);
			/* finished by w1 already (step 4): w2 only acks it */
			ck_assert_int_eq(started, step == 4 ? -EALREADY : 0);
		}
		ck_assert_int_eq(tasks_status(r, id, st), 0);
		ck_assert_str_eq(st, "completed");
		counts_are(0, 0, 1, 0, 0);
		ck_assert_int_eq(qlen(), 0);
		ck_assert_int_eq(testsrv_int(r, "LLEN", "jt:proc:measure:w1", NULL), 0);
		ck_assert_int_eq(testsrv_int(r, "LLEN", "jt:proc:measure:w2", NULL), 0);
		/* started once, or twice when w1 died between its start and its finish */
		char key[KEYS_MAX];
		ck_assert_int_eq(keys_task(key, sizeof key, id), 0);
		struct redis_reply *rep = NULL;
		ck_assert_int_eq(redis_cmdv(r, &rep, "HGET", key, "attempts", REDIS_END), 0);
		ck_assert_str_eq(rep->str, step == 2 || step == 3 ? "2" : "1");
		redis_reply_free(rep);
	}
}
END_TEST

/* Sets that disagree with the records (whatever caused it) are repaired. */
START_TEST(repair_fixes_the_live_sets)
{
	char a[37], b[37], c[37];
	long long removed = -1;
	create(NULL, NULL, NULL, a, NULL);
	create(NULL, NULL, NULL, b, NULL);
	create(NULL, NULL, NULL, c, NULL);
	reserve("w1", a);
	ck_assert_int_eq(tasks_start(r, a, "w1"), 0);
	ck_assert_int_eq(tasks_repair(r, &removed), 0);
	ck_assert_int_eq(removed, 0);
	counts_are(2, 1, 0, 0, 0);
	/* a ghost in each set, a finished task still listed, a record gone */
	ck_assert_int_eq(testsrv_int(r, "SADD", "jt:live:running", UNKNOWN), 1);
	ck_assert_int_eq(testsrv_int(r, "SADD", "jt:live:queued", a), 1);
	char key[KEYS_MAX];
	ck_assert_int_eq(keys_task(key, sizeof key, c), 0);
	ck_assert_int_eq(testsrv_int(r, "DEL", key, NULL), 1);
	counts_are(3, 2, 0, 0, 0);
	ck_assert_int_eq(tasks_repair(r, &removed), 0);
	ck_assert_int_eq(removed, 3);
	counts_are(1, 1, 0, 0, 0);
	/* adding twice counts once: a replayed step cannot skew a gauge */
	ck_assert_int_eq(tasks_start(r, a, "w1"), 0);
	counts_are(1, 1, 0, 0, 0);
}
END_TEST

static int fail_it(void *ctx, const char *payload, size_t len)
{
	struct redis *rr = ctx;
	(void)len;   /* the payload is a NUL-terminated task id */
	int ret = tasks_fail_lost(rr, payload, "worker died 2 times", TTL);
	return ret == -EALREADY ? 0 : ret;
}

START_TEST(worker_lost_too_often)
{
	char id[37];
	create(NULL, NULL, NULL, id, NULL);
	for (int i = 0; i < 2; i++) {
		reserve("w1", id);
		ck_assert_int_eq(tasks_start(r, id, "w1"), 0);
		ck_assert_int_eq(redis_cmdv(r, NULL, "DEL", "jt:hb:w1", REDIS_END), 0);
		ck_assert_int_eq(queue_recover(r, "measure", 2, fail_it, r, NULL), 0);
	}
	json_t *o = get(id);
	ck_assert_str_eq(sget(o, "status"), "failed");
	ck_assert_str_eq(sget(o, "error_type"), "worker_lost");
	ck_assert_str_eq(sget(o, "error_message"), "worker died 2 times");
	json_decref(o);
	ck_assert_int_eq(qlen(), 0);
	ck_assert_int_gt(ttl_of(id), 0);
	counts_are(0, 0, 0, 1, 0);
	/* a queued task can be failed too */
	create(NULL, NULL, NULL, id, NULL);
	ck_assert_int_eq(tasks_fail_lost(r, id, NULL, TTL), 0);
	ck_assert_int_eq(tasks_fail_lost(r, id, NULL, TTL), -EALREADY);
	counts_are(0, 0, 0, 2, 0);
}
END_TEST

/* Random transitions; the counters must equal a recount of the records. */
START_TEST(counters_stay_consistent)
{
	enum { N = 60 };
	char ids[N][37];
	unsigned seed = 7;
	for (int i = 0; i < N; i++)
		create(NULL, NULL, NULL, ids[i], NULL);
	ck_assert_int_eq(workers_heartbeat(r, "w1", NULL, 60000), 0);
	for (int step = 0; step < 600; step++) {
		seed = seed * 1103515245u + 12345u;
		const char *id = ids[(seed >> 16) % N];
		switch ((seed >> 8) % 6) {
		case 0: {
			/* as a worker does: only what it reserved */
			char *p = NULL;
			if (queue_reserve(r, "measure", "w1", 0, &p, NULL) == 0) {
				if (tasks_start(r, p, "w1") != 0)
					ck_assert_int_eq(queue_ack(r, "measure", "w1", p, strlen(p)), 0);
				free(p);
			}
			break;
		}
		case 1: (void)tasks_cancel(r, id, TTL); break;
		case 2: (void)tasks_finish(r, id, "completed", "{}", NULL, NULL, TTL); break;
		case 3: (void)tasks_finish(r, id, "failed", NULL, "timeout", "slow", TTL); break;
		case 4: (void)tasks_fail_lost(r, id, NULL, TTL); break;
		default: (void)tasks_progress(r, id, "measuring", 0.5, 0, 0); break;
		}
	}
	long long real[TASK_NSTATUS] = { 0 }, c[TASK_NSTATUS];
	char st[16];
	for (int i = 0; i < N; i++) {
		enum task_status s;
		ck_assert_int_eq(tasks_status(r, ids[i], st), 0);
		ck_assert_int_eq(tasks_status_parse(st, &s), 0);
		real[s]++;
	}
	ck_assert_int_eq(tasks_counts(r, c), 0);
	for (int i = 0; i < TASK_NSTATUS; i++)
		ck_assert_msg(c[i] == real[i], "%s: counter %lld, records %lld",
			      tasks_status_name((enum task_status)i), c[i], real[i]);
	ck_assert_int_eq(qlen(), real[TASK_QUEUED]);
	ck_assert_int_lt(real[TASK_QUEUED], N);          /* things did happen */
}
END_TEST

static Suite *redis_tasks_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("redis_tasks", &tc);
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, full_lifecycle);
	tcase_add_test(tc, failed_with_details);
	tcase_add_test(tc, bad_results_are_refused);
	tcase_add_test(tc, idempotency_key);
	tcase_add_test(tc, cancel_queued);
	tcase_add_test(tc, client_queue_count);
	tcase_add_test(tc, cancel_reserved_before_start);
	tcase_add_test(tc, cancel_running);
	tcase_add_test(tc, unknown_ids);
	tcase_add_test(tc, requeue_when_host_busy);
	tcase_add_test(tc, redelivery_after_worker_death);
	tcase_add_test(tc, worker_lost_too_often);
	tcase_add_test(tc, counters_stay_consistent);
	tcase_add_test(tc, crash_after_every_step);
	tcase_add_test(tc, repair_fixes_the_live_sets);
	return s;
}

TESTSRV_MAIN("test_redis_tasks", &srv, redis_tasks_suite)
