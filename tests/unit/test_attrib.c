/* Attribution: roles from the process tree, shares by on-CPU time, exact conservation. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "attrib.h"
#include "oncpu.h"
#include "testutil.h"

/* a thread's time on the package, all of it on the measurement CPUs ... */
#define E(p, t, pp, c, ns) { .pid = p, .tgid = t, .ppid = pp, .comm = c, .oncpu_ns = ns, \
			     .measurement_ns = ns }
/* ... or only m of it */
#define EM(p, t, pp, c, ns, m) { .pid = p, .tgid = t, .ppid = pp, .comm = c, .oncpu_ns = ns, \
				 .measurement_ns = m }

static int64_t sum_energy(const struct attrib_window *w)
{
	int64_t s = 0;
	for (size_t i = 0; i < w->n; i++)
		s += w->procs[i].energy_uj;
	return s;
}

static const struct attrib_proc *find(const struct attrib_window *w, int pid)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->procs[i].pid == pid)
			return &w->procs[i];
	return NULL;
}

START_TEST(roles_and_shares)
{
	struct oncpu_entry e[] = {
		E(0, 0, 0, "swapper/1", 500000000),     /* idle: never a process */
		E(100, 100, 50, "python3", 400000000),  /* the harness = candidate root */
		E(104, 100, 50, "python3", 100000000),  /* a thread of it */
		E(101, 101, 100, "python3", 200000000), /* a child */
		E(103, 103, 101, "sh", 100000000),      /* a grandchild */
		E(300, 300, 1, "jouletrace-work", 50000000),
		E(200, 200, 1, "stress", 150000000),    /* foreign */
	};
	struct oncpu_snapshot d = { .e = e, .n = sizeof e / sizeof *e };
	struct attrib_params p = { .candidate_root = 100, .service_tgid = 300,
				   .dynamic_uj = 1000003, .idle_uj = 42, .foreign_max_percent = 20 };
	struct attrib_window w;

	ck_assert_int_eq(attrib_split(&d, &p, &w), 0);
	ck_assert_uint_eq(w.n, 5); /* threads grouped, idle dropped */
	ck_assert_int_eq(find(&w, 100)->role, ATTRIB_CANDIDATE);
	ck_assert_uint_eq(find(&w, 100)->cpu_ns, 500000000);
	ck_assert_int_eq(find(&w, 101)->role, ATTRIB_CANDIDATE);
	ck_assert_int_eq(find(&w, 103)->role, ATTRIB_CANDIDATE);
	ck_assert_int_eq(find(&w, 300)->role, ATTRIB_HARNESS);
	ck_assert_int_eq(find(&w, 200)->role, ATTRIB_FOREIGN);
	ck_assert_uint_eq(w.busy_ns, 1000000000);
	ck_assert_int_eq(w.unattributed_uj, 0);
	ck_assert_int_eq(sum_energy(&w), 1000003);          /* conservation, exactly */
	ck_assert_int_eq(w.idle_uj, 42);
	/* each share within 1 µJ of its exact proportion */
	ck_assert(llabs(find(&w, 100)->energy_uj - 500001) <= 1);
	ck_assert(llabs(find(&w, 200)->energy_uj - 150000) <= 1);
	ck_assert_double_eq_tol(w.foreign_percent, 15.0, 1e-9);
	ck_assert(!w.contaminated);
	/* sorted: candidates first, busiest first */
	ck_assert_int_eq(w.procs[0].pid, 100);
	ck_assert_int_eq(w.procs[w.n - 1].role, ATTRIB_FOREIGN);
	attrib_window_free(&w);

	p.foreign_max_percent = 10;
	ck_assert_int_eq(attrib_split(&d, &p, &w), 0);
	ck_assert(w.contaminated);
	attrib_window_free(&w);

	/* judged against the CPU's capacity in the window, foreign 150 ms of 2 s is 7.5 % */
	p.capacity_ns = 2000000000;
	ck_assert_int_eq(attrib_split(&d, &p, &w), 0);
	ck_assert_double_eq_tol(w.foreign_percent, 7.5, 1e-9);
	ck_assert(!w.contaminated);
	ck_assert_int_eq(sum_energy(&w), 1000003); /* shares still by busy time */
	attrib_window_free(&w);
	p.capacity_ns = 0;

	/* negative net energy (below the baseline) is split too, never clamped */
	p.dynamic_uj = -777;
	ck_assert_int_eq(attrib_split(&d, &p, &w), 0);
	ck_assert_int_eq(sum_energy(&w) + w.unattributed_uj, -777);
	ck_assert_int_le(find(&w, 100)->energy_uj, 0);
	attrib_window_free(&w);
}
END_TEST

START_TEST(neighbour_on_the_package_is_accounted_not_contamination)
{
	/* 1 s window on a 2-CPU package, CPU 1 measured: the candidate had CPU 1,
	 * a neighbour kept CPU 0 busy, and a kworker took 10 ms of CPU 1. */
	struct oncpu_entry e[] = {
		EM(100, 100, 50, "python3", 980000000, 980000000),
		EM(200, 200, 1, "stress", 1000000000, 0),
		EM(7, 7, 2, "kworker/1:1", 10000000, 10000000),
	};
	struct oncpu_snapshot d = { .e = e, .n = sizeof e / sizeof *e };
	struct attrib_params p = { .candidate_root = 100, .service_tgid = 300,
				   .dynamic_uj = 2000000, .foreign_max_percent = 5,
				   .capacity_ns = 1000000000 };
	struct attrib_window w;

	ck_assert_int_eq(attrib_split(&d, &p, &w), 0);
	/* split over all the package's busy time: the candidate gets 49.25 % */
	ck_assert_uint_eq(w.busy_ns, 1990000000);
	ck_assert(llabs(find(&w, 100)->energy_uj - 984925) <= 1);
	ck_assert(llabs(find(&w, 200)->energy_uj - 1005025) <= 1);
	ck_assert_int_eq(sum_energy(&w) + w.unattributed_uj, 2000000);
	ck_assert_uint_eq(w.role_ns[ATTRIB_FOREIGN], 1010000000);
	/* contamination counts the measurement CPU only: the kworker's 1 % */
	ck_assert_uint_eq(w.foreign_measurement_ns, 10000000);
	ck_assert_double_eq_tol(w.foreign_percent, 1.0, 1e-9);
	ck_assert(!w.contaminated);
	ck_assert_uint_eq(find(&w, 200)->measurement_ns, 0);

	/* summing windows keeps both */
	struct attrib_window t = { 0 };
	ck_assert_int_eq(attrib_add(&t, &w), 0);
	ck_assert_int_eq(attrib_add(&t, &w), 0);
	ck_assert_uint_eq(t.foreign_measurement_ns, 20000000);
	ck_assert_double_eq_tol(t.foreign_percent, 1.0, 1e-9);
	ck_assert_uint_eq(find(&t, 100)->measurement_ns, 1960000000);
	attrib_window_free(&t);
	attrib_window_free(&w);

	/* the same neighbour on the measurement CPU is contamination */
	e[1].measurement_ns = 100000000;
	ck_assert_int_eq(attrib_split(&d, &p, &w), 0);
	ck_assert_double_eq_tol(w.foreign_percent, 11.0, 1e-9);
	ck_assert(w.contaminated);
	attrib_window_free(&w);
}
END_TEST

/* The background that ran while idle was calibrated is idle's: its time is
 * taken off the non-candidate time, so it is not subtracted twice. */
START_TEST(calibrated_background_is_not_split_again)
{
	struct oncpu_entry e[] = {
		EM(100, 100, 50, "python3", 1000000000, 1000000000),
		EM(200, 200, 1, "stress", 1000000000, 0),
		EM(300, 300, 1, "redis-server", 100000000, 0),
	};
	struct oncpu_snapshot d = { .e = e, .n = 3 };
	struct attrib_params p = { .candidate_root = 100, .dynamic_uj = 1700000,
				   .baseline_ns = 100000000, .foreign_max_percent = 5 };
	struct attrib_window w;

	/* non-candidate 1.1 s less 0.1 s: the candidate has half of 2 s */
	ck_assert_int_eq(attrib_split(&d, &p, &w), 0);
	ck_assert_uint_eq(w.busy_ns, 2100000000);
	ck_assert_uint_eq(w.baseline_ns, 100000000);
	ck_assert_uint_eq(w.split_ns, 2000000000);
	ck_assert_int_eq(find(&w, 100)->energy_uj, 850000);
	ck_assert_int_eq(sum_energy(&w) + w.unattributed_uj, 1700000);
	ck_assert_uint_eq(find(&w, 300)->cpu_ns, 100000000);   /* its time is still shown */
	attrib_window_free(&w);

	/* only the background: the candidate has all of it */
	e[1] = e[2];
	d.n = 2;
	ck_assert_int_eq(attrib_split(&d, &p, &w), 0);
	ck_assert_int_eq(find(&w, 100)->energy_uj, 1700000);
	ck_assert_int_eq(find(&w, 300)->energy_uj, 0);
	ck_assert_int_eq(w.unattributed_uj, 0);
	attrib_window_free(&w);

	/* a baseline beyond the non-candidate time never eats the candidate's */
	p.baseline_ns = 5000000000;
	ck_assert_int_eq(attrib_split(&d, &p, &w), 0);
	ck_assert_uint_eq(w.baseline_ns, 100000000);
	ck_assert_int_eq(find(&w, 100)->energy_uj, 1700000);
	attrib_window_free(&w);

	/* the /proc source: the rest of the package's busy time is untracked,
	 * and the baseline comes off it too */
	d.n = 1;
	p.baseline_ns = 100000000;
	p.busy_ns = 2100000000;
	ck_assert_int_eq(attrib_split(&d, &p, &w), 0);
	ck_assert_int_eq(find(&w, 100)->energy_uj, 850000);
	ck_assert_int_eq(w.unattributed_uj, 850000);
	attrib_window_free(&w);
}
END_TEST

START_TEST(untracked_and_empty)
{
	struct oncpu_entry e[] = { E(10, 10, 1, "python3", 300000000) };
	struct oncpu_snapshot d = { .e = e, .n = 1 };
	struct attrib_params p = { .candidate_root = 10, .dynamic_uj = 999, .busy_ns = 400000000,
				   .foreign_max_percent = 5 };
	struct attrib_window w;

	/* the /proc source saw 300 ms of 400 ms busy: a quarter stays unattributed */
	ck_assert_int_eq(attrib_split(&d, &p, &w), 0);
	ck_assert_int_eq(w.procs[0].energy_uj, 749);
	ck_assert_int_eq(w.unattributed_uj, 250);
	attrib_window_free(&w);

	d.n = 0;
	p.busy_ns = 0;
	ck_assert_int_eq(attrib_split(&d, &p, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_int_eq(w.unattributed_uj, 999);
	attrib_window_free(&w);
}
END_TEST

START_TEST(random_windows_conserve)
{
	srand(12345);
	struct attrib_window total = { 0 };
	int64_t dyn = 0, unat = 0;
	for (int round = 0; round < 2000; round++) {
		size_t n = 1 + (size_t)(rand() % 40);
		struct oncpu_entry *e = calloc(n, sizeof *e);
		for (size_t i = 0; i < n; i++) {
			e[i].pid = e[i].tgid = (int32_t)(1000 + rand() % 60);
			e[i].ppid = i ? 1000 + rand() % 60 : 1;
			strcpy(e[i].comm, "x");
			e[i].oncpu_ns = (uint64_t)(rand() % 1000) * 1000003ull;
		}
		struct oncpu_snapshot d = { .e = e, .n = n };
		struct attrib_params p = {
			.candidate_root = e[0].tgid,
			.dynamic_uj = (int64_t)rand() * (rand() % 2 ? 1 : -1),
			.busy_ns = rand() % 3 ? 0 : (uint64_t)rand() * 1000,
			.foreign_max_percent = 50,
		};
		struct attrib_window w;
		ck_assert_int_eq(attrib_split(&d, &p, &w), 0);
		ck_assert_int_eq(sum_energy(&w) + w.unattributed_uj, p.dynamic_uj);
		for (size_t i = 0; i < w.n && w.busy_ns; i++) {
			double exact = (double)p.dynamic_uj * (double)w.procs[i].cpu_ns / (double)w.busy_ns;
			ck_assert_msg(llabs(w.procs[i].energy_uj - (int64_t)exact) <= 1,
				      "round %d: %lld vs %.1f", round, (long long)w.procs[i].energy_uj, exact);
		}
		ck_assert_int_eq(attrib_add(&total, &w), 0);
		dyn += p.dynamic_uj;
		unat += w.unattributed_uj;
		attrib_window_free(&w);
		free(e);
	}
	ck_assert_int_eq(total.dynamic_uj, dyn);
	ck_assert_int_eq(sum_energy(&total) + total.unattributed_uj, dyn);
	ck_assert_int_eq(total.unattributed_uj, unat);

	/* folding rows in the JSON keeps the sums */
	json_t *j = attrib_seal_json(&total, "bpf", 3);
	json_t *rows = json_object_get(j, "processes"), *r;
	size_t i;
	int64_t s = 0;
	json_array_foreach(rows, i, r)
		s += json_integer_value(json_object_get(r, "energy_uj"));
	ck_assert_uint_le(json_array_size(rows), 3 + 3);
	ck_assert_int_eq(s + json_integer_value(json_object_get(j, "unattributed_uj")),
			 json_integer_value(json_object_get(j, "dynamic_uj")));
	json_decref(j);
	attrib_window_free(&total);
}
END_TEST

static Suite *attrib_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("attrib", &tc);
	tcase_add_test(tc, roles_and_shares);
	tcase_add_test(tc, neighbour_on_the_package_is_accounted_not_contamination);
	tcase_add_test(tc, calibrated_background_is_not_split_again);
	tcase_add_test(tc, untracked_and_empty);
	tcase_add_test(tc, random_windows_conserve);
	return s;
}

TESTUTIL_MAIN(attrib_suite)
