#!/usr/bin/python3
"""Issue 11, point 11: the real server and worker on Redis Sentinel, and the
master killed (SIGKILL) in the middle of a stream of measure jobs.

Real parts only, on loopback: a master, a replica (--replicaof), three
sentinels (redis-server --sentinel, quorum 2, down-after 1 s), the worker and
the server from build/ with redis_sentinels set and redis_min_replicas = 1.
No Redis keeps a file: what survives the kill is what the replica had.

The client submits JOBS small measure jobs, each with its own
Idempotency-Key, and retries one on 503 or a broken connection (as the 503's
message tells it to) until it gets 202 or RETRY_FOR seconds pass.  After
KILL_AFTER acknowledged jobs the master is killed; once the sentinels name
the replica as the new master, the old master is started again (empty, as
a supervisor would) and the sentinels turn it into a replica, so WAIT can
succeed again.  Then every task is accounted for: completed, failed (and
why), lost (404) or still pending, both the acknowledged ones and those a
503 named but never confirmed.

In the printed answers, 503 is "Redis unreachable, nothing was queued" and
503q "queued on the master, not confirmed on a replica".

Asserted: no acknowledged task is lost and every acknowledged task ends
(completed or failed) within the bound; the server and worker were never
restarted.  Run it under the measurement lock:

    flock /tmp/jt-measure.lock /usr/bin/python3 tests/e2e/e2e_sentinel.py
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import Stack, free_port, wait_for  # noqa: E402

JOBS = 24
KILL_AFTER = 8          # acknowledged jobs before the kill
SUBMIT_GAP = 0.3        # seconds between two submissions
RETRY_FOR = 60          # how long a client keeps retrying one job
END_BOUND = 150         # every acknowledged task ends within this, after the stream
MASTER = "jtmaster"
CODE = "def solve(n):\n    return sum(range(n))\n"
CASES = [{"test_id": "t1", "inputs": [200], "expected_output": 19900}]


def body(i):
    return {"candidate_code": CODE, "function_name": "solve", "test_cases": CASES,
            "energy_measurement_trials": 2, "min_trials": 2, "warmup_trials": 0,
            "min_trial_seconds": 0.1, "timeout_seconds": 30, "candidate_id": "sentinel-%d" % i}


def cli(port, *args, timeout=2):
    """redis-cli's answer lines, or None when the server does not answer."""
    try:
        r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port)] + list(args),
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if r.returncode != 0 or r.stdout.startswith("Could not connect"):
        return None
    return r.stdout.split("\n")[:-1]


class SentinelStack(Stack):
    """Stack whose Redis is a master, a replica and three sentinels."""

    def start_redis(self):
        self.master_port = self.redis_port
        self.replica_port = free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self._redis("master", self.master_port)
        self._redis("replica", self.replica_port, "--replicaof", "127.0.0.1", str(self.master_port))
        for i, port in enumerate(self.sentinel_ports):
            d = os.path.join(self.tmp, "sentinel%d" % i)
            os.makedirs(d, exist_ok=True)
            conf = os.path.join(d, "sentinel.conf")
            with open(conf, "w") as f:
                f.write("port %d\nbind 127.0.0.1\ndir %s\n"
                        "sentinel monitor %s 127.0.0.1 %d 2\n"
                        "sentinel down-after-milliseconds %s 1000\n"
                        "sentinel failover-timeout %s 5000\n"
                        % (port, d, MASTER, self.master_port, MASTER, MASTER))
            self._spawn("sentinel%d" % i, ["redis-server", conf, "--sentinel"])
        wait_for(self.redis_ready, 30, "replica in sync and sentinels that see each other", 0.2)
        self.extra.update({
            "redis_sentinels": ",".join("127.0.0.1:%d" % p for p in self.sentinel_ports),
            "redis_master_name": MASTER,
            "redis_min_replicas": "1",
            "redis_wait_timeout_ms": "1000",
        })

    def _redis(self, name, port, *more):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        # repl-diskless-sync-delay 0: a returning replica syncs at once (the
        # default waits 5 s for more replicas), so WAIT succeeds again sooner
        self._spawn(name, ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", d,
                           "--appendonly", "no", "--save", "", "--daemonize", "no",
                           "--repl-diskless-sync-delay", "0"] + list(more))
        wait_for(lambda: cli(port, "PING") == ["PONG"], 10, name)

    def calibrate(self, duration=3, within=15):
        # a profile forced on a busy machine still measures (stack.py says why)
        super().calibrate(duration, within)

    def redis_ready(self):
        role = cli(self.replica_port, "ROLE")
        if not role or role[0] != "slave" or role[3] != "connected":
            return False
        for port in self.sentinel_ports:
            m = cli(port, "SENTINEL", "MASTER", MASTER) or []
            info = dict(zip(m[::2], m[1::2]))
            if info.get("num-slaves") != "1" or info.get("num-other-sentinels") != "2":
                return False
        return True

    def named_master(self):
        """The master port each sentinel names now (None: no answer)."""
        out = []
        for port in self.sentinel_ports:
            a = cli(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
            out.append(int(a[1]) if a and len(a) == 2 else None)
        return out


class Client:
    """Submits the stream; one record per job."""

    def __init__(self, S):
        self.S = S
        self.jobs = []
        self.lock = threading.Lock()
        self.acked = threading.Event()

    def submit(self, i):
        key = "sentinel-%s-%d" % (uuid.uuid4().hex[:8], i)
        job = {"i": i, "key": key, "t_submit": time.monotonic(), "ack": None,
               "unconfirmed": [], "answers": []}
        end = time.monotonic() + RETRY_FOR
        while time.monotonic() < end:
            try:
                r = self.S.post("/api/v1/measure", body(i), headers={"Idempotency-Key": key},
                                timeout=10)
                status, msg = r.status, (r.json or {}).get("message", "")
            except OSError as e:
                status, msg = "conn", str(e)
            job["answers"].append(status)
            if status == 202:
                job["ack"] = r.json["task_id"]
                job["t_ack"] = time.monotonic()
                job["replay"] = r.json["idempotent_replay"]
                break
            m = re.match(r"task (\S+) is queued on the Redis master", msg)
            if m:   # 503q: queued on the master, not confirmed on a replica
                job["answers"][-1] = "503q"
                if m.group(1) not in job["unconfirmed"]:
                    job["unconfirmed"].append(m.group(1))
            time.sleep(0.5)
        with self.lock:
            self.jobs.append(job)
            if sum(1 for j in self.jobs if j["ack"]) >= KILL_AFTER:
                self.acked.set()


def final_state(S, task_id):
    r = S.get("/api/v1/tasks/" + task_id)
    if r.status == 404:
        return "lost", None
    if r.status != 200:
        return "unreadable %s" % r.status, None
    return r.json["status"], r.json.get("error_type")


def run():
    S = SentinelStack("model")
    # this client and its redis-cli children stay off the measurement CPU
    os.sched_setaffinity(0, {S.infra_cpu})
    t0 = time.monotonic()
    S.start_or_explain()
    report = {"t0": t0, "t_stream": time.monotonic()}
    try:
        server_pid, worker_pid = S.procs["server"].pid, S.procs["worker"].pid
        client = Client(S)
        threads = []
        for i in range(JOBS):
            t = threading.Thread(target=client.submit, args=(i,))
            t.start()
            threads.append(t)
            time.sleep(SUBMIT_GAP)
            if i == 0:
                continue
            if client.acked.is_set() and "t_kill" not in report:
                report["t_kill"] = time.monotonic()
                report["at_kill"] = (S.get("/api/v1/health").json or {}).get("tasks", {})
                S.stop_proc("master", signal.SIGKILL)
                threading.Thread(target=failover_watch, args=(S, report)).start()
        for t in threads:
            t.join()
        assert "t_kill" in report, "the master was never killed: too few jobs acknowledged"
        # the sentinels turn a returning old master into a replica after
        # their INFO period and 4 hello periods (about 10 to 20 s), later on
        # a loaded machine
        wait_for(lambda: "t_rejoined" in report or "watch_error" in report, 100,
                 "the failover and the old master's return")
        assert "watch_error" not in report, report["watch_error"]
        rc = account(S, client, report, server_pid, worker_pid)
    except BaseException:
        S.close()
        raise
    S.close_checked()   # and no sanitizer report in any log
    return rc


def failover_watch(S, report):
    """Times the sentinels' switch, then starts the old master again (empty);
    what went wrong goes to report["watch_error"] for the main thread."""
    try:
        wait_for(lambda: S.named_master() == [S.replica_port] * 3, 30, "failover", 0.05)
        report["t_failover"] = time.monotonic()
        S._redis("master", S.master_port)
        report["t_restart"] = time.monotonic()
        wait_for(lambda: (cli(S.master_port, "ROLE") or [""])[0] == "slave", 60,
                 "old master turned into a replica", 0.1)
        report["t_rejoined"] = time.monotonic()
    except Exception as e:   # noqa: BLE001 (handed over, not swallowed)
        report["watch_error"] = "%s: %s" % (type(e).__name__, e)


def account(S, client, report, server_pid, worker_pid):
    jobs = sorted(client.jobs, key=lambda j: j["i"])
    acked = [j for j in jobs if j["ack"]]
    t_end = time.monotonic() + END_BOUND
    states = {}
    while True:
        for j in acked:
            if states.get(j["ack"], ("",))[0] not in ("completed", "failed", "lost"):
                states[j["ack"]] = final_state(S, j["ack"])
        if all(states[j["ack"]][0] in ("completed", "failed", "lost") for j in acked) \
                or time.monotonic() > t_end:
            break
        time.sleep(0.5)
    unconfirmed = {}
    for j in jobs:
        for tid in j["unconfirmed"]:
            unconfirmed[tid] = final_state(S, tid) + (tid == j["ack"],)
    k = report["t_kill"]
    print("sentinel e2e: stack up in %.0f s, stream and accounting %.0f s" % (
        report["t_stream"] - report["t0"], time.monotonic() - report["t_stream"]))
    print("sentinel e2e: %d jobs, master killed after %d acknowledgements (tasks then: %s)"
          % (JOBS, KILL_AFTER, json.dumps(report["at_kill"], sort_keys=True)))
    print("  sentinels named the replica %.2f s after the kill; old master restarted, a replica "
          "again %.2f s after the kill" % (report["t_failover"] - k, report["t_rejoined"] - k))
    for j in jobs:
        st = states.get(j["ack"]) if j["ack"] else None
        print("  job %2d: %-12s answers %s%s%s" % (
            j["i"], j["ack"][:12] if j["ack"] else "-", ",".join(str(a) for a in j["answers"]),
            " -> %s%s" % (st[0], " (%s)" % st[1] if st[1] else "") if st else " -> never acked",
            " (after kill)" if j["t_submit"] > k else ""))
    for tid, (st, err, same) in unconfirmed.items():
        print("  unconfirmed %s (503'd): %s%s%s" % (tid[:12], st, " (%s)" % err if err else "",
                                                    ", later acked as the same task" if same else ""))
    counts = {}
    for st, _ in states.values():
        counts[st] = counts.get(st, 0) + 1
    ucounts = {}
    for st, _, _ in unconfirmed.values():
        ucounts[st] = ucounts.get(st, 0) + 1
    print("  acknowledged %d/%d: %s; unconfirmed 503s naming a task: %d: %s" % (
        len(acked), JOBS, json.dumps(counts, sort_keys=True), len(unconfirmed),
        json.dumps(ucounts, sort_keys=True)))
    lost = [tid for tid, (st, _) in states.items() if st == "lost"]
    pending = [tid for tid, (st, _) in states.items() if st not in ("completed", "failed", "lost")]
    assert not lost, "acknowledged tasks lost: %s" % lost
    assert not pending, "acknowledged tasks not ended in %d s: %s" % (
        END_BOUND, [(t, states[t]) for t in pending])
    assert len(acked) == JOBS, "jobs never acknowledged within %d s of retries" % RETRY_FOR
    assert S.procs["server"].pid == server_pid and S.procs["server"].poll() is None
    assert S.procs["worker"].pid == worker_pid and S.procs["worker"].poll() is None
    for name in ("server", "worker"):
        text = S.log(name)
        print("  %s log: %d connections moved to the new master, %d WAITs short of a replica" % (
            name, text.count("redis: master '%s' is 127.0.0.1:%d" % (MASTER, S.replica_port)),
            text.count("replicas required")))
    return 0


if __name__ == "__main__":
    sys.exit(run())
