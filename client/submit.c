/* submit.c — see submit.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "dynbuf.h"
#include "outcome.h"
#include "render.h"
#include "submit.h"
#include "util.h"

#define POLL_NS 500000000ull        /* one GET every half second */
#define REDRAW_NS 100000000ull      /* the clock on the line moves between polls */
#define BACKOFF_MAX_S 10.0
#define UNREACHABLE_TRIES 5         /* a restarting server is not yet "down" */

static int read_capped(const char *path, const char *what, char **text, size_t *len,
		       char *why, size_t cap)
{
	int ret = util_read_file(path, SUBMIT_FILE_MAX, text, len);
	if (ret == -E2BIG || ret == -EFBIG)
		util_say(why, cap, "%s %s is over %u bytes, the server's request limit", what, path,
			 SUBMIT_FILE_MAX);
	else if (ret)
		util_say(why, cap, "%s %s: %s", what, path, strerror(-ret));
	return ret;
}

static json_t *load_tests(const char *path, char *why, size_t cap)
{
	char *text = NULL;
	size_t len = 0;
	json_error_t err;
	json_t *root, *cases = NULL;

	if (read_capped(path, "TESTS", &text, &len, why, cap))
		return NULL;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	free(text);
	if (!root) {
		util_say(why, cap, "%s is not JSON: %s (line %d, column %d)", path, err.text,
			 err.line, err.column);
		return NULL;
	}
	if (json_is_array(root))
		cases = json_incref(root);
	else if (json_is_array(json_object_get(root, "test_cases")))
		cases = json_incref(json_object_get(root, "test_cases"));
	else
		util_say(why, cap, "%s: expected the test_cases array, or an object with "
			 "\"test_cases\"", path);
	json_decref(root);
	return cases;
}

static int set_opt_str(json_t *o, const char *k, const char *v)
{
	return v ? json_object_set_new(o, k, json_string(v)) : 0;
}

json_t *submit_request(const struct client_args *a, char *why, size_t cap)
{
	char *code = NULL;
	size_t len = 0;
	json_t *req = NULL, *cases = NULL, *jcode;

	if (read_capped(a->file, "FILE", &code, &len, why, cap))
		return NULL;
	if (!(cases = load_tests(a->tests, why, cap)))
		goto out;
	jcode = json_stringn(code, len);
	if (!jcode) {
		util_say(why, cap, "%s is not UTF-8 text", a->file);
		goto out;
	}
	req = json_object();
	if (!req || json_object_set_new(req, "candidate_code", jcode) ||
	    json_object_set_new(req, "function_name", json_string(a->function)) ||
	    json_object_set(req, "test_cases", cases) ||
	    (a->trials && json_object_set_new(req, "energy_measurement_trials",
					      json_integer(a->trials))) ||
	    set_opt_str(req, "candidate_id", a->candidate_id) ||
	    set_opt_str(req, "problem_name", a->problem_name)) {
		util_say(why, cap, "out of memory (or --function/--problem not UTF-8)");
		json_decref(req);
		req = NULL;
	}
out:
	json_decref(cases);
	free(code);
	return req;
}

int submit_run(struct session *s)
{
	char why[512] = "";
	struct session_answer ans = { 0 };
	unsigned long long t0 = util_mono_ns();
	json_t *req = submit_request(s->a, why, sizeof why);
	char *body = NULL, id[128];
	int rc;

	if (!req) {
		fprintf(s->err, "jouletrace: submit: %s\n", why);
		return EXIT_USAGE;
	}
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!body) {
		fputs("jouletrace: submit: out of memory\n", s->err);
		return EXIT_USAGE;
	}
	rc = session_call(s, "POST", "/api/v1/measure", body, strlen(body), 0, &ans);
	free(body);
	const char *tid = json_string_value(json_object_get(ans.json, "task_id"));
	if (rc == EXIT_OK && (!tid || strlen(tid) >= sizeof id || !*tid)) {
		fputs("jouletrace: submit: the server's answer has no task_id\n", s->err);
		rc = EXIT_REFUSED;
		goto out;
	}
	if (rc != EXIT_OK) {
		rc = session_report(s, &ans, "submit");
		goto out;
	}
	snprintf(id, sizeof id, "%s", tid);
	if (!s->a->wait) {
		if (s->a->json)
			session_print_json(s, ans.json);
		else
			fprintf(s->out, "%s\n", id);
		goto out;
	}
	if (!s->a->json)
		fprintf(s->out, "task %s queued\n", id);
	fflush(s->out);
	rc = submit_wait(s, id, t0);
out:
	session_answer_free(&ans);
	return rc;
}

/* Where the progress goes: the live line on a terminal; with --json only
 * stderr's terminal, so stdout stays one JSON document. */
struct display {
	FILE *f;
	bool live;       /* a terminal: one line redrawn in place */
	bool shown;      /* something is on the live line */
	struct progress_state last;
	char last_stage[64];
};

static int term_width(FILE *f)
{
	struct winsize ws;
	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static void display_init(struct display *d, struct session *s)
{
	memset(d, 0, sizeof *d);
	if (!s->a->json) {
		d->f = s->out;
		d->live = isatty(fileno(s->out));
	} else if (isatty(fileno(s->err))) {
		d->f = s->err;
		d->live = true;
	}
}

static void display_show(struct display *d, const struct progress_state *st)
{
	struct dynbuf b;

	if (!d->f)
		return;
	dynbuf_init(&b, 4096);
	if (d->live) {
		/* one line, redrawn: back to column 0, the line, erase what is left */
		if (dynbuf_add_str(&b, "\r") == 0 && render_progress(st, term_width(d->f) - 1, &b) == 0 &&
		    dynbuf_add_str(&b, "\033[K") == 0)
			fputs(b.p, d->f);
		d->shown = true;
	} else {
		const char *stage = st->stage ? st->stage : "";
		if (strcmp(stage, d->last_stage) != 0 || st->trial != d->last.trial ||
		    st->trials_max != d->last.trials_max) {
			if (render_progress_plain(st, &b) == 0)
				fputs(b.p, d->f);
			snprintf(d->last_stage, sizeof d->last_stage, "%s", stage);
			d->last = *st;
		}
	}
	fflush(d->f);
	dynbuf_free(&b);
}

static void display_end(struct display *d)
{
	if (d->live && d->shown) {
		fputs("\r\033[K", d->f);
		fflush(d->f);
	}
	d->shown = false;
}

/* Sleeps ns in short steps, redrawing the clock; false when Ctrl-C came. */
static bool pause_redrawing(struct session *s, struct display *d, struct progress_state *st,
			    unsigned long long t0, unsigned long long ns)
{
	unsigned long long end = util_mono_ns() + ns;
	for (;;) {
		if (*s->stop)
			return false;
		unsigned long long now = util_mono_ns();
		if (now >= end)
			return true;
		unsigned long long step = end - now < REDRAW_NS ? end - now : REDRAW_NS;
		struct timespec ts = { (time_t)(step / 1000000000ull), (long)(step % 1000000000ull) };
		nanosleep(&ts, NULL);   /* EINTR from Ctrl-C: the flag is checked next */
		if (d->live && st->stage) {
			st->elapsed_s = (double)(util_mono_ns() - t0) / 1e9;
			display_show(d, st);
		}
	}
}

static int finish(struct session *s, struct display *d, const json_t *task)
{
	struct dynbuf b;
	int rc = client_exit_of_status(json_string_value(json_object_get(task, "status")));

	display_end(d);
	if (s->a->json) {
		session_print_json(s, task);
		return rc;
	}
	dynbuf_init(&b, 1u << 20);
	if (render_task(task, &b) == 0 && b.p)
		fputs(b.p, s->out);
	fflush(s->out);
	dynbuf_free(&b);
	return rc;
}

static bool final_status(const char *st)
{
	return st && (strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0 ||
		      strcmp(st, "cancelled") == 0);
}

int submit_wait(struct session *s, const char *id, unsigned long long t0)
{
	char path[256], what[160], stage[64] = "", stat[32] = "";
	struct display d;
	struct progress_state st = { 0 };
	double backoff = 0;
	int unreachable = 0, rc;

	display_init(&d, s);
	snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
	snprintf(what, sizeof what, "task %s", id);
	for (;;) {
		struct session_answer ans;
		unsigned long long delay = POLL_NS;
		rc = session_call(s, "GET", path, NULL, 0, 10000, &ans);
		if (rc == EXIT_OK) {
			unreachable = 0;
			backoff = 0;
			const char *status = json_string_value(json_object_get(ans.json, "status"));
			if (final_status(status)) {
				rc = finish(s, &d, ans.json);
				session_answer_free(&ans);
				return rc;
			}
			render_state_of(ans.json, &st);
			/* the answer goes away: the strings are kept in our own buffers */
			snprintf(stage, sizeof stage, "%s", st.stage ? st.stage : status ? status : "?");
			snprintf(stat, sizeof stat, "%s", status ? status : "?");
			st.stage = stage;
			st.status = stat;
			session_answer_free(&ans);
		} else if ((ans.status == 429 || ans.status == 503) && !ans.err) {
			backoff = ans.retry_after_s > 0 ? ans.retry_after_s :
				  backoff > 0 ? backoff * 2 : 1;
			if (backoff > BACKOFF_MAX_S)
				backoff = BACKOFF_MAX_S;
			delay = (unsigned long long)(backoff * 1e9);
			session_answer_free(&ans);
		} else if (rc == EXIT_UNREACHABLE && ++unreachable < UNREACHABLE_TRIES) {
			delay = (unsigned long long)unreachable * POLL_NS * 2;
			session_answer_free(&ans);
		} else {
			display_end(&d);
			rc = session_report(s, &ans, what);
			session_answer_free(&ans);
			fprintf(s->err, "jouletrace: task %s goes on; see it with: jouletrace status %s\n",
				id, id);
			return rc;
		}
		st.elapsed_s = (double)(util_mono_ns() - t0) / 1e9;
		display_show(&d, &st);
		if (!pause_redrawing(s, &d, &st, t0, delay))
			break;
	}
	display_end(&d);
	fprintf(s->err, "jouletrace: stopped waiting; task %s goes on. Cancel it with: "
		"jouletrace cancel %s\n", id, id);
	return EXIT_INTERRUPTED;
}
