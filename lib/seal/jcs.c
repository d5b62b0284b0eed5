/* jcs.c — RFC 8785 canonical JSON; the rules and decisions are in jcs.h. */
#include "jcs.h"
#include "jcs_impl.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jcs_fail(struct out *o, const char *why)
{
	if (!o->why)
		o->why = why;
	return -EINVAL;
}

int jcs_put(struct out *o, const void *s, size_t n)
{
	int err = dynbuf_add(&o->b, s, n);
	return err == -E2BIG ? -ENOMEM : err;
}

int jcs_put_str(struct out *o, const char *s)
{
	return jcs_put(o, s, strlen(s));
}

/*
 * One code point of strict UTF-8 (RFC 3629): overlong forms, encoded
 * surrogates (CESU / lone halves) and values above U+10FFFF are refused, since
 * a signer and a verifier must never disagree on what a string is.
 */
int jcs_utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
	size_t p = *i;
	unsigned c = s[p], lo = 0x80, hi = 0xBF;
	uint32_t v;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		*i = p + 1;
		return 0;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 1;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 2;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;      /* overlong */
		else if (c == 0xED)
			hi = 0x9F;      /* U+D800..U+DFFF */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 3;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;      /* overlong */
		else if (c == 0xF4)
			hi = 0x8F;      /* above U+10FFFF */
	} else {
		return -EINVAL;
	}
	if (len - p - 1 < n)
		return -EINVAL;
	for (size_t k = 1; k <= n; k++) {
		unsigned b = s[p + k];
		if (b < lo || b > hi)
			return -EINVAL;
		lo = 0x80;
		hi = 0xBF;
		v = v << 6 | (b & 0x3F);
	}
	*cp = v;
	*i = p + n + 1;
	return 0;
}

/* RFC 8785 §3.2.2.2: only '"', '\\' and C0 controls are escaped. */
int jcs_put_string(struct out *o, const char *str, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;
	int rc;

	if ((rc = jcs_put(o, "\"", 1)))
		return rc;
	while (i < len) {
		unsigned c = s[i];
		char esc[7] = "\\u00";
		const char *e = esc;
		uint32_t cp;

		if (c >= 0x80) {
			if (jcs_utf8_next(s, len, &i, &cp))
				return jcs_fail(o, "string is not valid UTF-8 (or holds a surrogate)");
			continue;
		}
		if (c >= 0x20 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			esc[6] = '\0';
		}
		if ((rc = jcs_put(o, s + run, i - run)) || (rc = jcs_put_str(o, e)))
			return rc;
		run = ++i;
	}
	if ((rc = jcs_put(o, s + run, i - run)))
		return rc;
	return jcs_put(o, "\"", 1);
}

/* ---- numbers ------------------------------------------------------------ */

/* A decimal 0.d[0]..d[k-1] × 10^n, the (s, k, n) of ECMA-262 Number::toString. */
struct dec {
	char d[24];
	int k, n;
};

/* strtod of "DDDDe<exp>": no radix character, so the locale cannot interfere. */
static bool dec_reads_as(const struct dec *r, double want, double *got)
{
	char s[48];

	memcpy(s, r->d, (size_t)r->k);
	snprintf(s + r->k, sizeof s - (size_t)r->k, "e%d", r->n - r->k);
	*got = strtod(s, NULL);
	return *got == want;
}

/* x > 0 correctly rounded to prec significant digits (glibc's printf is exact). */
static void dec_round(double x, int prec, struct dec *r)
{
	char s[48];
	const char *p;

	snprintf(s, sizeof s, "%.*e", prec - 1, x);
	r->k = 0;
	/* skip whatever the locale uses as the radix character */
	for (p = s; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && r->k < (int)sizeof r->d)
			r->d[r->k++] = *p;
	r->n = (int)strtol(*p ? p + 1 : p, NULL, 10) + 1;
}

/* The neighbouring k-digit decimal above (dir > 0) or below x's rounding. */
static void dec_step(struct dec *r, int dir)
{
	int i = r->k - 1;

	if (dir > 0) {
		while (i >= 0 && r->d[i] == '9')
			r->d[i--] = '0';
		if (i >= 0) {
			r->d[i]++;
		} else {            /* 99..9 → 10..0, one decade up */
			r->d[0] = '1';
			r->n++;
		}
	} else {
		while (i > 0 && r->d[i] == '0')
			r->d[i--] = '9';
		r->d[i]--;
		if (r->d[0] == '0') {   /* 10..0 → 99..9, one decade down */
			memmove(r->d, r->d + 1, (size_t)r->k - 1);
			r->d[r->k - 1] = '9';
			r->n--;
		}
	}
}

/*
 * Shortest digits that read back as x.  The correctly rounded p-digit decimal
 * is the closest p-digit candidate, so it wins whenever it reads back; but at a
 * power of two the rounding interval is lopsided (half as wide below), and the
 * only p-digit decimal inside it can be the farther neighbour, which ECMAScript
 * still prefers over p+1 digits.  Hence the second try.
 */
static void shortest(double x, struct dec *r)
{
	double got;

	for (int prec = 1; prec <= 17; prec++) {
		dec_round(x, prec, r);
		if (dec_reads_as(r, x, &got))
			break;
		dec_step(r, got > x ? -1 : 1);
		if (dec_reads_as(r, x, &got))
			break;
	}
	while (r->k > 1 && r->d[r->k - 1] == '0')
		r->k--;
}

int jcs_format_double(double d, char *buf, size_t cap)
{
	struct dec r;
	char *p = buf;

	if (!buf || cap < JCS_DOUBLE_BUFSZ || !isfinite(d))
		return -EINVAL;
	if (d == 0) {   /* -0 too */
		memcpy(buf, "0", 2);
		return 0;
	}
	shortest(fabs(d), &r);
	size_t k = (size_t)r.k;
	int n = r.n;
	if (d < 0)
		*p++ = '-';
	if (r.k <= n && n <= 21) {
		memcpy(p, r.d, k);
		p += k;
		memset(p, '0', (size_t)n - k);
		p += (size_t)n - k;
	} else if (0 < n && n <= 21) {
		memcpy(p, r.d, (size_t)n);
		p += n;
		*p++ = '.';
		memcpy(p, r.d + n, k - (size_t)n);
		p += k - (size_t)n;
	} else if (-6 < n && n <= 0) {
		*p++ = '0';
		*p++ = '.';
		memset(p, '0', (size_t)-n);
		p += -n;
		memcpy(p, r.d, k);
		p += k;
	} else {
		int e = n - 1;
		*p++ = r.d[0];
		if (k > 1) {
			*p++ = '.';
			memcpy(p, r.d + 1, k - 1);
			p += k - 1;
		}
		snprintf(p, cap - (size_t)(p - buf), "e%c%d", e < 0 ? '-' : '+', abs(e));
		return 0;
	}
	*p = '\0';
	return 0;
}

/* ---- objects ------------------------------------------------------------ */

struct member {
	const char *key;
	size_t klen;
	const uint16_t *u16;
	size_t n16;
	const json_t *val;
};

/* UTF-8 → UTF-16 code units; dst needs len units (never more than bytes). */
int jcs_to_utf16(const char *key, size_t len, uint16_t *dst, size_t *n16)
{
	const unsigned char *s = (const unsigned char *)key;
	size_t i = 0, n = 0;
	uint32_t cp;

	while (i < len) {
		if (jcs_utf8_next(s, len, &i, &cp))
			return -EINVAL;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			dst[n++] = (uint16_t)(0xD800 | cp >> 10);
			dst[n++] = (uint16_t)(0xDC00 | (cp & 0x3FF));
		} else {
			dst[n++] = (uint16_t)cp;
		}
	}
	*n16 = n;
	return 0;
}

/* RFC 8785 §3.2.3: plain code-unit comparison, shorter prefix first. */
int jcs_u16_cmp(const uint16_t *a, size_t na, const uint16_t *b, size_t nb)
{
	size_t n = na < nb ? na : nb;
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return (na > nb) - (na < nb);
}

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	return jcs_u16_cmp(x->u16, x->n16, y->u16, y->n16);
}

static int emit(struct out *o, const json_t *v, int depth);

static int emit_object(struct out *o, const json_t *obj, int depth)
{
	json_t *v = (json_t *)obj;   /* jansson's iterators take non-const; read only */
	size_t n = json_object_size(v), total = 0, i = 0, used = 0;
	struct member *m = NULL;
	uint16_t *arena = NULL;
	int rc;

	if (n == 0)
		return jcs_put(o, "{}", 2);
	if (!(m = calloc(n, sizeof *m)))
		return -ENOMEM;
	for (void *it = json_object_iter(v); it && i < n; it = json_object_iter_next(v, it), i++) {
		m[i].key = json_object_iter_key(it);
		m[i].klen = json_object_iter_key_len(it);
		m[i].val = json_object_iter_value(it);
		total += m[i].klen;
	}
	n = i;
	if (!(arena = malloc((total ? total : 1) * sizeof *arena))) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		m[i].u16 = arena + used;
		if (jcs_to_utf16(m[i].key, m[i].klen, arena + used, &m[i].n16)) {
			rc = jcs_fail(o, "object key is not valid UTF-8 (or holds a surrogate)");
			goto out;
		}
		used += m[i].n16;
	}
	qsort(m, n, sizeof *m, member_cmp);
	if ((rc = jcs_put(o, "{", 1)))
		goto out;
	for (i = 0; i < n; i++) {
		if ((i && (rc = jcs_put(o, ",", 1))) ||
		    (rc = jcs_put_string(o, m[i].key, m[i].klen)) ||
		    (rc = jcs_put(o, ":", 1)) ||
		    (rc = emit(o, m[i].val, depth)))
			goto out;
	}
	rc = jcs_put(o, "}", 1);
out:
	free(arena);
	free(m);
	return rc;
}

static int emit(struct out *o, const json_t *v, int depth)
{
	char num[JCS_DOUBLE_BUFSZ];
	int rc;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (depth >= JCS_MAX_DEPTH)
			return jcs_fail(o, "nested deeper than JCS_MAX_DEPTH");
		return emit_object(o, v, depth + 1);
	case JSON_ARRAY:
		if (depth >= JCS_MAX_DEPTH)
			return jcs_fail(o, "nested deeper than JCS_MAX_DEPTH");
		if ((rc = jcs_put(o, "[", 1)))
			return rc;
		for (size_t i = 0; i < json_array_size(v); i++)
			if ((i && (rc = jcs_put(o, ",", 1))) ||
			    (rc = emit(o, json_array_get(v, i), depth + 1)))
				return rc;
		return jcs_put(o, "]", 1);
	case JSON_STRING:
		return jcs_put_string(o, json_string_value(v), json_string_length(v));
	case JSON_INTEGER: {
		json_int_t x = json_integer_value(v);
		if (x > JCS_MAX_SAFE_INT || x < -JCS_MAX_SAFE_INT)
			return jcs_fail(o, "integer magnitude is 2^53 or more");
		snprintf(num, sizeof num, "%lld", (long long)x);
		return jcs_put_str(o, num);
	}
	case JSON_REAL:
		if (jcs_format_double(json_real_value(v), num, sizeof num))
			return jcs_fail(o, "number is not finite");
		return jcs_put_str(o, num);
	case JSON_TRUE:
		return jcs_put(o, "true", 4);
	case JSON_FALSE:
		return jcs_put(o, "false", 5);
	case JSON_NULL:
		return jcs_put(o, "null", 4);
	}
	return jcs_fail(o, "unknown JSON type");
}

static int run(const json_t *v, char **out, size_t *len, const char **why)
{
	struct out o = JCS_OUT_INIT;
	int rc = emit(&o, v, 0);

	if (rc) {
		dynbuf_free(&o.b);
		*why = o.why;
		return rc;
	}
	*out = o.b.p;
	*len = o.b.len;
	return 0;
}

int jcs_serialize(const json_t *v, char **out, size_t *len)
{
	const char *why = NULL;

	if (out)
		*out = NULL;
	if (!v || !out || !len)
		return -EINVAL;
	return run(v, out, len, &why);
}


json_t *jcs_string_clean(const char *s)
{
	size_t len = strlen(s), i = 0, k = 0;
	char *t = malloc(len + 1);
	json_t *v;

	if (!t)
		return NULL;
	while (i < len) {
		size_t at = i;
		uint32_t cp;
		if (jcs_utf8_next((const unsigned char *)s, len, &i, &cp) == 0) {
			memcpy(t + k, s + at, i - at);
			k += i - at;
		} else {
			t[k++] = '?';    /* one byte of the bad sequence; resync on the next */
			i = at + 1;
		}
	}
	v = json_stringn(t, k);
	free(t);
	return v;
}
