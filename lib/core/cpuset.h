/*
 * cpuset.h — fixed-size CPU sets, the kernel's CPU-list syntax, sysfs topology,
 * and the choice of measurement ("socket 0") and infra CPUs (SPEC §1).
 *
 * A struct cpuset is a plain value (no heap), so it can be copied, compared and
 * kept on the stack.  CPUs at or above CPUSET_MAX cannot be represented; the
 * parser rejects them and the bit setters ignore them.
 *
 * sysfs_root: "" (or NULL) reads the real /sys; a directory path reads
 * <root>/sys/devices/system/cpu/... so tests can build a fake tree.
 *
 * Errors: 0 or -errno (-EINVAL for bad syntax, the read error for sysfs).
 * Thread safety: every function is reentrant; no shared state.
 */
#ifndef JT_CPUSET_H
#define JT_CPUSET_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPUSET_MAX 1024

struct cpuset {
	uint64_t bits[CPUSET_MAX / 64];
};

/*
 * Parses "0-3,5,7-8" (surrounding whitespace, e.g. a sysfs newline, is allowed).
 * -EINVAL on junk, an empty list, a reversed range, or a CPU >= CPUSET_MAX;
 * *out is untouched on error.
 */
int cpuset_parse(const char *s, struct cpuset *out);
/* Canonical "0-3,5" ("" for the empty set).  -ENOSPC if cap is too small. */
int cpuset_format(const struct cpuset *s, char *buf, size_t cap);

void cpuset_zero(struct cpuset *s);
void cpuset_set(struct cpuset *s, int cpu);      /* out-of-range cpu ignored */
void cpuset_clear(struct cpuset *s, int cpu);    /* out-of-range cpu ignored */
bool cpuset_isset(const struct cpuset *s, int cpu);
int cpuset_count(const struct cpuset *s);
int cpuset_first(const struct cpuset *s);        /* lowest CPU, -ENOENT if empty */
int cpuset_last(const struct cpuset *s);         /* highest CPU, -ENOENT if empty */
int cpuset_next(const struct cpuset *s, int cpu);/* lowest CPU >= cpu, -ENOENT if none */
bool cpuset_equal(const struct cpuset *a, const struct cpuset *b);
bool cpuset_subset(const struct cpuset *sub, const struct cpuset *of);
/* out may alias a or b. */
void cpuset_and(struct cpuset *out, const struct cpuset *a, const struct cpuset *b);
void cpuset_or(struct cpuset *out, const struct cpuset *a, const struct cpuset *b);
void cpuset_andnot(struct cpuset *out, const struct cpuset *a, const struct cpuset *b);
void cpuset_to_cpu_set(const struct cpuset *s, cpu_set_t *out);
/* Pins the calling thread (and what it creates later) to s.  0 or -errno. */
int cpuset_pin_self(const struct cpuset *s);

/*
 * The name and affinity (Name, Cpus_allowed_list of
 * <proc_root>/proc/<pid>/status; proc_root "" or NULL: the real /proc) of
 * one process.  0, or -errno (-ENOENT: no such process).
 */
struct cpuset_proc {
	int pid;
	char comm[16];
	struct cpuset allowed;
};
int cpuset_proc_affinity(const char *proc_root, int pid, struct cpuset_proc *out);

/* <root>/sys/devices/system/cpu/online. */
int cpuset_online(const char *sysfs_root, struct cpuset *out);
/* <root>/sys/devices/system/cpu/isolated; empty or missing file → empty set. */
int cpuset_isolated(const char *sysfs_root, struct cpuset *out);
/* topology/physical_package_id of cpu (>= 0), or -errno (-ENOENT if absent). */
int cpuset_package_of(const char *sysfs_root, int cpu);

struct cpu_layout {
	struct cpuset measurement;   /* "socket 0": where candidates run */
	struct cpuset infra;         /* server, worker, Redis, validation runs */
	/* Every online CPU of the measurement CPUs' package(s): package energy is
	 * theirs, so attribution watches all of them (issue 8). */
	struct cpuset package;
	int socket;                  /* package of the first measurement CPU */
	bool shared_package;         /* package holds other CPUs, or infra CPUs */
	char why[160];               /* how it was chosen, or why it failed */
};

/*
 * SPEC §1.  measurement_cfg / infra_cfg are "auto" (or NULL) or a CPU list.
 * measurement auto: the isolcpus set (online part) when non-empty; else, with
 * several packages, the online CPUs of the lowest-numbered package; else the
 * highest-numbered online CPU.  infra auto: online minus measurement minus
 * isolated CPUs; if that is empty, online minus measurement; if that is empty
 * too (one CPU), all online CPUs.  Explicit lists must be online; explicit
 * overlap is allowed and noted.  -EINVAL (reason in out->why) for a bad list or
 * an offline CPU; sysfs read errors are returned as -errno.
 */
int cpuset_resolve(const char *sysfs_root, const char *measurement_cfg,
		   const char *infra_cfg, struct cpu_layout *out);

#endif
