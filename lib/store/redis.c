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

#include "config.h"
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
	/* Sentinel mode (nsentinels > 0): host/port above are the master last
	 * resolved, asked again on every connect */
	int nsentinels;
	int next_sentinel;           /* the one that answered last is asked first */
	struct sentinel_addr { char host[256]; int port; } sentinels[REDIS_MAX_SENTINELS];
	char master_name[128];
	int min_replicas;
	int wait_timeout_ms;
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

/* "host[:port]" or "[v6]:port" of n bytes; the port defaults to def. */
static int parse_hostport(const char *h, size_t n, int def, char *host, size_t cap, int *port)
{
	const char *end = h + n, *p = NULL;

	if (n && *h == '[') {
		const char *rb = memchr(h, ']', n);
		if (!rb || copy_part(host, cap, h + 1, (size_t)(rb - h - 1)))
			return -EINVAL;
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return -EINVAL;
			p = rb + 2;
		}
	} else {
		const char *colon = memchr(h, ':', n);
		if (copy_part(host, cap, h, colon ? (size_t)(colon - h) : n))
			return -EINVAL;
		p = colon ? colon + 1 : NULL;
	}
	if (!host[0])
		return -EINVAL;
	*port = def;
	if (p && (parse_uint(p, (size_t)(end - p), 65535, port) || *port == 0))
		return -EINVAL;
	return 0;
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
	if (parse_hostport(h, (size_t)(end - h), 6379, r->host, sizeof r->host, &r->port))
		return -EINVAL;
	if (slash && slash[1] && parse_uint(slash + 1, strlen(slash + 1), 1000000, &r->db))
		return -EINVAL;
	return 0;
}

/* "host:port,host:port,..." (blanks around items allowed, empty items
 * skipped; port 26379 by default). */
static int parse_sentinels(struct redis *r, const char *list)
{
	struct util_items it = { .rest = list, .sep = ',' };

	while (util_items_next(&it)) {
		if (!it.len)
			continue;
		if (r->nsentinels == REDIS_MAX_SENTINELS)
			return -EINVAL;
		struct sentinel_addr *a = &r->sentinels[r->nsentinels++];
		if (parse_hostport(it.item, it.len, 26379, a->host, sizeof a->host, &a->port))
			return -EINVAL;
	}
	return r->nsentinels ? 0 : -EINVAL;
}

static int apply_ha(struct redis *r, const struct redis_ha *ha)
{
	if (!ha)
		return 0;
	if (ha->min_replicas < 0 || ha->wait_timeout_ms < 0)
		return -EINVAL;
	r->min_replicas = ha->min_replicas;
	r->wait_timeout_ms = ha->wait_timeout_ms;
	if (!ha->sentinels || !ha->sentinels[0])
		return 0;
	if (r->is_unix || !ha->master_name || !ha->master_name[0] ||
	    copy_part(r->master_name, sizeof r->master_name, ha->master_name,
		      strlen(ha->master_name)))
		return -EINVAL;
	return parse_sentinels(r, ha->sentinels);
}

struct redis *redis_open_ha(const char *url, int timeout_ms, const struct redis_ha *ha)
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
	if (!ret)
		ret = apply_ha(r, ha);
	if (ret) {
		explicit_bzero(r->pass, sizeof r->pass);
		free(r);
		errno = -ret;
		return NULL;
	}
	return r;
}

struct redis *redis_open(const char *url, int timeout_ms)
{
	return redis_open_ha(url, timeout_ms, NULL);
}

void redis_ha_from_config(struct redis_ha *ha, const struct jt_config *cfg)
{
	ha->sentinels = cfg->redis_sentinels;
	ha->master_name = cfg->redis_master_name;
	ha->min_replicas = (int)cfg->redis_min_replicas;
	ha->wait_timeout_ms = (int)cfg->redis_wait_timeout_ms;
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
static redisReply *command_nopipe(const struct redis *r, redisContext *c, int argc,
				  const char *const *argv, const size_t *lens)
{
	sigset_t pipe_set, old, pending;
	bool was_pending;
	redisReply *rep;

	if (!r->guard_pipe)
		return redisCommandArgv(c, argc, (const char **)argv, lens);
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	rep = redisCommandArgv(c, argc, (const char **)argv, lens);
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
	*rep = command_nopipe(r, r->c, argc, argv, lens);
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

/* A fresh context to host:port (or the unix socket), its socket timeout set. */
static int dial(struct redis *r, const char *host, int port, long ms, redisContext **out)
{
	struct timeval tv = ms_tv(ms);
	errno = 0;
	redisContext *c = r->is_unix ? redisConnectUnixWithTimeout(r->path, tv)
				     : redisConnectWithTimeout(host, port, tv);
	int e = errno;
	*out = NULL;
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
	*out = c;
	return 0;
}

/* Connects to r->host:r->port (or the socket) and authenticates. */
static int connect_plain(struct redis *r)
{
	int ret = dial(r, r->host, r->port, r->timeout_ms, &r->c);
	if (ret)
		return ret;
	struct sigaction sa;
	r->guard_pipe = sigaction(SIGPIPE, NULL, &sa) != 0 || sa.sa_handler != SIG_IGN;
	return handshake(r);
}

/* One sentinel's answer for our master: 0 with host/port, or -errno. */
static int ask_sentinel(struct redis *r, const struct sentinel_addr *s, char *host,
			size_t cap, int *port)
{
	const char *argv[] = { "SENTINEL", "get-master-addr-by-name", r->master_name };
	redisContext *c;
	int ret = dial(r, s->host, s->port, r->timeout_ms < 500 ? r->timeout_ms : 500, &c);
	if (ret)
		return ret;
	redisReply *rep = command_nopipe(r, c, 3, argv, NULL);
	ret = -EPROTO;
	if (!rep)
		ret = -EIO;
	else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
		 rep->element[0]->type == REDIS_REPLY_STRING &&
		 rep->element[1]->type == REDIS_REPLY_STRING &&
		 copy_part(host, cap, rep->element[0]->str, rep->element[0]->len) == 0 &&
		 parse_uint(rep->element[1]->str, rep->element[1]->len, 65535, port) == 0)
		ret = 0;
	if (rep)
		freeReplyObject(rep);
	redisFree(c);
	return ret;
}

/* 0 when the open connection is to a master (ROLE), else drops it. */
static int check_master(struct redis *r)
{
	const char *argv[] = { "ROLE" };
	redisReply *rep;
	int ret = exec(r, 1, argv, NULL, &rep);
	if (ret)
		return ret;
	bool master = rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
		      rep->element[0]->type == REDIS_REPLY_STRING &&
		      strcmp(rep->element[0]->str, "master") == 0;
	freeReplyObject(rep);
	if (master)
		return 0;
	redisFree(r->c);
	r->c = NULL;
	return -ECONNREFUSED;
}

/*
 * Sentinel mode: each sentinel in turn names the master; the first named
 * address that takes the connection and says ROLE master wins.
 */
static int connect_sentinel(struct redis *r)
{
	char host[256], why[200];
	int port, ret = -ECONNREFUSED;

	snprintf(why, sizeof why, "no sentinel names a reachable master '%.64s'", r->master_name);
	for (int k = 0; k < r->nsentinels; k++) {
		int i = (r->next_sentinel + k) % r->nsentinels;
		const struct sentinel_addr *s = &r->sentinels[i];
		if (ask_sentinel(r, s, host, sizeof host, &port))
			continue;
		bool moved = strcmp(host, r->host) != 0 || port != r->port;
		snprintf(r->host, sizeof r->host, "%s", host);
		r->port = port;
		ret = connect_plain(r);
		if (ret == -EACCES)
			return ret;
		if (ret == 0)
			ret = check_master(r);
		if (ret) {
			snprintf(why, sizeof why, "sentinel %.40s:%d names %.40s:%d, which is not a "
				 "reachable master", s->host, s->port, host, port);
			continue;
		}
		r->next_sentinel = i;
		if (moved)
			log_info("redis: master '%s' is %s:%d (sentinel %s:%d)", r->master_name,
				 host, port, s->host, s->port);
		return 0;
	}
	note_failure(r, why);
	return ret == -ETIMEDOUT ? ret : -ECONNREFUSED;
}

static int ensure(struct redis *r)
{
	if (r->c)
		return 0;
	int ret = r->nsentinels ? connect_sentinel(r) : connect_plain(r);
	if (ret)
		return ret;
	if (r->failing)
		log_info("redis: connected again");
	r->failing = false;
	r->err[0] = '\0';
	return 0;
}

/* The server changed role under this connection: the command did not run,
 * and the next one must find the master again. */
static bool demoted(const redisReply *rep)
{
	return rep->type == REDIS_REPLY_ERROR &&
	       (strncmp(rep->str, "READONLY", 8) == 0 || strncmp(rep->str, "UNBLOCKED", 9) == 0);
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
	if (demoted(rep) && r->c) {
		note_failure(r, rep->str);
		redisFree(r->c);
		r->c = NULL;
	}
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

int redis_wait_replicas(struct redis *r, int *acked)
{
	char n[16], ms[16];
	struct redis_reply *rep;
	long long v = -1;

	if (acked)
		*acked = -1;
	if (!r)
		return -EINVAL;
	if (r->min_replicas <= 0)
		return 0;
	snprintf(n, sizeof n, "%d", r->min_replicas);
	snprintf(ms, sizeof ms, "%d", r->wait_timeout_ms);
	const char *argv[] = { "WAIT", n, ms };
	int ret = run(r, r->wait_timeout_ms, &rep, 3, argv, NULL);
	if (ret == 0)
		ret = redis_reply_int(rep, &v);
	redis_reply_free(rep);
	if (ret)
		return ret;
	if (acked)
		*acked = (int)v;
	return v >= r->min_replicas ? 0 : -EAGAIN;
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
