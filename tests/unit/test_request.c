/* test_request.c — the measure/validate request schema (SPEC §4). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "testutil.h"

#define BASE_CODE "def solve(x):\n    return x\n"

/* A minimal valid request; tests patch one field at a time. */
static json_t *base(void)
{
	json_error_t e;
	json_t *j = json_loads("{\"candidate_code\":\"def solve(x):\\n    return x\\n\","
			       "\"test_cases\":[{\"test_id\":\"t1\",\"inputs\":[1],"
			       "\"expected_output\":1}]}",
			       0, &e);
	ck_assert_ptr_nonnull(j);
	return j;
}

struct result {
	int rc;
	struct measure_request r;
	struct request_errors e;
	char msg[512];
};

static void run_text(struct result *res, const char *text, size_t len, enum request_kind k)
{
	memset(res, 0xA5, sizeof *res); /* prove the parser initialises everything */
	res->rc = request_parse(text, len, k, &res->r, &res->e, res->msg, sizeof res->msg);
}

static void run_json(struct result *res, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	ck_assert_ptr_nonnull(text);
	run_text(res, text, strlen(text), REQUEST_MEASURE);
	free(text);
	json_decref(j);
}

/* base() with key set to the JSON in value_text (NULL: key removed). */
static void run_with(struct result *res, const char *key, const char *value_text)
{
	json_t *j = base();
	if (value_text) {
		json_error_t e;
		json_t *v = json_loads(value_text, JSON_DECODE_ANY, &e);
		ck_assert_msg(v != NULL, "bad test JSON %s", value_text);
		json_object_set_new(j, key, v);
	} else {
		json_object_del(j, key);
	}
	run_json(res, j);
}

static const struct field_error *find_err(const struct result *res, const char *field)
{
	for (size_t i = 0; i < res->e.n; i++)
		if (strcmp(res->e.items[i].field, field) == 0)
			return &res->e.items[i];
	return NULL;
}

static void expect_one_error(const struct result *res, const char *field, const char *substr)
{
	ck_assert_int_eq(res->rc, -EINVAL);
	ck_assert_msg(res->e.n == 1, "expected 1 error, got %zu (first %s: %s)", res->e.n,
		      res->e.n ? res->e.items[0].field : "-", res->e.n ? res->e.items[0].message : "-");
	ck_assert_str_eq(res->e.items[0].field, field);
	if (substr)
		ck_assert_msg(strstr(res->e.items[0].message, substr), "message '%s' lacks '%s'",
			      res->e.items[0].message, substr);
	/* a failed parse leaves nothing to free */
	ck_assert_ptr_null(res->r.candidate_code);
	ck_assert_ptr_null(res->r.test_cases);
}

static void expect_ok(struct result *res)
{
	ck_assert_msg(res->rc == 0, "rc %d: %s", res->rc, res->msg);
	ck_assert_uint_eq(res->e.n, 0);
}

START_TEST(defaults_filled)
{
	struct result res;
	run_json(&res, base());
	expect_ok(&res);
	struct measure_request *r = &res.r;
	ck_assert_str_eq(r->candidate_code, BASE_CODE);
	ck_assert_str_eq(r->function_name, "solve");
	ck_assert_str_eq(r->language, "python");
	ck_assert_uint_eq(r->n_tests, 1);
	ck_assert(json_is_array(r->test_cases));
	ck_assert_int_eq(r->timeout_seconds, 30);
	ck_assert_int_eq(r->memory_limit_mb, 512);
	ck_assert_int_eq(r->energy_measurement_trials, 5);
	ck_assert_int_eq(r->min_trials, 3);
	ck_assert_double_eq(r->target_cv_percent, 5.0);
	ck_assert_int_eq(r->warmup_trials, 1);
	ck_assert_double_eq(r->min_trial_seconds, 0.2);
	ck_assert(!r->cpu_core_set);
	ck_assert_int_eq(r->cpu_core, -1);
	ck_assert_ptr_null(r->candidate_id);
	ck_assert_ptr_null(r->problem_name);
	request_free(r);
	request_free(r); /* idempotent */
}
END_TEST

START_TEST(all_fields_set)
{
	struct result res;
	json_t *j = base();
	json_object_set_new(j, "function_name", json_string("my_func2"));
	json_object_set_new(j, "language", json_string("python"));
	json_object_set_new(j, "timeout_seconds", json_integer(300));
	json_object_set_new(j, "memory_limit_mb", json_integer(64));
	json_object_set_new(j, "energy_measurement_trials", json_integer(50));
	json_object_set_new(j, "min_trials", json_integer(50));
	json_object_set_new(j, "target_cv_percent", json_integer(7));
	json_object_set_new(j, "warmup_trials", json_integer(0));
	json_object_set_new(j, "min_trial_seconds", json_real(0.01));
	json_object_set_new(j, "cpu_core", json_integer(1));
	json_object_set_new(j, "candidate_id", json_string("cand-1"));
	json_object_set_new(j, "problem_name", json_string("two sum"));
	run_json(&res, j);
	expect_ok(&res);
	ck_assert_str_eq(res.r.function_name, "my_func2");
	ck_assert_int_eq(res.r.timeout_seconds, 300);
	ck_assert_int_eq(res.r.memory_limit_mb, 64);
	ck_assert_int_eq(res.r.energy_measurement_trials, 50);
	ck_assert_int_eq(res.r.min_trials, 50);
	ck_assert_double_eq(res.r.target_cv_percent, 7.0);
	ck_assert_int_eq(res.r.warmup_trials, 0);
	ck_assert_double_eq(res.r.min_trial_seconds, 0.01);
	ck_assert(res.r.cpu_core_set);
	ck_assert_int_eq(res.r.cpu_core, 1);
	ck_assert_str_eq(res.r.candidate_id, "cand-1");
	ck_assert_str_eq(res.r.problem_name, "two sum");
	request_free(&res.r);
}
END_TEST

START_TEST(missing_required)
{
	struct result res;
	run_with(&res, "candidate_code", NULL);
	expect_one_error(&res, "candidate_code", "required");
	run_with(&res, "test_cases", NULL);
	expect_one_error(&res, "test_cases", "required");
}
END_TEST

/* Bounds: every numeric field just below, at and just above each edge. */
static const struct bound_case {
	const char *key, *value;
	int ok;
} bounds[] = {
	{ "timeout_seconds", "0", 0 }, { "timeout_seconds", "1", 1 },
	{ "timeout_seconds", "300", 1 }, { "timeout_seconds", "301", 0 },
	{ "timeout_seconds", "-5", 0 },
	{ "memory_limit_mb", "63", 0 }, { "memory_limit_mb", "64", 1 },
	{ "memory_limit_mb", "8192", 1 }, { "memory_limit_mb", "8193", 0 },
	{ "energy_measurement_trials", "0", 0 }, { "energy_measurement_trials", "1", 1 },
	{ "energy_measurement_trials", "50", 1 }, { "energy_measurement_trials", "51", 0 },
	{ "min_trials", "0", 0 }, { "min_trials", "1", 1 },
	{ "min_trials", "5", 1 }, { "min_trials", "6", 0 }, /* max defaults to 5 */
	{ "target_cv_percent", "0.09999", 0 }, { "target_cv_percent", "0.1", 1 },
	{ "target_cv_percent", "100", 1 }, { "target_cv_percent", "100.0001", 0 },
	{ "target_cv_percent", "0", 0 },
	{ "warmup_trials", "-1", 0 }, { "warmup_trials", "0", 1 },
	{ "warmup_trials", "10", 1 }, { "warmup_trials", "11", 0 },
	{ "min_trial_seconds", "0.0099", 0 }, { "min_trial_seconds", "0.01", 1 },
	{ "min_trial_seconds", "10", 1 }, { "min_trial_seconds", "10.0", 1 },
	{ "min_trial_seconds", "10.001", 0 },
	{ "cpu_core", "-1", 0 }, { "cpu_core", "0", 1 }, { "cpu_core", "8191", 1 },
	{ "cpu_core", "8192", 0 }, { "cpu_core", "null", 1 },
	{ "timeout_seconds", "99999999999999", 0 },
};

START_TEST(numeric_bounds)
{
	const struct bound_case *b = &bounds[_i];
	struct result res;
	run_with(&res, b->key, b->value);
	if (b->ok) {
		ck_assert_msg(res.rc == 0, "%s=%s rejected: %s", b->key, b->value, res.msg);
		request_free(&res.r);
	} else {
		ck_assert_msg(res.rc == -EINVAL, "%s=%s accepted", b->key, b->value);
		expect_one_error(&res, b->key, "between");
		ck_assert_msg(strstr(res.e.items[0].message, b->value) ||
			      strcmp(b->key, "target_cv_percent") == 0 ||
			      strcmp(b->key, "min_trial_seconds") == 0,
			      "message '%s' does not quote %s", res.e.items[0].message, b->value);
	}
}
END_TEST

START_TEST(bound_message_text)
{
	struct result res;
	run_with(&res, "timeout_seconds", "301");
	expect_one_error(&res, "timeout_seconds", NULL);
	ck_assert_str_eq(res.e.items[0].message, "must be an integer between 1 and 300, got 301");
}
END_TEST

/* Type errors: value text → the field must reject it. */
static const struct bound_case types[] = {
	{ "candidate_code", "42", 0 }, { "candidate_code", "null", 0 },
	{ "candidate_code", "[\"x\"]", 0 },
	{ "function_name", "7", 0 }, { "function_name", "null", 0 },
	{ "test_cases", "{}", 0 }, { "test_cases", "\"t\"", 0 }, { "test_cases", "null", 0 },
	{ "language", "1", 0 }, { "language", "\"rust\"", 0 }, { "language", "\"Python\"", 0 },
	{ "timeout_seconds", "5.0", 0 }, { "timeout_seconds", "5.5", 0 },
	{ "timeout_seconds", "\"5\"", 0 }, { "timeout_seconds", "true", 0 },
	{ "timeout_seconds", "null", 0 }, { "memory_limit_mb", "[512]", 0 },
	{ "energy_measurement_trials", "false", 0 }, { "min_trials", "3.0", 0 },
	{ "warmup_trials", "{}", 0 },
	{ "target_cv_percent", "true", 0 }, { "target_cv_percent", "\"5\"", 0 },
	{ "min_trial_seconds", "null", 0 },
	{ "cpu_core", "\"1\"", 0 }, { "cpu_core", "1.0", 0 }, { "cpu_core", "true", 0 },
	{ "candidate_id", "5", 0 }, { "candidate_id", "{}", 0 },
	{ "problem_name", "false", 0 },
};

START_TEST(wrong_types)
{
	const struct bound_case *t = &types[_i];
	struct result res;
	run_with(&res, t->key, t->value);
	ck_assert_msg(res.rc == -EINVAL, "%s=%s accepted", t->key, t->value);
	expect_one_error(&res, t->key, "must");
}
END_TEST

START_TEST(type_message_names_the_type)
{
	struct result res;
	run_with(&res, "timeout_seconds", "\"30\"");
	expect_one_error(&res, "timeout_seconds", "got string");
	run_with(&res, "timeout_seconds", "30.0");
	expect_one_error(&res, "timeout_seconds", "got 30");
	run_with(&res, "memory_limit_mb", "true");
	expect_one_error(&res, "memory_limit_mb", "got boolean");
}
END_TEST

START_TEST(min_trials_default_and_max)
{
	struct result res;
	static const struct { long max, expect; } cases[] = { { 1, 1 }, { 2, 2 }, { 3, 3 }, { 10, 3 } };
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		json_t *j = base();
		json_object_set_new(j, "energy_measurement_trials", json_integer(cases[i].max));
		run_json(&res, j);
		expect_ok(&res);
		ck_assert_int_eq(res.r.min_trials, cases[i].expect);
		request_free(&res.r);
	}
	json_t *j = base();
	json_object_set_new(j, "energy_measurement_trials", json_integer(4));
	json_object_set_new(j, "min_trials", json_integer(5));
	run_json(&res, j);
	expect_one_error(&res, "min_trials", "energy_measurement_trials (4)");

	j = base();
	json_object_set_new(j, "energy_measurement_trials", json_integer(4));
	json_object_set_new(j, "min_trials", json_integer(4));
	run_json(&res, j);
	expect_ok(&res);
	ck_assert_int_eq(res.r.min_trials, 4);
	request_free(&res.r);

	/* an invalid max still bounds min_trials by the absolute 1..50 */
	j = base();
	json_object_set_new(j, "energy_measurement_trials", json_integer(99));
	json_object_set_new(j, "min_trials", json_integer(40));
	run_json(&res, j);
	expect_one_error(&res, "energy_measurement_trials", NULL);
}
END_TEST

START_TEST(unknown_fields)
{
	struct result res;
	run_with(&res, "foo", "1");
	expect_one_error(&res, "foo", "unknown field");

	json_t *j = base();
	json_object_set_new(json_array_get(json_object_get(j, "test_cases"), 0), "foo",
			    json_true());
	run_json(&res, j);
	expect_one_error(&res, "test_cases[0].foo", "unknown field");
}
END_TEST

static json_t *tests_array(size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof id, "t%zu", i);
		json_array_append_new(a, json_pack("{s:s, s:[i], s:i}", "test_id", id,
						   "inputs", (int)i, "expected_output", (int)i));
	}
	return a;
}

START_TEST(test_case_count)
{
	struct result res;
	json_t *j = base();
	json_object_set_new(j, "test_cases", json_array());
	run_json(&res, j);
	expect_one_error(&res, "test_cases", "got 0");

	j = base();
	json_object_set_new(j, "test_cases", tests_array(1001));
	run_json(&res, j);
	expect_one_error(&res, "test_cases", "got 1001");

	j = base();
	json_object_set_new(j, "test_cases", tests_array(1000));
	run_json(&res, j);
	expect_ok(&res);
	ck_assert_uint_eq(res.r.n_tests, 1000);
	request_free(&res.r);
}
END_TEST

START_TEST(duplicate_test_ids)
{
	struct result res;
	json_t *j = base();
	json_t *a = tests_array(5);
	json_object_set_new(json_array_get(a, 3), "test_id", json_string("t0"));
	json_object_set_new(json_array_get(a, 4), "test_id", json_string("t0"));
	json_object_set_new(j, "test_cases", a);
	run_json(&res, j);
	ck_assert_int_eq(res.rc, -EINVAL);
	ck_assert_uint_eq(res.e.n, 2);
	ck_assert_str_eq(res.e.items[0].field, "test_cases[3].test_id");
	ck_assert_str_eq(res.e.items[1].field, "test_cases[4].test_id");
	ck_assert_ptr_nonnull(strstr(res.e.items[0].message, "duplicate test_id \"t0\""));
	ck_assert_ptr_nonnull(strstr(res.e.items[1].message, "test_cases[0]"));

	/* a prefix is not a duplicate */
	j = base();
	a = tests_array(2);
	json_object_set_new(json_array_get(a, 0), "test_id", json_string("ab"));
	json_object_set_new(json_array_get(a, 1), "test_id", json_string("abc"));
	json_object_set_new(j, "test_cases", a);
	run_json(&res, j);
	expect_ok(&res);
	request_free(&res.r);
}
END_TEST

START_TEST(test_case_fields)
{
	struct result res;
	static const struct { const char *tc, *field, *msg; } bad[] = {
		{ "5", "test_cases[0]", "must be an object" },
		{ "{\"inputs\":1,\"expected_output\":1}", "test_cases[0].test_id", "required" },
		{ "{\"test_id\":\"\",\"inputs\":1,\"expected_output\":1}", "test_cases[0].test_id", "empty" },
		{ "{\"test_id\":7,\"inputs\":1,\"expected_output\":1}", "test_cases[0].test_id", "string" },
		{ "{\"test_id\":\"a\",\"expected_output\":1}", "test_cases[0].inputs", "required" },
		{ "{\"test_id\":\"a\",\"inputs\":1}", "test_cases[0].expected_output", "required" },
		{ "{\"test_id\":\"a\",\"inputs\":1,\"expected_output\":1,\"metadata\":[]}",
		  "test_cases[0].metadata", "object" },
		{ "{\"test_id\":\"a\",\"inputs\":1,\"expected_output\":1,\"metadata\":\"m\"}",
		  "test_cases[0].metadata", "object" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char text[256];
		snprintf(text, sizeof text, "[%s]", bad[i].tc);
		run_with(&res, "test_cases", text);
		expect_one_error(&res, bad[i].field, bad[i].msg);
	}
	/* null inputs/output are legitimate values; metadata may be null or an object */
	run_with(&res, "test_cases",
		 "[{\"test_id\":\"a\",\"inputs\":null,\"expected_output\":null,\"metadata\":null},"
		 "{\"test_id\":\"b\",\"inputs\":{\"k\":1},\"expected_output\":[1,2],"
		 "\"metadata\":{\"difficulty\":\"easy\"}}]");
	expect_ok(&res);
	ck_assert_uint_eq(res.r.n_tests, 2);
	request_free(&res.r);

	char id[300];
	memset(id, 'x', 257);
	id[257] = '\0';
	json_t *j = base();
	json_object_set_new(json_array_get(json_object_get(j, "test_cases"), 0), "test_id",
			    json_string(id));
	run_json(&res, j);
	expect_one_error(&res, "test_cases[0].test_id", "at most 256");
	id[256] = '\0';
	j = base();
	json_object_set_new(json_array_get(json_object_get(j, "test_cases"), 0), "test_id",
			    json_string(id));
	run_json(&res, j);
	expect_ok(&res);
	request_free(&res.r);
}
END_TEST

static char *nested(int depth)
{
	char *s = malloc((size_t)depth * 2 + 2);
	for (int i = 0; i < depth; i++)
		s[i] = '[';
	s[depth] = '1';
	for (int i = 0; i < depth; i++)
		s[depth + 1 + i] = ']';
	s[2 * depth + 1] = '\0';
	return s;
}

START_TEST(nesting_depth)
{
	struct result res;
	char *ok = nested(REQUEST_MAX_DEPTH), *bad = nested(REQUEST_MAX_DEPTH + 1);
	char text[512];
	snprintf(text, sizeof text, "[{\"test_id\":\"a\",\"inputs\":%s,\"expected_output\":1}]", ok);
	run_with(&res, "test_cases", text);
	expect_ok(&res);
	request_free(&res.r);
	snprintf(text, sizeof text, "[{\"test_id\":\"a\",\"inputs\":1,\"expected_output\":%s}]", bad);
	run_with(&res, "test_cases", text);
	expect_one_error(&res, "test_cases[0].expected_output", "deeper than 64");
	free(ok);
	free(bad);
}
END_TEST

START_TEST(malformed_json)
{
	struct result res;
	static const char *const texts[] = {
		"", "{", "{\"candidate_code\": }", "nul", "{\"a\":1,}", "{\"a\":1} x",
		"{\"candidate_code\":\"a\\u0000b\"}", "{\"x\":\"\xff\"}",
		"{\"timeout_seconds\":100000000000000000000000000}",
	};
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		run_text(&res, texts[i], strlen(texts[i]), REQUEST_MEASURE);
		ck_assert_msg(res.rc == -EBADMSG, "'%s' gave %d", texts[i], res.rc);
		ck_assert_ptr_nonnull(strstr(res.msg, "malformed JSON"));
		ck_assert_uint_eq(res.e.n, 0);
	}
	/* only len bytes count: the valid prefix parses, the garbage after it is unseen */
	const char *t = "{\"candidate_code\":\"x\",\"test_cases\":[{\"test_id\":\"a\",\"inputs\":1,"
			"\"expected_output\":1}]}GARBAGE";
	run_text(&res, t, strlen(t) - 7, REQUEST_MEASURE);
	expect_ok(&res);
	request_free(&res.r);
	/* a raw NUL byte anywhere, even where jansson 2.14 would skip it (right
	 * after a number or a literal; found by fuzz/fuzz_request.c) */
	static const char nul[] = "{\"candidate_code\":\"x\",\"test_cases\":[{\"test_id\":\"a\","
				  "\"inputs\":1\0,\"expected_output\":true\0}]}";
	run_text(&res, nul, sizeof nul - 1, REQUEST_MEASURE);
	ck_assert_int_eq(res.rc, -EBADMSG);
	ck_assert_msg(strstr(res.msg, "NUL byte at offset 61"), "%s", res.msg);
}
END_TEST

START_TEST(duplicate_keys)
{
	struct result res;
	const char *t = "{\"candidate_code\":\"a\",\"candidate_code\":\"b\",\"test_cases\":[]}";
	run_text(&res, t, strlen(t), REQUEST_MEASURE);
	ck_assert_int_eq(res.rc, -EBADMSG);
	ck_assert_ptr_nonnull(strstr(res.msg, "duplicate"));
	t = "{\"candidate_code\":\"a\",\"test_cases\":[{\"test_id\":\"a\","
	    "\"inputs\":{\"k\":1,\"k\":2},\"expected_output\":1}]}";
	run_text(&res, t, strlen(t), REQUEST_MEASURE);
	ck_assert_int_eq(res.rc, -EBADMSG);
}
END_TEST

START_TEST(non_object_top_level)
{
	struct result res;
	static const char *const texts[] = { "[]", "\"x\"", "1", "null", "true" };
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		run_text(&res, texts[i], strlen(texts[i]), REQUEST_MEASURE);
		expect_one_error(&res, "", "must be a JSON object");
	}
}
END_TEST

START_TEST(function_names)
{
	struct result res;
	static const char *const bad[] = { "\"1abc\"", "\"a-b\"", "\"\"", "\"class\"",
					   "\"None\"", "\"lambda\"", "\"\\u00e9t\"", "\"a b\"",
					   "\"solve()\"" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		run_with(&res, "function_name", bad[i]);
		expect_one_error(&res, "function_name", "Python identifier");
	}
	static const char *const good[] = { "\"_x9\"", "\"match\"", "\"Solve\"", "\"_\"" };
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		run_with(&res, "function_name", good[i]);
		expect_ok(&res);
		request_free(&res.r);
	}
	char name[140];
	memset(name, 'f', 129);
	name[129] = '\0';
	json_t *j = base();
	json_object_set_new(j, "function_name", json_string(name));
	run_json(&res, j);
	expect_one_error(&res, "function_name", "Python identifier");
	name[128] = '\0';
	j = base();
	json_object_set_new(j, "function_name", json_string(name));
	run_json(&res, j);
	expect_ok(&res);
	ck_assert_uint_eq(strlen(res.r.function_name), 128);
	request_free(&res.r);
}
END_TEST

START_TEST(candidate_code_size)
{
	struct result res;
	char *code = malloc(REQUEST_MAX_CODE_BYTES + 2);
	memset(code, '#', REQUEST_MAX_CODE_BYTES + 1);
	code[REQUEST_MAX_CODE_BYTES + 1] = '\0';
	json_t *j = base();
	json_object_set_new(j, "candidate_code", json_string(code));
	run_json(&res, j);
	expect_one_error(&res, "candidate_code", "at most 262144 bytes, got 262145");

	code[REQUEST_MAX_CODE_BYTES] = '\0';
	j = base();
	json_object_set_new(j, "candidate_code", json_string(code));
	run_json(&res, j);
	expect_ok(&res);
	ck_assert_uint_eq(strlen(res.r.candidate_code), REQUEST_MAX_CODE_BYTES);
	request_free(&res.r);
	free(code);

	run_with(&res, "candidate_code", "\"\"");
	expect_one_error(&res, "candidate_code", "empty");
}
END_TEST

START_TEST(cpu_core_null_and_set)
{
	struct result res;
	run_with(&res, "cpu_core", "null");
	expect_ok(&res);
	ck_assert(!res.r.cpu_core_set);
	ck_assert_int_eq(res.r.cpu_core, -1);
	request_free(&res.r);
	run_with(&res, "cpu_core", "0");
	expect_ok(&res);
	ck_assert(res.r.cpu_core_set);
	ck_assert_int_eq(res.r.cpu_core, 0);
	request_free(&res.r);
}
END_TEST

START_TEST(optional_strings)
{
	struct result res;
	char s[300];
	memset(s, 'p', 257);
	s[257] = '\0';
	json_t *j = base();
	json_object_set_new(j, "problem_name", json_string(s));
	run_json(&res, j);
	expect_one_error(&res, "problem_name", "at most 256");
	run_with(&res, "candidate_id", "null");
	expect_ok(&res);
	ck_assert_ptr_null(res.r.candidate_id);
	request_free(&res.r);
	run_with(&res, "candidate_id", "\"\"");
	expect_ok(&res);
	ck_assert_str_eq(res.r.candidate_id, "");
	request_free(&res.r);
}
END_TEST

START_TEST(several_errors_at_once)
{
	struct result res;
	json_t *j = base();
	json_object_del(j, "candidate_code");
	json_object_set_new(j, "timeout_seconds", json_integer(0));
	json_object_set_new(j, "language", json_string("go"));
	json_object_set_new(j, "bogus", json_null());
	json_object_set_new(json_array_get(json_object_get(j, "test_cases"), 0), "test_id",
			    json_integer(3));
	run_json(&res, j);
	ck_assert_int_eq(res.rc, -EINVAL);
	ck_assert_uint_eq(res.e.n, 5);
	ck_assert_uint_eq(res.e.dropped, 0);
	ck_assert_ptr_nonnull(find_err(&res, "candidate_code"));
	ck_assert_ptr_nonnull(find_err(&res, "timeout_seconds"));
	ck_assert_ptr_nonnull(find_err(&res, "language"));
	ck_assert_ptr_nonnull(find_err(&res, "bogus"));
	ck_assert_ptr_nonnull(find_err(&res, "test_cases[0].test_id"));
	ck_assert_ptr_nonnull(strstr(res.msg, "5 field errors"));
}
END_TEST

START_TEST(error_overflow_counts_dropped)
{
	struct result res;
	json_t *j = base();
	json_t *a = tests_array(1000);
	size_t i;
	json_t *tc;
	json_array_foreach(a, i, tc)
		json_object_del(tc, "inputs");
	json_object_set_new(j, "test_cases", a);
	run_json(&res, j);
	ck_assert_int_eq(res.rc, -EINVAL);
	ck_assert_uint_eq(res.e.n, REQUEST_MAX_FIELD_ERRORS);
	ck_assert_uint_eq(res.e.dropped, 1000 - REQUEST_MAX_FIELD_ERRORS);
	ck_assert_str_eq(res.e.items[63].field, "test_cases[63].inputs");
}
END_TEST

START_TEST(null_errs_and_msg)
{
	struct measure_request r;
	const char *t = "{\"candidate_code\":1}";
	ck_assert_int_eq(request_parse(t, strlen(t), REQUEST_MEASURE, &r, NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(request_parse("{", 1, REQUEST_MEASURE, &r, NULL, NULL, 0), -EBADMSG);
	ck_assert_int_eq(request_parse(NULL, 0, REQUEST_MEASURE, &r, NULL, NULL, 0), -EBADMSG);
}
END_TEST

START_TEST(validate_kind_same_schema)
{
	struct result res;
	json_t *j = base();
	char *t = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	run_text(&res, t, strlen(t), REQUEST_VALIDATE);
	expect_ok(&res);
	request_free(&res.r);
	free(t);
	const char *bad = "{\"candidate_code\":\"x\",\"test_cases\":[{\"test_id\":\"a\",\"inputs\":1,"
			  "\"expected_output\":1}],\"energy_measurement_trials\":0}";
	run_text(&res, bad, strlen(bad), REQUEST_VALIDATE);
	expect_one_error(&res, "energy_measurement_trials", NULL);
}
END_TEST

START_TEST(json_round_trip)
{
	struct result res;
	json_t *j = base();
	json_object_set_new(j, "function_name", json_string("f"));
	json_object_set_new(j, "min_trial_seconds", json_real(0.3));
	json_object_set_new(j, "target_cv_percent", json_real(2.5));
	json_object_set_new(j, "cpu_core", json_integer(1));
	json_object_set_new(j, "problem_name", json_string("p\xc3\xa9"));
	json_object_set_new(json_array_get(json_object_get(j, "test_cases"), 0), "metadata",
			    json_pack("{s:i}", "w", 2));
	run_json(&res, j);
	expect_ok(&res);

	char *text = request_to_json(&res.r);
	ck_assert_ptr_nonnull(text);
	struct measure_request back;
	char msg[256];
	ck_assert_int_eq(request_from_json(text, strlen(text), &back, msg, sizeof msg), 0);
	ck_assert_str_eq(back.candidate_code, res.r.candidate_code);
	ck_assert_str_eq(back.function_name, "f");
	ck_assert_str_eq(back.language, "python");
	ck_assert(json_equal(back.test_cases, res.r.test_cases));
	ck_assert_uint_eq(back.n_tests, 1);
	ck_assert_int_eq(back.timeout_seconds, 30);
	ck_assert_int_eq(back.min_trials, 3);
	ck_assert_double_eq(back.min_trial_seconds, 0.3);
	ck_assert_double_eq(back.target_cv_percent, 2.5);
	ck_assert(back.cpu_core_set);
	ck_assert_int_eq(back.cpu_core, 1);
	ck_assert_ptr_null(back.candidate_id);
	ck_assert_str_eq(back.problem_name, "p\xc3\xa9");

	/* defaults are explicit in the stored form */
	json_error_t e;
	json_t *stored = json_loads(text, 0, &e);
	ck_assert_ptr_nonnull(stored);
	ck_assert_int_eq(json_integer_value(json_object_get(stored, "warmup_trials")), 1);
	ck_assert(json_is_null(json_object_get(stored, "candidate_id")));
	ck_assert_uint_eq(json_object_size(stored), 14);
	json_decref(stored);

	char *again = request_to_json(&back);
	ck_assert_str_eq(again, text);
	free(again);
	free(text);
	request_free(&back);
	request_free(&res.r);

	/* a tampered stored form is refused with a reason */
	const char *bad = "{\"candidate_code\":\"x\",\"test_cases\":[],\"timeout_seconds\":30}";
	ck_assert_int_eq(request_from_json(bad, strlen(bad), &back, msg, sizeof msg), -EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "test_cases"));
	ck_assert_int_eq(request_from_json("{", 1, &back, msg, sizeof msg), -EBADMSG);
	ck_assert_ptr_null(request_to_json(&back)); /* zeroed struct: nothing to dump */
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

static Suite *request_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("request", &tc);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, defaults_filled);
	tcase_add_test(tc, all_fields_set);
	tcase_add_test(tc, missing_required);
	tcase_add_loop_test(tc, numeric_bounds, 0, sizeof bounds / sizeof *bounds);
	tcase_add_test(tc, bound_message_text);
	tcase_add_loop_test(tc, wrong_types, 0, sizeof types / sizeof *types);
	tcase_add_test(tc, type_message_names_the_type);
	tcase_add_test(tc, min_trials_default_and_max);
	tcase_add_test(tc, unknown_fields);
	tcase_add_test(tc, test_case_count);
	tcase_add_test(tc, duplicate_test_ids);
	tcase_add_test(tc, test_case_fields);
	tcase_add_test(tc, nesting_depth);
	tcase_add_test(tc, malformed_json);
	tcase_add_test(tc, duplicate_keys);
	tcase_add_test(tc, non_object_top_level);
	tcase_add_test(tc, function_names);
	tcase_add_test(tc, candidate_code_size);
	tcase_add_test(tc, cpu_core_null_and_set);
	tcase_add_test(tc, optional_strings);
	tcase_add_test(tc, several_errors_at_once);
	tcase_add_test(tc, error_overflow_counts_dropped);
	tcase_add_test(tc, null_errs_and_msg);
	tcase_add_test(tc, validate_kind_same_schema);
	tcase_add_test(tc, json_round_trip);
	return s;
}

TESTUTIL_MAIN(request_suite)
