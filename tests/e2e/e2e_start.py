"""Issue 11, point 2 (part): the README's start script keeps the stack up.

`scripts/start_jouletrace.sh` with its own Redis, ports and files: a worker
killed with SIGKILL is started again (and again, with a growing delay) while
the server keeps answering, a task submitted after the kill completes, and a
SIGTERM to the script stops everything it started, leaving no process.

run_e2e.py imports the class.
"""
import os
import signal
import subprocess
import tempfile
import time
import unittest
import shutil

from stack import REPO, Stack, free_port, wait_for

ENABLED = True


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:
        return f.read().split(") ")[1][0] != "Z"


class T030StartScript(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not ENABLED:
            raise unittest.SkipTest("runs with the model meter run only")
        cls.tmp = tempfile.mkdtemp(prefix="jt-e2e-start-")
        cls.port, cls.rport = free_port(), free_port()
        env = dict(os.environ, JT_METER="model", JT_LISTEN="127.0.0.1:%d" % cls.port,
                   JT_REDIS_URL="redis://127.0.0.1:%d/0" % cls.rport, JT_RUN_DIR=cls.tmp,
                   JT_CALIBRATION_FILE=os.path.join(cls.tmp, "calibration.json"),
                   JT_KEY_FILE=os.path.join(cls.tmp, "keys", "seal.key"),
                   JT_HOST_ID="e2e-start", JT_CALIBRATE_DURATION="2",
                   # a test machine is rarely quiet: the profile is what it is
                   JT_CALIBRATION_MAX_BUSY_PERCENT="100",
                   JT_HEARTBEAT_INTERVAL_MS="300", JT_WORKER_TTL_MS="2000")
        cls.log = open(os.path.join(cls.tmp, "start.log"), "wb")
        cls.proc = subprocess.Popen(["bash", os.path.join(REPO, "scripts", "start_jouletrace.sh")],
                                    cwd=REPO, env=env, stdout=cls.log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        # a Stack only to speak HTTP to it
        cls.S = Stack("model")
        cls.S.port = cls.port
        try:
            wait_for(lambda: cls.S.get("/api/v1/health").json["workers_live"] >= 1, 240,
                     "the started stack")
        except AssertionError:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            os.killpg(cls.proc.pid, signal.SIGKILL)
            cls.proc.wait()
        cls.log.close()
        shutil.rmtree(cls.S.tmp, ignore_errors=True)
        if not os.environ.get("JT_E2E_KEEP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def pid(self, name):
        with open(os.path.join(self.tmp, name + ".pid")) as f:
            return int(f.read())

    def output(self):
        with open(os.path.join(self.tmp, "start.log"), errors="replace") as f:
            return f.read()

    def test_1_a_killed_worker_comes_back(self):
        S = self.S
        for n in (1, 2):
            old = self.pid("worker")
            os.kill(old, signal.SIGKILL)
            wait_for(lambda: self.pid("worker") != old and alive(self.pid("worker")), 30,
                     "worker %d started again" % n)
            self.assertEqual(S.get("/ping").status, 200)
        out = self.output()
        self.assertIn("worker exited (status 137); starting it again in 1 s", out)
        self.assertIn("worker exited (status 137); starting it again in 2 s", out)
        self.assertEqual(self.proc.poll(), None, out)
        body = {"candidate_code": "def solve(n):\n    return n\n", "function_name": "solve",
                "test_cases": [{"test_id": "a", "inputs": [2], "expected_output": 2}],
                "energy_measurement_trials": 2, "min_trials": 2, "warmup_trials": 0,
                "min_trial_seconds": 0.05}
        wait_for(lambda: S.post("/api/v1/measure", body).status == 202 or None, 30,
                 "admission by the new worker")
        r = S.post("/api/v1/measure", body)
        t = S.wait_task(r.json["task_id"], timeout=120)
        self.assertEqual(t["status"], "completed", t)

    def test_2_sigterm_stops_everything(self):
        pids = [self.pid("worker"), self.pid("server")]
        redis = int(subprocess.run(["redis-cli", "-p", str(self.rport), "INFO", "server"],
                                   capture_output=True, text=True).stdout
                    .split("process_id:")[1].split()[0])
        os.kill(self.proc.pid, signal.SIGTERM)
        self.assertEqual(self.proc.wait(30), 0, self.output())
        time.sleep(0.5)
        for p in pids + [redis]:
            self.assertFalse(alive(p), "pid %d still runs:\n%s" % (p, self.output()))
        self.assertIn("start: stopped", self.output())
