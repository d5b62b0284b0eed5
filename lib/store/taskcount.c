/* taskcount.c — see taskcount.h. */
#include "taskcount.h"

#include <errno.h>

#include "keys.h"

/* KEYS: live:queued, live:running, then the three totals → five integers
 * (-1 for a total that is not an integer). */
static const struct redis_script counts_script = {
	"tasks_counts",
	"local out = {redis.call('SCARD', KEYS[1]), redis.call('SCARD', KEYS[2])}\n"
	"for i = 3, 5 do out[i] = tonumber(redis.call('GET', KEYS[i]) or '0') or -1 end\n"
	"return out\n",
};

/* KEYS: a set of task ids.  ARGV: task key prefix, status → {left, dropped}. */
static const struct redis_script prune_script = {
	"tasks_prune_set",
	"local dropped = 0\n"
	"for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
	"  if redis.call('HGET', ARGV[1] .. id, 'status') ~= ARGV[2] then\n"
	"    dropped = dropped + redis.call('SREM', KEYS[1], id)\n"
	"  end\n"
	"end\n"
	"return {redis.call('SCARD', KEYS[1]), dropped}\n",
};

int tasks_counts(struct redis *r, long long counts[TASK_NSTATUS])
{
	char k[TASK_NSTATUS][KEYS_MAX];
	const char *keys[TASK_NSTATUS];
	struct redis_reply *rep = NULL;
	int ret;

	for (int i = 0; i < TASK_NSTATUS; i++) {
		if ((ret = keys_count(k[i], sizeof k[i], tasks_status_name((enum task_status)i))))
			return ret;
		keys[i] = k[i];
	}
	if ((ret = redis_eval(r, &counts_script, TASK_NSTATUS, keys, 0, NULL, &rep)))
		goto out;
	if (rep->type != REDIS_T_ARR || rep->n != TASK_NSTATUS) {
		ret = -EPROTO;
		goto out;
	}
	for (int i = 0; i < TASK_NSTATUS; i++) {
		if (redis_reply_int(&rep->elem[i], &counts[i]) || counts[i] < 0) {
			ret = -EPROTO;
			goto out;
		}
	}
out:
	redis_reply_free(rep);
	return ret;
}

int tasks_prune_set(struct redis *r, const char *set_key, const char *status,
		    long long *left, long long *dropped)
{
	struct redis_reply *rep = NULL;
	enum task_status st;
	long long v[2] = { 0 };
	int ret;

	if (!set_key || tasks_status_parse(status, &st))
		return -EINVAL;
	const char *keys[] = { set_key }, *args[] = { KEYS_TASK_PREFIX, status };
	if ((ret = redis_eval(r, &prune_script, 1, keys, 2, args, &rep)) == 0) {
		if (rep->type != REDIS_T_ARR || rep->n != 2 || redis_reply_int(&rep->elem[0], &v[0]) ||
		    redis_reply_int(&rep->elem[1], &v[1]))
			ret = -EPROTO;
	}
	redis_reply_free(rep);
	if (left)
		*left = v[0];
	if (dropped)
		*dropped = v[1];
	return ret;
}

int tasks_repair(struct redis *r, long long *removed)
{
	long long dropped[2] = { 0 };
	char k[KEYS_MAX];
	int ret = 0;

	for (int i = 0; ret == 0 && i < 2; i++) {
		enum task_status st = i == 0 ? TASK_QUEUED : TASK_RUNNING;
		if ((ret = keys_count(k, sizeof k, tasks_status_name(st))) == 0)
			ret = tasks_prune_set(r, k, tasks_status_name(st), NULL, &dropped[i]);
	}
	if (removed)
		*removed = dropped[0] + dropped[1];
	return ret;
}
