/* executor.c — see executor.h. */
#include "executor.h"
#include "capbuf.h"
#include "exec_setup.h"
#include "dynbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "rootfs.h"
#include "util.h"

#define DEFAULT_OUTPUT_BYTES   (1u << 20)
#define DEFAULT_MESSAGE_BYTES  ((size_t)64 << 20)
#define DEFAULT_SEND_TIMEOUT_MS 10000
#define READ_CHUNK             65536
#define EXIT_GRACE_NS          1000000000ull  /* reply fd closed: wait this long for exit */
#define NOPIDFD_POLL_NS        50000000ull    /* exit check period without a pidfd */

enum { EV_WRITABLE = 1, EV_EXITED = 2 };

struct harness {
	struct sandbox_proc proc;
	int cmd_fd, rep_fd, out_fd, err_fd;
	char *tmpdir;            /* host dir: the cwd, or the staging point of the new root */
	char workdir[64];        /* /proc/<pid>/root/tmp with the mount namespace */
	struct capbuf out, err;
	struct dynbuf rbuf;      /* reply bytes not yet returned; max_msg + 1 at most */
	size_t rscan;            /* rbuf bytes already searched for '\n' */
	size_t max_msg;
	int send_timeout_ms;
	bool rep_eof, killed_by_us, oom;
};

/* ---- I/O pump -------------------------------------------------------------- */

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* One read from stdout/stderr; EOF closes our end.  Returns bytes read. */
static ssize_t drain_stream(int *fd, struct capbuf *c)
{
	char chunk[READ_CHUNK];
	ssize_t n = read(*fd, chunk, sizeof chunk);
	if (n > 0)
		capbuf_append(c, chunk, (size_t)n);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		close_fd(fd);
	return n;
}

/* Reads whatever is pending on stdout/stderr, bounded so that a writer we could
 * not kill cannot keep us here. */
static void drain_pending(struct harness *h)
{
	size_t budget = 4 * (h->out.limit + h->err.limit) + (1u << 20);
	int *fds[2] = { &h->out_fd, &h->err_fd };
	struct capbuf *bufs[2] = { &h->out, &h->err };
	for (int i = 0; i < 2; i++) {
		ssize_t n;
		while (*fds[i] >= 0 && budget > 0 && (n = drain_stream(fds[i], bufs[i])) > 0)
			budget = (size_t)n > budget ? 0 : budget - (size_t)n;
	}
}

/* Reads reply bytes until EAGAIN, EOF or the line cap.  0 or -EMSGSIZE. */
static int read_reply(struct harness *h)
{
	struct dynbuf *b = &h->rbuf;   /* a maximal line plus its '\n' */
	while (!h->rep_eof && b->len < b->max) {
		char *at;
		size_t room;
		int err = dynbuf_space(b, READ_CHUNK, &at, &room);
		if (err)
			return err;
		ssize_t n = read(h->rep_fd, at, room);
		if (n > 0) {
			dynbuf_commit(b, (size_t)n);
			if (memchr(at, '\n', (size_t)n))
				return 0;
		} else if (n == 0) {
			h->rep_eof = true;
		} else if (errno == EINTR) {
			continue;
		} else {
			if (errno != EAGAIN)
				h->rep_eof = true;
			break;
		}
	}
	if (b->len >= b->max && !memchr(b->p + h->rscan, '\n', b->len - h->rscan))
		return -EMSGSIZE;
	return 0;
}

/* 0 with *line set, -EAGAIN when no complete line is buffered, -EPROTO for a
 * line holding a NUL byte (harness.py writes ASCII JSON: that was candidate
 * code, and a C string would silently end at the NUL). */
static int take_line(struct harness *h, char **line)
{
	size_t n;
	int err = dynbuf_take_line(&h->rbuf, &h->rscan, line, &n);
	if (err == 0 && strlen(*line) != n) {
		free(*line);
		*line = NULL;
		return -EPROTO;
	}
	return err;
}

/*
 * Waits up to timeout_ns (UINT64_MAX = forever) for anything: drains
 * stdout/stderr, reads reply data when want_reply, and returns EV_* bits
 * (0 on timeout) or -errno (-EMSGSIZE from the reply cap).
 */
static int pump(struct harness *h, uint64_t timeout_ns, bool want_write, bool want_reply)
{
	struct pollfd pf[5];
	int n = 0, i_out = -1, i_err = -1, i_rep = -1, i_cmd = -1, i_pid = -1;
	if (h->out_fd >= 0) {
		i_out = n;
		pf[n++] = (struct pollfd){ .fd = h->out_fd, .events = POLLIN };
	}
	if (h->err_fd >= 0) {
		i_err = n;
		pf[n++] = (struct pollfd){ .fd = h->err_fd, .events = POLLIN };
	}
	if (want_reply && !h->rep_eof) {
		i_rep = n;
		pf[n++] = (struct pollfd){ .fd = h->rep_fd, .events = POLLIN };
	}
	if (want_write) {
		i_cmd = n;
		pf[n++] = (struct pollfd){ .fd = h->cmd_fd, .events = POLLOUT };
	}
	if (h->proc.pidfd >= 0) {
		i_pid = n;
		pf[n++] = (struct pollfd){ .fd = h->proc.pidfd, .events = POLLIN };
	} else if (timeout_ns > NOPIDFD_POLL_NS) {
		timeout_ns = NOPIDFD_POLL_NS;
	}
	struct timespec ts = { .tv_sec = (time_t)(timeout_ns / 1000000000ull),
			       .tv_nsec = (long)(timeout_ns % 1000000000ull) };
	int r = ppoll(pf, (nfds_t)n, timeout_ns == UINT64_MAX ? NULL : &ts, NULL);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	int ev = 0;
	if (i_out >= 0 && pf[i_out].revents)
		drain_stream(&h->out_fd, &h->out);
	if (i_err >= 0 && pf[i_err].revents)
		drain_stream(&h->err_fd, &h->err);
	if (i_rep >= 0 && pf[i_rep].revents) {
		int e = read_reply(h);
		if (e < 0)
			return e;
	}
	if (i_cmd >= 0 && pf[i_cmd].revents)
		ev |= EV_WRITABLE;
	if (i_pid >= 0 ? pf[i_pid].revents != 0 : sandbox_exited(&h->proc))
		ev |= EV_EXITED;
	return ev;
}

/*
 * The harness has exited or closed its reply channel: give it a moment to
 * finish, kill what is left, collect the remaining output and reap.
 */
static void finish_exit(struct harness *h)
{
	if (h->proc.reaped)
		return;
	uint64_t until = util_mono_ns() + EXIT_GRACE_NS;
	while (!sandbox_exited(&h->proc)) {
		uint64_t now = util_mono_ns();
		if (now >= until) {
			h->killed_by_us = true;
			break;
		}
		if (pump(h, until - now, false, false) < 0)
			break;
	}
	/* In process-group mode leftovers outlive the harness; the zombie still
	 * pins the group id, so signalling the group is safe. */
	sandbox_kill(&h->proc);
	sandbox_reap(&h->proc);
	drain_pending(h);
}

/* ---- public API ------------------------------------------------------------ */

/* A harness with no process yet: limits from the options, every fd closed. */
static struct harness *harness_new(const struct exec_options *o)
{
	struct harness *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->proc.pid = -1;
	h->proc.pidfd = h->cmd_fd = h->rep_fd = h->out_fd = h->err_fd = -1;
	h->max_msg = o->max_message_bytes ? o->max_message_bytes : DEFAULT_MESSAGE_BYTES;
	dynbuf_init(&h->rbuf, h->max_msg + 1);
	h->send_timeout_ms = o->send_timeout_ms > 0 ? o->send_timeout_ms : DEFAULT_SEND_TIMEOUT_MS;
	size_t cap = o->max_output_bytes ? o->max_output_bytes : DEFAULT_OUTPUT_BYTES;
	capbuf_init(&h->out, cap, false);
	capbuf_init(&h->err, cap, true);
	return h;
}

/* The parent's ends of the four channels move into h, non-blocking (the
 * event loop polls them); the caller's copies become -1. */
static void take_ends(struct harness *h, int cmd[2], int rep[2], int out[2], int err[2])
{
	h->cmd_fd = cmd[0];
	h->rep_fd = rep[0];
	h->out_fd = out[0];
	h->err_fd = err[0];
	cmd[0] = rep[0] = out[0] = err[0] = -1;
	int pfds[4] = { h->cmd_fd, h->rep_fd, h->out_fd, h->err_fd };
	for (int i = 0; i < 4; i++)
		fcntl(pfds[i], F_SETFL, fcntl(pfds[i], F_GETFL) | O_NONBLOCK);
}

struct harness *harness_spawn(const struct exec_options *o)
{
	struct harness *h = NULL;
	struct exec_setup st = { 0 };
	struct sandbox_spec spec;
	char *exe = NULL, *script = NULL;
	int devnull = -1, cmd[2] = { -1, -1 }, rep[2] = { -1, -1 };
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int e = 0;
	char why[192];

	if (!o || !o->python || !o->harness_path || o->sandbox_tmpfs_mb < 0) {
		errno = EINVAL;
		return NULL;
	}
	if (!(h = harness_new(o)))
		return NULL;

	/* The child changes directory before exec: make paths absolute. */
	if (!(exe = realpath(o->python, NULL)) || !(script = realpath(o->harness_path, NULL))) {
		e = -errno;
		goto out;
	}
	if ((e = exec_setup_prepare(o, exe, script, "jt-harness", &st, &spec)))
		goto out;
	h->tmpdir = st.tmpdir;
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cmd) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rep) != 0 ||
	    pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
		e = -errno;
		goto out;
	}
	/* One direction each, like pipes. */
	shutdown(cmd[0], SHUT_RD);
	shutdown(rep[0], SHUT_WR);

	char msgarg[32], env_tmp[PATH_MAX + 8], env_home[PATH_MAX + 8];
	snprintf(msgarg, sizeof msgarg, "%zu", h->max_msg);
	snprintf(env_tmp, sizeof env_tmp, "TMPDIR=%s", h->tmpdir);
	snprintf(env_home, sizeof env_home, "HOME=%s", h->tmpdir);
	char *argv[] = { (char *)o->python, (char *)"-S", (char *)"-s", (char *)"-B",
			 script, (char *)"--max-message-bytes", msgarg, NULL };
	char *envp[] = { (char *)"PATH=/usr/bin:/bin", (char *)"LANG=C.UTF-8",
			 (char *)"PYTHONDONTWRITEBYTECODE=1", (char *)"PYTHONHASHSEED=0",
			 env_tmp, env_home, NULL };
	/* argv[0] names a file that exists inside the view: Python finds its
	 * standard library from it. */
	char *jail_argv[] = { exe, (char *)"-S", (char *)"-s", (char *)"-B",
			      (char *)ROOTFS_HARNESS, (char *)"--max-message-bytes", msgarg, NULL };
	char *jail_envp[] = { (char *)"PATH=/usr/bin:/bin", (char *)"LANG=C.UTF-8",
			      (char *)"PYTHONDONTWRITEBYTECODE=1", (char *)"PYTHONHASHSEED=0",
			      (char *)"TMPDIR=" ROOTFS_WORKDIR, (char *)"HOME=" ROOTFS_WORKDIR, NULL };
	spec.exe = exe;
	spec.argv = argv;
	spec.envp = envp;
	spec.jail_argv = jail_argv;
	spec.jail_envp = jail_envp;
	int fds[] = { devnull, out[1], err[1], cmd[1], rep[1] };
	memcpy(spec.fds, fds, sizeof fds);
	spec.nfds = 5;
	if ((e = sandbox_spawn(&spec, &h->proc)) != 0) {
		if (e == -ENOTSUP)
			exec_setup_refused(&spec, "the candidate", why, sizeof why);
		goto out;
	}
	if (h->proc.report.applied & SANDBOX_BIT(SANDBOX_MOUNTNS))
		snprintf(h->workdir, sizeof h->workdir, "/proc/%d/root" ROOTFS_WORKDIR,
			 (int)h->proc.pid);
	take_ends(h, cmd, rep, out, err);
	sandbox_report_missing(&h->proc.report, SANDBOX_ALL, why, sizeof why);
	log_debug("executor: harness pid %d (%s) in %s; not applied: %s", (int)h->proc.pid,
		  sandbox_kill_mode_name(h->proc.mode), h->tmpdir, why[0] ? why : "none");
out:
	free(exe);
	free(script);
	rootfs_free(st.rootfs);
	int all[] = { devnull, cmd[0], cmd[1], rep[0], rep[1], out[0], out[1], err[0], err[1] };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (all[i] >= 0)
			close(all[i]);
	if (e) {
		harness_free(h);
		errno = -e;
		return NULL;
	}
	return h;
}

/* A bare name is looked up in the sandbox's PATH, not the caller's: what the
 * sandbox cannot see it cannot run. */
static char *resolve_command(const char *name)
{
	static const char *const dirs[] = { "/usr/bin", "/bin" };
	char buf[PATH_MAX];
	if (!name[0]) {
		errno = ENOENT;
		return NULL;
	}
	if (strchr(name, '/'))
		return realpath(name, NULL);
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		if ((size_t)snprintf(buf, sizeof buf, "%s/%s", dirs[i], name) >= sizeof buf) {
			errno = ENAMETOOLONG;
			return NULL;
		}
		if (access(buf, X_OK) == 0)
			return realpath(buf, NULL);
	}
	errno = ENOENT;
	return NULL;
}

int executor_spawn_command(const struct exec_options *o, char *const argv[],
			   struct exec_command *c, char *why, size_t whylen)
{
	struct exec_setup st = { 0 };
	struct sandbox_spec spec;
	char *exe = NULL;
	int e = 0;

	memset(c, 0, sizeof *c);
	c->proc.pid = -1;
	c->proc.pidfd = -1;
	if (whylen)
		why[0] = '\0';
	if (!o || !argv || !argv[0] || o->sandbox_tmpfs_mb < 0) {
		util_say(why, whylen, "bad options");
		return -EINVAL;
	}
	if (!(exe = resolve_command(argv[0]))) {
		e = -errno;
		util_say(why, whylen, "%s: %s", argv[0], strerror(-e));
		goto out;
	}
	if ((e = exec_setup_prepare(o, exe, NULL, "jt-run", &st, &spec))) {
		util_say(why, whylen, "sandbox set-up: %s", strerror(-e));
		goto out;
	}
	c->tmpdir = st.tmpdir;
	char env_tmp[PATH_MAX + 8], env_home[PATH_MAX + 8];
	snprintf(env_tmp, sizeof env_tmp, "TMPDIR=%s", c->tmpdir);
	snprintf(env_home, sizeof env_home, "HOME=%s", c->tmpdir);
	char *envp[] = { (char *)"PATH=/usr/bin:/bin", (char *)"LANG=C.UTF-8", env_tmp, env_home,
			 NULL };
	char *jail_envp[] = { (char *)"PATH=/usr/bin:/bin", (char *)"LANG=C.UTF-8",
			      (char *)"TMPDIR=" ROOTFS_WORKDIR, (char *)"HOME=" ROOTFS_WORKDIR, NULL };
	spec.exe = exe;
	spec.argv = argv;
	spec.envp = envp;
	spec.jail_envp = jail_envp;
	spec.fds[0] = STDIN_FILENO;
	spec.fds[1] = STDOUT_FILENO;
	spec.fds[2] = STDERR_FILENO;
	spec.nfds = 3;
	if ((e = sandbox_spawn(&spec, &c->proc)) != 0) {
		if (e == -ENOTSUP)
			exec_setup_refused(&spec, argv[0], why, whylen);
		else
			util_say(why, whylen, "%s: %s", argv[0], strerror(-e));
		goto out;
	}
	log_debug("executor: command pid %d (%s) in %s", (int)c->proc.pid,
		  sandbox_kill_mode_name(c->proc.mode), c->tmpdir);
out:
	free(exe);
	rootfs_free(st.rootfs);
	if (e)
		executor_command_free(c);
	return e;
}

void executor_command_free(struct exec_command *c)
{
	if (!c)
		return;
	if (c->proc.pid > 0 && !c->proc.reaped) {
		sandbox_kill(&c->proc);
		sandbox_reap(&c->proc);
	}
	if (c->tmpdir) {
		exec_setup_remove_tree(c->tmpdir);
		free(c->tmpdir);
		c->tmpdir = NULL;
	}
}

int harness_send(struct harness *h, const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (memchr(line, '\n', len))
		return -EINVAL;
	if (len > h->max_msg)
		return -EMSGSIZE;
	if (h->proc.reaped)
		return -EPIPE;
	struct iovec iov[2] = { { (void *)line, len }, { (void *)"\n", 1 } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	uint64_t deadline = util_mono_ns() + (uint64_t)h->send_timeout_ms * 1000000ull;
	while (mh.msg_iovlen > 0) {
		ssize_t n = sendmsg(h->cmd_fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0) {
			size_t k = (size_t)n;
			while (mh.msg_iovlen > 0 && k >= mh.msg_iov[0].iov_len) {
				k -= mh.msg_iov[0].iov_len;
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
			if (mh.msg_iovlen > 0) {
				mh.msg_iov[0].iov_base = (char *)mh.msg_iov[0].iov_base + k;
				mh.msg_iov[0].iov_len -= k;
			}
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			finish_exit(h);
			return -EPIPE;
		}
		uint64_t now = util_mono_ns();
		if (now >= deadline) {
			harness_kill(h);
			return -ETIMEDOUT;
		}
		int ev = pump(h, deadline - now, true, false);
		if (ev < 0)
			return ev;
		if (ev & EV_EXITED) {
			finish_exit(h);
			return -EPIPE;
		}
	}
	return 0;
}

/*
 * An OOM kill anywhere in the sandbox's memory cgroup ends the run: a child
 * killed under the candidate would otherwise surface as a wrong answer or a
 * hang.  The tree is killed on the kernel's behalf (killed_by_us stays false).
 */
static bool oom_struck(struct harness *h)
{
	if (h->proc.reaped || sandbox_oom_kills(&h->proc) <= 0)
		return false;
	log_info("executor: harness %d: the memory cgroup limit was hit; killing the sandbox",
		 (int)h->proc.pid);
	h->oom = true;
	sandbox_kill(&h->proc);
	sandbox_reap(&h->proc);
	drain_pending(h);
	return true;
}

int harness_recv(struct harness *h, uint64_t deadline_ns, int poll_ms,
		 int (*poll_cb)(void *), void *cb_ctx, char **line)
{
	*line = NULL;
	uint64_t period = (uint64_t)(poll_ms > 0 ? poll_ms : 100) * 1000000ull;
	uint64_t next_cb = util_mono_ns() + period;
	bool exited = false;
	for (;;) {
		int r = take_line(h, line);
		if (r != -EAGAIN)
			return r;
		if (h->proc.reaped)
			return -EPIPE;
		if (h->rep_eof || exited) {
			finish_exit(h);
			return -EPIPE;
		}
		uint64_t now = util_mono_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		if (poll_cb && now >= next_cb) {
			if (poll_cb(cb_ctx))
				return -ECANCELED;
			now = util_mono_ns();
			next_cb = now + period;
		}
		if (oom_struck(h))
			return -EPIPE;
		uint64_t until = poll_cb && next_cb < deadline_ns ? next_cb : deadline_ns;
		/* The OOM counter cannot be polled: look at it every period. */
		if (h->proc.report.applied & SANDBOX_BIT(SANDBOX_CGROUP_MEMORY) && until - now > period)
			until = now + period;
		int ev = pump(h, until == UINT64_MAX ? UINT64_MAX : until - now, false, true);
		if (ev == -EMSGSIZE) {
			log_warn("executor: harness %d sent a line over %zu bytes; killed",
				 (int)h->proc.pid, h->max_msg);
			harness_kill(h);
			return ev;
		}
		if (ev < 0)
			return ev;
		if (ev & EV_EXITED) {
			/* A last reply may still be in the socket: read it before EOF handling. */
			r = read_reply(h);
			if (r < 0) {
				harness_kill(h);
				return r;
			}
			exited = true;
		}
	}
}

int harness_go(struct harness *h)
{
	if (h->proc.reaped)
		return -EPIPE;
	ssize_t n = send(h->cmd_fd, "go\n", 3, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == 3)
		return 0;
	if (n >= 0)
		return -EIO;
	return errno == EAGAIN ? -EAGAIN : -EPIPE;
}

int harness_close(struct harness *h, uint64_t deadline_ns)
{
	static const char cmd[] = "{\"cmd\":\"exit\"}";
	if (h->proc.reaped)
		return 0;
	if (harness_send(h, cmd, sizeof cmd - 1) == -ETIMEDOUT)
		return -ETIMEDOUT;
	while (!h->proc.reaped && !sandbox_exited(&h->proc)) {
		uint64_t now = util_mono_ns();
		if (now >= deadline_ns) {
			harness_kill(h);
			return -ETIMEDOUT;
		}
		/* Replies are no longer wanted; stdout/stderr keep draining. */
		dynbuf_reset(&h->rbuf);
		h->rscan = 0;
		if (pump(h, deadline_ns - now, false, true) < 0)
			dynbuf_reset(&h->rbuf);
	}
	finish_exit(h);
	return 0;
}

pid_t harness_pid(const struct harness *h)
{
	return h->proc.reaped ? -1 : h->proc.pid;
}

enum sandbox_kill_mode harness_kill_mode(const struct harness *h)
{
	return h->proc.mode;
}

const char *harness_kill_mode_name(enum sandbox_kill_mode m)
{
	return sandbox_kill_mode_name(m);
}

const char *harness_tmpdir(const struct harness *h)
{
	return h->workdir[0] ? h->workdir : h->tmpdir;
}

const struct sandbox_report *harness_sandbox(const struct harness *h)
{
	return &h->proc.report;
}

void harness_kill(struct harness *h)
{
	if (!h || h->proc.reaped || h->proc.pid <= 0)
		return;
	if (!sandbox_exited(&h->proc))
		h->killed_by_us = true;
	sandbox_kill(&h->proc);
	sandbox_reap(&h->proc);
	drain_pending(h);
}

int harness_exit_status(struct harness *h, struct harness_exit *out)
{
	struct sandbox_status st;
	memset(out, 0, sizeof *out);
	int r = sandbox_status(&h->proc, &st);
	if (r < 0)
		return r;
	out->exited = st.exited;
	out->code = st.code;
	out->signal = st.signal;
	out->killed_by_us = h->killed_by_us;
	out->cpu_limit = st.cpu_limit && !h->killed_by_us && !h->oom;
	out->seccomp_kill = st.seccomp_kill;
	out->oom_kill = h->oom || st.oom_kills > 0;
	out->user_ns = st.user_ns;
	out->sys_ns = st.sys_ns;
	out->max_rss_kb = st.max_rss_kb;
	return 0;
}

const char *harness_stdout(const struct harness *h, size_t *len)
{
	return capbuf_view(&h->out, len);
}

const char *harness_stderr(const struct harness *h, size_t *len)
{
	return capbuf_view(&h->err, len);
}

size_t harness_output_dropped(const struct harness *h)
{
	return capbuf_dropped(&h->out) + capbuf_dropped(&h->err);
}

void harness_free(struct harness *h)
{
	if (!h)
		return;
	harness_kill(h);
	close_fd(&h->cmd_fd);
	close_fd(&h->rep_fd);
	close_fd(&h->out_fd);
	close_fd(&h->err_fd);
	if (h->tmpdir) {
		exec_setup_remove_tree(h->tmpdir);
		free(h->tmpdir);
	}
	capbuf_free(&h->out);
	capbuf_free(&h->err);
	dynbuf_free(&h->rbuf);
	free(h);
}

