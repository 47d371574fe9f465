#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# signals_forward.sh - a signal sent to stallwatch alone (kill PID, SI_USER):
# forwarded to the command exactly once for every catchable signal but
# stallwatch's own (SIGUSR1, SIGHUP, SIGUSR2), SIGCONT, and the ones the
# caller had blocked (those stay pending in stallwatch); stallwatch survives
# them all. SIGUSR1 reopens the -o file (logrotate).
. "$(dirname "$0")/lib.sh"
t_backends ptrace notify bpf

H=$HELPERS

# Every signal sigtally counts; all but the one under test must stay at 0.
TALLY_SIGS=(PROF WINCH RTMIN+3 TERM USR1 HUP USR2 CONT)

# tally_start [PREFIX...]: stallwatch (exec'd by PREFIX, e.g. a launcher)
# runs sigtally; SWPID is stallwatch, CMD the command.
tally_start() {
	t_bg "$@" "$STALLWATCH" run -o rec.json -- "$H/sigtally" flag 20000 out.txt "${TALLY_SIGS[@]}" \
		2>err.txt
	SWPID=$BGPID
	wait_for 'grep -q ^ready out.txt' 10 || {
		show out.txt err.txt
		fail "sigtally did not start"
	}
	CMD=$(hval out.txt ready)
	t_track "$CMD"
}

# tally_finish: release sigtally, stallwatch must mirror its status 0.
tally_finish() {
	touch flag
	t_wait "$SWPID" 10
	show out.txt err.txt
	expect_rc 0 "stallwatch's status (128+N: it died of the signal)"
	grep -q '^timeout 0$' out.txt || fail "sigtally timed out"
}

# How many times sigtally's handler ran for SIG (from its final report).
count() { awk -v s="$1" '$1 == "count" && $2 == s { print $3; exit }' out.txt; }

# has_sig HEXMASK SIG: the /proc/PID/status mask has SIG's bit.
has_sig() {
	local n
	n=$(kill -l "$2") || return 1
	(((16#$1 >> (n - 1)) & 1))
}

# The mask KEY (SigPnd, ShdPnd, SigBlk) of sigtally's final report, or of
# /proc/PID/status with a PID.
mask_of() {
	if [ $# -gt 1 ]; then
		awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/status"
	else
		awk -v k="$1:" '$1 == k { print $2 }' out.txt
	fi
}

# expect_counts SIG=N...: every tallied signal not named must be 0.
expect_counts() {
	local s want kv
	for s in "${TALLY_SIGS[@]}"; do
		want=0
		for kv in "$@"; do
			[ "${kv%=*}" = "$s" ] && want=${kv#*=}
		done
		expect_eq "$(count "$s")" "$want" "the command's SIG$s handler runs"
	done
}

# kill -SIG stallwatch: the command's handler runs once, stallwatch lives on.
forwarded() {
	local sig=$1
	tally_start
	kill -s "$sig" "$SWPID" || fail "kill -s $sig failed"
	wait_for "grep -q '^got $sig ' out.txt" 10 || {
		show out.txt err.txt
		fail "SIG$sig sent to stallwatch did not reach the command within 10 s"
	}
	sleep 0.3 # a second delivery would show by now
	proc_alive "$SWPID" || fail "stallwatch is gone after SIG$sig (state $(proc_state "$SWPID"))"
	tally_finish
	expect_counts "$sig=1"
}

test_forward_prof() { forwarded PROF; }
test_forward_winch() { forwarded WINCH; }
test_forward_rtmin3() { forwarded RTMIN+3; }
test_forward_term() { forwarded TERM; }

# pending_in PID SIG: SIG is pending in process PID (either mask).
pending_in() {
	has_sig "$(mask_of ShdPnd "$1")" "$2" || has_sig "$(mask_of SigPnd "$1")" "$2"
}

# kill -SIG stallwatch; once stallwatch has taken it (it is no longer
# pending there), a SIGWINCH as a control: by the time the control reaches
# the command, a forwarded SIG would have too (and stallwatch reads pending
# signals lowest number first, all of these below SIGWINCH's 28).
not_forwarded() {
	local sig=$1
	tally_start
	kill -s "$sig" "$SWPID" || fail "kill -s $sig failed"
	wait_for '! pending_in "$SWPID" "$sig"' 10 || fail "SIG$sig stays pending in stallwatch"
	sleep 0.1
	kill -s WINCH "$SWPID"
	wait_for "grep -q '^got WINCH ' out.txt" 10 || {
		show out.txt err.txt
		fail "the control SIGWINCH did not reach the command within 10 s"
	}
	sleep 0.3
	proc_alive "$SWPID" || fail "stallwatch is gone after SIG$sig (state $(proc_state "$SWPID"))"
	tally_finish
	expect_counts WINCH=1
}

test_keep_usr1() { not_forwarded USR1; }
test_keep_hup() { not_forwarded HUP; }
test_keep_usr2() { not_forwarded USR2; }
test_keep_cont() { not_forwarded CONT; }

# The caller blocked SIGPROF before exec'ing stallwatch: the command starts
# with it blocked; kill -PROF of stallwatch stays pending in stallwatch,
# unread, and never reaches the command (not even as a pending signal).
test_blocked_not_forwarded() {
	local m
	tally_start "$H/launcher" -b PROF --
	kill -s PROF "$SWPID" || fail "kill -s PROF failed"
	kill -s WINCH "$SWPID"
	wait_for "grep -q '^got WINCH ' out.txt" 10 || {
		show out.txt err.txt
		fail "the control SIGWINCH did not reach the command within 10 s"
	}
	sleep 0.3
	m=$(mask_of ShdPnd "$SWPID")
	echo "stallwatch ShdPnd $m SigPnd $(mask_of SigPnd "$SWPID") SigBlk $(mask_of SigBlk "$SWPID")"
	has_sig "$m" PROF || fail "SIGPROF is not pending in stallwatch (ShdPnd $m)"
	tally_finish
	expect_counts WINCH=1
	m=$(mask_of SigBlk)
	has_sig "$m" PROF || fail "the command did not start with SIGPROF blocked (SigBlk $m)"
	m=$(mask_of SigPnd)
	has_sig "$m" PROF && fail "SIGPROF is pending in the command's thread (SigPnd $m): it was forwarded"
	m=$(mask_of ShdPnd)
	has_sig "$m" PROF && fail "SIGPROF is pending in the command (ShdPnd $m): it was forwarded"
	:
}

# SIGUSR1 reopens -o FILE: after `mv FILE FILE.1` and SIGUSR1, the next
# record goes to a new FILE (0600), the earlier ones stay in FILE.1.
test_usr1_reopen() {
	local p1 p2 swpid
	umask 022
	# the shell waits (at most ~20 s) for the flag between the two calls
	t_bg "$STALLWATCH" run -m 100ms -e nanosleep -o rec.json -- sh -c \
		'echo $$ >sh.pid; "$0" 300 one.txt || exit; i=0
		 while [ ! -e flag ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i + 1)); done
		 exec "$0" 300 two.txt' "$H/sleeper" 2>err.txt
	swpid=$BGPID
	wait_for '[ -s sh.pid ]' 10 && t_track "$(cat sh.pid)"
	wait_for '[ "$(jq_count rec.json slow)" -ge 1 ]' 10 || {
		show rec.json err.txt
		fail "no slow record of the first call within 10 s"
	}
	mv rec.json rec.json.1
	kill -USR1 "$swpid"
	wait_for '[ -e rec.json ]' 10 || fail "SIGUSR1 did not create a new rec.json within 10 s"
	touch flag
	t_wait "$swpid" 20
	show one.txt two.txt rec.json.1 rec.json err.txt
	expect_rc 0
	p1=$(hval one.txt pid)
	p2=$(hval two.txt pid)
	[ -n "$p1" ] && [ -n "$p2" ] || fail "a sleeper did not run"
	expect_eq "$(stat -c %a rec.json)" 600 "mode of the reopened file"
	expect_eq "$(jq_count rec.json.1 "slow and .process.pid == $p1")" 1 "first call's slow records in FILE.1"
	expect_eq "$(jq_count rec.json.1 "stuck and .process.pid == $p1")" 1 "first call's stuck records in FILE.1"
	expect_eq "$(jq_count rec.json.1 "true")" 2 "records in FILE.1"
	expect_eq "$(jq_count rec.json "slow and .process.pid == $p2")" 1 "second call's slow records in FILE"
	expect_eq "$(jq_count rec.json "stuck and .process.pid == $p2")" 1 "second call's stuck records in FILE"
	expect_eq "$(jq_count rec.json "true")" 2 "records in FILE"
	[ ! -s err.txt ] || fail "stallwatch wrote to stderr: $(head -n 2 err.txt)"
}

# A burst of 300 queued real-time signals to stallwatch: each one reaches the
# command exactly once (RT signals queue instead of merging, so a lost or a
# doubled forward shows in the count).
test_forward_rt_burst() {
	local i
	tally_start
	for i in $(seq 300); do
		kill -s RTMIN+3 "$SWPID" || fail "kill #$i failed"
	done
	wait_for "[ \"\$(count_now RTMIN+3)\" = 300 ]" 10 || true
	sleep 0.3
	proc_alive "$SWPID" || fail "stallwatch is gone after the burst"
	tally_finish
	expect_counts RTMIN+3=300
}

# sigtally's live count line for SIG (it prints "got SIG N" as it goes).
count_now() { awk -v s="$1" '$1 == "got" && $2 == s { n = $3 } END { print n + 0 }' out.txt; }

t_run forward_prof test_forward_prof
t_run forward_winch test_forward_winch
t_run forward_rtmin3 test_forward_rtmin3
t_run forward_term test_forward_term
t_run forward_rt_burst test_forward_rt_burst
t_run keep_usr1 test_keep_usr1
t_run keep_hup test_keep_hup
t_run keep_usr2 test_keep_usr2
t_run keep_cont test_keep_cont
t_run blocked_not_forwarded test_blocked_not_forwarded
t_run usr1_reopen test_usr1_reopen
t_done
