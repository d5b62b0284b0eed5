#!/usr/bin/python3
"""A fake /sys/class/powercap tree whose counters follow real CPU activity.

package-0 energy advances by idle_w * dt + active_w * busy_seconds(the package's
CPUs, --cpus); dram likewise with its own figures.  Like a real package, a busy
neighbour core draws power as the candidate's core does (issue 8).  Counters wrap at a deliberately small
max_energy_range_uj so that wraps happen inside trials.  Zones are created in an
odd index order (dram is intel-rapl:0:1, an empty 'core' is :0) so the meter must
find them by name.  Values are written in place, fixed width, one pwrite each,
because the meter keeps the files open and a rename would never be seen.

usage: powercap_sim.py ROOT --cpus 0-1 [--range-uj N] [--period-ms 2]
"""
import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import cpu_list  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def busy_jiffies(cpus):
    total = 0
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            parts = line.split()
            if int(parts[0][3:]) in cpus:
                v = [int(x) for x in parts[1:]]
                # user nice system idle iowait irq softirq steal (steal: not ours)
                total += v[0] + v[1] + v[2] + v[5] + v[6]
    return total


def zone(path, name, range_uj):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "name"), "w") as f:
        f.write(name + "\n")
    with open(os.path.join(path, "max_energy_range_uj"), "w") as f:
        f.write("%d\n" % range_uj)
    fd = os.open(os.path.join(path, "energy_uj"), os.O_RDWR | os.O_CREAT, 0o644)
    os.pwrite(fd, b"%020d\n" % 0, 0)
    return fd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--cpus", default="0-1", help="the package's CPUs")
    ap.add_argument("--range-uj", type=int, default=3_000_000)
    ap.add_argument("--period-ms", type=float, default=2.0)
    ap.add_argument("--pkg-idle-w", type=float, default=8.0)
    ap.add_argument("--pkg-active-w", type=float, default=15.0)
    ap.add_argument("--dram-idle-w", type=float, default=1.5)
    ap.add_argument("--dram-active-w", type=float, default=2.0)
    ap.add_argument("--infra-cpu", type=int, default=0)
    a = ap.parse_args()
    cpus = cpu_list(a.cpus)
    try:
        os.sched_setaffinity(0, {a.infra_cpu})
    except OSError:
        pass
    pkg_dir = os.path.join(a.root, "intel-rapl:0")
    pkg = zone(pkg_dir, "package-0", a.range_uj)
    zone(os.path.join(pkg_dir, "intel-rapl:0:0"), "core", a.range_uj)
    dram = zone(os.path.join(pkg_dir, "intel-rapl:0:1"), "dram", a.range_uj)
    with open(os.path.join(a.root, "ready"), "w") as f:
        f.write("1\n")

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    e_pkg = e_dram = 0.0
    last_t, last_b = time.monotonic(), busy_jiffies(cpus)
    while not stop:
        time.sleep(a.period_ms / 1000)
        t, b = time.monotonic(), busy_jiffies(cpus)
        dt, busy = t - last_t, (b - last_b) / CLK_TCK
        last_t, last_b = t, b
        e_pkg += (a.pkg_idle_w * dt + a.pkg_active_w * busy) * 1e6
        e_dram += (a.dram_idle_w * dt + a.dram_active_w * busy) * 1e6
        os.pwrite(pkg, b"%020d\n" % (int(e_pkg) % a.range_uj), 0)
        os.pwrite(dram, b"%020d\n" % (int(e_dram) % a.range_uj), 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
