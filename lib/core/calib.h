/*
 * calib.h — the idle-power calibration profile (SPEC §6): save, load, check.
 * Taking one is calib_run.h's (the measurement layer: it needs a meter).
 *
 * File format (JSON object, exactly these keys, unknown keys rejected):
 *   version 1 (int), host_fingerprint (64 hex, see hostid.h), meter_backend
 *   ("powercap"|"perf"|"model"), socket (int), measurement_cpus (CPU list),
 *   duration_seconds, samples (int ≥ 2), idle_package_watts and
 *   idle_dram_watts (medians of per-interval power), mean_*_watts,
 *   stddev_*_watts, cv_percent (of per-interval package power), measured_at
 *   (RFC 3339 UTC), valid_until_days (int 1..365).  Numbers are finite, ≥ 0.
 *
 * Ownership: the profile is a plain value (no heap).  Thread safety:
 * reentrant.  Errors: 0 or -errno, with a human reason where a buffer is taken.
 */
#ifndef JT_CALIB_H
#define JT_CALIB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define CALIB_VERSION 1
#define CALIB_MAX_FILE_BYTES (64 * 1024)
#define CALIB_DEFAULT_VALID_DAYS 7

struct calib_profile {
	int version;
	char host_fingerprint[65];
	char meter_backend[16];
	int socket;
	char measurement_cpus[512];
	double duration_seconds;
	long samples;
	double idle_package_watts;      /* median */
	double idle_dram_watts;         /* median; 0 when the meter has no DRAM domain */
	double mean_package_watts;
	double mean_dram_watts;
	double stddev_package_watts;
	double stddev_dram_watts;
	double cv_percent;              /* of per-interval package watts */
	char measured_at[UTIL_RFC3339_LEN];
	uint64_t measured_at_ns;        /* measured_at parsed (not a file field) */
	long valid_until_days;
	/*
	 * What else ran on the package while idle was sampled (issue 8): the busy
	 * % of all the package's CPUs (busy_cpus), and whether the profile was
	 * written despite a refusal (--force) and why.  Optional in the file
	 * (older profiles: 0, "", false, "").
	 */
	double background_busy_percent;
	/* The median of the per-interval busy % of the package's CPUs: the
	 * background the idle figures (medians too) hold.  Optional in the file
	 * (older profiles: 0, and no baseline is taken off; calib_background_ns). */
	double baseline_busy_percent;
	char busy_cpus[512];
	bool forced;
	char forced_reason[256];
	char sha256[UTIL_SHA256_HEX_LEN]; /* hex SHA-256 of the file bytes (not a file field) */
};

/*
 * Reads and validates path.  Fills p->sha256 and p->measured_at_ns.
 * -ENOENT etc. from open, -EFBIG over CALIB_MAX_FILE_BYTES, -EINVAL for bad
 * JSON, duplicate keys, unknown keys, a missing field, a wrong type or an
 * out-of-range value; err names the field.  *p is zeroed on failure.
 */
int calib_load(const char *path, struct calib_profile *p, char *err, size_t errcap);

/*
 * Validates *p (same rules as calib_load; measured_at_ns is re-derived from
 * measured_at) and writes it atomically with mode 0644.  Sets p->sha256 to the
 * hash of the bytes written.  -EINVAL for an invalid profile, else I/O errors.
 */
int calib_write(const char *path, struct calib_profile *p);

/*
 * Is p usable here and now?  Checks, in order: format (-EINVAL), host
 * (-EXDEV; skipped when host_fingerprint is NULL), meter back end
 * (-EMEDIUMTYPE; skipped when meter_backend is NULL), measured_at more than
 * 5 minutes in the future (-EINVAL: clock skew), age beyond valid_until_days
 * (-ESTALE).  0 when valid.  reason (may be NULL) always gets one line.
 */
int calib_check(const struct calib_profile *p, const char *host_fingerprint,
		const char *meter_backend, uint64_t now_realtime_ns, char *reason, size_t cap);

/* (now − measured_at) in days; negative if measured_at is in the future. */
/*
 * calib_load() + calib_check(), and the profile's measurement CPU list must
 * equal measurement_cpus (canonical cpuset_format text; NULL = not compared,
 * mismatch = -EXDEV).  The one validity test the server, the worker and
 * `jouletrace-calibrate --check` share.
 */
int calib_load_checked(const char *path, const char *host_fingerprint, const char *meter_backend,
		       const char *measurement_cpus, uint64_t now_realtime_ns,
		       struct calib_profile *p, char *reason, size_t cap);

double calib_age_days(const struct calib_profile *p, uint64_t now_realtime_ns);

/*
 * A profile's state as status pages and worker records show it: {exists,
 * valid, reason, age_days, idle_package_watts, ..., forced, forced_reason,
 * background_busy_percent}; err and reason as calib_load_checked() left
 * them (-ENOENT: {exists: false, valid: false, reason}).  New reference, NULL
 * on ENOMEM.
 */
json_t *calib_status_json(const struct calib_profile *p, int err, const char *reason,
			  uint64_t now_realtime_ns);
/*
 * The package's busy time the idle figures already hold over a window of
 * wall_ns: baseline_busy_percent of busy_cpus (0 when the profile has none).
 * attrib_params.baseline_ns takes it, so a steady background is not
 * subtracted twice.
 */
uint64_t calib_background_ns(const struct calib_profile *p, uint64_t wall_ns);

#endif
