#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS_PER_TARGET] — builds the libFuzzer targets (make fuzz,
# clang) and runs each for a bounded time on CPU 0 (the infra CPU: never the
# measurement CPU), from a COPY of its committed corpus fuzz/corpus/<target>/:
# new inputs stay in a temporary directory, the repository is never written.
# First every committed regression input fuzz/regressions/<target>/* is
# replayed once.  Fails if any target crashes, leaks, trips a sanitizer or an
# invariant, or times out; the crashing input is kept in build/fuzz/artifacts/.
# One line per target: executions, executions per second, coverage (cov:
# edges, ft: features) and the size the copied corpus reached.
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${1:-30}
[[ $secs =~ ^[0-9]+$ && $secs -ge 1 ]] || { echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 2; }
PIN=(taskset -c 0)
"${PIN[@]}" make -s -j2 fuzz || exit 1

work=$(mktemp -d /tmp/jt-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
arts=build/fuzz/artifacts
mkdir -p "$arts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# -timeout: one input taking this long is a hang; -rss_limit_mb: a blow-up
FLAGS=(-rss_limit_mb=2048 -timeout=10 -print_final_stats=1)
failed=()

for bin in build/fuzz/fuzz_*; do
	[[ -x $bin && -f $bin ]] || continue
	t=${bin##*/fuzz_}
	log=$work/$t.log
	regs=(fuzz/regressions/"$t"/*)
	if [[ -e ${regs[0]} ]] &&
	   ! "${PIN[@]}" "$bin" "${FLAGS[@]}" -artifact_prefix="$arts/$t-" "${regs[@]}" >"$log" 2>&1; then
		tail -n 40 "$log"
		echo "fuzz $t: a committed regression input fails again"
		failed+=("$t (regression)")
		continue
	fi
	mkdir -p "$work/$t"
	cp fuzz/corpus/"$t"/* "$work/$t/"
	if ! "${PIN[@]}" "$bin" "${FLAGS[@]}" -max_total_time="$secs" -artifact_prefix="$arts/$t-" \
	     "$work/$t" >"$log" 2>&1; then
		tail -n 60 "$log"
		echo "fuzz $t: FAILED (input kept under $arts/)"
		failed+=("$t")
		continue
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(sed -n 's/.* \(cov: [0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* \(ft: [0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
	printf 'fuzz %-8s %9s runs  %6s/s  %s  %s  corpus %s (%s committed), %s regression inputs\n' \
		"$t" "$runs" "$rate" "$cov" "$ft" "$corp" "$(ls fuzz/corpus/"$t" | wc -l)" \
		"$([[ -e ${regs[0]} ]] && echo ${#regs[@]} || echo 0)"
done
if ((${#failed[@]})); then
	echo "fuzz: FAILED: ${failed[*]}"
	exit 1
fi
echo "fuzz: every target ran ${secs} s without a finding"
