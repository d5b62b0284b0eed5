#!/usr/bin/env bash
# Installs the Debian packages jouletrace builds and tests with, only the missing ones.
# Idempotent: a second run installs nothing and says so.
set -euo pipefail

PKGS=(build-essential pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
      libmicrohttpd-dev libhiredis-dev libsodium-dev libjansson-dev libseccomp-dev
      libcurl4-openssl-dev   # the client jouletrace (client/httpc.c)
      check redis-server python3 curl procps cppcheck clang-tidy tmux
      prometheus    # promtool, which checks /metrics in the e2e tests
      gdb           # stops a worker between sealing and storing (tests/e2e/e2e_crash.py)
      chromium nodejs)   # the pages in headless Chromium (tests/browser; nodejs brings npm)

# The dedicated unprivileged user candidate code runs as (SPEC §9, docs/SECURITY.md):
# no home, no shell, no supplementary groups.  The name is config key sandbox_user.
SANDBOX_USER=${JT_SANDBOX_USER:-jouletrace-sbx}
ensure_sandbox_user() {
	getent passwd "$SANDBOX_USER" >/dev/null && return 0
	if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null; then
		echo "setup: WARNING: cannot create user $SANDBOX_USER (not root); the sandbox's uid control will be missing" >&2
		return 0
	fi
	local S=""
	[[ $(id -u) -eq 0 ]] || S=sudo
	$S useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin --comment "jouletrace sandbox" "$SANDBOX_USER"
	echo "setup: created sandbox user $SANDBOX_USER (uid $(id -u "$SANDBOX_USER"))"
}

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# tests/browser's npm packages (playwright-core, pinned by its package-lock.json):
# installed when node_modules is missing or older than the lock file.
ensure_browser_deps() {
	local d
	d="$(dirname "$0")/../tests/browser"
	[[ -f $d/package-lock.json ]] || return 0
	if [[ -f $d/node_modules/.package-lock.json && ! $d/package-lock.json -nt $d/node_modules/.package-lock.json ]]; then
		return 0
	fi
	echo "setup: npm ci in tests/browser"
	(cd "$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	touch "$d/node_modules/.package-lock.json"
}

if ((${#missing[@]} == 0)); then
	echo "setup: all ${#PKGS[@]} packages present"
	ensure_sandbox_user
	ensure_browser_deps
	exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a system redis on :6379 at install; tests use their own servers and
# the start script its own, so leave the system one alone but do not depend on it.
ensure_sandbox_user
ensure_browser_deps
echo "setup: done"
