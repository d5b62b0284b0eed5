/*
 * oncpu_bpf.h — the memory layout shared by bpf/oncpu.bpf.c and lib/oncpu.c.
 * Private to the oncpu module: nothing else may include it.
 *
 * Both sides must agree byte for byte, so only fixed-width kernel types are used
 * and every struct is padded by hand.  The BPF side gets __u64 & co. from
 * vmlinux.h, user space from <linux/types.h>.
 */
#ifndef JT_ONCPU_BPF_H
#define JT_ONCPU_BPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Matches CPUSET_MAX: the CPU mask is a fixed array so the verifier sees bounds. */
#define ONCPU_BPF_MAX_CPUS 1024
/* Hash map capacity (threads); a full map counts drops instead of evicting. */
#define ONCPU_BPF_MAX_TASKS 16384
#define ONCPU_BPF_COMM_LEN 16

/* Value of the "tasks" hash map, keyed by thread id (__u32). */
struct oncpu_bpf_task {
	__u64 oncpu_ns;              /* completed slices on watched CPUs */
	__u64 measurement_ns;        /* the part of it on the measurement CPUs */
	__u32 tgid;
	__u32 ppid;                  /* real_parent's tgid at the last switch-out */
	char comm[ONCPU_BPF_COMM_LEN];
};

/*
 * One per CPU, written only by that CPU's sched_switch, read lock-free by user
 * space: seq is odd while a switch is updating the slot (a seqlock), so a
 * reader that sees the same even seq before and after copying has a
 * consistent copy.  A 64-byte slot keeps CPUs off each other's cache lines.
 */
struct oncpu_bpf_slot {
	__u64 seq;
	__u64 start_ns;              /* CLOCK_MONOTONIC switch-in of the current task; 0 = unknown */
	__u64 idle_ns;               /* completed idle (pid 0) slices */
	__u64 dropped;               /* slices lost because the hash map was full */
	__u32 pid;                   /* current task: thread id, 0 = idle */
	__u32 tgid;
	__u32 ppid;
	__u32 pad;
	char comm[ONCPU_BPF_COMM_LEN];
} __attribute__((aligned(64)));

#endif
