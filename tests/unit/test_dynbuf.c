/* dynbuf: the limit holds, content stays NUL-terminated, read-style use, consume, take. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "testutil.h"

START_TEST(add_within_and_over_the_limit)
{
	struct dynbuf b;
	dynbuf_init(&b, 10);
	ck_assert_ptr_null(b.p);
	ck_assert_int_eq(dynbuf_add_str(&b, "hello"), 0);
	ck_assert_int_eq(dynbuf_add(&b, " you", 4), 0);
	ck_assert_str_eq(b.p, "hello you");
	ck_assert_uint_eq(b.len, 9);
	/* two more would pass 10: refused, nothing changed */
	ck_assert_int_eq(dynbuf_add(&b, "!!", 2), -E2BIG);
	ck_assert_str_eq(b.p, "hello you");
	ck_assert_int_eq(dynbuf_add(&b, "!", 1), 0);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_uint_le(b.cap, 11);   /* never more than max + 1 allocated */
	ck_assert_int_eq(dynbuf_add(&b, "", 0), 0);
	dynbuf_free(&b);
	ck_assert_ptr_null(b.p);
}
END_TEST

START_TEST(space_commit_consume_take)
{
	struct dynbuf b;
	char *at;
	size_t room, len;
	dynbuf_init(&b, 1000);
	ck_assert_int_eq(dynbuf_space(&b, 4096, &at, &room), 0);
	ck_assert_uint_ge(room, 1);
	ck_assert_uint_le(room, 1000);   /* never past max */
	memcpy(at, "line one\nline two", 17);
	dynbuf_commit(&b, 17);
	ck_assert_str_eq(b.p, "line one\nline two");
	dynbuf_consume(&b, 9);
	ck_assert_str_eq(b.p, "line two");
	/* fill to the limit: then no room at all */
	while (b.len < 1000) {
		ck_assert_int_eq(dynbuf_space(&b, 300, &at, &room), 0);
		memset(at, 'x', room);
		dynbuf_commit(&b, room);
	}
	ck_assert_uint_eq(b.len, 1000);
	ck_assert_int_eq(dynbuf_space(&b, 1, &at, &room), -E2BIG);
	char *p = dynbuf_take(&b, &len);
	ck_assert_uint_eq(len, 1000);
	ck_assert_uint_eq(strlen(p), 1000);
	ck_assert_ptr_null(b.p);
	free(p);
	/* room asked for and nothing written (read(2) at EOF): still a string */
	ck_assert_int_eq(dynbuf_space(&b, 64, &at, &room), 0);
	ck_assert_str_eq(b.p, "");
	dynbuf_commit(&b, 0);
	p = dynbuf_take(&b, &len);
	ck_assert_str_eq(p, "");
	free(p);
	/* an empty buffer still hands out a string */
	p = dynbuf_take(&b, &len);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(len, 0);
	free(p);
	dynbuf_consume(&b, 5);   /* nothing there: a no-op */
	dynbuf_free(&b);
}
END_TEST

/* Lines as the harness's replies arrive: in pieces, several at once, with NULs. */
START_TEST(take_lines)
{
	struct dynbuf b;
	size_t scan = 0, len = 7;
	char *line = (char *)1;

	dynbuf_init(&b, 64);
	ck_assert_int_eq(dynbuf_take_line(&b, &scan, &line, &len), -EAGAIN);   /* empty */
	ck_assert_ptr_null(line);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(dynbuf_add_str(&b, "{\"a\":"), 0);
	ck_assert_int_eq(dynbuf_take_line(&b, &scan, &line, &len), -EAGAIN);
	ck_assert_uint_eq(scan, 5);   /* searched once */
	ck_assert_int_eq(dynbuf_add(&b, "1}\nx\0y\n\nrest", 12), 0);
	ck_assert_int_eq(dynbuf_take_line(&b, &scan, &line, &len), 0);
	ck_assert_str_eq(line, "{\"a\":1}");
	ck_assert_uint_eq(len, 7);
	free(line);
	ck_assert_int_eq(dynbuf_take_line(&b, &scan, &line, &len), 0);
	ck_assert_uint_eq(len, 3);   /* the NUL is part of the line */
	ck_assert_mem_eq(line, "x\0y", 4);
	free(line);
	ck_assert_int_eq(dynbuf_take_line(&b, &scan, &line, &len), 0);
	ck_assert_str_eq(line, "");
	free(line);
	ck_assert_int_eq(dynbuf_take_line(&b, &scan, &line, &len), -EAGAIN);
	ck_assert_str_eq(b.p, "rest");
	ck_assert_uint_eq(scan, 4);
	dynbuf_free(&b);
}
END_TEST

static Suite *dynbuf_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("dynbuf", &tc);
	tcase_add_test(tc, add_within_and_over_the_limit);
	tcase_add_test(tc, space_commit_consume_take);
	tcase_add_test(tc, take_lines);
	return s;
}

TESTUTIL_MAIN(dynbuf_suite)
