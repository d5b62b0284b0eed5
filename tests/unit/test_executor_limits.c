/* test_executor_limits.c — the real harness under its sandbox: kills of the whole tree, memory, CPU, pids and cgroup limits, the filesystem view, seccomp and mandatory controls. */
#include "harness_testutil.h"

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
	/* it burned CPU up to about its limit: rusage's utime+stime is tick-sampled
	 * and was seen at 0.85 s for a 1 s RLIMIT_CPU on a loaded VM */
	ck_assert_uint_ge(ex.user_ns + ex.sys_ns, 500000000ull);
	harness_free(h);
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

static Suite *executor_limits_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("executor_limits", &tc);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_timeout_kills_tree, 0, 2);
	tcase_add_loop_test(tc, test_setsid_grandchild_killed, 0, 2);
	tcase_add_test(tc, test_memory_limit);
	tcase_add_loop_test(tc, test_cpu_limit, 0, 2);
	tcase_add_test(tc, test_sandbox_view);
	tcase_add_test(tc, test_seccomp_violation);
	tcase_add_test(tc, test_mandatory_controls);
	tcase_add_test(tc, test_no_namespaces);
	tcase_add_test(tc, test_cgroup_oom);
	tcase_add_test(tc, test_pids_limit);
	return s;
}

TESTUTIL_MAIN(executor_limits_suite)
