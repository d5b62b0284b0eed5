/* lock.c — see lock.h. */
#include "lock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* KEYS: lock, fence.  ARGV: token, ttl ms, acquired ns.  → fence or nil. */
static const struct redis_script acquire = {
	"lock_acquire",
	"if redis.call('EXISTS', KEYS[1]) == 1 then return false end\n"
	"local f = redis.call('INCR', KEYS[2])\n"
	"redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. f .. ' ' .. ARGV[3], 'PX', tonumber(ARGV[2]))\n"
	"return f\n",
};

/* KEYS: lock.  ARGV: "token " (the trailing space anchors the match), ttl.
 * → 1 renewed, 0 not ours. */
static const struct redis_script renew = {
	"lock_renew",
	"local v = redis.call('GET', KEYS[1])\n"
	"if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] then\n"
	"  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))\n"
	"  return 1\n"
	"end\n"
	"return 0\n",
};

/* KEYS: lock.  ARGV: "token ".  → 1 deleted, 0 not ours. */
static const struct redis_script release = {
	"lock_release",
	"local v = redis.call('GET', KEYS[1])\n"
	"if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"  return 1\n"
	"end\n"
	"return 0\n",
};

int lock_acquire(struct redis *r, const char *host_id, long ttl_ms, struct lock *l)
{
	char key[KEYS_MAX], fence[KEYS_MAX], ttl[24], now[24];
	struct redis_reply *rep = NULL;
	int ret;

	memset(l, 0, sizeof *l);
	if (ttl_ms <= 0)
		return -EINVAL;
	if ((ret = keys_lock(key, sizeof key, host_id)) ||
	    (ret = keys_fence(fence, sizeof fence, host_id)))
		return ret;
	if ((ret = util_random_hex(l->token, 16)))
		return ret;
	snprintf(l->host_id, sizeof l->host_id, "%s", host_id);
	l->acquired_realtime_ns = util_realtime_ns();
	snprintf(ttl, sizeof ttl, "%ld", ttl_ms);
	snprintf(now, sizeof now, "%llu", (unsigned long long)l->acquired_realtime_ns);
	const char *keys[] = { key, fence };
	const char *args[] = { l->token, ttl, now };
	ret = redis_eval(r, &acquire, 2, keys, 3, args, &rep);
	if (ret)
		goto out;
	if (rep->type == REDIS_T_NIL) {
		ret = -EBUSY;
	} else if (rep->type == REDIS_T_INT) {
		l->fence = rep->integer;
		l->held = true;
	} else {
		ret = -EPROTO;
	}
out:
	redis_reply_free(rep);
	return ret;
}

static int compare_and(struct redis *r, const struct redis_script *s,
		       struct lock *l, long ttl_ms)
{
	char key[KEYS_MAX], tok[40], ttl[24];
	struct redis_reply *rep = NULL;
	int ret;

	if ((ret = keys_lock(key, sizeof key, l->host_id)))
		return ret;
	if (strlen(l->token) != 32)
		return -EINVAL;
	snprintf(tok, sizeof tok, "%s ", l->token);
	snprintf(ttl, sizeof ttl, "%ld", ttl_ms);
	const char *keys[] = { key };
	const char *args[] = { tok, ttl };
	ret = redis_eval(r, s, 1, keys, 2, args, &rep);
	if (ret == 0) {
		if (rep->type != REDIS_T_INT)
			ret = -EPROTO;
		else if (rep->integer != 1)
			ret = -ENOLCK;
	}
	redis_reply_free(rep);
	return ret;
}

int lock_renew(struct redis *r, struct lock *l, long ttl_ms)
{
	if (ttl_ms <= 0)
		return -EINVAL;
	int ret = compare_and(r, &renew, l, ttl_ms);
	if (ret == -ENOLCK)
		l->held = false;
	return ret;
}

int lock_release(struct redis *r, struct lock *l)
{
	int ret = compare_and(r, &release, l, 0);
	if (ret == 0 || ret == -ENOLCK)
		l->held = false;
	return ret;
}

int lock_info(struct redis *r, const char *host_id, bool *held,
	      uint64_t *since_ns, long long *fence)
{
	char key[KEYS_MAX], fkey[KEYS_MAX];
	struct redis_reply *rep = NULL;
	bool h = false;
	unsigned long long since = 0;
	long long f = 0;
	int ret;

	if ((ret = keys_lock(key, sizeof key, host_id)) ||
	    (ret = keys_fence(fkey, sizeof fkey, host_id)))
		return ret;
	ret = redis_cmdv(r, &rep, "MGET", key, fkey, REDIS_END);
	if (ret)
		goto out;
	if (rep->type != REDIS_T_ARR || rep->n != 2) {
		ret = -EPROTO;
		goto out;
	}
	if (rep->elem[0].type == REDIS_T_STR) {
		/* "token fence since_ns", as lock_acquire writes it */
		const char *v = rep->elem[0].str;
		const char *sp1 = strchr(v, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
		size_t nlen = sp2 ? (size_t)(sp2 - sp1 - 1) : 0;
		char num[24] = "";
		long long sn = -1;
		h = true;
		if (sp2 && sp1 != v && nlen > 0 && nlen < sizeof num) {
			memcpy(num, sp1 + 1, nlen);
			num[nlen] = '\0';
		}
		if (!num[0] || util_parse_i64(num, &f) || util_parse_i64(sp2 + 1, &sn) || sn < 0) {
			ret = -EPROTO;
			goto out;
		}
		since = (unsigned long long)sn;
	} else if (rep->elem[1].type == REDIS_T_STR && util_parse_i64(rep->elem[1].str, &f)) {
		ret = -EPROTO;
		goto out;
	}
	if (held)
		*held = h;
	if (since_ns)
		*since_ns = since;
	if (fence)
		*fence = f;
out:
	redis_reply_free(rep);
	return ret;
}
