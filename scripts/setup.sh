#!/usr/bin/env bash
# Installs the Debian packages jouletrace builds and tests with, only the missing ones.
# Idempotent: a second run installs nothing and says so.
set -euo pipefail

PKGS=(build-essential pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
      libmicrohttpd-dev libhiredis-dev libsodium-dev libjansson-dev libseccomp-dev
      check redis-server python3 curl procps)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	echo "setup: all ${#PKGS[@]} packages present"
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
echo "setup: done"
