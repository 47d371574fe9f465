#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# attach.sh - `stallwatch attach`: attach and detach are transparent to the
# target (scenarios 1-11, 14, 17, 19, 21, 31, 32 of
# doc/ptrace-hard-cases), records of calls in flight at attach are partial,
# every thread is attached and followed, and errors are one clear line.
# attach_stress.sh has the long loops (scenarios 12, 20, 22).
#
# Conventions: stallwatch's records go to rec.json (its stdout), its stderr
# to err.txt; a test waits for the ready line "stallwatch: attached PID
# (COMM) with N threads" before it does anything to the target.
. "$(dirname "$0")/lib.sh"

H=$HELPERS

# ---- attach helpers -------------------------------------------------------------

# sw_attach ARG...: start `stallwatch attach ARG...` in the background,
# stdout to ${SW_OUT:-rec.json}, stderr to ${SW_ERR:-err.txt}; pid in $SWPID.
sw_attach() {
	t_bg "$STALLWATCH" attach "$@" >"${SW_OUT:-rec.json}" 2>"${SW_ERR:-err.txt}"
	SWPID=$BGPID
}

ready_re() { echo "^stallwatch: attached $1 \(.*\) with [0-9]+ threads\$"; }

# wait_ready PID [ERRFILE] [TIMEOUT_S]: fail unless the ready line for PID
# shows up.
wait_ready() {
	local f=${2:-err.txt} re
	re=$(ready_re "$1")
	wait_for "grep -qE '$re' '$f' || ! proc_alive $SWPID" "${3:-10}"
	grep -qE "$re" "$f" && return 0
	show "$f"
	proc_alive "$SWPID" || fail "stallwatch exited without a ready line for $1"
	fail "no ready line for $1 within ${3:-10} s"
}

# ready_threads PID [ERRFILE]: N of the ready line.
ready_threads() {
	sed -nE "s/^stallwatch: attached $1 \(.*\) with ([0-9]+) threads\$/\1/p" "${2:-err.txt}" | head -n 1
}

# stop_sw [PID [SIG]]: SIGTERM (or SIG) stallwatch and wait (10 s); $RC,
# $STOP_MS.
stop_sw() {
	local pid=${1:-$SWPID} start
	start=$(now_ms)
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	t_wait "$pid" 10
	STOP_MS=$(($(now_ms) - start))
}

# Field of /proc/PID/status (empty if gone).
pstat() { awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/status" 2>/dev/null; }

# Voluntary context switches of every thread of PID, summed.
progress() {
	local t n=0 v
	for t in /proc/"$1"/task/*; do
		v=$(awk '$1 == "voluntary_ctxt_switches:" { print $2 }' "$t/status" 2>/dev/null)
		n=$((n + ${v:-0}))
	done
	echo "$n"
}

# State letters of every thread of PID, sorted and unique ("t", "S R", ...).
task_states() {
	local t s
	for t in /proc/"$1"/task/*; do
		s=$(cat "$t/stat" 2>/dev/null) || continue
		s=${s##*) }
		echo "${s%% *}"
	done | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# expect_no_progress PID WHAT: no context switch in 500 ms.
expect_no_progress() {
	local a b
	a=$(progress "$1")
	sleep 0.5
	b=$(progress "$1")
	[ "$a" = "$b" ] || fail "$2: $((b - a)) context switches in 500 ms (states: $(task_states "$1"))"
}

# expect_progress PID WHAT: some context switches within 1 s.
expect_progress() {
	local ep_pid=$1 a
	a=$(progress "$ep_pid")
	wait_for '[ "$(progress "$ep_pid")" -gt "$a" ]' 1 || fail "$2: no progress in 1 s (state $(proc_state "$ep_pid"))"
}

# wait_ms 'SHELL CONDITION' MS: like wait_for, in milliseconds (10 ms polls).
wait_ms() {
	local start
	start=$(now_ms)
	until eval "$1"; do
		[ $(($(now_ms) - start)) -ge "$2" ] && return 1
		sleep 0.01
	done
	return 0
}

# expect_traced PID [TID...]: TracerPid of every thread of PID (or of the
# TIDs given) is $SWPID.
expect_traced() {
	local pid=$1 t
	shift
	# shellcheck disable=SC2046 # tids: split on purpose
	[ $# -gt 0 ] || set -- $(ls /proc/"$pid"/task 2>/dev/null)
	for t in "$@"; do
		expect_eq "$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$pid/task/$t/status" 2>/dev/null)" \
			"$SWPID" "TracerPid of $pid/$t while attached"
	done
}

# Children of PID (from /proc/PID/task/*/children).
children_of() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep .; }

# ---- transparency.md 1-3: detach from sleeping, running, stopped ------------------------

# Scenario 1: SIGTERM to stallwatch detaches from a sleeping target: exit 0
# within 1.5 s; the target is S, untraced, and wakes at its own deadline.
test_detach_sleeping() {
	t_bg "$H/sleeper" 4000 out.txt
	local tgt=$BGPID
	wait_for 'grep -q ^pid out.txt' 5 || fail "sleeper did not start"
	sleep 0.3
	sw_attach -p "$tgt"
	wait_ready "$tgt"
	expect_eq "$(pstat "$tgt" TracerPid)" "$SWPID" "TracerPid while attached"
	sleep 0.5
	stop_sw
	show err.txt rec.json out.txt
	expect_rc 0 "stallwatch's status after SIGTERM"
	[ "$STOP_MS" -le 1500 ] || fail "stallwatch took $STOP_MS ms to detach and exit"
	expect_eq "$(proc_state "$tgt")" S "target state after detach"
	expect_eq "$(pstat "$tgt" TracerPid)" 0 "TracerPid after detach"
	t_wait "$tgt" 10
	show out.txt
	expect_rc 0 "sleeper's status"
	expect_eq "$(hval out.txt nanosleep 4)" 0 "nanosleep's return value"
	expect_tol "$(hval out.txt nanosleep)" 4000000000 "the sleep's own length"
}

# Scenario 2: detach (SIGINT this time) from a CPU-bound shell loop: it
# keeps running (R).
test_detach_running() {
	t_bg sh -c 'while :; do :; done'
	local tgt=$BGPID
	sleep 0.2
	sw_attach -p "$tgt"
	wait_ready "$tgt"
	expect_traced "$tgt"
	sleep 0.3
	stop_sw "$SWPID" INT
	show err.txt
	expect_rc 0 "stallwatch's status after SIGINT"
	[ "$STOP_MS" -le 1500 ] || fail "stallwatch took $STOP_MS ms to detach and exit"
	expect_eq "$(pstat "$tgt" TracerPid)" 0 "TracerPid after detach"
	wait_for '[ "$(proc_state "$tgt")" = R ]' 1 || fail "target state $(proc_state "$tgt") after detach, want R"
	sleep 0.3
	expect_eq "$(proc_state "$tgt")" R "target state 300 ms after detach"
	kill -KILL "$tgt"
}

# Scenario 3: attach to a stopped 4-thread process: every thread stays
# stopped (t) while attached, T after detach; SIGCONT resumes it and its
# handler runs once.
test_detach_stopped() {
	t_bg "$H/mtcount" flag 20000 3 out.txt
	local tgt=$BGPID
	wait_for 'grep -q ^ready out.txt' 5 || fail "mtcount did not start"
	kill -STOP "$tgt"
	wait_for '[ "$(task_states "$tgt")" = T ]' 3 || fail "thread states $(task_states "$tgt") after SIGSTOP"
	sw_attach -p "$tgt"
	wait_ready "$tgt"
	expect_eq "$(ready_threads "$tgt")" 4 "threads in the ready line"
	wait_for '[ "$(task_states "$tgt")" = t ]' 2 || fail "thread states $(task_states "$tgt") while attached, want all t"
	expect_no_progress "$tgt" "stopped target while attached"
	expect_eq "$(task_states "$tgt")" t "thread states while attached, 500 ms later"
	stop_sw
	show err.txt
	expect_rc 0 "stallwatch's status after SIGTERM"
	[ "$STOP_MS" -le 1500 ] || fail "stallwatch took $STOP_MS ms to detach and exit"
	expect_eq "$(task_states "$tgt")" T "thread states after detach"
	expect_no_progress "$tgt" "stopped target after detach"
	expect_eq "$(task_states "$tgt")" T "thread states 500 ms after detach"
	kill -CONT "$tgt"
	expect_progress "$tgt" "after SIGCONT"
	touch flag
	t_wait "$tgt" 10
	show out.txt
	expect_rc 0 "mtcount's status"
	grep -q '^CONT 1 USR1 0 .* timeout 0$' out.txt || fail "want exactly one SIGCONT: $(grep ^CONT out.txt)"
}

# ---- transparency.md 4: group-stop while attached ---------------------------------------

# A 4-thread target whose real parent reports waitpid(WUNTRACED|WCONTINUED):
# SIGSTOP (or SIGTSTP) stops every thread (t) with no progress, the parent
# sees exactly one STOPPED (19 or 20) and one CONTINUED, and the SIGCONT
# handler runs once.
group_stop() {
	local sig=$1 num=$2
	t_bg "$H/jobwatch" out.txt "$H/mtcount" flag 20000 3 out.txt
	local job=$BGPID tgt
	wait_for 'grep -q ^ready out.txt' 5 || fail "mtcount did not start"
	tgt=$(hval out.txt ready)
	t_track "$tgt"
	sw_attach -p "$tgt"
	wait_ready "$tgt"
	expect_eq "$(ready_threads "$tgt")" 4 "threads in the ready line"
	kill -"$sig" "$tgt"
	wait_for '[ "$(task_states "$tgt")" = t ]' 3 || fail "thread states after SIG$sig: $(task_states "$tgt"), want all t"
	wait_for 'grep -q "^stopped" out.txt' 3 || fail "the real parent did not see the stop"
	expect_no_progress "$tgt" "group-stopped target"
	expect_eq "$(task_states "$tgt")" t "thread states 500 ms into the stop"
	kill -CONT "$tgt"
	wait_for 'grep -q "^continued" out.txt' 3 || fail "the real parent did not see the continue"
	expect_progress "$tgt" "after SIGCONT"
	sleep 0.2
	touch flag
	t_wait "$job" 10
	show out.txt err.txt
	expect_rc 0 "status the real parent saw"
	expect_eq "$(grep -c '^stopped' out.txt)" 1 "STOPPED reports"
	grep -q "^stopped $num\$" out.txt || fail "the stop was not by SIG$sig"
	expect_eq "$(grep -c '^continued$' out.txt)" 1 "CONTINUED reports"
	grep -q '^CONT 1 USR1 0 .* timeout 0$' out.txt || fail "want one SIGCONT: $(grep ^CONT out.txt)"
	t_wait "$SWPID" 5
	expect_rc 0 "stallwatch's status once its target exited"
}

test_group_stop() { group_stop STOP 19; }
test_group_stop_tstp() { group_stop TSTP 20; }

# Detach while the target is group-stopped: it stays stopped (T) and
# resumes on SIGCONT with one handler run.
test_detach_group_stopped() {
	t_bg "$H/sigcount" flag 20000 out.txt
	local tgt=$BGPID
	wait_for 'grep -q ^ready out.txt' 5 || fail "sigcount did not start"
	sw_attach -p "$tgt"
	wait_ready "$tgt"
	kill -STOP "$tgt"
	wait_for '[ "$(proc_state "$tgt")" = t ]' 3 || fail "state $(proc_state "$tgt") after SIGSTOP, want t"
	sleep 0.2
	stop_sw
	show err.txt
	expect_rc 0 "stallwatch's status after SIGTERM"
	[ "$STOP_MS" -le 1500 ] || fail "stallwatch took $STOP_MS ms to detach and exit"
	expect_eq "$(proc_state "$tgt")" T "state after detach"
	expect_no_progress "$tgt" "stopped target after detach"
	kill -CONT "$tgt"
	expect_progress "$tgt" "after SIGCONT"
	touch flag
	t_wait "$tgt" 10
	show out.txt
	expect_rc 0 "sigcount's status"
	grep -q '^INT 0 TERM 0 HUP 0 CONT 1 TSTP 0 timeout 0$' out.txt ||
		fail "want exactly one SIGCONT: $(tail -n 1 out.txt)"
}

# A signal that reaches the target while stallwatch is frozen (SIGSTOP),
# then SIGTERM and SIGCONT to stallwatch: whatever stop the target is in at
# the detach, the SIGUSR1 is delivered exactly once.
test_detach_pending_signal() {
	t_bg "$H/sigtally" flag 20000 out.txt USR1
	local tgt=$BGPID
	wait_for 'grep -q ^ready out.txt' 5 || fail "sigtally did not start"
	sw_attach -p "$tgt"
	wait_ready "$tgt"
	expect_traced "$tgt"
	kill -STOP "$SWPID"
	sleep 0.2
	kill -USR1 "$tgt"
	sleep 0.2
	kill -TERM "$SWPID"
	kill -CONT "$SWPID"
	t_wait "$SWPID" 10
	show err.txt
	expect_rc 0 "stallwatch's status after SIGTERM"
	expect_eq "$(pstat "$tgt" TracerPid)" 0 "TracerPid after detach"
	wait_for 'grep -q "^got USR1" out.txt' 2 || fail "SIGUSR1 lost at detach (state $(proc_state "$tgt"))"
	sleep 0.2
	touch flag
	t_wait "$tgt" 10
	show out.txt
	expect_rc 0 "sigtally's status"
	expect_eq "$(awk '$1 == "count" && $2 == "USR1" { print $3 }' out.txt)" 1 "SIGUSR1 deliveries"
}

# ---- transparency.md 5, 6: SIGKILL of stallwatch -----------------------------

# (a) targets blocked in a pipe read and in nanosleep: their calls complete
# normally (no EINTR), TracerPid 0 within 500 ms.
test_sigkill_blocked() {
	t_bg "$H/probe" read 2500 read.txt
	local rd=$BGPID
	t_bg "$H/probe" nanosleep 2500 ns.txt
	local ns=$BGPID
	wait_for 'grep -q ^pid read.txt && grep -q ^pid ns.txt' 5 || fail "probes did not start"
	sleep 0.2
	sw_attach -p "$rd" -p "$ns"
	wait_ready "$rd"
	wait_ready "$ns"
	expect_traced "$rd"
	expect_traced "$ns"
	sleep 0.3
	kill -KILL "$SWPID"
	t_wait "$SWPID" 5
	wait_ms '[ "$(pstat "$rd" TracerPid)" = 0 ] && [ "$(pstat "$ns" TracerPid)" = 0 ]' 500 ||
		fail "still traced 500 ms after stallwatch died"
	expect_eq "$(proc_state "$rd")" S "pipe reader's state"
	expect_eq "$(proc_state "$ns")" S "sleeper's state"
	t_wait "$rd" 10
	local rrc=$RC
	t_wait "$ns" 10
	show read.txt ns.txt err.txt
	expect_eq "$rrc" 0 "read probe's status (1: EINTR or wrong result)"
	expect_rc 0 "nanosleep probe's status (1: EINTR or wrong result)"
	expect_tol "$(awk '$1 == "done" { print $8 }' read.txt)" 2500000000 "the read's own length"
	expect_tol "$(awk '$1 == "done" { print $8 }' ns.txt)" 2500000000 "the nanosleep's own length"
}

# (b)+(c) stallwatch is frozen (SIGSTOP) so the target parks in a syscall
# stop, a SIGUSR1 arrives, stallwatch is SIGKILLed: the handler runs exactly
# once and the program carries on.
test_sigkill_parked_signal() {
	t_bg "$H/sigtally" flag 20000 out.txt USR1
	local tgt=$BGPID st
	wait_for 'grep -q ^ready out.txt' 5 || fail "sigtally did not start"
	sw_attach -p "$tgt"
	wait_ready "$tgt"
	expect_traced "$tgt"
	kill -STOP "$SWPID"
	sleep 0.2
	st=$(proc_state "$tgt")
	echo "target state with stallwatch frozen: $st (t: parked in a stop)"
	kill -USR1 "$tgt"
	sleep 0.1
	kill -KILL "$SWPID"
	t_wait "$SWPID" 5
	wait_ms '[ "$(pstat "$tgt" TracerPid)" = 0 ]' 500 || fail "still traced 500 ms after stallwatch died"
	wait_for 'grep -q "^got USR1" out.txt' 2 || fail "SIGUSR1 not handled after stallwatch died (state $(proc_state "$tgt"))"
	case $(proc_state "$tgt") in S | R) ;; *) fail "target state $(proc_state "$tgt"), want S or R" ;; esac
	expect_progress "$tgt" "after stallwatch died"
	sleep 0.2
	touch flag
	t_wait "$tgt" 10
	show out.txt err.txt
	expect_rc 0 "sigtally's status"
	expect_eq "$(awk '$1 == "count" && $2 == "USR1" { print $3 }' out.txt)" 1 "SIGUSR1 deliveries"
}

# (d) a group-stopped target stays stopped (T) when stallwatch dies, and
# resumes only on SIGCONT.
test_sigkill_group_stopped() {
	t_bg "$H/sigcount" flag 20000 out.txt
	local tgt=$BGPID
	wait_for 'grep -q ^ready out.txt' 5 || fail "sigcount did not start"
	sw_attach -p "$tgt"
	wait_ready "$tgt"
	kill -STOP "$tgt"
	wait_for '[ "$(proc_state "$tgt")" = t ]' 3 || fail "state $(proc_state "$tgt") after SIGSTOP, want t"
	sleep 0.2
	kill -KILL "$SWPID"
	t_wait "$SWPID" 5
	wait_ms '[ "$(pstat "$tgt" TracerPid)" = 0 ]' 500 || fail "still traced 500 ms after stallwatch died"
	wait_ms '[ "$(proc_state "$tgt")" = T ]' 500 || fail "state $(proc_state "$tgt") after stallwatch died, want T"
	expect_no_progress "$tgt" "stopped target after stallwatch died"
	expect_eq "$(proc_state "$tgt")" T "state 500 ms later"
	kill -CONT "$tgt"
	expect_progress "$tgt" "after SIGCONT"
	touch flag
	t_wait "$tgt" 10
	show out.txt err.txt
	expect_rc 0 "sigcount's status"
	grep -q '^INT 0 TERM 0 HUP 0 CONT 1 TSTP 0 timeout 0$' out.txt ||
		fail "want exactly one SIGCONT: $(tail -n 1 out.txt)"
}

# Scenario 6: SIGKILL of stallwatch right after the ready line: the target
# goes on running (never T), and gets no signal at all.
test_sigkill_after_ready() {
	t_bg "$H/sigcount" flag 20000 out.txt
	local tgt=$BGPID i st
	wait_for 'grep -q ^ready out.txt' 5 || fail "sigcount did not start"
	sw_attach -p "$tgt"
	wait_ready "$tgt"
	expect_traced "$tgt"
	kill -KILL "$SWPID"
	t_wait "$SWPID" 5
	wait_ms '[ "$(pstat "$tgt" TracerPid)" = 0 ]' 500 || fail "still traced 500 ms after stallwatch died"
	for i in 1 2 3 4 5 6 7 8 9 10; do
		st=$(proc_state "$tgt")
		case $st in S | R) ;; *) fail "target state $st ${i}0 ms after stallwatch died, want S or R" ;; esac
		sleep 0.05
	done
	expect_progress "$tgt" "after stallwatch died"
	touch flag
	t_wait "$tgt" 10
	show out.txt err.txt
	expect_rc 0 "sigcount's status"
	grep -q '^INT 0 TERM 0 HUP 0 CONT 0 TSTP 0 timeout 0$' out.txt ||
		fail "the target got a signal: $(tail -n 1 out.txt)"
}

# ---- transparency.md 7: EINTR table ------------------------------------------------

# One probe per blocking call, 3 s each; attach at 0.5 s, detach at 1.5 s.
# Restartable calls (nanosleep, poll, pipe read, futex wait) must end at
# ~3 s with their normal result and no EINTR. epoll_wait and
# rt_sigtimedwait cannot be restarted by the kernel: the probe retries them,
# and at most one EINTR per attach and one per detach is allowed
# (documented kernel limitation, strace has the same).
test_eintr_table() {
	local k start prc
	local -A P S
	start=$(now_ms)
	for k in nanosleep poll read futex epoll sigtimedwait; do
		t_bg "$H/probe" "$k" 3000 "$k.txt"
		P[$k]=$BGPID
	done
	for k in "${!P[@]}"; do
		wait_for "grep -q ^pid $k.txt" 5 || fail "probe $k did not start"
	done
	sleep "$(awk -v ms=$((500 - ($(now_ms) - start))) 'BEGIN { print (ms > 0 ? ms / 1000 : 0) }')"
	for k in "${!P[@]}"; do
		SW_ERR=err.$k SW_OUT=rec.$k sw_attach -p "${P[$k]}"
		S[$k]=$SWPID
	done
	for k in "${!P[@]}"; do
		SWPID=${S[$k]}
		wait_ready "${P[$k]}" "err.$k"
		expect_traced "${P[$k]}"
	done
	[ $(($(now_ms) - start)) -lt 1400 ] || echo "note: attached late, at $(($(now_ms) - start)) ms"
	sleep "$(awk -v ms=$((1500 - ($(now_ms) - start))) 'BEGIN { print (ms > 0 ? ms / 1000 : 0) }')"
	for k in "${!S[@]}"; do kill -TERM "${S[$k]}"; done
	for k in "${!S[@]}"; do
		t_wait "${S[$k]}" 10
		[ "$RC" = 0 ] || {
			show "err.$k"
			fail "stallwatch attached to the $k probe: status $RC after SIGTERM"
		}
	done
	for k in "${!P[@]}"; do
		t_wait "${P[$k]}" 10
		prc=$RC
		show "$k.txt"
		case $k in
		epoll | sigtimedwait)
			local e
			e=$(awk '$1 == "done" { print $10 }' "$k.txt")
			echo "note: $k got $e EINTR(s) across one attach and one detach (at most 2 allowed)"
			[ -n "$e" ] && [ "$e" -le 2 ] || fail "$k: $e EINTRs, want at most one per attach and one per detach"
			case $k in
			epoll) expect_eq "$(awk '$1 == "done" { print $4 }' "$k.txt")" 0 "$k's final result" ;;
			*) expect_eq "$(awk '$1 == "done" { print $6 }' "$k.txt")" EAGAIN "$k's final errno" ;;
			esac
			;;
		*)
			expect_eq "$prc" 0 "$k probe's status (1: EINTR or wrong result: $(grep ^done "$k.txt"))"
			expect_eq "$(awk '$1 == "done" { print $10 }' "$k.txt")" 0 "$k: EINTRs"
			;;
		esac
		expect_tol "$(awk '$1 == "done" { print $8 }' "$k.txt")" 3000000000 "$k's own length"
	done
}

# ---- transparency.md 8, 9: calls in flight at attach and at detach ---------------

# Scenario 8: attach 1 s into a 2 s sleep: the sleep's record is partial
# (restart_syscall or the call's name) with a duration that is a lower
# bound, records go to stdout, and the sleep still ends at 2 s.
test_attach_mid_sleep() {
	local start tgt sel d total
	start=$(now_ms)
	t_bg "$H/sleeper" 2000 out.txt
	tgt=$BGPID
	wait_for 'grep -q ^pid out.txt' 5 || fail "sleeper did not start"
	sleep "$(awk -v ms=$((1000 - ($(now_ms) - start))) 'BEGIN { print (ms > 0 ? ms / 1000 : 0) }')"
	sw_attach -m 100ms -p "$tgt"
	wait_ready "$tgt"
	t_wait "$tgt" 5
	show out.txt
	expect_rc 0 "sleeper's status"
	total=$(hval out.txt nanosleep)
	expect_tol "$total" 2000000000 "the sleep's own length"
	t_wait "$SWPID" 5
	show rec.json err.txt
	expect_rc 0 "stallwatch's status once its target exited"
	sel='slow and .stallwatch.partial == true and (name == "restart_syscall" or name == "nanosleep" or name == "clock_nanosleep")'
	expect_eq "$(jq_count rec.json "$sel")" 1 "partial sleep records on stdout"
	expect_eq "$(jq_get rec.json "$sel" .process.pid)" "$tgt" "process.pid"
	d=$(jq_get rec.json "$sel" .event.duration)
	[ "$d" -ge 300000000 ] && [ "$d" -le "$total" ] ||
		fail "partial duration $d ns: want at least 300 ms, at most the whole sleep ($total ns)"
	expect_eq "$(jq_count rec.json '.stallwatch.partial == true and (slow or stuck | not)')" 0 "other partial records"
	expect_eq "$(jq_get rec.json '.stallwatch.partial == true' .event.start | sort -u | wc -l)" 1 \
		"calls with partial records (stuck and slow records of the one sleep)"
}

# Scenario 9: a pipe read and a nanosleep in flight at detach. Each is
# reported stuck while in flight (-m 100ms); after SIGTERM no record
# carries an internal restart code (-512 ERESTARTSYS, -513, -514, -516
# ERESTART_RESTARTBLOCK), and both calls end at 3 s with their normal result.
test_inflight_at_detach() {
	t_bg "$H/pipe_late" 3000 rd.txt
	local rd=$BGPID
	t_bg "$H/sleeper" 3000 ns.txt
	local ns=$BGPID
	wait_for 'grep -q ^pid rd.txt && grep -q ^pid ns.txt' 5 || fail "targets did not start"
	sleep 0.3
	sw_attach -m 100ms -p "$rd" -p "$ns"
	wait_ready "$rd"
	wait_ready "$ns"
	wait_for "[ \$(jq_count rec.json 'stuck and name == \"read\" and .process.pid == $rd') = 1 ]" 2 ||
		fail "no stuck-syscall record for the pipe read while it was in flight"
	wait_for "[ \$(jq_count rec.json 'stuck and .process.pid == $ns') = 1 ]" 2 ||
		fail "no stuck-syscall record for the sleep while it was in flight"
	expect_eq "$(jq_get rec.json "stuck and .process.pid == $rd" .stallwatch.partial)" true \
		"partial flag of the read that was in flight at attach"
	stop_sw
	show rec.json err.txt
	expect_rc 0 "stallwatch's status after SIGTERM"
	[ "$STOP_MS" -le 1500 ] || fail "stallwatch took $STOP_MS ms to detach and exit"
	expect_eq "$(jq_count rec.json 'sc.ret == -512 or sc.ret == -513 or sc.ret == -514 or sc.ret == -516')" 0 \
		"records with a kernel-internal restart code"
	expect_eq "$(jq_count rec.json 'slow and .process.pid == '"$rd")" 0 "slow records of the interrupted read"
	t_wait "$rd" 10
	local rrc=$RC
	t_wait "$ns" 10
	show rd.txt ns.txt
	expect_eq "$rrc" 0 "pipe_late's status"
	expect_eq "$(hval rd.txt read 4)" 1 "read's return value"
	expect_tol "$(hval rd.txt read)" 3000000000 "the read's own length"
	expect_rc 0 "sleeper's status"
	expect_tol "$(hval ns.txt nanosleep)" 3000000000 "the sleep's own length"
}

# ---- transparency.md 10, 11: threads ---------------------------------------------

# Scenario 10: leader + 3 threads blocked in read; after the attach each
# thread chdir()s to a missing path and exits, then the leader: every chdir
# record has the thread's own tid and ENOENT; stallwatch exits 0 when the
# process exits.
test_thread_attribution() {
	t_bg "$H/pipethreads" go 20000 out.txt
	local tgt=$BGPID tid e
	wait_for 'grep -q ^ready out.txt' 5 || fail "pipethreads did not start"
	echo "previous content" >rec.json
	SW_OUT=stdout.txt sw_attach -e chdir -m 0 -o rec.json -p "$tgt"
	wait_ready "$tgt"
	expect_eq "$(ready_threads "$tgt")" 4 "threads in the ready line"
	touch go
	t_wait "$tgt" 10
	show out.txt
	expect_rc 0 "pipethreads' status"
	t_wait "$SWPID" 5
	show rec.json err.txt
	expect_rc 0 "stallwatch's status once its target exited"
	expect_eq "$(head -n 1 rec.json)" "previous content" "first line of the -o file (append)"
	[ ! -s stdout.txt ] || fail "records on stdout despite -o"
	expect_eq "$(grep -c '^chdir' out.txt)" 4 "chdir calls the program made"
	expect_eq "$(jq_count rec.json 'slow and name == "chdir"')" 4 "chdir records"
	while read -r _ tid _ e; do
		expect_eq "$e" ENOENT "errno thread $tid saw"
		expect_eq "$(jq_count rec.json "slow and name == \"chdir\" and .process.thread.id == $tid")" 1 \
			"chdir records with thread.id $tid"
		expect_eq "$(jq_get rec.json "slow and .process.thread.id == $tid" '.process.pid, sc.errno, sc.path' | tr '\n' ' ')" \
			"$tgt ENOENT /nonexistent-pipethreads-$tid " "pid, errno and path of thread $tid's chdir"
	done < <(grep '^chdir' out.txt)
}

# Scenario 10, churn: a new short-lived thread every millisecond; each
# thread created after the ready line makes one chdir that must be recorded.
test_thread_churn() {
	t_bg "$H/churn" mark 500 20000 out.txt
	local tgt=$BGPID n k missing
	wait_for 'grep -q ^pid out.txt' 5 || fail "churn did not start"
	sleep 0.2
	sw_attach -e chdir -m 0 -p "$tgt"
	wait_ready "$tgt"
	touch mark
	t_wait "$tgt" 30
	show out.txt
	expect_rc 0 "churn's status"
	t_wait "$SWPID" 5
	show err.txt
	expect_rc 0 "stallwatch's status once its target exited"
	n=$(awk '$1 == "created" { print $2 }' out.txt)
	k=$(awk '$1 == "created" { print $4 }' out.txt)
	expect_eq "$(awk '$1 == "created" { print $6 }' out.txt)" 0 "chdir calls that did not fail with ENOENT"
	[ "$((n - k))" -ge 500 ] || fail "only $((n - k)) threads after the mark"
	expect_eq "$(grep -c '^stallwatch: attached' err.txt)" 1 "ready lines"
	jq_get rec.json 'slow and name == "chdir"' sc.path | sed -n 's,^/nonexistent-churn-,,p' | sort -n -u >seen.txt
	seq $((k + 1)) "$n" | comm -23 - seen.txt >missing.txt
	missing=$(wc -l <missing.txt)
	[ "$missing" = 0 ] || fail "$missing of the $((n - k)) threads created after the ready line have no chdir record (first: $(head -n 3 missing.txt | tr '\n' ' '))"
	expect_eq "$(jq_get rec.json 'slow and name == "chdir"' '.process.pid' | sort -u)" "$tgt" "process.pid of the chdir records"
	expect_eq "$(jq_get rec.json 'slow and name == "chdir"' 'sc.errno' | sort -u)" ENOENT "errno of the chdir records"
}

# 64 threads: the ready line counts them all and every one is traced.
test_many_threads() {
	t_bg "$H/mtcount" flag 20000 64 out.txt
	local tgt=$BGPID
	wait_for 'grep -q ^ready out.txt' 5 || fail "mtcount did not start"
	sw_attach -p "$tgt"
	wait_ready "$tgt"
	expect_eq "$(ready_threads "$tgt")" 65 "threads in the ready line"
	expect_traced "$tgt"
	stop_sw
	expect_rc 0 "stallwatch's status after SIGTERM"
	touch flag
	t_wait "$tgt" 10
	show out.txt err.txt
	expect_rc 0 "mtcount's status"
	grep -q '^CONT 0 USR1 0 ' out.txt || fail "the target got a signal: $(grep ^CONT out.txt)"
}

# Scenario 15 under attach: a thread that is not the leader execs while the
# leader has exited / is in rt_sigsuspend / in nanosleep(123 s). The new
# image keeps the pid, the status is 42, stallwatch exits 0 with the process.
thread_exec() {
	t_bg "$H/gate" go 10000 "$H/thread_exec" "$1" out.txt
	local tgt=$BGPID
	sleep 0.1
	sw_attach -p "$tgt"
	wait_ready "$tgt"
	expect_traced "$tgt"
	touch go
	t_wait "$tgt" 10
	show out.txt
	expect_rc 42 "status of the exec'd image"
	expect_eq "$(hval out.txt exec)" "$tgt" "pid of the exec'd image"
	t_wait "$SWPID" 5
	show err.txt rec.json
	expect_rc 0 "stallwatch's status once its target exited"
	expect_eq "$(jq_count rec.json 'slow and dur > 5000000000')" 0 "slow records over 5 s"
}
test_thread_exec_exit() { thread_exec exit; }
test_thread_exec_sigsuspend() { thread_exec sigsuspend; }
test_thread_exec_sleep() { thread_exec sleep; }

# Scenario 11: main() called pthread_exit (leader is a zombie), a worker
# exits 9 later: the attach works on the live thread, and the real parent
# still sees status 9.
test_zombie_leader() {
	t_bg "$H/zleader" 2500 9 out.txt
	local tgt=$BGPID n
	wait_for 'grep -q ^worker out.txt' 5 || fail "zleader did not start"
	wait_for '[ "$(proc_state "$tgt")" = Z ]' 2 || fail "leader state $(proc_state "$tgt"), want Z"
	sw_attach -p "$tgt"
	wait_ready "$tgt"
	expect_traced "$tgt" "$(hval out.txt worker)"
	n=$(ready_threads "$tgt")
	[ "$n" = 1 ] || [ "$n" = 2 ] || fail "ready line says $n threads, want the live one (1, or 2 counting the zombie leader)"
	t_wait "$tgt" 10
	show out.txt
	expect_rc 9 "status the real parent saw"
	t_wait "$SWPID" 5
	show err.txt
	expect_rc 0 "stallwatch's status once its target exited"
}

# ---- transparency.md 14, 17, 19, 21: children -----------------------------------

# Processes named COMM running in this test's directory (so ours: they
# inherited its cwd) that are stopped (t or T).
stopped_here() {
	local f s d
	for f in /proc/[0-9]*/stat; do
		s=$(cat "$f" 2>/dev/null) || continue
		case $s in *"($1)"*) ;; *) continue ;; esac
		d=${f%/stat}
		[ "$(readlink "$d/cwd" 2>/dev/null)" = "$TD" ] || continue
		s=${s##*) }
		case ${s%% *} in t | T) echo "${d#/proc/}" ;; esac
	done
}

# Scenario 14: _exit(!!fork()) children and thread bursts under attach -f:
# every child exits 1, nothing is left stopped, and stallwatch exits 0 once
# the target and its orphan have exited.
test_fork_exit_race() {
	t_bg "$H/gate" go 20000 "$H/forkexit" 200 20 out.txt
	local tgt=$BGPID left p
	sleep 0.1
	sw_attach -f -p "$tgt"
	wait_ready "$tgt"
	touch go
	t_wait "$tgt" 60
	show out.txt
	expect_rc 1 "forkexit's status"
	grep -q '^loops 200 bad 0$' out.txt || fail "a _exit(!!fork()) child did not exit 1"
	t_wait "$SWPID" 10
	show err.txt
	expect_rc 0 "stallwatch's status once every target exited"
	grep -q '^orphan-done' out.txt || fail "stallwatch exited before the followed orphan did"
	left=$(stopped_here forkexit)
	for p in $left; do t_track "$p"; done
	[ -z "$left" ] || fail "forkexit processes left stopped: $left"
}

# Scenario 17: a CLONE_PTRACE child of an attached target (no -f) is
# detached: it dies of SIGUSR1, its parent sees WIFSIGNALED/CLD_KILLED.
test_clone_ptrace() {
	t_bg "$H/clone_ptrace" untraced.txt
	t_wait "$BGPID" 10
	[ "$RC" = 0 ] || skip "clone_ptrace fails untraced ($RC): $(cat untraced.txt)"
	t_bg "$H/gate" go 10000 "$H/clone_ptrace" out.txt
	local tgt=$BGPID c
	sleep 0.1
	sw_attach -p "$tgt"
	wait_ready "$tgt"
	expect_traced "$tgt"
	touch go
	wait_for 'grep -q ^child out.txt' 5 && t_track "$(hval out.txt child)"
	t_wait "$tgt" 10
	show out.txt err.txt
	[ "$RC" != timeout ] || fail "the target hung (its CLONE_PTRACE child stuck in $(proc_state "$(hval out.txt child)"))"
	expect_rc 0 "clone_ptrace's status"
	grep -q '^status signaled 10$' out.txt || fail "the child did not die of SIGUSR1"
	grep -q 'CLD_KILLED' out.txt || fail "SIGCHLD si_code is not CLD_KILLED"
	c=$(hval out.txt child)
	proc_alive "$c" && fail "the CLONE_PTRACE child $c is still there (state $(proc_state "$c"))"
	t_wait "$SWPID" 5
	expect_rc 0 "stallwatch's status once its target exited"
}

# Scenario 19: SIGTERM while a vfork child is traced (-f): stallwatch exits
# within 1.5 s; the child goes on and exits 5, which its parent sees; the
# SIGTERM is not forwarded to the target (that is run's behaviour only).
test_vfork_sigterm() {
	t_bg "$H/gate" go 10000 "$H/vforker" sleep 2000 5 out.txt
	local tgt=$BGPID c
	sleep 0.1
	sw_attach -f -p "$tgt"
	wait_ready "$tgt"
	touch go
	wait_for 'grep -q "^child" out.txt' 5 || fail "the vfork child did not start"
	c=$(hval out.txt child)
	t_track "$c"
	wait_for '[ "$(pstat "$c" TracerPid)" = "$SWPID" ]' 1 ||
		fail "the vfork child is not traced under -f (TracerPid $(pstat "$c" TracerPid))"
	expect_traced "$tgt"
	sleep 0.2
	stop_sw
	show err.txt
	[ "$RC" != timeout ] || fail "stallwatch deadlocked after SIGTERM (vfork child traced)"
	expect_rc 0 "stallwatch's status after SIGTERM"
	[ "$STOP_MS" -le 1500 ] || fail "stallwatch took $STOP_MS ms to detach and exit"
	t_wait "$tgt" 10
	show out.txt
	expect_rc 5 "vforker's status"
	grep -q "^reaped $c exited 5" out.txt || fail "the parent did not see its child exit 5"
	expect_eq "$(hval out.txt term)" 0 "SIGTERMs the target got"
}

# Attach to a parent waiting in vfork() (its child sleeps 3 s and exits 5),
# SIGTERM 1 s later: stallwatch exits within 1.5 s (0, or 1 if it never got
# the parent to stop), the parent is left untraced, sees the exit 5 and got
# no SIGTERM.
test_attach_vfork_parent() {
	t_bg "$H/vforker" sleep 3000 5 out.txt
	local tgt=$BGPID c
	wait_for 'grep -q "^child" out.txt' 5 || fail "the vfork child did not start"
	c=$(hval out.txt child)
	t_track "$c"
	sleep 0.2
	sw_attach -p "$tgt"
	wait_for '[ "$(pstat "$tgt" TracerPid)" = "$SWPID" ]' 1 || fail "the parent is not traced 1 s after the start"
	sleep 0.8
	grep -q '^stallwatch: attached' err.txt || echo "note: no ready line after 1 s (parent in vfork)"
	stop_sw
	show err.txt
	[ "$RC" != timeout ] || fail "stallwatch hung after SIGTERM (target in vfork)"
	[ "$STOP_MS" -le 1500 ] || fail "stallwatch took $STOP_MS ms to exit"
	case $RC in
	0) ;;
	1) grep -q '^stallwatch: attached' err.txt && fail "status 1 after a ready line" ;;
	*) fail "stallwatch's status $RC" ;;
	esac
	expect_eq "$(pstat "$tgt" TracerPid)" 0 "the parent's TracerPid after stallwatch exited"
	expect_eq "$(pstat "$c" TracerPid)" 0 "the child's TracerPid"
	t_wait "$tgt" 10
	show out.txt
	expect_rc 5 "vforker's status"
	grep -q "^reaped $c exited 5" out.txt || fail "the parent did not see its child exit 5"
	expect_eq "$(hval out.txt term)" 0 "SIGTERMs the target got"
}

# Scenario 21: the real parent SIGKILLs an attached, busy target: its
# waitpid returns within 500 ms, and stallwatch exits 0.
test_sigkill_by_parent() {
	t_bg "$H/killwait" flag 20000 out.txt
	local par=$BGPID c ns
	wait_for 'grep -q ^child out.txt' 5 || fail "killwait did not start"
	c=$(hval out.txt child)
	t_track "$c"
	sleep 0.2
	sw_attach -p "$c"
	wait_ready "$c"
	expect_traced "$c"
	sleep 0.3
	touch flag
	t_wait "$par" 10
	show out.txt
	expect_rc 0 "killwait's status"
	ns=$(awk '$1 == "reaped" { print $5 }' out.txt)
	[ -n "$ns" ] && [ "$ns" -le 500000000 ] || fail "the parent's waitpid took ${ns:-?} ns after SIGKILL (limit 500 ms)"
	t_wait "$SWPID" 5
	show err.txt
	expect_rc 0 "stallwatch's status once its target died"
}

# Without -f a child forked after the attach is not traced and has no
# records; with -f it is traced and its sleep is recorded.
follow_run() {
	rm -f go child.txt
	t_bg "$H/gate" go 10000 sh -c 'sleep 0.6 & echo $! >child.txt; wait'
	local tgt=$BGPID
	sleep 0.1
	sw_attach "$@" -m 100ms -p "$tgt"
	wait_ready "$tgt"
	touch go
	wait_for '[ -s child.txt ]' 5 || fail "the shell did not start its child"
	CHILD=$(cat child.txt)
	t_track "$CHILD"
	sleep 0.1
	CHILD_TRACER=$(pstat "$CHILD" TracerPid)
	t_wait "$tgt" 10
	expect_rc 0 "the shell's status"
	t_wait "$SWPID" 5
	show err.txt rec.json
	expect_rc 0 "stallwatch's status once its target exited"
}

test_follow_flag() {
	follow_run
	expect_eq "$CHILD_TRACER" 0 "TracerPid of a child without -f"
	expect_eq "$(jq_count rec.json ".process.pid == $CHILD")" 0 "records of a child without -f"
	mv rec.json rec-nof.json
	follow_run -f
	expect_eq "$CHILD_TRACER" "$SWPID" "TracerPid of a child with -f"
	[ "$(jq_count rec.json "slow and .process.pid == $CHILD and .process.name == \"sleep\"")" -ge 1 ] ||
		fail "no record of the child's sleep with -f"
}

# expect_selected A B C: a selector attached exactly A and B (both traced,
# one ready line each), and left C alone.
expect_selected() {
	local pids
	wait_ready "$1"
	wait_ready "$2"
	expect_traced "$1"
	expect_traced "$2"
	sleep 0.3
	pids=$(sed -nE 's/^stallwatch: attached ([0-9]+) .*/\1/p' err.txt | sort -n | tr '\n' ' ')
	expect_eq "$pids" "$(printf '%s\n' "$1" "$2" | sort -n | tr '\n' ' ')" "pids in the ready lines"
	expect_eq "$(pstat "$3" TracerPid)" 0 "TracerPid of the other sleeper"
}

# --exe GLOB attaches to the processes whose executable matches.
test_by_exe() {
	local a b c pids
	cp "$H/sleeper" swx1
	cp "$H/sleeper" swx2
	t_bg ./swx1 3000 a.txt
	a=$BGPID
	t_bg ./swx2 3000 b.txt
	b=$BGPID
	t_bg "$H/sleeper" 3000 c.txt
	c=$BGPID
	wait_for 'grep -q ^pid a.txt && grep -q ^pid b.txt && grep -q ^pid c.txt' 5 || fail "sleepers did not start"
	sw_attach --exe "$PWD/swx*"
	expect_selected "$a" "$b" "$c"
	stop_sw
	expect_rc 0 "stallwatch's status after SIGTERM"
}

# SIGHUP (policy reload) keeps the tracees; SIGUSR1 reopens the -o file
# (logrotate): records go on in the new file; -o creates it mode 0600.
test_hup_usr1() {
	t_bg "$H/mtcount" flag 20000 0 out.txt
	local tgt=$BGPID
	wait_for 'grep -q ^ready out.txt' 5 || fail "mtcount did not start"
	umask 022
	SW_OUT=stdout.txt sw_attach -e nanosleep -m 1ms -o rec.json -p "$tgt"
	wait_ready "$tgt"
	wait_for '[ "$(jq_count rec.json "slow and name == \"nanosleep\"")" -ge 3 ]' 3 || fail "no nanosleep records"
	expect_eq "$(stat -c %a rec.json)" 600 "mode of the -o file"
	kill -HUP "$SWPID"
	sleep 0.3
	proc_alive "$SWPID" || fail "stallwatch died of SIGHUP"
	expect_traced "$tgt"
	mv rec.json rec.old
	sleep 0.1
	kill -USR1 "$SWPID"
	wait_for '[ "$(jq_count rec.json "slow and name == \"nanosleep\"")" -ge 3 ]' 3 ||
		fail "no records in the reopened -o file after SIGUSR1"
	proc_alive "$SWPID" || fail "stallwatch died of SIGUSR1"
	expect_traced "$tgt"
	stop_sw
	show err.txt
	expect_rc 0 "stallwatch's status after SIGTERM"
	touch flag
	t_wait "$tgt" 10
	show out.txt
	expect_rc 0 "mtcount's status"
	grep -q '^CONT 0 USR1 0 ' out.txt || fail "the target got a signal: $(grep ^CONT out.txt)"
}

# ---- transparency.md 31: pid namespace -------------------------------------------

# Attach by host pid to a process in its own pid namespace: records carry
# both pids; process.vpid is what the process itself sees.
test_pid_namespace() {
	command -v unshare >/dev/null || skip "unshare is missing"
	unshare -pf --mount-proc true 2>/dev/null || skip "unshare -pf --mount-proc fails here"
	t_bg unshare -pf --mount-proc "$H/sleeper" 2500 out.txt
	local un=$BGPID tgt vpid sel
	wait_for 'grep -q ^pid out.txt' 5 || fail "sleeper did not start in the namespace"
	tgt=$(children_of "$un" | head -n 1)
	[ -n "$tgt" ] || fail "no child of unshare"
	t_track "$tgt"
	vpid=$(hval out.txt pid)
	[ "$vpid" != "$tgt" ] || skip "the namespace pid equals the host pid"
	sw_attach -m 100ms -p "$tgt"
	wait_ready "$tgt"
	t_wait "$un" 10
	expect_rc 0 "unshare's status"
	t_wait "$SWPID" 5
	show out.txt rec.json err.txt
	expect_rc 0 "stallwatch's status once its target exited"
	sel="slow and .process.pid == $tgt"
	[ "$(jq_count rec.json "$sel")" -ge 1 ] || fail "no slow-syscall record with process.pid $tgt (host pid)"
	expect_eq "$(jq_get rec.json "$sel" .process.vpid | sort -u)" "$vpid" "process.vpid"
}

# ---- transparency.md 32: errors --------------------------------------------------

# expect_one_error FILE [ERE]: FILE is one "stallwatch: " line (matching ERE).
expect_one_error() {
	show "$1"
	expect_eq "$(grep -c . "$1")" 1 "lines on stderr"
	grep -q '^stallwatch: ' "$1" || fail "stderr is not a 'stallwatch: ...' line"
	[ -z "${2:-}" ] || grep -qiE "$2" "$1" || fail "the error does not match /$2/: $(head -n 1 "$1")"
}

test_err_no_such_pid() {
	local dead
	t_bg true
	dead=$BGPID
	t_wait "$dead" 5
	[ -e "/proc/$dead" ] && skip "pid $dead was reused"
	SW_TIMEOUT=10 sw attach -p "$dead" >rec.json 2>err.txt
	expect_rc 1
	expect_one_error err.txt "(^|[^0-9])$dead([^0-9]|$)"
}

test_err_already_traced() {
	t_bg "$H/sleeper" 5000 out.txt
	local tgt=$BGPID first
	wait_for 'grep -q ^pid out.txt' 5 || fail "sleeper did not start"
	sw_attach -p "$tgt"
	first=$SWPID
	wait_ready "$tgt"
	SW_TIMEOUT=10 sw attach -p "$tgt" >rec2.json 2>err2.txt
	expect_rc 1 "second stallwatch's status"
	expect_one_error err2.txt "traced by pid $first([^0-9]|$)"
	expect_eq "$(pstat "$tgt" TracerPid)" "$first" "TracerPid after the failed second attach"
	stop_sw "$first"
	expect_rc 0 "first stallwatch's status after SIGTERM"
}

test_err_other_user() {
	command -v setpriv >/dev/null || skip "setpriv is missing"
	[ "$(id -u)" = 0 ] || skip "needs root (to run stallwatch as nobody)"
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$STALLWATCH" 2>/dev/null ||
		skip "nobody cannot run $STALLWATCH"
	t_bg "$H/sleeper" 5000 out.txt
	local tgt=$BGPID
	wait_for 'grep -q ^pid out.txt' 5 || fail "sleeper did not start"
	t_bg setpriv --reuid=65534 --regid=65534 --clear-groups -- "$STALLWATCH" attach -p "$tgt" >rec.json 2>err.txt
	t_wait "$BGPID" 10
	expect_rc 1
	expect_one_error err.txt "user|owner|permission"
	expect_eq "$(pstat "$tgt" TracerPid)" 0 "the target's TracerPid"
	expect_eq "$(proc_state "$tgt")" S "the target's state"
}

test_err_zombie() {
	t_bg sh -c '(sleep 0.2; exit 0) & exec sleep 20'
	local par=$BGPID z
	wait_for '[ -n "$(children_of "$par")" ]' 3 || fail "no child"
	z=$(children_of "$par" | head -n 1)
	wait_for '[ "$(proc_state "$z")" = Z ]' 3 || skip "no zombie to attach to (state $(proc_state "$z"))"
	SW_TIMEOUT=10 sw attach -p "$z" >rec.json 2>err.txt
	expect_rc 1
	expect_one_error err.txt "zombie"
}

# Refuse to attach to an ancestor (this test's shell) or to itself; no hang.
test_err_ancestor_self() {
	SW_TIMEOUT=10 sw attach -p "$BASHPID" >rec.json 2>err.txt
	[ "$RC" != timeout ] || fail "stallwatch hung attaching to its parent shell"
	expect_rc 1 "status attaching to an ancestor"
	expect_one_error err.txt
	expect_eq "$(pstat "$BASHPID" TracerPid)" 0 "the test shell's TracerPid"
	SW_TIMEOUT=10 sw_self
	[ "$RC" != timeout ] || fail "stallwatch hung attaching to itself"
	expect_rc 1 "status attaching to itself"
	expect_one_error err2.txt
}
sw_self() {
	t_bg sh -c 'exec "$0" attach -p $$' "$STALLWATCH" >rec2.json 2>err2.txt
	t_wait "$BGPID" "${SW_TIMEOUT:-30}"
}

test_err_yama() {
	local f=/proc/sys/kernel/yama/ptrace_scope scope
	[ -r "$f" ] || skip "$f is absent (no Yama on this kernel)"
	scope=$(cat "$f")
	[ "$scope" -ge 1 ] || skip "Yama ptrace_scope is $scope: nothing to refuse"
	[ "$scope" -le 2 ] || skip "Yama ptrace_scope is $scope: no attach at all"
	[ "$(id -u)" = 0 ] || skip "needs root (to run as nobody)"
	command -v setpriv >/dev/null || skip "setpriv is missing"
	t_bg setpriv --reuid=65534 --regid=65534 --clear-groups sleep 5
	local tgt=$BGPID
	sleep 0.2
	t_bg setpriv --reuid=65534 --regid=65534 --clear-groups -- "$STALLWATCH" attach -p "$tgt" >rec.json 2>err.txt
	t_wait "$BGPID" 10
	expect_rc 1
	expect_one_error err.txt "yama|ptrace_scope"
}

test_usage_no_target() {
	SW_TIMEOUT=10 sw attach >rec.json 2>err.txt
	show err.txt
	expect_rc 2
	grep -qiE 'usage|target|pid|--name' err.txt || fail "the error does not say what is missing"
	SW_TIMEOUT=10 sw attach -m 100ms >rec.json 2>err.txt
	expect_rc 2 "status with options but no target"
}

# --name COMM attaches to exactly the processes with that comm (two copies
# of sleeper under a unique name), not to another sleeper.
test_by_name() {
	local comm="swn$BASHPID" a b c pids
	comm=${comm:0:15}
	cp "$H/sleeper" "$comm"
	t_bg "./$comm" 4000 a.txt
	a=$BGPID
	t_bg "./$comm" 4000 b.txt
	b=$BGPID
	t_bg "$H/sleeper" 4000 c.txt
	c=$BGPID
	wait_for 'grep -q ^pid a.txt && grep -q ^pid b.txt && grep -q ^pid c.txt' 5 || fail "sleepers did not start"
	sw_attach --name "$comm"
	expect_selected "$a" "$b" "$c"
	grep -q "attached $a ($comm)" err.txt || fail "the ready line does not name $comm"
	stop_sw
	show err.txt
	expect_rc 0 "stallwatch's status after SIGTERM"
	t_wait "$a" 10
	expect_rc 0 "first sleeper's status"
	expect_eq "$(hval a.txt nanosleep 4)" 0 "first sleeper's nanosleep result"
}

# t_run_ptrace (lib.sh): pinned to --backend=ptrace where the expectation is
# ptrace's: TracerPid of the targets, ptrace stops and states (t), the detach, EINTR at
# seize, ptrace's refusals (already traced, other user): ptrace's own behaviour.
t_run_ptrace detach_sleeping test_detach_sleeping
t_run_ptrace detach_running test_detach_running
t_run_ptrace detach_stopped test_detach_stopped
t_run_ptrace group_stop test_group_stop
t_run_ptrace group_stop_tstp test_group_stop_tstp
t_run_ptrace detach_group_stopped test_detach_group_stopped
t_run_ptrace detach_pending_signal test_detach_pending_signal
t_run_ptrace sigkill_blocked test_sigkill_blocked
t_run_ptrace sigkill_parked_signal test_sigkill_parked_signal
t_run_ptrace sigkill_group_stopped test_sigkill_group_stopped
t_run_ptrace sigkill_after_ready test_sigkill_after_ready
t_run_ptrace eintr_table test_eintr_table
t_run attach_mid_sleep test_attach_mid_sleep
t_run inflight_at_detach test_inflight_at_detach
t_run thread_attribution test_thread_attribution
t_run thread_churn test_thread_churn
t_run_ptrace many_threads test_many_threads
t_run_ptrace zombie_leader test_zombie_leader
t_run_ptrace thread_exec_exit test_thread_exec_exit
t_run_ptrace thread_exec_sigsuspend test_thread_exec_sigsuspend
t_run_ptrace thread_exec_sleep test_thread_exec_sleep
t_run fork_exit_race test_fork_exit_race
t_run_ptrace clone_ptrace test_clone_ptrace
t_run_ptrace vfork_sigterm test_vfork_sigterm
t_run_ptrace attach_vfork_parent test_attach_vfork_parent
t_run_ptrace sigkill_by_parent test_sigkill_by_parent
t_run_ptrace follow_flag test_follow_flag
t_run_ptrace hup_usr1 test_hup_usr1
t_run pid_namespace test_pid_namespace
t_run err_no_such_pid test_err_no_such_pid
t_run_ptrace err_already_traced test_err_already_traced
t_run_ptrace err_other_user test_err_other_user
t_run err_zombie test_err_zombie
t_run err_ancestor_self test_err_ancestor_self
t_run err_yama test_err_yama
t_run usage_no_target test_usage_no_target
t_run_ptrace by_name test_by_name
t_run_ptrace by_exe test_by_exe
t_done
