/*
 * seals.h — the seal views of the API (SPEC §4): the published keys, the
 * seal log, and verification against this service's own published keys.
 * Handlers as api.c's: a plain request in, a plain response out.
 * Thread safety: as api.h (any number of HTTP threads).
 */
#ifndef JT_SEALS_H
#define JT_SEALS_H

#include <jansson.h>
#include <stddef.h>

#include "http.h"

struct api;

#define SEALS_KEY_ID_MAX 17     /* 16 hex digits and a NUL */

void seals_keys(struct api *a, const struct http_request *req, struct http_response *resp);
void seals_list(struct api *a, const struct http_request *req, struct http_response *resp);
void seals_verify(struct api *a, const struct http_request *req, struct http_response *resp);

/*
 * Checks seal (borrowed) against the keys this service has published (the
 * pinned ones): 0 when a published key signed it (key_id, of
 * SEALS_KEY_ID_MAX bytes, names it); -ENOKEY when none is published yet;
 * -EIO when Redis cannot be read; another -errno when it does not verify.
 * reason (cap bytes) says why in words, also on success.  Used by the
 * verify endpoint and the report page.
 */
int seals_check(struct api *a, const json_t *seal, char *key_id, char *reason, size_t cap);

#endif
