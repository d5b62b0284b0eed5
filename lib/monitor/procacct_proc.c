/*
 * procacct_proc.c — the /proc source of the procacct module (contract in
 * procacct.h), for hosts where the bpf source cannot run.
 *
 * Each tick scans /proc once: every process's utime+stime (clock ticks), the
 * CPU it last ran on (field 39) and its start time (field 22, its identity
 * with the pid).  The interval's rows are the differences with the previous
 * scan, per (tgid, start), the whole of a process's time booked to the
 * package of that one CPU.  uid (/proc/<pid>/status) and cgroup are read once
 * per process, when it first shows up.  A process gone since the previous
 * scan gets a row with exited set and no time: what it ran after that scan is
 * not known.  Idle time per package comes from /proc/stat.
 *
 * The result is held back one tick, so both sources keep the same "one tick
 * late" contract and the caller pairs intervals with meter readings the same
 * way.
 */
#include "procacct_impl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "procstat.h"
#include "util.h"

/* pid_max can be at most 2^22: a /proc scan never legitimately holds more. */
#define PROC_MAX_PROCS (4 * 1024 * 1024)
#define STATUS_MAX (16 * 1024)

struct pent {
	int32_t tgid;
	int cpu;                     /* last ran on */
	uint64_t start;              /* clock ticks since boot */
	uint64_t ticks;              /* utime + stime */
	uint32_t uid;
	bool known;                  /* uid and cgroup filled in */
	bool booked;                 /* had time in some interval: worth an exit row */
	const char *cgroup;
	char comm[16];
};

struct table {
	struct pent *e;              /* sorted by (tgid, start) */
	size_t n, cap;
};

struct procacct_proc {
	struct pkgmap map;
	struct cgtab *cg;
	struct procstat *ps;
	uint64_t clk_ns;
	struct table prev, cur;      /* swapped each tick; their memory is kept */
	uint64_t seq;
	uint64_t t_prev;             /* CLOCK_MONOTONIC of the previous scan */
	uint64_t boot_prev;          /* CLOCK_BOOTTIME of the previous scan */
	uint64_t idle_prev[PKGMAP_MAX];   /* /proc/stat idle jiffies per package */
	struct procacct_interval held;    /* the interval handed out at the next tick */
};

static int cmp_pent(const void *pa, const void *pb)
{
	const struct pent *a = pa, *b = pb;
	if (a->tgid != b->tgid)
		return a->tgid < b->tgid ? -1 : 1;
	return a->start < b->start ? -1 : a->start > b->start;
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int scan(struct table *t)
{
	int ret = 0;
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	t->n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		long long pid;
		if (!isdigit((unsigned char)de->d_name[0]) || util_parse_i64(de->d_name, &pid) ||
		    pid <= 0 || pid > INT32_MAX)
			continue;
		if (t->n == t->cap) {
			size_t ncap = t->cap ? t->cap * 2 : 1024;
			struct pent *ne = ncap <= PROC_MAX_PROCS ? realloc(t->e, ncap * sizeof *ne) : NULL;
			if (!ne) {
				ret = ncap > PROC_MAX_PROCS ? -E2BIG : -ENOMEM;
				goto out;
			}
			t->e = ne;
			t->cap = ncap;
		}
		char path[64];
		struct procstat_pid f;
		snprintf(path, sizeof path, "/proc/%lld/stat", pid);
		if (procstat_pid_read(path, &f))
			continue;   /* exited since readdir */
		t->e[t->n++] = (struct pent){ .tgid = (int32_t)pid, .cpu = f.processor,
					      .start = f.start, .ticks = f.ticks };
		memcpy(t->e[t->n - 1].comm, f.comm, sizeof f.comm);
	}
	if (t->n > 1)
		qsort(t->e, t->n, sizeof *t->e, cmp_pent);
out:
	closedir(d);
	return ret;
}

/* Real uid from the "Uid:" line of /proc/<tgid>/status; 0 when unreadable. */
static uint32_t read_uid(int32_t tgid)
{
	char path[64];
	char *data = NULL;
	unsigned long uid = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)tgid);
	if (util_read_file(path, STATUS_MAX, &data, NULL))
		return 0;
	const char *l = strstr(data, "\nUid:");
	if (l)
		uid = strtoul(l + 5, NULL, 10);
	free(data);
	return (uint32_t)uid;
}

static int pkg_of(const struct procacct_proc *p, int cpu)
{
	return cpu >= 0 && cpu < CPUSET_MAX ? p->map.of_cpu[cpu] : -1;
}

static struct procacct_row *add_row(struct procacct_interval *iv, const struct procacct_proc *p,
				    const struct pent *e)
{
	struct procacct_row *r = &iv->rows[iv->n++];
	*r = (struct procacct_row){ .tgid = e->tgid, .pkg = pkg_of(p, e->cpu),
				    .start_ns = e->start * p->clk_ns, .uid = e->uid,
				    .cgroup = e->cgroup };
	memcpy(r->comm, e->comm, sizeof r->comm);
	return r;
}

/*
 * Walks cur against prev (both sorted): fills in the known processes' uid and
 * cgroup, reads them for new ones, and appends a row per process with time
 * (iv NULL: the first scan, only a baseline) and per vanished process.
 */
static void diff(struct procacct_proc *p, struct procacct_interval *iv)
{
	size_t i = 0;
	for (size_t j = 0; j < p->cur.n; j++) {
		struct pent *c = &p->cur.e[j];
		for (; i < p->prev.n && cmp_pent(&p->prev.e[i], c) < 0; i++)
			if (iv && p->prev.e[i].booked && pkg_of(p, p->prev.e[i].cpu) >= 0)
				add_row(iv, p, &p->prev.e[i])->exited = true;
		const struct pent *o = i < p->prev.n && cmp_pent(&p->prev.e[i], c) == 0
					       ? &p->prev.e[i++] : NULL;
		uint64_t base = c->ticks;   /* new and older than the previous scan: baseline */
		if (o) {
			c->uid = o->uid;
			c->cgroup = o->cgroup;
			c->known = true;
			c->booked = o->booked;
			base = o->ticks <= c->ticks ? o->ticks : c->ticks;
		} else if (c->start * p->clk_ns >= p->boot_prev) {
			base = 0;   /* started since the previous scan: all its time is new */
		}
		if (!c->known) {
			c->uid = read_uid(c->tgid);
			c->cgroup = cgtab_of_pid(p->cg, c->tgid);
			c->known = true;
		}
		if (iv && c->ticks > base && pkg_of(p, c->cpu) >= 0) {
			add_row(iv, p, c)->cpu_ns = (c->ticks - base) * p->clk_ns;
			c->booked = true;
		}
	}
	for (; iv && i < p->prev.n; i++)
		if (p->prev.e[i].booked && pkg_of(p, p->prev.e[i].cpu) >= 0)
			add_row(iv, p, &p->prev.e[i])->exited = true;
}

static void read_idle(struct procacct_proc *p, uint64_t idle[PKGMAP_MAX])
{
	for (int k = 0; k < p->map.n; k++) {
		struct procstat_sample smp;
		idle[k] = procstat_read(p->ps, &p->map.cpus[k], &smp) == 0 && smp.total >= smp.busy
				  ? smp.total - smp.busy : 0;
	}
}

int procacct_proc_tick(struct procacct_proc *p, uint64_t now_ns, struct procacct_interval *out)
{
	struct procacct_interval iv = { 0 };
	uint64_t idle[PKGMAP_MAX] = { 0 };
	uint64_t boot = boottime_ns();
	int ret = scan(&p->cur);
	if (ret)
		return ret;
	read_idle(p, idle);
	p->seq++;
	if (p->seq >= 2) {
		iv.rows = malloc((p->cur.n + p->prev.n + 1) * sizeof *iv.rows);
		if (!iv.rows)
			return -ENOMEM;
	}
	diff(p, iv.rows ? &iv : NULL);
	if (iv.rows) {
		iv.seq = p->seq - 1;
		iv.t0_ns = p->t_prev;
		iv.t1_ns = now_ns;
		procacct_rows_finish(&iv);
		for (int k = 0; k < p->map.n; k++)
			iv.idle_ns[k] = (idle[k] > p->idle_prev[k] ? idle[k] - p->idle_prev[k] : 0) *
					p->clk_ns;
		iv.valid = true;
	}
	*out = p->held;   /* the interval closed one tick ago, if any */
	p->held = iv;
	memcpy(p->idle_prev, idle, sizeof idle);
	p->t_prev = now_ns;
	p->boot_prev = boot;
	struct table t = p->prev;
	p->prev = p->cur;
	p->cur = t;
	return 0;
}

struct procacct_proc *procacct_proc_open(const struct pkgmap *m, struct cgtab *cg)
{
	struct procacct_proc *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->map = *m;
	p->cg = cg;
	p->clk_ns = procstat_clk_ns();
	p->ps = procstat_open(NULL);
	if (!p->ps) {
		int err = errno;
		procacct_proc_close(p);
		errno = err;
		return NULL;
	}
	return p;
}

void procacct_proc_close(struct procacct_proc *p)
{
	if (!p)
		return;
	procstat_close(p->ps);
	procacct_interval_free(&p->held);
	free(p->prev.e);
	free(p->cur.e);
	free(p);
}
