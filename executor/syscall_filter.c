/* syscall_filter.c — see syscall_filter.h. */
#include "syscall_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define MAX_PROG_BYTES (64 * 1024)   /* BPF_MAXINSNS (4096) instructions of 8 bytes */

static const char *const killed[] = {
	/* other processes' memory */
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
	"process_madvise", "move_pages", "migrate_pages",
	/* mounts and namespaces */
	"mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
	"open_by_handle_at", "name_to_handle_at", "fanotify_init", "quotactl", "quotactl_fd",
	/* kernel attack surface */
	"bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
	"io_uring_register", "keyctl", "add_key", "request_key", "modify_ldt",
	"lookup_dcookie", "uselib", "ustat", "sysfs", "_sysctl", "nfsservctl", "vhangup",
	"iopl", "ioperm",
	/* host state */
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
	"reboot", "swapon", "swapoff", "acct", "syslog", "settimeofday", "clock_settime",
	"clock_adjtime", "adjtimex", "sethostname", "setdomainname",
	NULL
};

const char *const *syscall_filter_killed(void)
{
	return killed;
}

/*
 * Refused with EPERM, not killed (issue 7): ordinary code may try them.
 * sched_setaffinity: the candidate stays on the CPUs it was given (a measured
 * run on the measurement CPU, /validate on the infra CPUs).  File locks: the
 * read-only host files in the view (/usr, /etc/ld.so.cache…) must not be
 * lockable by one sandbox against the host or another sandbox.
 */
static int refuse_others(scmp_filter_ctx ctx, char *why, size_t cap)
{
	static const int lock_cmds[] = { F_SETLK, F_SETLKW, F_OFD_SETLK, F_OFD_SETLKW };
	int rc;
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(sched_setaffinity), 0)) < 0 ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(flock), 0)) < 0) {
		util_say(why, cap, "seccomp rule for sched_setaffinity/flock: %s", strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < sizeof lock_cmds / sizeof lock_cmds[0]; i++)
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fcntl), 1,
					   SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)lock_cmds[i]))) < 0) {
			util_say(why, cap, "seccomp rule for fcntl locks: %s", strerror(-rc));
			return rc;
		}
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, char *why, size_t cap)
{
	int rc;
	for (const char *const *n = killed; *n; n++) {
		int nr = seccomp_syscall_resolve_name(*n);
		if (nr == __NR_SCMP_ERROR)
			continue;   /* not a call on this architecture */
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, nr, 0)) < 0) {
			util_say(why, cap, "seccomp rule for %s: %s", *n, strerror(-rc));
			return rc;
		}
	}
	static const unsigned long ns_flags[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC,
						  CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
						  CLONE_NEWCGROUP };
	for (size_t i = 0; i < sizeof ns_flags / sizeof ns_flags[0]; i++)
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
					   SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]))) < 0) {
			util_say(why, cap, "seccomp rule for clone: %s", strerror(-rc));
			return rc;
		}
	if ((rc = refuse_others(ctx, why, cap)) < 0)
		return rc;
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0) {
		util_say(why, cap, "seccomp rule for clone3: %s", strerror(-rc));
		return rc;
	}
	/* Any value with high bits set is above AF_INET6 too. */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				   SCMP_A0(SCMP_CMP_GT, AF_INET6))) < 0) {
		util_say(why, cap, "seccomp rule for socket: %s", strerror(-rc));
		return rc;
	}
	for (int fam = 0; fam < AF_INET6; fam++) {
		if (fam == AF_UNIX || fam == AF_INET)
			continue;
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
					   SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fam))) < 0) {
			util_say(why, cap, "seccomp rule for socket: %s", strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int syscall_filter_build(struct syscall_filter *f, char *why, size_t cap)
{
	int rc, fd = -1;
	void *buf = NULL;
	memset(f, 0, sizeof *f);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		util_say(why, cap, "seccomp_init failed");
		return -ENOMEM;
	}
	/* no_new_privs is set by the caller, explicitly and reported on its own. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0) {
		util_say(why, cap, "seccomp attributes: %s", strerror(-rc));
		goto out;
	}
	if ((rc = add_rules(ctx, why, cap)) < 0)
		goto out;
	/* libseccomp 2.5 exports to an fd only. */
	if ((fd = memfd_create("jt-seccomp", MFD_CLOEXEC)) < 0) {
		rc = -errno;
		util_say(why, cap, "memfd_create: %s", strerror(errno));
		goto out;
	}
	if ((rc = seccomp_export_bpf(ctx, fd)) < 0) {
		util_say(why, cap, "seccomp_export_bpf: %s", strerror(-rc));
		goto out;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size > MAX_PROG_BYTES || size % (off_t)sizeof(struct sock_filter)) {
		rc = -EINVAL;
		util_say(why, cap, "seccomp program of %lld bytes", (long long)size);
		goto out;
	}
	if (!(buf = malloc((size_t)size))) {
		rc = -ENOMEM;
		util_say(why, cap, "out of memory");
		goto out;
	}
	if (pread(fd, buf, (size_t)size, 0) != (ssize_t)size) {
		rc = -EIO;
		util_say(why, cap, "reading the seccomp program back failed");
		goto out;
	}
	f->prog = buf;
	f->len = (unsigned short)((size_t)size / sizeof(struct sock_filter));
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return rc;
}

int syscall_filter_install(const struct syscall_filter *f)
{
	struct sock_fprog prog = { .len = f->len, .filter = f->prog };
	if (!f->prog)
		return EINVAL;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return errno;
	return 0;
}

void syscall_filter_free(struct syscall_filter *f)
{
	free(f->prog);
	f->prog = NULL;
	f->len = 0;
}
