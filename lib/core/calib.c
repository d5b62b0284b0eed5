/* calib.c — see calib.h. */
#include "calib.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpuset.h"
#include "util.h"

#define FUTURE_SLACK_NS (300ull * 1000000000ull)
#define NS_PER_DAY (86400.0 * 1e9)

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
			util_say(err, cap, "%s: %g outside %g..%g", f->key, v, f->min, f->max);
			return -EINVAL;
		}
	}
	if (!(p->duration_seconds > 0)) {
		util_say(err, cap, "duration_seconds: must be > 0");
		return -EINVAL;
	}
	if (!util_is_lower_hex(p->host_fingerprint, 64)) {
		util_say(err, cap, "host_fingerprint: not 64 lower-case hex digits");
		return -EINVAL;
	}
	if (strcmp(p->meter_backend, "powercap") != 0 && strcmp(p->meter_backend, "perf") != 0 &&
	    strcmp(p->meter_backend, "model") != 0) {
		util_say(err, cap, "meter_backend: '%s' is not powercap, perf or model", p->meter_backend);
		return -EINVAL;
	}
	if (cpuset_parse(p->measurement_cpus, &cs) < 0) {
		util_say(err, cap, "measurement_cpus: '%s' is not a CPU list", p->measurement_cpus);
		return -EINVAL;
	}
	if (util_rfc3339_parse(p->measured_at, &p->measured_at_ns) < 0) {
		util_say(err, cap, "measured_at: '%s' is not RFC 3339 UTC", p->measured_at);
		return -EINVAL;
	}
	return 0;
}

static int from_json(json_t *root, struct calib_profile *p, char *err, size_t cap)
{
	const char *key;
	json_t *val;

	if (!json_is_object(root)) {
		util_say(err, cap, "top level is not a JSON object");
		return -EINVAL;
	}
	json_object_foreach(root, key, val) {
		size_t i;
		for (i = 0; i < NFIELDS && strcmp(fields[i].key, key) != 0; i++)
			;
		if (i == NFIELDS) {
			util_say(err, cap, "unknown key '%.64s'", key);
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
			util_say(err, cap, "%s: missing", f->key);
			return -EINVAL;
		}
		switch (f->type) {
		case F_BOOL:
			if (!json_is_boolean(val)) {
				util_say(err, cap, "%s: must be true or false", f->key);
				return -EINVAL;
			}
			*(bool *)(void *)base = json_is_true(val);
			break;
		case F_INT:
		case F_LONG: {
			if (!json_is_integer(val)) {
				util_say(err, cap, "%s: must be an integer", f->key);
				return -EINVAL;
			}
			json_int_t v = json_integer_value(val);
			if ((double)v < f->min || (double)v > f->max) {
				util_say(err, cap, "%s: %lld outside %g..%g", f->key, (long long)v, f->min, f->max);
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
				util_say(err, cap, "%s: must be a number", f->key);
				return -EINVAL;
			}
			*(double *)(void *)base = json_number_value(val);
			break;
		case F_STR: {
			if (!json_is_string(val)) {
				util_say(err, cap, "%s: must be a string", f->key);
				return -EINVAL;
			}
			size_t len = json_string_length(val);
			const char *s = json_string_value(val);
			if (len + 1 > (size_t)f->max || strlen(s) != len) {
				util_say(err, cap, "%s: longer than %zu bytes or contains NUL", f->key,
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
		util_say(err, cap, "%s: %s", path,
		    ret == -EFBIG ? "larger than 64 KiB, not a calibration profile" : strerror(-ret));
		goto out;
	}
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		util_say(err, cap, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		ret = -EINVAL;
		goto out;
	}
	char ferr[256] = "";
	if ((ret = from_json(root, p, ferr, sizeof ferr)) < 0) {
		util_say(err, cap, "%s: %s", path, ferr);
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
		util_say(reason, cap, "invalid profile: %s", err);
		return -EINVAL;
	}
	if (host_fingerprint && strcmp(host_fingerprint, p->host_fingerprint) != 0) {
		util_say(reason, cap, "made on another host (fingerprint %.12s…, this host %.12s…; "
		    "a kernel, microcode or hostname change also counts): recalibrate",
		    p->host_fingerprint, host_fingerprint);
		return -EXDEV;
	}
	if (meter_backend && strcmp(meter_backend, p->meter_backend) != 0) {
		util_say(reason, cap, "made with meter '%s', now using '%s': recalibrate",
		    p->meter_backend, meter_backend);
		return -EMEDIUMTYPE;
	}
	if (copy.measured_at_ns > now + FUTURE_SLACK_NS) {
		util_say(reason, cap, "measured_at %s is in the future: check the clock", p->measured_at);
		return -EINVAL;
	}
	double age = calib_age_days(&copy, now);
	if (age > (double)p->valid_until_days) {
		util_say(reason, cap, "expired: measured %.1f days ago, valid for %ld days: recalibrate",
		    age, p->valid_until_days);
		return -ESTALE;
	}
	util_say(reason, cap, "valid: measured %.1f days ago, expires in %.1f days",
	    age < 0 ? 0 : age, (double)p->valid_until_days - age);
	return 0;
}

/* ---- sampling ----------------------------------------------------------- */

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
		util_say(reason, cap, "profile was measured on CPUs %s, measuring now on %s",
			 p->measurement_cpus, measurement_cpus);
		return -EXDEV;
	}
	return 0;
}

json_t *calib_status_json(const struct calib_profile *p, int err, const char *reason,
			  uint64_t now_realtime_ns)
{
	bool valid = err == 0;
	if (err == -ENOENT)
		return json_pack("{s:b, s:b, s:s}", "exists", 0, "valid", 0, "reason", reason);
	return json_pack("{s:b, s:b, s:s?, s:f, s:f, s:f, s:f, s:s, s:s, s:s, s:b, s:s?, s:f}",
		"exists", 1, "valid", valid, "reason", valid ? NULL : reason,
		"age_days", calib_age_days(p, now_realtime_ns),
		"idle_package_watts", p->idle_package_watts, "idle_dram_watts", p->idle_dram_watts,
		"cv_percent", p->cv_percent, "measured_at", p->measured_at,
		"meter_backend", p->meter_backend, "sha256", p->sha256,
		"forced", p->forced, "forced_reason", p->forced ? p->forced_reason : NULL,
		"background_busy_percent", p->background_busy_percent);
}
