/*
 * oncpu_impl.h — private to the oncpu module (oncpu.c and oncpu_proc.c).
 * Nothing outside lib/oncpu*.c may include this.
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

/* Sorts s->e by pid (oncpu.c); both sources finish a snapshot with it. */
void oncpu_sort(struct oncpu_snapshot *s);

#endif
