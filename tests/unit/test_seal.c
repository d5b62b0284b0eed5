/* Seals: key file rules, sign/verify, tampering of every byte, pinned keys. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "jcs.h"
#include "log.h"
#include "seal.h"
#include "testutil.h"

/* RFC 8032 §7.1 TEST 1 */
static const char *const RFC_SEED =
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char *const RFC_PK =
	"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
/* python3: hashlib.sha256(pk)[:16], base64.b64encode(pk) */
static const char *const RFC_KEY_ID = "21fe31dfa154a261";
static const char *const RFC_PK_B64 = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

static char dir[64];

static void setup(void)
{
	testutil_tmpdir(dir, sizeof dir, "seal");
}

static void teardown(void)
{
	testutil_rmtree(dir);
}

static void unhex(const char *hex, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2hhx", &out[i]), 1);
}

static void key_from_byte(unsigned char b, struct seal_key *k)
{
	unsigned char seed[SEAL_SEED_BYTES];
	memset(seed, b, sizeof seed);
	ck_assert_int_eq(seal_key_from_seed(seed, k), 0);
}

static void path_in_dir(char *buf, size_t cap, const char *rel)
{
	ck_assert_int_lt(snprintf(buf, cap, "%s/%s", dir, rel), (int)cap);
}

static void write_mode(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* A payload with the kinds of values real seals carry. */
static json_t *sample_payload(void)
{
	json_error_t e;
	json_t *p = json_loads(
		"{\"seal_version\":1,\"issuer\":\"jouletrace\","
		"\"task_id\":\"6f1c2d3e-0000-4000-8000-123456789abc\",\"sequence\":7,"
		"\"prev_seal_sha256\":null,\"issued_at\":\"2026-01-02T03:04:05.123456Z\","
		"\"host\":{\"hostname\":\"b\\u00e9ta\\n\",\"fingerprint\":\"ab\"},"
		"\"measurement\":{\"wall_ns\":[210345678,199999999],\"cv_percent\":1.9,"
		"\"net_uj\":{\"package\":-12,\"dram\":0.000001},\"flags\":[],"
		"\"shared_package\":true,\"x\":1e21,\"emoji\":\"\\ud83d\\ude00\"}}",
		JSON_REJECT_DUPLICATES, &e);
	ck_assert_msg(p != NULL, "sample payload: %s", e.text);
	return p;
}

static char *jcs(const json_t *v, size_t *len)
{
	char *out = NULL;
	size_t l = 0;
	ck_assert_int_eq(jcs_serialize(v, &out, &l), 0);
	if (len)
		*len = l;
	return out;
}

/* ---- key file ----------------------------------------------------------- */

START_TEST(key_created_0600_and_reloaded)
{
	char path[128], sub[128], why[256];
	struct seal_key a, b;
	struct stat st;
	bool created = false;

	path_in_dir(path, sizeof path, "keys/deeper/seal.key");
	path_in_dir(sub, sizeof sub, "keys/deeper");
	ck_assert_int_eq(seal_key_load_or_create(path, &a, &created, why, sizeof why), 0);
	ck_assert(created);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, SEAL_SEED_BYTES);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);

	ck_assert_int_eq(seal_key_load_or_create(path, &b, &created, why, sizeof why), 0);
	ck_assert(!created);
	ck_assert_mem_eq(a.pk, b.pk, sizeof a.pk);
	ck_assert_mem_eq(a.sk, b.sk, sizeof a.sk);
	ck_assert_str_eq(a.key_id, b.key_id);
	ck_assert_str_eq(a.public_b64, b.public_b64);

	/* the file is the seed: the same key pair comes out of it directly */
	size_t len = 0;
	char *seed = testutil_read(path, 64, &len);
	ck_assert_uint_eq(len, SEAL_SEED_BYTES);
	ck_assert_int_eq(seal_key_from_seed((unsigned char *)seed, &b), 0);
	ck_assert_mem_eq(a.sk, b.sk, sizeof a.sk);
	ck_assert_mem_eq(a.sk, seed, SEAL_SEED_BYTES);
	free(seed);
	ck_assert_int_eq(seal_key_load(path, &b, why, sizeof why), 0);
	ck_assert_mem_eq(a.pk, b.pk, sizeof a.pk);

	/* no temp files left behind */
	path_in_dir(path, sizeof path, "keys/deeper");
	char cmd[256];
	snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", path);
	ck_assert_int_eq(system(cmd), 0);

	/* two fresh files make two different keys */
	path_in_dir(path, sizeof path, "other.key");
	ck_assert_int_eq(seal_key_load_or_create(path, &b, &created, NULL, 0), 0);
	ck_assert(created);
	ck_assert_mem_ne(a.pk, b.pk, sizeof a.pk);
	seal_key_wipe(&b);
	for (size_t i = 0; i < sizeof b; i++)
		ck_assert_int_eq(((unsigned char *)&b)[i], 0);
}
END_TEST

START_TEST(key_load_only_never_creates)
{
	char path[128], why[256];
	struct seal_key k;
	path_in_dir(path, sizeof path, "missing.key");
	ck_assert_int_eq(seal_key_load(path, &k, why, sizeof why), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "missing.key"));
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(key_refused_when_group_or_world_can_access)
{
	static const mode_t bad[] = { 0640, 0604, 0644, 0620, 0602, 0610, 0601, 0660, 0666 };
	unsigned char seed[SEAL_SEED_BYTES];
	char path[128], why[256];
	struct seal_key k;
	bool created = true;

	memset(seed, 7, sizeof seed);
	path_in_dir(path, sizeof path, "seal.key");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_mode(path, seed, sizeof seed, bad[i]);
		why[0] = '\0';
		ck_assert_int_eq(seal_key_load_or_create(path, &k, &created, why, sizeof why),
				 -EPERM);
		ck_assert(!created);
		char want[16];
		snprintf(want, sizeof want, "%04o", (unsigned)bad[i]);
		ck_assert_msg(strstr(why, want) && strstr(why, "0600"), "why: %s", why);
		/* refused means refused: the key is not handed out anyway */
		for (size_t j = 0; j < sizeof k.sk; j++)
			ck_assert_int_eq(k.sk[j], 0);
		ck_assert_int_eq(seal_key_load(path, &k, why, sizeof why), -EPERM);
	}
	/* 0600 and stricter are fine, and give the key of that seed */
	write_mode(path, seed, sizeof seed, 0400);
	ck_assert_int_eq(seal_key_load_or_create(path, &k, &created, why, sizeof why), 0);
	ck_assert(!created);
	struct seal_key want;
	key_from_byte(7, &want);
	ck_assert_mem_eq(k.pk, want.pk, sizeof k.pk);

	/* a directory where the file should be is not a key file */
	path_in_dir(path, sizeof path, "adir");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(seal_key_load_or_create(path, &k, &created, why, sizeof why), -EPERM);
}
END_TEST

START_TEST(key_wrong_size_refused)
{
	static const size_t sizes[] = { 0, 1, 31, 33, 64, 65 };
	unsigned char buf[80];
	char path[128], why[256];
	struct seal_key k;

	memset(buf, 'a', sizeof buf);
	path_in_dir(path, sizeof path, "seal.key");
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		write_mode(path, buf, sizes[i], 0600);
		ck_assert_int_eq(seal_key_load_or_create(path, &k, NULL, why, sizeof why), -EINVAL);
		ck_assert_ptr_nonnull(strstr(why, "32"));
		/* and the bad file is left alone, not replaced by a new key */
		struct stat st;
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_size, (off_t)sizes[i]);
	}
}
END_TEST

START_TEST(key_concurrent_first_start_makes_one_key)
{
	enum { NPROC = 4, ROUNDS = 5 };
	char path[128];

	for (int round = 0; round < ROUNDS; round++) {
		int go[2], res[2];
		pid_t pids[NPROC];
		ck_assert_int_lt(snprintf(path, sizeof path, "%s/r%d/keys/seal.key", dir, round),
				 (int)sizeof path);
		ck_assert_int_eq(pipe(go), 0);
		ck_assert_int_eq(pipe(res), 0);
		for (int i = 0; i < NPROC; i++) {
			pids[i] = fork();
			ck_assert_int_ge(pids[i], 0);
			if (pids[i] == 0) {
				struct { unsigned char pk[32]; int ret; int created; } out;
				struct seal_key k;
				bool created = false;
				char c;
				close(go[1]);
				/* everybody starts when the parent closes the pipe */
				if (read(go[0], &c, 1) != 0)
					_exit(3);
				memset(&out, 0, sizeof out);
				out.ret = seal_key_load_or_create(path, &k, &created, NULL, 0);
				out.created = created;
				memcpy(out.pk, k.pk, 32);
				_exit(write(res[1], &out, sizeof out) == (ssize_t)sizeof out ? 0 : 4);
			}
		}
		close(go[0]);
		close(res[1]);
		close(go[1]);
		int ncreated = 0;
		unsigned char first[32];
		for (int i = 0; i < NPROC; i++) {
			struct { unsigned char pk[32]; int ret; int created; } out;
			ck_assert_int_eq(read(res[0], &out, sizeof out), (ssize_t)sizeof out);
			ck_assert_int_eq(out.ret, 0);
			ncreated += out.created;
			if (i == 0)
				memcpy(first, out.pk, 32);
			else
				ck_assert_mem_eq(first, out.pk, 32);
		}
		close(res[0]);
		for (int i = 0; i < NPROC; i++) {
			int st;
			ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
			ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
		ck_assert_int_eq(ncreated, 1);
		struct seal_key k;
		ck_assert_int_eq(seal_key_load(path, &k, NULL, 0), 0);
		ck_assert_mem_eq(first, k.pk, 32);
		char cmd[256];
		snprintf(cmd, sizeof cmd, "test $(ls -A %s/r%d/keys | wc -l) -eq 1", dir, round);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

/* ---- key ids and public key text --------------------------------------- */

START_TEST(key_id_is_sha256_prefix)
{
	unsigned char seed[32], pk[32], h[32];
	struct seal_key k;
	char id[17], hex[65];

	unhex(RFC_SEED, seed, 32);
	unhex(RFC_PK, pk, 32);
	ck_assert_int_eq(seal_key_from_seed(seed, &k), 0);
	ck_assert_mem_eq(k.pk, pk, 32);
	ck_assert_str_eq(k.key_id, RFC_KEY_ID);
	ck_assert_str_eq(k.public_b64, RFC_PK_B64);
	ck_assert_int_eq(seal_key_id(pk, id), 0);
	ck_assert_str_eq(id, RFC_KEY_ID);
	/* and for other keys against libsodium's hash directly */
	for (int b = 0; b < 16; b++) {
		key_from_byte((unsigned char)b, &k);
		crypto_hash_sha256(h, k.pk, 32);
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", h[i]);
		ck_assert_int_eq(strncmp(k.key_id, hex, 16), 0);
		ck_assert_uint_eq(strlen(k.key_id), 16);
	}
}
END_TEST

START_TEST(public_key_text_forms)
{
	unsigned char want[32], pk[32], two[3][32];
	size_t n = 0;
	struct seal_key other;
	char buf[512];

	unhex(RFC_PK, want, 32);
	key_from_byte(9, &other);
	const char *good[] = {
		RFC_PK_B64,
		"  11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n",
		RFC_PK,
		"D75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A\n",
		"{\"key_id\":\"21fe31dfa154a261\",\"public_key\":\"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"}",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		memset(pk, 0, 32);
		ck_assert_msg(seal_public_key_parse(good[i], strlen(good[i]), pk) == 0, "%s", good[i]);
		ck_assert_mem_eq(pk, want, 32);
	}
	/* GET /api/v1/keys: the first key for the single-key parser, all for the other */
	snprintf(buf, sizeof buf,
		 "[{\"key_id\":\"%s\",\"public_key\":\"%s\",\"created_at\":\"x\"},"
		 "{\"key_id\":\"%s\",\"public_key\":\"%s\",\"created_at\":\"y\"}]\n",
		 RFC_KEY_ID, RFC_PK_B64, other.key_id, other.public_b64);
	ck_assert_int_eq(seal_public_key_parse(buf, strlen(buf), pk), 0);
	ck_assert_mem_eq(pk, want, 32);
	ck_assert_int_eq(seal_public_keys_parse(buf, strlen(buf), two, 3, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_mem_eq(two[0], want, 32);
	ck_assert_mem_eq(two[1], other.pk, 32);
	ck_assert_int_eq(seal_public_keys_parse(buf, strlen(buf), two, 1, &n), -E2BIG);
	ck_assert_uint_eq(n, 0);

	const char *bad[] = {
		"",
		"   \n",
		"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo",      /* no padding */
		"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURp=",     /* non-zero trailing bits */
		"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUR==",     /* 31 bytes */
		"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=",     /* url-safe alphabet */
		"11qYAYKxCrfVS/7TyWQHOg7h cvPapiMlrwIaaPcHURo=",
		"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511",
		"g75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
		"[]",
		"{}",
		"[{\"public_key\":\"abc\"}]",
		"{\"public_key\":\"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\",\"public_key\":\"x\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(pk, 0, 32);
		ck_assert_msg(seal_public_key_parse(bad[i], strlen(bad[i]), pk) == -EINVAL, "%s",
			      bad[i]);
	}
	/* first-key parsing does not look at later entries */
	const char *later_bad = "[{\"public_key\":\"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"},3]";
	ck_assert_int_eq(seal_public_key_parse(later_bad, strlen(later_bad), pk), 0);
	ck_assert_mem_eq(pk, want, 32);
	ck_assert_int_eq(seal_public_keys_parse(later_bad, strlen(later_bad), two, 3, &n), -EINVAL);
	/* bytes >= 0x80 that libsodium 1.0.18 decodes like letters are refused */
	char hi[64];
	snprintf(hi, sizeof hi, "%s", RFC_PK_B64);
	hi[10] = (char)0x80;
	ck_assert_int_eq(seal_public_key_parse(hi, strlen(hi), pk), -EINVAL);
}
END_TEST

/* ---- sign / verify ------------------------------------------------------ */

START_TEST(sign_verify_round_trip)
{
	struct seal_key k;
	json_t *p = sample_payload(), *seal = NULL;
	char reason[SEAL_REASON_MAX];
	unsigned char sig[64];
	size_t siglen = 0, plen = 0;

	key_from_byte(1, &k);
	ck_assert_int_eq(seal_sign(&k, p, &seal), 0);
	ck_assert_int_eq(json_object_size(seal), 2);
	ck_assert(json_equal(json_object_get(seal, "payload"), p));
	/* a deep copy: changing the caller's payload later does not touch the seal */
	ck_assert_ptr_ne(json_object_get(seal, "payload"), p);
	json_t *sg = json_object_get(seal, "signature");
	ck_assert_int_eq(json_object_size(sg), 4);
	ck_assert_str_eq(json_string_value(json_object_get(sg, "alg")), "Ed25519");
	ck_assert_str_eq(json_string_value(json_object_get(sg, "key_id")), k.key_id);
	ck_assert_str_eq(json_string_value(json_object_get(sg, "public_key")), k.public_b64);

	/* the value is a detached signature of exactly the JCS bytes */
	const char *v = json_string_value(json_object_get(sg, "value"));
	ck_assert_uint_eq(strlen(v), 88);
	ck_assert_int_eq(sodium_base642bin(sig, sizeof sig, v, strlen(v), NULL, &siglen, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	ck_assert_uint_eq(siglen, 64);
	char *bytes = jcs(p, &plen);
	ck_assert_int_eq(crypto_sign_verify_detached(sig, (unsigned char *)bytes, plen, k.pk), 0);

	ck_assert_int_eq(seal_verify(seal, k.pk, reason, sizeof reason), 0);
	ck_assert_str_eq(reason, "ok");

	/* through text, pretty-printed by another serializer: still valid */
	char *text = json_dumps(seal, JSON_INDENT(3) | JSON_ENSURE_ASCII);
	json_t *back = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(seal_verify(back, k.pk, reason, sizeof reason), 0);

	/* and the payload hash is the hash of the JCS bytes */
	char hex[65], want[65];
	util_sha256_hex(bytes, plen, want);
	ck_assert_int_eq(seal_payload_sha256(p, hex), 0);
	ck_assert_str_eq(hex, want);
	free(bytes);
	free(text);
	json_decref(back);
	json_decref(seal);
	json_decref(p);
}
END_TEST

START_TEST(payload_sha256_known_value)
{
	/* python3: hashlib.sha256('{"a":1,"b":[true,null,"x"],"c":"é"}'.encode()) */
	json_t *p = json_loads("{\"c\":\"\\u00e9\", \"b\":[true,null,\"x\"], \"a\":1.0}", 0, NULL);
	char hex[65];
	ck_assert_int_eq(seal_payload_sha256(p, hex), 0);
	ck_assert_str_eq(hex, "d77de564870d75febc339a52c085347513fb006f2dc4ba53bbdfbad1078aad81");
	json_decref(p);
}
END_TEST

START_TEST(sign_refuses_what_has_no_canonical_form)
{
	struct seal_key k;
	json_t *seal = (json_t *)1;
	key_from_byte(1, &k);

	json_t *big = json_pack("{s:I}", "n", (json_int_t)9007199254740992LL);
	ck_assert_int_eq(seal_sign(&k, big, &seal), -EINVAL);
	ck_assert_ptr_null(seal);
	json_t *ok = json_pack("{s:I}", "n", (json_int_t)9007199254740991LL);
	ck_assert_int_eq(seal_sign(&k, ok, &seal), 0);
	json_decref(seal);
	json_t *arr = json_pack("[i]", 1);
	ck_assert_int_eq(seal_sign(&k, arr, &seal), -EINVAL);
	json_t *badutf = json_object();
	json_object_set_new(badutf, "s", json_stringn_nocheck("\xff\xfe", 2));
	ck_assert_int_eq(seal_sign(&k, badutf, &seal), -EINVAL);
	char hex[65];
	ck_assert_int_eq(seal_payload_sha256(big, hex), -EINVAL);
	json_decref(big);
	json_decref(ok);
	json_decref(arr);
	json_decref(badutf);
}
END_TEST

/*
 * Replaces the byte at pos of text by every other value; each variant that
 * still parses as a seal-shaped document is verified.  A variant whose
 * canonical form differs from the original must fail; returns how many were
 * checked.  wrap: 'p' = text is the payload (re-wrapped with sig), 'v' = text
 * is the signature value, 's' = text is the whole seal.
 */
static long mutate_all(const char *text, size_t len, char wrap, const json_t *orig_seal,
		       const unsigned char pk[32])
{
	char *m = malloc(len + 1);
	char *orig_c = NULL;
	size_t orig_len = 0;
	long checked = 0;
	const json_t *orig_payload = json_object_get(orig_seal, "payload");

	ck_assert_ptr_nonnull(m);
	orig_c = jcs(wrap == 's' ? orig_seal : orig_payload, &orig_len);
	for (size_t pos = 0; pos < len; pos++) {
		for (int b = 0; b < 256; b++) {
			if (b == (unsigned char)text[pos])
				continue;
			memcpy(m, text, len);
			m[len] = '\0';
			m[pos] = (char)b;
			json_t *seal = NULL;
			bool same = false;
			if (wrap == 'v') {
				seal = json_deep_copy(orig_seal);
				json_object_set_new(json_object_get(seal, "signature"), "value",
						    json_stringn_nocheck(m, len));
			} else {
				json_t *parsed = NULL;
				seal_parse(m, len, &parsed, NULL, 0);
				if (!json_is_object(parsed)) {
					json_decref(parsed);
					continue;
				}
				char *c = NULL;
				size_t clen = 0;
				if (jcs_serialize(parsed, &c, &clen) == 0)
					same = clen == orig_len && memcmp(c, orig_c, clen) == 0;
				free(c);
				if (wrap == 'p') {
					seal = json_deep_copy(orig_seal);
					json_object_set_new(seal, "payload", parsed);
				} else {
					seal = parsed;
				}
			}
			char reason[SEAL_REASON_MAX] = "";
			int ret = seal_verify(seal, pk, reason, sizeof reason);
			if (same)
				ck_assert_int_eq(ret, 0);
			else
				ck_assert_msg(ret == -EBADE || ret == -EBADMSG || ret == -EKEYREJECTED,
					      "byte %zu -> 0x%02x (%c): verify returned %d (%s) for %s",
					      pos, b, wrap, ret, reason, m);
			ck_assert(reason[0] != '\0');
			checked++;
			json_decref(seal);
		}
	}
	free(m);
	free(orig_c);
	return checked;
}

START_TEST(every_single_byte_change_of_the_payload_fails)
{
	struct seal_key k;
	json_t *p = sample_payload(), *seal = NULL;
	size_t len = 0;

	key_from_byte(2, &k);
	ck_assert_int_eq(seal_sign(&k, p, &seal), 0);
	char *bytes = jcs(p, &len);
	long n = mutate_all(bytes, len, 'p', seal, k.pk);
	/* most string and digit positions have many parseable variants */
	ck_assert_int_gt(n, (long)len * 20);
	free(bytes);
	json_decref(seal);
	json_decref(p);
}
END_TEST

START_TEST(every_single_byte_change_of_the_signature_fails)
{
	struct seal_key k;
	json_t *p = sample_payload(), *seal = NULL;

	key_from_byte(3, &k);
	ck_assert_int_eq(seal_sign(&k, p, &seal), 0);
	const json_t *v = json_object_get(json_object_get(seal, "signature"), "value");
	long n = mutate_all(json_string_value(v), json_string_length(v), 'v', seal, k.pk);
	ck_assert_int_eq(n, 88 * 255);
	json_decref(seal);
	json_decref(p);
}
END_TEST

START_TEST(every_single_byte_change_of_the_seal_text_fails)
{
	struct seal_key k;
	json_t *p = sample_payload(), *seal = NULL;
	size_t len = 0;

	key_from_byte(4, &k);
	ck_assert_int_eq(seal_sign(&k, p, &seal), 0);
	char *text = jcs(seal, &len);
	long n = mutate_all(text, len, 's', seal, k.pk);
	ck_assert_int_gt(n, (long)len * 20);
	free(text);
	json_decref(seal);
	json_decref(p);
}
END_TEST

START_TEST(parse_reads_numbers_as_signed)
{
	struct seal_key k;
	json_t *p = json_pack("{s:f, s:f, s:i, s:f}", "big", 1e17, "odd", 123456789012345678.0,
			      "n", 42, "x", 0.1);
	json_t *seal = NULL, *back = NULL;
	char reason[SEAL_REASON_MAX], *text;
	size_t len = 0;

	key_from_byte(11, &k);
	ck_assert_int_eq(seal_sign(&k, p, &seal), 0);
	text = jcs(seal, &len);
	ck_assert_ptr_nonnull(strstr(text, "\"big\":100000000000000000,"));
	ck_assert_int_eq(seal_parse(text, len, &back, reason, sizeof reason), 0);
	ck_assert_int_eq(seal_verify(back, k.pk, reason, sizeof reason), 0);
	json_decref(back);
	/* what a default parser makes of it: integers beyond 2^53, no canonical form */
	back = json_loadb(text, len, 0, NULL);
	ck_assert_int_eq(seal_verify(back, k.pk, reason, sizeof reason), -EBADMSG);
	json_decref(back);

	const char *bad[] = {
		"{\"payload\":{},\"payload\":{}}",
		"{\"payload\":{\"a\":1,\"a\":2},\"signature\":{}}",
		"{} {}",
		"{\"payload\":",
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		back = (json_t *)1;
		ck_assert_int_eq(seal_parse(bad[i], strlen(bad[i]), &back, reason, sizeof reason),
				 -EBADMSG);
		ck_assert_ptr_null(back);
		ck_assert_ptr_nonnull(strstr(reason, "not JSON"));
	}
	ck_assert_int_eq(seal_parse(text, (size_t)SEAL_TEXT_MAX + 1, &back, reason, sizeof reason),
			 -E2BIG);
	free(text);
	json_decref(seal);
	json_decref(p);
}
END_TEST

START_TEST(swapped_key_rejected)
{
	struct seal_key a, b;
	json_t *p = sample_payload(), *seal = NULL;
	char reason[SEAL_REASON_MAX], id[17];
	unsigned char set[2][32];

	key_from_byte(5, &a);
	key_from_byte(6, &b);
	ck_assert_int_eq(seal_sign(&a, p, &seal), 0);
	ck_assert_int_eq(seal_verify(seal, b.pk, reason, sizeof reason), -EKEYREJECTED);
	ck_assert_ptr_nonnull(strstr(reason, a.key_id));
	ck_assert_ptr_nonnull(strstr(reason, b.key_id));

	memcpy(set[0], b.pk, 32);
	ck_assert_int_eq(seal_verify_any(seal, (const unsigned char (*)[32])set, 1, id, reason,
					 sizeof reason), -EKEYREJECTED);
	ck_assert_str_eq(id, a.key_id);
	memcpy(set[1], a.pk, 32);
	ck_assert_int_eq(seal_verify_any(seal, (const unsigned char (*)[32])set, 2, id, reason,
					 sizeof reason), 0);
	ck_assert_str_eq(id, a.key_id);
	ck_assert_int_eq(seal_verify_any(seal, NULL, 0, id, reason, sizeof reason), -EKEYREJECTED);

	/* the right key_id with the wrong public_key is a swapped key too */
	json_object_set_new(json_object_get(seal, "signature"), "public_key",
			    json_string(b.public_b64));
	ck_assert_int_eq(seal_verify(seal, a.pk, reason, sizeof reason), -EKEYREJECTED);
	json_decref(seal);
	json_decref(p);
}
END_TEST

START_TEST(attacker_resigned_seal_rejected)
{
	struct seal_key real, evil;
	json_t *p = sample_payload(), *seal = NULL, *forged = NULL, *forged_sig = NULL;
	char reason[SEAL_REASON_MAX];

	key_from_byte(7, &real);
	key_from_byte(8, &evil);
	ck_assert_int_eq(seal_sign(&real, p, &seal), 0);

	/* tamper with the energy and re-sign with the attacker's own key */
	json_object_set_new(json_object_get(p, "measurement"), "cv_percent", json_real(0.1));
	ck_assert_int_eq(seal_sign(&evil, p, &forged), 0);
	/* self-consistent against its embedded key ... */
	ck_assert_int_eq(seal_verify(forged, evil.pk, reason, sizeof reason), 0);
	/* ... but not against the pinned real key */
	ck_assert_int_eq(seal_verify(forged, real.pk, reason, sizeof reason), -EKEYREJECTED);

	/* claiming the real key_id/public_key while signing with another key */
	json_t *fsig = json_object_get(forged, "signature");
	json_object_set_new(fsig, "key_id", json_string(real.key_id));
	json_object_set_new(fsig, "public_key", json_string(real.public_b64));
	ck_assert_int_eq(seal_verify(forged, real.pk, reason, sizeof reason), -EBADE);

	/* the real signature on the tampered payload */
	forged_sig = json_deep_copy(seal);
	json_object_set(forged_sig, "payload", p);
	ck_assert_int_eq(seal_verify(forged_sig, real.pk, reason, sizeof reason), -EBADE);
	ck_assert_int_eq(seal_verify(seal, real.pk, reason, sizeof reason), 0);
	json_decref(seal);
	json_decref(forged);
	json_decref(forged_sig);
	json_decref(p);
}
END_TEST

START_TEST(malformed_seals_rejected)
{
	struct seal_key k;
	json_t *p = sample_payload(), *seal = NULL;
	char reason[SEAL_REASON_MAX];

	key_from_byte(10, &k);
	ck_assert_int_eq(seal_sign(&k, p, &seal), 0);
	char *good = json_dumps(seal, JSON_COMPACT);
	const char *v = json_string_value(json_object_get(json_object_get(seal, "signature"),
							  "value"));
	char v_unpadded[100], v_spaced[100], v_short[100], v_nl[100];
	snprintf(v_unpadded, sizeof v_unpadded, "%.86s", v);
	snprintf(v_spaced, sizeof v_spaced, " %s", v);
	snprintf(v_nl, sizeof v_nl, "%s\n", v);
	snprintf(v_short, sizeof v_short, "%.84s====", v);   /* not 64 bytes */

	/* each edit is applied to a fresh copy of the good seal */
	struct { const char *path, *member; json_t *value; } edits[] = {
		{ "", "payload", NULL },
		{ "", "signature", NULL },
		{ "", "payload", json_pack("[i]", 1) },
		{ "", "payload", json_string("{}") },
		{ "", "signature", json_string("x") },
		{ "", "extra", json_true() },
		{ "signature", "alg", NULL },
		{ "signature", "alg", json_string("ed25519") },
		{ "signature", "alg", json_string("HS256") },
		{ "signature", "alg", json_integer(1) },
		{ "signature", "key_id", NULL },
		{ "signature", "key_id", json_string("ABCDEF0123456789") },
		{ "signature", "key_id", json_string("abcdef012345678") },
		{ "signature", "key_id", json_null() },
		{ "signature", "public_key", json_string("AAAA") },
		{ "signature", "public_key", NULL },
		{ "signature", "value", NULL },
		{ "signature", "value", json_string(v_unpadded) },
		{ "signature", "value", json_string(v_spaced) },
		{ "signature", "value", json_string(v_nl) },
		{ "signature", "value", json_string(v_short) },
		{ "signature", "value", json_string("") },
		{ "signature", "value", json_integer(0) },
		{ "signature", "extra", json_string("") },
		{ "payload", "huge", json_integer(9007199254740993LL) },
	};
	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		json_t *s = json_loads(good, 0, NULL);
		json_t *target = edits[i].path[0] ? json_object_get(s, edits[i].path) : s;
		if (edits[i].value)
			json_object_set_new(target, edits[i].member, edits[i].value);
		else
			json_object_del(target, edits[i].member);
		reason[0] = '\0';
		int ret = seal_verify(s, k.pk, reason, sizeof reason);
		ck_assert_msg(ret == -EBADMSG, "edit %zu (%s.%s): %d %s", i, edits[i].path,
			      edits[i].member, ret, reason);
		ck_assert(reason[0] != '\0');
		char id[17] = "x";
		unsigned char set[1][32];
		memcpy(set[0], k.pk, 32);
		ck_assert_int_eq(seal_verify_any(s, (const unsigned char (*)[32])set, 1, id, reason,
						 sizeof reason), -EBADMSG);
		json_decref(s);
	}
	/* a NUL after a number: jansson 2.14 would read {"a":1\0} as {"a":1} */
	json_t *parsed = NULL;
	ck_assert_int_eq(seal_parse("{\"a\":1\0}", 8, &parsed, reason, sizeof reason), -EBADMSG);
	ck_assert_ptr_null(parsed);
	ck_assert_int_eq(seal_parse("{\"a\":1}", 7, &parsed, reason, sizeof reason), 0);
	json_decref(parsed);
	json_t *notobj = json_pack("[s]", "payload");
	ck_assert_int_eq(seal_verify(notobj, k.pk, reason, sizeof reason), -EBADMSG);
	ck_assert_int_eq(seal_verify(NULL, k.pk, reason, sizeof reason), -EINVAL);
	json_decref(notobj);
	free(good);
	json_decref(seal);
	json_decref(p);
}
END_TEST

static Suite *seal_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("seal", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	/* the every-byte tests verify tens of thousands of variants; sanitizers slow them */
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, key_created_0600_and_reloaded);
	tcase_add_test(tc, key_load_only_never_creates);
	tcase_add_test(tc, key_refused_when_group_or_world_can_access);
	tcase_add_test(tc, key_wrong_size_refused);
	tcase_add_test(tc, key_concurrent_first_start_makes_one_key);
	tcase_add_test(tc, key_id_is_sha256_prefix);
	tcase_add_test(tc, public_key_text_forms);
	tcase_add_test(tc, sign_verify_round_trip);
	tcase_add_test(tc, payload_sha256_known_value);
	tcase_add_test(tc, sign_refuses_what_has_no_canonical_form);
	tcase_add_test(tc, every_single_byte_change_of_the_payload_fails);
	tcase_add_test(tc, every_single_byte_change_of_the_signature_fails);
	tcase_add_test(tc, every_single_byte_change_of_the_seal_text_fails);
	tcase_add_test(tc, parse_reads_numbers_as_signed);
	tcase_add_test(tc, swapped_key_rejected);
	tcase_add_test(tc, attacker_resigned_seal_rejected);
	tcase_add_test(tc, malformed_seals_rejected);
	return s;
}

int main(void)
{
	log_init("test_seal", LOG_LVL_ERROR, LOG_FMT_TEXT);
	return testutil_run(seal_suite());
}
