/*
 * monopts.h — what jouletrace-monitor runs with, from the configuration: the
 * monitor_* keys checked against each other and turned into the units the
 * daemon uses (ns, counts), plus the shared keys it reads (key_file,
 * redis_url, calibration_file, attribution_source, host_id).
 *
 * The strings are borrowed from the config (valid while it is).
 * Errors: 0, or -EINVAL with the reason in why (a period shorter than two
 * ticks: no interval could ever be paired with its readings in it).
 * Reentrant.
 */
#ifndef JT_MONOPTS_H
#define JT_MONOPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jt_config;

#define MONOPTS_REDIS_BACKLOG 1440      /* seals kept for Redis while it is down */
#define MONOPTS_SEAL_QUEUE 8            /* closed periods waiting for the sealer */

struct monopts {
	uint64_t tick_ns;
	uint64_t period_ns;              /* monitor_seal_seconds */
	size_t top_n;                    /* monitor_top_processes */
	const char *seal_file;
	uint64_t seal_file_max_bytes;
	unsigned seal_file_keep;
	const char *listen, *packages;
	const char *key_file, *redis_url, *calibration_file, *host_id;
	const char *calibration_files;   /* monitor_calibration_files: "" or FILE;FILE */
	bool allow_bpf;                  /* attribution_source is not "proc" */
	bool require_bpf;                /* attribution_source is "bpf": no fallback */
	size_t redis_backlog, seal_queue;
};

int monopts_from_config(const struct jt_config *cfg, struct monopts *o, char *why, size_t cap);

/* The first period boundary strictly after wall_ns: the next multiple of period_ns. */
uint64_t monopts_next_boundary(const struct monopts *o, uint64_t wall_ns);

#endif
