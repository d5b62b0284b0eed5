/*
 * cgroup.h — one sandbox's control groups: a memory limit, a task limit, and a
 * membership list that no process can leave by its own means (setsid,
 * reparenting, stopping itself), so the whole tree can be killed and the kill
 * verified.
 *
 * Placement: beneath the caller's own cgroup in each hierarchy, so a limit the
 * host put on the worker still covers its sandboxes:
 * <own cgroup>/jouletrace/<16 random hex digits>.
 * * cgroup v1 (one hierarchy per controller): memory.limit_in_bytes (and
 *   memory.memsw.limit_in_bytes when swap is accounted), pids.max.
 * * cgroup v2: memory.max (memory.swap.max 0), pids.max, when those
 *   controllers can be enabled below the worker's cgroup (it must be delegated
 *   and hold no process itself: systemd Delegate=yes with the worker in a
 *   leaf).  Membership and cgroup.kill work without any controller.
 * A v1 controller is preferred over v2 for the same resource (hybrid hosts).
 *
 * Killing reads the member list and signals through pidfds after checking
 * /proc/PID/cgroup, so a pid that was recycled between the read and the kill
 * is never hit; v2's cgroup.kill is used when the kernel has it.
 *
 * Errors: 0 or -errno; cgroup_create returns NULL with errno set and, in both
 * cases, *st saying what applies and why not.  cgroup_enter is the exception:
 * it runs in a cloned child and returns a positive errno.
 * Ownership: a struct cgroup owns its directories and fds; cgroup_destroy()
 * kills what is left, removes the directories and frees.
 * Thread safety: a struct cgroup belongs to one thread at a time; distinct
 * groups may be created concurrently (random names; the shared "jouletrace"
 * parent is created idempotently).  Every fd is O_CLOEXEC.
 */
#ifndef JT_CGROUP_H
#define JT_CGROUP_H

#include <stdbool.h>
#include <stdint.h>

struct cgroup;

struct cgroup_limits {
	long long memory_bytes;  /* 0 = no memory limit */
	long pids_max;           /* 0 = no task limit */
};

struct cgroup_status {
	bool memory;             /* memory limit in force */
	bool pids;               /* task limit in force */
	bool member;             /* membership (tree kill) in force */
	char memory_why[160];    /* why not, when asked for and not in force */
	char pids_why[160];
};

/* Creates the group(s).  NULL + errno when no hierarchy is usable at all. */
struct cgroup *cgroup_create(const struct cgroup_limits *l, struct cgroup_status *st);

/* Child side (after clone, before exec; async-signal-safe): moves the calling
 * process into every hierarchy.  0 or a positive errno. */
int cgroup_enter(const struct cgroup *cg);

/* Tasks in the group (any hierarchy), or -errno. */
int cgroup_count(const struct cgroup *cg);

/* SIGCONT + SIGKILL to every member until the group is empty: 0, or -EBUSY
 * when members remain after timeout_ns. */
int cgroup_kill_all(struct cgroup *cg, uint64_t timeout_ns);

/* Memory-limit OOM kills so far (0 without a memory limit). */
long cgroup_oom_kills(const struct cgroup *cg);

/* A member directory for tests and logs ("" when none). */
const char *cgroup_dir(const struct cgroup *cg);

/* Kills what is left, removes the directories, frees.  NULL is fine. */
void cgroup_destroy(struct cgroup *cg);

#endif
