/*
 * config.h — the one configuration table (name, type, default, bounds).
 *
 * Sources, later wins: built-in defaults < the file (`key = value`, '#' comments)
 * < JT_<KEY> environment variables (key upper-cased).  Unknown keys, bad values,
 * values over CONFIG_MAX_VALUE bytes and out-of-range numbers are errors that name the source ("file:line" or the
 * variable).  A missing file is an error only when it was named explicitly.
 *
 * Ownership: struct jt_config owns its strings; free with config_free().
 * Thread safety: none needed — filled once in main() and then only read.
 */
#ifndef JT_CONFIG_H
#define JT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_DEFAULT_PATH "config/jouletrace.conf"
/* Longest value, in bytes: config_dump may quote and escape every byte of one,
 * and its "key = value" line must still fit the loader's 4096-byte lines. */
#define CONFIG_MAX_VALUE 2000

struct jt_config {
	/* SPEC §8 fixed keys */
	char *listen;              /* "127.0.0.1:8000" */
	char *redis_url;           /* "redis://127.0.0.1:6379/0" */
	char *measurement_cpus;    /* "auto" or a CPU list "1", "0-15" */
	char *infra_cpus;          /* "auto" or a CPU list */
	char *meter;               /* auto|powercap|perf|model */
	char *powercap_root;       /* "/sys/class/powercap" */
	char *key_file;            /* "config/keys/seal_ed25519.key" */
	char *calibration_file;    /* "config/socket0_calibration.json" */
	char *api_tokens_file;     /* "" = no auth */
	long allow_remote_without_tokens; /* 1: listen off loopback without tokens */
	char *host_id;             /* "" = hostname */

	/* model meter: package idle W + active W per busy CPU; DRAM likewise */
	double model_idle_package_watts;      /* 10.0, 0..1000 */
	double model_active_watts_per_cpu;    /* 12.0, 0..1000 */
	double model_idle_dram_watts;         /* 2.0,  0..1000 */
	double model_active_dram_watts_per_cpu; /* 1.0, 0..1000 */

	/* server */
	long server_threads;       /* 8, 1..256: a /validate blocks one thread while it waits */
	long max_body_bytes;       /* 1048576, 1024..67108864 */
	long rate_limit_per_minute;/* 0 = off, 0..1000000 */
	long max_queue_depth;       /* 10000: past it POST measure is 429 queue_full */
	long max_queued_per_client; /* 1000: one client's queued tasks past which it gets 429; 0 = off */
	long validate_timeout_seconds; /* 120, 1..3600: server waits this long for a worker */
	long max_validate_waiting;  /* 256: validations awaiting a worker past which 503 */
	long max_connections;      /* 1024, 16..65536 */

	/* redis / queue / lock */
	long redis_timeout_ms;     /* 2000, 10..60000 */
	char *redis_sentinels;     /* "" = off; "host:port,...": find the master through them */
	char *redis_master_name;   /* "mymaster": the name the sentinels monitor */
	long redis_min_replicas;   /* 0, 0..16: WAIT for this many replicas after task
				    * creation and after a stored result (0 = no WAIT) */
	long redis_wait_timeout_ms;/* 1000, 10..60000: WAIT's timeout */
	long result_ttl_seconds;   /* 604800, 60..31536000 */
	long lock_ttl_ms;          /* 15000, 1000..600000 */
	long heartbeat_interval_ms;/* 1000, 100..60000 */
	long worker_ttl_ms;        /* 10000, 1000..600000: heartbeat expiry = dead worker */
	long max_job_attempts;     /* 3, 1..20: a job that kills its worker this often fails */

	/* executor / harness */
	char *python;              /* "/usr/bin/python3" */
	char *harness_path;        /* "executor/harness.py" */
	long max_output_bytes;     /* 1048576, 4096..67108864: cap on captured stdout/stderr */
	long max_harness_message_bytes; /* 67108864: cap on one protocol line */

	/* sandbox (SPEC §9, executor/sandbox.h) */
	char *sandbox_user;        /* "jouletrace-sbx": the candidates' dedicated uid/gid */
	char *sandbox_mandatory;   /* controls that must apply or nothing runs (comma list) */
	long sandbox_tmpfs_mb;     /* 64, 1..4096: size of the private /tmp and /dev/shm, each */
	long sandbox_max_processes;/* 256, 16..65536: RLIMIT_NPROC of the sandbox uid */
	long sandbox_max_open_files; /* 256, 16..65536: RLIMIT_NOFILE */
	long sandbox_max_file_bytes; /* 67108864, 4096..1099511627776: RLIMIT_FSIZE */

	/* calibration */
	long calibration_valid_days;       /* 7, 1..365 */
	double calibration_max_cv_percent; /* 10.0, 0.1..100 */
	double calibration_max_busy_percent; /* 10.0, 0..100: refuse when CPUs busier */
	double noise_floor_joules;         /* 0.001, 0..1e6: trials below are flagged */
	char *attribution_source;          /* auto|bpf|proc: per-process on-CPU time source */
	double attribution_foreign_max_percent; /* 5, 0..100: foreign share of the CPUs'
					   * time that marks a trial contaminated (retried) */
	double max_plausible_package_watts; /* 1000, 1..1e5: a powercap counter that goes back
					    * is a wrap only below this power (package, core,
					    * uncore, psys); above, a reset: the trial is retried */
	double max_plausible_dram_watts;   /* 1000, 1..1e5: the same for DRAM */
	long host_busy_retry_seconds;      /* 600, 0..86400: a task whose trials others keep
					   * contaminating is requeued for this long, then fails
					   * as host_busy (0: at once) */
	long host_busy_backoff_seconds;    /* 15, 1..3600: first delay; doubles, at most 8× */
	long max_job_seconds;       /* 1800: a job, lock wait to seal, fails timeout past it */
	double tampering_ratio;            /* 3, 1.5..1000: a trial whose time or energy per pass
					   * is off the sizing run or the other trials by more is
					   * retried; twice in a row fails as tampering_suspected */
	long max_calls_per_window;         /* 16777216, 1024..2^30: passes × test cases of one
					   * window at most (bounds sizing) */

	/* host monitor (jouletrace-monitor, issue 13) */
	long monitor_tick_ms;              /* 100, 10..10000: one accounting interval */
	long monitor_seal_seconds;         /* 60, 1..86400: one sealed period (wall-clock aligned) */
	char *monitor_seal_file;           /* run/monitor-seals.jsonl: the chain, one seal per line */
	long monitor_seal_file_max_bytes;  /* 16 MiB, 4096..2^40: rotate before passing it */
	long monitor_seal_file_keep;       /* 10, 1..1000: rotated files kept (FILE.1 newest) */
	long monitor_top_processes;        /* 50, 1..10000: processes named per seal and in /metrics */
	char *monitor_listen;              /* 127.0.0.1:9101: /metrics and /health */
	char *monitor_packages;            /* auto | "P=CPUS;P=CPUS": CPU → package override */
	char *monitor_calibration_files;   /* "": calibration_file only; "FILE;FILE": more profiles */

	/* logging */
	char *log_level;           /* debug|info|warn|error */
	char *log_format;          /* text|json */
};

/* Error text (file:line or variable + reason) for the caller to print. */
struct config_error {
	char msg[512];
};

/* Fills cfg with built-in defaults.  Returns 0 or -ENOMEM. */
int config_defaults(struct jt_config *cfg);

/*
 * Defaults, then path (NULL → CONFIG_DEFAULT_PATH, silently skipped if absent),
 * then JT_* from envp (NULL → environ).  0 or -errno with err filled.
 */
int config_load(struct jt_config *cfg, const char *path, bool path_explicit,
		char *const *envp, struct config_error *err);

/*
 * Defaults, then text[0..len) read as a file named name (for errors), without
 * the environment: what config_load does with a file's bytes.  0 or -errno
 * with err filled; cfg is freed on error.
 */
int config_load_text(struct jt_config *cfg, const char *name, const char *text, size_t len,
		     struct config_error *err);
/* Sets one key from text (same checks as the file).  0, -ENOENT unknown key, -EINVAL bad value. */
int config_set(struct jt_config *cfg, const char *key, const char *value,
	       struct config_error *err);

/* Writes "key = value" lines for every key (for --print-config and debugging). */
int config_dump(const struct jt_config *cfg, char *buf, size_t cap);

void config_free(struct jt_config *cfg);

#endif
