#!/usr/bin/python3
"""Where the host monitor's in-kernel cost per context switch goes
(docs/PERFORMANCE.md, issue 13's overhead budget).

  bench/switch_cost.py [--runs 5] [--seconds 5]

Beside bench/threadload.c (the monitor benchmark's 10,000 threads, tens of
thousands of switches a second), loads one sched_switch program at a time
and reads the kernel's run statistics (kernel.bpf_stats_enabled, whose own
clock reads are in every figure): the variants of bench/switchcost/
switchcost.bpf.c, each adding one step of what procacct.bpf.c does, and
procacct_switch itself from the build.  Prints runs/s and the median ns per
run of --runs runs.  Root, a built tree (make: build/procacct.bpf.o).
"""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from monitor_overhead import ThreadLoad  # noqa: E402
from stack import BUILD  # noqa: E402  (monitor_overhead put tests/e2e on the path)

VARIANTS = ("empty", "clock", "identity", "hashed")
STATS = "/proc/sys/kernel/bpf_stats_enabled"


def build():
    out = os.path.join(BUILD, "bench", "switchcost")
    os.makedirs(out, exist_ok=True)
    src = os.path.join(HERE, "switchcost")
    obj, loader = os.path.join(out, "switchcost.bpf.o"), os.path.join(out, "load")
    subprocess.run(["clang", "-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86", "-I", BUILD,
                    "-c", os.path.join(src, "switchcost.bpf.c"), "-o", obj], check=True)
    subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-o", loader, os.path.join(src, "load.c"), "-lbpf"],
                   check=True)
    return obj, loader


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    obj, loader = build()
    real = os.path.join(BUILD, "procacct.bpf.o")
    progs = [(obj, v) for v in VARIANTS] + [(real, "procacct_switch")]
    with open(STATS) as f:
        stats0 = f.read().strip()
    load = ThreadLoad(100, 100, 5, 20, 20)
    got = {name: [] for _, name in progs}
    rate = {name: [] for _, name in progs}
    try:
        with open(STATS, "w") as f:
            f.write("1")
        for _ in range(args.runs):
            for o, name in progs:   # interleaved: a drift in load touches every variant alike
                r = subprocess.run([loader, o, name, str(args.seconds)], capture_output=True,
                                   text=True, check=True)
                _, runs, ns = r.stdout.split()
                got[name].append(float(ns))
                rate[name].append(int(runs) / args.seconds)
    finally:
        with open(STATS, "w") as f:
            f.write(stats0)
        load.stop()
    print("%d threads of bench/threadload, %d runs of %d s per program" % (load.threads, args.runs,
                                                                          args.seconds))
    print("| program | runs/s | ns per run, median (min–max) |")
    print("|---|---|---|")
    for _, name in progs:
        v = got[name]
        print("| %s | %.0f | %.0f (%.0f–%.0f) |" % (name, statistics.median(rate[name]),
                                                  statistics.median(v), min(v), max(v)))


if __name__ == "__main__":
    main()
