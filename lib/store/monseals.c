/* monseals.c — see monseals.h. */
#include "monseals.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "log.h"

/*
 * KEYS[1] the set, KEYS[2] the head; ARGV: sequence, seal text, keep, sha256,
 * end.  Replacing the member of that score keeps a retried push from leaving
 * two members under one sequence.
 */
static const struct redis_script push_script = {
	.name = "monseals_push",
	.body = "local seq = tonumber(ARGV[1])\n"
		"redis.call('ZREMRANGEBYSCORE', KEYS[1], seq, seq)\n"
		"redis.call('ZADD', KEYS[1], seq, ARGV[2])\n"
		"redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))\n"
		"local head = tonumber(redis.call('HGET', KEYS[2], 'sequence') or '0')\n"
		"if seq > head then\n"
		"  redis.call('HSET', KEYS[2], 'sequence', ARGV[1], 'sha256', ARGV[4], 'end', ARGV[5])\n"
		"end\n"
		"return 1\n",
};

int monseals_push(struct redis *r, const char *host_id, long long sequence, const char *sha256,
		  const char *end, const char *text, size_t len)
{
	char kset[KEYS_MAX], khead[KEYS_MAX], seq[24], keep[24];
	int ret;
	if (!r || !text || !sha256 || !end || sequence < 1 || strlen(text) != len)
		return -EINVAL;
	if ((ret = keys_monitor_seals(kset, sizeof kset, host_id)) ||
	    (ret = keys_monitor_head(khead, sizeof khead, host_id)))
		return ret;
	snprintf(seq, sizeof seq, "%lld", sequence);
	snprintf(keep, sizeof keep, "%d", MONSEALS_KEEP);
	const char *keys[] = { kset, khead }, *args[] = { seq, text, keep, sha256, end };
	return redis_eval(r, &push_script, 2, keys, 5, args, NULL);
}

struct item {
	long long sequence;
	char sha256[65];
	char end[40];
	char *text;
	size_t len;
};

struct monseals {
	char host_id[KEYS_ID_MAX + 1];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct item *ring;
	size_t cap, head, n;          /* ring[head] is the oldest */
	bool stopped;
	struct monseals_stats st;
};

struct monseals *monseals_new(const char *host_id, size_t max_backlog)
{
	struct monseals *m;
	if (!host_id || !keys_id_valid(host_id) || max_backlog < 1) {
		errno = EINVAL;
		return NULL;
	}
	if (!(m = calloc(1, sizeof *m)) || !(m->ring = calloc(max_backlog, sizeof *m->ring))) {
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(m->host_id, sizeof m->host_id, "%s", host_id);
	m->cap = max_backlog;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	return m;
}

void monseals_free(struct monseals *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->ring[(m->head + i) % m->cap].text);
	free(m->ring);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

int monseals_enqueue(struct monseals *m, long long sequence, const char *sha256, const char *end,
		     const char *text, size_t len)
{
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_mutex_lock(&m->mu);
	if (m->n == m->cap) {
		/* Redis has been away for a while: the oldest seal goes (the file keeps it). */
		free(m->ring[m->head].text);
		m->head = (m->head + 1) % m->cap;
		m->n--;
		m->st.dropped++;
	}
	struct item *it = &m->ring[(m->head + m->n) % m->cap];
	it->sequence = sequence;
	snprintf(it->sha256, sizeof it->sha256, "%s", sha256);
	snprintf(it->end, sizeof it->end, "%s", end);
	it->text = copy;
	it->len = len;
	m->n++;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return 0;
}

/*
 * The oldest item with a copy of its text (1), none (0) or -ENOMEM.  A copy,
 * because enqueue may drop this very item for room while it is being pushed.
 */
static int peek(struct monseals *m, struct item *out)
{
	int have = 0;
	pthread_mutex_lock(&m->mu);
	if (m->n > 0) {
		*out = m->ring[m->head];
		out->text = malloc(out->len + 1);
		have = out->text ? 1 : -ENOMEM;
		if (out->text)
			memcpy(out->text, m->ring[m->head].text, out->len + 1);
	}
	pthread_mutex_unlock(&m->mu);
	return have;
}

/* Removes the oldest item if it is still seq (enqueue may have dropped it meanwhile). */
static void pop_if(struct monseals *m, long long seq, bool refused)
{
	pthread_mutex_lock(&m->mu);
	if (m->n > 0 && m->ring[m->head].sequence == seq) {
		free(m->ring[m->head].text);
		m->head = (m->head + 1) % m->cap;
		m->n--;
		if (refused)
			m->st.refused++;
		else
			m->st.pushed++;
	}
	pthread_mutex_unlock(&m->mu);
}

int monseals_flush(struct monseals *m, struct redis *r)
{
	struct item it;
	int have;
	while ((have = peek(m, &it)) == 1) {
		int ret = monseals_push(r, m->host_id, it.sequence, it.sha256, it.end, it.text, it.len);
		free(it.text);
		if (ret == -EPROTO || ret == -EINVAL) {
			log_error("monitor seal %lld refused by Redis; not kept there (the file has it)",
				  it.sequence);
			pop_if(m, it.sequence, true);
			continue;
		}
		if (ret)
			return ret;
		pop_if(m, it.sequence, false);
	}
	return have;
}

bool monseals_wait_work(struct monseals *m, int timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m->mu);
	while (!m->n && !m->stopped)
		if (pthread_cond_timedwait(&m->cv, &m->mu, &until) == ETIMEDOUT)
			break;
	bool have = m->n > 0 && !m->stopped;
	pthread_mutex_unlock(&m->mu);
	return have;
}

void monseals_stop(struct monseals *m)
{
	pthread_mutex_lock(&m->mu);
	m->stopped = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

void monseals_stats(struct monseals *m, struct monseals_stats *out)
{
	pthread_mutex_lock(&m->mu);
	*out = m->st;
	out->backlog = m->n;
	pthread_mutex_unlock(&m->mu);
}
