/* httpc.c — libcurl behind httpc.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "dynbuf.h"
#include "httpc.h"
#include "util.h"

struct httpc {
	CURL *curl;
};

struct sink {
	struct dynbuf body;
	double retry_after_s;
	int overflow;
};

int httpc_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
}

void httpc_global_cleanup(void)
{
	curl_global_cleanup();
}

struct httpc *httpc_new(void)
{
	struct httpc *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		errno = ENOMEM;
		return NULL;
	}
	return h;
}

void httpc_free(struct httpc *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	if (dynbuf_add(&s->body, p, size * n)) {
		s->overflow = 1;
		return 0;   /* curl stops with CURLE_WRITE_ERROR */
	}
	return size * n;
}

/* Retry-After in seconds (the HTTP-date form is not used by our server). */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";
	char num[32];

	if (len > sizeof name - 1 && len - (sizeof name - 1) < sizeof num &&
	    strncasecmp(p, name, sizeof name - 1) == 0) {
		memcpy(num, p + sizeof name - 1, len - (sizeof name - 1));
		num[len - (sizeof name - 1)] = '\0';
		char *end;
		double v = strtod(num, &end);
		if (end != num && v >= 0)
			s->retry_after_s = v;
	}
	return len;
}

static int map_error(CURLcode c, const struct sink *s)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY: return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL: return -EINVAL;
	case CURLE_OUT_OF_MEMORY: return -ENOMEM;
	case CURLE_WRITE_ERROR: return s->overflow ? -E2BIG : -EPROTO;
	/* the server went away mid-answer: as unreachable as a refused connect */
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR: return -ECONNREFUSED;
	default: return -EPROTO;
	}
}

/* The request's headers: the bearer token, the body's type, no 100-continue. */
static int headers(const struct httpc_req *rq, struct curl_slist **hdr, char *why, size_t cap)
{
	char line[1024];
	const char *want[3];
	size_t n = 0;

	*hdr = NULL;
	if (rq->token) {
		for (const char *p = rq->token; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				/* a CR or LF would start a header of the token's choosing */
				util_say(why, cap, "the token holds a control character");
				return -EINVAL;
			}
		if ((size_t)snprintf(line, sizeof line, "Authorization: Bearer %s", rq->token) >=
		    sizeof line) {
			util_say(why, cap, "the token is too long");
			return -EINVAL;
		}
		want[n++] = line;
	}
	if (rq->body)
		want[n++] = "Content-Type: application/json";
	want[n++] = "Expect:";   /* "Expect: 100-continue" would stall a large POST */
	for (size_t i = 0; i < n; i++) {
		struct curl_slist *t = curl_slist_append(*hdr, want[i]);
		if (!t) {
			util_say(why, cap, "out of memory");
			return -ENOMEM;
		}
		*hdr = t;
	}
	return 0;
}

static void set_options(CURL *c, const struct httpc_req *rq, struct curl_slist *hdr,
			struct sink *s)
{
	if (rq->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	}
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	if (strcmp(rq->method, "GET") == 0)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "jouletrace-client");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ? rq->timeout_ms : 30000L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
}

int httpc_do(struct httpc *h, const struct httpc_req *rq, struct httpc_resp *rs,
	     char *why, size_t cap)
{
	struct sink s = { .retry_after_s = -1 };
	struct curl_slist *hdr = NULL;
	CURLcode cc;
	int ret;

	memset(rs, 0, sizeof *rs);
	rs->retry_after_s = -1;
	dynbuf_init(&s.body, HTTPC_BODY_MAX);
	curl_easy_reset(h->curl);
	if ((ret = headers(rq, &hdr, why, cap)))
		goto out;
	set_options(h->curl, rq, hdr, &s);
	cc = curl_easy_perform(h->curl);
	if (cc != CURLE_OK) {
		ret = map_error(cc, &s);
		util_say(why, cap, "%s", ret == -E2BIG ? "the answer is too large" :
			 curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &rs->status);
	rs->retry_after_s = s.retry_after_s;
	rs->body = dynbuf_take(&s.body, &rs->len);
	if (!rs->body) {
		util_say(why, cap, "out of memory");
		ret = -ENOMEM;
	}
out:
	curl_slist_free_all(hdr);
	dynbuf_free(&s.body);
	return ret;
}

void httpc_resp_free(struct httpc_resp *rs)
{
	free(rs->body);
	rs->body = NULL;
	rs->len = 0;
}
