/* workers.c — see workers.h. */
#include "workers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

/* KEYS: workers set, hb key.  ARGV: id, info, ttl ms. */
static const struct redis_script heartbeat = {
	"workers_heartbeat",
	"redis.call('SADD', KEYS[1], ARGV[1])\n"
	"redis.call('SET', KEYS[2], ARGV[2], 'PX', tonumber(ARGV[3]))\n"
	"return 0\n",
};

/* KEYS: workers set, hb key, the worker's processing lists.  ARGV: id.
 * → 1 unregistered, 0 left registered for recovery. */
static const struct redis_script remove_worker = {
	"workers_remove",
	"redis.call('DEL', KEYS[2])\n"
	"for i = 3, #KEYS do\n"
	"  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end\n"
	"end\n"
	"redis.call('SREM', KEYS[1], ARGV[1])\n"
	"return 1\n",
};

/* KEYS: workers set.  ARGV: hb prefix.  → flat {id, info, id, info, ...}. */
static const struct redis_script live = {
	"workers_live",
	"local out = {}\n"
	"for _, w in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
	"  local v = redis.call('GET', ARGV[1] .. w)\n"
	"  if v then out[#out + 1] = w; out[#out + 1] = v end\n"
	"end\n"
	"return out\n",
};

int workers_heartbeat(struct redis *r, const char *worker_id,
		      const char *info_json, long ttl_ms)
{
	char hb[KEYS_MAX], ttl[24];
	int ret = keys_hb(hb, sizeof hb, worker_id);

	if (ret)
		return ret;
	if (!info_json || !*info_json)
		info_json = "{}";
	if (ttl_ms <= 0 || strlen(info_json) > WORKERS_MAX_INFO)
		return -EINVAL;
	snprintf(ttl, sizeof ttl, "%ld", ttl_ms);
	const char *keys[] = { KEYS_WORKERS, hb };
	const char *args[] = { worker_id, info_json, ttl };
	return redis_eval(r, &heartbeat, 2, keys, 3, args, NULL);
}

int workers_remove(struct redis *r, const char *worker_id)
{
	char hb[KEYS_MAX], proc[KEYS_NKINDS][KEYS_MAX];
	const char *keys[2 + KEYS_NKINDS];
	int ret = keys_hb(hb, sizeof hb, worker_id);

	if (ret)
		return ret;
	keys[0] = KEYS_WORKERS;
	keys[1] = hb;
	for (int i = 0; i < KEYS_NKINDS; i++) {
		if ((ret = keys_proc(proc[i], sizeof proc[i], keys_kinds[i], worker_id)))
			return ret;
		keys[2 + i] = proc[i];
	}
	const char *args[] = { worker_id };
	return redis_eval(r, &remove_worker, 2 + KEYS_NKINDS, keys, 1, args, NULL);
}

void workers_list_free(struct worker_entry *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++) {
		free(list[i].id);
		free(list[i].info_json);
	}
	free(list);
}

int workers_live(struct redis *r, long long *count,
		 struct worker_entry **list, size_t *n)
{
	struct redis_reply *rep = NULL;
	struct worker_entry *l = NULL;
	size_t m = 0;
	int ret;

	if (list)
		*list = NULL;
	if (n)
		*n = 0;
	const char *keys[] = { KEYS_WORKERS };
	const char *args[] = { KEYS_HB_PREFIX };
	ret = redis_eval(r, &live, 1, keys, 1, args, &rep);
	if (ret)
		goto out;
	if (rep->type != REDIS_T_ARR || rep->n % 2) {
		ret = -EPROTO;
		goto out;
	}
	m = rep->n / 2;
	*count = (long long)m;
	if (!list)
		goto out;
	l = calloc(m ? m : 1, sizeof *l);
	if (!l) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < m; i++) {
		l[i].id = strdup(rep->elem[2 * i].str ? rep->elem[2 * i].str : "");
		l[i].info_json = strdup(rep->elem[2 * i + 1].str ? rep->elem[2 * i + 1].str : "");
		if (!l[i].id || !l[i].info_json) {
			ret = -ENOMEM;
			goto out;
		}
	}
	*list = l;
	l = NULL;
	if (n)
		*n = m;
out:
	workers_list_free(l, m);
	redis_reply_free(rep);
	return ret;
}
