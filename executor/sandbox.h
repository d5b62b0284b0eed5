/*
 * sandbox.h — starts one command as a pinned, limited child and kills its whole
 * process tree.  executor.c runs the harness through it; jouletrace-run can run
 * any command the same way.
 *
 * Everything between fork and exec happens in one static function,
 * child_setup() in sandbox.c: signal dispositions reset, parent-death signal,
 * own process group, fd layout, CPU affinity, rlimits, working directory.  The
 * full sandbox of SPEC §9 (uid switch, mount/network/IPC/UTS namespaces,
 * no_new_privs, seccomp) belongs there too.
 *
 * Killing (enum sandbox_kill_mode):
 * * SANDBOX_KILL_PIDNS — the child is init of a new PID namespace (clone with
 *   CLONE_NEWPID; needs CAP_SYS_ADMIN).  SIGKILL to it makes the kernel kill
 *   every process inside, setsid() escapees included, and the child is reaped
 *   only after they are all gone.  As a namespace init it ignores signals it
 *   has no handler for, so a SIGXCPU soft limit is inert; the RLIMIT_CPU hard
 *   limit (soft + 1 s) still kills.
 * * SANDBOX_KILL_PGROUP — fallback when namespaces are refused (or asked
 *   for): the child leads its own process group and is a child subreaper, so
 *   orphans stay its descendants while it lives.  sandbox_kill() stops the
 *   tree, sweeps /proc for descendants and group members until a round finds
 *   nothing new, then SIGKILLs them all.  A process that left the group with
 *   setsid() after the child itself died is not found: that gap is what the
 *   PID namespace closes.
 * RLIMIT_NPROC does not bind root; it takes effect with the later uid switch.
 *
 * Errors: 0 or -errno.  Ownership: struct sandbox_proc holds the pid (until
 * reaped) and a pidfd; sandbox_reap() releases both.
 * Thread safety: a sandbox_proc belongs to one thread at a time.  Only the
 * child's own pid is ever waited on (never waitpid(-1)), and the spawn uses
 * only async-signal-safe calls after clone(), so threads may spawn
 * concurrently as long as every fd they hold is O_CLOEXEC.  The parent-death
 * signal (SIGKILL) is tied to the spawning thread: it must outlive the child.
 */
#ifndef JT_SANDBOX_H
#define JT_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "cpuset.h"

#define SANDBOX_MAX_FDS 8

/* 0 = leave the inherited value; RLIMIT_CORE is always 0. */
struct sandbox_limits {
	long memory_limit_mb;   /* RLIMIT_AS */
	long cpu_seconds;       /* RLIMIT_CPU soft; hard = soft + 1 */
	long max_processes;     /* RLIMIT_NPROC */
	long max_file_bytes;    /* RLIMIT_FSIZE */
	long max_open_files;    /* RLIMIT_NOFILE; at least nfds + 3 */
};

struct sandbox_spec {
	const char *exe;        /* absolute: the child changes directory first */
	char *const *argv;
	char *const *envp;      /* the complete environment */
	const char *cwd;        /* absolute */
	int fds[SANDBOX_MAX_FDS]; /* parent fds that become the child's 0..nfds-1 */
	int nfds;               /* 3..SANDBOX_MAX_FDS; every other fd is closed */
	struct cpuset cpus;     /* empty = inherit */
	struct sandbox_limits limits;
	bool no_pid_namespace;  /* force SANDBOX_KILL_PGROUP */
};

enum sandbox_kill_mode {
	SANDBOX_KILL_PIDNS,
	SANDBOX_KILL_PGROUP,
};

struct sandbox_proc {
	pid_t pid;              /* in the caller's PID namespace */
	int pidfd;              /* readable once the child exits; -1 if unsupported */
	enum sandbox_kill_mode mode;
	long cpu_seconds;       /* the limit it ran under, for sandbox_status */
	bool reaped;
	int wstatus;
	struct rusage ru;
};

struct sandbox_status {
	bool exited;            /* normal exit: code is valid */
	int code;
	int signal;             /* terminating signal, 0 if exited */
	bool cpu_limit;         /* SIGXCPU, or SIGKILL with CPU time at the limit
				   (the caller knows whether it sent SIGKILL itself) */
	uint64_t user_ns, sys_ns;   /* the child and its reaped descendants */
	long max_rss_kb;
};

/*
 * Returns once exec has succeeded: 0 with *p filled, or -errno from clone(),
 * from a setup step or from execve() in the child (e.g. -ENOENT, -EACCES,
 * -ENOEXEC, -EPERM when a limit cannot be set).
 */
int sandbox_spawn(const struct sandbox_spec *s, struct sandbox_proc *p);

/* Terminated (zombie or reaped)?  Never reaps, so the pid stays pinned. */
bool sandbox_exited(struct sandbox_proc *p);
/* SIGCONT + SIGKILL to the whole tree; does not reap.  No-op once reaped. */
void sandbox_kill(struct sandbox_proc *p);
/* Blocking wait for the child (only), then closes the pidfd.  Idempotent. */
void sandbox_reap(struct sandbox_proc *p);
/* -EBUSY until reaped. */
int sandbox_status(const struct sandbox_proc *p, struct sandbox_status *out);

const char *sandbox_kill_mode_name(enum sandbox_kill_mode m); /* "pid_namespace"|"process_group" */

#endif
