"""Issue 11, point 1: workers describe their hosts; the server admits from that.

A stack of its own (model meter) whose server never reads a calibration file:
it admits a measure request only when a live worker's record says its host
can run it.  A second worker plays a second host (its own host_id,
measurement CPU 0, its own profile).

run_e2e.py imports the class.
"""
import os
import signal
import subprocess
import unittest

from stack import BUILD, Stack, wait_for

ENABLED = True
CASES = [{"test_id": "a", "inputs": [3], "expected_output": 3}]


def body(**kw):
    b = {"candidate_code": "def solve(n):\n    return n\n", "function_name": "solve",
         "test_cases": CASES, "energy_measurement_trials": 2, "min_trials": 2,
         "warmup_trials": 0, "min_trial_seconds": 0.05, "candidate_id": "hosts"}
    b.update(kw)
    return b


class T029Hosts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not ENABLED:
            raise unittest.SkipTest("runs with the model meter run only")
        cls.S = Stack("model")
        # a task no live host can take fails within a few seconds
        cls.S.extra.update(host_busy_retry_seconds="4", host_busy_backoff_seconds="1")
        cls.S.start_or_explain()

    @classmethod
    def tearDownClass(cls):
        cls.S.close_checked()

    def second_host_env(self, calibration=None):
        return dict(os.environ, JT_HOST_ID="e2e-second", JT_MEASUREMENT_CPUS="0",
                    JT_INFRA_CPUS="1",
                    JT_CALIBRATION_FILE=calibration or os.path.join(self.S.tmp, "second.json"))

    def start_second(self, calibration=None):
        S = self.S
        env = self.second_host_env(calibration)
        if calibration is None:
            r = subprocess.run([os.path.join(BUILD, "jouletrace-calibrate"), "--config", S.config,
                                "--duration", "2", "--force"], env=env, capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        S._spawn("second", [os.path.join(BUILD, "jouletrace-worker"), "--config", S.config],
                 env=env)
        wait_for(lambda: any(h["host_id"] == "e2e-second"
                             for h in S.get("/api/v1/health").json["hosts"]), 15, "second host")

    def stop_second(self):
        self.S.stop_proc("second")
        wait_for(lambda: all(h["host_id"] != "e2e-second"
                             for h in self.S.get("/api/v1/health").json["hosts"]), 15,
                 "second host gone")

    def test_status_and_health_list_every_host(self):
        S = self.S
        self.start_second()
        try:
            h = S.get("/api/v1/health").json
            ids = sorted(x["host_id"] for x in h["hosts"])
            self.assertEqual(ids, ["e2e-model", "e2e-second"], h)
            self.assertEqual(h["status"], "ok")
            s = S.get("/api/v1/socket0/status").json
            by = {x["host_id"]: x for x in s["hosts"]}
            self.assertEqual(by["e2e-second"]["measurement_cpus"], "0")
            self.assertEqual(by["e2e-model"]["measurement_cpus"], "1")
            self.assertTrue(by["e2e-second"]["calibration"]["valid"], by["e2e-second"])
            self.assertEqual(by["e2e-second"]["version"], by["e2e-model"]["version"])
            # the top level stays this server's host, as before
            self.assertEqual(s["host_id"], "e2e-model")
            self.assertTrue(s["ready"], s)
        finally:
            self.stop_second()

    def test_cpu_core_is_checked_against_the_live_hosts(self):
        S = self.S
        r = S.post("/api/v1/measure", body(cpu_core=0))
        self.assertEqual(r.status, 422, r.raw)
        self.assertIn("must be one of the measurement CPUs (1), got 0",
                      r.json["field_errors"][0]["message"])
        self.start_second()
        try:
            r = S.post("/api/v1/measure", body(cpu_core=0))
            self.assertEqual(r.status, 202, r.raw)
            t = S.wait_task(r.json["task_id"], timeout=120)
            # The second host took it: only a host that can run it gets to its
            # gate (the first re-checks before).  CPU 0 is also this stack's
            # infra CPU: on a loaded machine the second host may keep finding
            # it busy and the task end host_busy, which is right too.
            # (polled stages: a quick pass through the gate can be missed, so
            # any stage of a started job shows it)
            started = set(t["_stages"]) - {"queued", "host_busy", "failed", "cancelled"}
            self.assertTrue(started, t)
            if t["status"] == "completed":
                self.assertEqual(t["measurement_environment"]["measurement_core"], 0)
                self.assertEqual(t["seal"]["payload"]["measurement"]["measurement_cpus"], "0")
                # the result and the seal name the host that measured it
                self.assertEqual(t["measurement_environment"]["host_id"], "e2e-second")
                self.assertEqual(t["seal"]["payload"]["host"]["host_id"], "e2e-second")
            else:
                self.assertEqual((t["status"], t.get("error_type")), ("failed", "host_busy"), t)
        finally:
            self.stop_second()

    def test_no_host_that_can_run_it_is_503(self):
        S = self.S
        S.stop_proc("worker")
        try:
            wait_for(lambda: S.get("/api/v1/health").json["workers_live"] == 0, 15, "no worker")
            r = S.post("/api/v1/measure", body())
            self.assertEqual(r.status, 503, r.raw)
            self.assertIn("no live worker", r.json["message"])
            self.assertEqual(r.headers.get("Retry-After"), "5")
            self.assertEqual(S.get("/api/v1/health").json["status"], "degraded")
            # a live host without a valid profile: said, with the host's reason
            self.start_second(calibration="/nonexistent/profile.json")
            r = S.post("/api/v1/measure", body())
            self.assertEqual(r.status, 503, r.raw)
            self.assertIn("host e2e-second: no valid calibration", r.json["message"])
            s = S.get("/api/v1/socket0/status").json
            self.assertFalse(s["ready"], s)
            self.assertIn("no valid calibration", s["message"])
            self.stop_second()
        finally:
            S.start_worker()
        r = S.post("/api/v1/measure", body())
        self.assertEqual(r.status, 202, r.raw)
        self.assertEqual(S.wait_task(r.json["task_id"], timeout=120)["status"], "completed")

    def test_a_worker_rechecks_and_leaves_what_it_cannot_run(self):
        # Admitted for the second host (CPU 0), which is gone before any worker
        # takes it: the first host re-checks, leaves it, and it ends host_busy.
        S = self.S
        S.stop_proc("worker")
        try:
            wait_for(lambda: S.get("/api/v1/health").json["workers_live"] == 0, 15, "no worker")
            self.start_second()
            # killed, its record outlives it for worker_ttl_ms
            S.stop_proc("second", sig=signal.SIGKILL)
            r = S.post("/api/v1/measure", body(cpu_core=0))
            self.assertEqual(r.status, 202, r.raw)
        finally:
            S.start_worker()
        t = S.wait_task(r.json["task_id"], timeout=60)
        self.assertEqual((t["status"], t.get("error_type")), ("failed", "host_busy"), t)
        self.assertIn("cpu_core 0 is not a measurement CPU of host e2e-model", t["error_message"])
        self.assertIn("host_busy", t["_stages"])
        wait_for(lambda: all(h["host_id"] != "e2e-second"
                             for h in S.get("/api/v1/health").json["hosts"]), 15, "record gone")
