/* queue.c — see queue.h. */
#include "queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"

/* KEYS: list, attempts hash.  ARGV: job, LREM count.  → removed count. */
static const struct redis_script remove_job = {
	"queue_remove_job",
	"local n = redis.call('LREM', KEYS[1], tonumber(ARGV[2]), ARGV[1])\n"
	"if n > 0 then redis.call('HDEL', KEYS[2], redis.sha1hex(ARGV[1])) end\n"
	"return n\n",
};

/*
 * KEYS: workers set, queue, attempts hash, dead list.
 * ARGV: hb prefix, proc prefix of this kind, max attempts, only worker ('' =
 * every worker without a heartbeat), proc prefixes of all kinds...
 * LRANGE lists newest first; RPUSHing in that order leaves the oldest job at
 * the right end, which is the next one BLMOVE takes.  → {requeued, dead}.
 */
static const struct redis_script recover_jobs = {
	"queue_recover",
	"local requeued, dead = 0, 0\n"
	"local max = tonumber(ARGV[3])\n"
	"local ids\n"
	"if ARGV[4] ~= '' then ids = {ARGV[4]} else ids = redis.call('SMEMBERS', KEYS[1]) end\n"
	"for _, w in ipairs(ids) do\n"
	"  if ARGV[4] ~= '' or redis.call('EXISTS', ARGV[1] .. w) == 0 then\n"
	"    local pk = ARGV[2] .. w\n"
	"    for _, j in ipairs(redis.call('LRANGE', pk, 0, -1)) do\n"
	"      local f = redis.sha1hex(j)\n"
	"      if redis.call('HINCRBY', KEYS[3], f, 1) >= max then\n"
	"        redis.call('HDEL', KEYS[3], f)\n"
	"        redis.call('LPUSH', KEYS[4], j)\n"
	"        dead = dead + 1\n"
	"      else\n"
	"        redis.call('RPUSH', KEYS[2], j)\n"
	"        requeued = requeued + 1\n"
	"      end\n"
	"    end\n"
	"    redis.call('DEL', pk)\n"
	"    if ARGV[4] == '' then\n"
	"      local busy = false\n"
	"      for i = 5, #ARGV do\n"
	"        if redis.call('EXISTS', ARGV[i] .. w) == 1 then busy = true end\n"
	"      end\n"
	"      if not busy then redis.call('SREM', KEYS[1], w) end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return {requeued, dead}\n",
};

/* KEYS: delayed zset, queue.  ARGV: now ms.  → moved count.  RPUSH: the
 * right end is the next one BLMOVE takes, and these jobs came first. */
static const struct redis_script promote_due = {
	"queue_promote_due",
	"local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)\n"
	"for _, j in ipairs(due) do\n"
	"  redis.call('ZREM', KEYS[1], j)\n"
	"  redis.call('RPUSH', KEYS[2], j)\n"
	"end\n"
	"return #due\n",
};

/* KEYS: reply list.  ARGV: payload, ttl seconds. */
static const struct redis_script reply_push = {
	"queue_reply_push",
	"redis.call('RPUSH', KEYS[1], ARGV[3] .. '\\n' .. ARGV[1])\n"
	"redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))\n"
	"return 0\n",
};

/* Payloads reach Lua as NUL-terminated ARGV, so they must be NUL-free. */
static int check_payload(const char *payload, size_t len)
{
	if (!payload || len == 0 || memchr(payload, '\0', len))
		return -EINVAL;
	if (len > QUEUE_MAX_PAYLOAD)
		return -EMSGSIZE;
	return 0;
}

/* Copies a STR reply out as a malloc'd string; NIL → -ETIMEDOUT. */
static int take_string(const struct redis_reply *rep, char **payload, size_t *len)
{
	if (rep->type == REDIS_T_NIL)
		return -ETIMEDOUT;
	if (rep->type != REDIS_T_STR)
		return -EPROTO;
	char *p = malloc(rep->len + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, rep->str, rep->len + 1);
	*payload = p;
	if (len)
		*len = rep->len;
	return 0;
}

static void block_seconds(char *buf, size_t cap, int block_ms)
{
	snprintf(buf, cap, "%d.%03d", block_ms / 1000, block_ms % 1000);
}

int queue_push(struct redis *r, const char *kind, const char *payload, size_t len)
{
	char q[KEYS_MAX];
	int ret = check_payload(payload, len);

	if (ret || (ret = keys_queue(q, sizeof q, kind)))
		return ret;
	const char *argv[] = { "LPUSH", q, payload };
	const size_t lens[] = { 5, strlen(q), len };
	return redis_cmd(r, NULL, 3, argv, lens);
}

int queue_delay(struct redis *r, const char *kind, const char *payload, size_t len,
		long long due_ms)
{
	char z[KEYS_MAX], score[32];
	int ret = check_payload(payload, len);

	if (ret || (ret = keys_delayed(z, sizeof z, kind)))
		return ret;
	snprintf(score, sizeof score, "%lld", due_ms);
	const char *argv[] = { "ZADD", z, score, payload };
	const size_t lens[] = { 4, strlen(z), strlen(score), len };
	return redis_cmd(r, NULL, 4, argv, lens);
}

int queue_promote_due(struct redis *r, const char *kind, long long now_ms, int *moved)
{
	char z[KEYS_MAX], q[KEYS_MAX], now[32];
	struct redis_reply *rep = NULL;
	int ret;

	if (moved)
		*moved = 0;
	if ((ret = keys_delayed(z, sizeof z, kind)) || (ret = keys_queue(q, sizeof q, kind)))
		return ret;
	snprintf(now, sizeof now, "%lld", now_ms);
	const char *keys[] = { z, q };
	const char *args[] = { now };
	ret = redis_eval(r, &promote_due, 2, keys, 1, args, &rep);
	if (ret == 0 && moved && rep && rep->type == REDIS_T_INT)
		*moved = (int)rep->integer;
	redis_reply_free(rep);
	return ret;
}

int queue_reserve(struct redis *r, const char *kind, const char *worker_id,
		  int block_ms, char **payload, size_t *len)
{
	char q[KEYS_MAX], proc[KEYS_MAX], secs[32];
	struct redis_reply *rep = NULL;
	int ret;

	*payload = NULL;
	if ((ret = keys_queue(q, sizeof q, kind)) ||
	    (ret = keys_proc(proc, sizeof proc, kind, worker_id)))
		return ret;
	if (block_ms > 0) {
		block_seconds(secs, sizeof secs, block_ms);
		const char *argv[] = { "BLMOVE", q, proc, "RIGHT", "LEFT", secs };
		ret = redis_cmd_block(r, block_ms, &rep, 6, argv, NULL);
	} else {
		ret = redis_cmdv(r, &rep, "LMOVE", q, proc, "RIGHT", "LEFT", REDIS_END);
	}
	if (ret == 0)
		ret = take_string(rep, payload, len);
	redis_reply_free(rep);
	return ret;
}

static int remove_from(struct redis *r, const char *list, const char *kind,
		       const char *payload, const char *count)
{
	char att[KEYS_MAX];
	struct redis_reply *rep = NULL;
	int ret = keys_attempts(att, sizeof att, kind);

	if (ret)
		return ret;
	const char *keys[] = { list, att };
	const char *args[] = { payload, count };
	ret = redis_eval(r, &remove_job, 2, keys, 2, args, &rep);
	if (ret == 0)
		ret = rep->type == REDIS_T_INT ? (rep->integer > 0 ? 0 : -ENOENT) : -EPROTO;
	redis_reply_free(rep);
	return ret;
}

int queue_ack(struct redis *r, const char *kind, const char *worker_id,
	      const char *payload, size_t len)
{
	char proc[KEYS_MAX];
	int ret = check_payload(payload, len);

	if (ret || (ret = keys_proc(proc, sizeof proc, kind, worker_id)))
		return ret;
	return remove_from(r, proc, kind, payload, "1");
}

int queue_remove(struct redis *r, const char *kind, const char *payload)
{
	char q[KEYS_MAX];
	int ret = check_payload(payload, payload ? strlen(payload) : 0);

	if (ret || (ret = keys_queue(q, sizeof q, kind)))
		return ret;
	return remove_from(r, q, kind, payload, "0");
}

int queue_depth(struct redis *r, const char *kind, long long *n)
{
	char q[KEYS_MAX];
	struct redis_reply *rep = NULL;
	int ret = keys_queue(q, sizeof q, kind);

	if (ret)
		return ret;
	ret = redis_cmdv(r, &rep, "LLEN", q, REDIS_END);
	if (ret == 0) {
		if (rep->type == REDIS_T_INT)
			*n = rep->integer;
		else
			ret = -EPROTO;
	}
	redis_reply_free(rep);
	return ret;
}

static int run_recover(struct redis *r, const char *kind, long max_attempts,
		       const char *only_worker, int *requeued, int *dead)
{
	char q[KEYS_MAX], att[KEYS_MAX], deadk[KEYS_MAX], proc[KEYS_MAX], maxs[24];
	char allproc[KEYS_NKINDS][KEYS_MAX];
	const char *args[4 + KEYS_NKINDS];
	struct redis_reply *rep = NULL;
	int ret;

	if (max_attempts < 1)
		return -EINVAL;
	if ((ret = keys_queue(q, sizeof q, kind)) ||
	    (ret = keys_attempts(att, sizeof att, kind)) ||
	    (ret = keys_dead(deadk, sizeof deadk, kind)) ||
	    (ret = keys_proc_prefix(proc, sizeof proc, kind)))
		return ret;
	for (int i = 0; i < KEYS_NKINDS; i++)
		if ((ret = keys_proc_prefix(allproc[i], sizeof allproc[i], keys_kinds[i])))
			return ret;
	snprintf(maxs, sizeof maxs, "%ld", max_attempts);
	const char *keys[] = { KEYS_WORKERS, q, att, deadk };
	args[0] = KEYS_HB_PREFIX;
	args[1] = proc;
	args[2] = maxs;
	args[3] = only_worker ? only_worker : "";
	for (int i = 0; i < KEYS_NKINDS; i++)
		args[4 + i] = allproc[i];
	ret = redis_eval(r, &recover_jobs, 4, keys, 4 + KEYS_NKINDS, args, &rep);
	if (ret == 0) {
		if (rep->type == REDIS_T_ARR && rep->n == 2 &&
		    rep->elem[0].type == REDIS_T_INT && rep->elem[1].type == REDIS_T_INT) {
			if (requeued)
				*requeued = (int)rep->elem[0].integer;
			if (dead)
				*dead = (int)rep->elem[1].integer;
		} else {
			ret = -EPROTO;
		}
	}
	redis_reply_free(rep);
	return ret;
}

/* Bounded per call so one recoverer never stalls on a huge backlog. */
#define DEAD_BATCH "99"

static int hand_out_dead(struct redis *r, const char *kind, queue_dead_fn on_dead, void *ctx)
{
	char deadk[KEYS_MAX];
	struct redis_reply *rep = NULL;
	int ret = keys_dead(deadk, sizeof deadk, kind);

	if (ret)
		return ret;
	ret = redis_cmdv(r, &rep, "LRANGE", deadk, "-" DEAD_BATCH, "-1", REDIS_END);
	if (ret)
		goto out;
	if (rep->type != REDIS_T_ARR) {
		ret = -EPROTO;
		goto out;
	}
	for (size_t i = rep->n; i-- > 0;) {
		const struct redis_reply *job = &rep->elem[i];
		if (job->type != REDIS_T_STR)
			continue;
		log_warn("queue %s: job gave up after too many lost workers: %.80s",
			 kind, job->str);
		if (on_dead(ctx, job->str, job->len) < 0)
			continue;
		const char *argv[] = { "LREM", deadk, "1", job->str };
		const size_t lens[] = { 4, strlen(deadk), 1, job->len };
		ret = redis_cmd(r, NULL, 4, argv, lens);
		if (ret)
			goto out;
	}
out:
	redis_reply_free(rep);
	return ret;
}

int queue_recover(struct redis *r, const char *kind, long max_attempts,
		  queue_dead_fn on_dead, void *ctx, int *requeued)
{
	int n = 0, dead = 0;
	int ret = run_recover(r, kind, max_attempts, NULL, &n, &dead);

	if (requeued)
		*requeued = ret ? 0 : n;
	if (ret)
		return ret;
	if (n)
		log_warn("queue %s: requeued %d job(s) of dead workers", kind, n);
	if (on_dead)
		ret = hand_out_dead(r, kind, on_dead, ctx);
	return ret;
}

int queue_requeue_own(struct redis *r, const char *kind, const char *worker_id,
		      long max_attempts, int *requeued)
{
	int n = 0, ret;

	if (requeued)
		*requeued = 0;
	if (!keys_id_valid(worker_id))
		return -EINVAL;
	ret = run_recover(r, kind, max_attempts, worker_id, &n, NULL);
	if (ret == 0 && n)
		log_warn("queue %s: requeued %d job(s) left by a previous %s", kind, n, worker_id);
	if (requeued && ret == 0)
		*requeued = n;
	return ret;
}

int queue_reply_push(struct redis *r, const char *reply_to, const char *reply_id,
		     const char *payload, size_t len, long ttl_s)
{
	char key[KEYS_MAX], ttl[24];
	int ret = check_payload(payload, len);

	if (ret || (ret = keys_vreply(key, sizeof key, reply_to)))
		return ret;
	if (!keys_id_valid(reply_id))
		return -EINVAL;
	snprintf(ttl, sizeof ttl, "%ld", ttl_s > 0 ? ttl_s : 1);
	const char *keys[] = { key };
	const char *args[] = { payload, ttl, reply_id };
	return redis_eval(r, &reply_push, 1, keys, 3, args, NULL);
}

/* "reply_id\npayload" (in *text, malloc'd) → two malloc'd parts. */
static int split_reply(char *text, size_t len, char **reply_id, char **payload, size_t *plen)
{
	char *nl = memchr(text, '\n', len);
	if (!nl) {
		free(text);
		return -EPROTO;
	}
	*nl = '\0';
	*reply_id = strdup(text);
	size_t n = len - (size_t)(nl + 1 - text);
	memmove(text, nl + 1, n + 1);
	if (!*reply_id) {
		free(text);
		return -ENOMEM;
	}
	*payload = text;
	if (plen)
		*plen = n;
	return 0;
}

int queue_reply_take(struct redis *r, const char *reply_to, int block_ms,
		     char **reply_id, char **payload, size_t *len)
{
	char key[KEYS_MAX], secs[32];
	struct redis_reply *rep = NULL;
	char *text = NULL;
	size_t tlen = 0;
	int ret;

	*payload = NULL;
	*reply_id = NULL;
	if ((ret = keys_vreply(key, sizeof key, reply_to)))
		return ret;
	if (block_ms > 0) {
		block_seconds(secs, sizeof secs, block_ms);
		const char *argv[] = { "BLPOP", key, secs };
		ret = redis_cmd_block(r, block_ms, &rep, 3, argv, NULL);
		if (ret == 0) {
			if (rep->type == REDIS_T_NIL)
				ret = -ETIMEDOUT;
			else if (rep->type == REDIS_T_ARR && rep->n == 2)
				ret = take_string(&rep->elem[1], &text, &tlen);
			else
				ret = -EPROTO;
		}
	} else {
		ret = redis_cmdv(r, &rep, "LPOP", key, REDIS_END);
		if (ret == 0)
			ret = take_string(rep, &text, &tlen);
	}
	redis_reply_free(rep);
	if (ret == 0)
		ret = split_reply(text, tlen, reply_id, payload, len);
	return ret;
}
