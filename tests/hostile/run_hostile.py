#!/usr/bin/python3
"""The hostile suite: candidates that attack the sandbox (SPEC section 9,
docs/SECURITY.md), run through a real stack (tests/e2e/stack.py: Redis,
worker, server, HTTP on loopback).

Every case goes through POST /api/v1/validate, which runs the candidate in the
same sandbox as the correctness gate and the trials (a few cases go through
POST /api/v1/measure as well).  After each case the suite checks that

  * the outcome is the expected one, a specific error_type (see EXPECTATIONS),
  * the worker process is alive and a normal candidate still validates,
  * no process of the sandbox uid is left anywhere on the host,
  * no marker file the candidate tried to write appeared on the host,

and at the end that no file owned by the sandbox uid exists in the host's
temporary directories or the repository.

usage: run_hostile.py [-k NAME] [unittest args]   (x86_64 Linux, as root,
after scripts/setup.sh created the sandbox user)
"""
import os
import platform
import pwd
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from stack import BUILD, REPO, Stack, wait_for  # noqa: E402

SANDBOX_USER = "jouletrace-sbx"
MARKER = "jt-hostile-marker"
MARKER_PATHS = ["/tmp/" + MARKER, "/var/tmp/" + MARKER, "/dev/shm/" + MARKER,
                os.path.join(REPO, MARKER), "/root/" + MARKER, "/" + MARKER]
S = None
PW = None

# ---- the cases -------------------------------------------------------------
#
# EXPECTATIONS — how each case must end (the mapping docs/SECURITY.md documents):
#   ("error", T)          the whole run failed with error_type T:
#                           timeout            wall-clock deadline (timeout_seconds) or CPU limit
#                           memory_limit       the memory cgroup's OOM killer struck the tree
#                           sandbox_violation  a forbidden system call (seccomp, SIGSYS)
#                           runtime_error      the harness process died otherwise (a signal)
#   ("test", T, REGEX)    the candidate raised inside the call: validation failed
#                         with that test's error_type T (runtime_error or
#                         memory_limit) and its error text matching REGEX
#   ("passes", None)      the candidate returned what the sandbox let it observe,
#                         and that equals the safe answer (expected_output)
#   ("wrong", X)          it answered X, and X is not the expected output (a
#                         random secret the candidate cannot compute)

HANG = 1    # timeout_seconds for the cases that never return

CASES = {
    # -- never returning
    "infinite_loop": ("def solve():\n    while True:\n        pass\n", ("error", "timeout"), {}),
    "sleep_forever": ("import time\ndef solve():\n    time.sleep(10**6)\n", ("error", "timeout"), {}),
    "pause": ("import signal\ndef solve():\n    signal.pause()\n", ("error", "timeout"), {}),
    "sigstop_itself": (
        "import os, signal\n"
        "def solve():\n"
        "    os.kill(os.getpid(), signal.SIGSTOP)   # ignored by a namespace init\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os.kill(os.getpid(), signal.SIGSTOP)\n"
        "        os._exit(0)\n"
        "    os.waitpid(pid, 0)                    # forever: the child is stopped\n",
        ("error", "timeout"), {}),
    "output_flood": (
        "import sys\n"
        "def solve():\n"
        "    line = 'x' * 65536\n"
        "    while True:\n"
        "        sys.stdout.write(line)\n"
        "        sys.stderr.write(line)\n",
        ("error", "timeout"), {}),
    "fork_bomb": (
        "import os\n"
        "def solve():\n"
        "    while True:\n"
        "        try:\n"
        "            os.fork()\n"
        "        except OSError:\n"
        "            pass\n",
        ("error", "timeout"), {"timeout_seconds": 2}),
    # -- resources
    "memory_bomb": ("def solve():\n    return len(bytearray(10**11))\n",
                    ("test", "memory_limit", r"MemoryError"), {"memory_limit_mb": 128}),
    "memory_bomb_growing": (
        "def solve():\n"
        "    keep = []\n"
        "    while True:\n"
        "        keep.append(b'x' * (1 << 20))\n",
        ("test", "memory_limit", r"MemoryError"), {"memory_limit_mb": 128}),
    "memory_bomb_in_children": (
        "import os, time\n"
        "def solve():\n"
        "    for _ in range(6):\n"
        "        if os.fork() == 0:\n"
        "            keep = b'x' * (90 << 20)\n"
        "            time.sleep(100)\n"
        "    time.sleep(100)\n",
        ("error", "memory_limit"), {"memory_limit_mb": 128, "timeout_seconds": 10}),
    "thread_bomb": (
        "import threading, time\n"
        "def solve():\n"
        "    while True:\n"
        "        threading.Thread(target=time.sleep, args=(100,), daemon=True).start()\n",
        ("test", "runtime_error", r"can't start new thread"), {}),
    "ten_gb_file": (
        "def solve():\n"
        "    chunk = b'x' * (1 << 20)\n"
        "    with open('/tmp/big', 'wb') as f:\n"
        "        for _ in range(10 << 10):\n"
        "            f.write(chunk)\n"
        "            f.flush()\n",
        ("test", "runtime_error", r"File too large|No space left"), {}),
    "ten_gb_sparse_file": (
        "def solve():\n"
        "    with open('/tmp/sparse', 'wb') as f:\n"
        "        f.seek(10 << 30)\n"
        "        f.write(b'x')\n",
        ("test", "runtime_error", r"File too large"), {}),
    "fd_exhaustion": (
        "def solve():\n"
        "    keep = []\n"
        "    while True:\n"
        "        keep.append(open('/dev/null'))\n",
        ("test", "runtime_error", r"Too many open files"), {}),
    "fill_dev_shm": (
        "def solve():\n"
        "    chunk, i = b'x' * (1 << 20), 0\n"
        "    while True:\n"
        "        with open('/dev/shm/f%d' % i, 'wb') as f:\n"
        "            f.write(chunk)\n"
        "        i += 1\n",
        ("test", "runtime_error", r"No space left on device"), {}),
    "fill_tmp": (
        "def solve():\n"
        "    chunk, i = b'x' * (1 << 20), 0\n"
        "    while True:\n"
        "        with open('/tmp/f%d' % i, 'wb') as f:\n"
        "            f.write(chunk)\n"
        "        i += 1\n",
        ("test", "runtime_error", r"No space left on device"), {}),
    "fill_tmp_inodes": (
        "def solve():\n"
        "    i = 0\n"
        "    while True:\n"
        "        open('/tmp/i%d' % i, 'w').close()\n"
        "        i += 1\n",
        ("test", "runtime_error", r"No space left on device"), {}),
    # -- the process tree
    "kill_parent": (
        "import os, signal\n"
        "def solve():\n"
        "    for target in (os.getppid(), 1, 0, -1):\n"
        "        try:\n"
        "            os.kill(target, signal.SIGKILL)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return 'alive'\n",
        ("passes", "alive"), {}),
    "setsid_child_outlives_the_call": (
        "import os, time\n"
        "def solve():\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        "            while True:\n"
        "                time.sleep(0.05)\n"
        "                for p in %r:\n"
        "                    try:\n"
        "                        open(p, 'w').write('escaped')\n"
        "                    except OSError:\n"
        "                        pass\n"
        "        os._exit(0)\n"
        "    time.sleep(0.2)\n"
        "    return 1\n" % (MARKER_PATHS,),
        ("passes", 1), {}),
    "segfault": ("import ctypes\ndef solve():\n    return ctypes.string_at(0)\n",
                 ("error", "runtime_error"), {}),
    # -- the network
    "connect_redis": (None, ("test", "runtime_error", r"ConnectionRefusedError"), {}),
    "connect_api": (None, ("test", "runtime_error", r"ConnectionRefusedError"), {}),
    "connect_outside": (
        "import socket\n"
        "def solve():\n"
        "    socket.create_connection(('1.1.1.1', 53), 2)\n",
        ("test", "runtime_error", r"Network is unreachable"), {}),
    "netlink_and_vsock_sockets": (
        "import socket\n"
        "def solve():\n"
        "    for fam in (16, 40):   # AF_NETLINK, AF_VSOCK\n"
        "        try:\n"
        "            socket.socket(fam, socket.SOCK_DGRAM)\n"
        "            return 'opened %d' % fam\n"
        "        except OSError as e:\n"
        "            if e.errno != 97:   # EAFNOSUPPORT\n"
        "                return str(e)\n"
        "    return 'refused'\n",
        ("passes", "refused"), {}),
    # -- files that must not be visible
    "read_signing_key": (None, ("test", "runtime_error", r"FileNotFoundError"), {}),
    "read_repo_signing_key": (
        "def solve():\n    return open(%r, 'rb').read()\n"
        % os.path.join(REPO, "config", "keys", "seal_ed25519.key"),
        ("test", "runtime_error", r"FileNotFoundError"), {}),
    "read_calibration": (None, ("test", "runtime_error", r"FileNotFoundError"), {}),
    "read_config": (
        "def solve():\n    return open(%r).read()\n" % os.path.join(REPO, "config", "jouletrace.conf"),
        ("test", "runtime_error", r"FileNotFoundError"), {}),
    "read_powercap": ("import os\ndef solve():\n    return os.listdir('/sys/class/powercap')\n",
                      ("test", "runtime_error", r"FileNotFoundError"), {}),
    "read_shadow": ("def solve():\n    return open('/etc/shadow').read()\n",
                    ("test", "runtime_error", r"FileNotFoundError"), {}),
    "filesystem_view": (
        "import os\n"
        "def solve():\n"
        "    seen = [p for p in ('/sys', '/run', '/var', '/home', '/root', '/work', '/srv',\n"
        "                        '/opt', '/mnt', '/boot', '/etc/passwd', '/etc/hostname',\n"
        "                        '/dev/sda', '/dev/vda', '/dev/mem', '/dev/kmsg', %r)\n"
        "            if os.path.lexists(p)]\n"
        "    procs = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "    return [seen, procs]\n" % REPO,
        ("passes", [[], ["1"]]), {}),
    "write_outside": (
        "import os\n"
        "def solve():\n"
        "    wrote = []\n"
        "    for p in %r + ['/usr/lib/' + %r, '/jt/harness.py']:\n"
        "        try:\n"
        "            with open(p, 'a') as f:\n"
        "                f.write('x')\n"
        "            wrote.append(p)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return wrote\n" % (MARKER_PATHS, MARKER),
        ("passes", ["/tmp/" + MARKER, "/dev/shm/" + MARKER]), {}),   # the private ones
    # -- privileges and the syscall filter (x86_64 numbers)
    "ptrace": ("import ctypes\ndef solve():\n    return ctypes.CDLL(None).ptrace(0, 0, 0, 0)\n",
               ("error", "sandbox_violation"), {}),
    "perf_event_open": (
        "import ctypes\ndef solve():\n    return ctypes.CDLL(None).syscall(298, None, 0, -1, -1, 0)\n",
        ("error", "sandbox_violation"), {}),
    "bpf": ("import ctypes\ndef solve():\n    return ctypes.CDLL(None).syscall(321, 0, None, 0)\n",
            ("error", "sandbox_violation"), {}),
    "keyctl": ("import ctypes\ndef solve():\n    return ctypes.CDLL(None).syscall(250, 0, 0, 0, 0, 0)\n",
               ("error", "sandbox_violation"), {}),
    "mount": ("import ctypes\ndef solve():\n"
              "    return ctypes.CDLL(None).mount(b'none', b'/tmp', b'tmpfs', 0, None)\n",
              ("error", "sandbox_violation"), {}),
    "unshare_user_namespace": (
        "import ctypes\ndef solve():\n    return ctypes.CDLL(None).unshare(0x10000000)\n",
        ("error", "sandbox_violation"), {}),
    "i386_int80_syscall": (
        "import ctypes, mmap\n"
        "def solve():\n"
        "    code = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])   # getpid via int 0x80\n"
        "    m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "    m.write(code)\n"
        "    f = ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(m)))\n"
        "    return f()\n",
        ("error", "sandbox_violation"), {}),
    "x32_syscall": ("import ctypes\ndef solve():\n"
                    "    return ctypes.CDLL(None).syscall(0x40000000 + 39)\n",
                    ("error", "sandbox_violation"), {}),
    "setuid_root": ("import os\ndef solve():\n    os.setuid(0)\n",
                    ("test", "runtime_error", r"PermissionError"), {}),
    "os_system_id": (None, ("passes", None), {}),
    "hostname": ("import socket\ndef solve():\n    return socket.gethostname()\n",
                 ("passes", "sandbox"), {}),
    "read_stdin": ("def solve():\n    return input()\n", ("test", "runtime_error", r"EOFError"), {}),
    # -- issue 7: the figures and the neighbours
    "exec_from_memfd": (
        # runs, but as what it is: a program inside the same sandbox
        "import os, subprocess\n"
        "def solve():\n"
        "    fd = os.memfd_create('x', 0)\n"
        "    os.write(fd, open('/usr/bin/id', 'rb').read())\n"
        "    r = subprocess.run(['/proc/self/fd/%d' % fd], pass_fds=(fd,), capture_output=True)\n"
        "    return r.stdout.decode()\n",
        ("passes", None), {}),
    "flock_host_files": (
        "import fcntl, struct\n"
        "def solve():\n"
        "    seen = set()\n"
        "    for p in ('/etc/ld.so.cache', '/usr/bin/python3', '/jt/harness.py', '/dev/null'):\n"
        "        with open(p, 'rb') as f:\n"
        "            for lock in (lambda: fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB),\n"
        "                         lambda: fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB),\n"
        "                         lambda: fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB),\n"
        "                         lambda: fcntl.fcntl(f, fcntl.F_OFD_SETLK,\n"
        "                             struct.pack('hh4xqqi4x', fcntl.F_RDLCK, 0, 0, 0, 0))):\n"
        "                try:\n"
        "                    lock()\n"
        "                    seen.add('locked ' + p)\n"
        "                except OSError as e:\n"
        "                    seen.add(e.errno)\n"
        "    return sorted(seen, key=str)\n",
        ("passes", [1]), {}),   # EPERM, every time
    "reply_over_the_cap": (
        "import os\n"
        "def solve():\n"
        "    chunk = b'x' * (1 << 20)\n"
        "    for _ in range(80):   # more than max_harness_message_bytes (64 MiB), no newline\n"
        "        os.write(4, chunk)\n"
        "    return 1\n",
        ("error", "tampering_suspected"), {}),
    "proc_stat_counters": (
        "import os\n"
        "def solve():\n"
        "    sizes = []\n"
        "    for p in ('/proc/stat', '/proc/schedstat', '/proc/interrupts', '/proc/softirqs'):\n"
        "        try:\n"
        "            sizes.append(len(open(p).read()))\n"
        "        except FileNotFoundError:\n"
        "            sizes.append(0)   # schedstat: absent on some kernels\n"
        "        except OSError as e:\n"
        "            sizes.append(e.strerror)\n"
        "    return [sizes, os.cpu_count() is not None]\n",
        ("passes", [[0, 0, 0, 0], True]), {}),
    "forge_gate_reply": (
        # answers the worker's "call" itself: a forged line is only another way
        # to give an answer, and the worker compares it with what it alone knows
        "import os\n"
        "def solve():\n"
        "    os.write(4, b'{\"i\":0,\"out\":{\"value\":\"forged\"},\"seconds\":0,'\n"
        "                b'\"mutated_inputs\":false}\\n{\"ok\":true}\\n')\n"
        "    return 'not the answer'\n",
        ("wrong", "forged"), {}),
    "widen_cpu_affinity": (None, ("passes", None), {}),
    "find_the_expected_output": (None, ("wrong", "not found"), {}),
}

X86_ONLY = {"perf_event_open", "bpf", "keyctl", "i386_int80_syscall", "x32_syscall",
            "widen_cpu_affinity"}

# Looks for the expected output everywhere a contestant would: the objects of
# its interpreter, its argv and environment, its whole readable memory.
FIND_SECRET = (
    "import gc, re\n"
    "PAT = re.compile(rb'jt-secret-[0-9a-f]{32}')\n"
    "def solve():\n"
    "    for o in gc.get_objects():\n"
    "        for v in (o.values() if isinstance(o, dict) else o if isinstance(o, (list, tuple)) else ()):\n"
    "            if isinstance(v, str) and PAT.fullmatch(v.encode()):\n"
    "                return v\n"
    "    for p in ('/proc/self/cmdline', '/proc/self/environ', '/proc/1/cmdline'):\n"
    "        m = PAT.search(open(p, 'rb').read())\n"
    "        if m:\n"
    "            return m.group().decode()\n"
    "    mem = open('/proc/self/mem', 'rb', 0)\n"
    "    for line in open('/proc/self/maps'):\n"
    "        a, b = (int(x, 16) for x in line.split()[0].split('-'))\n"
    "        if 'r' not in line.split()[1] or b - a > 1 << 28:\n"
    "            continue\n"
    "        try:\n"
    "            mem.seek(a)\n"
    "            m = PAT.search(mem.read(b - a))\n"
    "        except (OSError, ValueError, OverflowError):\n"
    "            continue\n"
    "        if m:\n"
    "            return m.group().decode()\n"
    "    return 'not found'\n")

# Tries to leave its CPUs through the library call and the raw system call.
WIDEN_AFFINITY = (
    "import ctypes, os\n"
    "def solve():\n"
    "    try:\n"
    "        os.sched_setaffinity(0, range(64))\n"
    "        lib = 'moved'\n"
    "    except OSError as e:\n"
    "        lib = e.errno\n"
    "    libc = ctypes.CDLL(None, use_errno=True)\n"
    "    mask = (ctypes.c_ulong * 16)(*([2**64 - 1] * 16))\n"
    "    raw = libc.syscall(203, 0, ctypes.sizeof(mask), mask)   # x86_64 sched_setaffinity\n"
    "    return [lib, raw, ctypes.get_errno(), sorted(os.sched_getaffinity(0))]\n")

NORMAL = "def solve(n):\n    return n * 2\n"


def body(code, expected=0, **kw):
    b = {"candidate_code": code, "function_name": "solve",
         "test_cases": [{"test_id": "t", "inputs": [], "expected_output": expected}],
         "timeout_seconds": 10}
    b.update(kw)
    return b


def sandbox_pids():
    """Host pids of processes running as the sandbox uid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/status" % d) as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == PW.pw_uid:
                            out.append(int(d))
                        break
        except OSError:
            pass
    return out


def dynamic_case(name):
    """Cases that need the stack's ports and paths."""
    if name == "connect_redis":
        return ("import socket\ndef solve():\n    socket.create_connection(('127.0.0.1', %d), 2)\n"
                % S.redis_port)
    if name == "connect_api":
        return ("import socket\ndef solve():\n    socket.create_connection(('127.0.0.1', %d), 2)\n"
                % S.port)
    if name == "read_signing_key":
        return "def solve():\n    return open(%r, 'rb').read()\n" % os.path.join(S.tmp, "keys", "seal.key")
    if name == "read_calibration":
        return "def solve():\n    return open(%r).read()\n" % os.path.join(S.tmp, "calibration.json")
    if name == "widen_cpu_affinity":
        return WIDEN_AFFINITY
    if name == "find_the_expected_output":
        return FIND_SECRET
    raise KeyError(name)


def int80_served():
    """Whether this kernel serves i386 system calls (int 0x80) at all: the
    hostile case's own code, run on the host without any filter."""
    code, _, _ = CASES["i386_int80_syscall"]
    r = subprocess.run([sys.executable, "-c", code + "\nsolve()\n"], capture_output=True,
                       timeout=30)
    return r.returncode == 0


def cpus(key):
    """The stack's measurement or infra CPUs, as a sorted list."""
    text = S.get("/api/v1/socket0/status").json["isolation"][key]
    out = []
    for part in str(text).split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def setUpModule():
    global S, PW
    if platform.system() != "Linux" or os.geteuid() != 0:
        raise unittest.SkipTest("the hostile suite needs root on Linux")
    PW = pwd.getpwnam(SANDBOX_USER)   # scripts/setup.sh creates it
    for p in MARKER_PATHS:
        if os.path.exists(p):
            os.unlink(p)
    os.sched_setaffinity(0, {0})
    S = Stack("model")
    S.start_or_explain()
    # the key file exists, so "cannot read it" means something
    wait_for(lambda: os.path.exists(os.path.join(S.tmp, "keys", "seal.key")), 10, "signing key")


def tearDownModule():
    if S:
        S.close_checked()


class Hostile(unittest.TestCase):
    def after_case(self, name):
        # no process of the sandbox uid is left
        left = []
        try:
            wait_for(lambda: not sandbox_pids(), 5, "sandbox processes to go")
        except AssertionError:
            left = sandbox_pids()
        self.assertEqual(left, [], "%s: processes of %s left: %s" % (name, SANDBOX_USER, left))
        # nothing written outside the sandbox
        for p in MARKER_PATHS:
            self.assertFalse(os.path.exists(p), "%s: %s appeared on the host" % (name, p))
        # the worker is alive and ready for the next job
        self.assertIsNone(S.procs["worker"].poll(), "%s: the worker died" % name)
        r = S.post("/api/v1/validate", body(NORMAL, 8, test_cases=[
            {"test_id": "n", "inputs": [4], "expected_output": 8}]))
        self.assertEqual(r.status, 200, r.raw)
        self.assertTrue(r.json["validation"]["is_correct"], "%s: next job: %s" % (name, r.json))

    def run_case(self, name):
        code, expect, extra = CASES[name]
        if name in X86_ONLY and platform.machine() != "x86_64":
            self.skipTest("x86_64 system call numbers")
        if code is None and name == "os_system_id":
            code = ("import os\ndef solve():\n    os.system('id > /tmp/id')\n"
                    "    return open('/tmp/id').read()\n")
            expect = ("passes", "uid=%d gid=%d groups=%d\n" % (PW.pw_uid, PW.pw_gid, PW.pw_gid))
        elif code is None:
            code = dynamic_case(name)
        if name == "i386_int80_syscall" and not int80_served():
            # a kernel without IA32 emulation faults before any filter runs
            expect = ("error", "runtime_error")
        if name == "exec_from_memfd":
            expect = ("passes", "uid=%d gid=%d groups=%d\n" % (PW.pw_uid, PW.pw_gid, PW.pw_gid))
        elif name == "widen_cpu_affinity":
            # /validate runs on the infra CPUs and stays there
            expect = ("passes", [1, -1, 1, cpus("infra_cpus")])
        kind = expect[0]
        kw = {"timeout_seconds": HANG} if kind == "error" and expect[1] == "timeout" else {}
        kw.update(extra)
        expected = expect[1] if kind == "passes" else 0
        if kind == "wrong":
            expected = "jt-secret-" + os.urandom(16).hex()
        t0 = time.monotonic()
        r = S.post("/api/v1/validate", body(code, expected, **kw))
        took = time.monotonic() - t0
        self.assertEqual(r.status, 200, r.raw)
        j = r.json
        v = j.get("validation") or {}
        if kind == "error":
            self.assertEqual(j.get("error_type"), expect[1], "%s: %s" % (name, j))
            self.assertTrue(j.get("error_message"), j)
        elif kind == "test":
            self.assertNotIn("error_type", j, "%s: %s" % (name, j))
            self.assertFalse(v["is_correct"], j)
            res = v["test_results"][0]
            self.assertEqual(res["error_type"], expect[1], "%s: %s" % (name, res))
            self.assertRegex(res["error"] or "", expect[2], name)
        elif kind == "wrong":
            # ran, answered, and the answer is not the secret expected output
            self.assertNotIn("error_type", j, "%s: %s" % (name, j))
            self.assertFalse(v["is_correct"], j)
            res = v["test_results"][0]
            self.assertEqual((res["actual"], res["error"]), (expect[1], None), res)
        else:
            self.assertNotIn("error_type", j, "%s: %s" % (name, j))
            self.assertTrue(v.get("is_correct"), "%s: %s" % (name, j))
        self.assertLess(took, 20, "%s took %.1f s" % (name, took))
        self.after_case(name)


def _make(name):
    def t(self):
        self.run_case(name)
    t.__name__ = "test_" + name
    return t


for _name in CASES:
    setattr(Hostile, "test_" + _name, _make(_name))


class HostileMeasure(unittest.TestCase):
    """The trials run in the same sandbox, with the same limits and kill."""

    def test_trials_see_the_same_sandbox(self):
        # The gate and every trial must observe the same facts; a trial that
        # saw a different sandbox would return a different value and fail as
        # inconsistent_output.
        code = ("import os, socket\n"
                "def facts():\n"
                "    st = open('/proc/self/status').read()\n"
                "    return [os.getuid(), socket.gethostname(), 'NoNewPrivs:\\t1' in st,\n"
                "            'Seccomp:\\t2' in st, os.path.exists('/sys'), os.getcwd()]\n"
                "def solve(n):\n"
                "    return facts() + [n]\n")
        want = [PW.pw_uid, "sandbox", True, True, False, "/tmp", 3]
        r = S.post("/api/v1/measure", body(code, want, test_cases=[
            {"test_id": "f", "inputs": [3], "expected_output": want}],
            energy_measurement_trials=2, min_trials=1, warmup_trials=0, min_trial_seconds=0.05))
        self.assertEqual(r.status, 202, r.raw)
        t = S.wait_task(r.json["task_id"], timeout=120)
        self.assertEqual(t["status"], "completed", t)
        sbx = t["measurement_environment"]["sandbox"]
        self.assertEqual(sbx["kill_mode"], "pid_namespace", sbx)
        for c in ("uid", "pidns", "mountns", "netns", "ipcns", "utsns", "caps", "no_new_privs",
                  "seccomp", "rlimits"):
            self.assertIn(c, sbx["enforced"], sbx)
        self.assertEqual(sbx["uid"], PW.pw_uid, sbx)
        Hostile.after_case(self, "trials_see_the_same_sandbox")

    def test_hang_in_trials_times_out_and_frees_the_lock(self):
        # passes the gate (one call), then hangs when sizing calls it again
        code = ("calls = [0]\n"
                "def solve(n):\n"
                "    calls[0] += 1\n"
                "    if calls[0] > 1:\n"
                "        while True:\n"
                "            pass\n"
                "    return n\n")
        r = S.post("/api/v1/measure", body(code, 5, test_cases=[
            {"test_id": "h", "inputs": [5], "expected_output": 5}], timeout_seconds=1))
        t = S.wait_task(r.json["task_id"], timeout=60)
        self.assertEqual((t["status"], t.get("error_type")), ("failed", "timeout"), t)
        wait_for(lambda: not S.get("/api/v1/socket0/status").json["lock"]["held"], 10, "lock")
        Hostile.after_case(self, "hang_in_trials")

    def test_cancel_kills_escaped_children(self):
        code = ("import os, time\n"
                "forked = []\n"
                "def solve(n):\n"
                "    if not forked:\n"
                "        forked.append(1)\n"
                "        if os.fork() == 0:\n"
                "            os.setsid()\n"
                "            while True:\n"
                "                time.sleep(1)\n"
                "    time.sleep(0.02)\n"
                "    return n\n")
        r = S.post("/api/v1/measure", body(code, 1, test_cases=[
            {"test_id": "c", "inputs": [1], "expected_output": 1}], timeout_seconds=30,
            energy_measurement_trials=50, min_trials=50, min_trial_seconds=1))
        tid = r.json["task_id"]
        wait_for(lambda: S.get("/api/v1/tasks/" + tid).json["stage"] in ("warmup", "measuring"),
                 60, "trials to start")
        self.assertTrue(sandbox_pids(), "the candidate should be running")
        d = S.request("DELETE", "/api/v1/tasks/" + tid)
        self.assertEqual(d.status, 200, d.raw)
        self.assertEqual(S.get("/api/v1/tasks/" + tid).json["status"], "cancelled")
        Hostile.after_case(self, "cancel")


class Forgery(unittest.TestCase):
    """Issue 7: measured code that tries to pass without computing, or to look
    cheaper than it is.  Each attack must end as the named error, with no seal,
    or be measured as what it really is."""

    def measure(self, code, inputs, expected, **kw):
        b = body(code, expected, test_cases=[{"test_id": "t", "inputs": inputs,
                                               "expected_output": expected}])
        b.update({"energy_measurement_trials": 3, "min_trials": 3, "warmup_trials": 1,
                  "min_trial_seconds": 0.05, "timeout_seconds": 20})
        b.update(kw)
        r = S.post("/api/v1/measure", b)
        self.assertEqual(r.status, 202, r.raw)
        return S.wait_task(r.json["task_id"], timeout=180)

    def failed_with(self, t, error_type, pattern):
        self.assertEqual((t["status"], t.get("error_type")), ("failed", error_type), t)
        self.assertRegex(t.get("error_message") or "", pattern)
        self.assertNotIn("seal", t)

    def test_forged_done_in_a_window(self):
        # ends every window after one call by writing "done" itself
        code = ("import os, sys\n"
                "def solve(n):\n"
                "    if 'window' in [f.f_code.co_name for f in [sys._getframe(1)]]:\n"
                "        os.write(4, b'{\"done\":true,\"kept\":1,\"ns\":1}\\n')\n"
                "    return n\n")
        t = self.measure(code, [3], 3)
        self.failed_with(t, "tampering_suspected", "out of turn|without the outputs")
        Hostile.after_case(self, "forged_done")

    def test_skips_work_once_sized(self):
        # honest for the first calls (the sizing run), then answers from a cache
        code = ("import time\n"
                "calls = [0]\n"
                "def solve(n):\n"
                "    calls[0] += 1\n"
                "    if calls[0] < 1500:\n"
                "        end = time.perf_counter() + 100e-6\n"
                "        while time.perf_counter() < end:\n"
                "            pass\n"
                "    return n\n")
        t = self.measure(code, [3], 3)
        self.failed_with(t, "tampering_suspected", "sizing run")
        Hostile.after_case(self, "skips_work_once_sized")

    def test_wrong_answers_in_unchecked_passes(self):
        # right in one call out of five: whichever passes are checked, some are wrong
        code = ("calls = [0]\n"
                "def solve(n):\n"
                "    calls[0] += 1\n"
                "    return n if calls[0] % 5 == 1 else n + 1\n")
        t = self.measure(code, [3], 3)
        self.failed_with(t, "inconsistent_output", "expected 3, got 4")
        Hostile.after_case(self, "wrong_in_unchecked_passes")

    def test_state_built_in_the_gate_does_not_reach_the_trials(self):
        # each process leaves its own token in /tmp and /dev/shm; a token of
        # another process (the gate's) would turn every answer wrong
        code = ("import os\n"
                "TOKEN = os.urandom(8).hex()\n"
                "def mine(p):\n"
                "    if not os.path.exists(p):\n"
                "        open(p, 'w').write(TOKEN)\n"
                "    return open(p).read() == TOKEN\n"
                "def solve(n):\n"
                "    return n if mine('/tmp/gate') and mine('/dev/shm/gate') else -1\n")
        t = self.measure(code, [3], 3)
        self.assertEqual(t["status"], "completed", t)
        Hostile.after_case(self, "state_from_the_gate")

    def test_measured_run_stays_on_the_measurement_cpu(self):
        if platform.machine() != "x86_64":
            self.skipTest("x86_64 system call numbers")
        want = [1, -1, 1, cpus("measurement_cpus")[:1]]
        t = self.measure(WIDEN_AFFINITY, [], want, min_trial_seconds=0.01)
        self.assertEqual(t["status"], "completed", t)
        Hostile.after_case(self, "affinity_in_measure")

    def test_waiting_is_reported_not_suspected(self):
        # code that mostly sleeps: a low on-CPU share is shown, not punished
        t = self.measure("import time\ndef solve(n):\n    time.sleep(0.002)\n    return n\n",
                         [3], 3)
        self.assertEqual(t["status"], "completed", t)
        for tr in t["trials"]:
            self.assertIn("low_cpu_share", tr["flags"], tr)
            self.assertLess(tr["cpu_share"], 0.5, tr)
        seal_trials = t["seal"]["payload"]["measurement"]["trials"]
        self.assertTrue(all("low_cpu_share" in x["flags"] for x in seal_trials), seal_trials)
        Hostile.after_case(self, "waiting")

    def test_honest_candidate_is_not_suspected(self):
        t = self.measure("def solve(n):\n    return sum(range(n))\n", [2000], 1999000)
        self.assertEqual(t["status"], "completed", t)
        for tr in t["trials"]:
            self.assertNotIn("time_per_pass_inconsistent", tr["flags"], tr)
            self.assertGreater(tr["cpu_share"], 0.5, tr)
        self.assertEqual(t["seal"]["payload"]["measurement"]["rejected_trials"], [])
        Hostile.after_case(self, "honest")


class ZRefusal(unittest.TestCase):
    def test_worker_refuses_without_a_mandatory_control(self):
        # A host where the sandbox user is missing: uid is mandatory by default,
        # so the worker must not run the candidate at all.
        S.stop_proc("worker")
        wait_for(lambda: S.get("/api/v1/health").json["workers_live"] == 0, 15, "worker expiry")
        env = dict(os.environ, JT_SANDBOX_USER="jt-no-such-user")
        S._spawn("worker", [os.path.join(BUILD, "jouletrace-worker"), "--config", S.config],
                 env=env)
        try:
            wait_for(lambda: S.get("/api/v1/health").json["workers_live"] >= 1, 15, "worker")
            marker = "/tmp/" + MARKER
            code = "def solve():\n    open(%r, 'w').write('ran')\n    return 1\n" % marker
            r = S.post("/api/v1/validate", body(code, 1))
            self.assertEqual(r.status, 200, r.raw)
            self.assertEqual(r.json.get("error_type"), "internal", r.json)
            self.assertIn("mandatory sandbox controls missing: uid", r.json["error_message"])
            self.assertFalse(os.path.exists(marker))
            r = S.post("/api/v1/measure", body(code, 1))
            t = S.wait_task(r.json["task_id"], timeout=60)
            self.assertEqual((t["status"], t.get("error_type")), ("failed", "internal"), t)
            self.assertIn("mandatory sandbox controls missing", t["error_message"])
        finally:
            S.stop_proc("worker")
            wait_for(lambda: S.get("/api/v1/health").json["workers_live"] == 0, 15, "expiry")
            S.start_worker()
        Hostile.after_case(self, "refusal")


class ZZFinal(unittest.TestCase):
    def test_no_file_of_the_sandbox_uid_on_the_host(self):
        # the private directories of running harnesses are the sandbox's own
        r = subprocess.run(["find", "/tmp", "/var/tmp", "/dev/shm", REPO, "-xdev", "-uid",
                            str(PW.pw_uid), "-not", "-path", "/tmp/jt-harness-*"],
                           capture_output=True, text=True)
        self.assertEqual(r.stdout.strip(), "", "files owned by %s:\n%s" % (SANDBOX_USER, r.stdout))


def main():
    argv = [sys.argv[0]] + sys.argv[1:]
    prog = unittest.main(module=__name__, argv=argv, exit=False, verbosity=2)
    res = prog.result
    print("hostile: %d run, %d failed, %d errors, %d skipped" % (
        res.testsRun, len(res.failures), len(res.errors), len(res.skipped)))
    return 0 if res.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
