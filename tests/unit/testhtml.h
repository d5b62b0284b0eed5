/*
 * testhtml.h — reading the pages the server builds, for the Check unit tests
 * of server/html's users (the report, comparison and dashboard pages).
 * Test support only.
 */
#ifndef JT_TESTHTML_H
#define JT_TESTHTML_H

#include <check.h>
#include <string.h>

#include "html.h"

/* The finished page of h (caller frees); fails the test on h's error. */
static inline char *testhtml_finish(struct html *h)
{
	size_t len;
	int err;
	char *p = html_finish(h, &len, &err);
	ck_assert_int_eq(err, 0);
	ck_assert_uint_eq(strlen(p), len);
	return p;
}

/* How many times needle stands in hay, not overlapping. */
static inline size_t testhtml_count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

#endif
