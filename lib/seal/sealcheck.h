/*
 * sealcheck.h — the offline check of a seal against pinned keys, as
 * jouletrace-verify and `jouletrace verify` both run it (one check, two
 * front ends): load the keys to trust, check a seal text, print the verdict.
 *
 * The key inside the seal is never trusted.  The text may be a seal or a whole
 * GET /api/v1/tasks/{id} reply: then its "seal" member is checked, and the
 * reply's own figures against the sealed ones (sealmatch.h): a reply whose
 * figures differ is invalid, though its seal verifies.
 *
 * Ownership: a sealcheck_keys is plain memory of the caller; a result holds
 * the parsed JSON until sealcheck_result_free.  Errors: 0 or -errno, with a
 * reason in the caller's (why, cap) where one is taken.  Thread safety: none
 * needed (no shared state).
 */
#ifndef JT_SEALCHECK_H
#define JT_SEALCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "seal.h"

#define SEALCHECK_MAX_PINNED 64

struct sealcheck_keys {
	unsigned char pk[SEALCHECK_MAX_PINNED][SEAL_PK_BYTES];
	size_t n;
};

/*
 * The keys to trust from a public-key file (base64, hex, or GET /api/v1/keys
 * JSON: every key listed) or, when pubkey_file is NULL, from the service's
 * seed file.  -EINVAL with why = "no pinned key: ..." when both are NULL;
 * why never starts with the program's name.
 */
int sealcheck_keys_load(const char *pubkey_file, const char *key_file, struct sealcheck_keys *k,
			char *why, size_t cap);
/* The keys of a GET /api/v1/keys body (or any text the --pubkey file may hold). */
int sealcheck_keys_parse(const char *text, size_t len, struct sealcheck_keys *k);

struct sealcheck_result {
	bool valid;
	char reason[SEAL_REASON_MAX];        /* why not valid */
	char key_id[SEAL_KEY_ID_LEN + 1];    /* the pinned key that verified it */
	json_t *root;                        /* the parsed text (owned) */
	const json_t *payload;               /* inside root, when valid */
	bool figures_checked;                /* a whole task reply: its figures were
					      * compared with the seal (sealmatch.h);
					      * differing ones make it invalid */
};

/* Checks a seal text: 0 with r->valid set either way (an allocation failure
 * reads as invalid, with its reason). */
int sealcheck_text(const char *text, size_t len, const struct sealcheck_keys *k,
		   struct sealcheck_result *r);
/*
 * The verdict as jouletrace-verify prints it: "invalid: REASON", or "valid"
 * then key_id, sequence, task_id and issued_at, one "name: value" a line
 * (control characters in strings shown as '?'), and "figures: as sealed ..."
 * when a task reply's figures were compared.
 */
void sealcheck_print(FILE *f, const struct sealcheck_result *r);
void sealcheck_result_free(struct sealcheck_result *r);

#endif
