/* The monitor's ledger on made-up intervals: exact conservation, idle, the
 * split's rounding, top N + other, pid reuse, exits, overflow, flat memory. */
#include <check.h>
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "testutil.h"

#define MS 1000000ull

static struct pkgmap pkgs(int n)
{
	struct pkgmap m;
	memset(&m, 0, sizeof m);
	m.n = n;
	for (int i = 0; i < n; i++)
		m.id[i] = i;
	return m;
}

static struct procacct_row row(int32_t tgid, uint64_t start, int pkg, uint64_t cpu)
{
	struct procacct_row r = { .tgid = tgid, .start_ns = start, .pkg = pkg, .cpu_ns = cpu,
				  .uid = 1000, .cgroup = "/user.slice" };
	snprintf(r.comm, sizeof r.comm, "p%d", tgid);
	return r;
}

/* An interval of dt_ns over rows; each package's busy time = its rows + dropped. */
static struct procacct_interval interval(struct procacct_row *rows, size_t n, uint64_t t0,
					 uint64_t dt_ns, const uint64_t *dropped)
{
	struct procacct_interval iv = { .valid = true, .t0_ns = t0, .t1_ns = t0 + dt_ns,
					.rows = rows, .n = n };
	for (size_t i = 0; i < n; i++)
		iv.busy_ns[rows[i].pkg] += rows[i].cpu_ns;
	for (int p = 0; dropped && p < PKGMAP_MAX; p++) {
		iv.dropped_ns[p] = dropped[p];
		iv.busy_ns[p] += dropped[p];
	}
	return iv;
}

static struct ledger_sample sample(int64_t pkg_uj, int64_t dram_uj)
{
	return (struct ledger_sample){ .measured = true, .raw_uj = { pkg_uj, dram_uj },
				       .has_dram = dram_uj >= 0 };
}

/* Every identity of the period seal, exactly. */
static void check_conservation(const struct ledger_period *p)
{
	int64_t attributed[LEDGER_NDOMAINS] = { 0 }, procs[LEDGER_NDOMAINS] = { 0 };

	for (int i = 0; i < p->npkgs; i++)
		for (int d = 0; d < LEDGER_NDOMAINS; d++) {
			const struct ledger_energy *e = &p->pkg[i].e[d];
			ck_assert_int_eq(e->raw_uj, e->idle_uj + e->dynamic_uj);
			ck_assert_int_eq(e->dynamic_uj, e->attributed_uj + e->unattributed_uj);
			ck_assert_int_ge(e->idle_uj, 0);
			ck_assert_int_ge(e->dynamic_uj, 0);
			attributed[d] += e->attributed_uj;
		}
	for (size_t i = 0; i < p->ntop; i++) {
		const struct ledger_proc *t = &p->top[i];
		ck_assert_int_eq(t->total_uj, t->energy_uj[LEDGER_PACKAGE] + t->energy_uj[LEDGER_DRAM]);
		if (i)
			ck_assert_int_ge(p->top[i - 1].total_uj, t->total_uj);
		for (int d = 0; d < LEDGER_NDOMAINS; d++)
			procs[d] += t->energy_uj[d];
	}
	for (int d = 0; d < LEDGER_NDOMAINS; d++)
		ck_assert_int_eq(procs[d] + p->other.energy_uj[d], attributed[d]);
	ck_assert_uint_eq(p->processes, p->ntop + p->other_count);
}

/* Books one interval and closes the period, which must conserve. */
static void add_and_close(struct ledger *l, const struct procacct_interval *iv,
			  const struct ledger_sample *s, size_t top_n, struct ledger_period *per)
{
	ck_assert_int_eq(ledger_add(l, iv, s), 0);
	ck_assert_int_eq(ledger_close_period(l, top_n, per), 0);
	check_conservation(per);
}

static const struct ledger_proc *find(const struct ledger_proc *v, size_t n, int32_t tgid,
				      uint64_t start)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].tgid == tgid && v[i].start_ns == start)
			return &v[i];
	return NULL;
}

/* Entries of the lifetime table: everything ledger_life can list. */
static size_t life_entries(const struct ledger *l)
{
	struct ledger_life life;
	ck_assert_int_eq(ledger_life(l, SIZE_MAX, &life), 0);
	size_t n = life.ntop;
	ledger_life_free(&life);
	return n;
}

#define POOL 100
START_TEST(conserves_exactly_over_random_intervals)
{
	struct pkgmap m = pkgs(3);
	/* package 0 calibrated with DRAM, 1 calibrated without, 2 not at all */
	const double idle[3][LEDGER_NDOMAINS] = { { 7.3, 1.1 }, { 12.5, 0 }, { 0, 0 } };
	struct ledger *l = ledger_new(&m, idle);
	struct procacct_row rows[POOL * 2];
	unsigned seed = 13;
	int64_t raw[3][LEDGER_NDOMAINS] = { { 0 } }, idle_sum[3][LEDGER_NDOMAINS] = { { 0 } };
	uint64_t t = 0, failed[3] = { 0 };

	ck_assert_ptr_nonnull(l);
	for (int it = 1; it <= 6000; it++) {
		size_t n = 0;
		for (int k = 0; k < POOL; k++)
			for (int p = 0; p < 3; p++)
				if (rand_r(&seed) % 4 == 0)
					rows[n++] = row(100 + k, (uint64_t)k * 7, p,
							(uint64_t)(rand_r(&seed) % 20000000));
		uint64_t dropped[PKGMAP_MAX] = { (uint64_t)(rand_r(&seed) % 3 ? 0 : 123457) };
		uint64_t dt = 100 * MS + (uint64_t)(rand_r(&seed) % 1000003);
		struct procacct_interval iv = interval(rows, n, t, dt, dropped);
		struct ledger_sample s[3];
		for (int p = 0; p < 3; p++) {
			s[p] = sample(rand_r(&seed) % 3000000, p == 0 ? rand_r(&seed) % 300000 : -1);
			s[p].measured = rand_r(&seed) % 50 != 0;
			failed[p] += !s[p].measured;
			for (int d = 0; s[p].measured && d < LEDGER_NDOMAINS; d++) {
				if (d == LEDGER_DRAM && !s[p].has_dram)
					continue;
				int64_t want = llround(idle[p][d] * (double)dt / 1e3);
				raw[p][d] += s[p].raw_uj[d];
				idle_sum[p][d] += want < s[p].raw_uj[d] ? want : s[p].raw_uj[d];
			}
		}
		ck_assert_int_eq(ledger_add(l, &iv, s), 0);
		t += dt;
		if (it % 1000)
			continue;
		struct ledger_period per;
		ck_assert_int_eq(ledger_close_period(l, 10, &per), 0);
		check_conservation(&per);
		ck_assert_uint_eq(per.intervals, 1000);
		ck_assert_uint_le(per.ntop, 10);
		for (int p = 0; p < 3; p++) {
			ck_assert_uint_eq(per.pkg[p].failed_intervals, failed[p]);
			for (int d = 0; d < LEDGER_NDOMAINS; d++) {
				ck_assert_int_eq(per.pkg[p].e[d].raw_uj, raw[p][d]);
				ck_assert_int_eq(per.pkg[p].e[d].idle_uj, idle_sum[p][d]);
			}
		}
		ck_assert_int_eq(per.pkg[2].e[LEDGER_PACKAGE].idle_uj, 0);   /* uncalibrated */
		ck_assert(per.pkg[0].has_dram && !per.pkg[1].has_dram);
		ck_assert_uint_gt(per.pkg[0].e[LEDGER_PACKAGE].unattributed_uj, 0); /* dropped */
		memset(raw, 0, sizeof raw);
		memset(idle_sum, 0, sizeof idle_sum);
		memset(failed, 0, sizeof failed);
		ledger_period_free(&per);
	}
	ledger_free(l);
}
END_TEST

/* One interval, every share within one µJ of its exact value. */
START_TEST(shares_are_exact_within_one_and_ties_go_low)
{
	struct pkgmap m = pkgs(1);
	struct ledger *l = ledger_new(&m, NULL);
	/* three equal times: 2 µJ go to the two lowest (tgid, start_ns) */
	struct procacct_row rows[] = { row(5, 200, 0, 1000), row(7, 1, 0, 1000),
				       row(7, 2, 0, 1000) };
	struct procacct_interval iv = interval(rows, 3, 0, 100 * MS, NULL);
	struct ledger_sample s = sample(2, -1);
	struct ledger_period per;

	add_and_close(l, &iv, &s, 10, &per);
	ck_assert_int_eq(find(per.top, per.ntop, 5, 200)->total_uj, 1);
	ck_assert_int_eq(find(per.top, per.ntop, 7, 1)->total_uj, 1);
	ck_assert_int_eq(find(per.top, per.ntop, 7, 2)->total_uj, 0);
	ck_assert_int_eq(per.pkg[0].e[LEDGER_PACKAGE].unattributed_uj, 0);
	ledger_period_free(&per);

	/* uneven times: 1000003 µJ over 1:2:4 → exact 142857.57, 285715.14, 571430.29 */
	rows[0].cpu_ns = 1;
	rows[1].cpu_ns = 2;
	rows[2].cpu_ns = 4;
	iv = interval(rows, 3, 0, 100 * MS, NULL);
	s = sample(1000003, -1);
	add_and_close(l, &iv, &s, 10, &per);
	ck_assert_int_eq(find(per.top, per.ntop, 5, 200)->total_uj, 142858);
	ck_assert_int_eq(find(per.top, per.ntop, 7, 1)->total_uj, 285715);
	ck_assert_int_eq(find(per.top, per.ntop, 7, 2)->total_uj, 571430);
	ledger_period_free(&per);
	ledger_free(l);
}
END_TEST

START_TEST(idle_is_capped_and_rounded)
{
	struct pkgmap m = pkgs(1);
	const double idle[1][LEDGER_NDOMAINS] = { { 0.5, 2.0 } };
	struct ledger *l = ledger_new(&m, idle);
	struct procacct_row rows[] = { row(10, 1, 0, 1000) };
	struct ledger_period per;

	/* 0.5 W × 3 µs = 1.5 µJ: rounded half away, 2; DRAM 2 W × 3 µs = 6 µJ > 5 drawn */
	struct procacct_interval iv = interval(rows, 1, 0, 3000, NULL);
	struct ledger_sample s = sample(10, 5);
	add_and_close(l, &iv, &s, 5, &per);
	ck_assert_int_eq(per.pkg[0].e[LEDGER_PACKAGE].idle_uj, 2);
	ck_assert_int_eq(per.pkg[0].e[LEDGER_PACKAGE].dynamic_uj, 8);
	ck_assert_int_eq(per.pkg[0].e[LEDGER_DRAM].idle_uj, 5);     /* raw below idle */
	ck_assert_int_eq(per.pkg[0].e[LEDGER_DRAM].dynamic_uj, 0);
	ck_assert_int_eq(per.top[0].energy_uj[LEDGER_DRAM], 0);
	ck_assert_int_eq(per.top[0].energy_uj[LEDGER_PACKAGE], 8);
	ledger_period_free(&per);
	ledger_free(l);

	/* idle known to be 0: everything is dynamic, and split */
	l = ledger_new(&m, NULL);
	iv = interval(rows, 1, 0, 100 * MS, NULL);
	s = sample(777, 33);
	add_and_close(l, &iv, &s, 5, &per);
	ck_assert_int_eq(per.pkg[0].e[LEDGER_PACKAGE].idle_uj, 0);
	ck_assert_int_eq(per.top[0].total_uj, 810);
	ledger_period_free(&per);
	ledger_free(l);

	/* idle unknown (uncalibrated package): nothing is split, idle power is
	 * never handed out to processes; the DRAM's known idle still is apart */
	const double unknown[1][LEDGER_NDOMAINS] = { { NAN, 0 } };
	l = ledger_new(&m, unknown);
	ck_assert_ptr_nonnull(l);
	add_and_close(l, &iv, &s, 5, &per);
	ck_assert_int_eq(per.pkg[0].e[LEDGER_PACKAGE].idle_uj, 0);
	ck_assert_int_eq(per.pkg[0].e[LEDGER_PACKAGE].dynamic_uj, 777);
	ck_assert_int_eq(per.pkg[0].e[LEDGER_PACKAGE].unattributed_uj, 777);
	ck_assert_int_eq(per.top[0].energy_uj[LEDGER_PACKAGE], 0);
	ck_assert_int_eq(per.top[0].energy_uj[LEDGER_DRAM], 33);
	ck_assert_uint_eq(per.top[0].cpu_ns, 1000);   /* its time is still booked */
	ledger_period_free(&per);
	ledger_free(l);

	const double bad[1][LEDGER_NDOMAINS] = { { INFINITY, 0 } };
	ck_assert_ptr_null(ledger_new(&m, bad));
	ck_assert_int_eq(errno, EINVAL);
	const double negative[1][LEDGER_NDOMAINS] = { { 0, -1 } };
	ck_assert_ptr_null(ledger_new(&m, negative));
}
END_TEST

START_TEST(nobody_ran_or_dropped_time_stays_unattributed)
{
	struct pkgmap m = pkgs(2);
	struct ledger *l = ledger_new(&m, NULL);
	struct procacct_row rows[] = { row(10, 1, 1, 300 * MS) };
	uint64_t dropped[PKGMAP_MAX] = { 0, 100 * MS };
	/* package 0: no rows; package 1: a quarter of its busy time was dropped */
	struct procacct_interval iv = interval(rows, 1, 0, 400 * MS, dropped);
	struct ledger_sample s[2] = { sample(5000, -1), sample(1000, -1) };
	struct ledger_period per;

	add_and_close(l, &iv, s, 5, &per);
	ck_assert_int_eq(per.pkg[0].e[LEDGER_PACKAGE].unattributed_uj, 5000);
	ck_assert_int_eq(per.pkg[0].e[LEDGER_PACKAGE].attributed_uj, 0);
	ck_assert_int_eq(per.pkg[1].e[LEDGER_PACKAGE].unattributed_uj, 250);
	ck_assert_int_eq(per.top[0].total_uj, 750);
	ck_assert_uint_eq(per.pkg[1].busy_ns, 400 * MS);
	ck_assert_uint_eq(per.pkg[1].dropped_ns, 100 * MS);
	ck_assert_uint_eq(per.pkg[0].busy_ns, 0);
	ledger_period_free(&per);

	/* a source whose busy time leaves the dropped part out: still nobody's */
	iv.busy_ns[1] = 0;
	add_and_close(l, &iv, s, 5, &per);
	ck_assert_int_eq(per.pkg[1].e[LEDGER_PACKAGE].unattributed_uj, 250);
	ledger_period_free(&per);
	ledger_free(l);
}
END_TEST

START_TEST(a_failed_reading_adds_no_energy_but_counts_time)
{
	struct pkgmap m = pkgs(1);
	struct ledger *l = ledger_new(&m, NULL);
	struct procacct_row rows[] = { row(10, 1, 0, 50 * MS) };
	struct procacct_interval iv = interval(rows, 1, 0, 100 * MS, NULL);
	struct ledger_sample ok = sample(1000, -1), bad = { .measured = false };
	struct ledger_period per;

	ck_assert_int_eq(ledger_add(l, &iv, &ok), 0);
	iv.t0_ns += 100 * MS;
	iv.t1_ns += 100 * MS;
	add_and_close(l, &iv, &bad, 5, &per);
	ck_assert_int_eq(per.pkg[0].e[LEDGER_PACKAGE].raw_uj, 1000);
	ck_assert_uint_eq(per.pkg[0].measured_ns, 100 * MS);
	ck_assert_uint_eq(per.pkg[0].unmeasured_ns, 100 * MS);
	ck_assert_uint_eq(per.pkg[0].failed_intervals, 1);
	ck_assert_uint_eq(per.pkg[0].intervals, 2);
	ck_assert_uint_eq(per.top[0].cpu_ns, 100 * MS);    /* both intervals' time */
	ck_assert_int_eq(per.top[0].total_uj, 1000);
	ledger_period_free(&per);
	ledger_free(l);
}
END_TEST

START_TEST(top_n_and_other_sum_and_sort)
{
	struct pkgmap m = pkgs(1);
	struct ledger *l = ledger_new(&m, NULL);
	struct procacct_row rows[10];
	struct ledger_period per;

	for (int i = 0; i < 10; i++)
		rows[i] = row(100 + i, 5, 0, (uint64_t)(i + 1) * MS);   /* 101..110 ms in all: 55 */
	struct procacct_interval iv = interval(rows, 10, 0, 100 * MS, NULL);
	struct ledger_sample s = sample(55000, 5500);
	add_and_close(l, &iv, &s, 3, &per);
	ck_assert_uint_eq(per.ntop, 3);
	ck_assert_int_eq(per.top[0].tgid, 109);
	ck_assert_int_eq(per.top[0].total_uj, 11000);
	ck_assert_int_eq(per.top[0].energy_uj[LEDGER_DRAM], 1000);
	ck_assert_int_eq(per.top[2].tgid, 107);
	ck_assert_uint_eq(per.other_count, 7);
	ck_assert_uint_eq(per.processes, 10);
	ck_assert_int_eq(per.other.tgid, 0);
	ck_assert_str_eq(per.other.comm, "other");
	ck_assert_int_eq(per.other.total_uj, 60500 - 11000 - 9900 - 8800);
	ck_assert_uint_eq(per.other.cpu_ns, 28 * MS);
	ck_assert_str_eq(per.top[0].comm, "p109");
	ck_assert_str_eq(per.top[0].cgroup, "/user.slice");
	ledger_period_free(&per);

	/* top 0: everything in other */
	add_and_close(l, &iv, &s, 0, &per);
	ck_assert_uint_eq(per.ntop, 0);
	ck_assert_int_eq(per.other.total_uj, 60500);
	ledger_period_free(&per);
	ledger_free(l);
}
END_TEST

START_TEST(pid_reuse_makes_two_processes)
{
	struct pkgmap m = pkgs(1);
	struct ledger *l = ledger_new(&m, NULL);
	struct procacct_row rows[] = { row(42, 1000, 0, 10 * MS), row(42, 9000, 0, 30 * MS) };
	struct procacct_interval iv = interval(rows, 2, 0, 100 * MS, NULL);
	struct ledger_sample s = sample(400, -1);
	struct ledger_period per;

	rows[0].exited = true;
	add_and_close(l, &iv, &s, 5, &per);
	ck_assert_uint_eq(per.ntop, 2);
	ck_assert_int_eq(find(per.top, 2, 42, 1000)->total_uj, 100);
	ck_assert(find(per.top, 2, 42, 1000)->exited);
	ck_assert_int_eq(find(per.top, 2, 42, 9000)->total_uj, 300);
	ck_assert(!find(per.top, 2, 42, 9000)->exited);
	ledger_period_free(&per);
	ledger_free(l);
}
END_TEST

START_TEST(exited_stay_until_the_period_closes)
{
	struct pkgmap m = pkgs(1);
	struct ledger *l = ledger_new(&m, NULL);
	struct procacct_row rows[] = { row(1, 1, 0, 10 * MS), row(2, 2, 0, 10 * MS) };
	struct procacct_interval iv = interval(rows, 2, 0, 100 * MS, NULL);
	struct ledger_sample s = sample(100, -1);
	struct ledger_period per;
	struct ledger_life life;

	rows[0].exited = true;           /* 1 exits in the first interval */
	ck_assert_int_eq(ledger_add(l, &iv, &s), 0);
	/* a last slice of 1 booked one interval late: it stays exited */
	rows[0].exited = false;
	rows[1].cpu_ns = 30 * MS;
	iv = interval(rows, 2, 100 * MS, 100 * MS, NULL);
	ck_assert_int_eq(ledger_add(l, &iv, &s), 0);
	ck_assert_uint_eq(life_entries(l), 2);
	ck_assert_int_eq(ledger_close_period(l, 5, &per), 0);
	ck_assert_ptr_nonnull(find(per.top, per.ntop, 1, 1));       /* kept to the end */
	ck_assert_int_eq(find(per.top, per.ntop, 1, 1)->total_uj, 75);
	ck_assert(find(per.top, per.ntop, 1, 1)->exited);
	ledger_period_free(&per);
	ck_assert_uint_eq(life_entries(l), 1);                      /* then gone */

	/* 2 is not seen in the next period: it stays through it, then leaves */
	iv = interval(NULL, 0, 200 * MS, 100 * MS, NULL);
	ck_assert_int_eq(ledger_add(l, &iv, &s), 0);
	ck_assert_int_eq(ledger_life(l, 5, &life), 0);
	ck_assert_uint_eq(life.ntop, 1);
	ck_assert_int_eq(life.top[0].tgid, 2);
	ck_assert_int_eq(life.top[0].total_uj, 125);
	ledger_life_free(&life);
	ck_assert_int_eq(ledger_close_period(l, 5, &per), 0);
	ck_assert_uint_eq(per.processes, 0);
	ck_assert_int_eq(per.pkg[0].e[LEDGER_PACKAGE].unattributed_uj, 100);
	ledger_period_free(&per);
	ck_assert_uint_eq(life_entries(l), 0);

	/* the package's lifetime totals keep everything */
	ck_assert_int_eq(ledger_life(l, 5, &life), 0);
	ck_assert_int_eq(life.pkg[0].e[LEDGER_PACKAGE].raw_uj, 300);
	ck_assert_int_eq(life.pkg[0].e[LEDGER_PACKAGE].attributed_uj, 200);
	ck_assert_uint_eq(life.pkg[0].intervals, 3);
	ledger_life_free(&life);
	ledger_free(l);
}
END_TEST

START_TEST(refuses_unsorted_or_foreign_rows_unchanged)
{
	struct pkgmap m = pkgs(1);
	struct ledger *l = ledger_new(&m, NULL);
	struct procacct_row rows[] = { row(9, 1, 0, MS), row(3, 1, 0, MS) };
	struct procacct_interval iv = interval(rows, 2, 0, 100 * MS, NULL);
	struct ledger_sample s = sample(100, -1);
	struct ledger_period per;

	ck_assert_int_eq(ledger_add(l, &iv, &s), -EINVAL);
	rows[1] = row(9, 1, 0, MS);                      /* a duplicate */
	ck_assert_int_eq(ledger_add(l, &iv, &s), -EINVAL);
	rows[1] = row(10, 1, 1, MS);                     /* no package 1 */
	ck_assert_int_eq(ledger_add(l, &iv, &s), -EINVAL);
	iv.valid = false;                                /* the first ticks: nothing */
	add_and_close(l, &iv, &s, 5, &per);
	ck_assert_uint_eq(per.intervals, 0);
	ck_assert_uint_eq(per.processes, 0);
	ck_assert_int_eq(per.pkg[0].e[LEDGER_PACKAGE].raw_uj, 0);
	ledger_period_free(&per);
	ledger_free(l);
}
END_TEST

START_TEST(overflow_goes_to_other)
{
	struct pkgmap m = pkgs(1);
	struct ledger *l = ledger_new(&m, NULL);
	size_t n = LEDGER_MAX_PROCS + 10;
	struct procacct_row *rows = calloc(n, sizeof *rows);
	struct ledger_period per;

	for (size_t i = 0; i < n; i++)
		rows[i] = row((int32_t)i + 1, 1, 0, 1000);
	struct procacct_interval iv = interval(rows, n, 0, 100 * MS, NULL);
	struct ledger_sample s = sample((int64_t)n * 3, -1);
	ck_assert_int_eq(ledger_add(l, &iv, &s), 0);
	ck_assert_int_eq(ledger_add(l, &iv, &s), 0);     /* the same ones again: still 10 over */
	ck_assert_int_eq(ledger_close_period(l, 50, &per), 0);
	check_conservation(&per);
	ck_assert_uint_eq(per.overflow, 20);
	ck_assert_uint_eq(per.processes, LEDGER_MAX_PROCS + 20);
	ck_assert_uint_eq(per.ntop, 50);
	ck_assert_int_eq(per.pkg[0].e[LEDGER_PACKAGE].attributed_uj, (int64_t)n * 6);
	ck_assert_int_eq(per.other.total_uj, ((int64_t)n - 50) * 6);
	ledger_period_free(&per);
	free(rows);
	ledger_free(l);
}
END_TEST

/*
 * Churn: 100 live processes, 20 of them exit every period and 20 new ones
 * start, each new one in a cgroup never seen before (past LEDGER_MAX_CGROUPS
 * of them).  The tables stay bounded, the heap stops growing, and the
 * cgroups + other still sum to every attributed µJ.
 */
#define CHURN_PERIODS 300
static char cgroups[CHURN_PERIODS * 20 + 100][24];

START_TEST(lifetime_memory_is_flat_under_churn)
{
	struct pkgmap m = pkgs(1);
	struct ledger *l = ledger_new(&m, NULL);
	struct procacct_row rows[100];
	int32_t live[100];
	int32_t next = 1;
	size_t heap_mid = 0;
	int64_t attributed = 0;

	for (int i = 0; i < 100; i++)
		live[i] = next++;
	for (size_t i = 0; i < sizeof cgroups / sizeof *cgroups; i++)
		snprintf(cgroups[i], sizeof cgroups[i], "/c/%zu", i);
	for (int per_i = 0; per_i < CHURN_PERIODS; per_i++) {
		for (int it = 0; it < 10; it++) {
			for (int i = 0; i < 100; i++) {
				rows[i] = row(live[i], (uint64_t)live[i] * 10, 0, MS);
				rows[i].cgroup = cgroups[live[i]];
				rows[i].exited = it == 9 && i < 20;
			}
			struct procacct_interval iv = interval(rows, 100, 0, 100 * MS, NULL);
			struct ledger_sample s = sample(100000 + it, -1);
			ck_assert_int_eq(ledger_add(l, &iv, &s), 0);
		}
		struct ledger_period per;
		ck_assert_int_eq(ledger_close_period(l, 10, &per), 0);
		check_conservation(&per);
		attributed += per.pkg[0].e[LEDGER_PACKAGE].attributed_uj;
		ledger_period_free(&per);
		ck_assert_uint_le(life_entries(l), 100);
		/* the exited leave; newcomers take their place, sorted after the rest */
		memmove(live, live + 20, 80 * sizeof *live);
		for (int i = 80; i < 100; i++)
			live[i] = next++;
		if (per_i == CHURN_PERIODS / 2)
			heap_mid = mallinfo2().uordblks;
	}
	ck_assert_uint_le(mallinfo2().uordblks, heap_mid);
	struct ledger_life life;
	ck_assert_int_eq(ledger_life(l, SIZE_MAX, &life), 0);
	ck_assert_uint_le(life.ncgroups, LEDGER_MAX_CGROUPS + 1);
	ck_assert_str_eq(life.cgroups[life.ncgroups - 1].cgroup, "other");
	ck_assert_int_gt(life.cgroups[life.ncgroups - 1].energy_uj[LEDGER_PACKAGE], 0);
	int64_t sum = 0;
	for (size_t i = 0; i < life.ncgroups; i++)
		sum += life.cgroups[i].energy_uj[LEDGER_PACKAGE];
	ck_assert_int_eq(sum, attributed);
	ck_assert_int_eq(life.pkg[0].e[LEDGER_PACKAGE].attributed_uj, attributed);
	ledger_life_free(&life);
	ledger_free(l);
}
END_TEST

static Suite *suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("ledger", &tc);
	tcase_add_test(tc, conserves_exactly_over_random_intervals);
	tcase_add_test(tc, shares_are_exact_within_one_and_ties_go_low);
	tcase_add_test(tc, idle_is_capped_and_rounded);
	tcase_add_test(tc, nobody_ran_or_dropped_time_stays_unattributed);
	tcase_add_test(tc, a_failed_reading_adds_no_energy_but_counts_time);
	tcase_add_test(tc, top_n_and_other_sum_and_sort);
	tcase_add_test(tc, pid_reuse_makes_two_processes);
	tcase_add_test(tc, exited_stay_until_the_period_closes);
	tcase_add_test(tc, refuses_unsorted_or_foreign_rows_unchanged);
	tcase_add_test(tc, overflow_goes_to_other);
	tcase_add_test(tc, lifetime_memory_is_flat_under_churn);
	return s;
}

TESTUTIL_MAIN(suite)
