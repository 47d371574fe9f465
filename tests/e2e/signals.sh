#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# signals.sh - the command's signal state and signal deliveries are what
# they would be without stallwatch (scenarios 25, 27, 28-ish, 30), and
# stallwatch forwards a signal sent to it alone exactly once.
. "$(dirname "$0")/lib.sh"
t_backends ptrace notify bpf

H=$HELPERS

sig_lines() { grep -E '^(SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt):' "$1"; }

# Scenario 25: mask, SIG_IGN and pending signals. The untraced baseline runs
# sigstate through waitstatus, a plain fork+exec wrapper: a fork clears
# pending signals, which is what any wrapper does to a blocked+pending one.
passthrough() {
	t_bg "$H/launcher" "$@" -- "$H/waitstatus" -o ws.txt "$H/sigstate" >base.txt 2>base.err
	t_wait "$BGPID" 10
	t_bg "$H/launcher" "$@" -- "$STALLWATCH" run -o rec.json -- "$H/sigstate" >traced.txt 2>err.txt
	t_wait "$BGPID" 20
	show base.txt traced.txt ws.txt err.txt
	expect_rc 0
	sig_lines base.txt >base.sig
	sig_lines traced.txt >traced.sig
	[ -s base.sig ] || fail "no baseline"
	diff -u base.sig traced.sig || fail "signal state differs from the untraced baseline"
}

test_mask_ign_pending() {
	passthrough -b USR1 -b HUP -i USR2 -i PIPE -p ALRM
	# and the baseline really had them (USR1 = bit 9, USR2 = bit 11)
	grep -q '^SigBlk:.*2[0-9a-f][0-9a-f]$' base.sig || fail "baseline does not block SIGUSR1"
}

test_default_state() { passthrough -d INT -d QUIT; }

# SIGCHLD ignored by the caller: the command gets SIG_IGN back even though
# stallwatch needs SIGCHLD itself.
test_sigchld_ignored() { passthrough -i CHLD; }

# Scenario 27: 1000 queued RT signals, each delivered once, siginfo intact.
test_rt_signals() {
	SW_TIMEOUT=30 sw run -o rec.json -- "$H/rtsig" 1000 out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0
	grep -q '^handled 1000 bad 0$' out.txt || fail "signals lost, duplicated or altered"
}

# Scenario 30: the command's parent and tracer are both stallwatch.
test_ppid_tracerpid() {
	sw run -o rec.json -- "$H/sigstate" >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0
	expect_eq "$(awk '$1 == "PPid:" { print $2 }' out.txt)" "$SWPID" "PPid"
	# notify and bpf do not ptrace: the command is free to have a tracer of its own
	if backend_is notify || backend_is bpf; then
		expect_eq "$(awk '$1 == "TracerPid:" { print $2 }' out.txt)" 0 "TracerPid"
	else
		expect_eq "$(awk '$1 == "TracerPid:" { print $2 }' out.txt)" "$SWPID" "TracerPid"
	fi
}

# kill -TERM of stallwatch alone (SI_USER): forwarded to the command once.
test_forward_sigterm() {
	t_bg "$STALLWATCH" run -o rec.json -- "$H/sigcount" flag 20000 out.txt 2>err.txt
	local swpid=$BGPID
	wait_for 'grep -q ^ready out.txt' 10 || fail "sigcount did not start"
	t_track "$(hval out.txt ready)"
	sleep 0.1
	kill -TERM "$swpid"
	sleep 0.3
	touch flag
	t_wait "$swpid" 10
	show out.txt err.txt
	expect_rc 0
	grep -q '^INT 0 TERM 1 HUP 0 CONT 0 TSTP 0 timeout 0$' out.txt ||
		fail "want exactly one SIGTERM: $(tail -n 1 out.txt)"
}

# Ctrl-C on a terminal: SIGINT (SI_KERNEL) reaches the whole foreground
# group; stallwatch must not forward it again: the handler runs once.
test_ctrl_c_pty() {
	command -v python3 >/dev/null || skip "python3 is missing"
	t_bg python3 "$TOP/tests/e2e/ptyrun.py" out.txt flag pty.log -- \
		"$STALLWATCH" run -o rec.json -- "$H/sigcount" flag 20000 out.txt >status.txt 2>err.txt
	t_wait "$BGPID" 30
	show status.txt out.txt pty.log err.txt
	expect_eq "$(cat status.txt)" "exited 0" "stallwatch's status"
	grep -q '^INT 1 TERM 0 HUP 0 CONT 0 TSTP 0 timeout 0$' out.txt ||
		fail "want exactly one SIGINT: $(tail -n 1 out.txt)"
}

# Group-stop: kill -STOP of the traced command really stops it ('t' while
# traced, no progress); kill -CONT resumes it and its handler runs once.
test_group_stop() {
	local cmd v1 v2 v3
	t_bg "$STALLWATCH" run -o rec.json -- "$H/sigcount" flag 20000 out.txt 2>err.txt
	local swpid=$BGPID
	wait_for 'grep -q ^ready out.txt' 10 || fail "sigcount did not start"
	cmd=$(hval out.txt ready)
	t_track "$cmd"
	kill -STOP "$cmd"
	# 't' while ptraced; under notify and bpf (nothing ptraced) 'T', as without stallwatch
	local st=t
	backend_is ptrace || st=T
	wait_for '[ "$(proc_state "$cmd")" = $st ]' 3 ||
		fail "state $(proc_state "$cmd") after SIGSTOP, want $st"
	sleep 0.1
	v1=$(awk '$1 == "voluntary_ctxt_switches:" { print $2 }' "/proc/$cmd/status")
	sleep 0.5
	v2=$(awk '$1 == "voluntary_ctxt_switches:" { print $2 }' "/proc/$cmd/status")
	expect_eq "$(proc_state "$cmd")" "$st" "state 500 ms later"
	expect_eq "$v2" "$v1" "context switches while stopped"
	kill -CONT "$cmd"
	sleep 0.3
	v3=$(awk '$1 == "voluntary_ctxt_switches:" { print $2 }' "/proc/$cmd/status")
	[ "${v3:-0}" -gt "$v2" ] || fail "no progress after SIGCONT (state $(proc_state "$cmd"))"
	touch flag
	t_wait "$swpid" 10
	show out.txt err.txt
	expect_rc 0
	grep -q '^INT 0 TERM 0 HUP 0 CONT 1 TSTP 0 timeout 0$' out.txt ||
		fail "want exactly one SIGCONT: $(tail -n 1 out.txt)"
}

# Scenario 28: ^Z in an interactive bash on a pty. The command's SIGTSTP
# handler runs once and stops it; bash must see the job stopped (so
# stallwatch has to stop too), get its prompt back, and fg resumes the job
# (one SIGCONT); the status is unchanged.
test_ctrl_z_pty() {
	command -v python3 >/dev/null || skip "python3 is missing"
	local cmd
	t_bg python3 "$TOP/tests/e2e/ptyjob.py" out.txt flag pty.log \
		"$STALLWATCH run -o rec.json -- $H/sigcount flag 20000 out.txt" >status.txt 2>err.txt
	local py=$BGPID
	if wait_for 'grep -q ^ready out.txt' 15; then
		cmd=$(hval out.txt ready)
		t_track "$cmd"
		t_track "$(awk '$1 == "PPid:" { print $2 }' "/proc/$cmd/status" 2>/dev/null)"
	fi
	t_wait "$py" 40
	show status.txt out.txt pty.log err.txt
	grep -q '^stopped yes$' status.txt || fail "bash did not see the job stop on ^Z"
	expect_eq "$(hval status.txt rc)" 0 "the job's status after fg"
	grep -q '^INT 0 TERM 0 HUP 0 CONT 1 TSTP 1 timeout 0$' out.txt ||
		fail "want exactly one SIGTSTP and one SIGCONT: $(tail -n 1 out.txt)"
}

t_run mask_ign_pending test_mask_ign_pending
t_run default_state test_default_state
t_run sigchld_ignored test_sigchld_ignored
t_run rt_signals test_rt_signals
t_run ppid_tracerpid test_ppid_tracerpid
t_run forward_sigterm test_forward_sigterm
t_run ctrl_c_pty test_ctrl_c_pty
t_run group_stop test_group_stop
t_run ctrl_z_pty test_ctrl_z_pty
t_done
