#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# zombie-memcgs.sh - the Kubernetes memory.stat incident (doc/incidents.md,
# case 1; walked through in doc/diagnosing.md) at small scale on this host.
#
#   contrib/repro/zombie-memcgs.sh [-n N] [-r READS] [-o FILE]
#
# What it does:
#   1. makes N (default 300) offline ("zombie") memory cgroups: each a child
#      of a private parent in the cgroup v1 memory hierarchy, which a
#      subshell joins, charges 16 KiB of tmpfs page cache to, and leaves;
#      the child is then removed but stays offline while its pages live;
#   2. runs the hostcalls test helper under `stallwatch run` with a small
#      policy (read/pread64 of */memory.stat, 1 us): it reads the root's and
#      the parent's memory.stat READS times (default 5) each, as cadvisor does;
#   3. prints the records (pretty, with jq when installed), each carrying
#      stallwatch.host.memcg: the offline count, at least our N.
#
# Needs: root, a cgroup v1 memory hierarchy mounted (e.g.
# /sys/fs/cgroup/memory), a writable /dev/shm, and a built checkout
# (`make all helpers`: ./stallwatch and build/helpers/hostcalls; override
# with STALLWATCH= and HELPERS=).
#
# Creates only what it names: the cgroup MEMCG/stallwatch-repro-PID (and its
# children z1..zN), the directory /dev/shm/stallwatch-repro-PID, and a
# temporary directory for the policy and the records (kept only with -o).
# On every exit (trap) it removes them: the tmpfs files first (which frees
# the zombies), then memory.force_empty of our parent only, then rmdir.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STALLWATCH=${STALLWATCH:-$ROOT/stallwatch}
HELPERS=${HELPERS:-$ROOT/build/helpers}
N=300
READS=5
OUT=

usage() {
	sed -n '/^#   contrib/p' "$0" >&2
	exit 2
}
while getopts n:r:o:h opt; do
	case $opt in
	n) N=$OPTARG ;;
	r) READS=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) usage ;;
	esac
done

die() {
	echo "zombie-memcgs: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "needs root (it creates memory cgroups)"
[ -x "$STALLWATCH" ] || die "$STALLWATCH not built (make)"
[ -x "$HELPERS/hostcalls" ] || die "$HELPERS/hostcalls not built (make helpers)"
# the mount point of the whole v1 memory hierarchy (mountinfo root "/")
MEMCG=$(awk '{
	for (i = 7; i <= NF && $i != "-"; i++) ;
	if ($(i + 1) != "cgroup" || $4 != "/") next;
	n = split($(i + 3), o, ",");
	for (k = 1; k <= n; k++) if (o[k] == "memory") { print $5; exit }
}' /proc/self/mountinfo)
[ -n "$MEMCG" ] || die "no cgroup v1 memory hierarchy is mounted (this case needs v1)"

PARENT=$MEMCG/stallwatch-repro-$$
SHM=/dev/shm/stallwatch-repro-$$
TMP=$(mktemp -d /tmp/stallwatch-repro-memcg.XXXXXX)

cleanup() {
	local d i
	rm -rf -- "$SHM" "$TMP" # the page cache that pins the zombies, then our files
	if [ -d "$PARENT" ]; then
		for d in "$PARENT"/*/; do
			[ -d "$d" ] && rmdir -- "$d" 2>/dev/null
		done
		echo 0 >"$PARENT/memory.force_empty" 2>/dev/null || true
		for i in 1 2 3 4 5 6 7 8 9 10; do
			rmdir -- "$PARENT" 2>/dev/null && break
			sleep 0.1
		done
		[ -d "$PARENT" ] && echo "zombie-memcgs: could not remove $PARENT" >&2
	fi
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$PARENT" "$SHM"
echo "making $N offline memory cgroups under $PARENT ..." >&2
for ((i = 1; i <= N; i++)); do
	mkdir "$PARENT/z$i"
	(echo "$BASHPID" >"$PARENT/z$i/cgroup.procs" && printf '%16384s' '' >"$SHM/$i")
	rmdir "$PARENT/z$i" 2>/dev/null || { sleep 0.01 && rmdir "$PARENT/z$i"; }
done
echo "/proc/cgroups memory: $(awk '$1 == "memory" { print $3 }' /proc/cgroups) cgroups," \
	"$(find "$MEMCG" -type d | wc -l) directories" >&2

cat >"$TMP/policy.json" <<'EOF'
{"rules":[{"name":"memory-stat-read","syscalls":["read","pread64"],
  "paths":["*/memory.stat"],"min_duration":"1us"}]}
EOF
steps=()
for ((i = 0; i < READS; i++)); do
	steps+=("read:$MEMCG/memory.stat" "read:$PARENT/memory.stat")
done
# 1 s first: stallwatch's first host sample (the offline count) is taken as it starts;
# 300 ms after: the helper keeps its fds until it exits, and under bpf a record
# is built a little after its call, from /proc/PID/fd (stallwatch.syscall.fd_path)
"$STALLWATCH" run --policy "$TMP/policy.json" -o "$TMP/records.json" -- \
	"$HELPERS/hostcalls" 1000 300 - "${steps[@]}" >/dev/null
[ -n "$OUT" ] && cp -- "$TMP/records.json" "$OUT"
if command -v jq >/dev/null; then
	jq . "$TMP/records.json"
else
	cat "$TMP/records.json"
fi
