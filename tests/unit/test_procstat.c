/* test_procstat.c — /proc/stat busy/total sums over CPU sets, from fake files. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpuset.h"
#include "procstat.h"
#include "testutil.h"

static char tmp[64];

/* Rewritten in place: procstat keeps its fd open across reads. */
static void put_stat(const char *content)
{
	testutil_write(tmp, "proc/stat", content);
}

static void setup(void)
{
	testutil_tmpdir(tmp, sizeof tmp, "procstat");
}

static void teardown(void)
{
	testutil_rmtree(tmp);
}

START_TEST(sums)
{
	/* user nice system idle iowait irq softirq steal guest guest_nice */
	put_stat("cpu  1 1 1 1 1 1 1 1 1 1\n"
		 "cpu0 1 2 3 100 7 4 5 6 50 60\n"
		 "cpu2 10 0 0 200 0 0 0 0\n"          /* older kernel: 8 fields */
		 "intr 1 2 3\ncpu9 999 0 0 0\n");     /* after the cpu block: ignored */
	struct procstat *ps = procstat_open(tmp);
	ck_assert_ptr_nonnull(ps);
	struct procstat_sample s;
	ck_assert_int_eq(procstat_read(ps, NULL, &s), 0);
	ck_assert_int_eq(s.ncpus, 2);
	/* guest is inside user; steal (6) is not busy but is time */
	ck_assert_uint_eq(s.busy, (1 + 2 + 3 + 4 + 5) + 10);
	ck_assert_uint_eq(s.total, s.busy + 100 + 7 + 6 + 200);

	struct cpuset cs;
	ck_assert_int_eq(cpuset_parse("2-3", &cs), 0);   /* cpu3 offline: skipped */
	ck_assert_int_eq(procstat_read(ps, &cs, &s), 0);
	ck_assert_int_eq(s.ncpus, 1);
	ck_assert_uint_eq(s.busy, 10);
	ck_assert_uint_eq(s.total, 210);

	/* re-read sees in-place updates through the same fd */
	put_stat("cpu  0 0 0 0\ncpu2 20 0 0 300 0 0 0 0\n");
	ck_assert_int_eq(procstat_read(ps, &cs, &s), 0);
	ck_assert_uint_eq(s.busy, 20);
	procstat_close(ps);
	ck_assert_int_gt(procstat_hz(), 0);
}
END_TEST

START_TEST(malformed)
{
	struct procstat_sample s;
	struct procstat *ps;
	put_stat("intr 1\nctxt 2\n");
	ps = procstat_open(tmp);
	ck_assert_int_eq(procstat_read(ps, NULL, &s), -EIO);
	put_stat("cpu0 1 2\n");
	ck_assert_int_eq(procstat_read(ps, NULL, &s), -EIO);
	put_stat("cpu0 1 2 x 4\n");
	ck_assert_int_eq(procstat_read(ps, NULL, &s), -EIO);
	procstat_close(ps);
	errno = 0;
	ck_assert_ptr_null(procstat_open("/nonexistent-root"));
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(large_file)
{
	/* 1024 CPUs of long lines (> 64 KiB) and a huge intr line after them */
	size_t cap = 2 * 1024 * 1024, len = 0;
	char *b = malloc(cap);
	len += (size_t)snprintf(b + len, cap - len, "cpu  0 0 0 0\n");
	for (int c = 0; c < 1024; c++)
		len += (size_t)snprintf(b + len, cap - len,
					"cpu%d 1 0 0 1000000000 0 0 0 0 0 0 %s\n", c,
					"                                                  ");
	len += (size_t)snprintf(b + len, cap - len, "intr");
	while (len < cap - 16)
		len += (size_t)snprintf(b + len, cap - len, " 0");
	put_stat(b);
	free(b);
	struct procstat *ps = procstat_open(tmp);
	struct procstat_sample s;
	ck_assert_int_eq(procstat_read(ps, NULL, &s), 0);
	ck_assert_int_eq(s.ncpus, 1024);
	ck_assert_uint_eq(s.busy, 1024);
	procstat_close(ps);
}
END_TEST

static Suite *procstat_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("procstat", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sums);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, large_file);
	return s;
}

TESTUTIL_MAIN(procstat_suite)
