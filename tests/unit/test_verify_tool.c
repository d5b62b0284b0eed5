/* jouletrace-verify as a user runs it: exit codes, output, pinned keys, --canonicalize. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "seal.h"
#include "testutil.h"

#define OUT_MAX (1u << 20)

static char dir[64];
static char tool[512];
static struct seal_key key;

static void setup(void)
{
	const char *b = getenv("JT_BUILDDIR");
	char path[128];
	bool created = false;

	ck_assert_msg(b != NULL, "JT_BUILDDIR is not set");
	ck_assert_int_lt(snprintf(tool, sizeof tool, "%s/jouletrace-verify", b), (int)sizeof tool);
	ck_assert_msg(access(tool, X_OK) == 0, "%s is not built", tool);
	testutil_tmpdir(dir, sizeof dir, "verify");
	snprintf(path, sizeof path, "%s/keys/seal.key", dir);
	ck_assert_int_eq(seal_key_load_or_create(path, &key, &created, NULL, 0), 0);
	ck_assert(created);
}

static void teardown(void)
{
	testutil_rmtree(dir);
}

/* Runs "tool ARGS" through the shell with stderr folded into stdout. */
static int run(char **out, size_t *outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int run(char **out, size_t *outlen, const char *fmt, ...)
{
	char args[2048], cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	ck_assert_int_lt(vsnprintf(args, sizeof args, fmt, ap), (int)sizeof args);
	va_end(ap);
	ck_assert_int_lt(snprintf(cmd, sizeof cmd, "'%s' %s", tool, args), (int)sizeof cmd);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	char *buf = malloc(OUT_MAX + 1);
	ck_assert_ptr_nonnull(buf);
	size_t n = fread(buf, 1, OUT_MAX, f);
	buf[n] = '\0';
	int st = pclose(f);
	ck_assert(WIFEXITED(st));
	*out = buf;
	if (outlen)
		*outlen = n;
	return WEXITSTATUS(st);
}

static void dump(const json_t *v, const char *name, char *path, size_t cap)
{
	ck_assert_int_lt(snprintf(path, cap, "%s/%s", dir, name), (int)cap);
	ck_assert_int_eq(json_dump_file(v, path, JSON_INDENT(2)), 0);
}

static json_t *signed_seal(const struct seal_key *k)
{
	json_t *p = json_pack("{s:i, s:s, s:s, s:i, s:n, s:{s:f}}", "seal_version", 1,
			      "issuer", "jouletrace", "task_id",
			      "6f1c2d3e-0000-4000-8000-123456789abc", "sequence", 7,
			      "prev_seal_sha256", "measurement", "cv_percent", 1.9);
	json_t *seal = NULL;
	ck_assert_int_eq(seal_sign(k, p, &seal), 0);
	json_decref(p);
	return seal;
}

static void write_text(const char *name, const char *text, char *path, size_t cap)
{
	ck_assert_int_lt(snprintf(path, cap, "%s/%s", dir, name), (int)cap);
	testutil_write(dir, name, text);
}

START_TEST(valid_seal_exit_0)
{
	char seal_path[128], pub[128], keys[128], keyfile[128], task[128], line[256];
	char *out;
	json_t *seal = signed_seal(&key);
	struct seal_key other;
	unsigned char seed[32];

	dump(seal, "seal.json", seal_path, sizeof seal_path);
	snprintf(line, sizeof line, "%s\n", key.public_b64);
	write_text("pub.txt", line, pub, sizeof pub);
	snprintf(keyfile, sizeof keyfile, "%s/keys/seal.key", dir);

	ck_assert_int_eq(run(&out, NULL, "--pubkey '%s' '%s' 2>&1", pub, seal_path), 0);
	ck_assert_msg(strncmp(out, "valid\n", 6) == 0, "%s", out);
	snprintf(line, sizeof line, "key_id: %s\n", key.key_id);
	ck_assert_ptr_nonnull(strstr(out, line));
	ck_assert_ptr_nonnull(strstr(out, "sequence: 7\n"));
	ck_assert_ptr_nonnull(strstr(out, "task_id: 6f1c2d3e-0000-4000-8000-123456789abc\n"));
	free(out);

	/* from stdin */
	ck_assert_int_eq(run(&out, NULL, "--pubkey '%s' - < '%s' 2>&1", pub, seal_path), 0);
	ck_assert_msg(strncmp(out, "valid\n", 6) == 0, "%s", out);
	free(out);

	/* the operator's way: the seed file on the service host */
	ck_assert_int_eq(run(&out, NULL, "--key-file '%s' '%s' 2>&1", keyfile, seal_path), 0);
	ck_assert_msg(strncmp(out, "valid\n", 6) == 0, "%s", out);
	free(out);

	/* GET /api/v1/keys output with several keys: the seal's key_id picks one */
	memset(seed, 0x42, sizeof seed);
	ck_assert_int_eq(seal_key_from_seed(seed, &other), 0);
	json_t *list = json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s}]", "key_id", other.key_id,
				 "public_key", other.public_b64, "created_at", "a", "key_id",
				 key.key_id, "public_key", key.public_b64, "created_at", "b");
	dump(list, "keys.json", keys, sizeof keys);
	ck_assert_int_eq(run(&out, NULL, "--pubkey '%s' '%s' 2>&1", keys, seal_path), 0);
	ck_assert_msg(strncmp(out, "valid\n", 6) == 0, "%s", out);
	free(out);

	/* a whole GET /api/v1/tasks/{id} reply */
	json_t *reply = json_pack("{s:s, s:s, s:O}", "task_id", "x", "status", "completed",
				  "seal", seal);
	dump(reply, "task.json", task, sizeof task);
	ck_assert_int_eq(run(&out, NULL, "--pubkey '%s' '%s' 2>&1", pub, task), 0);
	ck_assert_msg(strncmp(out, "valid\n", 6) == 0, "%s", out);
	free(out);
	json_decref(reply);
	json_decref(list);
	json_decref(seal);
}
END_TEST

START_TEST(invalid_seal_exit_1)
{
	char seal_path[128], pub[128], other_pub[128], bad[128], line[256];
	char *out;
	json_t *seal = signed_seal(&key);
	struct seal_key other;
	unsigned char seed[32];

	snprintf(line, sizeof line, "%s\n", key.public_b64);
	write_text("pub.txt", line, pub, sizeof pub);

	/* one changed figure in the payload */
	json_object_set_new(json_object_get(json_object_get(seal, "payload"), "measurement"),
			    "cv_percent", json_real(1.8));
	dump(seal, "tampered.json", seal_path, sizeof seal_path);
	ck_assert_int_eq(run(&out, NULL, "--pubkey '%s' '%s' 2>/dev/null", pub, seal_path), 1);
	ck_assert_msg(strncmp(out, "invalid: ", 9) == 0, "%s", out);
	ck_assert_ptr_null(strstr(out, "valid\n"));
	free(out);

	/* right seal, wrong pinned key */
	json_decref(seal);
	seal = signed_seal(&key);
	dump(seal, "seal.json", seal_path, sizeof seal_path);
	memset(seed, 0x43, sizeof seed);
	ck_assert_int_eq(seal_key_from_seed(seed, &other), 0);
	snprintf(line, sizeof line, "%s", other.public_b64);
	write_text("other.txt", line, other_pub, sizeof other_pub);
	ck_assert_int_eq(run(&out, NULL, "--pubkey '%s' '%s' 2>/dev/null", other_pub, seal_path),
			 1);
	ck_assert_msg(strncmp(out, "invalid: ", 9) == 0 && strstr(out, key.key_id), "%s", out);
	free(out);

	/* not JSON, and not a seal */
	write_text("bad.json", "{\"payload\": ", bad, sizeof bad);
	ck_assert_int_eq(run(&out, NULL, "--pubkey '%s' '%s' 2>/dev/null", pub, bad), 1);
	ck_assert_msg(strncmp(out, "invalid: ", 9) == 0, "%s", out);
	free(out);
	write_text("bad2.json", "[1,2]", bad, sizeof bad);
	ck_assert_int_eq(run(&out, NULL, "--pubkey '%s' '%s' 2>/dev/null", pub, bad), 1);
	free(out);
	json_decref(seal);
}
END_TEST

START_TEST(usage_and_io_errors_exit_2)
{
	char seal_path[128], pub[128], keyfile[128], big[128];
	char *out;
	json_t *seal = signed_seal(&key);

	dump(seal, "seal.json", seal_path, sizeof seal_path);
	/* never the key inside the seal */
	ck_assert_int_eq(run(&out, NULL, "'%s' 2>&1", seal_path), 2);
	ck_assert_msg(strstr(out, "no pinned key: pass --pubkey (the public key published at "
			     "GET /api/v1/keys)"), "%s", out);
	ck_assert_ptr_null(strstr(out, "valid\n"));
	free(out);

	write_text("pub.txt", "not a key", pub, sizeof pub);
	ck_assert_int_eq(run(&out, NULL, "--pubkey '%s' '%s' 2>&1", pub, seal_path), 2);
	free(out);
	ck_assert_int_eq(run(&out, NULL, "--pubkey '%s/nope' '%s' 2>&1", dir, seal_path), 2);
	free(out);
	snprintf(pub, sizeof pub, "%s/pub2.txt", dir);
	testutil_write(dir, "pub2.txt", key.public_b64);
	ck_assert_int_eq(run(&out, NULL, "--pubkey '%s' '%s/missing.json' 2>&1", pub, dir), 2);
	free(out);
	ck_assert_int_eq(run(&out, NULL, "--pubkey '%s' 2>&1", pub), 2);
	free(out);
	ck_assert_int_eq(run(&out, NULL, "--bogus 2>&1"), 2);
	free(out);

	/* a key file others can read is refused here too */
	snprintf(keyfile, sizeof keyfile, "%s/keys/seal.key", dir);
	ck_assert_int_eq(chmod(keyfile, 0644), 0);
	ck_assert_int_eq(run(&out, NULL, "--key-file '%s' '%s' 2>&1", keyfile, seal_path), 2);
	ck_assert_msg(strstr(out, "0644"), "%s", out);
	free(out);

	/* input over the 16 MiB cap */
	snprintf(big, sizeof big, "%s/big.json", dir);
	FILE *f = fopen(big, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(ftruncate(fileno(f), (off_t)17 << 20), 0);
	fclose(f);
	ck_assert_int_eq(run(&out, NULL, "--pubkey '%s' '%s' 2>&1", pub, big), 2);
	free(out);
	ck_assert_int_eq(run(&out, NULL, "--canonicalize < '%s' 2>&1", big), 2);
	free(out);
	json_decref(seal);
}
END_TEST

START_TEST(canonicalize_matches_the_vectors)
{
	const char *src = getenv("JT_SRCDIR");
	char vdir[512], in[1024], exp_path[1024];
	int count = 0;

	ck_assert_ptr_nonnull(src);
	snprintf(vdir, sizeof vdir, "%s/../shared/jcs-vectors", src);
	snprintf(in, sizeof in, "%s/input", vdir);
	DIR *d = opendir(in);
	ck_assert_msg(d != NULL, "no vectors in %s", in);
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char *out, *want;
		size_t outlen, wantlen;
		snprintf(in, sizeof in, "%s/input/%s", vdir, e->d_name);
		snprintf(exp_path, sizeof exp_path, "%s/output/%s", vdir, e->d_name);
		want = testutil_read(exp_path, OUT_MAX, &wantlen);
		ck_assert_int_eq(run(&out, &outlen, "--canonicalize < '%s'", in), 0);
		ck_assert_msg(outlen == wantlen && memcmp(out, want, wantlen) == 0,
			      "%s: got %s", e->d_name, out);
		free(out);
		/* and as a file argument */
		ck_assert_int_eq(run(&out, &outlen, "--canonicalize '%s'", in), 0);
		ck_assert(outlen == wantlen && memcmp(out, want, wantlen) == 0);
		free(out);
		free(want);
		count++;
	}
	closedir(d);
	ck_assert_int_ge(count, 6);

	char *out;
	size_t outlen;
	ck_assert_int_eq(run(&out, &outlen, "--canonicalize <<'EOF'\n{\"b\": 1.0, \"a\": [1E30, \"\\u00e9\"]}\nEOF"), 0);
	ck_assert_str_eq(out, "{\"a\":[1e+30,\"\xc3\xa9\"],\"b\":1}");
	free(out);
	/* a key holding U+0000: valid JSON, and canonicalized like any other */
	ck_assert_int_eq(run(&out, &outlen, "--canonicalize <<'EOF'\n{\"b\\u0000\": 1, \"b\": 2}\nEOF"), 0);
	ck_assert_str_eq(out, "{\"b\":2,\"b\\u0000\":1}");
	free(out);
	ck_assert_int_eq(run(&out, &outlen, "--canonicalize <<'EOF' 2>&1\n{\"a\": 1, \"a\": 2}\nEOF"), 1);
	ck_assert_ptr_nonnull(strstr(out, "canonicalize"));
	free(out);
	ck_assert_int_eq(run(&out, &outlen, "--canonicalize <<'EOF' 2>&1\n[1,\nEOF"), 1);
	free(out);
}
END_TEST

static Suite *verify_tool_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("verify_tool", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, valid_seal_exit_0);
	tcase_add_test(tc, invalid_seal_exit_1);
	tcase_add_test(tc, usage_and_io_errors_exit_2);
	tcase_add_test(tc, canonicalize_matches_the_vectors);
	return s;
}

int main(void)
{
	log_init("test_verify_tool", LOG_LVL_ERROR, LOG_FMT_TEXT);
	return testutil_run(verify_tool_suite());
}
