/* test_util.c — util_items_next, the one reader of separated lists. */
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

/* The items of list, as "[a][b]" (blanks trimmed, empty items as "[]"). */
static void items(const char *list, char sep, char *out, size_t cap)
{
	struct util_items it = { .rest = list, .sep = sep };
	size_t n = 0;

	out[0] = '\0';
	while (util_items_next(&it))
		n += (size_t)snprintf(out + n, cap - n, "[%.*s]", (int)it.len, it.item);
}

START_TEST(items_of_lists)
{
	static const struct { const char *list, *want; } cases[] = {
		{ NULL, "" },
		{ "", "" },
		{ "a", "[a]" },
		{ "a;b", "[a][b]" },
		{ " a ; b\t", "[a][b]" },
		{ "a;", "[a][]" },
		{ ";a", "[][a]" },
		{ "a;;b", "[a][][b]" },
		{ ";", "[][]" },
		{ "  ", "[]" },
		{ "a b;c", "[a b][c]" },
		{ "x,y;z", "[x,y][z]" },
	};
	char got[128];

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		items(cases[i].list, ';', got, sizeof got);
		ck_assert_msg(strcmp(got, cases[i].want) == 0, "\"%s\": got %s, want %s",
			      cases[i].list ? cases[i].list : "(null)", got, cases[i].want);
	}
	items("h:1, h:2", ',', got, sizeof got);
	ck_assert_str_eq(got, "[h:1][h:2]");
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("items");
	tcase_add_test(tc, items_of_lists);
	suite_add_tcase(s, tc);
	return s;
}

TESTUTIL_MAIN(util_suite)
