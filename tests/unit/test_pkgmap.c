/* test_pkgmap.c — CPU → package maps from fake sysfs trees and from the override text. */
#include "pkgmap.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

static char root[64];

static void setup(void)
{
	testutil_tmpdir(root, sizeof root, "pkgmap");
}

static void teardown(void)
{
	testutil_rmtree(root);
}

/* online list; pkg[c] the package of CPU c (< 0: no topology file, as on some VMs). */
static void fake_tree(const char *online, const int *pkg, int n)
{
	char rel[96], val[16];
	snprintf(rel, sizeof rel, "%s\n", online);
	testutil_write(root, "sys/devices/system/cpu/online", rel);
	for (int c = 0; c < n; c++) {
		if (pkg[c] < 0)
			continue;
		snprintf(rel, sizeof rel, "sys/devices/system/cpu/cpu%d/topology/physical_package_id", c);
		snprintf(val, sizeof val, "%d\n", pkg[c]);
		testutil_write(root, rel, val);
	}
}

static const char *cpus_of(const struct pkgmap *m, int i, char *buf)
{
	ck_assert_int_eq(cpuset_format(&m->cpus[i], buf, 64), 0);
	return buf;
}

START_TEST(test_auto_two_packages)
{
	const int pkg[] = { 0, 1, 0, 1, 1, 1 };
	char buf[64], why[160];
	struct pkgmap m;
	fake_tree("0-3,5", pkg, 6);   /* cpu4 offline */
	ck_assert_int_eq(pkgmap_build(root, "auto", &m, why, sizeof why), 0);
	ck_assert_str_eq(why, "");
	ck_assert_int_eq(m.n, 2);
	ck_assert_int_eq(m.id[0], 0);
	ck_assert_int_eq(m.id[1], 1);
	ck_assert_str_eq(cpus_of(&m, 0, buf), "0,2");
	ck_assert_str_eq(cpus_of(&m, 1, buf), "1,3,5");
	ck_assert_int_eq(m.of_cpu[0], 0);
	ck_assert_int_eq(m.of_cpu[3], 1);
	ck_assert_int_eq(m.of_cpu[4], -1);   /* offline: not mapped */
	ck_assert_int_eq(m.of_cpu[6], -1);
	/* NULL is auto too */
	struct pkgmap m2;
	ck_assert_int_eq(pkgmap_build(root, NULL, &m2, NULL, 0), 0);
	ck_assert_int_eq(memcmp(&m, &m2, sizeof m), 0);
}
END_TEST

START_TEST(test_auto_sparse_ids_and_no_topology)
{
	const int pkg[] = { 3, 3, 7, 7 };
	char buf[64];
	struct pkgmap m;
	fake_tree("0-3", pkg, 4);
	ck_assert_int_eq(pkgmap_build(root, "auto", &m, NULL, 0), 0);
	ck_assert_int_eq(m.n, 2);
	ck_assert_int_eq(m.id[0], 3);   /* ids as the kernel numbers them; indexes dense */
	ck_assert_int_eq(m.id[1], 7);
	ck_assert_int_eq(m.of_cpu[2], 1);

	testutil_rmtree(root);
	testutil_tmpdir(root, sizeof root, "pkgmap");
	const int none[] = { -1, -1 };
	fake_tree("0-1", none, 2);
	ck_assert_int_eq(pkgmap_build(root, "auto", &m, NULL, 0), 0);
	ck_assert_int_eq(m.n, 1);
	ck_assert_int_eq(m.id[0], 0);
	ck_assert_str_eq(cpus_of(&m, 0, buf), "0-1");
}
END_TEST

START_TEST(test_auto_bad_id)
{
	const int pkg[] = { 0, PKGMAP_MAX };
	char why[160];
	struct pkgmap m;
	fake_tree("0-1", pkg, 2);
	ck_assert_int_eq(pkgmap_build(root, "auto", &m, why, sizeof why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "cpu1"));
}
END_TEST

START_TEST(test_override)
{
	const int pkg[] = { 0, 0, 0, 0 };
	char buf[64], why[160];
	struct pkgmap m;
	fake_tree("0-3", pkg, 4);
	ck_assert_int_eq(pkgmap_build(root, " 1 = 2-3 ;0=0", &m, why, sizeof why), 0);
	ck_assert_int_eq(m.n, 2);
	ck_assert_int_eq(m.id[0], 0);   /* sorted by id whatever the text order */
	ck_assert_int_eq(m.id[1], 1);
	ck_assert_str_eq(cpus_of(&m, 0, buf), "0");
	ck_assert_str_eq(cpus_of(&m, 1, buf), "2-3");
	ck_assert_int_eq(m.of_cpu[1], -1);   /* left out: not accounted */
	ck_assert_int_eq(m.of_cpu[2], 1);
	ck_assert_int_eq(m.of_cpu[0], 0);

	ck_assert_int_eq(pkgmap_build(root, "5=0-3", &m, NULL, 0), 0);
	ck_assert_int_eq(m.n, 1);
	ck_assert_int_eq(m.id[0], 5);
	ck_assert_int_eq(m.of_cpu[3], 0);   /* an index, not the id */
}
END_TEST

START_TEST(test_override_rejects)
{
	static const struct {
		const char *spec, *needle;
	} bad[] = {
		{ "", "empty" },
		{ "0=0;", "empty" },
		{ ";0=0", "empty" },
		{ "0", "PACKAGE=CPUS" },
		{ "x=0", "not a number" },
		{ "-1=0", "not a number" },
		{ "64=0", "not a number" },
		{ "0=", "bad CPU list" },
		{ "0=1-0", "bad CPU list" },
		{ "0=0-1;1=1", "cpu1 is in packages 0 and 1" },
		{ "0=0;0=1", "given twice" },
		{ "0=0;1=3", "cpu3 is offline" },
		{ "0=9", "cpu9 is offline" },
	};
	const int pkg[] = { 0, 0, 0, 0 };
	char why[160];
	fake_tree("0-2", pkg, 4);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct pkgmap m;
		memset(&m, 0x5a, sizeof m);
		ck_assert_msg(pkgmap_build(root, bad[i].spec, &m, why, sizeof why) == -EINVAL,
			      "\"%s\" accepted", bad[i].spec);
		ck_assert_msg(strstr(why, bad[i].needle), "\"%s\": why \"%s\"", bad[i].spec, why);
		ck_assert_int_eq(m.n, 0x5a5a5a5a);   /* untouched on error */
	}
}
END_TEST

START_TEST(test_no_sysfs)
{
	char why[160];
	struct pkgmap m;
	ck_assert_int_eq(pkgmap_build(root, "auto", &m, why, sizeof why), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "online"));
}
END_TEST

START_TEST(test_real_system)
{
	struct pkgmap m;
	struct cpuset online, all;
	ck_assert_int_eq(pkgmap_build("", "auto", &m, NULL, 0), 0);
	ck_assert_int_ge(m.n, 1);
	ck_assert_int_eq(cpuset_online("", &online), 0);
	cpuset_zero(&all);
	for (int i = 0; i < m.n; i++)
		cpuset_or(&all, &all, &m.cpus[i]);
	ck_assert(cpuset_equal(&all, &online));   /* every online CPU, once */
}
END_TEST

static Suite *pkgmap_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("pkgmap", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_auto_two_packages);
	tcase_add_test(tc, test_auto_sparse_ids_and_no_topology);
	tcase_add_test(tc, test_auto_bad_id);
	tcase_add_test(tc, test_override);
	tcase_add_test(tc, test_override_rejects);
	tcase_add_test(tc, test_no_sysfs);
	tcase_add_test(tc, test_real_system);
	return s;
}

TESTUTIL_MAIN(pkgmap_suite)
