/*
 * redis_pool.c — the connection pool of redis.h (part of the redis module;
 * no hiredis here: it only lends struct redis objects out).
 */
#include "redis.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

/* --------------------------------------------------------------- pool */

struct redis_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int size;
	int timeout_ms;
	struct redis **conns;
	bool *busy;
};

struct redis_pool *redis_pool_open(const char *url, int timeout_ms, int size,
				   const struct redis_ha *ha)
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
		p->conns[i] = redis_open_ha(url, timeout_ms, ha);
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
