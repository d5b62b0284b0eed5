/*
 * jsoncmp.h — how a candidate's output is compared with the expected output
 * (SPEC §4), by trusted code only: the worker, never the candidate process.
 *
 * Values compare as JSON values: a bool equals only a bool; two integers are
 * equal only when identical (a tolerance would accept an off-by-one answer
 * modulo 1e9+7); when a real is involved, |a − b| ≤ max(1e-9 · max(|a|,|b|),
 * 1e-9) (Python's math.isclose with rel_tol = abs_tol = 1e-9); arrays
 * element-wise; objects with the same keys, in any order; strings byte for
 * byte; null equals null.  The candidate process has already turned tuples
 * into arrays and numpy values into plain ones (executor/harness.py).
 *
 * Thread safety: pure functions over values the caller owns.
 */
#ifndef JT_JSONCMP_H
#define JT_JSONCMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define JSONCMP_REL_TOL 1e-9
#define JSONCMP_ABS_TOL 1e-9

/* Whether actual equals expected under the rules above.  NULL equals nothing. */
bool jsoncmp_equal(const json_t *actual, const json_t *expected);

/*
 * v as it may be shown in a result: a new reference to v itself when its
 * compact JSON fits in budget bytes, otherwise a new string holding the start
 * of that JSON and "...(truncated, N bytes)".  NULL only when out of memory.
 */
json_t *jsoncmp_shown(json_t *v, size_t budget);

#endif
