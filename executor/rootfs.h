/*
 * rootfs.h — the sandbox's view of the filesystem: a new root on a small
 * tmpfs, entered with pivot_root in the child's own mount namespace.
 *
 *   /usr                      read-only bind of the host's
 *   /bin /sbin /lib /lib32 /lib64 /libx32
 *                             as the host has them: symlinks into usr/ on a
 *                             merged-/usr system, read-only binds otherwise
 *   /etc/ld.so.cache, /etc/localtime   read-only, when the host has them
 *   ROOTFS_HARNESS            the harness script, read-only (when one is given)
 *   /dev                      null zero full random urandom (binds), fd and
 *                             stdin/stdout/stderr symlinks, /dev/shm
 *   /dev/shm, /tmp            private tmpfs instances of tmp_mb each; /tmp
 *                             (mode 0700, owned by the sandbox uid) is the
 *                             working directory, HOME and TMPDIR
 *   /proc                     a new instance: only the sandbox's PID
 *                             namespace; /proc/sys and /proc/sysrq-trigger
 *                             read-only; the system-wide per-CPU counters
 *                             (stat, schedstat, interrupts, softirqs) read
 *                             as empty files (ROOTFS_EMPTY bound on them)
 * Nothing else: no /sys (so no powercap, cgroup or device files), no /run,
 * /var, /home, /root, /srv, no repository, config, key directory or Redis
 * socket.  The root and /dev are read-only; /tmp and /dev/shm are the only
 * writable places and vanish with the namespace.
 *
 * The plan is built in the parent (allocations, lstat/readlink of the host
 * layout, option strings); rootfs_enter() runs in the cloned child and uses
 * system calls only.  The child must be in its own mount namespace (and
 * should be in its own PID namespace, for /proc to show only itself).
 *
 * Errors: rootfs_plan returns NULL with errno and a reason in why;
 * rootfs_enter returns a positive errno and names the failed step.
 * Ownership: the plan owns its strings; rootfs_free().  The staging
 * directory belongs to the caller (it stays empty on the host).
 * Thread safety: a plan is read-only once built; any thread may build one.
 */
#ifndef JT_ROOTFS_H
#define JT_ROOTFS_H

#include <stddef.h>
#include <sys/types.h>

#define ROOTFS_HARNESS "/jt/harness.py"
#define ROOTFS_WORKDIR "/tmp"
#define ROOTFS_EMPTY "/.empty"   /* an empty read-only file, for masking */

struct rootfs_options {
	const char *staging;   /* absolute, empty directory: the new root is mounted on it */
	const char *harness;   /* host path of the file shown at ROOTFS_HARNESS; NULL = none (no /jt) */
	const char *exe;       /* the program run (absolute, resolved): must be visible inside */
	long tmp_mb;           /* size of /tmp and of /dev/shm, each, >= 1 */
	long tmp_inodes;       /* files of each, >= 16 */
	uid_t owner_uid;       /* owner of /tmp */
	gid_t owner_gid;
};

struct rootfs;

struct rootfs *rootfs_plan(const struct rootfs_options *o, char *why, size_t cap);

/* Child side: builds the root on o->staging, pivots into it and detaches the
 * host's root.  0, or a positive errno with *step naming what failed (a
 * string owned by the plan). */
int rootfs_enter(const struct rootfs *r, const char **step);

void rootfs_free(struct rootfs *r);

#endif
