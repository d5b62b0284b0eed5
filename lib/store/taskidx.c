/* taskidx.c — see taskidx.h. */
#include "taskidx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "taskcount.h"
#include "tasks.h"
#include "util.h"

static void key_of(const char *prefix, const char *name, char *key, size_t cap)
{
	char hex[UTIL_SHA256_HEX_LEN];
	util_sha256_hex(name, strlen(name), hex);
	snprintf(key, cap, "%s%s", prefix, hex);
}

static int add(struct redis *r, const char *prefix, const char *name, const char *task_id,
	       long ttl_s)
{
	char key[KEYS_MAX], ttl[24];
	int err;
	if (!r || !name || !keys_task_id_valid(task_id) || ttl_s <= 0)
		return -EINVAL;
	key_of(prefix, name, key, sizeof key);
	snprintf(ttl, sizeof ttl, "%ld", ttl_s);
	if ((err = redis_cmdv(r, NULL, "SADD", key, task_id, REDIS_END)))
		return err;
	return redis_cmdv(r, NULL, "EXPIRE", key, ttl, REDIS_END);
}

int taskidx_candidate_add(struct redis *r, const char *candidate_id, const char *task_id,
			  long ttl_s)
{
	return add(r, KEYS_CAND_PREFIX, candidate_id, task_id, ttl_s);
}

int taskidx_client_add(struct redis *r, const char *client, const char *task_id, long ttl_s)
{
	return add(r, KEYS_CLIENTQ_PREFIX, client, task_id, ttl_s);
}

int taskidx_client_queued(struct redis *r, const char *client, long limit, long long *n)
{
	char key[KEYS_MAX];
	struct redis_reply *rep = NULL;
	int err;
	*n = 0;
	if (!r || !client)
		return -EINVAL;
	key_of(KEYS_CLIENTQ_PREFIX, client, key, sizeof key);
	if ((err = redis_cmdv(r, &rep, "SCARD", key, REDIS_END)) == 0)
		err = redis_reply_int(rep, n);
	redis_reply_free(rep);
	if (err || *n < limit)
		return err;
	return tasks_prune_set(r, key, "queued", n, NULL);
}

int taskidx_candidate_tasks(struct redis *r, const char *candidate_id, char ***ids, size_t *n)
{
	struct redis_reply *rep = NULL;
	char key[KEYS_MAX];
	int err;
	*ids = NULL;
	*n = 0;
	if (!r || !candidate_id)
		return -EINVAL;
	key_of(KEYS_CAND_PREFIX, candidate_id, key, sizeof key);
	if ((err = redis_cmdv(r, &rep, "SMEMBERS", key, REDIS_END)))
		return err;
	if (rep->type != REDIS_T_ARR) {
		redis_reply_free(rep);
		return -EPROTO;
	}
	size_t want = rep->n < TASKIDX_MAX_TASKS ? rep->n : TASKIDX_MAX_TASKS;
	char **out = want ? calloc(want, sizeof *out) : NULL;
	if (want && !out) {
		redis_reply_free(rep);
		return -ENOMEM;
	}
	for (size_t i = 0; i < want; i++) {
		if (rep->elem[i].type != REDIS_T_STR || !(out[*n] = strdup(rep->elem[i].str)))
			continue;
		(*n)++;
	}
	redis_reply_free(rep);
	*ids = out;
	return 0;
}

void taskidx_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}
