/*
 * procacct_bpf.h — the memory layout shared by bpf/procacct.bpf.c and
 * procacct.c.  Private to the procacct module: nothing else may include it.
 *
 * Both sides must agree byte for byte, so only fixed-width kernel types are
 * used and every struct is padded by hand (procacct.c asserts the sizes).  The
 * BPF side gets __u64 & co. from vmlinux.h, user space from <linux/types.h>.
 */
#ifndef JT_PROCACCT_BPF_H
#define JT_PROCACCT_BPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Matches CPUSET_MAX: fixed arrays so the verifier sees bounds. */
#define PROCACCT_BPF_MAX_CPUS 1024
/* Matches PKGMAP_MAX. */
#define PROCACCT_BPF_MAX_PKGS 64
/* Intervals in flight: the running one, the one settling, the one drained. */
#define PROCACCT_BPF_EPOCHS 3
/* Arrays indexed by epoch have a fourth, unused slot: the verifier loses the
 * bounds of seq % 3 (compiled as seq - seq / 3 * 3), and e & 3 keeps it in. */
#define PROCACCT_BPF_EPOCH_SLOTS 4
/* Entries of one epoch's hash map: (process, package) pairs that ran in one
 * interval.  10,000 busy single-threaded processes on 3 packages fit. */
#define PROCACCT_BPF_MAX_ENTRIES 32768
#define PROCACCT_BPF_COMM_LEN 16

struct procacct_bpf_key {
	__u32 tgid;
	__u32 pkg;                   /* index into the pkgmap */
	__u64 start_ns;              /* group leader's start_boottime */
};

struct procacct_bpf_val {
	__u64 cpu_ns;                /* atomic adds: threads switch out on several CPUs at once */
	__u64 cgroup_id;             /* of the thread that created the entry */
	__u32 uid;                   /* real uid, initial user namespace */
	__u32 exited;                /* 1: the thread group was dead when booked or at exit */
	char comm[PROCACCT_BPF_COMM_LEN];   /* group leader's, when the entry was created */
};

/*
 * Written by user space at each tick, read by every program: seq is the tick
 * that opened the running interval (its epoch is seq % 3), tick_ns[e] the
 * CLOCK_MONOTONIC time at which the interval of epoch e began.  tick_ns[seq % 3]
 * is written before seq, and is rewritten only three ticks later.
 */
struct procacct_bpf_shared {
	__u64 seq;
	__u64 tick_ns[PROCACCT_BPF_EPOCH_SLOTS];
	__u64 lost;                  /* bpf: map updates that failed other than by a full map */
	__u64 pad[2];
	/* bpf adds, user space reads and zeroes the drained epoch: busy time of
	 * processes that found their epoch map full. */
	__u64 dropped_ns[PROCACCT_BPF_EPOCH_SLOTS][PROCACCT_BPF_MAX_PKGS];
};

/*
 * One per CPU, written only by that CPU (sched_switch with interrupts off, or
 * the cpu-clock event's interrupt): when the running slice began.  A cache
 * line each keeps CPUs off each other's lines.
 */
struct procacct_bpf_cpu {
	__u64 start_ns;              /* 0 = unknown (before this CPU's first event) */
	__u64 pad[7];
} __attribute__((aligned(64)));

#endif
