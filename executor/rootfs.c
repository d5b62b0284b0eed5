/* rootfs.c — see rootfs.h. */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

enum kind {
	K_MOUNT,     /* mount(src, dst, fstype, flags, data) */
	K_BIND,      /* bind src on dst, then set flags on that mount */
	K_MKDIR,
	K_FILE,      /* an empty file to bind a file onto */
	K_SYMLINK,   /* dst -> src */
	K_PIVOT,     /* dst becomes "/", the old root is detached */
	K_REMOUNT,   /* set flags on the mount at dst (a path inside the new root) */
};

struct op {
	enum kind kind;
	char *src, *dst, *data, *step;
	const char *fstype;
	unsigned long flags;
	bool optional;   /* ENOENT skips it (a file some kernels lack) */
};

struct rootfs {
	struct op *ops;
	size_t n, cap;
	bool failed;     /* an allocation failed while planning */
};

/* Directories of the host's / that the interpreter and its libraries live in. */
static const char *const system_dirs[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32", NULL };
static const char *const etc_files[] = { "ld.so.cache", "localtime", NULL };
static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", NULL };

#define RO_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV)

__attribute__((format(printf, 2, 3)))
static char *fmt(struct rootfs *r, const char *f, ...)
{
	char buf[PATH_MAX + 64];
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(buf, sizeof buf, f, ap);
	va_end(ap);
	char *s = n >= 0 && (size_t)n < sizeof buf ? strdup(buf) : NULL;
	if (!s)
		r->failed = true;
	return s;
}

static struct op *add(struct rootfs *r, enum kind k, char *src, char *dst, const char *fstype,
		      char *data, unsigned long flags, const char *what)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct op *ops = realloc(r->ops, cap * sizeof *ops);
		if (!ops) {
			r->failed = true;
			free(src);
			free(dst);
			free(data);
			return NULL;
		}
		r->ops = ops;
		r->cap = cap;
	}
	struct op *o = &r->ops[r->n++];
	memset(o, 0, sizeof *o);
	o->kind = k;
	o->src = src;
	o->dst = dst;
	o->fstype = fstype;
	o->data = data;
	o->flags = flags;
	o->step = fmt(r, "%s %s", what, dst ? dst : "");
	return o;
}

/* Read-only bind of a host path to the same path inside. */
static void bind_ro(struct rootfs *r, const char *S, const char *host, bool dir)
{
	add(r, dir ? K_MKDIR : K_FILE, NULL, fmt(r, "%s%s", S, host), NULL, NULL, 0, "create");
	add(r, K_BIND, fmt(r, "%s", host), fmt(r, "%s%s", S, host), NULL, NULL, RO_FLAGS,
	    "bind read-only");
}

static void plan_system(struct rootfs *r, const char *S, const char *exe, bool *exe_seen)
{
	bind_ro(r, S, "/usr", true);
	*exe_seen = strncmp(exe, "/usr/", 5) == 0;
	for (const char *const *d = system_dirs; *d; d++) {
		char host[64], target[PATH_MAX];
		struct stat st;
		snprintf(host, sizeof host, "/%s", *d);
		if (lstat(host, &st) != 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(host, target, sizeof target - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			add(r, K_SYMLINK, fmt(r, "%s", target), fmt(r, "%s%s", S, host), NULL, NULL,
			    0, "symlink");
		} else if (S_ISDIR(st.st_mode)) {
			bind_ro(r, S, host, true);
			size_t hl = strlen(host);
			if (strncmp(exe, host, hl) == 0 && exe[hl] == '/')
				*exe_seen = true;
		}
	}
	add(r, K_MKDIR, NULL, fmt(r, "%s/etc", S), NULL, NULL, 0, "create");
	for (const char *const *f = etc_files; *f; f++) {
		char host[64];
		struct stat st;
		snprintf(host, sizeof host, "/etc/%s", *f);
		if (stat(host, &st) == 0 && S_ISREG(st.st_mode))
			bind_ro(r, S, host, false);
	}
}

static void plan_dev(struct rootfs *r, const char *S, const struct rootfs_options *o)
{
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	};
	add(r, K_MKDIR, NULL, fmt(r, "%s/dev", S), NULL, NULL, 0, "create");
	add(r, K_MOUNT, fmt(r, "tmpfs"), fmt(r, "%s/dev", S), "tmpfs",
	    fmt(r, "size=64k,nr_inodes=64,mode=0755"), MS_NOSUID | MS_NOEXEC, "mount tmpfs");
	for (const char *const *d = dev_nodes; *d; d++) {
		add(r, K_FILE, NULL, fmt(r, "%s/dev/%s", S, *d), NULL, NULL, 0, "create");
		add(r, K_BIND, fmt(r, "/dev/%s", *d), fmt(r, "%s/dev/%s", S, *d), NULL, NULL,
		    MS_NOSUID | MS_NOEXEC, "bind");
	}
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		add(r, K_SYMLINK, fmt(r, "%s", links[i][1]), fmt(r, "%s/dev/%s", S, links[i][0]),
		    NULL, NULL, 0, "symlink");
	add(r, K_MKDIR, NULL, fmt(r, "%s/dev/shm", S), NULL, NULL, 0, "create");
	add(r, K_MOUNT, fmt(r, "tmpfs"), fmt(r, "%s/dev/shm", S), "tmpfs",
	    fmt(r, "size=%ldm,nr_inodes=%ld,mode=1777", o->tmp_mb, o->tmp_inodes),
	    MS_NOSUID | MS_NODEV | MS_NOEXEC, "mount tmpfs");
}

struct rootfs *rootfs_plan(const struct rootfs_options *o, char *why, size_t cap)
{
	struct stat st;
	bool exe_seen = false;
	const char *S = o->staging;

	if (!S || S[0] != '/' || !o->exe || o->exe[0] != '/' || o->tmp_mb < 1 ||
	    o->tmp_inodes < 16) {
		util_say(why, cap, "bad root filesystem options");
		errno = EINVAL;
		return NULL;
	}
	if (o->harness && (stat(o->harness, &st) != 0 || !S_ISREG(st.st_mode))) {
		int e = errno ? errno : EINVAL;
		util_say(why, cap, "harness %s is not a readable file", o->harness);
		errno = e;
		return NULL;
	}
	struct rootfs *r = calloc(1, sizeof *r);
	if (!r) {
		util_say(why, cap, "out of memory");
		return NULL;
	}
	/* Nothing done below may propagate back to the host's mounts. */
	add(r, K_MOUNT, NULL, fmt(r, "/"), NULL, NULL, MS_REC | MS_PRIVATE, "make private");
	add(r, K_MOUNT, fmt(r, "tmpfs"), fmt(r, "%s", S), "tmpfs",
	    fmt(r, "size=1m,nr_inodes=256,mode=0755"), MS_NOSUID | MS_NODEV, "mount root tmpfs");
	plan_system(r, S, o->exe, &exe_seen);
	if (o->harness) {
		add(r, K_MKDIR, NULL, fmt(r, "%s/jt", S), NULL, NULL, 0, "create");
		add(r, K_FILE, NULL, fmt(r, "%s" ROOTFS_HARNESS, S), NULL, NULL, 0, "create");
		add(r, K_BIND, fmt(r, "%s", o->harness), fmt(r, "%s" ROOTFS_HARNESS, S), NULL,
		    NULL, RO_FLAGS | MS_NOEXEC, "bind harness");
	}
	plan_dev(r, S, o);
	add(r, K_MKDIR, NULL, fmt(r, "%s" ROOTFS_WORKDIR, S), NULL, NULL, 0, "create");
	add(r, K_MOUNT, fmt(r, "tmpfs"), fmt(r, "%s" ROOTFS_WORKDIR, S), "tmpfs",
	    fmt(r, "size=%ldm,nr_inodes=%ld,mode=0700,uid=%u,gid=%u", o->tmp_mb, o->tmp_inodes,
		(unsigned)o->owner_uid, (unsigned)o->owner_gid),
	    MS_NOSUID | MS_NODEV | MS_NOEXEC, "mount tmpfs");
	add(r, K_MKDIR, NULL, fmt(r, "%s/proc", S), NULL, NULL, 0, "create");
	add(r, K_MOUNT, fmt(r, "proc"), fmt(r, "%s/proc", S), "proc", fmt(r, "hidepid=2"),
	    MS_NOSUID | MS_NODEV | MS_NOEXEC, "mount proc");
	/* Kernel knobs stay read-only even for a sandbox that kept uid 0. */
	add(r, K_BIND, fmt(r, "%s/proc/sys", S), fmt(r, "%s/proc/sys", S), NULL, NULL,
	    RO_FLAGS | MS_NOEXEC, "bind read-only");
	struct op *sysrq = add(r, K_BIND, fmt(r, "%s/proc/sysrq-trigger", S),
			       fmt(r, "%s/proc/sysrq-trigger", S), NULL, NULL,
			       RO_FLAGS | MS_NOEXEC, "bind read-only");
	if (sysrq)
		sysrq->optional = true;
	/*
	 * System-wide per-CPU counters read as empty files (issue 7): they would
	 * show other tenants' activity, and the measurement CPU's own, to code
	 * that is being measured.
	 */
	static const char *const masked[] = { "stat", "schedstat", "interrupts", "softirqs", NULL };
	add(r, K_FILE, NULL, fmt(r, "%s" ROOTFS_EMPTY, S), NULL, NULL, 0, "create");
	for (const char *const *m = masked; *m; m++) {
		/* absent on some kernels (schedstat): nothing to hide there */
		struct op *op = add(r, K_BIND, fmt(r, "%s" ROOTFS_EMPTY, S), fmt(r, "%s/proc/%s", S, *m),
				    NULL, NULL, RO_FLAGS | MS_NOEXEC, "mask");
		if (op)
			op->optional = true;
	}
	add(r, K_PIVOT, NULL, fmt(r, "%s", S), NULL, NULL, 0, "pivot_root to");
	add(r, K_REMOUNT, NULL, fmt(r, "/"), NULL, NULL, RO_FLAGS, "remount read-only");
	add(r, K_REMOUNT, NULL, fmt(r, "/dev"), NULL, NULL, MS_RDONLY | MS_NOSUID | MS_NOEXEC,
	    "remount read-only");
	if (r->failed) {
		rootfs_free(r);
		util_say(why, cap, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if (!exe_seen) {
		rootfs_free(r);
		util_say(why, cap, "executable %s is outside the sandbox's view (/usr, /bin, /lib*)",
			 o->exe);
		errno = ENOENT;
		return NULL;
	}
	return r;
}

static int apply(const struct op *o)
{
	int fd;
	switch (o->kind) {
	case K_MOUNT:
		return mount(o->src, o->dst, o->fstype, o->flags, o->data);
	case K_BIND:
		if (mount(o->src, o->dst, NULL, MS_BIND, NULL) != 0)
			return -1;
		return mount(NULL, o->dst, NULL, MS_BIND | MS_REMOUNT | o->flags, NULL);
	case K_MKDIR:
		return mkdir(o->dst, 0755) == 0 || errno == EEXIST ? 0 : -1;
	case K_FILE:
		if ((fd = open(o->dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
			return -1;
		close(fd);
		return 0;
	case K_SYMLINK:
		return symlink(o->src, o->dst);
	case K_PIVOT:
		/* pivot_root(".", "."): the old root ends up stacked on "/", detached next. */
		if (chdir(o->dst) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 ||
		    umount2(".", MNT_DETACH) != 0)
			return -1;
		return chdir("/");
	case K_REMOUNT:
		return mount(NULL, o->dst, NULL, MS_BIND | MS_REMOUNT | o->flags, NULL);
	}
	errno = EINVAL;
	return -1;
}

int rootfs_enter(const struct rootfs *r, const char **step)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct op *o = &r->ops[i];
		if (apply(o) != 0 && !(o->optional && errno == ENOENT)) {
			*step = o->step;
			return errno ? errno : EIO;
		}
	}
	return 0;
}

void rootfs_free(struct rootfs *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->ops[i].src);
		free(r->ops[i].dst);
		free(r->ops[i].data);
		free(r->ops[i].step);
	}
	free(r->ops);
	free(r);
}
