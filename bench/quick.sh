#!/bin/bash
# bench/quick.sh - a quick side-by-side of the per-watched-call cost:
# untraced, our minimal seccomp+ptrace loop (the floor; `floor -p` waits
# through poll()+signalfd instead of a blocking wait4(), to show that path's
# cost), stallwatch run, stallwatch run --backend=bpf (timed in the kernel,
# nothing stops; 25 times the calls, like untraced, and left out when the bpf
# backend cannot load here), and strace -f --seccomp-bpf, on getppid in 1 and
# 2 threads. Median of REPS; the rows run interleaved within each rep.
# The full benchmark (perf trace, ENOENT workload, profiles) is its own issue.
# usage: bench/quick.sh [REPS] [N]   (from the repo root, after `make`)
set -u
REPS=${1:-5}
N=${2:-4000}
cd "$(dirname "$0")/.." || exit 1
B=build/bench
mkdir -p $B
cc -O2 -pthread bench/loop.c -o $B/loop || exit 1
cc -O2 bench/floor.c -o $B/floor -lseccomp || exit 1
[ -x ./stallwatch ] || { echo "run make first" >&2; exit 1; }

declare -A cmd=(
	[untraced]=""
	[floor]="$B/floor"
	[floor_poll]="$B/floor -p"
	[stallwatch]="./stallwatch run --backend=ptrace -e getppid -m 10ms --"
	[stallwatch_bpf]="./stallwatch run --backend=bpf -e getppid -m 10ms --"
	[strace]="strace -f -qq -o /dev/null --seccomp-bpf -e trace=getppid"
)
order=(untraced floor floor_poll stallwatch strace)
if ./stallwatch run --backend=bpf -e getppid -- true >/dev/null 2>&1; then
	order=(untraced floor floor_poll stallwatch stallwatch_bpf strace)
fi
declare -A res
for t in 1 2; do
	for _ in $(seq "$REPS"); do
		for tool in "${order[@]}"; do
			n=$N
			case $tool in untraced | stallwatch_bpf) n=$((N * 25)) ;; esac
			out=$(${cmd[$tool]} $B/loop "$n" "$t" 2>/dev/null)
			v=$(sed -n 's/.*agg_ns_per_call=\([0-9]*\).*/\1/p' <<<"$out")
			res[$tool,$t]+="$v "
		done
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '| tool | 1 thread ns/call | 2 threads ns/call (aggregate) | 1T ratio to floor | 2T ratio to floor |\n'
printf '|---|---:|---:|---:|---:|\n'
f1=$(median <<<"${res[floor,1]}"); f2=$(median <<<"${res[floor,2]}")
for tool in "${order[@]}"; do
	m1=$(median <<<"${res[$tool,1]}"); m2=$(median <<<"${res[$tool,2]}")
	printf '| %s | %s | %s | %.2f | %.2f |\n' "$tool" "$m1" "$m2" \
		"$(echo "$m1 / $f1" | bc -l)" "$(echo "$m2 / $f2" | bc -l)"
done
