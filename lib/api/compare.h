/*
 * compare.h — the comparison of measured tasks: which candidate is cheaper,
 * by how much, and how sure that is.  The one implementation behind the
 * client's `jouletrace compare` and the server's GET /api/v1/compare, so both
 * say the same numbers.
 *
 * The figure is energy per call (SPEC §3: the task's energy_per_call_joules,
 * a median).  Each kept trial gives one figure of its own:
 *   candidate_energy_uj / 1e6 / (passes × test cases)
 * and two tasks are compared by Welch's unequal-variance t-test on those
 * per-trial figures (two-sided; trials of one task are independent repeats
 * of the same work).  Every pair of comparable tasks is tested, and the
 * p-values are adjusted for the number of pairs by Holm's step-down method;
 * a difference is significant when its adjusted p is below COMPARE_ALPHA.
 *
 * The comparison object (compare_build):
 *   {"test": "welch_t", "alpha": 0.05, "adjustment": "holm",
 *    "figure": "energy_per_call_joules", "best": TASK_ID | null,
 *    "warnings": [TEXT...],
 *    "items": [{"task_id", "candidate_id", "problem_name", "status",
 *               "comparable": bool, "reason": TEXT | null,
 *               "energy_per_call_joules", "ci95_per_call_joules": [lo, hi],
 *               "mean_per_call_joules", "trials", "cv_percent",
 *               "median_execution_time_seconds", "ratio_to_best", "rank",
 *               "trial_per_call_joules": [...], "host_id", "meter"}...],
 *    "pairs": [{"a", "b", "difference_joules" (mean a − mean b),
 *               "ratio" (median a / median b), "t", "df", "p_value",
 *               "p_adjusted", "significant": bool,
 *               "cheaper": TASK_ID | null (only when significant)}...]}
 * Items keep the order given; a task that is not completed, or has no kept
 * trial, is an item with comparable false, a reason, null figures and no
 * pairs.  A figure that cannot be computed is null (a pair with a one-trial
 * task has null t, df and p and is never significant).  Warnings name what
 * makes a comparison doubtful: tasks from different hosts or meters, an
 * estimated meter, figures below the noise floor.
 *
 * Thread safety: pure functions of their arguments.
 */
#ifndef JT_COMPARE_H
#define JT_COMPARE_H

#include <jansson.h>
#include <stddef.h>

#define COMPARE_ALPHA 0.05
#define COMPARE_MAX_TASKS 20    /* the most tasks in one comparison (190 pairs) */

/*
 * The per-call figure of each kept trial of a task result (the body of GET
 * /api/v1/tasks/{id}) into out[0..cap): 0 and *n, or -EINVAL when the result
 * is not a completed measurement with usable trials (then *n = 0).
 */
int compare_trial_figures(const json_t *result, double *out, size_t cap, size_t *n);

/*
 * The comparison of results[0..n) (borrowed task bodies; 1 ≤ n ≤
 * COMPARE_MAX_TASKS): a new reference, or NULL with why filled (-EINVAL:
 * n out of range or a result that is not a task object; -ENOMEM).
 */
json_t *compare_build(json_t *const *results, size_t n, char *why, size_t cap);

#endif
