/*
 * fuzz_jcs — RFC 8785 canonicalization of JSON text from outside
 * (lib/seal/jcs_text.c, jcs_canonicalize_text) and of jansson values
 * (lib/seal/jcs.c, jcs_serialize).
 *
 * Invariants (abort() on violation):
 * * the result is 0, -EINVAL (with a reason) or -ENOMEM; *out is NULL on error;
 * * idempotence: canonicalizing the canonical bytes gives the same bytes;
 * * the canonical bytes are JSON that jansson parses (with every number a
 *   double, as JCS reads them), unless a key holds U+0000, which jansson
 *   cannot store; and jcs_serialize of that jansson value prints the very
 *   same bytes (the two canonicalizers agree).
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "jcs.h"

/* Might a key hold U+0000 (which jansson cannot store)?  Any \u0000 in the
 * text is taken as maybe: jansson accepts it in values, so this only excuses. */
static bool nul_key_text(const char *s, size_t n)
{
	return memmem(s, n, "\\u0000", 6) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = (char *)1, *again = NULL, msg[256] = "";
	size_t outlen = 0, againlen = 0;
	int err = jcs_canonicalize_text((const char *)data, size, &out, &outlen, msg, sizeof msg);

	CHECK(err == 0 || err == -EINVAL || err == -ENOMEM);
	if (err) {
		CHECK(out == NULL);
		CHECK(err != -EINVAL || msg[0] != '\0');
		return 0;
	}
	CHECK(out && strlen(out) <= outlen && out[outlen] == '\0');

	err = jcs_canonicalize_text(out, outlen, &again, &againlen, msg, sizeof msg);
	if (err)
		fprintf(stderr, "canonical text refused: %s\n", msg);
	CHECK(err == 0);
	CHECK(againlen == outlen && memcmp(again, out, outlen) == 0);
	free(again);

	json_error_t je;
	json_t *v = json_loadb(out, outlen, JSON_DECODE_ANY | JSON_ALLOW_NUL |
			       JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES, &je);
	if (!v) {
		/* the one thing jansson refuses that JCS keeps: a NUL in a key */
		if (!nul_key_text(out, outlen))
			fprintf(stderr, "jansson: %s at %d: %.200s\n", je.text, je.position, out);
		CHECK(nul_key_text(out, outlen));
	} else {
		char *ser = NULL;
		size_t serlen = 0;
		err = jcs_serialize(v, &ser, &serlen);
		CHECK(err == 0);
		if (serlen != outlen || memcmp(ser, out, outlen) != 0)
			fprintf(stderr, "text:  %.300s\nvalue: %.300s\n", out, ser);
		CHECK(serlen == outlen && memcmp(ser, out, outlen) == 0);
		free(ser);
		json_decref(v);
	}
	free(out);
	return 0;
}
