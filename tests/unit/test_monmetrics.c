/* monmetrics: the monitor's /metrics text from a hand-made ledger_life and
 * stats: exact joules, escaped labels, at most top_n process series, and
 * `promtool check metrics` on the whole text when promtool is installed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dynbuf.h"
#include "monmetrics.h"
#include "testutil.h"

#define PROMTOOL "/usr/bin/promtool"

static struct ledger_proc procs[3];
static struct {
	const char *cgroup;
	int64_t energy_uj[LEDGER_NDOMAINS];
} cgs[2];

static void make_life(struct ledger_life *l)
{
	memset(l, 0, sizeof *l);
	memset(procs, 0, sizeof procs);
	l->npkgs = 2;
	l->pkg[0].id = 0;
	l->pkg[0].has_dram = true;
	l->pkg[0].e[LEDGER_PACKAGE] = (struct ledger_energy){ 3000000, 1000000, 2000000, 1500000,
							       500000 };
	l->pkg[0].e[LEDGER_DRAM] = (struct ledger_energy){ 1234567, 234567, 1000000, 1000000, 0 };
	l->pkg[0].dropped_ns = 1500000000;
	l->pkg[1].id = 3;
	l->pkg[1].e[LEDGER_PACKAGE] = (struct ledger_energy){ 7, 7, 0, 0, 0 };
	const char *comms[] = { "bad\"comm\\x", "two\nlines", "third" };
	for (int i = 0; i < 3; i++) {
		procs[i].tgid = 100 + i;
		procs[i].start_ns = 5000000000ull + (uint64_t)i;
		memcpy(procs[i].comm, comms[i], strlen(comms[i]));
		procs[i].uid = 1000;
		procs[i].cgroup = i ? "/system.slice/a\"b.service" : "";
		procs[i].energy_uj[LEDGER_PACKAGE] = 1000000 - i;
		procs[i].energy_uj[LEDGER_DRAM] = 10;
	}
	memcpy(procs[0].comm, "sixteen-chars-xx", 16);     /* a comm with no NUL */
	l->top = procs;
	l->ntop = 3;
	cgs[0].cgroup = "/system.slice/a\"b.service";
	cgs[0].energy_uj[LEDGER_PACKAGE] = 1999999;
	cgs[1].cgroup = "other";
	cgs[1].energy_uj[LEDGER_PACKAGE] = 1;
	l->cgroups = (void *)cgs;
	l->ncgroups = 2;
}

static char *render(size_t top_n, struct ledger_life *l)
{
	struct monstats st;
	struct monstats_view v;
	memset(&st, 0, sizeof st);
	atomic_store(&st.ticks, 42);
	atomic_store(&st.meter_errors[1], 2);
	monstats_observe(&st.lag, 50000);          /* 50 µs */
	monstats_observe(&st.lag, 2000000000);     /* 2 s: +Inf only */
	monstats_observe(&st.duration, 300000);
	monstats_view(&st, &v);
	struct monmetrics_input in = { .life = l, .stats = &v, .attribution_source = "bpf",
				       .meter = "powercap", .host_id = "host-\"1\"", .top_n = top_n,
				       .redis_backlog = 4 };
	monmetrics_self(&in.cpu_user_s, &in.cpu_system_s, &in.resident_bytes);
	ck_assert_uint_gt(in.resident_bytes, 4096);     /* this process is resident */
	struct dynbuf b;
	dynbuf_init(&b, 1 << 20);
	ck_assert_int_eq(monmetrics_render(&in, &b), 0);
	char *t = dynbuf_take(&b, NULL);
	dynbuf_free(&b);
	return t;
}

static size_t count(const char *t, const char *needle)
{
	size_t n = 0;
	for (const char *p = t; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

#define HAS(t, s) ck_assert_msg(strstr((t), (s)) != NULL, "missing: %s", (s))

START_TEST(exact_and_escaped)
{
	struct ledger_life l;
	make_life(&l);
	char *t = render(2, &l);
	HAS(t, "jouletrace_monitor_energy_joules_total{package=\"0\",domain=\"package\",part=\"raw\"} 3.000000\n");
	HAS(t, "jouletrace_monitor_energy_joules_total{package=\"0\",domain=\"dram\",part=\"raw\"} 1.234567\n");
	HAS(t, "jouletrace_monitor_energy_joules_total{package=\"3\",domain=\"package\",part=\"idle\"} 0.000007\n");
	/* package 3 has no DRAM counter: no dram series for it */
	ck_assert_ptr_null(strstr(t, "package=\"3\",domain=\"dram\""));
	HAS(t, "jouletrace_monitor_dropped_busy_seconds_total{package=\"0\"} 1.500000000\n");
	HAS(t, "jouletrace_monitor_cgroup_energy_joules_total{cgroup=\"/system.slice/a\\\"b.service\",domain=\"package\"} 1.999999\n");
	HAS(t, "jouletrace_monitor_cgroup_energy_joules_total{cgroup=\"other\",domain=\"dram\"} 0.000000\n");
	HAS(t, "jouletrace_monitor_process_energy_joules_total{pid=\"100\",start=\"5000000000\",comm=\"sixteen-chars-xx\",uid=\"1000\",cgroup=\"\",domain=\"package\"} 1.000000\n");
	HAS(t, "comm=\"two\\nlines\"");
	HAS(t, "jouletrace_monitor_meter_errors_total{package=\"3\"} 2\n");
	HAS(t, "jouletrace_monitor_ticks_total 42\n");
	HAS(t, "jouletrace_monitor_tick_lag_seconds_bucket{le=\"0.0001\"} 1\n");
	HAS(t, "jouletrace_monitor_tick_lag_seconds_bucket{le=\"1\"} 1\n");
	HAS(t, "jouletrace_monitor_tick_lag_seconds_count 2\n");
	HAS(t, "jouletrace_monitor_redis_backlog 4\n");
	HAS(t, "jouletrace_monitor_info{attribution_source=\"bpf\",meter=\"powercap\",host_id=\"host-\\\"1\\\"\"} 1\n");
	/* top_n = 2: two processes × two domains, the third never named */
	ck_assert_uint_eq(count(t, "jouletrace_monitor_process_energy_joules_total{"), 4);
	ck_assert_ptr_null(strstr(t, "pid=\"102\""));
	free(t);
}
END_TEST

START_TEST(promtool_accepts)
{
	if (access(PROMTOOL, X_OK) != 0)
		return;     /* scripts/setup.sh installs it (Debian package prometheus) */
	struct ledger_life l;
	char dir[64], path[128], cmd[256];
	make_life(&l);
	char *t = render(50, &l);
	testutil_tmpdir(dir, sizeof dir, "monmetrics");
	snprintf(path, sizeof path, "%s/metrics.txt", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(t, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, PROMTOOL " check metrics < %s > %s/out.txt 2>&1", path, dir);
	int rc = system(cmd);
	char out[4096] = "";
	snprintf(path, sizeof path, "%s/out.txt", dir);
	f = fopen(path, "r");
	if (f) {
		size_t n = fread(out, 1, sizeof out - 1, f);
		out[n] = '\0';
		fclose(f);
	}
	ck_assert_msg(rc == 0, "promtool check metrics: %s", out);
	free(t);
	testutil_rmtree(dir);
}
END_TEST

START_TEST(empty_life)
{
	struct ledger_life l;
	memset(&l, 0, sizeof l);
	char *t = render(10, &l);
	HAS(t, "# TYPE jouletrace_monitor_energy_joules_total counter\n");
	ck_assert_ptr_null(strstr(t, "jouletrace_monitor_energy_joules_total{"));
	free(t);
}
END_TEST

static Suite *monmetrics_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("monmetrics", &tc);
	tcase_add_test(tc, exact_and_escaped);
	tcase_add_test(tc, promtool_accepts);
	tcase_add_test(tc, empty_life);
	return s;
}

TESTUTIL_MAIN(monmetrics_suite)
