/*
 * test_calib.c — profile round trip, every calib_check rejection, malformed
 * files, and calib_run against the model and a fake powercap tree.
 */
#include <check.h>
#include <jansson.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calib_run.h"
#include "cpuset.h"
#include "meter.h"
#include "util.h"
#include "testutil.h"

#define FP_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DAY_NS (86400ull * 1000000000ull)

static char tmp[64];

/* In place: the meters keep their fds. */
static void put(const char *rel, const char *content)
{
	testutil_write(tmp, rel, content);
}

static const char *at(const char *rel)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", tmp, rel);
	return path;
}

static void setup(void)
{
	testutil_tmpdir(tmp, sizeof tmp, "calib");
}

static void teardown(void)
{
	testutil_rmtree(tmp);
}

static struct calib_profile sample_profile(uint64_t measured_ns)
{
	struct calib_profile p = { 0 };
	p.version = 1;
	snprintf(p.host_fingerprint, sizeof p.host_fingerprint, "%s", FP_A);
	snprintf(p.meter_backend, sizeof p.meter_backend, "powercap");
	p.socket = 0;
	snprintf(p.measurement_cpus, sizeof p.measurement_cpus, "2-3");
	p.duration_seconds = 30.002;
	p.samples = 30;
	p.idle_package_watts = 12.345678;
	p.idle_dram_watts = 1.5;
	p.mean_package_watts = 12.4;
	p.mean_dram_watts = 1.51;
	p.stddev_package_watts = 0.1;
	p.stddev_dram_watts = 0.01;
	p.cv_percent = 0.8065;
	util_rfc3339(measured_ns, p.measured_at);
	p.valid_until_days = 7;
	return p;
}

START_TEST(round_trip)
{
	uint64_t now = util_realtime_ns();
	struct calib_profile p = sample_profile(now), q;
	char err[256];
	ck_assert_int_eq(calib_write(at("cal.json"), &p), 0);
	ck_assert_uint_eq(strlen(p.sha256), 64);
	struct stat st;
	ck_assert_int_eq(stat(at("cal.json"), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);

	ck_assert_int_eq(calib_load(at("cal.json"), &q, err, sizeof err), 0);
	ck_assert_int_eq(q.version, 1);
	ck_assert_str_eq(q.host_fingerprint, FP_A);
	ck_assert_str_eq(q.meter_backend, "powercap");
	ck_assert_int_eq(q.socket, 0);
	ck_assert_str_eq(q.measurement_cpus, "2-3");
	ck_assert_double_eq(q.duration_seconds, 30.002);
	ck_assert_int_eq(q.samples, 30);
	ck_assert_double_eq(q.idle_package_watts, 12.345678);
	ck_assert_double_eq(q.idle_dram_watts, 1.5);
	ck_assert_double_eq(q.mean_package_watts, 12.4);
	ck_assert_double_eq(q.mean_dram_watts, 1.51);
	ck_assert_double_eq(q.stddev_package_watts, 0.1);
	ck_assert_double_eq(q.stddev_dram_watts, 0.01);
	ck_assert_double_eq(q.cv_percent, 0.8065);
	ck_assert_str_eq(q.measured_at, p.measured_at);
	ck_assert_uint_eq(q.measured_at_ns / 1000, now / 1000);  /* µs resolution */
	ck_assert_int_eq(q.valid_until_days, 7);

	/* sha256 is of the exact file bytes */
	size_t len;
	char hex[65];
	char *data = testutil_read(at("cal.json"), 1 << 20, &len);
	util_sha256_hex(data, len, hex);
	ck_assert_str_eq(q.sha256, hex);
	ck_assert_str_eq(p.sha256, hex);
	free(data);

	/* a profile from before issue 8 (no background, no forced flag) still loads */
	json_error_t je;
	json_t *old = json_load_file(at("cal.json"), 0, &je);
	ck_assert_ptr_nonnull(old);
	json_object_del(old, "background_busy_percent");
	json_object_del(old, "baseline_busy_percent");
	json_object_del(old, "busy_cpus");
	json_object_del(old, "forced");
	json_object_del(old, "forced_reason");
	ck_assert_int_eq(json_dump_file(old, at("old.json"), 0), 0);
	json_decref(old);
	ck_assert_int_eq(calib_load(at("old.json"), &q, err, sizeof err), 0);
	ck_assert(!q.forced);
	ck_assert_double_eq(q.background_busy_percent, 0);
	ck_assert_double_eq(q.baseline_busy_percent, 0);
	ck_assert_uint_eq(calib_background_ns(&q, 1000000000), 0);   /* nothing taken off */
	/* a forced flag of the wrong type is refused */
	old = json_load_file(at("cal.json"), 0, &je);
	json_object_set_new(old, "forced", json_integer(1));
	ck_assert_int_eq(json_dump_file(old, at("bad-forced.json"), 0), 0);
	json_decref(old);
	ck_assert_int_eq(calib_load(at("bad-forced.json"), &q, err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, "forced"), "%s", err);

	/* an invalid profile is not written */
	p.idle_package_watts = -1;
	ck_assert_int_eq(calib_write(at("bad.json"), &p), -EINVAL);
	ck_assert_int_eq(access(at("bad.json"), F_OK), -1);
}
END_TEST

START_TEST(check_rejections)
{
	uint64_t t0 = 1700000000ull * 1000000000ull;
	struct calib_profile p = sample_profile(t0);
	char err[256], reason[256];
	ck_assert_int_eq(calib_write(at("cal.json"), &p), 0);
	ck_assert_int_eq(calib_load(at("cal.json"), &p, err, sizeof err), 0);

	ck_assert_int_eq(calib_check(&p, FP_A, "powercap", t0 + DAY_NS, reason, sizeof reason), 0);
	ck_assert_msg(strstr(reason, "valid"), "%s", reason);
	ck_assert_double_eq_tol(calib_age_days(&p, t0 + DAY_NS / 2), 0.5, 1e-9);

	/* exactly 7 days is still valid; a second later it is not */
	ck_assert_int_eq(calib_check(&p, FP_A, "powercap", t0 + 7 * DAY_NS, reason, sizeof reason), 0);
	ck_assert_int_eq(calib_check(&p, FP_A, "powercap", t0 + 7 * DAY_NS + 1000000000ull,
				     reason, sizeof reason), -ESTALE);
	ck_assert_msg(strstr(reason, "expired"), "%s", reason);

	ck_assert_int_eq(calib_check(&p, FP_B, "powercap", t0, reason, sizeof reason), -EXDEV);
	ck_assert_msg(strstr(reason, "another host"), "%s", reason);
	ck_assert_int_eq(calib_check(&p, FP_A, "model", t0, reason, sizeof reason), -EMEDIUMTYPE);
	ck_assert_msg(strstr(reason, "'powercap'") && strstr(reason, "'model'"), "%s", reason);
	/* host beats backend beats age */
	ck_assert_int_eq(calib_check(&p, FP_B, "model", t0 + 30 * DAY_NS, reason, sizeof reason),
			 -EXDEV);
	ck_assert_int_eq(calib_check(&p, FP_A, "model", t0 + 30 * DAY_NS, reason, sizeof reason),
			 -EMEDIUMTYPE);
	/* NULL skips those checks */
	ck_assert_int_eq(calib_check(&p, NULL, NULL, t0, reason, sizeof reason), 0);
	/* measured in the future */
	ck_assert_int_eq(calib_check(&p, FP_A, "powercap", t0 - DAY_NS, reason, sizeof reason),
			 -EINVAL);
	ck_assert_msg(strstr(reason, "future"), "%s", reason);
	/* a corrupted struct */
	p.version = 2;
	ck_assert_int_eq(calib_check(&p, FP_A, "powercap", t0, reason, sizeof reason), -EINVAL);
}
END_TEST

/* A valid document with one field's JSON text replaced (or dropped with NULL). */
static void put_profile(const char *rel, const char *key, const char *value)
{
	static const char *const keys[] = {
		"version", "host_fingerprint", "meter_backend", "socket", "measurement_cpus",
		"duration_seconds", "samples", "idle_package_watts", "idle_dram_watts",
		"mean_package_watts", "mean_dram_watts", "stddev_package_watts",
		"stddev_dram_watts", "cv_percent", "measured_at", "valid_until_days",
	};
	static const char *const vals[] = {
		"1", "\"" FP_A "\"", "\"model\"", "0", "\"1\"", "30", "30", "10.5", "2",
		"10.6", "2.1", "0.2", "0.01", "1.9", "\"2026-01-02T03:04:05.000006Z\"", "7",
	};
	char doc[4096] = "{";
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *v = vals[i];
		if (key && strcmp(key, keys[i]) == 0) {
			if (!value)
				continue;
			v = value;
		}
		size_t l = strlen(doc);
		snprintf(doc + l, sizeof doc - l, "%s\"%s\": %s", l > 1 ? ", " : "", keys[i], v);
	}
	strcat(doc, "}\n");
	put(rel, doc);
}

static void expect_bad(const char *key, const char *value, const char *errpart)
{
	struct calib_profile p;
	char err[256];
	put_profile("p.json", key, value);
	ck_assert_int_eq(calib_load(at("p.json"), &p, err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, errpart), "%s=%s: '%s' lacks '%s'", key, value ? value : "(gone)",
		      err, errpart);
	ck_assert_int_eq(p.version, 0);   /* zeroed on failure */
}

START_TEST(malformed_files)
{
	struct calib_profile p;
	char err[256];
	put_profile("p.json", NULL, NULL);
	ck_assert_int_eq(calib_load(at("p.json"), &p, err, sizeof err), 0);
	ck_assert_double_eq(p.duration_seconds, 30);   /* an integer is a number */

	expect_bad("version", "\"1\"", "version: must be an integer");
	expect_bad("version", "2", "version");
	expect_bad("samples", "2.5", "samples: must be an integer");
	expect_bad("samples", "1", "samples");
	expect_bad("idle_package_watts", "\"10\"", "idle_package_watts: must be a number");
	expect_bad("idle_dram_watts", "-0.5", "idle_dram_watts");
	expect_bad("idle_dram_watts", "null", "idle_dram_watts: must be a number");
	expect_bad("host_fingerprint", "\"abc\"", "host_fingerprint");
	expect_bad("host_fingerprint", "42", "host_fingerprint: must be a string");
	expect_bad("meter_backend", "\"rapl\"", "meter_backend");
	expect_bad("measurement_cpus", "\"one\"", "measurement_cpus");
	expect_bad("measured_at", "\"yesterday\"", "measured_at");
	expect_bad("valid_until_days", "0", "valid_until_days");
	expect_bad("duration_seconds", "0", "duration_seconds");
	expect_bad("cv_percent", NULL, "cv_percent: missing");
	expect_bad("socket", "-1", "socket");

	put("p.json", "{\"version\": 1,");
	ck_assert_int_eq(calib_load(at("p.json"), &p, err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, "p.json:"), "%s", err);
	put("p.json", "[1, 2]");
	ck_assert_int_eq(calib_load(at("p.json"), &p, err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, "not a JSON object"), "%s", err);

	/* duplicate key: a valid document plus a second "version" */
	put_profile("p.json", NULL, NULL);
	char *data = testutil_read(at("p.json"), 1 << 20, NULL);
	char dup[4200];
	snprintf(dup, sizeof dup, "{\"version\": 1, %s", data + 1);
	free(data);
	put("p.json", dup);
	ck_assert_int_eq(calib_load(at("p.json"), &p, err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, "duplicate"), "%s", err);

	/* unknown key */
	put_profile("p.json", "socket", "0, \"extra\": true");
	ck_assert_int_eq(calib_load(at("p.json"), &p, err, sizeof err), -EINVAL);
	ck_assert_msg(strstr(err, "unknown key 'extra'"), "%s", err);

	/* too large: a valid document padded past 64 KiB with whitespace */
	put_profile("p.json", NULL, NULL);
	FILE *f = fopen(at("p.json"), "a");
	for (int i = 0; i < 70 * 1024; i++)
		fputc(' ', f);
	fclose(f);
	ck_assert_int_eq(calib_load(at("p.json"), &p, err, sizeof err), -EFBIG);
	ck_assert_msg(strstr(err, "64 KiB"), "%s", err);

	ck_assert_int_eq(calib_load(at("nope.json"), &p, err, sizeof err), -ENOENT);
}
END_TEST

/* ---- calib_run ---------------------------------------------------------- */

struct fake_stat {
	unsigned long long busy1;    /* cpu1 user jiffies */
	unsigned long long idle1;
	unsigned long long step_busy, step_idle;  /* added per progress call */
	bool alternate;              /* add step_busy only on odd samples */
	unsigned calls;
	unsigned long long busy0, step_busy0;  /* cpu0: another CPU of the package */
};

static void write_stat(const struct fake_stat *s)
{
	char b[512];
	snprintf(b, sizeof b, "cpu  %llu 0 0 %llu 0 0 0 0 0 0\n"
		 "cpu0 %llu 0 0 100000 0 0 0 0 0 0\n"
		 "cpu1 %llu 0 0 %llu 0 0 0 0 0 0\nintr 0\n",
		 s->busy1 + s->busy0, 100000 + s->idle1, s->busy0, s->busy1, s->idle1);
	put("proc/stat", b);
}

static void on_progress(void *arg, const struct calib_progress *p)
{
	struct fake_stat *s = arg;
	s->calls++;
	ck_assert_uint_eq(p->sample, s->calls);
	ck_assert_uint_eq(p->total, 5);
	if (!s->alternate || (p->sample % 2))
		s->busy1 += s->step_busy;
	s->busy0 += s->step_busy0;
	s->idle1 += s->step_idle;
	write_stat(s);
}

static struct meter *model_meter(const struct cpuset *cs)
{
	struct meter_options o = {
		.kind = "model", .cpus = cs, .proc_root = tmp,
		.model_idle_package_watts = 7.5, .model_active_watts_per_cpu = 10,
		.model_idle_dram_watts = 1.25, .model_active_dram_watts_per_cpu = 1,
	};
	char why[512];
	struct meter *m = meter_open(&o, why, sizeof why);
	ck_assert_msg(m, "%s", why);
	return m;
}

static struct calib_run_opts run_opts(const struct cpuset *cs, struct fake_stat *fs)
{
	struct calib_run_opts o = {
		.duration_seconds = 0.5, .sample_interval_ms = 100,
		.max_cv_percent = 5, .max_busy_percent = 10,
		.cpus = cs, .proc_root = tmp, .socket = 0, .host_fingerprint = FP_A,
		.progress = on_progress, .progress_arg = fs,
	};
	return o;
}

START_TEST(run_idle_writes_profile)
{
	struct cpuset cs;
	cpuset_parse("1", &cs);
	struct fake_stat fs = { .step_idle = 10 };   /* idle time passes, nothing busy */
	write_stat(&fs);
	struct meter *m = model_meter(&cs);
	struct calib_run_opts o = run_opts(&cs, &fs);
	struct calib_profile p, q;
	char reason[512], err[256];
	ck_assert_int_eq(calib_run(m, &o, &p, reason, sizeof reason), 0);
	ck_assert_msg(strstr(reason, "idle package 7.500 W"), "%s", reason);
	ck_assert_uint_eq(fs.calls, 5);
	ck_assert_int_eq(p.samples, 5);
	ck_assert_str_eq(p.meter_backend, "model");
	ck_assert_str_eq(p.measurement_cpus, "1");
	ck_assert_double_eq_tol(p.idle_package_watts, 7.5, 1e-3);
	ck_assert_double_eq_tol(p.idle_dram_watts, 1.25, 1e-3);
	ck_assert_double_eq_tol(p.mean_package_watts, 7.5, 1e-3);
	ck_assert(p.cv_percent < 0.1);
	ck_assert(p.duration_seconds >= 0.5 && p.duration_seconds < 1.5);
	ck_assert_int_eq(p.valid_until_days, CALIB_DEFAULT_VALID_DAYS);

	ck_assert_int_eq(calib_write(at("cal.json"), &p), 0);
	ck_assert_int_eq(calib_load(at("cal.json"), &q, err, sizeof err), 0);
	ck_assert_int_eq(calib_check(&q, FP_A, meter_backend(m), util_realtime_ns(), reason,
				     sizeof reason), 0);
	meter_close(m);
}
END_TEST

START_TEST(run_busy_refused)
{
	struct cpuset cs;
	cpuset_parse("1", &cs);
	/* 50 busy + 50 idle jiffies per interval on cpu1: 50 % busy */
	struct fake_stat fs = { .step_busy = 50, .step_idle = 50 };
	write_stat(&fs);
	struct meter *m = model_meter(&cs);
	struct calib_run_opts o = run_opts(&cs, &fs);
	o.max_cv_percent = 1e6;   /* isolate the busy check */
	struct calib_profile p;
	char reason[512];
	ck_assert_int_eq(calib_run(m, &o, &p, reason, sizeof reason), -EBUSY);
	ck_assert_msg(strstr(reason, "50.0% busy"), "%s", reason);
	ck_assert_int_eq(p.samples, 5);   /* still filled for --force */
	ck_assert_int_eq(p.version, 1);
	meter_close(m);
}
END_TEST

/* Another CPU of the package busy while idle is sampled: refused, with the
 * background named, and recorded in the profile when forced (issue 8). */
START_TEST(run_background_on_the_package_refused)
{
	struct cpuset cs, pkg;
	cpuset_parse("1", &cs);
	cpuset_parse("0-1", &pkg);
	/* cpu1 idle; cpu0 fully busy: the package is 50 % busy */
	struct fake_stat fs = { .step_idle = 100, .step_busy0 = 100 };
	write_stat(&fs);
	struct meter *m = model_meter(&cs);
	struct calib_run_opts o = run_opts(&cs, &fs);
	o.max_cv_percent = 1e6;
	struct calib_profile p, q;
	char reason[512], err[256];
	ck_assert_int_eq(calib_run(m, &o, &p, reason, sizeof reason), 0);  /* cpu1 alone: idle */
	ck_assert_double_eq_tol(p.background_busy_percent, 0, 1e-9);
	fs.calls = 0;   /* a second run: the progress callback counts again */
	write_stat(&fs);
	o.package_cpus = &pkg;
	ck_assert_int_eq(calib_run(m, &o, &p, reason, sizeof reason), -EBUSY);
	ck_assert_msg(strstr(reason, "package's CPUs 0-1 were 50.0% busy"), "%s", reason);
	ck_assert_double_eq_tol(p.background_busy_percent, 50, 0.01);
	/* every interval was as busy: the median interval too */
	ck_assert_double_eq_tol(p.baseline_busy_percent, 50, 0.01);
	ck_assert_str_eq(p.busy_cpus, "0-1");
	/* --force keeps it, and the file says so */
	p.forced = true;
	snprintf(p.forced_reason, sizeof p.forced_reason, "%s", "package busy");
	ck_assert_int_eq(calib_write(at("forced.json"), &p), 0);
	ck_assert_int_eq(calib_load(at("forced.json"), &q, err, sizeof err), 0);
	ck_assert(q.forced);
	ck_assert_str_eq(q.forced_reason, "package busy");
	ck_assert_double_eq_tol(q.background_busy_percent, 50, 0.01);
	ck_assert_double_eq_tol(q.baseline_busy_percent, 50, 0.01);
	ck_assert_str_eq(q.busy_cpus, "0-1");
	meter_close(m);
}
END_TEST

START_TEST(run_noisy_refused)
{
	struct cpuset cs;
	cpuset_parse("1", &cs);
	struct fake_stat fs = { .step_busy = 20, .step_idle = 10, .alternate = true };
	write_stat(&fs);
	struct meter *m = model_meter(&cs);
	struct calib_run_opts o = run_opts(&cs, &fs);
	o.max_busy_percent = 100;   /* isolate the CV check */
	struct calib_profile p;
	char reason[512];
	ck_assert_int_eq(calib_run(m, &o, &p, reason, sizeof reason), -ERANGE);
	ck_assert_msg(strstr(reason, "too noisy"), "%s", reason);
	ck_assert(p.cv_percent > 5);
	meter_close(m);
}
END_TEST

START_TEST(run_bad_options)
{
	struct cpuset cs;
	cpuset_parse("1", &cs);
	struct fake_stat fs = { 0 };
	write_stat(&fs);
	struct meter *m = model_meter(&cs);
	struct calib_run_opts o = run_opts(&cs, &fs);
	struct calib_profile p;
	char reason[512];
	o.duration_seconds = 0.15;   /* fewer than 2 intervals */
	ck_assert_int_eq(calib_run(m, &o, &p, reason, sizeof reason), -EINVAL);
	o = run_opts(&cs, &fs);
	o.host_fingerprint = "xyz";
	ck_assert_int_eq(calib_run(m, &o, &p, reason, sizeof reason), -EINVAL);
	o = run_opts(&cs, &fs);
	volatile sig_atomic_t stop = 1;
	o.stop = &stop;
	ck_assert_int_eq(calib_run(m, &o, &p, reason, sizeof reason), -EINTR);
	ck_assert_uint_eq(fs.calls, 0);
	meter_close(m);
}
END_TEST

/* Counter wraps inside a run: per-interval power must stay right. */
static void wrap_progress(void *arg, const struct calib_progress *p)
{
	unsigned long long *e = arg;
	*e = (*e + 300000) % 1000000;   /* 0.3 J per 100 ms interval ≈ 3 W; wraps every ~3 */
	char b[32];
	snprintf(b, sizeof b, "%llu\n", *e);
	put("pc/intel-rapl:0/energy_uj", b);
	(void)p;
}

START_TEST(run_powercap_wraps)
{
	unsigned long long e = 900000;
	put("pc/intel-rapl:0/name", "package-0\n");
	put("pc/intel-rapl:0/max_energy_range_uj", "1000000\n");
	put("pc/intel-rapl:0/energy_uj", "900000\n");
	struct meter_options mo = { .kind = "powercap", .powercap_root = at("pc") };
	char why[512];
	struct meter *m = meter_open(&mo, why, sizeof why);
	ck_assert_msg(m, "%s", why);
	struct calib_run_opts o = {
		.duration_seconds = 1.0, .sample_interval_ms = 100, .max_cv_percent = 1e6,
		.max_busy_percent = 100, .proc_root = "", .measurement_cpus = "0",
		.host_fingerprint = FP_A, .progress = wrap_progress, .progress_arg = &e,
	};
	struct calib_profile p;
	char reason[512];
	ck_assert_int_eq(calib_run(m, &o, &p, reason, sizeof reason), 0);
	ck_assert_int_eq(p.samples, 10);
	/* first interval saw no change (0 W), the other 9 saw 0.3 J each */
	ck_assert_msg(p.idle_package_watts > 2 && p.idle_package_watts < 3.3, "%f",
		      p.idle_package_watts);
	ck_assert_str_eq(p.meter_backend, "powercap");
	struct meter_reading r;
	ck_assert_int_eq(meter_read(m, &r), 0);
	ck_assert_uint_eq(r.uj[METER_PACKAGE], 3000000);
	ck_assert_uint_eq(r.wraps[METER_PACKAGE], 3);
	meter_close(m);
}
END_TEST

/* The busy time a profile's idle figures hold, over a window (issue 8). */
START_TEST(background_over_a_window)
{
	struct calib_profile p = { .baseline_busy_percent = 5, .background_busy_percent = 9 };
	snprintf(p.busy_cpus, sizeof p.busy_cpus, "%s", "0-1");
	/* 5 % of two CPUs over 1 s */
	ck_assert_uint_eq(calib_background_ns(&p, 1000000000), 100000000);
	ck_assert_uint_eq(calib_background_ns(&p, 0), 0);
	snprintf(p.busy_cpus, sizeof p.busy_cpus, "%s", "");   /* an older profile */
	ck_assert_uint_eq(calib_background_ns(&p, 1000000000), 0);
	ck_assert_uint_eq(calib_background_ns(NULL, 1000000000), 0);
}
END_TEST

static Suite *calib_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("calib", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, check_rejections);
	tcase_add_test(tc, malformed_files);
	tcase_add_test(tc, run_idle_writes_profile);
	tcase_add_test(tc, run_busy_refused);
	tcase_add_test(tc, run_noisy_refused);
	tcase_add_test(tc, run_background_on_the_package_refused);
	tcase_add_test(tc, run_bad_options);
	tcase_add_test(tc, run_powercap_wraps);
	tcase_add_test(tc, background_over_a_window);
	return s;
}

TESTUTIL_MAIN(calib_suite)
