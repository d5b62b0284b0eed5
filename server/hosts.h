/*
 * hosts.h — the measurement hosts as their live workers describe them
 * (issue 11): the server admits a measure request from these records and
 * never from its own hardware, so one server can front several hosts.
 *
 * A host is every live worker with the same host_id; its record is the one
 * its freshest worker published (worker.c's heartbeat_info: measurement
 * CPUs, meter, calibration state, sandbox, version).  A host is ready when
 * that record says its calibration is valid.
 *
 * Ownership: hosts_load fills *out, released with hosts_free; the records
 * are jansson references owned by it.  Errors: 0 or -errno from Redis.
 * Thread safety: none; each HTTP thread loads its own.
 */
#ifndef JT_HOSTS_H
#define JT_HOSTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cpuset.h"
#include "redis.h"

#define HOSTS_MAX 64

struct host {
	char id[129];
	json_t *record;              /* the freshest worker's heartbeat record */
	long long workers;           /* live workers of this host */
	struct cpuset measurement;
	bool ready;
	char why[256];               /* why not ready */
};

struct hosts {
	struct host h[HOSTS_MAX];
	size_t n;
	long long workers;           /* every live worker, hosts past HOSTS_MAX included */
};

int hosts_load(struct redis *r, struct hosts *out);
void hosts_free(struct hosts *hs);

/* The host named id, or NULL. */
const struct host *hosts_find(const struct hosts *hs, const char *id);

enum hosts_verdict {
	HOSTS_OK,            /* a ready host can run it */
	HOSTS_NO_SUCH_CPU,   /* cpu is a measurement CPU of no live host: the request is wrong */
	HOSTS_NOT_NOW,       /* no live host, or none ready for it: try again later */
};

/*
 * Can some live host run a request on cpu (any CPU when cpu < 0)?  reason
 * gets one line for the client: the hosts' CPUs for HOSTS_NO_SUCH_CPU ("1; 0"),
 * what keeps each host from it for HOSTS_NOT_NOW.  all_cpus gets the union of
 * the live hosts' measurement CPUs.
 */
enum hosts_verdict hosts_admit(const struct hosts *hs, long cpu, struct cpuset *all_cpus,
			       char *reason, size_t cap);

#endif
