/*
 * meter_model.c — the estimating back end for machines without counters.
 *
 * energy = idle watts × wall time + active watts × busy CPU-seconds of the
 * package's CPUs (meter_options.cpus), per domain: the law a real package
 * follows, where a busy neighbour core draws power as the candidate's does.  Accumulated in double µJ (exact to far below
 * 1 µJ for any realistic run) and rounded on output, so successive readings
 * never drift from the sum of their windows.
 */
#include "meter_impl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpuset.h"
#include "procstat.h"
#include "util.h"

struct model_state {
	struct procstat *ps;
	struct cpuset cpus;
	bool all_cpus;
	double idle_pkg_w, active_pkg_w, idle_dram_w, active_dram_w;
	double hz;
	uint64_t last_t;
	uint64_t last_busy;
	double acc_pkg, acc_dram;   /* µJ */
};

static int model_read(struct meter *m, uint64_t t_ns, struct meter_reading *out)
{
	struct model_state *s = m->priv;
	struct procstat_sample smp;
	int ret = procstat_read(s->ps, s->all_cpus ? NULL : &s->cpus, &smp);
	if (ret)
		return ret;
	double dt = t_ns > s->last_t ? (double)(t_ns - s->last_t) / 1e9 : 0;
	/* A CPU going offline drops its line; restart the baseline rather than go negative. */
	double busy_s = smp.busy >= s->last_busy ? (double)(smp.busy - s->last_busy) / s->hz : 0;
	s->acc_pkg += (s->idle_pkg_w * dt + s->active_pkg_w * busy_s) * 1e6;
	s->acc_dram += (s->idle_dram_w * dt + s->active_dram_w * busy_s) * 1e6;
	if (t_ns > s->last_t)
		s->last_t = t_ns;
	s->last_busy = smp.busy;
	out->uj[METER_PACKAGE] = (uint64_t)llround(s->acc_pkg);
	out->uj[METER_DRAM] = (uint64_t)llround(s->acc_dram);
	return 0;
}

static void model_close(struct meter *m)
{
	struct model_state *s = m->priv;
	procstat_close(s->ps);
	free(s);
	free(m);
}

static const struct meter_ops model_ops = {
	.name = "model", .estimated = true, .read = model_read, .close = model_close,
};

static bool watts_ok(double w)
{
	return isfinite(w) && w >= 0 && w <= 1e6;
}

struct meter *meter_model_open(const struct meter_options *o, char *why, size_t whylen)
{
	const char *proc_root = o->proc_root ? o->proc_root : "";
	struct model_state *s = calloc(1, sizeof *s);
	struct meter *m = calloc(1, sizeof *m);
	struct procstat_sample smp;
	int ret = 0;

	if (!s || !m) {
		ret = -ENOMEM;
		util_say(why, whylen, "out of memory");
		goto out;
	}
	if (!watts_ok(o->model_idle_package_watts) || !watts_ok(o->model_active_watts_per_cpu) ||
	    !watts_ok(o->model_idle_dram_watts) || !watts_ok(o->model_active_dram_watts_per_cpu)) {
		ret = -EINVAL;
		util_say(why, whylen, "model watts must be finite and in 0..1e6");
		goto out;
	}
	s->idle_pkg_w = o->model_idle_package_watts;
	s->active_pkg_w = o->model_active_watts_per_cpu;
	s->idle_dram_w = o->model_idle_dram_watts;
	s->active_dram_w = o->model_active_dram_watts_per_cpu;
	s->hz = (double)procstat_hz();
	s->all_cpus = !o->cpus;
	if (o->cpus)
		s->cpus = *o->cpus;
	s->ps = procstat_open(proc_root);
	if (!s->ps) {
		ret = -errno;
		util_say(why, whylen, "%s/proc/stat: %s", proc_root, strerror(-ret));
		goto out;
	}
	s->last_t = util_mono_ns();
	if ((ret = procstat_read(s->ps, s->all_cpus ? NULL : &s->cpus, &smp)) < 0) {
		util_say(why, whylen, "%s/proc/stat: %s", proc_root,
		    ret == -EIO ? "malformed" : strerror(-ret));
		goto out;
	}
	if (smp.ncpus == 0) {
		ret = -ENODEV;
		util_say(why, whylen, "%s/proc/stat lists none of the measurement CPUs", proc_root);
		goto out;
	}
	s->last_busy = smp.busy;
	m->ops = &model_ops;
	m->priv = s;
	m->present = METER_BIT(METER_PACKAGE) | METER_BIT(METER_DRAM);
	m->max_wrap_seconds = 0;
	util_say(why, whylen,
	    "estimate from busy time of %d CPU(s) in %s/proc/stat: package %g W idle + %g W "
	    "per busy CPU, DRAM %g W + %g W per busy CPU", smp.ncpus, proc_root,
	    s->idle_pkg_w, s->active_pkg_w, s->idle_dram_w, s->active_dram_w);
out:
	if (ret) {
		if (s)
			procstat_close(s->ps);
		free(s);
		free(m);
		errno = -ret;
		return NULL;
	}
	return m;
}
