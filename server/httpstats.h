/*
 * httpstats.h — what the API answered, for /metrics: responses by route and
 * status code, and a latency histogram per route.
 *
 * Label values are bounded by construction: routes are the API's fixed
 * patterns ("/api/v1/tasks/{id}", never a task id) plus "other", and status
 * codes outside a fixed list count as "other".  Buckets follow Prometheus
 * conventions (seconds, cumulative "le", _sum and _count).
 *
 * Ownership: httpstats_new copies nothing; routes must outlive the object
 * (the API's static table).  Errors: NULL + errno from new; write returns 0
 * or -E2BIG/-ENOMEM from the buffer.  Thread safety: httpstats_record may be
 * called from any number of threads at once (relaxed atomics); write sees
 * each counter at some moment, not one snapshot of all.
 */
#ifndef JT_HTTPSTATS_H
#define JT_HTTPSTATS_H

#include <stddef.h>
#include <stdint.h>

struct dynbuf;
struct httpstats;

/* n route names; index n (one past) is "other" (no route matched). */
struct httpstats *httpstats_new(const char *const *routes, size_t n);
void httpstats_free(struct httpstats *s);
void httpstats_record(struct httpstats *s, size_t route, int status, uint64_t elapsed_ns);
/* Appends jouletrace_http_requests_total and jouletrace_http_request_duration_seconds. */
int httpstats_write(const struct httpstats *s, struct dynbuf *out);

#endif
