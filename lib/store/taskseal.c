/* taskseal.c — see taskseal.h. */
#include "taskseal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "sealchain.h"

#define FIELD_SEAL "seal"
#define FIELD_RESULT "sealed_result"

int taskseal_sign(struct redis *r, const struct seal_key *k, const char *task_id,
		  json_t *payload, const json_t *result, json_t **seal)
{
	char task[KEYS_MAX];
	char *text = NULL;
	int ret;

	if (!seal || !json_is_object(result))
		return -EINVAL;
	*seal = NULL;
	if ((ret = keys_task(task, sizeof task, task_id)))
		return ret;
	if (!(text = json_dumps(result, JSON_COMPACT)))
		return -ENOMEM;
	struct sealchain_also also = { .key = task, .seal_field = FIELD_SEAL,
				       .field = FIELD_RESULT, .value = text };
	ret = sealchain_sign_append_also(r, k, payload, &also, seal);
	free(text);
	return ret;
}

int taskseal_result(struct redis *r, const char *task_id, json_t **result)
{
	char task[KEYS_MAX];
	struct redis_reply *rep = NULL;
	json_t *res = NULL, *seal = NULL;
	int ret;

	if (!result)
		return -EINVAL;
	*result = NULL;
	if ((ret = keys_task(task, sizeof task, task_id)))
		return ret;
	if ((ret = redis_cmdv(r, &rep, "HMGET", task, FIELD_SEAL, FIELD_RESULT, REDIS_END)))
		return ret;
	if (rep->type != REDIS_T_ARR || rep->n != 2) {
		ret = -EPROTO;
		goto out;
	}
	if (rep->elem[0].type != REDIS_T_STR || rep->elem[1].type != REDIS_T_STR) {
		ret = -ENOENT;
		goto out;
	}
	/* JSON_REJECT_DUPLICATES: what the worker wrote, nothing else */
	seal = json_loads(rep->elem[0].str, JSON_REJECT_DUPLICATES, NULL);
	res = json_loads(rep->elem[1].str, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(seal) || !json_is_object(res) || json_object_get(res, "seal")) {
		ret = -EPROTO;
		goto out;
	}
	if (json_object_set_new(res, "seal", seal)) {
		seal = NULL;
		ret = -ENOMEM;
		goto out;
	}
	seal = NULL;
	*result = res;
	res = NULL;
out:
	json_decref(seal);
	json_decref(res);
	redis_reply_free(rep);
	return ret;
}
