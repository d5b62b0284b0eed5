/*
 * oncpu.bpf.c — per-thread on-CPU time on the watched CPUs (the measurement
 * package), with the part spent on the measurement CPUs kept apart.
 *
 * Every sched_switch on a watched CPU closes the slice of the task leaving
 * (prev) and opens one for the task arriving (next).  A closed slice is added
 * to prev's entry in the "tasks" hash; idle (pid 0) goes to the CPU's slot.
 * Time is booked at switch-out, so a task that exits is still counted: its
 * last switch-out (prev_state dead) happens on the way out of do_exit.  The
 * slice that is still open is left in the CPU's slot for user space, which
 * adds it at snapshot time (an isolated CPU running one task may not switch
 * for a whole trial).
 *
 * raw_tp rather than the classic tracepoint because it hands us both
 * task_structs, so next's tgid/ppid/comm are known at switch-in without a
 * lookup, and it skips the trace-buffer formatting.  The argument order
 * (preempt, prev, next) has been stable since raw tracepoints exist.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "oncpu_bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space before load; frozen afterwards, so the verifier sees
 * constants.  measurement_mask is a subset of cpu_mask. */
const volatile __u64 cpu_mask[ONCPU_BPF_MAX_CPUS / 64] = {};
const volatile __u64 measurement_mask[ONCPU_BPF_MAX_CPUS / 64] = {};

struct oncpu_bpf_slot slots[ONCPU_BPF_MAX_CPUS] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ONCPU_BPF_MAX_TASKS);
	__type(key, __u32);
	__type(value, struct oncpu_bpf_task);
} tasks SEC(".maps");

static __always_inline void book(struct task_struct *prev, __u32 pid, __u64 delta,
				 bool measurement, struct oncpu_bpf_slot *s)
{
	struct oncpu_bpf_task *t = bpf_map_lookup_elem(&tasks, &pid);
	if (t) {
		/* One writer per thread: a thread is switched out on one CPU at a time. */
		t->oncpu_ns += delta;
		if (measurement)
			t->measurement_ns += delta;
		/* exec renames, reparenting changes ppid, a reused tid changes both. */
		t->tgid = BPF_CORE_READ(prev, tgid);
		t->ppid = BPF_CORE_READ(prev, real_parent, tgid);
		BPF_CORE_READ_STR_INTO(&t->comm, prev, comm);
		return;
	}
	struct oncpu_bpf_task nt = {
		.oncpu_ns = delta,
		.measurement_ns = measurement ? delta : 0,
		.tgid = BPF_CORE_READ(prev, tgid),
		.ppid = BPF_CORE_READ(prev, real_parent, tgid),
	};
	BPF_CORE_READ_STR_INTO(&nt.comm, prev, comm);
	if (bpf_map_update_elem(&tasks, &pid, &nt, BPF_NOEXIST) != 0)
		s->dropped++;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(oncpu_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 cpu = bpf_get_smp_processor_id();
	if (cpu >= ONCPU_BPF_MAX_CPUS)
		return 0;
	if (!(cpu_mask[cpu / 64] & (1ULL << (cpu % 64))))
		return 0;

	struct oncpu_bpf_slot *s = &slots[cpu & (ONCPU_BPF_MAX_CPUS - 1)];
	__u64 now = bpf_ktime_get_ns();

	/* Locked add: a full barrier on x86, so readers see seq odd before the fields change. */
	__sync_fetch_and_add(&s->seq, 1);
	if (s->start_ns && now > s->start_ns) {
		__u64 delta = now - s->start_ns;
		__u32 pid = BPF_CORE_READ(prev, pid);
		if (pid == 0)
			s->idle_ns += delta;
		else
			book(prev, pid, delta,
			     measurement_mask[cpu / 64] & (1ULL << (cpu % 64)), s);
	}
	s->start_ns = now;
	s->pid = BPF_CORE_READ(next, pid);
	s->tgid = BPF_CORE_READ(next, tgid);
	s->ppid = BPF_CORE_READ(next, real_parent, tgid);
	BPF_CORE_READ_STR_INTO(&s->comm, next, comm);
	__sync_fetch_and_add(&s->seq, 1);
	return 0;
}
