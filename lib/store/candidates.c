/* candidates.c — see candidates.h. */
#include "candidates.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "util.h"

static void key_of(const char *candidate_id, char *key, size_t cap)
{
	char hex[UTIL_SHA256_HEX_LEN];
	util_sha256_hex(candidate_id, strlen(candidate_id), hex);
	snprintf(key, cap, KEYS_CAND_PREFIX "%s", hex);
}

int candidates_add(struct redis *r, const char *candidate_id, const char *task_id, long ttl_s)
{
	char key[KEYS_MAX], ttl[24];
	int err;
	if (!r || !candidate_id || !keys_task_id_valid(task_id) || ttl_s <= 0)
		return -EINVAL;
	key_of(candidate_id, key, sizeof key);
	snprintf(ttl, sizeof ttl, "%ld", ttl_s);
	if ((err = redis_cmdv(r, NULL, "SADD", key, task_id, REDIS_END)))
		return err;
	return redis_cmdv(r, NULL, "EXPIRE", key, ttl, REDIS_END);
}

int candidates_tasks(struct redis *r, const char *candidate_id, char ***ids, size_t *n)
{
	struct redis_reply *rep = NULL;
	char key[KEYS_MAX];
	int err;
	*ids = NULL;
	*n = 0;
	if (!r || !candidate_id)
		return -EINVAL;
	key_of(candidate_id, key, sizeof key);
	if ((err = redis_cmdv(r, &rep, "SMEMBERS", key, REDIS_END)))
		return err;
	if (rep->type != REDIS_T_ARR) {
		redis_reply_free(rep);
		return -EPROTO;
	}
	size_t want = rep->n < CANDIDATES_MAX_TASKS ? rep->n : CANDIDATES_MAX_TASKS;
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

void candidates_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}
