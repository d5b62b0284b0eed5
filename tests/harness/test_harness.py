"""Tests for executor/harness.py: drive the real protocol over fds 3 and 4.

Run: /usr/bin/python3 -m unittest discover -s tests/harness
"""

import fcntl
import json
import os
import resource
import select
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(HERE, "..", "..", "executor", "harness.py")
PYTHON = "/usr/bin/python3"


class Harness:
    """One harness process with the executor's fd layout."""

    def __init__(self, max_msg=1 << 20, memory_mb=0):
        cmd_r, self.cmd_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        self.tmp = tempfile.TemporaryDirectory()
        self.out = tempfile.TemporaryFile()
        self.err = tempfile.TemporaryFile()

        def child():
            # Move out of the way first: a pipe end may already sit on 3 or 4.
            c = fcntl.fcntl(cmd_r, fcntl.F_DUPFD_CLOEXEC, 100)
            r = fcntl.fcntl(rep_w, fcntl.F_DUPFD_CLOEXEC, 100)
            os.dup2(c, 3)
            os.dup2(r, 4)
            if memory_mb:
                lim = memory_mb << 20
                resource.setrlimit(resource.RLIMIT_AS, (lim, lim))

        self.p = subprocess.Popen(
            [PYTHON, "-S", "-s", "-B", HARNESS, "--max-message-bytes", str(max_msg)],
            stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.err,
            close_fds=False, preexec_fn=child, cwd=self.tmp.name,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"})
        os.close(cmd_r)
        os.close(rep_w)
        self.buf = b""

    def send(self, obj):
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode() + b"\n"
        os.write(self.cmd_w, data)

    def recv(self, timeout=20):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply")
            r, _, _ = select.select([self.rep_r], [], [], left)
            if r:
                chunk = os.read(self.rep_r, 1 << 20)
                if not chunk:
                    raise EOFError("harness closed its reply pipe")
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, obj, timeout=20):
        self.send(obj)
        return self.recv(timeout)

    def load(self, code, tests, name="solve"):
        return self.call({"cmd": "load", "code": code, "function_name": name,
                          "test_cases": tests})

    def stdout(self):
        self.out.seek(0)
        return self.out.read()

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        for fd in (self.cmd_w, self.rep_r):
            os.close(fd)
        self.out.close()
        self.err.close()
        self.tmp.cleanup()


def tc(i, inputs, expected):
    return {"test_id": str(i), "inputs": inputs, "expected_output": expected}


class HarnessTest(unittest.TestCase):
    def setUp(self):
        self.h = Harness()

    def tearDown(self):
        self.h.close()

    def validate(self, code, tests, name="solve"):
        r = self.h.load(code, tests, name)
        self.assertEqual(r, {"ok": True})
        r = self.h.call({"cmd": "validate"})
        self.assertTrue(r["ok"])
        return r

    def passed(self, code, tests):
        return [x["passed"] for x in self.validate(code, tests)["results"]]

    # --- unpacking ---------------------------------------------------------
    def test_positional_keyword_single(self):
        code = "def solve(a, b=10):\n    return [a, b]\n"
        self.assertEqual(self.passed(code, [
            tc(1, [1, 2], [1, 2]),                 # array -> positional
            tc(2, {"b": 5, "a": 7}, [7, 5]),       # object -> keywords
            tc(3, 4, [4, 10]),                     # scalar -> one argument
            tc(4, "xy", ["xy", 10]),
            tc(5, [[1, 2]], [[1, 2], 10]),         # a list argument is wrapped
        ]), [True] * 5)

    def test_none_input_is_one_argument(self):
        self.assertEqual(self.passed("def solve(x):\n    return x is None\n",
                                     [tc(1, None, True)]), [True])

    # --- comparison --------------------------------------------------------
    def test_float_tolerance(self):
        code = "def solve(x):\n    return eval(x)\n"
        self.assertEqual(self.passed(code, [
            tc(1, "0.1 + 0.2", 0.3),
            tc(2, "1.0001", 1.0),
            tc(3, "3.0", 3),
            tc(4, "1e-12", 0),
            tc(5, "1e-8", 0),
            tc(6, "1000000008", 1000000007),       # ints are exact
            tc(7, "10**400", 1.0),                 # overflow is a mismatch, not a crash
        ]), [True, False, True, True, False, False, False])

    def test_tuple_equals_list(self):
        self.assertEqual(self.passed("def solve():\n    return (1, (2, [3]))\n",
                                     [tc(1, [], [1, [2, [3]]])]), [True])

    def test_bool_is_not_int(self):
        code = "def solve(x):\n    return eval(x)\n"
        self.assertEqual(self.passed(code, [
            tc(1, "True", 1), tc(2, "1", True), tc(3, "True", True),
            tc(4, "0", False), tc(5, "None", None), tc(6, "0", None),
        ]), [False, False, True, False, True, False])

    def test_dict_order_and_keys(self):
        code = "def solve(x):\n    return eval(x)\n"
        self.assertEqual(self.passed(code, [
            tc(1, "{'b': 1, 'a': [2]}", {"a": [2], "b": 1}),
            tc(2, "{1: 'x'}", {"1": "x"}),
            tc(3, "{'a': 1}", {"a": 1, "b": 2}),
            tc(4, "{'a': 1.0000000001}", {"a": 1}),
        ]), [True, True, False, True])

    def test_not_serializable(self):
        r = self.validate("def solve():\n    return {1, 2}\n", [tc(1, [], [1, 2])])
        res = r["results"][0]
        self.assertFalse(res["passed"])
        self.assertIn("{1, 2}", res["actual"])
        self.assertIn("not JSON-serializable", res["error"])

    def test_nan_not_serializable(self):
        self.assertEqual(self.passed("def solve():\n    return float('nan')\n",
                                     [tc(1, [], 0)]), [False])

    # --- load errors -------------------------------------------------------
    def test_syntax_error(self):
        r = self.h.load("x = 1\ny = 2\ndef solve(:\n    pass\n", [tc(1, [], 1)])
        self.assertFalse(r["ok"])
        self.assertEqual(r["error_type"], "runtime_error")
        self.assertTrue(r["error"].startswith("SyntaxError: "), r["error"])
        self.assertIn("line 3", r["error"])

    def test_module_level_exception(self):
        r = self.h.load("raise ValueError('boom')\n", [tc(1, [], 1)])
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"], "ValueError: boom")

    def test_missing_and_uncallable_function(self):
        r = self.h.load("def other():\n    pass\n", [tc(1, [], 1)])
        self.assertFalse(r["ok"])
        self.assertIn("'solve'", r["error"])
        r = self.h.load("solve = 3\n", [tc(1, [], 1)])
        self.assertFalse(r["ok"])
        self.assertIn("not callable", r["error"])

    def test_main_guard_not_run(self):
        code = "def solve():\n    return 1\nif __name__ == '__main__':\n    raise SystemExit(5)\n"
        self.assertEqual(self.passed(code, [tc(1, [], 1)]), [True])

    def test_bad_commands(self):
        for line in (b'{bad json\n', b'{"cmd":"load"} extra\n', b'[1]\n', b'{"cmd":"x"}\n'):
            self.h.send(line)
            r = self.h.recv()
            self.assertEqual((r["ok"], r["error_type"]), (False, "internal"), line)
        r = self.h.call({"cmd": "load", "code": "def solve(): pass"})
        self.assertFalse(r["ok"])
        self.assertEqual(self.passed("def solve():\n    return 1\n", [tc(1, [], 1)]), [True])

    def test_validate_before_load(self):
        r = self.h.call({"cmd": "validate"})
        self.assertFalse(r["ok"])

    # --- validation --------------------------------------------------------
    def test_exception_in_test_and_counts(self):
        code = "def solve(a, b):\n    return a // b\n"
        r = self.validate(code, [tc("a", [7, 2], 3), tc("b", [1, 0], 0), tc("c", [9, 3], 4)])
        self.assertEqual((r["passed"], r["total"]), (1, 3))
        a, b, c = r["results"]
        self.assertEqual([a["test_id"], b["test_id"], c["test_id"]], ["a", "b", "c"])
        self.assertTrue(a["passed"])
        self.assertIsNone(a["error"])
        self.assertEqual(b["error"], "ZeroDivisionError: integer division or modulo by zero")
        self.assertEqual(b["error_type"], "runtime_error")
        self.assertFalse(c["passed"])
        self.assertIsNone(c["error"])
        self.assertEqual((c["expected"], c["actual"]), (4, 3))
        self.assertGreaterEqual(a["seconds"], 0)

    def test_recursion_error_is_an_error(self):
        r = self.validate("def solve(n):\n    return solve(n + 1)\n", [tc(1, [0], 0)])
        self.assertTrue(r["results"][0]["error"].startswith("RecursionError"))
        # deep but finite recursion works with the raised limit
        r = self.validate("def solve(n):\n    return 0 if n == 0 else 1 + solve(n - 1)\n",
                          [tc(1, [5000], 5000)])
        self.assertTrue(r["results"][0]["passed"])

    def test_mutated_inputs_flagged(self):
        r = self.validate("def solve(xs):\n    xs.sort()\n    return xs[0]\n",
                          [tc(1, [[3, 1, 2]], 1)])
        self.assertTrue(r["results"][0]["passed"])
        self.assertTrue(r["results"][0]["mutated_inputs"])
        r = self.validate("def solve(xs):\n    return min(xs)\n", [tc(1, [[3, 1, 2]], 1)])
        self.assertFalse(r["results"][0]["mutated_inputs"])

    def test_candidate_clobbering_builtins(self):
        code = ("import builtins, json, os, time, math\n"
                "json.dumps = json.loads = None\n"
                "os.write = os.read = None\n"
                "time.perf_counter_ns = None\n"
                "math.isclose = None\n"
                "builtins.len = builtins.isinstance = builtins.type = None\n"
                "def solve(x):\n    return [x, 0.5]\n")
        r = self.validate(code, [tc(1, [2], [2, 0.5])])
        self.assertEqual(r["passed"], 1)
        self.assertEqual(self.h.call({"cmd": "trial", "passes": 3}), {"ready": True})
        self.h.send(b"go\n")
        self.assertTrue(self.h.recv()["done"])
        self.assertTrue(self.h.recv()["ok"])

    def test_large_reply_stays_under_cap(self):
        self.h.close()
        self.h = Harness(max_msg=64 << 10)
        tests = [tc(i, [i], "y") for i in range(100)]
        r = self.validate("def solve(i):\n    return 'x' * 100000\n", tests)
        self.assertEqual(r["passed"], 0)
        self.assertEqual(r["total"], 100)
        self.assertTrue(r["results_truncated"])
        self.assertLess(len(json.dumps(r)), 64 << 10)
        self.assertIn("truncated", r["results"][0]["actual"])

    # --- sizing ------------------------------------------------------------
    def test_size(self):
        code = "import time\ndef solve():\n    time.sleep(0.01)\n    return 1\n"
        self.validate(code, [tc(1, [], 1)])
        r = self.h.call({"cmd": "size", "min_trial_seconds": 0.1, "max_passes": 1000})
        self.assertTrue(r["ok"])
        self.assertGreaterEqual(r["pass_seconds"], 0.01)
        self.assertLess(r["pass_seconds"], 0.05)
        self.assertTrue(3 <= r["passes"] <= 10, r)
        r = self.h.call({"cmd": "size", "min_trial_seconds": 10, "max_passes": 7})
        self.assertEqual(r["passes"], 7)

    def test_size_fast_function(self):
        self.validate("def solve(x):\n    return x\n", [tc(1, [1], 1), tc(2, [2], 2)])
        r = self.h.call({"cmd": "size", "min_trial_seconds": 0.05, "max_passes": 10**7})
        self.assertTrue(r["ok"])
        self.assertLess(r["pass_seconds"], 1e-4)
        self.assertGreater(r["passes"], 100)
        self.assertGreater(r["sized_passes"], 1)   # the doubling loop ran

    def test_size_exception(self):
        self.validate("n = [0]\ndef solve():\n    n[0] += 1\n    if n[0] > 1: raise KeyError('k')\n    return 1\n",
                      [tc(1, [], 1)])
        r = self.h.call({"cmd": "size", "min_trial_seconds": 0.05, "max_passes": 100})
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"], "KeyError: 'k'")

    # --- trials ------------------------------------------------------------
    def test_trial_sequence_with_prints(self):
        code = ("import sys\n"
                "def solve(a, b):\n"
                "    print('{\"done\":true}')\n"
                "    sys.stderr.write('noise\\n')\n"
                "    return (a + b, a * b)\n")
        self.validate(code, [tc(1, [2, 3], [5, 6]), tc(2, {"a": 1, "b": 1}, [2, 1])])
        r = self.h.call({"cmd": "trial", "passes": 50})
        self.assertEqual(r, {"ready": True})
        # nothing may arrive before go
        self.assertEqual(select.select([self.h.rep_r], [], [], 0.2)[0], [])
        self.h.send(b"go\n")
        done = self.h.recv()
        self.assertTrue(done["done"])
        self.assertGreater(done["elapsed_ns"], 0)
        checked = self.h.recv()
        self.assertEqual(checked, {"checked": True, "ok": True, "failed": 0, "mismatches": []})
        # 1 validation + 50 trial calls per test, all on stdout
        self.assertEqual(self.h.stdout().count(b'{"done":true}\n'), 2 * 51)
        self.h.send({"cmd": "exit"})
        self.assertEqual(self.h.p.wait(10), 0)

    def test_stateful_cheat_detected(self):
        code = ("calls = [0]\n"
                "def solve(x):\n"
                "    calls[0] += 1\n"
                "    return x * 2 if calls[0] <= 1 else 0\n")
        r = self.validate(code, [tc("t", [21], 42)])
        self.assertEqual(r["passed"], 1)
        self.assertEqual(self.h.call({"cmd": "trial", "passes": 4}), {"ready": True})
        self.h.send(b"go\n")
        self.assertTrue(self.h.recv()["done"])
        c = self.h.recv()
        self.assertFalse(c["ok"])
        self.assertEqual(c["mismatches"], [{"test_id": "t", "expected": 42, "actual": 0}])

    def test_trial_exception(self):
        code = "n = [0]\ndef solve():\n    n[0] += 1\n    if n[0] == 5: raise IndexError('x')\n    return 1\n"
        self.validate(code, [tc(1, [], 1)])
        self.h.call({"cmd": "trial", "passes": 10})
        self.h.send(b"go\n")
        r = self.h.recv()
        self.assertEqual(r, {"done": False, "error_type": "runtime_error", "error": "IndexError: x"})
        # the harness is still usable
        self.assertTrue(self.h.call({"cmd": "validate"})["ok"])

    def test_trial_needs_go(self):
        self.validate("def solve():\n    return 1\n", [tc(1, [], 1)])
        self.h.call({"cmd": "trial", "passes": 1})
        r = self.h.call({"cmd": "validate"})
        self.assertFalse(r["done"])

    def test_eof_exits_cleanly(self):
        os.close(self.h.cmd_w)
        self.h.cmd_w = os.open("/dev/null", os.O_WRONLY)
        self.assertEqual(self.h.p.wait(10), 0)

    def test_hash_seed_fixed(self):
        r = self.validate("def solve():\n    return hash('abc')\n", [tc(1, [], 0)])
        self.assertEqual(r["results"][0]["actual"], -4594863902769663758)


class MemoryTest(unittest.TestCase):
    def test_memory_error_reported(self):
        h = Harness(memory_mb=256)
        try:
            r = h.load("def solve(n):\n    return len(bytearray(n))\n",
                       [tc(1, [10], 10), tc(2, [1 << 30], 0)])
            self.assertTrue(r["ok"])
            r = h.call({"cmd": "validate"})
            a, b = r["results"]
            self.assertTrue(a["passed"])
            self.assertEqual(b["error_type"], "memory_limit")
            self.assertEqual(b["error"], "MemoryError")
            h.call({"cmd": "trial", "passes": 1})
            h.send(b"go\n")
            self.assertEqual(h.recv()["error_type"], "memory_limit")
        finally:
            h.close()


if __name__ == "__main__":
    unittest.main()
