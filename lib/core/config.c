/*
 * config.c — see config.h.  One static table drives defaults, validation, the
 * file, the environment and the dump, so a key cannot be half-added.
 */
#include "config.h"

#include "cpuset.h"
#include "log.h"
#include "sandbox_controls.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Longer lines or files are not configuration: refuse rather than guess. */
#define CONFIG_MAX_LINE 4096
/* every key is shorter than 40: a dumped line is at most 40 + 5 + 2 × value */
_Static_assert(40 + 5 + 2 * CONFIG_MAX_VALUE <= CONFIG_MAX_LINE, "config_dump lines load again");
#define CONFIG_MAX_FILE (1024 * 1024)

enum config_type { CT_STR, CT_INT, CT_DBL, CT_ENUM, CT_CPULIST };

/* Extra check for a string key: 0, or -EINVAL with a reason written to why. */
typedef int (*config_check_fn)(const char *value, char *why, size_t cap);

struct config_def {
	const char *name;
	enum config_type type;
	size_t offset;                /* into struct jt_config */
	const char *def;              /* default, as text, parsed like any value */
	double min, max;              /* CT_INT / CT_DBL bounds, inclusive */
	const char *const *allowed;   /* CT_ENUM: NULL-terminated */
	config_check_fn check;        /* CT_STR: optional */
	const char *allowed_text;     /* for "(allowed ...)" in errors */
};

static int check_sandbox_controls(const char *v, char *why, size_t cap)
{
	unsigned mask;
	return sandbox_controls_parse(v, &mask, why, cap);
}

static int check_listen(const char *v, char *why, size_t cap);
static int check_redis_url(const char *v, char *why, size_t cap);
static int check_sentinels(const char *v, char *why, size_t cap);
static int check_paths(const char *v, char *why, size_t cap);
static int check_master_name(const char *v, char *why, size_t cap);
static int check_nonempty(const char *v, char *why, size_t cap);
static int check_host_id(const char *v, char *why, size_t cap);
static int check_sandbox_controls(const char *v, char *why, size_t cap);

static const char *const meter_values[] = { "auto", "powercap", "perf", "model", NULL };
static const char *const attribution_values[] = { "auto", "bpf", "proc", NULL };
static const char *const level_values[] = { "debug", "info", "warn", "error", NULL };
static const char *const format_values[] = { "text", "json", NULL };

#define OFF(f) offsetof(struct jt_config, f)
#define STR(f, d, chk, txt) { #f, CT_STR, OFF(f), d, 0, 0, NULL, chk, txt }
#define INT(f, d, lo, hi) { #f, CT_INT, OFF(f), d, lo, hi, NULL, NULL, NULL }
#define DBL(f, d, lo, hi) { #f, CT_DBL, OFF(f), d, lo, hi, NULL, NULL, NULL }
#define ENUM(f, d, vals, txt) { #f, CT_ENUM, OFF(f), d, 0, 0, vals, NULL, txt }
#define CPUS(f) { #f, CT_CPULIST, OFF(f), "auto", 0, 0, NULL, NULL, \
		  "auto or a CPU list like 1 or 0-3,5" }

/* Order = order of config_dump and of config/jouletrace.conf. */
static const struct config_def config_table[] = {
	/* service */
	STR(host_id, "", check_host_id, "empty (= hostname) or [A-Za-z0-9._-], max 64"),
	STR(key_file, "config/keys/seal_ed25519.key", check_nonempty, "a path"),
	STR(calibration_file, "config/socket0_calibration.json", check_nonempty, "a path"),
	STR(api_tokens_file, "", NULL, NULL),
	INT(allow_remote_without_tokens, "0", 0, 1),
	/* measurement */
	CPUS(measurement_cpus),
	CPUS(infra_cpus),
	ENUM(meter, "auto", meter_values, "auto|powercap|perf|model"),
	STR(powercap_root, "/sys/class/powercap", check_nonempty, "a path"),
	DBL(noise_floor_joules, "0.001", 0, 1e6),
	ENUM(attribution_source, "auto", attribution_values, "auto|bpf|proc"),
	DBL(attribution_foreign_max_percent, "5", 0, 100),
	DBL(tampering_ratio, "3", 1.5, 1000),
	DBL(max_plausible_package_watts, "1000", 1, 100000),
	DBL(max_plausible_dram_watts, "1000", 1, 100000),
	INT(max_calls_per_window, "16777216", 1024, 1 << 30),
	/* model meter */
	DBL(model_idle_package_watts, "10", 0, 1000),
	DBL(model_active_watts_per_cpu, "12", 0, 1000),
	DBL(model_idle_dram_watts, "2", 0, 1000),
	DBL(model_active_dram_watts_per_cpu, "1", 0, 1000),
	/* server */
	STR(listen, "127.0.0.1:8000", check_listen, "host:port, port 1..65535"),
	INT(server_threads, "8", 1, 256),
	INT(max_connections, "1024", 16, 65536),
	INT(max_body_bytes, "1048576", 1024, 67108864),
	INT(rate_limit_per_minute, "1200", 0, 1000000),
	INT(max_queue_depth, "10000", 1, 10000000),
	INT(max_queued_per_client, "1000", 0, 10000000),
	INT(validate_timeout_seconds, "120", 1, 3600),
	INT(max_validate_waiting, "256", 1, 100000),
	/* redis / queue / lock */
	STR(redis_url, "redis://127.0.0.1:6379/0", check_redis_url,
	    "redis://HOST:PORT/DB, unix://PATH, or empty (the monitor only)"),
	INT(redis_timeout_ms, "2000", 10, 60000),
	STR(redis_sentinels, "", check_sentinels,
	    "empty or host:port,host:port,... (at most 16)"),
	STR(redis_master_name, "mymaster", check_master_name, "[A-Za-z0-9._-], 1..64"),
	INT(redis_min_replicas, "0", 0, 16),
	INT(redis_wait_timeout_ms, "1000", 10, 60000),
	INT(result_ttl_seconds, "604800", 60, 31536000),
	INT(lock_ttl_ms, "15000", 1000, 600000),
	INT(heartbeat_interval_ms, "1000", 100, 60000),
	INT(worker_ttl_ms, "10000", 1000, 600000),
	INT(max_job_attempts, "3", 1, 20),
	INT(host_busy_retry_seconds, "600", 0, 86400),
	INT(host_busy_backoff_seconds, "15", 1, 3600),
	INT(max_job_seconds, "1800", 10, 86400),
	/* executor */
	STR(python, "/usr/bin/python3", check_nonempty, "a path"),
	STR(harness_path, "executor/harness.py", check_nonempty, "a path"),
	INT(max_output_bytes, "1048576", 4096, 67108864),
	INT(max_harness_message_bytes, "67108864", 1048576, 1073741824),
	/* sandbox */
	STR(sandbox_user, "jouletrace-sbx", NULL, NULL),
	/* the check's message names the known controls */
	STR(sandbox_mandatory, SANDBOX_MANDATORY_DEFAULT, check_sandbox_controls, NULL),
	INT(sandbox_tmpfs_mb, "64", 1, 4096),
	INT(sandbox_max_processes, "256", 16, 65536),
	INT(sandbox_max_open_files, "256", 16, 65536),
	INT(sandbox_max_file_bytes, "67108864", 4096, 1099511627776.0),
	/* calibration */
	INT(calibration_valid_days, "7", 1, 365),
	DBL(calibration_max_cv_percent, "10", 0.1, 100),
	DBL(calibration_max_busy_percent, "10", 0, 100),
	/* host monitor */
	INT(monitor_tick_ms, "100", 10, 10000),
	INT(monitor_seal_seconds, "60", 1, 86400),
	STR(monitor_seal_file, "run/monitor-seals.jsonl", check_nonempty, "a path"),
	INT(monitor_seal_file_max_bytes, "16777216", 4096, 1099511627776.0),
	INT(monitor_seal_file_keep, "10", 1, 1000),
	INT(monitor_top_processes, "50", 1, 10000),
	STR(monitor_listen, "127.0.0.1:9101", check_listen, "host:port, port 1..65535"),
	STR(monitor_packages, "auto", check_nonempty, "auto or P=CPUS;P=CPUS, e.g. 0=0-3;1=4-7"),
	STR(monitor_calibration_files, "", check_paths, "FILE;FILE, each under PATH_MAX bytes"),
	/* logging */
	ENUM(log_level, "info", level_values, "debug|info|warn|error"),
	ENUM(log_format, "text", format_values, "text|json"),
};

#define CONFIG_NKEYS (sizeof config_table / sizeof config_table[0])

__attribute__((format(printf, 2, 3)))
static void set_err(struct config_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

static void *field(const struct jt_config *cfg, const struct config_def *d)
{
	return (char *)cfg + d->offset;
}

static const struct config_def *find_def(const char *name)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		if (strcmp(config_table[i].name, name) == 0)
			return &config_table[i];
	return NULL;
}

static int check_nonempty(const char *v, char *why, size_t cap)
{
	if (*v)
		return 0;
	util_say(why, cap, "must not be empty");
	return -EINVAL;
}

static int check_host_id(const char *v, char *why, size_t cap)
{
	size_t n = strlen(v);
	/* It becomes part of Redis key names: keep it to a safe alphabet. */
	if (n > 64) {
		util_say(why, cap, "longer than 64 characters");
		return -EINVAL;
	}
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p)) {
			util_say(why, cap, "character '%c' not allowed", *p);
			return -EINVAL;
		}
	return 0;
}

static int check_listen(const char *v, char *why, size_t cap)
{
	const char *colon = strrchr(v, ':');
	long long port;

	if (!colon || colon == v) {
		util_say(why, cap, "'%.64s' is not host:port", v);
		return -EINVAL;
	}
	/* "[::1]:8000": a bracketed IPv6 host; a bare v6 address is ambiguous. */
	bool bad_host = v[0] == '[' ? colon[-1] != ']' || colon - v < 3
				    : memchr(v, ':', (size_t)(colon - v)) != NULL;
	if (bad_host) {
		util_say(why, cap, "'%.64s' has a bad host (IPv6 needs [addr]:port)", v);
		return -EINVAL;
	}
	for (const char *p = colon + 1; *p; p++)
		if (!isdigit((unsigned char)*p))
			goto bad_port;
	if (util_parse_i64(colon + 1, &port) || port < 1 || port > 65535)
		goto bad_port;
	return 0;
bad_port:
	util_say(why, cap, "port '%.16s' is not 1..65535", colon + 1);
	return -EINVAL;
}

static int check_redis_url(const char *v, char *why, size_t cap)
{
	const char *rest = NULL;

	/* empty: no Redis, which only jouletrace-monitor can do without (its
	 * file holds the chain); the server and worker refuse it when they start */
	if (!*v)
		return 0;
	if (strncmp(v, "redis://", 8) == 0)
		rest = v + 8;
	else if (strncmp(v, "unix://", 7) == 0)
		rest = v + 7;
	if (!rest) {
		util_say(why, cap, "'%.64s' does not start with redis:// or unix://", v);
		return -EINVAL;
	}
	if (!*rest) {
		util_say(why, cap, "no host or socket path after the scheme");
		return -EINVAL;
	}
	return 0;
}

/* Empty, or up to 16 host:port items separated by commas (redis.h's
 * REDIS_MAX_SENTINELS, which lib/core cannot include). */
static int check_sentinels(const char *v, char *why, size_t cap)
{
	struct util_items it = { .rest = v, .sep = ',' };
	char item[300];
	int n = 0;

	while (util_items_next(&it)) {
		if (++n > 16 || !it.len || it.len >= sizeof item) {
			util_say(why, cap, n > 16 ? "more than 16 sentinels" : !it.len ?
				 "an item is empty" : "an item is too long");
			return -EINVAL;
		}
		memcpy(item, it.item, it.len);
		item[it.len] = '\0';
		if (check_listen(item, why, cap))
			return -EINVAL;
	}
	return 0;
}

/* Empty, or paths separated by ';' (empty items are skipped). */
static int check_paths(const char *v, char *why, size_t cap)
{
	struct util_items it = { .rest = v, .sep = ';' };
	int n = 0;

	while (util_items_next(&it))
		if (it.len && (++n > 64 || it.len >= PATH_MAX)) {
			util_say(why, cap, n > 64 ? "more than 64 paths" : "a path of %zu bytes", it.len);
			return -EINVAL;
		}
	return 0;
}

static int check_master_name(const char *v, char *why, size_t cap)
{
	return check_nonempty(v, why, cap) ? -EINVAL : check_host_id(v, why, cap);
}

/* Validates text for one key: 0 or -EINVAL with "key: reason (allowed ...)". */
static int validate(const struct config_def *d, const char *v, char *why, size_t cap,
		    long long *iv, double *dv, const char **canon)
{
	char reason[160] = "";
	const char *allowed = d->allowed_text;
	char range[96];
	struct cpuset cs;

	if (strlen(v) > CONFIG_MAX_VALUE) {
		snprintf(reason, sizeof reason, "longer than %d bytes", CONFIG_MAX_VALUE);
		goto bad;
	}
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t') {
			snprintf(reason, sizeof reason, "contains a control character");
			goto bad;
		}
	*canon = v;
	switch (d->type) {
	case CT_STR:
		if (d->check && d->check(v, reason, sizeof reason))
			goto bad;
		return 0;
	case CT_ENUM:
		for (const char *const *a = d->allowed; *a; a++)
			if (strcmp(*a, v) == 0) {
				*canon = *a;
				return 0;
			}
		snprintf(reason, sizeof reason, "'%.64s' is not a choice", v);
		goto bad;
	case CT_CPULIST:
		if (strcmp(v, "auto") == 0 || cpuset_parse(v, &cs) == 0)
			return 0;
		snprintf(reason, sizeof reason, "'%.64s' is not a CPU list", v);
		goto bad;
	case CT_INT:
		snprintf(range, sizeof range, "%.0f..%.0f", d->min, d->max);
		allowed = range;
		if (util_parse_i64(v, iv) || isspace((unsigned char)*v)) {
			snprintf(reason, sizeof reason, "'%.64s' is not an integer", v);
			goto bad;
		}
		if ((double)*iv < d->min || (double)*iv > d->max) {
			snprintf(reason, sizeof reason, "%lld is out of range", *iv);
			goto bad;
		}
		return 0;
	case CT_DBL:
		snprintf(range, sizeof range, "%g..%g", d->min, d->max);
		allowed = range;
		if (util_parse_double(v, dv) || isspace((unsigned char)*v)) {
			snprintf(reason, sizeof reason, "'%.64s' is not a number", v);
			goto bad;
		}
		if (*dv < d->min || *dv > d->max) {
			snprintf(reason, sizeof reason, "%g is out of range", *dv);
			goto bad;
		}
		return 0;
	}
bad:
	if (allowed)
		util_say(why, cap, "%s: %s (allowed %s)", d->name, reason, allowed);
	else
		util_say(why, cap, "%s: %s", d->name, reason);
	return -EINVAL;
}

/* src ("file:line", "JT_X" or NULL) prefixes any error message. */
static int apply(struct jt_config *cfg, const struct config_def *d, const char *v,
		 const char *src, struct config_error *err)
{
	char why[400];
	long long iv = 0;
	double dv = 0;
	const char *canon = NULL;
	void *f = field(cfg, d);

	if (validate(d, v, why, sizeof why, &iv, &dv, &canon)) {
		if (src)
			set_err(err, "%s: %s", src, why);
		else
			set_err(err, "%s", why);
		return -EINVAL;
	}
	switch (d->type) {
	case CT_INT:
		*(long *)f = (long)iv;
		break;
	case CT_DBL:
		*(double *)f = dv;
		break;
	default: {
		char *copy = strdup(canon);
		if (!copy) {
			set_err(err, "%s: out of memory", d->name);
			return -ENOMEM;
		}
		free(*(char **)f);
		*(char **)f = copy;
	}
	}
	return 0;
}

int config_set(struct jt_config *cfg, const char *key, const char *value,
	       struct config_error *err)
{
	struct config_error local;
	const struct config_def *d = find_def(key);

	if (!err)
		err = &local;
	if (!d) {
		set_err(err, "unknown key '%.64s'", key);
		return -ENOENT;
	}
	return apply(cfg, d, value, NULL, err);
}

void config_free(struct jt_config *cfg)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_def *d = &config_table[i];
		if (d->type == CT_INT || d->type == CT_DBL)
			continue;
		char **sp = field(cfg, d);
		free(*sp);
		*sp = NULL;
	}
}

int config_defaults(struct jt_config *cfg)
{
	struct config_error err = { { 0 } };

	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		int ret = apply(cfg, &config_table[i], config_table[i].def, "default", &err);
		if (ret) {
			/* -EINVAL here is a bad table entry: say so loudly. */
			if (ret != -ENOMEM)
				log_error("config: built-in %s", err.msg);
			config_free(cfg);
			return ret;
		}
	}
	return 0;
}

static char *skip_ws(char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return s;
}

static void rtrim(char *s)
{
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/*
 * Splits one line in place.  1 = blank/comment, 0 = key and value set,
 * -EINVAL with *why.  '#' starts a comment at line start or after whitespace,
 * so "a#b" stays a value; a double-quoted value may hold anything (\" and \\).
 */
static int split_line(char *line, char **key, char **val, const char **why)
{
	char *s = skip_ws(line), *eq, *v;

	if (!*s || *s == '#')
		return 1;
	eq = strchr(s, '=');
	if (!eq) {
		*why = "expected 'key = value'";
		return -EINVAL;
	}
	*eq = '\0';
	rtrim(s);
	if (!*s) {
		*why = "missing key before '='";
		return -EINVAL;
	}
	*key = s;
	v = skip_ws(eq + 1);
	if (*v == '"') {
		char *r = v + 1, *w = v;
		while (*r && *r != '"') {
			if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
				r++;
			*w++ = *r++;
		}
		if (*r != '"') {
			*why = "unterminated quoted value";
			return -EINVAL;
		}
		*w = '\0';
		r = skip_ws(r + 1);
		if (*r && *r != '#') {
			*why = "text after the closing quote";
			return -EINVAL;
		}
	} else {
		/* eq was overwritten with NUL, so p[-1] is always readable. */
		for (char *p = v; *p; p++)
			if (*p == '#' && isspace((unsigned char)p[-1])) {
				*p = '\0';
				break;
			}
		rtrim(v);
	}
	*val = v;
	return 0;
}

/* The lines of one file's text (data[len] is a NUL); name prefixes errors. */
static int parse_text(struct jt_config *cfg, const char *name, const char *data, size_t len,
		      struct config_error *err)
{
	char line[CONFIG_MAX_LINE + 1], src[300];
	int seen[CONFIG_NKEYS] = { 0 };
	int lineno = 0, ret = 0;

	if (strlen(data) != len) {
		set_err(err, "%s: contains a NUL byte", name);
		return -EINVAL;
	}
	for (const char *p = data; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *key, *val;
		const char *why = NULL;

		lineno++;
		snprintf(src, sizeof src, "%s:%d", name, lineno);
		if (n > CONFIG_MAX_LINE) {
			set_err(err, "%s: line longer than %d bytes", src, CONFIG_MAX_LINE);
			return -EINVAL;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl ? 1 : 0);

		ret = split_line(line, &key, &val, &why);
		if (ret == 1)
			continue;
		if (ret) {
			set_err(err, "%s: %s", src, why);
			return ret;
		}
		const struct config_def *d = find_def(key);
		if (!d) {
			set_err(err, "%s: unknown key '%.64s'", src, key);
			return -EINVAL;
		}
		size_t idx = (size_t)(d - config_table);
		if (seen[idx]) {
			set_err(err, "%s: duplicate key '%s' (first set on line %d)", src,
				d->name, seen[idx]);
			return -EINVAL;
		}
		seen[idx] = lineno;
		if ((ret = apply(cfg, d, val, src, err)))
			return ret;
	}
	return 0;
}

static int load_file(struct jt_config *cfg, const char *path, bool explicit_path,
		     struct config_error *err)
{
	char *data = NULL;
	size_t len = 0;
	int ret = util_read_file(path, CONFIG_MAX_FILE, &data, &len);

	if (ret == -ENOENT && !explicit_path) {
		log_debug("config: no %s, using defaults and environment", path);
		return 0;
	}
	if (ret == -EFBIG)
		set_err(err, "%s: larger than %d bytes", path, CONFIG_MAX_FILE);
	else if (ret)
		set_err(err, "%s: %s", path, strerror(-ret));
	else
		ret = parse_text(cfg, path, data, len, err);
	free(data);
	return ret;
}

/* "JT_LISTEN" matches "listen": the name upper-cased, exactly. */
static const struct config_def *env_def(const char *name, size_t n)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const char *k = config_table[i].name;
		if (strlen(k) != n)
			continue;
		size_t j = 0;
		while (j < n && toupper((unsigned char)k[j]) == name[j])
			j++;
		if (j == n)
			return &config_table[i];
	}
	return NULL;
}

static int load_env(struct jt_config *cfg, char *const *envp, struct config_error *err)
{
	for (char *const *e = envp; *e; e++) {
		const char *eq = strchr(*e, '=');
		char src[80];

		if (strncmp(*e, "JT_", 3) != 0 || !eq)
			continue;
		size_t n = (size_t)(eq - *e) - 3;
		const struct config_def *d = env_def(*e + 3, n);
		if (!d) {
			/* Scripts and tests share the prefix (JT_SRCDIR...). */
			log_debug("config: %.*s is not a configuration key, ignored",
				  (int)(n + 3 > 64 ? 64 : n + 3), *e);
			continue;
		}
		snprintf(src, sizeof src, "JT_%.*s", (int)(n > 64 ? 64 : n), *e + 3);
		if (strlen(eq + 1) > CONFIG_MAX_LINE) {
			set_err(err, "%s: value longer than %d bytes", src, CONFIG_MAX_LINE);
			return -EINVAL;
		}
		int ret = apply(cfg, d, eq + 1, src, err);
		if (ret)
			return ret;
	}
	return 0;
}

/* Consistency between keys that no single bound can express. */
static int check_cross(const struct jt_config *cfg, struct config_error *err)
{
	if (cfg->worker_ttl_ms < 2 * cfg->heartbeat_interval_ms) {
		set_err(err, "worker_ttl_ms (%ld) must be at least twice "
			"heartbeat_interval_ms (%ld), or live workers look dead",
			cfg->worker_ttl_ms, cfg->heartbeat_interval_ms);
		return -EINVAL;
	}
	return 0;
}

int config_load(struct jt_config *cfg, const char *path, bool path_explicit,
		char *const *envp, struct config_error *err)
{
	struct config_error local;
	int ret;

	if (!err)
		err = &local;
	err->msg[0] = '\0';
	ret = config_defaults(cfg);
	if (ret) {
		set_err(err, "config: %s", strerror(-ret));
		return ret;
	}
	ret = load_file(cfg, path ? path : CONFIG_DEFAULT_PATH, path && path_explicit, err);
	if (!ret)
		ret = load_env(cfg, envp ? envp : environ, err);
	if (!ret)
		ret = check_cross(cfg, err);
	if (ret)
		config_free(cfg);
	return ret;
}

int config_load_text(struct jt_config *cfg, const char *name, const char *text, size_t len,
		     struct config_error *err)
{
	struct config_error local;
	char *copy = NULL;
	int ret;

	if (!err)
		err = &local;
	err->msg[0] = '\0';
	if (len > CONFIG_MAX_FILE) {
		set_err(err, "%s: larger than %d bytes", name, CONFIG_MAX_FILE);
		return -EFBIG;
	}
	if ((ret = config_defaults(cfg))) {
		set_err(err, "config: %s", strerror(-ret));
		return ret;
	}
	/* parse_text wants the NUL after the text that util_read_file gives */
	if (!(copy = malloc(len + 1))) {
		ret = -ENOMEM;
		set_err(err, "config: %s", strerror(ENOMEM));
		goto out;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	ret = parse_text(cfg, name, copy, len, err);
	if (!ret)
		ret = check_cross(cfg, err);
out:
	free(copy);
	if (ret)
		config_free(cfg);
	return ret;
}

/* Shortest of %.15g..%.17g that reads back as the same double. */
static void fmt_double(double v, char *buf, size_t cap)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static bool needs_quotes(const char *v)
{
	return !*v || isspace((unsigned char)v[0]) || isspace((unsigned char)v[strlen(v) - 1]) ||
	       strpbrk(v, "#\"\\") != NULL;
}

/* Appends n bytes, keeping buf NUL-terminated; -ENOSPC when it does not fit. */
static int put(char *buf, size_t cap, size_t *pos, const char *s, size_t n)
{
	if (n >= cap - *pos)
		return -ENOSPC;
	memcpy(buf + *pos, s, n);
	*pos += n;
	buf[*pos] = '\0';
	return 0;
}

static int put_str(char *buf, size_t cap, size_t *pos, const char *s)
{
	return put(buf, cap, pos, s, strlen(s));
}

int config_dump(const struct jt_config *cfg, char *buf, size_t cap)
{
	size_t pos = 0;

	if (cap == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_def *d = &config_table[i];
		const void *f = field(cfg, d);
		char num[40];
		int ret = put_str(buf, cap, &pos, d->name);

		if (!ret)
			ret = put_str(buf, cap, &pos, " = ");
		if (ret)
			return ret;
		if (d->type == CT_INT) {
			snprintf(num, sizeof num, "%ld", *(const long *)f);
			ret = put_str(buf, cap, &pos, num);
		} else if (d->type == CT_DBL) {
			fmt_double(*(const double *)f, num, sizeof num);
			ret = put_str(buf, cap, &pos, num);
		} else {
			const char *v = *(char *const *)f ? *(char *const *)f : "";
			if (!needs_quotes(v)) {
				ret = put_str(buf, cap, &pos, v);
			} else {
				ret = put(buf, cap, &pos, "\"", 1);
				for (const char *p = v; !ret && *p; p++) {
					if (*p == '"' || *p == '\\')
						ret = put(buf, cap, &pos, "\\", 1);
					if (!ret)
						ret = put(buf, cap, &pos, p, 1);
				}
				if (!ret)
					ret = put(buf, cap, &pos, "\"", 1);
			}
		}
		if (!ret)
			ret = put(buf, cap, &pos, "\n", 1);
		if (ret)
			return ret;
	}
	return 0;
}
