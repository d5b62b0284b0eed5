#!/usr/bin/env bash
# scripts/reliability.sh [--quick] — reruns every fault, abuse and load
# experiment that docs/RELIABILITY.md describes, on this machine, and rewrites
# that file's "Last run" section (between its two marker lines) with what each
# one printed: the tests that break things on purpose, the inputs the fuzzers
# tried, the load the server held.  Exit status 0 only when all passed.
#   --quick   CI sizes: 25 s per fuzz target, the load test's --ci size
# Takes about 15 minutes (--quick: 8).  Uses CPU 1 (the measurement CPU) for
# the stacks it starts, so run nothing else that measures meanwhile.
set -uo pipefail
cd "$(dirname "$0")/.."

quick=false
case "${1:-}" in
--quick) quick=true ;;
"") ;;
*) echo "usage: scripts/reliability.sh [--quick]" >&2; exit 2 ;;
esac
PY=/usr/bin/python3
DOC=docs/RELIABILITY.md
BEGIN='<!-- reliability.sh: begin -->'
END='<!-- reliability.sh: end -->'
grep -qF "$BEGIN" "$DOC" && grep -qF "$END" "$DOC" || { echo "$DOC: markers missing" >&2; exit 1; }

logs=$(mktemp -d /tmp/jt-reliability.XXXXXX)
trap 'rm -rf "$logs"' EXIT
report=$logs/report.md
fuzz_s=120 load_args=(--json "$logs/load.json")
$quick && fuzz_s=25 load_args+=(--ci)
failed=0 n=0

# run NAME PATTERN CMD...: runs CMD, logs it, and adds to the report its
# result, time and the lines of its output that match PATTERN (the figures).
run() {
	local name=$1 pat=$2 t0=$SECONDS rc; shift 2
	n=$((n + 1))
	echo "=== $name"
	"$@" >"$logs/$n.log" 2>&1
	rc=$?
	((rc == 0)) || failed=$((failed + 1))
	{
		printf '\n### %s — %s in %d s\n\n`%s`\n\n```\n' "$name" \
			"$( ((rc == 0)) && echo passed || echo "FAILED (exit $rc)")" $((SECONDS - t0)) "$*"
		grep -E "$pat" "$logs/$n.log" | tail -n 40
		((rc == 0)) || tail -n 30 "$logs/$n.log"
		printf '```\n'
	} >>"$report"
	echo "=== $( ((rc == 0)) && echo passed || echo FAILED) in $((SECONDS - t0)) s: $name"
}

scripts/setup.sh >/dev/null || exit 1
run "build (-Werror)" '^$' make -s -j2 DEVELOPER=1 all
run "unit and Redis integration tests: a crash after each step of a job, repair of the live sets, deferred HTTP answers, Sentinel failover, the client queue index" \
	'^[0-9]+%: Checks' make -s -j2 DEVELOPER=1 test
run "e2e: worker and Redis killed (SIGKILL) mid-job, restarts, admission, cancel, /validate, two hosts" \
	'^e2e|\.\.\. (ok|FAIL|ERROR)' \
	$PY tests/e2e/run_e2e.py --meter model T05Faults T029Hosts T030StartScript T031Admission \
	T032Cancel T033Validate T034Crash
run "e2e: the Redis master killed mid-stream under three sentinels" \
	'acknowledged|unconfirmed [0-9]+|moved|lost|sentinels named|master' $PY tests/e2e/e2e_sentinel.py
run "hostile candidates through a real worker" '^hostile|passed|failed' $PY tests/hostile/run_hostile.py
run "fuzzing: $fuzz_s s per target" '^fuzz ' scripts/fuzz.sh "$fuzz_s"
run "load: two hosts, one Redis, thousands of tasks" '^load: [0-9:]+ (stack up|submitted)|^load: (all|[0-9]+ checks)|^FAIL' \
	$PY tests/load/load.py "${load_args[@]}"
# the load test's figures, from its JSON summary
[[ -s $logs/load.json ]] && $PY - "$logs/load.json" >>"$report" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
t, lat, pr = d["tasks"], d["submit_latency_ms"], d["processes"]
print("\n| operations | requests/s | POST p50 / p99 | created | completed / failed / cancelled | drain | server RSS KiB (halves) | server fds |")
print("|---|---|---|---|---|---|---|---|")
print("| %d | %.0f (%.0f POST/s) | %.1f / %.1f ms | %d | %d / %d / %d | %.0f s | %d → %d | %d → %d |" % (
    d["operations"], d["requests_per_second"], d["posts_per_second"], lat["p50"], lat["p99"],
    t["created"], t["completed"], t["failed"], t["cancelled"], d["drain_seconds"],
    pr["server"]["rss_kib"][0], pr["server"]["rss_kib"][1], pr["server"]["fds"][0],
    pr["server"]["fds"][1]))
print("\nHosts: " + "; ".join("%s completed %d (fencing counter %d)" % (h, v["completed"],
      v["fence_counter"]) for h, v in d["hosts"].items()) +
      "; both locks held at once in %d of %d samples; honest tasks failed "
      "tampering_suspected: %d." % (d["samples_both_locks_held"], d["samples"],
                                     d["honest_tampering_suspected"]))
PYEOF

{
	printf '%s\n\n' "$BEGIN"
	printf 'Last run: %s on %s (%s, %s CPUs, kernel %s), commit %s%s: %d of %d passed.\n' \
		"$(date -u +%Y-%m-%dT%H:%MZ)" "$(hostname)" \
		"$(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release)" "$(nproc)" "$(uname -r)" \
		"$(git rev-parse --short HEAD)" "$($quick && echo ' (--quick)')" $((n - failed)) "$n"
	cat "$report"
	printf '\n%s\n' "$END"
} >"$logs/section.md"
# the section replaces the old one; everything around it is kept
awk -v sect="$logs/section.md" -v b="$BEGIN" -v e="$END" '
	$0 == b { while ((getline l < sect) > 0) print l; skip = 1; next }
	$0 == e { skip = 0; next }
	!skip' "$DOC" >"$logs/doc" && cp "$logs/doc" "$DOC"
echo "reliability: $((n - failed)) of $n passed; $DOC rewritten"
((failed == 0))
