"""Issue 12, points 2 and 4: the report page, the comparison (JSON and page).

A stack of its own (model meter, a bearer token): two measured tasks and a
failed one whose candidate ids, problem names, test ids and expected outputs
hold HTML and script on purpose, and one cancelled while queued.  The pages
must say the numbers of the task JSON (the charts' data-value are read back),
carry every section, verify the seal, contain the outside strings only as
text (parsed with html.parser: no script, no img, no on* attribute), send
their CSP, nosniff and no-store, and ask a browser for Basic auth; the
comparison's JSON and page must agree, and its t and df are recomputed here
from the per-trial figures (Welch).

run_e2e.py imports the class.
"""
import base64
import html.parser
import json
import math
import os
import subprocess
import unittest

from stack import Stack

ENABLED = True
TOKEN = "pages-t0ken"
EVIL = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>",
        "'><svg onload=alert(1)>", "</textarea><b>x</b>&amp;"]
CHEAP = "def solve(s):\n    return s + EVIL\nEVIL = %r\n" % EVIL[0]
DEAR = ("def solve(s):\n    t = 0\n    for i in range(3000):\n        t += i\n"
        "    return s + EVIL\nEVIL = %r\n" % EVIL[0])
WRONG = "def solve(s):\n    return 'nope'\n"
SECTIONS = ["summary", "energy", "split", "attribution", "sizing", "validation",
            "environment", "seal"]


def cases():
    return [{"test_id": EVIL[i % len(EVIL)] + str(i), "inputs": [EVIL[(i + 1) % len(EVIL)]],
             "expected_output": EVIL[(i + 1) % len(EVIL)] + EVIL[0]} for i in range(3)]


def body(code, cid, **kw):
    b = {"candidate_code": code, "function_name": "solve", "test_cases": cases(),
         "energy_measurement_trials": 4, "min_trials": 3, "warmup_trials": 1,
         "min_trial_seconds": 0.2, "timeout_seconds": 30, "candidate_id": cid,
         "problem_name": EVIL[1] + " & " + EVIL[2]}
    b.update(kw)
    return b


def g9(v):
    """A number as the pages print it (C's "%.9g")."""
    return "%.9g" % v


class Page(html.parser.HTMLParser):
    """Every element with its attributes, and the text under each id/class."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elements = []   # (tag, attrs dict)
        self.open = []       # stack of indexes into elements
        self.texts = {}      # element index -> text
        self.feed(text)

    VOID = ("meta", "br", "img", "input", "link", "hr", "col", "area", "base", "wbr", "source")

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(len(self.elements) - 1)

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if any(self.elements[i][0] == tag for i in self.open):
            while self.elements[self.open.pop()][0] != tag:
                pass

    def handle_data(self, data):
        for i in self.open:
            self.texts[i] = self.texts.get(i, "") + data

    def find(self, **want):
        return [(i, a) for i, (t, a) in enumerate(self.elements)
                if all(a.get(k.replace("_", "-")) == v for k, v in want.items())]

    def text(self):
        return "".join(self.texts.get(i, "") for i in range(len(self.elements))
                       if self.elements[i][0] == "body")

    def marks(self, chart):
        """The marks of <svg data-chart=chart>, in order: [(label, value, attrs)]."""
        (start, svg), = self.find(data_chart=chart)
        out = []
        for t, a in self.elements[start + 1:]:
            if t == "svg":
                break
            if "mark" in a.get("class", "").split():
                out.append((a.get("data-label"), a.get("data-value"), a))
        return svg, out


def welch(a, b):
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a) / (len(a) - 1) / len(a)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1) / len(b)
    t = (ma - mb) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return t, df


class T036Pages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not ENABLED:
            raise unittest.SkipTest("runs with the model meter run only")
        cls.S = S = Stack("model")
        S.extra.update(rate_limit_per_minute="0")
        cls.raw = S.require_token(TOKEN)
        S.start_or_explain()
        try:
            cls.ids = [S.post("/api/v1/measure", body(CHEAP, EVIL[0])).json["task_id"],
                       S.post("/api/v1/measure", body(DEAR, EVIL[3])).json["task_id"],
                       S.post("/api/v1/measure", body(WRONG, EVIL[1])).json["task_id"]]
            # the worker is busy: this one is still queued, then cancelled
            q = S.post("/api/v1/measure", body(CHEAP, "queued " + EVIL[2])).json["task_id"]
            cls.queued_page = S.get("/api/v1/tasks/%s/report" % q)
            cls.queued_status = S.get("/api/v1/tasks/" + q).json["status"]
            assert S.request("DELETE", "/api/v1/tasks/" + q).status == 200
            cls.ids.append(q)
            cls.tasks = [S.wait_task(i) for i in cls.ids]
        except Exception:
            S.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.S.close_checked()

    def page(self, path, status=200, **kw):
        r = self.S.get(path, **kw)
        self.assertEqual(r.status, status, r.raw[:500])
        h = {k.lower(): v for k, v in r.headers.items()}
        self.assertEqual(h["content-type"], "text/html; charset=utf-8")
        self.assertEqual(h.get("x-content-type-options"), "nosniff")
        self.assertEqual(h.get("cache-control"), "no-store")
        csp = h.get("content-security-policy", "")
        self.assertIn("default-src 'none'", csp)
        self.assertNotIn("script-src", csp)     # no page here runs any script
        text = r.raw.decode()
        self.assertTrue(text.startswith("<!DOCTYPE html>"))
        return Page(text), text

    def assert_inert(self, p, text):
        """Outside strings are text only: no script, no img, no on* handler, no link out."""
        for tag, attrs in p.elements:
            self.assertNotIn(tag, ("script", "img", "iframe", "object", "embed", "link"), attrs)
            for k, v in attrs.items():
                self.assertFalse(k.startswith("on"), (tag, attrs))
                if k in ("href", "src"):
                    self.assertTrue(v.startswith("/") or v.startswith("#"), (tag, attrs))
        self.assertNotIn("<script", text.lower())
        self.assertNotIn("<img", text.lower())

    def test_a_report_says_the_task_numbers(self):
        for t in self.tasks[:2]:
            self.assertEqual(t["status"], "completed", t.get("error_message"))
            p, text = self.page("/api/v1/tasks/%s/report" % t["task_id"])
            self.assert_inert(p, text)
            for s in SECTIONS:
                self.assertEqual(len(p.find(id=s)), 1, s)
            em = t["energy_metrics"]
            svg, marks = p.marks("trials")
            kept = [tr for tr in t["trials"] if tr["kept"]]
            self.assertEqual([m[1] for m in marks], [g9(tr["candidate_energy_uj"] / 1e6) for tr in kept])
            self.assertEqual(svg["data-median"], g9(em["median_total_energy_joules"]))
            self.assertEqual(svg["data-ci-low"], g9(em["ci95_total_energy_joules"][0]))
            self.assertEqual(svg["data-ci-high"], g9(em["ci95_total_energy_joules"][1]))
            _, split = p.marks("split")
            self.assertEqual([(m[0], m[1]) for m in split],
                             [("package", g9(em["median_package_energy_joules"])),
                              ("dram", g9(em["median_ram_energy_joules"]))])
            procs = sorted(t["attribution"]["processes"], key=lambda x: -x["energy_joules"])
            _, pm = p.marks("processes")
            want = [("%s (%d)" % (x["comm"], x["pid"]), x["energy_joules"]) for x in procs[:10]]
            if len(procs) > 10:
                want.append(("other", sum(x["energy_joules"] for x in procs[10:])))
            self.assertEqual([m[0] for m in pm], [w[0] for w in want])
            for m, w in zip(pm, want):
                self.assertAlmostEqual(float(m[1]), w[1], delta=1e-9 * max(1, w[1]))
            (_, seal), = p.find(id="seal")
            self.assertEqual(seal["data-verified"], "true")
            (i, _), = [(i, a) for i, (tag, a) in enumerate(p.elements)
                       if "key-id" in a.get("class", "").split()]
            self.assertEqual(p.texts[i], t["seal"]["signature"]["key_id"])

    def test_a_report_of_an_altered_record(self):
        # the seal intact, the stored reply's headline halved (the record
        # altered in Redis after sealing): the page must not say "verified"
        t = self.tasks[1]
        key = "jt:task:" + t["task_id"]
        cli = ["redis-cli", "-p", str(self.S.redis_port)]
        body = subprocess.run(cli + ["HGET", key, "body"], capture_output=True, text=True,
                              check=True).stdout.rstrip("\n")
        altered = json.loads(body)
        altered["energy_metrics"]["energy_per_call_joules"] /= 2
        subprocess.run(cli + ["HSET", key, "body", json.dumps(altered)], check=True,
                       capture_output=True)
        try:
            p, _ = self.page("/api/v1/tasks/%s/report" % t["task_id"])
            (_, seal), = p.find(id="seal")
            self.assertEqual(seal["data-verified"], "false")
            (_, fig), = p.find(id="figures")
            self.assertEqual(fig["data-figures"], "differ")
            self.assertIn("NOT the sealed ones: energy_per_call_joules", p.text())
        finally:
            subprocess.run(cli + ["HSET", key, "body", body], check=True, capture_output=True)
        p, _ = self.page("/api/v1/tasks/%s/report" % t["task_id"])
        (_, fig), = p.find(id="figures")
        self.assertEqual(fig["data-figures"], "as-sealed")

    def test_b_outside_strings_are_only_text(self):
        t = self.tasks[0]
        p, text = self.page("/api/v1/tasks/%s/report" % t["task_id"])
        body_text = p.text()
        self.assertIn(t["candidate_id"], body_text)
        self.assertIn(t["problem_name"], body_text)
        for r in t["validation"]["test_results"]:
            self.assertIn(r["test_id"], body_text)
            self.assertIn(json.dumps(r["expected"]), body_text)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", text)
        failed = self.tasks[2]
        self.assertEqual(failed["status"], "failed")
        p, text = self.page("/api/v1/tasks/%s/report" % failed["task_id"])
        self.assert_inert(p, text)
        self.assertIn(failed["error_message"], p.text())

    def test_c_every_task_has_a_report(self):
        self.assertEqual(self.queued_page.status, 200)
        self.assertIn(self.queued_status, ("queued", "running"))
        for t in self.tasks[2:]:
            self.assertIn(t["status"], ("failed", "cancelled"))
            p, text = self.page("/api/v1/tasks/%s/report" % t["task_id"])
            self.assert_inert(p, text)
            for s in SECTIONS:
                self.assertEqual(len(p.find(id=s)), 1, s)
            self.assertEqual(p.find(id="seal")[0][1]["data-verified"], "false")
            self.assertIn(t["status"], p.text())
        self.page("/api/v1/tasks/00000000-0000-4000-8000-000000000000/report", 404)
        self.page("/api/v1/tasks/%3Cscript%3E/report", 404)

    def test_d_compare_json_and_page_agree(self):
        ids = self.ids[:3]
        r = self.S.get("/api/v1/compare?ids=" + ",".join(ids))
        self.assertEqual(r.status, 200, r.raw)
        c = r.json
        self.assertEqual([it["task_id"] for it in c["items"]], ids)
        for it, t in zip(c["items"][:2], self.tasks[:2]):
            self.assertTrue(it["comparable"])
            self.assertEqual(it["energy_per_call_joules"], t["energy_metrics"]["energy_per_call_joules"])
            calls = t["energy_metrics"]["passes_per_trial"] * t["validation"]["total_tests"]
            figs = [tr["candidate_energy_uj"] / 1e6 / (tr["passes"] * t["validation"]["total_tests"])
                    for tr in t["trials"] if tr["kept"]]
            for a, b in zip(it["trial_per_call_joules"], figs):
                self.assertAlmostEqual(a, b, delta=1e-12)
            self.assertAlmostEqual(it["ci95_per_call_joules"][0],
                                   t["energy_metrics"]["ci95_total_energy_joules"][0] / calls, delta=1e-15)
        self.assertFalse(c["items"][2]["comparable"])
        (pair,) = c["pairs"]
        tt, df = welch(c["items"][0]["trial_per_call_joules"], c["items"][1]["trial_per_call_joules"])
        self.assertAlmostEqual(pair["t"], tt, delta=1e-6 * abs(tt))
        self.assertAlmostEqual(pair["df"], df, delta=1e-6 * df)

        p, text = self.page("/compare?ids=" + "%2C".join(ids))
        self.assert_inert(p, text)
        _, marks = p.marks("compare")
        self.assertEqual([(m[0], m[1], m[2]["data-ci-low"], m[2]["data-ci-high"]) for m in marks],
                         [(it["task_id"], g9(it["energy_per_call_joules"]),
                           g9(it["ci95_per_call_joules"][0]), g9(it["ci95_per_call_joules"][1]))
                          for it in c["items"] if it["comparable"]])
        (_, row), = p.find(data_a=pair["a"])
        for k in ("t", "df", "p_value", "p_adjusted"):
            self.assertEqual(row["data-" + k], g9(pair[k]), k)
        self.assertEqual(row["data-significant"], "true" if pair["significant"] else "false")
        self.assertIn("Welch's t-test on per-trial energy per call, Holm-adjusted over 1 pair, "
                      "alpha 0.05", p.text())
        for i in ids:
            self.assertTrue(p.find(href="/api/v1/tasks/%s/report" % i), i)
        for w in c["warnings"]:
            self.assertIn(w, p.text())

    def test_e_compare_errors(self):
        a, b = self.ids[:2]
        unknown = "00000000-0000-4000-8000-00000000abcd"
        r = self.S.get("/api/v1/compare?ids=%s,%s" % (a, unknown))
        self.assertEqual(r.status, 404)
        self.assertIn(unknown, r.json["message"])
        many = ",".join("00000000-0000-4000-8000-%012d" % i for i in range(21))
        for q in ("", "ids=", "ids=%s,%s" % (a, a), "ids=" + many, "ids=%s,nope" % a, "ids=%s,,%s" % (a, b)):
            r = self.S.get("/api/v1/compare?" + q)
            self.assertEqual(r.status, 422, q)
            self.assertEqual(r.json["field_errors"][0]["field"], "ids")
            self.page("/compare?" + q, 422)
        p, _ = self.page("/compare?ids=" + unknown, 404)
        self.assertIn(unknown, p.text())

    def test_f_pages_ask_a_browser_for_basic(self):
        report = "/api/v1/tasks/%s/report" % self.ids[0]
        good = "Basic " + base64.b64encode(("anyone:" + TOKEN).encode()).decode()
        wrong = "Basic " + base64.b64encode(b"anyone:nope").decode()
        for path in (report, "/compare?ids=" + self.ids[0]):
            for auth in ({}, {"Authorization": wrong}, {"Authorization": "Bearer nope"}):
                r = self.raw("GET", path, headers=auth)
                self.assertEqual(r.status, 401)
                h = {k.lower(): v for k, v in r.headers.items()}
                self.assertEqual(h["www-authenticate"], 'Basic realm="jouletrace"')
                self.assertTrue(h["content-type"].startswith("text/html"))
            self.assertEqual(self.raw("GET", path, headers={"Authorization": good}).status, 200)
        r = self.raw("GET", "/api/v1/compare?ids=" + self.ids[0])
        self.assertEqual(r.status, 401)
        self.assertEqual({k.lower(): v for k, v in r.headers.items()}["www-authenticate"],
                         'Bearer realm="jouletrace"')
        self.assertEqual(self.raw("GET", "/api/v1/tasks/" + self.ids[0],
                                  headers={"Authorization": good}).status, 200)
        # the metric names the route by its pattern, never a task id
        m = self.S.get("/metrics").raw.decode()
        self.assertIn('route="/api/v1/tasks/{id}/report"', m)
        self.assertNotIn(self.ids[0], m)
