/* recent.c — see recent.h. */
#include "recent.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "util.h"

/* The fields read per task, in the order the script returns them after the id. */
enum { R_STATUS, R_CAND, R_PROB, R_CREATED, R_FINISHED, R_ERRTYPE, R_EPC, R_N };

/*
 * KEYS: recent.  ARGV: task key prefix, how many.
 * → a flat array: id, then the R_N fields (false = unset), for every task
 * that still exists.  One step: a task cannot vanish between the list and
 * its fields.
 */
static const struct redis_script list_script = {
	"recent_list",
	"local out = {}\n"
	"for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)) do\n"
	"  local f = redis.call('HMGET', ARGV[1] .. id, 'status', 'candidate_id', 'problem_name',\n"
	"                       'created_at', 'finished_at', 'error_type', 'energy_per_call_j')\n"
	"  if f[1] then\n"
	"    out[#out + 1] = id\n"
	"    for i = 1, 7 do out[#out + 1] = f[i] end\n"
	"  end\n"
	"end\n"
	"return out\n",
};

static char *dup_field(const struct redis_reply *e, int *err)
{
	if (e->type != REDIS_T_STR)
		return NULL;   /* nil: unset */
	char *s = strndup(e->str, e->len);
	if (!s)
		*err = -ENOMEM;
	return s;
}

static void task_free(struct recent_task *t)
{
	free(t->candidate_id);
	free(t->problem_name);
	free(t->created_at);
	free(t->finished_at);
	free(t->error_type);
}

/* One task from its id and R_N fields; 0 or -EPROTO/-ENOMEM. */
static int parse_one(const struct redis_reply *e, struct recent_task *t)
{
	int err = 0;
	memset(t, 0, sizeof *t);
	t->energy_per_call_j = NAN;
	if (e[0].type != REDIS_T_STR || !keys_task_id_valid(e[0].str) ||
	    e[1 + R_STATUS].type != REDIS_T_STR || e[1 + R_STATUS].len >= sizeof t->status)
		return -EPROTO;
	memcpy(t->id, e[0].str, 37);
	memcpy(t->status, e[1 + R_STATUS].str, e[1 + R_STATUS].len + 1);
	t->candidate_id = dup_field(&e[1 + R_CAND], &err);
	t->problem_name = dup_field(&e[1 + R_PROB], &err);
	t->created_at = dup_field(&e[1 + R_CREATED], &err);
	t->finished_at = dup_field(&e[1 + R_FINISHED], &err);
	t->error_type = dup_field(&e[1 + R_ERRTYPE], &err);
	double v;
	if (e[1 + R_EPC].type == REDIS_T_STR && util_parse_double(e[1 + R_EPC].str, &v) == 0)
		t->energy_per_call_j = v;
	if (err)
		task_free(t);
	return err;
}

int recent_list(struct redis *r, size_t max, struct recent_task **out, size_t *n)
{
	struct redis_reply *rep = NULL;
	struct recent_task *ts = NULL;
	char how[24];
	size_t k = 0;
	int ret;

	*out = NULL;
	*n = 0;
	if (max == 0)
		return -EINVAL;
	if (max > KEYS_RECENT_MAX)
		max = KEYS_RECENT_MAX;
	snprintf(how, sizeof how, "%zu", max);
	const char *keys[] = { KEYS_RECENT }, *args[] = { KEYS_TASK_PREFIX, how };
	if ((ret = redis_eval(r, &list_script, 1, keys, 2, args, &rep)))
		goto out;
	if (rep->type != REDIS_T_ARR || rep->n % (1 + R_N) != 0 || rep->n / (1 + R_N) > max) {
		ret = -EPROTO;
		goto out;
	}
	if (rep->n && !(ts = calloc(rep->n / (1 + R_N), sizeof *ts))) {
		ret = -ENOMEM;
		goto out;
	}
	for (; k < rep->n / (1 + R_N); k++)
		if ((ret = parse_one(&rep->elem[k * (1 + R_N)], &ts[k])))
			goto out;
out:
	redis_reply_free(rep);
	if (ret) {
		recent_free(ts, k);
		return ret;
	}
	*out = ts;
	*n = k;
	return 0;
}

void recent_free(struct recent_task *t, size_t n)
{
	for (size_t i = 0; t && i < n; i++)
		task_free(&t[i]);
	free(t);
}
