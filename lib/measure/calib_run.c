/* calib_run.c — see calib_run.h. */
#include "calib_run.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpuset.h"
#include "meter.h"
#include "procstat.h"
#include "stats.h"
#include "util.h"

/* The meter is read at least this often, so no counter wrap goes unseen. */
#define POLL_NS (100ull * 1000000ull)

static double round_uw(double w)
{
	return round(w * 1e6) / 1e6;
}

static int sleep_until(uint64_t t_ns, const volatile sig_atomic_t *stop)
{
	struct timespec ts = { .tv_sec = (time_t)(t_ns / 1000000000ull),
			       .tv_nsec = (long)(t_ns % 1000000000ull) };
	for (;;) {
		if (stop && *stop)
			return -EINTR;
		int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (r == 0)
			return stop && *stop ? -EINTR : 0;
		if (r != EINTR)
			return -r;
	}
}

static int check_opts(const struct calib_run_opts *o, unsigned *interval_ms, char *reason,
		      size_t cap)
{
	*interval_ms = o->sample_interval_ms ? o->sample_interval_ms : 1000;
	if (!(o->duration_seconds > 0 && o->duration_seconds <= 86400) ||
	    *interval_ms < 10 || *interval_ms > 60000 ||
	    o->duration_seconds * 1000 < 2.0 * *interval_ms) {
		util_say(reason, cap, "duration %.3g s / interval %u ms: need 0 < duration ≤ 86400 s, "
		    "10..60000 ms intervals, and at least 2 intervals", o->duration_seconds,
		    *interval_ms);
		return -EINVAL;
	}
	if (!o->host_fingerprint || !util_is_lower_hex(o->host_fingerprint, 64)) {
		util_say(reason, cap, "host fingerprint missing or malformed");
		return -EINVAL;
	}
	if (!(o->max_cv_percent >= 0) || !(o->max_busy_percent >= 0)) {
		util_say(reason, cap, "max_cv_percent and max_busy_percent must be >= 0");
		return -EINVAL;
	}
	return 0;
}

static double busy_percent(const struct procstat_sample *a, const struct procstat_sample *b)
{
	uint64_t dbusy = b->busy >= a->busy ? b->busy - a->busy : 0;
	uint64_t dtotal = b->total >= a->total ? b->total - a->total : 0;
	return dtotal ? 100.0 * (double)dbusy / (double)dtotal : 0;
}

/* Fills the summary fields from per-interval watts. */
static void summarize(struct calib_profile *out, const double *pkg, const double *dram, size_t n)
{
	out->samples = (long)n;
	out->idle_package_watts = round_uw(stats_median(pkg, n));
	out->idle_dram_watts = round_uw(stats_median(dram, n));
	out->mean_package_watts = round_uw(stats_mean(pkg, n));
	out->mean_dram_watts = round_uw(stats_mean(dram, n));
	out->stddev_package_watts = round_uw(stats_stddev(pkg, n));
	out->stddev_dram_watts = round_uw(stats_stddev(dram, n));
	double cv = stats_cv_percent(pkg, n);
	/* All-zero package power (a model with 0 W) has CV 0; infinite CV stays refusable. */
	out->cv_percent = isfinite(cv) ? round(cv * 1e4) / 1e4 : 1e6;
}

/* Whose profile this is: host, meter, CPUs, when, for how long. */
static void identify(struct calib_profile *out, const struct calib_run_opts *o,
		     const struct meter *m)
{
	out->version = CALIB_VERSION;
	snprintf(out->host_fingerprint, sizeof out->host_fingerprint, "%s", o->host_fingerprint);
	snprintf(out->meter_backend, sizeof out->meter_backend, "%s", meter_backend(m));
	out->socket = o->socket;
	if (o->measurement_cpus)
		snprintf(out->measurement_cpus, sizeof out->measurement_cpus, "%s", o->measurement_cpus);
	else if (!o->cpus || cpuset_format(o->cpus, out->measurement_cpus,
					   sizeof out->measurement_cpus) < 0 || !*out->measurement_cpus)
		snprintf(out->measurement_cpus, sizeof out->measurement_cpus, "%s", "0");
	uint64_t real = util_realtime_ns();
	util_rfc3339(real, out->measured_at);
	out->measured_at_ns = real;
	out->valid_until_days = o->valid_until_days > 0 ? o->valid_until_days
							: CALIB_DEFAULT_VALID_DAYS;
}

/* The verdict on a filled profile: -EBUSY, -ERANGE or 0, and its one line. */
static int judge(const struct calib_profile *out, const struct calib_run_opts *o, double busy,
		 double background, bool has_dram, char *reason, size_t cap)
{
	if (background > o->max_busy_percent || busy > o->max_busy_percent) {
		util_say(reason, cap, "the package's CPUs %s were %.1f%% busy (measurement CPUs %s: %.1f%%; "
		    "limit %g%%): stop what runs there (ps -eo psr,pid,comm shows it), then "
		    "calibrate again", out->busy_cpus, background, out->measurement_cpus, busy,
		    o->max_busy_percent);
		return -EBUSY;
	}
	if (out->cv_percent > o->max_cv_percent) {
		util_say(reason, cap, "package power too noisy: CV %.2f%% > %g%% (median %.3f W, "
		    "stddev %.3f W over %zu samples): something on the package is not idle; "
		    "retry on a quiet machine or raise calibration_max_cv_percent",
		    out->cv_percent, o->max_cv_percent, out->idle_package_watts,
		    out->stddev_package_watts, (size_t)out->samples);
		return -ERANGE;
	}
	util_say(reason, cap, "idle package %.3f W (CV %.2f%%), DRAM %.3f W%s, package CPUs %.1f%% busy, "
	    "%zu samples over %.1f s", out->idle_package_watts, out->cv_percent,
	    out->idle_dram_watts, has_dram ? "" : " (no DRAM domain)", background,
	    (size_t)out->samples,
	    out->duration_seconds);
	return 0;
}

/* Per-interval figures of a calibration run. */
struct series {
	double *pkg, *dram, *bg;   /* W, W, package busy % */
	size_t n, total;
};

/* Fill the series: one meter interval of interval_ms at a time, polling
 * faster than the counters can wrap.  *first and *last are the readings
 * at both ends. */
static int sample(struct meter *m, const struct calib_run_opts *o, struct procstat *ps,
		  const struct cpuset *pkg_cpus, const struct procstat_sample *p0,
		  unsigned interval_ms, struct series *sr, struct meter_reading *first,
		  struct meter_reading *last, char *reason, size_t cap)
{
	struct procstat_sample pi = *p0, pj;
	struct meter_reading start, r;
	uint64_t interval_ns = (uint64_t)interval_ms * 1000000ull, poll_ns = POLL_NS;
	double wrap = meter_max_wrap_seconds(m);
	int ret;

	if (wrap > 0 && wrap * 1e9 < (double)poll_ns)
		poll_ns = wrap * 1e9 > 1e6 ? (uint64_t)(wrap * 1e9) : 1000000ull;
	if ((ret = meter_read(m, first)) < 0) {
		util_say(reason, cap, "meter read failed: %s", strerror(-ret));
		return ret;
	}
	start = r = *first;
	uint64_t next = first->t_ns + interval_ns;
	bool has_dram = meter_domains(m) & METER_BIT(METER_DRAM);
	while (sr->n < sr->total) {
		uint64_t now = util_mono_ns();
		uint64_t wake = next < now + poll_ns ? next : now + poll_ns;
		if ((ret = sleep_until(wake, o->stop)) < 0) {
			util_say(reason, cap, ret == -EINTR ? "interrupted" : "sleep failed");
			return ret;
		}
		if ((ret = meter_read(m, &r)) < 0) {
			util_say(reason, cap, "meter read failed: %s", strerror(-ret));
			return ret;
		}
		if (r.t_ns < next)
			continue;
		size_t n = sr->n;
		double dt = (double)(r.t_ns - start.t_ns) / 1e9;
		sr->pkg[n] = (double)(r.uj[METER_PACKAGE] - start.uj[METER_PACKAGE]) / 1e6 / dt;
		sr->dram[n] = has_dram ? (double)(r.uj[METER_DRAM] - start.uj[METER_DRAM]) / 1e6 / dt : 0;
		/* the package's busy % of the same interval: idle is a median of
		 * intervals, so the background it holds is the median of these */
		if (procstat_read(ps, pkg_cpus, &pj) == 0) {
			sr->bg[n] = busy_percent(&pi, &pj);
			pi = pj;
		} else {
			sr->bg[n] = n ? sr->bg[n - 1] : 0;
		}
		sr->n++;
		start = r;
		next += interval_ns;
		if (next <= r.t_ns)   /* fell behind (suspend, stall): restart the grid */
			next = r.t_ns + interval_ns;
		if (o->progress) {
			struct calib_progress pr = {
				.sample = (unsigned)sr->n, .total = (unsigned)sr->total,
				.elapsed_seconds = (double)(r.t_ns - first->t_ns) / 1e9,
				.package_watts = sr->pkg[n], .dram_watts = sr->dram[n],
			};
			o->progress(o->progress_arg, &pr);
		}
	}
	*last = r;
	return 0;
}

int calib_run(struct meter *m, const struct calib_run_opts *o, struct calib_profile *out,
	      char *reason, size_t cap)
{
	struct procstat *ps = NULL;
	struct procstat_sample b0, b1, p0, p1;
	const struct cpuset *pkg_cpus = o && o->package_cpus ? o->package_cpus : o ? o->cpus : NULL;
	struct meter_reading r0, r;
	struct series sr = { 0 };
	unsigned interval_ms;
	int ret;

	memset(out, 0, sizeof *out);
	if (!m || !o)
		return -EINVAL;
	if ((ret = check_opts(o, &interval_ms, reason, cap)) < 0)
		return ret;
	sr.total = (size_t)(o->duration_seconds * 1000 / interval_ms + 1e-9);
	sr.pkg = calloc(sr.total, sizeof *sr.pkg);
	sr.dram = calloc(sr.total, sizeof *sr.dram);
	sr.bg = calloc(sr.total, sizeof *sr.bg);
	if (!sr.pkg || !sr.dram || !sr.bg) {
		ret = -ENOMEM;
		goto out;
	}
	ps = procstat_open(o->proc_root);
	if (!ps || (ret = procstat_read(ps, o->cpus, &b0)) < 0 ||
	    (ret = procstat_read(ps, pkg_cpus, &p0)) < 0) {
		ret = ps ? ret : -errno;
		util_say(reason, cap, "%s/proc/stat: %s", o->proc_root ? o->proc_root : "", strerror(-ret));
		goto out;
	}
	if ((ret = sample(m, o, ps, pkg_cpus, &p0, interval_ms, &sr, &r0, &r, reason, cap)) < 0)
		goto out;
	if ((ret = procstat_read(ps, o->cpus, &b1)) < 0 ||
	    (ret = procstat_read(ps, pkg_cpus, &p1)) < 0) {
		util_say(reason, cap, "/proc/stat: %s", strerror(-ret));
		goto out;
	}

	identify(out, o, m);
	out->duration_seconds = round((double)(r.t_ns - r0.t_ns) / 1e6) / 1e3;
	summarize(out, sr.pkg, sr.dram, sr.n);

	double busy = busy_percent(&b0, &b1), background = busy_percent(&p0, &p1);
	/* Idle is idle of the whole package: work on its other CPUs draws package
	 * power too, and would come out as "idle" and make every net figure low. */
	out->background_busy_percent = round(background * 100) / 100;
	out->baseline_busy_percent = round(stats_median(sr.bg, sr.n) * 100) / 100;
	if (!pkg_cpus || cpuset_format(pkg_cpus, out->busy_cpus, sizeof out->busy_cpus) < 0)
		snprintf(out->busy_cpus, sizeof out->busy_cpus, "%s", out->measurement_cpus);
	bool has_dram = meter_domains(m) & METER_BIT(METER_DRAM);
	ret = judge(out, o, busy, background, has_dram, reason, cap);
out:
	procstat_close(ps);
	free(sr.pkg);
	free(sr.dram);
	free(sr.bg);
	return ret;
}
