#!/usr/bin/env bash
# make lint: banned functions, cppcheck and clang-tidy (Debian's), over the C
# sources.  Exit 1 on any finding.  Needs a built tree (the BPF skeleton
# header is generated): run after `make`.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SRC_DIRS=(lib executor server worker client tools calib monitor)
INC=(-D_GNU_SOURCE -Ilib/core -Ilib/api -Ilib/seal -Ilib/store -Ilib/measure -Ilib/http
     -Ilib/monitor -Iexecutor -Iserver -Iworker -Iclient -Imonitor "-I$BUILD")
fail=0

# Unbounded or unsafe by design: every use has a bounded replacement here
# (snprintf, memcpy with a known size, util_parse_*).
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|atof|mktemp|tmpnam|alloca)[[:space:]]*\('
if grep -rnE "$banned" --include='*.c' --include='*.h' "${SRC_DIRS[@]}"; then
	echo "lint: banned functions above"
	fail=1
fi

# Files of about 800 lines at most, functions of 100 unless a comment says why.
if ! python3 scripts/check_sizes.py; then
	fail=1
fi

# cppcheck: warnings, portability, performance.  unusedStructMember and the
# like are style; the BPF program is compiled by clang for another target.
if ! cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	--inline-suppr --suppress=missingIncludeSystem -j"$(nproc)" "${INC[@]}" \
	-i lib/measure/bpf -i lib/monitor/bpf "${SRC_DIRS[@]}"; then
	echo "lint: cppcheck findings above"
	fail=1
fi

# clang-tidy: the analyzer and the bug-prone checks that do not fight the
# house style (checks in .clang-tidy).  What it says of generated code (the
# BPF skeleton libbpf's bpftool writes into $BUILD) is not ours to fix.
mapfile -t files < <(find "${SRC_DIRS[@]}" -name '*.c' -not -path 'lib/*/bpf/*' 2>/dev/null | sort)
cflags=$(pkg-config --cflags libmicrohttpd hiredis libsodium jansson libbpf libseccomp libcurl 2>/dev/null)
export TIDY_FLAGS="-std=c17 ${INC[*]} $cflags"
# shellcheck disable=SC2016
out=$(printf '%s\n' "${files[@]}" | xargs -P"$(nproc)" -n8 sh -c \
	'clang-tidy --quiet "$@" -- $TIDY_FLAGS 2>/dev/null' _)
ours=$(printf '%s\n' "$out" | grep -E '(warning|error):' | grep -vE "^($PWD/)?$BUILD/" || true)
if [ -n "$ours" ]; then
	printf '%s\n' "$out"
	echo "lint: clang-tidy findings:"
	printf '%s\n' "$ours"
	fail=1
fi

# The systemd units: directives, sandboxing and capability names as the
# installed systemd reads them.  The binaries are not installed here
# (/usr/local/bin), so that one complaint is expected and left out.
if command -v systemd-analyze >/dev/null; then
	units=$(for u in deploy/systemd/*.service deploy/systemd/*.timer; do
		systemd-analyze verify "$u" 2>&1 | grep -v 'is not executable: No such file' | sed "s|^|$u: |"
	done)
	if [ -n "$units" ]; then
		printf '%s\n' "$units"
		echo "lint: systemd-analyze findings above"
		fail=1
	fi
fi

[ $fail = 0 ] && echo "lint: clean"
exit $fail
