/*
 * Unit tests for the pages' builders: server/svg (marks, data attributes,
 * escaping, undefined figures never drawn as 0), server/report and
 * server/comparepage, fed real task results (tests/unit/data: two completed
 * tasks and a failed one, recorded from a real stack, with HTML in their
 * candidate, problem and test ids on purpose).
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "comparepage.h"
#include "html.h"
#include "reportpage.h"
#include "sealmatch.h"
#include "svg.h"
#include "testdata.h"
#include "testhtml.h"
#include "testutil.h"

static json_t *load(const char *name)
{
	return testdata_json(name);
}

/* The chart named name in page, as a new string (caller frees). */
static char *chart(const char *page, const char *name)
{
	char attr[64];
	snprintf(attr, sizeof attr, "data-chart=\"%s\"", name);
	const char *a = strstr(page, attr);
	ck_assert_msg(a != NULL, "no chart %s", name);
	const char *b = strstr(a, "</svg>");
	ck_assert_ptr_nonnull(b);
	return strndup(a, (size_t)(b - a));
}

static void assert_value(const char *svg, double v)
{
	char want[64];
	snprintf(want, sizeof want, "data-value=\"%.9g\"", v);
	ck_assert_msg(strstr(svg, want) != NULL, "no %s in %s", want, svg);
}

/* No element or attribute from the data: only their escaped text. */
static void assert_inert(const char *page)
{
	ck_assert_ptr_null(strstr(page, "<script"));
	ck_assert_ptr_null(strstr(page, "<img"));
	ck_assert_ptr_null(strstr(page, "<b>1</b>"));
	ck_assert_ptr_null(strstr(page, "<i>"));
}

START_TEST(svg_marks_escape_and_skip_undefined)
{
	struct html h;
	struct svg_point p[] = {
		{ .label = "<script>alert(1)</script>", .value = 2.5 },
		{ .label = "undefined", .value = NAN },
		{ .label = "b\"><img src=x onerror=alert(1)>", .value = 0.000123456789123 },
	};
	html_init(&h);
	svg_dots(&h, "trials", p, 3, 1.5, NAN, 3, "J");
	char *s = testhtml_finish(&h);
	ck_assert_uint_eq(testhtml_count(s, "class=\"mark"), 2);           /* the NAN point has none */
	ck_assert_ptr_null(strstr(s, "data-value=\"0\""));
	ck_assert_ptr_null(strstr(s, "nan"));
	ck_assert_ptr_nonnull(strstr(s, "data-value=\"2.5\""));
	ck_assert_ptr_nonnull(strstr(s, "data-value=\"0.000123456789\""));
	ck_assert_ptr_nonnull(strstr(s, "data-median=\"1.5\""));
	ck_assert_ptr_null(strstr(s, "data-ci-low"));                  /* NAN: no attribute */
	ck_assert_ptr_nonnull(strstr(s, "data-ci-high=\"3\""));
	ck_assert_ptr_null(strstr(s, "class=\"band\""));              /* half an interval: no band */
	ck_assert_ptr_nonnull(strstr(s, "data-label=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
	ck_assert_ptr_nonnull(strstr(s, "data-label=\"b&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\""));
	assert_inert(s);
	free(s);

	html_init(&h);                                                 /* nothing to draw */
	svg_hbars(&h, "processes", p + 1, 1, "J");
	svg_stacked(&h, "split", NULL, 0, "J");
	svg_intervals(&h, "compare", NULL, 0, "J");
	s = testhtml_finish(&h);
	ck_assert_uint_eq(testhtml_count(s, "no data"), 3);
	ck_assert_uint_eq(testhtml_count(s, "class=\"mark"), 0);
	free(s);
}
END_TEST

START_TEST(svg_bars_and_intervals)
{
	struct html h;
	struct svg_point p[] = {
		{ .label = "id-a", .text = "cand <a>", .value = 0.002, .lo = 0.0015, .hi = 0.0025 },
		{ .label = "id-b", .value = 0.006, .lo = NAN, .hi = NAN },
	};
	html_init(&h);
	svg_intervals(&h, "compare", p, 2, "J");
	char *s = testhtml_finish(&h);
	ck_assert_ptr_nonnull(strstr(s, "data-label=\"id-a\" data-value=\"0.002\" data-ci-low=\"0.0015\" "
				       "data-ci-high=\"0.0025\""));
	ck_assert_ptr_nonnull(strstr(s, "data-label=\"id-b\" data-value=\"0.006\" x="));
	ck_assert_ptr_nonnull(strstr(s, ">cand &lt;a&gt;</text>"));   /* the shown text, escaped */
	ck_assert_uint_eq(testhtml_count(s, "class=\"whisker\""), 1);
	ck_assert_ptr_nonnull(strstr(s, "6.00 mJ"));
	free(s);

	struct svg_point parts[] = { { .label = "package", .value = 3 }, { .label = "dram", .value = 1 } };
	html_init(&h);
	svg_stacked(&h, "split", parts, 2, "J");
	s = testhtml_finish(&h);
	ck_assert_uint_eq(testhtml_count(s, "class=\"mark"), 2);
	ck_assert_ptr_nonnull(strstr(s, "(75.0%)"));
	ck_assert_ptr_nonnull(strstr(s, "width=\"116.0\""));          /* a quarter of 464 */
	free(s);

	/* below idle (a busy host): nothing drawn, the figures still carried */
	struct svg_point below[] = { { .label = "package", .value = -0.068489 },
				     { .label = "dram", .value = -0.005708 } };
	html_init(&h);
	svg_stacked(&h, "split", below, 2, "J");
	s = testhtml_finish(&h);
	ck_assert_uint_eq(testhtml_count(s, "no data"), 1);
	ck_assert_ptr_nonnull(strstr(s, "data-label=\"package\" data-value=\"-0.068489\""));
	ck_assert_ptr_nonnull(strstr(s, "data-label=\"dram\" data-value=\"-0.005708\""));
	ck_assert_uint_eq(testhtml_count(s, "width=\"0.0\""), 2);
	ck_assert_ptr_null(strstr(s, "%)"));                          /* no share of nothing */
	free(s);
}
END_TEST

static void assert_sections(const char *page)
{
	static const char *const ids[] = { "summary", "energy", "split", "attribution", "sizing",
					   "validation", "environment", "seal" };
	for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
		char want[64];
		snprintf(want, sizeof want, "id=\"%s\"", ids[i]);
		ck_assert_msg(testhtml_count(page, want) == 1, "section %s", ids[i]);
	}
	ck_assert_uint_eq(testhtml_count(page, "class=\"key-id\""), 1);
}

/* A record altered after sealing: the signature verifies, the page's figures
 * are not the signed ones, and the page says so instead of "verified". */
START_TEST(report_of_an_altered_record)
{
	json_t *task = load("task_completed_a.json");
	struct report_seal sv = { .present = true, .verified = true, .key_id = "707fb5d6493beb19",
				  .reason = "signature valid for a published key" };
	json_t *em = json_object_get(task, "energy_metrics");
	json_object_set_new(em, "energy_per_call_joules", json_real(1e-9));
	sv.figures = sealmatch_task(task, sv.figures_reason, sizeof sv.figures_reason);
	ck_assert_int_eq(sv.figures, -EBADMSG);
	struct html h;
	html_init(&h);
	ck_assert_int_eq(report_build(&h, task, &sv), 0);
	char *page = testhtml_finish(&h);
	ck_assert_ptr_nonnull(strstr(page, "id=\"seal\" data-verified=\"false\""));
	ck_assert_ptr_nonnull(strstr(page, "data-figures=\"differ\""));
	ck_assert_ptr_nonnull(strstr(page, "NOT the sealed ones: energy_per_call_joules"));
	free(page);
	/* untouched: as sealed */
	json_decref(task);
	task = load("task_completed_a.json");
	sv.figures = sealmatch_task(task, sv.figures_reason, sizeof sv.figures_reason);
	html_init(&h);
	report_build(&h, task, &sv);
	page = testhtml_finish(&h);
	ck_assert_ptr_nonnull(strstr(page, "id=\"seal\" data-verified=\"true\""));
	ck_assert_ptr_nonnull(strstr(page, "data-figures=\"as-sealed\""));
	free(page);
	json_decref(task);
}
END_TEST

START_TEST(report_of_a_measured_task)
{
	json_t *task = load("task_completed_a.json");
	struct report_seal sv = { .present = true, .verified = true, .key_id = "707fb5d6493beb19",
				  .reason = "signature valid for a published key" };
	struct html h;
	html_init(&h);
	ck_assert_int_eq(report_build(&h, task, &sv), 0);
	char *page = testhtml_finish(&h);
	assert_sections(page);
	assert_inert(page);
	ck_assert_ptr_nonnull(strstr(page, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	ck_assert_ptr_nonnull(strstr(page, "t&lt;b&gt;1&lt;/b&gt;"));
	ck_assert_ptr_nonnull(strstr(page, "id=\"seal\" data-verified=\"true\""));
	ck_assert_ptr_nonnull(strstr(page, "<code class=\"key-id\">707fb5d6493beb19</code>"));

	const json_t *em = json_object_get(task, "energy_metrics"), *t;
	char *s = chart(page, "trials"), want[96];
	size_t i, kept = 0;
	json_array_foreach(json_object_get(task, "trials"), i, t) {
		assert_value(s, json_number_value(json_object_get(t, "candidate_energy_uj")) / 1e6);
		kept += json_is_true(json_object_get(t, "kept"));
	}
	ck_assert_uint_eq(testhtml_count(s, "class=\"mark"), kept);
	snprintf(want, sizeof want, "data-median=\"%.9g\"",
		 json_number_value(json_object_get(em, "median_total_energy_joules")));
	ck_assert_ptr_nonnull(strstr(s, want));
	snprintf(want, sizeof want, "data-ci-low=\"%.9g\"",
		 json_number_value(json_array_get(json_object_get(em, "ci95_total_energy_joules"), 0)));
	ck_assert_ptr_nonnull(strstr(s, want));
	free(s);

	s = chart(page, "split");
	assert_value(s, json_number_value(json_object_get(em, "median_package_energy_joules")));
	assert_value(s, json_number_value(json_object_get(em, "median_ram_energy_joules")));
	ck_assert_ptr_nonnull(strstr(s, "data-label=\"package\""));
	ck_assert_ptr_nonnull(strstr(s, "data-label=\"dram\""));
	free(s);

	/* 16 processes: the top 10 and "other" (the 6 smallest, summed) */
	s = chart(page, "processes");
	ck_assert_uint_eq(testhtml_count(s, "class=\"mark"), 11);
	ck_assert_ptr_nonnull(strstr(s, "data-label=\"python3.11 (6885)\" data-value=\"10.643105\""));
	ck_assert_ptr_nonnull(strstr(s, "data-label=\"other\" data-value=\"0.007103\""));
	free(s);
	free(page);
	json_decref(task);
}
END_TEST

START_TEST(report_of_unmeasured_tasks)
{
	json_t *failed = load("task_failed.json");
	json_t *queued = json_pack("{s:s, s:s, s:s, s:f, s:s, s:n, s:s}", "task_id",
				   "00000000-0000-4000-8000-000000000000", "status", "queued", "stage",
				   "queued", "progress", 0.0, "created_at", "2026-11-30T16:28:08Z",
				   "candidate_id", "problem_name", "\"><img src=x onerror=alert(1)>");
	const json_t *tasks[] = { failed, queued };
	for (size_t i = 0; i < 2; i++) {
		struct report_seal sv = { .present = false };
		struct html h;
		html_init(&h);
		ck_assert_int_eq(report_build(&h, tasks[i], &sv), 0);
		char *page = testhtml_finish(&h);
		assert_sections(page);
		assert_inert(page);
		ck_assert_ptr_nonnull(strstr(page, "data-verified=\"false\""));
		ck_assert_ptr_nonnull(strstr(page, "No seal"));
		ck_assert_ptr_null(strstr(page, "class=\"mark"));        /* nothing measured, nothing drawn */
		if (i == 0) {
			ck_assert_ptr_nonnull(strstr(page, "validation_failed"));
			ck_assert_ptr_nonnull(strstr(page, "2 of 2 tests failed: t&lt;b&gt;1&lt;/b&gt;"));
			ck_assert_ptr_nonnull(strstr(page, "0 of 2 tests passed"));
			ck_assert_ptr_nonnull(strstr(page, "Not measured: the task failed"));
		} else {
			ck_assert_ptr_nonnull(strstr(page, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
			ck_assert_ptr_nonnull(strstr(page, "Not validated yet"));
			ck_assert_ptr_nonnull(strstr(page, "Not measured: the task is still queued"));
		}
		free(page);
	}
	json_decref(failed);
	json_decref(queued);
}
END_TEST

START_TEST(compare_page_says_what_compare_build_says)
{
	json_t *r[3] = { load("task_completed_a.json"), load("task_completed_b.json"),
			 load("task_failed.json") };
	char why[256];
	json_t *cmp = compare_build(r, 3, why, sizeof why);
	ck_assert_msg(cmp != NULL, "%s", why);
	struct html h;
	html_init(&h);
	ck_assert_int_eq(comparepage_build(&h, cmp), 0);
	char *page = testhtml_finish(&h);
	assert_inert(page);

	char *s = chart(page, "compare");
	size_t i;
	const json_t *it;
	json_array_foreach(json_object_get(cmp, "items"), i, it) {
		char want[160];
		const char *id = json_string_value(json_object_get(it, "task_id"));
		if (!json_is_true(json_object_get(it, "comparable"))) {
			snprintf(want, sizeof want, "data-label=\"%s\"", id);
			ck_assert_ptr_null(strstr(s, want));
			continue;
		}
		const json_t *ci = json_object_get(it, "ci95_per_call_joules");
		snprintf(want, sizeof want, "data-label=\"%s\" data-value=\"%.9g\" data-ci-low=\"%.9g\" "
			 "data-ci-high=\"%.9g\"", id,
			 json_number_value(json_object_get(it, "energy_per_call_joules")),
			 json_number_value(json_array_get(ci, 0)), json_number_value(json_array_get(ci, 1)));
		ck_assert_msg(strstr(s, want) != NULL, "%s", want);
		snprintf(want, sizeof want, "href=\"/api/v1/tasks/%s/report\"", id);
		ck_assert_ptr_nonnull(strstr(page, want));
	}
	ck_assert_uint_eq(testhtml_count(s, "class=\"mark"), 2);
	free(s);

	const json_t *pr = json_array_get(json_object_get(cmp, "pairs"), 0);
	char want[128];
	ck_assert_uint_eq(json_array_size(json_object_get(cmp, "pairs")), 1);
	ck_assert_ptr_nonnull(strstr(page, "Welch's t-test on per-trial energy per call, "
				       "Holm-adjusted over 1 pair, alpha 0.05"));
	snprintf(want, sizeof want, "data-t=\"%.9g\"", json_number_value(json_object_get(pr, "t")));
	ck_assert_ptr_nonnull(strstr(page, want));
	snprintf(want, sizeof want, "data-p_adjusted=\"%.9g\"",
		 json_number_value(json_object_get(pr, "p_adjusted")));
	ck_assert_ptr_nonnull(strstr(page, want));
	snprintf(want, sizeof want, "data-significant=\"%s\"",
		 json_is_true(json_object_get(pr, "significant")) ? "true" : "false");
	ck_assert_ptr_nonnull(strstr(page, want));
	ck_assert_ptr_nonnull(strstr(page, "id=\"warnings\""));
	free(page);
	json_decref(cmp);
	for (i = 0; i < 3; i++)
		json_decref(r[i]);
}
END_TEST

START_TEST(compare_ids)
{
	char ids[COMPARE_MAX_TASKS][COMPAREPAGE_ID_LEN + 1], why[256], q[2048];
	size_t n;
	const char *a = "e076110a-b1a8-404f-8577-217af744a5a4", *b = "d971e92f-6fb4-42c9-94a1-c7a94d22d5bb";

	snprintf(q, sizeof q, "x=1&ids=%s,%s", a, b);
	ck_assert_int_eq(comparepage_parse_ids(q, ids, &n, why, sizeof why), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(ids[1], b);
	snprintf(q, sizeof q, "ids=%s%%2C%s", a, b);                   /* a form's encoding */
	ck_assert_int_eq(comparepage_parse_ids(q, ids, &n, why, sizeof why), 0);
	ck_assert_uint_eq(n, 2);

	char bad[6][160];
	snprintf(bad[0], sizeof bad[0], "x=1");
	snprintf(bad[1], sizeof bad[1], "ids=");
	snprintf(bad[2], sizeof bad[2], "ids=%s,", a);
	snprintf(bad[3], sizeof bad[3], "ids=%s,%s,%s", a, b, a);
	snprintf(bad[4], sizeof bad[4], "ids=%s,<script>", a);
	snprintf(bad[5], sizeof bad[5], "ids=%s,,%s", a, b);
	const char *words[] = { "required", "empty", "empty", "repeats", "not a task id", "empty" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(q, sizeof q, "%s", bad[i]);
		ck_assert_int_eq(comparepage_parse_ids(q, ids, &n, why, sizeof why), -EINVAL);
		ck_assert_msg(strstr(why, words[i]) != NULL, "%s: %s", q, why);
	}
	/* 21 ids: one too many (distinct, valid ones) */
	size_t len = (size_t)snprintf(q, sizeof q, "ids=");
	for (int i = 0; i <= COMPARE_MAX_TASKS; i++)
		len += (size_t)snprintf(q + len, sizeof q - len, "%s00000000-0000-4000-8000-%012d",
					i ? "," : "", i);
	ck_assert_int_eq(comparepage_parse_ids(q, ids, &n, why, sizeof why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "more than 20"));
	q[strlen(q) - 37] = '\0';                                      /* 20 are fine */
	ck_assert_int_eq(comparepage_parse_ids(q, ids, &n, why, sizeof why), 0);
	ck_assert_uint_eq(n, COMPARE_MAX_TASKS);
}
END_TEST

static Suite *pages_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("pages", &tc);
	tcase_add_test(tc, svg_marks_escape_and_skip_undefined);
	tcase_add_test(tc, svg_bars_and_intervals);
	tcase_add_test(tc, report_of_a_measured_task);
	tcase_add_test(tc, report_of_an_altered_record);
	tcase_add_test(tc, report_of_unmeasured_tasks);
	tcase_add_test(tc, compare_page_says_what_compare_build_says);
	tcase_add_test(tc, compare_ids);
	return s;
}

TESTUTIL_MAIN(pages_suite)
