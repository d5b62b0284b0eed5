"""The load test's parts: a keep-alive HTTP client, a small Redis (RESP)
client, and a sampler of process RSS, descriptors and the hosts' locks."""
import http.client
import json
import os
import socket
import threading
import time


class Client:
    """One keep-alive connection (http.client), reopened after an error."""

    def __init__(self, port):
        self.port = port
        self.conn = None
        self.sent = 0       # requests answered

    def reset(self):
        if self.conn:
            self.conn.close()
        self.conn = None

    def close(self):
        self.reset()

    def request(self, method, path, raw=None, headers=None, want_headers=False):
        h = {"Content-Type": "application/json"} if raw is not None else {}
        h.update(headers or {})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=raw, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                self.sent += 1
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # the server may close an idle keep-alive connection: once, reconnect
                self.reset()
                if attempt:
                    raise
        try:
            j = json.loads(data) if data else None
        except ValueError:
            j = None
        if want_headers:
            return r.status, j, {k.lower(): v for k, v in r.getheaders()}
        return r.status, j


class Redis:
    """Just enough RESP2 to read jouletrace's keys; one connection, one thread."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), 10)
        self.f = self.sock.makefile("rb")
        self.mu = threading.Lock()

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        with self.mu:
            self.sock.sendall(out)
            return self._reply()

    def _reply(self):
        line = self.f.readline()[:-2]
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError("redis: " + rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode(errors="replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("redis: bad reply %r" % line)

    def scan(self, pattern):
        cur, keys = "0", []
        while True:
            cur, batch = self.cmd("SCAN", cur, "MATCH", pattern, "COUNT", 1000)
            keys += batch
            if cur == "0":
                return sorted(set(keys))


def proc_sample(pid):
    """(RSS in KiB, open descriptors) of a live process."""
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def percentile(values, p):
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


class Sampler(threading.Thread):
    """Every 0.2 s: RSS and descriptors of each process, the queue depth, and
    which hosts hold their measurement lock (jt:lock:<host>)."""

    def __init__(self, pids, redis, hosts):
        super().__init__(daemon=True)
        self.pids, self.redis, self.hosts = pids, redis, hosts
        self.rows = []          # (t, {name: (rss, fds)}, depth, {host: token or None})
        self.halt = threading.Event()
        self.t0 = time.monotonic()

    def stop(self):
        self.halt.set()
        self.join(10)

    def run(self):
        while not self.halt.is_set():
            try:
                procs = {k: proc_sample(p) for k, p in self.pids.items()}
                depth = self.redis.cmd("LLEN", "jt:q:measure")
                locks = {h: self.redis.cmd("GET", "jt:lock:" + h) for h in self.hosts}
            except (OSError, RuntimeError):
                break
            self.rows.append((time.monotonic() - self.t0, procs, depth, locks))
            self.halt.wait(0.2)
