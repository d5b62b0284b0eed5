#!/usr/bin/env bash
# The whole test suite: setup, a -Werror build, Check unit and Redis integration
# tests, the harness's Python tests, then the end-to-end suites over HTTP (model
# meter, and a simulated powercap tree with forced wraps; both with the host
# monitor's T037Monitor, ~20 s each, so its ASan+UBSan run too), the pages in headless
# Chromium (tests/browser: screenshots in build/artifacts/browser) and a load test over
# two worker hosts (tests/load/load.py; its full size: --tasks 3000).
#   scripts/test.sh            everything
#   scripts/test.sh --unit     build + unit/integration tests only
#   scripts/test.sh --ci       everything, plus the fuzz targets (scripts/fuzz.sh), the unit
#                              and e2e tests under ASan+UBSan and the stack in containers
#                              (scripts/compose-smoke.sh)
set -uo pipefail
cd "$(dirname "$0")/.."

mode=all
case "${1:-}" in
--unit) mode=unit ;;
--ci) mode=ci ;;
"") ;;
*) echo "usage: scripts/test.sh [--unit|--ci]" >&2; exit 2 ;;
esac

scripts/setup.sh || exit 1
PY=/usr/bin/python3
jobs=$(nproc 2>/dev/null || echo 2)
passed=0 failed=0 failures=()

step() { # name command...
	local name=$1 t0=$SECONDS; shift
	echo "=== $name"
	if "$@"; then
		passed=$((passed + 1))
		echo "=== passed in $((SECONDS - t0)) s: $name"
	else
		failed=$((failed + 1)); failures+=("$name")
		echo "=== FAILED in $((SECONDS - t0)) s: $name"
	fi
}

step "build (DEVELOPER=1)" make -s -j"$jobs" DEVELOPER=1 all
step "layers (includes, and what each binary contains and links)" \
	$PY scripts/check_layers.py --build build
step "lint (banned functions, cppcheck, clang-tidy)" scripts/lint.sh
step "unit + integration (Check)" make -s -j"$jobs" DEVELOPER=1 test
step "harness (python unittest)" $PY -m unittest discover -s tests/harness -t . -q
if [[ $mode != unit ]]; then
	step "API bytes as before the layering (tests/golden)" \
		$PY tests/e2e/api_bytes.py --check tests/golden/api_expected.txt
	step "e2e: model meter" $PY tests/e2e/run_e2e.py --meter model
	step "browser: report, comparison and dashboard in headless Chromium" \
		$PY tests/browser/run_browser.py
	step "e2e: simulated powercap" $PY tests/e2e/run_e2e.py --meter powercap
	step "e2e: Redis Sentinel, the master killed mid-stream" $PY tests/e2e/e2e_sentinel.py
	step "hostile: sandbox attacks through a real worker" $PY tests/hostile/run_hostile.py
	step "load: 600 operations on two hosts sharing one Redis (tests/load/load.py --ci)" \
		$PY tests/load/load.py --ci --json build/load-ci.json
fi
if [[ $mode == ci ]]; then
	# five targets on CPU 0 from copies of fuzz/corpus, regressions replayed first
	FUZZ_SECONDS=25
	step "fuzz: libFuzzer targets, $FUZZ_SECONDS s each" scripts/fuzz.sh $FUZZ_SECONDS
fi
if [[ $mode == ci ]]; then
	# prints SKIPPED (and passes) only where no Docker engine can run at all
	step "compose: the stack in containers (scripts/compose-smoke.sh)" scripts/compose-smoke.sh
fi
if [[ $mode == ci ]]; then
	SAN=address,undefined
	step "unit under ASan+UBSan" make -s -j"$jobs" SANITIZE=$SAN all test
	step "e2e under ASan+UBSan" env JT_BUILDDIR="$PWD/build/san-${SAN/,/-}" \
		$PY tests/e2e/run_e2e.py --meter model
fi

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "summary: $passed passed, $failed failed"
((failed == 0))
