/* test_executor.c — spawns the real harness (/usr/bin/python3 + executor/harness.py). */
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

static struct exec_options opts(void)
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

static struct harness *spawn(const struct exec_options *o)
{
	struct harness *h = harness_spawn(o);
	ck_assert_msg(h != NULL, "harness_spawn: %s", strerror(errno));
	return h;
}

static void send_obj(struct harness *h, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(harness_send(h, s, strlen(s)), 0);
	free(s);
	json_decref(obj);
}

/* Waits for one reply; returns it parsed, or NULL with *err set. */
static json_t *recv_obj(struct harness *h, double seconds, int *err)
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

static json_t *must_recv(struct harness *h, double seconds)
{
	int err = 0;
	json_t *v = recv_obj(h, seconds, &err);
	ck_assert_msg(v != NULL, "harness_recv: %s", strerror(-err));
	return v;
}

/* The expected outputs of the last load(): the harness never sees them. */
static json_t *expected;

static void load(struct harness *h, const char *code, const char *tests)
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

static void send_cmd(struct harness *h, const char *cmd)
{
	send_obj(h, json_pack("{s:s}", "cmd", cmd));
}

/*
 * The gate as the worker runs it: "call", one line per test, outputs compared
 * here.  Returns {"passed", "total", "results": [{"passed", "actual", "error",
 * "error_type"}]}, or NULL with *err from a failed receive.
 */
static json_t *gate(struct harness *h, double seconds, int *err)
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

static json_t *must_gate(struct harness *h, double seconds)
{
	int err = 0;
	json_t *r = gate(h, seconds, &err);
	ck_assert_msg(r != NULL, "gate: %s", strerror(-err));
	return r;
}

/* The gate answers within seconds, with want tests passed. */
static void validate_passes(struct harness *h, double seconds, json_int_t want)
{
	json_t *r = must_gate(h, seconds);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "passed")), want);
	json_decref(r);
}

/* Loads a trivial candidate and checks it passes. */
static void validate_passes_after_load(struct harness *h)
{
	load(h, "def solve(x):\n    return x\n",
	     "[{\"test_id\":\"1\",\"inputs\":[4],\"expected_output\":4}]");
	validate_passes(h, 10, 1);
}

/* "call" gets no reply, only the error want; *ex tells how the harness ended. */
static void validate_fails(struct harness *h, int want, struct harness_exit *ex)
{
	send_cmd(h, "call");
	int err = 0;
	ck_assert_ptr_null(recv_obj(h, 10, &err));
	ck_assert_int_eq(err, want);
	ck_assert_int_eq(harness_exit_status(h, ex), 0);
}

static bool pid_alive(pid_t p)
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

static bool wait_dead(pid_t p, double seconds)
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
static pid_t host_pid(const struct harness *h, pid_t nspid)
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
static size_t read_pids(const struct harness *h, pid_t *pids, size_t cap)
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

static void wait_files(const struct harness *h, size_t want)
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

START_TEST(test_roundtrip)
{
	struct exec_options o = opts();
	struct harness *h = spawn(&o);
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s", harness_tmpdir(h));
	struct stat sb;
	ck_assert_int_eq(stat(tmp, &sb), 0);

	load(h, "def solve(a, b):\n    return a + b\n",
	     "[{\"test_id\":\"1\",\"inputs\":[1,2],\"expected_output\":3},"
	     " {\"test_id\":\"2\",\"inputs\":{\"a\":2,\"b\":5},\"expected_output\":7}]");
	json_t *r = must_gate(h, 10);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "passed")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "total")), 2);
	json_decref(r);

	/* a window: the outputs of the passes named in keep, shown afterwards */
	json_int_t passes = 1000;
	send_obj(h, json_pack("{s:s, s:I, s:[i, i]}", "cmd", "run", "passes", passes, "keep", 0, 999));
	r = must_recv(h, 10);
	ck_assert(json_is_true(json_object_get(r, "ready")));
	json_decref(r);
	uint64_t t0 = util_mono_ns();
	ck_assert_int_eq(harness_go(h), 0);
	r = must_recv(h, 10);
	uint64_t t1 = util_mono_ns();
	ck_assert(json_is_true(json_object_get(r, "done")));
	ck_assert_int_eq(json_integer_value(json_object_get(r, "kept")), 4);
	json_int_t el = json_integer_value(json_object_get(r, "ns"));
	ck_assert_int_gt(el, 0);
	ck_assert_uint_le((uint64_t)el, t1 - t0);
	json_decref(r);
	send_cmd(h, "show");
	const int want[4][3] = { { 0, 0, 3 }, { 0, 1, 7 }, { 999, 0, 3 }, { 999, 1, 7 } };
	for (int i = 0; i < 4; i++) {
		r = must_recv(h, 10);
		ck_assert_int_eq(json_integer_value(json_object_get(r, "j")), want[i][0]);
		ck_assert_int_eq(json_integer_value(json_object_get(r, "i")), want[i][1]);
		ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r, "out"), "value")),
				 want[i][2]);
		json_decref(r);
	}
	r = must_recv(h, 10);
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	/* shown once: the outputs are gone */
	send_cmd(h, "show");
	r = must_recv(h, 10);
	ck_assert(json_is_false(json_object_get(r, "ok")));
	json_decref(r);

	ck_assert_int_eq(harness_close(h, util_mono_ns() + 5 * SEC), 0);
	struct harness_exit ex;
	ck_assert_int_eq(harness_exit_status(h, &ex), 0);
	ck_assert(ex.exited);
	ck_assert_int_eq(ex.code, 0);
	ck_assert(!ex.killed_by_us);
	ck_assert_int_eq(harness_pid(h), -1);
	ck_assert_int_eq(harness_send(h, "{}", 2), -EPIPE);
	harness_free(h);
	ck_assert_int_eq(stat(tmp, &sb), -1);
}
END_TEST

START_TEST(test_affinity_and_namespace)
{
	cpu_set_t mine;
	ck_assert_int_eq(sched_getaffinity(0, sizeof mine, &mine), 0);
	int cpu = -1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &mine))
			cpu = i;
	ck_assert_int_ge(cpu, 0);
	struct exec_options o = opts();
	cpuset_set(&o.cpus, cpu);
	struct harness *h = spawn(&o);

	char path[64], line[256], want[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)harness_pid(h));
	snprintf(want, sizeof want, "%d", cpu);
	char *status = testutil_read(path, 1 << 16, NULL);
	const char *p = strstr(status, "Cpus_allowed_list:");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p, "Cpus_allowed_list:\t%255s", line), 1);
	ck_assert_str_eq(line, want);
	if (geteuid() == 0) {
		/* root may create PID namespaces: the harness must be init of one */
		ck_assert_int_eq(harness_kill_mode(h), SANDBOX_KILL_PIDNS);
		p = strstr(status, "NSpid:");
		ck_assert_ptr_nonnull(p);
		int outer, inner;
		ck_assert_int_eq(sscanf(p, "NSpid:\t%d\t%d", &outer, &inner), 2);
		ck_assert_int_eq(inner, 1);
	}
	free(status);

	/* environment, cwd, fds and limits as the candidate sees them */
	load(h, "import os, resource\n"
		"def solve():\n"
		"    fds = sorted(int(x) for x in os.listdir('/proc/self/fd'))\n"
		"    return [os.getcwd(), sorted(os.environ), fds[:5],\n"
		"            list(resource.getrlimit(resource.RLIMIT_CORE)),\n"
		"            sorted(os.sched_getaffinity(0))]\n",
	     "[{\"test_id\":\"1\",\"inputs\":[],\"expected_output\":0}]");
	json_t *r = must_gate(h, 10);
	json_t *act = json_object_get(json_array_get(json_object_get(r, "results"), 0), "actual");
	if (geteuid() == 0) {
		/* the private tmpfs inside the mount namespace, seen through /proc */
		ck_assert(harness_sandbox(h)->applied & SANDBOX_BIT(SANDBOX_MOUNTNS));
		ck_assert_str_eq(json_string_value(json_array_get(act, 0)), "/tmp");
		snprintf(want, sizeof want, "/proc/%d/root/tmp", (int)harness_pid(h));
		ck_assert_str_eq(harness_tmpdir(h), want);
	} else {
		ck_assert_str_eq(json_string_value(json_array_get(act, 0)), harness_tmpdir(h));
	}
	char *env = json_dumps(json_array_get(act, 1), JSON_COMPACT);
	ck_assert_str_eq(env, "[\"HOME\",\"LANG\",\"PATH\",\"PYTHONDONTWRITEBYTECODE\","
			      "\"PYTHONHASHSEED\",\"TMPDIR\"]");
	free(env);
	char *fds = json_dumps(json_array_get(act, 2), JSON_COMPACT);
	ck_assert_str_eq(fds, "[0,1,2,3,4]");
	free(fds);
	ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(act, 3), 1)), 0);
	ck_assert_int_eq(json_array_size(json_array_get(act, 4)), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(act, 4), 0)), cpu);
	json_decref(r);
	harness_free(h);
}
END_TEST

/* The deadline passes while the candidate (and a child it forked) spin. */
static void timeout_kills_tree(bool no_ns)
{
	struct exec_options o = opts();
	o.sandbox_disable = no_ns ? SANDBOX_BIT(SANDBOX_PIDNS) : 0;
	struct harness *h = spawn(&o);
	ck_assert_int_eq(harness_kill_mode(h), no_ns ? SANDBOX_KILL_PGROUP : SANDBOX_KILL_PIDNS);
	pid_t hp = harness_pid(h);
	load(h, "import os\n" WRITE_PID
		"def solve():\n"
		"    if os.fork() == 0:\n"
		"        mark('child')\n"
		"        while True: pass\n"
		"    mark('parent')\n"
		"    while True: pass\n",
	     "[{\"test_id\":\"1\",\"inputs\":[],\"expected_output\":0}]");
	send_cmd(h, "call");
	char *line = NULL;
	uint64_t t0 = util_mono_ns();
	ck_assert_int_eq(harness_recv(h, t0 + SEC / 2, 50, NULL, NULL, &line), -ETIMEDOUT);
	ck_assert_uint_ge(util_mono_ns() - t0, SEC / 2);
	ck_assert_ptr_null(line);
	wait_files(h, 2);
	pid_t pids[16];
	size_t n = read_pids(h, pids, 16);
	ck_assert_uint_eq(n, 2);
	for (size_t i = 0; i < n; i++)
		ck_assert(pid_alive(pids[i]));

	harness_kill(h);
	ck_assert(!pid_alive(hp));
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(wait_dead(pids[i], 2), "pid %d survived", (int)pids[i]);
	struct harness_exit ex;
	ck_assert_int_eq(harness_exit_status(h, &ex), 0);
	ck_assert(ex.killed_by_us);
	ck_assert_int_eq(ex.signal, SIGKILL);
	ck_assert(!ex.cpu_limit);
	harness_kill(h);   /* idempotent */
	ck_assert_int_eq(harness_recv(h, util_mono_ns() + SEC, 50, NULL, NULL, &line), -EPIPE);
	harness_free(h);
}

START_TEST(test_timeout_kills_tree)
{
	timeout_kills_tree(_i == 1);
}
END_TEST

/* A grandchild that setsid()s away and sleeps, plus one that stops itself. */
static const char escape_code[] =
	"import os, signal, time\n" WRITE_PID
	"def solve():\n"
	"    if os.fork() == 0:\n"
	"        os.setsid()\n"
	"        if os.fork() == 0:\n"
	"            mark('grandchild')\n"
	"            while True: time.sleep(100)\n"
	"        os._exit(0)\n"
	"    if os.fork() == 0:\n"
	"        mark('stopped')\n"
	"        os.kill(os.getpid(), signal.SIGSTOP)\n"
	"        os._exit(0)\n"
	"    while len([f for f in os.listdir('.') if f.startswith('pid.') and\n"
	"               not f.endswith('.tmp')]) < 2:\n"
	"        time.sleep(0.01)\n"
	"    return 1\n";

START_TEST(test_setsid_grandchild_killed)
{
	struct exec_options o = opts();
	o.sandbox_disable = _i == 1 ? SANDBOX_BIT(SANDBOX_PIDNS) : 0;
	struct harness *h = spawn(&o);
	load(h, escape_code, "[{\"test_id\":\"1\",\"inputs\":[],\"expected_output\":1}]");
	validate_passes(h, 10, 1);
	pid_t pids[16];
	size_t n = read_pids(h, pids, 16);
	ck_assert_uint_eq(n, 2);
	for (size_t i = 0; i < n; i++)
		ck_assert(kill(pids[i], 0) == 0);
	harness_kill(h);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(wait_dead(pids[i], 2), "pid %d survived", (int)pids[i]);
	harness_free(h);
}
END_TEST

START_TEST(test_memory_limit)
{
	struct exec_options o = opts();
	o.memory_limit_mb = 128;
	struct harness *h = spawn(&o);
	load(h, "def solve(n):\n"
		"    keep = []\n"
		"    for _ in range(n):\n"
		"        keep.append(bytearray(1 << 20))\n"
		"    return len(keep)\n",
	     "[{\"test_id\":\"small\",\"inputs\":[10],\"expected_output\":10},"
	     " {\"test_id\":\"bomb\",\"inputs\":[100000],\"expected_output\":0}]");
	json_t *r = must_gate(h, 20);
	json_t *res = json_object_get(r, "results");
	ck_assert(json_is_true(json_object_get(json_array_get(res, 0), "passed")));
	json_t *bomb = json_array_get(res, 1);
	ck_assert(json_is_false(json_object_get(bomb, "passed")));
	ck_assert_str_eq(json_string_value(json_object_get(bomb, "error_type")), "memory_limit");
	ck_assert_str_eq(json_string_value(json_object_get(bomb, "error")), "MemoryError");
	json_decref(r);
	/* the harness survived and still answers */
	validate_passes(h, 20, 1);
	harness_free(h);
}
END_TEST

START_TEST(test_output_flood)
{
	struct exec_options o = opts();
	struct harness *h = spawn(&o);
	load(h, "import sys\n"
		"def solve():\n"
		"    chunk = 'x' * (1 << 20)\n"
		"    for _ in range(50):\n"
		"        sys.stdout.write(chunk)\n"
		"    for _ in range(4):\n"
		"        sys.stderr.write('e' * (1 << 16))\n"
		"    sys.stderr.write('END\\n')\n"
		"    return 7\n",
	     "[{\"test_id\":\"1\",\"inputs\":[],\"expected_output\":7}]");
	validate_passes(h, 30, 1);
	/* stderr is flushed after the reply: the close collects the rest */
	ck_assert_int_eq(harness_close(h, util_mono_ns() + 5 * SEC), 0);
	size_t olen, elen;
	const char *out = harness_stdout(h, &olen);
	const char *err = harness_stderr(h, &elen);
	ck_assert_uint_eq(olen, 64 << 10);
	ck_assert_int_eq(out[0], 'x');
	ck_assert_uint_eq(elen, 64 << 10);
	ck_assert_int_eq(memcmp(err + elen - 4, "END\n", 4), 0);
	ck_assert_uint_eq(harness_output_dropped(h),
			  (size_t)50 * (1 << 20) - (64 << 10) + 4 * (1 << 16) + 4 - (64 << 10));
	harness_free(h);
}
END_TEST

START_TEST(test_exit_mid_protocol)
{
	struct exec_options o = opts();
	struct harness *h = spawn(&o);
	load(h, "import os, sys\n"
		"def solve():\n"
		"    sys.stderr.write('bye\\n'); sys.stderr.flush()\n"
		"    os._exit(3)\n",
	     "[{\"test_id\":\"1\",\"inputs\":[],\"expected_output\":0}]");
	struct harness_exit ex;
	validate_fails(h, -EPIPE, &ex);
	ck_assert(ex.exited);
	ck_assert_int_eq(ex.code, 3);
	ck_assert(!ex.killed_by_us);
	size_t elen;
	ck_assert_str_eq(harness_stderr(h, &elen), "bye\n");
	ck_assert_int_eq(harness_send(h, "{\"cmd\":\"call\"}", 14), -EPIPE);
	ck_assert_int_eq(harness_go(h), -EPIPE);
	harness_free(h);
}
END_TEST

/* Multi-megabyte lines both ways: partial sends and a long reply line. */
START_TEST(test_big_messages)
{
	struct exec_options o = opts();
	o.max_message_bytes = 8 << 20;
	struct harness *h = spawn(&o);
	json_t *tests = json_array();
	char word[401];
	memset(word, 'w', 400);
	word[400] = '\0';
	for (int i = 0; i < 5000; i++) {
		char id[16];
		snprintf(id, sizeof id, "t%d", i);
		json_array_append_new(tests, json_pack("{s:s, s:[s], s:i}", "test_id", id,
						       "inputs", word, "expected_output", 400));
	}
	char *text = json_dumps(tests, JSON_COMPACT);
	load(h, "def solve(s):\n    return len(s)\n", text);
	free(text);
	json_decref(tests);
	json_t *r = must_gate(h, 20);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "passed")), 5000);
	ck_assert_int_eq(json_array_size(json_object_get(r, "results")), 5000);
	json_decref(r);
	harness_free(h);
}
END_TEST

static int cancel_third(void *ctx)
{
	int *calls = ctx;
	return ++*calls >= 3;
}

START_TEST(test_poll_cancel)
{
	struct exec_options o = opts();
	struct harness *h = spawn(&o);
	load(h, "def solve():\n    while True: pass\n",
	     "[{\"test_id\":\"1\",\"inputs\":[],\"expected_output\":0}]");
	send_cmd(h, "call");
	int calls = 0;
	char *line = NULL;
	uint64_t t0 = util_mono_ns();
	ck_assert_int_eq(harness_recv(h, t0 + 10 * SEC, 50, cancel_third, &calls, &line),
			 -ECANCELED);
	uint64_t el = util_mono_ns() - t0;
	ck_assert_int_eq(calls, 3);
	ck_assert_uint_ge(el, 140000000ull);
	ck_assert_uint_le(el, 600000000ull);   /* 3 periods of 50 ms, plus scheduling slack */
	ck_assert_int_gt(harness_pid(h), 0);   /* left running */
	harness_kill(h);
	harness_free(h);
}
END_TEST

START_TEST(test_oversized_line)
{
	struct exec_options o = opts();
	o.max_message_bytes = 4096;
	struct harness *h = spawn(&o);
	load(h, "import os\ndef solve():\n    os.write(4, b'x' * 10000)\n    return 0\n",
	     "[{\"test_id\":\"1\",\"inputs\":[],\"expected_output\":0}]");
	struct harness_exit ex;
	validate_fails(h, -EMSGSIZE, &ex);
	ck_assert(ex.killed_by_us);
	/* a command over the cap is refused locally */
	char big[5000];
	memset(big, 'a', sizeof big);
	ck_assert_int_eq(harness_send(h, big, sizeof big), -EMSGSIZE);
	harness_free(h);
}
END_TEST

START_TEST(test_cpu_limit)
{
	struct exec_options o = opts();
	o.cpu_seconds = 1;
	o.sandbox_disable = _i == 1 ? SANDBOX_BIT(SANDBOX_PIDNS) : 0;
	struct harness *h = spawn(&o);
	load(h, "def solve():\n    while True: pass\n",
	     "[{\"test_id\":\"1\",\"inputs\":[],\"expected_output\":0}]");
	struct harness_exit ex;
	validate_fails(h, -EPIPE, &ex);
	ck_assert(ex.cpu_limit);
	ck_assert(!ex.killed_by_us);
	ck_assert_uint_ge(ex.user_ns + ex.sys_ns, 900000000ull);
	harness_free(h);
}
END_TEST

START_TEST(test_spawn_errors)
{
	struct exec_options o = opts();
	o.python = "/nonexistent/python3";
	errno = 0;
	ck_assert_ptr_null(harness_spawn(&o));
	ck_assert_int_eq(errno, ENOENT);
	o = opts();
	o.harness_path = "/nonexistent/harness.py";
	ck_assert_ptr_null(harness_spawn(&o));
	ck_assert_int_eq(errno, ENOENT);
	o = opts();
	o.tmp_parent = "/nonexistent";
	ck_assert_ptr_null(harness_spawn(&o));
	ck_assert_int_eq(errno, ENOENT);
	o = opts();
	o.memory_limit_mb = -1;
	ck_assert_ptr_null(harness_spawn(&o));
	ck_assert_int_eq(errno, EINVAL);
	/* an interpreter that is no executable fails at exec, reported by the child */
	char bogus[] = "/tmp/jt-test-exec-XXXXXX";
	int fd = mkstemp(bogus);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "\x7f" "ELF garbage", 12), 12);
	close(fd);
	ck_assert_int_eq(chmod(bogus, 0755), 0);
	o = opts();
	o.python = bogus;
	ck_assert_ptr_null(harness_spawn(&o));
	int e = errno;
	unlink(bogus);
	ck_assert_int_eq(e, ENOEXEC);
	harness_free(NULL);
}
END_TEST

static void *thread_run(void *arg)
{
	(void)arg;
	struct exec_options o = opts();
	struct harness *h = harness_spawn(&o);
	if (!h)
		return (void *)1;
	intptr_t bad = 0;
	const char *load_cmd = "{\"cmd\":\"load\",\"code\":\"def solve(x):\\n    return x\\n\","
			       "\"function_name\":\"solve\",\"inputs\":[[3]]}";
	const char *call_cmd = "{\"cmd\":\"call\"}";
	char *line = NULL;
	/* load, then four gates of two lines each: the output, then ok */
	for (int i = 0; i < 5 && !bad; i++) {
		const char *cmd = i ? call_cmd : load_cmd;
		const char *want[2] = { i ? "\"out\":{\"value\":3}" : "{\"ok\":true,\"n\":1}",
					i ? "{\"ok\":true}" : NULL };
		if (harness_send(h, cmd, strlen(cmd)) != 0)
			bad = 2;
		for (int k = 0; k < 2 && want[k] && !bad; k++) {
			if (harness_recv(h, util_mono_ns() + 10 * SEC, 50, NULL, NULL, &line) != 0)
				bad = 2;
			else if (!strstr(line, want[k]))
				bad = 3;
			free(line);
			line = NULL;
		}
	}
	if (harness_close(h, util_mono_ns() + 5 * SEC) != 0)
		bad = 4;
	harness_free(h);
	return (void *)bad;
}

START_TEST(test_threads)
{
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_run, NULL), 0);
	for (int i = 0; i < 3; i++) {
		void *rv;
		ck_assert_int_eq(pthread_join(t[i], &rv), 0);
		ck_assert_int_eq((intptr_t)rv, 0);
	}
}
END_TEST

/* What a candidate can see and do, in the sandbox the gate and trials share. */
START_TEST(test_sandbox_view)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_sandbox_view: needs root\n");
		return;
	}
	struct passwd *pw = getpwnam(EXEC_SANDBOX_USER);
	ck_assert_msg(pw != NULL, "user %s missing: run scripts/setup.sh", EXEC_SANDBOX_USER);
	/* a service on the host's loopback that the candidate must not reach */
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(ls, 4), 0);
	ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
	char code[8192];
	snprintf(code, sizeof code,
		"import os, socket, subprocess\n"
		"def probe(f):\n"
		"    try:\n"
		"        return f()\n"
		"    except OSError as e:\n"
		"        return type(e).__name__\n"
		"def status(k):\n"
		"    for l in open('/proc/self/status'):\n"
		"        if l.startswith(k + ':'):\n"
		"            return l.split()[1]\n"
		"def solve():\n"
		"    return [os.getuid(), os.getgid(), os.getgroups(), socket.gethostname(),\n"
		"            status('NoNewPrivs'), status('Seccomp'), status('CapBnd'),\n"
		"            [l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]],\n"
		"            probe(lambda: socket.create_connection(('127.0.0.1', %d), 2) and 'open'),\n"
		"            probe(lambda: open('%s').read(1)),\n"
		"            probe(lambda: os.listdir('/sys/class/powercap')),\n"
		"            probe(lambda: open('/harness-was-here', 'w')),\n"
		"            probe(lambda: open('/tmp/mine', 'w').write('x')),\n"
		"            subprocess.run(['id', '-u'], capture_output=True).stdout.decode().strip(),\n"
		"            sorted(p for p in os.listdir('/proc') if p.isdigit())[:1],\n"
		"            os.getcwd()]\n",
		(int)ntohs(sa.sin_port), harness_path);
	struct exec_options o = opts();
	o.memory_limit_mb = 512;
	o.max_processes = 64;
	struct sandbox_report rep;
	o.report = &rep;
	struct harness *h = spawn(&o);
	ck_assert_uint_eq(rep.applied, SANDBOX_ALL);
	ck_assert_uint_eq(harness_sandbox(h)->applied, SANDBOX_ALL);
	load(h, code, "[{\"test_id\":\"1\",\"inputs\":[],\"expected_output\":0}]");
	json_t *r = must_gate(h, 20);
	json_t *act = json_object_get(json_array_get(json_object_get(r, "results"), 0), "actual");
	char *got = json_dumps(act, JSON_COMPACT);
	char want[1024];
	snprintf(want, sizeof want,
		 "[%u,%u,[],\"sandbox\",\"1\",\"2\",\"0000000000000000\",[\"lo\"],"
		 "\"ConnectionRefusedError\",\"FileNotFoundError\",\"FileNotFoundError\","
		 "\"OSError\",1,\"%u\",[\"1\"],\"/tmp\"]",
		 (unsigned)pw->pw_uid, (unsigned)pw->pw_gid, (unsigned)pw->pw_uid);
	ck_assert_str_eq(got, want);
	free(got);
	json_decref(r);
	/* the JSON form the worker puts into measurement_environment.sandbox */
	json_t *j = sandbox_report_json(harness_sandbox(h));
	ck_assert_int_eq((int)json_array_size(json_object_get(j, "not_enforced")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "uid")), pw->pw_uid);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "limits"),
							    "cgroup_memory_bytes")),
			 (512 + 2 * 64 + 32) << 20);
	json_decref(j);
	harness_free(h);
	close(ls);
}
END_TEST

/* A forbidden system call kills the harness with SIGSYS (the calls
 * themselves: test_syscall_filter). */
START_TEST(test_seccomp_violation)
{
	struct exec_options o = opts();
	struct harness *h = spawn(&o);
	ck_assert(harness_sandbox(h)->applied & SANDBOX_BIT(SANDBOX_SECCOMP));
	load(h, "import ctypes\ndef solve():\n    ctypes.CDLL(None).ptrace(0, 0, 0, 0)\n",
	     "[{\"test_id\":\"1\",\"inputs\":[],\"expected_output\":1}]");
	struct harness_exit ex;
	validate_fails(h, -EPIPE, &ex);
	ck_assert_int_eq(ex.signal, SIGSYS);
	ck_assert(ex.seccomp_kill);
	ck_assert(!ex.killed_by_us);
	harness_free(h);
}
END_TEST

START_TEST(test_mandatory_controls)
{
	struct exec_options o = opts();
	struct sandbox_report rep;
	o.report = &rep;
	o.sandbox_user = "jt-no-such-user";
	o.sandbox_mandatory = "uid,seccomp";
	errno = 0;
	ck_assert_ptr_null(harness_spawn(&o));
	ck_assert_int_eq(errno, ENOTSUP);
	ck_assert(rep.refused);
	ck_assert_ptr_nonnull(strstr(rep.why[SANDBOX_UID], "'jt-no-such-user' does not exist"));
	/* not mandatory: it runs, and says it is not in force */
	o.sandbox_mandatory = "seccomp";
	struct harness *h = spawn(&o);
	ck_assert(!(harness_sandbox(h)->applied & SANDBOX_BIT(SANDBOX_UID)));
	ck_assert_uint_eq(harness_sandbox(h)->uid, getuid());
	validate_passes_after_load(h);
	harness_free(h);
	o.sandbox_mandatory = "uid,bogus";
	ck_assert_ptr_null(harness_spawn(&o));
	ck_assert_int_eq(errno, EINVAL);
	/* disabled by policy but mandatory */
	o.sandbox_user = NULL;
	o.sandbox_mandatory = "netns";
	o.sandbox_disable = SANDBOX_BIT(SANDBOX_NETNS);
	ck_assert_ptr_null(harness_spawn(&o));
	ck_assert_int_eq(errno, ENOTSUP);
	ck_assert_str_eq(rep.why[SANDBOX_NETNS], "not requested");
}
END_TEST

/* Without any namespace (a host that refuses them) the harness still runs,
 * in a private directory, and the report says what is missing. */
START_TEST(test_no_namespaces)
{
	struct exec_options o = opts();
	o.sandbox_disable = SANDBOX_BIT(SANDBOX_PIDNS) | SANDBOX_BIT(SANDBOX_MOUNTNS) |
			    SANDBOX_BIT(SANDBOX_NETNS) | SANDBOX_BIT(SANDBOX_IPCNS) |
			    SANDBOX_BIT(SANDBOX_UTSNS);
	struct harness *h = spawn(&o);
	ck_assert_int_eq(harness_kill_mode(h), SANDBOX_KILL_PGROUP);
	const struct sandbox_report *rep = harness_sandbox(h);
	ck_assert(!(rep->applied & SANDBOX_BIT(SANDBOX_MOUNTNS)));
	ck_assert_str_eq(rep->why[SANDBOX_PIDNS], "not requested");
	load(h, "import os\ndef solve():\n    return os.getcwd()\n",
	     "[{\"test_id\":\"1\",\"inputs\":[],\"expected_output\":0}]");
	json_t *r = must_gate(h, 10);
	json_t *act = json_object_get(json_array_get(json_object_get(r, "results"), 0), "actual");
	ck_assert_str_eq(json_string_value(act), harness_tmpdir(h));
	json_decref(r);
	harness_free(h);
}
END_TEST

/* Children allocating more together than the memory cgroup allows: the OOM
 * killer strikes one, and the whole sandbox ends as a memory failure. */
START_TEST(test_cgroup_oom)
{
	struct exec_options o = opts();
	o.memory_limit_mb = 100;
	o.sandbox_tmpfs_mb = 4;   /* cgroup: 100 + 8 + 32 MiB */
	o.max_processes = 64;
	struct harness *h = spawn(&o);
	if (!(harness_sandbox(h)->applied & SANDBOX_BIT(SANDBOX_CGROUP_MEMORY))) {
		fprintf(stderr, "test_cgroup_oom: no memory cgroup here\n");
		harness_free(h);
		return;
	}
	load(h, "import os, time\n"
		"def solve():\n"
		"    for _ in range(4):\n"
		"        if os.fork() == 0:\n"
		"            b = b'x' * (60 << 20)\n"
		"            time.sleep(100)\n"
		"    time.sleep(100)\n",
	     "[{\"test_id\":\"1\",\"inputs\":[],\"expected_output\":0}]");
	struct harness_exit ex;
	validate_fails(h, -EPIPE, &ex);
	ck_assert(ex.oom_kill);
	ck_assert_int_eq(ex.signal, SIGKILL);
	ck_assert(!ex.killed_by_us);
	ck_assert(!ex.cpu_limit);
	harness_free(h);
}
END_TEST

/* A fork bomb stops at the sandbox's share of the uid's process budget. */
START_TEST(test_pids_limit)
{
	struct exec_options o = opts();
	o.max_processes = 40;   /* RLIMIT_NPROC 40, pids.max 20 */
	struct harness *h = spawn(&o);
	bool cg = harness_sandbox(h)->applied & SANDBOX_BIT(SANDBOX_CGROUP_PIDS);
	load(h, "import os, time\n"
		"def solve():\n"
		"    n = 0\n"
		"    try:\n"
		"        while n < 1000:\n"
		"            if os.fork() == 0:\n"
		"                time.sleep(100)\n"
		"            n += 1\n"
		"    except OSError:\n"
		"        pass\n"
		"    return n\n",
	     "[{\"test_id\":\"1\",\"inputs\":[],\"expected_output\":0}]");
	json_t *r = must_gate(h, 20);
	json_int_t n = json_integer_value(json_object_get(json_array_get(json_object_get(r, "results"), 0),
							  "actual"));
	json_decref(r);
	ck_assert_int_ge(n, 5);
	ck_assert_int_le(n, cg ? 19 : 39);
	harness_free(h);
}
END_TEST

static Suite *executor_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("executor", &tc);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_affinity_and_namespace);
	tcase_add_loop_test(tc, test_timeout_kills_tree, 0, 2);
	tcase_add_loop_test(tc, test_setsid_grandchild_killed, 0, 2);
	tcase_add_test(tc, test_memory_limit);
	tcase_add_test(tc, test_output_flood);
	tcase_add_test(tc, test_big_messages);
	tcase_add_test(tc, test_exit_mid_protocol);
	tcase_add_test(tc, test_poll_cancel);
	tcase_add_test(tc, test_oversized_line);
	tcase_add_loop_test(tc, test_cpu_limit, 0, 2);
	tcase_add_test(tc, test_spawn_errors);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_sandbox_view);
	tcase_add_test(tc, test_seccomp_violation);
	tcase_add_test(tc, test_mandatory_controls);
	tcase_add_test(tc, test_no_namespaces);
	tcase_add_test(tc, test_cgroup_oom);
	tcase_add_test(tc, test_pids_limit);
	return s;
}

TESTUTIL_MAIN(executor_suite)
