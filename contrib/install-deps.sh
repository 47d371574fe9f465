#!/bin/sh
# Install the Debian packages stallwatch needs, if missing. Needs root (or
# sudo) only when something is actually missing.
#
#   contrib/install-deps.sh           build and run: `make deps`, `make demo`
#   contrib/install-deps.sh --check   also what the tests use: `make deps-check`,
#                                     `make check`
#   contrib/install-deps.sh --bench   also what `make bench` / `make bench-quick` use
#
set -eu

# Building (the Makefile's pkg-config libseccomp, jansson, libcgroup; the
# -dev packages bring the run-time libraries), and jq to read the records
# (the demo and the README's examples).
# The bpf backend (tracer/bpf/watch.bpf.c) adds: clang and llvm (llvm-strip)
# to compile the kernel program, bpftool to generate its skeleton, and
# libbpf-dev (bpf_helpers.h, libbpf), libelf-dev and zlib1g-dev, which
# libbpf links against (pkg-config libbpf).
PKGS_BUILD="gcc make pkg-config libseccomp-dev libjansson-dev libcgroup-dev jq
clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev"

# What tests/ runs, beyond the build set:
#   strace            follow.sh (a tracer inside run gets EPERM), packaging.sh
#                     (the syscalls the systemd units must allow)
#   procps            pgrep (packaging.sh)
#   util-linux        unshare, setpriv, taskset (attach.sh, cli.sh, privileges.sh,
#                     scan.sh, timing.sh, sinks_daemons.sh)
#   python3           the pty tests (ptyjob.py, ptyrun.py), the node_exporter scrape
#   python3-yaml      the DaemonSet and pipeline files (packaging.sh)
#   rsyslog, prometheus-node-exporter, curl
#                     a private rsyslogd and node_exporter (sinks_daemons.sh)
#   logrotate         contrib/logrotate/stallwatch (packaging.sh)
#   prometheus        promtool check/test rules of contrib/prometheus (packaging.sh;
#                     the Prometheus server it also ships is not started)
#   man-db, groff-base
#                     the man page renders without warnings (packaging.sh)
#   systemd           systemd-analyze verify/security of the units (packaging.sh)
#   linux-perf        perf stat counts the calls stallwatch makes (timing.sh)
#   cppcheck, clang-format
#                     the lint tests (tests/run.sh)
PKGS_CHECK="strace procps util-linux python3 python3-yaml rsyslog prometheus-node-exporter curl
logrotate prometheus man-db groff-base systemd linux-perf cppcheck clang-format"

# bench/run.sh compares with strace and perf trace; bench/quick.sh uses bc.
PKGS_BENCH="strace linux-perf bc"

PKGS=$PKGS_BUILD
for arg in "$@"; do
	case $arg in
	--check) PKGS="$PKGS $PKGS_CHECK" ;;
	--bench) PKGS="$PKGS $PKGS_BENCH" ;;
	*)
		echo "usage: $0 [--check] [--bench]" >&2
		exit 2
		;;
	esac
done

missing=""
for p in $PKGS; do
	case " $missing " in *" $p "*) continue ;; esac
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
# Some packages (rsyslog, prometheus-node-exporter, prometheus) are daemons the tests start
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
