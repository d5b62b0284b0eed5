/* api.c — see api.h.  Routes, status codes and bodies follow SPEC §4. */
#include "api.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_impl.h"
#include "apierr.h"
#include "bulkcancel.h"
#include "comparepage.h"
#include "calib.h"
#include "taskidx.h"
#include "config.h"
#include "cpuset.h"
#include "dashboard.h"
#include "hostid.h"
#include "hosts.h"
#include "httpstats.h"
#include "keys.h"
#include "lock.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "ratelimit.h"
#include "redis.h"
#include "pages.h"
#include "reportpage.h"
#include "request.h"
#include "seals.h"
#include "status.h"
#include "tasks.h"
#include "util.h"
#include "validwait.h"
#include "workers.h"

#define TASKS_PREFIX "/api/v1/tasks/"
/* a full queue drains at the pace of measurements: ask again later */
#define QUEUE_FULL_RETRY_S 30



/* ---- responses ------------------------------------------------------------ */

/* body NULL means building it failed (a json_pack format or ENOMEM): a 500. */
void api_respond_json(struct http_response *resp, int status, json_t *body)
{
	resp->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	resp->body_len = resp->body ? strlen(resp->body) : 0;
	resp->status = resp->body ? status : 500;
	if (!resp->body)
		log_error("could not build a %d response body", status);
	json_decref(body);
}

/*
 * JouleTrace puts request_id on every reply: spliced in front of the stored
 * task body without parsing it (request ids are plain: http.c admits only
 * [A-Za-z0-9._:-]).  Takes json; NULL when out of memory.
 */
static char *with_request_id(char *json, size_t len, const char *rid, size_t *out_len)
{
	size_t rlen = strlen(rid);
	if (len < 2 || json[0] != '{' || strcspn(rid, "\"\\") != rlen) {
		*out_len = len;
		return json;
	}
	bool empty = json[1] == '}';
	size_t cap = len + rlen + 20;
	char *out = malloc(cap);
	if (out) {
		int n = snprintf(out, cap, "{\"request_id\":\"%s\"%s", rid, empty ? "" : ",");
		memcpy(out + n, json + 1, len);   /* the rest, with its NUL */
		*out_len = (size_t)n + len - 1;
	}
	free(json);
	return out;
}

void api_respond_error(struct http_response *resp, const struct http_request *req,
			  const char *code, const char *msg, const struct request_errors *errs)
{
	resp->status = apierr_status(code);
	resp->body = apierr_json(code, msg, req->request_id, errs);
	resp->body_len = resp->body ? strlen(resp->body) : 0;
}

void api_not_ready(struct http_response *resp, const struct http_request *req, const char *why)
{
	api_respond_error(resp, req, "not_ready", why, NULL);
	snprintf(resp->retry_after, sizeof resp->retry_after, "5");
}

bool api_is_json(const struct http_request *req)
{
	const char *ct = req->content_type;
	size_t n = strlen("application/json");
	return ct && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* ---- auth and rate limiting ----------------------------------------------- */

/* Whether listen ("host:port", "[v6]:port") names a loopback address only. */
static bool loopback_only(const char *listen)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	size_t n = colon ? (size_t)(colon - listen) : strlen(listen);
	if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
		listen++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof host)
		return false;
	memcpy(host, listen, n);
	host[n] = '\0';
	struct in_addr v4;
	struct in6_addr v6;
	if (strcmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

/* The SHA-256 of every token in path into set; 0, or -errno with why. */
static int read_tokens(const char *path, unsigned char (*set)[32], size_t *n, char *why, size_t cap)
{
	char *data = NULL, *save = NULL;
	int err = util_read_file(path, 1 << 20, &data, NULL);
	*n = 0;
	if (err) {
		util_say(why, cap, "api_tokens_file %s: %s", path, strerror(-err));
		return err;
	}
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t len = strcspn(line, "\r \t");
		if (len == 0 || line[0] == '#')
			continue;
		if (*n == MAX_TOKENS) {
			err = -E2BIG;
			util_say(why, cap, "api_tokens_file %s: more than %d tokens", path, MAX_TOKENS);
			break;
		}
		crypto_hash_sha256(set[(*n)++], (unsigned char *)line, len);
	}
	free(data);
	if (!err && *n == 0) {
		err = -EINVAL;
		util_say(why, cap, "api_tokens_file %s has no tokens", path);
	}
	return err;
}

int api_reload_tokens(struct api *a, char *why, size_t cap)
{
	static unsigned char fresh[MAX_TOKENS][32];   /* one reloader: main() */
	size_t n = 0;
	int err;
	if (!a->cfg->api_tokens_file[0])
		return 0;
	if ((err = read_tokens(a->cfg->api_tokens_file, fresh, &n, why, cap)))
		return err;   /* the tokens in force stay */
	pthread_rwlock_wrlock(&a->tokens_lock);
	memcpy(a->tokens, fresh, n * sizeof fresh[0]);
	a->n_tokens = n;
	pthread_rwlock_unlock(&a->tokens_lock);
	sodium_memzero(fresh, sizeof fresh);
	return 0;
}

/*
 * The token of an Authorization header: "Bearer TOKEN", or "Basic
 * base64(user:TOKEN)" (any user name: a browser cannot send a bearer header,
 * so the pages are opened with the token as password).  NULL when neither.
 */
static const char *token_of(const char *h, char *buf, size_t cap)
{
	size_t len;
	const char *end = NULL;
	if (!h)
		return NULL;
	if (strncasecmp(h, "Bearer ", 7) == 0)
		return h + 7;
	if (strncasecmp(h, "Basic ", 6) != 0 ||
	    sodium_base642bin((unsigned char *)buf, cap - 1, h + 6, strlen(h + 6), NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || *end)
		return NULL;
	buf[len] = '\0';
	char *colon = memchr(buf, ':', len);
	return colon && strlen(colon + 1) == (size_t)(buf + len - colon - 1) ? colon + 1 : NULL;
}

/* Compares hashes in constant time and checks every token, so timing says nothing. */
/* And names the client in client: "token:<12 hex of the digest>" for a good
 * token, "addr:<address>" when no tokens are configured. */
static bool authorized(struct api *a, const struct http_request *req, char *client, size_t cap)
{
	char basic[1024];
	const char *token = token_of(req->authorization, basic, sizeof basic);
	unsigned char digest[32];
	bool ok = false;

	pthread_rwlock_rdlock(&a->tokens_lock);
	if (a->n_tokens == 0) {
		ok = true;
		snprintf(client, cap, "addr:%s", req->remote_addr);
	} else if (token) {
		crypto_hash_sha256(digest, (const unsigned char *)token, strlen(token));
		for (size_t i = 0; i < a->n_tokens; i++)
			ok |= sodium_memcmp(digest, a->tokens[i], 32) == 0;
		char hex[13];
		for (int i = 0; i < 6; i++)
			snprintf(hex + 2 * i, 3, "%02x", digest[i]);
		snprintf(client, cap, "token:%s", hex);
	}
	pthread_rwlock_unlock(&a->tokens_lock);
	sodium_memzero(basic, sizeof basic);
	return ok;
}

/* ---- helpers over Redis ---------------------------------------------------- */

/* ---- handlers ------------------------------------------------------------- */

/* Content type and schema for measure/validate: 0 with m filled, else resp is set. */
static int parse_request(const struct http_request *req, struct http_response *resp,
			 enum request_kind kind, struct measure_request *m)
{
	struct request_errors errs;
	char msg[512];
	int err;

	if (!api_is_json(req)) {
		api_respond_error(resp, req, "unsupported_media_type",
			      "Content-Type must be application/json", NULL);
		return -EINVAL;
	}
	err = request_parse(req->body, req->body_len, kind, m, &errs, msg, sizeof msg);
	if (err == -EBADMSG)
		api_respond_error(resp, req, "malformed_json", msg, NULL);
	else if (err == -EINVAL)
		api_respond_error(resp, req, "validation_error", "the request does not match the schema", &errs);
	else if (err)
		api_respond_error(resp, req, "internal_error", "out of memory", NULL);
	return err;
}

/* Whole seconds, as JouleTrace gives them. */
static json_int_t estimate_seconds(const struct measure_request *m, long long depth)
{
	double trial = m->min_trial_seconds > 0.2 ? m->min_trial_seconds : 0.2;
	double one = 2.0 + trial * (double)(m->warmup_trials + m->energy_measurement_trials);
	return (json_int_t)ceil(one * (double)(depth + 1));
}

/*
 * Whether some live host can run m (issue 11): from the workers' records,
 * never from this server's hardware.  0, or resp is set: 422 for a cpu_core
 * that no live host has, 503 with the reason when none can run it now.
 */
static int admit(struct redis *r, const struct http_request *req, const struct measure_request *m,
		 struct http_response *resp)
{
	struct hosts hs;
	struct cpuset all;
	char reason[400], msg[512];
	if (hosts_load(r, &hs) != 0) {
		api_not_ready(resp, req, "Redis failed while reading the workers; nothing was queued");
		return -EIO;
	}
	enum hosts_verdict v = hosts_admit(&hs, m->cpu_core_set ? m->cpu_core : -1, &all, reason,
					   sizeof reason);
	hosts_free(&hs);
	if (v == HOSTS_NO_SUCH_CPU) {
		struct request_errors errs = { .n = 1 };
		char cpus[128];
		cpuset_format(&all, cpus, sizeof cpus);
		snprintf(errs.items[0].field, sizeof errs.items[0].field, "cpu_core");
		snprintf(errs.items[0].message, sizeof errs.items[0].message,
			 "must be one of the measurement CPUs (%s), got %ld", cpus, m->cpu_core);
		api_respond_error(resp, req, "validation_error", "the request does not match the schema",
				  &errs);
		return -EINVAL;
	}
	if (v == HOSTS_NOT_NOW) {
		snprintf(msg, sizeof msg, "%s; nothing was queued", reason);
		api_not_ready(resp, req, msg);
		return -EAGAIN;
	}
	return 0;
}

/* The global and the client's own queue limits: true when resp says 429. */
static bool queue_full(struct api *a, struct redis *r, const struct http_request *req,
		       struct http_response *resp, long long *depth)
{
	long long mine = 0;
	char msg[160] = "";
	queue_depth(r, "measure", depth);
	if (*depth >= a->cfg->max_queue_depth)
		snprintf(msg, sizeof msg, "the measure queue is full; nothing was queued");
	else if (a->cfg->max_queued_per_client > 0 &&
		 taskidx_client_queued(r, req->client, a->cfg->max_queued_per_client, &mine) == 0 &&
		 mine >= a->cfg->max_queued_per_client)
		snprintf(msg, sizeof msg, "this client has %lld tasks queued, the most "
			 "max_queued_per_client allows; nothing was queued", mine);
	if (!msg[0])
		return false;
	snprintf(resp->retry_after, sizeof resp->retry_after, "%d", QUEUE_FULL_RETRY_S);
	api_respond_error(resp, req, "queue_full", msg, NULL);
	return true;
}

/*
 * With redis_min_replicas, a 202 promises that the task is on that many
 * replicas, so a failover cannot lose it.  When WAIT falls short the task
 * stays queued on the master (it may well run) but the client gets 503 and
 * is told to retry with its Idempotency-Key, which answers with this same
 * task once it is confirmed, or queues it anew if a failover lost it.
 */
static bool replicated(const struct api *a, struct redis *r, const struct http_request *req,
		       const char *id, struct http_response *resp)
{
	char msg[400];
	int acked, err = redis_wait_replicas(r, &acked);
	if (err == 0)
		return true;
	snprintf(msg, sizeof msg, "task %s is queued on the Redis master but %d of the %ld "
		 "replicas required confirmed it within %ld ms (%s); a failover may lose it: "
		 "retry with the same Idempotency-Key", id, acked < 0 ? 0 : acked,
		 a->cfg->redis_min_replicas, a->cfg->redis_wait_timeout_ms,
		 err == -EAGAIN ? "too few replicas" : strerror(-err));
	log_warn("%s", msg);
	api_not_ready(resp, req, msg);
	return false;
}

/*
 * Admits and queues a new task (or finds the one scoped names, created since
 * the caller looked): 0, or -1 with resp set.
 */
static int create(struct api *a, struct redis *r, const struct http_request *req,
		  const struct measure_request *m, const char *scoped,
		  struct http_response *resp, char id[40], bool *existing, long long *depth)
{
	char *canon = NULL;
	int err, ret = -1;

	if (admit(r, req, m, resp) || queue_full(a, r, req, resp, depth))
		goto out;
	canon = request_to_json(m);
	struct task_new t = { .request_json = canon, .candidate_id = m->candidate_id,
			      .problem_name = m->problem_name };
	err = canon ? tasks_create(r, &t, scoped, a->cfg->result_ttl_seconds, id, existing)
		    : -ENOMEM;
	if (err == -ENOMEM)
		api_respond_error(resp, req, "internal_error", "out of memory", NULL);
	else if (err)
		api_not_ready(resp, req, "Redis failed while queueing; nothing was queued");
	else
		ret = 0;
out:
	free(canon);
	return ret;
}

static void h_measure(struct api *a, const struct http_request *req, struct http_response *resp)
{
	struct measure_request m;
	char id[40];
	struct redis *r = NULL;
	long long depth = 0;
	bool existing = false;

	memset(&m, 0, sizeof m);
	if (parse_request(req, resp, REQUEST_MEASURE, &m))
		goto out;
	if (req->idempotency_key && (!req->idempotency_key[0] ||
				     strlen(req->idempotency_key) > TASKS_MAX_IDEM_KEY)) {
		struct request_errors errs = { .n = 1 };
		snprintf(errs.items[0].field, sizeof errs.items[0].field, "Idempotency-Key");
		snprintf(errs.items[0].message, sizeof errs.items[0].message,
			 "must be 1..%d bytes", TASKS_MAX_IDEM_KEY);
		api_respond_error(resp, req, "validation_error", "the request does not match the schema",
				  &errs);
		goto out;
	}
	r = redis_pool_get(a->pool);
	/* a second PING (no side effect) on a connection that a failover broke
	 * finds the new master instead of answering 503 */
	if (!r || (redis_ping(r) != 0 && redis_ping(r) != 0)) {
		api_not_ready(resp, req, "Redis is unreachable; nothing was queued");
		goto out;
	}
	/* an Idempotency-Key is the client's own: another client's same key is
	 * another task (client, then the key's digest: always under the limit) */
	char scoped[sizeof req->client + 80], digest[UTIL_SHA256_HEX_LEN];
	if (req->idempotency_key) {
		util_sha256_hex(req->idempotency_key, strlen(req->idempotency_key), digest);
		snprintf(scoped, sizeof scoped, "%s\n%s", req->client, digest);
		/* a replay names a task that is already queued: no limit that
		 * keeps new tasks out applies to it */
		existing = tasks_idem_lookup(r, scoped, id) == 0;
	}
	if (!existing && create(a, r, req, &m, req->idempotency_key ? scoped : NULL, resp, id,
				&existing, &depth))
		goto out;
	atomic_fetch_add(&a->tasks_created, existing ? 0 : 1);
	/* for DELETE /api/v1/tasks?candidate_id= (bulkcancel.h) */
	if (!existing && m.candidate_id && taskidx_candidate_add(r, m.candidate_id, id,
							  a->cfg->result_ttl_seconds) != 0)
		log_warn("task %s: not indexed under its candidate_id", id);
	if (!existing && a->cfg->max_queued_per_client > 0 &&
	    taskidx_client_add(r, req->client, id, a->cfg->result_ttl_seconds) != 0)
		log_warn("task %s: not counted in its client's queue", id);
	if (!replicated(a, r, req, id, resp))
		goto out;
	char poll[96];
	snprintf(poll, sizeof poll, TASKS_PREFIX "%s", id);
	snprintf(resp->location, sizeof resp->location, "%s", poll);
	api_respond_json(resp, 202, json_pack("{s:s, s:s, s:s, s:s, s:I, s:b}",
		"task_id", id, "request_id", req->request_id, "status", "queued",
		"poll_url", poll, "estimated_completion_seconds", estimate_seconds(&m, depth),
		"idempotent_replay", existing));
out:
	if (r)
		redis_pool_put(a->pool, r);
	request_free(&m);
}

/*
 * The gate on a worker, answered when the worker replies (validwait.h): the
 * HTTP thread goes back to the pool at once.  The reply comes back by an id
 * this server generated, never by the client's X-Request-Id.
 */
static void h_validate(struct api *a, const struct http_request *req, struct http_response *resp)
{
	struct measure_request m;
	struct redis *r = NULL;
	char *canon = NULL, *job = NULL, reply_id[40];
	json_t *j = NULL;
	uint64_t t0 = util_mono_ns();
	int err;

	memset(&m, 0, sizeof m);
	if (parse_request(req, resp, REQUEST_VALIDATE, &m))
		goto out;
	if (validwait_waiting(a->vw) >= (unsigned)a->cfg->max_validate_waiting) {
		api_not_ready(resp, req, "too many validations are waiting for a worker; retry");
		goto out;
	}
	r = redis_pool_get(a->pool);
	if (!r || redis_ping(r) != 0) {
		api_not_ready(resp, req, "Redis is unreachable");
		goto out;
	}
	canon = request_to_json(&m);
	if (util_random_hex(reply_id, 16) == 0)
		j = json_pack("{s:s, s:s, s:s, s:o}", "request_id", req->request_id,
			      "reply_to", validwait_key(a->vw), "reply_id", reply_id, "request",
			      canon ? json_loads(canon, 0, NULL) : json_null());
	job = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!job || queue_push(r, "validate", job, strlen(job)) != 0) {
		api_not_ready(resp, req, "Redis failed while queueing");
		goto out;
	}
	err = validwait_add(a->vw, req, resp, reply_id, job, a->cfg->validate_timeout_seconds, t0);
	if (err) {
		queue_remove(r, "validate", job);
		api_not_ready(resp, req, err == -EBUSY ? "too many validations are waiting for a "
				      "worker; retry" : "the server cannot wait for a worker now");
		goto out;
	}
	atomic_fetch_add(&a->validations, 1);
out:
	if (r)
		redis_pool_put(a->pool, r);
	json_decref(j);
	free(job);
	free(canon);
	request_free(&m);
}

static void h_task(struct api *a, const struct http_request *req, struct http_response *resp)
{
	const char *id = req->path + strlen(TASKS_PREFIX);
	struct redis *r = NULL;
	char *json = NULL;
	size_t len = 0;
	int err;

	if (!keys_task_id_valid(id)) {
		api_respond_error(resp, req, "not_found", "no such task", NULL);
		return;
	}
	r = redis_pool_get(a->pool);
	if (!r) {
		api_not_ready(resp, req, "Redis is unreachable");
		return;
	}
	if (strcmp(req->method, "GET") == 0) {
		err = tasks_get_json(r, id, &json, &len);
		if (err == 0 && !(json = with_request_id(json, len, req->request_id, &len)))
			err = -ENOMEM;
		if (err == 0) {
			resp->status = 200;
			resp->body = json;
			resp->body_len = len;
		} else if (err == -ENOENT) {
			api_respond_error(resp, req, "not_found", "no such task", NULL);
		} else {
			api_not_ready(resp, req, "Redis is unreachable");
		}
	} else {
		err = tasks_cancel(r, id, a->cfg->result_ttl_seconds);
		if (err == 0)
			api_respond_json(resp, 200, json_pack("{s:s, s:s, s:s}", "task_id", id,
							  "status", "cancelled", "request_id", req->request_id));
		else if (err == -ENOENT)
			api_respond_error(resp, req, "not_found", "no such task", NULL);
		else if (err == -EALREADY)
			api_respond_error(resp, req, "conflict", "the task has already finished", NULL);
		else
			api_not_ready(resp, req, "Redis is unreachable");
	}
	redis_pool_put(a->pool, r);
}

/* ---- queries -------------------------------------------------------------- */

/* Value of name in an a=1&b=2 query (no percent-decoding: values are numbers or hex). */
bool api_query_get(const char *query, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			size_t len = strcspn(p + n + 1, "&");
			if (len >= cap)
				return false;
			memcpy(out, p + n + 1, len);
			out[len] = '\0';
			return true;
		}
	}
	return false;
}

/* ---- routing -------------------------------------------------------------- */

typedef void (*handler_fn)(struct api *, const struct http_request *, struct http_response *);

struct route {
	const char *path;       /* exact, or a prefix when prefix is set */
	bool prefix;
	bool auth;              /* needs a token when tokens are configured */
	const char *allow;      /* methods, for 405's Allow */
	handler_fn get, post, del;
	const char *suffix;     /* a prefix route: the path also ends with this */
	bool page;              /* HTML: 401 asks for Basic (a browser's sign-in) */
};

#define VALIDATE_ROUTE 6 /* its index below, for answers counted later */
static const struct route routes[] = {
	{ "/ping", false, false, "GET", status_ping, NULL, NULL, NULL, false },
	{ "/metrics", false, false, "GET", metrics_handle, NULL, NULL, NULL, false },
	{ "/api/v1/health", false, false, "GET", status_health, NULL, NULL, NULL, false },
	{ "/api/v1/socket0/status", false, true, "GET", status_socket0, NULL, NULL, NULL, false },
	{ "/api/v1/measure-socket0", false, true, "POST", NULL, h_measure, NULL, NULL, false },
	{ "/api/v1/measure", false, true, "POST", NULL, h_measure, NULL, NULL, false },
	{ "/api/v1/validate", false, true, "POST", NULL, h_validate, NULL, NULL, false },
	{ TASKS_PREFIX, true, true, "GET", report_handle, NULL, NULL, REPORT_SUFFIX, true },
	{ TASKS_PREFIX, true, true, "GET, DELETE", h_task, NULL, h_task, NULL, false },
	{ "/api/v1/tasks", false, true, "DELETE", NULL, NULL, bulkcancel_handle, NULL, false },
	{ "/api/v1/keys", false, false, "GET", seals_keys, NULL, NULL, NULL, false },
	{ "/api/v1/seals", false, true, "GET", seals_list, NULL, NULL, NULL, false },
	{ "/api/v1/seals/verify", false, false, "POST", NULL, seals_verify, NULL, NULL, false },
	{ "/api/v1/compare", false, true, "GET", comparepage_json, NULL, NULL, NULL, false },
	{ "/compare", false, true, "GET", comparepage_html, NULL, NULL, NULL, true },
	{ "/", false, true, "GET", dashboard_handle, NULL, NULL, NULL, true },
};
#define NROUTES (sizeof routes / sizeof *routes)

/* The routes as metric labels: a prefix route by its pattern, never a task id. */
static const char *const route_labels[NROUTES] = {
	"/ping", "/metrics", "/api/v1/health", "/api/v1/socket0/status",
	"/api/v1/measure-socket0", "/api/v1/measure", "/api/v1/validate",
	"/api/v1/tasks/{id}/report", "/api/v1/tasks/{id}", "/api/v1/tasks", "/api/v1/keys",
	"/api/v1/seals", "/api/v1/seals/verify", "/api/v1/compare", "/compare", "/",
};

static bool matches(const struct route *rt, const char *path)
{
	size_t n = strlen(path), p = strlen(rt->path), s = rt->suffix ? strlen(rt->suffix) : 0;
	if (!rt->prefix)
		return strcmp(path, rt->path) == 0;
	/* prefix and suffix must not overlap: an empty {id} is the handler's 404 */
	return strncmp(path, rt->path, p) == 0 && n >= p + s &&
	       strcmp(path + n - s, rt->suffix ? rt->suffix : "") == 0;
}

/* The errors the routing itself gives, for a JSON route and for a page. */
static const struct {
	const char *code, *message;        /* JSON (apierr's vocabulary) */
	int status;
	const char *title, *page_message;  /* a page answers a browser: its errors are pages too */
} route_errors[] = {
	{ "method_not_allowed", "method not allowed here", 405, "Method not allowed",
	  "This page can only be read (GET)." },
	{ "unauthorized", "a valid bearer token is required", 401, "Sign in",
	  "This page needs an API token: sign in with any user name and the token as password." },
	{ "rate_limited", "too many requests", 429, "Too many requests",
	  "Too many requests: try again in a few seconds." },
};
enum { ROUTE_405, ROUTE_401, ROUTE_429 };

static void route_error(const struct route *rt, const struct http_request *req,
			struct http_response *resp, int which)
{
	if (rt->page)
		pages_error(resp, route_errors[which].status, route_errors[which].title,
			    route_errors[which].page_message);
	else
		api_respond_error(resp, req, route_errors[which].code, route_errors[which].message,
				  NULL);
}

/* Answers req; returns the index of the route that matched (NROUTES: none). */
static size_t dispatch(struct api *a, const struct http_request *req, struct http_response *resp)
{
	for (size_t i = 0; i < NROUTES; i++) {
		const struct route *rt = &routes[i];
		if (!matches(rt, req->path))
			continue;
		handler_fn fn = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0
					? rt->get
				: strcmp(req->method, "POST") == 0   ? rt->post
				: strcmp(req->method, "DELETE") == 0 ? rt->del
								     : NULL;
		if (!fn) {
			snprintf(resp->allow, sizeof resp->allow, "%s", rt->allow);
			route_error(rt, req, resp, ROUTE_405);
			return i;
		}
		struct http_request who = *req;
		if (rt->auth && !authorized(a, req, who.client, sizeof who.client)) {
			route_error(rt, req, resp, ROUTE_401);
			resp->auth_challenge = true;
			resp->challenge_basic = rt->page;
			return i;
		}
		if (rt->auth && a->rl) {
			double retry = 0;
			if (!ratelimit_allow(a->rl, who.client, util_mono_ns(), &retry)) {
				snprintf(resp->retry_after, sizeof resp->retry_after, "%ld",
					 (long)ceil(retry));
				route_error(rt, req, resp, ROUTE_429);
				return i;
			}
		}
		fn(a, &who, resp);
		return i;
	}
	api_respond_error(resp, req, "not_found", "no such endpoint", NULL);
	return NROUTES;
}

static void account(struct api *a, size_t route, int status, uint64_t t0)
{
	httpstats_record(a->stats, route, status, util_mono_ns() - t0);
	if (status >= 500)
		atomic_fetch_add(&a->http_5xx, 1);
	else if (status >= 400)
		atomic_fetch_add(&a->http_4xx, 1);
	else
		atomic_fetch_add(&a->http_2xx, 1);
}

/* validwait_done_fn: a deferred validate answer is counted when it is sent. */
static void validate_answered(void *ctx, int status, uint64_t t0)
{
	account(ctx, VALIDATE_ROUTE, status, t0);
}

void api_handle(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct api *a = arg;
	uint64_t t0 = util_mono_ns();
	size_t route = dispatch(a, req, resp);
	if (!resp->deferred)
		account(a, route, resp->status, t0);
}

void api_stop_waiting(struct api *a)
{
	if (a)
		validwait_stop(a->vw);
}

struct api *api_new(const struct jt_config *cfg, char *why, size_t whylen)
{
	struct api *a = calloc(1, sizeof *a);
	int err = 0;

	if (!a)
		return NULL;
	a->cfg = cfg;
	a->started_ns = util_mono_ns();
	pthread_rwlock_init(&a->tokens_lock, NULL);
	_Static_assert(sizeof route_labels / sizeof *route_labels == NROUTES, "a label per route");
	assert(strcmp(route_labels[VALIDATE_ROUTE], "/api/v1/validate") == 0);
	if (!(a->stats = httpstats_new(route_labels, NROUTES))) {
		err = -ENOMEM;
		util_say(why, whylen, "out of memory");
		goto fail;
	}
	if (sodium_init() < 0) {
		err = -EIO;
		util_say(why, whylen, "libsodium failed to initialise");
		goto fail;
	}
	if ((err = cpuset_resolve("", cfg->measurement_cpus, cfg->infra_cpus, &a->layout))) {
		util_say(why, whylen, "CPU layout: %s", a->layout.why);
		goto fail;
	}
	hostid_collect("", &a->host);
	snprintf(a->host_id, sizeof a->host_id, "%.127s", hostid_name(&a->host, cfg->host_id));
	if (cfg->api_tokens_file[0] &&
	    (err = read_tokens(cfg->api_tokens_file, a->tokens, &a->n_tokens, why, whylen)))
		goto fail;
	/* Anyone who reaches the API can make this host run code: off loopback,
	 * only with tokens, unless the operator says otherwise in so many words. */
	if (!a->n_tokens && !loopback_only(cfg->listen) && !cfg->allow_remote_without_tokens) {
		err = -EPERM;
		util_say(why, whylen, "listen %s is reachable from other hosts and api_tokens_file "
			 "is not set: set api_tokens_file (bearer tokens), listen on 127.0.0.1, or "
			 "set allow_remote_without_tokens = 1", cfg->listen);
		goto fail;
	}
	if (cfg->rate_limit_per_minute > 0 &&
	    !(a->rl = ratelimit_new((double)cfg->rate_limit_per_minute / 60.0,
				    (double)cfg->rate_limit_per_minute))) {
		err = -errno;
		util_say(why, whylen, "rate limiter: %s", strerror(errno));
		goto fail;
	}
	/* a connection per HTTP thread: no request waits for another's */
	struct redis_ha ha;
	redis_ha_from_config(&ha, cfg);
	a->pool = redis_pool_open(cfg->redis_url, (int)cfg->redis_timeout_ms,
				  (int)cfg->server_threads + 2, &ha);
	if (!a->pool) {
		err = -errno;
		util_say(why, whylen, "redis_url '%s' / redis_sentinels '%s': %s", cfg->redis_url,
			 cfg->redis_sentinels, strerror(errno));
		goto fail;
	}
	struct validwait_options vo = {
		.redis_url = cfg->redis_url, .redis_timeout_ms = (int)cfg->redis_timeout_ms, .ha = &ha,
		.max_waiting = (unsigned)cfg->max_validate_waiting,
		.done = validate_answered, .done_ctx = a,
	};
	if (!(a->vw = validwait_start(&vo))) {
		err = -errno;
		util_say(why, whylen, "validation waiter: %s", strerror(errno));
		goto fail;
	}
	return a;
fail:
	api_free(a);
	errno = -err;
	return NULL;
}

const struct cpu_layout *api_layout(const struct api *a)
{
	return &a->layout;
}

void api_free(struct api *a)
{
	if (!a)
		return;
	validwait_free(a->vw);
	redis_pool_close(a->pool);
	ratelimit_free(a->rl);
	httpstats_free(a->stats);
	pthread_rwlock_destroy(&a->tokens_lock);
	sodium_memzero(a->tokens, sizeof a->tokens);
	free(a);
}
