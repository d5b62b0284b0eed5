/* bulkcancel.c — see bulkcancel.h. */
#include "bulkcancel.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_impl.h"
#include "taskidx.h"
#include "config.h"
#include "keys.h"
#include "redis.h"
#include "request.h"
#include "tasks.h"

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* The percent-decoded value of name in the query; false when absent, too
 * long, malformed or holding a NUL. */
static bool query_value(const char *query, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, name, n) != 0 || p[n] != '=')
			continue;
		size_t o = 0;
		for (const char *v = p + n + 1; *v && *v != '&'; v++) {
			int c = (unsigned char)*v;
			if (c == '%') {
				int hi = hexval((unsigned char)v[1]), lo = hi < 0 ? -1 : hexval((unsigned char)v[2]);
				if (lo < 0 || (c = hi * 16 + lo) == 0)
					return false;
				v += 2;
			} else if (c == '+') {
				c = ' ';
			}
			if (o + 1 >= cap)
				return false;
			out[o++] = (char)c;
		}
		out[o] = '\0';
		return o > 0;
	}
	return false;
}

static void error1(struct http_response *resp, const struct http_request *req,
		   const char *field, const char *msg)
{
	struct request_errors errs = { .n = 1 };
	snprintf(errs.items[0].field, sizeof errs.items[0].field, "%s", field);
	snprintf(errs.items[0].message, sizeof errs.items[0].message, "%s", msg);
	api_respond_error(resp, req, "validation_error", "the request does not match the schema",
			  &errs);
}

/* The ids of the body's "task_ids" (new array reference), or NULL with resp set. */
static json_t *listed_ids(const struct http_request *req, struct http_response *resp)
{
	json_error_t e;
	/* a NUL is never JSON, and jansson 2.14 skips one after a number */
	if (memchr(req->body, '\0', req->body_len)) {
		api_respond_error(resp, req, "malformed_json", "a NUL byte in the body", NULL);
		return NULL;
	}
	json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &e);
	json_t *ids = json_object_get(body, "task_ids");
	if (!body) {
		api_respond_error(resp, req, "malformed_json", e.text, NULL);
		return NULL;
	}
	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > BULKCANCEL_MAX_IDS || json_object_size(body) != 1) {
		error1(resp, req, "task_ids", "must be the only member: an array of 1..1000 task ids");
		json_decref(body);
		return NULL;
	}
	for (size_t i = 0; i < json_array_size(ids); i++)
		if (!json_is_string(json_array_get(ids, i))) {
			error1(resp, req, "task_ids", "every entry must be a task id string");
			json_decref(body);
			return NULL;
		}
	json_incref(ids);
	json_decref(body);
	return ids;
}

/* Cancels each id; false when Redis failed (resp then set). */
static bool cancel_each(struct api *a, struct redis *r, const char *const *ids, size_t n,
			json_t *out, const struct http_request *req, struct http_response *resp)
{
	json_t *cancelled = json_object_get(out, "cancelled"),
	       *finished = json_object_get(out, "already_finished"),
	       *missing = json_object_get(out, "not_found");
	for (size_t i = 0; i < n; i++) {
		int err = keys_task_id_valid(ids[i]) ? tasks_cancel(r, ids[i], a->cfg->result_ttl_seconds)
						     : -ENOENT;
		if (err == 0)
			json_array_append_new(cancelled, json_string(ids[i]));
		else if (err == -EALREADY)
			json_array_append_new(finished, json_string(ids[i]));
		else if (err == -ENOENT)
			json_array_append_new(missing, json_string(ids[i]));
		else {
			api_not_ready(resp, req, "Redis failed while cancelling; some tasks may be cancelled");
			return false;
		}
	}
	return true;
}

void bulkcancel_handle(struct api *a, const struct http_request *req, struct http_response *resp)
{
	char cand[REQUEST_MAX_ID_BYTES + 1];
	bool by_cand = query_value(req->query, "candidate_id", cand, sizeof cand);
	json_t *listed = NULL, *out = NULL;
	char **ids = NULL;
	size_t n = 0;
	struct redis *r = NULL;

	if (by_cand == (req->body_len > 0)) {
		error1(resp, req, by_cand ? "task_ids" : "candidate_id",
		       "give either ?candidate_id=... or a body {\"task_ids\": [...]}, not both");
		return;
	}
	if (!by_cand && !(listed = listed_ids(req, resp)))
		return;
	if (!(r = redis_pool_get(a->pool)) || redis_ping(r) != 0) {
		api_not_ready(resp, req, "Redis is unreachable; nothing was cancelled");
		goto out;
	}
	if (by_cand && taskidx_candidate_tasks(r, cand, &ids, &n) != 0) {
		api_not_ready(resp, req, "Redis failed while listing the tasks; nothing was cancelled");
		goto out;
	}
	out = json_pack("{s:[], s:[], s:[]}", "cancelled", "already_finished", "not_found");
	if (!out) {
		resp->status = 500;
		goto out;
	}
	if (listed) {
		n = json_array_size(listed);
		ids = calloc(n, sizeof *ids);
		for (size_t i = 0; ids && i < n; i++)
			ids[i] = strdup(json_string_value(json_array_get(listed, i)));
		if (!ids) {
			resp->status = 500;
			goto out;
		}
	}
	if (cancel_each(a, r, (const char *const *)ids, n, out, req, resp)) {
		json_object_set_new(out, "request_id", json_string(req->request_id));
		api_respond_json(resp, 200, out);
		out = NULL;
	}
out:
	if (r)
		redis_pool_put(a->pool, r);
	taskidx_free(ids, n);
	json_decref(listed);
	json_decref(out);
}
