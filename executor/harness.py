"""harness.py - the candidate process: runs one candidate Python function.

Started by executor.c as `python -S -s -B harness.py --max-message-bytes N`
with commands arriving on fd 3 and replies leaving on fd 4, one JSON object
per line.  fds 0/1/2 stay the candidate's (stdin /dev/null, captured stdout
and stderr), so nothing the candidate prints can reach the protocol.

This process runs candidate code and is therefore NOT trusted (issue 7,
docs/SECURITY.md): it never receives expected outputs, it returns the
candidate's outputs as JSON values and the worker compares them, it is never
asked for verdicts, pass counts or timings that the worker believes, and the
worker checks what it says against the kernel and the meter.

Commands (-> worker to harness, <- replies):
  load   -> {"cmd":"load","code","function_name","inputs":[...]}
         <- {"ok":true,"n":N} | {"ok":false,"error_type","error"}
  call   -> {"cmd":"call"}        every input once, from fresh arguments (the gate)
         <- N lines {"i","out":OUT,"seconds","mutated_inputs"}, then {"ok":true}
  run    -> {"cmd":"run","passes":P,"keep":[j,...]}   <- {"ready":true}
         -> "go"                  <- {"done":true,"kept":len(keep)*N,"ns"}
                                | {"done":false,"error_type","error"}
         keep: the passes (ascending, < P) whose outputs are kept for checking,
         drawn at random by the worker for every window; all other outputs
         are dropped as they come, as a caller that ignores them would.
  show   -> {"cmd":"show"}        (after a run; then it forgets them)
         <- one line {"j","i","out":OUT} per kept pass j and input i, then
            {"ok":true}
  exit   -> {"cmd":"exit"}                  (exit status 0, no reply)
  OUT = {"value":V} | {"not_json":TEXT} | {"too_large":BYTES}
        | {"error":TEXT,"error_type":T}                 (call only)
Any command may instead get {"ok":false,"error_type","error"}.

Design notes (why, not what):
* Everything the harness needs is bound to local names inside _main() before
  candidate code runs, so a candidate that rebinds builtins, json or os
  attributes cannot change what the harness calls by accident.  This is no
  defence against deliberate tampering: the candidate shares the interpreter,
  so the worker trusts nothing this process says (see above).
* Inputs are decoded afresh from their JSON text for every command, so the
  gate and each window start from pristine arguments; within one window the
  same argument objects are reused (no copying inside the window).  The gate
  reports when a call mutated its inputs, because later passes then see
  different inputs.
* The passes of a window run in C-level loops (itertools.starmap over the
  repeated argument tuples, drained by a zero-length deque, or collected by
  list() for a kept pass): no Python bytecode of the harness runs between two
  calls, which keeps the window's non-call time below that of a Python loop.
  Keyword inputs need a Python loop (starmap has no keyword form).
* Why only a few passes are kept (bench/loop_overhead.py): keeping every
  output of every pass would put the kept objects' memory and garbage
  collection inside the window, up to 5x the cost of a fast function that
  returns fresh lists.  A call cannot tell from its arguments or from counting
  calls whether it is in a kept pass; code that inspects this process can
  (docs/SECURITY.md says what that buys it).
* GC: before "ready" the harness runs gc.collect() and gc.freeze().  Freezing
  moves every object alive at that point (inputs, the candidate's module,
  harness state) out of the collector's reach, so collections inside the
  window scan only what the window allocates, and garbage from an earlier
  window is not collected inside this one.  The collector stays enabled: the
  candidate's real GC cost is part of its energy.  Nothing is unfrozen: the
  next window's gc.collect() then scans only what was made since (sizing runs
  a dozen windows; a full collection each would add up), and what is frozen
  and later dropped is still freed by its reference count.
* Outputs are converted to JSON values only after the window, and only for
  the passes the worker asks for: tuple -> list, dict keys as json.dumps would
  write them, int/float/str subclasses to the base type, objects with tolist()
  (numpy values) through it.  An int outside the signed 64-bit range becomes a
  float (jansson's integers are 64-bit), so it is compared with the float
  tolerance.
* Every reply line is kept under --max-message-bytes: an output whose JSON is
  longer is reported as {"too_large": bytes}, which the worker counts as a
  wrong answer; one line per output keeps the limit per output, not per reply.
"""

import sys


def _main(argv):
    import builtins
    import collections
    import gc
    import itertools
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
    _isfinite = math.isfinite
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

    _collect, _freeze = gc.collect, gc.freeze
    _type, _len, _range, _repr, _str = type, len, range, repr, str
    _int, _float, _bool, _list, _tuple, _dict = int, float, bool, list, tuple, dict
    _isinstance, _getattr, _callable = isinstance, getattr, callable
    _compile, _exec = compile, exec
    _BaseException, _MemoryError = BaseException, MemoryError
    _SyntaxError, _RecursionError = SyntaxError, RecursionError
    _stdout, _stderr = sys.stdout, sys.stderr
    _bytes, _bytearray, _zip, _memoryview = bytes, bytearray, zip, memoryview
    _enumerate = enumerate
    _starmap, _repeat = itertools.starmap, itertools.repeat
    _drain, _set = collections.deque, set
    _chain = itertools.chain.from_iterable
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

    # --- candidate state --------------------------------------------------
    st = {"fn": None, "inputs": None, "kept": None}   # inputs: [json text]

    def unpack(inputs):
        if _type(inputs) is _list:
            return _tuple(inputs), None
        if _type(inputs) is _dict:
            return (), inputs
        return (inputs,), None

    def fresh_calls():
        return [unpack(_loads(t)) for t in st["inputs"]]

    def out_record(x):
        """The JSON text of one output's record (OUT in the docstring),
        serialized once: it may be most of a message."""
        good, v = to_json(x)
        if not good:
            return _dumps({"not_json": v})
        try:
            text = _dumps(bounded(v))
        except _MemoryError:
            raise
        except _BaseException as e:
            return _dumps({"not_json": exc_text(e)})
        if _len(text) > max_msg - 256:
            return _dumps({"too_large": _len(text)})
        return '{"value":' + text + "}"

    def reply_out(head, out):
        """A reply line {head..., "out": OUT} with OUT already serialized."""
        write_raw((_dumps(head)[:-1] + ',"out":' + out + "}\n").encode("ascii"))

    def bounded(v):
        """v with ints outside int64 as floats (or text when even a float
        cannot hold them): jansson's integers are 64-bit."""
        t = _type(v)
        if t is _int and not (-INT64 <= v < INT64):
            try:
                return _float(v)
            except _OverflowError:
                return "<int of %d bits>" % v.bit_length()
        if t is _list:
            return [bounded(y) for y in v]
        if t is _dict:
            return {k: bounded(y) for k, y in v.items()}
        return v

    def window(calls, passes, keep):
        """passes passes over calls; returns the outputs of the kept passes
        (keep: ascending pass numbers), pass-major.  Sizing, warm-ups and
        trials all come through here: one code path."""
        fn = st["fn"]
        kept = []
        for a, k in calls:
            if k is not None:
                break
        else:
            args = [a for a, k in calls]
            done = 0
            for j in keep:
                _drain(_starmap(fn, _chain(_repeat(args, j - done))), 0)
                kept.extend(_starmap(fn, args))
                done = j + 1
            _drain(_starmap(fn, _chain(_repeat(args, passes - done))), 0)
            return kept
        ap = kept.append
        ks = _set(keep)
        for p in _range(passes):
            if p in ks:
                for a, k in calls:
                    ap(fn(*a) if k is None else fn(*a, **k))
            else:
                for a, k in calls:
                    fn(*a) if k is None else fn(*a, **k)
        return kept

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
        inputs = msg.get("inputs")
        if _type(code) is not _str or _type(name) is not _str or _type(inputs) is not _list:
            reply({"ok": False, "error_type": "internal",
                   "error": "load needs code, function_name and inputs"})
            return
        texts = [_dumps(x) for x in inputs]
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
        st["fn"], st["inputs"] = fn, texts
        reply({"ok": True, "n": _len(texts)})

    def cmd_call(msg):
        if not need_loaded():
            return
        fn = st["fn"]
        for i, ((a, k), itext) in _enumerate(_zip(fresh_calls(), st["inputs"])):
            out = None
            t0 = _perf()
            try:
                res = fn(*a, **k) if k is not None else fn(*a)
                t1 = _perf()
                out = out_record(res)
                res = None
            except _BaseException as e:
                t1 = _perf()
                out = _dumps({"error": exc_text(e), "error_type": error_type_of(e)})
            orig = _loads(itext)
            sent = _list(a) if _type(orig) is _list else k if _type(orig) is _dict else a[0]
            good, now = to_json(sent)
            mutated = not (good and _dumps(bounded(now)) == _dumps(bounded(orig)))
            reply_out({"i": i, "seconds": (t1 - t0) / 1e9, "mutated_inputs": mutated}, out)
            flush_candidate_output()
        reply({"ok": True})

    def cmd_run(msg):
        if not need_loaded():
            return
        passes, keep = msg.get("passes"), msg.get("keep")
        if _type(passes) is not _int or passes < 1 or _type(keep) is not _list or not keep:
            reply({"ok": False, "error_type": "internal",
                   "error": "run needs passes >= 1 and a list of passes to keep"})
            return
        prev = -1
        for j in keep:
            if _type(j) is not _int or j <= prev or j >= passes:
                reply({"ok": False, "error_type": "internal",
                       "error": "keep must ascend within 0..passes-1"})
                return
            prev = j
        st["kept"] = None
        calls = fresh_calls()
        _collect()
        _freeze()
        write_raw(b'{"ready":true}\n')
        go = read_line()
        if go != b"go":
            if go is None:
                flush_candidate_output()
                _exit(0)
            reply({"done": False, "error_type": "internal", "error": "expected go"})
            return
        # --- the energy window: only the calls ---
        try:
            t0 = _perf()
            kept = window(calls, passes, keep)
            t1 = _perf()
            write_raw(b'{"done":true,"kept":%d,"ns":%d}\n' % (_len(kept), t1 - t0))
        except _BaseException as e:
            reply({"done": False, "error_type": error_type_of(e), "error": exc_text(e)})
            return
        # --- window closed ---
        st["kept"] = (keep, kept)
        kept = calls = None
        flush_candidate_output()

    def cmd_show(msg):
        kept = st["kept"]
        st["kept"] = None
        n = _len(st["inputs"] or ())
        if kept is None or n == 0:
            reply({"ok": False, "error_type": "internal", "error": "nothing to show"})
            return
        keep, outs = kept
        kept = None
        for x, j in _enumerate(keep):
            for i in _range(n):
                reply_out({"j": j, "i": i}, out_record(outs[x * n + i]))
        outs = None
        reply({"ok": True})

    commands = {"load": cmd_load, "call": cmd_call, "run": cmd_run, "show": cmd_show}

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
