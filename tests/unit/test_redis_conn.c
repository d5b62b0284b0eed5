/* redis.c against a real redis-server: lazy connect, reconnect, timeouts,
 * error replies, scripts, URL parsing and the pool. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redis.h"
#include "redis_testsrv.h"
#include "util.h"

static struct testsrv srv;   /* per test: each runs in its own fork */

static void setup(void)
{
	memset(&srv, 0, sizeof srv);
	ck_assert_int_eq(testsrv_prepare(&srv), 0);
}

static void teardown(void)
{
	testsrv_cleanup(&srv);
}

static bool transport_error(int rc)
{
	return rc == -ECONNREFUSED || rc == -EIO || rc == -ETIMEDOUT;
}

static void set_get(struct redis *r, const char *k, const char *v)
{
	struct redis_reply *rep;
	ck_assert_int_eq(redis_cmdv(r, NULL, "SET", k, v, REDIS_END), 0);
	ck_assert_int_eq(redis_cmdv(r, &rep, "GET", k, REDIS_END), 0);
	ck_assert_int_eq(rep->type, REDIS_T_STR);
	ck_assert_str_eq(rep->str, v);
	redis_reply_free(rep);
}

START_TEST(down_at_open_then_up)
{
	struct redis *r = redis_open(srv.url, 500);
	struct redis_reply *rep = (void *)1;
	ck_assert_ptr_nonnull(r);                     /* open never needs the server */
	ck_assert_int_eq(redis_ping(r), -ECONNREFUSED);
	ck_assert_int_eq(redis_cmdv(r, &rep, "GET", "k", REDIS_END), -ECONNREFUSED);
	ck_assert_ptr_null(rep);
	ck_assert(!redis_connected(r));
	ck_assert_str_ne(redis_last_error(r), "");
	ck_assert_int_eq(testsrv_start(&srv, false), 0);
	ck_assert_int_eq(redis_ping(r), 0);
	ck_assert(redis_connected(r));
	ck_assert_str_eq(redis_last_error(r), "");
	set_get(r, "k", "v");
	redis_close(r);
}
END_TEST

START_TEST(restart_mid_session)
{
	ck_assert_int_eq(testsrv_start(&srv, false), 0);
	struct redis *r = redis_open(srv.url, 500);
	set_get(r, "k", "1");
	testsrv_stop(&srv);
	ck_assert(transport_error(redis_ping(r)));
	ck_assert(transport_error(redis_ping(r)));
	ck_assert_int_eq(testsrv_start(&srv, false), 0);
	ck_assert_int_eq(redis_ping(r), 0);
	set_get(r, "k", "2");

	/* a restart the client did not see: the first call may fail, the rest work */
	testsrv_stop(&srv);
	ck_assert_int_eq(testsrv_start(&srv, false), 0);
	int rc = redis_ping(r);
	ck_assert(rc == 0 || transport_error(rc));
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(redis_ping(r), 0);
	set_get(r, "k", "3");
	redis_close(r);
}
END_TEST

START_TEST(timeouts)
{
	ck_assert_int_eq(testsrv_start(&srv, false), 0);
	struct redis *r = redis_open(srv.url, 100);
	struct redis_reply *rep;

	/* a blocking command past the socket timeout is a transport timeout */
	uint64_t t0 = util_mono_ns();
	ck_assert_int_eq(redis_cmdv(r, &rep, "BLPOP", "empty", "1", REDIS_END), -ETIMEDOUT);
	ck_assert_uint_lt(util_mono_ns() - t0, 900000000ull);
	ck_assert(!redis_connected(r));
	ck_assert_int_eq(redis_ping(r), 0);          /* and the next call reconnects */

	/* the block variant waits for the server's own timeout: nil, not an error */
	const char *argv[] = { "BLPOP", "empty", "0.3" };
	t0 = util_mono_ns();
	ck_assert_int_eq(redis_cmd_block(r, 300, &rep, 3, argv, NULL), 0);
	ck_assert_uint_ge(util_mono_ns() - t0, 250000000ull);
	ck_assert_int_eq(rep->type, REDIS_T_NIL);
	redis_reply_free(rep);
	/* the normal timeout is back afterwards */
	t0 = util_mono_ns();
	ck_assert_int_eq(redis_cmdv(r, &rep, "BLPOP", "empty", "1", REDIS_END), -ETIMEDOUT);
	ck_assert_uint_lt(util_mono_ns() - t0, 900000000ull);
	redis_close(r);
}
END_TEST

START_TEST(error_replies_and_types)
{
	ck_assert_int_eq(testsrv_start(&srv, false), 0);
	struct redis *r = redis_open(srv.url, 1000);
	struct redis_reply *rep;

	ck_assert_int_eq(redis_cmdv(r, NULL, "SET", "s", "abc", REDIS_END), 0);
	ck_assert_int_eq(redis_cmdv(r, &rep, "INCR", "s", REDIS_END), -EPROTO);
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(rep->type, REDIS_T_ERR);
	ck_assert_ptr_nonnull(strstr(rep->str, "not an integer"));
	redis_reply_free(rep);
	ck_assert(redis_connected(r));               /* an error reply keeps the link */

	ck_assert_int_eq(redis_cmdv(r, &rep, "SET", "n", "5", REDIS_END), 0);
	ck_assert_int_eq(rep->type, REDIS_T_STATUS);
	ck_assert_str_eq(rep->str, "OK");
	redis_reply_free(rep);
	ck_assert_int_eq(redis_cmdv(r, &rep, "INCR", "n", REDIS_END), 0);
	ck_assert_int_eq(rep->type, REDIS_T_INT);
	ck_assert_int_eq(rep->integer, 6);
	redis_reply_free(rep);

	/* binary-safe arguments with explicit lengths */
	const char bin[] = { 'a', '\0', 'b' };
	const char *argv[] = { "SET", "bin", bin };
	const size_t lens[] = { 3, 3, 3 };
	ck_assert_int_eq(redis_cmd(r, NULL, 3, argv, lens), 0);
	ck_assert_int_eq(redis_cmdv(r, &rep, "GET", "bin", REDIS_END), 0);
	ck_assert_uint_eq(rep->len, 3);
	ck_assert_int_eq(memcmp(rep->str, bin, 3), 0);
	redis_reply_free(rep);

	const char *many[REDIS_MAX_ARGS + 1];
	for (int i = 0; i < REDIS_MAX_ARGS + 1; i++)
		many[i] = "x";
	many[0] = "DEL";
	ck_assert_int_eq(redis_cmd(r, NULL, REDIS_MAX_ARGS + 1, many, NULL), -E2BIG);
	ck_assert_int_eq(redis_cmd(r, NULL, 0, many, NULL), -EINVAL);
	redis_close(r);
}
END_TEST

static const struct redis_script nested = {
	"test_nested",
	"return {tonumber(ARGV[1]) + 1, KEYS[1], {'x', false}, redis.status_reply('FINE')}\n",
};

static const struct redis_script broken = { "test_broken", "this is not lua" };

START_TEST(scripts_survive_flush)
{
	ck_assert_int_eq(testsrv_start(&srv, false), 0);
	struct redis *r = redis_open(srv.url, 1000);
	struct redis_reply *rep;
	const char *keys[] = { "k1" };
	const char *args[] = { "41" };

	for (int round = 0; round < 3; round++) {
		if (round == 2)   /* server forgot every script: EVAL fallback */
			ck_assert_int_eq(redis_cmdv(r, NULL, "SCRIPT", "FLUSH", REDIS_END), 0);
		ck_assert_int_eq(redis_eval(r, &nested, 1, keys, 1, args, &rep), 0);
		ck_assert_int_eq(rep->type, REDIS_T_ARR);
		ck_assert_uint_eq(rep->n, 4);
		ck_assert_int_eq(rep->elem[0].integer, 42);
		ck_assert_str_eq(rep->elem[1].str, "k1");
		ck_assert_int_eq(rep->elem[2].type, REDIS_T_ARR);
		ck_assert_uint_eq(rep->elem[2].n, 2);
		ck_assert_str_eq(rep->elem[2].elem[0].str, "x");
		ck_assert_int_eq(rep->elem[2].elem[1].type, REDIS_T_NIL);
		ck_assert_int_eq(rep->elem[3].type, REDIS_T_STATUS);
		ck_assert_str_eq(rep->elem[3].str, "FINE");
		redis_reply_free(rep);
	}
	ck_assert_int_eq(redis_eval(r, &broken, 0, NULL, 0, NULL, NULL), -EPROTO);
	/* across a server restart the cached SHA is stale; EVAL takes over */
	testsrv_stop(&srv);
	ck_assert_int_eq(testsrv_start(&srv, false), 0);
	(void)redis_ping(r);
	ck_assert_int_eq(redis_eval(r, &nested, 1, keys, 1, args, NULL), 0);
	redis_close(r);
}
END_TEST

START_TEST(tcp_db_and_auth)
{
	char url[128];
	ck_assert_int_eq(testsrv_start(&srv, true), 0);
	ck_assert_int_gt(srv.port, 0);
	struct redis *r0 = redis_open(srv.tcp_url, 1000);
	snprintf(url, sizeof url, "redis://127.0.0.1:%d/3", srv.port);
	struct redis *r3 = redis_open(url, 1000);
	struct redis_reply *rep;
	set_get(r3, "only-in-3", "yes");
	ck_assert_int_eq(redis_cmdv(r0, &rep, "GET", "only-in-3", REDIS_END), 0);
	ck_assert_int_eq(rep->type, REDIS_T_NIL);
	redis_reply_free(rep);

	ck_assert_int_eq(redis_cmdv(r0, NULL, "CONFIG", "SET", "requirepass", "s3cret", REDIS_END), 0);
	snprintf(url, sizeof url, "redis://:s3cret@127.0.0.1:%d/3", srv.port);
	struct redis *ok = redis_open(url, 1000);
	ck_assert_int_eq(redis_cmdv(ok, &rep, "GET", "only-in-3", REDIS_END), 0);
	ck_assert_str_eq(rep->str, "yes");
	redis_reply_free(rep);
	snprintf(url, sizeof url, "redis://:wrong@127.0.0.1:%d/3", srv.port);
	struct redis *bad = redis_open(url, 1000);
	ck_assert_int_eq(redis_ping(bad), -EACCES);
	ck_assert_ptr_nonnull(strstr(redis_last_error(bad), "AUTH"));
	redis_close(bad);
	redis_close(ok);
	redis_close(r3);
	redis_close(r0);

	/* nothing listens on port 1 */
	struct redis *none = redis_open("redis://127.0.0.1:1/0", 500);
	ck_assert_int_eq(redis_ping(none), -ECONNREFUSED);
	redis_close(none);
}
END_TEST

START_TEST(url_parsing)
{
	static const char *const bad[] = {
		"", "http://x", "redis://", "redis://:6379", "redis://h:0", "redis://h:99999",
		"redis://h:12x", "redis://h/abc", "redis://h/0?x=1", "redis://user@h",
		"redis://[::1", "redis://[::1]x", "unix://", "unix://relative.sock",
		"unix:///p?x=1", "unix:///p?db=z", "rediss://h",
	};
	static const char *const good[] = {
		"redis://localhost", "redis://h:1/2", "redis://:pw@h:1/2", "redis://u:pw@h",
		"redis://[::1]:6379/0", "redis://h/", "unix:///tmp/x.sock", "unix:///tmp/x.sock?db=2",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		struct redis *r = redis_open(bad[i], 100);
		ck_assert_msg(r == NULL && errno == EINVAL, "accepted %s", bad[i]);
	}
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct redis *r = redis_open(good[i], 100);
		ck_assert_msg(r != NULL, "refused %s", good[i]);
		redis_close(r);
	}
	char big[REDIS_URL_MAX + 16];
	memset(big, 'a', sizeof big);
	memcpy(big, "redis://", 8);
	big[sizeof big - 1] = '\0';
	ck_assert_ptr_null(redis_open(big, 100));
	ck_assert_ptr_null(redis_open(NULL, 100));
}
END_TEST

struct pool_arg {
	struct redis_pool *pool;
	int fails;
};

static void *pool_worker(void *p)
{
	struct pool_arg *a = p;
	for (int i = 0; i < 500; i++) {
		struct redis *r = redis_pool_get(a->pool);
		if (!r || redis_cmdv(r, NULL, "INCR", "hits", REDIS_END) != 0)
			a->fails++;
		redis_pool_put(a->pool, r);
	}
	return NULL;
}

START_TEST(pool_two_threads)
{
	ck_assert_int_eq(testsrv_start(&srv, false), 0);
	/* one connection for two threads: every get waits for the other's put */
	struct redis_pool *pool = redis_pool_open(srv.url, 2000, 1, NULL);
	ck_assert_ptr_nonnull(pool);
	struct pool_arg a = { pool, 0 }, b = { pool, 0 };
	pthread_t ta, tb;
	pthread_create(&ta, NULL, pool_worker, &a);
	pthread_create(&tb, NULL, pool_worker, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ck_assert_int_eq(a.fails + b.fails, 0);
	struct redis *r = redis_pool_get(pool);
	struct redis_reply *rep;
	ck_assert_int_eq(redis_cmdv(r, &rep, "GET", "hits", REDIS_END), 0);
	ck_assert_str_eq(rep->str, "1000");
	redis_reply_free(rep);
	redis_pool_put(pool, r);
	redis_pool_close(pool);

	/* all lent out: get gives up after the timeout */
	pool = redis_pool_open(srv.url, 150, 2, NULL);
	struct redis *x = redis_pool_get(pool), *y = redis_pool_get(pool);
	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(y);
	ck_assert_ptr_ne(x, y);
	uint64_t t0 = util_mono_ns();
	errno = 0;
	ck_assert_ptr_null(redis_pool_get(pool));
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_uint_ge(util_mono_ns() - t0, 140000000ull);
	redis_pool_put(pool, y);
	ck_assert_ptr_eq(redis_pool_get(pool), y);
	redis_pool_put(pool, x);
	redis_pool_put(pool, y);
	redis_pool_close(pool);
	ck_assert_ptr_null(redis_pool_open(srv.url, 100, 0, NULL));
	ck_assert_ptr_null(redis_pool_open("nope", 100, 2, NULL));
}
END_TEST

static Suite *redis_conn_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("redis_conn", &tc);
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, down_at_open_then_up);
	tcase_add_test(tc, restart_mid_session);
	tcase_add_test(tc, timeouts);
	tcase_add_test(tc, error_replies_and_types);
	tcase_add_test(tc, scripts_survive_flush);
	tcase_add_test(tc, tcp_db_and_auth);
	tcase_add_test(tc, url_parsing);
	tcase_add_test(tc, pool_two_threads);
	return s;
}

TESTSRV_MAIN("test_redis_conn", NULL, redis_conn_suite)
