#!/usr/bin/python3
"""The server's pages in a real browser (issue 12, point 5).

Starts a real stack (tests/e2e/stack.py, model meter), submits real tasks --
two honest candidates of different cost, one that fails the gate, one with
HTML and script in every string a page shows -- waits for them, then runs
`node tests/browser/pages.mjs` (playwright-core driving Debian's chromium)
on the report, the comparison and the dashboard with the URLs and the numbers
the pages must carry (from the tasks' JSON and GET /api/v1/compare) in a JSON
file.  Screenshots go to build/artifacts/browser/; --update-screenshots also
writes the README's docs/img/{dashboard,report,compare}.png.

Run it under the measurement lock (it starts a stack):
    flock /tmp/jt-s17-measure.lock /usr/bin/python3 tests/browser/run_browser.py

A page the server does not serve yet (the report and comparison come from the
"pages" work) fails the run as "not available"; --allow-missing-pages reports
it and passes, for a branch that has only the dashboard.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from stack import Stack, free_port  # noqa: E402

ARTIFACTS = os.path.join(REPO, "build", "artifacts", "browser")
DOCS_IMG = os.path.join(REPO, "docs", "img")

TESTS = [{"test_id": "small", "inputs": [3], "expected_output": sum(range(3000))},
         {"test_id": "large", "inputs": [7], "expected_output": sum(range(7000))}]
CHEAP = "def solve(n):\n    return sum(range(n * 1000))\n"
DEAR = ("def solve(n):\n    s = 0\n    for i in range(n * 1000):\n        s += i\n"
        "    for i in range(n * 2000):\n        s += 0\n    return s\n")
WRONG = "def solve(n):\n    return n\n"

# Every string a page shows that a client chose; each carries a marker
# element (jt-evil-N) the browser test looks for, and script that would set
# window.__pwned or open a dialog if it ever ran.
HOSTILE = {
    "candidate_id": "<script>window.__pwned=1</script><jt-evil-1>cand</jt-evil-1>",
    "problem_name": "<img src=x onerror=\"window.__pwned=2\"><jt-evil-2>&amp;</jt-evil-2>",
    "test_ids": ["t\"><jt-evil-3 onmouseover=alert(3)>", "<svg onload=alert(4)><jt-evil-4>"],
    "expected": "<jt-evil-5>expected</jt-evil-5><script>alert(5)</script>",
    "actual": "<jt-evil-6 onclick=alert(6)>actual",
    "error": "<jt-evil-7><iframe src=/z></iframe>",
}
HOSTILE_CODE = ("def solve(n):\n"
                "    if n == 3:\n"
                "        return %r\n"
                "    raise ValueError(%r)\n") % (HOSTILE["actual"], HOSTILE["error"])


def measure_body(code, tests=TESTS, **kw):
    b = {"candidate_code": code, "function_name": "solve", "test_cases": tests,
         "energy_measurement_trials": 3}
    b.update(kw)
    return b


def submit(S, body):
    r = S.post("/api/v1/measure", body)
    if r.status != 202:
        raise AssertionError("measure: %d %s" % (r.status, r.raw[:400]))
    return r.json["task_id"]


def report_expect(t):
    """The report's charts of a completed task, as the pages contract defines them."""
    em = t["energy_metrics"]
    procs = sorted(t["attribution"]["processes"], key=lambda p: -p["energy_joules"])
    marks = [["%s (%d)" % (p["comm"], p["pid"]), p["energy_joules"]] for p in procs[:10]]
    if len(procs) > 10:
        marks.append(["other", sum(p["energy_joules"] for p in procs[10:])])
    return {
        "trials": {"values": [x["candidate_energy_uj"] / 1e6 for x in t["trials"] if x.get("kept")],
                   "median": em["median_total_energy_joules"],
                   "ci": em["ci95_total_energy_joules"]},
        "split": [["package", em["median_package_energy_joules"]],
                  ["dram", em["median_ram_energy_joules"]]],
        "processes": marks,
    }


def available(S, path):
    r = S.get(path)
    ct = r.headers.get("Content-Type", "")
    return r.status == 200 and ct.startswith("text/html")


def build_config(S, tasks, late_body, args):
    honest = [tasks["cheap"], tasks["dear"]]
    ids = [t["task_id"] for t in honest]
    rep = "/api/v1/tasks/%s/report"
    cfg = {"base": "http://127.0.0.1:%d" % S.port, "artifacts": ARTIFACTS,
           "docs_img": DOCS_IMG if args.update_screenshots else None, "pages": []}
    report_ok = available(S, rep % ids[0])
    cfg["pages"].append({"name": "report", "url": rep % ids[0], "available": report_ok,
                         "single_request": True, "charts": report_expect(tasks["cheap"]),
                         "sections": ["summary", "energy", "split", "attribution", "sizing",
                                      "validation", "environment", "seal"],
                         "screenshot": "report"})
    cfg["pages"].append({"name": "report-failed", "url": rep % tasks["wrong"]["task_id"],
                         "available": report_ok, "single_request": True,
                         "sections": ["summary", "validation"]})
    cfg["pages"].append({"name": "report-unknown", "status": 404, "available": report_ok,
                         "url": rep % "00000000-0000-4000-8000-000000000000",
                         "single_request": True})
    cfg["pages"].append({"name": "report-hostile", "url": rep % tasks["hostile"]["task_id"],
                         "available": report_ok, "single_request": True,
                         "sections": ["summary", "validation"], "hostile": hostile_texts(True)})
    cmp = S.get("/api/v1/compare?ids=" + ",".join(ids))
    cmp_ok = cmp.status == 200 and cmp.json is not None and available(S, "/compare?ids=" + ",".join(ids))
    marks = []
    if cmp_ok:
        for it in cmp.json["items"]:
            if it.get("comparable"):
                marks.append({"label": it["task_id"], "value": it["energy_per_call_joules"],
                              "ci": it["ci95_per_call_joules"]})
    cfg["pages"].append({"name": "compare", "url": "/compare?ids=" + ",".join(ids),
                         "available": cmp_ok, "single_request": True,
                         "charts": {"compare": marks}, "screenshot": "compare"})
    cfg["pages"].append({
        "name": "dashboard", "url": "/", "available": True, "single_request": False,
        "sections": ["queue", "hosts", "workers", "recent"],
        "hostile": [HOSTILE["candidate_id"], HOSTILE["problem_name"]],
        "tasks": [{"id": t["task_id"], "status": t["status"],
                   "epc": t.get("energy_metrics", {}).get("energy_per_call_joules")}
                  for t in tasks.values()],
        "counts": S.get("/api/v1/health").json["tasks"],
        "host_id": S.get("/api/v1/health").json["hosts"][0]["host_id"],
        "late_task": late_body, "screenshot": "dashboard"})
    return cfg


def start_with_tokens(S):
    """A second server on the same Redis that wants a token: the browser signs
    in with HTTP Basic (the token as password) and the dashboard's refresh
    must carry it."""
    token = "browser-test-token-5f0c2b9e"
    path = os.path.join(S.tmp, "tokens")
    with open(path, "w") as f:
        f.write(token + "\n")
    port = free_port()
    conf = S.write_config("tokens.conf", listen="127.0.0.1:%d" % port, api_tokens_file=path)
    S.start_server("server-tokens", config=conf, port=port)
    return {"base": "http://127.0.0.1:%d" % port, "user": "anyone", "token": token}


def hostile_texts(all_of_them):
    t = [HOSTILE["candidate_id"], HOSTILE["problem_name"]]
    if all_of_them:
        t += HOSTILE["test_ids"] + ["<jt-evil-5>expected</jt-evil-5>", "<jt-evil-6 onclick=alert(6)>",
                                    "<jt-evil-7>"]
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--update-screenshots", action="store_true",
                    help="also write docs/img/{dashboard,report,compare}.png")
    ap.add_argument("--allow-missing-pages", action="store_true",
                    help="report a page the server does not serve as not available, and pass")
    ap.add_argument("--keep", action="store_true", help="keep the stack's directory")
    args = ap.parse_args()
    for need in (os.path.join(HERE, "node_modules", "playwright-core"), "/usr/bin/chromium"):
        if not os.path.exists(need):
            print("browser: %s is missing: run scripts/setup.sh" % need)
            return 1
    os.makedirs(ARTIFACTS, exist_ok=True)
    S = Stack("model")
    # others' processes on the measurement CPU (builds are not under the lock)
    # requeue a task as host_busy: try again each second, not after 15 s
    S.extra["host_busy_backoff_seconds"] = "1"
    S.start_or_explain()
    try:
        t0 = time.monotonic()
        ids = {
            "cheap": submit(S, measure_body(CHEAP, candidate_id="sum-builtin", problem_name="sum")),
            "dear": submit(S, measure_body(DEAR, candidate_id="sum-loops", problem_name="sum")),
            "wrong": submit(S, measure_body(WRONG, candidate_id="sum-wrong", problem_name="sum")),
            "hostile": submit(S, measure_body(
                HOSTILE_CODE, candidate_id=HOSTILE["candidate_id"],
                problem_name=HOSTILE["problem_name"],
                tests=[{"test_id": HOSTILE["test_ids"][0], "inputs": [3],
                        "expected_output": HOSTILE["expected"]},
                       {"test_id": HOSTILE["test_ids"][1], "inputs": [4],
                        "expected_output": "x"}])),
        }
        tasks = {k: S.wait_task(v, timeout=600) for k, v in ids.items()}
        for k, want in (("cheap", "completed"), ("dear", "completed"), ("wrong", "failed"),
                        ("hostile", "failed")):
            if tasks[k]["status"] != want:
                raise AssertionError("task %s: %s, not %s: %s" % (k, tasks[k]["status"], want,
                                                                   json.dumps(tasks[k])[:600]))
            tasks[k].pop("_stages", None)
        print("browser: 4 tasks measured in %.1f s" % (time.monotonic() - t0))
        late = measure_body(CHEAP, candidate_id="late-arrival", problem_name="sum")
        cfg = build_config(S, tasks, late, args)
        cfg["auth"] = start_with_tokens(S)
        path = os.path.join(ARTIFACTS, "config.json")
        with open(path, "w") as f:
            json.dump(cfg, f, indent=1)
        env = dict(os.environ, JT_ALLOW_MISSING_PAGES="1" if args.allow_missing_pages else "0")
        rc = subprocess.run(["node", os.path.join(HERE, "pages.mjs"), path], cwd=REPO, env=env,
                            timeout=240).returncode
        reports = S.sanitizer_reports()
        if reports:
            print("browser: sanitizer reports:\n" + "\n".join(reports))
            rc = rc or 1
    finally:
        if args.keep:
            os.environ["JT_E2E_KEEP"] = "1"
        S.close()
    print("browser: %s (screenshots in %s)" % ("passed" if rc == 0 else "FAILED",
                                                os.path.relpath(ARTIFACTS, REPO)))
    return rc


if __name__ == "__main__":
    sys.exit(main())
