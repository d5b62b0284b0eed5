/* The seal chain against a real redis-server: keys, concurrent signers, the log. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jcs.h"
#include "keys.h"
#include "log.h"
#include "redis_testsrv.h"
#include "seal.h"
#include "sealchain.h"
#include "tasks.h"
#include "taskseal.h"
#include "util.h"

TESTSRV_TWO_CLIENTS

static void key_from_byte(unsigned char b, struct seal_key *k)
{
	unsigned char seed[SEAL_SEED_BYTES];
	memset(seed, b, sizeof seed);
	ck_assert_int_eq(seal_key_from_seed(seed, k), 0);
}

static json_t *payload(const char *task_id)
{
	json_t *p = json_pack("{s:i, s:s, s:s, s:{s:f, s:[i,i]}}", "seal_version", 1, "issuer",
			      "jouletrace", "task_id", task_id, "measurement", "cv_percent", 1.5,
			      "wall_ns", 210345678, 199999999);
	ck_assert_ptr_nonnull(p);
	return p;
}

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &e);
	ck_assert_msg(v != NULL, "bad JSON (%s): %.200s", e.text, text);
	return v;
}

/* SHA-256 of the JCS bytes, computed here rather than by seal.c. */
static void jcs_sha(const json_t *v, char hex[65])
{
	char *b = NULL;
	size_t n = 0;
	ck_assert_int_eq(jcs_serialize(v, &b, &n), 0);
	util_sha256_hex(b, n, hex);
	free(b);
}

/*
 * Checks a chain of seals ordered by sequence: 1..n without gaps, each
 * prev_seal_sha256 the hash of the previous payload, each valid under pk.
 */
static void check_chain(json_t *seals, const unsigned char pk[32], size_t n)
{
	char prev[65] = "";
	size_t i;
	json_t *s;

	ck_assert_uint_eq(json_array_size(seals), n);
	json_array_foreach(seals, i, s) {
		char reason[SEAL_REASON_MAX];
		const json_t *p = json_object_get(s, "payload");
		ck_assert_int_eq(seal_verify(s, pk, reason, sizeof reason), 0);
		ck_assert_int_eq(json_integer_value(json_object_get(p, "sequence")), (long long)i + 1);
		const json_t *pv = json_object_get(p, "prev_seal_sha256");
		if (i == 0)
			ck_assert(json_is_null(pv));
		else
			ck_assert_str_eq(json_string_value(pv), prev);
		jcs_sha(p, prev);
	}
}

/* Every seal of one key, through ZRANGE (not through sealchain_log_json). */
static json_t *raw_log(struct redis *r, const char *key_id)
{
	char key[KEYS_MAX];
	struct redis_reply *rep = NULL;
	json_t *arr = json_array();

	ck_assert_int_eq(keys_seal_log(key, sizeof key, key_id), 0);
	ck_assert_int_eq(redis_cmdv(r, &rep, "ZRANGE", key, "0", "-1", "WITHSCORES", REDIS_END), 0);
	ck_assert_int_eq(rep->type, REDIS_T_ARR);
	for (size_t i = 0; i + 1 < rep->n; i += 2) {
		json_t *s = load(rep->elem[i].str);
		/* the score is the payload's sequence */
		ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(s, "payload"),
								    "sequence")),
				 atoll(rep->elem[i + 1].str));
		json_array_append_new(arr, s);
	}
	redis_reply_free(rep);
	return arr;
}

START_TEST(key_names)
{
	char buf[KEYS_MAX];
	ck_assert_int_eq(keys_seal_head(buf, sizeof buf, "0123456789abcdef"), 0);
	ck_assert_str_eq(buf, "jt:seal:head:0123456789abcdef");
	ck_assert_int_eq(keys_seal_log(buf, sizeof buf, "0123456789abcdef"), 0);
	ck_assert_str_eq(buf, "jt:seal:log:0123456789abcdef");
	ck_assert_int_eq(keys_seal_log(buf, sizeof buf, "0123456789ABCDEF"), -EINVAL);
	ck_assert_int_eq(keys_seal_log(buf, sizeof buf, "0123456789abcde"), -EINVAL);
	ck_assert_int_eq(keys_seal_log(buf, sizeof buf, "0123456789abcdef0"), -EINVAL);
	ck_assert_int_eq(keys_seal_head(buf, sizeof buf, "../x"), -EINVAL);
	ck_assert_int_eq(keys_seal_head(buf, 10, "0123456789abcdef"), -ENAMETOOLONG);
}
END_TEST

START_TEST(register_and_list_keys)
{
	struct seal_key a, b;
	char *json = NULL;

	key_from_byte(1, &a);
	key_from_byte(2, &b);
	ck_assert_int_eq(sealchain_keys_json(ra, &json), 0);
	ck_assert_str_eq(json, "[]");
	free(json);

	ck_assert_int_eq(sealchain_register_key(ra, &a, "2026-02-01T00:00:00.000000Z"), 0);
	ck_assert_int_eq(sealchain_register_key(rb, &b, "2026-01-01T00:00:00.000000Z"), 0);
	/* registering again keeps the first created_at */
	ck_assert_int_eq(sealchain_register_key(rb, &a, "2030-01-01T00:00:00.000000Z"), 0);
	ck_assert_int_eq(sealchain_keys_json(ra, &json), 0);
	json_t *arr = load(json);
	ck_assert_uint_eq(json_array_size(arr), 2);
	json_t *first = json_array_get(arr, 0), *second = json_array_get(arr, 1);
	ck_assert_uint_eq(json_object_size(first), 3);
	ck_assert_str_eq(json_string_value(json_object_get(first, "key_id")), b.key_id);
	ck_assert_str_eq(json_string_value(json_object_get(first, "public_key")), b.public_b64);
	ck_assert_str_eq(json_string_value(json_object_get(second, "key_id")), a.key_id);
	ck_assert_str_eq(json_string_value(json_object_get(second, "created_at")),
			 "2026-02-01T00:00:00.000000Z");
	/* what the endpoint serves is what a verifier pins */
	unsigned char pk[32];
	ck_assert_int_eq(seal_public_key_parse(json, strlen(json), pk), 0);
	ck_assert_mem_eq(pk, b.pk, 32);
	json_decref(arr);
	free(json);

	/* a key_id already bound to another public key */
	char forged[256];
	snprintf(forged, sizeof forged,
		 "{\"key_id\":\"%s\",\"public_key\":\"%s\",\"created_at\":\"x\"}", a.key_id,
		 b.public_b64);
	ck_assert_int_eq(redis_cmdv(ra, NULL, "HSET", KEYS_SEAL_KEYS, a.key_id, forged, REDIS_END), 0);
	ck_assert_int_eq(sealchain_register_key(ra, &a, "2026-02-01T00:00:00.000000Z"),
			 -EEXIST);
	/* ... and such an entry (or garbage) is not listed */
	ck_assert_int_eq(redis_cmdv(ra, NULL, "HSET", KEYS_SEAL_KEYS, "junk", "{", REDIS_END), 0);
	ck_assert_int_eq(sealchain_keys_json(ra, &json), 0);
	arr = load(json);
	ck_assert_uint_eq(json_array_size(arr), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 0), "key_id")),
			 b.key_id);
	json_decref(arr);
	free(json);
}
END_TEST

START_TEST(chain_links_and_log)
{
	struct seal_key k;
	char *json = NULL, head_key[KEYS_MAX];
	json_t *seal = NULL;

	key_from_byte(3, &k);
	ck_assert_int_eq(sealchain_register_key(ra, &k, "2026-01-01T00:00:00.000000Z"), 0);
	for (int i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof id, "task-%d", i);
		json_t *p = payload(id);
		/* chain fields the caller left in are replaced */
		json_object_set_new(p, "sequence", json_integer(999));
		ck_assert_int_eq(sealchain_sign_append(i % 2 ? ra : rb, &k, p, &seal), 0);
		ck_assert_int_eq(json_integer_value(json_object_get(p, "sequence")), i + 1);
		ck_assert(json_equal(json_object_get(seal, "payload"), p));
		json_decref(seal);
		json_decref(p);
	}
	json_t *all = raw_log(ra, k.key_id);
	check_chain(all, k.pk, 5);

	/* the head names the last payload */
	struct redis_reply *rep = NULL;
	char want[65];
	keys_seal_head(head_key, sizeof head_key, k.key_id);
	ck_assert_int_eq(redis_cmdv(ra, &rep, "HMGET", head_key, "sequence", "sha256", REDIS_END), 0);
	ck_assert_str_eq(rep->elem[0].str, "5");
	jcs_sha(json_object_get(json_array_get(all, 4), "payload"), want);
	ck_assert_str_eq(rep->elem[1].str, want);
	redis_reply_free(rep);

	/* the log page is the same seals, byte for byte as logged */
	ck_assert_int_eq(sealchain_log_json(ra, k.key_id, 0, 0, &json), 0);
	json_t *page = load(json);
	ck_assert_int_eq(json_integer_value(json_object_get(page, "next_after")), 5);
	ck_assert(json_equal(json_object_get(page, "seals"), all));
	json_decref(page);
	free(json);
	ck_assert_int_eq(sealchain_log_json(ra, k.key_id, 3, 1, &json), 0);
	page = load(json);
	ck_assert_int_eq(json_integer_value(json_object_get(page, "next_after")), 4);
	ck_assert_uint_eq(json_array_size(json_object_get(page, "seals")), 1);
	ck_assert(json_equal(json_array_get(json_object_get(page, "seals"), 0),
			     json_array_get(all, 3)));
	json_decref(page);
	free(json);
	ck_assert_int_eq(sealchain_log_json(ra, k.key_id, 5, 10, &json), 0);
	ck_assert_str_eq(json, "{\"seals\":[],\"next_after\":5}");
	free(json);
	ck_assert_int_eq(sealchain_log_json(ra, "nothex", 0, 10, &json), -EINVAL);
	ck_assert_ptr_null(json);
	json_decref(all);
}
END_TEST

START_TEST(bad_payload_does_not_advance_the_chain)
{
	struct seal_key k;
	json_t *seal = (json_t *)1;
	char *json = NULL;

	key_from_byte(4, &k);
	json_t *big = payload("t");
	json_object_set_new(big, "n", json_integer(9007199254740992LL));
	ck_assert_int_eq(sealchain_sign_append(ra, &k, big, &seal), -EINVAL);
	ck_assert_ptr_null(seal);
	json_t *arr = json_array();
	ck_assert_int_eq(sealchain_sign_append(ra, &k, arr, &seal), -EINVAL);
	ck_assert_int_eq(sealchain_log_json(ra, k.key_id, 0, 0, &json), 0);
	ck_assert_str_eq(json, "{\"seals\":[],\"next_after\":0}");
	free(json);
	json_t *p = payload("t2");
	ck_assert_int_eq(sealchain_sign_append(ra, &k, p, &seal), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "sequence")), 1);
	ck_assert(json_is_null(json_object_get(p, "prev_seal_sha256")));
	json_decref(seal);
	json_decref(p);
	json_decref(big);
	json_decref(arr);

	/* a head this module did not write is reported, not overwritten */
	char head[KEYS_MAX];
	keys_seal_head(head, sizeof head, k.key_id);
	ck_assert_int_eq(redis_cmdv(ra, NULL, "HSET", head, "sha256", "zz", REDIS_END), 0);
	p = payload("t3");
	ck_assert_int_eq(sealchain_sign_append(ra, &k, p, &seal), -EBADMSG);
	json_decref(p);
}
END_TEST

struct signer {
	const struct seal_key *k;
	int id;
	int n;
	int failures;
	pthread_barrier_t *start;
};

static void *sign_many(void *arg)
{
	struct signer *s = arg;
	struct redis *conn[2] = { redis_open(srv.url, 2000), redis_open(srv.url, 2000) };
	/* The two meet at a barrier every 50 seals, so each stretch between
	 * barriers holds seals of both: the log interleaves them whatever the
	 * scheduler does, and within a stretch they race for real. */
	for (int i = 0; i < s->n; i++) {
		char id[32];
		if (i % 50 == 0)
			pthread_barrier_wait(s->start);
		json_t *seal = NULL;
		snprintf(id, sizeof id, "t%d-%d", s->id, i);
		json_t *p = payload(id);
		if (!conn[0] || !conn[1] || sealchain_sign_append(conn[i % 2], s->k, p, &seal))
			s->failures++;
		json_decref(seal);
		json_decref(p);
	}
	redis_close(conn[0]);
	redis_close(conn[1]);
	return NULL;
}

START_TEST(concurrent_signers_share_one_chain)
{
	enum { PER = 200 };
	struct seal_key k;
	struct signer s[2];
	pthread_t t[2];
	pthread_barrier_t start;

	key_from_byte(5, &k);
	ck_assert_int_eq(sealchain_register_key(ra, &k, "2026-01-01T00:00:00.000000Z"), 0);
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, 2), 0);
	for (int i = 0; i < 2; i++) {
		s[i] = (struct signer){ &k, i, PER, 0, &start };
		ck_assert_int_eq(pthread_create(&t[i], NULL, sign_many, &s[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_int_eq(s[i].failures, 0);
	}
	pthread_barrier_destroy(&start);
	json_t *all = raw_log(ra, k.key_id);
	check_chain(all, k.pk, 2 * PER);
	/* every task signed exactly once, and both signers really interleaved */
	json_t *seen = json_object();
	size_t i, switches = 0;
	json_t *seal;
	char last = 0;
	json_array_foreach(all, i, seal) {
		const char *tid = json_string_value(json_object_get(json_object_get(seal, "payload"),
								    "task_id"));
		ck_assert_ptr_null(json_object_get(seen, tid));
		json_object_set_new(seen, tid, json_true());
		switches += i > 0 && tid[1] != last;
		last = tid[1];
	}
	ck_assert_uint_eq(json_object_size(seen), 2 * PER);
	/* four stretches, each holding both signers: at least one switch in each */
	ck_assert_uint_ge(switches, 4);
	json_decref(seen);

	/* paging through the log with next_after yields the same 400, in order */
	json_t *paged = json_array();
	long long after = 0;
	for (int pages = 0; pages < 100; pages++) {
		char *json = NULL;
		ck_assert_int_eq(sealchain_log_json(rb, pages % 2 ? k.key_id : NULL, after, 37,
						    &json), 0);
		json_t *page = load(json);
		free(json);
		json_t *seals = json_object_get(page, "seals");
		ck_assert_uint_le(json_array_size(seals), 37);
		json_array_extend(paged, seals);
		long long next = json_integer_value(json_object_get(page, "next_after"));
		json_decref(page);
		if (next == after)
			break;
		after = next;
	}
	ck_assert_int_eq(after, 2 * PER);
	ck_assert(json_equal(paged, all));
	json_decref(paged);
	json_decref(all);
}
END_TEST

START_TEST(log_of_every_key_merges_by_sequence)
{
	struct seal_key a, b;
	json_t *seal;
	char *json = NULL;

	key_from_byte(6, &a);
	key_from_byte(7, &b);
	ck_assert_int_eq(sealchain_register_key(ra, &a, "2026-01-01T00:00:00.000000Z"), 0);
	ck_assert_int_eq(sealchain_register_key(ra, &b, "2026-01-02T00:00:00.000000Z"), 0);
	for (int i = 0; i < 3; i++) {
		json_t *p = payload("a");
		ck_assert_int_eq(sealchain_sign_append(ra, &a, p, &seal), 0);
		json_decref(seal);
		json_decref(p);
		if (i == 2)
			break;
		p = payload("b");
		ck_assert_int_eq(sealchain_sign_append(rb, &b, p, &seal), 0);
		json_decref(seal);
		json_decref(p);
	}
	const struct seal_key *lo = strcmp(a.key_id, b.key_id) < 0 ? &a : &b;
	const struct seal_key *hi = lo == &a ? &b : &a;
	unsigned char pins[2][32];
	memcpy(pins[0], a.pk, 32);
	memcpy(pins[1], b.pk, 32);

	ck_assert_int_eq(sealchain_log_json(ra, NULL, 0, 100, &json), 0);
	json_t *page = load(json);
	free(json);
	json_t *seals = json_object_get(page, "seals");
	ck_assert_uint_eq(json_array_size(seals), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(page, "next_after")), 3);
	static const int want_seq[] = { 1, 1, 2, 2, 3 };
	for (size_t i = 0; i < 5; i++) {
		json_t *s = json_array_get(seals, i);
		char id[17], reason[SEAL_REASON_MAX];
		ck_assert_int_eq(seal_verify_any(s, (const unsigned char (*)[32])pins, 2, id, reason,
						 sizeof reason), 0);
		ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(s, "payload"),
								    "sequence")), want_seq[i]);
		if (i < 4)
			ck_assert_str_eq(id, i % 2 ? hi->key_id : lo->key_id);
	}
	json_decref(page);

	/* a page never ends inside a group of equal sequences */
	ck_assert_int_eq(sealchain_log_json(ra, NULL, 0, 3, &json), 0);
	page = load(json);
	free(json);
	ck_assert_uint_eq(json_array_size(json_object_get(page, "seals")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(page, "next_after")), 2);
	json_decref(page);
	ck_assert_int_eq(sealchain_log_json(ra, NULL, 2, 3, &json), 0);
	page = load(json);
	free(json);
	ck_assert_uint_eq(json_array_size(json_object_get(page, "seals")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(page, "next_after")), 3);
	json_decref(page);
}
END_TEST

/*
 * A task is sealed once: the seal and its result enter the task's record in
 * the step that appends the seal, a second seal for it is refused with the
 * chain unchanged, and tasks_finish drops the two fields.
 */
START_TEST(a_task_is_sealed_once)
{
	struct seal_key k;
	char id[37], task[KEYS_MAX];
	bool existing;
	json_t *seal = NULL, *res = NULL, *p;
	json_t *result = json_pack("{s:{s:f}}", "energy_metrics", "energy_per_call_joules", 0.25);
	struct task_new t = { .request_json = "{\"function_name\":\"f\"}" };

	key_from_byte(9, &k);
	ck_assert_int_eq(tasks_create(ra, &t, NULL, 60, id, &existing), 0);
	ck_assert_int_eq(tasks_start(ra, id, "worker-1"), 0);
	ck_assert_int_eq(keys_task(task, sizeof task, id), 0);
	ck_assert_int_eq(taskseal_result(ra, id, &res), -ENOENT);

	p = payload(id);
	ck_assert_int_eq(taskseal_sign(ra, &k, id, p, result, &seal), 0);
	json_decref(p);
	/* the worker dies here; the next attempt finds the sealed result */
	ck_assert_int_eq(taskseal_result(rb, id, &res), 0);
	ck_assert(json_equal(json_object_get(res, "seal"), seal));
	json_object_del(res, "seal");
	ck_assert(json_equal(res, result));
	json_decref(res);
	/* a second seal for the task is refused and appends nothing */
	json_t *again = NULL;
	p = payload(id);
	ck_assert_int_eq(taskseal_sign(rb, &k, id, p, result, &again), -EEXIST);
	ck_assert_ptr_null(again);
	json_decref(p);
	/* so is a seal for a task that is gone */
	p = payload("gone");
	ck_assert_int_eq(taskseal_sign(ra, &k, "00000000-0000-4000-8000-000000000000", p, result,
				       &again), -ENOENT);
	json_decref(p);
	json_t *all = raw_log(ra, k.key_id);
	check_chain(all, k.pk, 1);
	ck_assert(json_equal(json_array_get(all, 0), seal));
	json_decref(all);
	/* half an also is refused */
	struct sealchain_also half = { .key = task, .seal_field = "x", .field = "y" };
	p = payload(id);
	ck_assert_int_eq(sealchain_sign_append_also(ra, &k, p, &half, &again), -EINVAL);
	json_decref(p);

	/* stored: the record no longer carries a copy of the result */
	json_object_set(result, "seal", seal);
	char *text = json_dumps(result, JSON_COMPACT);
	ck_assert_int_eq(tasks_finish(ra, id, "completed", text, NULL, NULL, 60), 0);
	free(text);
	ck_assert_int_eq(taskseal_result(ra, id, &res), -ENOENT);
	struct redis_reply *rep = NULL;
	ck_assert_int_eq(redis_cmdv(ra, &rep, "HEXISTS", task, "sealed_result", REDIS_END), 0);
	ck_assert_int_eq(rep->integer, 0);
	redis_reply_free(rep);
	json_decref(seal);
	json_decref(result);
}
END_TEST

START_TEST(redis_down_is_an_error)
{
	struct seal_key k;
	json_t *seal = (json_t *)1, *p = payload("x");
	char *json = (char *)1;
	char url[200];
	snprintf(url, sizeof url, "unix://%s/nothing.sock", srv.dir);
	struct redis *dead = redis_open(url, 200);

	key_from_byte(8, &k);
	ck_assert_int_eq(sealchain_sign_append(dead, &k, p, &seal), -ECONNREFUSED);
	ck_assert_ptr_null(seal);
	ck_assert_int_lt(sealchain_keys_json(dead, &json), 0);
	ck_assert_ptr_null(json);
	ck_assert_int_lt(sealchain_log_json(dead, NULL, 0, 0, &json), 0);
	ck_assert_int_lt(sealchain_register_key(dead, &k, "x"), 0);
	redis_close(dead);
	json_decref(p);
}
END_TEST

static Suite *sealchain_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("sealchain", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, key_names);
	tcase_add_test(tc, register_and_list_keys);
	tcase_add_test(tc, chain_links_and_log);
	tcase_add_test(tc, bad_payload_does_not_advance_the_chain);
	tcase_add_test(tc, concurrent_signers_share_one_chain);
	tcase_add_test(tc, log_of_every_key_merges_by_sequence);
	tcase_add_test(tc, a_task_is_sealed_once);
	tcase_add_test(tc, redis_down_is_an_error);
	return s;
}

TESTSRV_MAIN("test_sealchain", &srv, sealchain_suite)
