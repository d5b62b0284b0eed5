/*
 * procacct.c — see procacct.h.  The bpf source lives here (the only file that
 * includes libbpf or the generated build/procacct.skel.h); the /proc source
 * is procacct_proc.c, the cgroup paths procacct_cgroup.c.
 *
 * A tick, bpf source (tick number s, epochs mod 3, bpf/procacct.bpf.c):
 *   1. publish t_s and s: programs book into epoch s from now on, splitting a
 *      slice that began before t_s;
 *   2. drain epoch s-2 (the interval [t_{s-2}, t_{s-1}]) with batched
 *      lookup-and-delete: one syscall per few thousand entries, into buffers
 *      allocated at open;
 *   3. turn the entries into rows: start time rounded to clock ticks (so it
 *      matches /proc and the /proc source), cgroup path from the id cache.
 * Epoch s-1 is left alone for a whole tick: a slice crossing t_{s-1} is
 * closed by the cpu-clock event at most a tenth of a tick later.
 */
#include "procacct_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>

#include "bpf/procacct_bpf.h"
#include "procacct.skel.h"

#include "bpfsrc.h"
#include "log.h"
#include "procstat.h"
#include "util.h"

_Static_assert(sizeof(struct procacct_bpf_key) == 16, "key layout changed");
_Static_assert(sizeof(struct procacct_bpf_val) == 40, "value layout changed");
_Static_assert(sizeof(struct procacct_bpf_cpu) == 64, "cpu slot layout changed");
_Static_assert(sizeof(struct procacct_bpf_shared) ==
		       64 + 8 * PROCACCT_BPF_EPOCH_SLOTS * PROCACCT_BPF_MAX_PKGS,
	       "shared layout changed");
_Static_assert(PROCACCT_BPF_MAX_CPUS == CPUSET_MAX, "cpuset and BPF CPU array differ");
_Static_assert(PROCACCT_BPF_MAX_PKGS == PKGMAP_MAX, "pkgmap and BPF package array differ");
_Static_assert(PROCACCT_BPF_COMM_LEN == sizeof(((struct procacct_row *)0)->comm), "comm");

#define EPOCHS PROCACCT_BPF_EPOCHS

struct procacct {
	enum procacct_source src;
	struct pkgmap map;
	struct cgtab *cg;
	uint64_t dropped_total_ns;
	/* bpf */
	struct procacct_bpf *skel;
	int map_fd[EPOCHS];
	int *perf_fd;                      /* one cpu-clock event per mapped CPU */
	struct bpf_link **perf_link;
	int nperf;
	struct procacct_bpf_key *keys;     /* drain buffers, PROCACCT_BPF_MAX_ENTRIES each */
	struct procacct_bpf_val *vals;
	uint64_t seq;                      /* ticks so far */
	uint64_t tick_ns[EPOCHS];          /* t of tick s at [s % 3] */
	uint64_t clk_ns;                   /* one clock tick (USER_HZ) in ns */
	unsigned tick_ms;
	/* proc */
	struct procacct_proc *proc;
};

static int cmp_row(const void *pa, const void *pb)
{
	const struct procacct_row *a = pa, *b = pb;
	if (a->tgid != b->tgid)
		return a->tgid < b->tgid ? -1 : 1;
	if (a->start_ns != b->start_ns)
		return a->start_ns < b->start_ns ? -1 : 1;
	return a->pkg < b->pkg ? -1 : a->pkg > b->pkg;
}

void procacct_rows_finish(struct procacct_interval *iv)
{
	if (iv->n > 1)
		qsort(iv->rows, iv->n, sizeof *iv->rows, cmp_row);
	size_t w = 0;
	for (size_t r = 0; r < iv->n; r++) {
		/* equal keys: a pid reused within one clock tick, after rounding start_ns */
		if (w && cmp_row(&iv->rows[w - 1], &iv->rows[r]) == 0) {
			iv->rows[w - 1].cpu_ns += iv->rows[r].cpu_ns;
			iv->rows[w - 1].exited |= iv->rows[r].exited;
			continue;
		}
		iv->rows[w++] = iv->rows[r];
	}
	iv->n = w;
	for (int p = 0; p < PKGMAP_MAX; p++)
		iv->busy_ns[p] = iv->dropped_ns[p];
	for (size_t r = 0; r < iv->n; r++)
		iv->busy_ns[iv->rows[r].pkg] += iv->rows[r].cpu_ns;
}

static int perf_open_cpu(int cpu, uint64_t period_ns)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof attr,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = period_ns,
	};
	long fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

static void bpf_stop(struct procacct *a)
{
	for (int i = 0; i < a->nperf; i++) {
		bpf_link__destroy(a->perf_link[i]);
		if (a->perf_fd[i] >= 0)
			close(a->perf_fd[i]);
	}
	free(a->perf_link);
	free(a->perf_fd);
	a->perf_link = NULL;
	a->perf_fd = NULL;
	a->nperf = 0;
	procacct_bpf__destroy(a->skel);
	a->skel = NULL;
	free(a->keys);
	free(a->vals);
	a->keys = NULL;
	a->vals = NULL;
}

/* Empties epoch e's map into a->keys/a->vals; *n entries. */
static int drain(struct procacct *a, int e, size_t *n)
{
	return bpfsrc_batch(a->map_fd[e], true, a->keys, sizeof *a->keys, a->vals, sizeof *a->vals,
			    PROCACCT_BPF_MAX_ENTRIES, n);
}

/* One cpu-clock event per mapped CPU, each running procacct_clock on overflow. */
static int attach_clocks(struct procacct *a, char *why, size_t cap)
{
	uint64_t period = (uint64_t)a->tick_ms * 100000ULL;   /* a tenth of a tick */
	if (period < 1000000ULL)
		period = 1000000ULL;
	a->perf_fd = malloc(CPUSET_MAX * sizeof *a->perf_fd);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element */
	a->perf_link = calloc(CPUSET_MAX, sizeof *a->perf_link);
	if (!a->perf_fd || !a->perf_link) {
		util_say(why, cap, "bpf: out of memory");
		return -ENOMEM;
	}
	for (int c = 0; c < CPUSET_MAX; c++) {
		if (a->map.of_cpu[c] < 0)
			continue;
		int i = a->nperf++;
		a->perf_fd[i] = perf_open_cpu(c, period);
		if (a->perf_fd[i] < 0) {
			util_say(why, cap, "bpf: perf cpu-clock event on cpu%d: %s", c,
				 strerror(-a->perf_fd[i]));
			return a->perf_fd[i];
		}
		a->perf_link[i] = bpf_program__attach_perf_event(a->skel->progs.procacct_clock,
								 a->perf_fd[i]);
		if (!a->perf_link[i]) {
			int err = -errno;
			util_say(why, cap, "bpf: attach to the cpu-clock event of cpu%d: %s", c,
				 strerror(-err));
			return err;
		}
	}
	return 0;
}

static int bpf_start(void *ctx, char *why, size_t cap)
{
	struct procacct *a = ctx;
	int ret = 0;
	bpfsrc_log_install();
	a->keys = calloc(PROCACCT_BPF_MAX_ENTRIES, sizeof *a->keys);
	a->vals = calloc(PROCACCT_BPF_MAX_ENTRIES, sizeof *a->vals);
	if (!a->keys || !a->vals) {
		ret = -ENOMEM;
		util_say(why, cap, "bpf: out of memory");
		goto out;
	}
	a->skel = procacct_bpf__open();
	if (!a->skel) {
		ret = -errno;
		util_say(why, cap, "bpf: open: %s", strerror(errno));
		goto out;
	}
	for (int c = 0; c < CPUSET_MAX; c++)
		a->skel->rodata->pkg_of_cpu[c] = a->map.of_cpu[c];
	ret = procacct_bpf__load(a->skel);
	ret = bpfsrc_loaded(ret, ret ? NULL : a->skel->bss, why, cap);
	if (ret)
		goto out;
	a->map_fd[0] = bpf_map__fd(a->skel->maps.epoch0);
	a->map_fd[1] = bpf_map__fd(a->skel->maps.epoch1);
	a->map_fd[2] = bpf_map__fd(a->skel->maps.epoch2);
	/* Batched lookup-and-delete (5.6) is what keeps a tick cheap: no per-entry path. */
	size_t n;
	ret = drain(a, 0, &n);
	if (ret) {
		util_say(why, cap, "bpf: batched map operations: %s", strerror(-ret));
		goto out;
	}
	ret = attach_clocks(a, why, cap);
	if (ret)
		goto out;
	ret = procacct_bpf__attach(a->skel);
	if (ret)
		util_say(why, cap, "bpf: attach sched tracepoints: %s", strerror(-ret));
out:
	if (ret)
		bpf_stop(a);
	return ret;
}

static void to_row(struct procacct *a, const struct procacct_bpf_key *k,
		   const struct procacct_bpf_val *v, struct procacct_row *r)
{
	r->tgid = (int32_t)k->tgid;
	r->pkg = (int32_t)k->pkg;
	r->start_ns = k->start_ns - k->start_ns % a->clk_ns;
	r->cpu_ns = v->cpu_ns;
	r->uid = v->uid;
	r->cgroup_id = v->cgroup_id;
	r->cgroup = cgtab_of_id(a->cg, v->cgroup_id, r->tgid);
	memcpy(r->comm, v->comm, sizeof r->comm);
	r->comm[sizeof r->comm - 1] = '\0';
	r->exited = v->exited != 0;
}

static int bpf_tick(struct procacct *a, uint64_t now, struct procacct_interval *out)
{
	struct procacct_bpf_shared *sh = &a->skel->bss->shared;
	uint64_t s = ++a->seq;
	a->tick_ns[s % EPOCHS] = now;
	__atomic_store_n(&sh->tick_ns[s % EPOCHS], now, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->seq, s, __ATOMIC_RELEASE);   /* after its timestamp */
	if (s < 2)
		return 0;

	int e = (int)((s - 2) % EPOCHS);
	size_t n = 0;
	uint64_t dropped[PKGMAP_MAX] = { 0 };
	int ret = drain(a, e, &n);
	for (int p = 0; p < a->map.n; p++) {
		dropped[p] = __atomic_exchange_n(&sh->dropped_ns[e][p], 0, __ATOMIC_RELAXED);
		a->dropped_total_ns += dropped[p];
	}
	if (ret || s == 2)   /* s == 2 drained the partial interval before the first tick */
		return ret;

	out->rows = malloc((n ? n : 1) * sizeof *out->rows);
	if (!out->rows)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		to_row(a, &a->keys[i], &a->vals[i], &out->rows[i]);
	out->n = n;
	out->seq = s - 2;
	out->t0_ns = a->tick_ns[(s - 2) % EPOCHS];
	out->t1_ns = a->tick_ns[(s - 1) % EPOCHS];
	memcpy(out->dropped_ns, dropped, sizeof dropped);
	procacct_rows_finish(out);
	/* Idle slices are not booked (the clock event is silent on an idle CPU):
	 * whatever CPU time was not busy was idle. */
	uint64_t len = out->t1_ns - out->t0_ns;
	for (int p = 0; p < a->map.n; p++) {
		uint64_t cap = len * (uint64_t)cpuset_count(&a->map.cpus[p]);
		out->idle_ns[p] = cap > out->busy_ns[p] ? cap - out->busy_ns[p] : 0;
	}
	out->valid = true;
	return 0;
}

static int proc_start(void *ctx)
{
	struct procacct *a = ctx;
	a->proc = procacct_proc_open(&a->map, a->cg);
	return a->proc ? 0 : -errno;
}

struct procacct *procacct_open(const struct pkgmap *m, unsigned tick_ms, bool allow_bpf,
			       char *why, size_t cap)
{
	int ret = 0;
	struct procacct *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->map = *m;
	a->clk_ns = procstat_clk_ns();
	a->cg = cgtab_new();
	if (!a->cg) {
		ret = -ENOMEM;
		util_say(why, cap, "out of memory");
		goto out;
	}
	if (m->n < 1 || tick_ms == 0) {
		ret = -EINVAL;
		util_say(why, cap, "no packages, or a zero tick");
		goto out;
	}
	a->tick_ms = tick_ms;
	ret = bpfsrc_choose("procacct", allow_bpf, bpf_start, proc_start, a, why, cap);
	if (ret >= 0) {
		a->src = ret == BPFSRC_BPF ? PROCACCT_BPF : PROCACCT_PROC;
		ret = 0;
	}
out:
	if (ret) {
		cgtab_free(a->cg);
		free(a);
		errno = -ret;
		return NULL;
	}
	return a;
}

enum procacct_source procacct_source(const struct procacct *a)
{
	return a->src;
}

const char *procacct_source_name(enum procacct_source s)
{
	return s == PROCACCT_BPF ? "bpf" : "proc";
}

int procacct_tick(struct procacct *a, uint64_t *now_ns, struct procacct_interval *out)
{
	memset(out, 0, sizeof *out);
	uint64_t now = util_mono_ns();
	if (now_ns)
		*now_ns = now;
	int ret = a->src == PROCACCT_BPF ? bpf_tick(a, now, out)
					 : procacct_proc_tick(a->proc, now, out);
	if (ret)
		procacct_interval_free(out);
	return ret;
}

void procacct_interval_free(struct procacct_interval *iv)
{
	if (!iv)
		return;
	free(iv->rows);
	iv->rows = NULL;
	iv->n = 0;
	iv->valid = false;
}

void procacct_stats(const struct procacct *a, struct procacct_stats *out)
{
	memset(out, 0, sizeof *out);
	out->cgroups = cgtab_count(a->cg);
	out->dropped_total_ns = a->dropped_total_ns;
	if (a->skel)
		out->events_lost = __atomic_load_n(&a->skel->bss->shared.lost, __ATOMIC_RELAXED);
}

void procacct_close(struct procacct *a)
{
	if (!a)
		return;
	if (a->skel)
		bpf_stop(a);
	procacct_proc_close(a->proc);
	cgtab_free(a->cg);
	free(a);
}
