/* redis.c — see redis.h.  The only file that includes hiredis. */
#include "redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

/* Enough for every script in the tree; past it we fall back to plain EVAL. */
#define SCRIPT_CACHE 32

struct script_sha {
	const struct redis_script *s;
	char sha[41];
};

struct redis {
	bool is_unix;
	char host[256];
	int port;
	char path[108];              /* sizeof(sun_path) */
	int db;
	char user[128];
	char pass[256];
	int timeout_ms;
	redisContext *c;
	bool guard_pipe;             /* SIGPIPE not ignored: block it around I/O */
	bool failing;                /* last attempt failed: log only transitions */
	char err[160];
	struct script_sha scripts[SCRIPT_CACHE];
	int nscripts;
};

/* ---------------------------------------------------------------- URLs */

static int parse_uint(const char *s, size_t n, long max, int *out)
{
	long v = 0;
	if (n == 0 || n > 9)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int copy_part(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return -EINVAL;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int parse_unix(struct redis *r, const char *p)
{
	const char *q = strchr(p, '?');
	size_t n = q ? (size_t)(q - p) : strlen(p);

	if (n == 0 || p[0] != '/' || copy_part(r->path, sizeof r->path, p, n))
		return -EINVAL;
	r->is_unix = true;
	if (!q)
		return 0;
	if (strncmp(q, "?db=", 4) != 0)
		return -EINVAL;
	return parse_uint(q + 4, strlen(q + 4), 1000000, &r->db);
}

static int parse_tcp(struct redis *r, const char *p)
{
	const char *slash = strchr(p, '/');
	size_t authority = slash ? (size_t)(slash - p) : strlen(p);
	const char *at = memrchr(p, '@', authority);
	const char *h, *end = p + authority;

	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (!colon)
			return -EINVAL;
		if (copy_part(r->user, sizeof r->user, p, (size_t)(colon - p)) ||
		    copy_part(r->pass, sizeof r->pass, colon + 1, (size_t)(at - colon - 1)))
			return -EINVAL;
		h = at + 1;
	} else {
		h = p;
	}
	const char *port = NULL;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (!rb || copy_part(r->host, sizeof r->host, h + 1, (size_t)(rb - h - 1)))
			return -EINVAL;
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return -EINVAL;
			port = rb + 2;
		}
	} else {
		const char *colon = memchr(h, ':', (size_t)(end - h));
		size_t hn = colon ? (size_t)(colon - h) : (size_t)(end - h);
		if (copy_part(r->host, sizeof r->host, h, hn))
			return -EINVAL;
		port = colon ? colon + 1 : NULL;
	}
	if (!r->host[0])
		return -EINVAL;
	r->port = 6379;
	if (port && (parse_uint(port, (size_t)(end - port), 65535, &r->port) || r->port == 0))
		return -EINVAL;
	if (slash && slash[1] && parse_uint(slash + 1, strlen(slash + 1), 1000000, &r->db))
		return -EINVAL;
	return 0;
}

struct redis *redis_open(const char *url, int timeout_ms)
{
	struct redis *r;
	int ret;

	if (!url || strlen(url) > REDIS_URL_MAX) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof *r);
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
	if (strncmp(url, "unix://", 7) == 0)
		ret = parse_unix(r, url + 7);
	else if (strncmp(url, "redis://", 8) == 0)
		ret = parse_tcp(r, url + 8);
	else
		ret = -EINVAL;
	if (ret) {
		free(r);
		errno = -ret;
		return NULL;
	}
	return r;
}

/* ------------------------------------------------------------- replies */

static void reply_measure(const redisReply *x, size_t *nodes, size_t *bytes)
{
	(*nodes)++;
	switch (x->type) {
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
	case REDIS_REPLY_ERROR:
		*bytes += x->len + 1;
		break;
	case REDIS_REPLY_ARRAY:
		for (size_t i = 0; i < x->elements; i++)
			reply_measure(x->element[i], nodes, bytes);
		break;
	default:
		break;
	}
}

static void reply_fill(const redisReply *x, struct redis_reply *dst,
		       struct redis_reply *base, size_t *next, char **strp)
{
	memset(dst, 0, sizeof *dst);
	switch (x->type) {
	case REDIS_REPLY_INTEGER:
		dst->type = REDIS_T_INT;
		dst->integer = x->integer;
		break;
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
	case REDIS_REPLY_ERROR:
		dst->type = x->type == REDIS_REPLY_STRING ? REDIS_T_STR :
			    x->type == REDIS_REPLY_STATUS ? REDIS_T_STATUS : REDIS_T_ERR;
		dst->str = *strp;
		dst->len = x->len;
		if (x->len)
			memcpy(dst->str, x->str, x->len);
		dst->str[x->len] = '\0';
		*strp += x->len + 1;
		break;
	case REDIS_REPLY_ARRAY: {
		size_t first = *next;
		dst->type = REDIS_T_ARR;
		dst->n = x->elements;
		dst->elem = x->elements ? &base[first] : NULL;
		*next += x->elements;
		for (size_t i = 0; i < x->elements; i++)
			reply_fill(x->element[i], &base[first + i], base, next, strp);
		break;
	}
	default:
		dst->type = REDIS_T_NIL;
		break;
	}
}

/* One allocation: node array first (aligned by malloc), strings after it. */
static struct redis_reply *reply_copy(const redisReply *x)
{
	size_t nodes = 0, bytes = 0, next = 1;
	reply_measure(x, &nodes, &bytes);
	void *block = malloc(nodes * sizeof(struct redis_reply) + bytes);
	if (!block)
		return NULL;
	struct redis_reply *base = block;
	char *strp = (char *)(base + nodes);
	reply_fill(x, base, base, &next, &strp);
	return base;
}

void redis_reply_free(struct redis_reply *reply)
{
	free(reply);
}

int redis_reply_int(const struct redis_reply *reply, long long *v)
{
	if (!reply || reply->type != REDIS_T_INT)
		return -EPROTO;
	*v = reply->integer;
	return 0;
}

/* ---------------------------------------------------------- transport */

static void note_failure(struct redis *r, const char *what)
{
	snprintf(r->err, sizeof r->err, "%s", what);
	if (!r->failing) {
		if (r->is_unix)
			log_warn("redis unix:%s: %s", r->path, what);
		else
			log_warn("redis %s:%d: %s", r->host, r->port, what);
	}
	r->failing = true;
}

static void drop(struct redis *r)
{
	if (r->c) {
		note_failure(r, r->c->errstr[0] ? r->c->errstr : "connection lost");
		redisFree(r->c);
		r->c = NULL;
	}
}

static struct timeval ms_tv(long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	return tv;
}

/*
 * hiredis write()s to the socket, so a server that went away raises SIGPIPE,
 * which kills a process that did not ignore it.  A library must not change
 * the process's signal dispositions, so the signal is blocked for this thread
 * around the call and a SIGPIPE we caused is consumed before unblocking.
 */
static redisReply *command_nopipe(struct redis *r, int argc, const char *const *argv,
				  const size_t *lens)
{
	sigset_t pipe_set, old, pending;
	bool was_pending;
	redisReply *rep;

	if (!r->guard_pipe)
		return redisCommandArgv(r->c, argc, (const char **)argv, lens);
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	rep = redisCommandArgv(r->c, argc, (const char **)argv, lens);
	int e = errno;
	if (!was_pending && !rep) {
		const struct timespec zero = { 0, 0 };
		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE))
			sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return rep;
}

/* Runs on the open context; transport failures drop it and map errno. */
static int exec(struct redis *r, int argc, const char *const *argv,
		const size_t *lens, redisReply **rep)
{
	errno = 0;
	*rep = command_nopipe(r, argc, argv, lens);
	if (*rep)
		return 0;
	int e = errno, ret;
	switch (r->c->err) {
	case REDIS_ERR_IO:
		ret = (e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT ||
		       strstr(r->c->errstr, "temporarily unavailable")) ? -ETIMEDOUT : -EIO;
		break;
	case REDIS_ERR_OOM:
		ret = -ENOMEM;
		break;
	default:
		ret = -EIO;
		break;
	}
	drop(r);
	return ret;
}

/* AUTH / SELECT after connect; a refusal is a configuration problem. */
static int handshake(struct redis *r)
{
	char db[16];
	const char *argv[3];
	redisReply *rep;
	int n = 0, ret;

	for (int step = 0; step < 2; step++) {
		if (step == 0 && r->pass[0]) {
			argv[n++] = "AUTH";
			if (r->user[0])
				argv[n++] = r->user;
			argv[n++] = r->pass;
		} else if (step == 1 && r->db) {
			snprintf(db, sizeof db, "%d", r->db);
			argv[n++] = "SELECT";
			argv[n++] = db;
		} else {
			continue;
		}
		ret = exec(r, n, argv, NULL, &rep);
		n = 0;
		if (ret)
			return ret;
		if (rep->type == REDIS_REPLY_ERROR) {
			snprintf(r->err, sizeof r->err, "%s: %s", step ? "SELECT" : "AUTH", rep->str);
			log_error("redis: %s", r->err);
			freeReplyObject(rep);
			redisFree(r->c);
			r->c = NULL;
			r->failing = true;
			return -EACCES;
		}
		freeReplyObject(rep);
	}
	return 0;
}

static int ensure(struct redis *r)
{
	if (r->c)
		return 0;
	struct timeval tv = ms_tv(r->timeout_ms);
	errno = 0;
	redisContext *c = r->is_unix ? redisConnectUnixWithTimeout(r->path, tv)
				     : redisConnectWithTimeout(r->host, r->port, tv);
	int e = errno;
	if (!c)
		return -ENOMEM;
	if (c->err) {
		int ret = (e == ETIMEDOUT || e == EINPROGRESS) ? -ETIMEDOUT : -ECONNREFUSED;
		note_failure(r, c->errstr);
		redisFree(c);
		return ret;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		note_failure(r, "cannot set socket timeout");
		redisFree(c);
		return -EIO;
	}
	r->c = c;
	struct sigaction sa;
	r->guard_pipe = sigaction(SIGPIPE, NULL, &sa) != 0 || sa.sa_handler != SIG_IGN;
	int ret = handshake(r);
	if (ret)
		return ret;
	if (r->failing)
		log_info("redis: connected again");
	r->failing = false;
	r->err[0] = '\0';
	return 0;
}

static int run(struct redis *r, int block_ms, struct redis_reply **out, int argc,
	       const char *const *argv, const size_t *lens)
{
	redisReply *rep = NULL;
	int ret;

	if (out)
		*out = NULL;
	if (!r || argc <= 0 || !argv)
		return -EINVAL;
	if (argc > REDIS_MAX_ARGS)
		return -E2BIG;
	ret = ensure(r);
	if (ret)
		return ret;
	if (block_ms > 0 && redisSetTimeout(r->c, ms_tv((long)block_ms + r->timeout_ms)) != REDIS_OK) {
		drop(r);
		return -EIO;
	}
	ret = exec(r, argc, argv, lens, &rep);
	if (block_ms > 0 && r->c && redisSetTimeout(r->c, ms_tv(r->timeout_ms)) != REDIS_OK)
		drop(r);
	if (ret)
		return ret;
	ret = rep->type == REDIS_REPLY_ERROR ? -EPROTO : 0;
	if (out) {
		*out = reply_copy(rep);
		if (!*out)
			ret = -ENOMEM;
	}
	freeReplyObject(rep);
	return ret;
}

int redis_cmd(struct redis *r, struct redis_reply **out, int argc,
	      const char *const *argv, const size_t *lens)
{
	return run(r, 0, out, argc, argv, lens);
}

int redis_cmd_block(struct redis *r, int block_ms, struct redis_reply **out,
		    int argc, const char *const *argv, const size_t *lens)
{
	return run(r, block_ms > 0 ? block_ms : 0, out, argc, argv, lens);
}

int redis_cmdv(struct redis *r, struct redis_reply **out, const char *cmd, ...)
{
	const char *argv[REDIS_MAX_ARGS];
	int argc = 0;
	va_list ap;

	if (out)
		*out = NULL;
	va_start(ap, cmd);
	for (const char *a = cmd; a; a = va_arg(ap, const char *)) {
		if (argc == REDIS_MAX_ARGS) {
			va_end(ap);
			return -E2BIG;
		}
		argv[argc++] = a;
	}
	va_end(ap);
	return run(r, 0, out, argc, argv, NULL);
}

int redis_ping(struct redis *r)
{
	struct redis_reply *rep;
	int ret = redis_cmdv(r, &rep, "PING", REDIS_END);
	if (ret == 0 && !(rep->type == REDIS_T_STATUS && strcmp(rep->str, "PONG") == 0))
		ret = -EPROTO;
	redis_reply_free(rep);
	return ret;
}

/* ------------------------------------------------------------ scripts */

static const char *script_sha(struct redis *r, const struct redis_script *s)
{
	for (int i = 0; i < r->nscripts; i++)
		if (r->scripts[i].s == s)
			return r->scripts[i].sha;
	return NULL;
}

static int script_load(struct redis *r, const struct redis_script *s, const char **sha)
{
	struct redis_reply *rep;
	int ret;

	*sha = NULL;
	if (r->nscripts == SCRIPT_CACHE)
		return 0;
	ret = redis_cmdv(r, &rep, "SCRIPT", "LOAD", s->body, REDIS_END);
	if (ret == -EPROTO)
		log_error("redis: script %s does not load: %s", s->name, rep->str);
	if (ret)
		goto out;
	if (rep->type != REDIS_T_STR || rep->len != 40) {
		ret = -EPROTO;
		goto out;
	}
	struct script_sha *slot = &r->scripts[r->nscripts++];
	slot->s = s;
	memcpy(slot->sha, rep->str, 41);
	*sha = slot->sha;
out:
	redis_reply_free(rep);
	return ret;
}

int redis_eval(struct redis *r, const struct redis_script *s,
	       int nkeys, const char *const *keys,
	       int nargs, const char *const *args, struct redis_reply **out)
{
	const char *argv[REDIS_MAX_ARGS];
	char nk[16];
	const char *sha;
	struct redis_reply *rep = NULL;
	int argc = 0, ret;

	if (out)
		*out = NULL;
	if (!r || !s || nkeys < 0 || nargs < 0)
		return -EINVAL;
	if (nkeys + nargs + 3 > REDIS_MAX_ARGS)
		return -E2BIG;
	sha = script_sha(r, s);
	if (!sha) {
		ret = script_load(r, s, &sha);
		if (ret)
			return ret;
	}
	snprintf(nk, sizeof nk, "%d", nkeys);
	argv[argc++] = sha ? "EVALSHA" : "EVAL";
	argv[argc++] = sha ? sha : s->body;
	argv[argc++] = nk;
	for (int i = 0; i < nkeys; i++)
		argv[argc++] = keys[i];
	for (int i = 0; i < nargs; i++)
		argv[argc++] = args[i];
	ret = redis_cmd(r, &rep, argc, argv, NULL);
	if (ret == -EPROTO && sha && rep && rep->str && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		redis_reply_free(rep);
		argv[0] = "EVAL";
		argv[1] = s->body;
		ret = redis_cmd(r, &rep, argc, argv, NULL);
	}
	if (ret == -EPROTO)
		log_warn("redis: script %s: %s", s->name, rep && rep->str ? rep->str : "?");
	if (out)
		*out = rep;
	else
		redis_reply_free(rep);
	return ret;
}

const char *redis_last_error(const struct redis *r)
{
	return r->err;
}

int redis_connected(const struct redis *r)
{
	return r->c != NULL;
}

void redis_close(struct redis *r)
{
	if (!r)
		return;
	if (r->c)
		redisFree(r->c);
	explicit_bzero(r->pass, sizeof r->pass);
	free(r);
}

/* --------------------------------------------------------------- pool */

struct redis_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int size;
	int timeout_ms;
	struct redis **conns;
	bool *busy;
};

struct redis_pool *redis_pool_open(const char *url, int timeout_ms, int size)
{
	struct redis_pool *p;
	pthread_condattr_t ca;
	int e = ENOMEM;

	if (size <= 0 || size > 4096) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof *p);
	if (!p)
		goto fail;
	p->size = size;
	p->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element */
	p->conns = calloc((size_t)size, sizeof *p->conns);
	p->busy = calloc((size_t)size, sizeof *p->busy);
	if (!p->conns || !p->busy)
		goto fail;
	for (int i = 0; i < size; i++) {
		p->conns[i] = redis_open(url, timeout_ms);
		if (!p->conns[i]) {
			e = errno;
			goto fail;
		}
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	return p;
fail:
	if (p) {
		for (int i = 0; p->conns && i < size; i++)
			redis_close(p->conns[i]);
		free(p->conns);
		free(p->busy);
		free(p);
	}
	errno = e;
	return NULL;
}

struct redis *redis_pool_get(struct redis_pool *p)
{
	struct timespec dl;
	struct redis *r = NULL;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += p->timeout_ms / 1000;
	dl.tv_nsec += (long)(p->timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->mu);
	for (;;) {
		for (int i = 0; i < p->size; i++) {
			if (!p->busy[i]) {
				p->busy[i] = true;
				r = p->conns[i];
				goto out;
			}
		}
		if (pthread_cond_timedwait(&p->cv, &p->mu, &dl) == ETIMEDOUT)
			break;
	}
out:
	pthread_mutex_unlock(&p->mu);
	if (!r)
		errno = ETIMEDOUT;
	return r;
}

void redis_pool_put(struct redis_pool *p, struct redis *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->size; i++) {
		if (p->conns[i] == r) {
			p->busy[i] = false;
			break;
		}
	}
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void redis_pool_close(struct redis_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->size; i++)
		redis_close(p->conns[i]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->conns);
	free(p->busy);
	free(p);
}
