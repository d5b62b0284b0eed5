/*
 * monitord.h — jouletrace-monitor as one object: built from the
 * configuration (options, host identity, signing key, the ticker with its
 * meters, on-CPU source and books, the sealer, the Redis pusher), run until
 * the stop flag is set, then torn down.
 *
 * Threads: the caller's (the ticker, pinned with the whole process to the
 * infra CPUs), the sealer, the Redis pusher (when redis_url is set), and
 * libmicrohttpd's serving /metrics and /health on monitor_listen.  Stop
 * signals reach only the caller's thread; the others are stopped in order
 * once the ticker has sealed the partial period.
 *
 * Errors: monitord_new NULL + errno with why; monitord_run 0 or -errno.
 */
#ifndef JT_MONITORD_H
#define JT_MONITORD_H

#include <signal.h>
#include <stddef.h>

struct jt_config;
struct monitord;

struct monitord *monitord_new(const struct jt_config *cfg, volatile sig_atomic_t *stop,
			      char *why, size_t cap);
int monitord_run(struct monitord *m);
void monitord_free(struct monitord *m);   /* NULL is a no-op */

#endif
