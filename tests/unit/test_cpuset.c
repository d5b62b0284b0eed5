/* test_cpuset.c — CPU lists, set algebra, and SPEC §1 CPU choice on fake sysfs trees. */
#include "cpuset.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char root[64];

static void setup(void)
{
	testutil_tmpdir(root, sizeof root, "cpuset");
}

static void teardown(void)
{
	testutil_rmtree(root);
}

/* rel is below the fake root's sys/devices/system/cpu. */
static void put(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "sys/devices/system/cpu/%s", rel);
	testutil_write(root, path, text);
}

/*
 * A fake tree: online list, optional isolated list (NULL = no file), and the
 * package of each CPU 0..n-1 (offline CPUs get no topology, as on real hosts).
 */
static void fake_tree(const char *online, const char *isolated, const int *pkg, int n)
{
	char rel[64], val[16], line[64];
	struct cpuset on;

	snprintf(line, sizeof line, "%s\n", online);
	put("online", line);
	if (isolated) {
		snprintf(line, sizeof line, "%s\n", isolated);
		put("isolated", line);
	}
	ck_assert_int_eq(cpuset_parse(online, &on), 0);
	for (int c = 0; c < n; c++) {
		if (!cpuset_isset(&on, c))
			continue;
		snprintf(rel, sizeof rel, "cpu%d/topology/physical_package_id", c);
		snprintf(val, sizeof val, "%d\n", pkg[c]);
		put(rel, val);
	}
}

static const char *fmt(const struct cpuset *s, char *buf)
{
	ck_assert_int_eq(cpuset_format(s, buf, 128), 0);
	return buf;
}

START_TEST(test_parse_format_round_trip)
{
	static const struct { const char *in, *canon; int count; } cases[] = {
		{ "0-3,5,7-8", "0-3,5,7-8", 7 },
		{ "5,0-3,2", "0-3,5", 5 },
		{ "0", "0", 1 },
		{ "1023", "1023", 1 },
		{ "0-1023", "0-1023", 1024 },
		{ "  1-2\n", "1-2", 2 },
		{ "3-3", "3", 1 },
		{ "63,64,65,127-128", "63-65,127-128", 5 },
		{ "0,2,4", "0,2,4", 3 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct cpuset s, again;
		char buf[128];
		ck_assert_msg(cpuset_parse(cases[i].in, &s) == 0, "rejected '%s'", cases[i].in);
		ck_assert_str_eq(fmt(&s, buf), cases[i].canon);
		ck_assert_int_eq(cpuset_count(&s), cases[i].count);
		ck_assert_int_eq(cpuset_parse(buf, &again), 0);
		ck_assert(cpuset_equal(&s, &again));
	}
}
END_TEST

START_TEST(test_parse_rejects)
{
	static const char *const bad[] = { "", " ", "a", "1-", "-1", "3-1", "1,,2", "1,", ",1",
					   "1024", "0-1024", "1 - 2", "+1", "1, 2",
					   "99999999999999999999", "0x1", "1-2-3", "auto" };
	struct cpuset s;
	cpuset_zero(&s);
	cpuset_set(&s, 7);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(cpuset_parse(bad[i], &s) == -EINVAL, "accepted '%s'", bad[i]);
	ck_assert_int_eq(cpuset_parse(NULL, &s), -EINVAL);
	/* A rejected list leaves the output as it was. */
	ck_assert_int_eq(cpuset_count(&s), 1);
	ck_assert(cpuset_isset(&s, 7));
}
END_TEST

START_TEST(test_format_edges)
{
	struct cpuset s;
	char buf[8];

	cpuset_zero(&s);
	ck_assert_int_eq(cpuset_format(&s, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(cpuset_parse("0,2,4,6,8", &s), 0);
	ck_assert_int_eq(cpuset_format(&s, buf, sizeof buf), -ENOSPC);
	ck_assert_uint_lt(strlen(buf), sizeof buf);
	ck_assert_int_eq(cpuset_format(&s, buf, 0), -ENOSPC);
}
END_TEST

START_TEST(test_bit_ops)
{
	struct cpuset a, b, r;
	cpu_set_t cs;
	char buf[128];

	cpuset_zero(&a);
	ck_assert_int_eq(cpuset_first(&a), -ENOENT);
	ck_assert_int_eq(cpuset_last(&a), -ENOENT);
	cpuset_set(&a, 3);
	cpuset_set(&a, 64);
	cpuset_set(&a, 1023);
	cpuset_set(&a, 1024); /* ignored */
	cpuset_set(&a, -1);   /* ignored */
	ck_assert_int_eq(cpuset_count(&a), 3);
	ck_assert(cpuset_isset(&a, 64));
	ck_assert(!cpuset_isset(&a, 65));
	ck_assert(!cpuset_isset(&a, 1024));
	ck_assert_int_eq(cpuset_first(&a), 3);
	ck_assert_int_eq(cpuset_last(&a), 1023);
	ck_assert_int_eq(cpuset_next(&a, 4), 64);
	ck_assert_int_eq(cpuset_next(&a, 65), 1023);
	ck_assert_int_eq(cpuset_next(&a, 1024), -ENOENT);
	cpuset_clear(&a, 1023);
	ck_assert_int_eq(cpuset_last(&a), 64);

	ck_assert_int_eq(cpuset_parse("0-5", &b), 0);
	cpuset_and(&r, &a, &b);
	ck_assert_str_eq(fmt(&r, buf), "3");
	cpuset_or(&r, &a, &b);
	ck_assert_str_eq(fmt(&r, buf), "0-5,64");
	cpuset_andnot(&r, &b, &a);
	ck_assert_str_eq(fmt(&r, buf), "0-2,4-5");
	cpuset_andnot(&b, &b, &a); /* aliasing */
	ck_assert(cpuset_equal(&b, &r));
	ck_assert(!cpuset_equal(&a, &r));
	ck_assert(cpuset_subset(&r, &r));
	ck_assert_int_eq(cpuset_parse("0-2", &b), 0);
	ck_assert(cpuset_subset(&b, &r));
	ck_assert(!cpuset_subset(&r, &b));

	cpuset_to_cpu_set(&a, &cs);
	ck_assert_int_eq(CPU_COUNT(&cs), 2);
	ck_assert(CPU_ISSET(3, &cs) && CPU_ISSET(64, &cs));
}
END_TEST

START_TEST(test_sysfs_readers)
{
	static const int pkg[] = { 0, 0, 1, 1 };
	struct cpuset s;
	char buf[128];

	fake_tree("0-1,3", "", pkg, 4);
	ck_assert_int_eq(cpuset_online(root, &s), 0);
	ck_assert_str_eq(fmt(&s, buf), "0-1,3");
	ck_assert_int_eq(cpuset_isolated(root, &s), 0);
	ck_assert_int_eq(cpuset_count(&s), 0);
	ck_assert_int_eq(cpuset_package_of(root, 3), 1);
	ck_assert_int_eq(cpuset_package_of(root, 2), -ENOENT); /* offline: no topology */
	/* A layout's package is the online CPUs of its measurement package. */
	struct cpu_layout l;
	ck_assert_int_eq(cpuset_resolve(root, "3", "0", &l), 0);
	ck_assert_str_eq(fmt(&l.package, buf), "3");
	ck_assert(!l.shared_package);
	ck_assert_int_eq(cpuset_resolve(root, "1", "3", &l), 0);
	ck_assert_str_eq(fmt(&l.package, buf), "0-1");
	ck_assert(l.shared_package);

	put("cpu0/topology/physical_package_id", "junk\n");
	ck_assert_int_eq(cpuset_package_of(root, 0), -EINVAL);
	put("online", "garbage\n");
	ck_assert_int_eq(cpuset_online(root, &s), -EINVAL);
}
END_TEST

START_TEST(test_sysfs_missing)
{
	struct cpuset s;
	struct cpu_layout l;

	/* Empty tree: no online file is an error, no isolated file is "none". */
	ck_assert_int_eq(cpuset_online(root, &s), -ENOENT);
	cpuset_set(&s, 1);
	ck_assert_int_eq(cpuset_isolated(root, &s), 0);
	ck_assert_int_eq(cpuset_count(&s), 0);
	ck_assert_int_eq(cpuset_resolve(root, "auto", "auto", &l), -ENOENT);
	ck_assert_ptr_nonnull(strstr(l.why, "online"));
}
END_TEST

START_TEST(test_resolve_two_cpus_one_package)
{
	static const int pkg[] = { 0, 0 };
	struct cpu_layout l;
	char buf[128];

	fake_tree("0-1", "", pkg, 2);
	ck_assert_int_eq(cpuset_resolve(root, "auto", "auto", &l), 0);
	ck_assert_str_eq(fmt(&l.measurement, buf), "1");
	ck_assert_str_eq(fmt(&l.infra, buf), "0");
	ck_assert_str_eq(fmt(&l.package, buf), "0-1");
	ck_assert(l.shared_package);
	ck_assert_int_eq(l.socket, 0);
	ck_assert_msg(strstr(l.why, "highest online CPU") && strstr(l.why, "shared"),
		      "%s", l.why);
	/* NULL means auto too. */
	struct cpu_layout l2;
	ck_assert_int_eq(cpuset_resolve(root, NULL, NULL, &l2), 0);
	ck_assert(cpuset_equal(&l.measurement, &l2.measurement));
	ck_assert(cpuset_equal(&l.infra, &l2.infra));
}
END_TEST

START_TEST(test_resolve_two_packages)
{
	static const int pkg[] = { 0, 0, 0, 0, 1, 1, 1, 1 };
	struct cpu_layout l;
	char buf[128];

	fake_tree("0-7", "", pkg, 8);
	ck_assert_int_eq(cpuset_resolve(root, "auto", "auto", &l), 0);
	ck_assert_str_eq(fmt(&l.measurement, buf), "0-3");
	ck_assert_str_eq(fmt(&l.infra, buf), "4-7");
	ck_assert_str_eq(fmt(&l.package, buf), "0-3");
	ck_assert(!l.shared_package);
	ck_assert_int_eq(l.socket, 0);
	ck_assert_msg(strstr(l.why, "package 0 of 2"), "%s", l.why);

	/* Explicit: measure on package 1, infra on package 0. */
	ck_assert_int_eq(cpuset_resolve(root, "4-7", "0-3", &l), 0);
	ck_assert_int_eq(l.socket, 1);
	ck_assert_str_eq(fmt(&l.package, buf), "4-7");
	ck_assert(!l.shared_package);
	/* Half a package measured: the other half is package power too. */
	ck_assert_int_eq(cpuset_resolve(root, "2-3", "4-7", &l), 0);
	ck_assert_str_eq(fmt(&l.package, buf), "0-3");
	ck_assert(l.shared_package);
	/* Explicit infra reaching into the measurement package is shared. */
	ck_assert_int_eq(cpuset_resolve(root, "auto", "3-7", &l), 0);
	ck_assert(l.shared_package);
	ck_assert_str_eq(fmt(&l.infra, buf), "3-7");
}
END_TEST

START_TEST(test_resolve_isolated)
{
	static const int pkg[] = { 0, 0, 0, 0 };
	static const int pkg2[] = { 0, 0, 0, 0, 1, 1, 1, 1 };
	struct cpu_layout l;
	char buf[128];

	fake_tree("0-3", "2-3", pkg, 4);
	ck_assert_int_eq(cpuset_resolve(root, "auto", "auto", &l), 0);
	ck_assert_str_eq(fmt(&l.measurement, buf), "2-3");
	ck_assert_str_eq(fmt(&l.infra, buf), "0-1");
	ck_assert(l.shared_package);
	ck_assert_msg(strstr(l.why, "isolcpus"), "%s", l.why);

	/* Explicit measurement: infra auto still keeps off the other isolated CPU. */
	ck_assert_int_eq(cpuset_resolve(root, "3", "auto", &l), 0);
	ck_assert_str_eq(fmt(&l.infra, buf), "0-1");

	/* isolcpus wins over the package rule on a 2-socket host. */
	teardown();
	setup();
	fake_tree("0-7", "6-7", pkg2, 8);
	ck_assert_int_eq(cpuset_resolve(root, "auto", "auto", &l), 0);
	ck_assert_str_eq(fmt(&l.measurement, buf), "6-7");
	ck_assert_str_eq(fmt(&l.infra, buf), "0-5");
	ck_assert_str_eq(fmt(&l.package, buf), "4-7");
	ck_assert_int_eq(l.socket, 1);
	ck_assert(l.shared_package);
}
END_TEST

START_TEST(test_resolve_explicit_offline_rejected)
{
	static const int pkg[] = { 0, 0, 0, 0 };
	struct cpu_layout l;

	fake_tree("0-1,3", "", pkg, 4);
	ck_assert_int_eq(cpuset_resolve(root, "2", "auto", &l), -EINVAL);
	ck_assert_msg(strstr(l.why, "measurement CPU 2 is not online"), "%s", l.why);
	ck_assert_int_eq(cpuset_resolve(root, "1", "5", &l), -EINVAL);
	ck_assert_msg(strstr(l.why, "infra CPU 5 is not online"), "%s", l.why);
	ck_assert_int_eq(cpuset_resolve(root, "x", "auto", &l), -EINVAL);
	ck_assert_msg(strstr(l.why, "not a CPU list"), "%s", l.why);
	/* Highest online CPU skips the offline hole. */
	ck_assert_int_eq(cpuset_resolve(root, "auto", "auto", &l), 0);
	ck_assert_int_eq(cpuset_first(&l.measurement), 3);
	ck_assert_int_eq(cpuset_count(&l.measurement), 1);
}
END_TEST

START_TEST(test_resolve_overlap_and_one_cpu)
{
	static const int pkg[] = { 0, 0 };
	struct cpu_layout l;
	char buf[128];

	fake_tree("0-1", NULL, pkg, 2);
	ck_assert_int_eq(cpuset_resolve(root, "1", "0-1", &l), 0);
	ck_assert_msg(strstr(l.why, "overlaps measurement on 1"), "%s", l.why);
	ck_assert(l.shared_package);

	teardown();
	setup();
	fake_tree("0", "", pkg, 1);
	ck_assert_int_eq(cpuset_resolve(root, "auto", "auto", &l), 0);
	ck_assert_str_eq(fmt(&l.measurement, buf), "0");
	ck_assert_str_eq(fmt(&l.infra, buf), "0");
	ck_assert(l.shared_package);
	ck_assert_msg(strstr(l.why, "all online CPUs"), "%s", l.why);
}
END_TEST

START_TEST(test_resolve_no_topology)
{
	struct cpu_layout l;
	char buf[128];

	put("online", "0-3\n");
	ck_assert_int_eq(cpuset_resolve(root, "auto", "auto", &l), 0);
	ck_assert_str_eq(fmt(&l.measurement, buf), "3");
	ck_assert_str_eq(fmt(&l.infra, buf), "0-2");
	ck_assert_str_eq(fmt(&l.package, buf), "0-3");
	ck_assert(l.shared_package);
	ck_assert_msg(strstr(l.why, "assumed one package"), "%s", l.why);
}
END_TEST

START_TEST(test_real_system)
{
	struct cpuset on;
	struct cpu_layout l;

	ck_assert_int_eq(cpuset_online("", &on), 0);
	ck_assert_int_ge(cpuset_count(&on), 1);
	ck_assert_int_eq(cpuset_resolve("", "auto", "auto", &l), 0);
	ck_assert_int_ge(cpuset_count(&l.measurement), 1);
	ck_assert(cpuset_subset(&l.measurement, &on));
	ck_assert(cpuset_subset(&l.infra, &on));
	ck_assert_int_ge(l.socket, 0);
}
END_TEST

/* One process's name and affinity, from a fake /proc and from the real one. */
START_TEST(test_proc_affinity)
{
	struct cpuset_proc p;
	char want[64];

	testutil_write(root, "proc/4242/status", "Name:\tredis-server\nUmask:\t0022\n"
			   "Cpus_allowed:\t3\nCpus_allowed_list:\t0-1,5\nMems_allowed:\t1\n");
	ck_assert_int_eq(cpuset_proc_affinity(root, 4242, &p), 0);
	ck_assert_int_eq(p.pid, 4242);
	ck_assert_str_eq(p.comm, "redis-server");
	cpuset_format(&p.allowed, want, sizeof want);
	ck_assert_str_eq(want, "0-1,5");
	/* no such process, no affinity line, a bad pid */
	ck_assert_int_eq(cpuset_proc_affinity(root, 4243, &p), -ENOENT);
	testutil_write(root, "proc/7/status", "Name:\tx\n");
	ck_assert_int_eq(cpuset_proc_affinity(root, 7, &p), -ENOENT);
	ck_assert_int_eq(cpuset_proc_affinity(root, 0, &p), -EINVAL);

	/* this test itself, pinned to one CPU */
	struct cpuset on, one;
	ck_assert_int_eq(cpuset_online("", &on), 0);
	cpuset_zero(&one);
	cpuset_set(&one, cpuset_first(&on));
	ck_assert_int_eq(cpuset_pin_self(&one), 0);
	ck_assert_int_eq(cpuset_proc_affinity("", (int)getpid(), &p), 0);
	ck_assert_msg(strncmp(p.comm, "test_cpuset", 11) == 0, "%s", p.comm);
	ck_assert(cpuset_equal(&p.allowed, &one));
}
END_TEST

static Suite *cpuset_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("cpuset", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_parse_format_round_trip);
	tcase_add_test(tc, test_parse_rejects);
	tcase_add_test(tc, test_format_edges);
	tcase_add_test(tc, test_bit_ops);
	tcase_add_test(tc, test_sysfs_readers);
	tcase_add_test(tc, test_sysfs_missing);
	tcase_add_test(tc, test_resolve_two_cpus_one_package);
	tcase_add_test(tc, test_resolve_two_packages);
	tcase_add_test(tc, test_resolve_isolated);
	tcase_add_test(tc, test_resolve_explicit_offline_rejected);
	tcase_add_test(tc, test_resolve_overlap_and_one_cpu);
	tcase_add_test(tc, test_resolve_no_topology);
	tcase_add_test(tc, test_real_system);
	tcase_add_test(tc, test_proc_affinity);
	return s;
}

TESTUTIL_MAIN(cpuset_suite)
