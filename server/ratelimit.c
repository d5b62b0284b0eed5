/* ratelimit.c — see ratelimit.h. */
#include "ratelimit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bucket {
	char key[64];
	double tokens;
	uint64_t last_ns;
};

struct ratelimit {
	pthread_mutex_t mu;
	double rate, burst;
	struct bucket slots[RATELIMIT_SLOTS];
};

/* FNV-1a: cheap and good enough to spread client addresses. */
static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct ratelimit *ratelimit_new(double rate_per_s, double burst)
{
	if (!(rate_per_s > 0) || !(burst >= 1)) {
		errno = EINVAL;
		return NULL;
	}
	struct ratelimit *rl = calloc(1, sizeof *rl);
	if (!rl)
		return NULL;
	pthread_mutex_init(&rl->mu, NULL);
	rl->rate = rate_per_s;
	rl->burst = burst;
	return rl;
}

bool ratelimit_allow(struct ratelimit *rl, const char *key, uint64_t now_ns, double *retry_after_s)
{
	struct bucket *b = &rl->slots[hash(key) % RATELIMIT_SLOTS];
	bool ok;

	pthread_mutex_lock(&rl->mu);
	if (strncmp(b->key, key, sizeof b->key - 1) != 0 || b->last_ns == 0) {
		snprintf(b->key, sizeof b->key, "%s", key);
		b->tokens = rl->burst;
		b->last_ns = now_ns;
	}
	if (now_ns > b->last_ns) {
		b->tokens += (double)(now_ns - b->last_ns) / 1e9 * rl->rate;
		if (b->tokens > rl->burst)
			b->tokens = rl->burst;
		b->last_ns = now_ns;
	}
	ok = b->tokens >= 1.0;
	if (ok)
		b->tokens -= 1.0;
	else if (retry_after_s)
		*retry_after_s = (1.0 - b->tokens) / rl->rate;
	pthread_mutex_unlock(&rl->mu);
	return ok;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}
