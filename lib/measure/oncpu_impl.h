/*
 * oncpu_impl.h — private to the oncpu module: the /proc source (oncpu_proc.c),
 * which oncpu.c dispatches to.  It depends on nothing of oncpu.c: oncpu.c
 * sorts what either source gathered.
 * Nothing outside lib/measure/oncpu*.c may include this.
 */
#ifndef JT_ONCPU_IMPL_H
#define JT_ONCPU_IMPL_H

#include "oncpu.h"

struct oncpu_proc;

/* The /proc source (oncpu_proc.c); same contracts as the public calls. */
struct oncpu_proc *oncpu_proc_open(const struct cpuset *cpus);
int oncpu_proc_track(struct oncpu_proc *p, pid_t root);
int oncpu_proc_snapshot(struct oncpu_proc *p, struct oncpu_snapshot *out);
int oncpu_proc_gc(struct oncpu_proc *p);
void oncpu_proc_close(struct oncpu_proc *p);

#endif
