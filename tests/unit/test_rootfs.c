/* test_rootfs.c — the sandbox's filesystem view, entered by a forked child in
 * its own mount namespace (needs root: skipped with a note otherwise). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rootfs.h"
#include "testutil.h"

static char staging[64], srcdir[64], harness[128];

static void setup(void)
{
	testutil_tmpdir(staging, sizeof staging, "rootfs");
	testutil_tmpdir(srcdir, sizeof srcdir, "rootsrc");
	testutil_write(srcdir, "harness.py", "print('hello')\n");
	snprintf(harness, sizeof harness, "%s/harness.py", srcdir);
}

static void teardown(void)
{
	testutil_rmtree(staging);
	testutil_rmtree(srcdir);
}

static struct rootfs *plan(const char *exe, char *why, size_t cap)
{
	struct rootfs_options o = { .staging = staging, .harness = harness, .exe = exe,
				    .tmp_mb = 3, .tmp_inodes = 64, .owner_uid = 0, .owner_gid = 0 };
	return rootfs_plan(&o, why, cap);
}

/* Checked inside the new root; the first failure is written to fd and
 * the child exits 1. */
#define EXPECT(cond, ...) \
	do { if (!(cond)) { dprintf(fd, __VA_ARGS__); return 1; } } while (0)

static int inside(int fd)
{
	static const char *const allowed[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32",
					       "usr", "etc", "jt", "dev", "tmp", "proc", NULL };
	DIR *d = opendir("/");
	EXPECT(d, "opendir /: %s", strerror(errno));
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(*a, de->d_name) == 0;
		EXPECT(ok, "unexpected /%s", de->d_name);
		n++;
	}
	closedir(d);
	EXPECT(n >= 7, "only %d entries in /", n);
	struct stat st;
	EXPECT(stat("/usr/bin/python3", &st) == 0, "no python: %s", strerror(errno));
	EXPECT(stat(ROOTFS_HARNESS, &st) == 0 && st.st_size == 15, "harness missing");
	static const char *const absent[] = { "/sys", "/work", "/root", "/run", "/var", "/home",
					      "/etc/passwd", "/etc/shadow", "/dev/sda", "/dev/mem",
					      NULL };
	for (const char *const *a = absent; *a; a++)
		EXPECT(stat(*a, &st) != 0 && errno == ENOENT, "%s is visible", *a);
	static const char *const ro[] = { "/x", "/usr/x", "/etc/x", "/jt/x", "/dev/x", NULL };
	for (const char *const *a = ro; *a; a++) {
		int f = open(*a, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		EXPECT(f < 0 && errno == EROFS, "%s writable (%s)", *a, strerror(errno));
	}
	EXPECT(open(ROOTFS_HARNESS, O_WRONLY | O_CLOEXEC) < 0 && errno == EROFS,
	       "harness writable");
	int w = open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
	EXPECT(w < 0 && errno == EROFS, "/proc/sys writable");
	static const char *const rw[] = { "/tmp/f", "/dev/shm/f", NULL };
	for (const char *const *a = rw; *a; a++) {
		int f = open(*a, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		EXPECT(f >= 0 && write(f, "x", 1) == 1, "%s not writable: %s", *a, strerror(errno));
		close(f);
	}
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	EXPECT(null >= 0 && write(null, "x", 1) == 1, "/dev/null: %s", strerror(errno));
	struct statvfs vs;
	EXPECT(statvfs("/tmp", &vs) == 0 && vs.f_blocks * vs.f_frsize == 3u << 20,
	       "/tmp is not a 3 MiB tmpfs");
	EXPECT(stat("/tmp", &st) == 0 && (st.st_mode & 0777) == 0700, "/tmp mode %o",
	       st.st_mode & 0777);
	EXPECT(stat("/proc/self/status", &st) == 0, "no /proc");
	dprintf(fd, "ok");
	return 0;
}

START_TEST(test_view)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_rootfs: not root, mount namespaces not testable\n");
		return;
	}
	char why[256] = "", exe[4096];
	ck_assert_ptr_nonnull(realpath("/usr/bin/python3", exe));
	struct rootfs *r = plan(exe, why, sizeof why);
	ck_assert_msg(r != NULL, "%s", why);
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (unshare(CLONE_NEWNS) != 0) {
			dprintf(p[1], "unshare: %s", strerror(errno));
			_exit(1);
		}
		const char *step = NULL;
		int e = rootfs_enter(r, &step);
		if (e) {
			dprintf(p[1], "%s: %s", step, strerror(e));
			_exit(1);
		}
		_exit(inside(p[1]));
	}
	close(p[1]);
	char msg[512] = "";
	ssize_t n = read(p[0], msg, sizeof msg - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(p[0]);
	int ws;
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "inside the view: %s", msg);
	ck_assert_str_eq(msg, "ok");
	/* nothing of it is left on the host: the staging dir is still empty */
	DIR *d = opendir(staging);
	ck_assert_ptr_nonnull(d);
	struct dirent *de;
	while ((de = readdir(d)))
		ck_assert_msg(de->d_name[0] == '.', "%s leaked into the host", de->d_name);
	closedir(d);
	rootfs_free(r);
}
END_TEST

START_TEST(test_plan_errors)
{
	char why[256] = "";
	errno = 0;
	ck_assert_ptr_null(plan("/opt/elsewhere/python3", why, sizeof why));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "outside the sandbox's view"));
	snprintf(harness, sizeof harness, "%s/absent.py", srcdir);
	ck_assert_ptr_null(plan("/usr/bin/python3", why, sizeof why));
	ck_assert_ptr_nonnull(strstr(why, "not a readable file"));
	struct rootfs_options o = { .staging = "relative", .harness = harness, .exe = "/usr/bin/x",
				    .tmp_mb = 1, .tmp_inodes = 64 };
	ck_assert_ptr_null(rootfs_plan(&o, why, sizeof why));
	ck_assert_int_eq(errno, EINVAL);
	rootfs_free(NULL);
}
END_TEST

static Suite *rootfs_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("rootfs", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_view);
	tcase_add_test(tc, test_plan_errors);
	return s;
}

TESTUTIL_MAIN(rootfs_suite)
