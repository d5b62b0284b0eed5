/* Unit tests for lib/seal/sealmatch: a task's figures against its sealed payload. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sealmatch.h"
#include "testdata.h"
#include "testutil.h"

/* A real completed task (recorded from a model-meter stack). */
static json_t *task(void)
{
	return testdata_json("task_completed_a.json");
}

static json_t *trial(json_t *t, size_t i)
{
	return json_array_get(json_object_get(t, "trials"), i);
}

/* sealmatch_task's verdict, with its reason checked to name `needle`. */
static void differs(json_t *t, const char *needle)
{
	char why[256] = "";
	ck_assert_int_eq(sealmatch_task(t, why, sizeof why), -EBADMSG);
	ck_assert_msg(strstr(why, needle), "%s", why);
}

START_TEST(a_sealed_task_matches)
{
	json_t *t = task();
	char why[256] = "";
	ck_assert_msg(sealmatch_task(t, why, sizeof why) == 0, "%s", why);
	/* a rejected trial is not sealed as a kept one: it does not count */
	json_t *rejected = json_deep_copy(trial(t, 0));
	json_object_set_new(rejected, "kept", json_false());
	json_object_set_new(rejected, "passes", json_integer(1));
	json_array_insert_new(json_object_get(t, "trials"), 1, rejected);
	ck_assert_msg(sealmatch_task(t, why, sizeof why) == 0, "%s", why);
	json_decref(t);
}
END_TEST

START_TEST(every_changed_figure_is_found)
{
	static const char *const ints[] = { "passes", "wall_ns" };
	for (size_t i = 0; i < 2; i++) {
		json_t *t = task();
		json_object_set_new(trial(t, 2), ints[i],
				    json_integer(json_integer_value(json_object_get(trial(t, 2), ints[i])) + 1));
		differs(t, ints[i]);
		json_decref(t);
	}
	json_t *t = task();
	json_object_set_new(json_object_get(trial(t, 1), "net_uj"), "dram", json_integer(1));
	differs(t, "kept trial 2: net_uj.dram");
	json_decref(t);
	t = task();
	json_object_set_new(json_object_get(trial(t, 0), "raw_uj"), "package", json_integer(1));
	differs(t, "raw_uj.package");
	json_decref(t);
	/* the candidate's energy: a whole µJ off is caught, a fraction is rounding */
	t = task();
	double e = json_number_value(json_object_get(trial(t, 3), "candidate_energy_uj"));
	json_object_set_new(trial(t, 3), "candidate_energy_uj", json_real(e * 0.9));
	differs(t, "candidate_energy_uj");
	json_decref(t);
	/* the headline: energy per call halved (the cheaper-looking lie) */
	t = task();
	json_t *em = json_object_get(t, "energy_metrics");
	json_object_set_new(em, "energy_per_call_joules",
			    json_real(json_number_value(json_object_get(em, "energy_per_call_joules")) / 2));
	differs(t, "energy_per_call_joules");
	json_decref(t);
	/* a millionth off: a tiny per-call figure cannot hide in a whole µJ
	 * (the e2e task's 2 µJ per call halved was missed by an absolute bound) */
	t = task();
	em = json_object_get(t, "energy_metrics");
	json_object_set_new(em, "energy_per_call_joules",
			    json_real(json_number_value(json_object_get(em, "energy_per_call_joules")) *
				      (1 + 1e-6)));
	differs(t, "energy_per_call_joules");
	json_decref(t);
	t = task();
	em = json_object_get(t, "energy_metrics");
	json_object_set_new(em, "median_total_energy_joules",
			    json_real(json_number_value(json_object_get(em, "median_total_energy_joules")) +
				      2e-6));
	differs(t, "median_total_energy_joules");
	json_decref(t);
	/* a trial dropped, and another task's id */
	t = task();
	json_array_remove(json_object_get(t, "trials"), 0);
	differs(t, "kept trial 1");
	json_decref(t);
	t = task();
	json_object_set_new(t, "task_id", json_string("00000000-0000-4000-8000-000000000000"));
	differs(t, "the seal names");
	json_decref(t);
}
END_TEST

START_TEST(nothing_sealed_is_nodata)
{
	json_t *t = task();
	char why[256];
	json_object_del(t, "seal");
	ck_assert_int_eq(sealmatch_task(t, why, sizeof why), -ENODATA);
	json_decref(t);
}
END_TEST

static Suite *sealmatch_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("sealmatch", &tc);
	tcase_add_test(tc, a_sealed_task_matches);
	tcase_add_test(tc, every_changed_figure_is_found);
	tcase_add_test(tc, nothing_sealed_is_nodata);
	return s;
}

TESTUTIL_MAIN(sealmatch_suite)
