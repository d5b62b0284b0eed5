/* monopts: the monitor's keys from a config file and JT_* into its options. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "config.h"
#include "monopts.h"
#include "testutil.h"

static void load(struct jt_config *c, const char *text)
{
	struct config_error err;
	ck_assert_msg(config_load_text(c, "t.conf", text, strlen(text), &err) == 0, "%s", err.msg);
}

START_TEST(defaults)
{
	struct jt_config c;
	struct monopts o;
	char why[256] = "";
	load(&c, "");
	ck_assert_int_eq(monopts_from_config(&c, &o, why, sizeof why), 0);
	ck_assert_uint_eq(o.tick_ns, 100000000ull);
	ck_assert_uint_eq(o.period_ns, 60000000000ull);
	ck_assert_uint_eq(o.top_n, 50);
	ck_assert_str_eq(o.seal_file, "run/monitor-seals.jsonl");
	ck_assert_uint_eq(o.seal_file_max_bytes, 16777216);
	ck_assert_uint_eq(o.seal_file_keep, 10);
	ck_assert_str_eq(o.listen, "127.0.0.1:9101");
	ck_assert_str_eq(o.packages, "auto");
	ck_assert(o.allow_bpf);
	ck_assert(!o.require_bpf);
	config_free(&c);
}
END_TEST

START_TEST(keys_and_env)
{
	struct jt_config c;
	struct monopts o;
	struct config_error err;
	char why[256] = "", dir[64], path[128];
	testutil_tmpdir(dir, sizeof dir, "monopts");
	snprintf(path, sizeof path, "%s/m.conf", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("monitor_tick_ms = 250\nmonitor_seal_seconds = 5\nmonitor_top_processes = 7\n"
	      "monitor_packages = 0=0;1=1\nattribution_source = proc\n", f);
	fclose(f);
	char e1[] = "JT_MONITOR_SEAL_FILE=/tmp/x.jsonl", e2[] = "JT_MONITOR_LISTEN=127.0.0.1:9199",
	     e3[] = "JT_MONITOR_SEAL_FILE_KEEP=3";
	char *envp[] = { e1, e2, e3, NULL };
	ck_assert_msg(config_load(&c, path, true, envp, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(monopts_from_config(&c, &o, why, sizeof why), 0);
	ck_assert_uint_eq(o.tick_ns, 250000000ull);
	ck_assert_uint_eq(o.period_ns, 5000000000ull);
	ck_assert_uint_eq(o.top_n, 7);
	ck_assert_str_eq(o.packages, "0=0;1=1");
	ck_assert_str_eq(o.seal_file, "/tmp/x.jsonl");
	ck_assert_str_eq(o.listen, "127.0.0.1:9199");
	ck_assert_uint_eq(o.seal_file_keep, 3);
	ck_assert(!o.allow_bpf);
	config_free(&c);
	testutil_rmtree(dir);
}
END_TEST

START_TEST(period_needs_two_ticks)
{
	struct jt_config c;
	struct monopts o;
	char why[256] = "";
	load(&c, "monitor_tick_ms = 600\nmonitor_seal_seconds = 1\n");
	ck_assert_int_eq(monopts_from_config(&c, &o, why, sizeof why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "two ticks"));
	config_free(&c);
	load(&c, "monitor_tick_ms = 500\nmonitor_seal_seconds = 1\nattribution_source = bpf\n");
	ck_assert_int_eq(monopts_from_config(&c, &o, why, sizeof why), 0);
	ck_assert(o.require_bpf && o.allow_bpf);
	config_free(&c);
}
END_TEST

START_TEST(boundaries)
{
	struct monopts o = { .period_ns = 60000000000ull };
	ck_assert_uint_eq(monopts_next_boundary(&o, 0), 60000000000ull);
	ck_assert_uint_eq(monopts_next_boundary(&o, 59999999999ull), 60000000000ull);
	ck_assert_uint_eq(monopts_next_boundary(&o, 60000000000ull), 120000000000ull);
	ck_assert_uint_eq(monopts_next_boundary(&o, 1796072461123456789ull), 1796072520000000000ull);
}
END_TEST

static Suite *monopts_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("monopts", &tc);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, keys_and_env);
	tcase_add_test(tc, period_needs_two_ticks);
	tcase_add_test(tc, boundaries);
	return s;
}

TESTUTIL_MAIN(monopts_suite)
