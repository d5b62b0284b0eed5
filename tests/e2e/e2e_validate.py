"""Issue 11, point 5: POST /api/v1/validate never holds an HTTP thread.

A stack of its own (model meter, max_validate_waiting 6, two HTTP threads):
with the worker stopped, many more validations than threads wait at once while
/ping keeps answering; past the cap they are 503 with Retry-After at once; when
the worker comes back every waiting one gets its own answer.  Two requests with
the same client X-Request-Id get their own answers (the id is only echoed).
One nobody answers is 503 after validate_timeout_seconds and leaves the queue.

run_e2e.py imports the class.
"""
import concurrent.futures
import re
import subprocess
import unittest

from stack import Stack, wait_for

ENABLED = True
GOOD = "def solve(n):\n    return n\n"
BAD = "def solve(n):\n    return 0\n"
CASES = [{"test_id": "a", "inputs": [1], "expected_output": 1}]
CAP = 6


def body(code=GOOD):
    return {"candidate_code": code, "function_name": "solve", "test_cases": CASES}


class T033Validate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not ENABLED:
            raise unittest.SkipTest("runs with the model meter run only")
        cls.S = Stack("model")
        cls.S.extra.update(max_validate_waiting=str(CAP), server_threads="2",
                           validate_timeout_seconds="40", rate_limit_per_minute="0")
        cls.S.start_or_explain()

    @classmethod
    def tearDownClass(cls):
        cls.S.close_checked()

    def waiting(self):
        text = self.S.get("/metrics").raw.decode()
        return int(re.search(r"^jouletrace_validations_waiting (\d+)$", text, re.M).group(1))

    def stop_worker(self):
        self.S.stop_proc("worker")
        wait_for(lambda: self.S.get("/api/v1/health").json["workers_live"] == 0, 20,
                 "the worker's record to expire")

    def redis(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.S.redis_port)] + list(args),
                              capture_output=True, text=True, check=True).stdout.strip()

    def test_a_waiting_holds_no_thread_and_is_capped(self):
        S = self.S
        self.stop_worker()
        n = CAP + 8
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            futs = [pool.submit(S.post, "/api/v1/validate", body(GOOD if i % 2 else BAD),
                                headers={"X-Request-Id": "c-%d" % i}) for i in range(n)]
            # the cap: CAP wait, the rest are refused at once
            try:
                wait_for(lambda: self.waiting() == CAP and sum(f.done() for f in futs) == n - CAP,
                         30, "%d validations waiting, the others refused" % CAP)
            except AssertionError:
                S.start_worker()  # for the next test
                raise
            refused = [f.result() for f in futs if f.done()]
            for r in refused:
                self.assertEqual(r.status, 503, r.raw)
                self.assertEqual(r.json["error"], "not_ready")
                self.assertIn("too many validations", r.json["message"])
                self.assertEqual(r.headers.get("Retry-After"), "5")
            # two HTTP threads, six requests waiting: the server still answers
            for _ in range(5):
                self.assertEqual(S.get("/ping").status, 200)
                self.assertEqual(S.get("/api/v1/health").status, 200)
            self.assertEqual(self.waiting(), CAP)
            self.assertEqual(sum(f.done() for f in futs), n - CAP)  # still waiting
            S.start_worker()
            answered = [f.result(timeout=90) for f in futs]
        ok = [r for r in answered if r.status == 200]
        self.assertEqual(len(ok), CAP, [r.raw for r in answered])
        for r in ok:
            i = int(r.json["request_id"].split("-")[1])
            self.assertEqual(r.headers.get("X-Request-Id"), "c-%d" % i)
            self.assertEqual(r.json["validation"]["is_correct"], bool(i % 2), r.raw)
        self.assertEqual(self.waiting(), 0)

    def test_b_a_client_request_id_is_only_echoed(self):
        # before, the reply came back on a list named by this id: the two
        # answers could be swapped, or one request could read another's
        same = {"X-Request-Id": "same-id"}
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            good = pool.submit(self.S.post, "/api/v1/validate", body(GOOD), headers=same)
            bad = pool.submit(self.S.post, "/api/v1/validate", body(BAD), headers=same)
            good, bad = good.result(timeout=60), bad.result(timeout=60)
        self.assertEqual((good.status, bad.status), (200, 200), (good.raw, bad.raw))
        self.assertTrue(good.json["validation"]["is_correct"])
        self.assertFalse(bad.json["validation"]["is_correct"])
        self.assertEqual(good.json["request_id"], "same-id")
        self.assertEqual(bad.json["request_id"], "same-id")
        # nothing a client sends names a key
        self.assertEqual(self.redis("KEYS", "jt:vreply:same-id"), "")

    def test_c_nobody_answers_then_503_and_withdrawn(self):
        S = self.S
        self.stop_worker()
        try:
            r = S.post("/api/v1/validate", body(), timeout=120)
            self.assertEqual(r.status, 503, r.raw)
            self.assertIn("no worker answered within 40 s", r.json["message"])
            self.assertEqual(r.headers.get("Retry-After"), "5")
            self.assertEqual(self.redis("LLEN", "jt:q:validate"), "0")
            self.assertEqual(self.waiting(), 0)
        finally:
            S.start_worker()
