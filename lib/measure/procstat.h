/*
 * procstat.h — per-CPU busy time from /proc/stat, summed over a CPU set, and
 * the parser of /proc/<pid>/stat lines (oncpu's and procacct's /proc sources).
 *
 * Used by the model meter (busy seconds → estimated energy) and by calibration
 * (refuse to calibrate while the measurement CPUs are busy).
 *
 * busy  = user + nice + system + irq + softirq   (guest is inside user)
 * total = busy + idle + iowait + steal
 * Steal is left out of busy: the hypervisor ran someone else on the vCPU, so
 * none of it was our code drawing power.
 * in USER_HZ jiffies (sysconf(_SC_CLK_TCK)); both are cumulative since boot.
 *
 * The file descriptor stays open and is re-read with pread, so a read costs
 * one syscall and no path lookup.  Only the leading "cpu" lines are parsed;
 * at most PROCSTAT_MAX_BYTES are read.
 *
 * Ownership: procstat_open copies proc_root.  Thread safety: one reader per
 * struct procstat (it owns a scratch buffer).  Errors: 0 or -errno.
 */
#ifndef JT_PROCSTAT_H
#define JT_PROCSTAT_H

#include <stdint.h>

struct cpuset;

#define PROCSTAT_MAX_BYTES (1024 * 1024)

struct procstat_sample {
	uint64_t busy;       /* jiffies */
	uint64_t total;      /* jiffies */
	int ncpus;           /* CPUs of the set that /proc/stat listed */
};

/*
 * The fields of one /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat) line
 * that this project uses.  comm may hold spaces and ')', so the fields are
 * counted after the last ')'.  -EIO on a malformed line; processor is -1 when
 * the line stops before field 39 (very old kernels).
 */
struct procstat_pid {
	char comm[16];
	int ppid;               /* field 4 */
	uint64_t ticks;         /* utime + stime (fields 14, 15), clock ticks */
	uint64_t start;         /* starttime (field 22), clock ticks since boot */
	int processor;          /* field 39: the CPU it last ran on */
};
int procstat_pid_parse(const char *line, struct procstat_pid *out);
/* Reads and parses path; -errno of the read (-ENOENT: the task is gone) or -EIO. */
int procstat_pid_read(const char *path, struct procstat_pid *out);

/* proc_root NULL or "" → /proc/stat; else <proc_root>/proc/stat.  NULL + errno. */
struct procstat *procstat_open(const char *proc_root);
/*
 * Sums the "cpuN" lines of the CPUs in cpus (NULL = every cpuN line).  CPUs
 * missing from the file (offline) are skipped.  -EIO on a malformed file,
 * -EFBIG when the cpu lines exceed PROCSTAT_MAX_BYTES.
 */
int procstat_read(struct procstat *ps, const struct cpuset *cpus, struct procstat_sample *out);
/* USER_HZ: jiffies per second. */
long procstat_hz(void);
/* One jiffy (clock tick) in ns; 10 ms when USER_HZ cannot be had. */
uint64_t procstat_clk_ns(void);
void procstat_close(struct procstat *ps);   /* NULL is a no-op */

#endif
