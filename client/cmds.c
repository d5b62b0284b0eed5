/* cmds.c — see cmds.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "cmpview.h"
#include "compare.h"
#include "dynbuf.h"
#include "outcome.h"
#include "render.h"
#include "sealcheck.h"
#include "util.h"

/* A task id goes into a URL path: the server's ids are UUIDs; anything
 * that is not [A-Za-z0-9-] is refused here, before it can change the path. */
static bool id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 64)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || *p == '-'))
			return false;
	return true;
}

static int bad_id(struct session *s, const char *id)
{
	fputs("jouletrace: not a task id: '", s->err);
	struct dynbuf b;
	dynbuf_init(&b, 80);
	if (render_clean(&b, id, 64) == 0 && b.p)
		fputs(b.p, s->err);
	dynbuf_free(&b);
	fputs("'\n", s->err);
	return EXIT_USAGE;
}

static int get_task(struct session *s, const char *id, struct session_answer *ans)
{
	char path[128], what[96];
	snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
	int rc = session_call(s, "GET", path, NULL, 0, 0, ans);
	if (rc == EXIT_OK && !json_is_object(ans->json)) {
		fprintf(s->err, "jouletrace: task %s: the answer is not an object\n", id);
		return EXIT_REFUSED;
	}
	if (rc != EXIT_OK) {
		snprintf(what, sizeof what, "task %s", id);
		rc = session_report(s, ans, what);
	}
	return rc;
}

static int print_rendered(struct session *s, int (*fn)(const json_t *, struct dynbuf *),
			  const json_t *j)
{
	struct dynbuf b;
	dynbuf_init(&b, 1u << 20);
	int ret = fn(j, &b);
	if (!ret && b.p)
		fputs(b.p, s->out);
	dynbuf_free(&b);
	fflush(s->out);
	return ret;
}

int cmd_status(struct session *s)
{
	struct session_answer ans;
	const char *id = s->a->ids[0];
	int rc;

	if (!id_ok(id))
		return bad_id(s, id);
	rc = get_task(s, id, &ans);
	if (rc == EXIT_OK) {
		if (s->a->json)
			session_print_json(s, ans.json);
		else
			print_rendered(s, render_task, ans.json);
		rc = client_exit_of_status(json_string_value(json_object_get(ans.json, "status")));
	}
	session_answer_free(&ans);
	return rc;
}

int cmd_cancel(struct session *s)
{
	struct session_answer ans;
	const char *id = s->a->ids[0];
	char path[128], what[96];
	int rc;

	if (!id_ok(id))
		return bad_id(s, id);
	snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
	snprintf(what, sizeof what, "cancel %s", id);
	rc = session_call(s, "DELETE", path, NULL, 0, 0, &ans);
	if (rc != EXIT_OK) {
		rc = session_report(s, &ans, what);
	} else if (s->a->json) {
		session_print_json(s, ans.json);
	} else {
		fprintf(s->out, "task %s ", id);
		const char *st = json_string_value(json_object_get(ans.json, "status"));
		struct dynbuf b;
		dynbuf_init(&b, 64);
		if (render_clean(&b, st ? st : "cancelled", 32) == 0 && b.p)
			fputs(b.p, s->out);
		dynbuf_free(&b);
		fputc('\n', s->out);
	}
	session_answer_free(&ans);
	return rc;
}

/* The pinned keys: --pubkey, or what the server publishes (said on stderr). */
static int verify_keys(struct session *s, struct sealcheck_keys *k)
{
	char why[512] = "";
	struct session_answer ans;
	int rc;

	if (s->a->pubkey) {
		if (sealcheck_keys_load(s->a->pubkey, NULL, k, why, sizeof why)) {
			fprintf(s->err, "jouletrace: verify: %s\n", why);
			return EXIT_USAGE;
		}
		return EXIT_OK;
	}
	rc = session_call(s, "GET", "/api/v1/keys", NULL, 0, 0, &ans);
	if (rc != EXIT_OK) {
		rc = session_report(s, &ans, "verify: the server's keys");
		goto out;
	}
	char *text = json_dumps(ans.json, JSON_COMPACT);
	if (!text || sealcheck_keys_parse(text, strlen(text), k)) {
		fputs("jouletrace: verify: the server's GET /api/v1/keys holds no usable key\n", s->err);
		rc = EXIT_REFUSED;
	} else {
		fprintf(s->err, "jouletrace: verify: trusting the %zu key(s) %s publishes "
			"(pin one with --pubkey for an offline check)\n", k->n, s->a->server);
	}
	free(text);
out:
	session_answer_free(&ans);
	return rc;
}

static json_t *verdict_json(const struct sealcheck_result *r)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "valid", json_boolean(r->valid));
	if (!r->valid) {
		json_object_set_new(o, "reason", json_string(r->reason));
		return o;
	}
	json_object_set_new(o, "key_id", json_string(r->key_id));
	json_object_set_new(o, "figures_as_sealed", r->figures_checked ? json_true() : json_null());
	const char *names[] = { "sequence", "task_id", "issued_at" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		json_t *v = json_object_get(r->payload, names[i]);
		if (v)
			json_object_set(o, names[i], v);
	}
	return o;
}

int cmd_verify(struct session *s)
{
	struct sealcheck_keys *k = calloc(1, sizeof *k);
	struct sealcheck_result r;
	char *text = NULL;
	size_t len = 0;
	int ret, rc;

	if (!k)
		return EXIT_USAGE;
	ret = strcmp(s->a->file, "-") == 0 ? util_read_fd(STDIN_FILENO, SEAL_TEXT_MAX, &text, &len)
					   : util_read_file(s->a->file, SEAL_TEXT_MAX, &text, &len);
	if (ret) {
		fprintf(s->err, "jouletrace: verify: %s: %s\n", s->a->file, strerror(-ret));
		free(k);
		return EXIT_USAGE;
	}
	rc = verify_keys(s, k);
	if (rc == EXIT_OK) {
		sealcheck_text(text, len, k, &r);
		if (s->a->json) {
			json_t *v = verdict_json(&r);
			if (v)
				session_print_json(s, v);
			json_decref(v);
		} else {
			sealcheck_print(s->out, &r);
			fflush(s->out);
		}
		rc = r.valid ? EXIT_OK : EXIT_FAILED;
		sealcheck_result_free(&r);
	}
	free(text);
	free(k);
	return rc;
}

int cmd_compare(struct session *s)
{
	struct session_answer ans[CLIENT_MAX_IDS];
	json_t *results[CLIENT_MAX_IDS], *cmp = NULL;
	size_t n = 0;
	char why[256] = "";
	int rc = EXIT_OK;

	for (size_t i = 0; i < s->a->nids; i++)
		if (!id_ok(s->a->ids[i]))
			return bad_id(s, s->a->ids[i]);
	for (; n < s->a->nids && rc == EXIT_OK; n++) {
		rc = get_task(s, s->a->ids[n], &ans[n]);
		results[n] = ans[n].json;
	}
	if (rc != EXIT_OK)
		goto out;
	cmp = compare_build(results, n, why, sizeof why);
	if (!cmp) {
		fprintf(s->err, "jouletrace: compare: %s\n", why);
		rc = EXIT_USAGE;
		goto out;
	}
	if (s->a->json)
		session_print_json(s, cmp);
	else
		print_rendered(s, cmpview_render, cmp);
	const json_t *items = json_object_get(cmp, "items");
	for (size_t i = 0; i < json_array_size(items); i++)
		if (!json_is_true(json_object_get(json_array_get(items, i), "comparable")))
			rc = EXIT_FAILED;
out:
	json_decref(cmp);
	for (size_t i = 0; i < n; i++)
		session_answer_free(&ans[i]);
	return rc;
}
