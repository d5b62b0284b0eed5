/* test_cgroup.c — per-sandbox cgroups: limits written, membership, tree kill, removal. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"
#include "testutil.h"

#define SEC 1000000000ull

/* Root on a host with writable v1 memory and pids hierarchies (this CI box)
 * must get both limits; elsewhere the test only checks the reasons. */
static bool v1_host(void)
{
	struct stat st;
	return geteuid() == 0 && stat("/sys/fs/cgroup/memory/cgroup.procs", &st) == 0 &&
	       stat("/sys/fs/cgroup/pids/cgroup.procs", &st) == 0;
}

/* The v1 directory of controller ctl for a group whose member dir is any. */
static void sibling(const struct cgroup *cg, const char *ctl, char *out, size_t cap)
{
	const char *dir = cgroup_dir(cg), *tail = strstr(dir, "/jouletrace/");
	ck_assert_ptr_nonnull(tail);
	/* <mnt>/<own...>/jouletrace/<id>: the id is unique, so search by it */
	const char *id = strrchr(dir, '/') + 1;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "find /sys/fs/cgroup/%s -maxdepth 6 -type d -name %s", ctl, id);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(out, (int)cap, f));
	out[strcspn(out, "\n")] = '\0';
	pclose(f);
}

START_TEST(test_limits_and_removal)
{
	struct cgroup_limits l = { .memory_bytes = 96ll << 20, .pids_max = 12 };
	struct cgroup_status st;
	struct cgroup *cg = cgroup_create(&l, &st);
	if (!v1_host()) {
		if (!cg)
			ck_assert(st.memory_why[0] && st.pids_why[0]);
		cgroup_destroy(cg);
		return;
	}
	ck_assert_msg(cg != NULL, "cgroup_create: %s / %s", st.memory_why, st.pids_why);
	ck_assert(st.memory && st.pids && st.member);
	ck_assert_str_eq(st.memory_why, "");
	char mem[512], pids[512], path[600], buf[64];
	sibling(cg, "memory", mem, sizeof mem);
	sibling(cg, "pids", pids, sizeof pids);
	snprintf(path, sizeof path, "%s/memory.limit_in_bytes", mem);
	ck_assert_int_eq(util_read_line(path, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "100663296");
	snprintf(path, sizeof path, "%s/pids.max", pids);
	ck_assert_int_eq(util_read_line(path, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "12");
	ck_assert_int_eq(cgroup_count(cg), 0);
	ck_assert_int_eq(cgroup_oom_kills(cg), 0);
	cgroup_destroy(cg);
	struct stat sb;
	ck_assert_int_eq(stat(mem, &sb), -1);
	ck_assert_int_eq(stat(pids, &sb), -1);
}
END_TEST

/* A member that left its session and stopped itself is still killed, and
 * the group only goes once it is empty. */
START_TEST(test_kill_members)
{
	struct cgroup_limits l = { .pids_max = 16 };
	struct cgroup_status st;
	struct cgroup *cg = cgroup_create(&l, &st);
	if (!v1_host()) {
		cgroup_destroy(cg);
		return;
	}
	ck_assert_ptr_nonnull(cg);
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		if (cgroup_enter(cg) != 0)
			_exit(1);
		if (fork() == 0) {
			setsid();
			if (fork() == 0) {
				char c = 'x';
				if (write(p[1], &c, 1) != 1)
					_exit(3);
				raise(SIGSTOP);
				for (;;)
					pause();
			}
			_exit(0);
		}
		for (;;)
			pause();
	}
	close(p[1]);
	char c;
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	uint64_t end = util_mono_ns() + 5 * SEC;
	while (cgroup_count(cg) != 2) {   /* the child and its stopped grandchild */
		ck_assert(util_mono_ns() < end);
		usleep(1000);
	}
	ck_assert_int_eq(cgroup_kill_all(cg, 5 * SEC), 0);
	ck_assert_int_eq(cgroup_count(cg), 0);
	int ws;
	ck_assert_int_eq(waitpid(child, &ws, 0), child);
	ck_assert(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	cgroup_destroy(cg);
}
END_TEST

START_TEST(test_no_limits_membership_only)
{
	struct cgroup_limits l = { 0 };
	struct cgroup_status st;
	struct cgroup *cg = cgroup_create(&l, &st);
	if (!v1_host()) {
		cgroup_destroy(cg);
		return;
	}
	ck_assert_ptr_nonnull(cg);
	ck_assert(st.member && !st.memory && !st.pids);
	ck_assert_str_eq(st.memory_why, "");   /* not asked for: no reason */
	ck_assert_int_ne(cgroup_dir(cg)[0], '\0');
	cgroup_destroy(cg);
	cgroup_destroy(NULL);
}
END_TEST

static Suite *cgroup_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("cgroup", &tc);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_limits_and_removal);
	tcase_add_test(tc, test_kill_members);
	tcase_add_test(tc, test_no_limits_membership_only);
	return s;
}

TESTUTIL_MAIN(cgroup_suite)
