/*
 * harness_testutil.h — what the executor's Check suites share: options for
 * the real harness (/usr/bin/python3 + executor/harness.py), the line
 * protocol spoken to it, and pid helpers for the kill tests.  Header-only,
 * test support only.
 */
#ifndef JT_HARNESS_TESTUTIL_H
#define JT_HARNESS_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor.h"
#include "jsoncmp.h"
#include "util.h"
#include "testutil.h"

#define PYTHON "/usr/bin/python3"
#define SEC 1000000000ull

static char harness_path[4096];

static inline struct exec_options opts(void)
{
	const char *src = getenv("JT_SRCDIR");
	snprintf(harness_path, sizeof harness_path, "%s/executor/harness.py", src ? src : ".");
	struct exec_options o;
	memset(&o, 0, sizeof o);
	o.python = PYTHON;
	o.harness_path = harness_path;
	o.max_output_bytes = 64 << 10;
	o.max_message_bytes = 1 << 20;
	o.tmp_parent = "/tmp";
	return o;
}

static inline struct harness *spawn(const struct exec_options *o)
{
	struct harness *h = harness_spawn(o);
	ck_assert_msg(h != NULL, "harness_spawn: %s", strerror(errno));
	return h;
}

static inline void send_obj(struct harness *h, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(harness_send(h, s, strlen(s)), 0);
	free(s);
	json_decref(obj);
}

/* Waits for one reply; returns it parsed, or NULL with *err set. */
static inline json_t *recv_obj(struct harness *h, double seconds, int *err)
{
	char *line = NULL;
	int r = harness_recv(h, util_mono_ns() + (uint64_t)(seconds * 1e9), 50, NULL, NULL, &line);
	if (err)
		*err = r;
	if (r != 0)
		return NULL;
	json_error_t je;
	json_t *v = json_loads(line, 0, &je);
	ck_assert_msg(v != NULL, "bad reply %s: %s", line, je.text);
	free(line);
	return v;
}

static inline json_t *must_recv(struct harness *h, double seconds)
{
	int err = 0;
	json_t *v = recv_obj(h, seconds, &err);
	ck_assert_msg(v != NULL, "harness_recv: %s", strerror(-err));
	return v;
}

/* The expected outputs of the last load(): the harness never sees them. */
static json_t *expected;

static inline void load(struct harness *h, const char *code, const char *tests)
{
	json_error_t je;
	json_t *tc = json_loads(tests, 0, &je), *inputs = json_array(), *t;
	size_t i;
	ck_assert_msg(tc != NULL, "%s", je.text);
	json_decref(expected);
	expected = json_array();
	json_array_foreach(tc, i, t) {
		json_array_append(inputs, json_object_get(t, "inputs"));
		json_array_append(expected, json_object_get(t, "expected_output"));
	}
	json_decref(tc);
	send_obj(h, json_pack("{s:s, s:s, s:s, s:o}", "cmd", "load", "code", code,
			      "function_name", "solve", "inputs", inputs));
	json_t *r = must_recv(h, 10);
	ck_assert_msg(json_is_true(json_object_get(r, "ok")), "load failed: %s",
		      json_string_value(json_object_get(r, "error")));
	json_decref(r);
}

static inline void send_cmd(struct harness *h, const char *cmd)
{
	send_obj(h, json_pack("{s:s}", "cmd", cmd));
}

/*
 * The gate as the worker runs it: "call", one line per test, outputs compared
 * here.  Returns {"passed", "total", "results": [{"passed", "actual", "error",
 * "error_type"}]}, or NULL with *err from a failed receive.
 */
static inline json_t *gate(struct harness *h, double seconds, int *err)
{
	json_t *results = json_array();
	size_t n = json_array_size(expected), passed = 0;
	send_cmd(h, "call");
	for (size_t i = 0; i <= n; i++) {
		json_t *line = recv_obj(h, seconds, err);
		if (!line) {
			json_decref(results);
			return NULL;
		}
		if (i == n) {
			ck_assert(json_is_true(json_object_get(line, "ok")));
		} else {
			json_t *out = json_object_get(line, "out"), *v = json_object_get(out, "value");
			bool ok = jsoncmp_equal(v, json_array_get(expected, i));
			passed += ok;
			json_array_append_new(results, json_pack("{s:b, s:O?, s:O?, s:O?}", "passed", ok,
				"actual", v, "error", json_object_get(out, "error"),
				"error_type", json_object_get(out, "error_type")));
		}
		json_decref(line);
	}
	return json_pack("{s:I, s:I, s:o}", "passed", (json_int_t)passed, "total", (json_int_t)n,
			 "results", results);
}

static inline json_t *must_gate(struct harness *h, double seconds)
{
	int err = 0;
	json_t *r = gate(h, seconds, &err);
	ck_assert_msg(r != NULL, "gate: %s", strerror(-err));
	return r;
}

/* The gate answers within seconds, with want tests passed. */
static inline void validate_passes(struct harness *h, double seconds, json_int_t want)
{
	json_t *r = must_gate(h, seconds);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "passed")), want);
	json_decref(r);
}

/* Loads a trivial candidate and checks it passes. */
static inline void validate_passes_after_load(struct harness *h)
{
	load(h, "def solve(x):\n    return x\n",
	     "[{\"test_id\":\"1\",\"inputs\":[4],\"expected_output\":4}]");
	validate_passes(h, 10, 1);
}

/* "call" gets no reply, only the error want; *ex tells how the harness ended. */
static inline void validate_fails(struct harness *h, int want, struct harness_exit *ex)
{
	send_cmd(h, "call");
	int err = 0;
	ck_assert_ptr_null(recv_obj(h, 10, &err));
	ck_assert_int_eq(err, want);
	ck_assert_int_eq(harness_exit_status(h, ex), 0);
}

static inline bool pid_alive(pid_t p)
{
	char path[64], buf[1024];
	if (kill(p, 0) != 0)
		return false;
	/* A zombie waiting for someone else's reaper is dead for our purposes. */
	snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
	if (util_read_line(path, buf, sizeof buf) != 0)
		return false;
	const char *s = strrchr(buf, ')');
	return s && s[1] == ' ' && s[2] != 'Z' && s[2] != 'X';
}

static inline bool wait_dead(pid_t p, double seconds)
{
	uint64_t end = util_mono_ns() + (uint64_t)(seconds * 1e9);
	while (pid_alive(p)) {
		if (util_mono_ns() > end)
			return false;
		usleep(10000);
	}
	return true;
}

/*
 * The host pid of the process that is nspid inside h's PID namespace (the
 * candidate only ever sees its own namespace's numbers); nspid itself
 * without a PID namespace.  0 when none matches.
 */
static inline pid_t host_pid(const struct harness *h, pid_t nspid)
{
	char path[64], want[128], got[128];
	if (harness_kill_mode(h) != SANDBOX_KILL_PIDNS)
		return nspid;
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)harness_pid(h));
	ssize_t n = readlink(path, want, sizeof want - 1);
	ck_assert_int_gt(n, 0);
	want[n] = '\0';
	DIR *d = opendir("/proc");
	ck_assert_ptr_nonnull(d);
	struct dirent *de;
	pid_t found = 0;
	while (!found && (de = readdir(d))) {
		int pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%d/ns/pid", pid);
		n = readlink(path, got, sizeof got - 1);
		if (n <= 0)
			continue;
		got[n] = '\0';
		if (strcmp(got, want) != 0)
			continue;
		char spath[64], *status = NULL;
		snprintf(spath, sizeof spath, "/proc/%d/status", pid);
		if (util_read_file(spath, 1 << 16, &status, NULL) != 0)
			continue;
		const char *p = strstr(status, "NSpid:");
		int outer, inner;
		if (p && sscanf(p, "NSpid:\t%d\t%d", &outer, &inner) == 2 && inner == nspid)
			found = pid;
		free(status);
	}
	closedir(d);
	return found;
}

/* Pids written by the candidate as files "pid.*" in its working directory,
 * as host pids. */
static inline size_t read_pids(const struct harness *h, pid_t *pids, size_t cap)
{
	const char *dir = harness_tmpdir(h);
	size_t n = 0;
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *de;
	while ((de = readdir(d)) && n < cap) {
		if (strncmp(de->d_name, "pid.", 4) != 0)
			continue;
		char path[4200], buf[64];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (util_read_line(path, buf, sizeof buf) == 0 && buf[0]) {
			pids[n] = host_pid(h, (pid_t)atoi(buf));
			ck_assert_msg(pids[n] > 0, "no host pid for %s", buf);
			n++;
		}
	}
	closedir(d);
	return n;
}

static inline void wait_files(const struct harness *h, size_t want)
{
	pid_t pids[16];
	uint64_t end = util_mono_ns() + 10 * SEC;
	while (read_pids(h, pids, 16) < want) {
		ck_assert_msg(util_mono_ns() < end, "candidate did not write %zu pid files", want);
		usleep(10000);
	}
}

#define WRITE_PID \
	"def mark(tag):\n" \
	"    with open('pid.%s.tmp' % tag, 'w') as f:\n" \
	"        f.write(os.readlink('/proc/self'))\n" \
	"    os.rename('pid.%s.tmp' % tag, 'pid.%s' % tag)\n"

#endif
