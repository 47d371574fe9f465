#!/bin/bash
# bench/run.sh - the full benchmark (`make bench`): what a syscall costs under
# stallwatch, next to our minimal seccomp+ptrace tracer (the floor), strace,
# strace --seccomp-bpf and perf trace, in ONE interleaved run; plus checks of
# what stallwatch reports (false records on busy CPUs, a 200 ms sleep, its
# measurement floor), the cost of `stallwatch scan`, and the start-up placement
# that every cell skips with a warm-up.
#
# usage: bench/run.sh            (from anywhere; after `make`)
# env:   REPS=12         reps; every rep runs every cell once (a new order each rep)
#        MATRIX_BUDGET_S=420  after rep MIN_REPS, no further rep starts if it would end
#                        past this many seconds of matrix time (keeps `make bench`
#                        under 10 minutes on a loaded machine)
#        N_LIGHT=200000  calls per thread in cells where the loop's call never stops
#        N_ENOENT_LIGHT=20000  the same for enoent (each call leaves a negative dentry,
#                        pruned when the workload removes its private directory)
#        N_HEAVY=2000    calls per thread in cells where every loop call stops
#        MIN_REPS=3      the reps always done (the budget above is checked after them;
#                        with the bpf cells a rep took 100-150 s on a busy machine
#                        here, so that 3 reps fit in the 10 minutes)
#        HT_REPS=8       reps of the host-tax section
#        LOAD_RUNS=15    runs of each backend in the load-cost section
#        WARMUP_MS=150   in every cell each thread first runs its loop untimed
#                        this long (workload -u): the first 10-40 ms of a traced
#                        loop are a start-up placement that does not last
#        UPDATE_DOC=1    replace the part of doc/performance.md between
#                        <!-- bench:begin --> and <!-- bench:end --> with the results
# Writes: the Markdown tables on stdout, progress on stderr, raw data in
# build/bench/results/ (raw.csv, results.md, logs).
#
# Cells (prefix before `build/bench/workload MODE N T`; CALLS = the loop's calls):
#   untraced      (none)
#   seccomp       build/bench/floor -n -e nanosleep   (the filter alone, no tracer)
#   filter_only   build/bench/floor -v -e nanosleep   (tracer + filter, the call unwatched)
#   sw_unwatched  ./stallwatch run --backend=ptrace --no-default-policy -e nanosleep --
#   floor         build/bench/floor -v -e CALLS
#   sw_run        ./stallwatch run --backend=ptrace --no-default-policy -e CALLS -m 10ms -o FILE --
#   sw_attach     `workload -w` started first (waits for SIGUSR1); ./stallwatch attach
#                 --backend=ptrace --no-default-policy -e CALLS -o FILE -p PID; SIGUSR1 after "attached"
#   strace        strace -f -T -qq -o /dev/null -e trace=CALLS
#   strace_bpf    strace -f -T -qq -o /dev/null --seccomp-bpf -e trace=CALLS
#   perf_trace    perf trace --duration 10 -e CALLS -o /dev/null --   (when it works here)
#   floor_again   the floor's command again, as its own cell (how far two identical
#                 tracers land apart in one run)
#   sw_run_nospin STALLWATCH_NO_SPIN=1 ./stallwatch run ... (the spin off: what it is worth)
#   sw_notify     ./stallwatch run --backend=notify --no-default-policy -e CALLS -m 10ms -o FILE --
#                 (seccomp user notification: one wake-up of stallwatch per watched call)
#   sw_notify_unwatched  ./stallwatch run --backend=notify --no-default-policy -e nanosleep --
#                 (to compare with seccomp: the listener idle, the filter allows the call)
#   sw_notify_nosync  STALLWATCH_NO_SYNC_WAKEUP=1 and sw_notify's command (the command is
#                 woken wherever the scheduler puts it, not on stallwatch's CPU)
#   floor_1cpu, sw_run_1cpu, strace_bpf_1cpu, seccomp_1cpu, sw_notify_1cpu,
#   sw_notify_unwatched_1cpu: the same under `taskset -c 0`, 1 thread only:
#                 tracer and workload share one CPU, so no stop needs a cross-CPU wake-up
#                 (the scheduler's placement is the largest noise in the unpinned cells)
#   sw_bpf        ./stallwatch run --backend=bpf --no-default-policy -e CALLS -m 10ms -o FILE --
#                 (calls timed in the kernel, nothing stops)
#   sw_bpf_unwatched  ./stallwatch run --backend=bpf --no-default-policy -e nanosleep --
#   sw_bpf_attach, sw_bpf_attach_unwatched  as sw_attach, with --backend=bpf (and -e
#                 nanosleep for the unwatched one)
#   bpftrace      as sw_attach, with the bpftrace one-liner of BPFTRACE_PROG below (the
#                 same job in the kernel: raw_syscalls enter -> exit of one pid, printf
#                 over 10 ms) instead of stallwatch; SIGINT after the workload exits
# Sections outside the matrix (after it): the host tax (an unwatched getppid loop
# and a pinned pipe ping-pong while stallwatch --backend=bpf or the bpftrace
# one-liner watches another process, against nothing attached; HT_REPS reps),
# attach latency (from the matrix's attach cells: start of `stallwatch attach`
# to its "attached" line), the load cost per start (`stallwatch run --backend=bpf
# -- true` against --backend=ptrace, LOAD_RUNS each) and the 200 ms sleep under bpf.
set -u
cd "$(dirname "$0")/.." || exit 1
# a decimal point in $EPOCHREALTIME and in awk's numbers, whatever the locale
export LC_NUMERIC=C

REPS=${REPS:-12}
MATRIX_BUDGET_S=${MATRIX_BUDGET_S:-420}
MIN_REPS=${MIN_REPS:-3}
HT_REPS=${HT_REPS:-8}
LOAD_RUNS=${LOAD_RUNS:-15}
N_LIGHT=${N_LIGHT:-200000}
N_ENOENT_LIGHT=${N_ENOENT_LIGHT:-20000}
N_HEAVY=${N_HEAVY:-2000}
WARMUP_MS=${WARMUP_MS:-150}
UPDATE_DOC=${UPDATE_DOC:-1}
DOC=doc/performance.md
B=build/bench
RES=$B/results
W=$B/workload
F=$B/floor
SW=./stallwatch
T_START=$(date +%s)

say() { echo "bench: $*" >&2; }
die() {
	say "$*"
	exit 1
}

[ -x "$SW" ] || die "./stallwatch missing: run make first"
command -v jq >/dev/null || die "jq missing (make deps)"
mkdir -p "$RES/logs" || exit 1
cc -O2 -Wall -Wextra -pthread bench/workload.c -o "$W" || die "cannot build $W"
cc -O2 -Wall -Wextra bench/floor.c -o "$F" -lseccomp || die "cannot build $F"
SLOWCALLS=$B/slowcalls
cc -O2 -Wall -Wextra -D_GNU_SOURCE tests/helpers/slowcalls.c -o "$SLOWCALLS" || die "cannot build $SLOWCALLS"

# Everything temporary lives in TMPD (the workload's private directories too,
# through TMPDIR); the memcgs live under one parent we create. All of it, and
# the busy loops, are removed on exit - only what this script created.
TMPD=$(mktemp -d /tmp/sw-bench.XXXXXX) || exit 1
export TMPDIR=$TMPD
HOGS=""
SLEEPER=""
CG_PARENT=""
CG_MADE=0
stop_hogs() {
	local p
	for p in $HOGS; do kill "$p" 2>/dev/null; done
	for p in $HOGS; do wait "$p" 2>/dev/null; done
	HOGS=""
}
cg_remove() {
	local i
	[ -n "$CG_PARENT" ] || return 0
	for ((i = CG_MADE; i >= 1; i--)); do rmdir "$CG_PARENT/c$i" 2>/dev/null; done
	rmdir "$CG_PARENT" 2>/dev/null || say "could not remove $CG_PARENT"
	CG_PARENT=""
	CG_MADE=0
}
cleanup() {
	# Only the script itself: bash runs this EXIT trap also in a forked child
	# that a signal kills before its exec (seen: SIGUSR1 to the attach cell's
	# workload arriving early removed TMPD under the running matrix).
	[ "$BASHPID" = "$$" ] || return 0
	stop_hogs
	[ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null
	cg_remove
	rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------- machine, load ----------
# CPU time (ticks) used on the whole machine, and by this script's finished children
cpu_busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
own_ticks() { awk '{sub(/^.*\) /, ""); print $14 + $15 + $12 + $13}' "/proc/$$/stat"; }
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
# busy % of all CPUs by other processes over $1 seconds (we sleep meanwhile)
others_pct() {
	local a b
	a=$(cpu_busy_ticks)
	sleep "$1"
	b=$(cpu_busy_ticks)
	awk -v a="$a" -v b="$b" -v s="$1" -v hz="$HZ" -v n="$NCPU" \
		'BEGIN { printf "%.0f", 100 * (b - a) / (s * hz * n) }'
}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for i in 1 2 3 4 5 6 7 8 9 10; do
	IDLE_PCT=$(others_pct 2)
	[ "$IDLE_PCT" -le 25 ] && break
	say "machine busy (${IDLE_PCT}% of the CPUs used by others), waiting (max 30 s)"
	sleep 1
done
say "load average $LOAD_START; other processes used ${IDLE_PCT}% of the CPUs over 2 s"
# context-switch anchor: a pipe round trip, both tasks free / both on CPU 0
PIPE_FREE=""
PIPE_PINNED=""
if command -v perf >/dev/null; then
	for i in 1 2 3; do
		PIPE_FREE="$PIPE_FREE $(perf bench sched pipe -l 20000 2>/dev/null | awk '/usecs\/op/ { printf "%.1f", $1 }')"
		PIPE_PINNED="$PIPE_PINNED $(taskset -c 0 perf bench sched pipe -l 20000 2>/dev/null | awk '/usecs\/op/ { printf "%.1f", $1 }')"
	done
fi

# ---------- probes ----------
HAVE_STRACE=1
command -v strace >/dev/null || HAVE_STRACE=0
HAVE_PERF=0
PERF_WHY="perf not installed"
if command -v perf >/dev/null; then
	if perf trace -e getppid -o "$TMPD/pt.out" -- "$W" getppid 20 1 >/dev/null 2>"$TMPD/pt.err" &&
		[ "$(grep -c 'getppid()' "$TMPD/pt.out")" -ge 20 ]; then
		HAVE_PERF=1
		PERF_WHY=""
	else
		PERF_WHY="perf trace failed or saw fewer than 20 of 20 calls: $(head -c 200 "$TMPD/pt.err")"
	fi
fi

# stallwatch's bpf backend: a short run that must see and time the calls
HAVE_BPF=0
BPF_WHY=""
if "$SW" run --backend=bpf --no-default-policy -e getppid -m 0 -o "$TMPD/bpf.rec" -- "$W" getppid 20 1 \
	>/dev/null 2>"$TMPD/bpf.err" && [ "$(grep -c '"backend":"bpf"' "$TMPD/bpf.rec")" -ge 20 ]; then
	HAVE_BPF=1
else
	BPF_WHY="stallwatch run --backend=bpf failed or recorded fewer than 20 of 20 calls: $(head -c 200 "$TMPD/bpf.err")"
fi
# The bpftrace peer: the in-kernel job of the bpf backend as a one-liner. $1 the
# pid, $2 the threshold in ns; BEGIN fires once every probe is attached (bpftrace
# triggers it after attaching them), so its line says the probes are live.
BPFTRACE_PROG='BEGIN { printf("ready\n"); }
tracepoint:raw_syscalls:sys_enter /pid == $1/ { @s[tid] = nsecs; }
tracepoint:raw_syscalls:sys_exit /@s[tid]/ { $d = nsecs - @s[tid]; if ($d > $2) { printf("slow tid=%d nr=%d ns=%d\n", tid, args->id, $d); } delete(@s[tid]); }'
HAVE_BPFTRACE=0
BPFTRACE_WHY="bpftrace not installed"
if command -v bpftrace >/dev/null; then
	# a 200 ms sleep, the one call over 100 ms that it must print
	"$W" -w sleep 200 >"$TMPD/bt.w" &
	bt_w=$!
	bpftrace -q -e "$BPFTRACE_PROG" "$bt_w" 100000000 >"$TMPD/bt.out" 2>"$TMPD/bt.err" &
	bt_p=$!
	for i in $(seq 200); do grep -q '^ready$' "$TMPD/bt.out" 2>/dev/null && break; sleep 0.05; done
	kill -USR1 "$bt_w" 2>/dev/null
	wait "$bt_w"
	kill -INT "$bt_p" 2>/dev/null
	wait "$bt_p"
	if grep -q '^slow tid=.* nr=35 ' "$TMPD/bt.out"; then
		HAVE_BPFTRACE=1
		BPFTRACE_WHY=""
	else
		BPFTRACE_WHY="the bpftrace one-liner did not report a 200 ms nanosleep: $(grep -v RLIMIT_MEMLOCK "$TMPD/bt.err" | head -c 200)"
	fi
fi

# ---------- the matrix ----------
MODES="getppid read openclose enoent"
WLS="getppid:1 getppid:2 read:1 read:2 openclose:1 openclose:2 enoent:1 enoent:2"
TOOLS="untraced seccomp filter_only sw_unwatched floor sw_run sw_attach floor_again sw_run_nospin floor_1cpu sw_run_1cpu"
TOOLS="$TOOLS sw_notify sw_notify_unwatched sw_notify_nosync seccomp_1cpu sw_notify_1cpu sw_notify_unwatched_1cpu"
[ "$HAVE_STRACE" = 1 ] && TOOLS="$TOOLS strace strace_bpf strace_bpf_1cpu"
[ "$HAVE_PERF" = 1 ] && TOOLS="$TOOLS perf_trace"
[ "$HAVE_BPF" = 1 ] && TOOLS="$TOOLS sw_bpf sw_bpf_unwatched sw_bpf_attach sw_bpf_attach_unwatched"
[ "$HAVE_BPFTRACE" = 1 ] && TOOLS="$TOOLS bpftrace"
read -r -a TOOL_ARR <<<"$TOOLS"
read -r -a WL_ARR <<<"$WLS"

calls_of() {
	case $1 in
	getppid) echo getppid ;;
	read) echo read ;;
	openclose) echo openat,close ;;
	enoent) echo openat ;;
	esac
}
per_iter() { if [ "$1" = openclose ]; then echo 2; else echo 1; fi; }
# the cells whose loop call never stops (the bpf ones time it in the kernel)
is_light() {
	case ${1%_1cpu} in
	untraced | seccomp | filter_only | sw_unwatched | sw_notify_unwatched | sw_bpf* | bpftrace) return 0 ;;
	esac
	return 1
}
# the cells that start the workload first and attach to it (attach_cell)
is_attach() { case $1 in sw_attach | sw_bpf_attach | sw_bpf_attach_unwatched | bpftrace) return 0 ;; esac; return 1; }
# workload options of every cell: the warm-up (the same for all, so that
# every cell measures the placement its tracer and threads keep)
warmup_opt() { echo "-u $WARMUP_MS"; }
calls_per_thread() { # tool mode
	if ! is_light "$1"; then
		echo "$N_HEAVY"
	elif [ "$2" = enoent ]; then
		echo "$N_ENOENT_LIGHT"
	else
		echo "$N_LIGHT"
	fi
}
prefix() { # tool calls
	case $1 in
	untraced) echo "" ;;
	seccomp) echo "$F -n -e nanosleep" ;;
	filter_only) echo "$F -v -e nanosleep" ;;
	sw_unwatched) echo "$SW run --backend=ptrace --no-default-policy -e nanosleep --" ;;
	floor) echo "$F -v -e $2" ;;
	sw_run) echo "$SW run --backend=ptrace --no-default-policy -e $2 -m 10ms -o $TMPD/sw_run.rec --" ;;
	floor_again) prefix floor "$2" ;;
	sw_run_nospin) echo "env STALLWATCH_NO_SPIN=1 $(prefix sw_run "$2")" ;;
	sw_attach) echo "$SW attach --backend=ptrace --no-default-policy -e $2 -o $TMPD/sw_attach.rec -p PID" ;;
	sw_bpf) echo "$SW run --backend=bpf --no-default-policy -e $2 -m 10ms -o $TMPD/sw_bpf.rec --" ;;
	sw_bpf_unwatched) echo "$SW run --backend=bpf --no-default-policy -e nanosleep --" ;;
	sw_bpf_attach) echo "$SW attach --backend=bpf --no-default-policy -e $2 -o $TMPD/sw_bpf_attach.rec -p PID" ;;
	sw_bpf_attach_unwatched) echo "$SW attach --backend=bpf --no-default-policy -e nanosleep -p PID" ;;
	bpftrace) echo "bpftrace -q -e PROG PID 10000000" ;;
	sw_notify) echo "$SW run --backend=notify --no-default-policy -e $2 -m 10ms -o $TMPD/sw_notify.rec --" ;;
	sw_notify_unwatched) echo "$SW run --backend=notify --no-default-policy -e nanosleep --" ;;
	sw_notify_nosync) echo "env STALLWATCH_NO_SYNC_WAKEUP=1 $(prefix sw_notify "$2")" ;;
	strace) echo "strace -f -T -qq -o /dev/null -e trace=$2" ;;
	strace_bpf) echo "strace -f -T -qq -o /dev/null --seccomp-bpf -e trace=$2" ;;
	perf_trace) echo "perf trace --duration 10 -e $2 -o /dev/null --" ;;
	*_1cpu) echo "taskset -c 0 $(prefix "${1%_1cpu}" "$2")" ;;
	esac
}

# wait until "$1" (a shell condition) holds, at most $2 s; 1 if it never did
wait_until() {
	local n=$(($2 * 100))
	until eval "$1"; do
		n=$((n - 1))
		[ "$n" -le 0 ] && return 1
		sleep 0.01
	done
	return 0
}

# every line of stdin with the time it arrived: "EPOCHREALTIME LINE"
stamp_lines() {
	local l
	while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done
}
# microseconds from $1 (an EPOCHREALTIME) to the stamp of the first line of
# file $3 that matches $2
ready_us() {
	awk -v t0="$1" -v re="$2" '{ t = $1; sub(/^[^ ]* /, "") } $0 ~ re { printf "%d", (t - t0) * 1e6; exit }' "$3"
}

# The attach cells (is_attach): the workload waits for SIGUSR1 with its
# threads created; start the tool, wait for its ready line ("attached" of
# stallwatch, "ready" of the bpftrace one-liner's BEGIN), send SIGUSR1; the
# workload's own numbers count. ATTACH_US: start of the tool to its ready line,
# stamped by a reader on a FIFO. Not a process substitution: that would be a
# child of the tool, and a ptrace tracer's wait4(-1) waits for it as well.
ATTACH_US=""
BT_SLOW_EXITS=0
REP_NOW=0
attach_cell() { # tool calls mode iters threads out err
	local tool=$1 calls=$2 mode=$3 iters=$4 thr=$5 out=$6 err=$7 wpid spid t0 stamper
	local re='^stallwatch: attached ' readyf=$err.sw fifo=$TMPD/stamp.fifo
	ATTACH_US=""
	# the files of the last rep must not answer the waits below
	rm -f "$out" "$err.sw" "$err.sw.out" "$fifo"
	# shellcheck disable=SC2046
	"$W" -w $(warmup_opt) "$mode" "$iters" "$thr" >"$out" 2>"$err" &
	wpid=$!
	if ! wait_until "grep -q '^ready pid=$wpid\$' '$out' 2>/dev/null" 10; then
		kill "$wpid" 2>/dev/null
		wait "$wpid" 2>/dev/null
		return 1
	fi
	[ "$tool" = bpftrace ] && re='^ready$' readyf=$err.sw.out
	mkfifo "$fifo" || return 1
	stamp_lines <"$fifo" >"$readyf" &
	stamper=$!
	t0=$EPOCHREALTIME
	case $tool in
	sw_attach)
		"$SW" attach --backend=ptrace --no-default-policy -e "$calls" -o "$TMPD/sw_attach.rec" -p "$wpid" 2>"$fifo" &
		;;
	sw_bpf_attach)
		"$SW" attach --backend=bpf --no-default-policy -e "$calls" -o "$TMPD/sw_bpf_attach.rec" \
			-p "$wpid" 2>"$fifo" &
		;;
	sw_bpf_attach_unwatched)
		"$SW" attach --backend=bpf --no-default-policy -e nanosleep -p "$wpid" 2>"$fifo" &
		;;
	bpftrace)
		bpftrace -q -e "$BPFTRACE_PROG" "$wpid" 10000000 >"$fifo" 2>"$err.sw" &
		;;
	esac
	spid=$!
	if ! wait_until "[ -n \"\$(ready_us '$t0' '$re' '$readyf' 2>/dev/null)\" ]" 20; then
		kill "$spid" "$wpid" "$stamper" 2>/dev/null
		wait "$spid" "$wpid" "$stamper" 2>/dev/null
		return 1
	fi
	ATTACH_US=$(ready_us "$t0" "$re" "$readyf")
	kill -USR1 "$wpid"
	wait "$wpid"
	if [ "$tool" = bpftrace ]; then
		# bpftrace runs until told. It usually exits within 0.3 s after
		# SIGINT; on a busy host it sometimes took 20-50 s, asleep in its
		# epoll_wait or in D state. After 3 s: note where it is (its kernel
		# stack) and SIGKILL it; its programs go with its file descriptors.
		kill -INT "$spid" 2>/dev/null
		if ! wait_until "! kill -0 $spid 2>/dev/null" 3; then
			BT_SLOW_EXITS=$((BT_SLOW_EXITS + 1))
			{
				echo "rep $REP_NOW $mode-$thr: bpftrace $spid still running 3 s after SIGINT; state $(awk '{ print $3 }' "/proc/$spid/stat" 2>/dev/null), wchan $(cat "/proc/$spid/wchan" 2>/dev/null); SIGKILL"
				cat "/proc/$spid/stack" 2>/dev/null
			} >>"$RES/logs/bpftrace-slow-exit.txt"
			kill -KILL "$spid" 2>/dev/null
		fi
	else
		# stallwatch ends by itself when its target exits; SIGTERM it if not
		wait_until "! kill -0 $spid 2>/dev/null" 5 || kill -TERM "$spid" 2>/dev/null
	fi
	wait "$spid" "$stamper" 2>/dev/null
	# the one-liner's lines over 10 ms, kept for the count
	[ "$tool" = bpftrace ] && grep ' slow tid=' "$readyf" >>"$TMPD/bpftrace.slow"
	return 0
}

CSV=$RES/raw.csv
echo "rep,wl,tool,iters,calls,agg_ns,ns_per_call,thread_ns,floor_calls,floor_mean_ns,attach_us" >"$CSV"
NFAIL=0
run_cell() { # rep wl tool
	local rep=$1 wl=$2 tool=$3 mode=${2%%:*} thr=${2##*:} calls pfx iters out err line l
	local agg npc tns fc fm
	case $tool in *_1cpu) [ "$thr" = 1 ] || return 0 ;; esac
	calls=$(calls_of "$mode")
	iters=$(($(calls_per_thread "$tool" "$mode") / $(per_iter "$mode")))
	out=$RES/logs/$mode-$thr-$tool.out
	err=$RES/logs/$mode-$thr-$tool.err
	ATTACH_US=""
	if is_attach "$tool"; then
		attach_cell "$tool" "$calls" "$mode" "$iters" "$thr" "$out" "$err"
	else
		pfx=$(prefix "$tool" "$calls")
		# shellcheck disable=SC2086,SC2046
		$pfx "$W" $(warmup_opt) "$mode" "$iters" "$thr" >"$out" 2>"$err" </dev/null
	fi
	# the last "mode=" line of the workload and the floor's "floor:" line, read
	# without a fork: a dozen forks per cell were seconds per rep on a busy host
	line="" agg="" npc="" tns="" fc="" fm=""
	while IFS= read -r l; do [[ $l == mode=* ]] && line=$l; done <"$out"
	[[ $line =~ \ agg_ns_per_call=([0-9]+) ]] && agg=${BASH_REMATCH[1]}
	[[ $line =~ \ ns_per_call=([0-9]+) ]] && npc=${BASH_REMATCH[1]}
	[[ $line =~ \ thread_ns_per_call=([0-9,]+) ]] && tns=${BASH_REMATCH[1]//,/;}
	while IFS= read -r l; do
		[[ $l =~ ^floor:\ calls=([0-9]+) ]] && fc=${BASH_REMATCH[1]}
		[[ $l =~ ^floor:\ .*\ mean_ns=([0-9]+) ]] && fm=${BASH_REMATCH[1]}
	done <"$err"
	if [ -z "$agg" ]; then
		NFAIL=$((NFAIL + 1))
		say "FAILED: rep $rep $wl $tool (see $err)"
		cp "$err" "$RES/logs/failed-$rep-$mode-$thr-$tool.err" 2>/dev/null
		return
	fi
	echo "$rep,$wl,$tool,$iters,$((iters * $(per_iter "$mode") * thr)),$agg,$npc,$tns,$fc,$fm,$ATTACH_US" >>"$CSV"
}

# shuffle NAME ITEM...: the array NAME gets the items in a random order
# (Fisher-Yates over $RANDOM). No $(...): bash reseeds RANDOM in a subshell,
# and the order must follow the seed.
shuffle() {
	local -n _shuf=$1
	local i j t
	shift
	_shuf=("$@")
	for ((i = ${#_shuf[@]} - 1; i > 0; i--)); do
		j=$((RANDOM % (i + 1)))
		t=${_shuf[i]}
		_shuf[i]=${_shuf[j]}
		_shuf[j]=$t
	done
}

say "matrix: $REPS reps x ${#WL_ARR[@]} workloads x ${#TOOL_ARR[@]} cells; perf trace: $([ "$HAVE_PERF" = 1 ] && echo yes || echo "no ($PERF_WHY)")"
M_START=$(date +%s)
M_BUSY0=$(cpu_busy_ticks)
M_OWN0=$(own_ticks)
REP_OTHERS=""
REP_LOADS=""
rm -f "$RES/logs/bpftrace-slow-exit.txt"
for ((rep = 1; rep <= REPS; rep++)); do
	REP_NOW=$rep
	b0=$(cpu_busy_ticks)
	o0=$(own_ticks)
	t0=$(date +%s%N)
	load=$(cut -d' ' -f1 /proc/loadavg)
	REP_LOADS="$REP_LOADS $load"
	# a new order of workloads, and of cells within each, every rep (seeded
	# with the rep: the same order every run); a rotation would keep every
	# cell behind the same neighbour, and a cell's state can leak into the next
	RANDOM=$rep
	rep_wls=() rep_tools=()
	shuffle rep_wls "${WL_ARR[@]}"
	for wl in "${rep_wls[@]}"; do
		shuffle rep_tools "${TOOL_ARR[@]}"
		for tool in "${rep_tools[@]}"; do
			run_cell "$rep" "$wl" "$tool"
		done
	done
	t1=$(date +%s%N)
	b1=$(cpu_busy_ticks)
	o1=$(own_ticks)
	# busy ticks of the machine minus those of our own (finished) children
	others=$(awk -v b="$((b1 - b0))" -v o="$((o1 - o0))" -v ns="$((t1 - t0))" -v hz="$HZ" \
		-v n="$NCPU" 'BEGIN { x = 100 * (b - o) / (ns / 1e9 * hz * n); if (x < 0) x = 0; printf "%.0f", x }')
	REP_OTHERS="$REP_OTHERS $others"
	say "rep $rep/$REPS done in $(((t1 - t0) / 1000000)) ms; load average $load; other processes ~${others}% of the CPUs"
	el=$(($(date +%s) - M_START))
	if [ "$rep" -ge "$MIN_REPS" ] && [ "$rep" -lt "$REPS" ] && [ $((el + el / rep)) -gt "$MATRIX_BUDGET_S" ]; then
		say "time budget: stopping after $rep reps"
		break
	fi
done
REPS_DONE=$((rep > REPS ? REPS : rep))
M_END=$(date +%s)
M_OTHERS=$(awk -v b="$(($(cpu_busy_ticks) - M_BUSY0))" -v o="$(($(own_ticks) - M_OWN0))" \
	-v s="$((M_END - M_START))" -v hz="$HZ" -v n="$NCPU" \
	'BEGIN { x = 100 * (b - o) / (s * hz * n); if (x < 0) x = 0; printf "%.0f", x }')
REC_RUN=0
REC_ATT=0
REC_NOT=0
REC_BPF=0
REC_BPF_ATT=0
[ -f "$TMPD/sw_run.rec" ] && REC_RUN=$(wc -l <"$TMPD/sw_run.rec")
[ -f "$TMPD/sw_attach.rec" ] && REC_ATT=$(wc -l <"$TMPD/sw_attach.rec")
[ -f "$TMPD/sw_notify.rec" ] && REC_NOT=$(wc -l <"$TMPD/sw_notify.rec")
[ -f "$TMPD/sw_bpf.rec" ] && REC_BPF=$(wc -l <"$TMPD/sw_bpf.rec")
[ -f "$TMPD/sw_bpf_attach.rec" ] && REC_BPF_ATT=$(wc -l <"$TMPD/sw_bpf_attach.rec")
# the bpftrace one-liner's lines over 10 ms, all its cells of the matrix
REC_BT=0
[ -f "$TMPD/bpftrace.slow" ] && REC_BT=$(wc -l <"$TMPD/bpftrace.slow")
rm -f "$RES/sw_run.rec" "$RES/sw_attach.rec" "$RES/sw_notify.rec" "$RES/sw_bpf.rec" "$RES/sw_bpf_attach.rec"
cp "$TMPD/sw_run.rec" "$TMPD/sw_attach.rec" "$TMPD/sw_notify.rec" "$TMPD/sw_bpf.rec" "$TMPD/sw_bpf_attach.rec" \
	"$RES/" 2>/dev/null
# " (getppid 2, read 1; 1 partial; longest 12.3 ms)" for a record file
rec_summary() {
	[ -s "$1" ] || return 0
	jq -r '[.stallwatch.syscall.name, (.stallwatch.partial // false), .event.duration] | @tsv' "$1" |
		awk -F'\t' '{ n[$1]++; if ($2 == "true") p++; if ($3 > mx) mx = $3 }
		END { s = ""; for (k in n) s = s (s == "" ? "" : ", ") k " " n[k]
			printf " (%s; %d partial; longest %.1f ms)", s, p, mx / 1e6 }'
}

# ---------- checks ----------
say "checks"
# jq over the records of FILE: durations of action $2 (one per line)
durations() { [ -f "$1" ] && jq -r "select(.event.action == \"$2\") | .event.duration" "$1"; }
stats() { # min median max count of numbers on stdin
	sort -n | awk '{ v[NR] = $1 } END {
		if (!NR) { print "- - - 0"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%d %d %d %d\n", v[1], m, v[NR], NR }'
}
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }

# (a) zero false records at the default threshold with both CPUs busy
for ((c = 0; c < NCPU; c++)); do
	taskset -c "$c" sh -c 'while :; do :; done' &
	HOGS="$HOGS $!"
done
sleep 0.5
"$SW" run --backend=ptrace --no-default-policy -e getppid -o "$TMPD/busy10.rec" -- "$W" getppid 20000 1 \
	>"$TMPD/busy10.out" 2>"$TMPD/busy10.err"
BUSY_REC=$([ -f "$TMPD/busy10.rec" ] && wc -l <"$TMPD/busy10.rec" || echo 0)
BUSY_NS=$(field agg_ns_per_call <"$TMPD/busy10.out")
# for scale only: the same at 1 ms
"$SW" run --backend=ptrace --no-default-policy -e getppid -m 1ms -o "$TMPD/busy1.rec" -- "$W" getppid 20000 1 \
	>"$TMPD/busy1.out" 2>"$TMPD/busy1.err"
BUSY1_REC=$([ -f "$TMPD/busy1.rec" ] && wc -l <"$TMPD/busy1.rec" || echo 0)
BUSY1_MAX=$(durations "$TMPD/busy1.rec" slow-syscall | stats | cut -d' ' -f3)
stop_hogs

# (b) a 200 ms sleep, 3 runs: sleep_rows TOLERANCE_PCT [STALLWATCH RUN OPTION...]
# prints one table row per run ("NOT MET" in a row that missed the tolerance)
sleep_rows() {
	local tol=$1 i own rec row
	shift
	for i in 1 2 3; do
		rm -f "$TMPD/sleep.rec"
		"$SW" run "$@" --no-default-policy -e nanosleep -m 100ms -o "$TMPD/sleep.rec" -- "$W" sleep 200 \
			>"$TMPD/sleep.out" 2>"$TMPD/sleep.err"
		own=$(field wall_ns <"$TMPD/sleep.out")
		rec=$(durations "$TMPD/sleep.rec" slow-syscall | head -n 1)
		row=$(awk -v r="${rec:-0}" -v o="${own:-0}" -v t="$tol" 'BEGIN {
			if (!r || !o) { print "| - | - | - | - | NOT MET |"; exit }
			e1 = 100 * (r - o) / o; e2 = 100 * (r - 2e8) / 2e8
			printf "| %d | %d | %+.2f %% | %+.2f %% | %s |", r, o, e1, e2,
				(e1 <= t && e1 >= -t && e2 <= t && e2 >= -t) ? "MET" : "NOT MET" }')
		printf '%s\n' "$row"
	done
}
SLEEP_ROWS=$(sleep_rows 5 --backend=ptrace)$'\n'
SLEEP_OK=1
case $SLEEP_ROWS in *"NOT MET"*) SLEEP_OK=0 ;; esac
# the same under the bpf backend, against a tighter target: ±1 %
SLEEP_BPF_ROWS=""
SLEEP_BPF_OK=1
if [ "$HAVE_BPF" = 1 ]; then
	SLEEP_BPF_ROWS=$(sleep_rows 1 --backend=bpf)$'\n'
	case $SLEEP_BPF_ROWS in *"NOT MET"*) SLEEP_BPF_OK=0 ;; esac
fi

# (c) what stallwatch reports for a fast call: -m 0 on getppid, next to the floor's own mean
: >"$TMPD/fast.dur"
FLOOR_MEANS=""
FAST_LOOP=""
for i in 1 2 3; do
	rm -f "$TMPD/fast.rec"
	"$SW" run --backend=ptrace --no-default-policy -e getppid -m 0 -o "$TMPD/fast.rec" -- "$W" getppid 2000 1 \
		>"$TMPD/fast.out" 2>/dev/null
	durations "$TMPD/fast.rec" slow-syscall >>"$TMPD/fast.dur"
	FAST_LOOP="$FAST_LOOP $(field agg_ns_per_call <"$TMPD/fast.out")"
	"$F" -v -e getppid "$W" getppid 2000 1 >/dev/null 2>"$TMPD/floor.err"
	FLOOR_MEANS="$FLOOR_MEANS $(sed -n 's/.*mean_ns=\([0-9]*\).*/\1/p' "$TMPD/floor.err")"
done
read -r FAST_MIN FAST_MED FAST_MAX FAST_N < <(stats <"$TMPD/fast.dur")
# the same with stallwatch, the floor and the workload all on CPU 0
: >"$TMPD/fastp.dur"
FLOOR_MEANS_P=""
for i in 1 2 3; do
	rm -f "$TMPD/fast.rec"
	taskset -c 0 "$SW" run --backend=ptrace --no-default-policy -e getppid -m 0 -o "$TMPD/fast.rec" -- \
		"$W" getppid 2000 1 >/dev/null 2>&1
	durations "$TMPD/fast.rec" slow-syscall >>"$TMPD/fastp.dur"
	taskset -c 0 "$F" -v -e getppid "$W" getppid 2000 1 >/dev/null 2>"$TMPD/floor.err"
	FLOOR_MEANS_P="$FLOOR_MEANS_P $(sed -n 's/.*mean_ns=\([0-9]*\).*/\1/p' "$TMPD/floor.err")"
done
read -r FASTP_MIN FASTP_MED FASTP_MAX FASTP_N < <(stats <"$TMPD/fastp.dur")
read -r FLMP_MIN FLMP_MED FLMP_MAX _ < <(tr ' ' '\n' <<<"$FLOOR_MEANS_P" | grep . | stats)
read -r FLM_MIN FLM_MED FLM_MAX _ < <(tr ' ' '\n' <<<"$FLOOR_MEANS" | grep . | stats)
read -r FL_MIN FL_MED FL_MAX _ < <(tr ' ' '\n' <<<"$FAST_LOOP" | grep . | stats)

# (d) the scanner: one scan, slabinfo sampled or not, and the cost per live memcg
scan_field() { jq -r "select(.event.action == \"host-scan\") | $2 // empty" "$1"; }
: >"$TMPD/scan_plain"
: >"$TMPD/scan_second"
: >"$TMPD/slab_read"
: >"$TMPD/walk_plain"
for i in 1 2 3 4 5 6 7 8 9 10; do
	rm -f "$TMPD/s.rec" "$TMPD/s.state"
	"$SW" scan -o "$TMPD/s.rec" || break
	scan_field "$TMPD/s.rec" .stallwatch.self.scan_ns >>"$TMPD/scan_plain"
	scan_field "$TMPD/s.rec" .stallwatch.slab.read_ns >>"$TMPD/slab_read"
	scan_field "$TMPD/s.rec" .stallwatch.memcg.walk_ns >>"$TMPD/walk_plain"
	# with --state: the first scan samples slabinfo and walks, the second (within 10 s) neither
	"$SW" scan --state "$TMPD/s.state" -o /dev/null && rm -f "$TMPD/s.rec" &&
		"$SW" scan --state "$TMPD/s.state" -o "$TMPD/s.rec" &&
		[ "$(scan_field "$TMPD/s.rec" '.stallwatch.slab.sampled | tostring')" = false ] &&
		scan_field "$TMPD/s.rec" .stallwatch.self.scan_ns >>"$TMPD/scan_second"
done
read -r SC_MIN SC_MED SC_MAX SC_N < <(stats <"$TMPD/scan_plain")
read -r SC2_MIN SC2_MED SC2_MAX SC2_N < <(stats <"$TMPD/scan_second")
read -r SR_MIN SR_MED SR_MAX _ < <(stats <"$TMPD/slab_read")

# (e) a burst of 5000 slow calls against the default rate limit: the program's
# own time under stallwatch (records cut and counted) vs under strace -f -o /dev/null
say "burst: 5000 slow nanosleeps, stallwatch (default rate limit) vs strace"
: >"$TMPD/burst_sw"
: >"$TMPD/burst_st"
: >"$TMPD/burst_un"
BURST_REC=""
BURST_DROP=""
for i in 1 2 3 4 5; do
	"$SLOWCALLS" 5000 100 | awk '{ print $4 }' >>"$TMPD/burst_un"
	rm -f "$TMPD/b.rec"
	"$SW" run --backend=ptrace --no-default-policy -e nanosleep -m 20us -o "$TMPD/b.rec" -- "$SLOWCALLS" 5000 100 \
		2>/dev/null | awk '{ print $4 }' >>"$TMPD/burst_sw"
	BURST_REC=$(jq -c 'select(.event.action == "slow-syscall")' "$TMPD/b.rec" | wc -l)
	BURST_DROP=$(jq -s '[.[] | select(.event.action == "records-dropped") | .stallwatch.dropped.count] | add // 0' "$TMPD/b.rec")
	strace -f -qq -o /dev/null -e trace=nanosleep "$SLOWCALLS" 5000 100 | awk '{ print $4 }' >>"$TMPD/burst_st"
done
read -r BU_MIN BU_MED BU_MAX _ < <(stats <"$TMPD/burst_un")
read -r BS_MIN BS_MED BS_MAX _ < <(stats <"$TMPD/burst_sw")
read -r BT_MIN BT_MED BT_MAX _ < <(stats <"$TMPD/burst_st")
BURST_RATIO=$(awk -v a="$BS_MED" -v b="$BT_MED" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')

# (f) the start-up placement: what the warm-up (WARMUP_MS) skips. After a busy
# untraced loop on both CPUs (as a matrix cell leaves the machine), a traced
# getppid loop with no warm-up notes every 200 calls its time per call, its
# CPU and its tracer's (workload -t). Per run: the first 2000 calls (what a
# cell timed before the warm-up existed) against the calls after 150 ms.
say "start-up placement: floor, stallwatch run (polling on and off), 5 runs each"
SU_ROWS=""
for t in floor sw_run sw_run_nospin; do
	first="" later="" one=0
	for i in 1 2 3 4 5; do
		"$W" getppid "$N_LIGHT" 2 >/dev/null
		"$W" read "$N_LIGHT" 2 >/dev/null
		# shellcheck disable=SC2046
		read -r f l o < <($(prefix "$t" getppid) "$W" -t 200 getppid 8000 1 2>/dev/null </dev/null |
			sed -n 's/^chunks=//p' | tr , '\n' | awk -F: 'NF == 4 {
				n++; if (n <= 10) { fs += $2; fn++ } else if ($1 > 150) { ls += $2; ln++ }
				if (n <= 2 && $3 == $4 && $3 >= 0) o++ }
				END { printf "%s %s %d\n", fn ? int(fs / fn / 1000 + 0.5) : "-", ln ? int(ls / ln / 1000 + 0.5) : "-", (o > 0) }')
		first="$first${first:+ }${f:--}" later="$later${later:+ }${l:--}" one=$((one + ${o:-0}))
	done
	SU_ROWS="$SU_ROWS$t|$first|$later|$one
"
done

MEMCG_ROWS=""
MEMCG_WHY=""
CGM=/sys/fs/cgroup/memory
# (-o appends: every scan below writes to a fresh file)
offline_now() {
	rm -f "$TMPD/o.rec"
	"$SW" scan -o "$TMPD/o.rec" && scan_field "$TMPD/o.rec" .stallwatch.memcg.offline
}
if [ -d "$CGM" ] && [ -w "$CGM" ] && [ -f "$CGM/memory.stat" ]; then
	OFF_BEFORE=$(offline_now)
	CG_PARENT=$CGM/sw-bench-$$
	if mkdir "$CG_PARENT"; then
		for k in 0 200 1000; do
			while [ "$CG_MADE" -lt "$k" ]; do
				mkdir "$CG_PARENT/c$((CG_MADE + 1))" || break
				CG_MADE=$((CG_MADE + 1))
			done
			: >"$TMPD/walk"
			on=""
			for i in 1 2 3 4 5; do
				rm -f "$TMPD/m.rec"
				"$SW" scan -o "$TMPD/m.rec" || break
				scan_field "$TMPD/m.rec" .stallwatch.memcg.walk_ns >>"$TMPD/walk"
				on=$(scan_field "$TMPD/m.rec" .stallwatch.memcg.online)
			done
			read -r wmin wmed wmax _ < <(stats <"$TMPD/walk")
			MEMCG_ROWS="$MEMCG_ROWS$k $on $wmin $wmed $wmax"$'\n'
		done
		cg_remove
		# removed memcgs are freed asynchronously: give them up to 10 s
		OFF_AFTER=$(offline_now)
		OFF_AFTER_NOW=$OFF_AFTER
		for i in 1 2 3 4 5 6 7 8 9 10; do
			[ "$OFF_AFTER" -le "$OFF_BEFORE" ] && break
			sleep 1
			OFF_AFTER=$(offline_now)
		done
		OFF_WAIT=$i
	else
		MEMCG_WHY="cannot create $CG_PARENT"
		CG_PARENT=""
	fi
else
	MEMCG_WHY="no writable cgroup v1 memory hierarchy at $CGM"
fi

# (g) the host tax of an in-kernel watcher: what a process that nobody
# watches pays while stallwatch --backend=bpf (or the bpftrace one-liner)
# watches another one. Enabling a syscall tracepoint puts every task on the
# syscall slow path, and its program runs (and filters) on every call of the
# host. Two unwatched loops: getppid (one call) and `perf bench sched pipe`
# pinned to CPU 0 (two processes ping-ponging over pipes: per round trip 4
# calls and 2 context switches, so a sched_switch program would show here too).
# Per rep the three conditions (nothing attached, stallwatch, bpftrace) run in
# a shuffled order, the watcher attached once for both loops. Other helpers'
# BPF programs on the host would tax every condition: the tracing programs
# loaded are counted before and after each condition (ours not running).
HT_CSV=$RES/hosttax.csv
echo "rep,cond,loop,value_ns,others_before,others_after" >"$HT_CSV"
HT_WHY=""
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
other_progs() {
	if [ -x "$BPFTOOL" ]; then
		"$BPFTOOL" prog show 2>/dev/null | grep -cE '^[0-9]+: (tracing|raw_tracepoint|tracepoint|perf_event) '
	else
		echo "?"
	fi
}
HT_CONDS="bare"
[ "$HAVE_BPF" = 1 ] && HT_CONDS="$HT_CONDS sw_bpf"
[ "$HAVE_BPFTRACE" = 1 ] && HT_CONDS="$HT_CONDS bpftrace"
HT_LOOPS="getppid"
command -v perf >/dev/null && HT_LOOPS="$HT_LOOPS pipe"
read -r -a HT_COND_ARR <<<"$HT_CONDS"
read -r -a HT_LOOP_ARR <<<"$HT_LOOPS"
if [ "$HAVE_BPF" = 1 ]; then
	say "host tax: $HT_REPS reps of ${HT_CONDS// /, } x ${HT_LOOPS// /, }"
	# the watched process: asleep, so only the programs' filter runs for others
	sleep 3600 &
	SLEEPER=$!
	for ((rep = 1; rep <= HT_REPS; rep++)); do
		RANDOM=$((100 + rep))
		ht_conds=() ht_loops=()
		shuffle ht_conds "${HT_COND_ARR[@]}"
		for c in "${ht_conds[@]}"; do
			sleep 0.1
			ob=$(other_progs)
			hpid=""
			rm -f "$TMPD/ht.err" "$TMPD/ht.out"
			case $c in
			sw_bpf)
				"$SW" attach --backend=bpf --no-default-policy -m 10ms -o "$TMPD/ht.rec" -p "$SLEEPER" \
					2>"$TMPD/ht.err" &
				hpid=$!
				wait_until "grep -q 'attached' '$TMPD/ht.err' 2>/dev/null" 20
				;;
			bpftrace)
				bpftrace -q -e "$BPFTRACE_PROG" "$SLEEPER" 10000000 >"$TMPD/ht.out" 2>"$TMPD/ht.err" &
				hpid=$!
				wait_until "grep -q '^ready$' '$TMPD/ht.out' 2>/dev/null" 20
				;;
			esac
			shuffle ht_loops "${HT_LOOP_ARR[@]}"
			vals=()
			for l in "${ht_loops[@]}"; do
				case $l in
				getppid)
					# shellcheck disable=SC2046
					v=$("$W" $(warmup_opt) getppid "$N_LIGHT" 1 </dev/null | field agg_ns_per_call)
					;;
				pipe) v=$(taskset -c 0 perf bench sched pipe -l 20000 2>/dev/null |
					awk '/usecs\/op/ { printf "%d", $1 * 1000 }') ;;
				esac
				vals+=("$l:${v:-}")
			done
			if [ -n "$hpid" ]; then
				kill -INT "$hpid" 2>/dev/null
				wait "$hpid" 2>/dev/null
			fi
			sleep 0.1
			oa=$(other_progs)
			for lv in "${vals[@]}"; do
				[ -n "${lv#*:}" ] && echo "$rep,$c,${lv%%:*},${lv#*:},$ob,$oa" >>"$HT_CSV"
			done
		done
	done
	kill "$SLEEPER" 2>/dev/null
	wait "$SLEEPER" 2>/dev/null
	SLEEPER=""
else
	HT_WHY="no bpf backend ($BPF_WHY)"
fi

# (h) attach latency: start of the attach to its ready line, from every
# attach cell of the matrix (column attach_us of raw.csv)
attach_stats() { # tool [threads]: min median max count in ms
	awk -F, -v t="$1" -v thr="${2:-}" 'NR > 1 && $3 == t && $11 != "" && (thr == "" || substr($2, length($2)) == thr) { print $11 / 1000 }' "$CSV" |
		sort -n | awk '{ v[NR] = $1 } END {
			if (!NR) { print "- - - 0"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.1f %.1f %.1f %d\n", v[1], m, v[NR], NR }'
}

# (i) the load cost per start: `stallwatch run --backend=X -- true`, wall
# time, the backends alternating (bpf: open, BTF relocation, verifier, attach
# of 5 programs, and their removal at the end; ptrace: fork, seccomp filter,
# PTRACE_SEIZE)
LOAD_CSV=$RES/load.csv
echo "run,backend,wall_us" >"$LOAD_CSV"
LOAD_BACKENDS="ptrace notify"
[ "$HAVE_BPF" = 1 ] && LOAD_BACKENDS="bpf $LOAD_BACKENDS"
read -r -a LOAD_ARR <<<"$LOAD_BACKENDS"
say "load cost: $LOAD_RUNS runs of stallwatch run --backend={${LOAD_BACKENDS// /,}} -- true"
for ((i = 1; i <= LOAD_RUNS; i++)); do
	RANDOM=$((200 + i))
	load_order=()
	shuffle load_order "${LOAD_ARR[@]}"
	for b in "${load_order[@]}"; do
		t0=$EPOCHREALTIME
		"$SW" run --backend="$b" -- true >/dev/null 2>&1 || continue
		t1=$EPOCHREALTIME
		awk -v i="$i" -v b="$b" -v a="$t0" -v z="$t1" 'BEGIN { printf "%d,%s,%d\n", i, b, (z - a) * 1e6 }' >>"$LOAD_CSV"
	done
done
load_stats() { # backend: min median max count in ms
	awk -F, -v b="$1" 'NR > 1 && $2 == b { print $3 / 1000 }' "$LOAD_CSV" | sort -n | awk '{ v[NR] = $1 } END {
		if (!NR) { print "- - - 0"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f %.1f %.1f %d\n", v[1], m, v[NR], NR }'
}
# "true" alone, the floor of a fork + exec from this shell
TRUE_BIN=$(type -P true)
for ((i = 1; i <= LOAD_RUNS; i++)); do
	t0=$EPOCHREALTIME
	"$TRUE_BIN"
	t1=$EPOCHREALTIME
	awk -v i="$i" -v a="$t0" -v z="$t1" 'BEGIN { printf "%d,none,%d\n", i, (z - a) * 1e6 }' >>"$LOAD_CSV"
done

# ---------- tables ----------
T_END=$(date +%s)
MD=$RES/results.md
SUMMARY=$RES/summary.csv
# per cell: min median max n of agg_ns, and of ns_per_call (per-thread latency)
awk -F, 'NR > 1 { k = $2 "," $3; n[k]++; a[k, n[k]] = $6; p[k, n[k]] = $7 }
function sortv(arr, k, c,    i, j, x) {
	for (i = 1; i <= c; i++) s[i] = arr[k, i] + 0
	for (i = 2; i <= c; i++) { x = s[i]; for (j = i - 1; j >= 1 && s[j] > x; j--) s[j + 1] = s[j]; s[j + 1] = x }
}
function med(c) { return (c % 2) ? s[(c + 1) / 2] : (s[c / 2] + s[c / 2 + 1]) / 2 }
END {
	for (k in n) {
		c = n[k]
		sortv(a, k, c); line = k "," s[1] "," med(c) "," s[c] "," c
		sortv(p, k, c); print line "," s[1] "," med(c) "," s[c]
	}
}' "$CSV" | sort >"$SUMMARY"

# (g) the host-tax table: per loop, each condition's median (min-max), the
# per-rep tax against nothing attached, and the ratio of the two taxes. Only
# the reps in which no other tracing program was loaded (before and after
# each condition) count, when there are 3 or more of them.
HT_NOTE=""
HT_ROWS=""
HT_GETPPID_VERDICT="not measured"
if [ -s "$HT_CSV" ] && [ "$(wc -l <"$HT_CSV")" -gt 1 ]; then
	HT_CLEAN=$(awk -F, 'NR > 1 { n[$1]++; if ($5 != "0" || $6 != "0") dirty[$1] = 1 } END { for (r in n) if (!(r in dirty)) c++; print c + 0 }' "$HT_CSV")
	HT_ALL=$(awk -F, 'NR > 1 { n[$1] = 1 } END { for (r in n) c++; print c + 0 }' "$HT_CSV")
	if [ "$HT_CLEAN" -ge 3 ]; then
		HT_USE=clean
		HT_NOTE="Other processes' tracing programs (counted with bpftool) were loaded in $((HT_ALL - HT_CLEAN)) of $HT_ALL reps; the table uses the $HT_CLEAN reps without any."
	else
		HT_USE=all
		HT_NOTE="Other processes' tracing programs (counted with bpftool) were loaded in $((HT_ALL - HT_CLEAN)) of $HT_ALL reps, too many to leave out: the table uses all reps, and every condition of those reps paid their tax too."
	fi
	for l in $HT_LOOPS; do
		row=$(awk -F, -v l="$l" -v use="$HT_USE" '
			NR > 1 { if ($5 != "0" || $6 != "0") dirty[$1] = 1; if ($3 == l) v[$1, $2] = $4; reps[$1] = 1 }
			function med(a, n,    i, j, x) {
				for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
				return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
			}
			function stat(c,    r, n, a, lo, hi) {
				n = 0; lo = 1e18; hi = 0
				for (r in reps) if (use == "all" || !(r in dirty)) if ((r, c) in v) { a[++n] = v[r, c]; if (v[r, c] < lo) lo = v[r, c]; if (v[r, c] > hi) hi = v[r, c] }
				if (!n) { MIN[c] = ""; return "-" }
				MIN[c] = lo
				return sprintf("%d (%d-%d)", med(a, n), lo, hi)
			}
			function tax(c,    r, n, a, lo, hi) {
				n = 0; lo = 1e18; hi = -1e18
				for (r in reps) if (use == "all" || !(r in dirty)) if ((r, c) in v && (r, "bare") in v) {
					a[++n] = v[r, c] - v[r, "bare"]; if (a[n] < lo) lo = a[n]; if (a[n] > hi) hi = a[n] }
				if (!n) { TAX[c] = ""; return "-" }
				TAX[c] = med(a, n)
				return sprintf("%+d [%+d to %+d]", TAX[c], lo, hi)
			}
			END {
				sb = stat("bare"); ss = stat("sw_bpf"); st = stat("bpftrace")
				ts = tax("sw_bpf"); tt = tax("bpftrace")
				ratio = "-"; verdict = ""
				if (TAX["sw_bpf"] != "" && TAX["bpftrace"] != "" && TAX["bpftrace"] > 0) {
					x = TAX["sw_bpf"] / TAX["bpftrace"]
					ratio = sprintf("%.2f", x)
					if (l == "getppid") { verdict = (x <= 1.10) ? "MET" : "NOT MET"; ratio = ratio " " verdict }
				}
				fr = "-"
				if (MIN["bare"] != "" && MIN["sw_bpf"] != "" && MIN["bpftrace"] != "" && MIN["bpftrace"] > MIN["bare"])
					fr = sprintf("%.2f", (MIN["sw_bpf"] - MIN["bare"]) / (MIN["bpftrace"] - MIN["bare"]))
				printf "| %s | %s | %s | %s | %s | %s | %s | %s |\t%s %s\n", l, sb, ss, st, ts, tt, ratio, fr, verdict, ratio
			}' "$HT_CSV")
		HT_ROWS="$HT_ROWS${row%%$'\t'*}"$'\n'
		if [ "$l" = getppid ]; then
			v=${row#*$'\t'}
			HT_GETPPID_VERDICT="${v#* }"
			[ -n "${v%% *}" ] || HT_GETPPID_VERDICT="not measured (no bpftrace tax to compare)"
		fi
	done
fi
# (h) attach latency ratio, bpf / ptrace (medians over every attach cell)
ATT_RATIO="-"
ATT_VERDICT="not measured"
read -r _ ATT_PT_MED _ _ < <(attach_stats sw_attach)
read -r _ ATT_BPF_MED _ _ < <(attach_stats sw_bpf_attach)
if [ "$ATT_PT_MED" != "-" ] && [ "$ATT_BPF_MED" != "-" ]; then
	ATT_RATIO=$(awk -v a="$ATT_BPF_MED" -v b="$ATT_PT_MED" 'BEGIN { printf "%.2f", a / b }')
	ATT_VERDICT=$(awk -v r="$ATT_RATIO" 'BEGIN { print (r <= 0.05) ? "MET" : "NOT MET" }')
fi
# (i) load cost: bpf minus ptrace, medians
read -r _ LOAD_PTRACE_MED _ _ < <(load_stats ptrace)
read -r _ LOAD_BPF_MED _ _ < <(load_stats bpf)
LOAD_COST_MS="-"
LOAD_VERDICT="not measured"
if [ "$LOAD_PTRACE_MED" != "-" ] && [ "$LOAD_BPF_MED" != "-" ]; then
	LOAD_COST_MS=$(awk -v a="$LOAD_BPF_MED" -v b="$LOAD_PTRACE_MED" 'BEGIN { printf "%.1f", a - b }')
	LOAD_VERDICT=$(awk -v c="$LOAD_COST_MS" 'BEGIN { print (c < 100) ? "MET" : "NOT MET" }')
fi

RATIO_ROWS='seccomp/untraced|info|the seccomp filter alone (no tracer): what every unwatched call pays
filter_only/untraced|info|filter + idle tracer (our floor, call unwatched)
sw_unwatched/filter_only|info|an unwatched call under stallwatch vs the filter alone, medians (set by the shared host: see the fastest-rep row)
sw_unwatched/filter_only@min|1.05|target: an unwatched call under stallwatch vs the filter alone, fastest reps
sw_run/floor|1.10|target: a watched call, stallwatch run vs our floor
floor_again/floor|info|the same floor command in two cells of one run: how far two identical tracers land apart (the resolution of the free-placement ratios)
sw_run_nospin/floor|info|stallwatch run with the spin turned off (STALLWATCH_NO_SPIN=1) vs our floor
sw_run/sw_run_nospin|info|what the spin is worth: stallwatch run vs the same with the spin off
sw_run/strace_bpf|0.90|target: stallwatch run vs strace -f -T --seccomp-bpf
sw_run/strace_bpf@2|1.00|target (2 threads): aggregate ns/call, stallwatch run vs strace --seccomp-bpf (<= 1.00: throughput at least strace'"'"'s)
sw_run/strace@2|info|2 threads: stallwatch run vs strace -f -T (no filter)
strace_bpf/floor|info|strace --seccomp-bpf vs the floor
sw_attach/floor|info|stallwatch attach (no filter: every call stops) vs the floor
sw_attach/strace|info|stallwatch attach vs strace -f -T (neither filters)
sw_run_1cpu/floor_1cpu|info|all on CPU 0 (no cross-CPU wake-ups): stallwatch run vs the floor
sw_run_1cpu/strace_bpf_1cpu|info|all on CPU 0: stallwatch run vs strace --seccomp-bpf
sw_notify/floor|0.50|target: a watched call, stallwatch run --backend=notify vs our ptrace floor
sw_notify_1cpu/floor_1cpu|0.50|target: all on CPU 0, a watched call under notify vs the floor
sw_notify/sw_run|info|the two backends of stallwatch run: notify vs ptrace
sw_notify_1cpu/sw_run_1cpu|info|all on CPU 0: notify vs ptrace
sw_notify_nosync/floor|info|notify with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP off (STALLWATCH_NO_SYNC_WAKEUP=1) vs our floor
sw_notify/sw_notify_nosync|info|what SYNC_WAKE_UP is worth: notify vs the same with the flag off (2T: both threads are woken on stallwatch'"'"'s CPU)
sw_notify_1cpu/sw_notify|info|notify pinned to CPU 0 vs free
sw_notify_unwatched/seccomp|info|an unwatched call under notify vs the filter alone, medians
sw_notify_unwatched/seccomp@min|1.05|target: an unwatched call under notify vs the filter alone, fastest reps
sw_notify_unwatched_1cpu/seccomp_1cpu|info|all on CPU 0: an unwatched call under notify vs the filter alone, medians
sw_notify_unwatched_1cpu/seccomp_1cpu@min|1.05|target: all on CPU 0, an unwatched call under notify vs the filter alone, fastest reps
floor_1cpu/floor|info|the floor pinned to CPU 0 vs free: what the placement of tracer and workload is worth
perf_trace/floor|info|perf trace --duration 10 vs the floor
sw_run/perf_trace|info|stallwatch run vs perf trace
sw_bpf/bpftrace|0.50|target: a watched call, stallwatch run --backend=bpf vs the bpftrace one-liner
sw_bpf/floor|0.05|target: a watched call, stallwatch run --backend=bpf vs our ptrace floor
sw_bpf_attach/sw_attach|0.05|target: a watched call while attached, bpf vs ptrace (attach stops every call)
sw_bpf_attach/bpftrace|info|both attached, both in the kernel: stallwatch attach --backend=bpf vs the bpftrace one-liner
sw_bpf/untraced|info|a watched call under bpf vs no tracer
sw_bpf_unwatched/untraced|info|an unwatched call of a watched process under bpf vs no tracer
sw_bpf_unwatched/seccomp|info|an unwatched call: bpf vs the seccomp filter that ptrace and notify put in front of every call
sw_bpf_attach/sw_bpf|info|bpf: attach vs run (the same programs)
sw_bpf_attach_unwatched/sw_bpf_unwatched|info|bpf, unwatched call: attach vs run
bpftrace/untraced|info|the bpftrace one-liner vs no tracer
sw_bpf/sw_notify|info|a watched call: bpf vs notify'
declare -A VERDICT

{
	echo "### Machine and run"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); kernel \`$(uname -r)\`; \`nproc\` $NCPU; CPU \`$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')\`"
	echo "- strace: $(if [ "$HAVE_STRACE" = 1 ]; then strace -V | head -n 1 | sed 's/^strace -- //'; else echo "not installed (strace cells skipped)"; fi); perf: $(if command -v perf >/dev/null; then perf version 2>&1 | head -n 1; else echo none; fi); perf trace: $(if [ "$HAVE_PERF" = 1 ]; then echo "usable (probe: it saw 20 of 20 getppid calls)"; else echo "cell skipped: $PERF_WHY"; fi)"
	echo "- shared machine: load average at the start $LOAD_START; other processes used $IDLE_PCT % of the CPUs in the 2 s before the run, about $M_OTHERS % during the matrix (per rep:$(tr ' ' '\n' <<<"$REP_OTHERS" | grep . | sort -n | sed -n '1p;$p' | paste -sd- | sed 's/^/ /;s/-/ to /') %; 1-min load average$(tr ' ' '\n' <<<"$REP_LOADS" | grep . | sort -n | sed -n '1p;$p' | paste -sd- | sed 's/^/ /;s/-/ to /'))"
	echo "- bpf backend: $(if [ "$HAVE_BPF" = 1 ]; then echo "usable (probe: it timed 20 of 20 getppid calls)"; else echo "cells skipped: $BPF_WHY"; fi); bpftrace: $(if [ "$HAVE_BPFTRACE" = 1 ]; then bpftrace --version 2>&1 | head -n 1; else echo "cell skipped: $BPFTRACE_WHY"; fi)"
	[ -n "$PIPE_FREE" ] && echo "- context-switch anchor, \`perf bench sched pipe -l 20000\`, 3 runs before the matrix: round trip$PIPE_FREE us with both tasks free,$PIPE_PINNED us with both on CPU 0 (\`taskset -c 0\`)"
	echo "- REPS=$REPS ($REPS_DONE done), N_LIGHT=$N_LIGHT (enoent: N_ENOENT_LIGHT=$N_ENOENT_LIGHT), N_HEAVY=$N_HEAVY calls per thread (openclose: half as many iterations, 2 calls each) after a warm-up of WARMUP_MS=$WARMUP_MS ms; matrix $((M_END - M_START)) s, whole run $((T_END - T_START)) s; failed runs: $NFAIL"
	echo
	echo "### Commands"
	echo
	echo "Every cell runs \`PREFIX build/bench/workload [-u $WARMUP_MS] MODE ITERATIONS THREADS\` (bench/workload.c, \`cc -O2\`)."
	echo "With \`-u $WARMUP_MS\`, in every cell, each thread first runs its loop untimed for $WARMUP_MS ms, so"
	echo "that the timed calls see the placement a traced program keeps, not the start-up one (see"
	echo "\"Steady state\" below the results)."
	echo "One rep runs every workload × cell once (both orders shuffled anew each rep, seeded with the rep); REPS reps. CALLS is"
	echo "\`getppid\`, \`read\`, \`openat,close\` (openclose) or \`openat\` (enoent)."
	echo
	echo "| cell | PREFIX | calls per thread |"
	echo "|---|---|---:|"
	for t in "${TOOL_ARR[@]}"; do
		if is_light "$t"; then n="$N_LIGHT (enoent $N_ENOENT_LIGHT)"; else n=$N_HEAVY; fi
		case $t in *_1cpu) n="$n (1 thread only)" ;; esac
		# shellcheck disable=SC2016 # backquotes are Markdown here
		case $t in
		sw_attach) p='`build/bench/workload -w -u WARMUP_MS MODE N T &` prints `ready` and waits (sigwaitinfo) with its threads created; then `./stallwatch attach --backend=ptrace --no-default-policy -e CALLS -o FILE -p PID`; after its `attached` line, `kill -USR1` starts the loops; SIGTERM only if stallwatch has not exited 5 s after the workload' ;;
		sw_bpf_attach | sw_bpf_attach_unwatched) p="as sw_attach, with \`$(prefix "$t" CALLS | sed "s|$TMPD|\$TMP|g")\`" ;;
		bpftrace) p='as sw_attach, with `bpftrace -q -e PROG PID 10000000` (PROG below); after its `ready` line (BEGIN), `kill -USR1` starts the loops; SIGINT to bpftrace once the workload exited' ;;
		*) p="\`$(prefix "$t" CALLS | sed "s|$TMPD|\$TMP|g")\`" ;;
		esac
		[ "$t" = untraced ] && p="(none)"
		echo "| $t | $p | $n |"
	done
	echo
	if [ "$HAVE_BPFTRACE" = 1 ]; then
		echo "PROG, the bpftrace one-liner (\$1 the pid, \$2 the threshold in ns; \`pid\` is the thread group id):"
		echo
		echo '```'
		echo "$BPFTRACE_PROG"
		echo '```'
		echo
	fi
	echo "### ns per syscall: median (min-max) over the reps"
	echo
	echo "Aggregate ns per call: the workload's wall time (first thread start to last thread end) / all"
	echo "calls. With 1 thread this is the latency of one call; with 2 threads the process's throughput."
	echo
	printf '| cell |'
	for wl in "${WL_ARR[@]}"; do printf ' %s %sT |' "${wl%%:*}" "${wl##*:}"; done
	echo
	printf '|---|'
	for wl in "${WL_ARR[@]}"; do printf -- '---:|'; done
	echo
	for t in "${TOOL_ARR[@]}"; do
		printf '| %s |' "$t"
		for wl in "${WL_ARR[@]}"; do
			awk -F, -v k="$wl,$t" '$1 "," $2 == k { printf " %d (%d-%d) |", $4, $3, $5; f = 1 }
				END { if (!f) printf " - |" }' "$SUMMARY"
		done
		echo
	done
	echo
	echo "2 threads, ns per call as each thread sees it (mean over the threads of thread time / thread calls):"
	echo
	printf '| cell |'
	for m in $MODES; do printf ' %s 2T |' "$m"; done
	echo
	printf '|---|'
	for m in $MODES; do printf -- '---:|'; done
	echo
	for t in "${TOOL_ARR[@]}"; do
		case $t in *_1cpu) continue ;; esac
		printf '| %s |' "$t"
		for m in $MODES; do
			awk -F, -v k="$m:2,$t" '$1 "," $2 == k { printf " %d (%d-%d) |", $8, $7, $9; f = 1 }
				END { if (!f) printf " - |" }' "$SUMMARY"
		done
		echo
	done
	echo
	echo "### Ratios (same run) and the performance targets"
	echo
	echo "Ratio of the two medians of aggregate ns/call; in brackets the range of the per-rep ratios"
	echo "(both cells of a rep ran seconds apart). A target is MET in a column when the ratio is at most"
	echo "the target; the last column counts the columns where it is met. The unwatched target compares"
	echo "the fastest reps instead (\"fastest reps\": the ratio of the two minimums). Its cells never leave"
	echo "the CPU, a few hundred ns a call over 200 000 calls, so the shared host can only add time to"
	echo "them, and their medians move by more than the 5 % under test (compare untraced with seccomp)."
	echo
	printf '| ratio | target |'
	for wl in "${WL_ARR[@]}"; do printf ' %s %sT |' "${wl%%:*}" "${wl##*:}"; done
	printf ' verdict |\n|---|---:|'
	for wl in "${WL_ARR[@]}"; do printf -- '---:|'; done
	printf -- '---|\n'
	while IFS='|' read -r spec target what; do
		num=${spec%%/*}
		den=${spec#*/}
		only=""
		col=4 # the median; @min: the fastest rep
		case $den in *@2) only=2 den=${den%@2} ;; *@min) col=3 den=${den%@min} ;; esac
		if ! grep -q ",$num," "$SUMMARY" || ! grep -q ",$den," "$SUMMARY"; then
			continue
		fi
		printf '| %s / %s%s%s | %s |' "$num" "$den" "${only:+ (2T)}" "$([ "$col" = 3 ] && echo " (fastest reps)")" \
			"$([ "$target" = info ] && echo - || echo "≤ $target")"
		met=0
		tot=0
		for wl in "${WL_ARR[@]}"; do
			if [ -n "$only" ] && [ "${wl##*:}" != "$only" ]; then
				printf ' |'
				continue
			fi
			cell=$(awk -F, -v wl="$wl" -v a="$num" -v b="$den" -v tg="$target" -v col="$col" '
				FNR == 1 { file++ }
				file == 1 && $1 == wl && $2 == a { ma = $col }
				file == 1 && $1 == wl && $2 == b { mb = $col }
				file == 2 && $2 == wl && $3 == a { ra[$1] = $6 }
				file == 2 && $2 == wl && $3 == b { rb[$1] = $6 }
				END {
					if (ma == "" || mb == "" || mb == 0) { print "-|"; exit }
					lo = 1e18; hi = 0
					for (r in ra) if (r in rb && rb[r] > 0) { x = ra[r] / rb[r]; if (x < lo) lo = x; if (x > hi) hi = x }
					v = ma / mb
					s = sprintf("%.2f [%.2f-%.2f]", v, lo, hi)
					if (tg != "info") s = s (v <= tg + 0 ? " MET" : " NOT MET")
					print s "|" (tg != "info" ? (v <= tg + 0 ? 1 : 0) : "")
				}' "$SUMMARY" "$CSV")
			printf ' %s |' "${cell%%|*}"
			case ${cell##*|} in 1) met=$((met + 1)) tot=$((tot + 1)) ;; 0) tot=$((tot + 1)) ;; esac
		done
		VERDICT[$spec]="$([ "$met" = "$tot" ] && echo MET || echo "NOT MET") ($met of $tot columns)"
		if [ "$target" = info ]; then
			printf ' %s |\n' "$what"
		else
			printf ' %s: %s (%d of %d) |\n' "$what" "$([ "$met" = "$tot" ] && echo MET || echo "NOT MET")" "$met" "$tot"
		fi
	done <<<"$RATIO_ROWS"
	echo
	echo "Filter cost in ns per call (difference of the fastest reps to untraced, 1 thread): $(for m in $MODES; do
		awk -F, -v m="$m:1" '$1 == m && $2 == "untraced" { u = $3 } $1 == m && $2 == "seccomp" { s = $3 }
			$1 == m && $2 == "filter_only" { f = $3 } $1 == m && $2 == "sw_unwatched" { w = $3 }
			$1 == m && $2 == "sw_notify_unwatched" { nw = $3 }
			END { printf "%s %+d (filter alone), %+d (filter_only), %+d (stallwatch unwatched), %+d (notify unwatched); ", substr(m, 1, length(m) - 2), s - u, f - u, w - u, nw - u }' "$SUMMARY"
	done | sed 's/; $/./')"
	echo
	echo "Records written by the watched stallwatch cells of the matrix at the default 10 ms: run $REC_RUN$(rec_summary "$RES/sw_run.rec"),"
	echo "attach $REC_ATT$(rec_summary "$RES/sw_attach.rec")$([ "$REC_ATT" != 0 ] && echo " (attach stops on every call; these calls took ≥ 10 ms between their stops on a shared machine)"),"
	echo "notify $REC_NOT$(rec_summary "$RES/sw_notify.rec"),"
	echo "bpf run $REC_BPF$(rec_summary "$RES/sw_bpf.rec"), bpf attach $REC_BPF_ATT$(rec_summary "$RES/sw_bpf_attach.rec"); the bpftrace one-liner printed $REC_BT lines over 10 ms$([ "$BT_SLOW_EXITS" != 0 ] && echo "; in $BT_SLOW_EXITS of its cells bpftrace had not exited 3 s after SIGINT and was killed (where it was: build/bench/results/logs/bpftrace-slow-exit.txt)")."
	echo
	echo "In-kernel cost in ns per call, 1 thread (difference of the medians to untraced): $(for m in $MODES; do
		awk -F, -v m="$m:1" '$1 == m { v[$2] = $4 }
			END { printf "%s %+d (bpf run), %+d (bpf unwatched), %+d (bpf attach), %+d (bpftrace); ", substr(m, 1, length(m) - 2),
				v["sw_bpf"] - v["untraced"], v["sw_bpf_unwatched"] - v["untraced"], v["sw_bpf_attach"] - v["untraced"], v["bpftrace"] - v["untraced"] }' "$SUMMARY"
	done | sed 's/; $/./')"
	echo "The floor's own count of traced calls: $(awk -F, 'NR > 1 && $3 == "floor" { t++; if ($9 >= $5) ok++ }
		NR > 1 && $3 == "filter_only" { u++; if ($9 == 0) z++ }
		END { printf "%d of %d floor runs saw at least every loop call; %d of %d filter_only runs saw none", ok, t, z, u }' "$CSV")."
	echo
	echo "### Checks"
	echo
	echo "**(a) False records, both CPUs busy** (one \`sh -c 'while :; do :; done'\` pinned per CPU, killed by pid"
	echo "afterwards): \`./stallwatch run --backend=ptrace --no-default-policy -e getppid -o FILE -- build/bench/workload getppid 20000 1\`"
	echo "(default threshold 10 ms): **$BUSY_REC records** ($([ "$BUSY_REC" = 0 ] && echo MET || echo NOT MET); the loop ran at ${BUSY_NS:-?} ns per call). For scale, the same with"
	echo "\`-m 1ms\`: $BUSY1_REC records$([ "$BUSY1_REC" != 0 ] && echo ", the longest ${BUSY1_MAX} ns")."
	echo
	echo "**(b) A 200 ms sleep**: \`./stallwatch run --backend=ptrace --no-default-policy -e nanosleep -m 100ms -o FILE -- build/bench/workload sleep 200\`,"
	echo "3 runs; the \`slow-syscall\` record's \`event.duration\` against the workload's own clock and against 200 ms"
	echo "($([ "$SLEEP_OK" = 1 ] && echo "MET in all 3" || echo "NOT MET in every run")):"
	echo
	echo "| event.duration ns | workload's own ns | vs own | vs 200 ms | within ±5 % |"
	echo "|---:|---:|---:|---:|---|"
	printf '%s' "$SLEEP_ROWS"
	echo
	if [ -n "$SLEEP_BPF_ROWS" ]; then
		echo "The same under the bpf backend (\`./stallwatch run --backend=bpf ...\`), 3 runs, target ±1 %"
		echo "($([ "$SLEEP_BPF_OK" = 1 ] && echo "MET in all 3" || echo "NOT MET in every run")):"
		echo
		echo "| event.duration ns | workload's own ns | vs own | vs 200 ms | within ±1 % |"
		echo "|---:|---:|---:|---:|---|"
		printf '%s' "$SLEEP_BPF_ROWS"
		echo
	fi
	echo "**(c) Measurement floor**: \`./stallwatch run --backend=ptrace --no-default-policy -e getppid -m 0 -o FILE -- build/bench/workload getppid 2000 1\`,"
	echo "3 runs ($FAST_N records): event.duration min $FAST_MIN ns, median $FAST_MED ns, max $FAST_MAX ns for a call"
	echo "that takes about $(awk -F, '$1 == "getppid:1" && $2 == "untraced" { print $4 }' "$SUMMARY") ns untraced. Alternating with \`build/bench/floor -v -e getppid\` on the same"
	echo "workload, the floor's own mean seccomp stop → exit stop time was $FLM_MED ns (median of 3; $FLM_MIN-$FLM_MAX)."
	echo "With a record written for every call the loop ran at $FL_MED ns per call ($FL_MIN-$FL_MAX)."
	echo "The same 3 + 3 runs under \`taskset -c 0\` (stallwatch or the floor, and the workload, on one CPU):"
	echo "event.duration min $FASTP_MIN ns, median $FASTP_MED ns, max $FASTP_MAX ns ($FASTP_N records); the floor's own mean $FLMP_MED ns ($FLMP_MIN-$FLMP_MAX)."
	echo "The floor's mean is over all calls, stallwatch's median over records; the floor writes no record."
	echo
	echo "**(d) The scanner**: \`./stallwatch scan -o FILE\`, $SC_N runs: \`stallwatch.self.scan_ns\` median $SC_MED ns"
	echo "($SC_MIN-$SC_MAX; slabinfo read and memcg tree walked every time; \`slab.read_ns\` median $SR_MED, $SR_MIN-$SR_MAX)."
	echo "The second of two \`scan --state FILE\` within 10 s (no slabinfo read, the last walk's count reused),"
	echo "$SC2_N runs: median $SC2_MED ns ($SC2_MIN-$SC2_MAX)."
	echo
	echo "**(e) A burst against the rate limit**: \`build/bench/slowcalls 5000 100\` (5,000 nanosleeps of 100 µs, every one slow"
	echo "at \`-m 20us\`), 5 runs each, the program's own time for the burst (median, min-max):"
	echo "untraced $BU_MED ns ($BU_MIN-$BU_MAX); \`./stallwatch run --backend=ptrace --no-default-policy -e nanosleep -m 20us -o FILE\` with the"
	echo "default rate limit (600 records/min per process and rule) $BS_MED ns ($BS_MIN-$BS_MAX), last run $BURST_REC records"
	echo "+ $BURST_DROP counted in records-dropped = $((BURST_REC + BURST_DROP)) of 5000; \`strace -f -qq -o /dev/null -e trace=nanosleep\`"
	echo "$BT_MED ns ($BT_MIN-$BT_MAX). stallwatch / strace = **$BURST_RATIO** (target ≤ 3: $(awk -v r="$BURST_RATIO" 'BEGIN { print (r != "-" && r <= 3) ? "MET" : "NOT MET" }'))."
	echo
	if [ -n "$MEMCG_WHY" ]; then
		echo "Cost per live memcg: not measured ($MEMCG_WHY)."
	else
		echo "Cost per live memcg: K empty memcgs created under \`$CGM/sw-bench-PID\` (nothing else touched),"
		echo "5 scans each, \`stallwatch.memcg.walk_ns\` median (min-max); removed afterwards (offline memcgs on the"
		echo "host before: $OFF_BEFORE; right after the removal: $OFF_AFTER_NOW; $OFF_WAIT s later: $OFF_AFTER)."
		echo
		echo "| K | online | walk_ns | walk_ns / online |"
		echo "|---:|---:|---:|---:|"
		while read -r k on wmin wmed wmax; do
			[ -n "$k" ] || continue
			printf '| %s | %s | %s (%s-%s) | %s |\n' "$k" "$on" "$wmed" "$wmin" "$wmax" \
				"$(awk -v w="$wmed" -v o="$on" 'BEGIN { if (o > 0) printf "%.0f", w / o; else print "-" }')"
		done <<<"$MEMCG_ROWS"
		echo
		echo "Marginal cost per directory (K=0 → 1000, difference of the medians): $(awk 'NF { n++; o[n] = $2; w[n] = $4 }
			END { if (n >= 2 && o[n] > o[1]) printf "%.0f ns", (w[n] - w[1]) / (o[n] - o[1]); else print "-" }' <<<"$MEMCG_ROWS")."
	fi
	echo
	echo "**(f) The start-up placement that the warm-up skips.** Each run: \`build/bench/workload getppid $N_LIGHT 2\`"
	echo "and \`read $N_LIGHT 2\` untraced (both CPUs busy for a moment, as the matrix's cells leave the machine),"
	echo "then \`PREFIX build/bench/workload -t 200 getppid 8000 1\` with no warm-up, which notes every 200 calls its"
	echo "time per call, its CPU and the CPU its tracer last ran on (\`/proc/PPID/stat\`). 5 runs per cell, us per"
	echo "call, run by run: the first 2000 calls (what a matrix cell timed before the warm-up existed), and"
	echo "the calls after the first 150 ms (what the warm-up leaves). \"Started on one CPU\": the runs in which"
	echo "the loop and its tracer were seen on one CPU at the end of one of the first two chunks."
	echo
	echo "| cell | first 2000 calls, us/call | after 150 ms, us/call | started on one CPU |"
	echo "|---|---|---|---:|"
	while IFS='|' read -r t f l o; do
		[ -n "$t" ] && echo "| $t | $f | $l | $o of 5 |"
	done <<<"$SU_ROWS"
	echo
	echo "**(g) The host tax of an in-kernel watcher.** A process that nobody watches, while \`./stallwatch attach"
	echo "--backend=bpf --no-default-policy -m 10ms -p SLEEPER\` or the bpftrace one-liner (\`bpftrace -q -e PROG SLEEPER"
	echo "10000000\`) watches a \`sleep 3600\` started for it, against nothing attached: \`build/bench/workload -u $WARMUP_MS"
	echo "getppid $N_LIGHT 1\` (ns per call) and \`taskset -c 0 perf bench sched pipe -l 20000\` (two processes on CPU 0"
	echo "ping-ponging over pipes; ns per round trip: 4 calls and 2 context switches). $HT_REPS reps; each rep runs the"
	echo "three conditions in a shuffled order, the watcher attached once for both loops (shuffled). Tax = the"
	echo "condition's time minus nothing attached, per rep (median [range] over the reps); \"fastest reps\": the"
	echo "minimum of each condition. ${HT_WHY:+Not measured: $HT_WHY.}"
	echo "$HT_NOTE"
	echo
	echo "| loop | nothing attached | stallwatch bpf | bpftrace | tax: stallwatch bpf | tax: bpftrace | tax ratio (target ≤ 1.10 for getppid) | fastest reps: tax bpf / bpftrace |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	printf '%s' "$HT_ROWS"
	echo
	echo "**(h) Attach latency**: from the start of the tool to its ready line (stallwatch's \`attached PID (COMM) with N"
	echo "threads\`, the one-liner's \`ready\` from BEGIN), stamped as it arrives, in every attach cell of the matrix"
	echo "(the workload has its T loop threads and its main thread); ms, median (min-max), runs:"
	echo
	echo "| cell | 1-thread workloads | 2-thread workloads | all |"
	echo "|---|---:|---:|---:|"
	for t in sw_attach sw_bpf_attach sw_bpf_attach_unwatched bpftrace; do
		grep -q ",$t," "$CSV" || continue
		printf '| %s |' "$t"
		for th in 1 2 ""; do
			read -r a_min a_med a_max a_n < <(attach_stats "$t" "$th")
			printf ' %s (%s-%s), %s |' "$a_med" "$a_min" "$a_max" "$a_n"
		done
		echo
	done
	echo
	echo "Attach latency, bpf / ptrace (\`sw_bpf_attach / sw_attach\`, medians of all runs): **$ATT_RATIO** (target ≤ 0.05: $ATT_VERDICT)."
	echo
	echo "**(i) The load cost per start**: \`./stallwatch run --backend=B -- true\` (the default policy), wall time"
	echo "from this shell, $LOAD_RUNS runs per backend, the backends in a shuffled order each run; \`true\` alone for"
	echo "the fork and exec. ms, median (min-max):"
	echo
	echo "| backend | wall ms | minus ptrace |"
	echo "|---|---:|---:|"
	for b in none ptrace notify bpf; do
		read -r l_min l_med l_max l_n < <(load_stats "$b")
		[ "$l_n" = 0 ] && continue
		printf '| %s | %s (%s-%s) | %s |\n' "$([ "$b" = none ] && echo "\`true\` alone" || echo "$b")" "$l_med" "$l_min" "$l_max" \
			"$(awk -v a="$l_med" -v p="$LOAD_PTRACE_MED" 'BEGIN { if (p != "-" && a != "-") printf "%+.1f", a - p; else print "-" }')"
	done
	echo
	echo "Load cost of the bpf backend per start (bpf minus ptrace, medians): **$LOAD_COST_MS ms** (target < 100 ms: $LOAD_VERDICT;"
	echo "the whole \`run --backend=bpf -- true\` took $LOAD_BPF_MED ms)."
	echo
	echo "### The bpf backend's targets"
	echo
	echo "| target | result |"
	echo "|---|---|"
	echo "| a watched call under bpf ≤ 0.5 × the bpftrace one-liner (\`sw_bpf / bpftrace\`) | ${VERDICT[sw_bpf/bpftrace]:-not measured} |"
	echo "| a watched call under bpf ≤ 0.05 × the ptrace floor (\`sw_bpf / floor\`) | ${VERDICT[sw_bpf/floor]:-not measured} |"
	echo "| a watched call while attached, bpf ≤ 0.05 × ptrace (\`sw_bpf_attach / sw_attach\`) | ${VERDICT[sw_bpf_attach/sw_attach]:-not measured} |"
	echo "| attach latency, bpf ≤ 0.05 × ptrace (h) | $ATT_RATIO: $ATT_VERDICT |"
	echo "| host tax of an unwatched getppid, stallwatch bpf ≤ 1.1 × bpftrace's (g) | $HT_GETPPID_VERDICT |"
	echo "| a 200 ms sleep under bpf within ±1 % (b) | $([ -z "$SLEEP_BPF_ROWS" ] && echo "not measured" || { [ "$SLEEP_BPF_OK" = 1 ] && echo "MET (3 of 3)" || echo "NOT MET"; }) |"
	echo "| load cost per start of the bpf backend < 100 ms (i) | $LOAD_COST_MS ms: $LOAD_VERDICT |"
} >"$MD"

cat "$MD"
if [ "$UPDATE_DOC" = 1 ]; then
	if grep -q '^<!-- bench:begin -->$' "$DOC" && grep -q '^<!-- bench:end -->$' "$DOC"; then
		awk -v f="$MD" '
			$0 == "<!-- bench:begin -->" { print; while ((getline l < f) > 0) print l; skip = 1; next }
			$0 == "<!-- bench:end -->" { skip = 0 }
			!skip' "$DOC" >"$TMPD/doc" && cat "$TMPD/doc" >"$DOC" && say "updated $DOC"
	else
		say "markers <!-- bench:begin --> / <!-- bench:end --> not found in $DOC: not updated"
	fi
fi
say "done in $(($(date +%s) - T_START)) s; raw data in $CSV"
