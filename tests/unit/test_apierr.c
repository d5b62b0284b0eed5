/* test_apierr.c — the JSON error body and code → status table. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apierr.h"
#include "testutil.h"

static json_t *load(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &e);
	ck_assert_msg(j != NULL, "not JSON: %s", s);
	return j;
}

START_TEST(plain_error)
{
	char *s = apierr_json(APIERR_NOT_FOUND, "no such task", "req-1", NULL);
	ck_assert_ptr_nonnull(s);
	json_t *j = load(s);
	ck_assert_uint_eq(json_object_size(j), 3);
	ck_assert_str_eq(json_string_value(json_object_get(j, "error")), "not_found");
	ck_assert_str_eq(json_string_value(json_object_get(j, "message")), "no such task");
	ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), "req-1");
	ck_assert_ptr_null(json_object_get(j, "field_errors"));
	json_decref(j);
	free(s);

	s = apierr_json(APIERR_INTERNAL_ERROR, "x", NULL, NULL);
	j = load(s);
	ck_assert(json_is_null(json_object_get(j, "request_id")));
	json_decref(j);
	free(s);
}
END_TEST

START_TEST(field_errors_listed)
{
	struct request_errors e = { .n = 2 };
	snprintf(e.items[0].field, sizeof e.items[0].field, "timeout_seconds");
	snprintf(e.items[0].message, sizeof e.items[0].message, "must be an integer");
	snprintf(e.items[1].field, sizeof e.items[1].field, "%s", "");
	snprintf(e.items[1].message, sizeof e.items[1].message, "quote \" and \\ and \n");
	char *s = apierr_json(APIERR_VALIDATION_ERROR, "bad request", "r", &e);
	json_t *j = load(s);
	json_t *fe = json_object_get(j, "field_errors");
	ck_assert_uint_eq(json_array_size(fe), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fe, 0), "field")),
			 "timeout_seconds");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(fe, 1), "message")),
			 "quote \" and \\ and \n");
	ck_assert_str_eq(json_string_value(json_object_get(j, "message")), "bad request");
	json_decref(j);
	free(s);

	/* no entries → no field_errors key */
	e.n = 0;
	s = apierr_json(APIERR_VALIDATION_ERROR, "bad", "r", &e);
	j = load(s);
	ck_assert_ptr_null(json_object_get(j, "field_errors"));
	json_decref(j);
	free(s);
}
END_TEST

START_TEST(dropped_errors_are_mentioned)
{
	struct request_errors *e = calloc(1, sizeof *e);
	e->n = REQUEST_MAX_FIELD_ERRORS;
	e->dropped = 7;
	for (size_t i = 0; i < e->n; i++)
		snprintf(e->items[i].field, sizeof e->items[i].field, "f%zu", i);
	char *s = apierr_json(APIERR_VALIDATION_ERROR, "bad", "r", e);
	json_t *j = load(s);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "field_errors")),
			  REQUEST_MAX_FIELD_ERRORS);
	ck_assert_str_eq(json_string_value(json_object_get(j, "message")),
			 "bad (7 more field errors not shown)");
	json_decref(j);
	free(s);
	free(e);
}
END_TEST

START_TEST(invalid_utf8_still_yields_json)
{
	char *s = apierr_json(APIERR_MALFORMED_JSON, "near '\xff\xfe'", "r", NULL);
	ck_assert_ptr_nonnull(s);
	json_t *j = load(s);
	ck_assert_str_eq(json_string_value(json_object_get(j, "message")), "near '?" "?'");
	json_decref(j);
	free(s);
	errno = 0;
	ck_assert_ptr_null(apierr_json(NULL, "m", "r", NULL));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(statuses)
{
	ck_assert_int_eq(apierr_status(APIERR_MALFORMED_JSON), 400);
	ck_assert_int_eq(apierr_status(APIERR_UNAUTHORIZED), 401);
	ck_assert_int_eq(apierr_status(APIERR_NOT_FOUND), 404);
	ck_assert_int_eq(apierr_status(APIERR_METHOD_NOT_ALLOWED), 405);
	ck_assert_int_eq(apierr_status(APIERR_CONFLICT), 409);
	ck_assert_int_eq(apierr_status(APIERR_PAYLOAD_TOO_LARGE), 413);
	ck_assert_int_eq(apierr_status(APIERR_UNSUPPORTED_MEDIA_TYPE), 415);
	ck_assert_int_eq(apierr_status(APIERR_VALIDATION_ERROR), 422);
	ck_assert_int_eq(apierr_status(APIERR_RATE_LIMITED), 429);
	ck_assert_int_eq(apierr_status(APIERR_INTERNAL_ERROR), 500);
	ck_assert_int_eq(apierr_status(APIERR_NOT_READY), 503);
	ck_assert_int_eq(apierr_status("nonsense"), 500);
	ck_assert_int_eq(apierr_status(NULL), 500);
}
END_TEST

static Suite *apierr_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("apierr", &tc);
	tcase_add_test(tc, plain_error);
	tcase_add_test(tc, field_errors_listed);
	tcase_add_test(tc, dropped_errors_are_mentioned);
	tcase_add_test(tc, invalid_utf8_still_yields_json);
	tcase_add_test(tc, statuses);
	return s;
}

TESTUTIL_MAIN(apierr_suite)
