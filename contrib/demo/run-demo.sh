#!/bin/sh
# `make demo`: run the demo workload under stallwatch and show its records.
# usage: run-demo.sh STALLWATCH DEMO_BINARY
set -eu
sw=${1:-./stallwatch}
demo=${2:-build/demo_workload}
out=$(mktemp /tmp/stallwatch-demo.XXXXXX.json)

summary() {
	if command -v jq >/dev/null 2>&1; then
		jq -r '[.event.action, .rule.name, .log.level, .stallwatch.syscall.name,
			(.event.duration/1e6 | tostring | .[0:6]) + " ms",
			(.stallwatch.syscall.fd_path // .stallwatch.syscall.path // "-"),
			(if .stallwatch.syscall.wait then "wait" else "-" end)] | @tsv' "$1"
	else
		cat "$1"
	fi
}

dir=$(mktemp -d /tmp/stallwatch-demo.XXXXXX)
trap 'rm -f "$out"; rmdir "$dir" 2>/dev/null || true' EXIT

echo "== $demo --prepare $dir   (untraced: another agent's failed lookups)"
"$demo" --prepare "$dir"
echo
echo "== stallwatch run -o $out -- $demo $dir"
echo "   (the pure default: the built-in policy, which reports stalls, not waits)"
"$sw" run -o "$out" -- "$demo" "$dir"
echo
echo "== records ($(wc -l <"$out") lines of JSON), one per line:"
cat "$out"
echo
echo "== the same, summarised with jq:"
summary "$out"
echo
echo "The slow inotify_add_watch() is incident 2 at small scale: a stall inside the kernel"
echo "(doc/incidents.md). The 200 ms sleep and the 150 ms pipe read are waits: by default they"
echo "give no record."

echo
echo "== stallwatch run -m 100ms -- $demo $dir   (-m: every call >= 100 ms, waits included)"
mkdir "$dir"
"$demo" --prepare "$dir" >/dev/null
"$sw" run -m 100ms -o "$out.m" -- "$demo" "$dir" >/dev/null
summary "$out.m"
rm -f "$out.m"

scan=$(mktemp /tmp/stallwatch-scan.XXXXXX.json)
trap 'rm -f "$out" "$scan"; rmdir "$dir" 2>/dev/null || true' EXIT
echo
echo "== stallwatch scan -o $scan   (the host side: offline memcgs, memory.stat read time,"
echo "   negative dentries, slab; thresholds from the built-in policy)"
"$sw" scan -o "$scan"
if command -v jq >/dev/null 2>&1; then
	jq -r '"\(.event.action) [\(.log.level)] \(.message)"' "$scan"
	echo
	jq -c '.stallwatch | {memcg, dentry, slab: (.slab | {unreclaimable_bytes, percpu_bytes, read_ns}), self}' "$scan" | head -1
else
	cat "$scan"
fi
