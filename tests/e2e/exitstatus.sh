#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# exitstatus.sh - doc/transparency.md scenario 24 (and 25's interactive_block): stallwatch's
# status is the command's; a command killed by a signal makes stallwatch die
# by that signal (checked with the waitstatus helper, since 143 != SIGTERM);
# 127/126 when the command cannot run.
. "$(dirname "$0")/lib.sh"
t_backends ptrace notify bpf

H=$HELPERS

# ws ARG...: run ARG under waitstatus (which says "exited N"/"signaled N").
ws() {
	t_bg "$H/waitstatus" -t 20 -o ws.txt "$@"
	t_wait "$BGPID" 25
	WS=$(cat ws.txt 2>/dev/null)
	rm -f ws.txt
}

test_exit_7() {
	sw run -o rec.json -- sh -c 'exit 7' 2>err.txt
	show err.txt
	expect_rc 7
}

test_exit_0() {
	sw run -o rec.json -- true 2>err.txt
	show err.txt
	expect_rc 0
}

test_sigterm_self() {
	ws "$STALLWATCH" run -o rec.json -- "$H/launcher" -r TERM 2>err.txt
	show err.txt
	expect_eq "$WS" "signaled 15" "stallwatch's status"
}

# Started with SIGTERM blocked: stallwatch must unblock it before re-raising.
# (The command inherits the blocked mask; launcher -r unblocks it itself.)
test_sigterm_self_blocked() {
	ws "$H/launcher" -b TERM -- "$STALLWATCH" run -o rec.json -- "$H/launcher" -r TERM 2>err.txt
	show err.txt
	expect_eq "$WS" "signaled 15" "stallwatch's status (started with SIGTERM blocked)"
}

test_sigkill_self() {
	ws "$STALLWATCH" run -o rec.json -- "$H/launcher" -r KILL 2>err.txt
	show err.txt
	expect_eq "$WS" "signaled 9" "stallwatch's status"
}

# SIGSEGV: stallwatch dies by SIGSEGV too, but must not dump a core of its
# own (RLIMIT_CORE 0 before re-raising; documented difference).
test_sigsegv_no_core() {
	ulimit -c unlimited 2>/dev/null || skip "cannot raise RLIMIT_CORE"
	ws "$H/launcher" -r SEGV 2>err.txt
	local control=$WS
	rm -f core core.*
	ws "$STALLWATCH" run -o rec.json -- "$H/launcher" -r SEGV 2>err.txt
	show err.txt
	echo "untraced control: $control"
	case $WS in
	"signaled 11") ;;
	"signaled 11 core") fail "stallwatch dumped core (untraced control: $control)" ;;
	*) fail "stallwatch's status: got '$WS', want 'signaled 11'" ;;
	esac
	rm -f core core.*
}

# interactive_block: stallwatch starts with SIG blocked *and pending*; it must
# not unblock it (it would die), the command runs and its status is ours.
# (-d first: background jobs of a script start with SIGINT/SIGQUIT ignored.)
interactive_block() {
	ws "$H/launcher" -d "$1" -p "$1" -- "$STALLWATCH" run -o rec.json -- sh -c 'exit 3' 2>err.txt
	show err.txt
	expect_eq "$WS" "exited 3" "status with SIG$1 blocked and pending"
}

# Every backend reports the command from its own image on: nothing of
# stallwatch's child before the exec (the start pipe's read, its closes, the
# execve itself; ptrace and notify never report that execve). ld.so opens
# before it reads or closes anything, so no read or close comes before the
# first openat, and nothing reads the start pipe's one byte.
test_nothing_before_exec() {
	sw run -m 0 -o rec.json -- "$H/sleeper" 50 out.txt 2>err.txt
	show err.txt out.txt
	expect_rc 0
	local pid
	pid=$(hval out.txt pid)
	[ -n "$pid" ] || fail "the sleeper did not report its pid"
	[ "$(jq_count rec.json 'true')" -ge 10 ] || fail "fewer than 10 records at -m 0"
	expect_eq "$(jq_count rec.json ".process.pid != $pid")" 0 "records of another process"
	expect_eq "$(jq_count rec.json '(.process.name // "sleeper") != "sleeper"')" 0 \
		"records naming another comm"
	expect_eq "$(jq_count rec.json 'name == "execve" or name == "execveat"')" 0 \
		"records of the command's own execve"
	expect_eq "$(jq_count rec.json 'name == "read" and sc.ret == 1')" 0 \
		"one-byte reads (the start pipe)"
	expect_eq "$(jq -R -s -r '[split("\n")[] | fromjson? | .stallwatch.syscall.name]
		| (index("openat") // length) as $o | .[:$o] | map(select(. == "read" or . == "close"))
		| length' rec.json)" 0 "reads or closes before the first openat"
}

test_not_found() {
	sw run -o rec.json -- /nonexistent/command 2>err.txt
	show err.txt
	expect_rc 127 "absolute path that does not exist"
	grep -q '^stallwatch: ' err.txt || fail "no 'stallwatch: ' error line"
	sw run -o rec.json -- no-such-command-stallwatch-e2e 2>err.txt
	show err.txt
	expect_rc 127 "command not in PATH"
}

test_not_executable() {
	printf '#!/bin/sh\nexit 0\n' >script.sh
	chmod 644 script.sh
	sw run -o rec.json -- ./script.sh 2>err.txt
	show err.txt
	expect_rc 126 "file without x bit"
	grep -q '^stallwatch: ' err.txt || fail "no 'stallwatch: ' error line"
	mkdir -p adir
	sw run -o rec.json -- ./adir 2>err.txt
	show err.txt
	expect_rc 126 "directory"
	sw run -o rec.json -- / 2>err.txt
	expect_rc 126 "/"
}

t_run exit_7 test_exit_7
t_run exit_0 test_exit_0
t_run sigterm_self test_sigterm_self
t_run sigterm_self_blocked test_sigterm_self_blocked
t_run sigkill_self test_sigkill_self
t_run sigsegv_no_core test_sigsegv_no_core
for s in HUP INT QUIT PIPE ALRM TERM; do
	t_run "interactive_block_$s" interactive_block "$s"
done
t_run nothing_before_exec test_nothing_before_exec
t_run not_found test_not_found
t_run not_executable test_not_executable
t_done
