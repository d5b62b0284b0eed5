"""harness.py - runs one candidate Python function for the jouletrace executor.

Started by executor.c as `python -S -s -B harness.py --max-message-bytes N`
with commands arriving on fd 3 and replies leaving on fd 4, one JSON object
per line.  fds 0/1/2 stay the candidate's (stdin /dev/null, captured stdout
and stderr), so nothing the candidate prints can reach the protocol.

Commands (-> worker to harness, <- replies):
  load      -> {"cmd":"load","code","function_name","test_cases":[...]}
            <- {"ok":true} | {"ok":false,"error_type","error"}
  validate  -> {"cmd":"validate"}
            <- {"ok":true,"passed","total","results":[{"test_id","passed",
                "expected","actual","error","error_type","seconds",
                "mutated_inputs"}],"results_truncated"}
  size      -> {"cmd":"size","min_trial_seconds","max_passes"}
            <- {"ok":true,"pass_seconds","passes","sized_passes"}
  trial     -> {"cmd":"trial","passes":p}  <- {"ready":true}
            -> "go"                         <- {"done":true,"elapsed_ns"}
                                            <- {"checked":true,"ok","failed",
                                                "mismatches":[<=10]}
  exit      -> {"cmd":"exit"}               (exit status 0, no reply)
Any command may instead get {"ok":false,"error_type","error"}.

Design notes (why, not what):
* Everything the harness needs is bound to local names inside _main() before
  candidate code runs, so a candidate that rebinds builtins, json or os
  attributes cannot change what the harness calls.  This guards against
  accidents, not against deliberate tampering: the candidate shares the
  interpreter, and only the OS sandbox is a security boundary.
* Inputs are decoded afresh from their JSON text for every command, so each
  validation run, sizing run and trial starts from pristine arguments; within
  one trial the same argument objects are reused (no copying inside the window).
  Validation reports when a call mutated its inputs, because later passes of a
  trial then see different inputs.
* GC: before "ready" the harness runs gc.collect() and gc.freeze().  Freezing
  moves every object alive at that point (test data, the candidate's module,
  harness state) out of the collector's reach, so collections triggered inside
  the window scan only what the candidate allocates there, and garbage from an
  earlier trial is not collected inside this one.  The collector stays enabled:
  the candidate's real GC cost is part of its energy, and disabling it would let
  cycle-heavy code run out of memory over a million passes.  gc.unfreeze()
  follows "done".
* Comparison: outputs are first converted to JSON values (tuple -> list, dict
  keys as json.dumps would write them, int/float/str subclasses to the base
  type, objects with tolist() such as numpy values through it).  bool equals
  only bool; int vs int is exact (a tolerance would accept an off-by-one answer
  modulo 1e9+7); when a float is involved math.isclose(rel_tol=1e-9,
  abs_tol=1e-9) decides; dict key order is irrelevant.
* Every reply is kept under --max-message-bytes: long values in replies are
  replaced by a truncated text and surplus validation results are dropped
  (results_truncated), so a huge output can never make the executor kill us.
"""

import sys


def _main(argv):
    import builtins
    import gc
    import json
    import math
    import os
    import time

    max_msg = 64 << 20
    if len(argv) >= 3 and argv[1] == "--max-message-bytes":
        max_msg = int(argv[2])
    if max_msg < 4096:
        max_msg = 4096

    # --- bind everything before candidate code exists --------------------
    _read, _write, _exit = os.read, os.write, os._exit
    _perf = time.perf_counter_ns
    _isclose, _isfinite, _ceil = math.isclose, math.isfinite, math.ceil
    # The C scanner and encoder are used directly: json.loads/dumps run Python
    # code that looks up isinstance/len in builtins at call time.
    # (Interpreters without the _json accelerator fall back to the Python ones.)
    _scan = (json.scanner.c_make_scanner or json.scanner.py_make_scanner)(json.JSONDecoder())
    _join, _StopIteration = "".join, StopIteration
    if json.encoder.c_make_encoder is not None:
        _c_enc = json.encoder.c_make_encoder(
            None, None, json.encoder.c_encode_basestring_ascii, None,
            ":", ",", False, False, False)

        def _dumps(obj):
            return _join(_c_enc(obj, 0))
    else:
        _dumps = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode

    def _loads(text):
        try:
            obj, end = _scan(text, 0)
        except _StopIteration as e:
            raise _ValueError("invalid JSON at offset %d" % e.value) from None
        if end != _len(text):
            raise _ValueError("extra data after the JSON value")
        return obj

    _collect, _freeze, _unfreeze = gc.collect, gc.freeze, gc.unfreeze
    _type, _len, _range, _repr, _str = type, len, range, repr, str
    _int, _float, _bool, _list, _tuple, _dict = int, float, bool, list, tuple, dict
    _isinstance, _getattr, _callable = isinstance, getattr, callable
    _compile, _exec, _min, _max = compile, exec, min, max
    _BaseException, _MemoryError = BaseException, MemoryError
    _SyntaxError, _RecursionError = SyntaxError, RecursionError
    _stdout, _stderr = sys.stdout, sys.stderr
    _bytes, _bytearray, _zip, _memoryview = bytes, bytearray, zip, memoryview
    _OverflowError, _ValueError = OverflowError, ValueError
    INT64 = 1 << 63
    MAX_DEPTH = 2000     # jansson refuses deeper documents anyway
    MAX_ERROR = 4000     # characters of one error text

    class NotJSON(Exception):
        pass

    _NotJSON = NotJSON

    # --- protocol I/O -----------------------------------------------------
    inbuf = _bytearray()
    scanned = [0]

    def read_line():
        """One command line without '\\n'; None at EOF."""
        while True:
            i = inbuf.find(b"\n", scanned[0])
            if i >= 0:
                line = _bytes(inbuf[:i])
                del inbuf[:i + 1]
                scanned[0] = 0
                return line
            scanned[0] = _len(inbuf)
            if _len(inbuf) > max_msg:
                return None
            chunk = _read(3, 1 << 16)
            if not chunk:
                return None
            inbuf.extend(chunk)

    def write_raw(data):
        view = _memoryview(data)
        while view:
            n = _write(4, view)
            view = view[n:]

    def reply(obj):
        data = _dumps(obj).encode("ascii") + b"\n"
        if _len(data) > max_msg:
            data = (_dumps({"ok": False, "error_type": "internal",
                            "error": "reply over the message size limit"})
                    .encode("ascii") + b"\n")
        write_raw(data)

    def flush_candidate_output():
        for f in (_stdout, _stderr):
            try:
                f.flush()
            except _BaseException:
                pass

    # --- values -------------------------------------------------------------
    def clip(text, limit=MAX_ERROR):
        if _len(text) > limit:
            text = text[:limit] + "...(%d chars)" % _len(text)
        return text

    def exc_text(e):
        name = _getattr(_type(e), "__name__", "Exception")
        try:
            msg = _str(e)
        except _BaseException:
            msg = "<unprintable>"
        if _isinstance(e, _SyntaxError) and e.lineno is not None:
            msg = "%s (line %d)" % (e.msg, e.lineno)
        text = name + ": " + msg if msg else name
        return clip(text.encode("utf-8", "backslashreplace").decode("utf-8"))

    def error_type_of(e):
        return "memory_limit" if _isinstance(e, _MemoryError) else "runtime_error"

    def key_of(k):
        t = _type(k)
        if t is _str:
            return k
        if k is True:
            return "true"
        if k is False:
            return "false"
        if k is None:
            return "null"
        if _isinstance(k, _int):
            return _int.__repr__(_int(k))
        if _isinstance(k, _float) and _isfinite(k):
            return _float.__repr__(_float(k))
        if _isinstance(k, _str):
            return _str(k)
        raise _NotJSON("dict key of type " + t.__name__)

    def conv(x, depth):
        """x as a JSON value (new containers), or NotJSON."""
        t = _type(x)
        if t is _str:
            x.encode("utf-8")   # lone surrogates cannot travel as JSON
            return x
        if t is _int or t is _bool or x is None:
            return x
        if t is _float:
            if not _isfinite(x):
                raise _NotJSON("non-finite float")
            return x
        if depth > MAX_DEPTH:
            raise _NotJSON("nested too deeply")
        if t is _list or t is _tuple:
            return [conv(v, depth + 1) for v in x]
        if t is _dict:
            out = {}
            for k, v in x.items():
                ks = key_of(k)
                if ks in out:
                    raise _NotJSON("duplicate key " + _repr(ks))
                out[ks] = conv(v, depth + 1)
            return out
        if _isinstance(x, _int):
            return _int(x)
        if _isinstance(x, _float):
            return conv(_float(x), depth)
        if _isinstance(x, _str):
            return conv(_str(x), depth)
        if _isinstance(x, (_list, _tuple)):
            return [conv(v, depth + 1) for v in x]
        if _isinstance(x, _dict):
            return conv(_dict(x), depth + 1)
        tolist = _getattr(t, "tolist", None)
        if tolist is not None and _callable(tolist):
            return conv(x.tolist(), depth + 1)
        raise _NotJSON("object of type " + t.__name__)

    def to_json(x):
        """(True, JSON value) or (False, repr text) for a candidate value."""
        try:
            return True, conv(x, 0)
        except _MemoryError:
            raise
        except _BaseException as e:
            try:
                r = _repr(x)
            except _BaseException:
                r = "<unrepresentable %s>" % _type(x).__name__
            return False, "%s (not JSON-serializable: %s)" % (
                clip(r.encode("utf-8", "backslashreplace").decode("utf-8")),
                exc_text(e))

    def equal(a, b):
        ta, tb = _type(a), _type(b)
        if ta is _bool or tb is _bool:
            return ta is tb and a == b
        if ta is _int and tb is _int:
            return a == b
        if (ta is _int or ta is _float) and (tb is _int or tb is _float):
            try:
                return _isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
            except _OverflowError:
                return False
        if ta is _list and tb is _list:
            if _len(a) != _len(b):
                return False
            for i in _range(_len(a)):
                if not equal(a[i], b[i]):
                    return False
            return True
        if ta is _dict and tb is _dict:
            if _len(a) != _len(b):
                return False
            for k, v in a.items():
                if k not in b or not equal(v, b[k]):
                    return False
            return True
        if ta is _str and tb is _str:
            return a == b
        return a is None and b is None

    def shown(v, budget):
        """v made safe for the reply (int64 range, at most budget bytes)."""
        def fix(x):
            t = _type(x)
            if t is _int and not (-INT64 <= x < INT64):
                try:
                    return _float(x)
                except _OverflowError:
                    return "<int of %d bits>" % x.bit_length()
            if t is _list:
                return [fix(y) for y in x]
            if t is _dict:
                return {k: fix(y) for k, y in x.items()}
            return x
        try:
            v = fix(v)
            text = _dumps(v)
        except _BaseException as e:
            return "<unshowable: %s>" % exc_text(e)
        if _len(text) <= budget:
            return v
        return text[:_max(0, budget - 40)] + "...(truncated, %d bytes)" % _len(text)

    # --- candidate state --------------------------------------------------
    st = {"fn": None, "cases": None}   # cases: [(test_id, inputs_text, expected)]

    def unpack(fn, inputs):
        if _type(inputs) is _list:
            return fn, _tuple(inputs), None
        if _type(inputs) is _dict:
            return fn, (), inputs
        return fn, (inputs,), None

    def fresh_calls():
        fn = st["fn"]
        return [unpack(fn, _loads(c[1])) for c in st["cases"]]

    def make_plan(calls):
        """(uses_kwargs, entries): built before a window opens."""
        for c in calls:
            if c[2] is not None:
                return True, calls
        return False, [(f, a) for f, a, k in calls]

    def run_passes(plan, n):
        """n passes (n >= 1) over all test cases; returns the last pass's
        outputs.  Sizing and trials share this loop so that sizing measures
        exactly the code a trial runs."""
        kw, entries = plan
        rng = _range(n - 1)
        if kw:
            for _ in rng:
                for f, a, k in entries:
                    if k is None:
                        f(*a)
                    else:
                        f(*a, **k)
            return [f(*a) if k is None else f(*a, **k) for f, a, k in entries]
        for _ in rng:
            for f, a in entries:
                f(*a)
        return [f(*a) for f, a in entries]

    def need_loaded():
        if st["fn"] is None:
            reply({"ok": False, "error_type": "internal",
                   "error": "no candidate loaded"})
            return False
        return True

    # --- commands -----------------------------------------------------------
    def cmd_load(msg):
        code = msg.get("code")
        name = msg.get("function_name", "solve")
        tests = msg.get("test_cases")
        if _type(code) is not _str or _type(name) is not _str or _type(tests) is not _list:
            reply({"ok": False, "error_type": "internal",
                   "error": "load needs code, function_name and test_cases"})
            return
        cases = []
        for tc in tests:
            if _type(tc) is not _dict or "inputs" not in tc or "expected_output" not in tc:
                reply({"ok": False, "error_type": "internal",
                       "error": "a test case needs inputs and expected_output"})
                return
            cases.append((tc.get("test_id"), _dumps(tc["inputs"]), tc["expected_output"]))
        module = {"__name__": "candidate", "__builtins__": builtins}
        try:
            code_obj = _compile(code, "<candidate>", "exec")
            _exec(code_obj, module)
        except _BaseException as e:
            reply({"ok": False, "error_type": error_type_of(e), "error": exc_text(e)})
            return
        fn = module.get(name)
        if fn is None:
            reply({"ok": False, "error_type": "runtime_error",
                   "error": "function %r is not defined" % name})
            return
        if not _callable(fn):
            reply({"ok": False, "error_type": "runtime_error",
                   "error": "%r is not callable" % name})
            return
        st["fn"], st["cases"] = fn, cases
        reply({"ok": True})

    def cmd_validate(msg):
        if not need_loaded():
            return
        cases = st["cases"]
        n = _len(cases)
        budget = _max(1024, (max_msg - 65536) // (2 * n + 2))
        parts, passed, size, truncated = [], 0, 0, False
        for (tid, itext, expected), (f, a, k) in _zip(cases, fresh_calls()):
            err = etype = None
            actual = None
            ok = False
            t0 = _perf()
            try:
                out = f(*a, **k) if k is not None else f(*a)
                t1 = _perf()
            except _BaseException as e:
                t1 = _perf()
                err, etype = exc_text(e), error_type_of(e)
            if err is None:
                ok, actual = to_json(out)
                out = None
                if not ok:
                    err = "output is not JSON-serializable"
                    etype = "runtime_error"
                else:
                    ok = equal(actual, expected)
            sent = a if k is None else k
            orig = _loads(itext)
            if _type(orig) is _list:
                good, now = to_json(_list(sent))
            elif _type(orig) is _dict:
                good, now = to_json(sent)
            else:
                good, now = to_json(sent[0])
            mutated = not (good and equal(now, orig))
            passed += ok
            r = _dumps({"test_id": tid, "passed": ok,
                        "expected": shown(expected, budget),
                        "actual": shown(actual, budget),
                        "error": err, "error_type": etype,
                        "seconds": (t1 - t0) / 1e9,
                        "mutated_inputs": mutated})
            if size + _len(r) + 256 > max_msg:
                truncated = True
            else:
                parts.append(r)
                size += _len(r) + 1
        head = '{"ok":true,"passed":%d,"total":%d,"results_truncated":%s,"results":[' % (
            passed, n, "true" if truncated else "false")
        write_raw((head + ",".join(parts) + "]}\n").encode("ascii"))

    def cmd_size(msg):
        if not need_loaded():
            return
        min_ns = _int(_float(msg.get("min_trial_seconds", 0.2)) * 1e9)
        max_passes = _max(1, _int(msg.get("max_passes", 1000000)))
        # Batches double until one lasts long enough for the clock to be
        # negligible, so a pass of a few hundred ns is still sized right.
        threshold = _max(1000000, min_ns // 20)
        plan = make_plan(fresh_calls())
        _collect()
        _freeze()
        try:
            k = 1
            while True:
                t0 = _perf()
                run_passes(plan, k)
                el = _perf() - t0
                if el >= threshold or k >= max_passes:
                    break
                k = _min(k * 2, max_passes)
        except _BaseException as e:
            _unfreeze()
            reply({"ok": False, "error_type": error_type_of(e), "error": exc_text(e)})
            return
        _unfreeze()
        t = el / k
        p = _ceil(min_ns / t) if t > 0 else max_passes
        p = _max(1, _min(p, max_passes))
        reply({"ok": True, "pass_seconds": t / 1e9, "passes": p, "sized_passes": k})

    def cmd_trial(msg):
        if not need_loaded():
            return
        passes = msg.get("passes")
        if _type(passes) is not _int or passes < 1:
            reply({"ok": False, "error_type": "internal", "error": "passes must be >= 1"})
            return
        plan = make_plan(fresh_calls())
        outs = None
        _collect()
        _freeze()
        write_raw(b'{"ready":true}\n')
        go = read_line()
        if go != b"go":
            _unfreeze()
            if go is None:
                flush_candidate_output()
                _exit(0)
            reply({"done": False, "error_type": "internal", "error": "expected go"})
            return
        # --- the energy window: only the calls ---
        t0 = _perf()
        try:
            outs = run_passes(plan, passes)
            t1 = _perf()
            write_raw(b'{"done":true,"elapsed_ns":%d}\n' % (t1 - t0))
        except _BaseException as e:
            _unfreeze()
            reply({"done": False, "error_type": error_type_of(e), "error": exc_text(e)})
            return
        # --- window closed ---
        _unfreeze()
        flush_candidate_output()
        cases = st["cases"]
        budget = _max(1024, (max_msg - 65536) // 22)
        mism, failed = [], 0
        for (tid, itext, expected), out in _zip(cases, outs):
            good, actual = to_json(out)
            if good and equal(actual, expected):
                continue
            failed += 1
            if _len(mism) < 10:
                mism.append({"test_id": tid, "expected": shown(expected, budget),
                             "actual": shown(actual, budget)})
        outs = None
        reply({"checked": True, "ok": failed == 0, "failed": failed, "mismatches": mism})

    commands = {"load": cmd_load, "validate": cmd_validate, "size": cmd_size,
                "trial": cmd_trial}

    while True:
        line = read_line()
        if line is None:
            flush_candidate_output()
            _exit(0)
        try:
            msg = _loads(line.decode("utf-8"))
            cmd = msg.get("cmd") if _type(msg) is _dict else None
        except _BaseException as e:
            reply({"ok": False, "error_type": "internal", "error": "bad command: " + exc_text(e)})
            continue
        if cmd == "exit":
            flush_candidate_output()
            _exit(0)
        handler = commands.get(cmd)
        if handler is None:
            reply({"ok": False, "error_type": "internal", "error": "unknown command %r" % (cmd,)})
            continue
        try:
            handler(msg)
        except _BaseException as e:
            reply({"ok": False, "error_type": error_type_of(e),
                   "error": "harness: " + exc_text(e)})
        flush_candidate_output()


if __name__ == "__main__":
    # The script's directory must not shadow or extend the candidate's imports.
    if sys.path and sys.path[0]:
        del sys.path[0]
    sys.setrecursionlimit(10000)
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)
    _main(sys.argv)
