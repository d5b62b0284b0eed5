/*
 * jcs_impl.h — private to the jcs module (jcs.c, jcs_text.c): the output
 * buffer and the string and key helpers both the value serializer and the
 * text canonicalizer use.  Nothing outside lib/seal/jcs*.c may include this.
 * Errors: 0, -EINVAL (jcs_fail records the first reason), -ENOMEM.
 */
#ifndef JT_JCS_IMPL_H
#define JT_JCS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"

/* An output is bounded by its input (at most 6 bytes out per byte in), and
 * every input by its caller; the limit only says so. */
#define JCS_OUT_MAX (SIZE_MAX / 8)
struct out {
	struct dynbuf b;  /* NUL-terminated once anything was put */
	const char *why;  /* reason for the first -EINVAL */
};
#define JCS_OUT_INIT { .b = { .max = JCS_OUT_MAX } }

int jcs_fail(struct out *o, const char *why);
int jcs_put(struct out *o, const void *s, size_t n);
int jcs_put_str(struct out *o, const char *s);
/* One code point of strict UTF-8 at s[*i] (advances *i). */
int jcs_utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp);
/* A JSON string in RFC 8785 form (str is UTF-8, U+0000 allowed). */
int jcs_put_string(struct out *o, const char *str, size_t len);
/* UTF-8 → UTF-16 code units; dst needs len units. */
int jcs_to_utf16(const char *key, size_t len, uint16_t *dst, size_t *n16);
/* RFC 8785 §3.2.3 key order: code units, shorter prefix first. */
int jcs_u16_cmp(const uint16_t *a, size_t na, const uint16_t *b, size_t nb);

#endif
