/* sealer.c — see sealer.h. */
#include "sealer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpuset.h"
#include "log.h"
#include "period.h"
#include "sealfile.h"
#include "util.h"

#define RETRY_MS 1000           /* between attempts at a seal the file refused */
#define FINAL_ATTEMPTS 3        /* at stop: then the period is given up */

struct sealer {
	struct sealer_params p;
	struct sealfile *sf;
	struct sealfile_head start;  /* where the chain stood when the monitor started */
	bool first_done;             /* the gap (if any) and the first period are behind */
	char cpus[PKGMAP_MAX][256];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct monperiod **q;        /* ring of p.o->seal_queue */
	size_t head, n;
	bool closed;
};

struct sealer *sealer_new(const struct sealer_params *p, char *why, size_t cap)
{
	struct sealer *s = calloc(1, sizeof *s);
	if (!s || !(s->q = calloc(p->o->seal_queue, sizeof(struct monperiod *)))) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->p = *p;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	for (int i = 0; i < p->facts->map.n; i++)
		cpuset_format(&p->facts->map.cpus[i], s->cpus[i], sizeof s->cpus[i]);
	s->sf = sealfile_open(p->o->seal_file, p->key, p->o->seal_file_max_bytes,
			      p->o->seal_file_keep, &s->start, why, cap);
	if (!s->sf) {
		int e = errno;
		sealer_free(s);
		errno = e;
		return NULL;
	}
	if (s->start.torn_bytes)
		log_warn("%s: a torn last line (%zu bytes, a write the machine did not finish) "
			 "was cut off", p->o->seal_file, s->start.torn_bytes);
	if (s->start.sequence)
		log_info("%s: the chain continues after seal %llu", p->o->seal_file,
			 (unsigned long long)s->start.sequence);
	else
		log_info("%s: a new chain", p->o->seal_file);
	return s;
}

void sealer_free(struct sealer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		monperiod_free(s->q[(s->head + i) % s->p.o->seal_queue]);
	free(s->q);
	sealfile_close(s->sf);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static bool sink_room(void *ctx)
{
	struct sealer *s = ctx;
	pthread_mutex_lock(&s->mu);
	bool room = s->n < s->p.o->seal_queue;
	pthread_mutex_unlock(&s->mu);
	return room;
}

static void sink_put(void *ctx, struct monperiod *p)
{
	struct sealer *s = ctx;
	pthread_mutex_lock(&s->mu);
	if (s->n < s->p.o->seal_queue) {
		s->q[(s->head + s->n++) % s->p.o->seal_queue] = p;
		p = NULL;
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (p) {
		/* only at stop can a period come without room having been asked */
		log_error("the sealer's queue is full: a period is lost");
		atomic_fetch_add(&s->p.stats->seal_errors, 1);
		monperiod_free(p);
	}
}

void sealer_sink(struct sealer *s, struct ticker_sink *out)
{
	*out = (struct ticker_sink){ .ctx = s, .room = sink_room, .put = sink_put };
}

void sealer_close_input(struct sealer *s)
{
	pthread_mutex_lock(&s->mu);
	s->closed = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static bool input_closed(struct sealer *s)
{
	pthread_mutex_lock(&s->mu);
	bool c = s->closed;
	pthread_mutex_unlock(&s->mu);
	return c;
}

/* The next period, NULL when the input is closed and nothing is left. */
static struct monperiod *next_period(struct sealer *s)
{
	pthread_mutex_lock(&s->mu);
	while (!s->n && !s->closed)
		pthread_cond_wait(&s->cv, &s->mu);
	struct monperiod *p = NULL;
	if (s->n) {
		p = s->q[s->head];
		s->head = (s->head + 1) % s->p.o->seal_queue;
		s->n--;
	}
	pthread_mutex_unlock(&s->mu);
	return p;
}

static void publish(struct sealer *s, json_t *payload, char *text, size_t len)
{
	struct sealfile_head h;
	const char *end = json_string_value(json_object_get(json_object_get(payload, "period"),
							    "end"));
	if (!s->p.redis)
		return;
	sealfile_head(s->sf, &h);
	if (monseals_enqueue(s->p.redis, (long long)h.sequence, h.sha256, end ? end : "", text,
			     len))
		log_error("seal %llu not queued for Redis: out of memory",
			  (unsigned long long)h.sequence);
}

/*
 * Appends one payload.  The file refusing (disk full, I/O error) is retried
 * while the monitor runs: the ticker then keeps its period open, so nothing
 * is lost; at stop a few attempts, then the seal is given up.
 */
static int append(struct sealer *s, json_t *payload, const char *what)
{
	char why[256] = "";
	char *text = NULL;
	size_t len = 0;
	for (int attempt = 1;; attempt++) {
		int ret = sealfile_append(s->sf, payload, &text, &len, why, sizeof why);
		if (!ret)
			break;
		atomic_fetch_add(&s->p.stats->seal_errors, 1);
		log_error("%s: cannot seal %s: %s", s->p.o->seal_file, what, why);
		if (ret == -EINVAL || (input_closed(s) && attempt >= FINAL_ATTEMPTS))
			return ret;
		struct timespec ts = { RETRY_MS / 1000, (RETRY_MS % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	atomic_fetch_add(&s->p.stats->seals, 1);
	publish(s, payload, text, len);
	free(text);
	return 0;
}

/*
 * Before the first period: the time since the file's last seal, signed as a
 * gap.  Seals carry whole µs, so times are compared in µs: a restart within
 * the same µs is no gap.
 */
static void seal_gap(struct sealer *s, struct monperiod *p)
{
	uint64_t last = s->start.end_unix_ns, last_us = last / 1000, start_us = p->start_wall_ns / 1000;
	if (!s->start.sequence || start_us == last_us)
		return;
	if (start_us < last_us) {
		/* the clock went back across the restart: start where the chain ended */
		log_warn("the last seal ends %.3f s after this period's start (a clock step?): the "
			 "period starts there", (double)(last - p->start_wall_ns) / 1e9);
		p->start_wall_ns = last < p->end_wall_ns ? last : p->end_wall_ns;
		return;
	}
	json_t *gap = period_gap_payload(s->p.host, s->p.host_id, last, p->start_wall_ns, NULL);
	if (!gap) {
		log_error("cannot build the gap seal: %s", strerror(errno));
		return;
	}
	if (append(s, gap, "the gap") == 0)
		log_info("sealed the %.3f s the monitor was not running",
			 (double)(p->start_wall_ns - last) / 1e9);
	json_decref(gap);
}

static void seal_period(struct sealer *s, struct monperiod *p)
{
	const struct ticker_facts *f = s->p.facts;
	struct period_pkg pk[PKGMAP_MAX];
	for (int i = 0; i < f->map.n; i++)
		pk[i] = (struct period_pkg){ .cpus = s->cpus[i],
					     .calib = f->calibrated[i] ? &f->calib[i] : NULL,
					     .idle_source = f->idle_source[i],
					     .idle_watts = { f->idle_watts[i][0], f->idle_watts[i][1] },
					     .meter_error = p->meter_error[i] };
	struct period_input in = {
		.host = s->p.host, .host_id = s->p.host_id, .meter_backend = f->meter,
		.meter_estimated = f->estimated, .tick_ms = (unsigned)(s->p.o->tick_ns / 1000000u),
		.attribution_source = f->source, .attribution_note = f->source_note,
		.top_processes = s->p.o->top_n, .start_unix_ns = p->start_wall_ns,
		.end_unix_ns = p->end_wall_ns, .missed_ticks = p->missed_ticks,
		.period = &p->books, .pkgs = pk,
	};
	json_t *payload = period_payload(&in);
	if (!payload) {
		atomic_fetch_add(&s->p.stats->seal_errors, 1);
		log_error("cannot build the period's payload: %s", strerror(errno));
		return;
	}
	append(s, payload, p->final ? "the last (partial) period" : "a period");
	json_decref(payload);
}

void sealer_run(struct sealer *s)
{
	struct monperiod *p;
	while ((p = next_period(s))) {
		if (!s->first_done)
			seal_gap(s, p);
		s->first_done = true;
		seal_period(s, p);
		monperiod_free(p);
	}
}
