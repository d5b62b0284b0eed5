/*
 * redis.c's Sentinel mode and WAIT against real processes on loopback: one
 * master, one replica, three sentinels (redis-server --sentinel).  The
 * master is killed (SIGKILL) or demoted by a forced failover, and the same
 * struct redis (and a pool) must reach the new master with no restart.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redis.h"
#include "redis_testsrv.h"
#include "util.h"

/* Bounds, not expectations: a failover here takes a few seconds. */
#define FAILOVER_BOUND_MS 30000
#define READY_BOUND_MS 20000

static struct testsrv master, replica, sentinel[3];
static char sentinels[128];

static void start_or_fail(struct testsrv *s)
{
	ck_assert_int_eq(testsrv_start(s, true), 0);
}

/* Every sentinel knows the replica and the two other sentinels (hello
 * messages every 2 s), so a quorum can elect a leader. */
static bool sentinels_ready(void)
{
	for (int i = 0; i < 3; i++) {
		struct redis *r = redis_open(sentinel[i].url, 500);
		struct redis_reply *rep = NULL;
		bool ok = r && redis_cmdv(r, &rep, "SENTINEL", "MASTER", TESTSRV_MASTER_NAME,
					  REDIS_END) == 0 && rep->type == REDIS_T_ARR;
		long slaves = -1, others = -1;
		for (size_t k = 0; ok && k + 1 < rep->n; k += 2) {
			if (strcmp(rep->elem[k].str, "num-slaves") == 0)
				slaves = strtol(rep->elem[k + 1].str, NULL, 10);
			if (strcmp(rep->elem[k].str, "num-other-sentinels") == 0)
				others = strtol(rep->elem[k + 1].str, NULL, 10);
		}
		redis_reply_free(rep);
		redis_close(r);
		if (slaves != 1 || others != 2)
			return false;
	}
	return true;
}

/* The replica has finished its first sync (ROLE: slave ... "connected"). */
static bool replica_synced(void)
{
	struct redis *r = redis_open(replica.url, 500);
	struct redis_reply *rep = NULL;
	bool ok = r && redis_cmdv(r, &rep, "ROLE", REDIS_END) == 0 && rep->type == REDIS_T_ARR &&
		  rep->n >= 4 && rep->elem[3].str && strcmp(rep->elem[3].str, "connected") == 0;
	redis_reply_free(rep);
	redis_close(r);
	return ok;
}

static void setup(void)
{
	memset(&master, 0, sizeof master);
	memset(&replica, 0, sizeof replica);
	memset(sentinel, 0, sizeof sentinel);
	start_or_fail(&master);
	replica.replicaof = master.port;
	start_or_fail(&replica);
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		sentinel[i].sentinel_of = master.port;
		start_or_fail(&sentinel[i]);
		n += (size_t)snprintf(sentinels + n, sizeof sentinels - n, "%s127.0.0.1:%d",
				      i ? "," : "", sentinel[i].port);
	}
	int waited = 0;
	while (!(replica_synced() && sentinels_ready()) && waited < READY_BOUND_MS) {
		testsrv_sleep_ms(100);
		waited += 100;
	}
	ck_assert_msg(replica_synced() && sentinels_ready(),
		      "the replica did not sync or the sentinels did not see each other");
}

static void teardown(void)
{
	for (int i = 0; i < 3; i++)
		testsrv_cleanup(&sentinel[i]);
	testsrv_cleanup(&replica);
	testsrv_cleanup(&master);
}

static struct redis *open_ha(int min_replicas)
{
	/* the URL's host is never dialled in sentinel mode: port 1 proves it */
	struct redis_ha ha = { .sentinels = sentinels, .master_name = TESTSRV_MASTER_NAME,
			       .min_replicas = min_replicas, .wait_timeout_ms = 1000 };
	struct redis *r = redis_open_ha("redis://127.0.0.1:1/0", 1000, &ha);
	ck_assert_ptr_nonnull(r);
	return r;
}

/* The TCP port of the server this connection talks to. */
static int server_port(struct redis *r)
{
	struct redis_reply *rep;
	ck_assert_int_eq(redis_cmdv(r, &rep, "CONFIG", "GET", "port", REDIS_END), 0);
	ck_assert_int_eq(rep->type, REDIS_T_ARR);
	ck_assert_uint_eq(rep->n, 2);
	int port = (int)strtol(rep->elem[1].str, NULL, 10);
	redis_reply_free(rep);
	return port;
}

static bool transport_error(int rc)
{
	return rc == -ECONNREFUSED || rc == -EIO || rc == -ETIMEDOUT;
}

/* SETs key until one lands (bounded), each failure a transport error or a
 * READONLY reply; the number of failures into *fails and the time taken. */
static long set_until_ok(struct redis *r, const char *key, int *fails, int *readonly)
{
	uint64_t t0 = util_mono_ns();
	*fails = 0;
	for (;;) {
		struct redis_reply *rep = NULL;
		int rc = redis_cmdv(r, &rep, "SET", key, "v", REDIS_END);
		if (rc == -EPROTO) {
			ck_assert_msg(strncmp(rep->str, "READONLY", 8) == 0, "%s", rep->str);
			ck_assert(!redis_connected(r));   /* dropped: the next one resolves */
			(*readonly)++;
		}
		redis_reply_free(rep);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -EPROTO || transport_error(rc), "rc %d", rc);
		(*fails)++;
		ck_assert_uint_lt(util_mono_ns() - t0, FAILOVER_BOUND_MS * 1000000ull);
		testsrv_sleep_ms(50);
	}
	return (long)((util_mono_ns() - t0) / 1000000u);
}

START_TEST(kill_master_follows_failover)
{
	struct redis *r = open_ha(1);
	struct redis_pool *pool;
	struct redis_ha ha = { .sentinels = sentinels, .master_name = TESTSRV_MASTER_NAME };
	struct redis_reply *rep;
	int acked, fails, readonly = 0;

	ck_assert_int_eq(server_port(r), master.port);
	/* a stalled replica cannot confirm: -EAGAIN after the WAIT timeout */
	ck_assert_int_eq(kill(replica.pid, SIGSTOP), 0);
	ck_assert_int_eq(redis_cmdv(r, NULL, "SET", "before", "1", REDIS_END), 0);
	ck_assert_int_eq(redis_wait_replicas(r, &acked), -EAGAIN);
	ck_assert_int_eq(acked, 0);
	ck_assert_int_eq(kill(replica.pid, SIGCONT), 0);
	ck_assert_int_eq(redis_cmdv(r, NULL, "SET", "before", "1", REDIS_END), 0);
	ck_assert_int_eq(redis_wait_replicas(r, &acked), 0);   /* on the replica too */
	ck_assert_int_eq(acked, 1);
	pool = redis_pool_open("redis://127.0.0.1:1/0", 1000, 2, &ha);
	ck_assert_ptr_nonnull(pool);
	struct redis *p1 = redis_pool_get(pool), *p2 = redis_pool_get(pool);
	ck_assert_int_eq(server_port(p1), master.port);
	ck_assert_int_eq(server_port(p2), master.port);

	testsrv_stop(&master);   /* SIGKILL */
	long ms = set_until_ok(r, "after", &fails, &readonly);
	printf("test_redis_sentinel: master killed, first write on the new master after %ld ms "
	       "(%d failed attempts)\n", ms, fails);
	ck_assert_int_ge(fails, 1);              /* the kill was seen, not skipped */
	ck_assert_int_eq(server_port(r), replica.port);
	ck_assert_int_eq(redis_cmdv(r, &rep, "GET", "before", REDIS_END), 0);
	ck_assert_str_eq(rep->str, "1");         /* WAITed before the kill: kept */
	redis_reply_free(rep);
	/* no replica is left: WAIT answers 0 after its timeout, -EAGAIN */
	ck_assert_int_eq(redis_wait_replicas(r, &acked), -EAGAIN);
	ck_assert_int_eq(acked, 0);

	/* each pooled connection fails at most once, then follows on its own */
	for (int i = 0; i < 2; i++) {
		struct redis *p = i ? p2 : p1;
		int rc = redis_ping(p);
		if (rc)
			ck_assert(transport_error(rc));
		ck_assert_int_eq(server_port(p), replica.port);
	}
	redis_pool_put(pool, p1);
	redis_pool_put(pool, p2);
	redis_pool_close(pool);
	redis_close(r);
}
END_TEST

/* "cmd a1 a2 ..." on one server, which must answer OK. */
static void ok_on(const struct testsrv *s, const char *a0, const char *a1, const char *a2,
		  const char *a3, const char *a4, const char *a5)
{
	struct redis *r = redis_open(s->url, 1000);
	ck_assert_int_eq(redis_cmdv(r, NULL, a0, a1, a2, a3, a4, a5, REDIS_END), 0);
	redis_close(r);
}

/*
 * An operator swaps the roles by hand (REPLICAOF, which kills no client, as
 * a sentinel's reconfiguration would): our open connection to the old
 * master gets READONLY, and only one sentinel has been told (the others are
 * stale and name the demoted server, which ROLE rejects).
 */
START_TEST(forced_demotion_readonly_resolves_again)
{
	struct redis *r = open_ha(0);
	struct redis_reply *rep = NULL;
	char port[16];
	int acked;

	ck_assert_int_eq(redis_wait_replicas(r, &acked), 0);   /* min 0: no WAIT */
	ck_assert_int_eq(acked, -1);
	ck_assert_int_eq(server_port(r), master.port);
	snprintf(port, sizeof port, "%d", replica.port);
	ok_on(&replica, "REPLICAOF", "NO", "ONE", NULL, NULL, NULL);
	ok_on(&master, "REPLICAOF", "127.0.0.1", port, NULL, NULL, NULL);
	ok_on(&sentinel[1], "SENTINEL", "REMOVE", TESTSRV_MASTER_NAME, NULL, NULL, NULL);
	ok_on(&sentinel[1], "SENTINEL", "MONITOR", TESTSRV_MASTER_NAME, "127.0.0.1", port, "2");

	ck_assert_int_eq(redis_cmdv(r, &rep, "SET", "k", "v", REDIS_END), -EPROTO);
	ck_assert_msg(strncmp(rep->str, "READONLY", 8) == 0, "%s", rep->str);
	redis_reply_free(rep);
	ck_assert(!redis_connected(r));          /* dropped: the next command resolves */
	/* sentinel 0 names the demoted server, ROLE says slave: sentinel 1 wins */
	ck_assert_int_eq(redis_cmdv(r, NULL, "SET", "k", "v", REDIS_END), 0);
	ck_assert_int_eq(server_port(r), replica.port);
	redis_close(r);
}
END_TEST

START_TEST(bad_settings_and_no_sentinel)
{
	struct redis_ha ha = { .sentinels = "127.0.0.1:x", .master_name = "m" };
	char many[400] = "";

	errno = 0;
	ck_assert_ptr_null(redis_open_ha("redis://h/0", 100, &ha));
	ck_assert_int_eq(errno, EINVAL);
	ha.sentinels = "127.0.0.1:26379";
	ck_assert_ptr_null(redis_open_ha("unix:///tmp/x.sock", 100, &ha));
	ha.master_name = "";
	ck_assert_ptr_null(redis_open_ha("redis://h/0", 100, &ha));
	for (size_t i = 0, n = 0; i <= REDIS_MAX_SENTINELS; i++)
		n += (size_t)snprintf(many + n, sizeof many - n, "127.0.0.1:1,");
	ha.sentinels = many;
	ha.master_name = "m";
	ck_assert_ptr_null(redis_open_ha("redis://h/0", 100, &ha));
	/* a sentinel that does not know the name, and one that is down */
	char two[96];
	snprintf(two, sizeof two, "127.0.0.1:%d, 127.0.0.1:1", sentinel[1].port);
	ha.sentinels = two;
	ha.master_name = "unknown";
	struct redis *r = redis_open_ha("redis://h/0", 300, &ha);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(redis_ping(r), -ECONNREFUSED);
	ck_assert_ptr_nonnull(strstr(redis_last_error(r), "no sentinel names"));
	redis_close(r);
}
END_TEST

static Suite *redis_sentinel_suite(void)
{
	Suite *s = suite_create("redis_sentinel");
	TCase *tc = tcase_create("failover");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, kill_master_follows_failover);
	tcase_add_test(tc, forced_demotion_readonly_resolves_again);
	tcase_add_test(tc, bad_settings_and_no_sentinel);
	suite_add_tcase(s, tc);
	return s;
}

TESTSRV_MAIN("test_redis_sentinel", NULL, redis_sentinel_suite)
