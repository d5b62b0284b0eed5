"""What the load run must show afterwards (load.py calls check()).

Tolerances, stated once: RSS may grow by at most max(RSS_SLACK_KIB, 10 %)
from the first half's peak to the second half's; the median of open
descriptors by at most FD_SLACK."""
import collections
import datetime
import json
import re
import statistics
import time

FINAL = ("completed", "failed", "cancelled")
RSS_SLACK_KIB = 2048
RSS_SLACK_RATIO = 0.10
FD_SLACK = 2
DRAIN_TAIL_SECONDS = 30  # see Check.drained
MAX_FALSE_TAMPER = 0.25   # share of honest measurements that may end tampering_suspected


def ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() if "." in s \
        else datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").timestamp()


def metric(text, name, labels=""):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + labels + " ") or (not labels and line.startswith(name + "{")):
            total += float(line.rsplit(" ", 1)[1])
    return total


def halves(rows, name):
    """Peak RSS KiB and median open descriptors of process name in the first
    and second half of rows.  Descriptors by the median: a job in flight at a
    sample holds a few (its candidate's pipes), so peaks are luck; a leak
    moves the median."""
    if len(rows) < 4:
        return None
    mid = rows[0][0] + (rows[-1][0] - rows[0][0]) / 2
    a = [r[1][name] for r in rows if r[0] < mid]
    b = [r[1][name] for r in rows if r[0] >= mid]
    return {"rss_kib": [max(x[0] for x in a), max(x[0] for x in b)],
            "fds": [statistics.median_low([x[1] for x in a]),
                    statistics.median_low([x[1] for x in b])], "samples": len(rows)}


def flat(h, rss=True):
    """rss=False under a sanitizer: its quarantine holds freed memory (up to
    256 MiB), so RSS says nothing there; LeakSanitizer's report at exit does."""
    (r1, r2), (f1, f2) = h["rss_kib"], h["fds"]
    return (not rss or r2 - r1 <= max(RSS_SLACK_KIB, RSS_SLACK_RATIO * r1)) and f2 - f1 <= FD_SLACK


def expected_outcome(kind, final, deleted):
    """None when the final record fits how the task was treated, else why not."""
    st, et = final["status"], final.get("error_type")
    if kind in ("gate_fail", "replay"):
        ok = st == "failed" and et in ("validation_failed", "host_busy")
    elif kind == "measure":
        # tampering_suspected: a false positive of short windows on a saturated
        # machine (load.py, MIN_TRIAL_SECONDS), counted and bounded in check()
        ok = st == "completed" or (st == "failed" and et in ("host_busy", "tampering_suspected"))
    elif kind == "cancel_queued":
        code = deleted[0] if deleted else None
        ok = st == "cancelled" if code == 200 else (code == 409 and st in ("completed", "failed"))
    else:   # cancel_running
        code = deleted[0] if deleted else None
        ok = st == "cancelled" if code == 200 else st in ("completed", "failed")
    return None if ok else "%s ended %s/%s (DELETE %s): %s" % (kind, st, et, deleted,
                                                               final.get("error_message"))


def runs_in_logs(logs):
    """Per task id: starts and returns to the queue (host_busy), over every worker log."""
    starts, backs = collections.Counter(), collections.Counter()
    for text in logs.values():
        for m in re.finditer(r"task ([0-9a-f-]{36}) (started|back in the queue)", text):
            (starts if m.group(2) == "started" else backs)[m.group(1)] += 1
    return starts, backs


class Check:
    """The checks of one run, section by section; fails collects what failed."""

    def __init__(self, L, logs, hosts):
        self.L, self.logs, self.hosts, self.R = L, logs, hosts, L.redis
        self.fails = []
        self.s = {}     # the summary's sections

    def fail(self, msg):
        self.fails.append(msg)

    def outcomes(self):
        """Every 202'd task reached a final state, as its treatment says."""
        L = self.L
        for what, detail in L.unexpected:
            self.fail("unexpected answer: %s: %s" % (what, detail))
        missing = [t for t in L.created if t not in L.finals]
        if missing:
            self.fail("%d task(s) never ended within %.0f s, e.g. %s" % (
                len(missing), L.drain_bound, missing[:3]))
        by_kind = collections.defaultdict(collections.Counter)
        bad = 0
        for tid, kind in L.created.items():
            f = L.finals.get(tid)
            if f:
                by_kind[kind][f["status"] + ("/" + f["error_type"] if f.get("error_type") else "")] += 1
                why = expected_outcome(kind, f, L.delete_results.get(tid))
                bad += why is not None
                if why and bad <= 20:
                    self.fail("task %s: %s" % (tid, why))
        self.status = collections.Counter(f["status"] for f in L.finals.values())
        measured = sum(by_kind["measure"].values())
        false_tamper = by_kind["measure"]["failed/tampering_suspected"]
        if false_tamper > measured * MAX_FALSE_TAMPER:
            self.fail("%d of %d honest measurements ended tampering_suspected" % (
                false_tamper, measured))
        self.s["tasks"] = {"created": len(L.created), "completed": self.status["completed"],
                           "failed": self.status["failed"], "cancelled": self.status["cancelled"],
                           "not_ended": len(missing)}
        self.s["outcomes_by_kind"] = {k: dict(v) for k, v in sorted(by_kind.items())}
        self.s["honest_tampering_suspected"] = false_tamper
        self.s["cancel_running"] = dict(collections.Counter(
            "cancelled in " + str(v[1]) if v[0] == 200 else "not caught running (%s)" % v[1]
            for t, v in L.delete_results.items() if L.created.get(t) == "cancel_running"))

    def counters(self):
        """created = completed + failed + cancelled: records, Redis counters, /metrics."""
        L, status, n = self.L, self.status, len(self.L.created)
        h = L.health["tasks"]
        if (h["queued"], h["running"]) != (0, 0):
            self.fail("health still counts queued/running tasks: %s" % h)
        if h["completed"] + h["failed"] + h["cancelled"] != n:
            self.fail("health: %s, but %d tasks were created" % (h, n))
        for s in FINAL:
            if h[s] != status[s]:
                self.fail("health counts %d %s, the records %d" % (h[s], s, status[s]))
        served = sum(metric(t, "jouletrace_tasks_created_total") for t in L.metrics.values())
        if served != n:
            self.fail("/metrics: %d tasks created, the clients got %d" % (served, n))
        jobs_done = metric(L.metrics[L.S.port], "jouletrace_jobs_finished_total",
                           '{kind="measure",outcome="completed"}')
        if jobs_done != status["completed"]:
            self.fail("/metrics: %d completed jobs, %d completed tasks" % (jobs_done,
                                                                          status["completed"]))

    def drained(self):
        """The queues are empty and no lock is left, DRAIN_TAIL_SECONDS at most
        after every task's record became final: a task's status is final a
        moment before its worker has stopped the candidate, released the lock
        and acked the job (a task cancelled while it runs most of all)."""
        R, deadline = self.R, time.monotonic() + DRAIN_TAIL_SECONDS
        t0 = time.monotonic()
        while True:
            left = {"jt:q:measure": R.cmd("LLEN", "jt:q:measure"),
                    "jt:delayed:measure": R.cmd("ZCARD", "jt:delayed:measure")}
            for k in R.scan("jt:proc:measure:*"):
                left[k] = R.cmd("LLEN", k)
            for k in R.scan("jt:lock:*"):
                left[k] = "held"
            if not any(v for v in left.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.s["drain_tail_seconds"] = round(time.monotonic() - t0, 2)
        if any(v for v in left.values()):
            jobs = [j for k in R.scan("jt:proc:measure:*") for j in R.cmd("LRANGE", k, 0, -1)]
            self.fail("not drained %d s after every task ended: %s; jobs held: %s"
                      % (DRAIN_TAIL_SECONDS, left, [str(j)[:200] for j in jobs]))

    def once(self):
        """Nothing ran twice: worker logs, attempts, the seal chain."""
        L, R = self.L, self.R
        starts, backs = runs_in_logs(self.logs)
        twice = [t for t in starts if starts[t] > 1 + backs[t]]
        if twice:
            self.fail("%d task(s) started more often than sent back: %s" % (len(twice), twice[:3]))
        self.records = {}
        for tid in L.created:
            rec = R.cmd("HMGET", "jt:task:" + tid, "worker", "attempts", "busy_requeues",
                        "started_at", "finished_at")
            self.records[tid] = rec
            attempts, requeues = int(rec[1] or 0), int(rec[2] or 0)
            if attempts > 1 + requeues:
                self.fail("task %s: %d attempts, %d host_busy requeues" % (tid, attempts, requeues))
            if attempts != starts[tid] and tid in L.finals:
                self.fail("task %s: %d attempts, %d starts logged" % (tid, attempts, starts[tid]))
        sealed = collections.Counter()
        for k in R.scan("jt:seal:log:*"):
            for s in R.cmd("ZRANGE", k, 0, -1):
                sealed[json.loads(s)["payload"]["task_id"]] += 1
        self.completed = {t for t, f in L.finals.items() if f["status"] == "completed"}
        if any(n > 1 for n in sealed.values()):
            self.fail("sealed twice: %s" % [t for t, n in sealed.items() if n > 1][:3])
        if set(sealed) != self.completed:
            self.fail("%d seals, %d completed tasks" % (len(sealed), len(self.completed)))

    def named(self, tid, hst, cpu):
        """A completed result names the host that ran it, and its CPU."""
        f = self.L.finals[tid]
        env, p = f["measurement_environment"], f["seal"]["payload"]
        got = (env["measurement_core"], p["measurement"]["cpu"], env.get("host_id"),
               p["host"].get("host_id"))
        if got != (cpu, cpu, hst, hst):
            self.fail("task %s run by %s names (cpu, cpu, host_id, host_id) %s" % (tid, hst, got))
        return p["measurement"]["lock_fencing_token"]

    def two_hosts(self):
        """Both hosts measured, at the same time, each named in its results and
        under its own lock."""
        a, b = self.hosts
        cpu_of = {a: 1, b: 0}
        per_host = {h: {"completed": 0, "ran": 0, "fences": []} for h in self.hosts}
        intervals = {h: [] for h in self.hosts}
        for tid, rec in self.records.items():
            hst = (rec[0] or "").split(":")[0]
            if hst in per_host and rec[3] and rec[4]:
                per_host[hst]["ran"] += 1
                intervals[hst].append((ts(rec[3]), ts(rec[4])))
            if tid in self.completed:
                per_host[hst]["completed"] += 1
                per_host[hst]["fences"].append(self.named(tid, hst, cpu_of.get(hst)))
        for hst, v in per_host.items():
            fence = int(self.R.cmd("GET", "jt:fence:" + hst) or 0)
            if v["completed"] == 0:
                self.fail("host %s completed no measurement" % hst)
            if len(set(v["fences"])) != len(v["fences"]) or max(v["fences"], default=0) > fence:
                self.fail("host %s: fencing numbers repeat or pass its counter %d" % (hst, fence))
            v["fence_counter"], v["fences"] = fence, len(v["fences"])
        overlap = overlap_seconds(intervals[a], intervals[b])
        if overlap <= 0:
            self.fail("the two hosts never ran tasks at the same time")
        rows = self.L.samples.rows
        both = sum(1 for r in rows if all(r[3].values()))
        if both == 0:
            self.fail("no sample saw both hosts' locks held at once")
        if any(r[3][a] and r[3][a] == r[3][b] for r in rows):
            self.fail("the two hosts' locks held the same token")
        self.s.update(hosts=per_host, hosts_overlap_seconds=round(overlap, 1),
                      samples_both_locks_held=both, samples=len(rows))

    def limits(self):
        """429s where the limits server must give them."""
        lim, rate = self.L.limits, self.L.limit_rate
        if lim.get("queue_full") != 1:
            self.fail("no 429 queue_full from the limits server: %s" % lim)
        # the burst is rate requests, the queue_full tries included; the
        # bucket refills at rate/60 per second meanwhile
        n, low = lim.get("rate_limited_after"), rate - lim.get("queue_full_tries", 0)
        bound = low + lim.get("rate_window_seconds", 0) * rate / 60 + 1
        if n is None or not low <= n <= bound:
            self.fail("rate limit: first 429 after %s requests, expected %d..%.0f" % (n, low, bound))
        self.s["limits_server"] = lim

    def processes(self):
        """RSS and descriptors flat between the halves of the whole run (while
        draining, the server still answers the polls of every unfinished task
        twice a second)."""
        proc = {name: halves(self.L.samples.rows, name)
                for name in ("server", "worker_a", "worker_b")}
        for name, hv in proc.items():
            if hv is None:
                self.fail("%s: too few samples" % name)
            elif not flat(hv, rss=not self.L.sanitized):
                self.fail("%s grew: %s" % (name, hv))
        self.s["processes"] = proc
        self.s["rss_checked"] = not self.L.sanitized


def check(L, logs, hosts, percentile):
    """(summary, failures) of a finished run."""
    c = Check(L, logs, hosts)
    for section in (c.outcomes, c.counters, c.drained, c.once, c.two_hosts, c.limits,
                    c.processes):
        section()
    posts, secs = len(L.latency), max(L.submit_seconds, 1e-9)
    summary = {
        "operations": len(L.ops), "clients": L.args.clients, "seed": L.args.seed,
        "submit_seconds": round(L.submit_seconds, 2),
        "posts": posts, "posts_per_second": round(posts / secs, 1),
        "requests": L.requests, "requests_per_second": round(L.requests / secs, 1),
        "submit_latency_ms": {"p50": round(1e3 * percentile(L.latency, 50), 2),
                              "p99": round(1e3 * percentile(L.latency, 99), 2),
                              "max": round(1e3 * max(L.latency, default=0), 2)},
        "operations_by_kind": dict(collections.Counter(o["kind"] for o in L.ops)),
        "drain_seconds": round(L.drain_seconds, 1),
    }
    summary.update(c.s)
    summary["failures"] = c.fails
    return summary, c.fails


def overlap_seconds(a, b):
    """Total time both hosts were running a task."""
    total, a, b = 0.0, sorted(a), sorted(b)
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        total += max(0.0, hi - lo)
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total
