#!/bin/sh
# Install the Debian packages stallwatch needs to build and test, if missing.
# Called by `make deps` (and so by `make demo` and `make check`). Needs root
# (or sudo) only when something is actually missing.
set -eu

PKGS="gcc make pkg-config libseccomp-dev libjansson-dev libcgroup-dev jq strace procps util-linux cppcheck clang-format bc python3 rsyslog prometheus-node-exporter curl logrotate man-db groff-base python3-yaml systemd linux-perf"

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
# Some packages (rsyslog, prometheus-node-exporter) are daemons the tests start
# and stop themselves: their services must not be started (or enabled to run)
# by the install. A policy-rc.d that exits 101 forbids it; ours is temporary
# and removed afterwards, a pre-existing one is left alone.
POLICY_RC=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY_RC" ]; then
	trap '$SUDO rm -f "$POLICY_RC"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	printf '#!/bin/sh\n# stallwatch install-deps: start no service while installing\nexit 101\n' |
		$SUDO tee "$POLICY_RC" >/dev/null
	$SUDO chmod 755 "$POLICY_RC"
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
