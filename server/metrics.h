/*
 * metrics.h — GET /metrics in Prometheus's text format (0.0.4): the API's
 * requests by route and status and their latency (httpstats.h), tasks by
 * status, queue depth, finished jobs and the histograms of job and trial
 * duration and energy per job that workers keep in Redis (jobstats.h), live
 * workers per host with the age of their heartbeat, and each host's
 * measurement lock.
 *
 * Labels are bounded: routes, status codes, queue kinds, task statuses and
 * host ids, never a task id.  What Redis cannot say is left out, and
 * jouletrace_up{component="redis"} is 0.
 *
 * Errors are responses (500 only when the text cannot be built).  Thread
 * safety: as api.h (any number of HTTP threads).
 */
#ifndef JT_METRICS_H
#define JT_METRICS_H

#include "http.h"

struct api;

void metrics_handle(struct api *a, const struct http_request *req, struct http_response *resp);

#endif
