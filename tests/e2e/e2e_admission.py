"""Issue 11, points 6 and 4: admission control, and cancelling.

A stack of its own (model meter, two bearer tokens, max_queue_depth 2,
max_job_seconds 10): a full queue answers 429 queue_full; an Idempotency-Key
belongs to its client; the rate limit is per token; one job cannot hold the
lock past max_job_seconds.  T032Cancel (a stack without tokens): a task
cancelled while queued, during its gate, during a trial and once finished;
many cancelled at once by candidate_id or by list.

run_e2e.py imports the class.
"""
import os
import subprocess
import unittest
import urllib.parse

from stack import Stack, wait_for

ENABLED = True
SLOW = "import time\ndef solve(n):\n    time.sleep(0.2)\n    return n\n"
CASES = [{"test_id": "a", "inputs": [1], "expected_output": 1}]


def body(code=SLOW, **kw):
    b = {"candidate_code": code, "function_name": "solve", "test_cases": CASES,
         "energy_measurement_trials": 3, "min_trials": 3, "warmup_trials": 0,
         "min_trial_seconds": 1.0, "timeout_seconds": 60, "candidate_id": "adm"}
    b.update(kw)
    return b


class T031Admission(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not ENABLED:
            raise unittest.SkipTest("runs with the model meter run only")
        cls.S = Stack("model")
        S = cls.S
        cls.tokens = os.path.join(S.tmp, "tokens")
        with open(cls.tokens, "w") as f:
            f.write("token-a\ntoken-b\n")
        S.extra.update(api_tokens_file=cls.tokens, max_queue_depth="2", max_job_seconds="10")
        cls.A = {"Authorization": "Bearer token-a"}
        cls.B = {"Authorization": "Bearer token-b"}
        # the stack's own polling carries token A
        orig = S.request

        def request(method, path, body=None, headers=None, **kw):
            h = dict(cls.A)
            h.update(headers or {})
            return orig(method, path, body, headers=h, **kw)
        S.request = request
        S.start_or_explain()

    @classmethod
    def tearDownClass(cls):
        cls.S.close_checked()

    def cancel_all(self, ids):
        for i in ids:
            self.S.request("DELETE", "/api/v1/tasks/" + i)
        for i in ids:
            self.S.wait_task(i, timeout=60)
        wait_for(lambda: not self.S.get("/api/v1/socket0/status").json["lock"]["held"], 20, "lock")

    def test_a_full_queue_is_429(self):
        S = self.S
        codes, ids, first = [], [], {"Idempotency-Key": "first-of-four"}
        for k in range(4):   # each task takes seconds: at most one leaves the queue meanwhile
            r = S.post("/api/v1/measure", body(), headers=first if k == 0 else None)
            codes.append(r.status)
            if r.status == 202:
                ids.append(r.json["task_id"])
            else:
                self.assertEqual(r.status, 429, r.raw)
                self.assertEqual(r.json["error"], "queue_full")
                self.assertEqual(r.headers.get("Retry-After"), "30")
        try:
            self.assertIn(429, codes, codes)
            self.assertLessEqual(len(ids), 3, codes)
            # a replay is not a new task: the limit does not refuse it
            r = S.post("/api/v1/measure", body(), headers=first)
            self.assertEqual((r.status, r.json.get("task_id"), r.json.get("idempotent_replay")),
                             (202, ids[0], True), r.raw)
        finally:
            self.cancel_all(ids)

    def test_idempotency_keys_belong_to_their_client(self):
        S = self.S
        k = {"Idempotency-Key": "same-key"}
        a1 = S.post("/api/v1/measure", body(), headers=dict(self.A, **k))
        a2 = S.post("/api/v1/measure", body(), headers=dict(self.A, **k))
        b1 = S.post("/api/v1/measure", body(), headers=dict(self.B, **k))
        try:
            self.assertEqual((a1.status, a2.status, b1.status), (202, 202, 202), b1.raw)
            self.assertEqual(a2.json["task_id"], a1.json["task_id"])
            self.assertTrue(a2.json["idempotent_replay"])
            self.assertNotEqual(b1.json["task_id"], a1.json["task_id"])
            self.assertFalse(b1.json["idempotent_replay"])
            r = S.post("/api/v1/measure", body(), headers=dict(self.A, **{"Idempotency-Key": "x" * 256}))
            self.assertEqual(r.status, 422, r.raw)
            self.assertEqual(r.json["field_errors"][0]["field"], "Idempotency-Key")
        finally:
            self.cancel_all({a1.json["task_id"], b1.json["task_id"]})

    def test_rate_limit_is_per_token(self):
        S = self.S
        port = S.port + 2 if S.port < 65000 else S.port - 2
        conf = S.write_config("limited.conf", listen="127.0.0.1:%d" % port,
                              rate_limit_per_minute="3")
        S.start_server("limited", config=conf, port=port)
        try:
            for _ in range(3):
                self.assertEqual(S.get("/api/v1/seals", port=port, headers=self.A).status, 200)
            r = S.get("/api/v1/seals", port=port, headers=self.A)
            self.assertEqual(r.status, 429, r.raw)
            self.assertEqual(S.get("/api/v1/seals", port=port, headers=self.B).status, 200)
        finally:
            S.stop_proc("limited")

    def test_a_client_queue_limit(self):
        # a server of its own: a global limit far away, two queued tasks per client
        S = self.S
        port = S.port + 3 if S.port < 65000 else S.port - 3
        conf = S.write_config("perclient.conf", listen="127.0.0.1:%d" % port,
                              max_queue_depth="50", max_queued_per_client="2")
        S.start_server("perclient", config=conf, port=port)
        ids = []
        try:
            codes, first = [], dict(self.A, **{"Idempotency-Key": "first-of-A"})
            for k in range(5):   # seconds each: at most one of them leaves the queue
                r = S.post("/api/v1/measure", body(), port=port, headers=first if k == 0 else self.A)
                codes.append(r.status)
                if r.status == 202:
                    ids.append(r.json["task_id"])
                else:
                    self.assertEqual((r.status, r.json["error"]), (429, "queue_full"), r.raw)
                    self.assertIn("max_queued_per_client", r.json["message"])
                    self.assertEqual(r.headers.get("Retry-After"), "30")
            self.assertIn(429, codes, codes)
            self.assertLessEqual(len(ids), 3, codes)
            # a replay is not a new task: the limit does not refuse it
            r = S.post("/api/v1/measure", body(), port=port, headers=first)
            self.assertEqual((r.status, r.json.get("task_id"), r.json.get("idempotent_replay")),
                             (202, ids[0], True), r.raw)
            # another client is not held back by A's queue
            b = S.post("/api/v1/measure", body(), port=port, headers=self.B)
            self.assertEqual(b.status, 202, b.raw)
            ids.append(b.json["task_id"])
            # tasks that left the queue (cancelled here) no longer count
            self.cancel_all(ids)
            r = S.post("/api/v1/measure", body(), port=port, headers=self.A)
            self.assertEqual(r.status, 202, r.raw)
            ids = [r.json["task_id"]]
        finally:
            self.cancel_all(ids)
            S.stop_proc("perclient")

    def test_one_job_cannot_hold_the_lock_past_max_job_seconds(self):
        S = self.S
        r = S.post("/api/v1/measure", body(energy_measurement_trials=50, min_trials=50,
                                           target_cv_percent=0.1))
        self.assertEqual(r.status, 202, r.raw)
        t = S.wait_task(r.json["task_id"], timeout=60)
        self.assertEqual((t["status"], t.get("error_type")), ("failed", "timeout"), t)
        self.assertIn("max_job_seconds (10 s)", t["error_message"])
        self.assertIn("stopped at stage measuring", t["error_message"])
        wait_for(lambda: not S.get("/api/v1/socket0/status").json["lock"]["held"], 20, "lock")


def sandbox_processes():
    """Processes of the sandbox user (candidates): none once nothing runs."""
    r = subprocess.run(["pgrep", "-u", "jouletrace-sbx"], capture_output=True, text=True)
    return r.stdout.split()


class T032Cancel(unittest.TestCase):
    """Issue 11, point 4: cancel at every stage, and many at once."""
    S = None

    @classmethod
    def setUpClass(cls):
        if not ENABLED:
            raise unittest.SkipTest("runs with the model meter run only")
        cls.S = Stack("model")
        cls.S.start_or_explain()

    @classmethod
    def tearDownClass(cls):
        cls.S.close_checked()

    def stage_is(self, tid, stage):
        return self.S.get("/api/v1/tasks/" + tid).json.get("stage") == stage

    def assert_all_quiet(self):
        wait_for(lambda: not self.S.get("/api/v1/socket0/status").json["lock"]["held"], 20, "lock")
        wait_for(lambda: not sandbox_processes(), 20, "no candidate process left")

    def test_cancel_queued_gate_trial_and_finished(self):
        S = self.S
        gate_slow = "import time\ndef solve(n):\n    time.sleep(3)\n    return n\n"
        a = S.post("/api/v1/measure", body(gate_slow)).json["task_id"]
        b = S.post("/api/v1/measure", body()).json["task_id"]
        wait_for(lambda: self.stage_is(a, "validating"), 60, "the gate of a", step=0.05)
        # b waits behind a: cancelled while queued, it never starts
        self.assertEqual(S.request("DELETE", "/api/v1/tasks/" + b).status, 200)
        tb = S.wait_task(b, timeout=30)
        self.assertEqual((tb["status"], tb["started_at"]), ("cancelled", None), tb)
        # a, during its gate
        self.assertEqual(S.request("DELETE", "/api/v1/tasks/" + a).status, 200)
        self.assertEqual(S.wait_task(a, timeout=30)["status"], "cancelled")
        self.assert_all_quiet()
        # during a trial
        c = S.post("/api/v1/measure", body(energy_measurement_trials=10, min_trials=10)).json["task_id"]
        wait_for(lambda: self.stage_is(c, "measuring"), 60, "the trials of c", step=0.05)
        self.assertEqual(S.request("DELETE", "/api/v1/tasks/" + c).status, 200)
        self.assertEqual(S.wait_task(c, timeout=30)["status"], "cancelled")
        self.assert_all_quiet()
        # finished (however it ended): 409, and it stays as it ended
        quick = "def solve(n):\n    return n\n"
        d = S.post("/api/v1/measure", body(quick, min_trial_seconds=0.2)).json["task_id"]
        td = S.wait_task(d, timeout=60)
        self.assertIn(td["status"], ("completed", "failed"), td)
        if td["status"] == "failed":   # seen once in CI, cause unknown: say what it was
            print("T032: the quick task ended failed:", td.get("error_type"), td.get("error_message"))
        r = S.request("DELETE", "/api/v1/tasks/" + d)
        self.assertEqual((r.status, r.json["error"]), (409, "conflict"))
        self.assertEqual(S.get("/api/v1/tasks/" + d).json["status"], td["status"])

    def test_bulk_cancel(self):
        S = self.S
        cand = "bulk & co/%d" % os.getpid()      # any text: it is percent-encoded
        ids = [S.post("/api/v1/measure", body(candidate_id=cand)).json["task_id"] for _ in range(3)]
        other = S.post("/api/v1/measure", body(candidate_id="someone-else")).json["task_id"]
        r = S.request("DELETE", "/api/v1/tasks?candidate_id=" + urllib.parse.quote(cand, safe=""))
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(sorted(r.json["cancelled"]), sorted(ids), r.json)
        for t in ids:
            self.assertEqual(S.wait_task(t, timeout=30)["status"], "cancelled")
        # the other candidate's task was not touched; cancel it by list, with a
        # finished one and an unknown one
        unknown = "00000000-0000-4000-8000-000000000000"
        r = S.request("DELETE", "/api/v1/tasks", {"task_ids": [other, ids[0], unknown, "x"]})
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(r.json["cancelled"], [other])
        self.assertEqual(r.json["already_finished"], [ids[0]])
        self.assertEqual(r.json["not_found"], [unknown, "x"])
        self.assert_all_quiet()
        # neither form, or both: 422
        self.assertEqual(S.request("DELETE", "/api/v1/tasks").status, 422)
        r = S.request("DELETE", "/api/v1/tasks?candidate_id=a", {"task_ids": [other]})
        self.assertEqual(r.status, 422)
        self.assertEqual(S.request("DELETE", "/api/v1/tasks", {"task_ids": "no"}).status, 422)
        # a NUL after a number is not JSON (jansson alone would skip it)
        r = S.request("DELETE", "/api/v1/tasks", raw=b'{"task_ids":[1\x00]}')
        self.assertEqual((r.status, r.json["error"]), (400, "malformed_json"), r.raw)
