/*
 * status.h — the host's status views of the API (SPEC §4): liveness, health,
 * the measurement socket's state (Prometheus metrics: metrics.h).  Handlers as api.c's:
 * a plain request in, a plain response out, no sockets.
 * Errors are responses: health answers 503 when Redis is down; status and
 * metrics answer 200 and say what they could not read (redis connected
 * false, jouletrace_up{component="redis"} 0) instead of failing.
 * Thread safety: as api.h (any number of HTTP threads).
 */
#ifndef JT_STATUS_H
#define JT_STATUS_H

#include "http.h"

struct api;

void status_ping(struct api *a, const struct http_request *req, struct http_response *resp);
void status_health(struct api *a, const struct http_request *req, struct http_response *resp);
void status_socket0(struct api *a, const struct http_request *req, struct http_response *resp);

#endif
