/*
 * meter.h — cumulative energy counters for one package ("socket 0"), SPEC §2.
 *
 * Back ends (chosen by meter_options.kind):
 *   powercap  <powercap_root>/{intel,amd}-rapl:N zones, found by their `name`
 *             file ("package-<socket>", sub-zones "dram", "core", "uncore", and
 *             a top-level "psys"), never by index.  energy_uj fds stay open and
 *             are pread; wraps are corrected with each zone's own
 *             max_energy_range_uj.
 *   perf      the kernel `power` PMU (energy-pkg required; energy-ram,
 *             energy-cores, energy-psys when present), opened on one CPU of the
 *             socket.  64-bit kernel counters: no wraps.
 *   model     an estimate from /proc/stat busy time of the measurement CPUs:
 *             package µJ += (idle_W * dt + active_W_per_cpu * busy_s) * 1e6,
 *             DRAM likewise.  meter_estimated() is true.
 *   auto      powercap, then perf, then model; `why` says which was picked and
 *             why each earlier one was skipped.
 *
 * Readings are cumulative since meter_open (first reading ≈ 0), 64-bit µJ,
 * wrap-corrected, with a CLOCK_MONOTONIC timestamp taken right before the
 * counters are read (the model meter uses that same timestamp for dt).  Energy of a window = difference of two readings.
 *
 * Ownership: meter_open copies what it needs from the options (the strings and
 * the cpuset may be freed afterwards); meter_close frees everything.
 * Thread safety: a meter keeps per-zone "last raw value" state, so one meter
 * must be used by one thread at a time.  Different meters are independent.
 * Errors: meter_open returns NULL and sets errno; meter_read returns 0 or -errno.
 */
#ifndef JT_METER_H
#define JT_METER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cpuset;

enum meter_domain {
	METER_PACKAGE,
	METER_DRAM,
	METER_CORE,
	METER_UNCORE,
	METER_PSYS,
	METER_NDOMAINS
};

#define METER_BIT(d) (1u << (d))

struct meter_reading {
	uint64_t t_ns;                   /* CLOCK_MONOTONIC */
	uint64_t uj[METER_NDOMAINS];     /* cumulative since open, wrap-corrected */
	uint32_t wraps[METER_NDOMAINS];  /* cumulative counter wraps seen */
	uint32_t resets[METER_NDOMAINS]; /* cumulative counter resets: a backward step that
					  * as a wrap would imply more than the domain's
					  * plausible power (powercap); not counted as energy */
	unsigned present;                /* METER_BIT() of the domains filled in */
};

struct meter_options {
	const char *kind;           /* "auto" (or NULL) | "powercap" | "perf" | "model" */
	const char *powercap_root;  /* NULL or "" → /sys/class/powercap */
	int socket;                 /* package number to measure */
	const struct cpuset *cpus;  /* the package's CPUs: model busy time, perf CPU; NULL = all */
	double model_idle_package_watts;
	double model_active_watts_per_cpu;
	double model_idle_dram_watts;
	double model_active_dram_watts_per_cpu;
	const char *proc_root;      /* NULL or "" real; else model reads <proc_root>/proc/stat */
	/* A counter that goes backwards is a wrap only below this power (W) per
	 * domain; 0 = 1000 W.  Above it, it was reset (resets[], no energy). */
	double max_plausible_watts[METER_NDOMAINS];
};

/*
 * Opens the meter.  On success `why` (may be NULL) says which back end was
 * picked and why; on failure it lists every back end tried and its reason,
 * e.g. "powercap: /sys/class/powercap/intel-rapl:0/energy_uj: Permission
 * denied (root only since Linux 5.10)".  Errors: EINVAL (bad kind/options),
 * ENODEV (no back end available), ENOMEM, or the errno of the failing read.
 */
struct meter *meter_open(const struct meter_options *o, char *why, size_t whylen);

struct jt_config;
struct cpu_layout;
/*
 * meter_open() with the options the configuration names (meter,
 * powercap_root, model_*) for the layout's socket and measurement CPUs: the
 * one place config keys become meter options, for every program.
 */
struct meter *meter_open_config(const struct jt_config *cfg, const struct cpu_layout *layout,
				char *why, size_t whylen);
/*
 * The same options for any package: socket and its CPUs (borrowed by *o until
 * meter_open returns).  The host monitor opens one meter per package with it.
 */
void meter_options_config(const struct jt_config *cfg, int socket, const struct cpuset *cpus,
			  struct meter_options *o);

/* Fills *out.  Cheap: one pread per zone.  -EIO/-errno when a counter read fails. */
int meter_read(struct meter *m, struct meter_reading *out);

const char *meter_backend(const struct meter *m);   /* "powercap" | "perf" | "model" */
bool meter_estimated(const struct meter *m);
unsigned meter_domains(const struct meter *m);      /* METER_BIT() mask */
/* "package", "dram", "core", "uncore", "psys"; "?" for an invalid value. */
const char *meter_domain_name(enum meter_domain d);
/*
 * Longest safe gap between two meter_read calls (half the shortest wrap time
 * at the zone's maximum power), or 0 when the counters cannot wrap.
 */
double meter_max_wrap_seconds(const struct meter *m);
void meter_close(struct meter *m);                  /* NULL is a no-op */

#endif
