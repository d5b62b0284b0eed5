/* sealcheck.c — see sealcheck.h.  Moved from tools/verify.c unchanged in
 * behaviour, so jouletrace-verify and the client run the same check. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sealcheck.h"
#include "sealmatch.h"
#include "util.h"

int sealcheck_keys_parse(const char *text, size_t len, struct sealcheck_keys *k)
{
	return seal_public_keys_parse(text, len, k->pk, SEALCHECK_MAX_PINNED, &k->n);
}

int sealcheck_keys_load(const char *pubkey_file, const char *key_file, struct sealcheck_keys *k,
			char *why, size_t cap)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	k->n = 0;
	if (pubkey_file) {
		ret = util_read_file(pubkey_file, SEAL_PUBKEY_TEXT_MAX, &text, &len);
		if (ret) {
			util_say(why, cap, "%s: %s", pubkey_file, strerror(-ret));
			return ret;
		}
		ret = sealcheck_keys_parse(text, len, k);
		free(text);
		if (ret)
			util_say(why, cap, "%s: %s", pubkey_file,
				 ret == -E2BIG ? "too many keys" :
				 "not a public key (base64, hex, or GET /api/v1/keys JSON)");
		return ret;
	}
	if (key_file) {
		struct seal_key sk;
		ret = seal_key_load(key_file, &sk, why, cap);
		if (ret)
			return ret;
		memcpy(k->pk[0], sk.pk, SEAL_PK_BYTES);
		k->n = 1;
		seal_key_wipe(&sk);
		return 0;
	}
	util_say(why, cap, "no pinned key: pass --pubkey (the public key published at "
		 "GET /api/v1/keys)");
	return -EINVAL;
}

int sealcheck_text(const char *text, size_t len, const struct sealcheck_keys *k,
		   struct sealcheck_result *r)
{
	const json_t *seal;

	memset(r, 0, sizeof *r);
	if (seal_parse(text, len, &r->root, r->reason, sizeof r->reason))
		return 0;   /* invalid, reason given (an allocation failure reads as one too) */
	seal = r->root;
	if (json_is_object(r->root) && !json_object_get(r->root, "payload") &&
	    json_is_object(json_object_get(r->root, "seal")))
		seal = json_object_get(r->root, "seal");
	if (seal_verify_any(seal, (const unsigned char (*)[SEAL_PK_BYTES])k->pk, k->n,
			    r->key_id, r->reason, sizeof r->reason))
		return 0;
	r->payload = json_object_get(seal, "payload");
	r->valid = true;
	if (seal != r->root) {
		/* A whole task reply: its unsigned figures must be the sealed ones,
		 * or the seal would vouch for numbers nobody signed. */
		char why[SEAL_REASON_MAX - 64];
		int err = sealmatch_task(r->root, why, sizeof why);
		r->figures_checked = err != -ENODATA;
		if (err == -EBADMSG) {
			r->valid = false;
			util_say(r->reason, sizeof r->reason, "the seal is valid, but the task's "
				 "figures are not the sealed ones: %s", why);
		}
	}
	return 0;
}

/* Prints a payload member: numbers are doubles here (seal_parse); strings get
 * their control characters replaced. */
static void print_field(FILE *f, const char *name, const json_t *v)
{
	if (json_is_number(v)) {
		fprintf(f, "%s: %.0f\n", name, json_number_value(v));
	} else if (json_is_string(v)) {
		fprintf(f, "%s: ", name);
		for (const char *p = json_string_value(v); *p; p++)
			fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, f);
		fputc('\n', f);
	}
}

void sealcheck_print(FILE *f, const struct sealcheck_result *r)
{
	if (!r->valid) {
		fprintf(f, "invalid: %s\n", r->reason);
		return;
	}
	fprintf(f, "valid\n");
	fprintf(f, "key_id: %s\n", r->key_id);
	print_field(f, "sequence", json_object_get(r->payload, "sequence"));
	print_field(f, "task_id", json_object_get(r->payload, "task_id"));
	print_field(f, "issued_at", json_object_get(r->payload, "issued_at"));
	if (r->figures_checked)
		fprintf(f, "figures: as sealed (trials and headline of the task reply)\n");
}

void sealcheck_result_free(struct sealcheck_result *r)
{
	json_decref(r->root);
	r->root = NULL;
	r->payload = NULL;
}
