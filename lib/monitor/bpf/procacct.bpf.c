/*
 * procacct.bpf.c — on-CPU time of every process on every package, interval
 * by interval (the host monitor; contract in procacct.h).
 *
 * A CPU's running slice is closed, and booked to the task that ran it, at
 * every sched_switch (for prev) and at every overflow of a per-CPU cpu-clock
 * perf event (for current), so a task that never switches out is still
 * booked every few ms.  The slice goes to the (tgid, package, start time)
 * entry of the running interval's hash map; a slice that began before the
 * running interval's tick is split at the tick's timestamp, its first part
 * going to the previous interval's map.  User space drains a map one whole
 * tick after its interval closed, by which time every CPU has closed its
 * slices past that point (the perf period is at most a tenth of a tick).
 *
 * Idle (pid 0) slices are not booked: the cpu-clock event does not fire on an
 * idle CPU, so they could not be closed tick by tick, and user space derives
 * idle time as CPU time minus booked busy time instead.
 *
 * raw_tp rather than tp_btf/fentry: works where trampolines do not (this
 * project's VMs), and hands us prev as a task_struct pointer all the same.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "procacct_bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PF_EXITING 0x00000004
/* errno values (vmlinux.h has no macros); the ABI fixes them. */
#define E2BIG 7
#define ENOMEM 12
#define EEXIST 17

/* Set by user space before load: the package index of each CPU, -1 = none. */
const volatile __s8 pkg_of_cpu[PROCACCT_BPF_MAX_CPUS] = {};

struct procacct_bpf_shared shared = {};
struct procacct_bpf_cpu cpus[PROCACCT_BPF_MAX_CPUS] = {};

#define EPOCH_MAP(name)                                          \
	struct {                                                 \
		__uint(type, BPF_MAP_TYPE_HASH);                 \
		__uint(max_entries, PROCACCT_BPF_MAX_ENTRIES);   \
		__type(key, struct procacct_bpf_key);            \
		__type(value, struct procacct_bpf_val);          \
	} name SEC(".maps")
EPOCH_MAP(epoch0);
EPOCH_MAP(epoch1);
EPOCH_MAP(epoch2);

/* Kernels before 5.5 name the boot-time start real_start_time. */
struct task_struct___old {
	__u64 real_start_time;
} __attribute__((preserve_access_index));

/* seq % 3, in a form the verifier can bound: clang folds "& 3" of a known
 * remainder away, barrier_var makes it keep it. */
static __always_inline __u64 epoch_of(__u64 seq)
{
	__u64 e = seq % PROCACCT_BPF_EPOCHS;
	barrier_var(e);
	return e & (PROCACCT_BPF_EPOCH_SLOTS - 1);
}

static __always_inline void *epoch_map(__u64 e)
{
	if (e == 0)
		return &epoch0;
	if (e == 1)
		return &epoch1;
	return &epoch2;
}

static __always_inline __u64 start_of(struct task_struct *leader)
{
	if (bpf_core_field_exists(leader->start_boottime))
		return BPF_CORE_READ(leader, start_boottime);
	return BPF_CORE_READ((struct task_struct___old *)leader, real_start_time);
}

/* The group is dead once its last thread passed the signal->live decrement in do_exit. */
static __always_inline bool group_dead(struct task_struct *t)
{
	return BPF_CORE_READ(t, signal, live.counter) == 0;
}

/* The entry of key in epoch e, created (with delta 0) when missing; NULL when the map is full. */
static __always_inline struct procacct_bpf_val *entry(__u64 e, struct procacct_bpf_key *key,
						      struct task_struct *t)
{
	void *map = epoch_map(e);
	struct procacct_bpf_val *v = bpf_map_lookup_elem(map, key);
	if (v)
		return v;
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	struct procacct_bpf_val nv = {
		.cgroup_id = bpf_get_current_cgroup_id(),   /* current is t: prev in sched_switch */
		.uid = BPF_CORE_READ(t, real_cred, uid.val),
	};
	BPF_CORE_READ_STR_INTO(&nv.comm, leader, comm);
	long err = bpf_map_update_elem(map, key, &nv, BPF_NOEXIST);
	if (err && err != -EEXIST && err != -E2BIG && err != -ENOMEM)
		__sync_fetch_and_add(&shared.lost, 1);
	/* -EEXIST: another CPU created it meanwhile; either way look again. */
	return bpf_map_lookup_elem(map, key);
}

static __always_inline void book(__u64 e, struct procacct_bpf_key *key, struct task_struct *t,
				 __u64 delta, bool exited)
{
	if (!delta && !exited)
		return;
	struct procacct_bpf_val *v = entry(e, key, t);
	if (!v) {
		__sync_fetch_and_add(&shared.dropped_ns[e][key->pkg & (PROCACCT_BPF_MAX_PKGS - 1)],
				     delta);
		return;
	}
	__sync_fetch_and_add(&v->cpu_ns, delta);
	if (exited)
		v->exited = 1;
}

/* Closes this CPU's slice at now, books it to t (if t is not idle), opens the next. */
static __always_inline void account(struct task_struct *t, __u64 now, bool exited)
{
	__u32 cpu = bpf_get_smp_processor_id();
	if (cpu >= PROCACCT_BPF_MAX_CPUS)
		return;
	struct procacct_bpf_cpu *c = &cpus[cpu & (PROCACCT_BPF_MAX_CPUS - 1)];
	__u64 start = c->start_ns;
	c->start_ns = now;
	__s8 pkg = pkg_of_cpu[cpu & (PROCACCT_BPF_MAX_CPUS - 1)];
	__u32 pid = BPF_CORE_READ(t, pid);
	if (!start || now <= start || pid == 0 || pkg < 0)
		return;

	struct procacct_bpf_key key = {
		.tgid = BPF_CORE_READ(t, tgid),
		.pkg = (__u32)pkg,
		.start_ns = start_of(BPF_CORE_READ(t, group_leader)),
	};
	__u64 seq = shared.seq;
	__u64 e = epoch_of(seq);
	__u64 tick = shared.tick_ns[e];
	if (start >= tick || seq == 0) {
		book(e, &key, t, now - start, exited);
	} else if (now <= tick) {   /* the tick came after now was read: all of it before */
		book(epoch_of(seq + 2), &key, t, now - start, exited);
	} else {
		book(epoch_of(seq + 2), &key, t, tick - start, false);
		book(e, &key, t, now - tick, exited);
	}
}

SEC("raw_tp/sched_switch")
int BPF_PROG(procacct_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();
	/* A dying group's last slices (after sched_process_exit) are marked too. */
	bool exited = (BPF_CORE_READ(prev, flags) & PF_EXITING) && group_dead(prev);
	account(prev, now, exited);
	return 0;
}

SEC("perf_event")
int procacct_clock(void *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	account((struct task_struct *)bpf_get_current_task(), now, false);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(procacct_exit, struct task_struct *p)
{
	if (!group_dead(p))
		return 0;
	__u32 cpu = bpf_get_smp_processor_id();
	if (cpu >= PROCACCT_BPF_MAX_CPUS)
		return 0;
	__s8 pkg = pkg_of_cpu[cpu & (PROCACCT_BPF_MAX_CPUS - 1)];
	if (pkg < 0)
		return 0;
	struct procacct_bpf_key key = {
		.tgid = BPF_CORE_READ(p, tgid),
		.pkg = (__u32)pkg,
		.start_ns = start_of(BPF_CORE_READ(p, group_leader)),
	};
	book(epoch_of(shared.seq), &key, p, 0, true);
	return 0;
}
