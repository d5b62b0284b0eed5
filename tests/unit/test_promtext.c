/* promtext: HELP/TYPE lines, label escaping, histogram lines. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "promtext.h"
#include "testutil.h"

static char *escaped(const char *s)
{
	struct dynbuf b;
	dynbuf_init(&b, 1024);
	ck_assert_int_eq(promtext_label_value(&b, s), 0);
	char *t = dynbuf_take(&b, NULL);
	dynbuf_free(&b);
	return t;
}

START_TEST(label_escapes)
{
	const struct { const char *in, *out; } cases[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "two\nlines", "two\\nlines" },
		{ "tab\tcr\r\x7f", "tab?cr??" },
		{ "/system.slice/ü.service", "/system.slice/ü.service" },
		{ "\\\"\n", "\\\\\\\"\\n" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *t = escaped(cases[i].in);
		ck_assert_str_eq(t, cases[i].out);
		free(t);
	}
	char *t = escaped(NULL);
	ck_assert_str_eq(t, "");
	free(t);
}
END_TEST

START_TEST(histogram_lines)
{
	static const double bounds[] = { 0.001, 0.01 };
	static const unsigned long long cum[] = { 1, 3, 4 };
	struct promtext_hist h = { .bounds = bounds, .n = 2, .cumulative = cum, .sum = 0.5 };
	struct dynbuf b;
	dynbuf_init(&b, 4096);
	ck_assert_int_eq(promtext_head(&b, "x_seconds", "histogram", "Some time."), 0);
	ck_assert_int_eq(promtext_histogram(&b, "x_seconds", "", &h), 0);
	ck_assert_int_eq(promtext_histogram(&b, "x_seconds", "k=\"v\",", &h), 0);
	char *t = dynbuf_take(&b, NULL);
	ck_assert_str_eq(t, "# HELP x_seconds Some time.\n# TYPE x_seconds histogram\n"
			    "x_seconds_bucket{le=\"0.001\"} 1\nx_seconds_bucket{le=\"0.01\"} 3\n"
			    "x_seconds_bucket{le=\"+Inf\"} 4\nx_seconds_sum 0.5\nx_seconds_count 4\n"
			    "x_seconds_bucket{k=\"v\",le=\"0.001\"} 1\n"
			    "x_seconds_bucket{k=\"v\",le=\"0.01\"} 3\n"
			    "x_seconds_bucket{k=\"v\",le=\"+Inf\"} 4\n"
			    "x_seconds_sum{k=\"v\"} 0.5\nx_seconds_count{k=\"v\"} 4\n");
	free(t);
	dynbuf_free(&b);
}
END_TEST

START_TEST(full_buffer_is_an_error)
{
	struct dynbuf b;
	dynbuf_init(&b, 8);
	ck_assert_int_eq(promtext_label_value(&b, "0123456789"), -E2BIG);
	dynbuf_free(&b);
}
END_TEST

static Suite *promtext_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("promtext", &tc);
	tcase_add_test(tc, label_escapes);
	tcase_add_test(tc, histogram_lines);
	tcase_add_test(tc, full_buffer_is_an_error);
	return s;
}

TESTUTIL_MAIN(promtext_suite)
