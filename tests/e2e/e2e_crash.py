"""Issue 11, points 2 and 3: workers and Redis die with SIGKILL mid-job.

A stack of its own (model meter, two workers on one host, so they share the
measurement lock; max_job_attempts 3, worker records expire after 2 s, the
lock after 3 s):
* the worker running a task is killed during its gate, then (another task)
  during a trial: the other worker takes the job over, the task completes
  once, with a fencing number above any the host had handed out before;
* a task whose worker is killed every time it starts (as a candidate that
  could kill its worker would) ends failed/worker_lost after max_job_attempts,
  with the lock free and no queue holding it;
* Redis killed with SIGKILL while tasks are queued and one runs, and started
  again from its append-only file: the queued tasks are still there and
  complete, and the queued/running counts agree with the task records;
* a worker killed after its seal entered the chain but before the result was
  stored (gdb stops it there): the next attempt stores that sealed result and
  does not measure again, so the task has one seal.

run_e2e.py imports the class.
"""
import json
import signal
import subprocess
import unittest

from stack import Stack, wait_for

ENABLED = True
CASES = [{"test_id": "a", "inputs": [1], "expected_output": 1}]
GATE_SLOW = "import time\ndef solve(n):\n    time.sleep(2)\n    return n\n"
TRIAL_SLOW = "import time\ndef solve(n):\n    time.sleep(0.01)\n    return n\n"
HOST = "e2e-model"


def body(code, **kw):
    b = {"candidate_code": code, "function_name": "solve", "test_cases": CASES,
         "energy_measurement_trials": 3, "min_trials": 3, "warmup_trials": 0,
         "min_trial_seconds": 0.5, "timeout_seconds": 60}
    b.update(kw)
    return b


class T034Crash(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not ENABLED:
            raise unittest.SkipTest("runs with the model meter run only")
        cls.S = Stack("model")
        cls.S.extra.update(max_job_attempts="3", rate_limit_per_minute="0")
        cls.S.start_or_explain()
        cls.S.start_worker("worker2")
        wait_for(lambda: cls.S.get("/api/v1/health").json["workers_live"] >= 2, 20, "two workers")

    @classmethod
    def tearDownClass(cls):
        cls.S.close_checked()

    # --- helpers ---------------------------------------------------------
    def redis(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.S.redis_port)] + list(args),
                              capture_output=True, text=True, check=True).stdout.strip()

    def fence(self):
        v = self.redis("GET", "jt:fence:" + HOST)
        return int(v) if v else 0

    def stage_is(self, tid, *stages):
        return self.S.get("/api/v1/tasks/" + tid).json.get("stage") in stages

    def runner(self, tid):
        """The name (in S.procs) of the worker process running tid."""
        wid = self.redis("HGET", "jt:task:" + tid, "worker")
        pid = json.loads(self.redis("GET", "jt:hb:" + wid))["pid"]
        for name, p in self.S.procs.items():
            if p.pid == pid:
                return name
        raise AssertionError("no worker process has pid %d" % pid)

    def counts_agree(self):
        """/health's queued/running against a recount of the task records."""
        real = {"queued": 0, "running": 0}
        for key in self.redis("--scan", "--pattern", "jt:task:*").split():
            st = self.redis("HGET", key, "status")
            if st in real:
                real[st] += 1
        tasks = self.S.get("/api/v1/health").json["tasks"]
        return (tasks["queued"], tasks["running"]) == (real["queued"], real["running"]), \
            (tasks, real)

    def assert_quiet(self):
        wait_for(lambda: not self.S.get("/api/v1/socket0/status").json["lock"]["held"], 30, "lock")
        wait_for(lambda: self.counts_agree()[0], 30, "counts agree with the records")
        self.assertEqual(self.redis("LLEN", "jt:q:measure"), "0")

    def kill_runner_at(self, tid, *stages):
        wait_for(lambda: self.stage_is(tid, *stages), 90, "task at stage %s" % (stages,), step=0.05)
        name = self.runner(tid)
        self.S.stop_proc(name, signal.SIGKILL)
        return name

    # --- tests -----------------------------------------------------------
    def take_over(self, code, stages):
        S = self.S
        before = self.fence()
        tid = S.post("/api/v1/measure", body(code)).json["task_id"]
        killed = self.kill_runner_at(tid, *stages)
        self.assertGreater(self.fence(), before)      # it held the lock
        t = S.wait_task(tid, timeout=180)
        S.start_worker(killed)                         # back to two for the next test
        self.assertEqual(t["status"], "completed", t)
        self.assertEqual(self.redis("HGET", "jt:task:" + tid, "attempts"), "2")
        # the lock was taken over, not shared: a newer number than the dead holder's
        self.assertGreater(t["measurement_lock"]["fencing_token"], before + 1, t["measurement_lock"])
        self.assertEqual(t["measurement_lock"]["fencing_token"],
                         t["seal"]["payload"]["measurement"]["lock_fencing_token"])
        self.assert_quiet()

    def test_a_killed_during_the_gate(self):
        self.take_over(GATE_SLOW, ("validating",))

    def test_b_killed_during_a_trial(self):
        self.take_over(TRIAL_SLOW, ("measuring",))

    def test_c_killed_every_time_ends_worker_lost(self):
        S = self.S
        tid = S.post("/api/v1/measure", body(GATE_SLOW)).json["task_id"]
        for attempt in range(1, 4):
            wait_for(lambda: self.redis("HGET", "jt:task:" + tid, "attempts") == str(attempt)
                     and self.stage_is(tid, "validating"), 90, "attempt %d" % attempt, step=0.05)
            name = self.runner(tid)
            S.stop_proc(name, signal.SIGKILL)
            S.start_worker(name)    # as the start script or compose would
        t = S.wait_task(tid, timeout=120)
        self.assertEqual((t["status"], t.get("error_type")), ("failed", "worker_lost"), t)
        self.assertEqual(self.redis("HGET", "jt:task:" + tid, "attempts"), "3")
        self.assert_quiet()

    def test_d_redis_killed_and_restarted_from_its_aof(self):
        S = self.S
        running = S.post("/api/v1/measure", body(TRIAL_SLOW, energy_measurement_trials=6,
                                                 min_trials=6)).json["task_id"]
        queued = [S.post("/api/v1/measure", body(TRIAL_SLOW)).json["task_id"] for _ in range(3)]
        wait_for(lambda: self.stage_is(running, "measuring"), 90, "a running task")
        S.stop_proc("redis", signal.SIGKILL)
        try:
            r = S.post("/api/v1/measure", body(TRIAL_SLOW))
            self.assertEqual((r.status, r.json["error"]), (503, "not_ready"), r.raw)
            self.assertEqual(S.get("/ping").status, 200)
        finally:
            S.start_redis()
        for tid in [running] + queued:
            t = S.wait_task(tid, timeout=240)
            self.assertEqual(t["status"], "completed", t)
        self.assert_quiet()

    def test_e_killed_between_sealing_and_storing(self):
        S = self.S
        tid = S.post("/api/v1/measure", body(TRIAL_SLOW, energy_measurement_trials=8,
                                             min_trials=8)).json["task_id"]
        wait_for(lambda: self.stage_is(tid, "measuring"), 90, "a trial", step=0.05)
        name = self.runner(tid)
        pid = S.procs[name].pid
        # gdb stops the worker as taskseal_sign returns (the seal is in the
        # chain and in the task's record, the result not stored) and kills it
        gdb = subprocess.run(
            ["gdb", "-p", str(pid), "-batch", "-nx", "-iex", "set debuginfod enabled off",
             "-ex", "set pagination off",
             "-ex", "handle all nostop noprint pass", "-ex", "break taskseal_sign", "-ex", "continue",
             "-ex", "finish", "-ex", "kill"],
            capture_output=True, text=True, timeout=120)
        self.assertIn("Breakpoint 1, ", gdb.stdout, gdb.stdout + gdb.stderr)
        self.assertIn("Value returned is $1 = 0", gdb.stdout, gdb.stdout + gdb.stderr)
        wait_for(lambda: S.procs[name].poll() is not None, 10, "the worker killed")
        sealed = [s for s in self.seals() if s["payload"]["task_id"] == tid]
        self.assertEqual(len(sealed), 1, sealed)
        self.assertEqual(self.redis("HGET", "jt:task:" + tid, "status"), "running")
        t = S.wait_task(tid, timeout=180)
        S.start_worker(name)
        self.assertEqual(t["status"], "completed", t)
        self.assertEqual(self.redis("HGET", "jt:task:" + tid, "attempts"), "2")
        # the result stored is the one sealed, and no second seal was made
        self.assertEqual(t["seal"], sealed[0])
        self.assertEqual(len([s for s in self.seals() if s["payload"]["task_id"] == tid]), 1)
        self.assertIn("task %s was sealed by an earlier attempt" % tid,
                      S.log("worker") + S.log("worker2"))
        self.assertEqual(self.redis("HEXISTS", "jt:task:" + tid, "sealed_result"), "0")
        self.assert_quiet()

    def seals(self):
        seals, after = [], 0
        while True:
            r = self.S.get("/api/v1/seals?after=%d&limit=100" % after)
            self.assertEqual(r.status, 200, r.raw)
            if not r.json["seals"]:
                return seals
            seals += r.json["seals"]
            after = r.json["next_after"]

    def test_z_the_seal_chain_survived_it_all(self):
        # after the kills above and Redis's restart: one chain, no gap, no
        # task sealed twice (test_e's worker died after sealing)
        payloads = [s["payload"] for s in self.seals()]
        self.assertGreaterEqual(len(payloads), 6)
        self.assertEqual([p["sequence"] for p in payloads], list(range(1, len(payloads) + 1)))
        self.assertIsNone(payloads[0]["prev_seal_sha256"])
        prevs = [p["prev_seal_sha256"] for p in payloads[1:]]
        self.assertEqual(len(set(prevs)), len(prevs))
        tids = [p["task_id"] for p in payloads]
        self.assertEqual(len(set(tids)), len(tids), "a task sealed twice")
        fences = [p["measurement"]["lock_fencing_token"] for p in payloads]
        self.assertEqual(fences, sorted(fences))
        self.assertEqual(len(set(fences)), len(fences), "two jobs under one lock")
