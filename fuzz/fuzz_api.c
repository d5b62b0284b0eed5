/*
 * fuzz_api — the HTTP API without sockets (server/api.c api_handle, as
 * lib/http/http.c calls it): routing, bearer tokens, request bodies
 * (lib/api/request.c), task ids (lib/store/keys.c), the query strings of
 * /api/v1/seals and DELETE /api/v1/tasks?candidate_id= (percent-decoding),
 * the seal verification body, and the pages' routes (the report under the task
 * prefix, the compare ids list; their HTML replies are not parsed here).  Redis is a closed loopback port, as in
 * tests/unit/test_api.c: every path must answer without it, or 503.
 *
 * Input: byte 0 bit 0 picks the API with a tokens file; then the text
 *   METHOD \n PATH \n QUERY \n CONTENT-TYPE \n AUTHORIZATION \n IDEMPOTENCY-KEY \n BODY
 * (a missing line is NULL, the query ""; BODY is raw bytes, NULs included).
 * Invariants (abort() on violation): the status is 200..599 and never 500
 * (nothing a client sends may be an internal error); a JSON reply parses,
 * and an error reply (but health's 503) has "error", "message" and our
 * request_id; a task id that is not a canonical UUID builds no Redis key and
 * is 404 without asking Redis.
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_check.h"
#include "api.h"
#include "config.h"
#include "keys.h"
#include "log.h"

#define NFIELDS 6
#define TOKEN "fuzz-token-0123456789"

/* the fuzzing process's fixture: built once, never freed */
static struct jt_config cfgs[2];
static struct api *apis[2];

static void set(struct jt_config *c, const char *k, const char *v)
{
	struct config_error err;
	if (config_set(c, k, v, &err)) {
		fprintf(stderr, "config %s: %s\n", k, err.msg);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char tokens[] = "/tmp/jt-fuzz-tokens-XXXXXX", why[256] = "";
	int fd = mkstemp(tokens);
	CHECK(fd >= 0 && write(fd, TOKEN "\n", strlen(TOKEN "\n")) > 0);
	close(fd);
	log_init("fuzz_api", LOG_LVL_ERROR, LOG_FMT_TEXT);
	for (int i = 0; i < 2; i++) {
		CHECK(config_defaults(&cfgs[i]) == 0);
		/* port 1 on loopback: nothing listens, connections are refused at once */
		set(&cfgs[i], "redis_url", "redis://127.0.0.1:1/0");
		set(&cfgs[i], "redis_timeout_ms", "50");
		set(&cfgs[i], "calibration_file", "/nonexistent/cal.json");
		set(&cfgs[i], "measurement_cpus", "0");
		set(&cfgs[i], "infra_cpus", "0");
		set(&cfgs[i], "server_threads", "1");
		/* the token buckets refill with time: fuzzed, they would make an
		 * input's answer depend on how many ran before it (429) */
		set(&cfgs[i], "rate_limit_per_minute", "0");
		if (i)
			set(&cfgs[i], "api_tokens_file", tokens);
		apis[i] = api_new(&cfgs[i], why, sizeof why);
		if (!apis[i]) {
			fprintf(stderr, "api_new: %s\n", why);
			abort();
		}
	}
	unlink(tokens);   /* read by api_new; never reloaded here */
	return 0;
}

static void check_response(const struct http_request *req, const struct http_response *resp)
{
	CHECK(resp->status >= 200 && resp->status <= 599 && resp->status != 500);
	if (resp->content_type && strncmp(resp->content_type, "application/json", 16) != 0)
		return;   /* /metrics: text */
	CHECK(resp->body != NULL);
	size_t len = resp->body_len ? resp->body_len : strlen(resp->body);
	json_error_t je;
	json_t *j = json_loadb(resp->body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		fprintf(stderr, "reply is not JSON (%s): %.300s\n", je.text, resp->body);
	CHECK(j != NULL);
	/* health answers 503 with its own body (SPEC §4), every other error the error shape */
	if (resp->status >= 400 && strcmp(req->path, "/api/v1/health") != 0) {
		if (!json_is_string(json_object_get(j, "error")))
			fprintf(stderr, "error reply %d: %.300s\n", resp->status, resp->body);
		CHECK(json_is_string(json_object_get(j, "error")));
		CHECK(json_is_string(json_object_get(j, "message")));
		const char *rid = json_string_value(json_object_get(j, "request_id"));
		CHECK(rid && strcmp(rid, "fuzz-req") == 0);
	}
	json_decref(j);
}

/*
 * A task id from a path: only a canonical UUID may shape a Redis key
 * (keys.h), and anything else is 404 before Redis is asked (Redis is down
 * here, so a 503 would mean the id got through).
 */
static void check_task_id(const struct http_request *req, const struct http_response *resp)
{
	static const char prefix[] = "/api/v1/tasks/", suffix[] = "/report";
	char key[KEYS_MAX], id[KEYS_MAX];
	size_t n = strlen(req->path);
	if (strncmp(req->path, prefix, sizeof prefix - 1) != 0)
		return;
	/* the report page, {id}/report: its id is the middle, and it is GET only */
	bool report = n >= sizeof prefix + sizeof suffix - 2 &&
		      strcmp(req->path + n - (sizeof suffix - 1), suffix) == 0;
	snprintf(id, sizeof id, "%.*s", (int)(n - (sizeof prefix - 1) - (report ? sizeof suffix - 1 : 0)),
		 req->path + sizeof prefix - 1);
	if (report && strcmp(req->method, "DELETE") == 0 && resp->status != 401) {
		CHECK(resp->status == 405);
		return;
	}
	bool valid = keys_task_id_valid(id);
	int err = keys_task(key, sizeof key, id);
	CHECK(valid ? err == 0 && strcmp(key + strlen(KEYS_TASK_PREFIX), id) == 0 : err == -EINVAL);
	CHECK(!valid || strlen(id) == KEYS_TASK_ID_LEN);
	if (!valid && (strcmp(req->method, "GET") == 0 || strcmp(req->method, "DELETE") == 0) &&
	    resp->status != 401) {
		if (resp->status != 404)
			fprintf(stderr, "%s %s: %d %.300s\n", req->method, req->path, resp->status,
				resp->body ? resp->body : "");
		CHECK(resp->status == 404);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct api *api = apis[data[0] & 1];
	char *copy = malloc(size);    /* the text after byte 0, NUL-terminated */
	char *field[NFIELDS] = { NULL };
	CHECK(copy != NULL);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';

	char *p = copy, *end = copy + size - 1;
	for (int i = 0; i < NFIELDS && p <= end; i++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		field[i] = p;
		if (!nl) {
			p = end + 1;
			break;
		}
		*nl = '\0';
		p = nl + 1;
	}
	if (!field[0] || !field[1]) {
		free(copy);
		return 0;
	}
	struct http_request req = {
		.method = field[0], .path = field[1], .query = field[2] ? field[2] : "",
		.content_type = field[3], .authorization = field[4], .idempotency_key = field[5],
		.body = p <= end ? p : "", .body_len = p <= end ? (size_t)(end - p) : 0,
		.request_id = "fuzz-req", .remote_addr = "127.0.0.1",
	};
	struct http_response resp;
	memset(&resp, 0, sizeof resp);
	api_handle(api, &req, &resp);
	check_response(&req, &resp);
	check_task_id(&req, &resp);
	free(resp.body);
	free(copy);
	return 0;
}
