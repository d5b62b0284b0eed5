/* The client's command line, exit codes and request building (client/args,
 * client/outcome, client/submit's submit_request): no sockets. */
#include <check.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "args.h"
#include "outcome.h"
#include "submit.h"
#include "testutil.h"

static int parse(struct client_args *a, char *why, const char *url, const char *token, ...)
{
	const char *argv[64];
	int argc = 0;
	va_list ap;
	va_start(ap, token);
	argv[argc++] = "jouletrace";
	for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
		argv[argc++] = s;
	va_end(ap);
	argv[argc] = NULL;
	why[0] = '\0';
	/* getopt does not write to argv unless it permutes, which it may: a copy */
	return client_args_parse(argc, (char **)argv, url, token, a, why, 256);
}

START_TEST(submit_with_options_anywhere)
{
	struct client_args a;
	char why[256];

	ck_assert_int_eq(parse(&a, why, NULL, NULL, "submit", "x.py", "--tests", "t.json",
			       "--trials", "7", "--wait", "--function", "f", "--json", NULL), 0);
	ck_assert_int_eq(a.cmd, CMD_SUBMIT);
	ck_assert_str_eq(a.file, "x.py");
	ck_assert_str_eq(a.tests, "t.json");
	ck_assert_str_eq(a.function, "f");
	ck_assert_int_eq(a.trials, 7);
	ck_assert(a.wait && a.json);
	ck_assert_str_eq(a.server, CLIENT_DEFAULT_URL);
	ck_assert_ptr_null(a.token);
	/* global options before the command, and a second parse in one process */
	ck_assert_int_eq(parse(&a, why, NULL, NULL, "--server", "http://h:1", "submit", "--tests",
			       "t.json", "y.py", NULL), 0);
	ck_assert_str_eq(a.server, "http://h:1");
	ck_assert_str_eq(a.file, "y.py");
	ck_assert_str_eq(a.function, "solve");
	ck_assert_int_eq(a.trials, 0);
	ck_assert(!a.wait);
}
END_TEST

START_TEST(environment_and_flags)
{
	struct client_args a;
	char why[256];

	ck_assert_int_eq(parse(&a, why, "http://env:9", "envtok", "status", "abc", NULL), 0);
	ck_assert_str_eq(a.server, "http://env:9");
	ck_assert_str_eq(a.token, "envtok");
	ck_assert_int_eq(parse(&a, why, "http://env:9", "envtok", "status", "abc", "--server",
			       "http://flag:1", "--token", "flagtok", NULL), 0);
	ck_assert_str_eq(a.server, "http://flag:1");
	ck_assert_str_eq(a.token, "flagtok");
	/* an empty variable is unset */
	ck_assert_int_eq(parse(&a, why, "", "", "cancel", "abc", NULL), 0);
	ck_assert_str_eq(a.server, CLIENT_DEFAULT_URL);
	ck_assert_ptr_null(a.token);
	ck_assert_int_eq(a.cmd, CMD_CANCEL);
	ck_assert_str_eq(a.ids[0], "abc");
	ck_assert_int_eq(parse(&a, why, NULL, NULL, "verify", "-", "--pubkey", "k.pub", NULL), 0);
	ck_assert_int_eq(a.cmd, CMD_VERIFY);
	ck_assert_str_eq(a.file, "-");
	ck_assert_str_eq(a.pubkey, "k.pub");
	ck_assert_int_eq(parse(&a, why, NULL, NULL, "compare", "a", "b", "c", NULL), 0);
	ck_assert_uint_eq(a.nids, 3);
	ck_assert_str_eq(a.ids[2], "c");
	ck_assert_int_eq(parse(&a, why, NULL, NULL, "--help", NULL), 0);
	ck_assert_int_eq(a.cmd, CMD_HELP);
}
END_TEST

START_TEST(usage_errors_say_why)
{
	struct client_args a;
	char why[256];
	static const struct {
		const char *args[6];
		const char *why;
	} bad[] = {
		{ { NULL }, "no command" },
		{ { "frobnicate", NULL }, "unknown command" },
		{ { "submit", "x.py", NULL }, "--tests" },
		{ { "submit", "--tests", "t", NULL }, "one FILE.py" },
		{ { "status", "a", "--wait", NULL }, "go with submit" },
		{ { "status", "a", "--pubkey", "k", NULL }, "goes with verify" },
		{ { "status", NULL }, "one task id" },
		{ { "compare", "a", NULL }, "2 to 20" },
		{ { "submit", "x", "--tests", "t", "--trials", "0" }, "1..50" },
		{ { "submit", "x", "--tests", "t", "--trials", "x1" }, "1..50" },
		{ { "status", "a", "--server", NULL }, "needs a value" },
		{ { "status", "a", "--bogus", NULL }, "unknown option" },
		{ { "status", "a", "--server", "", NULL }, "empty" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *const *v = bad[i].args;
		int ret = parse(&a, why, NULL, NULL, v[0], v[0] ? v[1] : NULL, v[0] && v[1] ? v[2] : NULL,
				v[0] && v[1] && v[2] ? v[3] : NULL,
				v[0] && v[1] && v[2] && v[3] ? v[4] : NULL,
				v[0] && v[1] && v[2] && v[3] && v[4] ? v[5] : NULL, NULL);
		ck_assert_msg(ret == -EINVAL, "case %zu accepted", i);
		ck_assert_msg(strstr(why, bad[i].why), "case %zu: '%s' lacks '%s'", i, why, bad[i].why);
	}
	const char *ids[CLIENT_MAX_IDS + 3];
	ids[0] = "jouletrace";
	ids[1] = "compare";
	for (int i = 0; i <= CLIENT_MAX_IDS; i++)
		ids[2 + i] = "x";
	ck_assert_int_eq(client_args_parse(CLIENT_MAX_IDS + 3, (char **)ids, NULL, NULL, &a, why, sizeof why),
			 -EINVAL);
	ck_assert_int_eq(client_args_parse(CLIENT_MAX_IDS + 2, (char **)ids, NULL, NULL, &a, why, sizeof why), 0);
	ck_assert_uint_eq(a.nids, CLIENT_MAX_IDS);
}
END_TEST

START_TEST(exit_codes)
{
	ck_assert_int_eq(client_exit_of_status("completed"), 0);
	ck_assert_int_eq(client_exit_of_status("failed"), 1);
	ck_assert_int_eq(client_exit_of_status("cancelled"), 3);
	ck_assert_int_eq(client_exit_of_status("running"), 0);
	ck_assert_int_eq(client_exit_of_status(NULL), 5);
	ck_assert_int_eq(client_exit_of_error(-ECONNREFUSED), 4);
	ck_assert_int_eq(client_exit_of_error(-EHOSTUNREACH), 4);
	ck_assert_int_eq(client_exit_of_error(-ETIMEDOUT), 4);
	ck_assert_int_eq(client_exit_of_error(-EPROTO), 5);
	ck_assert_int_eq(client_exit_of_error(-E2BIG), 5);
	ck_assert_int_eq(client_exit_of_error(-EINVAL), 2);
	ck_assert_int_eq(client_exit_of_http(200), 0);
	ck_assert_int_eq(client_exit_of_http(202), 0);
	ck_assert_int_eq(client_exit_of_http(401), 5);
	ck_assert_int_eq(client_exit_of_http(503), 5);
	/* the usage text documents every code */
	const char *u = client_usage();
	const char *codes[] = { "  0  ", "  1  ", "  2  ", "  3  ", "  4  ", "  5  ", "  130 " };
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		ck_assert_msg(strstr(u, codes[i]), "usage lacks exit code '%s'", codes[i]);
}
END_TEST

static char dir[64];

static void setup(void)
{
	testutil_tmpdir(dir, sizeof dir, "client");
	testutil_write(dir, "s.py", "def solve(n):\n    return n\n");
	testutil_write(dir, "arr.json", "[{\"test_id\":\"t1\",\"inputs\":[1],\"expected_output\":1}]");
	testutil_write(dir, "obj.json", "{\"test_cases\":[{\"test_id\":\"t1\",\"inputs\":[1],"
		       "\"expected_output\":1}], \"note\": 1}");
	testutil_write(dir, "bad.json", "[{\"test_id\": ");
	testutil_write(dir, "num.json", "42");
}

static void teardown(void)
{
	testutil_rmtree(dir);
}

static json_t *request(const char *file, const char *tests, int trials, char *why)
{
	char f[128], t[128];
	struct client_args a = { .function = "solve", .trials = trials, .candidate_id = "c1" };
	snprintf(f, sizeof f, "%s/%s", dir, file);
	snprintf(t, sizeof t, "%s/%s", dir, tests);
	a.file = f;
	a.tests = t;
	why[0] = '\0';
	return submit_request(&a, why, 256);
}

START_TEST(request_from_files)
{
	char why[256];
	json_t *r = request("s.py", "arr.json", 4, why);

	ck_assert_msg(r != NULL, "%s", why);
	ck_assert_str_eq(json_string_value(json_object_get(r, "candidate_code")),
			 "def solve(n):\n    return n\n");
	ck_assert_str_eq(json_string_value(json_object_get(r, "function_name")), "solve");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "energy_measurement_trials")), 4);
	ck_assert_str_eq(json_string_value(json_object_get(r, "candidate_id")), "c1");
	ck_assert_ptr_null(json_object_get(r, "problem_name"));
	ck_assert_uint_eq(json_array_size(json_object_get(r, "test_cases")), 1);
	json_decref(r);
	/* an object with test_cases: only the cases are sent; no --trials: server default */
	r = request("s.py", "obj.json", 0, why);
	ck_assert_msg(r != NULL, "%s", why);
	ck_assert_uint_eq(json_array_size(json_object_get(r, "test_cases")), 1);
	ck_assert_ptr_null(json_object_get(r, "note"));
	ck_assert_ptr_null(json_object_get(r, "energy_measurement_trials"));
	json_decref(r);
}
END_TEST

START_TEST(request_errors_are_clear)
{
	char why[256], big[128];

	ck_assert_ptr_null(request("missing.py", "arr.json", 0, why));
	ck_assert_msg(strstr(why, "missing.py") && strstr(why, "No such file"), "%s", why);
	ck_assert_ptr_null(request("s.py", "missing.json", 0, why));
	ck_assert_msg(strstr(why, "missing.json") && strstr(why, "No such file"), "%s", why);
	ck_assert_ptr_null(request("s.py", "bad.json", 0, why));
	ck_assert_msg(strstr(why, "is not JSON") && strstr(why, "line 1"), "%s", why);
	ck_assert_ptr_null(request("s.py", "num.json", 0, why));
	ck_assert_msg(strstr(why, "test_cases"), "%s", why);
	/* over the server's 1 MiB request limit */
	snprintf(big, sizeof big, "%s/big.py", dir);
	FILE *f = fopen(big, "w");
	ck_assert_ptr_nonnull(f);
	for (unsigned i = 0; i <= SUBMIT_FILE_MAX / 16; i++)
		fputs("# padding......\n", f);
	fclose(f);
	ck_assert_ptr_null(request("big.py", "arr.json", 0, why));
	ck_assert_msg(strstr(why, "over") && strstr(why, "request limit"), "%s", why);
}
END_TEST

static Suite *client_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("client", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, submit_with_options_anywhere);
	tcase_add_test(tc, environment_and_flags);
	tcase_add_test(tc, usage_errors_say_why);
	tcase_add_test(tc, exit_codes);
	tcase_add_test(tc, request_from_files);
	tcase_add_test(tc, request_errors_are_clear);
	return s;
}

TESTUTIL_MAIN(client_suite)
