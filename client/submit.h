/*
 * submit.h — `jouletrace submit` (queue a measurement) and its --wait: poll
 * the task every half second (backing off on 429/503 as Retry-After says),
 * a live progress line on a terminal or plain lines otherwise, then the
 * result table.  Ctrl-C stops the polling, never the task, and says how to
 * cancel it.
 *
 * Returns an exit code (outcome.h).  Thread safety: one thread.
 */
#ifndef JT_CLIENT_SUBMIT_H
#define JT_CLIENT_SUBMIT_H

#include <stddef.h>

#include <jansson.h>

#include "session.h"

#define SUBMIT_FILE_MAX (1u << 20)   /* the server's default max_body_bytes */

/*
 * The measure request from FILE.py and TESTS.json (a test_cases array, or an
 * object with "test_cases"): a new object, or NULL with why (exit 2).
 */
json_t *submit_request(const struct client_args *a, char *why, size_t cap);
int submit_run(struct session *s);
/* Polls task id until it is final (or Ctrl-C); t0_ns is the submit time
 * (CLOCK_MONOTONIC) the elapsed time counts from. */
int submit_wait(struct session *s, const char *id, unsigned long long t0_ns);

#endif
