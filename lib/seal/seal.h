/*
 * seal.h — Ed25519 seals over RFC 8785 canonical JSON (SPEC §5), no Redis.
 *
 * A seal is {"payload": {...}, "signature": {"alg": "Ed25519", "key_id",
 * "public_key", "value"}}: value = standard base64 of the 64-byte detached
 * Ed25519 signature of jcs_serialize(payload); key_id = the first 16 lower-case
 * hex digits of SHA-256 of the 32 raw public-key bytes; public_key = standard
 * base64 of those bytes.
 *
 * Trust: a verifier trusts only the key it was given (pinned).  The
 * public_key inside a seal is informational: it is compared with the pinned
 * key and never used to check the signature, so an attacker who re-signs a
 * modified payload with his own key and embeds that key gets -EKEYREJECTED.
 *
 * Seals from outside (files, request bodies) should be parsed with
 * seal_parse(): it rejects duplicate members (which could make two parsers
 * see two payloads under one signature) and reads every number as a double,
 * as RFC 8785 does, so a real such as 1e17, which JCS prints as the digits
 * "100000000000000000", reads back as the value that was signed instead of
 * as an integer beyond 2^53.
 *
 * Key file: exactly the 32-byte seed, raw, mode 0600.  It is created on first
 * use (parent directory 0700 when missing) through a private temp file that is
 * written, fsync'd and then link(2)ed into place, so two processes starting at
 * once agree on one key and nobody ever reads a half-written file.
 *
 * Errors are 0 or -errno as documented per function.  Thread safety: every
 * function is reentrant; a struct seal_key may be shared read-only between
 * threads.  The secret key lives in struct seal_key: wipe it with
 * seal_key_wipe() when done.
 */
#ifndef JT_SEAL_H
#define JT_SEAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define SEAL_ALG "Ed25519"
#define SEAL_PK_BYTES 32
#define SEAL_SEED_BYTES 32
#define SEAL_SIG_BYTES 64
#define SEAL_KEY_ID_LEN 16       /* hex digits */
#define SEAL_PK_B64_LEN 44       /* base64 of 32 bytes, padded */
#define SEAL_REASON_MAX 256      /* a reason buffer of this size is never cut */
#define SEAL_PUBKEY_TEXT_MAX (64 * 1024)  /* longest key text seal_public_key(s)_parse reads */
#define SEAL_TEXT_MAX (16u << 20)         /* longest seal text seal_parse reads */

struct seal_key {
	unsigned char pk[SEAL_PK_BYTES];
	unsigned char sk[64];                 /* libsodium secret key: seed || pk */
	char key_id[SEAL_KEY_ID_LEN + 1];
	char public_b64[SEAL_PK_B64_LEN + 1];
};

/*
 * Loads the seed at path, or creates it when the file does not exist (then
 * *created = true).  Refuses, with a one-line explanation in why:
 *   -EPERM   the file has any group or other permission bit (it must be 0600
 *            or stricter), or is not a regular file (symlinks are not followed)
 *   -EINVAL  the file is not exactly 32 bytes
 *   other    -errno of open/read/mkdir/link (e.g. -EACCES, -ENOENT for a
 *            missing grand-parent we could not create)
 * created and why may be NULL.  A parent directory that others can write is
 * only logged as a warning (deployments may choose their own layout).
 */
int seal_key_load_or_create(const char *path, struct seal_key *k, bool *created,
			    char *why, size_t cap);

/* Same checks, but never creates: a missing file is -ENOENT (for tools). */
int seal_key_load(const char *path, struct seal_key *k, char *why, size_t cap);

/* The key pair of a seed; for tests and tools that hold the seed already. */
int seal_key_from_seed(const unsigned char seed[SEAL_SEED_BYTES], struct seal_key *k);

/* Zeroes the whole key (secret included). */
void seal_key_wipe(struct seal_key *k);

/* key_id of pk: the first 16 hex digits of SHA-256(pk).  0, -EINVAL on NULL. */
int seal_key_id(const unsigned char pk[SEAL_PK_BYTES], char out[SEAL_KEY_ID_LEN + 1]);

/*
 * A public key from text (at most SEAL_PUBKEY_TEXT_MAX bytes, surrounding
 * whitespace ignored), in any of these forms:
 *   standard base64 of the 32 bytes (padding required, non-canonical trailing
 *   bits refused), 64 hex digits (either case), or JSON as GET /api/v1/keys
 *   serves it: an array of {"public_key": ...} objects (first one taken) or one
 *   such object.  0, or -EINVAL when nothing of the above fits.
 */
int seal_public_key_parse(const char *text, size_t len, unsigned char pk[SEAL_PK_BYTES]);

/*
 * Same, but every key of a JSON array (up to max); a bare key or a single
 * object gives one.  *n = number of keys written.  -EINVAL when no key parses
 * or any array element is not a key object; -E2BIG when there are more than max.
 */
int seal_public_keys_parse(const char *text, size_t len, unsigned char (*pks)[SEAL_PK_BYTES],
			   size_t max, size_t *n);

/*
 * Signs payload (must be a JSON object).  *seal = a new object holding a deep
 * copy of payload and the signature; the caller owns it (json_decref).
 * -EINVAL: payload not an object, or not JCS-serializable (integer >= 2^53,
 * non-finite real, invalid UTF-8, too deep); -ENOMEM.  *seal is NULL on error.
 */
int seal_sign(const struct seal_key *k, const json_t *payload, json_t **seal);

/*
 * Checks seal against the pinned key.  Returns
 *   0              valid
 *   -EBADMSG       malformed: not {"payload": object, "signature": object}
 *                  with exactly those members; signature members other than
 *                  exactly alg/key_id/public_key/value, any of them not a
 *                  string, alg not "Ed25519", key_id not 16 lower-case hex
 *                  digits, public_key not base64 of 32 bytes, value not base64
 *                  of 64 bytes, payload not JCS-serializable
 *   -EKEYREJECTED  well-formed, but signature.key_id or signature.public_key
 *                  names another key than the pinned one
 *   -EBADE         the signature does not verify under the pinned key
 *   -EINVAL        NULL seal or pinned_pk
 * reason (when cap > 0) always gets one line: "ok" or why it failed.
 */
int seal_verify(const json_t *seal, const unsigned char pinned_pk[SEAL_PK_BYTES],
		char *reason, size_t cap);

/*
 * Verifies against a set of pinned keys: the one whose key_id equals
 * signature.key_id is used (no match → -EKEYREJECTED).  key_id_out (optional)
 * gets the seal's signature.key_id whenever it is well-formed, else "".
 * Otherwise as seal_verify.
 */
int seal_verify_any(const json_t *seal, const unsigned char (*pinned)[SEAL_PK_BYTES], size_t n,
		    char key_id_out[SEAL_KEY_ID_LEN + 1], char *reason, size_t cap);

/*
 * Parses seal text (any JSON value; seal_verify judges the shape) with
 * JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL.  *seal is the caller's.
 * -EBADMSG with a reason for malformed JSON, duplicate members or trailing
 * garbage; -E2BIG over SEAL_TEXT_MAX; -EINVAL for NULL arguments.
 */
int seal_parse(const char *text, size_t len, json_t **seal, char *reason, size_t cap);

/* Lower-case hex SHA-256 of jcs_serialize(payload): prev_seal_sha256 of the
 * next seal.  0, or jcs_serialize's -EINVAL/-ENOMEM. */
int seal_payload_sha256(const json_t *payload, char hex[65]);

#endif
