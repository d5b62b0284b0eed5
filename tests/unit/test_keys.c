/* Key names and id validation: the only place user input meets key names. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "keys.h"
#include "testutil.h"

#define ID "0f8fad5b-d9cb-469f-a165-70867728950e"

START_TEST(task_ids)
{
	ck_assert(keys_task_id_valid(ID));
	ck_assert(!keys_task_id_valid(NULL));
	ck_assert(!keys_task_id_valid(""));
	ck_assert(!keys_task_id_valid("0F8FAD5B-D9CB-469F-A165-70867728950E")); /* upper case */
	ck_assert(!keys_task_id_valid(ID "0"));                                  /* too long */
	ck_assert(!keys_task_id_valid("0f8fad5b-d9cb-469f-a165-70867728950"));  /* too short */
	ck_assert(!keys_task_id_valid("0f8fad5bd-9cb-469f-a165-70867728950e"));  /* dash moved */
	ck_assert(!keys_task_id_valid("0f8fad5b-d9cb-469f-a165-70867728950g"));
	ck_assert(!keys_task_id_valid("../../../../../../../../../etc/passwd"));
	ck_assert(!keys_task_id_valid("0f8fad5b-d9cb-469f-a165-70867728950*"));
}
END_TEST

START_TEST(other_ids)
{
	char big[KEYS_ID_MAX + 2];
	ck_assert(keys_id_valid("host-1.example.com"));
	ck_assert(keys_id_valid("worker@host:cpu1_a"));
	ck_assert(!keys_id_valid(""));
	ck_assert(!keys_id_valid(NULL));
	ck_assert(!keys_id_valid("has space"));
	ck_assert(!keys_id_valid("star*"));
	ck_assert(!keys_id_valid("brace{x}"));
	ck_assert(!keys_id_valid("new\nline"));
	memset(big, 'a', sizeof big);
	big[KEYS_ID_MAX] = '\0';
	ck_assert(keys_id_valid(big));
	big[KEYS_ID_MAX] = 'a';
	big[KEYS_ID_MAX + 1] = '\0';
	ck_assert(!keys_id_valid(big));

	ck_assert(keys_kind_valid("measure"));
	ck_assert(keys_kind_valid("validate"));
	ck_assert(!keys_kind_valid("Measure"));
	ck_assert(!keys_kind_valid(NULL));
	ck_assert(keys_status_valid("cancelled"));
	ck_assert(!keys_status_valid("canceled"));
}
END_TEST

START_TEST(formats)
{
	char b[KEYS_MAX];
	char sha[65];
	memset(sha, 'a', 64);
	sha[64] = '\0';

	ck_assert_int_eq(keys_task(b, sizeof b, ID), 0);
	ck_assert_str_eq(b, "jt:task:" ID);
	ck_assert_int_eq(keys_queue(b, sizeof b, "measure"), 0);
	ck_assert_str_eq(b, "jt:q:measure");
	ck_assert_int_eq(keys_proc(b, sizeof b, "validate", "w1"), 0);
	ck_assert_str_eq(b, "jt:proc:validate:w1");
	ck_assert_int_eq(keys_proc_prefix(b, sizeof b, "measure"), 0);
	ck_assert_str_eq(b, "jt:proc:measure:");
	ck_assert_int_eq(keys_attempts(b, sizeof b, "measure"), 0);
	ck_assert_str_eq(b, "jt:attempts:measure");
	ck_assert_int_eq(keys_dead(b, sizeof b, "measure"), 0);
	ck_assert_str_eq(b, "jt:dead:measure");
	ck_assert_int_eq(keys_hb(b, sizeof b, "w1"), 0);
	ck_assert_str_eq(b, "jt:hb:w1");
	ck_assert_int_eq(keys_lock(b, sizeof b, "h"), 0);
	ck_assert_str_eq(b, "jt:lock:h");
	ck_assert_int_eq(keys_fence(b, sizeof b, "h"), 0);
	ck_assert_str_eq(b, "jt:fence:h");
	ck_assert_int_eq(keys_idem(b, sizeof b, sha), 0);
	ck_assert_str_eq(b, "jt:idem:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	ck_assert_int_eq(keys_vreply(b, sizeof b, "req-1"), 0);
	ck_assert_str_eq(b, "jt:vreply:req-1");
	ck_assert_int_eq(keys_count(b, sizeof b, "queued"), 0);
	ck_assert_str_eq(b, "jt:live:queued");
	ck_assert_int_eq(keys_count(b, sizeof b, "failed"), 0);
	ck_assert_str_eq(b, "jt:count:failed");
	ck_assert_str_eq(KEYS_WORKERS, "jt:workers");
}
END_TEST

START_TEST(rejects)
{
	char b[KEYS_MAX];
	char sha[66];
	memset(sha, 'a', 65);
	sha[65] = '\0';

	ck_assert_int_eq(keys_task(b, sizeof b, "nope"), -EINVAL);
	ck_assert_int_eq(keys_queue(b, sizeof b, "other"), -EINVAL);
	ck_assert_int_eq(keys_proc(b, sizeof b, "measure", "a b"), -EINVAL);
	ck_assert_int_eq(keys_idem(b, sizeof b, sha), -EINVAL);       /* 65 digits */
	sha[64] = '\0';
	sha[3] = 'G';
	ck_assert_int_eq(keys_idem(b, sizeof b, sha), -EINVAL);       /* not hex */
	ck_assert_int_eq(keys_count(b, sizeof b, "lost"), -EINVAL);
	ck_assert_int_eq(keys_lock(b, sizeof b, ""), -EINVAL);
}
END_TEST

START_TEST(too_small)
{
	char b[KEYS_MAX];
	char big[KEYS_ID_MAX + 1];
	memset(big, 'z', KEYS_ID_MAX);
	big[KEYS_ID_MAX] = '\0';

	ck_assert_int_eq(keys_task(b, 45, ID), 0);              /* 44 chars + NUL */
	ck_assert_int_eq(strlen(b), 44);
	ck_assert_int_eq(keys_task(b, 44, ID), -ENAMETOOLONG);
	ck_assert_str_eq(b, "");                                  /* never half a key */
	ck_assert_int_eq(keys_queue(b, 0, "measure"), -ENAMETOOLONG);
	/* the longest valid ids still fit KEYS_MAX */
	ck_assert_int_eq(keys_proc(b, sizeof b, "validate", big), 0);
	ck_assert_int_eq(keys_vreply(b, sizeof b, big), 0);
}
END_TEST

static Suite *keys_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("keys", &tc);
	tcase_add_test(tc, task_ids);
	tcase_add_test(tc, other_ids);
	tcase_add_test(tc, formats);
	tcase_add_test(tc, rejects);
	tcase_add_test(tc, too_small);
	return s;
}

TESTUTIL_MAIN(keys_suite)
