/* station.c — see station.h. */
#include "station.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "meter.h"
#include "oncpu.h"
#include "util.h"

int station_open(struct station *s, const struct jt_config *cfg, unsigned parts, char *why,
		 size_t cap)
{
	int err;

	memset(s, 0, sizeof *s);
	if ((err = cpuset_resolve("", cfg->measurement_cpus, cfg->infra_cpus, &s->layout))) {
		util_say(why, cap, "CPU layout: %s", s->layout.why);
		return err;
	}
	/* Whatever measures must never run on the CPUs it measures. */
	if ((err = cpuset_pin_self(&s->layout.infra)))
		log_warn("cannot pin to the infra CPUs: %s", strerror(-err));
	hostid_collect("", &s->host);
	if (parts & STATION_METER) {
		s->meter = meter_open_config(cfg, &s->layout, s->meter_why, sizeof s->meter_why);
		if (!s->meter) {
			err = -errno;
			util_say(why, cap, "no energy meter (meter = %s): %s", cfg->meter, s->meter_why);
			goto fail;
		}
	}
	if (parts & STATION_ONCPU) {
		/* eBPF where it loads, else /proc (labelled); the whole package,
		 * as its other CPUs draw package energy too (issue 8) */
		bool allow_bpf = strcmp(cfg->attribution_source, "proc") != 0;
		s->oncpu = oncpu_open(&s->layout.package, &s->layout.measurement, allow_bpf,
				      s->oncpu_why, sizeof s->oncpu_why);
		if (!s->oncpu) {
			err = -errno;
			util_say(why, cap, "attribution: %s", s->oncpu_why);
			goto fail;
		}
		if (strcmp(cfg->attribution_source, "bpf") == 0 && oncpu_source(s->oncpu) != ONCPU_BPF) {
			err = -ENOTSUP;
			util_say(why, cap, "attribution_source = bpf, but: %s", s->oncpu_why);
			goto fail;
		}
	}
	return 0;
fail:
	station_close(s);
	return err;
}

void station_close(struct station *s)
{
	oncpu_close(s->oncpu);
	meter_close(s->meter);
	s->oncpu = NULL;
	s->meter = NULL;
}
