/* test_executor.c — spawns the real harness (/usr/bin/python3 + executor/harness.py) and speaks its protocol: messages, output, cancellation, spawn errors, threads. */
#include "harness_testutil.h"

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

static Suite *executor_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("executor", &tc);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_affinity_and_namespace);
	tcase_add_test(tc, test_output_flood);
	tcase_add_test(tc, test_big_messages);
	tcase_add_test(tc, test_exit_mid_protocol);
	tcase_add_test(tc, test_poll_cancel);
	tcase_add_test(tc, test_oversized_line);
	tcase_add_test(tc, test_spawn_errors);
	tcase_add_test(tc, test_threads);
	return s;
}

TESTUTIL_MAIN(executor_suite)
