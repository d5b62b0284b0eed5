/* sandbox.c — see sandbox.h. */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "rootfs.h"
#include "syscall_filter.h"
#include "util.h"

#define CHILD_STACK_BYTES (256 * 1024)
#define SWEEP_MAX         4096   /* processes one sweep can hold */
#define SWEEP_ROUNDS      64
#define NLIMITS           6
#define HIGHEST_CAP       63     /* PR_CAPBSET_DROP says EINVAL past the kernel's last */
#define SANDBOX_HOSTNAME  "sandbox"
#define CG_BITS (SANDBOX_BIT(SANDBOX_CGROUP_MEMORY) | SANDBOX_BIT(SANDBOX_CGROUP_PIDS))

/* Namespaces clone() refused are given up in this order (least useful first). */
static const struct { int control; int flag; } ns_order[] = {
	{ SANDBOX_NETNS, CLONE_NEWNET }, { SANDBOX_IPCNS, CLONE_NEWIPC },
	{ SANDBOX_UTSNS, CLONE_NEWUTS }, { SANDBOX_MOUNTNS, CLONE_NEWNS },
	{ SANDBOX_PIDNS, CLONE_NEWPID },
};
#define N_NS (sizeof ns_order / sizeof ns_order[0])

/* A setup step that failed in the child, sent to the parent through a pipe.
 * step points into memory the parent shares (static strings, the plan). */
struct child_fail {
	int err;
	int control;            /* enum sandbox_control, or -1: not a control */
	const char *step;
};

/* Prepared before clone(): afterwards only async-signal-safe calls are
 * allowed, because the parent is multi-threaded. */
struct child_args {
	const struct sandbox_spec *spec;
	int err_fd;             /* carries a struct child_fail back to the parent */
	unsigned want;          /* controls of this attempt */
	const struct cgroup *cg;
	int cg_control;         /* blamed when entering the cgroup fails */
	const struct syscall_filter *filter;
	bool set_cpus;
	cpu_set_t cpus;
	struct { int res; struct rlimit rl; bool set; } lim[NLIMITS];
};

/* ---- names and reports ------------------------------------------------------ */

int sandbox_report_missing(const struct sandbox_report *r, unsigned mask, char *buf, size_t cap)
{
	size_t len = 0;
	int n = 0;
	/* A refused spawn applied nothing; what it lacked is what it could not want. */
	unsigned have = r->refused ? r->wanted : r->applied;
	if (cap)
		buf[0] = '\0';
	for (int c = 0; c < SANDBOX_NCONTROLS; c++) {
		if (!(mask & SANDBOX_BIT(c)) || (have & SANDBOX_BIT(c)))
			continue;
		n++;
		if (len < cap) {
			int k = snprintf(buf + len, cap - len, "%s%s: %s", len ? "; " : "",
					 sandbox_control_name(c), r->why[c][0] ? r->why[c] : "not applied");
			len = k < 0 ? cap : len + (size_t)k;
		}
	}
	return n;
}

json_t *sandbox_report_json(const struct sandbox_report *r)
{
	json_t *on = json_array(), *off = json_array(), *why = json_object(), *must = json_array();
	for (int c = 0; on && off && why && must && c < SANDBOX_NCONTROLS; c++) {
		json_t *name = json_string(sandbox_control_name(c));
		if (r->applied & SANDBOX_BIT(c)) {
			json_array_append(on, name);
		} else {
			json_array_append(off, name);
			json_object_set_new(why, sandbox_control_name(c),
					    json_string(r->why[c][0] ? r->why[c] : "not applied"));
		}
		if (r->mandatory & SANDBOX_BIT(c))
			json_array_append(must, name);
		json_decref(name);
	}
	const struct sandbox_limits *l = &r->limits;
	bool mem = r->applied & SANDBOX_BIT(SANDBOX_CGROUP_MEMORY);
	bool pids = r->applied & SANDBOX_BIT(SANDBOX_CGROUP_PIDS);
	bool jail = r->applied & SANDBOX_BIT(SANDBOX_MOUNTNS);
	return json_pack("{s:s, s:I, s:I, s:o*, s:o*, s:o*, s:o*, s:{s:I, s:I, s:I, s:I, s:I, s:i,"
			 " s:o, s:o, s:o}}",
		"kill_mode", sandbox_kill_mode_name(r->kill_mode),
		"uid", (json_int_t)r->uid, "gid", (json_int_t)r->gid,
		"enforced", on, "not_enforced", off, "reasons", why, "mandatory", must,
		"limits", "address_space_mb", (json_int_t)l->memory_limit_mb,
		"cpu_seconds", (json_int_t)l->cpu_seconds,
		"processes_per_uid", (json_int_t)l->max_processes,
		"file_bytes", (json_int_t)l->max_file_bytes,
		"open_files", (json_int_t)l->max_open_files, "core_bytes", 0,
		"cgroup_memory_bytes", mem ? json_integer(r->cgroup_memory_bytes) : json_null(),
		"cgroup_pids_max", pids ? json_integer(r->cgroup_pids_max) : json_null(),
		"tmpfs_mb", jail ? json_integer(r->tmpfs_mb) : json_null());
}

static void drop(struct sandbox_report *r, int c, const char *why)
{
	r->wanted &= ~SANDBOX_BIT(c);
	snprintf(r->why[c], sizeof r->why[c], "%s", why);
}

static bool mandatory_missing(const struct sandbox_report *r)
{
	return (r->mandatory & ~r->wanted) != 0;
}

static void report_init(const struct sandbox_spec *s, struct sandbox_report *r)
{
	memset(r, 0, sizeof *r);
	r->mandatory = s->mandatory & SANDBOX_ALL;
	r->limits = s->limits;
	r->cgroup_memory_bytes = s->cgroup_memory_bytes;
	r->cgroup_pids_max = s->cgroup_pids_max;
	r->tmpfs_mb = s->tmpfs_mb;
	for (int c = 0; c < SANDBOX_NCONTROLS; c++) {
		if (!(s->want & SANDBOX_BIT(c)))
			snprintf(r->why[c], sizeof r->why[c], "not requested");
		else if (s->unavailable[c])
			snprintf(r->why[c], sizeof r->why[c], "%s", s->unavailable[c]);
		else
			r->wanted |= SANDBOX_BIT(c);
	}
	if ((r->wanted & SANDBOX_BIT(SANDBOX_MOUNTNS)) && !s->rootfs)
		drop(r, SANDBOX_MOUNTNS, "no root filesystem plan");
	if ((r->wanted & SANDBOX_BIT(SANDBOX_CGROUP_MEMORY)) && s->cgroup_memory_bytes <= 0)
		drop(r, SANDBOX_CGROUP_MEMORY, "no memory limit given");
	if ((r->wanted & SANDBOX_BIT(SANDBOX_CGROUP_PIDS)) && s->cgroup_pids_max <= 0)
		drop(r, SANDBOX_CGROUP_PIDS, "no task limit given");
}

/* ---- child side ------------------------------------------------------------ */

static void close_from(int lo, int skip)
{
	/* close_range is one syscall; the loop is for kernels before 5.9. */
	if (skip > lo && syscall(SYS_close_range, (unsigned)lo, (unsigned)skip - 1, 0u) == 0 &&
	    syscall(SYS_close_range, (unsigned)skip + 1, ~0u, 0u) == 0)
		return;
	struct rlimit rl;
	int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ?
		  (int)rl.rlim_cur : 65536;
	for (int fd = lo; fd < max; fd++)
		if (fd != skip)
			close(fd);
}

/* Best effort: a loopback that is down isolates just as well. */
static void loopback_up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
}

/* Empties the bounding and ambient sets.  Without CAP_SETPCAP (a worker that
 * is not root) there is nothing to drop: exec under no_new_privs grants none. */
static int drop_caps(void)
{
	for (int c = 0; c <= HIGHEST_CAP; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) {
			if (errno == EINVAL)
				break;
			if (errno == EPERM && geteuid() != 0)
				break;
			return -1;
		}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return -1;
	return 0;
}

#define FAIL(ctl, what) \
	do { f->err = errno ? errno : EIO; f->control = (ctl); f->step = (what); return -1; } while (0)
#define FAIL_E(e, ctl, what) \
	do { f->err = (e); f->control = (ctl); f->step = (what); return -1; } while (0)

/*
 * The one place between clone and exec (order: sandbox.h).  Returns 0, or
 * -1 with *f saying which step failed and which control it belongs to.
 */
static int child_setup(const struct child_args *a, int *err_fd, struct child_fail *f)
{
	const struct sandbox_spec *s = a->spec;
	unsigned w = a->want;
	bool jail = w & SANDBOX_BIT(SANDBOX_MOUNTNS);
	int e;

	/* SIG_IGN dispositions and the signal mask survive exec: reset both. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || setpgid(0, 0) != 0)
		FAIL(-1, "parent-death signal / process group");
	/* Orphans stay our descendants, so the /proc sweep can find them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		FAIL(-1, "PR_SET_CHILD_SUBREAPER");
	if (a->cg && (e = cgroup_enter(a->cg)) != 0)
		FAIL_E(e, a->cg_control, "enter the cgroup");

	/* A source may already sit on a target number: lift all first. */
	int hi[SANDBOX_MAX_FDS], efd = fcntl(*err_fd, F_DUPFD_CLOEXEC, 16);
	if (efd < 0)
		FAIL(-1, "fd layout");
	*err_fd = efd;
	for (int i = 0; i < s->nfds; i++)
		if ((hi[i] = fcntl(s->fds[i], F_DUPFD_CLOEXEC, 16)) < 0)
			FAIL(-1, "fd layout");
	for (int i = 0; i < s->nfds; i++)
		if (dup2(hi[i], i) < 0)
			FAIL(-1, "fd layout");
	close_from(s->nfds, efd);

	if (a->set_cpus && sched_setaffinity(0, sizeof a->cpus, &a->cpus) != 0)
		FAIL(-1, "sched_setaffinity");
	const char *step = NULL;
	if (jail && (e = rootfs_enter(s->rootfs, &step)) != 0)
		FAIL_E(e, SANDBOX_MOUNTNS, step);
	if ((w & SANDBOX_BIT(SANDBOX_UTSNS)) &&
	    sethostname(SANDBOX_HOSTNAME, sizeof SANDBOX_HOSTNAME - 1) != 0)
		FAIL(SANDBOX_UTSNS, "sethostname");
	if (w & SANDBOX_BIT(SANDBOX_NETNS))
		loopback_up();
	if (w & SANDBOX_BIT(SANDBOX_RLIMITS))
		for (int i = 0; i < NLIMITS; i++)
			if (a->lim[i].set && setrlimit(a->lim[i].res, &a->lim[i].rl) != 0)
				FAIL(SANDBOX_RLIMITS, "setrlimit");
	/* Needs CAP_SETPCAP: before the uid switch drops it. */
	if ((w & SANDBOX_BIT(SANDBOX_CAPS)) && drop_caps() != 0)
		FAIL(SANDBOX_CAPS, "PR_CAPBSET_DROP");
	if (w & SANDBOX_BIT(SANDBOX_UID)) {
		/* Raw system calls: the libc wrappers would try to change the
		 * credentials of every thread the parent had, and wait for
		 * threads that do not exist in this copy. */
		if (syscall(SYS_setgroups, 0, NULL) != 0)
			FAIL(SANDBOX_UID, "setgroups");
		if (syscall(SYS_setresgid, s->gid, s->gid, s->gid) != 0)
			FAIL(SANDBOX_UID, "setresgid");
		if (syscall(SYS_setresuid, s->uid, s->uid, s->uid) != 0)
			FAIL(SANDBOX_UID, "setresuid");
		/* A credential change cleared the parent-death signal. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
			FAIL(-1, "parent-death signal");
	}
	if (chdir(jail && s->jail_cwd ? s->jail_cwd : s->cwd) != 0)
		FAIL(-1, "chdir");
	if ((w & SANDBOX_BIT(SANDBOX_NO_NEW_PRIVS)) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		FAIL(SANDBOX_NO_NEW_PRIVS, "PR_SET_NO_NEW_PRIVS");
	/* Last: from here on every call the child makes is filtered. */
	if ((w & SANDBOX_BIT(SANDBOX_SECCOMP)) && (e = syscall_filter_install(a->filter)) != 0)
		FAIL_E(e, SANDBOX_SECCOMP, "install the seccomp filter");
	return 0;
}

static int child_main(void *arg)
{
	const struct child_args *a = arg;
	const struct sandbox_spec *s = a->spec;
	int efd = a->err_fd;
	struct child_fail f = { 0, -1, NULL };
	if (child_setup(a, &efd, &f) == 0) {
		bool jail = a->want & SANDBOX_BIT(SANDBOX_MOUNTNS);
		execve(s->exe, jail && s->jail_argv ? s->jail_argv : s->argv,
		       jail && s->jail_envp ? s->jail_envp : s->envp);
		f.err = errno;
		f.control = -1;
		f.step = "execve";
	}
	ssize_t n = write(efd, &f, sizeof f);
	(void)n;
	_exit(127);
}

/* ---- parent side ----------------------------------------------------------- */

static void set_limit(struct child_args *a, int i, int res, long v, long hard_extra)
{
	a->lim[i].res = res;
	a->lim[i].set = v > 0 || res == RLIMIT_CORE;
	a->lim[i].rl.rlim_cur = v > 0 ? (rlim_t)v : 0;
	a->lim[i].rl.rlim_max = v > 0 ? (rlim_t)v + (rlim_t)hard_extra : 0;
}

static void wait_child(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static void make_cgroup(const struct sandbox_spec *s, struct sandbox_proc *p)
{
	struct sandbox_report *r = &p->report;
	struct cgroup_limits cl = {
		.memory_bytes = r->wanted & SANDBOX_BIT(SANDBOX_CGROUP_MEMORY) ? s->cgroup_memory_bytes : 0,
		.pids_max = r->wanted & SANDBOX_BIT(SANDBOX_CGROUP_PIDS) ? s->cgroup_pids_max : 0,
	};
	struct cgroup_status st;
	p->cg = cgroup_create(&cl, &st);
	if (cl.memory_bytes && !st.memory)
		drop(r, SANDBOX_CGROUP_MEMORY, st.memory_why);
	if (cl.pids_max && !st.pids)
		drop(r, SANDBOX_CGROUP_PIDS, st.pids_why);
}

/* One clone; 0 with *pid, or -errno.  *f is set when the child reported a
 * failed step (then it has been reaped). */
static int attempt(struct child_args *a, char *stack, struct child_fail *f, bool *child_failed,
		   pid_t *pid)
{
	int ep[2], flags = SIGCHLD;
	*child_failed = false;
	for (size_t i = 0; i < N_NS; i++)
		if (a->want & SANDBOX_BIT(ns_order[i].control))
			flags |= ns_order[i].flag;
	if (pipe2(ep, O_CLOEXEC) != 0)
		return -errno;
	a->err_fd = ep[1];
	/* No CLONE_VM: the child runs on a copy-on-write copy, as after fork(). */
	*pid = clone(child_main, stack + CHILD_STACK_BYTES, flags, a);
	int e = *pid < 0 ? -errno : 0;
	close(ep[1]);
	if (e) {
		close(ep[0]);
		return e;
	}
	/* From this side too, so the group exists before we could signal it. */
	setpgid(*pid, *pid);
	ssize_t n;
	do
		n = read(ep[0], f, sizeof *f);
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n == 0)
		return 0;
	wait_child(*pid);
	*pid = -1;
	if (n != (ssize_t)sizeof *f)
		return -EIO;
	*child_failed = true;
	return 0;
}

static bool spec_valid(const struct sandbox_spec *s)
{
	const struct sandbox_limits *l = &s->limits;
	return s->exe && s->argv && s->envp && s->cwd && s->nfds >= 3 &&
	       s->nfds <= SANDBOX_MAX_FDS && l->memory_limit_mb >= 0 && l->cpu_seconds >= 0 &&
	       l->max_processes >= 0 && l->max_file_bytes >= 0 && l->max_open_files >= 0 &&
	       !(l->max_open_files > 0 && l->max_open_files < s->nfds + 3) &&
	       l->memory_limit_mb <= (1L << 40);
}

static void child_args_init(struct child_args *a, const struct sandbox_spec *s,
			    const struct syscall_filter *filter)
{
	const struct sandbox_limits *l = &s->limits;
	memset(a, 0, sizeof *a);
	a->spec = s;
	a->filter = filter;
	a->set_cpus = cpuset_count(&s->cpus) > 0;
	if (a->set_cpus)
		cpuset_to_cpu_set(&s->cpus, &a->cpus);
	set_limit(a, 0, RLIMIT_AS, l->memory_limit_mb << 20, 0);
	set_limit(a, 1, RLIMIT_CPU, l->cpu_seconds, 1);
	set_limit(a, 2, RLIMIT_NPROC, l->max_processes, 0);
	set_limit(a, 3, RLIMIT_FSIZE, l->max_file_bytes, 0);
	set_limit(a, 4, RLIMIT_NOFILE, l->max_open_files, 0);
	set_limit(a, 5, RLIMIT_CORE, 0, 0);
}

/* clone() refused the namespaces asked for: drop the first of them and say
 * whether there was one to drop. */
static bool drop_refused_ns(struct sandbox_report *r, unsigned want, int e)
{
	char why[192];
	size_t i = 0;
	while (i < N_NS && !(want & SANDBOX_BIT(ns_order[i].control)))
		i++;
	if (i == N_NS || !(e == -EPERM || e == -EINVAL || e == -ENOSPC || e == -EUSERS))
		return false;
	snprintf(why, sizeof why, "clone() refused new namespaces: %s", strerror(-e));
	log_debug("sandbox: %s; trying without %s", why, sandbox_control_name(ns_order[i].control));
	drop(r, ns_order[i].control, why);
	return true;
}

/* The child said which control it could not apply: drop that control (both
 * cgroup controls together, since they share the group) and return -EAGAIN,
 * or the error when the failure is not one a control explains. */
static int drop_failed_control(struct sandbox_proc *p, const struct child_fail *f)
{
	struct sandbox_report *r = &p->report;
	char why[192];
	if (f->control < 0 || f->control >= SANDBOX_NCONTROLS) {
		log_debug("sandbox: child setup failed at %s: %s", f->step ? f->step : "?",
			  strerror(f->err));
		return -(f->err ? f->err : EIO);
	}
	snprintf(why, sizeof why, "%s: %s", f->step ? f->step : "setup", strerror(f->err));
	if (f->control == SANDBOX_CGROUP_MEMORY || f->control == SANDBOX_CGROUP_PIDS) {
		for (int c = SANDBOX_CGROUP_MEMORY; c <= SANDBOX_CGROUP_PIDS; c++)
			if (r->wanted & SANDBOX_BIT(c))
				drop(r, c, why);
		cgroup_destroy(p->cg);
		p->cg = NULL;
	} else {
		drop(r, f->control, why);
	}
	log_debug("sandbox: %s not applied (%s)", sandbox_control_name(f->control), why);
	return -EAGAIN;   /* only if the tries run out */
}

/* Start the child with every control still wanted; each failed attempt
 * removes one control, so this ends. */
static int launch(struct child_args *a, char *stack, struct sandbox_proc *p)
{
	struct sandbox_report *r = &p->report;
	int e = 0;
	for (int tries = 0; tries <= SANDBOX_NCONTROLS + 1; tries++) {
		struct child_fail f = { 0, -1, NULL };
		bool failed;
		if (mandatory_missing(r))
			return -ENOTSUP;
		a->want = r->wanted;
		a->cg = a->want & CG_BITS ? p->cg : NULL;
		a->cg_control = a->want & SANDBOX_BIT(SANDBOX_CGROUP_MEMORY) ? SANDBOX_CGROUP_MEMORY
									      : SANDBOX_CGROUP_PIDS;
		e = attempt(a, stack, &f, &failed, &p->pid);
		if (e && drop_refused_ns(r, a->want, e)) {
			e = 0;
			continue;
		}
		if (e || !failed)
			return e;
		if ((e = drop_failed_control(p, &f)) != -EAGAIN)
			return e;
	}
	return e ? e : -EAGAIN;
}

int sandbox_spawn(const struct sandbox_spec *s, struct sandbox_proc *p)
{
	const struct sandbox_limits *l = &s->limits;
	struct sandbox_report *r = &p->report;
	struct syscall_filter filter = { 0 };
	struct child_args a;
	char why[192], *stack = NULL;
	int e = 0;

	memset(p, 0, sizeof *p);
	p->pid = -1;
	p->pidfd = -1;
	report_init(s, r);
	if (!spec_valid(s)) {
		e = -EINVAL;
		goto out;
	}
	if ((r->wanted & SANDBOX_BIT(SANDBOX_SECCOMP)) &&
	    syscall_filter_build(&filter, why, sizeof why) != 0)
		drop(r, SANDBOX_SECCOMP, why);
	if (r->wanted & CG_BITS)
		make_cgroup(s, p);
	child_args_init(&a, s, &filter);
	if (!(stack = malloc(CHILD_STACK_BYTES))) {
		e = -ENOMEM;
		goto out;
	}
	if ((e = launch(&a, stack, p)))
		goto out;
	r->applied = r->wanted;
	if (!(r->applied & CG_BITS)) {
		cgroup_destroy(p->cg);
		p->cg = NULL;
	}
	p->mode = r->applied & SANDBOX_BIT(SANDBOX_PIDNS) ? SANDBOX_KILL_PIDNS : SANDBOX_KILL_PGROUP;
	p->cpu_seconds = r->applied & SANDBOX_BIT(SANDBOX_RLIMITS) ? l->cpu_seconds : 0;
#ifdef SYS_pidfd_open
	p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);   /* O_CLOEXEC by default */
#endif
out:
	r->kill_mode = r->wanted & SANDBOX_BIT(SANDBOX_PIDNS) ? SANDBOX_KILL_PIDNS
							      : SANDBOX_KILL_PGROUP;
	r->uid = r->applied & SANDBOX_BIT(SANDBOX_UID) ? s->uid : getuid();
	r->gid = r->applied & SANDBOX_BIT(SANDBOX_UID) ? s->gid : getgid();
	if (e) {
		r->refused = e == -ENOTSUP;
		cgroup_destroy(p->cg);
		p->cg = NULL;
		p->pid = -1;
	}
	free(stack);
	syscall_filter_free(&filter);
	if (s->report)
		*s->report = *r;
	return e;
}

static void signal_child(struct sandbox_proc *p, int sig)
{
#ifdef SYS_pidfd_send_signal
	if (p->pidfd >= 0 && syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) == 0)
		return;
#endif
	kill(p->pid, sig);
}

bool sandbox_exited(struct sandbox_proc *p)
{
	if (p->reaped)
		return true;
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno == ECHILD;
	return si.si_pid == p->pid;
}

static bool parse_stat(pid_t pid, pid_t *ppid, pid_t *pgrp)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (util_read_line(path, buf, sizeof buf) != 0)
		return false;
	/* comm may hold spaces and parentheses: fields resume after the last ')'. */
	const char *q = strrchr(buf, ')');
	/* " S ppid pgrp": the state letter, then two numbers */
	if (!q || q[1] != ' ' || !q[2] || q[3] != ' ')
		return false;
	char *end;
	errno = 0;
	long pp = strtol(q + 4, &end, 10);
	if (errno || end == q + 4 || *end != ' ' || pp < 0 || pp > INT_MAX)
		return false;
	const char *g = end + 1;
	long pg = strtol(g, &end, 10);
	if (errno || end == g || pg < 0 || pg > INT_MAX)
		return false;
	*ppid = (pid_t)pp;
	*pgrp = (pid_t)pg;
	return true;
}

static bool in_set(const pid_t *set, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == pid)
			return true;
	return false;
}

/*
 * Process-group mode: stop the child, then repeatedly add (and stop) every
 * process whose parent is in the set or whose group is the child's, until a
 * round finds nothing new — stopped processes cannot fork, so this converges.
 * Then SIGKILL everything, and SIGCONT so nothing stays stopped.
 */
static void sweep_kill(struct sandbox_proc *p)
{
	pid_t *set = malloc(SWEEP_MAX * sizeof *set);
	size_t n = 0;
	if (set) {
		set[n++] = p->pid;
		kill(p->pid, SIGSTOP);
		for (int round = 0; round < SWEEP_ROUNDS; round++) {
			bool added = false;
			DIR *d = opendir("/proc");
			if (!d)
				break;
			struct dirent *de;
			while ((de = readdir(d)) != NULL && n < SWEEP_MAX) {
				char *end;
				long v = strtol(de->d_name, &end, 10);
				pid_t pid = (pid_t)v, ppid, pgrp;
				if (*end || v <= 0 || in_set(set, n, pid) ||
				    !parse_stat(pid, &ppid, &pgrp))
					continue;
				if (pgrp == p->pid || in_set(set, n, ppid)) {
					kill(pid, SIGSTOP);
					set[n++] = pid;
					added = true;
				}
			}
			closedir(d);
			if (!added)
				break;
		}
		for (size_t i = 0; i < n; i++) {
			kill(set[i], SIGKILL);
			kill(set[i], SIGCONT);
		}
		free(set);
	}
	kill(-p->pid, SIGKILL);
	kill(-p->pid, SIGCONT);
	signal_child(p, SIGKILL);
}

void sandbox_kill(struct sandbox_proc *p)
{
	/* Reaped means the pid may belong to someone else now. */
	if (p->reaped || p->pid <= 0)
		return;
	if (p->mode == SANDBOX_KILL_PIDNS) {
		/* The namespace's init dying takes every process inside with it. */
		kill(-p->pid, SIGCONT);
		signal_child(p, SIGKILL);
		kill(-p->pid, SIGKILL);
	} else {
		sweep_kill(p);
	}
}

void sandbox_reap(struct sandbox_proc *p)
{
	if (p->reaped || p->pid <= 0)
		return;
	int st = 0;
	pid_t r;
	do
		r = wait4(p->pid, &st, 0, &p->ru);
	while (r < 0 && errno == EINTR);
	p->wstatus = r == p->pid ? st : 0;
	p->reaped = true;
	if (p->pidfd >= 0) {
		close(p->pidfd);
		p->pidfd = -1;
	}
	/* Whatever escaped the PID namespace or the process group is still listed
	 * in the cgroup: it dies here, and the group must be empty to go. */
	if (p->cg) {
		p->oom_kills = cgroup_oom_kills(p->cg);
		cgroup_destroy(p->cg);
		p->cg = NULL;
	}
}

int sandbox_status(const struct sandbox_proc *p, struct sandbox_status *out)
{
	memset(out, 0, sizeof *out);
	if (!p->reaped)
		return -EBUSY;
	int st = p->wstatus;
	out->exited = WIFEXITED(st);
	out->code = out->exited ? WEXITSTATUS(st) : 0;
	out->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	out->seccomp_kill = out->signal == SIGSYS;
	out->oom_kills = p->oom_kills;
	out->user_ns = (uint64_t)p->ru.ru_utime.tv_sec * 1000000000ull +
		       (uint64_t)p->ru.ru_utime.tv_usec * 1000ull;
	out->sys_ns = (uint64_t)p->ru.ru_stime.tv_sec * 1000000000ull +
		      (uint64_t)p->ru.ru_stime.tv_usec * 1000ull;
	out->max_rss_kb = p->ru.ru_maxrss;
	/* 100 ms of slack: rusage is sampled at tick granularity. */
	out->cpu_limit = out->signal == SIGXCPU ||
			 (out->signal == SIGKILL && p->cpu_seconds > 0 &&
			  out->user_ns + out->sys_ns + 100000000ull >=
				  (uint64_t)p->cpu_seconds * 1000000000ull);
	return 0;
}

long sandbox_oom_kills(const struct sandbox_proc *p)
{
	return p->cg ? cgroup_oom_kills(p->cg) : p->oom_kills;
}

const char *sandbox_kill_mode_name(enum sandbox_kill_mode m)
{
	return m == SANDBOX_KILL_PIDNS ? "pid_namespace" : "process_group";
}
