/* The chain check of jouletrace-verify --chain: a good chain, and each way
 * of breaking one (tamper, another key, swap, delete, gap, conservation,
 * sequence 1's link, torn and over-long lines), plus the tool's exit codes. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaincheck.h"
#include "jcs.h"
#include "sealfile.h"
#include "testchain.h"
#include "testutil.h"

#define N 6

static char dir[64], path[128];
static struct seal_key key;
static char *line[N];       /* the chain's lines, without '\n' */
static char report[1 << 16];

static void setup(void)
{
	struct sealfile_head h;
	char why[256] = "";
	uint64_t t = TESTCHAIN_T0;

	testutil_tmpdir(dir, sizeof dir, "chaincheck");
	snprintf(path, sizeof path, "%s/seals.jsonl", dir);
	testchain_key(&key, 3);
	struct sealfile *f = sealfile_open(path, &key, 1u << 20, 2, &h, why, sizeof why);
	ck_assert_msg(f != NULL, "%s", why);
	for (int i = 0; i < N; i++) {
		json_t *p = testchain_period(t, t + TESTCHAIN_SECOND, 500 + i, i == 2);
		size_t len;
		ck_assert_int_eq(sealfile_append(f, p, &line[i], &len, why, sizeof why), 0);
		json_decref(p);
		t += TESTCHAIN_SECOND;
	}
	sealfile_close(f);
}

static void teardown(void)
{
	for (int i = 0; i < N; i++)
		free(line[i]);
	testutil_rmtree(dir);
}

/* Checks lines v[0..n) as the file "f": the problem count; the report in report[]. */
static size_t check(char *const *v, size_t n)
{
	struct sealcheck_keys k = { .n = 1 };
	FILE *out = fmemopen(report, sizeof report, "w");
	memcpy(k.pk[0], key.pk, SEAL_PK_BYTES);
	struct chaincheck *c = chaincheck_new(&k, out);
	for (size_t i = 0; i < n; i++)
		chaincheck_line(c, "f", i + 1, v[i], strlen(v[i]), true);
	size_t problems = chaincheck_finish(c);
	chaincheck_free(c);
	fclose(out);
	return problems;
}

static bool says(const char *what)
{
	return strstr(report, what) != NULL;
}

/* line i's payload, changed by edit, signed with k: a new line (malloc'd). */
static char *resign(int i, const struct seal_key *k, void (*edit)(json_t *payload))
{
	json_t *seal = NULL, *resealed = NULL;
	char *text = NULL;
	size_t len;
	ck_assert_int_eq(seal_parse(line[i], strlen(line[i]), &seal, NULL, 0), 0);
	json_t *p = json_deep_copy(json_object_get(seal, "payload"));
	if (edit)
		edit(p);
	ck_assert_int_eq(seal_sign(k, p, &resealed), 0);
	ck_assert_int_eq(jcs_serialize(resealed, &text, &len), 0);
	json_decref(p);
	json_decref(seal);
	json_decref(resealed);
	return text;
}

START_TEST(a_good_chain_passes)
{
	ck_assert_uint_eq(check(line, N), 0);
	ck_assert(says("6 seals: sequence 1..6, 2026-09-21T14:13:20.000Z .. 2026-09-21T14:13:26.000Z"));
	ck_assert(says("chain: ok"));
	/* a chain whose older files were rotated away: noted, not a problem */
	ck_assert_uint_eq(check(line + 2, N - 2), 0);
	ck_assert(says("continues sequence 2, not in these files"));
}
END_TEST

START_TEST(tampered_energy_is_caught)
{
	char *v[N];
	memcpy(v, line, sizeof v);
	char *t = strdup(line[3]);
	char *at = strstr(t, "\"raw_uj\":");
	ck_assert_ptr_nonnull(at);
	at[9] = at[9] == '9' ? '8' : (char)(at[9] + 1);   /* one digit of the raw energy */
	v[3] = t;
	ck_assert_uint_ge(check(v, N), 3);
	ck_assert(says("f:4: signature"));
	ck_assert(says("f:4: packages[0].package: raw_uj"));
	ck_assert(says("f:5: prev_seal_sha256 is not the hash of the previous payload (f:4)"));
	free(t);
}
END_TEST

START_TEST(another_key_is_refused)
{
	struct seal_key other;
	char *v[N];
	testchain_key(&other, 4);
	memcpy(v, line, sizeof v);
	v[1] = resign(1, &other, NULL);
	ck_assert_uint_eq(check(v, N), 1);        /* same payload: the links still hold */
	ck_assert(says("f:2: signature"));
	free(v[1]);
}
END_TEST

START_TEST(swapped_and_deleted_lines_are_caught)
{
	char *v[N];
	memcpy(v, line, sizeof v);
	v[2] = line[3];
	v[3] = line[2];
	ck_assert_uint_gt(check(v, N), 0);
	ck_assert(says("f:3: sequence 4 after 2 (f:2): expected 3"));
	ck_assert(says("f:3: period starts at"));

	char *d[N - 1] = { line[0], line[1], line[3], line[4], line[5] };
	ck_assert_uint_gt(check(d, N - 1), 0);
	ck_assert(says("f:3: sequence 4 after 2"));
	ck_assert(says("a gap of 1.000 s"));
}
END_TEST

static void shift_start(json_t *p)
{
	json_t *per = json_object_get(p, "period");
	json_int_t s = (json_int_t)json_number_value(json_object_get(per, "start_unix_us"));
	json_object_set_new(per, "start_unix_us", json_integer(s + 5000));
}

static void steal_energy(json_t *p)
{
	json_t *o = json_object_get(p, "other");
	json_object_set_new(o, "package_uj", json_integer(0));
	json_object_set_new(o, "energy_uj", json_integer(0));
}

static void cut_reason(json_t *p)
{
	json_object_set_new(p, "complete", json_true());
}

START_TEST(signed_but_wrong_time_or_sums_are_caught)
{
	char *v[N];
	memcpy(v, line, sizeof v);
	v[4] = resign(4, &key, shift_start);     /* signed by the monitor's own key */
	ck_assert_uint_ge(check(v, N), 2);
	ck_assert(says("f:5: period.start"));
	ck_assert(says("f:5: period starts at"));
	ck_assert_msg(says("a gap of 0.005 s"), "%s", report);
	free(v[4]);

	memcpy(v, line, sizeof v);
	v[4] = resign(4, &key, steal_energy);
	ck_assert_uint_ge(check(v, N), 2);
	ck_assert(says("f:5: processes' energy_uj"));
	ck_assert(says("f:5: processes' package_uj"));
	ck_assert(!says("f:5: signature"));
	free(v[4]);

	memcpy(v, line, sizeof v);
	v[2] = resign(2, &key, cut_reason);       /* the failed interval hidden */
	ck_assert_uint_ge(check(v, N), 1);
	ck_assert(says("f:3: packages[0]: 1 failed intervals, yet complete is true"));
	free(v[2]);
}
END_TEST

static void drop_prev(json_t *p)
{
	json_object_set_new(p, "prev_seal_sha256", json_null());
}

START_TEST(the_first_link_and_bad_lines)
{
	char *v[2] = { NULL, line[1] };
	v[0] = resign(1, &key, drop_prev);        /* sequence 2 claiming no predecessor */
	ck_assert_uint_eq(check(v, 1), 1);
	ck_assert(says("f:1: sequence 2 without a prev_seal_sha256"));
	free(v[0]);

	char junk[] = "not json";
	char *bad[3] = { line[0], junk, line[1] };
	ck_assert_uint_ge(check(bad, 3), 1);
	ck_assert(says("f:2: not a seal"));

	ck_assert_uint_eq(check(NULL, 0), 1);
	ck_assert(says("no seals in these files"));
}
END_TEST

static void write_lines(const char *p, char *const *v, size_t n, bool last_newline)
{
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", v[i], i + 1 < n || last_newline ? "\n" : "");
	ck_assert_int_eq(fclose(f), 0);
}

/* The tool: files in chain order, a torn tail, a line too long, exit codes. */
static int tool(const char *args)
{
	char cmd[1024];
	const char *b = getenv("JT_BUILDDIR");
	ck_assert_ptr_nonnull(b);
	snprintf(cmd, sizeof cmd, "'%s/jouletrace-verify' %s > '%s/out' 2>&1", b, args, dir);
	int st = system(cmd);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

START_TEST(jouletrace_verify_chain)
{
	char a[160], b[160], pub[160], args[800];
	snprintf(a, sizeof a, "%s/a.jsonl", dir);
	snprintf(b, sizeof b, "%s/b.jsonl", dir);
	snprintf(pub, sizeof pub, "%s/pub", dir);
	testutil_write(dir, "pub", key.public_b64);
	write_lines(a, line, 3, true);
	write_lines(b, line + 3, 3, true);
	snprintf(args, sizeof args, "--chain --pubkey '%s' '%s' '%s'", pub, a, b);
	ck_assert_int_eq(tool(args), 0);
	snprintf(args, sizeof args, "--chain --pubkey '%s' '%s' '%s'", pub, b, a);   /* wrong order */
	ck_assert_int_eq(tool(args), 1);
	snprintf(args, sizeof args, "--chain --pubkey '%s' '%s' '%s/missing'", pub, a, dir);
	ck_assert_int_eq(tool(args), 2);
	snprintf(args, sizeof args, "--chain '%s'", a);                              /* no key */
	ck_assert_int_eq(tool(args), 2);

	/* a torn tail: reported with the line, exit 1 */
	write_lines(b, line + 3, 3, false);
	FILE *f = fopen(b, "a");
	fputs("\n{\"payload\":{\"ki", f);
	fclose(f);
	snprintf(args, sizeof args, "--chain --pubkey '%s' '%s' '%s'", pub, a, b);
	ck_assert_int_eq(tool(args), 1);
	char out[256];
	snprintf(out, sizeof out, "%s/out", dir);
	char *text = testutil_read(out, 1 << 16, NULL);
	ck_assert_ptr_nonnull(strstr(text, "b.jsonl:4: torn last line"));
	free(text);

	/* a line longer than any seal: one problem, never held whole */
	f = fopen(b, "w");
	for (unsigned i = 0; i < SEAL_TEXT_MAX / 4096 + 2; i++)
		for (int j = 0; j < 4096; j++)
			fputc('x', f);
	fputc('\n', f);
	fclose(f);
	ck_assert_int_eq(tool(args), 1);
	text = testutil_read(out, 1 << 16, NULL);
	ck_assert_ptr_nonnull(strstr(text, "b.jsonl:1: line longer than"));
	free(text);
}
END_TEST

static Suite *suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("chaincheck", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_good_chain_passes);
	tcase_add_test(tc, tampered_energy_is_caught);
	tcase_add_test(tc, another_key_is_refused);
	tcase_add_test(tc, swapped_and_deleted_lines_are_caught);
	tcase_add_test(tc, signed_but_wrong_time_or_sums_are_caught);
	tcase_add_test(tc, the_first_link_and_bad_lines);
	tcase_add_test(tc, jouletrace_verify_chain);
	return s;
}

TESTUTIL_MAIN(suite)
