/*
 * oncpu.c — see oncpu.h.  The bpf source lives here; this is the only file
 * that includes libbpf or the generated skeleton (build/.../oncpu.skel.h).
 *
 * A bpf snapshot must be consistent with the slices still running, or a long
 * slice that ends while we read could be missed (a trial's last slice ends
 * right at the trial edge, exactly when the snapshot is taken).  So:
 *   1. copy every watched CPU's slot (who is running, since when);
 *   2. read the whole hash map (one batch syscall);
 *   3. per CPU, under the slot's seqlock, look up the thread running now and
 *      the one that was running at step 1 if it has switched out since;
 *      a window where seq did not move gives "completed + running since".
 * Each figure is a lower bound of that thread's true total at some instant
 * inside the snapshot, so the per-thread maximum is taken.  What remains
 * uncertain is at most the time the snapshot itself took, and it is not lost,
 * only counted in the next snapshot.
 */
#include "oncpu_impl.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/oncpu_bpf.h"
#include "oncpu.skel.h"

#include "bpfsrc.h"
#include "cpuset.h"
#include "log.h"
#include "util.h"

_Static_assert(ONCPU_MAX_ENTRIES == ONCPU_BPF_MAX_TASKS, "snapshot and map capacity differ");
_Static_assert(CPUSET_MAX == ONCPU_BPF_MAX_CPUS, "cpuset and BPF CPU mask differ");
_Static_assert(sizeof(struct oncpu_bpf_slot) == 64, "slot layout changed");
_Static_assert(sizeof(struct oncpu_bpf_task) == 40, "task layout changed");

/* A slot's writer holds the seqlock for about a microsecond; this is far beyond. */
#define SLOT_SPINS 100000
/* Retries of one CPU's consistent window before settling for lower bounds. */
#define CPU_TRIES 64

struct oncpu {
	enum oncpu_source src;
	struct cpuset cpus;              /* watched */
	struct cpuset measurement;       /* a subset of cpus */
	/* bpf */
	struct oncpu_bpf *skel;
	int map_fd;
	int ncpu;
	int *cpu_list;                   /* watched CPUs, ascending */
	struct oncpu_bpf_slot *pre;      /* step 1 copies, one per cpu_list entry */
	__u32 *keys;                     /* bulk read buffers, ONCPU_BPF_MAX_TASKS each */
	struct oncpu_bpf_task *vals;
	bool no_batch;                   /* kernel without map batch ops */
	/* proc */
	struct oncpu_proc *proc;
};

static int cmp_entry(const void *pa, const void *pb)
{
	const struct oncpu_entry *a = pa, *b = pb;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	/* Larger total first, so a dedup keeps the first of a run. */
	if (a->oncpu_ns != b->oncpu_ns)
		return a->oncpu_ns > b->oncpu_ns ? -1 : 1;
	return 0;
}

/* Sorted by pid, one entry per thread: a thread recorded twice (bpf: the map
 * and a slot) keeps its larger figures, each being a lower bound. */
static void sort_unique(struct oncpu_snapshot *s)
{
	if (s->n > 1)
		qsort(s->e, s->n, sizeof *s->e, cmp_entry);
	size_t w = 0;
	for (size_t r = 0; r < s->n; r++) {   /* sorted largest first within a pid */
		if (w == 0 || s->e[w - 1].pid != s->e[r].pid) {
			s->e[w++] = s->e[r];
			continue;
		}
		if (s->e[r].measurement_ns > s->e[w - 1].measurement_ns)
			s->e[w - 1].measurement_ns = s->e[r].measurement_ns;
	}
	s->n = w;
}

static void set_comm(char dst[16], const char *src)
{
	memcpy(dst, src, 15);
	dst[15] = '\0';
}

/* Seqlock read of one CPU's slot; the writer is that CPU's sched_switch. */
static int read_slot(const struct oncpu_bpf_slot *src, struct oncpu_bpf_slot *dst)
{
	for (int spin = 0; spin < SLOT_SPINS; spin++) {
		__u64 s1 = __atomic_load_n(&src->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			continue;
		dst->start_ns = __atomic_load_n(&src->start_ns, __ATOMIC_RELAXED);
		dst->idle_ns = __atomic_load_n(&src->idle_ns, __ATOMIC_RELAXED);
		dst->dropped = __atomic_load_n(&src->dropped, __ATOMIC_RELAXED);
		dst->pid = __atomic_load_n(&src->pid, __ATOMIC_RELAXED);
		dst->tgid = __atomic_load_n(&src->tgid, __ATOMIC_RELAXED);
		dst->ppid = __atomic_load_n(&src->ppid, __ATOMIC_RELAXED);
		for (size_t i = 0; i < sizeof dst->comm; i++)
			dst->comm[i] = __atomic_load_n(&src->comm[i], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&src->seq, __ATOMIC_RELAXED) == s1) {
			dst->seq = s1;
			return 0;
		}
	}
	return -EAGAIN;
}

static void from_task(struct oncpu_entry *e, __u32 pid, const struct oncpu_bpf_task *t)
{
	e->pid = (int32_t)pid;
	e->tgid = (int32_t)t->tgid;
	e->ppid = (int32_t)t->ppid;
	set_comm(e->comm, t->comm);
	e->oncpu_ns = t->oncpu_ns;
	e->measurement_ns = t->measurement_ns;
}

/* Whole hash map into o->keys/o->vals; *n entries. */
static int bulk_read(struct oncpu *o, size_t *n)
{
	size_t got = 0;
	if (!o->no_batch) {
		int err = bpfsrc_batch(o->map_fd, false, o->keys, sizeof *o->keys, o->vals,
				       sizeof *o->vals, ONCPU_BPF_MAX_TASKS, n);
		if (err == -ENOSPC)   /* map grew past capacity while we read: keep what fits */
			err = 0;
		if (err != -EOPNOTSUPP)
			return err;
		log_debug("oncpu: no map batch ops, iterating");
		o->no_batch = true;
	}
	__u32 key = 0, next;
	const void *prevp = NULL;
	while (got < ONCPU_BPF_MAX_TASKS && bpf_map_get_next_key(o->map_fd, prevp, &next) == 0) {
		if (bpf_map_lookup_elem(o->map_fd, &next, &o->vals[got]) == 0)
			o->keys[got++] = next;
		key = next;
		prevp = &key;
	}
	*n = got;
	return 0;
}

/*
 * Step 3 for one CPU: appends up to two records to e[*n] and adds the CPU's
 * idle and drop counts.
 */
static void settle_cpu(struct oncpu *o, int i, struct oncpu_entry *e, size_t *n,
		       uint64_t *idle, uint64_t *dropped, uint64_t *cut)
{
	const struct oncpu_bpf_slot *src = &o->skel->bss->slots[o->cpu_list[i]];
	const struct oncpu_bpf_slot *pre = &o->pre[i];
	struct oncpu_bpf_slot c0, c1;
	struct oncpu_bpf_task cur, prev;

	for (int try = 0; try < CPU_TRIES; try++) {
		if (read_slot(src, &c0))
			break;
		bool have_cur = c0.pid && bpf_map_lookup_elem(o->map_fd, &c0.pid, &cur) == 0;
		bool want_prev = pre->pid && pre->pid != c0.pid && pre->seq != c0.seq;
		bool have_prev = want_prev && bpf_map_lookup_elem(o->map_fd, &pre->pid, &prev) == 0;
		uint64_t t = util_mono_ns();
		if (read_slot(src, &c1))
			break;
		if (c1.seq != c0.seq)
			continue;

		uint64_t running = c0.start_ns && t > c0.start_ns ? t - c0.start_ns : 0;
		if (t > *cut)
			*cut = t;
		*idle += c0.idle_ns;
		*dropped += c0.dropped;
		if (c0.pid == 0) {
			*idle += running;
		} else {
			struct oncpu_entry *r = &e[(*n)++];
			if (have_cur) {
				from_task(r, c0.pid, &cur);
			} else {   /* first slice of this thread, not booked yet */
				r->pid = (int32_t)c0.pid;
				r->tgid = (int32_t)c0.tgid;
				r->ppid = (int32_t)c0.ppid;
				set_comm(r->comm, c0.comm);
				r->oncpu_ns = 0;
				r->measurement_ns = 0;
			}
			r->oncpu_ns += running;
			if (cpuset_isset(&o->measurement, o->cpu_list[i]))
				r->measurement_ns += running;
		}
		if (have_prev)
			from_task(&e[(*n)++], pre->pid, &prev);
		return;
	}
	/* This CPU switched on every try: the bulk figures stand as lower bounds. */
	log_debug("oncpu: cpu %d never quiet during a snapshot", o->cpu_list[i]);
	if (read_slot(src, &c1) == 0) {
		*idle += c1.idle_ns;
		*dropped += c1.dropped;
	}
}

static int bpf_snapshot(struct oncpu *o, struct oncpu_snapshot *out)
{
	for (int i = 0; i < o->ncpu; i++)
		if (read_slot(&o->skel->bss->slots[o->cpu_list[i]], &o->pre[i]))
			memset(&o->pre[i], 0, sizeof o->pre[i]);

	size_t nbulk = 0;
	int ret = bulk_read(o, &nbulk);
	if (ret)
		return ret;
	struct oncpu_entry *e = calloc(nbulk + 2 * (size_t)o->ncpu + 1, sizeof *e);
	if (!e)
		return -ENOMEM;
	size_t n = 0;
	for (size_t k = 0; k < nbulk; k++)
		from_task(&e[n++], o->keys[k], &o->vals[k]);

	uint64_t idle = 0, dropped = 0, cut = 0;
	for (int i = 0; i < o->ncpu; i++)
		settle_cpu(o, i, e, &n, &idle, &dropped, &cut);

	out->e = e;
	out->n = n;   /* a thread may appear twice: oncpu_snapshot keeps its larger figures */
	out->idle_ns = idle;
	out->dropped = dropped;
	/* Not the time now: a preemption after the last cut would stretch the
	 * window past what the entries cover. */
	out->taken_ns = cut ? cut : util_mono_ns();
	return 0;
}

/*
 * Time before a CPU's first switch after attach is unknown (start_ns 0), and
 * an idle tickless CPU may not switch for seconds.  Visiting each watched
 * CPU and sleeping there forces a switch, so snapshots are complete at once.
 */
static void prime_cpus(const struct oncpu *o)
{
	cpu_set_t old, one;
	if (sched_getaffinity(0, sizeof old, &old))
		return;
	for (int i = 0; i < o->ncpu; i++) {
		CPU_ZERO(&one);
		CPU_SET(o->cpu_list[i], &one);
		if (sched_setaffinity(0, sizeof one, &one))
			continue;   /* outside our cpuset: its first switch will do */
		nanosleep(&(struct timespec){ .tv_nsec = 1000 }, NULL);
	}
	if (sched_setaffinity(0, sizeof old, &old))
		log_warn("oncpu: could not restore CPU affinity: %s", strerror(errno));
}

static void bpf_stop(struct oncpu *o)
{
	oncpu_bpf__destroy(o->skel);
	o->skel = NULL;
	free(o->cpu_list);
	free(o->pre);
	free(o->keys);
	free(o->vals);
	o->cpu_list = NULL;
	o->pre = NULL;
	o->keys = NULL;
	o->vals = NULL;
}

static int bpf_start(void *ctx, char *why, size_t whylen)
{
	struct oncpu *o = ctx;
	int ret = 0;
	bpfsrc_log_install();

	o->ncpu = cpuset_count(&o->cpus);
	o->cpu_list = calloc((size_t)o->ncpu, sizeof *o->cpu_list);
	/* The slot type is 64-byte aligned (one cache line per CPU); calloc does not promise that. */
	o->pre = aligned_alloc(_Alignof(struct oncpu_bpf_slot), (size_t)o->ncpu * sizeof *o->pre);
	if (o->pre)
		memset(o->pre, 0, (size_t)o->ncpu * sizeof *o->pre);
	o->keys = calloc(ONCPU_BPF_MAX_TASKS, sizeof *o->keys);
	o->vals = calloc(ONCPU_BPF_MAX_TASKS, sizeof *o->vals);
	if (!o->cpu_list || !o->pre || !o->keys || !o->vals) {
		ret = -ENOMEM;
		util_say(why, whylen, "bpf: out of memory");
		goto out;
	}
	int k = 0;
	for (int c = cpuset_first(&o->cpus); c >= 0; c = cpuset_next(&o->cpus, c + 1))
		o->cpu_list[k++] = c;

	o->skel = oncpu_bpf__open();
	if (!o->skel) {
		ret = -errno;
		util_say(why, whylen, "bpf: open: %s", strerror(errno));
		goto out;
	}
	for (int i = 0; i < o->ncpu; i++) {
		int c = o->cpu_list[i];
		o->skel->rodata->cpu_mask[c / 64] |= 1ULL << (c % 64);
		if (cpuset_isset(&o->measurement, c))
			o->skel->rodata->measurement_mask[c / 64] |= 1ULL << (c % 64);
	}
	ret = oncpu_bpf__load(o->skel);
	ret = bpfsrc_loaded(ret, ret ? NULL : o->skel->bss, why, whylen);
	if (ret)
		goto out;
	ret = oncpu_bpf__attach(o->skel);
	if (ret) {
		util_say(why, whylen, "bpf: attach sched_switch: %s", strerror(-ret));
		goto out;
	}
	o->map_fd = bpf_map__fd(o->skel->maps.tasks);
	prime_cpus(o);
out:
	if (ret)
		bpf_stop(o);
	return ret;
}

static int proc_start(void *ctx)
{
	struct oncpu *o = ctx;
	o->proc = oncpu_proc_open(&o->cpus);
	return o->proc ? 0 : -errno;
}

struct oncpu *oncpu_open(const struct cpuset *cpus, const struct cpuset *measurement,
			 bool allow_bpf, char *why, size_t whylen)
{
	int ret = 0;
	struct oncpu *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	if (cpus) {
		o->cpus = *cpus;
	} else {
		for (int c = 0; c < CPUSET_MAX; c++)
			cpuset_set(&o->cpus, c);
	}
	if (measurement)
		cpuset_and(&o->measurement, measurement, &o->cpus);
	else
		o->measurement = o->cpus;
	if (cpuset_count(&o->cpus) == 0 || cpuset_count(&o->measurement) == 0) {
		ret = -EINVAL;
		util_say(why, whylen, "no watched or no measurement CPUs");
		goto out;
	}
	ret = bpfsrc_choose("oncpu", allow_bpf, bpf_start, proc_start, o, why, whylen);
	if (ret >= 0) {
		o->src = ret == BPFSRC_BPF ? ONCPU_BPF : ONCPU_PROC;
		ret = 0;
	}
out:
	if (ret) {
		free(o);
		errno = -ret;
		return NULL;
	}
	return o;
}

enum oncpu_source oncpu_source(const struct oncpu *o)
{
	return o->src;
}

const char *oncpu_source_name(enum oncpu_source s)
{
	return s == ONCPU_BPF ? "bpf" : "proc";
}

int oncpu_track(struct oncpu *o, pid_t root)
{
	return o->src == ONCPU_PROC ? oncpu_proc_track(o->proc, root) : 0;
}

int oncpu_snapshot(struct oncpu *o, struct oncpu_snapshot *out)
{
	memset(out, 0, sizeof *out);
	int err = o->src == ONCPU_PROC ? oncpu_proc_snapshot(o->proc, out) : bpf_snapshot(o, out);
	if (!err)
		sort_unique(out);
	return err;
}

int oncpu_diff(const struct oncpu_snapshot *a, const struct oncpu_snapshot *b,
	       struct oncpu_snapshot *out)
{
	memset(out, 0, sizeof *out);
	struct oncpu_entry *e = calloc(b->n ? b->n : 1, sizeof *e);
	if (!e)
		return -ENOMEM;
	size_t i = 0, k = 0;
	for (size_t j = 0; j < b->n; j++) {
		const struct oncpu_entry *y = &b->e[j];
		while (i < a->n && a->e[i].pid < y->pid)
			i++;
		uint64_t base = 0;
		if (i < a->n && a->e[i].pid == y->pid && a->e[i].oncpu_ns <= y->oncpu_ns)
			base = a->e[i].oncpu_ns;
		if (y->oncpu_ns == base)
			continue;
		e[k] = *y;
		e[k].oncpu_ns = y->oncpu_ns - base;
		/* a reused tid (base 0) counts from 0 for both */
		uint64_t mbase = base ? a->e[i].measurement_ns : 0;
		e[k++].measurement_ns = y->measurement_ns > mbase ? y->measurement_ns - mbase : 0;
	}
	out->e = e;
	out->n = k;
	out->idle_ns = b->idle_ns > a->idle_ns ? b->idle_ns - a->idle_ns : 0;
	out->busy_ns = b->busy_ns > a->busy_ns ? b->busy_ns - a->busy_ns : 0;
	out->dropped = b->dropped > a->dropped ? b->dropped - a->dropped : 0;
	out->taken_ns = b->taken_ns > a->taken_ns ? b->taken_ns - a->taken_ns : 0;
	return 0;
}

static int cmp_pid_key(const void *key, const void *elem)
{
	pid_t pid = *(const pid_t *)key;
	const struct oncpu_entry *e = elem;
	return pid < e->pid ? -1 : pid > e->pid;
}

const struct oncpu_entry *oncpu_find(const struct oncpu_snapshot *s, pid_t pid)
{
	if (!s->n)
		return NULL;
	return bsearch(&pid, s->e, s->n, sizeof *s->e, cmp_pid_key);
}

void oncpu_snapshot_free(struct oncpu_snapshot *s)
{
	if (!s)
		return;
	free(s->e);
	s->e = NULL;
	s->n = 0;
}

int oncpu_gc(struct oncpu *o)
{
	if (o->src == ONCPU_PROC)
		return oncpu_proc_gc(o->proc);
	size_t n = 0;
	int ret = bulk_read(o, &n);
	if (ret)
		return ret;
	int gone = 0;
	for (size_t k = 0; k < n; k++) {
		/* Signal 0 probes existence; EPERM still means "exists". */
		if (syscall(SYS_tgkill, (pid_t)o->vals[k].tgid, (pid_t)o->keys[k], 0) == 0 ||
		    errno != ESRCH)
			continue;
		if (bpf_map_delete_elem(o->map_fd, &o->keys[k]) == 0)
			gone++;
	}
	return gone;
}

void oncpu_close(struct oncpu *o)
{
	if (!o)
		return;
	if (o->skel)
		bpf_stop(o);
	oncpu_proc_close(o->proc);
	free(o);
}
