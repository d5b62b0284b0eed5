"""Issue 11, point 6: admission control.

A stack of its own (model meter, two bearer tokens, max_queue_depth 2,
max_job_seconds 10): a full queue answers 429 queue_full; an Idempotency-Key
belongs to its client; the rate limit is per token; one job cannot hold the
lock past max_job_seconds.

run_e2e.py imports the class.
"""
import os
import unittest

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
        codes, ids = [], []
        for _ in range(4):   # each task takes seconds: at most one leaves the queue meanwhile
            r = S.post("/api/v1/measure", body())
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
