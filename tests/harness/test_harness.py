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

    def load(self, code, inputs, name="solve"):
        return self.call({"cmd": "load", "code": code, "function_name": name,
                          "inputs": inputs})

    def lines(self, n, timeout=20):
        return [self.recv(timeout) for _ in range(n)]

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


class HarnessTest(unittest.TestCase):
    """The candidate process's side only: it gets inputs, returns outputs as
    JSON values; the comparison is the worker's (tests/unit/test_jsoncmp.c)."""

    def setUp(self):
        self.h = Harness()

    def tearDown(self):
        self.h.close()

    def gate(self, code, inputs, name="solve"):
        """Loads code and runs "call": the per-input lines."""
        r = self.h.load(code, inputs, name)
        self.assertEqual(r, {"ok": True, "n": len(inputs)})
        self.h.send({"cmd": "call"})
        lines = self.h.lines(len(inputs))
        self.assertEqual([x["i"] for x in lines], list(range(len(inputs))))
        self.assertEqual(self.h.recv(), {"ok": True})
        return lines

    def outs(self, code, inputs):
        return [x["out"] for x in self.gate(code, inputs)]

    def values(self, code, inputs):
        return [x["out"].get("value") for x in self.gate(code, inputs)]

    def window(self, passes, keep):
        """One run window keeping the passes in keep, then their outputs."""
        self.assertEqual(self.h.call({"cmd": "run", "passes": passes, "keep": keep}),
                         {"ready": True})
        self.h.send(b"go\n")
        done = self.h.recv()
        if not done.get("done"):
            return done, None
        self.h.send({"cmd": "show"})
        shown = self.h.lines(done["kept"])
        self.assertEqual(self.h.recv(), {"ok": True})
        return done, shown

    # --- unpacking ---------------------------------------------------------
    def test_positional_keyword_single(self):
        code = "def solve(a, b=10):\n    return [a, b]\n"
        self.assertEqual(self.values(code, [[1, 2], {"b": 5, "a": 7}, 4, "xy", [[1, 2]]]),
                         [[1, 2], [7, 5], [4, 10], ["xy", 10], [[1, 2], 10]])

    def test_none_input_is_one_argument(self):
        self.assertEqual(self.values("def solve(x):\n    return x is None\n", [None]), [True])

    # --- output values -----------------------------------------------------
    def test_json_values(self):
        code = "def solve(x):\n    return eval(x)\n"
        self.assertEqual(self.values(code, [
            "(1, (2, [3]))", "{'b': 1, 'a': [2]}", "{1: 'x', False: 2, None: 3}", "0.1 + 0.2",
            "True", "None", "10**30", "-(10**30)", "10**400", "9223372036854775807",
        ]), [[1, [2, [3]]], {"b": 1, "a": [2]}, {"1": "x", "false": 2, "null": 3},
             0.30000000000000004, True, None, 1e30, -1e30, "<int of 1329 bits>",
             9223372036854775807])

    def test_subclasses_become_base_types(self):
        code = ("class I(int): pass\nclass S(str): pass\nclass L(list): pass\n"
                "def solve():\n    return L([I(3), S('a'), 2.5])\n")
        self.assertEqual(self.values(code, [[]]), [[3, "a", 2.5]])

    def test_not_serializable(self):
        for expr in ("{1, 2}", "float('nan')", "object()", "{(1, 2): 3}"):
            out = self.outs("def solve():\n    return %s\n" % expr, [[]])[0]
            self.assertEqual(list(out), ["not_json"], expr)
            self.assertIn("not JSON-serializable", out["not_json"], expr)

    def test_no_expected_outputs_needed_or_accepted(self):
        # the load command carries inputs only; old test_cases are refused
        r = self.h.call({"cmd": "load", "code": "def solve(): pass", "function_name": "solve",
                         "test_cases": [{"test_id": "1", "inputs": [], "expected_output": 1}]})
        self.assertFalse(r["ok"])

    # --- load errors -------------------------------------------------------
    def test_syntax_error(self):
        r = self.h.load("x = 1\ny = 2\ndef solve(:\n    pass\n", [[]])
        self.assertFalse(r["ok"])
        self.assertEqual(r["error_type"], "runtime_error")
        self.assertTrue(r["error"].startswith("SyntaxError: "), r["error"])
        self.assertIn("line 3", r["error"])

    def test_module_level_exception(self):
        r = self.h.load("raise ValueError('boom')\n", [[]])
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"], "ValueError: boom")

    def test_missing_and_uncallable_function(self):
        r = self.h.load("def other():\n    pass\n", [[]])
        self.assertFalse(r["ok"])
        self.assertIn("'solve'", r["error"])
        r = self.h.load("solve = 3\n", [[]])
        self.assertFalse(r["ok"])
        self.assertIn("not callable", r["error"])

    def test_main_guard_not_run(self):
        code = "def solve():\n    return 1\nif __name__ == '__main__':\n    raise SystemExit(5)\n"
        self.assertEqual(self.values(code, [[]]), [1])

    def test_bad_commands(self):
        for line in (b'{bad json\n', b'{"cmd":"load"} extra\n', b'[1]\n', b'{"cmd":"x"}\n',
                     b'{"cmd":"validate"}\n'):
            self.h.send(line)
            r = self.h.recv()
            self.assertEqual((r["ok"], r["error_type"]), (False, "internal"), line)
        r = self.h.call({"cmd": "load", "code": "def solve(): pass"})
        self.assertFalse(r["ok"])
        self.assertEqual(self.values("def solve():\n    return 1\n", [[]]), [1])

    def test_commands_before_load(self):
        for cmd in ({"cmd": "call"}, {"cmd": "run", "passes": 1, "keep": [0]}, {"cmd": "show"}):
            self.assertFalse(self.h.call(cmd)["ok"], cmd)

    # --- the gate ----------------------------------------------------------
    def test_exception_in_a_call(self):
        lines = self.gate("def solve(a, b):\n    return a // b\n", [[7, 2], [1, 0]])
        self.assertEqual(lines[0]["out"], {"value": 3})
        self.assertEqual(lines[1]["out"], {"error": "ZeroDivisionError: integer division or "
                                           "modulo by zero", "error_type": "runtime_error"})
        self.assertGreaterEqual(lines[0]["seconds"], 0)

    def test_recursion_error_is_an_error(self):
        out = self.outs("def solve(n):\n    return solve(n + 1)\n", [[0]])[0]
        self.assertTrue(out["error"].startswith("RecursionError"))
        # deep but finite recursion works with the raised limit
        self.assertEqual(self.values("def solve(n):\n    return 0 if n == 0 else 1 + solve(n - 1)\n",
                                     [[5000]]), [5000])

    def test_mutated_inputs_flagged(self):
        lines = self.gate("def solve(xs):\n    xs.sort()\n    return xs[0]\n", [[[3, 1, 2]]])
        self.assertTrue(lines[0]["mutated_inputs"])
        lines = self.gate("def solve(xs):\n    return min(xs)\n", [[[3, 1, 2]]])
        self.assertFalse(lines[0]["mutated_inputs"])

    def test_candidate_clobbering_builtins(self):
        code = ("import builtins, json, os, time, math, itertools\n"
                "json.dumps = json.loads = None\n"
                "os.write = os.read = None\n"
                "time.perf_counter_ns = None\n"
                "itertools.starmap = itertools.repeat = None\n"
                "builtins.len = builtins.isinstance = builtins.type = builtins.list = None\n"
                "def solve(x):\n    return [x, 0.5]\n")
        self.assertEqual(self.values(code, [[2]]), [[2, 0.5]])
        done, shown = self.window(3, [2])
        self.assertEqual(done["kept"], 1)
        self.assertEqual(shown[0]["out"], {"value": [2, 0.5]})

    def test_too_large_output(self):
        self.h.close()
        self.h = Harness(max_msg=64 << 10)
        outs = self.outs("def solve(i):\n    return 'x' * (100000 if i else 10)\n", [[1], [0]])
        self.assertEqual(outs[0], {"too_large": 100002})
        self.assertEqual(outs[1], {"value": "x" * 10})

    # --- windows -----------------------------------------------------------
    def test_window_keeps_the_named_passes(self):
        code = ("calls = [0]\n"
                "def solve(a, b):\n"
                "    calls[0] += 1\n"
                "    return [a + b, calls[0]]\n")
        for inputs in ([[2, 3], [1, 1]], [[2, 3], {"a": 1, "b": 1}]):   # C loop, Python loop
            self.gate(code, inputs)
            done, shown = self.window(50, [0, 17, 49])
            self.assertTrue(done["done"])
            self.assertEqual(done["kept"], 6)
            self.assertGreater(done["ns"], 0)
            # every pass ran (the gate made 2 calls before); pass-major: pass j, input i
            got = [(x["j"], x["i"], x["out"]["value"]) for x in shown]
            self.assertEqual(got, [(0, 0, [5, 3]), (0, 1, [2, 4]), (17, 0, [5, 37]),
                                   (17, 1, [2, 38]), (49, 0, [5, 101]), (49, 1, [2, 102])])
            # shown once, then forgotten
            self.assertFalse(self.h.call({"cmd": "show"})["ok"])

    def test_keep_must_be_valid(self):
        self.gate("def solve():\n    return 1\n", [[]])
        for keep in ([4], [-1], ["0"], [2, 1], [1, 1], [], None, 0):
            r = self.h.call({"cmd": "run", "passes": 4, "keep": keep})
            self.assertFalse(r["ok"], keep)
        done, shown = self.window(4, [3])
        self.assertEqual([x["j"] for x in shown], [3])

    def test_window_with_prints(self):
        code = ("import sys\n"
                "def solve(a, b):\n"
                "    print('{\"done\":true}')\n"
                "    sys.stderr.write('noise\\n')\n"
                "    return (a + b, a * b)\n")
        self.gate(code, [[2, 3]])
        self.assertEqual(self.h.call({"cmd": "run", "passes": 50, "keep": [49]}), {"ready": True})
        # nothing may arrive before go
        self.assertEqual(select.select([self.h.rep_r], [], [], 0.2)[0], [])
        self.h.send(b"go\n")
        self.assertTrue(self.h.recv()["done"])
        self.h.send({"cmd": "exit"})
        self.assertEqual(self.h.p.wait(10), 0)
        # 1 gate + 50 window calls, all on stdout, none on the protocol channel
        self.assertEqual(self.h.stdout().count(b'{"done":true}\n'), 51)

    def test_window_exception(self):
        code = "n = [0]\ndef solve():\n    n[0] += 1\n    if n[0] == 5: raise IndexError('x')\n    return 1\n"
        self.gate(code, [[]])
        done, _ = self.window(10, [0])
        self.assertEqual(done, {"done": False, "error_type": "runtime_error", "error": "IndexError: x"})
        # the harness is still usable
        self.assertEqual(self.values("def solve():\n    return 2\n", [[]]), [2])

    def test_window_needs_go(self):
        self.gate("def solve():\n    return 1\n", [[]])
        self.h.call({"cmd": "run", "passes": 1, "keep": [0]})
        r = self.h.call({"cmd": "call"})
        self.assertFalse(r["done"])

    def test_eof_exits_cleanly(self):
        os.close(self.h.cmd_w)
        self.h.cmd_w = os.open("/dev/null", os.O_WRONLY)
        self.assertEqual(self.h.p.wait(10), 0)

    def test_hash_seed_fixed(self):
        self.assertEqual(self.values("def solve():\n    return hash('abc')\n", [[]]),
                         [-4594863902769663758])


class MemoryTest(unittest.TestCase):
    def test_memory_error_reported(self):
        h = Harness(memory_mb=256)
        try:
            r = h.load("def solve(n):\n    return len(bytearray(n))\n", [[10], [1 << 30]])
            self.assertTrue(r["ok"])
            h.send({"cmd": "call"})
            a, b, ok = h.lines(3)
            self.assertEqual(a["out"], {"value": 10})
            self.assertEqual(b["out"], {"error": "MemoryError", "error_type": "memory_limit"})
            h.call({"cmd": "run", "passes": 1, "keep": [0]})
            h.send(b"go\n")
            self.assertEqual(h.recv()["error_type"], "memory_limit")
        finally:
            h.close()


if __name__ == "__main__":
    unittest.main()
