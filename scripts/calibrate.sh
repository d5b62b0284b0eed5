#!/usr/bin/env bash
# Measure the idle power of the measurement package and write the calibration
# profile (SPEC §6).  Arguments go to jouletrace-calibrate unchanged:
#   scripts/calibrate.sh [--config FILE] [--duration S] [--output FILE] [--force]
# Exit status is the tool's: 0 written, 1 refused (busy/noisy), 2 usage/config, 3 failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=build/jouletrace-calibrate
# Build when missing, and rebuild when sources are newer (a stale binary would
# silently write a profile with old logic); `make -q` is a cheap up-to-date test.
if [[ ! -x $bin ]] || { command -v make >/dev/null && ! make -q "$bin" 2>/dev/null; }; then
	make -s "$bin"
fi
exec "$bin" "$@"
