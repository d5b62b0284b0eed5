/* test_syscall_filter.c — the seccomp policy, installed in forked children. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "syscall_filter.h"
#include "testutil.h"

enum probe {
	P_GETPID,       /* allowed: exits 0 */
	P_PTRACE,
	P_PERF,
	P_BPF,
	P_MOUNT,
	P_UNSHARE,
	P_KEYCTL,
	P_CLONE_NEWUSER,
	P_X32,          /* getpid through the x32 table */
	P_INT80,        /* getpid through the i386 table */
	P_CLONE3,       /* ENOSYS: exits 0 when so */
	P_NETLINK,      /* EAFNOSUPPORT: exits 0 when so */
	P_INET,         /* allowed */
	P_THREAD_FORK,  /* plain fork (clone without namespace flags) is allowed */
	P_AFFINITY,     /* EPERM for sched_setaffinity; getaffinity still works */
	P_LOCKS,        /* EPERM for flock and fcntl locks; F_GETLK still works */
};

/* Runs one probe under the filter (NULL: without one) in a child; returns
 * its wait status. */
static int run_probe(const struct syscall_filter *f, enum probe p)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (f && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
			  syscall_filter_install(f) != 0))
			_exit(100);
		long r = 0;
		switch (p) {
		case P_GETPID: r = syscall(SYS_getpid) > 0 ? 0 : 1; break;
		case P_PTRACE: syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0); break;
		case P_PERF: syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); break;
		case P_BPF: syscall(SYS_bpf, 0, NULL, 0); break;
		case P_MOUNT: syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL); break;
		case P_UNSHARE: syscall(SYS_unshare, CLONE_NEWUSER); break;
		case P_KEYCTL: syscall(SYS_keyctl, 0, 0, 0, 0, 0); break;
		case P_CLONE_NEWUSER:
			syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
			break;
		case P_X32: syscall(0x40000000 | SYS_getpid); break;
#if defined(__x86_64__)
		case P_INT80: {
			long ret = 20;   /* __NR_getpid in the i386 table */
			__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
			break;
		}
#else
		case P_INT80: raise(SIGSYS); break;
#endif
		case P_CLONE3:
			r = syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS ? 0 : 1;
			break;
		case P_NETLINK:
			r = socket(AF_NETLINK, SOCK_RAW, 0) == -1 && errno == EAFNOSUPPORT ? 0 : 1;
			break;
		case P_INET: {
			int fd = socket(AF_INET, SOCK_DGRAM, 0);
			r = fd >= 0 ? 0 : 1;
			break;
		}
		case P_AFFINITY: {
			cpu_set_t set;
			r = sched_getaffinity(0, sizeof set, &set) == 0 &&
			    sched_setaffinity(0, sizeof set, &set) == -1 && errno == EPERM ? 0 : 1;
			break;
		}
		case P_LOCKS: {
			int fd = open("/proc/self/exe", O_RDONLY);
			struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
			bool refused = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EPERM;
			refused = refused && fcntl(fd, F_SETLK, &fl) == -1 && errno == EPERM;
			refused = refused && fcntl(fd, F_OFD_SETLK, &fl) == -1 && errno == EPERM;
			r = refused && fcntl(fd, F_GETLK, &fl) == 0 ? 0 : 1;
			break;
		}
		case P_THREAD_FORK: {
			pid_t c = fork();
			if (c == 0)
				_exit(0);
			int ws;
			r = c > 0 && waitpid(c, &ws, 0) == c && WIFEXITED(ws) ? 0 : 1;
			break;
		}
		}
		_exit((int)r);
	}
	int ws;
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	return ws;
}

START_TEST(test_policy)
{
	struct syscall_filter f;
	char why[256] = "";
	ck_assert_msg(syscall_filter_build(&f, why, sizeof why) == 0, "%s", why);
	ck_assert_int_gt(f.len, 10);
	static const enum probe killed[] = { P_PTRACE, P_PERF, P_BPF, P_MOUNT, P_UNSHARE, P_KEYCTL,
					     P_CLONE_NEWUSER, P_X32 };
	static const enum probe ok[] = { P_GETPID, P_CLONE3, P_NETLINK, P_INET, P_THREAD_FORK,
					 P_AFFINITY, P_LOCKS };
	for (size_t i = 0; i < sizeof killed / sizeof killed[0]; i++) {
		int ws = run_probe(&f, killed[i]);
		ck_assert_msg(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGSYS,
			      "probe %d: status %#x, want SIGSYS", (int)killed[i], ws);
	}
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int ws = run_probe(&f, ok[i]);
		ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "probe %d: status %#x",
			      (int)ok[i], ws);
	}
	/*
	 * int 0x80: killed by the filter where the kernel serves the i386 table;
	 * a kernel without it (IA32 emulation off) faults before any filter runs,
	 * and the process dies the same way with or without one.
	 */
	int bare = run_probe(NULL, P_INT80), ws = run_probe(&f, P_INT80);
	if (WIFEXITED(bare))
		ck_assert_msg(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGSYS, "int 0x80: status %#x", ws);
	else
		ck_assert_msg(WIFSIGNALED(ws) && WTERMSIG(ws) == WTERMSIG(bare),
			      "int 0x80: status %#x, %#x without the filter", ws, bare);
	syscall_filter_free(&f);
	ck_assert_ptr_null(f.prog);
	syscall_filter_free(&f);   /* idempotent */
}
END_TEST

START_TEST(test_names_and_install_errors)
{
	const char *const *k = syscall_filter_killed();
	bool ptrace = false, bpf = false;
	size_t n = 0;
	for (; k[n]; n++) {
		ptrace |= strcmp(k[n], "ptrace") == 0;
		bpf |= strcmp(k[n], "bpf") == 0;
	}
	ck_assert(ptrace && bpf);
	ck_assert_uint_gt(n, 30);
	struct syscall_filter empty = { 0 };
	ck_assert_int_eq(syscall_filter_install(&empty), EINVAL);
	/* Without no_new_privs an unprivileged process may not install a filter. */
	struct syscall_filter f;
	char why[256];
	ck_assert_int_eq(syscall_filter_build(&f, why, sizeof why), 0);
	if (geteuid() != 0) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(syscall_filter_install(&f) == EACCES ? 0 : 1);
		int ws;
		ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
		ck_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	}
	syscall_filter_free(&f);
}
END_TEST

static Suite *syscall_filter_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("syscall_filter", &tc);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_policy);
	tcase_add_test(tc, test_names_and_install_errors);
	return s;
}

TESTUTIL_MAIN(syscall_filter_suite)
