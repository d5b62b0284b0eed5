/* calib.c — see calib.h. */
#include "calib.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpuset.h"
#include "meter.h"
#include "procstat.h"
#include "stats.h"

#define FUTURE_SLACK_NS (300ull * 1000000000ull)
#define NS_PER_DAY (86400.0 * 1e9)
#define POLL_NS (100ull * 1000000ull)

enum ftype { F_INT, F_LONG, F_NUM, F_STR, F_BOOL };

/* The file schema, in file order.  min/max bound numbers; for strings max is the buffer size. */
static const struct field {
	const char *key;
	enum ftype type;
	size_t off;
	double min, max;
	bool optional;   /* absent in older profiles: stays zero */
} fields[] = {
#define F(k, t, lo, hi) { #k, t, offsetof(struct calib_profile, k), lo, hi, false }
#define OPT(k, t, lo, hi) { #k, t, offsetof(struct calib_profile, k), lo, hi, true }
	F(version, F_INT, CALIB_VERSION, CALIB_VERSION),
	F(host_fingerprint, F_STR, 0, sizeof ((struct calib_profile *)0)->host_fingerprint),
	F(meter_backend, F_STR, 0, sizeof ((struct calib_profile *)0)->meter_backend),
	F(socket, F_INT, 0, 4095),
	F(measurement_cpus, F_STR, 0, sizeof ((struct calib_profile *)0)->measurement_cpus),
	F(duration_seconds, F_NUM, 0, 86400),
	F(samples, F_LONG, 2, 10000000),
	F(idle_package_watts, F_NUM, 0, 1e6),
	F(idle_dram_watts, F_NUM, 0, 1e6),
	F(mean_package_watts, F_NUM, 0, 1e6),
	F(mean_dram_watts, F_NUM, 0, 1e6),
	F(stddev_package_watts, F_NUM, 0, 1e6),
	F(stddev_dram_watts, F_NUM, 0, 1e6),
	F(cv_percent, F_NUM, 0, 1e6),
	F(measured_at, F_STR, 0, UTIL_RFC3339_LEN),
	F(valid_until_days, F_LONG, 1, 365),
	OPT(background_busy_percent, F_NUM, 0, 100),
	OPT(baseline_busy_percent, F_NUM, 0, 100),
	OPT(busy_cpus, F_STR, 0, sizeof ((struct calib_profile *)0)->busy_cpus),
	OPT(forced, F_BOOL, 0, 1),
	OPT(forced_reason, F_STR, 0, sizeof ((struct calib_profile *)0)->forced_reason),
#undef OPT
#undef F
};
#define NFIELDS (sizeof fields / sizeof fields[0])

__attribute__((format(printf, 3, 4)))
static void say(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (!buf || !cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* Checks that the table cannot express; sets measured_at_ns. */
static int validate(struct calib_profile *p, char *err, size_t cap)
{
	struct cpuset cs;
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];
		const char *base = (const char *)p + f->off;
		double v;
		if (f->type == F_STR || f->type == F_BOOL)
			continue;
		v = f->type == F_INT ? *(const int *)(const void *)base
		    : f->type == F_LONG ? (double)*(const long *)(const void *)base
		    : *(const double *)(const void *)base;
		if (!isfinite(v) || v < f->min || v > f->max) {
			say(err, cap, "%s: %g outside %g..%g", f->key, v, f->min, f->max);
			return -EINVAL;
		}
	}
	if (!(p->duration_seconds > 0)) {
		say(err, cap, "duration_seconds: must be > 0");
		return -EINVAL;
	}
	if (!is_hex64(p->host_fingerprint)) {
		say(err, cap, "host_fingerprint: not 64 lower-case hex digits");
		return -EINVAL;
	}
	if (strcmp(p->meter_backend, "powercap") && strcmp(p->meter_backend, "perf") &&
	    strcmp(p->meter_backend, "model")) {
		say(err, cap, "meter_backend: '%s' is not powercap, perf or model", p->meter_backend);
		return -EINVAL;
	}
	if (cpuset_parse(p->measurement_cpus, &cs) < 0) {
		say(err, cap, "measurement_cpus: '%s' is not a CPU list", p->measurement_cpus);
		return -EINVAL;
	}
	if (util_rfc3339_parse(p->measured_at, &p->measured_at_ns) < 0) {
		say(err, cap, "measured_at: '%s' is not RFC 3339 UTC", p->measured_at);
		return -EINVAL;
	}
	return 0;
}

static int from_json(json_t *root, struct calib_profile *p, char *err, size_t cap)
{
	const char *key;
	json_t *val;

	if (!json_is_object(root)) {
		say(err, cap, "top level is not a JSON object");
		return -EINVAL;
	}
	json_object_foreach(root, key, val) {
		size_t i;
		for (i = 0; i < NFIELDS && strcmp(fields[i].key, key) != 0; i++)
			;
		if (i == NFIELDS) {
			say(err, cap, "unknown key '%.64s'", key);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];
		char *base = (char *)p + f->off;
		val = json_object_get(root, f->key);
		if (!val && f->optional)
			continue;
		if (!val) {
			say(err, cap, "%s: missing", f->key);
			return -EINVAL;
		}
		switch (f->type) {
		case F_BOOL:
			if (!json_is_boolean(val)) {
				say(err, cap, "%s: must be true or false", f->key);
				return -EINVAL;
			}
			*(bool *)(void *)base = json_is_true(val);
			break;
		case F_INT:
		case F_LONG: {
			if (!json_is_integer(val)) {
				say(err, cap, "%s: must be an integer", f->key);
				return -EINVAL;
			}
			json_int_t v = json_integer_value(val);
			if ((double)v < f->min || (double)v > f->max) {
				say(err, cap, "%s: %lld outside %g..%g", f->key, (long long)v, f->min, f->max);
				return -EINVAL;
			}
			if (f->type == F_INT)
				*(int *)(void *)base = (int)v;
			else
				*(long *)(void *)base = (long)v;
			break;
		}
		case F_NUM:
			if (!json_is_number(val)) {
				say(err, cap, "%s: must be a number", f->key);
				return -EINVAL;
			}
			*(double *)(void *)base = json_number_value(val);
			break;
		case F_STR: {
			if (!json_is_string(val)) {
				say(err, cap, "%s: must be a string", f->key);
				return -EINVAL;
			}
			size_t len = json_string_length(val);
			const char *s = json_string_value(val);
			if (len + 1 > (size_t)f->max || strlen(s) != len) {
				say(err, cap, "%s: longer than %zu bytes or contains NUL", f->key,
				    (size_t)f->max - 1);
				return -EINVAL;
			}
			memcpy(base, s, len + 1);
			break;
		}
		}
	}
	return validate(p, err, cap);
}

int calib_load(const char *path, struct calib_profile *p, char *err, size_t cap)
{
	char *data = NULL;
	size_t len = 0;
	json_t *root = NULL;
	json_error_t jerr;
	int ret;

	memset(p, 0, sizeof *p);
	ret = util_read_file(path, CALIB_MAX_FILE_BYTES, &data, &len);
	if (ret) {
		say(err, cap, "%s: %s", path,
		    ret == -EFBIG ? "larger than 64 KiB, not a calibration profile" : strerror(-ret));
		goto out;
	}
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		say(err, cap, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		ret = -EINVAL;
		goto out;
	}
	char ferr[256] = "";
	if ((ret = from_json(root, p, ferr, sizeof ferr)) < 0) {
		say(err, cap, "%s: %s", path, ferr);
		goto out;
	}
	util_sha256_hex(data, len, p->sha256);
out:
	if (ret)
		memset(p, 0, sizeof *p);
	json_decref(root);
	free(data);
	return ret;
}

int calib_write(const char *path, struct calib_profile *p)
{
	json_t *root = json_object();
	char *text = NULL;
	int ret = 0;

	if (!root)
		return -ENOMEM;
	if ((ret = validate(p, NULL, 0)) < 0)
		goto out;
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];
		const char *base = (const char *)p + f->off;
		json_t *v = f->type == F_INT ? json_integer(*(const int *)(const void *)base)
			    : f->type == F_LONG ? json_integer(*(const long *)(const void *)base)
			    : f->type == F_NUM ? json_real(*(const double *)(const void *)base)
			    : f->type == F_BOOL ? json_boolean(*(const bool *)(const void *)base)
			    : json_string(base);
		if (!v || json_object_set_new(root, f->key, v) < 0) {
			ret = -ENOMEM;
			goto out;
		}
	}
	/* 15 significant digits: exact for the µW-rounded values calib_run produces. */
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
	if (!text) {
		ret = -ENOMEM;
		goto out;
	}
	size_t len = strlen(text);
	char *nl = realloc(text, len + 2);
	if (!nl) {
		ret = -ENOMEM;
		goto out;
	}
	text = nl;
	text[len++] = '\n';
	text[len] = '\0';
	if ((ret = util_write_file_atomic(path, text, len, 0644)) == 0)
		util_sha256_hex(text, len, p->sha256);
out:
	free(text);
	json_decref(root);
	return ret;
}

double calib_age_days(const struct calib_profile *p, uint64_t now)
{
	return ((double)now - (double)p->measured_at_ns) / NS_PER_DAY;
}

uint64_t calib_background_ns(const struct calib_profile *p, uint64_t wall_ns)
{
	struct cpuset cpus;
	if (!p || p->baseline_busy_percent <= 0 || cpuset_parse(p->busy_cpus, &cpus) < 0)
		return 0;
	return (uint64_t)llround(p->baseline_busy_percent / 100 * cpuset_count(&cpus) *
				 (double)wall_ns);
}

int calib_check(const struct calib_profile *p, const char *host_fingerprint,
		const char *meter_backend, uint64_t now, char *reason, size_t cap)
{
	struct calib_profile copy = *p;
	char err[256];

	if (validate(&copy, err, sizeof err) < 0) {
		say(reason, cap, "invalid profile: %s", err);
		return -EINVAL;
	}
	if (host_fingerprint && strcmp(host_fingerprint, p->host_fingerprint) != 0) {
		say(reason, cap, "made on another host (fingerprint %.12s…, this host %.12s…; "
		    "a kernel, microcode or hostname change also counts): recalibrate",
		    p->host_fingerprint, host_fingerprint);
		return -EXDEV;
	}
	if (meter_backend && strcmp(meter_backend, p->meter_backend) != 0) {
		say(reason, cap, "made with meter '%s', now using '%s': recalibrate",
		    p->meter_backend, meter_backend);
		return -EMEDIUMTYPE;
	}
	if (copy.measured_at_ns > now + FUTURE_SLACK_NS) {
		say(reason, cap, "measured_at %s is in the future: check the clock", p->measured_at);
		return -EINVAL;
	}
	double age = calib_age_days(&copy, now);
	if (age > (double)p->valid_until_days) {
		say(reason, cap, "expired: measured %.1f days ago, valid for %ld days: recalibrate",
		    age, p->valid_until_days);
		return -ESTALE;
	}
	say(reason, cap, "valid: measured %.1f days ago, expires in %.1f days",
	    age < 0 ? 0 : age, (double)p->valid_until_days - age);
	return 0;
}

/* ---- sampling ----------------------------------------------------------- */

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
		say(reason, cap, "duration %.3g s / interval %u ms: need 0 < duration ≤ 86400 s, "
		    "10..60000 ms intervals, and at least 2 intervals", o->duration_seconds,
		    *interval_ms);
		return -EINVAL;
	}
	if (!o->host_fingerprint || !is_hex64(o->host_fingerprint)) {
		say(reason, cap, "host fingerprint missing or malformed");
		return -EINVAL;
	}
	if (!(o->max_cv_percent >= 0) || !(o->max_busy_percent >= 0)) {
		say(reason, cap, "max_cv_percent and max_busy_percent must be >= 0");
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

int calib_run(struct meter *m, const struct calib_run_opts *o, struct calib_profile *out,
	      char *reason, size_t cap)
{
	struct procstat *ps = NULL;
	struct procstat_sample b0, b1, p0, p1, pi, pj;
	const struct cpuset *pkg_cpus = o && o->package_cpus ? o->package_cpus : o ? o->cpus : NULL;
	struct meter_reading r0, start, r;
	double *pkg = NULL, *dram = NULL, *bg = NULL;
	unsigned interval_ms;
	size_t n = 0, total;
	int ret;

	memset(out, 0, sizeof *out);
	if (!m || !o)
		return -EINVAL;
	if ((ret = check_opts(o, &interval_ms, reason, cap)) < 0)
		return ret;
	total = (size_t)(o->duration_seconds * 1000 / interval_ms + 1e-9);
	pkg = calloc(total, sizeof *pkg);
	dram = calloc(total, sizeof *dram);
	bg = calloc(total, sizeof *bg);
	if (!pkg || !dram || !bg) {
		ret = -ENOMEM;
		goto out;
	}
	ps = procstat_open(o->proc_root);
	if (!ps || (ret = procstat_read(ps, o->cpus, &b0)) < 0 ||
	    (ret = procstat_read(ps, pkg_cpus, &p0)) < 0) {
		ret = ps ? ret : -errno;
		say(reason, cap, "%s/proc/stat: %s", o->proc_root ? o->proc_root : "", strerror(-ret));
		goto out;
	}

	uint64_t interval_ns = (uint64_t)interval_ms * 1000000ull, poll_ns = POLL_NS;
	double wrap = meter_max_wrap_seconds(m);
	if (wrap > 0 && wrap * 1e9 < (double)poll_ns)
		poll_ns = wrap * 1e9 > 1e6 ? (uint64_t)(wrap * 1e9) : 1000000ull;
	if ((ret = meter_read(m, &r0)) < 0) {
		say(reason, cap, "meter read failed: %s", strerror(-ret));
		goto out;
	}
	start = r0;
	pi = p0;
	uint64_t next = r0.t_ns + interval_ns;
	bool has_dram = meter_domains(m) & METER_BIT(METER_DRAM);
	while (n < total) {
		uint64_t now = util_mono_ns();
		uint64_t wake = next < now + poll_ns ? next : now + poll_ns;
		if ((ret = sleep_until(wake, o->stop)) < 0) {
			say(reason, cap, ret == -EINTR ? "interrupted" : "sleep failed");
			goto out;
		}
		if ((ret = meter_read(m, &r)) < 0) {
			say(reason, cap, "meter read failed: %s", strerror(-ret));
			goto out;
		}
		if (r.t_ns < next)
			continue;
		double dt = (double)(r.t_ns - start.t_ns) / 1e9;
		pkg[n] = (double)(r.uj[METER_PACKAGE] - start.uj[METER_PACKAGE]) / 1e6 / dt;
		dram[n] = has_dram ? (double)(r.uj[METER_DRAM] - start.uj[METER_DRAM]) / 1e6 / dt : 0;
		/* the package's busy % of the same interval: idle is a median of
		 * intervals, so the background it holds is the median of these */
		if (procstat_read(ps, pkg_cpus, &pj) == 0) {
			bg[n] = busy_percent(&pi, &pj);
			pi = pj;
		} else {
			bg[n] = n ? bg[n - 1] : 0;
		}
		n++;
		start = r;
		next += interval_ns;
		if (next <= r.t_ns)   /* fell behind (suspend, stall): restart the grid */
			next = r.t_ns + interval_ns;
		if (o->progress) {
			struct calib_progress pr = {
				.sample = (unsigned)n, .total = (unsigned)total,
				.elapsed_seconds = (double)(r.t_ns - r0.t_ns) / 1e9,
				.package_watts = pkg[n - 1], .dram_watts = dram[n - 1],
			};
			o->progress(o->progress_arg, &pr);
		}
	}
	if ((ret = procstat_read(ps, o->cpus, &b1)) < 0 ||
	    (ret = procstat_read(ps, pkg_cpus, &p1)) < 0) {
		say(reason, cap, "/proc/stat: %s", strerror(-ret));
		goto out;
	}

	out->version = CALIB_VERSION;
	snprintf(out->host_fingerprint, sizeof out->host_fingerprint, "%s", o->host_fingerprint);
	snprintf(out->meter_backend, sizeof out->meter_backend, "%s", meter_backend(m));
	out->socket = o->socket;
	if (o->measurement_cpus)
		snprintf(out->measurement_cpus, sizeof out->measurement_cpus, "%s", o->measurement_cpus);
	else if (!o->cpus || cpuset_format(o->cpus, out->measurement_cpus,
					   sizeof out->measurement_cpus) < 0 || !*out->measurement_cpus)
		snprintf(out->measurement_cpus, sizeof out->measurement_cpus, "%s", "0");
	out->duration_seconds = round((double)(r.t_ns - r0.t_ns) / 1e6) / 1e3;
	summarize(out, pkg, dram, n);
	uint64_t real = util_realtime_ns();
	util_rfc3339(real, out->measured_at);
	out->measured_at_ns = real;
	out->valid_until_days = o->valid_until_days > 0 ? o->valid_until_days
							: CALIB_DEFAULT_VALID_DAYS;

	double busy = busy_percent(&b0, &b1), background = busy_percent(&p0, &p1);
	/* Idle is idle of the whole package: work on its other CPUs draws package
	 * power too, and would come out as "idle" and make every net figure low. */
	out->background_busy_percent = round(background * 100) / 100;
	out->baseline_busy_percent = round(stats_median(bg, n) * 100) / 100;
	if (!pkg_cpus || cpuset_format(pkg_cpus, out->busy_cpus, sizeof out->busy_cpus) < 0)
		snprintf(out->busy_cpus, sizeof out->busy_cpus, "%s", out->measurement_cpus);
	if (background > o->max_busy_percent || busy > o->max_busy_percent) {
		say(reason, cap, "the package's CPUs %s were %.1f%% busy (measurement CPUs %s: %.1f%%; "
		    "limit %g%%): stop what runs there (ps -eo psr,pid,comm shows it), then "
		    "calibrate again", out->busy_cpus, background, out->measurement_cpus, busy,
		    o->max_busy_percent);
		ret = -EBUSY;
		goto out;
	}
	if (out->cv_percent > o->max_cv_percent) {
		say(reason, cap, "package power too noisy: CV %.2f%% > %g%% (median %.3f W, "
		    "stddev %.3f W over %zu samples): something on the package is not idle; "
		    "retry on a quiet machine or raise calibration_max_cv_percent",
		    out->cv_percent, o->max_cv_percent, out->idle_package_watts,
		    out->stddev_package_watts, n);
		ret = -ERANGE;
		goto out;
	}
	say(reason, cap, "idle package %.3f W (CV %.2f%%), DRAM %.3f W%s, package CPUs %.1f%% busy, "
	    "%zu samples over %.1f s", out->idle_package_watts, out->cv_percent,
	    out->idle_dram_watts, has_dram ? "" : " (no DRAM domain)", background, n,
	    out->duration_seconds);
	ret = 0;
out:
	procstat_close(ps);
	free(pkg);
	free(dram);
	free(bg);
	return ret;
}

int calib_load_checked(const char *path, const char *host_fingerprint, const char *meter_backend,
		       const char *measurement_cpus, uint64_t now_realtime_ns,
		       struct calib_profile *p, char *reason, size_t cap)
{
	int err = calib_load(path, p, reason, cap);
	if (err)
		return err;
	err = calib_check(p, host_fingerprint, meter_backend, now_realtime_ns, reason, cap);
	if (err)
		return err;
	if (measurement_cpus && strcmp(p->measurement_cpus, measurement_cpus) != 0) {
		snprintf(reason, cap, "profile was measured on CPUs %s, measuring now on %s",
			 p->measurement_cpus, measurement_cpus);
		return -EXDEV;
	}
	return 0;
}
