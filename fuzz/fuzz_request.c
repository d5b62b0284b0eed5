/*
 * fuzz_request — the measure/validate request body (lib/api/request.c), as the
 * server parses it and as the worker reads the canonical form back.
 *
 * Input: byte 0 picks the kind (bit 0: validate), the rest is the body.
 * Invariants checked (abort() on violation, so libFuzzer reports a crash):
 * * request_parse returns 0, -EBADMSG, -EINVAL (with at least one field
 *   error) or -ENOMEM, and leaves the struct zeroed on error; a body with a
 *   raw NUL byte is -EBADMSG;
 * * a valid body's canonical JSON (request_to_json) reads back with
 *   request_from_json and with request_parse of either kind, and prints the
 *   same bytes again (the worker runs exactly what the server accepted).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "request.h"

/* nothing to free: every pointer NULL */
static bool zeroed(const struct measure_request *r)
{
	return !r->candidate_code && !r->function_name && !r->test_cases && !r->language &&
	       !r->candidate_id && !r->problem_name && r->n_tests == 0;
}

/* canon reads back (worker and both endpoints) and prints as canon again. */
static void check_roundtrip(const char *canon)
{
	struct measure_request back = { 0 };
	char msg[512];
	int err = request_from_json(canon, strlen(canon), &back, msg, sizeof msg);
	if (err)
		fprintf(stderr, "request_from_json(%s): %d %s\n", canon, err, msg);
	CHECK(err == 0);
	char *again = request_to_json(&back);
	CHECK(again && strcmp(again, canon) == 0);
	free(again);
	request_free(&back);
	for (int k = 0; k < 2; k++) {
		struct request_errors errs;
		err = request_parse(canon, strlen(canon), k ? REQUEST_VALIDATE : REQUEST_MEASURE,
				    &back, &errs, msg, sizeof msg);
		CHECK(err == 0);
		again = request_to_json(&back);
		CHECK(again && strcmp(again, canon) == 0);
		free(again);
		request_free(&back);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum request_kind kind = data[0] & 1 ? REQUEST_VALIDATE : REQUEST_MEASURE;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	struct measure_request r;
	struct request_errors errs;
	char msg[256];

	memset(&r, 0xa5, sizeof r);   /* request_parse must fill or zero all of it */
	int err = request_parse(body, len, kind, &r, &errs, msg, sizeof msg);
	CHECK(err == 0 || err == -EBADMSG || err == -EINVAL || err == -ENOMEM);
	CHECK(!memchr(body, '\0', len) || err == -EBADMSG);   /* a raw NUL is never JSON */
	if (err) {
		CHECK(zeroed(&r));
		CHECK(err != -EINVAL || errs.n >= 1);
		CHECK(errs.n <= REQUEST_MAX_FIELD_ERRORS);
		CHECK(memchr(msg, '\0', sizeof msg) != NULL);
		return 0;
	}
	CHECK(r.candidate_code && r.function_name && r.language && r.test_cases);
	CHECK(r.n_tests >= 1 && r.n_tests <= REQUEST_MAX_TESTS);
	char *canon = request_to_json(&r);
	CHECK(canon != NULL);
	check_roundtrip(canon);
	free(canon);
	request_free(&r);
	request_free(&r);   /* documented as safe on a freed struct */
	return 0;
}
