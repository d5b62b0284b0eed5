/*
 * http.h — a thin adapter over libmicrohttpd so handlers never see it (only
 * lib/http/http.c includes <microhttpd.h>).
 *
 * One handler receives every complete request with its whole body in memory
 * and fills one response.  The adapter owns the limits:
 * * bodies: a hard cap of max_body_bytes.  A Content-Length above the cap is
 *   answered 413 at once without reading the body; a chunked body that grows
 *   past the cap stops being buffered (the rest is read and discarded so the
 *   413 can still be delivered; after max(max_body_bytes, 1 MiB) further bytes
 *   the connection is dropped instead).  The handler is not called either way.
 * * request line + headers: HTTP_MAX_HEADER_BYTES per connection (libmicrohttpd
 *   answers 414/431 itself beyond that).
 * * connections, threads and the idle timeout from http_options.
 * Every response carries Content-Type and X-Request-Id; Retry-After, Allow,
 * Location and Content-Security-Policy when the handler set them (values with
 * CR/LF are dropped); an HTML one (text/html) also X-Content-Type-Options:
 * nosniff and Cache-Control: no-store.  A status
 * outside 100..599 (e.g. a handler that left it 0) becomes 500 internal_error.
 *
 * Thread safety: the handler runs on any of `threads` pool threads, several at
 * once; it must be reentrant and its ctx thread-safe.  It runs synchronously: a
 * handler that blocks holds one pool thread for that long, so a handler that
 * waits on something else (a worker's reply) defers its answer instead
 * (http_defer below) and the connection waits without a thread.
 */
#ifndef JT_HTTP_H
#define JT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_REQUEST_ID_MAX   64          /* longest client X-Request-Id kept */
#define HTTP_MAX_HEADER_BYTES (64 * 1024) /* per-connection memory for line + headers */

/* All pointers are valid only during the handler call. */
struct http_request {
	const char *method;
	const char *path;          /* as sent (not percent-decoded), without the query */
	const char *query;         /* after '?', or "" */
	const char *content_type;  /* or NULL */
	const char *authorization; /* or NULL */
	const char *idempotency_key; /* or NULL */
	const char *body;          /* NUL-terminated for convenience; body_len excludes it */
	size_t body_len;
	/* the client's X-Request-Id when it is 1..64 chars of [A-Za-z0-9._:-],
	 * otherwise a fresh v4 UUID */
	char request_id[HTTP_REQUEST_ID_MAX + 1];
	char remote_addr[64];      /* numeric address, "" when unknown */
	/* who asks, set by the API layer before a handler runs: "token:<hex>"
	 * (a digest prefix of the bearer token) when tokens are configured,
	 * else "addr:<remote_addr>"; rate limits and idempotency keys are his */
	char client[80];
	void *adapter;             /* private to http.c (for http_defer) */
};

/* Zeroed before the handler runs; the adapter frees body (malloc'd) after sending. */
struct http_response {
	int status;
	char *body;                /* NULL → empty body */
	size_t body_len;           /* 0 with a non-NULL body → strlen(body) */
	const char *content_type;  /* NULL → "application/json"; copied */
	char retry_after[16];
	char allow[64];
	bool auth_challenge;      /* 401: add WWW-Authenticate: Bearer realm="jouletrace" */
	bool challenge_basic;     /* … Basic instead of Bearer (a page: browsers ask for it) */
	const char *csp;          /* Content-Security-Policy, or NULL; not copied (a constant) */
	char location[256];
	bool deferred;            /* set by http_defer: answered later, not now */
};

typedef void (*http_handler_fn)(void *ctx, const struct http_request *req,
				struct http_response *resp);

struct http_options {
	const char *listen;        /* "127.0.0.1:8000", "[::1]:8000", "0.0.0.0:0" (port 0 = any) */
	size_t max_body_bytes;     /* 0 → 1 MiB */
	unsigned threads;          /* 0 → 1 */
	unsigned max_connections;  /* 0 → 1024 */
	unsigned connection_timeout_s; /* idle timeout; 0 → 30 */
};

struct http_server;

/*
 * Binds and starts serving.  Returns NULL with errno: EINVAL (bad listen
 * string or NULL fn), EADDRINUSE/EACCES/... (bind), ENOMEM, EIO (libmicrohttpd
 * refused to start; the reason is logged).
 */
struct http_server *http_start(const struct http_options *o, http_handler_fn fn, void *ctx);

/*
 * Answering later.  Inside the handler, http_defer(req, resp) claims the answer
 * and marks resp->deferred; the handler then returns without filling resp.
 * The connection is suspended (no pool thread waits) until some thread calls
 * http_deferred_finish(d, answer) -- exactly once; it takes answer->body and
 * copies the rest.  Finishing before the handler has returned is allowed (the
 * answer is then sent at once).  d is invalid after finish.  Every deferred
 * answer must be finished before http_stop() (libmicrohttpd cannot stop with
 * suspended connections).  NULL + errno: ENOTSUP when req did not come from
 * http_start's server (a handler called directly, in unit tests), ENOMEM.
 * Thread-safe.
 */
struct http_deferred;
struct http_deferred *http_defer(const struct http_request *req, struct http_response *resp);
void http_deferred_finish(struct http_deferred *d, struct http_response *answer);

struct dynbuf;
/*
 * A /metrics answer: 200 with b's text as Prometheus's text format (0.0.4),
 * or 500 when err (the text could not be built) is set.  b is emptied and
 * freed either way.  Shared by the server's and the host monitor's /metrics.
 */
void http_metrics_response(struct http_response *resp, struct dynbuf *b, int err);

/* The port actually bound (useful after listening on port 0). */
int http_port(const struct http_server *s);

/*
 * Stops accepting, lets requests already inside the handler finish (up to 5 s),
 * then closes every connection and joins the threads.  NULL is a no-op.
 */
void http_stop(struct http_server *s);

#endif
