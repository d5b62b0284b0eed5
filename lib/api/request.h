/*
 * request.h — the body of POST /api/v1/measure-socket0 (alias /measure) and
 * POST /api/v1/validate (SPEC §4), parsed and checked field by field.
 *
 * Decisions beyond the SPEC table:
 * * Integer fields take JSON integers only: 5.0 and true are type errors.
 *   Number fields (target_cv_percent, min_trial_seconds) take integers or reals.
 * * Integers outside the int64 range, and duplicate object keys anywhere, are
 *   rejected by the JSON parser itself → -EBADMSG (HTTP 400), not 422.
 * * "\u0000" inside strings is refused by the parser (→ 400): nothing downstream
 *   (Python source, test ids, C strings) can carry a NUL safely.
 * * inputs / expected_output / metadata may nest at most REQUEST_MAX_DEPTH
 *   levels (the whole document is also capped by jansson at 2048): recursive
 *   walkers elsewhere (JCS, the harness) must not be handed unbounded depth.
 * * metadata may be an object or null (null is treated as absent).
 * * cpu_core is range-checked to 0..REQUEST_MAX_CPU only; membership in the
 *   measurement CPU set is the caller's check (it knows the set).
 * * REQUEST_VALIDATE applies the identical schema (a body valid for one endpoint
 *   is valid for the other); the validate handler ignores the energy fields.
 *
 * Ownership: struct measure_request owns its strings and one reference to
 * test_cases; release with request_free() (safe on a zeroed or freed struct).
 * Thread safety: reentrant, no shared state.
 */
#ifndef JT_REQUEST_H
#define JT_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define REQUEST_MAX_CODE_BYTES   (256u * 1024u)
#define REQUEST_MAX_TESTS        1000u
#define REQUEST_MAX_ID_BYTES     256u   /* test_id, candidate_id, problem_name */
#define REQUEST_MAX_FUNC_NAME    128u
#define REQUEST_MAX_DEPTH        64     /* nesting of inputs/expected_output/metadata */
#define REQUEST_MAX_CPU          8191   /* kernel NR_CPUS ceiling */
#define REQUEST_MAX_FIELD_ERRORS 64u

struct measure_request {
	char *candidate_code;
	char *function_name;
	json_t *test_cases;      /* validated array, owned (one reference) */
	size_t n_tests;
	char *language;
	long timeout_seconds, memory_limit_mb, energy_measurement_trials, min_trials,
		warmup_trials;
	double target_cv_percent, min_trial_seconds;
	long cpu_core;
	bool cpu_core_set;       /* false: null/absent, cpu_core is -1 */
	char *candidate_id, *problem_name; /* NULL when null/absent */
};

/* field: "" for the top level, "timeout_seconds", "test_cases[3].test_id", ... */
struct field_error {
	char field[128];
	char message[256];
};

/* First REQUEST_MAX_FIELD_ERRORS errors in document order; dropped counts the rest. */
struct request_errors {
	struct field_error items[REQUEST_MAX_FIELD_ERRORS];
	size_t n;
	size_t dropped;
};

enum request_kind { REQUEST_MEASURE, REQUEST_VALIDATE };

/*
 * Parses body (len bytes, need not be NUL-terminated).
 * Returns 0 with *out filled (every default applied);
 *   -EBADMSG: not JSON / duplicate key / number overflow → HTTP 400, msg filled
 *             (with line and column);
 *   -EINVAL:  schema violation → HTTP 422, errs filled, one entry per bad field,
 *             msg holds a one-line summary;
 *   -ENOMEM.
 * On any error *out is left zeroed (nothing to free).  errs and msg may be NULL.
 */
int request_parse(const char *body, size_t len, enum request_kind kind,
		  struct measure_request *out, struct request_errors *errs,
		  char *msg, size_t msgcap);

void request_free(struct measure_request *r);

/*
 * The canonical JSON of a validated request: every field present, defaults
 * filled, cpu_core/candidate_id/problem_name as null when unset, compact, fixed
 * key order.  This is what is stored with the task and handed to the worker.
 * Returns a malloc'd string or NULL with errno set.
 */
char *request_to_json(const struct measure_request *r);

/*
 * Inverse of request_to_json for the worker: the same checks as request_parse
 * (REQUEST_MEASURE); any failure is reported as one line in msg.
 * Returns 0, -EBADMSG (not JSON), -EINVAL (schema), -ENOMEM.
 */
int request_from_json(const char *json, size_t len, struct measure_request *out,
		      char *msg, size_t cap);

#endif
