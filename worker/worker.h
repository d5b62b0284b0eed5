/*
 * worker.h — jouletrace-worker: takes jobs from Redis and runs them.
 *
 * Three threads, each with its own Redis connection:
 *  - the measurement thread (the caller of worker_run): reserves measure jobs,
 *    runs the correctness gate on the infra CPUs, takes the host's measurement
 *    lock, measures on the measurement CPU, stores the result, releases the lock;
 *  - the validation thread: serves POST /api/v1/validate jobs on the infra CPUs,
 *    never taking the lock;
 *  - the keeper thread: heartbeats, renews the lock while it is held, watches the
 *    running task for cancellation, and requeues the jobs of dead workers.
 * A job stays in this worker's processing list until its outcome is stored, so a
 * crash at any point leaves it for another worker's recovery.
 */
#ifndef JT_WORKER_H
#define JT_WORKER_H

#include <signal.h>

struct jt_config;
struct worker;

/* NULL + errno; why (optional) says what failed. stop is polled by every loop. */
struct worker *worker_new(const struct jt_config *cfg, volatile sig_atomic_t *stop,
			  char *why, size_t whylen);
/* Runs until *stop; returns 0 after a clean shutdown (threads joined, lock released). */
int worker_run(struct worker *w);
void worker_free(struct worker *w);

#endif
