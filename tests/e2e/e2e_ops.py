"""Issue 10 end to end: what an operator scrapes and reads.

A stack of its own (model meter, bearer tokens, JSON logs) runs a completed
measurement, a failing one whose traceback quotes its own code, and a
validation.  Then:

* GET /metrics passes a real Prometheus parser (`promtool check metrics`)
  and carries those jobs: requests by route and status, the job, trial and
  energy histograms, finished jobs by outcome, live workers, heartbeat age
  and the host's lock; no task id is ever a label;
* no log line of any component holds the candidate's code, the API token or
  the signing key, every line is one JSON object with level, program and
  pid, and the worker's lines about a task name it.

run_e2e.py imports the class.
"""
import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import unittest

from stack import Stack

ENABLED = True
MARKER = "jt-secret-code-" + secrets.token_hex(6)
CODE = ("def solve(n):\n"
        "    # %s\n"
        "    return sum(range(n))\n" % MARKER)
FAILING = ("def solve(n):\n"
           "    raise ValueError('%s' + str(n))\n" % MARKER)
CASES = [{"test_id": "t1", "inputs": [100], "expected_output": 4950}]


def body(code, **kw):
    b = {"candidate_code": code, "function_name": "solve", "test_cases": CASES,
         "energy_measurement_trials": 3, "min_trials": 2, "warmup_trials": 0,
         "min_trial_seconds": 0.2, "timeout_seconds": 30, "candidate_id": "ops"}
    b.update(kw)
    return b


class TokenStack(Stack):
    """Every request carries the bearer token."""
    token = None

    def request(self, method, path, body=None, headers=None, **kw):
        h = {"Authorization": "Bearer " + self.token}
        h.update(headers or {})
        return super().request(method, path, body, headers=h, **kw)


def samples(text):
    """{(name, frozenset(labels)): value} of a Prometheus text page."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m:
            raise AssertionError("not a sample line: " + line)
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


class T028Ops(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not ENABLED:
            raise unittest.SkipTest("runs with the model meter run only")
        cls.S = TokenStack("model")
        S = cls.S
        S.token = "jt-token-" + secrets.token_hex(12)
        tokens = os.path.join(S.tmp, "tokens")
        with open(tokens, "w") as f:
            f.write(S.token + "\n")
        S.extra.update(api_tokens_file=tokens, log_format="json")
        S.start_or_explain()
        r = S.post("/api/v1/measure", body(CODE))
        assert r.status == 202, r.raw
        cls.done = S.wait_task(r.json["task_id"])
        r = S.post("/api/v1/measure", body(FAILING))
        assert r.status == 202, r.raw
        cls.failed = S.wait_task(r.json["task_id"])
        cls.validate = S.post("/api/v1/validate", body(CODE))
        cls.metrics = S.get("/metrics")

    @classmethod
    def tearDownClass(cls):
        cls.S.close_checked()

    def test_jobs_ran(self):
        self.assertEqual(self.done["status"], "completed", self.done)
        self.assertEqual(self.failed["status"], "failed", self.failed)
        # the message quotes the code: it is in the record, for the client
        self.assertIn(MARKER, json.dumps(self.failed))
        self.assertEqual(self.validate.status, 200, self.validate.raw)

    def test_metrics_pass_promtool(self):
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool (Debian's prometheus) is installed by setup.sh")
        r = subprocess.run([promtool, "check", "metrics"], input=self.metrics.raw,
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(self.metrics.headers["Content-Type"].startswith("text/plain"))

    def test_metrics_carry_the_jobs(self):
        m = samples(self.metrics.raw.decode())

        def val(name, **labels):
            key = (name, frozenset(labels.items()))
            self.assertIn(key, m, "%s%s missing" % (name, labels))
            return m[key]

        self.assertEqual(val("jouletrace_up", component="redis"), 1)
        self.assertGreaterEqual(val("jouletrace_http_requests_total",
                                    route="/api/v1/measure", code="202"), 2)
        self.assertGreaterEqual(val("jouletrace_http_requests_total",
                                    route="/api/v1/tasks/{id}", code="200"), 2)
        self.assertGreaterEqual(val("jouletrace_http_request_duration_seconds_count",
                                    route="/api/v1/validate"), 1)
        self.assertEqual(val("jouletrace_jobs_finished_total", kind="measure", outcome="completed"), 1)
        self.assertEqual(val("jouletrace_jobs_finished_total", kind="measure", outcome="failed"), 1)
        self.assertEqual(val("jouletrace_jobs_finished_total", kind="validate", outcome="completed"), 1)
        self.assertEqual(val("jouletrace_job_duration_seconds_count"), 3)
        # the completed job's kept trials, and its energy
        kept = sum(1 for t in self.done["trials"] if t["kept"])
        self.assertEqual(val("jouletrace_trial_duration_seconds_count"), kept)
        self.assertEqual(val("jouletrace_job_energy_joules_count"), 1)
        energy = sum(t["candidate_energy_uj"] or 0 for t in self.done["trials"] if t["kept"]) / 1e6 \
            if self.done["energy_metrics"]["energy_basis"] == "candidate_share" else None
        if energy:
            self.assertAlmostEqual(val("jouletrace_job_energy_joules_sum"), energy, delta=energy * 0.01)
        host = self.S.get("/api/v1/health").json
        self.assertGreaterEqual(val("jouletrace_workers_live"), 1, host)
        self.assertGreaterEqual(val("jouletrace_lock_fencing_token", host_id="e2e-model"),
                                self.done["measurement_lock"]["fencing_token"])
        self.assertEqual(val("jouletrace_lock_held", host_id="e2e-model"), 0)
        self.assertLess(val("jouletrace_worker_heartbeat_age_seconds", host_id="e2e-model"), 10)
        # bounded labels: no task id anywhere on the page
        for t in (self.done, self.failed):
            self.assertNotIn(t["task_id"].encode(), self.metrics.raw)

    def test_logs_hold_no_code_tokens_or_keys(self):
        S = self.S
        with open(os.path.join(S.tmp, "keys", "seal.key"), "rb") as f:
            seed = f.read()
        secrets_ = {"the candidate's code": MARKER, "the API token": S.token,
                    "the key (hex)": seed.hex(), "the key (base64)": base64.b64encode(seed).decode()}
        logs = {}
        for f in sorted(os.listdir(S.tmp)):
            if f.endswith(".log"):
                logs[f] = S.log(f[:-4])
        self.assertIn("worker.log", logs)
        for name, text in logs.items():
            for what, s in secrets_.items():
                self.assertNotIn(s, text, "%s in %s" % (what, name))
        # one JSON object per line, and the task's lines name it
        task_lines = []
        for name in ("worker.log", "server.log"):
            for line in logs[name].splitlines():
                j = json.loads(line)
                for k in ("ts", "level", "program", "pid", "msg"):
                    self.assertIn(k, j, line)
                if self.done["task_id"] in j["msg"]:
                    task_lines.append(j)
        self.assertTrue(task_lines)
        for j in task_lines:
            self.assertEqual(j.get("task"), self.done["task_id"], j)


if __name__ == "__main__":
    unittest.main()
