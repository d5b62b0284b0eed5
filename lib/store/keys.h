/*
 * keys.h — every Redis key name jouletrace uses, in one place.
 *
 *   jt:task:{task_id}            hash    one task record (fields: tasks.h)
 *   jt:q:{kind}                  list    pending jobs; LPUSH in, taken from the
 *                                        right (FIFO); kind = measure|validate
 *   jt:proc:{kind}:{worker_id}   list    jobs reserved by one worker (BLMOVE)
 *   jt:attempts:{kind}           hash    sha1(job) → times its worker died with it
 *   jt:dead:{kind}               list    jobs that reached max attempts, waiting
 *                                        for queue_recover's on_dead callback
 *   jt:workers                   set     worker ids that ever heartbeated and
 *                                        were not yet removed/recovered
 *   jt:hb:{worker_id}            string  heartbeat, JSON info, PX = worker TTL
 *   jt:lock:{host_id}            string  measurement lock "token fence acquired_ns"
 *   jt:fence:{host_id}           string  INCR counter: fencing numbers
 *   jt:idem:{sha256(key)}        string  Idempotency-Key → task id (EX ttl)
 *   jt:vreply:{request_id}       list    reply of one synchronous validation
 *   jt:recent                    list    the newest task ids, newest first, at most
 *                                        KEYS_RECENT_MAX (LPUSH + LTRIM at create)
 *   jt:count:{status}            string  task counters; queued/running are
 *                                        gauges, the final states are totals
 *   jt:keys                      hash    seal key_id → {"key_id","public_key",
 *                                        "created_at"} JSON (sealchain.h)
 *   jt:seal:head:{key_id}        hash    sequence, sha256 (of the last payload)
 *   jt:seal:log:{key_id}         zset    score = sequence, member = seal JSON
 *   jt:monitor:seals:{host_id}   zset    the host monitor's seals: score = sequence,
 *                                        member = seal JSON, the newest 10080 (monseals.h)
 *   jt:monitor:head:{host_id}    hash    sequence, sha256, end of its newest seal
 *
 * Builders write into caller buffers: 0, -ENAMETOOLONG when the key does not
 * fit in cap, -EINVAL when an id fails validation (so user input never shapes a
 * key).  KEYS_MAX always fits.  All functions are pure and thread-safe.
 */
#ifndef JT_KEYS_H
#define JT_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define KEYS_MAX 192          /* fits every key built from valid ids */
#define KEYS_ID_MAX 128       /* worker / host / request id length */
#define KEYS_TASK_ID_LEN 36   /* canonical UUID text */

#define KEYS_PREFIX        "jt:"
#define KEYS_TASK_PREFIX   "jt:task:"
#define KEYS_HB_PREFIX     "jt:hb:"
#define KEYS_WORKERS       "jt:workers"
#define KEYS_SEAL_KEYS     "jt:keys"
#define KEYS_JOB_STATS     "jt:stats:jobs"   /* hash: jobstats.h */
#define KEYS_CAND_PREFIX   "jt:cand:"        /* + sha256(candidate_id): taskidx.h */
#define KEYS_CLIENTQ_PREFIX "jt:cq:"         /* + sha256(client): taskidx.h */
#define KEYS_RECENT        "jt:recent"       /* list of the newest task ids: recent.h */
#define KEYS_RECENT_MAX    200
#define KEYS_SEAL_KEY_ID_LEN 16   /* hex digits, seal.h */

#define KEYS_KIND_MEASURE  "measure"
#define KEYS_KIND_VALIDATE "validate"
#define KEYS_NKINDS 2
/* Every queue kind, for code that must look at all of a worker's lists. */
extern const char *const keys_kinds[KEYS_NKINDS];

/* Lower-case canonical UUID (8-4-4-4-12 hex).  The server 404s anything else. */
bool keys_task_id_valid(const char *id);
/* Worker, host and request ids: 1..KEYS_ID_MAX chars of [A-Za-z0-9._:@-]. */
bool keys_id_valid(const char *id);
bool keys_kind_valid(const char *kind);
/* queued|running|completed|failed|cancelled */
bool keys_status_valid(const char *status);

int keys_task(char *buf, size_t cap, const char *task_id);
int keys_queue(char *buf, size_t cap, const char *kind);
int keys_proc(char *buf, size_t cap, const char *kind, const char *worker_id);
/* "jt:proc:{kind}:" — Lua scripts append worker ids they find in jt:workers. */
int keys_proc_prefix(char *buf, size_t cap, const char *kind);
int keys_attempts(char *buf, size_t cap, const char *kind);
int keys_dead(char *buf, size_t cap, const char *kind);
/* jt:delayed:{kind}: jobs waiting for a time (ZSET, score = due ms since the epoch). */
int keys_delayed(char *buf, size_t cap, const char *kind);
int keys_hb(char *buf, size_t cap, const char *worker_id);
int keys_lock(char *buf, size_t cap, const char *host_id);
int keys_fence(char *buf, size_t cap, const char *host_id);
/* key_sha256 must be 64 lower-case hex digits (util_sha256_hex of the header). */
int keys_idem(char *buf, size_t cap, const char *key_sha256);
int keys_vreply(char *buf, size_t cap, const char *reply_to);
/* jt:live:{queued|running} (sets of task ids), jt:count:{final status} (totals) */
int keys_count(char *buf, size_t cap, const char *status);
/* Seal key ids: exactly 16 lower-case hex digits. */
bool keys_seal_key_id_valid(const char *key_id);
int keys_seal_head(char *buf, size_t cap, const char *key_id);
int keys_seal_log(char *buf, size_t cap, const char *key_id);
/* The host monitor's seal chain of one host (monseals.h); host_id as keys_id_valid. */
int keys_monitor_seals(char *buf, size_t cap, const char *host_id);
int keys_monitor_head(char *buf, size_t cap, const char *host_id);

#endif
