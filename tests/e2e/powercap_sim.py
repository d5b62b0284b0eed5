#!/usr/bin/python3
"""A fake /sys/class/powercap tree whose counters follow real CPU activity.

Each package's energy advances by idle_w * dt + active_w * busy_seconds(its
CPUs); its DRAM likewise with its own figures.  Like a real package, a busy
neighbour core draws power as the candidate's core does (issue 8).  Counters
wrap at a deliberately small max_energy_range_uj so that wraps happen inside
trials.  Zones are created in an odd index order (dram is intel-rapl:N:1, an
empty 'core' is :0; with several packages the highest package id gets
intel-rapl:0) so the meter must find them by name.  Values are written in
place, fixed width, one pwrite each, because the meter keeps the files open
and a rename would never be seen.

One package (package-0 over --cpus) unless --package ID=CPUS is given, once
per package (the host monitor's tests: several packages on one machine).

A meter failure on demand (issue 13): while a file ROOT/fail-ID exists, both
counters of package ID read as garbage (a reader that keeps the file open sees
it, where an unlink or chmod would not be); the counters keep counting
underneath, as a real one would, and read again once the file is gone.  Each
change is appended to ROOT/faults.log as "ID begin|end UNIX_NS" when applied.
The wraps so far of package ID's counters are in ROOT/wraps-ID ("package N",
"dram N" lines; replaced at each wrap); --start-uj and --dram-start-uj start
the counters that far into their range, so that a test sees a wrap when it
wants one even where the range must be large.

usage: powercap_sim.py ROOT [--cpus 0-1 | --package ID=CPUS ...] [--range-uj N]
                            [--period-ms 2]
"""
import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import cpu_list  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
GARBAGE = b"%-20s\n" % b"meter-failure"


def busy_jiffies():
    """Busy jiffies of every CPU, by CPU number."""
    busy = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            parts = line.split()
            v = [int(x) for x in parts[1:]]
            # user nice system idle iowait irq softirq steal (steal: not ours)
            busy[int(parts[0][3:])] = v[0] + v[1] + v[2] + v[5] + v[6]
    return busy


def zone(path, name, range_uj, start=0):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "name"), "w") as f:
        f.write(name + "\n")
    with open(os.path.join(path, "max_energy_range_uj"), "w") as f:
        f.write("%d\n" % range_uj)
    fd = os.open(os.path.join(path, "energy_uj"), os.O_RDWR | os.O_CREAT, 0o644)
    os.pwrite(fd, b"%020d\n" % start, 0)
    return fd


class Package:
    def __init__(self, spec, a):
        pid, _, cpus = spec.partition("=")
        self.id, self.cpus = int(pid), cpu_list(cpus)
        self.e_pkg, self.e_dram = float(a.start_uj), float(a.dram_start_uj)
        self.failing = False
        self.wraps = (0, 0)

    def create(self, root, index, range_uj):
        d = os.path.join(root, "intel-rapl:%d" % index)
        self.fds = [zone(d, "package-%d" % self.id, range_uj, int(self.e_pkg))]
        zone(os.path.join(d, "intel-rapl:%d:0" % index), "core", range_uj)
        self.fds.append(zone(os.path.join(d, "intel-rapl:%d:1" % index), "dram", range_uj,
                             int(self.e_dram)))

    def advance(self, dt, busy, a):
        self.e_pkg += (a.pkg_idle_w * dt + a.pkg_active_w * busy) * 1e6
        self.e_dram += (a.dram_idle_w * dt + a.dram_active_w * busy) * 1e6

    def write(self, root, range_uj):
        failing = os.path.exists(os.path.join(root, "fail-%d" % self.id))
        if failing != self.failing:
            self.failing = failing
            with open(os.path.join(root, "faults.log"), "a") as f:
                f.write("%d %s %d\n" % (self.id, "begin" if failing else "end", time.time_ns()))
        for fd, e in zip(self.fds, (self.e_pkg, self.e_dram)):
            os.pwrite(fd, GARBAGE if failing else b"%020d\n" % (int(e) % range_uj), 0)
        wraps = (int(self.e_pkg) // range_uj, int(self.e_dram) // range_uj)
        if wraps != self.wraps:
            self.wraps = wraps
            tmp = os.path.join(root, ".wraps-%d" % self.id)
            with open(tmp, "w") as f:
                f.write("package %d\ndram %d\n" % wraps)
            os.rename(tmp, os.path.join(root, "wraps-%d" % self.id))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--cpus", default="0-1", help="package-0's CPUs (without --package)")
    ap.add_argument("--package", action="append", default=[],
                    help="ID=CPUS, once per package")
    ap.add_argument("--range-uj", type=int, default=3_000_000)
    ap.add_argument("--start-uj", type=int, default=0, help="the package counters' first value")
    ap.add_argument("--dram-start-uj", type=int, default=0, help="the DRAM counters' first value")
    ap.add_argument("--period-ms", type=float, default=2.0)
    ap.add_argument("--pkg-idle-w", type=float, default=8.0)
    ap.add_argument("--pkg-active-w", type=float, default=15.0)
    ap.add_argument("--dram-idle-w", type=float, default=1.5)
    ap.add_argument("--dram-active-w", type=float, default=2.0)
    ap.add_argument("--infra-cpu", type=int, default=0)
    a = ap.parse_args()
    pkgs = [Package(s, a) for s in a.package or ["0=" + a.cpus]]
    if len({p.id for p in pkgs}) != len(pkgs) or \
            sum(len(p.cpus) for p in pkgs) != len(set().union(*(p.cpus for p in pkgs))):
        raise SystemExit("powercap_sim: a package id or a CPU given twice")
    try:
        os.sched_setaffinity(0, {a.infra_cpu})
    except OSError:
        pass
    for index, p in enumerate(sorted(pkgs, key=lambda p: -p.id)):
        p.create(a.root, index, a.range_uj)
    with open(os.path.join(a.root, "ready"), "w") as f:
        f.write("1\n")

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    last_t, last_b = time.monotonic(), busy_jiffies()
    while not stop:
        time.sleep(a.period_ms / 1000)
        t, b = time.monotonic(), busy_jiffies()
        dt = t - last_t
        for p in pkgs:
            p.advance(dt, sum(b[c] - last_b.get(c, b[c]) for c in p.cpus if c in b) / CLK_TCK, a)
            p.write(a.root, a.range_uj)
        last_t, last_b = t, b
    return 0


if __name__ == "__main__":
    sys.exit(main())
