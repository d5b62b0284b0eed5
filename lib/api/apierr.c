/* apierr.c — see apierr.h. */
#include "apierr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const struct {
	const char *code;
	int status;
} statuses[] = {
	{ APIERR_MALFORMED_JSON, 400 },
	{ APIERR_UNAUTHORIZED, 401 },
	{ APIERR_NOT_FOUND, 404 },
	{ APIERR_METHOD_NOT_ALLOWED, 405 },
	{ APIERR_CONFLICT, 409 },
	{ APIERR_PAYLOAD_TOO_LARGE, 413 },
	{ APIERR_UNSUPPORTED_MEDIA_TYPE, 415 },
	{ APIERR_VALIDATION_ERROR, 422 },
	{ APIERR_RATE_LIMITED, 429 },
	{ APIERR_QUEUE_FULL, 429 },
	{ APIERR_INTERNAL_ERROR, 500 },
	{ APIERR_NOT_READY, 503 },
};

int apierr_status(const char *code)
{
	if (code)
		for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
			if (strcmp(code, statuses[i].code) == 0)
				return statuses[i].status;
	return 500;
}

/* jansson refuses invalid UTF-8; messages may quote client bytes, so never
 * let one bad byte turn an error reply into no reply. */
static json_t *string_lossy(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	size_t n = strlen(s);
	char *copy = malloc(n + 1);
	if (!copy)
		return NULL;
	for (size_t i = 0; i < n; i++)
		copy[i] = ((unsigned char)s[i] < 0x80) ? s[i] : '?';
	copy[n] = '\0';
	j = json_string(copy);
	free(copy);
	return j;
}

char *apierr_json(const char *code, const char *message, const char *request_id,
		  const struct request_errors *errs)
{
	char *out = NULL, *msg = NULL;
	json_t *root = NULL;

	if (!code || !message) {
		errno = EINVAL;
		return NULL;
	}
	if (errs && errs->dropped > 0) {
		if (asprintf(&msg, "%s (%zu more field errors not shown)", message,
			     errs->dropped) < 0) {
			msg = NULL;
			goto out;
		}
		message = msg;
	}
	root = json_object();
	if (!root)
		goto out;
	if (json_object_set_new(root, "error", string_lossy(code)) ||
	    json_object_set_new(root, "message", string_lossy(message)) ||
	    json_object_set_new(root, "request_id",
				request_id ? string_lossy(request_id) : json_null()))
		goto out;
	if (errs && errs->n > 0) {
		json_t *arr = json_array();
		if (json_object_set_new(root, "field_errors", arr))
			goto out;
		size_t n = errs->n < REQUEST_MAX_FIELD_ERRORS ? errs->n : REQUEST_MAX_FIELD_ERRORS;
		for (size_t i = 0; i < n; i++) {
			json_t *fe = json_object();
			if (json_array_append_new(arr, fe) ||
			    json_object_set_new(fe, "field", string_lossy(errs->items[i].field)) ||
			    json_object_set_new(fe, "message", string_lossy(errs->items[i].message)))
				goto out;
		}
	}
	out = json_dumps(root, JSON_COMPACT);
out:
	json_decref(root);
	free(msg);
	if (!out)
		errno = ENOMEM;
	return out;
}
