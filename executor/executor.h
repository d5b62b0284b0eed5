/*
 * executor.h — runs executor/harness.py in the sandbox (sandbox.h, SPEC §9)
 * and carries the line protocol (protocol in harness.py's docstring; JSON
 * handling is in proto.h).  The correctness gate, /validate and the trials
 * all start their harness here, with the same sandbox: a candidate cannot
 * tell a measured run from a checked one by its surroundings (only the CPU
 * it is pinned to differs).
 *
 * The child:
 *   python -S -s -B <harness> --max-message-bytes N
 *   -S: no site module, so no .pth file runs code at start-up and sys.path is
 *       the standard library only (json included; third-party packages are not
 *       importable).  -s: no user site.  -B: no .pyc writes.
 *   -I is NOT used: it implies -E, which would drop PYTHONHASHSEED=0, and with
 *   the hash seed random a candidate returning list(set_of_strings) could pass
 *   validation in one process and fail in the trial process.  The environment
 *   is built from scratch (PATH=/usr/bin:/bin, LANG=C.UTF-8,
 *   PYTHONDONTWRITEBYTECODE=1, PYTHONHASHSEED=0, HOME=TMPDIR=<private dir>), so
 *   -E would protect nothing; harness.py drops its own directory from sys.path.
 *
 * The sandbox: every control of sandbox.h is attempted unless disabled; the
 * ones named in sandbox_mandatory must apply or harness_spawn fails with
 * ENOTSUP (the report says which and why).  With the mount namespace the
 * harness sees the rootfs.h view: itself at ROOTFS_HARNESS, a private tmpfs
 * /tmp (sandbox_tmpfs_mb) as working directory, HOME and TMPDIR, and nothing
 * of the service.  Without it, a fresh private directory under tmp_parent is
 * the working directory.  Other limits: CPU affinity, rlimits, a memory
 * cgroup of memory_limit_mb + 2 × sandbox_tmpfs_mb + 32 MiB (tmpfs pages are
 * charged to it) and a pids cgroup of max(8, max_processes / 2) tasks (so one
 * sandbox cannot use up the uid's whole RLIMIT_NPROC and starve a concurrent
 * one).  stdin is /dev/null, stdout/stderr go into capped buffers, commands
 * arrive on fd 3, replies leave on fd 4, no other fd is inherited.
 *
 * The protocol channels are socketpairs used one way each (fd 3 read-only, fd 4
 * write-only, like pipes): send(MSG_NOSIGNAL) turns a dead harness into -EPIPE
 * instead of a process-wide SIGPIPE in the worker.
 *
 * Killing: see sandbox.h.  The harness is init of its own PID namespace when
 * the kernel allows it (the whole tree dies with it, setsid() escapees
 * included); otherwise its process group plus a /proc descendant sweep; the
 * cgroup catches the rest in both cases.  harness_kill_mode() says which is in
 * force.  A harness that exits on its own is handled the same way: whatever
 * it left behind is killed before reaping.  A memory-cgroup OOM kill anywhere
 * in the tree ends the harness at once (harness_recv reports -EPIPE; the exit
 * status says SIGKILL, oom_kill, not killed_by_us).
 *
 * Errors: 0 or -errno; harness_spawn returns NULL with errno set.
 * Ownership: a struct harness owns its child, fds, buffers and private temp
 * directory; harness_free() releases everything.
 * Thread safety: a harness belongs to one thread at a time; different harnesses
 * may be used from different threads concurrently.  Nothing here waits on any
 * pid but the harness's own (never waitpid(-1)), and every fd is O_CLOEXEC, so
 * concurrent spawns from other threads do not interfere.  The parent-death
 * signal is tied to the spawning thread: that thread must outlive the harness
 * (if it exits, the harness is SIGKILLed).
 */
#ifndef JT_EXECUTOR_H
#define JT_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cpuset.h"
#include "sandbox.h"

/* 0 in a limit field = leave the inherited value. */
struct exec_options {
	const char *python;        /* interpreter path, e.g. "/usr/bin/python3" */
	const char *harness_path;  /* harness.py; relative paths resolve against the cwd */
	struct cpuset cpus;        /* affinity set before exec; empty = inherit */
	long memory_limit_mb;      /* RLIMIT_AS */
	long cpu_seconds;          /* RLIMIT_CPU soft; hard = soft + 1 */
	long max_processes;        /* RLIMIT_NPROC */
	long max_file_bytes;       /* RLIMIT_FSIZE */
	long max_open_files;       /* RLIMIT_NOFILE; >= 8 (fds 0-4 and a few more) */
	size_t max_output_bytes;   /* cap on each of stdout and stderr; 0 = 1 MiB */
	size_t max_message_bytes;  /* cap on one protocol line; 0 = 64 MiB */
	const char *tmp_parent;    /* private temp dir goes here; NULL = "/tmp" */
	int send_timeout_ms;       /* harness_send gives up after this; 0 = 10000 */

	/* Sandbox (sandbox.h): every control is attempted unless disabled. */
	const char *sandbox_user;  /* NULL = EXEC_SANDBOX_USER; "" = keep the caller's uid */
	const char *sandbox_mandatory; /* comma list of controls; NULL or "" = none */
	long sandbox_tmpfs_mb;     /* size of /tmp and of /dev/shm, each; 0 = 64 */
	unsigned sandbox_disable;  /* SANDBOX_BIT()s not to attempt (tests, policy) */
	struct sandbox_report *report; /* optional: what was applied, also when spawn fails */
};

#define EXEC_SANDBOX_USER "jouletrace-sbx"

struct harness;

/*
 * Creates the private temp dir, starts the harness and returns once exec has
 * succeeded.  NULL + errno (ENOENT for a missing python, harness or tmp_parent,
 * EINVAL for bad limits or an unknown control name in sandbox_mandatory,
 * ENOTSUP when a mandatory control could not be applied — o->report says
 * which and why —, EAGAIN when the sandbox uid is over its process limit,
 * the exec or setup errno otherwise).  RLIMIT_CORE is always 0.
 */
struct harness *harness_spawn(const struct exec_options *o);

/*
 * Writes one line (a '\n' is appended when missing), draining stdout/stderr
 * while the command channel is full.  -EPIPE if the harness is gone,
 * -ETIMEDOUT after send_timeout_ms (the harness is then killed: the protocol
 * state is unknown), -EMSGSIZE for a line over max_message_bytes, -EINVAL for
 * an embedded '\n'.
 */
int harness_send(struct harness *h, const char *line, size_t len);

/*
 * Waits for one reply line until deadline_ns (CLOCK_MONOTONIC, absolute;
 * UINT64_MAX = no deadline), draining stdout/stderr into the capped buffers and
 * calling poll_cb(cb_ctx) every poll_ms (poll_cb may be NULL; poll_ms <= 0 means
 * 100).  Returns 0 with *line malloc'd (NUL-terminated, no '\n'; caller frees),
 * -ETIMEDOUT or -ECANCELED (poll_cb returned nonzero) with the harness left
 * running, -EPIPE when the harness has exited (reaped; see
 * harness_exit_status), -EMSGSIZE when a line exceeds max_message_bytes (the
 * harness is killed), -EPROTO for a line holding a NUL byte (dropped; the
 * harness writes ASCII JSON, so only candidate code can have sent it).  A reply
 * written just before exiting is still returned; the following call reports
 * -EPIPE.
 */
int harness_recv(struct harness *h, uint64_t deadline_ns, int poll_ms,
		 int (*poll_cb)(void *), void *cb_ctx, char **line);

/* Writes "go\n" with one send(2): the hot edge of the energy window. */
int harness_go(struct harness *h);

/*
 * Sends {"cmd":"exit"} (unless already gone) and waits for the harness to exit
 * until deadline_ns; kills it when the deadline passes.  0 when it exited by
 * itself, -ETIMEDOUT when it had to be killed.
 */
int harness_close(struct harness *h, uint64_t deadline_ns);

/* The harness's pid in the caller's PID namespace; -1 once reaped. */
pid_t harness_pid(const struct harness *h);
/* Which tree-kill mechanism is in force, and its name for reports. */
enum sandbox_kill_mode harness_kill_mode(const struct harness *h);
const char *harness_kill_mode_name(enum sandbox_kill_mode m); /* "pid_namespace"|"process_group" */
/* The child's working directory as the caller can reach it: the private
 * directory, or /proc/<pid>/root/tmp inside the mount namespace (valid while
 * the harness runs). */
const char *harness_tmpdir(const struct harness *h);
/* What the sandbox applied (sandbox_report_json() makes it a JSON object). */
const struct sandbox_report *harness_sandbox(const struct harness *h);

/* Kills the whole tree (SIGCONT + SIGKILL), reaps; idempotent. */
void harness_kill(struct harness *h);

struct harness_exit {
	bool exited;        /* normal exit: code is valid */
	int code;
	int signal;         /* terminating signal, 0 if exited */
	bool killed_by_us;  /* harness_kill (or a protocol failure) ended it */
	bool cpu_limit;     /* SIGXCPU, or a SIGKILL not ours with CPU time at the limit */
	bool seccomp_kill;  /* SIGSYS: a forbidden system call (error_type sandbox_violation) */
	bool oom_kill;      /* the memory cgroup's OOM killer struck in the tree */
	uint64_t user_ns, sys_ns;   /* CPU time of the harness and its reaped children */
	long max_rss_kb;
};
/* 0 with *out filled once the harness has been reaped; -EBUSY while it runs. */
int harness_exit_status(struct harness *h, struct harness_exit *out);

/* Captured output (NUL-terminated, never NULL; valid until the next call on h):
 * stdout keeps its first max_output_bytes, stderr its last. */
const char *harness_stdout(const struct harness *h, size_t *len);
const char *harness_stderr(const struct harness *h, size_t *len);
/* Bytes read from stdout+stderr but not kept. */
size_t harness_output_dropped(const struct harness *h);

/* Kills if alive, closes everything, removes the temp dir, frees.  NULL ok. */
void harness_free(struct harness *h);

/*
 * Any command in the candidates' sandbox (jouletrace-run --sandbox): the same
 * set-up as harness_spawn (controls, sandbox_mandatory, sandbox user, rootfs
 * view without a harness file, rlimits, cgroups, CPU affinity, private temp
 * directory), but the command inherits the caller's fds 0-2 (nothing else)
 * and its environment is PATH=/usr/bin:/bin, LANG=C.UTF-8 and HOME=TMPDIR=
 * the private directory (/tmp inside the view).  o->python, harness_path,
 * max_output_bytes, max_message_bytes and send_timeout_ms are not used.
 */
struct exec_command {
	struct sandbox_proc proc;  /* sandbox_exited/_kill/_reap/_status on it */
	char *tmpdir;              /* the private directory (owned) */
};

/*
 * Starts argv (argv[0] containing '/' is resolved with realpath, a bare name
 * in /usr/bin then /bin; with the mount namespace it must lie under /usr,
 * /bin, /sbin or /lib*) and returns once exec has succeeded.  0, or -errno
 * with why set and nothing left running: -ENOTSUP when a mandatory control
 * is missing (why lists them), -EINVAL for bad options or sandbox_mandatory,
 * -ENOENT/-EACCES/... when the command cannot be executed.  On success the
 * caller ends with executor_command_free() (after sandbox_reap, or it kills).
 * Same thread rules as harness_spawn.
 */
int executor_spawn_command(const struct exec_options *o, char *const argv[],
			   struct exec_command *c, char *why, size_t whylen);

/* Kills and reaps the command if still unreaped, removes the private
 * directory.  c->proc stays readable (sandbox_status).  Idempotent; NULL ok. */
void executor_command_free(struct exec_command *c);

#endif
