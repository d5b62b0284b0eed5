/* ticker_impl.h — the ticker's insides, shared by ticker.c (the loop) and
 * ticker_open.c (the set-up).  Private to monitor/. */
#ifndef JT_TICKER_IMPL_H
#define JT_TICKER_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "meter.h"
#include "procacct.h"
#include "ticker.h"

/* The readings of one tick, keyed by procacct's timestamp of that tick. */
struct tick_slot {
	uint64_t t_ns;
	bool ok[PKGMAP_MAX];
	struct meter_reading r[PKGMAP_MAX];
};

struct ticker {
	const struct monopts *o;
	struct monstats *stats;
	struct ticker_facts facts;
	struct procacct *pa;
	struct meter *meters[PKGMAP_MAX];
	struct ledger *books;
	pthread_mutex_t mu;                       /* books: tick thread vs ticker_life */
	struct procacct_interval iv;
	struct tick_slot ring[3];
	uint64_t nticks;
	atomic_ullong last_tick_ns;
	bool failing[PKGMAP_MAX];                 /* logged state of each meter */
	/* the open period */
	bool started;
	uint64_t start_wall_ns, end_wall_ns, boundary_ns, missed;
	char err[PKGMAP_MAX][TICKER_ERR_MAX];
	bool held_logged;                         /* "sealer behind" said once */
};

int ticker_open_parts(struct ticker *t, const struct jt_config *cfg, const struct hostid *host,
		      char *why, size_t cap);

#endif
