#!/bin/sh
# Install the Debian packages stallwatch needs to build and test, if missing.
# Called by `make deps` (and so by `make demo` and `make check`). Needs root
# (or sudo) only when something is actually missing.
set -eu

PKGS="gcc make pkg-config libseccomp-dev libjansson-dev libcgroup-dev jq strace procps util-linux cppcheck clang-format bc python3"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "stallwatch: installing missing packages:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "stallwatch: need root to install:$missing" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
