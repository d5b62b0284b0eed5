/*
 * procacct_impl.h — private to the procacct module (procacct*.c): the cgroup
 * path table both sources share (procacct_cgroup.c), the /proc source
 * (procacct_proc.c), and what procacct.c does to either source's rows.
 * Nothing outside lib/monitor/procacct*.c may include this.
 */
#ifndef JT_PROCACCT_IMPL_H
#define JT_PROCACCT_IMPL_H

#include "procacct.h"

/*
 * cgroup paths.  Strings are interned by content and kept until cgtab_free,
 * because the ledger borrows them (procacct.h); at most CGTAB_MAX_PATHS
 * distinct paths, later new ones read as "".  The id → path cache in front of
 * it holds at most CGTAB_MAX_IDS ids and is emptied when full, so ids of
 * cgroups long gone do not pile up (a live one costs one more read).
 */
#define CGTAB_MAX_PATHS 65536
#define CGTAB_MAX_IDS 4096

struct cgtab;
struct cgtab *cgtab_new(void);                 /* NULL + errno */
/* The path of the cgroup v2 id, read from /proc/<tgid>/cgroup when the id is
 * new; "" for id 0 or when unreadable (retried when the id is seen again). */
const char *cgtab_of_id(struct cgtab *t, uint64_t id, int32_t tgid);
/* The path of tgid's cgroup read now, uncached by id (the /proc source). */
const char *cgtab_of_pid(struct cgtab *t, int32_t tgid);
size_t cgtab_count(const struct cgtab *t);     /* interned paths */
void cgtab_free(struct cgtab *t);

/*
 * Sorts iv->rows by (tgid, start_ns, pkg), merges rows with the same key
 * (cpu_ns summed, exited or-ed), and sets busy_ns = Σ cpu_ns + dropped_ns per
 * package.  idle_ns is the caller's.
 */
void procacct_rows_finish(struct procacct_interval *iv);

/* The /proc source (procacct_proc.c); the same contracts as the public calls. */
struct procacct_proc;
struct procacct_proc *procacct_proc_open(const struct pkgmap *m, struct cgtab *cg);
int procacct_proc_tick(struct procacct_proc *p, uint64_t now_ns, struct procacct_interval *out);
void procacct_proc_close(struct procacct_proc *p);

#endif
