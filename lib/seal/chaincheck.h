/*
 * chaincheck.h — the offline check of the host monitor's chain of seals
 * (`jouletrace-verify --chain FILE...`): every line of the files, in chain
 * order (FILE.3 FILE.2 FILE.1 FILE), must be
 *   - a seal that verifies under a pinned key (sealcheck_keys), of kind
 *     monitor_period or monitor_gap;
 *   - the next link: sequence = the previous + 1, prev_seal_sha256 = the
 *     SHA-256 of the previous payload's JCS bytes; the first seal is sequence
 *     1 with prev null, or later, which is noted (the summary says "continues
 *     sequence N−1, not in these files": rotation drops the oldest files) and
 *     is not a problem;
 *   - gap-free in time: period.start_unix_us = the previous end_unix_us,
 *     start < end, and start/end the RFC 3339 (ms) text of those;
 *   - conserving (monitor_period): per package and domain raw = idle + dynamic
 *     and dynamic = attributed + unattributed (none negative); totals = Σ
 *     packages; Σ processes' energy_uj + other.energy_uj = totals.attributed_uj
 *     and the same per domain (package_uj, dram_uj); each process's energy_uj
 *     = package_uj + dram_uj; at most monitor.top_processes processes, sorted
 *     by energy_uj, descending; complete false when a package has failed
 *     intervals.  A monitor_gap has no packages or processes and complete
 *     false.
 * Each problem is one line "FILE:LINE: what" on the report stream; a seal
 * line longer than SEAL_TEXT_MAX is one problem and is not held in memory.
 * No seal at all in the files is a problem too (nothing was verified).
 *
 * Ownership: the checker keeps a copy of the keys; out stays the caller's.
 * Thread safety: one thread per checker.  Errors: NULL + errno (ENOMEM) from
 * chaincheck_new; chaincheck_file 0 or -errno when the file cannot be read
 * (also reported on out).
 */
#ifndef JT_CHAINCHECK_H
#define JT_CHAINCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sealcheck.h"

struct chaincheck;

struct chaincheck_stats {
	size_t files, lines, seals, problems;
	uint64_t first_sequence, last_sequence;
	uint64_t start_unix_us, end_unix_us;    /* of the first and the last seal */
};

struct chaincheck *chaincheck_new(const struct sealcheck_keys *keys, FILE *out);
/* The next file of the chain, line by line. */
int chaincheck_file(struct chaincheck *c, const char *path);
/* One line (without its '\n'; newline false for a last line that had none). */
void chaincheck_line(struct chaincheck *c, const char *file, size_t lineno, const char *text,
		     size_t len, bool newline);
void chaincheck_stats(const struct chaincheck *c, struct chaincheck_stats *out);
/* The closing lines: what was checked, and "chain: ok" or the problem count;
 * counts "no seals" as a problem first.  Returns the problems. */
size_t chaincheck_finish(struct chaincheck *c);
void chaincheck_free(struct chaincheck *c);

#endif
