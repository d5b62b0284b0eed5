/*
 * station.h — this machine as a measuring station: its CPU layout (and the
 * calling thread pinned to the infra CPUs, so it never runs where it
 * measures), its identity, and on request its energy meter and the on-CPU
 * source over the measurement package.  The one set-up jouletrace-worker,
 * jouletrace-calibrate and jouletrace-run share.
 *
 * Ownership: the station owns the meter and the on-CPU source until
 * station_close.  Thread safety: set up and closed by one thread; the parts
 * keep their own rules (meter.h, oncpu.h).  Errors: 0 or -errno, with one
 * line in why saying which part failed.
 */
#ifndef JT_STATION_H
#define JT_STATION_H

#include <stddef.h>

#include "cpuset.h"
#include "hostid.h"

struct jt_config;
struct meter;
struct oncpu;

enum station_part {
	STATION_METER = 1u << 0,  /* meter_open_config over the package */
	STATION_ONCPU = 1u << 1,  /* oncpu_open: the package watched, its measurement CPUs apart */
};

struct station {
	struct cpu_layout layout;
	struct hostid host;
	struct meter *meter;      /* NULL unless STATION_METER */
	struct oncpu *oncpu;      /* NULL unless STATION_ONCPU */
	char meter_why[512];      /* how the meter was chosen, or why none */
	char oncpu_why[256];      /* why the BPF source is not in use ("" when it is) */
};

/*
 * cfg's measurement_cpus, infra_cpus, meter, powercap_root, model_* and
 * attribution_source ("bpf" refuses the /proc fallback with -ENOTSUP).  A
 * failed pin is only logged.  On error the parts opened are closed again.
 */
int station_open(struct station *s, const struct jt_config *cfg, unsigned parts, char *why,
		 size_t cap);
void station_close(struct station *s);   /* a zeroed station is fine */

#endif
