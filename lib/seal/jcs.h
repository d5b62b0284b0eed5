/*
 * jcs.h — RFC 8785 JSON Canonicalization Scheme over jansson values: the bytes
 * that seals sign and hash (SPEC §5).  jansson's own dump is not JCS (byte-order
 * key sort, "%.17g", upper-case escapes), so this module writes every byte
 * itself:
 *
 * * Object members sorted by the UTF-16 code units of their keys (a key with an
 *   astral character sorts by its surrogates, so U+1F600 comes before U+FB33).
 * * No whitespace.  Strings: \" \\ \b \f \n \r \t, other characters below 0x20
 *   as lower-case \u00xx, everything else (U+007F and all non-ASCII included)
 *   as raw UTF-8.  No Unicode normalization.
 * * Numbers as ECMAScript Number.prototype.toString prints the double.
 *
 * Numbers, two entry points, two rules:
 * * jcs_serialize() is for values we build.  A jansson integer prints as an
 *   integer and must satisfy |v| < 2^53 (payloads promise that, and above it
 *   the double JCS is defined on would silently differ from the integer):
 *   otherwise -EINVAL.  A jansson real prints via jcs_format_double(), at any
 *   magnitude (it is a double already).
 * * jcs_canonicalize_text() is for JSON from outside (jouletrace-verify
 *   --canonicalize, submissions).  It reads the text with its own strict
 *   RFC 8259 parser (not jansson, whose keys cannot hold U+0000), and every
 *   number goes through the double path exactly as RFC 8785 says: "1.0" → 1,
 *   "9007199254740993" → 9007199254740992, "1E30" → 1e+30.  Numbers that
 *   overflow a double (1e400) → -EINVAL.
 *
 * Limits: nesting deeper than JCS_MAX_DEPTH arrays/objects → -EINVAL (the walk
 * is recursive; request.h caps user JSON at 64 levels, far below).  The input
 * text length is the caller's to bound; the output is at most a small constant
 * factor larger than the text (e.g. "1e20" → 21 digits).
 *
 * Ownership: *out is malloc'd, NUL-terminated, the caller frees it; on error
 * *out is NULL.  Thread safety: reentrant, no shared state; values are only
 * read (never incref'd or modified), so a value may be serialized from several
 * threads at once as long as nobody modifies it.
 */
#ifndef JT_JCS_H
#define JT_JCS_H

#include <stddef.h>

#include <jansson.h>

#define JCS_MAX_DEPTH      256
#define JCS_DOUBLE_BUFSZ   32     /* longest is 25 chars: "-0.0000012345678901234567" */
#define JCS_MAX_SAFE_INT   9007199254740991LL   /* 2^53 - 1 */

/*
 * Canonical UTF-8 bytes of v; *len excludes the NUL.  Errors: -EINVAL (NULL
 * v/out/len, non-finite real, invalid UTF-8 or an encoded surrogate in a string
 * or key, integer with |v| >= 2^53, nesting over JCS_MAX_DEPTH), -ENOMEM.
 */
int jcs_serialize(const json_t *v, char **out, size_t *len);

/*
 * Parses text[0..len) (any JSON value at top level; "\u0000" allowed in
 * strings and keys; whitespace around it allowed, anything else after it
 * refused) and canonicalizes it.  Errors: -EINVAL with a one-line reason and
 * its byte offset in msg (when msg is non-NULL and msgcap > 0) for malformed
 * JSON, duplicate keys (compared after unescaping), lone surrogates, invalid
 * UTF-8, numbers out of double range, nesting too deep; -ENOMEM.
 */
int jcs_canonicalize_text(const char *text, size_t len, char **out, size_t *outlen,
                          char *msg, size_t msgcap);

/*
 * ECMAScript Number::toString(d) (ECMA-262 §6.1.6.1.20): the shortest digits
 * that read back as d (ties → the closer, then the even one), fixed notation
 * for 1e-6 <= |d| < 1e21, else "1e+21" / "1.5e-7" form; -0 → "0".  buf gets the
 * NUL-terminated text.  Errors: -EINVAL for NaN/±Inf, NULL buf or
 * cap < JCS_DOUBLE_BUFSZ.  Independent of the locale.
 */
int jcs_format_double(double d, char *buf, size_t cap);

/*
 * A JSON string of s (NUL-terminated text from outside: a process name, a
 * cgroup path) that jcs_serialize always accepts: every byte of an invalid
 * UTF-8 sequence or an encoded surrogate becomes '?', so no such text can make
 * a payload unsignable.  New reference, NULL on ENOMEM.
 */
json_t *jcs_string_clean(const char *s);

#endif
