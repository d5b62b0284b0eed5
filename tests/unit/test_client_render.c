/* What the client prints (client/render, client/cmpview): pure functions of
 * a task record or a comparison and a terminal width. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmpview.h"
#include "dynbuf.h"
#include "render.h"
#include "testutil.h"

static char *progress(const struct progress_state *st, int width)
{
	struct dynbuf b;
	dynbuf_init(&b, 4096);
	ck_assert_int_eq(render_progress(st, width, &b), 0);
	return dynbuf_take(&b, NULL);
}

START_TEST(progress_line_fits_the_terminal)
{
	struct progress_state st = { .status = "running", .stage = "measuring", .progress = 0.5,
				     .trial = 2, .trials_max = 5, .elapsed_s = 3.25 };
	char *s = progress(&st, 80);
	/* 30 columns of bar at most: 28 inside, half of them done */
	ck_assert_str_eq(s, "measuring  trial 2/5  [##############--------------]  3.2 s");
	free(s);
	s = progress(&st, 41);   /* room for a 12-column bar */
	ck_assert_str_eq(s, "measuring  trial 2/5  [#####-----]  3.2 s");
	free(s);
	s = progress(&st, 30);   /* no room for a bar: the text stays whole */
	ck_assert_str_eq(s, "measuring  trial 2/5  3.2 s");
	free(s);
	s = progress(&st, 12);   /* narrower still: cut, never wrapped */
	ck_assert_str_eq(s, "measuring  t");
	free(s);
	for (int w = -1; w <= 200; w++) {
		s = progress(&st, w);
		ck_assert_uint_le(strlen(s), w < 1 ? 1 : (size_t)w);
		ck_assert_ptr_null(strchr(s, '\n'));
		ck_assert_ptr_null(strchr(s, '\r'));
		free(s);
	}
}
END_TEST

START_TEST(progress_line_states)
{
	struct progress_state st = { .status = "queued", .elapsed_s = 0.04 };
	char *s = progress(&st, 20);
	ck_assert_str_eq(s, "queued  0.0 s");   /* no stage yet: the status */
	free(s);
	/* a stage from the server cannot move the cursor or change colours */
	st.stage = "\x1b[2J\rsizing\xc3\xa9";
	st.progress = 2;   /* out of range: the bar is full, not overrun */
	s = progress(&st, 60);
	ck_assert_ptr_null(strchr(s, '\x1b'));
	ck_assert_ptr_null(strchr(s, '\r'));
	ck_assert_ptr_nonnull(strstr(s, "?[2J?sizing??  ["));
	ck_assert_ptr_null(strchr(s, '-'));
	free(s);
	struct dynbuf b;
	dynbuf_init(&b, 4096);
	st = (struct progress_state){ .status = "running", .stage = "measuring", .progress = 0.27,
				      .trial = 1, .trials_max = 3, .elapsed_s = 12.5 };
	ck_assert_int_eq(render_progress_plain(&st, &b), 0);
	ck_assert_str_eq(b.p, "[   12.5 s] measuring  trial 1/3 (27 %)\n");
	dynbuf_free(&b);
}
END_TEST

START_TEST(state_of_a_record)
{
	json_t *t = json_pack("{s:s, s:s, s:f, s:i, s:i}", "status", "running", "stage", "measuring",
			      "progress", 0.44, "trial", 3, "trials_max", 5);
	struct progress_state st;
	render_state_of(t, &st);
	ck_assert_str_eq(st.status, "running");
	ck_assert_str_eq(st.stage, "measuring");
	ck_assert_double_eq_tol(st.progress, 0.44, 1e-12);
	ck_assert_int_eq(st.trial, 3);
	ck_assert_int_eq(st.trials_max, 5);
	json_decref(t);
	/* an older server without the trial fields, and nonsense values */
	t = json_pack("{s:s, s:s, s:f, s:s}", "status", "running", "stage", "sizing", "progress", 7.0,
		      "trial", "2");
	render_state_of(t, &st);
	ck_assert_int_eq(st.trial, 0);
	ck_assert_int_eq(st.trials_max, 0);
	ck_assert(st.progress == 0);
	json_decref(t);
}
END_TEST

static char *task_text(const char *json)
{
	json_error_t err;
	json_t *t = json_loads(json, 0, &err);
	ck_assert_msg(t != NULL, "%s", err.text);
	struct dynbuf b;
	dynbuf_init(&b, 1u << 20);
	ck_assert_int_eq(render_task(t, &b), 0);
	json_decref(t);
	return dynbuf_take(&b, NULL);
}

/* A completed record: the figures of /work/samples/task0.json, trimmed. */
static const char COMPLETED[] =
	"{\"task_id\":\"e076110a\",\"status\":\"completed\",\"candidate_id\":\"<b>c</b>\","
	"\"validation\":{\"passed_tests\":2,\"total_tests\":2,\"test_results\":[]},"
	"\"energy_metrics\":{\"median_package_energy_joules\":2.4822513562340585,"
	"\"median_ram_energy_joules\":0.20685419484978348,\"median_total_energy_joules\":2.689105551083842,"
	"\"median_execution_time_seconds\":0.2044537985,\"power_consumption_watts\":13.152631894407392,"
	"\"energy_per_call_joules\":0.001819421888419379,\"passes_per_trial\":739,\"trials\":4,"
	"\"cv_percent\":4.387846336477462,\"ci95_total_energy_joules\":[2.4749996977719677,"
	"2.8467],\"stop_reason\":\"cv_target\",\"below_noise_floor\":false},"
	"\"measurement_environment\":{\"meter_type\":\"model\",\"estimated\":true,\"host_id\":\"h1\"},"
	"\"attribution\":{\"attribution_source\":\"bpf\",\"processes\":["
	"{\"pid\":7,\"comm\":\"small\",\"role\":\"foreign\",\"cpu_seconds\":0.01,\"energy_joules\":0.1},"
	"{\"pid\":6885,\"comm\":\"python3.11\",\"role\":\"candidate\",\"cpu_seconds\":0.8187,"
	"\"energy_joules\":10.643105},"
	"{\"pid\":9,\"comm\":\"evil\\u001b[31m\",\"role\":\"foreign\",\"cpu_seconds\":0.02,"
	"\"energy_joules\":0.2},{\"pid\":1,\"comm\":\"a\",\"role\":\"foreign\",\"cpu_seconds\":0,"
	"\"energy_joules\":0},{\"pid\":2,\"comm\":\"b\",\"role\":\"foreign\",\"cpu_seconds\":0,"
	"\"energy_joules\":0},{\"pid\":3,\"comm\":\"c\",\"role\":\"foreign\",\"cpu_seconds\":0,"
	"\"energy_joules\":0}]}}";

START_TEST(completed_table)
{
	char *s = task_text(COMPLETED);
	/* the interval scales the trial's total by the same factor as the call */
	ck_assert_msg(strstr(s, "energy/call   1.82 mJ   95% CI [1.67 mJ, 1.93 mJ]\n"), "%s", s);
	ck_assert_msg(strstr(s, "time/call     138 \xc2\xb5s   (a trial: 204 ms, 739 passes)\n"), "%s", s);
	ck_assert_msg(strstr(s, "power         13.2 W\n"), "%s", s);
	ck_assert_msg(strstr(s, "trials        4 (stop: cv_target)   CV 4.39 %\n"), "%s", s);
	ck_assert_msg(strstr(s, "package/DRAM  2.48 J package (92.3 %) / 207 mJ DRAM (7.7 %)"), "%s", s);
	ck_assert_msg(strstr(s, "meter         model (estimated)   host h1\n"), "%s", s);
	ck_assert_msg(strstr(s, "tests         2/2 passed\n"), "%s", s);
	ck_assert_msg(strstr(s, "candidate     <b>c</b>\n"), "%s", s);
	/* top processes by energy, largest first, at most five, the rest counted */
	char *cand = strstr(s, "python3.11"), *evil = strstr(s, "evil?[31m"), *small = strstr(s, "small");
	ck_assert_msg(cand && evil && small && cand < evil && evil < small, "%s", s);
	ck_assert_msg(strstr(s, "  (1 more)\n"), "%s", s);
	ck_assert_ptr_null(strchr(s, '\x1b'));
	free(s);
}
END_TEST

START_TEST(failed_and_other_states)
{
	char *s = task_text("{\"task_id\":\"t\",\"status\":\"failed\",\"error_type\":\"validation_failed\","
			    "\"error_message\":\"1 of 2 tests failed\",\"validation\":{\"passed_tests\":1,"
			    "\"total_tests\":2,\"test_results\":[{\"test_id\":\"ok\",\"passed\":true},"
			    "{\"test_id\":\"t2\",\"passed\":false,\"expected\":[1,2],\"actual\":null},"
			    "{\"test_id\":\"t3\",\"passed\":false,\"error\":\"ZeroDivisionError\"}]}}");
	ck_assert_msg(strstr(s, "task          t  failed\n"), "%s", s);
	ck_assert_msg(strstr(s, "error         validation_failed: 1 of 2 tests failed\n"), "%s", s);
	ck_assert_msg(strstr(s, "  t2: expected [1,2], got null\n"), "%s", s);
	ck_assert_msg(strstr(s, "  t3: ZeroDivisionError\n"), "%s", s);
	ck_assert_ptr_null(strstr(s, "  ok"));
	free(s);
	s = task_text("{\"task_id\":\"t\",\"status\":\"running\",\"stage\":\"measuring\",\"progress\":0.5,"
		      "\"trial\":2,\"trials_max\":4,\"elapsed_seconds\":1.5}");
	ck_assert_msg(strstr(s, "progress      [    1.5 s] measuring  trial 2/4 (50 %)\n"), "%s", s);
	free(s);
	s = task_text("{\"task_id\":\"t\",\"status\":\"cancelled\"}");
	ck_assert_str_eq(s, "task          t  cancelled\n");
	free(s);
}
END_TEST

START_TEST(padding_counts_characters)
{
	struct dynbuf b;
	dynbuf_init(&b, 256);
	/* "µ" is two bytes and one column: the tables stay aligned */
	ck_assert_int_eq(render_pad(&b, "42 \xc2\xb5J", 8), 0);
	ck_assert_int_eq(render_pad(&b, "|", 0), 0);
	ck_assert_int_eq(render_pad(&b, "1 mJ", -6), 0);
	ck_assert_int_eq(render_pad(&b, "|", 0), 0);
	ck_assert_int_eq(render_pad(&b, "toolong", 3), 0);
	ck_assert_str_eq(b.p, "   42 \xc2\xb5J|1 mJ  |toolong");
	dynbuf_free(&b);
}
END_TEST

START_TEST(compare_table)
{
	json_error_t err;
	json_t *c = json_loads(
		"{\"test\":\"welch_t\",\"alpha\":0.05,\"adjustment\":\"holm\",\"best\":\"aaaaaaaa-1\","
		"\"warnings\":[\"an estimated meter\"],\"items\":["
		"{\"task_id\":\"aaaaaaaa-1\",\"candidate_id\":\"fast\",\"comparable\":true,"
		"\"energy_per_call_joules\":0.0018,\"ci95_per_call_joules\":[0.0017,0.0019],\"trials\":4,"
		"\"cv_percent\":4.4,\"ratio_to_best\":1,\"rank\":1},"
		"{\"task_id\":\"bbbbbbbb-2\",\"candidate_id\":\"slow\",\"comparable\":true,"
		"\"energy_per_call_joules\":0.0061,\"ci95_per_call_joules\":[0.0056,0.0064],\"trials\":5,"
		"\"cv_percent\":5.5,\"ratio_to_best\":3.361,\"rank\":2},"
		"{\"task_id\":\"cccccccc-3\",\"candidate_id\":null,\"comparable\":false,"
		"\"reason\":\"the task is not completed\"}],"
		"\"pairs\":[{\"a\":\"aaaaaaaa-1\",\"b\":\"bbbbbbbb-2\",\"difference_joules\":-0.0042,"
		"\"ratio\":0.298,\"t\":-27.5,\"df\":4.56,\"p_value\":3.05e-06,\"p_adjusted\":3.05e-06,"
		"\"significant\":true,\"cheaper\":\"aaaaaaaa-1\"}]}", 0, &err);
	ck_assert_msg(c != NULL, "%s", err.text);
	struct dynbuf b;
	dynbuf_init(&b, 1u << 16);
	ck_assert_int_eq(cmpview_render(c, &b), 0);
	const char *s = b.p;
	ck_assert_msg(strstr(s, "1     aaaaaaaa  fast                1.80 mJ      [1.70 mJ, 1.90 mJ]  "), "%s", s);
	ck_assert_msg(strstr(s, "      1  best\n"), "%s", s);
	ck_assert_msg(strstr(s, "3.361\n"), "%s", s);
	ck_assert_msg(strstr(s, "-     cccccccc  -                   not comparable: the task is not completed\n"),
		      "%s", s);
	ck_assert_msg(strstr(s, "  aaaaaaaa  bbbbbbbb  -4.20 mJ       0.298    -27.5    4.56  3.05e-06  3.05e-06  yes"
			     " (cheaper: aaaaaaaa)\n"), "%s", s);
	ck_assert_msg(strstr(s, "Welch's t-test on per-trial energy per call, Holm-adjusted, alpha 0.05\n"),
		      "%s", s);
	ck_assert_msg(strstr(s, "warning: an estimated meter\n"), "%s", s);
	dynbuf_free(&b);
	json_decref(c);
}
END_TEST

static Suite *client_render_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("client_render", &tc);
	tcase_add_test(tc, progress_line_fits_the_terminal);
	tcase_add_test(tc, progress_line_states);
	tcase_add_test(tc, state_of_a_record);
	tcase_add_test(tc, completed_table);
	tcase_add_test(tc, failed_and_other_states);
	tcase_add_test(tc, padding_counts_characters);
	tcase_add_test(tc, compare_table);
	return s;
}

TESTUTIL_MAIN(client_render_suite)
