/* monitord.c — see monitord.h. */
#include "monitord.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "cpuset.h"
#include "dynbuf.h"
#include "hostid.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "monmetrics.h"
#include "monopts.h"
#include "monseals.h"
#include "monstats.h"
#include "redis.h"
#include "seal.h"
#include "sealchain.h"
#include "sealer.h"
#include "ticker.h"
#include "util.h"

#define METRICS_MAX_BYTES (4u << 20)
#define PUSH_BACKOFF_MAX_MS 30000

struct monitord {
	const struct jt_config *cfg;
	volatile sig_atomic_t *stop;
	struct monopts o;
	struct cpu_layout layout;
	struct hostid host;
	char host_id[KEYS_ID_MAX + 1];
	struct seal_key key;
	struct monstats stats;
	struct ticker *ticker;
	struct sealer *sealer;
	struct monseals *ms;          /* NULL without redis_url */
	struct redis *r;              /* the pusher's connection */
	atomic_bool pusher_stop;
	struct http_server *http;
};

/* ---- HTTP: /metrics and /health ----------------------------------------- */

static void metrics(struct monitord *m, struct http_response *resp)
{
	struct ledger_life life;
	struct monstats_view v;
	struct monseals_stats rs = { 0 };
	struct dynbuf b;
	const struct ticker_facts *f = ticker_facts(m->ticker);
	int e = ticker_life(m->ticker, m->o.top_n, &life);
	if (e) {
		resp->status = 500;
		return;
	}
	monstats_view(&m->stats, &v);
	if (m->ms)
		monseals_stats(m->ms, &rs);
	struct monmetrics_input in = { .life = &life, .stats = &v, .attribution_source = f->source,
				       .meter = f->meter, .host_id = m->host_id, .top_n = m->o.top_n,
				       .redis_backlog = rs.backlog };
	monmetrics_self(&in.cpu_user_s, &in.cpu_system_s, &in.resident_bytes);
	dynbuf_init(&b, METRICS_MAX_BYTES);
	e = monmetrics_render(&in, &b);
	ledger_life_free(&life);
	http_metrics_response(resp, &b, e);
}

/* ok while ticks come (within five tick lengths); 503 "stalled" otherwise. */
static void health(struct monitord *m, struct http_response *resp)
{
	const struct ticker_facts *f = ticker_facts(m->ticker);
	struct monstats_view v;
	struct monseals_stats rs = { 0 };
	uint64_t last = ticker_last_tick_ns(m->ticker), now = util_mono_ns();
	double age = last ? (double)(now - last) / 1e9 : -1;
	bool ok = last && now - last <= 5 * m->o.tick_ns;
	unsigned long long merr = 0;
	monstats_view(&m->stats, &v);
	for (int i = 0; i < f->map.n; i++)
		merr += v.meter_errors[i];
	if (m->ms)
		monseals_stats(m->ms, &rs);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:f, s:I, s:I, s:I, s:I, s:I, s:b}",
			      "status", ok ? "ok" : "stalled", "host_id", m->host_id,
			      "attribution_source", f->source, "meter", f->meter,
			      "last_tick_age_seconds", age, "ticks", (json_int_t)v.ticks,
			      "seals", (json_int_t)v.seals, "seal_errors", (json_int_t)v.seal_errors,
			      "meter_errors", (json_int_t)merr,
			      "redis_backlog", (json_int_t)rs.backlog, "redis", m->ms != NULL);
	resp->body = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
	json_decref(j);
	resp->status = !resp->body ? 500 : ok ? 200 : 503;
}

static void handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct monitord *m = ctx;
	bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
	bool known = !strcmp(req->path, "/metrics") || !strcmp(req->path, "/health");
	if (known && !get) {
		resp->status = 405;
		snprintf(resp->allow, sizeof resp->allow, "GET, HEAD");
		return;
	}
	if (!strcmp(req->path, "/metrics"))
		metrics(m, resp);
	else if (!strcmp(req->path, "/health"))
		health(m, resp);
	else
		resp->status = 404;
}

/* ---- the Redis pusher ---------------------------------------------------- */

/* Sleeps ms in short steps, so a stop is not kept waiting. */
static void nap(struct monitord *m, long ms)
{
	for (long left = ms; left > 0 && !atomic_load(&m->pusher_stop); left -= 100) {
		struct timespec ts = { 0, (left < 100 ? left : 100) * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/*
 * Pushes queued seals; while Redis is down, retries with a doubling pause
 * (0.5 s .. 30 s), said once when it goes and once when it is back.  The
 * public key is published (GET /api/v1/keys) first and again after each
 * outage, so seals read from Redis can be checked against the service's keys.
 */
static void *pusher_main(void *arg)
{
	struct monitord *m = arg;
	bool key_done = false, down = false;
	long backoff = 500;
	for (;;) {
		bool last = atomic_load(&m->pusher_stop);
		if (!key_done) {
			char now[UTIL_RFC3339_LEN];
			util_rfc3339(util_realtime_ns(), now);
			key_done = sealchain_register_key(m->r, &m->key, now) == 0;
		}
		int ret = key_done ? monseals_flush(m->ms, m->r) : -ECONNREFUSED;
		if (ret && !down)
			log_warn("Redis %s unavailable (%s): seals wait in a backlog (the file has them)",
				 m->o.redis_url, redis_last_error(m->r));
		else if (!ret && down)
			log_info("Redis is back: the backlog is pushed");
		down = ret != 0;
		/* a Redis that comes back may have lost its data: publish the key again */
		key_done = key_done && !down;
		if (last)
			break;
		if (ret) {
			nap(m, backoff);
			backoff = backoff * 2 > PUSH_BACKOFF_MAX_MS ? PUSH_BACKOFF_MAX_MS : backoff * 2;
		} else {
			backoff = 500;
			monseals_wait_work(m->ms, 1000);
		}
	}
	return NULL;
}

static void *sealer_main(void *arg)
{
	sealer_run(arg);
	return NULL;
}

/* ---- lifecycle ----------------------------------------------------------- */

static int open_redis(struct monitord *m, char *why, size_t cap)
{
	struct redis_ha ha;
	if (!m->o.redis_url[0])
		return 0;
	if (!keys_id_valid(m->host_id)) {
		util_say(why, cap, "host id '%s' cannot name a Redis key: set host_id", m->host_id);
		return -EINVAL;
	}
	redis_ha_from_config(&ha, m->cfg);
	m->r = redis_open_ha(m->o.redis_url, (int)m->cfg->redis_timeout_ms, &ha);
	m->ms = m->r ? monseals_new(m->host_id, m->o.redis_backlog) : NULL;
	if (!m->ms) {
		util_say(why, cap, "redis_url %s: %s", m->o.redis_url, strerror(errno));
		return -errno;
	}
	return 0;
}

static int open_parts(struct monitord *m, char *why, size_t cap)
{
	char kwhy[256] = "", infra[256];
	bool created = false;
	int err;
	if ((err = monopts_from_config(m->cfg, &m->o, why, cap)))
		return err;
	if (cpuset_resolve("", m->cfg->measurement_cpus, m->cfg->infra_cpus, &m->layout)) {
		util_say(why, cap, "CPU layout: %s", m->layout.why);
		return -EINVAL;
	}
	/* Every thread inherits the infra CPUs: none may run where candidates are measured. */
	cpuset_format(&m->layout.infra, infra, sizeof infra);
	if (cpuset_pin_self(&m->layout.infra) == 0)
		log_info("pinned to the infra CPUs %s", infra);
	else
		log_warn("cannot pin to the infra CPUs %s: %s", infra, strerror(errno));
	hostid_collect("", &m->host);
	snprintf(m->host_id, sizeof m->host_id, "%s", hostid_name(&m->host, m->o.host_id));
	if ((err = seal_key_load_or_create(m->o.key_file, &m->key, &created, kwhy, sizeof kwhy))) {
		util_say(why, cap, "seal key %s: %s", m->o.key_file, kwhy);
		return err;
	}
	log_info("seal key %s %s (key_id %s)", m->o.key_file, created ? "created" : "loaded",
		 m->key.key_id);
	if ((err = open_redis(m, why, cap)))
		return err;
	if (!(m->ticker = ticker_new(&m->o, m->cfg, &m->host, &m->stats, why, cap)))
		return -errno;
	struct sealer_params sp = { .o = &m->o, .facts = ticker_facts(m->ticker), .host = &m->host,
				    .host_id = m->host_id, .key = &m->key, .redis = m->ms,
				    .stats = &m->stats };
	if (!(m->sealer = sealer_new(&sp, why, cap)))
		return -errno;
	return 0;
}

struct monitord *monitord_new(const struct jt_config *cfg, volatile sig_atomic_t *stop,
			      char *why, size_t cap)
{
	struct monitord *m = calloc(1, sizeof *m);
	int err;
	if (!m)
		return NULL;
	m->cfg = cfg;
	m->stop = stop;
	if ((err = open_parts(m, why, cap))) {
		monitord_free(m);
		errno = err < 0 ? -err : EINVAL;
		return NULL;
	}
	return m;
}

/* The helper threads and the HTTP server, started with the stop signals
 * blocked so that they reach the ticker's thread only. */
static int start_helpers(struct monitord *m, pthread_t *sealer, pthread_t *pusher, bool *have_pusher)
{
	sigset_t block, old;
	int err = 0;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (pthread_create(sealer, NULL, sealer_main, m->sealer)) {
		err = -EAGAIN;
		goto out;
	}
	*have_pusher = m->ms && pthread_create(pusher, NULL, pusher_main, m) == 0;
	if (m->ms && !*have_pusher)
		log_error("no Redis pusher thread: seals go to the file only");
	struct http_options ho = { .listen = m->o.listen, .threads = 1, .max_connections = 64,
				   .connection_timeout_s = 10 };
	if (!(m->http = http_start(&ho, handle, m)))
		log_error("cannot listen on %s (no /metrics): %s", m->o.listen, strerror(errno));
out:
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

int monitord_run(struct monitord *m)
{
	const struct ticker_facts *f = ticker_facts(m->ticker);
	struct ticker_sink sink;
	pthread_t sealer, pusher;
	bool have_pusher = false;
	int err = start_helpers(m, &sealer, &pusher, &have_pusher);
	if (err)
		return err;
	log_info("monitoring %d package(s) as %s: meter %s%s, on-CPU times from %s, a tick every "
		 "%llu ms, a seal every %llu s into %s%s", f->map.n, m->host_id, f->meter,
		 f->estimated ? " (estimated)" : "", f->source,
		 (unsigned long long)(m->o.tick_ns / 1000000u),
		 (unsigned long long)(m->o.period_ns / 1000000000u), m->o.seal_file,
		 m->ms ? " and Redis" : "");
	sealer_sink(m->sealer, &sink);
	err = ticker_run(m->ticker, m->stop, &sink);
	log_info("stopping: the last period is sealed");
	sealer_close_input(m->sealer);
	pthread_join(sealer, NULL);
	if (have_pusher) {
		atomic_store(&m->pusher_stop, true);
		monseals_stop(m->ms);
		pthread_join(pusher, NULL);
	}
	http_stop(m->http);
	m->http = NULL;
	return err;
}

void monitord_free(struct monitord *m)
{
	if (!m)
		return;
	http_stop(m->http);
	sealer_free(m->sealer);
	ticker_free(m->ticker);
	monseals_free(m->ms);
	redis_close(m->r);
	seal_key_wipe(&m->key);
	free(m);
}
