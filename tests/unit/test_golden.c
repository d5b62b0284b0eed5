/* test_golden.c — a fixed measurement leaves the process as the same bytes
 * as before the layering (tests/golden/golden_print.c says what and how). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "../golden/golden_print.c"

static const char *const names[] = {
	"energy_metrics", "trials", "flags", "attribution (result)", "seal payload (JCS)", "seal",
};

START_TEST(test_bytes_unchanged)
{
	const char *src = getenv("JT_SRCDIR");
	char path[4096], *got = NULL, *want = NULL;
	size_t got_len = 0, want_len = 0;
	ck_assert_msg(src != NULL, "JT_SRCDIR is not set");
	snprintf(path, sizeof path, "%s/tests/golden/expected.txt", src);
	ck_assert_int_eq(util_read_file(path, 1 << 20, &want, &want_len), 0);

	FILE *f = open_memstream(&got, &got_len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(golden_write(f), 0);
	fclose(f);

	/* Name the first document that differs, and where. */
	const char *g = got, *w = want;
	for (size_t doc = 0; doc < sizeof names / sizeof names[0]; doc++) {
		const char *ge = strchr(g, '\n'), *we = strchr(w, '\n');
		ck_assert_msg(ge && we, "%s: missing line", names[doc]);
		size_t gl = (size_t)(ge - g), wl = (size_t)(we - w), i = 0;
		while (i < gl && i < wl && g[i] == w[i])
			i++;
		ck_assert_msg(gl == wl && i == gl, "%s differs at byte %zu: got …%.80s… want …%.80s…",
			      names[doc], i, g + (i > 20 ? i - 20 : 0), w + (i > 20 ? i - 20 : 0));
		g = ge + 1;
		w = we + 1;
	}
	ck_assert_str_eq(g, w);
	free(got);
	free(want);
}
END_TEST

/* Nothing of the host or the clock leaks in: the same bytes twice. */
START_TEST(test_deterministic)
{
	char *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	FILE *f = open_memstream(&a, &al);
	ck_assert_int_eq(golden_write(f), 0);
	fclose(f);
	f = open_memstream(&b, &bl);
	ck_assert_int_eq(golden_write(f), 0);
	fclose(f);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
}
END_TEST

static Suite *golden_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("golden", &tc);
	tcase_add_test(tc, test_bytes_unchanged);
	tcase_add_test(tc, test_deterministic);
	return s;
}

TESTUTIL_MAIN(golden_suite)
