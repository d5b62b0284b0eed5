/* validwait.c — see validwait.h. */
#include "validwait.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apierr.h"
#include "log.h"
#include "queue.h"
#include "redis.h"
#include "util.h"

#define POLL_MS       250  /* one BLPOP; also how late a deadline may be noticed */
#define RETRY_MS      200  /* after a Redis error */
#define REPLY_ID_MAX  40

struct pending {
	struct http_deferred *d;
	char reply_id[REPLY_ID_MAX];
	char request_id[HTTP_REQUEST_ID_MAX + 1];
	char *job;              /* as queued, to withdraw it */
	long timeout_s;
	uint64_t deadline_ns, started_ns;
};

struct validwait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started, stopping;
	struct pending *p;      /* [0, n) waiting, capacity max */
	unsigned n, max;
	struct redis *r;        /* the thread's own */
	char key[40];
	validwait_done_fn done;
	void *done_ctx;
};

static void answer(struct validwait *v, struct pending *p, int status, char *body,
		   const char *retry_after)
{
	struct http_response resp = { .status = status, .body = body };
	if (retry_after)
		snprintf(resp.retry_after, sizeof resp.retry_after, "%s", retry_after);
	http_deferred_finish(p->d, &resp);
	if (v->done)
		v->done(v->done_ctx, status, p->started_ns);
	free(p->job);
}

/* 503 for a request nobody answered; its job leaves the queue first. */
static void give_up(struct validwait *v, struct pending *p, const char *why)
{
	if (v->r && queue_remove(v->r, "validate", p->job) < 0)
		log_warn("validate %s: could not withdraw the job (Redis?)", p->request_id);
	answer(v, p, 503, apierr_json(APIERR_NOT_READY, why, p->request_id, NULL), "5");
}

/* Takes the pending with reply_id (or the first expired one when reply_id is
 * NULL) out of the list into *out: true when there was one. */
static bool take(struct validwait *v, const char *reply_id, uint64_t now, struct pending *out)
{
	bool found = false;
	pthread_mutex_lock(&v->mu);
	for (unsigned i = 0; i < v->n; i++) {
		struct pending *p = &v->p[i];
		if (reply_id ? strcmp(p->reply_id, reply_id) == 0 : p->deadline_ns <= now) {
			*out = *p;
			v->p[i] = v->p[--v->n];
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&v->mu);
	return found;
}

/* Waits up to ms unless stopping; true when stopping. */
static bool nap(struct validwait *v, long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&v->mu);
	if (!v->stopping)
		pthread_cond_timedwait(&v->cv, &v->mu, &ts);
	bool stop = v->stopping;
	pthread_mutex_unlock(&v->mu);
	return stop;
}

static void deliver_one(struct validwait *v, uint64_t now)
{
	char *id = NULL, *body = NULL;
	size_t len = 0;
	struct pending p;
	int err = queue_reply_take(v->r, v->key, POLL_MS, &id, &body, &len);

	if (err == 0 && take(v, id, now, &p))
		answer(v, &p, 200, body, NULL);
	else if (err == 0) /* a request already answered 503, or of a past run */
		free(body);
	else if (err != -ETIMEDOUT && err != -EPROTO)
		(void)nap(v, RETRY_MS); /* Redis down: deadlines still run below */
	free(id);
}

static void *run(void *arg)
{
	struct validwait *v = arg;
	for (;;) {
		pthread_mutex_lock(&v->mu);
		while (!v->stopping && v->n == 0)
			pthread_cond_wait(&v->cv, &v->mu);
		bool stop = v->stopping;
		pthread_mutex_unlock(&v->mu);
		if (stop)
			break;
		uint64_t now = util_mono_ns();
		deliver_one(v, now);
		struct pending p;
		now = util_mono_ns();
		while (take(v, NULL, now, &p)) {
			char why[128];
			snprintf(why, sizeof why,
				 "no worker answered within %ld s (is jouletrace-worker running?)",
				 p.timeout_s);
			give_up(v, &p, why);
		}
	}
	return NULL;
}

struct validwait *validwait_start(const struct validwait_options *o)
{
	struct validwait *v = NULL;
	int err = -EINVAL;

	if (!o || !o->redis_url)
		goto fail;
	err = -ENOMEM;
	if (!(v = calloc(1, sizeof *v)))
		goto fail;
	v->max = o->max_waiting ? o->max_waiting : 1;
	v->done = o->done;
	v->done_ctx = o->done_ctx;
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->cv, NULL);
	if (!(v->p = calloc(v->max, sizeof *v->p)))
		goto fail;
	if (util_random_hex(v->key, 16) != 0) {
		err = -EIO;
		goto fail;
	}
	if (!(v->r = redis_open_ha(o->redis_url, o->redis_timeout_ms, o->ha))) {
		err = -errno;
		goto fail;
	}
	if ((err = -pthread_create(&v->thread, NULL, run, v)))
		goto fail;
	v->started = true;
	return v;
fail:
	validwait_free(v);
	errno = -err;
	return NULL;
}

const char *validwait_key(const struct validwait *v)
{
	return v->key;
}

int validwait_add(struct validwait *v, const struct http_request *req,
		  struct http_response *resp, const char *reply_id, const char *job,
		  long timeout_s, uint64_t started_ns)
{
	int err = 0;
	char *copy = NULL;

	if (strlen(reply_id) >= REPLY_ID_MAX)
		return -EINVAL;
	pthread_mutex_lock(&v->mu);
	if (v->stopping || !v->started)
		err = -ESHUTDOWN;
	else if (v->n >= v->max)
		err = -EBUSY;
	else if (!(copy = strdup(job)))
		err = -ENOMEM;
	else {
		struct http_deferred *d = http_defer(req, resp);
		if (!d) {
			err = -errno;
			free(copy);
		} else {
			struct pending *p = &v->p[v->n++];
			memset(p, 0, sizeof *p);
			p->d = d;
			p->job = copy;
			p->timeout_s = timeout_s;
			p->started_ns = started_ns;
			p->deadline_ns = util_mono_ns() + (uint64_t)timeout_s * 1000000000ull;
			snprintf(p->reply_id, sizeof p->reply_id, "%s", reply_id);
			snprintf(p->request_id, sizeof p->request_id, "%s", req->request_id);
			pthread_cond_signal(&v->cv);
		}
	}
	pthread_mutex_unlock(&v->mu);
	return err;
}

unsigned validwait_waiting(struct validwait *v)
{
	pthread_mutex_lock(&v->mu);
	unsigned n = v->n;
	pthread_mutex_unlock(&v->mu);
	return n;
}

void validwait_stop(struct validwait *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&v->mu);
	bool was = v->started && !v->stopping;
	v->stopping = true;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	if (!was)
		return;
	pthread_join(v->thread, NULL);
	/* nobody adds any more: answer what still waits */
	struct pending p;
	while (take(v, NULL, UINT64_MAX, &p))
		give_up(v, &p, "the server is stopping; retry");
}

void validwait_free(struct validwait *v)
{
	if (!v)
		return;
	validwait_stop(v);
	redis_close(v->r);
	free(v->p);
	pthread_cond_destroy(&v->cv);
	pthread_mutex_destroy(&v->mu);
	free(v);
}
