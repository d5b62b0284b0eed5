/*
 * switchcost.bpf.c — what a sched_switch hook costs on this machine, apart
 * from what the host monitor's program does (bench/switch_cost.py).  Each
 * program is loaded and measured alone; the variants add one thing at a time:
 *   empty     the hook and kernel.bpf_stats_enabled's own clock reads;
 *   clock     + bpf_ktime_get_ns and a per-CPU slot (the slice bookkeeping);
 *   identity  + the leaving task's pid, tgid and its group leader's start
 *               time (the process key procacct.bpf.c reads);
 *   hashed    + one hash-map lookup and atomic add of that key (the booking).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct proc_key {
	__u32 tgid, pad;
	__u64 start_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, struct proc_key);
	__type(value, __u64);
} booked SEC(".maps");

/* A cache line per CPU, as procacct.bpf.c's per-CPU slots: no false sharing. */
struct slot {
	__u64 start_ns;
	__u64 pad[7];
} __attribute__((aligned(64)));
struct slot slot[1024];   /* pad[0] takes what a variant reads, so clang keeps the reads */

SEC("raw_tp/sched_switch")
int BPF_PROG(empty, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(clock, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 cpu = bpf_get_smp_processor_id() & 1023;
	__u64 now = bpf_ktime_get_ns();
	slot[cpu].pad[0] += now - slot[cpu].start_ns;
	slot[cpu].start_ns = now;
	return 0;
}

/* The leaving task's process key; false for idle (pid 0). */
static __always_inline bool key_of(struct task_struct *prev, struct proc_key *k)
{
	if (BPF_CORE_READ(prev, pid) == 0)
		return false;
	k->tgid = BPF_CORE_READ(prev, tgid);
	k->start_ns = BPF_CORE_READ(prev, group_leader, start_boottime);
	return true;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(identity, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 cpu = bpf_get_smp_processor_id() & 1023;
	__u64 now = bpf_ktime_get_ns();
	struct proc_key k = {};
	if (!key_of(prev, &k))
		return 0;
	slot[cpu].pad[0] += k.tgid + k.start_ns + now - slot[cpu].start_ns;
	slot[cpu].start_ns = now;
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(hashed, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 cpu = bpf_get_smp_processor_id() & 1023;
	__u64 now = bpf_ktime_get_ns();
	struct proc_key k = {};
	if (!key_of(prev, &k))
		return 0;
	__u64 *v = bpf_map_lookup_elem(&booked, &k);
	if (!v) {
		__u64 zero = 0;
		bpf_map_update_elem(&booked, &k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&booked, &k);
		if (!v)
			return 0;
	}
	__sync_fetch_and_add(v, now - slot[cpu].start_ns);
	slot[cpu].start_ns = now;
	return 0;
}
