/*
 * sealchain.h — the per-key seal chain in Redis (SPEC §5): sequence numbers
 * and prev_seal_sha256 links that stay gap-free and fork-free when several
 * workers share one signing key, the seal log, and the published key list.
 *
 * Keys (keys.h):
 *   jt:keys                 hash  key_id → {"key_id","public_key","created_at"}
 *   jt:seal:head:{key_id}   hash  sequence (decimal), sha256 (hex SHA-256 of the
 *                                 JCS bytes of the last payload)
 *   jt:seal:log:{key_id}    zset  score = sequence, member = the seal's JCS text
 *
 * Signing is optimistic: read the head (seq, sha), add sequence = seq + 1 and
 * prev_seal_sha256 = sha (null for the first seal) to the payload, sign, and
 * commit with one Lua script that writes the new head and the log entry only
 * if the head is still (seq, sha).  A signer that lost the race re-reads the
 * head, re-signs and retries (up to SEALCHAIN_MAX_ATTEMPTS, with a few ms of
 * random back-off), so no sequence number is ever used twice and every
 * prev_seal_sha256 names the payload logged just before it.  A seal that
 * failed to commit was never returned, so it cannot circulate.
 *
 * Errors: 0 or -errno; the transport errors of redis.h (-ECONNREFUSED,
 * -ETIMEDOUT, -EIO: Redis unavailable, retry later) and -EPROTO pass through.
 * Thread safety: as struct redis (one connection per thread); the functions
 * keep no state of their own.
 */
#ifndef JT_SEALCHAIN_H
#define JT_SEALCHAIN_H

#include <jansson.h>

#include "redis.h"
#include "seal.h"

#define SEALCHAIN_MAX_ATTEMPTS 100
#define SEALCHAIN_LOG_DEFAULT 100          /* seals per page when limit <= 0 */
#define SEALCHAIN_LOG_MAX 1000             /* limit is clamped to this */
#define SEALCHAIN_LOG_MAX_BYTES (8u << 20) /* a page stops growing past this */
#define SEALCHAIN_MAX_KEYS 1024            /* keys listed / scanned */

/*
 * Publishes k's public key in jt:keys (HSETNX: the first created_at stays).
 * created_at: RFC 3339 text, stored as given.  -EEXIST when jt:keys already
 * holds this key_id for a different public key (a 64-bit collision, or a
 * tampered hash); -EINVAL on NULL arguments.
 */
int sealchain_register_key(struct redis *r, const struct seal_key *k, const char *created_at);

/*
 * *json = the GET /api/v1/keys body: a JSON array of {"key_id",
 * "public_key", "created_at"} ordered by created_at then key_id (malloc'd,
 * caller frees).  Entries that are not such objects are skipped with a
 * warning; at most SEALCHAIN_MAX_KEYS are listed.  "[]" when none.
 */
int sealchain_keys_json(struct redis *r, char **json);

/*
 * Signs payload (a JSON object without chain fields: "sequence" and
 * "prev_seal_sha256" are set here, overwriting any present) as the next link
 * of k's chain and appends the seal to the log.  On success *seal is the new
 * seal (caller owns it) and payload holds the committed chain fields.
 * Errors: -EINVAL (not an object, or not JCS-serializable), -EAGAIN (lost
 * the race SEALCHAIN_MAX_ATTEMPTS times), -EBADMSG (the head in Redis is
 * not a head this module wrote), -EOVERFLOW (sequence would reach 2^53),
 * -ENOMEM, and the Redis errors.  After a transport error on the commit the
 * log is read back: if the seal did land, that is success.
 */
int sealchain_sign_append(struct redis *r, const struct seal_key *k, json_t *payload,
			  json_t **seal);

/*
 * What sealchain_sign_append_also writes in the same Redis step as the seal
 * lands in the log: key (a hash that must exist) gets the seal's text in
 * seal_field and, when field is not NULL, value in field.  A record that
 * already holds seal_field is never sealed again.
 */
struct sealchain_also {
	const char *key, *seal_field;
	const char *field, *value;     /* both NULL, or both set */
};

/*
 * sealchain_sign_append, and also (NULL = nothing) in the same step.  More
 * errors: -ENOENT (also->key does not exist) and -EEXIST (it already holds a
 * seal); with both, nothing was appended.  -EINVAL for a half-filled also.
 */
int sealchain_sign_append_also(struct redis *r, const struct seal_key *k, json_t *payload,
			       const struct sealchain_also *also, json_t **seal);

/*
 * *json = the GET /api/v1/seals?after=N body (malloc'd):
 *   {"seals":[seal, ...],"next_after":M}
 * the seals with sequence > after, ordered by sequence (then key_id), at most
 * limit of them (limit <= 0 → SEALCHAIN_LOG_DEFAULT, clamped to
 * SEALCHAIN_LOG_MAX) and about SEALCHAIN_LOG_MAX_BYTES of text; M is the last
 * sequence returned (after itself when none), so the next page is
 * ?after=M.  key_id NULL merges the logs of every key in jt:keys; a page then
 * never ends inside a group of equal sequence numbers (so it may hold up to
 * one seal per key more than limit).  -EINVAL for a key_id that is not 16
 * lower-case hex digits.  Seals are returned byte for byte as logged.
 */
int sealchain_log_json(struct redis *r, const char *key_id, long long after, long limit,
		       char **json);

#endif
