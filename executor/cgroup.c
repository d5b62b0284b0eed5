/* cgroup.c — see cgroup.h. */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define PARENT_NAME    "jouletrace"
#define MAX_PROC_FILE  (1 << 20)     /* /proc/self/mountinfo, cgroup.procs */
#define MAX_HIER       3
#define RMDIR_TRIES    100
#define DESTROY_KILL_NS 2000000000ull
#define STALE_SECONDS  60    /* an empty group this old was left by a crashed worker */

struct hier {
	char *dir;        /* absolute directory of the group */
	char *rel;        /* its path as /proc/PID/cgroup shows it */
	int procs_fd;     /* cgroup.procs, for cgroup_enter */
};

struct cgroup {
	struct hier h[MAX_HIER];
	int nh;
	int oom_fd;       /* v1 memory.oom_control or v2 memory.events; -1 */
	int kill_fd;      /* v2 cgroup.kill; -1 */
};

/* Where one hierarchy is mounted and where this process sits in it. */
struct place {
	char mnt[512];
	char own[512];    /* own cgroup path, as /proc/self/cgroup shows it */
	bool found;
};

/* ---- discovery --------------------------------------------------------------- */

static bool has_token(const char *list, const char *tok)
{
	size_t n = strlen(tok);
	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && strncmp(p, tok, n) == 0)
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

/*
 * Fills pl for the v1 hierarchy carrying controller ctl, or for v2 when ctl
 * is NULL.  Mount points with escaped characters (spaces) are not supported.
 */
static void locate(const char *mountinfo, const char *cgroups, const char *ctl, struct place *pl)
{
	char root[512] = "";
	memset(pl, 0, sizeof *pl);
	for (const char *line = mountinfo; line && *line;) {
		const char *nl = strchr(line, '\n');
		char buf[1024], r[512], m[512], fs[64], opts[512];
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
		line = nl ? nl + 1 : NULL;
		const char *dash = strstr(buf, " - ");
		if (!dash || sscanf(buf, "%*s %*s %*s %511s %511s", r, m) != 2 ||
		    sscanf(dash + 3, "%63s %*s %511s", fs, opts) != 2 || strchr(m, '\\'))
			continue;
		if (ctl ? strcmp(fs, "cgroup") == 0 && has_token(opts, ctl) : strcmp(fs, "cgroup2") == 0) {
			snprintf(pl->mnt, sizeof pl->mnt, "%s", m);
			snprintf(root, sizeof root, "%s", r);
			break;
		}
	}
	if (!pl->mnt[0])
		return;
	for (const char *line = cgroups; line && *line;) {
		const char *nl = strchr(line, '\n');
		char buf[1024];
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
		line = nl ? nl + 1 : NULL;
		char *c1 = strchr(buf, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		bool match = ctl ? has_token(c1 + 1, ctl) : (c1[1] == '\0' && strncmp(buf, "0:", 2) == 0);
		if (!match)
			continue;
		const char *own = c2 + 1;
		/* A mount of a sub-tree shows paths below its own root. */
		size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
		if (rl && (strncmp(own, root, rl) != 0 || (own[rl] && own[rl] != '/')))
			return;
		const char *below = strcmp(own + rl, "/") == 0 ? "" : own + rl;
		size_t ml = strlen(pl->mnt), bl = strlen(below);
		if (ml + bl >= sizeof pl->mnt || strlen(own) >= sizeof pl->own)
			return;
		memcpy(pl->mnt + ml, below, bl + 1);
		memcpy(pl->own, own, strlen(own) + 1);
		pl->found = true;
		return;
	}
}

/* ---- file helpers ------------------------------------------------------------ */

static int write_text(const char *dir, const char *name, const char *text)
{
	char path[1024];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return -ENAMETOOLONG;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int e = n == (ssize_t)strlen(text) ? 0 : n < 0 ? -errno : -EIO;
	close(fd);
	return e;
}

static int open_in(const char *dir, const char *name, int flags)
{
	char path[1024];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, flags | O_CLOEXEC);
}

/*
 * Groups left behind by a worker that died: rmdir only succeeds on an empty
 * group, and the age keeps a group another thread has just created (its
 * child not in yet) out of reach.
 */
static void remove_stale(const char *parent)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	struct dirent *de;
	time_t now = time(NULL);
	while ((de = readdir(d)) != NULL) {
		char path[1200];
		struct stat st;
		if (de->d_name[0] == '.' || strlen(de->d_name) != 16)
			continue;
		snprintf(path, sizeof path, "%s/%s", parent, de->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) && now - st.st_ctime > STALE_SECONDS &&
		    rmdir(path) == 0)
			log_info("cgroup: removed stale %s", path);
	}
	closedir(d);
}

/* Creates <pl.mnt>/jouletrace/<id> as hierarchy slot h.  0 or -errno with why. */
static int make_group(struct cgroup *cg, const struct place *pl, const char *id, char *why,
		      size_t cap, struct hier **out)
{
	char parent[1024], dir[1100], rel[1100];
	if ((size_t)snprintf(parent, sizeof parent, "%s/" PARENT_NAME, pl->mnt) >= sizeof parent)
		return -ENAMETOOLONG;
	snprintf(dir, sizeof dir, "%s/%s", parent, id);
	snprintf(rel, sizeof rel, "%s/" PARENT_NAME "/%s", strcmp(pl->own, "/") ? pl->own : "", id);
	if (mkdir(parent, 0755) != 0 && errno != EEXIST) {
		int e = errno;
		util_say(why, cap, "mkdir %.100s: %s", parent, strerror(e));
		return e ? -e : -EIO;   /* never "success" without *out */
	}
	remove_stale(parent);
	if (mkdir(dir, 0755) != 0) {
		int e = errno;
		util_say(why, cap, "mkdir %.100s: %s", dir, strerror(e));
		return e ? -e : -EIO;
	}
	struct hier *h = &cg->h[cg->nh];
	h->procs_fd = open_in(dir, "cgroup.procs", O_WRONLY);
	h->dir = strdup(dir);
	h->rel = strdup(rel);
	if (h->procs_fd < 0 || !h->dir || !h->rel) {
		int e = h->procs_fd < 0 ? errno : ENOMEM;
		util_say(why, cap, "%.100s/cgroup.procs: %s", dir, strerror(e));
		if (h->procs_fd >= 0)
			close(h->procs_fd);
		free(h->dir);
		free(h->rel);
		memset(h, 0, sizeof *h);
		rmdir(dir);
		return e ? -e : -EIO;
	}
	cg->nh++;
	*out = h;
	return 0;
}

static void set_why(char *why, size_t cap, const char *what, int err)
{
	util_say(why, cap, "%s: %s", what, strerror(-err));
}

/* The cgroup v2 part of cgroup_create(): a group in the unified hierarchy,
 * with the controllers v1 did not give (want_mem, want_pids). */
static void join_v2(struct cgroup *cg, const struct place *v2, const char *id,
		    const struct cgroup_limits *l, bool want_mem, bool want_pids,
		    struct cgroup_status *st)
{
	char why[160] = "", parent[1024], num[32];
	struct hier *h = NULL;
	int e;
	if (make_group(cg, v2, id, why, sizeof why, &h) != 0 || !h) {
		if (!st->member)
			snprintf(st->memory_why, sizeof st->memory_why, "%s", why);
		return;
	}
	st->member = true;
	cg->kill_fd = open_in(h->dir, "cgroup.kill", O_WRONLY);
	snprintf(parent, sizeof parent, "%s/" PARENT_NAME, v2->mnt);
	const char *ctl[2] = { "memory", "pids" };
	bool want[2] = { want_mem, want_pids };
	char *whys[2] = { st->memory_why, st->pids_why };
	for (int i = 0; i < 2; i++) {
		char plus[16];
		if (!want[i])
			continue;
		snprintf(plus, sizeof plus, "+%s", ctl[i]);
		/* EBUSY here: the worker's own cgroup holds processes (not delegated). */
		if ((e = write_text(v2->mnt, "cgroup.subtree_control", plus)) ||
		    (e = write_text(parent, "cgroup.subtree_control", plus))) {
			snprintf(whys[i], 160, "cgroup v2: cannot enable %s below %.64s: %s",
				 ctl[i], v2->own, strerror(-e));
			want[i] = false;
		}
	}
	if (want[0]) {
		snprintf(num, sizeof num, "%lld", l->memory_bytes);
		if ((e = write_text(h->dir, "memory.max", num)) == 0) {
			st->memory = true;
			write_text(h->dir, "memory.swap.max", "0");
			/* One OOM kill takes the whole sandbox, as v1 cannot. */
			write_text(h->dir, "memory.oom.group", "1");
			cg->oom_fd = open_in(h->dir, "memory.events", O_RDONLY);
		} else {
			set_why(st->memory_why, sizeof st->memory_why, "memory.max", e);
		}
	}
	if (want[1]) {
		snprintf(num, sizeof num, "%ld", l->pids_max);
		if ((e = write_text(h->dir, "pids.max", num)) == 0)
			st->pids = true;
		else
			set_why(st->pids_why, sizeof st->pids_why, "pids.max", e);
	}
}

/* ---- public API -------------------------------------------------------------- */

struct cgroup *cgroup_create(const struct cgroup_limits *l, struct cgroup_status *st)
{
	char *mountinfo = NULL, *cgroups = NULL, id[17], num[32];
	struct place v1m, v1p, v2;
	struct hier *h = NULL;
	struct cgroup *cg = NULL;
	bool want_mem = l->memory_bytes > 0, want_pids = l->pids_max > 0;
	int e;

	memset(st, 0, sizeof *st);
	if (want_mem)
		snprintf(st->memory_why, sizeof st->memory_why, "no memory controller on this host");
	if (want_pids)
		snprintf(st->pids_why, sizeof st->pids_why, "no pids controller on this host");
	if ((e = util_read_file("/proc/self/mountinfo", MAX_PROC_FILE, &mountinfo, NULL)) ||
	    (e = util_read_file("/proc/self/cgroup", MAX_PROC_FILE, &cgroups, NULL)) ||
	    (e = util_random_hex(id, 8)))
		goto fail;
	if (!(cg = calloc(1, sizeof *cg))) {
		e = -ENOMEM;
		goto fail;
	}
	cg->oom_fd = cg->kill_fd = -1;
	locate(mountinfo, cgroups, "pids", &v1p);
	locate(mountinfo, cgroups, "memory", &v1m);
	locate(mountinfo, cgroups, NULL, &v2);

	/* v1 pids first: it also carries the membership used for killing. */
	if (v1p.found && make_group(cg, &v1p, id, st->pids_why, sizeof st->pids_why, &h) == 0) {
		st->member = true;
		if (want_pids) {
			snprintf(num, sizeof num, "%ld", l->pids_max);
			if ((e = write_text(h->dir, "pids.max", num)) == 0)
				st->pids = true;
			else
				set_why(st->pids_why, sizeof st->pids_why, "pids.max", e);
		}
	}
	if (want_mem && v1m.found &&
	    make_group(cg, &v1m, id, st->memory_why, sizeof st->memory_why, &h) == 0 && h) {
		st->member = true;
		snprintf(num, sizeof num, "%lld", l->memory_bytes);
		if ((e = write_text(h->dir, "memory.limit_in_bytes", num)) == 0) {
			st->memory = true;
			/* Absent without swap accounting; RAM is then the only limit anyway. */
			write_text(h->dir, "memory.memsw.limit_in_bytes", num);
			cg->oom_fd = open_in(h->dir, "memory.oom_control", O_RDONLY);
		} else {
			set_why(st->memory_why, sizeof st->memory_why, "memory.limit_in_bytes", e);
		}
	}
	bool need_v2 = !st->member || (want_mem && !v1m.found) || (want_pids && !v1p.found);
	if (need_v2 && v2.found)
		join_v2(cg, &v2, id, l, want_mem && !v1m.found, want_pids && !v1p.found, st);
	if (st->memory)
		st->memory_why[0] = '\0';
	if (st->pids)
		st->pids_why[0] = '\0';
	if (!st->member) {
		e = -ENOENT;
		goto fail;
	}
	free(mountinfo);
	free(cgroups);
	return cg;
fail:
	if (want_mem && !st->memory_why[0])
		set_why(st->memory_why, sizeof st->memory_why, "cgroups", e);
	cgroup_destroy(cg);
	free(mountinfo);
	free(cgroups);
	errno = -e;
	return NULL;
}

int cgroup_enter(const struct cgroup *cg)
{
	for (int i = 0; i < cg->nh; i++)
		if (write(cg->h[i].procs_fd, "0", 1) != 1)
			return errno ? errno : EIO;
	return 0;
}

/* Pids listed in dir/cgroup.procs (malloc'd), or -errno. */
static int list_pids(const char *dir, pid_t **out)
{
	char path[1100], *data = NULL;
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	*out = NULL;
	int e = util_read_file(path, MAX_PROC_FILE, &data, NULL);
	if (e)
		return e;
	int n = 0, cap = 0;
	pid_t *v = NULL;
	for (char *p = data, *end; *p; p = end) {
		long x = strtol(p, &end, 10);
		if (end == p)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			pid_t *nv = realloc(v, (size_t)cap * sizeof *v);
			if (!nv) {
				free(v);
				free(data);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = (pid_t)x;
	}
	free(data);
	*out = v;
	return n;
}

int cgroup_count(const struct cgroup *cg)
{
	int most = 0;
	for (int i = 0; i < cg->nh; i++) {
		pid_t *v;
		int n = list_pids(cg->h[i].dir, &v);
		free(v);
		if (n < 0)
			return n;
		if (n > most)
			most = n;
	}
	return most;
}

/* Signals pid only if it is still a member: the pidfd pins its identity. */
static void kill_member(const struct hier *h, pid_t pid)
{
	char path[64], want[1110], *data = NULL;
	int pfd = -1;
#ifdef SYS_pidfd_open
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0 && errno != ENOSYS)
		return;   /* already gone */
#endif
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	snprintf(want, sizeof want, ":%s\n", h->rel);
	if (util_read_file(path, 65536, &data, NULL) == 0 && strstr(data, want)) {
		for (int k = 0; k < 2; k++) {
			int sig = k == 0 ? SIGKILL : SIGCONT;
#ifdef SYS_pidfd_send_signal
			if (pfd >= 0) {
				syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0);
				continue;
			}
#endif
			kill(pid, sig);   /* no pidfds (kernel < 5.3): a small reuse race remains */
		}
	}
	free(data);
	if (pfd >= 0)
		close(pfd);
}

int cgroup_kill_all(struct cgroup *cg, uint64_t timeout_ns)
{
	uint64_t deadline = util_mono_ns() + timeout_ns;
	if (cg->kill_fd >= 0 && write(cg->kill_fd, "1", 1) != 1)
		log_debug("cgroup: cgroup.kill: %s", strerror(errno));
	for (;;) {
		int total = 0;
		for (int i = 0; i < cg->nh; i++) {
			pid_t *v;
			int n = list_pids(cg->h[i].dir, &v);
			for (int k = 0; k < n; k++)
				kill_member(&cg->h[i], v[k]);
			free(v);
			total += n > 0 ? n : 0;
		}
		if (total == 0)
			return 0;
		if (util_mono_ns() >= deadline)
			return -EBUSY;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
}

long cgroup_oom_kills(const struct cgroup *cg)
{
	char buf[1024];
	if (!cg || cg->oom_fd < 0)
		return 0;
	ssize_t n = pread(cg->oom_fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *p = strstr(buf, "oom_kill ");
	return p ? strtol(p + 9, NULL, 10) : 0;
}

const char *cgroup_dir(const struct cgroup *cg)
{
	return cg && cg->nh ? cg->h[0].dir : "";
}

void cgroup_destroy(struct cgroup *cg)
{
	if (!cg)
		return;
	if (cg->nh && cgroup_kill_all(cg, DESTROY_KILL_NS) != 0)
		log_error("cgroup: members of %s survived SIGKILL", cg->h[0].dir);
	for (int i = 0; i < cg->nh; i++) {
		struct hier *h = &cg->h[i];
		close(h->procs_fd);
		/* A member that has just exited can keep the group busy for a moment. */
		int tries = 0;
		while (rmdir(h->dir) != 0 && errno == EBUSY && ++tries < RMDIR_TRIES) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
		if (tries >= RMDIR_TRIES)
			log_warn("cgroup: cannot remove %s: %s", h->dir, strerror(EBUSY));
		free(h->dir);
		free(h->rel);
	}
	if (cg->oom_fd >= 0)
		close(cg->oom_fd);
	if (cg->kill_fd >= 0)
		close(cg->kill_fd);
	free(cg);
}
