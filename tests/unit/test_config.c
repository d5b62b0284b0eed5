/* test_config.c — the configuration table: defaults, file, environment, dump. */
#include "config.h"
#include "util.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char tmpdir[64];
static char *const noenv[] = { NULL };
/* -Wwrite-strings: environment entries must be writable char arrays. */
#define E(x) ((char[]){ x })

static void setup(void)
{
	testutil_tmpdir(tmpdir, sizeof tmpdir, "config");
}

static void teardown(void)
{
	testutil_rmtree(tmpdir);
}

/* Writes text to tmpdir/name and returns the path (static buffer per call site). */
static const char *write_conf(const char *name, const char *text, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", tmpdir, name);
	ck_assert_int_eq(util_write_file_atomic(path, text, strlen(text), 0644), 0);
	return path;
}

static void dump(const struct jt_config *cfg, char *buf, size_t cap)
{
	ck_assert_int_eq(config_dump(cfg, buf, cap), 0);
}

START_TEST(test_defaults)
{
	struct jt_config c;
	ck_assert_int_eq(config_defaults(&c), 0);
	ck_assert_str_eq(c.listen, "127.0.0.1:8000");
	ck_assert_str_eq(c.redis_url, "redis://127.0.0.1:6379/0");
	ck_assert_str_eq(c.measurement_cpus, "auto");
	ck_assert_str_eq(c.infra_cpus, "auto");
	ck_assert_str_eq(c.meter, "auto");
	ck_assert_str_eq(c.powercap_root, "/sys/class/powercap");
	ck_assert_str_eq(c.key_file, "config/keys/seal_ed25519.key");
	ck_assert_str_eq(c.calibration_file, "config/socket0_calibration.json");
	ck_assert_str_eq(c.api_tokens_file, "");
	ck_assert_str_eq(c.host_id, "");
	ck_assert_str_eq(c.python, "/usr/bin/python3");
	ck_assert_str_eq(c.harness_path, "executor/harness.py");
	ck_assert_str_eq(c.log_level, "info");
	ck_assert_str_eq(c.log_format, "text");
	ck_assert_double_eq(c.model_idle_package_watts, 10.0);
	ck_assert_double_eq(c.model_active_watts_per_cpu, 12.0);
	ck_assert_double_eq(c.model_idle_dram_watts, 2.0);
	ck_assert_double_eq(c.model_active_dram_watts_per_cpu, 1.0);
	ck_assert_int_eq(c.server_threads, 8);
	ck_assert_int_eq(c.max_body_bytes, 1048576);
	ck_assert_int_eq(c.rate_limit_per_minute, 1200);   /* on by default (issue 11) */
	ck_assert_int_eq(c.max_queue_depth, 10000);
	ck_assert_int_eq(c.max_job_seconds, 1800);
	ck_assert_int_eq(c.allow_remote_without_tokens, 0);
	ck_assert_int_eq(c.validate_timeout_seconds, 120);
	ck_assert_int_eq(c.max_connections, 1024);
	ck_assert_int_eq(c.redis_timeout_ms, 2000);
	ck_assert_int_eq(c.result_ttl_seconds, 604800);
	ck_assert_int_eq(c.lock_ttl_ms, 15000);
	ck_assert_int_eq(c.heartbeat_interval_ms, 1000);
	ck_assert_int_eq(c.worker_ttl_ms, 10000);
	ck_assert_int_eq(c.max_job_attempts, 3);
	ck_assert_int_eq(c.max_output_bytes, 1048576);
	ck_assert_int_eq(c.max_harness_message_bytes, 67108864);
	ck_assert_int_eq(c.calibration_valid_days, 7);
	ck_assert_double_eq(c.calibration_max_cv_percent, 10.0);
	ck_assert_double_eq(c.calibration_max_busy_percent, 10.0);
	ck_assert_double_eq(c.noise_floor_joules, 0.001);
	/* issue 13 fixes these */
	ck_assert_int_eq(c.monitor_tick_ms, 100);
	ck_assert_int_eq(c.monitor_seal_seconds, 60);
	ck_assert_str_eq(c.monitor_seal_file, "run/monitor-seals.jsonl");
	ck_assert_int_eq(c.monitor_top_processes, 50);
	ck_assert_str_eq(c.monitor_listen, "127.0.0.1:9101");
	ck_assert_str_eq(c.monitor_packages, "auto");
	config_free(&c);
	ck_assert_ptr_null(c.listen);
	config_free(&c); /* idempotent */
}
END_TEST

START_TEST(test_shipped_conf_equals_defaults)
{
	const char *src = getenv("JT_SRCDIR");
	char path[512], a[8192], b[8192], *text = NULL;
	struct jt_config d, f;
	struct config_error err;

	ck_assert_ptr_nonnull(src);
	snprintf(path, sizeof path, "%s/config/jouletrace.conf", src);
	ck_assert_int_eq(config_defaults(&d), 0);
	int ret = config_load(&f, path, true, noenv, &err);
	ck_assert_msg(ret == 0, "%s", err.msg);
	dump(&d, a, sizeof a);
	dump(&f, b, sizeof b);
	ck_assert_str_eq(a, b);

	/* Every key is written out in the shipped file, not left implicit. */
	text = testutil_read(path, 1 << 20, NULL);
	int keys = 0;
	for (char *line = strtok(a, "\n"); line; line = strtok(NULL, "\n")) {
		char want[96];
		size_t klen = strcspn(line, " ");
		snprintf(want, sizeof want, "\n%.*s = ", (int)klen, line);
		ck_assert_msg(strstr(text, want), "key %.*s missing from jouletrace.conf",
			      (int)klen, line);
		keys++;
	}
	/* Every field is 8 bytes: a field added without a table key fails here. */
	ck_assert_uint_eq((size_t)keys * 8, sizeof(struct jt_config));
	free(text);
	config_free(&d);
	config_free(&f);
}
END_TEST

START_TEST(test_every_type)
{
	char path[256];
	struct jt_config c;
	struct config_error err;
	write_conf("t.conf",
		   "listen = 0.0.0.0:9000\n"          /* string with a check */
		   "server_threads = 16\n"            /* integer */
		   "model_idle_package_watts = 7.25\n" /* double */
		   "meter = model\n"                  /* enum */
		   "measurement_cpus = 0-3,5\n"       /* CPU list */
		   "infra_cpus = 6\n"
		   "api_tokens_file = /etc/jt/tokens\n",
		   path, sizeof path);
	int ret = config_load(&c, path, true, noenv, &err);
	ck_assert_msg(ret == 0, "%s", err.msg);
	ck_assert_str_eq(c.listen, "0.0.0.0:9000");
	ck_assert_int_eq(c.server_threads, 16);
	ck_assert_double_eq(c.model_idle_package_watts, 7.25);
	ck_assert_str_eq(c.meter, "model");
	ck_assert_str_eq(c.measurement_cpus, "0-3,5");
	ck_assert_str_eq(c.infra_cpus, "6");
	ck_assert_str_eq(c.api_tokens_file, "/etc/jt/tokens");
	ck_assert_int_eq(c.max_job_attempts, 3); /* untouched keys keep defaults */
	config_free(&c);
}
END_TEST

struct bound_case {
	const char *key, *below, *above, *low_edge, *high_edge;
};

static const struct bound_case bounds[] = {
	{ "server_threads", "0", "257", "1", "256" },
	{ "max_body_bytes", "1023", "67108865", "1024", "67108864" },
	{ "lock_ttl_ms", "999", "600001", "1000", "600000" },
	{ "rate_limit_per_minute", "-1", "1000001", "0", "1000000" },
	{ "max_job_attempts", "0", "21", "1", "20" },
	{ "calibration_max_cv_percent", "0.09", "100.01", "0.1", "100" },
	{ "model_idle_package_watts", "-0.5", "1000.5", "0", "1000" },
	{ "noise_floor_joules", "-1e-9", "1e7", "0", "1e6" },
	{ "calibration_max_busy_percent", "-0.1", "100.1", "0", "100" },
	{ "monitor_tick_ms", "9", "10001", "10", "10000" },
	{ "monitor_top_processes", "0", "10001", "1", "10000" },
};

START_TEST(test_bounds)
{
	const struct bound_case *b = &bounds[_i];
	struct jt_config c;
	struct config_error err;

	ck_assert_int_eq(config_defaults(&c), 0);
	ck_assert_int_eq(config_set(&c, b->key, b->below, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, b->key) && strstr(err.msg, "out of range") &&
		      strstr(err.msg, "(allowed "), "%s", err.msg);
	ck_assert_int_eq(config_set(&c, b->key, b->above, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, "out of range"), "%s", err.msg);
	ck_assert_int_eq(config_set(&c, b->key, b->low_edge, &err), 0);
	ck_assert_int_eq(config_set(&c, b->key, b->high_edge, &err), 0);
	config_free(&c);
}
END_TEST

START_TEST(test_numbers_strict)
{
	static const char *const bad_int[] = { "4x", "", " 4", "4 ", "1e3", "4.0", "0x10",
					      "99999999999999999999" };
	static const char *const bad_dbl[] = { "abc", "", "nan", "inf", "1.5W", " 2" };
	struct jt_config c;
	struct config_error err;

	ck_assert_int_eq(config_defaults(&c), 0);
	for (size_t i = 0; i < sizeof bad_int / sizeof *bad_int; i++) {
		ck_assert_msg(config_set(&c, "server_threads", bad_int[i], &err) == -EINVAL,
			      "accepted '%s'", bad_int[i]);
		ck_assert_msg(strstr(err.msg, "not an integer"), "%s", err.msg);
	}
	for (size_t i = 0; i < sizeof bad_dbl / sizeof *bad_dbl; i++) {
		ck_assert_msg(config_set(&c, "model_idle_dram_watts", bad_dbl[i], &err) ==
			      -EINVAL, "accepted '%s'", bad_dbl[i]);
		ck_assert_msg(strstr(err.msg, "not a number"), "%s", err.msg);
	}
	ck_assert_int_eq(c.server_threads, 8); /* failed sets change nothing */
	ck_assert_double_eq(c.model_idle_dram_watts, 2.0);
	config_free(&c);
}
END_TEST

START_TEST(test_enum_rejects)
{
	struct jt_config c;
	struct config_error err;

	ck_assert_int_eq(config_defaults(&c), 0);
	ck_assert_int_eq(config_set(&c, "meter", "rapl", &err), -EINVAL);
	ck_assert_str_eq(err.msg, "meter: 'rapl' is not a choice (allowed auto|powercap|perf|model)");
	ck_assert_int_eq(config_set(&c, "log_level", "verbose", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "debug|info|warn|error"));
	ck_assert_int_eq(config_set(&c, "log_format", "xml", &err), -EINVAL);
	ck_assert_int_eq(config_set(&c, "meter", "", &err), -EINVAL);
	ck_assert_str_eq(c.meter, "auto");
	ck_assert_int_eq(config_set(&c, "meter", "perf", &err), 0);
	ck_assert_str_eq(c.meter, "perf");
	ck_assert_int_eq(config_set(&c, "log_level", "debug", &err), 0);
	ck_assert_str_eq(c.log_level, "debug");
	ck_assert_int_eq(config_set(&c, "no_such_key", "1", &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown key 'no_such_key'"));
	config_free(&c);
}
END_TEST

START_TEST(test_string_checks)
{
	static const char *const good_listen[] = { "127.0.0.1:8000", "[::1]:8000",
						   "0.0.0.0:65535", "localhost:1" };
	static const char *const bad_listen[] = { "127.0.0.1:0", ":80", "localhost",
						  "h:65536", "::1:8000", "h:80x", "h:",
						  "[::1:80", "h:-1" };
	static const char *const bad_redis[] = { "http://x", "redis://", "unix://",
						 "127.0.0.1:6379" };
	static const char *const bad_cpus[] = { "3-1", "x", "", "1024", "1,", "auto,1" };
	struct jt_config c;
	struct config_error err;

	ck_assert_int_eq(config_defaults(&c), 0);
	for (size_t i = 0; i < sizeof good_listen / sizeof *good_listen; i++)
		ck_assert_msg(config_set(&c, "listen", good_listen[i], &err) == 0, "%s", err.msg);
	for (size_t i = 0; i < sizeof bad_listen / sizeof *bad_listen; i++) {
		ck_assert_msg(config_set(&c, "listen", bad_listen[i], &err) == -EINVAL,
			      "accepted '%s'", bad_listen[i]);
		ck_assert_msg(strncmp(err.msg, "listen: ", 8) == 0 && strstr(err.msg, "allowed"),
			      "%s", err.msg);
	}
	ck_assert_int_eq(config_set(&c, "redis_url", "unix:///run/redis.sock", &err), 0);
	ck_assert_int_eq(config_set(&c, "redis_url", "redis://10.0.0.2:6380/3", &err), 0);
	/* empty: no Redis (the monitor alone runs so; the server and worker refuse) */
	ck_assert_int_eq(config_set(&c, "redis_url", "", &err), 0);
	for (size_t i = 0; i < sizeof bad_redis / sizeof *bad_redis; i++)
		ck_assert_msg(config_set(&c, "redis_url", bad_redis[i], &err) == -EINVAL,
			      "accepted '%s'", bad_redis[i]);
	for (size_t i = 0; i < sizeof bad_cpus / sizeof *bad_cpus; i++)
		ck_assert_msg(config_set(&c, "measurement_cpus", bad_cpus[i], &err) == -EINVAL,
			      "accepted '%s'", bad_cpus[i]);
	static const char *const good_sentinels[] = { "", "10.0.0.1:26379",
						      "a:1,[::1]:26379,b.lab:26380", " a:1 , b:2 " };
	static const char *const bad_sentinels[] = { "a", "a:1,", ",a:1", "a:1,,b:2", "a:0",
						     "a:1 b:2", "1:1,2:1,3:1,4:1,5:1,6:1,7:1,"
						     "8:1,9:1,10:1,11:1,12:1,13:1,14:1,15:1,16:1,"
						     "17:1" };
	for (size_t i = 0; i < sizeof good_sentinels / sizeof *good_sentinels; i++)
		ck_assert_msg(config_set(&c, "redis_sentinels", good_sentinels[i], &err) == 0,
			      "%s", err.msg);
	for (size_t i = 0; i < sizeof bad_sentinels / sizeof *bad_sentinels; i++)
		ck_assert_msg(config_set(&c, "redis_sentinels", bad_sentinels[i], &err) == -EINVAL,
			      "accepted '%s'", bad_sentinels[i]);
	/* monitor_calibration_files: paths, empty items skipped, at most 64 */
	char many[64 * 3 + 8] = "";
	for (int i = 0; i < 64; i++)
		strcat(many, "p;;");     /* 64 paths, and empty items between them */
	ck_assert_msg(config_set(&c, "monitor_calibration_files", "a.json; /b/c.json;", &err) == 0,
		      "%s", err.msg);
	ck_assert_msg(config_set(&c, "monitor_calibration_files", many, &err) == 0, "%s", err.msg);
	strcat(many, "q");
	ck_assert_int_eq(config_set(&c, "monitor_calibration_files", many, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, "more than 64 paths"), "%s", err.msg);
	ck_assert_int_eq(config_set(&c, "redis_master_name", "", &err), -EINVAL);
	ck_assert_int_eq(config_set(&c, "redis_master_name", "jt main", &err), -EINVAL);
	ck_assert_int_eq(config_set(&c, "redis_min_replicas", "17", &err), -EINVAL);
	ck_assert_int_eq(config_set(&c, "infra_cpus", "0-2,7", &err), 0);
	ck_assert_int_eq(config_set(&c, "host_id", "worker-01.lab", &err), 0);
	ck_assert_int_eq(config_set(&c, "host_id", "a b", &err), -EINVAL);
	ck_assert_int_eq(config_set(&c, "host_id", "a:b", &err), -EINVAL);
	ck_assert_int_eq(config_set(&c, "key_file", "", &err), -EINVAL);
	ck_assert_int_eq(config_set(&c, "python", "/usr/bin/py\nthon", &err), -EINVAL);
	config_free(&c);
}
END_TEST

START_TEST(test_unknown_key_names_file_line)
{
	char path[256], want[400];
	struct jt_config c;
	struct config_error err;

	write_conf("u.conf", "# comment\n\nbogus = 1\nlisten = 1.2.3.4:5\n", path, sizeof path);
	ck_assert_int_eq(config_load(&c, path, true, noenv, &err), -EINVAL);
	snprintf(want, sizeof want, "%s:3: unknown key 'bogus'", path);
	ck_assert_str_eq(err.msg, want);
	ck_assert_ptr_null(c.listen); /* a failed load leaves nothing to free */
}
END_TEST

START_TEST(test_bad_value_names_file_line)
{
	char path[256], want[400];
	struct jt_config c;
	struct config_error err;

	write_conf("v.conf", "meter = model\nserver_threads = 0\n", path, sizeof path);
	ck_assert_int_eq(config_load(&c, path, true, noenv, &err), -EINVAL);
	snprintf(want, sizeof want, "%s:2: server_threads: 0 is out of range (allowed 1..256)",
		 path);
	ck_assert_str_eq(err.msg, want);

	write_conf("w.conf", "\n\n\njust some words\n", path, sizeof path);
	ck_assert_int_eq(config_load(&c, path, true, noenv, &err), -EINVAL);
	snprintf(want, sizeof want, "%s:4: expected 'key = value'", path);
	ck_assert_str_eq(err.msg, want);

	write_conf("d.conf", "meter = model\nmeter = perf\n", path, sizeof path);
	ck_assert_int_eq(config_load(&c, path, true, noenv, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, ":2: duplicate key 'meter' (first set on line 1)"),
		      "%s", err.msg);
}
END_TEST

START_TEST(test_quoted_values)
{
	char path[256];
	struct jt_config c;
	struct config_error err;

	write_conf("q.conf",
		   "listen = \"127.0.0.1:9000\"   # trailing comment\n"
		   "host_id = \"\"\n"
		   "api_tokens_file = \"/tmp/a # b\"\n"
		   "powercap_root = \"/x\\\"y\\\\z\"\n"
		   "key_file = \"  spaced  \"\n",
		   path, sizeof path);
	int ret = config_load(&c, path, true, noenv, &err);
	ck_assert_msg(ret == 0, "%s", err.msg);
	ck_assert_str_eq(c.listen, "127.0.0.1:9000");
	ck_assert_str_eq(c.host_id, "");
	ck_assert_str_eq(c.api_tokens_file, "/tmp/a # b");
	ck_assert_str_eq(c.powercap_root, "/x\"y\\z");
	ck_assert_str_eq(c.key_file, "  spaced  ");
	config_free(&c);

	write_conf("q2.conf", "listen = \"127.0.0.1:9000\n", path, sizeof path);
	ck_assert_int_eq(config_load(&c, path, true, noenv, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, ":1: unterminated quoted value"));
	write_conf("q3.conf", "listen = \"127.0.0.1:9000\" x\n", path, sizeof path);
	ck_assert_int_eq(config_load(&c, path, true, noenv, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, ":1: text after the closing quote"));
}
END_TEST

START_TEST(test_comments)
{
	char path[256];
	struct jt_config c;
	struct config_error err;

	write_conf("c.conf",
		   "# full line\n"
		   "   # indented comment\n"
		   "\t\n"
		   "server_threads = 8 # trailing\n"
		   "meter = perf\t# after a tab\n"
		   "powercap_root = /a#b\n"          /* '#' inside a word is data */
		   "log_level = warn\r\n"            /* CRLF file */
		   "api_tokens_file = # nothing\n"   /* comment right after '=' */
		   "host_id=box1\n",                 /* no spaces around '=' */
		   path, sizeof path);
	int ret = config_load(&c, path, true, noenv, &err);
	ck_assert_msg(ret == 0, "%s", err.msg);
	ck_assert_int_eq(c.server_threads, 8);
	ck_assert_str_eq(c.meter, "perf");
	ck_assert_str_eq(c.powercap_root, "/a#b");
	ck_assert_str_eq(c.log_level, "warn");
	ck_assert_str_eq(c.api_tokens_file, "");
	ck_assert_str_eq(c.host_id, "box1");
	config_free(&c);
}
END_TEST

START_TEST(test_env_overrides_file)
{
	char path[256];
	struct jt_config c;
	struct config_error err;
	char *const env[] = { E("PATH=/bin"), E("JT_SERVER_THREADS=16"), E("JT_SRCDIR=/somewhere"),
			      E("JT_NOT_A_KEY=1"), E("JT_LOG_LEVEL=debug"), E("jt_meter=perf"),
			      E("JT_server_threads=99"), E("JT_MODEL_IDLE_DRAM_WATTS=0.5"),
			      E("JT_HOST_ID="), NULL };

	write_conf("e.conf", "server_threads = 8\nmeter = model\nhost_id = fromfile\n",
		   path, sizeof path);
	int ret = config_load(&c, path, true, env, &err);
	ck_assert_msg(ret == 0, "%s", err.msg);
	ck_assert_int_eq(c.server_threads, 16);   /* env wins over the file */
	ck_assert_str_eq(c.meter, "model");       /* only upper-case JT_ names count */
	ck_assert_str_eq(c.log_level, "debug");
	ck_assert_double_eq(c.model_idle_dram_watts, 0.5);
	ck_assert_str_eq(c.host_id, "");          /* an empty variable still overrides */
	config_free(&c);
}
END_TEST

START_TEST(test_bad_env_names_variable)
{
	struct jt_config c;
	struct config_error err;
	char *const env[] = { E("JT_SERVER_THREADS=abc"), NULL };
	char *const env2[] = { E("JT_METER=rapl"), NULL };

	ck_assert_int_eq(config_load(&c, "/nonexistent/jt.conf", false, env, &err), -EINVAL);
	ck_assert_str_eq(err.msg,
			 "JT_SERVER_THREADS: server_threads: 'abc' is not an integer (allowed 1..256)");
	ck_assert_ptr_null(c.listen);
	ck_assert_int_eq(config_load(&c, "/nonexistent/jt.conf", false, env2, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "JT_METER: meter: 'rapl'"));
}
END_TEST

START_TEST(test_missing_file)
{
	char path[256];
	struct jt_config c, d;
	struct config_error err;
	char a[8192], b[8192];

	snprintf(path, sizeof path, "%s/absent.conf", tmpdir);
	ck_assert_int_eq(config_load(&c, path, true, noenv, &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, path));

	ck_assert_int_eq(config_load(&c, path, false, noenv, &err), 0);
	ck_assert_int_eq(config_defaults(&d), 0);
	dump(&c, a, sizeof a);
	dump(&d, b, sizeof b);
	ck_assert_str_eq(a, b);
	config_free(&c);
	config_free(&d);

	/* A directory is not a missing file: even implicit, that is an error. */
	ck_assert_int_ne(config_load(&c, tmpdir, false, noenv, &err), 0);
}
END_TEST

START_TEST(test_overlong_line)
{
	char path[256], *text;
	struct jt_config c;
	struct config_error err;
	size_t n = 5000;

	text = malloc(n + 64);
	ck_assert_ptr_nonnull(text);
	/* Exactly 4096 bytes is still a line (a long comment after the value). */
	int head = snprintf(text, n + 64, "meter = perf\npowercap_root = /p #");
	memset(text + head, 'a', 4096 - (size_t)(head - 13));
	strcpy(text + 13 + 4096, "\n");
	write_conf("ok.conf", text, path, sizeof path);
	int ret = config_load(&c, path, true, noenv, &err);
	ck_assert_msg(ret == 0, "%s", err.msg);
	ck_assert_str_eq(c.powercap_root, "/p");
	config_free(&c);

	memset(text + head, 'a', n);
	strcpy(text + head + n, "\n");
	write_conf("long.conf", text, path, sizeof path);
	ck_assert_int_eq(config_load(&c, path, true, noenv, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, ":2: line longer than 4096 bytes"), "%s", err.msg);
	free(text);
}
END_TEST

/* A value is at most CONFIG_MAX_VALUE bytes, so that the dump of the longest
 * one, every byte escaped, still loads (fuzz/fuzz_config.c's round trip:
 * "key_file=" and 4087 bytes of "x#y" or backslashes dumped to lines over
 * 4096 bytes that --print-config's reader refused). */
START_TEST(test_longest_value_dumps_and_loads)
{
	static char text[CONFIG_MAX_VALUE + 64], a[1 << 16], b[1 << 16];
	struct jt_config c, d;
	struct config_error err;

	int head = snprintf(text, sizeof text, "key_file=");
	memset(text + head, '\\', CONFIG_MAX_VALUE + 1);
	ck_assert_int_eq(config_load_text(&c, "t.conf", text, strlen(text), &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, "t.conf:1: key_file: longer than 2000 bytes"), "%s", err.msg);
	text[head + CONFIG_MAX_VALUE] = '\0';
	ck_assert_int_eq(config_load_text(&c, "t.conf", text, strlen(text), &err), 0);
	ck_assert_uint_eq(strlen(c.key_file), CONFIG_MAX_VALUE);
	dump(&c, a, sizeof a);
	ck_assert_msg(config_load_text(&d, "dump", a, strlen(a), &err) == 0, "%s", err.msg);
	dump(&d, b, sizeof b);
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(c.key_file, d.key_file);
	config_free(&c);
	config_free(&d);
	/* the environment has the same limit */
	char *env[] = { text, NULL };
	snprintf(text, sizeof text, "JT_KEY_FILE=");
	memset(text + 12, 'k', CONFIG_MAX_VALUE + 1);
	text[12 + CONFIG_MAX_VALUE + 1] = '\0';
	ck_assert_int_eq(config_load(&c, "/nonexistent", false, env, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, "JT_KEY_FILE: key_file: longer than"), "%s", err.msg);
}
END_TEST

START_TEST(test_file_too_big)
{
	char path[256];
	struct jt_config c;
	struct config_error err;
	size_t n = (1 << 20) + 100;
	char *text = malloc(n + 1);

	ck_assert_ptr_nonnull(text);
	for (size_t i = 0; i < n; i++)
		text[i] = i % 64 == 63 ? '\n' : '#';
	text[n] = '\0';
	write_conf("big.conf", text, path, sizeof path);
	ck_assert_int_eq(config_load(&c, path, true, noenv, &err), -EFBIG);
	ck_assert_msg(strstr(err.msg, "larger than"), "%s", err.msg);
	free(text);
}
END_TEST

START_TEST(test_cross_key_check)
{
	struct jt_config c;
	struct config_error err;
	char *const env[] = { E("JT_HEARTBEAT_INTERVAL_MS=6000"), NULL };

	ck_assert_int_eq(config_load(&c, "/nonexistent", false, env, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, "worker_ttl_ms"), "%s", err.msg);
}
END_TEST

START_TEST(test_dump_round_trip)
{
	char path[256], a[8192], b[8192];
	struct jt_config c, r;
	struct config_error err;

	ck_assert_int_eq(config_defaults(&c), 0);
	ck_assert_int_eq(config_set(&c, "api_tokens_file", "/x # \"q\" \\ y", &err), 0);
	ck_assert_int_eq(config_set(&c, "key_file", " lead", &err), 0);
	ck_assert_int_eq(config_set(&c, "noise_floor_joules", "0.1", &err), 0);
	ck_assert_int_eq(config_set(&c, "model_active_watts_per_cpu", "3.3333333333333335", &err), 0);
	ck_assert_int_eq(config_set(&c, "calibration_max_cv_percent", "1e-1", &err), 0);
	ck_assert_int_eq(config_set(&c, "measurement_cpus", "1-3", &err), 0);
	ck_assert_int_eq(config_set(&c, "result_ttl_seconds", "31536000", &err), 0);
	dump(&c, a, sizeof a);
	ck_assert_ptr_nonnull(strstr(a, "noise_floor_joules = 0.1\n"));
	ck_assert_ptr_nonnull(strstr(a, "listen = 127.0.0.1:8000\n"));

	write_conf("dump.conf", a, path, sizeof path);
	int ret = config_load(&r, path, true, noenv, &err);
	ck_assert_msg(ret == 0, "%s\n%s", err.msg, a);
	dump(&r, b, sizeof b);
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(r.api_tokens_file, "/x # \"q\" \\ y");
	ck_assert_str_eq(r.key_file, " lead");
	ck_assert_double_eq(r.model_active_watts_per_cpu, c.model_active_watts_per_cpu);

	ck_assert_int_eq(config_dump(&c, a, 100), -ENOSPC);
	ck_assert_uint_lt(strlen(a), 100);
	config_free(&c);
	config_free(&r);
}
END_TEST

static Suite *config_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("config", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_shipped_conf_equals_defaults);
	tcase_add_test(tc, test_every_type);
	tcase_add_loop_test(tc, test_bounds, 0, (int)(sizeof bounds / sizeof *bounds));
	tcase_add_test(tc, test_numbers_strict);
	tcase_add_test(tc, test_enum_rejects);
	tcase_add_test(tc, test_string_checks);
	tcase_add_test(tc, test_unknown_key_names_file_line);
	tcase_add_test(tc, test_bad_value_names_file_line);
	tcase_add_test(tc, test_quoted_values);
	tcase_add_test(tc, test_comments);
	tcase_add_test(tc, test_env_overrides_file);
	tcase_add_test(tc, test_bad_env_names_variable);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_overlong_line);
	tcase_add_test(tc, test_longest_value_dumps_and_loads);
	tcase_add_test(tc, test_file_too_big);
	tcase_add_test(tc, test_cross_key_check);
	tcase_add_test(tc, test_dump_round_trip);
	return s;
}

TESTUTIL_MAIN(config_suite)
