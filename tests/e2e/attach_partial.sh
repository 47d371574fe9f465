#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# attach_partial.sh - a process is attached whole or not at all. A thread
# that cannot be seized (strace holds it, or another stallwatch attaching at
# the same moment) refuses the process with one line naming the thread and
# its tracer, and every thread is left as it was: untraced (or still the
# other tracer's), running or stopped as before. Before, stallwatch said
# "attached PID (COMM) with 8 threads" for a 9-thread process, exit 0, and
# two concurrent attaches split the threads (1+8, 3+6, ...) and both
# "succeeded".
. "$(dirname "$0")/lib.sh"

H=$HELPERS

# TracerPid of thread TID of PID (empty if gone).
tracer_of() { awk '$1 == "TracerPid:" { print $2; exit }' "/proc/$1/task/$2/status" 2>/dev/null; }

# State letter of thread TID of PID.
tstate() {
	local s
	s=$(cat "/proc/$1/task/$2/stat" 2>/dev/null) || return 0
	s=${s##*) }
	echo "${s%% *}"
}

tids_of() { ls "/proc/$1/task" 2>/dev/null; }

# expect_untouched PID STATE [TID TRACER]: every thread of PID is untraced
# and in STATE (S or T), except TID, traced by TRACER (and in STATE too).
expect_untouched() {
	local pid=$1 want=$2 tid=${3:-} tracer=${4:-} t tp st
	for t in $(tids_of "$pid"); do
		tp=$(tracer_of "$pid" "$t")
		if [ "$t" = "$tid" ]; then
			expect_eq "$tp" "$tracer" "TracerPid of $pid/$t (the other tracer's)"
			continue
		fi
		expect_eq "$tp" 0 "TracerPid of $pid/$t"
		st=$(tstate "$pid" "$t")
		[ "$st" = "$want" ] || fail "thread $pid/$t is $st, want $want"
	done
}

# start_threads N MS: the threads helper (N threads, each one nanosleep of
# MS ms, the leader in pthread_join); $TGT, all N+1 tasks present.
start_threads() {
	t_bg "$H/threads" "$1" "$2" out.txt
	TGT=$BGPID
	wait_for 'grep -q ^pid out.txt' 5 || fail "threads did not start"
	wait_for "[ \$(tids_of $TGT | wc -l) -eq $(($1 + 1)) ]" 5 || fail "threads: $(tids_of "$TGT" | wc -l) tasks"
	wait_for "[ \"\$(awk '\$1 == \"State:\" { print \$2 }' /proc/$TGT/task/*/status | sort -u)\" = S ]" 5 ||
		fail "threads are not all asleep"
}

# strace_tid PID TID: `strace -p TID` (that thread alone) until TracerPid
# says so; its pid in $STRACE.
strace_tid() {
	t_bg strace -o /dev/null -p "$2"
	STRACE=$BGPID
	wait_for "[ \"\$(tracer_of $1 $2)\" = $STRACE ]" 10 || fail "strace did not attach to $1/$2"
}

# strace on one thread (not the leader) of a 9-thread process: refused with
# one line naming the thread and strace, exit 1, no thread touched; once
# strace is gone every sleep still ends on time with 0.
test_strace_one_thread() {
	command -v strace >/dev/null || skip "strace is missing"
	start_threads 8 8000
	local tid
	tid=$(tids_of "$TGT" | sed -n 4p)
	strace_tid "$TGT" "$tid"
	SW_TIMEOUT=20 sw attach -p "$TGT" -o rec.json 2>err.txt
	show err.txt
	expect_rc 1 "stallwatch's status"
	expect_eq "$(cat err.txt)" \
		"stallwatch: attach $TGT (threads): thread $tid is already traced by pid $STRACE (strace); not attached"
	expect_untouched "$TGT" S "$tid" "$STRACE"
	# --dry-run says the same, and a selector leaves it out as already traced
	sw attach -p "$TGT" --dry-run >out2.txt 2>err.txt
	show out2.txt err.txt
	expect_rc 0 "status of --dry-run"
	expect_eq "$(cat err.txt)" \
		"stallwatch: attach $TGT (threads): thread $tid is already traced by pid $STRACE (strace); not attached"
	expect_eq "$(wc -l <out2.txt)" 1 "--dry-run rows (the header alone)"
	sw attach --exe "$H/threads" --dry-run >out2.txt 2>err.txt
	show out2.txt err.txt
	# (a process of the host that is not dumpable may add "; 1 process could not be checked")
	grep -qF "stallwatch: attach: nothing to attach: left out 1 matching process: 1 already traced (by pid $STRACE)" err.txt ||
		fail "the left-out line: $(cat err.txt)"
	kill -TERM "$STRACE"
	t_wait "$STRACE" 10
	expect_untouched "$TGT" S
	t_wait "$TGT" 30
	show out.txt
	expect_rc 0 "the target's status"
	expect_eq "$(grep -c '^thread .* ret 0$' out.txt)" 8 "sleeps that returned 0"
}

# strace on the leader alone: the line of a whole traced process, and the
# other threads are not taken either.
test_strace_leader() {
	command -v strace >/dev/null || skip "strace is missing"
	start_threads 4 8000
	strace_tid "$TGT" "$TGT"
	SW_TIMEOUT=20 sw attach -p "$TGT" -o rec.json 2>err.txt
	show err.txt
	expect_rc 1 "stallwatch's status"
	expect_eq "$(cat err.txt)" "stallwatch: attach $TGT (threads): already traced by pid $STRACE (strace)"
	expect_untouched "$TGT" S "$TGT" "$STRACE"
	kill -TERM "$STRACE"
	t_wait "$STRACE" 10
}

# Refused among others: the refused process gets its line, the other is
# attached whole, and the exit status is 0 after the detach.
test_refused_among_others() {
	command -v strace >/dev/null || skip "strace is missing"
	start_threads 3 20000
	local tid other
	tid=$(tids_of "$TGT" | sed -n 2p)
	strace_tid "$TGT" "$tid"
	t_bg "$H/sleeper" 20000 s.txt
	other=$BGPID
	wait_for 'grep -q ^pid s.txt' 5 || fail "sleeper did not start"
	t_bg "$STALLWATCH" attach -p "$TGT" -p "$other" -o rec.json 2>err.txt
	SWPID=$BGPID
	wait_for "grep -q '^stallwatch: attached $other ' err.txt || ! proc_alive $SWPID" 10
	show err.txt
	grep -qx "stallwatch: attached $other (sleeper) with 1 threads" err.txt || fail "no ready line for $other"
	grep -qx "stallwatch: attach $TGT (threads): thread $tid is already traced by pid $STRACE (strace); not attached" err.txt ||
		fail "no refusal line for $TGT"
	expect_eq "$(wc -l <err.txt)" 2 "stderr lines"
	expect_untouched "$TGT" S "$tid" "$STRACE"
	expect_eq "$(tracer_of "$other" "$other")" "$SWPID" "TracerPid of $other"
	kill -TERM "$SWPID"
	t_wait "$SWPID" 10
	expect_rc 0 "stallwatch's status after SIGTERM"
	kill -TERM "$STRACE"
	t_wait "$STRACE" 10
	expect_untouched "$TGT" S
}

# race_round STATE: two `attach -p $TGT` started together. Exactly one is
# attached, to every thread; the other exits 1 with one line naming the
# winner; after the winner's SIGTERM every thread is untraced and in STATE.
race_round() {
	local want=$1 n a b w l rw
	n=$(tids_of "$TGT" | wc -l)
	rm -f ea.txt eb.txt go
	# both wait on one FIFO, so they start together (opening it for writing frees both)
	mkfifo go
	t_bg sh -c 'read -r x <go; exec "$0" attach -p "$1" -o ra.json' "$STALLWATCH" "$TGT" 2>ea.txt
	a=$BGPID
	t_bg sh -c 'read -r x <go; exec "$0" attach -p "$1" -o rb.json' "$STALLWATCH" "$TGT" 2>eb.txt
	b=$BGPID
	sleep 0.2
	: >go
	wait_for "(grep -q '^stallwatch: attached' ea.txt || ! proc_alive $a) &&
		(grep -q '^stallwatch: attached' eb.txt || ! proc_alive $b)" 20 ||
		fail "neither ready nor gone within 20 s"
	show ea.txt eb.txt
	if grep -q '^stallwatch: attached' ea.txt; then
		w=$a l=$b rw=ea.txt
	else
		w=$b l=$a rw=eb.txt
	fi
	grep -q '^stallwatch: attached' "$([ "$rw" = ea.txt ] && echo eb.txt || echo ea.txt)" &&
		fail "both are attached: $(cat ea.txt eb.txt | tr '\n' ' ')"
	grep -qx "stallwatch: attached $TGT (threads) with $n threads" "$rw" ||
		fail "the winner's ready line: $(cat "$rw")"
	t_wait "$l" 10
	expect_rc 1 "the loser's status"
	local le
	le=$([ "$rw" = ea.txt ] && echo eb.txt || echo ea.txt)
	expect_eq "$(wc -l <"$le")" 1 "the loser's stderr lines"
	grep -qE "^stallwatch: attach $TGT \(threads\): (already traced by pid $w \(stallwatch\)|thread [0-9]+ is already traced by pid $w \(stallwatch\); not attached)\$" "$le" ||
		fail "the loser's line: $(cat "$le")"
	local t
	for t in $(tids_of "$TGT"); do
		expect_eq "$(tracer_of "$TGT" "$t")" "$w" "TracerPid of $TGT/$t while the winner is attached"
	done
	kill -TERM "$w"
	t_wait "$w" 10
	expect_rc 0 "the winner's status after SIGTERM"
	wait_for "[ -z \"\$(awk '\$1 == \"TracerPid:\" && \$2 != 0' /proc/$TGT/task/*/status)\" ]" 3
	expect_untouched "$TGT" "$want"
}

# Two attaches to one 65-thread process at the same moment, 6 times: one
# wins every time, whole; the other says so and touches nothing.
test_concurrent_attaches() {
	start_threads 64 60000
	local i
	for ((i = 1; i <= 6; i++)); do
		race_round S
	done
	# and a stopped process stays stopped through both
	kill -STOP "$TGT"
	wait_for "[ \"\$(awk '\$1 == \"State:\" { print \$2 }' /proc/$TGT/task/*/status | sort -u)\" = T ]" 5 ||
		fail "the target did not stop"
	race_round T
	kill -CONT "$TGT"
	kill -KILL "$TGT"
}

# t_run_ptrace (lib.sh): pinned to --backend=ptrace where the expectation is
# ptrace's: a process another tracer holds is refused whole: ptrace's rule (bpf
# watches it).
t_run_ptrace strace_one_thread test_strace_one_thread
t_run_ptrace strace_leader test_strace_leader
t_run_ptrace refused_among_others test_refused_among_others
t_run_ptrace concurrent_attaches test_concurrent_attaches
t_done
