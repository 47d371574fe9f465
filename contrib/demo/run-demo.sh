#!/bin/sh
# `make demo`: run the demo workload under stallwatch and show its records.
# usage: run-demo.sh STALLWATCH DEMO_BINARY
set -eu
sw=${1:-./stallwatch}
demo=${2:-build/demo_workload}
out=$(mktemp /tmp/stallwatch-demo.XXXXXX.json)
trap 'rm -f "$out"' EXIT

echo "== stallwatch run -o $out -- $demo   (default: every syscall, threshold 10 ms)"
"$sw" run -o "$out" -- "$demo"
echo
echo "== records ($(wc -l < "$out") lines of JSON), one per line:"
cat "$out"
echo
echo "== the same, summarised with jq:"
if command -v jq >/dev/null 2>&1; then
	jq -r '[.event.action, .stallwatch.syscall.name, (.event.duration/1e6|tostring) + " ms",
		(.stallwatch.syscall.fd_path // .stallwatch.syscall.path // "-"),
		"\(.process.name)[\(.process.pid)/\(.process.thread.id)]"] | @tsv' "$out"
fi
echo
echo "Fast calls (5000 getppid, 2000 ENOENT opens) gave no record: below 10 ms."

scan=$(mktemp /tmp/stallwatch-scan.XXXXXX.json)
trap 'rm -f "$out" "$scan"' EXIT
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
