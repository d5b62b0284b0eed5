/*
 * api_impl.h — private to the API module (server/api.c and its handler files: status.c, seals.c, the pages):
 * the context every handler gets, and the response helpers they share.
 * Nothing else may include this.
 */
#ifndef JT_API_IMPL_H
#define JT_API_IMPL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpuset.h"
#include "hostid.h"
#include "http.h"

struct calib_profile;
struct httpstats;
struct jt_config;
struct ratelimit;
struct redis;
struct redis_pool;
struct validwait;
struct request_errors;

#define MAX_TOKENS 256

struct api {
	const struct jt_config *cfg;
	struct redis_pool *pool;
	struct hostid host;
	struct cpu_layout layout;
	char host_id[128];
	uint64_t started_ns;

	pthread_rwlock_t tokens_lock;         /* readers: every request; writer: SIGHUP */
	unsigned char tokens[MAX_TOKENS][32]; /* SHA-256 of each bearer token */
	size_t n_tokens;
	struct ratelimit *rl;

	atomic_ullong http_2xx, http_4xx, http_5xx, tasks_created, validations;
	struct httpstats *stats;              /* by route and status (httpstats.h) */
	struct validwait *vw;                 /* validations waiting for a worker */
};

/* body (taken) as the reply; NULL means building it failed: a 500. */
void api_respond_json(struct http_response *resp, int status, json_t *body);
/* The error body of code (apierr.h), with the request's id. */
void api_respond_error(struct http_response *resp, const struct http_request *req,
		       const char *code, const char *msg, const struct request_errors *errs);
/* Value of name in an a=1&b=2 query (no percent-decoding): false when absent
 * or longer than cap − 1. */
bool api_query_get(const char *query, const char *name, char *out, size_t cap);
/* The request says its body is JSON (Content-Type application/json). */
bool api_is_json(const struct http_request *req);
/* 503 not_ready with Retry-After. */
void api_not_ready(struct http_response *resp, const struct http_request *req, const char *why);

#endif
