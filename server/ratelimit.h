/*
 * ratelimit.h — per-client token buckets (rate tokens/s, burst capacity).
 *
 * A fixed table of RATELIMIT_SLOTS buckets keyed by a hash of the client key;
 * a collision evicts the older client (it starts again with a full bucket), so
 * memory is bounded whatever the number of clients.  Thread-safe (one mutex).
 */
#ifndef JT_RATELIMIT_H
#define JT_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_SLOTS 4096

struct ratelimit;

struct ratelimit *ratelimit_new(double rate_per_s, double burst); /* NULL + errno */
/* Takes one token for key at now_ns; false with *retry_after_s when empty. */
bool ratelimit_allow(struct ratelimit *rl, const char *key, uint64_t now_ns, double *retry_after_s);
void ratelimit_free(struct ratelimit *rl);

#endif
