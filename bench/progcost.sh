#!/bin/bash
# bench/progcost.sh - what each of the bpf backend's kernel programs costs per
# run, from the kernel's own BPF run-time statistics.
#
# usage: bench/progcost.sh [N] [LOOPS] [REPS]   (from the repo root, after `make`; root;
#        SW=PATH picks another stallwatch binary, to compare two builds)
#   N      getppid calls per window (default 1000000)
#   LOOPS  round trips of the pinned pipe ping-pong per window (default 50000)
#   REPS   times every window runs (default 3); the table shows the median
#          and the range of the reps (other work on the host moves them)
#
# With kernel.bpf_stats_enabled=1 the kernel times every run of every BPF
# program (kernel/bpf/syscall.c, bpf_prog_run() under the static key
# bpf_stats_enabled_key: sched_clock() around the program) and bpftool prog
# show prints run_time_ns and run_cnt. The sysctl is host-wide and costs
# every BPF program on the host some 100 ns a run while on, so this script
# turns it on only around each measured window and puts back the value it
# found right after, on any exit (trap). The cost it adds is outside the
# window each run times: the ns per run below are the programs' own.
#
# Windows (each: ns per run = delta run_time_ns / delta run_cnt of one
# stallwatch's programs, found through the prog_id lines of its fds in
# /proc/PID/fdinfo, never by name: other stallwatch processes may run):
#   host        stallwatch attach --backend=bpf -e getppid watches a sleeping
#               process; an unwatched getppid loop runs: sys_enter/sys_exit
#               of a process nobody watches (the host tax); then a pipe
#               ping-pong pinned to CPU 0 (perf bench sched pipe): sched_switch
#               and sched_wakeup of unwatched threads
#   unwatched   stallwatch run -e nanosleep -- (the getppid loop): a watched
#               process's call of a syscall not in -e
#   watched     stallwatch run -e getppid -- (the loop): a watched call
#   summary     the same with --summary (the per-syscall counts and histogram)
#   switch      stallwatch run -e read,write -- (the ping-pong): every switch
#               and wakeup that of a thread in a watched call
#   hw-other    `watch` in host-wide mode (build/bench/watchhost: tracer_watch()
#               with one rule without targets, on nanosleep; no target): the
#               unwatched getppid loop and the ping-pong, now that every tgid
#               passes the programs' first filter (the host tax of host-wide)
#   hw-timed    the same with the rule on getppid: every getppid on the host timed
#   hw-named    a rule on read with paths */memory.stat and min_duration 1ns, over
#               N/4 one-byte reads of /dev/zero by a process nobody named: every
#               read is past its threshold and kept in the kernel by the name
#               prefilter (the fd's dentry name is "zero")
#   hw-sent     the same with */memory.* (a glob in the name: no prefilter): every
#               read goes through the ring buffer to user space
# The other windows also count the runs of everything else on the host; the
# "corrected" column takes those out at the host window's cost per run:
# (time - (runs - ours) x host) / ours, with ours = N calls (sys_*) or 2 x
# LOOPS (sched_*: one switch and one wakeup per direction of a round trip on
# one CPU).
set -u
N=${1:-1000000}
LOOPS=${2:-50000}
REPS=${3:-3}
cd "$(dirname "$0")/.." || exit 1
[ "$(id -u)" = 0 ] || { echo "progcost: needs root (bpf, sysctl)" >&2; exit 1; }
SW=${SW:-./stallwatch}
[ -x "$SW" ] || { echo "progcost: run make first" >&2; exit 1; }
command -v bpftool >/dev/null || { echo "progcost: needs bpftool" >&2; exit 1; }
B=build/bench
mkdir -p $B
cc -O2 -pthread bench/workload.c -o $B/workload || exit 1
W=$B/workload
HAVE_PERF=0
command -v perf >/dev/null && perf bench sched pipe -l 10 >/dev/null 2>&1 && HAVE_PERF=1
TMPD=$(mktemp -d)
STATS_BEFORE=$(sysctl -n kernel.bpf_stats_enabled)
SW_PID=""
SLEEPER=""
cleanup() {
	sysctl -qw kernel.bpf_stats_enabled="$STATS_BEFORE"
	[ -n "$SW_PID" ] && kill -INT "$SW_PID" 2>/dev/null && wait "$SW_PID" 2>/dev/null
	[ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null && wait "$SLEEPER" 2>/dev/null
	rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# "name run_cnt run_time_ns" for each BPF program held by process $1
snapshot() {
	local id
	# a program appears under its own fd and its link's
	# shellcheck disable=SC2013 # ids are words
	for id in $(awk '$1 == "prog_id:" { print $2 }' /proc/"$1"/fdinfo/* 2>/dev/null | sort -u); do
		bpftool prog show id "$id" 2>/dev/null |
			awk 'NR == 1 { for (i = 1; i < NF; i++) { if ($i == "name") n = $(i + 1);
				if ($i == "run_time_ns") t = $(i + 1); if ($i == "run_cnt") c = $(i + 1) }
				print n, c + 0, t + 0 }'
	done | sort -u
}

# wait (up to 10 s) until process $1 holds its sys_exit program
wait_loaded() {
	for _ in $(seq 200); do
		snapshot "$1" | grep -q '^sw_sys_exit ' && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# measure WINDOW SWPID CMD...: runs CMD with the statistics on, prints
# "WINDOW name runs ns_per_run rep" per program that ran
measure() {
	local win=$1 pid=$2
	shift 2
	sysctl -qw kernel.bpf_stats_enabled=1
	snapshot "$pid" >"$TMPD/before"
	"$@" >/dev/null 2>&1
	snapshot "$pid" >"$TMPD/after"
	sysctl -qw kernel.bpf_stats_enabled="$STATS_BEFORE"
	join "$TMPD/before" "$TMPD/after" |
		awk -v w="$win" -v rep="$rep" '{ c = $4 - $2; t = $5 - $3; if (c > 0) printf "%s %s %d %.1f %d\n", w, $1, c, t / c, rep }'
}

# the workload run under stallwatch run: it waits on $TMPD/go, loops, says so
# on $TMPD/done and waits again, so that the programs outlive the window
inner_script() {
	printf 'read -r _ <%s/go; %s; echo >%s/done; read -r _ <%s/go\n' "$TMPD" "$1" "$TMPD" "$TMPD"
}
go_and_wait() {
	echo >"$TMPD/go"
	read -r _ <"$TMPD/done"
}

getppid_loop="$W getppid $N 1"
read_loop="$W read $((N / 4)) 1"
pipe_loop="taskset -c 0 perf bench sched pipe -l $LOOPS"
RES=$TMPD/res
: >"$RES"

# run_window WINDOW LOOP FILTER STALLWATCH-OPTIONS...
run_window() {
	local win=$1 loop=$2 filter=$3
	shift 3
	rm -f "$TMPD/go" "$TMPD/done"
	mkfifo "$TMPD/go" "$TMPD/done"
	"$SW" run --backend=bpf --no-default-policy -m 10s -o /dev/null "$@" -- \
		bash -c "$(inner_script "$loop")" >/dev/null 2>"$TMPD/sw.err" &
	SW_PID=$!
	if ! wait_loaded "$SW_PID"; then
		echo "progcost: $win: the bpf backend did not load: $(head -c 300 "$TMPD/sw.err")" >&2
		exit 1
	fi
	measure "$win" "$SW_PID" go_and_wait | grep " $filter" >>"$RES"
	echo >"$TMPD/go"
	wait "$SW_PID" 2>/dev/null
	SW_PID=""
}
# host: an attach to a sleeping process, unwatched loops
sleep 600 &
SLEEPER=$!
WH=build/bench/watchhost
make -s "$WH" >/dev/null 2>&1 || WH=""
# hostwide WINDOW SYSCALL [MIN_DURATION GLOB]: watchhost's programs over the getppid loop
# (the read loop for a rule on read) and the ping-pong
hostwide() {
	local loop=$getppid_loop
	[ "$2" = read ] && loop=$read_loop
	"$WH" "${@:2}" >/dev/null 2>"$TMPD/sw.err" &
	SW_PID=$!
	wait_loaded "$SW_PID" || { echo "progcost: watchhost did not load: $(head -c 300 "$TMPD/sw.err")" >&2; exit 1; }
	# shellcheck disable=SC2086
	measure "$1" "$SW_PID" $loop | grep ' sw_sys_' >>"$RES"
	# shellcheck disable=SC2086
	[ "$HAVE_PERF" = 1 ] && [ "$2" = nanosleep ] && measure "$1" "$SW_PID" $pipe_loop | grep ' sw_sched_' >>"$RES"
	kill -INT "$SW_PID"
	wait "$SW_PID" 2>/dev/null
	SW_PID=""
}
for ((rep = 1; rep <= REPS; rep++)); do
	"$SW" attach --backend=bpf --no-default-policy -e getppid -p "$SLEEPER" 2>"$TMPD/sw.err" &
	SW_PID=$!
	wait_loaded "$SW_PID" || { echo "progcost: the bpf backend did not load: $(head -c 300 "$TMPD/sw.err")" >&2; exit 1; }
	# shellcheck disable=SC2086 # the loop's words are its command and arguments
	measure host "$SW_PID" $getppid_loop | grep ' sw_sys_' >>"$RES"
	# shellcheck disable=SC2086
	[ "$HAVE_PERF" = 1 ] && measure host "$SW_PID" $pipe_loop | grep ' sw_sched_' >>"$RES"
	kill -INT "$SW_PID"
	wait "$SW_PID" 2>/dev/null
	SW_PID=""

	run_window unwatched "$getppid_loop" sw_sys_ -e nanosleep
	run_window watched "$getppid_loop" sw_sys_ -e getppid
	run_window summary "$getppid_loop" sw_sys_ -e getppid --summary
	[ "$HAVE_PERF" = 1 ] && run_window switch "$pipe_loop" sw_sched_ -e read,write
	if [ -n "$WH" ]; then
		hostwide hw-other nanosleep
		hostwide hw-timed getppid
		hostwide hw-named read 1ns '*/memory.stat'
		hostwide hw-sent read 1ns '*/memory.*'
	fi
done

# the table, with the host window's cost per run taken out of the others
awk -v n="$N" -v loops="$LOOPS" '
	function median(list,   a, k, m) {
		k = split(list, a, " ")
		# insertion sort: a few reps
		for (i2 = 2; i2 <= k; i2++) { m = a[i2] + 0; for (j = i2 - 1; j >= 1 && a[j] + 0 > m; j--) a[j + 1] = a[j]; a[j + 1] = m }
		lo = a[1]; hi = a[k]
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	{
		key = $1 " " $2
		if (!(key in seen)) { seen[key] = 1; order[++nk] = key }
		ns[key] = ns[key] " " $4
		runs[key] = runs[key] " " $3
		if ($1 == "host") host[$2, $5] = $4
		else if ($1 !~ /^hw-/) {
			ours = $2 ~ /^sw_sys_/ ? n : 2 * loops
			if ((($2, $5) in host) && $3 >= ours && $2 != "sw_sched_wakeup")
				corr[key] = corr[key] " " ($4 * $3 - ($3 - ours) * host[$2, $5]) / ours
		}
	}
	END {
		printf "| window | program | runs (median) | ns per run: median (min-max) | corrected ns per run |\n"
		printf "|---|---|---:|---:|---:|\n"
		for (i = 1; i <= nk; i++) {
			key = order[i]; split(key, kk, " ")
			r = median(runs[key])
			m = median(ns[key]); l = lo; h = hi
			c = key in corr ? sprintf("%.0f", median(corr[key])) : "-"
			printf "| %s | %s | %d | %.0f (%.0f-%.0f) | %s |\n", kk[1], kk[2], r, m, l, h, c
		}
	}' "$RES"
