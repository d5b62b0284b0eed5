/* jcs_text.c — jcs_canonicalize_text() (see jcs.h): JSON text from outside
 * to RFC 8785 bytes, with a parser of our own. */
#include "jcs.h"
#include "jcs_impl.h"

#include <errno.h>
#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON text → canonical bytes ------------------------------------------ */
/*
 * Text from outside is read by this strict RFC 8259 recursive-descent parser
 * rather than jansson: jansson keys are C strings, so an object key holding
 * U+0000 — valid JSON, and canonicalized by RFC 8785 like any other — cannot
 * pass through it.  The parser writes canonical bytes as it goes and buffers
 * only an object's members, to sort them.
 */
struct in {
	const unsigned char *s;
	size_t len, pos;
	const char *why;
	size_t at;        /* byte offset of the first error */
};

static int in_fail(struct in *in, const char *why)
{
	if (!in->why) {
		in->why = why;
		in->at = in->pos;
	}
	return -EINVAL;
}

static void skip_ws(struct in *in)
{
	while (in->pos < in->len && (in->s[in->pos] == ' ' || in->s[in->pos] == '\t' ||
				     in->s[in->pos] == '\n' || in->s[in->pos] == '\r'))
		in->pos++;
}

static bool at(struct in *in, char c)
{
	return in->pos < in->len && in->s[in->pos] == (unsigned char)c;
}

/* Four hex digits after "\u". */
static int hex4(struct in *in, uint32_t *u)
{
	*u = 0;
	if (in->len - in->pos < 4)
		return in_fail(in, "truncated \\u escape");
	for (int k = 0; k < 4; k++) {
		unsigned c = in->s[in->pos++];
		int v = c >= '0' && c <= '9' ? (int)(c - '0') : c >= 'a' && c <= 'f' ? (int)(c - 'a' + 10)
		      : c >= 'A' && c <= 'F' ? (int)(c - 'A' + 10) : -1;
		if (v < 0)
			return in_fail(in, "bad \\u escape");
		*u = *u << 4 | (uint32_t)v;
	}
	return 0;
}

static int put_utf8(struct out *o, uint32_t cp)
{
	unsigned char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		b[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return jcs_put(o, b, n);
}

/* The string at in->pos (its '"'), decoded into raw as UTF-8 (U+0000 kept). */
static int read_string(struct in *in, struct out *raw)
{
	int rc;
	in->pos++;
	for (;;) {
		size_t run = in->pos;
		while (in->pos < in->len && in->s[in->pos] >= 0x20 && in->s[in->pos] < 0x80 &&
		       in->s[in->pos] != '"' && in->s[in->pos] != '\\')
			in->pos++;
		if ((rc = jcs_put(raw, in->s + run, in->pos - run)))
			return rc;
		if (in->pos >= in->len)
			return in_fail(in, "unterminated string");
		unsigned c = in->s[in->pos];
		if (c == '"') {
			in->pos++;
			return 0;
		}
		if (c < 0x20)
			return in_fail(in, "control character inside a string");
		if (c >= 0x80) {
			size_t i = in->pos;
			uint32_t cp;
			if (jcs_utf8_next(in->s, in->len, &i, &cp))
				return in_fail(in, "string is not valid UTF-8 (or holds a surrogate)");
			if ((rc = jcs_put(raw, in->s + in->pos, i - in->pos)))
				return rc;
			in->pos = i;
			continue;
		}
		/* a backslash */
		if (++in->pos >= in->len)
			return in_fail(in, "unterminated string");
		uint32_t cp = 0;
		switch (in->s[in->pos++]) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u': {
			if ((rc = hex4(in, &cp)))
				return rc;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return in_fail(in, "lone low surrogate: not a Unicode character");
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				uint32_t lo;
				if (!(in->len - in->pos >= 2 && in->s[in->pos] == '\\' &&
				      in->s[in->pos + 1] == 'u'))
					return in_fail(in, "lone high surrogate: not a Unicode character");
				in->pos += 2;
				if ((rc = hex4(in, &lo)))
					return rc;
				if (lo < 0xDC00 || lo > 0xDFFF)
					return in_fail(in, "lone high surrogate: not a Unicode character");
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			break;
		}
		default:
			return in_fail(in, "bad escape");
		}
		if ((rc = put_utf8(raw, cp)))
			return rc;
	}
}

static bool digit(struct in *in)
{
	return in->pos < in->len && in->s[in->pos] >= '0' && in->s[in->pos] <= '9';
}

/* RFC 8259 number syntax, then the double it reads as, in ECMAScript form. */
static int canon_number(struct in *in, struct out *o)
{
	size_t start = in->pos;
	char num[JCS_DOUBLE_BUFSZ];
	if (at(in, '-'))
		in->pos++;
	if (at(in, '0'))
		in->pos++;
	else if (digit(in))
		while (digit(in))
			in->pos++;
	else
		return in_fail(in, "bad number");
	if (at(in, '.')) {
		in->pos++;
		if (!digit(in))
			return in_fail(in, "bad number: no digit after '.'");
		while (digit(in))
			in->pos++;
	}
	if (at(in, 'e') || at(in, 'E')) {
		in->pos++;
		if (at(in, '+') || at(in, '-'))
			in->pos++;
		if (!digit(in))
			return in_fail(in, "bad number: no exponent digits");
		while (digit(in))
			in->pos++;
	}
	size_t n = in->pos - start;
	char *text = malloc(n + 1);
	if (!text)
		return -ENOMEM;
	memcpy(text, in->s + start, n);
	text[n] = '\0';
	/* The C locale's radix character, whatever the process's locale is. */
	locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	double d = c ? strtod_l(text, NULL, c) : strtod(text, NULL);
	if (c)
		freelocale(c);
	free(text);
	if (jcs_format_double(d, num, sizeof num))
		return in_fail(in, "number overflows a double");
	return jcs_put_str(o, num);
}

static int canon_value(struct in *in, struct out *o, int depth);

struct tmember {
	struct out key;     /* decoded UTF-8 */
	struct out val;     /* canonical bytes */
	uint16_t *u16;
	size_t n16;
};

static int tmember_cmp(const void *a, const void *b)
{
	const struct tmember *x = a, *y = b;
	return jcs_u16_cmp(x->u16, x->n16, y->u16, y->n16);
}

/* One "key": value member into m (in->pos at the key's '"'). */
static int read_member(struct in *in, struct tmember *m, int depth)
{
	int rc;
	if (!at(in, '"'))
		return in_fail(in, "expected an object key");
	if ((rc = read_string(in, &m->key)))
		return rc;
	if (!(m->u16 = malloc((m->key.b.len ? m->key.b.len : 1) * sizeof *m->u16)))
		return -ENOMEM;
	if (jcs_to_utf16(m->key.b.p ? m->key.b.p : "", m->key.b.len, m->u16, &m->n16))
		return in_fail(in, "object key is not valid UTF-8");
	skip_ws(in);
	if (!at(in, ':'))
		return in_fail(in, "expected ':'");
	in->pos++;
	return canon_value(in, &m->val, depth);
}

static int canon_object(struct in *in, struct out *o, int depth)
{
	struct tmember *m = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	in->pos++;
	skip_ws(in);
	if (at(in, '}')) {
		in->pos++;
		return jcs_put(o, "{}", 2);
	}
	for (;;) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct tmember *nm = realloc(m, nc * sizeof *m);
			if (!nm) {
				rc = -ENOMEM;
				goto out;
			}
			for (size_t k = cap; k < nc; k++)
				nm[k] = (struct tmember){ .key = JCS_OUT_INIT, .val = JCS_OUT_INIT };
			m = nm;
			cap = nc;
		}
		skip_ws(in);
		if ((rc = read_member(in, &m[n++], depth)))
			goto out;
		skip_ws(in);
		if (at(in, '}'))
			break;
		if (!at(in, ',')) {
			rc = in_fail(in, "expected ',' or '}'");
			goto out;
		}
		in->pos++;
	}
	in->pos++;
	qsort(m, n, sizeof *m, tmember_cmp);
	for (size_t i = 1; i < n; i++)
		if (tmember_cmp(&m[i - 1], &m[i]) == 0) {
			rc = in_fail(in, "duplicate object key");
			goto out;
		}
	if ((rc = jcs_put(o, "{", 1)))
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((i && (rc = jcs_put(o, ",", 1))) ||
		    (rc = jcs_put_string(o, m[i].key.b.p ? m[i].key.b.p : "", m[i].key.b.len)) ||
		    (rc = jcs_put(o, ":", 1)) || (rc = jcs_put(o, m[i].val.b.p, m[i].val.b.len)))
			goto out;
	rc = jcs_put(o, "}", 1);
out:
	for (size_t i = 0; i < n; i++) {
		dynbuf_free(&m[i].key.b);
		dynbuf_free(&m[i].val.b);
		free(m[i].u16);
	}
	free(m);
	return rc;
}

static int canon_array(struct in *in, struct out *o, int depth)
{
	int rc;
	in->pos++;
	if ((rc = jcs_put(o, "[", 1)))
		return rc;
	skip_ws(in);
	if (at(in, ']')) {
		in->pos++;
		return jcs_put(o, "]", 1);
	}
	for (bool first = true;; first = false) {
		if ((!first && (rc = jcs_put(o, ",", 1))) || (rc = canon_value(in, o, depth)))
			return rc;
		skip_ws(in);
		if (at(in, ']')) {
			in->pos++;
			return jcs_put(o, "]", 1);
		}
		if (!at(in, ','))
			return in_fail(in, "expected ',' or ']'");
		in->pos++;
	}
}

static int literal(struct in *in, struct out *o, const char *word)
{
	size_t n = strlen(word);
	if (in->len - in->pos < n || memcmp(in->s + in->pos, word, n) != 0)
		return in_fail(in, "unexpected character");
	in->pos += n;
	return jcs_put(o, word, n);
}

static int canon_value(struct in *in, struct out *o, int depth)
{
	skip_ws(in);
	if (in->pos >= in->len)
		return in_fail(in, "unexpected end of input");
	switch (in->s[in->pos]) {
	case '{':
		if (depth >= JCS_MAX_DEPTH)
			return in_fail(in, "nested deeper than JCS_MAX_DEPTH");
		return canon_object(in, o, depth + 1);
	case '[':
		if (depth >= JCS_MAX_DEPTH)
			return in_fail(in, "nested deeper than JCS_MAX_DEPTH");
		return canon_array(in, o, depth + 1);
	case '"': {
		struct out raw = JCS_OUT_INIT;
		int rc = read_string(in, &raw);
		if (!rc)
			rc = jcs_put_string(o, raw.b.p ? raw.b.p : "", raw.b.len);
		dynbuf_free(&raw.b);
		return rc;
	}
	case 't':
		return literal(in, o, "true");
	case 'f':
		return literal(in, o, "false");
	case 'n':
		return literal(in, o, "null");
	default:
		return canon_number(in, o);
	}
}

int jcs_canonicalize_text(const char *text, size_t len, char **out, size_t *outlen,
                          char *msg, size_t msgcap)
{
	struct in in = { .s = (const unsigned char *)text, .len = len };
	struct out o = JCS_OUT_INIT;
	int rc;

	if (msg && msgcap)
		msg[0] = '\0';
	if (out)
		*out = NULL;
	if (!text || !out || !outlen)
		return -EINVAL;
	rc = canon_value(&in, &o, 0);
	skip_ws(&in);
	if (!rc && in.pos != in.len)
		rc = in_fail(&in, "trailing characters after the JSON value");
	if (!rc && !o.b.p)
		rc = jcs_put(&o, "", 0);
	if (rc) {
		dynbuf_free(&o.b);
		if (rc == -EINVAL && msg && msgcap)
			snprintf(msg, msgcap, "byte %zu: %s", in.at,
				 in.why ? in.why : o.why ? o.why : "cannot canonicalize");
		return rc;
	}
	*out = o.b.p;
	*outlen = o.b.len;
	return 0;
}
