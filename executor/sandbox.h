/*
 * sandbox.h — starts one command in the sandbox of SPEC §9 and kills its
 * whole process tree.  executor.c runs the harness through it (the
 * correctness gate, /validate and the trials alike); jouletrace-run can run
 * any command the same way.
 *
 * Controls (enum sandbox_control; each attempted when asked for, each
 * reported as applied or not, with the reason):
 *   uid           setgroups(0) + setresgid + setresuid to a dedicated
 *                 unprivileged uid/gid; RLIMIT_NPROC then binds (it never
 *                 binds root)
 *   pidns         the child is init of a new PID namespace (tree kill below)
 *   mountns       own mount namespace with the rootfs.h view (pivot_root)
 *   netns         own network namespace: only a loopback interface, which
 *                 reaches nothing of the host's (Redis, the API)
 *   ipcns, utsns  own SysV IPC and hostname ("sandbox")
 *   caps          bounding and ambient capability sets emptied
 *   no_new_privs  PR_SET_NO_NEW_PRIVS
 *   seccomp       syscall_filter.h (a killed process ends with SIGSYS)
 *   rlimits       AS, CPU (hard = soft + 1), NPROC, FSIZE, NOFILE, CORE 0
 *   cgroup_memory, cgroup_pids   cgroup.h limits; the group also lists every
 *                 member for the kill
 * A control that cannot be applied is dropped and the child started again
 * without it — unless it is mandatory: then sandbox_spawn fails with
 * -ENOTSUP and the report says which control and why.  Namespaces refused by
 * clone() are dropped in the order netns, ipcns, utsns, mountns, pidns (the
 * kernel does not say which flag it refused).
 *
 * Order in the child (between clone and exec, one static function in
 * sandbox.c, async-signal-safe calls only): signals reset, parent-death
 * signal, own process group, cgroup entry, fd layout, CPU affinity, root
 * filesystem + pivot_root, hostname, loopback up, rlimits, capabilities,
 * uid/gid, parent-death signal again (a credential change clears it),
 * working directory, no_new_privs, seccomp, execve.
 *
 * Killing (enum sandbox_kill_mode):
 * * SANDBOX_KILL_PIDNS — SIGKILL to the namespace's init makes the kernel
 *   kill every process inside, setsid() escapees and stopped processes
 *   included; the child is reaped only after they are all gone.  As a
 *   namespace init it ignores signals it has no handler for (a SIGXCPU soft
 *   limit is inert; the RLIMIT_CPU hard limit's SIGKILL still ends it; its
 *   own SIGSTOP is ignored).
 * * SANDBOX_KILL_PGROUP — fallback without a PID namespace: the child leads
 *   its own process group and is a child subreaper; sandbox_kill() stops the
 *   tree, sweeps /proc for descendants and group members until a round finds
 *   nothing new, then SIGKILLs them all.
 * In both modes, when a cgroup exists, every member is then killed through
 * it and the group must be empty before it is removed (sandbox_reap): a
 * setsid() process that outlived its parent is found there too.
 *
 * Errors: 0 or -errno.  Ownership: struct sandbox_proc holds the pid (until
 * reaped), a pidfd and the cgroup; sandbox_reap() releases all three.
 * Thread safety: a sandbox_proc belongs to one thread at a time.  Only the
 * child's own pid is ever waited on (never waitpid(-1)), and the spawn uses
 * only async-signal-safe calls after clone(), so threads may spawn
 * concurrently as long as every fd they hold is O_CLOEXEC.  The parent-death
 * signal (SIGKILL) is tied to the spawning thread: it must outlive the child.
 */
#ifndef JT_SANDBOX_H
#define JT_SANDBOX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "cpuset.h"
#include "sandbox_controls.h"

struct cgroup;
struct rootfs;

#define SANDBOX_MAX_FDS 8

/* 0 = leave the inherited value; RLIMIT_CORE is always 0. */
struct sandbox_limits {
	long memory_limit_mb;   /* RLIMIT_AS */
	long cpu_seconds;       /* RLIMIT_CPU soft; hard = soft + 1 */
	long max_processes;     /* RLIMIT_NPROC (per uid, system-wide) */
	long max_file_bytes;    /* RLIMIT_FSIZE */
	long max_open_files;    /* RLIMIT_NOFILE; at least nfds + 3 */
};

enum sandbox_kill_mode {
	SANDBOX_KILL_PIDNS,
	SANDBOX_KILL_PGROUP,
};

/* What a spawn applied; filled by sandbox_spawn also when it fails. */
struct sandbox_report {
	unsigned wanted;        /* asked for and available */
	unsigned applied;       /* in force in the running child */
	unsigned mandatory;
	bool refused;           /* a mandatory control was missing: nothing runs */
	char why[SANDBOX_NCONTROLS][192];   /* reason, for every control not applied */
	enum sandbox_kill_mode kill_mode;
	uid_t uid;              /* the ids the child runs as */
	gid_t gid;
	struct sandbox_limits limits;
	long long cgroup_memory_bytes;
	long cgroup_pids_max;
	long tmpfs_mb;          /* size of /tmp and /dev/shm with mountns (set by the caller) */
};

/*
 * The report as measurement_environment.sandbox: kill_mode, uid, gid,
 * enforced [names], not_enforced [names], reasons {name: why}, mandatory
 * [names], limits {...}.  NULL on allocation failure.
 */
json_t *sandbox_report_json(const struct sandbox_report *r);

/* "name: why; name: why" for the controls of mask that are not applied (for
 * a refused spawn: the ones that could not be applied).  Returns how many. */
int sandbox_report_missing(const struct sandbox_report *r, unsigned mask, char *buf, size_t cap);

struct sandbox_spec {
	const char *exe;        /* absolute, visible in both views */
	char *const *argv;      /* host view: used without mountns */
	char *const *envp;      /* the complete environment */
	const char *cwd;        /* absolute */
	char *const *jail_argv; /* with mountns (rootfs applied); NULL = argv */
	char *const *jail_envp; /* NULL = envp */
	const char *jail_cwd;   /* NULL = cwd */
	int fds[SANDBOX_MAX_FDS]; /* parent fds that become the child's 0..nfds-1 */
	int nfds;               /* 3..SANDBOX_MAX_FDS; every other fd is closed */
	struct cpuset cpus;     /* empty = inherit */
	struct sandbox_limits limits;   /* applied with SANDBOX_RLIMITS */

	unsigned want;          /* SANDBOX_BIT()s to attempt */
	unsigned mandatory;     /* must be applied, else -ENOTSUP */
	/* Reasons the caller already knows a control cannot be applied (user
	 * missing...): such a control is not attempted and reported with it. */
	const char *unavailable[SANDBOX_NCONTROLS];
	uid_t uid;              /* SANDBOX_UID */
	gid_t gid;
	const struct rootfs *rootfs;    /* SANDBOX_MOUNTNS: required */
	long tmpfs_mb;                  /* for the report only */
	long long cgroup_memory_bytes;  /* SANDBOX_CGROUP_MEMORY: > 0 */
	long cgroup_pids_max;           /* SANDBOX_CGROUP_PIDS: > 0 */
	struct sandbox_report *report;  /* optional copy of the report, also on failure */
};

struct sandbox_proc {
	pid_t pid;              /* in the caller's PID namespace */
	int pidfd;              /* readable once the child exits; -1 if unsupported */
	enum sandbox_kill_mode mode;
	long cpu_seconds;       /* the limit it ran under, for sandbox_status */
	bool reaped;
	int wstatus;
	struct rusage ru;
	struct cgroup *cg;      /* NULL without cgroups */
	long oom_kills;         /* memory-cgroup OOM kills, final once reaped */
	struct sandbox_report report;
};

struct sandbox_status {
	bool exited;            /* normal exit: code is valid */
	int code;
	int signal;             /* terminating signal, 0 if exited */
	bool cpu_limit;         /* SIGXCPU, or SIGKILL with CPU time at the limit
				   (the caller knows whether it sent SIGKILL itself) */
	bool seccomp_kill;      /* SIGSYS: killed by the syscall filter */
	long oom_kills;         /* memory-cgroup OOM kills in the tree */
	uint64_t user_ns, sys_ns;   /* the child and its reaped descendants */
	long max_rss_kb;
};

/*
 * Returns once exec has succeeded: 0 with *p filled, -ENOTSUP when a
 * mandatory control could not be applied (p->report says which), or -errno
 * from clone(), from a setup step or from execve() in the child (e.g.
 * -ENOENT, -EACCES, -ENOEXEC, -EAGAIN when the sandbox uid is over its
 * process limit).
 */
int sandbox_spawn(const struct sandbox_spec *s, struct sandbox_proc *p);

/* Terminated (zombie or reaped)?  Never reaps, so the pid stays pinned. */
bool sandbox_exited(struct sandbox_proc *p);
/* SIGCONT + SIGKILL to the whole tree; does not reap.  No-op once reaped. */
void sandbox_kill(struct sandbox_proc *p);
/* Blocking wait for the child (only), then closes the pidfd and removes the
 * cgroup (killing any member left).  Idempotent. */
void sandbox_reap(struct sandbox_proc *p);
/* -EBUSY until reaped. */
int sandbox_status(const struct sandbox_proc *p, struct sandbox_status *out);
/* Memory-cgroup OOM kills so far (live until reaped). */
long sandbox_oom_kills(const struct sandbox_proc *p);

const char *sandbox_kill_mode_name(enum sandbox_kill_mode m); /* "pid_namespace"|"process_group" */

#endif
