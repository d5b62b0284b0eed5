/*
 * test_jcs.c — RFC 8785 canonicalization: the public vectors in
 * shared/jcs-vectors, UTF-16 key order, escapes, number formatting against
 * fixed expectations and (when `node` is on PATH, or JT_NODE names it) against
 * ECMAScript String(x) for >100,000 generated doubles, and every refusal.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jcs.h"
#include "util.h"

extern char **environ;

static const char *srcdir(void)
{
	const char *s = getenv("JT_SRCDIR");
	return s && *s ? s : ".";
}

/* Canonical text of text, or NULL with *rc set. */
static char *canon(const char *text, int *rc)
{
	char *out = (char *)1, msg[256];
	size_t len = 0;
	*rc = jcs_canonicalize_text(text, strlen(text), &out, &len, msg, sizeof msg);
	if (*rc) {
		ck_assert_ptr_null(out);
		ck_assert_msg(msg[0], "an error must come with a message");
		return NULL;
	}
	ck_assert_uint_eq(strlen(out), len);
	return out;
}

static void expect_canon(const char *text, const char *want)
{
	int rc;
	char *got = canon(text, &rc);
	ck_assert_msg(got, "canonicalize %s failed: %d", text, rc);
	ck_assert_str_eq(got, want);
	free(got);
}

static void expect_canon_fails(const char *text, const char *msg_part)
{
	char *out = (char *)1, msg[256];
	size_t len = 0;
	int rc = jcs_canonicalize_text(text, strlen(text), &out, &len, msg, sizeof msg);
	ck_assert_msg(rc == -EINVAL, "%s: rc %d, want -EINVAL", text, rc);
	ck_assert_ptr_null(out);
	if (msg_part)
		ck_assert_msg(strstr(msg, msg_part), "%s: message '%s' lacks '%s'", text, msg, msg_part);
}

/* Serializes v (and drops the reference); NULL with *rc on error. */
static char *ser(json_t *v, int *rc)
{
	char *out = (char *)1;
	size_t len = 0;
	ck_assert_ptr_nonnull(v);
	*rc = jcs_serialize(v, &out, &len);
	json_decref(v);
	if (*rc) {
		ck_assert_ptr_null(out);
		return NULL;
	}
	ck_assert_uint_eq(strlen(out), len);
	return out;
}

static void expect_ser(json_t *v, const char *want)
{
	int rc;
	char *got = ser(v, &rc);
	ck_assert_msg(got, "serialize failed: %d (want %s)", rc, want);
	ck_assert_str_eq(got, want);
	free(got);
}

static void expect_ser_fails(json_t *v)
{
	int rc;
	char *got = ser(v, &rc);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(rc, -EINVAL);
}

/* ---- public vectors ---------------------------------------------------- */

START_TEST(public_vectors)
{
	char dir[4096], in[4200], outp[4200];
	snprintf(dir, sizeof dir, "%s/../shared/jcs-vectors/input", srcdir());
	DIR *d = opendir(dir);
	if (!d) {
		printf("test_jcs: SKIPPED public vectors: %s not found\n", dir);
		return;
	}
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		if (nl < 6 || strcmp(de->d_name + nl - 5, ".json"))
			continue;
		char *itext, *want, *got, msg[256];
		size_t ilen, wlen, glen;
		snprintf(in, sizeof in, "%s/%s", dir, de->d_name);
		snprintf(outp, sizeof outp, "%s/../shared/jcs-vectors/output/%s", srcdir(), de->d_name);
		ck_assert_int_eq(util_read_file(in, 1 << 20, &itext, &ilen), 0);
		ck_assert_msg(util_read_file(outp, 1 << 20, &want, &wlen) == 0, "no output for %s", in);
		int rc = jcs_canonicalize_text(itext, ilen, &got, &glen, msg, sizeof msg);
		ck_assert_msg(rc == 0, "%s: %d %s", de->d_name, rc, msg);
		ck_assert_msg(glen == wlen && memcmp(got, want, wlen) == 0,
		              "%s:\n got  %s\n want %s", de->d_name, got, want);
		free(itext);
		free(want);
		free(got);
		n++;
	}
	closedir(d);
	ck_assert_int_ge(n, 6);
	printf("test_jcs: %d public vectors matched\n", n);
}
END_TEST

/* ---- key order --------------------------------------------------------- */

START_TEST(utf16_sort_order)
{
	/* RFC 8785 §3.2.3; byte order would put U+FB33 before the emoji */
	expect_canon("{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\","
	             "\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\","
	             "\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\","
	             "\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}",
	             "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
	             "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
	             "\"\xe2\x82\xac\":\"Euro Sign\",\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
	             "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");

	/* the same through jcs_serialize on a value we build */
	json_t *o = json_object();
	json_object_set_new(o, "\xe2\x82\xac", json_integer(1));
	json_object_set_new(o, "\r", json_integer(2));
	json_object_set_new(o, "\xf0\x9f\x98\x80", json_integer(3));
	json_object_set_new(o, "\xef\xac\xb3", json_integer(4));
	json_object_set_new(o, "1", json_integer(5));
	json_object_set_new(o, "a", json_integer(6));
	expect_ser(o, "{\"\\r\":2,\"1\":5,\"a\":6,\"\xe2\x82\xac\":1,"
	              "\"\xf0\x9f\x98\x80\":3,\"\xef\xac\xb3\":4}");

	/* U+10000 (D800 DC00) sorts before U+FFFF; prefixes first; case-sensitive */
	o = json_object();
	json_object_set_new(o, "\xef\xbf\xbf", json_null());
	json_object_set_new(o, "\xf0\x90\x80\x80", json_null());
	json_object_set_new(o, "ab", json_null());
	json_object_set_new(o, "a", json_null());
	json_object_set_new(o, "", json_null());
	json_object_set_new(o, "B", json_null());
	expect_ser(o, "{\"\":null,\"B\":null,\"a\":null,\"ab\":null,"
	              "\"\xf0\x90\x80\x80\":null,\"\xef\xbf\xbf\":null}");

	/* nested objects are sorted too; arrays keep their order */
	expect_canon("{\"b\":[3,1,{\"z\":1,\"y\":2}],\"a\":{\"d\":1,\"c\":2}}",
	             "{\"a\":{\"c\":2,\"d\":1},\"b\":[3,1,{\"y\":2,\"z\":1}]}");
	expect_ser(json_object(), "{}");
	expect_ser(json_array(), "[]");
}
END_TEST

/* ---- strings ----------------------------------------------------------- */

START_TEST(string_escapes)
{
	static const char raw[] = "a\0b\x01\x1f\x7f\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x82<";
	expect_ser(json_stringn(raw, sizeof raw - 1),
	           "\"a\\u0000b\\u0001\\u001f\x7f\\\"\\\\/\\b\\f\\n\\r\\t\xc3\xa9\xf0\x9f\x98\x82<\"");
	/* escapes in the input are decoded, then re-escaped the JCS way */
	expect_canon("\"\\u001F\\u00e9\\/\\u0041\\u000b\\u007f\"", "\"\\u001f\xc3\xa9/A\\u000b\x7f\"");
	expect_canon("\"\\u0000\"", "\"\\u0000\"");
	/* keys get the same escaping */
	expect_canon("{\"\\n\\u0001\\\"\":true}", "{\"\\n\\u0001\\\"\":true}");
	/* no normalization */
	expect_canon("\"A\\u030a\"", "\"A\xcc\x8a\"");
	/* strict UTF-8 boundaries that are valid */
	expect_ser(json_string("\xc2\x80\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf"),
	           "\"\xc2\x80\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\"");
	/* scalars at the top level */
	expect_canon(" true ", "true");
	expect_canon("null", "null");
	expect_canon("[false , null,\"x\" ]", "[false,null,\"x\"]");
}
END_TEST

START_TEST(invalid_utf8_refused)
{
	static const char *bad[] = {
		"\xed\xa0\x80",         /* encoded lone surrogate U+D800 */
		"\xed\xa0\xbd\xed\xb8\x80", /* CESU-8 pair */
		"\xc0\x80",             /* overlong NUL */
		"\xe0\x80\xaf",         /* overlong '/' */
		"\xf0\x80\x80\xaf",
		"\xff", "\x80", "x\xc3",
		"\xe2\x82",             /* truncated */
		"\xf0\x9f\x98",
		"\xf4\x90\x80\x80",     /* above U+10FFFF */
		"\xf5\x80\x80\x80",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		expect_ser_fails(json_stringn_nocheck(bad[i], strlen(bad[i])));
		json_t *o = json_object();
		json_object_set_new_nocheck(o, bad[i], json_true());
		expect_ser_fails(o);
		/* deep inside, the error still propagates */
		expect_ser_fails(json_pack("[i,{s:[o]}]", 1, "k", json_stringn_nocheck(bad[i], strlen(bad[i]))));
	}
	/* lone surrogates and raw invalid bytes in text */
	expect_canon_fails("\"\\ud800\"", "Unicode");
	expect_canon_fails("\"\\udc00\"", "Unicode");
	expect_canon_fails("{\"\\ud83d\":1}", "Unicode");
	expect_canon_fails("\"\\ud83dx\"", NULL);
	expect_canon_fails("\"\xff\"", NULL);
	expect_canon_fails("\"\xed\xa0\x80\"", NULL);
}
END_TEST

/* ---- refusals ----------------------------------------------------------- */

START_TEST(duplicates_and_malformed)
{
	expect_canon_fails("{\"a\":1,\"a\":2}", "duplicate");
	expect_canon_fails("[{\"b\":{\"x\":1,\"y\":2,\"x\":1}}]", "duplicate");
	expect_canon_fails("{\"\\u0061\":1,\"a\":1}", "duplicate");
	expect_canon_fails("", NULL);
	expect_canon_fails("[1,]", NULL);
	expect_canon_fails("{\"a\":1} x", NULL);
	expect_canon_fails("{'a':1}", NULL);
	/* "a" and "\u0061" differ only in spelling: same key, no duplicate here */
	expect_canon("{\"\\u0061\":1,\"b\":1}", "{\"a\":1,\"b\":1}");

	/* msg is optional; bad arguments */
	char *out = (char *)1;
	size_t len;
	ck_assert_int_eq(jcs_canonicalize_text("{\"a\":1,\"a\":2}", 13, &out, &len, NULL, 0), -EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(jcs_canonicalize_text(NULL, 0, &out, &len, NULL, 0), -EINVAL);
	ck_assert_int_eq(jcs_serialize(NULL, &out, &len), -EINVAL);
	/* len is honoured: the text need not be NUL-terminated */
	ck_assert_int_eq(jcs_canonicalize_text("[1, 2]garbage", 6, &out, &len, NULL, 0), 0);
	ck_assert_str_eq(out, "[1,2]");
	free(out);
}
END_TEST

START_TEST(non_finite_refused)
{
	char buf[JCS_DOUBLE_BUFSZ];
	ck_assert_int_eq(jcs_format_double(NAN, buf, sizeof buf), -EINVAL);
	ck_assert_int_eq(jcs_format_double(INFINITY, buf, sizeof buf), -EINVAL);
	ck_assert_int_eq(jcs_format_double(-INFINITY, buf, sizeof buf), -EINVAL);
	ck_assert_int_eq(jcs_format_double(1.0, buf, JCS_DOUBLE_BUFSZ - 1), -EINVAL);
	ck_assert_int_eq(jcs_format_double(1.0, NULL, 64), -EINVAL);
	/* jansson refuses to build a non-finite real; text is the only way in */
	ck_assert_ptr_null(json_real(NAN));
	expect_canon_fails("NaN", NULL);
	expect_canon_fails("[Infinity]", NULL);
	expect_canon_fails("1e400", "overflow");
	expect_canon_fails("[-1e400]", "overflow");
	expect_canon_fails("{\"a\":1" "00000000000000000000000000000000000000000000000000"
	                   "0000000000000000000000000000000000000000000000000000000000000000"
	                   "0000000000000000000000000000000000000000000000000000000000000000"
	                   "0000000000000000000000000000000000000000000000000000000000000000"
	                   "0000000000000000000000000000000000000000000000000000000000000000"
	                   "00000000000000000000000000000000000000000000000000000000000}", NULL);
}
END_TEST

START_TEST(integers)
{
	expect_ser(json_integer(0), "0");
	expect_ser(json_integer(-7), "-7");
	expect_ser(json_integer(JCS_MAX_SAFE_INT), "9007199254740991");
	expect_ser(json_integer(-JCS_MAX_SAFE_INT), "-9007199254740991");
	expect_ser_fails(json_integer(JCS_MAX_SAFE_INT + 1));
	expect_ser_fails(json_integer(-JCS_MAX_SAFE_INT - 1));
	expect_ser_fails(json_integer(INT64_MAX));
	expect_ser_fails(json_integer(INT64_MIN));
	expect_ser_fails(json_pack("{s:{s:I}}", "a", "b", (json_int_t)1 << 60));
	/* a real of the same value is a double already: fine */
	expect_ser(json_real(9007199254740992.0), "9007199254740992");
	expect_ser(json_real(3.0), "3");
	expect_ser(json_real(-0.0), "0");
	expect_ser(json_real(1e21), "1e+21");
	expect_ser(json_real(0.1), "0.1");

	/* text: every number goes through the double, as RFC 8785 defines it */
	expect_canon("[1.0, 56.0, -0, 0.0, -0.0, 1E30, 9007199254740993, 9007199254740992, 1e21,"
	             " 1e-7, 0.000001, 123456789012345678901234567890, 4.50, 2e-3, 1e-27,"
	             " 333333333.33333329, -1, 100, 1e20, 12345678901234567890]",
	             "[1,56,0,0,0,1e+30,9007199254740992,9007199254740992,1e+21,"
	             "1e-7,0.000001,1.2345678901234568e+29,4.5,0.002,1e-27,"
	             "333333333.3333333,-1,100,100000000000000000000,12345678901234567000]");
}
END_TEST

static json_t *nested(int depth, int objects)
{
	json_t *v = json_true();
	for (int i = 0; i < depth; i++) {
		json_t *w = objects ? json_object() : json_array();
		if (objects)
			json_object_set_new(w, "k", v);
		else
			json_array_append_new(w, v);
		v = w;
	}
	return v;
}

START_TEST(depth_limit)
{
	int rc;
	char *s = ser(nested(JCS_MAX_DEPTH, 0), &rc);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), 2 * JCS_MAX_DEPTH + 4);
	free(s);
	s = ser(nested(JCS_MAX_DEPTH, 1), &rc);
	ck_assert_ptr_nonnull(s);
	free(s);
	expect_ser_fails(nested(JCS_MAX_DEPTH + 1, 0));
	expect_ser_fails(nested(JCS_MAX_DEPTH + 1, 1));

	char text[2 * (JCS_MAX_DEPTH + 1) + 1];
	memset(text, '[', JCS_MAX_DEPTH);
	memset(text + JCS_MAX_DEPTH, ']', JCS_MAX_DEPTH);
	text[2 * JCS_MAX_DEPTH] = '\0';
	s = canon(text, &rc);
	ck_assert_str_eq(s, text);
	free(s);
	memset(text, '[', JCS_MAX_DEPTH + 1);
	memset(text + JCS_MAX_DEPTH + 1, ']', JCS_MAX_DEPTH + 1);
	text[2 * JCS_MAX_DEPTH + 2] = '\0';
	expect_canon_fails(text, "deeper");
}
END_TEST

/* ---- numbers: fixed expectations ---------------------------------------- */

static double from_bits(uint64_t b)
{
	double d;
	memcpy(&d, &b, sizeof d);
	return d;
}

static uint64_t to_bits(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof b);
	return b;
}

/* RFC 8785 Appendix B, plus our own edges (all checked against node). */
static const struct { uint64_t bits; const char *want; } fixed[] = {
	{ 0x0000000000000000, "0" },
	{ 0x8000000000000000, "0" },
	{ 0x0000000000000001, "5e-324" },
	{ 0x8000000000000001, "-5e-324" },
	{ 0x7fefffffffffffff, "1.7976931348623157e+308" },
	{ 0xffefffffffffffff, "-1.7976931348623157e+308" },
	{ 0x4340000000000000, "9007199254740992" },
	{ 0xc340000000000000, "-9007199254740992" },
	{ 0x4430000000000000, "295147905179352830000" },
	{ 0x44b52d02c7e14af5, "9.999999999999997e+22" },
	{ 0x44b52d02c7e14af6, "1e+23" },
	{ 0x44b52d02c7e14af7, "1.0000000000000001e+23" },
	{ 0x444b1ae4d6e2ef4e, "999999999999999700000" },
	{ 0x444b1ae4d6e2ef4f, "999999999999999900000" },
	{ 0x444b1ae4d6e2ef50, "1e+21" },
	{ 0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7" },
	{ 0x3eb0c6f7a0b5ed8d, "0.000001" },
	{ 0x41b3de4355555553, "333333333.3333332" },
	{ 0x41b3de4355555554, "333333333.33333325" },
	{ 0x41b3de4355555555, "333333333.3333333" },
	{ 0x41b3de4355555556, "333333333.3333334" },
	{ 0x41b3de4355555557, "333333333.33333343" },
	{ 0xbecbf647612f3696, "-0.0000033333333333333333" },
	{ 0x43143ff3c1cb0959, "1424953923781206.2" },
	{ 0x3e7ad7f29abcaf48, "1e-7" },
	{ 0x3e8421f5f40d8376, "1.5e-7" },
	{ 0x3fb999999999999a, "0.1" },
	{ 0x3fd5555555555555, "0.3333333333333333" },
	{ 0x4415af1d78b58c40, "100000000000000000000" },
	{ 0x441ac53a7e04bcda, "123456789012345680000" },
	{ 0x0010000000000000, "2.2250738585072014e-308" },
	{ 0x000fffffffffffff, "2.225073858507201e-308" },
	{ 0x4008000000000000, "3" },
	{ 0xbff8000000000000, "-1.5" },
	{ 0x3f50624dd2f1a9fc, "0.001" },
	{ 0x3eb4b3fd5942cd96, "0.000001234" },
	{ 0x7e37e43c8800759c, "1e+300" },
	{ 0x3cb0000000000000, "2.220446049250313e-16" },
	{ 0x0000000000000002, "1e-323" },
	/* powers of two whose lopsided interval holds only the farther 16-digit
	 * neighbour: the correctly rounded 16 digits do not read back */
	{ 0x0060000000000000, "7.120236347223045e-307" },
	{ 0x3730000000000000, "7.174648137343064e-43" },
	{ 0x2800000000000000, "5.075883674631299e-116" },
};

START_TEST(number_fixed_cases)
{
	char buf[JCS_DOUBLE_BUFSZ];
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
		ck_assert_int_eq(jcs_format_double(from_bits(fixed[i].bits), buf, sizeof buf), 0);
		ck_assert_msg(strcmp(buf, fixed[i].want) == 0, "%016llx: got %s want %s",
		              (unsigned long long)fixed[i].bits, buf, fixed[i].want);
	}
}
END_TEST

/* ---- numbers: the generated set against node ---------------------------- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void add(uint64_t *v, size_t *n, uint64_t bits)
{
	if ((bits & 0x7ff0000000000000ULL) != 0x7ff0000000000000ULL)   /* finite only */
		v[(*n)++] = bits;
}

/* At least 100,000 doubles, deterministic for a seed. */
static size_t generate(uint64_t seed, uint64_t *v, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
		add(v, &n, fixed[i].bits);
	/* every power of two (where the rounding interval is lopsided) ± 1 ulp */
	for (int e = -1074; e <= 1023; e++) {
		uint64_t b = to_bits(ldexp(1.0, e));
		add(v, &n, b);
		add(v, &n, b + 1);
		add(v, &n, b - 1);
		add(v, &n, b | 1ULL << 63);
	}
	/* powers of ten ± 1 ulp */
	for (int e = -323; e <= 308; e++) {
		char s[16];
		snprintf(s, sizeof s, "1e%d", e);
		uint64_t b = to_bits(strtod(s, NULL));
		add(v, &n, b);
		add(v, &n, b + 1);
		add(v, &n, b - 1);
	}
	uint64_t st = seed;
	/* uniform bit patterns: mostly exponent form */
	for (int i = 0; i < 40000; i++)
		add(v, &n, splitmix(&st));
	/* exponents around the fixed-notation range, 2^-30 .. 2^80 */
	for (int i = 0; i < 30000; i++) {
		uint64_t r = splitmix(&st);
		uint64_t ex = (uint64_t)(1023 - 30 + (int)(r % 111));
		add(v, &n, (r & 0x800fffffffffffffULL) | ex << 52);
	}
	/* short decimals (1..17 digits), ± 1 ulp: where shortest-digit search matters */
	for (int i = 0; i < 10000; i++) {
		uint64_t r = splitmix(&st);
		int digits = 1 + (int)(r % 17), e = (int)((r >> 8) % 661) - 340;
		unsigned long long m = splitmix(&st) % 100000000000000000ULL;
		char s[64];
		int len = snprintf(s, sizeof s, "%llu", m);
		if (len > digits)
			len = digits;
		snprintf(s + len, sizeof s - (size_t)len, "e%d", e);
		uint64_t b = to_bits(strtod(s, NULL));
		add(v, &n, b);
		add(v, &n, b + 1);
		add(v, &n, b - 1);
	}
	/* large integers ending in 5s: exact decimal ties between two candidates */
	for (int i = 0; i < 3000; i++) {
		char s[64];
		unsigned long long m = splitmix(&st) % 1000000ULL;
		snprintf(s, sizeof s, "%llu5e%d", m, (int)(splitmix(&st) % 20));
		double d = strtod(s, NULL);
		add(v, &n, to_bits(d));
		add(v, &n, to_bits(d) + 1);
	}
	ck_assert_uint_le(n, cap);
	return n;
}

/* node's path: JT_NODE, else the first executable "node" on PATH. */
static int find_node(char *out, size_t cap)
{
	const char *env = getenv("JT_NODE");
	if (env && *env) {   /* named explicitly: a wrong name is a failure, not a skip */
		snprintf(out, cap, "%s", env);
		ck_assert_msg(access(out, X_OK) == 0, "JT_NODE=%s is not executable", env);
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		return -1;
	char *dup = strdup(path), *save = NULL;
	int rc = -1;
	for (char *dir = strtok_r(dup, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, cap, "%s/node", *dir ? dir : ".");
		if (access(out, X_OK) == 0) {
			rc = 0;
			break;
		}
	}
	free(dup);
	return rc;
}

/* node SCRIPT < in > out, without a shell (paths may hold anything). */
static int run_node(const char *node, const char *script, const char *in, const char *out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status;
	char *argv[] = { (char *)node, (char *)script, NULL };

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int rc = posix_spawn(&pid, node, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return -rc;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/*
 * node SCRIPT with in (len bytes) on stdin: its stdout, malloc'd (caller
 * frees).  Fails the test when node fails; the caller has found node.
 */
static char *node_output(const char *node, const char *script_rel, const char *in, size_t len)
{
	char tmp[] = "/tmp/jt-jcs-XXXXXX", inp[64], outp[64], script[4200];
	char *text = NULL;
	size_t tlen;
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(inp, sizeof inp, "%s/in.txt", tmp);
	snprintf(outp, sizeof outp, "%s/out.txt", tmp);
	snprintf(script, sizeof script, "%s/%s", srcdir(), script_rel);
	FILE *f = fopen(inp, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(in, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	int nrc = run_node(node, script, inp, outp);
	int rrc = nrc ? 0 : util_read_file(outp, 256u << 20, &text, &tlen);
	unlink(inp);
	unlink(outp);
	rmdir(tmp);
	ck_assert_msg(nrc == 0, "%s %s failed: %d", node, script, nrc);
	ck_assert_int_eq(rrc, 0);
	return text;
}

START_TEST(number_generated_vs_node)
{
	size_t cap = 160000, n;
	uint64_t *v = malloc(cap * sizeof *v), seed = 0x6a63732d72667338ULL;
	const char *se = getenv("JT_JCS_SEED");
	if (se && *se)
		seed = strtoull(se, NULL, 0);
	ck_assert_ptr_nonnull(v);
	n = generate(seed, v, cap);
	ck_assert_uint_ge(n, 100000);

	/* always: our text reads back as the same double and has the ECMAScript shape */
	char (*ours)[JCS_DOUBLE_BUFSZ] = malloc(n * sizeof *ours);
	ck_assert_ptr_nonnull(ours);
	for (size_t i = 0; i < n; i++) {
		double d = from_bits(v[i]);
		ck_assert_int_eq(jcs_format_double(d, ours[i], sizeof ours[i]), 0);
		double back = strtod(ours[i], NULL);
		ck_assert_msg(back == d, "%016llx: %s does not read back", (unsigned long long)v[i], ours[i]);
		ck_assert_msg(!strpbrk(ours[i], "E ,") && ours[i][0] != '+' && ours[i][0] != '.',
		              "%s: not an ECMAScript number string", ours[i]);
	}

	char node[4096];
	if (find_node(node, sizeof node)) {
		printf("test_jcs: node not found (set JT_NODE or PATH): SKIPPED the ECMAScript "
		       "comparison of %zu generated doubles; %zu fixed cases ran\n",
		       n, sizeof fixed / sizeof *fixed);
		free(ours);
		free(v);
		return;
	}

	char *bits = malloc(n * 17 + 1);
	ck_assert_ptr_nonnull(bits);
	for (size_t i = 0; i < n; i++)
		snprintf(bits + 17 * i, 18, "%016llx\n", (unsigned long long)v[i]);
	char *text = node_output(node, "tests/jcs/number_strings.js", bits, 17 * n);
	size_t line = 0, bad = 0;
	free(bits);
	for (char *p = text, *nl; *p && line < n; p = nl + 1, line++) {
		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		*nl = '\0';
		if (strcmp(p, ours[line])) {
			if (bad++ < 10)
				printf("test_jcs: %016llx: ours %s, node %s\n",
				       (unsigned long long)v[line], ours[line], p);
		}
	}
	free(text);
	free(ours);
	free(v);
	ck_assert_uint_eq(line, n);
	ck_assert_msg(bad == 0, "%zu of %zu doubles differ from node", bad, n);
	printf("test_jcs: %zu generated doubles match node's String(x) (seed %#llx)\n",
	       n, (unsigned long long)seed);
}
END_TEST

/* Text from outside: keys with U+0000 (jansson cannot hold them) and more. */
START_TEST(nul_in_keys)
{
	expect_canon("{\"a\\u0000b\":1,\"a\":2,\"\\u0000\":3}",
		     "{\"\\u0000\":3,\"a\":2,\"a\\u0000b\":1}");
	expect_canon("[\"\\u0000\", {\"\\u0000\\u0000\": {}}]", "[\"\\u0000\",{\"\\u0000\\u0000\":{}}]");
	/* the same key spelled two ways is still one key */
	expect_canon_fails("{\"\\u0000\":1,\"\\u0000\":2}", "duplicate");
	/* strict RFC 8259 */
	expect_canon_fails("{\"a\":1,}", NULL);
	expect_canon_fails("01", NULL);
	expect_canon_fails("1.", NULL);
	expect_canon_fails("-", NULL);
	expect_canon_fails("\"\t\"", "control");
	expect_canon_fails("\"\\x\"", "escape");
	expect_canon_fails("tru", NULL);
	expect_canon("  \"\\/\"\n", "\"/\"");
}
END_TEST

/* Random texts from node (tests/jcs/canonical_cases.js): its JSON.parse, its
 * key sort and its JSON.stringify are the reference. */
START_TEST(texts_generated_vs_node)
{
	char node[4096];
	if (find_node(node, sizeof node)) {
		printf("test_jcs: node not found (set JT_NODE or PATH): SKIPPED the generated texts\n");
		return;
	}
	char *text = node_output(node, "tests/jcs/canonical_cases.js", "", 0);
	size_t cases = 0, bad = 0, with_nul = 0;
	for (char *p = text, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		*nl = '\0';
		char *tab = strchr(p, '\t');
		ck_assert_ptr_nonnull(tab);
		*tab = '\0';
		size_t il = strlen(p) / 2, wl = strlen(tab + 1) / 2;
		char *input = malloc(il + 1), *want = malloc(wl + 1);
		ck_assert(input && want);
		for (size_t i = 0; i < il; i++)
			sscanf(p + 2 * i, "%2hhx", (unsigned char *)&input[i]);
		for (size_t i = 0; i < wl; i++)
			sscanf(tab + 1 + 2 * i, "%2hhx", (unsigned char *)&want[i]);
		want[wl] = '\0';
		char *got = NULL, msg[256];
		size_t gl = 0;
		int rc = jcs_canonicalize_text(input, il, &got, &gl, msg, sizeof msg);
		if (rc || gl != wl || memcmp(got, want, wl)) {
			if (bad++ < 5)
				printf("test_jcs: case %zu: rc %d (%s)\n  in   %.*s\n  want %s\n  got  %s\n",
				       cases, rc, msg, (int)il, input, want, got ? got : "");
		}
		with_nul += memmem(want, wl, "\\u0000", 6) != NULL;
		free(got);
		free(input);
		free(want);
		cases++;
	}
	free(text);
	ck_assert_uint_ge(cases, 3000);
	ck_assert_uint_gt(with_nul, 100);   /* U+0000 in keys and strings, often */
	ck_assert_msg(bad == 0, "%zu of %zu texts differ from node", bad, cases);
	printf("test_jcs: %zu generated texts match node's canonical form\n", cases);
}
END_TEST

/* Outside text (a process name, a cgroup path) always serializes: bad bytes
 * become '?', good UTF-8 (and control characters, escaped) stays. */
START_TEST(string_clean)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "plain", "\"plain\"" },
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
		{ "a\xff\xfe" "b", "\"a??b\"" },
		{ "\xc3(", "\"?(\"" },                      /* a lead byte without its tail */
		{ "\xed\xa0\x80x", "\"???x\"" },          /* an encoded surrogate */
		{ "\xe2\x82", "\"??\"" },                  /* cut short at the end */
		{ "tab\tnl\n", "\"tab\\tnl\\n\"" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		json_t *v = jcs_string_clean(cases[i].in);
		char *out = NULL;
		size_t len;
		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(jcs_serialize(v, &out, &len), 0);
		ck_assert_str_eq(out, cases[i].out);
		free(out);
		json_decref(v);
	}
}
END_TEST

static Suite *jcs_suite(void)
{
	Suite *s = suite_create("jcs");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, public_vectors);
	tcase_add_test(tc, utf16_sort_order);
	tcase_add_test(tc, string_escapes);
	tcase_add_test(tc, invalid_utf8_refused);
	tcase_add_test(tc, duplicates_and_malformed);
	tcase_add_test(tc, non_finite_refused);
	tcase_add_test(tc, integers);
	tcase_add_test(tc, depth_limit);
	tcase_add_test(tc, number_fixed_cases);
	tcase_add_test(tc, nul_in_keys);
	tcase_add_test(tc, string_clean);
	suite_add_tcase(s, tc);
	TCase *gen = tcase_create("generated");
	tcase_set_timeout(gen, 600);   /* >100k doubles, node start-up, sanitizers */
	tcase_add_test(gen, number_generated_vs_node);
	tcase_add_test(gen, texts_generated_vs_node);
	suite_add_tcase(s, gen);
	return s;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);   /* a failing forked test exits before a flush */
	SRunner *sr = srunner_create(jcs_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
