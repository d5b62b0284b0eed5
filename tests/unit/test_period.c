/* The monitor's payloads: the period's shape and figures from a real ledger,
 * hostile names, top_processes folding, incompleteness, the gap seal. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jcs.h"
#include "period.h"
#include "testchain.h"
#include "testutil.h"

static json_int_t iget(const json_t *o, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof buf, "%s", path);
	const json_t *v = o;
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		v = json_object_get(v, k);
	ck_assert_msg(json_is_integer(v), "%s is not an integer", path);
	return json_integer_value(v);
}

START_TEST(a_period_payload)
{
	json_t *p = testchain_period(TESTCHAIN_T0 + 123456789, TESTCHAIN_T0 + 2 * TESTCHAIN_SECOND,
				     4000, false);
	char *text = NULL;
	size_t len;

	ck_assert_int_eq(jcs_serialize(p, &text, &len), 0);      /* signable */
	ck_assert_str_eq(json_string_value(json_object_get(p, "kind")), "monitor_period");
	const json_t *per = json_object_get(p, "period");
	ck_assert_str_eq(json_string_value(json_object_get(per, "start")), "2026-09-21T14:13:20.123Z");
	ck_assert_str_eq(json_string_value(json_object_get(per, "end")), "2026-09-21T14:13:22.000Z");
	ck_assert_int_eq(iget(p, "period.start_unix_us"), (json_int_t)(TESTCHAIN_T0 / 1000 + 123456));
	ck_assert_int_eq(iget(p, "period.intervals"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "host"), "hostname")),
			 "testhost");
	const json_t *pkg = json_array_get(json_object_get(p, "packages"), 0);
	ck_assert_int_eq(iget(pkg, "id"), 0);
	ck_assert(json_is_null(json_object_get(pkg, "dram")));
	ck_assert(json_is_null(json_object_get(pkg, "calibration")));
	ck_assert_int_eq(iget(pkg, "package.raw_uj"), 4000);
	ck_assert_int_eq(iget(p, "totals.attributed_uj"), 4000);
	/* top_processes 1: burn (3/4 of the time) listed, idle in other */
	ck_assert_uint_eq(json_array_size(json_object_get(p, "processes")), 1);
	const json_t *pr = json_array_get(json_object_get(p, "processes"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(pr, "comm")), "burn");
	ck_assert_int_eq(iget(pr, "energy_uj"), 3000);
	ck_assert_int_eq(iget(pr, "start_boot_ns"), 11);
	ck_assert_int_eq(iget(p, "other.energy_uj"), 1000);
	ck_assert_int_eq(iget(p, "other.processes"), 1);
	ck_assert(json_is_true(json_object_get(p, "complete")));
	ck_assert_uint_eq(json_array_size(json_object_get(p, "incomplete_reasons")), 0);
	ck_assert_ptr_null(json_object_get(p, "sequence"));     /* the sealfile's to set */
	free(text);
	json_decref(p);
}
END_TEST

START_TEST(hostile_names_folding_and_incomplete)
{
	struct pkgmap m;
	memset(&m, 0, sizeof m);
	m.n = 1;
	const double idle[1][LEDGER_NDOMAINS] = { { 1.0, 0.5 } };
	struct ledger *l = ledger_new(&m, idle);
	struct procacct_row rows[3] = {
		{ .tgid = 1, .start_ns = 1, .cpu_ns = 30, .cgroup = "/bad\xff\xfe", .comm = "a\xc3(" },
		{ .tgid = 2, .start_ns = 1, .cpu_ns = 5, .cgroup = "/ok" },
		{ .tgid = 3, .start_ns = 1, .cpu_ns = 25, .cgroup = "/ok", .comm = "x\n\"y" },
	};
	struct procacct_interval iv = { .valid = true, .t1_ns = 1000000, .rows = rows, .n = 3,
					.busy_ns = { 60 } };
	struct ledger_sample ok = { .measured = true, .raw_uj = { 6000, 600 }, .has_dram = true };
	struct ledger_sample bad = { .measured = false };
	struct ledger_period per;
	struct hostid h;
	struct calib_profile cal = { .idle_package_watts = 1.0, .idle_dram_watts = 0.5 };
	strcpy(cal.sha256, "ab");
	strcpy(cal.measured_at, "2026-09-20T00:00:00.000000Z");
	struct period_pkg pk = { .cpus = "0-1", .calib = &cal, .idle_source = "calibration",
				 .idle_watts = { 1.0, 0.5 }, .meter_error = "EIO \xff" };

	ck_assert_int_eq(ledger_add(l, &iv, &ok), 0);
	ck_assert_int_eq(ledger_add(l, &iv, &bad), 0);
	ck_assert_int_eq(ledger_close_period(l, 3, &per), 0);
	testchain_host(&h);
	struct period_input in = { .host = &h, .host_id = "box-1", .meter_backend = "powercap",
				   .tick_ms = 100, .attribution_source = "proc",
				   .attribution_note = "no BTF", .top_processes = 2,
				   .start_unix_ns = TESTCHAIN_T0, .end_unix_ns = TESTCHAIN_T0 + 2000000,
				   .missed_ticks = 4, .period = &per, .pkgs = &pk };
	json_t *p = period_payload(&in);
	char *text = NULL;
	size_t len;
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(jcs_serialize(p, &text, &len), 0);     /* hostile bytes cleaned */
	ck_assert_ptr_nonnull(strstr(text, "\"comm\":\"x\\n\\\"y\""));
	ck_assert_ptr_nonnull(strstr(text, "\"comm\":\"a?(\""));
	ck_assert_ptr_nonnull(strstr(text, "\"cgroup\":\"/bad??\""));
	ck_assert_ptr_nonnull(strstr(text, "\"host_id\":\"box-1\""));
	/* three processes, two listed: the third (least) folded into other */
	ck_assert_uint_eq(json_array_size(json_object_get(p, "processes")), 2);
	ck_assert_int_eq(iget(p, "other.processes"), 1);
	const json_t *procs = json_object_get(p, "processes");
	ck_assert_int_eq(iget(p, "other.energy_uj") + iget(json_array_get(procs, 0), "energy_uj") +
			 iget(json_array_get(procs, 1), "energy_uj"), iget(p, "totals.attributed_uj"));
	ck_assert_int_eq(iget(p, "other.cpu_ns"), 10);      /* tgid 2, twice */
	const json_t *pkg = json_array_get(json_object_get(p, "packages"), 0);
	ck_assert_int_eq(iget(pkg, "package.idle_uj"), 1000);   /* 1 W × 1 ms */
	ck_assert_int_eq(iget(pkg, "dram.idle_uj"), 500);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(pkg, "calibration"),
							   "sha256")), "ab");
	ck_assert_str_eq(json_string_value(json_object_get(pkg, "meter_error")), "EIO ?");
	const json_t *idle_o = json_object_get(pkg, "idle");
	ck_assert_str_eq(json_string_value(json_object_get(idle_o, "source")), "calibration");
	ck_assert(json_real_value(json_object_get(idle_o, "package_watts")) == 1.0);
	ck_assert(json_real_value(json_object_get(idle_o, "dram_watts")) == 0.5);
	ck_assert_int_eq(iget(pkg, "failed_intervals"), 1);
	ck_assert_int_eq(iget(p, "period.missed_ticks"), 4);
	ck_assert(json_is_false(json_object_get(p, "complete")));
	const char *why = json_string_value(json_array_get(json_object_get(p, "incomplete_reasons"), 0));
	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_nonnull(strstr(why, "package 0: 1 of 2 intervals without a meter reading"));
	free(text);
	json_decref(p);

	in.end_unix_ns = in.start_unix_ns + 999;                 /* under a µs: refused */
	ck_assert_ptr_null(period_payload(&in));
	ck_assert_int_eq(errno, EINVAL);
	ledger_period_free(&per);
	ledger_free(l);
}
END_TEST

START_TEST(a_gap_payload)
{
	struct hostid h;
	testchain_host(&h);
	json_t *g = period_gap_payload(&h, NULL, TESTCHAIN_T0, TESTCHAIN_T0 + 90 * TESTCHAIN_SECOND,
				       NULL);
	char *text = NULL;
	size_t len;

	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(jcs_serialize(g, &text, &len), 0);
	ck_assert_str_eq(json_string_value(json_object_get(g, "kind")), "monitor_gap");
	ck_assert_str_eq(json_string_value(json_object_get(g, "reason")), "monitor not running");
	ck_assert(json_is_false(json_object_get(g, "complete")));
	ck_assert_ptr_null(json_object_get(g, "packages"));
	ck_assert_int_eq(iget(g, "period.end_unix_us") - iget(g, "period.start_unix_us"), 90000000);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(g, "host"), "host_id")),
			 "testhost");
	free(text);
	json_decref(g);
	ck_assert_ptr_null(period_gap_payload(&h, NULL, 5000, 5000, NULL));
}
END_TEST

static Suite *suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("period", &tc);
	tcase_add_test(tc, a_period_payload);
	tcase_add_test(tc, hostile_names_folding_and_incomplete);
	tcase_add_test(tc, a_gap_payload);
	return s;
}

TESTUTIL_MAIN(suite)
