"""Starts and stops a real jouletrace stack for the end-to-end tests.

Real parts only: redis-server (AOF, appendfsync always so a kill loses nothing
the test relies on), jouletrace-calibrate, -worker and -server from build/, HTTP
over loopback.  Everything runs on the infra CPU; the measurement CPU is left to
the harness.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("JT_BUILDDIR", os.path.join(REPO, "build"))
PY = "/usr/bin/python3"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_list(text):
    """The kernel's CPU-list syntax as a set: "0-3,5"."""
    cpus = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def layout():
    """The CPU layout the service resolves here (jouletrace-server --print-layout)."""
    out = subprocess.run([os.path.join(BUILD, "jouletrace-server"), "--print-layout"],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)


def wait_for(pred, timeout, what, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except Exception:  # noqa: BLE001 - anything means "not yet"
            pass
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.raw = status, headers, body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None


class Stack:
    def __init__(self, meter, infra_cpu=0):
        self.meter = meter
        self.tmp = tempfile.mkdtemp(prefix="jt-e2e-")
        self.procs = {}
        self.infra_cpu = infra_cpu
        self.redis_port = free_port()
        self.port = free_port()
        self.extra = {}
        self.sim_args = []   # more powercap_sim.py options

    # --- processes -------------------------------------------------------
    def _spawn(self, name, argv, **kw):
        with open(os.path.join(self.tmp, name + ".log"), "ab") as log:
            p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                                 preexec_fn=lambda: os.sched_setaffinity(0, {self.infra_cpu}), **kw)
        self.procs[name] = p
        return p

    def stop_proc(self, name, sig=signal.SIGTERM, timeout=15):
        p = self.procs.pop(name, None)
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def start_redis(self):
        d = os.path.join(self.tmp, "redis")
        os.makedirs(d, exist_ok=True)
        self._spawn("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port),
                              "--dir", d, "--appendonly", "yes", "--appendfsync", "always",
                              "--save", "", "--daemonize", "no"])
        wait_for(lambda: socket.create_connection(("127.0.0.1", self.redis_port), 0.2).close() or True,
                 10, "redis")

    def write_config(self, name="jouletrace.conf", **overrides):
        cfg = {
            "listen": "127.0.0.1:%d" % self.port,
            "redis_url": "redis://127.0.0.1:%d/0" % self.redis_port,
            "meter": self.meter,
            "powercap_root": os.path.join(self.tmp, "powercap"),
            "calibration_file": os.path.join(self.tmp, "calibration.json"),
            "key_file": os.path.join(self.tmp, "keys", "seal.key"),
            "host_id": "e2e-" + self.meter,
            "python": PY,
            "harness_path": os.path.join(REPO, "executor", "harness.py"),
            "heartbeat_interval_ms": "300",
            "worker_ttl_ms": "2000",
            "lock_ttl_ms": "3000",
            "validate_timeout_seconds": "30",
            "log_level": "info",
        }
        cfg.update(self.extra)
        cfg.update(overrides)
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            for k, v in cfg.items():
                f.write('%s = "%s"\n' % (k, v))
        return path

    def require_token(self, token):
        """Before start(): the server takes only token (api_tokens_file), and
        this Stack's requests send it as a bearer.  Returns the request
        function that sends none, for the tests of refusals."""
        tokens = os.path.join(self.tmp, "tokens")
        with open(tokens, "w") as f:
            f.write(token + "\n")
        self.extra["api_tokens_file"] = tokens
        bare = self.request

        def request(method, path, body=None, headers=None, **kw):
            h = {"Authorization": "Bearer " + token}
            h.update(headers or {})
            return bare(method, path, body, headers=h, **kw)
        self.request = request
        return bare

    def start_powercap_sim(self, *args):
        """The simulated powercap tree (powercap_sim.py args, then sim_args),
        at the config's powercap_root; returns that root once it is ready."""
        root = os.path.join(self.tmp, "powercap")
        self._spawn("powercap_sim", [PY, os.path.join(REPO, "tests", "e2e", "powercap_sim.py"),
                                     root, "--infra-cpu", str(self.infra_cpu)]
                    + list(args) + self.sim_args)
        wait_for(lambda: os.path.exists(os.path.join(root, "ready")), 10, "powercap simulator")
        return root

    def start(self):
        if self.meter == "powercap":
            # the law covers the whole package, as a real one does
            self.start_powercap_sim("--cpus", layout()["package_cpus"])
        self.start_redis()
        self.config = self.write_config()
        self.calibrate()
        self.start_worker()
        self.start_server()

    def calibrate(self, duration=3, within=60):
        # Calibration refuses (exit 1) while the package is busy; like an
        # operator, wait for a quiet moment and try again for a bounded time,
        # then write it anyway with --force, which the profile records (and
        # every result and seal that uses it says so): a test run on a busy
        # machine is then still a test run, not a failure.
        end = time.monotonic() + within
        args = [os.path.join(BUILD, "jouletrace-calibrate"), "--config", self.config,
                "--duration", str(duration)]
        while True:
            r = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120,
                               preexec_fn=lambda: os.sched_setaffinity(0, {self.infra_cpu}))
            if r.returncode != 1 or "--force" in args:
                break
            if time.monotonic() + duration + 2 > end:
                args.append("--force")
                continue
            time.sleep(2)
        if r.returncode != 0:
            raise AssertionError("calibration failed: " + r.stdout + r.stderr)
        with open(os.path.join(self.tmp, "calibration.json")) as f:
            self.calibration_forced = json.load(f).get("forced", False)
        if self.calibration_forced:
            print("stack: calibration forced on a busy machine:", r.stdout, file=sys.stderr)

    def start_worker(self, name="worker"):
        self._spawn(name, [os.path.join(BUILD, "jouletrace-worker"), "--config", self.config])
        wait_for(lambda: self.get("/api/v1/health").json["workers_live"] >= 1
                 if "server" in self.procs else True, 15, "worker heartbeat")

    def start_server(self, name="server", config=None, port=None):
        port = port or self.port
        self._spawn(name, [os.path.join(BUILD, "jouletrace-server"), "--config", config or self.config])
        wait_for(lambda: self.get("/ping", port=port).status == 200, 15, "server")
        if name == "server":
            wait_for(lambda: self.get("/api/v1/health").json["workers_live"] >= 1, 15,
                     "worker heartbeat")

    def sanitizer_reports(self):
        """Sanitizer findings in any component log (a clean run has none)."""
        found = []
        for f in sorted(os.listdir(self.tmp)):
            if f.endswith(".log"):
                text = self.log(f[:-4])
                for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                    i = text.find(marker)
                    if i >= 0:
                        found.append("%s: %s" % (f, text[max(0, i - 200):i + 1500]))
        return found

    def start_or_explain(self):
        """start(), and on failure print the components' logs and clean up."""
        try:
            self.start()
        except Exception:
            for name in ("worker", "server", "calibrate"):
                try:
                    print("---- %s log\n%s" % (name, self.log(name)[-3000:]))
                except OSError:
                    pass
            self.close()
            raise

    def close_checked(self):
        """Stops everything, cleans up, and fails on any sanitizer report in the logs."""
        self.stop_all()
        reports = self.sanitizer_reports()
        self.close()
        if reports:
            raise AssertionError("sanitizer reports:\n" + "\n".join(reports))

    def stop_all(self):
        # the last started first: servers and workers before Redis, which they
        # would otherwise keep retrying until their stop timeout
        for name in reversed(list(self.procs)):
            self.stop_proc(name)

    def close(self):
        self.stop_all()
        if os.environ.get("JT_E2E_KEEP"):
            print("e2e: kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def log(self, name):
        with open(os.path.join(self.tmp, name + ".log"), errors="replace") as f:
            return f.read()

    # --- HTTP ------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, port=None, raw=None, timeout=60):
        url = "http://127.0.0.1:%d%s" % (port or self.port, path)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Content-Type": "application/json"} if data is not None else {}
        h.update(headers or {})
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Response(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, dict(e.headers), e.read())

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def wait_task(self, task_id, timeout=180, statuses=("completed", "failed", "cancelled"),
                  port=None):
        stages = []

        def done():
            r = self.get("/api/v1/tasks/" + task_id, port=port)
            if r.status != 200:
                return None
            if not stages or stages[-1] != r.json.get("stage"):
                stages.append(r.json.get("stage"))
            return r.json if r.json["status"] in statuses else None
        t = wait_for(done, timeout, "task " + task_id, step=0.1)
        t["_stages"] = stages
        return t
