/*
 * sealfile.h — the host monitor's chain of seals in a file of JSON lines:
 * where the chain stands on start, and each new seal appended, rotated.
 *
 * One seal per line: the JCS text of the whole seal object, then '\n',
 * written with one write(2) and fsync'd.  Sequence 1, 2, ...; each payload's
 * prev_seal_sha256 = seal_payload_sha256 of the previous one (null for 1).
 *
 * Rotation: when the next line would take FILE past max_bytes (and FILE holds
 * something), FILE.(k) → FILE.(k+1) for k = keep−1 .. 1 (FILE.keep is
 * dropped), FILE → FILE.1, and a new FILE; the chain continues in it.
 *
 * Open (where the chain stands): the last line of FILE, or of FILE.1 when
 * FILE is missing or empty (a crash between the rotation and the first write).
 * That line must be a seal that verifies under the key, of kind
 * monitor_period or monitor_gap, with an integer sequence ≥ 1 and
 * period.end_unix_us: otherwise sealfile_open fails with the reason (file and
 * line) — the chain is never restarted silently; an operator who means to
 * start a new chain moves the files away.  Neither file: a new chain (head
 * sequence 0).
 *
 * A last line without its '\n' (the machine died during the write):
 *  - if it is a complete seal that verifies, it was written whole and only the
 *    newline is missing; it may have been pushed to Redis or read by someone,
 *    so dropping it would fork the chain: the '\n' is appended and the chain
 *    continues from it (head.completed = true);
 *  - if it is not a complete JSON text, the write never finished, so
 *    sealfile_append never returned and nobody saw it: it is cut off
 *    (ftruncate to the end of the last whole line; head.torn_bytes says how
 *    many bytes were dropped, for the caller to log) and the chain continues
 *    from the line before;
 *  - a complete JSON text that does not verify is tampering, not a torn
 *    write: an error like any bad last line.
 *
 * A lock file FILE.lock (flock) is held while open, so two monitors never
 * append to one chain (-EBUSY).
 *
 * Ownership: struct sealfile owns its descriptors; the key is copied.
 * Thread safety: one thread at a time per struct sealfile.  Errors: 0 or
 * -errno with a reason in (why, cap); sealfile_open NULL + errno.
 */
#ifndef JT_SEALFILE_H
#define JT_SEALFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "seal.h"

struct sealfile;

struct sealfile_head {
	uint64_t sequence;          /* of the last seal; 0: no seal yet */
	char sha256[65];            /* its payload's hash ("" when none) */
	uint64_t end_unix_ns;       /* its period.end_unix_us × 1000 (0 when none) */
	size_t torn_bytes;          /* open: a torn last line of this many bytes was cut off */
	bool completed;             /* open: a whole last seal got its missing '\n' */
};

/* max_bytes ≥ 1, keep ≥ 1.  *head (may be NULL) = where the chain stands. */
struct sealfile *sealfile_open(const char *path, const struct seal_key *key, uint64_t max_bytes,
			       unsigned keep, struct sealfile_head *head, char *why, size_t cap);

/*
 * Sets payload's sequence (head + 1) and prev_seal_sha256, signs it, appends
 * the line (rotating first when due), fsyncs.  *text (may be NULL) = the
 * line without its '\n', malloc'd, for the caller to publish (Redis).  On
 * error nothing of the line stays in the file (a short write is cut off) and
 * the head does not move, so the same payload may be appended again.
 * -EINVAL: payload not signable; -errno of the I/O.
 */
int sealfile_append(struct sealfile *f, json_t *payload, char **text, size_t *len,
		    char *why, size_t cap);

void sealfile_head(const struct sealfile *f, struct sealfile_head *out);

void sealfile_close(struct sealfile *f);   /* NULL is a no-op */

#endif
