/*
 * syscall_filter.h — the sandbox's seccomp filter.  libseccomp compiles it in
 * the parent; the cloned child installs the finished BPF program with one
 * prctl(), without allocating (the parent is multi-threaded).
 *
 * Policy (default: allow — the candidate is ordinary Python, and the kernel's
 * own permission checks already refuse an unprivileged uid most things):
 * * SECCOMP_RET_KILL_PROCESS on every call named by syscall_filter_killed():
 *   other processes' memory (ptrace, process_vm_*, pidfd_getfd, kcmp),
 *   mounts and namespaces (mount, pivot_root, unshare, setns, the new mount
 *   API), kernel attack surface (bpf, perf_event_open, io_uring, userfaultfd,
 *   keyctl, modify_ldt), and host state (modules, kexec, reboot, swap,
 *   clocks, hostname, quotas, acct, syslog).
 * * SECCOMP_RET_KILL_PROCESS on clone() asking for any new namespace.
 * * SECCOMP_RET_KILL_PROCESS on every system call of another architecture
 *   (i386 `int 0x80`, x32): a filter written for the native table would
 *   misread their numbers.
 * * clone3() fails with ENOSYS: its flags are in memory a filter cannot read;
 *   the C library then falls back to clone(), which is checked.
 * * socket() fails with EAFNOSUPPORT for families other than AF_UNIX,
 *   AF_INET and AF_INET6 (netlink, packet, vsock... — vsock is not
 *   isolated by a network namespace).
 * * EPERM (refused, not killed: ordinary code may try them) for
 *   sched_setaffinity — the candidate stays on the CPUs it was given — and
 *   for file locks (flock, fcntl F_SETLK/F_SETLKW/F_OFD_SETLK/F_OFD_SETLKW),
 *   so the read-only host files in the view cannot be locked against the
 *   host or another sandbox.
 * A killed process ends with SIGSYS; the executor reports a harness killed
 * that way as error_type "sandbox_violation".
 *
 * Errors: 0 or -errno (build), positive errno (install: child side).
 * Ownership: struct syscall_filter owns its program; syscall_filter_free().
 * Thread safety: build/free from any thread; a filter is read-only once built.
 */
#ifndef JT_SYSCALL_FILTER_H
#define JT_SYSCALL_FILTER_H

#include <stddef.h>

struct sock_filter;

struct syscall_filter {
	struct sock_filter *prog;
	unsigned short len;
};

/* Compiles the policy for the native architecture; why says what failed. */
int syscall_filter_build(struct syscall_filter *f, char *why, size_t cap);

/*
 * Child side, async-signal-safe: installs f on the calling thread.  Needs
 * no_new_privs (or CAP_SYS_ADMIN).  0 or a positive errno.
 */
int syscall_filter_install(const struct syscall_filter *f);

void syscall_filter_free(struct syscall_filter *f);

/* The killed calls by name, NULL-terminated (for reports and docs). */
const char *const *syscall_filter_killed(void);

#endif
