/* hosts_admit: which live host can run a request, from the workers' records. */
#include <check.h>
#include <string.h>

#include "hosts.h"
#include "testutil.h"

/* A host as hosts_load would leave it after judging its record. */
static void add(struct hosts *hs, const char *id, const char *cpus, bool ready, const char *why)
{
	struct host *h = &hs->h[hs->n++];
	memset(h, 0, sizeof *h);
	snprintf(h->id, sizeof h->id, "%s", id);
	ck_assert_int_eq(cpuset_parse(cpus, &h->measurement), 0);
	h->ready = ready;
	snprintf(h->why, sizeof h->why, "%s", why);
	h->workers = 1;
	hs->workers++;
}

START_TEST(none_live)
{
	struct hosts hs = { .n = 0 };
	struct cpuset all;
	char why[256];
	ck_assert_int_eq(hosts_admit(&hs, -1, &all, why, sizeof why), HOSTS_NOT_NOW);
	ck_assert_ptr_nonnull(strstr(why, "no live worker"));
	ck_assert_int_eq(hosts_admit(&hs, 3, &all, why, sizeof why), HOSTS_NOT_NOW);
}
END_TEST

START_TEST(two_hosts)
{
	struct hosts hs = { .n = 0 };
	struct cpuset all;
	char why[256], cpus[32];
	add(&hs, "a", "1", true, "");
	add(&hs, "b", "2-3", false, "host b: no valid calibration: too old");
	ck_assert_int_eq(hosts_admit(&hs, -1, &all, why, sizeof why), HOSTS_OK);
	ck_assert_int_eq(hosts_admit(&hs, 1, &all, why, sizeof why), HOSTS_OK);
	/* the CPU exists, on a host that is not ready: later */
	ck_assert_int_eq(hosts_admit(&hs, 3, &all, why, sizeof why), HOSTS_NOT_NOW);
	ck_assert_str_eq(why, "host b: no valid calibration: too old");
	/* no host has it: the request is wrong, and every host's CPUs are named */
	ck_assert_int_eq(hosts_admit(&hs, 0, &all, why, sizeof why), HOSTS_NO_SUCH_CPU);
	ck_assert_str_eq(why, "host a: 1; host b: 2-3");
	cpuset_format(&all, cpus, sizeof cpus);
	ck_assert_str_eq(cpus, "1-3");
	ck_assert_int_eq(hosts_admit(&hs, 100000, &all, why, sizeof why), HOSTS_NO_SUCH_CPU);
	ck_assert_ptr_eq(hosts_find(&hs, "b"), &hs.h[1]);
	ck_assert_ptr_null(hosts_find(&hs, "c"));
}
END_TEST

START_TEST(none_ready)
{
	struct hosts hs = { .n = 0 };
	struct cpuset all;
	char why[256];
	add(&hs, "a", "1", false, "host a: no valid calibration: missing");
	add(&hs, "b", "2", false, "host b: no valid calibration: forced elsewhere");
	ck_assert_int_eq(hosts_admit(&hs, -1, &all, why, sizeof why), HOSTS_NOT_NOW);
	ck_assert_str_eq(why, "host a: no valid calibration: missing; "
			      "host b: no valid calibration: forced elsewhere");
}
END_TEST

static Suite *hosts_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("hosts", &tc);
	tcase_add_test(tc, none_live);
	tcase_add_test(tc, two_hosts);
	tcase_add_test(tc, none_ready);
	return s;
}

TESTUTIL_MAIN(hosts_suite)
