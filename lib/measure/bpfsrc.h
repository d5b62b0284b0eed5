/*
 * bpfsrc.h — what the modules with a bpf source and a /proc fallback share
 * (oncpu, the host monitor's procacct): libbpf's messages routed to log.h,
 * the load checks and their messages, batched map reads, and the choice
 * between the two sources, so both say the same things the same way.
 *
 * Thread safety: libbpf's print callback is process-wide (installing it twice
 * is harmless); the rest is reentrant.  Errors: 0 or -errno.
 */
#ifndef JT_BPFSRC_H
#define JT_BPFSRC_H

#include <stdbool.h>
#include <stddef.h>

/* libbpf warnings become info lines (a host without BPF is expected, and
 * the caller's why says it once); debug output is dropped. */
void bpfsrc_log_install(void);

/* After a skeleton's __load: 0, or -errno with why = "bpf: load: ..." (with
 * the privileges hint on EPERM) or, when bss is NULL, that global data cannot
 * be mapped (both modules share memory with their programs through it). */
int bpfsrc_loaded(int load_ret, const void *bss, char *why, size_t cap);

/*
 * Copies a BPF hash map into keys/vals (room for cap entries of key_size and
 * val_size bytes) with the batched calls, deleting what it copied when del: a
 * few syscalls for thousands of entries.  *n = entries copied.  0; -ENOSPC
 * (*n what fit) when the map held more than cap; -EOPNOTSUPP when the kernel
 * has no batched map operations (before 5.6; nothing copied); else -errno.
 */
int bpfsrc_batch(int fd, bool del, void *keys, size_t key_size, void *vals, size_t val_size,
		 size_t cap, size_t *n);

enum bpfsrc_kind { BPFSRC_BPF, BPFSRC_PROC };

/*
 * With allow_bpf, start_bpf(ctx); if it fails (its why in the log, at debug
 * level, prefixed by name), or without allow_bpf, open_proc(ctx) (0 or
 * -errno).  Returns the source started, or -errno of open_proc.  why: "" for
 * bpf, else why bpf is not in use, plus "; proc: <error>" when neither works.
 */
int bpfsrc_choose(const char *name, bool allow_bpf,
		  int (*start_bpf)(void *ctx, char *why, size_t cap),
		  int (*open_proc)(void *ctx), void *ctx, char *why, size_t cap);

#endif
