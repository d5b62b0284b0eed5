#!/bin/sh
# The image's one entry point: which jouletrace program a container runs.
#   server | worker        exec the program with the image's config
#   monitor                the host monitor (jouletrace-monitor)
#   calibrate              one-shot: keep a valid profile, or measure idle
#   worker with JT_CALIBRATE_FIRST=1   calibrate as above, then the worker
#                          (a second worker host with its own profile)
#   <anything else>        exec it (jouletrace-verify, sh, ...)
# Every config key can be set as JT_<KEY> in the environment.
set -eu
CONF=${JT_CONFIG:-/etc/jouletrace/jouletrace.conf}

calibrate() {
	# A profile that is still valid for this host is kept (a restart of the
	# stack does not recalibrate).  Calibration refuses while the package is
	# busy; it is tried again for JT_CALIBRATE_WAIT seconds, then, with
	# JT_CALIBRATE_FORCE=1, written anyway: the profile, and every result and
	# seal that uses it, then say it was forced.
	if jouletrace-calibrate --config "$CONF" --check; then
		return 0
	fi
	end=$(( $(date +%s) + ${JT_CALIBRATE_WAIT:-120} ))
	dur=${JT_CALIBRATE_DURATION:-30}
	while :; do
		rc=0
		jouletrace-calibrate --config "$CONF" --duration "$dur" || rc=$?
		[ "$rc" -eq 1 ] || return "$rc"    # 0 done; 2, 3 errors that waiting does not fix
		[ "$(date +%s)" -lt "$end" ] || break
		echo "calibrate: the package is busy; trying again in 5 s" >&2
		sleep 5
	done
	if [ "${JT_CALIBRATE_FORCE:-0}" = 1 ]; then
		echo "calibrate: still busy after ${JT_CALIBRATE_WAIT:-120} s; writing a forced profile" >&2
		jouletrace-calibrate --config "$CONF" --duration "$dur" --force
		return
	fi
	echo "calibrate: the package stayed busy; set JT_CALIBRATE_FORCE=1 to write a forced profile" >&2
	return 1
}

# Docker mounts the container's own cgroups read-only.  The sandbox puts each
# candidate in a group of its own below them (its memory and pids limits), so
# the worker makes its memory and pids (v1) or unified (v2) mount writable.
# The mount shows only this container's subtree: nothing above it becomes
# reachable.  Without CAP_SYS_ADMIN this fails, and the sandbox reports the
# cgroup controls as not enforced (rlimits still bound memory and processes).
cgroups_writable() {
	awk '$5 ~ "^/sys/fs/cgroup(/memory|/pids)?$" && $6 ~ /(^|,)ro(,|$)/ {
		split($0, p, " - "); split(p[2], f, " ");
		if (f[1] == "cgroup" || f[1] == "cgroup2") print $5 }' /proc/self/mountinfo |
	while read -r m; do
		mount -o remount,bind,rw "$m" 2>/dev/null ||
			echo "worker: $m stays read-only: no cgroup limits for candidates" >&2
	done
}

case "${1:-server}" in
server)
	exec jouletrace-server --config "$CONF" ;;
worker)
	cgroups_writable
	if [ "${JT_CALIBRATE_FIRST:-0}" = 1 ]; then
		calibrate
	fi
	exec jouletrace-worker --config "$CONF" ;;
monitor)
	exec jouletrace-monitor --config "$CONF" ;;
calibrate)
	calibrate ;;
*)
	exec "$@" ;;
esac
