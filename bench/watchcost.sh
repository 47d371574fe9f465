#!/bin/bash
# bench/watchcost.sh - what `stallwatch watch` costs itself: CPU (user +
# system, from /proc/PID/stat) and resident memory (VmRSS), idle and with
# 50 busy targets, under each backend.
#
# usage: bench/watchcost.sh [SECONDS] [BACKEND...]   (repo root, after
#        `make all helpers`; root. Default 10 s per window, bpf ptrace)
#
# Windows, each SECONDS long, one fresh daemon each:
#   idle        a policy whose one target (comm swcost-t) no process has:
#               the daemon's own loop, its scans (scan.interval 60s: the one
#               at start) and the proc connector's exec events of the host
#   host-wide   (bpf only) the built-in default policy: its rules name no
#               targets, so the kernel times the non-wait calls of every
#               process of the host
#   50 targets  50 copies of the slowcalls helper named swcost-t, each
#               making 1 ms nanosleeps back to back (about 1000 calls a
#               second each, 50,000 in all), none of them slow: the cost of
#               watching busy processes whose calls are all fast
# Prints one line per window: the daemon's CPU in % of one CPU over the
# window, its RSS in MiB, and (50 targets) how many it watched.
set -euo pipefail

SECS=${1:-10}
shift || true
BACKENDS=${*:-bpf ptrace}
SW=${SW:-./stallwatch}
H=${HELPERS:-build/helpers}
TD=$(mktemp -d /tmp/swcost.XXXXXX)
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TD"
}
trap cleanup EXIT

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }

cat >"$TD/p.json" <<'POL'
{"targets": {"t": {"comm": "swcost-t"}},
 "rules": [{"name": "t-slow", "targets": ["t"], "min_duration": "100ms"}]}
POL
cp "$H/slowcalls" "$TD/swcost-t"

# window NAME BACKEND POLICY_ARGS... : start a daemon, measure SECS, stop it
window() {
	local name=$1 backend=$2 pid t0 t1 hz n= targets=()
	shift 2
	"$SW" watch --backend="$backend" "$@" -o /dev/null 2>"$TD/err.txt" &
	pid=$!
	PIDS+=("$pid")
	for _ in $(seq 100); do grep -q 'ready' "$TD/err.txt" && break; sleep 0.05; done
	if [ "$name" = "50-targets" ]; then
		for _ in $(seq 50); do
			"$TD/swcost-t" 1000000 1000 >/dev/null &
			PIDS+=("$!")
			targets+=("$!")
		done
		sleep 1 # every one picked up and running
		n=$(grep -c '^stallwatch: watching' "$TD/err.txt" || true)
	fi
	hz=$(getconf CLK_TCK)
	t0=$(cpu_ticks "$pid")
	sleep "$SECS"
	t1=$(cpu_ticks "$pid")
	printf '%-10s %-7s cpu %5.1f %%  rss %5.1f MiB%s\n' "$name" "$backend" \
		"$(echo "($t1 - $t0) * 100 / $hz / $SECS" | bc -l)" \
		"$(echo "$(rss_kib "$pid") / 1024" | bc -l)" \
		"${n:+  targets watched $n}"
	# ours, by pid
	[ ${#targets[@]} -eq 0 ] || kill -TERM "${targets[@]}" 2>/dev/null || true
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	wait 2>/dev/null || true
	PIDS=()
}

for b in $BACKENDS; do
	window idle "$b" --policy "$TD/p.json"
	[ "$b" = bpf ] && window host-wide "$b"
	window 50-targets "$b" --policy "$TD/p.json"
done
