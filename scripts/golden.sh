#!/usr/bin/env bash
# Print the golden bytes (tests/golden/golden_print.c) of a built tree.
#
#   scripts/golden.sh [TREE]       TREE defaults to this checkout; it must be
#                                  built (make) so its libraries exist.
#   scripts/golden.sh --rev REV    check out REV in a temporary worktree,
#                                  build it, and print its bytes.
#
# Trees before lib/measure/report (issue 9) get -DJT_GOLDEN_OLD_API.
# `diff <(scripts/golden.sh --rev d12acd8) tests/golden/expected.txt` is how
# tests/golden/expected.txt was shown to be the pre-layering bytes.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tree=$here
if [ "${1:-}" = --rev ]; then
	tmp=$(mktemp -d /tmp/jt-golden.XXXXXX)
	trap 'git -C "$here" worktree remove --force "$tmp/tree" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
	git -C "$here" worktree add -q --detach "$tmp/tree" "$2"
	make -s -C "$tmp/tree" -j"$(nproc)" all >/dev/null
	tree=$tmp/tree
elif [ $# -gt 0 ]; then
	tree=$(cd "$1" && pwd)
fi
mapfile -t incs < <(cd "$tree" && find lib executor -name '*.h' -printf '-I%h\n' | sort -u)
libs=("$tree"/build/*.a)
old=()
[ -e "$tree/lib/measure/report.h" ] || old=(-DJT_GOLDEN_OLD_API)
out=$(mktemp /tmp/jt-golden-bin.XXXXXX)
trap 'rm -f "$out"' RETURN
# shellcheck disable=SC2046
(cd "$tree" && cc -std=c17 -D_GNU_SOURCE -DJT_GOLDEN_MAIN "${old[@]}" "${incs[@]}" -I"$tree/build" \
	"$here/tests/golden/golden_print.c" -Wl,--start-group "${libs[@]}" -Wl,--end-group \
	$(pkg-config --libs libsodium jansson libbpf libseccomp hiredis) -lm -pthread -o "$out")
"$out"
rm -f "$out"
