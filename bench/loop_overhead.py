#!/usr/bin/python3
"""What the loop of a window costs per call (issue 7, "keep the window pure"):

  python_discard  the loop before issue 7: a Python for-loop per pass, outputs
                  dropped (the last pass collected by a list comprehension)
  sampled         executor/harness.py's window() now: C-level loops
                  (starmap drained by a zero-length deque), three passes kept
  keep_all        every output of every pass kept (the other way to make
                  checked calls look like the rest), measured to show why it
                  is not used: the kept objects' memory and garbage collection
                  land inside the window

for functions returning an int, a fresh one-element list and a fresh
200-element list; 1 and 10 test cases.  Best of 5 runs, about 2,000,000 calls
each (100,000 for the sort), gc.freeze() before the window as the harness does.

usage: bench/loop_overhead.py      prints one JSON line per case
"""
import collections
import gc
import itertools
import json
import time

starmap, repeat = itertools.starmap, itertools.repeat
chain = itertools.chain.from_iterable


def python_discard(fn, calls, passes):
    for _ in range(passes - 1):
        for a in calls:
            fn(*a)
    return [fn(*a) for a in calls]


def sampled(fn, calls, passes, keep=None):
    keep = keep or sorted({0, passes // 2, passes - 1})
    kept, done = [], 0
    for j in keep:
        collections.deque(starmap(fn, chain(repeat(calls, j - done))), 0)
        kept.extend(starmap(fn, calls))
        done = j + 1
    collections.deque(starmap(fn, chain(repeat(calls, passes - done))), 0)
    return kept


def keep_all(fn, calls, passes):
    return list(starmap(fn, chain(repeat(calls, passes))))


def best(loop, fn, calls, passes):
    out = []
    for _ in range(5):
        gc.collect()
        gc.freeze()
        t = time.perf_counter_ns()
        kept = loop(fn, calls, passes)
        t = time.perf_counter_ns() - t
        gc.unfreeze()
        kept = None
        out.append(t / (passes * len(calls)))
    return round(min(out), 1)


def int_out(n):
    return n * 2


def list_out(n):
    return [n]


def sort_200(n):
    return sorted(range(n, 0, -1))


def main():
    for fn, arg, total in ((int_out, 7, 2000000), (list_out, 7, 2000000), (sort_200, 200, 100000)):
        for n in (1, 10):
            calls = [(arg + i,) for i in range(n)]
            row = {"function": fn.__name__, "tests": n}
            for loop in (python_discard, sampled, keep_all):
                row[loop.__name__ + "_ns_per_call"] = best(loop, fn, calls, total // n)
            print(json.dumps(row))


if __name__ == "__main__":
    main()
