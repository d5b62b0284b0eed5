/* The dashboard page (server/dashboard) from plain structs: the contract's
 * sections and data attributes, hostile strings kept as text, the ages, and
 * the CSP naming the hash of the one inline script. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard.h"
#include "html.h"
#include "testhtml.h"
#include "testutil.h"
#include "util.h"

#define NOW_NS 1796056290000000000ull              /* 2026-11-30T16:31:30Z */
#define EVIL "\"><script>alert(1)</script><img src=x onerror=alert(2)>"

/* A worker's heartbeat record as worker.c publishes it (cut down). */
static const char worker_rec[] =
	"{\"worker_id\":\"e2e-model:6871:3d777d0f\",\"host_id\":\"e2e-model\",\"version\":\"0.1.0\","
	"\"pid\":6871,\"meter\":\"model\",\"estimated\":true,\"measurement_cpus\":\"1\","
	"\"calibration\":{\"exists\":true,\"valid\":true,\"reason\":null,"
	"\"measured_at\":\"2026-11-30T16:28:08.189573Z\",\"forced\":false},"
	"\"task\":\"d971e92f-6fb4-42c9-94a1-c7a94d22d5bb\",\"uptime_seconds\":200,"
	"\"jobs_done\":3,\"heartbeat_at_ms\":1796056289000}";

static char *page_of(const struct dashboard_view *v)
{
	struct html h;
	html_init(&h);
	ck_assert_int_eq(dashboard_page(v, &h), 0);
	return testhtml_finish(&h);
}

static struct recent_task task(const char *id, const char *status, const char *cand,
			       const char *prob, double epc)
{
	struct recent_task t = { .candidate_id = (char *)cand, .problem_name = (char *)prob,
				 .created_at = (char *)"2026-11-30T16:28:00Z",
				 .finished_at = strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0
					? (char *)"2026-11-30T16:30:30.5Z" : NULL,
				 .energy_per_call_j = epc };
	snprintf(t.id, sizeof t.id, "%s", id);
	snprintf(t.status, sizeof t.status, "%s", status);
	return t;
}

START_TEST(sections_and_numbers)
{
	struct hosts hs = { .n = 1, .workers = 1 };
	snprintf(hs.h[0].id, sizeof hs.h[0].id, "e2e-model");
	hs.h[0].record = json_loads(worker_rec, 0, NULL);
	hs.h[0].workers = 1;
	hs.h[0].ready = true;
	struct worker_entry w = { .id = (char *)"e2e-model:6871:3d777d0f", .info_json = (char *)worker_rec };
	struct recent_task ts[] = {
		task("e076110a-b1a8-404f-8577-217af744a5a4", "completed", "c1", "sum", 0.001819421888419379),
		task("1a9e6d2c-0c55-4c7b-9d7e-5a4a3c1e2f10", "running", "c2", "sum", NAN),
		task("2b9e6d2c-0c55-4c7b-9d7e-5a4a3c1e2f11", "completed", "c3", "sum", 0.006115476045278653),
	};
	struct dashboard_view v = { .redis_up = 1, .hosts = &hs, .workers = &w, .n_workers = 1,
				    .queue_measure = 4, .queue_validate = 0,
				    .counts = { 4, 1, 17, 2, 0 }, .tasks = ts, .n_tasks = 3,
				    .now_ns = NOW_NS };
	char *p = page_of(&v);
	ck_assert_ptr_nonnull(strstr(p, "id=\"queue\" class=\"card\" data-queued=\"4\" data-running=\"1\""));
	ck_assert_ptr_nonnull(strstr(p, "<tr data-host=\"e2e-model\">"));
	ck_assert_ptr_nonnull(strstr(p, "<tr data-worker=\"e2e-model:6871:3d777d0f\">"));
	ck_assert_uint_eq(testhtml_count(p, "<tr data-task-id="), 3);
	/* energy per call: the exact figure in data-value, people's units in the text */
	ck_assert_ptr_nonnull(strstr(p, "data-value=\"0.00181942189\">1.82 mJ<"));
	ck_assert_ptr_nonnull(strstr(p, "data-value=\"0.00611547605\">6.12 mJ<"));
	ck_assert_ptr_nonnull(strstr(p, "href=\"/api/v1/tasks/e076110a-b1a8-404f-8577-217af744a5a4/report\""));
	/* the worker's current task links to its report too */
	ck_assert_ptr_nonnull(strstr(p, "href=\"/api/v1/tasks/d971e92f-6fb4-42c9-94a1-c7a94d22d5bb/report\""));
	/* only completed tasks can be picked; the no-script link lists them newest first */
	ck_assert_uint_eq(testhtml_count(p, "class=\"pick\""), 2);
	ck_assert_ptr_nonnull(strstr(p, "href=\"/compare?ids=e076110a-b1a8-404f-8577-217af744a5a4,"
				     "2b9e6d2c-0c55-4c7b-9d7e-5a4a3c1e2f11\""));
	/* calibration measured 3 min 21 s before now: its age and exact time */
	ck_assert_ptr_nonnull(strstr(p, "3 min ago<time class=\"sub\" datetime=\"2026-11-30T16:28:08.189573Z\">"
				     "2026-11-30 16:28:08 UTC</time>"));
	ck_assert_ptr_nonnull(strstr(p, "<span class=\"pill ok\">valid</span>"));
	/* the worker: up 200 s, its last beat 1 s before now */
	ck_assert_ptr_nonnull(strstr(p, "<td class=\"n\">3 min</td><td>just now</td>"));
	/* the script sits after </main>, once */
	ck_assert_uint_eq(testhtml_count(p, "<script>"), 1);
	ck_assert_ptr_nonnull(strstr(p, "</main><noscript><meta http-equiv=\"refresh\""));
	free(p);
	json_decref(hs.h[0].record);
}
END_TEST

START_TEST(hostile_strings_stay_text)
{
	char rec[2048];
	snprintf(rec, sizeof rec, "{\"host_id\":\"h\",\"meter\":\"m\\\"><script>alert(3)</script>\","
		 "\"version\":\"<img src=x onerror=alert(4)>\",\"measurement_cpus\":\"<b>1</b>\","
		 "\"task\":\"<script>x</script>\",\"calibration\":{\"valid\":false,"
		 "\"reason\":\"<svg onload=alert(5)>\",\"measured_at\":\"<i>then</i>\"}}");
	struct hosts hs = { .n = 1, .workers = 1 };
	snprintf(hs.h[0].id, sizeof hs.h[0].id, "%s", EVIL);
	hs.h[0].record = json_loads(rec, 0, NULL);
	ck_assert_ptr_nonnull(hs.h[0].record);
	snprintf(hs.h[0].why, sizeof hs.h[0].why, "<script>alert(6)</script>");
	struct worker_entry w = { .id = (char *)EVIL, .info_json = rec };
	struct recent_task ts[] = {
		task("e076110a-b1a8-404f-8577-217af744a5a4", "completed", EVIL, EVIL, 1e-3),
		task("1a9e6d2c-0c55-4c7b-9d7e-5a4a3c1e2f10", "failed", EVIL, "<iframe src=//x>", NAN),
	};
	ts[1].error_type = (char *)"<script>alert(7)</script>";
	struct dashboard_view v = { .redis_up = 1, .hosts = &hs, .workers = &w, .n_workers = 1,
				    .counts = { 0 }, .tasks = ts, .n_tasks = 2, .now_ns = NOW_NS };
	char *p = page_of(&v);
	ck_assert_uint_eq(testhtml_count(p, "<script"), 1);     /* only the page's own */
	ck_assert_ptr_null(strstr(p, "<img"));
	ck_assert_ptr_null(strstr(p, "<svg"));
	ck_assert_ptr_null(strstr(p, "<iframe"));
	ck_assert_ptr_null(strstr(p, "<b>1"));
	ck_assert_ptr_null(strstr(p, "<i>then"));
	/* no attribute was closed early */
	ck_assert_ptr_nonnull(strstr(p, "<tr data-host=\"&quot;&gt;&lt;script&gt;"));
	ck_assert_ptr_nonnull(strstr(p, "<tr data-worker=\"&quot;&gt;&lt;script&gt;"));
	ck_assert_ptr_nonnull(strstr(p, "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x "
				     "onerror=alert(2)&gt;"));
	ck_assert_ptr_nonnull(strstr(p, "&lt;svg onload=alert(5)&gt;"));
	ck_assert_ptr_nonnull(strstr(p, "&lt;script&gt;alert(7)&lt;/script&gt;"));
	ck_assert_ptr_nonnull(strstr(p, "<span class=\"pill bad\">invalid</span>"));
	free(p);
	json_decref(hs.h[0].record);
}
END_TEST

START_TEST(nothing_known)
{
	struct dashboard_view v = { .redis_up = 0, .queue_measure = -1, .queue_validate = -1,
				    .counts = { -1, -1, -1, -1, -1 }, .now_ns = NOW_NS };
	char *p = page_of(&v);
	ck_assert_ptr_nonnull(strstr(p, "Redis is unreachable"));
	ck_assert_ptr_nonnull(strstr(p, "data-queued=\"-1\""));
	ck_assert_ptr_nonnull(strstr(p, "No live worker."));
	ck_assert_ptr_nonnull(strstr(p, "No task yet."));
	ck_assert_uint_eq(testhtml_count(p, "<tr data-"), 0);
	free(p);
}
END_TEST

START_TEST(ages_in_words)
{
	char b[32];
	const uint64_t s = 1000000000ull, now = NOW_NS;
	ck_assert_str_eq(dashboard_age(b, sizeof b, now - 2 * s, now), "just now");
	ck_assert_str_eq(dashboard_age(b, sizeof b, now - 42 * s, now), "42 s ago");
	ck_assert_str_eq(dashboard_age(b, sizeof b, now - 201 * s, now), "3 min ago");
	ck_assert_str_eq(dashboard_age(b, sizeof b, now - 5 * 3600 * s, now), "5 h ago");
	ck_assert_str_eq(dashboard_age(b, sizeof b, now - 3 * 86400 * s, now), "3 days ago");
	ck_assert_str_eq(dashboard_age(b, sizeof b, now + 60 * s, now), "in the future");
}
END_TEST

/* The CSP allows the script by the SHA-256 of its exact text: change one and
 * the browser refuses it, so they must change together. */
START_TEST(csp_names_the_scripts_hash)
{
	unsigned char d[crypto_hash_sha256_BYTES];
	char b64[64], want[128];
	ck_assert_int_ge(sodium_init(), 0);
	crypto_hash_sha256(d, (const unsigned char *)dashboard_script, strlen(dashboard_script));
	sodium_bin2base64(b64, sizeof b64, d, sizeof d, sodium_base64_VARIANT_ORIGINAL);
	snprintf(want, sizeof want, "script-src 'sha256-%s';", b64);
	ck_assert_msg(strstr(dashboard_csp, want), "dashboard_csp must name %s", want);
	ck_assert_ptr_nonnull(strstr(dashboard_csp, "connect-src 'self'"));
	ck_assert_ptr_nonnull(strstr(dashboard_csp, "default-src 'none'"));
	ck_assert_ptr_null(strstr(dashboard_csp, "unsafe-eval"));
	ck_assert_ptr_null(strstr(dashboard_csp, "script-src 'unsafe-inline'"));
	/* and the page carries that very text */
	struct dashboard_view v = { .redis_up = 0, .now_ns = NOW_NS };
	char *p = page_of(&v);
	char *s = strstr(p, "<script>");
	ck_assert_ptr_nonnull(s);
	ck_assert(strncmp(s + 8, dashboard_script, strlen(dashboard_script)) == 0);
	ck_assert(strncmp(s + 8 + strlen(dashboard_script), "</script>", 9) == 0);
	free(p);
}
END_TEST

static Suite *dashboard_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("dashboard", &tc);
	tcase_add_test(tc, sections_and_numbers);
	tcase_add_test(tc, hostile_strings_stay_text);
	tcase_add_test(tc, nothing_known);
	tcase_add_test(tc, ages_in_words);
	tcase_add_test(tc, csp_names_the_scripts_hash);
	return s;
}

TESTUTIL_MAIN(dashboard_suite)
