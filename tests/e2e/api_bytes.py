#!/usr/bin/env python3
"""The API's bytes for a fixed script of requests, from a real server.

Starts Redis and jouletrace-server (no worker) from a build directory, with a
fixed signing key, and sends requests whose answers do not depend on the
host: every validation and HTTP error, the keys, a queued task and its
record, a cancel, and the verification of the golden seal
(tests/golden/expected.txt, signed with the same key).  Each answer is printed
as status, the headers a client relies on, and the body, with what is random
by design (task and request ids, times) replaced by placeholders.

    api_bytes.py [--build DIR] [--check FILE | --out FILE]

tests/golden/api_expected.txt was printed by the server of the tree before the
layering (issue 9, commit d12acd8) and by this tree: they are the same.
scripts/test.sh checks the current build against it (--check).
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

CODE = "def solve(n):\n    return n * 2\n"
GOOD = {"candidate_code": CODE, "function_name": "solve", "language": "python",
        "test_cases": [{"test_id": "t1", "inputs": [3], "expected_output": 6}],
        "candidate_id": "golden"}


def bad(**change):
    body = json.loads(json.dumps(GOOD))
    for k, v in change.items():
        if v is None:
            body.pop(k, None)
        else:
            body[k] = v
    return body


def script(golden_seal):
    """(name, method, path, body-or-raw, headers)."""
    m = "/api/v1/measure"
    return [
        ("ping", "GET", "/ping", None, None),
        ("keys", "GET", "/api/v1/keys", None, None),
        ("unknown path", "GET", "/api/v1/nothing", None, None),
        ("wrong method", "PUT", m, b"{}", None),
        ("delete on measure", "DELETE", m, None, None),
        ("not json", "POST", m, b"{not json", None),
        ("json array", "POST", m, b"[1, 2]", None),
        ("empty body", "POST", m, b"", None),
        ("duplicate member", "POST", m, b'{"language": "python", "language": "c"}', None),
        # headers only: the server answers on the Content-Length (run_e2e's test_413)
        ("too large", "POST", m, ("content-length", (1 << 20) + 1), None),
        ("no code", "POST", m, bad(candidate_code=None), None),
        ("code not a string", "POST", m, bad(candidate_code=5), None),
        ("no function", "POST", m, bad(function_name=None), None),
        ("bad function name", "POST", m, bad(function_name="not a name"), None),
        ("language", "POST", m, bad(language="cobol"), None),
        ("no tests", "POST", m, bad(test_cases=[]), None),
        ("tests not a list", "POST", m, bad(test_cases={"a": 1}), None),
        ("test without output", "POST", m,
         bad(test_cases=[{"test_id": "t1", "inputs": [1]}]), None),
        ("trials zero", "POST", m, bad(energy_measurement_trials=0), None),
        ("trials too many", "POST", m, bad(energy_measurement_trials=51), None),
        ("timeout negative", "POST", m, bad(timeout_seconds=-1), None),
        ("memory huge", "POST", m, bad(memory_limit_mb=10 ** 9), None),
        ("cpu_core absurd", "POST", m, bad(cpu_core=4096), None),
        ("task unknown", "GET", "/api/v1/tasks/00000000-0000-4000-8000-000000000000", None, None),
        ("task bad id", "GET", "/api/v1/tasks/..%2f..%2fetc", None, None),
        ("seals, none yet", "GET", "/api/v1/seals", None, None),
        ("cancel unknown", "DELETE", "/api/v1/tasks/00000000-0000-4000-8000-000000000000",
         None, None),
        ("seal verify golden", "POST", "/api/v1/seals/verify", golden_seal, None),
        ("seal verify tampered", "POST", "/api/v1/seals/verify",
         golden_seal.replace(b'"passes":29983', b'"passes":29984', 1), None),
        ("seal verify not json", "POST", "/api/v1/seals/verify", b"{", None),
        ("queue a task", "POST", m, GOOD, {"X-Request-Id": "golden-request-1"}),
        ("that task", "GET", "/api/v1/tasks/{task}", None, None),
        ("cancel it", "DELETE", "/api/v1/tasks/{task}", None, None),
        ("cancelled task", "GET", "/api/v1/tasks/{task}", None, None),
        ("cancel it again", "DELETE", "/api/v1/tasks/{task}", None, None),
    ]


UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIME = re.compile(rb'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"')
NUM_FIELDS = re.compile(rb'"(elapsed_seconds|created_at_ns|queue_position|'
                        rb'estimated_completion_seconds|timestamp|updated_at)":[0-9.e+-]+')
KEEP_HEADERS = ("Content-Type", "Allow", "Retry-After", "WWW-Authenticate", "Location")


CPUS = re.compile(rb"measurement CPUs \([0-9,-]+\)")


def normalize(body, task, tmp):
    body = CPUS.sub(b"measurement CPUs (<cpus>)", body.replace(tmp.encode(), b"<tmp>"))
    if task:
        body = body.replace(task.encode(), b"<task>")
    body = UUID.sub(b"<uuid>", body)
    body = TIME.sub(b'"<time>"', body)
    return NUM_FIELDS.sub(lambda m: b'"' + m.group(1) + b'":<n>', body)


class Raw:
    def __init__(self, data):
        head, _, self.raw = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = dict(l.split(": ", 1) for l in lines[1:] if ": " in l)
        self.json = None


def headers_only(port, method, path, length):
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.sendall(b"%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n"
              % (method.encode(), path.encode(), length))
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return Raw(data)


def run(stack, golden_seal):
    out, task = [], None
    for name, method, path, body, headers in script(golden_seal):
        path = path.replace("{task}", task or "none")
        raw = body if isinstance(body, bytes) else None
        if isinstance(body, tuple):
            r = headers_only(stack.port, method, path, body[1])
        else:
            r = stack.request(method, path, None if raw is not None else body, headers=headers,
                              raw=raw)
        if name == "queue a task" and r.json:
            task = r.json.get("task_id")
        hdrs = " ".join("%s: %s" % (h, r.headers[h]) for h in KEEP_HEADERS if h in r.headers)
        out.append("## %s: %s %s\n%d %s\n%s\n" % (
            name, method, path.replace(task or "\0", "<task>"), r.status,
            normalize(hdrs.encode(), task, stack.tmp).decode(),
            normalize(r.raw, task, stack.tmp).decode(errors="replace")))
    return "".join(out)


def shape(v):
    """Member names in order and value types; an array by its first element."""
    if isinstance(v, dict):
        return "{" + ",".join("%s:%s" % (k, shape(x)) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + (shape(v[0]) if v else "") + "]"
    return {bool: "b", int: "n", float: "n", str: "s", type(None): "null"}[type(v)]


def completed(stack):
    """A real measurement's record and seal, by shape: figures vary, names must not."""
    r = stack.post("/api/v1/measure", dict(GOOD, energy_measurement_trials=3))
    task = r.json["task_id"]
    rec = stack.wait_task(task)
    rec.pop("_stages", None)
    return "## completed task record (shape)\n%s\n" % shape(rec)


def live_record(stack):
    """The live worker's heartbeat record, or one like it for older workers."""
    cli = ["redis-cli", "-p", str(stack.redis_port)]
    ids = subprocess.run(cli + ["SMEMBERS", "jt:workers"], capture_output=True,
                         text=True).stdout.split()
    for wid in ids:
        text = subprocess.run(cli + ["GET", "jt:hb:" + wid], capture_output=True,
                              text=True).stdout.strip()
        if text.startswith("{"):
            rec = json.loads(text)
            rec["worker_id"] = "golden-worker"
            return rec
    raise AssertionError("no live worker record")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--out")
    ap.add_argument("--check")
    ap.add_argument("--completed", action="store_true",
                    help="also run one real measurement and print its record's shape")
    a = ap.parse_args()
    os.environ["JT_BUILDDIR"] = os.path.abspath(a.build)
    sys.path.insert(0, HERE)
    import stack as st
    with open(os.path.join(REPO, "tests", "golden", "expected.txt"), "rb") as f:
        golden_seal = f.read().split(b"\n")[5]
    s = st.Stack("model")
    try:
        os.makedirs(os.path.join(s.tmp, "keys"), mode=0o700)
        key = os.path.join(s.tmp, "keys", "seal.key")
        with open(key, "wb") as f:   # golden_print.c's seed
            f.write(bytes((i * 7 + 1) & 0xFF for i in range(32)))
        os.chmod(key, 0o600)
        s.start_redis()
        s.config = s.write_config()
        s.calibrate(duration=2, within=0)
        s._spawn("server", [os.path.join(st.BUILD, "jouletrace-server"), "--config", s.config])
        st.wait_for(lambda: s.get("/ping").status == 200, 15, "server")
        # the worker publishes the key; stopped before any task is queued
        s._spawn("worker", [os.path.join(st.BUILD, "jouletrace-worker"), "--config", s.config])
        st.wait_for(lambda: s.get("/api/v1/keys").json, 15, "the key published")
        record = live_record(s)
        s.stop_proc("worker")
        st.wait_for(lambda: s.get("/api/v1/health").json["workers_live"] == 0, 15,
                    "the worker gone")
        # Since issue 11 the server admits a measure request from a live
        # worker's record: the stopped worker's record is put back (alive for
        # a while), so a queued task stays queued.  Servers before issue 11
        # ignore it.
        cli = ["redis-cli", "-p", str(s.redis_port)]
        wid = "golden-worker"
        subprocess.run(cli + ["SET", "jt:hb:" + wid, json.dumps(record), "PX", "600000"],
                       check=True, capture_output=True)
        subprocess.run(cli + ["SADD", "jt:workers", wid], check=True, capture_output=True)
        text = run(s, golden_seal)
        if a.completed:
            s.start_worker()
            text += completed(s)
    finally:
        s.close()
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    if a.check:
        with open(a.check) as f:
            want = f.read()
        if want != text:
            import difflib
            sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                                       a.check, "this server"))
            return 1
        print("api_bytes: %d answers as in %s" % (text.count("## "), a.check))
    elif not a.out:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
