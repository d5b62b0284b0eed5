/*
 * fuzz_proto — the worker reading the candidate harness's replies: bytes
 * from an untrusted process framed into lines by the capped reply buffer
 * (lib/core/dynbuf.c dynbuf_take_line, as executor.c's harness_recv uses it)
 * and each line read as the protocol's JSON object (executor/proto.c
 * proto_parse_reply, then proto_candidate_error for a failed reply).
 *
 * Input: byte 0 sets the line cap (max_message_bytes, 1..2048), byte 1 the
 * read size (1..256 bytes per read(2)); the rest is what the harness wrote.
 * Invariants (abort() on violation):
 * * the lines taken are exactly the stream's bytes up to each '\n', never
 *   longer than the cap, and the buffer never holds more than cap + 1 bytes;
 * * a line over the cap is reported (as executor.c does) before the buffer
 *   fills, never silently split;
 * * a line with a NUL byte, or anything but one JSON object, is refused as
 *   tampering_suspected; the error texts are always NUL-terminated.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "candidate.h"
#include "dynbuf.h"
#include "proto.h"

static bool terminated(const struct candidate_error *e)
{
	return memchr(e->type, '\0', sizeof e->type) && memchr(e->message, '\0', sizeof e->message);
}

/* One reply line as proto_recv reads it. */
static void one_line(const char *line, size_t len)
{
	struct candidate_error e = { .type = "", .message = "" };
	json_t *msg = (json_t *)1;
	int err = proto_parse_reply(line, len, &msg, &e);

	CHECK(terminated(&e));
	if (err) {
		CHECK(err == -EPROTO && msg == NULL);
		CHECK(strcmp(e.type, "tampering_suspected") == 0);
		return;
	}
	CHECK(json_is_object(msg));
	CHECK(memchr(line, '\0', len) == NULL);   /* a raw NUL never gets through */
	/* what the engine does with a reply it does not like */
	if (json_is_false(json_object_get(msg, "ok")) || json_is_false(json_object_get(msg, "done"))) {
		CHECK(proto_candidate_error(msg, &e) == -EPROTO);
		CHECK(terminated(&e) && e.type[0] != '\0');
	}
	json_decref(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t cap = 1 + (size_t)data[0] * 8, chunk = 1 + data[1];
	const char *in = (const char *)data + 2;
	size_t n = size - 2, fed = 0, taken = 0, scan = 0;
	struct dynbuf b;

	dynbuf_init(&b, cap + 1);   /* a maximal line plus its '\n', as executor.c */
	while (fed < n) {
		char *at, *line;
		size_t room, len;
		int err = dynbuf_space(&b, chunk, &at, &room);
		CHECK(err == 0 && room >= 1 && room <= b.max - b.len);
		size_t k = n - fed < room ? n - fed : room;   /* one read(2) */
		k = k < chunk ? k : chunk;
		memcpy(at, in + fed, k);
		dynbuf_commit(&b, k);
		fed += k;
		CHECK(b.len <= cap + 1);
		while ((err = dynbuf_take_line(&b, &scan, &line, &len)) == 0) {
			/* exactly the next bytes of the stream, then a '\n' */
			CHECK(len <= cap && taken + len < fed);
			CHECK(memcmp(line, in + taken, len) == 0 && in[taken + len] == '\n');
			CHECK(line[len] == '\0');
			taken += len + 1;
			one_line(line, len);
			free(line);
		}
		CHECK(err == -EAGAIN && line == NULL);
		CHECK(scan == b.len && taken + b.len == fed);
		/* executor.c read_reply: a full buffer without a '\n' is a line over the cap */
		if (b.len >= b.max) {
			CHECK(memchr(in + taken, '\n', b.len) == NULL && b.len == cap + 1);
			break;
		}
	}
	dynbuf_free(&b);
	return 0;
}
