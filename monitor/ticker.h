/*
 * ticker.h — the monitor's clock and books.  Every tick (a timerfd on
 * CLOCK_MONOTONIC, every monitor_tick_ms): procacct_tick, then a reading of
 * every package's meter, then the interval procacct closed one tick ago is
 * booked (ledger_add) with the meter difference over that same interval (the
 * last three readings are kept for that); at each wall-clock boundary
 * (multiples of monitor_seal_seconds since the epoch) the period is closed
 * and handed to a sink (the sealer).
 *
 * Periods stay gap-free in time: each one starts where the previous ended
 * (the wall time of its last interval's end).  A sink with no room (the
 * sealer behind) keeps the period open until it has: a period may grow past
 * its boundary, never be lost.
 *
 * A meter read that fails leaves that package's interval unmeasured (the
 * ledger books its time, no energy), counted in the stats, logged once per
 * change of state, and its last error text rides on the period; a counter
 * reset (meter.h) is handled the same way: its energy is unknown.
 *
 * Ownership: the ticker owns procacct, the meters and the ledger.  Thread
 * safety: ticker_run on one thread; ticker_life and the accessors from any
 * thread (the books are behind a mutex).  Errors: 0 or -errno; ticker_new
 * NULL + errno with why.
 */
#ifndef JT_TICKER_H
#define JT_TICKER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calib.h"
#include "hostid.h"
#include "ledger.h"
#include "monopts.h"
#include "monstats.h"
#include "pkgmap.h"

struct jt_config;

#define TICKER_ERR_MAX 160

/* One closed period, handed to the sink (which then owns it: monperiod_free). */
struct monperiod {
	struct ledger_period books;
	uint64_t start_wall_ns, end_wall_ns;       /* CLOCK_REALTIME */
	uint64_t missed_ticks;
	char meter_error[PKGMAP_MAX][TICKER_ERR_MAX];   /* last error in the period, "" none */
	bool final;                                 /* closed because the monitor stops */
};
void monperiod_free(struct monperiod *p);   /* NULL is a no-op */

struct ticker_sink {
	void *ctx;
	bool (*room)(void *ctx);                    /* may a period be handed over now? */
	void (*put)(void *ctx, struct monperiod *p);
};

/* The facts every seal repeats, fixed at start. */
struct ticker_facts {
	struct pkgmap map;
	const char *source;                         /* "bpf" | "proc" */
	char source_note[256];                      /* why not bpf, "" when bpf */
	const char *meter;                          /* back end of every package's meter */
	bool estimated;
	bool calibrated[PKGMAP_MAX];
	struct calib_profile calib[PKGMAP_MAX];     /* when calibrated */
	char calib_why[PKGMAP_MAX][256];            /* why not, when not */
	/* where each package's idle power comes from: "calibration", "model"
	 * (the model meter's own law) or "unknown" (nothing is split), and it */
	const char *idle_source[PKGMAP_MAX];
	double idle_watts[PKGMAP_MAX][2];           /* package, DRAM; NAN when unknown */
};

struct ticker;

/* host: this machine (calibration profiles are checked against it). */
struct ticker *ticker_new(const struct monopts *o, const struct jt_config *cfg,
			  const struct hostid *host, struct monstats *stats, char *why, size_t cap);
const struct ticker_facts *ticker_facts(const struct ticker *t);

/* Ticks until *stop, then closes the partial period (final) and returns 0;
 * -errno when the timer itself fails. */
int ticker_run(struct ticker *t, volatile sig_atomic_t *stop, const struct ticker_sink *sink);

/* ledger_life under the books' lock (strings valid until ticker_free). */
int ticker_life(struct ticker *t, size_t top_n, struct ledger_life *out);

/* Monotonic time of the last tick (0 before the first), for /health. */
uint64_t ticker_last_tick_ns(const struct ticker *t);

void ticker_free(struct ticker *t);   /* NULL is a no-op */

#endif
