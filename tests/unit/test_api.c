/*
 * The API handlers without sockets: api_handle() on plain request structs.
 * Redis is deliberately unreachable (a closed loopback port), so every path
 * here must answer without it, or answer 503 because of it.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "dashboard.h"
#include "testutil.h"

#define TOKEN "t0ken-for-tests"

static const char good_body[] =
	"{\"candidate_code\":\"def solve(n):\\n    return n\\n\","
	"\"test_cases\":[{\"test_id\":\"a\",\"inputs\":[1],\"expected_output\":1}]}";

struct fixture {
	struct jt_config cfg;
	struct api *api;
	char tokens[64];
};

static void setup_api(struct fixture *f, bool auth, long rate)
{
	struct config_error err;
	char why[256] = "";

	ck_assert_int_eq(config_defaults(&f->cfg), 0);
	/* port 1 on loopback: nothing listens there, connections are refused at once */
	ck_assert_int_eq(config_set(&f->cfg, "redis_url", "redis://127.0.0.1:1/0", &err), 0);
	ck_assert_int_eq(config_set(&f->cfg, "calibration_file", "/nonexistent/cal.json", &err), 0);
	ck_assert_int_eq(config_set(&f->cfg, "measurement_cpus", "0", &err), 0);
	ck_assert_int_eq(config_set(&f->cfg, "redis_timeout_ms", "200", &err), 0);
	if (auth) {
		snprintf(f->tokens, sizeof f->tokens, "/tmp/jt-test-api-XXXXXX");
		int fd = mkstemp(f->tokens);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_gt(write(fd, "# tokens\n" TOKEN "\n", strlen("# tokens\n" TOKEN "\n")), 0);
		close(fd);
		ck_assert_int_eq(config_set(&f->cfg, "api_tokens_file", f->tokens, &err), 0);
	}
	if (rate) {
		char r[16];
		snprintf(r, sizeof r, "%ld", rate);
		ck_assert_int_eq(config_set(&f->cfg, "rate_limit_per_minute", r, &err), 0);
	}
	f->api = api_new(&f->cfg, why, sizeof why);
	ck_assert_msg(f->api != NULL, "api_new: %s", why);
}

static void teardown_api(struct fixture *f)
{
	api_free(f->api);
	config_free(&f->cfg);
	if (f->tokens[0])
		unlink(f->tokens);
}

/* Runs one request; returns the parsed body (caller decrefs). */
static json_t *call(struct fixture *f, const char *method, const char *path, const char *ctype,
		    const char *auth, const char *body, struct http_response *resp)
{
	struct http_request req = {
		.method = method, .path = path, .query = "", .content_type = ctype,
		.authorization = auth, .body = body ? body : "", .body_len = body ? strlen(body) : 0,
		.request_id = "req-1", .remote_addr = "127.0.0.1",
	};
	memset(resp, 0, sizeof *resp);
	api_handle(f->api, &req, resp);
	json_t *j = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
	free(resp->body);
	resp->body = NULL;
	return j;
}

/* Runs one request with a query; returns the body as text (caller frees). */
static char *call_text(struct fixture *f, const char *method, const char *path, const char *query,
		       const char *auth, struct http_response *resp)
{
	struct http_request req = {
		.method = method, .path = path, .query = query, .authorization = auth, .body = "",
		.request_id = "req-1", .remote_addr = "127.0.0.1",
	};
	memset(resp, 0, sizeof *resp);
	api_handle(f->api, &req, resp);
	char *body = resp->body ? resp->body : strdup("");
	resp->body = NULL;
	return body;
}

static char *get_text(struct fixture *f, const char *path, const char *query, const char *auth,
		      struct http_response *resp)
{
	return call_text(f, "GET", path, query, auth, resp);
}

static void assert_page(const struct http_response *r, const char *body, int status)
{
	ck_assert_int_eq(r->status, status);
	ck_assert_str_eq(r->content_type, "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(r->csp);
	ck_assert_ptr_nonnull(strstr(r->csp, "default-src 'none'"));
	ck_assert(strncmp(body, "<!DOCTYPE html>", 15) == 0);
	ck_assert_uint_eq(strlen(body), r->body_len);
}

static void assert_error(json_t *j, const char *code)
{
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "error")), code);
	ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), "req-1");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(j, "message")));
}

START_TEST(routes_without_redis)
{
	struct fixture f = { 0 };
	struct http_response r;
	json_t *j;

	setup_api(&f, false, 0);
	j = call(&f, "GET", "/ping", NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "service")), "jouletrace");
	json_decref(j);

	j = call(&f, "GET", "/nope", NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	assert_error(j, "not_found");
	json_decref(j);

	j = call(&f, "GET", "/api/v1/measure-socket0", NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(r.allow, "POST");
	assert_error(j, "method_not_allowed");
	json_decref(j);

	j = call(&f, "PUT", "/api/v1/tasks/00000000-0000-4000-8000-000000000000", NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(r.allow, "GET, DELETE");
	json_decref(j);

	j = call(&f, "GET", "/api/v1/tasks/not-a-uuid", NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 404);
	json_decref(j);

	j = call(&f, "POST", "/api/v1/measure", "text/plain", NULL, good_body, &r);
	ck_assert_int_eq(r.status, 415);
	assert_error(j, "unsupported_media_type");
	json_decref(j);

	j = call(&f, "POST", "/api/v1/measure", "application/json", NULL, "{\"a\":", &r);
	ck_assert_int_eq(r.status, 400);
	assert_error(j, "malformed_json");
	json_decref(j);

	j = call(&f, "POST", "/api/v1/validate", "application/json; charset=utf-8", NULL,
		 "{\"candidate_code\":1,\"test_cases\":[],\"zzz\":0}", &r);
	ck_assert_int_eq(r.status, 422);
	assert_error(j, "validation_error");
	ck_assert_int_ge(json_array_size(json_object_get(j, "field_errors")), 3);
	json_decref(j);

	/* cpu_core is checked against the live hosts' records (issue 11), not
	 * this server's CPUs: with Redis down there are none to ask, so 503 */
	char body[512];
	snprintf(body, sizeof body, "{\"cpu_core\":1,%s", good_body + 1);
	j = call(&f, "POST", "/api/v1/measure", "application/json", NULL, body, &r);
	ck_assert_int_eq(r.status, 503);
	assert_error(j, "not_ready");
	json_decref(j);

	/* a valid request with Redis down: 503, retry later, nothing queued */
	j = call(&f, "POST", "/api/v1/measure-socket0", "application/json", NULL, good_body, &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(r.retry_after, "5");
	assert_error(j, "not_ready");
	json_decref(j);

	j = call(&f, "GET", "/api/v1/health", NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert(json_is_false(json_object_get(json_object_get(j, "redis"), "connected")));
	json_decref(j);

	j = call(&f, "GET", "/api/v1/socket0/status", NULL, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(json_is_false(json_object_get(j, "ready")));
	ck_assert(json_is_false(json_object_get(json_object_get(j, "calibration"), "exists")));
	json_decref(j);
	teardown_api(&f);
}
END_TEST

START_TEST(tokens_and_rate_limit)
{
	struct fixture f = { 0 };
	struct http_response r;
	json_t *j;

	setup_api(&f, true, 2);
	j = call(&f, "POST", "/api/v1/measure", "application/json", NULL, good_body, &r);
	ck_assert_int_eq(r.status, 401);
	ck_assert(r.auth_challenge);   /* WWW-Authenticate: Bearer */
	assert_error(j, "unauthorized");
	json_decref(j);
	j = call(&f, "POST", "/api/v1/measure", "application/json", "Bearer wrong", good_body, &r);
	ck_assert_int_eq(r.status, 401);
	json_decref(j);
	j = call(&f, "POST", "/api/v1/measure", "application/json", "Basic " TOKEN, good_body, &r);
	ck_assert_int_eq(r.status, 401);
	json_decref(j);
	/* liveness stays open without a token */
	json_decref(call(&f, "GET", "/ping", NULL, NULL, NULL, &r));
	ck_assert_int_eq(r.status, 200);

	for (int i = 0; i < 2; i++) {
		j = call(&f, "GET", "/api/v1/tasks/not-a-uuid", NULL, "Bearer " TOKEN, NULL, &r);
		ck_assert_int_eq(r.status, 404);
		json_decref(j);
	}
	j = call(&f, "GET", "/api/v1/tasks/not-a-uuid", NULL, "Bearer " TOKEN, NULL, &r);
	ck_assert_int_eq(r.status, 429);
	assert_error(j, "rate_limited");
	ck_assert_int_ge(atoi(r.retry_after), 1);
	json_decref(j);
	teardown_api(&f);
}
END_TEST

/*
 * The pages: Basic with the token as password (any user), a Basic challenge
 * on page routes and Bearer on JSON ones; HTML errors for pages, JSON for
 * the compare API; the report route under the task prefix.
 */
START_TEST(pages_auth_and_errors)
{
	static const char basic_good[] = "Basic YW55b25lOnQwa2VuLWZvci10ZXN0cw==";  /* anyone:TOKEN */
	static const char basic_wrong[] = "Basic YW55b25lOndyb25n";               /* anyone:wrong */
	static const char basic_no_user[] = "Basic dDBrZW4tZm9yLXRlc3Rz";         /* TOKEN, no ':' */
	static const char task[] = "/api/v1/tasks/00000000-0000-4000-8000-000000000000/report";
	struct fixture f = { 0 };
	struct http_response r;
	char *b;

	setup_api(&f, true, 0);
	const char *pages[] = { task, "/compare", "/" };
	for (size_t i = 0; i < sizeof pages / sizeof *pages; i++) {
		const char *bad[] = { NULL, basic_wrong, basic_no_user, "Basic !!!", "Bearer wrong" };
		for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
			b = get_text(&f, pages[i], "", bad[k], &r);
			assert_page(&r, b, 401);
			ck_assert(r.auth_challenge && r.challenge_basic);
			free(b);
		}
	}
	b = get_text(&f, "/api/v1/compare", "", basic_wrong, &r);
	ck_assert_int_eq(r.status, 401);
	ck_assert(r.auth_challenge && !r.challenge_basic);     /* JSON routes keep Bearer */
	ck_assert_ptr_null(r.csp);
	free(b);

	/* Basic works on JSON routes too, Bearer on pages */
	b = get_text(&f, "/api/v1/tasks/not-a-uuid", "", basic_good, &r);
	ck_assert_int_eq(r.status, 404);
	ck_assert_ptr_nonnull(strstr(b, "\"not_found\""));
	free(b);
	const char *ids[] = { "/api/v1/tasks/not-a-uuid/report", "/api/v1/tasks/%3Cscript%3E/report",
			      "/api/v1/tasks//report" };
	for (size_t i = 0; i < 3; i++) {
		b = get_text(&f, ids[i], "", i ? basic_good : "Bearer " TOKEN, &r);
		assert_page(&r, b, 404);
		free(b);
	}
	/* the dashboard with Redis down: a page that says so, with its own CSP */
	b = get_text(&f, "/", "", basic_good, &r);
	assert_page(&r, b, 200);
	ck_assert_ptr_eq(r.csp, dashboard_csp);
	ck_assert_ptr_nonnull(strstr(b, "Redis is unreachable"));
	free(b);
	/* a good id with Redis down: 503, try again */
	b = get_text(&f, task, "", basic_good, &r);
	assert_page(&r, b, 503);
	ck_assert_str_eq(r.retry_after, "5");
	free(b);
	/* HEAD is GET's answer (libmicrohttpd sends its headers only) */
	b = call_text(&f, "HEAD", "/", "", basic_good, &r);
	assert_page(&r, b, 200);
	ck_assert_ptr_eq(r.csp, dashboard_csp);
	free(b);
	/* a page's 405 is a page (a browser shows it), with Allow */
	const char *not_get[][2] = { { "DELETE", task }, { "POST", "/" }, { "DELETE", "/compare" } };
	for (size_t i = 0; i < 3; i++) {
		b = call_text(&f, not_get[i][0], not_get[i][1], "", basic_good, &r);
		assert_page(&r, b, 405);
		ck_assert_str_eq(r.allow, "GET");
		ck_assert_ptr_nonnull(strstr(b, "Method not allowed"));
		free(b);
	}

	/* a bad ids list: 422 naming ids (JSON) or a 422 page */
	b = get_text(&f, "/api/v1/compare", "ids=a,b", basic_good, &r);
	ck_assert_int_eq(r.status, 422);
	ck_assert_ptr_nonnull(strstr(b, "\"field\":\"ids\""));
	free(b);
	b = get_text(&f, "/compare", "ids=<script>", basic_good, &r);
	assert_page(&r, b, 422);
	ck_assert_ptr_null(strstr(b, "<script>"));
	free(b);
	b = get_text(&f, "/api/v1/compare", "ids=00000000-0000-4000-8000-000000000000", basic_good, &r);
	ck_assert_int_eq(r.status, 503);
	free(b);
	teardown_api(&f);

	/* past the rate limit: a page's 429 is a page, with Retry-After; JSON stays JSON */
	setup_api(&f, true, 1);
	b = get_text(&f, "/compare", "ids=a", basic_good, &r);
	assert_page(&r, b, 422);
	free(b);
	b = get_text(&f, "/compare", "ids=a", basic_good, &r);
	assert_page(&r, b, 429);
	ck_assert_int_ge(atoi(r.retry_after), 1);
	ck_assert_ptr_nonnull(strstr(b, "Too many requests"));
	free(b);
	b = get_text(&f, "/api/v1/compare", "ids=a", basic_good, &r);
	ck_assert_int_eq(r.status, 429);
	ck_assert_ptr_nonnull(strstr(b, "\"rate_limited\""));
	free(b);
	teardown_api(&f);
}
END_TEST

/* SIGHUP's reload: the new tokens replace the old at once; a broken file
 * changes nothing. */
START_TEST(tokens_reload)
{
	struct fixture f = { 0 };
	struct http_response r;
	char why[256];
	setup_api(&f, true, 0);
	json_decref(call(&f, "GET", "/api/v1/seals", NULL, "Bearer " TOKEN, NULL, &r));
	ck_assert_int_ne(r.status, 401);

	FILE *fp = fopen(f.tokens, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("# rotated\nnew-token-1\n", fp);
	fclose(fp);
	ck_assert_int_eq(api_reload_tokens(f.api, why, sizeof why), 0);
	json_decref(call(&f, "GET", "/api/v1/seals", NULL, "Bearer " TOKEN, NULL, &r));
	ck_assert_int_eq(r.status, 401);
	json_decref(call(&f, "GET", "/api/v1/seals", NULL, "Bearer new-token-1", NULL, &r));
	ck_assert_int_ne(r.status, 401);

	fp = fopen(f.tokens, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("# nothing left\n", fp);
	fclose(fp);
	ck_assert_int_eq(api_reload_tokens(f.api, why, sizeof why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "has no tokens"));
	json_decref(call(&f, "GET", "/api/v1/seals", NULL, "Bearer new-token-1", NULL, &r));
	ck_assert_int_ne(r.status, 401);
	teardown_api(&f);
}
END_TEST

/* Off loopback the API needs tokens: anyone reaching it could run code here. */
START_TEST(remote_listen_needs_tokens)
{
	static const char *const remote[] = { "0.0.0.0:8000", "[::]:8000", "10.1.2.3:80",
					      "example.org:80" };
	static const char *const local[] = { "127.0.0.1:8000", "127.5.0.1:1", "[::1]:8000",
					     "localhost:8000" };
	struct jt_config cfg;
	struct config_error err;
	char why[256];
	for (size_t i = 0; i < 8; i++) {
		const char *l = i < 4 ? remote[i] : local[i - 4];
		ck_assert_int_eq(config_defaults(&cfg), 0);
		ck_assert_int_eq(config_set(&cfg, "redis_url", "redis://127.0.0.1:1/0", &err), 0);
		ck_assert_int_eq(config_set(&cfg, "measurement_cpus", "0", &err), 0);
		ck_assert_int_eq(config_set(&cfg, "listen", l, &err), 0);
		why[0] = '\0';
		struct api *a = api_new(&cfg, why, sizeof why);
		if (i < 4) {
			ck_assert_msg(a == NULL, "%s accepted without tokens", l);
			ck_assert_int_eq(errno, EPERM);
			ck_assert_ptr_nonnull(strstr(why, "api_tokens_file"));
		} else {
			ck_assert_msg(a != NULL, "%s: %s", l, why);
		}
		api_free(a);
		config_free(&cfg);
	}
	/* or when the operator says so in so many words */
	ck_assert_int_eq(config_defaults(&cfg), 0);
	ck_assert_int_eq(config_set(&cfg, "redis_url", "redis://127.0.0.1:1/0", &err), 0);
	ck_assert_int_eq(config_set(&cfg, "measurement_cpus", "0", &err), 0);
	ck_assert_int_eq(config_set(&cfg, "listen", "0.0.0.0:8000", &err), 0);
	ck_assert_int_eq(config_set(&cfg, "allow_remote_without_tokens", "1", &err), 0);
	struct api *open_api = api_new(&cfg, why, sizeof why);
	ck_assert_msg(open_api != NULL, "allowed: %s", why);
	api_free(open_api);
	config_free(&cfg);
	/* with tokens, any address */
	struct fixture f = { 0 };
	ck_assert_int_eq(config_defaults(&f.cfg), 0);
	snprintf(f.tokens, sizeof f.tokens, "/tmp/jt-test-api-XXXXXX");
	int fd = mkstemp(f.tokens);
	ck_assert_int_gt(write(fd, TOKEN "\n", strlen(TOKEN "\n")), 0);
	close(fd);
	ck_assert_int_eq(config_set(&f.cfg, "api_tokens_file", f.tokens, &err), 0);
	ck_assert_int_eq(config_set(&f.cfg, "redis_url", "redis://127.0.0.1:1/0", &err), 0);
	ck_assert_int_eq(config_set(&f.cfg, "measurement_cpus", "0", &err), 0);
	ck_assert_int_eq(config_set(&f.cfg, "listen", "0.0.0.0:8000", &err), 0);
	f.api = api_new(&f.cfg, why, sizeof why);
	ck_assert_msg(f.api != NULL, "with tokens: %s", why);
	teardown_api(&f);
}
END_TEST

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("handlers");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, routes_without_redis);
	tcase_add_test(tc, tokens_and_rate_limit);
	tcase_add_test(tc, remote_listen_needs_tokens);
	tcase_add_test(tc, tokens_reload);
	tcase_add_test(tc, pages_auth_and_errors);
	suite_add_tcase(s, tc);
	return s;
}

TESTUTIL_MAIN(api_suite)
