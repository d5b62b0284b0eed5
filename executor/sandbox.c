/* sandbox.c — see sandbox.h. */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define CHILD_STACK_BYTES (256 * 1024)
#define SWEEP_MAX         4096   /* processes one sweep can hold */
#define SWEEP_ROUNDS      64
#define NLIMITS           6

/* Prepared before clone(): afterwards only async-signal-safe calls are
 * allowed, because the parent is multi-threaded. */
struct child_args {
	const struct sandbox_spec *spec;
	int err_fd;             /* carries a setup/exec errno back to the parent */
	bool set_cpus;
	cpu_set_t cpus;
	struct { int res; struct rlimit rl; bool set; } lim[NLIMITS];
};

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

/*
 * The one place between fork and exec; the full sandbox (uid switch, mount,
 * network, IPC and UTS namespaces, no_new_privs, seccomp) goes here, after the
 * fds are in place and before exec.  Returns 0 or an errno value.
 */
static int child_setup(const struct child_args *a, int *err_fd)
{
	const struct sandbox_spec *s = a->spec;

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
		return errno;
	/* Orphans stay our descendants, so the /proc sweep can find them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		return errno;

	/* A source may already sit on a target number: lift all first. */
	int hi[SANDBOX_MAX_FDS], efd = fcntl(*err_fd, F_DUPFD_CLOEXEC, 16);
	if (efd < 0)
		return errno;
	*err_fd = efd;
	for (int i = 0; i < s->nfds; i++)
		if ((hi[i] = fcntl(s->fds[i], F_DUPFD_CLOEXEC, 16)) < 0)
			return errno;
	for (int i = 0; i < s->nfds; i++)
		if (dup2(hi[i], i) < 0)
			return errno;
	close_from(s->nfds, efd);

	if (a->set_cpus && sched_setaffinity(0, sizeof a->cpus, &a->cpus) != 0)
		return errno;
	for (int i = 0; i < NLIMITS; i++)
		if (a->lim[i].set && setrlimit(a->lim[i].res, &a->lim[i].rl) != 0)
			return errno;
	if (chdir(s->cwd) != 0)
		return errno;
	return 0;
}

static int child_main(void *arg)
{
	const struct child_args *a = arg;
	int efd = a->err_fd;
	int err = child_setup(a, &efd);
	if (err == 0) {
		execve(a->spec->exe, a->spec->argv, a->spec->envp);
		err = errno;
	}
	ssize_t n = write(efd, &err, sizeof err);
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

int sandbox_spawn(const struct sandbox_spec *s, struct sandbox_proc *p)
{
	const struct sandbox_limits *l = &s->limits;
	memset(p, 0, sizeof *p);
	p->pid = -1;
	p->pidfd = -1;
	if (!s->exe || !s->argv || !s->envp || !s->cwd || s->nfds < 3 ||
	    s->nfds > SANDBOX_MAX_FDS || l->memory_limit_mb < 0 || l->cpu_seconds < 0 ||
	    l->max_processes < 0 || l->max_file_bytes < 0 || l->max_open_files < 0 ||
	    (l->max_open_files > 0 && l->max_open_files < s->nfds + 3) ||
	    l->memory_limit_mb > (1L << 40))
		return -EINVAL;

	struct child_args a;
	memset(&a, 0, sizeof a);
	a.spec = s;
	a.set_cpus = cpuset_count(&s->cpus) > 0;
	if (a.set_cpus)
		cpuset_to_cpu_set(&s->cpus, &a.cpus);
	set_limit(&a, 0, RLIMIT_AS, l->memory_limit_mb << 20, 0);
	set_limit(&a, 1, RLIMIT_CPU, l->cpu_seconds, 1);
	set_limit(&a, 2, RLIMIT_NPROC, l->max_processes, 0);
	set_limit(&a, 3, RLIMIT_FSIZE, l->max_file_bytes, 0);
	set_limit(&a, 4, RLIMIT_NOFILE, l->max_open_files, 0);
	set_limit(&a, 5, RLIMIT_CORE, 0, 0);

	int ep[2];
	if (pipe2(ep, O_CLOEXEC) != 0)
		return -errno;
	a.err_fd = ep[1];
	char *stack = malloc(CHILD_STACK_BYTES);
	if (!stack) {
		close(ep[0]);
		close(ep[1]);
		return -ENOMEM;
	}
	/* No CLONE_VM: the child runs on a copy-on-write copy, as after fork(). */
	p->mode = s->no_pid_namespace ? SANDBOX_KILL_PGROUP : SANDBOX_KILL_PIDNS;
	int flags = SIGCHLD | (p->mode == SANDBOX_KILL_PIDNS ? CLONE_NEWPID : 0);
	p->pid = clone(child_main, stack + CHILD_STACK_BYTES, flags, &a);
	if (p->pid < 0 && p->mode == SANDBOX_KILL_PIDNS &&
	    (errno == EPERM || errno == EINVAL || errno == ENOSPC || errno == EUSERS)) {
		log_warn("sandbox: no PID namespace (%s); killing by process group + /proc sweep",
			 strerror(errno));
		p->mode = SANDBOX_KILL_PGROUP;
		p->pid = clone(child_main, stack + CHILD_STACK_BYTES, SIGCHLD, &a);
	}
	int e = p->pid < 0 ? -errno : 0;
	free(stack);
	close(ep[1]);
	if (e) {
		close(ep[0]);
		return e;
	}
	/* From this side too, so the group exists before we could signal it. */
	setpgid(p->pid, p->pid);
	p->cpu_seconds = l->cpu_seconds;

	int child_err = 0;
	ssize_t n;
	do
		n = read(ep[0], &child_err, sizeof child_err);
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof child_err) {
		sandbox_reap(p);
		return -(child_err ? child_err : EIO);
	}
#ifdef SYS_pidfd_open
	p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);   /* O_CLOEXEC by default */
#endif
	return 0;
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
	int pp, pg;
	char state;
	if (!q || sscanf(q + 1, " %c %d %d", &state, &pp, &pg) != 3)
		return false;
	*ppid = pp;
	*pgrp = pg;
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

const char *sandbox_kill_mode_name(enum sandbox_kill_mode m)
{
	return m == SANDBOX_KILL_PIDNS ? "pid_namespace" : "process_group";
}
