#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# slab-leak.sh - the NFS slab leak (doc/incidents.md, case 3; walked through
# in doc/diagnosing.md), replayed: a real leak cannot be made safely, and
# stallwatch needs 6 hours of history to call a cache a leak.
#
#   contrib/repro/slab-leak.sh [-s DIR] [-o FILE]
#
# What it does:
#   1. turns a recorded series of /proc/slabinfo snapshots (DIR, default
#      contrib/repro/slabinfo-series: real caches of a 6.18 VM with a
#      SYNTHETIC kmalloc-32 growth of 16 MiB/h over 7 h, see its README.md)
#      into a `stallwatch scan --state` file: per cache family (kmalloc-cg-32,
#      dma-kmalloc-32, kmalloc-rnd-NN-32 summed into kmalloc-32, as scan does)
#      one [time, bytes] point per snapshot, the last one a minute ago, and
#      slab_t = now, so this scan does not read /proc/slabinfo (its 10 s
#      bound) and judges the recorded series alone (doc/scan.md, "The state
#      file" and "Slab");
#   2. runs one `stallwatch scan --state FILE` and prints its records (pretty,
#      with jq when installed): the host-scan sample with the top growing
#      caches, and one slab-growth alert for kmalloc-32.
# On a real host the same history builds up by itself: `stallwatch scan
# --interval 10m` or a timer running `stallwatch scan --state FILE`.
#
# Needs: a built ./stallwatch (override with STALLWATCH=), awk. No root: the
# scan reads no root-only file here (it skips /proc/slabinfo).
#
# Creates only a temporary directory /tmp/stallwatch-repro-slab.* (the state
# file and the records; records kept only with -o), removed on exit (trap).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STALLWATCH=${STALLWATCH:-$ROOT/stallwatch}
SERIES=$ROOT/contrib/repro/slabinfo-series
OUT=

usage() {
	sed -n '/^#   contrib/p' "$0" >&2
	exit 2
}
while getopts s:o:h opt; do
	case $opt in
	s) SERIES=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) usage ;;
	esac
done

die() {
	echo "slab-leak: $*" >&2
	exit 1
}

[ -x "$STALLWATCH" ] || die "$STALLWATCH not built (make)"
files=("$SERIES"/t*.slabinfo)
[ -f "${files[0]}" ] || die "no t*.slabinfo in $SERIES"

TMP=$(mktemp -d /tmp/stallwatch-repro-slab.XXXXXX)
trap 'rm -rf -- "$TMP"' EXIT
trap 'exit 130' INT TERM

# tSSSSS.slabinfo: SSSSS seconds after the first snapshot; the last one maps to a minute ago.
awk -v now="$(date +%s.%N)" -v boot="$(cat /proc/sys/kernel/random/boot_id)" '
	FNR == 1 {
		f = FILENAME; sub(/.*\/t/, "", f); sub(/\.slabinfo$/, "", f)
		off = f + 0; k++; t[k] = off; last = off
		if ($0 !~ /^slabinfo - version: 2\./) { print FILENAME ": not slabinfo 2.x" > "/dev/stderr"; exit 1 }
		next
	}
	/^#/ || NF < 4 { next }
	{
		fam = $1
		sub(/^dma-kmalloc-/, "kmalloc-", fam)
		sub(/^kmalloc-cg-/, "kmalloc-", fam)
		sub(/^kmalloc-rnd-[0-9]+-/, "kmalloc-", fam)
		bytes[fam, k] += $2 * $4
		if (!(fam in seen)) { seen[fam] = 1; order[++nf] = fam }
	}
	END {
		printf "{\"version\":1,\"boot_id\":\"%s\",\"samples\":[],\"slab\":{\"families\":{", boot
		for (i = 1; i <= nf; i++) {
			printf "%s\"%s\":[", (i > 1 ? "," : ""), order[i]
			for (j = 1; j <= k; j++)
				printf "%s[%.6f,%d]", (j > 1 ? "," : ""), now - 60 - (last - t[j]), bytes[order[i], j]
			printf "]"
		}
		printf "}},\"slab_t\":%.6f}\n", now
	}' "${files[@]}" >"$TMP/state.json"

"$STALLWATCH" scan --state "$TMP/state.json" -o "$TMP/records.json"
[ -n "$OUT" ] && cp -- "$TMP/records.json" "$OUT"
if command -v jq >/dev/null; then
	jq . "$TMP/records.json"
else
	cat "$TMP/records.json"
fi
