/* test_sandbox.c — runs /bin/sh in the sandbox: fds, env, affinity, limits, tree
 * kill, every control of SPEC §9 and the report. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rootfs.h"
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
	s.want = SANDBOX_BIT(SANDBOX_RLIMITS);
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
	ck_assert_int_eq(r.p.pid, -1);   /* the failed child was collected */
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
	s.want = _i == 1 ? 0 : SANDBOX_BIT(SANDBOX_PIDNS);
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
	s.want = SANDBOX_BIT(SANDBOX_RLIMITS) | (_i == 1 ? 0 : SANDBOX_BIT(SANDBOX_PIDNS));
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

/* The sandbox user, or nobody when scripts/setup.sh has not run. */
static void sandbox_ids(uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam("jouletrace-sbx");
	*uid = pw ? pw->pw_uid : 65534;
	*gid = pw ? pw->pw_gid : 65534;
}

struct jail {
	char staging[64], src[64], harness[128];
	struct rootfs *plan;
};

static void jail_init(struct jail *j, uid_t uid, gid_t gid)
{
	char why[256] = "", exe[4096];
	testutil_tmpdir(j->staging, sizeof j->staging, "sbxroot");
	testutil_tmpdir(j->src, sizeof j->src, "sbxsrc");
	testutil_write(j->src, "h.py", "");
	snprintf(j->harness, sizeof j->harness, "%s/h.py", j->src);
	ck_assert_ptr_nonnull(realpath("/bin/sh", exe));
	struct rootfs_options o = { .staging = j->staging, .harness = j->harness, .exe = exe,
				    .tmp_mb = 4, .tmp_inodes = 64, .owner_uid = uid,
				    .owner_gid = gid };
	j->plan = rootfs_plan(&o, why, sizeof why);
	ck_assert_msg(j->plan != NULL, "%s", why);
}

static void jail_free(struct jail *j)
{
	rootfs_free(j->plan);
	ck_assert_int_eq(testutil_rmtree(j->staging), 0);
	ck_assert_int_eq(testutil_rmtree(j->src), 0);
}

static void full_spec(struct sandbox_spec *s, struct jail *j, uid_t uid, gid_t gid)
{
	memset(s, 0, sizeof *s);
	s->exe = "/usr/bin/sh";   /* a path that exists inside the view too */
	s->want = SANDBOX_ALL;
	s->uid = uid;
	s->gid = gid;
	s->rootfs = j->plan;
	s->jail_cwd = ROOTFS_WORKDIR;
	s->limits.max_processes = 64;
	s->limits.max_open_files = 64;
	s->cgroup_memory_bytes = 256ll << 20;
	s->cgroup_pids_max = 32;
}

/* Every control at once, as the candidate sees it. */
START_TEST(test_full_sandbox_view)
{
	uid_t uid;
	gid_t gid;
	sandbox_ids(&uid, &gid);
	struct jail j;
	jail_init(&j, uid, gid);
	struct sandbox_spec s;
	full_spec(&s, &j, uid, gid);
	struct sandbox_report rep;
	s.report = &rep;
	struct run r;
	ck_assert_int_eq(start(&r, "id -u; id -g; id -G; cat /proc/sys/kernel/hostname; "
				   "grep -E '^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status"
				   " | tr -d '\\t'; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; "
				   "pwd; ulimit -c; ulimit -n; echo $$; ls / | tr '\\n' ' '", &s), 0);
	char *out = read_all(r.out_r);
	if (geteuid() != 0) {
		/* no privilege: namespaces and the uid switch are reported missing */
		ck_assert(!(r.p.report.applied & SANDBOX_BIT(SANDBOX_PIDNS)));
		ck_assert(!(r.p.report.applied & SANDBOX_BIT(SANDBOX_UID)));
		ck_assert_int_ne(r.p.report.why[SANDBOX_PIDNS][0], '\0');
		finish(&r);
		jail_free(&j);
		return;
	}
	/* root on this host: everything applies (cgroups: v1 or delegated v2) */
	unsigned all = SANDBOX_ALL;
	char missing[512];
	sandbox_report_missing(&r.p.report, all, missing, sizeof missing);
	ck_assert_msg(r.p.report.applied == all, "not applied: %s", missing);
	ck_assert_uint_eq(rep.applied, all);   /* the caller's copy */
	ck_assert_int_eq(r.p.mode, SANDBOX_KILL_PIDNS);
	char want[512];
	snprintf(want, sizeof want, "%u\n%u\n%u\nsandbox\nCapEff:0000000000000000\n"
		 "CapBnd:0000000000000000\nCapAmb:0000000000000000\nNoNewPrivs:1\nSeccomp:2\n"
		 "lo\n/tmp\n0\n64\n1\n", (unsigned)uid, (unsigned)gid, (unsigned)gid);
	ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "got:\n%s\nwant:\n%s", out, want);
	const char *ls = out + strlen(want);
	ck_assert_ptr_nonnull(strstr(ls, "usr "));
	ck_assert_ptr_nonnull(strstr(ls, "tmp "));
	ck_assert_ptr_null(strstr(ls, "sys "));
	ck_assert_ptr_null(strstr(ls, "work "));
	ck_assert_ptr_null(strstr(ls, "root "));
	ck_assert_uint_eq(r.p.report.uid, uid);
	sandbox_reap(&r.p);
	struct sandbox_status st;
	ck_assert_int_eq(sandbox_status(&r.p, &st), 0);
	ck_assert(st.exited && st.code == 0);
	ck_assert_ptr_null(r.p.cg);   /* removed with the reap */
	finish(&r);
	jail_free(&j);
}
END_TEST

/* A forbidden call kills the process with SIGSYS, reported as such. */
START_TEST(test_seccomp_kill_status)
{
	uid_t uid;
	gid_t gid;
	sandbox_ids(&uid, &gid);
	struct jail j;
	jail_init(&j, uid, gid);
	struct sandbox_spec s;
	full_spec(&s, &j, uid, gid);
	struct run r;
	ck_assert_int_eq(start(&r, "exec /usr/bin/unshare -U /bin/true", &s), 0);
	sandbox_reap(&r.p);
	struct sandbox_status st;
	ck_assert_int_eq(sandbox_status(&r.p, &st), 0);
	ck_assert_int_eq(st.signal, SIGSYS);
	ck_assert(st.seccomp_kill);
	finish(&r);
	jail_free(&j);
}
END_TEST

/* Mandatory controls: missing → -ENOTSUP, nothing runs, the report says why. */
START_TEST(test_mandatory_refused)
{
	struct sandbox_spec s;
	memset(&s, 0, sizeof s);
	s.want = SANDBOX_BIT(SANDBOX_PIDNS) | SANDBOX_BIT(SANDBOX_UID);
	s.mandatory = SANDBOX_BIT(SANDBOX_UID);
	s.unavailable[SANDBOX_UID] = "user 'x' does not exist";
	struct sandbox_report rep;
	memset(&rep, 0xff, sizeof rep);
	s.report = &rep;
	struct run r;
	ck_assert_int_eq(start(&r, "echo ran", &s), -ENOTSUP);
	ck_assert_int_eq(r.p.pid, -1);
	ck_assert(rep.refused);
	ck_assert_uint_eq(rep.applied, 0);
	ck_assert_str_eq(rep.why[SANDBOX_UID], "user 'x' does not exist");
	char buf[256];
	ck_assert_int_eq(sandbox_report_missing(&rep, rep.mandatory, buf, sizeof buf), 1);
	ck_assert_str_eq(buf, "uid: user 'x' does not exist");
	ck_assert_str_eq(read_all(r.out_r), "");
	finish(&r);

	/* disabled by the caller but mandatory */
	memset(&s, 0, sizeof s);
	s.want = SANDBOX_BIT(SANDBOX_PIDNS);
	s.mandatory = SANDBOX_BIT(SANDBOX_SECCOMP);
	s.report = &rep;
	ck_assert_int_eq(start(&r, "echo ran", &s), -ENOTSUP);
	ck_assert_str_eq(rep.why[SANDBOX_SECCOMP], "not requested");
	finish(&r);

	/* mountns asked for without a plan: dropped, reported, the rest runs */
	memset(&s, 0, sizeof s);
	s.want = SANDBOX_BIT(SANDBOX_MOUNTNS) | SANDBOX_BIT(SANDBOX_PIDNS);
	ck_assert_int_eq(start(&r, "echo ran", &s), 0);
	ck_assert_str_eq(read_all(r.out_r), "ran\n");
	ck_assert(!(r.p.report.applied & SANDBOX_BIT(SANDBOX_MOUNTNS)));
	ck_assert_str_eq(r.p.report.why[SANDBOX_MOUNTNS], "no root filesystem plan");
	finish(&r);
}
END_TEST

START_TEST(test_controls_and_json)
{
	unsigned m = 0;
	char why[256] = "";
	ck_assert_int_eq(sandbox_controls_parse(" uid, pidns ,seccomp", &m, why, sizeof why), 0);
	ck_assert_uint_eq(m, SANDBOX_BIT(SANDBOX_UID) | SANDBOX_BIT(SANDBOX_PIDNS) |
			     SANDBOX_BIT(SANDBOX_SECCOMP));
	ck_assert_int_eq(sandbox_controls_parse("all", &m, why, sizeof why), 0);
	ck_assert_uint_eq(m, SANDBOX_ALL);
	ck_assert_int_eq(sandbox_controls_parse("none", &m, why, sizeof why), 0);
	ck_assert_uint_eq(m, 0);
	ck_assert_int_eq(sandbox_controls_parse(NULL, &m, why, sizeof why), 0);
	ck_assert_int_eq(sandbox_controls_parse(SANDBOX_MANDATORY_DEFAULT, &m, why, sizeof why), 0);
	ck_assert(!(m & SANDBOX_BIT(SANDBOX_CGROUP_MEMORY)) && (m & SANDBOX_BIT(SANDBOX_CAPS)));
	ck_assert_int_eq(sandbox_controls_parse("uid,seccom", &m, why, sizeof why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "unknown sandbox control 'seccom'"));
	for (int c = 0; c < SANDBOX_NCONTROLS; c++)
		ck_assert_ptr_nonnull(sandbox_control_name(c));
	ck_assert_ptr_null(sandbox_control_name(SANDBOX_NCONTROLS));

	struct sandbox_report rep;
	memset(&rep, 0, sizeof rep);
	rep.applied = SANDBOX_BIT(SANDBOX_PIDNS) | SANDBOX_BIT(SANDBOX_CGROUP_PIDS);
	rep.mandatory = SANDBOX_BIT(SANDBOX_PIDNS);
	snprintf(rep.why[SANDBOX_NETNS], sizeof rep.why[0], "clone() refused");
	rep.uid = 999;
	rep.limits.memory_limit_mb = 512;
	rep.cgroup_pids_max = 128;
	json_t *j = sandbox_report_json(&rep);
	ck_assert_ptr_nonnull(j);
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_ptr_nonnull(strstr(text, "\"enforced\":[\"pidns\",\"cgroup_pids\"]"));
	ck_assert_ptr_nonnull(strstr(text, "\"mandatory\":[\"pidns\"]"));
	ck_assert_ptr_nonnull(strstr(text, "\"netns\":\"clone() refused\""));
	ck_assert_ptr_nonnull(strstr(text, "\"uid\":\"not applied\""));
	ck_assert_ptr_nonnull(strstr(text, "\"cgroup_pids_max\":128"));
	ck_assert_ptr_nonnull(strstr(text, "\"cgroup_memory_bytes\":null"));
	ck_assert_ptr_nonnull(strstr(text, "\"kill_mode\":\"pid_namespace\""));
	ck_assert_ptr_nonnull(strstr(text, "\"address_space_mb\":512"));
	ck_assert_int_eq((int)json_array_size(json_object_get(j, "not_enforced")),
			 SANDBOX_NCONTROLS - 2);
	free(text);
	json_decref(j);
}
END_TEST

/* Without a PID namespace, a setsid() orphan whose parents have all exited
 * is out of reach of the process-group sweep: the cgroup still lists it. */
START_TEST(test_cgroup_catches_orphan)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_cgroup_catches_orphan: needs root for cgroups\n");
		return;
	}
	struct sandbox_spec s;
	memset(&s, 0, sizeof s);
	s.want = SANDBOX_BIT(SANDBOX_CGROUP_PIDS);
	s.cgroup_pids_max = 16;
	struct run r;
	ck_assert_int_eq(start(&r, "(setsid sh -c 'echo $$ > gpid.tmp; mv gpid.tmp gpid; "
				   "exec sleep 1000' &); exit 0", &s), 0);
	ck_assert(r.p.report.applied & SANDBOX_BIT(SANDBOX_CGROUP_PIDS));
	ck_assert_int_eq(r.p.mode, SANDBOX_KILL_PGROUP);
	char path[128], buf[32];
	snprintf(path, sizeof path, "%s/gpid", r.dir);
	uint64_t end = util_mono_ns() + 10 * SEC;
	while (util_read_line(path, buf, sizeof buf) != 0) {
		ck_assert(util_mono_ns() < end);
		usleep(10000);
	}
	pid_t g = (pid_t)atoi(buf);
	end = util_mono_ns() + 10 * SEC;
	while (!sandbox_exited(&r.p)) {   /* the shell is gone: g is an orphan */
		ck_assert(util_mono_ns() < end);
		usleep(10000);
	}
	ck_assert(pid_alive(g));
	sandbox_kill(&r.p);
	usleep(100000);
	ck_assert(pid_alive(g));       /* the sweep cannot find it... */
	sandbox_reap(&r.p);            /* ...the cgroup does */
	end = util_mono_ns() + 2 * SEC;
	while (pid_alive(g)) {
		ck_assert_msg(util_mono_ns() < end, "orphan %d survived", (int)g);
		usleep(10000);
	}
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
	tcase_add_test(tc, test_full_sandbox_view);
	tcase_add_test(tc, test_seccomp_kill_status);
	tcase_add_test(tc, test_mandatory_refused);
	tcase_add_test(tc, test_controls_and_json);
	tcase_add_test(tc, test_cgroup_catches_orphan);
	return s;
}

TESTUTIL_MAIN(sandbox_suite)
