/*
 * sealer.h — the monitor's sealing thread: closed periods come in through a
 * bounded queue (the ticker's sink), each is turned into its payload
 * (lib/monitor/period), signed, chained and appended to the seal file
 * (lib/monitor/sealfile), then queued for Redis (monseals, when configured).
 *
 * Before the first period it seals, it writes a gap seal when the file's last
 * seal ended before that period starts (the monitor was not running), so the
 * chain stays unbroken in time and the downtime is signed too.
 *
 * A seal that cannot be written is counted (seal_errors) and logged; the
 * period is lost from the file, the next seal says nothing of it: the chain
 * then has a hole in time, which jouletrace-verify --chain reports.
 *
 * Ownership: the sealer borrows everything given to sealer_new until
 * sealer_free; it owns the periods put into it.  Thread safety: the sink's
 * room/put from one producer thread, sealer_run on its own thread,
 * sealer_close_input from any.  Errors: NULL + errno with why.
 */
#ifndef JT_SEALER_H
#define JT_SEALER_H

#include <stdbool.h>
#include <stddef.h>

#include "hostid.h"
#include "monopts.h"
#include "monseals.h"
#include "monstats.h"
#include "seal.h"
#include "ticker.h"

struct sealer;

struct sealer_params {
	const struct monopts *o;
	const struct ticker_facts *facts;
	const struct hostid *host;
	const char *host_id;              /* the name seals and Redis keys use */
	const struct seal_key *key;
	struct monseals *redis;           /* NULL: no Redis */
	struct monstats *stats;
};

/* Opens the seal file and resumes its chain (a last seal that does not verify
 * under key is an error: the chain is never restarted silently). */
struct sealer *sealer_new(const struct sealer_params *p, char *why, size_t cap);

/* The ticker's sink over this sealer's queue. */
void sealer_sink(struct sealer *s, struct ticker_sink *out);

/* Seals until the input is closed and the queue is empty. */
void sealer_run(struct sealer *s);
/* No more periods will come: sealer_run returns once the queue is drained. */
void sealer_close_input(struct sealer *s);

void sealer_free(struct sealer *s);   /* NULL is a no-op; drops unsealed periods */

#endif
