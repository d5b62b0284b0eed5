/*
 * report.h — a measurement as it leaves the process: the "energy_metrics"
 * object and the "trials" array of GET /api/v1/tasks/{id} (JouleTrace's names
 * plus ours), and the flag names the result and the seal share.  The engine
 * (measure.h) works on typed structs; JSON is made here.
 *
 * Ownership: every call returns a new reference (NULL on ENOMEM).  Thread
 * safety: pure functions.
 */
#ifndef JT_REPORT_H
#define JT_REPORT_H

#include <jansson.h>
#include <stdbool.h>

#include "measure.h"

json_t *report_metrics_json(const struct measure_result *r, bool estimated);
/* Kept trials first (in order), then the rejected ones. */
json_t *report_trials_json(const struct measure_result *r);
/* ["below_noise_floor", "contaminated", "low_cpu_share", …] for a trial's flags. */
json_t *report_flags_json(unsigned flags);

#endif
