/*
 * comparepage.h — GET /api/v1/compare?ids=A,B,… (JSON: compare_build of
 * lib/api/compare.h over the tasks read from Redis, plus request_id) and its
 * page GET /compare?ids=A,B,…: energy per call side by side with the 95%
 * intervals (a chart and a table), the ratio to the best, which differences
 * are significant (Welch's t-test on the per-trial energy per call,
 * Holm-adjusted over the pairs, alpha 0.05, with t, df, p and adjusted p per
 * pair) and the warnings.  Each task links to its report.
 *
 * ids: 1..COMPARE_MAX_TASKS task ids separated by commas ("," or "%2C"),
 * no duplicates.  A bad list is 422 (JSON validation_error naming "ids", or a
 * 422 page); an id that names no task is 404 naming every unknown id; Redis
 * down is 503.  The page follows the pages contract (docs/ARCHITECTURE.md):
 * chart data-chart="compare", one mark per comparable item (data-label the
 * task id, data-value energy_per_call_joules, data-ci-low/high); every
 * string from the tasks goes through html_text.
 *
 * Thread safety: as api.h; the parse and build functions are pure.
 */
#ifndef JT_COMPAREPAGE_H
#define JT_COMPAREPAGE_H

#include <jansson.h>
#include <stddef.h>

#include "compare.h"
#include "html.h"
#include "http.h"

struct api;

#define COMPAREPAGE_ID_LEN 36

/*
 * The ids of a query string into ids (COMPARE_MAX_TASKS of them at most):
 * 0 and *n, or -EINVAL with why (cap bytes) saying what is wrong: no ids,
 * more than COMPARE_MAX_TASKS, a duplicate, or one that is not a task id.
 */
int comparepage_parse_ids(const char *query, char ids[][COMPAREPAGE_ID_LEN + 1], size_t *n,
			  char *why, size_t cap);

/* The comparison page of cmp (a compare_build object, borrowed) into h,
 * whole page from html_begin to html_end.  0 or h's sticky error. */
int comparepage_build(struct html *h, const json_t *cmp);

/* The routes' handlers. */
void comparepage_json(struct api *a, const struct http_request *req, struct http_response *resp);
void comparepage_html(struct api *a, const struct http_request *req, struct http_response *resp);

#endif
