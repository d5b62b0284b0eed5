/*
 * period.h — the host monitor's seal payloads (issue 13): a closed period
 * (kind "monitor_period") and the time the monitor did not run (kind
 * "monitor_gap"), built from plain structs, so they are tested without a
 * meter, a clock or a key.
 *
 * monitor_period: seal_version 1, issuer "jouletrace", kind, host (the task
 * seals' object, hostid_json), monitor {tick_ms, attribution_source,
 * attribution_note, top_processes}, period {start, end (RFC 3339 UTC with
 * milliseconds, truncated), start_unix_us, end_unix_us, seconds, intervals,
 * missed_ticks}, meter {backend, estimated}, packages [{id, cpus, calibration
 * (null | {sha256, idle_package_watts, idle_dram_watts, measured_at}), idle
 * {source "calibration"|"model"|"unknown", package_watts, dram_watts (null when
 * unknown: then none of the package's energy is attributed)}, package
 * and dram ({raw_uj, idle_uj, dynamic_uj, attributed_uj, unattributed_uj};
 * dram null without a DRAM reading), intervals, measured_ns, unmeasured_ns,
 * failed_intervals, meter_error, busy_ns, dropped_ns}], processes [{pid,
 * start_boot_ns, comm, uid, cgroup, energy_uj, package_uj, dram_uj, cpu_ns,
 * exited}] (at most top_processes, energy_uj desc), other {processes,
 * energy_uj, package_uj, dram_uj, cpu_ns}, totals {raw_uj, idle_uj,
 * dynamic_uj, attributed_uj, unattributed_uj} (Σ packages, both domains),
 * complete, incomplete_reasons.  Two departures from CONTEXT-s18's sketch:
 * a package's number is "id" (the sketch named it "package" too, beside the
 * "package" domain object: one object cannot hold both), and the period's
 * times are integer µs since the epoch, start_unix_us / end_unix_us (ns since
 * the epoch pass 2^53, which no JCS integer may: RFC 8785 numbers are
 * doubles).  The inputs stay in ns; the payload truncates them to µs, so the
 * next period's start (the same ns as this one's end) matches exactly.
 *
 * complete is false, with one reason per cause, when a package had intervals
 * without a meter reading or the period had no interval at all.  Missed ticks
 * do not make a period incomplete: the interval after them spans them and its
 * reading covers them.
 *
 * monitor_gap: seal_version, issuer, kind, host, period {start, end,
 * start_unix_us, end_unix_us, seconds, intervals 0, missed_ticks 0}, reason,
 * complete false, incomplete_reasons [reason]: no packages, no processes.
 *
 * Neither carries sequence or prev_seal_sha256: sealfile_append sets them.
 * Integers are µJ and ns (all below 2^53); strings from outside (comm, cgroup,
 * meter errors) go through jcs_string_clean, so no process name can make a
 * payload unsignable.
 *
 * Ownership: new references; the inputs stay the caller's.  Errors: NULL with
 * errno (EINVAL: NULL input, end ≤ start in µs; ENOMEM).  Thread safety: pure.
 */
#ifndef JT_PERIOD_H
#define JT_PERIOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "calib.h"
#include "hostid.h"
#include "ledger.h"

struct period_pkg {
	const char *cpus;                     /* the package's CPUs, "0-1" */
	const struct calib_profile *calib;    /* NULL: uncalibrated */
	const char *idle_source;              /* "calibration" | "model" | "unknown" (NULL) */
	double idle_watts[2];                 /* package, DRAM as the ledger used them; NAN unknown */
	const char *meter_error;              /* the last failed reading's error; "" or NULL: none */
};

struct period_input {
	const struct hostid *host;
	const char *host_id;                  /* the configured name; NULL = the hostname */
	const char *meter_backend;            /* "powercap" | "perf" | "model" */
	bool meter_estimated;
	unsigned tick_ms;
	const char *attribution_source;       /* "bpf" | "proc" */
	const char *attribution_note;         /* why not bpf; "" or NULL */
	size_t top_processes;                 /* monitor_top_processes: more are folded into other */
	uint64_t start_unix_ns, end_unix_ns;  /* the period, wall clock */
	uint64_t missed_ticks;
	const struct ledger_period *period;
	const struct period_pkg *pkgs;        /* period->npkgs of them, by package index */
};

json_t *period_payload(const struct period_input *in);

/* reason NULL = "monitor not running". */
json_t *period_gap_payload(const struct hostid *host, const char *host_id, uint64_t start_unix_ns,
			   uint64_t end_unix_ns, const char *reason);

#endif
