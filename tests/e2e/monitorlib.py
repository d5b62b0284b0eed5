"""The host monitor's test parts (issue 13), for tests/e2e/e2e_monitor.py and
bench/monitor_overhead.py: starting jouletrace-monitor beside a Stack, reading
its seal files in chain order, checking every identity of a seal and of the
chain independently of the C verifier, and processes that burn a known CPU
time on a known CPU.
"""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

from stack import BUILD, PY

MONITOR = os.path.join(BUILD, "jouletrace-monitor")
VERIFY = os.path.join(BUILD, "jouletrace-verify")
CLK_TCK = os.sysconf("SC_CLK_TCK")
DOMAINS = ("package", "dram")
PARTS = ("raw_uj", "idle_uj", "dynamic_uj", "attributed_uj", "unattributed_uj")


def start_monitor(stack, name, env, config):
    """jouletrace-monitor --config config, with env added to ours (JT_<KEY>
    overrides); returns the Popen once its /health answers."""
    full = dict(os.environ)
    full.update({k: str(v) for k, v in env.items()})
    p = stack._spawn(name, [MONITOR, "--config", config], env=full)
    port = int(env["JT_MONITOR_LISTEN"].rsplit(":", 1)[1])

    def up():
        if p.poll() is not None:
            raise AssertionError("%s exited %s:\n%s" % (name, p.returncode, stack.log(name)[-3000:]))
        return stack.get("/health", port=port).status == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if up():
                return p
        except AssertionError:
            raise
        except Exception:  # noqa: BLE001 - not listening yet
            pass
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s /health:\n%s" % (name, stack.log(name)[-3000:]))


def seal_files(path):
    """The seal file and its rotated copies in chain order: FILE.N .. FILE.1, FILE."""
    d, base = os.path.split(path)
    rotated = sorted((int(f[len(base) + 1:]) for f in os.listdir(d)
                      if f.startswith(base + ".") and f[len(base) + 1:].isdigit()), reverse=True)
    files = ["%s.%d" % (path, k) for k in rotated]
    return files + ([path] if os.path.exists(path) else [])


class Seal:
    """One line of a seal file: where it is, its text, the parsed seal."""

    def __init__(self, file, line, text):
        self.file, self.line, self.text = file, line, text
        self.seal = json.loads(text)
        self.p = self.seal["payload"]

    def where(self):
        return "%s:%d" % (os.path.basename(self.file), self.line)

    # the payload's times are µs since the epoch (ns would pass 2^53); ns here
    @property
    def start_ns(self):
        return self.p["period"]["start_unix_us"] * 1000

    @property
    def end_ns(self):
        return self.p["period"]["end_unix_us"] * 1000

    def payload_sha256(self):
        # The line is the JCS text of {"payload", "signature"}: members sorted,
        # so the payload's own JCS bytes are the text between the two names.
        head, tail = '{"payload":', ',"signature":'
        assert self.text.startswith(head), self.where()
        return hashlib.sha256(self.text[len(head):self.text.rindex(tail)].encode()).hexdigest()


def read_seals(path):
    out = []
    for f in seal_files(path):
        with open(f) as fh:
            for i, line in enumerate(fh, 1):
                out.append(Seal(f, i, line.rstrip("\n")))
    return out


def jcs(value):
    r = subprocess.run([VERIFY, "--canonicalize"], input=json.dumps(value).encode(),
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


def seal_problems(s, top_n):
    """Every identity a seal's payload must hold (CONTEXT-s18 / SPEC §5), as a
    list of "file:line: what"; [] when it holds them all."""
    p, bad = s.p, []

    def need(cond, what):
        if not cond:
            bad.append("%s: %s" % (s.where(), what))
    need((p.get("seal_version"), p.get("issuer")) == (1, "jouletrace"), "version/issuer")
    per = p["period"]
    need(per["start_unix_us"] < per["end_unix_us"], "period start < end")
    if p["kind"] == "monitor_gap":
        need(p.get("reason") == "monitor not running", "gap reason %r" % p.get("reason"))
        need(not p.get("packages") and not p.get("processes"), "a gap has no packages/processes")
        need(p["complete"] is False and p["incomplete_reasons"] == [p.get("reason")],
             "a gap is incomplete for its reason")
        return bad
    need(p["kind"] == "monitor_period", "kind %r" % p["kind"])
    tot = {k: 0 for k in PARTS}
    attributed = {d: 0 for d in DOMAINS}
    for pk in p["packages"]:
        for d in DOMAINS:
            e = pk[d]
            if e is None:
                continue
            need(all(e[k] >= 0 for k in PARTS), "package %s %s: a negative part %s" % (pk["id"], d, e))
            need(e["raw_uj"] == e["idle_uj"] + e["dynamic_uj"],
                 "package %s %s: raw != idle + dynamic %s" % (pk["id"], d, e))
            need(e["dynamic_uj"] == e["attributed_uj"] + e["unattributed_uj"],
                 "package %s %s: dynamic != attributed + unattributed %s" % (pk["id"], d, e))
            for k in PARTS:
                tot[k] += e[k]
            attributed[d] += e["attributed_uj"]
        need(pk["failed_intervals"] == 0 or pk["unmeasured_ns"] > 0,
             "package %s: failed intervals without unmeasured time" % pk["id"])
    need({k: p["totals"][k] for k in PARTS} == tot, "totals %s != Σ packages %s" % (p["totals"], tot))
    procs, other = p["processes"], p["other"]
    need(len(procs) <= top_n, "%d processes > top %d" % (len(procs), top_n))
    need([x["energy_uj"] for x in procs] == sorted((x["energy_uj"] for x in procs), reverse=True),
         "processes not sorted by energy_uj desc")
    need(len({(x["pid"], x["start_boot_ns"]) for x in procs}) == len(procs), "a process listed twice")
    for x in procs + [other]:
        need(x["energy_uj"] == x["package_uj"] + x["dram_uj"] and x["energy_uj"] >= 0,
             "energy_uj != package_uj + dram_uj: %s" % x)
    need(sum(x["energy_uj"] for x in procs) + other["energy_uj"] == tot["attributed_uj"],
         "Σ processes + other != attributed")
    for d in DOMAINS:
        need(sum(x[d + "_uj"] for x in procs) + other[d + "_uj"] == attributed[d],
             "Σ processes + other != attributed (%s)" % d)
    failed = any(pk["unmeasured_ns"] > 0 for pk in p["packages"])
    need(p["complete"] == (not failed and per["intervals"] > 0),
         "complete %s with unmeasured time %s, %d intervals" % (p["complete"], failed, per["intervals"]))
    need(bool(p["incomplete_reasons"]) == (not p["complete"]),
         "incomplete_reasons %r for complete %s" % (p["incomplete_reasons"], p["complete"]))
    return bad


def chain_problems(seals):
    """The chain rules over consecutive seals (the first one's link is not checked)."""
    bad = []
    for a, b in zip(seals, seals[1:]):
        if b.p["sequence"] != a.p["sequence"] + 1:
            bad.append("%s: sequence %d after %d" % (b.where(), b.p["sequence"], a.p["sequence"]))
        if b.p["prev_seal_sha256"] != a.payload_sha256():
            bad.append("%s: prev_seal_sha256 is not the previous payload's hash" % b.where())
        if b.start_ns != a.end_ns:
            bad.append("%s: starts at %d, the previous ended at %d" % (b.where(), b.start_ns, a.end_ns))
    if seals and seals[0].p["sequence"] == 1 and seals[0].p["prev_seal_sha256"] is not None:
        bad.append("%s: sequence 1 with a previous hash" % seals[0].where())
    return bad


def start_ticks(pid):
    """/proc/<pid>/stat starttime (field 22): clock ticks since boot."""
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def cpu_seconds(pid):
    """utime + stime of a live process, from /proc/<pid>/stat."""
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / CLK_TCK


BURN = ("import sys, time\n"
        "t = float(sys.argv[1])\n"
        "while time.process_time() < t:\n"
        "    pass\n"
        "print('burnt', flush=True)\n"
        "sys.stdin.read()\n"
        "t = time.process_time() + float(sys.argv[2])\n"
        "while time.process_time() < t:\n"
        "    pass\n")


TICK_NS = 1e9 / os.sysconf("SC_CLK_TCK")


def steal_ticks(cpu):
    """Time the hypervisor took from cpu so far (/proc/stat, in ticks)."""
    with open("/proc/stat") as f:
        for line in f:
            w = line.split()
            if w[0] == "cpu%d" % cpu:
                return int(w[8])
    return 0


class Burner:
    """A process named by comm (an executable symlink to python3, so even its
    interpreter start-up carries the name) pinned to cpu from its first
    instruction, that burns `seconds` of CPU, says so, and when its stdin
    closes burns `tail` seconds more and exits (so that the period of its exit
    holds a share of it that no crowd of small processes outranks).  finish()
    reaps it: cpu_ns is then its whole CPU time (rusage), and steal_ns the
    time the hypervisor took from its CPU while it burnt (/proc/stat, to
    STEAL_SLACK_NS): the kernel leaves steal out of a task's CPU time
    (PARAVIRT_TIME_ACCOUNTING), a booking between context switches does not."""
    STEAL_SLACK_NS = 2 * TICK_NS     # two tick-grained differences

    def __init__(self, tmp, comm, cpu, seconds, pid=None, tail=0.0):
        exe = os.path.join(tmp, comm)
        if not os.path.exists(exe):
            os.symlink(PY, exe)
        self.cpu = cpu
        self.cpu_ns = self.exit_ns = None
        self.steal = [steal_ticks(cpu)]
        for _ in range(50):
            if pid is not None:
                # the next pid the kernel hands out is pid (root, initial namespace)
                with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                    f.write(str(pid - 1))
            self.spawn_ns = time.time_ns()
            self.p = subprocess.Popen([exe, "-c", BURN, str(seconds), str(tail)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE,
                                      preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
            if pid is None or self.p.pid == pid:
                break
            self.kill()
        else:
            raise AssertionError("could not get pid %d again" % pid)
        self.pid = self.p.pid
        self.start_ticks = start_ticks(self.pid)

    def wait_burnt(self):
        line = self.p.stdout.readline()
        self.steal.append(steal_ticks(self.cpu))
        assert line == b"burnt\n", line

    def finish(self):
        self.steal.append(steal_ticks(self.cpu))
        self.p.stdin.close()
        _, status, ru = os.wait4(self.pid, 0)
        self.exit_ns = time.time_ns()
        self.steal.append(steal_ticks(self.cpu))
        st = self.steal
        self.steal_ns = ((st[1] - st[0]) + (st[3] - st[2]) if len(st) == 4 else 0) * TICK_NS
        self.p.returncode = os.waitstatus_to_exitcode(status)
        self.p.stdout.close()
        self.cpu_ns = int((ru.ru_utime + ru.ru_stime) * 1e9)
        return self

    def kill(self):
        if self.p.returncode is None:
            self.p.kill()
            self.p.wait()
        self.p.stdin.close()
        self.p.stdout.close()

    def entries(self, seals):
        """(seal, entry) for every period entry of this process (pid and start)."""
        lo = self.start_ticks * 10**9 // CLK_TCK
        hi = (self.start_ticks + 1) * 10**9 // CLK_TCK
        return [(s, x) for s in seals if s.p["kind"] == "monitor_period"
                for x in s.p["processes"] if x["pid"] == self.pid and lo <= x["start_boot_ns"] < hi]


def stop_monitor(stack, name, sig=signal.SIGTERM):
    """Signals the monitor; (exit code, the wall time the signal went)."""
    p = stack.procs[name]
    t = time.time_ns()
    p.send_signal(sig)
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise AssertionError("%s did not exit within 30 s of signal %d" % (name, sig))
    stack.procs.pop(name)
    return p.returncode, t


def sleep_to_phase(phase, period):
    """Sleeps until the wall clock is phase seconds into a period (periods are
    multiples of period seconds since the epoch, as the monitor's)."""
    now = time.time()
    t = (now // period) * period + phase
    if t < now + 0.02:
        t += period
    time.sleep(t - now)


if __name__ == "__main__":
    sys.exit("a library")
