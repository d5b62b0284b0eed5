#!/usr/bin/env python3
"""Size limits of the C sources (part of `make lint`).

A file over MAX_FILE lines, or a function body over MAX_FUNC lines, fails,
unless the comment just above the function says why with "long:" in it.
Functions are found by the house style: the body opens with "{" alone at
column 0 after the line holding the name, and closes with "}" at column 0.
"""
import pathlib
import re
import sys

MAX_FILE = 820    # "about 800"
MAX_FUNC = 100
DIRS = ("lib", "executor", "server", "worker", "client", "tools", "calib", "monitor", "tests/unit")


def functions(lines):
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0:
            j = i + 1
            while j < len(lines) and lines[j] != "}":
                j += 1
            k = i - 1
            while k > 0 and "(" not in lines[k]:
                k -= 1
            yield k, j - k + 1
            i = j
        i += 1


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    bad = []
    for d in DIRS:
        for p in sorted((root / d).rglob("*.[ch]")):
            rel = p.relative_to(root)
            lines = p.read_text().split("\n")
            if len(lines) - 1 > MAX_FILE:
                bad.append(f"{rel}: {len(lines) - 1} lines (limit {MAX_FILE}): split it")
            for start, n in functions(lines):
                if n <= MAX_FUNC:
                    continue
                above = "\n".join(lines[max(0, start - 6):start])
                if re.search(r"\blong:", above):
                    continue
                name = lines[start].strip()[:60]
                bad.append(f"{rel}:{start + 1}: function of {n} lines (limit {MAX_FUNC}; "
                           f"say why in a 'long:' comment, or split it): {name}")
    for b in bad:
        print(b)
    print(f"sizes: {'clean' if not bad else str(len(bad)) + ' over the limits'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
