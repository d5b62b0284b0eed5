/* session.c — see session.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "outcome.h"
#include "render.h"
#include "session.h"

#define URL_MAX 2048

int session_call(struct session *s, const char *method, const char *path, const char *body,
		 size_t len, long timeout_ms, struct session_answer *ans)
{
	char url[URL_MAX];
	const char *base = s->a->server;
	size_t bl = strlen(base);
	struct httpc_resp rs;

	memset(ans, 0, sizeof *ans);
	ans->retry_after_s = -1;
	while (bl > 0 && base[bl - 1] == '/')
		bl--;   /* "http://host:8000/" and "http://host:8000" alike */
	if ((size_t)snprintf(url, sizeof url, "%.*s%s", (int)bl, base, path) >= sizeof url) {
		ans->err = -EINVAL;
		snprintf(ans->why, sizeof ans->why, "the server URL is too long");
		return EXIT_USAGE;
	}
	struct httpc_req rq = { .method = method, .url = url, .token = s->a->token, .body = body,
				.body_len = len, .timeout_ms = timeout_ms };
	ans->err = httpc_do(s->h, &rq, &rs, ans->why, sizeof ans->why);
	if (ans->err)
		return client_exit_of_error(ans->err);
	ans->status = rs.status;
	ans->retry_after_s = rs.retry_after_s;
	ans->json = json_loadb(rs.body, rs.len, JSON_REJECT_DUPLICATES, NULL);
	httpc_resp_free(&rs);
	if (!ans->json)
		return EXIT_REFUSED;
	return client_exit_of_http(ans->status);
}

static void print_clean(FILE *f, const char *s, size_t max)
{
	struct dynbuf b;
	dynbuf_init(&b, max + 8);
	if (s && render_clean(&b, s, max) == 0 && b.p)
		fputs(b.p, f);
	dynbuf_free(&b);
}

int session_report(struct session *s, const struct session_answer *ans, const char *what)
{
	int code;

	if (ans->err) {
		code = client_exit_of_error(ans->err);
		fprintf(s->err, "jouletrace: %s: %s %s: %s\n", what,
			code == EXIT_UNREACHABLE ? "server unreachable at" : "request to",
			s->a->server, ans->why);
		return code;
	}
	const char *kind = json_string_value(json_object_get(ans->json, "error"));
	const char *msg = json_string_value(json_object_get(ans->json, "message"));
	fprintf(s->err, "jouletrace: %s: the server refused (HTTP %ld", what, ans->status);
	if (kind) {
		fputc(' ', s->err);
		print_clean(s->err, kind, 64);
	}
	fputs(")", s->err);
	if (msg) {
		fputs(": ", s->err);
		print_clean(s->err, msg, 400);
	} else if (!ans->json) {
		fputs(": the answer is not JSON", s->err);
	}
	fputc('\n', s->err);
	const json_t *fe = json_object_get(ans->json, "field_errors");
	for (size_t i = 0; i < json_array_size(fe) && i < 20; i++) {
		const json_t *e = json_array_get(fe, i);
		fputs("  ", s->err);
		print_clean(s->err, json_string_value(json_object_get(e, "field")), 80);
		fputs(": ", s->err);
		print_clean(s->err, json_string_value(json_object_get(e, "message")), 200);
		fputc('\n', s->err);
	}
	if (s->a->json && ans->json)
		session_print_json(s, ans->json);
	return EXIT_REFUSED;
}

void session_answer_free(struct session_answer *ans)
{
	json_decref(ans->json);
	ans->json = NULL;
}

int session_print_json(struct session *s, const json_t *j)
{
	if (json_dumpf(j, s->out, JSON_INDENT(2) | JSON_REAL_PRECISION(17) | JSON_ENCODE_ANY))
		return -EIO;
	fputc('\n', s->out);
	return fflush(s->out) ? -errno : 0;
}
