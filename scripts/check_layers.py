#!/usr/bin/python3
"""The layering rule of docs/ARCHITECTURE.md, checked.

1. Every #include "x.h" of a source or header resolves to a header of its own
   layer or of a layer it may use (below it).  A lower layer including a
   higher one fails.
2. With --build DIR: the built binaries contain and link only their layers.
   jouletrace-server (facing the network) defines no symbol of the executor
   or measure layers and does not link libseccomp or libbpf;
   jouletrace-verify has no store, measure or executor code either; the
   client jouletrace links client, seal, api and core only (libcurl, jansson,
   libsodium), no server, store, measure or executor code; jouletrace-monitor
   has no executor, server or worker code and links neither libseccomp nor
   libcurl.

usage: scripts/check_layers.py [--build DIR]     exit 1 on any violation
"""
import argparse
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# layer → the layers it may use (its own is always allowed), bottom to top
USES = {
    "lib/core": [],
    "lib/api": ["lib/core"],
    "lib/seal": ["lib/core"],
    "lib/store": ["lib/seal", "lib/core"],
    "lib/measure": ["lib/seal", "lib/api", "lib/core"],
    "lib/http": ["lib/api", "lib/core"],
    "lib/monitor": ["lib/measure", "lib/seal", "lib/core"],
    "executor": ["lib/measure", "lib/core"],
    "server": ["lib/http", "lib/store", "lib/seal", "lib/api", "lib/core"],
    "worker": ["executor", "lib/measure", "lib/store", "lib/seal", "lib/api", "lib/core"],
    "calib": ["lib/measure", "lib/seal", "lib/core"],
    "tools": ["executor", "lib/measure", "lib/store", "lib/seal", "lib/api", "lib/core"],
    "client": ["lib/seal", "lib/api", "lib/core"],
    "monitor": ["lib/monitor", "lib/http", "lib/store", "lib/measure", "lib/seal", "lib/api",
                "lib/core"],
}
# generated into build/, part of a layer
GENERATED = {"oncpu.skel.h": "lib/measure", "procacct.skel.h": "lib/monitor",
             "vmlinux.h": "lib/measure"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(path):
    for layer in sorted(USES, key=len, reverse=True):
        if path.startswith(layer + "/"):
            return layer
    return None


def headers():
    """header name as included → its layer"""
    found = dict(GENERATED)
    for layer in USES:
        top = os.path.join(REPO, layer)
        for d, _, files in os.walk(top):
            for f in files:
                if f.endswith(".h"):
                    rel = os.path.relpath(os.path.join(d, f), top)
                    found[rel] = layer
    return found


def check_includes():
    where, bad = headers(), []
    for layer in USES:
        for d, _, files in os.walk(os.path.join(REPO, layer)):
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(d, f)
                rel = os.path.relpath(path, REPO)
                with open(path, errors="replace") as fh:
                    text = fh.read()
                for inc in INCLUDE.findall(text):
                    name = os.path.normpath(os.path.join(os.path.relpath(d, os.path.join(REPO, layer)), inc)) \
                        if inc not in where else inc
                    target = where.get(inc) or where.get(name)
                    if target is None:
                        bad.append("%s: includes \"%s\", which no layer has" % (rel, inc))
                    elif target != layer and target not in USES[layer]:
                        bad.append("%s (%s) includes \"%s\" of %s, which it may not use" %
                                   (rel, layer, inc, target))
    return bad


def defined(path):
    out = subprocess.run(["nm", "-g", "--defined-only", path], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if len(line.split()) >= 3}


def linked(path):
    out = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def check_binaries(build):
    bad = []
    lib = lambda name: defined(os.path.join(build, "libjt-%s.a" % name))  # noqa: E731
    rules = {
        "jouletrace-server": (["executor", "measure", "worker"], ["libseccomp", "libbpf"]),
        "jouletrace-verify": (["executor", "measure", "store", "worker", "server"],
                              ["libseccomp", "libbpf", "libhiredis", "libmicrohttpd"]),
        "jouletrace-calibrate": (["executor", "store", "worker", "server"],
                                 ["libseccomp", "libhiredis", "libmicrohttpd"]),
        # the host monitor: measures and seals, serves /metrics; never runs or
        # serves candidate code
        "jouletrace-monitor": (["executor", "worker", "server"], ["libseccomp", "libcurl"]),
        # the client speaks HTTP (libcurl) to the API and checks seals: nothing else
        "jouletrace": (["executor", "measure", "store", "worker", "server"],
                       ["libseccomp", "libbpf", "libhiredis", "libmicrohttpd"]),
    }
    for binary, (layers, dsos) in rules.items():
        path = os.path.join(build, binary)
        have = defined(path)
        for name in layers:
            leak = sorted(have & lib(name))
            if leak:
                bad.append("%s contains %d symbol(s) of the %s layer: %s" %
                           (binary, len(leak), name, ", ".join(leak[:8])))
        for dso in linked(path):
            if any(dso.startswith(d + ".") for d in dsos):
                bad.append("%s links %s" % (binary, dso))
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build")
    a = ap.parse_args()
    bad = check_includes()
    if a.build:
        bad += check_binaries(a.build)
    for b in bad:
        print("layers: " + b)
    print("layers: %s" % ("%d violation(s)" % len(bad) if bad else "ok"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
