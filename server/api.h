/*
 * api.h — the HTTP API of SPEC §4 as plain functions: a request struct in, a
 * response struct out.  No socket or libmicrohttpd type is visible here, so the
 * handlers are testable by calling api_handle() directly.
 *
 * Thread safety: api_handle() is called concurrently from the HTTP thread pool;
 * everything it touches is either immutable after api_new(), guarded by the
 * api's mutex, or atomic.  Redis connections come from a pool.
 */
#ifndef JT_API_H
#define JT_API_H

#include "http.h"

struct jt_config;
struct api;

/* NULL + errno.  Does not need Redis to be up (health then says so). */
struct api *api_new(const struct jt_config *cfg, char *why, size_t whylen);
void api_free(struct api *a);
/* The measurement/infra CPU layout the API reports (valid until api_free). */
const struct cpu_layout *api_layout(const struct api *a);
/* http_handler_fn */
void api_handle(void *api, const struct http_request *req, struct http_response *resp);
/*
 * Answers every validation still waiting for a worker (503) and defers no
 * more: call before http_stop().  Idempotent; api_free() does it too.
 */
void api_stop_waiting(struct api *a);
/*
 * Reads api_tokens_file again (SIGHUP): the new set replaces the old at once
 * for every later request.  On error (missing, empty, too many) the tokens in
 * force stay and why says what is wrong; 0 without a tokens file.  Call from
 * one thread (main); safe while requests run.
 */
int api_reload_tokens(struct api *a, char *why, size_t cap);

#endif
