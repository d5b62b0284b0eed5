/* http.c — see http.h.  The only file that includes <microhttpd.h>. */
#include "http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "apierr.h"
#include "dynbuf.h"
#include "log.h"
#include "util.h"

#define DEFAULT_MAX_BODY   (1024u * 1024u)
#define MIN_DRAIN_BYTES    (1024u * 1024u)
#define STOP_GRACE_NS      (5ull * 1000000000ull)

struct http_server {
	struct MHD_Daemon *daemon;
	int listen_fd;
	int port;
	http_handler_fn fn;
	void *ctx;
	size_t max_body;
	size_t max_drain;
	atomic_uint in_flight;     /* requests between first handler call and completion */
};

/* An answer that comes later (http_defer); lives in its req_state. */
struct http_deferred {
	pthread_mutex_t mu;
	struct MHD_Connection *conn;
	struct http_response resp; /* the answer, once ready */
	bool ready, suspended;
};

/* Per request (not per connection: keep-alive starts a fresh one). */
struct req_state {
	struct http_server *srv;
	char *raw_uri;             /* as sent, path + '?' + query */
	struct dynbuf body;        /* capped at max_body */
	size_t drained;            /* bytes discarded after the cap was crossed */
	bool started, too_large, counted;
	struct MHD_Connection *conn;
	struct http_deferred *deferred;
	char request_id[HTTP_REQUEST_ID_MAX + 1]; /* for a deferred answer's header */
};

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	(void)cls;
	vsnprintf(buf, sizeof buf, fmt, ap);
	size_t n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_warn("libmicrohttpd: %s", buf);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct req_state *st = calloc(1, sizeof *st);
	(void)c;
	if (!st)
		return NULL; /* on_request then refuses the request */
	st->srv = cls;
	dynbuf_init(&st->body, st->srv->max_body);
	/* uri lives in the connection pool, already bounded by HTTP_MAX_HEADER_BYTES */
	st->raw_uri = strdup(uri ? uri : "");
	if (!st->raw_uri) {
		free(st);
		return NULL;
	}
	return st;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct req_state *st = *con_cls;
	(void)c;
	(void)toe;
	if (!st)
		return;
	if (st->counted)
		atomic_fetch_sub(&srv->in_flight, 1);
	if (st->deferred) {
		/* ready by now: a suspended connection does not complete */
		free(st->deferred->resp.body);
		pthread_mutex_destroy(&st->deferred->mu);
		free(st->deferred);
	}
	free(st->raw_uri);
	dynbuf_free(&st->body);
	free(st);
	*con_cls = NULL;
}

static bool sane_request_id(const char *s)
{
	size_t n = 0;
	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= HTTP_REQUEST_ID_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return n > 0;
}

static void pick_request_id(struct MHD_Connection *c, char out[HTTP_REQUEST_ID_MAX + 1])
{
	const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	if (sane_request_id(id)) {
		snprintf(out, HTTP_REQUEST_ID_MAX + 1, "%s", id);
		return;
	}
	if (util_uuid4(out) != 0)
		snprintf(out, HTTP_REQUEST_ID_MAX + 1, "%016llx",
			 (unsigned long long)util_mono_ns());
}

static bool header_safe(const char *v)
{
	return v[0] && !strpbrk(v, "\r\n");
}

static void add_header(struct MHD_Response *r, const char *name, const char *value)
{
	if (!header_safe(value)) {
		log_warn("http: dropping %s header with an empty or multi-line value", name);
		return;
	}
	if (MHD_add_response_header(r, name, value) != MHD_YES)
		log_warn("http: could not add %s header", name);
}

/* Takes ownership of resp->body whatever happens. */
static enum MHD_Result send_response(struct MHD_Connection *c, struct http_response *resp,
				     const char *request_id)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (resp->body && resp->body_len > 0)
		r = MHD_create_response_from_buffer(resp->body_len, resp->body,
						    MHD_RESPMEM_MUST_FREE);
	else {
		free(resp->body);
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	resp->body = NULL;
	if (!r)
		return MHD_NO;
	add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		   resp->content_type ? resp->content_type : "application/json");
	add_header(r, "X-Request-Id", request_id);
	if (resp->retry_after[0])
		add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, resp->retry_after);
	if (resp->auth_challenge)
		add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, resp->challenge_basic
			   ? "Basic realm=\"jouletrace\"" : "Bearer realm=\"jouletrace\"");
	if (resp->csp)
		add_header(r, "Content-Security-Policy", resp->csp);
	if (resp->content_type && strncmp(resp->content_type, "text/html", 9) == 0) {
		add_header(r, "X-Content-Type-Options", "nosniff");
		add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	}
	if (resp->allow[0])
		add_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
	if (resp->location[0])
		add_header(r, MHD_HTTP_HEADER_LOCATION, resp->location);
	ret = MHD_queue_response(c, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, const char *code,
				  const char *message, const char *request_id)
{
	struct http_response resp = { .status = apierr_status(code) };
	resp.body = apierr_json(code, message, request_id, NULL);
	resp.body_len = resp.body ? strlen(resp.body) : 0;
	return send_response(c, &resp, request_id);
}

static enum MHD_Result too_large(struct MHD_Connection *c, const struct http_server *srv)
{
	char id[HTTP_REQUEST_ID_MAX + 1], msg[96];
	pick_request_id(c, id);
	snprintf(msg, sizeof msg, "request body exceeds the limit of %zu bytes", srv->max_body);
	return send_error(c, APIERR_PAYLOAD_TOO_LARGE, msg, id);
}

static int append_body(struct req_state *st, const char *data, size_t n)
{
	int err = dynbuf_add(&st->body, data, n);
	if (err == -E2BIG) {
		/* over the cap: stop buffering now, keep only the verdict */
		st->too_large = true;
		dynbuf_free(&st->body);
		return 0;
	}
	return err;
}

static void client_address(struct MHD_Connection *c, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	out[0] = '\0';
	if (!ci || !ci->client_addr)
		return;
	socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							       : sizeof(struct sockaddr_in);
	if (getnameinfo(ci->client_addr, len, out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST))
		out[0] = '\0';
}

/* A handler's answer (immediate or deferred), checked: a status outside
 * 100..599 is the handler's bug and becomes 500.  Takes resp->body. */
static enum MHD_Result send_answer(struct MHD_Connection *c, struct http_response *resp,
				   const char *request_id, const char *method, const char *path)
{
	if (resp->status < 100 || resp->status > 599) {
		log_error("http: handler for %s %s returned status %d; answering 500",
			  method, path, resp->status);
		free(resp->body);
		return send_error(c, APIERR_INTERNAL_ERROR, "internal error", request_id);
	}
	if (resp->body && resp->body_len == 0)
		resp->body_len = strlen(resp->body);
	return send_response(c, resp, request_id);
}

/* ---- deferred answers ----------------------------------------------------- */

struct http_deferred *http_defer(const struct http_request *req, struct http_response *resp)
{
	struct req_state *st = req ? req->adapter : NULL;
	if (!st) {
		errno = ENOTSUP;
		return NULL;
	}
	if (st->deferred) { /* one per request */
		errno = EALREADY;
		return NULL;
	}
	struct http_deferred *d = calloc(1, sizeof *d);
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&d->mu, NULL);
	d->conn = st->conn;
	st->deferred = d;
	resp->deferred = true;
	return d;
}

void http_deferred_finish(struct http_deferred *d, struct http_response *answer)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->resp = *answer;
	d->resp.deferred = false;
	answer->body = NULL;
	d->ready = true;
	/* not yet suspended: the handler's thread sends it (suspend_or_send) */
	if (d->suspended)
		MHD_resume_connection(d->conn);
	/* the last touch of d: once resumed, the connection may complete and free it */
	pthread_mutex_unlock(&d->mu);
}

/* The answer of a deferred request, once ready; takes its body. */
static enum MHD_Result send_deferred(struct MHD_Connection *c, struct req_state *st)
{
	struct http_deferred *d = st->deferred;
	pthread_mutex_lock(&d->mu);
	struct http_response resp = d->resp;
	d->resp.body = NULL;
	pthread_mutex_unlock(&d->mu);
	return send_answer(c, &resp, st->request_id, "a deferred answer", "");
}

/* After a handler deferred: wait without a thread, unless it is already done. */
static enum MHD_Result suspend_or_send(struct MHD_Connection *c, struct req_state *st,
				       const char *request_id)
{
	struct http_deferred *d = st->deferred;
	snprintf(st->request_id, sizeof st->request_id, "%s", request_id);
	if (!d) { /* deferred without http_defer: a handler bug */
		log_error("http: a handler deferred without http_defer; answering 500");
		return send_error(c, APIERR_INTERNAL_ERROR, "internal error", request_id);
	}
	pthread_mutex_lock(&d->mu);
	if (!d->ready) {
		d->suspended = true;
		MHD_suspend_connection(c);
		pthread_mutex_unlock(&d->mu);
		return MHD_YES;
	}
	pthread_mutex_unlock(&d->mu);
	return send_deferred(c, st);
}

static enum MHD_Result dispatch(struct MHD_Connection *c, struct req_state *st,
				const char *method)
{
	struct http_server *srv = st->srv;
	struct http_request req = { .method = method, .body = st->body.p ? st->body.p : "",
				    .body_len = st->body.len };
	struct http_response resp = { 0 };

	char *q = strchr(st->raw_uri, '?');
	if (q)
		*q++ = '\0';
	req.path = st->raw_uri;
	req.query = q ? q : "";
	req.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_CONTENT_TYPE);
	req.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_AUTHORIZATION);
	req.idempotency_key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
	pick_request_id(c, req.request_id);
	client_address(c, req.remote_addr, sizeof req.remote_addr);
	req.adapter = st;
	st->conn = c;

	srv->fn(srv->ctx, &req, &resp);

	if (resp.deferred) {
		free(resp.body);
		return suspend_or_send(c, st, req.request_id);
	}
	return send_answer(c, &resp, req.request_id, method, req.path);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct http_server *srv = cls;
	struct req_state *st = *con_cls;
	(void)url;
	(void)version;

	if (!st)
		return MHD_NO; /* on_uri ran out of memory */
	if (!st->started) {
		st->started = true;
		st->counted = true;
		atomic_fetch_add(&srv->in_flight, 1);
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		long long n;
		/* answered before the body is read: MHD then discards it and closes */
		if (cl && util_parse_i64(cl, &n) == 0 && n > 0 && (unsigned long long)n > srv->max_body)
			return too_large(c, srv);
		return MHD_YES;
	}
	if (st->deferred) /* called again after http_deferred_finish resumed it */
		return send_deferred(c, st);
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (st->too_large) {
			st->drained += n;
			if (st->drained > srv->max_drain) {
				log_warn("http: dropping connection: body keeps coming past the %zu-byte cap",
					 srv->max_body);
				return MHD_NO;
			}
			return MHD_YES;
		}
		return append_body(st, upload_data, n) ? MHD_NO : MHD_YES;
	}
	if (st->too_large)
		return too_large(c, srv);
	return dispatch(c, st, method);
}

/* "host:port" or "[v6]:port" → a bound, listening, non-blocking socket. */
static int open_listener(const char *listen_addr, int *fd_out, int *port_out)
{
	char host[256];
	const char *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof ss;
	int fd = -1, rc, one = 1;

	if (!listen_addr)
		return -EINVAL;
	if (listen_addr[0] == '[') {
		const char *end = strchr(listen_addr, ']');
		if (!end || end[1] != ':' || (size_t)(end - listen_addr - 1) >= sizeof host)
			return -EINVAL;
		memcpy(host, listen_addr + 1, (size_t)(end - listen_addr - 1));
		host[end - listen_addr - 1] = '\0';
		port = end + 2;
	} else {
		const char *colon = strrchr(listen_addr, ':');
		if (!colon || (size_t)(colon - listen_addr) >= sizeof host)
			return -EINVAL;
		memcpy(host, listen_addr, (size_t)(colon - listen_addr));
		host[colon - listen_addr] = '\0';
		port = colon + 1;
	}
	long long pn;
	if (util_parse_i64(port, &pn) || pn < 0 || pn > 65535)
		return -EINVAL;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc) {
		log_error("http: cannot resolve listen address '%s': %s", listen_addr,
			  gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, SOMAXCONN) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		rc = -errno;
		log_error("http: cannot listen on %s: %s", listen_addr, strerror(errno));
		goto out;
	}
	uint16_t port_be;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 a6;
		memcpy(&a6, &ss, sizeof a6);
		port_be = a6.sin6_port;
	} else {
		struct sockaddr_in a4;
		memcpy(&a4, &ss, sizeof a4);
		port_be = a4.sin_port;
	}
	*port_out = ntohs(port_be);
	*fd_out = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

struct http_server *http_start(const struct http_options *o, http_handler_fn fn, void *ctx)
{
	struct http_server *s = NULL;
	int rc;

	if (!o || !fn) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->listen_fd = -1;
	s->fn = fn;
	s->ctx = ctx;
	s->max_body = o->max_body_bytes ? o->max_body_bytes : DEFAULT_MAX_BODY;
	s->max_drain = s->max_body > MIN_DRAIN_BYTES ? s->max_body : MIN_DRAIN_BYTES;
	atomic_init(&s->in_flight, 0);
	rc = open_listener(o->listen, &s->listen_fd, &s->port);
	if (rc)
		goto out;

	unsigned threads = o->threads ? o->threads : 1;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	/* an array, because the pool-size option is only valid when there is a pool */
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL },
		{ MHD_OPTION_LISTEN_SOCKET, s->listen_fd, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, o->max_connections ? o->max_connections : 1024, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT,
		  o->connection_timeout_s ? o->connection_timeout_s : 30, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_MAX_HEADER_BYTES, NULL },
		{ MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, s },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s },
		{ threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				     MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!s->daemon) {
		log_error("http: libmicrohttpd refused to start on %s", o->listen);
		rc = -EIO;
		goto out;
	}
	log_info("http: listening on %s (port %d, %u thread%s, body cap %zu bytes)", o->listen,
		 s->port, threads, threads == 1 ? "" : "s", s->max_body);
	return s;
out:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s);
	errno = -rc;
	return NULL;
}

int http_port(const struct http_server *s)
{
	return s ? s->port : -1;
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	MHD_socket lfd = MHD_quiesce_daemon(s->daemon);
	uint64_t deadline = util_mono_ns() + STOP_GRACE_NS;
	while (atomic_load(&s->in_flight) > 0 && util_mono_ns() < deadline) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (atomic_load(&s->in_flight) > 0)
		log_warn("http: stopping with %u request(s) still in progress",
			 atomic_load(&s->in_flight));
	MHD_stop_daemon(s->daemon);
	/* after quiesce the listen socket is ours to close, and only after stop;
	 * without quiesce MHD_stop_daemon closed it itself */
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	free(s);
}

void http_metrics_response(struct http_response *resp, struct dynbuf *b, int err)
{
	size_t len = 0;
	char *text = err ? NULL : dynbuf_take(b, &len);
	dynbuf_free(b);
	if (!text) {
		resp->status = 500;
		return;
	}
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4";
	resp->body = text;
	resp->body_len = len;
}
