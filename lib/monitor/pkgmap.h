/*
 * pkgmap.h — which CPU belongs to which package, for the host monitor.
 *
 * Packages are numbered as the kernel numbers them (physical_package_id), or
 * as the config key monitor_packages says ("auto", or "P=CPUS;P=CPUS", e.g.
 * "0=0;1=1": an operator override for VMs whose topology is made up, and the
 * way tests give a 2-CPU machine two packages).  Only online CPUs are mapped.
 *
 * A struct pkgmap is a plain value (no heap).  Errors: 0 or -errno, with a
 * reason in why (-EINVAL: bad text, a CPU in two packages, an offline CPU,
 * more than PKGMAP_MAX packages).  Reentrant.
 */
#ifndef JT_PKGMAP_H
#define JT_PKGMAP_H

#include <stddef.h>

#include "cpuset.h"

#define PKGMAP_MAX 64          /* packages; ids 0..PKGMAP_MAX-1 */

struct pkgmap {
	int n;                              /* packages, ordered by id */
	int id[PKGMAP_MAX];                 /* package number, as in powercap's package-N */
	struct cpuset cpus[PKGMAP_MAX];     /* its online CPUs */
	signed char of_cpu[CPUSET_MAX];     /* index into id[]/cpus[] of each CPU, -1 = none */
};

/* sysfs_root as in cpuset.h ("" = the real /sys); spec "auto"/NULL or the override. */
int pkgmap_build(const char *sysfs_root, const char *spec, struct pkgmap *out,
		 char *why, size_t cap);

#endif
