/* test_hostid.c — identity collection from a fake root, and the fingerprint bytes. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostid.h"
#include "util.h"
#include "testutil.h"

static char tmp[64];

static void put(const char *rel, const char *content)
{
	testutil_write(tmp, rel, content);
}

static void setup(void)
{
	testutil_tmpdir(tmp, sizeof tmp, "hostid");
}

static void teardown(void)
{
	testutil_rmtree(tmp);
}

START_TEST(fake_root_fingerprint)
{
	put("etc/machine-id", "0123456789abcdef0123456789abcdef\n");
	put("sys/class/dmi/id/product_uuid", "4c4c4544-0042-3510-8052-b4c04f385a32\n");
	put("sys/class/dmi/id/board_serial", "  SER\t123  \n");   /* trimmed; tab → '?' */
	put("proc/cpuinfo",
	    "processor\t: 0\nvendor_id\t: GenuineIntel\n"
	    "model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\n"
	    "microcode\t: 0x5003604\n\n"
	    "processor\t: 1\nmodel name\t: something else\nmicrocode\t: 0x1\n");
	put("proc/sys/kernel/osrelease", "6.1.0-21-amd64\n");
	put("proc/sys/kernel/version", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.90-1\n");
	put("proc/sys/kernel/hostname", "box1\n");

	struct hostid h;
	ck_assert_int_eq(hostid_collect(tmp, &h), 0);
	ck_assert_str_eq(h.machine_id, "0123456789abcdef0123456789abcdef");
	ck_assert_str_eq(h.product_uuid, "4c4c4544-0042-3510-8052-b4c04f385a32");
	ck_assert_str_eq(h.board_serial, "SER?123");
	ck_assert_str_eq(h.cpu_model, "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz");
	ck_assert_str_eq(h.microcode, "0x5003604");
	ck_assert_str_eq(h.kernel, "6.1.0-21-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.90-1");
	ck_assert_str_eq(h.hostname, "box1");
	/* computed independently: sha256 of the documented canonical bytes */
	ck_assert_str_eq(h.fingerprint,
			 "9eacde950fc3c21195e4cba06abb6e52bf74c3e6e84667f67be8f94bd5d4958d");

	char canon[1024];
	int n = hostid_canonical(&h, canon, sizeof canon);
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(canon,
			 "machine_id=0123456789abcdef0123456789abcdef\n"
			 "product_uuid=4c4c4544-0042-3510-8052-b4c04f385a32\n"
			 "board_serial=SER?123\n"
			 "cpu_model=Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\n"
			 "microcode=0x5003604\n"
			 "kernel=6.1.0-21-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.90-1\n"
			 "hostname=box1\n");
	ck_assert_int_eq(hostid_canonical(&h, canon, 10), -ENOSPC);

	/* any one field changes the fingerprint */
	char before[65];
	memcpy(before, h.fingerprint, sizeof before);
	snprintf(h.microcode, sizeof h.microcode, "0x5003605");
	hostid_fingerprint(&h);
	ck_assert_str_ne(h.fingerprint, before);
}
END_TEST

START_TEST(missing_files_give_empty_fields)
{
	struct hostid h;
	ck_assert_int_eq(hostid_collect(tmp, &h), 0);
	ck_assert_str_eq(h.machine_id, "");
	ck_assert_str_eq(h.product_uuid, "");
	ck_assert_str_eq(h.board_serial, "");
	ck_assert_str_eq(h.cpu_model, "");
	ck_assert_str_eq(h.microcode, "");
	ck_assert_str_eq(h.kernel, "");
	ck_assert_str_eq(h.hostname, "");
	ck_assert_str_eq(h.fingerprint,
			 "66275a65333fca5362a71b4645c45f70f1e9dbc64aea92f078fb6fa6ae44b017");

	/* dbus fallback for machine-id, and values cut to the field size */
	put("var/lib/dbus/machine-id", "feedfacefeedfacefeedfacefeedface\n");
	char longname[400];
	memset(longname, 'h', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	put("proc/sys/kernel/hostname", longname);
	ck_assert_int_eq(hostid_collect(tmp, &h), 0);
	ck_assert_str_eq(h.machine_id, "feedfacefeedfacefeedfacefeedface");
	ck_assert_uint_eq(strlen(h.hostname), sizeof h.hostname - 1);
	ck_assert_int_eq(hostid_collect(NULL, &h), -EINVAL);
}
END_TEST

START_TEST(real_system)
{
	struct hostid h;
	ck_assert_int_eq(hostid_collect("", &h), 0);
	ck_assert_str_ne(h.kernel, "");
	ck_assert_str_ne(h.hostname, "");
	ck_assert_uint_eq(strlen(h.fingerprint), 64);
	struct hostid again;
	ck_assert_int_eq(hostid_collect("", &again), 0);
	ck_assert_str_eq(h.fingerprint, again.fingerprint);   /* stable */
}
END_TEST

static Suite *hostid_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("hostid", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fake_root_fingerprint);
	tcase_add_test(tc, missing_files_give_empty_fields);
	tcase_add_test(tc, real_system);
	return s;
}

TESTUTIL_MAIN(hostid_suite)
