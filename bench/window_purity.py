#!/usr/bin/python3
"""Issue 7's purity budget, measured through a real stack (Redis, worker,
server, the model meter, the sandbox):

  * non-call time inside an energy window: the window's wall time (the two
    meter readings) minus the span the candidate process itself timed around
    its loop of calls; target <= 0.5 % of a 200 ms trial;
  * job overhead: a task's started_at → finished_at minus the wall time of
    its kept trials (sizing, warm-up, gate, process starts, checks, sealing); target: at most 50 ms more than before the candidate process was
    separated (run this script with --tree on a checkout of the old commit).

usage: bench/window_purity.py [--tree DIR] [--runs N]   (root, Linux)
Prints one JSON object: medians over the runs, and every sample.
DIR defaults to this checkout; it must be built (make) and set up
(scripts/setup.sh).  Each run is one measure task: a ~10 us function, 5 test
cases, one warm-up, exactly 3 trials of >= 0.2 s.
"""
import argparse
import datetime
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def stamp(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", default=os.path.dirname(HERE))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(os.path.abspath(args.tree), "tests", "e2e"))
    from stack import Stack  # the tree's own stack: its worker, its harness

    os.sched_setaffinity(0, {0})
    s = Stack("model")
    s.start_or_explain()
    code = "def solve(n):\n    return sum(range(n))\n"
    body = {"candidate_code": code, "function_name": "solve",
            "test_cases": [{"test_id": str(i), "inputs": [300 + i],
                            "expected_output": sum(range(300 + i))} for i in range(5)],
            "energy_measurement_trials": 3, "min_trials": 3, "warmup_trials": 1,
            "min_trial_seconds": 0.2, "target_cv_percent": 100, "timeout_seconds": 30}
    edges, overhead, samples = [], [], []
    try:
        for _ in range(args.runs):
            r = s.post("/api/v1/measure", body)
            t = s.wait_task(r.json["task_id"], timeout=300)
            if t["status"] != "completed":
                raise SystemExit("task failed: %s" % t)
            kept = [x for x in t["trials"] if x["kept"]]
            for x in kept:
                reported = x.get("reported_ns", x.get("harness_ns"))
                edges.append((x["wall_ns"] - reported) / x["wall_ns"] * 100)
            walls = sum(x["wall_ns"] for x in kept) / 1e9
            # started_at → finished_at: the same clock in every version
            took = (stamp(t["finished_at"]) - stamp(t["started_at"])).total_seconds()
            overhead.append((took - walls) * 1000)
            m = t["energy_metrics"]
            samples.append({"processing_s": round(took, 4), "kept_wall_s": round(walls, 4),
                            "passes": m["passes_per_trial"],
                            # what a slow job spent its time on
                            "sizing_windows": m.get("sizing_windows"),
                            "retried": m.get("retried_trials"), "resized": m.get("resized_trials"),
                            "rejected_flags": [x["flags"] for x in t["trials"] if not x["kept"]]})
    finally:
        s.close()
    print(json.dumps({
        "tree": os.path.abspath(args.tree), "runs": args.runs,
        "non_call_percent_of_window_median": round(statistics.median(edges), 4),
        "non_call_percent_of_window_max": round(max(edges), 4),
        "job_overhead_ms_median": round(statistics.median(overhead), 1),
        "samples": samples}, indent=1))


if __name__ == "__main__":
    main()
