/*
 * testutil.h — header-only helpers shared by the Check unit tests: the main()
 * that runs one suite, per-test temp directories under /tmp (mkdtemp, removed
 * with nftw), and writing/reading files inside them.  Test support only; not
 * part of any library.
 *
 * Helpers named testutil_* that "fail the test" do so with ck_assert, so they
 * may be called from a test body or a checked fixture (CK_FORK: the failure
 * stays in that test's child).  testutil_rmtree only reports, so a teardown
 * never hides the test's own result.
 */
#ifndef JT_TESTUTIL_H
#define JT_TESTUTIL_H

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* A suite holding one TCase named "core", returned in *core for the caller to fill. */
static inline Suite *testutil_suite(const char *name, TCase **core)
{
	Suite *s = suite_create(name);
	*core = tcase_create("core");
	suite_add_tcase(s, *core);
	return s;
}

/* Runs every test of s (fork mode unless CK_FORK=no) and frees it;
 * EXIT_FAILURE when any test failed, for main() to return. */
static inline int testutil_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The whole main() of a test binary whose suite needs no set-up of its own. */
#define TESTUTIL_MAIN(suite_fn) \
	int main(void) { return testutil_run(suite_fn()); }

/* Creates /tmp/jt-test-<tag>-XXXXXX into dir; fails the test on error.  The
 * short fixed prefix keeps paths derived from it far below PATH_MAX. */
static inline void testutil_tmpdir(char *dir, size_t cap, const char *tag)
{
	int n = snprintf(dir, cap, "/tmp/jt-test-%s-XXXXXX", tag);
	ck_assert_msg(n > 0 && (size_t)n < cap, "temp dir name for %s does not fit", tag);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
}

static inline int testutil_rm_entry(const char *path, const struct stat *st, int flag,
				    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything below it; links are removed, never followed.
 * An empty name does nothing.  0 or -errno (also printed to stderr). */
static inline int testutil_rmtree(const char *dir)
{
	if (!dir[0])
		return 0;
	if (nftw(dir, testutil_rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0)
		return 0;
	int e = errno ? errno : EIO;
	fprintf(stderr, "cleanup of %s failed: %s\n", dir, strerror(e));
	return -e;
}

/* mkdir -p: creates path and every missing parent (mode 0755); existing ones are fine. */
static inline void testutil_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	ck_assert_msg(strlen(path) < sizeof buf, "path too long: %s", path);
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	ck_assert_msg(mkdir(buf, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", buf,
		      strerror(errno));
}

/*
 * Writes text to dir/rel, creating the directories in between.  An existing
 * file is truncated and rewritten in place (same inode), the way sysfs and
 * procfs counters change under an fd a meter keeps open; fails the test on
 * any error.
 */
static inline void testutil_write(const char *dir, const char *rel, const char *text)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof path, "%s/%s", dir, rel);
	ck_assert_msg(n > 0 && (size_t)n < sizeof path, "path too long: %s/%s", dir, rel);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	testutil_mkdirs(path);
	*slash = '/';
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
	size_t len = strlen(text);
	ck_assert_msg(fwrite(text, 1, len, f) == len, "write %s: %s", path, strerror(errno));
	ck_assert_msg(fclose(f) == 0, "close %s: %s", path, strerror(errno));
}

/*
 * The whole file at path as a NUL-terminated malloc'd string (*len optional,
 * without the NUL); fails the test when it is unreadable or over max_bytes.
 * Kept out of line: inlined, GCC 12 mistakes pointers into the result for
 * pointers to its local and warns (-Wdangling-pointer).
 */
static __attribute__((unused, noinline)) char *testutil_read(const char *path, size_t max_bytes,
							     size_t *len)
{
	char *data = NULL;
	int ret = util_read_file(path, max_bytes, &data, len);
	ck_assert_msg(ret == 0, "read %s: %s", path, strerror(-ret));
	return data;
}

#endif
