/*
 * payload.h — the seal payload of SPEC §5 for one completed measurement.
 *
 * Built from the measurement alone (no Redis, no key): the chain fields
 * `sequence` and `prev_seal_sha256` are added by the signer (lib/sealchain)
 * under its commit, so that two workers sharing a key can never reuse a number.
 * Every integer is below 2^53; energies are integer µJ, times integer ns.
 * Shared by the worker and jouletrace-run.
 *
 * Ownership: payload_build returns a new reference and copies what it keeps
 * (the inputs stay the caller's).  Errors: NULL on ENOMEM; the digest returns
 * 0 or -ENOMEM/-EINVAL (JSON that cannot be canonicalized).  Thread safety:
 * pure functions of their inputs.
 */
#ifndef JT_PAYLOAD_H
#define JT_PAYLOAD_H

#include <jansson.h>

#include "attrib.h"
#include "calib.h"
#include "cpuset.h"
#include "hostid.h"
#include "measure.h"
#include "meter.h"
#include "request.h"

struct payload_input {
	const char *task_id;              /* a task id, or "run-<uuid>" for jouletrace-run */
	const char *submission_sha256;    /* what was measured (payload_submission_sha256) */
	size_t calls_per_pass;            /* test cases per pass (1 for a command) */
	const struct measure_result *mr;
	const struct attrib_window *attribution; /* NULL when no on-CPU source */
	const char *attribution_source;
	const struct hostid *host;
	const char *host_id;              /* the host's name in the service (hostid_name):
	                                     host.host_id, which host's lock and worker */
	const struct calib_profile *calib; /* NULL: no valid profile — raw figures only:
	                                     calibration null, no net_uj, idle_subtracted false */
	struct meter *meter;
	const struct cpu_layout *layout;
	int cpu;
	long long fence;
	uint64_t issued_realtime_ns;
	const json_t *sandbox;            /* sandbox_report_json() of the run, copied into
	                                     measurement.sandbox; NULL = null (none) */
};

/*
 * Hex SHA-256 of the JCS bytes of {candidate_code, function_name, language,
 * test_cases}.  Numbers are canonicalized as RFC 8785 does (IEEE doubles), so
 * any JCS implementation recomputes the same digest from the submitted JSON.
 */
int payload_submission_sha256(const struct measure_request *req, char hex[65]);

/* New reference, or NULL (ENOMEM, or an input that cannot be canonicalized). */
json_t *payload_build(const struct payload_input *in);

#endif
