"""Issue 13 end to end: the host monitor on a simulated powercap tree.

Two packages (package-0 = CPU 0, package-1 = CPU 1: tests/e2e/powercap_sim.py,
8 W idle + 15 W per busy CPU, DRAM 1.5 W + 2 W, package counters wrapping every
9 to 25 s) and jouletrace-monitor with monitor_packages "0=0;1=1",
100 ms ticks and 1 s periods, real eBPF, a throwaway Redis.  Package-1 is
calibrated by a profile that holds the simulator's idle figures exactly (taken
with jouletrace-calibrate for its host fingerprint, then given package 1 and
the known idle: a real calibration on a shared VM would count its background
too), so its dynamic energy is the law's 15 + 2 W per busy second and a
process's known energy there is 17 W × its own CPU time.  Package-0 has no
profile in the first run: its idle is unknown, so the monitor seals its energy
and splits none of it; the restarted monitor is given package-0's profile too
(monitor_calibration_files, after a missing file).  With the model meter (METER "model": the same law from the model's own
reading of /proc/stat, its idle kept apart on both packages) the same scenario
runs but for the failing meter, which a model cannot do.

One scenario runs in setUpClass, the tests then assert over what it left (the
seal files, Redis, the /metrics pages, the processes' own rusage):
  1. a burner pinned to CPU 1 burns 1.5 s of CPU over two or more periods,
     sleeps, and exits in the middle of a period (after 0.1 s more);
  2. two processes get the same host pid (/proc/sys/kernel/ns_last_pid) one
     after the other, each burning 0.3 s;
  3. package-1's meter fails (garbage in its counters) for half a second
     while a process burns on CPU 1, then reads again;
  4. SIGTERM; a second monitor on the same files with top_processes 3 and no
     Redis (redis_url "") while eight more processes run, /metrics scraped;
     SIGTERM again.
No assertion is about how long anything took: periods are found by the
wall-clock times the monitor itself sealed.

run_e2e.py imports the class and sets METER.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import e2e_ops
from monitorlib import (VERIFY, Burner, chain_problems, read_seals, seal_files, seal_problems,
                        sleep_to_phase, start_monitor, stop_monitor)
from stack import BUILD, PY, REPO, Stack, free_port, wait_for
sys.path.insert(0, os.path.join(REPO, "tests", "load"))
from loadlib import Redis  # noqa: E402

ENABLED = True
METER = "powercap"
SEAL_S, TICK_MS = 1, 100
TICK_NS = TICK_MS * 10**6
TOP_N, TOP_N2 = 50, 3
HOST_ID = "e2e-monitor"
PKG_ACTIVE_W, DRAM_ACTIVE_W = 15.0, 2.0          # powercap_sim's defaults
PKG_IDLE_W, DRAM_IDLE_W = 8.0, 1.5
MODEL = {"JT_METER": "model", "JT_MODEL_IDLE_PACKAGE_WATTS": PKG_IDLE_W,
         "JT_MODEL_IDLE_DRAM_WATTS": DRAM_IDLE_W, "JT_MODEL_ACTIVE_WATTS_PER_CPU": PKG_ACTIVE_W,
         "JT_MODEL_ACTIVE_DRAM_WATTS_PER_CPU": DRAM_ACTIVE_W}
# The smallest range the monitor takes at 100 ms ticks (it assumes a zone may
# draw 1000 W, and wants no two wraps within a tick): 210 J, a wrap every ~9 s
# of a busy package-1.  The counters start 120 J (package) and 25 J (DRAM)
# short of it: every counter wraps 4 to 17 s after the simulator starts, while
# the first monitor runs.
RANGE_UJ = 210_000_000
SIM_ARGS = ["--package", "0=0", "--package", "1=1", "--range-uj", str(RANGE_UJ),
            "--start-uj", str(RANGE_UJ - 120_000_000), "--dram-start-uj", str(RANGE_UJ - 25_000_000)]
# a process on CPU 1 that wakes every 50 ms and spins for 5 of them, until killed
CROWD = ("import time\n"
         "while True:\n"
         "    t = time.monotonic() + 0.005\n"
         "    while time.monotonic() < t:\n"
         "        pass\n"
         "    time.sleep(0.045)\n")


def idle_known(package, seal, restart_ns):
    """Is the package's idle power known to the monitor in that seal (so its
    dynamic energy is split)?  Package-0's profile is given to the restarted
    monitor only (monitor_calibration_files)."""
    return METER == "model" or package == 1 or seal.start_ns >= restart_ns


def exact_profile(S, config, path, package):
    """A calibration profile of package with the simulator's idle figures:
    jouletrace-calibrate's (for the fields it knows: host fingerprint, meter,
    CPUs), its figures then set to the law's.  Returns the file's SHA-256."""
    r = subprocess.run([os.path.join(BUILD, "jouletrace-calibrate"), "--config", config,
                        "--duration", "2", "--force", "--output", path],
                       capture_output=True, text=True, timeout=60,
                       preexec_fn=lambda: os.sched_setaffinity(0, {S.infra_cpu}))
    assert r.returncode == 0, r.stdout + r.stderr
    with open(path) as f:
        prof = json.load(f)
    prof.update(socket=package, idle_package_watts=PKG_IDLE_W, idle_dram_watts=DRAM_IDLE_W,
                forced=False, forced_reason="", background_busy_percent=0, baseline_busy_percent=0)
    text = json.dumps(prof, indent=1).encode()
    with open(path, "wb") as f:
        f.write(text)
    return hashlib.sha256(text).hexdigest()


def known_uj(cpu_ns):
    return (PKG_ACTIVE_W + DRAM_ACTIVE_W) * cpu_ns / 1e3


def periods(seals):
    return [s for s in seals if s.p["kind"] == "monitor_period"]


def covering(seals, t_ns):
    """The seal whose period holds the wall time t_ns."""
    for s in seals:
        if s.start_ns <= t_ns < s.end_ns:
            return s
    return None


def pkg(s, pid):
    return [x for x in s.p["packages"] if x["id"] == pid][0]


class T037Monitor(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not ENABLED:
            raise unittest.SkipTest("disabled by run_e2e.py")
        cls.S = Stack(METER)
        try:
            cls.scenario()
        except Exception:
            for name in ("monitor", "monitor2"):
                try:
                    print("---- %s log\n%s" % (name, cls.S.log(name)[-4000:]))
                except OSError:
                    pass
            cls.S.close()
            raise

    @classmethod
    def tearDownClass(cls):
        for p in getattr(cls, "crowd", []):
            p.kill()
            p.wait()
        cls.S.close_checked()

    @classmethod
    def monitor_env(cls, top_n, redis=True, max_bytes=65536, more_profiles=""):
        meter = dict(MODEL) if METER == "model" else {"JT_METER": "powercap", "JT_POWERCAP_ROOT": cls.root}
        if not redis:
            meter["JT_REDIS_URL"] = ""    # its seals in its file only
        if more_profiles:
            meter["JT_MONITOR_CALIBRATION_FILES"] = more_profiles
        return {**meter, "JT_MONITOR_PACKAGES": "0=0;1=1", "JT_MONITOR_TICK_MS": TICK_MS,
                "JT_MONITOR_SEAL_SECONDS": SEAL_S, "JT_MONITOR_SEAL_FILE": cls.seal_file,
                "JT_MONITOR_SEAL_FILE_MAX_BYTES": max_bytes, "JT_MONITOR_SEAL_FILE_KEEP": 1000,
                "JT_MONITOR_TOP_PROCESSES": top_n,
                "JT_MONITOR_LISTEN": "127.0.0.1:%d" % cls.mport}

    @classmethod
    def wait_seals(cls, n, after_ns=0, timeout=30):
        """Until n period seals end after after_ns (wall ns)."""
        return wait_for(lambda: len([s for s in periods(read_seals(cls.seal_file))
                                     if s.end_ns > after_ns]) >= n,
                        timeout, "%d seals after %d" % (n, after_ns), step=0.1)

    @classmethod
    def scenario(cls):
        S = cls.S
        if METER == "powercap":
            cls.root = S.start_powercap_sim(*SIM_ARGS)
        S.start_redis()
        cls.seal_file = os.path.join(S.tmp, "run", "monitor-seals.jsonl")
        os.makedirs(os.path.dirname(cls.seal_file))
        cls.key_file = os.path.join(S.tmp, "keys", "seal.key")
        cls.mport = free_port()
        profile = os.path.join(S.tmp, "calibration.json")
        cls.config = S.write_config("monitor.conf", host_id=HOST_ID, key_file=cls.key_file,
                                    calibration_file=profile)
        if METER == "powercap":
            cls.profile_sha256 = exact_profile(S, cls.config, profile, package=1)
            # package-0's, the same law, for the restarted monitor
            with open(profile) as f:
                prof0 = json.load(f)
            prof0["socket"] = 0
            cls.profile0 = os.path.join(S.tmp, "calibration-package0.json")
            with open(cls.profile0, "wb") as f:
                f.write(json.dumps(prof0, indent=1).encode())
            with open(cls.profile0, "rb") as f:
                cls.profile0_sha256 = hashlib.sha256(f.read()).hexdigest()
        start_monitor(S, "monitor", cls.monitor_env(TOP_N), cls.config)
        cls.wraps = [cls.sim_wraps()]
        cls.wait_seals(1)

        # 1. known CPU time on CPU 1, over two periods or more; exit mid-period
        sleep_to_phase(0.1, SEAL_S)
        cls.b1 = Burner(S.tmp, "jt-burn", 1, 1.5, tail=0.1)
        cls.b1.wait_burnt()
        sleep_to_phase(0.5, SEAL_S)
        cls.b1.finish()
        cls.wait_seals(2, cls.b1.exit_ns)

        # 2. the same host pid twice
        sleep_to_phase(0.05, SEAL_S)
        cls.r1 = Burner(S.tmp, "jt-reuse", 1, 0.3)
        cls.r1.wait_burnt()
        cls.r1.finish()
        cls.r2 = Burner(S.tmp, "jt-reuse", 1, 0.3, pid=cls.r1.pid)
        cls.r2.wait_burnt()
        cls.r2.finish()
        cls.wait_seals(2, cls.r2.exit_ns)

        if METER == "powercap":
            cls.failing_meter()
        cls.restart()

    @classmethod
    def failing_meter(cls):
        """package-1's meter fails for half a second under load, then reads again"""
        S = cls.S
        sleep_to_phase(0.2, SEAL_S)
        load = Burner(S.tmp, "jt-load", 1, 1.2)
        fail = os.path.join(cls.root, "fail-1")
        with open(fail, "w"):
            pass
        wait_for(lambda: "begin" in cls.faults(), 5, "fault")
        time.sleep(0.5)
        os.unlink(fail)
        wait_for(lambda: "end" in cls.faults(), 5, "recovery")
        load.wait_burnt()
        load.finish()
        cls.fault = (cls.faults()["begin"], cls.faults()["end"])
        cls.wait_seals(2, max(cls.fault[1], load.exit_ns) + 2 * TICK_NS)
        cls.fault_page = S.get("/metrics", port=cls.mport)

    @classmethod
    def restart(cls):
        """SIGTERM mid-period; a restart with a small top N and a crowd"""
        S = cls.S
        sleep_to_phase(0.5, SEAL_S)
        cls.rc1, cls.term1_ns = stop_monitor(S, "monitor")
        cls.run1 = read_seals(cls.seal_file)
        time.sleep(1.2)   # across a period boundary: the downtime is a gap seal
        cls.crowd = [subprocess.Popen([PY, "-c", CROWD],
                                      preexec_fn=lambda: os.sched_setaffinity(0, {1}))
                     for _ in range(8)]
        cls.restart_ns = time.time_ns()
        # The restart rotates at its first seal, whatever the first run wrote
        # (how much depends on how many processes the host ran): the chain is
        # checked across files, and the first run's file keeps its many lines.
        size = sum(os.path.getsize(f) for f in seal_files(cls.seal_file))
        assert size > 4096, "the first run wrote only %d bytes of seals" % size
        # package-0's profile, after one that does not exist (which only logs)
        more = "" if METER == "model" else "%s ; %s" % (os.path.join(S.tmp, "no-such.json"), cls.profile0)
        start_monitor(S, "monitor2", cls.monitor_env(TOP_N2, redis=False, max_bytes=4096, more_profiles=more),
                      cls.config)
        cls.pages = []
        for _ in range(4):
            time.sleep(0.7)
            cls.pages.append(S.get("/metrics", port=cls.mport))
        cls.wait_seals(3, cls.restart_ns)
        cls.rc2, cls.term2_ns = stop_monitor(S, "monitor2")
        for p in cls.crowd:
            p.kill()
            p.wait()
        cls.seals = read_seals(cls.seal_file)
        cls.redis = cls.redis_seals()
        cls.wraps.append(cls.sim_wraps())

    @classmethod
    def faults(cls):
        """{"begin": unix ns, "end": unix ns} of package 1's fault, as far as the simulator applied it"""
        with open(os.path.join(cls.root, "faults.log")) as f:
            return {w[1]: int(w[2]) for w in (line.split() for line in f) if w[0] == "1"}

    @classmethod
    def sim_wraps(cls):
        """{package: {domain: wraps so far}} of the simulator ({} without it)."""
        out = {}
        for pid in (0, 1) if METER == "powercap" else ():
            try:
                with open(os.path.join(cls.root, "wraps-%d" % pid)) as f:
                    out[pid] = {k: int(v) for k, v in (line.split() for line in f)}
            except FileNotFoundError:
                out[pid] = {"package": 0, "dram": 0}
        return out

    @classmethod
    def redis_seals(cls):
        """{sequence: seal text} in jt:monitor:seals:{host}, and the head hash."""
        r = Redis(cls.S.redis_port)
        try:
            z = r.cmd("ZRANGE", "jt:monitor:seals:" + HOST_ID, 0, -1, "WITHSCORES")
            head = r.cmd("HGETALL", "jt:monitor:head:" + HOST_ID)
        finally:
            r.sock.close()
        return ({int(float(z[i + 1])): z[i] for i in range(0, len(z), 2)},
                dict(zip(head[::2], head[1::2])))

    # --- (a) known energy -----------------------------------------------
    def test_a_known_cpu_time_gets_its_known_energy(self):
        b = self.b1
        e = b.entries(self.seals)
        self.assertGreaterEqual(len(e), 2, "a 1.5 s burn spans two periods or more: %s" % e)
        got = sum(x["energy_uj"] for _, x in e)
        known = known_uj(b.cpu_ns)
        print("\n  burner pid %d: %.3f s CPU (rusage) + %.3f s stolen, %.3f s booked over %d seals; "
              "energy %.3f J, known %.3f J (%+.2f %%)" % (
                  b.pid, b.cpu_ns / 1e9, b.steal_ns / 1e9, sum(x["cpu_ns"] for _, x in e) / 1e9,
                  len(e), got / 1e6, known / 1e6, 100 * (got / known - 1)))
        self.assertAlmostEqual(got / known, 1, delta=0.05)
        pk = sum(x["package_uj"] for _, x in e)
        self.assertAlmostEqual(pk / (PKG_ACTIVE_W * b.cpu_ns / 1e3), 1, delta=0.05)
        # booked on-CPU time: the kernel's count for the process, plus what
        # the hypervisor stole meanwhile (which the kernel leaves out, and a
        # booking between context switches cannot)
        on_cpu = b.cpu_ns + b.steal_ns
        self.assertAlmostEqual(sum(x["cpu_ns"] for _, x in e) / on_cpu, 1,
                               delta=0.02 + b.STEAL_SLACK_NS / on_cpu)
        with open("/proc/self/cgroup") as f:
            cgroup = [line[3:].strip() for line in f if line.startswith("0::")][0]
        for _, x in e:
            self.assertEqual((x["comm"], x["uid"], x["cgroup"]), ("jt-burn", 0, cgroup), x)

    # --- (b) conservation -----------------------------------------------
    def test_b_every_seal_conserves_and_chains(self):
        seals = self.seals
        self.assertGreater(len(periods(seals)), 10)
        problems, top = [], TOP_N
        for s in seals:
            if s.p["kind"] == "monitor_period":
                top = TOP_N2 if s.start_ns >= self.term1_ns else TOP_N
                self.assertEqual(s.p["monitor"]["top_processes"], top, s.where())
            problems += seal_problems(s, top)
        problems += chain_problems(seals)
        self.assertEqual(problems, [])
        self.assertEqual(seals[0].p["sequence"], 1)

    def test_b_every_seal_names_its_host_meter_and_packages(self):
        for s in periods(self.seals):
            p = s.p
            self.assertEqual(p["host"]["host_id"], HOST_ID, s.where())
            self.assertEqual(p["meter"], {"backend": METER, "estimated": METER == "model"}, s.where())
            self.assertEqual((p["monitor"]["attribution_source"], p["monitor"]["tick_ms"]),
                             ("bpf", TICK_MS), s.where())
            self.assertEqual([(x["id"], x["cpus"]) for x in p["packages"]], [(0, "0"), (1, "1")])

    def test_b_every_package_follows_the_law(self):
        """raw within the simulator's law over the measured time: no energy of
        an unmeasured stretch lands in a measured one (5 % + 0.5 J for the
        /proc/stat jiffies at the edges)."""
        for s in periods(self.seals):
            for pk in s.p["packages"]:
                t = pk["measured_ns"] / 1e9
                for d, idle, active in (("package", PKG_IDLE_W, PKG_ACTIVE_W),
                                        ("dram", DRAM_IDLE_W, DRAM_ACTIVE_W)):
                    self.assertIsNotNone(pk[d], (s.where(), d))
                    raw = pk[d]["raw_uj"] / 1e6
                    self.assertLessEqual(raw, (idle + active) * t * 1.05 + 0.5, (s.where(), pk))
                    self.assertGreaterEqual(raw, idle * t * 0.95 - 0.5, (s.where(), pk))
        if METER == "powercap":
            # every counter wrapped under the monitor (and each seal kept to the law)
            for pid in (0, 1):
                for d in ("package", "dram"):
                    self.assertGreater(self.wraps[1][pid][d], self.wraps[0][pid][d], self.wraps)

    def test_b_idle_is_kept_apart_or_nothing_is_split(self):
        for s in periods(self.seals):
            for pk in s.p["packages"]:
                where = (s.where(), pk["id"])
                e = [pk[d] for d in ("package", "dram")]
                if not idle_known(pk["id"], s, self.restart_ns):
                    # unknown idle: sealed, none of it handed to whoever ran
                    self.assertIsNone(pk["calibration"], where)
                    self.assertEqual(pk["idle"], {"source": "unknown", "package_watts": None,
                                                  "dram_watts": None}, where)
                    self.assertEqual([x["attributed_uj"] for x in e], [0, 0], where)
                    self.assertEqual([x["unattributed_uj"] for x in e], [x["raw_uj"] for x in e], where)
                    continue
                self.assertEqual(pk["idle"], {"source": "calibration" if METER == "powercap" else "model",
                                              "package_watts": PKG_IDLE_W, "dram_watts": DRAM_IDLE_W},
                                 where)
                if METER == "powercap":
                    self.assertEqual(pk["calibration"]["sha256"],
                                     self.profile_sha256 if pk["id"] == 1 else self.profile0_sha256, where)
                if pk["measured_ns"] > 2 * TICK_NS:
                    self.assertGreater(e[0]["idle_uj"], 0, where)
                    # idle = the known watts × the measured time (rounded per interval),
                    # unless the draw was less
                    self.assertLessEqual(e[0]["idle_uj"],
                                         PKG_IDLE_W * pk["measured_ns"] / 1e3 + pk["intervals"] / 2, where)
        if METER == "powercap":
            # the listed profile that does not exist was said, not silently skipped
            self.assertRegex(self.S.log("monitor2"),
                             r"warn .*monitor_calibration_files: \S*no-such\.json not used")

    # --- (c) pid reuse ----------------------------------------------------
    def test_c_a_reused_pid_is_two_processes(self):
        r1, r2 = self.r1, self.r2
        self.assertEqual(r1.pid, r2.pid)
        self.assertNotEqual(r1.start_ticks, r2.start_ticks)
        e1, e2 = r1.entries(self.seals), r2.entries(self.seals)
        self.assertTrue(e1 and e2, "both processes sealed: %s / %s" % (e1, e2))
        starts = {x["start_boot_ns"] for _, x in e1} | {x["start_boot_ns"] for _, x in e2}
        self.assertEqual(len(starts), 2, starts)
        for r, e in ((r1, e1), (r2, e2)):
            got = sum(x["energy_uj"] for _, x in e)
            # 0.3 s of /proc/stat jiffies: 10 %; merged, one would be twice that
            self.assertAlmostEqual(got / known_uj(r.cpu_ns), 1, delta=0.10, msg=e)
            self.assertTrue(e[-1][1]["exited"], e)
        s = covering(self.seals, r1.spawn_ns)
        same = s is covering(self.seals, r2.exit_ns)
        print("\n  pid %d twice: start %d and %d, %s" % (
            r1.pid, r1.start_ticks, r2.start_ticks, "in one period" if same else "across periods"))
        if same:
            # both lived within one period: that seal lists each of them (and
            # any other process the busy host gave that pid meanwhile)
            self.assertEqual((len(r1.entries([s])), len(r2.entries([s]))), (1, 1), s.where())

    # --- (d) exit mid-period ---------------------------------------------
    def test_d_an_exit_keeps_its_energy_in_that_period(self):
        b = self.b1
        e = b.entries(self.seals)
        s = covering(self.seals, b.exit_ns)
        self.assertIsNotNone(s)
        last_seal, last = e[-1]
        seen = [(x.where(), (x.start_ns - b.exit_ns) / 1e9, (x.end_ns - b.exit_ns) / 1e9, y["cpu_ns"],
                 y["energy_uj"], y["exited"]) for x, y in e]
        self.assertIs(last_seal, s, "the seal of the exit's period (%s) lists it last: %s" % (
            s.where(), seen))
        self.assertTrue(last["exited"], last)
        self.assertGreater(last["energy_uj"], 0, last)
        self.assertTrue(all(not x["exited"] for _, x in e[:-1]), e)
        later = [x for x in self.seals if x.p["sequence"] > s.p["sequence"]]
        self.assertTrue(later, "a period after the exit was sealed")
        self.assertEqual(b.entries(later), [])

    # --- (e) the meter failing --------------------------------------------
    def test_e_a_failing_meter_seals_what_was_measured(self):
        if METER != "powercap":
            self.skipTest("a model meter does not fail")
        begin, end = self.fault
        run1 = periods(self.run1)
        hit = [s for s in run1 if s.start_ns <= end and
               s.end_ns + TICK_NS >= begin]
        self.assertTrue(hit)
        unmeasured = 0
        for s in hit:
            p1, p0 = pkg(s, 1), pkg(s, 0)
            if p1["failed_intervals"]:
                self.assertFalse(s.p["complete"], s.where())
                self.assertTrue(s.p["incomplete_reasons"], s.where())
                self.assertIn("meter", " ".join(s.p["incomplete_reasons"]).lower(), s.p["incomplete_reasons"])
                self.assertTrue(p1["meter_error"], p1)
            unmeasured += p1["unmeasured_ns"]
            self.assertEqual((p0["failed_intervals"], p0["unmeasured_ns"]), (0, 0), "package 0 measured")
        # every read inside the fault failed; the intervals around its edges too
        self.assertGreaterEqual(unmeasured, end - begin - 2 * TICK_NS, hit)
        self.assertLessEqual(unmeasured, end - begin + 5 * TICK_NS, hit)
        self.assertTrue(any(not s.p["complete"] for s in hit))
        # measured again: the periods after it are complete
        after = [s for s in run1 if s.start_ns > end + 2 * TICK_NS]
        self.assertTrue(after)
        for s in after:
            self.assertTrue(s.p["complete"], (s.where(), s.p["incomplete_reasons"]))
            self.assertEqual(pkg(s, 1)["unmeasured_ns"], 0, s.where())
        m = e2e_ops.samples(self.fault_page.raw.decode())
        errors = {p: m[("jouletrace_monitor_meter_errors_total", frozenset({("package", p)}))]
                  for p in ("0", "1")}
        self.assertEqual(errors["0"], 0, errors)
        self.assertGreaterEqual(errors["1"], 1, errors)
        before = [s for s in run1 if s.end_ns + 2 * TICK_NS < begin]
        self.assertTrue(all(s.p["complete"] for s in before[1:]),
                        [(s.where(), s.p["incomplete_reasons"]) for s in before if not s.p["complete"]])

    # --- (f) the verifier -------------------------------------------------
    def verify(self, files):
        return subprocess.run([VERIFY, "--chain", "--key-file", self.key_file] + files,
                              capture_output=True, text=True, timeout=60)

    def tampered(self, victim, edit):
        """The verifier's answer on a copy of the seal files in which
        edit(lines) was applied to the one named victim."""
        d = tempfile.mkdtemp(prefix="jt-e2e-chain-")
        self.addCleanup(shutil.rmtree, d, True)
        files = []
        for f in seal_files(self.seal_file):
            files.append(os.path.join(d, os.path.basename(f)))
            shutil.copy(f, files[-1])
        with open(os.path.join(d, victim)) as f:
            lines = f.read().splitlines(True)
        edit(lines)
        with open(os.path.join(d, victim), "w") as f:
            f.writelines(lines)
        return self.verify(files)

    def test_f_verify_chain_passes_and_names_a_tampered_line(self):
        files = seal_files(self.seal_file)
        self.assertGreater(len(files), 1, "rotated at least once")
        r = self.verify(files)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # the tampering goes into the newest file that has three seals or more
        lines = {}
        for f in files:
            with open(f) as fh:
                lines[f] = len(fh.read().splitlines())
        victim = [f for f in files if lines[f] >= 3][-1]
        name, n = os.path.basename(victim), lines[victim]

        def more_energy(lines):
            k = len(lines) - 2
            lines[k], count = re.subn(r'"energy_uj":(\d+)', lambda m: '"energy_uj":%d' % (int(m.group(1)) + 1),
                                      lines[k], count=1)
            self.assertEqual(count, 1, lines[k][:200])

        def delete(lines):
            del lines[1]

        def swap(lines):
            lines[1], lines[2] = lines[2], lines[1]
        for what, edit, line in (("an energy figure", more_energy, n - 1), ("a deleted line", delete, 2),
                                 ("two lines swapped", swap, 2)):
            r = self.tampered(name, edit)
            self.assertEqual(r.returncode, 1, "%s: %s" % (what, r.stdout + r.stderr))
            self.assertRegex(r.stdout + r.stderr, r"%s:%d:" % (re.escape(name), line),
                             "%s: %s" % (what, r.stdout + r.stderr))

    # --- (g) /metrics ---------------------------------------------------------
    def test_g_metrics_pass_promtool_with_bounded_process_series(self):
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool (Debian's prometheus) is installed by setup.sh")
        ticks = []
        for page in self.pages:
            self.assertEqual(page.status, 200)
            self.assertTrue(page.headers["Content-Type"].startswith("text/plain"), page.headers)
            r = subprocess.run([promtool, "check", "metrics"], input=page.raw, capture_output=True,
                               timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            m = e2e_ops.samples(page.raw.decode())
            procs = {(dict(k[1])["pid"], dict(k[1])["start"]) for k in m
                     if k[0] == "jouletrace_monitor_process_energy_joules_total"}
            # more than TOP_N2 processes burn here (the crowd): exactly N series
            self.assertEqual(len(procs), TOP_N2, sorted(procs))
            for p in (0, 1):
                for d in ("package", "dram"):
                    v = {part: m[("jouletrace_monitor_energy_joules_total",
                                  frozenset({"package": str(p), "domain": d, "part": part}.items()))]
                         for part in ("raw", "idle", "dynamic", "attributed", "unattributed")}
                    self.assertAlmostEqual(v["raw"], v["idle"] + v["dynamic"], delta=1e-5, msg=v)
                    self.assertAlmostEqual(v["dynamic"], v["attributed"] + v["unattributed"],
                                           delta=1e-5, msg=v)
            info = [dict(k[1]) for k in m if k[0] == "jouletrace_monitor_info"]
            self.assertEqual(len(info), 1, info)
            self.assertEqual((info[0]["attribution_source"], info[0]["meter"], info[0]["host_id"]),
                             ("bpf", METER, HOST_ID))
            ticks.append(m[("jouletrace_monitor_ticks_total", frozenset())])
        self.assertEqual(ticks, sorted(ticks))
        self.assertGreater(ticks[-1], ticks[0])
        for s in periods(self.seals):
            if s.start_ns >= self.restart_ns:
                self.assertLessEqual(len(s.p["processes"]), TOP_N2)
                self.assertGreater(s.p["other"]["processes"], 0, s.where())

    # --- (h) SIGTERM and restart -------------------------------------------
    def test_h_sigterm_seals_the_partial_period_and_a_restart_a_gap(self):
        self.assertEqual((self.rc1, self.rc2), (0, 0))
        last = self.run1[-1]
        self.assertEqual(last.p["kind"], "monitor_period")
        # sealed at the signal (half-way into a period), not at the last boundary
        self.assertGreaterEqual(last.end_ns, self.term1_ns - 2 * TICK_NS)
        self.assertNotEqual(last.end_ns % (SEAL_S * 10**9), 0, last.p["period"])
        gap = self.seals[len(self.run1)]
        self.assertEqual(gap.p["kind"], "monitor_gap", gap.p)
        self.assertEqual(gap.p["sequence"], last.p["sequence"] + 1)
        self.assertEqual(gap.start_ns, last.end_ns)
        self.assertGreater(gap.end_ns, self.term1_ns)
        self.assertFalse(gap.p["complete"])
        self.assertEqual(self.seals[len(self.run1) + 1].p["kind"], "monitor_period")
        self.assertGreaterEqual(self.seals[-1].end_ns, self.term2_ns - 2 * TICK_NS)

    # --- (i) Redis --------------------------------------------------------------
    def test_i_redis_holds_the_same_seals_when_configured(self):
        """The first monitor pushed to Redis (its last seal, at SIGTERM, too);
        the second ran with redis_url "" and pushed nothing."""
        z, head = self.redis
        by_seq = {s.p["sequence"]: s for s in self.run1}
        self.assertEqual(sorted(z), sorted(by_seq), "sequences in Redis and in the first run's file")
        for seq, text in z.items():
            self.assertEqual(text, by_seq[seq].text, seq)
        last = self.run1[-1]
        self.assertEqual(int(head["sequence"]), last.p["sequence"], head)
        self.assertEqual(head["sha256"], last.payload_sha256(), head)


if __name__ == "__main__":
    unittest.main()
