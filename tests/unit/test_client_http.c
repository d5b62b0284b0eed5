/* The client over real HTTP on loopback: client/httpc against the service's
 * own HTTP adapter (lib/http/http.c, libmicrohttpd) with a scripted handler,
 * and the --wait loop (client/submit) through 503 + Retry-After, Ctrl-C and
 * an unreachable server. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "http.h"
#include "outcome.h"
#include "session.h"
#include "submit.h"
#include "testutil.h"

#define SCRIPT_MAX 8

struct scripted {
	pthread_mutex_t mu;
	struct { int status; const char *body; const char *retry_after; } answers[SCRIPT_MAX];
	size_t n, next;               /* past the script: its last answer again */
	char method[8], path[128], auth[128], ctype[64], body[256];
	size_t calls;
};

static void handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct scripted *s = ctx;
	pthread_mutex_lock(&s->mu);
	size_t i = s->next < s->n ? s->next++ : s->n - 1;
	s->calls++;
	snprintf(s->method, sizeof s->method, "%s", req->method);
	snprintf(s->path, sizeof s->path, "%s", req->path);
	snprintf(s->auth, sizeof s->auth, "%s", req->authorization ? req->authorization : "");
	snprintf(s->ctype, sizeof s->ctype, "%s", req->content_type ? req->content_type : "");
	snprintf(s->body, sizeof s->body, "%.*s", (int)req->body_len, req->body ? req->body : "");
	resp->status = s->answers[i].status;
	resp->body = strdup(s->answers[i].body);
	if (s->answers[i].retry_after)
		snprintf(resp->retry_after, sizeof resp->retry_after, "%s", s->answers[i].retry_after);
	pthread_mutex_unlock(&s->mu);
}

static struct scripted sc;
static struct http_server *srv;
static char url[64];

static void serve(void)
{
	struct http_options o = { .listen = "127.0.0.1:0", .threads = 1, .max_connections = 16,
				  .connection_timeout_s = 5 };
	pthread_mutex_init(&sc.mu, NULL);
	srv = http_start(&o, handler, &sc);
	ck_assert_msg(srv != NULL, "http_start: %s", strerror(errno));
	snprintf(url, sizeof url, "http://127.0.0.1:%d", http_port(srv));
	ck_assert_int_eq(httpc_global_init(), 0);
}

static void unserve(void)
{
	http_stop(srv);
	httpc_global_cleanup();
}

START_TEST(request_and_answer)
{
	char why[256] = "", u[128];
	struct httpc *h = httpc_new();
	struct httpc_resp rs;

	sc = (struct scripted){ .n = 2, .answers = { { 202, "{\"task_id\":\"x\"}", NULL },
						     { 429, "{\"error\":\"rate_limited\"}", "7" } } };
	serve();
	ck_assert_ptr_nonnull(h);
	snprintf(u, sizeof u, "%s/api/v1/measure", url);
	struct httpc_req rq = { .method = "POST", .url = u, .token = "tok-1", .body = "{\"a\":1}",
				.body_len = 7 };
	ck_assert_int_eq(httpc_do(h, &rq, &rs, why, sizeof why), 0);
	ck_assert_int_eq(rs.status, 202);
	ck_assert_str_eq(rs.body, "{\"task_id\":\"x\"}");
	ck_assert(rs.retry_after_s < 0);
	ck_assert_str_eq(sc.method, "POST");
	ck_assert_str_eq(sc.path, "/api/v1/measure");
	ck_assert_str_eq(sc.auth, "Bearer tok-1");
	ck_assert_str_eq(sc.ctype, "application/json");
	ck_assert_str_eq(sc.body, "{\"a\":1}");
	httpc_resp_free(&rs);
	/* a GET without a token, and a refusal with Retry-After */
	struct httpc_req get = { .method = "GET", .url = u };
	ck_assert_int_eq(httpc_do(h, &get, &rs, why, sizeof why), 0);
	ck_assert_int_eq(rs.status, 429);
	ck_assert_double_eq(rs.retry_after_s, 7);
	ck_assert_str_eq(sc.method, "GET");
	ck_assert_str_eq(sc.auth, "");
	ck_assert_str_eq(sc.body, "");
	httpc_resp_free(&rs);
	/* a token cannot add a header of its own */
	struct httpc_req evil = { .method = "GET", .url = u, .token = "t\r\nX-Evil: 1" };
	size_t calls = sc.calls;
	ck_assert_int_eq(httpc_do(h, &evil, &rs, why, sizeof why), -EINVAL);
	ck_assert_msg(strstr(why, "control character"), "%s", why);
	ck_assert_uint_eq(sc.calls, calls);
	httpc_free(h);
	unserve();
}
END_TEST

START_TEST(unreachable_and_bad_urls)
{
	char why[256] = "";
	struct httpc *h;
	struct httpc_resp rs;

	serve();
	h = httpc_new();
	char u[128];
	snprintf(u, sizeof u, "%s/ping", url);
	unserve();   /* the port is closed now */
	struct httpc_req rq = { .method = "GET", .url = u };
	ck_assert_int_eq(httpc_do(h, &rq, &rs, why, sizeof why), -ECONNREFUSED);
	ck_assert_int_eq(client_exit_of_error(-ECONNREFUSED), EXIT_UNREACHABLE);
	rq.url = "http://no-such-host.invalid/ping";
	ck_assert_int_eq(httpc_do(h, &rq, &rs, why, sizeof why), -EHOSTUNREACH);
	rq.url = "gopher://127.0.0.1/";
	ck_assert_int_eq(httpc_do(h, &rq, &rs, why, sizeof why), -EINVAL);
	httpc_free(h);
}
END_TEST

/* A session writing to memory streams. */
struct captured {
	struct session s;
	struct client_args a;
	char *out, *err;
	size_t outlen, errlen;
	volatile sig_atomic_t stop;
};

static void capture(struct captured *c, const char *server)
{
	memset(c, 0, sizeof *c);
	c->a.server = server;
	c->a.token = "tok";
	c->s.a = &c->a;
	c->s.h = httpc_new();
	c->s.stop = &c->stop;
	c->s.out = open_memstream(&c->out, &c->outlen);
	c->s.err = open_memstream(&c->err, &c->errlen);
	ck_assert(c->s.h && c->s.out && c->s.err);
}

static void uncapture(struct captured *c)
{
	fclose(c->s.out);
	fclose(c->s.err);
	httpc_free(c->s.h);
	free(c->out);
	free(c->err);
}

START_TEST(wait_backs_off_and_shows_progress)
{
	struct captured c;
	sc = (struct scripted){ .n = 4, .answers = {
		{ 200, "{\"task_id\":\"t1\",\"status\":\"running\",\"stage\":\"measuring\","
		       "\"progress\":0.4,\"trial\":1,\"trials_max\":3}", NULL },
		{ 503, "{\"error\":\"unavailable\",\"message\":\"busy\"}", "1" },
		{ 200, "{\"task_id\":\"t1\",\"status\":\"running\",\"stage\":\"measuring\","
		       "\"progress\":0.7,\"trial\":2,\"trials_max\":3}", NULL },
		{ 200, "{\"task_id\":\"t1\",\"status\":\"failed\",\"error_type\":\"timeout\","
		       "\"error_message\":\"too slow\"}", NULL } } };
	serve();
	capture(&c, url);
	int rc = submit_wait(&c.s, "t1", 0);
	fflush(c.s.out);
	fflush(c.s.err);
	ck_assert_msg(rc == EXIT_FAILED, "rc %d: %s%s", rc, c.out, c.err);
	ck_assert_uint_eq(sc.calls, 4);     /* the 503 was waited out, not fatal */
	ck_assert_str_eq(sc.path, "/api/v1/tasks/t1");
	ck_assert_str_eq(sc.auth, "Bearer tok");
	/* not a terminal: one plain line per trial, then the failure */
	ck_assert_msg(strstr(c.out, "] measuring  trial 1/3 (40 %)\n"), "%s", c.out);
	ck_assert_msg(strstr(c.out, "] measuring  trial 2/3 (70 %)\n"), "%s", c.out);
	ck_assert_msg(strstr(c.out, "error         timeout: too slow\n"), "%s", c.out);
	ck_assert_ptr_null(strchr(c.out, '\r'));
	uncapture(&c);
	unserve();
}
END_TEST

START_TEST(wait_stops_on_ctrl_c_and_gives_up_on_refusals)
{
	struct captured c;
	sc = (struct scripted){ .n = 2, .answers = {
		{ 200, "{\"task_id\":\"t2\",\"status\":\"queued\",\"stage\":\"queued\",\"progress\":0}",
		  NULL },
		{ 404, "{\"error\":\"not_found\",\"message\":\"no such task\"}", NULL } } };
	serve();
	capture(&c, url);
	c.stop = 1;   /* Ctrl-C: polling stops after the answer in hand, the task is left alone */
	int rc = submit_wait(&c.s, "t2", 0);
	fflush(c.s.err);
	ck_assert_int_eq(rc, EXIT_INTERRUPTED);
	ck_assert_uint_eq(sc.calls, 1);
	ck_assert_str_eq(sc.method, "GET");   /* never a DELETE */
	ck_assert_msg(strstr(c.err, "stopped waiting; task t2 goes on. Cancel it with: "
			     "jouletrace cancel t2"), "%s", c.err);
	c.stop = 0;
	rc = submit_wait(&c.s, "t2", 0);     /* the 404 next */
	fflush(c.s.err);
	ck_assert_int_eq(rc, EXIT_REFUSED);
	ck_assert_msg(strstr(c.err, "the server refused (HTTP 404 not_found): no such task"), "%s", c.err);
	uncapture(&c);
	unserve();
}
END_TEST

static Suite *client_http_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("client_http", &tc);
	tcase_add_test(tc, request_and_answer);
	tcase_add_test(tc, unreachable_and_bad_urls);
	tcase_add_test(tc, wait_backs_off_and_shows_progress);
	tcase_add_test(tc, wait_stops_on_ctrl_c_and_gives_up_on_refusals);
	return s;
}

TESTUTIL_MAIN(client_http_suite)
