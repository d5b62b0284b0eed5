/*
 * testdata.h — recorded inputs for the Check unit tests: the JSON files under
 * tests/unit/data/ (real task replies recorded from a model-meter stack),
 * found through JT_SRCDIR as `make test` sets it.  Test support only.
 */
#ifndef JT_TESTDATA_H
#define JT_TESTDATA_H

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

/* tests/unit/data/NAME parsed (a new reference); fails the test otherwise. */
static inline json_t *testdata_json(const char *name)
{
	char path[512];
	const char *src = getenv("JT_SRCDIR");
	ck_assert_msg(src != NULL, "JT_SRCDIR is not set");
	snprintf(path, sizeof path, "%s/tests/unit/data/%s", src, name);
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	ck_assert_msg(j != NULL, "%s: %s", path, e.text);
	return j;
}

#endif
