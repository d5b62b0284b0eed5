/*
 * util.h — small helpers every binary needs: clocks, ids, whole-file I/O, hashing.
 * All functions are thread-safe and return 0 or -errno unless noted.
 */
#ifndef JT_UTIL_H
#define JT_UTIL_H

/* The release, in status pages and worker records. */
#define JT_VERSION "0.1.0"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTIL_RFC3339_LEN 32  /* "2026-11-21T08:28:51.123456Z" + NUL, rounded up */
#define UTIL_SHA256_HEX_LEN 65

uint64_t util_mono_ns(void);          /* CLOCK_MONOTONIC in ns */
uint64_t util_realtime_ns(void);      /* CLOCK_REALTIME in ns */
/* Formats a CLOCK_REALTIME ns value as RFC 3339 UTC with microseconds. */
void util_rfc3339(uint64_t realtime_ns, char out[UTIL_RFC3339_LEN]);
/* The same with milliseconds ("2026-11-30T21:00:00.000Z"), truncated. */
void util_rfc3339_ms(uint64_t realtime_ns, char out[UTIL_RFC3339_LEN]);
/* Parses what util_rfc3339 writes (fraction optional, 'Z' required). */
int util_rfc3339_parse(const char *s, uint64_t *realtime_ns);

/* Fills out with 2*nbytes lower-case hex digits of getrandom() output + NUL. */
int util_random_hex(char *out, size_t nbytes);
/* A v4 UUID string (36 chars + NUL) from getrandom(). */
int util_uuid4(char out[37]);

/*
 * Reads a whole file into a NUL-terminated malloc'd buffer; fails with -EFBIG
 * when it is larger than max_bytes.  *len (optional) excludes the NUL.
 */
int util_read_file(const char *path, size_t max_bytes, char **data, size_t *len);
/* The same from an open descriptor (stdin), read to its end; fd stays open. */
int util_read_fd(int fd, size_t max_bytes, char **data, size_t *len);
/* Writes via a temp file + fsync + rename, so readers never see a torn file. */
int util_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* Reads a small sysfs/proc file and strips the trailing newline. */
int util_read_line(const char *path, char *buf, size_t cap);

/* Lower-case hex SHA-256 (libsodium) of data. */
void util_sha256_hex(const void *data, size_t len, char out[UTIL_SHA256_HEX_LEN]);

/* strtoll/strtod wrappers that accept only a complete number. */
/*
 * The one way error text travels: a caller's (buf, cap) pair, filled with one
 * printf-formatted line.  buf NULL or cap 0 is a no-op, so "why" arguments are
 * optional everywhere.  Truncation is silent (the line is still useful).
 */
void util_say(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* s is exactly len characters of lowercase hex (a digest, a fingerprint). */
bool util_is_lower_hex(const char *s, size_t len);

int util_parse_i64(const char *s, long long *out);
int util_parse_double(const char *s, double *out);

/*
 * The items of a list separated by sep, each without the blanks around it:
 *
 *	struct util_items it = { .rest = list, .sep = ';' };
 *	while (util_items_next(&it))
 *		use(it.item, it.len);     (not NUL-terminated)
 *
 * An empty item (two separators in a row, or one at either end) comes back
 * with len 0, for the caller to refuse or skip.  A NULL or "" list has none.
 */
struct util_items {
	const char *rest;   /* the caller's list; NULL once the last item is out */
	char sep;
	bool more;          /* private: the last item ended at a separator */
	const char *item;
	size_t len;
};
bool util_items_next(struct util_items *it);

#endif
