/*
 * oncpu_proc.c — the /proc source of the oncpu module (contract in oncpu.h).
 *
 * Without BPF nothing tells us which CPU a slice ran on, so this source counts
 * only the process trees it was asked to track, on every CPU: each snapshot
 * scans /proc once for (pid, ppid, starttime), marks the tracked processes and
 * their descendants, and reads each of their threads' schedstat (ns of
 * sum_exec_runtime).  Processes are remembered by (pid, starttime), so a
 * reused pid is not mistaken for a tracked one, and a descendant stays tracked
 * when it is reparented (a setsid() escape re-parents to init or a subreaper).
 */
#include "oncpu_impl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpuset.h"
#include "procstat.h"
#include "util.h"

/* Processes remembered as part of tracked trees; a fork bomb stops here. */
#define PROC_MAX_TRACKED 65536
/* pid_max can be at most 2^22: a /proc scan never legitimately holds more. */
#define PROC_MAX_PROCS (4 * 1024 * 1024)

struct ident {
	pid_t pid;
	uint64_t start;        /* starttime (clock ticks since boot): tells reused pids apart */
};

struct pinfo {
	pid_t pid;
	pid_t ppid;
	uint64_t start;
	bool mark;
};

struct oncpu_proc {
	struct cpuset cpus;
	struct procstat *ps;
	long hz;
	struct ident *trk;     /* sorted by pid */
	size_t ntrk;
	uint64_t dropped;      /* cumulative: processes or threads we had no room for */
};

struct scan {
	struct pinfo *pi;      /* sorted by pid */
	size_t n;
	size_t *byppid;        /* indexes into pi, sorted by ppid */
};

static int cmp_ident(const void *pa, const void *pb)
{
	const struct ident *a = pa, *b = pb;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static int cmp_pinfo(const void *pa, const void *pb)
{
	const struct pinfo *a = pa, *b = pb;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/* qsort has no context argument, so the ppid order is built by a merge sort on indexes. */
static void sort_byppid(const struct pinfo *pi, size_t *idx, size_t *tmp, size_t n)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	sort_byppid(pi, idx, tmp, h);
	sort_byppid(pi, idx + h, tmp, n - h);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = pi[idx[j]].ppid < pi[idx[i]].ppid ? idx[j++] : idx[i++];
	while (i < h)
		tmp[k++] = idx[i++];
	while (j < n)
		tmp[k++] = idx[j++];
	memcpy(idx, tmp, n * sizeof *idx);
}

static void scan_free(struct scan *sc)
{
	free(sc->pi);
	free(sc->byppid);
	memset(sc, 0, sizeof *sc);
}

static int scan_proc(struct scan *sc)
{
	int ret = 0;
	size_t cap = 0;
	size_t *tmp = NULL;
	DIR *d = opendir("/proc");
	memset(sc, 0, sizeof *sc);
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		long long pid;
		if (!isdigit((unsigned char)de->d_name[0]) || util_parse_i64(de->d_name, &pid) ||
		    pid <= 0 || pid > INT32_MAX)
			continue;
		if (sc->n == cap) {
			if (cap >= PROC_MAX_PROCS) {
				ret = -E2BIG;
				goto out;
			}
			size_t ncap = cap ? cap * 2 : 512;
			struct pinfo *np = realloc(sc->pi, ncap * sizeof *np);
			if (!np) {
				ret = -ENOMEM;
				goto out;
			}
			sc->pi = np;
			cap = ncap;
		}
		char path[64];
		struct procstat_pid f;
		snprintf(path, sizeof path, "/proc/%lld/stat", pid);
		if (procstat_pid_read(path, &f))
			continue;   /* exited since readdir */
		sc->pi[sc->n++] = (struct pinfo){ .pid = (pid_t)pid, .ppid = f.ppid, .start = f.start };
	}
	if (sc->n > 1)
		qsort(sc->pi, sc->n, sizeof *sc->pi, cmp_pinfo);
	sc->byppid = malloc((sc->n ? sc->n : 1) * sizeof *sc->byppid);
	tmp = malloc((sc->n ? sc->n : 1) * sizeof *tmp);
	if (!sc->byppid || !tmp) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < sc->n; i++)
		sc->byppid[i] = i;
	sort_byppid(sc->pi, sc->byppid, tmp, sc->n);
out:
	free(tmp);
	closedir(d);
	if (ret)
		scan_free(sc);
	return ret;
}

static struct pinfo *scan_find(const struct scan *sc, pid_t pid)
{
	struct pinfo key = { .pid = pid };
	return sc->n ? bsearch(&key, sc->pi, sc->n, sizeof *sc->pi, cmp_pinfo) : NULL;
}

/*
 * Marks the tracked processes still alive and all their descendants, then
 * makes the tracked set exactly the marked processes (dead ones forgotten).
 * Returns how many tracked processes were forgotten.
 */
static int mark_trees(struct oncpu_proc *p, struct scan *sc)
{
	size_t *queue = malloc((sc->n ? sc->n : 1) * sizeof *queue);
	if (!queue)
		return -ENOMEM;
	size_t qn = 0, before = p->ntrk;
	for (size_t i = 0; i < p->ntrk; i++) {
		struct pinfo *pi = scan_find(sc, p->trk[i].pid);
		if (pi && pi->start == p->trk[i].start && !pi->mark) {
			pi->mark = true;
			queue[qn++] = (size_t)(pi - sc->pi);
		}
	}
	for (size_t q = 0; q < qn; q++) {
		pid_t parent = sc->pi[queue[q]].pid;
		size_t lo = 0, hi = sc->n;   /* first child in ppid order */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (sc->pi[sc->byppid[mid]].ppid < parent)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < sc->n && sc->pi[sc->byppid[lo]].ppid == parent; lo++) {
			struct pinfo *c = &sc->pi[sc->byppid[lo]];
			if (!c->mark) {
				c->mark = true;
				queue[qn++] = sc->byppid[lo];
			}
		}
	}
	free(queue);

	size_t kept = 0, marked = 0;
	for (size_t i = 0; i < sc->n; i++)
		marked += sc->pi[i].mark;
	struct ident *nt = malloc((marked ? marked : 1) * sizeof *nt);
	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < sc->n; i++) {
		if (!sc->pi[i].mark)
			continue;
		if (kept == PROC_MAX_TRACKED) {
			p->dropped++;
			sc->pi[i].mark = false;
			continue;
		}
		nt[kept++] = (struct ident){ .pid = sc->pi[i].pid, .start = sc->pi[i].start };
	}
	free(p->trk);
	p->trk = nt;       /* already sorted: pi is in pid order */
	p->ntrk = kept;
	return before > kept ? (int)(before - kept) : 0;
}

/* Appends one entry per thread of process pi; a thread that vanished is skipped. */
static int add_threads(struct oncpu_proc *p, const struct pinfo *pi, struct oncpu_snapshot *s)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pi->pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;   /* exited since the scan */
	struct dirent *de;
	while ((de = readdir(d))) {
		long long tid;
		if (!isdigit((unsigned char)de->d_name[0]) || util_parse_i64(de->d_name, &tid))
			continue;
		if (s->n == ONCPU_MAX_ENTRIES) {
			p->dropped++;
			continue;
		}
		struct procstat_pid f;
		snprintf(path, sizeof path, "/proc/%d/task/%lld/stat", (int)pi->pid, tid);
		if (procstat_pid_read(path, &f))
			continue;
		/* schedstat is ns-exact; stat's ticks are the fallback without SCHED_INFO. */
		uint64_t ns = f.ticks * (1000000000ULL / (uint64_t)p->hz);
		char buf[128];
		snprintf(path, sizeof path, "/proc/%d/task/%lld/schedstat", (int)pi->pid, tid);
		if (util_read_line(path, buf, sizeof buf) == 0) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(buf, &end, 10);
			if (end != buf && !errno)
				ns = v;
		}
		struct oncpu_entry *e = &s->e[s->n++];
		e->pid = (int32_t)tid;
		e->tgid = pi->pid;
		e->ppid = pi->ppid;
		memcpy(e->comm, f.comm, sizeof e->comm);
		e->oncpu_ns = ns;
		e->measurement_ns = ns;   /* the tracked tree is pinned there (oncpu.h) */
	}
	closedir(d);
	return 0;
}

struct oncpu_proc *oncpu_proc_open(const struct cpuset *cpus)
{
	struct oncpu_proc *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->cpus = *cpus;
	p->hz = procstat_hz();
	if (p->hz <= 0)
		p->hz = 100;
	p->ps = procstat_open(NULL);
	if (!p->ps) {
		int err = errno;
		free(p);
		errno = err;
		return NULL;
	}
	return p;
}

int oncpu_proc_track(struct oncpu_proc *p, pid_t root)
{
	char path[64];
	struct procstat_pid f;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)root);
	int ret = procstat_pid_read(path, &f);
	if (ret)
		return ret == -ENOENT ? -ESRCH : ret;
	struct ident key = { .pid = root, .start = f.start };
	struct ident *have = p->ntrk ? bsearch(&key, p->trk, p->ntrk, sizeof *p->trk, cmp_ident) : NULL;
	if (have) {
		have->start = f.start;   /* the old holder of this pid is gone */
		return 0;
	}
	if (p->ntrk >= PROC_MAX_TRACKED)
		return -ENOSPC;
	struct ident *nt = realloc(p->trk, (p->ntrk + 1) * sizeof *nt);
	if (!nt)
		return -ENOMEM;
	p->trk = nt;
	p->trk[p->ntrk++] = key;
	qsort(p->trk, p->ntrk, sizeof *p->trk, cmp_ident);
	return 0;
}

int oncpu_proc_snapshot(struct oncpu_proc *p, struct oncpu_snapshot *out)
{
	struct scan sc;
	struct oncpu_snapshot s = { 0 };
	int ret = scan_proc(&sc);
	if (ret)
		return ret;
	ret = mark_trees(p, &sc);
	if (ret < 0)
		goto out;
	ret = 0;
	s.e = calloc(ONCPU_MAX_ENTRIES, sizeof *s.e);
	if (!s.e) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < sc.n; i++)
		if (sc.pi[i].mark && (ret = add_threads(p, &sc.pi[i], &s)))
			goto out;

	struct procstat_sample smp;
	if (procstat_read(p->ps, &p->cpus, &smp) == 0 && smp.total >= smp.busy) {
		s.idle_ns = (smp.total - smp.busy) * (1000000000ULL / (uint64_t)p->hz);
		s.busy_ns = smp.busy * (1000000000ULL / (uint64_t)p->hz);
	}
	s.dropped = p->dropped;
	s.taken_ns = util_mono_ns();
	/* Hand back only what is used: callers keep a snapshot per trial edge. */
	struct oncpu_entry *fit = realloc(s.e, (s.n ? s.n : 1) * sizeof *s.e);
	if (fit)
		s.e = fit;
	*out = s;
	s.e = NULL;
out:
	free(s.e);
	scan_free(&sc);
	return ret;
}

int oncpu_proc_gc(struct oncpu_proc *p)
{
	struct scan sc;
	int ret = scan_proc(&sc);
	if (ret)
		return ret;
	ret = mark_trees(p, &sc);
	scan_free(&sc);
	return ret;
}

void oncpu_proc_close(struct oncpu_proc *p)
{
	if (!p)
		return;
	procstat_close(p->ps);
	free(p->trk);
	free(p);
}
