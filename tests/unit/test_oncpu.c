/*
 * test_oncpu.c — on-CPU attribution against the kernel's own accounting.
 *
 * Real BPF, as root, on the highest online CPU (the default measurement CPU).
 * Children burn CPU time pinned there; what the module reports is compared
 * with what wait4() says they used (the kernel's sum_exec_runtime).  A BPF
 * load failure fails every BPF test unless JT_ALLOW_NO_BPF=1.
 */
#include "oncpu.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpuset.h"
#include "procstat.h"
#include "testutil.h"
#include "util.h"

#define MS 1000000ULL

static int measured_cpu(void)
{
	struct cpuset on;
	ck_assert_int_eq(cpuset_online(NULL, &on), 0);
	return cpuset_last(&on);
}

/* Another online CPU, or -1 on a one-CPU machine. */
static int other_cpu(void)
{
	struct cpuset on;
	ck_assert_int_eq(cpuset_online(NULL, &on), 0);
	int m = cpuset_last(&on), c = cpuset_first(&on);
	return c == m ? -1 : c;
}

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	ck_assert_int_eq(sched_setaffinity(0, sizeof s, &s), 0);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Spins until this thread has used ns of CPU time, however long that takes. */
static void burn(uint64_t ns)
{
	uint64_t t0 = thread_cpu_ns();
	while (thread_cpu_ns() - t0 < ns)
		;
}

static pid_t spawn_burner(uint64_t ns)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		burn(ns);
		_exit(0);
	}
	return pid;
}

/* Reaps pid; returns its CPU time (self + reaped descendants) in ns. */
static uint64_t reap(pid_t pid)
{
	struct rusage ru;
	int st;
	ck_assert_int_eq(wait4(pid, &st, 0, &ru), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d failed: %#x", (int)pid, st);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
}

static struct cpuset one_cpu(int cpu)
{
	struct cpuset s;
	cpuset_zero(&s);
	cpuset_set(&s, cpu);
	return s;
}

/* The bpf source watching cpus, with measurement (NULL = all of them), or NULL
 * when JT_ALLOW_NO_BPF=1 lets the test pass without it. */
static struct oncpu *open_bpf_set(const struct cpuset *cpus, const struct cpuset *measurement)
{
	char why[256];
	struct oncpu *o = oncpu_open(cpus, measurement, true, why, sizeof why);
	ck_assert_msg(o, "oncpu_open: %s (%s)", strerror(errno), why);
	if (oncpu_source(o) == ONCPU_BPF)
		return o;
	const char *allow = getenv("JT_ALLOW_NO_BPF");
	ck_assert_msg(allow && strcmp(allow, "1") == 0,
		      "BPF source unavailable: %s (set JT_ALLOW_NO_BPF=1 to accept)", why);
	fprintf(stderr, "test_oncpu: no BPF (%s); test passes vacuously\n", why);
	oncpu_close(o);
	return NULL;
}

/* The bpf source on cpu alone. */
static struct oncpu *open_bpf(int cpu)
{
	struct cpuset s = one_cpu(cpu);
	return open_bpf_set(&s, NULL);
}

/* |got − want| ≤ max(pct % of want, floor) */
static void assert_close(const char *what, uint64_t got, uint64_t want, double pct, uint64_t floor)
{
	double tol = (double)want * pct / 100.0;
	if (tol < (double)floor)
		tol = (double)floor;
	double d = (double)got - (double)want;
	ck_assert_msg(d <= tol && -d <= tol, "%s: got %.3f ms, want %.3f ms ± %.3f", what,
		      (double)got / 1e6, (double)want / 1e6, tol / 1e6);
}

START_TEST(test_source_bpf)
{
	char why[256] = "unset";
	struct oncpu *o = oncpu_open(NULL, NULL, true, why, sizeof why);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(oncpu_source_name(ONCPU_PROC), "proc");
	ck_assert_str_eq(oncpu_source_name(ONCPU_BPF), "bpf");
	if (oncpu_source(o) != ONCPU_BPF) {
		const char *allow = getenv("JT_ALLOW_NO_BPF");
		ck_assert_msg(allow && strcmp(allow, "1") == 0, "source is %s: %s",
			      oncpu_source_name(oncpu_source(o)), why);
	} else {
		ck_assert_str_eq(why, "");
		ck_assert_int_eq(oncpu_track(o, getpid()), 0);   /* a no-op with bpf */
	}
	oncpu_close(o);
}
END_TEST

START_TEST(test_busy_child)
{
	int cpu = measured_cpu();
	struct oncpu *o = open_bpf(cpu);
	if (!o)
		return;
	struct oncpu_snapshot a, b, d;
	pin(cpu);   /* the child inherits it: all its time is on the measured CPU */
	ck_assert_int_eq(oncpu_snapshot(o, &a), 0);
	pid_t pid = spawn_burner(200 * MS);
	uint64_t used = reap(pid);
	ck_assert_int_eq(oncpu_snapshot(o, &b), 0);
	ck_assert_int_eq(oncpu_diff(&a, &b, &d), 0);

	const struct oncpu_entry *e = oncpu_find(&d, pid);
	ck_assert_msg(e, "child %d missing from the diff (%zu entries)", (int)pid, d.n);
	assert_close("busy child", e->oncpu_ns, used, 10, 0);
	ck_assert_int_eq(e->tgid, pid);
	ck_assert_int_eq(e->ppid, getpid());
	ck_assert_str_eq(e->comm, "test_oncpu");
	ck_assert_uint_eq(d.dropped, 0);
	/* Sorted by pid, no duplicates. */
	for (size_t i = 1; i < d.n; i++)
		ck_assert_int_lt(d.e[i - 1].pid, d.e[i].pid);
	oncpu_snapshot_free(&a);
	oncpu_snapshot_free(&b);
	oncpu_snapshot_free(&d);
	oncpu_close(o);
}
END_TEST

/* The trial-edge case: a slice still running when the snapshot is taken counts. */
START_TEST(test_running_slice)
{
	int cpu = measured_cpu();
	struct oncpu *o = open_bpf(cpu);
	if (!o)
		return;
	struct oncpu_snapshot a, b, d;
	int go[2];
	ck_assert_int_eq(pipe(go), 0);
	pin(cpu);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		for (;;)
			;
	}
	/* Real-time, so the other work on this box cannot preempt it: one slice for the window. */
	struct sched_param sp = { .sched_priority = 1 };
	ck_assert_int_eq(sched_setscheduler(pid, SCHED_FIFO, &sp), 0);
	/* Off the CPU first: the spinner would not let us run there. */
	int other = other_cpu();
	if (other >= 0)
		pin(other);
	ck_assert_int_eq(oncpu_snapshot(o, &a), 0);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	usleep(150 * 1000);
	ck_assert_int_eq(oncpu_snapshot(o, &b), 0);
	/* The CPU-time clock brings the running slice up to date; schedstat lags a tick. */
	clockid_t clk;
	struct timespec ts;
	ck_assert_int_eq(clock_getcpuclockid(pid, &clk), 0);
	ck_assert_int_eq(clock_gettime(clk, &ts), 0);
	uint64_t used = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(oncpu_diff(&a, &b, &d), 0);
	const struct oncpu_entry *e = oncpu_find(&d, pid);
	ck_assert_msg(e, "spinning child missing");
	/* The clock was read a moment after b: the spinner ran on in between. */
	assert_close("running slice", e->oncpu_ns, used, 10, 0);
	oncpu_snapshot_free(&a);
	oncpu_snapshot_free(&b);
	oncpu_snapshot_free(&d);
	close(go[0]);
	close(go[1]);
	oncpu_close(o);
}
END_TEST

struct rec {
	pid_t pid;
	uint64_t ns;
};

START_TEST(test_short_lived_grandchildren)
{
	int cpu = measured_cpu();
	struct oncpu *o = open_bpf(cpu);
	if (!o)
		return;
	struct oncpu_snapshot a, b, d;
	int rp[2];
	ck_assert_int_eq(pipe(rp), 0);
	pin(cpu);
	ck_assert_int_eq(oncpu_snapshot(o, &a), 0);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		/* One at a time, so each grandchild's whole life is about one slice that
		 * ends in exit: only the dead-task switch-out can book it. */
		for (int i = 0; i < 4; i++) {
			struct rec r;
			struct rusage ru;
			r.pid = spawn_burner(50 * MS);
			if (wait4(r.pid, NULL, 0, &ru) != r.pid)
				_exit(2);
			r.ns = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
			       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
			if (write(rp[1], &r, sizeof r) != (ssize_t)sizeof r)
				_exit(3);
		}
		burn(20 * MS);
		_exit(0);
	}
	struct rec gc[4];
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(read(rp[0], &gc[i], sizeof gc[i]), (ssize_t)sizeof gc[i]);
	uint64_t child_total = reap(child);
	ck_assert_int_eq(oncpu_snapshot(o, &b), 0);
	ck_assert_int_eq(oncpu_diff(&a, &b, &d), 0);

	uint64_t gc_sum = 0;
	for (int i = 0; i < 4; i++) {
		const struct oncpu_entry *e = oncpu_find(&d, gc[i].pid);
		ck_assert_msg(e, "grandchild %d missing", (int)gc[i].pid);
		assert_close("grandchild", e->oncpu_ns, gc[i].ns, 10, 0);
		ck_assert_uint_ge(gc[i].ns, 45 * MS);
		ck_assert_int_eq(e->tgid, gc[i].pid);
		ck_assert_int_eq(e->ppid, child);
		gc_sum += gc[i].ns;
	}
	const struct oncpu_entry *e = oncpu_find(&d, child);
	ck_assert_msg(e, "child missing");
	ck_assert_int_eq(e->ppid, getpid());
	/* wait4 counts reaped grandchildren in the child's figure. */
	assert_close("child", e->oncpu_ns, child_total - gc_sum, 10, 3 * MS);
	oncpu_snapshot_free(&a);
	oncpu_snapshot_free(&b);
	oncpu_snapshot_free(&d);
	close(rp[0]);
	close(rp[1]);
	oncpu_close(o);
}
END_TEST

START_TEST(test_other_cpu_not_seen)
{
	int cpu = measured_cpu(), other = other_cpu();
	if (other < 0) {
		fprintf(stderr, "test_oncpu: one CPU only, nothing to keep apart\n");
		return;
	}
	struct oncpu *o = open_bpf(cpu);
	if (!o)
		return;
	struct oncpu_snapshot a, b, d;
	ck_assert_int_eq(oncpu_snapshot(o, &a), 0);
	pin(other);   /* inherited from the start: the child never touches cpu */
	pid_t off = spawn_burner(100 * MS);
	pin(cpu);
	pid_t on = spawn_burner(30 * MS);   /* the positive control */
	reap(off);
	reap(on);
	ck_assert_int_eq(oncpu_snapshot(o, &b), 0);
	ck_assert_int_eq(oncpu_diff(&a, &b, &d), 0);
	ck_assert_ptr_null(oncpu_find(&d, off));
	ck_assert_ptr_nonnull(oncpu_find(&d, on));
	oncpu_snapshot_free(&a);
	oncpu_snapshot_free(&b);
	oncpu_snapshot_free(&d);
	oncpu_close(o);
}
END_TEST

/*
 * The whole package watched, one CPU of it measured (issue 8): a burner on
 * the other CPU is seen with none of its time on the measurement CPU, one on
 * the measurement CPU with all of it.
 */
START_TEST(test_package_watched_measurement_apart)
{
	int cpu = measured_cpu(), other = other_cpu();
	if (other < 0) {
		fprintf(stderr, "test_oncpu: one CPU only, no package to watch beside it\n");
		return;
	}
	struct cpuset both = one_cpu(cpu), meas = one_cpu(cpu);
	cpuset_set(&both, other);
	struct oncpu *o = open_bpf_set(&both, &meas);
	if (!o)
		return;
	struct oncpu_snapshot a, b, d;
	ck_assert_int_eq(oncpu_snapshot(o, &a), 0);
	pin(other);
	pid_t off = spawn_burner(100 * MS);
	pin(cpu);
	pid_t on = spawn_burner(60 * MS);
	uint64_t used_off = reap(off), used_on = reap(on);
	ck_assert_int_eq(oncpu_snapshot(o, &b), 0);
	ck_assert_int_eq(oncpu_diff(&a, &b, &d), 0);
	const struct oncpu_entry *eo = oncpu_find(&d, off), *en = oncpu_find(&d, on);
	ck_assert_ptr_nonnull(eo);
	ck_assert_ptr_nonnull(en);
	assert_close("burner beside", eo->oncpu_ns, used_off, 10, 0);
	ck_assert_uint_eq(eo->measurement_ns, 0);
	assert_close("burner measured", en->oncpu_ns, used_on, 10, 0);
	ck_assert_uint_eq(en->measurement_ns, en->oncpu_ns);
	for (size_t i = 0; i < d.n; i++)
		ck_assert_uint_le(d.e[i].measurement_ns, d.e[i].oncpu_ns);
	oncpu_snapshot_free(&a);
	oncpu_snapshot_free(&b);
	oncpu_snapshot_free(&d);
	oncpu_close(o);

	/* a measurement set outside the watched one is refused */
	char why[256];
	struct cpuset lone = one_cpu(other);
	ck_assert_ptr_null(oncpu_open(&meas, &lone, true, why, sizeof why));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/*
 * Every ns of the window is idle or some thread's: the sum matches the wall
 * time.  Idle agrees with the kernel's own idle time for the CPU (/proc/stat,
 * 10 ms units); other work on this box may keep the CPU busy for a while, so
 * windows are tried until one has real idle time in it.
 */
START_TEST(test_idle_and_conservation)
{
	int cpu = measured_cpu(), other = other_cpu();
	struct oncpu *o = open_bpf(cpu);
	if (!o)
		return;
	if (other >= 0)
		pin(other);
	struct cpuset set = one_cpu(cpu);
	struct procstat *ps = procstat_open(NULL);
	ck_assert_ptr_nonnull(ps);
	double ns_per_jiffy = 1e9 / (double)procstat_hz();
	uint64_t best_idle = 0;
	int agreed = 0;
	for (int tries = 0; tries < 10 && (agreed == 0 || best_idle < 50 * MS); tries++) {
		struct oncpu_snapshot a, b, d;
		struct procstat_sample p0, p1;
		ck_assert_int_eq(procstat_read(ps, &set, &p0), 0);
		ck_assert_int_eq(oncpu_snapshot(o, &a), 0);
		usleep(300 * 1000);
		ck_assert_int_eq(oncpu_snapshot(o, &b), 0);
		ck_assert_int_eq(procstat_read(ps, &set, &p1), 0);
		ck_assert_int_eq(oncpu_diff(&a, &b, &d), 0);
		uint64_t sum = d.idle_ns, foreign = 0;
		char who[256] = "";
		for (size_t i = 0; i < d.n; i++) {
			sum += d.e[i].oncpu_ns;
			if (d.e[i].tgid == getpid() || d.e[i].oncpu_ns <= 10 * MS)
				continue;
			foreign += d.e[i].oncpu_ns;
			size_t used = strlen(who);
			snprintf(who + used, sizeof who - used, " %s/%d %.1f ms", d.e[i].comm,
				 (int)d.e[i].pid, (double)d.e[i].oncpu_ns / 1e6);
		}
		assert_close("idle + tasks vs window", sum, d.taken_ns, 3, 0);
		ck_assert_uint_ge(d.taken_ns, 300 * MS);
		uint64_t kidle = (uint64_t)((double)((p1.total - p1.busy) - (p0.total - p0.busy)) *
					    ns_per_jiffy);
		/* Two jiffies of rounding at each end, plus the procstat reads around the window. */
		double diff = fabs((double)d.idle_ns - (double)kidle);
		if (diff > 0.10 * (double)kidle && diff > 25.0 * MS) {
			/*
			 * /proc/stat samples the CPU at ticks: a thread that runs between
			 * them is idle to it.  Seen in CI: a VM agent's tokio-rt-worker,
			 * 220 ms of a 300 ms window that /proc/stat counted idle.  Such a
			 * window says nothing of our accounting; without a foreign thread
			 * to explain it, the disagreement is ours.
			 */
			ck_assert_msg(foreign > 10 * MS, "idle vs /proc/stat: got %.3f ms, want %.3f ms, "
				      "and no foreign thread to explain it", (double)d.idle_ns / 1e6,
				      (double)kidle / 1e6);
			fprintf(stderr, "test_oncpu: window skipped: idle %.1f ms, /proc/stat %.1f ms;"
				" foreign:%s\n", (double)d.idle_ns / 1e6, (double)kidle / 1e6, who);
		} else {
			agreed++;
			if (kidle > best_idle)
				best_idle = kidle;
		}
		oncpu_snapshot_free(&a);
		oncpu_snapshot_free(&b);
		oncpu_snapshot_free(&d);
	}
	ck_assert_msg(agreed > 0, "no window's idle agreed with /proc/stat");
	if (best_idle < 50 * MS)
		fprintf(stderr, "test_oncpu: cpu %d was never idle; idle growth seen only as 0 = 0\n", cpu);
	procstat_close(ps);
	oncpu_close(o);
}
END_TEST

static void *nop_thread(void *arg)
{
	return arg;
}

/* Many short threads on the CPU: the map fills, drops are counted, gc frees it, snapshots stay cheap. */
START_TEST(test_full_map_gc_and_cost)
{
	int cpu = measured_cpu();
	struct oncpu *o = open_bpf(cpu);
	if (!o)
		return;
	pin(cpu);
	pthread_attr_t at;
	ck_assert_int_eq(pthread_attr_init(&at), 0);
	ck_assert_int_eq(pthread_attr_setstacksize(&at, 64 * 1024), 0);
	enum { BATCH = 200, TOTAL = ONCPU_MAX_ENTRIES + 1000 };
	for (int done = 0; done < TOTAL; done += BATCH) {
		pthread_t t[BATCH];
		for (int i = 0; i < BATCH; i++)
			ck_assert_int_eq(pthread_create(&t[i], &at, nop_thread, NULL), 0);
		for (int i = 0; i < BATCH; i++)
			ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	}
	pthread_attr_destroy(&at);

	struct oncpu_snapshot s;
	uint64_t worst = 0;
	for (int i = 0; i < 5; i++) {
		uint64_t t0 = util_mono_ns();
		ck_assert_int_eq(oncpu_snapshot(o, &s), 0);
		uint64_t dt = util_mono_ns() - t0;
		if (dt > worst)
			worst = dt;
		ck_assert_uint_ge(s.n, ONCPU_MAX_ENTRIES - 10);
		ck_assert_uint_gt(s.dropped, 0);
		oncpu_snapshot_free(&s);
	}
	fprintf(stderr, "test_oncpu: snapshot of a full map (%d threads): worst %.2f ms\n",
		ONCPU_MAX_ENTRIES, (double)worst / 1e6);
	/* The cost is a figure (docs/PERFORMANCE.md), not an assertion: a
	 * sanitizer build beside a busy CPU 0 took 53 ms once. */

	int gone = oncpu_gc(o);
	ck_assert_int_ge(gone, ONCPU_MAX_ENTRIES - 500);
	struct oncpu_snapshot a, b, d;
	ck_assert_int_eq(oncpu_snapshot(o, &a), 0);
	ck_assert_uint_lt(a.n, 500);
	pid_t pid = spawn_burner(20 * MS);   /* there is room again */
	reap(pid);
	ck_assert_int_eq(oncpu_snapshot(o, &b), 0);
	ck_assert_int_eq(oncpu_diff(&a, &b, &d), 0);
	ck_assert_ptr_nonnull(oncpu_find(&d, pid));
	ck_assert_uint_eq(d.dropped, 0);
	oncpu_snapshot_free(&a);
	oncpu_snapshot_free(&b);
	oncpu_snapshot_free(&d);
	oncpu_close(o);
}
END_TEST

/* CPU time of the calling process so far (its threads; not its children). */
static uint64_t self_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* In a forked member of the tree: report {pid, cpu time}, then wait for the release. */
static void report_and_hold(int rep_fd, int rel_rd, int rel_wr)
{
	struct rec r = { .pid = getpid(), .ns = self_cpu_ns() };
	char c;
	if (write(rep_fd, &r, sizeof r) != (ssize_t)sizeof r)
		_exit(3);
	close(rel_wr);
	while (read(rel_rd, &c, 1) > 0)   /* EOF once the test closes its end */
		;
}

/*
 * The /proc source: a tree (child + 4 grandchildren, all alive at the second
 * snapshot, as it cannot see the dead) is accounted; nothing else is.  Each
 * member reports its own CPU time just before the snapshot: wait4() would
 * also count its exit, which comes after.
 */
START_TEST(test_proc_fallback)
{
	int cpu = measured_cpu();
	char why[256];
	struct cpuset set = one_cpu(cpu);
	struct oncpu *o = oncpu_open(&set, NULL, false, why, sizeof why);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(oncpu_source(o), ONCPU_PROC);
	ck_assert_msg(strstr(why, "disabled"), "why: %s", why);
	ck_assert_int_eq(oncpu_track(o, 999999999), -ESRCH);

	int go[2], rep[2], rel[2];
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(rep), 0);
	ck_assert_int_eq(pipe(rel), 0);
	pin(cpu);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		for (int i = 0; i < 4; i++) {
			pid_t g = fork();
			if (g < 0)
				_exit(2);
			if (g == 0) {
				burn(50 * MS);
				report_and_hold(rep[1], rel[0], rel[1]);
				_exit(0);
			}
		}
		burn(20 * MS);
		report_and_hold(rep[1], rel[0], rel[1]);
		while (wait(NULL) > 0)
			;
		_exit(0);
	}
	ck_assert_int_eq(oncpu_track(o, child), 0);
	struct oncpu_snapshot a, b, d;
	ck_assert_int_eq(oncpu_snapshot(o, &a), 0);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_int_eq(a.e[0].pid, child);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	struct rec r[5];
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(read(rep[0], &r[i], sizeof r[i]), (ssize_t)sizeof r[i]);
	pid_t stranger = spawn_burner(30 * MS);   /* not in the tree */
	reap(stranger);
	ck_assert_int_eq(oncpu_snapshot(o, &b), 0);
	close(rel[1]);
	reap(child);
	ck_assert_int_eq(oncpu_diff(&a, &b, &d), 0);

	ck_assert_uint_eq(d.n, 5);
	ck_assert_ptr_null(oncpu_find(&d, stranger));
	ck_assert_ptr_null(oncpu_find(&d, getpid()));
	for (int i = 0; i < 5; i++) {
		const struct oncpu_entry *e = oncpu_find(&d, r[i].pid);
		ck_assert_msg(e, "tree member %d missing", (int)r[i].pid);
		ck_assert_int_eq(e->tgid, r[i].pid);
		ck_assert_str_eq(e->comm, "test_oncpu");
		/* no CPU is told apart: the tracked tree is the measured one */
		ck_assert_uint_eq(e->measurement_ns, e->oncpu_ns);
		if (r[i].pid == child) {
			ck_assert_int_eq(e->ppid, getpid());
			assert_close("proc child", e->oncpu_ns, r[i].ns, 10, 3 * MS);
		} else {
			ck_assert_int_eq(e->ppid, child);
			assert_close("proc grandchild", e->oncpu_ns, r[i].ns, 10, 0);
			ck_assert_uint_ge(r[i].ns, 50 * MS);
		}
	}
	ck_assert_uint_ge(b.idle_ns, a.idle_ns);
	/* the busy jiffies of the watched CPU cover at least what the tree used */
	ck_assert_uint_ge(d.busy_ns + 40 * MS, r[0].ns + r[1].ns + r[2].ns + r[3].ns + r[4].ns);

	/* The tree is gone: gc forgets it, and later snapshots are empty. */
	ck_assert_int_ge(oncpu_gc(o), 1);
	struct oncpu_snapshot c;
	ck_assert_int_eq(oncpu_snapshot(o, &c), 0);
	ck_assert_uint_eq(c.n, 0);
	oncpu_snapshot_free(&c);
	oncpu_snapshot_free(&a);
	oncpu_snapshot_free(&b);
	oncpu_snapshot_free(&d);
	for (int i = 0; i < 2; i++) {
		close(go[i]);
		close(rep[i]);
	}
	close(rel[0]);
	oncpu_close(o);
}
END_TEST

static struct oncpu_entry ent(int32_t pid, uint64_t ns)
{
	struct oncpu_entry e = { .pid = pid, .tgid = pid, .ppid = 1, .oncpu_ns = ns,
				 .measurement_ns = ns / 2 };
	snprintf(e.comm, sizeof e.comm, "t%d", (int)pid);
	return e;
}

START_TEST(test_diff_rules)
{
	struct oncpu_entry ea[] = { ent(1, 100), ent(2, 50), ent(5, 10), ent(9, 7) };
	struct oncpu_entry eb[] = { ent(1, 150), ent(2, 50), ent(3, 20), ent(5, 4) };
	struct oncpu_snapshot a = { .e = ea, .n = 4, .idle_ns = 10, .taken_ns = 1000, .dropped = 1,
				    .busy_ns = 30 };
	struct oncpu_snapshot b = { .e = eb, .n = 4, .idle_ns = 35, .taken_ns = 3000, .dropped = 3,
				    .busy_ns = 100 };
	struct oncpu_snapshot d;
	ck_assert_int_eq(oncpu_diff(&a, &b, &d), 0);
	ck_assert_uint_eq(d.n, 3);   /* 2 unchanged, 9 only in a */
	ck_assert_int_eq(d.e[0].pid, 1);
	ck_assert_uint_eq(d.e[0].oncpu_ns, 50);
	ck_assert_int_eq(d.e[1].pid, 3);   /* new: from 0 */
	ck_assert_uint_eq(d.e[1].oncpu_ns, 20);
	ck_assert_str_eq(d.e[1].comm, "t3");
	ck_assert_int_eq(d.e[2].pid, 5);   /* went down: a reused tid, from 0 */
	ck_assert_uint_eq(d.e[2].oncpu_ns, 4);
	ck_assert_uint_eq(d.idle_ns, 25);
	ck_assert_uint_eq(d.taken_ns, 2000);
	ck_assert_uint_eq(d.dropped, 2);
	ck_assert_ptr_null(oncpu_find(&d, 2));
	ck_assert_ptr_null(oncpu_find(&d, 9));
	ck_assert_uint_eq(oncpu_find(&d, 5)->oncpu_ns, 4);
	/* the measurement part follows the same rules */
	ck_assert_uint_eq(d.e[0].measurement_ns, 25);
	ck_assert_uint_eq(d.e[1].measurement_ns, 10);
	ck_assert_uint_eq(d.e[2].measurement_ns, 2);
	ck_assert_uint_eq(d.busy_ns, 70);
	oncpu_snapshot_free(&d);
	ck_assert_ptr_null(d.e);

	struct oncpu_snapshot empty = { 0 };
	ck_assert_int_eq(oncpu_diff(&empty, &empty, &d), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_ptr_null(oncpu_find(&d, 1));
	oncpu_snapshot_free(&d);
	oncpu_snapshot_free(&empty);
}
END_TEST

static Suite *oncpu_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("oncpu", &tc);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_diff_rules);
	tcase_add_test(tc, test_source_bpf);
	tcase_add_test(tc, test_busy_child);
	tcase_add_test(tc, test_running_slice);
	tcase_add_test(tc, test_short_lived_grandchildren);
	tcase_add_test(tc, test_other_cpu_not_seen);
	tcase_add_test(tc, test_package_watched_measurement_apart);
	tcase_add_test(tc, test_idle_and_conservation);
	tcase_add_test(tc, test_full_map_gc_and_cost);
	tcase_add_test(tc, test_proc_fallback);
	return s;
}

TESTUTIL_MAIN(oncpu_suite)
