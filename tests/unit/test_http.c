/* test_http.c — the libmicrohttpd adapter, driven over loopback with raw sockets. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "util.h"
#include "testutil.h"

#define CAP 4096u

struct echo_ctx {
	atomic_int calls;
	struct http_deferred *_Atomic later; /* /later's, for the test to finish */
	int defer_again_errno;
};

/* Echoes what the adapter handed over; a few paths exercise response features. */
static void echo_handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct echo_ctx *ec = ctx;
	atomic_fetch_add(&ec->calls, 1);

	if (strcmp(req->path, "/zero") == 0) {
		resp->body = strdup("{\"leak\":\"me\"}"); /* status left 0 */
		return;
	}
	if (strcmp(req->path, "/nobody") == 0) {
		resp->status = 200;
		return;
	}
	if (strcmp(req->path, "/later") == 0 || strcmp(req->path, "/now") == 0) {
		struct http_deferred *d = http_defer(req, resp);
		ck_assert_ptr_nonnull(d);
		ck_assert(resp->deferred);
		ck_assert_ptr_null(http_defer(req, resp)); /* one per request */
		ec->defer_again_errno = errno;
		if (req->path[1] == 'n') { /* finished before the handler returns */
			struct http_response a = { .status = 202, .body = strdup("{\"now\":1}") };
			http_deferred_finish(d, &a);
		} else {
			atomic_store(&ec->later, d);
		}
		resp->body = strdup("ignored"); /* a deferred handler's resp is dropped */
		return;
	}
	if (strcmp(req->path, "/slow") == 0) {
		struct timespec ts = { 0, 400 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:s?, s:s?, s:s?, s:s, s:s}",
			      "method", req->method, "path", req->path, "query", req->query,
			      "body_len", (json_int_t)req->body_len,
			      "content_type", req->content_type,
			      "authorization", req->authorization,
			      "idempotency_key", req->idempotency_key,
			      "request_id", req->request_id, "remote_addr", req->remote_addr);
	/* the body is NUL-terminated and intact */
	json_object_set_new(o, "body_nul", json_boolean(req->body[req->body_len] == '\0'));
	char sha[UTIL_SHA256_HEX_LEN];
	util_sha256_hex(req->body, req->body_len, sha);
	json_object_set_new(o, "body_sha256", json_string(sha));
	resp->status = 200;
	resp->body = json_dumps(o, JSON_COMPACT);
	resp->body_len = strlen(resp->body);
	json_decref(o);
	if (strcmp(req->path, "/retry") == 0) {
		resp->status = 429;
		snprintf(resp->retry_after, sizeof resp->retry_after, "7");
		snprintf(resp->allow, sizeof resp->allow, "GET, POST");
	} else if (strcmp(req->path, "/crlf") == 0) {
		snprintf(resp->location, sizeof resp->location, "/x\r\nSet-Cookie: evil=1");
	} else if (strcmp(req->path, "/text") == 0) {
		resp->content_type = "text/plain; version=0.0.4";
	}
}

static struct http_server *start(struct echo_ctx *ec, size_t cap)
{
	struct http_options o = { .listen = "127.0.0.1:0", .max_body_bytes = cap, .threads = 2,
				  .max_connections = 64, .connection_timeout_s = 5 };
	atomic_init(&ec->calls, 0);
	struct http_server *s = http_start(&o, echo_handler, ec);
	ck_assert_msg(s != NULL, "http_start: %s", strerror(errno));
	ck_assert_int_gt(http_port(s), 0);
	return s;
}

struct reply {
	int status;
	char head[16384];
	char *body;
	size_t body_len;
	size_t raw_len;
};

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { 5, 0 };
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return; /* the server may legitimately stop reading */
		p += w;
		n -= (size_t)w;
	}
}

/* Reads until EOF (requests say Connection: close) and splits the reply. */
static void read_reply(int fd, struct reply *r)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	memset(r, 0, sizeof *r);
	r->raw_len = len;
	r->status = -1;
	char *end = strstr(buf, "\r\n\r\n");
	if (end && sscanf(buf, "HTTP/1.%*d %d", &r->status) == 1) {
		size_t hl = (size_t)(end - buf);
		snprintf(r->head, sizeof r->head, "%.*s", (int)hl, buf);
		r->body_len = len - hl - 4;
		r->body = malloc(r->body_len + 1);
		memcpy(r->body, end + 4, r->body_len);
		r->body[r->body_len] = '\0';
	}
	free(buf);
}

static void exchange(int port, const char *raw, size_t n, struct reply *r)
{
	int fd = connect_to(port);
	send_all(fd, raw, n);
	read_reply(fd, r);
	close(fd);
}

/* Header value (case-insensitive name) copied into out; false when absent. */
static bool header(const struct reply *r, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1;
			while (*v == ' ')
				v++;
			size_t vl = strcspn(v, "\r");
			snprintf(out, cap, "%.*s", (int)vl, v);
			return true;
		}
	}
	return false;
}

static json_t *body_json(const struct reply *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body ? r->body : "", r->body_len, 0, &e);
	ck_assert_msg(j != NULL, "reply body is not JSON: %s", r->body ? r->body : "(none)");
	return j;
}

static const char *jstr(json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

static void get(int port, const char *target, const char *extra, struct reply *r)
{
	char req[2048];
	int n = snprintf(req, sizeof req,
			 "GET %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n", target,
			 extra ? extra : "");
	exchange(port, req, (size_t)n, r);
}

START_TEST(get_echo)
{
	struct echo_ctx ec;
	struct http_server *s = start(&ec, CAP);
	struct reply r;
	char v[128];
	get(http_port(s), "/ping?x=1&y=%20", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(header(&r, "Content-Type", v, sizeof v));
	ck_assert_str_eq(v, "application/json");
	ck_assert(header(&r, "X-Request-Id", v, sizeof v));
	ck_assert_uint_eq(strlen(v), 36);
	json_t *j = body_json(&r);
	ck_assert_str_eq(jstr(j, "method"), "GET");
	ck_assert_str_eq(jstr(j, "path"), "/ping");
	ck_assert_str_eq(jstr(j, "query"), "x=1&y=%20");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "body_len")), 0);
	ck_assert(json_is_true(json_object_get(j, "body_nul")));
	ck_assert_str_eq(jstr(j, "request_id"), v);
	ck_assert_str_eq(jstr(j, "remote_addr"), "127.0.0.1");
	ck_assert(json_is_null(json_object_get(j, "content_type")));
	ck_assert(json_is_null(json_object_get(j, "authorization")));
	json_decref(j);
	free(r.body);

	get(http_port(s), "/noquery", NULL, &r);
	j = body_json(&r);
	ck_assert_str_eq(jstr(j, "query"), "");
	json_decref(j);
	free(r.body);
	ck_assert_int_eq(atomic_load(&ec.calls), 2);
	http_stop(s);
}
END_TEST

START_TEST(request_id_from_client)
{
	struct echo_ctx ec;
	struct http_server *s = start(&ec, CAP);
	struct reply r;
	char v[128];
	get(http_port(s), "/", "X-Request-Id: client-42.a:b_c\r\n", &r);
	ck_assert(header(&r, "X-Request-Id", v, sizeof v));
	ck_assert_str_eq(v, "client-42.a:b_c");
	free(r.body);

	static const char *const insane[] = {
		"X-Request-Id: has space\r\n", "X-Request-Id: <script>\r\n",
		"X-Request-Id: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
	};
	for (size_t i = 0; i < 3; i++) {
		get(http_port(s), "/", insane[i], &r);
		ck_assert(header(&r, "X-Request-Id", v, sizeof v));
		ck_assert_uint_eq(strlen(v), 36); /* replaced by a UUID */
		free(r.body);
	}
	http_stop(s);
}
END_TEST

START_TEST(post_with_body)
{
	struct echo_ctx ec;
	struct http_server *s = start(&ec, CAP);
	struct reply r;
	char body[CAP], req[CAP + 1024], sha[UTIL_SHA256_HEX_LEN];
	for (size_t i = 0; i < sizeof body; i++)
		body[i] = (char)('a' + i % 26);
	body[100] = '\0'; /* binary-safe: an embedded NUL is kept */
	int n = snprintf(req, sizeof req,
			 "POST /api/v1/measure HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
			 "Authorization: Bearer tok\r\nIdempotency-Key: k1\r\n"
			 "Content-Length: %u\r\nConnection: close\r\n\r\n", CAP);
	memcpy(req + n, body, CAP); /* exactly at the cap: accepted */
	exchange(http_port(s), req, (size_t)n + CAP, &r);
	ck_assert_int_eq(r.status, 200);
	json_t *j = body_json(&r);
	ck_assert_str_eq(jstr(j, "method"), "POST");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "body_len")), CAP);
	util_sha256_hex(body, CAP, sha);
	ck_assert_str_eq(jstr(j, "body_sha256"), sha);
	ck_assert_str_eq(jstr(j, "content_type"), "application/json");
	ck_assert_str_eq(jstr(j, "authorization"), "Bearer tok");
	ck_assert_str_eq(jstr(j, "idempotency_key"), "k1");
	json_decref(j);
	free(r.body);
	http_stop(s);
}
END_TEST

static void expect_413(const struct reply *r)
{
	char v[128];
	ck_assert_int_eq(r->status, 413);
	ck_assert(header(r, "Content-Type", v, sizeof v));
	ck_assert_str_eq(v, "application/json");
	ck_assert(header(r, "X-Request-Id", v, sizeof v));
	json_t *j = body_json(r);
	ck_assert_str_eq(jstr(j, "error"), "payload_too_large");
	ck_assert_str_eq(jstr(j, "request_id"), v);
	ck_assert_ptr_nonnull(strstr(jstr(j, "message"), "4096"));
	json_decref(j);
}

START_TEST(content_length_over_cap)
{
	struct echo_ctx ec;
	struct http_server *s = start(&ec, CAP);
	struct reply r;
	char req[512];
	/* only the headers are sent: the answer must not wait for the body */
	int n = snprintf(req, sizeof req,
			 "POST /api/v1/measure HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
			 "Content-Length: %u\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
			 CAP + 1);
	uint64_t t0 = util_mono_ns();
	exchange(http_port(s), req, (size_t)n, &r);
	ck_assert_uint_lt(util_mono_ns() - t0, 2000000000ull);
	expect_413(&r);
	ck_assert_ptr_null(strstr(r.head, "100 Continue"));
	free(r.body);

	n = snprintf(req, sizeof req, "POST / HTTP/1.1\r\nHost: t\r\n"
				      "Content-Length: 99999999999999\r\nConnection: close\r\n\r\n");
	exchange(http_port(s), req, (size_t)n, &r);
	expect_413(&r);
	free(r.body);
	/* a client that sends the whole oversized body at once still gets the 413 */
	static char whole[CAP + 1024 + 512];
	n = snprintf(whole, sizeof whole, "POST /x HTTP/1.1\r\nHost: t\r\n"
					  "Content-Length: %u\r\n\r\n", CAP + 1024);
	memset(whole + n, '{', CAP + 1024);
	exchange(http_port(s), whole, (size_t)n + CAP + 1024, &r);
	expect_413(&r);
	free(r.body);
	ck_assert_int_eq(atomic_load(&ec.calls), 0);
	http_stop(s);
}
END_TEST

static size_t chunked_request(char *buf, size_t cap, size_t chunks, size_t chunk_len)
{
	size_t n = (size_t)snprintf(buf, cap, "POST /c HTTP/1.1\r\nHost: t\r\n"
					      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
	for (size_t i = 0; i < chunks; i++) {
		n += (size_t)snprintf(buf + n, cap - n, "%zx\r\n", chunk_len);
		memset(buf + n, 'z', chunk_len);
		n += chunk_len;
		n += (size_t)snprintf(buf + n, cap - n, "\r\n");
	}
	n += (size_t)snprintf(buf + n, cap - n, "0\r\n\r\n");
	return n;
}

START_TEST(chunked_body)
{
	struct echo_ctx ec;
	struct http_server *s = start(&ec, CAP);
	struct reply r;
	static char req[64 * 1024];

	size_t n = chunked_request(req, sizeof req, 4, 1000); /* 4000 ≤ cap */
	exchange(http_port(s), req, n, &r);
	ck_assert_int_eq(r.status, 200);
	json_t *j = body_json(&r);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "body_len")), 4000);
	json_decref(j);
	free(r.body);
	ck_assert_int_eq(atomic_load(&ec.calls), 1);

	n = chunked_request(req, sizeof req, 5, 1000); /* 5000 > cap */
	exchange(http_port(s), req, n, &r);
	expect_413(&r);
	free(r.body);

	n = chunked_request(req, sizeof req, 1, 40000); /* one big chunk */
	exchange(http_port(s), req, n, &r);
	expect_413(&r);
	free(r.body);
	ck_assert_int_eq(atomic_load(&ec.calls), 1);
	http_stop(s);
}
END_TEST

START_TEST(endless_chunked_body_is_cut_off)
{
	struct echo_ctx ec;
	struct http_server *s = start(&ec, CAP);
	static char chunk[65536 + 16];
	const char *head = "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
	int fd = connect_to(http_port(s));
	send_all(fd, head, strlen(head));
	int hl = snprintf(chunk, sizeof chunk, "%x\r\n", 65536);
	memset(chunk + hl, 'q', 65536);
	memcpy(chunk + hl + 65536, "\r\n", 2);
	/* up to 64 MiB, far past the cap plus the 1 MiB drain allowance; kernel
	 * socket buffers absorb a few MiB after the server hangs up */
	size_t sent = 0;
	for (int i = 0; i < 1024; i++) {
		ssize_t w = send(fd, chunk, (size_t)hl + 65538, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		sent += (size_t)w;
	}
	ck_assert_uint_lt(sent, 64u * 1024 * 1024); /* the server hung up on us */
	close(fd);
	ck_assert_int_eq(atomic_load(&ec.calls), 0);
	struct reply r;
	get(http_port(s), "/after", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	free(r.body);
	http_stop(s);
}
END_TEST

START_TEST(response_headers)
{
	struct echo_ctx ec;
	struct http_server *s = start(&ec, CAP);
	struct reply r;
	char v[128];
	get(http_port(s), "/retry", NULL, &r);
	ck_assert_int_eq(r.status, 429);
	ck_assert(header(&r, "Retry-After", v, sizeof v));
	ck_assert_str_eq(v, "7");
	ck_assert(header(&r, "Allow", v, sizeof v));
	ck_assert_str_eq(v, "GET, POST");
	free(r.body);

	get(http_port(s), "/ping", NULL, &r);
	ck_assert(!header(&r, "Retry-After", v, sizeof v));
	ck_assert(!header(&r, "Allow", v, sizeof v));
	free(r.body);

	get(http_port(s), "/crlf", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(!header(&r, "Location", v, sizeof v));
	ck_assert(!header(&r, "Set-Cookie", v, sizeof v));
	free(r.body);

	get(http_port(s), "/text", NULL, &r);
	ck_assert(header(&r, "Content-Type", v, sizeof v));
	ck_assert_str_eq(v, "text/plain; version=0.0.4");
	free(r.body);
	http_stop(s);
}
END_TEST

START_TEST(bad_handler_results)
{
	struct echo_ctx ec;
	struct http_server *s = start(&ec, CAP);
	struct reply r;
	char v[128];
	get(http_port(s), "/zero", NULL, &r);
	ck_assert_int_eq(r.status, 500);
	json_t *j = body_json(&r);
	ck_assert_str_eq(jstr(j, "error"), "internal_error");
	ck_assert(header(&r, "X-Request-Id", v, sizeof v));
	ck_assert_str_eq(jstr(j, "request_id"), v);
	json_decref(j);
	free(r.body);

	get(http_port(s), "/nobody", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body_len, 0);
	ck_assert(header(&r, "Content-Length", v, sizeof v));
	ck_assert_str_eq(v, "0");
	free(r.body);
	http_stop(s);
}
END_TEST

static void *hammer(void *arg)
{
	int port = *(int *)arg;
	long ok = 0;
	for (int i = 0; i < 25; i++) {
		struct reply r;
		get(port, "/slowish", NULL, &r);
		ok += r.status == 200;
		free(r.body);
	}
	return (void *)ok;
}

START_TEST(many_requests)
{
	struct echo_ctx ec;
	struct http_server *s = start(&ec, CAP);
	int port = http_port(s);
	for (int i = 0; i < 50; i++) {
		struct reply r;
		get(port, "/seq", NULL, &r);
		ck_assert_int_eq(r.status, 200);
		free(r.body);
	}
	pthread_t t[2];
	void *ok[2];
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &port), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], &ok[i]);
		ck_assert_int_eq((long)ok[i], 25);
	}
	ck_assert_int_eq(atomic_load(&ec.calls), 100);
	http_stop(s);
}
END_TEST

START_TEST(keep_alive_two_requests)
{
	struct echo_ctx ec;
	struct http_server *s = start(&ec, CAP);
	const char *two = "GET /one HTTP/1.1\r\nHost: t\r\n\r\n"
			  "POST /two?q HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
			  "Connection: close\r\n\r\nabc";
	struct reply r;
	exchange(http_port(s), two, strlen(two), &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"path\":\"/one\""));
	ck_assert_ptr_nonnull(strstr(r.body, "\"path\":\"/two\""));
	ck_assert_ptr_nonnull(strstr(r.body, "\"query\":\"q\""));
	ck_assert_ptr_nonnull(strstr(r.body, "\"body_len\":3"));
	free(r.body);
	ck_assert_int_eq(atomic_load(&ec.calls), 2);
	http_stop(s);
}
END_TEST

START_TEST(garbage_does_not_crash)
{
	struct echo_ctx ec;
	struct http_server *s = start(&ec, CAP);
	struct reply r;
	static const char *const junk[] = {
		"GARBAGE\r\n\r\n", "\x01\x02\x03\xff\xfe\r\n\r\n", "GET\r\n\r\n",
		"GET / HTTP/9.9\r\n\r\n", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n\r\n",
		" / HTTP/1.1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof junk / sizeof *junk; i++) {
		exchange(http_port(s), junk[i], strlen(junk[i]), &r);
		ck_assert_msg(r.status == -1 || r.status >= 400, "junk %zu got %d", i, r.status);
		free(r.body);
		get(http_port(s), "/next", NULL, &r);
		ck_assert_int_eq(r.status, 200);
		free(r.body);
	}
	/* a header block over HTTP_MAX_HEADER_BYTES is refused, not buffered */
	size_t big = HTTP_MAX_HEADER_BYTES + 1024;
	char *req = malloc(big + 128);
	int n = snprintf(req, big + 128, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
	memset(req + n, 'b', big);
	strcpy(req + n + big, "\r\nConnection: close\r\n\r\n");
	exchange(http_port(s), req, strlen(req), &r);
	ck_assert_msg(r.status == -1 || r.status >= 400, "big header got %d", r.status);
	free(r.body);
	free(req);
	get(http_port(s), "/next", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	free(r.body);
	http_stop(s);
}
END_TEST

static void *slow_client(void *arg)
{
	struct reply r;
	get(*(int *)arg, "/slow", NULL, &r);
	free(r.body);
	return (void *)(long)r.status;
}

START_TEST(stop_is_prompt_and_graceful)
{
	struct echo_ctx ec;
	struct http_server *s = start(&ec, CAP);
	int port = http_port(s);
	int idle = connect_to(port); /* an idle connection must not hold stop up */
	pthread_t t;
	void *status;
	ck_assert_int_eq(pthread_create(&t, NULL, slow_client, &port), 0);
	while (atomic_load(&ec.calls) == 0) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	uint64_t t0 = util_mono_ns();
	http_stop(s);
	uint64_t took = util_mono_ns() - t0;
	pthread_join(t, &status);
	ck_assert_int_eq((long)status, 200); /* the in-flight request completed */
	ck_assert_uint_lt(took, 2000000000ull);
	close(idle);

	/* the port is free again and nothing listens on it */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ck_assert_int_ne(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	close(fd);
	http_stop(NULL);
}
END_TEST

static void *later_client(void *arg)
{
	struct reply *r = arg;
	get(r->status, "/later", "X-Request-Id: mine-1\r\n", r);
	return NULL;
}

/* A deferred answer holds no thread: with one HTTP thread, /ping is answered
 * while /later waits, and /later gets what another thread finishes it with. */
START_TEST(deferred_answers)
{
	struct echo_ctx ec = { 0 };
	struct http_options o = { .listen = "127.0.0.1:0", .threads = 1, .max_connections = 64,
				  .connection_timeout_s = 5 };
	struct http_server *s = http_start(&o, echo_handler, &ec);
	ck_assert_ptr_nonnull(s);
	struct reply later = { .status = http_port(s) }, r;
	pthread_t t;
	char v[64];

	ck_assert_int_eq(pthread_create(&t, NULL, later_client, &later), 0);
	while (!atomic_load(&ec.later)) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	ck_assert_int_eq(ec.defer_again_errno, EALREADY);
	for (int i = 0; i < 3; i++) {
		get(http_port(s), "/ping", NULL, &r);
		ck_assert_int_eq(r.status, 200);
		free(r.body);
	}
	struct http_response a = { .status = 201, .body = strdup("{\"late\":1}") };
	snprintf(a.retry_after, sizeof a.retry_after, "3");
	http_deferred_finish(atomic_load(&ec.later), &a);
	ck_assert_ptr_null(a.body); /* taken */
	pthread_join(t, NULL);
	ck_assert_int_eq(later.status, 201);
	ck_assert_str_eq(later.body, "{\"late\":1}");
	ck_assert(header(&later, "Retry-After", v, sizeof v));
	ck_assert_str_eq(v, "3");
	ck_assert(header(&later, "X-Request-Id", v, sizeof v));
	ck_assert_str_eq(v, "mine-1");
	free(later.body);

	get(http_port(s), "/now", NULL, &r);
	ck_assert_int_eq(r.status, 202);
	ck_assert_str_eq(r.body, "{\"now\":1}");
	free(r.body);
	http_stop(s);

	/* a request that did not come through a server cannot be deferred */
	struct http_request fake = { .method = "GET", .path = "/" };
	struct http_response fr = { 0 };
	errno = 0;
	ck_assert_ptr_null(http_defer(&fake, &fr));
	ck_assert_int_eq(errno, ENOTSUP);
	ck_assert(!fr.deferred);
}
END_TEST

START_TEST(listen_errors)
{
	struct echo_ctx ec;
	static const char *const bad[] = { "nonsense", "127.0.0.1", "127.0.0.1:99999",
					   "127.0.0.1:x", "[::1", "[::1]8000", "" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct http_options o = { .listen = bad[i] };
		errno = 0;
		ck_assert_ptr_null(http_start(&o, echo_handler, &ec));
		ck_assert_msg(errno == EINVAL, "'%s' errno %d", bad[i], errno);
	}
	struct http_server *s = start(&ec, CAP);
	char busy[64];
	snprintf(busy, sizeof busy, "127.0.0.1:%d", http_port(s));
	struct http_options o = { .listen = busy };
	errno = 0;
	ck_assert_ptr_null(http_start(&o, echo_handler, &ec));
	ck_assert_int_eq(errno, EADDRINUSE);
	o.listen = "127.0.0.1:0";
	ck_assert_ptr_null(http_start(&o, NULL, &ec));
	http_stop(s);
}
END_TEST

START_TEST(ipv6_loopback)
{
	int probe = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	if (probe < 0 || bind(probe, (struct sockaddr *)&a6, sizeof a6) != 0) {
		if (probe >= 0)
			close(probe);
		return; /* no IPv6 on this host: nothing to test */
	}
	close(probe);
	struct echo_ctx ec;
	atomic_init(&ec.calls, 0);
	struct http_options o = { .listen = "[::1]:0" };
	struct http_server *s = http_start(&o, echo_handler, &ec);
	ck_assert_ptr_nonnull(s);
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	a6.sin6_port = htons((uint16_t)http_port(s));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a6, sizeof a6), 0);
	const char *req = "GET /v6 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	send_all(fd, req, strlen(req));
	struct reply r;
	read_reply(fd, &r);
	close(fd);
	ck_assert_int_eq(r.status, 200);
	json_t *j = body_json(&r);
	ck_assert_str_eq(jstr(j, "remote_addr"), "::1");
	json_decref(j);
	free(r.body);
	http_stop(s);
}
END_TEST

static Suite *http_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("http", &tc);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, get_echo);
	tcase_add_test(tc, request_id_from_client);
	tcase_add_test(tc, post_with_body);
	tcase_add_test(tc, content_length_over_cap);
	tcase_add_test(tc, chunked_body);
	tcase_add_test(tc, endless_chunked_body_is_cut_off);
	tcase_add_test(tc, response_headers);
	tcase_add_test(tc, bad_handler_results);
	tcase_add_test(tc, many_requests);
	tcase_add_test(tc, keep_alive_two_requests);
	tcase_add_test(tc, garbage_does_not_crash);
	tcase_add_test(tc, stop_is_prompt_and_graceful);
	tcase_add_test(tc, deferred_answers);
	tcase_add_test(tc, listen_errors);
	tcase_add_test(tc, ipv6_loopback);
	return s;
}

TESTUTIL_MAIN(http_suite)
