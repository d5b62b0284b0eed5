#!/usr/bin/env bash
# Starts the whole jouletrace stack on this machine, in the foreground:
# a local Redis (with AOF) when redis_url does not answer, calibration when no
# valid profile exists, one worker and the server, each started again with
# backoff when it dies.  Ctrl-C or SIGTERM stops everything this script
# started, and nothing else.  $JT_RUN_DIR/{worker,server}.pid name the
# current processes.
#   scripts/start_jouletrace.sh [--config FILE]
set -euo pipefail
cd "$(dirname "$0")/.."

CONFIG_ARGS=()
if [[ ${1:-} == --config ]]; then
	[[ -n ${2:-} ]] || { echo "usage: $0 [--config FILE]" >&2; exit 2; }
	CONFIG_ARGS=(--config "$2")
fi

scripts/setup.sh
echo "start: building"
make -s -j"$(nproc)" all

B=build
conf() { "$B/jouletrace-server" "${CONFIG_ARGS[@]}" --print-config | sed -n "s/^$1 = //p" | tr -d '"'; }
REDIS_URL=$(conf redis_url)
LISTEN=$(conf listen)
RUN=${JT_RUN_DIR:-run}
mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)

# The service stays off the measurement CPUs: this script, and so the Redis,
# calibrator, worker and server it starts, run on the infra CPUs only.
layout() { "$B/jouletrace-server" "${CONFIG_ARGS[@]}" --print-layout | sed -n "s/^$1 = //p"; }
INFRA=$(layout infra_cpus)
taskset -pc "$INFRA" $$ >/dev/null
echo "start: pinned to the infra CPUs $INFRA; candidates are measured on CPUs $(layout measurement_cpus)"

pids=()
cleanup() {
	trap - INT TERM EXIT
	echo "start: stopping"
	# Newest first, each waited for: the worker deregisters while Redis still runs.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
	echo "start: stopped"
}
trap cleanup EXIT
trap 'exit 0' INT TERM   # a stop is not a failure; EXIT cleans up

# --- Redis -----------------------------------------------------------------
if [[ $REDIS_URL =~ ^redis://([^:/]+):([0-9]+) ]]; then
	RHOST=${BASH_REMATCH[1]} RPORT=${BASH_REMATCH[2]}
else
	echo "start: only redis://host:port URLs can be started locally ($REDIS_URL)" >&2
	RHOST="" RPORT=""
fi
if [[ -n $RPORT ]] && ! redis-cli -h "$RHOST" -p "$RPORT" ping >/dev/null 2>&1; then
	# one data folder per instance: two stacks on one machine never share an AOF
	RDIR="$RUN/redis-$RPORT"
	echo "start: Redis not answering at $RHOST:$RPORT; starting one with AOF in $RDIR"
	mkdir -p "$RDIR"
	redis-server --bind "$RHOST" --port "$RPORT" --dir "$RDIR" \
		--appendonly yes --appendfsync everysec --save "" --daemonize no \
		--logfile "$RDIR/redis.log" &
	pids+=($!)
	for _ in $(seq 50); do redis-cli -h "$RHOST" -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
	redis-cli -h "$RHOST" -p "$RPORT" ping >/dev/null || { echo "start: Redis did not come up" >&2; exit 1; }
fi

# --- calibration -------------------------------------------------------------
if ! "$B/jouletrace-calibrate" "${CONFIG_ARGS[@]}" --check; then
	echo "start: calibrating the measurement CPUs (keep this machine quiet)"
	"$B/jouletrace-calibrate" "${CONFIG_ARGS[@]}" ${JT_CALIBRATE_DURATION:+--duration "$JT_CALIBRATE_DURATION"}
fi

# --- worker and server -------------------------------------------------------
# Each runs under a supervisor that starts it again when it dies, after 1 s,
# then 2, 4, ... up to 30 s while it keeps dying, as compose's restart policy
# does; a run of a minute resets the delay.  A stop (Ctrl-C, SIGTERM) reaches
# the supervisor, which stops its program and does not restart it.
supervise() { # name command...
	local name=$1 child=0 delay=1 t0 rc
	shift
	trap 'kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
	while :; do
		t0=$SECONDS
		"$@" &
		child=$!
		echo "$child" >"$RUN/$name.pid"
		rc=0
		wait "$child" || rc=$?
		((SECONDS - t0 >= 60)) && delay=1
		echo "start: $name exited (status $rc); starting it again in ${delay} s" >&2
		sleep "$delay" &
		wait $! || true
		delay=$((delay * 2 > 30 ? 30 : delay * 2))
	done
}
supervise worker "$B/jouletrace-worker" "${CONFIG_ARGS[@]}" &
pids+=($!)
supervise server "$B/jouletrace-server" "${CONFIG_ARGS[@]}" &
pids+=($!)
for _ in $(seq 50); do curl -fs "http://$LISTEN/ping" >/dev/null 2>&1 && break; sleep 0.1; done
echo "start: jouletrace is up at http://$LISTEN  (status: curl http://$LISTEN/api/v1/socket0/status)"
# The supervisors never end by themselves; Redis (when started here) may.
wait -n "${pids[@]}"
echo "start: Redis exited; stopping" >&2
exit 1
