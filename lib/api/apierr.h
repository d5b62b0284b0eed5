/*
 * apierr.h — the one JSON error body of the HTTP API (SPEC §4):
 *   {"error": CODE, "message": TEXT, "request_id": ID, "field_errors": [...]}
 *
 * Codes (APIERR_*) and their HTTP statuses:
 *   malformed_json 400, unauthorized 401, not_found 404, method_not_allowed 405,
 *   conflict 409, payload_too_large 413, unsupported_media_type 415,
 *   validation_error 422, rate_limited 429, queue_full 429, internal_error 500,
 *   not_ready 503.
 *
 * Thread safety: all functions are reentrant (no shared state).
 */
#ifndef JT_APIERR_H
#define JT_APIERR_H

#include "request.h"

#define APIERR_MALFORMED_JSON         "malformed_json"
#define APIERR_UNAUTHORIZED           "unauthorized"
#define APIERR_NOT_FOUND              "not_found"
#define APIERR_METHOD_NOT_ALLOWED     "method_not_allowed"
#define APIERR_CONFLICT               "conflict"
#define APIERR_PAYLOAD_TOO_LARGE      "payload_too_large"
#define APIERR_UNSUPPORTED_MEDIA_TYPE "unsupported_media_type"
#define APIERR_VALIDATION_ERROR       "validation_error"
#define APIERR_RATE_LIMITED           "rate_limited"
#define APIERR_QUEUE_FULL             "queue_full"
#define APIERR_INTERNAL_ERROR         "internal_error"
#define APIERR_NOT_READY              "not_ready"

/*
 * Builds the error body.  request_id NULL → JSON null.  "field_errors" is present
 * only when errs is non-NULL and errs->n > 0; when errs->dropped > 0 the message
 * gets " (N more field errors not shown)" appended so the truncation is visible.
 * Returns a malloc'd NUL-terminated string (caller frees) or NULL with
 * errno = ENOMEM / EINVAL (code or message NULL).
 */
char *apierr_json(const char *code, const char *message, const char *request_id,
		  const struct request_errors *errs);

/* HTTP status for a code above; 500 for anything unknown. */
int apierr_status(const char *code);

#endif
