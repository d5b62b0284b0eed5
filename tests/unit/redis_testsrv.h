/*
 * redis_testsrv.h — header-only helper for the test_redis_* suites: runs a
 * private, throw-away redis-server (no persistence) in a mkdtemp directory,
 * reachable on a unix socket and optionally on a random loopback TCP port.
 * The server gets PR_SET_PDEATHSIG so a crashed test never leaves it behind.
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

#include "redis.h"

#define TESTSRV_BIN "/usr/bin/redis-server"
#define TESTSRV_SKIP 77

struct testsrv {
	pid_t pid;
	int port;            /* 0 = unix socket only */
	char dir[64];
	char sock[128];
	char url[160];       /* unix:///dir/redis.sock */
	char tcp_url[64];    /* redis://127.0.0.1:port/0 when port != 0 */
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

static inline pid_t testsrv_spawn(const struct testsrv *s, int port)
{
	char portbuf[16], log[128];
	snprintf(portbuf, sizeof portbuf, "%d", port);
	snprintf(log, sizeof log, "%s/redis.log", s->dir);
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
	execl(TESTSRV_BIN, TESTSRV_BIN, "--port", portbuf, "--bind", "127.0.0.1",
	      "--unixsocket", s->sock, "--unixsocketperm", "700", "--save", "",
	      "--appendonly", "no", "--dir", s->dir, "--logfile", log,
	      "--daemonize", "no", (char *)NULL);
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

static inline void testsrv_cleanup(struct testsrv *s)
{
	char p[128];
	testsrv_stop(s);
	if (!s->dir[0])
		return;
	snprintf(p, sizeof p, "%s/redis.log", s->dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/dump.rdb", s->dir);
	unlink(p);
	rmdir(s->dir);
	s->dir[0] = '\0';
}

/* Empties the database between tests; aborts the test on failure. */
static inline int testsrv_flush(const struct testsrv *s)
{
	struct redis *r = redis_open(s->url, 2000);
	int ret = r ? redis_cmdv(r, NULL, "FLUSHALL", NULL) : -errno;
	redis_close(r);
	return ret;
}

#endif
