/* Unit tests for server/html: escaping, the shell, sticky errors. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "testutil.h"

START_TEST(escapes_every_special_character)
{
	struct html h;
	html_init(&h);
	html_text(&h, "<script>alert('x')</script> & \"q\"");
	html_textn(&h, "a<b\0<c", 6);      /* n bytes, even past a NUL */
	html_text(&h, NULL);
	size_t len;
	int err;
	char *p = html_finish(&h, &len, &err);
	ck_assert_int_eq(err, 0);
	ck_assert_str_eq(p, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;a&lt;b");
	ck_assert_uint_eq(len, strlen(p) + 1 + strlen("&lt;c"));
	ck_assert_str_eq(p + strlen(p) + 1, "&lt;c");
	free(p);
}
END_TEST

START_TEST(shell_escapes_the_title)
{
	struct html h;
	html_init(&h);
	html_begin(&h, "<img src=x onerror=alert(1)>", NULL);
	html_rawf(&h, "<p>%d</p>", 42);
	html_end(&h);
	size_t len;
	int err;
	char *p = html_finish(&h, &len, &err);
	ck_assert_int_eq(err, 0);
	ck_assert(strncmp(p, "<!DOCTYPE html>", 15) == 0);
	ck_assert_ptr_null(strstr(p, "<img"));
	ck_assert_ptr_nonnull(strstr(p, "&lt;img src=x onerror=alert(1)&gt;"));
	ck_assert_ptr_nonnull(strstr(p, "<p>42</p>"));
	ck_assert_ptr_nonnull(strstr(p, "</html>"));
	free(p);
}
END_TEST

START_TEST(errors_stick)
{
	struct html h;
	html_init(&h);
	h.b.max = 8;                       /* a tiny limit */
	ck_assert_int_eq(html_raw(&h, "12345"), 0);
	ck_assert_int_eq(html_text(&h, "<<<<"), -E2BIG);
	ck_assert_int_eq(html_raw(&h, "x"), -E2BIG);   /* later calls do nothing */
	char big[1000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	ck_assert_int_eq(html_rawf(&h, "%s", big), -E2BIG);
	size_t len;
	int err;
	ck_assert_ptr_null(html_finish(&h, &len, &err));
	ck_assert_int_eq(err, -E2BIG);
	html_free(&h);
}
END_TEST

static Suite *html_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("html", &tc);
	tcase_add_test(tc, escapes_every_special_character);
	tcase_add_test(tc, shell_escapes_the_title);
	tcase_add_test(tc, errors_stick);
	return s;
}

TESTUTIL_MAIN(html_suite)
