/* seals.c — the seal views of the API: published keys, the seal log, verification. */
#include "seals.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_impl.h"
#include "apierr.h"
#include "redis.h"
#include "request.h"
#include "seal.h"
#include "sealchain.h"
#include "util.h"

void seals_keys(struct api *a, const struct http_request *req, struct http_response *resp)
{
	struct redis *r = redis_pool_get(a->pool);
	char *json = NULL;

	if (!r || sealchain_keys_json(r, &json) != 0) {
		api_not_ready(resp, req, "Redis is unreachable");
	} else {
		resp->status = 200;
		resp->body = json;
		resp->body_len = strlen(json);
	}
	if (r)
		redis_pool_put(a->pool, r);
}

void seals_list(struct api *a, const struct http_request *req, struct http_response *resp)
{
	char v[64], key_id[32] = "";
	long long after = 0, limit = 100;
	struct request_errors errs = { .n = 0 };
	char *json = NULL;

	if (api_query_get(req->query, "after", v, sizeof v) &&
	    (util_parse_i64(v, &after) || after < 0)) {
		snprintf(errs.items[errs.n].field, sizeof errs.items[0].field, "after");
		snprintf(errs.items[errs.n++].message, sizeof errs.items[0].message,
			 "must be a sequence number >= 0");
	}
	if (api_query_get(req->query, "limit", v, sizeof v) &&
	    (util_parse_i64(v, &limit) || limit < 1 || limit > 1000)) {
		snprintf(errs.items[errs.n].field, sizeof errs.items[0].field, "limit");
		snprintf(errs.items[errs.n++].message, sizeof errs.items[0].message,
			 "must be an integer between 1 and 1000");
	}
	bool by_key = api_query_get(req->query, "key_id", key_id, sizeof key_id);
	if (errs.n) {
		api_respond_error(resp, req, "validation_error", "bad query parameters", &errs);
		return;
	}
	struct redis *r = redis_pool_get(a->pool);
	int err = r ? sealchain_log_json(r, by_key ? key_id : NULL, after, (long)limit, &json) : -EIO;
	if (r)
		redis_pool_put(a->pool, r);
	if (err == -EINVAL) {
		snprintf(errs.items[0].field, sizeof errs.items[0].field, "key_id");
		snprintf(errs.items[0].message, sizeof errs.items[0].message,
			 "must be 16 lower-case hex digits");
		errs.n = 1;
		api_respond_error(resp, req, "validation_error", "bad query parameters", &errs);
	} else if (err) {
		api_not_ready(resp, req, "Redis is unreachable");
	} else {
		resp->status = 200;
		resp->body = json;
		resp->body_len = strlen(json);
	}
}

int seals_check(struct api *a, const json_t *seal, char *key_id, char *reason, size_t cap)
{
	unsigned char (*pks)[SEAL_PK_BYTES] = NULL;
	char *keys = NULL;
	size_t n = 0;
	int err;

	key_id[0] = '\0';
	struct redis *r = redis_pool_get(a->pool);
	err = r ? sealchain_keys_json(r, &keys) : -EIO;
	if (r)
		redis_pool_put(a->pool, r);
	if (err) {
		util_say(reason, cap, "the published keys cannot be read: Redis is unreachable");
		err = -EIO;
		goto out;
	}
	pks = calloc(MAX_TOKENS, sizeof *pks);
	if (!pks || seal_public_keys_parse(keys, strlen(keys), pks, MAX_TOKENS, &n) != 0)
		n = 0;
	err = n ? seal_verify_any(seal, (const unsigned char (*)[SEAL_PK_BYTES])pks, n, key_id,
				  reason, cap)
		: -ENOKEY;
	if (err == -ENOKEY)
		util_say(reason, cap, "this service has published no keys yet");
	else if (err == 0)
		util_say(reason, cap, "signature valid for a published key");
out:
	free(pks);
	free(keys);
	return err;
}

/* Verifies against this service's own published keys: those are the pinned ones. */
void seals_verify(struct api *a, const struct http_request *req, struct http_response *resp)
{
	char reason[SEAL_REASON_MAX] = "", key_id[SEALS_KEY_ID_MAX] = "";
	json_t *seal = NULL;

	if (!api_is_json(req)) {
		api_respond_error(resp, req, "unsupported_media_type",
			      "Content-Type must be application/json", NULL);
		return;
	}
	if (seal_parse(req->body, req->body_len, &seal, reason, sizeof reason)) {
		api_respond_error(resp, req, "malformed_json", reason, NULL);
		return;
	}
	int err = seals_check(a, seal, key_id, reason, sizeof reason);
	if (err == -EIO)
		api_not_ready(resp, req, "Redis is unreachable: the published keys cannot be read");
	else
		api_respond_json(resp, 200, json_pack("{s:b, s:s?, s:s}", "valid", err == 0,
						  "key_id", key_id[0] ? key_id : NULL, "reason", reason));
	json_decref(seal);
}
