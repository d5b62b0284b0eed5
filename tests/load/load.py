#!/usr/bin/python3
"""Bounded loopback load over two measurement hosts (issue 11, points 9 and 10).

One real stack (tests/e2e/stack.py, model meter): Redis, a server, worker
host A (measures CPU 1) and worker host B (measures CPU 0, its own host_id
and profile) on the same Redis, and a second server with low limits.
Client threads (http.client keep-alive) submit --tasks operations: tasks
that fail the gate, invalid requests, tiny real measurements, tasks
cancelled while queued and while running, idempotent replays, while polling.
Afterwards it checks that every created task ended, the counters add up
(records, /api/v1/health, /metrics), nothing ran twice (worker logs,
attempts, the seal chain), both hosts measured, concurrently, each under its
own lock and named in its results, the queues drained, and the server's RSS
and descriptors stayed flat.  Exit 0 when every check passes.

usage: load.py [--tasks N | --ci] [--clients K] [--json FILE] [--seed S]
  --ci        600 operations (a CI step of scripts/test.sh, about 90 s)
  --tasks N   the full size is 3000 (about 4 minutes here)
  --json FILE the summary (outcomes, rates, latencies, RSS/fds, failures)
Wrap it in `flock /tmp/jt-measure.lock` (it measures on CPUs 0 and 1).
JT_BUILDDIR picks the binaries (a sanitizer build: leaks fail it at exit);
JT_E2E_KEEP=1 keeps the stack's directory and logs.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import BUILD, Stack, free_port, wait_for  # noqa: E402
from loadlib import Client, Redis, Sampler, percentile  # noqa: E402
import loadcheck  # noqa: E402

HOST_A, HOST_B = "load-a", "load-b"
CASES = [{"test_id": "a", "inputs": [3], "expected_output": 3},
         {"test_id": "b", "inputs": {"n": 5}, "expected_output": 5}]
IDENTITY = "def solve(n):\n    return n\n"
# busy for n seconds: long enough to be caught running (gate, then trials)
SPIN = ("import time\n"
        "def solve(n):\n"
        "    t = time.monotonic()\n"
        "    while time.monotonic() - t < n:\n"
        "        pass\n"
        "    return n\n")
# the operation mix, by weight (see plan())
MIX = [("gate_fail", 28), ("invalid", 16), ("measure", 12), ("cancel_queued", 28),
       ("cancel_running", 4), ("replay", 12)]
# The API allows 0.01 s, but windows that short are mostly their edges when
# the infra CPU is saturated: honest trials then disagree with the sizing run
# (tampering_suspected, counted apart in the summary)
MIN_TRIAL_SECONDS = 0.05
# stages of the trials proper: half the cancel_running tasks are cancelled
# only once there
TRIAL_STAGES = ("sizing", "warmup", "measuring")
LIMIT_RATE = 120          # per minute, the limits server's burst
LIMIT_QUEUE = 20          # the limits server's max_queue_depth


def body(kind, i):
    """The request of one operation (dict, or raw bytes for malformed JSON)."""
    b = {"candidate_code": IDENTITY, "function_name": "solve", "test_cases": CASES,
         "energy_measurement_trials": 1, "min_trials": 1, "warmup_trials": 0,
         "min_trial_seconds": MIN_TRIAL_SECONDS, "timeout_seconds": 10, "candidate_id": "load-" + kind,
         "problem_name": "p%d" % i}
    if kind in ("gate_fail", "replay", "cancel_queued"):
        b["test_cases"] = [dict(CASES[0], expected_output=4)] + CASES[1:]
    elif kind == "cancel_running":
        b.update(candidate_code=SPIN, min_trial_seconds=0.5, energy_measurement_trials=5,
                 min_trials=5, test_cases=[{"test_id": "s", "inputs": [0.3],
                                            "expected_output": 0.3}])
    elif kind == "invalid":
        v = i % 4
        if v == 0:
            return b"{\"candidate_code\": "       # 400, malformed
        if v == 1:
            b["bogus_field"] = 1
        elif v == 2:
            b["min_trial_seconds"] = 0
        else:
            b["test_cases"] = []
    return b


def plan(n, seed):
    kinds = [k for k, w in MIX for _ in range(w)]
    rng = random.Random(seed)
    return [rng.choice(kinds) for _ in range(n)]


class Load:
    def __init__(self, args):
        self.args = args
        self.S = Stack("model")
        self.lock = threading.Lock()
        self.created = {}        # task id -> kind
        self.ops = []            # per operation: dict(kind, status, ...)
        self.latency = []        # seconds per submission POST
        self.unexpected = []     # (what, detail)
        self.running_cancels = []  # ids to cancel once running
        self.delete_results = {}   # id -> (status code, task status when deleted)
        self.limits = {}
        self.limit_rate = LIMIT_RATE
        self.requests = 0          # by the client threads, while submitting
        self.sanitized = os.path.basename(BUILD).startswith("san-")
    # --- the stack ----------------------------------------------------------
    def start(self):
        S = self.S
        # the main server measures the server, not its limits: all clients
        # share one address, so the per-client queue limit is off too
        S.extra.update(host_id=HOST_A, rate_limit_per_minute="0", max_queue_depth="100000",
                       max_queued_per_client="0",
                       host_busy_retry_seconds="30", host_busy_backoff_seconds="1",
                       server_threads="8")
        say("starting the stack in", S.tmp)
        S.start_redis()
        S.config = S.write_config()
        S.calibrate(duration=2, within=10)
        say("host A calibrated")
        # Host B measures on CPU 0, which is also where the stack, the
        # clients and host A's worker threads run: on this 2-CPU machine its
        # trials always see foreign time.  It tolerates it (its figures are
        # not ones anyone compares) so that it finishes measurements.  Host
        # A keeps the default: its trials meet host B's worker threads on
        # CPU 1 now and then and go back to the queue (host_busy), a path
        # this test wants taken too.
        self.env_b = dict(os.environ, JT_HOST_ID=HOST_B, JT_MEASUREMENT_CPUS="0",
                          JT_INFRA_CPUS="1", JT_ATTRIBUTION_FOREIGN_MAX_PERCENT="90",
                          JT_CALIBRATION_FILE=os.path.join(S.tmp, "host-b.json"))
        r = subprocess.run([os.path.join(BUILD, "jouletrace-calibrate"), "--config", S.config,
                            "--duration", "2", "--force"], env=self.env_b,
                           capture_output=True, text=True, timeout=60)
        if r.returncode:
            raise AssertionError("host B calibration: " + r.stdout + r.stderr)
        say("host B calibrated")
        S.start_worker()
        S._spawn("worker_b", [os.path.join(BUILD, "jouletrace-worker"), "--config", S.config],
                 env=self.env_b)
        S.start_server()
        say("server up")
        wait_for(lambda: sorted(h["host_id"] for h in S.get("/api/v1/health").json["hosts"])
                 == [HOST_A, HOST_B], 20, "both hosts")
        self.limits_port = free_port()
        cfg = S.write_config("limits.conf", listen="127.0.0.1:%d" % self.limits_port,
                             rate_limit_per_minute=str(LIMIT_RATE),
                             max_queue_depth=str(LIMIT_QUEUE))
        S.start_server("limits", config=cfg, port=self.limits_port)
        self.redis = Redis(S.redis_port)

    # --- operations ---------------------------------------------------------
    def note(self, what, detail):
        with self.lock:
            if len(self.unexpected) < 50:
                self.unexpected.append((what, str(detail)[:300]))

    def submit(self, c, kind, i, headers=None):
        b = body(kind, i)
        raw = b if isinstance(b, bytes) else json.dumps(b).encode()
        t0 = time.perf_counter()
        st, j = c.request("POST", "/api/v1/measure", raw, headers)
        with self.lock:
            self.latency.append(time.perf_counter() - t0)
        return st, j

    def created_task(self, tid, kind):
        with self.lock:
            self.created[tid] = kind

    def run_op(self, c, i, kind, rng):
        op = {"kind": kind}
        if kind == "invalid":
            st, j = self.submit(c, kind, i)
            want = 400 if i % 4 == 0 else 422
            if st != want:
                self.note("invalid request answered %d, wanted %d" % (st, want), j)
            op["status"] = st
        elif kind == "replay":
            key = {"Idempotency-Key": "load-%d-%d" % (self.args.seed, i)}
            st, j = self.submit(c, kind, i, key)
            st2, j2 = self.submit(c, kind, i, key)
            if st != 202 or st2 != 202:
                self.note("replay answered %d/%d" % (st, st2), (j, j2))
            else:
                self.created_task(j["task_id"], kind)
                if j2["task_id"] != j["task_id"] or not j2.get("idempotent_replay") \
                        or j.get("idempotent_replay"):
                    self.note("replay made another task", (j, j2))
            op["status"] = st2
        else:
            st, j = self.submit(c, kind, i)
            op["status"] = st
            if st != 202:
                self.note("%s answered %d" % (kind, st), j)
                return op
            tid = j["task_id"]
            self.created_task(tid, kind)
            if kind == "cancel_queued":
                st, j = c.request("DELETE", "/api/v1/tasks/" + tid)
                with self.lock:
                    self.delete_results[tid] = (st, None)
                if st not in (200, 409):
                    self.note("DELETE answered %d" % st, j)
            elif kind == "cancel_running":
                with self.lock:
                    self.running_cancels.append(tid)
        # poll while submitting: a task already created, now and then an unknown one
        with self.lock:
            ids = list(self.created) if self.created and rng.random() < 0.9 else None
        if ids:
            tid = ids[rng.randrange(len(ids))]
            st, j = c.request("GET", "/api/v1/tasks/" + tid)
            if st != 200 or j.get("task_id") != tid:
                self.note("poll answered %d" % st, j)
        else:
            st, _ = c.request("GET", "/api/v1/tasks/00000000-0000-4000-8000-000000000000")
            if st != 404:
                self.note("unknown task answered %d" % st, "")
        return op

    def client_thread(self, k, work, pos):
        rng = random.Random(self.args.seed * 1000 + k)
        c = Client(self.S.port)
        try:
            while True:
                with self.lock:
                    i = pos[0]
                    pos[0] += 1
                if i >= len(work):
                    return
                try:
                    op = self.run_op(c, i, work[i], rng)
                except Exception as e:  # noqa: BLE001 - any transport error is a finding
                    self.note("client error", repr(e))
                    c.reset()
                    continue
                with self.lock:
                    self.ops.append(op)
        finally:
            with self.lock:
                self.requests += c.sent
            c.close()

    def canceller(self, stop):
        """Cancels the cancel_running tasks once a worker runs them."""
        c = Client(self.S.port)
        while True:
            with self.lock:
                pending = [t for t in self.running_cancels if t not in self.delete_results]
            if not pending and stop.is_set():
                break
            for tid in pending:
                st, j = c.request("GET", "/api/v1/tasks/" + tid)
                late = int(tid[:8], 16) % 2    # during the trials, not the gate
                if st == 200 and j["status"] == "running" and \
                        (not late or j["stage"] in TRIAL_STAGES):
                    dst, dj = c.request("DELETE", "/api/v1/tasks/" + tid)
                    with self.lock:
                        self.delete_results[tid] = (dst, j["stage"])
                elif st == 200 and j["status"] in ("completed", "failed", "cancelled"):
                    with self.lock:
                        self.delete_results[tid] = (None, j["status"])
            time.sleep(0.05)
        c.close()

    # --- limits on the second server ---------------------------------------
    def check_limits(self):
        """429s where expected: queue_full past max_queue_depth, rate_limited past
        the burst (each with Retry-After), on the limits server."""
        c = Client(self.limits_port)
        res = {"queue_full": 0, "queue_full_tries": 0, "rate_limited_after": None}
        for _ in range(5):
            if self.redis.cmd("LLEN", "jt:q:measure") < 2 * LIMIT_QUEUE:
                time.sleep(0.5)
                continue
            res["queue_full_tries"] += 1
            st, j, h = c.request("POST", "/api/v1/measure", json.dumps(body("gate_fail", 0)).encode(),
                                 want_headers=True)
            if st == 202:
                self.created_task(j["task_id"], "gate_fail")
            elif st == 429 and j["error"] == "queue_full" and h.get("retry-after"):
                res["queue_full"] += 1
                break
            else:
                self.note("limits server answered %d" % st, j)
        t0 = time.monotonic()
        for n in range(1, 3 * LIMIT_RATE):
            st, j, h = c.request("POST", "/api/v1/measure",
                                 json.dumps(body("invalid", 1)).encode(), want_headers=True)
            if st == 429:
                if j["error"] != "rate_limited" or not h.get("retry-after"):
                    self.note("429 without rate_limited/Retry-After", (j, h))
                res["rate_limited_after"] = n - 1
                break
            if st != 422:
                self.note("limits server answered %d" % st, j)
        res["rate_window_seconds"] = time.monotonic() - t0
        c.close()
        self.limits = res

    # --- the run ------------------------------------------------------------
    def run(self):
        work = plan(self.args.tasks, self.args.seed)
        pos = [0]
        pids = {"server": self.S.procs["server"].pid, "worker_a": self.S.procs["worker"].pid,
                "worker_b": self.S.procs["worker_b"].pid}
        sampler = Sampler(pids, self.redis, (HOST_A, HOST_B))
        sampler.start()
        stop = threading.Event()
        canc = threading.Thread(target=self.canceller, args=(stop,), daemon=True)
        canc.start()
        threads = [threading.Thread(target=self.client_thread, args=(k, work, pos))
                   for k in range(self.args.clients)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        wait_for(lambda: pos[0] >= len(work) // 2, 600, "half the operations")
        self.check_limits()
        for t in threads:
            t.join()
        self.submit_seconds = time.monotonic() - t0
        say("submitted in %.1f s; draining" % self.submit_seconds)
        stop.set()
        # every created task ends, within a bound proportional to what must run
        self.drain_bound = 60 + 1.5 * sum(1 for k in self.created.values()
                                          if k in ("gate_fail", "measure", "replay"))
        self.finals = self.drain(self.drain_bound)
        self.drain_seconds = time.monotonic() - t0 - self.submit_seconds
        canc.join(30)
        sampler.stop()
        self.samples = sampler
        self.metrics = {p: self.S.get("/metrics", port=p).raw.decode()
                        for p in (self.S.port, self.limits_port)}
        self.health = self.S.get("/api/v1/health").json

    def drain(self, bound):
        c = Client(self.S.port)
        finals, deadline = {}, time.monotonic() + bound
        while time.monotonic() < deadline:
            with self.lock:
                todo = [t for t in self.created if t not in finals]
            for tid in todo:
                st, j = c.request("GET", "/api/v1/tasks/" + tid)
                if st == 200 and j["status"] in ("completed", "failed", "cancelled"):
                    finals[tid] = j
            if len(finals) == len(self.created):
                break
            time.sleep(0.5)
        c.close()
        return finals


def say(*a):
    print("load: %s" % time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=3000, help="operations to send (default 3000)")
    ap.add_argument("--ci", action="store_true", help="the CI size: 600 operations")
    ap.add_argument("--clients", type=int, default=6, help="client threads (default 6)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--json", help="write the summary here as JSON")
    args = ap.parse_args()
    if args.ci:
        args.tasks = 600
    os.sched_setaffinity(0, {0})     # the infra CPU, like every part of the stack
    L = Load(args)
    try:
        try:
            L.start()
        except Exception:
            for name in ("worker", "worker_b", "server", "limits"):
                try:
                    print("---- %s log\n%s" % (name, L.S.log(name)[-3000:]))
                except OSError:
                    pass
            raise
        say("stack up; %d operations from %d clients" % (args.tasks, args.clients))
        L.run()
        say("ran; checking")
        logs = {HOST_A: L.S.log("worker"), HOST_B: L.S.log("worker_b")}
        summary, failures = loadcheck.check(L, logs, (HOST_A, HOST_B), percentile)
    finally:
        say("stopping the stack")
        # the clients' side first: a worker or server whose Redis is gone
        # spends its stop time retrying
        for name in ("limits", "server", "worker_b", "worker"):
            t = time.monotonic()
            L.S.stop_proc(name)
            say("stopped %s in %.1f s" % (name, time.monotonic() - t))
        if os.environ.get("JT_E2E_KEEP") is None:
            L.S.close_checked()
        else:
            L.S.close()
    print(json.dumps(summary, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    for f in failures:
        print("FAIL:", f)
    print("load: %d checks failed" % len(failures) if failures else "load: all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
