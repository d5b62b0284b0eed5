/* ticker.c — see ticker.h.  The set-up is in ticker_open.c. */
#include "ticker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "ticker_impl.h"
#include "util.h"

void monperiod_free(struct monperiod *p)
{
	if (!p)
		return;
	ledger_period_free(&p->books);
	free(p);
}

struct ticker *ticker_new(const struct monopts *o, const struct jt_config *cfg,
			  const struct hostid *host, struct monstats *stats, char *why, size_t cap)
{
	struct ticker *t = calloc(1, sizeof *t);
	int err;
	if (!t)
		return NULL;
	t->o = o;
	t->stats = stats;
	pthread_mutex_init(&t->mu, NULL);
	if ((err = ticker_open_parts(t, cfg, host, why, cap))) {
		ticker_free(t);
		errno = err < 0 ? -err : EINVAL;
		return NULL;
	}
	return t;
}

const struct ticker_facts *ticker_facts(const struct ticker *t)
{
	return &t->facts;
}

uint64_t ticker_last_tick_ns(const struct ticker *t)
{
	return atomic_load_explicit(&t->last_tick_ns, memory_order_relaxed);
}

int ticker_life(struct ticker *t, size_t top_n, struct ledger_life *out)
{
	pthread_mutex_lock(&t->mu);
	int ret = ledger_life(t->books, top_n, out);
	pthread_mutex_unlock(&t->mu);
	return ret;
}

void ticker_free(struct ticker *t)
{
	if (!t)
		return;
	/* the books borrow procacct's cgroup strings: they go first */
	ledger_free(t->books);
	procacct_interval_free(&t->iv);
	procacct_close(t->pa);
	for (int i = 0; i < PKGMAP_MAX; i++)
		meter_close(t->meters[i]);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

/* A package's reading failed, or read again: said once per change. */
static void meter_state(struct ticker *t, int i, int ret, const char *what)
{
	int id = t->facts.map.id[i];
	if (ret) {
		atomic_fetch_add_explicit(&t->stats->meter_errors[i], 1, memory_order_relaxed);
		snprintf(t->err[i], sizeof t->err[i], "%s", what);
		if (!t->failing[i])
			log_error("package %d: %s; its intervals are unmeasured until it reads again",
				  id, what);
	} else if (t->failing[i]) {
		log_info("package %d: the meter reads again", id);
	}
	t->failing[i] = ret != 0;
}

static void read_meters(struct ticker *t, struct tick_slot *s)
{
	for (int i = 0; i < t->facts.map.n; i++) {
		int ret = meter_read(t->meters[i], &s->r[i]);
		char what[TICKER_ERR_MAX];
		s->ok[i] = ret == 0;
		snprintf(what, sizeof what, "meter read failed: %s", strerror(ret < 0 ? -ret : EIO));
		meter_state(t, i, ret, what);
	}
}

static const struct tick_slot *slot_at(const struct ticker *t, uint64_t t_ns)
{
	for (int k = 0; k < 3; k++)
		if (t->ring[k].t_ns == t_ns)
			return &t->ring[k];
	return NULL;
}

/*
 * The meters' difference over [iv->t0, iv->t1] per package: measured only
 * when both ends read, and no counter reset in between (a reset's energy is
 * unknown).
 */
static void samples_of(struct ticker *t, const struct procacct_interval *iv,
		       struct ledger_sample *out)
{
	const struct tick_slot *a = slot_at(t, iv->t0_ns), *b = slot_at(t, iv->t1_ns);
	static const int dom[LEDGER_NDOMAINS] = { METER_PACKAGE, METER_DRAM };
	for (int i = 0; i < t->facts.map.n; i++) {
		struct ledger_sample *s = &out[i];
		memset(s, 0, sizeof *s);
		if (!a || !b || !a->ok[i] || !b->ok[i])
			continue;
		const struct meter_reading *r0 = &a->r[i], *r1 = &b->r[i];
		bool reset = false;
		for (int d = 0; d < LEDGER_NDOMAINS; d++)
			reset |= r1->resets[dom[d]] != r0->resets[dom[d]];
		if (reset) {
			meter_state(t, i, -ERANGE, "counter reset (its energy is unknown)");
			continue;
		}
		s->measured = true;
		s->has_dram = (r0->present & r1->present & METER_BIT(METER_DRAM)) != 0;
		for (int d = 0; d < (s->has_dram ? 2 : 1); d++)
			s->raw_uj[d] = (int64_t)(r1->uj[dom[d]] - r0->uj[dom[d]]);
	}
}

/* The open period, closed and handed over; the next one starts where it ended. */
static void close_period(struct ticker *t, const struct ticker_sink *sink, bool final)
{
	struct monperiod *p = calloc(1, sizeof *p);
	int ret = p ? 0 : -ENOMEM;
	if (p) {
		pthread_mutex_lock(&t->mu);
		ret = ledger_close_period(t->books, t->o->top_n, &p->books);
		pthread_mutex_unlock(&t->mu);
	}
	if (ret) {
		/* the ledger keeps the period open: the next tick tries again */
		log_error("cannot close the period: %s", strerror(-ret));
		free(p);
		return;
	}
	p->start_wall_ns = t->start_wall_ns;
	p->end_wall_ns = t->end_wall_ns;
	p->missed_ticks = t->missed;
	p->final = final;
	memcpy(p->meter_error, t->err, sizeof p->meter_error);
	atomic_store_explicit(&t->stats->processes, p->books.processes, memory_order_relaxed);
	sink->put(sink->ctx, p);
	t->start_wall_ns = t->end_wall_ns;
	t->boundary_ns = monopts_next_boundary(t->o, t->end_wall_ns);
	t->missed = 0;
	memset(t->err, 0, sizeof t->err);
	t->held_logged = false;
}

/* One tick's work: the interval closed one tick ago is booked with its meters. */
static int tick_once(struct ticker *t, const struct ticker_sink *sink, bool final)
{
	uint64_t now = 0;
	struct ledger_sample samples[PKGMAP_MAX];
	procacct_interval_free(&t->iv);
	int ret = procacct_tick(t->pa, &now, &t->iv);
	if (ret) {
		log_error("on-CPU accounting tick failed: %s", strerror(-ret));
		return ret;
	}
	/* wall = mono + offset, the offset taken now, so a clock step moves later ends only */
	uint64_t offset = util_realtime_ns() - util_mono_ns();
	struct tick_slot *s = &t->ring[t->nticks++ % 3];
	s->t_ns = now;
	read_meters(t, s);
	atomic_store_explicit(&t->last_tick_ns, now, memory_order_relaxed);
	if (!t->iv.valid)
		return 0;
	samples_of(t, &t->iv, samples);
	pthread_mutex_lock(&t->mu);
	ret = ledger_add(t->books, &t->iv, samples);
	pthread_mutex_unlock(&t->mu);
	if (ret) {
		log_error("cannot book an interval: %s", strerror(-ret));
		return ret;
	}
	if (!t->started) {
		t->started = true;
		t->start_wall_ns = t->iv.t0_ns + offset;
		t->boundary_ns = monopts_next_boundary(t->o, t->start_wall_ns);
	}
	t->end_wall_ns = t->iv.t1_ns + offset;
	if (t->end_wall_ns < t->start_wall_ns)   /* the clock stepped back: never a negative period */
		t->end_wall_ns = t->start_wall_ns;
	if (!final && t->end_wall_ns < t->boundary_ns)
		return 0;
	if (!final && !sink->room(sink->ctx)) {
		if (!t->held_logged)
			log_warn("the sealer is behind: this period stays open until it catches up");
		t->held_logged = true;
		return 0;
	}
	close_period(t, sink, final);
	return 0;
}

static int arm(int fd, uint64_t start, uint64_t tick)
{
	struct itimerspec its = {
		.it_interval = { (time_t)(tick / 1000000000u), (long)(tick % 1000000000u) },
		.it_value = { (time_t)((start + tick) / 1000000000u),
			      (long)((start + tick) % 1000000000u) },
	};
	return timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) ? -errno : 0;
}

int ticker_run(struct ticker *t, volatile sig_atomic_t *stop, const struct ticker_sink *sink)
{
	/* Ticks fall on wall-clock multiples of the tick, so periods end on their
	 * boundaries (to the timer's wake-up), not up to a tick after them. */
	uint64_t tick = t->o->tick_ns, wall = util_realtime_ns(), mono = util_mono_ns();
	uint64_t start = mono + (tick - wall % tick) - tick, expirations = 0;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), ret = fd < 0 ? -errno : 0;
	if (!ret)
		ret = arm(fd, start, tick);
	while (!ret && !*stop) {
		uint64_t n;
		ssize_t got = read(fd, &n, sizeof n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got != (ssize_t)sizeof n) {
			ret = got < 0 ? -errno : -EIO;
			break;
		}
		uint64_t woke = util_mono_ns();
		expirations += n;
		/* n > 1: the timer fired while the last tick ran or the thread slept */
		atomic_fetch_add_explicit(&t->stats->missed_ticks, n - 1, memory_order_relaxed);
		t->missed += n - 1;
		uint64_t due = start + expirations * tick;
		monstats_observe(&t->stats->lag, woke > due ? woke - due : 0);
		tick_once(t, sink, false);
		atomic_fetch_add_explicit(&t->stats->ticks, 1, memory_order_relaxed);
		monstats_observe(&t->stats->duration, util_mono_ns() - woke);
	}
	if (fd >= 0)
		close(fd);
	if (ret)
		log_error("the tick timer failed: %s", strerror(-ret));
	/* the interval closed at the last tick is booked, then the partial period sealed */
	if (t->nticks > 0)
		tick_once(t, sink, true);
	return ret;
}
