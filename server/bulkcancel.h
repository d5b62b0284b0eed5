/*
 * bulkcancel.h — DELETE /api/v1/tasks: cancel many tasks at once, to clear a
 * queue (issue 11).
 *
 *   DELETE /api/v1/tasks?candidate_id=ID      every task of that candidate
 *   DELETE /api/v1/tasks  {"task_ids": [...]}  these (at most 1000)
 *
 * 200 {"cancelled": [...], "already_finished": [...], "not_found": [...]}:
 * each task as one DELETE /api/v1/tasks/{id} would have it (queued ones leave
 * the queue, running ones are stopped by their worker).  422 for neither or
 * both forms, a bad list or a bad id; 503 when Redis cannot answer.
 *
 * Thread safety: as api.h.
 */
#ifndef JT_BULKCANCEL_H
#define JT_BULKCANCEL_H

#include "http.h"

struct api;

#define BULKCANCEL_MAX_IDS 1000

void bulkcancel_handle(struct api *a, const struct http_request *req, struct http_response *resp);

#endif
