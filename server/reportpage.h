/*
 * reportpage.h — GET /api/v1/tasks/{id}/report: one self-contained HTML page per
 * task (no external asset, charts drawn here as inline SVG, nothing fetched at
 * view time): energy per trial with the median and the 95% interval, the
 * package/DRAM split, the per-process attribution, the sizing, the
 * validation table, the measurement environment and the seal with its key id
 * and whether it verifies against this service's published keys.
 *
 * Sections and chart marks follow the pages contract (docs/ARCHITECTURE.md):
 * #summary #energy #split #attribution #sizing #validation #environment
 * #seal (data-verified, .key-id); charts "trials", "split", "processes".
 * Every task has a report, whatever its status (what is known, the error);
 * an unknown or malformed id is a 404 page.  Every string from the task goes
 * through html_text.
 *
 * Thread safety: as api.h (any number of HTTP threads); report_build is a pure
 * function of its arguments.
 */
#ifndef JT_REPORTPAGE_H
#define JT_REPORTPAGE_H

#include <jansson.h>
#include <stdbool.h>

#include "html.h"
#include "http.h"
#include "seals.h"

struct api;

#define REPORT_SUFFIX "/report"

/* What became of the task's seal: checked by the caller (seals_check). */
struct report_seal {
	bool present;                   /* the task has a seal at all */
	bool verified;                  /* a published key signed it */
	char key_id[SEALS_KEY_ID_MAX];  /* the key that signed it, or "" */
	char reason[256];               /* in words, shown on the page */
	int figures;                    /* sealmatch_task: 0 the page's figures are the
					 * sealed ones, -EBADMSG they differ, -ENODATA
					 * nothing to compare */
	char figures_reason[256];       /* when they differ: the first difference */
};

/* The report of task (a GET /api/v1/tasks/{id} body, borrowed) into h, whole
 * page from html_begin to html_end.  0 or h's sticky error. */
int report_build(struct html *h, const json_t *task, const struct report_seal *seal);

/* The route's handler (api.c's routing: path is TASKS_PREFIX{id}/report). */
void report_handle(struct api *a, const struct http_request *req, struct http_response *resp);

#endif
