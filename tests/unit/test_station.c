/* station: the one host set-up of the worker, jouletrace-calibrate and jouletrace-run. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "config.h"
#include "cpuset.h"
#include "meter.h"
#include "oncpu.h"
#include "station.h"
#include "testutil.h"

static void cfg_with(struct jt_config *cfg, const char *key, const char *value)
{
	struct config_error err;
	ck_assert_int_eq(config_set(cfg, key, value, &err), 0);
}

START_TEST(open_every_part)
{
	struct jt_config cfg;
	struct station st;
	char why[512] = "";
	ck_assert_int_eq(config_defaults(&cfg), 0);
	cfg_with(&cfg, "meter", "model");
	cfg_with(&cfg, "attribution_source", "proc");
	ck_assert_int_eq(station_open(&st, &cfg, STATION_METER | STATION_ONCPU, why, sizeof why), 0);
	ck_assert_int_ge(cpuset_count(&st.layout.measurement), 1);
	ck_assert(cpuset_subset(&st.layout.measurement, &st.layout.package));
	ck_assert_str_eq(meter_backend(st.meter), "model");
	ck_assert_int_eq(oncpu_source(st.oncpu), ONCPU_PROC);
	ck_assert_int_eq(strlen(st.host.fingerprint), 64);
	station_close(&st);
	ck_assert_ptr_null(st.meter);

	/* only what is asked for */
	ck_assert_int_eq(station_open(&st, &cfg, 0, why, sizeof why), 0);
	ck_assert_ptr_null(st.meter);
	ck_assert_ptr_null(st.oncpu);
	station_close(&st);
	config_free(&cfg);
}
END_TEST

START_TEST(a_bad_part_says_which)
{
	struct jt_config cfg;
	struct station st;
	char why[512] = "";
	ck_assert_int_eq(config_defaults(&cfg), 0);
	cfg_with(&cfg, "measurement_cpus", "1023");   /* not online */
	ck_assert_int_eq(station_open(&st, &cfg, STATION_METER, why, sizeof why), -EINVAL);
	ck_assert_msg(strstr(why, "CPU layout") && strstr(why, "not online"), "%s", why);
	config_free(&cfg);

	ck_assert_int_eq(config_defaults(&cfg), 0);
	cfg_with(&cfg, "meter", "powercap");
	cfg_with(&cfg, "powercap_root", "/nonexistent-jt-powercap");
	ck_assert_int_ne(station_open(&st, &cfg, STATION_METER | STATION_ONCPU, why, sizeof why), 0);
	ck_assert_msg(strstr(why, "no energy meter"), "%s", why);
	ck_assert_ptr_null(st.meter);
	ck_assert_ptr_null(st.oncpu);
	config_free(&cfg);
}
END_TEST

static Suite *station_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("station", &tc);
	tcase_add_test(tc, open_every_part);
	tcase_add_test(tc, a_bad_part_says_which);
	return s;
}

TESTUTIL_MAIN(station_suite)
