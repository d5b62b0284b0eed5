/* test_jsoncmp.c — the worker's output comparison (SPEC §4 rules) and how a
 * large value is shown. */
#include <check.h>
#include <jansson.h>
#include <string.h>

#include "jsoncmp.h"
#include "testutil.h"

/* actual and expected as JSON text */
static bool eq(const char *a, const char *b)
{
	json_error_t je;
	json_t *x = json_loads(a, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je),
	       *y = json_loads(b, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	ck_assert_msg(x && y, "bad JSON in the test: %s / %s", a, b);
	bool r = jsoncmp_equal(x, y);
	ck_assert_int_eq(r, jsoncmp_equal(y, x));   /* symmetric */
	json_decref(x);
	json_decref(y);
	return r;
}

START_TEST(numbers)
{
	ck_assert(eq("3", "3"));
	ck_assert(!eq("3", "4"));
	/* integers are exact, even where a relative tolerance would accept */
	ck_assert(!eq("1000000007", "1000000008"));
	ck_assert(!eq("9007199254740993", "9007199254740992"));
	/* a real involved: rel 1e-9 or abs 1e-9 */
	ck_assert(eq("3", "3.0"));
	ck_assert(eq("0.1", "0.10000000001"));
	ck_assert(eq("1e12", "1000000000100.0"));
	ck_assert(!eq("1e12", "1000000002000.0"));
	ck_assert(eq("0.0", "1e-10"));
	ck_assert(!eq("0.0", "1e-8"));
	ck_assert(!eq("2.5", "2"));
}
END_TEST

START_TEST(types)
{
	/* bool equals only bool */
	ck_assert(!eq("true", "1"));
	ck_assert(!eq("false", "0"));
	ck_assert(!eq("false", "0.0"));
	ck_assert(eq("true", "true"));
	ck_assert(!eq("true", "false"));
	ck_assert(eq("null", "null"));
	ck_assert(!eq("null", "0"));
	ck_assert(!eq("null", "\"\""));
	ck_assert(!eq("\"1\"", "1"));
	ck_assert(!eq("[]", "{}"));
	ck_assert(!jsoncmp_equal(NULL, json_null()));
	ck_assert(!jsoncmp_equal(json_null(), NULL));
}
END_TEST

START_TEST(containers)
{
	ck_assert(eq("[1, [2.0, {\"a\": null}]]", "[1, [2, {\"a\": null}]]"));
	ck_assert(!eq("[1, 2]", "[2, 1]"));
	ck_assert(!eq("[1, 2]", "[1, 2, 3]"));
	ck_assert(eq("{\"a\": 1, \"b\": [true]}", "{\"b\": [true], \"a\": 1}"));
	ck_assert(!eq("{\"a\": 1}", "{\"a\": 1, \"b\": 2}"));
	ck_assert(!eq("{\"a\": 1}", "{\"b\": 1}"));
	ck_assert(eq("\"h\\u00e9\\u0000x\"", "\"h\\u00e9\\u0000x\""));
	ck_assert(!eq("\"a\\u0000b\"", "\"a\\u0000c\""));
	ck_assert(!eq("\"a\\u0000b\"", "\"a\""));
}
END_TEST

START_TEST(shown)
{
	json_t *small = json_pack("[i, s]", 1, "x");
	json_t *s = jsoncmp_shown(small, 100);
	ck_assert_ptr_eq(s, small);
	json_decref(s);

	json_t *big = json_array();
	for (int i = 0; i < 1000; i++)
		json_array_append_new(big, json_string("\xc3\xa9\xc3\xa9"));  /* éé: multi-byte */
	s = jsoncmp_shown(big, 300);
	ck_assert(json_is_string(s));
	ck_assert_uint_le(strlen(json_string_value(s)), 300);
	ck_assert_msg(strstr(json_string_value(s), "...(truncated, "), "%s", json_string_value(s));
	ck_assert_msg(strstr(json_string_value(s), " bytes)"), "%s", json_string_value(s));
	json_decref(s);
	s = jsoncmp_shown(big, 10);   /* a budget under the note still gives a string */
	ck_assert(json_is_string(s));
	json_decref(s);
	json_decref(big);
	json_decref(small);
}
END_TEST

static Suite *jsoncmp_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("jsoncmp", &tc);
	tcase_add_test(tc, numbers);
	tcase_add_test(tc, types);
	tcase_add_test(tc, containers);
	tcase_add_test(tc, shown);
	return s;
}

TESTUTIL_MAIN(jsoncmp_suite)
