/* Unit tests for lib/api/units: SI prefixes, three significant digits. */
#include <check.h>
#include <math.h>

#include "testutil.h"
#include "units.h"

START_TEST(prefixes)
{
	char b[32];
	ck_assert_str_eq(units_si(b, sizeof b, 0.001819421888, "J"), "1.82 mJ");
	ck_assert_str_eq(units_si(b, sizeof b, 13.152631894, "W"), "13.2 W");
	ck_assert_str_eq(units_si(b, sizeof b, 0.2044537985, "s"), "204 ms");
	ck_assert_str_eq(units_si(b, sizeof b, 0.000731, "J"), "731 \xc2\xb5J");
	ck_assert_str_eq(units_si(b, sizeof b, 2.4822, "J"), "2.48 J");
	ck_assert_str_eq(units_si(b, sizeof b, 0.9996, "J"), "1.00 J");      /* 999.6 mJ rounds up */
	ck_assert_str_eq(units_si(b, sizeof b, 12345, "J"), "12.3 kJ");
	ck_assert_str_eq(units_si(b, sizeof b, -0.0025, "J"), "-2.50 mJ");
	ck_assert_str_eq(units_si(b, sizeof b, 0, "J"), "0 J");
	ck_assert_str_eq(units_si(b, sizeof b, 3e-15, "J"), "0.00 pJ");       /* clamped to pico */
	ck_assert_str_eq(units_si(b, sizeof b, NAN, "J"), "\xe2\x88\x92");
	ck_assert_str_eq(units_si(b, sizeof b, INFINITY, "J"), "\xe2\x88\x92");
	char tiny[4];
	units_si(tiny, sizeof tiny, 1.5, "J");
	ck_assert_str_eq(tiny, "1.5");                                          /* truncated, terminated */
}
END_TEST

static Suite *units_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("units", &tc);
	tcase_add_test(tc, prefixes);
	return s;
}

TESTUTIL_MAIN(units_suite)
