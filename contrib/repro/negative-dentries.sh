#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# negative-dentries.sh - the Kafka negative-dentry incident (doc/incidents.md,
# case 2; walked through in doc/diagnosing.md) at small scale on this host.
#
#   contrib/repro/negative-dentries.sh [-n N] [-m M] [-t DUR] [-o FILE]
#
# -t DUR reports inotify_add_watch from DUR on (`-e inotify_add_watch -m DUR`,
# for small M, whose watch takes less than the default policy's 10 ms).
#
# What it does, in a private directory it makes:
#   1. under `stallwatch run` (the built-in default policy), the enoentstorm
#      test helper looks up N (default 20000) new names that do not exist:
#      one negative dentry each, and an ENOENT storm of that process there;
#   2. an untraced copy of the helper adds M (default 1000000) more
#      negative dentries in the same directory (the "vendor agent");
#   3. the traced helper calls inotify_add_watch(dir, IN_ALL_EVENTS), which
#      walks every child dentry of the directory, negative ones included
#      (about 90 ms for 1 000 000 on a 2-CPU 6.18 VM);
#   4. prints the records (pretty, with jq when installed): the slow
#      inotify_add_watch (rule watch-setup-slow, 10 ms) with the host's
#      negative dentry count and the top ENOENT producers under the
#      directory, and the enoent-storm record naming the process and the
#      directory.
#
# Needs: a built checkout (`make all helpers`: ./stallwatch and
# build/helpers/enoentstorm; override with STALLWATCH= and HELPERS=), about
# 200 MB of memory for the dentries of M = 1 000 000, and the right to trace
# (root, or ptrace of your own processes; the default backend bpf needs root).
#
# Creates only what it names: the directory /tmp/stallwatch-repro-dentries.*
# (a temporary one; records kept only with -o). On every exit (trap) it stops
# the helpers it started and removes the directory: the kernel drops the
# negative dentries of a removed directory with it (about 1 s for 1 000 000).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STALLWATCH=${STALLWATCH:-$ROOT/stallwatch}
HELPERS=${HELPERS:-$ROOT/build/helpers}
N=20000
M=1000000
OUT=
ARGS=()

usage() {
	sed -n '/^#   contrib/p' "$0" >&2
	exit 2
}
while getopts n:m:t:o:h opt; do
	case $opt in
	t) ARGS=(-e inotify_add_watch -m "$OPTARG") ;;
	n) N=$OPTARG ;;
	m) M=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) usage ;;
	esac
done

die() {
	echo "negative-dentries: $*" >&2
	exit 1
}

[ -x "$STALLWATCH" ] || die "$STALLWATCH not built (make)"
[ -x "$HELPERS/enoentstorm" ] || die "$HELPERS/enoentstorm not built (make helpers)"

TMP=$(mktemp -d /tmp/stallwatch-repro-dentries.XXXXXX)
SWPID=

cleanup() {
	if [ -n "$SWPID" ] && kill -0 "$SWPID" 2>/dev/null; then
		touch "$TMP/gate" # let the traced helper go on and end
		kill -TERM "$SWPID" 2>/dev/null || true
		wait "$SWPID" 2>/dev/null || true
	fi
	rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$TMP/dir"
dir=$TMP/dir
echo "negative dentries before: $(awk '{ print $5 }' /proc/sys/fs/dentry-state)" >&2
"$STALLWATCH" run ${ARGS[@]+"${ARGS[@]}"} -o "$TMP/records.json" -- \
	"$HELPERS/enoentstorm" unique "$N" "$dir" -g "$TMP/gate" -i -o "$TMP/helper.txt" &
SWPID=$!
for ((i = 0; i < 600; i++)); do
	grep -q ready "$TMP/helper.txt" 2>/dev/null && break
	kill -0 "$SWPID" 2>/dev/null || die "stallwatch run ended early"
	sleep 0.1
done
grep -q ready "$TMP/helper.txt" || die "the traced helper's $N lookups did not end in 60 s"
echo "traced: $N failed lookups in $dir; now $M more from an untraced process ..." >&2
"$HELPERS/enoentstorm" unique "$M" "$dir" -p n >/dev/null
echo "negative dentries now: $(awk '{ print $5 }' /proc/sys/fs/dentry-state)" >&2
# the bpf backend copies the kernel's ENOENT counts at least every second
sleep 1.1
touch "$TMP/gate"
wait "$SWPID" || die "stallwatch run exited $?"
SWPID=
echo "the helper's own timing of the watch: $(awk '$1 == "watch" { printf "%.1f ms", $2 / 1e6 }' \
	"$TMP/helper.txt")" >&2
[ -n "$OUT" ] && cp -- "$TMP/records.json" "$OUT"
if command -v jq >/dev/null; then
	jq . "$TMP/records.json"
else
	cat "$TMP/records.json"
fi
