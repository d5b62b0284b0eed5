/* seal.c — see seal.h. */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "jcs.h"
#include "log.h"
#include "util.h"

#define SIG_B64_LEN 88               /* base64 of 64 bytes, padded */
#define CREATE_ATTEMPTS 3            /* open → create → lost the race → open again */

__attribute__((format(printf, 4, 5)))
static int fail(char *buf, size_t cap, int err, const char *f, ...)
{
	va_list ap;

	if (buf && cap > 0) {
		va_start(ap, f);
		vsnprintf(buf, cap, f, ap);
		va_end(ap);
	}
	return err;
}

static void set_text(char *buf, size_t cap, const char *text)
{
	if (buf && cap > 0)
		snprintf(buf, cap, "%s", text);
}

/* ---- keys --------------------------------------------------------------- */

int seal_key_id(const unsigned char pk[SEAL_PK_BYTES], char out[SEAL_KEY_ID_LEN + 1])
{
	char hex[UTIL_SHA256_HEX_LEN];

	if (!pk || !out)
		return -EINVAL;
	util_sha256_hex(pk, SEAL_PK_BYTES, hex);
	memcpy(out, hex, SEAL_KEY_ID_LEN);
	out[SEAL_KEY_ID_LEN] = '\0';
	return 0;
}

void seal_key_wipe(struct seal_key *k)
{
	if (k)
		sodium_memzero(k, sizeof *k);
}

int seal_key_from_seed(const unsigned char seed[SEAL_SEED_BYTES], struct seal_key *k)
{
	if (!seed || !k)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	memset(k, 0, sizeof *k);
	if (crypto_sign_seed_keypair(k->pk, k->sk, seed) != 0)
		return -EIO;
	seal_key_id(k->pk, k->key_id);
	sodium_bin2base64(k->public_b64, sizeof k->public_b64, k->pk, SEAL_PK_BYTES,
			  sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

static int read_exact(int fd, unsigned char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t r = read(fd, buf + off, len - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EINVAL;
		off += (size_t)r;
	}
	return 0;
}

/* Checks and reads an open key file. */
static int load_fd(int fd, const char *path, struct seal_key *k, char *why, size_t cap)
{
	unsigned char seed[SEAL_SEED_BYTES + 1];
	struct stat st;
	int ret;

	if (fstat(fd, &st) < 0)
		return fail(why, cap, -errno, "key file %s: fstat: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(why, cap, -EPERM, "key file %s is not a regular file", path);
	if (st.st_mode & 077)
		return fail(why, cap, -EPERM,
			    "key file %s has mode %04o: group/other may access the signing key; "
			    "it must be 0600 (chmod 600 it, and replace the key if others could "
			    "read it)", path, (unsigned)(st.st_mode & 07777));
	if (st.st_size != SEAL_SEED_BYTES)
		return fail(why, cap, -EINVAL,
			    "key file %s is %lld bytes; a key file is exactly the %d-byte "
			    "Ed25519 seed", path, (long long)st.st_size, SEAL_SEED_BYTES);
	ret = read_exact(fd, seed, SEAL_SEED_BYTES);
	/* A file that grew after fstat is not a key file either. */
	if (ret == 0 && read(fd, seed + SEAL_SEED_BYTES, 1) != 0)
		ret = -EINVAL;
	if (ret == 0)
		ret = seal_key_from_seed(seed, k);
	sodium_memzero(seed, sizeof seed);
	if (ret)
		return fail(why, cap, ret, "key file %s: read: %s", path, strerror(-ret));
	if (st.st_uid != geteuid())
		log_warn("key file %s is owned by uid %u, not by this process (uid %u)", path,
			 (unsigned)st.st_uid, (unsigned)geteuid());
	return 0;
}

/* mkdir -p of path's directory part; directories we create are 0700. */
static int make_parent_dirs(const char *path, char *why, size_t cap)
{
	char dir[PATH_MAX];
	struct stat st;

	if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
		return fail(why, cap, -ENAMETOOLONG, "key file path too long");
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	if (slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return fail(why, cap, -errno, "cannot create key directory %s: %s", dir,
				    strerror(errno));
		*p = c;
		if (c == '\0')
			break;
	}
	if (stat(dir, &st) == 0 && (st.st_mode & 022) && !(st.st_mode & S_ISVTX))
		log_warn("key directory %s has mode %04o: others could replace the key file",
			 dir, (unsigned)(st.st_mode & 07777));
	return 0;
}

static int fsync_parent(const char *path)
{
	char dir[PATH_MAX];

	if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
		return -ENAMETOOLONG;
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int ret = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * Writes a fresh seed to a private temp file and links it to path.  link(2)
 * fails with EEXIST instead of replacing, so of two processes starting at
 * once exactly one wins and the other loads the winner's complete file.
 * 0 created (k filled), -EEXIST lost the race, else -errno with why.
 */
static int create_key(const char *path, struct seal_key *k, char *why, size_t cap)
{
	unsigned char seed[SEAL_SEED_BYTES];
	char tmp[PATH_MAX];
	int ret, fd;

	if ((ret = make_parent_dirs(path, why, cap)))
		return ret;
	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
		return fail(why, cap, -ENAMETOOLONG, "key file path too long");
	fd = mkostemp(tmp, O_CLOEXEC);   /* O_EXCL, mode 0600 */
	if (fd < 0)
		return fail(why, cap, -errno, "cannot create key file next to %s: %s", path,
			    strerror(errno));
	randombytes_buf(seed, sizeof seed);
	ret = 0;
	for (size_t off = 0; off < sizeof seed;) {
		ssize_t w = write(fd, seed + off, sizeof seed - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ret = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (ret == 0 && (fchmod(fd, 0600) < 0 || fsync(fd) < 0))
		ret = -errno;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && link(tmp, path) < 0)
		ret = -errno;
	unlink(tmp);
	if (ret == 0) {
		fsync_parent(path);
		ret = seal_key_from_seed(seed, k);
	} else if (ret != -EEXIST) {
		fail(why, cap, ret, "cannot create key file %s: %s", path, strerror(-ret));
	}
	sodium_memzero(seed, sizeof seed);
	return ret;
}

int seal_key_load(const char *path, struct seal_key *k, char *why, size_t cap)
{
	int fd, ret;

	set_text(why, cap, "");
	if (!path || !*path || !k)
		return fail(why, cap, -EINVAL, "no key file path");
	memset(k, 0, sizeof *k);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fail(why, cap, -errno, "cannot open key file %s: %s", path,
			    strerror(errno));
	ret = load_fd(fd, path, k, why, cap);
	close(fd);
	if (ret)
		seal_key_wipe(k);
	return ret;
}

int seal_key_load_or_create(const char *path, struct seal_key *k, bool *created,
			    char *why, size_t cap)
{
	int ret = -EAGAIN;

	if (created)
		*created = false;
	set_text(why, cap, "");
	if (!path || !*path || !k)
		return fail(why, cap, -EINVAL, "no key file path");
	if (sodium_init() < 0)
		return fail(why, cap, -EIO, "libsodium failed to initialize");
	memset(k, 0, sizeof *k);
	for (int attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
		ret = seal_key_load(path, k, why, cap);
		if (ret != -ENOENT)
			return ret;
		set_text(why, cap, "");
		ret = create_key(path, k, why, cap);
		if (ret == 0) {
			if (created)
				*created = true;
			log_info("created signing key %s (key_id %s)", path, k->key_id);
			return 0;
		}
		if (ret != -EEXIST)
			return ret;
	}
	return fail(why, cap, ret, "key file %s keeps appearing and vanishing", path);
}

/* ---- public key text ---------------------------------------------------- */

/*
 * Strict standard base64 of exactly want bytes.  The decoded bytes are
 * re-encoded and compared with the input: libsodium 1.0.18's decoder maps some
 * bytes >= 0x80 onto alphabet values, so only a round trip proves that the
 * text is the one canonical spelling (and that a seal has one form only).
 */
static bool b64_decode(const char *s, size_t len, unsigned char *out, size_t want)
{
	unsigned char buf[SEAL_SIG_BYTES + 4];
	char again[SIG_B64_LEN + 1];
	const char *end = NULL;
	size_t n = 0;

	if (want > SEAL_SIG_BYTES || len != sodium_base64_ENCODED_LEN(want,
		sodium_base64_VARIANT_ORIGINAL) - 1)
		return false;
	if (sodium_base642bin(buf, sizeof buf, s, len, NULL, &n, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + len || n != want)
		return false;
	sodium_bin2base64(again, sizeof again, buf, want, sodium_base64_VARIANT_ORIGINAL);
	if (memcmp(again, s, len) != 0)
		return false;
	memcpy(out, buf, want);
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool bare_key_parse(const char *s, size_t len, unsigned char pk[SEAL_PK_BYTES])
{
	if (len == 2 * SEAL_PK_BYTES) {
		for (size_t i = 0; i < SEAL_PK_BYTES; i++) {
			int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return false;
			pk[i] = (unsigned char)(hi << 4 | lo);
		}
		return true;
	}
	return b64_decode(s, len, pk, SEAL_PK_BYTES);
}

static bool json_key_parse(const json_t *obj, unsigned char pk[SEAL_PK_BYTES])
{
	const json_t *v = json_object_get(obj, "public_key");
	return json_is_string(v) &&
	       bare_key_parse(json_string_value(v), json_string_length(v), pk);
}

/* first_only: stop quietly after max keys instead of failing with -E2BIG. */
static int keys_parse(const char *text, size_t len, unsigned char (*pks)[SEAL_PK_BYTES],
		      size_t max, size_t *n, bool first_only)
{
	json_t *root = NULL;
	int ret = -EINVAL;

	if (!n)
		return -EINVAL;
	*n = 0;
	if (!text || !pks || max == 0 || len > SEAL_PUBKEY_TEXT_MAX)
		return -EINVAL;
	while (len > 0 && strchr(" \t\r\n", text[0]))
		text++, len--;
	while (len > 0 && strchr(" \t\r\n", text[len - 1]))
		len--;
	if (len == 0)
		return -EINVAL;
	if (text[0] != '{' && text[0] != '[') {
		if (!bare_key_parse(text, len, pks[0]))
			return -EINVAL;
		*n = 1;
		return 0;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(root)) {
		if (json_key_parse(root, pks[0])) {
			*n = 1;
			ret = 0;
		}
	} else if (json_is_array(root) && json_array_size(root) > 0) {
		size_t i;
		json_t *el;
		ret = 0;
		json_array_foreach(root, i, el) {
			if (i >= max) {
				ret = first_only ? 0 : -E2BIG;
				break;
			}
			if (!json_is_object(el) || !json_key_parse(el, pks[i])) {
				ret = -EINVAL;
				break;
			}
			*n = i + 1;
		}
		if (ret)
			*n = 0;
	}
	json_decref(root);
	return ret;
}

int seal_public_keys_parse(const char *text, size_t len, unsigned char (*pks)[SEAL_PK_BYTES],
			   size_t max, size_t *n)
{
	return keys_parse(text, len, pks, max, n, false);
}

int seal_public_key_parse(const char *text, size_t len, unsigned char pk[SEAL_PK_BYTES])
{
	size_t n = 0;

	if (!pk)
		return -EINVAL;
	return keys_parse(text, len, (unsigned char (*)[SEAL_PK_BYTES])pk, 1, &n, true);
}

/* ---- sign / verify ------------------------------------------------------ */

int seal_payload_sha256(const json_t *payload, char hex[65])
{
	char *bytes = NULL;
	size_t len = 0;
	int ret;

	if (!hex)
		return -EINVAL;
	ret = jcs_serialize(payload, &bytes, &len);
	if (ret == 0)
		util_sha256_hex(bytes, len, hex);
	free(bytes);
	return ret;
}

int seal_sign(const struct seal_key *k, const json_t *payload, json_t **seal)
{
	unsigned char sig[SEAL_SIG_BYTES];
	char sig_b64[SIG_B64_LEN + 1];
	char *bytes = NULL;
	size_t len = 0;
	json_t *copy = NULL, *s = NULL;
	int ret;

	if (!seal)
		return -EINVAL;
	*seal = NULL;
	if (!k || !json_is_object(payload))
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	if ((ret = jcs_serialize(payload, &bytes, &len)))
		goto out;
	if (crypto_sign_detached(sig, NULL, (const unsigned char *)bytes, len, k->sk) != 0) {
		ret = -EIO;
		goto out;
	}
	sodium_bin2base64(sig_b64, sizeof sig_b64, sig, sizeof sig,
			  sodium_base64_VARIANT_ORIGINAL);
	/* json_deep_copy takes json_t * although it only reads it. */
	copy = json_deep_copy((json_t *)(uintptr_t)payload);
	s = json_pack("{s:o, s:{s:s, s:s, s:s, s:s}}", "payload", copy, "signature",
		      "alg", SEAL_ALG, "key_id", k->key_id, "public_key", k->public_b64,
		      "value", sig_b64);
	copy = NULL;   /* json_pack's "o" consumed it, even on failure */
	if (!s) {
		ret = -ENOMEM;
		goto out;
	}
	*seal = s;
out:
	free(bytes);
	return ret;
}

struct sig_parts {
	const json_t *payload;
	char key_id[SEAL_KEY_ID_LEN + 1];
	unsigned char pk[SEAL_PK_BYTES];
	unsigned char sig[SEAL_SIG_BYTES];
};

static bool is_key_id(const char *s, size_t len)
{
	if (len != SEAL_KEY_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The seal's shape, strictly: anything unexpected is -EBADMSG. */
static int parse_seal(const json_t *seal, struct sig_parts *p, char *reason, size_t cap)
{
	static const char *const names[] = { "alg", "key_id", "public_key", "value" };
	const json_t *sig, *v[4];

	if (!json_is_object(seal))
		return fail(reason, cap, -EBADMSG, "seal is not a JSON object");
	p->payload = json_object_get(seal, "payload");
	sig = json_object_get(seal, "signature");
	if (!json_is_object(p->payload))
		return fail(reason, cap, -EBADMSG, "seal.payload missing or not an object");
	if (!json_is_object(sig))
		return fail(reason, cap, -EBADMSG, "seal.signature missing or not an object");
	if (json_object_size(seal) != 2)
		return fail(reason, cap, -EBADMSG,
			    "seal has members other than payload and signature");
	for (int i = 0; i < 4; i++) {
		v[i] = json_object_get(sig, names[i]);
		if (!json_is_string(v[i]))
			return fail(reason, cap, -EBADMSG,
				    "signature.%s missing or not a string", names[i]);
	}
	if (json_object_size(sig) != 4)
		return fail(reason, cap, -EBADMSG,
			    "signature has members other than alg, key_id, public_key, value");
	if (json_string_length(v[0]) != strlen(SEAL_ALG) ||
	    strcmp(json_string_value(v[0]), SEAL_ALG) != 0)
		return fail(reason, cap, -EBADMSG, "signature.alg is not \"Ed25519\"");
	if (!is_key_id(json_string_value(v[1]), json_string_length(v[1])))
		return fail(reason, cap, -EBADMSG,
			    "signature.key_id is not 16 lower-case hex digits");
	memcpy(p->key_id, json_string_value(v[1]), SEAL_KEY_ID_LEN + 1);
	if (!b64_decode(json_string_value(v[2]), json_string_length(v[2]), p->pk, SEAL_PK_BYTES))
		return fail(reason, cap, -EBADMSG,
			    "signature.public_key is not standard base64 of 32 bytes");
	if (!b64_decode(json_string_value(v[3]), json_string_length(v[3]), p->sig,
			SEAL_SIG_BYTES))
		return fail(reason, cap, -EBADMSG,
			    "signature.value is not standard base64 of 64 bytes");
	return 0;
}

static int verify_parts(const struct sig_parts *p, const unsigned char pinned[SEAL_PK_BYTES],
			char *reason, size_t cap)
{
	char pinned_id[SEAL_KEY_ID_LEN + 1] = "";
	char *bytes = NULL;
	size_t len = 0;
	int ret;

	seal_key_id(pinned, pinned_id);
	if (strcmp(p->key_id, pinned_id) != 0)
		return fail(reason, cap, -EKEYREJECTED,
			    "signed with key_id %s, not with the pinned key %s", p->key_id,
			    pinned_id);
	if (memcmp(p->pk, pinned, SEAL_PK_BYTES) != 0)
		return fail(reason, cap, -EKEYREJECTED,
			    "signature.public_key is not the pinned key %s", pinned_id);
	ret = jcs_serialize(p->payload, &bytes, &len);
	if (ret == -ENOMEM)
		return fail(reason, cap, ret, "out of memory");
	if (ret)
		return fail(reason, cap, -EBADMSG,
			    "payload has no canonical form (integer beyond 2^53, bad UTF-8 "
			    "or nesting too deep)");
	if (sodium_init() < 0)
		ret = fail(reason, cap, -EIO, "libsodium failed to initialize");
	else if (crypto_sign_verify_detached(p->sig, (const unsigned char *)bytes, len,
					     pinned) != 0)
		ret = fail(reason, cap, -EBADE,
			   "signature does not match the payload under key %s", pinned_id);
	else
		set_text(reason, cap, "ok");
	free(bytes);
	return ret;
}

int seal_parse(const char *text, size_t len, json_t **seal, char *reason, size_t cap)
{
	json_error_t err;

	if (!seal)
		return fail(reason, cap, -EINVAL, "no output");
	*seal = NULL;
	if (!text)
		return fail(reason, cap, -EINVAL, "no seal text");
	if (len > SEAL_TEXT_MAX)
		return fail(reason, cap, -E2BIG, "seal text over %u bytes", SEAL_TEXT_MAX);
	/* jansson 2.14 skips a NUL after a number ("1\0," reads as "1,") */
	if (memchr(text, '\0', len))
		return fail(reason, cap, -EBADMSG, "not JSON (a NUL byte)");
	*seal = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL |
			   JSON_DECODE_ANY, &err);
	if (!*seal)
		return fail(reason, cap, -EBADMSG, "not JSON (line %d column %d: %s)", err.line,
			    err.column, err.text);
	set_text(reason, cap, "ok");
	return 0;
}

int seal_verify(const json_t *seal, const unsigned char pinned_pk[SEAL_PK_BYTES],
		char *reason, size_t cap)
{
	struct sig_parts p = { 0 };
	int ret;

	if (!seal || !pinned_pk)
		return fail(reason, cap, -EINVAL, "no seal or no pinned key");
	if ((ret = parse_seal(seal, &p, reason, cap)))
		return ret;
	return verify_parts(&p, pinned_pk, reason, cap);
}

int seal_verify_any(const json_t *seal, const unsigned char (*pinned)[SEAL_PK_BYTES], size_t n,
		    char key_id_out[SEAL_KEY_ID_LEN + 1], char *reason, size_t cap)
{
	struct sig_parts p = { 0 };
	int ret;

	if (key_id_out)
		key_id_out[0] = '\0';
	if (!seal || (!pinned && n > 0))
		return fail(reason, cap, -EINVAL, "no seal or no pinned keys");
	if ((ret = parse_seal(seal, &p, reason, cap)))
		return ret;
	if (key_id_out)
		memcpy(key_id_out, p.key_id, sizeof p.key_id);
	for (size_t i = 0; i < n; i++) {
		char id[SEAL_KEY_ID_LEN + 1] = "";
		seal_key_id(pinned[i], id);
		if (strcmp(id, p.key_id) == 0)
			return verify_parts(&p, pinned[i], reason, cap);
	}
	return fail(reason, cap, -EKEYREJECTED, "signed with key_id %s, which is not pinned",
		    p.key_id);
}
