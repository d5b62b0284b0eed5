/* tasks.c — see tasks.h. */
#include "tasks.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "util.h"

static const char *const status_names[TASK_NSTATUS] = {
	"queued", "running", "completed", "failed", "cancelled",
};

/* Script results: 0 ok, then these, mapped by script_rc(). */
#define RC_NOENT 1
#define RC_CANCELED 2
#define RC_ALREADY 3
#define RC_EXISTS 4
#define RC_EXPIRED 5

/*
 * KEYS: task, queue, live:queued, recent [, idem].
 * ARGV: id, created_at, idem ttl, task key prefix, recent cap, field/value pairs...
 * → {0, id} created, {1, old id} idempotent hit, {4, ''} id collision.
 * The id also goes to the front of the capped list of the newest tasks (the
 * dashboard's index, recent.h) in the same step, so it never misses one.
 */
static const struct redis_script create_script = {
	"tasks_create",
	"if #KEYS == 5 then\n"
	"  local old = redis.call('GET', KEYS[5])\n"
	"  if old and redis.call('EXISTS', ARGV[4] .. old) == 1 then return {1, old} end\n"
	"end\n"
	"if redis.call('EXISTS', KEYS[1]) == 1 then return {4, ''} end\n"
	"redis.call('HSET', KEYS[1], 'status', 'queued', 'stage', 'queued', 'progress', '0',\n"
	"           'created_at', ARGV[2], 'attempts', '0', unpack(ARGV, 6))\n"
	"redis.call('LPUSH', KEYS[2], ARGV[1])\n"
	"redis.call('SADD', KEYS[3], ARGV[1])\n"
	"redis.call('LPUSH', KEYS[4], ARGV[1])\n"
	"redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[5]) - 1)\n"
	"if #KEYS == 5 then redis.call('SET', KEYS[5], ARGV[1], 'EX', tonumber(ARGV[3])) end\n"
	"return {0, ARGV[1]}\n",
};

/* KEYS: task, live:queued, live:running.  ARGV: worker, started_at, hb prefix, id. */
static const struct redis_script start_script = {
	"tasks_start",
	"local st = redis.call('HGET', KEYS[1], 'status')\n"
	"if not st then return 1 end\n"
	"if st == 'cancelled' then return 2 end\n"
	"if st == 'running' then\n"
	"  local w = redis.call('HGET', KEYS[1], 'worker')\n"
	"  if w and w ~= ARGV[1] and redis.call('EXISTS', ARGV[3] .. w) == 1 then return 3 end\n"
	"elseif st == 'queued' then\n"
	"  redis.call('SREM', KEYS[2], ARGV[4])\n"
	"else\n"
	"  return 3\n"
	"end\n"
	"redis.call('SADD', KEYS[3], ARGV[4])\n"
	"redis.call('HSET', KEYS[1], 'status', 'running', 'stage', 'validating', 'progress', '0',\n"
	"           'started_at', ARGV[2], 'worker', ARGV[1], 'trial', '0', 'trials_max', '0')\n"
	"redis.call('HINCRBY', KEYS[1], 'attempts', 1)\n"
	"return 0\n",
};

/*
 * KEYS: task, live:running, live:queued, delayed zset.
 * ARGV: id, now ms, backoff ms, give-up window ms.
 * The first time records busy_since; after the window, nothing is changed and
 * the caller fails the task.  Otherwise running → queued, stage "host_busy",
 * busy_requeues + 1, the job delayed by backoff × 2^(n−1)
 * (n = requeues so far, at most 8 × backoff).  → 0 | rc
 */
static const struct redis_script requeue_busy_script = {
	"tasks_requeue_busy",
	"local st = redis.call('HGET', KEYS[1], 'status')\n"
	"if not st then return 1 end\n"
	"if st == 'cancelled' then return 2 end\n"
	"if st ~= 'running' then return 3 end\n"
	"local since = tonumber(redis.call('HGET', KEYS[1], 'busy_since_ms') or ARGV[2])\n"
	"if tonumber(ARGV[2]) - since > tonumber(ARGV[4]) then return 5 end\n"
	"redis.call('HSET', KEYS[1], 'busy_since_ms', since, 'status', 'queued', 'stage', 'host_busy',\n"
	"           'progress', '0')\n"
	"local n = redis.call('HINCRBY', KEYS[1], 'busy_requeues', 1)\n"
	"redis.call('SREM', KEYS[2], ARGV[1])\n"
	"redis.call('SADD', KEYS[3], ARGV[1])\n"
	"local due = tonumber(ARGV[2]) + tonumber(ARGV[3]) * 2 ^ math.min(n - 1, 3)\n"
	"redis.call('ZADD', KEYS[4], due, ARGV[1])\n"
	"return 0\n",
};

/* KEYS: task.  ARGV: stage, progress, trial, trials_max. */
static const struct redis_script progress_script = {
	"tasks_progress",
	"local st = redis.call('HGET', KEYS[1], 'status')\n"
	"if not st then return 1 end\n"
	"if st == 'cancelled' then return 2 end\n"
	"if st ~= 'running' then return 3 end\n"
	"redis.call('HSET', KEYS[1], 'stage', ARGV[1], 'progress', ARGV[2], 'trial', ARGV[3],\n"
	"           'trials_max', ARGV[4])\n"
	"return 0\n",
};

/*
 * KEYS: task, live:running, count:{final status}.
 * ARGV: status, finished_at, ttl, body, progress, error_type, error_message, id,
 *       energy per call ('' = none).
 */
static const struct redis_script finish_script = {
	"tasks_finish",
	"local st = redis.call('HGET', KEYS[1], 'status')\n"
	"if not st then return 1 end\n"
	"if st == 'cancelled' then return 2 end\n"
	"if st ~= 'running' then return 3 end\n"
	"redis.call('HSET', KEYS[1], 'status', ARGV[1], 'stage', ARGV[1], 'progress', ARGV[5],\n"
	"           'finished_at', ARGV[2], 'body', ARGV[4])\n"
	"if ARGV[6] ~= '' then\n"
	"  redis.call('HSET', KEYS[1], 'error_type', ARGV[6], 'error_message', ARGV[7])\n"
	"end\n"
	"if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'energy_per_call_j', ARGV[9]) end\n"
	"redis.call('HDEL', KEYS[1], 'seal', 'sealed_result')\n"
	"redis.call('SREM', KEYS[2], ARGV[8])\n"
	"redis.call('INCR', KEYS[3])\n"
	"redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))\n"
	"return 0\n",
};

/*
 * KEYS: task, measure queue, live:queued, live:running, count:cancelled,
 *       measure attempts.  ARGV: id, finished_at, ttl.
 * The id is also LREMed when running: a redelivered job may sit in the queue.
 */
static const struct redis_script cancel_script = {
	"tasks_cancel",
	"local st = redis.call('HGET', KEYS[1], 'status')\n"
	"if not st then return 1 end\n"
	"if st ~= 'queued' and st ~= 'running' then return 3 end\n"
	"if redis.call('LREM', KEYS[2], 0, ARGV[1]) > 0 then\n"
	"  redis.call('HDEL', KEYS[6], redis.sha1hex(ARGV[1]))\n"
	"end\n"
	"redis.call('HSET', KEYS[1], 'status', 'cancelled', 'stage', 'cancelled',\n"
	"           'finished_at', ARGV[2])\n"
	"if st == 'running' then\n"
	"  redis.call('HSET', KEYS[1], 'cancel_requested', '1')\n"
	"end\n"
	"redis.call('SREM', KEYS[3], ARGV[1])\n"
	"redis.call('SREM', KEYS[4], ARGV[1])\n"
	"redis.call('INCR', KEYS[5])\n"
	"redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))\n"
	"return 0\n",
};

/* KEYS: task, live:queued, live:running, count:failed, measure queue.
 * ARGV: finished_at, message, ttl, id. */
static const struct redis_script fail_lost_script = {
	"tasks_fail_lost",
	"local st = redis.call('HGET', KEYS[1], 'status')\n"
	"if not st then return 1 end\n"
	"if st ~= 'queued' and st ~= 'running' then return 3 end\n"
	"redis.call('LREM', KEYS[5], 0, ARGV[4])\n"
	"redis.call('HSET', KEYS[1], 'status', 'failed', 'stage', 'failed',\n"
	"           'error_type', 'worker_lost', 'error_message', ARGV[2], 'finished_at', ARGV[1])\n"
	"redis.call('SREM', KEYS[2], ARGV[4])\n"
	"redis.call('SREM', KEYS[3], ARGV[4])\n"
	"redis.call('INCR', KEYS[4])\n"
	"redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))\n"
	"return 0\n",
};

const char *tasks_status_name(enum task_status s)
{
	return (unsigned)s < TASK_NSTATUS ? status_names[s] : NULL;
}

int tasks_status_parse(const char *s, enum task_status *out)
{
	for (int i = 0; s && i < TASK_NSTATUS; i++) {
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum task_status)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int script_rc(int ret, const struct redis_reply *rep)
{
	if (ret)
		return ret;
	if (rep->type != REDIS_T_INT)
		return -EPROTO;
	switch (rep->integer) {
	case 0: return 0;
	case RC_NOENT: return -ENOENT;
	case RC_CANCELED: return -ECANCELED;
	case RC_ALREADY: return -EALREADY;
	case RC_EXPIRED: return -ETIME;
	default: return -EPROTO;
	}
}

static int eval_rc(struct redis *r, const struct redis_script *s, int nkeys,
		   const char *const *keys, int nargs, const char *const *args)
{
	struct redis_reply *rep = NULL;
	int ret = redis_eval(r, s, nkeys, keys, nargs, args, &rep);
	ret = script_rc(ret, rep);
	redis_reply_free(rep);
	return ret;
}

static int count_key(char *buf, size_t cap, enum task_status s)
{
	return keys_count(buf, cap, status_names[s]);
}

static void now_rfc3339(char out[UTIL_RFC3339_LEN])
{
	util_rfc3339(util_realtime_ns(), out);
}

/* ------------------------------------------------------------ create */

/* The Redis key of an idempotency key: its digest, so any bytes fit. */
static int idem_key(char *buf, size_t size, const char *idempotency_key)
{
	char sha[UTIL_SHA256_HEX_LEN];
	size_t kl = strlen(idempotency_key);

	if (kl == 0 || kl > TASKS_MAX_IDEM_KEY)
		return -EINVAL;
	util_sha256_hex(idempotency_key, kl, sha);
	return keys_idem(buf, size, sha);
}

/* KEYS: idem.  ARGV: task key prefix.  → the task's id, or nil. */
static const struct redis_script idem_script = {
	"tasks_idem_lookup",
	"local old = redis.call('GET', KEYS[1])\n"
	"if old and redis.call('EXISTS', ARGV[1] .. old) == 1 then return old end\n"
	"return false\n",
};

int tasks_idem_lookup(struct redis *r, const char *idempotency_key, char id_out[37])
{
	char idem[KEYS_MAX];
	struct redis_reply *rep = NULL;
	const char *keys[] = { idem }, *args[] = { KEYS_TASK_PREFIX };
	int ret;

	if (!idempotency_key)
		return -EINVAL;
	if ((ret = idem_key(idem, sizeof idem, idempotency_key)) ||
	    (ret = redis_eval(r, &idem_script, 1, keys, 1, args, &rep)))
		return ret;
	if (rep->type == REDIS_T_NIL)
		ret = -ENOENT;
	else if (rep->type != REDIS_T_STR || !keys_task_id_valid(rep->str))
		ret = -EPROTO;
	else
		memcpy(id_out, rep->str, 37);
	redis_reply_free(rep);
	return ret;
}


int tasks_create(struct redis *r, const struct task_new *t,
		 const char *idempotency_key, long idem_ttl_s,
		 char id_out[37], bool *existing)
{
	char task[KEYS_MAX], q[KEYS_MAX], cq[KEYS_MAX], idem[KEYS_MAX];
	char created[UTIL_RFC3339_LEN], ttl[24], id[37];
	char cap[24];
	const char *args[12];
	struct redis_reply *rep = NULL;
	int nargs = 0, nkeys = 4, ret;

	if (existing)
		*existing = false;
	if (!t || !t->request_json || !*t->request_json)
		return -EINVAL;
	if (idempotency_key) {
		if ((ret = idem_key(idem, sizeof idem, idempotency_key)))
			return ret;
		nkeys = 5;
	}
	if ((ret = keys_queue(q, sizeof q, KEYS_KIND_MEASURE)) ||
	    (ret = count_key(cq, sizeof cq, TASK_QUEUED)))
		return ret;
	snprintf(ttl, sizeof ttl, "%ld", idem_ttl_s > 0 ? idem_ttl_s : 1);
	snprintf(cap, sizeof cap, "%d", KEYS_RECENT_MAX);

	/* A UUID v4 collision is astronomically unlikely; one retry is plenty. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((ret = util_uuid4(id)) || (ret = keys_task(task, sizeof task, id)))
			return ret;
		now_rfc3339(created);
		nargs = 0;
		args[nargs++] = id;
		args[nargs++] = created;
		args[nargs++] = ttl;
		args[nargs++] = KEYS_TASK_PREFIX;
		args[nargs++] = cap;
		args[nargs++] = "request";
		args[nargs++] = t->request_json;
		if (t->candidate_id) {
			args[nargs++] = "candidate_id";
			args[nargs++] = t->candidate_id;
		}
		if (t->problem_name) {
			args[nargs++] = "problem_name";
			args[nargs++] = t->problem_name;
		}
		const char *keys[] = { task, q, cq, KEYS_RECENT, idem };
		redis_reply_free(rep);
		rep = NULL;
		ret = redis_eval(r, &create_script, nkeys, keys, nargs, args, &rep);
		if (ret)
			goto out;
		if (rep->type != REDIS_T_ARR || rep->n != 2 || rep->elem[0].type != REDIS_T_INT ||
		    rep->elem[1].type != REDIS_T_STR) {
			ret = -EPROTO;
			goto out;
		}
		if (rep->elem[0].integer == RC_EXISTS)
			continue;
		if (!keys_task_id_valid(rep->elem[1].str)) {
			ret = -EPROTO;
			goto out;
		}
		memcpy(id_out, rep->elem[1].str, 37);
		if (existing)
			*existing = rep->elem[0].integer == 1;
		goto out;
	}
	ret = -EEXIST;
out:
	redis_reply_free(rep);
	return ret;
}

/* -------------------------------------------------------------- read */

/* Fields HMGET fetches for a GET; FIELD_BODY short-circuits the rest. */
enum { F_STATUS, F_STAGE, F_PROGRESS, F_CREATED, F_STARTED, F_FINISHED,
       F_CANDIDATE, F_PROBLEM, F_ERRTYPE, F_ERRMSG, F_BODY, F_TRIAL, F_TRIALS_MAX, F_N };
static const char *const get_fields[F_N] = {
	"status", "stage", "progress", "created_at", "started_at", "finished_at",
	"candidate_id", "problem_name", "error_type", "error_message", "body",
	"trial", "trials_max",
};

/* Keys of the base object; a result must not redefine them. */
static const char *const base_keys[] = {
	"task_id", "status", "stage", "progress", "created_at", "started_at",
	"finished_at", "candidate_id", "problem_name", "error_type", "error_message",
	"failure_timestamp", "elapsed_seconds", "request_id", "trial", "trials_max",
};

/* A JSON string even for text that is not UTF-8 (bytes ≥ 0x80 become '?'). */
static json_t *jstr(const char *s)
{
	if (!s)
		return json_null();
	json_t *j = json_string(s);
	if (j)
		return j;
	char *c = strdup(s);
	if (!c)
		return NULL;
	for (char *p = c; *p; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	j = json_string(c);
	free(c);
	return j;
}

static int set_new(json_t *o, const char *k, json_t *v)
{
	return v ? json_object_set_new(o, k, v) : -1;
}

/* Builds the base object from field values (NULL = unset) and dumps it. */
static char *base_json(const char *id, const char *const v[F_N], double progress)
{
	json_t *o = json_object();
	char *out = NULL;

	if (!o)
		return NULL;
	if (set_new(o, "task_id", json_string(id)) ||
	    set_new(o, "status", jstr(v[F_STATUS])) ||
	    set_new(o, "stage", jstr(v[F_STAGE] ? v[F_STAGE] : v[F_STATUS])) ||
	    set_new(o, "progress", json_real(progress)) ||
	    set_new(o, "created_at", jstr(v[F_CREATED])) ||
	    set_new(o, "started_at", jstr(v[F_STARTED])) ||
	    set_new(o, "finished_at", jstr(v[F_FINISHED])) ||
	    set_new(o, "candidate_id", jstr(v[F_CANDIDATE])) ||
	    set_new(o, "problem_name", jstr(v[F_PROBLEM])))
		goto out;
	if (v[F_ERRTYPE] && (set_new(o, "error_type", jstr(v[F_ERRTYPE])) ||
			     set_new(o, "error_message", jstr(v[F_ERRMSG] ? v[F_ERRMSG] : ""))))
		goto out;
	/* JouleTrace's names: when a failure happened, how long a task has run */
	if (v[F_STATUS] && strcmp(v[F_STATUS], "failed") == 0 &&
	    set_new(o, "failure_timestamp", jstr(v[F_FINISHED])))
		goto out;
	uint64_t started;
	if (v[F_STATUS] && strcmp(v[F_STATUS], "running") == 0 && v[F_STARTED] &&
	    util_rfc3339_parse(v[F_STARTED], &started) == 0) {
		uint64_t now = util_realtime_ns();
		if (set_new(o, "elapsed_seconds",
			    json_real(now > started ? (double)(now - started) / 1e9 : 0)))
			goto out;
	}
	/* while measuring: the trial running of at most trials_max (the client's
	 * "trial k/n"); absent before and after */
	long long trial = 0, tmax = 0;
	if (v[F_STATUS] && strcmp(v[F_STATUS], "running") == 0 && v[F_TRIAL] && v[F_TRIALS_MAX] &&
	    util_parse_i64(v[F_TRIAL], &trial) == 0 && util_parse_i64(v[F_TRIALS_MAX], &tmax) == 0 &&
	    trial > 0 && tmax >= trial &&
	    (set_new(o, "trial", json_integer(trial)) || set_new(o, "trials_max", json_integer(tmax))))
		goto out;
	/* 6 significant digits: progress is for humans, and %.17g prints 0.3 badly. */
	out = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
out:
	json_decref(o);
	return out;
}

static int hmget(struct redis *r, const char *task, int n, const char *const *fields,
		 struct redis_reply **rep)
{
	const char *argv[2 + F_N];
	argv[0] = "HMGET";
	argv[1] = task;
	for (int i = 0; i < n; i++)
		argv[2 + i] = fields[i];
	int ret = redis_cmd(r, rep, 2 + n, argv, NULL);
	if (ret == 0 && ((*rep)->type != REDIS_T_ARR || (*rep)->n != (size_t)n))
		ret = -EPROTO;
	return ret;
}

static int dup_out(const char *s, size_t n, char **json, size_t *len)
{
	char *p = malloc(n + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, s, n);
	p[n] = '\0';
	*json = p;
	if (len)
		*len = n;
	return 0;
}

int tasks_get_json(struct redis *r, const char *id, char **json, size_t *len)
{
	char task[KEYS_MAX];
	const char *v[F_N];
	struct redis_reply *rep = NULL;
	double progress = 0;
	int ret;

	*json = NULL;
	if (keys_task(task, sizeof task, id))
		return -ENOENT;
	ret = hmget(r, task, F_N, get_fields, &rep);
	if (ret)
		goto out;
	for (int i = 0; i < F_N; i++)
		v[i] = rep->elem[i].type == REDIS_T_STR ? rep->elem[i].str : NULL;
	if (v[F_BODY]) {
		ret = dup_out(v[F_BODY], rep->elem[F_BODY].len, json, len);
		goto out;
	}
	if (!v[F_STATUS]) {
		ret = -ENOENT;
		goto out;
	}
	if (v[F_PROGRESS] && util_parse_double(v[F_PROGRESS], &progress))
		progress = 0;
	char *s = base_json(id, v, progress);
	if (!s) {
		ret = -ENOMEM;
		goto out;
	}
	*json = s;
	if (len)
		*len = strlen(s);
out:
	redis_reply_free(rep);
	return ret;
}

static int hget_one(struct redis *r, const char *id, const char *field,
		    struct redis_reply **rep)
{
	char task[KEYS_MAX];

	*rep = NULL;
	if (keys_task(task, sizeof task, id))
		return -ENOENT;
	int ret = redis_cmdv(r, rep, "HGET", task, field, REDIS_END);
	if (ret == 0 && (*rep)->type == REDIS_T_NIL)
		ret = -ENOENT;
	else if (ret == 0 && (*rep)->type != REDIS_T_STR)
		ret = -EPROTO;
	return ret;
}

int tasks_request(struct redis *r, const char *id, char **json, size_t *len)
{
	struct redis_reply *rep;
	int ret = hget_one(r, id, "request", &rep);

	*json = NULL;
	if (ret == 0)
		ret = dup_out(rep->str, rep->len, json, len);
	redis_reply_free(rep);
	return ret;
}

int tasks_status(struct redis *r, const char *id, char out[16])
{
	struct redis_reply *rep;
	int ret = hget_one(r, id, "status", &rep);

	out[0] = '\0';
	if (ret == 0) {
		if (rep->len >= 16)
			ret = -EPROTO;
		else
			memcpy(out, rep->str, rep->len + 1);
	}
	redis_reply_free(rep);
	return ret;
}

/* ------------------------------------------------------- transitions */

int tasks_start(struct redis *r, const char *id, const char *worker_id)
{
	char task[KEYS_MAX], cq[KEYS_MAX], cr[KEYS_MAX], now[UTIL_RFC3339_LEN];

	if (keys_task(task, sizeof task, id))
		return -ENOENT;
	if (!keys_id_valid(worker_id))
		return -EINVAL;
	if (count_key(cq, sizeof cq, TASK_QUEUED) || count_key(cr, sizeof cr, TASK_RUNNING))
		return -EINVAL;
	now_rfc3339(now);
	const char *keys[] = { task, cq, cr };
	const char *args[] = { worker_id, now, KEYS_HB_PREFIX, id };
	return eval_rc(r, &start_script, 3, keys, 4, args);
}

int tasks_progress(struct redis *r, const char *id, const char *stage, double progress,
		   int trial, int trials_max)
{
	char task[KEYS_MAX], p[32], k[16], n[16];

	if (keys_task(task, sizeof task, id))
		return -ENOENT;
	if (!stage || !*stage || strlen(stage) > TASKS_MAX_STAGE)
		return -EINVAL;
	if (!(progress >= 0))   /* NaN too */
		progress = 0;
	if (progress > 1)
		progress = 1;
	if (trial < 0 || trials_max < 0 || trial > trials_max || trials_max > 1000)
		return -EINVAL;
	snprintf(p, sizeof p, "%.4f", progress);
	snprintf(k, sizeof k, "%d", trial);
	snprintf(n, sizeof n, "%d", trials_max);
	const char *keys[] = { task };
	const char *args[] = { stage, p, k, n };
	return eval_rc(r, &progress_script, 1, keys, 4, args);
}

/* Checks result_json and returns the span between its outer braces, and its
 * energy_metrics.energy_per_call_joules in epc ("" when it has none). */
static int result_inner(const char *result, const char **inner, size_t *n, char epc[32])
{
	json_error_t err;
	json_t *o = json_loads(result, JSON_REJECT_DUPLICATES, &err);
	int ret = 0;

	if (!json_is_object(o)) {
		log_error("tasks: result is not a JSON object: %s", o ? "wrong type" : err.text);
		ret = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < sizeof base_keys / sizeof base_keys[0]; i++) {
		if (json_object_get(o, base_keys[i])) {
			log_error("tasks: result redefines \"%s\"", base_keys[i]);
			ret = -EINVAL;
			goto out;
		}
	}
	json_t *v = json_object_get(json_object_get(o, "energy_metrics"), "energy_per_call_joules");
	if (json_is_number(v))
		snprintf(epc, 32, "%.17g", json_number_value(v));
	const char *b = result, *e = result + strlen(result);
	while (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r')
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		e--;
	b++;          /* '{' — jansson accepted an object */
	e--;          /* '}' */
	*inner = b;
	*n = (size_t)(e - b);
	while (*n && (**inner == ' ' || **inner == '\t' || **inner == '\n' || **inner == '\r')) {
		(*inner)++;
		(*n)--;
	}
out:
	json_decref(o);
	return ret;
}

/* base "{...}" + result members → one object text (malloc'd). */
static char *splice(const char *base, const char *inner, size_t n)
{
	size_t bl = strlen(base);
	char *out = malloc(bl + n + 2);
	if (!out)
		return NULL;
	memcpy(out, base, bl - 1);            /* drop the closing brace */
	size_t o = bl - 1;
	if (n) {
		out[o++] = ',';
		memcpy(out + o, inner, n);
		o += n;
	}
	out[o++] = '}';
	out[o] = '\0';
	return out;
}

int tasks_finish(struct redis *r, const char *id, const char *status,
		 const char *result_json, const char *error_type,
		 const char *error_message, long ttl_s)
{
	static const char *const immut[] = {
		"status", "progress", "created_at", "started_at", "candidate_id", "problem_name",
	};
	char task[KEYS_MAX], cr[KEYS_MAX], cf[KEYS_MAX], now[UTIL_RFC3339_LEN];
	char ttl[24], prog[32], epc[32] = "";
	const char *v[F_N] = { 0 };
	const char *inner = "";
	size_t inner_n = 0;
	struct redis_reply *rep = NULL;
	char *base = NULL, *body = NULL;
	enum task_status st;
	double progress = 0;
	int ret;

	if (keys_task(task, sizeof task, id))
		return -ENOENT;
	if (tasks_status_parse(status, &st) || (st != TASK_COMPLETED && st != TASK_FAILED))
		return -EINVAL;
	if (ttl_s <= 0 || (error_type && !*error_type))
		return -EINVAL;
	if (result_json && (ret = result_inner(result_json, &inner, &inner_n, epc)))
		return ret;
	if (count_key(cr, sizeof cr, TASK_RUNNING) || count_key(cf, sizeof cf, st))
		return -EINVAL;

	/* These fields do not change once running, so reading them before the
	 * atomic step is safe; the script re-checks the status. */
	ret = hmget(r, task, 6, immut, &rep);
	if (ret)
		goto out;
	if (rep->elem[0].type != REDIS_T_STR) {
		ret = -ENOENT;
		goto out;
	}
	if (strcmp(rep->elem[0].str, "running") != 0) {
		ret = strcmp(rep->elem[0].str, "cancelled") == 0 ? -ECANCELED : -EALREADY;
		goto out;
	}
	if (st == TASK_COMPLETED)
		progress = 1;
	else if (rep->elem[1].type == REDIS_T_STR && util_parse_double(rep->elem[1].str, &progress))
		progress = 0;
	now_rfc3339(now);
	v[F_STATUS] = status;
	v[F_STAGE] = status;
	v[F_CREATED] = rep->elem[2].str;
	v[F_STARTED] = rep->elem[3].str;
	v[F_FINISHED] = now;
	v[F_CANDIDATE] = rep->elem[4].str;
	v[F_PROBLEM] = rep->elem[5].str;
	v[F_ERRTYPE] = error_type;
	v[F_ERRMSG] = error_message;
	base = base_json(id, v, progress);
	body = base ? splice(base, inner, inner_n) : NULL;
	if (!body) {
		ret = -ENOMEM;
		goto out;
	}
	snprintf(ttl, sizeof ttl, "%ld", ttl_s);
	snprintf(prog, sizeof prog, "%.4f", progress);
	const char *keys[] = { task, cr, cf };
	const char *args[] = { status, now, ttl, body, prog, error_type ? error_type : "",
			       error_message ? error_message : "", id, epc };
	ret = eval_rc(r, &finish_script, 3, keys, 9, args);
out:
	free(base);
	free(body);
	redis_reply_free(rep);
	return ret;
}

int tasks_cancel(struct redis *r, const char *id, long ttl_s)
{
	char task[KEYS_MAX], q[KEYS_MAX], cq[KEYS_MAX], cr[KEYS_MAX], cc[KEYS_MAX];
	char att[KEYS_MAX], now[UTIL_RFC3339_LEN], ttl[24];

	if (keys_task(task, sizeof task, id))
		return -ENOENT;
	if (ttl_s <= 0)
		return -EINVAL;
	if (keys_queue(q, sizeof q, KEYS_KIND_MEASURE) ||
	    keys_attempts(att, sizeof att, KEYS_KIND_MEASURE) ||
	    count_key(cq, sizeof cq, TASK_QUEUED) || count_key(cr, sizeof cr, TASK_RUNNING) ||
	    count_key(cc, sizeof cc, TASK_CANCELLED))
		return -EINVAL;
	now_rfc3339(now);
	snprintf(ttl, sizeof ttl, "%ld", ttl_s);
	const char *keys[] = { task, q, cq, cr, cc, att };
	const char *args[] = { id, now, ttl };
	return eval_rc(r, &cancel_script, 6, keys, 3, args);
}

int tasks_requeue_busy(struct redis *r, const char *id, long long now_ms, long long backoff_ms,
		       long long window_ms)
{
	char task[KEYS_MAX], cr[KEYS_MAX], cq[KEYS_MAX], z[KEYS_MAX];
	char now[32], backoff[32], win[32];

	if (keys_task(task, sizeof task, id))
		return -ENOENT;
	if (count_key(cr, sizeof cr, TASK_RUNNING) || count_key(cq, sizeof cq, TASK_QUEUED) ||
	    keys_delayed(z, sizeof z, KEYS_KIND_MEASURE) || window_ms < 0)
		return -EINVAL;
	snprintf(now, sizeof now, "%lld", now_ms);
	snprintf(backoff, sizeof backoff, "%lld", backoff_ms);
	snprintf(win, sizeof win, "%lld", window_ms);
	const char *keys[] = { task, cr, cq, z };
	const char *args[] = { id, now, backoff, win };
	return eval_rc(r, &requeue_busy_script, 4, keys, 4, args);
}

int tasks_fail_lost(struct redis *r, const char *id, const char *message, long ttl_s)
{
	char task[KEYS_MAX], cq[KEYS_MAX], cr[KEYS_MAX], cf[KEYS_MAX], q[KEYS_MAX];
	char now[UTIL_RFC3339_LEN], ttl[24];

	if (keys_task(task, sizeof task, id))
		return -ENOENT;
	if (ttl_s <= 0)
		return -EINVAL;
	if (count_key(cq, sizeof cq, TASK_QUEUED) || count_key(cr, sizeof cr, TASK_RUNNING) ||
	    count_key(cf, sizeof cf, TASK_FAILED) || keys_queue(q, sizeof q, KEYS_KIND_MEASURE))
		return -EINVAL;
	now_rfc3339(now);
	snprintf(ttl, sizeof ttl, "%ld", ttl_s);
	const char *keys[] = { task, cq, cr, cf, q };
	const char *args[] = { now, message && *message ? message :
			       "the job's worker died too many times", ttl, id };
	return eval_rc(r, &fail_lost_script, 5, keys, 4, args);
}
