/* The monitor's chain file: a new chain, resume after a restart, rotation,
 * torn and completed last lines, a last line that does not verify, the lock. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chaincheck.h"
#include "sealfile.h"
#include "testchain.h"
#include "testutil.h"

static char dir[64], path[128];
static struct seal_key key;

static void setup(void)
{
	testutil_tmpdir(dir, sizeof dir, "sealfile");
	snprintf(path, sizeof path, "%s/seals.jsonl", dir);
	testchain_key(&key, 7);
}

static void teardown(void)
{
	testutil_rmtree(dir);
}

/* The files, oldest first, checked as one chain: the problem count. */
static size_t check_chain(const char *const *files, size_t n)
{
	struct sealcheck_keys k = { .n = 1 };
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	memcpy(k.pk[0], key.pk, SEAL_PK_BYTES);
	struct chaincheck *c = chaincheck_new(&k, out);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(chaincheck_file(c, files[i]), 0);
	size_t problems = chaincheck_finish(c);
	chaincheck_free(c);
	fclose(out);
	if (problems)
		fprintf(stderr, "%s", text);
	free(text);
	return problems;
}

static size_t count_lines(const char *p)
{
	size_t len = 0, n = 0;
	char *t = testutil_read(p, 1u << 24, &len);
	for (size_t i = 0; i < len; i++)
		n += t[i] == '\n';
	free(t);
	return n;
}

static struct sealfile *open_ok(struct sealfile_head *h, uint64_t max_bytes, unsigned keep)
{
	char why[512] = "";
	struct sealfile *f = sealfile_open(path, &key, max_bytes, keep, h, why, sizeof why);
	ck_assert_msg(f != NULL, "%s", why);
	return f;
}

START_TEST(new_chain_then_resume_after_restart)
{
	struct sealfile_head h;
	uint64_t t = TESTCHAIN_T0;
	char *text = NULL, why[256];
	size_t len = 0;

	struct sealfile *f = open_ok(&h, 1u << 20, 3);
	ck_assert_uint_eq(h.sequence, 0);
	testchain_append(f, 4, &t);
	json_t *p = testchain_period(t, t + TESTCHAIN_SECOND, 5, false);
	ck_assert_int_eq(sealfile_append(f, p, &text, &len, why, sizeof why), 0);
	t += TESTCHAIN_SECOND;
	ck_assert_uint_eq(len, strlen(text));
	ck_assert_ptr_nonnull(strstr(text, "\"sequence\":5"));
	json_decref(p);
	sealfile_head(f, &h);
	sealfile_close(f);
	ck_assert_uint_eq(h.sequence, 5);

	/* a restart continues the sequence and the hash from the file */
	struct sealfile_head h2;
	f = open_ok(&h2, 1u << 20, 3);
	ck_assert_uint_eq(h2.sequence, 5);
	ck_assert_str_eq(h2.sha256, h.sha256);
	ck_assert_uint_eq(h2.end_unix_ns, t);
	ck_assert_uint_eq(h2.torn_bytes, 0);
	testchain_append(f, 2, &t);
	sealfile_close(f);
	ck_assert_uint_eq(count_lines(path), 7);
	const char *files[] = { path };
	ck_assert_uint_eq(check_chain(files, 1), 0);
	free(text);
}
END_TEST

START_TEST(rotation_keeps_the_chain_across_files)
{
	uint64_t t = TESTCHAIN_T0;
	struct sealfile_head h;
	char names[4][160], why[512];

	/* one seal is ~1.6 kB: three per file */
	struct sealfile *f = open_ok(&h, 5000, 3);
	testchain_append(f, 14, &t);
	sealfile_close(f);
	for (int k = 0; k < 4; k++)
		snprintf(names[k], sizeof names[k], k ? "%s.%d" : "%s", path, k);
	char four[160];
	snprintf(four, sizeof four, "%s.4", path);
	ck_assert_int_ne(access(four, F_OK), 0);           /* keep 3: the oldest are gone */
	size_t lines = 0;
	for (int k = 0; k < 4; k++) {
		ck_assert_uint_le(count_lines(names[k]), 3);
		lines += count_lines(names[k]);
	}
	const char *files[] = { names[3], names[2], names[1], names[0] };
	ck_assert_uint_eq(check_chain(files, 4), 0);      /* starts mid-chain: noted only */

	/* a crash between the rotation and the first write: FILE missing */
	ck_assert_int_eq(unlink(names[3]), 0);
	for (int k = 2; k >= 0; k--)
		ck_assert_int_eq(rename(names[k], names[k + 1]), 0);
	f = sealfile_open(path, &key, 5000, 3, &h, why, sizeof why);
	ck_assert_msg(f != NULL, "%s", why);
	ck_assert_uint_eq(h.sequence, 14);
	testchain_append(f, 1, &t);
	sealfile_close(f);
	ck_assert_uint_eq(count_lines(path), 1);
	const char *after[] = { names[3], names[2], names[1], names[0] };
	ck_assert_uint_eq(check_chain(after, 4), 0);
	(void)lines;
}
END_TEST

static void append_raw(const char *text)
{
	FILE *fp = fopen(path, "a");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

/* A new chain of n seals from *t; the file's size after them. */
static off_t chain_of(int n, uint64_t *t)
{
	struct sealfile_head h;
	struct stat st;
	struct sealfile *f = open_ok(&h, 1u << 20, 3);
	testchain_append(f, n, t);
	sealfile_close(f);
	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

START_TEST(a_torn_last_line_is_cut_off_and_reported)
{
	uint64_t t = TESTCHAIN_T0;
	struct sealfile_head h;
	off_t size = chain_of(3, &t);
	const char *torn = "{\"payload\":{\"kind\":\"monitor_per";   /* the write died here */
	append_raw(torn);
	struct sealfile *f = open_ok(&h, 1u << 20, 3);
	ck_assert_uint_eq(h.torn_bytes, strlen(torn));
	ck_assert_uint_eq(h.sequence, 3);
	struct stat now;
	ck_assert_int_eq(stat(path, &now), 0);
	ck_assert_int_eq(now.st_size, size);
	testchain_append(f, 1, &t);
	sealfile_close(f);
	const char *files[] = { path };
	ck_assert_uint_eq(check_chain(files, 1), 0);
}
END_TEST

START_TEST(a_whole_seal_without_its_newline_is_kept)
{
	uint64_t t = TESTCHAIN_T0;
	struct sealfile_head h;

	ck_assert_int_eq(truncate(path, chain_of(3, &t) - 1), 0);
	struct sealfile *f = open_ok(&h, 1u << 20, 3);
	ck_assert(h.completed);
	ck_assert_uint_eq(h.torn_bytes, 0);
	ck_assert_uint_eq(h.sequence, 3);
	testchain_append(f, 1, &t);
	sealfile_close(f);
	ck_assert_uint_eq(count_lines(path), 4);
	const char *files[] = { path };
	ck_assert_uint_eq(check_chain(files, 1), 0);
}
END_TEST

START_TEST(a_bad_last_line_stops_the_monitor)
{
	uint64_t t = TESTCHAIN_T0;
	struct sealfile_head h;
	struct seal_key other;
	char why[512] = "";

	chain_of(2, &t);

	/* another key's chain: never continued */
	testchain_key(&other, 9);
	ck_assert_ptr_null(sealfile_open(path, &other, 1u << 20, 3, &h, why, sizeof why));
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "does not verify"));
	ck_assert_ptr_nonnull(strstr(why, path));

	/* a complete line that is not a seal, or a torn line that is whole JSON
	 * but does not verify: tampering, not a crash */
	append_raw("garbage\n");
	ck_assert_ptr_null(sealfile_open(path, &key, 1u << 20, 3, &h, why, sizeof why));
	ck_assert_ptr_nonnull(strstr(why, "not a seal"));
	ck_assert_int_eq(truncate(path, 0), 0);
	append_raw("{\"payload\":{},\"signature\":{}}");
	ck_assert_ptr_null(sealfile_open(path, &key, 1u << 20, 3, &h, why, sizeof why));
	ck_assert_ptr_nonnull(strstr(why, "no final newline"));
}
END_TEST

START_TEST(one_monitor_per_chain)
{
	struct sealfile_head h;
	char why[512] = "";
	struct sealfile *f = open_ok(&h, 1u << 20, 3);

	ck_assert_ptr_null(sealfile_open(path, &key, 1u << 20, 3, &h, why, sizeof why));
	ck_assert_int_eq(errno, EBUSY);
	sealfile_close(f);
	f = open_ok(&h, 1u << 20, 3);
	sealfile_close(f);
}
END_TEST

static Suite *suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("sealfile", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, new_chain_then_resume_after_restart);
	tcase_add_test(tc, rotation_keeps_the_chain_across_files);
	tcase_add_test(tc, a_torn_last_line_is_cut_off_and_reported);
	tcase_add_test(tc, a_whole_seal_without_its_newline_is_kept);
	tcase_add_test(tc, a_bad_last_line_stops_the_monitor);
	tcase_add_test(tc, one_monitor_per_chain);
	return s;
}

TESTUTIL_MAIN(suite)
