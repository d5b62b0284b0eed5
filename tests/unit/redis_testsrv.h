/*
 * redis_testsrv.h — header-only helper for the test_redis_* suites: runs a
 * private, throw-away redis-server (no persistence) in a mkdtemp directory,
 * reachable on a unix socket and optionally on a random loopback TCP port.
 * The server gets PR_SET_PDEATHSIG so a crashed test never leaves it behind.
 * Set replicaof (a master's TCP port) before the first start for a replica,
 * or sentinel_of for a sentinel (redis-server --sentinel, a generated conf)
 * monitoring that master as TESTSRV_MASTER_NAME with quorum 2 and short
 * failover times.
 * Also the main(), fixture and reply helpers those suites share.
 * Test support only; not part of any library.
 */
#ifndef JT_REDIS_TESTSRV_H
#define JT_REDIS_TESTSRV_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "redis.h"
#include "testutil.h"

#define TESTSRV_BIN "/usr/bin/redis-server"
#define TESTSRV_SKIP 77
#define TESTSRV_MASTER_NAME "jtmaster"

struct testsrv {
	pid_t pid;
	int port;            /* 0 = unix socket only */
	char dir[64];
	char sock[128];
	char url[160];       /* unix:///dir/redis.sock */
	char tcp_url[64];    /* redis://127.0.0.1:port/0 when port != 0 */
	int replicaof;       /* a replica of the server on this TCP port (0: no) */
	int sentinel_of;     /* a sentinel watching the master on this port (0: no) */
};

static inline bool testsrv_available(void)
{
	return access(TESTSRV_BIN, X_OK) == 0;
}

static inline void testsrv_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The sentinel's conf (it rewrites it as it learns, so one per sentinel). */
static inline int testsrv_sentinel_conf(const struct testsrv *s, int port, char *path, size_t cap)
{
	snprintf(path, cap, "%s/sentinel.conf", s->dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "port %d\nbind 127.0.0.1\nunixsocket %s\ndir %s\n"
		"sentinel monitor %s 127.0.0.1 %d 2\n"
		"sentinel down-after-milliseconds %s 1000\n"
		"sentinel failover-timeout %s 5000\n",
		port, s->sock, s->dir, TESTSRV_MASTER_NAME, s->sentinel_of,
		TESTSRV_MASTER_NAME, TESTSRV_MASTER_NAME);
	return fclose(f);
}

static inline pid_t testsrv_spawn(const struct testsrv *s, int port)
{
	char portbuf[16], log[128], master[16], conf[160];
	snprintf(portbuf, sizeof portbuf, "%d", port);
	snprintf(log, sizeof log, "%s/redis.log", s->dir);
	snprintf(master, sizeof master, "%d", s->replicaof);
	if (s->sentinel_of && testsrv_sentinel_conf(s, port, conf, sizeof conf))
		return -1;
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	const char *sentinel[] = { TESTSRV_BIN, conf, "--sentinel", "--logfile", log,
				   "--daemonize", "no", NULL };
	const char *server[] = { TESTSRV_BIN, "--port", portbuf, "--bind", "127.0.0.1",
				 "--unixsocket", s->sock, "--unixsocketperm", "700", "--save", "",
				 "--appendonly", "no", "--dir", s->dir, "--logfile", log,
				 "--daemonize", "no", s->replicaof ? "--replicaof" : NULL,
				 "127.0.0.1", master, NULL };
	execv(TESTSRV_BIN, (char *const *)(s->sentinel_of ? sentinel : server));
	_exit(127);
}

/* Up within 5 s: 0; the process exited (port taken?): -EADDRINUSE. */
static inline int testsrv_wait_ready(struct testsrv *s)
{
	struct redis *r = redis_open(s->url, 200);
	int ret = -ETIMEDOUT;
	if (!r)
		return -errno;
	for (int i = 0; i < 500; i++) {
		int st;
		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			s->pid = 0;
			ret = -EADDRINUSE;
			break;
		}
		if (redis_ping(r) == 0) {
			ret = 0;
			break;
		}
		testsrv_sleep_ms(10);
	}
	redis_close(r);
	return ret;
}

/* Creates the directory and fills in the unix URL, without a server. */
static inline int testsrv_prepare(struct testsrv *s)
{
	if (s->dir[0])
		return 0;
	snprintf(s->dir, sizeof s->dir, "/tmp/jt-redis-XXXXXX");
	if (!mkdtemp(s->dir))
		return -errno;
	snprintf(s->sock, sizeof s->sock, "%s/redis.sock", s->dir);
	snprintf(s->url, sizeof s->url, "unix://%s", s->sock);
	s->port = 0;
	return 0;
}

/* First call creates the directory; later calls restart on the same socket
 * (and the same TCP port). */
static inline int testsrv_start(struct testsrv *s, bool tcp)
{
	int pr = testsrv_prepare(s);
	if (pr)
		return pr;
	for (int attempt = 0; attempt < 10; attempt++) {
		int port = s->port;
		if (tcp && !port) {
			unsigned v = 0;
			if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
				return -EIO;
			port = 20000 + (int)(v % 40000);
		}
		s->pid = testsrv_spawn(s, port);
		if (s->pid < 0)
			return -errno;
		int ret = testsrv_wait_ready(s);
		if (ret == 0) {
			s->port = port;
			if (port)
				snprintf(s->tcp_url, sizeof s->tcp_url, "redis://127.0.0.1:%d/0", port);
			return 0;
		}
		if (ret != -EADDRINUSE || s->port)
			return ret;
	}
	return -EADDRINUSE;
}

static inline void testsrv_stop(struct testsrv *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	unlink(s->sock);
}

/* Stops the server and removes its directory with whatever it wrote there. */
static inline void testsrv_cleanup(struct testsrv *s)
{
	testsrv_stop(s);
	testutil_rmtree(s->dir);
	s->dir[0] = '\0';
}

/* Empties the database between tests: 0 or -errno. */
static inline int testsrv_flush(const struct testsrv *s)
{
	struct redis *r = redis_open(s->url, 2000);
	int ret = r ? redis_cmdv(r, NULL, "FLUSHALL", NULL) : -errno;
	redis_close(r);
	return ret;
}

/* Empties the server and opens a connection in *a and, unless b is NULL, a
 * second in *b: the per-test fixture of suites sharing one server.  Fails
 * the test on error. */
static inline void testsrv_setup(const struct testsrv *s, struct redis **a, struct redis **b)
{
	ck_assert_int_eq(testsrv_flush(s), 0);
	*a = redis_open(s->url, 2000);
	ck_assert_ptr_nonnull(*a);
	if (b) {
		*b = redis_open(s->url, 2000);
		ck_assert_ptr_nonnull(*b);
	}
}

static inline void testsrv_teardown(struct redis *a, struct redis *b)
{
	redis_close(a);
	redis_close(b);
}

/* A suite's fixture with one connection `r` to one server `srv`, fresh for
 * every test: defines them and setup/teardown for tcase_add_checked_fixture. */
#define TESTSRV_ONE_CLIENT                                      \
	static struct testsrv srv;                              \
	static struct redis *r;                                 \
	static void setup(void) { testsrv_setup(&srv, &r, NULL); } \
	static void teardown(void) { testsrv_teardown(r, NULL); }

/*
 * The fixture most suites use: one server `srv` and two connections `ra` and
 * `rb` (two workers), fresh for every test: defines them and setup/teardown
 * for tcase_add_checked_fixture.
 */
#define TESTSRV_TWO_CLIENTS                                     \
	static struct testsrv srv;                              \
	static struct redis *ra, *rb;                           \
	static void setup(void) { testsrv_setup(&srv, &ra, &rb); } \
	static void teardown(void) { testsrv_teardown(ra, rb); }

/* The integer reply of "cmd [a1 [a2]]" (NULL ends the arguments); fails the
 * test when the command fails or the reply is not an integer. */
static inline long long testsrv_int(struct redis *r, const char *cmd, const char *a1,
				    const char *a2)
{
	struct redis_reply *rep;
	ck_assert_int_eq(redis_cmdv(r, &rep, cmd, a1, a2, NULL), 0);
	ck_assert_int_eq(rep->type, REDIS_T_INT);
	long long v = rep->integer;
	redis_reply_free(rep);
	return v;
}

/*
 * The main() of a test_redis_* binary: logs errors only, skips (exit 77)
 * where redis-server is missing, and with srv non-NULL runs the suite
 * against one server started here and removed afterwards (srv NULL: the
 * tests start their own).
 */
static inline int testsrv_main(const char *name, struct testsrv *srv, Suite *(*suite_fn)(void))
{
	log_init(name, LOG_LVL_ERROR, LOG_FMT_TEXT);
	if (!testsrv_available()) {
		printf("SKIP: %s is missing\n", TESTSRV_BIN);
		return TESTSRV_SKIP;
	}
	if (srv && testsrv_start(srv, false)) {
		fprintf(stderr, "cannot start redis-server\n");
		testsrv_cleanup(srv);
		return EXIT_FAILURE;
	}
	int ret = testutil_run(suite_fn());
	if (srv)
		testsrv_cleanup(srv);
	return ret;
}

#define TESTSRV_MAIN(name, srv, suite_fn) \
	int main(void) { return testsrv_main((name), (srv), (suite_fn)); }

#endif
