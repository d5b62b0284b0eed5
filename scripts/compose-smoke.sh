#!/usr/bin/env bash
# The stack in containers, end to end (issue 10):
#   an engine (Debian's docker.io installed and dockerd started when missing),
#   a base image (debootstrap + docker import when no registry answers, cached),
#   `compose up -d --build`, one real measurement through the API, its seal
#   verified with jouletrace-verify against GET /api/v1/keys, the worker's
#   process killed and brought back by the restart policy, a second worker
#   "host" taking a job under its own lock, the host monitor sealing periods
#   (its /health, /metrics, Redis key and seal chain checked), and everything
#   torn down with its volumes.
#
#   scripts/compose-smoke.sh          exit 0 passed (or SKIPPED), 1 failed
#
# It prints one line `SKIPPED: <reason>` and exits 0 only when no Docker
# engine can be installed or started here; anything else that does not work
# fails.  Settings: BASE_IMAGE (skip the base build), JT_SMOKE_KEEP=1 (leave
# the stack up), JT_SMOKE_CACHE (where the base tarball is kept,
# /var/cache/jouletrace).
set -euo pipefail
# A daemon started from here (dockerd, by apt's postinst or by hand) must not
# inherit our descriptors: it would hold a caller's flock(1) lock, or a pipe,
# open for as long as it runs.
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	if ((fd > 2 && fd != 255)); then eval "exec $fd>&-"; fi
done 2>/dev/null
cd "$(dirname "$0")/.."
REPO=$PWD
say() { echo "smoke: $*"; }
die() { echo "smoke: FAILED: $*" >&2; exit 1; }
skip() { echo "SKIPPED: $*"; exit 0; }

# Everything here (apt, dockerd, builds) stays off the measurement CPU.
INFRA=$(build/jouletrace-server --print-layout 2>/dev/null | sed -n 's/^infra_cpus = //p')
taskset -pc "${INFRA:-0}" $$ >/dev/null 2>&1 || true

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
apt_install() {
	$SUDO apt-get update -qq >/dev/null 2>&1 || true
	$SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- 1. an engine -------------------------------------------------------------
# Debian's client talks to Debian's daemon; another client on PATH may be newer.
DOCKER=docker
[[ -x /usr/bin/docker ]] && DOCKER=/usr/bin/docker
engine_up() { timeout 20 "$DOCKER" info >/dev/null 2>&1; }
if ! engine_up; then
	if ! command -v dockerd >/dev/null; then
		say "installing Debian's docker.io"
		apt_install docker.io >/dev/null 2>&1 || skip "docker.io cannot be installed here"
		DOCKER=/usr/bin/docker
	fi
	if ! engine_up; then
		say "starting dockerd"
		mkdir -p /var/log/jouletrace
		$SUDO sh -c 'nohup dockerd >/var/log/jouletrace/dockerd.log 2>&1 &'
		for _ in $(seq 60); do engine_up && break; sleep 1; done
		engine_up || skip "dockerd does not start here: $(tail -n 3 /var/log/jouletrace/dockerd.log 2>/dev/null | tr '\n' ' ')"
	fi
fi
say "engine: $("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null)"

# From here on the engine runs: every failure is a failure.
if "$DOCKER" compose version >/dev/null 2>&1; then
	COMPOSE=("$DOCKER" compose)
else
	command -v docker-compose >/dev/null || apt_install docker-compose || die "cannot install docker-compose"
	COMPOSE=(docker-compose)
fi
say "compose: $("${COMPOSE[@]}" version --short 2>/dev/null || "${COMPOSE[@]}" version | head -n 1)"

# --- 2. a base image ----------------------------------------------------------
if [[ -z ${BASE_IMAGE:-} ]]; then
	if timeout 30 "$DOCKER" pull -q debian:bookworm-slim >/dev/null 2>&1; then
		BASE_IMAGE=debian:bookworm-slim
	else
		BASE_IMAGE=jouletrace-base:bookworm
		if ! "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
			CACHE=${JT_SMOKE_CACHE:-/var/cache/jouletrace}
			TAR=$CACHE/debian-bookworm-minbase.tar
			if [[ ! -s $TAR ]]; then
				command -v debootstrap >/dev/null || apt_install debootstrap || die "cannot install debootstrap"
				MIRROR=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/* *$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
				say "no registry: building $BASE_IMAGE with debootstrap from ${MIRROR:-deb.debian.org}"
				DIR=$(mktemp -d /tmp/jt-base.XXXXXX)
				debootstrap --variant=minbase bookworm "$DIR" "${MIRROR:-http://deb.debian.org/debian}" >/dev/null \
					|| die "debootstrap failed"
				rm -rf "$DIR"/var/cache/apt/archives/*.deb "$DIR"/var/lib/apt/lists/*
				mkdir -p "$CACHE"
				tar -C "$DIR" -cf "$TAR.tmp" . && mv "$TAR.tmp" "$TAR"
				rm -rf "$DIR"
			fi
			"$DOCKER" import "$TAR" "$BASE_IMAGE" >/dev/null || die "docker import failed"
		fi
	fi
fi
export BASE_IMAGE
say "base image: $BASE_IMAGE"

# --- 3. the stack -------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export JT_REDIS_PORT=${JT_REDIS_PORT:-$(free_port)}
PORT=$(free_port)
export JT_LISTEN=127.0.0.1:$PORT
export JT_CALIBRATE_DURATION=${JT_CALIBRATE_DURATION:-5}
export JT_CALIBRATE_WAIT=${JT_CALIBRATE_WAIT:-30}
export JT_CALIBRATE_FORCE=1    # a busy CI machine still gets a (labelled) profile
API=http://$JT_LISTEN
PROJECT=jtsmoke$$
C=("${COMPOSE[@]}" -p "$PROJECT" -f docker/docker-compose.yml --profile second-host)
WORK=$(mktemp -d /tmp/jt-smoke.XXXXXX)

teardown() {
	local rc=$?
	if ((rc != 0)); then
		say "logs of the stack:"
		"${C[@]}" logs --no-color --tail 40 2>&1 | sed 's/^/  /' || true
	fi
	if [[ ${JT_SMOKE_KEEP:-0} != 1 ]]; then
		"${C[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
		left=$("$DOCKER" ps -a --filter "label=com.docker.compose.project=$PROJECT" -q | wc -l)
		vols=$("$DOCKER" volume ls --filter "label=com.docker.compose.project=$PROJECT" -q | wc -l)
		say "torn down: $left containers and $vols volumes left"
	fi
	rm -rf "$WORK"
}
trap teardown EXIT

say "compose up (project $PROJECT, API $API, Redis port $JT_REDIS_PORT)"
timeout 1200 "${C[@]}" up -d --build redis calibrate worker server >"$WORK/up.log" 2>&1 \
	|| { tail -n 30 "$WORK/up.log"; die "compose up failed"; }

get() { curl -fsS --max-time 10 "$API$1"; }
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
wait_for() { # seconds what command...
	local t=$1 what=$2; shift 2
	for _ in $(seq "$t"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
	die "timed out after ${t}s waiting for $what"
}
live_workers() { [[ $(get /api/v1/health | jq_ 'd["workers_live"]') -ge ${1:-1} ]]; }
wait_for 120 "the server's /ping" get /ping
wait_for 60 "a live worker" live_workers 1

# --- 4. a real measurement, and its seal --------------------------------------
BODY='{"candidate_code": "def solve(n):\n    return sum(range(n))\n",
 "function_name": "solve",
 "test_cases": [{"test_id": "small", "inputs": [10], "expected_output": 45},
                {"test_id": "kw", "inputs": {"n": 100}, "expected_output": 4950}],
 "energy_measurement_trials": 3, "candidate_id": "smoke"}'
measure() { # -> task id
	curl -fsS --max-time 10 -X POST "$API/api/v1/measure" -H 'Content-Type: application/json' \
		-d "$BODY" | jq_ 'd["task_id"]'
}
finished() { get "/api/v1/tasks/$1" | jq_ 'd["status"] in ("completed","failed","cancelled") or exit(1)'; }
wait_done() { # id -> record in $WORK/$1.json
	wait_for 300 "task $1" finished "$1"
	get "/api/v1/tasks/$1" >"$WORK/$1.json"
	local st
	st=$(jq_ 'd["status"]' <"$WORK/$1.json")
	[[ $st == completed ]] || die "task $1 ended $st: $(head -c 600 "$WORK/$1.json")"
}
T1=$(measure)
wait_done "$T1"
say "task $T1 completed: $(jq_ '"%.3g J per call over %d trials, meter %s" % (d["energy_metrics"]["energy_per_call_joules"], d["energy_metrics"]["trials"], d["measurement_environment"]["meter_type"])' <"$WORK/$T1.json")"
jq_ 'json.dumps(d["seal"])' <"$WORK/$T1.json" >"$WORK/seal.json"
get /api/v1/keys >"$WORK/keys.json"
"$DOCKER" run --rm --network none -v "$WORK:/x:ro" --entrypoint jouletrace-verify jouletrace:local \
	--pubkey /x/keys.json /x/seal.json || die "the seal of $T1 does not verify against /api/v1/keys"
say "seal of $T1 verified with jouletrace-verify against /api/v1/keys"
# the sandbox in a container: every control, the cgroup limits included
missing=$(jq_ '",".join(d["measurement_environment"]["sandbox"]["not_enforced"])' <"$WORK/$T1.json")
[[ -z $missing ]] || die "the sandbox of $T1 did not enforce: $missing ($(jq_ 'd["measurement_environment"]["sandbox"]["reasons"]' <"$WORK/$T1.json"))"
say "the candidate's sandbox enforced every control, cgroups included; attribution by $(jq_ 'd["attribution"]["attribution_source"]' <"$WORK/$T1.json")"
# the server cannot read the signing key: it is not even mounted there
if "${C[@]}" exec -T server sh -c 'ls /var/lib/jouletrace/keys' >/dev/null 2>&1; then
	die "the server container can see the key directory"
fi
[[ $("${C[@]}" exec -T server id -u | tr -d '\r') != 0 ]] || die "the server runs as root"

# --- 5. the worker's process killed: the restart policy brings it back --------
WID=$("${C[@]}" ps -q worker)
PID=$("$DOCKER" inspect -f '{{.State.Pid}}' "$WID")
RC0=$("$DOCKER" inspect -f '{{.RestartCount}}' "$WID")
kill -9 "$PID"
restarted() { [[ $("$DOCKER" inspect -f '{{.RestartCount}} {{.State.Running}}' "$WID") == "$((RC0 + 1)) true" ]]; }
wait_for 60 "the worker's restart" restarted
wait_for 60 "the restarted worker's heartbeat" live_workers 1
T2=$(measure)
wait_done "$T2"
say "worker killed (pid $PID), restarted by the policy, and task $T2 completed after it"

# --- 6. a second worker host, its own lock --------------------------------------
timeout 600 "${C[@]}" up -d worker2 >>"$WORK/up.log" 2>&1 || die "worker2 did not start"
wait_for 180 "two live workers" live_workers 2
"${C[@]}" stop worker >/dev/null 2>&1
T3=$(measure)
wait_done "$T3"
host=$(jq_ 'd["measurement_environment"]["measurement_cpus"]' <"$WORK/$T3.json")
fence=$(jq_ 'd["measurement_lock"]["fencing_token"]' <"$WORK/$T3.json")
[[ $host == "${JT_WORKER2_MEASUREMENT_CPUS:-0}" ]] || die "task $T3 ran on CPUs $host, not the second host's"
# its own lock: a fencing counter of its own beside the first host's (a busy
# CPU 0 may make it take the lock more than once, so no exact number)
fences=$("${C[@]}" exec -T redis sh -c "redis-cli -p $JT_REDIS_PORT --scan --pattern 'jt:fence:*'" | tr -d '\r' | sort)
own=$("${C[@]}" exec -T redis redis-cli -p "$JT_REDIS_PORT" GET jt:fence:second-host | tr -d '\r')
[[ $(wc -l <<<"$fences") == 2 && $own == "$fence" ]] ||
	die "fencing counters $(echo $fences) (second host's: $own) do not match task $T3's number $fence"
"${C[@]}" start worker >/dev/null 2>&1
say "second host measured task $T3 on CPU $host under its own lock (fencing token $fence)"

# --- 7. the host monitor: /health, /metrics, a seal chain in its volume and Redis
export JT_MONITOR_SEAL_SECONDS=2 JT_MONITOR_LISTEN=127.0.0.1:$(free_port)
timeout 600 "${C[@]}" up -d monitor >>"$WORK/up.log" 2>&1 || die "the monitor did not start"
MON=http://$JT_MONITOR_LISTEN
wait_for 60 "the monitor's /health" curl -fsS --max-time 5 "$MON/health"
curl -fsS --max-time 10 "$MON/metrics" >"$WORK/metrics.txt" || die "the monitor's /metrics"
grep -q '^jouletrace_monitor_' "$WORK/metrics.txt" || die "no jouletrace_monitor_ series in /metrics"
monitor_seals() { # -> how many seals the monitor's Redis key holds
	"${C[@]}" exec -T redis sh -c "k=\$(redis-cli -p $JT_REDIS_PORT --scan --pattern 'jt:monitor:seals:*' | head -n 1);
		[ -n \"\$k\" ] && redis-cli -p $JT_REDIS_PORT ZCARD \"\$k\"" | tr -d '\r'
}
two_seals() { [[ $(monitor_seals) -ge 2 ]]; }
wait_for 60 "two monitor seals in Redis" two_seals
VOL=$("$DOCKER" volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | grep '_monitor$') ||
	die "no monitor volume"
"$DOCKER" run --rm --network none --user 0 -v "$VOL:/m:ro" -v "$WORK:/x:ro" \
	--entrypoint jouletrace-verify jouletrace:local --chain --pubkey /x/keys.json /m/monitor-seals.jsonl \
	>"$WORK/chain.txt" 2>&1 || { cat "$WORK/chain.txt"; die "the monitor's seal chain does not verify"; }
say "monitor: /health and /metrics answer, $(monitor_seals) seals in Redis, its seal file verifies as a chain ($(tail -n 1 "$WORK/chain.txt"))"
say "passed"
