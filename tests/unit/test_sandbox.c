/* test_sandbox.c — runs /bin/sh in the sandbox: fds, env, affinity, limits, tree kill. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"
#include "testutil.h"

#define SEC 1000000000ull

struct run {
	char dir[64];
	int out_r;              /* the child's stdout and stderr, read side */
	struct sandbox_proc p;
};

static char *env_default[] = { (char *)"PATH=/usr/bin:/bin", (char *)"FOO=bar", NULL };

/* Starts /bin/sh -c script in a fresh temp dir; returns 0 or -errno. */
static int start(struct run *r, const char *script, struct sandbox_spec *tmpl)
{
	testutil_tmpdir(r->dir, sizeof r->dir, "sbx");
	int out[2], devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)script, NULL };
	struct sandbox_spec s;
	if (tmpl)
		s = *tmpl;
	else
		memset(&s, 0, sizeof s);
	s.exe = s.exe ? s.exe : "/bin/sh";
	s.argv = argv;
	s.envp = env_default;
	s.cwd = r->dir;
	if (!s.nfds) {
		s.nfds = 3;
		s.fds[0] = devnull;
		s.fds[1] = s.fds[2] = out[1];
	}
	int e = sandbox_spawn(&s, &r->p);
	close(out[1]);
	close(devnull);
	r->out_r = out[0];
	return e;
}

static char *read_all(int fd)
{
	static char buf[8192];
	size_t n = 0;
	ssize_t k;
	while (n < sizeof buf - 1 && (k = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	return buf;
}

static void finish(struct run *r)
{
	sandbox_kill(&r->p);
	sandbox_reap(&r->p);
	close(r->out_r);
	ck_assert_int_eq(testutil_rmtree(r->dir), 0);
}

static bool pid_alive(pid_t p)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
	if (kill(p, 0) != 0 || util_read_line(path, buf, sizeof buf) != 0)
		return false;
	const char *s = strrchr(buf, ')');
	return s && s[2] != 'Z' && s[2] != 'X';   /* a zombie is dead */
}

START_TEST(test_env_fds_exit_code)
{
	struct run r;
	ck_assert_int_eq(start(&r, "env | sort | tr '\\n' ,; ls /proc/self/fd | "
				   "tr '\\n' ' '; exit 3", NULL), 0);
	char *out = read_all(r.out_r);
	char want[256];
	/* the shell adds PWD; fd 3 is ls's own directory fd */
	snprintf(want, sizeof want, "FOO=bar,PATH=/usr/bin:/bin,PWD=%s,0 1 2 3 ", r.dir);
	ck_assert_str_eq(out, want);
	sandbox_reap(&r.p);
	struct sandbox_status st;
	ck_assert_int_eq(sandbox_status(&r.p, &st), 0);
	ck_assert(st.exited);
	ck_assert_int_eq(st.code, 3);
	ck_assert_int_eq(r.p.pidfd, -1);
	finish(&r);
}
END_TEST

START_TEST(test_affinity_and_limits)
{
	cpu_set_t mine;
	ck_assert_int_eq(sched_getaffinity(0, sizeof mine, &mine), 0);
	int cpu = 0;
	while (!CPU_ISSET(cpu, &mine))
		cpu++;
	struct sandbox_spec s;
	memset(&s, 0, sizeof s);
	cpuset_set(&s.cpus, cpu);
	s.limits.memory_limit_mb = 256;
	s.limits.max_file_bytes = 4096;
	s.limits.max_open_files = 32;
	s.limits.cpu_seconds = 7;
	struct run r;
	ck_assert_int_eq(start(&r, "grep Cpus_allowed_list: /proc/self/status | cut -f2; "
				   "ulimit -v; ulimit -c; ulimit -n; ulimit -t; ulimit -Ht", &s), 0);
	char want[128];
	/* ulimit -v is in KiB */
	snprintf(want, sizeof want, "%d\n262144\n0\n32\n7\n8\n", cpu);
	ck_assert_str_eq(read_all(r.out_r), want);
	finish(&r);
}
END_TEST

START_TEST(test_spawn_errors)
{
	struct sandbox_spec s;
	memset(&s, 0, sizeof s);
	s.exe = "/nonexistent";
	struct run r;
	ck_assert_int_eq(start(&r, "true", &s), -ENOENT);
	ck_assert(r.p.reaped);   /* the failed child was collected */
	finish(&r);
	memset(&s, 0, sizeof s);
	s.limits.max_open_files = 4;   /* would not leave room for the fds */
	ck_assert_int_eq(start(&r, "true", &s), -EINVAL);
	finish(&r);
}
END_TEST

START_TEST(test_pidfd_and_exit)
{
	struct run r;
	ck_assert_int_eq(start(&r, "exit 0", NULL), 0);
	ck_assert_int_ge(r.p.pidfd, 0);
	struct pollfd pf = { .fd = r.p.pidfd, .events = POLLIN };
	ck_assert_int_eq(poll(&pf, 1, 5000), 1);
	ck_assert(sandbox_exited(&r.p));
	ck_assert(!r.p.reaped);
	struct sandbox_status st;
	ck_assert_int_eq(sandbox_status(&r.p, &st), -EBUSY);
	sandbox_reap(&r.p);
	ck_assert_int_eq(sandbox_status(&r.p, &st), 0);
	ck_assert(st.exited && st.code == 0);
	finish(&r);
}
END_TEST

/* The intermediate subshell exits, so the setsid()ed sleeper is an orphan in
 * its own session: neither the process group nor a plain descendant walk from
 * a non-subreaper would find it. */
START_TEST(test_kill_orphaned_setsid)
{
	struct sandbox_spec s;
	memset(&s, 0, sizeof s);
	s.no_pid_namespace = _i == 1;
	struct run r;
	ck_assert_int_eq(start(&r, "(setsid sh -c 'read -r p rest < /proc/self/stat; "
				   "echo $p > gpid.tmp; mv gpid.tmp gpid; exec sleep 1000' &); "
				   "exec sleep 1000", &s), 0);
	ck_assert_int_eq(r.p.mode, _i == 1 ? SANDBOX_KILL_PGROUP : SANDBOX_KILL_PIDNS);
	char path[128], buf[32];
	snprintf(path, sizeof path, "%s/gpid", r.dir);
	uint64_t end = util_mono_ns() + 10 * SEC;
	while (util_read_line(path, buf, sizeof buf) != 0) {
		ck_assert(util_mono_ns() < end);
		usleep(10000);
	}
	pid_t g = (pid_t)atoi(buf);
	ck_assert_int_gt(g, 0);
	ck_assert(pid_alive(g));
	sandbox_kill(&r.p);
	sandbox_reap(&r.p);
	end = util_mono_ns() + 2 * SEC;
	while (pid_alive(g)) {
		ck_assert_msg(util_mono_ns() < end, "setsid grandchild %d survived", (int)g);
		usleep(10000);
	}
	struct sandbox_status st;
	ck_assert_int_eq(sandbox_status(&r.p, &st), 0);
	ck_assert_int_eq(st.signal, SIGKILL);
	finish(&r);
}
END_TEST

START_TEST(test_cpu_limit)
{
	struct sandbox_spec s;
	memset(&s, 0, sizeof s);
	s.limits.cpu_seconds = 1;
	s.no_pid_namespace = _i == 1;
	struct run r;
	ck_assert_int_eq(start(&r, "while :; do :; done", &s), 0);
	sandbox_reap(&r.p);
	struct sandbox_status st;
	ck_assert_int_eq(sandbox_status(&r.p, &st), 0);
	ck_assert(st.cpu_limit);
	/* a namespace init ignores SIGXCPU; the hard limit's SIGKILL ends it */
	ck_assert_int_eq(st.signal, _i == 1 ? SIGXCPU : SIGKILL);
	finish(&r);
}
END_TEST

static Suite *sandbox_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("sandbox", &tc);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_env_fds_exit_code);
	tcase_add_test(tc, test_affinity_and_limits);
	tcase_add_test(tc, test_spawn_errors);
	tcase_add_test(tc, test_pidfd_and_exit);
	tcase_add_loop_test(tc, test_kill_orphaned_setsid, 0, 2);
	tcase_add_loop_test(tc, test_cpu_limit, 0, 2);
	return s;
}

TESTUTIL_MAIN(sandbox_suite)
